#!/usr/bin/env python3
"""bench/gpu_peers.py — the peers of tests/gpu/run.sh, measured in the same run: bf16 matmul
through PyTorch (cuBLAS) and Triton 3.6's tutorial matmul kernel (its autotuned configs), and
a device-to-device copy for bandwidth. Prints one JSON object (TFLOP/s, GB/s); a peer that is
missing is left out, never guessed."""
import json
import sys

out = {}
try:
    import torch
except ImportError:
    print(json.dumps(out))
    sys.exit(0)


def bench(fn, reps=20):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3 / reps)
    return sorted(times)[2]


for n in (1024, 2048, 4096, 8192):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    out["cublas_bf16_%d" % n] = round(2 * n**3 / bench(lambda: a @ b) / 1e12, 1)

try:
    import triton
    import triton.language as tl

    @triton.autotune(
        configs=[
            triton.Config({"BM": 128, "BN": 256, "BK": 64, "G": 8}, num_stages=3, num_warps=8),
            triton.Config({"BM": 128, "BN": 128, "BK": 64, "G": 8}, num_stages=4, num_warps=4),
            triton.Config({"BM": 64, "BN": 256, "BK": 32, "G": 8}, num_stages=4, num_warps=4),
        ],
        key=["M", "N", "K"],
    )
    @triton.jit
    def mm(a, b, c, M, N, K, sam, sak, sbk, sbn, scm, scn, BM: tl.constexpr, BN: tl.constexpr,
           BK: tl.constexpr, G: tl.constexpr):
        pid = tl.program_id(0)
        npm, npn = tl.cdiv(M, BM), tl.cdiv(N, BN)
        group = pid // (G * npn)
        first = group * G
        gm = min(npm - first, G)
        pm = first + (pid % (G * npn)) % gm
        pn = (pid % (G * npn)) // gm
        rm = (pm * BM + tl.arange(0, BM)) % M
        rn = (pn * BN + tl.arange(0, BN)) % N
        rk = tl.arange(0, BK)
        ap = a + rm[:, None] * sam + rk[None, :] * sak
        bp = b + rk[:, None] * sbk + rn[None, :] * sbn
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        for k in range(0, tl.cdiv(K, BK)):
            x = tl.load(ap, mask=rk[None, :] < K - k * BK, other=0.0)
            y = tl.load(bp, mask=rk[:, None] < K - k * BK, other=0.0)
            acc = tl.dot(x, y, acc)
            ap += BK * sak
            bp += BK * sbk
        cm = pm * BM + tl.arange(0, BM)
        cn = pn * BN + tl.arange(0, BN)
        tl.store(c + cm[:, None] * scm + cn[None, :] * scn, acc.to(tl.bfloat16),
                 mask=(cm[:, None] < M) & (cn[None, :] < N))

    for n in (1024, 2048, 4096, 8192):
        a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
        grid = lambda meta: (triton.cdiv(n, meta["BM"]) * triton.cdiv(n, meta["BN"]),)
        f = lambda: mm[grid](a, b, c, n, n, n, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                             c.stride(0), c.stride(1))
        out["triton_bf16_%d" % n] = round(2 * n**3 / bench(f) / 1e12, 1)
except Exception as e:  # Triton missing or failing: say so, leave its numbers out
    out["triton_error"] = str(e)[:200]

x = torch.empty(16384 * 1024, device="cuda", dtype=torch.float32)
y = torch.empty_like(x)
out["copy_GBs"] = round(8 * x.numel() / bench(lambda: y.copy_(x)) / 1e9, 1)
print(json.dumps(out))
