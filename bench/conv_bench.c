// bench/conv_bench.c — stdlib conv2d_nhwc (tilec) against oneDNN's convolution in the same
// process, on the super-resolution CNN's layers (PyTorch examples/super_resolution at 224x224)
// and ResNet-50-like layers. Both read NHWC activations and write NHWC outputs with a bias
// (layers named NCHW: NCHW activations, conv2d_nchw); oneDNN picks its own weight layout (the
// reorder is done once, outside the timing), tilec's weights are [KH][KW][C][K] (NCHW:
// [K][C][KH][KW]). Prints one line per layer: median ms, GFLOP/s, ratio (the median over pairs of
// runs, timed in alternation, of oneDNN time / tilec time: above 1 means tilec is faster). Threads:
// TILE_NUM_THREADS and OMP_NUM_THREADS.
//   conv_bench [--smoke]
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "conv2d.h"

#define CHECK(x)                                                                 \
    do {                                                                         \
        dnnl_status_t s_ = (x);                                                  \
        if (s_ != dnnl_success) {                                                \
            fprintf(stderr, "conv_bench: %s failed (status %d)\n", #x, (int)s_); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

typedef struct Layer {
    const char *name;
    int64_t c, h, w, k, ks, stride, pad;
    int nchw;  // NCHW activations and OIHW weights (conv2d_nchw), else NHWC and HWIO
} Layer;

static const Layer layers[] = {
    {"sr conv1 5x5 1->64", 1, 224, 224, 64, 5, 1, 2, 0},
    {"sr conv2 3x3 64->64", 64, 224, 224, 64, 3, 1, 1, 0},
    {"sr conv3 3x3 64->32", 64, 224, 224, 32, 3, 1, 1, 0},
    {"sr conv4 3x3 32->9", 32, 224, 224, 9, 3, 1, 1, 0},
    {"resnet 3x3 64->64 @56", 64, 56, 56, 64, 3, 1, 1, 0},
    {"resnet 1x1 256->64 @56", 256, 56, 56, 64, 1, 1, 0, 0},
    {"resnet 3x3/2 128->128 @56", 128, 56, 56, 128, 3, 2, 1, 0},
    {"sr conv2 NCHW", 64, 224, 224, 64, 3, 1, 1, 1},
    {"resnet 3x3 64->64 @56 NCHW", 64, 56, 56, 64, 3, 1, 1, 1},
};
static const Layer smoke[] = {{"smoke 3x3 8->16 @12", 8, 12, 12, 16, 3, 1, 1, 0},
                              {"smoke 1x1 16->8 @9", 16, 9, 9, 8, 1, 2, 0, 0},
                              {"smoke 3x3 8->16 @12 NCHW", 8, 12, 12, 16, 3, 1, 1, 1}};

static float *fill(int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    return p;
}

static void settle(void) {
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

typedef struct Ctx {
    const Layer *l;
    int64_t oh, ow;
    float *x, *wt, *bias, *y;
    dnnl_primitive_t conv;
    dnnl_stream_t stream;
    dnnl_memory_t src, wei, b, dst;
} Ctx;

static int run_tilec(void *p) {
    Ctx *c = p;
    const Layer *l = c->l;
    if (l->nchw)
        return conv2d_nchw(c->x, c->wt, c->bias, c->y, (int32_t)l->stride, (int32_t)l->stride,
                           (int32_t)l->pad, (int32_t)l->pad, 1, 1, 0, 1, l->c, l->h, l->w, l->k, l->c, l->ks,
                           l->ks, l->k, c->oh, c->ow);
    return conv2d_nhwc(c->x, c->wt, c->bias, c->y, (int32_t)l->stride, (int32_t)l->stride, (int32_t)l->pad,
                       (int32_t)l->pad, 1, 1, 0, 1, l->h, l->w, l->c, l->ks, l->ks, l->c, l->k, l->k, c->oh,
                       c->ow);
}

static int run_dnnl(void *p) {
    Ctx *c = p;
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_BIAS, c->b}, {DNNL_ARG_DST, c->dst}};
    dnnl_status_t s = dnnl_primitive_execute(c->conv, c->stream, 4, args);
    return s == dnnl_success ? (int)dnnl_stream_wait(c->stream) : (int)s;
}

// Times tilec and oneDNN in alternation, a warm-up of each first, so that both see the same
// machine (this VM's speed drifts by tens of percent within seconds): the medians of each and
// the median of the per-pair ratios (oneDNN time / tilec time). With more than one thread a pause
// precedes each call, since oneDNN's OpenMP threads spin for a while after their calls, and then
// an untimed call, since threads that slept through the pause take milliseconds to wake.
typedef struct Timing {
    double tilec, dnnl, ratio;
} Timing;

static Timing time_pairs(int reps, Ctx *c, int multi) {
    double tt[15], td[15], r[15];
    int (*run[2])(void *) = {run_tilec, run_dnnl};
    double *t[2] = {tt, td};
    for (int i = -1; i < reps; i++)
        for (int which = 0; which < 2; which++) {
            if (multi) {  // a pause for the other library's spinning threads, then a call that wakes ours
                settle();
                run[which](c);
            }
            double t0 = now();
            if (run[which](c) != 0) {
                fprintf(stderr, "conv_bench: a run failed\n");
                exit(1);
            }
            if (i >= 0)
                t[which][i] = now() - t0;
        }
    for (int i = 0; i < reps; i++)
        r[i] = td[i] / tt[i];
    return (Timing){median(tt, reps), median(td, reps), median(r, reps)};
}

int main(int argc, char **argv) {
    int is_smoke = argc > 1 && strcmp(argv[1], "--smoke") == 0;
    const Layer *ls = is_smoke ? smoke : layers;
    int n = (int)(is_smoke ? sizeof smoke / sizeof smoke[0] : sizeof layers / sizeof layers[0]);
    int reps = is_smoke ? 3 : 9;
    const char *omp = getenv("OMP_NUM_THREADS");
    int multi = !(omp && atoi(omp) == 1);
    dnnl_engine_t eng;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t stream;
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    for (int i = 0; i < n; i++) {
        const Layer *l = &ls[i];
        int wanted = argc <= 1 || is_smoke;  // conv_bench [--smoke | NAME-PART ...]
        for (int a = 1; a < argc && !wanted; a++)
            wanted = strstr(l->name, argv[a]) != NULL;
        if (!wanted)
            continue;
        Ctx c = {.l = l, .stream = stream};
        c.oh = (l->h + 2 * l->pad - l->ks) / l->stride + 1;
        c.ow = (l->w + 2 * l->pad - l->ks) / l->stride + 1;
        c.x = fill(l->h * l->w * l->c);
        c.wt = fill(l->ks * l->ks * l->c * l->k);  // [kh][kw][c][k] (hwio), or [k][c][kh][kw] (oihw)
        c.bias = fill(l->k);
        c.y = fill(c.oh * c.ow * l->k);
        float *yd = fill(c.oh * c.ow * l->k);

        dnnl_memory_desc_t src_md, dst_md, wei_user_md, wei_any_md, bias_md;
        dnnl_dims_t sd = {1, l->c, l->h, l->w}, dd = {1, l->k, c.oh, c.ow}, wd = {l->k, l->c, l->ks, l->ks},
                    bd = {l->k};
        dnnl_format_tag_t act_tag = l->nchw ? dnnl_nchw : dnnl_nhwc,
                          wei_tag = l->nchw ? dnnl_oihw : dnnl_hwio;
        CHECK(dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32, act_tag));
        CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, act_tag));
        CHECK(dnnl_memory_desc_init_by_tag(&wei_user_md, 4, wd, dnnl_f32, wei_tag));
        CHECK(dnnl_memory_desc_init_by_tag(&wei_any_md, 4, wd, dnnl_f32, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_convolution_desc_t cd;
        dnnl_dims_t strides = {l->stride, l->stride}, dil = {0, 0}, pad = {l->pad, l->pad};
        CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                         &src_md, &wei_any_md, &bias_md, &dst_md, strides,
                                                         dil, pad, pad));
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
        CHECK(dnnl_primitive_create(&c.conv, pd));
        const dnnl_memory_desc_t *wei_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        dnnl_memory_t wei_user;
        CHECK(dnnl_memory_create(&c.src, &src_md, eng, c.x));
        CHECK(dnnl_memory_create(&c.dst, &dst_md, eng, yd));
        CHECK(dnnl_memory_create(&c.b, &bias_md, eng, c.bias));
        CHECK(dnnl_memory_create(&wei_user, &wei_user_md, eng, c.wt));
        CHECK(dnnl_memory_create(&c.wei, wei_md, eng, DNNL_MEMORY_ALLOCATE));
        dnnl_primitive_desc_t rpd;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wei_user_md, eng, wei_md, eng, NULL));
        dnnl_primitive_t reorder;
        CHECK(dnnl_primitive_create(&reorder, rpd));
        dnnl_exec_arg_t rargs[] = {{DNNL_ARG_FROM, wei_user}, {DNNL_ARG_TO, c.wei}};
        CHECK(dnnl_primitive_execute(reorder, stream, 2, rargs));
        CHECK(dnnl_stream_wait(stream));

        settle();  // oneDNN's threads spin after the reorder above and the previous layer
        Timing tm = time_pairs(reps, &c, multi);
        double tt = tm.tilec, td = tm.dnnl;
        double err = 0;  // the two results agree
        for (int64_t j = 0; j < c.oh * c.ow * l->k; j++) {
            double e = fabs((double)c.y[j] - yd[j]) / (fabs(yd[j]) > 1 ? fabs(yd[j]) : 1);
            err = e > err ? e : err;
        }
        double flop = 2.0 * (double)(c.oh * c.ow * l->k * l->c * l->ks * l->ks);
        printf("%-28s tilec %8.3f ms %7.1f GFLOP/s | oneDNN %8.3f ms %7.1f GFLOP/s | ratio %.2f%s\n", l->name,
               tt * 1e3, flop / tt / 1e9, td * 1e3, flop / td / 1e9, tm.ratio,
               err > 1e-3 ? "  (RESULTS DIFFER)" : "");
        dnnl_primitive_destroy(reorder);
        dnnl_primitive_desc_destroy(rpd);
        dnnl_primitive_destroy(c.conv);
        dnnl_primitive_desc_destroy(pd);
        dnnl_memory_destroy(c.src), dnnl_memory_destroy(c.dst), dnnl_memory_destroy(c.b);
        dnnl_memory_destroy(c.wei), dnnl_memory_destroy(wei_user);
        free(c.x), free(c.wt), free(c.bias), free(c.y), free(yd);
        if (err > 1e-3)
            return 1;
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
