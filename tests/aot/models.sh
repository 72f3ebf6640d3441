#!/usr/bin/env bash
# tests/aot/models.sh BIN_DIR EXAMPLES_DIR — the real models compiled ahead of time: for each of
# det, rec, cls and superres_op17 present in $TILEC_MODELS_DIR (default build/models; fetched by
# tests/runner/fetch-models.sh, not here), `tilec MODEL.onnx --shape ... -o model.o`, the example
# examples/aot/main.c linked with it, and its outputs compared with `tilec run`'s on the same
# inputs (tests/runner/make_inputs.py): identical, or within 1e-6 of the largest value. The same
# with --specialize (every kernel call compiled for its shape, docs/aot.md; the variant cache
# makes it minutes the first time, seconds after), whose outputs must be bitwise the plain
# object's ("identical").
# TILEC_AOT_BENCH=N also times N runs of both on one thread (TILE_NUM_THREADS=1), alternating
# rounds: `tilec run --bench N` and `main --bench N`, TILEC_AOT_ROUNDS times (default 3).
# Exit 77 when no model is there.
set -uo pipefail
bin=$1
examples=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
models=${TILEC_MODELS_DIR:-$repo/build/models}
bench=${TILEC_AOT_BENCH:-0}
rounds=${TILEC_AOT_ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$repo/tests/runner/make_inputs.py" "$work/in" >/dev/null || exit 1
fails=0
ran=0
for spec in det:x:1x3x640x640:det_x rec:x:1x3x48x320:rec_x cls:x:1x3x48x192:cls_x \
            superres_op17:input:1x1x224x224:superres_input; do
    IFS=: read -r name input shape file <<<"$spec"
    [[ -f "$models/$name.onnx" ]] || { echo "$name: not in $models, skipped"; continue; }
    ran=$((ran + 1))
    d="$work/$name"
    mkdir -p "$d/ref"
    in="$work/in/$file.npy"
    if ! "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" -o "$d/model.o"; then
        echo "FAIL: $name: tilec -o model.o"; fails=$((fails + 1)); continue
    fi
    "$bin/tilec" run "$models/$name.onnx" --input "$input=$in" --output-dir "$d/ref" >/dev/null ||
        { echo "FAIL: $name: tilec run"; fails=$((fails + 1)); continue; }
    cc -std=c11 -O2 -I"$d" "$examples/aot/main.c" "$d/model.o" -lpthread -lm -o "$d/main" ||
        { echo "FAIL: $name: the example does not link"; fails=$((fails + 1)); continue; }
    expect=()
    while read -r out; do
        expect+=("$d/ref/$(tr -c 'A-Za-z0-9._\n-' _ <<<"$out").npy")
    done < <(sed -n 's|^// output [0-9]*: \([^,]*\),.*|\1|p' "$d/model.h")
    echo "== $name ($(stat -c %s "$d/model.o") bytes of object)"
    "$d/main" "$in" --expect "${expect[@]}" || { echo "FAIL: $name: outputs differ"; fails=$((fails + 1)); }
    mkdir -p "$d/spec"
    if "$bin/tilec" "$models/$name.onnx" --shape "$input=$shape" --specialize -o "$d/spec/model.o" &&
        cc -std=c11 -O2 -I"$d/spec" "$examples/aot/main.c" "$d/spec/model.o" -lpthread -lm -o "$d/spec/main"; then
        echo "== $name --specialize ($(stat -c %s "$d/spec/model.o") bytes of object)"
        "$d/spec/main" "$in" --expect "${expect[@]}" | tee "$d/spec/out.txt"
        if grep -q "differ\|within" "$d/spec/out.txt" || ! grep -q "identical" "$d/spec/out.txt"; then
            echo "FAIL: $name --specialize: outputs not identical to tilec run's"; fails=$((fails + 1))
        fi
    else
        echo "FAIL: $name: tilec --specialize -o model.o"; fails=$((fails + 1))
    fi
    if ((bench > 0)); then
        for ((r = 1; r <= rounds; r++)); do
            TILE_NUM_THREADS=1 "$bin/tilec" run "$models/$name.onnx" --input "$input=$in" \
                --threads 1 --bench "$bench" | sed "s|^|$name round $r tilec run: |"
            TILE_NUM_THREADS=1 "$d/main" "$in" --bench "$bench" | grep bench: |
                sed "s|^|$name round $r model.o:   |"
        done
    fi
done
((ran)) || { echo "aot-models: SKIPPED: no model in $models"; exit 77; }
((fails)) && { echo "aot-models: $fails failure(s)"; exit 1; }
echo "aot-models: all passed"
