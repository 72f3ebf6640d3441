// Differential driver: stdlib/conv2d.tile against plain C convolutions at edge sizes: odd channel
// counts, spatial sizes that are not multiples of any tile, batch 1 and 2, strides, asymmetric
// padding, dilation, groups and depthwise, 1x1 to 5x5 filters, bias and activations; and pixel
// shuffle.
#include "conv2d.h"
#include "harness.h"

typedef struct Conv {
    int64_t n, c, h, w, k, kh, kw, groups, oh, ow;
    int sh, sw, ph, pw, dh, dw, act, bias;
} Conv;

// The output size for bottom/right padding pb, pr (asymmetric when they differ from ph, pw).
static void out_size(Conv *p, int pb, int pr) {
    p->oh = (p->h + p->ph + pb - p->dh * (p->kh - 1) - 1) / p->sh + 1;
    p->ow = (p->w + p->pw + pr - p->dw * (p->kw - 1) - 1) / p->sw + 1;
}

// x as NHWC (nhwc) or NCHW; weights as [kh][kw][cg][k] (nhwc) or [k][cg][kh][kw].
static void ref_conv(const Conv *p, int nhwc, const float *x, const float *wt, const float *bias, double *y) {
    int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t k = 0; k < p->k; k++)
            for (int64_t oh = 0; oh < p->oh; oh++)
                for (int64_t ow = 0; ow < p->ow; ow++) {
                    double s = bias ? bias[k] : 0;
                    int64_t g = k / kg;
                    for (int64_t i = 0; i < p->kh; i++)
                        for (int64_t j = 0; j < p->kw; j++) {
                            int64_t ih = oh * p->sh - p->ph + i * p->dh, iw = ow * p->sw - p->pw + j * p->dw;
                            if (ih < 0 || ih >= p->h || iw < 0 || iw >= p->w)
                                continue;
                            for (int64_t c = 0; c < cg; c++) {
                                int64_t ci = g * cg + c;
                                double xv = nhwc ? x[((n * p->h + ih) * p->w + iw) * p->c + ci]
                                                 : x[((n * p->c + ci) * p->h + ih) * p->w + iw];
                                double wv = nhwc ? wt[((i * p->kw + j) * cg + c) * p->k + k]
                                                 : wt[((k * cg + c) * p->kh + i) * p->kw + j];
                                s += xv * wv;
                            }
                        }
                    s = ref_act(s, p->act);
                    y[nhwc ? ((n * p->oh + oh) * p->ow + ow) * p->k + k
                           : ((n * p->k + k) * p->oh + oh) * p->ow + ow] = s;
                }
}

static void run_conv(Conv p, int pb, int pr) {
    out_size(&p, pb, pr);
    int64_t cg = p.c / p.groups, nx = p.n * p.c * p.h * p.w, nw = p.kh * p.kw * cg * p.k,
            ny = p.n * p.k * p.oh * p.ow;
    float *x = rand_buf(nx, 1), *wt = rand_buf(nw, 1), *bias = p.bias ? rand_buf(p.k, 1) : NULL;
    float *y = alloc_guarded(ny);
    double *want = want_buf(ny);
    char what[200];
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        snprintf(what, sizeof what,
                 "conv2d_%s N=%lld C=%lld %lldx%lld K=%lld %lldx%lld s%d,%d p%d,%d,%d,%d d%d,%d g%lld act%d",
                 nhwc ? "nhwc" : "nchw", (long long)p.n, (long long)p.c, (long long)p.h, (long long)p.w,
                 (long long)p.k, (long long)p.kh, (long long)p.kw, p.sh, p.sw, p.ph, pb, p.pw, pr, p.dh, p.dw,
                 (long long)p.groups, p.act);
        float *wl = wt;  // the same weights in the kernel's layout
        float *wn = NULL;
        if (!nhwc) {  // [k][cg][kh][kw] from [kh][kw][cg][k]
            wn = malloc(sizeof(float) * (size_t)nw);
            for (int64_t i = 0; i < p.kh; i++)
                for (int64_t j = 0; j < p.kw; j++)
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t k = 0; k < p.k; k++)
                            wn[((k * cg + c) * p.kh + i) * p.kw + j] =
                                wt[((i * p.kw + j) * cg + c) * p.k + k];
            wl = wn;
        }
        ref_conv(&p, nhwc, x, wl, bias, want);
        int st = nhwc ? conv2d_nhwc(x, wl, bias, y, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.act, p.n, p.h, p.w,
                                    p.c, p.kh, p.kw, cg, p.k, bias ? p.k : 0, p.oh, p.ow)
                      : conv2d_nchw(x, wl, bias, y, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.act, p.n, p.c, p.h,
                                    p.w, p.k, cg, p.kh, p.kw, bias ? p.k : 0, p.oh, p.ow);
        EXPECT(st == 0, "%s: status %d", what, st);
        fails += check_close(y, want, ny, 1e-4, what) + check_guard(y, ny, what);
        if (p.groups == p.c && p.k == p.c) {                 // the depthwise kernels on the same problem
            float *wd = malloc(sizeof(float) * (size_t)nw);  // [kh][kw][c] or [c][kh][kw]
            for (int64_t i = 0; i < p.kh; i++)
                for (int64_t j = 0; j < p.kw; j++)
                    for (int64_t c = 0; c < p.c; c++)
                        wd[nhwc ? (i * p.kw + j) * p.c + c : (c * p.kh + i) * p.kw + j] =
                            wt[(i * p.kw + j) * p.c + c];
            for (int64_t i = 0; i < ny; i++)
                y[i] = 0;
            st = nhwc ? conv2d_depthwise_nhwc(x, wd, bias, y, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.act, p.n,
                                              p.h, p.w, p.c, p.kh, p.kw, bias ? p.c : 0, p.oh, p.ow)
                      : conv2d_depthwise_nchw(x, wd, bias, y, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.act, p.n,
                                              p.c, p.h, p.w, p.kh, p.kw, bias ? p.c : 0, p.oh, p.ow);
            char dw[240];
            snprintf(dw, sizeof dw, "depthwise %s", what);
            EXPECT(st == 0, "%s: status %d", dw, st);
            fails += check_close(y, want, ny, 1e-4, dw) + check_guard(y, ny, dw);
            free(wd);
        }
        free(wn);
    }
    free(x), free(wt), free(bias), free(y), free(want);
}

static void run_pixel_shuffle(int64_t n, int64_t c, int64_t h, int64_t w, int64_t r) {
    int64_t nx = n * c * r * r * h * w;
    float *x = rand_buf(nx, 1), *y = alloc_guarded(nx);
    double *want = want_buf(nx);
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t oh = 0; oh < h * r; oh++)
                for (int64_t ow = 0; ow < w * r; ow++)
                    want[((b * c + ch) * h * r + oh) * w * r + ow] =
                        x[((b * c * r * r + ch * r * r + (oh % r) * r + ow % r) * h + oh / r) * w + ow / r];
    CALL(pixel_shuffle(x, y, n, c * r * r, h, w, c, h * r, w * r));
    char what[100];
    snprintf(what, sizeof what, "pixel_shuffle N=%lld C=%lld %lldx%lld r=%lld", (long long)n, (long long)c,
             (long long)h, (long long)w, (long long)r);
    fails += check_close(y, want, nx, 0, what) + check_guard(y, nx, what);
    free(x), free(y), free(want);
}

int main(void) {
    //       n  c   h   w   k  kh kw groups oh ow  sh sw ph pw dh dw act bias
    run_conv((Conv){1, 3, 7, 9, 5, 3, 3, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1}, 1, 1);      // same padding
    run_conv((Conv){2, 17, 13, 11, 33, 3, 3, 1, 0, 0, 2, 2, 1, 1, 1, 1, 1, 1}, 0, 1);  // strided, asymmetric
    run_conv((Conv){1, 5, 17, 19, 7, 5, 5, 1, 0, 0, 1, 1, 2, 2, 1, 1, 2, 0}, 2, 2);    // 5x5, GELU, no bias
    run_conv((Conv){1, 8, 15, 15, 12, 3, 3, 2, 0, 0, 1, 2, 2, 0, 2, 2, 4, 1}, 2, 1);   // groups, dilation
    run_conv((Conv){2, 6, 9, 10, 6, 3, 3, 6, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1);     // depthwise
    run_conv((Conv){1, 7, 5, 6, 7, 3, 3, 7, 0, 0, 2, 1, 0, 1, 1, 1, 5, 0}, 1, 0);      // depthwise strided
    run_conv((Conv){1, 70, 6, 5, 130, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 3, 1}, 0, 0);  // 1x1, channels > tiles
    run_conv((Conv){1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 6, 1}, 0, 0);     // all ones
    run_conv((Conv){1, 1, 20, 21, 64, 5, 5, 1, 0, 0, 1, 1, 2, 2, 1, 1, 1, 1}, 2,
             2);  // super-resolution conv1
    // First layers, rows longer than a program (224 pixels, or 896 with K <= 16): the last
    // program's last block of pixels partly past the row.
    run_conv((Conv){1, 1, 3, 300, 64, 5, 5, 1, 0, 0, 1, 1, 2, 2, 1, 1, 0, 1}, 2, 2);
    run_conv((Conv){1, 3, 2, 1000, 9, 3, 3, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1);
    run_conv((Conv){1, 3, 5, 470, 64, 3, 3, 1, 0, 0, 2, 2, 1, 1, 1, 1, 1, 1}, 0, 1);  // stride 2
    // 5x5x1 and 3x3x3 windows (transposed products of 32 pixels) with dilation, stride and
    // asymmetric padding, output channels not a multiple of the block, batch 2.
    run_conv((Conv){2, 1, 13, 70, 20, 5, 5, 1, 0, 0, 1, 2, 3, 1, 2, 2, 1, 1}, 1, 4);
    run_conv((Conv){1, 3, 9, 65, 33, 3, 3, 1, 0, 0, 2, 3, 0, 2, 1, 2, 4, 0}, 2, 0);
    // Unit stride: taps read slices of input rows; padding before a row's few valid pixels.
    run_conv((Conv){1, 5, 6, 6, 7, 5, 5, 1, 0, 0, 1, 1, 2, 2, 1, 1, 0, 1}, 2, 4);
    run_conv((Conv){1, 32, 9, 11, 9, 3, 3, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1}, 1, 1);   // K = 9: BK = 16
    run_conv((Conv){1, 12, 5, 40, 20, 3, 3, 1, 0, 0, 1, 1, 0, 1, 2, 1, 4, 1}, 0, 1);  // K = 20: BK = 32
    run_conv((Conv){2, 128, 4, 5, 96, 3, 3, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1);  // groups of 64 channels
    run_conv((Conv){1, 128, 3, 4, 128, 1, 1, 2, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}, 0,
             0);  // 2 groups, 64 outputs each
    // Stride 2 along rows with unit dilation: every other pixel of a row read as a strided
    // slice (whole groups of channels, or all of them).
    run_conv((Conv){1, 64, 9, 17, 40, 3, 3, 2, 0, 0, 2, 2, 1, 1, 1, 1, 1, 1}, 0, 1);   // 2 groups of 32
    run_conv((Conv){2, 128, 7, 9, 128, 3, 3, 1, 0, 0, 2, 2, 1, 1, 1, 1, 0, 1}, 1, 1);  // as ResNet's
    run_conv((Conv){1, 48, 6, 2, 20, 3, 3, 1, 0, 0, 1, 2, 0, 2, 2, 1, 4, 0}, 1,
             3);  // pads wider than the row
    run_conv((Conv){1, 32, 4, 1, 16, 1, 1, 1, 0, 0, 2, 2, 0, 0, 1, 1, 0, 1}, 0, 0);    // 1x1, one pixel
    run_conv((Conv){1, 20, 5, 300, 24, 3, 3, 1, 0, 0, 2, 2, 1, 1, 1, 1, 1, 1}, 1, 0);  // rows past a program
    run_pixel_shuffle(1, 1, 5, 7, 3);
    run_pixel_shuffle(2, 3, 4, 70, 2);
    run_pixel_shuffle(1, 2, 1, 1, 1);

    float v[4] = {0};
    EXPECT(conv2d_nhwc(v, v, v, v, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 3, 1, 1, 2, 1, 0, 1, 1) == 3,
           "conv2d_nhwc with C %% CG != 0 must return TILEC_ERR_CONSTRAINT");
    EXPECT(conv2d_nhwc(v, v, v, v, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1) == 3,
           "conv2d_nhwc with a bias of the wrong size must return TILEC_ERR_CONSTRAINT");
    EXPECT(pixel_shuffle(v, v, 1, 3, 1, 1, 1, 2, 2) == 3, "pixel_shuffle with CI != CO*r*r must be rejected");
    printf("conv2d: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
