// tools/tilec_aot_spec.h — `tilec MODEL.onnx ... --specialize -o NAME.o` (tilec_aot_spec.c): every
// kernel call the trial run recorded compiled for its exact key (`tilec --fix`), cached in the
// variant cache, and routed to. docs/aot.md, "Kernels specialized to the model's shapes".
#ifndef TILEC_TOOLS_AOT_SPEC_H
#define TILEC_TOOLS_AOT_SPEC_H

#include "tilec_run_tuned.h"

// Compiles each recorded call (runner/kcall.h) i with `bin/tilec SOURCE --kernel K --fix KEY`,
// with the tunables and schedule of its winner among v[0..nv) (tuned_resolve) when it has one,
// else the configuration the untuned call runs (the best fit --fix picks), into the variant
// cache (named by the XXH3-128 of the source, kernel, key, configuration and bin/tilec's bytes;
// compiled there when absent, several at once), then into dir/spec_I.o (every symbol local but
// the kernel, renamed tilec_aot_spec_I); writes dir/routes.o (tilec_aot_routes: each call's
// {function, kernel, key}). The names are appended to files (*nfiles, malloc'd; at most
// max_files). Says on stderr how many calls were specialized, tuned, compiled and found cached.
// Returns 0, or 1 after printing why.
int aot_specialize(const char *dir, const char *name, const TunedVariant *v, int nv, char **files,
                   int *nfiles, int max_files);

// Runs a program (looked up in PATH) with cwd `dir` (tilec_aot.c, which uses it for ld, objcopy
// and as too). Returns 0 when it exits 0, else 1 after printing why.
int aot_spawn(const char *dir, char *const *argv);

#endif
