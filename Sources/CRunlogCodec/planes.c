// Byte-plane gathers for the value column's decoder: a transpose of 16 values at a time in
// 16-byte vectors (clang's vector extensions: unpack instructions on x86-64's SSE2, zips on
// ARM's NEON), then a value at a time for the rest. The scalar loop is the definition; the
// vector one gives the same bits, as a test holds it to.
//
// The functions carry no debug info: valgrind 3.19 (Debian 12's) gives up on a whole binary
// whose DWARF 5 describes a vector type, and callgrind is how this project counts instructions.

#include "runlog_planes.h"

#include <string.h>

#define RUNLOG_NODEBUG __attribute__((nodebug))

// One vector type for the gathers, every shuffle given in bytes, and no casts anywhere: a C cast
// puts its type in the debug info even in a nodebug function, and with any type there valgrind
// fails as above.
typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef float f32x2 __attribute__((vector_size(8)));
typedef double f64x2 __attribute__((vector_size(16)));

RUNLOG_NODEBUG static inline u8x16 load16(const uint8_t *p) {
    u8x16 v;
    memcpy(&v, p, 16);
    return v;
}

// The low or high halves of two vectors, interleaved a byte, two bytes or four bytes at a time.
RUNLOG_NODEBUG static inline u8x16 zip8_low(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
RUNLOG_NODEBUG static inline u8x16 zip8_high(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}
RUNLOG_NODEBUG static inline u8x16 zip16_low(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
RUNLOG_NODEBUG static inline u8x16 zip16_high(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}
RUNLOG_NODEBUG static inline u8x16 zip32_low(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
}
RUNLOG_NODEBUG static inline u8x16 zip32_high(u8x16 a, u8x16 b) {
    return __builtin_shufflevector(a, b, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
}

RUNLOG_NODEBUG static inline void store8(unsigned char *at, const void *value) { memcpy(at, value, 8); }

// Four binary32 values widened to binary64, stored `stride` bytes apart.
RUNLOG_NODEBUG static inline void store_widened(unsigned char *at, size_t stride, u8x16 bits) {
    unsigned char lanes[16];
    memcpy(lanes, &bits, 16);
    f32x2 low, high;
    memcpy(&low, lanes, 8);
    memcpy(&high, lanes + 8, 8);
    f64x2 first = __builtin_convertvector(low, f64x2), second = __builtin_convertvector(high, f64x2);
    double d[4] = {first[0], first[1], second[0], second[1]};
    for (int k = 0; k < 4; k++) store8(at + k * stride, &d[k]);
}

// Two 64-bit values of each of two vectors, stored `stride` bytes apart.
RUNLOG_NODEBUG static inline void store_pairs(unsigned char *at, size_t stride, u8x16 first, u8x16 second) {
    unsigned char a[16], b[16];
    memcpy(a, &first, 16);
    memcpy(b, &second, 16);
    store8(at, a);
    store8(at + stride, a + 8);
    store8(at + 2 * stride, b);
    store8(at + 3 * stride, b + 8);
}

RUNLOG_NODEBUG void runlog_planes_read_float32(const uint8_t *planes, size_t count, void *out, size_t stride) {
    const uint8_t *p0 = planes, *p1 = p0 + count, *p2 = p1 + count, *p3 = p2 + count;
    unsigned char *o = out;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        u8x16 b0 = load16(p0 + i), b1 = load16(p1 + i), b2 = load16(p2 + i), b3 = load16(p3 + i);
        // Bytes 0-1 and 2-3 of values 0-7 and 8-15, then whole values, four to a vector.
        u8x16 low01 = zip8_low(b0, b1), high01 = zip8_high(b0, b1);
        u8x16 low23 = zip8_low(b2, b3), high23 = zip8_high(b2, b3);
        unsigned char *at = o + i * stride;
        store_widened(at, stride, zip16_low(low01, low23));
        store_widened(at + 4 * stride, stride, zip16_high(low01, low23));
        store_widened(at + 8 * stride, stride, zip16_low(high01, high23));
        store_widened(at + 12 * stride, stride, zip16_high(high01, high23));
    }
    for (; i < count; i++) {
        uint32_t b0 = p0[i], b1 = p1[i], b2 = p2[i], b3 = p3[i];
        uint32_t bits = b0 | b1 << 8 | b2 << 16 | b3 << 24;
        float f;
        memcpy(&f, &bits, 4);
        double d = f;
        store8(o + i * stride, &d);
    }
}

RUNLOG_NODEBUG void runlog_planes_read_64(const uint8_t *planes, size_t count, void *out, size_t stride) {
    const uint8_t *p[8];
    for (size_t k = 0; k < 8; k++) p[k] = planes + k * count;
    unsigned char *o = out;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        u8x16 b[8];
        for (int k = 0; k < 8; k++) b[k] = load16(p[k] + i);
        // Pairs of bytes (0-1, 2-3, 4-5, 6-7) of values 0-7 and 8-15; then 4-byte halves of
        // values 0-3, 4-7, 8-11, 12-15 (bytes 0-3 in `low`, 4-7 in `high`); then whole values.
        u8x16 pairs_low[4], pairs_high[4];
        for (int k = 0; k < 4; k++) {
            pairs_low[k] = zip8_low(b[2 * k], b[2 * k + 1]);
            pairs_high[k] = zip8_high(b[2 * k], b[2 * k + 1]);
        }
        u8x16 low[4] = {
            zip16_low(pairs_low[0], pairs_low[1]), zip16_high(pairs_low[0], pairs_low[1]),
            zip16_low(pairs_high[0], pairs_high[1]), zip16_high(pairs_high[0], pairs_high[1]),
        };
        u8x16 high[4] = {
            zip16_low(pairs_low[2], pairs_low[3]), zip16_high(pairs_low[2], pairs_low[3]),
            zip16_low(pairs_high[2], pairs_high[3]), zip16_high(pairs_high[2], pairs_high[3]),
        };
        unsigned char *at = o + i * stride;
        for (int k = 0; k < 4; k++) {
            store_pairs(at, stride, zip32_low(low[k], high[k]), zip32_high(low[k], high[k]));
            at += 4 * stride;
        }
    }
    for (; i < count; i++) {
        uint64_t bits = 0;
        for (int k = 0; k < 8; k++) {
            uint64_t byte = p[k][i];
            bits |= byte << (8 * k);
        }
        store8(o + i * stride, &bits);
    }
}
