// bench/matmul_bf16_bench.c — stdlib matmul_bf16 (bf16 A and B, f32 C; vdpbf16ps where the CPU
// has AVX512-BF16) against stdlib matmul on the same values in f32, and against oneDNN's bf16
// matmul (bf16 source and weights in oneDNN's own weight layout, reordered once outside the
// timing; f32 destination), in one process on the same data. Prints GFLOP/s, the bf16/f32
// throughput ratio and oneDNN time / tilec time (above 1: tilec is faster), each the median of
// runs after a warm-up. Threads: TILE_NUM_THREADS and OMP_NUM_THREADS.
//   matmul_bf16_bench [--smoke] [MxNxK ...]
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "matmul.h"

#define CHECK(x)                                                                        \
    do {                                                                                \
        dnnl_status_t s_ = (x);                                                         \
        if (s_ != dnnl_success) {                                                       \
            fprintf(stderr, "matmul_bf16_bench: %s failed (status %d)\n", #x, (int)s_); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static uint16_t to_bf16(float f) {  // round to nearest even
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

typedef struct Run {
    int64_t m, n, k;
    const float *a, *b;
    const uint16_t *ah, *bh;
    float *c;
    dnnl_primitive_t mm;
    dnnl_stream_t stream;
    dnnl_memory_t src, wei, dst;
} Run;

enum { F32, BF16, ONEDNN };

static double time_it(int which, Run *r, int reps) {
    double t[9];
    for (int i = -1; i < reps; i++) {
        double t0 = now();
        int st = 0;
        if (which == F32)
            st = matmul(r->a, r->b, r->c, r->m, r->k, r->n);
        else if (which == BF16)
            st = matmul_bf16(r->ah, r->bh, r->c, r->m, r->k, r->n);
        else {
            dnnl_exec_arg_t args[] = {
                {DNNL_ARG_SRC, r->src}, {DNNL_ARG_WEIGHTS, r->wei}, {DNNL_ARG_DST, r->dst}};
            CHECK(dnnl_primitive_execute(r->mm, r->stream, 3, args));
            CHECK(dnnl_stream_wait(r->stream));
        }
        if (st) {
            fprintf(stderr, "matmul_bf16_bench: status %d\n", st);
            exit(1);
        }
        if (i >= 0)
            t[i] = now() - t0;
    }
    return median(t, reps);
}

int main(int argc, char **argv) {
    int64_t shapes[16][3] = {{1024, 1024, 1024}, {2048, 2048, 2048}, {128, 4096, 1024}, {1023, 1023, 1023}};
    int ns = 4;
    for (int i = 1; i < argc; i++) {
        long long m, n, k;
        if (strcmp(argv[i], "--smoke") == 0) {
            shapes[0][0] = 64, shapes[0][1] = 48, shapes[0][2] = 33;
            ns = 1;
        } else if (sscanf(argv[i], "%lldx%lldx%lld", &m, &n, &k) == 3) {
            if (ns == 4 && i == 1)
                ns = 0;
            if (ns < 16)
                shapes[ns][0] = m, shapes[ns][1] = n, shapes[ns][2] = k, ns++;
        }
    }
    dnnl_engine_t eng;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t stream;
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    const char *threads = getenv("TILE_NUM_THREADS");
    for (int s = 0; s < ns; s++) {
        Run r = {.m = shapes[s][0], .n = shapes[s][1], .k = shapes[s][2], .stream = stream};
        float *a = malloc(sizeof(float) * (size_t)(r.m * r.k)),
              *b = malloc(sizeof(float) * (size_t)(r.k * r.n));
        uint16_t *ah = malloc(2 * (size_t)(r.m * r.k)), *bh = malloc(2 * (size_t)(r.k * r.n));
        float *c = malloc(sizeof(float) * (size_t)(r.m * r.n)),
              *ref = malloc(sizeof(float) * (size_t)(r.m * r.n));
        float *dc = malloc(sizeof(float) * (size_t)(r.m * r.n));
        srand(7);
        for (int64_t i = 0; i < r.m * r.k; i++)
            ah[i] = to_bf16((float)rand() / (float)RAND_MAX - 0.5f), a[i] = from_bf16(ah[i]);
        for (int64_t i = 0; i < r.k * r.n; i++)
            bh[i] = to_bf16((float)rand() / (float)RAND_MAX - 0.5f), b[i] = from_bf16(bh[i]);
        r.a = a, r.b = b, r.ah = ah, r.bh = bh;

        dnnl_memory_desc_t src_md, wei_user_md, wei_any_md, dst_md;
        dnnl_dims_t sd = {r.m, r.k}, wd = {r.k, r.n}, dd = {r.m, r.n};
        CHECK(dnnl_memory_desc_init_by_tag(&src_md, 2, sd, dnnl_bf16, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wei_user_md, 2, wd, dnnl_bf16, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wei_any_md, 2, wd, dnnl_bf16, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 2, dd, dnnl_f32, dnnl_ab));
        dnnl_matmul_desc_t md;
        CHECK(dnnl_matmul_desc_init(&md, &src_md, &wei_any_md, NULL, &dst_md));
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
        const char *impl = "?";
        CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        CHECK(dnnl_primitive_create(&r.mm, pd));
        const dnnl_memory_desc_t *wei_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        dnnl_memory_t wei_user;
        CHECK(dnnl_memory_create(&r.src, &src_md, eng, ah));
        CHECK(dnnl_memory_create(&r.dst, &dst_md, eng, dc));
        CHECK(dnnl_memory_create(&wei_user, &wei_user_md, eng, bh));
        CHECK(dnnl_memory_create(&r.wei, wei_md, eng, DNNL_MEMORY_ALLOCATE));
        dnnl_primitive_desc_t rpd;
        dnnl_primitive_t reorder;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wei_user_md, eng, wei_md, eng, NULL));
        CHECK(dnnl_primitive_create(&reorder, rpd));
        dnnl_exec_arg_t rargs[] = {{DNNL_ARG_FROM, wei_user}, {DNNL_ARG_TO, r.wei}};
        CHECK(dnnl_primitive_execute(reorder, stream, 2, rargs));
        CHECK(dnnl_stream_wait(stream));

        double flop = 2.0 * (double)r.m * (double)r.n * (double)r.k;
        int reps = flop > 2e10 ? 3 : flop < 1e8 ? 9 : 5;
        r.c = ref;
        double tf = time_it(F32, &r, reps);
        r.c = c;
        double tb = time_it(BF16, &r, reps);
        double td = time_it(ONEDNN, &r, reps);
        double err = 0;  // the bf16 product against the f32 one and oneDNN's
        for (int64_t i = 0; i < r.m * r.n; i++) {
            double d = fmax(fabs(c[i] - ref[i]), fabs(c[i] - dc[i])) / (fabs(ref[i]) > 1 ? fabs(ref[i]) : 1);
            err = d > err ? d : err;
        }
        printf(
            "%s\t%lldx%lldx%lld\tf32 %.1f GFLOP/s\tbf16 %.1f GFLOP/s (%.2fx f32)\tonednn bf16 %.1f GFLOP/s "
            "(%s; ratio %.3f)\tmax rel diff %.1e\n",
            threads ? threads : "all", (long long)r.m, (long long)r.n, (long long)r.k, flop / tf * 1e-9,
            flop / tb * 1e-9, tf / tb, flop / td * 1e-9, impl, td / tb, err);
        fflush(stdout);
        dnnl_primitive_destroy(reorder), dnnl_primitive_desc_destroy(rpd), dnnl_memory_destroy(wei_user);
        dnnl_memory_destroy(r.src), dnnl_memory_destroy(r.wei), dnnl_memory_destroy(r.dst);
        dnnl_primitive_destroy(r.mm), dnnl_primitive_desc_destroy(pd);
        free(a), free(b), free(ah), free(bh), free(c), free(ref), free(dc);
    }
    dnnl_stream_destroy(stream), dnnl_engine_destroy(eng);
    return 0;
}
