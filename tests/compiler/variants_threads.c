// tests/compiler/variants_threads.c — variants of kernels lowered from several threads at once.
//
// usage: variants-threads TARGET FILE.tile KERNEL [NVARIANTS]
// Checks FILE, takes up to NVARIANTS (default 4) configurations of KERNEL spread over its
// search space, and lowers each one to LLVM IR after O3 for TARGET (x86-64, sm_80, ...): first
// one after another, then all at once, one thread per variant, each in its own MLIR and LLVM
// contexts. Every variant must give the same text both times. Built with ThreadSanitizer
// (test-variants-tsan) the second half is also a race check of the checker's instances
// (sema_instance), the lowering and the back ends.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/target.h"
#include "../../lang/diag.h"
#include "../../parser/parse.h"

#define MAX_VARIANTS 16

typedef struct Job {
    Program *prog;
    Node *kernel;
    Config cfg;
    const Target *target;
    char sym[128];
    char *text;  // the LLVM IR, malloc'ed
    size_t len;
    bool ok;
} Job;

static void *lower_variant(void *arg) {
    Job *j = arg;
    MlirContext ctx = lower_context();
    MlirModule module;
    j->ok = lower_build_variant(ctx, j->prog, j->kernel, &j->cfg, j->sym, j->target->kind == TARGET_NVIDIA,
                                &module);
    if (j->ok) {
        CompileOptions o = {.stage = LOWER_LLVM, .target = j->target};
        LLVMContextRef lctx = LLVMContextCreate();
        LLVMModuleRef m = NULL;
        j->ok = j->target->lower(j->target, ctx, module, j->prog, &o, NULL, lctx, &m) && m;
        if (j->ok) {
            FILE *f = open_memstream(&j->text, &j->len);
            j->ok = target_finish_llvm(j->target, m, &o, f);
            fclose(f);
            LLVMDisposeModule(m);
        }
        LLVMContextDispose(lctx);
        mlirModuleDestroy(module);
    }
    mlirContextDestroy(ctx);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s TARGET FILE.tile KERNEL [NVARIANTS]\n", argv[0]);
        return 2;
    }
    int want = argc > 4 ? atoi(argv[4]) : 4;
    if (want < 1 || want > MAX_VARIANTS)
        want = 4;
    diag_init((DiagOptions){.out = stderr, .error_limit = 20});
    Target target;
    char why[256];
    if (!target_known(argv[1]) || !target_init(&target, argv[1], NULL, NULL, why, sizeof why)) {
        fprintf(stderr, "unknown target %s\n", argv[1]);
        return 2;
    }
    SourceFile *file = source_read(argv[2], NULL);
    Program prog = {.target_gpu = target.kind == TARGET_NVIDIA};
    SemaOptions so = {.pow2_default = target.kind == TARGET_NVIDIA};
    if (!file || !load_program(&prog, &file, 1, &(LoadOptions){0}) || !sema_check_program(&prog, &so))
        return 1;
    Node *kernel = NULL;
    for (int i = 0; i < prog.decls.len; i++)
        if (ast_main_kernel(prog.decls.items[i], argv[3]))
            kernel = prog.decls.items[i];
    if (!kernel) {
        fprintf(stderr, "no kernel %s in %s\n", argv[3], argv[2]);
        return 2;
    }
    // Configurations spread over the space (GPU targets: tunables that are powers of two).
    static Config all[4096];
    int64_t n = sema_enumerate_configs(&prog, kernel, all, 4096), usable = 0;
    for (int64_t i = 0; i < n; i++)
        if (target.kind == TARGET_X86 || sema_config_all_pow2(&all[i]))
            all[usable++] = all[i];
    if (usable == 0) {
        fprintf(stderr, "kernel %s has no configuration\n", argv[3]);
        return 1;
    }
    int nv = usable < want ? (int)usable : want;
    Job serial[MAX_VARIANTS], parallel[MAX_VARIANTS];
    for (int v = 0; v < nv; v++) {
        serial[v] = (Job){.prog = &prog, .kernel = kernel, .cfg = all[v * usable / nv], .target = &target};
        snprintf(serial[v].sym, sizeof serial[v].sym, "%s__v%d", kernel->name, v);
        parallel[v] = serial[v];
    }
    for (int v = 0; v < nv; v++)
        lower_variant(&serial[v]);
    pthread_t threads[MAX_VARIANTS];
    for (int v = 0; v < nv; v++)
        if (pthread_create(&threads[v], NULL, lower_variant, &parallel[v]) != 0) {
            fprintf(stderr, "cannot start a thread\n");
            return 1;
        }
    for (int v = 0; v < nv; v++)
        pthread_join(threads[v], NULL);
    int bad = 0;
    for (int v = 0; v < nv; v++) {
        bool same = serial[v].ok && parallel[v].ok && serial[v].len == parallel[v].len &&
                    !memcmp(serial[v].text, parallel[v].text, serial[v].len);
        printf("%s %s v%d (", target.name, kernel->name, v);
        for (int t = 0; t < kernel->tunes.len; t++)
            printf("%s%s=%lld", t ? "," : "", kernel->tunes.items[t]->name,
                   (long long)serial[v].cfg.values[t]);
        printf("): %s, %zu bytes of LLVM IR\n",
               !serial[v].ok || !parallel[v].ok ? "FAILED"
               : same                           ? "identical"
                                                : "DIFFERENT",
               serial[v].len);
        bad += !same;
        free(serial[v].text);
        free(parallel[v].text);
    }
    diag_flush();
    printf("%d variants lowered one at a time and at once in %d threads: %s\n", nv, nv,
           bad ? "MISMATCH" : "identical");
    return bad != 0;
}
