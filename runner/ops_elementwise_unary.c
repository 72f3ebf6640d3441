// runner/ops_elementwise_unary.c — the unary ops of the `elementwise` group: math functions,
// activations, Clip, IsNaN, IsInf and Not, on runner/kernels/ew_unary.tile (the op's code is the
// kernel's op code, ops_elementwise.h). f32 and f64 run as they are, f16 and bf16 in f32, and
// the integer types that Abs, Neg, Sign, Relu and Clip take in i64.
#include <float.h>
#include <math.h>
#include <string.h>

#include "ew_unary.h"
#include "ops_elementwise.h"

static bool int_op(int code) {
    return code == EW_U_ABS || code == EW_U_NEG || code == EW_U_SIGN || code == EW_U_RELU ||
           code == EW_U_CLIP || code == EW_U_CLIP_INPUTS;
}

// The kernel's alpha, beta, gamma for an op (attributes with ONNX's defaults).
static void float_params(const OpCtx *c, int code, double p[3]) {
    const Node *n = c->node;
    p[0] = p[1] = p[2] = 0.0;
    switch (code) {
    case EW_U_LEAKYRELU: p[0] = attr_float(n, "alpha", 0.01f); break;
    case EW_U_ELU: p[0] = attr_float(n, "alpha", 1.0f); break;
    case EW_U_SELU:
        p[0] = attr_float(n, "alpha", 1.67326319217681884765625f);
        p[2] = attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case EW_U_CELU: p[0] = attr_float(n, "alpha", 1.0f); break;
    case EW_U_HARDSIGMOID:
        p[0] = attr_float(n, "alpha", 0.2f);
        p[1] = attr_float(n, "beta", 0.5f);
        break;
    case EW_U_THRESHOLDEDRELU: p[0] = attr_float(n, "alpha", 1.0f); break;
    case EW_U_SHRINK:
        p[0] = attr_float(n, "bias", 0.0f);
        p[1] = attr_float(n, "lambd", 0.5f);
        break;
    case EW_U_CLIP:
        p[0] = attr_has(n, "min") ? attr_float(n, "min", 0.0f) : -INFINITY;
        p[1] = attr_has(n, "max") ? attr_float(n, "max", 0.0f) : INFINITY;
        break;
    case EW_U_CLIP_INPUTS:
        p[0] = c->nin > 1 && c->in[1].dtype != DT_UNDEF ? tensor_get_f64(&c->in[1], 0) : -INFINITY;
        p[1] = c->nin > 2 && c->in[2].dtype != DT_UNDEF ? tensor_get_f64(&c->in[2], 0) : INFINITY;
        break;
    default:
        break;
    }
}

int ew_unary_infer(OpCtx *c) {
    int code = c->node->op->code;
    int st = ew_want_inputs(c, 1, code == EW_U_CLIP_INPUTS ? 3 : 1);
    if (st)
        return st;
    int dt = c->in[0].dtype;
    c->out[0] = c->in[0];
    c->out[0].data = NULL;
    if (code == EW_U_NOT) {
        if (dt != DT_BOOL)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input is %s, not bool", dtype_name(dt));
        return 0;
    }
    if (code == EW_U_ISNAN || code == EW_U_ISINF) {
        if (!dtype_is_float(dt))
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input is %s; float types only",
                            dtype_name(dt));
        c->out[0].dtype = DT_BOOL;
        return 0;
    }
    if (!dtype_is_float(dt) && !(int_op(code) && dtype_is_int(dt)))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input type %s is not supported",
                        dtype_name(dt));
    if (code == EW_U_CLIP_INPUTS)
        for (int i = 1; i < c->nin; i++) {
            const Tensor *t = &c->in[i];
            if (t->dtype == DT_UNDEF)
                continue;
            if (t->dtype != dt)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "%s is %s, the input %s",
                                i == 1 ? "min" : "max", dtype_name(t->dtype), dtype_name(dt));
            if (tensor_numel(t) != 1)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "%s is not a scalar",
                                i == 1 ? "min" : "max");
        }
    if (code == EW_U_GELU) {
        char buf[16];
        const char *a = attr_str(c->node, "approximate", "none", buf, sizeof buf);
        if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "approximate='%s' (none or tanh)", a);
    }
    if (code == EW_U_CELU && attr_float(c->node, "alpha", 1.0f) == 0.0f)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "alpha is 0");
    return 0;
}

size_t ew_unary_scratch(const OpCtx *c) {
    int dt = c->in[0].dtype, code = c->node->op->code;
    if (code == EW_U_NOT || dt == DT_F32 || dt == DT_F64 || dt == DT_I64)
        return 0;
    return (size_t)tensor_numel(&c->in[0]) * 8 * 3;
}

// IsNaN, IsInf: f32 and f64 directly, f16 and bf16 widened to f32 first.
static int run_isclass(OpCtx *c, int64_t n) {
    int dt = c->in[0].dtype, op = c->node->op->code == EW_U_ISNAN ? 0 : 1;
    bool pos = attr_int(c->node, "detect_positive", 1) != 0;
    bool neg = attr_int(c->node, "detect_negative", 1) != 0;
    const void *x = c->in[0].data;
    int st;
    if (dt != DT_F32 && dt != DT_F64) {
        const char *k = "ew_cast";
        void *buf = c->scratch;
        if ((st = ew_cast(dt, DT_F32, x, buf, n, (char *)buf + n * 4, &k)) != 0)
            return ew_kernel_err(c, k, st);
        x = buf;
        dt = DT_F32;
    }
    if (dt == DT_F32) {
        c->kernel = "ew_isclass_f32";
        st = ew_isclass_f32(x, c->out[0].data, op, pos, neg, n);
    } else {
        c->kernel = "ew_isclass_f64";
        st = ew_isclass_f64(x, c->out[0].data, op, pos, neg, n);
    }
    return st ? ew_kernel_err(c, c->kernel, st) : 0;
}

int ew_unary_run(OpCtx *c) {
    int64_t n = tensor_numel(&c->in[0]);
    if (n == 0)
        return 0;
    int code = c->node->op->code, dt = c->in[0].dtype, st;
    if (code == EW_U_NOT) {
        c->kernel = "ew_not";
        st = ew_not(c->in[0].data, c->out[0].data, n);
        return st ? ew_kernel_err(c, c->kernel, st) : 0;
    }
    if (code == EW_U_ISNAN || code == EW_U_ISINF)
        return run_isclass(c, n);
    int ct = ew_compute_type(dt);
    const void *x = c->in[0].data;
    void *y = c->out[0].data;
    char *buf = c->scratch, *tmp = buf ? buf + 2 * n * 8 : NULL;
    const char *k = "ew_cast";
    if (ct != dt) {
        if ((st = ew_cast(dt, ct, x, buf, n, tmp, &k)) != 0)
            return ew_kernel_err(c, k, st);
        x = buf;
        y = buf + n * 8;
    }
    int op = code == EW_U_CLIP_INPUTS ? EW_U_CLIP : code;
    if (code == EW_U_GELU) {
        char abuf[16];
        if (strcmp(attr_str(c->node, "approximate", "none", abuf, sizeof abuf), "tanh") == 0)
            op = EW_U_GELU_TANH;
    }
    if (ct == DT_I64) {
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (code == EW_U_CLIP_INPUTS) {
            if (c->nin > 1 && c->in[1].dtype != DT_UNDEF)
                lo = tensor_get_int(&c->in[1], 0);
            if (c->nin > 2 && c->in[2].dtype != DT_UNDEF)
                hi = tensor_get_int(&c->in[2], 0);
        } else if (code == EW_U_CLIP) {
            double p[3];
            float_params(c, code, p);
            lo = p[0] <= -9.2e18 ? INT64_MIN : (int64_t)ceil(p[0]);
            hi = p[1] >= 9.2e18 ? INT64_MAX : (int64_t)floor(p[1]);
        }
        c->kernel = "ew_unary_i64";
        st = ew_unary_i64(x, y, op, lo, hi, n);
    } else {
        double p[3];
        float_params(c, code, p);
        if (ct == DT_F32) {
            c->kernel = "ew_unary_f32";
            st = ew_unary_f32(x, y, op, (float)p[0], (float)p[1], (float)p[2], n);
        } else {
            c->kernel = "ew_unary_f64";
            st = ew_unary_f64(x, y, op, p[0], p[1], p[2], n);
        }
    }
    if (st)
        return ew_kernel_err(c, c->kernel, st);
    if (ct != dt && (st = ew_cast(ct, dt, y, c->out[0].data, n, tmp, &k)) != 0)
        return ew_kernel_err(c, k, st);
    return 0;
}
