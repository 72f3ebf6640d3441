#!/usr/bin/env bash
# tests/layering.sh [REPO]: the stages include only themselves and the stages below them, and
# lowering/ calls nothing of a back end. Prints each violation; exit 1 if there is one.
#   runtime/ (0) < lang/ (1) < parser/ (2) < lowering/ (3) < backends/ (4) < autotune/ (5) < tools/ (6)
# runtime/ is what compiled objects link against; the compiler includes only its tilec_abi.h.
# runner/ (the ONNX runner) stands apart: it sits on runtime/ and the compiled kernels only, never
# on the compiler's stages (it may include runner/ and runtime/ headers, and generated ones).
set -euo pipefail
repo=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$repo"
rank() {
    case $1 in
    runtime) echo 0 ;; lang) echo 1 ;; parser) echo 2 ;; lowering) echo 3 ;; backends) echo 4 ;;
    autotune) echo 5 ;; tools) echo 6 ;; runner) echo 7 ;; *) echo -1 ;;
    esac
}
bad=0
checked=0
for f in $(git ls-files 'runtime/*.[ch]' 'lang/*.[ch]' 'parser/*.[ch]' 'parser/*.[ly]' 'lowering/*.[ch]' \
    'backends/*.[ch]' 'autotune/*.[ch]' 'tools/*.c' 'runner/*.[ch]'); do
    stage=${f%%/*}
    mine=$(rank "$stage")
    dir=$(dirname "$f")
    checked=$((checked + 1))
    while IFS= read -r inc; do
        target=$(realpath -m --relative-to=. "$dir/$inc")
        tstage=${target%%/*}
        theirs=$(rank "$tstage")
        ((theirs >= 0)) || continue  # system and generated headers
        if [[ $stage == runner ]]; then
            if [[ $tstage != runner && $tstage != runtime ]]; then
                echo "$f includes $inc: runner/ sits on runtime/ and the compiled kernels only"
                bad=1
            fi
            continue
        fi
        if [[ $tstage == runner && $stage != tools ]]; then
            echo "$f includes $inc: only tools/ use the runner"
            bad=1
        elif ((theirs > mine)); then
            echo "$f includes $inc: $stage/ may not include $tstage/ (a stage above it)"
            bad=1
        elif [[ $tstage == runtime && $stage != runtime && $target != runtime/tilec_abi.h ]]; then
            echo "$f includes $inc: the compiler includes only runtime/tilec_abi.h"
            bad=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
# No call from lowering/ into a back end (the loop issue 21 removed): no back-end symbol is named.
if grep -nE '\b(x86_[a-z_]+|gpu_[a-z_]+|target_[a-z_]+|object_[a-z_]+|schedule_[a-z_]+)\(' lowering/*.c lowering/*.h |
    grep -v '^\S*:[0-9]*: *//'; then
    echo "lowering/ names a back end's function (above)"
    bad=1
fi
echo "layering: $checked files checked, $([[ $bad == 0 ]] && echo 'no violation' || echo 'violations above')"
exit $bad
