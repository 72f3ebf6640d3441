#!/usr/bin/env bash
# bench/aot.sh [ROUNDS] [RUNS] — a model compiled ahead of time (docs/aot.md) against `tilec run`
# on det, rec and the super-resolution CNN, one thread (TILE_NUM_THREADS=1, --threads 1).
# The two alternate in ROUNDS rounds (default 10) of RUNS timed runs each (default 10, after a
# warm-up), so that a busy spell of a shared machine falls on both; per model it reports the median
# of the rounds' medians and the lowest run of each, and writes bench/results/aot-DATE.md.
# Models: $TILEC_MODELS_DIR (default build/models; tests/runner/fetch-models.sh); inputs:
# tests/runner/make_inputs.py. Needs build/bin (tilec, tilec-run, tilec-aot) and cc.
set -euo pipefail
rounds=${1:-10}
runs=${2:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${TILEC_BIN:-$repo/build/bin}
models=${TILEC_MODELS_DIR:-$repo/build/models}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$repo/tests/runner/make_inputs.py" "$work/in" >/dev/null
out="$repo/bench/results/aot-$(date +%Y-%m-%d).md"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Ahead-of-time objects vs tilec run ($(date +%Y-%m-%d))"
    echo
    echo "\`bash bench/aot.sh $rounds $runs\`: one thread; $rounds alternating rounds of $runs runs"
    echo "(after a warm-up) each; median of the rounds' medians, and the fastest run. $cpu,"
    echo "$(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| model | tilec run median | model.o median | ratio | tilec run min | model.o min | first call of model.o |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$work/table"
export TILE_NUM_THREADS=1
for spec in det:x:1x3x640x640:det_x rec:x:1x3x48x320:rec_x superres_op17:input:1x1x224x224:superres_input; do
    IFS=: read -r name input shape file <<<"$spec"
    [[ -f "$models/$name.onnx" ]] || { echo "$name: not in $models, skipped"; continue; }
    d="$work/$name"
    mkdir -p "$d"
    in="$work/in/$file.npy"
    "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" -o "$d/model.o"
    cc -std=c11 -O2 -I"$d" "$repo/examples/aot/main.c" "$d/model.o" -lpthread -lm -o "$d/main"
    : >"$d/run.txt"
    : >"$d/aot.txt"
    for ((r = 0; r < rounds; r++)); do
        "$bin/tilec" run "$models/$name.onnx" --input "$input=$in" --threads 1 --bench "$runs" |
            sed -n 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms.*/\1 \2/p' >>"$d/run.txt"
        "$d/main" "$in" --bench "$runs" |
            sed -n 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms (first call, reading the model: \([0-9.]*\) ms).*/\1 \2 \3/p' >>"$d/aot.txt"
    done
    /usr/bin/python3 - "$name" "$d/run.txt" "$d/aot.txt" >>"$work/table" <<'PY'
import statistics, sys
name, run, aot = sys.argv[1], [l.split() for l in open(sys.argv[2])], [l.split() for l in open(sys.argv[3])]
rm, am = statistics.median(float(r[0]) for r in run), statistics.median(float(a[0]) for a in aot)
rn, an = min(float(r[1]) for r in run), min(float(a[1]) for a in aot)
first = statistics.median(float(a[2]) for a in aot)
print(f"| {name} | {rm:.2f} ms | {am:.2f} ms | {rm / am:.3f} | {rn:.2f} ms | {an:.2f} ms | {first:.1f} ms |")
PY
    tail -1 "$work/table"
done
{
    echo
    echo "ratio = tilec run median / model.o median (above 1: the object is faster). Both run the same"
    echo "kernels and the same plan; the object's first call (reading its blob, repacking weights,"
    echo "planning) is not in the timed runs, as \`tilec run\`'s load is not."
} >>"$work/table"
cp "$work/table" "$out"
echo "written: $out"
