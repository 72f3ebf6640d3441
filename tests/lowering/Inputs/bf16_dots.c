// tests/lowering/Inputs/bf16_dots.c — the kernels of bf16_dots.tile against C in double at edge
// sizes (bf16 data: products exact in f32, so only the accumulation's rounding differs).
#include <stdio.h>

#include "bf16_dots.h"
#include "harness.h"  // tests/stdlib/Inputs: common.h, to_bf16/from_bf16

typedef int (*Kernel)(const uint16_t *, const uint16_t *, float *, int64_t, int64_t, int64_t);

static int run(Kernel kern, const char *name, int64_t m, int64_t n, int64_t k) {
    float *a = alloc_guarded(m * k), *b = alloc_guarded(k * n), *c = alloc_guarded(m * n);
    uint16_t *ah = malloc(sizeof(uint16_t) * (size_t)(m * k + 1)),
             *bh = malloc(sizeof(uint16_t) * (size_t)(k * n + 1));
    double *want = calloc((size_t)(m * n + 1), sizeof(double));
    for (int64_t i = 0; i < m * k; i++)
        ah[i] = to_bf16(a[i] * 4), a[i] = from_bf16(ah[i]);
    for (int64_t i = 0; i < k * n; i++)
        bh[i] = to_bf16(b[i] * 4), b[i] = from_bf16(bh[i]);
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < n; j++)
                want[i * n + j] += (double)a[i * k + p] * b[p * n + j];
    int st = kern(ah, bh, c, m, k, n);
    char what[64];
    snprintf(what, sizeof what, "%s %lldx%lldx%lld", name, (long long)m, (long long)n, (long long)k);
    int bad = st != 0 || check_close(c, want, m * n, 1e-5 * (double)(k > 16 ? k : 16) / 16, what) +
                             check_guard(c, m * n, what);
    if (st)
        printf("FAIL %s: status %d\n", what, st);
    free(a), free(b), free(c), free(ah), free(bh), free(want);
    return bad;
}

int main(void) {
    static const int64_t sizes[] = {1, 7, 16, 17, 47, 48, 49, 100};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            for (int l = 0; l < 8; l += 2) {
                fails += run(narrow, "narrow", sizes[i], sizes[j], sizes[l]);
                fails += run(oddk, "oddk", sizes[i], sizes[j], sizes[l]);
                fails += run(square, "square", sizes[i], sizes[j], sizes[l]);
            }
    if (!fails)
        printf("bf16 dots: all sizes match\n");
    return fails != 0;
}
