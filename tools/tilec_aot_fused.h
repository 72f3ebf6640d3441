// tools/tilec_aot_fused.h — the generated kernels of a model's fused elementwise chains linked
// into an ahead-of-time object (tilec_aot_fused.c; docs/aot.md).
#ifndef TILEC_TOOLS_AOT_FUSED_H
#define TILEC_TOOLS_AOT_FUSED_H

#include "tilec_run_fused.h"

// In `dir`: fused_I.o for each kernel fc loaded (compiled again by fc->tilec from its cached
// source, every symbol local but the kernel, renamed tilec_aot_fused_I) and fused.o (the table
// tilec_aot_fused of runner/aot/tilec_aot.h, empty when fc is NULL or loaded none). Their names
// are appended to `files` (*nfiles of them, each malloc'd, at most max_files). Returns 0, or 1
// after printing why.
int aot_fused_objects(const FusedCompiler *fc, const char *dir, char **files, int *nfiles, int max_files);

#endif
