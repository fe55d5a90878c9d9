#ifndef RUNLOG_THREAD_H
#define RUNLOG_THREAD_H

/// The calling thread's ordinal plus one, or 0 before the thread first asks for it
/// (`ThreadOrdinal` in RunlogStore gives it). Initial-exec TLS: read with one load off the
/// thread pointer, where `pthread_getspecific` and the lazy key behind it cost 40-odd
/// instructions on every `log`. Initial-exec needs the engine linked into the program or into a
/// library loaded with it, not one opened later with `dlopen`.
extern _Thread_local long runlog_thread_ordinal_plus_one
    __attribute__((tls_model("initial-exec")));

static inline long runlog_thread_ordinal_get(void) { return runlog_thread_ordinal_plus_one; }

static inline void runlog_thread_ordinal_set(long value) { runlog_thread_ordinal_plus_one = value; }

/// ThreadSanitizer's annotations, when the program runs under it (weak: null otherwise). A
/// `Synchronization.Mutex` waits on a priority-inheritance futex, whose ownership the kernel
/// hands to the waiter without an atomic operation that ThreadSanitizer sees, so it reported
/// the data a shard's mutex guards as raced; a lock that says "acquired" and "releasing" here
/// gives it the happens-before edge. Without it, one test of a null pointer.
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

static inline void runlog_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

static inline void runlog_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}

#endif
