#!/usr/bin/env bash
# tests/gpu/run.sh — on a machine with an NVIDIA GPU: every stdlib kernel at edge sizes
# (vector_add, softmax, layer norm and matmul against C references in build/gpu/check, the
# others against their x86 build in build/gpu/diff), then timings of tilec's kernels next to
# cuBLAS (PyTorch) and Triton's tutorial matmul (bench/gpu_peers.py) in the same run; prints a
# table and writes bench/results/gpu-<date>.json. Uses build/gpu/ from tests/gpu/build.sh when
# it is there (the GPU machine need not have LLVM), else builds it. Finishes in a few minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -x build/gpu/check || ! -x build/gpu/diff ]]; then
    tests/gpu/build.sh "${ARCH:-sm_90a}"
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
echo "== correctness (build/gpu/check, kernels for $(cat build/gpu/arch))"
build/gpu/check --bench | tee build/gpu/check.log
echo "== the other stdlib kernels against their x86 build (build/gpu/diff)"
diff_status=0
build/gpu/diff | tee build/gpu/diff.log || diff_status=$?
for d in build/gpu/variants/*/; do  # the same checks with other schedules (tests/gpu/build.sh)
    [[ -x "$d/check" ]] || continue
    echo "== schedule $(basename "$d"): $("$d/check" 2>&1 | tail -1)"
done
tilec_json=$(tail -1 build/gpu/check.log)
echo "== peers"
peers_json=$(python3 bench/gpu_peers.py)
day=$(date +%Y-%m-%d)
mkdir -p bench/results "${OUT:-bench/results}"
python3 - "$tilec_json" "$peers_json" "$day" <<'PY'
import json, sys
t = json.loads(sys.argv[1])["tilec"]
p = json.loads(sys.argv[2])
print("%-22s %12s %12s %12s %8s %8s" % ("bf16 matmul", "tilec TF/s", "cuBLAS TF/s", "Triton TF/s", "/cuBLAS", "/Triton"))
for n in (1024, 2048, 4096, 8192):
    a, c, tr = t["matmul_bf16_%d" % n], p.get("cublas_bf16_%d" % n), p.get("triton_bf16_%d" % n)
    print("%-22s %12.1f %12s %12s %8s %8s" % ("%d^3" % n, a, "%.1f" % c if c else "-", "%.1f" % tr if tr else "-",
          "%.2f" % (a / c) if c else "-", "%.2f" % (a / tr) if tr else "-"))
copy = p.get("copy_GBs")
for k in ("softmax", "layernorm"):
    v = t[k + "_GBs"]
    print("%-22s %12.1f GB/s  device copy %s GB/s  ratio %s" % (k + " 16384x1024", v, "%.0f" % copy if copy else "-",
          "%.2f" % (v / copy) if copy else "-"))
out = {"date": sys.argv[3], "tilec": t, "peers": p}
for d in ("bench/results",):
    json.dump(out, open("%s/gpu-%s.json" % (d, sys.argv[3]), "w"), indent=1)
PY
cp "bench/results/gpu-$day.json" "${OUT:-bench/results}/" 2>/dev/null || true
exit "$diff_status"
