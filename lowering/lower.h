// lowering/lower.h — from the checked AST to MLIR, built op by op through the MLIR C API, and
// what every target's stages are made of (pass pipelines, translation, host code generation,
// objects of several versions). Target-independent: the back ends (backends/) sit on it and
// nothing here calls them (tests/layering.sh).
//
// Each kernel becomes, per configuration, a tile-level function
//   NAME__program(tensors as strided memrefs, scalars, sizes (i64), strides (i64),
//                 pid0, pid1, pid2, np0, np1, np2 (i64))
// on tensor values: tiles are `tensor<...>`, a slice load is to_tensor + extract_slice + pad, a
// store is extract_slice + materialize_in_destination, dot is linalg.matmul, reductions are
// linalg.reduce (docs/lowering.md). Every op carries its .tile source location.
#ifndef TILEC_LOWERING_LOWER_H
#define TILEC_LOWERING_LOWER_H

#include <stdbool.h>
#include <stdio.h>

#include "llvm-c/Core.h"
#include "mlir-c/IR.h"

#include "../lang/ast.h"
#include "../lang/sema.h"

// What to produce.
typedef enum LowerStage {
    LOWER_MLIR,          // the tile-level module (--emit=mlir)
    LOWER_SCHEDULED,     // dot tiled to register tiles and vectorized (--emit=scheduled)
    LOWER_BUFFERIZED,    // after one-shot bufferization: tiles are buffers (--emit=bufferized)
    LOWER_LLVM_DIALECT,  // the LLVM dialect, before translation (--emit=llvm-dialect)
    LOWER_LLVM,          // LLVM IR after O3 (--emit=llvm)
    LOWER_ASM,           // assembly for the target CPU (--emit=asm)
    LOWER_OBJ,           // an ELF object (-o k.o), plus its C header
    // NVIDIA targets: the tile-level module, then
    LOWER_GPU,    // the program distributed over a thread block's threads (--emit=gpu)
    LOWER_NVVM,   // the device code in the LLVM dialect with NVVM ops (--emit=nvvm)
    LOWER_PTX,    // PTX from LLVM's NVPTX back end (--emit=ptx)
    LOWER_PTXAS,  // ptxas -v's report on the assembled kernel (--emit=ptxas)
} LowerStage;

// The last step of an object (host.c): O3 and code generation for the host CPU (or `cpu`).
typedef struct LowerHost {
    const char *cpu;     // NULL: this machine's CPU
    int vector_bits;     // the vector width LLVM's loop vectorizer is told to prefer
    LowerStage stage;    // LOWER_LLVM (print the IR), LOWER_ASM (print assembly) or LOWER_OBJ
    const char *output;  // the object file (LOWER_OBJ)
} LowerHost;

// A tuned shape: the kernel's sizes (in the order of its prototype) and the version that was
// fastest there.
#define LOWER_MAX_DISPATCH_SIZES 16
typedef struct LowerDispatch {
    int64_t sizes[LOWER_MAX_DISPATCH_SIZES];
    int variant;
} LowerDispatch;

// The versions of one kernel linked into one module, for its dispatcher (dispatch.c): versions
// are the functions NAME__vN (NAME__vN_launch on GPUs), N in [0, nvariants).
typedef struct LowerVersions {
    const Node *kernel;
    int nvariants;
    const bool *left_out;  // [nvariants]: compiled without that version (too large for a GPU)
    const LowerDispatch *entries;
    int nentries;
} LowerVersions;

// ---------------------------------------------------------------- versions.c

// The configurations an untuned object compiles for kernel `k` (at most
// LOWER_MAX_CONSTRAINT_VERSIONS): its default configuration, then, when run-time constraints
// read tunables, the other values of those tunables; a call runs the best fit among those that
// accept it (lower_fit_relations).
// Tuned objects start from the same list and the tuner measures a shape's default as the first
// that accepts it. Returns how many (0: an error, reported).
#define LOWER_MAX_CONSTRAINT_VERSIONS 128
int lower_untuned_configs(Program *prog, Node *k, const SemaOptions *opts, Config *out);
// How a call picks among the versions whose run-time constraints hold (the best fit,
// docs/language.md §6.3): a `where` constraint, or a conjunct (&&) of one, that compares a tile
// (an integer expression of tunables and constants) with an extent (an integer expression of
// sizes, strides or scalars, without tunables) by <, <=, > or >=, or says `extent % tile == 0`,
// is a relation: the tile covers the extent in ceil(extent / tile) pieces. A version's padded
// work is the product over the relations of ceil(max(extent, 0) / tile) * tile (the extent
// itself where the tile is not positive); the call runs the accepting version with the least,
// ties to the first in the list. Preferences (`prefer`, §6.5) come first: when some accepting
// version's preferences hold, the call runs the best fit among those; else among all that
// accept it. lower_fit_relations fills `out` (at most `max`) with the
// relations of kernel `k` (a checked tree or an instance) in source order and returns how many.
typedef struct LowerFitRelation {
    const Node *tile, *extent;
    const Node *where;  // the comparison they come from
} LowerFitRelation;
#define LOWER_MAX_FIT_RELATIONS 16
int lower_fit_relations(const Node *k, LowerFitRelation *out, int max);
// Whether the choice among kernel k's versions compares them (relations or preferences), or is
// the first that accepts a call.
bool lower_kernel_has_fit(const Node *k);
// The version of `versions` (n configurations of kernel `k`, a checked tree) that a call with
// the sizes and scalars of `bind` runs in an object holding those versions in that order: the
// best fit, from the relations whose extents `bind` determines (the others count alike for
// every version). The autotuner's default for a shape. -1 when no version accepts the call.
int lower_best_fit(Program *prog, Node *k, const Config *versions, int n, const SemaDefine *bind, int nbind);
// printf-style appending to a malloc'ed text (*buf NULL to start, *len its length); a
// header-comment line listing version `v` of kernel `k` ("//   NAME vV: BM=128,BN=64", without
// the newline).
void lower_appendf(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void lower_note_config(char **buf, size_t *len, const Node *k, int v, const Config *c);
// A header-comment line (with the newline) saying how a call of kernel `k` measures padded work
// ("//   softmax (padded work): (BC >= C) -> ceil(C / BC) * BC").
void lower_note_fit(char **buf, size_t *len, const Node *k);

// ---------------------------------------------------------------- emit*.c (the entry points: emit_entry.c)

MlirContext lower_context(void);  // a context with every upstream dialect loaded
// The tile-level module: per kernel NAME__program and the C entry NAME (only kernel `only`
// when not NULL). False if reported. With `gpu`, NAME__program takes its tensors as pointers
// (each bound to a memref descriptor built over it) and the entry is the host launcher
// NAME_launch(stream, ...), which calls NAME__cuda_launch (backends/nvidia/gpu.h).
bool lower_build_module(MlirContext ctx, Program *prog, const SemaOptions *opts, const char *only, bool gpu,
                        MlirModule *out);
// One kernel at one configuration, its symbols named SYM, SYM__program, SYM__task; built from
// the kernel's instance for `cfg` (sema_instance), so several threads may build variants at
// once, each in its own context (tests/compiler/variants_threads.c).
bool lower_build_variant(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                         bool gpu, MlirModule *out);
// lower_build_variant with the sizes and integer scalar parameters named in fixed[0..nfixed)
// bound to those constants (--fix): loop bounds, grids, masks and constraints fold to what the
// values make them; the C signature is the same, and the entry returns TILEC_ERR_CONSTRAINT when
// a call passes other values for them (before the run-time constraints, which then fold away).
bool lower_build_fixed(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                       bool gpu, const SemaDefine *fixed, int nfixed, MlirModule *out);
void lower_print_module(MlirModule module, bool debuginfo, FILE *out);
// The fit of version `sym` of `kernel` at `cfg` for its dispatcher: a module holding only
// double SYM__fit(the entry's arguments) (emit_fit.c), -1 when the version's run-time
// constraints reject a call, else the call's padded work in it (lower_fit_relations), times
// 2^200 (plus one first) when its preferences do not hold: any preferred version fits better. Host
// code for every target (lower_host_pipeline). False if reported.
bool lower_build_fit(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                     bool gpu, MlirModule *out);

// ---------------------------------------------------------------- passes.c

// Runs the transform script `script_text` (@__transform_main) on the module, then verifies it;
// a failure is an internal error that prints the script.
void lower_apply_transform(MlirContext ctx, MlirModule module, const char *script_text, size_t len,
                           const char *what);

// Runs a textual pass pipeline on the module, verifying after each pass; a failure is an
// internal error naming `stage`.
void lower_run_passes(MlirContext ctx, MlirModule module, const char *pipeline, const char *stage);
extern const char *const lower_host_pipeline;  // host code (func, scf, arith) to the LLVM dialect
LLVMModuleRef lower_translate(MlirContext ctx, MlirModule module, LLVMContextRef lctx);
// Loads, stores and masked loads/stores of bf16 values as 16-bit integers (bf16mem.c): copies of
// bf16 tiles stay moves on CPUs without AVX512-BF16. lower_translate applies it.
void lower_bf16_memory(LLVMModuleRef m);

// --print-after=NAME / --print-after-all (NAME "all"): the module is printed to stderr after
// each MLIR pass whose argument is NAME (canonicalize, convert-scf-to-cf, ...) and after each of
// tilec's own steps named NAME (the back ends call lower_print_after_step: tile-level,
// schedule, inplace, bufferize, fast-stores, ..., gpu-distribute). Set once, before compiling.
void lower_set_print_after(const char *name);
void lower_print_after_step(MlirModule module, const char *step);

// ---------------------------------------------------------------- host.c, dispatch.c

// O3 for the host CPU, then prints the module (LOWER_LLVM), its assembly or writes the object.
bool lower_finish_llvm(LLVMModuleRef m, const LowerHost *host, FILE *out);

// Adds NAME__variant(sizes) (the table of tuned shapes through tilec_rt_pick_variant) and the
// entry NAME(...) (NAME_launch(stream, ...) with `gpu`) over the versions NAME__vN of `m`.
void lower_build_dispatcher(LLVMModuleRef m, const LowerVersions *t, bool gpu);
// Gives the definitions of version `sym`'s module that are not its own symbols (SYM,
// SYM__program, SYM__task; SYM_launch on GPUs) internal linkage, so that helpers every version
// defines alike do not clash when the versions are linked into one module.
void lower_internalize_helpers(LLVMModuleRef m, const char *sym);

// ---------------------------------------------------------------- header.c

// Writes the C header of the kernels of the main files (prototypes, status codes). `notes`
// (may be NULL): comment lines on a tuned object's versions; a kernel named on an entry line
// ("//   NAME: ...") also gets its NAME__variant(sizes) prototype.
// With `gpu_arch`, the prototypes are the launchers NAME_launch(stream, ...) of a GPU object.
bool lower_write_header(const Program *prog, const char *path, const char *object_name, const char *notes,
                        const char *gpu_arch);

#endif
