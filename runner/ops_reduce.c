// runner/ops_reduce.c — reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare,
// ArgMax/ArgMin, TopK and CumSum.
//
// A reduction over any set of axes is brought to the [A, R, B] form of the kernels: dims of size
// 1 are dropped and neighbouring axes that are both reduced or both kept are merged. One run of
// reduced axes is the middle of [A, R, B] as it lies in memory (stdlib/reduce.tile's _rows
// kernels when B = 1, _axis otherwise; runner/kernels/rd_kernels.tile for the codes stdlib has
// not); several runs are first copied into scratch with the kept axes first, which makes the
// reduced ones the rows of a [A, R] matrix. ArgMax/ArgMin and CumSum work on one axis, TopK on
// rows (an inner axis is moved last into scratch and back).
#include <stdlib.h>
#include <string.h>

#include "rd_kernels.h"
#include "reduce.h"
#include "runner.h"

// Reduction codes of rd_kernels.tile; AXES_INPUT marks the opset ranges whose axes are input 1.
enum {
    RD_SUM = 0,
    RD_MEAN = 1,
    RD_MAX = 2,
    RD_MIN = 3,
    RD_PROD = 4,
    RD_L1 = 5,
    RD_L2 = 6,
    RD_SUMSQ = 7,
    RD_LOGSUM = 8,
    RD_LSE = 9,
    AXES_INPUT = 16,
};

// ---------------------------------------------------------------- data movement


static void row_major_strides(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

static int64_t prod(const int64_t *d, int lo, int hi) {
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= d[i];
    return p;
}

static int kerr(OpCtx *c, const char *name, int st) {
    return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", name, st);
}

// ---------------------------------------------------------------- Reduce*

// The reduced axes as a mask; *noop when the op copies its input (empty axes with
// noop_with_empty_axes).
static int reduce_axes(const OpCtx *c, bool *mask, bool *noop) {
    const Node *n = c->node;
    const Tensor *x = &c->in[0];
    int64_t buf[RMAX_RANK];
    const int64_t *axes = NULL;
    int naxes = 0;
    *noop = false;
    if (n->op->code & AXES_INPUT) {
        if (c->nin > 1 && c->in[1].dtype != DT_UNDEF) {
            const Tensor *a = &c->in[1];
            if (a->dtype != DT_I64 && a->dtype != DT_I32)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "axes must be int64, got %s",
                                dtype_name(a->dtype));
            int64_t k = tensor_numel(a);
            if (k > RMAX_RANK || (k > 0 && a->rank > 1))
                return node_err(c, TILEC_MODEL_ERR_INVALID, "axes must be a 1-D tensor of at "
                                "most %d axes", RMAX_RANK);
            if (k > 0 && !a->data)
                return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "axes must be known when "
                                "planning");
            for (int64_t i = 0; i < k; i++)
                buf[i] = tensor_get_int(a, i);
            axes = buf;
            naxes = (int)k;
        }
        if (naxes == 0 && attr_int(n, "noop_with_empty_axes", 0))
            *noop = true;
    } else {
        naxes = attr_ints(n, "axes", &axes);
        if (naxes > RMAX_RANK)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "too many axes (%d)", naxes);
        if (naxes < 0)
            naxes = 0;
    }
    for (int i = 0; i < x->rank; i++)
        mask[i] = naxes == 0 && !*noop;
    for (int i = 0; i < naxes; i++) {
        int ax;
        if (!norm_axis(axes[i], x->rank, &ax))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld out of range for rank %d",
                            (long long)axes[i], x->rank);
        if (mask[ax])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld repeated",
                            (long long)axes[i]);
        mask[ax] = true;
    }
    return 0;
}

static int reduce_infer(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int op = c->node->op->code & 15;
    bool int_ok = op == RD_SUM || op == RD_MAX || op == RD_MIN || op == RD_PROD;
    if (x->dtype != DT_F32 && x->dtype != DT_F64 &&
        !(int_ok && (x->dtype == DT_I32 || x->dtype == DT_I64)))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element type %s (float and double; "
                        "int32 and int64 for sum, max, min, product)", dtype_name(x->dtype));
    bool mask[RMAX_RANK], noop;
    int st = reduce_axes(c, mask, &noop);
    if (st)
        return st;
    bool keep = attr_int(c->node, "keepdims", 1) != 0;
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!mask[i])
            y->dims[y->rank++] = x->dims[i];
        else if (keep)
            y->dims[y->rank++] = 1;
    }
    return 0;
}

// The reduction's layout: A, R, B and whether the input is first permuted into scratch (kept
// axes first) to make one run of reduced axes.
typedef struct RLayout {
    int64_t A, R, B;
    bool permute;
    int rank;                       // the permuted view: dims and source strides
    int64_t dims[RMAX_RANK], strides[RMAX_RANK];
} RLayout;

static void reduce_layout(const Tensor *x, const bool *mask, RLayout *L) {
    // Runs of reduced/kept axes, size-1 axes ignored.
    int runs = 0, prev = -1;
    for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] == 1)
            continue;
        if ((int)mask[i] != prev)
            runs += mask[i] ? 1 : 0;
        prev = mask[i];
    }
    L->A = L->R = L->B = 1;
    L->permute = false;
    L->rank = 0;
    if (runs <= 1) {
        int first = -1, last = -1;
        for (int i = 0; i < x->rank; i++)
            if (mask[i] && x->dims[i] != 1) {
                if (first < 0)
                    first = i;
                last = i;
            }
        if (first < 0) {  // only size-1 axes reduced: a reduction over one element
            L->A = tensor_numel(x);
            return;
        }
        L->A = prod(x->dims, 0, first);
        L->R = prod(x->dims, first, last + 1);
        L->B = prod(x->dims, last + 1, x->rank);
        return;
    }
    int64_t st[RMAX_RANK];
    row_major_strides(x->rank, x->dims, st);
    L->permute = true;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < x->rank; i++)
            if ((int)mask[i] == pass) {
                L->dims[L->rank] = x->dims[i];
                L->strides[L->rank++] = st[i];
                if (pass)
                    L->R *= x->dims[i];
                else
                    L->A *= x->dims[i];
            }
}

static size_t reduce_scratch(const OpCtx *c) {
    bool mask[RMAX_RANK], noop;
    if (reduce_axes(c, mask, &noop) != 0)
        return tensor_bytes(&c->in[0]);
    if (noop)
        return 0;
    RLayout L;
    reduce_layout(&c->in[0], mask, &L);
    return L.permute ? tensor_bytes(&c->in[0]) : 0;
}

static int reduce_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    int op = c->node->op->code & 15;
    bool mask[RMAX_RANK], noop;
    int st = reduce_axes(c, mask, &noop);
    if (st)
        return st;
    if (noop) {
        memcpy(y->data, x->data, tensor_bytes(x));
        return 0;
    }
    if (tensor_numel(y) == 0)
        return 0;
    RLayout L;
    reduce_layout(x, mask, &L);
    const void *src = x->data;
    if (L.permute) {
        tensor_copy_strided(c->scratch, x->data, L.rank, L.dims, L.strides, dtype_size(x->dtype));
        src = c->scratch;
    }
    int64_t A = L.A, R = L.R, B = L.B;
    if (x->dtype == DT_I64 || x->dtype == DT_I32) {
        if (x->dtype == DT_I64) {
            c->kernel = "rd_axis_i64";
            st = rd_axis_i64(src, y->data, op, A, R, B);
        } else {
            c->kernel = "rd_axis_i32";
            st = rd_axis_i32(src, y->data, op, A, R, B);
        }
        return st ? kerr(c, c->kernel, st) : 0;
    }
    if (x->dtype == DT_F64) {
        const double *X = src;
        double *Y = y->data;
        if (B == 1 && op != RD_PROD) {
            c->kernel = "rd_rows_f64";
            st = rd_rows_f64(X, Y, op, A, R);
        } else {
            c->kernel = "rd_axis_f64";
            st = rd_axis_f64(X, Y, op, A, R, B);
        }
        return st ? kerr(c, c->kernel, st) : 0;
    }
    const float *X = src;
    float *Y = y->data;
    if (B == 1) {
        switch (op) {
        case RD_SUM: c->kernel = "sum_rows"; st = sum_rows(X, Y, A, R); break;
        case RD_MEAN: c->kernel = "mean_rows"; st = mean_rows(X, Y, A, R); break;
        case RD_MAX: c->kernel = "max_rows"; st = max_rows(X, Y, A, R); break;
        case RD_PROD: c->kernel = "rd_axis"; st = rd_axis(X, Y, op, A, R, 1); break;
        default: c->kernel = "rd_rows"; st = rd_rows(X, Y, op, A, R); break;
        }
    } else {
        switch (op) {
        case RD_SUM: c->kernel = "sum_axis"; st = sum_axis(X, Y, A, R, B); break;
        case RD_MEAN: c->kernel = "mean_axis"; st = mean_axis(X, Y, A, R, B); break;
        case RD_MAX: c->kernel = "max_axis"; st = max_axis(X, Y, A, R, B); break;
        default: c->kernel = "rd_axis"; st = rd_axis(X, Y, op, A, R, B); break;
        }
    }
    return st ? kerr(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- ArgMax, ArgMin

static int arg_infer(OpCtx *c) {
    const Tensor *x = &c->in[0];
    if (x->dtype != DT_F32)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element type %s (float only)",
                        dtype_name(x->dtype));
    if (x->rank < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input must have rank >= 1");
    int ax;
    int64_t axis = attr_int(c->node, "axis", 0);
    if (!norm_axis(axis, x->rank, &ax))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld out of range for rank %d",
                        (long long)axis, x->rank);
    if (x->dims[ax] == 0)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "the reduced axis is empty");
    bool keep = attr_int(c->node, "keepdims", 1) != 0;
    Tensor *y = &c->out[0];
    y->dtype = DT_I64;
    y->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            y->dims[y->rank++] = x->dims[i];
        else if (keep)
            y->dims[y->rank++] = 1;
    }
    return 0;
}

static int arg_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    int ax;
    norm_axis(attr_int(c->node, "axis", 0), x->rank, &ax);
    int mode = c->node->op->code | (attr_int(c->node, "select_last_index", 0) ? 2 : 0);
    int64_t A = prod(x->dims, 0, ax), R = x->dims[ax], B = prod(x->dims, ax + 1, x->rank);
    int st;
    if (B == 1) {
        c->kernel = "rd_arg_rows";
        st = rd_arg_rows(x->data, c->out[0].data, mode, A, R);
    } else {
        c->kernel = "rd_arg_axis";
        st = rd_arg_axis(x->data, c->out[0].data, mode, A, R, B);
    }
    return st ? kerr(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- TopK

#define TOPK_MAX_ROW 16384  // rd_topk's largest tile

static int topk_k(const OpCtx *c, int64_t *k) {
    if (c->node->op->code == 0) {  // opset 1-9: attribute k
        *k = attr_int(c->node, "k", -1);
    } else {
        const Tensor *kt = c->nin > 1 ? &c->in[1] : NULL;
        if (!kt || kt->dtype == DT_UNDEF)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input K is missing");
        if (tensor_numel(kt) != 1 || !dtype_is_int(kt->dtype))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "K must be one integer");
        if (!kt->data)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "K must be known when planning");
        *k = tensor_get_int(kt, 0);
    }
    return 0;
}

static int topk_infer(OpCtx *c) {
    const Tensor *x = &c->in[0];
    if (x->dtype != DT_F32)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element type %s (float only)",
                        dtype_name(x->dtype));
    int ax;
    int64_t axis = attr_int(c->node, "axis", -1), k = 0;
    if (x->rank < 1 || !norm_axis(axis, x->rank, &ax))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld out of range for rank %d",
                        (long long)axis, x->rank);
    int st = topk_k(c, &k);
    if (st)
        return st;
    if (k < 0 || k > x->dims[ax])
        return node_err(c, TILEC_MODEL_ERR_INPUT, "K = %lld for an axis of %lld", (long long)k,
                        (long long)x->dims[ax]);
    if (x->dims[ax] > TOPK_MAX_ROW)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "an axis of %lld (at most %d)",
                        (long long)x->dims[ax], TOPK_MAX_ROW);
    for (int i = 0; i < 2; i++) {
        Tensor *y = &c->out[i];
        *y = *x;
        y->data = NULL;
        y->dims[ax] = k;
        y->dtype = i ? DT_I64 : DT_F32;
    }
    return 0;
}

static size_t topk_scratch(const OpCtx *c) {
    const Tensor *x = &c->in[0];
    int ax;
    if (!norm_axis(attr_int(c->node, "axis", -1), x->rank, &ax) || ax == x->rank - 1)
        return 0;
    int64_t k = x->dims[ax];  // at most the axis
    int64_t rows = tensor_numel(x) / (x->dims[ax] ? x->dims[ax] : 1);
    return tensor_bytes(x) + (size_t)(rows * k) * (sizeof(float) + sizeof(int64_t)) + 64;
}

static int topk_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    Tensor *v = &c->out[0], *ix = &c->out[1];
    int ax;
    norm_axis(attr_int(c->node, "axis", -1), x->rank, &ax);
    int64_t k = v->dims[ax];
    if (tensor_numel(v) == 0)
        return 0;
    int largest = c->node->op->code == 2 ? (int)attr_int(c->node, "largest", 1) != 0 : 1;
    int64_t A = prod(x->dims, 0, ax), R = x->dims[ax], B = prod(x->dims, ax + 1, x->rank);
    c->kernel = "rd_topk";
    if (B == 1) {
        int st = rd_topk(x->data, v->data, ix->data, largest, A, R, k);
        return st ? kerr(c, "rd_topk", st) : 0;
    }
    // [A, R, B] -> [A, B, R], rows of R; results [A, B, k] -> [A, k, B].
    float *xt = c->scratch, *vt = xt + A * R * B;
    int64_t *it = (int64_t *)(((uintptr_t)(vt + A * B * k) + 7) & ~(uintptr_t)7);
    int64_t d3[3] = {A, B, R}, s3[3] = {R * B, 1, B};
    tensor_copy_strided(xt, x->data, 3, d3, s3, sizeof(float));
    int st = rd_topk(xt, vt, it, largest, A * B, R, k);
    if (st)
        return kerr(c, "rd_topk", st);
    int64_t o3[3] = {A, k, B}, t3[3] = {B * k, 1, k};
    tensor_copy_strided(v->data, vt, 3, o3, t3, sizeof(float));
    tensor_copy_strided(ix->data, it, 3, o3, t3, sizeof(int64_t));
    return 0;
}

// ---------------------------------------------------------------- CumSum

static int cumsum_infer(OpCtx *c) {
    const Tensor *x = &c->in[0], *a = c->nin > 1 ? &c->in[1] : NULL;
    int t = x->dtype;
    if (t != DT_F32 && t != DT_F64 && t != DT_I32 && t != DT_I64)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element type %s", dtype_name(t));
    if (!a || a->dtype == DT_UNDEF || (a->dtype != DT_I32 && a->dtype != DT_I64) ||
        tensor_numel(a) != 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis must be one int32 or int64");
    if (x->rank < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input must have rank >= 1");
    c->out[0] = *x;
    c->out[0].data = NULL;
    return 0;
}

static int cumsum_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    int ax;
    int64_t axis = tensor_get_int(&c->in[1], 0);
    if (!norm_axis(axis, x->rank, &ax))
        return node_err(c, TILEC_MODEL_ERR_INPUT, "axis %lld out of range for rank %d",
                        (long long)axis, x->rank);
    if (tensor_numel(x) == 0)
        return 0;
    int ex = attr_int(c->node, "exclusive", 0) != 0, rev = attr_int(c->node, "reverse", 0) != 0;
    int64_t A = prod(x->dims, 0, ax), R = x->dims[ax], B = prod(x->dims, ax + 1, x->rank);
    int st;
    void *y = c->out[0].data;
    switch (x->dtype) {
    case DT_F32: c->kernel = "rd_cumsum"; st = rd_cumsum(x->data, y, ex, rev, A, R, B); break;
    case DT_F64:
        c->kernel = "rd_cumsum_f64";
        st = rd_cumsum_f64(x->data, y, ex, rev, A, R, B);
        break;
    case DT_I32:
        c->kernel = "rd_cumsum_i32";
        st = rd_cumsum_i32(x->data, y, ex, rev, A, R, B);
        break;
    default:
        c->kernel = "rd_cumsum_i64";
        st = rd_cumsum_i64(x->data, y, ex, rev, A, R, B);
        break;
    }
    return st ? kerr(c, c->kernel, st) : 0;
}

// ---------------------------------------------------------------- the table

#define RED(name, op, split)                                                                 \
    {name, 1, (split) - 1, 0, 0, op, NULL, reduce_infer, reduce_run, reduce_scratch, NULL},  \
    {name, split, 0, 0, 2, (op) | AXES_INPUT, NULL, reduce_infer, reduce_run, reduce_scratch, NULL}

const OpDef ops_reduce[] = {
    RED("ReduceSum", RD_SUM, 13),
    RED("ReduceMean", RD_MEAN, 18),
    RED("ReduceMax", RD_MAX, 18),
    RED("ReduceMin", RD_MIN, 18),
    RED("ReduceProd", RD_PROD, 18),
    RED("ReduceL1", RD_L1, 18),
    RED("ReduceL2", RD_L2, 18),
    RED("ReduceSumSquare", RD_SUMSQ, 18),
    RED("ReduceLogSum", RD_LOGSUM, 18),
    RED("ReduceLogSumExp", RD_LSE, 18),
    {"ArgMax", 1, 0, 0, 0, 0, NULL, arg_infer, arg_run, NULL, NULL},
    {"ArgMin", 1, 0, 0, 0, 1, NULL, arg_infer, arg_run, NULL, NULL},
    {"TopK", 1, 9, 0, 0, 0, NULL, topk_infer, topk_run, topk_scratch, NULL},
    {"TopK", 10, 10, 0, 2, 1, NULL, topk_infer, topk_run, topk_scratch, NULL},
    {"TopK", 11, 0, 0, 2, 2, NULL, topk_infer, topk_run, topk_scratch, NULL},
    {"CumSum", 11, 0, 0, 0, 0, NULL, cumsum_infer, cumsum_run, NULL, NULL},
};
const int ops_reduce_count = (int)(sizeof ops_reduce / sizeof ops_reduce[0]);
