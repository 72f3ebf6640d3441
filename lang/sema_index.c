// lang/sema_index.c — checking indexing: tensor loads and the targets of stores and atomics
// (scalar indices, slices with a compile-time size, gathers through index tiles, 'else'
// padding), and static indexing of tile values (x[:, None], x[0], x[2:4]).
#include <string.h>

#include "sema_internal.h"

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
    Type t = sema_check_value(S, x);
    if (sema_is_error(&t))
        return false;
    if (!elem_is_int(t.elem)) {
        char b[96];
        error_at(x->span, "%s must be an integer, got %s", what, sema_tstr(&t, b));
        return false;
    }
    return true;
}

// The size of the slice `it` of dimension i (size cdim, -1 when symbolic) of tensor sym: a
// compile-time constant, and within the dimension when both are known; false after reporting.
static bool tensor_slice_size(Sema *S, Node *it, const Symbol *sym, int i, int64_t cdim, int64_t *size) {
    bool lo_ok = !it->lhs || check_index_scalar(S, it->lhs, "a slice bound");
    bool hi_ok = !it->rhs || check_index_scalar(S, it->rhs, "a slice bound");
    if (!lo_ok || !hi_ok)
        return false;
    if (it->lhs && it->lhs->type.rank) {
        error_at(it->lhs->span, "a slice bound must be a scalar");
        return false;
    }
    if (it->rhs && it->rhs->type.rank) {
        error_at(it->rhs->span, "a slice bound must be a scalar");
        return false;
    }
    int64_t lo = 0;
    bool lo_const = !it->lhs || it->lhs->is_const;
    if (it->lhs && it->lhs->is_const)
        lo = it->lhs->cval.i;
    if (!it->rhs) {
        if (cdim < 0 || !lo_const) {
            error_at(it->span, "a slice of tensor '%s' needs a compile-time size; write 'lo : lo + N'",
                     sym->name);
            return false;
        }
        *size = cdim - lo;
    } else if (!it->lhs) {
        if (!it->rhs->is_const) {
            error_at(it->span, "a slice of tensor '%s' needs a compile-time size; write 'lo : lo + N'",
                     sym->name);
            return false;
        }
        *size = it->rhs->cval.i;
    } else if (!static_difference(it->lhs, it->rhs, size)) {
        error_at(it->span, "the size of this slice is not a compile-time constant");
        note_at(it->span, "write the upper bound as the lower bound plus a constant, e.g. 'm : m + BM'");
        return false;
    }
    if (*size <= 0) {
        if (*size == 0)
            error_at(it->span, "slice is empty");
        else
            error_at(it->span, "slice has a negative size (%lld)", (long long)*size);
        return false;
    }
    bool hi_const = !it->rhs || it->rhs->is_const;
    if (cdim >= 0 && lo_const && hi_const && (lo + *size <= 0 || lo >= cdim)) {
        error_at(it->span, "slice %lld:%lld lies entirely outside dimension %d of '%s' (size %lld)",
                 (long long)lo, (long long)(lo + *size), i, sym->name, (long long)cdim);
        return false;
    }
    return true;
}

Type sema_check_tensor_index(Sema *S, Node *n, bool is_store) {
    Node *base = n->base;
    Symbol *sym = base->sym;
    int rank = sym->type.rank;
    char b1[96];
    sym->used = true;
    if (sym->list_elem && !S->raw_lists) {
        error_at(n->span, "list '%s' is not a tensor; access one element's tensor, like %s[g][...]",
                 sym->name, sym->name);
        return sema_fail(n);
    }
    if (S->clause && sym->list_of) {
        error_at(n->span,
                 "the sizes of list '%s''s elements cannot be read in a '%s' clause; use its length or "
                 "scalar parameters",
                 sym->list_of->name, S->clause);
        return sema_fail(n);
    }
    if (S->clause) {
        error_at(n->span, "tensor '%s' cannot be read in a '%s' clause; use its sizes or scalar parameters",
                 sym->name, S->clause);
        return sema_fail(n);
    }
    if (n->args.len != rank) {
        error_at(n->span, "tensor '%s' has %d dimension%s but is indexed with %d", sym->name, rank,
                 rank == 1 ? "" : "s", n->args.len);
        note_at(sym->span, "'%s' is declared here", sym->name);
        return sema_fail(n);
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
            int64_t size;
            if (!tensor_slice_size(S, it, sym, i, cdim, &size) || res.rank == TILE_MAX_RANK) {
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
            sema_concretize(it);
            continue;
        }
        if (!any_gather)
            first_gather = it->span;
        any_gather = true;
        Type g;
        if (!sema_broadcast_shapes(&gather, &it->type, &g)) {
            char b2[96];
            error_at(it->span, "index tile %s does not broadcast with the other index tiles (%s)",
                     sema_tstr(&it->type, b1), sema_tstr(&gather, b2));
            ok = false;
            continue;
        }
        g.cls = TY_VALUE;
        g.elem = it->type.elem;
        gather = g;
    }
    if (!ok)
        return sema_fail(n);
    if (any_slice && any_gather) {
        error_at(first_slice, "cannot mix slices and index tiles when indexing '%s'", sym->name);
        note_at(first_gather, "this index is a tile; turn the slice into one too, e.g. lo + arange(0, N)");
        return sema_fail(n);
    }
    if (any_gather) {
        res.rank = gather.rank;
        memcpy(res.dims, gather.dims, sizeof res.dims);
    }
    if (n->els) {
        if (is_store) {
            error_at(n->els->span, "'else' padding has no meaning in a store");
            return sema_fail(n);
        }
        Type pt = sema_check_value(S, n->els);
        if (sema_is_error(&pt))
            return sema_fail(n);
        if (pt.rank != 0) {
            error_at(n->els->span, "the padding value must be a scalar, got %s", sema_tstr(&pt, b1));
            return sema_fail(n);
        }
        Type want = type_scalar(res.elem);
        if (!sema_check_assignable(n->els, &want, "pad a tensor"))
            return sema_fail(n);
    }
    if (!sema_check_tile_shape(n, &res))
        return sema_fail(n);
    sym->used = true;
    return sema_set_type(n, res);
}

// x[:, None], x[0], x[2:4] on a tile value: static reshaping and extraction.
static Type check_tile_index(Sema *S, Node *n, const Type *bt) {
    Type res = {.cls = TY_VALUE, .elem = bt->elem};
    int dim = 0;
    char b[96];
    if (n->els) {
        error_at(n->els->span, "'else' padding applies only to tensor loads");
        return sema_fail(n);
    }
    for (int i = 0; i < n->args.len; i++) {
        Node *it = n->args.items[i];
        if (it->kind == ND_NEWAXIS) {
            if (res.rank == TILE_MAX_RANK) {
                error_at(it->span, "tiles have at most %d dimensions", TILE_MAX_RANK);
                return sema_fail(n);
            }
            res.dims[res.rank++] = 1;
            continue;
        }
        if (dim >= bt->rank) {
            error_at(it->span, "too many indices for a tile of type %s", sema_tstr(bt, b));
            return sema_fail(n);
        }
        int64_t size = bt->dims[dim];
        if (it->kind == ND_SLICE) {
            int64_t lo = 0, hi = size;
            if ((it->lhs && !sema_check_const_int(S, it->lhs, "a slice bound of a tile", &lo)) ||
                (it->rhs && !sema_check_const_int(S, it->rhs, "a slice bound of a tile", &hi)))
                return sema_fail(n);
            if (lo < 0 || hi > size || lo >= hi) {
                error_at(it->span, "slice %lld:%lld is out of bounds for dimension %d of %s", (long long)lo,
                         (long long)hi, dim, sema_tstr(bt, b));
                return sema_fail(n);
            }
            res.dims[res.rank++] = hi - lo;
            dim++;
            continue;
        }
        Type it_t = sema_check_value(S, it);
        if (sema_is_error(&it_t))
            return sema_fail(n);
        if (it_t.rank != 0) {
            error_at(it->span, "a tile value cannot be indexed with a tile; gather from a tensor instead");
            return sema_fail(n);
        }
        int64_t k;
        if (!sema_check_const_int(S, it, "an index into a tile value", &k))
            return sema_fail(n);
        if (k < 0 || k >= size) {
            error_at(it->span, "index %lld is out of bounds for dimension %d of %s", (long long)k, dim,
                     sema_tstr(bt, b));
            return sema_fail(n);
        }
        dim++;
    }
    if (dim != bt->rank) {
        error_at(
            n->span,
            "a tile of type %s is indexed with %d dimension%s; index every dimension (use ':' to keep one)",
            sema_tstr(bt, b), dim, dim == 1 ? "" : "s");
        return sema_fail(n);
    }
    return sema_set_type(n, res);
}

void sema_note_value_param(const Node *base) {
    const Symbol *p = base->kind == ND_NAME ? base->sym : NULL;
    if (p && p->kind == SYM_LET && p->decl && p->decl->kind == ND_PARAM && !sema_is_error(&base->type))
        note_at(base->span, "'%s' is bound to a value in this call, not to a tensor", p->name);
}

Type sema_check_index(Sema *S, Node *n) {
    Type bt = sema_check_expr(S, n->base);
    if (sema_is_error(&bt))
        return sema_fail(n);
    if (bt.cls == TY_TENSOR && n->base->sym && n->base->sym->list_elem)
        return sema_check_list_element(S, n);
    if (bt.cls == TY_TENSOR)
        return sema_check_tensor_index(S, n, false);
    int problems = diag_problem_count();
    if (bt.cls == TY_VALUE && bt.rank > 0) {
        Type t = check_tile_index(S, n, &bt);
        if (diag_problem_count() != problems)
            sema_note_value_param(n->base);
        return t;
    }
    char b[96];
    if (bt.cls == TY_VALUE)
        error_at(n->nspan, "cannot index a scalar of type %s", sema_tstr(&bt, b));
    else
        sema_check_value(S, n->base);
    if (diag_problem_count() != problems)
        sema_note_value_param(n->base);
    return sema_fail(n);
}
