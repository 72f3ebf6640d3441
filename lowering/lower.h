// lowering/lower.h — from the checked AST to MLIR, built op by op through the MLIR C API.
//
// Each kernel becomes, per configuration, a tile-level function
//   NAME__program(tensors as strided memrefs, scalars, sizes (i64), strides (i64),
//                 pid0, pid1, pid2, np0, np1, np2 (i64))
// on tensor values: tiles are `tensor<...>`, a slice load is to_tensor + extract_slice + pad, a
// store is extract_slice + materialize_in_destination, dot is linalg.matmul, reductions are
// linalg.reduce (docs/lowering-plan.md). Every op carries its .tile source location.
#ifndef TILEC_LOWERING_LOWER_H
#define TILEC_LOWERING_LOWER_H

#include <stdbool.h>
#include <stdio.h>

#include "../lang/ast.h"
#include "../lang/sema.h"
#include "schedule.h"

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

typedef struct LowerOptions {
    LowerStage stage;
    bool debuginfo;            // print op locations with LOWER_MLIR
    const char *output;        // file to write (required for LOWER_OBJ; else NULL prints to stdout)
    const char *cpu;           // target CPU (NULL: the host's)
    const Schedule *schedule;  // NULL: schedule_default(cpu)
    const char *only_kernel;   // compile only this kernel of the main files (NULL: all)
    const char *gpu_arch;      // NVIDIA target ("sm_80", "sm_89", "sm_90a"); NULL: x86-64
    const char *gpu_schedule;  // overrides of the GPU schedule (backends/gpu.h), or NULL
    const SemaOptions *sema;   // the -D values, which a GPU fallback configuration keeps (or NULL)
} LowerOptions;

// A tuned object (`tilec --tuned`): per kernel, several compiled versions and the shapes
// that pick them. The entry NAME(...) asks NAME__variant(sizes) which version to run
// (runtime/tilec_rt.h: tilec_rt_pick_variant); a version whose run-time constraints reject
// the call's sizes hands over to the others in order.
typedef struct LowerVariant {
    Config config;
    Schedule schedule;
    bool left_out;  // set by lower_tuned_object: too large for the GPU target
    bool fallback;  // set by lower_tuned_object: config replaced, every version being too large
} LowerVariant;

#define LOWER_MAX_DISPATCH_SIZES 16
typedef struct LowerDispatch {
    int64_t sizes[LOWER_MAX_DISPATCH_SIZES];  // a tuned shape, in the order of the kernel's sizes
    int variant;                              // the version that was fastest there
} LowerDispatch;

typedef struct LowerTuned {
    Node *kernel;
    LowerVariant *variants;  // [0] is the fallback for shapes far from every tuned one
    int nvariants;
    LowerDispatch *entries;
    int nentries;
} LowerTuned;

// Before bufferization: a padded load that needs no padding and whose rows lie close together
// reads the tensor in place instead of a packed copy (lowering/inplace.c).
void lower_inplace_tiles(MlirContext ctx, MlirModule module);
// After bufferization: static buffers allocated inside an scf.if are allocated before it.
void lower_hoist_if_allocs(MlirModule module);
// After bufferization: copies of a buffer onto itself are removed.
void lower_drop_self_copies(MlirContext ctx, MlirModule module);

// After bufferization: the padding fill of each padded load (a tile reaching past its tensor)
// runs only when the tile does reach past it (lowering/copies.c).
void lower_guard_pad_fills(MlirContext ctx, MlirModule module);
// After bufferization: the copy of each stored tile into its tensor runs at the tile's static
// size when the tile lies inside the tensor and the tensor's rows are unit-stride
// (lowering/copies.c).
// With `prefetch`, a store inside a loop also has its destination prefetched for writing at
// the top of the loop's body.
void lower_fast_stores(MlirContext ctx, MlirModule module, bool prefetch);

// Writes one object holding every kernel of `tuned` (lo->stage must be LOWER_OBJ or LOWER_LLVM).
bool lower_tuned_object(Program *prog, LowerTuned *tuned, int ntuned, const LowerOptions *lo);

// Lowers every kernel of the main files, each at its default configuration, to the stage
// asked for. False after reporting an error (a construct the lowering does not handle yet,
// an output that cannot be written); a verifier failure is a compiler bug (internal error).
// x86 objects (and their LLVM IR/assembly) also hold, for kernels whose run-time constraints
// read tunables, a version per combination of the values of those tunables, tried in order
// when the default rejects a call; *notes (malloc'ed, or left NULL) then lists them for the header.
bool lower_program(Program *prog, const SemaOptions *opts, const LowerOptions *lo, char **notes);

// What the object builders share: the schedule `lo` asks for (its own, else the CPU's
// default); printf-style appending to a malloc'ed text (*buf NULL to start, *len its length);
// a header-comment line listing version `v` of kernel `k` ("//   NAME vV: BM=128,BN=64",
// without the newline).
void lower_schedule(const LowerOptions *lo, Schedule *s);

// The versions an untuned object compiles for kernel `k` (at most LOWER_MAX_CONSTRAINT_VERSIONS,
// each with `sched`): its default configuration, then, when run-time constraints read tunables,
// the other values of those tunables, tried in order until one accepts a call. Tuned objects
// start from the same list and the tuner measures a shape's default as the first that
// accepts it. Returns how many (0: an error, reported).
#define LOWER_MAX_CONSTRAINT_VERSIONS 16
int lower_untuned_versions(Program *prog, Node *k, const SemaOptions *opts, const Schedule *sched,
                           LowerVariant *out);
void lower_appendf(char **buf, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void lower_note_config(char **buf, size_t *len, const Node *k, int v, const Config *c);

// ---------------------------------------------------------------- emit.c (used by pipeline.c)

#include "mlir-c/IR.h"

MlirContext lower_context(void);  // a context with every upstream dialect loaded
// The tile-level module: per kernel NAME__program and the C entry NAME (only kernel `only`
// when not NULL). False if reported. With `gpu`, NAME__program takes its tensors as pointers
// (each bound to a memref descriptor built over it) and the entry is the host launcher
// NAME_launch(stream, ...), which calls NAME__cuda_launch (backends/gpu.h).
bool lower_build_module(MlirContext ctx, Program *prog, const SemaOptions *opts, const char *only, bool gpu,
                        MlirModule *out);
// One kernel at one configuration, its symbols named SYM, SYM__program, SYM__task.
bool lower_build_variant(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                         bool gpu, MlirModule *out);
void lower_print_module(MlirModule module, bool debuginfo, FILE *out);

// ---------------------------------------------------------------- pipeline.c (used by schedule.c)

// Runs the transform script `script_text` (@__transform_main) on the module, then verifies it;
// a failure is an internal error that prints the script.
void lower_apply_transform(MlirContext ctx, MlirModule module, const char *script_text, size_t len,
                           const char *what);

// ---------------------------------------------------------------- pipeline.c (used by backends/)

#include "llvm-c/Core.h"

// Runs a textual pass pipeline on the module, verifying after each pass; a failure is an
// internal error naming `stage`.
void lower_run_passes(MlirContext ctx, MlirModule module, const char *pipeline, const char *stage);
extern const char *const lower_host_pipeline;  // host code (func, scf, arith) to the LLVM dialect
LLVMModuleRef lower_translate(MlirContext ctx, MlirModule module, LLVMContextRef lctx);
// Loads, stores and masked loads/stores of bf16 values as 16-bit integers (lowering/bf16mem.c):
// copies of bf16 tiles stay moves on CPUs without AVX512-BF16. lower_translate applies it.
void lower_bf16_memory(LLVMModuleRef m);
// O3 for the host CPU, then prints the module (LOWER_LLVM), its assembly or writes the object.
bool lower_finish_llvm(LLVMModuleRef m, const LowerOptions *lo, FILE *out);

// ---------------------------------------------------------------- backends/ptx.c

// The GPU half of lower_program: `module` is emit.c's GPU-mode module of the main files'
// kernels; prints the stage lo->stage asks for or writes the object (cubins and launchers).
// With `host` (stages LLVM to OBJ), the host module with the images and launchers is built in
// link_ctx and returned there instead (the versions of a kernel, linked by lower_tuned_object);
// *host is NULL (and nothing reported) when a kernel needs more shared memory than the target.
bool gpu_lower_module(MlirContext ctx, MlirModule module, Program *prog, const LowerOptions *lo, FILE *out,
                      LLVMContextRef link_ctx, LLVMModuleRef *host);

// ---------------------------------------------------------------- header.c

// Writes the C header of the kernels of the main files (prototypes, status codes). `notes`
// (may be NULL): comment lines on a tuned object's versions; a kernel named on an entry line
// ("//   NAME: ...") also gets its NAME__variant(sizes) prototype.
// With `gpu_arch`, the prototypes are the launchers NAME_launch(stream, ...) of a GPU object.
bool lower_write_header(const Program *prog, const char *path, const char *object_name, const char *notes,
                        const char *gpu_arch);

#endif
