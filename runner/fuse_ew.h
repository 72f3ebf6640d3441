// runner/fuse_ew.h — elementwise chains fused into generated kernels (docs/runner.md, "Fusion"):
// the load-time pass and the source writer (fuse_ew.c), and the op that runs a fused node and the
// registry of compiled fused kernels (ops_fused.c).
//
// A fused node is an ordinary node of op type "TilecFused" (the `fused` op group) whose
// attributes say everything its run needs, so that an ahead-of-time blob (blob.h) stores it like
// any other node:
//   kernel  (string)  the generated kernel's name, "fused_" and 16 hex digits of the XXH64 hash of
//                     its source text (every fused node with the same text shares one kernel)
//   dims    (ints)    the collapsed index space D0, D1, D2 the kernel is called with
//   shape   (ints)    the output's shape
//   inputs  (ints)    every input's shape, each as its rank then its dims (checked at run)
// The kernel's C signature: int NAME(float *Y, const float *X0, ..., const float *Xn-1,
// int64_t D0, int64_t D1, int64_t D2), 1 <= n <= FUSED_MAX_INPUTS.
#ifndef TILEC_RUNNER_FUSE_EW_H
#define TILEC_RUNNER_FUSE_EW_H

#include "model.h"

#define FUSED_MAX_INPUTS 8  // kernel inputs of one fused node
#define FUSED_MAX_NODES 32  // nodes fused into one
#define FUSED_NAME_MAX 32   // "fused_" + 16 hex digits + NUL fits

// The pass (model_load.c, after graph_prepare): with options->compile_kernel set and every graph
// input's shape fixed, finds groups of f32 elementwise nodes (docs/runner.md, "Fusion"), writes
// each group's kernel, asks the hook to compile it, and replaces the group by one TilecFused
// node. A group whose kernel does not compile stays as it was. Errors only for lack of memory.
int graph_fuse_ew(TilecModel *m, const TilecModelOptions *o, RErr *e);

// The registry of compiled fused kernels, by name (process-wide, thread-safe): what the
// TilecFused op's prepare() looks its kernel up in. tilec run fills it through the compile hook,
// an ahead-of-time object from its table of linked kernels (runner/aot/entry.c). False for a name
// of FUSED_NAME_MAX characters or more, or when out of memory.
bool fused_kernel_add(const char *name, void *fn);
void *fused_kernel_find(const char *name);

#endif
