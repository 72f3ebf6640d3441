#!/usr/bin/env bash
# tests/gpu/build.sh [ARCH] — builds the GPU checks where tilec is (this needs LLVM/MLIR and the
# CUDA toolkit's ptxas, not a GPU): the stdlib kernels for ARCH (default sm_90a) and for this
# x86 machine, then tests/gpu/check.c (GPU kernels against C references) and tests/gpu/diff.c
# (the other GPU kernels against their x86 build), into build/gpu/. tests/gpu/run.sh runs them
# on a GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-sm_90a}
# SCHEDULE=k=v,... (e.g. wgmma=0, stages=1): a GPU schedule for every kernel, to tell a wrong
# result of one path from another's.
sched=(${SCHEDULE:+--schedule=$SCHEDULE})
out=build/gpu
mkdir -p "$out/cpu"
all=(vector_add softmax layernorm matmul activations attention conv2d linear norms pool reduce transpose)
for k in "${all[@]}"; do
    build/bin/tilec stdlib/$k.tile --target="$arch" "${sched[@]}" -o "$out/$k.o"
done
cc -O2 -std=gnu11 -I"$out" -Iruntime tests/gpu/check.c "$out"/{vector_add,softmax,layernorm,matmul}.o \
    build/lib/libtilec_rt.a -ldl -lpthread -lm -o "$out/check"
# The x86 builds (their headers' include guards renamed, so both sides' headers can be included).
diffed=(activations attention conv2d linear norms pool reduce softmax transpose)
for k in "${diffed[@]}"; do
    build/bin/tilec stdlib/$k.tile -o "$out/cpu/$k.o"
    sed -i 's/\bTILEC_\([A-Z0-9_]*\)_H\b/TILEC_CPU_\1_H/g' "$out/cpu/$k.h"
done
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$out" -Iruntime tests/gpu/diff.c \
    $(printf "$out/%s.o " "${diffed[@]}") $(printf "$out/cpu/%s.o " "${diffed[@]}") build/lib/libtilec_rt.a -ldl -lpthread -lm -o "$out/diff"
# The checked kernels again with other schedules (VARIANTS, default "tma=0 wgmma=0 stages=1";
# "" for none): $out/variants/<schedule>/check, which run.sh runs too, so that one GPU session
# tells which path (TMA, wgmma, the cp.async pipeline) a wrong result comes from.
rm -rf "$out/variants"
for v in ${VARIANTS-tma=0 wgmma=0 stages=1}; do
    d="$out/variants/${v//[=,]/-}"
    mkdir -p "$d"
    for k in vector_add softmax layernorm matmul; do
        build/bin/tilec stdlib/$k.tile --target="$arch" --schedule="$v" -o "$d/$k.o"
    done
    cc -O2 -std=gnu11 -I"$d" -Iruntime tests/gpu/check.c "$d"/{vector_add,softmax,layernorm,matmul}.o \
        build/lib/libtilec_rt.a -ldl -lpthread -lm -o "$d/check"
    rm -f "$d"/*.o
done
rm -f "$out"/*.o "$out"/cpu/*.o  # linked: what the GPU machine needs is the programs (carry <= 64 MiB)
echo "$arch" > "$out/arch"
echo "built $out/check and $out/diff for $arch (variants: ${VARIANTS-tma=0 wgmma=0 stages=1})"
