// lang/sema_expr.c — checking expressions: names, operators, element types, broadcasting,
// compile-time folding, indexing of tensors and tiles, helper calls (inlined per call).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sema_internal.h"

static Type set_type(Node *n, Type t) {
    n->type = t;
    return t;
}

static Type fail(Node *n) { return set_type(n, type_error()); }

bool is_value(const Type *t) { return t->cls == TY_VALUE; }
bool is_error(const Type *t) { return t->cls == TY_ERROR; }

int64_t type_elems(const Type *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static const char *tstr(const Type *t, char *buf) { return type_str(t, buf, 96); }

static bool is_untyped(ElemType e) { return e == EL_INT || e == EL_FLOAT; }

// ================================================================ constants

static bool fits(int64_t v, ElemType e) {
    switch (e) {
    case EL_I1: return v == 0 || v == 1;
    case EL_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case EL_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case EL_I32: return v >= INT32_MIN && v <= INT32_MAX;
    default: return true;
    }
}

static double float_max(ElemType e) {
    switch (e) {
    case EL_F16: return 65504.0;
    case EL_BF16: return 3.3895313892515355e38;
    case EL_F32: return 3.4028234663852886e38;
    default: return 1.7976931348623157e308;
    }
}

// A finite constant too large for a float type becomes infinity there: say so.
static void warn_float_overflow(const Node *n, double v, ElemType e) {
    if (isfinite(v) && fabs(v) > float_max(e))
        warning_at(n->span, "constant %g is out of range for %s and becomes %sinfinity", v, elem_name(e),
                   v < 0 ? "-" : "");
}

static void set_const_int(Node *n, int64_t v) {
    n->is_const = true;
    n->cval = (ConstVal){.is_float = false, .i = v, .f = (double)v};
}

static void set_const_float(Node *n, double v) {
    n->is_const = true;
    n->cval = (ConstVal){.is_float = true, .f = v};
}

static double const_as_float(const Node *n) { return n->cval.is_float ? n->cval.f : (double)n->cval.i; }

bool check_const_int(Sema *S, Node *n, const char *what, int64_t *out) {
    Type t = check_value(S, n);
    if (is_error(&t))
        return false;
    if (t.rank != 0) {
        char b[96];
        error_at(n->span, "%s must be a scalar integer, got %s", what, tstr(&t, b));
        return false;
    }
    if (!elem_is_int(t.elem)) {
        char b[96];
        error_at(n->span, "%s must be an integer, got %s", what, tstr(&t, b));
        return false;
    }
    if (!n->is_const) {
        error_at(n->span, "%s must be a compile-time constant", what);
        return false;
    }
    *out = n->cval.i;
    return true;
}

// ================================================================ element types

bool coerce_to(Node *n, ElemType elem, const char *what_) {
    char what[96];  // " as a loop bound", or nothing
    snprintf(what, sizeof what, "%s%s", what_[0] ? " " : "", what_);
    ElemType from = n->type.elem;
    if (is_error(&n->type))
        return false;
    if (from == elem)
        return true;
    if (from == EL_INT) {
        if (elem == EL_I1) {
            error_at(n->span, "integer constant cannot be used as i1%s; write true or false", what);
            return false;
        }
        if (elem_is_int(elem) && !fits(n->cval.i, elem)) {
            error_at(n->span, "constant %lld does not fit in %s%s", (long long)n->cval.i, elem_name(elem),
                     what);
            return false;
        }
        if (elem_is_float(elem)) {
            n->cval.f = (double)n->cval.i;
            n->cval.is_float = true;
            warn_float_overflow(n, n->cval.f, elem);
        }
        n->type.elem = elem;
        return true;
    }
    if (from == EL_FLOAT) {
        if (elem_is_float(elem)) {
            warn_float_overflow(n, n->cval.f, elem);
            n->type.elem = elem;
            return true;
        }
        error_at(n->span, "float constant cannot be used as %s%s", elem_name(elem), what);
        return false;
    }
    char b[96];
    error_at(n->span, "expected %s%s, got %s", elem_name(elem), what, tstr(&n->type, b));
    return false;
}

void concretize(Node *n) {
    if (n->type.cls != TY_VALUE)
        return;
    if (n->type.elem == EL_INT)
        coerce_to(n, fits(n->cval.i, EL_I32) ? EL_I32 : EL_I64, "");
    else if (n->type.elem == EL_FLOAT)
        coerce_to(n, EL_F32, "");
}

static ElemType wider_float(ElemType a, ElemType b) {
    if ((a == EL_F16 && b == EL_BF16) || (a == EL_BF16 && b == EL_F16))
        return EL_F32;
    return elem_bits(a) >= elem_bits(b) ? a : b;
}

ElemType unify_elems(Node *n, Node *a, Node *b, const char *op) {
    ElemType ea = a->type.elem, eb = b->type.elem;
    if (ea == eb)
        return ea;
    if (is_untyped(ea) && is_untyped(eb))
        return EL_FLOAT;  // an int constant meets a float constant
    if (is_untyped(ea))
        return coerce_to(a, eb, "") ? eb : EL_NONE;
    if (is_untyped(eb))
        return coerce_to(b, ea, "") ? ea : EL_NONE;
    if (elem_is_int(ea) && elem_is_int(eb))
        return elem_bits(ea) >= elem_bits(eb) ? ea : eb;
    if (elem_is_float(ea) && elem_is_float(eb))
        return wider_float(ea, eb);
    char b1[96], b2[96];
    error_range(n->nspan, n->span, "mismatched element types in '%s': %s and %s", op, tstr(&a->type, b1),
                tstr(&b->type, b2));
    if ((elem_is_float(ea) || elem_is_float(eb)) && ea != EL_I1 && eb != EL_I1)
        note_at(n->span, "convert one side explicitly, e.g. %s(...)", elem_name(elem_is_float(ea) ? ea : eb));
    return EL_NONE;
}

// ================================================================ shapes

bool broadcast_shapes(const Type *a, const Type *b, Type *out) {
    int rank = a->rank > b->rank ? a->rank : b->rank;
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        int ia = a->rank - rank + i, ib = b->rank - rank + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        out->dims[i] = da == 1 ? db : da;
    }
    return true;
}

bool check_tile_shape(Node *n, const Type *t) {
    int64_t total = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] <= 0) {
            error_at(n->span, "tile dimensions must be positive, got %lld", (long long)t->dims[i]);
            return false;
        }
        if (t->dims[i] > SEMA_MAX_TILE_ELEMS || total * t->dims[i] > SEMA_MAX_TILE_ELEMS) {
            char b[96];
            error_at(n->span, "tile %s is too large (the limit is %d elements)", tstr(t, b),
                     SEMA_MAX_TILE_ELEMS);
            return false;
        }
        total *= t->dims[i];
    }
    return true;
}

bool check_assignable(Node *n, const Type *to, const char *verb_target) {
    // verb_target is like "assign to 'acc'" or "store to tensor 'Y'".
    Type from = n->type;
    if (is_error(&from) || is_error(to))
        return false;
    char b1[96], b2[96];
    if (from.elem != to->elem) {
        if (is_untyped(from.elem)) {
            if (!coerce_to(n, to->elem, ""))
                return false;
        } else {
            error_at(n->span, "cannot %s of type %s: the value has type %s", verb_target, tstr(to, b1),
                     tstr(&from, b2));
            if (elem_is_float(to->elem) || elem_is_int(to->elem))
                note_at(n->span, "convert it explicitly with %s(...)", elem_name(to->elem));
            return false;
        }
    }
    Type bc;
    if (!broadcast_shapes(&from, to, &bc) || bc.rank != to->rank ||
        memcmp(bc.dims, to->dims, sizeof(int64_t) * (size_t)to->rank) != 0) {
        error_at(n->span, "cannot %s of type %s: the value's shape %s does not broadcast to it", verb_target,
                 tstr(to, b1), tstr(&from, b2));
        return false;
    }
    return true;
}

// ================================================================ names

const char *suggest_name(Sema *S, const char *name, bool callable) {
    const char *best = NULL;
    int best_d = (int)strlen(name) / 3 + 1;
    if (best_d > 3)
        best_d = 3;
    for (Scope *sc = S->scope; sc; sc = sc->parent)
        for (int i = 0; i < sc->n; i++) {
            bool is_fn = sc->syms[i]->kind == SYM_FUNC || sc->syms[i]->kind == SYM_KERNEL;
            if (is_fn != callable || sc->syms[i]->kind == SYM_KERNEL)
                continue;
            int d = diag_edit_distance(name, sc->syms[i]->name);
            if (d > 0 && d < best_d + (best ? 0 : 1)) {
                best = sc->syms[i]->name;
                best_d = d;
            }
        }
    for (int b = 0; callable && b < B_COUNT; b++) {
        int d = diag_edit_distance(name, builtin_name((Builtin)b));
        if (d > 0 && d < best_d + (best ? 0 : 1)) {
            best = builtin_name((Builtin)b);
            best_d = d;
        }
    }
    return best;
}

static Type check_name(Sema *S, Node *n) {
    Symbol *sym = scope_lookup(S, n->name);
    if (!sym) {
        if (builtin_lookup(n->name) != B_NONE) {
            error_at(n->span, "'%s' is a builtin function; call it with arguments", n->name);
            return fail(n);
        }
        const char *sugg = suggest_name(S, n->name, false);
        if (sugg)
            error_at(n->span, "use of undeclared identifier '%s'; did you mean '%s'?", n->name, sugg);
        else
            error_at(n->span, "use of undeclared identifier '%s'", n->name);
        return fail(n);
    }
    n->sym = sym;
    sym->used = true;
    switch (sym->kind) {
    case SYM_FUNC:
        error_at(n->span, "'%s' is a function; call it as %s(...)", n->name, n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return fail(n);
    case SYM_KERNEL:
        error_at(n->span, "'%s' is a kernel; kernels cannot be used inside .tile code", n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return fail(n);
    default: break;
    }
    if (sym->is_const) {
        n->is_const = true;
        n->cval = sym->cval;
    }
    return set_type(n, sym->type);
}

Type check_value(Sema *S, Node *n) {
    Type t = check_expr(S, n);
    switch (t.cls) {
    case TY_ERROR:
    case TY_VALUE: return t;
    case TY_TENSOR:
        error_at(n->span, "tensor '%s' cannot be used as a value; load a tile from it with %s[...]",
                 n->name ? n->name : "?", n->name ? n->name : "?");
        if (n->sym)
            note_at(n->sym->span, "'%s' is declared here", n->name);
        return fail(n);
    case TY_TYPE:
        error_at(n->span, "type name '%s' cannot be used as a value; to convert a value, write %s(x)",
                 elem_name(t.elem), elem_name(t.elem));
        return fail(n);
    case TY_SHAPE:
        error_at(n->span, "a list can only be a shape argument (of zeros, ones, full, reshape, broadcast)");
        return fail(n);
    case TY_VOID:
        error_at(n->span, "'%s' does not return a value", n->name ? n->name : "call");
        return fail(n);
    }
    unreachable();
}

// ================================================================ operators

typedef enum OpClass { OPC_ARITH, OPC_INT, OPC_CMP, OPC_EQ, OPC_LOGIC, OPC_BITS } OpClass;

static OpClass op_class(int op) {
    switch (op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV: return OPC_ARITH;
    case OP_MOD:
    case OP_SHL:
    case OP_SHR: return OPC_INT;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: return OPC_CMP;
    case OP_EQ:
    case OP_NE: return OPC_EQ;
    case OP_AND:
    case OP_OR: return OPC_LOGIC;
    case OP_BITAND:
    case OP_BITOR:
    case OP_BITXOR: return OPC_BITS;
    }
    unreachable();
}

static bool operands_ok(Node *n, OpClass c, ElemType a, ElemType b) {
    const char *op = binary_op_spelling(n->op);
    bool ai = elem_is_int(a), bi = elem_is_int(b), af = elem_is_float(a), bf = elem_is_float(b);
    bool ab = a == EL_I1, bb = b == EL_I1;
    switch (c) {
    case OPC_ARITH:
        if ((ai || af) && (bi || bf))
            return true;
        error_range(n->nspan, n->span, "invalid operands to '%s': %s and %s (arithmetic needs numbers)", op,
                    elem_name(a), elem_name(b));
        return false;
    case OPC_INT:
        if (ai && bi)
            return true;
        if (n->op == OP_MOD && (af || bf))
            error_range(n->nspan, n->span, "'%%' needs integer operands, got %s and %s", elem_name(a),
                        elem_name(b));
        else
            error_range(n->nspan, n->span, "'%s' needs integer operands, got %s and %s", op, elem_name(a),
                        elem_name(b));
        return false;
    case OPC_CMP:
        if ((ai || af) && (bi || bf))
            return true;
        error_range(n->nspan, n->span, "invalid operands to '%s': %s and %s", op, elem_name(a), elem_name(b));
        return false;
    case OPC_EQ:
        if (((ai || af) && (bi || bf)) || (ab && bb))
            return true;
        error_range(n->nspan, n->span, "invalid operands to '%s': %s and %s", op, elem_name(a), elem_name(b));
        return false;
    case OPC_LOGIC:
        if (ab && bb)
            return true;
        error_range(n->nspan, n->span, "'%s' needs i1 operands, got %s and %s", op, elem_name(a),
                    elem_name(b));
        if (!ab && !bb)
            note_at(n->span, "compare explicitly, e.g. 'x != 0'");
        return false;
    case OPC_BITS:
        if ((ai && bi) || (ab && bb))
            return true;
        error_range(n->nspan, n->span, "'%s' needs integer or i1 operands, got %s and %s", op, elem_name(a),
                    elem_name(b));
        if (n->op == OP_BITXOR && (af || bf))
            note_at(n->nspan, "'^' is exclusive or; for a power, use pow(x, y)");
        return false;
    }
    return false;
}

// Folds a binary operation on two scalar constants; false after reporting an error.
static bool fold_binary(Node *n, const Node *a, const Node *b, ElemType elem) {
    if (elem_is_float(elem) || a->cval.is_float || b->cval.is_float) {
        if (op_class(n->op) != OPC_ARITH && op_class(n->op) != OPC_CMP && op_class(n->op) != OPC_EQ)
            return true;
        double x = const_as_float(a), y = const_as_float(b), r = 0;
        switch (n->op) {
        case OP_ADD: r = x + y; break;
        case OP_SUB: r = x - y; break;
        case OP_MUL: r = x * y; break;
        case OP_DIV: r = x / y; break;
        case OP_EQ: set_const_int(n, x == y); return true;
        case OP_NE: set_const_int(n, x != y); return true;
        case OP_LT: set_const_int(n, x < y); return true;
        case OP_LE: set_const_int(n, x <= y); return true;
        case OP_GT: set_const_int(n, x > y); return true;
        case OP_GE: set_const_int(n, x >= y); return true;
        }
        set_const_float(n, r);
        return true;
    }
    int64_t x = a->cval.i, y = b->cval.i, r = 0;
    bool ovf = false;
    switch (n->op) {
    case OP_ADD: ovf = __builtin_add_overflow(x, y, &r); break;
    case OP_SUB: ovf = __builtin_sub_overflow(x, y, &r); break;
    case OP_MUL: ovf = __builtin_mul_overflow(x, y, &r); break;
    case OP_DIV:
    case OP_MOD:
        if (y == 0) {
            error_range(n->nspan, n->span, "division by zero in a constant expression");
            return false;
        }
        if (x == INT64_MIN && y == -1) {
            ovf = true;
            break;
        }
        r = n->op == OP_DIV ? x / y : x % y;
        break;
    case OP_EQ: r = x == y; break;
    case OP_NE: r = x != y; break;
    case OP_LT: r = x < y; break;
    case OP_LE: r = x <= y; break;
    case OP_GT: r = x > y; break;
    case OP_GE: r = x >= y; break;
    case OP_AND: r = x && y; break;
    case OP_OR: r = x || y; break;
    case OP_BITAND: r = x & y; break;
    case OP_BITOR: r = x | y; break;
    case OP_BITXOR: r = x ^ y; break;
    case OP_SHL:
    case OP_SHR:
        if (y < 0 || y >= (elem == EL_INT ? 64 : elem_bits(elem))) {
            error_range(n->nspan, n->span, "shift count %lld is out of range for %s", (long long)y,
                        elem == EL_INT ? "an integer constant" : elem_name(elem));
            return false;
        }
        if (n->op == OP_SHL) {
            if (x < 0 || x > (INT64_MAX >> y))
                ovf = true;
            else
                r = x << y;
        } else {
            r = x >> y;
        }
        break;
    }
    ElemType re = op_class(n->op) == OPC_CMP || op_class(n->op) == OPC_EQ || op_class(n->op) == OPC_LOGIC
                      ? EL_I1
                      : elem;
    if (ovf || !fits(r, re == EL_INT ? EL_I64 : re)) {
        error_range(n->nspan, n->span, "integer overflow in a constant expression (%s)",
                    re == EL_INT ? "64-bit" : elem_name(re));
        return false;
    }
    set_const_int(n, r);
    return true;
}

// dot / @ on checked operands: [.., M, K] x [.., K, N] -> [.., M, N].
Type check_dot_types(Node *n, Node *a, Node *b, Node *acc, ElemType out_elem, bool tf32) {
    Type ta = a->type, tb = b->type;
    char b1[96], b2[96];
    if (is_error(&ta) || is_error(&tb))
        return fail(n);
    if (ta.rank < 2 || tb.rank < 2 || ta.rank > 3 || tb.rank > 3 || ta.rank != tb.rank) {
        error_range(n->nspan, n->span,
                    "matrix product needs two 2-D (or two 3-D, batched) tiles, got %s and %s", tstr(&ta, b1),
                    tstr(&tb, b2));
        if (ta.rank == 1 || tb.rank == 1)
            note_at(n->span, "make a 1-D tile a row or a column with x[None, :] or x[:, None]");
        return fail(n);
    }
    int r = ta.rank;
    if (ta.dims[r - 1] != tb.dims[r - 2]) {
        error_range(n->nspan, n->span,
                    "inner dimensions of the matrix product do not match: %s and %s (%lld vs %lld)",
                    tstr(&ta, b1), tstr(&tb, b2), (long long)ta.dims[r - 1], (long long)tb.dims[r - 2]);
        return fail(n);
    }
    if (r == 3 && ta.dims[0] != tb.dims[0]) {
        error_range(n->nspan, n->span, "batch dimensions of the matrix product do not match: %s and %s",
                    tstr(&ta, b1), tstr(&tb, b2));
        return fail(n);
    }
    if (ta.elem != tb.elem) {
        error_range(n->nspan, n->span,
                    "operands of a matrix product must have the same element type, got %s and %s",
                    elem_name(ta.elem), elem_name(tb.elem));
        return fail(n);
    }
    ElemType in = ta.elem, def;
    switch (in) {
    case EL_F16:
    case EL_BF16:
    case EL_F32: def = EL_F32; break;
    case EL_F64: def = EL_F64; break;
    case EL_I8: def = EL_I32; break;
    default:
        error_range(n->nspan, n->span, "matrix products take f16, bf16, f32, f64 or i8 operands, got %s",
                    elem_name(in));
        return fail(n);
    }
    if (tf32 && in != EL_F32) {
        error_range(n->nspan, n->span, "allow_tf32 applies only to f32 operands, got %s", elem_name(in));
        return fail(n);
    }
    Type res = type_value(def, r, ta.dims);
    res.dims[r - 1] = tb.dims[r - 1];
    if (out_elem != EL_NONE) {
        bool ok =
            out_elem == def || (out_elem == EL_F16 && in == EL_F16) || (out_elem == EL_BF16 && in == EL_BF16);
        if (!ok) {
            error_range(n->nspan, n->span, "cannot accumulate %s products in %s", elem_name(in),
                        elem_name(out_elem));
            return fail(n);
        }
        res.elem = out_elem;
    }
    if (acc) {
        Type tc = acc->type;
        if (is_error(&tc))
            return fail(n);
        if (tc.rank != res.rank || memcmp(tc.dims, res.dims, sizeof(int64_t) * (size_t)r) != 0) {
            error_at(acc->span, "accumulator has type %s, but the product has shape %s", tstr(&tc, b1),
                     tstr(&res, b2));
            return fail(n);
        }
        bool ok = tc.elem == def || (tc.elem == in && (in == EL_F16 || in == EL_BF16));
        if (!ok) {
            error_at(acc->span, "cannot accumulate %s products in a %s accumulator", elem_name(in),
                     elem_name(tc.elem));
            return fail(n);
        }
        res.elem = tc.elem;
    }
    if (!check_tile_shape(n, &res))
        return fail(n);
    return set_type(n, res);
}

static bool is_comparison(const Node *n) {
    return n->kind == ND_BINARY && (n->op == OP_LT || n->op == OP_LE || n->op == OP_GT || n->op == OP_GE ||
                                    n->op == OP_EQ || n->op == OP_NE);
}

static bool is_bitwise(const Node *n) {
    return n->kind == ND_BINARY && (n->op == OP_BITAND || n->op == OP_BITOR || n->op == OP_BITXOR);
}

// a < b < c, and the precedence trap a >= 4 & a < 12 (which parses as (a >= (4 & a)) < 12).
static bool check_chain(Node *n) {
    if (!is_comparison(n) || !(is_comparison(n->lhs) || is_comparison(n->rhs)))
        return true;
    error_range(n->nspan, n->span, "comparison operators cannot be chained; combine comparisons with '&&'");
    Node *inner = is_comparison(n->lhs) ? n->lhs : n->rhs;
    if (is_bitwise(inner->lhs) || is_bitwise(inner->rhs)) {
        Node *bw = is_bitwise(inner->lhs) ? inner->lhs : inner->rhs;
        note_at(bw->nspan, "'%s' binds tighter than comparisons; did you mean '%s'?",
                binary_op_spelling(bw->op),
                bw->op == OP_BITAND  ? "&&"
                : bw->op == OP_BITOR ? "||"
                                     : "!=");
    }
    return false;
}

static Type check_binary(Sema *S, Node *n) {
    Type ta = check_value(S, n->lhs);
    Type tb = check_value(S, n->rhs);
    if (is_error(&ta) || is_error(&tb))
        return fail(n);
    if (!check_chain(n))
        return fail(n);
    if (n->op == OP_MATMUL) {
        if (is_untyped(ta.elem) || is_untyped(tb.elem)) {
            error_range(n->nspan, n->span, "matrix product needs tiles, not constants");
            return fail(n);
        }
        return check_dot_types(n, n->lhs, n->rhs, NULL, EL_NONE, false);
    }
    OpClass c = op_class(n->op);
    if (!operands_ok(n, c, ta.elem, tb.elem))
        return fail(n);
    ElemType elem = unify_elems(n, n->lhs, n->rhs, binary_op_spelling(n->op));
    if (elem == EL_NONE)
        return fail(n);
    Type shape;
    if (!broadcast_shapes(&n->lhs->type, &n->rhs->type, &shape)) {
        char b1[96], b2[96];
        error_range(n->nspan, n->span, "cannot broadcast %s with %s", tstr(&n->lhs->type, b1),
                    tstr(&n->rhs->type, b2));
        return fail(n);
    }
    ElemType re = (c == OPC_CMP || c == OPC_EQ || c == OPC_LOGIC) ? EL_I1 : elem;
    if (elem == EL_I1 && c == OPC_BITS)
        re = EL_I1;
    Type t = type_value(re, shape.rank, shape.dims);
    set_type(n, t);
    if (n->lhs->is_const && n->rhs->is_const && !fold_binary(n, n->lhs, n->rhs, elem))
        return fail(n);
    // A scalar `true || x` or `false && x` (either way round) is a constant whatever x is: a
    // constraint such as `BM <= 128 || M > 128` holds for every call once BM is 128.
    if (!n->is_const && t.rank == 0 && (n->op == OP_AND || n->op == OP_OR)) {
        const Node *k = n->lhs->is_const ? n->lhs : n->rhs->is_const ? n->rhs : NULL;
        if (k && (k->cval.i != 0) == (n->op == OP_OR))
            set_const_int(n, k->cval.i != 0);
    }
    if ((n->op == OP_DIV || n->op == OP_MOD) && elem_is_int(elem) && n->rhs->is_const &&
        !n->rhs->cval.is_float && n->rhs->cval.i == 0 && !n->lhs->is_const) {
        error_range(n->nspan, n->span, "integer division by zero");
        return fail(n);
    }
    return t;
}

static Type check_unary(Sema *S, Node *n) {
    Type t = check_value(S, n->lhs);
    if (is_error(&t))
        return fail(n);
    const char *op = unary_op_spelling(n->op);
    bool ok = n->op == UOP_NEG   ? (elem_is_int(t.elem) || elem_is_float(t.elem))
              : n->op == UOP_NOT ? t.elem == EL_I1
                                 : elem_is_int(t.elem);
    if (!ok) {
        error_range(n->nspan, n->span, "invalid operand to unary '%s': %s", op, elem_name(t.elem));
        if (n->op == UOP_NOT && elem_is_int(t.elem))
            note_at(n->span, "compare explicitly, e.g. 'x == 0'");
        return fail(n);
    }
    set_type(n, t);
    if (n->lhs->is_const) {
        const ConstVal *v = &n->lhs->cval;
        if (v->is_float)
            set_const_float(n, -v->f);
        else if (n->op == UOP_NEG) {
            if (v->i == INT64_MIN || !fits(-v->i, t.elem == EL_INT ? EL_I64 : t.elem)) {
                error_range(n->nspan, n->span, "integer overflow in a constant expression");
                return fail(n);
            }
            set_const_int(n, -v->i);
        } else if (n->op == UOP_NOT)
            set_const_int(n, !v->i);
        else
            set_const_int(n, ~v->i);
    }
    return t;
}

static bool split_args(Node *call);

static Type check_cast(Sema *S, Node *n) {
    if (!split_args(n))
        return fail(n);
    if (n->kwargs.len) {
        error_at(n->kwargs.items[0]->nspan, "%s(...) takes no named arguments", elem_name(n->elem));
        return fail(n);
    }
    if (n->args.len != 1) {
        error_at(n->span, "%s(...) converts exactly one value, got %d arguments", elem_name(n->elem),
                 n->args.len + n->kwargs.len);
        return fail(n);
    }
    Node *x = n->args.items[0];
    Type t = check_value(S, x);
    if (is_error(&t))
        return fail(n);
    Type r = t;
    r.elem = n->elem;
    set_type(n, r);
    if (x->is_const) {
        double f = const_as_float(x);
        if (elem_is_float(n->elem)) {
            warn_float_overflow(n, f, n->elem);
            set_const_float(n, f);
        } else if (x->cval.is_float) {
            if (n->elem != EL_I1 && (!(f > -9.3e18 && f < 9.3e18) || !fits((int64_t)f, n->elem))) {
                error_at(n->span, "constant %g does not fit in %s", f, elem_name(n->elem));
                return fail(n);
            }
            set_const_int(n, n->elem == EL_I1 ? f != 0 : (int64_t)f);
        } else {
            int64_t v = x->cval.i;
            if (n->elem == EL_I1)
                v = v != 0;
            else if (!fits(v, n->elem)) {
                error_at(n->span, "constant %lld does not fit in %s", (long long)v, elem_name(n->elem));
                return fail(n);
            }
            set_const_int(n, v);
        }
    }
    return r;
}

// ================================================================ indexing

// A linear form c + sum(coef_i * atom_i) over structurally compared sub-expressions.
typedef struct Linear {
    int n;
    const Node *atoms[16];
    int64_t coef[16];
    int64_t c;
    bool ok;
} Linear;

static bool same_expr(const Node *a, const Node *b) {
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind)
        return false;
    if (a->is_const && b->is_const)
        return a->cval.is_float == b->cval.is_float && a->cval.i == b->cval.i && a->cval.f == b->cval.f;
    switch (a->kind) {
    case ND_NAME: return a->sym && a->sym == b->sym;
    case ND_INT: return a->ival == b->ival;
    case ND_BINARY:
    case ND_UNARY: return a->op == b->op && same_expr(a->lhs, b->lhs) && same_expr(a->rhs, b->rhs);
    case ND_CALL:
    case ND_CAST:
        if (a->elem != b->elem || (a->name && b->name && strcmp(a->name, b->name) != 0) ||
            a->args.len != b->args.len)
            return false;
        for (int i = 0; i < a->args.len; i++)
            if (!same_expr(a->args.items[i], b->args.items[i]))
                return false;
        return a->kind == ND_CAST || !a->inlined;  // helper calls are not compared
    default: return false;
    }
}

static void linear_add(Linear *L, const Node *n, int64_t k) {
    if (!L->ok)
        return;
    int64_t t;
    if (n->is_const && !n->cval.is_float) {
        if (__builtin_mul_overflow(n->cval.i, k, &t) || __builtin_add_overflow(L->c, t, &L->c))
            L->ok = false;
        return;
    }
    if (n->kind == ND_BINARY && (n->op == OP_ADD || n->op == OP_SUB)) {
        linear_add(L, n->lhs, k);
        linear_add(L, n->rhs, n->op == OP_SUB ? -k : k);
        return;
    }
    if (n->kind == ND_BINARY && n->op == OP_MUL && (n->lhs->is_const || n->rhs->is_const)) {
        const Node *c = n->lhs->is_const ? n->lhs : n->rhs, *x = n->lhs->is_const ? n->rhs : n->lhs;
        if (!c->cval.is_float && !__builtin_mul_overflow(k, c->cval.i, &t)) {
            linear_add(L, x, t);
            return;
        }
    }
    if (n->kind == ND_UNARY && n->op == UOP_NEG) {
        linear_add(L, n->lhs, -k);
        return;
    }
    for (int i = 0; i < L->n; i++) {
        if (same_expr(L->atoms[i], n)) {
            if (__builtin_add_overflow(L->coef[i], k, &L->coef[i]))
                L->ok = false;
            return;
        }
    }
    if (L->n == 16) {
        L->ok = false;
        return;
    }
    L->atoms[L->n] = n;
    L->coef[L->n++] = k;
}

// hi - lo as a compile-time constant, if the difference is one.
static bool static_difference(const Node *lo, const Node *hi, int64_t *out) {
    Linear L = {.ok = true};
    linear_add(&L, hi, 1);
    linear_add(&L, lo, -1);
    if (!L.ok)
        return false;
    for (int i = 0; i < L.n; i++)
        if (L.coef[i] != 0)
            return false;
    *out = L.c;
    return true;
}

static bool check_index_scalar(Sema *S, Node *x, const char *what) {
    Type t = check_value(S, x);
    if (is_error(&t))
        return false;
    if (!elem_is_int(t.elem)) {
        char b[96];
        error_at(x->span, "%s must be an integer, got %s", what, tstr(&t, b));
        return false;
    }
    return true;
}

Type check_tensor_index(Sema *S, Node *n, bool is_store) {
    Node *base = n->base;
    Symbol *sym = base->sym;
    int rank = sym->type.rank;
    char b1[96];
    sym->used = true;
    if (S->clause) {
        error_at(n->span, "tensor '%s' cannot be read in a '%s' clause; use its sizes or scalar parameters",
                 sym->name, S->clause);
        return fail(n);
    }
    if (n->args.len != rank) {
        error_at(n->span, "tensor '%s' has %d dimension%s but is indexed with %d", sym->name, rank,
                 rank == 1 ? "" : "s", n->args.len);
        note_at(sym->span, "'%s' is declared here", sym->name);
        return fail(n);
    }
    Type res = {.cls = TY_VALUE, .elem = sym->type.elem};
    Type gather = {.cls = TY_VALUE, .rank = 0};
    bool any_slice = false, any_gather = false, ok = true;
    Span first_slice = {0}, first_gather = {0};
    for (int i = 0; i < rank; i++) {
        Node *it = n->args.items[i];
        int64_t cdim = sym->const_dims[i];  // -1 when symbolic
        if (it->kind == ND_NEWAXIS) {
            error_at(it->span, "None can only index a tile value, not tensor '%s'", sym->name);
            ok = false;
            continue;
        }
        if (it->kind == ND_SLICE) {
            if (!any_slice)
                first_slice = it->span;
            any_slice = true;
            bool lo_ok = !it->lhs || check_index_scalar(S, it->lhs, "a slice bound");
            bool hi_ok = !it->rhs || check_index_scalar(S, it->rhs, "a slice bound");
            if (!lo_ok || !hi_ok) {
                ok = false;
                continue;
            }
            if (it->lhs && it->lhs->type.rank) {
                error_at(it->lhs->span, "a slice bound must be a scalar");
                ok = false;
                continue;
            }
            if (it->rhs && it->rhs->type.rank) {
                error_at(it->rhs->span, "a slice bound must be a scalar");
                ok = false;
                continue;
            }
            int64_t size, lo = 0;
            bool lo_const = !it->lhs || it->lhs->is_const;
            if (it->lhs && it->lhs->is_const)
                lo = it->lhs->cval.i;
            if (!it->rhs) {
                if (cdim < 0 || !lo_const) {
                    error_at(it->span,
                             "a slice of tensor '%s' needs a compile-time size; write 'lo : lo + N'",
                             sym->name);
                    ok = false;
                    continue;
                }
                size = cdim - lo;
            } else if (!it->lhs) {
                if (!it->rhs->is_const) {
                    error_at(it->span,
                             "a slice of tensor '%s' needs a compile-time size; write 'lo : lo + N'",
                             sym->name);
                    ok = false;
                    continue;
                }
                size = it->rhs->cval.i;
            } else if (!static_difference(it->lhs, it->rhs, &size)) {
                error_at(it->span, "the size of this slice is not a compile-time constant");
                note_at(it->span,
                        "write the upper bound as the lower bound plus a constant, e.g. 'm : m + BM'");
                ok = false;
                continue;
            }
            if (size <= 0) {
                if (size == 0)
                    error_at(it->span, "slice is empty");
                else
                    error_at(it->span, "slice has a negative size (%lld)", (long long)size);
                ok = false;
                continue;
            }
            bool hi_const = !it->rhs || it->rhs->is_const;
            if (cdim >= 0 && lo_const && hi_const && (lo + size <= 0 || lo >= cdim)) {
                error_at(it->span, "slice %lld:%lld lies entirely outside dimension %d of '%s' (size %lld)",
                         (long long)lo, (long long)(lo + size), i, sym->name, (long long)cdim);
                ok = false;
                continue;
            }
            if (res.rank == TILE_MAX_RANK) {
                ok = false;
                continue;
            }
            res.dims[res.rank++] = size;
            continue;
        }
        if (!check_index_scalar(S, it, "an index")) {
            ok = false;
            continue;
        }
        if (it->type.rank == 0) {
            if (it->is_const && cdim >= 0 && (it->cval.i < 0 || it->cval.i >= cdim)) {
                error_at(it->span, "index %lld is out of bounds for dimension %d of '%s' (size %lld)",
                         (long long)it->cval.i, i, sym->name, (long long)cdim);
                ok = false;
            }
            concretize(it);
            continue;
        }
        if (!any_gather)
            first_gather = it->span;
        any_gather = true;
        Type g;
        if (!broadcast_shapes(&gather, &it->type, &g)) {
            char b2[96];
            error_at(it->span, "index tile %s does not broadcast with the other index tiles (%s)",
                     tstr(&it->type, b1), tstr(&gather, b2));
            ok = false;
            continue;
        }
        g.cls = TY_VALUE;
        g.elem = it->type.elem;
        gather = g;
    }
    if (!ok)
        return fail(n);
    if (any_slice && any_gather) {
        error_at(first_slice, "cannot mix slices and index tiles when indexing '%s'", sym->name);
        note_at(first_gather, "this index is a tile; turn the slice into one too, e.g. lo + arange(0, N)");
        return fail(n);
    }
    if (any_gather) {
        res.rank = gather.rank;
        memcpy(res.dims, gather.dims, sizeof res.dims);
    }
    if (n->els) {
        if (is_store) {
            error_at(n->els->span, "'else' padding has no meaning in a store");
            return fail(n);
        }
        Type pt = check_value(S, n->els);
        if (is_error(&pt))
            return fail(n);
        if (pt.rank != 0) {
            error_at(n->els->span, "the padding value must be a scalar, got %s", tstr(&pt, b1));
            return fail(n);
        }
        Type want = type_scalar(res.elem);
        if (!check_assignable(n->els, &want, "pad a tensor"))
            return fail(n);
    }
    if (!check_tile_shape(n, &res))
        return fail(n);
    sym->used = true;
    return set_type(n, res);
}

// x[:, None], x[0], x[2:4] on a tile value: static reshaping and extraction.
static Type check_tile_index(Sema *S, Node *n, const Type *bt) {
    Type res = {.cls = TY_VALUE, .elem = bt->elem};
    int dim = 0;
    char b[96];
    if (n->els) {
        error_at(n->els->span, "'else' padding applies only to tensor loads");
        return fail(n);
    }
    for (int i = 0; i < n->args.len; i++) {
        Node *it = n->args.items[i];
        if (it->kind == ND_NEWAXIS) {
            if (res.rank == TILE_MAX_RANK) {
                error_at(it->span, "tiles have at most %d dimensions", TILE_MAX_RANK);
                return fail(n);
            }
            res.dims[res.rank++] = 1;
            continue;
        }
        if (dim >= bt->rank) {
            error_at(it->span, "too many indices for a tile of type %s", tstr(bt, b));
            return fail(n);
        }
        int64_t size = bt->dims[dim];
        if (it->kind == ND_SLICE) {
            int64_t lo = 0, hi = size;
            if ((it->lhs && !check_const_int(S, it->lhs, "a slice bound of a tile", &lo)) ||
                (it->rhs && !check_const_int(S, it->rhs, "a slice bound of a tile", &hi)))
                return fail(n);
            if (lo < 0 || hi > size || lo >= hi) {
                error_at(it->span, "slice %lld:%lld is out of bounds for dimension %d of %s", (long long)lo,
                         (long long)hi, dim, tstr(bt, b));
                return fail(n);
            }
            res.dims[res.rank++] = hi - lo;
            dim++;
            continue;
        }
        Type it_t = check_value(S, it);
        if (is_error(&it_t))
            return fail(n);
        if (it_t.rank != 0) {
            error_at(it->span, "a tile value cannot be indexed with a tile; gather from a tensor instead");
            return fail(n);
        }
        int64_t k;
        if (!check_const_int(S, it, "an index into a tile value", &k))
            return fail(n);
        if (k < 0 || k >= size) {
            error_at(it->span, "index %lld is out of bounds for dimension %d of %s", (long long)k, dim,
                     tstr(bt, b));
            return fail(n);
        }
        dim++;
    }
    if (dim != bt->rank) {
        error_at(
            n->span,
            "a tile of type %s is indexed with %d dimension%s; index every dimension (use ':' to keep one)",
            tstr(bt, b), dim, dim == 1 ? "" : "s");
        return fail(n);
    }
    return set_type(n, res);
}

static Type check_index(Sema *S, Node *n) {
    Type bt = check_expr(S, n->base);
    if (is_error(&bt))
        return fail(n);
    if (bt.cls == TY_TENSOR)
        return check_tensor_index(S, n, false);
    if (bt.cls == TY_VALUE && bt.rank > 0)
        return check_tile_index(S, n, &bt);
    char b[96];
    if (bt.cls == TY_VALUE)
        error_at(n->nspan, "cannot index a scalar of type %s", tstr(&bt, b));
    else
        check_value(S, n->base);
    return fail(n);
}

// ================================================================ calls

static long count_nodes(const Node *n) {
    if (!n)
        return 0;
    long c = 1;
    const Node *kids[] = {n->lhs,   n->rhs,  n->cond, n->then, n->els, n->init,
                          n->limit, n->step, n->body, n->base, n->ty};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        c += count_nodes(kids[i]);
    const NodeList *lists[] = {&n->args, &n->kwargs};
    for (size_t i = 0; i < 2; i++)
        for (int j = 0; j < lists[i]->len; j++)
            c += count_nodes(lists[i]->items[j]);
    return c;
}

// Binds a helper parameter to its argument, checking a declared type if there is one.
static bool bind_param(Sema *S, Node *call, Node *param, Node *arg, int index, const char *fname) {
    Symbol *sym = declare(S, SYM_LET, param->name, param->nspan, param);
    if (!sym)
        return false;
    call->inline_params[index] = sym;
    sym->type = arg->type;
    sym->is_const = arg->is_const;
    sym->cval = arg->cval;
    if (!param->ty || is_error(&arg->type))
        return true;
    Node *ty = param->ty;
    char b[96];
    if (param->is_out || param->kwargs.len) {
        error_at(param->nspan, "'out' and 'strides' apply only to kernel tensor parameters");
        return false;
    }
    int rank = ty->has_shape ? ty->args.len : 0;
    if (arg->type.rank != rank) {
        error_at(arg->span, "argument %d of '%s' must have rank %d, got %s", index + 1, fname, rank,
                 tstr(&arg->type, b));
        note_at(param->nspan, "parameter '%s' is declared here", param->name);
        return false;
    }
    for (int i = 0; i < rank; i++) {
        Node *d = ty->args.items[i];
        int64_t want = arg->type.dims[i];
        Symbol *prev = d->kind == ND_NAME ? scope_lookup(S, d->name) : NULL;
        if (d->kind == ND_NAME && (!prev || prev->kind != SYM_SHAPEVAR) &&
            !(prev && prev->kind == SYM_CONST)) {
            Symbol *v = declare(S, SYM_SHAPEVAR, d->name, d->span, d);
            if (!v)
                return false;
            v->type = type_scalar(EL_INT);
            v->is_const = true;
            v->cval = (ConstVal){.i = want, .f = (double)want};
            continue;
        }
        int64_t got;
        if (!check_const_int(S, d, "a dimension", &got))
            return false;
        if (got != want) {
            error_at(arg->span, "argument %d of '%s' has type %s, but dimension %d must be %lld", index + 1,
                     fname, tstr(&arg->type, b), i, (long long)got);
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
    }
    if (arg->type.elem != ty->elem) {
        if (is_untyped(arg->type.elem)) {
            if (!coerce_to(arg, ty->elem, "as an argument"))
                return false;
        } else {
            error_at(arg->span, "argument %d of '%s' must be %s, got %s", index + 1, fname,
                     elem_name(ty->elem), tstr(&arg->type, b));
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
    }
    sym->type = arg->type;
    sym->cval = arg->cval;
    return true;
}

static Type check_helper_call(Sema *S, Node *call, Symbol *fsym) {
    Node *fn = fsym->decl;
    if (call->kwargs.len) {
        error_at(call->kwargs.items[0]->span, "helper functions take positional arguments only");
        return fail(call);
    }
    if (call->args.len != fn->args.len) {
        error_at(call->span, "'%s' takes %d argument%s, but %d %s given", fn->name, fn->args.len,
                 fn->args.len == 1 ? "" : "s", call->args.len, call->args.len == 1 ? "was" : "were");
        note_at(fn->nspan, "'%s' is declared here", fn->name);
        return fail(call);
    }
    bool ok = true;
    for (int i = 0; i < call->args.len; i++) {
        Type t = check_value(S, call->args.items[i]);
        ok = ok && !is_error(&t);
    }
    if (!ok)
        return fail(call);
    for (int i = 0; i < S->inline_depth; i++) {
        if (S->inline_stack[i] == fn) {
            error_at(call->span, "recursive call to '%s'; helper functions are inlined and cannot recurse",
                     fn->name);
            return fail(call);
        }
    }
    if (S->inline_depth >= SEMA_MAX_INLINE_DEPTH) {
        error_at(call->span, "helper calls are nested more than %d deep", SEMA_MAX_INLINE_DEPTH);
        return fail(call);
    }
    // Checking another configuration re-checks the copy made for this call site before.
    bool fresh = !call->inlined;
    Node *body = fresh ? ast_clone(fn->body) : call->inlined;
    if (fresh)
        S->inline_nodes += count_nodes(body);
    if (S->inline_nodes > SEMA_MAX_INLINE_NODES) {
        if (!S->inline_budget_reported)
            error_at(call->span, "inlining helper functions makes this kernel too large (over %d nodes)",
                     SEMA_MAX_INLINE_NODES);
        S->inline_budget_reported = true;
        return fail(call);
    }
    DiagContext ctx = {.span = call->span};
    snprintf(ctx.text, sizeof ctx.text, "in call to '%s' here", fn->name);
    diag_push_context(&ctx);
    Scope *saved = scope_push(S, S->global);
    FuncCtx fctx = {.decl = fn, .is_kernel = false, .body = body};
    FuncCtx *saved_fn = S->fn;
    KernelInfo *saved_k = S->kinfo;
    S->fn = &fctx;
    S->kinfo = NULL;
    S->inline_stack[S->inline_depth++] = fn;

    call->inline_params = ast_alloc(sizeof(Symbol *) * (size_t)(fn->args.len + 1));
    for (int i = 0; i < fn->args.len && ok; i++)
        ok = bind_param(S, call, fn->args.items[i], call->args.items[i], i, fn->name);
    Type result = {.cls = TY_VOID};
    int problems_before = diag_problem_count();
    if (ok) {
        check_block(S, body, false);
        if (fn->ty) {
            Type want;
            if (!declared_type(S, fn->ty, &want)) {
                result = type_error();
            } else if (!fctx.ret) {
                error_at(fn->nspan, "function '%s' declares a result but does not end with 'return'",
                         fn->name);
                result = type_error();
            } else if (!is_error(&fctx.ret->type) && check_assignable(fctx.ret, &want, "return a value")) {
                result = want;
            } else {
                result = type_error();
            }
        } else if (fctx.ret) {
            result = fctx.ret->type;
        }
        if (diag_problem_count() != problems_before)
            result = type_error();  // already reported inside the helper
    } else {
        result = type_error();
    }

    S->inline_depth--;
    S->fn = saved_fn;
    S->kinfo = saved_k;
    scope_pop(S, saved);
    diag_pop_context();
    call->inlined = body;
    call->inlined_ret = fctx.ret;
    if (result.cls == TY_VALUE && fctx.ret && fctx.ret->is_const) {
        call->is_const = true;
        call->cval = fctx.ret->cval;
    }
    return set_type(call, result);
}

// Moves named arguments out of `args` into `kwargs` (idempotent).
static bool split_args(Node *call) {
    if (call->ival < 0)  // reported when first checked (another configuration)
        return false;
    bool has_kw = false;
    for (int i = 0; i < call->args.len; i++)
        has_kw = has_kw || call->args.items[i]->kind == ND_KWARG;
    if (!has_kw)
        return true;
    NodeList pos = {0}, kw = {0};
    bool ok = true;
    for (int i = 0; i < call->args.len; i++) {
        Node *a = call->args.items[i];
        if (a->kind == ND_KWARG) {
            for (int j = 0; j < kw.len; j++)
                if (strcmp(kw.items[j]->name, a->name) == 0) {
                    error_at(a->nspan, "argument '%s' is given twice", a->name);
                    ok = false;
                }
            ast_push(&kw, a);
        } else {
            if (kw.len && ok) {
                error_at(a->span, "positional argument after a named argument");
                ok = false;
            }
            ast_push(&pos, a);
        }
    }
    call->args = pos;
    call->kwargs = kw;
    if (!ok)
        call->ival = -1;
    return ok;
}

static Type check_call(Sema *S, Node *n) {
    if (!split_args(n))
        return fail(n);
    Builtin b = builtin_lookup(n->name);
    Symbol *sym = scope_lookup(S, n->name);
    if (b != B_NONE && !sym)
        return check_builtin_call(S, n, b);
    if (!sym) {
        const char *sugg = suggest_name(S, n->name, true);
        if (sugg)
            error_at(n->nspan, "call to undeclared function '%s'; did you mean '%s'?", n->name, sugg);
        else
            error_at(n->nspan, "call to undeclared function '%s'", n->name);
        return fail(n);
    }
    n->sym = sym;
    sym->used = true;
    if (sym->kind == SYM_FUNC)
        return check_helper_call(S, n, sym);
    if (sym->kind == SYM_KERNEL) {
        error_at(n->nspan, "kernel '%s' cannot be called from .tile code; kernels are launched from C",
                 n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return fail(n);
    }
    error_at(n->nspan, "'%s' is not a function", n->name);
    if (b != B_NONE)
        note_at(sym->span, "'%s' is declared here, hiding the builtin function of that name", n->name);
    else
        note_at(sym->span, "'%s' is declared here", n->name);
    return fail(n);
}

// ================================================================ dispatch

Type check_expr(Sema *S, Node *n) {
    n->is_const = false;
    switch (n->kind) {
    case ND_INT: set_const_int(n, n->ival); return set_type(n, type_scalar(EL_INT));
    case ND_FLOAT: set_const_float(n, n->fval); return set_type(n, type_scalar(EL_FLOAT));
    case ND_BOOL: set_const_int(n, n->ival); return set_type(n, type_scalar(EL_I1));
    case ND_NAME: return check_name(S, n);
    case ND_TYPENAME: return set_type(n, (Type){.cls = TY_TYPE, .elem = n->elem});
    case ND_LIST: {
        Type t = {.cls = TY_SHAPE};
        if (n->args.len > TILE_MAX_RANK) {
            error_at(n->span, "a shape has at most %d dimensions", TILE_MAX_RANK);
            return fail(n);
        }
        for (int i = 0; i < n->args.len; i++) {
            int64_t d;
            if (!check_const_int(S, n->args.items[i], "a shape dimension", &d))
                return fail(n);
            t.dims[t.rank++] = d;
        }
        return set_type(n, t);
    }
    case ND_UNARY: return check_unary(S, n);
    case ND_BINARY: return check_binary(S, n);
    case ND_CALL: return check_call(S, n);
    case ND_CAST: return check_cast(S, n);
    case ND_INDEX: return check_index(S, n);
    case ND_ERROR: return fail(n);
    case ND_SLICE:
    case ND_NEWAXIS:
    case ND_KWARG:
    default: break;
    }
    internal_error(__FILE__, __LINE__, "unexpected %s in an expression", node_kind_name(n->kind));
}
