// bench/norms_bench.c — the memory-bound stdlib kernels (compiled by tilec) against a plain C loop
// doing the same work (built with -O3 -march=native -ffast-math by bench/run.sh) and against copy
// bandwidth (memcpy of the same number of bytes: one read, one write), all spread over the same
// threads by tilec's runtime (TILE_NUM_THREADS): softmax, softmax_online, layernorm, rmsnorm, and
// reduce.tile's sum_rows and max_rows over rows, vector_add and activations.tile's activation (GELU
// and tanh) over R x C elements. Prints one line per
// kernel and shape: GB/s (bytes read + written per second, the fastest of 15 runs after a warm-up, the
// kernel, its C loop and the copy taking turns) and the ratios to the C loop and to the copy.
//   norms_bench [RxC ...]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "bench.h"
#include "layernorm.h"
#include "norms.h"
#include "reduce.h"
#include "softmax.h"
#include "tilec_rt.h"
#include "vector_add.h"

typedef struct Job {
    const float *x, *x2, *w, *b;
    float *y;
    int64_t r, c;
    int64_t rows_per_task;
} Job;

#define ROWS(j, t, i) \
    for (int64_t i = (t) * (j)->rows_per_task; i < ((t) + 1) * (j)->rows_per_task && i < (j)->r; i++)

// The plain C versions, one task per block of rows.
static void c_softmax(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        float m = -INFINITY, s = 0;
        for (int64_t k = 0; k < j->c; k++)
            m = fmaxf(m, x[k]);
        for (int64_t k = 0; k < j->c; k++)
            s += (y[k] = expf(x[k] - m));
        float inv = 1 / s;
        for (int64_t k = 0; k < j->c; k++)
            y[k] *= inv;
    }
}

static void c_layernorm(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        float mean = 0, var = 0;
        for (int64_t k = 0; k < j->c; k++)
            mean += x[k];
        mean /= (float)j->c;
        for (int64_t k = 0; k < j->c; k++)
            var += (x[k] - mean) * (x[k] - mean);
        float rstd = 1.0f / sqrtf(var / (float)j->c + 1e-5f);
        for (int64_t k = 0; k < j->c; k++)
            y[k] = (x[k] - mean) * rstd * j->w[k] + j->b[k];
    }
}

static void c_rmsnorm(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        float ss = 0;
        for (int64_t k = 0; k < j->c; k++)
            ss += x[k] * x[k];
        float scale = 1.0f / sqrtf(ss / (float)j->c + 1e-5f);
        for (int64_t k = 0; k < j->c; k++)
            y[k] = x[k] * scale * j->w[k] + j->b[k];
    }
}

static void c_add(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c, *x2 = j->x2 + i * j->c;
        float *y = j->y + i * j->c;
        for (int64_t k = 0; k < j->c; k++)
            y[k] = x[k] + x2[k];
    }
}

static void c_sum_rows(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float s = 0;
        for (int64_t k = 0; k < j->c; k++)
            s += x[k];
        j->y[i] = s;
    }
}

static void c_max_rows(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float m = -INFINITY;
        for (int64_t k = 0; k < j->c; k++)
            m = fmaxf(m, x[k]);
        j->y[i] = m;
    }
}

static void c_gelu(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        for (int64_t k = 0; k < j->c; k++)
            y[k] = 0.5f * x[k] * (1.0f + erff(x[k] * 0.70710678f));
    }
}

static void c_tanh(void *ctx, int64_t t) {
    const Job *j = ctx;
    ROWS(j, t, i) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        for (int64_t k = 0; k < j->c; k++)
            y[k] = tanhf(x[k]);
    }
}

static void c_copy(void *ctx, int64_t t) {
    const Job *j = ctx;
    int64_t lo = t * j->rows_per_task, hi = lo + j->rows_per_task < j->r ? lo + j->rows_per_task : j->r;
    if (hi > lo)
        memcpy(j->y + lo * j->c, j->x + lo * j->c, sizeof(float) * (size_t)((hi - lo) * j->c));
}

enum { SOFTMAX, SOFTMAX_ONLINE, LAYERNORM, RMSNORM, SUM_ROWS, MAX_ROWS, ADD, GELU, TANH, NKERNELS };
static const char *const names[NKERNELS] = {"softmax",  "softmax_online", "layernorm",  "rmsnorm", "sum_rows",
                                            "max_rows", "vector_add",     "gelu (erf)", "tanh"};
static void (*const c_loops[NKERNELS])(void *, int64_t) = {
    c_softmax, c_softmax, c_layernorm, c_rmsnorm, c_sum_rows, c_max_rows, c_add, c_gelu, c_tanh};

static double run_once(int which, int c_loop, Job *j) {
    int64_t tasks = (j->r + j->rows_per_task - 1) / j->rows_per_task;
    double t0 = now();
    int st = 0;
    if (c_loop)
        tilec_rt_parallel_for(tasks, which < 0 ? c_copy : c_loops[which], j);
    else
        switch (which) {
        case SOFTMAX: st = softmax(j->x, j->y, j->r, j->c); break;
        case SOFTMAX_ONLINE: st = softmax_online(j->x, j->y, j->r, j->c); break;
        case LAYERNORM: st = layernorm(j->x, j->w, j->b, j->y, 1e-5f, j->r, j->c); break;
        case RMSNORM: st = rmsnorm(j->x, j->w, j->b, j->y, 1e-5f, j->r, j->c, j->c); break;
        case SUM_ROWS: st = sum_rows(j->x, j->y, j->r, j->c); break;
        case MAX_ROWS: st = max_rows(j->x, j->y, j->r, j->c); break;
        case GELU: st = activation(j->x, j->y, 2, j->r * j->c); break;
        case TANH: st = activation(j->x, j->y, 6, j->r * j->c); break;
        case ADD: st = vector_add(j->x, j->x2, j->y, j->r * j->c); break;
        }
    double t = now() - t0;
    return st == 0 ? t : -1;
}

// GB/s of kernel `which` compiled by tilec (t), as the C loop (c) and of the copy of the same
// rows (copy), each from the fastest of REPS runs after a warm-up, the three run in turn (so that
// a burst of load on a shared machine hits all three alike). 0 if the kernel refused the shape.
// Bytes: the rows read once and written once (vector_add reads two; sum_rows and max_rows write one
// float per row). The copy moves the rows' bytes once each way whatever the kernel.
enum { REPS = 15 };
static void gbps(int which, Job *j, double *t, double *c, double *copy) {
    double best[3] = {1e30, 1e30, 1e30};
    for (int r = -1; r < REPS; r++) {
        double s[3] = {run_once(which, 0, j), run_once(which, 1, j), run_once(-1, 1, j)};
        for (int k = 0; k < 3 && r >= 0; k++)
            if (s[k] < best[k])
                best[k] = s[k];
    }
    double bytes = (which == ADD                             ? 3.0
                    : which == SUM_ROWS || which == MAX_ROWS ? 1.0
                                                             : 2.0) *
                   (double)(j->r * j->c) * sizeof(float) * 1e-9;
    if (which == SUM_ROWS || which == MAX_ROWS)
        bytes += (double)j->r * sizeof(float) * 1e-9;
    *t = best[0] < 0 ? 0 : bytes / best[0];
    *c = bytes / best[1];
    *copy = 2.0 * (double)(j->r * j->c) * sizeof(float) * 1e-9 / best[2];
}

int main(int argc, char **argv) {
    long long shapes[16][2] = {{16384, 1024}, {4096, 1000}, {65536, 256}, {2048, 4096}, {32768, 128}};
    int ns = 5;
    if (argc > 1)
        ns = 0;
    for (int i = 1; i < argc && ns < 16; i++)
        if (sscanf(argv[i], "%lldx%lld", &shapes[ns][0], &shapes[ns][1]) == 2)
            ns++;
    const char *threads = getenv("TILE_NUM_THREADS");
    for (int i = 0; i < ns; i++) {
        Job j = {.r = shapes[i][0], .c = shapes[i][1]};
        j.rows_per_task = 64;
        size_t n = (size_t)(j.r * j.c);
        float *x = malloc(sizeof(float) * n), *x2 = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        float *w = malloc(sizeof(float) * (size_t)j.c), *b = malloc(sizeof(float) * (size_t)j.c);
        srand(7);
        for (size_t k = 0; k < n; k++)
            x[k] = (float)rand() / (float)RAND_MAX * 8 - 4, x2[k] = (float)k / (float)n;
        for (int64_t k = 0; k < j.c; k++)
            w[k] = 1 + (float)k / (float)j.c, b[k] = (float)k / (float)j.c;
        j.x = x, j.x2 = x2, j.y = y, j.w = w, j.b = b;
        for (int k = 0; k < NKERNELS; k++) {
            double t, c, copy;
            gbps(k, &j, &t, &c, &copy);
            if (t > 0)
                printf("%s\t%lldx%lld\t%-15s tilec %6.1f GB/s\tC loop %6.1f GB/s (%.2fx)\tcopy %6.1f GB/s "
                       "(%.2fx)\n",
                       threads ? threads : "all", shapes[i][0], shapes[i][1], names[k], t, c, t / c, copy,
                       t / copy);
            else
                printf("%s\t%lldx%lld\t%-15s refused (C > the largest BC; use softmax_online)\n",
                       threads ? threads : "all", shapes[i][0], shapes[i][1], names[k]);
            fflush(stdout);
        }
        free(x), free(x2), free(y), free(w), free(b);
    }
    return 0;
}
