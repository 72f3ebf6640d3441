// bench/dropout_bench.c — stdlib dropout (compiled by tilec: Philox4x32-10 per element, Triton's
// rand) against two plain C loops doing the same work, built here with -O3 -march=native
// -ffast-math: "C loop", the rounds unrolled and the key hoisted, which GCC 12 vectorizes (the
// ratio that counts), and "C naive", a call of the reference (tests/stdlib/Inputs/philox.h)
// per element, which it does not ("control flow in loop"). All spread over the same threads
// by tilec's runtime (TILE_NUM_THREADS). Prints elements per second and the ratios (tilec / C:
// above 1 means tilec is faster), and where the masks differ (they must not).
//   dropout_bench [N ...]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dropout.h"
#include "philox.h"
#include "tilec_rt.h"

typedef struct Job {
    const float *x;
    float *y;
    float p;
    uint64_t seed;
    int64_t n, per_task;
} Job;

static void c_naive(void *ctx, int64_t t) {
    const Job *j = ctx;
    int64_t lo = t * j->per_task, hi = lo + j->per_task < j->n ? lo + j->per_task : j->n;
    float scale_div = 1.0f - j->p;
    for (int64_t i = lo; i < hi; i++)
        j->y[i] = ref_rand(j->seed, (uint64_t)i) > j->p ? j->x[i] / scale_div : 0.0f;
}

static void c_loop(void *ctx, int64_t t) {
    const Job *j = ctx;
    int64_t lo = t * j->per_task, hi = lo + j->per_task < j->n ? lo + j->per_task : j->n;
    uint32_t k0 = (uint32_t)j->seed, k1 = (uint32_t)(j->seed >> 32);
    float p = j->p, d = 1.0f - p;
    const float *x = j->x;
    float *y = j->y;
    for (int64_t i = lo; i < hi; i++) {
        uint32_t c0 = (uint32_t)i, c1 = (uint32_t)((uint64_t)i >> 32), c2 = 0, c3 = 0, a = k0, b = k1;
#pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ a, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ b;
            c0 = n0, c1 = (uint32_t)p1, c2 = n2, c3 = (uint32_t)p0;
            a += 0x9E3779B9u, b += 0xBB67AE85u;
        }
        int32_t xi = (int32_t)c0;
        xi = xi < 0 ? ~xi : xi;
        y[i] = (float)xi * 4.6566127342e-10f > p ? x[i] / d : 0.0f;
    }
}

// 0: tilec, 1: the C loop, 2: the naive C loop.
static double run_once(int which, Job *j) {
    double t0 = now();
    int st = 0;
    if (which == 0)
        st = dropout(j->x, j->y, j->p, j->seed, j->n);
    else
        tilec_rt_parallel_for((j->n + j->per_task - 1) / j->per_task, which == 1 ? c_loop : c_naive, j);
    double t = now() - t0;
    return st == 0 ? t : -1;
}

// Elements per second (1e9) of the median of 9 runs after a warm-up.
static double rate(int which, Job *j) {
    double t[9];
    for (int r = -1; r < 9; r++) {
        double s = run_once(which, j);
        if (s < 0)
            return 0;
        if (r >= 0)
            t[r] = s;
    }
    return (double)j->n / median(t, 9) * 1e-9;
}

int main(int argc, char **argv) {
    long long sizes[16] = {1 << 20, 1 << 24};
    int ns = 2;
    if (argc > 1)
        ns = 0;
    for (int i = 1; i < argc && ns < 16; i++)
        ns += sscanf(argv[i], "%lld", &sizes[ns]) == 1;
    const char *threads = getenv("TILE_NUM_THREADS");
    for (int i = 0; i < ns; i++) {
        Job j = {.n = sizes[i], .p = 0.5f, .seed = 0x1234567890abcdefull, .per_task = 16384};
        float *x = malloc(sizeof(float) * (size_t)j.n), *y = malloc(sizeof(float) * (size_t)j.n),
              *yc = malloc(sizeof(float) * (size_t)j.n), *yn = malloc(sizeof(float) * (size_t)j.n);
        srand(7);
        for (int64_t k = 0; k < j.n; k++)
            x[k] = (float)rand() / (float)RAND_MAX * 8 - 4;
        j.x = x, j.y = y;
        double tl = rate(0, &j);
        j.y = yc;
        double c = rate(1, &j);
        j.y = yn;
        double cn = rate(2, &j);
        int64_t differ = 0;
        for (int64_t k = 0; k < j.n; k++)
            differ += (y[k] == 0.0f) != (yc[k] == 0.0f) || (y[k] == 0.0f) != (yn[k] == 0.0f);
        printf("%s\t%lld\ttilec %.3f Gelem/s\tC loop %.3f (ratio %.2fx)\tC naive %.3f (ratio %.2fx)\tmasks "
               "differ at "
               "%lld\n",
               threads ? threads : "all", sizes[i], tl, c, c > 0 ? tl / c : 0.0, cn, cn > 0 ? tl / cn : 0.0,
               (long long)differ);
        fflush(stdout);
        free(x), free(y), free(yc), free(yn);
    }
    return 0;
}
