#ifndef RUNLOG_CLZ4_SHIM_H
#define RUNLOG_CLZ4_SHIM_H
// LZ4's block API (not its frame API): Runlog frames, checksums and sizes its blocks itself.
#include <lz4.h>
#endif
