// backends/x86/copies.c — after bufferization, the copies between tile buffers and tensors are
// specialized at run time (see x86.h: x86_guard_pad_fills, x86_fast_stores).
//
// Loads. One-shot bufferization turns `tensor.pad` into
//     %buf = memref.alloc() : memref<S0 x S1 x ...>
//     linalg.map outs(%buf) { linalg.yield %padding }         // the whole tile
//     %dst = memref.subview %buf[low...][valid...][1...]
//     linalg.copy ins(%part) outs(%dst)                       // the part inside the tensor
// Tiles inside the tensor (most of a kernel's tiles) do not need the fill, whose cost is that of
// the copy again. The fill is moved into `scf.if (valid_0 != S0 || valid_1 != S1 || ...)` just
// before the copy: when every valid size is the full size there is no padding before or after.
//
// Stores. A tile stored into a tensor becomes `linalg.copy ins(%part) outs(%view)`, %part a
// subview (the part inside the tensor, at run-time sizes) of the tile's static buffer and %view
// a subview of the tensor with run-time strides: scalar loops that LLVM vectorizes, if at all,
// behind run-time checks. When the part is the whole tile and the tensor's rows are
// unit-stride, the copy runs at the tile's static size instead (measured on conv2d_nhwc's
// 5x5x1 first layer, 28 x 64 output blocks: 1.9-2.0 -> 1.7-1.8 ms, one core); edge tiles with
// short unit-stride rows are masked row moves. A store inside a loop also has its destination
// prefetched for writing at the top of the loop's body (the view rebuilt there from the pure
// ops it is computed by): a 32 x 64 f32 block is 128 lines whose write misses, all at once
// after the block's FMAs, stalled the store (SR conv1, one core: 0.61-0.70 -> 0.73-0.98x
// oneDNN). Schedule key `prefetch` (default 1).
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "../../lowering/lower.h"
#include "x86.h"

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

// The most bytes of one row that the masked row copy moves as one vector (4 zmm registers).
#define MASKED_ROW_BYTES 256

// Whether the elements of `buf` are whole bytes (an i1 memref holds a byte per element where
// LLVM's <N x i1> is bit-packed).
static bool byte_elements(MlirType buf) {
    int64_t bits = ir_elem_bits(mlirShapedTypeGetElementType(buf));
    return mlirShapedTypeGetRank(buf) >= 1 && bits >= 8 && bits % 8 == 0;
}

// Whether the valid part of a tile of type `buf` may be copied a row at a time with vector
// moves (byte_elements): a row of at most MASKED_ROW_BYTES bytes in one masked move, a longer
// one in moves of MASKED_ROW_BYTES, plain but for the last, masked.
static bool masked_rows_fit(MlirType buf) { return byte_elements(buf); }

// `mem` seen with a unit innermost stride (the caller tested it at run time):
// ir_unit_stride_view, a memref.reinterpret_cast of its own metadata with that stride. Not a
// memref.cast: the vector ops fold any ranked cast of their memref away
// (memref::foldMemRefCast), and once a masked load whose mask is all true (rows of a literal
// width) became a vector.load of the uncast memref, whose innermost stride is not known to be 1,
// it failed to verify: an internal error for `Q[m : m + BM, 0 : 64]` of a tensor `Q: f32[S, 64]`.
static MlirValue unit_stride_view(IRBuilder *b, MlirValue mem) { return ir_unit_stride_view(b, mem); }

// The copy of the valid part `part` into `view` (a subview of the tile buffer, of the same
// rank) a row at a time: loops over the valid rows, vector moves per row, for edge tiles whose
// rows are unit-stride: a row of 9 of 16 elements (a convolution's last 9 output channels) is
// one masked move instead of a vector loop and a scalar tail; a row of 1000 of 1024 (a layer
// norm's row of 1000) 15 plain moves of 64 lanes and a masked one of 40, instead of the
// general copy's loop over run-time strides (or one masked move each: loads and stores that
// the hardware does not stream as well, measured 20 % slower on such rows).
static void masked_row_copy(IRBuilder *b, MlirValue part, MlirValue view, MlirType buf) {
    MlirContext ctx = b->ctx;
    MlirType index = mlirIndexTypeGet(ctx), el = mlirShapedTypeGetElementType(buf);
    int rank = (int)mlirShapedTypeGetRank(buf);
    int64_t width = mlirShapedTypeGetDimSize(buf, rank - 1),
            lanes = MASKED_ROW_BYTES / (ir_elem_bits(el) / 8);
    bool chunked = width > lanes;
    int64_t vl = chunked ? lanes : width;
    MlirType vt = mlirVectorTypeGet(1, &vl, el), mt = mlirVectorTypeGet(1, &vl, mlirIntegerTypeGet(ctx, 1));
    MlirValue zero = ir_const_int(b, index, 0), one = ir_const_int(b, index, 1);
    MlirValue valid[16], ivs[16];
    for (int d = 0; d < rank; d++)
        valid[d] = ir_op1(b, "memref.dim", index, 2, (MlirValue[]){view, ir_const_int(b, index, d)});
    MlirAttribute z = mlirTypeIsAFloat(el) ? mlirFloatAttrDoubleGet(ctx, el, 0.0) : mlirIntegerAttrGet(el, 0);
    MlirNamedAttribute zv = ir_named(b, "value", mlirDenseElementsAttrSplatGet(vt, z));
    MlirValue pass = mlirOperationGetResult(ir_op(b, "arith.constant", 1, &vt, 0, NULL, 1, &zv, 0), 0);
    MlirValue src = unit_stride_view(b, part), dst = unit_stride_view(b, view);
    MlirBlock outer = b->block, bodies[16];
    int loops = chunked ? rank : rank - 1;
    for (int d = 0; d < loops; d++) {
        MlirValue step = d == rank - 1 ? ir_const_int(b, index, vl) : one;
        MlirOperation loop = ir_op(b, "scf.for", 0, NULL, 3, (MlirValue[]){zero, valid[d], step}, 0, NULL, 1);
        b->block = bodies[d] = ir_region_block(b, loop, 0, 1, &index);
        ivs[d] = mlirBlockGetArgument(bodies[d], 0);
    }
    if (!chunked)
        ivs[rank - 1] = zero;
    MlirValue left = chunked ? ir_binop(b, "arith.subi", valid[rank - 1], ivs[rank - 1]) : valid[rank - 1];
    MlirValue ops[3 + 16];
    for (int d = 0; d < rank; d++)
        ops[1 + d] = ivs[d];
    MlirBlock body = b->block;
    if (chunked) {  // a whole vector: plain moves
        MlirValue whole = ir_cmpi(b, 5 /* sge */, left, ir_const_int(b, index, vl));
        MlirOperation choice = ir_op(b, "scf.if", 0, NULL, 1, &whole, 0, NULL, 2);
        b->block = ir_region_block(b, choice, 0, 0, NULL);
        ops[0] = src;
        ir_vector_store(b, ir_op1(b, "vector.load", vt, 1 + rank, ops), dst, rank, ivs);
        ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b->block = ir_region_block(b, choice, 1, 0, NULL);
    }
    ops[0] = src;
    ops[1 + rank] = ir_op1(b, "vector.create_mask", mt, 1, &left);
    ops[2 + rank] = pass;
    MlirValue row = ir_op1(b, "vector.maskedload", vt, 3 + rank, ops);
    ops[0] = dst;
    ops[2 + rank] = row;
    ir_op(b, "vector.maskedstore", 0, NULL, 3 + rank, ops, 0, NULL, 0);
    if (chunked) {
        ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b->block = body;
    }
    for (int d = loops - 1; d >= 0; d--) {
        b->block = bodies[d];
        ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    }
    b->block = outer;
}

// A padded load's fill and copy in one pass, for a tile buffer `buf_v` (type `buf`) whose valid
// part starts at its origin and whose source `part` has unit-stride rows: every row of the
// buffer is written in moves of at most MASKED_ROW_BYTES, each loaded from `part` under the mask
// of the lanes inside it (none for rows past the valid ones) with `pad` in the other lanes, and
// stored whole (masked only past the buffer's row). A row of 1000 of 1024 elements was a 4 KiB
// fill and then a copy.
static void padded_row_copy(IRBuilder *b, MlirValue part, MlirValue buf_v, MlirType buf, MlirValue pad) {
    MlirContext ctx = b->ctx;
    MlirType index = mlirIndexTypeGet(ctx), el = mlirShapedTypeGetElementType(buf);
    int rank = (int)mlirShapedTypeGetRank(buf);
    int64_t width = mlirShapedTypeGetDimSize(buf, rank - 1),
            lanes = MASKED_ROW_BYTES / (ir_elem_bits(el) / 8);
    int64_t vl = width < lanes ? width : lanes;
    MlirType vt = mlirVectorTypeGet(1, &vl, el), mt = mlirVectorTypeGet(1, &vl, mlirIntegerTypeGet(ctx, 1));
    MlirValue zero = ir_const_int(b, index, 0), one = ir_const_int(b, index, 1);
    MlirValue valid[16], ivs[16];
    for (int d = 0; d < rank; d++)
        valid[d] = ir_op1(b, "memref.dim", index, 2, (MlirValue[]){part, ir_const_int(b, index, d)});
    MlirValue pass = ir_op1(b, "vector.broadcast", vt, 1, &pad);
    MlirValue src = unit_stride_view(b, part);
    MlirBlock outer = b->block, bodies[16];
    for (int d = 0; d < rank; d++) {
        MlirValue ub = ir_const_int(b, index, mlirShapedTypeGetDimSize(buf, d));
        MlirValue step = d == rank - 1 ? ir_const_int(b, index, vl) : one;
        MlirOperation loop = ir_op(b, "scf.for", 0, NULL, 3, (MlirValue[]){zero, ub, step}, 0, NULL, 1);
        b->block = bodies[d] = ir_region_block(b, loop, 0, 1, &index);
        ivs[d] = mlirBlockGetArgument(bodies[d], 0);
    }
    // The lanes of this move inside `part`: none in a row past the valid rows.
    MlirValue left = ir_binop(b, "arith.subi", valid[rank - 1], ivs[rank - 1]);
    for (int d = 0; d < rank - 1; d++)
        left = ir_op1(b, "arith.select", index, 3,
                      (MlirValue[]){ir_cmpi(b, 2 /* slt */, ivs[d], valid[d]), left, zero});
    // A whole vector inside the part is a plain load (the moves of a row but its last); the
    // others are masked, but for moves with no lane inside the part (rows past the valid ones,
    // a row's moves past its end), which load nothing: a masked load whose lanes are all off
    // still costs a microcode assist when its address is on a page not mapped (the rows past a
    // tensor's end: matmul of 200 x 50 by 50 x 1 on 128-row tiles, Zen 5, 70 -> 20 us).
    MlirValue ops[3 + 16];
    ops[0] = src;
    for (int d = 0; d < rank; d++)
        ops[1 + d] = ivs[d];
    MlirValue whole = ir_cmpi(b, 5 /* sge */, left, ir_const_int(b, index, vl));
    MlirOperation choice = ir_op(b, "scf.if", 1, &vt, 1, &whole, 0, NULL, 2);
    MlirBlock body = b->block;
    b->block = ir_region_block(b, choice, 0, 0, NULL);
    MlirValue plain = ir_op1(b, "vector.load", vt, 1 + rank, ops);
    ir_op(b, "scf.yield", 0, NULL, 1, &plain, 0, NULL, 0);
    b->block = ir_region_block(b, choice, 1, 0, NULL);
    MlirValue any = ir_cmpi(b, 4 /* sgt */, left, zero);
    MlirOperation some = ir_op(b, "scf.if", 1, &vt, 1, &any, 0, NULL, 2);
    ir_op(b, "scf.yield", 0, NULL, 1, (MlirValue[]){mlirOperationGetResult(some, 0)}, 0, NULL, 0);
    b->block = ir_region_block(b, some, 0, 0, NULL);
    ops[1 + rank] = ir_op1(b, "vector.create_mask", mt, 1, &left);
    ops[2 + rank] = pass;
    MlirValue masked = ir_op1(b, "vector.maskedload", vt, 3 + rank, ops);
    ir_op(b, "scf.yield", 0, NULL, 1, &masked, 0, NULL, 0);
    b->block = ir_region_block(b, some, 1, 0, NULL);
    ir_op(b, "scf.yield", 0, NULL, 1, &pass, 0, NULL, 0);
    b->block = body;
    MlirValue row = mlirOperationGetResult(choice, 0);
    ops[0] = buf_v;
    if (width % vl == 0) {
        ir_vector_store(b, row, buf_v, rank, ivs);
    } else {
        MlirValue room = ir_binop(b, "arith.subi", ir_const_int(b, index, width), ivs[rank - 1]);
        ops[1 + rank] = ir_op1(b, "vector.create_mask", mt, 1, &room);
        ops[2 + rank] = row;
        ir_op(b, "vector.maskedstore", 0, NULL, 3 + rank, ops, 0, NULL, 0);
    }
    for (int d = rank - 1; d >= 0; d--) {
        b->block = bodies[d];
        ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    }
    b->block = outer;
}

// Ends b's block (an scf.if region) with the copy of `part` into `view` for tiles of type `buf`
// that are not copied at their static size: when the rows fit masked_rows_fit, `scf.if (unit)`
// over masked row moves, whose else side is left for the general copy; returns the op before
// which the general copy goes (that else side's yield, or the block's own).
static MlirOperation rows_or_general(IRBuilder *b, MlirValue unit, MlirValue part, MlirValue view,
                                     MlirType buf) {
    MlirBlock block = b->block;
    MlirOperation at = {NULL};
    if (masked_rows_fit(buf)) {
        MlirOperation rows = ir_op(b, "scf.if", 0, NULL, 1, &unit, 0, NULL, 2);
        b->block = ir_region_block(b, rows, 0, 0, NULL);
        masked_row_copy(b, part, view, buf);
        ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b->block = ir_region_block(b, rows, 1, 0, NULL);
        at = ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b->block = block;
    }
    MlirOperation end = ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    return mlirOperationIsNull(at) ? end : at;
}

// The padding value that the fill `map` writes, when it is defined outside the map (it then
// dominates the copy after it); else null.
static MlirValue fill_value(MlirOperation map) {
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(map, 0));
    MlirOperation yield = mlirBlockGetTerminator(body);
    if (mlirOperationIsNull(yield) || !ir_op_is(yield, "linalg.yield") ||
        mlirOperationGetNumOperands(yield) != 1)
        return (MlirValue){NULL};
    MlirValue v = mlirOperationGetOperand(yield, 0);
    MlirBlock def = mlirValueIsABlockArgument(v) ? mlirBlockArgumentGetOwner(v)
                                                 : mlirOperationGetBlock(mlirOpResultGetOwner(v));
    return mlirBlockEqual(def, body) ? (MlirValue){NULL} : v;
}

static bool all_zero(MlirAttribute a) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++)
        if (mlirDenseI64ArrayGetElement(a, i) != 0)
            return false;
    return true;
}

// Before `at` (where the general copy of an edge tile goes): `scf.if (cond)` over the copy of
// `part` into `buf` in transposed blocks, stored whole with the padding value `pad` past the
// part (tcopy.c); returns the op of its else side before which the general copy goes.
static MlirOperation transposed_or_general(MlirContext ctx, MlirOperation at, MlirValue cond, MlirValue part,
                                           MlirValue buf, int lanes, MlirValue pad) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(at)};
    MlirOperation tif = ir_op(&b, "scf.if", 0, NULL, 1, &cond, 0, NULL, 2);
    b.block = ir_region_block(&b, tif, 0, 0, NULL);
    x86_transposed_copy(&b, part, buf, lanes, pad);
    ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b.block = ir_region_block(&b, tif, 1, 0, NULL);
    MlirOperation general = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    move_all_before(scratch, at);
    mlirBlockDestroy(scratch);
    return general;
}

// Whether `mem` is a view (subviews, casts) of an argument of its function that the emitter
// marked `tilec.strided` (lowering/emit_entry.c: its innermost stride may not be 1).
static bool of_strided_arg(MlirValue mem) {
    while (mlirValueIsAOpResult(mem)) {
        MlirOperation def = mlirOpResultGetOwner(mem);
        if (!ir_op_is(def, "memref.subview") && !ir_op_is(def, "memref.cast"))
            return false;
        mem = mlirOperationGetOperand(def, 0);
    }
    MlirOperation func = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(mem));
    if (mlirOperationIsNull(func) || !ir_op_is(func, "func.func"))
        return false;
    MlirAttribute attrs = mlirOperationGetAttributeByName(func, ir_str("arg_attrs"));
    intptr_t i = mlirBlockArgumentGetArgNumber(mem);
    if (mlirAttributeIsNull(attrs) || !mlirAttributeIsAArray(attrs) ||
        i >= mlirArrayAttrGetNumElements(attrs))
        return false;
    MlirAttribute d = mlirArrayAttrGetElement(attrs, i);
    return mlirAttributeIsADictionary(d) &&
           !mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, ir_str("tilec.strided")));
}

static void guard(MlirContext ctx, const Fill *f, int vector_bits) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(f->map)};
    MlirValue view = mlirOperationGetResult(f->view, 0);
    MlirValue buf_v = mlirOperationGetOperand(f->map, 0);
    MlirValue part = mlirOperationGetOperand(f->copy, 0);
    MlirType buf = mlirValueGetType(buf_v);
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    int rank = (int)mlirShapedTypeGetRank(buf);
    // A tile inside the tensor whose rows are unit-stride is copied at its static size (loops
    // with constant bounds: LLVM unrolls and vectorizes them; the general copy's run-time
    // bounds and strides cost as much in loop overhead as in moves for short rows); one whose
    // columns are (a tensor stored transposed) in blocks transposed in registers, when its
    // argument may have a non-unit innermost stride and its shape fits (`lanes`).
    // (A part of static sizes other than the tile's, --fix, is never the whole tile.)
    bool fast_path = rank >= 1 && rank <= 16 && ir_may_have_shape(mlirValueGetType(part), buf);
    int lanes = fast_path && of_strided_arg(part) ? x86_transposed_copy_lanes(buf, vector_bits) : 0;
    MlirValue any = {NULL}, nonempty = {NULL};
    if (lanes)
        nonempty = ir_const_int(&b, i1, 1);
    for (intptr_t d = 0; d < rank; d++) {
        MlirValue ops[2] = {view, ir_const_int(&b, index, d)};
        MlirValue valid = ir_op1(&b, "memref.dim", index, 2, ops);
        if (lanes && d < rank - 2)  // a leading side of 1: the tile is not all padding
            nonempty = ir_binop(&b, "arith.andi", nonempty,
                                ir_cmpi(&b, 1 /* ne */, valid, ir_const_int(&b, index, 0)));
        MlirValue full = ir_const_int(&b, index, mlirShapedTypeGetDimSize(buf, d));
        MlirValue cmp = ir_cmpi(&b, 1 /* ne */, valid, full);
        any = mlirValueIsNull(any) ? cmp : ir_binop(&b, "arith.ori", any, cmp);
    }
    if (mlirValueIsNull(any))
        any = ir_const_int(&b, i1, 1);
    MlirBlock slow = scratch;
    MlirValue unit = {NULL}, tunit = {NULL}, tcond = {NULL};
    if (fast_path) {
        MlirOperation md = ir_strided_metadata(&b, part);
        unit = ir_cmpi(&b, 0 /* eq */, mlirOperationGetResult(md, 1 + 2 * rank), ir_const_int(&b, index, 1));
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
        // Else a tile inside a tensor stored transposed (its second-innermost stride is 1): its
        // columns are contiguous, read as rows and transposed in registers (tcopy.c).
        if (lanes) {
            tunit = ir_cmpi(&b, 0 /* eq */, mlirOperationGetResult(md, 2 * rank), ir_const_int(&b, index, 1));
            tcond = ir_binop(&b, "arith.andi", tunit, nonempty);
            MlirOperation tif = ir_op(&b, "scf.if", 0, NULL, 1,
                                      (MlirValue[]){ir_binop(&b, "arith.andi", inside, tunit)}, 0, NULL, 2);
            b.block = ir_region_block(&b, tif, 0, 0, NULL);
            x86_transposed_copy(&b, part, buf_v, lanes, (MlirValue){NULL});
            ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
            b.block = slow;
            ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
            slow = b.block = ir_region_block(&b, tif, 1, 0, NULL);
        }
    }
    // A valid part at the buffer's origin, rows that fit masked moves, a padding value from
    // outside the fill: fill and copy in one pass (padded_row_copy) where the rows are
    // unit-stride, the fill and the general copy where not.
    MlirValue pad = fill_value(f->map);
    bool fused = fast_path && masked_rows_fit(buf) && !mlirValueIsNull(pad) &&
                 all_zero(mlirOperationGetAttributeByName(f->view, ir_str("static_offsets")));
    MlirBlock fused_slow = slow;
    if (fused) {
        MlirOperation rows = ir_op(&b, "scf.if", 0, NULL, 1, &unit, 0, NULL, 2);
        b.block = ir_region_block(&b, rows, 0, 0, NULL);
        padded_row_copy(&b, part, buf_v, buf, pad);
        ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b.block = ir_region_block(&b, rows, 1, 0, NULL);
    }
    MlirOperation ifop = ir_op(&b, "scf.if", 0, NULL, 1, &any, 0, NULL, 2);
    MlirBlock after_fill = b.block;
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirOperation yield = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    MlirOperation copy_at = {NULL};  // the general copy goes before this op
    if (fused) {
        b.block = after_fill;
        copy_at = ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        b.block = fused_slow;
        ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    } else if (fast_path) {
        b.block = slow;
        copy_at = rows_or_general(&b, unit, part, view, buf);
    }
    // An edge tile of a tensor stored transposed: masked transposed blocks (else the general copy).
    if (lanes && !mlirValueIsNull(pad))
        copy_at = transposed_or_general(ctx, copy_at, tcond, part, buf_v, lanes, pad);
    move_all_before(scratch, f->copy);
    mlirOperationMoveBefore(f->map, yield);
    if (fast_path)
        mlirOperationMoveBefore(f->copy, copy_at);
    mlirBlockDestroy(scratch);
}

void x86_guard_pad_fills(MlirContext ctx, MlirModule module, int vector_bits) {
    Fills fs = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_fills, &fs, MlirWalkPreOrder);
    for (int i = 0; i < fs.len; i++)
        guard(ctx, &fs.items[i], vector_bits);
    free(fs.items);
    // The marks of strided arguments have served (the only argument attributes of CPU functions).
    for (MlirOperation o = mlirBlockGetFirstOperation(mlirModuleGetBody(module)); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o))
        if (ir_op_is(o, "func.func"))
            mlirOperationRemoveAttributeByName(o, ir_str("arg_attrs"));
}

// ================================================================ stores

// A store's copy of its tile into the tensor: `linalg.copy ins(%part) outs(%dst)`, where %part
// is a subview (at run-time sizes: the part inside the tensor) of a tile buffer of static shape.
static MlirWalkResult find_store_copies(MlirOperation op, void *user) {
    if (!ir_op_is(op, "linalg.copy") || mlirOperationGetNumOperands(op) != 2)
        return MlirWalkResultAdvance;
    MlirValue part = mlirOperationGetOperand(op, 0), dst = mlirOperationGetOperand(op, 1);
    if (!mlirValueIsAOpResult(part) || !ir_op_is(mlirOpResultGetOwner(part), "memref.subview"))
        return MlirWalkResultAdvance;
    MlirType whole = mlirValueGetType(mlirOperationGetOperand(mlirOpResultGetOwner(part), 0));
    int64_t rank = mlirShapedTypeGetRank(whole);
    if (!mlirShapedTypeHasStaticShape(whole) || mlirShapedTypeHasStaticShape(mlirValueGetType(part)) ||
        rank < 1 || rank > 16 || mlirShapedTypeGetRank(mlirValueGetType(part)) != rank ||
        mlirShapedTypeGetRank(mlirValueGetType(dst)) != rank ||
        !ir_may_have_shape(mlirValueGetType(part), whole) || !ir_may_have_shape(mlirValueGetType(dst), whole))
        return MlirWalkResultAdvance;
    ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

// `copy` versioned: when the part is the whole tile and the tensor's rows are unit-stride, a
// copy at the tile's static size (constant loop bounds and unit strides: LLVM unrolls and
// vectorizes it); for an edge tile with unit-stride rows that fit a few vectors, masked row
// moves; else the copy as it was.
static void version_store(MlirContext ctx, MlirOperation copy) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(copy)};
    MlirValue part = mlirOperationGetOperand(copy, 0), dst = mlirOperationGetOperand(copy, 1);
    MlirType whole = mlirValueGetType(mlirOperationGetOperand(mlirOpResultGetOwner(part), 0));
    MlirType index = mlirIndexTypeGet(ctx), el = mlirShapedTypeGetElementType(whole);
    int rank = (int)mlirShapedTypeGetRank(whole);
    MlirOperation md = ir_strided_metadata(&b, dst);
    MlirValue unit =
        ir_cmpi(&b, 0 /* eq */, mlirOperationGetResult(md, 1 + 2 * rank), ir_const_int(&b, index, 1));
    MlirValue full = unit;
    int64_t shape[16];
    for (int d = 0; d < rank; d++) {
        shape[d] = mlirShapedTypeGetDimSize(whole, d);
        MlirValue size = ir_op1(&b, "memref.dim", index, 2, (MlirValue[]){part, ir_const_int(&b, index, d)});
        full = ir_binop(&b, "arith.andi", full, ir_cmpi(&b, 0, size, ir_const_int(&b, index, shape[d])));
    }
    MlirOperation ifop = ir_op(&b, "scf.if", 0, NULL, 1, &full, 0, NULL, 2);
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirType part_t = mlirMemRefTypeGet(el, rank, shape, mlirMemRefTypeGetLayout(mlirValueGetType(part)),
                                        mlirAttributeGetNull());
    MlirType dst_t =
        mlirMemRefTypeGet(el, rank, shape, ir_unit_stride_layout(ctx, rank), mlirAttributeGetNull());
    MlirValue ops[2] = {ir_op1(&b, "memref.cast", part_t, 1, &part),
                        ir_op1(&b, "memref.cast", dst_t, 1, &dst)};
    MlirOperation fast = mlirOperationClone(copy);
    mlirOperationSetOperand(fast, 0, ops[0]);
    mlirOperationSetOperand(fast, 1, ops[1]);
    mlirBlockAppendOwnedOperation(b.block, fast);
    ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b.block = ir_region_block(&b, ifop, 1, 0, NULL);
    MlirOperation copy_at = rows_or_general(&b, unit, part, dst, whole);
    move_all_before(scratch, copy);
    mlirOperationMoveBefore(copy, copy_at);
    mlirBlockDestroy(scratch);
}

// ---------------------------------------------------------------- destination prefetch

// Values already rebuilt at the top of a loop body (original -> clone).
typedef struct Hoisted {
    MlirValue from[64], to[64];
    int n;
} Hoisted;

// Whether `op` lies (at any depth) inside `body`.
static bool inside(MlirOperation op, MlirBlock body) {
    for (MlirBlock b = mlirOperationGetBlock(op); !mlirBlockIsNull(b);) {
        if (mlirBlockEqual(b, body))
            return true;
        MlirOperation parent = mlirBlockGetParentOperation(b);
        if (mlirOperationIsNull(parent))
            return false;
        b = mlirOperationGetBlock(parent);
    }
    return false;
}

// Side-effect-free ops whose results may be computed earlier than where they stand.
static bool pure_op(MlirOperation op) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
    return mlirOperationGetNumRegions(op) == 0 &&
           ((n.length > 6 && !strncmp(n.data, "arith.", 6)) || ir_op_is(op, "memref.subview") ||
            ir_op_is(op, "memref.dim") || ir_op_is(op, "memref.cast") ||
            ir_op_is(op, "memref.extract_strided_metadata") || ir_op_is(op, "memref.expand_shape") ||
            ir_op_is(op, "memref.collapse_shape"));
}

// Integer division and remainder trap on a zero divisor: one under a condition (`if d != 0`)
// must not run before the condition is tested.
static bool may_trap(MlirOperation op) {
    static const char *const names[] = {"arith.divsi",     "arith.divui",     "arith.remsi",
                                        "arith.remui",     "arith.ceildivsi", "arith.ceildivui",
                                        "arith.floordivsi"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ir_op_is(op, names[i]))
            return true;
    return false;
}

// `v` as available at the top of `body` (before `at`): itself when defined outside the body or
// an argument of the body, else its pure defining ops cloned before `at`. Null when it depends
// on anything else (a value of a nested region, a load).
static MlirValue hoist(MlirValue v, MlirBlock body, MlirOperation at, Hoisted *h) {
    if (mlirValueIsABlockArgument(v)) {
        MlirBlock b = mlirBlockArgumentGetOwner(v);
        return mlirBlockEqual(b, body) || mlirOperationIsNull(mlirBlockGetParentOperation(b)) ||
                       !inside(mlirBlockGetParentOperation(b), body)
                   ? v
                   : (MlirValue){NULL};
    }
    MlirOperation op = mlirOpResultGetOwner(v);
    if (!inside(op, body))
        return v;
    for (int i = 0; i < h->n; i++)
        if (mlirValueEqual(h->from[i], v))
            return h->to[i];
    if (!pure_op(op) || h->n + mlirOperationGetNumResults(op) > 64 ||
        (may_trap(op) && !mlirBlockEqual(mlirOperationGetBlock(op), body)))
        return (MlirValue){NULL};
    MlirOperation c = mlirOperationClone(op);
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) {
        MlirValue o = hoist(mlirOperationGetOperand(op, i), body, at, h);
        if (mlirValueIsNull(o)) {
            mlirOperationDestroy(c);
            return (MlirValue){NULL};
        }
        mlirOperationSetOperand(c, i, o);
    }
    mlirBlockInsertOwnedOperationBefore(body, at, c);
    MlirValue r = {NULL};
    for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++) {
        h->from[h->n] = mlirOperationGetResult(op, i);
        h->to[h->n++] = mlirOperationGetResult(c, i);
        if (mlirValueEqual(mlirOperationGetResult(op, i), v))
            r = mlirOperationGetResult(c, i);
    }
    return r;
}

// A store inside a loop: at the top of the loop's body, before the iteration computes its
// tile, the tensor's destination lines are prefetched for writing (one per 64 bytes of each
// row), so that the store finds them in cache instead of stalling on a burst of misses.
static void prefetch_destination(MlirContext ctx, MlirOperation copy) {
    MlirOperation loop = mlirOperationGetParentOperation(copy);
    while (!mlirOperationIsNull(loop) && !ir_op_is(loop, "scf.for") && !ir_op_is(loop, "func.func"))
        loop = mlirOperationGetParentOperation(loop);
    if (mlirOperationIsNull(loop) || !ir_op_is(loop, "scf.for"))
        return;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
    MlirOperation at = mlirBlockGetFirstOperation(body);
    MlirValue dst = mlirOperationGetOperand(copy, 1);
    MlirType t = mlirValueGetType(dst), el = mlirShapedTypeGetElementType(t);
    int rank = (int)mlirShapedTypeGetRank(t);
    int64_t bits = ir_elem_bits(el), bytes = bits / 8;
    if (rank < 1 || rank > 16 || bits % 8 || bytes < 1 || 64 % bytes)
        return;
    // A tile of one row: the stores run along consecutive lines, which the hardware's stream
    // prefetcher already fetches ahead (softmax_online's rows: the prefetch loop was ~9 % of its
    // samples). The tile's shape is that of the buffer the copied part is a view of.
    MlirValue tile = mlirOperationGetOperand(copy, 0);
    while (mlirValueIsAOpResult(tile) && (ir_op_is(mlirOpResultGetOwner(tile), "memref.subview") ||
                                          ir_op_is(mlirOpResultGetOwner(tile), "memref.cast")))
        tile = mlirOperationGetOperand(mlirOpResultGetOwner(tile), 0);
    if (x86_row_tile(mlirValueGetType(tile)))
        return;
    Hoisted h = {.n = 0};
    MlirValue view = hoist(dst, body, at, &h);
    if (mlirValueIsNull(view))
        return;  // the clones made so far are unused: canonicalization removes them
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(copy)};
    MlirType index = mlirIndexTypeGet(ctx);
    MlirValue ivs[16];
    MlirBlock bodies[16];
    for (int d = 0; d < rank; d++) {
        MlirValue size = ir_op1(&b, "memref.dim", index, 2, (MlirValue[]){view, ir_const_int(&b, index, d)});
        MlirValue step = ir_const_int(&b, index, d == rank - 1 ? 64 / bytes : 1);
        MlirOperation f = ir_op(&b, "scf.for", 0, NULL, 3,
                                (MlirValue[]){ir_const_int(&b, index, 0), size, step}, 0, NULL, 1);
        b.block = bodies[d] = ir_region_block(&b, f, 0, 1, &index);
        ivs[d] = mlirBlockGetArgument(bodies[d], 0);
    }
    MlirValue ops[17];
    ops[0] = view;
    for (int d = 0; d < rank; d++)
        ops[1 + d] = ivs[d];
    MlirNamedAttribute attrs[3] = {
        ir_named(&b, "isWrite", mlirBoolAttrGet(ctx, 1)),
        ir_named(&b, "localityHint", mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 32), 3)),
        ir_named(&b, "isDataCache", mlirBoolAttrGet(ctx, 1)),
    };
    ir_op(&b, "memref.prefetch", 0, NULL, 1 + rank, ops, 3, attrs, 0);
    for (int d = rank - 1; d >= 0; d--) {
        b.block = bodies[d];
        ir_op(&b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    }
    move_all_before(scratch, at);
    mlirBlockDestroy(scratch);
}

void x86_fast_stores(MlirContext ctx, MlirModule module, bool prefetch) {
    IrOps cs = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_store_copies, &cs, MlirWalkPreOrder);
    for (int i = 0; i < cs.len; i++) {
        if (prefetch)
            prefetch_destination(ctx, cs.items[i]);
        version_store(ctx, cs.items[i]);
    }
    free(cs.items);
}
