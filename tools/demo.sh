#!/usr/bin/env bash
# tools/demo.sh — the main job (`make demo`): check every stdlib kernel, then compile
# stdlib/matmul.tile to an object and header, link it into a C program (bench/demo_matmul.c),
# run it, check it against a plain C loop and print its speed.
set -euo pipefail
cd "$(dirname "$0")/.."
tilec=build/bin/tilec
out=build/demo
mkdir -p "$out"

echo "tilec: checking stdlib/*.tile (all configurations)"
"$tilec" check -v stdlib/*.tile

echo
echo "tilec: compiling stdlib/matmul.tile -> $out/matmul.o + $out/matmul.h"
start=$(date +%s%N)
"$tilec" stdlib/matmul.tile -o "$out/matmul.o"
end=$(date +%s%N)
echo "tilec: compiled in $(( (end - start) / 1000000 )) ms (default configuration: $(grep -m1 '//   matmul:' "$out/matmul.h" | sed 's|//   matmul: ||'))"
cc -O2 -I"$out" -Ibench bench/demo_matmul.c "$out/matmul.o" build/lib/libtilec_rt.a -lpthread -lm -o "$out/demo_matmul"
"$out/demo_matmul" "${DEMO_N:-512}" 5
echo "tilec: ran on ${TILE_NUM_THREADS:-$(nproc)} thread(s) (TILE_NUM_THREADS=N to change); 'bash bench/run.sh'"
echo "       compares with OpenBLAS at 1 and all threads"
