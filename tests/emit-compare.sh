#!/usr/bin/env bash
# tests/emit-compare.sh OLD_TILEC NEW_TILEC [FILE.tile...]: every --emit stage and header of every
# stdlib kernel (or the files given) for skylake-avx512, x86-64-v3, sm_80 and sm_90a, printed by
# two compilers and compared (tests/emit-stages.sh). A refactoring must change none: exit 0 when
# every output and every error is byte-identical, else the differing files are listed.
# Kept as the check of issue 21's refactoring; it takes ~10 minutes on 2 cores for the stdlib.
#   git worktree add /tmp/old HEAD~ && cmake -S /tmp/old -B /tmp/old/build -G Ninja && ninja -C /tmp/old/build tilec
#   tests/emit-compare.sh /tmp/old/build/bin/tilec build/bin/tilec
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
old=$1
new=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Copies of the binaries, so that a rebuild while this runs changes nothing.
cp "$old" "$work/tilec-old"
cp "$new" "$work/tilec-new"
bash "$here/emit-stages.sh" "$work/tilec-old" "$work/old" "$@"
bash "$here/emit-stages.sh" "$work/tilec-new" "$work/new" "$@"
n=$(ls "$work/old" | wc -l)
if diff -rq "$work/old" "$work/new"; then
    echo "emit-compare: $n files, all identical"
else
    echo "emit-compare: the outputs above differ ($n files compared)"
    exit 1
fi
