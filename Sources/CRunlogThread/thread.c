#include "runlog_thread.h"

// No debug information for the variable: valgrind 3.19's reader gives up on the whole program
// at its DW_OP_GNU_push_tls_address location.
__attribute__((nodebug)) _Thread_local long runlog_thread_ordinal_plus_one
    __attribute__((tls_model("initial-exec"))) = 0;
