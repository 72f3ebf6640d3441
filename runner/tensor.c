// runner/tensor.c — element types, shapes, broadcasting, errors: the small
// helpers every other runner file uses.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

size_t dtype_size(int dtype) {
    switch (dtype) {
    case DT_BOOL:
    case DT_U8:
    case DT_I8:
        return 1;
    case DT_U16:
    case DT_I16:
    case DT_F16:
    case DT_BF16:
        return 2;
    case DT_F32:
    case DT_I32:
    case DT_U32:
        return 4;
    case DT_F64:
    case DT_I64:
    case DT_U64:
        return 8;
    default:
        return 0;
    }
}

const char *dtype_name(int dtype) {
    switch (dtype) {
    case DT_F32: return "float";
    case DT_U8: return "uint8";
    case DT_I8: return "int8";
    case DT_U16: return "uint16";
    case DT_I16: return "int16";
    case DT_I32: return "int32";
    case DT_I64: return "int64";
    case DT_STRING: return "string";
    case DT_BOOL: return "bool";
    case DT_F16: return "float16";
    case DT_F64: return "double";
    case DT_U32: return "uint32";
    case DT_U64: return "uint64";
    case DT_BF16: return "bfloat16";
    default: return "?";
    }
}

const char *tilec_dtype_name(int dtype) { return dtype_name(dtype); }

bool tilec_parse_dims(const char *s, TilecTensor *t) {
    t->rank = 0;
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || errno || t->rank == TILEC_MODEL_MAX_RANK)
            return false;
        t->dims[t->rank++] = v;
        if (*end == 'x' || *end == 'X' || *end == ',')
            end++;
        else if (*end)
            return false;
        s = end;
    }
    return t->rank > 0;
}
size_t tilec_dtype_size(int dtype) { return dtype_size(dtype); }

bool dtype_is_float(int dtype) {
    return dtype == DT_F32 || dtype == DT_F64 || dtype == DT_F16 || dtype == DT_BF16;
}

bool dtype_is_int(int dtype) {
    switch (dtype) {
    case DT_U8: case DT_I8: case DT_U16: case DT_I16: case DT_I32: case DT_I64: case DT_U32:
    case DT_U64:
        return true;
    default:
        return false;
    }
}

int64_t tensor_numel(const Tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

size_t tensor_bytes(const Tensor *t) { return (size_t)tensor_numel(t) * dtype_size(t->dtype); }

bool tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

char *shape_str(const Tensor *t, char *buf, size_t cap) {
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (t->rank <= 0) {
        snprintf(buf, cap, t->rank == 0 ? "scalar" : "?");
        return buf;
    }
    size_t len = 0;
    for (int i = 0; i < t->rank && len < cap; i++) {
        int w = t->dims[i] < 0 ? snprintf(buf + len, cap - len, "%s?", i ? "x" : "")
                               : snprintf(buf + len, cap - len, "%s%lld", i ? "x" : "",
                                          (long long)t->dims[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

bool norm_axis(int64_t axis, int rank, int *out) {
    if (axis < -(int64_t)rank || axis >= rank)
        return false;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

int64_t tensor_get_int(const Tensor *t, int64_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case DT_I64: return ((const int64_t *)d)[i];
    case DT_I32: return ((const int32_t *)d)[i];
    case DT_I16: return ((const int16_t *)d)[i];
    case DT_I8: return ((const int8_t *)d)[i];
    case DT_U8: case DT_BOOL: return ((const uint8_t *)d)[i];
    case DT_U16: return ((const uint16_t *)d)[i];
    case DT_U32: return ((const uint32_t *)d)[i];
    case DT_U64: return (int64_t)((const uint64_t *)d)[i];
    case DT_F32: return (int64_t)((const float *)d)[i];
    case DT_F64: return (int64_t)((const double *)d)[i];
    default: return 0;
    }
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float f;
    if (exp == 0)
        f = ldexpf((float)man, -24);
    else if (exp == 31)
        f = man ? NAN : INFINITY;
    else
        f = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -f : f;
}

double tensor_get_f64(const Tensor *t, int64_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case DT_F32: return ((const float *)d)[i];
    case DT_F64: return ((const double *)d)[i];
    case DT_F16: return half_to_float(((const uint16_t *)d)[i]);
    case DT_BF16: {
        uint32_t u = (uint32_t)((const uint16_t *)d)[i] << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case DT_U64: return (double)((const uint64_t *)d)[i];
    default: return (double)tensor_get_int(t, i);
    }
}

double tilec_tensor_value(const TilecTensor *t, size_t i) { return tensor_get_f64(t, (int64_t)i); }

int rerr(RErr *e, int code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int node_err(const OpCtx *c, int code, const char *fmt, ...) {
    if (c->err) {
        int k = snprintf(c->err->msg, sizeof c->err->msg, "node '%s' (%s): ", c->node->name,
                         c->node->op_type);
        if (k < 0 || (size_t)k >= sizeof c->err->msg)
            k = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg + k, sizeof c->err->msg - (size_t)k, fmt, ap);
        va_end(ap);
        c->err->code = code;
    }
    return code;
}

int broadcast_shapes(int n, const Tensor *const *ts, Tensor *out, RErr *e) {
    int rank = 0;
    for (int i = 0; i < n; i++)
        if (ts[i]->rank > rank)
            rank = ts[i]->rank;
    out->rank = rank;
    for (int d = 0; d < rank; d++) {
        int64_t dim = 1;
        for (int i = 0; i < n; i++) {
            int k = d - (rank - ts[i]->rank);
            if (k < 0)
                continue;
            int64_t v = ts[i]->dims[k];
            if (v == dim || v == 1)
                continue;
            if (dim != 1) {
                char a[128], b[128];
                return rerr(e, TILEC_MODEL_ERR_INPUT, "shapes %s and %s do not broadcast",
                            shape_str(ts[0], a, sizeof a), shape_str(ts[i], b, sizeof b));
            }
            dim = v;
        }
        out->dims[d] = dim;
    }
    return 0;
}

// dst (contiguous, shape dims) = the elements of src at sum(i_k * strides[k]) (in elements).
void tensor_copy_strided(void *dst, const void *src, int rank, const int64_t *dims,
                         const int64_t *strides, size_t esz) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    if (n == 0)
        return;
    if (rank == 0) {
        memcpy(dst, src, esz);
        return;
    }
    int64_t idx[2 * RMAX_RANK] = {0};
    int64_t inner = dims[rank - 1], is = strides[rank - 1];
    char *d = dst;
    const char *s = src;
    for (int64_t done = 0; done < n; done += inner) {
        int64_t off = 0;
        for (int k = 0; k < rank - 1; k++)
            off += idx[k] * strides[k];
        const char *p = s + (size_t)off * esz;
        if (is == 1) {
            memcpy(d, p, (size_t)inner * esz);
            d += (size_t)inner * esz;
        } else {
            for (int64_t j = 0; j < inner; j++, d += esz)
                memcpy(d, p + (size_t)(j * is) * esz, esz);
        }
        for (int k = rank - 2; k >= 0; k--) {
            if (++idx[k] < dims[k])
                break;
            idx[k] = 0;
        }
    }
}

