// backends/x86/x86.h — the x86-64 back end: the tile-level module scheduled (register tiles,
// FMAs: schedule.h), bufferized, its copies specialized, lowered to the LLVM dialect, then
// through lowering/host.c to LLVM IR, assembly or an object for the host CPU (or --cpu).
#ifndef TILEC_BACKENDS_X86_H
#define TILEC_BACKENDS_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "mlir-c/IR.h"

#include "../../lowering/build.h"
#include "../../lowering/lower.h"
#include "schedule.h"

// A bf16 dot rewritten for vdpbf16ps (bf16dot.c): the static shape of its [m, k] x [k, n] tiles.
typedef struct BfDot {
    int64_t m, n, k;
} BfDot;

// The stages from the tile level down to the LLVM dialect, as far as `stage` (at most
// LOWER_LLVM_DIALECT), in place, with schedule `s`.
void x86_run_stages(MlirContext ctx, MlirModule module, const Schedule *s, LowerStage stage);

// Before bufferization: a padded load that needs no padding and whose rows lie close together
// reads the tensor in place instead of a packed copy (inplace.c).
void x86_inplace_tiles(MlirContext ctx, MlirModule module);
// After the schedule: `arange(0, BC) < C` vectorized over a tile's columns (a 64-bit index
// compare per lane) becomes vector.create_mask of C minus the column (iotamask.c).
void x86_iota_masks(MlirContext ctx, MlirModule module);
// After the schedule: a row tile's sum (a linalg.generic reduction) or maximum (a vector.reduction
// as wide as the row) becomes a loop over pieces of 4 vectors of `vector_bits` with a vector
// accumulator (rowsums.c).
void x86_row_reductions(MlirContext ctx, MlirModule module, int vector_bits);
// Whether x86_row_reductions takes reductions over the last dimension of a tile of type `tile`
// (static f32, rows of more than one piece and a whole number of pieces; false for
// vector_bits 0).
bool x86_row_reduction_fits(MlirType tile, int vector_bits);
// Before x86_inplace_tiles: a padded row tile read only by vector loads of its slices is read
// with masked loads of the tensor itself, the padding value past the end (rowreads.c).
void x86_masked_row_reads(MlirContext ctx, MlirModule module, int vector_bits);
// Register j (of `sub` lanes) of a row's last piece, whose innermost index is `last` and of which
// `left` elements lie inside the row: *at = last + j * sub, and scf.if (the register inside) ->
// (t) { cases[0] } else { scf.if (straddling the end) { cases[1] } else { cases[2]: past it } },
// for the caller to fill and yield (rowreads.c; stores.c writes the last piece the same way).
MlirOperation x86_register_cases(IRBuilder *b, MlirType t, MlirValue left, MlirValue last, int64_t sub,
                                 int64_t j, MlirBlock cases[3], MlirValue *at);
// Register j (of `sub` lanes, along the last dimension) of a vector of type vt: its vector type,
// and the named attributes offsets, strides and sizes of vector.insert_strided_slice (the first
// two) and vector.extract_strided_slice (all three) taking it out of or putting it into vt.
MlirType x86_register_slice(IRBuilder *b, MlirType vt, int64_t sub, int64_t j, MlirNamedAttribute attrs[3]);
// Before bufferization: a tile stored into a kernel argument that nothing else reads or writes
// is computed straight into the argument's memory when it lies inside it (unit-stride rows),
// and through a buffer and a copy only at the edges (stores.c).
void x86_inplace_stores(MlirContext ctx, MlirModule module, int vector_bits);
// Before the schedule, on CPUs with AVX512-BF16: each dot of two bf16 tiles widened to an f32
// accumulator (k even, n a multiple of 16) becomes a linalg.contract in the VNNI layout, tagged
// tilec.bdot = i (its B interleave tilec.vnni = i), i < max; returns how many, their shapes in
// `dots`.
int x86_bf16_dots(MlirContext ctx, MlirModule module, BfDot *dots, int max);
// After bufferization: transfers of bf16 pair vectors (the VNNI tiles of bf16dot.c) over
// contiguous memory become 1-D transfers of a collapsed view.
void x86_flatten_pair_transfers(MlirContext ctx, MlirModule module);
// After bufferization: static buffers allocated inside an scf.if are allocated before it.
void x86_hoist_if_allocs(MlirModule module);
// After bufferization: copies of a buffer onto itself are removed.
void x86_drop_self_copies(MlirContext ctx, MlirModule module);

// After bufferization: the padding fill of each padded load (a tile reaching past its tensor)
// runs only when the tile does reach past it (copies.c).
// A tile inside the tensor is copied at its static size when the tensor's rows are unit-stride,
// and transposed in registers (x86_transposed_copy) when its columns are, vectors of
// `vector_bits` bits.
void x86_guard_pad_fills(MlirContext ctx, MlirModule module, int vector_bits);
// The lanes L of the blocks in which x86_transposed_copy copies a tile buffer of type `buf`:
// 0 unless its last two sides are multiples of L = vector_bits / element bits (4 to 32; 16-,
// 32- and 64-bit elements) and its other sides are 1 (tcopy.c).
int x86_transposed_copy_lanes(MlirType buf, int vector_bits);
// Appends at b the copy of `part`, a view of a tensor whose second-innermost stride is 1
// (tested at run time), into `buf`: L x L blocks read as unit-stride rows of the transposed view
// and transposed by vector shuffles (tcopy.c). With a null `pad`, the sides of `part` are the
// static ones of `buf`; else `part` may be smaller (an edge tile) and the blocks it overlaps
// are stored whole, `pad` (a scalar) where they reach past it.
void x86_transposed_copy(IRBuilder *b, MlirValue part, MlirValue buf, int lanes, MlirValue pad);
// After bufferization: the copy of each stored tile into its tensor runs at the tile's static
// size when the tile lies inside the tensor and the tensor's rows are unit-stride (copies.c).
// With `prefetch`, a store inside a loop also has its destination prefetched for writing at
// the top of the loop's body.
void x86_fast_stores(MlirContext ctx, MlirModule module, bool prefetch);
// Whether a tile of type t is a row tile: rank 1 or more, every dimension but the last of
// extent 1 (rowreads.c).
bool x86_row_tile(MlirType t);
// The unit attribute rowsums.c puts on a row reduction's loop over the row's pieces (rowreads.c
// reads a block of rows by pieces only for such loops).
#define X86_ROW_PIECES "tilec.row_pieces"

#endif
