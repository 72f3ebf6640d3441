// backends/target.h — what a kernel is compiled for: the target, parsed once by the driver from
// --target, --cpu and --schedule, and the object builders that compile through it.
//
// A Target holds its kind, the CPU or GPU architecture, its schedule (the knobs that do not
// change a kernel's meaning) and the function that lowers a tile-level module for it. Everything
// that compiles kernels — the driver, the untuned and tuned object builders (object.c), the
// tuner — goes through a Target, so lowering/ stays target-independent and each back end sits
// beside the other: backends/x86/ and backends/nvidia/.
#ifndef TILEC_BACKENDS_TARGET_H
#define TILEC_BACKENDS_TARGET_H

#include <stdbool.h>
#include <stdio.h>

#include "llvm-c/Core.h"
#include "mlir-c/IR.h"

#include "../lang/ast.h"
#include "../lang/sema.h"
#include "../lowering/lower.h"
#include "nvidia/gpu.h"
#include "x86/schedule.h"

typedef enum TargetKind { TARGET_X86, TARGET_NVIDIA } TargetKind;

typedef struct Target Target;
typedef struct CompileOptions CompileOptions;

// Lowers `module` (emit.c's tile-level module of the kernels, in `ctx`) for target `t` to
// o->stage: prints that stage to `out` or writes the object (o->output). With `host` (stages
// LLVM to OBJ), builds the host module in `link_ctx` and returns it there instead, for an object
// builder that links several versions; *host is NULL (nothing reported) when the version does
// not fit the target. False after reporting an error.
typedef bool (*TargetLowerFn)(const Target *t, MlirContext ctx, MlirModule module, Program *prog,
                              const CompileOptions *o, FILE *out, LLVMContextRef link_ctx,
                              LLVMModuleRef *host);

struct Target {
    TargetKind kind;
    char name[16];  // "x86-64", or the GPU architecture: "sm_90a"
    // x86 code — the kernels, or a GPU object's host side (entries and launchers).
    const char *cpu;           // --cpu (NULL: this machine's CPU)
    Schedule cpu_schedule;     // x86 kernels: the CPU's default, with --schedule's overrides; GPU
                               // objects: the host CPU's default (its vector width, for host code)
    GpuArch gpu;               // TARGET_NVIDIA
    GpuSchedule gpu_schedule;  // TARGET_NVIDIA: the architecture's default with --schedule's
    TargetLowerFn lower;
};

// What one compilation produces.
struct CompileOptions {
    LowerStage stage;
    bool debuginfo;           // print op locations with LOWER_MLIR
    const char *output;       // file to write (required for LOWER_OBJ; else NULL prints to stdout)
    const char *only_kernel;  // compile only this kernel of the main files (NULL: all)
    const SemaOptions *sema;  // the -D values, which a GPU fallback configuration keeps (or NULL)
    const Target *target;
    const SemaDefine *fixed;  // --fix NAME=VALUE,...: sizes and integer scalars made constants
    int nfixed;               // (with only_kernel; object_fixed)
};

// Whether `name` names a target (--target=): x86-64 (or x86_64), or an NVIDIA architecture.
bool target_known(const char *name);
// Whether `cpu` is an x86-64 CPU name LLVM knows (--cpu).
bool target_known_cpu(const char *cpu);
// Fills `t` for target `name` (NULL: x86-64), CPU `cpu` (NULL: this machine's) and the schedule
// overrides `schedule` ("key=value,...", or NULL). `name` and `cpu` must be known; false, with
// `why` set, on a malformed schedule for that target.
bool target_init(Target *t, const char *name, const char *cpu, const char *schedule, char *why, int why_size);
// Whether --emit can print `stage` for this kind of target.
bool target_has_stage(TargetKind kind, LowerStage stage);

// O3 and code generation for the host CPU of `t`: LLVM IR, assembly or the object (o->stage).
bool target_finish_llvm(const Target *t, LLVMModuleRef m, const CompileOptions *o, FILE *out);

// The back ends' lowering functions (x86/x86.c, nvidia/ptx.c).
bool x86_lower_module(const Target *t, MlirContext ctx, MlirModule module, Program *prog,
                      const CompileOptions *o, FILE *out, LLVMContextRef link_ctx, LLVMModuleRef *host);
bool gpu_lower_module(const Target *t, MlirContext ctx, MlirModule module, Program *prog,
                      const CompileOptions *o, FILE *out, LLVMContextRef link_ctx, LLVMModuleRef *host);

// ---------------------------------------------------------------- objects (object.c)

// A version of a kernel in an object: a configuration of its tunables and the x86 schedule.
typedef struct ObjectVersion {
    Config config;
    Schedule schedule;
    bool left_out;  // set by object_tuned: too large for the GPU target
    bool fallback;  // set by object_tuned: config replaced, every version being too large
} ObjectVersion;

// A kernel with several versions: the tuned shapes that pick them (a tuned object, `tilec
// --tuned`) or none (an untuned object whose run-time constraints read tunables). The entry
// NAME(...) asks NAME__variant(sizes) which version to run (runtime/tilec_rt.h:
// tilec_rt_pick_variant); a version whose run-time constraints reject the call hands over to the
// others in order.
typedef struct ObjectKernel {
    Node *kernel;
    ObjectVersion *versions;  // [0] is the fallback for shapes far from every tuned one
    int nversions;
    LowerDispatch *entries;
    int nentries;
} ObjectKernel;

// Lowers every kernel of the main files (o->only_kernel: that one), each at its default
// configuration, for o->target, to the stage asked for. False after reporting an error (a
// construct the lowering does not handle yet, an output that cannot be written); a verifier
// failure is a compiler bug (internal error). Objects (and their LLVM IR/assembly) also hold,
// for kernels whose run-time constraints read tunables, a version per combination of the
// values of those tunables, of which a call runs the best fit that accepts it; *notes
// (malloc'ed, or left NULL) then lists them for the header.
bool object_compile(Program *prog, const CompileOptions *o, char **notes);

// Kernel o->only_kernel specialized to o->fixed (--fix, fixed.c): every size and integer scalar
// parameter of the kernel must be given, each once; the configuration is the one an untuned
// object's call with those values would run (the best fit among lower_untuned_configs, with the
// -D values), built by lower_build_fixed, to the stage asked for. *notes says what was fixed.
// False after reporting an error (a name that is not a size or integer scalar of the kernel, one
// missing or given twice, a negative size, no configuration accepting the values).
bool object_fixed(Program *prog, const CompileOptions *o, char **notes);

// One object holding every version of every kernel of `kernels` (o->stage must be LOWER_OBJ,
// LOWER_LLVM or LOWER_ASM).
bool object_tuned(Program *prog, ObjectKernel *kernels, int nkernels, const CompileOptions *o);

// The versions an untuned object compiles for kernel `k` (lower_untuned_configs), each with
// schedule `sched`. Returns how many (0: an error, reported).
int object_untuned_versions(Program *prog, Node *k, const SemaOptions *opts, const Schedule *sched,
                            ObjectVersion *out);

#endif
