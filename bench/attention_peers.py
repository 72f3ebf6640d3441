#!/usr/bin/env python3
"""bench/attention_peers.py BENCH_BINARY [--smoke] — stdlib attention (tilec, through
bench/attention_bench.c) against PyTorch's CPU attention on the same shapes, f32, in one run.

PyTorch: F.scaled_dot_product_attention where the installed version has it (2.0+), else the
attention PyTorch 1.13 computes in nn.MultiheadAttention: softmax(q @ k^T * scale) @ v with
batched matmuls (a causal mask added as -inf). Prints a table: ms and ratio (PyTorch time /
tilec time: above 1 means tilec is faster). Threads: both use TILE_NUM_THREADS / torch threads
= the same count (ATTN_THREADS, default all cores)."""
import os
import subprocess
import sys
import time

import torch

SHAPES = ["1x8x128x64", "1x8x512x64", "1x8x1024x64", "1x8x1024x128", "1x8x1024x64c", "4x16x1024x64",
          "1x8x2048x64", "8x8x512x128"]
SMOKE = ["1x2x33x64", "1x1x17x128c"]


def torch_attention(q, k, v, causal):
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=0.125)
    s = torch.matmul(q, k.transpose(-2, -1)) * 0.125
    if causal:
        n = s.shape[-1]
        s = s + torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
    return torch.matmul(torch.softmax(s, dim=-1), v)


def time_torch(shape):
    causal = shape.endswith("c")
    nb, nh, s, d = (int(x) for x in shape.rstrip("c").split("x"))
    q, k, v = (torch.rand(nb, nh, s, d) for _ in range(3))
    with torch.no_grad():
        torch_attention(q, k, v, causal)
        reps = 3 if s * s * nb * nh > (1 << 26) else 7
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            torch_attention(q, k, v, causal)
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2] * 1e3


def main():
    binary = sys.argv[1]
    shapes = SMOKE if "--smoke" in sys.argv else SHAPES
    threads = int(os.environ.get("ATTN_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    env = dict(os.environ, TILE_NUM_THREADS=str(threads))
    out = subprocess.run([binary] + shapes, env=env, check=True, capture_output=True, text=True).stdout.split("\n")
    ours = {}
    for line in out:
        if line.strip():
            shape, causal, ms = line.split()
            ours[shape + ("c" if causal == "1" else "")] = float(ms)
    print("attention f32 forward, tilec (stdlib/attention.tile) vs PyTorch %s CPU, %d threads; median ms"
          % (torch.__version__, threads))
    print("%-16s %10s %10s %8s %10s" % ("NBxNHxSxD", "tilec", "pytorch", "ratio", "tilec GF/s"))
    for shape in shapes:
        causal = shape.endswith("c")
        nb, nh, s, d = (int(x) for x in shape.rstrip("c").split("x"))
        flop = 4.0 * nb * nh * s * s * d * (0.5 if causal else 1.0)
        pt = time_torch(shape)
        t = ours[shape]
        print("%-16s %10.3f %10.3f %8.2f %10.1f" % (shape, t, pt, pt / t, flop / t / 1e6))


if __name__ == "__main__":
    main()
