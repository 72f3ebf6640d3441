// bench/demo_matmul.c — the main job's program (`make demo`): calls the matmul kernel that
// tilec compiled from stdlib/matmul.tile through its generated header, checks it against a plain
// C loop, and prints its speed (median of repeated runs after a warm-up).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "matmul.h"

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? atoll(argv[1]) : 512;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    float *a = malloc(sizeof(float) * (size_t)(n * n)), *b = malloc(sizeof(float) * (size_t)(n * n));
    float *c = malloc(sizeof(float) * (size_t)(n * n));
    srand(1);
    for (int64_t i = 0; i < n * n; i++) {
        a[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        b[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
    int rc = matmul(a, b, c, n, n, n);  // warm-up, and the result we check
    if (rc != TILEC_OK) {
        printf("matmul returned status %d\n", rc);
        return 1;
    }
    // Check against a plain C loop (in double), on a sample of rows for large sizes.
    double max_err = 0;
    int64_t step = n > 256 ? n / 64 : 1;
    for (int64_t i = 0; i < n; i += step)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++)
                s += (double)a[i * n + k] * b[k * n + j];
            double err = fabs(c[i * n + j] - s) / (fabs(s) > 1 ? fabs(s) : 1);
            max_err = err > max_err ? err : max_err;
        }
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        matmul(a, b, c, n, n, n);
        t[r] = now() - t0;
    }
    double med = median(t, reps), gflops = 2.0 * (double)n * (double)n * (double)n / med * 1e-9;
    printf("matmul %lldx%lldx%lld f32: %s (max relative error %.1e), median %.3f s over %d runs = %.2f "
           "GFLOP/s\n",
           (long long)n, (long long)n, (long long)n, max_err < 1e-5 ? "correct" : "WRONG", max_err, med, reps,
           gflops);
    free(a), free(b), free(c), free(t);
    return max_err < 1e-5 ? 0 : 1;
}
