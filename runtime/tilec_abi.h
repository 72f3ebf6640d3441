// runtime/tilec_abi.h — the contract between tilec's compiled kernels and what calls or runs them:
// the status codes a kernel entry returns, the tables a tuned object hands the runtime, and what
// a GPU object embeds for its launches (kernel images, tensor maps). One definition each: the
// header writer (lowering/header.c), the emitter (lowering/emit*.c), the object builders, the GPU
// back end and the runtime include this file rather than restating its numbers or layouts.
// docs/language.md §12 is the prose for users.
#ifndef TILEC_ABI_H
#define TILEC_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- status codes
//
// X(name, value, meaning): the meaning is also the comment the generated header (FILE.h)
// prints beside each code. Every entry returns one of the first four; GPU launches also the
// last three.
#define TILEC_STATUS_CODES_LIST(X)                                        \
    X(TILEC_OK, 0, "done")                                                \
    X(TILEC_ERR_SIZE, 1, "a size or stride argument is negative")         \
    X(TILEC_ERR_NULL, 2, "a null pointer for a tensor that has elements") \
    X(TILEC_ERR_CONSTRAINT, 3, "a run-time 'where' constraint does not hold")
#define TILEC_GPU_STATUS_CODES_LIST(X)                                       \
    X(TILEC_ERR_NO_GPU, 4, "no CUDA driver, or no usable GPU")               \
    X(TILEC_ERR_CUDA, 5, "a CUDA driver call failed (loading or launching)") \
    X(TILEC_ERR_GRID, 6, "more programs than one launch can hold")

// The same names as the generated header's macros (FILE.h guards them with TILEC_STATUS_CODES
// and TILEC_ERR_NO_GPU), so that the two can be included in either order.
#define TILEC_ABI_ENUMERATOR(name, value, meaning) name = value,
#ifndef TILEC_STATUS_CODES
#define TILEC_STATUS_CODES
enum TilecStatus { TILEC_STATUS_CODES_LIST(TILEC_ABI_ENUMERATOR) };
#endif
#ifndef TILEC_ERR_NO_GPU
enum TilecGpuStatus { TILEC_GPU_STATUS_CODES_LIST(TILEC_ABI_ENUMERATOR) };
#define TILEC_ERR_NO_GPU TILEC_ERR_NO_GPU
#endif
#undef TILEC_ABI_ENUMERATOR

// ---------------------------------------------------------------- tuned objects
//
// A tuned kernel's dispatch table (NAME__dispatch, a private constant of the object) is an array
// of int64_t rows: the kernel's `nsizes` sizes of one tuned shape, in the order of its
// prototype, then the index of the version that was fastest there (TILEC_DISPATCH_VERSION).
// NAME__variant(sizes) hands it to tilec_rt_pick_variant (tilec_rt.h).
#define TILEC_DISPATCH_ROW(nsizes) ((nsizes) + 1)  // int64_t cells per row
#define TILEC_DISPATCH_VERSION(nsizes) (nsizes)    // the cell holding the version's index

// ---------------------------------------------------------------- GPU objects
//
// A tensor map (TMA, sm_90a) that a launch builds and passes after the kernel's parameters
// (TilecCudaImage): the tensor's device pointer, row and column counts and row stride (in
// elements) are kernel parameters, given by index; a box of box_rows x box_cols elements lands in
// shared memory with the `swizzle` (bytes: 32, 64 or 128). elem_type: the driver's
// CUtensorMapDataType. The GPU back end fills these per kernel; the object embeds them.
typedef struct TilecCudaTensorMap {
    int32_t ptr_param, rows_param, cols_param, stride_param;
    int32_t box_rows, box_cols, swizzle, elem_type;
} TilecCudaTensorMap;

// A kernel compiled for a GPU, as its object embeds it (backends/nvidia/ptx.c builds this constant
// field by field, in this order).
typedef struct TilecCudaImage {
    const void *cubin;  // ptxas's output for `arch`
    uint64_t cubin_size;
    const char *ptx;  // the PTX (NUL-terminated), which the driver compiles for other GPUs
    uint64_t ptx_size;
    const char *kernel;  // the entry's name
    const char *arch;    // "sm_90a"
    int32_t threads;     // per block
    int32_t smem_bytes;  // dynamic shared memory per block
    // With tensor maps, the kernel's parameters are the nparams of `params`, then an int32 that
    // is 1 when every map could be built (else the kernel copies through its threads), then
    // each map (by value, 128 bytes).
    int32_t nparams;
    int32_t ntensor_maps;
    const TilecCudaTensorMap *tensor_maps;
} TilecCudaImage;

#ifdef __cplusplus
}
#endif

#endif
