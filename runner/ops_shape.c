// runner/ops_shape.c — the `shape` op group: shape and data-movement ops of every element type
// (moved by byte size). This file holds the group's table, its shared helpers (ops_shape.h) and
// the ops that only relabel shapes: Reshape, Flatten, Squeeze, Unsqueeze, Identity (views of
// their input, OP_ALIAS), Dropout (inference: a copy and an all-true mask), Shape and Size.
// Siblings: ops_shape_move.c (Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace,
// SpaceToDepth), ops_shape_pad.c (Pad), ops_shape_index.c (the gathers and scatters, Compress,
// OneHot, ReverseSequence), ops_shape_fill.c (ConstantOfShape, Range, Trilu, EyeLike).
//
// The ops move bytes in C; values are computed only by Range and the scatter reductions, on
// kernels of runner/kernels/shape.tile.
#include <string.h>

#include "ops_shape.h"

// ---------------------------------------------------------------- helpers

bool sh_has(const OpCtx *c, int i) { return i < c->nin && c->in[i].dtype != DT_UNDEF; }

int sh_check_data(OpCtx *c, int i) {
    if (!sh_has(c, i))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is missing", i);
    int dt = c->in[i].dtype;
    if (dt == DT_STRING)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "input %d: string tensors are not supported", i);
    size_t s = dtype_size(dt);
    if (s != 1 && s != 2 && s != 4 && s != 8)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input %d has element type %s", i,
                        dtype_name(dt));
    return 0;
}

int sh_check_index(OpCtx *c, int i, bool any_int) {
    if (!sh_has(c, i))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is missing", i);
    int dt = c->in[i].dtype;
    bool ok = any_int ? dtype_is_int(dt) : (dt == DT_I32 || dt == DT_I64);
    if (!ok)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d must be %s, not %s", i,
                        any_int ? "an integer tensor" : "int32 or int64", dtype_name(dt));
    return 0;
}

int sh_read_ints(OpCtx *c, int i, int64_t *v, int max, int *n, bool allow_scalar) {
    int st = sh_check_index(c, i, true);
    if (st)
        return st;
    const Tensor *t = &c->in[i];
    if (t->rank != 1 && !(allow_scalar && t->rank == 0))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d must be 1-D, not of rank %d", i,
                        t->rank);
    int64_t count = tensor_numel(t);
    if (count > max)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input %d has %lld values (at most %d)", i,
                        (long long)count, max);
    if (count > 0 && !t->data)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "the values of input %d are not known", i);
    for (int64_t k = 0; k < count; k++)
        v[k] = tensor_get_int(t, k);
    *n = (int)count;
    return 0;
}

int64_t sh_mul(int64_t a, int64_t b) {
    if (a == 0 || b == 0)
        return 0;
    if (a > INT64_MAX / b)
        return INT64_MAX;
    return a * b;
}

void sh_strides(const Tensor *t, int64_t *st) {
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->dims[i];
    }
}

// One copy loop per element size. The view has been simplified: no dims of 1, adjacent dims
// merged where the source is contiguous across them, rank >= 1.
#define SH_COPY_FN(NAME, T)                                                                    \
    static void NAME(T *dst, const T *src, int rank, const int64_t *dims, const int64_t *ss) { \
        int64_t idx[SH_MAX_DIMS] = {0};                                                        \
        int last = rank - 1;                                                                   \
        int64_t n = dims[last], s = ss[last];                                                  \
        int p = -1; /* a dim whose source stride is 1: the copy is a transposition */          \
        for (int i = 0; i < last; i++)                                                         \
            if (ss[i] == 1 && dims[i] >= 16 && n >= 16)                                        \
                p = i;                                                                         \
        if (p < 0) {                                                                           \
            for (;;) {                                                                         \
                const T *sp = src;                                                             \
                for (int i = 0; i < last; i++)                                                 \
                    sp += idx[i] * ss[i];                                                      \
                if (s == 1)                                                                    \
                    memcpy(dst, sp, (size_t)n * sizeof(T));                                    \
                else                                                                           \
                    for (int64_t j = 0; j < n; j++)                                            \
                        dst[j] = sp[j * s];                                                    \
                dst += n;                                                                      \
                int i = last - 1;                                                              \
                while (i >= 0 && ++idx[i] == dims[i])                                          \
                    idx[i--] = 0;                                                              \
                if (i < 0)                                                                     \
                    return;                                                                    \
            }                                                                                  \
        }                                                                                      \
        /* Blocked: dims p and last move in 32 x 32 blocks; the others in an odometer. */      \
        int64_t ds[SH_MAX_DIMS];                                                               \
        ds[last] = 1;                                                                          \
        for (int i = last - 1; i >= 0; i--)                                                    \
            ds[i] = ds[i + 1] * dims[i + 1];                                                   \
        int64_t np = dims[p], dp = ds[p];                                                      \
        for (;;) {                                                                             \
            const T *sp = src;                                                                 \
            T *dq = dst;                                                                       \
            for (int i = 0; i < last; i++)                                                     \
                if (i != p) {                                                                  \
                    sp += idx[i] * ss[i];                                                      \
                    dq += idx[i] * ds[i];                                                      \
                }                                                                              \
            for (int64_t a0 = 0; a0 < np; a0 += 32) {                                          \
                int64_t a1 = a0 + 32 < np ? a0 + 32 : np;                                      \
                for (int64_t b0 = 0; b0 < n; b0 += 32) {                                       \
                    int64_t b1 = b0 + 32 < n ? b0 + 32 : n;                                    \
                    for (int64_t a = a0; a < a1; a++)                                          \
                        for (int64_t b = b0; b < b1; b++)                                      \
                            dq[a * dp + b] = sp[a + b * s];                                    \
                }                                                                              \
            }                                                                                  \
            int i = last - 1;                                                                  \
            while (i >= 0 && (i == p || ++idx[i] == dims[i])) {                                \
                if (i != p)                                                                    \
                    idx[i] = 0;                                                                \
                i--;                                                                           \
            }                                                                                  \
            if (i < 0)                                                                         \
                return;                                                                        \
        }                                                                                      \
    }

SH_COPY_FN(copy_view_1, uint8_t)
SH_COPY_FN(copy_view_2, uint16_t)
SH_COPY_FN(copy_view_4, uint32_t)
SH_COPY_FN(copy_view_8, uint64_t)

int sh_simplify(int rank, const int64_t *dims, const int64_t *sstride, int64_t *d, int64_t *s) {
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return -1;
        if (dims[i] == 1)
            continue;
        if (r > 0 && s[r - 1] == sstride[i] * dims[i]) {
            d[r - 1] *= dims[i];
            s[r - 1] = sstride[i];
        } else {
            d[r] = dims[i];
            s[r] = sstride[i];
            r++;
        }
    }
    return r;
}

void sh_copy_view(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                  const int64_t *sstride) {
    int64_t d[SH_MAX_DIMS], s[SH_MAX_DIMS];
    int r = sh_simplify(rank, dims, sstride, d, s);
    if (r < 0)
        return;
    if (r == 0) {
        d[0] = 1;
        s[0] = 1;
        r = 1;
    }
    switch (esize) {
    case 1: copy_view_1(dst, src, r, d, s); break;
    case 2: copy_view_2(dst, src, r, d, s); break;
    case 4: copy_view_4(dst, src, r, d, s); break;
    case 8: copy_view_8(dst, src, r, d, s); break;
    default: break;
    }
}

void sh_fill(void *dst, const void *val, size_t esize, int64_t n) {
    if (n <= 0)
        return;
    unsigned char *d = dst;
    bool zero = true;
    for (size_t b = 0; b < esize; b++)
        zero &= ((const unsigned char *)val)[b] == 0;
    if (zero || esize == 1) {
        memset(d, zero ? 0 : *(const unsigned char *)val, (size_t)n * esize);
        return;
    }
    // Doubling copies: the first element, then ever larger blocks.
    memcpy(d, val, esize);
    size_t have = esize, total = (size_t)n * esize;
    while (have < total) {
        size_t k = have < total - have ? have : total - have;
        memcpy(d + have, d, k);
        have += k;
    }
}

// IEEE binary32 -> binary16 bits, rounding to nearest even.
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7FFFFF;
    int exp = (int)((x >> 23) & 0xFF);
    if (exp == 0xFF)
        return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 : 0));
    int e = exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7C00);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000;
        int shift = 14 - e;
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

bool sh_from_double(int dtype, double v, void *buf) {
    switch (dtype) {
    case DT_F32: {
        float f = (float)v;
        memcpy(buf, &f, 4);
        return true;
    }
    case DT_F64: memcpy(buf, &v, 8); return true;
    case DT_F16: {
        uint16_t h = f32_to_f16((float)v);
        memcpy(buf, &h, 2);
        return true;
    }
    case DT_BF16: {
        float f = (float)v;
        uint32_t x;
        memcpy(&x, &f, 4);
        uint16_t h = (x & 0x7FFFFFFF) > 0x7F800000
                         ? (uint16_t)((x >> 16) | 0x40)
                         : (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
        memcpy(buf, &h, 2);
        return true;
    }
    case DT_BOOL: *(uint8_t *)buf = v != 0; return true;
    case DT_U8: *(uint8_t *)buf = (uint8_t)(int64_t)v; return true;
    case DT_I8: *(int8_t *)buf = (int8_t)(int64_t)v; return true;
    case DT_U16: {
        uint16_t x = (uint16_t)(int64_t)v;
        memcpy(buf, &x, 2);
        return true;
    }
    case DT_I16: {
        int16_t x = (int16_t)(int64_t)v;
        memcpy(buf, &x, 2);
        return true;
    }
    case DT_I32: {
        int32_t x = (int32_t)(int64_t)v;
        memcpy(buf, &x, 4);
        return true;
    }
    case DT_U32: {
        uint32_t x = (uint32_t)(int64_t)v;
        memcpy(buf, &x, 4);
        return true;
    }
    case DT_I64: {
        int64_t x = (int64_t)v;
        memcpy(buf, &x, 8);
        return true;
    }
    case DT_U64: {
        uint64_t x = (uint64_t)v;
        memcpy(buf, &x, 8);
        return true;
    }
    default: return false;
    }
}

bool sh_one(int dtype, void *buf) { return sh_from_double(dtype, 1.0, buf); }

// ---------------------------------------------------------------- views (OP_ALIAS)

static int reshape_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    int64_t shp[RMAX_RANK];
    int n = 0;
    if ((st = sh_read_ints(c, 1, shp, RMAX_RANK, &n, false)) != 0)
        return st;
    bool allowzero = c->node->opset >= 14 && attr_int(c->node, "allowzero", 0) != 0;
    int minus = -1;
    bool zero = false;
    int64_t known = 1;
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = n;
    for (int i = 0; i < n; i++) {
        int64_t d = shp[i];
        if (d == -1) {
            if (minus >= 0)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "the shape has more than one -1");
            minus = i;
            continue;
        }
        if (d < -1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "the shape has the negative size %lld",
                            (long long)d);
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return node_err(c, TILEC_MODEL_ERR_INVALID,
                                "shape[%d] = 0 copies a dimension the input (rank %d) lacks", i,
                                x->rank);
            d = x->dims[i];
        }
        zero |= d == 0;
        y->dims[i] = d;
        known = sh_mul(known, d);
    }
    if (allowzero && zero && minus >= 0)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "with allowzero, a shape cannot hold 0 and -1");
    int64_t total = tensor_numel(x);
    if (minus >= 0) {
        if (known == 0 || total % known != 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "cannot reshape %lld elements with the -1 of the shape",
                            (long long)total);
        y->dims[minus] = total / known;
    } else if (known != total) {
        char a[128];
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "cannot reshape %s (%lld elements) to %lld elements",
                        shape_str(x, a, sizeof a), (long long)total, (long long)known);
    }
    return 0;
}

static int flatten_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    int64_t axis = attr_int(c->node, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)attr_int(c->node, "axis", 1), x->rank);
    int64_t a = 1, b = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis)
            a *= x->dims[i];
        else
            b *= x->dims[i];
    }
    c->out[0] = (Tensor){.dtype = x->dtype, .rank = 2, .dims = {a, b}};
    return 0;
}

// Squeeze's and Unsqueeze's axes: the attribute (code 0) or input 1 (code 1, optional).
static int read_axes(OpCtx *c, int64_t *axes, int *n, bool *given) {
    *n = 0;
    *given = false;
    if (c->node->op->code == 0) {
        const int64_t *v;
        int k = attr_ints(c->node, "axes", &v);
        if (k < 0)
            return 0;
        if (k > SH_MAX_DIMS)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "too many axes (%d)", k);
        memcpy(axes, v, sizeof(int64_t) * (size_t)k);
        *n = k;
        *given = true;
        return 0;
    }
    if (!sh_has(c, 1))
        return 0;
    *given = true;
    return sh_read_ints(c, 1, axes, SH_MAX_DIMS, n, true);
}

static int squeeze_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    int64_t axes[SH_MAX_DIMS];
    int n;
    bool given;
    if ((st = read_axes(c, axes, &n, &given)) != 0)
        return st;
    bool drop[RMAX_RANK] = {false};
    if (!given) {
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    }
    for (int k = 0; k < n; k++) {
        int a;
        if (!norm_axis(axes[k], x->rank, &a))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                            (long long)axes[k], x->rank);
        if (drop[a])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is repeated",
                            (long long)axes[k]);
        if (x->dims[a] != 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "cannot squeeze axis %d of size %lld", a,
                            (long long)x->dims[a]);
        drop[a] = true;
    }
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            y->dims[y->rank++] = x->dims[i];
    return 0;
}

static int unsqueeze_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    const Tensor *x = &c->in[0];
    int64_t axes[SH_MAX_DIMS];
    int n;
    bool given;
    if ((st = read_axes(c, axes, &n, &given)) != 0)
        return st;
    if (!given)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the axes are missing");
    int r = x->rank + n;
    if (r > RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "the output would have rank %d (at most %d)", r, RMAX_RANK);
    bool ins[RMAX_RANK] = {false};
    for (int k = 0; k < n; k++) {
        int a;
        if (!norm_axis(axes[k], r, &a))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                            (long long)axes[k], r);
        if (ins[a])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is repeated",
                            (long long)axes[k]);
        ins[a] = true;
    }
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = r;
    for (int i = 0, j = 0; i < r; i++)
        y->dims[i] = ins[i] ? 1 : x->dims[j++];
    return 0;
}

static int identity_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    return 0;
}

// ---------------------------------------------------------------- Dropout (inference)

static int dropout_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    if (!dtype_is_float(c->in[0].dtype))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input 0 must be a float tensor, not %s",
                        dtype_name(c->in[0].dtype));
    if (c->node->opset >= 12) {
        bool training = false;
        if (sh_has(c, 2)) {
            const Tensor *t = &c->in[2];
            if (t->dtype != DT_BOOL || tensor_numel(t) != 1)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "training_mode must be one bool");
            if (!t->data)
                return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                                "the value of training_mode is not known");
            training = *(const uint8_t *)t->data != 0;
        }
        if (training) {
            // Training mode drops at random, which only a ratio of 0 makes an identity.
            double ratio = 0.5;
            if (sh_has(c, 1)) {
                const Tensor *r = &c->in[1];
                if (!dtype_is_float(r->dtype) || tensor_numel(r) != 1 || !r->data)
                    return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                                    "the ratio must be one known float");
                ratio = tensor_get_f64(r, 0);
            }
            if (ratio != 0)
                return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                                "training mode (random dropout) is not supported");
        }
    }
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    if (c->nout > 1) {
        c->out[1] = c->out[0];
        if (c->node->opset >= 10)
            c->out[1].dtype = DT_BOOL;
    }
    return 0;
}

static int dropout_run(OpCtx *c) {
    c->kernel = "memcpy";
    size_t bytes = tensor_bytes(&c->out[0]);
    if (bytes && c->out[0].data != c->in[0].data)
        memcpy(c->out[0].data, c->in[0].data, bytes);
    if (c->nout > 1 && c->out[1].data) {
        unsigned char one[8];
        sh_one(c->out[1].dtype, one);
        sh_fill(c->out[1].data, one, dtype_size(c->out[1].dtype), tensor_numel(&c->out[1]));
    }
    return 0;
}

// ---------------------------------------------------------------- Shape, Size

static int shape_range(const OpCtx *c, int *lo, int *hi) {
    int r = c->in[0].rank;
    int64_t s = 0, e = r;
    if (c->node->opset >= 15) {
        s = attr_int(c->node, "start", 0);
        e = attr_int(c->node, "end", r);
    }
    if (s < 0)
        s += r;
    if (e < 0)
        e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *lo = (int)s;
    *hi = e > s ? (int)e : (int)s;
    return 0;
}

static int shape_infer(OpCtx *c) {
    if (!sh_has(c, 0))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input 0 is missing");
    int lo, hi;
    shape_range(c, &lo, &hi);
    c->out[0] = (Tensor){.dtype = DT_I64, .rank = 1, .dims = {hi - lo}};
    return 0;
}

static int shape_run(OpCtx *c) {
    c->kernel = "memcpy";
    int lo, hi;
    shape_range(c, &lo, &hi);
    int64_t *y = c->out[0].data;
    for (int i = lo; i < hi; i++)
        y[i - lo] = c->in[0].dims[i];
    return 0;
}

static int size_infer(OpCtx *c) {
    if (!sh_has(c, 0))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "input 0 is missing");
    c->out[0] = (Tensor){.dtype = DT_I64, .rank = 0};
    return 0;
}

static int size_run(OpCtx *c) {
    c->kernel = "memcpy";
    *(int64_t *)c->out[0].data = tensor_numel(&c->in[0]);
    return 0;
}

// ---------------------------------------------------------------- the table

#define IN(i) (1u << (i))

const OpDef ops_shape[] = {
    // Views.
    {"Reshape", 5, 0, OP_ALIAS, IN(1), 0, NULL, reshape_infer, NULL, NULL, NULL},
    {"Flatten", 1, 0, OP_ALIAS, 0, 0, NULL, flatten_infer, NULL, NULL, NULL},
    {"Squeeze", 1, 12, OP_ALIAS, 0, 0, NULL, squeeze_infer, NULL, NULL, NULL},
    {"Squeeze", 13, 0, OP_ALIAS, IN(1), 1, NULL, squeeze_infer, NULL, NULL, NULL},
    {"Unsqueeze", 1, 12, OP_ALIAS, 0, 0, NULL, unsqueeze_infer, NULL, NULL, NULL},
    {"Unsqueeze", 13, 0, OP_ALIAS, IN(1), 1, NULL, unsqueeze_infer, NULL, NULL, NULL},
    {"Identity", 1, 0, OP_ALIAS, 0, 0, NULL, identity_infer, NULL, NULL, NULL},
    {"Dropout", 1, 11, OP_INPLACE, 0, 0, NULL, dropout_infer, dropout_run, NULL, NULL},
    {"Dropout", 12, 0, OP_INPLACE, IN(1) | IN(2), 0, NULL, dropout_infer, dropout_run, NULL, NULL},
    {"Shape", 1, 0, OP_SHAPE_ONLY, 0, 0, NULL, shape_infer, shape_run, NULL, NULL},
    {"Size", 1, 0, OP_SHAPE_ONLY, 0, 0, NULL, size_infer, size_run, NULL, NULL},
    // Copies (ops_shape_move.c, ops_shape_pad.c).
    {"Transpose", 1, 0, 0, 0, 0, NULL, sh_transpose_infer, sh_transpose_run, NULL, NULL},
    {"Concat", 4, 0, 0, 0, 0, NULL, sh_concat_infer, sh_concat_run, NULL, NULL},
    {"Split", 2, 12, 0, 0, 0, NULL, sh_split_infer, sh_split_run, NULL, NULL},
    {"Split", 13, 0, 0, IN(1), 1, NULL, sh_split_infer, sh_split_run, NULL, NULL},
    {"Slice", 1, 9, 0, 0, 0, NULL, sh_slice_infer, sh_slice_run, NULL, NULL},
    {"Slice", 10, 0, 0, IN(1) | IN(2) | IN(3) | IN(4), 1, NULL, sh_slice_infer, sh_slice_run, NULL,
     NULL},
    {"Expand", 8, 0, 0, IN(1), 0, NULL, sh_expand_infer, sh_expand_run, NULL, NULL},
    {"Tile", 6, 0, 0, IN(1), 0, NULL, sh_tile_infer, sh_tile_run, NULL, NULL},
    {"DepthToSpace", 1, 0, 0, 0, 0, NULL, sh_d2s_infer, sh_d2s_run, NULL, NULL},
    {"SpaceToDepth", 1, 0, 0, 0, 1, NULL, sh_d2s_infer, sh_d2s_run, NULL, NULL},
    {"Pad", 2, 10, 0, 0, 0, NULL, sh_pad_infer, sh_pad_run, sh_pad_scratch, NULL},
    {"Pad", 11, 0, 0, IN(1) | IN(3), 1, NULL, sh_pad_infer, sh_pad_run, sh_pad_scratch, NULL},
    // Indexing (ops_shape_index.c).
    {"Gather", 1, 0, 0, 0, 0, NULL, sh_gather_infer, sh_gather_run, NULL, NULL},
    {"GatherElements", 11, 0, 0, 0, 0, NULL, sh_gather_elements_infer, sh_gather_elements_run, NULL,
     NULL},
    {"GatherND", 11, 0, 0, 0, 0, NULL, sh_gather_nd_infer, sh_gather_nd_run, NULL, NULL},
    {"Scatter", 9, 0, OP_INPLACE, 0, 0, NULL, sh_scatter_elements_infer, sh_scatter_elements_run,
     sh_scatter_scratch, NULL},
    {"ScatterElements", 11, 0, OP_INPLACE, 0, 0, NULL, sh_scatter_elements_infer,
     sh_scatter_elements_run, sh_scatter_scratch, NULL},
    {"ScatterND", 11, 0, OP_INPLACE, 0, 1, NULL, sh_scatter_nd_infer, sh_scatter_nd_run,
     sh_scatter_scratch, NULL},
    {"Compress", 9, 0, 0, IN(1), 0, NULL, sh_compress_infer, sh_compress_run, NULL, NULL},
    {"OneHot", 9, 0, 0, IN(1), 0, NULL, sh_onehot_infer, sh_onehot_run, NULL, NULL},
    {"ReverseSequence", 10, 0, 0, 0, 0, NULL, sh_revseq_infer, sh_revseq_run, NULL, NULL},
    // Fills (ops_shape_fill.c).
    {"ConstantOfShape", 9, 0, 0, IN(0), 0, NULL, sh_cos_infer, sh_cos_run, NULL, NULL},
    {"Range", 11, 0, 0, IN(0) | IN(1) | IN(2), 0, NULL, sh_range_infer, sh_range_run, NULL, NULL},
    {"Trilu", 14, 0, 0, 0, 0, NULL, sh_trilu_infer, sh_trilu_run, NULL, NULL},
    {"EyeLike", 9, 0, 0, 0, 0, NULL, sh_eyelike_infer, sh_eyelike_run, NULL, NULL},
};
const int ops_shape_count = (int)(sizeof ops_shape / sizeof ops_shape[0]);
