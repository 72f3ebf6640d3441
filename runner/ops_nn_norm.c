// runner/ops_nn_norm.c — BatchNormalization (inference), InstanceNormalization,
// LayerNormalization, LRN, MeanVarianceNormalization, and Softmax / LogSoftmax / Hardmax, on
// f32 tensors.
//
// Kernels: nn_batchnorm, nn_rownorm, nn_lrn, nn_hardmax (runner/kernels/nn_norm.tile); stdlib
// layernorm (rows of up to 8192 with a full scale and shift), softmax / log_softmax (rows of up
// to 8192, else the _online versions) and transpose (a softmax axis that is not the last is
// moved there and back).
#include <string.h>

#include "layernorm.h"
#include "nn_norm.h"
#include "ops_nn.h"
#include "softmax.h"
#include "transpose.h"

static int64_t prod(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= d[i];
    return p;
}

static void same_shape_out(OpCtx *c) {
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
}

static int want_vec(const OpCtx *c, int i, const char *what, int64_t n, bool optional) {
    if (optional && (i >= c->nin || c->in[i].dtype == DT_UNDEF))
        return 0;
    int st = opnn_want_f32(c, i, what);
    if (st)
        return st;
    if (c->in[i].rank != 1 || c->in[i].dims[0] != n)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%s must have %lld elements", what,
                        (long long)n);
    return 0;
}

// ---------------------------------------------------------------- BatchNormalization

int opnn_bn_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    if (x->rank < 2)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want N, C, ...)", x->rank);
    if (attr_int(c->node, "training_mode", 0) != 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "training_mode is not supported");
    if (c->node->opset < 9 && attr_int(c->node, "spatial", 1) != 1)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "spatial = 0 is not supported");
    for (int o = 1; o < c->nout; o++)
        if (c->node->out[o] >= 0)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the training outputs (mean, var) "
                            "are not supported");
    const char *names[4] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++)
        if ((st = want_vec(c, i + 1, names[i], x->dims[1], false)))
            return st;
    same_shape_out(c);
    return 0;
}

int opnn_bn_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    c->kernel = "nn_batchnorm";
    int st = nn_batchnorm(x->data, c->in[1].data, c->in[2].data, c->in[3].data, c->in[4].data,
                          c->out[0].data, attr_float(c->node, "epsilon", 1e-5f), x->dims[0],
                          x->dims[1], prod(x->dims, 2, x->rank));
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- InstanceNormalization

int opnn_inorm_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    if (x->rank < 3)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want N, C, D1, ...)",
                        x->rank);
    if ((st = want_vec(c, 1, "scale", x->dims[1], false)) ||
        (st = want_vec(c, 2, "B", x->dims[1], false)))
        return st;
    same_shape_out(c);
    return 0;
}

int opnn_inorm_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int64_t C = x->dims[1];
    c->kernel = "nn_rownorm";
    int st = nn_rownorm(x->data, c->in[1].data, c->in[2].data, c->out[0].data, NULL, NULL,
                        attr_float(c->node, "epsilon", 1e-5f), 0, C, x->dims[0] * C,
                        prod(x->dims, 2, x->rank), C, C, 0);
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- LayerNormalization

// Scale or B (input i) as the normalized shape dims[axis:]: used as is when it has all of its
// elements, else broadcast into dst (returns dst). NULL for an omitted B.
static const float *ln_param(const OpCtx *c, int i, int axis, float *dst) {
    const Tensor *x = &c->in[0];
    if (i >= c->nin || c->in[i].dtype == DT_UNDEF)
        return NULL;
    const Tensor *p = &c->in[i];
    int64_t S = prod(x->dims, axis, x->rank);
    if (tensor_numel(p) == S)
        return p->data;
    int nr = x->rank - axis;
    int64_t idx[RMAX_RANK] = {0};
    const float *src = p->data;
    for (int64_t o = 0; o < S; o++) {
        int64_t off = 0, stride = 1;
        for (int j = p->rank - 1, k = nr - 1; j >= 0; j--, k--) {
            if (p->dims[j] != 1)
                off += idx[k] * stride;
            stride *= p->dims[j];
        }
        dst[o] = src[off];
        for (int k = nr - 1; k >= 0; k--) {
            if (++idx[k] < x->dims[axis + k])
                break;
            idx[k] = 0;
        }
    }
    return dst;
}

static int ln_axis(const OpCtx *c, int *axis) {
    if (!norm_axis(attr_int(c->node, "axis", -1), c->in[0].rank, axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis out of range");
    return 0;
}

int opnn_lnorm_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    int axis;
    if ((st = ln_axis(c, &axis)))
        return st;
    for (int i = 1; i < 3 && i < c->nin; i++) {
        if (i == 2 && c->in[2].dtype == DT_UNDEF)
            continue;
        if ((st = opnn_want_f32(c, i, i == 1 ? "Scale" : "B")))
            return st;
        const Tensor *p = &c->in[i];
        if (p->rank > x->rank - axis)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "Scale/B of rank %d", p->rank);
        for (int j = p->rank - 1, k = x->rank - 1; j >= 0; j--, k--)
            if (p->dims[j] != 1 && p->dims[j] != x->dims[k])
                return node_err(c, TILEC_MODEL_ERR_INVALID, "Scale/B do not broadcast to the "
                                "normalized shape");
    }
    if (c->nin < 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "missing Scale");
    same_shape_out(c);
    for (int o = 1; o < c->nout && o < 3; o++) {
        Tensor *m = &c->out[o];
        *m = *x;
        m->data = NULL;
        for (int k = axis; k < x->rank; k++)
            m->dims[k] = 1;
    }
    return 0;
}

size_t opnn_lnorm_scratch(const OpCtx *c) {
    int axis;
    if (!norm_axis(attr_int(c->node, "axis", -1), c->in[0].rank, &axis))
        return 0;
    const Tensor *x = &c->in[0];
    return (size_t)(2 * prod(x->dims, axis, x->rank) + prod(x->dims, 0, axis)) * sizeof(float);
}

int opnn_lnorm_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int axis;
    int st = ln_axis(c, &axis);
    if (st)
        return st;
    int64_t R = prod(x->dims, 0, axis), S = prod(x->dims, axis, x->rank);
    if (R * S == 0)
        return 0;
    float *sw = c->scratch;
    const float *w = ln_param(c, 1, axis, sw);
    const float *b = ln_param(c, 2, axis, sw + S);
    float eps = attr_float(c->node, "epsilon", 1e-5f);
    float *mean = c->nout > 1 && c->node->out[1] >= 0 ? c->out[1].data : NULL;
    float *inv = c->nout > 2 && c->node->out[2] >= 0 ? c->out[2].data : NULL;
    if (b && !mean && !inv && S <= 8192) {
        c->kernel = "layernorm";
        st = layernorm(x->data, w, b, c->out[0].data, eps, R, S);
        return st ? opnn_kernel_err(c, c->kernel, st) : 0;
    }
    // nn_rownorm writes both statistics or neither: the one not wanted goes to scratch.
    float *tmp = NULL;
    if ((mean || inv) && (!mean || !inv)) {
        tmp = (float *)c->scratch + 2 * S;
        if (!mean)
            mean = tmp;
        else
            inv = tmp;
    }
    c->kernel = "nn_rownorm";
    st = nn_rownorm(x->data, w, b, c->out[0].data, mean, inv, eps, 1, 1, R, S, S, b ? S : 0,
                    mean ? R : 0);
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- LRN

int opnn_lrn_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    if (c->in[0].rank < 2)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "input of rank %d (want N, C, ...)",
                        c->in[0].rank);
    if (attr_int(c->node, "size", 0) < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "size must be positive");
    same_shape_out(c);
    return 0;
}

int opnn_lrn_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    const Node *n = c->node;
    c->kernel = "nn_lrn";
    int st = nn_lrn(x->data, c->out[0].data, (int32_t)attr_int(n, "size", 1),
                    attr_float(n, "alpha", 1e-4f), attr_float(n, "beta", 0.75f),
                    attr_float(n, "bias", 1.0f), x->dims[0], x->dims[1],
                    prod(x->dims, 2, x->rank));
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- MeanVarianceNormalization

// The permutation that puts the kept axes first and the normalized ones last; the count of
// normalized axes in *nred. False when an axis is invalid.
static bool mvn_perm(const OpCtx *c, int perm[RMAX_RANK], int *nred) {
    int rank = c->in[0].rank;
    bool red[RMAX_RANK] = {false};
    const int64_t *v;
    int cnt = attr_ints(c->node, "axes", &v);
    static const int64_t def[3] = {0, 2, 3};
    if (cnt < 0) {
        v = def;
        cnt = 3;
    }
    for (int i = 0; i < cnt; i++) {
        int a;
        if (!norm_axis(v[i], rank, &a) || red[a])
            return false;
        red[a] = true;
    }
    int k = 0;
    for (int i = 0; i < rank; i++)
        if (!red[i])
            perm[k++] = i;
    *nred = rank - k;
    for (int i = 0; i < rank; i++)
        if (red[i])
            perm[k++] = i;
    return true;
}

int opnn_mvn_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    int perm[RMAX_RANK], nred;
    if (!mvn_perm(c, perm, &nred))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "bad axes");
    same_shape_out(c);
    return 0;
}

size_t opnn_mvn_scratch(const OpCtx *c) {
    return 2 * (size_t)tensor_numel(&c->in[0]) * sizeof(float);
}

int opnn_mvn_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int perm[RMAX_RANK], nred;
    if (!mvn_perm(c, perm, &nred))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "bad axes");
    int rank = x->rank;
    int64_t total = tensor_numel(x);
    if (total == 0)
        return 0;
    int64_t pd[RMAX_RANK], S = 1;
    bool ident = true;
    for (int i = 0; i < rank; i++) {
        pd[i] = x->dims[perm[i]];
        if (perm[i] != i)
            ident = false;
        if (i >= rank - nred)
            S *= pd[i];
    }
    float *t1 = c->scratch, *t2 = t1 + total;
    const float *src = x->data;
    float *dst = c->out[0].data;
    if (!ident) {
        opnn_permute(x->data, t1, rank, x->dims, perm);
        src = t1;
        dst = t2;
    }
    c->kernel = "nn_rownorm";
    int st = nn_rownorm(src, NULL, NULL, dst, NULL, NULL, 1e-9f, 2, 1, total / S, S, 0, 0, 0);
    if (st)
        return opnn_kernel_err(c, c->kernel, st);
    if (!ident) {
        int inv[RMAX_RANK];
        for (int i = 0; i < rank; i++)
            inv[perm[i]] = i;
        opnn_permute(t2, c->out[0].data, rank, pd, inv);
    }
    return 0;
}

// ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax

// The tensor as [A, L, B] with the op's axis as L (before opset 13: [A, L] with B = 1, L the
// product of the dims from the axis on).
static int sm_split(const OpCtx *c, int64_t *A, int64_t *L, int64_t *B) {
    const Tensor *x = &c->in[0];
    bool old = (c->node->op->code & NN_SOFTMAX_OLD) != 0;
    int rank = x->rank > 0 ? x->rank : 1;
    int axis;
    if (!norm_axis(attr_int(c->node, "axis", old ? 1 : -1), rank, &axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis out of range");
    if (x->rank == 0) {
        *A = *L = *B = 1;
        return 0;
    }
    *A = prod(x->dims, 0, axis);
    *L = old ? prod(x->dims, axis, x->rank) : x->dims[axis];
    *B = old ? 1 : prod(x->dims, axis + 1, x->rank);
    return 0;
}

int opnn_softmax_infer(OpCtx *c) {
    int st = opnn_want_f32(c, 0, "input");
    if (st)
        return st;
    int64_t A, L, B;
    if ((st = sm_split(c, &A, &L, &B)))
        return st;
    same_shape_out(c);
    return 0;
}

size_t opnn_softmax_scratch(const OpCtx *c) {
    int64_t A, L, B;
    RErr e;
    OpCtx q = *c;
    q.err = &e;
    if (sm_split(&q, &A, &L, &B) || B == 1)
        return 0;
    return 2 * (size_t)(A * L * B) * sizeof(float);
}

static int sm_rows(OpCtx *c, const float *x, float *y, int64_t R, int64_t C) {
    int which = c->node->op->code & 3;
    int st;
    if (which == NN_HARDMAX) {
        c->kernel = "nn_hardmax";
        st = nn_hardmax(x, y, R, C);
    } else if (which == NN_SOFTMAX) {
        c->kernel = C <= 8192 ? "softmax" : "softmax_online";
        st = C <= 8192 ? softmax(x, y, R, C) : softmax_online(x, y, R, C);
    } else {
        c->kernel = C <= 8192 ? "log_softmax" : "log_softmax_online";
        st = C <= 8192 ? log_softmax(x, y, R, C) : log_softmax_online(x, y, R, C);
    }
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}

int opnn_softmax_run(OpCtx *c) {
    int64_t A, L, B;
    int st = sm_split(c, &A, &L, &B);
    if (st)
        return st;
    if (A * L * B == 0)
        return 0;
    if (B == 1)
        return sm_rows(c, c->in[0].data, c->out[0].data, A, L);
    float *t1 = c->scratch, *t2 = t1 + A * L * B;
    if ((st = transpose(c->in[0].data, t1, A, L, B)))
        return opnn_kernel_err(c, "transpose", st);
    if ((st = sm_rows(c, t1, t2, A * B, L)))
        return st;
    if ((st = transpose(t2, c->out[0].data, A, B, L)))
        return opnn_kernel_err(c, "transpose", st);
    return 0;
}
