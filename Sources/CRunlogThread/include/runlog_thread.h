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

#endif
