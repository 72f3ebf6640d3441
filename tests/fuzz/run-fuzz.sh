#!/usr/bin/env bash
# tests/fuzz/run-fuzz.sh FUZZER [SECONDS [ARTIFACT_DIR]] — runs the libFuzzer front-end target
# for SECONDS (the environment's TILEC_FUZZ_SECONDS wins; default 60), seeded with a copy of every
# .tile file under tests/ and stdlib/. Crash, leak, timeout and OOM inputs are kept in
# ARTIFACT_DIR (default: FUZZER's build dir/fuzz-artifacts). Exits non-zero when libFuzzer finds
# anything; prints libFuzzer's final stats either way.
set -euo pipefail

if (($# < 1 || $# > 3)); then
    echo "usage: $0 FUZZER [SECONDS [ARTIFACT_DIR]]" >&2
    exit 2
fi
fuzzer=$(realpath "$1")
seconds=${TILEC_FUZZ_SECONDS:-${2:-60}}
root=$(cd "$(dirname "$0")/../.." && pwd)
artifacts=${3:-$(dirname "$(dirname "$fuzzer")")/fuzz-artifacts}

if [[ ! -x "$fuzzer" ]]; then
    echo "run-fuzz: $fuzzer is not an executable (build it: cmake --build build)" >&2
    exit 2
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "run-fuzz: bad number of seconds '$seconds' (TILEC_FUZZ_SECONDS or argument)" >&2
    exit 2
fi
mkdir -p "$artifacts"
artifacts=$(realpath "$artifacts")

work=$(mktemp -d "${TMPDIR:-/tmp}/tilec-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir -p "$corpus" "$work/cwd"

# Seeds: every .tile under tests/ and stdlib/, named after their path so none collide.
nseeds=0
while IFS= read -r -d '' f; do
    rel=${f#"$root"/}
    cp "$f" "$corpus/${rel//\//__}"
    nseeds=$((nseeds + 1))
done < <(find "$root/tests" "$root/stdlib" -name '*.tile' -type f -print0 2>/dev/null)
# Imports in inputs resolve relative to the working directory: give them the stdlib.
if [[ -d "$root/stdlib" ]]; then
    find "$root/stdlib" -maxdepth 1 -name '*.tile' -type f -exec cp {} "$work/cwd/" \;
fi

echo "run-fuzz: $(basename "$fuzzer") for ${seconds}s, $nseeds seeds, artifacts in $artifacts"
marker=$work/start
touch "$marker"
log=$artifacts/last-run.log
rc=0
(cd "$work/cwd" && "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -dict="$root/tests/fuzz/tile.dict" \
    -artifact_prefix="$artifacts/" "$corpus" \
    </dev/null >"$log" 2>&1) || rc=$?

new_artifacts=$(find "$artifacts" -maxdepth 1 -type f -newer "$marker" ! -name last-run.log | sort)
if ((rc != 0)) || [[ -n "$new_artifacts" ]]; then
    tail -n 80 "$log"
    echo "run-fuzz: FAILED (libFuzzer exit $rc); full log: $log"
    [[ -z "$new_artifacts" ]] || printf 'run-fuzz: artifact: %s\n' $new_artifacts
    echo "run-fuzz: reproduce with: $fuzzer <artifact>"
    exit 1
fi
grep -E '^(Done [0-9]+ runs|stat::)' "$log" || tail -n 5 "$log"
echo "run-fuzz: no crashes in ${seconds}s"
