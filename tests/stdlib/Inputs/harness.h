// tests/stdlib/Inputs/harness.h — what the stdlib drivers share on top of the lowering tests'
// common.h (random data, guard values, relative-error checks): a failure counter, f16/bf16
// conversions, and status checks. Each driver calls the kernels through the header tilec writes,
// as a user would.
#include <string.h>

#include "common.h"

static int fails;
#define EXPECT(cond, ...)                 \
    do {                                  \
        if (!(cond)) {                    \
            printf("FAIL: " __VA_ARGS__); \
            printf("\n");                 \
            fails++;                      \
        }                                 \
    } while (0)

// Status of a kernel call: 0 expected.
#define CALL(expr)                                              \
    do {                                                        \
        int status_ = (expr);                                   \
        EXPECT(status_ == 0, "%s returned %d", #expr, status_); \
    } while (0)

static uint16_t to_bf16(float f) {  // round to nearest even
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t to_f16(float f) {  // normal range only (test data is in [-8, 8])
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000, mant = u & 0x7fffff;
    int exp = (int)((u >> 23) & 0xff) - 127 + 15;
    if (exp <= 0)
        return (uint16_t)sign;
    uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)h;
}

static float from_f16(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    float m = (float)(h & 0x3ff);
    float v = exp == 0 ? ldexpf(m, -24) : ldexpf(m + 1024.0f, exp - 25);
    return (h & 0x8000) ? -v : v;
}

// A guarded f32 buffer of random values in [-scale, scale).
static float *rand_buf(int64_t n, float scale) {
    float *p = alloc_guarded(n);
    for (int64_t i = 0; i < n; i++)
        p[i] *= scale;
    return p;
}

static double *want_buf(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

// The activation codes of stdlib/activations.tile, in double.
static double ref_act(double x, int act) {
    switch (act) {
    case 1: return x > 0 ? x : 0;
    case 2: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case 3: return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case 4: return x / (1 + exp(-x));
    case 5: return 1 / (1 + exp(-x));
    case 6: return tanh(x);
    default: return x;
    }
}
