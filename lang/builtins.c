// lang/builtins.c — the builtin functions: their names (one X-macro table in sema.h) and
// the type rules of each call, one check per family of builtins (the table's last column).
#include <math.h>
#include <string.h>

#include "sema_internal.h"

static Node *kwarg(Node *call, const char *name) {
    for (int i = 0; i < call->kwargs.len; i++)
        if (strcmp(call->kwargs.items[i]->name, name) == 0)
            return call->kwargs.items[i]->rhs;
    return NULL;
}

Node *sema_named_arg(const Node *call, const char *name) { return kwarg((Node *)call, name); }

// Reports named arguments not among `allowed` (NULL-terminated; NULL: none).
static bool check_kwargs(Node *call, const char *const *allowed) {
    bool ok = true;
    for (int i = 0; i < call->kwargs.len; i++) {
        Node *k = call->kwargs.items[i];
        bool known = false;
        for (const char *const *a = allowed; a && *a; a++)
            known = known || strcmp(*a, k->name) == 0;
        if (!known) {
            if (allowed && allowed[0]) {
                char list[128] = "";
                size_t len = 0;
                for (const char *const *a = allowed; *a && len < sizeof list; a++)
                    len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", a == allowed ? "" : ", ",
                                            *a);
                error_at(k->nspan, "'%s' has no argument named '%s' (its named arguments are %s)", call->name,
                         k->name, list);
            } else
                error_at(k->nspan, "'%s' takes no named arguments", call->name);
            ok = false;
        }
    }
    return ok;
}

// A positional argument or the named one, whichever is given (reports both).
static Node *arg_or_kw(Node *call, int pos, const char *name, bool *ok) {
    Node *k = kwarg(call, name);
    if (pos < call->args.len) {
        if (k) {
            for (int i = 0; i < call->kwargs.len; i++)
                if (call->kwargs.items[i]->rhs == k)
                    error_at(call->kwargs.items[i]->nspan,
                             "argument '%s' is given both by position and by name", name);
            *ok = false;
        }
        return call->args.items[pos];
    }
    return k;
}

static bool const_bool(Sema *S, Node *n, const char *what, bool *out) {
    Type t = sema_check_value(S, n);
    if (sema_is_error(&t))
        return false;
    if (t.elem != EL_I1 || t.rank != 0 || !n->is_const) {
        error_at(n->span, "%s must be true or false", what);
        return false;
    }
    *out = n->cval.i != 0;
    return true;
}

// An argument that must be a shape ([BM, BN]) or an element type (f32): its type, or false.
static bool get_class(Sema *S, Node *n, TypeClass cls, Type *out) {
    *out = sema_check_expr(S, n);
    if (sema_is_error(out))
        return false;
    if (out->cls != cls) {
        error_at(n->span,
                 cls == TY_SHAPE ? "expected a shape like [BM, BN]" : "expected an element type such as f32");
        return false;
    }
    return true;
}

static bool get_shape(Sema *S, Node *n, Type *out) {
    if (!get_class(S, n, TY_SHAPE, out))
        return false;
    *out = type_value(EL_NONE, out->rank, out->dims);
    return true;
}

static bool get_type_arg(Sema *S, Node *n, ElemType *out) {
    Type t;
    if (!get_class(S, n, TY_TYPE, &t))
        return false;
    *out = t.elem;
    return true;
}

// The axis of a reduction, normalized to [0, rank); -1 for "all axes".
static bool get_axis(Sema *S, Node *call, Node *axis, const Type *x, int *out) {
    *out = -1;
    if (!axis)
        return true;
    int64_t a;
    Type t = sema_check_value(S, axis);
    if (sema_is_error(&t))
        return false;
    if (!axis->is_const || !elem_is_int(t.elem) || t.rank) {
        error_at(axis->span, "the axis of '%s' must be a compile-time integer", call->name);
        bool positional = call->args.len > 1 && call->args.items[1] == axis;
        if (positional && (strcmp(call->name, "max") == 0 || strcmp(call->name, "min") == 0))
            note_at(call->span, "for the elementwise %s of two values, use %s(a, b)", call->name,
                    call->name[1] == 'a' ? "maximum" : "minimum");
        return false;
    }
    a = axis->cval.i;
    if (a < -x->rank || a >= x->rank) {
        char b[96];
        error_at(axis->span, "axis %lld is out of range for %s", (long long)a, sema_tstr(x, b));
        return false;
    }
    *out = (int)(a < 0 ? a + x->rank : a);
    return true;
}

// Folds a unary math function on a scalar constant.
static bool fold_math(Builtin b, double x, double *r) {
    switch (b) {
    case B_EXP: *r = exp(x); return true;
    case B_EXP2: *r = exp2(x); return true;
    case B_LOG: *r = log(x); return true;
    case B_LOG2: *r = log2(x); return true;
    case B_SQRT: *r = sqrt(x); return true;
    case B_RSQRT: *r = 1.0 / sqrt(x); return true;
    case B_SIN: *r = sin(x); return true;
    case B_COS: *r = cos(x); return true;
    case B_TANH: *r = tanh(x); return true;
    case B_ERF: *r = erf(x); return true;
    case B_SIGMOID: *r = 1.0 / (1.0 + exp(-x)); return true;
    case B_FLOOR: *r = floor(x); return true;
    case B_CEIL: *r = ceil(x); return true;
    default: return false;
    }
}

// Elementwise unify of several values (broadcast shapes, one element type).
static bool unify_many(Node *call, Node **xs, int n, Type *out) {
    Type t = xs[0]->type;
    for (int i = 1; i < n; i++) {
        ElemType e = sema_unify_elems(call, xs[0], xs[i], call->name);
        if (e == EL_NONE)
            return false;
        for (int j = 0; j <= i; j++)
            if (xs[j]->type.elem != e && !sema_coerce_to(xs[j], e, ""))
                return false;
        Type bc;
        if (!sema_broadcast_shapes(&t, &xs[i]->type, &bc)) {
            char b1[96], b2[96];
            error_at(xs[i]->span, "cannot broadcast %s with %s in '%s'", sema_tstr(&t, b1),
                     sema_tstr(&xs[i]->type, b2), call->name);
            return false;
        }
        t = type_value(e, bc.rank, bc.dims);
    }
    *out = t;
    return true;
}

// The first argument of load/store/atomics: X[...] on a tensor.
static Node *memory_target(Sema *S, Node *call, bool is_store) {
    Node *t = call->args.items[0];
    if (t->kind != ND_INDEX) {
        error_at(t->span, "the first argument of '%s' must index a tensor, like X[i, j]", call->name);
        return NULL;
    }
    Type bt = sema_check_expr(S, t->base);
    if (sema_is_error(&bt))
        return NULL;
    if (bt.cls != TY_TENSOR) {
        error_at(t->base->span, "the first argument of '%s' must index a tensor parameter", call->name);
        sema_note_value_param(t->base);
        return NULL;
    }
    Type r = sema_check_tensor_index(S, t, is_store);
    if (sema_is_error(&r))
        return NULL;
    return t;
}

static bool check_mask(Sema *S, Node *call, Node *mask, Type *shape) {
    if (!mask)
        return true;
    Type m = sema_check_value(S, mask);
    if (sema_is_error(&m))
        return false;
    char b1[96], b2[96];
    if (m.elem != EL_I1) {
        error_at(mask->span, "the mask of '%s' must be i1, got %s", call->name, sema_tstr(&m, b1));
        return false;
    }
    Type bc;
    if (!sema_broadcast_shapes(shape, &m, &bc) || bc.rank != shape->rank ||
        memcmp(bc.dims, shape->dims, sizeof(int64_t) * (size_t)shape->rank) != 0) {
        error_at(mask->span, "mask %s does not broadcast to the indexed shape %s", sema_tstr(&m, b1),
                 sema_tstr(shape, b2));
        return false;
    }
    return true;
}

// Marks a tensor written; only `out` tensors may be.
static bool mark_written(Node *target, const char *how) {
    Symbol *sym = target->base->sym;
    if (!((Node *)sym->decl)->is_out) {
        error_at(target->base->span, "cannot %s %s '%s'", how,
                 sym->list_of ? "an element of input list" : "input tensor", sym->name);
        sema_note_output(sym);
        return false;
    }
    sema_mark_written(sym);
    return true;
}

// ================================================================ the families
//
// Each family of builtins has one check, called once the number of positional arguments is
// known to be in range, and one list of the named arguments its members accept. A builtin
// names its family in the BUILTINS table (sema.h): family_<name> below.

// A family of builtins: its type rule and the named arguments its members accept.
typedef struct BuiltinFamily {
    Type (*check)(Sema *S, Node *call, Builtin b);
    const char *const *kwargs;  // NULL-terminated; NULL: none
} BuiltinFamily;

// ------------------------------------------------ the grid: program_id, num_programs

static Type check_grid(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    Node **a = call->args.items;
    int64_t axis;
    if (!sema_check_const_int(S, a[0], "the axis", &axis))
        return sema_fail(call);
    if (!S->kinfo) {
        if (S->fn)
            error_at(call->span, "'%s' can only be used in a kernel; pass the value to the helper instead",
                     name);
        else
            error_at(call->span, "'%s' can only be used in a kernel body", name);
        return sema_fail(call);
    }
    if (S->clause) {
        error_at(call->span,
                 "'%s' cannot be used in a '%s' clause, which is evaluated before any program runs", name,
                 S->clause);
        return sema_fail(call);
    }
    if (axis < 0 || axis >= S->grid_rank) {
        error_at(a[0]->span, "axis %lld is out of range: the grid has %d dimension%s", (long long)axis,
                 S->grid_rank, S->grid_rank == 1 ? "" : "s");
        return sema_fail(call);
    }
    return sema_set_type(call, type_scalar(EL_I64));  // i64: program_id(0) * BLOCK must not wrap
}

static const BuiltinFamily family_grid = {check_grid, NULL};

// ------------------------------------------------ creating tiles: arange; zeros, ones, full

static Type check_arange(Sema *S, Node *call, Builtin b) {
    (void)b;
    int np = call->args.len;
    Node **a = call->args.items;
    int64_t lo = 0, hi;
    if (np == 2 && !sema_check_const_int(S, a[0], "the start of 'arange'", &lo))
        return sema_fail(call);
    if (!sema_check_const_int(S, a[np - 1], "the end of 'arange'", &hi))
        return sema_fail(call);
    if (hi <= lo) {
        error_at(call->span, "arange(%lld, %lld) is empty", (long long)lo, (long long)hi);
        return sema_fail(call);
    }
    if (lo < INT32_MIN || hi > INT32_MAX) {
        error_at(call->span, "the range of 'arange' must fit in i32");
        return sema_fail(call);
    }
    Type t = type_value(EL_I32, 1, (int64_t[]){hi - lo});
    if (!sema_check_tile_shape(call, &t))
        return sema_fail(call);
    return sema_set_type(call, t);
}

static const BuiltinFamily family_arange = {check_arange, NULL};

static Type check_fill(Sema *S, Node *call, Builtin b) {
    Node **a = call->args.items;
    char b1[96];
    ElemType e;
    Type shape;
    if (!get_type_arg(S, a[0], &e) || !get_shape(S, a[1], &shape))
        return sema_fail(call);
    Type t = type_value(e, shape.rank, shape.dims);
    if (!sema_check_tile_shape(a[1], &t))
        return sema_fail(call);
    if (b == B_FULL) {
        Type v = sema_check_value(S, a[2]);
        if (sema_is_error(&v))
            return sema_fail(call);
        if (v.rank != 0) {
            error_at(a[2]->span, "the fill value of 'full' must be a scalar, got %s", sema_tstr(&v, b1));
            return sema_fail(call);
        }
        Type want = type_scalar(e);
        if (!sema_check_assignable(a[2], &want, "fill a tile"))
            return sema_fail(call);
    }
    return sema_set_type(call, t);
}

static const BuiltinFamily family_fill = {check_fill, NULL};

// ------------------------------------------------ elementwise math of one value: exp ... abs

// Folds abs, or another unary math function, of a scalar constant into call.
static bool fold_unary_math(Node *call, Builtin b, const Node *x) {
    double r;
    if (b == B_ABS) {
        if (x->cval.is_float) {
            call->is_const = true;
            call->cval = (ConstVal){.is_float = true, .f = fabs(x->cval.f)};
        } else if (x->cval.i == INT64_MIN) {
            error_at(call->span, "integer overflow in a constant expression");
            return false;
        } else {
            int64_t v = x->cval.i < 0 ? -x->cval.i : x->cval.i;
            call->is_const = true;
            call->cval = (ConstVal){.i = v, .f = (double)v};
        }
    } else if (fold_math(b, x->cval.is_float ? x->cval.f : (double)x->cval.i, &r)) {
        call->is_const = true;
        call->cval = (ConstVal){.is_float = true, .f = r};
    }
    return true;
}

static Type check_unary_math(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    Node **a = call->args.items;
    char b1[96];
    Type t = sema_check_value(S, a[0]);
    if (sema_is_error(&t))
        return sema_fail(call);
    if (t.elem == EL_INT && b != B_ABS) {
        a[0]->cval.f = (double)a[0]->cval.i;
        a[0]->cval.is_float = true;
        t.elem = a[0]->type.elem = EL_FLOAT;
    }
    bool okt = b == B_ABS ? (elem_is_float(t.elem) || elem_is_int(t.elem)) : elem_is_float(t.elem);
    if (!okt) {
        error_at(a[0]->span, "'%s' needs a %s argument, got %s", name,
                 b == B_ABS ? "numeric" : "floating-point", sema_tstr(&t, b1));
        if (elem_is_int(t.elem))
            note_at(a[0]->span, "convert it first, e.g. %s(f32(x))", name);
        return sema_fail(call);
    }
    sema_set_type(call, t);
    if (a[0]->is_const && !fold_unary_math(call, b, a[0]))
        return sema_fail(call);
    return call->type;
}

static const BuiltinFamily family_unary_math = {check_unary_math, NULL};

// ------------------------------------------------ elementwise math of several values: pow,
// maximum, minimum, clamp

// Folds the call on scalar constants (all arguments constant).
static void fold_nary_math(Node *call, Builtin b, Node **a, const Type *t) {
    double x = a[0]->cval.is_float ? a[0]->cval.f : (double)a[0]->cval.i;
    double y = a[1]->cval.is_float ? a[1]->cval.f : (double)a[1]->cval.i;
    bool fl = elem_is_float(t->elem);
    const Node *pick = NULL;
    if (b == B_MAXIMUM)
        pick = x >= y ? a[0] : a[1];
    else if (b == B_MINIMUM)
        pick = x <= y ? a[0] : a[1];
    else if (b == B_CLAMP) {
        double z = a[2]->cval.is_float ? a[2]->cval.f : (double)a[2]->cval.i;
        pick = x < y ? a[1] : x > z ? a[2] : a[0];
    }
    call->is_const = true;
    if (pick) {
        call->cval = pick->cval;
        if (fl && !pick->cval.is_float)
            call->cval = (ConstVal){.is_float = true, .f = (double)pick->cval.i};
    } else {
        call->cval = (ConstVal){.is_float = true, .f = pow(x, y)};
    }
}

static Type check_nary_math(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    int np = call->args.len;
    Node **a = call->args.items;
    char b1[96];
    bool ok = true;
    for (int i = 0; i < np; i++) {
        Type t = sema_check_value(S, a[i]);
        ok = ok && !sema_is_error(&t);
        if (ok && !(elem_is_float(t.elem) || elem_is_int(t.elem))) {
            error_at(a[i]->span, "'%s' needs numeric arguments, got %s", name, sema_tstr(&t, b1));
            ok = false;
        }
    }
    if (!ok)
        return sema_fail(call);
    Type t;
    if (!unify_many(call, a, np, &t))
        return sema_fail(call);
    if (b == B_POW && !elem_is_float(t.elem)) {
        if (t.elem == EL_INT) {
            t.elem = EL_FLOAT;
        } else {
            error_at(call->span, "'pow' needs floating-point arguments, got %s", elem_name(t.elem));
            return sema_fail(call);
        }
    }
    sema_set_type(call, t);
    bool all_const = true;
    for (int i = 0; i < np; i++)
        all_const = all_const && a[i]->is_const;
    if (all_const)
        fold_nary_math(call, b, a, &t);
    return t;
}

static const BuiltinFamily family_nary_math = {check_nary_math, NULL};

// ------------------------------------------------ where, cdiv

static Type check_where(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node **a = call->args.items;
    char b1[96];
    Type c = sema_check_value(S, a[0]);
    Type x = sema_check_value(S, a[1]);
    Type y = sema_check_value(S, a[2]);
    if (sema_is_error(&c) || sema_is_error(&x) || sema_is_error(&y))
        return sema_fail(call);
    if (c.elem != EL_I1) {
        error_at(a[0]->span, "the condition of 'where' must be i1, got %s", sema_tstr(&c, b1));
        return sema_fail(call);
    }
    Type t;
    if (!unify_many(call, a + 1, 2, &t))
        return sema_fail(call);
    Type bc;
    if (!sema_broadcast_shapes(&c, &t, &bc)) {
        char b2[96];
        error_at(a[0]->span, "condition %s does not broadcast with %s", sema_tstr(&c, b1), sema_tstr(&t, b2));
        return sema_fail(call);
    }
    t = type_value(t.elem, bc.rank, bc.dims);
    if (a[0]->is_const && a[1]->is_const && a[2]->is_const && t.rank == 0) {
        call->is_const = true;
        call->cval = a[0]->cval.i ? a[1]->cval : a[2]->cval;
    } else if (t.elem == EL_INT || t.elem == EL_FLOAT) {
        sema_concretize(a[1]);  // both branches take the same default type
        if (!sema_coerce_to(a[2], a[1]->type.elem, ""))
            return sema_fail(call);
        t.elem = a[1]->type.elem;
    }
    return sema_set_type(call, t);
}

static const BuiltinFamily family_where = {check_where, NULL};

static Type check_cdiv(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node **a = call->args.items;
    char b1[96];
    Type x = sema_check_value(S, a[0]), y = sema_check_value(S, a[1]);
    if (sema_is_error(&x) || sema_is_error(&y))
        return sema_fail(call);
    if (!elem_is_int(x.elem) || !elem_is_int(y.elem) || x.rank || y.rank) {
        error_at(call->span, "'cdiv' needs two scalar integers, got %s and %s", sema_tstr(&x, b1),
                 type_str(&y, (char[96]){0}, 96));
        return sema_fail(call);
    }
    ElemType e = sema_unify_elems(call, a[0], a[1], "cdiv");
    if (e == EL_NONE)
        return sema_fail(call);
    sema_set_type(call, type_scalar(e));
    if (a[1]->is_const && a[1]->cval.i <= 0) {
        error_at(a[1]->span, "'cdiv' by %lld; the divisor must be positive", (long long)a[1]->cval.i);
        return sema_fail(call);
    }
    if (a[0]->is_const && a[1]->is_const) {
        int64_t p = a[0]->cval.i, q = a[1]->cval.i;
        int64_t r = p / q + (p % q > 0);
        call->is_const = true;
        call->cval = (ConstVal){.i = r, .f = (double)r};
    }
    return call->type;
}

static const BuiltinFamily family_cdiv = {check_cdiv, NULL};

// ------------------------------------------------ the target: is_gpu

// A compile-time i1: whether the program is compiled for a GPU (the compiler's --target). It
// lets a kernel state a target's own defaults (`prefer is_gpu() || BN == 256`) or code paths.
static Type check_target(Sema *S, Node *call, Builtin b) {
    (void)b;
    sema_set_type(call, type_scalar(EL_I1));
    call->is_const = true;
    call->cval = (ConstVal){.i = S->prog->target_gpu, .f = (double)S->prog->target_gpu};
    return call->type;
}

static const BuiltinFamily family_target = {check_target, NULL};

// ------------------------------------------------ umulhi; philox, randint, rand, randn

// umulhi(a, b): the high half of the full product of two u32 or u64 values (elementwise).
static Type check_umulhi(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node **a = call->args.items;
    char b1[96];
    Type x = sema_check_value(S, a[0]), y = sema_check_value(S, a[1]);
    if (sema_is_error(&x) || sema_is_error(&y))
        return sema_fail(call);
    Type t;
    if (!unify_many(call, a, 2, &t))
        return sema_fail(call);
    if (t.elem != EL_U32 && t.elem != EL_U64) {
        error_at(call->span, "'umulhi' needs u32 or u64 arguments, got %s", sema_tstr(&t, b1));
        if (elem_is_int(t.elem))
            note_at(call->span, "convert them first, e.g. umulhi(u32(a), u32(b))");
        return sema_fail(call);
    }
    sema_set_type(call, t);
    if (a[0]->is_const && a[1]->is_const) {
        unsigned __int128 p = (unsigned __int128)(uint64_t)a[0]->cval.i * (uint64_t)a[1]->cval.i;
        uint64_t hi = (uint64_t)(p >> elem_bits(t.elem));
        if (hi > INT64_MAX) {
            error_at(call->span, "integer overflow in a constant expression (u64)");
            return sema_fail(call);
        }
        call->is_const = true;
        call->cval = (ConstVal){.i = (int64_t)hi, .f = (double)hi};
    }
    return t;
}

static const BuiltinFamily family_umulhi = {check_umulhi, NULL};

// An integer argument of philox/randint/rand/randn: a typed integer of at most `bits` bits, or
// an untyped constant (which becomes `as`); false after reporting.
static bool random_int_arg(Sema *S, Node *call, Node *x, const char *what, int bits, ElemType as) {
    char b1[96];
    Type t = sema_check_value(S, x);
    if (sema_is_error(&t))
        return false;
    if (t.elem == EL_INT)
        return sema_coerce_to(x, as, "");
    if (!elem_is_int(t.elem) || elem_bits(t.elem) > bits) {
        error_at(x->span, "%s of '%s' must be %s, got %s", what, call->name,
                 bits == 32 ? "a 32-bit integer (u32 or i32)" : "an integer", sema_tstr(&t, b1));
        if (elem_is_int(t.elem))
            note_at(x->span, "split a 64-bit value into its halves: u32(x) and u32(x >> 32)");
        return false;
    }
    return true;
}

// philox(seed, c0, c1, c2, c3, n): word n of Philox4x32-10 of the counter (c0, c1, c2, c3) with the
// key (seed's low and high 32 bits); randint, rand, randn(seed, offset): Triton's counter-based
// random numbers (docs/language.md §9.10). All elementwise over the broadcast shape.
static Type check_random(Sema *S, Node *call, Builtin b) {
    Node **a = call->args.items;
    int nwords = b == B_PHILOX ? 4 : 1;
    if (!random_int_arg(S, call, a[0], "the seed", 64, EL_U64))
        return sema_fail(call);
    for (int i = 1; i <= nwords; i++)
        if (!random_int_arg(
                S, call, a[i], b == B_PHILOX ? "a counter word" : "the offset", b == B_PHILOX ? 32 : 64,
                b == B_PHILOX
                    ? EL_U32
                    : (a[i]->type.elem == EL_INT && a[i]->is_const && a[i]->cval.i > INT32_MAX ? EL_I64
                                                                                               : EL_I32)))
            return sema_fail(call);
    Type t = a[0]->type;
    for (int i = 1; i <= nwords; i++) {
        Type bc;
        if (!sema_broadcast_shapes(&t, &a[i]->type, &bc)) {
            char b1[96], b2[96];
            error_at(a[i]->span, "cannot broadcast %s with %s in '%s'", sema_tstr(&t, b1),
                     sema_tstr(&a[i]->type, b2), call->name);
            return sema_fail(call);
        }
        t = bc;
    }
    if (b == B_PHILOX) {
        int64_t w;
        if (!sema_check_const_int(S, a[5], "the word of 'philox'", &w))
            return sema_fail(call);
        if (w < 0 || w > 3) {
            error_at(a[5]->span, "'philox' has 4 output words (0 to 3), not %lld", (long long)w);
            return sema_fail(call);
        }
    }
    t = type_value(b == B_RAND || b == B_RANDN ? EL_F32 : EL_U32, t.rank, t.dims);
    return sema_set_type(call, t);
}

static const BuiltinFamily family_random = {check_random, NULL};

// ------------------------------------------------ reductions: sum, max, min, mean, argmax, argmin

static Type check_reduce(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    Node **a = call->args.items;
    char b1[96];
    bool ok = true;
    Type x = sema_check_value(S, a[0]);
    if (sema_is_error(&x))
        return sema_fail(call);
    if (x.rank == 0) {
        error_at(a[0]->span, "'%s' reduces a tile, but got the scalar %s", name, sema_tstr(&x, b1));
        if (b == B_MAX || b == B_MIN)
            note_at(call->span, "for the %s of two values, use %s(a, b)", name,
                    b == B_MAX ? "maximum" : "minimum");
        return sema_fail(call);
    }
    bool numeric = elem_is_float(x.elem) || elem_is_int(x.elem);
    if (!numeric || (b == B_MEAN && !elem_is_float(x.elem))) {
        error_at(a[0]->span, "'%s' needs a %s tile, got %s", name, b == B_MEAN ? "floating-point" : "numeric",
                 sema_tstr(&x, b1));
        return sema_fail(call);
    }
    Node *axis_n = arg_or_kw(call, 1, "axis", &ok);
    int axis;
    bool keep = false;
    Node *keep_n = kwarg(call, "keepdims");
    if (!ok || !get_axis(S, call, axis_n, &x, &axis) || (keep_n && !const_bool(S, keep_n, "keepdims", &keep)))
        return sema_fail(call);
    Node *acc_n = kwarg(call, "acc");
    ElemType acc;
    if (acc_n) {
        if (!get_type_arg(S, acc_n, &acc))
            return sema_fail(call);
        if (b != B_SUM && b != B_MEAN) {
            error_at(acc_n->span, "'%s' has no accumulation type: only 'sum' and 'mean' take 'acc'", name);
            return sema_fail(call);
        }
        bool okacc = elem_is_float(x.elem)
                         ? elem_is_float(acc) && (acc == x.elem || acc == EL_F32 || acc == EL_F64)
                         : acc == x.elem;
        if (!okacc) {
            error_at(acc_n->span, "cannot accumulate the %s of %s tiles in %s", name, elem_name(x.elem),
                     elem_name(acc));
            note_at(acc_n->span, "'acc' is the tile's own element type%s",
                    elem_is_float(x.elem) ? " or a wider floating-point type" : "");
            return sema_fail(call);
        }
    }
    Type r = x;
    if (b == B_ARGMAX || b == B_ARGMIN)
        r.elem = EL_I32;
    if (axis < 0) {
        if (keep) {
            for (int i = 0; i < r.rank; i++)
                r.dims[i] = 1;
        } else {
            r.rank = 0;
        }
    } else if (keep) {
        r.dims[axis] = 1;
    } else {
        for (int i = axis; i + 1 < r.rank; i++)
            r.dims[i] = r.dims[i + 1];
        r.rank--;
    }
    return sema_set_type(call, r);
}

static const char *const reduce_kwargs[] = {"axis", "keepdims", "acc", NULL};
static const BuiltinFamily family_reduce = {check_reduce, reduce_kwargs};

// ------------------------------------------------ matrix products: dot

static Type check_dot(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node **a = call->args.items;
    bool ok = true;
    Type x = sema_check_value(S, a[0]), y = sema_check_value(S, a[1]);
    if (sema_is_error(&x) || sema_is_error(&y))
        return sema_fail(call);
    Node *acc = arg_or_kw(call, 2, "acc", &ok);
    Node *ot = kwarg(call, "out_type");
    Node *tf = kwarg(call, "allow_tf32");
    ElemType out = EL_NONE;
    bool tf32 = false;
    if (!ok || (ot && !get_type_arg(S, ot, &out)) || (tf && !const_bool(S, tf, "allow_tf32", &tf32)))
        return sema_fail(call);
    if (acc) {
        Type ta = sema_check_expr(S, acc);
        if (sema_is_error(&ta))
            return sema_fail(call);
        if (ta.cls == TY_TYPE) {  // dot(a, b, f32): the accumulator type
            if (ot) {
                error_at(acc->span, "the accumulator type is given twice");
                return sema_fail(call);
            }
            out = ta.elem;
            acc = NULL;
        } else if (ta.cls != TY_VALUE) {
            sema_check_value(S, acc);  // reports what it is instead
            return sema_fail(call);
        } else if (ot) {
            error_at(ot->span, "'out_type' cannot be combined with an accumulator tile");
            return sema_fail(call);
        }
    }
    return sema_check_dot_types(call, a[0], a[1], acc, out, tf32);
}

static const char *const dot_kwargs[] = {"acc", "out_type", "allow_tf32", NULL};
static const BuiltinFamily family_dot = {check_dot, dot_kwargs};

// ------------------------------------------------ shapes: trans; reshape, broadcast

static Type check_trans(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node **a = call->args.items;
    char b1[96];
    bool ok = true;
    Type x = sema_check_value(S, a[0]);
    if (sema_is_error(&x))
        return sema_fail(call);
    Node *perm_n = arg_or_kw(call, 1, "perm", &ok);
    if (!ok)
        return sema_fail(call);
    int perm[TILE_MAX_RANK];
    if (!perm_n) {
        if (x.rank != 2) {
            error_at(a[0]->span, "'trans' without a permutation needs a 2-D tile, got %s", sema_tstr(&x, b1));
            return sema_fail(call);
        }
        perm[0] = 1;
        perm[1] = 0;
    } else {
        Type p;
        if (!get_shape(S, perm_n, &p))
            return sema_fail(call);
        bool seen[TILE_MAX_RANK] = {0};
        bool valid = p.rank == x.rank;
        for (int i = 0; valid && i < p.rank; i++) {
            valid = p.dims[i] >= 0 && p.dims[i] < x.rank && !seen[p.dims[i]];
            if (valid) {
                seen[p.dims[i]] = true;
                perm[i] = (int)p.dims[i];
            }
        }
        if (!valid) {
            error_at(perm_n->span, "not a permutation of the %d dimensions of %s", x.rank, sema_tstr(&x, b1));
            return sema_fail(call);
        }
    }
    Type r = x;
    for (int i = 0; i < x.rank; i++)
        r.dims[i] = x.dims[perm[i]];
    return sema_set_type(call, r);
}

static const char *const trans_kwargs[] = {"perm", NULL};
static const BuiltinFamily family_trans = {check_trans, trans_kwargs};

static Type check_reshape(Sema *S, Node *call, Builtin b) {
    Node **a = call->args.items;
    char b1[96];
    Type x = sema_check_value(S, a[0]);
    Type shape;
    if (sema_is_error(&x) || !get_shape(S, a[1], &shape))
        return sema_fail(call);
    if (sema_is_error(&x) || x.elem == EL_INT || x.elem == EL_FLOAT)
        sema_concretize(a[0]);
    x = a[0]->type;
    Type r = type_value(x.elem, shape.rank, shape.dims);
    if (!sema_check_tile_shape(a[1], &r))
        return sema_fail(call);
    char b2[96];
    if (b == B_RESHAPE && sema_type_elems(&r) != sema_type_elems(&x)) {
        error_at(call->span, "cannot reshape %s (%lld elements) to %s (%lld elements)", sema_tstr(&x, b1),
                 (long long)sema_type_elems(&x), sema_tstr(&r, b2), (long long)sema_type_elems(&r));
        return sema_fail(call);
    }
    Type bc;
    if (b == B_BROADCAST && (!sema_broadcast_shapes(&x, &r, &bc) || bc.rank != r.rank ||
                             memcmp(bc.dims, r.dims, sizeof(int64_t) * (size_t)r.rank) != 0)) {
        error_at(call->span, "cannot broadcast %s to %s", sema_tstr(&x, b1), sema_tstr(&r, b2));
        return sema_fail(call);
    }
    return sema_set_type(call, r);
}

static const BuiltinFamily family_reshape = {check_reshape, NULL};

// ------------------------------------------------ memory: load; store, atomic_add/max/min

static Type check_load(Sema *S, Node *call, Builtin b) {
    (void)b;
    Node *t = memory_target(S, call, false);
    if (!t)
        return sema_fail(call);
    Type r = t->type;
    Node *other = kwarg(call, "other");
    if (other && t->els) {
        error_at(other->span, "the padding is given twice ('else' and 'other')");
        return sema_fail(call);
    }
    if (!check_mask(S, call, kwarg(call, "mask"), &r))
        return sema_fail(call);
    if (other) {
        Type o = sema_check_value(S, other);
        if (sema_is_error(&o))
            return sema_fail(call);
        Type want = type_value(r.elem, r.rank, r.dims);
        if (!sema_check_assignable(other, &want, "use 'other' for a load"))
            return sema_fail(call);
    }
    return sema_set_type(call, r);
}

static const char *const load_kwargs[] = {"mask", "other", NULL};
static const BuiltinFamily family_load = {check_load, load_kwargs};

static Type check_store(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    Node **a = call->args.items;
    Node *t = memory_target(S, call, true);
    if (!t)
        return sema_fail(call);
    sema_mark_written(t->base->sym);  // even if rejected below: no "never written" follow-on
    Type shape = t->type;
    Type v = sema_check_value(S, a[1]);
    if (sema_is_error(&v))
        return sema_fail(call);
    if (!check_mask(S, call, kwarg(call, "mask"), &shape))
        return sema_fail(call);
    if (b != B_STORE) {
        ElemType e = shape.elem;
        bool supported = e == EL_I32 || e == EL_I64 || e == EL_U32 || e == EL_U64 || e == EL_F32 ||
                         e == EL_F64 || (b == B_ATOMIC_ADD && (e == EL_F16 || e == EL_BF16));
        if (!supported) {
            error_at(t->span, "'%s' is not supported on %s tensors", name, elem_name(e));
            return sema_fail(call);
        }
    }
    char verb[128];
    snprintf(verb, sizeof verb, "%s to tensor '%s'", b == B_STORE ? "store" : name, t->base->sym->name);
    if (!sema_check_assignable(a[1], &shape, verb))
        return sema_fail(call);
    if (!mark_written(t, b == B_STORE ? "store to" : "update"))
        return sema_fail(call);
    return sema_set_type(call, (Type){.cls = TY_VOID});
}

static const char *const store_kwargs[] = {"mask", NULL};
static const BuiltinFamily family_store = {check_store, store_kwargs};

// atomic_cas(X[...], cmp, val, mask = m), atomic_xchg(X[...], val, mask = m): each selected
// element is swapped atomically (cas: only where it equals cmp); the result is the tile of the
// values the elements held before (0 where outside the tensor or masked off).
static Type check_swap(Sema *S, Node *call, Builtin b) {
    const char *name = builtin_name(b);
    Node **a = call->args.items;
    Node *t = memory_target(S, call, true);
    if (!t)
        return sema_fail(call);
    sema_mark_written(t->base->sym);
    Type shape = t->type;
    for (int i = 1; i < call->args.len; i++) {
        Type v = sema_check_value(S, a[i]);
        if (sema_is_error(&v))
            return sema_fail(call);
    }
    if (!check_mask(S, call, kwarg(call, "mask"), &shape))
        return sema_fail(call);
    ElemType e = shape.elem;
    bool supported = e == EL_I32 || e == EL_I64 || e == EL_U32 || e == EL_U64 ||
                     (b == B_ATOMIC_XCHG && (e == EL_F32 || e == EL_F64));
    if (!supported) {
        error_at(t->span, "'%s' is not supported on %s tensors", name, elem_name(e));
        note_at(t->span, "'%s' takes tensors of i32, i64, u32 or u64%s", name,
                b == B_ATOMIC_XCHG ? " (or f32, f64)" : "");
        return sema_fail(call);
    }
    for (int i = 1; i < call->args.len; i++) {
        char verb[128];
        if (b == B_ATOMIC_CAS && i == 1)
            snprintf(verb, sizeof verb, "compare with tensor '%s'", t->base->sym->name);
        else
            snprintf(verb, sizeof verb, "%s to tensor '%s'", name, t->base->sym->name);
        if (!sema_check_assignable(a[i], &shape, verb))
            return sema_fail(call);
    }
    if (!mark_written(t, "update"))
        return sema_fail(call);
    return sema_set_type(call, type_value(e, shape.rank, shape.dims));
}

static const BuiltinFamily family_swap = {check_swap, store_kwargs};

// ================================================================ the table and the dispatch

static const struct {
    const char *name;
    int min_args, max_args;
    const BuiltinFamily *family;
} builtin_table[] = {
// clang-format off
#define X(e, n, lo, hi, fam) {n, lo, hi, &family_##fam},
    BUILTINS(X)
#undef X
    // clang-format on
};

Builtin builtin_lookup(const char *name) {
    for (int i = 0; i < B_COUNT; i++)
        if (strcmp(builtin_table[i].name, name) == 0)
            return (Builtin)i;
    return B_NONE;
}

const char *builtin_name(Builtin b) { return builtin_table[b].name; }

// Triton's and NumPy's order of zeros, ones and full (the shape first, a tuple, dtype=): a note
// with the .tile spelling, "zeros(f32, [16, 16])", after the error the call got.
static bool triton_fill(Node *call, Builtin b) {
    if ((b != B_ZEROS && b != B_ONES && b != B_FULL) ||
        (call->args.len >= 1 && call->args.items[0]->kind == ND_TYPENAME))
        return false;
    return kwarg(call, "dtype") || kwarg(call, "shape") ||
           (call->args.len >= 1 && call->args.items[0]->kind == ND_LIST);
}

static void note_fill_spelling(Node *call, Builtin b) {
    ElemType e = EL_F32;
    const Node *shape = kwarg(call, "shape"), *value = NULL, *dtype = kwarg(call, "dtype");
    if (dtype && dtype->kind == ND_TYPENAME)
        e = dtype->elem;
    for (int i = 0; i < call->args.len; i++) {
        const Node *a = call->args.items[i];
        if (a->kind == ND_TYPENAME)
            e = a->elem;
        else if (a->kind == ND_LIST && !shape)
            shape = a;
        else if (!value)
            value = a;
    }
    const SourceFile *f = call->span.file;
    int sl = shape && shape->span.len < 64 ? (int)shape->span.len : 0;
    int vl = value && value->span.len < 64 ? (int)value->span.len : 0;
    if (b == B_FULL)
        note_at(call->span, "the element type comes first in .tile: write full(%s, %.*s, %.*s)", elem_name(e),
                sl ? sl : 6, sl ? f->text + shape->span.off : "[a, b]", vl ? vl : 1,
                vl ? f->text + value->span.off : "v");
    else
        note_at(call->span, "the element type comes first in .tile: write %s(%s, %.*s)",
                builtin_table[b].name, elem_name(e), sl ? sl : 6, sl ? f->text + shape->span.off : "[a, b]");
}

Type sema_check_builtin_call(Sema *S, Node *call, Builtin b) {
    int np = call->args.len;
    const char *name = builtin_table[b].name;
    bool triton = triton_fill(call, b);
    if (!check_kwargs(call, builtin_table[b].family->kwargs)) {
        if (triton)
            note_fill_spelling(call, b);
        else if ((b == B_PROGRAM_ID || b == B_NUM_PROGRAMS) && np == 0 && kwarg(call, "axis"))
            note_at(call->span, "the axis is positional: write %s(%.*s)", name,
                    (int)kwarg(call, "axis")->span.len,
                    call->span.file->text + kwarg(call, "axis")->span.off);
        return sema_fail(call);
    }
    // Arguments that may come by name (axis, acc, perm) count toward the maximum only.
    if (np < builtin_table[b].min_args || np > builtin_table[b].max_args) {
        int lo = builtin_table[b].min_args, hi = builtin_table[b].max_args;
        if (lo == hi)
            error_at(call->span, "'%s' takes %d argument%s, but %d %s given", name, lo, lo == 1 ? "" : "s",
                     np, np == 1 ? "was" : "were");
        else
            error_at(call->span, "'%s' takes %d to %d arguments, but %d %s given", name, lo, hi, np,
                     np == 1 ? "was" : "were");
        if (triton)
            note_fill_spelling(call, b);
        return sema_fail(call);
    }
    Type t = builtin_table[b].family->check(S, call, b);
    if (triton && sema_is_error(&t))
        note_fill_spelling(call, b);
    return t;
}
