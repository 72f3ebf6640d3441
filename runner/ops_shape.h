// runner/ops_shape.h — what the files of the `shape` op group share (ops_shape.c, which holds
// the op table and the views, ops_shape_move.c, ops_shape_index.c, ops_shape_fill.c): the
// op functions the table names and the data-movement helpers. Internal to those files.
#ifndef TILEC_OPS_SHAPE_H
#define TILEC_OPS_SHAPE_H

#include "runner.h"

// The most dimensions a strided copy walks (Tile views a rank-r tensor as 2r dimensions).
#define SH_MAX_DIMS (2 * RMAX_RANK)

// ---------------------------------------------------------------- helpers (ops_shape.c)

// Input i present with an element type the group moves (any of 1, 2, 4 or 8 bytes; not
// strings): else an error naming the input.
int sh_check_data(OpCtx *c, int i);
// Input i present and of an integer type (int32 or int64 unless `any_int`): else an error.
int sh_check_index(OpCtx *c, int i, bool any_int);
// Whether optional input i was given.
bool sh_has(const OpCtx *c, int i);
// A 1-D (or, with allow_scalar, 0-D) integer input whose values are known (a shape input) read
// into v[0 .. *n); at most `max` values.
int sh_read_ints(OpCtx *c, int i, int64_t *v, int max, int *n, bool allow_scalar);
// a * b, saturated to INT64_MAX (a, b >= 0).
int64_t sh_mul(int64_t a, int64_t b);
// Row-major strides (in elements) of t's dims.
void sh_strides(const Tensor *t, int64_t *st);
// The view (dims, sstride) with dims of 1 dropped and dims merged where the source is
// contiguous across them, into d, s; returns the new rank, or -1 when the view is empty.
int sh_simplify(int rank, const int64_t *dims, const int64_t *sstride, int64_t *d, int64_t *s);
// Copies the elements of a strided view into contiguous dst: dims[0 .. rank), sstride in
// elements (negative or 0 allowed), src at the view's first element.
void sh_copy_view(void *dst, const void *src, size_t esize, int rank, const int64_t *dims,
                  const int64_t *sstride);
// Fills n elements of esize bytes with the value at `val`.
void sh_fill(void *dst, const void *val, size_t esize, int64_t n);
// The value 1 of dtype in *buf (8 bytes); false for types without one (strings).
bool sh_one(int dtype, void *buf);
// A double converted to dtype into *buf (the constant of Pad's old `value` attribute).
bool sh_from_double(int dtype, double v, void *buf);

// ---------------------------------------------------------------- ops_shape_move.c

int sh_transpose_infer(OpCtx *c);
int sh_transpose_run(OpCtx *c);
int sh_concat_infer(OpCtx *c);
int sh_concat_run(OpCtx *c);
int sh_split_infer(OpCtx *c);
int sh_split_run(OpCtx *c);
int sh_slice_infer(OpCtx *c);
int sh_slice_run(OpCtx *c);
int sh_expand_infer(OpCtx *c);
int sh_expand_run(OpCtx *c);
int sh_tile_infer(OpCtx *c);
int sh_tile_run(OpCtx *c);
int sh_d2s_infer(OpCtx *c);
int sh_d2s_run(OpCtx *c);

// ---------------------------------------------------------------- ops_shape_pad.c

int sh_pad_infer(OpCtx *c);
int sh_pad_run(OpCtx *c);
size_t sh_pad_scratch(const OpCtx *c);

// ---------------------------------------------------------------- ops_shape_index.c

int sh_gather_infer(OpCtx *c);
int sh_gather_run(OpCtx *c);
int sh_gather_elements_infer(OpCtx *c);
int sh_gather_elements_run(OpCtx *c);
int sh_gather_nd_infer(OpCtx *c);
int sh_gather_nd_run(OpCtx *c);
int sh_scatter_elements_infer(OpCtx *c);
int sh_scatter_elements_run(OpCtx *c);
int sh_scatter_nd_infer(OpCtx *c);
int sh_scatter_nd_run(OpCtx *c);
size_t sh_scatter_scratch(const OpCtx *c);
int sh_compress_infer(OpCtx *c);
int sh_compress_run(OpCtx *c);
int sh_onehot_infer(OpCtx *c);
int sh_onehot_run(OpCtx *c);
int sh_revseq_infer(OpCtx *c);
int sh_revseq_run(OpCtx *c);

// ---------------------------------------------------------------- ops_shape_fill.c

int sh_cos_infer(OpCtx *c);
int sh_cos_run(OpCtx *c);
int sh_range_infer(OpCtx *c);
int sh_range_run(OpCtx *c);
int sh_trilu_infer(OpCtx *c);
int sh_trilu_run(OpCtx *c);
int sh_eyelike_infer(OpCtx *c);
int sh_eyelike_run(OpCtx *c);

#endif
