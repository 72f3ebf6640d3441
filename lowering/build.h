// lowering/build.h — building MLIR ops through the C API: one insertion point (a block and a
// location) and the few generic constructors that the emitter (emit*.c), the x86 back end's
// rewrites and the GPU back end (backends/nvidia/) use.
#ifndef TILEC_LOWERING_BUILD_H
#define TILEC_LOWERING_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "mlir-c/IR.h"

typedef struct IRBuilder {
    MlirContext ctx;
    MlirBlock block;   // where ops are appended
    MlirLocation loc;  // the location new ops get
} IRBuilder;

// A growing list of operations (what a walk collected for a rewrite after it); free `items`.
typedef struct IrOps {
    MlirOperation *items;
    int len, cap;
} IrOps;

MlirStringRef ir_str(const char *s);
MlirNamedAttribute ir_named(IRBuilder *b, const char *name, MlirAttribute a);
// Appends op `name` with the given results, operands, attributes and `nregions` empty regions
// (at most 3). A failure to create it is a compiler bug.
MlirOperation ir_op(IRBuilder *b, const char *name, int nres, const MlirType *res, int nops,
                    const MlirValue *ops, int nattrs, const MlirNamedAttribute *attrs, int nregions);
MlirValue ir_op1(IRBuilder *b, const char *name, MlirType res, int nops, const MlirValue *ops);
MlirValue ir_binop(IRBuilder *b, const char *name, MlirValue x, MlirValue y);  // result type of x
// A new block with arguments of the given types as the body of region `r` of `o`.
MlirBlock ir_region_block(IRBuilder *b, MlirOperation o, int r, int n, const MlirType *types);
MlirValue ir_const_int(IRBuilder *b, MlirType t, int64_t v);
MlirValue ir_const_float(IRBuilder *b, MlirType t, double v);
// arith.cmpi with an integer predicate (0 eq, 1 ne, ..., 7 ule), an i1 result.
MlirValue ir_cmpi(IRBuilder *b, int64_t predicate, MlirValue x, MlirValue y);
// scf.if (first) -> (t) { A } else { scf.if (second) -> (t) { B } else { C } }, appended to b's
// block: blocks[0], [1] and [2] are A, B and C, empty, for the caller to fill, each ending with
// an scf.yield of a `t`.
MlirOperation ir_if_else_if(IRBuilder *b, MlirType t, MlirValue first, MlirValue second, MlirBlock blocks[3]);
// vector.store of `v` into `mem` (rank at most 16) at indices idx[0..rank).
void ir_vector_store(IRBuilder *b, MlirValue v, MlirValue mem, int rank, const MlirValue *idx);
// memref.extract_strided_metadata of `mem` (rank r): results 0 base, 1 offset, 2.. sizes,
// 2 + r.. strides.
MlirOperation ir_strided_metadata(IRBuilder *b, MlirValue mem);
// The strided layout with a dynamic offset and strides, except the innermost stride, 1.
MlirAttribute ir_unit_stride_layout(MlirContext ctx, int rank);
// memref<?x...x?xELEM> of that layout (a view of a tensor whose rows are unit-stride).
MlirType ir_unit_stride_memref(MlirContext ctx, MlirType elem, int rank);
// `mem` (a strided memref whose innermost stride is 1 at run time) as that type: a
// memref.reinterpret_cast from its strided metadata (a memref.cast to it would be folded away
// by the ops that use it, losing the unit stride).
MlirValue ir_unit_stride_view(IRBuilder *b, MlirValue mem);

// memref.alloc of a static memref type, 64-byte aligned.
MlirValue ir_alloc(IRBuilder *b, MlirType memref);
// The part [0, ..., 0] of sizes `shape` (rank at most 16; its dynamic sizes given in order by
// sizes[0..nsizes)) of a contiguous buffer `buf`: a memref.subview with the buffer's strides.
MlirValue ir_buffer_part(IRBuilder *b, MlirValue buf, const int64_t *shape, int nsizes,
                         const MlirValue *sizes);

// The width in bits of a scalar type: index 64, integers and floats their width, else 0.
int64_t ir_elem_bits(MlirType t);
// Whether op `o` is named `name` ("scf.for").
bool ir_op_is(MlirOperation o, const char *name);
// Whether shaped type t may have the static shape of `shape` (same rank, each of t's dimensions
// dynamic or equal): a memref.cast from t to that shape is valid.
bool ir_may_have_shape(MlirType t, MlirType shape);
// Whether `v` is an arith.constant integer (or index) of value `c`.
bool ir_is_const_int(MlirValue v, int64_t c);
// Appends `op` to the list.
void ir_ops_push(IrOps *os, MlirOperation op);

// Print callbacks for the C API's printers: to a FILE * (user), or appended to an IRText
// (cut at its capacity, always NUL-terminated).
typedef struct IRText {
    char *text;
    size_t cap, len;
} IRText;
void ir_print_to_file(MlirStringRef s, void *file);
void ir_print_to_text(MlirStringRef s, void *text);

#endif
