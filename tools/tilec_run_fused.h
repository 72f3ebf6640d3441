// tools/tilec_run_fused.h — the compile hook (TilecModelOptions.compile_kernel) that `tilec run`
// and tilec-aot give the runner: each generated kernel of a fused elementwise chain
// (runner/fuse_ew.h) compiled by bin/tilec into a shared object in the cache and loaded.
// docs/runner.md, "Fusion".
#ifndef TILEC_TOOLS_RUN_FUSED_H
#define TILEC_TOOLS_RUN_FUSED_H

#include <stdbool.h>

#define FUSED_MAX_KERNELS 512

// ---------------------------------------------------------------- data structures

// The hook's state: where it compiles, what it did, and the kernels it loaded (their names and
// cached sources, for tilec-aot to compile them again into a model object).
typedef struct FusedCompiler {
    const char *program;   // in messages: "tilec run"
    const char *dump_dir;  // --dump-fused DIR: every kernel's source copied to DIR/NAME.tile
    char tilec[1024];      // the compiler: $TILEC_FUSE_COMPILER, else bin/tilec beside this executable
    char cache[1024];      // $XDG_CACHE_HOME/tilec/fused/KEY (KEY: the compiler binary's identity)
    int compiled, cached, failed;
    int nkernels;
    char names[FUSED_MAX_KERNELS][32];
    char sources[FUSED_MAX_KERNELS][1100];  // the .tile file in the cache
} FusedCompiler;

// ---------------------------------------------------------------- functions

// Sets fc up for `program`. False (after saying why on stderr) when there is no compiler to
// run or no cache directory: the model then loads without this fusion. TILEC_FUSE=0 turns the
// fusion off (false, silently).
bool fused_compiler_init(FusedCompiler *fc, const char *program, const char *dump_dir);

// The hook: NAME.so from the cache, or NAME.tile written there and compiled (`tilec NAME.tile
// -o NAME.o`, `cc -shared`), then loaded; NULL (after a note on stderr naming the log) when it
// does not compile or load.
void *fused_compile(void *ctx, const char *name, const char *source);

#endif
