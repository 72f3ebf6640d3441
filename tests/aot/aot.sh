#!/usr/bin/env bash
# tests/aot/aot.sh BIN_DIR EXAMPLES_DIR — models compiled ahead of time (docs/aot.md), on the small
# models of tests/aot/make_model.py (no download needed):
#   1. `tilec tiny.onnx --shape N=2 -o model.o` writes model.o and model.h; examples/aot/main.c
#      links it with only -lpthread -lm and its outputs equal `tilec run`'s (same inputs), also
#      from 4 threads at once; the same for branch.onnx (an If node with subgraphs);
#   2. model.o defines exactly model_run and model_info globally and needs nothing from
#      protobuf-c or ONNX (nm); it holds the generated kernel of tiny.onnx's fused chain;
#   3. two objects (tiny.o, other.o) link into one program and both run (tests/aot/two_models.c);
#   4. errors: a bad model, a symbolic dim without --shape, an unwritable -o, a NAME that is not
#      a C identifier, an -o not ending in .o, no -o: a message naming the file, exit 1, nothing
#      written.
set -uo pipefail
bin=$1
examples=$2
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

/usr/bin/python3 "$here/make_model.py" "$work" || { echo "make_model.py failed"; exit 1; }

# 1. The example, against tilec run.
mkdir -p "$work/m" "$work/ref"
"$bin/tilec" "$work/tiny.onnx" --shape N=2 -o "$work/m/model.o" || fail "tilec tiny.onnx -o model.o"
[[ -f "$work/m/model.h" ]] || fail "model.h not written"
for line in "// input  0: x, float 2x3x8x8 (1536 bytes)" "// input  1: s, float 1 (4 bytes)" \
            "// output 0: y, float 2x5 (40 bytes)" "// output 1: z, int64 2 (16 bytes)" \
            "int model_run(const void *const *inputs, void *const *outputs);" \
            "const TilecAotInfo *model_info(void);" "#define model_NUM_OUTPUTS 2"; do
    grep -qxF "$line" "$work/m/model.h" || fail "model.h lacks the line '$line'"
done
"$bin/tilec" run "$work/tiny.onnx" --shape N=2 --input x="$work/x.npy" --input s="$work/s.npy" \
    --output-dir "$work/ref" >/dev/null || fail "tilec run tiny.onnx"
if $cc -std=c11 -Wall -Wextra -Werror -O2 -I"$work/m" "$examples/aot/main.c" "$work/m/model.o" \
    -lpthread -lm -o "$work/main"; then
    out=$("$work/main" "$work/x.npy" "$work/s.npy" --expect "$work/ref/y.npy" "$work/ref/z.npy" \
          --threads 4 2>&1)
    rc=$?
    echo "$out"
    [[ $rc -eq 0 && "$out" == *"output 'y': identical"* && "$out" == *"output 'z': identical"* &&
       "$out" == *"4 concurrent runs: identical outputs"* ]] || fail "example outputs differ from tilec run's"
else
    fail "the example does not build with model.o"
fi

# The same with a subgraph (an If kept as a node, its branches reading outer values).
mkdir -p "$work/b" "$work/bref"
if "$bin/tilec" "$work/branch.onnx" -o "$work/b/model.o" &&
    "$bin/tilec" run "$work/branch.onnx" --input x="$work/branch_x.npy" --output-dir "$work/bref" >/dev/null &&
    $cc -std=c11 -I"$work/b" "$examples/aot/main.c" "$work/b/model.o" -lpthread -lm -o "$work/bmain"; then
    out=$("$work/bmain" "$work/branch_x.npy" --expect "$work/bref/y.npy" 2>&1)
    rc=$?
    echo "$out"
    [[ $rc -eq 0 && "$out" == *"output 'y': identical"* ]] || fail "branch.o's output differs from tilec run's"
else
    fail "branch.onnx: compiling, running or linking failed"
fi

# 2. Symbols.
globals=$(nm -g --defined-only "$work/m/model.o" | awk '{print $3}' | sort | tr '\n' ' ')
[[ "$globals" == "model_info model_run " ]] || fail "model.o's global symbols: '$globals'"
undef=$(nm -u "$work/m/model.o" | awk '{print $2}')
if grep -qiE 'protobuf|onnx' <<<"$undef"; then fail "model.o needs protobuf/onnx: $(grep -iE 'protobuf|onnx' <<<"$undef" | tr '\n' ' ')"; fi
if nm "$work/m/model.o" | grep -qiE 'protobuf_c|onnx__'; then fail "model.o holds protobuf-c or ONNX code"; fi
# tiny.onnx ends in a chain (Mul by the input s, Add) that is fused into a generated kernel
# (runner/fuse_ew.c): compiled into model.o (tilec_aot_fused_0, local), no compiler at run time.
nm "$work/m/model.o" | grep -E ' t tilec_aot_fused_0$' >/dev/null || fail "model.o lacks the fused chain's kernel"

# 3. Two models in one program.
"$bin/tilec" "$work/tiny.onnx" --shape N=2 -o "$work/tiny.o" || fail "tilec tiny.onnx -o tiny.o"
"$bin/tilec" "$work/other.onnx" -o "$work/other.o" || fail "tilec other.onnx -o other.o"
if $cc -std=c11 -Wall -Wextra -Werror -I"$work" "$here/two_models.c" "$work/tiny.o" "$work/other.o" \
    -lpthread -lm -o "$work/two"; then
    "$work/two" || fail "two models in one program"
else
    fail "two objects do not link into one program"
fi

# 4. Errors.
expect_error() {  # WANT_TEXT OBJ ARGS...: exit 1, the text in stderr, no OBJ or header written
    local want=$1 obj=$2
    shift 2
    local err rc
    err=$("$bin/tilec" "$@" 2>&1 >/dev/null)
    rc=$?
    if [[ $rc -ne 1 || "$err" != *"$want"* ]]; then
        fail "tilec $*: exit $rc, message '$err' (wanted exit 1 and '$want')"
    elif [[ -n "$obj" && ( -e "$obj" || -e "${obj%.o}.h" ) ]]; then
        fail "tilec $*: wrote $obj or its header despite failing"
    else
        echo "ok: $err"
    fi
}
printf 'not a model' >"$work/bad.onnx"
expect_error "bad.onnx: not a valid ONNX model" "$work/e1.o" "$work/bad.onnx" -o "$work/e1.o"
expect_error "input 'x' has a symbolic dimension 0 ('N')" "$work/e2.o" "$work/tiny.onnx" -o "$work/e2.o"
expect_error "cannot write $work/nodir/e3.o" "" "$work/tiny.onnx" --shape N=1 -o "$work/nodir/e3.o"
expect_error "'1model' is not a C identifier" "$work/1model.o" "$work/tiny.onnx" --shape N=1 -o "$work/1model.o"
expect_error "'my-model' is not a C identifier" "$work/my-model.o" "$work/tiny.onnx" --shape N=1 -o "$work/my-model.o"
expect_error "must end in .o" "" "$work/tiny.onnx" --shape N=1 -o "$work/model.obj"
expect_error "give the object to write with -o" "" "$work/tiny.onnx" --shape N=1
expect_error "--shape x: the input has rank 4, not 2" "$work/e4.o" "$work/tiny.onnx" --shape x=2x3 -o "$work/e4.o"
expect_error "cannot open" "$work/e5.o" "$work/missing.onnx" -o "$work/e5.o"

if ((fails)); then
    echo "aot: $fails failure(s)"
    exit 1
fi
echo "aot: all passed"
