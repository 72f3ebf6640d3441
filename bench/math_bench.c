// bench/math_bench.c — bench/mathfns.tile's log, log2, exp2 and exp over a vector against a plain C
// loop calling logf, log2f, exp2f and expf (built with -O3 -march=native -ffast-math: GCC
// vectorizes them through glibc's libmvec) and a memcpy of as many bytes, in one process on the
// same data; GB/s = (bytes read + written) / s, the median of runs after a warm-up, and the
// largest error of each against double precision, in ulp.
//   math_bench [N ...]      (default: 65536 (L2) and 4194304 (memory) elements)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mathfns.h"

typedef int (*TileFn)(const float *, float *, int64_t);

__attribute__((noinline)) static void c_log(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = logf(x[i]);
}
__attribute__((noinline)) static void c_log2(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = log2f(x[i]);
}
__attribute__((noinline)) static void c_exp2(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = exp2f(x[i]);
}
__attribute__((noinline)) static void c_exp(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

static double ulps(float got, double want) {
    if (!isfinite(want) || want == 0)
        return got == want ? 0 : fabs((double)got - want) / 1.4e-45;
    float w = (float)want;
    return fabs((double)got - want) / fabs((double)nextafterf(fabsf(w), INFINITY) - fabs((double)w));
}

int main(int argc, char **argv) {
    int64_t sizes[8] = {65536, 4194304};
    int ns = 2;
    if (argc > 1)
        for (ns = 0; ns < 8 && ns + 1 < argc; ns++)
            sizes[ns] = atoll(argv[ns + 1]);
    const char *names[4] = {"log", "log2", "exp2", "exp"};
    TileFn tile[4] = {log_k, log2_k, exp2_k, exp_k};
    void (*c[4])(const float *, float *, int64_t) = {c_log, c_log2, c_exp2, c_exp};
    double (*ref[4])(double) = {log, log2, exp2, exp};
    for (int s = 0; s < ns; s++) {
        int64_t n = sizes[s];
        float *pos = malloc(sizeof(float) * n), *any = malloc(sizeof(float) * n);
        float *y = malloc(sizeof(float) * n), *z = malloc(sizeof(float) * n);
        srand(1);
        for (int64_t i = 0; i < n; i++) {
            pos[i] = expf(((float)rand() / (float)RAND_MAX - 0.5f) * 160.0f);  // e^-80 .. e^80
            any[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 160.0f;        // -80 .. 80
        }
        int reps = n < 1000000 ? 200 : 15;
        double *t = malloc(sizeof(double) * reps);
        for (int f = 0; f < 4; f++) {
            const float *x = f < 2 ? pos : any;
            if (tile[f](x, y, n) != 0) {
                fprintf(stderr, "math_bench: %s_k failed\n", names[f]);
                return 1;
            }
            double secs[3];  // tilec, the C loop, the copy
            for (int which = 0; which < 3; which++) {
                for (int r = -1; r < reps; r++) {
                    double t0 = now();
                    if (which == 0)
                        tile[f](x, y, n);
                    else if (which == 1)
                        c[f](x, z, n);
                    else
                        memcpy(z, x, sizeof(float) * n);
                    if (r >= 0)
                        t[r] = now() - t0;
                }
                secs[which] = median(t, reps);
            }
            double tt = secs[0], tc = secs[1], tm = secs[2];
            c[f](x, z, n);
            double et = 0, ec = 0;
            for (int64_t i = 0; i < n; i++) {
                double w = ref[f](x[i]), a = ulps(y[i], w), b = ulps(z[i], w);
                et = a > et ? a : et, ec = b > ec ? b : ec;
            }
            double bytes = 8.0 * (double)n;
            printf(
                "%-5s %9lld  tilec %6.2f GB/s  C loop %6.2f GB/s  copy %6.2f GB/s  ratio C/tilec time %.2f  "
                "tilec/copy %.2f  max error tilec %.2f ulp, C %.2f ulp\n",
                names[f], (long long)n, bytes / tt / 1e9, bytes / tc / 1e9, bytes / tm / 1e9, tc / tt,
                tm / tt, et, ec);
        }
        free(t), free(pos), free(any), free(y), free(z);
    }
    return 0;
}
