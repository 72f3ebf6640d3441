#!/usr/bin/env bash
# tools/demo.sh — the main job (`make demo`).
#
# Until code generation lands, the main job checks every stdlib kernel (every tunable
# configuration) and prints what it found: each kernel, its search space, its default
# configuration and the C prototype its object file will export.
set -euo pipefail
cd "$(dirname "$0")/.."
tilec=build/bin/tilec
echo "tilec: checking stdlib/*.tile (all configurations)"
start=$(date +%s%N)
"$tilec" check -v stdlib/*.tile
end=$(date +%s%N)
n=$(grep -c '^kernel ' stdlib/*.tile | awk -F: '{s += $2} END {print s}')
ms=$(( (end - start) / 1000000 ))
printf 'tilec: %d kernels in %d files checked in %d ms\n' "$n" "$(ls stdlib/*.tile | wc -l)" "$ms"
echo "tilec: compiling, running and timing stdlib/matmul.tile comes with the lowering milestone (issue 3)"
