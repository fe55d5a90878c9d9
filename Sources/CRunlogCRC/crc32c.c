#include "runlog_crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

/* One instruction takes three cycles before the next that depends on it can start, and issues
 * one a cycle: a long buffer goes as three lanes of `LANE` bytes at a time, each its own CRC,
 * joined after each round. The CRC update is linear over GF(2) in both the running value and the
 * bytes, so going on over `LANE` bytes from `c` is the update of `c` over `LANE` zero bytes
 * (`c` times x^(8 LANE) modulo the polynomial) XOR the update of 0 over the bytes; `shift_by_lane`
 * is that first term, from four tables of 256 entries, one for each byte of `c`. */
enum { LANE = 256 };
static uint32_t shift_by_lane[4][256];

__attribute__((target("sse4.2")))
static uint32_t over_zeros(uint32_t crc, size_t length) {
    uint64_t c = crc;
    for (size_t i = 0; i < length; i += 8) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

int runlog_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse4.2")) return 0;
    /* Each entry XORs the shifts of its set bits, each shift computed once. */
    uint32_t bit_shift[32];
    for (int bit = 0; bit < 32; bit++) bit_shift[bit] = over_zeros(UINT32_C(1) << bit, LANE);
    for (int k = 0; k < 4; k++) {
        for (int byte = 0; byte < 256; byte++) {
            uint32_t shifted = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (byte & (1 << bit)) shifted ^= bit_shift[8 * k + bit];
            }
            shift_by_lane[k][byte] = shifted;
        }
    }
    return 1;
}

static inline uint32_t shift_lane(uint32_t c) {
    return shift_by_lane[0][c & 0xFF] ^ shift_by_lane[1][(c >> 8) & 0xFF] ^ shift_by_lane[2][(c >> 16) & 0xFF]
        ^ shift_by_lane[3][c >> 24];
}

__attribute__((target("sse4.2")))
uint32_t runlog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = bytes;
    uint64_t c = crc;
    while (length >= 3 * LANE) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t wa, wb, wd;
            memcpy(&wa, p + i, 8);
            memcpy(&wb, p + LANE + i, 8);
            memcpy(&wd, p + 2 * LANE + i, 8);
            a = _mm_crc32_u64(a, wa);
            b = _mm_crc32_u64(b, wb);
            d = _mm_crc32_u64(d, wd);
        }
        c = shift_lane(shift_lane((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * LANE;
        length -= 3 * LANE;
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p += 1;
        length -= 1;
    }
    return c32;
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

int runlog_crc32c_hardware_available(void) { return 1; }

uint32_t runlog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = bytes;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = __crc32cd(crc, word);
        p += 8;
        length -= 8;
    }
    while (length > 0) {
        crc = __crc32cb(crc, *p);
        p += 1;
        length -= 1;
    }
    return crc;
}

#else

int runlog_crc32c_hardware_available(void) { return 0; }

uint32_t runlog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return crc;
}

#endif
