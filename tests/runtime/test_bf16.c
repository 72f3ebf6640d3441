// tests/runtime/test_bf16.c — runtime/bf16.c's __truncsfbf2 and __truncdfbf2 (the float ->
// bfloat16 rounding that kernels compiled for CPUs without AVX512-BF16 call): round to nearest,
// ties to even, against a reference that picks the nearer of the two bf16 neighbours in long
// double; NaNs stay NaNs; signed zeros, infinities, overflow to infinity and subnormals.
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

float __truncsfbf2(float x);
float __truncdfbf2(double x);

static int failures;

static uint16_t low16(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)(b & 0xffffu);
}

static long double bf16_value(uint32_t h) {
    uint32_t b = h << 16;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

// The nearest bf16 to x (ties to the even one), from the two neighbours around x's truncation.
static uint16_t reference(long double x) {
    if (x != x)
        return 0x7fc0;
    int saved = fegetround();
    fesetround(FE_TOWARDZERO);
    volatile float t = (float)x;  // x truncated to float, then to bf16: the neighbour toward 0
    fesetround(saved);
    uint32_t b;
    float tf = t;
    memcpy(&b, &tf, sizeof b);
    uint32_t lo = b >> 16;
    if ((lo & 0x7f80u) == 0x7f80u)  // infinity
        return (uint16_t)lo;
    uint32_t hi = lo + 1;  // the neighbour away from 0; infinity counts as 2^128 (IEEE overflow)
    long double vhi = (hi & 0x7fffu) == 0x7f80u ? copysignl(0x1p128L, x) : bf16_value(hi);
    long double dlo = fabsl(x - bf16_value(lo)), dhi = fabsl(vhi - x);
    if (dlo < dhi || (dlo == dhi && !(lo & 1u)))
        return (uint16_t)lo;
    return (uint16_t)hi;
}

static void check_float(float x) {
    uint16_t got = low16(__truncsfbf2(x)), want = reference(x);
    if (x != x ? (got & 0x7fc0u) != 0x7fc0u : got != want) {
        printf("FAIL __truncsfbf2(%a): got 0x%04x, want 0x%04x\n", (double)x, got, want);
        failures++;
    }
}

static void check_double(double x) {
    uint16_t got = low16(__truncdfbf2(x)), want = reference(x);
    if (x != x ? (got & 0x7fc0u) != 0x7fc0u : got != want) {
        printf("FAIL __truncdfbf2(%a): got 0x%04x, want 0x%04x\n", x, got, want);
        failures++;
    }
}

int main(void) {
    // Every float whose low 16 bits are one of a set that covers below, at and above the tie,
    // for every sign, exponent and top 7 mantissa bits.
    static const uint32_t lows[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234, 0xc000};
    for (uint32_t top = 0; top < 0x10000; top++)
        for (unsigned i = 0; i < sizeof lows / sizeof lows[0]; i++) {
            uint32_t b = top << 16 | lows[i];
            float x;
            memcpy(&x, &b, sizeof x);
            check_float(x);
        }
    // Doubles: bf16 values, the midpoints between neighbours and points just off them (a tie
    // rounded through float would be decided twice), beyond float's range, subnormals.
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        uint32_t h = (uint32_t)(state >> 48) & 0x7f7fu;  // finite bf16 magnitudes
        double lo = (double)bf16_value(h), hi = (double)bf16_value(h + 1), mid = lo + (hi - lo) / 2;
        double sign = (state >> 20) & 1 ? -1.0 : 1.0;
        check_double(sign * mid);
        check_double(sign * nextafter(mid, 0.0));
        check_double(sign * nextafter(mid, INFINITY));
        check_double(sign * lo);
        check_double(sign * (lo + (hi - lo) * ((double)(state & 0xffff) / 65536.0)));
    }
    check_double(1e300);
    check_double(-1e300);
    check_double(INFINITY);
    check_double(-0.0);
    check_double(NAN);
    check_double(1e-320);
    check_double(3.4e38);
    printf("%s\n", failures ? "bf16: FAILED" : "bf16: all match");
    return failures != 0;
}
