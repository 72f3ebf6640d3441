#!/usr/bin/env bash
# tests/lowering/Inputs/compile.sh IN.mlir OUT.o — takes tilec's tile-level MLIR through the
# pipeline of docs/lowering-plan.md to an object (until tilec runs these stages itself).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
M=${LLVM_BIN:-/usr/lib/llvm-22/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$M/mlir-opt" "$1" --convert-elementwise-to-linalg -o "$tmp/pre.mlir"
"$M/mlir-opt" "$tmp/pre.mlir" --transform-preload-library="transform-library-paths=$here/bufferize.mlir" \
    --transform-interpreter -o "$tmp/buf.mlir"
"$M/mlir-opt" "$tmp/buf.mlir" --pass-pipeline='builtin.module(func.func(promote-buffers-to-stack{max-alloc-size-in-bytes=65536}), convert-linalg-to-loops, expand-strided-metadata, lower-affine, convert-scf-to-cf, convert-math-to-llvm, convert-math-to-libm, finalize-memref-to-llvm, convert-arith-to-llvm, convert-cf-to-llvm, convert-func-to-llvm, reconcile-unrealized-casts)' -o "$tmp/llvm.mlir"
"$M/mlir-translate" --mlir-to-llvmir "$tmp/llvm.mlir" -o "$tmp/k.ll"
"$M/llc" -O2 -filetype=obj "$tmp/k.ll" -o "$2"
