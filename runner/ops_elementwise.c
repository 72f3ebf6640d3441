// runner/ops_elementwise.c — the `elementwise` op group: unary math and activations
// (ops_elementwise_unary.c), broadcast binary, variadic, comparison, logic and Where ops
// (ops_elementwise_binary.c), Cast and CastLike (ops_elementwise_cast.c), all on the kernels of
// runner/kernels/ew_*.tile. This file holds the op table and what the files share: the
// collapsing of a broadcast index space into at most four strided dimensions per kernel launch,
// and the compute type of each element type.
#include <string.h>

#include "ops_elementwise.h"

// ---------------------------------------------------------------- broadcasting

void ew_collapse(const Tensor *out, int nops, const Tensor *const *ops, EwShape *sh) {
    int rank = out->rank;
    int64_t st[EW_MAX_OPS][RMAX_RANK];
    for (int k = 0; k < nops; k++) {
        const Tensor *t = ops[k];
        int off = rank - t->rank;
        int64_t s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            int j = i - off;
            if (j < 0) {
                st[k][i] = 0;
                continue;
            }
            int64_t d = t->dims[j];
            st[k][i] = d == 1 ? 0 : s;
            s *= d;
        }
    }
    memset(sh, 0, sizeof *sh);
    sh->nops = nops;
    for (int i = 0; i < rank; i++) {
        int64_t d = out->dims[i];
        if (d == 1)
            continue;
        int r = sh->rank;
        bool merge = r > 0;
        for (int k = 0; k < nops && merge; k++)
            merge = sh->strides[k][r - 1] == st[k][i] * d;
        if (merge) {
            sh->dims[r - 1] *= d;
            for (int k = 0; k < nops; k++)
                sh->strides[k][r - 1] = st[k][i];
            continue;
        }
        sh->dims[r] = d;
        for (int k = 0; k < nops; k++)
            sh->strides[k][r] = st[k][i];
        sh->rank++;
    }
}

int ew_for_launches(const EwShape *sh, const void *const *ptrs, const size_t *esize, void *y,
                    size_t ysize, EwLaunchFn fn, const void *arg) {
    int rank = sh->rank, outer = rank > 4 ? rank - 4 : 0, n4 = rank - outer;
    EwLaunch l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < 4; i++)
        l.d[i] = 1;
    for (int j = 0; j < n4; j++) {
        int dst = 4 - n4 + j;
        l.d[dst] = sh->dims[outer + j];
        if (dst < 3)
            for (int k = 0; k < sh->nops; k++)
                l.st[k][dst] = sh->strides[k][outer + j];
    }
    for (int k = 0; k < sh->nops; k++)
        l.inner[k] = l.d[3] == 1 || sh->strides[k][rank - 1] != 0;
    int64_t block = l.d[0] * l.d[1] * l.d[2] * l.d[3];
    int64_t idx[RMAX_RANK] = {0};
    for (int64_t lin = 0;; lin++) {
        for (int k = 0; k < sh->nops; k++) {
            int64_t off = 0;
            for (int i = 0; i < outer; i++)
                off += idx[i] * sh->strides[k][i];
            l.p[k] = (const char *)ptrs[k] + off * (int64_t)esize[k];
        }
        l.y = (char *)y + lin * block * (int64_t)ysize;
        int st = fn(&l, arg);
        if (st)
            return st;
        int i = outer - 1;
        while (i >= 0 && ++idx[i] == sh->dims[i])
            idx[i--] = 0;
        if (i < 0)
            break;
    }
    return 0;
}

// ---------------------------------------------------------------- element types and errors

int ew_compute_type(int dtype) {
    switch (dtype) {
    case DT_F32: case DT_F16: case DT_BF16:
        return DT_F32;
    case DT_F64:
        return DT_F64;
    case DT_I8: case DT_U8: case DT_I16: case DT_U16: case DT_I32: case DT_U32: case DT_I64:
    case DT_U64:
        return DT_I64;
    default:
        return DT_UNDEF;
    }
}

int ew_kernel_err(const OpCtx *c, const char *kernel, int st) {
    return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", kernel ? kernel : "?", st);
}

int ew_want_inputs(const OpCtx *c, int min, int max) {
    if (c->nin < min || c->nin > max)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "takes %d to %d inputs, got %d", min, max,
                        c->nin);
    for (int i = 0; i < min; i++)
        if (c->in[i].dtype == DT_UNDEF)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is missing", i);
    return 0;
}

// ---------------------------------------------------------------- the op table

#define UNARY(name, since, op)                                                              \
    {name, since, 0, OP_INPLACE, 0, op, NULL, ew_unary_infer, ew_unary_run, ew_unary_scratch, \
     NULL}
#define BINARY(name, since, op, flags)                                                      \
    {name, since, 0, flags, 0, op, NULL, ew_binary_infer, ew_binary_run, ew_binary_scratch, \
     NULL}
// Not in place: an input after the second may be the first one again (Sum(x, y, x)), which
// the first step would have overwritten.
#define VARIADIC(name, op)                                                                  \
    {name, 1, 0, 0, 0, op, NULL, ew_variadic_infer, ew_variadic_run, ew_variadic_scratch, NULL}

const OpDef ops_elementwise[] = {
    UNARY("Abs", 1, EW_U_ABS),
    UNARY("Neg", 1, EW_U_NEG),
    UNARY("Exp", 1, EW_U_EXP),
    UNARY("Log", 1, EW_U_LOG),
    UNARY("Sqrt", 1, EW_U_SQRT),
    UNARY("Reciprocal", 1, EW_U_RECIP),
    UNARY("Floor", 1, EW_U_FLOOR),
    UNARY("Ceil", 1, EW_U_CEIL),
    UNARY("Round", 11, EW_U_ROUND),
    UNARY("Sign", 9, EW_U_SIGN),
    UNARY("Sin", 7, EW_U_SIN),
    UNARY("Cos", 7, EW_U_COS),
    UNARY("Tan", 7, EW_U_TAN),
    UNARY("Asin", 7, EW_U_ASIN),
    UNARY("Acos", 7, EW_U_ACOS),
    UNARY("Atan", 7, EW_U_ATAN),
    UNARY("Sinh", 9, EW_U_SINH),
    UNARY("Cosh", 9, EW_U_COSH),
    UNARY("Asinh", 9, EW_U_ASINH),
    UNARY("Acosh", 9, EW_U_ACOSH),
    UNARY("Atanh", 9, EW_U_ATANH),
    UNARY("Tanh", 1, EW_U_TANH),
    UNARY("Sigmoid", 1, EW_U_SIGMOID),
    UNARY("Relu", 1, EW_U_RELU),
    UNARY("LeakyRelu", 1, EW_U_LEAKYRELU),
    UNARY("Elu", 1, EW_U_ELU),
    UNARY("Selu", 1, EW_U_SELU),
    UNARY("Celu", 12, EW_U_CELU),
    UNARY("HardSigmoid", 1, EW_U_HARDSIGMOID),
    UNARY("HardSwish", 14, EW_U_HARDSWISH),
    UNARY("Softplus", 1, EW_U_SOFTPLUS),
    UNARY("Softsign", 1, EW_U_SOFTSIGN),
    UNARY("Erf", 9, EW_U_ERF),
    UNARY("Gelu", 20, EW_U_GELU),
    UNARY("Mish", 18, EW_U_MISH),
    UNARY("ThresholdedRelu", 10, EW_U_THRESHOLDEDRELU),
    UNARY("Shrink", 9, EW_U_SHRINK),
    {"Clip", 1, 10, OP_INPLACE, 0, EW_U_CLIP, NULL, ew_unary_infer, ew_unary_run,
     ew_unary_scratch, NULL},
    UNARY("Clip", 11, EW_U_CLIP_INPUTS),
    {"IsNaN", 9, 0, 0, 0, EW_U_ISNAN, NULL, ew_unary_infer, ew_unary_run, ew_unary_scratch, NULL},
    {"IsInf", 10, 0, 0, 0, EW_U_ISINF, NULL, ew_unary_infer, ew_unary_run, ew_unary_scratch, NULL},
    UNARY("Not", 1, EW_U_NOT),

    BINARY("Add", 7, EW_B_ADD, OP_INPLACE),
    BINARY("Sub", 7, EW_B_SUB, OP_INPLACE),
    BINARY("Mul", 7, EW_B_MUL, OP_INPLACE),
    BINARY("Div", 7, EW_B_DIV, OP_INPLACE),
    BINARY("Pow", 7, EW_B_POW, OP_INPLACE),
    BINARY("Mod", 10, EW_B_MODOP, OP_INPLACE),
    BINARY("BitShift", 11, EW_B_BITSHIFT, OP_INPLACE),
    BINARY("PRelu", 7, EW_B_PRELU, OP_INPLACE),
    BINARY("Equal", 7, EW_C_EQ, 0),
    BINARY("Less", 7, EW_C_LT, 0),
    BINARY("Greater", 7, EW_C_GT, 0),
    BINARY("LessOrEqual", 12, EW_C_LE, 0),
    BINARY("GreaterOrEqual", 12, EW_C_GE, 0),
    BINARY("And", 7, EW_L_AND, OP_INPLACE),
    BINARY("Or", 7, EW_L_OR, OP_INPLACE),
    BINARY("Xor", 7, EW_L_XOR, OP_INPLACE),
    VARIADIC("Sum", EW_B_SUM),
    VARIADIC("Mean", EW_B_MEAN),
    VARIADIC("Max", EW_B_VMAX),
    VARIADIC("Min", EW_B_VMIN),
    {"Where", 9, 0, 0, 0, 0, NULL, ew_where_infer, ew_where_run, ew_where_scratch, NULL},

    {"Cast", 6, 0, OP_INPLACE, 0, 0, NULL, ew_castop_infer, ew_castop_run, ew_castop_scratch,
     NULL},
    {"CastLike", 15, 0, OP_INPLACE, 0, 1, NULL, ew_castop_infer, ew_castop_run,
     ew_castop_scratch, NULL},
};
const int ops_elementwise_count = (int)(sizeof ops_elementwise / sizeof ops_elementwise[0]);
