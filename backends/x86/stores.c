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

#include "mlir-c/AffineMap.h"
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
    MlirValue buf = ir_alloc(&b, mlirMemRefTypeContiguousGet(el, rank, shape, mlirAttributeGetNull()));
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

// ---------------------------------------------------------------- row tiles: masked stores
//
// A row tile (every dimension but the last 1) computed by a loop that writes it a piece at a
// time (the schedule's elementwise loops):
//     %t = scf.for %k ... iter_args(%acc = %empty) {
//         %s = tensor.extract_slice %acc[0, %k] [1, P] [1, 1]
//         %w = vector.transfer_write %v, %s[0, 0] {in_bounds = [true, true]}
//         %i = tensor.insert_slice %w into %acc[0, %k] [1, P] [1, 1] ; scf.yield %i }
//     materialize_in_destination (extract_slice %t [0, 0] [h, v]) in %view
// is written straight into the argument at every size, not only when the tile lies wholly
// inside it: the loop carries the destination's part itself (a view of the argument when its
// innermost stride is 1, else a buffer stored as before), and each piece is written whole when
// it lies inside, masked when it reaches past the end (vector.transfer_write, in_bounds false),
// and not at all when it lies wholly past it (an all-off masked store still costs a microcode
// assist on an unmapped page). A layer norm's row of 1000 columns in a tile of 1024 was
// computed into a buffer and then copied: two stores per element, and the copy's stores wait
// behind the row's misses (4096 x 1000: ~20 % of rmsnorm's time in the copy).

//
// A block of rows ([BR, BC], each piece [1, P] of one row) is written by a loop over its rows
// around the loop over pieces, the tile carried through both:
//     %t = scf.for %i ... iter_args(%a = %empty) {
//         %r = scf.for %k ... iter_args(%acc = %a) { (as above, at [%i, %k]) } ; scf.yield %r }
// and is written the same way, a row's pieces masked at the row's end and rows past the
// tensor's last not written.

enum { MAX_LOOPS = MAX_RANK };

typedef struct Piece {
    MlirOperation loops[MAX_LOOPS];  // the loops carrying the tile, outermost first; the last
    int nloops;                      // writes the pieces
    MlirOperation slice, write, insert;
    intptr_t args[MAX_LOOPS];  // the tile's iter_arg (and result) number in each loop
} Piece;

// The loop nested in `loop`'s body that takes the tile (its iter_arg `arg`) as its init and
// whose result the body yields back: the tile's only use. Its iter_arg number in *inner.
static MlirOperation inner_loop(MlirOperation loop, intptr_t arg, intptr_t *inner) {
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
    MlirValue acc = mlirBlockGetArgument(body, 1 + arg);
    if (!single_use(acc))
        return (MlirOperation){NULL};
    MlirOpOperand u = mlirValueGetFirstUse(acc);
    MlirOperation o = mlirOpOperandGetOwner(u);
    intptr_t n = mlirOpOperandGetOperandNumber(u);
    if (!ir_op_is(o, "scf.for") || n < 3 || !mlirBlockEqual(mlirOperationGetBlock(o), body))
        return (MlirOperation){NULL};
    MlirValue res = mlirOperationGetResult(o, n - 3);
    if (!single_use(res))
        return (MlirOperation){NULL};
    MlirOpOperand y = mlirValueGetFirstUse(res);
    if (!ir_op_is(mlirOpOperandGetOwner(y), "scf.yield") || mlirOpOperandGetOperandNumber(y) != arg ||
        !mlirOperationEqual(mlirOpOperandGetOwner(y), mlirBlockGetTerminator(body)))
        return (MlirOperation){NULL};
    *inner = n - 3;
    return o;
}

// Whether `v` is 0 for every size: a constant 0, or min(0, a size), as a slice from column 0
// starts (`0 : BC` is clamped to the tensor: min(0, C)), through index casts.
static bool zero_start(MlirValue v, int depth) {
    if (depth > 4 || !mlirValueIsAOpResult(v))
        return false;
    MlirOperation o = mlirOpResultGetOwner(v);
    if (ir_is_const_int(v, 0))
        return true;
    if (ir_op_is(o, "arith.index_cast"))
        return zero_start(mlirOperationGetOperand(o, 0), depth + 1);
    if (ir_op_is(o, "arith.minsi"))
        return zero_start(mlirOperationGetOperand(o, 0), depth + 1) ||
               zero_start(mlirOperationGetOperand(o, 1), depth + 1);
    return false;
}

// Whether the stored tile (its view `slice`, a memref.subview) is a row tile or a block of
// whole rows (its columns from 0, as in `Y[r : r + BR, 0 : BC]`). A block is written by pieces
// only then; other 2-D tiles (a grid over rows and columns) are written in place whole when
// they lie inside the tensor (rewrite above).
static bool whole_rows(MlirType tile, MlirOperation slice) {
    int rank = (int)mlirShapedTypeGetRank(tile);
    if (x86_row_tile(tile))
        return true;
    MlirAttribute offs = attr(slice, "static_offsets");
    int64_t last = mlirDenseI64ArrayGetElement(offs, rank - 1);
    if (!mlirShapedTypeIsDynamicStrideOrOffset(last))
        return last == 0;
    int k = 1;  // the operand of the last dimension's offset, after the source and earlier ones
    for (int d = 0; d + 1 < rank; d++)
        k += mlirShapedTypeIsDynamicStrideOrOffset(mlirDenseI64ArrayGetElement(offs, d));
    return zero_start(mlirOperationGetOperand(slice, k), 0);
}

// Whether the store's chain is scf.for loops writing the tile by pieces of one row, as above.
static bool piece_loop(const Store *s, Piece *p) {
    if (!ir_op_is(s->link, "scf.for"))
        return false;
    // A block of rows: whole rows (from column 0), as rowreads.c takes them; other 2-D tiles are
    // written in place when they lie inside the tensor (rewrite above).
    if (!whole_rows(s->tile, s->view))
        return false;
    Piece q = {.nloops = 0};
    MlirOperation loop = s->link;
    intptr_t arg = s->operand - 3;
    MlirValue res = mlirOperationGetResult(loop, arg);
    // The loop's result: read only by the stored part (or stored itself).
    MlirValue src = mlirOperationGetOperand(s->store, 0);
    if (!single_use(res) || !(mlirValueEqual(src, res) ||
                              (mlirValueIsAOpResult(src) &&
                               mlirValueEqual(mlirOperationGetOperand(mlirOpResultGetOwner(src), 0), res))))
        return false;
    for (;;) {
        if (q.nloops == MAX_LOOPS)
            return false;
        q.args[q.nloops] = arg;
        q.loops[q.nloops++] = loop;
        intptr_t inner;
        MlirOperation next = inner_loop(loop, arg, &inner);
        if (mlirOperationIsNull(next))
            break;
        loop = next;
        arg = inner;
    }
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
    MlirValue acc = mlirBlockGetArgument(body, 1 + arg);
    for (MlirOpOperand u = mlirValueGetFirstUse(acc); !mlirOpOperandIsNull(u);
         u = mlirOpOperandGetNextUse(u)) {
        MlirOperation o = mlirOpOperandGetOwner(u);
        if (ir_op_is(o, "tensor.extract_slice") && mlirOperationIsNull(q.slice))
            q.slice = o;
        else if (ir_op_is(o, "tensor.insert_slice") && mlirOpOperandGetOperandNumber(u) == 1 &&
                 mlirOperationIsNull(q.insert))
            q.insert = o;
        else
            return false;
    }
    if (mlirOperationIsNull(q.slice) || mlirOperationIsNull(q.insert))
        return false;
    MlirValue piece = mlirOperationGetResult(q.slice, 0);
    int rank = (int)mlirShapedTypeGetRank(s->tile);
    if (!single_use(piece) || mlirShapedTypeGetRank(mlirValueGetType(piece)) != rank ||
        !mlirShapedTypeHasStaticShape(mlirValueGetType(piece)) ||
        !all_static(attr(q.slice, "static_strides"), 1))
        return false;
    q.write = mlirOpOperandGetOwner(mlirValueGetFirstUse(piece));
    if (!ir_op_is(q.write, "vector.transfer_write") || mlirOperationGetNumOperands(q.write) != 2 + rank ||
        !mlirValueEqual(mlirOperationGetOperand(q.write, 1), piece))
        return false;
    for (int d = 0; d < rank; d++)
        if (!ir_is_const_int(mlirOperationGetOperand(q.write, 2 + d), 0))
            return false;
    MlirType vt = mlirValueGetType(mlirOperationGetOperand(q.write, 0));
    MlirAttribute map = attr(q.write, "permutation_map");
    if (mlirShapedTypeGetRank(vt) != rank || mlirAttributeIsNull(map) ||
        !mlirAffineMapIsIdentity(mlirAffineMapAttrGetValue(map)))
        return false;
    for (int d = 0; d < rank; d++)
        if (mlirShapedTypeGetDimSize(vt, d) != mlirShapedTypeGetDimSize(mlirValueGetType(piece), d) ||
            (d + 1 < rank && mlirShapedTypeGetDimSize(vt, d) != 1))
            return false;  // a piece of one row
    // The insert puts the written piece back where the slice was taken, and is yielded.
    MlirValue ins = mlirOperationGetResult(q.insert, 0);
    if (!mlirValueEqual(mlirOperationGetOperand(q.insert, 0), mlirOperationGetResult(q.write, 0)) ||
        !single_use(mlirOperationGetResult(q.write, 0)) || !single_use(ins) ||
        !ir_op_is(mlirOpOperandGetOwner(mlirValueGetFirstUse(ins)), "scf.yield") ||
        mlirOpOperandGetOperandNumber(mlirValueGetFirstUse(ins)) != arg ||
        !mlirAttributeEqual(attr(q.insert, "static_offsets"), attr(q.slice, "static_offsets")) ||
        !mlirAttributeEqual(attr(q.insert, "static_sizes"), attr(q.slice, "static_sizes")) ||
        mlirOperationGetNumOperands(q.insert) != mlirOperationGetNumOperands(q.slice) + 1)
        return false;
    for (intptr_t i = 1; i < mlirOperationGetNumOperands(q.slice); i++)
        if (!mlirValueEqual(mlirOperationGetOperand(q.slice, i), mlirOperationGetOperand(q.insert, i + 1)))
            return false;
    *p = q;
    return true;
}

// vector.transfer_write of `v` into tensor `dst` at idx[0..rank), in bounds or masked at the end.
static MlirValue write_at(IRBuilder *b, MlirValue v, MlirValue dst, const MlirValue *idx, int rank,
                          bool in_bounds, MlirAttribute map) {
    MlirAttribute inb[MAX_RANK];
    MlirValue ops[2 + MAX_RANK] = {v, dst};
    for (int d = 0; d < rank; d++) {
        inb[d] = mlirBoolAttrGet(b->ctx, in_bounds);
        ops[2 + d] = idx[d];
    }
    MlirNamedAttribute attrs[3] = {
        ir_named(b, "in_bounds", mlirArrayAttrGet(b->ctx, rank, inb)),
        ir_named(b, "permutation_map", map),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(b->ctx, 4, (int32_t[]){1, 1, rank, 0})),
    };
    MlirType t = mlirValueGetType(dst);
    return mlirOperationGetResult(ir_op(b, "vector.transfer_write", 1, &t, 2 + rank, ops, 3, attrs, 0), 0);
}

// The last piece of a row, which reaches past its end (`left` elements of it inside): written a
// register of `sub` lanes at a time, plainly where the register lies inside, masked where it
// straddles the end, not at all past it (as rowreads.c reads it; one masked write of the whole
// piece masks every register of it).
static MlirValue partial_write(IRBuilder *b, MlirValue v, MlirValue dst, const MlirValue *idx, int rank,
                               int64_t sub, MlirValue left, MlirAttribute map) {
    MlirType vt = mlirValueGetType(v), dt = mlirValueGetType(dst);
    int64_t len = mlirShapedTypeGetDimSize(vt, rank - 1);
    for (int64_t j = 0; j < len / sub; j++) {
        MlirNamedAttribute ea[3];
        MlirType st = x86_register_slice(b, vt, sub, j, ea);
        MlirValue part =
            mlirOperationGetResult(ir_op(b, "vector.extract_strided_slice", 1, &st, 1, &v, 3, ea, 0), 0);
        MlirValue at[MAX_RANK];
        for (int d = 0; d < rank; d++)
            at[d] = idx[d];
        MlirBlock cases[3], here = b->block;
        MlirOperation c = x86_register_cases(b, dt, left, idx[rank - 1], sub, j, cases, &at[rank - 1]);
        for (int k = 0; k < 3; k++) {
            b->block = cases[k];
            MlirValue w = k < 2 ? write_at(b, part, dst, at, rank, k == 0, map) : dst;
            ir_op(b, "scf.yield", 0, NULL, 1, &w, 0, NULL, 0);
        }
        b->block = here;
        dst = mlirOperationGetResult(c, 0);
    }
    return dst;
}

static void rewrite_pieces(MlirContext ctx, const Store *s, const Piece *p, int vector_bits) {
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    MlirType el = mlirShapedTypeGetElementType(s->tile);
    int rank = (int)mlirShapedTypeGetRank(s->tile);
    MlirValue view_v = mlirOperationGetResult(s->view, 0);
    MlirType view_mt = mlirValueGetType(view_v);
    int64_t shape[MAX_RANK], tshape[MAX_RANK];
    for (int d = 0; d < rank; d++) {
        shape[d] = mlirShapedTypeGetDimSize(view_mt, d);
        tshape[d] = mlirShapedTypeGetDimSize(s->tile, d);
    }
    MlirType part_t = mlirRankedTensorTypeGet(rank, shape, el, mlirAttributeGetNull());
    MlirType unit_t =
        mlirMemRefTypeGet(el, rank, shape, ir_unit_stride_layout(ctx, rank), mlirAttributeGetNull());
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(s->store)};

    // The destination part: the argument's, or a buffer's.
    MlirValue base = mlirOperationGetOperand(s->view, 0);
    MlirOperation md = ir_strided_metadata(&b, base);
    MlirValue unit = ir_cmpi(&b, 0, mlirOperationGetResult(md, 2 + 2 * rank - 1), ir_const_int(&b, index, 1));
    MlirOperation ifop = ir_op(&b, "scf.if", 1, &part_t, 1, &unit, 0, NULL, 2);
    MlirBlock outer = b.block;
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    intptr_t nv = mlirOperationGetNumOperands(s->view);
    MlirValue ops[1 + 3 * MAX_RANK];
    ops[0] = ir_op1(&b, "memref.cast", ir_unit_stride_memref(ctx, el, rank), 1, &base);
    for (intptr_t i = 1; i < nv; i++)
        ops[i] = mlirOperationGetOperand(s->view, i);
    MlirAttribute seg = attr(s->view, "operandSegmentSizes");
    MlirNamedAttribute vattrs[4] = {
        ir_named(&b, "static_offsets", attr(s->view, "static_offsets")),
        ir_named(&b, "static_sizes", attr(s->view, "static_sizes")),
        ir_named(&b, "static_strides", attr(s->view, "static_strides")),
        ir_named(&b, "operandSegmentSizes", seg),
    };
    MlirValue v =
        mlirOperationGetResult(ir_op(&b, "memref.subview", 1, &unit_t, (int)nv, ops, 4, vattrs, 0), 0);
    MlirValue in_place = writable_tensor(&b, v, part_t);
    ir_op(&b, "scf.yield", 0, NULL, 1, &in_place, 0, NULL, 0);
    b.block = ir_region_block(&b, ifop, 1, 0, NULL);
    MlirValue buf = ir_alloc(&b, mlirMemRefTypeContiguousGet(el, rank, tshape, mlirAttributeGetNull()));
    // The view's dynamic sizes: its operands after the dynamic offsets (the view itself comes
    // after the loop).
    MlirAttribute voffs = attr(s->view, "static_offsets"), vsizes = attr(s->view, "static_sizes");
    MlirValue dsizes[MAX_RANK];
    int noff = 0, nsizes = 0;
    for (int d = 0; d < rank; d++)
        noff += mlirShapedTypeIsDynamicStrideOrOffset(mlirDenseI64ArrayGetElement(voffs, d));
    for (int d = 0; d < rank; d++)
        if (mlirShapedTypeIsDynamicSize(mlirDenseI64ArrayGetElement(vsizes, d))) {
            dsizes[nsizes] = mlirOperationGetOperand(s->view, 1 + noff + nsizes);
            nsizes++;
        }
    MlirValue bsub = ir_buffer_part(&b, buf, shape, nsizes, dsizes);
    MlirValue own = writable_tensor(&b, ir_op1(&b, "memref.cast", unit_t, 1, &bsub), part_t);
    ir_op(&b, "scf.yield", 0, NULL, 1, &own, 0, NULL, 0);
    b.block = outer;
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, p->loops[0]);
    MlirValue dest = mlirOperationGetResult(ifop, 0);
    mlirOperationSetOperand(p->loops[0], s->operand, dest);
    MlirValue acc = {NULL}, res = mlirOperationGetResult(p->loops[0], p->args[0]);
    for (int i = 0; i < p->nloops; i++) {
        MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(p->loops[i], 0));
        acc = mlirBlockGetArgument(body, 1 + p->args[i]);
        mlirValueSetType(acc, part_t);
        mlirValueSetType(mlirOperationGetResult(p->loops[i], p->args[i]), part_t);
    }

    // Each piece: whole, masked or not at all.
    b.block = scratch;
    b.loc = mlirOperationGetLocation(p->write);
    MlirAttribute soffs = attr(p->slice, "static_offsets");
    MlirValue idx[MAX_RANK];
    for (int d = 0, k = 1; d < rank; d++) {
        int64_t off = mlirDenseI64ArrayGetElement(soffs, d);
        idx[d] = mlirShapedTypeIsDynamicStrideOrOffset(off) ? mlirOperationGetOperand(p->slice, k++)
                                                            : ir_const_int(&b, index, off);
    }
    MlirType vt = mlirValueGetType(mlirOperationGetOperand(p->write, 0));
    MlirValue whole = ir_const_int(&b, i1, 1), some = whole, last_left = whole;
    for (int d = 0; d < rank; d++) {
        MlirValue dim = ir_op1(&b, "tensor.dim", index, 2, (MlirValue[]){acc, ir_const_int(&b, index, d)});
        MlirValue left = ir_binop(&b, "arith.subi", dim, idx[d]);
        last_left = left;
        whole = ir_binop(
            &b, "arith.andi", whole,
            ir_cmpi(&b, 5 /* sge */, left, ir_const_int(&b, index, mlirShapedTypeGetDimSize(vt, d))));
        some = ir_binop(&b, "arith.andi", some, ir_cmpi(&b, 4 /* sgt */, left, ir_const_int(&b, index, 0)));
    }
    MlirValue val = mlirOperationGetOperand(p->write, 0);
    MlirAttribute map = attr(p->write, "permutation_map");
    MlirBlock cases[3], here = b.block;
    MlirOperation choice = ir_if_else_if(&b, part_t, whole, some, cases);
    int64_t sub = vector_bits / ir_elem_bits(el), len = mlirShapedTypeGetDimSize(vt, rank - 1);
    MlirValue cv[3];
    b.block = cases[0];
    cv[0] = write_at(&b, val, acc, idx, rank, true, map);
    b.block = cases[1];
    cv[1] = sub >= 1 && len > sub && len % sub == 0
                ? partial_write(&b, val, acc, idx, rank, sub, last_left, map)
                : write_at(&b, val, acc, idx, rank, false, map);
    cv[2] = acc;
    for (int c = 0; c < 3; c++) {
        b.block = cases[c];
        ir_op(&b, "scf.yield", 0, NULL, 1, &cv[c], 0, NULL, 0);
    }
    b.block = here;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, p->insert);
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(p->insert, 0), mlirOperationGetResult(choice, 0));
    mlirOperationDestroy(p->insert);
    mlirOperationDestroy(p->write);
    mlirOperationDestroy(p->slice);

    // The store: of the loop's result itself, and only where it is a buffer.
    b.block = scratch;
    b.loc = mlirOperationGetLocation(s->store);
    MlirValue src = mlirOperationGetOperand(s->store, 0);
    MlirOperation part = mlirValueEqual(src, res) ? (MlirOperation){NULL} : mlirOpResultGetOwner(src);
    MlirValue stored = ir_op1(&b, "tensor.cast", mlirValueGetType(src), 1, &res);
    MlirValue not_unit = ir_binop(&b, "arith.xori", unit, ir_const_int(&b, i1, 1));
    MlirOperation guard = ir_op(&b, "scf.if", 0, NULL, 1, &not_unit, 0, NULL, 2);
    b.block = ir_region_block(&b, guard, 0, 0, NULL);
    MlirOperation end = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b.block = scratch;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, s->store);
    mlirOperationMoveBefore(s->store, end);
    mlirOperationSetOperand(s->store, 0, stored);
    if (!mlirOperationIsNull(part))
        mlirOperationDestroy(part);
    mlirBlockDestroy(scratch);
}

void x86_inplace_stores(MlirContext ctx, MlirModule module, int vector_bits) {
    Stores ss = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_store, &ss, MlirWalkPreOrder);
    for (int i = 0; i < ss.len; i++) {
        Piece p;
        if (piece_loop(&ss.items[i], &p))
            rewrite_pieces(ctx, &ss.items[i], &p, vector_bits);
        else
            rewrite(ctx, &ss.items[i]);
    }
    free(ss.items);
}
