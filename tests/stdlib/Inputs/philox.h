// tests/stdlib/Inputs/philox.h — Philox4x32-10 and Triton's conversions in plain C, the
// reference for the language's philox/randint/rand/randn (docs/language.md §9.10) and for
// stdlib/dropout.tile. Written from Random123's philox4x32_R (Salmon et al., SC 2011).
#ifndef TILEC_TEST_PHILOX_H
#define TILEC_TEST_PHILOX_H

#include <math.h>
#include <stdint.h>

static inline void philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0, c[1] = (uint32_t)p1, c[2] = n2, c[3] = (uint32_t)p0;
        k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    }
}

// randint(seed, offset): word 0 of the counter (offset's low word, its high word, 0, 0).
static inline uint32_t ref_randint(uint64_t seed, uint64_t offset, uint32_t *word1) {
    uint32_t c[4] = {(uint32_t)offset, (uint32_t)(offset >> 32), 0, 0};
    philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
    if (word1)
        *word1 = c[1];
    return c[0];
}

// Triton's uint_to_uniform_float: the word as an i32 x, (x < 0 ? -x - 1 : x) * 4.6566127342e-10f.
static inline float ref_uniform(uint32_t u) {
    int32_t x = (int32_t)u;
    if (x < 0)
        x = ~x;
    return (float)x * 4.6566127342e-10f;
}

static inline float ref_rand(uint64_t seed, uint64_t offset) {
    return ref_uniform(ref_randint(seed, offset, 0));
}

static inline float ref_randn(uint64_t seed, uint64_t offset) {
    uint32_t w1;
    float u1 = ref_uniform(ref_randint(seed, offset, &w1)), u2 = ref_uniform(w1);
    u1 = u1 > 1.0e-7f ? u1 : 1.0e-7f;
    float th = 6.283185307179586f * u2;
    return sqrtf(-2.0f * logf(u1)) * cosf(th);
}

#endif
