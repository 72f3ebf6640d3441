#!/usr/bin/env bash
# tests/runner/bad-inputs.sh TILEC_RUN — bad models and inputs (tests/runner/bad_models.py) fed to
# `tilec run`: each must exit 1 with a message naming the problem (and the file or node), never
# crash, and write nothing (--output-dir stays absent). The good model must run.
set -uo pipefail
run=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/tilec-bad.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$(dirname "$0")/bad_models.py" "$work" || { echo "bad_models.py failed"; exit 1; }
cd "$work"
fails=0
total=0
# expect NAME 'message fragment' -- tilec-run arguments...
expect() {
    local name=$1 want=$2
    shift 3
    total=$((total + 1))
    rm -rf out
    "$run" "$@" --output-dir out >stdout.txt 2>stderr.txt
    local rc=$?
    local msg
    msg=$(head -c 600 stderr.txt)
    if [[ $rc != 1 ]]; then
        echo "FAIL $name: exit $rc (want 1): $msg"
        fails=$((fails + 1))
    elif ! grep -qF -- "$want" stderr.txt; then
        echo "FAIL $name: message lacks '$want': $msg"
        fails=$((fails + 1))
    elif [[ -e out ]]; then
        echo "FAIL $name: wrote out/ although it failed"
        fails=$((fails + 1))
    else
        echo "ok   $name: $(head -n 1 stderr.txt)"
    fi
}
expect truncated "truncated.onnx:" -- truncated.onnx
expect random "random.onnx: not a valid ONNX model" -- random.onnx
expect empty "empty.onnx:" -- empty.onnx
expect missing "no-such.onnx: cannot open" -- no-such.onnx
expect cycle "cycle through node" -- cycle.onnx
expect missing-initializer "input 'weights_missing' is not an initializer" -- missing_init.onnx
expect unsupported-all "node 'custom_one': FooBarOp" -- unsupported.onnx
expect unsupported-listed "node 'strings': StringNormalizer" -- unsupported.onnx
expect unsupported-domain "node 'other_domain': MyOp (domain 'com.example'" -- unsupported.onnx
expect huge-initializer "tensor 'huge' declares more than 2^36 elements" -- huge.onnx
expect huge-input "input 'x'" -- huge_input.onnx
expect external-escape "leads outside the model's folder" -- inner/escape.onnx
expect external-absolute "is absolute" -- inner/absolute.onnx
expect old-ir "IR version 2 is not supported" -- old_ir.onnx
expect old-opset "opset 5 is not supported" -- old_opset.onnx
expect wrong-rank "input 'x' must have rank 2" -- good.onnx --input x=wrong_rank.npy
expect wrong-type "input 'x' must be float, got int64" -- good.onnx --input x=wrong_type.npy
expect wrong-size "input 'x' must be 2x3, got 2x4" -- good.onnx --input x=wrong_size.npy
expect bad-npy "not_a_tensor.npy" -- good.onnx --input x=not_a_tensor.npy
expect unknown-input "the model has no input of that name" -- good.onnx --input nope=right.npy
expect bad-shape "--shape" -- good.onnx --shape x=2xq
expect bad-option "unknown option '--frobnicate'" -- good.onnx --frobnicate
total=$((total + 1))
if "$run" good.onnx --input x=right.npy --output-dir out >/dev/null 2>stderr.txt && [[ -f out/y.npy ]]; then
    echo "ok   good model runs and writes out/y.npy"
else
    echo "FAIL good model: $(cat stderr.txt)"
    fails=$((fails + 1))
fi
echo "bad-inputs: $((total - fails)) of $total cases as expected"
((fails == 0))
