#!/usr/bin/env bash
# tests/runner/models.sh [TILEC_RUN] — the runner on real models, against ONNX Runtime.
#
# Models (tests/runner/fetch-models.sh; cached in $TILEC_MODELS_DIR, default build/models):
#   det            PP-OCRv4 text detection      x: 1x3x640x640  (opset 11)
#   rec            PP-OCRv4 text recognition    x: 1x3x48x320   (opset 9)
#   cls            PP-OCR v2.0 direction cls    x: 1x3x48x192   (opset 9)
#   superres_op11  PyTorch tutorial super-resolution CNN, input: 1x1x224x224, opset 11
#   superres_op17  the same at opset 17
# Inputs: tests/runner/make_inputs.py (deterministic). ONNX Runtime (tests/runner/ort_run.js, one
# thread) gives the reference outputs; then `TILEC_RUN MODEL --input NAME=FILE --output-dir D`
# runs each model and every output is compared with ORT's (tests/runner/compare.py): relative L2
# error <= $TILEC_MODELS_TOL (default 1e-4).
# Without TILEC_RUN (or with --ort-only) only the ORT half runs (the harness itself is checked).
# Exit 0 when every model passes, 1 when any fails, 77 when the models could not be fetched
# (offline; ctest: SKIP_RETURN_CODE 77). Work files: $TILEC_MODELS_WORK (default a fresh temporary
# directory, removed at the end unless the run failed or TILEC_MODELS_KEEP=1).
# TILEC_MODELS_ONLY="det cls" restricts the run to some models; TILEC_MODELS_TIMEOUT (default 600)
# bounds each tilec-run call in seconds.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tilec_run=${1:-}
[[ "$tilec_run" == "--ort-only" ]] && tilec_run=
if [[ -n "$tilec_run" && ! -x "$tilec_run" ]]; then
    echo "models: $tilec_run is not an executable" >&2
    exit 2
fi
models_dir=${TILEC_MODELS_DIR:-$repo/build/models}
tol=${TILEC_MODELS_TOL:-1e-4}
py=/usr/bin/python3

"$here/fetch-models.sh" "$models_dir"
rc=$?
if ((rc == 77)); then
    echo "models: SKIPPED: the models or ONNX Runtime could not be downloaded (offline?)"
    exit 77
elif ((rc != 0)); then
    echo "models: fetch-models.sh failed ($rc)" >&2
    exit 1
fi

work=${TILEC_MODELS_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tilec-models.XXXXXX")}
mkdir -p "$work"
"$py" "$here/make_inputs.py" "$work/inputs" || { echo "models: make_inputs.py failed" >&2; exit 1; }

# name  file  input-name  input-file
table="det det.onnx x det_x
rec rec.onnx x rec_x
cls cls.onnx x cls_x
superres_op11 superres_op11.onnx input superres_input
superres_op17 superres_op17.onnx input superres_input"

declare -a rows=()
failed=0
ran=0
while read -r name file iname ifile; do
    if [[ -n "${TILEC_MODELS_ONLY:-}" && " $TILEC_MODELS_ONLY " != *" $name "* ]]; then continue; fi
    model=$models_dir/$file
    input=$work/inputs/$ifile.npy
    d=$work/$name
    mkdir -p "$d"
    echo "=== $name ($file, $iname=$(basename "$input"))"
    if [[ ! -f "$model" ]]; then
        echo "    model missing (superres needs /usr/bin/python3 with python3-torch, python3-onnx)"
        rows+=("$name|-|-|-|-|FAIL (no model)")
        failed=1
        continue
    fi
    ran=$((ran + 1))
    # ---- ONNX Runtime: the reference ----
    if ! node "$here/ort_run.js" "$model" --input "$iname=$input" --output-dir "$d/ort" --threads 1 \
            >"$d/ort.json" 2>"$d/ort.err"; then
        sed 's/^/    ort: /' "$d/ort.err" | tail -n 20
        rows+=("$name|FAIL|-|-|-|FAIL (ORT)")
        failed=1
        continue
    fi
    ort_ms=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
        console.log(r.outputs.map(o => o.name + " " + o.dtype + "[" + o.shape.join("x") + "]").join(", "))' "$d/ort.json")
    echo "    ort: $ort_ms"
    if [[ -z "$tilec_run" ]]; then
        rows+=("$name|ok|not run|-|-|ort-only")
        continue
    fi
    # ---- tilec-run ----
    start=$(date +%s%N)
    timeout "${TILEC_MODELS_TIMEOUT:-600}" "$tilec_run" "$model" --input "$iname=$input" --output-dir "$d/tilec" \
        >"$d/tilec.out" 2>"$d/tilec.err"
    trc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    if ((trc != 0)); then
        why="exit $trc"
        ((trc >= 124)) && why="exit $trc (timeout or signal)"
        echo "    tilec-run: $why"
        sed 's/^/    tilec-run: /' "$d/tilec.err" | tail -n 20
        # The reason: tilec-run's first error line, with the op types of the nodes it lists.
        reason=$(grep -m 1 -i error "$d/tilec.err" | sed "s|^tilec run: error: ||; s|$model: ||")
        ops=$(sed -n "s/^  *node '.*': \([A-Za-z0-9_]*\) (opset [0-9]*)\$/\1/p" "$d/tilec.err" | sort | uniq -c |
              sort -k1,1nr | awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')
        [[ -n "$ops" ]] && reason="$reason $ops (of the nodes listed)"
        rows+=("$name|ok|FAIL|-|-|FAIL (tilec-run $why${reason:+: $reason})")
        failed=1
        continue
    fi
    "$py" "$here/compare.py" --threshold "$tol" "$d/tilec" "$d/ort" >"$d/compare.txt" 2>&1
    crc=$?
    sed 's/^/    /' "$d/compare.txt"
    worst=$(awk 'NR > 1 && $3 ~ /^[0-9.e+-]+$/ { if ($3 + 0 > m) m = $3 + 0; n++ } END { if (n) printf "%.3e", m; else print "-" }' "$d/compare.txt")
    nout=$(($(wc -l <"$d/compare.txt") - 1))
    if ((crc == 0)); then
        rows+=("$name|ok|ok ($secs s)|$nout|$worst|pass")
    else
        rows+=("$name|ok|ok ($secs s)|$nout|$worst|FAIL (outputs)")
        failed=1
    fi
done <<<"$table"

echo
printf '%-15s %-5s %-14s %-8s %-12s %s\n' model ORT tilec-run outputs "max rel L2" result
printf '%-15s %-5s %-14s %-8s %-12s %s\n' --------------- ----- -------------- -------- ------------ ------
for r in "${rows[@]}"; do
    IFS='|' read -r a b c d e f <<<"$r"
    printf '%-15s %-5s %-14s %-8s %-12s %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
done
echo "(threshold: rel L2 <= $tol against onnxruntime-node, 1 thread; inputs: tests/runner/make_inputs.py)"

if ((ran == 0)); then
    echo "models: no model ran" >&2
    failed=1
fi
if ((failed)) || [[ -n "${TILEC_MODELS_KEEP:-}" ]]; then
    echo "models: work files kept in $work"
elif [[ -z "${TILEC_MODELS_WORK:-}" ]]; then
    rm -rf "$work"
fi
if ((failed)); then
    echo "models: FAIL"
    exit 1
fi
if [[ -n "$tilec_run" ]]; then
    echo "models: all passed (tilec-run: $tilec_run)"
else
    echo "models: all passed (ORT only: no tilec-run given)"
fi
exit 0
