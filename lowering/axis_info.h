// lowering/axis_info.h — what the emitter can prove about an integer tile from the tile-level
// ops that compute it (in the spirit of Triton's AxisInfo): whether it is affine in the
// positions along its axes, base + Σ coef[d] · i_d, with compile-time strides `coef`; and, for
// an i1 mask, which of its conjuncts are bounds on the position along one axis. The emitter
// (emit_memory.c) turns accesses whose index tiles move with stride 1 along distinct axes into
// slices, and masks whose conjuncts are such bounds into the slice's window.
#ifndef TILEC_LOWERING_AXIS_INFO_H
#define TILEC_LOWERING_AXIS_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lang/ast.h"
#include "build.h"

// An integer tile (or scalar: rank 0) as base + Σ coef[d] · i_d, i_d the position along axis d.
typedef struct AxisInfo {
    int rank;
    int64_t dims[TILE_MAX_RANK];
    int64_t coef[TILE_MAX_RANK];  // the stride along axis d (0 on unit axes and broadcasts)
    MlirValue base;               // the element at the origin: a scalar of the tile's element type
    bool base_const;              // base is the compile-time constant base_value
    int64_t base_value;
} AxisInfo;

// Whether `v` (an integer tile or scalar) is affine with compile-time strides; ops computing
// its base are appended at b's insertion point. On failure, `why` says what stopped the
// analysis ("the index is read from memory", "stride along axis 0 is not a compile-time
// constant", ...).
bool axis_info_of(IRBuilder *b, MlirValue v, AxisInfo *out, char *why, size_t whylen);

// A bound on the position along one axis: lo <= i_axis < hi (a null side is no bound); i64.
typedef struct AxisBound {
    int axis;
    MlirValue lo, hi;
} AxisBound;

#define AXIS_MAX_BOUNDS 16

// An i1 mask as the conjunction of bounds on positions, a uniform condition and the rest.
typedef struct MaskInfo {
    int nbounds;
    AxisBound bounds[AXIS_MAX_BOUNDS];
    MlirValue all;  // i1 scalar that every element also needs (null: true)
    bool residual;  // some conjunct is neither: the mask itself must still be applied
    char why[200];  // why the first residual conjunct is not a bound
} MaskInfo;

// Analyzes the mask `v` (an i1 tile of `rank` axes, or an i1 scalar); ops computing the bounds
// are appended at b's insertion point.
void axis_mask_info(IRBuilder *b, MlirValue v, MaskInfo *m);

#endif
