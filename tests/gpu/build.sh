#!/usr/bin/env bash
# tests/gpu/build.sh [ARCH] — builds the GPU checks where tilec is (this needs LLVM/MLIR and the
# CUDA toolkit's ptxas, not a GPU): the stdlib kernels for ARCH (default sm_90a) and
# tests/gpu/check.c linked against them, into build/gpu/. tests/gpu/run.sh runs them on a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-sm_90a}
out=build/gpu
mkdir -p "$out"
for k in vector_add softmax layernorm matmul; do
    build/bin/tilec stdlib/$k.tile --target="$arch" -o "$out/$k.o"
done
cc -O2 -std=gnu11 -I"$out" -Iruntime tests/gpu/check.c "$out"/{vector_add,softmax,layernorm,matmul}.o \
    build/lib/libtilec_rt.a -ldl -lpthread -lm -o "$out/check"
echo "$arch" > "$out/arch"
echo "built $out/check for $arch"
