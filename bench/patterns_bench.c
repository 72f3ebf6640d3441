// bench/patterns_bench.c — the kernels of bench/patterns.tile (accesses written with offsets
// and masks, as a user of the manual writes them) against the slice form of the same work
// (stdlib/vector_add.tile; block2d_slice), one thread, CPU time of this thread
// (CLOCK_THREAD_CPUTIME_ID: the grid runs on the calling thread with TILE_NUM_THREADS=1), the
// minimum over repetitions. Prints microseconds per call and the ratio to the slice form
// (time / slice time: 1.00 is as fast; the offsets and masked-slice forms aim at <= 1.25), and
// whether the outputs differ from the slice form's (they must not). Last, flash attention
// written with the manual's idioms (bench/flash_attention.tile) against stdlib's `attention`
// (both f32, 1 batch x 4 heads x S x 64, T = S, causal and not; the aim: <= 1.3x). Then
// matmul with strided operands (matmul_strided): B stored transposed, B a sub-matrix, A
// transposed, both, and B with both strides 2, against the same kernel with contiguous A and B
// (GFLOP/s and time / contiguous time; the aim for the transposed and sub-matrix layouts: a few
// percent, at most 1.25).
//   patterns_bench [N ...] [MxNxK ...]   vector lengths (default 65536 1000000); 2-D: 512 x
//                            N/512; attention S = N / 64 (at most 1024); matmul shapes (default
//                            1024x1024x1024 2048x2048x2048 128x4096x1024 1023x1023x1023)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "flash_attention.h"
#include "patterns.h"
#include "vector_add.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef int (*Add)(const float *, const float *, float *, int64_t);
typedef int (*Block)(const float *, float *, int64_t, int64_t);

// Seconds per call: the minimum over 15 rounds of enough calls for ~2 ms.
static double time_add(Add f, const float *x, const float *y, float *z, int64_t n) {
    int reps = (int)(2e6 / (double)(n + 1000)) + 1;
    double best = 1e30;
    for (int r = 0; r < 15; r++) {
        double t0 = cpu_now();
        for (int i = 0; i < reps; i++)
            if (f(x, y, z, n))
                return -1;
        double t = (cpu_now() - t0) / reps;
        best = t < best ? t : best;
    }
    return best;
}

static double time_block(Block f, const float *x, float *y, int64_t m, int64_t k) {
    int reps = (int)(2e6 / (double)(m * k + 1000)) + 1;
    double best = 1e30;
    for (int r = 0; r < 15; r++) {
        double t0 = cpu_now();
        for (int i = 0; i < reps; i++)
            if (f(x, y, m, k))
                return -1;
        double t = (cpu_now() - t0) / reps;
        best = t < best ? t : best;
    }
    return best;
}

typedef int (*Attn)(const float *, const float *, const float *, float *, float, int32_t, int64_t, int64_t,
                    int64_t, int64_t, int64_t);

// Seconds per call of an attention kernel: the minimum of 5 calls after a warm-up.
static double time_attn(Attn f, const float *q, const float *k, const float *v, float *o, int causal,
                        int64_t s) {
    double best = 1e30;
    for (int r = -1; r < 5; r++) {
        double t0 = cpu_now();
        if (f(q, k, v, o, 0.125f, causal, 1, 4, s, 64, s))
            return -1;
        double t = cpu_now() - t0;
        best = r >= 0 && t < best ? t : best;
    }
    return best;
}

typedef int (*Matmul)(const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t,
                      int64_t, int64_t);

// Seconds per call of matmul_strided with the given strides: the minimum of 3-5 calls after a
// warm-up (fewer for big shapes).
static double time_mm(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n,
                      const int64_t s[4]) {
    double best = 1e30;
    int reps = 2.0 * (double)m * (double)n * (double)k > 4e9 ? 3 : 5;
    for (int r = -1; r < reps; r++) {
        double t0 = cpu_now();
        if (matmul_strided(a, b, c, m, k, n, s[0], s[1], s[2], s[3]))
            return -1;
        double t = cpu_now() - t0;
        best = r >= 0 && t < best ? t : best;
    }
    return best;
}

// One matmul shape in every layout, against contiguous A and B.
static void bench_strided(int64_t m, int64_t n, int64_t k) {
    int64_t ld = n + 16;  // B as a sub-matrix of a wider matrix
    float *a = malloc(sizeof(float) * (size_t)(m * k)), *at = malloc(sizeof(float) * (size_t)(m * k));
    float *b = malloc(sizeof(float) * (size_t)(k * n)), *bt = malloc(sizeof(float) * (size_t)(k * n));
    float *bs = malloc(sizeof(float) * (size_t)(k * ld)), *b2 = malloc(sizeof(float) * (size_t)(4 * k * n));
    float *ref = malloc(sizeof(float) * (size_t)(m * n)), *c = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++)
            a[i * k + p] = at[p * m + i] = (float)((i * 7 + p * 3) % 17) * 0.125f - 1.0f;
    for (int64_t p = 0; p < k; p++)
        for (int64_t j = 0; j < n; j++) {
            float v = (float)((p * 5 + j * 11) % 13) * 0.25f - 1.5f;
            b[p * n + j] = bt[j * k + p] = bs[p * ld + j] = b2[p * 4 * n + 2 * j] = v;
        }
    static const struct {
        const char *name;
        int a, b;  // A: 0 contiguous, 1 transposed; B: 0 contiguous, 1 transposed, 2 sub-matrix, 3 strides 2
    } lay[] = {
        {"B transposed", 0, 1},       {"B sub-matrix (ld = N + 16)", 0, 2}, {"A transposed", 1, 0},
        {"A and B transposed", 1, 1}, {"B both strides 2 (general)", 0, 3},
    };
    const float *as[2] = {a, at}, *bsrc[4] = {b, bt, bs, b2};
    int64_t sa[2][2] = {{k, 1}, {1, m}}, sb[4][2] = {{n, 1}, {1, k}, {ld, 1}, {4 * n, 2}};
    double flop = 2.0 * (double)m * (double)n * (double)k;
    double base = time_mm(a, b, ref, m, k, n, (int64_t[]){k, 1, n, 1});
    printf("matmul contiguous A, B\t%lldx%lldx%lld\t%.1f GFLOP/s\t1.00\t\n", (long long)m, (long long)n,
           (long long)k, flop / base * 1e-9);
    for (size_t l = 0; l < sizeof lay / sizeof *lay; l++) {
        memset(c, 0, sizeof(float) * (size_t)(m * n));
        int64_t s[4] = {sa[lay[l].a][0], sa[lay[l].a][1], sb[lay[l].b][0], sb[lay[l].b][1]};
        double t = time_mm(as[lay[l].a], bsrc[lay[l].b], c, m, k, n, s);
        printf("matmul %s\t%lldx%lldx%lld\t%.1f GFLOP/s\t%.2f\t%s\n", lay[l].name, (long long)m, (long long)n,
               (long long)k, flop / t * 1e-9, t / base,
               memcmp(c, ref, sizeof(float) * (size_t)(m * n)) ? "DIFFERS" : "same");
    }
    free(a), free(at), free(b), free(bt), free(bs), free(b2), free(ref), free(c);
}

int main(int argc, char **argv) {
    int64_t sizes[16] = {65536, 1000000};
    int64_t shapes[16][3] = {{1024, 1024, 1024}, {2048, 2048, 2048}, {128, 4096, 1024}, {1023, 1023, 1023}};
    int ns = 2, nm = 4;
    if (argc > 1) {
        ns = nm = 0;
        for (int i = 1; i < argc; i++) {
            long long x, y, z;
            if (sscanf(argv[i], "%lldx%lldx%lld", &x, &y, &z) == 3 && nm < 16)
                shapes[nm][0] = x, shapes[nm][1] = y, shapes[nm++][2] = z;
            else if (!strchr(argv[i], 'x') && ns < 16)
                sizes[ns++] = atoll(argv[i]);
        }
    }
    printf("pattern\tN\tus/call\tvs slice\toutput\n");
    for (int s = 0; s < ns; s++) {
        int64_t n = sizes[s];
        float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
        float *ref = malloc(sizeof(float) * (size_t)n), *z = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(i % 1000) * 0.25f, y[i] = (float)(i % 37) - 3.0f;
        double base = time_add(vector_add, x, y, ref, n);
        printf("slice (stdlib vector_add)\t%lld\t%.2f\t1.00\t\n", (long long)n, base * 1e6);
        static const struct {
            const char *name;
            Add f;
            bool same;  // computes what the slice form does
        } adds[] = {
            {"offsets + mask", add_offs_mask, true},
            {"offsets", add_offs, true},
            {"masked slice", add_masked_slice, true},
            {"mask not a bound (striped)", add_striped, false},
        };
        for (size_t k = 0; k < sizeof adds / sizeof *adds; k++) {
            memset(z, 0, sizeof(float) * (size_t)n);
            double t = time_add(adds[k].f, x, y, z, n);
            printf("%s\t%lld\t%.2f\t%.2f\t%s\n", adds[k].name, (long long)n, t * 1e6, t / base,
                   !adds[k].same                               ? "-"
                   : memcmp(z, ref, sizeof(float) * (size_t)n) ? "DIFFERS"
                                                               : "same");
        }
        int64_t m = 512, kk = n / 512 > 0 ? n / 512 : 1;
        double b2 = time_block(block2d_slice, x, ref, m, kk);
        memset(z, 0, sizeof(float) * (size_t)n);
        double t2 = time_block(block2d_offs, x, z, m, kk);
        printf("2-D slice %lldx%lld\t%lld\t%.2f\t1.00\t\n", (long long)m, (long long)kk, (long long)(m * kk),
               b2 * 1e6);
        printf("2-D offsets + mask\t%lld\t%.2f\t%.2f\t%s\n", (long long)(m * kk), t2 * 1e6, t2 / b2,
               memcmp(z, ref, sizeof(float) * (size_t)(m * kk)) ? "DIFFERS" : "same");
        free(x), free(y), free(ref), free(z);
    }
    for (int s = 0; s < ns; s++) {
        int64_t len = sizes[s] / 64 > 1024 ? 1024 : sizes[s] / 64 > 1 ? sizes[s] / 64 : 1;
        size_t n = (size_t)(4 * len * 64);
        float *q = malloc(4 * n), *k = malloc(4 * n), *v = malloc(4 * n), *o1 = malloc(4 * n),
              *o2 = malloc(4 * n);
        for (size_t i = 0; i < n; i++)
            q[i] = (float)(i % 17) * 0.01f, k[i] = (float)(i % 13) * 0.01f, v[i] = (float)(i % 11) * 0.1f;
        for (int causal = 0; causal < 2; causal++) {
            double base = time_attn(attention, q, k, v, o1, causal, len);
            double t = time_attn(flash, q, k, v, o2, causal, len);
            double diff = 0;
            for (size_t i = 0; i < n; i++)
                diff = fabs((double)o1[i] - o2[i]) > diff ? fabs((double)o1[i] - o2[i]) : diff;
            printf("attention (stdlib)%s\t1x4x%lldx64\t%.2f\t1.00\t\n", causal ? " causal" : "",
                   (long long)len, base * 1e6);
            printf("flash, manual idioms%s\t1x4x%lldx64\t%.2f\t%.2f\t%s\n", causal ? " causal" : "",
                   (long long)len, t * 1e6, t / base, diff <= 1e-4 ? "same" : "DIFFERS");
        }
        free(q), free(k), free(v), free(o1), free(o2);
    }
    printf("\nmatmul f32 (bench/patterns.tile matmul_strided) by operand layout, vs contiguous A and B; min "
           "CPU time\n");
    printf("layout\tMxNxK\tspeed\tvs contiguous\toutput\n");
    for (int s = 0; s < nm; s++)
        bench_strided(shapes[s][0], shapes[s][1], shapes[s][2]);
    return 0;
}
