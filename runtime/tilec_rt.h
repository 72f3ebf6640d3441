// runtime/tilec_rt.h — what tilec's kernel objects link against: a thread pool that runs a
// kernel's grid of program instances over all cores.
//
// The pool starts on first use with one thread per online core (TILE_NUM_THREADS=N overrides;
// 1 runs everything on the caller's thread). The calling thread works too. Calls from several
// threads at once are safe: a call that finds the pool busy runs its grid on its own thread.
#ifndef TILEC_RT_H
#define TILEC_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// One program instance: `index` in [0, n) of the flattened grid, `ctx` the kernel's arguments.
typedef void (*tilec_task_fn)(void *ctx, int64_t index);

// Runs fn(ctx, i) for every i in [0, n), spread over the pool; returns when all are done.
void tilec_rt_parallel_for(int64_t n, tilec_task_fn fn, void *ctx);

// The number of threads the pool uses (TILE_NUM_THREADS, or the online cores).
int tilec_rt_num_threads(void);

// Tuned objects (`tilec --tuned`, runtime/dispatch.c): which version of a kernel runs a call.
// `table` holds `nentries` rows of `nsizes` tuned sizes and the index of the version that was
// fastest there. The row nearest to `sizes` wins — the smallest sum of |log2(size / tuned)|
// among rows where every size is within a factor of 2 of the tuned one; ties go to the first
// row. No such row: version 0, the kernel's default configuration.
int tilec_rt_pick_variant(const int64_t *table, int nentries, int nsizes, const int64_t *sizes);

#ifdef __cplusplus
}
#endif

#endif
