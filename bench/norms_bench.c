// bench/norms_bench.c — stdlib softmax, softmax_online and layernorm (compiled by tilec) against
// a plain C loop doing the same work and against copy bandwidth (memcpy of the same bytes: one
// read of X, one write of Y), all spread over the same threads by tilec's runtime
// (TILE_NUM_THREADS). Prints GB/s (bytes read + written per second) and the ratios.
//   norms_bench [RxC ...]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "layernorm.h"
#include "softmax.h"
#include "tilec_rt.h"

typedef struct Job {
    const float *x, *w, *b;
    float *y;
    int64_t r, c;
    int64_t rows_per_task;
} Job;

// The plain C versions, one task per block of rows.
static void c_softmax(void *ctx, int64_t t) {
    const Job *j = ctx;
    for (int64_t i = t * j->rows_per_task; i < (t + 1) * j->rows_per_task && i < j->r; i++) {
        const float *x = j->x + i * j->c;
        float *y = j->y + i * j->c;
        float m = -INFINITY, s = 0;
        for (int64_t k = 0; k < j->c; k++)
            m = fmaxf(m, x[k]);
        for (int64_t k = 0; k < j->c; k++)
            s += (y[k] = expf(x[k] - m));
        for (int64_t k = 0; k < j->c; k++)
            y[k] /= s;
    }
}

static void c_layernorm(void *ctx, int64_t t) {
    const Job *j = ctx;
    for (int64_t i = t * j->rows_per_task; i < (t + 1) * j->rows_per_task && i < j->r; i++) {
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

static void c_copy(void *ctx, int64_t t) {
    const Job *j = ctx;
    int64_t lo = t * j->rows_per_task, hi = lo + j->rows_per_task < j->r ? lo + j->rows_per_task : j->r;
    if (hi > lo)
        memcpy(j->y + lo * j->c, j->x + lo * j->c, sizeof(float) * (size_t)((hi - lo) * j->c));
}

enum { TILEC_SOFTMAX, TILEC_SOFTMAX_ONLINE, TILEC_LAYERNORM, C_SOFTMAX, C_LAYERNORM, COPY };

static double run_once(int which, Job *j) {
    int64_t tasks = (j->r + j->rows_per_task - 1) / j->rows_per_task;
    double t0 = now();
    int st = 0;
    switch (which) {
    case TILEC_SOFTMAX: st = softmax(j->x, j->y, j->r, j->c); break;
    case TILEC_SOFTMAX_ONLINE: st = softmax_online(j->x, j->y, j->r, j->c); break;
    case TILEC_LAYERNORM: st = layernorm(j->x, j->w, j->b, j->y, 1e-5f, j->r, j->c); break;
    case C_SOFTMAX: tilec_rt_parallel_for(tasks, c_softmax, j); break;
    case C_LAYERNORM: tilec_rt_parallel_for(tasks, c_layernorm, j); break;
    case COPY: tilec_rt_parallel_for(tasks, c_copy, j); break;
    }
    double t = now() - t0;
    return st == 0 ? t : -1;
}

// GB/s of the median of 7 runs after a warm-up (0 if the kernel refused the shape).
static double gbps(int which, Job *j) {
    double t[7];
    for (int r = -1; r < 7; r++) {
        double s = run_once(which, j);
        if (s < 0)
            return 0;
        if (r >= 0)
            t[r] = s;
    }
    return 2.0 * (double)(j->r * j->c) * sizeof(float) / median(t, 7) * 1e-9;
}

int main(int argc, char **argv) {
    long long shapes[16][2] = {{16384, 1024}, {4096, 1000}, {65536, 256}, {2048, 4096}};
    int ns = 4;
    if (argc > 1)
        ns = 0;
    for (int i = 1; i < argc && ns < 16; i++)
        if (sscanf(argv[i], "%lldx%lld", &shapes[ns][0], &shapes[ns][1]) == 2)
            ns++;
    const char *threads = getenv("TILE_NUM_THREADS");
    for (int i = 0; i < ns; i++) {
        Job j = {.r = shapes[i][0], .c = shapes[i][1]};
        j.rows_per_task = 64;
        float *x = malloc(sizeof(float) * (size_t)(j.r * j.c)),
              *y = malloc(sizeof(float) * (size_t)(j.r * j.c));
        float *w = malloc(sizeof(float) * (size_t)j.c), *b = malloc(sizeof(float) * (size_t)j.c);
        srand(7);
        for (int64_t k = 0; k < j.r * j.c; k++)
            x[k] = (float)rand() / (float)RAND_MAX * 8 - 4;
        for (int64_t k = 0; k < j.c; k++)
            w[k] = 1 + (float)k / (float)j.c, b[k] = (float)k / (float)j.c;
        j.x = x, j.y = y, j.w = w, j.b = b;
        double copy = gbps(COPY, &j);
        double sm = gbps(TILEC_SOFTMAX, &j), smo = gbps(TILEC_SOFTMAX_ONLINE, &j), csm = gbps(C_SOFTMAX, &j);
        double ln = gbps(TILEC_LAYERNORM, &j), cln = gbps(C_LAYERNORM, &j);
        char a[64], b2[64], c2[64];
        if (sm > 0)
            snprintf(a, sizeof a, "%.1f (%.2fx C loop %.1f, %.2f of copy)", sm, sm / csm, csm, sm / copy);
        else
            snprintf(a, sizeof a, "refused (C > BC: use softmax_online or -D BC)");
        snprintf(b2, sizeof b2, "%.1f (%.2f of copy)", smo, smo / copy);
        if (ln > 0)
            snprintf(c2, sizeof c2, "%.1f (%.2fx C loop %.1f, %.2f of copy)", ln, ln / cln, cln, ln / copy);
        else
            snprintf(c2, sizeof c2, "refused (C > BC)");
        printf("%s\t%lldx%lld\tcopy %.1f GB/s\tsoftmax %s\tsoftmax_online %s\tlayernorm %s\n",
               threads ? threads : "all", shapes[i][0], shapes[i][1], copy, a, b2, c2);
        fflush(stdout);
        free(x), free(y), free(w), free(b);
    }
    return 0;
}
