#!/usr/bin/env bash
# tests/install-example.sh BUILD_DIR — installs tilec from BUILD_DIR into a temporary prefix,
# configures and builds examples/ against it with find_package(tilec), and runs the example.
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
cmake -S "$root/examples" -B "$tmp/example" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log"
cmake --build "$tmp/example" > "$tmp/build.log"
"$tmp/example/example"
