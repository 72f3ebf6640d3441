// runtime/bf16.c — float -> bfloat16 for kernels compiled for CPUs without AVX512-BF16.
//
// There LLVM's x86 back end carries bf16 values in float registers and rounds them back with a
// call to the compiler-runtime function __truncsfbf2 (on every bf16 store, even of a value just
// loaded). GCC 12's libgcc (Debian 12) does not have it, so objects with bf16 tensors failed to
// link. This definition is weak: a libgcc or compiler-rt that has one wins. The argument and the
// result travel in %xmm0 (the psABI's __bf16): the result is a float whose low 16 bits are the
// bf16 value, rounded to nearest even; a NaN stays a NaN (quiet).
#include <math.h>
#include <stdint.h>
#include <string.h>

__attribute__((weak)) float __truncsfbf2(float x);
__attribute__((weak)) float __truncdfbf2(double x);

static float bf16_bits(uint32_t b) {
    uint32_t h = (b & 0x7fffffffu) > 0x7f800000u ? (b >> 16) | 0x40u : (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;
    uint32_t out = h & 0xffffu;
    float f;
    memcpy(&f, &out, sizeof f);
    return f;
}

float __truncsfbf2(float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return bf16_bits(b);
}

// double -> bf16 through float would round twice; through float rounded to odd (truncated, its
// last bit set when anything was dropped) it rounds once: float keeps more than bf16's 8 bits + 2.
float __truncdfbf2(double x) {
    float f = (float)x;
    if (x == x && fabs((double)f) > fabs(x))  // rounded away from zero: one step back
        f = nextafterf(f, 0.0f);
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    if (x == x && (double)f != x)
        b |= 1u;
    return bf16_bits(b);
}
