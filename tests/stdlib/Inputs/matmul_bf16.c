// tests/stdlib/Inputs/matmul_bf16.c — stdlib matmul_bf16 (and bmm_bf16's 2-D products through
// linear_bf16) against C in double at edge sizes: M, N, K from 1 past the tiles (BM = BN = 128,
// BK = 32/64), K odd and even, on bf16 data; and N a multiple of 256 or past 1024, where the
// kernel prefers 256-column blocks on CPUs (its v2). The products of bf16 values are exact in f32, so
// the only error is the f32 accumulation's (the AVX512-BF16 path adds products in pairs).
#include "harness.h"
#include "matmul.h"

static int run(int64_t m, int64_t n, int64_t k) {
    float *a = rand_buf(m * k, 4), *b = rand_buf(k * n, 4), *c = alloc_guarded(m * n);
    uint16_t *ah = malloc(sizeof(uint16_t) * (size_t)(m * k + 1)),
             *bh = malloc(sizeof(uint16_t) * (size_t)(k * n + 1));
    for (int64_t i = 0; i < m * k; i++)
        ah[i] = to_bf16(a[i]), a[i] = from_bf16(ah[i]);
    for (int64_t i = 0; i < k * n; i++)
        bh[i] = to_bf16(b[i]), b[i] = from_bf16(bh[i]);
    double *want = want_buf(m * n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < n; j++)
                want[i * n + j] += (double)a[i * k + p] * b[p * n + j];
    CALL(matmul_bf16(ah, bh, c, m, k, n));
    char what[64];
    snprintf(what, sizeof what, "matmul_bf16 %lldx%lldx%lld", (long long)m, (long long)n, (long long)k);
    int bad = check_close(c, want, m * n, 1e-5 * (double)(k > 16 ? k : 16) / 16, what) +
              check_guard(c, m * n, what);
    fails += bad;
    free(a), free(b), free(c), free(ah), free(bh), free(want);
    return bad;
}

int main(void) {
    static const int64_t sizes[] = {1, 2, 15, 16, 17, 31, 33, 64, 127, 129, 200};
    int ns = (int)(sizeof sizes / sizeof sizes[0]);
    for (int i = 0; i < ns; i++)
        for (int j = 0; j < ns; j += 2)
            for (int l = 0; l < ns; l += 3)
                run(sizes[i], sizes[j], sizes[l]);
    run(257, 300, 513);
    run(1, 1000, 1001);
    run(300, 1, 99);
    run(0, 16, 16);
    run(16, 16, 0);
    static const int64_t wide[][3] = {
        {129, 256, 33}, {17, 512, 65}, {1, 1024, 31}, {130, 1025, 17}, {3, 1281, 200}};
    for (int i = 0; i < 5; i++)
        run(wide[i][0], wide[i][1], wide[i][2]);
    printf("versions: N=300 v%d, N=512 v%d, N=1000 v%d, N=1025 v%d\n",
           matmul_bf16__version(0, 0, 0, 64, 64, 300), matmul_bf16__version(0, 0, 0, 64, 64, 512),
           matmul_bf16__version(0, 0, 0, 64, 64, 1000), matmul_bf16__version(0, 0, 0, 64, 64, 1025));
    if (!fails)
        printf("matmul_bf16: all sizes match\n");
    return fails != 0;
}
