// Differential driver: stdlib/reduce.tile, stdlib/pool.tile and stdlib/transpose.tile against
// plain C at edge sizes: odd channel counts, spatial sizes not multiples of any tile, batch 1,
// strided, padded and dilated windows, count_include_pad both ways, axes of length 1.
#include "harness.h"
#include "pool.h"
#include "reduce.h"
#include "transpose.h"

static void run_reduce(int64_t a, int64_t r, int64_t b) {
    float *x = rand_buf(a * r * b, 4), *y = alloc_guarded(a * b), *yr = alloc_guarded(a * r);
    double *want = want_buf(a * b), *want_r = want_buf(a * r);
    for (int op = 0; op < 3; op++) {  // sum, mean, max
        for (int64_t i = 0; i < a; i++)
            for (int64_t j = 0; j < b; j++) {
                double s = op == 2 ? -INFINITY : 0;
                for (int64_t k = 0; k < r; k++)
                    s = op == 2 ? fmax(s, x[(i * r + k) * b + j]) : s + x[(i * r + k) * b + j];
                want[i * b + j] = op == 1 ? s / (double)r : s;
            }
        // The _rows kernels on the same data viewed as [A*R, B].
        for (int64_t i = 0; i < a * r; i++) {
            double s = op == 2 ? -INFINITY : 0;
            for (int64_t j = 0; j < b; j++)
                s = op == 2 ? fmax(s, x[i * b + j]) : s + x[i * b + j];
            want_r[i] = op == 1 ? s / (double)b : s;
        }
        int st = op == 0   ? sum_axis(x, y, a, r, b)
                 : op == 1 ? mean_axis(x, y, a, r, b)
                           : max_axis(x, y, a, r, b);
        int st_r = op == 0   ? sum_rows(x, yr, a * r, b)
                   : op == 1 ? mean_rows(x, yr, a * r, b)
                             : max_rows(x, yr, a * r, b);
        char what[100];
        snprintf(what, sizeof what, "reduce op %d over [%lld, %lld, %lld]", op, (long long)a, (long long)r,
                 (long long)b);
        EXPECT(st == 0 && st_r == 0, "%s: status %d, %d", what, st, st_r);
        fails += check_close(y, want, a * b, 1e-5, what) + check_guard(y, a * b, what);
        fails += check_close(yr, want_r, a * r, 1e-5, what) + check_guard(yr, a * r, what);
    }
    free(x), free(y), free(yr), free(want), free(want_r);
}

// max_rows (and max_axis) of rows holding a NaN give NaN (the maximum propagates NaNs; the row
// maxima track them apart from the max, backends/x86/rowsums.c), rows without one their maximum:
// a NaN in the first, a middle and the last (partial) piece of rows of every block's width.
static void run_max_nan(int64_t r, int64_t b) {
    float *x = rand_buf(r * b, 4), *y = alloc_guarded(r), *ya = alloc_guarded(b);
    for (int64_t i = 0; i < r; i += 2)
        x[i * b + (i / 2 * 37 + (i % 4 ? b - 1 : 0)) % b] = NAN;
    EXPECT(max_rows(x, y, r, b) == 0 && max_axis(x, ya, 1, r, b) == 0, "max with NaN [%lld, %lld]: status",
           (long long)r, (long long)b);
    for (int64_t i = 0; i < r; i++) {
        float want = -INFINITY;
        int nan = 0;
        for (int64_t j = 0; j < b; j++)
            nan |= isnan(x[i * b + j]), want = fmaxf(want, x[i * b + j]);
        EXPECT(nan ? isnan(y[i]) : y[i] == want, "max_rows [%lld, %lld] row %lld: %g, want %s", (long long)r,
               (long long)b, (long long)i, y[i], nan ? "NaN" : "its maximum");
    }
    for (int64_t j = 0; j < b; j++) {
        int nan = 0;
        for (int64_t i = 0; i < r; i++)
            nan |= isnan(x[i * b + j]);
        EXPECT(!nan || isnan(ya[j]), "max_axis [1, %lld, %lld] column %lld: %g, want NaN", (long long)r,
               (long long)b, (long long)j, ya[j]);
    }
    fails += check_guard(y, r, "max_rows NaN") + check_guard(ya, b, "max_axis NaN");
    free(x), free(y), free(ya);
}

typedef struct Pool {
    int64_t n, c, h, w, oh, ow;
    int kh, kw, sh, sw, ph, pw, dh, dw, include_pad;
} Pool;

static void run_pool(Pool p) {
    int64_t nx = p.n * p.c * p.h * p.w, ny = p.n * p.c * p.oh * p.ow;
    float *x = rand_buf(nx, 4), *xt = alloc_guarded(nx), *y = alloc_guarded(ny), *yt = alloc_guarded(ny);
    double *want = want_buf(ny);
    for (int64_t n = 0; n < p.n; n++)  // NHWC copy
        for (int64_t c = 0; c < p.c; c++)
            for (int64_t i = 0; i < p.h * p.w; i++)
                xt[(n * p.h * p.w + i) * p.c + c] = x[(n * p.c + c) * p.h * p.w + i];
    for (int avg = 0; avg < 2; avg++) {
        for (int64_t nc = 0; nc < p.n * p.c; nc++)
            for (int64_t oh = 0; oh < p.oh; oh++)
                for (int64_t ow = 0; ow < p.ow; ow++) {
                    double s = avg ? 0 : -INFINITY;
                    int cnt = 0;
                    for (int i = 0; i < p.kh; i++)
                        for (int j = 0; j < p.kw; j++) {
                            int dh = avg ? 1 : p.dh, dw = avg ? 1 : p.dw;
                            int64_t ih = oh * p.sh - p.ph + i * dh, iw = ow * p.sw - p.pw + j * dw;
                            if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w)
                                continue;
                            double v = x[(nc * p.h + ih) * p.w + iw];
                            s = avg ? s + v : fmax(s, v);
                            cnt++;
                        }
                    want[(nc * p.oh + oh) * p.ow + ow] = avg ? s / (p.include_pad ? p.kh * p.kw : cnt) : s;
                }
        char what[160];
        snprintf(what, sizeof what,
                 "%spool N=%lld C=%lld %lldx%lld -> %lldx%lld k%dx%d s%d,%d p%d,%d d%d,%d pad%d",
                 avg ? "avg" : "max", (long long)p.n, (long long)p.c, (long long)p.h, (long long)p.w,
                 (long long)p.oh, (long long)p.ow, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw,
                 p.include_pad);
        if (avg) {
            CALL(avgpool2d_nchw(x, y, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.include_pad, p.n, p.c, p.h, p.w,
                                p.oh, p.ow));
            CALL(avgpool2d_nhwc(xt, yt, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.include_pad, p.n, p.h, p.w, p.c,
                                p.oh, p.ow));
        } else {
            CALL(maxpool2d_nchw(x, y, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.n, p.c, p.h, p.w,
                                p.oh, p.ow));
            CALL(maxpool2d_nhwc(xt, yt, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.n, p.h, p.w, p.c,
                                p.oh, p.ow));
        }
        fails += check_close(y, want, ny, 1e-5, what) + check_guard(y, ny, what);
        for (int64_t n = 0; n < p.n; n++)  // back to NCHW
            for (int64_t c = 0; c < p.c; c++)
                for (int64_t i = 0; i < p.oh * p.ow; i++)
                    y[(n * p.c + c) * p.oh * p.ow + i] = yt[(n * p.oh * p.ow + i) * p.c + c];
        fails += check_close(y, want, ny, 1e-5, what) + check_guard(yt, ny, what);
    }
    // Global average pooling, both layouts.
    float *g = alloc_guarded(p.n * p.c);
    double *gw = want_buf(p.n * p.c);
    for (int64_t nc = 0; nc < p.n * p.c; nc++) {
        double s = 0;
        for (int64_t i = 0; i < p.h * p.w; i++)
            s += x[nc * p.h * p.w + i];
        gw[nc] = s / (double)(p.h * p.w);
    }
    CALL(global_avgpool_nchw(x, g, p.n, p.c, p.h, p.w));
    fails += check_close(g, gw, p.n * p.c, 1e-5, "global_avgpool_nchw") + check_guard(g, p.n * p.c, "gap");
    CALL(global_avgpool_nhwc(xt, g, p.n, p.h, p.w, p.c));
    fails += check_close(g, gw, p.n * p.c, 1e-5, "global_avgpool_nhwc") + check_guard(g, p.n * p.c, "gap");
    free(x), free(xt), free(y), free(yt), free(want), free(g), free(gw);
}

static void run_transpose(int64_t b, int64_t m, int64_t n) {
    float *x = rand_buf(b * m * n, 1), *y = alloc_guarded(b * m * n);
    double *want = want_buf(b * m * n);
    for (int64_t k = 0; k < b; k++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                want[(k * n + j) * m + i] = x[(k * m + i) * n + j];
    CALL(transpose(x, y, b, m, n));
    fails += check_close(y, want, b * m * n, 0, "transpose") + check_guard(y, b * m * n, "transpose");
    free(x), free(y), free(want);
}

int main(void) {
    run_reduce(1, 1, 1);
    run_reduce(3, 17, 7);
    run_reduce(2, 1000, 1);
    run_reduce(1, 7, 1300);
    // Rows read in place by row pieces (blocks of 8 rows, the last block and each row's last
    // piece partial): shorter than a block, one column past it, past the widest block.
    run_reduce(1, 13, 100);
    run_reduce(1, 9, 513);
    run_reduce(2, 5, 1030);
    // Rows for each block width of the _rows kernels (128, 256, 512, 1024 columns) and its edges.
    int64_t cols[] = {63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 2100};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        run_reduce(1, 19, cols[i]);
        run_max_nan(19, cols[i]);
    }
    run_max_nan(3, 1);
    //            n  c   h   w  oh ow kh kw sh sw ph pw dh dw pad
    run_pool((Pool){1, 3, 7, 9, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 0});
    run_pool((Pool){2, 17, 13, 11, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1});   // ceil_mode-like: one more column
    run_pool((Pool){1, 5, 20, 21, 10, 10, 2, 2, 2, 2, 0, 0, 2, 1, 0});  // dilated max
    run_pool((Pool){1, 70, 5, 6, 1, 1, 5, 6, 1, 1, 0, 0, 1, 1, 0});     // whole image
    run_pool((Pool){1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1});
    run_transpose(1, 1, 1);
    run_transpose(2, 17, 33);
    run_transpose(3, 100, 7);
    run_transpose(1, 130, 129);
    printf("pool: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
