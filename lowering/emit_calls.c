// lowering/emit_calls.c — builtin calls as tile-level MLIR: dot (linalg.matmul), reductions and
// argmax/argmin, arange, fills, transposes, broadcasts and reshapes, math functions (exp on f32
// as vectorizable arithmetic), the elementwise builtins, and inlined helper functions. Loads,
// stores and atomics go to emit_memory.c.
#include <math.h>
#include <string.h>

#include "mlir-c/Dialect/Linalg.h"

#include "emit.h"

// ================================================================ linalg

static MlirValue filled(Emitter *e, const Type *t, MlirValue scalar) {
    MlirValue ops[2] = {scalar, emit_empty_tensor(e, t)};
    MlirType rt = tensor_of(e, t->elem, t->rank, t->dims);
    MlirNamedAttribute seg = named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 1}));
    MlirOperation f = op(e, "linalg.fill", 1, &rt, 2, ops, 1, &seg, 1);
    mlirLinalgFillBuiltinNamedOpRegion(f);
    return mlirOperationGetResult(f, 0);
}

// dot of [M, K] x [K, N] (linalg.matmul) or [B, M, K] x [B, K, N] (linalg.batch_matmul), in the
// result's (accumulation) type, into `acc` or zeros.
MlirValue emit_matmul(Emitter *e, Node *n, Node *a, Node *b, Node *acc) {
    MlirValue va = emit_expr(e, a), vb = emit_expr(e, b);
    if (e->failed)
        return va;
    // f16/bf16 operands with a wider accumulator: widen the tiles once (exact), so the product
    // runs at the accumulator's type instead of converting inside the innermost loop.
    if (elem_is_float(n->type.elem) && elem_bits(a->type.elem) < elem_bits(n->type.elem)) {
        va = emit_convert(e, va, a->type.elem, n->type.elem, &a->type);
        vb = emit_convert(e, vb, b->type.elem, n->type.elem, &b->type);
    }
    MlirValue init = acc ? emit_operand(e, acc, n->type.elem, &n->type)
                         : filled(e, &n->type, const_scalar(e, n->type.elem, &(ConstVal){0}));
    MlirValue ops[3] = {va, vb, init};
    MlirType rt = value_type(e, &n->type);
    MlirNamedAttribute seg = named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){2, 1}));
    MlirOperation m =
        op(e, n->type.rank == 3 ? "linalg.batch_matmul" : "linalg.matmul", 1, &rt, 3, ops, 1, &seg, 1);
    mlirLinalgFillBuiltinNamedOpRegion(m);
    return mlirOperationGetResult(m, 0);
}

static MlirValue reduced_result(Emitter *e, Node *call, MlirValue res, const Type *xt, int axis, bool keep);

// sum/max/min/mean over one axis (or all): linalg.reduce into a filled init.
static MlirValue emit_reduce(Emitter *e, Node *call, Builtin b, Node *x, int axis, bool keep) {
    Type xt = x->type;
    ElemType el = xt.elem;
    bool fl = elem_is_float(el);
    MlirValue vx = emit_expr(e, x);
    if (e->failed)
        return vx;
    int64_t dims[TILE_MAX_RANK];
    int nd = 0;
    Type rt = {.cls = TY_VALUE, .elem = el};
    for (int i = 0; i < xt.rank; i++) {
        if (axis < 0 || i == axis)
            dims[nd++] = i;
        else
            rt.dims[rt.rank++] = xt.dims[i];
    }
    ConstVal id = {0};
    if (b == B_MAX)
        id = fl ? (ConstVal){.is_float = true, .f = -INFINITY} : (ConstVal){.i = INT64_MIN};
    else if (b == B_MIN)
        id = fl ? (ConstVal){.is_float = true, .f = INFINITY} : (ConstVal){.i = INT64_MAX};
    bool uns = elem_is_unsigned(el);
    if (!fl && b != B_SUM && b != B_MEAN) {  // the identity at this width
        int bits = elem_bits(el);
        if (uns)
            id.i = b == B_MAX ? 0 : bits < 64 ? (INT64_C(1) << bits) - 1 : -1;
        else if (bits < 64)
            id.i = b == B_MAX ? -(INT64_C(1) << (bits - 1)) : (INT64_C(1) << (bits - 1)) - 1;
    }
    // f16 and bf16 sums and means accumulate in f32 unless `acc` says otherwise, and round once
    // at the end (docs/language.md §9.4).
    Node *acc_n = sema_named_arg(call, "acc");
    ElemType acc = acc_n                                                            ? acc_n->type.elem
                   : (b == B_SUM || b == B_MEAN) && (el == EL_F16 || el == EL_BF16) ? EL_F32
                                                                                    : el;
    if (acc != el) {
        vx = emit_convert(e, vx, el, acc, &xt);
        el = acc;
        rt.elem = acc;
    }
    MlirValue init = filled(e, &rt, const_scalar(e, el, &id));
    MlirValue ops[2] = {vx, init};
    MlirType rty = mlirRankedTensorTypeGet(rt.rank, rt.dims, elem_type(e, el), mlirAttributeGetNull());
    MlirNamedAttribute attrs[1] = {named(e, "dimensions", i64_array(e, nd, dims))};
    MlirOperation r = op(e, "linalg.reduce", 1, &rty, 2, ops, 1, attrs, 1);
    MlirType et = elem_type(e, el);
    MlirType bargs[2] = {et, et};
    MlirBlock body = region_block(e, r, 0, 2, bargs);
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirValue in = mlirBlockGetArgument(body, 0), accv = mlirBlockGetArgument(body, 1);
    const char *name = b == B_MAX   ? (fl    ? "arith.maximumf"
                                       : uns ? "arith.maxui"
                                             : "arith.maxsi")
                       : b == B_MIN ? (fl    ? "arith.minimumf"
                                       : uns ? "arith.minui"
                                             : "arith.minsi")
                                    : (fl ? "arith.addf" : "arith.addi");
    MlirValue c;
    if (fl) {
        // The order of a tile reduction is unspecified (docs/language.md): reassociation lets
        // LLVM vectorize it.
        MlirValue ops2[2] = {in, accv};
        MlirNamedAttribute fm = named(
            e, "fastmath",
            mlirAttributeParseGet(e->ir.ctx, mlirStringRefCreateFromCString("#arith.fastmath<reassoc>")));
        c = mlirOperationGetResult(op(e, name, 1, (MlirType[]){et}, 2, ops2, 1, &fm, 0), 0);
    } else {
        c = binop(e, name, in, accv);
    }
    op(e, "linalg.yield", 0, NULL, 1, &c, 0, NULL, 0);
    e->ir.block = saved;
    MlirValue res = mlirOperationGetResult(r, 0);
    if (b == B_MEAN) {
        int64_t count = 1;
        for (int i = 0; i < nd; i++)
            count *= xt.dims[dims[i]];
        MlirValue k = const_float(e, et, (double)count);
        res = binop(e, "arith.divf", res, op1(e, "tensor.splat", rty, 1, &k));
    }
    if (el != call->type.elem)  // round the f32 (or f64) result once (a tensor, 0-d when full)
        res = op1(e, "arith.truncf", tensor_of(e, call->type.elem, rt.rank, rt.dims), 1, &res);
    return reduced_result(e, call, res, &xt, axis, keep);
}

// The result of a reduction of `xt` over `axis` (-1: all) computed as the tensor `res`: a scalar
// for a full reduction, or with keepdims the reduced dimensions back with size 1 (call's type).
static MlirValue reduced_result(Emitter *e, Node *call, MlirValue res, const Type *xt, int axis, bool keep) {
    MlirType et = elem_type(e, call->type.elem);
    bool all = axis < 0 || xt->rank == 1;
    if (keep) {
        MlirType kt = value_type(e, &call->type);
        if (all)
            return op1(e, "tensor.splat", kt, 1, (MlirValue[]){op1(e, "tensor.extract", et, 1, &res)});
        bool kept[TILE_MAX_RANK];
        for (int i = 0; i < xt->rank; i++)
            kept[i] = i != axis;
        MlirNamedAttribute attrs[2] = {
            named(e, "reassociation", emit_reassociation(e, xt->rank, kept)),
            named(e, "static_output_shape", i64_array(e, call->type.rank, call->type.dims)),
        };
        return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &kt, 1, &res, 2, attrs, 0), 0);
    }
    return all ? op1(e, "tensor.extract", et, 1, &res) : res;
}

// argmax/argmin over one axis (or all, as a row-major position): a linalg.generic with two
// outputs, the best value so far and its position (i32); a strictly better element replaces
// them, so ties keep the first position and NaN never wins.
static MlirValue emit_argreduce(Emitter *e, Node *call, Builtin b, Node *x, int axis, bool keep) {
    Type xt = x->type;
    MlirValue vx = emit_expr(e, x);
    if (e->failed)
        return vx;
    int r = xt.rank;
    Type vt = {.cls = TY_VALUE, .elem = xt.elem}, it = {.cls = TY_VALUE, .elem = EL_I32};
    MlirAffineExpr kept_dims[TILE_MAX_RANK];
    MlirAttribute iters[TILE_MAX_RANK];
    for (int i = 0; i < r; i++) {
        bool red = axis < 0 || i == axis;
        iters[i] = mlirAttributeParseGet(
            e->ir.ctx, str(red ? "#linalg.iterator_type<reduction>" : "#linalg.iterator_type<parallel>"));
        if (!red) {
            kept_dims[vt.rank] = mlirAffineDimExprGet(e->ir.ctx, i);
            vt.dims[vt.rank++] = xt.dims[i];
        }
    }
    it.rank = vt.rank;
    memcpy(it.dims, vt.dims, sizeof vt.dims);
    bool fl = elem_is_float(xt.elem);
    MlirType et = elem_type(e, xt.elem), i32 = elem_type(e, EL_I32);
    int bits = elem_bits(xt.elem);
    bool uns = elem_is_unsigned(xt.elem);
    MlirValue worst = fl    ? const_float(e, et, b == B_ARGMAX ? -INFINITY : INFINITY)
                      : uns ? const_int(e, et, b == B_ARGMAX ? 0 : (int64_t)(UINT64_MAX >> (64 - bits)))
                            : const_int(e, et,
                                        b == B_ARGMAX ? -(int64_t)(UINT64_MAX >> (65 - bits)) - 1
                                                      : (int64_t)(UINT64_MAX >> (65 - bits)));
    MlirValue outs[3] = {vx, filled(e, &vt, worst), filled(e, &it, const_int(e, i32, 0))};
    MlirType rts[2] = {mlirValueGetType(outs[1]), mlirValueGetType(outs[2])};
    MlirAffineMap out_map = mlirAffineMapGet(e->ir.ctx, r, 0, vt.rank, kept_dims);
    MlirAttribute maps[3] = {mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, r)),
                             mlirAffineMapAttrGet(out_map), mlirAffineMapAttrGet(out_map)};
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 3, maps)),
        named(e, "iterator_types", mlirArrayAttrGet(e->ir.ctx, r, iters)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 2})),
    };
    MlirOperation g = op(e, "linalg.generic", 2, rts, 3, outs, 3, attrs, 1);
    MlirBlock body = region_block(e, g, 0, 3, (MlirType[]){et, et, i32});
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirValue v = mlirBlockGetArgument(body, 0), best = mlirBlockGetArgument(body, 1),
              pos = mlirBlockGetArgument(body, 2);
    MlirValue here = const_int(e, indext(e), 0);
    int64_t stride = 1;
    for (int i = r - 1; i >= 0; i--) {
        if (!(axis < 0 || i == axis))
            continue;
        MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), i));
        MlirValue idx =
            mlirOperationGetResult(op(e, "linalg.index", 1, (MlirType[]){indext(e)}, 0, NULL, 1, &dim, 0), 0);
        here = binop(e, "arith.addi", here, binop(e, "arith.muli", idx, const_int(e, indext(e), stride)));
        stride *= xt.dims[i];
    }
    here = op1(e, "arith.index_cast", i32, 1, &here);
    // ogt 2 / olt 4 (cmpf); sgt 4 / slt 2 (cmpi)
    int pred = fl ? (b == B_ARGMAX ? 2 : 4) : (b == B_ARGMAX ? 4 : 2) + (uns ? 4 : 0);  // ugt 8 / ult 6
    MlirNamedAttribute pa = named(e, "predicate", mlirIntegerAttrGet(i64t(e), pred));
    MlirValue better =
        mlirOperationGetResult(op(e, fl ? "arith.cmpf" : "arith.cmpi", 1, (MlirType[]){elem_type(e, EL_I1)},
                                  2, (MlirValue[]){v, best}, 1, &pa, 0),
                               0);
    MlirValue ys[2] = {op1(e, "arith.select", et, 3, (MlirValue[]){better, v, best}),
                       op1(e, "arith.select", i32, 3, (MlirValue[]){better, here, pos})};
    op(e, "linalg.yield", 0, NULL, 2, ys, 0, NULL, 0);
    e->ir.block = saved;
    return reduced_result(e, call, mlirOperationGetResult(g, 1), &xt, axis, keep);
}

// The same elements in row-major order with the shape `to`: collapse to one dimension, then
// expand (a scalar is splat first; a scalar result is extracted).
MlirValue emit_reshape_to(Emitter *e, MlirValue x, const Type *from, const Type *to) {
    Type flat = {.cls = TY_VALUE, .elem = from->elem, .rank = 1, .dims = {1}};
    for (int i = 0; i < from->rank; i++)
        flat.dims[0] *= from->dims[i];
    bool none[TILE_MAX_RANK] = {0};
    if (from->rank == 0) {
        x = op1(e, "tensor.splat", value_type(e, &flat), 1, &x);
    } else if (from->rank > 1) {
        MlirType ft = value_type(e, &flat);
        MlirNamedAttribute ra = named(e, "reassociation", emit_reassociation(e, from->rank, none));
        x = mlirOperationGetResult(op(e, "tensor.collapse_shape", 1, &ft, 1, &x, 1, &ra, 0), 0);
    }
    if (to->rank == 0)
        return op1(e, "tensor.extract", elem_type(e, to->elem), 2,
                   (MlirValue[]){x, const_int(e, indext(e), 0)});
    if (to->rank == 1)
        return x;
    MlirType rt = value_type(e, to);
    MlirNamedAttribute attrs[2] = {
        named(e, "reassociation", emit_reassociation(e, to->rank, none)),
        named(e, "static_output_shape", i64_array(e, to->rank, to->dims)),
    };
    return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &rt, 1, &x, 2, attrs, 0), 0);
}

// ================================================================ calls

// A float constant of x's type (a splat for a tile).
static MlirValue kf(Emitter *e, MlirValue x, bool tile, double v) {
    MlirValue c = const_float(e, elem_type(e, EL_F32), v);
    return tile ? op1(e, "tensor.splat", mlirValueGetType(x), 1, &c) : c;
}

// The type of `shape` (a tile or a scalar) with elements of `elem`.
static MlirType shaped_as(Emitter *e, const Type *shape, ElemType elem) {
    Type t = *shape;
    t.elem = elem;
    return value_type(e, &t);
}

// arith.cmpf `predicate` of a and b, of the shape `shape` (a tile of i1, or an i1).
static MlirValue cmpf_shaped(Emitter *e, int64_t predicate, MlirValue a, MlirValue b, const Type *shape) {
    MlirType bt = shaped_as(e, shape, EL_I1);
    MlirNamedAttribute p = named(e, "predicate", mlirIntegerAttrGet(i64t(e), predicate));
    return mlirOperationGetResult(op(e, "arith.cmpf", 1, &bt, 2, (MlirValue[]){a, b}, 1, &p, 0), 0);
}

// A splat of i32 constant v of type it (or the constant, for a scalar).
static MlirValue ki(Emitter *e, MlirType it, bool tile, int64_t v) {
    MlirValue c = const_int(e, elem_type(e, EL_I32), v);
    return tile ? op1(e, "tensor.splat", it, 1, &c) : c;
}

// e^r * 2^n for |r| <= ln2 / 2 and integral n in [-126, 128] (floats): Cephes expf's degree-7
// polynomial, 2^n built in the exponent bits as 2^(n >> 1) * 2^(n - (n >> 1)), so that each
// factor's biased exponent stays normal.
static MlirValue exp_scaled(Emitter *e, MlirValue r, MlirValue n, const Type *shape) {
    MlirType ft = mlirValueGetType(r);
    MlirType it = shaped_as(e, shape, EL_I32);
    bool tile = shape->rank > 0;
    static const double c[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                               4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
    MlirValue p = kf(e, r, tile, c[0]);
    for (int i = 1; i < 6; i++)
        p = op1(e, "math.fma", ft, 3, (MlirValue[]){p, r, kf(e, r, tile, c[i])});
    MlirValue r2 = binop(e, "arith.mulf", r, r);
    p = op1(e, "math.fma", ft, 3, (MlirValue[]){p, r2, binop(e, "arith.addf", r, kf(e, r, tile, 1.0))});
    MlirValue ni = op1(e, "arith.fptosi", it, 1, &n);
    MlirValue n1 = binop(e, "arith.shrsi", ni, ki(e, it, tile, 1));
    MlirValue n2 = binop(e, "arith.subi", ni, n1);
    MlirValue b1 =
        binop(e, "arith.shli", binop(e, "arith.addi", n1, ki(e, it, tile, 127)), ki(e, it, tile, 23));
    MlirValue b2 =
        binop(e, "arith.shli", binop(e, "arith.addi", n2, ki(e, it, tile, 127)), ki(e, it, tile, 23));
    return binop(e, "arith.mulf", binop(e, "arith.mulf", p, op1(e, "arith.bitcast", ft, 1, &b1)),
                 op1(e, "arith.bitcast", ft, 1, &b2));
}

// y, but +inf where x > hi and 0 where x < lo (past the range of normal results).
static MlirValue exp_edges(Emitter *e, MlirValue x, MlirValue y, double lo, double hi, const Type *shape) {
    MlirType ft = mlirValueGetType(x);
    bool tile = shape->rank > 0;
    MlirValue big = cmpf_shaped(e, 2 /* ogt */, x, kf(e, x, tile, hi), shape);
    y = op1(e, "arith.select", ft, 3, (MlirValue[]){big, kf(e, x, tile, INFINITY), y});
    MlirValue small = cmpf_shaped(e, 4 /* olt */, x, kf(e, x, tile, lo), shape);
    return op1(e, "arith.select", ft, 3, (MlirValue[]){small, kf(e, x, tile, 0.0), y});
}

// exp for f32 scalars and tiles as arithmetic (Cephes expf: x = n ln2 + r, |r| <= ln2/2,
// exp(r) by a degree-7 polynomial, 2^n built in the exponent bits), so loops over tiles
// vectorize instead of calling libm's expf per element. About 1 ulp; results below the
// smallest normal float flush to 0; exp(+inf) = +inf, exp(-inf) = 0, NaN stays NaN.
static MlirValue exp_f32(Emitter *e, MlirValue x, const Type *shape) {
    MlirType ft = mlirValueGetType(x);
    bool tile = shape->rank > 0;
#define KF(v) kf(e, x, tile, (v))
    MlirValue xc =
        binop(e, "arith.minimumf", binop(e, "arith.maximumf", x, KF(-87.33654475)), KF(88.72283905));
    MlirValue n = op1(
        e, "math.floor", ft, 1,
        (MlirValue[]){binop(e, "arith.addf", binop(e, "arith.mulf", xc, KF(1.44269504088896341)), KF(0.5))});
    MlirValue r = binop(e, "arith.subf", xc, binop(e, "arith.mulf", n, KF(0.693359375)));
    r = binop(e, "arith.subf", r, binop(e, "arith.mulf", n, KF(-2.12194440e-4)));
#undef KF
    return exp_edges(e, x, exp_scaled(e, r, n, shape), -87.33654475, 88.72283905, shape);
}

// 2^x the same way (exp2f on CPUs, libm's per element before): x = n + f, |f| <= 1/2 exactly,
// 2^f = e^(f ln2). Within 1.3 ulp; below 2^-126 flushes to 0, 2^128 and above is +inf.
static MlirValue exp2_f32(Emitter *e, MlirValue x, const Type *shape) {
    MlirType ft = mlirValueGetType(x);
    bool tile = shape->rank > 0;
    MlirValue xc = binop(e, "arith.minimumf", binop(e, "arith.maximumf", x, kf(e, x, tile, -126.0)),
                         kf(e, x, tile, 128.0));
    MlirValue n = op1(e, "math.floor", ft, 1, (MlirValue[]){binop(e, "arith.addf", xc, kf(e, x, tile, 0.5))});
    MlirValue r = binop(e, "arith.mulf", binop(e, "arith.subf", xc, n), kf(e, x, tile, 0.693147180559945309));
    return exp_edges(e, x, exp_scaled(e, r, n, shape), -126.0, 128.0, shape);
}

// log and log2 for f32 scalars and tiles as arithmetic on CPUs (libm's logf and log2f were
// called per element: 2.5 GB/s, one thread). Cephes logf: x = 2^k m with m in [sqrt(1/2),
// sqrt(2)), log(m) = t - t^2/2 + t^3 P(t), t = m - 1, P of degree 8; log2 = k + log(m) log2(e),
// exact at powers of 2. Subnormal x is scaled by 2^23 first. log(0) = -inf, log(+inf) = +inf,
// x < 0 and NaN give NaN.
static MlirValue log_f32(Emitter *e, MlirValue x, const Type *shape, bool base2) {
    MlirType ft = mlirValueGetType(x);
    MlirType it = shaped_as(e, shape, EL_I32);
    bool tile = shape->rank > 0;
#define KF(v) kf(e, x, tile, (v))
#define KI(v) ki(e, it, tile, (v))
#define SELECT(c, a, b) op1(e, "arith.select", ft, 3, (MlirValue[]){(c), (a), (b)})
    MlirValue sub = cmpf_shaped(e, 4 /* olt */, x, KF(1.17549435e-38), shape);
    MlirValue xs = SELECT(sub, binop(e, "arith.mulf", x, KF(8388608.0)), x);
    MlirValue bits = op1(e, "arith.bitcast", it, 1, &xs);
    // k such that m = x / 2^k is in [1/2, 1): the biased exponent less 126.
    MlirValue k = binop(e, "arith.subi", binop(e, "arith.shrui", bits, KI(23)), KI(126));
    MlirValue kf_ = op1(e, "arith.sitofp", ft, 1, &k);
    kf_ = SELECT(sub, binop(e, "arith.subf", kf_, KF(23.0)), kf_);
    MlirValue mb = binop(e, "arith.ori", binop(e, "arith.andi", bits, KI(0x007fffff)), KI(0x3f000000));
    MlirValue m = op1(e, "arith.bitcast", ft, 1, &mb);
    // Below sqrt(1/2): m doubled, k less one; t = m - 1 in [-0.29, 0.41).
    MlirValue low = cmpf_shaped(e, 4 /* olt */, m, KF(0.707106781186547524), shape);
    MlirValue t = binop(e, "arith.subf", SELECT(low, binop(e, "arith.addf", m, m), m), KF(1.0));
    kf_ = SELECT(low, binop(e, "arith.subf", kf_, KF(1.0)), kf_);
    static const double c[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                               -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                               2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
    MlirValue p = KF(c[0]);
    for (int i = 1; i < 9; i++)
        p = op1(e, "math.fma", ft, 3, (MlirValue[]){p, t, KF(c[i])});
    MlirValue t2 = binop(e, "arith.mulf", t, t);
    MlirValue y = binop(e, "arith.mulf", binop(e, "arith.mulf", p, t), t2);
    if (base2) {
        // log2(x) = k + (t + y - t^2/2) log2(e)
        MlirValue lm = op1(e, "math.fma", ft, 3, (MlirValue[]){t2, KF(-0.5), y});
        lm = binop(e, "arith.addf", t, lm);
        y = op1(e, "math.fma", ft, 3, (MlirValue[]){lm, KF(1.44269504088896341), kf_});
    } else {
        // log(x) = t + (y - t^2/2 + k ln2), ln2 split in two parts (k ln2's rounding kept off t)
        y = op1(e, "math.fma", ft, 3, (MlirValue[]){kf_, KF(-2.12194440e-4), y});
        y = op1(e, "math.fma", ft, 3, (MlirValue[]){t2, KF(-0.5), y});
        y = binop(e, "arith.addf", t, y);
        y = op1(e, "math.fma", ft, 3, (MlirValue[]){kf_, KF(0.693359375), y});
    }
    y = SELECT(cmpf_shaped(e, 1 /* oeq */, x, KF(INFINITY), shape), x, y);
    y = SELECT(cmpf_shaped(e, 1 /* oeq */, x, KF(0.0), shape), KF(-INFINITY), y);
    y = SELECT(cmpf_shaped(e, 11 /* ult: x < 0 or NaN */, x, KF(0.0), shape), KF(NAN), y);
#undef KF
#undef KI
#undef SELECT
    return y;
}

// x * (c[0] x2^(n-1) + ... + c[n-1]) / (d[0] x2^(m-1) + ... + d[m-1]) by Horner's rule on fmas:
// the odd rational functions below.
static MlirValue odd_rational(Emitter *e, MlirValue x, MlirValue x2, bool tile, const double *c, int n,
                              const double *d, int m) {
    MlirType ft = mlirValueGetType(x);
    MlirValue p = kf(e, x, tile, c[0]), q = kf(e, x, tile, d[0]);
    for (int i = 1; i < n; i++)
        p = op1(e, "math.fma", ft, 3, (MlirValue[]){x2, p, kf(e, x, tile, c[i])});
    for (int i = 1; i < m; i++)
        q = op1(e, "math.fma", ft, 3, (MlirValue[]){x2, q, kf(e, x, tile, d[i])});
    return binop(e, "arith.divf", binop(e, "arith.mulf", x, p), q);
}

static MlirValue clamp_f32(Emitter *e, MlirValue x, bool tile, double bound) {
    return binop(e, "arith.minimumf", binop(e, "arith.maximumf", x, kf(e, x, tile, -bound)),
                 kf(e, x, tile, bound));
}

// tanh and erf for f32 scalars and tiles as arithmetic on CPUs, for the reason exp_f32 is: libm's
// tanhf and erff are called per element (stdlib's gelu ran at 2.1 GB/s, tanh at 0.8, one thread).
// Both are the odd rational approximations Eigen and MLIR's polynomial approximations use, on
// x clamped where the function is 1 to float precision. Against double-precision tanh and erf
// over [-12, 12] in steps of 1e-5: tanh within 2.8e-7 (5 ulp of tanhf), erf within 3.4e-7;
// tanh(x) = x below 0.0004; tanh(+-inf) = +-1, erf(+-inf) = +-1, NaN stays NaN.
static MlirValue tanh_f32(Emitter *e, MlirValue x, const Type *shape) {
    static const double c[] = {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                               5.12229709037114e-08,  1.48572235717979e-05, 6.37261928875436e-04,
                               4.89352455891786e-03};
    static const double d[] = {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                               4.89352518554385e-03};
    bool tile = shape->rank > 0;
    MlirType ft = mlirValueGetType(x);
    MlirValue xc = clamp_f32(e, x, tile, 7.99881172180175781);
    MlirValue y = odd_rational(e, xc, binop(e, "arith.mulf", xc, xc), tile, c, 7, d, 4);
    MlirValue ax = op1(e, "math.absf", ft, 1, &x);
    MlirValue tiny = cmpf_shaped(e, 4 /* olt */, ax, kf(e, x, tile, 0.0004), shape);
    return op1(e, "arith.select", ft, 3, (MlirValue[]){tiny, x, y});
}

static MlirValue erf_f32(Emitter *e, MlirValue x, const Type *shape) {
    static const double c[] = {-2.72614225801306e-10, 2.77068142495902e-08,  -2.10102402082508e-06,
                               -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                               -1.60960333262415e-02};
    static const double d[] = {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                               -7.37332916720468e-03, -1.42647390514189e-02};
    bool tile = shape->rank > 0;
    MlirValue xc = clamp_f32(e, x, tile, 4.0);
    return odd_rational(e, xc, binop(e, "arith.mulf", xc, xc), tile, c, 7, d, 5);
}

static MlirValue emit_math(Emitter *e, Node *n, const char *name) {
    MlirValue x = emit_operand(e, n->args.items[0], n->type.elem, &n->type);
    if (e->failed)
        return x;
    return op1(e, name, mlirValueGetType(x), 1, &x);
}

static MlirValue emit_elementwise2(Emitter *e, Node *n, const char *fname, const char *iname) {
    MlirValue a = emit_operand(e, n->args.items[0], n->type.elem, &n->type);
    MlirValue b = emit_operand(e, n->args.items[1], n->type.elem, &n->type);
    if (e->failed)
        return a;
    return binop(e, elem_is_float(n->type.elem) ? fname : iname, a, b);
}

void emit_helper_values(Emitter *e, Node *call, int n, const Type *types, MlirValue *out) {
    int mark = e->nenv;
    for (int i = 0; i < call->args.len; i++) {
        if (call->args.items[i]->type.cls == TY_TENSOR)
            continue;  // the body's accesses name the kernel's tensor itself (sema resolved them)
        MlirValue v = emit_expr(e, call->args.items[i]);
        if (e->failed)
            return;
        emit_bind(e, call->inline_params[i], v);
    }
    // The body's statements in the helper's own scope (not emit_block, which would drop its lets
    // before the return value that reads them is evaluated).
    for (int i = 0; i < call->inlined->args.len && !e->failed; i++)
        emit_stmt(e, call->inlined->args.items[i]);
    Node *ret = call->inlined_ret;
    for (int i = 0; i < n && ret && !e->failed; i++)
        out[i] = emit_operand(e, ret->kind == ND_TUPLE ? ret->args.items[i] : ret, types[i].elem, &types[i]);
    e->nenv = mark;
}

static MlirValue emit_helper(Emitter *e, Node *call) {
    MlirValue r = {NULL};
    emit_helper_values(e, call, call->type.cls == TY_VALUE ? 1 : 0, &call->type, &r);
    return r;
}

// arange(lo, hi) or arange(hi): a linalg.generic yielding lo plus its index (i32).
static MlirValue emit_arange(Emitter *e, Node *n) {
    Node **a = n->args.items;
    int64_t lo = n->args.len == 2 ? a[0]->cval.i : 0;
    MlirValue out = emit_empty_tensor(e, &n->type);
    MlirType rt = value_type(e, &n->type);
    MlirAttribute maps[1] = {mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, 1))};
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 1, maps)),
        named(e, "iterator_types", emit_parallel_iterators(e, 1)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){0, 1})),
    };
    MlirOperation g = op(e, "linalg.generic", 1, &rt, 1, &out, 3, attrs, 1);
    MlirType i32 = elem_type(e, EL_I32);
    MlirBlock body = region_block(e, g, 0, 1, &i32);
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), 0));
    MlirType it = indext(e);
    MlirValue i = mlirOperationGetResult(op(e, "linalg.index", 1, &it, 0, NULL, 1, &dim, 0), 0);
    MlirValue i32v = op1(e, "arith.index_cast", i32, 1, &i);
    MlirValue v = binop(e, "arith.addi", i32v, const_int(e, i32, lo));
    op(e, "linalg.yield", 0, NULL, 1, &v, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(g, 0);
}

// The builtins computed element by element (fills, math functions, sigmoid, pow, maximum,
// minimum, clamp, where, cdiv); any other builtin is reported as not lowered.
static MlirValue emit_elementwise_builtin(Emitter *e, Node *n, Builtin b) {
    Node **a = n->args.items;
    switch (b) {
    case B_ZEROS:
    case B_ONES:
    case B_FULL: {
        MlirValue s =
            b == B_FULL ? emit_operand(e, a[2], n->type.elem, &(Type){.cls = TY_VALUE, .elem = n->type.elem})
                        : const_scalar(e, n->type.elem, &(ConstVal){.i = b == B_ONES, .f = b == B_ONES});
        if (b != B_FULL && elem_is_float(n->type.elem))
            s = const_float(e, elem_type(e, n->type.elem), b == B_ONES ? 1.0 : 0.0);
        return n->type.rank ? op1(e, "tensor.splat", value_type(e, &n->type), 1, &s) : s;
    }
    case B_EXP:
        if (n->type.elem == EL_F32) {
            MlirValue x = emit_operand(e, a[0], EL_F32, &n->type);
            return e->failed ? x : exp_f32(e, x, &n->type);
        }
        return emit_math(e, n, "math.exp");
    case B_EXP2:
    case B_LOG:
    case B_LOG2:
        // GPUs keep libdevice's functions (as for tanh and erf below).
        if (n->type.elem == EL_F32 && !e->gpu) {
            MlirValue x = emit_operand(e, a[0], EL_F32, &n->type);
            return e->failed     ? x
                   : b == B_EXP2 ? exp2_f32(e, x, &n->type)
                                 : log_f32(e, x, &n->type, b == B_LOG2);
        }
        return emit_math(e, n, b == B_EXP2 ? "math.exp2" : b == B_LOG ? "math.log" : "math.log2");
    case B_SQRT: return emit_math(e, n, "math.sqrt");
    case B_RSQRT: return emit_math(e, n, "math.rsqrt");
    case B_SIN: return emit_math(e, n, "math.sin");
    case B_COS: return emit_math(e, n, "math.cos");
    case B_TANH:
    case B_ERF:
        // GPUs keep libdevice's __nv_tanhf and __nv_erff: inlined into an epilogue, the rational
        // functions made stdlib linear_f16 and linear_bf16 spill on sm_80 (0 -> 120 bytes).
        if (n->type.elem == EL_F32 && !e->gpu) {
            MlirValue x = emit_operand(e, a[0], EL_F32, &n->type);
            return e->failed ? x : b == B_TANH ? tanh_f32(e, x, &n->type) : erf_f32(e, x, &n->type);
        }
        return emit_math(e, n, b == B_TANH ? "math.tanh" : "math.erf");
    case B_FLOOR: return emit_math(e, n, "math.floor");
    case B_CEIL: return emit_math(e, n, "math.ceil");
    case B_ABS:
        if (elem_is_unsigned(n->type.elem))
            return emit_operand(e, a[0], n->type.elem, &n->type);
        return emit_math(e, n, elem_is_float(n->type.elem) ? "math.absf" : "math.absi");
    case B_SIGMOID: {  // 1 / (1 + exp(-x))
        MlirValue x = emit_operand(e, a[0], n->type.elem, &n->type);
        if (e->failed)
            return x;
        MlirType t = mlirValueGetType(x);
        MlirValue one = const_float(e, elem_type(e, n->type.elem), 1.0);
        if (n->type.rank)
            one = op1(e, "tensor.splat", t, 1, &one);
        MlirValue neg = op1(e, "arith.negf", t, 1, &x);
        MlirValue ex = n->type.elem == EL_F32 ? exp_f32(e, neg, &n->type) : op1(e, "math.exp", t, 1, &neg);
        return binop(e, "arith.divf", one, binop(e, "arith.addf", one, ex));
    }
    case B_POW: return emit_elementwise2(e, n, "math.powf", "math.ipowi");
    case B_MAXIMUM:
        return emit_elementwise2(e, n, "arith.maximumf",
                                 elem_is_unsigned(n->type.elem) ? "arith.maxui" : "arith.maxsi");
    case B_MINIMUM:
        return emit_elementwise2(e, n, "arith.minimumf",
                                 elem_is_unsigned(n->type.elem) ? "arith.minui" : "arith.minsi");
    case B_CLAMP: {
        MlirValue x = emit_operand(e, a[0], n->type.elem, &n->type),
                  lo = emit_operand(e, a[1], n->type.elem, &n->type),
                  hi = emit_operand(e, a[2], n->type.elem, &n->type);
        if (e->failed)
            return x;
        bool fl = elem_is_float(n->type.elem), uns = elem_is_unsigned(n->type.elem);
        return binop(e,
                     fl    ? "arith.minimumf"
                     : uns ? "arith.minui"
                           : "arith.minsi",
                     binop(e,
                           fl    ? "arith.maximumf"
                           : uns ? "arith.maxui"
                                 : "arith.maxsi",
                           x, lo),
                     hi);
    }
    case B_WHERE: {
        Type ct = n->type;
        ct.elem = EL_I1;
        MlirValue c = emit_operand(e, a[0], EL_I1, &ct);
        MlirValue x = emit_operand(e, a[1], n->type.elem, &n->type),
                  y = emit_operand(e, a[2], n->type.elem, &n->type);
        if (e->failed)
            return c;
        MlirValue ops[3] = {c, x, y};
        return op1(e, "arith.select", mlirValueGetType(x), 3, ops);
    }
    case B_CDIV: {
        MlirValue x = emit_operand(e, a[0], n->type.elem, &n->type),
                  y = emit_operand(e, a[1], n->type.elem, &n->type);
        return e->failed
                   ? x
                   : binop(e, elem_is_unsigned(n->type.elem) ? "arith.ceildivui" : "arith.ceildivsi", x, y);
    }
    default: break;
    }
    char what[64];
    snprintf(what, sizeof what, "'%s'", n->name);
    return emit_unsupported(e, n, what);
}

// sum, max, min, mean, argmax, argmin (x, axis, keepdims).
static MlirValue emit_reduction(Emitter *e, Node *n, Builtin b) {
    Node **a = n->args.items;
    Node *axis = n->args.len > 1 ? a[1] : sema_named_arg(n, "axis");
    Node *keep = sema_named_arg(n, "keepdims");
    int ax = -1;
    if (axis) {
        ax = (int)axis->cval.i;
        if (ax < 0)
            ax += a[0]->type.rank;
    }
    bool k = keep && keep->cval.i;
    return b == B_ARGMAX || b == B_ARGMIN ? emit_argreduce(e, n, b, a[0], ax, k)
                                          : emit_reduce(e, n, b, a[0], ax, k);
}

MlirValue emit_call(Emitter *e, Node *n) {
    if (n->inlined)
        return emit_helper(e, n);
    Builtin b = builtin_lookup(n->name);
    Node **a = n->args.items;
    switch (b) {
    case B_PROGRAM_ID:
    case B_NUM_PROGRAMS: return (b == B_PROGRAM_ID ? e->pid : e->np)[a[0]->cval.i];
    case B_ARANGE: return emit_arange(e, n);
    case B_LOAD: {
        Node *mask = sema_named_arg(n, "mask"), *other = sema_named_arg(n, "other");
        if (!mask && !other && !emit_has_index_tile(a[0]))
            return emit_tensor_load(e, a[0]);
        return emit_gather(e, a[0], mask, other);
    }
    case B_STORE:
    case B_ATOMIC_ADD:
    case B_ATOMIC_MAX:
    case B_ATOMIC_MIN: {
        Node *mask = sema_named_arg(n, "mask");
        if (b == B_STORE && !mask && !emit_has_index_tile(a[0]))
            emit_tensor_store(e, a[0], a[1]);
        else
            emit_scatter(e, a[0], a[1], mask, b);
        return (MlirValue){NULL};
    }
    case B_TRANS: {
        MlirValue x = emit_expr(e, a[0]);
        if (e->failed)
            return x;
        Node *perm_n = n->args.len > 1 ? a[1] : sema_named_arg(n, "perm");
        int64_t perm[TILE_MAX_RANK] = {1, 0};
        for (int i = 0; perm_n && i < perm_n->type.rank; i++)
            perm[i] = perm_n->type.dims[i];
        MlirValue ops[2] = {x, emit_empty_tensor(e, &n->type)};
        MlirType rt = value_type(e, &n->type);
        MlirNamedAttribute pa = named(e, "permutation", i64_array(e, n->type.rank, perm));
        return emit_copy_body(e, op(e, "linalg.transpose", 1, &rt, 2, ops, 1, &pa, 1), n->type.elem);
    }
    case B_BROADCAST: {
        MlirValue x = emit_expr(e, a[0]);
        return e->failed ? x : emit_broadcast_to(e, x, &a[0]->type, &n->type);
    }
    case B_RESHAPE: {
        MlirValue x = emit_expr(e, a[0]);
        return e->failed ? x : emit_reshape_to(e, x, &a[0]->type, &n->type);
    }
    case B_SUM:
    case B_MAX:
    case B_MIN:
    case B_MEAN:
    case B_ARGMAX:
    case B_ARGMIN: return emit_reduction(e, n, b);
    case B_ATOMIC_CAS:
    case B_ATOMIC_XCHG: return emit_atomic_swap(e, n, b);
    case B_UMULHI:
    case B_PHILOX:
    case B_RANDINT:
    case B_RAND:
    case B_RANDN: return emit_random(e, n, b);
    case B_DOT: {
        Node *acc = n->args.len > 2 ? a[2] : sema_named_arg(n, "acc");
        if (acc && acc->type.cls == TY_TYPE)
            acc = NULL;
        // out_type is the result's (accumulation) type; allow_tf32 permits, and on a CPU does
        // not need, reduced precision: full f32.
        return emit_matmul(e, n, a[0], a[1], acc);
    }
    default: return emit_elementwise_builtin(e, n, b);
    }
}
