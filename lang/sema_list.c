// lang/sema_list.c — tensor lists (docs/language.md §6.7): list parameters `As: [G] f32[M, K]`,
// their per-element size arrays (M, K: i64[G] read as M[g]) and the element tensors `As[g]`.
//
// In the ABI a list is an array of G element addresses and each per-element size name an array
// of G sizes; both are tensors i64[G] to the rest of the checker and to the emitter, which
// binds them like any tensor. An element `As[g]` is a tensor symbol of its own, made for the
// indexing node: its sizes are symbols whose values are the loads M[g], K[g], and its address
// the load As[g]; these loads are checked here, as tensor loads, and the emitter builds the
// element's memref from them where the element is accessed (lowering/emit_entry.c).
#include <string.h>

#include "sema_internal.h"

// Declares the per-element size name d of list L (a new array i64[G], or the one an earlier
// list declared with the same length).
static Symbol *size_array(Sema *S, Node *d, Symbol *L, Symbol ***arrays, int *narrays) {
    Symbol *s0 = sema_scope_lookup(S, d->name);
    if (s0 && s0->list_of) {
        if (s0->dims[0] != L->dims[0] || s0->const_dims[0] != L->const_dims[0]) {
            error_at(d->span, "'%s' is a size of the elements of list '%s', whose length differs from '%s''s",
                     d->name, s0->list_of->name, L->name);
            note_at(s0->span, "'%s' is declared here", d->name);
            return NULL;
        }
        return s0;
    }
    if (s0 && s0->decl && s0->decl->kind != ND_KERNEL && s0->decl->kind != ND_FUNC &&
        s0->decl->kind != ND_CONST) {
        error_at(d->span,
                 "'%s' is already declared as a %s; the sizes of a list's elements need their own names",
                 d->name, sema_sym_kind_name(s0->kind));
        note_at(s0->span, "'%s' is declared here", d->name);
        return NULL;
    }
    Symbol *m = sema_declare(S, SYM_TENSOR, d->name, d->span, d);
    if (!m)
        return NULL;
    m->type = (Type){.cls = TY_TENSOR, .elem = EL_I64, .rank = 1};
    m->dims[0] = L->dims[0];
    m->const_dims[0] = L->const_dims[0];
    m->list_of = L;
    sema_push_sym(arrays, narrays, m);
    return m;
}

void sema_declare_list(Sema *S, Node *p, KernelInfo *ki, Symbol ***arrays, int *narrays) {
    Node *ty = p->ty, *et = ty->base;
    Symbol *L = sema_declare(S, SYM_TENSOR, p->name, p->nspan, p);
    if (!L)
        return;
    sema_tensor_extent(S, ty->init, SYM_SIZE, ki, &L->const_dims[0], &L->dims[0]);
    if (et->init) {
        error_at(et->span, "lists of lists are not supported; the elements of a list are tensors");
        return;
    }
    if (!et->has_shape) {
        error_at(et->span, "the elements of a list are tensors, like '%s: [G] %s[N]'", p->name,
                 elem_name(et->elem));
        return;
    }
    if (et->args.len > TILE_MAX_RANK) {
        error_at(et->span, "tensors have at most %d dimensions", TILE_MAX_RANK);
        return;
    }
    if (p->kwargs.len) {
        error_at(p->kwargs.items[0]->span,
                 "'strides' do not apply to lists; their elements are dense and row-major");
        return;
    }
    L->type = (Type){.cls = TY_TENSOR, .elem = EL_I64, .rank = 1};
    L->index = ki->ntensors;
    sema_push_sym(&ki->tensors, &ki->ntensors, L);
    Symbol *T = ast_alloc(sizeof(Symbol));
    *T = *L;
    T->type = (Type){.cls = TY_TENSOR, .elem = et->elem, .rank = et->args.len};
    T->dims[0] = NULL;
    for (int i = 0; i < TILE_MAX_RANK; i++)
        T->const_dims[i] = T->const_strides[i] = -1;
    L->list_elem = T;
    for (int i = 0; i < et->args.len; i++) {
        Node *d = et->args.items[i];
        int64_t v;
        if (sema_literal_dim(S, d, "dimension", &v)) {
            if (v <= 0)
                error_at(d->span, "tensor dimensions must be positive, got %lld", (long long)v);
            T->const_dims[i] = v;
        } else if (d->kind == ND_NAME) {
            T->dims[i] = size_array(S, d, L, arrays, narrays);
            if (!T->dims[i])
                T->const_dims[i] = 1;
        } else {
            error_at(d->span,
                     "a dimension of a list's elements must be a size name (like M) or an integer literal");
            T->const_dims[i] = 1;
        }
    }
}

// The checked load X[it] (i64) of a list's addresses or of a per-element size array.
static Node *load_at(Sema *S, Symbol *X, Node *it) {
    Node *b = ast_new(ND_NAME, it->span);
    b->name = X->name;
    b->sym = X;
    b->type = X->type;
    Node *ld = ast_new(ND_INDEX, it->span);
    ld->base = b;
    ast_push(&ld->args, ast_clone(it));
    bool saved = S->raw_lists;
    S->raw_lists = true;
    sema_check_tensor_index(S, ld, false);
    S->raw_lists = saved;
    return ld;
}

Type sema_check_list_element(Sema *S, Node *n) {
    Symbol *L = n->base->sym, *T = L->list_elem;
    L->used = true;
    if (S->clause) {
        error_at(n->span, "list '%s' cannot be read in a '%s' clause; use its length or scalar parameters",
                 L->name, S->clause);
        return sema_fail(n);
    }
    Node *it = n->args.len ? n->args.items[0] : NULL;
    if (n->args.len != 1 || it->kind == ND_SLICE || it->kind == ND_NEWAXIS || n->cond || n->els) {
        error_at(
            n->span,
            "a list takes one element index, like %s[g]; index the element's tensor after it: %s[g][...]",
            L->name, L->name);
        return sema_fail(n);
    }
    Type t = sema_check_value(S, it);
    if (sema_is_error(&t))
        return sema_fail(n);
    char b[96];
    if (t.rank || !elem_is_int(t.elem)) {
        error_at(it->span, "a list's element index must be a scalar integer, got %s", sema_tstr(&t, b));
        return sema_fail(n);
    }
    if (it->is_const && it->cval.i < 0) {
        error_at(it->span, "element index %lld of list '%s' is negative", (long long)it->cval.i, L->name);
        return sema_fail(n);
    }
    if (it->is_const && L->const_dims[0] >= 0 && it->cval.i >= L->const_dims[0]) {
        error_at(it->span, "element index %lld is out of range for list '%s' of %lld element%s",
                 (long long)it->cval.i, L->name, (long long)L->const_dims[0],
                 L->const_dims[0] == 1 ? "" : "s");
        return sema_fail(n);
    }
    if (sema_is_untyped(t.elem))
        sema_coerce_to(it, EL_I64, "a list's element index");
    Symbol *E = ast_alloc(sizeof(Symbol));
    *E = *T;
    E->list_of = L;
    E->list_load = load_at(S, L, it);
    for (int i = 0; i < T->type.rank; i++) {
        if (!T->dims[i])
            continue;
        Symbol *z = ast_alloc(sizeof(Symbol));
        *z = *T->dims[i];
        z->kind = SYM_SIZE;
        z->type = type_scalar(EL_I64);
        z->list_of = L;
        z->list_load = load_at(S, T->dims[i], it);
        for (int j = 0; j < TILE_MAX_RANK; j++) {
            z->dims[j] = NULL;
            z->const_dims[j] = -1;
        }
        E->dims[i] = z;
    }
    n->sym = E;
    return sema_set_type(n, E->type);
}

void sema_note_output(const Symbol *t) {
    const Symbol *L = t->list_of;
    if (!L) {
        note_at(t->span, "declare it as an output to write it: '%s: out %s[...]'", t->name,
                elem_name(t->type.elem));
        return;
    }
    char len[64];
    if (L->dims[0])
        snprintf(len, sizeof len, "%s", L->dims[0]->name);
    else
        snprintf(len, sizeof len, "%lld", (long long)L->const_dims[0]);
    note_at(L->span, "declare the list as an output to write its elements: '%s: out [%s] %s[...]'", L->name,
            len, elem_name(t->type.elem));
}

void sema_mark_written(Symbol *t) {
    t->written = true;
    if (t->list_of)
        t->list_of->written = true;
}

// Whether index expressions a and b select the same element: the same name, or equal constants.
static bool same_index(const Node *a, const Node *b) {
    if (a->is_const && b->is_const)
        return a->cval.i == b->cval.i;
    return a->kind == ND_NAME && b->kind == ND_NAME && a->sym && a->sym == b->sym;
}

bool sema_same_size(const Symbol *a, const Symbol *b) {
    if (a == b)
        return true;
    if (!a || !b || !a->list_load || !b->list_load)
        return false;
    const Node *la = a->list_load, *lb = b->list_load;
    return la->base->sym == lb->base->sym && same_index(la->args.items[0], lb->args.items[0]);
}

bool sema_list_as_value(const Node *n) {
    const Symbol *s = n->sym;
    if (!s || n->kind != ND_NAME)
        return false;
    if (s->list_elem) {
        error_at(n->span, "list '%s' cannot be used as a value; select an element with %s[g]", s->name,
                 s->name);
        note_at(s->span, "'%s' is declared here", s->name);
        return true;
    }
    if (s->list_of && !s->list_load) {
        error_at(n->span, "'%s' is a size of each element of list '%s'; read element g's with %s[g]", s->name,
                 s->list_of->name, s->name);
        note_at(s->span, "'%s' is declared here", s->name);
        return true;
    }
    return false;
}
