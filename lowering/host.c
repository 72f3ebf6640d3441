// lowering/host.c — the last step of every object: LLVM's O3 pipeline and code generator for the
// host CPU (or --cpu), printing the LLVM IR, the assembly or writing the object. x86 kernels and
// the host side of GPU objects (their entries and launchers) both end here.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"
#include "llvm-c/Error.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Transforms/PassBuilder.h"

#include "../lang/diag.h"
#include "lower.h"

// LLVM's target registry is filled once per process (its registration is not thread-safe;
// objects may be compiled from several threads at once).
static void init_x86(void) {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
}

static LLVMTargetMachineRef host_target_machine(const char *cpu_name) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_x86);
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

bool lower_finish_llvm(LLVMModuleRef m, const LowerHost *host, FILE *out) {
    LLVMTargetMachineRef tm = host_target_machine(host->cpu);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, layout);
    // LLVM's loop vectorizer (packing copies, elementwise and reduction tiles) uses the
    // schedule's vector width, not its own preference (256 bits on AVX-512 CPUs).
    char width[16];
    int wlen = snprintf(width, sizeof width, "%d", host->vector_bits);
    LLVMContextRef lctx = LLVMGetModuleContext(m);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f))
            LLVMAddAttributeAtIndex(
                f, LLVMAttributeFunctionIndex,
                LLVMCreateStringAttribute(lctx, "prefer-vector-width", 19, width, (unsigned)wlen));
    LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(m, "default<O3>", tm, pbo);
    if (perr) {
        char *msg = LLVMGetErrorMessage(perr);
        internal_error(__FILE__, __LINE__, "LLVM's O3 pipeline failed: %s", msg);
    }
    LLVMDisposePassBuilderOptions(pbo);
    bool ok = true;
    char *err = NULL;
    if (host->stage == LOWER_LLVM) {
        char *text = LLVMPrintModuleToString(m);
        fputs(text, out);
        LLVMDisposeMessage(text);
    } else if (host->stage == LOWER_ASM) {
        LLVMMemoryBufferRef buf;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &buf))
            internal_error(__FILE__, __LINE__, "code generation failed: %s", err);
        fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
        LLVMDisposeMemoryBuffer(buf);
    } else if (LLVMTargetMachineEmitToFile(tm, m, (char *)host->output, LLVMObjectFile, &err)) {
        error_plain("cannot write '%s': %s", host->output, err);
        LLVMDisposeMessage(err);
        ok = false;
    }
    LLVMDisposeTargetData(layout);
    LLVMDisposeTargetMachine(tm);
    return ok;
}
