#!/usr/bin/python3
"""bench/fuse_ew.py TILEC_RUN [ROUNDS] [RUNS] — elementwise chains fused into one generated kernel
(runner/fuse_ew.c) against the same graph op by op (`--no-fuse`), on one thread, in alternating
rounds of `TILEC_RUN MODEL --bench RUNS --threads 1` (default 5 rounds of 30 runs); prints each
round's median and minimum and the best of each side. The models (written to a temporary
directory):
  se_block    x[1,96,160,160] * s[1,96,1,1] + b[1,96,1,1] -> Sigmoid -> * x -> + r   (5 nodes;
              s, b constants per channel, r a second full-size input)
  ln_tail     LayerNorm's tail on [1,256,4096]: x / sqrt(v[1,256,1] + 1e-5) * g[4096] + b[4096]
              (Add eps -> Sqrt on the small v is its own kernel, Div -> Mul -> Add one kernel)
Also times the first load (compiles the kernels into a fresh XDG_CACHE_HOME) and the second.
Timing is wall clock (tilec run --bench): say the load average with the figures."""
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TILEC_RUN = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
RUNS = sys.argv[3] if len(sys.argv) > 3 else "30"
D = tempfile.mkdtemp(prefix="tilec-fuse-ew-bench.")
N = helper.make_node
R = np.random.RandomState(0)


def save(name, nodes, inputs, consts, out_shape):
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
    g = helper.make_graph(nodes, name, [vi(n, s) for n, s in inputs.items()], [vi("y", out_shape)],
                          initializer=[numpy_helper.from_array(a, n) for n, a in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = os.path.join(D, name + ".onnx")
    onnx.save(m, path)
    return path


f32 = lambda *s: R.randn(*s).astype(np.float32)
models = {
    "se_block": save("se_block", [N("Mul", ["x", "s"], ["a"]), N("Add", ["a", "b"], ["c"]),
                                  N("Sigmoid", ["c"], ["d"]), N("Mul", ["d", "x"], ["e"]),
                                  N("Add", ["e", "r"], ["y"])],
                     {"x": [1, 96, 160, 160], "r": [1, 96, 160, 160]},
                     {"s": f32(1, 96, 1, 1), "b": f32(1, 96, 1, 1)}, [1, 96, 160, 160]),
    "ln_tail": save("ln_tail", [N("Add", ["v", "eps"], ["ve"]), N("Sqrt", ["ve"], ["sd"]),
                                N("Div", ["x", "sd"], ["n"]), N("Mul", ["n", "g"], ["m"]),
                                N("Add", ["m", "b"], ["y"])],
                    {"x": [1, 256, 4096], "v": [1, 256, 1]},
                    {"eps": np.array(1e-5, np.float32), "g": f32(4096), "b": f32(4096)},
                    [1, 256, 4096]),
}
env = dict(os.environ, XDG_CACHE_HOME=os.path.join(D, "cache"))
print("load average at start: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
for name, path in models.items():
    for label in ("first load (compiles)", "second load (cache)"):
        t0 = time.time()
        p = subprocess.run([TILEC_RUN, path, "--threads", "1", "--profile"], capture_output=True,
                           text=True, env=env)
        line = [l for l in p.stdout.splitlines() if l.startswith("fused:")]
        print("%s: %s %.2f s wall (load + one run): %s" % (name, label, time.time() - t0,
                                                            line[0] if line else p.stderr.strip()))
    best = {}
    for r in range(ROUNDS):
        for mode in ("--no-fuse", "fused"):
            args = [TILEC_RUN, path, "--threads", "1", "--bench", RUNS] + ([mode] if mode != "fused" else [])
            out = subprocess.run(args, capture_output=True, text=True, env=env).stdout
            m = re.search(r"median ([\d.]+) ms, min ([\d.]+) ms", out)
            med, mn = float(m.group(1)), float(m.group(2))
            b = best.setdefault(mode, [1e9, 1e9])
            b[0], b[1] = min(b[0], med), min(b[1], mn)
            print("%s round %d %-9s median %8.3f ms  min %8.3f ms" % (name, r + 1, mode, med, mn))
    print("%s best: op by op median %.3f / min %.3f ms; fused median %.3f / min %.3f ms "
          "(fused / op by op: %.2f / %.2f)" % (name, best["--no-fuse"][0], best["--no-fuse"][1],
                                               best["fused"][0], best["fused"][1],
                                               best["fused"][0] / best["--no-fuse"][0],
                                               best["fused"][1] / best["--no-fuse"][1]))
print("load average at end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
