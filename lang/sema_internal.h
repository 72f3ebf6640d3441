// lang/sema_internal.h — state and functions shared by the files of the checker:
//   sema.c        scopes, declarations, statements, kernels and their search spaces
//   sema_expr.c   expressions: constants, element types, shapes, names, operators, casts
//   sema_index.c  indexing: tensor loads and stores (slices, gathers), tile values
//   sema_call.c   calls: argument lists, builtin dispatch, helper functions (inlined)
//   builtins.c    the builtin functions, one check per family (the BUILTINS table in sema.h)
// Every function here is named sema_*; nothing else leaves these files.
#ifndef TILEC_LANG_SEMA_INTERNAL_H
#define TILEC_LANG_SEMA_INTERNAL_H

#include "ast.h"
#include "diag.h"
#include "sema.h"

// ================================================================ data structures

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

// The checker's state while it walks one program: the scopes, the function and kernel being
// checked, the helper calls being inlined and the values bound for constraint evaluation.
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
    bool raw_lists;  // checking a list's own loads (its addresses): the list is a tensor i64[G]
} Sema;

// ================================================================ small helpers (inline)

// Annotates n with t and returns t.
static inline Type sema_set_type(Node *n, Type t) {
    n->type = t;
    return t;
}

// Marks n as erroneous (after reporting) and returns the error type.
static inline Type sema_fail(Node *n) { return sema_set_type(n, type_error()); }

// Formats a type for a diagnostic into buf (96 bytes).
static inline const char *sema_tstr(const Type *t, char *buf) { return type_str(t, buf, 96); }

static inline bool sema_is_error(const Type *t) { return t->cls == TY_ERROR; }

// An untyped constant's element type (integer or float literal, no context yet).
static inline bool sema_is_untyped(ElemType e) { return e == EL_INT || e == EL_FLOAT; }

// ================================================================ sema.c

// Opens a scope whose parent is `parent`; returns the current one, for sema_scope_pop.
Scope *sema_scope_push(Sema *S, Scope *parent);
void sema_scope_pop(Sema *S, Scope *saved);
// Looks a name up in the current scope and its parents (NULL if not visible).
Symbol *sema_scope_lookup(Sema *S, const char *name);
// Declares a symbol in the current scope; reports a redefinition (and returns NULL).
Symbol *sema_declare(Sema *S, SymKind kind, const char *name, Span span, Node *decl);
void sema_check_block(Sema *S, Node *block, bool new_scope);
// "variable", "tensor parameter", ...: what a symbol of kind k is, for diagnostics.
const char *sema_sym_kind_name(SymKind k);
// The tile type written in a declaration (let/var annotation, helper result), dimensions
// evaluated in the current scope; false after reporting.
bool sema_declared_type(Sema *S, Node *ty, Type *out);
// Appends s to an array that grows by doubling (KernelInfo's lists).
void sema_push_sym(Symbol ***arr, int *n, Symbol *s);
// A literal dimension or stride, or a global integer constant, into *out; false for others.
bool sema_literal_dim(Sema *S, Node *d, const char *what, int64_t *out);
// A size or stride name in a tensor's type: the kernel's symbol of that name, or a new one.
Symbol *sema_dim_symbol(Sema *S, Node *d, SymKind kind, KernelInfo *ki);
// One dimension (SYM_SIZE) or stride (SYM_STRIDE) of a tensor parameter: a literal or a name.
void sema_tensor_extent(Sema *S, Node *d, SymKind kind, KernelInfo *ki, int64_t *lit, Symbol **sym);

// ================================================================ sema_list.c

// Declares list parameter p (`As: [G] f32[M, K]`, docs/language.md §6.7): the list, a tensor of
// addresses in the ABI, and the per-element size arrays it introduces (appended to *arrays,
// which go after every tensor and list).
void sema_declare_list(Sema *S, Node *p, KernelInfo *ki, Symbol ***arrays, int *narrays);
// Checks `As[g]` (an ND_INDEX whose base is a list): the element tensor, a symbol of its own.
Type sema_check_list_element(Sema *S, Node *n);
// The note after writing input tensor t: how to declare it (or its list) as an output.
void sema_note_output(const Symbol *t);
// Marks a tensor written, and the list it is an element of.
void sema_mark_written(Symbol *t);
// Whether two size symbols are the same size: one symbol, or the same per-element size array
// at the same element index (the same name, or the same constant).
bool sema_same_size(const Symbol *a, const Symbol *b);
// The message for a list or a per-element size array used as a value (true if t is one).
bool sema_list_as_value(const Node *n);

// ================================================================ sema_expr.c

// Checks an expression and returns its type (also stored in n->type).
Type sema_check_expr(Sema *S, Node *n);
// Checks an expression that must be a value (scalar or tile); other kinds are reported.
Type sema_check_value(Sema *S, Node *n);
// Reports n, already checked with type t, unless it is a value (or an error); returns its type.
Type sema_require_value(Node *n, Type t);
// Checks an expression that must be a compile-time integer; false if reported.
bool sema_check_const_int(Sema *S, Node *n, const char *what, int64_t *out);

int64_t sema_type_elems(const Type *t);
// Result element type of mixing a and b in `op` (EL_NONE after reporting at n).
ElemType sema_unify_elems(Node *n, Node *a, Node *b, const char *op);
// Broadcast shapes of a and b into out; false if incompatible (not reported).
bool sema_broadcast_shapes(const Type *a, const Type *b, Type *out);
// Converts an untyped constant (or checks a typed value) to `elem` for a use that needs
// exactly that type; reports and returns false on a mismatch. `what` names the use.
bool sema_coerce_to(Node *n, ElemType elem, const char *what);
// Gives untyped constants their default type (i32, f32) for uses with no context.
void sema_concretize(Node *n);
// Can a value of type `from` (node n) be assigned/stored to `to`? Reports on failure.
bool sema_check_assignable(Node *n, const Type *to, const char *what);
// Checks tile dims (positive, within limits); reports at n.
bool sema_check_tile_shape(Node *n, const Type *t);
// Suggests a visible name close to `name` (NULL if none).
const char *sema_suggest_name(Sema *S, const char *name, bool callable);
// dot / @ on checked operands (a, b, optional accumulator tile, optional result type).
Type sema_check_dot_types(Node *n, Node *a, Node *b, Node *acc, ElemType out_elem, bool tf32);

// ================================================================ sema_index.c

// Checks `X[...]` on a tensor or a tile value (an ND_INDEX expression).
Type sema_check_index(Sema *S, Node *n);
// After an error indexing `base`: a note when it is a helper's parameter bound to a value.
void sema_note_value_param(const Node *base);
// Checks `X[...]` where X is a tensor (load or the target of a store/atomic).
Type sema_check_tensor_index(Sema *S, Node *n, bool is_store);

// ================================================================ sema_call.c

// Checks a call: a builtin, or a helper function (inlined at the call).
Type sema_check_call(Sema *S, Node *n);
// Checks 'let (a, b) = f(...);', 'var (a, b) = ...' and '(a, b) = ...' (an ND_UNPACK).
void sema_check_unpack(Sema *S, Node *n);
// Moves named arguments out of call->args into call->kwargs (idempotent); false after
// reporting a misplaced or repeated one.
bool sema_split_args(Node *call);

// ================================================================ builtins.c

// Checks a call of builtin b (its named arguments, their number, its family's type rule).
Type sema_check_builtin_call(Sema *S, Node *call, Builtin b);

#endif
