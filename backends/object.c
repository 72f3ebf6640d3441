// backends/object.c — objects for a target (target.h): the untuned object (every kernel at its
// default configuration, plus the versions its run-time constraints call for) and tuned objects
// (several versions per kernel, linked into one module behind a dispatcher, lowering/dispatch.c).
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Analysis.h"
#include "llvm-c/Core.h"
#include "llvm-c/Linker.h"

#include "../lang/diag.h"
#include "target.h"

int object_untuned_versions(Program *prog, Node *k, const SemaOptions *opts, const Schedule *sched,
                            ObjectVersion *out) {
    Config configs[LOWER_MAX_CONSTRAINT_VERSIONS];
    int n = lower_untuned_configs(prog, k, opts, configs);
    for (int i = 0; i < n; i++)
        out[i] = (ObjectVersion){.config = configs[i], .schedule = *sched};
    return n;
}

// An object or its LLVM IR/assembly with the constraint versions of every kernel that has
// several (object_untuned_versions), through the tuned objects' dispatcher. False when no kernel
// has more than one (*handled false) or after an error (reported; *handled true).
static bool constraint_versions(Program *prog, const CompileOptions *lo, char **notes, bool *handled) {
    bool gpu = lo->target->kind == TARGET_NVIDIA;
    const SemaOptions *opts = lo->sema;
    const Schedule sched = lo->target->cpu_schedule;
    ObjectKernel *tuned = calloc((size_t)prog->decls.len + 1, sizeof *tuned);
    int nt = 0;
    bool several = false, ok = true;
    size_t len = 0;
    for (int i = 0; i < prog->decls.len && ok; i++) {
        Node *k = prog->decls.items[i];
        if (!ast_main_kernel(k, lo->only_kernel))
            continue;
        ObjectKernel *t = &tuned[nt++];
        t->kernel = k;
        t->versions = calloc(LOWER_MAX_CONSTRAINT_VERSIONS, sizeof(ObjectVersion));
        t->nversions = object_untuned_versions(prog, k, opts, &sched, t->versions);
        ok = t->nversions > 0;
        several |= ok && gpu;  // GPU objects: so that a version too large falls back
        if (t->nversions < 2)
            continue;
        several = true;
        // The header lists the versions and how a call picks one (lowering/dispatch.c).
        if (len == 0)
            lower_appendf(notes, &len, "%s%s",
                          "// Versions: a call runs the one whose run-time constraints hold with the least\n"
                          "// padded work, ties to the first listed (docs/language.md 6.3)",
                          gpu ? ".\n"
                              : "; NAME__version(args)\n// returns its index (-1: none accepts the call, "
                                "which returns TILEC_ERR_CONSTRAINT).\n");
        lower_note_fit(notes, &len, k);
        for (int v = 0; v < t->nversions; v++) {
            lower_note_config(notes, &len, k, v, &t->versions[v].config);
            lower_appendf(notes, &len, "\n");
        }
    }
    *handled = !ok || several;
    if (ok && several)
        ok = object_tuned(prog, tuned, nt, lo);
    for (int i = 0; ok && i < nt; i++)
        for (int v = 0; v < tuned[i].nversions; v++)
            if (tuned[i].versions[v].left_out) {
                lower_appendf(notes, &len, "//   %s v%d is left out: more shared memory than %s has\n",
                              tuned[i].kernel->name, v, lo->target->name);
            } else if (tuned[i].versions[v].fallback) {
                const Node *k = tuned[i].kernel;
                lower_appendf(
                    notes, &len,
                    "// %s: the default configuration needs more shared memory than %s has; built with",
                    k->name, lo->target->name);
                for (int x = 0; x < k->tunes.len; x++)
                    lower_appendf(notes, &len, "%s%s = %lld", x ? ", " : " ", k->tunes.items[x]->name,
                                  (long long)tuned[i].versions[v].config.values[x]);
                lower_appendf(notes, &len, "\n");
            }
    for (int i = 0; i < nt; i++)
        free(tuned[i].versions);
    free(tuned);
    return ok;
}

bool object_compile(Program *prog, const CompileOptions *lo, char **notes) {
    if (lo->stage >= LOWER_LLVM && lo->stage <= LOWER_OBJ) {
        bool handled = false;
        bool ok = constraint_versions(prog, lo, notes, &handled);
        if (handled)
            return ok;
    }
    MlirContext ctx = lower_context();
    MlirModule module;
    if (!lower_build_module(ctx, prog, lo->sema, lo->only_kernel, lo->target->kind == TARGET_NVIDIA,
                            &module)) {
        mlirContextDestroy(ctx);
        return false;
    }
    bool ok = true;
    FILE *out = stdout;
    if (lo->stage != LOWER_OBJ && lo->output && !(out = fopen(lo->output, "w"))) {
        error_plain("cannot open output file '%s'", lo->output);
        ok = false;
    }
    ok = ok && lo->target->lower(lo->target, ctx, module, prog, lo, out, NULL, NULL);
    if (out && out != stdout)
        fclose(out);
    mlirModuleDestroy(module);
    mlirContextDestroy(ctx);
    return ok;
}

// ================================================================ objects of several versions

// The dispatcher of t's versions (lowering/dispatch.c), after each kept version's fit
// (NAME__vN__fit, lowering/emit_fit.c: host code, lowered alike for every target). False after
// an error (reported).
static bool build_dispatcher(MlirContext ctx, LLVMContextRef lctx, LLVMModuleRef whole, Program *prog,
                             const ObjectKernel *t, bool gpu) {
    bool *left_out = malloc(sizeof(bool) * (size_t)t->nversions);
    bool ok = true;
    for (int v = 0; v < t->nversions && ok; v++) {
        left_out[v] = t->versions[v].left_out;
        if (left_out[v])
            continue;
        char sym[256];
        snprintf(sym, sizeof sym, "%s__v%d", t->kernel->name, v);
        MlirModule module;
        ok = lower_build_fit(ctx, prog, t->kernel, &t->versions[v].config, sym, gpu, &module);
        if (!ok)
            break;
        lower_run_passes(ctx, module, lower_host_pipeline, "fit LLVM-dialect");
        LLVMModuleRef m = lower_translate(ctx, module, lctx);
        mlirModuleDestroy(module);
        if (LLVMLinkModules2(whole, m))
            internal_error(__FILE__, __LINE__, "linking the fit of '%s' failed", sym);
    }
    LowerVersions lv = {.kernel = t->kernel,
                        .nvariants = t->nversions,
                        .left_out = left_out,
                        .entries = t->entries,
                        .nentries = t->nentries};
    if (ok)
        lower_build_dispatcher(whole, &lv, gpu);
    free(left_out);
    return ok;
}

// Compiles version v of t and links it into `whole`; false after an error. A GPU version that
// needs more shared memory than the target has is left out (t->versions[v].left_out).
static bool link_version(MlirContext ctx, LLVMContextRef lctx, LLVMModuleRef whole, Program *prog,
                         ObjectKernel *t, int v, bool dispatch, const CompileOptions *lo) {
    bool gpu = lo->target->kind == TARGET_NVIDIA;
    char sym[256];
    // One version and no tuned shapes: nothing to dispatch, the version is the entry. With
    // tuned shapes the entry and NAME__variant exist even when every shape chose the same
    // configuration (the header declares NAME__variant for every tuned kernel).
    if (!dispatch)
        snprintf(sym, sizeof sym, "%s", t->kernel->name);
    else
        snprintf(sym, sizeof sym, "%s__v%d", t->kernel->name, v);
    MlirModule module;
    if (!lower_build_variant(ctx, prog, t->kernel, &t->versions[v].config, sym, gpu, &module))
        return false;
    LLVMModuleRef m = NULL;
    Target version = *lo->target;  // x86: the version's own schedule
    if (!gpu)
        version.cpu_schedule = t->versions[v].schedule;
    bool ok = version.lower(&version, ctx, module, prog, lo, NULL, lctx, &m);
    mlirModuleDestroy(module);
    if (!ok)
        return false;
    t->versions[v].left_out = m == NULL;
    if (!m)  // a GPU version that needs more shared memory than the target has
        return true;
    lower_internalize_helpers(m, sym);
    if (LLVMLinkModules2(whole, m))
        internal_error(__FILE__, __LINE__, "linking the versions of '%s' failed", t->kernel->name);
    return true;
}

// Every version of t is too large for the GPU target: the last one (the version that takes
// the calls the others refuse) becomes the first configuration in enumeration order, with
// tunables that are powers of two, that fits and accepts the calls it did.
// False when none of the first 64 tried does (or after an error, reported).
static bool link_fallback(MlirContext ctx, LLVMContextRef lctx, LLVMModuleRef whole, Program *prog,
                          ObjectKernel *t, bool dispatch, const CompileOptions *lo) {
    ObjectVersion *last = &t->versions[t->nversions - 1];
    int64_t index = -1;
    Config cfg;
    // As accepting as the version it replaces: every call if that one took every call.
    int need = sema_constraints_hold(prog, t->kernel, &last->config, NULL, 0);
    for (int tries = 0; tries < 64 && sema_next_pow2_config(prog, t->kernel, lo->sema, &index, &cfg);
         tries++) {
        bool seen = false;
        for (int v = 0; v < t->nversions && !seen; v++)
            seen = !memcmp(t->versions[v].config.values, cfg.values, sizeof(int64_t) * (size_t)cfg.n);
        int holds = seen ? 0 : sema_constraints_hold(prog, t->kernel, &cfg, NULL, 0);
        if (holds == 0 || (need == 1 && holds != 1))
            continue;
        last->config = cfg;
        if (!link_version(ctx, lctx, whole, prog, t, t->nversions - 1, dispatch, lo))
            return false;
        if (!last->left_out) {
            last->fallback = true;
            return true;
        }
    }
    return false;
}

bool object_tuned(Program *prog, ObjectKernel *tuned, int ntuned, const CompileOptions *lo) {
    bool gpu = lo->target->kind == TARGET_NVIDIA;  // versions of GPU kernels: SYM_launch, with their images
    MlirContext ctx = lower_context();
    LLVMContextRef lctx = LLVMContextCreate();
    LLVMModuleRef whole = LLVMModuleCreateWithNameInContext("tuned", lctx);
    bool ok = true;
    for (int k = 0; k < ntuned && ok; k++) {
        ObjectKernel *t = &tuned[k];
        bool dispatch = t->nversions > 1 || t->nentries > 0;
        for (int v = 0; v < t->nversions && ok; v++)
            ok = link_version(ctx, lctx, whole, prog, t, v, dispatch, lo);
        int kept = 0;
        for (int v = 0; v < t->nversions; v++)
            kept += !t->versions[v].left_out;
        if (ok && gpu && kept == 0 && link_fallback(ctx, lctx, whole, prog, t, dispatch, lo))
            kept = 1;
        if (ok && kept == 0) {
            error_plain("kernel '%s' needs more shared memory per block than %s has in every configuration "
                        "compiled: use smaller tiles",
                        t->kernel->name, lo->target->name);
            ok = false;
        }
        // The versions were built from instances (sema_instance); the shared tree is left
        // annotated for the first version, which the header names. The ABI (KernelInfo) does not
        // depend on the configuration: the dispatcher may read it there.
        if (ok)
            ok = sema_check_kernel(prog, t->kernel, &t->versions[0].config);
        if (ok && dispatch)
            ok = build_dispatcher(ctx, lctx, whole, prog, t, gpu);
    }
    char *msg = NULL;
    if (ok && LLVMVerifyModule(whole, LLVMReturnStatusAction, &msg))
        internal_error(__FILE__, __LINE__, "the tuned object's dispatcher does not verify: %s", msg);
    LLVMDisposeMessage(msg);
    FILE *out = stdout;
    if (ok && lo->stage != LOWER_OBJ && lo->output && !(out = fopen(lo->output, "w"))) {
        error_plain("cannot open output file '%s'", lo->output);
        ok = false;
    }
    if (ok)
        ok = target_finish_llvm(lo->target, whole, lo, out);
    if (out && out != stdout)
        fclose(out);
    LLVMDisposeModule(whole);
    LLVMContextDispose(lctx);
    mlirContextDestroy(ctx);
    return ok;
}
