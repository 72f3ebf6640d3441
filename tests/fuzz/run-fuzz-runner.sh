#!/usr/bin/env bash
# tests/fuzz/run-fuzz-runner.sh FUZZER [SECONDS [ARTIFACT_DIR]] — runs the libFuzzer target over
# the ONNX loader (tests/fuzz/fuzz_runner.c) for SECONDS (TILEC_FUZZ_SECONDS wins; default 60),
# seeded with the models of ONNX's node tests (libonnx-testdata). Exits non-zero when libFuzzer
# finds a crash, leak, timeout or OOM (kept in ARTIFACT_DIR).
set -euo pipefail
if (($# < 1 || $# > 3)); then
    echo "usage: $0 FUZZER [SECONDS [ARTIFACT_DIR]]" >&2
    exit 2
fi
fuzzer=$(realpath "$1")
seconds=${TILEC_FUZZ_SECONDS:-${2:-60}}
artifacts=${3:-$(dirname "$(dirname "$fuzzer")")/fuzz-artifacts-runner}
nodes=/usr/share/libonnx-testdata/data/node
mkdir -p "$artifacts"
artifacts=$(realpath "$artifacts")
work=$(mktemp -d "${TMPDIR:-/tmp}/tilec-fuzz-runner.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
n=0
for d in "$nodes"/test_*/; do
    t=$(basename "$d")
    cp "$d/model.onnx" "$work/corpus/$t.onnx"
    n=$((n + 1))
done
echo "run-fuzz-runner: $n seed models, $seconds s"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$work/corpus" 2>&1 | tail -25
