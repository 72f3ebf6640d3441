// lowering/lower.h — from the checked AST to MLIR, built op by op through the MLIR C API.
//
// Each kernel becomes, per configuration, a tile-level function
//   NAME__program(tensors as strided memrefs, scalars, sizes (i64), strides (i64),
//                 pid0, pid1, pid2, np0, np1, np2 (i64))
// on tensor values: tiles are `tensor<...>`, a slice load is to_tensor + extract_slice + pad, a
// store is extract_slice + materialize_in_destination, dot is linalg.matmul, reductions are
// linalg.reduce (docs/lowering-plan.md). Every op carries its .tile source location.
#ifndef TILEC_LOWERING_LOWER_H
#define TILEC_LOWERING_LOWER_H

#include <stdbool.h>
#include <stdio.h>

#include "../lang/ast.h"
#include "../lang/sema.h"

// Builds and verifies the tile-level module of every kernel in the main files, each at its
// default configuration, and prints it. False after reporting an error (a construct the
// lowering does not handle yet, or a verifier failure, which is a compiler bug).
// With debuginfo, every op is printed with its location (file:line:col in the .tile source).
bool lower_emit_mlir(Program *prog, const SemaOptions *opts, bool debuginfo, FILE *out);

#endif
