// runner/ops_nn_pool.c — MaxPool (with its optional Indices), AveragePool, LpPool and the global
// poolings, on f32 tensors of 1 to 3 spatial dimensions.
//
// Windows side by side two columns wide (kh x 2, strides (kh, 2), no padding) run nn_pool_w2;
// other plain 1-D and 2-D max and average pooling stdlib maxpool2d_nchw / avgpool2d_nchw; the
// rest (indices, dilated averages, padding counted only up to the end pads, Lp, 3-D windows)
// runs nn_pool (runner/kernels/nn_pool.tile). GlobalAveragePool runs global_avgpool_nchw,
// GlobalMaxPool max_rows, GlobalLpPool nn_pool over the whole image.
#include <string.h>

#include "nn_pool.h"
#include "ops_nn.h"
#include "pool.h"
#include "reduce.h"

typedef struct PoolArgs {
    NnWindow w;
    int64_t NC, D, H, W, OD, OH, OW;
    int32_t k[3], s[3], pb[3], pe[3], d[3];
    bool count_pad, want_idx;
    int order;
    float p;
} PoolArgs;

static int pool_args(const OpCtx *c, PoolArgs *a) {
    const Node *n = c->node;
    int code = c->node->op->code;
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    memset(a, 0, sizeof *a);
    bool ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
    if ((st = opnn_window(c, x, NULL, ceil_mode, &a->w)))
        return st;
    if (code != NN_MAXPOOL && n->opset < 19 && attr_has(n, "dilations"))
        for (int i = 0; i < a->w.nsp; i++)
            if (a->w.d[i] != 1)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "dilations before opset 19");
    a->count_pad = code == NN_AVGPOOL && attr_int(n, "count_include_pad", 0) != 0;
    a->want_idx = code == NN_MAXPOOL && c->nout > 1 && c->node->out[1] >= 0;
    a->order = (int)attr_int(n, "storage_order", 0);
    if (a->order != 0 && a->order != 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "storage_order %d", a->order);
    a->p = code == NN_LPPOOL ? (n->opset < 2 ? attr_float(n, "p", 2.0f)
                                             : (float)attr_int(n, "p", 2)) : 0.0f;
    if (code == NN_LPPOOL && !(a->p > 0.0f))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "p must be positive");
    // Spatial axes right-aligned into (D, H, W).
    int off = 3 - a->w.nsp;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) {
        a->k[i] = a->s[i] = a->d[i] = 1;
    }
    for (int i = 0; i < a->w.nsp; i++) {
        in[off + i] = a->w.in[i];
        out[off + i] = a->w.out[i];
        a->k[off + i] = (int32_t)a->w.k[i];
        a->s[off + i] = (int32_t)a->w.s[i];
        a->d[off + i] = (int32_t)a->w.d[i];
        a->pb[off + i] = (int32_t)a->w.pb[i];
        a->pe[off + i] = (int32_t)a->w.pe[i];
    }
    a->NC = x->dims[0] * x->dims[1];
    a->D = in[0], a->H = in[1], a->W = in[2];
    a->OD = out[0], a->OH = out[1], a->OW = out[2];
    return 0;
}

int opnn_pool_infer(OpCtx *c) {
    PoolArgs a;
    int st = pool_args(c, &a);
    if (st)
        return st;
    for (int o = 0; o < c->nout && o < 2; o++) {
        Tensor *y = &c->out[o];
        y->dtype = o == 0 ? DT_F32 : DT_I64;
        y->rank = c->in[0].rank;
        y->dims[0] = c->in[0].dims[0];
        y->dims[1] = c->in[0].dims[1];
        for (int i = 0; i < a.w.nsp; i++)
            y->dims[2 + i] = a.w.out[i];
    }
    if (c->nout > 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%d outputs", c->nout);
    return 0;
}

int opnn_pool_run(OpCtx *c) {
    PoolArgs a;
    int st = pool_args(c, &a);
    if (st)
        return st;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    int code = c->node->op->code;
    const float *x = c->in[0].data;
    float *y = c->out[0].data;
    bool flat = a.D == 1 && a.OD == 1 && a.k[0] == 1;   // 1-D or 2-D
    // Windows side by side, two columns wide, no padding: nn_pool_w2 (slices, no gathers).
    bool w2 = flat && a.k[2] == 2 && a.s[2] == 2 && a.s[1] == a.k[1] && a.d[1] == 1 &&
              a.d[2] == 1 && a.pb[1] == 0 && a.pb[2] == 0 && a.pe[1] == 0 && a.pe[2] == 0 &&
              a.OH * a.k[1] <= a.H && 2 * a.OW <= a.W && !a.want_idx &&
              (code == NN_MAXPOOL || code == NN_AVGPOOL);
    if (w2) {
        c->kernel = "nn_pool_w2";
        st = nn_pool_w2(x, y, code == NN_MAXPOOL ? 0 : 1, a.k[1], a.NC, a.H, a.W, a.OH, a.OW);
        return st ? opnn_kernel_err(c, c->kernel, st) : 0;
    }
    if (flat && code == NN_MAXPOOL && !a.want_idx) {
        c->kernel = "maxpool2d_nchw";
        st = maxpool2d_nchw(x, y, a.k[1], a.k[2], a.s[1], a.s[2], a.pb[1], a.pb[2], a.d[1],
                            a.d[2], 1, a.NC, a.H, a.W, a.OH, a.OW);
        return st ? opnn_kernel_err(c, c->kernel, st) : 0;
    }
    if (flat && code == NN_AVGPOOL && a.d[1] == 1 && a.d[2] == 1) {
        // With the padding counted, every window must lie inside the padded input (ceil_mode
        // may reach past it; those positions do not count, which nn_pool handles).
        bool inside = (a.OH - 1) * (int64_t)a.s[1] + a.k[1] <= a.H + a.pb[1] + a.pe[1] &&
                      (a.OW - 1) * (int64_t)a.s[2] + a.k[2] <= a.W + a.pb[2] + a.pe[2];
        if (!a.count_pad || inside) {
            c->kernel = "avgpool2d_nchw";
            st = avgpool2d_nchw(x, y, a.k[1], a.k[2], a.s[1], a.s[2], a.pb[1], a.pb[2],
                                a.count_pad ? 1 : 0, 1, a.NC, a.H, a.W, a.OH, a.OW);
            return st ? opnn_kernel_err(c, c->kernel, st) : 0;
        }
    }
    int mode = code == NN_MAXPOOL ? 0 : code == NN_LPPOOL ? 3 : a.count_pad ? 2 : 1;
    int64_t *idx = a.want_idx ? c->out[1].data : NULL;
    int64_t ni = a.want_idx ? tensor_numel(&c->out[1]) : 0;
    c->kernel = "nn_pool";
    st = nn_pool(x, y, idx, mode, a.k[0], a.k[1], a.k[2], a.s[0], a.s[1], a.s[2], a.pb[0],
                 a.pb[1], a.pb[2], a.d[0], a.d[1], a.d[2], a.pe[0], a.pe[1], a.pe[2], a.p,
                 a.order, a.NC, a.D, a.H, a.W, a.OD, a.OH, a.OW, ni);
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- global pooling

int opnn_gpool_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    if (x->rank < 3)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want N, C and spatial "
                        "dimensions)", x->rank);
    if (c->node->op->code == NN_LPPOOL) {
        int64_t p = attr_int(c->node, "p", 2);
        if (c->node->opset < 2)
            p = (int64_t)attr_float(c->node, "p", 2.0f);
        if (p < 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "p must be positive");
    }
    Tensor *y = &c->out[0];
    *y = *x;
    y->data = NULL;
    for (int i = 2; i < x->rank; i++)
        y->dims[i] = 1;
    return 0;
}

int opnn_gpool_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int64_t nc = x->dims[0] * x->dims[1];
    int64_t sp = 1;
    for (int i = 2; i < x->rank; i++)
        sp *= x->dims[i];
    if (nc == 0)
        return 0;
    int st;
    switch (c->node->op->code) {
    case NN_AVGPOOL:
        c->kernel = "global_avgpool_nchw";
        st = global_avgpool_nchw(x->data, c->out[0].data, x->dims[0], x->dims[1], 1, sp);
        break;
    case NN_MAXPOOL:
        c->kernel = "max_rows";
        st = max_rows(x->data, c->out[0].data, nc, sp);
        break;
    default: {
        float p = c->node->opset < 2 ? attr_float(c->node, "p", 2.0f)
                                     : (float)attr_int(c->node, "p", 2);
        c->kernel = "nn_pool";
        st = nn_pool(x->data, c->out[0].data, NULL, 3, 1, 1, (int32_t)sp, 1, 1, 1, 0, 0, 0, 1,
                     1, 1, 0, 0, 0, p, 0, nc, 1, 1, sp, 1, 1, 1, 0);
    }
    }
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}
