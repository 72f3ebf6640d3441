// lang/ast.h — the syntax tree of a .tile program and the types sema gives it.
//
// Data structures first: spans, element types, node kinds (one X-macro list), the node,
// symbols, kernels. Every node carries the span of source it came from; sema fills in
// `type`, `sym` and constant values in place, so lowering reads one checked tree.
#ifndef TILEC_LANG_AST_H
#define TILEC_LANG_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TILE_MAX_RANK 8

// ---------------------------------------------------------------- source and spans

typedef struct SourceFile SourceFile;
struct SourceFile {
    const char *path;    // as given on the command line or resolved by an import
    const char *text;    // whole contents, NUL-terminated (may also contain NUL bytes)
    size_t len;          // length of text in bytes
    int import_depth;    // 0 for files named on the command line
    SourceFile *parent;  // the file whose import loaded this one
    int parent_line;     // line of that import
};

typedef struct Span {
    const SourceFile *file;
    uint32_t off;  // byte offset of the first character
    uint32_t len;  // length in bytes (0 for a point)
    int line;      // 1-based
    int col;       // 1-based, in bytes
} Span;

// ---------------------------------------------------------------- element types

// X(enum, spelling, bits, is_float)
#define ELEM_TYPES(X)            \
    X(EL_I1, "i1", 1, false)     \
    X(EL_I8, "i8", 8, false)     \
    X(EL_I16, "i16", 16, false)  \
    X(EL_I32, "i32", 32, false)  \
    X(EL_I64, "i64", 64, false)  \
    X(EL_U8, "u8", 8, false)     \
    X(EL_U16, "u16", 16, false)  \
    X(EL_U32, "u32", 32, false)  \
    X(EL_U64, "u64", 64, false)  \
    X(EL_F16, "f16", 16, true)   \
    X(EL_BF16, "bf16", 16, true) \
    X(EL_F32, "f32", 32, true)   \
    X(EL_F64, "f64", 64, true)

typedef enum ElemType {
    EL_NONE,  // no element type (void, error)
// clang-format off
#define X(e, s, b, f) e,
    ELEM_TYPES(X)
#undef X
    EL_INT,    // an untyped integer constant: takes the type of what it meets (i32 alone)
    EL_FLOAT,  // an untyped float constant: takes the float type it meets (f32 alone)
    // clang-format on
} ElemType;

// What kind of thing an expression denotes.
typedef enum TypeClass {
    TY_ERROR,   // already diagnosed; silences follow-on errors
    TY_VOID,    // a statement-like call (atomic_add)
    TY_VALUE,   // a scalar (rank 0) or a tile (rank >= 1) of `elem`
    TY_TENSOR,  // a tensor parameter (only indexing reads it)
    TY_TYPE,    // an element type named as a value: zeros(f32, ...)
    TY_SHAPE,   // a list of compile-time integers: [BM, BN]
    TY_TUPLE,   // the values of a helper that returns several (rank = how many); only unpacked
} TypeClass;

typedef struct Type {
    TypeClass cls;
    ElemType elem;
    int rank;
    int64_t dims[TILE_MAX_RANK];  // static tile shape (TY_VALUE, TY_SHAPE uses rank/dims)
} Type;

// A compile-time value (a literal, a const, a tunable, or a folded expression).
typedef struct ConstVal {
    bool is_float;
    int64_t i;
    double f;
} ConstVal;

// ---------------------------------------------------------------- operators

// X(enum, spelling)
#define BINARY_OPS(X) \
    X(OP_ADD, "+")    \
    X(OP_SUB, "-")    \
    X(OP_MUL, "*")    \
    X(OP_DIV, "/")    \
    X(OP_MOD, "%")    \
    X(OP_MATMUL, "@") \
    X(OP_EQ, "==")    \
    X(OP_NE, "!=")    \
    X(OP_LT, "<")     \
    X(OP_LE, "<=")    \
    X(OP_GT, ">")     \
    X(OP_GE, ">=")    \
    X(OP_AND, "&&")   \
    X(OP_OR, "||")    \
    X(OP_BITAND, "&") \
    X(OP_BITOR, "|")  \
    X(OP_BITXOR, "^") \
    X(OP_SHL, "<<")   \
    X(OP_SHR, ">>")

typedef enum BinaryOp {
    OP_NONE,  // plain '=' in an assignment
// clang-format off
#define X(e, s) e,
    BINARY_OPS(X)
#undef X
    // clang-format on
} BinaryOp;

typedef enum UnaryOp {
    UOP_NEG,     // -x
    UOP_NOT,     // !x
    UOP_BITNOT,  // ~x
} UnaryOp;

// ---------------------------------------------------------------- nodes

// X(enum, name used by --emit=ast)
#define NODE_KINDS(X)                                                             \
    /* expressions */                                                             \
    X(ND_INT, "IntLit")        /* 42, 0x2a                                  */    \
    X(ND_FLOAT, "FloatLit")    /* 1.5, 1e-5, inf, nan                       */    \
    X(ND_BOOL, "BoolLit")      /* true, false                               */    \
    X(ND_NAME, "Name")         /* x                                         */    \
    X(ND_TYPENAME, "TypeName") /* f32 used as an argument: zeros(f32, ...)  */    \
    X(ND_LIST, "List")         /* [a, b] as a shape argument                */    \
    X(ND_UNARY, "Unary")       /* -x  !x  ~x                                */    \
    X(ND_BINARY, "Binary")     /* a + b, a @ b, a < b, ...                  */    \
    X(ND_CALL, "Call")         /* f(a, b, axis = 1)                         */    \
    X(ND_CAST, "Cast")         /* f32(x)                                    */    \
    X(ND_INDEX, "Index")       /* X[i, a:b] mask m else v ; x[:, None]      */    \
    X(ND_SLICE, "Slice")       /* a : b inside an index (either may be absent) */ \
    X(ND_NEWAXIS, "NewAxis")   /* None inside an index                      */    \
    X(ND_KWARG, "NamedArg")    /* axis = 1 inside a call                    */    \
    X(ND_TUPLE, "Tuple")       /* (a, b, c) returned by a helper            */    \
    /* statements */                                                              \
    X(ND_LET, "Let")            /* let x = e;                                */   \
    X(ND_VAR, "Var")            /* var x = e;                                */   \
    X(ND_ASSIGN, "Assign")      /* x = e; x += e; X[...] = e;                */   \
    X(ND_EXPR_STMT, "ExprStmt") /* atomic_add(X[i], v);                      */   \
    X(ND_FOR, "For")            /* for i in a .. b step s { }                */   \
    X(ND_WHILE, "While")        /* while c { }                               */   \
    X(ND_IF, "If")              /* if c { } else { }                         */   \
    X(ND_BLOCK, "Block")        /* { ... }                                   */   \
    X(ND_RETURN, "Return")      /* return e;                                 */   \
    X(ND_UNPACK, "Unpack")      /* let (a, b) = f(); var (..) = ; (a, b) = ; */   \
    /* declarations */                                                            \
    X(ND_IMPORT, "Import")     /* import "file.tile";                       */    \
    X(ND_CONST, "Const")       /* const EPS = 1e-5;                         */    \
    X(ND_KERNEL, "Kernel")     /* kernel k(...) tune ... grid (...) { }     */    \
    X(ND_FUNC, "Func")         /* fn f(x) -> f32 { }                        */    \
    X(ND_PARAM, "Param")       /* A: f32[M, K], C: out f32[M, N], x: f32    */    \
    X(ND_TYPEEXPR, "TypeExpr") /* f32, f32[M, K], f32[BM, BN]; [G] f32[M, K] */   \
    X(ND_TUNE, "Tune")         /* BM in {32, 64}                            */    \
    X(ND_ERROR, "Error")       /* stands in for something already diagnosed */

typedef enum NodeKind {
// clang-format off
#define X(e, s) e,
    NODE_KINDS(X)
#undef X
    // clang-format on
} NodeKind;

// What an ND_UNPACK statement does with its names (its args, ND_NAME nodes).
typedef enum UnpackMode {
    UNPACK_LET,     // let (a, b) = f(...);
    UNPACK_VAR,     // var (a, b) = f(...);
    UNPACK_ASSIGN,  // (a, b) = f(...);  to variables declared before
} UnpackMode;

typedef struct Node Node;
typedef struct Symbol Symbol;
typedef struct KernelInfo KernelInfo;

typedef struct NodeList {
    Node **items;
    int len, cap;
} NodeList;

struct Node {
    NodeKind kind;
    Span span;         // the whole construct
    Span nspan;        // the name, for declarations and names (else == span)
    int op;            // BinaryOp / UnaryOp / assignment BinaryOp (OP_NONE for '='), ND_UNPACK: UnpackMode
    const char *name;  // name, callee, declared name, import path
    ElemType elem;     // ND_TYPENAME, ND_CAST, ND_TYPEEXPR
    int64_t ival;      // ND_INT, ND_BOOL
    double fval;       // ND_FLOAT
    bool is_out;       // ND_PARAM: `out` tensor
    bool has_shape;    // ND_TYPEEXPR: has a [dims] part (else a scalar type)
    int depth;         // height of this subtree (bounded by the parser)

    Node *lhs, *rhs;          // binary, assign, slice lo/hi, kwarg value (rhs)
    Node *cond, *then, *els;  // if / while (cond, then), index mask (cond) / pad (els)
    Node *init;               // let/var value, for start, return value, const value,
                              // ND_TYPEEXPR of a list: its length (the element type is `base`)
    Node *limit, *step;       // for end and step
    Node *body;               // for, while, kernel, func
    Node *base;               // index base, call on a tile, ND_TYPEEXPR of a list: element type
    Node *ty;                 // declared type: let/var/param/const/func result
    NodeList args;            // call args, index items, list items, block statements, type dims,
                              // tune values, kernel/func params
    NodeList kwargs;          // call: named args; param: explicit strides
    NodeList tunes;           // kernel: ND_TUNE items
    NodeList wheres;          // kernel: constraint expressions
    NodeList prefers;         // kernel: preferences (`prefer`: the untuned choice, §6.5)
    NodeList grid;            // kernel: grid expressions

    // Filled by sema.
    Type type;
    Symbol *sym;    // resolved name / declared symbol
    bool is_const;  // a compile-time value, in cval
    ConstVal cval;
    Node *inlined;           // ND_CALL of a helper: the checked copy of its body (ND_BLOCK)
    Node *inlined_ret;       // and the returned expression inside that copy (ND_TUPLE: several)
    Symbol **inline_params;  // and the symbols its parameters are bound to, in order
    KernelInfo *kinfo;       // ND_KERNEL
};

// ---------------------------------------------------------------- symbols

typedef enum SymKind {
    SYM_TENSOR,    // tensor parameter
    SYM_SCALAR,    // scalar parameter
    SYM_SIZE,      // symbolic size bound from a tensor's shape (M, K)
    SYM_STRIDE,    // symbolic stride declared by a tensor (lda)
    SYM_TUNABLE,   // tune BM in {...}
    SYM_CONST,     // const X = ...
    SYM_LET,       // let x = ...
    SYM_VAR,       // var x = ...
    SYM_LOOPVAR,   // for i in ...
    SYM_FUNC,      // fn f(...)
    SYM_KERNEL,    // kernel k(...)
    SYM_SHAPEVAR,  // a dimension name in a helper's parameter type, bound per call
} SymKind;

struct Symbol {
    SymKind kind;
    const char *name;
    Span span;      // where it was declared
    Node *decl;     // the declaring node (param, let, const, func, ...)
    Type type;      // value type (tensor: elem + rank; dims unknown)
    bool is_const;  // consts, tunables, shape variables and lets of constants
    ConstVal cval;
    Symbol *alias;  // a helper's parameter bound to a tensor, or a dimension name bound to
                    // that tensor's size: the kernel's symbol it names (lookups return it)
    Node *arg;      // a helper's parameter bound to a value: the argument of the call
    int index;      // ABI position among its kind (tensors, scalars, sizes, strides)
    bool written;   // tensor stored to / var reassigned
    bool used;
    // SYM_TENSOR: the symbols of its sizes and strides (NULL stride = contiguous rule)
    Symbol *dims[TILE_MAX_RANK];
    int64_t const_dims[TILE_MAX_RANK];  // >= 0 where the dimension is a literal
    Symbol *strides[TILE_MAX_RANK];
    int64_t const_strides[TILE_MAX_RANK];  // >= 0 where the stride is a literal; -1 default
    // Tensor lists (docs/language.md §6.7). A list parameter `As: [G] f32[M, K]` is, in the ABI,
    // a tensor i64[G] of element addresses (type and dims[0] say so) whose `list_elem` describes
    // its elements: their element type and rank, and in dims[] the per-element size arrays M, K
    // (hidden input tensors i64[G], `list_of` naming the first list that declared them). An
    // element As[g] is a tensor symbol of its own (per indexing node), `list_of` its list, with
    // `list_load` the checked load of its address As[g] (i64) and size symbols whose
    // `list_load` is the checked load M[g]: the emitter builds its memref where it is used.
    Symbol *list_elem;  // a list parameter: the template of its elements
    Symbol *list_of;    // an element, or a per-element size array: the list
    Node *list_load;    // an element or an element's size: the i64 load that gives its value
};

// ---------------------------------------------------------------- kernels

// A kernel's ABI and search space, computed by sema (independent of the config).
struct KernelInfo {
    Symbol **tensors;
    int ntensors;  // in declaration order
    Symbol **scalars;
    int nscalars;  // in declaration order
    Symbol **sizes;
    int nsizes;  // in order of first appearance
    Symbol **strides;
    int nstrides;  // in order of first appearance
    Symbol **tunables;
    int ntunables;  // in declaration order
    Node **runtime_wheres;
    int nruntime_wheres;  // constraints that read sizes/scalars
    Node **runtime_prefers;
    int nruntime_prefers;  // preferences that read sizes/scalars
    bool not_preferred;    // a preference is false at compile time in this configuration
    int64_t nconfigs;      // configurations that satisfy the compile-time constraints (-1: the
                           // space was too large to count; nconfigs_total says how large)
    int64_t nconfigs_total;
};

// One point of a kernel's search space: a value per tunable.
typedef struct Config {
    int n;
    int64_t values[64];
} Config;

// ---------------------------------------------------------------- a parsed program

typedef struct Program {
    NodeList decls;  // declarations of all files, imports first
    SourceFile **files;
    int nfiles;
    bool target_gpu;  // compiled for an NVIDIA GPU: what is_gpu() is (set before checking)
} Program;

// ---------------------------------------------------------------- ast.c

void *ast_alloc(size_t size);  // zeroed, never freed (one arena per compilation)
char *ast_strndup(const char *s, size_t n);
void ast_arena_reset(void);  // frees every allocation (fuzzer, library users)
size_t ast_arena_bytes(void);
long ast_node_count(void);  // nodes made since the last reset (parsing and inlining)

Node *ast_new(NodeKind kind, Span span);
Node *ast_binary(int op, Node *lhs, Node *rhs, Span span);
Node *ast_unary(int op, Node *operand, Span span);
void ast_push(NodeList *list, Node *node);
Node *ast_clone(const Node *n);  // deep copy (sema types included)
// Whether declaration `d` is a kernel of a main file (one named on the command line, not
// imported) — what tilec compiles, lists and tunes — and, when `only` is not NULL, the one named so.
bool ast_main_kernel(const Node *d, const char *only);
Span span_join(Span a, Span b);

const char *node_kind_name(NodeKind k);
const char *binary_op_spelling(int op);
const char *unary_op_spelling(int op);
const char *elem_name(ElemType e);
int elem_bits(ElemType e);
bool elem_is_float(ElemType e);                    // f16 bf16 f32 f64 and untyped floats
bool elem_is_int(ElemType e);                      // i8..i64, u8..u64 and untyped ints (not i1)
bool elem_is_unsigned(ElemType e);                 // u8 u16 u32 u64
ElemType elem_from_name(const char *s, size_t n);  // EL_NONE if not a type name

// Writes a type as users see it ("f32[64, 32]", "i32") into buf.
const char *type_str(const Type *t, char *buf, size_t size);
Type type_value(ElemType e, int rank, const int64_t *dims);
Type type_scalar(ElemType e);
Type type_error(void);

// --emit=ast
void ast_dump(const Program *prog, void *out /* FILE* */);

#endif
