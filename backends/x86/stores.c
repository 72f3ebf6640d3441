// backends/x86/stores.c — stored tiles computed straight into their tensor when they lie inside
// it (see x86.h: x86_inplace_stores).
//
// A store `Z[i : i + S] = expr` is, at the tile level (after the schedule),
//     %e = tensor.empty() : tensor<S>
//     %t = scf.for ... iter_args(%acc = %e) { ... vector.transfer_write ... into %acc ... }
//     %part = tensor.extract_slice %t[0] [v] [1]       // the part inside the tensor
//     %view = memref.subview %Z[i] [v] [1]
//     bufferization.materialize_in_destination %part in writable %view
// which bufferizes to a tile buffer that the computation writes, then a copy of its valid part
// into Z: for a memory-bound kernel (vector_add: two loads and a store per element) the copy
// is a fourth stream and doubles the store traffic. When the tile lies wholly inside Z (v == S)
// and Z's rows are unit-stride, the computation may write Z's memory itself. The store becomes
//     %in = (v == S && Z's innermost stride == 1)
//     %d = scf.if %in {
//         bufferization.to_tensor (a view of Z at [i], S, unit innermost stride) restrict writable
//     } else {
//         bufferization.to_tensor (a new S buffer, seen with that layout) restrict writable
//     }
//     %t = scf.for ... iter_args(%acc = %d) ...           // written in place: Z or the buffer
//     scf.if %in {} else { materialize_in_destination %part in writable %view }
// so that edge tiles still go through the buffer and drop their writes past the end.
//
// When: the chain from the stored tile back to its tensor.empty passes only through ops that
// write their destination operand without reading it (scf.for iter_args, tensor.insert_slice,
// vector.transfer_write, elementwise linalg ops whose payload ignores the output element); a
// tile accumulated from a fill (a dot) keeps its packed buffer. Z is a kernel argument used by
// this store alone: it is neither read nor stored to elsewhere in the program, so writing it
// early changes nothing another op could see.
#include <stdbool.h>
#include <stdlib.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "x86.h"

enum { MAX_RANK = 8 };

typedef struct Store {
    MlirOperation store;  // bufferization.materialize_in_destination
    MlirOperation view;   // memref.subview of the argument: the destination
    MlirOperation link;   // the chain's op that takes the tensor.empty as its destination
    intptr_t operand;     // which operand of `link` that is
    MlirType tile;        // the tile's static tensor type
} Store;

typedef struct Stores {
    Store *items;
    int len, cap;
} Stores;

static MlirAttribute attr(MlirOperation op, const char *name) {
    return mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
}

static bool single_use(MlirValue v) {
    MlirOpOperand u = mlirValueGetFirstUse(v);
    return !mlirOpOperandIsNull(u) && mlirOpOperandIsNull(mlirOpOperandGetNextUse(u));
}

static bool all_static(MlirAttribute a, int64_t value) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++)
        if (mlirDenseI64ArrayGetElement(a, i) != value)
            return false;
    return true;
}

// Whether `v` is defined before `op` runs: by an op before it (or before one of its ancestors)
// in the same block, or as an argument of a block that holds it.
static bool dominates(MlirValue v, MlirOperation op) {
    MlirBlock def;
    MlirOperation def_op = {NULL};
    if (mlirValueIsABlockArgument(v))
        def = mlirBlockArgumentGetOwner(v);
    else {
        def_op = mlirOpResultGetOwner(v);
        def = mlirOperationGetBlock(def_op);
    }
    for (MlirOperation a = op; !mlirOperationIsNull(a); a = mlirOperationGetParentOperation(a)) {
        if (!mlirBlockEqual(mlirOperationGetBlock(a), def))
            continue;
        return mlirOperationIsNull(def_op) || mlirOperationIsBeforeInBlock(def_op, a);
    }
    return false;
}

// Whether linalg op `op` writes its outputs without reading them: its payload's block arguments
// for the outputs (the last ones) have no uses.
static bool linalg_ignores_outs(MlirOperation op) {
    if (!ir_op_is(op, "linalg.generic") && !ir_op_is(op, "linalg.map"))
        return false;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
    intptr_t nargs = mlirBlockGetNumArguments(body), nres = mlirOperationGetNumResults(op);
    if (ir_op_is(op, "linalg.map"))  // linalg.map's payload has no argument for its output
        return true;
    for (intptr_t i = nargs - nres; i < nargs; i++)
        if (!mlirOpOperandIsNull(mlirValueGetFirstUse(mlirBlockGetArgument(body, i))))
            return false;
    return true;
}

// Follows the stored tile `v` back through the ops that write it as their destination to the
// tensor.empty it starts from; fills s->link and s->operand.
static bool find_chain(MlirValue v, Store *s) {
    for (int steps = 0; steps < 64; steps++) {
        if (!mlirValueIsAOpResult(v))
            return false;
        MlirOperation o = mlirOpResultGetOwner(v);
        intptr_t r = mlirOpResultGetResultNumber(v), next;
        if (ir_op_is(o, "scf.for"))
            next = 3 + r;  // lower bound, upper bound, step, then the inits
        else if (ir_op_is(o, "tensor.insert_slice") || ir_op_is(o, "vector.transfer_write"))
            next = 1;
        else if (linalg_ignores_outs(o))
            next = mlirOperationGetNumOperands(o) - mlirOperationGetNumResults(o) + r;
        else
            return false;
        MlirValue init = mlirOperationGetOperand(o, next);
        if (mlirValueIsAOpResult(init) && ir_op_is(mlirOpResultGetOwner(init), "tensor.empty")) {
            if (!mlirTypeEqual(mlirValueGetType(init), s->tile))
                return false;
            s->link = o;
            s->operand = next;
            return true;
        }
        v = init;
    }
    return false;
}

static MlirWalkResult find_store(MlirOperation op, void *user) {
    if (!ir_op_is(op, "bufferization.materialize_in_destination") || mlirOperationGetNumResults(op) != 0)
        return MlirWalkResultAdvance;
    Store s = {.store = op};
    // The destination: a unit-stride subview, of the same rank, of a function argument that has
    // no other use.
    MlirValue dst = mlirOperationGetOperand(op, 1);
    if (!mlirValueIsAOpResult(dst) || !ir_op_is(mlirOpResultGetOwner(dst), "memref.subview") ||
        !single_use(dst))
        return MlirWalkResultAdvance;
    s.view = mlirOpResultGetOwner(dst);
    MlirValue base = mlirOperationGetOperand(s.view, 0);
    if (!mlirValueIsABlockArgument(base) || !single_use(base) ||
        !all_static(attr(s.view, "static_strides"), 1) ||
        mlirShapedTypeGetRank(mlirValueGetType(base)) != mlirShapedTypeGetRank(mlirValueGetType(dst)))
        return MlirWalkResultAdvance;
    MlirOperation func = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(base));
    if (!ir_op_is(func, "func.func"))
        return MlirWalkResultAdvance;
    // The stored tile: a static tile, or its part at offsets 0.
    MlirValue src = mlirOperationGetOperand(op, 0);
    MlirValue tile = src;
    if (mlirValueIsAOpResult(src) && ir_op_is(mlirOpResultGetOwner(src), "tensor.extract_slice")) {
        MlirOperation slice = mlirOpResultGetOwner(src);
        tile = mlirOperationGetOperand(slice, 0);
        if (!all_static(attr(slice, "static_offsets"), 0) || !all_static(attr(slice, "static_strides"), 1) ||
            mlirShapedTypeGetRank(mlirValueGetType(tile)) != mlirShapedTypeGetRank(mlirValueGetType(src)))
            return MlirWalkResultAdvance;
    }
    s.tile = mlirValueGetType(tile);
    int rank = (int)mlirShapedTypeGetRank(s.tile);
    MlirType el = mlirShapedTypeGetElementType(s.tile);
    if (!mlirShapedTypeHasStaticShape(s.tile) || rank < 1 || rank > MAX_RANK ||
        !(mlirTypeIsAFloat(el) || (mlirTypeIsAInteger(el) && mlirIntegerTypeGetWidth(el) >= 8)))
        return MlirWalkResultAdvance;
    // A static size other than the tile's: never whole.
    MlirAttribute sizes = attr(s.view, "static_sizes");
    for (int d = 0; d < rank; d++) {
        int64_t v = mlirDenseI64ArrayGetElement(sizes, d);
        if (!mlirShapedTypeIsDynamicSize(v) && v != mlirShapedTypeGetDimSize(s.tile, d))
            return MlirWalkResultAdvance;
    }
    if (!find_chain(tile, &s))
        return MlirWalkResultAdvance;
    // The view's offsets and sizes must be known where the chain starts.
    for (intptr_t i = 1; i < mlirOperationGetNumOperands(s.view); i++)
        if (!dominates(mlirOperationGetOperand(s.view, i), s.link))
            return MlirWalkResultAdvance;
    Stores *ss = user;
    if (ss->len == ss->cap) {
        ss->cap = ss->cap ? 2 * ss->cap : 8;
        ss->items = realloc(ss->items, sizeof(Store) * (size_t)ss->cap);
    }
    ss->items[ss->len++] = s;
    return MlirWalkResultAdvance;
}

static MlirValue writable_tensor(IRBuilder *b, MlirValue mem, MlirType tensor) {
    MlirNamedAttribute as[2] = {ir_named(b, "restrict", mlirUnitAttrGet(b->ctx)),
                                ir_named(b, "writable", mlirUnitAttrGet(b->ctx))};
    return mlirOperationGetResult(ir_op(b, "bufferization.to_tensor", 1, &tensor, 1, &mem, 2, as, 0), 0);
}

static void rewrite(MlirContext ctx, const Store *s) {
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    MlirType el = mlirShapedTypeGetElementType(s->tile);
    int rank = (int)mlirShapedTypeGetRank(s->tile);
    int64_t shape[MAX_RANK];
    for (int d = 0; d < rank; d++)
        shape[d] = mlirShapedTypeGetDimSize(s->tile, d);
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(s->store)};

    // The condition: every dynamic size of the view the tile's, and a unit innermost stride.
    MlirValue base = mlirOperationGetOperand(s->view, 0);
    MlirAttribute offsets = attr(s->view, "static_offsets"), sizes = attr(s->view, "static_sizes");
    int noff = 0;
    for (int d = 0; d < rank; d++)
        noff += mlirShapedTypeIsDynamicStrideOrOffset(mlirDenseI64ArrayGetElement(offsets, d));
    MlirValue cond = ir_const_int(&b, i1, 1);
    for (int d = 0, k = 1 + noff; d < rank; d++)
        if (mlirShapedTypeIsDynamicSize(mlirDenseI64ArrayGetElement(sizes, d)))
            cond = ir_binop(
                &b, "arith.andi", cond,
                ir_cmpi(&b, 0, mlirOperationGetOperand(s->view, k++), ir_const_int(&b, index, shape[d])));
    MlirOperation md = ir_strided_metadata(&b, base);
    cond = ir_binop(&b, "arith.andi", cond,
                    ir_cmpi(&b, 0, mlirOperationGetResult(md, 2 + 2 * rank - 1), ir_const_int(&b, index, 1)));

    MlirAttribute layout = ir_unit_stride_layout(ctx, rank);
    MlirType view_t = mlirMemRefTypeGet(el, rank, shape, layout, mlirAttributeGetNull());
    MlirOperation ifop = ir_op(&b, "scf.if", 1, &s->tile, 1, &cond, 0, NULL, 2);
    MlirBlock outer = b.block;
    // Then: a view of the argument at the destination's offsets, the tile's sizes.
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirValue ops[1 + MAX_RANK];
    ops[0] = ir_op1(&b, "memref.cast", ir_unit_stride_memref(ctx, el, rank), 1, &base);
    for (int i = 0; i < noff; i++)
        ops[1 + i] = mlirOperationGetOperand(s->view, 1 + i);
    int64_t ones[MAX_RANK];
    for (int d = 0; d < rank; d++)
        ones[d] = 1;
    MlirNamedAttribute sattrs[4] = {
        ir_named(&b, "static_offsets", offsets),
        ir_named(&b, "static_sizes", mlirDenseI64ArrayGet(ctx, rank, shape)),
        ir_named(&b, "static_strides", mlirDenseI64ArrayGet(ctx, rank, ones)),
        ir_named(&b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, noff, 0, 0})),
    };
    MlirValue view =
        mlirOperationGetResult(ir_op(&b, "memref.subview", 1, &view_t, 1 + noff, ops, 4, sattrs, 0), 0);
    MlirValue in_place = writable_tensor(&b, view, s->tile);
    ir_op(&b, "scf.yield", 0, NULL, 1, &in_place, 0, NULL, 0);
    // Else: a buffer of its own (x86_hoist_if_allocs moves it before the if), seen with the same
    // layout.
    b.block = ir_region_block(&b, ifop, 1, 0, NULL);
    MlirType buf_t = mlirMemRefTypeContiguousGet(el, rank, shape, mlirAttributeGetNull());
    MlirNamedAttribute align = ir_named(&b, "alignment", mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 64), 64));
    MlirNamedAttribute seg =
        ir_named(&b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 2, (int32_t[]){0, 0}));
    MlirValue buf = mlirOperationGetResult(
        ir_op(&b, "memref.alloc", 1, &buf_t, 0, NULL, 2, (MlirNamedAttribute[]){align, seg}, 0), 0);
    MlirValue own = writable_tensor(&b, ir_op1(&b, "memref.cast", view_t, 1, &buf), s->tile);
    ir_op(&b, "scf.yield", 0, NULL, 1, &own, 0, NULL, 0);
    b.block = outer;
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, s->link);
    mlirOperationSetOperand(s->link, s->operand, mlirOperationGetResult(ifop, 0));

    // The store: only where the tile was not computed in place.
    b.block = scratch;
    b.loc = mlirOperationGetLocation(s->store);
    MlirOperation guard = ir_op(&b, "scf.if", 0, NULL, 1, &cond, 0, NULL, 2);
    b.block = ir_region_block(&b, guard, 0, 0, NULL);
    ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b.block = ir_region_block(&b, guard, 1, 0, NULL);
    MlirOperation end = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    mlirOperationMoveBefore(guard, s->store);
    mlirOperationMoveBefore(s->store, end);
    mlirBlockDestroy(scratch);
}

void x86_inplace_stores(MlirContext ctx, MlirModule module) {
    Stores ss = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_store, &ss, MlirWalkPreOrder);
    for (int i = 0; i < ss.len; i++)
        rewrite(ctx, &ss.items[i]);
    free(ss.items);
}
