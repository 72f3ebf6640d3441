// lowering/dispatch.c — what turns several compiled versions of a kernel into one entry (tuned
// objects, and untuned ones with run-time constraints): NAME__variant(sizes), which picks a
// version from the table of tuned shapes, and NAME(...) (NAME_launch on GPUs), which calls it and
// hands a call its constraints reject to the next version. Built as LLVM IR in the module the
// versions are linked into.
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"

#include "../lang/diag.h"
#include "../runtime/tilec_abi.h"
#include "lower.h"

// NAME__variant(sizes...): the index of the version to run, from the kernel's table of tuned
// shapes (a private constant) through tilec_rt_pick_variant.
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

// NAME(args...): runs the version NAME__variant picks; when that one's run-time constraints
// reject the call (TILEC_ERR_CONSTRAINT), every version in order, until one accepts. On GPUs
// the same over the launchers: NAME_launch(stream, args...) over NAME__vN_launch.
void lower_build_dispatcher(LLVMModuleRef m, const LowerVersions *t, bool gpu) {
    LLVMBuilderRef b = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    LLVMContextRef c = LLVMGetModuleContext(m);
    const KernelInfo *ki = t->kernel->kinfo;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c);
    LLVMValueRef picker = build_picker(m, t, b);
    if (gpu)  // not in a GPU object's header: internal, so that it does not clash with the x86 one
        LLVMSetLinkage(picker, LLVMInternalLinkage);
    char name[256];
    LLVMValueRef *versions = malloc(sizeof(LLVMValueRef) * (size_t)t->nvariants);
    int any = -1;
    for (int v = 0; v < t->nvariants; v++) {
        snprintf(name, sizeof name, "%s__v%d%s", t->kernel->name, v, gpu ? "_launch" : "");
        versions[v] = LLVMGetNamedFunction(m, name);
        if (!versions[v] && !t->left_out[v])
            internal_error(__FILE__, __LINE__, "tuned object: %s is missing", name);
        if (versions[v] && any < 0)
            any = v;
    }
    LLVMTypeRef fn_ty = LLVMGlobalGetValueType(versions[any]);
    snprintf(name, sizeof name, "%s%s", t->kernel->name, gpu ? "_launch" : "");
    LLVMValueRef fn = LLVMAddFunction(m, name, fn_ty);
    unsigned nargs = LLVMCountParams(fn);
    LLVMValueRef *args = malloc(sizeof(LLVMValueRef) * (nargs + 1));
    for (unsigned a = 0; a < nargs; a++)
        args[a] = LLVMGetParam(fn, a);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef *fallback = malloc(sizeof(LLVMBasicBlockRef) * (size_t)(t->nvariants + 1));
    for (int v = 0; v <= t->nvariants; v++)
        fallback[v] = LLVMAppendBasicBlockInContext(c, fn, "fallback");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, fn, "done");
    LLVMPositionBuilderAtEnd(b, done);
    LLVMValueRef result = LLVMBuildPhi(b, i32, "status");
    LLVMBuildRet(b, result);

    LLVMValueRef three = LLVMConstInt(i32, TILEC_ERR_CONSTRAINT, 0);
    // Calls version v, then returns its status unless it is TILEC_ERR_CONSTRAINT (-> next).
    LLVMBasicBlockRef preferred = NULL;
    LLVMPositionBuilderAtEnd(b, entry);
    int first = (gpu ? 1 : 0) + ki->ntensors + ki->nscalars;  // the sizes (after the stream)
    LLVMValueRef v = LLVMBuildCall2(b, LLVMGlobalGetValueType(picker), picker, args + first,
                                    (unsigned)ki->nsizes, "variant");
    LLVMValueRef sw = LLVMBuildSwitch(b, v, fallback[0], (unsigned)t->nvariants);
    for (int k = 0; k < 2 * t->nvariants; k++) {
        int ver = k % t->nvariants;
        LLVMBasicBlockRef bb =
            k < t->nvariants ? LLVMAppendBasicBlockInContext(c, fn, "preferred") : fallback[ver];
        if (k < t->nvariants)
            LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)ver, 0), bb);
        preferred = bb;
        LLVMPositionBuilderAtEnd(b, bb);
        if (!versions[ver]) {  // left out: as if its constraints rejected the call
            LLVMBuildBr(b, k < t->nvariants ? fallback[0] : fallback[ver + 1]);
            continue;
        }
        LLVMValueRef r = LLVMBuildCall2(b, fn_ty, versions[ver], args, nargs, "r");
        LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntNE, r, three, "");
        LLVMBuildCondBr(b, ok, done, k < t->nvariants ? fallback[0] : fallback[ver + 1]);
        LLVMAddIncoming(result, &r, &preferred, 1);
    }
    LLVMPositionBuilderAtEnd(b, fallback[t->nvariants]);
    LLVMBuildBr(b, done);
    LLVMAddIncoming(result, &three, &fallback[t->nvariants], 1);
    free(fallback);
    free(args);
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
