#ifndef RUNLOG_CRC32C_H
#define RUNLOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has a CRC-32C instruction (x86-64 SSE4.2; AArch64 CRC extension). On x86-64
/// the first call also fills the tables `runlog_crc32c_hardware_update` joins its lanes with: call
/// it once, before any update, and not from two threads at once (Swift's `static let` does both).
int runlog_crc32c_hardware_available(void);

/// Continues the CRC-32C `crc` (pre- and post-inverted by the caller's convention: pass the
/// inverted running value, get the inverted running value) over `length` bytes, using the CPU's
/// CRC-32C instruction. Call only when `runlog_crc32c_hardware_available()` is true.
uint32_t runlog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

#endif
