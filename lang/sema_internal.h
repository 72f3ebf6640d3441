// lang/sema_internal.h — state shared by sema.c (declarations, statements, configs),
// sema_expr.c (expressions, types, broadcasting, constants) and builtins.c.
#ifndef TILEC_LANG_SEMA_INTERNAL_H
#define TILEC_LANG_SEMA_INTERNAL_H

#include "ast.h"
#include "diag.h"
#include "sema.h"

// A lexical scope: a small table of symbols and a parent.
typedef struct Scope {
    struct Scope *parent;
    Symbol **syms;  // in declaration order
    int n, cap;
    int *hash;  // open addressing over syms (indices + 1, 0 = empty), 2 * cap slots
} Scope;

// What the statements being checked belong to.
typedef struct FuncCtx {
    Node *decl;  // ND_KERNEL or ND_FUNC
    bool is_kernel;
    Node *ret;   // a helper: the checked return expression (set by its return)
    Node *body;  // the block whose last statement may be 'return'
    int loop_depth;
} FuncCtx;

typedef struct Sema {
    Program *prog;
    Scope *global;
    Scope *scope;
    FuncCtx *fn;
    KernelInfo *kinfo;   // the kernel being checked (NULL in helpers)
    int grid_rank;       // of that kernel
    const char *clause;  // "grid" or "where" while checking those clauses (NULL in bodies)
    Node *inline_stack[SEMA_MAX_INLINE_DEPTH + 1];
    int inline_depth;
    long inline_nodes;
    bool inline_budget_reported;
    const SemaDefine *bind;  // sizes and scalars taken as known constants (the tuner's shapes)
    int nbind;
} Sema;

// ---------------------------------------------------------------- sema.c

Scope *scope_push(Sema *S, Scope *parent);
void scope_pop(Sema *S, Scope *saved);
Symbol *scope_lookup(Sema *S, const char *name);
Symbol *scope_find(const Scope *sc, const char *name);  // in this scope only
// Declares a symbol in the current scope; reports a redefinition (and returns NULL).
Symbol *declare(Sema *S, SymKind kind, const char *name, Span span, Node *decl);
void check_block(Sema *S, Node *block, bool new_scope);
// The tile type written in a declaration (let/var annotation, helper result), dimensions
// evaluated in the current scope; false after reporting.
bool declared_type(Sema *S, Node *ty, Type *out);

// ---------------------------------------------------------------- sema_expr.c

// Checks an expression and returns its type (also stored in n->type).
Type check_expr(Sema *S, Node *n);
// Checks an expression that must be a value (scalar or tile); other kinds are reported.
Type check_value(Sema *S, Node *n);
// Checks an expression that must be a compile-time integer; false if reported.
bool check_const_int(Sema *S, Node *n, const char *what, int64_t *out);

bool is_value(const Type *t);
bool is_error(const Type *t);
int64_t type_elems(const Type *t);
// Result element type of mixing a and b in `op` (EL_NONE after reporting at n).
ElemType unify_elems(Node *n, Node *a, Node *b, const char *op);
// Broadcast shapes of a and b into out; false if incompatible (not reported).
bool broadcast_shapes(const Type *a, const Type *b, Type *out);
// Converts an untyped constant (or checks a typed value) to `elem` for a use that needs
// exactly that type; reports and returns false on a mismatch. `what` names the use.
bool coerce_to(Node *n, ElemType elem, const char *what);
// Gives untyped constants their default type (i32, f32) for uses with no context.
void concretize(Node *n);
// Can a value of type `from` (node n) be assigned/stored to `to`? Reports on failure.
bool check_assignable(Node *n, const Type *to, const char *what);
// Checks tile dims (positive, within limits); reports at n.
bool check_tile_shape(Node *n, const Type *t);
// Suggests a visible name close to `name` (NULL if none).
const char *suggest_name(Sema *S, const char *name, bool callable);

// Checks `X[...]` where X is a tensor (load or the target of a store/atomic).
Type check_tensor_index(Sema *S, Node *n, bool is_store);

// dot / @ on checked operands (a, b, optional accumulator tile, optional result type).
Type check_dot_types(Node *n, Node *a, Node *b, Node *acc, ElemType out_elem, bool tf32);

// ---------------------------------------------------------------- builtins.c

Type check_builtin_call(Sema *S, Node *call, Builtin b);
// Finds a named argument; reports unknown names among `allowed` (NULL-terminated).
bool check_kwargs(Node *call, const char *const *allowed);
Node *kwarg(Node *call, const char *name);

#endif
