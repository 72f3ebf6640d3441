#!/usr/bin/env bash
# tests/install-example.sh BUILD_DIR — installs tilec from BUILD_DIR into a temporary prefix,
# configures and builds examples/ against it with find_package(tilec), and runs the example;
# then compiles a model ahead of time with the installed tilec and runs it (examples/aot).
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
cmake -S "$root/examples" -B "$tmp/example" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log"
cmake --build "$tmp/example" > "$tmp/build.log"
"$tmp/example/example"

# A model compiled ahead of time by the installed tilec (bin/tilec-aot, lib/tilec/aot_rt.o; no
# source tree, no build tree), linked with examples/aot/main.c and run (docs/aot.md).
/usr/bin/python3 "$root/tests/aot/make_model.py" "$tmp/aot"
"$tmp/prefix/bin/tilec" "$tmp/aot/tiny.onnx" --shape N=2 -o "$tmp/aot/model.o"
cc -std=c11 -I"$tmp/aot" "$root/examples/aot/main.c" "$tmp/aot/model.o" -lpthread -lm -o "$tmp/aot/main"
"$tmp/aot/main" "$tmp/aot/x.npy" "$tmp/aot/s.npy"
