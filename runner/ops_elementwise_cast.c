// runner/ops_elementwise_cast.c — element type conversions: ew_cast (used by every op of the
// group that computes a small type in a wider one) and the Cast and CastLike ops, on the
// ew_cast_* kernels of runner/kernels/ew_cast.tile.
//
// The kernels convert between the language's types (i8 i16 i32 i64 f16 bf16 f32 f64, and to
// 0/1 bytes for bool). Unsigned types are their signed bit patterns: a conversion that needs
// their value (widening, to float) first zero-extends them (ew_zext_*), and a float becomes an
// unsigned integer through the next wider signed type, whose low bits are the result.
#include <string.h>

#include "ew_cast.h"
#include "ops_elementwise.h"

typedef int (*CastFn)(const void *x, void *y, int64_t n);

#define CAST_WRAP(S, D, CS, CD)                                      \
    static int w_##S##_##D(const void *x, void *y, int64_t n) {      \
        return ew_cast_##S##_##D((const CS *)x, (CD *)y, n);         \
    }
CAST_WRAP(i8, i16, int8_t, int16_t)
CAST_WRAP(i8, i32, int8_t, int32_t)
CAST_WRAP(i8, i64, int8_t, int64_t)
CAST_WRAP(i8, f16, int8_t, uint16_t)
CAST_WRAP(i8, bf16, int8_t, uint16_t)
CAST_WRAP(i8, f32, int8_t, float)
CAST_WRAP(i8, f64, int8_t, double)
CAST_WRAP(i8, b, int8_t, int8_t)
CAST_WRAP(i16, i8, int16_t, int8_t)
CAST_WRAP(i16, i32, int16_t, int32_t)
CAST_WRAP(i16, i64, int16_t, int64_t)
CAST_WRAP(i16, f16, int16_t, uint16_t)
CAST_WRAP(i16, bf16, int16_t, uint16_t)
CAST_WRAP(i16, f32, int16_t, float)
CAST_WRAP(i16, f64, int16_t, double)
CAST_WRAP(i16, b, int16_t, int8_t)
CAST_WRAP(i32, i8, int32_t, int8_t)
CAST_WRAP(i32, i16, int32_t, int16_t)
CAST_WRAP(i32, i64, int32_t, int64_t)
CAST_WRAP(i32, f16, int32_t, uint16_t)
CAST_WRAP(i32, bf16, int32_t, uint16_t)
CAST_WRAP(i32, f32, int32_t, float)
CAST_WRAP(i32, f64, int32_t, double)
CAST_WRAP(i32, b, int32_t, int8_t)
CAST_WRAP(i64, i8, int64_t, int8_t)
CAST_WRAP(i64, i16, int64_t, int16_t)
CAST_WRAP(i64, i32, int64_t, int32_t)
CAST_WRAP(i64, f16, int64_t, uint16_t)
CAST_WRAP(i64, bf16, int64_t, uint16_t)
CAST_WRAP(i64, f32, int64_t, float)
CAST_WRAP(i64, f64, int64_t, double)
CAST_WRAP(i64, b, int64_t, int8_t)
CAST_WRAP(f16, i8, uint16_t, int8_t)
CAST_WRAP(f16, i16, uint16_t, int16_t)
CAST_WRAP(f16, i32, uint16_t, int32_t)
CAST_WRAP(f16, i64, uint16_t, int64_t)
CAST_WRAP(f16, bf16, uint16_t, uint16_t)
CAST_WRAP(f16, f32, uint16_t, float)
CAST_WRAP(f16, f64, uint16_t, double)
CAST_WRAP(f16, b, uint16_t, int8_t)
CAST_WRAP(bf16, i8, uint16_t, int8_t)
CAST_WRAP(bf16, i16, uint16_t, int16_t)
CAST_WRAP(bf16, i32, uint16_t, int32_t)
CAST_WRAP(bf16, i64, uint16_t, int64_t)
CAST_WRAP(bf16, f16, uint16_t, uint16_t)
CAST_WRAP(bf16, f32, uint16_t, float)
CAST_WRAP(bf16, f64, uint16_t, double)
CAST_WRAP(bf16, b, uint16_t, int8_t)
CAST_WRAP(f32, i8, float, int8_t)
CAST_WRAP(f32, i16, float, int16_t)
CAST_WRAP(f32, i32, float, int32_t)
CAST_WRAP(f32, i64, float, int64_t)
CAST_WRAP(f32, f16, float, uint16_t)
CAST_WRAP(f32, bf16, float, uint16_t)
CAST_WRAP(f32, f64, float, double)
CAST_WRAP(f32, b, float, int8_t)
CAST_WRAP(f64, i8, double, int8_t)
CAST_WRAP(f64, i16, double, int16_t)
CAST_WRAP(f64, i32, double, int32_t)
CAST_WRAP(f64, i64, double, int64_t)
CAST_WRAP(f64, f16, double, uint16_t)
CAST_WRAP(f64, bf16, double, uint16_t)
CAST_WRAP(f64, f32, double, float)
CAST_WRAP(f64, b, double, int8_t)

static int w_zext_8_32(const void *x, void *y, int64_t n) {
    return ew_zext_8_32((const int8_t *)x, (int32_t *)y, n);
}
static int w_zext_16_32(const void *x, void *y, int64_t n) {
    return ew_zext_16_32((const int16_t *)x, (int32_t *)y, n);
}
static int w_zext_32_64(const void *x, void *y, int64_t n) {
    return ew_zext_32_64((const int32_t *)x, (int64_t *)y, n);
}

// The kernels' types, in the order of the tables below.
enum { K_I8, K_I16, K_I32, K_I64, K_F16, K_BF16, K_F32, K_F64, K_NONE };

static const CastFn cast_fns[8][8] = {
    {NULL, w_i8_i16, w_i8_i32, w_i8_i64, w_i8_f16, w_i8_bf16, w_i8_f32, w_i8_f64},
    {w_i16_i8, NULL, w_i16_i32, w_i16_i64, w_i16_f16, w_i16_bf16, w_i16_f32, w_i16_f64},
    {w_i32_i8, w_i32_i16, NULL, w_i32_i64, w_i32_f16, w_i32_bf16, w_i32_f32, w_i32_f64},
    {w_i64_i8, w_i64_i16, w_i64_i32, NULL, w_i64_f16, w_i64_bf16, w_i64_f32, w_i64_f64},
    {w_f16_i8, w_f16_i16, w_f16_i32, w_f16_i64, NULL, w_f16_bf16, w_f16_f32, w_f16_f64},
    {w_bf16_i8, w_bf16_i16, w_bf16_i32, w_bf16_i64, w_bf16_f16, NULL, w_bf16_f32, w_bf16_f64},
    {w_f32_i8, w_f32_i16, w_f32_i32, w_f32_i64, w_f32_f16, w_f32_bf16, NULL, w_f32_f64},
    {w_f64_i8, w_f64_i16, w_f64_i32, w_f64_i64, w_f64_f16, w_f64_bf16, w_f64_f32, NULL},
};
static const CastFn tobool_fns[8] = {w_i8_b, w_i16_b, w_i32_b, w_i64_b,
                                     w_f16_b, w_bf16_b, w_f32_b, w_f64_b};

static int ktype(int dt) {
    switch (dt) {
    case DT_I8: case DT_U8: case DT_BOOL: return K_I8;
    case DT_I16: case DT_U16: return K_I16;
    case DT_I32: case DT_U32: return K_I32;
    case DT_I64: case DT_U64: return K_I64;
    case DT_F16: return K_F16;
    case DT_BF16: return K_BF16;
    case DT_F32: return K_F32;
    case DT_F64: return K_F64;
    default: return K_NONE;
    }
}

static bool is_unsigned(int dt) { return dt == DT_U8 || dt == DT_U16 || dt == DT_U32; }

bool ew_cast_supported(int dtype) { return ktype(dtype) != K_NONE; }


int ew_cast(int from, int to, const void *src, void *dst, int64_t n, void *tmp,
            const char **kernel) {
    if (n <= 0)
        return 0;
    int kf = ktype(from), kt = ktype(to);
    CastFn steps[2];
    int nsteps = 0;
    bool float_to = dtype_is_float(to), float_from = dtype_is_float(from);
    if (to == DT_BOOL) {
        if (from != DT_BOOL) {
            steps[nsteps++] = tobool_fns[kf];
        }
    } else if (kf == kt) {
        // the same bits: same type, signed and unsigned of one width, bool to a byte type
    } else if (is_unsigned(from) && (float_to || dtype_size(to) > dtype_size(from))) {
        // zero extension first
        int wide = from == DT_U32 ? K_I64 : K_I32;
        steps[nsteps++] = from == DT_U8 ? w_zext_8_32 : from == DT_U16 ? w_zext_16_32
                                                                       : w_zext_32_64;
        if (wide != kt)
            steps[nsteps++] = cast_fns[wide][kt];
    } else if (is_unsigned(to) && float_from) {
        // float to unsigned: through the next wider signed type
        int wide = to == DT_U32 ? K_I64 : K_I32;
        steps[nsteps++] = cast_fns[kf][wide];
        steps[nsteps++] = cast_fns[wide][kt];
    } else {
        steps[nsteps++] = cast_fns[kf][kt];
    }
    if (nsteps == 0) {
        if (src != dst)
            memmove(dst, src, (size_t)n * dtype_size(to));
        return 0;
    }
    const void *in = src;
    for (int i = 0; i < nsteps; i++) {
        void *out = i == nsteps - 1 ? dst : tmp;
        if (kernel)
            *kernel = nsteps == 1 ? "ew_cast" : "ew_cast (2 steps)";
        int st = steps[i](in, out, n);
        if (st) {
            if (kernel)
                *kernel = i == 0 ? "ew_cast (step 1)" : "ew_cast (step 2)";
            return st;
        }
        in = out;
    }
    return 0;
}

// ---------------------------------------------------------------- Cast, CastLike

static int cast_target(const OpCtx *c, int *to) {
    if (c->node->op->code == 1) {
        if (c->nin != 2 || c->in[1].dtype == DT_UNDEF)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "CastLike takes 2 inputs");
        *to = c->in[1].dtype;
        return 0;
    }
    if (!attr_has(c->node, "to"))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "attribute 'to' is missing");
    *to = (int)attr_int(c->node, "to", 0);
    return 0;
}

int ew_castop_infer(OpCtx *c) {
    int st = ew_want_inputs(c, 1, c->node->op->code == 1 ? 2 : 1);
    if (st)
        return st;
    int to = DT_UNDEF;
    if ((st = cast_target(c, &to)) != 0)
        return st;
    int from = c->in[0].dtype;
    if (!ew_cast_supported(from))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "cast from %s is not supported",
                        dtype_name(from));
    if (!ew_cast_supported(to))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "cast to %s (%d) is not supported",
                        dtype_name(to), to);
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    c->out[0].dtype = to;
    return 0;
}

size_t ew_castop_scratch(const OpCtx *c) { return (size_t)tensor_numel(&c->in[0]) * 8; }

int ew_castop_run(OpCtx *c) {
    int to = c->out[0].dtype;
    const char *k = "ew_cast";
    int st = ew_cast(c->in[0].dtype, to, c->in[0].data, c->out[0].data, tensor_numel(&c->in[0]),
                     c->scratch, &k);
    c->kernel = k;
    return st ? ew_kernel_err(c, k, st) : 0;
}
