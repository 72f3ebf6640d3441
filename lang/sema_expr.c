// lang/sema_expr.c — checking expressions: constants and their folding, element types,
// broadcasting, names, operators, conversions, matrix products and the dispatch over
// expression kinds (indexing is in sema_index.c, calls in sema_call.c).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sema_internal.h"

int64_t sema_type_elems(const Type *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

// ================================================================ constants

static bool fits(int64_t v, ElemType e) {
    switch (e) {
    case EL_I1: return v == 0 || v == 1;
    case EL_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case EL_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case EL_I32: return v >= INT32_MIN && v <= INT32_MAX;
    case EL_U8: return v >= 0 && v <= UINT8_MAX;
    case EL_U16: return v >= 0 && v <= UINT16_MAX;
    case EL_U32: return v >= 0 && v <= UINT32_MAX;
    case EL_U64: return v >= 0;  // compile-time values are 64-bit signed: up to 2^63 - 1
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

bool sema_check_const_int(Sema *S, Node *n, const char *what, int64_t *out) {
    Type t = sema_check_value(S, n);
    if (sema_is_error(&t))
        return false;
    if (t.rank != 0) {
        char b[96];
        error_at(n->span, "%s must be a scalar integer, got %s", what, sema_tstr(&t, b));
        return false;
    }
    if (!elem_is_int(t.elem)) {
        char b[96];
        error_at(n->span, "%s must be an integer, got %s", what, sema_tstr(&t, b));
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

bool sema_coerce_to(Node *n, ElemType elem, const char *what_) {
    char what[96];  // " as a loop bound", or nothing
    snprintf(what, sizeof what, "%s%s", what_[0] ? " " : "", what_);
    ElemType from = n->type.elem;
    if (sema_is_error(&n->type))
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
    error_at(n->span, "expected %s%s, got %s", elem_name(elem), what, sema_tstr(&n->type, b));
    return false;
}

void sema_concretize(Node *n) {
    if (n->type.cls != TY_VALUE)
        return;
    if (n->type.elem == EL_INT)
        sema_coerce_to(n, fits(n->cval.i, EL_I32) ? EL_I32 : EL_I64, "");
    else if (n->type.elem == EL_FLOAT)
        sema_coerce_to(n, EL_F32, "");
}

static ElemType wider_float(ElemType a, ElemType b) {
    if ((a == EL_F16 && b == EL_BF16) || (a == EL_BF16 && b == EL_F16))
        return EL_F32;
    return elem_bits(a) >= elem_bits(b) ? a : b;
}

ElemType sema_unify_elems(Node *n, Node *a, Node *b, const char *op) {
    ElemType ea = a->type.elem, eb = b->type.elem;
    if (ea == eb)
        return ea;
    if (sema_is_untyped(ea) && sema_is_untyped(eb))
        return EL_FLOAT;  // an int constant meets a float constant
    if (sema_is_untyped(ea))
        return sema_coerce_to(a, eb, "") ? eb : EL_NONE;
    if (sema_is_untyped(eb))
        return sema_coerce_to(b, ea, "") ? ea : EL_NONE;
    if (elem_is_int(ea) && elem_is_int(eb) && elem_is_unsigned(ea) == elem_is_unsigned(eb))
        return elem_bits(ea) >= elem_bits(eb) ? ea : eb;
    if (elem_is_float(ea) && elem_is_float(eb))
        return wider_float(ea, eb);
    char b1[96], b2[96];
    if (elem_is_int(ea) && elem_is_int(eb)) {  // signed and unsigned
        error_range(n->nspan, n->span, "mismatched element types in '%s': %s and %s (signed and unsigned)",
                    op, sema_tstr(&a->type, b1), sema_tstr(&b->type, b2));
        ElemType u = elem_is_unsigned(ea) ? ea : eb, i = elem_is_unsigned(ea) ? eb : ea;
        note_at(
            n->span,
            "signed and unsigned integers do not mix: convert one side explicitly, e.g. %s(...) or %s(...)",
            elem_name(u), elem_name(i));
        return EL_NONE;
    }
    error_range(n->nspan, n->span, "mismatched element types in '%s': %s and %s", op, sema_tstr(&a->type, b1),
                sema_tstr(&b->type, b2));
    if ((elem_is_float(ea) || elem_is_float(eb)) && ea != EL_I1 && eb != EL_I1)
        note_at(n->span, "convert one side explicitly, e.g. %s(...)", elem_name(elem_is_float(ea) ? ea : eb));
    return EL_NONE;
}

// ================================================================ shapes

bool sema_broadcast_shapes(const Type *a, const Type *b, Type *out) {
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

bool sema_check_tile_shape(Node *n, const Type *t) {
    int64_t total = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] <= 0) {
            error_at(n->span, "tile dimensions must be positive, got %lld", (long long)t->dims[i]);
            return false;
        }
        if (t->dims[i] > SEMA_MAX_TILE_ELEMS || total * t->dims[i] > SEMA_MAX_TILE_ELEMS) {
            char b[96];
            error_at(n->span, "tile %s is too large (the limit is %d elements)", sema_tstr(t, b),
                     SEMA_MAX_TILE_ELEMS);
            return false;
        }
        total *= t->dims[i];
    }
    return true;
}

bool sema_check_assignable(Node *n, const Type *to, const char *verb_target) {
    // verb_target is like "assign to 'acc'" or "store to tensor 'Y'".
    Type from = n->type;
    if (sema_is_error(&from) || sema_is_error(to))
        return false;
    char b1[96], b2[96];
    if (from.elem != to->elem) {
        if (sema_is_untyped(from.elem)) {
            if (!sema_coerce_to(n, to->elem, ""))
                return false;
        } else {
            error_at(n->span, "cannot %s of type %s: the value has type %s", verb_target, sema_tstr(to, b1),
                     sema_tstr(&from, b2));
            if (elem_is_float(to->elem) || elem_is_int(to->elem))
                note_at(n->span, "convert it explicitly with %s(...)", elem_name(to->elem));
            return false;
        }
    }
    Type bc;
    if (!sema_broadcast_shapes(&from, to, &bc) || bc.rank != to->rank ||
        memcmp(bc.dims, to->dims, sizeof(int64_t) * (size_t)to->rank) != 0) {
        error_at(n->span, "cannot %s of type %s: the value's shape %s does not broadcast to it", verb_target,
                 sema_tstr(to, b1), sema_tstr(&from, b2));
        return false;
    }
    return true;
}

// ================================================================ names

const char *sema_suggest_name(Sema *S, const char *name, bool callable) {
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
    Symbol *sym = sema_scope_lookup(S, n->name);
    if (!sym) {
        if (builtin_lookup(n->name) != B_NONE) {
            error_at(n->span, "'%s' is a builtin function; call it with arguments", n->name);
            return sema_fail(n);
        }
        const char *sugg = sema_suggest_name(S, n->name, false);
        if (strcmp(n->name, "True") == 0 || strcmp(n->name, "False") == 0)  // Python's spelling
            sugg = n->name[0] == 'T' ? "true" : "false";
        if (sugg)
            error_at(n->span, "use of undeclared identifier '%s'; did you mean '%s'?", n->name, sugg);
        else
            error_at(n->span, "use of undeclared identifier '%s'", n->name);
        return sema_fail(n);
    }
    n->sym = sym;
    sym->used = true;
    switch (sym->kind) {
    case SYM_FUNC:
        error_at(n->span, "'%s' is a function; call it as %s(...)", n->name, n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return sema_fail(n);
    case SYM_KERNEL:
        error_at(n->span, "'%s' is a kernel; kernels cannot be used inside .tile code", n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return sema_fail(n);
    default: break;
    }
    if (sym->is_const) {
        n->is_const = true;
        n->cval = sym->cval;
    }
    return sema_set_type(n, sym->type);
}

Type sema_check_value(Sema *S, Node *n) { return sema_require_value(n, sema_check_expr(S, n)); }

Type sema_require_value(Node *n, Type t) {
    switch (t.cls) {
    case TY_ERROR:
    case TY_VALUE: return t;
    case TY_TENSOR:
        if (sema_list_as_value(n))
            return sema_fail(n);
        if (n->kind == ND_INDEX && n->sym && n->sym->list_of) {
            error_at(n->span,
                     "an element of list '%s' is a tensor, not a value; load a tile from it with %s[g][...]",
                     n->sym->name, n->sym->name);
            return sema_fail(n);
        }
        error_at(n->span, "tensor '%s' cannot be used as a value; load a tile from it with %s[...]",
                 n->name ? n->name : "?", n->name ? n->name : "?");
        if (n->sym && n->name && strcmp(n->sym->name, n->name) != 0)  // a helper's parameter
            note_at(n->sym->span, "'%s' is tensor '%s' in this call, declared here", n->name, n->sym->name);
        else if (n->sym)
            note_at(n->sym->span, "'%s' is declared here", n->name);
        return sema_fail(n);
    case TY_TUPLE: {
        char names[64] = "";
        for (int i = 0; i < t.rank && i < 8; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%c", i ? ", " : "", 'a' + i);
        error_at(n->span, "'%s' returns %d values; unpack them with 'let (%s%s) = %s(...);'",
                 n->name ? n->name : "?", t.rank, names, t.rank > 8 ? ", ..." : "", n->name ? n->name : "?");
        return sema_fail(n);
    }
    case TY_TYPE:
        error_at(n->span, "type name '%s' cannot be used as a value; to convert a value, write %s(x)",
                 elem_name(t.elem), elem_name(t.elem));
        return sema_fail(n);
    case TY_SHAPE:
        error_at(n->span, "a list can only be a shape argument (of zeros, ones, full, reshape, broadcast)");
        return sema_fail(n);
    case TY_VOID:
        error_at(n->span, "'%s' does not return a value", n->name ? n->name : "call");
        return sema_fail(n);
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
Type sema_check_dot_types(Node *n, Node *a, Node *b, Node *acc, ElemType out_elem, bool tf32) {
    Type ta = a->type, tb = b->type;
    char b1[96], b2[96];
    if (sema_is_error(&ta) || sema_is_error(&tb))
        return sema_fail(n);
    if (ta.rank < 2 || tb.rank < 2 || ta.rank > 3 || tb.rank > 3 || ta.rank != tb.rank) {
        error_range(n->nspan, n->span,
                    "matrix product needs two 2-D (or two 3-D, batched) tiles, got %s and %s",
                    sema_tstr(&ta, b1), sema_tstr(&tb, b2));
        if (ta.rank == 1 || tb.rank == 1)
            note_at(n->span, "make a 1-D tile a row or a column with x[None, :] or x[:, None]");
        return sema_fail(n);
    }
    int r = ta.rank;
    if (ta.dims[r - 1] != tb.dims[r - 2]) {
        error_range(n->nspan, n->span,
                    "inner dimensions of the matrix product do not match: %s and %s (%lld vs %lld)",
                    sema_tstr(&ta, b1), sema_tstr(&tb, b2), (long long)ta.dims[r - 1],
                    (long long)tb.dims[r - 2]);
        return sema_fail(n);
    }
    if (r == 3 && ta.dims[0] != tb.dims[0]) {
        error_range(n->nspan, n->span, "batch dimensions of the matrix product do not match: %s and %s",
                    sema_tstr(&ta, b1), sema_tstr(&tb, b2));
        return sema_fail(n);
    }
    if (ta.elem != tb.elem) {
        error_range(n->nspan, n->span,
                    "operands of a matrix product must have the same element type, got %s and %s",
                    elem_name(ta.elem), elem_name(tb.elem));
        return sema_fail(n);
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
        return sema_fail(n);
    }
    if (tf32 && in != EL_F32) {
        error_range(n->nspan, n->span, "allow_tf32 applies only to f32 operands, got %s", elem_name(in));
        return sema_fail(n);
    }
    Type res = type_value(def, r, ta.dims);
    res.dims[r - 1] = tb.dims[r - 1];
    if (out_elem != EL_NONE) {
        bool ok =
            out_elem == def || (out_elem == EL_F16 && in == EL_F16) || (out_elem == EL_BF16 && in == EL_BF16);
        if (!ok) {
            error_range(n->nspan, n->span, "cannot accumulate %s products in %s", elem_name(in),
                        elem_name(out_elem));
            return sema_fail(n);
        }
        res.elem = out_elem;
    }
    if (acc) {
        Type tc = acc->type;
        if (sema_is_error(&tc))
            return sema_fail(n);
        if (tc.rank != res.rank || memcmp(tc.dims, res.dims, sizeof(int64_t) * (size_t)r) != 0) {
            error_at(acc->span, "accumulator has type %s, but the product has shape %s", sema_tstr(&tc, b1),
                     sema_tstr(&res, b2));
            return sema_fail(n);
        }
        bool ok = tc.elem == def || (tc.elem == in && (in == EL_F16 || in == EL_BF16));
        if (!ok) {
            error_at(acc->span, "cannot accumulate %s products in a %s accumulator", elem_name(in),
                     elem_name(tc.elem));
            return sema_fail(n);
        }
        res.elem = tc.elem;
    }
    if (!sema_check_tile_shape(n, &res))
        return sema_fail(n);
    return sema_set_type(n, res);
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
    Type ta = sema_check_value(S, n->lhs);
    Type tb = sema_check_value(S, n->rhs);
    if (sema_is_error(&ta) || sema_is_error(&tb))
        return sema_fail(n);
    if (!check_chain(n))
        return sema_fail(n);
    if (n->op == OP_MATMUL) {
        if (sema_is_untyped(ta.elem) || sema_is_untyped(tb.elem)) {
            error_range(n->nspan, n->span, "matrix product needs tiles, not constants");
            return sema_fail(n);
        }
        return sema_check_dot_types(n, n->lhs, n->rhs, NULL, EL_NONE, false);
    }
    OpClass c = op_class(n->op);
    if (!operands_ok(n, c, ta.elem, tb.elem))
        return sema_fail(n);
    ElemType elem = sema_unify_elems(n, n->lhs, n->rhs, binary_op_spelling(n->op));
    if (elem == EL_NONE)
        return sema_fail(n);
    Type shape;
    if (!sema_broadcast_shapes(&n->lhs->type, &n->rhs->type, &shape)) {
        char b1[96], b2[96];
        error_range(n->nspan, n->span, "cannot broadcast %s with %s", sema_tstr(&n->lhs->type, b1),
                    sema_tstr(&n->rhs->type, b2));
        return sema_fail(n);
    }
    ElemType re = (c == OPC_CMP || c == OPC_EQ || c == OPC_LOGIC) ? EL_I1 : elem;
    if (elem == EL_I1 && c == OPC_BITS)
        re = EL_I1;
    Type t = type_value(re, shape.rank, shape.dims);
    sema_set_type(n, t);
    if (n->lhs->is_const && n->rhs->is_const && !fold_binary(n, n->lhs, n->rhs, elem))
        return sema_fail(n);
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
        return sema_fail(n);
    }
    return t;
}

static Type check_unary(Sema *S, Node *n) {
    Type t = sema_check_value(S, n->lhs);
    if (sema_is_error(&t))
        return sema_fail(n);
    const char *op = unary_op_spelling(n->op);
    bool ok = n->op == UOP_NEG   ? (elem_is_int(t.elem) || elem_is_float(t.elem))
              : n->op == UOP_NOT ? t.elem == EL_I1
                                 : elem_is_int(t.elem);
    if (!ok) {
        error_range(n->nspan, n->span, "invalid operand to unary '%s': %s", op, elem_name(t.elem));
        if (n->op == UOP_NOT && elem_is_int(t.elem))
            note_at(n->span, "compare explicitly, e.g. 'x == 0'");
        return sema_fail(n);
    }
    sema_set_type(n, t);
    if (n->lhs->is_const) {
        const ConstVal *v = &n->lhs->cval;
        if (v->is_float)
            set_const_float(n, -v->f);
        else if (n->op == UOP_NEG) {
            if (v->i == INT64_MIN || !fits(-v->i, t.elem == EL_INT ? EL_I64 : t.elem)) {
                error_range(n->nspan, n->span, "integer overflow in a constant expression");
                return sema_fail(n);
            }
            set_const_int(n, -v->i);
        } else if (n->op == UOP_NOT)
            set_const_int(n, !v->i);
        else if (elem_is_unsigned(t.elem) && elem_bits(t.elem) < 64)
            set_const_int(n, v->i ^ (int64_t)((UINT64_C(1) << elem_bits(t.elem)) - 1));
        else if (elem_is_unsigned(t.elem)) {
            error_range(n->nspan, n->span, "integer overflow in a constant expression (u64)");
            return sema_fail(n);
        } else
            set_const_int(n, ~v->i);
    }
    return t;
}

static Type check_cast(Sema *S, Node *n) {
    if (!sema_split_args(n))
        return sema_fail(n);
    if (n->kwargs.len) {
        error_at(n->kwargs.items[0]->nspan, "%s(...) takes no named arguments", elem_name(n->elem));
        return sema_fail(n);
    }
    if (n->args.len != 1) {
        error_at(n->span, "%s(...) converts exactly one value, got %d arguments", elem_name(n->elem),
                 n->args.len + n->kwargs.len);
        return sema_fail(n);
    }
    Node *x = n->args.items[0];
    Type t = sema_check_value(S, x);
    if (sema_is_error(&t))
        return sema_fail(n);
    Type r = t;
    r.elem = n->elem;
    sema_set_type(n, r);
    if (x->is_const) {
        double f = const_as_float(x);
        if (elem_is_float(n->elem)) {
            warn_float_overflow(n, f, n->elem);
            set_const_float(n, f);
        } else if (x->cval.is_float) {
            if (n->elem != EL_I1 && (!(f > -9.3e18 && f < 9.3e18) || !fits((int64_t)f, n->elem))) {
                error_at(n->span, "constant %g does not fit in %s", f, elem_name(n->elem));
                return sema_fail(n);
            }
            set_const_int(n, n->elem == EL_I1 ? f != 0 : (int64_t)f);
        } else {
            int64_t v = x->cval.i;
            if (n->elem == EL_I1)
                v = v != 0;
            else if (!fits(v, n->elem)) {
                error_at(n->span, "constant %lld does not fit in %s", (long long)v, elem_name(n->elem));
                return sema_fail(n);
            }
            set_const_int(n, v);
        }
    }
    return r;
}

// ================================================================ dispatch

Type sema_check_expr(Sema *S, Node *n) {
    n->is_const = false;
    switch (n->kind) {
    case ND_INT: set_const_int(n, n->ival); return sema_set_type(n, type_scalar(EL_INT));
    case ND_FLOAT: set_const_float(n, n->fval); return sema_set_type(n, type_scalar(EL_FLOAT));
    case ND_BOOL: set_const_int(n, n->ival); return sema_set_type(n, type_scalar(EL_I1));
    case ND_NAME: return check_name(S, n);
    case ND_TYPENAME: return sema_set_type(n, (Type){.cls = TY_TYPE, .elem = n->elem});
    case ND_LIST: {
        Type t = {.cls = TY_SHAPE};
        if (n->args.len > TILE_MAX_RANK) {
            error_at(n->span, "a shape has at most %d dimensions", TILE_MAX_RANK);
            return sema_fail(n);
        }
        for (int i = 0; i < n->args.len; i++) {
            int64_t d;
            if (!sema_check_const_int(S, n->args.items[i], "a shape dimension", &d))
                return sema_fail(n);
            t.dims[t.rank++] = d;
        }
        return sema_set_type(n, t);
    }
    case ND_UNARY: return check_unary(S, n);
    case ND_BINARY: return check_binary(S, n);
    case ND_CALL: return sema_check_call(S, n);
    case ND_CAST: return check_cast(S, n);
    case ND_INDEX: return sema_check_index(S, n);
    case ND_ERROR: return sema_fail(n);
    case ND_TUPLE:  // only 'return (a, b);' makes one, and the return checks it
        error_at(n->span, "a tuple can only be returned from a helper function");
        return sema_fail(n);
    case ND_SLICE:
    case ND_NEWAXIS:
    case ND_KWARG:
    default: break;
    }
    internal_error(__FILE__, __LINE__, "unexpected %s in an expression", node_kind_name(n->kind));
}
