// lang/sema.c — scopes, declarations, statements, kernels and their search spaces.
#include "sema.h"

#include <stdio.h>
#include <string.h>

#include "locked.h"
#include "sema_internal.h"

// ================================================================ scopes

Scope *sema_scope_push(Sema *S, Scope *parent) {
    Scope *saved = S->scope;
    Scope *sc = ast_alloc(sizeof(Scope));
    sc->parent = parent;
    S->scope = sc;
    return saved;
}

void sema_scope_pop(Sema *S, Scope *saved) { S->scope = saved; }

static unsigned hash_name(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static Symbol *scope_find(const Scope *sc, const char *name) {
    if (!sc->hash)
        return NULL;
    unsigned mask = (unsigned)(2 * sc->cap - 1);
    for (unsigned i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int k = sc->hash[i];
        if (k == 0)
            return NULL;
        if (strcmp(sc->syms[k - 1]->name, name) == 0)
            return sc->syms[k - 1];
    }
}

static void scope_insert(Scope *sc, Symbol *sym) {
    if (sc->n == sc->cap) {
        int cap = sc->cap ? sc->cap * 2 : 8;
        Symbol **syms = ast_alloc(sizeof(Symbol *) * (size_t)cap);
        if (sc->n)
            memcpy(syms, sc->syms, sizeof(Symbol *) * (size_t)sc->n);
        sc->syms = syms;
        sc->cap = cap;
        sc->hash = ast_alloc(sizeof(int) * (size_t)(2 * cap));
        unsigned mask = (unsigned)(2 * cap - 1);
        for (int j = 0; j < sc->n; j++) {
            unsigned i = hash_name(syms[j]->name) & mask;
            while (sc->hash[i])
                i = (i + 1) & mask;
            sc->hash[i] = j + 1;
        }
    }
    sc->syms[sc->n++] = sym;
    unsigned mask = (unsigned)(2 * sc->cap - 1);
    unsigned i = hash_name(sym->name) & mask;
    while (sc->hash[i])
        i = (i + 1) & mask;
    sc->hash[i] = sc->n;
}

Symbol *sema_scope_lookup(Sema *S, const char *name) {
    for (Scope *sc = S->scope; sc; sc = sc->parent) {
        Symbol *s = scope_find(sc, name);
        if (s)
            return s->alias ? s->alias : s;
    }
    return NULL;
}

const char *sema_sym_kind_name(SymKind k) {
    switch (k) {
    case SYM_TENSOR: return "tensor parameter";
    case SYM_SCALAR: return "scalar parameter";
    case SYM_SIZE: return "size";
    case SYM_STRIDE: return "stride";
    case SYM_TUNABLE: return "tunable";
    case SYM_CONST: return "constant";
    case SYM_LET: return "'let' binding";
    case SYM_VAR: return "variable";
    case SYM_LOOPVAR: return "loop variable";
    case SYM_FUNC: return "function";
    case SYM_KERNEL: return "kernel";
    case SYM_SHAPEVAR: return "dimension name";
    }
    return "name";
}

Symbol *sema_declare(Sema *S, SymKind kind, const char *name, Span span, Node *decl) {
    Scope *sc = S->scope;
    // Locals may hide a builtin (a variable called 'mean'); global names may not.
    if (builtin_lookup(name) != B_NONE && (kind == SYM_FUNC || kind == SYM_KERNEL || kind == SYM_CONST)) {
        error_at(span, "'%s' is the name of a builtin function; choose another name", name);
        return NULL;
    }
    Symbol *prev = scope_find(sc, name);
    if (prev) {
        error_at(span, "redefinition of '%s'", name);
        note_at(prev->span, "'%s' was first declared here as a %s", name, sema_sym_kind_name(prev->kind));
        return NULL;
    }
    Symbol *sym = ast_alloc(sizeof(Symbol));
    sym->kind = kind;
    sym->name = name;
    sym->span = span;
    sym->decl = decl;
    sym->type = type_error();
    for (int i = 0; i < TILE_MAX_RANK; i++) {
        sym->const_dims[i] = -1;
        sym->const_strides[i] = -1;
    }
    scope_insert(sc, sym);
    return sym;
}

// ================================================================ statements

bool sema_declared_type(Sema *S, Node *ty, Type *out) {
    *out = type_value(ty->elem, 0, NULL);
    if (ty->init) {
        error_at(ty->span, "only a kernel parameter can be a list");
        return false;
    }
    if (!ty->has_shape)
        return true;
    if (ty->args.len > TILE_MAX_RANK) {
        error_at(ty->span, "tiles have at most %d dimensions", TILE_MAX_RANK);
        return false;
    }
    for (int i = 0; i < ty->args.len; i++) {
        int64_t d;
        if (!sema_check_const_int(S, ty->args.items[i], "a tile dimension", &d))
            return false;
        out->dims[out->rank++] = d;
    }
    return sema_check_tile_shape(ty, out);
}

static void check_binding(Sema *S, Node *n) {
    bool is_var = n->kind == ND_VAR;
    Type t = sema_check_value(S, n->init);
    char what[160];
    snprintf(what, sizeof what, "initialize '%s'", n->name);
    if (!sema_is_error(&t) && n->ty) {
        Type want;
        if (!sema_declared_type(S, n->ty, &want) || !sema_check_assignable(n->init, &want, what))
            t = type_error();
        else
            t = want;
    } else if (!sema_is_error(&t) && is_var) {
        sema_concretize(n->init);
        t = n->init->type;
    }
    Symbol *sym = sema_declare(S, is_var ? SYM_VAR : SYM_LET, n->name, n->nspan, n);
    if (!sym)
        return;
    sym->type = t;
    if (!is_var && n->init->is_const && !sema_is_error(&t)) {
        sym->is_const = true;
        sym->cval = n->init->cval;
        if (elem_is_float(t.elem) && !sym->cval.is_float)
            sym->cval = (ConstVal){.is_float = true, .f = (double)n->init->cval.i};
    }
    n->sym = sym;
    n->type = t;
}

// The value an assignment stores: its right-hand side, or `lhs op rhs` for 'op=' (made once and
// kept in n->init, so re-checks under other configurations reuse it).
static Node *assigned_value(Node *n) {
    if (!n->init) {
        n->init = n->rhs;
        if (n->op != OP_NONE) {
            n->init = ast_binary(n->op, n->lhs, n->rhs, n->span);
            n->init->nspan = n->nspan;
        }
    }
    return n->init;
}

static void check_assign_name(Sema *S, Node *n) {
    Node *lhs = n->lhs;
    Symbol *sym = sema_scope_lookup(S, lhs->name);
    if (!sym) {
        sema_check_expr(S, lhs);  // reports the undeclared name
        return;
    }
    sym->used = true;
    if (sym->kind != SYM_VAR) {
        error_at(lhs->span, "cannot assign to %s '%s'", sema_sym_kind_name(sym->kind), lhs->name);
        if (sym->kind == SYM_LET)
            note_at(sym->span, "declare it with 'var' to make it assignable");
        else
            note_at(sym->span, "'%s' is declared here", lhs->name);
        return;
    }
    char what[160];
    snprintf(what, sizeof what, "assign to '%s'", lhs->name);
    Node *value = assigned_value(n);
    int problems_before = diag_problem_count();
    Type t = sema_check_value(S, value);
    lhs->sym = sym;
    lhs->type = sym->type;
    if (n->op != OP_NONE && diag_problem_count() != problems_before && !sema_is_error(&sym->type)) {
        char b[96];
        note_at(sym->span, "'%s' is declared here with type %s", lhs->name,
                type_str(&sym->type, b, sizeof b));
    }
    if (sema_is_error(&t) || sema_is_error(&sym->type))
        return;
    if (sym->type.rank == 0 && t.rank > 0 && n->op == OP_NONE) {
        char b1[96], b2[96];
        error_at(value->span, "cannot assign %s to '%s' of type %s", type_str(&t, b1, 96), lhs->name,
                 type_str(&sym->type, b2, 96));
        return;
    }
    if (sema_check_assignable(value, &sym->type, what))
        sym->written = true;
}

static void check_store(Sema *S, Node *n) {
    Node *lhs = n->lhs;
    Type bt = sema_check_expr(S, lhs->base);
    if (sema_is_error(&bt))
        return;
    if (bt.cls != TY_TENSOR) {
        Symbol *p = lhs->base->kind == ND_NAME ? lhs->base->sym : NULL;
        if (bt.cls == TY_VALUE && p && p->decl && p->decl->kind == ND_PARAM)
            error_at(lhs->base->span,
                     "cannot store to '%s': it is bound to a value in this call, not to a tensor", p->name);
        else if (bt.cls == TY_VALUE)
            error_at(lhs->span,
                     "cannot assign to part of a tile value; build a new tile with where() instead");
        else
            sema_check_value(S, lhs->base);
        return;
    }
    Type target = sema_check_tensor_index(S, lhs, true);
    Symbol *sym = lhs->base->sym;
    sema_mark_written(sym);  // even when reporting below: no "never written" follow-on
    if (sema_is_error(&target)) {
        sema_check_expr(S, n->rhs);  // still check (and mark the uses of) the value
        return;
    }
    if (!((Node *)sym->decl)->is_out) {
        error_at(lhs->base->span, "cannot store to %s '%s'",
                 sym->list_of ? "an element of input list" : "input tensor", sym->name);
        sema_note_output(sym);
        sema_check_expr(S, n->rhs);
        return;
    }
    Node *value = assigned_value(n);
    Type t = sema_check_value(S, value);
    if (sema_is_error(&t))
        return;
    char what[160];
    snprintf(what, sizeof what, "store to tensor '%s'", sym->name);
    sema_check_assignable(value, &target, what);
}

static bool check_condition(Sema *S, Node *c, const char *stmt) {
    Type t = sema_check_value(S, c);
    if (sema_is_error(&t))
        return false;
    if (t.elem != EL_I1 || t.rank != 0) {
        char b[96];
        error_at(c->span, "the condition of '%s' must be a scalar i1, got %s", stmt, type_str(&t, b, 96));
        if (t.rank > 0)
            note_at(c->span, "to choose elementwise, use where(cond, a, b)");
        else if (elem_is_int(t.elem) || elem_is_float(t.elem))
            note_at(c->span, "compare explicitly, e.g. 'x != 0'");
        return false;
    }
    return true;
}

static void check_for(Sema *S, Node *n) {
    Node *parts[3] = {n->init, n->limit, n->step};
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        if (!parts[i])
            continue;
        Type t = sema_check_value(S, parts[i]);
        if (sema_is_error(&t)) {
            ok = false;
            continue;
        }
        if (!elem_is_int(t.elem) || t.rank != 0) {
            char b[96];
            error_at(parts[i]->span, "the %s of a 'for' loop must be a scalar integer, got %s",
                     i == 0   ? "start"
                     : i == 1 ? "end"
                              : "step",
                     type_str(&t, b, 96));
            ok = false;
        }
    }
    ElemType e = EL_NONE;
    if (ok) {
        e = sema_unify_elems(n, n->init, n->limit, "for");
        if (e != EL_NONE && n->step)
            e = sema_unify_elems(n, n->init, n->step, "for");
        if (e == EL_INT) {
            sema_concretize(n->init);
            e = n->init->type.elem;
        }
        for (int i = 0; e != EL_NONE && i < 3; i++)
            if (parts[i] && !sema_coerce_to(parts[i], e, "as a loop bound"))
                e = EL_NONE;
        if (n->step && n->step->is_const && n->step->cval.i <= 0) {
            error_at(n->step->span, "the step of a 'for' loop must be positive, got %lld",
                     (long long)n->step->cval.i);
            e = EL_NONE;
        }
    }
    Scope *saved = sema_scope_push(S, S->scope);
    Symbol *sym = sema_declare(S, SYM_LOOPVAR, n->name, n->nspan, n);
    if (sym)
        sym->type = e == EL_NONE ? type_error() : type_scalar(e);
    n->sym = sym;
    S->fn->loop_depth++;
    sema_check_block(S, n->body, false);
    S->fn->loop_depth--;
    sema_scope_pop(S, saved);
}

static void check_stmt(Sema *S, Node *n, bool is_last) {
    switch (n->kind) {
    case ND_LET:
    case ND_VAR: check_binding(S, n); return;
    case ND_UNPACK: sema_check_unpack(S, n); return;
    case ND_ASSIGN:
        if (n->lhs->kind == ND_NAME)
            check_assign_name(S, n);
        else if (n->lhs->kind == ND_INDEX)
            check_store(S, n);
        else
            error_at(n->lhs->span, "expression is not assignable");
        return;
    case ND_EXPR_STMT: {
        Type t = sema_check_expr(S, n->lhs);
        bool swap =
            n->lhs->kind == ND_CALL && !n->lhs->inlined && n->lhs->name &&
            (builtin_lookup(n->lhs->name) == B_ATOMIC_CAS || builtin_lookup(n->lhs->name) == B_ATOMIC_XCHG);
        if ((t.cls == TY_VALUE || t.cls == TY_TUPLE) && !swap)
            warning_at(n->lhs->span, "result of expression is unused");
        else if (t.cls != TY_VOID && t.cls != TY_ERROR)
            sema_check_value(S, n->lhs);
        return;
    }
    case ND_FOR: check_for(S, n); return;
    case ND_WHILE:
        check_condition(S, n->cond, "while");
        S->fn->loop_depth++;
        sema_check_block(S, n->body, true);
        S->fn->loop_depth--;
        return;
    case ND_IF:
        check_condition(S, n->cond, "if");
        sema_check_block(S, n->then, true);
        if (n->els && n->els->kind == ND_IF)
            check_stmt(S, n->els, false);
        else if (n->els)
            sema_check_block(S, n->els, true);
        return;
    case ND_RETURN:
        if (S->fn->is_kernel) {
            error_at(n->span, "kernels cannot 'return'; guard the rest of the body with 'if' instead");
            return;
        }
        if (!is_last) {
            error_at(n->span, "'return' must be the last statement of a function");
            return;
        }
        if (n->init && n->init->kind == ND_TUPLE) {
            bool ok = true;
            for (int i = 0; i < n->init->args.len; i++) {
                Type t = sema_check_value(S, n->init->args.items[i]);
                ok = ok && !sema_is_error(&t);
            }
            sema_set_type(n->init, ok ? (Type){.cls = TY_TUPLE, .rank = n->init->args.len} : type_error());
            S->fn->ret = n->init;
        } else if (n->init) {
            sema_check_value(S, n->init);
            S->fn->ret = n->init;
        }
        return;
    case ND_BLOCK: sema_check_block(S, n, true); return;
    case ND_ERROR: return;
    default: break;
    }
    internal_error(__FILE__, __LINE__, "unexpected %s statement", node_kind_name(n->kind));
}

void sema_check_block(Sema *S, Node *block, bool new_scope) {
    if (block->kind == ND_ERROR)
        return;
    Scope *saved = new_scope ? sema_scope_push(S, S->scope) : S->scope;
    bool top = block == S->fn->body;
    for (int i = 0; i < block->args.len && !diag_should_stop(); i++)
        check_stmt(S, block->args.items[i], top && i == block->args.len - 1);
    S->scope = saved;
}

// ================================================================ globals

static void declare_globals(Sema *S) {
    S->global = ast_alloc(sizeof(Scope));
    S->scope = S->global;
    for (int i = 0; i < S->prog->decls.len && !diag_should_stop(); i++) {
        Node *d = S->prog->decls.items[i];
        switch (d->kind) {
        case ND_CONST: {
            Type t = sema_check_value(S, d->init);
            bool ok = !sema_is_error(&t);
            if (ok && (t.rank != 0 || !d->init->is_const)) {
                error_at(d->init->span, "the value of constant '%s' must be a compile-time scalar", d->name);
                ok = false;
            }
            if (ok && d->ty) {
                if (d->ty->has_shape || d->ty->init) {
                    error_at(d->ty->span, "constants are scalars; a constant cannot have a tile type");
                    ok = false;
                } else {
                    Type want = type_scalar(d->ty->elem);
                    char what[160];
                    snprintf(what, sizeof what, "initialize constant '%s'", d->name);
                    ok = sema_check_assignable(d->init, &want, what);
                    t = want;
                }
            }
            Symbol *sym = sema_declare(S, SYM_CONST, d->name, d->nspan, d);
            if (sym && ok) {
                sym->type = t;
                sym->is_const = true;
                sym->cval = d->init->cval;
                if (elem_is_float(t.elem) && !sym->cval.is_float)
                    sym->cval = (ConstVal){.is_float = true, .f = (double)sym->cval.i};
            }
            d->sym = sym;
            break;
        }
        case ND_FUNC:
            d->sym = sema_declare(S, SYM_FUNC, d->name, d->nspan, d);
            for (int j = 0; j < d->args.len; j++) {
                Node *t = d->args.items[j]->ty;
                if (t && t->init)
                    error_at(t->span,
                             "only a kernel parameter can be a list; pass a helper one element, like %s[g]",
                             d->args.items[j]->name);
            }
            break;
        case ND_KERNEL: d->sym = sema_declare(S, SYM_KERNEL, d->name, d->nspan, d); break;
        default: break;
        }
    }
}

// ================================================================ kernels

typedef struct Space {
    int n;                // tunables
    Node *items[64];      // their ND_TUNE nodes
    int64_t *values[64];  // their candidate values
    int counts[64];
    int64_t total;
} Space;

// Appends to an array that grows by doubling (its capacity is the next power of two).
void sema_push_sym(Symbol ***arr, int *n, Symbol *s) {
    if ((*n & (*n - 1)) == 0) {  // 0, 1, 2, 4, ...: full
        Symbol **na = ast_alloc(sizeof(Symbol *) * (size_t)(*n ? 2 * *n : 1));
        if (*n)
            memcpy(na, *arr, sizeof(Symbol *) * (size_t)*n);
        *arr = na;
    }
    (*arr)[(*n)++] = s;
}

// A size or stride name in a tensor's type: reuse the kernel's symbol or make one.
Symbol *sema_dim_symbol(Sema *S, Node *d, SymKind kind, KernelInfo *ki) {
    Symbol *s0 = scope_find(S->scope, d->name);
    if (s0) {
        if (s0->kind == kind)
            return s0;
        if (s0->list_of) {
            error_at(d->span, "'%s' is a size of each element of list '%s'; a %s needs its own name", d->name,
                     s0->list_of->name, sema_sym_kind_name(kind));
            note_at(s0->span, "'%s' is declared here", d->name);
            return NULL;
        }
        error_at(d->span, "'%s' is already declared as a %s; a %s needs its own name", d->name,
                 sema_sym_kind_name(s0->kind), sema_sym_kind_name(kind));
        note_at(s0->span, "'%s' is declared here", d->name);
        return NULL;
    }
    Symbol *s = sema_declare(S, kind, d->name, d->span, d);
    if (!s)
        return NULL;
    s->type = type_scalar(EL_I64);
    if (kind == SYM_SIZE) {
        s->index = ki->nsizes;
        sema_push_sym(&ki->sizes, &ki->nsizes, s);
    } else {
        s->index = ki->nstrides;
        sema_push_sym(&ki->strides, &ki->nstrides, s);
    }
    return s;
}

// A literal dimension or stride, or a global integer constant.
bool sema_literal_dim(Sema *S, Node *d, const char *what, int64_t *out) {
    if (d->kind == ND_INT) {
        *out = d->ival;
        return true;
    }
    if (d->kind == ND_NAME) {
        Symbol *g = scope_find(S->global, d->name);
        if (g && g->kind == SYM_CONST) {
            if (g->cval.is_float || !elem_is_int(g->type.elem)) {
                char b[96];
                error_at(d->span, "constant '%s' of type %s cannot be a %s; %ss are integers", d->name,
                         type_str(&g->type, b, sizeof b), what, what);
                note_at(g->span, "'%s' is declared here", d->name);
                *out = 1;
                return true;
            }
            *out = g->cval.i;
            return true;
        }
    }
    return false;
}

// One dimension (SYM_SIZE) or stride (SYM_STRIDE) of a tensor parameter: a literal or global
// constant (into *lit; dimensions must be positive, strides not negative), or a name.
void sema_tensor_extent(Sema *S, Node *d, SymKind kind, KernelInfo *ki, int64_t *lit, Symbol **sym) {
    bool is_dim = kind == SYM_SIZE;
    int64_t v;
    if (sema_literal_dim(S, d, is_dim ? "dimension" : "stride", &v)) {
        if (is_dim && v <= 0)
            error_at(d->span, "tensor dimensions must be positive, got %lld", (long long)v);
        else if (!is_dim && v < 0)
            error_at(d->span, "strides must not be negative, got %lld", (long long)v);
        *lit = v;
    } else if (d->kind == ND_NAME) {
        *sym = sema_dim_symbol(S, d, kind, ki);
    } else if (is_dim) {
        error_at(d->span, "a tensor dimension must be a size name (like M) or an integer literal");
    } else {
        error_at(d->span, "a stride must be a name (like lda) or an integer literal");
    }
}

static void declare_tensor(Sema *S, Node *p, KernelInfo *ki) {
    Node *ty = p->ty;
    int rank = ty->args.len;
    Symbol *sym = sema_declare(S, SYM_TENSOR, p->name, p->nspan, p);
    if (!sym)
        return;
    sym->type = (Type){.cls = TY_TENSOR, .elem = ty->elem, .rank = rank};
    if (rank > TILE_MAX_RANK) {
        error_at(ty->span, "tensors have at most %d dimensions", TILE_MAX_RANK);
        sym->type = type_error();
        return;
    }
    sym->index = ki->ntensors;
    sema_push_sym(&ki->tensors, &ki->ntensors, sym);
    for (int i = 0; i < rank; i++)
        sema_tensor_extent(S, ty->args.items[i], SYM_SIZE, ki, &sym->const_dims[i], &sym->dims[i]);
    if (p->kwargs.len && p->kwargs.len != rank) {
        error_at(p->kwargs.items[0]->span, "tensor '%s' has %d dimension%s but %d stride%s", p->name, rank,
                 rank == 1 ? "" : "s", p->kwargs.len, p->kwargs.len == 1 ? "" : "s");
        return;
    }
    for (int i = 0; i < p->kwargs.len; i++)
        sema_tensor_extent(S, p->kwargs.items[i], SYM_STRIDE, ki, &sym->const_strides[i], &sym->strides[i]);
}

static void declare_params(Sema *S, Node *k, KernelInfo *ki) {
    Symbol **size_arrays = NULL;  // of the lists' elements, passed after the tensors and lists
    int nsize_arrays = 0;
    for (int i = 0; i < k->args.len; i++) {
        Node *p = k->args.items[i];
        if (!p->ty) {
            error_at(p->nspan, "kernel parameter '%s' needs a type, like '%s: f32[N]' or '%s: f32'", p->name,
                     p->name, p->name);
            Symbol *s = sema_declare(S, SYM_SCALAR, p->name, p->nspan, p);
            if (s)
                s->type = type_error();
            continue;
        }
        if (p->ty->init) {
            sema_declare_list(S, p, ki, &size_arrays, &nsize_arrays);
            continue;
        }
        if (p->ty->has_shape) {
            declare_tensor(S, p, ki);
            continue;
        }
        if (p->is_out)
            error_at(p->nspan, "'out' applies only to tensor parameters; '%s' is a scalar", p->name);
        if (p->kwargs.len)
            error_at(p->kwargs.items[0]->span, "'strides' apply only to tensor parameters");
        Symbol *s = sema_declare(S, SYM_SCALAR, p->name, p->nspan, p);
        if (!s)
            continue;
        s->type = type_scalar(p->ty->elem);
        s->index = ki->nscalars;
        sema_push_sym(&ki->scalars, &ki->nscalars, s);
    }
    for (int i = 0; i < nsize_arrays; i++) {
        size_arrays[i]->index = ki->ntensors;
        sema_push_sym(&ki->tensors, &ki->ntensors, size_arrays[i]);
    }
}

// Evaluates the candidate values of each tunable (independent of the config).
static bool kernel_space(Sema *S, Node *k, const SemaOptions *opts, Space *sp) {
    memset(sp, 0, sizeof *sp);
    sp->total = 1;
    bool ok = true;
    if (k->tunes.len > 64) {
        error_at(k->tunes.items[64]->span, "a kernel has at most 64 tunables");
        return false;
    }
    Scope *saved = sema_scope_push(S, S->global);
    for (int i = 0; i < k->tunes.len; i++) {
        Node *t = k->tunes.items[i];
        sp->items[i] = t;
        sp->values[i] = ast_alloc(sizeof(int64_t) * (size_t)t->args.len);
        for (int j = 0; j < t->args.len; j++) {
            int64_t v;
            Node *tv = t->args.items[j];
            bool is_param = false;
            for (int p = 0; tv->kind == ND_NAME && p < k->args.len; p++)
                is_param = is_param || strcmp(k->args.items[p]->name, tv->name) == 0;
            if (is_param && !sema_scope_lookup(S, tv->name)) {
                error_at(tv->span,
                         "a tunable value must be a compile-time constant; '%s' is a kernel parameter",
                         tv->name);
                ok = false;
                continue;
            }
            if (!sema_check_const_int(S, tv, "a tunable value", &v)) {
                ok = false;
                continue;
            }
            for (int q = 0; q < sp->counts[i]; q++)
                if (sp->values[i][q] == v) {
                    error_at(t->args.items[j]->span, "duplicate value %lld in the search space of '%s'",
                             (long long)v, t->name);
                    ok = false;
                }
            sp->values[i][sp->counts[i]++] = v;
        }
        if (opts) {
            for (int d = 0; d < opts->ndefines; d++) {
                if (strcmp(opts->defines[d].name, t->name) == 0) {
                    opts->defines[d].used = true;
                    sp->values[i][0] = opts->defines[d].value;
                    sp->counts[i] = 1;
                }
            }
        }
        if (sp->counts[i] == 0)
            ok = false;
        else if (sp->total > SEMA_MAX_SEARCH_SPACE / sp->counts[i]) {
            error_at(t->span, "the search space of kernel '%s' is too large (over 2^40 points)", k->name);
            ok = false;
        } else {
            sp->total *= sp->counts[i];
        }
    }
    sp->n = k->tunes.len;
    sema_scope_pop(S, saved);
    return ok;
}

// The index of the j-th of the n configurations `check` visits: all of them, or n points
// spread evenly over a larger space, the last one included.
static int64_t visited_index(const Space *sp, int64_t n, int64_t j) {
    return n == sp->total ? j : (j == n - 1 ? sp->total - 1 : j * (sp->total / n));
}

static bool was_visited(const Space *sp, int64_t n, int64_t index) {
    if (n == sp->total || index == sp->total - 1)
        return true;
    int64_t step = sp->total / n;
    return index % step == 0 && index / step < n - 1;
}

static void config_at(const Space *sp, int64_t index, Config *cfg) {
    cfg->n = sp->n;
    for (int i = sp->n - 1; i >= 0; i--) {
        cfg->values[i] = sp->values[i][index % sp->counts[i]];
        index /= sp->counts[i];
    }
}

typedef enum CfgResult { CFG_OK, CFG_REJECTED, CFG_ERROR } CfgResult;

// Checks kernel k for one configuration. With !body, only the constraints are evaluated.
// The conditions of a `where` or `prefer` clause (`clause`; `what` names one in messages): each
// must be a scalar i1; those that read sizes or scalars are appended to *runtime (*n of them).
// Whether one is false at compile time.
static bool check_conditions(Sema *S, const NodeList *conds, const char *clause, const char *what,
                             Node ***runtime, int *n) {
    S->clause = clause;
    bool any_false = false;
    for (int i = 0; i < conds->len; i++) {
        Node *w = conds->items[i];
        Type t = sema_check_value(S, w);
        if (sema_is_error(&t))
            continue;
        if (t.elem != EL_I1 || t.rank) {
            char b[96];
            error_at(w->span, "a %s must be a scalar i1 condition, got %s", what, type_str(&t, b, 96));
            continue;
        }
        if (w->is_const) {
            any_false = any_false || w->cval.i == 0;
        } else {
            Node **nw = ast_alloc(sizeof(Node *) * (size_t)(*n + 1));
            if (*n)
                memcpy(nw, *runtime, sizeof(Node *) * (size_t)*n);
            nw[(*n)++] = w;
            *runtime = nw;
        }
    }
    return any_false;
}

static CfgResult check_kernel_config(Sema *S, Node *k, const Config *cfg, bool body) {
    int errors_before = diag_problem_count();
    KernelInfo *ki = ast_alloc(sizeof(KernelInfo));
    k->kinfo = ki;
    Scope *saved = sema_scope_push(S, S->global);
    FuncCtx fctx = {.decl = k, .is_kernel = true, .body = k->body};
    S->fn = &fctx;
    S->kinfo = ki;

    DiagContext ctx = {.span = k->nspan, .config = true};
    size_t len = (size_t)snprintf(ctx.text, sizeof ctx.text, "in kernel '%s' with ", k->name);
    for (int i = 0; i < k->tunes.len && len < sizeof ctx.text; i++)
        len += (size_t)snprintf(ctx.text + len, sizeof ctx.text - len, "%s%s = %lld", i ? ", " : "",
                                k->tunes.items[i]->name, (long long)cfg->values[i]);
    if (k->tunes.len)
        diag_push_context(&ctx);

    declare_params(S, k, ki);
    for (int b = 0; b < S->nbind; b++) {
        Symbol *sym = scope_find(S->scope, S->bind[b].name);
        if (sym && (sym->kind == SYM_SIZE || sym->kind == SYM_SCALAR)) {
            sym->is_const = true;
            sym->cval = (ConstVal){.i = S->bind[b].value, .f = (double)S->bind[b].value};
        }
    }
    for (int i = 0; i < k->tunes.len; i++) {
        Node *t = k->tunes.items[i];
        Symbol *s = sema_declare(S, SYM_TUNABLE, t->name, t->nspan, t);
        if (!s)
            continue;
        s->type = type_scalar(EL_INT);
        s->is_const = true;
        s->cval = (ConstVal){.i = cfg->values[i], .f = (double)cfg->values[i]};
        sema_push_sym(&ki->tunables, &ki->ntunables, s);
    }
    ki->nconfigs = 1;

    // The grid.
    S->grid_rank = 1;
    if (k->grid.len > 1) {
        error_at(k->grid.items[1]->span, "duplicate 'grid' clause");
        note_at(k->grid.items[0]->span, "the first 'grid' clause is here");
    }
    if (k->grid.len >= 1) {
        Node *g = k->grid.items[0];
        if (g->args.len > 3)
            error_at(g->args.items[3]->span, "a grid has 1 to 3 dimensions, got %d", g->args.len);
        S->grid_rank = g->args.len > 3 ? 3 : g->args.len;
        S->clause = "grid";
        for (int i = 0; i < g->args.len; i++) {
            Node *e = g->args.items[i];
            Type t = sema_check_value(S, e);
            if (sema_is_error(&t))
                continue;
            if (!elem_is_int(t.elem) || t.rank) {
                char b[96];
                error_at(e->span, "a grid dimension must be a scalar integer, got %s", type_str(&t, b, 96));
            } else {
                sema_concretize(e);
            }
        }
    }

    // Constraints: compile-time ones select configs, the others are checked at run time.
    bool rejected =
        check_conditions(S, &k->wheres, "where", "constraint", &ki->runtime_wheres, &ki->nruntime_wheres);
    // Preferences: which of the configurations that accept a call an untuned object runs
    // (§6.5); they select nothing.
    ki->not_preferred =
        check_conditions(S, &k->prefers, "prefer", "preference", &ki->runtime_prefers, &ki->nruntime_prefers);

    S->clause = NULL;
    if (body && !rejected && diag_problem_count() == errors_before) {
        sema_check_block(S, k->body, false);
        // Unused and unwritten parameters, unless errors already explain them.
        for (int i = 0; i < ki->ntensors && diag_problem_count() == errors_before; i++) {
            Symbol *t = ki->tensors[i];
            if (((Node *)t->decl)->is_out && !t->written && !diag_should_stop())
                error_at(t->span, "output %s '%s' is never written", t->list_elem ? "list" : "tensor",
                         t->name);
            else if (!t->used && !((Node *)t->decl)->is_out)
                warning_at(t->span, "tensor parameter '%s' is never used", t->name);
        }
        for (int i = 0; i < ki->nscalars && diag_problem_count() == errors_before; i++)
            if (!ki->scalars[i]->used)
                warning_at(ki->scalars[i]->span, "parameter '%s' is never used", ki->scalars[i]->name);
    }
    if (k->tunes.len)
        diag_pop_context();
    sema_scope_pop(S, saved);
    S->fn = NULL;
    S->kinfo = NULL;
    if (diag_problem_count() != errors_before)
        return CFG_ERROR;
    return rejected ? CFG_REJECTED : CFG_OK;
}

bool sema_config_all_pow2(const Config *c) {
    for (int i = 0; i < c->n; i++)
        if (c->values[i] <= 0 || (c->values[i] & (c->values[i] - 1)))
            return false;
    return true;
}

// The index of the first valid configuration at or after `from` in the space's order (with
// pow2: the first whose tunables are all powers of two), filled into *out; -1 when there is
// none among the first 100000, -2 after an error (reported).
static int64_t first_valid(Sema *S, Node *k, const Space *sp, int64_t from, bool pow2, Config *out) {
    int64_t limit = sp->total < 100000 ? sp->total : 100000;
    for (int64_t i = from; i < limit && !diag_should_stop(); i++) {
        config_at(sp, i, out);
        if (pow2 && !sema_config_all_pow2(out))
            continue;
        CfgResult r = check_kernel_config(S, k, out, false);
        if (r == CFG_OK)
            return i;
        if (r == CFG_ERROR)
            return -2;
    }
    return -1;
}

// The first valid configuration in the space's order; with pow2, the first whose tunables
// are all powers of two, when one is valid. Its index goes to *index (may be NULL).
static bool find_default(Sema *S, Node *k, const Space *sp, Config *out, bool pow2, int64_t *index) {
    int64_t i = pow2 ? first_valid(S, k, sp, 0, true, out) : -1;
    if (i == -1)
        i = first_valid(S, k, sp, 0, false, out);
    if (index)
        *index = i;
    if (i >= 0)
        return true;
    if (i == -2)
        return false;
    error_at(k->nspan, "no configuration of kernel '%s' satisfies its constraints", k->name);
    if (k->wheres.len)
        note_at(k->wheres.items[0]->span, "the constraints begin here");
    return false;
}

static void check_unused_helper(Sema *S, Node *f) {
    Scope *saved = sema_scope_push(S, S->global);
    FuncCtx fctx = {.decl = f, .is_kernel = false, .body = f->body};
    S->fn = &fctx;
    S->kinfo = NULL;
    // Parameters with a fully known type (scalars, literal or constant dimensions) get it;
    // the others are typed as errors, which silences type checks and keeps name checks.
    for (int i = 0; i < f->args.len; i++) {
        Node *p = f->args.items[i];
        Symbol *s = sema_declare(S, SYM_LET, p->name, p->nspan, p);
        if (!s || !p->ty)
            continue;
        Type t = type_value(p->ty->elem, 0, NULL);
        bool known = p->ty->args.len <= TILE_MAX_RANK;
        for (int d = 0; d < p->ty->args.len && d < TILE_MAX_RANK; d++) {
            Node *dn = p->ty->args.items[d];
            int64_t v;
            bool lit = sema_literal_dim(S, dn, "dimension", &v) && v > 0;
            // A dimension name is bound per call: known to the body, of no known value here.
            if (!lit && dn->kind == ND_NAME && !sema_scope_lookup(S, dn->name))
                sema_declare(S, SYM_SHAPEVAR, dn->name, dn->span, dn);
            known = known && lit;
            t.dims[t.rank++] = v;
        }
        if (known)
            s->type = t;
    }
    sema_check_block(S, f->body, false);
    S->fn = NULL;
    sema_scope_pop(S, saved);
}

static void sema_init(Sema *S, Program *prog) {
    memset(S, 0, sizeof *S);
    S->prog = prog;
    declare_globals(S);
}

// ================================================================ one checker at a time

// The checker annotates the shared tree and allocates from the process's arena: its entry points
// run one at a time (a recursive lock, held until the function returns). What lowering reads
// afterwards is a kernel instance (sema_instance), which no later check changes.
static pthread_mutex_t sema_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

bool sema_check_program(Program *prog, const SemaOptions *opts) {
    LOCKED(sema_lock);
    int errors_before = diag_problem_count();
    Sema S;
    sema_init(&S, prog);
    SemaOptions none = {0};
    if (!opts)
        opts = &none;
    for (int i = 0; i < prog->decls.len && !diag_should_stop(); i++) {
        Node *k = prog->decls.items[i];
        if (k->kind != ND_KERNEL || !k->sym || (opts->only_kernel && strcmp(k->name, opts->only_kernel) != 0))
            continue;
        Space sp;
        if (!kernel_space(&S, k, opts, &sp))
            continue;
        S.inline_nodes = 0;
        S.inline_budget_reported = false;
        // The kernel's diagnostics are held until its configurations are checked, to tell the
        // ones that depend on the configuration (they keep the note naming the first that showed
        // them) from the others: see diag_hold_begin. Visits are counted where the whole kernel
        // is checked: every configuration visited with all_configs; otherwise (only the default
        // is checked for errors) a quiet second pass checks the same configurations to classify
        // what the default showed. Once the error limit stops the checks, what is not classified
        // yet keeps its note.
        diag_hold_begin();
        Config cfg;
        // Visit the configurations (a sample of large spaces): all of each kernel with
        // all_configs, else only the constraints, to count the accepted ones.
        int64_t n = sp.total <= SEMA_MAX_CONFIGS_CHECKED ? sp.total : SEMA_MAX_CONFIGS_CHECKED;
        int64_t accepted = 0;
        for (int64_t j = 0; j < n && !diag_should_stop(); j++) {
            config_at(&sp, visited_index(&sp, n, j), &cfg);
            diag_hold_visit_begin();
            CfgResult r = check_kernel_config(&S, k, &cfg, opts->all_configs);
            diag_hold_visit_end(opts->all_configs && r != CFG_REJECTED);
            accepted += r == CFG_OK;
        }
        if (n < sp.total)
            accepted = -1;  // not counted
        // Leave the tree annotated for the default configuration (find_default reports a
        // space that no configuration satisfies).
        int64_t dflt = -1;
        if (!diag_should_stop() && find_default(&S, k, &sp, &cfg, opts->pow2_default, &dflt)) {
            diag_hold_visit_begin();
            check_kernel_config(&S, k, &cfg, true);
            diag_hold_visit_end(opts->all_configs && !was_visited(&sp, n, dflt));
        }
        if (!opts->all_configs && diag_hold_count() && !diag_should_stop()) {
            diag_hold_quiet(true);
            for (int64_t j = 0; j <= n && !diag_should_stop(); j++) {
                int64_t index = j < n ? visited_index(&sp, n, j) : dflt;
                if (j == n && (dflt < 0 || was_visited(&sp, n, dflt)))
                    break;
                config_at(&sp, index, &cfg);
                diag_hold_visit_begin();
                CfgResult r = check_kernel_config(&S, k, &cfg, true);
                diag_hold_visit_end(r != CFG_REJECTED);
            }
            diag_hold_quiet(false);
            if (dflt >= 0) {
                config_at(&sp, dflt, &cfg);
                check_kernel_config(&S, k, &cfg, true);
            }
        }
        if (dflt >= 0) {
            k->kinfo->nconfigs = accepted;
            k->kinfo->nconfigs_total = sp.total;
        }
        diag_hold_end();
    }
    for (int i = 0; i < prog->decls.len && !diag_should_stop(); i++) {
        Node *f = prog->decls.items[i];
        if (f->kind == ND_FUNC && f->sym && !f->sym->used)
            check_unused_helper(&S, f);
    }
    for (int d = 0; d < opts->ndefines; d++) {
        if (opts->defines[d].used)
            continue;
        if (opts->only_kernel)
            warning_at((Span){0}, "-D %s does not name a tunable of kernel '%s'", opts->defines[d].name,
                       opts->only_kernel);
        else
            warning_at((Span){0}, "-D %s does not name a tunable of any kernel", opts->defines[d].name);
    }
    return diag_problem_count() == errors_before;
}

bool sema_default_config(Program *prog, Node *kernel, const SemaOptions *opts, Config *out) {
    LOCKED(sema_lock);
    Sema S;
    sema_init(&S, prog);
    Space sp;
    if (!kernel_space(&S, kernel, opts, &sp))
        return false;
    return find_default(&S, kernel, &sp, out, opts && opts->pow2_default, NULL);
}

bool sema_next_pow2_config(Program *prog, Node *kernel, const SemaOptions *opts, int64_t *index,
                           Config *out) {
    LOCKED(sema_lock);
    Sema S;
    sema_init(&S, prog);
    Space sp;
    if (!kernel_space(&S, kernel, opts, &sp))
        return false;
    int64_t i = first_valid(&S, kernel, &sp, *index + 1, true, out);
    if (i < 0)
        return false;
    *index = i;
    return true;
}

bool sema_check_kernel(Program *prog, Node *kernel, const Config *cfg) {
    LOCKED(sema_lock);
    Sema S;
    sema_init(&S, prog);
    return check_kernel_config(&S, kernel, cfg, true) == CFG_OK;
}

Node *sema_instance(Program *prog, Node *kernel, const Config *cfg) {
    LOCKED(sema_lock);
    Node *inst = ast_clone(kernel);
    Sema S;
    sema_init(&S, prog);
    return check_kernel_config(&S, inst, cfg, true) == CFG_OK ? inst : NULL;
}

int64_t sema_enumerate_configs(Program *prog, Node *kernel, Config *out, int64_t max) {
    LOCKED(sema_lock);
    Sema S;
    sema_init(&S, prog);
    Space sp;
    if (!kernel_space(&S, kernel, NULL, &sp))
        return -1;
    int64_t n = 0;
    for (int64_t i = 0; i < sp.total && n < max && !diag_should_stop(); i++) {
        config_at(&sp, i, &out[n]);
        CfgResult r = check_kernel_config(&S, kernel, &out[n], false);
        if (r == CFG_ERROR)
            return -1;
        n += r == CFG_OK;
    }
    return n;
}

int sema_constraints_hold(Program *prog, Node *kernel, const Config *cfg, const SemaDefine *bind, int nbind) {
    return sema_constraints_prefer(prog, kernel, cfg, bind, nbind, NULL);
}

int sema_constraints_prefer(Program *prog, Node *kernel, const Config *cfg, const SemaDefine *bind, int nbind,
                            bool *preferred) {
    LOCKED(sema_lock);
    Sema S;
    sema_init(&S, prog);
    S.bind = bind;
    S.nbind = nbind;
    CfgResult r = check_kernel_config(&S, kernel, cfg, false);
    int result = r == CFG_ERROR ? -1 : r == CFG_REJECTED ? 0 : kernel->kinfo->nruntime_wheres ? 2 : 1;
    if (preferred) {  // false only when a preference is known to be false with these sizes
        const KernelInfo *ki = kernel->kinfo;
        *preferred = r == CFG_OK && !ki->not_preferred;
        for (int i = 0; i < ki->nruntime_prefers && *preferred; i++)
            *preferred = !(ki->runtime_prefers[i]->is_const && ki->runtime_prefers[i]->cval.i == 0);
    }
    S.nbind = 0;
    check_kernel_config(&S, kernel, cfg, false);  // leave no size marked constant
    return result;
}

// ================================================================ the C prototype

static const char *c_type(ElemType e) {
    switch (e) {
    case EL_I1: return "bool";
    case EL_I8: return "int8_t";
    case EL_I16: return "int16_t";
    case EL_I32: return "int32_t";
    case EL_I64: return "int64_t";
    case EL_U8: return "uint8_t";
    case EL_U16: return "uint16_t";
    case EL_U32: return "uint32_t";
    case EL_U64: return "uint64_t";
    case EL_F16:
    case EL_BF16: return "uint16_t";
    case EL_F32: return "float";
    case EL_F64: return "double";
    default: return "void";
    }
}

void sema_print_prototype(const Node *k, void *out) {
    FILE *o = out;
    const KernelInfo *ki = k->kinfo;
    fprintf(o, "int %s(", k->name);
    int n = 0;
    for (int i = 0; ki && i < ki->ntensors; i++, n++) {
        const Symbol *t = ki->tensors[i];
        bool is_out = ((const Node *)t->decl)->is_out;
        const Symbol *et = t->list_elem ? t->list_elem : t;  // a list: an array of element pointers
        fprintf(o, "%s%s%s *%s%s", n ? ", " : "", is_out ? "" : "const ",
                et->type.elem == EL_I1 ? "uint8_t" : c_type(et->type.elem), t->list_elem ? "const *" : "",
                t->name);
    }
    for (int i = 0; ki && i < ki->nscalars; i++, n++)
        fprintf(o, "%s%s %s", n ? ", " : "", c_type(ki->scalars[i]->type.elem), ki->scalars[i]->name);
    for (int i = 0; ki && i < ki->nsizes; i++, n++)
        fprintf(o, "%sint64_t %s", n ? ", " : "", ki->sizes[i]->name);
    for (int i = 0; ki && i < ki->nstrides; i++, n++)
        fprintf(o, "%sint64_t %s", n ? ", " : "", ki->strides[i]->name);
    fprintf(o, "%s)", n ? "" : "void");
}
