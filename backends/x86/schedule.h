// backends/x86/schedule.h — how the tile-level IR is mapped onto an x86 core: the schedule.
//
// A kernel's own tunables (BM, BN, BK, ...) fix the program's tiles, which are its cache tiles
// and, through the padded slice loads, its packed operands. The schedule decides the rest: the
// register tile each `dot` is split into, the order of those tiles, how far their reduction
// loop is unrolled, and the vector width. (Elementwise and reduction tiles become fused loops
// over the tile that LLVM's loop vectorizer widens: reductions are marked reassociable and exp
// is arithmetic, lowering/emit.c.) It is one plain struct so the
// autotuner can vary it; `schedule_default` fills it for a CPU, `schedule_parse` reads overrides
// (`--schedule=reg_m=6,reg_n=16,...`), and schedule.c applies it as a transform-dialect script
// (generated text: data, not IR) to the tile-level module, before bufferization.
#ifndef TILEC_BACKENDS_X86_SCHEDULE_H
#define TILEC_BACKENDS_X86_SCHEDULE_H

#include <stdbool.h>

#include "mlir-c/IR.h"

typedef struct Schedule {
    int vector_bits;   // SIMD width in bits: 512 (AVX-512), 256 (AVX2), 128 (SSE)
    int reg_m, reg_n;  // dot register tile (rows x columns of the accumulator); 0: chosen
                       // from the vector width (rows/columns left over are peeled)
    int unroll_k;      // unroll factor of the reduction loop around the register tile
    bool cols_outer;   // register tiles: loop over columns outside the loop over rows
    bool vectorize;    // tile and vectorize dot (off: scalar loops, a reference for
                       // differential testing)
    bool inplace;      // padded loads that need no padding and span little memory read the
                       // tensor in place rather than a packed copy (backends/x86/inplace.c)
    bool prefetch;     // a tile stored inside a loop has its destination prefetched for
                       // writing at the top of the loop's body (backends/x86/copies.c)
    bool bf16dot;      // bf16 dots as AVX512-BF16 dot products (vdpbf16ps) on B tiles
                       // interleaved in pairs of k (backends/x86/bf16dot.c); default: the
                       // CPU has AVX512-BF16
} Schedule;

// The default schedule for `cpu` (NULL: this machine's CPU).
void schedule_default(const char *cpu, Schedule *s);

// Whether `cpu` is an x86-64 CPU name LLVM knows (for --cpu).
bool schedule_known_cpu(const char *cpu);

// Applies "key=value,key=value" overrides (keys as the fields above; booleans 0|1) to `s`.
// False, with `error` set to a message naming the bad key or value, on a malformed string.
bool schedule_parse(const char *text, Schedule *s, char *error, int error_size);

// Schedules every function of the tile-level module (tensor level, before bufferization):
// dot tiled to register tiles, vectorized into FMAs with the accumulator held in registers
// across its reduction loop, which is unrolled. A failure is an internal error.
void schedule_apply(MlirContext ctx, MlirModule module, const Schedule *s);

#endif
