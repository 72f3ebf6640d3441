// lang/sema.h — semantic checks: names, types, shapes and broadcasting, compile-time
// values, the kernel ABI and search space. The result is the AST annotated in place for one
// configuration of each kernel's tunables, which lowering can trust.
#ifndef TILEC_LANG_SEMA_H
#define TILEC_LANG_SEMA_H

#include "ast.h"

#define SEMA_MAX_TILE_ELEMS (1 << 24)  // elements in one tile value
#define SEMA_MAX_INLINE_DEPTH 8        // helper calls nested inside helper calls
#define SEMA_MAX_INLINE_NODES 300000   // nodes created by inlining helpers, per kernel
#define SEMA_MAX_CONFIGS_CHECKED 1024  // configs `check` visits per kernel (sampled beyond)
#define SEMA_MAX_SEARCH_SPACE (1ll << 40)

// ---------------------------------------------------------------- builtins

// X(enum, name, min positional args, max positional args, family). The family names the
// check of the builtin's arguments and type in lang/builtins.c (family_<family> there: one
// type rule and the named arguments it accepts); adding a builtin is one row here, plus its
// family's code (and its lowering).
#define BUILTINS(X)                               \
    X(B_PROGRAM_ID, "program_id", 1, 1, grid)     \
    X(B_NUM_PROGRAMS, "num_programs", 1, 1, grid) \
    X(B_ARANGE, "arange", 1, 2, arange)           \
    X(B_ZEROS, "zeros", 2, 2, fill)               \
    X(B_ONES, "ones", 2, 2, fill)                 \
    X(B_FULL, "full", 3, 3, fill)                 \
    X(B_EXP, "exp", 1, 1, unary_math)             \
    X(B_EXP2, "exp2", 1, 1, unary_math)           \
    X(B_LOG, "log", 1, 1, unary_math)             \
    X(B_LOG2, "log2", 1, 1, unary_math)           \
    X(B_SQRT, "sqrt", 1, 1, unary_math)           \
    X(B_RSQRT, "rsqrt", 1, 1, unary_math)         \
    X(B_SIN, "sin", 1, 1, unary_math)             \
    X(B_COS, "cos", 1, 1, unary_math)             \
    X(B_TANH, "tanh", 1, 1, unary_math)           \
    X(B_ERF, "erf", 1, 1, unary_math)             \
    X(B_SIGMOID, "sigmoid", 1, 1, unary_math)     \
    X(B_FLOOR, "floor", 1, 1, unary_math)         \
    X(B_CEIL, "ceil", 1, 1, unary_math)           \
    X(B_ABS, "abs", 1, 1, unary_math)             \
    X(B_POW, "pow", 2, 2, nary_math)              \
    X(B_MAXIMUM, "maximum", 2, 2, nary_math)      \
    X(B_MINIMUM, "minimum", 2, 2, nary_math)      \
    X(B_CLAMP, "clamp", 3, 3, nary_math)          \
    X(B_WHERE, "where", 3, 3, where)              \
    X(B_CDIV, "cdiv", 2, 2, cdiv)                 \
    X(B_UMULHI, "umulhi", 2, 2, umulhi)           \
    X(B_PHILOX, "philox", 6, 6, random)           \
    X(B_RANDINT, "randint", 2, 2, random)         \
    X(B_RAND, "rand", 2, 2, random)               \
    X(B_RANDN, "randn", 2, 2, random)             \
    X(B_SUM, "sum", 1, 2, reduce)                 \
    X(B_MAX, "max", 1, 2, reduce)                 \
    X(B_MIN, "min", 1, 2, reduce)                 \
    X(B_MEAN, "mean", 1, 2, reduce)               \
    X(B_ARGMAX, "argmax", 1, 2, reduce)           \
    X(B_ARGMIN, "argmin", 1, 2, reduce)           \
    X(B_DOT, "dot", 2, 3, dot)                    \
    X(B_TRANS, "trans", 1, 2, trans)              \
    X(B_RESHAPE, "reshape", 2, 2, reshape)        \
    X(B_BROADCAST, "broadcast", 2, 2, reshape)    \
    X(B_LOAD, "load", 1, 1, load)                 \
    X(B_STORE, "store", 2, 2, store)              \
    X(B_ATOMIC_ADD, "atomic_add", 2, 2, store)    \
    X(B_ATOMIC_MAX, "atomic_max", 2, 2, store)    \
    X(B_ATOMIC_MIN, "atomic_min", 2, 2, store)    \
    X(B_ATOMIC_CAS, "atomic_cas", 3, 3, swap)     \
    X(B_ATOMIC_XCHG, "atomic_xchg", 2, 2, swap)   \
    X(B_IS_GPU, "is_gpu", 0, 0, target)

typedef enum Builtin {
    B_NONE = -1,
// clang-format off
#define X(e, n, lo, hi, fam) e,
    BUILTINS(X)
#undef X
    // clang-format on
    B_COUNT
} Builtin;

Builtin builtin_lookup(const char *name);
const char *builtin_name(Builtin b);

// ---------------------------------------------------------------- options and entry points

typedef struct SemaDefine {
    const char *name;  // -D NAME=VALUE
    int64_t value;
    bool used;
} SemaDefine;

typedef struct SemaOptions {
    SemaDefine *defines;
    int ndefines;
    bool all_configs;   // check every configuration (capped), not only the default one
    bool pow2_default;  // the default: the first configuration whose tunables are all powers of
                        // two, when one is valid (GPU targets, whose tiles must be)
    // --kernel NAME: check this kernel only (the others are left alone: not checked, and the
    // -D values do not apply to them); NULL: every kernel.
    const char *only_kernel;
} SemaOptions;

// Checks every declaration of the program (of the kernels, only_kernel when it is set). With
// all_configs, each kernel is checked for every point of its search space (deduplicating
// diagnostics, which name a configuration only when they depend on it: diag_hold_begin);
// otherwise for its default configuration. Afterwards the AST holds the annotation of the last
// configuration checked, except that kernels are re-checked at their default configuration at
// the end. Returns false if any error was reported.
bool sema_check_program(Program *prog, const SemaOptions *opts);

// Annotates one kernel (the shared tree) for one configuration.
bool sema_check_kernel(Program *prog, Node *kernel, const Config *cfg);

// The kernel checked for one configuration as a value of its own: a private copy of the
// kernel's tree annotated for `cfg` (types, folded constants, shapes, its KernelInfo), which no
// later check changes. Lowering reads only instances, so variants of one program can be lowered
// from several threads at once; the checker's entry points themselves run one at a time (they
// share a lock). NULL after an error (reported) or when `cfg` breaks a compile-time constraint.
Node *sema_instance(Program *prog, Node *kernel, const Config *cfg);

// The kernel's default configuration: -D values, else each tunable's first value, else the
// first point in enumeration order that satisfies the compile-time constraints.
// Returns false when no configuration satisfies them (reported).
bool sema_default_config(Program *prog, Node *kernel, const SemaOptions *opts, Config *out);

// The configurations a GPU target falls back to when the default needs more shared memory
// than it has: the next point after *index (start at -1) in enumeration order whose tunables
// are all powers of two and that satisfies the compile-time constraints; *index is set to it.
// False when there is none (or after an error, reported).
bool sema_next_pow2_config(Program *prog, Node *kernel, const SemaOptions *opts, int64_t *index, Config *out);

// The configurations of the kernel's search space that satisfy its compile-time constraints,
// in enumeration order (the first tunable varies slowest), at most `max`; -1 on an error.
int64_t sema_enumerate_configs(Program *prog, Node *kernel, Config *out, int64_t max);
// Whether every tunable value of the configuration is a power of two (GPU tiles).
bool sema_config_all_pow2(const Config *c);

// The kernel's constraints for `cfg` with the sizes and scalars in `bind` taken as known (the
// autotuner's shapes): 1 all hold, 0 one does not, 2 some read a value not bound, -1 an error
// (reported).
int sema_constraints_hold(Program *prog, Node *kernel, const Config *cfg, const SemaDefine *bind, int nbind);
// sema_constraints_hold, and in *preferred whether the kernel's `prefer` conditions hold for cfg
// with those sizes bound (true when one cannot be decided from them).
int sema_constraints_prefer(Program *prog, Node *kernel, const Config *cfg, const SemaDefine *bind, int nbind,
                            bool *preferred);

// The value of a call's named argument (NULL if absent).
Node *sema_named_arg(const Node *call, const char *name);

// Writes the C prototype of a checked kernel ("int matmul(const float *A, ...)").
void sema_print_prototype(const Node *kernel, void *out /* FILE* */);

#endif
