// lowering/fills.c — after bufferization, the padding fill of a padded load runs only when the
// load actually reaches past the tensor (see lower.h: lower_guard_pad_fills).
//
// One-shot bufferization turns `tensor.pad` into
//     %buf = memref.alloc() : memref<S0 x S1 x ...>
//     linalg.map outs(%buf) { linalg.yield %padding }         // the whole tile
//     %dst = memref.subview %buf[low...][valid...][1...]
//     linalg.copy ins(%part) outs(%dst)                       // the part inside the tensor
// Tiles inside the tensor (most of a kernel's tiles) do not need the fill, whose cost is that of
// the copy again. The fill is moved into `scf.if (valid_0 != S0 || valid_1 != S1 || ...)` just
// before the copy: when every valid size is the full size there is no padding before or after.
#include <stdbool.h>
#include <stdlib.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "build.h"
#include "lower.h"

typedef struct Fill {
    MlirOperation map;   // linalg.map filling the whole buffer
    MlirOperation view;  // memref.subview of the buffer that the copy writes
    MlirOperation copy;  // linalg.copy of the valid part
} Fill;

typedef struct Fills {
    Fill *items;
    int len, cap;
} Fills;

static bool uses(MlirOperation op, MlirValue v) {
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++)
        if (mlirValueEqual(mlirOperationGetOperand(op, i), v))
            return true;
    return false;
}

// A fill of a whole buffer followed, in the same block, by a subview of that buffer written by
// a linalg.copy, with nothing in between that touches the buffer (other than the subview) or
// holds regions.
static bool match_fill(MlirOperation map, Fill *f) {
    if (!ir_op_is(map, "linalg.map") || mlirOperationGetNumOperands(map) != 1)
        return false;
    MlirValue buf = mlirOperationGetOperand(map, 0);
    if (!mlirValueIsAOpResult(buf) || !ir_op_is(mlirOpResultGetOwner(buf), "memref.alloc") ||
        !mlirShapedTypeHasStaticShape(mlirValueGetType(buf)))
        return false;
    f->map = map;
    f->view = (MlirOperation){NULL};
    for (MlirOperation o = mlirOperationGetNextInBlock(map); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o)) {
        if (mlirOperationGetNumRegions(o) > 0 && !ir_op_is(o, "linalg.copy"))
            return false;
        if (mlirOperationIsNull(f->view)) {
            if (ir_op_is(o, "memref.subview") && mlirValueEqual(mlirOperationGetOperand(o, 0), buf))
                f->view = o;
            else if (uses(o, buf))
                return false;
            continue;
        }
        if (uses(o, buf))
            return false;
        if (ir_op_is(o, "linalg.copy") && mlirOperationGetNumOperands(o) == 2 &&
            mlirValueEqual(mlirOperationGetOperand(o, 1), mlirOperationGetResult(f->view, 0))) {
            f->copy = o;
            return true;
        }
        if (uses(o, mlirOperationGetResult(f->view, 0)))
            return false;
    }
    return false;
}

static MlirWalkResult find_fills(MlirOperation op, void *user) {
    Fills *fs = user;
    Fill f;
    if (match_fill(op, &f)) {
        if (fs->len == fs->cap) {
            fs->cap = fs->cap ? 2 * fs->cap : 16;
            fs->items = realloc(fs->items, sizeof(Fill) * (size_t)fs->cap);
        }
        fs->items[fs->len++] = f;
    }
    return MlirWalkResultAdvance;
}

// Moves every op of `from` (built there by ir_op) before `before`.
static void move_all_before(MlirBlock from, MlirOperation before) {
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(from)))
        mlirOperationMoveBefore(o, before);
}

static void guard(MlirContext ctx, const Fill *f) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(f->map)};
    MlirValue view = mlirOperationGetResult(f->view, 0);
    MlirValue buf_v = mlirOperationGetOperand(f->map, 0);
    MlirValue part = mlirOperationGetOperand(f->copy, 0);
    MlirType buf = mlirValueGetType(buf_v);
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    int rank = (int)mlirShapedTypeGetRank(buf);
    MlirValue any = {NULL};
    for (intptr_t d = 0; d < rank; d++) {
        MlirValue ops[2] = {view, ir_const_int(&b, index, d)};
        MlirValue valid = ir_op1(&b, "memref.dim", index, 2, ops);
        MlirValue full = ir_const_int(&b, index, mlirShapedTypeGetDimSize(buf, d));
        MlirValue cmp = ir_cmpi(&b, 1 /* ne */, valid, full);
        any = mlirValueIsNull(any) ? cmp : ir_binop(&b, "arith.ori", any, cmp);
    }
    if (mlirValueIsNull(any))
        any = ir_const_int(&b, i1, 1);
    // A tile inside the tensor whose rows are unit-stride is copied at its static size (loops
    // with constant bounds: LLVM unrolls and vectorizes them; the general copy's run-time
    // bounds and strides cost as much in loop overhead as in moves for short rows).
    bool fast_path = rank >= 1 && mlirShapedTypeGetRank(mlirValueGetType(part)) == rank;
    MlirBlock slow = scratch;
    if (fast_path) {
        MlirOperation md = ir_strided_metadata(&b, part);
        MlirValue unit =
            ir_cmpi(&b, 0 /* eq */, mlirOperationGetResult(md, 1 + 2 * rank), ir_const_int(&b, index, 1));
        MlirValue inside = ir_binop(&b, "arith.xori", any, ir_const_int(&b, i1, 1));
        MlirOperation outer = ir_op(&b, "scf.if", 0, NULL, 1,
                                    (MlirValue[]){ir_binop(&b, "arith.andi", inside, unit)}, 0, NULL, 2);
        b.block = ir_region_block(&b, outer, 0, 0, NULL);
        int64_t shape[16];
        for (int d = 0; d < rank; d++)
            shape[d] = mlirShapedTypeGetDimSize(buf, d);
        MlirType src_t = mlirMemRefTypeGet(mlirShapedTypeGetElementType(buf), rank, shape,
                                           ir_unit_stride_layout(ctx, rank), mlirAttributeGetNull());
        MlirValue src = ir_op1(&b, "memref.cast", src_t, 1, &part);
        MlirOperation copy = mlirOperationClone(f->copy);
        mlirOperationSetOperand(copy, 0, src);
        mlirOperationSetOperand(copy, 1, buf_v);
        mlirBlockAppendOwnedOperation(b.block, copy);
        ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        slow = b.block = ir_region_block(&b, outer, 1, 0, NULL);
    }
    MlirOperation ifop = ir_op(&b, "scf.if", 0, NULL, 1, &any, 0, NULL, 2);
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirOperation yield = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    MlirOperation slow_yield = {NULL};
    if (fast_path) {
        b.block = slow;
        slow_yield = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    }
    move_all_before(scratch, f->copy);
    mlirOperationMoveBefore(f->map, yield);
    if (fast_path)
        mlirOperationMoveBefore(f->copy, slow_yield);
    mlirBlockDestroy(scratch);
}

void lower_guard_pad_fills(MlirContext ctx, MlirModule module) {
    Fills fs = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_fills, &fs, MlirWalkPreOrder);
    for (int i = 0; i < fs.len; i++)
        guard(ctx, &fs.items[i]);
    free(fs.items);
}
