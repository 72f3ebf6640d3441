// bench/grouped_gemm_bench.c — stdlib grouped_matmul (one call over G problems of different
// shapes) against the same problems run one by one with stdlib matmul, both compiled by tilec
// with their default configurations. Times are the calling thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), the minimum of REPS runs: run it with TILE_NUM_THREADS=1, where
// the runtime runs every program on the calling thread. Prints both times, GFLOP/s and the
// ratio (matmul one by one / grouped: above 1 means the grouped call is faster), and the
// largest difference between the two results (relative to max(1, |C|)).
//   grouped_gemm_bench [REPS]
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "grouped_gemm.h"
#include "matmul.h"

#define G 8
static const int64_t shapes[G][3] = {{512, 512, 512},  {256, 1024, 128}, {1000, 300, 700}, {64, 2048, 64},
                                     {384, 384, 1536}, {17, 512, 1000},  {768, 256, 256},  {128, 128, 128}};

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    float *a[G], *b[G], *c1[G], *c2[G];
    int64_t M[G], K[G], N[G];
    double flops = 0;
    for (int g = 0; g < G; g++) {
        M[g] = shapes[g][0], K[g] = shapes[g][1], N[g] = shapes[g][2];
        a[g] = malloc(sizeof(float) * (size_t)(M[g] * K[g]));
        b[g] = malloc(sizeof(float) * (size_t)(K[g] * N[g]));
        c1[g] = malloc(sizeof(float) * (size_t)(M[g] * N[g]));
        c2[g] = malloc(sizeof(float) * (size_t)(M[g] * N[g]));
        for (int64_t i = 0; i < M[g] * K[g]; i++)
            a[g][i] = (float)(rand() % 2001 - 1000) / 1000.0f;
        for (int64_t i = 0; i < K[g] * N[g]; i++)
            b[g][i] = (float)(rand() % 2001 - 1000) / 1000.0f;
        flops += 2.0 * (double)M[g] * (double)K[g] * (double)N[g];
    }
    double best_one = 1e30, best_grouped = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int g = 0; g < G; g++)
            if (matmul(a[g], b[g], c1[g], M[g], K[g], N[g]) != 0)
                return printf("matmul failed\n"), 1;
        double t1 = cpu_now();
        if (grouped_matmul((const float *const *)a, (const float *const *)b, c2, M, K, N, G) != 0)
            return printf("grouped_matmul failed\n"), 1;
        double t2 = cpu_now();
        best_one = t1 - t0 < best_one ? t1 - t0 : best_one;
        best_grouped = t2 - t1 < best_grouped ? t2 - t1 : best_grouped;
    }
    double diff = 0;
    for (int g = 0; g < G; g++)
        for (int64_t i = 0; i < M[g] * N[g]; i++) {
            double d = fabs((double)c1[g][i] - c2[g][i]) / fmax(1.0, fabs((double)c1[g][i]));
            diff = d > diff ? d : diff;
        }
    printf("%d problems, %.3g GFLOP; min of %d runs, thread CPU time\n", G, flops * 1e-9, reps);
    printf("  matmul one by one: %8.2f ms  %6.1f GFLOP/s\n", best_one * 1e3, flops * 1e-9 / best_one);
    printf("  grouped_matmul:    %8.2f ms  %6.1f GFLOP/s\n", best_grouped * 1e3, flops * 1e-9 / best_grouped);
    printf("  ratio (one by one / grouped): %.2f; largest difference %.2g\n", best_one / best_grouped, diff);
    return 0;
}
