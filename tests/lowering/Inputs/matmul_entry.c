// Differential driver for one build of stdlib/matmul.tile (a tunable configuration and a
// schedule): `matmul` through its header, as a user calls it, against a plain C reference in
// double at edge sizes, including sizes that are multiples of no tile and a reduction long enough
// that per-iteration stack use would overflow (300000 / BK iterations).
#include "common.h"
#include "matmul.h"

static void ref_matmul_mag(const float *a, const float *b, double *want, double *mag, int64_t m, int64_t k,
                           int64_t n) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0, t = 0;
            for (int64_t p = 0; p < k; p++) {
                s += (double)a[i * k + p] * b[p * n + j];
                t += fabs((double)a[i * k + p] * b[p * n + j]);
            }
            want[i * n + j] = s;
            mag[i * n + j] = t;
        }
}

int main(void) {
    // {M, K, N}
    const int64_t sizes[][3] = {{1, 1, 1},     {7, 17, 127},   {127, 7, 17},   {17, 1000, 7},
                                {1000, 17, 1}, {130, 129, 65}, {97, 200, 193}, {2, 300000, 3}};
    int fails = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
        float *a = alloc_guarded(m * k), *b = alloc_guarded(k * n), *c = alloc_guarded(m * n);
        double *want = malloc(sizeof(double) * (size_t)(m * n)),
               *mag = malloc(sizeof(double) * (size_t)(m * n));
        int st = matmul(a, b, c, m, k, n);
        if (st != TILEC_OK) {
            printf("FAIL %lldx%lldx%lld: status %d\n", (long long)m, (long long)k, (long long)n, st);
            fails++;
        }
        ref_matmul_mag(a, b, want, mag, m, k, n);
        // fp32 accumulation: 1e-5 relative to the sum of the products' magnitudes.
        for (int64_t i = 0; i < m * n; i++)
            if (!(fabs(c[i] - want[i]) <= 1e-5 * (mag[i] > 1 ? mag[i] : 1))) {
                printf("FAIL %lldx%lldx%lld: C[%lld] = %.9g, expected %.9g\n", (long long)m, (long long)k,
                       (long long)n, (long long)i, c[i], want[i]);
                fails++;
                break;
            }
        fails += check_guard(c, m * n, "matmul");
        free(a), free(b), free(c), free(want), free(mag);
    }
    printf("matmul: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
