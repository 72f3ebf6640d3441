// lowering/build.c — generic op constructors over the MLIR C API (build.h).
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../lang/diag.h"

MlirStringRef ir_str(const char *s) { return mlirStringRefCreateFromCString(s); }

MlirNamedAttribute ir_named(IRBuilder *b, const char *name, MlirAttribute a) {
    return mlirNamedAttributeGet(mlirIdentifierGet(b->ctx, ir_str(name)), a);
}

MlirOperation ir_op(IRBuilder *b, const char *name, int nres, const MlirType *res, int nops,
                    const MlirValue *ops, int nattrs, const MlirNamedAttribute *attrs, int nregions) {
    MlirOperationState st = mlirOperationStateGet(ir_str(name), b->loc);
    if (nres)
        mlirOperationStateAddResults(&st, nres, res);
    if (nops)
        mlirOperationStateAddOperands(&st, nops, ops);
    if (nattrs)
        mlirOperationStateAddAttributes(&st, nattrs, attrs);
    MlirRegion regions[3];
    for (int i = 0; i < nregions; i++)
        regions[i] = mlirRegionCreate();
    if (nregions)
        mlirOperationStateAddOwnedRegions(&st, nregions, regions);
    MlirOperation o = mlirOperationCreate(&st);
    if (mlirOperationIsNull(o))
        internal_error(__FILE__, __LINE__, "cannot create operation %s", name);
    mlirBlockAppendOwnedOperation(b->block, o);
    return o;
}

MlirValue ir_op1(IRBuilder *b, const char *name, MlirType res, int nops, const MlirValue *ops) {
    return mlirOperationGetResult(ir_op(b, name, 1, &res, nops, ops, 0, NULL, 0), 0);
}

MlirValue ir_binop(IRBuilder *b, const char *name, MlirValue x, MlirValue y) {
    MlirValue ops[2] = {x, y};
    return ir_op1(b, name, mlirValueGetType(x), 2, ops);
}

MlirBlock ir_region_block(IRBuilder *b, MlirOperation o, int r, int n, const MlirType *types) {
    MlirLocation *locs = malloc(sizeof(MlirLocation) * (size_t)(n ? n : 1));
    if (!locs)
        internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < n; i++)
        locs[i] = b->loc;
    MlirBlock blk = mlirBlockCreate(n, types, locs);
    free(locs);
    mlirRegionAppendOwnedBlock(mlirOperationGetRegion(o, r), blk);
    return blk;
}

MlirValue ir_const_int(IRBuilder *b, MlirType t, int64_t v) {
    MlirNamedAttribute a = ir_named(b, "value", mlirIntegerAttrGet(t, v));
    return mlirOperationGetResult(ir_op(b, "arith.constant", 1, &t, 0, NULL, 1, &a, 0), 0);
}

MlirValue ir_const_float(IRBuilder *b, MlirType t, double v) {
    MlirNamedAttribute a = ir_named(b, "value", mlirFloatAttrDoubleGet(b->ctx, t, v));
    return mlirOperationGetResult(ir_op(b, "arith.constant", 1, &t, 0, NULL, 1, &a, 0), 0);
}

MlirValue ir_alloc(IRBuilder *b, MlirType memref) {
    MlirNamedAttribute attrs[2] = {
        ir_named(b, "alignment", mlirIntegerAttrGet(mlirIntegerTypeGet(b->ctx, 64), 64)),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(b->ctx, 2, (int32_t[]){0, 0})),
    };
    return mlirOperationGetResult(ir_op(b, "memref.alloc", 1, &memref, 0, NULL, 2, attrs, 0), 0);
}

MlirValue ir_buffer_part(IRBuilder *b, MlirValue buf, const int64_t *shape, int nsizes,
                         const MlirValue *sizes) {
    MlirType bt = mlirValueGetType(buf);
    int rank = (int)mlirShapedTypeGetRank(bt);
    if (rank > 16 || nsizes > rank)
        internal_error(__FILE__, __LINE__, "a buffer part of rank %d", rank);
    int64_t strides[16], zeros[16], ones[16], acc = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = acc;
        acc *= mlirShapedTypeGetDimSize(bt, d);
        zeros[d] = 0;
        ones[d] = 1;
    }
    MlirType t =
        mlirMemRefTypeGet(mlirShapedTypeGetElementType(bt), rank, shape,
                          mlirStridedLayoutAttrGet(b->ctx, 0, rank, strides), mlirAttributeGetNull());
    MlirValue ops[17];
    ops[0] = buf;
    for (int i = 0; i < nsizes; i++)
        ops[1 + i] = sizes[i];
    MlirNamedAttribute attrs[4] = {
        ir_named(b, "static_offsets", mlirDenseI64ArrayGet(b->ctx, rank, zeros)),
        ir_named(b, "static_sizes", mlirDenseI64ArrayGet(b->ctx, rank, shape)),
        ir_named(b, "static_strides", mlirDenseI64ArrayGet(b->ctx, rank, ones)),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(b->ctx, 4, (int32_t[]){1, 0, nsizes, 0})),
    };
    return mlirOperationGetResult(ir_op(b, "memref.subview", 1, &t, 1 + nsizes, ops, 4, attrs, 0), 0);
}

MlirValue ir_cmpi(IRBuilder *b, int64_t predicate, MlirValue x, MlirValue y) {
    MlirType i1 = mlirIntegerTypeGet(b->ctx, 1);
    MlirNamedAttribute p =
        ir_named(b, "predicate", mlirIntegerAttrGet(mlirIntegerTypeGet(b->ctx, 64), predicate));
    return mlirOperationGetResult(ir_op(b, "arith.cmpi", 1, &i1, 2, (MlirValue[]){x, y}, 1, &p, 0), 0);
}

MlirOperation ir_if_else_if(IRBuilder *b, MlirType t, MlirValue first, MlirValue second,
                            MlirBlock blocks[3]) {
    MlirOperation outer = ir_op(b, "scf.if", 1, &t, 1, &first, 0, NULL, 2);
    MlirBlock here = b->block;
    blocks[0] = ir_region_block(b, outer, 0, 0, NULL);
    b->block = ir_region_block(b, outer, 1, 0, NULL);
    MlirOperation inner = ir_op(b, "scf.if", 1, &t, 1, &second, 0, NULL, 2);
    MlirValue r = mlirOperationGetResult(inner, 0);
    ir_op(b, "scf.yield", 0, NULL, 1, &r, 0, NULL, 0);
    blocks[1] = ir_region_block(b, inner, 0, 0, NULL);
    blocks[2] = ir_region_block(b, inner, 1, 0, NULL);
    b->block = here;
    return outer;
}

void ir_vector_store(IRBuilder *b, MlirValue v, MlirValue mem, int rank, const MlirValue *idx) {
    MlirValue ops[2 + 16] = {v, mem};
    for (int d = 0; d < rank && d < 16; d++)
        ops[2 + d] = idx[d];
    ir_op(b, "vector.store", 0, NULL, 2 + rank, ops, 0, NULL, 0);
}

MlirOperation ir_strided_metadata(IRBuilder *b, MlirValue mem) {
    MlirType mt = mlirValueGetType(mem);
    int rank = (int)mlirShapedTypeGetRank(mt);
    MlirType types[2 + 2 * 16];
    if (rank > 16)
        internal_error(__FILE__, __LINE__, "strided metadata of a rank-%d memref", rank);
    types[0] = mlirMemRefTypeContiguousGet(mlirShapedTypeGetElementType(mt), 0, NULL, mlirAttributeGetNull());
    for (int i = 1; i < 2 + 2 * rank; i++)
        types[i] = mlirIndexTypeGet(b->ctx);
    return ir_op(b, "memref.extract_strided_metadata", 2 + 2 * rank, types, 1, &mem, 0, NULL, 0);
}

MlirAttribute ir_unit_stride_layout(MlirContext ctx, int rank) {
    int64_t strides[16], dyn = mlirShapedTypeGetDynamicStrideOrOffset();
    if (rank > 16)
        internal_error(__FILE__, __LINE__, "strided layout of rank %d", rank);
    for (int d = 0; d < rank; d++)
        strides[d] = d == rank - 1 ? 1 : dyn;
    return mlirStridedLayoutAttrGet(ctx, dyn, rank, strides);
}

MlirType ir_unit_stride_memref(MlirContext ctx, MlirType elem, int rank) {
    int64_t shape[16];
    for (int d = 0; d < rank && d < 16; d++)
        shape[d] = mlirShapedTypeGetDynamicSize();
    return mlirMemRefTypeGet(elem, rank, shape, ir_unit_stride_layout(ctx, rank), mlirAttributeGetNull());
}

int64_t ir_elem_bits(MlirType t) {
    return mlirTypeIsAIndex(t)     ? 64
           : mlirTypeIsAInteger(t) ? mlirIntegerTypeGetWidth(t)
           : mlirTypeIsAFloat(t)   ? mlirFloatTypeGetWidth(t)
                                   : 0;
}

bool ir_op_is(MlirOperation o, const char *name) {
    return mlirStringRefEqual(mlirIdentifierStr(mlirOperationGetName(o)), ir_str(name));
}

bool ir_is_const_int(MlirValue v, int64_t c) {
    if (!mlirValueIsAOpResult(v) || !ir_op_is(mlirOpResultGetOwner(v), "arith.constant"))
        return false;
    MlirAttribute a = mlirOperationGetAttributeByName(mlirOpResultGetOwner(v), ir_str("value"));
    return mlirAttributeIsAInteger(a) && mlirIntegerAttrGetValueInt(a) == c;
}

void ir_ops_push(IrOps *os, MlirOperation op) {
    if (os->len == os->cap) {
        os->cap = os->cap ? 2 * os->cap : 16;
        os->items = realloc(os->items, sizeof(MlirOperation) * (size_t)os->cap);
    }
    os->items[os->len++] = op;
}

void ir_print_to_file(MlirStringRef s, void *file) { fwrite(s.data, 1, s.length, file); }

void ir_print_to_text(MlirStringRef s, void *text) {
    IRText *t = text;
    size_t room = t->cap - 1 - t->len;
    size_t n = s.length < room ? s.length : room;
    memcpy(t->text + t->len, s.data, n);
    t->len += n;
    t->text[t->len] = '\0';
}

MlirValue ir_unit_stride_view(IRBuilder *b, MlirValue mem) {
    MlirContext ctx = b->ctx;
    MlirType mt = mlirValueGetType(mem);
    int rank = (int)mlirShapedTypeGetRank(mt);
    MlirOperation md = ir_strided_metadata(b, mem);
    MlirValue ops[2 + 2 * 16];
    int64_t sizes[16], strides[16], offset = mlirShapedTypeGetDynamicStrideOrOffset();
    int n = 0;
    ops[n++] = mlirOperationGetResult(md, 0);
    ops[n++] = mlirOperationGetResult(md, 1);
    for (int d = 0; d < rank; d++) {
        ops[n++] = mlirOperationGetResult(md, 2 + d);
        sizes[d] = mlirShapedTypeGetDynamicSize();
    }
    for (int d = 0; d < rank; d++) {
        strides[d] = d == rank - 1 ? 1 : mlirShapedTypeGetDynamicStrideOrOffset();
        if (d < rank - 1)
            ops[n++] = mlirOperationGetResult(md, 2 + rank + d);
    }
    MlirNamedAttribute attrs[4] = {
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, 1, rank, rank - 1})),
        ir_named(b, "static_offsets", mlirDenseI64ArrayGet(ctx, 1, &offset)),
        ir_named(b, "static_sizes", mlirDenseI64ArrayGet(ctx, rank, sizes)),
        ir_named(b, "static_strides", mlirDenseI64ArrayGet(ctx, rank, strides)),
    };
    MlirType unit_t = ir_unit_stride_memref(ctx, mlirShapedTypeGetElementType(mt), rank);
    return mlirOperationGetResult(ir_op(b, "memref.reinterpret_cast", 1, &unit_t, n, ops, 4, attrs, 0), 0);
}

bool ir_may_have_shape(MlirType t, MlirType shape) {
    intptr_t rank = mlirShapedTypeGetRank(t);
    if (rank != mlirShapedTypeGetRank(shape))
        return false;
    for (intptr_t d = 0; d < rank; d++)
        if (!mlirShapedTypeIsDynamicDim(t, d) &&
            mlirShapedTypeGetDimSize(t, d) != mlirShapedTypeGetDimSize(shape, d))
            return false;
    return true;
}
