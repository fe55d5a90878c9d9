#ifndef RUNLOG_PLANES_H
#define RUNLOG_PLANES_H

#include <stddef.h>
#include <stdint.h>

/// Gathers `count` binary32 values from 4 byte planes (plane k, the kth least significant byte
/// of every value, at `planes + k * count`), widens each to binary64 as a conversion of
/// `Float` to `Double` does, and stores value i at `out + i * stride` (unaligned stores).
void runlog_planes_read_float32(const uint8_t *planes, size_t count, void *out, size_t stride);

/// Gathers `count` 64-bit values from 8 byte planes, as `runlog_planes_read_float32` does
/// (plane k at `planes + k * count`), and stores value i at `out + i * stride`.
void runlog_planes_read_64(const uint8_t *planes, size_t count, void *out, size_t stride);

#endif
