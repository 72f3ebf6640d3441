#!/usr/bin/env bash
# tools/install-deps.sh — installs tilec's build and test dependencies on Debian 12 (bookworm).
# Idempotent: when every package is present it changes nothing and says so.
#
# LLVM/MLIR 22 (22.1.8) come from Debian's bookworm-security packages. clang 14 is only for
# the libFuzzer target (bin/tilec-fuzz); python3-psutil lets lit enforce per-test timeouts.
# The benchmarks' peers: OpenBLAS (matmul), oneDNN (conv2d), PyTorch (attention).
# The ONNX runner (runner/): protobuf-c and its compiler (C from onnx.proto), onnx.proto itself
# (libonnx-dev), ONNX's backend node tests (libonnx-testdata), python3-onnx for the tests' models.
# GNU parallel runs the shards of a model's tuning in tests/autotune/model-parallel.test
# (docs/autotune.md, "Whole models").
set -euo pipefail

packages=(
    cmake ninja-build make gcc python3 python3-psutil flex bison
    clang libclang-rt-14-dev
    llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
    libzstd-dev zlib1g-dev libxml2-dev libedit-dev libffi-dev libncurses-dev
    libopenblas-dev libdnnl-dev python3-torch
    libsqlite3-dev libxxhash-dev time
    protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata python3-onnx
    parallel
)
# The runner's model tests and benchmark run ONNX Runtime (the npm package onnxruntime-node) on
# Node.js; the machines have node, but a bare Debian gets it from apt.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi

# The NVIDIA back end's assembler: the CUDA toolkit's ptxas (and libdevice), which these
# machines have at /usr/local/cuda (CUDA 13); Debian's nvidia-cuda-toolkit (11.8) cannot
# assemble for sm_90a. Not an apt package here: say so early rather than fail in the tests.
if ! { [[ -n "${CUDA_PATH:-}" && -x "$CUDA_PATH/bin/ptxas" ]] || [[ -x /usr/local/cuda/bin/ptxas ]] ||
       command -v ptxas >/dev/null 2>&1; }; then
    echo "tilec: warning: no CUDA toolkit (ptxas) in \$CUDA_PATH, /usr/local/cuda or PATH: the GPU" >&2
    echo "tilec: tests (tests/lowering/gpu-*) will fail; install CUDA 12 or later or set CUDA_PATH" >&2
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "tilec: all build dependencies present"
    exit 0
fi

echo "tilec: missing packages: ${missing[*]}"
if ((EUID == 0)); then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "tilec: not root and no sudo; install them with:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

# Make sure the install really provided everything (a package apt could not find fails above;
# this catches a half-configured one).
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        echo "tilec: $pkg is still not installed (status: '${status:-none}')" >&2
        exit 1
    fi
done
echo "tilec: installed ${missing[*]}"
