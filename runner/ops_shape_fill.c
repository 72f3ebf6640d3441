// runner/ops_shape_fill.c — the ops of the `shape` group (ops_shape.c) that fill their output
// rather than move an input: ConstantOfShape, Range (on the sh_range_* kernels of
// runner/kernels/shape.tile), Trilu and EyeLike.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_shape.h"
#include "shape.h"

// ---------------------------------------------------------------- ConstantOfShape

// The `value` attribute (one element; float 0 when absent) as dtype and bytes. Read at every
// call rather than in prepare(): constant folding evaluates nodes before they are prepared.
static int cos_value(OpCtx *c, int *dtype, unsigned char *value) {
    *dtype = DT_F32;
    memset(value, 0, 8);
    const Tensor *t;
    int st = attr_tensor(c, "value", &t);
    if (st || !t)
        return st;
    size_t es = dtype_size(t->dtype);
    bool ok = tensor_numel(t) == 1 && es <= 8;
    if (ok) {
        *dtype = t->dtype;
        memcpy(value, t->data, es);
    }
    if (!ok)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the value must hold one element");
    return 0;
}

int sh_cos_infer(OpCtx *c) {
    int dtype;
    unsigned char value[8];
    int64_t shp[RMAX_RANK];
    int n, st = cos_value(c, &dtype, value);
    if (st || (st = sh_read_ints(c, 0, shp, RMAX_RANK, &n, false)) != 0)
        return st;
    Tensor *y = &c->out[0];
    y->dtype = dtype;
    y->rank = n;
    for (int i = 0; i < n; i++) {
        if (shp[i] < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "the shape has the negative size %lld",
                            (long long)shp[i]);
        y->dims[i] = shp[i];
    }
    return 0;
}

int sh_cos_run(OpCtx *c) {
    int dtype;
    unsigned char value[8];
    int st = cos_value(c, &dtype, value);
    if (st)
        return st;
    c->kernel = "memcpy";
    sh_fill(c->out[0].data, value, dtype_size(dtype), tensor_numel(&c->out[0]));
    return 0;
}

// ---------------------------------------------------------------- Range

static int range_count(OpCtx *c, int64_t *count) {
    int dt = c->in[0].dtype;
    for (int i = 0; i < 3; i++) {
        const Tensor *t = &c->in[i];
        if (!sh_has(c, i) || t->dtype != dt || tensor_numel(t) != 1 || t->rank > 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "start, limit and delta must be scalars of one type");
        if (!t->data)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the value of input %d is not known",
                            i);
    }
    if (dt == DT_F32 || dt == DT_F64) {
        double s = tensor_get_f64(&c->in[0], 0), l = tensor_get_f64(&c->in[1], 0);
        double d = tensor_get_f64(&c->in[2], 0);
        if (d == 0 || isnan(d) || isnan(s) || isnan(l))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "delta is 0 or a value is NaN");
        double n = ceil((l - s) / d);
        *count = n > 0 ? (n < 1e18 ? (int64_t)n : INT64_C(1) << 60) : 0;
        return 0;
    }
    if (dt != DT_I16 && dt != DT_I32 && dt != DT_I64)
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "Range takes float, double, int16, int32 or int64, not %s", dtype_name(dt));
    int64_t s = tensor_get_int(&c->in[0], 0), l = tensor_get_int(&c->in[1], 0);
    int64_t d = tensor_get_int(&c->in[2], 0);
    if (d == 0)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "delta is 0");
    uint64_t diff, step;
    if (d > 0 && l > s) {
        diff = (uint64_t)l - (uint64_t)s;
        step = (uint64_t)d;
    } else if (d < 0 && l < s) {
        diff = (uint64_t)s - (uint64_t)l;
        step = (uint64_t)(-(d + 1)) + 1;
    } else {
        *count = 0;
        return 0;
    }
    uint64_t n = diff / step + (diff % step != 0);
    *count = n > (UINT64_C(1) << 60) ? INT64_C(1) << 60 : (int64_t)n;
    return 0;
}

int sh_range_infer(OpCtx *c) {
    int64_t n = 0;
    int st = range_count(c, &n);
    if (st)
        return st;
    c->out[0] = (Tensor){.dtype = c->in[0].dtype, .rank = 1, .dims = {n}};
    return 0;
}

int sh_range_run(OpCtx *c) {
    const Tensor *y = &c->out[0];
    int64_t n = y->dims[0];
    const void *s = c->in[0].data, *d = c->in[2].data;
    int st;
    switch (y->dtype) {
    case DT_F32:
        c->kernel = "sh_range_f32";
        st = sh_range_f32(y->data, *(const float *)s, *(const float *)d, n);
        break;
    case DT_F64:
        c->kernel = "sh_range_f64";
        st = sh_range_f64(y->data, *(const double *)s, *(const double *)d, n);
        break;
    case DT_I16:
        c->kernel = "sh_range_i16";
        st = sh_range_i16(y->data, *(const int16_t *)s, *(const int16_t *)d, n);
        break;
    case DT_I32:
        c->kernel = "sh_range_i32";
        st = sh_range_i32(y->data, *(const int32_t *)s, *(const int32_t *)d, n);
        break;
    default:
        c->kernel = "sh_range_i64";
        st = sh_range_i64(y->data, *(const int64_t *)s, *(const int64_t *)d, n);
        break;
    }
    if (st)
        return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", c->kernel, st);
    return 0;
}

// ---------------------------------------------------------------- Trilu

int sh_trilu_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    if (c->in[0].rank < 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input has rank %d (at least 2)",
                        c->in[0].rank);
    if (sh_has(c, 1) && (c->in[1].dtype != DT_I64 || tensor_numel(&c->in[1]) != 1))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "k must be one int64");
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    return 0;
}

int sh_trilu_run(OpCtx *c) {
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    int r = x->rank;
    int64_t m = x->dims[r - 2], n = x->dims[r - 1];
    int64_t total = tensor_numel(x);
    if (total == 0)
        return 0;
    int64_t k = sh_has(c, 1) ? *(const int64_t *)c->in[1].data : 0;
    // k beyond the matrix changes nothing; clamping keeps i + k from overflowing.
    int64_t lim = m + n + 1;
    k = k > lim ? lim : k < -lim ? -lim : k;
    bool upper = attr_int(c->node, "upper", 1) != 0;
    size_t es = dtype_size(x->dtype), rowb = (size_t)n * es;
    int64_t rows = total / n;
    const unsigned char *src = x->data;
    unsigned char *dst = c->out[0].data;
    for (int64_t row = 0; row < rows; row++) {
        int64_t i = row % m;
        // upper keeps columns j >= i + k; lower keeps j <= i + k.
        int64_t cut = upper ? i + k : i + k + 1;
        cut = cut < 0 ? 0 : cut > n ? n : cut;
        size_t cb = (size_t)cut * es;
        const unsigned char *s = src + (size_t)row * rowb;
        unsigned char *d = dst + (size_t)row * rowb;
        if (upper) {
            memset(d, 0, cb);
            memcpy(d + cb, s + cb, rowb - cb);
        } else {
            memcpy(d, s, cb);
            memset(d + cb, 0, rowb - cb);
        }
    }
    return 0;
}

// ---------------------------------------------------------------- EyeLike

int sh_eyelike_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    if (c->in[0].rank != 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input has rank %d, not 2", c->in[0].rank);
    int dt = (int)attr_int(c->node, "dtype", c->in[0].dtype);
    unsigned char one[8];
    size_t es = dtype_size(dt);
    if (dt == DT_STRING || !es || !sh_one(dt, one))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "output type %d is not supported", dt);
    c->out[0] = c->in[0];
    c->out[0].dtype = dt;
    c->out[0].data = NULL;
    return 0;
}

int sh_eyelike_run(OpCtx *c) {
    c->kernel = "memcpy";
    const Tensor *y = &c->out[0];
    int64_t m = y->dims[0], n = y->dims[1], k = attr_int(c->node, "k", 0);
    size_t es = dtype_size(y->dtype);
    unsigned char one[8];
    sh_one(y->dtype, one);
    if (m * n == 0)
        return 0;
    memset(y->data, 0, (size_t)(m * n) * es);
    for (int64_t i = 0; i < m; i++) {
        if (k > n || k < -m)
            break;
        int64_t j = i + k;
        if (j >= 0 && j < n)
            memcpy((unsigned char *)y->data + (size_t)(i * n + j) * es, one, es);
    }
    return 0;
}
