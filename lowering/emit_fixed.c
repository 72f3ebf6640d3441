// lowering/emit_fixed.c — what the values --fix gives (lower_build_fixed) tell the emitter about
// integer expressions: their exact value, or bounds on it (program ids range over the grid, a
// loop variable over its range), so that a slice known to lie inside its tensor gets no padding
// (no mask) at all (emit_memory.c).
#include <string.h>

#include "emit.h"

static bool fixed_of(const Emitter *e, const Symbol *s, int64_t *v) {
    for (int i = 0; i < e->nfixed; i++)
        if (strcmp(e->fixed[i].name, s->name) == 0)
            return *v = e->fixed[i].value, true;
    return false;
}

static bool arith(int op, int64_t a, int64_t b, int64_t *v) {
    switch (op) {
    case OP_ADD: return !__builtin_add_overflow(a, b, v);
    case OP_SUB: return !__builtin_sub_overflow(a, b, v);
    case OP_MUL: return !__builtin_mul_overflow(a, b, v);
    case OP_DIV: return b > 0 && a >= 0 && (*v = a / b, true);
    case OP_MOD: return b > 0 && a >= 0 && (*v = a % b, true);
    default: return false;
    }
}

bool emit_fixed_value(const Emitter *e, const Node *n, int64_t *v) {
    if (!n || n->type.rank || (n->type.elem != EL_INT && !elem_is_int(n->type.elem)))
        return false;
    if (n->is_const && !n->cval.is_float)
        return *v = n->cval.i, true;
    int64_t a, b;
    switch (n->kind) {
    case ND_NAME: {
        const Symbol *s = n->sym;
        if (!s)
            return false;
        if (s->kind == SYM_SIZE || s->kind == SYM_SCALAR)
            return fixed_of(e, s, v);
        if (s->kind == SYM_LET && s->decl && s->decl->kind == ND_LET)
            return emit_fixed_value(e, s->decl->init, v);
        return false;
    }
    case ND_BINARY:
        return emit_fixed_value(e, n->lhs, &a) && emit_fixed_value(e, n->rhs, &b) && arith(n->op, a, b, v);
    case ND_CALL:
        if (builtin_lookup(n->name) == B_CDIV && n->args.len == 2 &&
            emit_fixed_value(e, n->args.items[0], &a) && emit_fixed_value(e, n->args.items[1], &b) &&
            a >= 0 && b > 0)
            return *v = a / b + (a % b != 0), true;
        return false;
    default: return false;
    }
}

// Bounds lo <= n <= hi of integer expression n; false when unknown.
static bool bounds(const Emitter *e, const Node *n, int64_t *lo, int64_t *hi) {
    if (!n)
        return false;
    if (emit_fixed_value(e, n, lo))
        return *hi = *lo, true;
    int64_t al, ah, bl, bh;
    switch (n->kind) {
    case ND_NAME: {
        const Symbol *s = n->sym;
        if (s && s->kind == SYM_LET && s->decl && s->decl->kind == ND_LET)
            return bounds(e, s->decl->init, lo, hi);
        if (s && s->kind == SYM_LOOPVAR && s->decl && s->decl->kind == ND_FOR) {
            const Node *f = s->decl;
            int64_t c, l, st = 1;
            if (!emit_fixed_value(e, f->init, &c) || !emit_fixed_value(e, f->limit, &l) ||
                (f->step && !emit_fixed_value(e, f->step, &st)) || st <= 0)
                return false;
            *lo = c;  // no iteration when l <= c: any bound holds
            *hi = l <= c ? c : c + (l - 1 - c) / st * st;
            return true;
        }
        return false;
    }
    case ND_CALL: {
        const Node *k = e->kernel;
        const Node *g = k && k->grid.len ? k->grid.items[0] : NULL;
        int64_t np = 1;
        if (builtin_lookup(n->name) != B_PROGRAM_ID || n->args.len != 1 || !n->args.items[0]->is_const)
            return false;
        int64_t axis = n->args.items[0]->cval.i;
        if (g && axis < g->args.len && !emit_fixed_value(e, g->args.items[axis], &np))
            return false;
        *lo = 0;
        *hi = np > 0 ? np - 1 : 0;
        return true;
    }
    case ND_BINARY:
        if (!bounds(e, n->lhs, &al, &ah) || !bounds(e, n->rhs, &bl, &bh))
            return false;
        switch (n->op) {
        case OP_ADD: return arith(OP_ADD, al, bl, lo) && arith(OP_ADD, ah, bh, hi);
        case OP_SUB: return arith(OP_SUB, al, bh, lo) && arith(OP_SUB, ah, bl, hi);
        case OP_MUL: return al >= 0 && bl >= 0 && arith(OP_MUL, al, bl, lo) && arith(OP_MUL, ah, bh, hi);
        case OP_DIV:
            return al >= 0 && bl == bh && bl > 0 && arith(OP_DIV, al, bl, lo) && arith(OP_DIV, ah, bl, hi);
        default: return false;
        }
    default: return false;
    }
}

bool emit_fixed_inside(const Emitter *e, const Node *start, int64_t size, const Symbol *t, int dim) {
    if (!e->nfixed)
        return false;
    int64_t extent = t->const_dims[dim], lo = 0, hi = 0;
    if (extent < 0 && !(t->dims[dim] && fixed_of(e, t->dims[dim], &extent)))
        return false;
    if (start && !bounds(e, start, &lo, &hi))
        return false;
    return lo >= 0 && hi <= extent - size;
}
