#!/usr/bin/env bash
# bench/aot_spec.sh [ROUNDS] [RUNS] — models compiled ahead of time with and without --specialize
# (docs/aot.md, "Kernels specialized to the model's shapes") on det, rec, cls and the
# super-resolution CNN, one thread (TILE_NUM_THREADS=1). The two objects alternate in ROUNDS rounds
# (default 10) of RUNS timed runs each (default 10, after a warm-up) of examples/aot/main.c
# --bench, so that a busy spell of a shared machine falls on both; per model it reports the
# median of the rounds' medians and the lowest run of each, the compile times (cold: an empty
# variant cache; warm: a second compile), and writes bench/results/aot-spec-DATE.md.
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
export XDG_CACHE_HOME=$work/cache  # an empty variant cache: the first compile is cold
/usr/bin/python3 "$repo/tests/runner/make_inputs.py" "$work/in" >/dev/null
out="$repo/bench/results/aot-spec-$(date +%Y-%m-%d).md"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Ahead-of-time objects with and without --specialize ($(date +%Y-%m-%d))"
    echo
    echo "\`bash bench/aot_spec.sh $rounds $runs\`: one thread; $rounds alternating rounds of $runs runs"
    echo "(after a warm-up) each; median of the rounds' medians, and the fastest run. $cpu,"
    echo "$(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| model | calls | plain median | specialized median | ratio | plain min | specialized min | compile: plain, cold, warm |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
} >"$work/table"
export TILE_NUM_THREADS=1
secs() { /usr/bin/python3 -c 'import sys,time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }
for spec in det:x:1x3x640x640:det_x rec:x:1x3x48x320:rec_x cls:x:1x3x48x192:cls_x \
            superres_op17:input:1x1x224x224:superres_input; do
    IFS=: read -r name input shape file <<<"$spec"
    [[ -f "$models/$name.onnx" ]] || { echo "$name: not in $models, skipped"; continue; }
    d="$work/$name"
    mkdir -p "$d/plain" "$d/spec"
    in="$work/in/$file.npy"
    t=$(date +%s.%N); "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" -o "$d/plain/model.o"; tp=$(secs "$t")
    t=$(date +%s.%N)
    "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" --specialize -o "$d/spec/model.o" 2>"$d/compile.txt"
    tc=$(secs "$t")
    t=$(date +%s.%N); "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" --specialize -o "$d/spec/model.o" 2>/dev/null; tw=$(secs "$t")
    calls=$(sed -n 's/.*: \([0-9]*\) kernel calls specialized.*/\1/p' "$d/compile.txt")
    for v in plain spec; do
        cc -std=c11 -O2 -I"$d/$v" "$repo/examples/aot/main.c" "$d/$v/model.o" -lpthread -lm -o "$d/$v/main"
        : >"$d/$v.txt"
    done
    for ((r = 0; r < rounds; r++)); do
        for v in plain spec; do
            "$d/$v/main" "$in" --bench "$runs" |
                sed -n 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms.*/\1 \2/p' >>"$d/$v.txt"
        done
    done
    /usr/bin/python3 - "$name" "$calls" "$tp" "$tc" "$tw" "$d/plain.txt" "$d/spec.txt" >>"$work/table" <<'PY'
import statistics, sys
name, calls, tp, tc, tw = sys.argv[1:6]
p, s = [l.split() for l in open(sys.argv[6])], [l.split() for l in open(sys.argv[7])]
pm, sm = statistics.median(float(r[0]) for r in p), statistics.median(float(r[0]) for r in s)
pn, sn = min(float(r[1]) for r in p), min(float(r[1]) for r in s)
print(f"| {name} | {calls} | {pm:.2f} ms | {sm:.2f} ms | {pm / sm:.3f} | {pn:.2f} ms | {sn:.2f} ms | {tp} s, {tc} s, {tw} s |")
PY
    tail -1 "$work/table"
done
{
    echo
    echo "ratio = plain median / specialized median (above 1: the specialized object is faster). Both"
    echo "run the same configurations on the same plan (outputs bitwise identical); the specialized"
    echo "object's kernels have their sizes and integer scalars as constants (tilec --fix). Compile"
    echo "times are wall-clock on this shared machine (cold: every kernel call compiled, one per core)."
} >>"$work/table"
cp "$work/table" "$out"
echo "written: $out"
