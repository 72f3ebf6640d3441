// backends/x86/iotamask.c — comparisons of a vectorized arange against a bound become masks
// (see x86.h: x86_iota_masks).
//
// `let inside = arange(0, BC) < C` (layer norm's test for the columns inside the row) is, after
// the schedule, per vector of N lanes at column %k of the tile's loop
//     %i = arith.addi (vector.broadcast %k), vector.step : vector<Nxindex>
//     %w = arith.extsi (arith.index_cast %i to vector<Nxi32>) to vector<Nxi64>
//     %m = arith.cmpi slt, %w, (vector.broadcast %C : i64)
// a 64-bit add, truncation, extension and compare per lane: for N = 64, 8 zmm registers of
// indices per compare, as much work as the row's arithmetic. Lane i is k + i < C, that is
// i < C - k, which is `vector.create_mask (C - k)`: one compare of a constant against a
// broadcast scalar (or a k-register mask). Exact when k + i is exact in i32: %k is the index of
// an scf.for whose constant bounds keep k + N below 2^31 (a tile's loop over its columns).
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "x86.h"

static MlirOperation def(MlirValue v, const char *name) {
    if (mlirValueIsNull(v) || !mlirValueIsAOpResult(v) || !ir_op_is(mlirOpResultGetOwner(v), name))
        return (MlirOperation){NULL};
    return mlirOpResultGetOwner(v);
}

// The operand of `vector.broadcast` of a scalar, else null.
static MlirValue splat_of(MlirValue v) {
    MlirOperation b = def(v, "vector.broadcast");
    if (mlirOperationIsNull(b))
        return (MlirValue){NULL};
    MlirValue s = mlirOperationGetOperand(b, 0);
    return mlirTypeIsAVector(mlirValueGetType(s)) ? (MlirValue){NULL} : s;
}

// Whether `k` is the index of an scf.for with constant bounds 0 <= lb, ub + lanes < 2^31.
static bool small_loop_index(MlirValue k, int64_t lanes) {
    if (!mlirValueIsABlockArgument(k) || mlirBlockArgumentGetArgNumber(k) != 0)
        return false;
    MlirOperation loop = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(k));
    if (mlirOperationIsNull(loop) || !ir_op_is(loop, "scf.for"))
        return false;
    MlirOperation lb = def(mlirOperationGetOperand(loop, 0), "arith.constant"),
                  ub = def(mlirOperationGetOperand(loop, 1), "arith.constant");
    if (mlirOperationIsNull(lb) || mlirOperationIsNull(ub))
        return false;
    MlirAttribute l = mlirOperationGetAttributeByName(lb, ir_str("value")),
                  u = mlirOperationGetAttributeByName(ub, ir_str("value"));
    if (!mlirAttributeIsAInteger(l) || !mlirAttributeIsAInteger(u))
        return false;
    return mlirIntegerAttrGetValueInt(l) >= 0 && mlirIntegerAttrGetValueInt(u) + lanes < ((int64_t)1 << 31);
}

// The loop index %k when `v` is k + step (either order) on 1-D index vectors, else null.
static MlirValue iota_base(MlirValue v, int64_t lanes) {
    MlirOperation add = def(v, "arith.addi");
    if (mlirOperationIsNull(add))
        return (MlirValue){NULL};
    for (int s = 0; s < 2; s++) {
        MlirValue k = splat_of(mlirOperationGetOperand(add, s));
        if (!mlirOperationIsNull(def(mlirOperationGetOperand(add, 1 - s), "vector.step")) &&
            !mlirValueIsNull(k) && mlirTypeIsAIndex(mlirValueGetType(k)) && small_loop_index(k, lanes))
            return k;
    }
    return (MlirValue){NULL};
}

static MlirWalkResult find_cmp(MlirOperation op, void *user) {
    if (!ir_op_is(op, "arith.cmpi"))
        return MlirWalkResultAdvance;
    MlirAttribute pred = mlirOperationGetAttributeByName(op, ir_str("predicate"));
    MlirType t = mlirValueGetType(mlirOperationGetOperand(op, 0));
    if (mlirAttributeIsNull(pred) || mlirIntegerAttrGetValueInt(pred) != 2 /* slt */ ||
        !mlirTypeIsAVector(t) || mlirShapedTypeGetRank(t) != 1)
        return MlirWalkResultAdvance;
    int64_t lanes = mlirShapedTypeGetDimSize(t, 0);
    // The left side: the index vector, cast to i32 and maybe widened.
    MlirValue l = mlirOperationGetOperand(op, 0);
    MlirOperation ext = def(l, "arith.extsi");
    if (!mlirOperationIsNull(ext))
        l = mlirOperationGetOperand(ext, 0);
    MlirOperation cast = def(l, "arith.index_cast");
    if (mlirOperationIsNull(cast) || ir_elem_bits(mlirShapedTypeGetElementType(mlirValueGetType(l))) < 32 ||
        mlirValueIsNull(iota_base(mlirOperationGetOperand(cast, 0), lanes)) ||
        mlirValueIsNull(splat_of(mlirOperationGetOperand(op, 1))))
        return MlirWalkResultAdvance;
    ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

static void rewrite(MlirContext ctx, MlirOperation cmp) {
    MlirValue l = mlirOperationGetOperand(cmp, 0);
    MlirOperation ext = def(l, "arith.extsi");
    if (!mlirOperationIsNull(ext))
        l = mlirOperationGetOperand(ext, 0);
    MlirType t = mlirValueGetType(l);
    MlirValue k =
        iota_base(mlirOperationGetOperand(def(l, "arith.index_cast"), 0), mlirShapedTypeGetDimSize(t, 0));
    MlirValue c = splat_of(mlirOperationGetOperand(cmp, 1));
    MlirType index = mlirIndexTypeGet(ctx);
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(cmp)};
    MlirValue ci = mlirTypeIsAIndex(mlirValueGetType(c)) ? c : ir_op1(&b, "arith.index_cast", index, 1, &c);
    MlirValue left = ir_binop(&b, "arith.subi", ci, k);
    MlirValue mask =
        ir_op1(&b, "vector.create_mask", mlirValueGetType(mlirOperationGetResult(cmp, 0)), 1, &left);
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, cmp);
    mlirBlockDestroy(scratch);
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(cmp, 0), mask);
    mlirOperationDestroy(cmp);
}

void x86_iota_masks(MlirContext ctx, MlirModule module) {
    IrOps cs = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_cmp, &cs, MlirWalkPreOrder);
    for (int i = 0; i < cs.len; i++)
        rewrite(ctx, cs.items[i]);
    free(cs.items);
}
