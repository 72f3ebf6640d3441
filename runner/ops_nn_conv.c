// runner/ops_nn_conv.c — Conv and ConvTranspose (1-D as 2-D with H = 1, and 2-D) on f32.
//
// Conv picks its kernel by shape (single-thread timings, NCHW in and out, in the reports of the
// commits that added each path): depthwise filters run nn_dwconv (runner/kernels/nn_conv.tile),
// 1x1 unit-stride unpadded ones of one group a matrix product per image (stdlib matmul, then
// nn_bias_act) from 32 input and 32 output channels up, nn_conv_nchw below (16 -> 32 channels
// on 320x320: 4.4 ms against 2.1; the bias and activation in the same pass), other grouped 1x1
// ones stdlib conv2d_nchw. Other dense (one-group) convolutions: below 8 input channels
// nn_conv_gemm, one product over all taps on the weights as they are (superres's 1 -> 64 5x5 on
// 224x224: 8.3 ms with nn_conv_nchw, 1.9-2.3 ms); at unit stride, 3-wide filters nn_conv3x3
// (one input window per three taps, a whole output row per program: superres's 64 -> 64 3x3
// at 224x224 157-167 GFLOP/s against 114) and others nn_conv_nchw, both on weights repacked at
// load to [KH, KW, K, C]; strided ones over 8 or more channels, and grouped convolutions, run
// stdlib conv2d_nhwc between two transposes (the input to NHWC, the output back) on weights
// repacked to [KH, KW, CG, K] (PP-OCR det's 96 -> 24 channels 3x3 at 160x160 took 18.0 ms that
// way, 9.4 with nn_conv_nchw). ConvTranspose runs nn_conv_transpose on weights repacked to
// [KH, KW, K, CG], or, when its kernel equals its stride, a 1x1 nn_conv_nchw to K*KH*KW
// channels and a rearrangement (nn_convt_scatter), or for 2x2 kernels to 8 or more channels
// nn_convt_k2 in one pass. Conv applies the node's fused epilogue (runner.h's Epilogue, fuse.c)
// in its kernel where that takes one (nn_dwconv, nn_conv_nchw, nn_conv3x3, nn_conv_gemm,
// nn_convt_k2, nn_bias_act; stdlib's conv2d_* for activations.tile's activations), else in
// place after it.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "linear.h"
#include "kcall.h"
#include "matmul.h"
#include "nn_conv.h"
#include "ops_nn.h"
#include "transpose.h"

// ---------------------------------------------------------------- shared

void opnn_conv_free(void *state) {
    NnConvState *s = state;
    if (s) {
        free(s->wt_nhwc);
        free(s->wt_tr);
        free(s->wt_gemm);
        free(s->wt_direct);
        free(s);
    }
}

// OIHW (K, CG, KH, KW) -> [KH, KW, CG, K] (conv2d_nhwc, k_last) or [KH, KW, K, CG]
// (nn_conv_nchw).
static void pack_taps(const float *w, float *p, int64_t K, int64_t CG, int64_t KH, int64_t KW,
                      bool k_last) {
    for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < CG; c++)
            for (int64_t h = 0; h < KH; h++)
                for (int64_t x = 0; x < KW; x++) {
                    int64_t t = h * KW + x;
                    p[k_last ? (t * CG + c) * K + k : (t * K + k) * CG + c] =
                        w[((k * CG + c) * KH + h) * KW + x];
                }
}

static void pack_nhwc(const float *w, float *p, int64_t K, int64_t CG, int64_t KH, int64_t KW) {
    pack_taps(w, p, K, CG, KH, KW, true);
}

static void pack_direct(const float *w, float *p, int64_t K, int64_t C, int64_t KH, int64_t KW) {
    pack_taps(w, p, K, C, KH, KW, false);
}

// ConvTranspose's [C, KG, KH, KW] (C = G * CG) -> [KH, KW, K, CG] (K = G * KG).
static void pack_tr(const float *w, float *p, int64_t G, int64_t CG, int64_t KG, int64_t KH,
                    int64_t KW) {
    int64_t K = G * KG;
    for (int64_t g = 0; g < G; g++)
        for (int64_t c = 0; c < CG; c++)
            for (int64_t kk = 0; kk < KG; kk++)
                for (int64_t h = 0; h < KH; h++)
                    for (int64_t x = 0; x < KW; x++)
                        p[((h * KW + x) * K + g * KG + kk) * CG + c] =
                            w[(((g * CG + c) * KG + kk) * KH + h) * KW + x];
}

static int64_t numel_of(const Tensor *t) { return tensor_numel(t); }

// [N, A, B] -> [N, B, A] (NCHW <-> NHWC). stdlib's transpose kernel, except when one side has
// at most 8 elements: there its tiles are mostly empty (3 channels: 4x slower than this copy),
// and a plain copy in blocks of 64 along the long side is faster.
static int layout_swap(const float *src, float *dst, int64_t N, int64_t A, int64_t B) {
    if (A > 8 && B > 8)
        return transpose(src, dst, N, A, B);
    for (int64_t n = 0; n < N; n++) {
        const float *s = src + n * A * B;
        float *d = dst + n * A * B;
        if (A <= 8) {
            for (int64_t b0 = 0; b0 < B; b0 += 64) {
                int64_t b1 = b0 + 64 < B ? b0 + 64 : B;
                for (int64_t b = b0; b < b1; b++)
                    for (int64_t a = 0; a < A; a++)
                        d[b * A + a] = s[a * B + b];
            }
        } else {
            for (int64_t a0 = 0; a0 < A; a0 += 64) {
                int64_t a1 = a0 + 64 < A ? a0 + 64 : A;
                for (int64_t b = 0; b < B; b++)
                    for (int64_t a = a0; a < a1; a++)
                        d[b * A + a] = s[a * B + b];
            }
        }
    }
    return 0;
}

// ConvTranspose weights [C, M] (M = K*KH*KW, one group) -> [M, C].
static void pack_gemm(const float *w, float *p, int64_t C, int64_t M) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t m = 0; m < M; m++)
            p[m * C + c] = w[c * M + m];
}

// Conv's and ConvTranspose's optional bias B (K floats) checked, and the output [N, K, out...].
static int conv_output(OpCtx *c, int64_t N, int64_t K, int nsp, const int64_t *out) {
    if (c->nin > 2 && c->in[2].dtype != DT_UNDEF) {
        int st = opnn_want_f32(c, 2, "B");
        if (st)
            return st;
        if (c->in[2].rank != 1 || c->in[2].dims[0] != K)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "bias of %lld elements for %lld outputs",
                            (long long)numel_of(&c->in[2]), (long long)K);
    }
    Tensor *y = &c->out[0];
    y->dtype = DT_F32;
    y->rank = c->in[0].rank;
    y->dims[0] = N;
    y->dims[1] = K;
    for (int i = 0; i < nsp; i++)
        y->dims[2 + i] = out[i];
    return 0;
}

// ---------------------------------------------------------------- Conv

// An Epilogue (runner.h) as the arguments of nn_conv.tile's epilogue: act -1 for none, 0 for a
// piecewise-linear f(x) = clamp(p x + q, lo, hi) * (m x + 1 - m), or another activation code.
typedef struct EpiArgs {
    int32_t act;
    float p, q, lo, hi, m, ps, pt;
} EpiArgs;

static EpiArgs epi_args(const Epilogue *e) {
    EpiArgs a = {0, 1.0f, 0.0f, -INFINITY, INFINITY, 0.0f, e->scale, e->shift};
    switch (e->act) {
    case EPI_NONE:
        if (e->scale == 1.0f && e->shift == 0.0f)
            a.act = -1;
        break;
    case EPI_RELU: a.lo = 0.0f; break;
    case EPI_CLIP: a.lo = e->a0, a.hi = e->a1; break;
    case EPI_HARDSIGMOID: a.p = e->a0, a.q = e->a1, a.lo = 0.0f, a.hi = 1.0f; break;
    case EPI_HARDSWISH: a.p = 1.0f / 6.0f, a.q = 0.5f, a.lo = 0.0f, a.hi = 1.0f, a.m = 1.0f; break;
    case EPI_LEAKYRELU: a.act = EPI_LEAKYRELU, a.p = e->a0; break;
    default: a.act = e->act; break;   // activations.tile's codes
    }
    return a;
}

// Conv's and ConvTranspose's optional bias (K floats; conv_output checked it), NULL and *KB = 0
// without one.
static const float *conv_bias(const OpCtx *c, int64_t K, int64_t *KB) {
    bool has = c->nin > 2 && c->in[2].dtype != DT_UNDEF;
    *KB = has ? K : 0;
    return has ? c->in[2].data : NULL;
}

// The epilogue applied in place to the output [N, K, spatial...] after a kernel that takes none.
static int epilogue_in_place(OpCtx *c, const EpiArgs *ea) {
    const Tensor *y = &c->out[0];
    if (tensor_numel(y) == 0)
        return 0;
    int64_t P = tensor_numel(y) / (y->dims[0] * y->dims[1]);
    int st = nn_bias_act(y->data, NULL, ea->act, ea->p, ea->q, ea->lo, ea->hi, ea->m, ea->ps,
                         ea->pt, y->dims[0], y->dims[1], P, 0);
    return st ? opnn_kernel_err(c, "nn_bias_act", st) : 0;
}

enum { PATH_DW, PATH_NCHW, PATH_NHWC, PATH_DIRECT, PATH_3X3, PATH_GEMM };

// The path of a dense (one-group, not 1x1 unit-stride) convolution: see the top of the file.
static int dense_path(int64_t C, int64_t KW, int64_t sw, int64_t dw) {
    if (C < 8)
        return PATH_GEMM;
    if (sw == 1)
        return KW == 3 && dw == 1 ? PATH_3X3 : PATH_DIRECT;
    return PATH_NHWC;
}

static bool packs_direct(int path) { return path == PATH_DIRECT || path == PATH_3X3; }

typedef struct ConvShape {
    int64_t N, C, H, W, K, CG, KH, KW, OH, OW, group;
    int64_t sh, sw, ph, pw, dh, dw;
    int path;
} ConvShape;

static int conv_shape(const OpCtx *c, ConvShape *s, NnWindow *win) {
    const Tensor *x = &c->in[0], *w = &c->in[1];
    if (x->rank == 5)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "3-D convolutions are not supported");
    if (x->rank != 3 && x->rank != 4)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want 3 or 4)", x->rank);
    if (w->rank != x->rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "weights of rank %d for an input of rank %d",
                        w->rank, x->rank);
    int st = opnn_window(c, x, w->dims + 2, false, win);
    if (st)
        return st;
    memset(s, 0, sizeof *s);
    s->group = attr_int(c->node, "group", 1);
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->K = w->dims[0];
    s->CG = w->dims[1];
    if (s->group < 1 || s->CG * s->group != s->C || s->K % s->group != 0)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "group %lld does not fit %lld input channels, "
                        "weights of %lld x %lld", (long long)s->group, (long long)s->C,
                        (long long)s->K, (long long)s->CG);
    if (s->CG == 0 || s->K == 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "convolutions with no input or output channels are not supported");
    bool one = win->nsp == 1;
    s->H = one ? 1 : win->in[0];
    s->W = win->in[one ? 0 : 1];
    s->KH = one ? 1 : win->k[0];
    s->KW = win->k[one ? 0 : 1];
    s->OH = one ? 1 : win->out[0];
    s->OW = win->out[one ? 0 : 1];
    s->sh = one ? 1 : win->s[0];
    s->sw = win->s[one ? 0 : 1];
    s->dh = one ? 1 : win->d[0];
    s->dw = win->d[one ? 0 : 1];
    s->ph = one ? 0 : win->pb[0];
    s->pw = win->pb[one ? 0 : 1];
    if (s->group == s->C && s->CG == 1 && s->K == s->C)
        s->path = PATH_DW;
    else if (s->KH == 1 && s->KW == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0 &&
             s->OH == s->H && s->OW == s->W)
        s->path = PATH_NCHW;
    else if (s->group == 1)
        s->path = dense_path(s->C, s->KW, s->sw, s->dw);
    else
        s->path = PATH_NHWC;
    return 0;
}

int opnn_conv_prepare(Node *n, const Graph *g, RErr *e) {
    NnConvState *s = calloc(1, sizeof *s);
    if (!s)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    n->state = s;
    const Tensor *w = opnn_const_input(n, g, 1);
    if (!w || w->dtype != DT_F32 || (w->rank != 4 && w->rank != 3))
        return 0;
    int64_t K = w->dims[0], CG = w->dims[1];
    int64_t KH = w->rank == 4 ? w->dims[2] : 1, KW = w->dims[w->rank - 1];
    if (CG == 1 && attr_int(n, "group", 1) > 1)
        return 0;   // depthwise (or a multiplier): OIHW is what its kernel reads
    if (KH == 1 && KW == 1)
        return 0;   // possibly conv2d_nchw; repacked at run time otherwise
    const int64_t *sv, *dv;
    int64_t sw = attr_ints(n, "strides", &sv) == w->rank - 2 ? sv[w->rank - 3] : 1;
    int64_t dw = attr_ints(n, "dilations", &dv) == w->rank - 2 ? dv[w->rank - 3] : 1;
    int path = attr_int(n, "group", 1) == 1 ? dense_path(CG, KW, sw, dw) : PATH_NHWC;
    if (path == PATH_GEMM)
        return 0;   // reads OIHW as [K, CG * KH * KW]
    if (packs_direct(path)) {
        s->wt_direct = malloc((size_t)(K * CG * KH * KW) * sizeof(float) + 1);
        if (!s->wt_direct)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        pack_direct(w->data, s->wt_direct, K, CG, KH, KW);
        return 0;
    }
    s->wt_nhwc = malloc((size_t)(K * CG * KH * KW) * sizeof(float) + 1);
    if (!s->wt_nhwc)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    pack_nhwc(w->data, s->wt_nhwc, K, CG, KH, KW);
    return 0;
}

int opnn_conv_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (!st)
        st = opnn_want_f32(c, 1, "W");
    if (st)
        return st;
    ConvShape s;
    NnWindow win;
    if ((st = conv_shape(c, &s, &win)))
        return st;
    return conv_output(c, s.N, s.K, win.nsp, win.out);
}

size_t opnn_conv_scratch(const OpCtx *c) {
    ConvShape s;
    NnWindow win;
    RErr e;
    OpCtx q = *c;
    q.err = &e;
    if (conv_shape(&q, &s, &win))
        return 0;
    const NnConvState *cs = c->node->state;
    if (packs_direct(s.path))
        return (cs && cs->wt_direct) || s.KH * s.KW == 1
                   ? 0
                   : (size_t)(s.K * s.C * s.KH * s.KW) * sizeof(float);
    if (s.path != PATH_NHWC)
        return 0;
    size_t n = (size_t)(s.N * s.C * s.H * s.W + s.N * s.K * s.OH * s.OW);
    if (!cs || !cs->wt_nhwc)
        n += (size_t)(s.K * s.CG * s.KH * s.KW);
    return n * sizeof(float);
}

// The weights of nn_conv_nchw and nn_conv3x3, [KH, KW, K, C]: repacked at load when they are
// constant, else into the scratch now; a 1x1 filter's OIHW is that layout already.
static const float *direct_weights(OpCtx *c, const NnConvState *cs, const ConvShape *s) {
    const float *w = c->in[1].data;
    if (s->KH * s->KW == 1)
        return w;
    if (cs && cs->wt_direct)
        return cs->wt_direct;
    pack_direct(w, c->scratch, s->K, s->C, s->KH, s->KW);
    return c->scratch;
}

int opnn_conv_run(OpCtx *c) {
    ConvShape s;
    NnWindow win;
    int st = conv_shape(c, &s, &win);
    if (st)
        return st;
    const NnConvState *cs = c->node->state;
    Epilogue ep = node_epilogue(c->node);
    EpiArgs ea = epi_args(&ep);
    // stdlib's conv2d_* take an activation of activations.tile (0-6) and no affine map
    bool std_ep = ep.act <= EPI_TANH && ep.scale == 1.0f && ep.shift == 0.0f;
    int act = std_ep ? ep.act : 0;
    bool ep_after = false;   // applied by nn_bias_act after the convolution
    const float *x = c->in[0].data, *w = c->in[1].data;
    int64_t KB;
    const float *b = conv_bias(c, s.K, &KB);
    float *y = c->out[0].data;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    if (s.path == PATH_DW) {
        c->kernel = "nn_dwconv";
        st = kc_nn_dwconv(x, w, b, y, (int32_t)s.sh, (int32_t)s.sw, (int32_t)s.ph, (int32_t)s.pw,
                       (int32_t)s.dh, (int32_t)s.dw, ea.act, ea.p, ea.q, ea.lo, ea.hi, ea.m,
                       ea.ps, ea.pt, s.N, s.C, s.H, s.W, s.KH, s.KW, KB,
                       s.OH, s.OW);
    } else if (s.path == PATH_NCHW && s.CG == s.C && s.C >= 32 && s.K >= 32) {
        // A 1x1 convolution of one group is a matrix product per image: Y[n] = W @ X[n]
        // (stdlib matmul, much faster than conv2d_nchw here), then bias and activation.
        c->kernel = "matmul+nn_bias_act";
        int64_t P = s.H * s.W;
        for (int64_t n = 0; n < s.N && !st; n++)
            st = kc_matmul(w, x + n * s.C * P, y + n * s.K * P, s.K, s.C, P);
        if (!st && (b || ep.on))
            st = nn_bias_act(y, b, ea.act, ea.p, ea.q, ea.lo, ea.hi, ea.m, ea.ps, ea.pt, s.N, s.K,
                             P, KB);
    } else if (s.path == PATH_GEMM) {
        c->kernel = "nn_conv_gemm";
        st = kc_nn_conv_gemm(x, w, b, y, (int32_t)s.KH, (int32_t)s.KW, (int32_t)s.sh, (int32_t)s.sw,
                          (int32_t)s.ph, (int32_t)s.pw, (int32_t)s.dh, (int32_t)s.dw, ea.act, ea.p,
                          ea.q, ea.lo, ea.hi, ea.m, ea.ps, ea.pt, s.N, s.C, s.H, s.W, s.K,
                          s.C * s.KH * s.KW, KB, s.OH, s.OW);
    } else if (s.path == PATH_3X3) {
        const float *wt = direct_weights(c, cs, &s);
        c->kernel = "nn_conv3x3";
        st = kc_nn_conv3x3(x, wt, b, y, (int32_t)s.sh, (int32_t)s.ph, (int32_t)s.pw, (int32_t)s.dh,
                        ea.act, ea.p, ea.q, ea.lo, ea.hi, ea.m, ea.ps, ea.pt, s.N, s.C, s.H, s.W,
                        s.KH, s.K, KB, s.OH, s.OW);
    } else if (s.path == PATH_DIRECT || (s.path == PATH_NCHW && s.CG == s.C)) {
        const float *wt = direct_weights(c, cs, &s);
        c->kernel = "nn_conv_nchw";
        st = kc_nn_conv_nchw(x, wt, b, y, (int32_t)s.sh, (int32_t)s.sw, (int32_t)s.ph, (int32_t)s.pw,
                          (int32_t)s.dh, (int32_t)s.dw, ea.act, ea.p, ea.q, ea.lo, ea.hi, ea.m,
                          ea.ps, ea.pt, s.N, s.C, s.H, s.W, s.KH, s.KW, s.K, KB, s.OH, s.OW);
    } else if (s.path == PATH_NCHW) {
        c->kernel = "conv2d_nchw";
        ep_after = !std_ep;
        st = conv2d_nchw(x, w, b, y, 1, 1, 0, 0, 1, 1, act, s.N, s.C, s.H, s.W, s.K, s.CG, 1, 1,
                         KB, s.OH, s.OW);
    } else {
        float *xt = c->scratch;
        float *yt = xt + s.N * s.C * s.H * s.W;
        const float *wt = cs ? cs->wt_nhwc : NULL;
        if (!wt) {
            float *p = yt + s.N * s.K * s.OH * s.OW;
            pack_nhwc(w, p, s.K, s.CG, s.KH, s.KW);
            wt = p;
        }
        ep_after = !std_ep;
        c->kernel = "transpose";
        if ((st = layout_swap(x, xt, s.N, s.C, s.H * s.W)))
            return opnn_kernel_err(c, "transpose", st);
        c->kernel = "conv2d_nhwc";
        st = kc_conv2d_nhwc(xt, wt, b, yt, (int32_t)s.sh, (int32_t)s.sw, (int32_t)s.ph,
                         (int32_t)s.pw, (int32_t)s.dh, (int32_t)s.dw, act, s.N, s.H, s.W, s.C,
                         s.KH, s.KW, s.CG, s.K, KB, s.OH, s.OW);
        if (st)
            return opnn_kernel_err(c, "conv2d_nhwc", st);
        c->kernel = "conv2d_nhwc+transpose";
        st = layout_swap(yt, y, s.N, s.OH * s.OW, s.K);
        if (st)
            return opnn_kernel_err(c, "transpose", st);
    }
    if (st)
        return opnn_kernel_err(c, c->kernel, st);
    return ep_after ? epilogue_in_place(c, &ea) : 0;
}

// ---------------------------------------------------------------- ConvTranspose

typedef struct TrShape {
    int64_t N, C, H, W, K, CG, KG, G, KH, KW, OH, OW;
    int64_t sh, sw, ph, pw, dh, dw;
} TrShape;

static int convtr_shape(const OpCtx *c, TrShape *s, int nsp_out[1], int64_t out[2]) {
    const Node *n = c->node;
    const Tensor *x = &c->in[0], *w = &c->in[1];
    if (x->rank == 5)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "3-D transposed convolutions are not "
                        "supported");
    if (x->rank != 3 && x->rank != 4)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want 3 or 4)", x->rank);
    if (w->rank != x->rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "weights of rank %d for an input of rank %d",
                        w->rank, x->rank);
    int nsp = x->rank - 2;
    *nsp_out = nsp;
    memset(s, 0, sizeof *s);
    s->G = attr_int(n, "group", 1);
    s->N = x->dims[0];
    s->C = x->dims[1];
    if (s->G < 1 || w->dims[0] != s->C || s->C % s->G != 0)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "weights of %lld input channels for %lld, "
                        "group %lld", (long long)w->dims[0], (long long)s->C, (long long)s->G);
    s->CG = s->C / s->G;
    s->KG = w->dims[1];
    s->K = s->KG * s->G;
    if (s->CG == 0 || s->K == 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "transposed convolutions with no input or output channels are not supported");
    int64_t k[2], st[2], d[2], op[2], pb[2], pe[2], in[2], os[2];
    const int64_t *v;
    int cnt = attr_ints(n, "kernel_shape", &v);
    for (int i = 0; i < nsp; i++) {
        k[i] = w->dims[2 + i];
        if (cnt >= 0 && (cnt != nsp || v[i] != k[i]))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "kernel_shape does not match the weights");
        in[i] = x->dims[2 + i];
    }
    const char *names[3] = {"strides", "dilations", "output_padding"};
    int64_t *dst[3] = {st, d, op};
    for (int a = 0; a < 3; a++) {
        cnt = attr_ints(n, names[a], &v);
        if (cnt >= 0 && cnt != nsp)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "%s has %d values", names[a], cnt);
        for (int i = 0; i < nsp; i++) {
            dst[a][i] = cnt >= 0 ? v[i] : (a == 2 ? 0 : 1);
            if (dst[a][i] < (a == 2 ? 0 : 1))
                return node_err(c, TILEC_MODEL_ERR_INVALID, "bad %s", names[a]);
            if (dst[a][i] > NN_MAX_ATTR)
                return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "%s above 2^30 is not supported",
                                names[a]);
        }
    }
    cnt = attr_ints(n, "pads", &v);
    if (cnt >= 0 && cnt != 2 * nsp)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "pads has %d values", cnt);
    for (int i = 0; i < nsp; i++) {
        pb[i] = cnt >= 0 ? v[i] : 0;
        pe[i] = cnt >= 0 ? v[i + nsp] : 0;
        if (pb[i] > NN_MAX_ATTR || pe[i] > NN_MAX_ATTR || pb[i] < -NN_MAX_ATTR || pe[i] < -NN_MAX_ATTR)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "pads beyond 2^30 are not supported");
    }
    char buf[32];
    const char *ap = attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
    bool upper = strcmp(ap, "SAME_UPPER") == 0;
    bool same = upper || strcmp(ap, "SAME_LOWER") == 0;
    if (!same && strcmp(ap, "VALID") != 0 && strcmp(ap, "NOTSET") != 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    if (strcmp(ap, "VALID") == 0)
        for (int i = 0; i < nsp; i++)
            pb[i] = pe[i] = 0;
    cnt = attr_ints(n, "output_shape", &v);
    if (cnt >= 0 && cnt != nsp && cnt != nsp + 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "output_shape has %d values", cnt);
    for (int i = 0; i < nsp; i++) {
        int64_t full = st[i] * (in[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
        if (cnt >= 0 || same) {
            os[i] = cnt >= 0 ? v[cnt - nsp + i] : in[i] * st[i];
            int64_t total = full - os[i];
            pb[i] = upper ? total / 2 : total - total / 2;
            if (!same && cnt >= 0)
                pb[i] = total - total / 2;
            if (total < 0)
                pb[i] = 0;   // a larger output than the full one: zeros (bias) at the end
            out[i] = os[i];
        } else {
            out[i] = full - pb[i] - pe[i];
        }
        if (out[i] < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "negative output size");
    }
    bool one = nsp == 1;
    s->H = one ? 1 : in[0];
    s->W = in[nsp - 1];
    s->KH = one ? 1 : k[0];
    s->KW = k[nsp - 1];
    s->sh = one ? 1 : st[0];
    s->sw = st[nsp - 1];
    s->dh = one ? 1 : d[0];
    s->dw = d[nsp - 1];
    s->ph = one ? 0 : pb[0];
    s->pw = pb[nsp - 1];
    s->OH = one ? 1 : out[0];
    s->OW = out[nsp - 1];
    return 0;
}

int opnn_convtr_prepare(Node *n, const Graph *g, RErr *e) {
    NnConvState *s = calloc(1, sizeof *s);
    if (!s)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    n->state = s;
    const Tensor *w = opnn_const_input(n, g, 1);
    if (!w || w->dtype != DT_F32 || (w->rank != 4 && w->rank != 3))
        return 0;
    int64_t G = attr_int(n, "group", 1);
    int64_t C = w->dims[0], KG = w->dims[1];
    int64_t KH = w->rank == 4 ? w->dims[2] : 1, KW = w->dims[w->rank - 1];
    if (G < 1 || C % G != 0)
        return 0;   // infer() reports it
    s->wt_tr = malloc((size_t)(C * KG * KH * KW) * sizeof(float) + 1);
    if (!s->wt_tr)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    pack_tr(w->data, s->wt_tr, G, C / G, KG, KH, KW);
    if (G == 1) {
        s->wt_gemm = malloc((size_t)(C * KG * KH * KW) * sizeof(float) + 1);
        if (!s->wt_gemm)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        pack_gemm(w->data, s->wt_gemm, C, KG * KH * KW);
    }
    return 0;
}

int opnn_convtr_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (!st)
        st = opnn_want_f32(c, 1, "W");
    if (st)
        return st;
    TrShape s;
    int nsp;
    int64_t out[2];
    if ((st = convtr_shape(c, &s, &nsp, out)))
        return st;
    return conv_output(c, s.N, s.K, nsp, out);
}

// Kernel == stride, no padding at either end, no output_padding, dilation 1, one group, 2-D:
// a product and a rearrangement.
static bool convtr_is_gemm(const OpCtx *c, const TrShape *s, int nsp) {
    const int64_t *v;
    int n = attr_ints(c->node, "pads", &v);
    for (int i = 0; i < n; i++)
        if (v[i] != 0)
            return false;
    n = attr_ints(c->node, "output_padding", &v);
    for (int i = 0; i < n; i++)
        if (v[i] != 0)
            return false;
    return nsp == 2 && s->G == 1 && s->sh == s->KH && s->sw == s->KW && s->ph == 0 && s->pw == 0 &&
           s->dh == 1 && s->dw == 1 && s->OH == s->H * s->KH && s->OW == s->W * s->KW;
}

static bool convtr_is_k2(const OpCtx *c, const TrShape *s, int nsp);

size_t opnn_convtr_scratch(const OpCtx *c) {
    const NnConvState *cs = c->node->state;
    TrShape s;
    int nsp;
    int64_t out[2];
    RErr e;
    OpCtx q = *c;
    q.err = &e;
    size_t wbytes = (size_t)numel_of(&c->in[1]) * sizeof(float);
    bool shaped = convtr_shape(&q, &s, &nsp, out) == 0;
    if (shaped && convtr_is_k2(c, &s, nsp))
        return cs && cs->wt_tr ? 0 : wbytes;
    if (shaped && convtr_is_gemm(c, &s, nsp))
        return (cs && cs->wt_gemm ? 0 : wbytes) +
               (size_t)(s.N * s.K * s.KH * s.KW * s.H * s.W) * sizeof(float);
    if (cs && cs->wt_tr)
        return 0;
    return wbytes;
}

static int convtr_gemm(OpCtx *c, const TrShape *s) {
    const NnConvState *cs = c->node->state;
    const float *wr = cs ? cs->wt_gemm : NULL;
    float *t = c->scratch;
    if (!wr) {
        pack_gemm(c->in[1].data, c->scratch, s->C, s->K * s->KH * s->KW);
        wr = c->scratch;
        t = (float *)c->scratch + numel_of(&c->in[1]);
    }
    int64_t KB;
    const float *b = conv_bias(c, s->K, &KB);
    int64_t M = s->K * s->KH * s->KW;
    c->kernel = "nn_conv_nchw+nn_convt_scatter";
    EpiArgs id = epi_args(&(Epilogue){.scale = 1.0f});
    int st = kc_nn_conv_nchw(c->in[0].data, wr, NULL, t, 1, 1, 0, 0, 1, 1, id.act, id.p, id.q, id.lo,
                          id.hi, id.m, id.ps, id.pt, s->N, s->C, s->H, s->W, 1, 1, M, 0, s->H,
                          s->W);
    if (st)
        return opnn_kernel_err(c, "nn_conv_nchw", st);
    st = nn_convt_scatter(t, b, c->out[0].data, (int32_t)s->KH, (int32_t)s->KW, s->N, M, s->H,
                          s->W, KB, s->K, s->OH, s->OW);
    return st ? opnn_kernel_err(c, "nn_convt_scatter", st) : 0;
}

static int convtr_kernels(OpCtx *c, bool *epi_done);

// A 2x2 kernel at stride 2 as a product (convtr_is_gemm) to 8 or more channels: nn_convt_k2 in
// one pass, with the bias and the fused epilogue (PP-OCR det's 24 -> 24 on 160x160: 5.6 ms in
// two passes, 2.8 in one). Fewer channels fill too little of its [16, BW] products (24 -> 1:
// 2.3 ms in two passes, 7.6 in one).
static bool convtr_is_k2(const OpCtx *c, const TrShape *s, int nsp) {
    return convtr_is_gemm(c, s, nsp) && s->KH == 2 && s->KW == 2 && s->K >= 8;
}

static int convtr_k2(OpCtx *c, const TrShape *s) {
    const NnConvState *cs = c->node->state;
    const float *wp = cs ? cs->wt_tr : NULL;   // [KH, KW, K, C] with one group
    if (!wp) {
        pack_tr(c->in[1].data, c->scratch, 1, s->C, s->K, 2, 2);
        wp = c->scratch;
    }
    int64_t KB;
    const float *b = conv_bias(c, s->K, &KB);
    Epilogue ep = node_epilogue(c->node);
    EpiArgs ea = epi_args(&ep);
    c->kernel = "nn_convt_k2";
    int st = kc_nn_convt_k2(c->in[0].data, wp, b, c->out[0].data, ea.act, ea.p, ea.q, ea.lo, ea.hi,
                         ea.m, ea.ps, ea.pt, s->N, s->C, s->H, s->W, s->K, KB, s->OH, s->OW);
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ConvTranspose's kernels, then its fused epilogue (fuse.c) in place unless they applied it.
int opnn_convtr_run(OpCtx *c) {
    bool done = false;
    int st = convtr_kernels(c, &done);
    Epilogue ep = node_epilogue(c->node);
    if (st || done || !ep.on)
        return st;
    EpiArgs ea = epi_args(&ep);
    return epilogue_in_place(c, &ea);
}

static int convtr_kernels(OpCtx *c, bool *epi_done) {
    TrShape s;
    int nsp;
    int64_t out[2];
    int st = convtr_shape(c, &s, &nsp, out);
    if (st)
        return st;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    if (convtr_is_k2(c, &s, nsp)) {
        *epi_done = true;
        return convtr_k2(c, &s);
    }
    if (convtr_is_gemm(c, &s, nsp))
        return convtr_gemm(c, &s);
    const NnConvState *cs = c->node->state;
    const float *wp = cs ? cs->wt_tr : NULL;
    if (!wp) {
        pack_tr(c->in[1].data, c->scratch, s.G, s.CG, s.KG, s.KH, s.KW);
        wp = c->scratch;
    }
    int64_t KB;
    const float *b = conv_bias(c, s.K, &KB);
    c->kernel = "nn_conv_transpose";
    st = nn_conv_transpose(c->in[0].data, wp, b, c->out[0].data, (int32_t)s.sh, (int32_t)s.sw,
                           (int32_t)s.ph, (int32_t)s.pw, (int32_t)s.dh, (int32_t)s.dw, s.N, s.C,
                           s.H, s.W, s.KH, s.KW, s.K, s.CG, KB, s.OH, s.OW);
    return st ? opnn_kernel_err(c, "nn_conv_transpose", st) : 0;
}
