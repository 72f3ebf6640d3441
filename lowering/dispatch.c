// lowering/dispatch.c — what turns several compiled versions of a kernel into one entry (tuned
// objects, and untuned ones with run-time constraints): NAME__variant(sizes), which picks a
// version from the table of tuned shapes (tuned objects), NAME__version(args), which picks the
// version a call runs (the tuned one if it accepts the call, else the best fit over the versions'
// NAME__vN__fit, emit_fit.c), and NAME(...) (NAME_launch on GPUs), which runs it. Built as LLVM
// IR in the module the versions are linked into.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"

#include "../lang/diag.h"
#include "../runtime/tilec_abi.h"
#include "lower.h"

// NAME__variant(sizes...): the index of the version tuned for the nearest shape of the kernel's
// table of tuned shapes (a private constant) through tilec_rt_pick_variant; -1 when none is near.
static LLVMValueRef build_picker(LLVMModuleRef m, const LowerVersions *t, LLVMBuilderRef b) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    const KernelInfo *ki = t->kernel->kinfo;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(c), i32 = LLVMInt32TypeInContext(c);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0);
    int nsizes = ki->nsizes, row = TILEC_DISPATCH_ROW(nsizes);
    LLVMValueRef *cells = malloc(sizeof(LLVMValueRef) * (size_t)(t->nentries * row + 1));
    for (int e = 0; e < t->nentries; e++) {
        for (int s = 0; s < nsizes; s++)
            cells[e * row + s] = LLVMConstInt(i64, (unsigned long long)t->entries[e].sizes[s], 1);
        cells[e * row + TILEC_DISPATCH_VERSION(nsizes)] =
            LLVMConstInt(i64, (unsigned long long)t->entries[e].variant, 1);
    }
    char name[256];
    snprintf(name, sizeof name, "%s__dispatch", t->kernel->name);
    LLVMTypeRef table_ty = LLVMArrayType2(i64, (uint64_t)(t->nentries * row));
    LLVMValueRef table = LLVMAddGlobal(m, table_ty, name);
    LLVMSetInitializer(table, LLVMConstArray2(i64, cells, (uint64_t)(t->nentries * row)));
    LLVMSetGlobalConstant(table, 1);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    free(cells);

    LLVMTypeRef pick_args[] = {ptr, i32, i32, ptr};
    LLVMTypeRef pick_ty = LLVMFunctionType(i32, pick_args, 4, 0);
    LLVMValueRef pick = LLVMGetNamedFunction(m, "tilec_rt_pick_variant");
    if (!pick)
        pick = LLVMAddFunction(m, "tilec_rt_pick_variant", pick_ty);

    LLVMTypeRef *size_tys = malloc(sizeof(LLVMTypeRef) * (size_t)(nsizes + 1));
    for (int s = 0; s < nsizes; s++)
        size_tys[s] = i64;
    snprintf(name, sizeof name, "%s__variant", t->kernel->name);
    LLVMTypeRef fn_ty = LLVMFunctionType(i32, size_tys, (unsigned)nsizes, 0);
    LLVMValueRef fn = LLVMAddFunction(m, name, fn_ty);
    free(size_tys);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
    LLVMValueRef arr =
        LLVMBuildArrayAlloca(b, i64, LLVMConstInt(i32, (unsigned)(nsizes ? nsizes : 1), 0), "sizes");
    for (int s = 0; s < nsizes; s++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned)s, 0);
        LLVMBuildStore(b, LLVMGetParam(fn, (unsigned)s), LLVMBuildGEP2(b, i64, arr, &idx, 1, ""));
    }
    LLVMValueRef args[] = {table, LLVMConstInt(i32, (unsigned)t->nentries, 0),
                           LLVMConstInt(i32, (unsigned)nsizes, 0), arr};
    LLVMBuildRet(b, LLVMBuildCall2(b, pick_ty, pick, args, 4, "v"));
    return fn;
}

// int NAME__version(the entry's arguments): the index of the version a call runs, -1 when no
// version's run-time constraints accept it. The tuned shape NAME__variant picks when there is
// one and its version accepts the call; else the best fit: among the versions whose
// NAME__vN__fit is not negative (their constraints hold), the one with the least padded work,
// ties to the first (lower_fit_relations). Straight-line code over the fits, which O3 inlines:
// a few compares per version, no version runs to learn that it rejects a call. Without
// relations, the first version whose fit is not negative, in order.
static LLVMValueRef build_chooser(LLVMModuleRef m, const LowerVersions *t, bool gpu, LLVMValueRef picker,
                                  LLVMValueRef *fits, LLVMTypeRef fn_ty, LLVMBuilderRef b) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    const KernelInfo *ki = t->kernel->kinfo;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c), f64 = LLVMDoubleTypeInContext(c);
    unsigned nargs = LLVMCountParamTypes(fn_ty);
    LLVMTypeRef *params = malloc(sizeof(LLVMTypeRef) * (nargs + 1));
    LLVMGetParamTypes(fn_ty, params);
    LLVMTypeRef fit_ty = LLVMFunctionType(f64, params, nargs, 0);
    LLVMTypeRef ver_ty = LLVMFunctionType(i32, params, nargs, 0);
    free(params);
    char name[256];
    snprintf(name, sizeof name, "%s__version", t->kernel->name);
    LLVMValueRef fn = LLVMAddFunction(m, name, ver_ty);
    if (gpu)  // not in a GPU object's header: internal, so that it does not clash with the x86 one
        LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMValueRef *args = malloc(sizeof(LLVMValueRef) * (nargs + 1));
    for (unsigned a = 0; a < nargs; a++)
        args[a] = LLVMGetParam(fn, a);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef best = LLVMAppendBasicBlockInContext(c, fn, "best_fit");
    LLVMValueRef zero = LLVMConstReal(f64, 0.0);
    LLVMPositionBuilderAtEnd(b, entry);
    if (picker) {  // a tuned shape near the call's sizes, if its version accepts the call
        int first = (gpu ? 1 : 0) + ki->ntensors + ki->nscalars;  // the sizes (after the stream)
        LLVMValueRef v = LLVMBuildCall2(b, LLVMGlobalGetValueType(picker), picker, args + first,
                                        (unsigned)ki->nsizes, "tuned");
        LLVMValueRef sw = LLVMBuildSwitch(b, v, best, (unsigned)t->nvariants);
        for (int k = 0; k < t->nvariants; k++) {
            if (!fits[k])
                continue;
            LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c, fn, "tuned_fit");
            LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)k, 0), bb);
            LLVMPositionBuilderAtEnd(b, bb);
            LLVMValueRef f = LLVMBuildCall2(b, fit_ty, fits[k], args, nargs, "fit");
            LLVMBasicBlockRef ret = LLVMAppendBasicBlockInContext(c, fn, "tuned_ok");
            LLVMBuildCondBr(b, LLVMBuildFCmp(b, LLVMRealOGE, f, zero, ""), ret, best);
            LLVMPositionBuilderAtEnd(b, ret);
            LLVMBuildRet(b, LLVMConstInt(i32, (unsigned)k, 0));
        }
    } else {
        LLVMBuildBr(b, best);
    }
    LLVMPositionBuilderAtEnd(b, best);
    if (!lower_kernel_has_fit(t->kernel)) {
        // No relations nor preferences: every accepting version does the same padded work, so the first that
        // accepts the call is the best fit; the fits after it are not evaluated.
        for (int k = 0; k < t->nvariants; k++) {
            if (!fits[k])
                continue;
            LLVMValueRef f = LLVMBuildCall2(b, fit_ty, fits[k], args, nargs, "fit");
            LLVMBasicBlockRef ret = LLVMAppendBasicBlockInContext(c, fn, "accepts");
            LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c, fn, "next");
            LLVMBuildCondBr(b, LLVMBuildFCmp(b, LLVMRealOGE, f, zero, ""), ret, next);
            LLVMPositionBuilderAtEnd(b, ret);
            LLVMBuildRet(b, LLVMConstInt(i32, (unsigned)k, 0));
            LLVMPositionBuilderAtEnd(b, next);
        }
        LLVMBuildRet(b, LLVMConstInt(i32, (unsigned long long)-1, 1));
        free(args);
        return fn;
    }
    LLVMValueRef chosen = LLVMConstInt(i32, (unsigned long long)-1, 1), least = LLVMConstReal(f64, INFINITY);
    for (int k = 0; k < t->nvariants; k++) {
        if (!fits[k])  // left out: as if its constraints rejected every call
            continue;
        LLVMValueRef f = LLVMBuildCall2(b, fit_ty, fits[k], args, nargs, "fit");
        LLVMValueRef better = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealOGE, f, zero, ""),
                                           LLVMBuildFCmp(b, LLVMRealOLT, f, least, ""), "better");
        chosen = LLVMBuildSelect(b, better, LLVMConstInt(i32, (unsigned)k, 0), chosen, "chosen");
        least = LLVMBuildSelect(b, better, f, least, "least");
    }
    LLVMBuildRet(b, chosen);
    free(args);
    return fn;
}

// NAME(args...): runs the version NAME__version chooses; when none accepts the call, the first
// version, which returns TILEC_ERR_CONSTRAINT (or the status of an earlier check: a negative
// size, a null pointer). On GPUs the same over the launchers: NAME_launch(stream, args...) over
// NAME__vN_launch.
void lower_build_dispatcher(LLVMModuleRef m, const LowerVersions *t, bool gpu) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c);
    LLVMValueRef picker = NULL;
    if (t->nentries > 0) {  // a tuned object: NAME__variant over its table
        picker = build_picker(m, t, b);
        if (gpu)  // not in a GPU object's header: internal, so that it does not clash with the x86 one
            LLVMSetLinkage(picker, LLVMInternalLinkage);
    }
    char name[256];
    LLVMValueRef *versions = malloc(sizeof(LLVMValueRef) * (size_t)t->nvariants);
    LLVMValueRef *fits = malloc(sizeof(LLVMValueRef) * (size_t)t->nvariants);
    int any = -1;
    for (int v = 0; v < t->nvariants; v++) {
        snprintf(name, sizeof name, "%s__v%d%s", t->kernel->name, v, gpu ? "_launch" : "");
        versions[v] = LLVMGetNamedFunction(m, name);
        if (!versions[v] && !t->left_out[v])
            internal_error(__FILE__, __LINE__, "tuned object: %s is missing", name);
        snprintf(name, sizeof name, "%s__v%d__fit", t->kernel->name, v);
        fits[v] = versions[v] ? LLVMGetNamedFunction(m, name) : NULL;
        if (versions[v] && !fits[v])
            internal_error(__FILE__, __LINE__, "tuned object: %s is missing", name);
        if (fits[v])
            LLVMSetLinkage(fits[v], LLVMInternalLinkage);
        if (versions[v] && any < 0)
            any = v;
    }
    LLVMTypeRef fn_ty = LLVMGlobalGetValueType(versions[any]);
    for (int v = 0; v < t->nvariants; v++)
        if (fits[v] && LLVMCountParams(fits[v]) != LLVMCountParamTypes(fn_ty))
            internal_error(__FILE__, __LINE__, "%s__v%d__fit does not take the entry's arguments",
                           t->kernel->name, v);
    LLVMValueRef chooser = build_chooser(m, t, gpu, picker, fits, fn_ty, b);
    snprintf(name, sizeof name, "%s%s", t->kernel->name, gpu ? "_launch" : "");
    LLVMValueRef fn = LLVMAddFunction(m, name, fn_ty);
    unsigned nargs = LLVMCountParams(fn);
    LLVMValueRef *args = malloc(sizeof(LLVMValueRef) * (nargs + 1));
    for (unsigned a = 0; a < nargs; a++)
        args[a] = LLVMGetParam(fn, a);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef none = LLVMAppendBasicBlockInContext(c, fn, "none");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef v = LLVMBuildCall2(b, LLVMGlobalGetValueType(chooser), chooser, args, nargs, "version");
    LLVMValueRef sw = LLVMBuildSwitch(b, v, none, (unsigned)t->nvariants);
    for (int k = 0; k < t->nvariants; k++) {
        if (!versions[k])
            continue;
        LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c, fn, "run");
        LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)k, 0), bb);
        LLVMPositionBuilderAtEnd(b, bb);
        LLVMBuildRet(b, LLVMBuildCall2(b, fn_ty, versions[k], args, nargs, "status"));
    }
    LLVMPositionBuilderAtEnd(b, none);
    LLVMBuildRet(b, LLVMBuildCall2(b, fn_ty, versions[any], args, nargs, "status"));
    free(args);
    free(fits);
    free(versions);
    LLVMDisposeBuilder(b);
}

// Gives the definitions of version `sym`'s module that are not its own symbols (SYM,
// SYM__program, SYM__task; SYM_launch on GPUs) internal linkage: helpers that every version's module defines
// alike (the buffer deallocation's `dealloc_helper` when a version keeps buffers on the heap)
// would otherwise clash when the versions are linked into one module.
void lower_internalize_helpers(LLVMModuleRef m, const char *sym) {
    size_t n = strlen(sym);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        size_t len;
        const char *name = LLVMGetValueName2(f, &len);
        if (!LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMExternalLinkage &&
            !(len >= n && !strncmp(name, sym, n) && (len == n || name[n] == '_')))
            LLVMSetLinkage(f, LLVMInternalLinkage);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
        if (!LLVMIsDeclaration(g) && LLVMGetLinkage(g) == LLVMExternalLinkage)
            LLVMSetLinkage(g, LLVMInternalLinkage);
}
