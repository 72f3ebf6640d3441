// lowering/emit.c — the checked AST of one kernel configuration as tile-level MLIR, built op by
// op through the MLIR C API (docs/lowering-plan.md).
#include <math.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/Dialect/LLVM.h"
#include "mlir-c/Dialect/Linalg.h"
#include "mlir-c/IR.h"
#include "mlir-c/RegisterEverything.h"

#include "../lang/diag.h"
#include "build.h"
#include "lower.h"

// ================================================================ state

typedef struct Binding {
    const Symbol *sym;
    MlirValue value;
} Binding;

typedef struct Emitter {
    IRBuilder ir;  // where ops are appended, at the location of the construct being lowered
    Binding *env;  // symbol → current value (a stack; the innermost binding wins)
    int nenv, capenv;
    MlirValue pid[3], np[3];
    const Node *kernel;
    const char *sym;  // the kernel's entry symbol: its name, or NAME__vI in a tuned object
    bool gpu;         // NVIDIA target: tensors reach NAME__program as pointers, the entry launches
    bool failed;
} Emitter;

static MlirValue emit_expr(Emitter *e, Node *n);
static void emit_block(Emitter *e, Node *block);
static void emit_stmt(Emitter *e, Node *n);

static MlirStringRef str(const char *s) { return ir_str(s); }

// A construct the lowering does not handle yet: a user-visible error, not a crash.
static MlirValue unsupported(Emitter *e, const Node *n, const char *what) {
    if (!e->failed)
        error_at(n->span, "lowering of %s is not implemented yet", what);
    e->failed = true;
    return (MlirValue){NULL};
}

static void bind(Emitter *e, const Symbol *sym, MlirValue v) {
    if (e->nenv == e->capenv) {
        int cap = e->capenv ? 2 * e->capenv : 64;
        Binding *nb = ast_alloc(sizeof(Binding) * (size_t)cap);
        if (e->nenv)
            memcpy(nb, e->env, sizeof(Binding) * (size_t)e->nenv);
        e->env = nb;
        e->capenv = cap;
    }
    e->env[e->nenv++] = (Binding){sym, v};
}

static bool lookup(Emitter *e, const Symbol *sym, MlirValue *out) {
    for (int i = e->nenv - 1; i >= 0; i--)
        if (e->env[i].sym == sym) {
            *out = e->env[i].value;
            return true;
        }
    return false;
}

// ================================================================ ops and types

static MlirNamedAttribute named(Emitter *e, const char *name, MlirAttribute a) {
    return ir_named(&e->ir, name, a);
}

static MlirOperation op(Emitter *e, const char *name, int nres, const MlirType *res, int nops,
                        const MlirValue *ops, int nattrs, const MlirNamedAttribute *attrs, int nregions) {
    return ir_op(&e->ir, name, nres, res, nops, ops, nattrs, attrs, nregions);
}

static MlirValue op1(Emitter *e, const char *name, MlirType res, int nops, const MlirValue *ops) {
    return ir_op1(&e->ir, name, res, nops, ops);
}

static MlirBlock region_block(Emitter *e, MlirOperation o, int r, int n, const MlirType *types) {
    return ir_region_block(&e->ir, o, r, n, types);
}

static MlirType elem_type(Emitter *e, ElemType t) {
    switch (t) {
    case EL_I1: return mlirIntegerTypeGet(e->ir.ctx, 1);
    case EL_I8: return mlirIntegerTypeGet(e->ir.ctx, 8);
    case EL_I16: return mlirIntegerTypeGet(e->ir.ctx, 16);
    case EL_I32: return mlirIntegerTypeGet(e->ir.ctx, 32);
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

static MlirType value_type(Emitter *e, const Type *t) {
    MlirType el = elem_type(e, t->elem);
    if (t->rank == 0)
        return el;
    return mlirRankedTensorTypeGet(t->rank, t->dims, el, mlirAttributeGetNull());
}

static MlirType tensor_of(Emitter *e, ElemType el, int rank, const int64_t *dims) {
    return mlirRankedTensorTypeGet(rank, dims, elem_type(e, el), mlirAttributeGetNull());
}

static MlirType memref_type(Emitter *e, const Symbol *t) {
    int64_t shape[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int i = 0; i < t->type.rank; i++) {
        shape[i] = mlirShapedTypeGetDynamicSize();
        strides[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    }
    MlirAttribute layout =
        mlirStridedLayoutAttrGet(e->ir.ctx, mlirShapedTypeGetDynamicStrideOrOffset(), t->type.rank, strides);
    return mlirMemRefTypeGet(elem_type(e, t->type.elem), t->type.rank, shape, layout, mlirAttributeGetNull());
}

static MlirType i64t(Emitter *e) { return mlirIntegerTypeGet(e->ir.ctx, 64); }
static MlirType indext(Emitter *e) { return mlirIndexTypeGet(e->ir.ctx); }

static MlirValue const_int(Emitter *e, MlirType t, int64_t v) { return ir_const_int(&e->ir, t, v); }

static MlirValue const_float(Emitter *e, MlirType t, double v) { return ir_const_float(&e->ir, t, v); }

// A scalar constant of element type el.
static MlirValue const_scalar(Emitter *e, ElemType el, const ConstVal *v) {
    MlirType t = elem_type(e, el);
    if (elem_is_float(el))
        return const_float(e, t, v->is_float ? v->f : (double)v->i);
    return const_int(e, t, v->is_float ? (int64_t)v->f : v->i);
}

static MlirAttribute i64_array(Emitter *e, int n, const int64_t *v) {
    return mlirDenseI64ArrayGet(e->ir.ctx, n, v);
}

static MlirAttribute segments(Emitter *e, int n, const int32_t *v) {
    return mlirDenseI32ArrayGet(e->ir.ctx, n, v);
}

static MlirValue binop(Emitter *e, const char *name, MlirValue a, MlirValue b) {
    return ir_binop(&e->ir, name, a, b);
}

static MlirValue to_index(Emitter *e, MlirValue v) { return op1(e, "arith.index_cast", indext(e), 1, &v); }

// ================================================================ elementwise helpers

// Converts a scalar or tile value from element type `from` to `to` (same shape).
static MlirValue convert(Emitter *e, MlirValue v, ElemType from, ElemType to, const Type *shape) {
    if (from == to || from == EL_INT || from == EL_FLOAT)
        return v;
    Type t = *shape;
    t.elem = to;
    MlirType rt = value_type(e, &t);
    bool ff = elem_is_float(from), tf = elem_is_float(to);
    const char *name;
    if (to == EL_I1) {  // x != 0
        MlirValue zero = ff ? const_float(e, elem_type(e, from), 0.0) : const_int(e, elem_type(e, from), 0);
        if (shape->rank) {
            Type zs = *shape;
            zs.elem = from;
            zero = op1(e, "tensor.splat", value_type(e, &zs), 1, &zero);
        }
        MlirValue ops[2] = {v, zero};
        MlirNamedAttribute pred =
            named(e, "predicate", mlirIntegerAttrGet(i64t(e), ff ? 13 : 1));  // une / ne
        return mlirOperationGetResult(op(e, ff ? "arith.cmpf" : "arith.cmpi", 1, &rt, 2, ops, 1, &pred, 0),
                                      0);
    }
    if (ff && tf)
        name = elem_bits(to) > elem_bits(from) ? "arith.extf" : "arith.truncf";
    else if (!ff && !tf)
        name = from == EL_I1                     ? "arith.extui"
               : elem_bits(to) > elem_bits(from) ? "arith.extsi"
                                                 : "arith.trunci";
    else if (ff)
        name = "arith.fptosi";
    else
        name = from == EL_I1 ? "arith.uitofp" : "arith.sitofp";
    if (ff && tf && elem_bits(to) == elem_bits(from))  // f16 <-> bf16: through f32
        return convert(e, convert(e, v, from, EL_F32, shape), EL_F32, to, shape);
    return op1(e, name, rt, 1, &v);
}

// The affine map of an input of shape `in` broadcast (numpy rules) to a rank-`rank` output.
static MlirAttribute broadcast_map(Emitter *e, const Type *in, const Type *out) {
    MlirAffineExpr exprs[TILE_MAX_RANK];
    for (int j = 0; j < in->rank; j++) {
        int i = out->rank - in->rank + j;
        exprs[j] = in->dims[j] == 1 && out->dims[i] != 1 ? mlirAffineConstantExprGet(e->ir.ctx, 0)
                                                         : mlirAffineDimExprGet(e->ir.ctx, i);
    }
    return mlirAffineMapAttrGet(mlirAffineMapGet(e->ir.ctx, out->rank, 0, in->rank, exprs));
}

static MlirAttribute parallel_iterators(Emitter *e, int rank) {
    MlirAttribute it[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        it[i] = mlirAttributeParseGet(e->ir.ctx, str("#linalg.iterator_type<parallel>"));
    return mlirArrayAttrGet(e->ir.ctx, rank, it);
}

static MlirValue empty_tensor(Emitter *e, const Type *t) {
    MlirType rt = tensor_of(e, t->elem, t->rank, t->dims);  // 0-d for a full reduction
    return mlirOperationGetResult(op(e, "tensor.empty", 1, &rt, 0, NULL, 0, NULL, 0), 0);
}

// Gives a linalg op with one input and one output the body that yields the input element (a
// copy that moves elements: broadcasting generic, transpose); returns its result.
static MlirValue copy_body(Emitter *e, MlirOperation o, ElemType elem) {
    MlirType el = elem_type(e, elem);
    MlirBlock body = region_block(e, o, 0, 2, (MlirType[]){el, el});
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirValue in = mlirBlockGetArgument(body, 0);
    op(e, "linalg.yield", 0, NULL, 1, &in, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(o, 0);
}

// Broadcasts a scalar or tile of type `from` to the tile type `to` (same element type).
static MlirValue broadcast_to(Emitter *e, MlirValue v, const Type *from, const Type *to) {
    if (to->rank == 0)
        return v;
    if (from->rank == to->rank && memcmp(from->dims, to->dims, sizeof(int64_t) * (size_t)to->rank) == 0)
        return v;
    MlirType rt = value_type(e, to);
    if (from->rank == 0)
        return op1(e, "tensor.splat", rt, 1, &v);
    MlirValue ops[2] = {v, empty_tensor(e, to)};
    MlirAttribute maps[2] = {broadcast_map(e, from, to),
                             mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, to->rank))};
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 2, maps)),
        named(e, "iterator_types", parallel_iterators(e, to->rank)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 1})),
    };
    MlirOperation g = op(e, "linalg.generic", 1, &rt, 2, ops, 3, attrs, 1);
    return copy_body(e, g, to->elem);
}

// Lowers n and converts it to element type `el` and broadcast shape `to`.
static MlirValue operand(Emitter *e, Node *n, ElemType el, const Type *to) {
    MlirValue v;
    if (n->is_const && n->type.rank == 0) {
        v = const_scalar(e, el, &n->cval);
    } else {
        v = emit_expr(e, n);
        if (e->failed)
            return v;
        v = convert(e, v, n->type.elem, el, &n->type);
    }
    Type from = n->type;
    from.elem = el;
    Type target = *to;
    target.elem = el;
    return broadcast_to(e, v, &from, &target);
}

// ================================================================ operators

static int cmp_predicate(int op_, bool is_float) {
    // arith.cmpf: oeq 1, ogt 2, oge 3, olt 4, ole 5, une 13; arith.cmpi: eq 0, ne 1, slt 2, sle 3,
    // sgt 4, sge 5.
    switch (op_) {
    case OP_EQ: return is_float ? 1 : 0;
    case OP_NE: return is_float ? 13 : 1;
    case OP_LT: return is_float ? 4 : 2;
    case OP_LE: return is_float ? 5 : 3;
    case OP_GT: return is_float ? 2 : 4;
    case OP_GE: return is_float ? 3 : 5;
    }
    unreachable();
}

static MlirValue emit_matmul(Emitter *e, Node *n, Node *a, Node *b, Node *acc);

static bool same_type(const Type *a, const Type *b) {
    if (a->elem != b->elem || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static MlirValue emit_binary(Emitter *e, Node *n) {
    if (n->op == OP_MATMUL)
        return emit_matmul(e, n, n->lhs, n->rhs, NULL);
    // `x + a @ b` (and `acc += a @ b`) accumulates into x: one linalg.matmul with x as its init,
    // as dot(a, b, x) would (docs/language.md, "dot").
    if (n->op == OP_ADD && elem_is_float(n->type.elem)) {
        Node *mm = n->rhs->kind == ND_BINARY && n->rhs->op == OP_MATMUL   ? n->rhs
                   : n->lhs->kind == ND_BINARY && n->lhs->op == OP_MATMUL ? n->lhs
                                                                          : NULL;
        if (mm && same_type(&mm->type, &n->type))
            return emit_matmul(e, n, mm->lhs, mm->rhs, mm == n->rhs ? n->lhs : n->rhs);
    }
    // The operands' common element type: the result's, except for comparisons.
    bool cmp = n->op >= OP_EQ && n->op <= OP_GE;
    ElemType el = n->type.elem;
    if (cmp) {
        ElemType a = n->lhs->type.elem, b = n->rhs->type.elem;
        if (a == EL_INT || a == EL_FLOAT)
            el = b;
        else if (b == EL_INT || b == EL_FLOAT)
            el = a;
        else if (elem_is_float(a) && elem_is_float(b))
            el = (a == EL_F16 && b == EL_BF16) || (a == EL_BF16 && b == EL_F16) ? EL_F32
                 : elem_bits(a) >= elem_bits(b)                                 ? a
                                                                                : b;
        else
            el = elem_bits(a) >= elem_bits(b) ? a : b;
        if (el == EL_INT || el == EL_FLOAT)
            el = el == EL_INT ? EL_I64 : EL_F64;
    }
    MlirValue a = operand(e, n->lhs, el, &n->type);
    MlirValue b = operand(e, n->rhs, el, &n->type);
    if (e->failed)
        return a;
    bool fl = elem_is_float(el);
    if (cmp) {
        MlirType rt = value_type(e, &n->type);
        MlirValue ops[2] = {a, b};
        MlirNamedAttribute pred =
            named(e, "predicate", mlirIntegerAttrGet(i64t(e), cmp_predicate(n->op, fl)));
        return mlirOperationGetResult(op(e, fl ? "arith.cmpf" : "arith.cmpi", 1, &rt, 2, ops, 1, &pred, 0),
                                      0);
    }
    const char *name = NULL;
    switch (n->op) {
    case OP_ADD: name = fl ? "arith.addf" : "arith.addi"; break;
    case OP_SUB: name = fl ? "arith.subf" : "arith.subi"; break;
    case OP_MUL: name = fl ? "arith.mulf" : "arith.muli"; break;
    case OP_DIV: name = fl ? "arith.divf" : "arith.divsi"; break;
    case OP_MOD: name = "arith.remsi"; break;
    case OP_AND:
    case OP_BITAND: name = "arith.andi"; break;
    case OP_OR:
    case OP_BITOR: name = "arith.ori"; break;
    case OP_BITXOR: name = "arith.xori"; break;
    case OP_SHL: name = "arith.shli"; break;
    case OP_SHR: name = "arith.shrsi"; break;
    }
    return binop(e, name, a, b);
}

static MlirValue emit_unary(Emitter *e, Node *n) {
    MlirValue x = operand(e, n->lhs, n->type.elem, &n->type);
    if (e->failed)
        return x;
    if (n->op == UOP_NEG && elem_is_float(n->type.elem))
        return op1(e, "arith.negf", mlirValueGetType(x), 1, &x);
    Type s = n->type;
    ConstVal c = {.i = n->op == UOP_NEG ? 0 : -1};  // 0 - x, or x ^ all-ones (true for i1)
    MlirValue k = const_scalar(e, n->type.elem, &c);
    if (s.rank)
        k = op1(e, "tensor.splat", value_type(e, &s), 1, &k);
    return n->op == UOP_NEG ? binop(e, "arith.subi", k, x) : binop(e, "arith.xori", x, k);
}

// ================================================================ tensor slices

typedef struct SliceDims {
    int rank;
    MlirValue lo[TILE_MAX_RANK];        // i64: start of the requested window
    int64_t size[TILE_MAX_RANK];        // static window size (1 for a scalar index)
    bool dropped[TILE_MAX_RANK];        // scalar index: the dimension is dropped
    MlirValue valid_lo[TILE_MAX_RANK];  // index: first element inside the tensor
    MlirValue valid[TILE_MAX_RANK];     // index: elements inside the tensor
    MlirValue low[TILE_MAX_RANK];       // index: padding before
    bool low_zero[TILE_MAX_RANK];       // the start is provably >= 0: no padding before
    MlirValue high[TILE_MAX_RANK];      // index: padding after
} SliceDims;

static MlirValue size_value(Emitter *e, const Symbol *t, int i) {
    if (t->const_dims[i] >= 0)
        return const_int(e, i64t(e), t->const_dims[i]);
    MlirValue v;
    if (!lookup(e, t->dims[i], &v))
        unreachable();
    return v;
}

static MlirValue clamp(Emitter *e, MlirValue v, MlirValue lo, MlirValue hi) {
    return binop(e, "arith.minsi", binop(e, "arith.maxsi", v, lo), hi);
}

// Whether an integer expression is provably >= 0: literals, sizes, strides, program ids, and
// lets, loop variables (from a non-negative start; a step <= 0 runs no iterations), sums,
// products, quotients and remainders of such. Slices starting there need no padding before.
static bool nonneg(const Node *n) {
    if (!n)
        return true;
    if (n->is_const)
        return n->cval.i >= 0;
    switch (n->kind) {
    case ND_NAME: {
        const Symbol *s = n->sym;
        if (!s)
            return false;
        if (s->kind == SYM_SIZE || s->kind == SYM_STRIDE)
            return true;
        if (s->kind == SYM_LET && s->decl && s->decl->kind == ND_LET)
            return nonneg(s->decl->init);
        if (s->kind == SYM_LOOPVAR && s->decl && s->decl->kind == ND_FOR)
            return nonneg(s->decl->init);
        return false;
    }
    case ND_BINARY:
        return (n->op == OP_ADD || n->op == OP_MUL || n->op == OP_DIV || n->op == OP_MOD) && nonneg(n->lhs) &&
               nonneg(n->rhs);
    case ND_CALL: {
        Builtin b = builtin_lookup(n->name);
        return b == B_PROGRAM_ID || b == B_NUM_PROGRAMS ||
               (b == B_CDIV && n->args.len == 2 && nonneg(n->args.items[0]) && nonneg(n->args.items[1]));
    }
    default: return false;
    }
}

// The window of X[...] (slices and scalar indices) clipped to the tensor.
static bool slice_dims(Emitter *e, Node *n, SliceDims *d) {
    const Symbol *t = n->base->sym;
    d->rank = t->type.rank;
    MlirValue zero = const_int(e, i64t(e), 0);
    for (int i = 0; i < d->rank; i++) {
        Node *it = n->args.items[i];
        if (it->kind == ND_SLICE) {
            d->dropped[i] = false;
            if (it->lhs)
                d->lo[i] = operand(e, it->lhs, EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
            else
                d->lo[i] = zero;
            int64_t lo_c = it->lhs && it->lhs->is_const ? it->lhs->cval.i : 0;
            d->size[i] =
                it->rhs && it->rhs->is_const && (!it->lhs || it->lhs->is_const) ? it->rhs->cval.i - lo_c : -1;
            if (d->size[i] < 0) {
                // lo : lo + N — the size was proven constant by sema; recover it from the type.
                int k = 0;
                for (int j = 0; j < i; j++)
                    k += n->args.items[j]->kind == ND_SLICE;
                d->size[i] = n->type.dims[k];
            }
            if (!it->rhs && t->const_dims[i] >= 0)
                d->size[i] = t->const_dims[i] - lo_c;
        } else if (it->type.rank == 0) {
            d->dropped[i] = true;
            d->lo[i] = operand(e, it, EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
            d->size[i] = 1;
        } else {
            unsupported(e, it, "gathers through index tiles");
            return false;
        }
        if (e->failed)
            return false;
        MlirValue dim = size_value(e, t, i);
        MlirValue s = const_int(e, i64t(e), d->size[i]);
        d->low_zero[i] = nonneg(it->kind == ND_SLICE ? it->lhs : it);
        MlirValue vlo, vhi, low;
        if (d->low_zero[i]) {
            vlo = binop(e, "arith.minsi", d->lo[i], dim);
            vhi = binop(e, "arith.minsi", binop(e, "arith.addi", d->lo[i], s), dim);
            low = zero;
        } else {
            vlo = clamp(e, d->lo[i], zero, dim);
            vhi = clamp(e, binop(e, "arith.addi", d->lo[i], s), zero, dim);
            low = clamp(e, binop(e, "arith.subi", vlo, d->lo[i]), zero, s);
        }
        MlirValue valid = binop(e, "arith.maxsi", binop(e, "arith.subi", vhi, vlo), zero);
        MlirValue high = binop(e, "arith.subi", binop(e, "arith.subi", s, low), valid);
        d->valid_lo[i] = to_index(e, vlo);
        d->valid[i] = to_index(e, valid);
        d->low[i] = to_index(e, low);
        d->high[i] = to_index(e, high);
    }
    return true;
}

static MlirValue memref_of(Emitter *e, const Symbol *t) {
    MlirValue m;
    if (!lookup(e, t, &m))
        unreachable();
    return m;
}

// op with dynamic offsets/sizes and unit strides (tensor.extract_slice, memref.subview).
static MlirOperation dynamic_slice(Emitter *e, const char *name, MlirType rt, MlirValue src, int rank,
                                   const MlirValue *offsets, const MlirValue *sizes) {
    MlirValue ops[1 + 2 * TILE_MAX_RANK];
    int64_t dyn[TILE_MAX_RANK], ones[TILE_MAX_RANK];
    ops[0] = src;
    for (int i = 0; i < rank; i++) {
        ops[1 + i] = offsets[i];
        ops[1 + rank + i] = sizes[i];
        dyn[i] = mlirShapedTypeGetDynamicSize();
        ones[i] = 1;
    }
    int64_t dyn_off[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        dyn_off[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    MlirNamedAttribute attrs[4] = {
        named(e, "static_offsets", i64_array(e, rank, dyn_off)),
        named(e, "static_sizes", i64_array(e, rank, dyn)),
        named(e, "static_strides", i64_array(e, rank, ones)),
        named(e, "operandSegmentSizes", segments(e, 4, (int32_t[]){1, rank, rank, 0})),
    };
    return op(e, name, 1, &rt, 1 + 2 * rank, ops, 4, attrs, 0);
}

static MlirType dynamic_tensor(Emitter *e, ElemType el, int rank) {
    int64_t dyn[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        dyn[i] = mlirShapedTypeGetDynamicSize();
    return tensor_of(e, el, rank, dyn);
}

// The reassociation of a collapse_shape/expand_shape between a rank-`n` shape and the shape
// with only the dimensions marked `kept`: each kept dimension takes the unkept ones before it,
// and trailing unkept ones join the last group; with none kept, one group of all.
static MlirAttribute reassociation(Emitter *e, int n, const bool *kept) {
    MlirAttribute groups[TILE_MAX_RANK], cur[TILE_MAX_RANK];
    int ng = 0, nc = 0;
    for (int i = 0; i < n; i++) {
        cur[nc++] = mlirIntegerAttrGet(i64t(e), i);
        if (kept[i]) {
            groups[ng++] = mlirArrayAttrGet(e->ir.ctx, nc, cur);
            nc = 0;
        }
    }
    if (nc && ng == 0) {
        groups[ng++] = mlirArrayAttrGet(e->ir.ctx, nc, cur);
    } else if (nc) {
        MlirAttribute last[TILE_MAX_RANK];
        int nl = (int)mlirArrayAttrGetNumElements(groups[ng - 1]);
        for (int i = 0; i < nl; i++)
            last[i] = mlirArrayAttrGetElement(groups[ng - 1], i);
        for (int i = 0; i < nc; i++)
            last[nl + i] = cur[i];
        groups[ng - 1] = mlirArrayAttrGet(e->ir.ctx, nl + nc, last);
    }
    return mlirArrayAttrGet(e->ir.ctx, ng, groups);
}

// Collapses the unit dimensions marked `dropped` of a tile (tensor.collapse_shape), or
// extracts the scalar when every dimension is dropped.
static MlirValue drop_dims(Emitter *e, MlirValue v, const SliceDims *d, const Type *result, ElemType el) {
    int kept = 0;
    for (int i = 0; i < d->rank; i++)
        kept += !d->dropped[i];
    if (kept == d->rank)
        return v;
    if (kept == 0) {
        MlirValue ops[1 + TILE_MAX_RANK];
        ops[0] = v;
        MlirValue zero = const_int(e, indext(e), 0);
        for (int i = 0; i < d->rank; i++)
            ops[1 + i] = zero;
        return op1(e, "tensor.extract", elem_type(e, el), 1 + d->rank, ops);
    }
    bool keep[TILE_MAX_RANK];
    for (int i = 0; i < d->rank; i++)
        keep[i] = !d->dropped[i];
    MlirType rt = value_type(e, result);
    if (e->gpu) {  // the GPU back end distributes collapse_shape
        MlirNamedAttribute a = named(e, "reassociation", reassociation(e, d->rank, keep));
        return mlirOperationGetResult(op(e, "tensor.collapse_shape", 1, &rt, 1, &v, 1, &a, 0), 0);
    }
    // On x86, a rank-reducing extract_slice of the whole tile rather than a collapse_shape:
    // elementwise fusion folds a collapse_shape into the linalg.matmul consuming it, which turns
    // the dot into a generic that the schedule no longer recognizes.
    int64_t zeros[TILE_MAX_RANK], ones[TILE_MAX_RANK];
    for (int i = 0; i < d->rank; i++)
        zeros[i] = 0, ones[i] = 1;
    MlirNamedAttribute attrs[4] = {
        named(e, "static_offsets", i64_array(e, d->rank, zeros)),
        named(e, "static_sizes", i64_array(e, d->rank, d->size)),
        named(e, "static_strides", i64_array(e, d->rank, ones)),
        named(e, "operandSegmentSizes", segments(e, 4, (int32_t[]){1, 0, 0, 0})),
    };
    return mlirOperationGetResult(op(e, "tensor.extract_slice", 1, &rt, 1, &v, 4, attrs, 0), 0);
}

static MlirValue emit_tensor_load(Emitter *e, Node *n) {
    const Symbol *t = n->base->sym;
    SliceDims d;
    if (!slice_dims(e, n, &d))
        return (MlirValue){NULL};
    ElemType el = t->type.elem;
    MlirValue mem = memref_of(e, t);
    MlirType dyn = dynamic_tensor(e, el, d.rank);
    MlirNamedAttribute restrict_ = named(e, "restrict", mlirUnitAttrGet(e->ir.ctx));
    MlirValue whole =
        mlirOperationGetResult(op(e, "bufferization.to_tensor", 1, &dyn, 1, &mem, 1, &restrict_, 0), 0);
    MlirValue part = mlirOperationGetResult(
        dynamic_slice(e, "tensor.extract_slice", dyn, whole, d.rank, d.valid_lo, d.valid), 0);
    // Pad to the static window with the padding value.
    MlirValue pad = n->els ? operand(e, n->els, el, &(Type){.cls = TY_VALUE, .elem = el})
                           : const_scalar(e, el, &(ConstVal){0});
    Type full = {.cls = TY_VALUE, .elem = el, .rank = d.rank};
    for (int i = 0; i < d.rank; i++)
        full.dims[i] = d.size[i];
    MlirType ft = value_type(e, &full);
    MlirValue ops[1 + 2 * TILE_MAX_RANK];
    int64_t dyn_pad[TILE_MAX_RANK], static_low[TILE_MAX_RANK];
    int nops = 1, nlow = 0;
    ops[0] = part;
    for (int i = 0; i < d.rank; i++) {
        dyn_pad[i] = mlirShapedTypeGetDynamicSize();
        static_low[i] = d.low_zero[i] ? 0 : dyn_pad[i];
        if (!d.low_zero[i])
            ops[nops++] = d.low[i];
    }
    nlow = nops - 1;
    for (int i = 0; i < d.rank; i++)
        ops[nops++] = d.high[i];
    MlirNamedAttribute attrs[3] = {
        named(e, "static_low", i64_array(e, d.rank, static_low)),
        named(e, "static_high", i64_array(e, d.rank, dyn_pad)),
        named(e, "operandSegmentSizes", segments(e, 3, (int32_t[]){1, nlow, d.rank})),
    };
    MlirOperation p = op(e, "tensor.pad", 1, &ft, nops, ops, 3, attrs, 1);
    MlirType idx[TILE_MAX_RANK];
    for (int i = 0; i < d.rank; i++)
        idx[i] = indext(e);
    MlirBlock body = region_block(e, p, 0, d.rank, idx);
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    op(e, "tensor.yield", 0, NULL, 1, &pad, 0, NULL, 0);
    e->ir.block = saved;
    return drop_dims(e, mlirOperationGetResult(p, 0), &d, &n->type, el);
}

static void emit_tensor_store(Emitter *e, Node *target, Node *value) {
    const Symbol *t = target->base->sym;
    SliceDims d;
    if (!slice_dims(e, target, &d))
        return;
    ElemType el = t->type.elem;
    Type full = {.cls = TY_VALUE, .elem = el, .rank = d.rank};
    for (int i = 0; i < d.rank; i++)
        full.dims[i] = d.size[i];
    // The value at the window's full rank (dropped dimensions as size 1).
    MlirValue v = operand(e, value, el, &target->type);
    if (e->failed)
        return;
    if (target->type.rank != d.rank) {
        Type shaped = target->type;
        shaped.elem = el;
        MlirType ft = value_type(e, &full);
        if (shaped.rank == 0) {
            v = op1(e, "tensor.splat", ft, 1, &v);
        } else {
            // expand_shape back to the window rank (the inverse of drop_dims)
            bool keep[TILE_MAX_RANK];
            for (int i = 0; i < d.rank; i++)
                keep[i] = !d.dropped[i];
            MlirNamedAttribute attrs[2] = {
                named(e, "reassociation", reassociation(e, d.rank, keep)),
                named(e, "static_output_shape", i64_array(e, d.rank, full.dims)),
            };
            v = mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &ft, 1, &v, 2, attrs, 0), 0);
        }
    }
    MlirType dyn = dynamic_tensor(e, el, d.rank);
    MlirValue part =
        mlirOperationGetResult(dynamic_slice(e, "tensor.extract_slice", dyn, v, d.rank, d.low, d.valid), 0);
    MlirValue mem = memref_of(e, t);
    int64_t shape[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int i = 0; i < d.rank; i++) {
        shape[i] = mlirShapedTypeGetDynamicSize();
        strides[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    }
    MlirAttribute layout =
        mlirStridedLayoutAttrGet(e->ir.ctx, mlirShapedTypeGetDynamicStrideOrOffset(), d.rank, strides);
    MlirType sub = mlirMemRefTypeGet(elem_type(e, el), d.rank, shape, layout, mlirAttributeGetNull());
    MlirValue dst =
        mlirOperationGetResult(dynamic_slice(e, "memref.subview", sub, mem, d.rank, d.valid_lo, d.valid), 0);
    MlirValue ops[2] = {part, dst};
    MlirNamedAttribute w = named(e, "writable", mlirUnitAttrGet(e->ir.ctx));
    op(e, "bufferization.materialize_in_destination", 0, NULL, 2, ops, 1, &w, 0);
}

// ================================================================ element-wise accesses

// Gathers, scatters, masked load/store and atomics: X[items] visited element by element. Per
// tensor dimension an item is a scalar index, a slice (its position in the result shape) or an
// index tile (broadcast to the result shape, as i64). Loops over the result shape compute each
// element's indices, test them against the tensor's bounds (and the mask), and read, write or
// update the element only when inside.
typedef struct Access {
    const Symbol *t;
    Type shape;                    // the result shape S (element type: the tensor's)
    int kind[TILE_MAX_RANK];       // 0 scalar index, 1 slice, 2 index tile
    MlirValue val[TILE_MAX_RANK];  // i64 scalar, slice start, or i64 tile of shape S
    int rdim[TILE_MAX_RANK];       // slice: its dimension in S
    MlirValue mask;                // i1 tile of shape S (or scalar), or null
} Access;

static bool access_of(Emitter *e, Node *n, Node *mask, Access *a) {
    a->t = n->base->sym;
    a->shape = n->type;
    Type s64 = n->type, i64s = {.cls = TY_VALUE, .elem = EL_I64};
    s64.elem = EL_I64;
    int rd = 0;
    for (int j = 0; j < n->args.len; j++) {
        Node *it = n->args.items[j];
        if (it->kind == ND_SLICE) {
            a->kind[j] = 1;
            a->val[j] = it->lhs ? operand(e, it->lhs, EL_I64, &i64s) : const_int(e, i64t(e), 0);
            a->rdim[j] = rd++;
        } else {
            a->kind[j] = it->type.rank ? 2 : 0;
            a->val[j] = operand(e, it, EL_I64, it->type.rank ? &s64 : &i64s);
        }
    }
    Type sm = n->type;
    sm.elem = EL_I1;
    a->mask = mask ? operand(e, mask, EL_I1, &sm) : (MlirValue){NULL};
    return !e->failed;
}

// Element `ivs` of a value of shape S (a scalar stays itself).
static MlirValue element_at(Emitter *e, MlirValue v, const Type *shape, const MlirValue *ivs, ElemType el) {
    if (shape->rank == 0 || !mlirTypeIsARankedTensor(mlirValueGetType(v)))
        return v;
    MlirValue ops[1 + TILE_MAX_RANK];
    ops[0] = v;
    for (int i = 0; i < shape->rank; i++)
        ops[1 + i] = ivs[i];
    return op1(e, "tensor.extract", elem_type(e, el), 1 + shape->rank, ops);
}

// The tensor indices (index type) of result element `ivs`, and whether it is inside the tensor
// (and selected by the mask).
static MlirValue access_element(Emitter *e, const Access *a, const MlirValue *ivs, MlirValue *idx) {
    MlirType i1 = elem_type(e, EL_I1);
    MlirValue zero = const_int(e, i64t(e), 0), cond = const_int(e, i1, 1);
    MlirNamedAttribute sge = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 5)),
                       slt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    for (int j = 0; j < a->t->type.rank; j++) {
        MlirValue k = a->kind[j] == 0 ? a->val[j]
                      : a->kind[j] == 1
                          ? binop(e, "arith.addi", a->val[j],
                                  op1(e, "arith.index_cast", i64t(e), 1, (MlirValue[]){ivs[a->rdim[j]]}))
                          : element_at(e, a->val[j], &a->shape, ivs, EL_I64);
        MlirValue lo =
            mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, (MlirValue[]){k, zero}, 1, &sge, 0), 0);
        MlirValue hi = mlirOperationGetResult(
            op(e, "arith.cmpi", 1, &i1, 2, (MlirValue[]){k, size_value(e, a->t, j)}, 1, &slt, 0), 0);
        cond = binop(e, "arith.andi", cond, binop(e, "arith.andi", lo, hi));
        idx[j] = to_index(e, k);
    }
    if (!mlirValueIsNull(a->mask))
        cond = binop(e, "arith.andi", cond, element_at(e, a->mask, &a->shape, ivs, EL_I1));
    return cond;
}

// One element of a gather: X[idx] where `cond` holds (the element is inside and selected),
// else `other` (an element value); the read happens only under the condition.
static MlirValue read_if_inside(Emitter *e, const Access *a, MlirValue whole, MlirValue cond,
                                const MlirValue *idx, MlirValue other) {
    MlirType et = elem_type(e, a->shape.elem);
    MlirOperation f = op(e, "scf.if", 1, &et, 1, &cond, 0, NULL, 2);
    MlirBlock saved = e->ir.block;
    e->ir.block = region_block(e, f, 0, 0, NULL);
    MlirValue ops[1 + TILE_MAX_RANK];
    ops[0] = whole;
    for (int j = 0; j < a->t->type.rank; j++)
        ops[1 + j] = idx[j];
    MlirValue v = op1(e, "tensor.extract", et, 1 + a->t->type.rank, ops);
    op(e, "scf.yield", 0, NULL, 1, &v, 0, NULL, 0);
    e->ir.block = region_block(e, f, 1, 0, NULL);
    op(e, "scf.yield", 0, NULL, 1, &other, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(f, 0);
}

// The loads: one linalg.generic over S whose body tests an element's indices (and mask) and
// reads it only when inside. Index tiles, the mask and `other` are its inputs, so elementwise
// fusion pulls their producers (aranges, broadcasts) into the body: an index that is an
// offset plus the innermost loop index becomes consecutive addresses after lowering, and LLVM
// vectorizes the conditional reads into masked vector loads.
static MlirValue gather_generic(Emitter *e, const Access *a, MlirValue whole, MlirValue other) {
    ElemType el = a->shape.elem;
    MlirType et = elem_type(e, el);
    Access b = *a;  // the same access with every tile replaced by its element (a block argument)
    MlirValue ins[TILE_MAX_RANK + 3];
    MlirType arg_types[TILE_MAX_RANK + 3];
    int which[TILE_MAX_RANK + 3], nin = 0;  // dimension j, or -1 the mask, -2 other
    for (int j = 0; j < a->t->type.rank; j++)
        if (a->kind[j] == 2)
            which[nin] = j, arg_types[nin] = i64t(e), ins[nin++] = a->val[j];
    if (!mlirValueIsNull(a->mask) && mlirTypeIsARankedTensor(mlirValueGetType(a->mask)))
        which[nin] = -1, arg_types[nin] = elem_type(e, EL_I1), ins[nin++] = a->mask;
    if (mlirTypeIsARankedTensor(mlirValueGetType(other)))
        which[nin] = -2, arg_types[nin] = et, ins[nin++] = other;
    ins[nin] = empty_tensor(e, &a->shape);
    arg_types[nin] = et;
    MlirAttribute maps[TILE_MAX_RANK + 3];
    for (int i = 0; i <= nin; i++)
        maps[i] = mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, a->shape.rank));
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, nin + 1, maps)),
        named(e, "iterator_types", parallel_iterators(e, a->shape.rank)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){nin, 1})),
    };
    MlirType rt = value_type(e, &a->shape);
    MlirOperation g = op(e, "linalg.generic", 1, &rt, nin + 1, ins, 3, attrs, 1);
    MlirBlock body = region_block(e, g, 0, nin + 1, arg_types), saved = e->ir.block;
    e->ir.block = body;
    for (int i = 0; i < nin; i++) {
        MlirValue arg = mlirBlockGetArgument(body, i);
        if (which[i] >= 0)
            b.kind[which[i]] = 0, b.val[which[i]] = arg;
        else if (which[i] == -1)
            b.mask = arg;
        else
            other = arg;
    }
    MlirValue ivs[TILE_MAX_RANK];
    MlirType it = indext(e);
    for (int d = 0; d < a->shape.rank; d++) {
        MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), d));
        ivs[d] = mlirOperationGetResult(op(e, "linalg.index", 1, &it, 0, NULL, 1, &dim, 0), 0);
    }
    MlirValue idx[TILE_MAX_RANK];
    MlirValue cond = access_element(e, &b, ivs, idx);
    MlirValue r = read_if_inside(e, &b, whole, cond, idx, other);
    op(e, "linalg.yield", 0, NULL, 1, &r, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(g, 0);
}

// X[items] with index tiles, or load(X[...], mask = m, other = v): the padding value (or
// `other`) where an element is outside the tensor or masked off; those are not read.
static MlirValue emit_gather(Emitter *e, Node *n, Node *mask, Node *other) {
    Access a;
    if (!access_of(e, n, mask, &a))
        return (MlirValue){NULL};
    ElemType el = a.shape.elem;
    MlirValue pad;
    if (other)
        pad = operand(e, other, el, &a.shape);
    else
        pad = n->els ? operand(e, n->els, el, &(Type){.cls = TY_VALUE, .elem = el})
                     : const_scalar(e, el, &(ConstVal){0});
    MlirValue mem = memref_of(e, a.t);
    int rank = a.t->type.rank;
    if (!e->gpu && rank > 0 &&
        (a.t->const_strides[rank - 1] == 1 ||
         (!a.t->strides[rank - 1] && a.t->const_strides[rank - 1] < 0))) {
        // A contiguous tensor (or one with a literal unit stride) is read through its
        // unit-stride type: elements whose last index is an offset plus the innermost loop
        // index are then consecutive for LLVM, whose vectorizer makes masked vector loads of
        // them instead of gathers of 64-bit addresses.
        mem = op1(e, "memref.cast", ir_unit_stride_memref(e->ir.ctx, elem_type(e, el), rank), 1, &mem);
    }
    MlirType dyn = dynamic_tensor(e, el, a.t->type.rank);
    MlirNamedAttribute restrict_ = named(e, "restrict", mlirUnitAttrGet(e->ir.ctx));
    MlirValue whole =
        mlirOperationGetResult(op(e, "bufferization.to_tensor", 1, &dyn, 1, &mem, 1, &restrict_, 0), 0);
    if (a.shape.rank == 0) {  // one element: the test and the read, in place
        MlirValue idx[TILE_MAX_RANK];
        MlirValue cond = access_element(e, &a, NULL, idx);
        return read_if_inside(e, &a, whole, cond, idx, pad);
    }
    return gather_generic(e, &a, whole, pad);
}

// The stores: one store or atomic update per selected element inside the tensor.
static void scatter_loops(Emitter *e, const Access *a, MlirValue v, int rmw, int d, MlirValue *ivs) {
    if (d == a->shape.rank) {
        MlirValue idx[TILE_MAX_RANK];
        MlirValue cond = access_element(e, a, ivs, idx);
        MlirOperation f = op(e, "scf.if", 0, NULL, 1, &cond, 0, NULL, 2);
        MlirBlock saved = e->ir.block;
        e->ir.block = region_block(e, f, 0, 0, NULL);
        int r = a->t->type.rank;
        MlirValue ops[2 + TILE_MAX_RANK];
        ops[0] = element_at(e, v, &a->shape, ivs, a->shape.elem);
        ops[1] = memref_of(e, a->t);
        for (int j = 0; j < r; j++)
            ops[2 + j] = idx[j];
        if (rmw >= 0) {
            MlirNamedAttribute kind = named(e, "kind", mlirIntegerAttrGet(i64t(e), rmw));
            op(e, "memref.atomic_rmw", 1, (MlirType[]){elem_type(e, a->shape.elem)}, 2 + r, ops, 1, &kind, 0);
        } else {
            op(e, "memref.store", 0, NULL, 2 + r, ops, 0, NULL, 0);
        }
        op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        e->ir.block = region_block(e, f, 1, 0, NULL);
        op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        e->ir.block = saved;
        return;
    }
    MlirValue bounds[3] = {const_int(e, indext(e), 0), const_int(e, indext(e), a->shape.dims[d]),
                           const_int(e, indext(e), 1)};
    MlirOperation f = op(e, "scf.for", 0, NULL, 3, bounds, 0, NULL, 1);
    if (d == 0)  // the GPU back end runs the nest as one masked scatter (gpu_simt.c)
        mlirOperationSetDiscardableAttributeByName(f, str("tilec.scatter"), mlirUnitAttrGet(e->ir.ctx));
    MlirType it = indext(e);
    MlirBlock body = region_block(e, f, 0, 1, &it), saved = e->ir.block;
    e->ir.block = body;
    ivs[d] = mlirBlockGetArgument(body, 0);
    scatter_loops(e, a, v, rmw, d + 1, ivs);
    op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    e->ir.block = saved;
}

// X[items with index tiles] = v, store(X[...], v, mask = m), atomic_add/max/min(X[...], v, mask = m).
static void emit_scatter(Emitter *e, Node *target, Node *value, Node *mask, Builtin b) {
    Access a;
    if (!access_of(e, target, mask, &a))
        return;
    ElemType el = a.shape.elem;
    MlirValue v = operand(e, value, el, &a.shape);
    if (e->failed)
        return;
    bool fl = elem_is_float(el);
    // arith::AtomicRMWKind: addf 0, addi 1, maximumf 4, maxs 6, minimumf 8, mins 10 (-1: a store).
    int rmw = b == B_ATOMIC_ADD   ? (fl ? 0 : 1)
              : b == B_ATOMIC_MAX ? (fl ? 4 : 6)
              : b == B_ATOMIC_MIN ? (fl ? 8 : 10)
                                  : -1;
    MlirValue ivs[TILE_MAX_RANK];
    scatter_loops(e, &a, v, rmw, 0, ivs);
}

// Whether X[items] has an index tile (a gather or scatter).
static bool has_index_tile(const Node *n) {
    for (int j = 0; j < n->args.len; j++) {
        const Node *it = n->args.items[j];
        if (it->kind != ND_SLICE && it->type.rank > 0)
            return true;
    }
    return false;
}

// ================================================================ linalg

static MlirValue filled(Emitter *e, const Type *t, MlirValue scalar) {
    MlirValue ops[2] = {scalar, empty_tensor(e, t)};
    MlirType rt = tensor_of(e, t->elem, t->rank, t->dims);
    MlirNamedAttribute seg = named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 1}));
    MlirOperation f = op(e, "linalg.fill", 1, &rt, 2, ops, 1, &seg, 1);
    mlirLinalgFillBuiltinNamedOpRegion(f);
    return mlirOperationGetResult(f, 0);
}

// dot of [M, K] x [K, N] (linalg.matmul) or [B, M, K] x [B, K, N] (linalg.batch_matmul), in the
// result's (accumulation) type, into `acc` or zeros.
static MlirValue emit_matmul(Emitter *e, Node *n, Node *a, Node *b, Node *acc) {
    MlirValue va = emit_expr(e, a), vb = emit_expr(e, b);
    if (e->failed)
        return va;
    // f16/bf16 operands with a wider accumulator: widen the tiles once (exact), so the product
    // runs at the accumulator's type instead of converting inside the innermost loop.
    if (elem_is_float(n->type.elem) && elem_bits(a->type.elem) < elem_bits(n->type.elem)) {
        va = convert(e, va, a->type.elem, n->type.elem, &a->type);
        vb = convert(e, vb, b->type.elem, n->type.elem, &b->type);
    }
    MlirValue init = acc ? operand(e, acc, n->type.elem, &n->type)
                         : filled(e, &n->type, const_scalar(e, n->type.elem, &(ConstVal){0}));
    MlirValue ops[3] = {va, vb, init};
    MlirType rt = value_type(e, &n->type);
    MlirNamedAttribute seg = named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){2, 1}));
    MlirOperation m =
        op(e, n->type.rank == 3 ? "linalg.batch_matmul" : "linalg.matmul", 1, &rt, 3, ops, 1, &seg, 1);
    mlirLinalgFillBuiltinNamedOpRegion(m);
    return mlirOperationGetResult(m, 0);
}

static MlirValue reduced_result(Emitter *e, Node *call, MlirValue res, const Type *xt, int axis, bool keep);
static MlirValue reshape_to(Emitter *e, MlirValue x, const Type *from, const Type *to);

// sum/max/min/mean over one axis (or all): linalg.reduce into a filled init.
static MlirValue emit_reduce(Emitter *e, Node *call, Builtin b, Node *x, int axis, bool keep) {
    Type xt = x->type;
    ElemType el = xt.elem;
    bool fl = elem_is_float(el);
    MlirValue vx = emit_expr(e, x);
    if (e->failed)
        return vx;
    int64_t dims[TILE_MAX_RANK];
    int nd = 0;
    Type rt = {.cls = TY_VALUE, .elem = el};
    for (int i = 0; i < xt.rank; i++) {
        if (axis < 0 || i == axis)
            dims[nd++] = i;
        else
            rt.dims[rt.rank++] = xt.dims[i];
    }
    ConstVal id = {0};
    if (b == B_MAX)
        id = fl ? (ConstVal){.is_float = true, .f = -INFINITY} : (ConstVal){.i = INT64_MIN};
    else if (b == B_MIN)
        id = fl ? (ConstVal){.is_float = true, .f = INFINITY} : (ConstVal){.i = INT64_MAX};
    if (!fl && b != B_SUM && b != B_MEAN) {  // the identity at this width
        int bits = elem_bits(el);
        if (bits < 64)
            id.i = b == B_MAX ? -(INT64_C(1) << (bits - 1)) : (INT64_C(1) << (bits - 1)) - 1;
    }
    MlirValue init = filled(e, &rt, const_scalar(e, el, &id));
    MlirValue ops[2] = {vx, init};
    MlirType rty = mlirRankedTensorTypeGet(rt.rank, rt.dims, elem_type(e, el), mlirAttributeGetNull());
    MlirNamedAttribute attrs[1] = {named(e, "dimensions", i64_array(e, nd, dims))};
    MlirOperation r = op(e, "linalg.reduce", 1, &rty, 2, ops, 1, attrs, 1);
    MlirType et = elem_type(e, el);
    MlirType bargs[2] = {et, et};
    MlirBlock body = region_block(e, r, 0, 2, bargs);
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirValue in = mlirBlockGetArgument(body, 0), accv = mlirBlockGetArgument(body, 1);
    const char *name = b == B_MAX   ? (fl ? "arith.maximumf" : "arith.maxsi")
                       : b == B_MIN ? (fl ? "arith.minimumf" : "arith.minsi")
                                    : (fl ? "arith.addf" : "arith.addi");
    MlirValue c;
    if (fl) {
        // The order of a tile reduction is unspecified (docs/language.md): reassociation lets
        // LLVM vectorize it.
        MlirValue ops2[2] = {in, accv};
        MlirNamedAttribute fm = named(
            e, "fastmath",
            mlirAttributeParseGet(e->ir.ctx, mlirStringRefCreateFromCString("#arith.fastmath<reassoc>")));
        c = mlirOperationGetResult(op(e, name, 1, (MlirType[]){et}, 2, ops2, 1, &fm, 0), 0);
    } else {
        c = binop(e, name, in, accv);
    }
    op(e, "linalg.yield", 0, NULL, 1, &c, 0, NULL, 0);
    e->ir.block = saved;
    MlirValue res = mlirOperationGetResult(r, 0);
    if (b == B_MEAN) {
        int64_t count = 1;
        for (int i = 0; i < nd; i++)
            count *= xt.dims[dims[i]];
        MlirValue k = const_float(e, et, (double)count);
        res = binop(e, "arith.divf", res, op1(e, "tensor.splat", rty, 1, &k));
    }
    return reduced_result(e, call, res, &xt, axis, keep);
}

// The result of a reduction of `xt` over `axis` (-1: all) computed as the tensor `res`: a scalar
// for a full reduction, or with keepdims the reduced dimensions back with size 1 (call's type).
static MlirValue reduced_result(Emitter *e, Node *call, MlirValue res, const Type *xt, int axis, bool keep) {
    MlirType et = elem_type(e, call->type.elem);
    bool all = axis < 0 || xt->rank == 1;
    if (keep) {
        MlirType kt = value_type(e, &call->type);
        if (all)
            return op1(e, "tensor.splat", kt, 1, (MlirValue[]){op1(e, "tensor.extract", et, 1, &res)});
        bool kept[TILE_MAX_RANK];
        for (int i = 0; i < xt->rank; i++)
            kept[i] = i != axis;
        MlirNamedAttribute attrs[2] = {
            named(e, "reassociation", reassociation(e, xt->rank, kept)),
            named(e, "static_output_shape", i64_array(e, call->type.rank, call->type.dims)),
        };
        return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &kt, 1, &res, 2, attrs, 0), 0);
    }
    return all ? op1(e, "tensor.extract", et, 1, &res) : res;
}

// argmax/argmin over one axis (or all, as a row-major position): a linalg.generic with two
// outputs, the best value so far and its position (i32); a strictly better element replaces
// them, so ties keep the first position and NaN never wins.
static MlirValue emit_argreduce(Emitter *e, Node *call, Builtin b, Node *x, int axis, bool keep) {
    Type xt = x->type;
    MlirValue vx = emit_expr(e, x);
    if (e->failed)
        return vx;
    int r = xt.rank;
    Type vt = {.cls = TY_VALUE, .elem = xt.elem}, it = {.cls = TY_VALUE, .elem = EL_I32};
    MlirAffineExpr kept_dims[TILE_MAX_RANK];
    MlirAttribute iters[TILE_MAX_RANK];
    for (int i = 0; i < r; i++) {
        bool red = axis < 0 || i == axis;
        iters[i] = mlirAttributeParseGet(
            e->ir.ctx, str(red ? "#linalg.iterator_type<reduction>" : "#linalg.iterator_type<parallel>"));
        if (!red) {
            kept_dims[vt.rank] = mlirAffineDimExprGet(e->ir.ctx, i);
            vt.dims[vt.rank++] = xt.dims[i];
        }
    }
    it.rank = vt.rank;
    memcpy(it.dims, vt.dims, sizeof vt.dims);
    bool fl = elem_is_float(xt.elem);
    MlirType et = elem_type(e, xt.elem), i32 = elem_type(e, EL_I32);
    int bits = elem_bits(xt.elem);
    MlirValue worst = fl ? const_float(e, et, b == B_ARGMAX ? -INFINITY : INFINITY)
                         : const_int(e, et,
                                     b == B_ARGMAX ? -(int64_t)(UINT64_MAX >> (65 - bits)) - 1
                                                   : (int64_t)(UINT64_MAX >> (65 - bits)));
    MlirValue outs[3] = {vx, filled(e, &vt, worst), filled(e, &it, const_int(e, i32, 0))};
    MlirType rts[2] = {mlirValueGetType(outs[1]), mlirValueGetType(outs[2])};
    MlirAffineMap out_map = mlirAffineMapGet(e->ir.ctx, r, 0, vt.rank, kept_dims);
    MlirAttribute maps[3] = {mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, r)),
                             mlirAffineMapAttrGet(out_map), mlirAffineMapAttrGet(out_map)};
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 3, maps)),
        named(e, "iterator_types", mlirArrayAttrGet(e->ir.ctx, r, iters)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 2})),
    };
    MlirOperation g = op(e, "linalg.generic", 2, rts, 3, outs, 3, attrs, 1);
    MlirBlock body = region_block(e, g, 0, 3, (MlirType[]){et, et, i32});
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    MlirValue v = mlirBlockGetArgument(body, 0), best = mlirBlockGetArgument(body, 1),
              pos = mlirBlockGetArgument(body, 2);
    MlirValue here = const_int(e, indext(e), 0);
    int64_t stride = 1;
    for (int i = r - 1; i >= 0; i--) {
        if (!(axis < 0 || i == axis))
            continue;
        MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), i));
        MlirValue idx =
            mlirOperationGetResult(op(e, "linalg.index", 1, (MlirType[]){indext(e)}, 0, NULL, 1, &dim, 0), 0);
        here = binop(e, "arith.addi", here, binop(e, "arith.muli", idx, const_int(e, indext(e), stride)));
        stride *= xt.dims[i];
    }
    here = op1(e, "arith.index_cast", i32, 1, &here);
    // ogt 2 / olt 4 (cmpf); sgt 4 / slt 2 (cmpi)
    int pred = fl ? (b == B_ARGMAX ? 2 : 4) : (b == B_ARGMAX ? 4 : 2);
    MlirNamedAttribute pa = named(e, "predicate", mlirIntegerAttrGet(i64t(e), pred));
    MlirValue better =
        mlirOperationGetResult(op(e, fl ? "arith.cmpf" : "arith.cmpi", 1, (MlirType[]){elem_type(e, EL_I1)},
                                  2, (MlirValue[]){v, best}, 1, &pa, 0),
                               0);
    MlirValue ys[2] = {op1(e, "arith.select", et, 3, (MlirValue[]){better, v, best}),
                       op1(e, "arith.select", i32, 3, (MlirValue[]){better, here, pos})};
    op(e, "linalg.yield", 0, NULL, 2, ys, 0, NULL, 0);
    e->ir.block = saved;
    return reduced_result(e, call, mlirOperationGetResult(g, 1), &xt, axis, keep);
}

// The same elements in row-major order with the shape `to`: collapse to one dimension, then
// expand (a scalar is splat first; a scalar result is extracted).
static MlirValue reshape_to(Emitter *e, MlirValue x, const Type *from, const Type *to) {
    Type flat = {.cls = TY_VALUE, .elem = from->elem, .rank = 1, .dims = {1}};
    for (int i = 0; i < from->rank; i++)
        flat.dims[0] *= from->dims[i];
    bool none[TILE_MAX_RANK] = {0};
    if (from->rank == 0) {
        x = op1(e, "tensor.splat", value_type(e, &flat), 1, &x);
    } else if (from->rank > 1) {
        MlirType ft = value_type(e, &flat);
        MlirNamedAttribute ra = named(e, "reassociation", reassociation(e, from->rank, none));
        x = mlirOperationGetResult(op(e, "tensor.collapse_shape", 1, &ft, 1, &x, 1, &ra, 0), 0);
    }
    if (to->rank == 0)
        return op1(e, "tensor.extract", elem_type(e, to->elem), 2,
                   (MlirValue[]){x, const_int(e, indext(e), 0)});
    if (to->rank == 1)
        return x;
    MlirType rt = value_type(e, to);
    MlirNamedAttribute attrs[2] = {
        named(e, "reassociation", reassociation(e, to->rank, none)),
        named(e, "static_output_shape", i64_array(e, to->rank, to->dims)),
    };
    return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &rt, 1, &x, 2, attrs, 0), 0);
}

// ================================================================ calls

// exp for f32 scalars and tiles as arithmetic (Cephes expf: x = n ln2 + r, |r| <= ln2/2,
// exp(r) by a degree-7 polynomial, 2^n built in the exponent bits), so loops over tiles
// vectorize instead of calling libm's expf per element. About 1 ulp; results below the
// smallest normal float flush to 0; exp(+inf) = +inf, exp(-inf) = 0, NaN stays NaN.
static MlirValue exp_f32(Emitter *e, MlirValue x, const Type *shape) {
    MlirType ft = mlirValueGetType(x);
    Type it_ = *shape;
    it_.elem = EL_I32;
    MlirType it = value_type(e, &it_);
    bool tile = shape->rank > 0;
#define KF(v)                                                                       \
    (tile ? op1(e, "tensor.splat", ft, 1, (MlirValue[]){const_float(e, f32t, (v))}) \
          : const_float(e, f32t, (v)))
#define KI(v) \
    (tile ? op1(e, "tensor.splat", it, 1, (MlirValue[]){const_int(e, i32t, (v))}) : const_int(e, i32t, (v)))
    MlirType f32t = elem_type(e, EL_F32), i32t = elem_type(e, EL_I32);
    MlirValue xc =
        binop(e, "arith.minimumf", binop(e, "arith.maximumf", x, KF(-87.33654475)), KF(88.72283905));
    MlirValue n = op1(
        e, "math.floor", ft, 1,
        (MlirValue[]){binop(e, "arith.addf", binop(e, "arith.mulf", xc, KF(1.44269504088896341)), KF(0.5))});
    MlirValue r = binop(e, "arith.subf", xc, binop(e, "arith.mulf", n, KF(0.693359375)));
    r = binop(e, "arith.subf", r, binop(e, "arith.mulf", n, KF(-2.12194440e-4)));
    static const double c[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                               4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
    MlirValue p = KF(c[0]);
    for (int i = 1; i < 6; i++)
        p = op1(e, "math.fma", ft, 3, (MlirValue[]){p, r, KF(c[i])});
    MlirValue r2 = binop(e, "arith.mulf", r, r);
    p = op1(e, "math.fma", ft, 3, (MlirValue[]){p, r2, binop(e, "arith.addf", r, KF(1.0))});
    // 2^n as 2^(n >> 1) * 2^(n - (n >> 1)): n is in [-126, 128] after the clamp, each factor's
    // biased exponent stays normal.
    MlirValue ni = op1(e, "arith.fptosi", it, 1, &n);
    MlirValue n1 = binop(e, "arith.shrsi", ni, KI(1));
    MlirValue n2 = binop(e, "arith.subi", ni, n1);
    MlirValue b1 = binop(e, "arith.shli", binop(e, "arith.addi", n1, KI(127)), KI(23));
    MlirValue b2 = binop(e, "arith.shli", binop(e, "arith.addi", n2, KI(127)), KI(23));
    MlirValue y = binop(e, "arith.mulf", binop(e, "arith.mulf", p, op1(e, "arith.bitcast", ft, 1, &b1)),
                        op1(e, "arith.bitcast", ft, 1, &b2));
    // Above the largest finite result (and +inf itself): +inf; below the smallest normal: 0.
    Type bt_ = *shape;
    bt_.elem = EL_I1;
    MlirType bt = value_type(e, &bt_);
    MlirNamedAttribute ogt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    MlirValue big = mlirOperationGetResult(
        op(e, "arith.cmpf", 1, &bt, 2, (MlirValue[]){x, KF(88.72283905)}, 1, &ogt, 0), 0);
    y = op1(e, "arith.select", ft, 3, (MlirValue[]){big, KF(INFINITY), y});
    MlirNamedAttribute olt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 4));
    MlirValue small = mlirOperationGetResult(
        op(e, "arith.cmpf", 1, &bt, 2, (MlirValue[]){x, KF(-87.33654475)}, 1, &olt, 0), 0);
    y = op1(e, "arith.select", ft, 3, (MlirValue[]){small, KF(0.0), y});
#undef KF
#undef KI
    return y;
}

static MlirValue emit_math(Emitter *e, Node *n, const char *name) {
    MlirValue x = operand(e, n->args.items[0], n->type.elem, &n->type);
    if (e->failed)
        return x;
    return op1(e, name, mlirValueGetType(x), 1, &x);
}

static MlirValue emit_elementwise2(Emitter *e, Node *n, const char *fname, const char *iname) {
    MlirValue a = operand(e, n->args.items[0], n->type.elem, &n->type);
    MlirValue b = operand(e, n->args.items[1], n->type.elem, &n->type);
    if (e->failed)
        return a;
    return binop(e, elem_is_float(n->type.elem) ? fname : iname, a, b);
}

static MlirValue emit_helper(Emitter *e, Node *call) {
    int mark = e->nenv;
    for (int i = 0; i < call->args.len; i++) {
        MlirValue v = emit_expr(e, call->args.items[i]);
        if (e->failed)
            return v;
        bind(e, call->inline_params[i], v);
    }
    // The body's statements in the helper's own scope (not emit_block, which would drop its lets
    // before the return value that reads them is evaluated).
    for (int i = 0; i < call->inlined->args.len && !e->failed; i++)
        emit_stmt(e, call->inlined->args.items[i]);
    MlirValue r = {NULL};
    if (call->inlined_ret && !e->failed)
        r = operand(e, call->inlined_ret, call->type.elem, &call->type);
    e->nenv = mark;
    return r;
}

static MlirValue emit_call(Emitter *e, Node *n) {
    if (n->inlined)
        return emit_helper(e, n);
    Builtin b = builtin_lookup(n->name);
    Node **a = n->args.items;
    switch (b) {
    case B_PROGRAM_ID:
    case B_NUM_PROGRAMS: return (b == B_PROGRAM_ID ? e->pid : e->np)[a[0]->cval.i];
    case B_ARANGE: {
        int64_t lo = n->args.len == 2 ? a[0]->cval.i : 0;
        MlirValue out = empty_tensor(e, &n->type);
        MlirType rt = value_type(e, &n->type);
        MlirAttribute maps[1] = {mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, 1))};
        MlirNamedAttribute attrs[3] = {
            named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 1, maps)),
            named(e, "iterator_types", parallel_iterators(e, 1)),
            named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){0, 1})),
        };
        MlirOperation g = op(e, "linalg.generic", 1, &rt, 1, &out, 3, attrs, 1);
        MlirType i32 = elem_type(e, EL_I32);
        MlirBlock body = region_block(e, g, 0, 1, &i32);
        MlirBlock saved = e->ir.block;
        e->ir.block = body;
        MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), 0));
        MlirType it = indext(e);
        MlirValue i = mlirOperationGetResult(op(e, "linalg.index", 1, &it, 0, NULL, 1, &dim, 0), 0);
        MlirValue i32v = op1(e, "arith.index_cast", i32, 1, &i);
        MlirValue v = binop(e, "arith.addi", i32v, const_int(e, i32, lo));
        op(e, "linalg.yield", 0, NULL, 1, &v, 0, NULL, 0);
        e->ir.block = saved;
        return mlirOperationGetResult(g, 0);
    }
    case B_ZEROS:
    case B_ONES:
    case B_FULL: {
        MlirValue s = b == B_FULL
                          ? operand(e, a[2], n->type.elem, &(Type){.cls = TY_VALUE, .elem = n->type.elem})
                          : const_scalar(e, n->type.elem, &(ConstVal){.i = b == B_ONES, .f = b == B_ONES});
        if (b != B_FULL && elem_is_float(n->type.elem))
            s = const_float(e, elem_type(e, n->type.elem), b == B_ONES ? 1.0 : 0.0);
        return n->type.rank ? op1(e, "tensor.splat", value_type(e, &n->type), 1, &s) : s;
    }
    case B_EXP:
        if (n->type.elem == EL_F32) {
            MlirValue x = operand(e, a[0], EL_F32, &n->type);
            return e->failed ? x : exp_f32(e, x, &n->type);
        }
        return emit_math(e, n, "math.exp");
    case B_EXP2: return emit_math(e, n, "math.exp2");
    case B_LOG: return emit_math(e, n, "math.log");
    case B_LOG2: return emit_math(e, n, "math.log2");
    case B_SQRT: return emit_math(e, n, "math.sqrt");
    case B_RSQRT: return emit_math(e, n, "math.rsqrt");
    case B_SIN: return emit_math(e, n, "math.sin");
    case B_COS: return emit_math(e, n, "math.cos");
    case B_TANH: return emit_math(e, n, "math.tanh");
    case B_ERF: return emit_math(e, n, "math.erf");
    case B_FLOOR: return emit_math(e, n, "math.floor");
    case B_CEIL: return emit_math(e, n, "math.ceil");
    case B_ABS: return emit_math(e, n, elem_is_float(n->type.elem) ? "math.absf" : "math.absi");
    case B_SIGMOID: {  // 1 / (1 + exp(-x))
        MlirValue x = operand(e, a[0], n->type.elem, &n->type);
        if (e->failed)
            return x;
        MlirType t = mlirValueGetType(x);
        MlirValue one = const_float(e, elem_type(e, n->type.elem), 1.0);
        if (n->type.rank)
            one = op1(e, "tensor.splat", t, 1, &one);
        MlirValue neg = op1(e, "arith.negf", t, 1, &x);
        MlirValue ex = n->type.elem == EL_F32 ? exp_f32(e, neg, &n->type) : op1(e, "math.exp", t, 1, &neg);
        return binop(e, "arith.divf", one, binop(e, "arith.addf", one, ex));
    }
    case B_POW: return emit_elementwise2(e, n, "math.powf", "math.ipowi");
    case B_MAXIMUM: return emit_elementwise2(e, n, "arith.maximumf", "arith.maxsi");
    case B_MINIMUM: return emit_elementwise2(e, n, "arith.minimumf", "arith.minsi");
    case B_CLAMP: {
        MlirValue x = operand(e, a[0], n->type.elem, &n->type), lo = operand(e, a[1], n->type.elem, &n->type),
                  hi = operand(e, a[2], n->type.elem, &n->type);
        if (e->failed)
            return x;
        bool fl = elem_is_float(n->type.elem);
        return binop(e, fl ? "arith.minimumf" : "arith.minsi",
                     binop(e, fl ? "arith.maximumf" : "arith.maxsi", x, lo), hi);
    }
    case B_WHERE: {
        Type ct = n->type;
        ct.elem = EL_I1;
        MlirValue c = operand(e, a[0], EL_I1, &ct);
        MlirValue x = operand(e, a[1], n->type.elem, &n->type), y = operand(e, a[2], n->type.elem, &n->type);
        if (e->failed)
            return c;
        MlirValue ops[3] = {c, x, y};
        return op1(e, "arith.select", mlirValueGetType(x), 3, ops);
    }
    case B_LOAD: {
        Node *mask = sema_named_arg(n, "mask"), *other = sema_named_arg(n, "other");
        if (!mask && !other && !has_index_tile(a[0]))
            return emit_tensor_load(e, a[0]);
        return emit_gather(e, a[0], mask, other);
    }
    case B_STORE:
    case B_ATOMIC_ADD:
    case B_ATOMIC_MAX:
    case B_ATOMIC_MIN: {
        Node *mask = sema_named_arg(n, "mask");
        if (b == B_STORE && !mask && !has_index_tile(a[0]))
            emit_tensor_store(e, a[0], a[1]);
        else
            emit_scatter(e, a[0], a[1], mask, b);
        return (MlirValue){NULL};
    }
    case B_TRANS: {
        MlirValue x = emit_expr(e, a[0]);
        if (e->failed)
            return x;
        Node *perm_n = n->args.len > 1 ? a[1] : sema_named_arg(n, "perm");
        int64_t perm[TILE_MAX_RANK] = {1, 0};
        for (int i = 0; perm_n && i < perm_n->type.rank; i++)
            perm[i] = perm_n->type.dims[i];
        MlirValue ops[2] = {x, empty_tensor(e, &n->type)};
        MlirType rt = value_type(e, &n->type);
        MlirNamedAttribute pa = named(e, "permutation", i64_array(e, n->type.rank, perm));
        return copy_body(e, op(e, "linalg.transpose", 1, &rt, 2, ops, 1, &pa, 1), n->type.elem);
    }
    case B_BROADCAST: {
        MlirValue x = emit_expr(e, a[0]);
        return e->failed ? x : broadcast_to(e, x, &a[0]->type, &n->type);
    }
    case B_RESHAPE: {
        MlirValue x = emit_expr(e, a[0]);
        return e->failed ? x : reshape_to(e, x, &a[0]->type, &n->type);
    }
    case B_CDIV: {
        MlirValue x = operand(e, a[0], n->type.elem, &n->type), y = operand(e, a[1], n->type.elem, &n->type);
        return e->failed ? x : binop(e, "arith.ceildivsi", x, y);
    }
    case B_SUM:
    case B_MAX:
    case B_MIN:
    case B_MEAN:
    case B_ARGMAX:
    case B_ARGMIN: {
        Node *axis = n->args.len > 1 ? a[1] : sema_named_arg(n, "axis");
        Node *keep = sema_named_arg(n, "keepdims");
        int ax = -1;
        if (axis) {
            ax = (int)axis->cval.i;
            if (ax < 0)
                ax += a[0]->type.rank;
        }
        bool k = keep && keep->cval.i;
        return b == B_ARGMAX || b == B_ARGMIN ? emit_argreduce(e, n, b, a[0], ax, k)
                                              : emit_reduce(e, n, b, a[0], ax, k);
    }
    case B_DOT: {
        Node *acc = n->args.len > 2 ? a[2] : sema_named_arg(n, "acc");
        if (acc && acc->type.cls == TY_TYPE)
            acc = NULL;
        // out_type is the result's (accumulation) type; allow_tf32 permits, and on a CPU does
        // not need, reduced precision: full f32.
        return emit_matmul(e, n, a[0], a[1], acc);
    }
    default: break;
    }
    char what[64];
    snprintf(what, sizeof what, "'%s'", n->name);
    return unsupported(e, n, what);
}

// ================================================================ expressions

static MlirValue emit_tile_index(Emitter *e, Node *n) {
    const Type *bt = &n->base->type;
    bool whole = true;  // only ':' and None: a reshape that inserts unit dimensions
    for (int i = 0; i < n->args.len; i++) {
        Node *it = n->args.items[i];
        whole = whole && (it->kind == ND_NEWAXIS || (it->kind == ND_SLICE && !it->lhs && !it->rhs));
    }
    if (!whole) {
        // Constant slices and indices (checked by sema): a static extract_slice over the base's
        // dimensions (size 1 where indexed), then the result's shape in row-major order.
        MlirValue v = emit_expr(e, n->base);
        if (e->failed)
            return v;
        int64_t off[TILE_MAX_RANK], size[TILE_MAX_RANK], ones[TILE_MAX_RANK];
        int d = 0;
        for (int i = 0; i < n->args.len; i++) {
            Node *it = n->args.items[i];
            if (it->kind == ND_NEWAXIS)
                continue;
            if (it->kind == ND_SLICE) {
                off[d] = it->lhs ? it->lhs->cval.i : 0;
                size[d] = (it->rhs ? it->rhs->cval.i : bt->dims[d]) - off[d];
            } else {
                off[d] = it->cval.i;
                size[d] = 1;
            }
            ones[d++] = 1;
        }
        Type part = {.cls = TY_VALUE, .elem = bt->elem, .rank = bt->rank};
        memcpy(part.dims, size, sizeof(int64_t) * (size_t)bt->rank);
        MlirType pt = value_type(e, &part);
        MlirNamedAttribute attrs[4] = {
            named(e, "static_offsets", i64_array(e, bt->rank, off)),
            named(e, "static_sizes", i64_array(e, bt->rank, size)),
            named(e, "static_strides", i64_array(e, bt->rank, ones)),
            named(e, "operandSegmentSizes", segments(e, 4, (int32_t[]){1, 0, 0, 0})),
        };
        MlirValue p = mlirOperationGetResult(op(e, "tensor.extract_slice", 1, &pt, 1, &v, 4, attrs, 0), 0);
        return reshape_to(e, p, &part, &n->type);
    }
    MlirValue v = emit_expr(e, n->base);
    if (e->failed || n->type.rank == bt->rank)
        return v;
    if (bt->rank == 0)
        return op1(e, "tensor.splat", value_type(e, &n->type), 1, &v);
    // Each original dimension takes the new unit dimensions before it; trailing ones join the last.
    bool keep[TILE_MAX_RANK];
    for (int i = 0; i < n->args.len; i++)
        keep[i] = n->args.items[i]->kind == ND_SLICE;
    MlirType rt = value_type(e, &n->type);
    MlirNamedAttribute attrs[2] = {
        named(e, "reassociation", reassociation(e, n->args.len, keep)),
        named(e, "static_output_shape", i64_array(e, n->type.rank, n->type.dims)),
    };
    return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &rt, 1, &v, 2, attrs, 0), 0);
}

static MlirValue emit_expr(Emitter *e, Node *n) {
    if (e->failed)
        return (MlirValue){NULL};
    MlirLocation saved = e->ir.loc;
    e->ir.loc = mlirLocationFileLineColGet(e->ir.ctx, str(n->span.file->path), (unsigned)n->span.line,
                                           (unsigned)n->span.col);
    MlirValue v = {NULL};
    if (n->is_const && n->type.cls == TY_VALUE && n->type.rank == 0) {
        ElemType el = n->type.elem == EL_INT ? EL_I64 : n->type.elem == EL_FLOAT ? EL_F64 : n->type.elem;
        v = const_scalar(e, el, &n->cval);
    } else {
        switch (n->kind) {
        case ND_NAME:
            if (!lookup(e, n->sym, &v))
                internal_error(__FILE__, __LINE__, "no value for '%s'", n->name);
            break;
        case ND_UNARY: v = emit_unary(e, n); break;
        case ND_BINARY: v = emit_binary(e, n); break;
        case ND_CAST: {
            Node *x = n->args.items[0];
            v = emit_expr(e, x);
            if (!e->failed)
                v = convert(e, v, x->type.elem, n->elem, &x->type);
            break;
        }
        case ND_CALL: v = emit_call(e, n); break;
        case ND_INDEX:
            v = n->base->type.cls != TY_TENSOR ? emit_tile_index(e, n)
                : has_index_tile(n)            ? emit_gather(e, n, NULL, NULL)
                                               : emit_tensor_load(e, n);
            break;
        default: v = unsupported(e, n, node_kind_name(n->kind)); break;
        }
    }
    e->ir.loc = saved;
    return v;
}

// ================================================================ statements

// The variables (declared outside `n`) that `n` assigns, in first-assignment order.
static void assigned_vars(Emitter *e, const Node *n, const Symbol **out, int *count) {
    if (!n)
        return;
    if (n->kind == ND_ASSIGN && n->lhs->kind == ND_NAME && n->lhs->sym && n->lhs->sym->kind == SYM_VAR) {
        MlirValue ignored;
        bool outside = lookup(e, n->lhs->sym, &ignored);
        bool seen = false;
        for (int i = 0; i < *count; i++)
            seen = seen || out[i] == n->lhs->sym;
        if (outside && !seen && *count < 256)
            out[(*count)++] = n->lhs->sym;
    }
    const Node *kids[] = {n->then, n->els, n->body};
    for (size_t i = 0; i < 3; i++)
        assigned_vars(e, kids[i], out, count);
    if (n->kind == ND_BLOCK)
        for (int i = 0; i < n->args.len; i++)
            assigned_vars(e, n->args.items[i], out, count);
}

static void yield_vars(Emitter *e, const Symbol **vars, int n, const char *name) {
    MlirValue vals[256];
    for (int i = 0; i < n; i++)
        lookup(e, vars[i], &vals[i]);
    op(e, name, 0, NULL, n, vals, 0, NULL, 0);
}

static void emit_if(Emitter *e, Node *n);

// Emits `branch` (a block, an else-if, or nothing) into the region block `body`, then yields the
// current values of `vars`; bindings made inside are dropped afterwards.
static void emit_region(Emitter *e, MlirBlock body, Node *branch, const Symbol **vars, int nv) {
    MlirBlock saved = e->ir.block;
    int mark = e->nenv;
    e->ir.block = body;
    if (branch && branch->kind == ND_IF)
        emit_if(e, branch);
    else if (branch)
        emit_block(e, branch);
    if (!e->failed)
        yield_vars(e, vars, nv, "scf.yield");
    e->ir.block = saved;
    e->nenv = mark;
}

static void emit_for(Emitter *e, Node *n) {
    const Symbol *vars[256];
    int nv = 0;
    assigned_vars(e, n->body, vars, &nv);
    ElemType it = n->sym->type.elem;
    Type st = {.cls = TY_VALUE, .elem = it};
    MlirValue ops[3 + 256];
    ops[0] = operand(e, n->init, it, &st);
    ops[1] = operand(e, n->limit, it, &st);
    ops[2] = n->step ? operand(e, n->step, it, &st) : const_int(e, elem_type(e, it), 1);
    if (e->failed)
        return;
    if (n->step && !n->step->is_const) {
        // A step that is not positive at run time runs no iterations (docs/language.md §7):
        // step 1 from the start to the start.
        MlirType i1 = elem_type(e, EL_I1);
        MlirValue zero = const_int(e, elem_type(e, it), 0), one = const_int(e, elem_type(e, it), 1);
        MlirValue cops[2] = {ops[2], zero};
        MlirNamedAttribute sgt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 4));
        MlirValue pos = mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, cops, 1, &sgt, 0), 0);
        MlirValue s1[3] = {pos, ops[1], ops[0]}, s2[3] = {pos, ops[2], one};
        ops[1] = op1(e, "arith.select", elem_type(e, it), 3, s1);
        ops[2] = op1(e, "arith.select", elem_type(e, it), 3, s2);
    }
    MlirType types[1 + 256];
    types[0] = elem_type(e, it);
    for (int i = 0; i < nv; i++) {
        lookup(e, vars[i], &ops[3 + i]);
        types[1 + i] = mlirValueGetType(ops[3 + i]);
    }
    MlirOperation f = op(e, "scf.for", nv, types + 1, 3 + nv, ops, 0, NULL, 1);
    MlirBlock body = region_block(e, f, 0, 1 + nv, types);
    int mark = e->nenv;  // the loop variable and the carried values are bound inside only
    bind(e, n->sym, mlirBlockGetArgument(body, 0));
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirBlockGetArgument(body, 1 + i));
    emit_region(e, body, n->body, vars, nv);
    e->nenv = mark;
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirOperationGetResult(f, i));
}

// while cond { body }: scf.while carrying the variables the body assigns; the condition is
// evaluated in the "before" region on the current values.
static void emit_while(Emitter *e, Node *n) {
    const Symbol *vars[256];
    int nv = 0;
    assigned_vars(e, n->body, vars, &nv);
    MlirValue inits[256];
    MlirType types[256];
    for (int i = 0; i < nv; i++) {
        lookup(e, vars[i], &inits[i]);
        types[i] = mlirValueGetType(inits[i]);
    }
    MlirOperation w = op(e, "scf.while", nv, types, nv, inits, 0, NULL, 2);
    MlirBlock before = region_block(e, w, 0, nv, types), saved = e->ir.block;
    int mark = e->nenv;
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirBlockGetArgument(before, i));
    e->ir.block = before;
    MlirValue c = operand(e, n->cond, EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
    if (!e->failed) {
        MlirValue ops[1 + 256];
        ops[0] = c;
        for (int i = 0; i < nv; i++)
            ops[1 + i] = mlirBlockGetArgument(before, i);
        op(e, "scf.condition", 0, NULL, 1 + nv, ops, 0, NULL, 0);
    }
    e->ir.block = saved;
    e->nenv = mark;
    if (e->failed)
        return;
    MlirBlock after = region_block(e, w, 1, nv, types);
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirBlockGetArgument(after, i));
    emit_region(e, after, n->body, vars, nv);
    e->nenv = mark;
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirOperationGetResult(w, i));
}

static void emit_if(Emitter *e, Node *n) {
    const Symbol *vars[256];
    int nv = 0;
    assigned_vars(e, n->then, vars, &nv);
    assigned_vars(e, n->els, vars, &nv);
    MlirValue c = operand(e, n->cond, EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
    if (e->failed)
        return;
    MlirType types[256];
    for (int i = 0; i < nv; i++) {
        MlirValue v;
        lookup(e, vars[i], &v);
        types[i] = mlirValueGetType(v);
    }
    MlirOperation f = op(e, "scf.if", nv, types, 1, &c, 0, NULL, 2);
    for (int r = 0; r < 2; r++)
        emit_region(e, region_block(e, f, r, 0, NULL), r == 0 ? n->then : n->els, vars, nv);
    for (int i = 0; i < nv; i++)
        bind(e, vars[i], mlirOperationGetResult(f, i));
}

static void emit_stmt(Emitter *e, Node *n) {
    e->ir.loc = mlirLocationFileLineColGet(e->ir.ctx, str(n->span.file->path), (unsigned)n->span.line,
                                           (unsigned)n->span.col);
    switch (n->kind) {
    case ND_LET:
    case ND_VAR: {
        MlirValue v = operand(e, n->init, n->sym->type.elem, &n->sym->type);
        if (!e->failed)
            bind(e, n->sym, v);
        return;
    }
    case ND_ASSIGN:
        if (n->lhs->kind == ND_NAME) {
            MlirValue v = operand(e, n->init, n->lhs->sym->type.elem, &n->lhs->sym->type);
            if (!e->failed)
                bind(e, n->lhs->sym, v);
        } else if (has_index_tile(n->lhs)) {
            emit_scatter(e, n->lhs, n->init, NULL, B_STORE);
        } else {
            emit_tensor_store(e, n->lhs, n->init);
        }
        return;
    case ND_FOR: emit_for(e, n); return;
    case ND_IF: emit_if(e, n); return;
    case ND_BLOCK: emit_block(e, n); return;
    case ND_RETURN: return;  // a helper's value: read by emit_helper
    case ND_EXPR_STMT: emit_expr(e, n->lhs); return;
    case ND_WHILE: emit_while(e, n); return;
    default: unsupported(e, n, node_kind_name(n->kind)); return;
    }
}

static void emit_block(Emitter *e, Node *block) {
    int mark = e->nenv;
    for (int i = 0; i < block->args.len && !e->failed; i++)
        emit_stmt(e, block->args.items[i]);
    // Variables assigned here but declared outside keep their new values.
    int keep = mark;
    for (int i = mark; i < e->nenv; i++) {
        const Symbol *s = e->env[i].sym;
        bool declared_inside = false;
        for (int j = mark; j < i && !declared_inside; j++)
            declared_inside = e->env[j].sym == s;
        if (s->kind == SYM_VAR && !declared_inside) {
            bool before = false;
            for (int j = 0; j < mark && !before; j++)
                before = e->env[j].sym == s;
            if (before)
                e->env[keep++] = e->env[i];
        }
    }
    e->nenv = keep;
}

// ================================================================ kernels

// A func.func `name` in the module (private unless `public_`), its body the current block, with
// no bindings yet.
static MlirBlock new_func(Emitter *e, MlirModule module, const char *name, int na, const MlirType *args,
                          int nres, const MlirType *res, bool public_) {
    MlirType fty = mlirFunctionTypeGet(e->ir.ctx, na, args, nres, res);
    MlirNamedAttribute attrs[3] = {
        named(e, "sym_name", mlirStringAttrGet(e->ir.ctx, str(name))),
        named(e, "function_type", mlirTypeAttrGet(fty)),
        named(e, "sym_visibility", mlirStringAttrGet(e->ir.ctx, str("private"))),
    };
    e->ir.block = mlirModuleGetBody(module);
    MlirOperation f = op(e, "func.func", 0, NULL, 0, NULL, public_ ? 2 : 3, attrs, 1);
    MlirBlock body = region_block(e, f, 0, na, args);
    e->ir.block = body;
    e->nenv = 0;
    return body;
}

// Binds a kernel's scalars, sizes and strides to values[0..], in ABI order; returns how many.
static int bind_scalars(Emitter *e, const KernelInfo *ki, const MlirValue *values) {
    int a = 0;
    for (int i = 0; i < ki->nscalars; i++)
        bind(e, ki->scalars[i], values[a++]);
    for (int i = 0; i < ki->nsizes; i++)
        bind(e, ki->sizes[i], values[a++]);
    for (int i = 0; i < ki->nstrides; i++)
        bind(e, ki->strides[i], values[a++]);
    return a;
}

// Block arguments first .. first + n - 1 into out.
static void block_args(MlirBlock b, int first, int n, MlirValue *out) {
    for (int i = 0; i < n; i++)
        out[i] = mlirBlockGetArgument(b, first + i);
}

static MlirValue descriptor(Emitter *e, const Symbol *ts, MlirValue p);

static void emit_kernel(Emitter *e, MlirModule module, Node *k) {
    KernelInfo *ki = k->kinfo;
    MlirType args[64 + 4 * TILE_MAX_RANK];
    int na = 0;
    e->ir.loc = mlirLocationFileLineColGet(e->ir.ctx, str(k->span.file->path), (unsigned)k->span.line,
                                           (unsigned)k->span.col);
    if (ki->ntensors + ki->nscalars + ki->nsizes + ki->nstrides + 6 > 64) {
        unsupported(e, k, "kernels with more than 58 parameters, sizes and strides");
        return;
    }
    for (int i = 0; i < ki->ntensors; i++)
        args[na++] = e->gpu ? mlirLLVMPointerTypeGet(e->ir.ctx, 0) : memref_type(e, ki->tensors[i]);
    for (int i = 0; i < ki->nscalars; i++)
        args[na++] = elem_type(e, ki->scalars[i]->type.elem);
    for (int i = 0; i < ki->nsizes + ki->nstrides + 6; i++)
        args[na++] = i64t(e);
    char name[512];
    snprintf(name, sizeof name, "%s__program", e->sym);
    MlirBlock body = new_func(e, module, name, na, args, 0, NULL, true);
    int a = ki->ntensors;
    MlirValue vals[64];
    block_args(body, a, ki->nscalars + ki->nsizes + ki->nstrides, vals);
    a += bind_scalars(e, ki, vals);
    // For the GPU, each tensor's memref is a descriptor over its pointer argument, which the
    // GPU backend reads back (backends/gpu.h); for the CPU the entry passes memrefs.
    for (int i = 0; i < ki->ntensors; i++)
        bind(e, ki->tensors[i],
             e->gpu ? descriptor(e, ki->tensors[i], mlirBlockGetArgument(body, i))
                    : mlirBlockGetArgument(body, i));
    for (int i = 0; i < 3; i++)
        e->pid[i] = mlirBlockGetArgument(body, a++);
    for (int i = 0; i < 3; i++)
        e->np[i] = mlirBlockGetArgument(body, a++);
    e->kernel = k;
    emit_block(e, k->body);
    e->ir.block = body;
    op(e, "func.return", 0, NULL, 0, NULL, 0, NULL, 0);
}

// ================================================================ the C entry

// One field of a memref descriptor and its position in the LLVM struct.
typedef struct DescField {
    MlirValue v;
    int64_t pos[2];
    int npos;
} DescField;

// The address of 8-byte slot i of an argument context.
static MlirValue slot(Emitter *e, MlirValue ctx, int i) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    MlirValue idx = const_int(e, i64t(e), i);
    MlirValue ops[2] = {ctx, idx};
    MlirNamedAttribute attrs[2] = {
        named(e, "rawConstantIndices", mlirDenseI32ArrayGet(e->ir.ctx, 1, (int32_t[]){INT32_MIN})),
        named(e, "elem_type", mlirTypeAttrGet(i64t(e))),
    };
    return mlirOperationGetResult(op(e, "llvm.getelementptr", 1, &ptr, 2, ops, 2, attrs, 0), 0);
}

// The memref of tensor `ts` over pointer p: a descriptor {allocated, aligned, offset, sizes[r],
// strides[r]} cast to the memref type. Sizes and strides come from the bound symbols.
static MlirValue descriptor(Emitter *e, const Symbol *ts, MlirValue p) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    int r = ts->type.rank;
    MlirType arr = mlirLLVMArrayTypeGet(i64t(e), (unsigned)r);
    MlirType fields[5] = {ptr, ptr, i64t(e), arr, arr};
    MlirType st_t = mlirLLVMStructTypeLiteralGet(e->ir.ctx, 5, fields, false);
    MlirValue dsc = mlirOperationGetResult(op(e, "llvm.mlir.undef", 1, &st_t, 0, NULL, 0, NULL, 0), 0);
    MlirValue dims[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int d = 0; d < r; d++)
        dims[d] = size_value(e, ts, d);
    for (int d = r - 1; d >= 0; d--) {
        if (ts->strides[d])
            lookup(e, ts->strides[d], &strides[d]);
        else if (ts->const_strides[d] >= 0)
            strides[d] = const_int(e, i64t(e), ts->const_strides[d]);
        else
            strides[d] =
                d == r - 1 ? const_int(e, i64t(e), 1) : binop(e, "arith.muli", strides[d + 1], dims[d + 1]);
    }
    DescField in[3 + 2 * TILE_MAX_RANK];
    int nf = 0;
    in[nf++] = (DescField){p, {0}, 1};
    in[nf++] = (DescField){p, {1}, 1};
    in[nf++] = (DescField){const_int(e, i64t(e), 0), {2}, 1};
    for (int d = 0; d < r; d++) {
        in[nf++] = (DescField){dims[d], {3, d}, 2};
        in[nf++] = (DescField){strides[d], {4, d}, 2};
    }
    for (int j = 0; j < nf; j++) {
        MlirValue ops[2] = {dsc, in[j].v};
        MlirNamedAttribute pos = named(e, "position", i64_array(e, in[j].npos, in[j].pos));
        dsc = mlirOperationGetResult(op(e, "llvm.insertvalue", 1, &st_t, 2, ops, 1, &pos, 0), 0);
    }
    return op1(e, "builtin.unrealized_conversion_cast", memref_type(e, ts), 1, &dsc);
}

// void NAME__task(void *ctx, int64_t index): one program instance of the flattened grid, with
// the arguments unpacked from the entry's context.
static void emit_task(Emitter *e, MlirModule module, Node *k, const MlirType *arg_types, int na) {
    KernelInfo *ki = k->kinfo;
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    MlirType targs[2] = {ptr, i64t(e)};
    char name[512];
    snprintf(name, sizeof name, "%s__task", e->sym);
    MlirBlock body = new_func(e, module, name, 2, targs, 0, NULL, false);
    MlirValue ctxp = mlirBlockGetArgument(body, 0), index = mlirBlockGetArgument(body, 1);
    MlirValue vals[64 + 3];
    for (int i = 0; i < na + 3; i++) {
        MlirType t = i < na ? arg_types[i] : i64t(e);
        MlirValue a = slot(e, ctxp, i);
        vals[i] = op1(e, "llvm.load", t, 1, &a);
    }
    bind_scalars(e, ki, vals + ki->ntensors);
    MlirValue *grid = &vals[na];
    MlirValue call_args[64 + 6];
    int nc = 0;
    for (int t = 0; t < ki->ntensors; t++)
        call_args[nc++] = descriptor(e, ki->tensors[t], vals[t]);
    for (int i = ki->ntensors; i < na; i++)
        call_args[nc++] = vals[i];
    // index = (p0 * g1 + p1) * g2 + p2
    MlirValue g12 = binop(e, "arith.muli", grid[1], grid[2]);
    MlirValue rem = binop(e, "arith.remsi", index, g12);
    call_args[nc++] = binop(e, "arith.divsi", index, g12);
    call_args[nc++] = binop(e, "arith.divsi", rem, grid[2]);
    call_args[nc++] = binop(e, "arith.remsi", rem, grid[2]);
    for (int i = 0; i < 3; i++)
        call_args[nc++] = grid[i];
    char pname[512];
    snprintf(pname, sizeof pname, "%s__program", e->sym);
    MlirNamedAttribute callee = named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(pname)));
    op(e, "func.call", 0, NULL, nc, call_args, 1, &callee, 0);
    op(e, "func.return", 0, NULL, 0, NULL, 0, NULL, 0);
}

// The thread pool's entry point (runtime/tilec_rt.h), declared once per module; for the GPU,
// the kernel's launcher NAME__cuda_launch(blocks, stream, parameters), once per kernel.
static void declare_runtime(Emitter *e, MlirModule module) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0), i32 = elem_type(e, EL_I32);
    MlirType targs[2] = {ptr, i64t(e)};
    MlirType task_t = mlirFunctionTypeGet(e->ir.ctx, 2, targs, 0, NULL);
    MlirType args[3] = {i64t(e), e->gpu ? ptr : task_t, ptr};
    MlirType fty = mlirFunctionTypeGet(e->ir.ctx, 3, args, e->gpu ? 1 : 0, &i32);
    char name[512];
    snprintf(name, sizeof name, "%s__cuda_launch", e->sym);
    MlirNamedAttribute attrs[3] = {
        named(e, "sym_name", mlirStringAttrGet(e->ir.ctx, str(e->gpu ? name : "tilec_rt_parallel_for"))),
        named(e, "function_type", mlirTypeAttrGet(fty)),
        named(e, "sym_visibility", mlirStringAttrGet(e->ir.ctx, str("private"))),
    };
    e->ir.block = mlirModuleGetBody(module);
    e->ir.loc = mlirLocationUnknownGet(e->ir.ctx);
    op(e, "func.func", 0, NULL, 0, NULL, 3, attrs, 1);  // a declaration: no body
}

// int NAME(tensors as pointers, scalars, sizes, strides): checks the arguments, packs them and
// the grid into a context, and hands the grid to the runtime's thread pool, which calls
// NAME__task for each program instance. Returns 0, or 1
// (a negative size or stride), 2 (a null pointer to a non-empty tensor), 3 (a run-time
// constraint is false). For the GPU the entry is NAME_launch(stream, the same arguments): the
// same checks, then NAME__cuda_launch(blocks, stream, kernel parameters), which the GPU backend
// defines (backends/gpu.h), launches the grid and returns the status.
static void emit_entry(Emitter *e, MlirModule module, Node *k) {
    KernelInfo *ki = k->kinfo;
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0), i32 = elem_type(e, EL_I32), i1 = elem_type(e, EL_I1);
    MlirType args[65];
    int na = 0, a0 = e->gpu ? 1 : 0;  // the stream comes first for the GPU
    if (e->gpu)
        args[na++] = ptr;
    for (int i = 0; i < ki->ntensors; i++)
        args[na++] = ptr;
    for (int i = 0; i < ki->nscalars; i++)
        args[na++] = elem_type(e, ki->scalars[i]->type.elem);
    for (int i = 0; i < ki->nsizes + ki->nstrides; i++)
        args[na++] = i64t(e);
    char fname[512];
    snprintf(fname, sizeof fname, "%s%s", e->sym, e->gpu ? "_launch" : "");
    MlirBlock body = new_func(e, module, fname, na, args, 1, &i32, true);
    MlirValue vals[64];
    block_args(body, a0 + ki->ntensors, na - a0 - ki->ntensors, vals);
    bind_scalars(e, ki, vals);
    MlirValue zero = const_int(e, i64t(e), 0);
    MlirNamedAttribute slt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    MlirNamedAttribute sgt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 4));
    MlirNamedAttribute ieq = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 0));
    // 1: a negative size or stride
    MlirValue bad = const_int(e, i1, 0);
    for (int i = a0 + ki->ntensors + ki->nscalars; i < na; i++) {
        MlirValue ops[2] = {mlirBlockGetArgument(body, i), zero};
        bad = binop(e, "arith.ori", bad,
                    mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ops, 1, &slt, 0), 0));
    }
    // 2: a null pointer to a tensor with elements
    MlirValue null_bad = const_int(e, i1, 0);
    MlirValue nullp = mlirOperationGetResult(op(e, "llvm.mlir.zero", 1, &ptr, 0, NULL, 0, NULL, 0), 0);
    for (int t = 0; t < ki->ntensors; t++) {
        MlirValue ops[2] = {mlirBlockGetArgument(body, a0 + t), nullp};
        MlirValue isnull = mlirOperationGetResult(op(e, "llvm.icmp", 1, &i1, 2, ops, 1, &ieq, 0), 0);
        MlirValue nonempty = const_int(e, i1, 1);
        for (int d = 0; d < ki->tensors[t]->type.rank; d++) {
            MlirValue dops[2] = {size_value(e, ki->tensors[t], d), zero};
            nonempty = binop(e, "arith.andi", nonempty,
                             mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, dops, 1, &sgt, 0), 0));
        }
        null_bad = binop(e, "arith.ori", null_bad, binop(e, "arith.andi", isnull, nonempty));
    }
    // 3: a run-time constraint is false
    MlirValue where_bad = const_int(e, i1, 0);
    for (int w = 0; w < ki->nruntime_wheres; w++) {
        MlirValue c = operand(e, ki->runtime_wheres[w], EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
        if (e->failed)
            return;
        where_bad = binop(e, "arith.ori", where_bad, binop(e, "arith.xori", c, const_int(e, i1, 1)));
    }
    MlirValue st = const_int(e, i32, 0);
    MlirValue codes[3] = {const_int(e, i32, 3), const_int(e, i32, 2), const_int(e, i32, 1)};
    MlirValue conds[3] = {where_bad, null_bad, bad};
    for (int i = 0; i < 3; i++) {  // the lowest code wins
        MlirValue ops[3] = {conds[i], codes[i], st};
        st = op1(e, "arith.select", i32, 3, ops);
    }
    // The grid.
    MlirValue grid[3];
    Node *g = k->grid.len ? k->grid.items[0] : NULL;
    for (int i = 0; i < 3; i++) {
        grid[i] = const_int(e, i64t(e), 1);
        if (g && i < g->args.len)
            grid[i] = operand(e, g->args.items[i], EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
    }
    if (e->failed)
        return;
    MlirValue ok_ops[2] = {st, const_int(e, i32, 0)};
    MlirValue run = mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ok_ops, 1, &ieq, 0), 0);
    MlirOperation iff = op(e, "scf.if", 1, &i32, 1, &run, 0, NULL, 2);
    MlirBlock then = region_block(e, iff, 0, 0, NULL), els = region_block(e, iff, 1, 0, NULL);
    e->ir.block = els;
    op(e, "scf.yield", 0, NULL, 1, &st, 0, NULL, 0);
    e->ir.block = then;
    // The arguments and the grid go into a context of 8-byte slots: for NAME__task, which the
    // runtime runs over its threads for each program of the flattened grid, or, through an
    // array of pointers to the slots, as the GPU kernel's parameters.
    int nslots = na - a0 + 3;
    MlirValue one = const_int(e, i64t(e), 1);
    MlirType slots_t = mlirLLVMArrayTypeGet(i64t(e), (unsigned)nslots);
    MlirNamedAttribute elem = named(e, "elem_type", mlirTypeAttrGet(slots_t));
    MlirValue ctxp = mlirOperationGetResult(op(e, "llvm.alloca", 1, &ptr, 1, &one, 1, &elem, 0), 0);
    MlirValue slots[64 + 3];
    for (int i = 0; i < nslots; i++) {
        MlirValue v = i < na - a0 ? mlirBlockGetArgument(body, a0 + i) : grid[i - na + a0];
        slots[i] = slot(e, ctxp, i);
        MlirValue ops[2] = {v, slots[i]};
        op(e, "llvm.store", 0, NULL, 2, ops, 0, NULL, 0);
    }
    MlirValue total = binop(e, "arith.muli", binop(e, "arith.muli", grid[0], grid[1]), grid[2]);
    MlirValue status = const_int(e, i32, 0);
    if (e->gpu) {
        MlirValue params = mlirOperationGetResult(op(e, "llvm.alloca", 1, &ptr, 1, &one, 1, &elem, 0), 0);
        for (int i = 0; i < nslots; i++) {
            MlirValue ops[2] = {slots[i], slot(e, params, i)};
            op(e, "llvm.store", 0, NULL, 2, ops, 0, NULL, 0);
        }
        char lname[512];
        snprintf(lname, sizeof lname, "%s__cuda_launch", e->sym);
        MlirValue call_ops[3] = {total, mlirBlockGetArgument(body, 0), params};
        MlirNamedAttribute callee = named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(lname)));
        status = mlirOperationGetResult(op(e, "func.call", 1, &i32, 3, call_ops, 1, &callee, 0), 0);
    } else {
        MlirType task_args[2] = {ptr, i64t(e)};
        MlirType task_t = mlirFunctionTypeGet(e->ir.ctx, 2, task_args, 0, NULL);
        char tname[512];
        snprintf(tname, sizeof tname, "%s__task", e->sym);
        MlirNamedAttribute fattr = named(e, "value", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(tname)));
        MlirValue fn = mlirOperationGetResult(op(e, "func.constant", 1, &task_t, 0, NULL, 1, &fattr, 0), 0);
        MlirValue call_ops[3] = {total, fn, ctxp};
        MlirNamedAttribute callee =
            named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str("tilec_rt_parallel_for")));
        op(e, "func.call", 0, NULL, 3, call_ops, 1, &callee, 0);
    }
    op(e, "scf.yield", 0, NULL, 1, &status, 0, NULL, 0);
    e->ir.block = body;
    MlirValue result = mlirOperationGetResult(iff, 0);
    op(e, "func.return", 0, NULL, 1, &result, 0, NULL, 0);
    if (!e->gpu)
        emit_task(e, module, k, args, na);
}

MlirContext lower_context(void) {
    static bool passes_registered;
    if (!passes_registered) {
        mlirRegisterAllPasses();
        passes_registered = true;
    }
    MlirContext ctx = mlirContextCreate();
    MlirDialectRegistry reg = mlirDialectRegistryCreate();
    mlirRegisterAllDialects(reg);
    mlirContextAppendDialectRegistry(ctx, reg);
    mlirDialectRegistryDestroy(reg);
    mlirContextLoadAllAvailableDialects(ctx);
    return ctx;
}

static bool finish_module(MlirModule module, bool ok, MlirModule *out) {
    if (!ok) {
        mlirModuleDestroy(module);
        return false;
    }
    MlirOperation m = mlirModuleGetOperation(module);
    if (!mlirOperationVerify(m)) {
        mlirOperationPrint(m, ir_print_to_file, stderr);
        internal_error(__FILE__, __LINE__, "the tile-level module does not verify (printed above)");
    }
    *out = module;
    return true;
}

bool lower_build_module(MlirContext ctx, Program *prog, const SemaOptions *opts, const char *only, bool gpu,
                        MlirModule *out) {
    Emitter e = {.ir.ctx = ctx, .gpu = gpu};
    MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(ctx));
    bool ok = true, declared = false;
    for (int i = 0; i < prog->decls.len && ok; i++) {
        Node *k = prog->decls.items[i];
        if (k->kind != ND_KERNEL || k->span.file->import_depth != 0 || (only && strcmp(only, k->name)))
            continue;
        Config cfg;
        if (!sema_default_config(prog, k, opts, &cfg) || !sema_check_kernel(prog, k, &cfg)) {
            ok = false;
            break;
        }
        e.sym = k->name;
        if (!declared || gpu)
            declare_runtime(&e, module);
        declared = true;
        emit_kernel(&e, module, k);
        if (!e.failed)
            emit_entry(&e, module, k);
        ok = !e.failed;
    }
    return finish_module(module, ok, out);
}

bool lower_build_variant(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                         bool gpu, MlirModule *out) {
    Emitter e = {.ir.ctx = ctx, .sym = sym, .gpu = gpu};
    MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(ctx));
    bool ok = sema_check_kernel(prog, kernel, cfg);
    if (ok) {
        declare_runtime(&e, module);
        emit_kernel(&e, module, kernel);
        if (!e.failed)
            emit_entry(&e, module, kernel);
        ok = !e.failed;
    }
    return finish_module(module, ok, out);
}

void lower_print_module(MlirModule module, bool debuginfo, FILE *out) {
    MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
    mlirOpPrintingFlagsEnableDebugInfo(flags, debuginfo, false);
    mlirOperationPrintWithFlags(mlirModuleGetOperation(module), flags, ir_print_to_file, out);
    mlirOpPrintingFlagsDestroy(flags);
    fputc('\n', out);
}
