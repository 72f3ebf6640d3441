// tests/gpu/diff.c — every stdlib kernel that check.c does not test against its own C reference,
// run on the GPU against the same kernel's x86 build (tests/gpu/build.sh links both; the x86
// kernels are themselves checked against plain C references in CI) on the same random inputs at
// edge sizes: odd sizes, sizes that are not multiples of the tiles, batch 1, sequence lengths 1,
// 17 and 1000. The two builds' entries have the same arguments (NAME_launch takes the stream
// first), so each check writes its call once: BOTH(NAME, ...) runs it on the CPU with host
// pointers, then on the GPU with device pointers (P(buf) is the current side's pointer).
// Prints one line per check and exits 1 on a mismatch, 2 when no GPU is usable.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tilec_rt.h"

#include "cpu/activations.h"
#include "cpu/attention.h"
#include "cpu/conv2d.h"
#include "cpu/linear.h"
#include "cpu/norms.h"
#include "cpu/pool.h"
#include "cpu/reduce.h"
#include "cpu/softmax.h"
#include "cpu/transpose.h"

#include "activations.h"
#include "attention.h"
#include "conv2d.h"
#include "linear.h"
#include "norms.h"
#include "pool.h"
#include "reduce.h"
#include "softmax.h"
#include "transpose.h"

// A tensor on both sides: host data (the CPU's inputs and outputs) and its device copy.
typedef struct Buf {
    float *h;
    void *d;
    size_t n;
} Buf;

static int failures, side;  // side: 0 the CPU build, 1 the GPU build
static int st_cpu, st_gpu;
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static void fail_cuda(const char *what) {
    fprintf(stderr, "%s: %s\n", what, tilec_rt_cuda_error());
    exit(2);
}

// n random elements (an input) or zeros (an output), on both sides.
static Buf buf(int64_t n, bool random) {
    Buf b = {.n = (size_t)(n > 0 ? n : 1)};
    b.h = calloc(b.n, sizeof(float));
    for (size_t i = 0; random && i < b.n; i++)
        b.h[i] = frand();
    if (tilec_rt_cuda_malloc(&b.d, 4 * b.n) || tilec_rt_cuda_upload(b.d, b.h, 4 * b.n))
        fail_cuda("device buffer");
    return b;
}
#define IN(n) buf((n), true)
#define OUT(n) buf((n), false)
#define P(b) (side ? (b).d : (void *)(b).h)

static void release(Buf *b) {
    free(b->h);
    tilec_rt_cuda_free(b->d);
}

// The call on the CPU, then on the GPU (and a synchronization).
#define BOTH(name, ...)                            \
    do {                                           \
        side = 0;                                  \
        st_cpu = name(__VA_ARGS__);                \
        side = 1;                                  \
        st_gpu = name##_launch(NULL, __VA_ARGS__); \
        if (st_gpu == 0)                           \
            st_gpu = tilec_rt_cuda_synchronize();  \
    } while (0)

// The GPU's first n outputs against the CPU's (normwise relative error), after both returned 0.
static void compare_n(const char *what, const Buf *o, size_t n, double tol) {
    if (st_cpu || st_gpu) {
        failures++;
        printf("%-52s status cpu %d gpu %d (%s) MISMATCH\n", what, st_cpu, st_gpu,
               st_gpu ? tilec_rt_cuda_error() : "");
        return;
    }
    float *got = malloc(4 * n);
    if (tilec_rt_cuda_download(got, o->d, 4 * n))
        fail_cuda("download");
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - o->h[i];
        num += isfinite(d) ? d * d : (got[i] == o->h[i] ? 0 : INFINITY);
        den += isfinite(o->h[i]) ? (double)o->h[i] * o->h[i] : 0;
    }
    double err = den > 0 ? sqrt(num / den) : sqrt(num);
    bool ok = err <= tol;
    failures += !ok;
    printf("%-52s rel err %.2e %s\n", what, err, ok ? "ok" : "MISMATCH");
    free(got);
}
#define compare(what, o, tol) compare_n(what, o, (o)->n, tol)

static void diff_rows(int64_t R, int64_t C) {
    Buf x = IN(R * C), w = IN(C), b = IN(C), y = OUT(R * C), r = OUT(R);
    char what[96];
#define ROWS(name, tol, ...)                                                        \
    BOTH(name, __VA_ARGS__);                                                        \
    snprintf(what, sizeof what, "%s %lldx%lld", #name, (long long)R, (long long)C); \
    compare(what, &y, tol)
    ROWS(log_softmax, 1e-5, P(x), P(y), R, C);
    ROWS(log_softmax_online, 1e-5, P(x), P(y), R, C);
    ROWS(rmsnorm, 1e-5, P(x), P(w), P(b), P(y), 1e-5f, R, C, C);
    ROWS(layernorm_online, 1e-5, P(x), P(w), P(b), P(y), 1e-5f, R, C);
    ROWS(transpose, 0, P(x), P(y), 1, R, C);
    for (int act = 0; act <= 6; act++) {
        BOTH(activation, P(x), P(y), act, R * C);
        snprintf(what, sizeof what, "activation %d %lld", act, (long long)(R * C));
        compare(what, &y, 1e-6);
    }
    ROWS(clip, 0, P(x), P(y), -0.5f, 0.25f, R * C);
    ROWS(hardsigmoid, 1e-6, P(x), P(y), 0.2f, 0.5f, R * C);
#undef ROWS
#define RED(name, ...)                                                              \
    BOTH(name, __VA_ARGS__);                                                        \
    snprintf(what, sizeof what, "%s %lldx%lld", #name, (long long)R, (long long)C); \
    compare(what, &r, 1e-5)
    RED(sum_rows, P(x), P(r), R, C);
    RED(mean_rows, P(x), P(r), R, C);
    RED(max_rows, P(x), P(r), R, C);
    RED(sum_axis, P(x), P(r), 1, C, R);  // x as [1, C, R]: R sums of C elements
    RED(mean_axis, P(x), P(r), 1, C, R);
    RED(max_axis, P(x), P(r), 1, C, R);
#undef RED
    release(&x), release(&w), release(&b), release(&y), release(&r);
}

static void diff_linear(int64_t M, int64_t N, int64_t K) {
    Buf a = IN(M * K), b = IN(K * N), bias = IN(N), res = IN(M * N), c = OUT(M * N);
    char what[96];
    for (int act = 0; act <= 6; act += 3) {
        BOTH(linear, P(a), P(b), P(bias), P(c), act, M, K, N, N);
        snprintf(what, sizeof what, "linear act %d %lldx%lldx%lld", act, (long long)M, (long long)N,
                 (long long)K);
        compare(what, &c, 1e-5);
    }
    BOTH(linear, P(a), P(b), P(bias), P(c), 1, M, K, N, 0);  // no bias
    snprintf(what, sizeof what, "linear no bias %lldx%lldx%lld", (long long)M, (long long)N, (long long)K);
    compare(what, &c, 1e-5);
    BOTH(linear_residual, P(a), P(b), P(bias), P(res), P(c), 0.5f, 2.0f, 4, M, K, N, N);
    snprintf(what, sizeof what, "linear_residual %lldx%lldx%lld", (long long)M, (long long)N, (long long)K);
    compare(what, &c, 1e-5);
    release(&a), release(&b), release(&bias), release(&res), release(&c);
    // bmm: A [3, M, K] against B broadcast from one batch.
    Buf ba = IN(3 * M * K), bb = IN(K * N), bc = OUT(3 * M * N);
    BOTH(bmm, P(ba), P(bb), P(bc), 3, M, K, 1, N, 3);
    snprintf(what, sizeof what, "bmm 3x%lldx%lldx%lld, B broadcast", (long long)M, (long long)N,
             (long long)K);
    compare(what, &bc, 1e-5);
    release(&ba), release(&bb), release(&bc);
}

static void diff_attention(int64_t NB, int64_t NH, int64_t S, int64_t D, int64_t T) {
    Buf q = IN(NB * NH * S * D), k = IN(NB * NH * T * D), v = IN(NB * NH * T * D), o = OUT(NB * NH * S * D);
    Buf m = IN(S * T);
    char what[96];
    float scale = 1.0f / sqrtf((float)D);
    for (int causal = 0; causal <= 1; causal++) {
        BOTH(attention, P(q), P(k), P(v), P(o), scale, causal, NB, NH, S, D, T);
        snprintf(what, sizeof what, "attention%s %lldx%lldx%lldx%lld T %lld", causal ? " causal" : "",
                 (long long)NB, (long long)NH, (long long)S, (long long)D, (long long)T);
        compare(what, &o, 1e-4);
    }
    BOTH(attention_mask, P(q), P(k), P(v), P(m), P(o), scale, 0, NB, NH, S, D, T, 1, 1, S);
    snprintf(what, sizeof what, "attention_mask %lldx%lldx%lldx%lld T %lld", (long long)NB, (long long)NH,
             (long long)S, (long long)D, (long long)T);
    compare(what, &o, 1e-4);
    release(&q), release(&k), release(&v), release(&o), release(&m);
}

// One convolution layer: NB x C x H x W input, K filters of KH x KW over C / groups channels.
static void diff_conv(int64_t NB, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                      int64_t groups, int s, int p, int dl, int act) {
    int64_t CG = C / groups, OH = (H + 2 * p - dl * (KH - 1) - 1) / s + 1,
            OW = (W + 2 * p - dl * (KW - 1) - 1) / s + 1;
    Buf x = IN(NB * C * H * W), wt = IN(KH * KW * CG * K), bias = IN(K), y = OUT(NB * K * OH * OW);
    char what[96];
    snprintf(what, sizeof what, "conv2d_nhwc %lldx%lldx%lldx%lld->%lld %lldx%lld g%lld s%d p%d d%d",
             (long long)NB, (long long)H, (long long)W, (long long)C, (long long)K, (long long)KH,
             (long long)KW, (long long)groups, s, p, dl);
    BOTH(conv2d_nhwc, P(x), P(wt), P(bias), P(y), s, s, p, p, dl, dl, act, NB, H, W, C, KH, KW, CG, K, K, OH,
         OW);
    compare(what, &y, 1e-5);
    memcpy(what + 7, "nchw", 4);
    BOTH(conv2d_nchw, P(x), P(wt), P(bias), P(y), s, s, p, p, dl, dl, act, NB, C, H, W, K, CG, KH, KW, K, OH,
         OW);
    compare(what, &y, 1e-5);
    release(&x), release(&wt), release(&bias), release(&y);
}

static void diff_depthwise_pool(int64_t NB, int64_t C, int64_t H, int64_t W, int k, int s, int p) {
    int64_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1, n = NB * C * OH * OW;
    Buf x = IN(NB * C * H * W), wt = IN(k * k * C), bias = IN(C), y = OUT(NB * C * H * W * 4);
    char what[96];
#define CASE(name, tol, ...)                                                                              \
    BOTH(name, __VA_ARGS__);                                                                              \
    snprintf(what, sizeof what, "%s %lldx%lldx%lldx%lld k%d s%d p%d", #name, (long long)NB, (long long)C, \
             (long long)H, (long long)W, k, s, p);                                                        \
    compare_n(what, &y, (size_t)n, tol)
    CASE(conv2d_depthwise_nhwc, 1e-5, P(x), P(wt), P(bias), P(y), s, s, p, p, 1, 1, 1, NB, H, W, C, k, k, C,
         OH, OW);
    CASE(conv2d_depthwise_nchw, 1e-5, P(x), P(wt), P(bias), P(y), s, s, p, p, 1, 1, 1, NB, C, H, W, k, k, C,
         OH, OW);
    CASE(maxpool2d_nchw, 0, P(x), P(y), k, k, s, s, p, p, 1, 1, NB, C, H, W, OH, OW);
    CASE(maxpool2d_nhwc, 0, P(x), P(y), k, k, s, s, p, p, 1, 1, NB, H, W, C, OH, OW);
    CASE(avgpool2d_nchw, 1e-6, P(x), P(y), k, k, s, s, p, p, 0, NB, C, H, W, OH, OW);
    CASE(avgpool2d_nhwc, 1e-6, P(x), P(y), k, k, s, s, p, p, 1, NB, H, W, C, OH, OW);
    n = NB * C;
    CASE(global_avgpool_nchw, 1e-5, P(x), P(y), NB, C, H, W);
    CASE(global_avgpool_nhwc, 1e-5, P(x), P(y), NB, H, W, C);
    if (C % 4 == 0) {
        n = NB * C * H * W;
        CASE(pixel_shuffle, 0, P(x), P(y), NB, C, H, W, C / 4, 2 * H, 2 * W);
    }
#undef CASE
    release(&x), release(&wt), release(&bias), release(&y);
}

int main(void) {
    if (!tilec_rt_cuda_available()) {
        fprintf(stderr, "no GPU: %s\n", tilec_rt_cuda_error());
        return 2;
    }
    int64_t rows[][2] = {{1, 1}, {7, 17}, {17, 1000}, {64, 777}, {3, 4097}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        diff_rows(rows[i][0], rows[i][1]);
    int64_t mm[][3] = {{1, 1, 1},       {7, 17, 5},     {127, 129, 65},
                       {300, 200, 257}, {129, 136, 72}, {96, 264, 1000}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
        diff_linear(mm[i][0], mm[i][1], mm[i][2]);
    int64_t att[][5] = {{1, 1, 1, 64, 1},
                        {2, 3, 17, 64, 17},
                        {1, 2, 1000, 64, 1000},
                        {1, 1, 17, 128, 1000},
                        {1, 2, 129, 128, 129}};
    for (size_t i = 0; i < sizeof att / sizeof att[0]; i++)
        diff_attention(att[i][0], att[i][1], att[i][2], att[i][3], att[i][4]);
    // The GPU build's versions are those of powers of two: BK and BC follow the channels,
    // the few-channel window is 32 long (the x86 build takes 25 for 5x5x1, 27 for 3x3x3).
    diff_conv(1, 1, 20, 21, 64, 5, 5, 1, 1, 2, 1, 1);
    diff_conv(1, 3, 17, 19, 16, 3, 3, 1, 2, 1, 1, 2);
    diff_conv(1, 32, 15, 33, 9, 3, 3, 1, 1, 1, 1, 0);
    diff_conv(1, 12, 9, 40, 20, 3, 3, 1, 1, 1, 1, 4);
    diff_conv(1, 64, 13, 17, 64, 3, 3, 1, 1, 1, 1, 1);
    diff_conv(2, 35, 9, 30, 40, 3, 3, 1, 2, 1, 1, 0);
    diff_conv(1, 66, 11, 11, 66, 3, 3, 2, 1, 1, 1, 0);
    diff_conv(1, 48, 12, 12, 33, 5, 5, 1, 1, 2, 1, 0);
    diff_conv(1, 40, 15, 15, 48, 3, 3, 1, 1, 2, 2, 0);
    diff_conv(1, 256, 7, 7, 64, 1, 1, 1, 1, 0, 1, 0);
    diff_depthwise_pool(1, 3, 7, 9, 3, 1, 1);
    diff_depthwise_pool(2, 64, 17, 13, 3, 2, 1);
    diff_depthwise_pool(1, 32, 56, 56, 2, 2, 0);
    printf("%s\n", failures ? "MISMATCHES" : "all GPU-vs-x86 checks pass");
    return failures ? 1 : 0;
}
