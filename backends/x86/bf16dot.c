// backends/x86/bf16dot.c — bf16 dots as AVX512-BF16 dot products (vdpbf16ps) on CPUs that have
// them (Schedule.bf16dot).
//
// The emitter widens f16/bf16 dot operands to the f32 accumulator (lowering/emit_calls.c), so a
// bf16 dot reaches the x86 stages as a linalg.matmul of two widening linalg.generic ops (one
// arith.extf each) over the padded bf16 tiles. Here, before the schedule, such a matmul
// [M, K] x [K, N] becomes a linalg.contract over the narrow tiles in the "VNNI" layout that
// vdpbf16ps reads (pairs of consecutive k next to each other):
//   A [M, K]      -> tensor.expand_shape -> [M, K/2, 2]            (a view: no copy)
//   B [K, N]      -> tensor.expand_shape -> [K/2, 2, N] -> linalg.transpose -> [K/2, N, 2]
//   C[m, n] += A[m, kk, v] * B[kk, n, v]  (linalg.contract, f32 accumulation)
// The schedule (schedule.c) tiles the contract to register tiles of 1 x 16 x 1 x 2 pieces, which
// the vectorizer turns into vector.contract ops that x86vector's packed-type dot-product patterns
// lower to one broadcast of an A pair and one vdpbf16ps per 16 accumulator lanes (2 multiply-adds
// per lane per instruction: twice the f32 FMA's work). The B tile is interleaved once per K step;
// A needs no copy. Products are exact in f32 and summed in pairs before the accumulation, so
// results may differ from the widened f32 path in the last bits (a different summation order).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/Dialect/Linalg.h"

#include "../../lang/diag.h"
#include "../../lowering/build.h"
#include "x86.h"

// The bf16 tile a widening linalg.generic (one input, one arith.extf bf16 -> f32 in its body)
// reads, or a null value.
static MlirValue widened_bf16(MlirValue v) {
    MlirValue none = {NULL};
    if (!mlirValueIsAOpResult(v))
        return none;
    MlirOperation g = mlirOpResultGetOwner(v);
    if (!ir_op_is(g, "linalg.generic") || mlirOperationGetNumOperands(g) != 2 ||
        mlirOperationGetNumResults(g) != 1)
        return none;
    MlirValue in = mlirOperationGetOperand(g, 0);
    MlirType t = mlirValueGetType(in);
    if (!mlirTypeIsARankedTensor(t) || !mlirShapedTypeHasStaticShape(t) ||
        !mlirTypeIsABF16(mlirShapedTypeGetElementType(t)) ||
        mlirValueGetType(in).ptr == mlirValueGetType(mlirOperationGetResult(g, 0)).ptr)
        return none;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(g, 0));
    MlirOperation first = mlirBlockGetFirstOperation(body);
    if (!ir_op_is(first, "arith.extf") || !ir_op_is(mlirOperationGetNextInBlock(first), "linalg.yield"))
        return none;
    // identity maps only (the widened tile is the tile, element by element)
    MlirAttribute maps = mlirOperationGetAttributeByName(g, ir_str("indexing_maps"));
    for (intptr_t i = 0; i < mlirArrayAttrGetNumElements(maps); i++)
        if (!mlirAffineMapIsIdentity(mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, i))))
            return none;
    return in;
}

static MlirOperation make(MlirContext ctx, MlirOperation before, const char *name, int nres,
                          const MlirType *res, int nops, const MlirValue *ops, int nattrs,
                          const char *const *attrs) {
    MlirOperationState st = mlirOperationStateGet(ir_str(name), mlirOperationGetLocation(before));
    mlirOperationStateAddResults(&st, nres, res);
    mlirOperationStateAddOperands(&st, nops, ops);
    MlirNamedAttribute named[4];
    for (int i = 0; i < nattrs; i++) {
        MlirAttribute a = mlirAttributeParseGet(ctx, ir_str(attrs[2 * i + 1]));
        if (mlirAttributeIsNull(a))
            internal_error(__FILE__, __LINE__, "bf16 dot: bad attribute %s", attrs[2 * i + 1]);
        named[i] = mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str(attrs[2 * i])), a);
    }
    mlirOperationStateAddAttributes(&st, nattrs, named);
    if (!strcmp(name, "linalg.transpose") || !strcmp(name, "linalg.contract")) {
        MlirRegion r = mlirRegionCreate();
        mlirOperationStateAddOwnedRegions(&st, 1, &r);
    }
    MlirOperation o = mlirOperationCreate(&st);
    if (mlirOperationIsNull(o))
        internal_error(__FILE__, __LINE__, "bf16 dot: cannot create %s", name);
    mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(before), before, o);
    return o;
}

static MlirType bf16_tensor(MlirContext ctx, int rank, const int64_t *dims) {
    return mlirRankedTensorTypeGet(rank, dims, mlirBF16TypeGet(ctx), mlirAttributeGetNull());
}

// Rewrites matmul `mm` (static [m, k] x [k, n] -> [m, n] in f32, both operands widened from
// bf16) into the VNNI contract tagged tilec.bdot = `index` (its B interleave tilec.vnni =
// `index`). False (nothing changed) when it does not qualify: k odd, n not a multiple of 16.
static bool rewrite(MlirContext ctx, MlirOperation mm, int index, BfDot *out) {
    MlirValue a = widened_bf16(mlirOperationGetOperand(mm, 0)),
              b = widened_bf16(mlirOperationGetOperand(mm, 1));
    MlirValue acc = mlirOperationGetOperand(mm, 2);
    MlirType at = mlirValueGetType(acc);
    if (mlirValueIsNull(a) || mlirValueIsNull(b) || !mlirTypeIsARankedTensor(at) ||
        !mlirShapedTypeHasStaticShape(at) || !mlirTypeIsAF32(mlirShapedTypeGetElementType(at)))
        return false;
    MlirType ta = mlirValueGetType(a), tb = mlirValueGetType(b);
    int64_t m = mlirShapedTypeGetDimSize(ta, 0), k = mlirShapedTypeGetDimSize(ta, 1),
            n = mlirShapedTypeGetDimSize(tb, 1);
    if (mlirShapedTypeGetRank(ta) != 2 || mlirShapedTypeGetRank(tb) != 2 || k % 2 || n % 16 || m < 1)
        return false;
    char shape[96], tag[64];
    snprintf(shape, sizeof shape, "array<i64: %lld, %lld, 2>", (long long)m, (long long)(k / 2));
    const char *ea[] = {"reassociation", "[[0], [1, 2]]", "static_output_shape", shape};
    MlirType a3t = bf16_tensor(ctx, 3, (int64_t[]){m, k / 2, 2});
    MlirValue a3 = mlirOperationGetResult(make(ctx, mm, "tensor.expand_shape", 1, &a3t, 1, &a, 2, ea), 0);
    snprintf(shape, sizeof shape, "array<i64: %lld, 2, %lld>", (long long)(k / 2), (long long)n);
    const char *eb[] = {"reassociation", "[[0, 1], [2]]", "static_output_shape", shape};
    MlirType b3t = bf16_tensor(ctx, 3, (int64_t[]){k / 2, 2, n});
    MlirValue b3 = mlirOperationGetResult(make(ctx, mm, "tensor.expand_shape", 1, &b3t, 1, &b, 2, eb), 0);
    MlirType bvt = bf16_tensor(ctx, 3, (int64_t[]){k / 2, n, 2});
    MlirValue empty = mlirOperationGetResult(make(ctx, mm, "tensor.empty", 1, &bvt, 0, NULL, 0, NULL), 0);
    snprintf(tag, sizeof tag, "%d : i64", index);
    const char *ta_attrs[] = {"permutation", "array<i64: 0, 2, 1>", "tilec.vnni", tag};
    MlirOperation tr = make(ctx, mm, "linalg.transpose", 1, &bvt, 2, (MlirValue[]){b3, empty}, 2, ta_attrs);
    mlirLinalgFillBuiltinNamedOpRegion(tr);
    const char *ca[] = {"indexing_maps",
                        "[affine_map<(m, n, k, v) -> (m, k, v)>, affine_map<(m, n, k, v) -> (k, n, v)>, "
                        "affine_map<(m, n, k, v) -> (m, n)>]",
                        "operandSegmentSizes",
                        "array<i32: 2, 1>",
                        "tilec.bdot",
                        tag};
    MlirOperation c = make(ctx, mm, "linalg.contract", 1, &at, 3,
                           (MlirValue[]){a3, mlirOperationGetResult(tr, 0), acc}, 3, ca);
    mlirLinalgFillBuiltinNamedOpRegion(c);
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(mm, 0), mlirOperationGetResult(c, 0));
    // the widening generics, now unused unless something else reads them
    MlirOperation wa = mlirOpResultGetOwner(mlirOperationGetOperand(mm, 0)),
                  wb = mlirOpResultGetOwner(mlirOperationGetOperand(mm, 1));
    mlirOperationDestroy(mm);
    for (int w = 0; w < 2 && !(w == 1 && wa.ptr == wb.ptr); w++) {
        MlirOperation g = w ? wb : wa;
        if (mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(g, 0))))
            mlirOperationDestroy(g);
    }
    *out = (BfDot){.m = m, .n = n, .k = k};
    return true;
}

static MlirWalkResult find_matmul(MlirOperation op, void *user) {
    if (ir_op_is(op, "linalg.matmul"))
        ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

int x86_bf16_dots(MlirContext ctx, MlirModule module, BfDot *dots, int max) {
    IrOps mms = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_matmul, &mms, MlirWalkPreOrder);
    int n = 0;
    for (int i = 0; i < mms.len && n < max; i++)
        if (rewrite(ctx, mms.items[i], n, &dots[n]))
            n++;
    free(mms.items);
    return n;
}

// ================================================================ contiguous pair transfers

// A vector.transfer_read/_write of an n-D bf16 vector of k pairs (innermost dimension 2: the
// VNNI tiles above) at index 0 of each of its dimensions, over memref dimensions that are
// contiguous, becomes one 1-D transfer of a collapsed view plus a vector.shape_cast: the
// vector-to-scf lowering would otherwise split it into one 4-byte access per pair.
static MlirWalkResult find_pair_transfer(MlirOperation op, void *user) {
    bool rd = ir_op_is(op, "vector.transfer_read");
    if (!rd && !ir_op_is(op, "vector.transfer_write"))
        return MlirWalkResultAdvance;
    MlirType vt = rd ? mlirValueGetType(mlirOperationGetResult(op, 0))
                     : mlirValueGetType(mlirOperationGetOperand(op, 0));
    intptr_t r = mlirShapedTypeGetRank(vt);
    if (r >= 2 && mlirTypeIsABF16(mlirShapedTypeGetElementType(vt)) &&
        mlirShapedTypeGetDimSize(vt, r - 1) == 2)
        ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

static void flatten_pair_transfer(MlirContext ctx, MlirOperation op) {
    bool rd = ir_op_is(op, "vector.transfer_read");
    MlirValue mem = mlirOperationGetOperand(op, rd ? 0 : 1);
    MlirType mt = mlirValueGetType(mem);
    MlirType vt = rd ? mlirValueGetType(mlirOperationGetResult(op, 0))
                     : mlirValueGetType(mlirOperationGetOperand(op, 0));
    if (!mlirTypeIsAMemRef(mt))
        return;
    int mr = (int)mlirShapedTypeGetRank(mt), vr = (int)mlirShapedTypeGetRank(vt);
    MlirAttribute perm = mlirOperationGetAttributeByName(op, ir_str("permutation_map"));
    if (vr > mr || mr > 8 ||
        (!mlirAttributeIsNull(perm) && !mlirAffineMapIsMinorIdentity(mlirAffineMapAttrGetValue(perm))))
        return;
    if (mlirOperationGetNumOperands(op) != 2 + mr)  // a mask operand: leave it
        return;
    int64_t strides[8], offset;
    if (mlirLogicalResultIsFailure(mlirMemRefTypeGetStridesAndOffset(mt, strides, &offset)))
        return;
    int first = mr - vr;  // the memref dimension of the vector's first
    int64_t n = 1;
    for (int i = vr - 1; i >= 0; i--) {
        int d = first + i;
        if (!ir_is_const_int(mlirOperationGetOperand(op, (rd ? 1 : 2) + d), 0))
            return;
        if (strides[d] != (i == vr - 1 ? 1 : n))
            return;
        if (i > 0 && mlirShapedTypeGetDimSize(mt, d) != mlirShapedTypeGetDimSize(vt, i))
            return;
        n *= mlirShapedTypeGetDimSize(vt, i);
    }
    // the collapsed view: the leading dimensions as they are, then the vector's in one
    char ty[512], reassoc[256];
    int len = snprintf(ty, sizeof ty, "memref<"), rl = snprintf(reassoc, sizeof reassoc, "[");
    for (int d = 0; d < first; d++) {
        int64_t s = mlirShapedTypeGetDimSize(mt, d);
        len += mlirShapedTypeIsDynamicSize(s)
                   ? snprintf(ty + len, sizeof ty - (size_t)len, "?x")
                   : snprintf(ty + len, sizeof ty - (size_t)len, "%lldx", (long long)s);
        rl += snprintf(reassoc + rl, sizeof reassoc - (size_t)rl, "[%d], ", d);
    }
    int64_t size0 = mlirShapedTypeGetDimSize(mt, first);
    if (mlirShapedTypeIsDynamicSize(size0))
        return;
    len += snprintf(ty + len, sizeof ty - (size_t)len, "%lldxbf16, strided<[",
                    (long long)(size0 * n / mlirShapedTypeGetDimSize(vt, 0)));
    for (int d = 0; d < first; d++)
        len += mlirShapedTypeIsDynamicStrideOrOffset(strides[d])
                   ? snprintf(ty + len, sizeof ty - (size_t)len, "?, ")
                   : snprintf(ty + len, sizeof ty - (size_t)len, "%lld, ", (long long)strides[d]);
    if (mlirShapedTypeIsDynamicStrideOrOffset(offset))
        snprintf(ty + len, sizeof ty - (size_t)len, "1], offset: ?>>");
    else
        snprintf(ty + len, sizeof ty - (size_t)len, "1], offset: %lld>>", (long long)offset);
    rl += snprintf(reassoc + rl, sizeof reassoc - (size_t)rl, "[");
    for (int d = first; d < mr; d++)
        rl += snprintf(reassoc + rl, sizeof reassoc - (size_t)rl, "%s%d", d > first ? ", " : "", d);
    snprintf(reassoc + rl, sizeof reassoc - (size_t)rl, "]]");
    MlirType flat_t = mlirTypeParseGet(ctx, ir_str(ty));
    if (mlirTypeIsNull(flat_t))
        return;
    const char *ca[] = {"reassociation", reassoc};
    MlirValue flat =
        mlirOperationGetResult(make(ctx, op, "memref.collapse_shape", 1, &flat_t, 1, &mem, 1, ca), 0);
    MlirType v1 = mlirVectorTypeGet(1, &n, mlirShapedTypeGetElementType(vt));
    // The 1-D transfer: the indices of the leading dimensions and of the vector's first, the
    // collapsed dimension as its only one.
    int at = rd ? 1 : 2;  // the first index operand
    MlirValue ops[12];
    char map[256], seg[64];
    int ml = snprintf(map, sizeof map, "affine_map<(");
    for (int d = 0; d <= first; d++) {
        ops[at + d] = mlirOperationGetOperand(op, at + d);
        ml += snprintf(map + ml, sizeof map - (size_t)ml, "%sd%d", d ? ", " : "", d);
    }
    snprintf(map + ml, sizeof map - (size_t)ml, ") -> (d%d)>", first);
    snprintf(seg, sizeof seg, rd ? "array<i32: 1, %d, 1, 0>" : "array<i32: 1, 1, %d, 0>", first + 1);
    const char *attrs[] = {"in_bounds", "[true]", "permutation_map", map, "operandSegmentSizes", seg};
    if (rd) {
        ops[0] = flat;
        ops[2 + first] = mlirOperationGetOperand(op, 1 + mr);  // the padding
        MlirValue v = mlirOperationGetResult(
            make(ctx, op, "vector.transfer_read", 1, &v1, first + 3, ops, 3, attrs), 0);
        mlirValueReplaceAllUsesOfWith(
            mlirOperationGetResult(op, 0),
            mlirOperationGetResult(make(ctx, op, "vector.shape_cast", 1, &vt, 1, &v, 0, NULL), 0));
    } else {
        MlirValue val = mlirOperationGetOperand(op, 0);
        ops[0] = mlirOperationGetResult(make(ctx, op, "vector.shape_cast", 1, &v1, 1, &val, 0, NULL), 0);
        ops[1] = flat;
        make(ctx, op, "vector.transfer_write", 0, NULL, first + 3, ops, 3, attrs);
    }
    mlirOperationDestroy(op);
}

void x86_flatten_pair_transfers(MlirContext ctx, MlirModule module) {
    IrOps ops = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_pair_transfer, &ops, MlirWalkPreOrder);
    for (int i = 0; i < ops.len; i++)
        flatten_pair_transfer(ctx, ops.items[i]);
    free(ops.items);
}
