// runner/ops_elementwise.h — what the files of the `elementwise` op group share (ops_elementwise.c:
// the op table, broadcasting and compute types; ops_elementwise_unary.c, _binary.c, _cast.c: the
// ops). Only ops_elementwise[] and ops_elementwise_count are the group's interface (runner.h);
// the ew_* functions are internal to the group.
//
// Every op runs on the kernels of runner/kernels/ew_unary.tile, ew_binary.tile and ew_cast.tile.
// Element types the kernels lack are computed in a wider one: f16 and bf16 in f32, every integer
// type in i64 (unsigned ones zero-extended), through ew_cast kernels into scratch memory.
#ifndef TILEC_OPS_ELEMENTWISE_H
#define TILEC_OPS_ELEMENTWISE_H

#include "runner.h"

// ---------------------------------------------------------------- broadcasting

#define EW_MAX_OPS 3  // operands of one broadcast operation (Where has three)

// The broadcast index space of an output and its operands after collapsing: dimensions of size
// 1 dropped, neighbours merged where every operand's strides allow it. strides[k][i] is operand
// k's stride (in elements) for dimension i, 0 where it is broadcast; the output is contiguous.
// In the innermost dimension every stride is 0 or 1.
typedef struct EwShape {
    int rank;
    int nops;
    int64_t dims[RMAX_RANK];
    int64_t strides[EW_MAX_OPS][RMAX_RANK];
} EwShape;

// Collapses `nops` operands broadcast to `out`'s shape (each must broadcast to it).
void ew_collapse(const Tensor *out, int nops, const Tensor *const *ops, EwShape *sh);

// One kernel launch over four dimensions d[0..3] (leading ones 1): operand k at p[k] with outer
// strides st[k][0..2] and inner[k] 1 (contiguous) or 0 (broadcast) in dimension 3.
typedef struct EwLaunch {
    const void *p[EW_MAX_OPS];
    void *y;
    int64_t d[4];
    int64_t st[EW_MAX_OPS][3];
    int inner[EW_MAX_OPS];
} EwLaunch;

typedef int (*EwLaunchFn)(const EwLaunch *l, const void *arg);

// Calls fn once per launch: once when the collapsed rank is at most 4, else once per index of
// the outer dimensions. esize[k] and ysize are the element sizes of the operands and output.
// Returns the first nonzero status of fn.
int ew_for_launches(const EwShape *sh, const void *const *ptrs, const size_t *esize, void *y,
                    size_t ysize, EwLaunchFn fn, const void *arg);

// ---------------------------------------------------------------- element types

// The type an op on `dtype` computes in: DT_F32 (f32, f16, bf16), DT_F64, DT_I64 (every integer
// type; u64 as its bit pattern), or DT_UNDEF (bool, string, unknown).
int ew_compute_type(int dtype);

// Converts n elements from type `from` to type `to` (any of f16 bf16 f32 f64 i8..i64 u8..u64
// bool): a copy when the bits are the same, else one or two ew_cast kernels (the second through
// `tmp`, which holds n * 8 bytes). Returns 0 or the kernel's status; *kernel names the last one.
int ew_cast(int from, int to, const void *src, void *dst, int64_t n, void *tmp,
            const char **kernel);
bool ew_cast_supported(int dtype);  // a type ew_cast converts

int ew_kernel_err(const OpCtx *c, const char *kernel, int st);
int ew_want_inputs(const OpCtx *c, int min, int max);

// ---------------------------------------------------------------- the ops (by file)

// ops_elementwise_unary.c: `code` is the ew_unary op code (EW_U_*).
enum {
    EW_U_ABS = 0, EW_U_NEG = 1, EW_U_EXP = 2, EW_U_LOG = 3, EW_U_SQRT = 4, EW_U_RECIP = 5,
    EW_U_FLOOR = 6, EW_U_CEIL = 7, EW_U_ROUND = 8, EW_U_SIGN = 9, EW_U_SIN = 10, EW_U_COS = 11,
    EW_U_TAN = 12, EW_U_ASIN = 13, EW_U_ACOS = 14, EW_U_ATAN = 15, EW_U_SINH = 16,
    EW_U_COSH = 17, EW_U_ASINH = 18, EW_U_ACOSH = 19, EW_U_ATANH = 20, EW_U_TANH = 21,
    EW_U_SIGMOID = 22, EW_U_RELU = 23, EW_U_LEAKYRELU = 24, EW_U_ELU = 25, EW_U_SELU = 26,
    EW_U_CELU = 27, EW_U_HARDSIGMOID = 28, EW_U_HARDSWISH = 29, EW_U_SOFTPLUS = 30,
    EW_U_SOFTSIGN = 31, EW_U_ERF = 32, EW_U_GELU = 33, EW_U_GELU_TANH = 34, EW_U_MISH = 35,
    EW_U_THRESHOLDEDRELU = 36, EW_U_SHRINK = 37, EW_U_CLIP = 38,
    // not kernel codes: ops with their own functions
    EW_U_ISNAN = 100, EW_U_ISINF = 101, EW_U_NOT = 102, EW_U_CLIP_INPUTS = 103,
};
int ew_unary_infer(OpCtx *c);
int ew_unary_run(OpCtx *c);
size_t ew_unary_scratch(const OpCtx *c);

// ops_elementwise_binary.c: `code` is an EW_B_* value.
enum {
    EW_B_ADD = 0, EW_B_SUB = 1, EW_B_MUL = 2, EW_B_DIV = 3, EW_B_POW = 4, EW_B_MAX = 5,
    EW_B_MIN = 6, EW_B_FMOD = 7, EW_B_PRELU = 8, EW_B_MOD = 9, EW_B_SHL = 10, EW_B_SHR = 11,
    EW_B_LSHR = 12, EW_B_UMAX = 13, EW_B_UMIN = 14, EW_B_UDIV = 15, EW_B_UMOD = 16,
    // not kernel codes
    EW_B_MODOP = 20,      // Mod (fmod attribute)
    EW_B_BITSHIFT = 21,   // BitShift (direction attribute)
    EW_B_SUM = 30, EW_B_MEAN = 31, EW_B_VMAX = 32, EW_B_VMIN = 33,  // variadic
    EW_C_EQ = 40, EW_C_LT = 41, EW_C_GT = 42, EW_C_LE = 43, EW_C_GE = 44,  // comparisons
    EW_L_AND = 50, EW_L_OR = 51, EW_L_XOR = 52,                             // logic
};
int ew_binary_infer(OpCtx *c);
int ew_binary_run(OpCtx *c);
size_t ew_binary_scratch(const OpCtx *c);
int ew_variadic_infer(OpCtx *c);
int ew_variadic_run(OpCtx *c);
size_t ew_variadic_scratch(const OpCtx *c);
int ew_where_infer(OpCtx *c);
int ew_where_run(OpCtx *c);
size_t ew_where_scratch(const OpCtx *c);

// ops_elementwise_cast.c: code 0 Cast, 1 CastLike.
int ew_castop_infer(OpCtx *c);
int ew_castop_run(OpCtx *c);
size_t ew_castop_scratch(const OpCtx *c);

#endif
