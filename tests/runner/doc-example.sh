#!/usr/bin/env bash
# tests/runner/doc-example.sh REPO — docs/runner.md shows examples/runner/run_model.c verbatim (the
# file CI builds and runs as runner-example): the two must not drift apart.
set -euo pipefail
repo=$1
doc=$repo/docs/runner.md
src=$repo/examples/runner/run_model.c
block=$(awk '/^<!-- example: examples\/runner\/run_model.c -->/{f=1; next} f && /^```c$/{g=1; next} g && /^```$/{exit} g' "$doc")
if [[ -z "$block" ]]; then
    echo "docs/runner.md has no code block after '<!-- example: examples/runner/run_model.c -->'"
    exit 1
fi
if ! diff <(printf '%s\n' "$block") "$src"; then
    echo "docs/runner.md's example differs from examples/runner/run_model.c (diff above)"
    exit 1
fi
echo "docs/runner.md shows examples/runner/run_model.c as it is"
