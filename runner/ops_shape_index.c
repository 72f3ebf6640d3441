// runner/ops_shape_index.c — the indexing ops of the `shape` group (ops_shape.c): Gather,
// GatherElements, GatherND, Scatter/ScatterElements, ScatterND, Compress, OneHot and
// ReverseSequence. Indices are checked at run time (negative ones count from the end; others
// out of range are an input error). Plain scatters and gathers move bytes in C; the scatter
// reductions (add, mul, max, min) run on the sh_scat* kernels of runner/kernels/shape.tile,
// given the element offsets computed here.
#include <string.h>

#include "ops_shape.h"
#include "shape.h"

// Index k of an int32/int64 tensor.
static inline int64_t idx_at(const Tensor *t, int64_t k) {
    return t->dtype == DT_I64 ? ((const int64_t *)t->data)[k] : ((const int32_t *)t->data)[k];
}

// An index normalized into [0, n), or a run-time input error.
static int norm_index(OpCtx *c, int64_t v, int64_t n, int64_t *out) {
    int64_t w = v < 0 ? v + n : v;
    if (w < 0 || w >= n)
        return node_err(c, TILEC_MODEL_ERR_INPUT,
                        "index %lld is out of range for a dimension of %lld", (long long)v,
                        (long long)n);
    *out = w;
    return 0;
}

static void copy_elem(void *dst, const void *src, size_t es) {
    switch (es) {
    case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    default: memcpy(dst, src, 8); break;
    }
}

// ---------------------------------------------------------------- Gather

int sh_gather_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st || (st = sh_check_index(c, 1, false)) != 0)
        return st;
    const Tensor *x = &c->in[0], *ix = &c->in[1];
    int axis;
    int64_t a = attr_int(c->node, "axis", 0);
    if (!norm_axis(a, x->rank, &axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)a, x->rank);
    int r = x->rank - 1 + ix->rank;
    if (r > RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the output would have rank %d", r);
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 0;
    for (int i = 0; i < axis; i++)
        y->dims[y->rank++] = x->dims[i];
    for (int i = 0; i < ix->rank; i++)
        y->dims[y->rank++] = ix->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        y->dims[y->rank++] = x->dims[i];
    return 0;
}

int sh_gather_run(OpCtx *c) {
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0], *ix = &c->in[1];
    int axis;
    norm_axis(attr_int(c->node, "axis", 0), x->rank, &axis);
    size_t es = dtype_size(x->dtype);
    int64_t outer = 1, inner = 1, n = x->dims[axis], k = tensor_numel(ix);
    for (int i = 0; i < x->rank; i++) {
        if (i < axis)
            outer *= x->dims[i];
        else if (i > axis)
            inner *= x->dims[i];
    }
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    size_t row = (size_t)inner * es;
    unsigned char *dst = c->out[0].data;
    const unsigned char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < k; j++) {
            int64_t w = 0;
            int st = norm_index(c, idx_at(ix, j), n, &w);
            if (st)
                return st;
            if (row == es)
                copy_elem(dst, src + ((size_t)(o * n + w)) * es, es);
            else
                memcpy(dst, src + (size_t)(o * n + w) * row, row);
            dst += row;
        }
    return 0;
}

// ---------------------------------------------------------------- GatherElements, ScatterElements

// indices (input ii) of data's rank, no larger than data off the axis.
static int elements_check(OpCtx *c, int ii, int *axis) {
    const Tensor *x = &c->in[0], *ix = &c->in[ii];
    int64_t a = attr_int(c->node, "axis", 0);
    if (!norm_axis(a, x->rank, axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)a, x->rank);
    if (ix->rank != x->rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "indices have rank %d, data rank %d", ix->rank,
                        x->rank);
    for (int i = 0; i < x->rank; i++)
        if (i != *axis && ix->dims[i] > x->dims[i])
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "indices are larger than the data on axis %d", i);
    return 0;
}

// Calls f(ctx, k, off) for every element k of indices (row-major) with its data offset `off`
// (the indices' coordinates, the axis one replaced by the index value).
typedef int (*ElemFn)(OpCtx *c, void *ctx, int64_t k, int64_t off);

static int for_elements(OpCtx *c, int ii, int axis, ElemFn f, void *ctx) {
    const Tensor *x = &c->in[0], *ix = &c->in[ii];
    int64_t xs[RMAX_RANK], idx[RMAX_RANK] = {0};
    sh_strides(x, xs);
    int64_t total = tensor_numel(ix), n = x->dims[axis];
    int r = ix->rank;
    int64_t base = 0;  // the offset of the coordinates without the axis
    for (int64_t k = 0; k < total; k++) {
        int64_t w = 0;
        int st = norm_index(c, idx_at(ix, k), n, &w);
        if (st || (st = f(c, ctx, k, base + w * xs[axis])) != 0)
            return st;
        int i = r - 1;
        while (i >= 0) {
            if (i != axis)
                base += xs[i];
            if (++idx[i] < ix->dims[i])
                break;
            if (i != axis)
                base -= xs[i] * ix->dims[i];
            idx[i--] = 0;
        }
    }
    return 0;
}

int sh_gather_elements_infer(OpCtx *c) {
    int st = sh_check_data(c, 0), axis;
    if (st || (st = sh_check_index(c, 1, false)) != 0 || (st = elements_check(c, 1, &axis)) != 0)
        return st;
    c->out[0] = c->in[1];
    c->out[0].dtype = c->in[0].dtype;
    c->out[0].data = NULL;
    return 0;
}

static int gather_elem(OpCtx *c, void *ctx, int64_t k, int64_t off) {
    size_t es = *(size_t *)ctx;
    copy_elem((unsigned char *)c->out[0].data + (size_t)k * es,
              (const unsigned char *)c->in[0].data + (size_t)off * es, es);
    return 0;
}

int sh_gather_elements_run(OpCtx *c) {
    int axis;
    int st = elements_check(c, 1, &axis);
    if (st)
        return st;
    c->kernel = "memcpy";
    size_t es = dtype_size(c->in[0].dtype);
    return for_elements(c, 1, axis, gather_elem, &es);
}

// The reduction of a scatter: 0 none, else one of the kernels' ops.
enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int scatter_reduction(OpCtx *c, int *red) {
    char buf[16];
    const char *s = attr_str(c->node, "reduction", "none", buf, sizeof buf);
    *red = strcmp(s, "none") == 0  ? RED_NONE
           : strcmp(s, "add") == 0 ? RED_ADD
           : strcmp(s, "mul") == 0 ? RED_MUL
           : strcmp(s, "max") == 0 ? RED_MAX
           : strcmp(s, "min") == 0 ? RED_MIN
                                   : -1;
    // reduction came with opset 16 (add, mul), max and min with 18.
    if (*red < 0 || (*red != RED_NONE && c->node->opset < 16) ||
        (*red >= RED_MAX && c->node->opset < 18))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "unknown reduction '%s'", s);
    int dt = c->in[0].dtype;
    if (*red != RED_NONE && dt != DT_F32 && dt != DT_F64 && dt != DT_I32 && dt != DT_I64)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "reduction '%s' on %s (float, double, int32, int64 only)", s,
                        dtype_name(dt));
    return 0;
}

typedef int (*Scat1Fn)(void *, const void *, const int64_t *, int64_t, int64_t);
typedef int (*ScatNFn)(void *, const void *, const int64_t *, int64_t, int64_t, int64_t);

#define SCAT_ROW(OP)                                                                               \
    {                                                                                              \
        (Scat1Fn) sh_scat1_##OP##_f32, (Scat1Fn)sh_scat1_##OP##_f64, (Scat1Fn)sh_scat1_##OP##_i32, \
            (Scat1Fn)sh_scat1_##OP##_i64                                                           \
    }
#define SCATN_ROW(OP)                                                                              \
    {                                                                                              \
        (ScatNFn) sh_scatn_##OP##_f32, (ScatNFn)sh_scatn_##OP##_f64, (ScatNFn)sh_scatn_##OP##_i32, \
            (ScatNFn)sh_scatn_##OP##_i64                                                           \
    }

static const Scat1Fn scat1[4][4] = {SCAT_ROW(add), SCAT_ROW(mul), SCAT_ROW(max), SCAT_ROW(min)};
static const ScatNFn scatn[4][4] = {SCATN_ROW(add), SCATN_ROW(mul), SCATN_ROW(max), SCATN_ROW(min)};
#define SCAT_NAMES(K, OP)                                                                      \
    {                                                                                          \
        "sh_scat" #K "_" #OP "_f32", "sh_scat" #K "_" #OP "_f64", "sh_scat" #K "_" #OP "_i32", \
            "sh_scat" #K "_" #OP "_i64"                                                        \
    }
static const char *const scat_names[2][4][4] = {
    {SCAT_NAMES(1, add), SCAT_NAMES(1, mul), SCAT_NAMES(1, max), SCAT_NAMES(1, min)},
    {SCAT_NAMES(n, add), SCAT_NAMES(n, mul), SCAT_NAMES(n, max), SCAT_NAMES(n, min)},
};

static int type_col(int dt) { return dt == DT_F32 ? 0 : dt == DT_F64 ? 1 : dt == DT_I32 ? 2 : 3; }

// Runs the reduction kernel: Y[O[k] + j] op= U[k * s + j].
static int scatter_kernel(OpCtx *c, int red, const int64_t *offs, int64_t k, int64_t s) {
    Tensor *y = &c->out[0];
    int col = type_col(y->dtype);
    int64_t m = tensor_numel(y);
    int st;
    if (s == 1)
        st = scat1[red - 1][col](y->data, c->in[2].data, offs, m, k);
    else
        st = scatn[red - 1][col](y->data, c->in[2].data, offs, m, k, s);
    c->kernel = scat_names[s != 1][red - 1][col];
    if (st)
        return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", c->kernel, st);
    return 0;
}

int sh_scatter_elements_infer(OpCtx *c) {
    int st = sh_check_data(c, 0), axis, red;
    if (st || (st = sh_check_index(c, 1, false)) != 0 || (st = sh_check_data(c, 2)) != 0 ||
        (st = elements_check(c, 1, &axis)) != 0 || (st = scatter_reduction(c, &red)) != 0)
        return st;
    if (c->in[2].dtype != c->in[0].dtype || !tensor_same_shape(&c->in[1], &c->in[2]))
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "updates must have the indices' shape and the data's type");
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    return 0;
}

size_t sh_scatter_scratch(const OpCtx *c) {
    // The element offsets of the updates (ScatterND: of the update slices).
    return (size_t)tensor_numel(&c->in[1]) * sizeof(int64_t);
}

typedef struct ScatCtx {
    size_t es;
    int64_t *offs;  // NULL: copy directly
} ScatCtx;

static int scatter_elem(OpCtx *c, void *ctx, int64_t k, int64_t off) {
    ScatCtx *s = ctx;
    if (s->offs)
        s->offs[k] = off;
    else
        copy_elem((unsigned char *)c->out[0].data + (size_t)off * s->es,
                  (const unsigned char *)c->in[2].data + (size_t)k * s->es, s->es);
    return 0;
}

int sh_scatter_elements_run(OpCtx *c) {
    int axis, red;
    int st = elements_check(c, 1, &axis);
    if (st || (st = scatter_reduction(c, &red)) != 0)
        return st;
    c->kernel = "memcpy";
    size_t bytes = tensor_bytes(&c->out[0]);
    if (bytes && c->out[0].data != c->in[0].data)
        memcpy(c->out[0].data, c->in[0].data, bytes);
    ScatCtx s = {dtype_size(c->in[0].dtype), red == RED_NONE ? NULL : c->scratch};
    if ((st = for_elements(c, 1, axis, scatter_elem, &s)) != 0)
        return st;
    int64_t k = tensor_numel(&c->in[1]);
    if (red == RED_NONE || k == 0)
        return 0;
    return scatter_kernel(c, red, s.offs, k, 1);
}

// ---------------------------------------------------------------- GatherND, ScatterND

// The geometry shared by GatherND and ScatterND: data [B..., D...], indices [B..., I..., q].
typedef struct NdGeom {
    int b, q;               // batch dims, index length
    int64_t batches;        // product of the batch dims
    int64_t per_batch;      // index tuples per batch
    int64_t slice;          // elements per gathered slice
    int64_t data_batch;     // data elements per batch
    int64_t xs[RMAX_RANK];  // data strides
} NdGeom;

static int nd_geom(OpCtx *c, int b, NdGeom *g) {
    const Tensor *x = &c->in[0], *ix = &c->in[1];
    if (x->rank < 1 || ix->rank < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "data and indices must have rank >= 1");
    if (b < 0 || b >= x->rank || b >= ix->rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "batch_dims %d is out of range", b);
    int q = (int)ix->dims[ix->rank - 1];
    if (ix->dims[ix->rank - 1] < 1 || q > x->rank - b)
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "the last dimension of the indices (%lld) must be in 1 .. %d",
                        (long long)ix->dims[ix->rank - 1], x->rank - b);
    g->b = b;
    g->q = q;
    g->batches = 1;
    for (int i = 0; i < b; i++) {
        if (ix->dims[i] != x->dims[i])
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "batch dimension %d differs between data and indices", i);
        g->batches *= x->dims[i];
    }
    g->per_batch = 1;
    for (int i = b; i < ix->rank - 1; i++)
        g->per_batch *= ix->dims[i];
    g->slice = 1;
    for (int i = b + q; i < x->rank; i++)
        g->slice *= x->dims[i];
    g->data_batch = 1;
    for (int i = b; i < x->rank; i++)
        g->data_batch *= x->dims[i];
    sh_strides(x, g->xs);
    return 0;
}

// The data element offset of index tuple t (over all batches).
static int nd_offset(OpCtx *c, const NdGeom *g, int64_t t, int64_t *off) {
    const Tensor *x = &c->in[0], *ix = &c->in[1];
    int64_t o = (t / g->per_batch) * g->data_batch;
    for (int j = 0; j < g->q; j++) {
        int64_t w = 0;
        int st = norm_index(c, idx_at(ix, t * g->q + j), x->dims[g->b + j], &w);
        if (st)
            return st;
        o += w * g->xs[g->b + j];
    }
    *off = o;
    return 0;
}

int sh_gather_nd_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st || (st = sh_check_index(c, 1, false)) != 0)
        return st;
    if (c->in[1].dtype != DT_I64)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "indices must be int64");
    NdGeom g;
    int b = c->node->opset >= 12 ? (int)attr_int(c->node, "batch_dims", 0) : 0;
    if ((st = nd_geom(c, b, &g)) != 0)
        return st;
    const Tensor *x = &c->in[0], *ix = &c->in[1];
    int r = ix->rank - 1 + x->rank - b - g.q;
    if (r > RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the output would have rank %d", r);
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 0;
    for (int i = 0; i < ix->rank - 1; i++)
        y->dims[y->rank++] = ix->dims[i];
    for (int i = b + g.q; i < x->rank; i++)
        y->dims[y->rank++] = x->dims[i];
    return 0;
}

int sh_gather_nd_run(OpCtx *c) {
    NdGeom g;
    int b = c->node->opset >= 12 ? (int)attr_int(c->node, "batch_dims", 0) : 0;
    int st = nd_geom(c, b, &g);
    if (st)
        return st;
    c->kernel = "memcpy";
    size_t es = dtype_size(c->in[0].dtype), row = (size_t)g.slice * es;
    int64_t tuples = g.batches * g.per_batch;
    unsigned char *dst = c->out[0].data;
    if (row == 0)
        return 0;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        if ((st = nd_offset(c, &g, t, &off)) != 0)
            return st;
        memcpy(dst + (size_t)t * row, (const unsigned char *)c->in[0].data + (size_t)off * es, row);
    }
    return 0;
}

int sh_scatter_nd_infer(OpCtx *c) {
    int st = sh_check_data(c, 0), red;
    if (st || (st = sh_check_index(c, 1, false)) != 0 || (st = sh_check_data(c, 2)) != 0 ||
        (st = scatter_reduction(c, &red)) != 0)
        return st;
    if (c->in[1].dtype != DT_I64)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "indices must be int64");
    NdGeom g;
    if ((st = nd_geom(c, 0, &g)) != 0)
        return st;
    const Tensor *x = &c->in[0], *ix = &c->in[1], *u = &c->in[2];
    // updates: indices.shape[:-1] + data.shape[q:]
    Tensor want = {.dtype = x->dtype, .rank = 0};
    for (int i = 0; i < ix->rank - 1; i++)
        want.dims[want.rank++] = ix->dims[i];
    for (int i = g.q; i < x->rank; i++) {
        if (want.rank >= RMAX_RANK)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "updates have the wrong shape");
        want.dims[want.rank++] = x->dims[i];
    }
    if (u->dtype != x->dtype || !tensor_same_shape(u, &want)) {
        char a[128], b2[128];
        return node_err(c, TILEC_MODEL_ERR_INVALID, "updates are %s %s, expected %s %s",
                        dtype_name(u->dtype), shape_str(u, a, sizeof a), dtype_name(x->dtype),
                        shape_str(&want, b2, sizeof b2));
    }
    c->out[0] = *x;
    c->out[0].data = NULL;
    return 0;
}

int sh_scatter_nd_run(OpCtx *c) {
    NdGeom g;
    int red;
    int st = nd_geom(c, 0, &g);
    if (st || (st = scatter_reduction(c, &red)) != 0)
        return st;
    c->kernel = "memcpy";
    size_t bytes = tensor_bytes(&c->out[0]);
    if (bytes && c->out[0].data != c->in[0].data)
        memcpy(c->out[0].data, c->in[0].data, bytes);
    size_t es = dtype_size(c->in[0].dtype), row = (size_t)g.slice * es;
    int64_t tuples = g.per_batch;
    int64_t *offs = c->scratch;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        if ((st = nd_offset(c, &g, t, &off)) != 0)
            return st;
        if (red != RED_NONE)
            offs[t] = off;
        else if (row)
            memcpy((unsigned char *)c->out[0].data + (size_t)off * es,
                   (const unsigned char *)c->in[2].data + (size_t)t * row, row);
    }
    if (red == RED_NONE || tuples == 0 || g.slice == 0)
        return 0;
    return scatter_kernel(c, red, offs, tuples, g.slice);
}

// ---------------------------------------------------------------- Compress

// The selected count along the axis (or over the flattened input when axis < 0).
static int compress_params(OpCtx *c, int *axis, int64_t *count, int64_t *len) {
    const Tensor *x = &c->in[0], *cond = &c->in[1];
    if (cond->dtype != DT_BOOL || cond->rank != 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the condition must be a 1-D bool tensor");
    if (!cond->data && cond->dims[0] > 0)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the condition's values are not known");
    *axis = -1;
    int64_t n = tensor_numel(x);
    if (attr_has(c->node, "axis")) {
        int64_t a = attr_int(c->node, "axis", 0);
        if (!norm_axis(a, x->rank, axis))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                            (long long)a, x->rank);
        n = x->dims[*axis];
    }
    const uint8_t *cv = cond->data;
    int64_t k = 0;
    for (int64_t i = 0; i < cond->dims[0]; i++) {
        if (!cv[i])
            continue;
        if (i >= n)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "the condition selects entry %lld of %lld",
                            (long long)i, (long long)n);
        k++;
    }
    *count = k;
    *len = cond->dims[0] < n ? cond->dims[0] : n;
    return 0;
}

int sh_compress_infer(OpCtx *c) {
    int st = sh_check_data(c, 0), axis;
    int64_t count, len;
    if (st || !sh_has(c, 1) || (st = compress_params(c, &axis, &count, &len)) != 0)
        return st ? st : node_err(c, TILEC_MODEL_ERR_INVALID, "the condition is missing");
    Tensor *y = &c->out[0];
    *y = c->in[0];
    y->data = NULL;
    if (axis < 0) {
        y->rank = 1;
        y->dims[0] = count;
    } else {
        y->dims[axis] = count;
    }
    return 0;
}

int sh_compress_run(OpCtx *c) {
    int axis;
    int64_t count, len;
    int st = compress_params(c, &axis, &count, &len);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    size_t es = dtype_size(x->dtype);
    int64_t outer = 1, inner = 1, n = tensor_numel(x);
    if (axis >= 0) {
        n = x->dims[axis];
        for (int i = 0; i < x->rank; i++) {
            if (i < axis)
                outer *= x->dims[i];
            else if (i > axis)
                inner *= x->dims[i];
        }
    }
    const uint8_t *cv = c->in[1].data;
    size_t row = (size_t)inner * es;
    unsigned char *dst = c->out[0].data;
    if (row == 0 || count == 0)
        return 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < len; i++)
            if (cv[i]) {
                memcpy(dst, (const unsigned char *)x->data + (size_t)(o * n + i) * row, row);
                dst += row;
            }
    return 0;
}

// ---------------------------------------------------------------- OneHot

static int onehot_params(OpCtx *c, int *axis, int64_t *depth) {
    const Tensor *ix = &c->in[0], *d = &c->in[1];
    int64_t a = attr_int(c->node, "axis", -1);
    if (!norm_axis(a, ix->rank + 1, axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)a, ix->rank + 1);
    if (tensor_numel(d) != 1 || d->rank > 1 ||
        !(dtype_is_int(d->dtype) || dtype_is_float(d->dtype)))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "depth must be one number");
    if (!d->data)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the depth's value is not known");
    double v = dtype_is_float(d->dtype) ? tensor_get_f64(d, 0) : (double)tensor_get_int(d, 0);
    if (!(v >= 1 && v < 9.2e18))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "depth %g is not positive", v);
    *depth = (int64_t)v;
    return 0;
}

int sh_onehot_infer(OpCtx *c) {
    int st, axis;
    int64_t depth;
    if (!sh_has(c, 0) || !sh_has(c, 1) || !sh_has(c, 2))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "OneHot takes indices, depth and values");
    const Tensor *ix = &c->in[0];
    if (!dtype_is_int(ix->dtype) && !dtype_is_float(ix->dtype))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "indices must be numbers, not %s",
                        dtype_name(ix->dtype));
    if ((st = sh_check_data(c, 2)) != 0 || (st = onehot_params(c, &axis, &depth)) != 0)
        return st;
    if (tensor_numel(&c->in[2]) != 2 || c->in[2].rank != 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "values must hold [off, on]");
    if (ix->rank + 1 > RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the output would have rank %d",
                        ix->rank + 1);
    Tensor *y = &c->out[0];
    y->dtype = c->in[2].dtype;
    y->rank = ix->rank + 1;
    for (int i = 0, j = 0; i < y->rank; i++)
        y->dims[i] = i == axis ? depth : ix->dims[j++];
    return 0;
}

int sh_onehot_run(OpCtx *c) {
    int axis;
    int64_t depth;
    int st = onehot_params(c, &axis, &depth);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *ix = &c->in[0];
    const Tensor *y = &c->out[0];
    size_t es = dtype_size(y->dtype);
    const unsigned char *vals = c->in[2].data;
    sh_fill(y->data, vals, es, tensor_numel(y));
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ix->rank; i++) {
        if (i < axis)
            outer *= ix->dims[i];
        else
            inner *= ix->dims[i];
    }
    bool fl = dtype_is_float(ix->dtype);
    unsigned char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t k = o * inner + i;
            double fv = fl ? tensor_get_f64(ix, k) : 0;
            if (fl && !(fv > -9.2e18 && fv < 9.2e18))
                continue;
            int64_t v = fl ? (int64_t)fv : tensor_get_int(ix, k);
            if (v < 0)
                v += depth;
            if (v < 0 || v >= depth)
                continue;
            memcpy(dst + (size_t)((o * depth + v) * inner + i) * es, vals + es, es);
        }
    return 0;
}

// ---------------------------------------------------------------- ReverseSequence

static int revseq_axes(OpCtx *c, int *ta, int *ba) {
    int64_t t = attr_int(c->node, "time_axis", 0), b = attr_int(c->node, "batch_axis", 1);
    if ((t != 0 && t != 1) || (b != 0 && b != 1) || t == b)
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "time_axis %lld and batch_axis %lld must be 0 and 1", (long long)t,
                        (long long)b);
    *ta = (int)t;
    *ba = (int)b;
    return 0;
}

int sh_revseq_infer(OpCtx *c) {
    int st = sh_check_data(c, 0), ta, ba;
    if (st || (st = revseq_axes(c, &ta, &ba)) != 0)
        return st;
    const Tensor *x = &c->in[0];
    if (x->rank < 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input has rank %d (at least 2)", x->rank);
    if (!sh_has(c, 1) || c->in[1].dtype != DT_I64 || c->in[1].rank != 1 ||
        c->in[1].dims[0] != x->dims[ba])
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "sequence_lens must be int64 of the batch size %lld",
                        (long long)x->dims[ba]);
    c->out[0] = *x;
    c->out[0].data = NULL;
    return 0;
}

int sh_revseq_run(OpCtx *c) {
    int ta, ba;
    int st = revseq_axes(c, &ta, &ba);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    size_t bytes = tensor_bytes(x), es = dtype_size(x->dtype);
    if (!bytes)
        return 0;
    memcpy(c->out[0].data, x->data, bytes);
    int64_t xs[RMAX_RANK];
    sh_strides(x, xs);
    size_t row = (size_t)xs[1] * es;
    int64_t tlen = x->dims[ta];
    const int64_t *lens = c->in[1].data;
    for (int64_t b = 0; b < x->dims[ba]; b++) {
        int64_t n = lens[b];
        if (n < 0 || n > tlen)
            return node_err(c, TILEC_MODEL_ERR_INPUT, "sequence length %lld is out of 0 .. %lld",
                            (long long)n, (long long)tlen);
        for (int64_t t = 0; t < n; t++) {
            size_t d = (size_t)(t * xs[ta] + b * xs[ba]) * es;
            size_t s = (size_t)((n - 1 - t) * xs[ta] + b * xs[ba]) * es;
            memcpy((unsigned char *)c->out[0].data + d, (const unsigned char *)x->data + s, row);
        }
    }
    return 0;
}
