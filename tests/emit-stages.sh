#!/usr/bin/env bash
# tests/emit-stages.sh TILEC OUTDIR [FILE.tile...]: every --emit stage of every stdlib kernel file
# (or the files given) for x86-64 (skylake-avx512 and x86-64-v3), sm_80 and sm_90a, one file per
# (source, target, stage) under OUTDIR. Used to show that a refactoring changes no output:
#   tests/emit-stages.sh build-before/bin/tilec /tmp/a; tests/emit-stages.sh build/bin/tilec /tmp/b
#   diff -r /tmp/a /tmp/b
# Runs the compilations two at a time (xargs -P).
set -euo pipefail
tilec=$1
out=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if (($# == 0)); then
    set -- "$here"/stdlib/*.tile
fi
mkdir -p "$out"
jobs=()
for f in "$@"; do
    base=$(basename "$f" .tile)
    for cpu in skylake-avx512 x86-64-v3; do
        for st in ast mlir scheduled bufferized llvm-dialect llvm asm; do
            jobs+=("$f|--cpu=$cpu|$st|$base.$cpu.$st")
        done
        jobs+=("$f|--cpu=$cpu|h|$base.$cpu.h")
    done
    for sm in sm_80 sm_90a; do
        for st in mlir gpu nvvm ptx; do
            jobs+=("$f|--target=$sm|$st|$base.$sm.$st")
        done
        jobs+=("$f|--target=$sm|h|$base.$sm.h")
    done
done
run_one() {
    IFS='|' read -r f opt st name <<<"$1"
    if [[ $st == h ]]; then
        d=$(mktemp -d)
        if "$TILEC" "$opt" "$f" -o "$d/k.o" 2>"$OUT/$name.err"; then
            cp "$d/k.h" "$OUT/$name"
        fi
        rm -rf "$d"
    else
        "$TILEC" "$opt" --emit="$st" "$f" -o "$OUT/$name" 2>"$OUT/$name.err" || true
    fi
    [[ -s "$OUT/$name.err" ]] || rm -f "$OUT/$name.err"
}
export -f run_one
export TILEC=$tilec OUT=$out
printf '%s\n' "${jobs[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'run_one "$@"' _ {}
