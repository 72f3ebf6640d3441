// lang/sema_call.c — checking calls: positional and named arguments, dispatch to the
// builtins, and helper functions, whose bodies are inlined (copied and checked) per call.
#include <stdio.h>
#include <string.h>

#include "sema_internal.h"

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
    Symbol *sym = sema_declare(S, SYM_LET, param->name, param->nspan, param);
    if (!sym)
        return false;
    call->inline_params[index] = sym;
    sym->arg = arg;
    sym->type = arg->type;
    sym->is_const = arg->is_const;
    sym->cval = arg->cval;
    if (!param->ty || sema_is_error(&arg->type))
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
                 sema_tstr(&arg->type, b));
        note_at(param->nspan, "parameter '%s' is declared here", param->name);
        return false;
    }
    for (int i = 0; i < rank; i++) {
        Node *d = ty->args.items[i];
        int64_t want = arg->type.dims[i];
        Symbol *prev = d->kind == ND_NAME ? sema_scope_lookup(S, d->name) : NULL;
        if (d->kind == ND_NAME && (!prev || prev->kind != SYM_SHAPEVAR) &&
            !(prev && prev->kind == SYM_CONST)) {
            Symbol *v = sema_declare(S, SYM_SHAPEVAR, d->name, d->span, d);
            if (!v)
                return false;
            v->type = type_scalar(EL_INT);
            v->is_const = true;
            v->cval = (ConstVal){.i = want, .f = (double)want};
            continue;
        }
        int64_t got;
        if (!sema_check_const_int(S, d, "a dimension", &got))
            return false;
        if (got != want) {
            error_at(arg->span, "argument %d of '%s' has type %s, but dimension %d must be %lld", index + 1,
                     fname, sema_tstr(&arg->type, b), i, (long long)got);
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
    }
    if (arg->type.elem != ty->elem) {
        if (sema_is_untyped(arg->type.elem)) {
            if (!sema_coerce_to(arg, ty->elem, "as an argument"))
                return false;
        } else {
            error_at(arg->span, "argument %d of '%s' must be %s, got %s", index + 1, fname,
                     elem_name(ty->elem), sema_tstr(&arg->type, b));
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
    }
    sym->type = arg->type;
    sym->cval = arg->cval;
    return true;
}

// A tensor's shape as declared, with its size names: "f32[M, 64]".
static const char *tensor_shape(const Symbol *t, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "%s[", elem_name(t->type.elem));
    for (int i = 0; i < t->type.rank && n < size; i++) {
        if (t->dims[i])
            n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", t->dims[i]->name);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)t->const_dims[i]);
    }
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

// Binds a helper parameter to a tensor argument (a kernel's tensor, passed by name): the
// parameter names that tensor for this call, so the body's loads, stores and atomics are the
// caller's (nothing is copied). A declared type is checked against the tensor's element type
// and rank; its dimension names name the tensor's sizes (a run-time size, or a compile-time
// integer where the tensor's dimension is a literal or a constant).
static bool bind_tensor_param(Sema *S, Node *call, Node *param, Node *arg, int index, const char *fname) {
    Symbol *t = arg->sym;  // the kernel's tensor: lookups resolve parameters bound to tensors
    Symbol *sym = sema_declare(S, SYM_TENSOR, param->name, param->nspan, param);
    if (!sym)
        return false;
    call->inline_params[index] = sym;
    sym->alias = t;
    sym->type = t->type;
    Node *ty = param->ty;
    if (!ty)
        return true;
    char b[96];
    if (param->is_out || param->kwargs.len) {
        error_at(param->nspan, "'out' and 'strides' apply only to kernel tensor parameters");
        return false;
    }
    int rank = ty->has_shape ? ty->args.len : 0;
    if (rank == 0) {
        error_at(arg->span, "argument %d of '%s' is tensor '%s', but parameter '%s' is a scalar %s",
                 index + 1, fname, t->name, param->name, elem_name(ty->elem));
        note_at(param->nspan, "load a value from the tensor to pass it: %s[...]", t->name);
        return false;
    }
    if (rank != t->type.rank || ty->elem != t->type.elem) {
        error_at(arg->span, "argument %d of '%s' must be a tensor of %s with rank %d, got tensor '%s' of %s",
                 index + 1, fname, elem_name(ty->elem), rank, t->name, tensor_shape(t, b, sizeof b));
        note_at(param->nspan, "parameter '%s' is declared here", param->name);
        return false;
    }
    for (int i = 0; i < rank; i++) {
        Node *d = ty->args.items[i];
        Symbol *size = t->dims[i];  // NULL where the dimension is a literal (const_dims)
        Symbol *prev = d->kind == ND_NAME ? sema_scope_lookup(S, d->name) : NULL;
        if (d->kind == ND_NAME && !prev) {  // a new dimension name: the tensor's size
            Symbol *v = sema_declare(S, size ? SYM_SIZE : SYM_SHAPEVAR, d->name, d->span, d);
            if (!v)
                return false;
            if (size) {
                v->alias = size;
                v->type = size->type;
            } else {
                v->type = type_scalar(EL_INT);
                v->is_const = true;
                v->cval = (ConstVal){.i = t->const_dims[i], .f = (double)t->const_dims[i]};
            }
            continue;
        }
        if (prev && prev->kind == SYM_SIZE) {  // named by an earlier tensor parameter
            if (sema_same_size(prev, size))
                continue;
            error_at(arg->span, "argument %d of '%s' is tensor '%s' of %s, but its dimension %d must be '%s'",
                     index + 1, fname, t->name, tensor_shape(t, b, sizeof b), i, d->name);
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
        int64_t want;
        if (!sema_check_const_int(S, d, "a dimension", &want))
            return false;
        if (size || t->const_dims[i] != want) {
            error_at(arg->span, "argument %d of '%s' is tensor '%s' of %s, but its dimension %d must be %lld",
                     index + 1, fname, t->name, tensor_shape(t, b, sizeof b), i, (long long)want);
            note_at(param->nspan, "parameter '%s' is declared here", param->name);
            return false;
        }
    }
    return true;
}

static Type check_helper_call(Sema *S, Node *call, Symbol *fsym) {
    Node *fn = fsym->decl;
    if (call->kwargs.len) {
        error_at(call->kwargs.items[0]->span, "helper functions take positional arguments only");
        return sema_fail(call);
    }
    if (call->args.len != fn->args.len) {
        error_at(call->span, "'%s' takes %d argument%s, but %d %s given", fn->name, fn->args.len,
                 fn->args.len == 1 ? "" : "s", call->args.len, call->args.len == 1 ? "was" : "were");
        note_at(fn->nspan, "'%s' is declared here", fn->name);
        return sema_fail(call);
    }
    bool ok = true;
    for (int i = 0; i < call->args.len; i++) {
        Node *a = call->args.items[i];
        Type t = sema_check_expr(S, a);
        bool element = a->kind == ND_INDEX && a->sym && a->sym->list_of;  // As[g]
        if (t.cls == TY_TENSOR && a->kind == ND_NAME && a->sym && a->sym->list_elem) {
            error_at(a->span, "a list cannot be passed to a helper; pass one element, like %s[g]", a->name);
            t = sema_fail(a);
        } else if (!(t.cls == TY_TENSOR && (a->kind == ND_NAME || element)))  // a tensor, or a value
            t = sema_require_value(a, t);
        ok = ok && !sema_is_error(&t);
    }
    if (!ok)
        return sema_fail(call);
    for (int i = 0; i < S->inline_depth; i++) {
        if (S->inline_stack[i] == fn) {
            error_at(call->span, "recursive call to '%s'; helper functions are inlined and cannot recurse",
                     fn->name);
            return sema_fail(call);
        }
    }
    if (S->inline_depth >= SEMA_MAX_INLINE_DEPTH) {
        error_at(call->span, "helper calls are nested more than %d deep", SEMA_MAX_INLINE_DEPTH);
        return sema_fail(call);
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
        return sema_fail(call);
    }
    DiagContext ctx = {.span = call->span};
    snprintf(ctx.text, sizeof ctx.text, "in call to '%s' here", fn->name);
    diag_push_context(&ctx);
    Scope *saved = sema_scope_push(S, S->global);
    FuncCtx fctx = {.decl = fn, .is_kernel = false, .body = body};
    FuncCtx *saved_fn = S->fn;
    KernelInfo *saved_k = S->kinfo;
    S->fn = &fctx;
    S->kinfo = NULL;
    S->inline_stack[S->inline_depth++] = fn;

    for (int i = 0; i < fn->args.len && ok; i++)  // reported at the helper's declaration
        ok = !(fn->args.items[i]->ty && fn->args.items[i]->ty->init);
    call->inline_params = ast_alloc(sizeof(Symbol *) * (size_t)(fn->args.len + 1));
    for (int i = 0; i < fn->args.len && ok; i++) {
        Node *a = call->args.items[i];
        if (a->type.cls == TY_TENSOR)
            ok = bind_tensor_param(S, call, fn->args.items[i], a, i, fn->name);
        else
            ok = bind_param(S, call, fn->args.items[i], a, i, fn->name);
    }
    Type result = {.cls = TY_VOID};
    int problems_before = diag_problem_count();
    if (ok) {
        sema_check_block(S, body, false);
        if (fctx.ret && fctx.ret->kind == ND_TUPLE) {
            if (fn->ty) {
                error_at(fctx.ret->span, "'%s' declares one result of type %s, but returns %d values",
                         fn->name, elem_name(fn->ty->elem), fctx.ret->args.len);
                note_at(fn->ty->span, "a helper that returns several values declares no result type");
                result = type_error();
            } else {
                result = fctx.ret->type;
            }
        } else if (fn->ty) {
            Type want;
            if (!sema_declared_type(S, fn->ty, &want)) {
                result = type_error();
            } else if (!fctx.ret) {
                error_at(fn->nspan, "function '%s' declares a result but does not end with 'return'",
                         fn->name);
                result = type_error();
            } else if (!sema_is_error(&fctx.ret->type) &&
                       sema_check_assignable(fctx.ret, &want, "return a value")) {
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
    sema_scope_pop(S, saved);
    diag_pop_context();
    call->inlined = body;
    call->inlined_ret = fctx.ret;
    if (result.cls == TY_VALUE && fctx.ret && fctx.ret->is_const) {
        call->is_const = true;
        call->cval = fctx.ret->cval;
    }
    return sema_set_type(call, result);
}

// Moves named arguments out of `args` into `kwargs` (idempotent).
bool sema_split_args(Node *call) {
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

// Python's functions that .tile spells otherwise: the note with the .tile spelling, or NULL.
static const char *python_call(const char *name) {
    static const char *const spelled[][2] = {
        {"float", "a cast is written f32(x)"},
        {"int", "a cast is written i32(x)"},
        {"bool", "a condition's value is written x != 0"},
        {"not", "the logical operators of .tile are '&&', '||' and '!'"},
        {"range", "a loop is written 'for i in start .. end step s'"},
        {"len", "sizes are named in the tensor's type (X: f32[N]) and read as N"},
        {"print", "kernels cannot print"},
    };
    for (size_t i = 0; i < sizeof spelled / sizeof spelled[0]; i++)
        if (strcmp(name, spelled[i][0]) == 0)
            return spelled[i][1];
    return NULL;
}

Type sema_check_call(Sema *S, Node *n) {
    if (!sema_split_args(n))
        return sema_fail(n);
    Builtin b = builtin_lookup(n->name);
    Symbol *sym = sema_scope_lookup(S, n->name);
    if (b != B_NONE && !sym)
        return sema_check_builtin_call(S, n, b);
    if (!sym) {
        const char *python = python_call(n->name);
        const char *sugg = python ? NULL : sema_suggest_name(S, n->name, true);
        if (sugg)
            error_at(n->nspan, "call to undeclared function '%s'; did you mean '%s'?", n->name, sugg);
        else
            error_at(n->nspan, "call to undeclared function '%s'", n->name);
        if (python)
            note_at(n->nspan, "%s", python);
        return sema_fail(n);
    }
    n->sym = sym;
    sym->used = true;
    if (sym->kind == SYM_FUNC)
        return check_helper_call(S, n, sym);
    if (sym->kind == SYM_KERNEL) {
        error_at(n->nspan, "kernel '%s' cannot be called from .tile code; kernels are launched from C",
                 n->name);
        note_at(sym->span, "'%s' is declared here", n->name);
        return sema_fail(n);
    }
    error_at(n->nspan, "'%s' is not a function", n->name);
    if (b != B_NONE)
        note_at(sym->span, "'%s' is declared here, hiding the builtin function of that name", n->name);
    else
        note_at(sym->span, "'%s' is declared here", n->name);
    return sema_fail(n);
}

// The value unpacked into one name, checked against the variable it is assigned to: reported
// at the name (the value is inside the helper's body, which has been left).
static void check_unpack_assign(Sema *S, Node *target, Node *value) {
    Symbol *sym = sema_scope_lookup(S, target->name);
    if (!sym) {
        sema_check_expr(S, target);  // reports the undeclared name
        return;
    }
    sym->used = true;
    if (sym->kind != SYM_VAR) {
        error_at(target->span, "cannot assign to %s '%s'", sema_sym_kind_name(sym->kind), target->name);
        if (sym->kind == SYM_LET)
            note_at(sym->span, "declare it with 'var' to make it assignable");
        else
            note_at(sym->span, "'%s' is declared here", target->name);
        return;
    }
    target->sym = sym;
    target->type = sym->type;
    if (!value || sema_is_error(&value->type) || sema_is_error(&sym->type))
        return;
    char b1[96], b2[96], what[160];
    if (sym->type.rank == 0 && value->type.rank > 0) {
        error_at(target->span, "cannot assign %s to '%s' of type %s", sema_tstr(&value->type, b1),
                 target->name, sema_tstr(&sym->type, b2));
        return;
    }
    snprintf(what, sizeof what, "assign to '%s'", target->name);
    Node at = *value;  // reported at the name; an untyped constant takes the variable's type
    at.span = target->span;
    if (sema_check_assignable(&at, &sym->type, what)) {
        value->type = at.type;
        value->cval = at.cval;
        sym->written = true;
    }
}

void sema_check_unpack(Sema *S, Node *n) {
    Node *init = n->init;
    int count = n->args.len;
    Span names = span_join(n->args.items[0]->span, n->args.items[count - 1]->span);
    Type t = sema_check_expr(S, init);
    Node *tuple = NULL;
    char b[96];
    if (t.cls == TY_TUPLE) {
        tuple = init->inlined_ret;
        if (tuple->args.len != count) {
            error_at(names, "'%s' returns %d values, but %d name%s given", init->name, tuple->args.len, count,
                     count == 1 ? " is" : "s are");
            note_at(tuple->span, "'%s' returns its values here", init->name);
            tuple = NULL;
        }
    } else if (t.cls == TY_VALUE) {
        error_at(init->span,
                 "cannot unpack %s into %d names; only a helper that returns several values can be unpacked",
                 sema_tstr(&t, b), count);
    } else {
        sema_require_value(init, t);
    }
    for (int i = 0; i < count; i++) {
        Node *target = n->args.items[i];
        Node *value = tuple ? tuple->args.items[i] : NULL;
        if (n->op == UNPACK_ASSIGN) {
            check_unpack_assign(S, target, value);
            continue;
        }
        bool is_var = n->op == UNPACK_VAR;
        if (value && is_var)
            sema_concretize(value);
        Symbol *sym = sema_declare(S, is_var ? SYM_VAR : SYM_LET, target->name, target->span, n);
        if (!sym)
            continue;
        sym->type = value ? value->type : type_error();  // an error silences the uses
        if (value && !is_var && value->is_const) {
            sym->is_const = true;
            sym->cval = value->cval;
            if (elem_is_float(value->type.elem) && !sym->cval.is_float)
                sym->cval = (ConstVal){.is_float = true, .f = (double)value->cval.i};
        }
        target->sym = sym;
        target->type = sym->type;
        target->is_const = sym->is_const;
        target->cval = sym->cval;
    }
}
