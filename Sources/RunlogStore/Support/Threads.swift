import CRunlogThread
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a detached thread running `body`. Whoever starts it tracks its end.
package func startThread(_ body: @escaping @Sendable () -> Void) throws(StoreError) {
    pthread_detach(try startJoinableThread(body).thread)
}

/// A thread that must be joined: whoever joins it knows it has finished, its last frees included.
struct JoinableThread: @unchecked Sendable {
    let thread: pthread_t

    /// Waits for the thread to end. Call once.
    func join() {
        pthread_join(thread, nil)
    }
}

/// Starts a thread running `body`, to be joined (or detached) by the caller.
func startJoinableThread(_ body: @escaping @Sendable () -> Void) throws(StoreError) -> JoinableThread {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw StoreError(.io, "starting a thread", underlying: SystemError("pthread_create", path: "-", errno: status))
    }
    return JoinableThread(thread: thread)
}

/// A small number for the calling thread, given on its first call in the order threads ask
/// (0, 1, 2, …): writers spread threads over their staging shards by it, so that a few threads
/// land on different shards, which hashing thread ids did not promise. Kept in a C thread-local
/// (`CRunlogThread`), read inline.
enum ThreadOrdinal {
    private static let next = Atomic<Int>(0)

    @inline(__always)
    static var current: Int {
        let stored = runlog_thread_ordinal_get()
        return stored != 0 ? stored - 1 : assign()
    }

    @inline(never)
    private static func assign() -> Int {
        let ordinal = next.wrappingAdd(1, ordering: .relaxed).oldValue
        runlog_thread_ordinal_set(ordinal + 1)
        return ordinal
    }
}
