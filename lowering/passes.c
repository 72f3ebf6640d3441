// lowering/passes.c — running MLIR passes and transform scripts on a module through the C API,
// verified after each, and translating the result to LLVM IR; what every target's stages are
// made of. Also --print-after / --print-after-all: the module after a named pass or step.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llvm-c/Core.h"
#include "mlir-c/Dialect/Transform/Interpreter.h"
#include "mlir-c/Pass.h"
#include "mlir-c/RegisterEverything.h"
#include "mlir-c/Target/LLVMIR.h"

#include "../lang/diag.h"
#include "build.h"
#include "lower.h"

// Stages after bufferization, down to the LLVM dialect. Tile buffers are allocated once per
// program, outside its loops (buffer-loop-hoisting: an allocation inside a loop would take new
// stack on every iteration), on the stack up to 64 KiB each, else on the heap and freed
// (buffer-deallocation-pipeline), through MLIR's generic allocation functions, which the runtime
// defines (runtime/scratch.c: freed blocks kept per thread for the next program).
const char *const lower_host_pipeline =
    "builtin.module(canonicalize, cse, func.func(buffer-loop-hoisting, "
    "promote-buffers-to-stack{max-alloc-size-in-bytes=65536}), buffer-deallocation-pipeline, "
    "convert-bufferization-to-memref, "
    "convert-linalg-to-loops, convert-vector-to-scf{full-unroll=true}, expand-strided-metadata, "
    "lower-affine, arith-expand{include-bf16=true}, "
    "convert-scf-to-cf, convert-vector-to-llvm{enable-x86vector=true}, convert-ub-to-llvm, convert-math-to-llvm, "
    "convert-math-to-libm, finalize-memref-to-llvm{use-generic-functions=true}, convert-arith-to-llvm, convert-cf-to-llvm, "
    "convert-func-to-llvm, reconcile-unrealized-casts)";

// ---------------------------------------------------------------- --print-after

// Set once by the driver before anything is compiled; read-only afterwards.
static const char *print_after;  // a pass's or step's name, "all", or NULL

void lower_set_print_after(const char *name) { print_after = name; }

// "// -----// IR Dump After NAME (tilec) //----- //", as MLIR heads its own dumps.
void lower_print_after_step(MlirModule module, const char *step) {
    if (!print_after || (strcmp(print_after, "all") && strcmp(print_after, step)))
        return;
    fprintf(stderr, "// -----// IR Dump After %s (tilec) //----- //\n", step);
    fflush(stderr);
    lower_print_module(module, false, stderr);
    fputc('\n', stderr);
}

// MLIR writes its dumps to the standard error stream itself, each headed "// -----// IR Dump
// After Canonicalizer (canonicalize) //----- //". With one pass asked for, the run writes to a
// temporary file and only the dumps of that pass (matched by its argument, the name in
// parentheses), and every line that is not part of a dump, are copied to stderr.
static void copy_dumps_of(FILE *tmp, const char *pass) {
    char key[256];
    snprintf(key, sizeof key, "(%s)", pass);
    rewind(tmp);
    char *line = NULL;
    size_t cap = 0;
    bool keep = true;
    while (getline(&line, &cap, tmp) > 0) {
        if (!strncmp(line, "// -----// IR Dump", 18))
            keep = strstr(line, key) != NULL;
        if (keep)
            fputs(line, stderr);
    }
    free(line);
}

void lower_run_passes(MlirContext ctx, MlirModule module, const char *pipeline, const char *stage) {
    MlirPassManager pm = mlirPassManagerCreate(ctx);
    mlirPassManagerEnableVerifier(pm, true);
    char text[2048] = "";
    IRText err = {text, sizeof text, 0};
    MlirLogicalResult parsed =
        mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(pm), mlirStringRefCreateFromCString(pipeline),
                              ir_print_to_text, &err);
    if (mlirLogicalResultIsFailure(parsed))
        internal_error(__FILE__, __LINE__, "bad %s pipeline: %s", stage, err.text);
    FILE *tmp = NULL;
    int saved = -1;
    if (print_after) {
        MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
        mlirPassManagerEnableIRPrinting(pm, false, true, false, false, false, flags,
                                        mlirStringRefCreate(NULL, 0));
        mlirOpPrintingFlagsDestroy(flags);
        fflush(stderr);
        if (strcmp(print_after, "all") && (tmp = tmpfile()) && (saved = dup(STDERR_FILENO)) >= 0)
            dup2(fileno(tmp), STDERR_FILENO);
    }
    MlirLogicalResult ran = mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module));
    if (saved >= 0) {
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        copy_dumps_of(tmp, print_after);
    }
    if (tmp)
        fclose(tmp);
    if (mlirLogicalResultIsFailure(ran))
        internal_error(__FILE__, __LINE__, "the %s stage failed (see the MLIR diagnostics above)", stage);
    mlirPassManagerDestroy(pm);
}

// ---------------------------------------------------------------- transform scripts

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

// ---------------------------------------------------------------- translation

LLVMModuleRef lower_translate(MlirContext ctx, MlirModule module, LLVMContextRef lctx) {
    mlirRegisterAllLLVMTranslations(ctx);
    LLVMModuleRef m = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module), lctx);
    if (!m)
        internal_error(__FILE__, __LINE__, "translation to LLVM IR failed");
    lower_bf16_memory(m);
    return m;
}
