// backends/x86/rowreads.c — padded row tiles read with masked vector loads instead of a padded
// copy (see x86.h: x86_masked_row_reads).
//
// A row of C elements held in a tile of BC > C (rmsnorm's W[0 : BC] when C = 1000, BC = 1024)
// is, at the tile level,
//     %part = tensor.extract_slice %w[0] [C] [1]
//     %tile = tensor.pad %part low[0] high[BC - C]               // a BC buffer: fill, copy
//     ... scf.for %k { vector.transfer_read (tensor.extract_slice %tile[%k] [64])[0] }
// For every row the tensor holds fewer than BC elements, so the tile is never read in place
// (inplace.c) and each program fills and copies it before the loop reads it back. When the
// tile's only readers are such vector reads, each becomes
//     scf.if (%k + 64 <= C) { vector.transfer_read %part[%k] {in_bounds = [true]} }
//     else { vector.transfer_read %part[%k], %padding {in_bounds = [false]} }
// a load of the tensor itself: plain for the vectors inside the row, masked (the padding value
// in the lanes past the end) for its last one. The part is viewed with a unit innermost
// stride when the tensor's is 1 at run time; else it is the padded copy as before (so that
// the loads are never strided gathers).
//
// Row tiles (every dimension but the last of extent 1) and blocks of rows that a row reduction
// reads ([BR, BC]: each read a piece of one row, [1, P]; softmax's `X[r : r + 8, 0 : 128]`,
// reduce.tile's `X[r : r + 8, c : c + 512]`), reached through at most one tensor.expand_shape
// that adds unit dimensions, read by vector.transfer_read of unit-stride slices at index 0 and
// not by a vector.contract: a dot's operands keep their packed copies.
#include <stdbool.h>
#include <stdlib.h>

#include "mlir-c/AffineMap.h"
#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "x86.h"

enum { MAX_RANK = 8, MAX_READS = 64 };

typedef struct Read {
    MlirOperation read, slice;
    int dim[MAX_RANK];  // for each tile dimension: the slice's dimension that indexes it, or -1
} Read;

typedef struct RowTile {
    MlirOperation pad, part;  // tensor.pad and the tensor.extract_slice it pads
    int rank;
    Read reads[MAX_READS];
    int nreads;
    MlirOperation expands[MAX_READS];  // the tensor.expand_shape ops between (erased after)
    int nexpands;
} RowTile;

typedef struct RowTiles {
    RowTile **items;
    int len, cap;
} RowTiles;

static MlirAttribute attr(MlirOperation op, const char *name) {
    return mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
}

static bool all_equal(MlirAttribute a, int64_t v) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++)
        if (mlirDenseI64ArrayGetElement(a, i) != v)
            return false;
    return true;
}

static bool any_dynamic(MlirAttribute a) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++)
        if (mlirShapedTypeIsDynamicSize(mlirDenseI64ArrayGetElement(a, i)))
            return true;
    return false;
}

// Whether a value of the read is used by a dot.
static bool feeds_contract(MlirOperation read) {
    MlirValue r = mlirOperationGetResult(read, 0);
    for (MlirOpOperand u = mlirValueGetFirstUse(r); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u))
        if (ir_op_is(mlirOpOperandGetOwner(u), "vector.contract"))
            return true;
    return false;
}

// A plain read of a whole slice: indices 0, in bounds, no mask, and the identity map (vector
// rank = slice rank) or a minor identity that drops leading unit dimensions (a row of W[0 : BC]
// broadcast over a block of rows reads vector<64xf32> from a [1, 64] slice).
static bool plain_read(MlirOperation op, MlirValue slice, int rank) {
    if (!ir_op_is(op, "vector.transfer_read") || !mlirValueEqual(mlirOperationGetOperand(op, 0), slice))
        return false;
    MlirAttribute seg = attr(op, "operandSegmentSizes");
    if (mlirAttributeIsNull(seg) || mlirDenseI32ArrayGetElement(seg, 1) != rank ||
        mlirDenseI32ArrayGetElement(seg, 3) != 0)
        return false;
    for (int d = 0; d < rank; d++)
        if (!ir_is_const_int(mlirOperationGetOperand(op, 1 + d), 0))
            return false;
    MlirAttribute map = attr(op, "permutation_map"), inb = attr(op, "in_bounds");
    if (mlirAttributeIsNull(map) || !mlirAffineMapIsMinorIdentity(mlirAffineMapAttrGetValue(map)) ||
        mlirAttributeIsNull(inb))
        return false;
    for (intptr_t i = 0; i < mlirArrayAttrGetNumElements(inb); i++)
        if (!mlirBoolAttrGetValue(mlirArrayAttrGetElement(inb, i)))
            return false;
    MlirType vt = mlirValueGetType(mlirOperationGetResult(op, 0)), st = mlirValueGetType(slice);
    int vrank = (int)mlirShapedTypeGetRank(vt);
    if (vrank < 1 || vrank > rank || mlirAffineMapGetNumResults(mlirAffineMapAttrGetValue(map)) != vrank)
        return false;
    for (int d = 0; d < rank - vrank; d++)
        if (mlirShapedTypeGetDimSize(st, d) != 1)
            return false;
    return !feeds_contract(op);
}

// Collects the reads of `v` (the tile, or an expand_shape of it whose dimension dim[g] indexes
// tile dimension g); false if anything else uses it.
static bool collect(RowTile *t, MlirValue v, const int *dim, int depth) {
    int vrank = (int)mlirShapedTypeGetRank(mlirValueGetType(v));
    for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
        MlirOperation o = mlirOpOperandGetOwner(u);
        if (ir_op_is(o, "tensor.expand_shape") && depth < 2) {
            MlirValue e = mlirOperationGetResult(o, 0);
            MlirType et = mlirValueGetType(e);
            MlirAttribute re = attr(o, "reassociation");
            if (!mlirShapedTypeHasStaticShape(et) || mlirAttributeIsNull(re) ||
                mlirArrayAttrGetNumElements(re) != vrank || t->nexpands == MAX_READS)
                return false;
            int edim[MAX_RANK];
            for (int g = 0; g < t->rank; g++) {
                edim[g] = -1;
                if (dim[g] < 0)
                    continue;
                MlirAttribute group = mlirArrayAttrGetElement(re, dim[g]);
                for (intptr_t k = 0; k < mlirArrayAttrGetNumElements(group); k++) {
                    int d = (int)mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(group, k));
                    if (mlirShapedTypeGetDimSize(et, d) == 1)
                        continue;
                    if (edim[g] >= 0)
                        return false;  // two non-unit dimensions: a real reshape
                    edim[g] = d;
                }
            }
            if (mlirShapedTypeGetRank(et) > MAX_RANK)
                return false;
            t->expands[t->nexpands++] = o;
            if (!collect(t, e, edim, depth + 1))
                return false;
            continue;
        }
        if (!ir_op_is(o, "tensor.extract_slice") || !mlirValueEqual(mlirOperationGetOperand(o, 0), v))
            return false;
        MlirValue s = mlirOperationGetResult(o, 0);
        if (mlirShapedTypeGetRank(mlirValueGetType(s)) < vrank && depth < 2) {
            // A whole slice that drops unit dimensions (the row of a 1 x BC tile, as the row
            // reductions of rowsums.c and the elementwise loops read it): its dimensions index
            // the tile's through the ones kept.
            MlirType st = mlirValueGetType(s), vt = mlirValueGetType(v);
            MlirAttribute offs = attr(o, "static_offsets"), sizes = attr(o, "static_sizes");
            if (!all_equal(offs, 0) || !all_equal(attr(o, "static_strides"), 1) || any_dynamic(sizes) ||
                t->nexpands == MAX_READS)
                return false;
            int keep[MAX_RANK], nkeep = 0, srank = (int)mlirShapedTypeGetRank(st);
            for (int d = 0; d < vrank; d++) {
                int64_t size = mlirDenseI64ArrayGetElement(sizes, d);
                if (size != mlirShapedTypeGetDimSize(vt, d))
                    return false;  // not the whole of v
                if (size != 1)
                    keep[d] = nkeep++;
                else
                    keep[d] = -1;
            }
            if (nkeep != srank)
                return false;  // unit dimensions kept: which ones is ambiguous
            int sdim[MAX_RANK];
            for (int g = 0; g < t->rank; g++)
                sdim[g] = dim[g] < 0 ? -1 : keep[dim[g]];
            t->expands[t->nexpands++] = o;
            if (!collect(t, s, sdim, depth + 1))
                return false;
            continue;
        }
        if (mlirShapedTypeGetRank(mlirValueGetType(s)) != vrank || any_dynamic(attr(o, "static_sizes")) ||
            !all_equal(attr(o, "static_strides"), 1))
            return false;
        // Dimensions that index no tile dimension must be read from 0.
        MlirAttribute offs = attr(o, "static_offsets");
        for (int d = 0; d < vrank; d++) {
            bool used = false;
            for (int g = 0; g < t->rank; g++)
                used |= dim[g] == d;
            if (!used && mlirDenseI64ArrayGetElement(offs, d) != 0)
                return false;
        }
        for (MlirOpOperand r = mlirValueGetFirstUse(s); !mlirOpOperandIsNull(r);
             r = mlirOpOperandGetNextUse(r)) {
            MlirOperation rd = mlirOpOperandGetOwner(r);
            if (!plain_read(rd, s, vrank) || t->nreads == MAX_READS)
                return false;
            Read *x = &t->reads[t->nreads++];
            x->read = rd;
            x->slice = o;
            for (int g = 0; g < t->rank; g++)
                x->dim[g] = dim[g];
        }
    }
    return true;
}

static MlirOperation owner(MlirValue v, const char *name) {
    if (!mlirValueIsAOpResult(v) || !ir_op_is(mlirOpResultGetOwner(v), name))
        return (MlirOperation){NULL};
    return mlirOpResultGetOwner(v);
}

// The padding value of a pad, when it is defined outside the pad (else null).
static MlirValue pad_value(MlirOperation pad) {
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(pad, 0));
    MlirOperation y = mlirBlockGetTerminator(body);
    if (mlirOperationIsNull(y) || mlirOperationGetNumOperands(y) != 1)
        return (MlirValue){NULL};
    MlirValue v = mlirOperationGetOperand(y, 0);
    MlirBlock def = mlirValueIsABlockArgument(v) ? mlirBlockArgumentGetOwner(v)
                                                 : mlirOperationGetBlock(mlirOpResultGetOwner(v));
    return mlirBlockEqual(def, body) ? (MlirValue){NULL} : v;
}

bool x86_row_tile(MlirType t) {
    intptr_t rank = mlirShapedTypeGetRank(t);
    for (intptr_t d = 0; d + 1 < rank; d++)
        if (mlirShapedTypeGetDimSize(t, d) != 1)
            return false;
    return rank >= 1;
}

// Whether `read` is in the body of a row reduction's loop over the row's pieces (rowsums.c marks
// it), not, for instance, in a dot's loop over k (whose accumulators are vectors too).
static bool in_reduction_loop(MlirOperation read) {
    MlirOperation loop = mlirOperationGetParentOperation(read);
    return !mlirOperationIsNull(loop) && ir_op_is(loop, "scf.for") &&
           !mlirAttributeIsNull(attr(loop, X86_ROW_PIECES));
}

static MlirWalkResult find_row_tile(MlirOperation op, void *user) {
    if (!ir_op_is(op, "tensor.pad"))
        return MlirWalkResultAdvance;
    MlirType t = mlirValueGetType(mlirOperationGetResult(op, 0));
    MlirType el = mlirShapedTypeGetElementType(t);
    int rank = (int)mlirShapedTypeGetRank(t);
    if (!mlirShapedTypeHasStaticShape(t) || rank < 1 || rank > MAX_RANK ||
        !all_equal(attr(op, "static_low"), 0) || mlirValueIsNull(pad_value(op)) ||
        !(mlirTypeIsAFloat(el) || (mlirTypeIsAInteger(el) && mlirIntegerTypeGetWidth(el) >= 8)))
        return MlirWalkResultAdvance;
    MlirOperation part = owner(mlirOperationGetOperand(op, 0), "tensor.extract_slice");
    if (mlirOperationIsNull(part) || !all_equal(attr(part, "static_strides"), 1) ||
        mlirOperationIsNull(owner(mlirOperationGetOperand(part, 0), "bufferization.to_tensor")) ||
        mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetOperand(part, 0))) != rank)
        return MlirWalkResultAdvance;
    RowTiles *ts = user;
    RowTile *rt = calloc(1, sizeof *rt);
    rt->pad = op;
    rt->part = part;
    rt->rank = rank;
    int dim[MAX_RANK];
    for (int d = 0; d < rank; d++)
        dim[d] = d;
    bool ok = collect(rt, mlirOperationGetResult(op, 0), dim, 0) && rt->nreads > 0;
    // A block of several rows: only one that a row reduction reads (softmax, norms). Other
    // blocks (attention's V, the right operand of a dot read in place by rows) keep inplace.c's
    // view of the whole tile: read by row pieces, attention ran 13 % slower (AVX2, one thread).
    bool block = !x86_row_tile(t), reduced = false;
    for (int i = 0; ok && block && i < rt->nreads; i++)
        reduced |= in_reduction_loop(rt->reads[i].read);
    ok &= !block || reduced;
    // Each read lies in one row of the tile: its extent is 1 along every tile dimension but the
    // last (the masks below are per row).
    for (int i = 0; ok && i < rt->nreads; i++)
        for (int g = 0; g + 1 < rank; g++) {
            int d = rt->reads[i].dim[g];
            ok &= d < 0 || mlirDenseI64ArrayGetElement(attr(rt->reads[i].slice, "static_sizes"), d) == 1;
        }
    if (!ok) {
        free(rt);
        return MlirWalkResultAdvance;
    }
    if (ts->len == ts->cap) {
        ts->cap = ts->cap ? 2 * ts->cap : 8;
        ts->items = realloc(ts->items, sizeof(RowTile *) * (size_t)ts->cap);
    }
    ts->items[ts->len++] = rt;
    return MlirWalkResultAdvance;
}

static MlirValue tensor_of(IRBuilder *b, MlirValue mem, MlirType tensor) {
    MlirNamedAttribute r = ir_named(b, "restrict", mlirUnitAttrGet(b->ctx));
    return mlirOperationGetResult(ir_op(b, "bufferization.to_tensor", 1, &tensor, 1, &mem, 1, &r, 0), 0);
}

// vector.transfer_read of `vt` at rops[1..rank] (rops[0] the source, rops[1 + rank] the
// padding), in bounds or masked at the end.
static MlirValue read_at(IRBuilder *b, MlirType vt, const MlirValue *rops, int rank, bool in_bounds) {
    MlirAttribute inb[MAX_RANK];
    for (int d = 0; d < rank; d++)
        inb[d] = mlirBoolAttrGet(b->ctx, in_bounds);
    MlirNamedAttribute rattrs[3] = {
        ir_named(b, "in_bounds", mlirArrayAttrGet(b->ctx, rank, inb)),
        ir_named(b, "permutation_map",
                 mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(b->ctx, (intptr_t)rank))),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(b->ctx, 4, (int32_t[]){1, rank, 1, 0})),
    };
    return mlirOperationGetResult(ir_op(b, "vector.transfer_read", 1, &vt, 2 + rank, rops, 3, rattrs, 0), 0);
}

// The last piece of a row, which reaches past its end (`left` elements of it inside, 0 < left <
// the piece's length): read a register of `sub` lanes at a time, plain where the register lies
// inside, masked where it straddles the end, the padding past it. One masked read of the whole
// piece masks every register of it: rows of 250 floats (pieces of 64, the last 58 inside) ran
// rmsnorm at 0.7x the C loop, against ~1x with registers read plainly (docs/lowering.md).
MlirOperation x86_register_cases(IRBuilder *b, MlirType t, MlirValue left, MlirValue last, int64_t sub,
                                 int64_t j, MlirBlock cases[3], MlirValue *at) {
    MlirType index = mlirIndexTypeGet(b->ctx);
    MlirValue off = ir_const_int(b, index, j * sub);
    *at = ir_binop(b, "arith.addi", last, off);
    MlirValue l = ir_binop(b, "arith.subi", left, off);
    return ir_if_else_if(b, t, ir_cmpi(b, 5 /* sge */, l, ir_const_int(b, index, sub)),
                         ir_cmpi(b, 4 /* sgt */, l, ir_const_int(b, index, 0)), cases);
}

MlirType x86_register_slice(IRBuilder *b, MlirType vt, int64_t sub, int64_t j, MlirNamedAttribute attrs[3]) {
    MlirContext ctx = b->ctx;
    MlirType i64 = mlirIntegerTypeGet(ctx, 64);
    int rank = (int)mlirShapedTypeGetRank(vt);
    int64_t shape[MAX_RANK];
    MlirAttribute offs[MAX_RANK], ones[MAX_RANK], sizes[MAX_RANK];
    for (int d = 0; d < rank; d++) {
        shape[d] = d == rank - 1 ? sub : mlirShapedTypeGetDimSize(vt, d);
        offs[d] = mlirIntegerAttrGet(i64, d == rank - 1 ? j * sub : 0);
        ones[d] = mlirIntegerAttrGet(i64, 1);
        sizes[d] = mlirIntegerAttrGet(i64, shape[d]);
    }
    attrs[0] = ir_named(b, "offsets", mlirArrayAttrGet(ctx, rank, offs));
    attrs[1] = ir_named(b, "strides", mlirArrayAttrGet(ctx, rank, ones));
    attrs[2] = ir_named(b, "sizes", mlirArrayAttrGet(ctx, rank, sizes));
    return mlirVectorTypeGet(rank, shape, mlirShapedTypeGetElementType(vt));
}

static MlirValue partial_read(IRBuilder *b, MlirType vt, const MlirValue *rops, int rank, int64_t sub,
                              MlirValue left) {
    int64_t len = mlirShapedTypeGetDimSize(vt, rank - 1);
    MlirValue acc = ir_op1(b, "vector.broadcast", vt, 1, &rops[1 + rank]);
    for (int64_t j = 0; j < len / sub; j++) {
        MlirNamedAttribute ia[3];
        MlirType st = x86_register_slice(b, vt, sub, j, ia);
        MlirValue ops[2 + MAX_RANK];
        for (int d = 0; d < 2 + rank; d++)
            ops[d] = rops[d];
        MlirBlock cases[3], here = b->block;
        MlirOperation c = x86_register_cases(b, st, left, rops[rank], sub, j, cases, &ops[rank]);
        for (int k = 0; k < 3; k++) {
            b->block = cases[k];
            MlirValue v = k < 2 ? read_at(b, st, ops, rank, k == 0)
                                : ir_op1(b, "vector.broadcast", st, 1, &rops[1 + rank]);
            ir_op(b, "scf.yield", 0, NULL, 1, &v, 0, NULL, 0);
        }
        b->block = here;
        acc = mlirOperationGetResult(ir_op(b, "vector.insert_strided_slice", 1, &vt, 2,
                                           (MlirValue[]){mlirOperationGetResult(c, 0), acc}, 2, ia, 0),
                                     0);
    }
    return acc;
}

static void rewrite(MlirContext ctx, RowTile *t, int vector_bits) {
    MlirOperation pad = t->pad, part = t->part;
    MlirValue part_v = mlirOperationGetResult(part, 0);
    MlirType part_t = mlirValueGetType(part_v), tile_t = mlirValueGetType(mlirOperationGetResult(pad, 0));
    MlirType el = mlirShapedTypeGetElementType(part_t), index = mlirIndexTypeGet(ctx);
    int rank = t->rank;
    MlirValue mem =
        mlirOperationGetOperand(owner(mlirOperationGetOperand(part, 0), "bufferization.to_tensor"), 0);
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(pad)};

    // The part with a unit innermost stride: a view of the tensor when its stride is 1, else
    // the padded copy's valid part (the pad moved there), both with that layout.
    MlirOperation md = ir_strided_metadata(&b, mem);
    MlirValue unit = ir_cmpi(&b, 0, mlirOperationGetResult(md, 2 + 2 * rank - 1), ir_const_int(&b, index, 1));
    int64_t shape[MAX_RANK];
    for (int d = 0; d < rank; d++)
        shape[d] = mlirShapedTypeGetDimSize(part_t, d);
    MlirAttribute layout = ir_unit_stride_layout(ctx, rank);
    MlirType view_t = mlirMemRefTypeGet(el, rank, shape, layout, mlirAttributeGetNull());
    MlirOperation ifop = ir_op(&b, "scf.if", 1, &part_t, 1, &unit, 0, NULL, 2);
    MlirBlock outer = b.block;
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirValue ops[1 + 2 * MAX_RANK];
    intptr_t nops = mlirOperationGetNumOperands(part);
    ops[0] = ir_op1(&b, "memref.cast", ir_unit_stride_memref(ctx, el, rank), 1, &mem);
    for (intptr_t i = 1; i < nops; i++)
        ops[i] = mlirOperationGetOperand(part, i);
    MlirAttribute seg = attr(part, "operandSegmentSizes");
    MlirNamedAttribute sattrs[4] = {
        ir_named(&b, "static_offsets", attr(part, "static_offsets")),
        ir_named(&b, "static_sizes", attr(part, "static_sizes")),
        ir_named(&b, "static_strides", attr(part, "static_strides")),
        ir_named(&b, "operandSegmentSizes",
                 mlirDenseI32ArrayGet(ctx, 4,
                                      (int32_t[]){1, mlirDenseI32ArrayGetElement(seg, 1),
                                                  mlirDenseI32ArrayGetElement(seg, 2), 0})),
    };
    MlirValue view =
        mlirOperationGetResult(ir_op(&b, "memref.subview", 1, &view_t, (int)nops, ops, 4, sattrs, 0), 0);
    MlirValue in_place = tensor_of(&b, view, part_t);
    ir_op(&b, "scf.yield", 0, NULL, 1, &in_place, 0, NULL, 0);
    b.block = ir_region_block(&b, ifop, 1, 0, NULL);
    int64_t tshape[MAX_RANK], dyn[MAX_RANK];
    MlirValue sizes[MAX_RANK];
    int nsizes = 0;
    for (int d = 0; d < rank; d++) {
        tshape[d] = mlirShapedTypeGetDimSize(tile_t, d);
        dyn[d] = shape[d];
        if (mlirShapedTypeIsDynamicSize(shape[d]))
            sizes[nsizes++] =
                ir_op1(&b, "tensor.dim", index, 2, (MlirValue[]){part_v, ir_const_int(&b, index, d)});
    }
    MlirType buf_t = mlirMemRefTypeContiguousGet(el, rank, tshape, mlirAttributeGetNull());
    MlirNamedAttribute ro = ir_named(&b, "read_only", mlirUnitAttrGet(ctx));
    MlirValue padded = mlirOperationGetResult(pad, 0);
    MlirOperation to_buf = ir_op(&b, "bufferization.to_buffer", 1, &buf_t, 1, &padded, 1, &ro, 0);
    MlirValue sub = ir_buffer_part(&b, mlirOperationGetResult(to_buf, 0), dyn, nsizes, sizes);
    MlirValue copy = tensor_of(&b, ir_op1(&b, "memref.cast", view_t, 1, &sub), part_t);
    ir_op(&b, "scf.yield", 0, NULL, 1, &copy, 0, NULL, 0);
    b.block = outer;
    MlirValue src = mlirOperationGetResult(ifop, 0);
    MlirValue padv = pad_value(pad);
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, pad);
    mlirOperationMoveBefore(pad, to_buf);

    // Each read: a masked read of the part at the slice's offsets, reshaped to the old vector.
    for (int i = 0; i < t->nreads; i++) {
        Read *r = &t->reads[i];
        b.block = scratch;
        b.loc = mlirOperationGetLocation(r->read);
        MlirAttribute soffs = attr(r->slice, "static_offsets"), ssizes = attr(r->slice, "static_sizes");
        MlirValue rops[2 + MAX_RANK];
        int64_t vshape[MAX_RANK];
        rops[0] = src;
        for (int g = 0; g < rank; g++) {
            int d = r->dim[g];
            vshape[g] = d < 0 ? 1 : mlirDenseI64ArrayGetElement(ssizes, d);
            if (d < 0) {
                rops[1 + g] = ir_const_int(&b, index, 0);
                continue;
            }
            int64_t off = mlirDenseI64ArrayGetElement(soffs, d);
            if (!mlirShapedTypeIsDynamicStrideOrOffset(off)) {
                rops[1 + g] = ir_const_int(&b, index, off);
                continue;
            }
            int k = 0;  // the dynamic offset operand of dimension d
            for (int e = 0; e < d; e++)
                k += mlirShapedTypeIsDynamicStrideOrOffset(mlirDenseI64ArrayGetElement(soffs, e));
            rops[1 + g] = mlirOperationGetOperand(r->slice, 1 + k);
        }
        rops[1 + rank] = padv;
        MlirType vt = mlirVectorTypeGet(rank, vshape, el);
        // A vector wholly inside the part (every vector of the row but its last) is a plain
        // load; the others masked (an always-masked load cost vector_add 10 %).
        // A vector with no lane inside (past the row's end, or a row of none: rmsnorm's B when
        // CB = 0, a null pointer) loads nothing: a masked load whose lanes are all off still
        // costs a microcode assist on an unmapped page (rmsnorm 1.5 -> 30 GB/s).
        MlirType i1 = mlirIntegerTypeGet(ctx, 1);
        MlirValue whole = ir_const_int(&b, i1, 1), some = whole, last_left = whole;
        for (int g = 0; g < rank; g++) {
            MlirValue dim =
                ir_op1(&b, "tensor.dim", index, 2, (MlirValue[]){src, ir_const_int(&b, index, g)});
            MlirValue left = ir_binop(&b, "arith.subi", dim, rops[1 + g]);
            last_left = left;
            whole = ir_binop(&b, "arith.andi", whole,
                             ir_cmpi(&b, 5 /* sge */, left, ir_const_int(&b, index, vshape[g])));
            some =
                ir_binop(&b, "arith.andi", some, ir_cmpi(&b, 4 /* sgt */, left, ir_const_int(&b, index, 0)));
        }
        MlirBlock cases[3], body = b.block;
        MlirOperation choice = ir_if_else_if(&b, vt, whole, some, cases);
        int64_t sub = vector_bits / ir_elem_bits(el);
        MlirValue cv[3];
        b.block = cases[0];
        cv[0] = read_at(&b, vt, rops, rank, true);
        b.block = cases[1];
        cv[1] = sub >= 1 && vshape[rank - 1] > sub && vshape[rank - 1] % sub == 0
                    ? partial_read(&b, vt, rops, rank, sub, last_left)
                    : read_at(&b, vt, rops, rank, false);
        b.block = cases[2];
        cv[2] = ir_op1(&b, "vector.broadcast", vt, 1, &padv);
        for (int c = 0; c < 3; c++) {
            b.block = cases[c];
            ir_op(&b, "scf.yield", 0, NULL, 1, &cv[c], 0, NULL, 0);
        }
        b.block = body;
        MlirValue v = mlirOperationGetResult(choice, 0);
        MlirType old_t = mlirValueGetType(mlirOperationGetResult(r->read, 0));
        if (!mlirTypeEqual(vt, old_t))
            v = ir_op1(&b, "vector.shape_cast", old_t, 1, &v);
        while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
            mlirOperationMoveBefore(o, r->read);
        mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(r->read, 0), v);
        mlirOperationDestroy(r->read);
    }
    mlirBlockDestroy(scratch);
    // The slices and reshapes no longer read (several reads may share a slice).
    for (int i = 0; i < t->nreads; i++) {
        MlirOperation s = t->reads[i].slice;
        if (mlirOperationIsNull(s))
            continue;
        for (int j = i + 1; j < t->nreads; j++)
            if (mlirOperationEqual(t->reads[j].slice, s))
                t->reads[j].slice = (MlirOperation){NULL};
        mlirOperationDestroy(s);
    }
    for (int i = t->nexpands - 1; i >= 0; i--)
        mlirOperationDestroy(t->expands[i]);
}

void x86_masked_row_reads(MlirContext ctx, MlirModule module, int vector_bits) {
    RowTiles ts = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_row_tile, &ts, MlirWalkPreOrder);
    for (int i = 0; i < ts.len; i++) {
        rewrite(ctx, ts.items[i], vector_bits);
        free(ts.items[i]);
    }
    free(ts.items);
}
