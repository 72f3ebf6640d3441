// backends/nvidia/gpu.h — the NVIDIA back end: the tile-level program of a kernel distributed over the
// threads of a thread block, lowered to PTX by LLVM's NVPTX back end, assembled by the CUDA
// toolkit's ptxas, and embedded with a host launcher in an ordinary object (docs/gpu.md).
//
// One program instance is one thread block. Every tile value of the program is spread over the
// block's threads by a *layout* (as in Triton): each thread holds a few elements of each tile in
// registers; elementwise ops work on those, reductions combine them within a thread, then across
// a warp with shuffles and across warps through shared memory; a tile that one op produces in
// one layout and another needs in a different one moves through shared memory.
#ifndef TILEC_BACKENDS_NVIDIA_GPU_H
#define TILEC_BACKENDS_NVIDIA_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "mlir-c/IR.h"

#include "../../lang/ast.h"
#include "../../runtime/tilec_abi.h"

// The GPU schedule: what the kernel's own tunables do not fix. One plain struct, like the CPU's
// (backends/x86/schedule.h), so that the autotuner can vary it.
typedef struct GpuSchedule {
    int num_warps;      // warps per thread block (one program instance): 1, 2, 4, 8 or 16
    int vector_bytes;   // bytes each thread moves per global load or store: 4, 8 or 16
    int dot_rows;       // FMA dot: accumulator rows and columns each thread holds per
    int dot_cols;       // 32-thread step (1, 2, 4 or 8)
    bool tensor_cores;  // f16/bf16 dot with mma.sync (sm_80 and later)
    int stages;         // shared-memory buffers of a pipelined dot loop (cp.async); 1: none
    bool wgmma;         // sm_90a: a pipelined dot loop's dot as wgmma (warpgroup) instructions
    bool tma;           // and its stages filled by TMA (tensor maps from the launcher)
} GpuSchedule;

// An NVIDIA target: an architecture name (sm_80, sm_86, sm_89, sm_90, sm_90a, ...) and what
// the back end needs to know about it.
typedef struct GpuArch {
    char name[16];             // as given: "sm_90a"
    int sm;                    // 80, 86, 89, 90, ...
    int64_t smem_limit;        // shared memory a block may use, in bytes
    const char *ptx_features;  // the PTX ISA version LLVM should write ("+ptx80")
} GpuArch;

// Whether `name` is an architecture the back end supports; fills `arch` when it is.
bool gpu_arch_parse(const char *name, GpuArch *arch);

void gpu_schedule_default(const GpuArch *arch, GpuSchedule *s);
// Applies "key=value,..." overrides (num_warps, vector_bytes, dot_rows, dot_cols, tensor_cores,
// stages, wgmma).
bool gpu_schedule_parse(const char *text, GpuSchedule *s, char *error, int error_size);

#define GPU_MAX_TENSOR_MAPS 8

// What the distribution made of one kernel.
typedef struct GpuKernel {
    char name[256];      // the device function: SYM__kernel
    int threads;         // per block
    int64_t smem_bytes;  // dynamic shared memory per block
    int nparams;         // its parameters before the tensor maps
    int ntma;            // tensor maps: parameter nparams is an i32 (1: all built), then the maps
    TilecCudaTensorMap tma[GPU_MAX_TENSOR_MAPS];  // the maps the launcher builds (runtime/tilec_abi.h)
    bool quiet_limits;  // in: more shared memory than the target has is not reported
    bool too_big;       // out: it needs more shared memory than the target has
} GpuKernel;

// Replaces SYM__program in `module` (emit.c's GPU mode) by the device kernel SYM__kernel in a
// gpu.module (the module becomes a GPU container). Parameters of SYM__kernel: the tensors as
// global pointers, then the scalars, sizes and strides, then the grid's three extents; the
// program's coordinates come from the block index. False after reporting an error (a construct
// the GPU back end does not handle yet, at its .tile location, or too much shared memory: with
// out->quiet_limits that sets out->too_big instead of reporting).
bool gpu_distribute(MlirContext ctx, MlirModule module, Program *prog, const char *sym, const GpuArch *arch,
                    const GpuSchedule *sched, GpuKernel *out);

#endif
