#!/usr/bin/env bash
# docs/lowering-spike/run.sh — the hand-written tile-level IR of vector_add (BLOCK = 8) taken
# through the pipeline planned for lowering/, linked into a C test under ASan. Run from anywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
M=/usr/lib/llvm-22/bin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$M/mlir-opt "$here/vector_add.mlir" --convert-elementwise-to-linalg -o "$out/pre.mlir"
$M/mlir-opt "$out/pre.mlir" --transform-preload-library="transform-library-paths=$here/bufferize.mlir" \
    --transform-interpreter -o "$out/buf.mlir"
$M/mlir-opt "$out/buf.mlir" --pass-pipeline='builtin.module(func.func(promote-buffers-to-stack{max-alloc-size-in-bytes=65536}), convert-linalg-to-loops, expand-strided-metadata, lower-affine, convert-scf-to-cf, finalize-memref-to-llvm, convert-arith-to-llvm, convert-cf-to-llvm, convert-func-to-llvm, reconcile-unrealized-casts)' -o "$out/llvm.mlir"
$M/mlir-translate --mlir-to-llvmir "$out/llvm.mlir" -o "$out/k.ll"
$M/llc -O3 -filetype=obj "$out/k.ll" -o "$out/k.o"
echo "undefined symbols in the object: $(nm "$out/k.o" | grep -c ' U ' || true)"
gcc -fsanitize=address "$here/main.c" "$out/k.o" -o "$out/main"
"$out/main"
