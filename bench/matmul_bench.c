// bench/matmul_bench.c — stdlib matmul (compiled by tilec) against OpenBLAS's sgemm, in one
// process, on the same data: median of repeated runs after a warm-up, GFLOP/s and the ratio.
// The thread count comes from the environment (TILE_NUM_THREADS and OPENBLAS_NUM_THREADS, set
// alike by bench/run.sh). Sizes whose tilec run would exceed the budget are reported as skipped.
// Each library gets the machine to itself: tilec runs first, after OpenBLAS's threads (from the
// previous size) have gone idle.
//   matmul_bench [--budget SECONDS] [MxNxK ...]
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "matmul.h"

typedef struct Shape {
    int64_t m, n, k;
} Shape;

// Median seconds of `reps` runs (after one warm-up) of tilec (which = 0) or OpenBLAS (1).
static double time_it(int which, const Shape *s, const float *a, const float *b, float *c, int reps) {
    double t[16];
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        if (which == 0)
            matmul(a, b, c, s->m, s->k, s->n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f, a,
                        (int)s->k, b, (int)s->n, 0.0f, c, (int)s->n);
        if (r >= 0)
            t[r] = now() - t0;
    }
    return median(t, reps);
}

int main(int argc, char **argv) {
    double budget = 20;  // seconds for one tilec run, estimated from the previous size
    Shape shapes[32];
    int ns = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc) {
            budget = atof(argv[++i]);
            continue;
        }
        long long m, n, k;
        if (sscanf(argv[i], "%lldx%lldx%lld", &m, &n, &k) == 3 && ns < 32)
            shapes[ns++] = (Shape){m, n, k};
    }
    if (ns == 0) {
        const Shape def[] = {{512, 512, 512},    {1024, 1024, 1024}, {2048, 2048, 2048},
                             {4096, 4096, 4096}, {128, 4096, 1024},  {1023, 1023, 1023}};
        memcpy(shapes, def, sizeof def);
        ns = 6;
    }
    const char *threads = getenv("TILE_NUM_THREADS");
    // The kernels OpenBLAS chose (bench/run.sh runs it on its AVX-512 ones where the CPU has
    // them; the environment may pin it to Haswell's AVX2 ones)
    printf("# OpenBLAS kernels: %s (%s)\n", openblas_get_corename(), openblas_get_config());
    double tilec_rate = 0;  // flop/s measured at the previous size, for the budget estimate
    for (int i = 0; i < ns; i++) {
        Shape *s = &shapes[i];
        double flop = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        if (tilec_rate > 0 && flop / tilec_rate > budget) {
            printf("%s\t%lldx%lldx%lld\tskipped: tilec would take about %.0f s per run (budget %.0f s)\n",
                   threads ? threads : "all", (long long)s->m, (long long)s->n, (long long)s->k,
                   flop / tilec_rate, budget);
            continue;
        }
        float *a = malloc(sizeof(float) * (size_t)(s->m * s->k)),
              *b = malloc(sizeof(float) * (size_t)(s->k * s->n));
        float *c = malloc(sizeof(float) * (size_t)(s->m * s->n)),
              *c2 = malloc(sizeof(float) * (size_t)(s->m * s->n));
        srand(7);
        for (int64_t j = 0; j < s->m * s->k; j++)
            a[j] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (int64_t j = 0; j < s->k * s->n; j++)
            b[j] = (float)rand() / (float)RAND_MAX - 0.5f;
        int reps = flop > 2e10 ? 3 : 5;
        // tilec first, after a pause: OpenBLAS's idle threads spin (sched_yield) for about 2^28
        // cycles after each call, which would take a core from whatever runs next.
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 300000000}, NULL);
        double tt = time_it(0, s, a, b, c, reps);
        double tb = time_it(1, s, a, b, c2, reps);
        double err = 0;  // tilec against OpenBLAS
        for (int64_t j = 0; j < s->m * s->n; j++) {
            double d = fabs(c[j] - c2[j]) / (fabs(c2[j]) > 1 ? fabs(c2[j]) : 1);
            err = d > err ? d : err;
        }
        tilec_rate = flop / tt;
        printf(
            "%s\t%lldx%lldx%lld\ttilec %.2f GFLOP/s\topenblas %.2f GFLOP/s\tratio %.3f\tmax rel diff %.1e\n",
            threads ? threads : "all", (long long)s->m, (long long)s->n, (long long)s->k, flop / tt * 1e-9,
            flop / tb * 1e-9, tb / tt, err);
        fflush(stdout);
        free(a), free(b), free(c), free(c2);
    }
    return 0;
}
