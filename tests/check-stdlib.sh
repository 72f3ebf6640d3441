#!/usr/bin/env bash
# tests/check-stdlib.sh TILEC [STDLIB_DIR] — runs `TILEC check` on every STDLIB_DIR/*.tile
# (default: the repository's stdlib/). Fails if any check fails, times out, or if there is
# nothing to check. Used by the ctest tests stdlib-check and stdlib-check-asan.
set -euo pipefail

if (($# < 1 || $# > 2)); then
    echo "usage: $0 TILEC [STDLIB_DIR]" >&2
    exit 2
fi
tilec=$1
stdlib=${2:-$(cd "$(dirname "$0")/.." && pwd)/stdlib}
timeout_s=${TILEC_CHECK_TIMEOUT:-120}

if [[ ! -x "$tilec" ]]; then
    echo "check-stdlib: $tilec is not an executable" >&2
    exit 2
fi

shopt -s nullglob
files=("$stdlib"/*.tile)
if ((${#files[@]} == 0)); then
    echo "check-stdlib: no .tile files in $stdlib: nothing to check" >&2
    exit 1
fi

failed=()
for f in "${files[@]}"; do
    rc=0
    timeout "$timeout_s" "$tilec" check "$f" </dev/null || rc=$?
    if ((rc == 0)); then
        echo "PASS: $(basename "$f")"
    else
        if ((rc == 124)); then
            echo "FAIL: $(basename "$f") (timed out after ${timeout_s}s)"
        else
            echo "FAIL: $(basename "$f") (exit $rc)"
        fi
        failed+=("$(basename "$f")")
    fi
done

echo "check-stdlib: ${#files[@]} files, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}"
((${#failed[@]} == 0))
