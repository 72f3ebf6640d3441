// runtime/tilec_rt.h — what tilec's kernel objects link against: a thread pool that runs a
// kernel's grid of program instances over all cores.
//
// The pool starts on first use with one thread per online core (TILE_NUM_THREADS=N overrides;
// 1 runs everything on the caller's thread). The calling thread works too. Calls from several
// threads at once are safe: a call that finds the pool busy runs its grid on its own thread.
#ifndef TILEC_RT_H
#define TILEC_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tilec_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

// One program instance: `index` in [0, n) of the flattened grid, `ctx` the kernel's arguments.
typedef void (*tilec_task_fn)(void *ctx, int64_t index);

// Runs fn(ctx, i) for every i in [0, n), spread over the pool; returns when all are done.
void tilec_rt_parallel_for(int64_t n, tilec_task_fn fn, void *ctx);

// The number of threads the pool uses (TILE_NUM_THREADS, or the online cores).
int tilec_rt_num_threads(void);

// Tuned objects (`tilec --tuned`, runtime/dispatch.c): which tuned version of a kernel suits a
// call (NAME__variant). `table` holds `nentries` rows of `nsizes` tuned sizes and the index of
// the version that was fastest there. The row nearest to `sizes` wins — the smallest sum of
// |log2(size / tuned)| among rows where every size is within a factor of 2 of the tuned one;
// ties go to the first row. No such row: -1 (the call then runs the best fit among the versions whose
// run-time constraints hold, like an untuned object's calls: docs/language.md §6.3).
int tilec_rt_pick_variant(const int64_t *table, int nentries, int nsizes, const int64_t *sizes);

// A kernel's heap buffers (tiles over 64 KiB; runtime/scratch.c): MLIR's generic allocation
// functions, which the lowering calls instead of malloc and free. Freed blocks of 64 KiB and
// more are kept per thread (up to 16) for the thread's next programs.
void *_mlir_memref_to_llvm_alloc(size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

// ---------------------------------------------------------------- NVIDIA GPUs (runtime/cuda.c)
//
// Objects built with --target=sm_XX launch through these; the driver (libcuda.so.1, or the file
// TILEC_CUDA_DRIVER names) is opened on first use, so nothing links against CUDA. Kernels run in
// the calling thread's current context, or device 0's primary context when it has none (the one
// the CUDA runtime and PyTorch use). Status codes: TILEC_OK, or those of tilec_abi.h; the kernel
// images and tensor maps a GPU object embeds are defined there too.

// Launches `blocks` blocks of the kernel on `stream` (NULL: the default stream), loading it into
// the current context on first use; params: pointers to each kernel parameter. Asynchronous.
int tilec_rt_cuda_launch(const TilecCudaImage *image, int64_t blocks, void *stream, void **params);

// What the launch hands cuTensorMapEncodeTiled for a map (rank 2, innermost dimension first);
// tilec_rt_tensor_map_args fills it from the kernel's parameters, false when the tensor cannot
// have a map (the kernel then copies through its threads). Exposed for tests.
typedef struct TilecTensorMapArgs {
    int dtype;
    void *address;
    uint64_t dims[2];  // columns, rows
    uint64_t row_stride_bytes;
    unsigned box[2];  // columns, rows
    int swizzle;      // CUtensorMapSwizzle: 1 32 B, 2 64 B, 3 128 B
} TilecTensorMapArgs;
bool tilec_rt_tensor_map_args(const TilecCudaTensorMap *t, void **params, TilecTensorMapArgs *a);
int tilec_rt_cuda_available(void);      // 1 when a driver and a GPU are there
const char *tilec_rt_cuda_error(void);  // this thread's last error message ("" if none)

// Device memory and copies, enough for tests and simple programs (pointers are device pointers).
int tilec_rt_cuda_malloc(void **ptr, size_t bytes);
int tilec_rt_cuda_free(void *ptr);
int tilec_rt_cuda_upload(void *device_dst, const void *host_src, size_t bytes);
int tilec_rt_cuda_download(void *host_dst, const void *device_src, size_t bytes);
int tilec_rt_cuda_memset(void *device_dst, int byte, size_t bytes);
int tilec_rt_cuda_synchronize(void);  // waits for the context's work; reports a kernel's fault

#ifdef __cplusplus
}
#endif

#endif
