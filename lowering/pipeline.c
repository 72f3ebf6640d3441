// lowering/pipeline.c — from the tile-level module to LLVM IR, assembly or an object: the stages
// of docs/lowering-plan.md run through the MLIR C API, verified after each, then LLVM's O3
// pipeline and its code generator for the host CPU (or --cpu).
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"
#include "llvm-c/Error.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Transforms/PassBuilder.h"
#include "mlir-c/Dialect/Transform/Interpreter.h"
#include "mlir-c/Pass.h"
#include "mlir-c/RegisterEverything.h"
#include "mlir-c/Target/LLVMIR.h"

#include "../lang/diag.h"
#include "lower.h"

// Bufferization as a transform script (data, parsed from text): the pass form cannot choose
// linalg.copy, and its memref.copy of strided memrefs calls into MLIR's runtime library.
static const char *const bufferize_script =
    "module attributes {transform.with_named_sequence} {\n"
    "  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.consumed}) {\n"
    "    %m = transform.bufferization.one_shot_bufferize %root {bufferize_function_boundaries = false, "
    "allow_return_allocs_from_loops = true,\n"
    "         memcpy_op = \"linalg.copy\"} : (!transform.any_op) -> !transform.any_op\n"
    "    transform.yield\n"
    "  }\n"
    "}\n";

// Stages after bufferization, down to the LLVM dialect. Tile buffers are allocated once per
// program, outside its loops (buffer-loop-hoisting: an allocation inside a loop would take new
// stack on every iteration), on the stack up to 64 KiB each, else on the heap and freed
// (buffer-deallocation-pipeline).
static const char *const to_llvm_pipeline =
    "builtin.module(canonicalize, cse, func.func(buffer-loop-hoisting, "
    "promote-buffers-to-stack{max-alloc-size-in-bytes=65536}), buffer-deallocation-pipeline, "
    "convert-bufferization-to-memref, "
    "convert-linalg-to-loops, convert-vector-to-scf{full-unroll=true}, expand-strided-metadata, "
    "lower-affine, "
    "convert-scf-to-cf, convert-vector-to-llvm, convert-ub-to-llvm, convert-math-to-llvm, "
    "convert-math-to-libm, finalize-memref-to-llvm, convert-arith-to-llvm, convert-cf-to-llvm, "
    "convert-func-to-llvm, reconcile-unrealized-casts)";

typedef struct PassError {
    char text[2048];
    size_t len;
} PassError;

static void collect(MlirStringRef s, void *user) {
    PassError *e = user;
    size_t n = s.length < sizeof e->text - 1 - e->len ? s.length : sizeof e->text - 1 - e->len;
    memcpy(e->text + e->len, s.data, n);
    e->len += n;
    e->text[e->len] = '\0';
}

static void run_passes(MlirContext ctx, MlirModule module, const char *pipeline, const char *stage) {
    MlirPassManager pm = mlirPassManagerCreate(ctx);
    mlirPassManagerEnableVerifier(pm, true);
    PassError err = {0};
    MlirLogicalResult parsed = mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(pm),
                                                     mlirStringRefCreateFromCString(pipeline), collect, &err);
    if (mlirLogicalResultIsFailure(parsed))
        internal_error(__FILE__, __LINE__, "bad %s pipeline: %s", stage, err.text);
    if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module))))
        internal_error(__FILE__, __LINE__, "the %s stage failed (see the MLIR diagnostics above)", stage);
    mlirPassManagerDestroy(pm);
}

void lower_apply_transform(MlirContext ctx, MlirModule module, const char *script_text, size_t len,
                           const char *what) {
    MlirModule script = mlirModuleCreateParse(ctx, (MlirStringRef){script_text, len});
    if (mlirModuleIsNull(script))
        internal_error(__FILE__, __LINE__, "cannot parse the %s script:\n%s", what, script_text);
    MlirOperation root = mlirModuleGetOperation(script);
    MlirSymbolTable symbols = mlirSymbolTableCreate(root);
    MlirOperation entry = mlirSymbolTableLookup(symbols, mlirStringRefCreateFromCString("__transform_main"));
    mlirSymbolTableDestroy(symbols);
    MlirTransformOptions opts = mlirTransformOptionsCreate();
    if (mlirLogicalResultIsFailure(
            mlirTransformApplyNamedSequence(mlirModuleGetOperation(module), entry, root, opts)))
        internal_error(__FILE__, __LINE__, "the %s failed (see the MLIR diagnostics above); script:\n%s",
                       what, script_text);
    mlirTransformOptionsDestroy(opts);
    mlirModuleDestroy(script);
    if (!mlirOperationVerify(mlirModuleGetOperation(module)))
        internal_error(__FILE__, __LINE__, "the module does not verify after the %s", what);
}

static LLVMTargetMachineRef target_machine(const char *cpu_name) {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err))
        internal_error(__FILE__, __LINE__, "no LLVM target for %s: %s", triple, err);
    char *cpu = cpu_name ? strdup(cpu_name) : LLVMGetHostCPUName();
    char *features = cpu_name ? strdup("") : LLVMGetHostCPUFeatures();
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
        target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    free(cpu);
    free(features);
    return tm;
}

bool lower_program(Program *prog, const SemaOptions *opts, const LowerOptions *lo) {
    MlirContext ctx = lower_context();
    MlirModule module;
    if (!lower_build_module(ctx, prog, opts, &module)) {
        mlirContextDestroy(ctx);
        return false;
    }
    bool ok = true;
    FILE *out = stdout;
    if (lo->stage != LOWER_OBJ && lo->output && !(out = fopen(lo->output, "w"))) {
        error_plain("cannot open output file '%s'", lo->output);
        ok = false;
    }
    // Each stage runs only as far as asked; the module is printed where it stops.
    Schedule sched;
    if (lo->schedule)
        sched = *lo->schedule;
    else
        schedule_default(lo->cpu, &sched);
    if (ok && lo->stage > LOWER_MLIR) {
        run_passes(
            ctx, module,
            "builtin.module(convert-elementwise-to-linalg, linalg-fuse-elementwise-ops, canonicalize, cse)",
            "tile-level");
        schedule_apply(ctx, module, &sched);
    }
    if (ok && lo->stage > LOWER_SCHEDULED)
        lower_apply_transform(ctx, module, bufferize_script, strlen(bufferize_script), "bufferization");
    if (ok && lo->stage > LOWER_BUFFERIZED)
        run_passes(ctx, module, to_llvm_pipeline, "LLVM-dialect");
    if (ok && lo->stage <= LOWER_LLVM_DIALECT) {
        lower_print_module(module, lo->debuginfo, out);
    } else if (ok) {
        mlirRegisterAllLLVMTranslations(ctx);
        LLVMContextRef lctx = LLVMContextCreate();
        LLVMModuleRef m = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module), lctx);
        if (!m)
            internal_error(__FILE__, __LINE__, "translation to LLVM IR failed");
        LLVMTargetMachineRef tm = target_machine(lo->cpu);
        char *triple = LLVMGetTargetMachineTriple(tm);
        LLVMSetTarget(m, triple);
        LLVMDisposeMessage(triple);
        LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
        LLVMSetModuleDataLayout(m, layout);
        LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
        LLVMErrorRef perr = LLVMRunPasses(m, "default<O3>", tm, pbo);
        if (perr) {
            char *msg = LLVMGetErrorMessage(perr);
            internal_error(__FILE__, __LINE__, "LLVM's O3 pipeline failed: %s", msg);
        }
        LLVMDisposePassBuilderOptions(pbo);
        char *err = NULL;
        if (lo->stage == LOWER_LLVM) {
            char *text = LLVMPrintModuleToString(m);
            fputs(text, out);
            LLVMDisposeMessage(text);
        } else if (lo->stage == LOWER_ASM) {
            LLVMMemoryBufferRef buf;
            if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &buf))
                internal_error(__FILE__, __LINE__, "code generation failed: %s", err);
            fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
            LLVMDisposeMemoryBuffer(buf);
        } else if (LLVMTargetMachineEmitToFile(tm, m, (char *)lo->output, LLVMObjectFile, &err)) {
            error_plain("cannot write '%s': %s", lo->output, err);
            LLVMDisposeMessage(err);
            ok = false;
        }
        LLVMDisposeTargetData(layout);
        LLVMDisposeTargetMachine(tm);
        LLVMDisposeModule(m);
        LLVMContextDispose(lctx);
    }
    if (out && out != stdout)
        fclose(out);
    mlirModuleDestroy(module);
    mlirContextDestroy(ctx);
    return ok;
}
