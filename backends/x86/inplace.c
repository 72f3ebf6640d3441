// backends/x86/inplace.c — padded loads read in place when they need neither padding nor packing
// (see x86.h: x86_inplace_tiles).
//
// A padded load `X[i : i + S0, j : j + S1]` is, at the tile level,
//     %part = tensor.extract_slice %x[i, j] [v0, v1] [1, 1]     // the part inside the tensor
//     %tile = tensor.pad %part low[0, 0] high[S0 - v0, S1 - v1]  // a new S0 x S1 buffer
// whose buffer is a packed copy. The copy pays off when the tile's rows are far apart in memory
// (a matmul's 256 x 64 block of a 1024-wide matrix spans 1 MiB: packed, it is 64 KiB of
// contiguous rows, with no TLB misses and no cache-set conflicts), but a tile whose rows are
// close (conv2d's weights, attention's keys and values: 16-32 KiB apart in all) costs as much to
// copy as to use. Such a pad becomes
//     %tile = scf.if (no padding && unit innermost stride && span <= 32 KiB) {
//         a view of X at [i, j], S0 x S1, rows X's row stride apart
//     } else {
//         the pad, as before
//     }
// built on tensors, with both branches typed as memrefs of the same layout (strided, innermost
// stride 1) through bufferization.to_tensor / to_buffer, so that bufferization gives the tile
// that layout and vector loads still see unit-stride rows. 32 KiB: at most 8 rows of a tile
// share an L1 set even when the row stride is a multiple of 4 KiB, and the tile spans at most 8
// pages.
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "../../lowering/lower.h"
#include "x86.h"

enum { INPLACE_MAX_SPAN_BYTES = 32 * 1024 };

// Whether every static entry is 0 (dynamic ones are tested at run time).
static bool zero_or_dynamic(MlirAttribute a) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++) {
        int64_t v = mlirDenseI64ArrayGetElement(a, i);
        if (v != 0 && !mlirShapedTypeIsDynamicSize(v))
            return false;
    }
    return true;
}

static bool all_one(MlirAttribute a) {
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(a); i++)
        if (mlirDenseI64ArrayGetElement(a, i) != 1)
            return false;
    return true;
}

static MlirOperation owner(MlirValue v, const char *name) {
    if (!mlirValueIsAOpResult(v) || !ir_op_is(mlirOpResultGetOwner(v), name))
        return (MlirOperation){NULL};
    return mlirOpResultGetOwner(v);
}

static MlirAttribute attr(MlirOperation op, const char *name) {
    return mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
}

static int64_t elem_bytes(MlirType el) { return (ir_elem_bits(el) + 7) / 8; }

// Whether the pad is the left operand of a dot one vector wide (backends/x86/schedule.c:
// tilec.narrow).
static bool narrow_lhs(MlirOperation op) {
    return !mlirAttributeIsNull(mlirOperationGetDiscardableAttributeByName(op, ir_str("tilec.narrow")));
}

// Whether the pad is tagged as a dot's left operand (backends/x86/schedule.c: tilec.lhs<i>, or
// tilec.lhsview behind a rank-reducing slice: both start with "tilec.lhs").
static bool lhs_of_dot(MlirOperation op) {
    for (intptr_t i = 0; i < mlirOperationGetNumDiscardableAttributes(op); i++) {
        MlirStringRef a = mlirIdentifierStr(mlirOperationGetDiscardableAttribute(op, i).name);
        if (a.length > 9 && !strncmp(a.data, "tilec.lhs", 9))
            return true;
    }
    return false;
}

// A pad of a slice of a kernel argument: static result shape, padding amounts that are 0 where
// static, unit strides, a slice of the same rank as its tensor, and a number or float element
// of at least a byte.
static MlirWalkResult find_pad(MlirOperation op, void *user) {
    if (!ir_op_is(op, "tensor.pad"))
        return MlirWalkResultAdvance;
    MlirType t = mlirValueGetType(mlirOperationGetResult(op, 0));
    MlirType el = mlirShapedTypeGetElementType(t);
    if (!mlirShapedTypeHasStaticShape(t) || !zero_or_dynamic(attr(op, "static_low")) ||
        !zero_or_dynamic(attr(op, "static_high")) ||
        !(mlirTypeIsAFloat(el) || (mlirTypeIsAInteger(el) && mlirIntegerTypeGetWidth(el) >= 8)))
        return MlirWalkResultAdvance;
    // A tile larger than the span allowed can never be read in place. The left operand of a dot
    // is copied (its register tile broadcasts elements of several rows: with rows a run-time
    // stride apart, each needs an address register of its own; matmul loses a third), unless
    // the dot is one vector wide and the part is already packed (conv2d with 16 or fewer
    // outputs: read in place with the copy's static strides, 8 % faster; a wider dot read that
    // way ran out of registers, 1.8x slower).
    int64_t elems = 1;
    for (intptr_t d = 0; d < mlirShapedTypeGetRank(t); d++)
        elems *= mlirShapedTypeGetDimSize(t, d);
    if (elems * elem_bytes(el) > INPLACE_MAX_SPAN_BYTES || (lhs_of_dot(op) && !narrow_lhs(op)))
        return MlirWalkResultAdvance;
    MlirOperation slice = owner(mlirOperationGetOperand(op, 0), "tensor.extract_slice");
    if (mlirOperationIsNull(slice) || !all_one(attr(slice, "static_strides")) ||
        mlirOperationIsNull(owner(mlirOperationGetOperand(slice, 0), "bufferization.to_tensor")) ||
        mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetOperand(slice, 0))) !=
            mlirShapedTypeGetRank(t))
        return MlirWalkResultAdvance;
    ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

static MlirValue to_tensor(IRBuilder *b, MlirValue mem, MlirType tensor) {
    MlirNamedAttribute restrict_ = ir_named(b, "restrict", mlirUnitAttrGet(b->ctx));
    return mlirOperationGetResult(ir_op(b, "bufferization.to_tensor", 1, &tensor, 1, &mem, 1, &restrict_, 0),
                                  0);
}

static void rewrite(MlirContext ctx, MlirOperation pad) {
    MlirOperation slice = mlirOpResultGetOwner(mlirOperationGetOperand(pad, 0));
    MlirValue mem =
        mlirOperationGetOperand(owner(mlirOperationGetOperand(slice, 0), "bufferization.to_tensor"), 0);
    MlirType tile = mlirValueGetType(mlirOperationGetResult(pad, 0));
    MlirType el = mlirShapedTypeGetElementType(tile);
    int rank = (int)mlirShapedTypeGetRank(tile);
    int64_t shape[8];
    if (rank > 8 || rank < 1)
        return;
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(pad)};

    // The condition: no padding (every dynamic low and high amount is 0; find_pad took only pads
    // whose static ones are), a unit innermost stride, and a span of at most
    // INPLACE_MAX_SPAN_BYTES, or, for a dot's left operand, the packed tile's strides (rows that
    // follow each other).
    bool packed = lhs_of_dot(pad);
    MlirValue cond = ir_const_int(&b, i1, 1), zero = ir_const_int(&b, index, 0);
    for (intptr_t i = 1; i < mlirOperationGetNumOperands(pad); i++)  // the dynamic lows and highs
        cond = ir_binop(&b, "arith.andi", cond, ir_cmpi(&b, 0, mlirOperationGetOperand(pad, i), zero));
    MlirOperation md = ir_strided_metadata(&b, mem);
    int64_t elems = 1, packed_strides[8];
    for (int d = rank - 1; d >= 0; d--) {
        shape[d] = mlirShapedTypeGetDimSize(tile, d);
        packed_strides[d] = elems;
        elems *= shape[d];
    }
    if (packed) {  // each stride the packed one (dimensions of extent 1 take any)
        for (int d = 0; d < rank; d++)
            if (shape[d] > 1)
                cond = ir_binop(&b, "arith.andi", cond,
                                ir_cmpi(&b, 0, mlirOperationGetResult(md, 2 + rank + d),
                                        ir_const_int(&b, index, packed_strides[d])));
    } else {
        MlirValue span = zero;
        for (int d = 0; d < rank; d++) {
            MlirValue stride = mlirOperationGetResult(md, 2 + rank + d);
            span = ir_binop(&b, "arith.addi", span,
                            ir_binop(&b, "arith.muli", stride, ir_const_int(&b, index, shape[d] - 1)));
        }
        MlirValue limit = ir_const_int(&b, index, INPLACE_MAX_SPAN_BYTES / elem_bytes(el));
        cond = ir_binop(&b, "arith.andi", cond, ir_cmpi(&b, 7 /* ule */, span, limit));
    }
    MlirValue inner = mlirOperationGetResult(md, 2 + 2 * rank - 1);
    cond = ir_binop(&b, "arith.andi", cond, ir_cmpi(&b, 0, inner, ir_const_int(&b, index, 1)));

    // The layout both branches give the tile: strided, innermost stride 1 (a packed left
    // operand: the copy's static strides, so that its broadcasts address rows as in the copy).
    MlirAttribute layout = ir_unit_stride_layout(ctx, rank);
    MlirType sub_t = mlirMemRefTypeGet(el, rank, shape, layout, mlirAttributeGetNull());
    MlirAttribute packed_layout =
        mlirStridedLayoutAttrGet(ctx, mlirShapedTypeGetDynamicStrideOrOffset(), rank, packed_strides);
    MlirType view_t =
        packed ? mlirMemRefTypeGet(el, rank, shape, packed_layout, mlirAttributeGetNull()) : sub_t;
    int64_t dshape[8];
    for (int d = 0; d < rank; d++)
        dshape[d] = mlirShapedTypeGetDynamicSize();
    MlirType mem_unit = mlirMemRefTypeGet(el, rank, dshape, layout, mlirAttributeGetNull());

    MlirOperation ifop = ir_op(&b, "scf.if", 1, &tile, 1, &cond, 0, NULL, 2);
    // Then: a view of the tensor at the slice's offsets.
    b.block = ir_region_block(&b, ifop, 0, 0, NULL);
    MlirValue cast = ir_op1(&b, "memref.cast", mem_unit, 1, &mem);
    MlirAttribute seg = attr(slice, "operandSegmentSizes");
    int noff = mlirDenseI32ArrayGetElement(seg, 1);
    MlirValue ops[1 + 8];
    ops[0] = cast;
    for (int i = 0; i < noff; i++)
        ops[1 + i] = mlirOperationGetOperand(slice, 1 + i);
    int64_t ones[8];
    for (int d = 0; d < rank; d++)
        ones[d] = 1;
    MlirNamedAttribute sattrs[4] = {
        ir_named(&b, "static_offsets", attr(slice, "static_offsets")),
        ir_named(&b, "static_sizes", mlirDenseI64ArrayGet(ctx, rank, shape)),
        ir_named(&b, "static_strides", mlirDenseI64ArrayGet(ctx, rank, ones)),
        ir_named(&b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, noff, 0, 0})),
    };
    MlirValue view =
        mlirOperationGetResult(ir_op(&b, "memref.subview", 1, &sub_t, 1 + noff, ops, 4, sattrs, 0), 0);
    if (packed)
        view = ir_op1(&b, "memref.cast", view_t, 1, &view);
    MlirValue in_place = to_tensor(&b, view, tile);
    ir_op(&b, "scf.yield", 0, NULL, 1, &in_place, 0, NULL, 0);
    // Else: the pad (moved here below), its buffer seen with the same layout.
    b.block = ir_region_block(&b, ifop, 1, 0, NULL);
    MlirValue padded = mlirOperationGetResult(pad, 0);
    MlirType buf_t = mlirMemRefTypeContiguousGet(el, rank, shape, mlirAttributeGetNull());
    MlirNamedAttribute ro = ir_named(&b, "read_only", mlirUnitAttrGet(ctx));
    MlirOperation to_buf = ir_op(&b, "bufferization.to_buffer", 1, &buf_t, 1, &padded, 1, &ro, 0);
    MlirValue buf = mlirOperationGetResult(to_buf, 0);
    MlirValue copy = to_tensor(&b, ir_op1(&b, "memref.cast", view_t, 1, &buf), tile);
    ir_op(&b, "scf.yield", 0, NULL, 1, &copy, 0, NULL, 0);

    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, pad);
    mlirBlockDestroy(scratch);
    mlirOperationMoveBefore(pad, to_buf);
    mlirValueReplaceAllUsesExcept(padded, mlirOperationGetResult(ifop, 0), 1, &to_buf);
}

void x86_inplace_tiles(MlirContext ctx, MlirModule module) {
    IrOps ps = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_pad, &ps, MlirWalkPreOrder);
    for (int i = 0; i < ps.len; i++)
        rewrite(ctx, ps.items[i]);
    free(ps.items);
}

// After bufferization: the copy buffer of a tile that may be read in place is allocated in the
// `else` of its scf.if; hoisted before the if (repeatedly, through nested ifs), it can leave
// the loops around it and become a stack buffer (buffer-loop-hoisting, promote-buffers-to-stack)
// instead of growing the stack on every iteration.
static MlirWalkResult find_if_alloc(MlirOperation op, void *user) {
    if (!ir_op_is(op, "memref.alloc") || mlirOperationGetNumOperands(op) != 0)
        return MlirWalkResultAdvance;
    MlirOperation parent = mlirBlockGetParentOperation(mlirOperationGetBlock(op));
    if (mlirOperationIsNull(parent) || !ir_op_is(parent, "scf.if"))
        return MlirWalkResultAdvance;
    ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

void x86_hoist_if_allocs(MlirModule module) {
    IrOps as = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_if_alloc, &as, MlirWalkPreOrder);
    for (int i = 0; i < as.len; i++) {
        MlirOperation parent;
        while (
            !mlirOperationIsNull(parent = mlirBlockGetParentOperation(mlirOperationGetBlock(as.items[i]))) &&
            ir_op_is(parent, "scf.if"))
            mlirOperationMoveBefore(as.items[i], parent);
    }
    free(as.items);
}

// After bufferization: a tile computed into the buffer it is then inserted into bufferizes to
// a copy of a buffer onto itself (once CSE has merged the two identical subviews); each would
// run as a real copy loop.
static MlirWalkResult find_self_copy(MlirOperation op, void *user) {
    if ((ir_op_is(op, "linalg.copy") || ir_op_is(op, "memref.copy")) &&
        mlirOperationGetNumOperands(op) == 2 && mlirOperationGetNumResults(op) == 0 &&
        mlirValueEqual(mlirOperationGetOperand(op, 0), mlirOperationGetOperand(op, 1)))
        ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

void x86_drop_self_copies(MlirContext ctx, MlirModule module) {
    lower_run_passes(ctx, module, "builtin.module(cse)", "self-copy");
    IrOps cs = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_self_copy, &cs, MlirWalkPreOrder);
    for (int i = 0; i < cs.len; i++)
        mlirOperationDestroy(cs.items[i]);
    free(cs.items);
}
