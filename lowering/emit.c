// lowering/emit.c — the checked AST of one kernel configuration as tile-level MLIR, built op by
// op through the MLIR C API (docs/lowering.md). This file: the emitter's symbol bindings,
// elementwise conversions and broadcasts, operators, expressions, and statements and control
// flow (scf.for, scf.while, scf.if). Builtin calls are in emit_calls.c, tensor accesses in
// emit_memory.c, the C entry and ABI in emit_entry.c; emit.h is what they share.
#include <string.h>

#include "emit.h"

// ================================================================ state

// A construct the lowering does not handle yet: a user-visible error, not a crash.
MlirValue emit_unsupported(Emitter *e, const Node *n, const char *what) {
    if (!e->failed)
        error_at(n->span, "lowering of %s is not implemented yet", what);
    e->failed = true;
    return (MlirValue){NULL};
}

void emit_bind(Emitter *e, const Symbol *sym, MlirValue v) {
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

bool emit_lookup(Emitter *e, const Symbol *sym, MlirValue *out) {
    for (int i = e->nenv - 1; i >= 0; i--)
        if (e->env[i].sym == sym) {
            *out = e->env[i].value;
            return true;
        }
    if (sym->list_load) {  // a list's element or its size: loaded where it is used
        *out = emit_list_value(e, sym);
        return !e->failed;
    }
    return false;
}

// ================================================================ elementwise helpers

// Converts a scalar or tile value from element type `from` to `to` (same shape).
MlirValue emit_convert(Emitter *e, MlirValue v, ElemType from, ElemType to, const Type *shape) {
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
    if (!ff && !tf && elem_bits(to) == elem_bits(from))  // i32 <-> u32: the same bits
        return v;
    if (ff && tf)
        name = elem_bits(to) > elem_bits(from) ? "arith.extf" : "arith.truncf";
    else if (!ff && !tf)
        name = elem_bits(to) < elem_bits(from)           ? "arith.trunci"
               : from == EL_I1 || elem_is_unsigned(from) ? "arith.extui"
                                                         : "arith.extsi";
    else if (ff)
        name = elem_is_unsigned(to) ? "arith.fptoui" : "arith.fptosi";
    else
        name = from == EL_I1 || elem_is_unsigned(from) ? "arith.uitofp" : "arith.sitofp";
    if (ff && tf && elem_bits(to) == elem_bits(from))  // f16 <-> bf16: through f32
        return emit_convert(e, emit_convert(e, v, from, EL_F32, shape), EL_F32, to, shape);
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

MlirAttribute emit_parallel_iterators(Emitter *e, int rank) {
    MlirAttribute it[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        it[i] = mlirAttributeParseGet(e->ir.ctx, str("#linalg.iterator_type<parallel>"));
    return mlirArrayAttrGet(e->ir.ctx, rank, it);
}

MlirValue emit_empty_tensor(Emitter *e, const Type *t) {
    MlirType rt = tensor_of(e, t->elem, t->rank, t->dims);  // 0-d for a full reduction
    return mlirOperationGetResult(op(e, "tensor.empty", 1, &rt, 0, NULL, 0, NULL, 0), 0);
}

// Gives a linalg op with one input and one output the body that yields the input element (a
// copy that moves elements: broadcasting generic, transpose); returns its result.
MlirValue emit_copy_body(Emitter *e, MlirOperation o, ElemType elem) {
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
MlirValue emit_broadcast_to(Emitter *e, MlirValue v, const Type *from, const Type *to) {
    if (to->rank == 0)
        return v;
    if (from->rank == to->rank && memcmp(from->dims, to->dims, sizeof(int64_t) * (size_t)to->rank) == 0)
        return v;
    MlirType rt = value_type(e, to);
    if (from->rank == 0)
        return op1(e, "tensor.splat", rt, 1, &v);
    MlirValue ops[2] = {v, emit_empty_tensor(e, to)};
    MlirAttribute maps[2] = {broadcast_map(e, from, to),
                             mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, to->rank))};
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, 2, maps)),
        named(e, "iterator_types", emit_parallel_iterators(e, to->rank)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){1, 1})),
    };
    MlirOperation g = op(e, "linalg.generic", 1, &rt, 2, ops, 3, attrs, 1);
    return emit_copy_body(e, g, to->elem);
}

// Lowers n and converts it to element type `el` and broadcast shape `to`.
MlirValue emit_operand(Emitter *e, Node *n, ElemType el, const Type *to) {
    MlirValue v;
    if (n->is_const && n->type.rank == 0) {
        v = const_scalar(e, el, &n->cval);
    } else {
        v = emit_expr(e, n);
        if (e->failed)
            return v;
        v = emit_convert(e, v, n->type.elem, el, &n->type);
    }
    Type from = n->type;
    from.elem = el;
    Type target = *to;
    target.elem = el;
    return emit_broadcast_to(e, v, &from, &target);
}

// ================================================================ operators

static int cmp_predicate(int op_, bool is_float, bool is_unsigned) {
    // arith.cmpf: oeq 1, ogt 2, oge 3, olt 4, ole 5, une 13; arith.cmpi: eq 0, ne 1, slt 2, sle 3,
    // sgt 4, sge 5, ult 6, ule 7, ugt 8, uge 9.
    int u = is_unsigned ? 4 : 0;
    switch (op_) {
    case OP_EQ: return is_float ? 1 : 0;
    case OP_NE: return is_float ? 13 : 1;
    case OP_LT: return is_float ? 4 : 2 + u;
    case OP_LE: return is_float ? 5 : 3 + u;
    case OP_GT: return is_float ? 2 : 4 + u;
    case OP_GE: return is_float ? 3 : 5 + u;
    }
    unreachable();
}

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
    MlirValue a = emit_operand(e, n->lhs, el, &n->type);
    MlirValue b = emit_operand(e, n->rhs, el, &n->type);
    if (e->failed)
        return a;
    bool fl = elem_is_float(el);
    if (cmp) {
        MlirType rt = value_type(e, &n->type);
        MlirValue ops[2] = {a, b};
        MlirNamedAttribute pred = named(
            e, "predicate", mlirIntegerAttrGet(i64t(e), cmp_predicate(n->op, fl, elem_is_unsigned(el))));
        return mlirOperationGetResult(op(e, fl ? "arith.cmpf" : "arith.cmpi", 1, &rt, 2, ops, 1, &pred, 0),
                                      0);
    }
    const char *name = NULL;
    bool uns = elem_is_unsigned(el);
    switch (n->op) {
    case OP_ADD: name = fl ? "arith.addf" : "arith.addi"; break;
    case OP_SUB: name = fl ? "arith.subf" : "arith.subi"; break;
    case OP_MUL: name = fl ? "arith.mulf" : "arith.muli"; break;
    case OP_DIV: name = fl ? "arith.divf" : uns ? "arith.divui" : "arith.divsi"; break;
    case OP_MOD: name = uns ? "arith.remui" : "arith.remsi"; break;
    case OP_AND:
    case OP_BITAND: name = "arith.andi"; break;
    case OP_OR:
    case OP_BITOR: name = "arith.ori"; break;
    case OP_BITXOR: name = "arith.xori"; break;
    case OP_SHL: name = "arith.shli"; break;
    case OP_SHR: name = uns ? "arith.shrui" : "arith.shrsi"; break;
    }
    return binop(e, name, a, b);
}

static MlirValue emit_unary(Emitter *e, Node *n) {
    MlirValue x = emit_operand(e, n->lhs, n->type.elem, &n->type);
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
        return emit_reshape_to(e, p, &part, &n->type);
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
        named(e, "reassociation", emit_reassociation(e, n->args.len, keep)),
        named(e, "static_output_shape", i64_array(e, n->type.rank, n->type.dims)),
    };
    return mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &rt, 1, &v, 2, attrs, 0), 0);
}

MlirValue emit_expr(Emitter *e, Node *n) {
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
            if (!emit_lookup(e, n->sym, &v))
                internal_error(__FILE__, __LINE__, "no value for '%s'", n->name);
            break;
        case ND_UNARY: v = emit_unary(e, n); break;
        case ND_BINARY: v = emit_binary(e, n); break;
        case ND_CAST: {
            Node *x = n->args.items[0];
            v = emit_expr(e, x);
            if (!e->failed)
                v = emit_convert(e, v, x->type.elem, n->elem, &x->type);
            break;
        }
        case ND_CALL: v = emit_call(e, n); break;
        case ND_INDEX:
            v = n->base->type.cls != TY_TENSOR ? emit_tile_index(e, n)
                : emit_has_index_tile(n)       ? emit_gather(e, n, NULL, NULL)
                                               : emit_tensor_load(e, n);
            break;
        default: v = emit_unsupported(e, n, node_kind_name(n->kind)); break;
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
        bool outside = emit_lookup(e, n->lhs->sym, &ignored);
        bool seen = false;
        for (int i = 0; i < *count; i++)
            seen = seen || out[i] == n->lhs->sym;
        if (outside && !seen && *count < 256)
            out[(*count)++] = n->lhs->sym;
    }
    for (int i = 0; n->kind == ND_UNPACK && n->op == UNPACK_ASSIGN && i < n->args.len; i++) {
        const Symbol *s = n->args.items[i]->sym;
        MlirValue ignored;
        bool seen = false;
        for (int j = 0; j < *count; j++)
            seen = seen || out[j] == s;
        if (s && s->kind == SYM_VAR && emit_lookup(e, s, &ignored) && !seen && *count < 256)
            out[(*count)++] = s;
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
        emit_lookup(e, vars[i], &vals[i]);
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
    ops[0] = emit_operand(e, n->init, it, &st);
    ops[1] = emit_operand(e, n->limit, it, &st);
    ops[2] = n->step ? emit_operand(e, n->step, it, &st) : const_int(e, elem_type(e, it), 1);
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
        emit_lookup(e, vars[i], &ops[3 + i]);
        types[1 + i] = mlirValueGetType(ops[3 + i]);
    }
    // Unsigned bounds compare unsigned (a u32 bound past 2^31 is not negative).
    MlirNamedAttribute ucmp = named(e, "unsignedCmp", mlirUnitAttrGet(e->ir.ctx));
    MlirOperation f = op(e, "scf.for", nv, types + 1, 3 + nv, ops, elem_is_unsigned(it) ? 1 : 0, &ucmp, 1);
    MlirBlock body = region_block(e, f, 0, 1 + nv, types);
    int mark = e->nenv;  // the loop variable and the carried values are bound inside only
    emit_bind(e, n->sym, mlirBlockGetArgument(body, 0));
    for (int i = 0; i < nv; i++)
        emit_bind(e, vars[i], mlirBlockGetArgument(body, 1 + i));
    emit_region(e, body, n->body, vars, nv);
    e->nenv = mark;
    for (int i = 0; i < nv; i++)
        emit_bind(e, vars[i], mlirOperationGetResult(f, i));
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
        emit_lookup(e, vars[i], &inits[i]);
        types[i] = mlirValueGetType(inits[i]);
    }
    MlirOperation w = op(e, "scf.while", nv, types, nv, inits, 0, NULL, 2);
    MlirBlock before = region_block(e, w, 0, nv, types), saved = e->ir.block;
    int mark = e->nenv;
    for (int i = 0; i < nv; i++)
        emit_bind(e, vars[i], mlirBlockGetArgument(before, i));
    e->ir.block = before;
    MlirValue c = emit_operand(e, n->cond, EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
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
        emit_bind(e, vars[i], mlirBlockGetArgument(after, i));
    emit_region(e, after, n->body, vars, nv);
    e->nenv = mark;
    for (int i = 0; i < nv; i++)
        emit_bind(e, vars[i], mlirOperationGetResult(w, i));
}

static void emit_if(Emitter *e, Node *n) {
    const Symbol *vars[256];
    int nv = 0;
    assigned_vars(e, n->then, vars, &nv);
    assigned_vars(e, n->els, vars, &nv);
    MlirValue c = emit_operand(e, n->cond, EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
    if (e->failed)
        return;
    MlirType types[256];
    for (int i = 0; i < nv; i++) {
        MlirValue v;
        emit_lookup(e, vars[i], &v);
        types[i] = mlirValueGetType(v);
    }
    MlirOperation f = op(e, "scf.if", nv, types, 1, &c, 0, NULL, 2);
    for (int r = 0; r < 2; r++)
        emit_region(e, region_block(e, f, r, 0, NULL), r == 0 ? n->then : n->els, vars, nv);
    for (int i = 0; i < nv; i++)
        emit_bind(e, vars[i], mlirOperationGetResult(f, i));
}

static bool bound(Emitter *e, const Symbol *sym) {
    for (int i = e->nenv - 1; i >= 0; i--)
        if (e->env[i].sym == sym)
            return true;
    return false;
}

// Binds the list elements As[g] that statement n's expressions select (their sizes and memrefs,
// loaded here, before the statement), so that their accesses, inlined helpers included, read
// values of this block rather than loading them inside a loop or an elementwise body. Nested
// blocks bind their own; a while's condition, evaluated per iteration, loads where it is used.
static void bind_list_elements(Emitter *e, Node *n) {
    if (!n || e->failed)
        return;
    switch (n->kind) {
    case ND_FOR:
        bind_list_elements(e, n->init);
        bind_list_elements(e, n->limit);
        bind_list_elements(e, n->step);
        return;
    case ND_IF: bind_list_elements(e, n->cond); return;
    case ND_WHILE:
    case ND_BLOCK: return;
    default: break;
    }
    Node *kids[] = {n->lhs, n->rhs, n->cond, n->els, n->init, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        bind_list_elements(e, kids[i]);
    for (int i = 0; i < n->args.len; i++)
        bind_list_elements(e, n->args.items[i]);
    for (int i = 0; i < n->kwargs.len; i++)
        bind_list_elements(e, n->kwargs.items[i]);
    const Symbol *el = n->kind == ND_INDEX ? n->sym : NULL;
    if (!el || !el->list_load || bound(e, el))
        return;
    for (int d = 0; d < el->type.rank && !e->failed; d++)
        if (el->dims[d])
            emit_bind(e, el->dims[d], emit_list_value(e, el->dims[d]));
    if (!e->failed)
        emit_bind(e, el, emit_list_value(e, el));
}

void emit_stmt(Emitter *e, Node *n) {
    e->ir.loc = mlirLocationFileLineColGet(e->ir.ctx, str(n->span.file->path), (unsigned)n->span.line,
                                           (unsigned)n->span.col);
    bind_list_elements(e, n);
    switch (n->kind) {
    case ND_LET:
    case ND_VAR: {
        MlirValue v = emit_operand(e, n->init, n->sym->type.elem, &n->sym->type);
        if (!e->failed)
            emit_bind(e, n->sym, v);
        return;
    }
    case ND_ASSIGN:
        if (n->lhs->kind == ND_NAME) {
            MlirValue v = emit_operand(e, n->init, n->lhs->sym->type.elem, &n->lhs->sym->type);
            if (!e->failed)
                emit_bind(e, n->lhs->sym, v);
        } else if (emit_has_index_tile(n->lhs)) {
            emit_scatter(e, n->lhs, n->init, NULL, B_STORE);
        } else {
            emit_tensor_store(e, n->lhs, n->init);
        }
        return;
    case ND_UNPACK: {
        int count = n->args.len;
        Type *types = ast_alloc(sizeof(Type) * (size_t)count);
        MlirValue *values = ast_alloc(sizeof(MlirValue) * (size_t)count);
        for (int i = 0; i < count; i++)
            types[i] = n->args.items[i]->sym->type;
        emit_helper_values(e, n->init, count, types, values);
        for (int i = 0; i < count && !e->failed; i++)
            emit_bind(e, n->args.items[i]->sym, values[i]);
        return;
    }
    case ND_FOR: emit_for(e, n); return;
    case ND_IF: emit_if(e, n); return;
    case ND_BLOCK: emit_block(e, n); return;
    case ND_RETURN: return;  // a helper's value: read by emit_helper
    case ND_EXPR_STMT: emit_expr(e, n->lhs); return;
    case ND_WHILE: emit_while(e, n); return;
    default: emit_unsupported(e, n, node_kind_name(n->kind)); return;
    }
}

void emit_block(Emitter *e, Node *block) {
    int mark = e->nenv;
    for (int i = 0; i < block->args.len && !e->failed; i++)
        emit_stmt(e, block->args.items[i]);
    // Variables assigned here but declared outside keep their last new value; what was
    // declared here goes out of scope.
    int keep = mark;
    for (int i = mark; i < e->nenv; i++) {
        const Symbol *s = e->env[i].sym;
        if (s->kind != SYM_VAR)
            continue;
        bool later = false;
        for (int j = i + 1; j < e->nenv && !later; j++)
            later = e->env[j].sym == s;
        bool before = false;
        for (int j = 0; j < mark && !before; j++)
            before = e->env[j].sym == s;
        if (before && !later)
            e->env[keep++] = e->env[i];
    }
    e->nenv = keep;
}
