// lowering/emit.h — private to the emitter (emit*.c), which builds the checked AST of one kernel
// configuration as tile-level MLIR through the MLIR C API (docs/lowering.md):
//   emit.c         the emitter's state, elementwise helpers, operators, expressions, statements
//   emit_calls.c   builtin calls: dot, reductions, reshapes, math, inlined helpers
//   emit_memory.c  tensor accesses: slices, loads and stores, gathers, scatters and atomics
//   emit_entry.c   the C entry and ABI: NAME__program, NAME__task, the entry NAME or the GPU
//                  launcher NAME_launch, and lower_build_module / lower_build_variant
//   emit_fit.c     SYM__fit: a version's answer to its dispatcher (lower_build_fit)
// The public interface is lower.h's emit.c section.
#ifndef TILEC_LOWERING_EMIT_H
#define TILEC_LOWERING_EMIT_H

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/IR.h"

#include "../lang/diag.h"
#include "build.h"
#include "lower.h"

// ================================================================ state

// A symbol's current value.
typedef struct Binding {
    const Symbol *sym;
    MlirValue value;
} Binding;

// One kernel being emitted: the insertion point and the symbols' values.
typedef struct Emitter {
    IRBuilder ir;  // where ops are appended, at the location of the construct being lowered
    Binding *env;  // symbol → current value (a stack; the innermost binding wins)
    int nenv, capenv;
    MlirValue pid[3], np[3];
    const Node *kernel;
    const char *sym;  // the kernel's entry symbol: its name, or NAME__vI in a tuned object
    bool gpu;         // NVIDIA target: tensors reach NAME__program as pointers, the entry launches
    bool failed;
    const SemaDefine *fixed;  // --fix: sizes and integer scalars bound to constants (lower_build_fixed)
    int nfixed;
} Emitter;

// ================================================================ ops and types (every file)

static inline MlirStringRef str(const char *s) { return ir_str(s); }

static inline MlirNamedAttribute named(Emitter *e, const char *name, MlirAttribute a) {
    return ir_named(&e->ir, name, a);
}

static inline MlirOperation op(Emitter *e, const char *name, int nres, const MlirType *res, int nops,
                               const MlirValue *ops, int nattrs, const MlirNamedAttribute *attrs,
                               int nregions) {
    return ir_op(&e->ir, name, nres, res, nops, ops, nattrs, attrs, nregions);
}

static inline MlirValue op1(Emitter *e, const char *name, MlirType res, int nops, const MlirValue *ops) {
    return ir_op1(&e->ir, name, res, nops, ops);
}

static inline MlirBlock region_block(Emitter *e, MlirOperation o, int r, int n, const MlirType *types) {
    return ir_region_block(&e->ir, o, r, n, types);
}

static inline MlirType elem_type(Emitter *e, ElemType t) {
    switch (t) {
    case EL_I1: return mlirIntegerTypeGet(e->ir.ctx, 1);
    case EL_I8:
    case EL_U8: return mlirIntegerTypeGet(e->ir.ctx, 8);
    case EL_I16:
    case EL_U16: return mlirIntegerTypeGet(e->ir.ctx, 16);
    case EL_I32:
    case EL_U32: return mlirIntegerTypeGet(e->ir.ctx, 32);
    case EL_U64:
    case EL_I64:
    case EL_INT: return mlirIntegerTypeGet(e->ir.ctx, 64);
    case EL_F16: return mlirF16TypeGet(e->ir.ctx);
    case EL_BF16: return mlirBF16TypeGet(e->ir.ctx);
    case EL_F32: return mlirF32TypeGet(e->ir.ctx);
    case EL_F64:
    case EL_FLOAT: return mlirF64TypeGet(e->ir.ctx);
    case EL_NONE: break;
    }
    unreachable();
}

static inline MlirType value_type(Emitter *e, const Type *t) {
    MlirType el = elem_type(e, t->elem);
    if (t->rank == 0)
        return el;
    return mlirRankedTensorTypeGet(t->rank, t->dims, el, mlirAttributeGetNull());
}

static inline MlirType tensor_of(Emitter *e, ElemType el, int rank, const int64_t *dims) {
    return mlirRankedTensorTypeGet(rank, dims, elem_type(e, el), mlirAttributeGetNull());
}

static inline MlirType i64t(Emitter *e) { return mlirIntegerTypeGet(e->ir.ctx, 64); }
static inline MlirType indext(Emitter *e) { return mlirIndexTypeGet(e->ir.ctx); }

static inline MlirValue const_int(Emitter *e, MlirType t, int64_t v) { return ir_const_int(&e->ir, t, v); }

static inline MlirValue const_float(Emitter *e, MlirType t, double v) { return ir_const_float(&e->ir, t, v); }

// A scalar constant of element type el.
static inline MlirValue const_scalar(Emitter *e, ElemType el, const ConstVal *v) {
    MlirType t = elem_type(e, el);
    if (elem_is_float(el))
        return const_float(e, t, v->is_float ? v->f : (double)v->i);
    return const_int(e, t, v->is_float ? (int64_t)v->f : v->i);
}

static inline MlirAttribute i64_array(Emitter *e, int n, const int64_t *v) {
    return mlirDenseI64ArrayGet(e->ir.ctx, n, v);
}

static inline MlirAttribute segments(Emitter *e, int n, const int32_t *v) {
    return mlirDenseI32ArrayGet(e->ir.ctx, n, v);
}

static inline MlirValue binop(Emitter *e, const char *name, MlirValue a, MlirValue b) {
    return ir_binop(&e->ir, name, a, b);
}

static inline MlirValue to_index(Emitter *e, MlirValue v) {
    return op1(e, "arith.index_cast", indext(e), 1, &v);
}

// ================================================================ emit.c

// A construct the lowering does not handle yet: a user-visible error, not a crash.
MlirValue emit_unsupported(Emitter *e, const Node *n, const char *what);
void emit_bind(Emitter *e, const Symbol *sym, MlirValue v);
bool emit_lookup(Emitter *e, const Symbol *sym, MlirValue *out);

// Converts a scalar or tile value from element type `from` to `to` (same shape).
MlirValue emit_convert(Emitter *e, MlirValue v, ElemType from, ElemType to, const Type *shape);
MlirAttribute emit_parallel_iterators(Emitter *e, int rank);
MlirValue emit_empty_tensor(Emitter *e, const Type *t);
// Gives a linalg op with one input and one output the body that yields the input element (a
// copy that moves elements: broadcasting generic, transpose); returns its result.
MlirValue emit_copy_body(Emitter *e, MlirOperation o, ElemType elem);
// Broadcasts a scalar or tile of type `from` to the tile type `to` (same element type).
MlirValue emit_broadcast_to(Emitter *e, MlirValue v, const Type *from, const Type *to);
// Lowers n and converts it to element type `el` and broadcast shape `to`.
MlirValue emit_operand(Emitter *e, Node *n, ElemType el, const Type *to);

MlirValue emit_expr(Emitter *e, Node *n);
void emit_stmt(Emitter *e, Node *n);
void emit_block(Emitter *e, Node *block);

// ================================================================ emit_entry.c

// The memref of tensor `ts` over pointer p (an LLVM descriptor cast to the memref type), its
// sizes and strides from the bound symbols.
MlirValue emit_descriptor(Emitter *e, const Symbol *ts, MlirValue p);

// A func.func `name` in the module (private unless `public_`), its body the current block, with
// no bindings yet; returns the body.
MlirBlock emit_new_func(Emitter *e, MlirModule module, const char *name, int na, const MlirType *args,
                        int nres, const MlirType *res, bool public_);
// Binds a kernel's scalars, sizes and strides to values[0..], in ABI order; returns how many.
int emit_bind_scalars(Emitter *e, const KernelInfo *ki, const MlirValue *values);

// ================================================================ emit_list.c

// A list's element As[g] (its memref, over the address and sizes loaded from the list's arrays)
// or the size of one (i64, loaded from its size array): sym->list_load at the insertion point.
MlirValue emit_list_value(Emitter *e, const Symbol *sym);
// In the C entry: ORs into *bad whether an element of a list has a negative size, into
// *null_bad whether one with elements has a NULL address (a loop over each list's length;
// `ptrs` are the entry's tensor arguments). Lists whose arrays are NULL are not read.
void emit_list_checks(Emitter *e, const KernelInfo *ki, const MlirValue *ptrs, MlirValue *bad,
                      MlirValue *null_bad);

// ================================================================ emit_calls.c

// A builtin call or an inlined helper.
MlirValue emit_call(Emitter *e, Node *n);
// An inlined helper's body, then its n results (one value, or the values of its returned
// tuple) converted to `types` into out.
void emit_helper_values(Emitter *e, Node *call, int n, const Type *types, MlirValue *out);
// dot of [M, K] x [K, N] (linalg.matmul) or [B, M, K] x [B, K, N] (linalg.batch_matmul), in the
// result's (accumulation) type, into `acc` or zeros.
MlirValue emit_matmul(Emitter *e, Node *n, Node *a, Node *b, Node *acc);
// The same elements in row-major order with the shape `to`.
MlirValue emit_reshape_to(Emitter *e, MlirValue x, const Type *from, const Type *to);

// ================================================================ emit_random.c

// umulhi, philox, randint, rand, randn: arithmetic on u32 words (Philox4x32-10, Triton's
// conventions), so every back end gets the same bits.
MlirValue emit_random(Emitter *e, Node *n, Builtin b);

// ================================================================ emit_memory.c

// The size of dimension i of tensor t (i64): its constant, or the bound size symbol.
MlirValue emit_size_value(Emitter *e, const Symbol *t, int i);

// ================================================================ emit_fixed.c

// The value of integer scalar expression n with the sizes and scalars --fix gives as constants
// (e->fixed); false when it is not determined by them.
bool emit_fixed_value(const Emitter *e, const Node *n, int64_t *v);
// Whether a window of `size` elements from `start` (NULL: 0) along dimension `dim` of tensor t
// lies inside the tensor for every program and loop iteration, with the values --fix gives.
bool emit_fixed_inside(const Emitter *e, const Node *start, int64_t size, const Symbol *t, int dim);
// The reassociation of a collapse_shape/expand_shape between a rank-`n` shape and the shape
// with only the dimensions marked `kept`.
MlirAttribute emit_reassociation(Emitter *e, int n, const bool *kept);
// Whether X[items] has an index tile (a gather or scatter).
bool emit_has_index_tile(const Node *n);
// X[slices and scalar indices], padded where outside the tensor; the store writes only inside.
MlirValue emit_tensor_load(Emitter *e, Node *n);
void emit_tensor_store(Emitter *e, Node *target, Node *value);
// Element-wise accesses: X[items with index tiles] or load(..., mask, other); a store or an
// atomic (b: B_STORE, B_ATOMIC_ADD/MAX/MIN) of `value` to the selected elements.
MlirValue emit_gather(Emitter *e, Node *n, Node *mask, Node *other);
void emit_scatter(Emitter *e, Node *target, Node *value, Node *mask, Builtin b);
// atomic_cas(X[...], cmp, val, mask = m) / atomic_xchg(X[...], val, mask = m): the tile of the
// values the selected elements held before the swap (0 where none was selected).
MlirValue emit_atomic_swap(Emitter *e, Node *call, Builtin b);

#endif
