// runner/ops_nn.c — the `nn` op group: convolutions, pooling, normalizations, softmax and
// resizing of f32 tensors (ops_nn_conv.c, ops_nn_pool.c, ops_nn_norm.c, ops_nn_resize.c), on
// the stdlib's conv2d/pool/softmax/layernorm/transpose kernels and runner/kernels/nn_*.tile.
// This file holds the op table and what the files share: window attributes (kernel_shape,
// strides, dilations, pads, auto_pad, ceil_mode), input checks and a permuting copy.
#include <string.h>

#include "ops_nn.h"

int opnn_kernel_err(const OpCtx *c, const char *kernel, int st) {
    return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", kernel, st);
}

int opnn_want_f32(const OpCtx *c, int i, const char *what) {
    if (i >= c->nin || c->in[i].dtype == DT_UNDEF)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "missing input %d (%s)", i, what);
    if (c->in[i].dtype != DT_F32)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input %d (%s) is %s: not supported (only float is)",
                        i, what, dtype_name(c->in[i].dtype));
    return 0;
}

const Tensor *opnn_const_input(const Node *n, const Graph *g, int i) {
    if (i >= n->nin || n->in[i] < 0)
        return NULL;
    const Value *v = &g->values[n->in[i]];
    return v->kind == VAL_CONST && v->t.data ? &v->t : NULL;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

int opnn_window(const OpCtx *c, const Tensor *x, const int64_t *kshape, bool ceil_mode,
                NnWindow *w) {
    const Node *n = c->node;
    memset(w, 0, sizeof *w);
    w->nsp = x->rank - 2;
    if (w->nsp < 1 || w->nsp > NN_MAX_SPATIAL)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input of rank %d: only 1 to %d spatial "
                        "dimensions are supported", x->rank, NN_MAX_SPATIAL);
    int nsp = w->nsp;
    const int64_t *v;
    int cnt = attr_ints(n, "kernel_shape", &v);
    if (cnt >= 0) {
        if (cnt != nsp)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "kernel_shape has %d values for %d spatial "
                            "dimensions", cnt, nsp);
        for (int i = 0; i < nsp; i++)
            w->k[i] = v[i];
        if (kshape)
            for (int i = 0; i < nsp; i++)
                if (kshape[i] != v[i])
                    return node_err(c, TILEC_MODEL_ERR_INVALID, "kernel_shape does not match the "
                                    "weights");
    } else if (kshape) {
        for (int i = 0; i < nsp; i++)
            w->k[i] = kshape[i];
    } else {
        return node_err(c, TILEC_MODEL_ERR_INVALID, "no kernel_shape");
    }
    const char *names[2] = {"strides", "dilations"};
    int64_t *dst[2] = {w->s, w->d};
    for (int a = 0; a < 2; a++) {
        cnt = attr_ints(n, names[a], &v);
        if (cnt >= 0 && cnt != nsp)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "%s has %d values for %d spatial "
                            "dimensions", names[a], cnt, nsp);
        for (int i = 0; i < nsp; i++) {
            dst[a][i] = cnt >= 0 ? v[i] : 1;
            if (dst[a][i] < 1)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "%s must be positive", names[a]);
        }
    }
    cnt = attr_ints(n, "pads", &v);
    if (cnt >= 0 && cnt != 2 * nsp)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "pads has %d values for %d spatial dimensions",
                        cnt, nsp);
    for (int i = 0; i < nsp; i++) {
        w->pb[i] = cnt >= 0 ? v[i] : 0;
        w->pe[i] = cnt >= 0 ? v[i + nsp] : 0;
        if (w->pb[i] < 0 || w->pe[i] < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "negative pads");
        if (w->k[i] < 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "kernel_shape must be positive");
        // The kernels take windows, strides, dilations and pads as 32-bit integers.
        if (w->k[i] > NN_MAX_ATTR || w->s[i] > NN_MAX_ATTR || w->d[i] > NN_MAX_ATTR ||
            w->pb[i] > NN_MAX_ATTR || w->pe[i] > NN_MAX_ATTR)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                            "kernel_shape, strides, dilations and pads above 2^30 are not supported");
        w->in[i] = x->dims[i + 2];
    }
    char buf[32];
    const char *ap = attr_str(n, "auto_pad", "NOTSET", buf, sizeof buf);
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same && !valid && strcmp(ap, "NOTSET") != 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "auto_pad '%s'", ap);
    for (int i = 0; i < nsp; i++) {
        int64_t ek = (w->k[i] - 1) * w->d[i] + 1;   // the dilated window
        if (same) {
            w->out[i] = ceil_div(w->in[i], w->s[i]);
            int64_t total = (w->out[i] - 1) * w->s[i] + ek - w->in[i];
            if (total < 0)
                total = 0;
            w->pb[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
        } else {
            if (valid)
                w->pb[i] = w->pe[i] = 0;
            int64_t span = w->in[i] + w->pb[i] + w->pe[i] - ek;
            if (span < 0)
                return node_err(c, TILEC_MODEL_ERR_INPUT, "the window (%lld) is larger than the "
                                "padded input (%lld)", (long long)ek,
                                (long long)(w->in[i] + w->pb[i] + w->pe[i]));
            w->out[i] = (ceil_mode ? ceil_div(span, w->s[i]) : span / w->s[i]) + 1;
            // A last window that would start inside the end padding is dropped (ceil_mode).
            if (ceil_mode && (w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i])
                w->out[i]--;
        }
    }
    return 0;
}

void opnn_permute(const float *src, float *dst, int rank, const int64_t *dims, const int *perm) {
    int64_t sstride[RMAX_RANK], odims[RMAX_RANK], ostride[RMAX_RANK], idx[RMAX_RANK];
    int64_t total = 1;
    for (int i = rank - 1; i >= 0; i--) {
        sstride[i] = total;
        total *= dims[i];
    }
    for (int j = 0; j < rank; j++) {
        odims[j] = dims[perm[j]];
        ostride[j] = sstride[perm[j]];
        idx[j] = 0;
    }
    if (total == 0)
        return;
    int64_t inner = rank > 0 ? odims[rank - 1] : 1;
    int64_t is = rank > 0 ? ostride[rank - 1] : 1;
    for (int64_t o = 0; o < total; o += inner) {
        int64_t off = 0;
        for (int j = 0; j < rank - 1; j++)
            off += idx[j] * ostride[j];
        for (int64_t i = 0; i < inner; i++)
            dst[o + i] = src[off + i * is];
        for (int j = rank - 2; j >= 0; j--) {
            if (++idx[j] < odims[j])
                break;
            idx[j] = 0;
        }
    }
}

#define F32OP(name, since, until, flags, shape, code, prep, inf, rn, scr, fr) \
    {name, since, until, flags, shape, code, prep, inf, rn, scr, fr}

const OpDef ops_nn[] = {
    F32OP("Conv", 1, 0, OP_EPILOGUE, 0, 0, opnn_conv_prepare, opnn_conv_infer, opnn_conv_run,
          opnn_conv_scratch, opnn_conv_free),
    F32OP("ConvTranspose", 1, 0, OP_EPILOGUE, 0, 0, opnn_convtr_prepare, opnn_convtr_infer, opnn_convtr_run,
          opnn_convtr_scratch, opnn_conv_free),
    F32OP("MaxPool", 1, 0, 0, 0, NN_MAXPOOL, NULL, opnn_pool_infer, opnn_pool_run, NULL, NULL),
    F32OP("AveragePool", 1, 0, 0, 0, NN_AVGPOOL, NULL, opnn_pool_infer, opnn_pool_run, NULL, NULL),
    F32OP("LpPool", 1, 0, 0, 0, NN_LPPOOL, NULL, opnn_pool_infer, opnn_pool_run, NULL, NULL),
    F32OP("GlobalMaxPool", 1, 0, 0, 0, NN_MAXPOOL, NULL, opnn_gpool_infer, opnn_gpool_run, NULL,
          NULL),
    F32OP("GlobalAveragePool", 1, 0, 0, 0, NN_AVGPOOL, NULL, opnn_gpool_infer, opnn_gpool_run,
          NULL, NULL),
    F32OP("GlobalLpPool", 1, 0, 0, 0, NN_LPPOOL, NULL, opnn_gpool_infer, opnn_gpool_run, NULL,
          NULL),
    F32OP("BatchNormalization", 6, 0, OP_INPLACE, 0, 0, NULL, opnn_bn_infer, opnn_bn_run, NULL,
          NULL),
    F32OP("InstanceNormalization", 1, 0, 0, 0, 0, NULL, opnn_inorm_infer, opnn_inorm_run, NULL,
          NULL),
    F32OP("LayerNormalization", 17, 0, 0, 0, 0, NULL, opnn_lnorm_infer, opnn_lnorm_run,
          opnn_lnorm_scratch, NULL),
    F32OP("LRN", 1, 0, 0, 0, 0, NULL, opnn_lrn_infer, opnn_lrn_run, NULL, NULL),
    F32OP("MeanVarianceNormalization", 9, 0, 0, 0, 0, NULL, opnn_mvn_infer, opnn_mvn_run,
          opnn_mvn_scratch, NULL),
    F32OP("Softmax", 1, 12, 0, 0, NN_SOFTMAX | NN_SOFTMAX_OLD, NULL, opnn_softmax_infer,
          opnn_softmax_run, opnn_softmax_scratch, NULL),
    F32OP("Softmax", 13, 0, 0, 0, NN_SOFTMAX, NULL, opnn_softmax_infer, opnn_softmax_run,
          opnn_softmax_scratch, NULL),
    F32OP("LogSoftmax", 1, 12, 0, 0, NN_LOGSOFTMAX | NN_SOFTMAX_OLD, NULL, opnn_softmax_infer,
          opnn_softmax_run, opnn_softmax_scratch, NULL),
    F32OP("LogSoftmax", 13, 0, 0, 0, NN_LOGSOFTMAX, NULL, opnn_softmax_infer, opnn_softmax_run,
          opnn_softmax_scratch, NULL),
    F32OP("Hardmax", 1, 12, 0, 0, NN_HARDMAX | NN_SOFTMAX_OLD, NULL, opnn_softmax_infer,
          opnn_softmax_run, opnn_softmax_scratch, NULL),
    F32OP("Hardmax", 13, 0, 0, 0, NN_HARDMAX, NULL, opnn_softmax_infer, opnn_softmax_run,
          opnn_softmax_scratch, NULL),
    F32OP("Resize", 10, 10, 0, 0x2, NN_RESIZE, NULL, opnn_resize_infer, opnn_resize_run,
          opnn_resize_scratch, NULL),
    F32OP("Resize", 11, 0, 0, 0xe, NN_RESIZE, NULL, opnn_resize_infer, opnn_resize_run,
          opnn_resize_scratch, NULL),
    F32OP("Upsample", 7, 8, 0, 0, NN_UPSAMPLE, NULL, opnn_resize_infer, opnn_resize_run,
          opnn_resize_scratch, NULL),
    F32OP("Upsample", 9, 9, 0, 0x2, NN_UPSAMPLE, NULL, opnn_resize_infer, opnn_resize_run,
          opnn_resize_scratch, NULL),
};
const int ops_nn_count = (int)(sizeof ops_nn / sizeof ops_nn[0]);
