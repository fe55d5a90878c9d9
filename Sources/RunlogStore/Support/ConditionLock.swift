#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value guarded by a mutex, with one condition variable for waiting on changes to it.
///
/// `@unchecked Sendable`: every access to `value` happens with `mutex` held.
///
/// The value lives behind a pointer rather than in a stored property: the mutex already makes
/// access exclusive, and a class's stored property costs a dynamic exclusivity check on every
/// access: `swift_beginAccess` and its bookkeeping were 816 M of the 8,962 M instructions of
/// `ratio-figures --quick --only log` under callgrind, most of them in `log`.
package final class ConditionLock<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)

    package init(_ value: Value) {
        self.value.initialize(to: value)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }

    /// Locks, waits while `mustWait` holds (releasing the lock meanwhile, and at most until
    /// `deadline`, a `CLOCK_REALTIME` instant in nanoseconds), then runs `body` under the lock.
    @inline(__always)
    package func withLock<R, E: Error>(
        waitingWhile mustWait: (borrowing Value) -> Bool,
        deadline: Int64? = nil,
        _ body: (inout Value) throws(E) -> R
    ) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while mustWait(value.pointee) {
            if let deadline {
                var until = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        return try body(&value.pointee)
    }

    /// Wakes every waiter; call after changing the value.
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// Wall-clock time in nanoseconds (`CLOCK_REALTIME`), the clock of `ConditionLock` deadlines.
func realtimeNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Monotonic time in nanoseconds.
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Monotonic time in seconds, for the package's pacing and timing (the sampler, `runlog run`,
/// the crash loop).
package func monotonicSeconds() -> Double { Double(monotonicNanoseconds()) * 1e-9 }
