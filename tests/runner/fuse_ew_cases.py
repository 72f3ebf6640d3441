#!/usr/bin/python3
"""tests/runner/fuse_ew_cases.py TILEC_RUN [OUT] — elementwise chains fused into generated kernels
(runner/fuse_ew.c, docs/runner.md "Fusion"). Every case is a small ONNX graph of f32 elementwise
nodes at edge sizes (1, odd sizes, sizes around the 16-lane vector and the 2048-element block,
operands broadcast along each axis, per-channel, per-row and per-column operands, computed and
constant ones, an operand read twice); each is run three ways and must agree:
  - fused (`TILEC_RUN --profile --dump-fused DIR`), with the expected number of TilecFused nodes
    in the profile and one DIR/*.tile per distinct kernel,
  - unfused (`--no-fuse`): the op-by-op kernels, compared with the fused outputs (rtol 1e-5),
  - numpy in float64 (tolerances per case: tanh/erf go through exp, a few ulp).
Then the cache (a second load compiles nothing: the profile's "fused:" line, the .so files'
mtimes unchanged), a failing compiler (TILEC_FUSE_COMPILER=/bin/false: a note on stderr, no fused node, the
same outputs) and TILEC_FUSE=0 (no fusion, nothing said). Each run gets its own XDG_CACHE_HOME
under OUT. Exit 1 when anything fails. Run with /usr/bin/python3 (python3-onnx)."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if len(sys.argv) < 2:
    sys.exit("usage: fuse_ew_cases.py TILEC_RUN [OUT]")
TILEC_RUN = sys.argv[1]
BASE = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="tilec-fuse-ew-cases.")
shutil.rmtree(BASE, ignore_errors=True)
os.makedirs(BASE)
R = np.random.RandomState(3)
failures = []
passed = 0


def fail(name, why):
    failures.append(name)
    print("FAIL %s: %s" % (name, why))


def build(name, nodes, inputs, consts, outputs, opset=17):
    """inputs/consts: {name: array}; outputs: {name: shape}."""
    d = os.path.join(BASE, name)
    os.makedirs(d + "/in")
    vi = lambda n, shape: helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
    g = helper.make_graph(nodes, name, [vi(n, a.shape) for n, a in inputs.items()],
                          [vi(n, shape) for n, shape in outputs.items()],
                          initializer=[numpy_helper.from_array(a, n) for n, a in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, d + "/model.onnx")
    args = []
    for n, a in inputs.items():
        np.save("%s/in/%s.npy" % (d, n), a)
        args += ["--input", "%s=%s/in/%s.npy" % (n, d, n)]
    return d, args


def tilec(d, args, tag, extra, env=None):
    out = "%s/out-%s" % (d, tag)
    e = dict(os.environ)
    e["XDG_CACHE_HOME"] = d + "/cache"
    e.update(env or {})
    p = subprocess.run([TILEC_RUN, d + "/model.onnx", "--output-dir", out] + args + extra,
                       capture_output=True, text=True, timeout=300, env=e)
    return p, out


def load(out, names):
    return [np.load("%s/%s.npy" % (out, n)).astype(np.float64) for n in names]


def check(name, nodes, inputs, consts, outputs, ref, fused, rtol=1e-5, atol=1e-6, opset=17):
    """ref: {output: float64 array}; fused: expected TilecFused nodes."""
    global passed
    d, args = build(name, nodes, inputs, consts, {o: ref[o].shape for o in outputs}, opset)
    dump = d + "/dump"
    p, out = tilec(d, args, "fused", ["--profile", "--dump-fused", dump])
    q, out0 = tilec(d, args, "unfused", ["--no-fuse"])
    if p.returncode or q.returncode:
        return fail(name, "exit %d/%d: %s" % (p.returncode, q.returncode,
                                              (p.stderr + q.stderr).strip()[-400:]))
    n = sum(1 for l in p.stdout.splitlines() if " TilecFused " in l)
    if n != fused:
        return fail(name, "%d TilecFused nodes, expected %d" % (n, fused))
    kernels = glob.glob(dump + "/fused_*.tile")
    if fused and not kernels:
        return fail(name, "no kernel in --dump-fused")
    if "did not compile" in p.stderr:
        return fail(name, p.stderr.strip()[-400:])
    a, b = load(out, outputs), load(out0, outputs)
    for o, x, y in zip(outputs, a, b):
        want = ref[o]
        if x.shape != want.shape:
            return fail(name, "%s: shape %s, expected %s" % (o, x.shape, want.shape))
        if not np.allclose(x, y, rtol=1e-5, atol=1e-6):
            return fail(name, "%s: fused and unfused differ by %g" % (o, np.max(np.abs(x - y))))
        if not np.allclose(x, want, rtol=rtol, atol=atol):
            return fail(name, "%s: differs from numpy by %g" % (o, np.max(np.abs(x - want))))
    passed += 1
    return d, args


def rnd(*shape, lo=-3.0, hi=3.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def f64(a):
    return a.astype(np.float64)


def sig(x):
    return 1 / (1 + np.exp(-x))


N = lambda *a, **k: helper.make_node(*a, **k)

# 1. Same shape: x + y -> Relu -> * 0.5 -> Sigmoid, at sizes around the vector and the block.
for shape in [(3,), (16,), (17,), (2047,), (2049,), (1, 3, 5, 7), (2, 3, 33, 65), (1, 1, 1, 4097)]:
    x, y = rnd(*shape), rnd(*shape)
    ref = sig(np.maximum(f64(x) + f64(y), 0) * 0.5)
    check("same_%s" % "x".join(map(str, shape)),
          [N("Add", ["x", "y"], ["a"]), N("Relu", ["a"], ["b"]), N("Mul", ["b", "h"], ["c"]),
           N("Sigmoid", ["c"], ["out"])],
          {"x": x, "y": y}, {"h": np.array(0.5, np.float32)}, ["out"], {"out": ref}, 1)

# 2. One element (every dimension dropped), and a computed scalar operand (an input of one
# element: X: f32[1], read as a scalar) of a larger output.
x = rnd(1, 1)
check("one_element", [N("Add", ["x", "x"], ["a"]), N("Relu", ["a"], ["out"])], {"x": x}, {},
      ["out"], {"out": np.maximum(2 * f64(x), 0)}, 1)
for sshape in [(1,), (1, 1, 1)]:
    x, s = rnd(3, 5, 2049), rnd(*sshape)
    check("computed_scalar_%d" % len(sshape),
          [N("Mul", ["x", "s"], ["a"]), N("Add", ["a", "s"], ["out"])], {"x": x, "s": s}, {},
          ["out"], {"out": f64(x) * f64(s) + f64(s)}, 1)

# An empty tensor: fused, nothing computed.
x = rnd(0, 5)
check("empty", [N("Add", ["x", "x"], ["a"]), N("Relu", ["a"], ["out"])], {"x": x}, {}, ["out"],
      {"out": np.maximum(2 * f64(x), 0)}, 1)

# 3. Per-channel scale and shift (constants) then Clip(0, 6): a [1, C, 1, 1] pattern.
for shape in [(1, 5, 7, 9), (2, 3, 1, 1), (1, 16, 20, 20), (1, 96, 40, 40), (1, 1, 3, 3)]:
    C = shape[1]
    x, s, b = rnd(*shape), rnd(1, C, 1, 1), rnd(1, C, 1, 1)
    ref = np.clip(f64(x) * f64(s) + f64(b), 0, 6)
    check("channel_%s" % "x".join(map(str, shape)),
          [N("Mul", ["x", "s"], ["a"]), N("Add", ["a", "b"], ["c"]),
           N("Clip", ["c", "lo", "hi"], ["out"])],
          {"x": x}, {"s": s, "b": b, "lo": np.array(0, np.float32), "hi": np.array(6, np.float32)},
          ["out"], {"out": ref}, 1)

# 4. A computed per-channel operand (squeeze-and-excitation: x * HardSigmoid(s) + residual).
for shape in [(1, 24, 17, 19), (2, 8, 5, 3)]:
    Nb, C = shape[:2]
    x, s, r = rnd(*shape), rnd(Nb, C, 1, 1), rnd(*shape)
    ref = f64(x) * np.clip(0.2 * f64(s) + 0.5, 0, 1) + f64(r)
    check("se_%s" % "x".join(map(str, shape)),
          [N("HardSigmoid", ["s"], ["hs"]), N("Mul", ["x", "hs"], ["a"]),
           N("Add", ["a", "r"], ["out"])],
          {"x": x, "s": s, "r": r}, {}, ["out"], {"out": ref}, 1)

# 5. Broadcast along each axis of a rank-4 output, then Tanh (through exp: a few ulp).
shape = (3, 5, 7, 11)
for axis in range(4):
    bs = list(shape)
    bs[axis] = 1
    x, y = rnd(*shape), rnd(*bs)
    ref = np.tanh(f64(x) - f64(y))
    check("axis%d" % axis, [N("Sub", ["x", "y"], ["a"]), N("Tanh", ["a"], ["out"])],
          {"x": x, "y": y}, {}, ["out"], {"out": ref}, 1, rtol=1e-5, atol=2e-6)
# ... and of lower rank (a row of [W] on [N, H, W], a column [H, 1]).
for bshape in [(11,), (7, 1), (1, 11)]:
    x, y = rnd(2, 7, 11), rnd(*bshape)
    ref = np.exp(f64(x) * f64(y) * 0.25)
    check("rank_%s" % "x".join(map(str, bshape)),
          [N("Mul", ["x", "y"], ["a"]), N("Mul", ["a", "q"], ["b"]), N("Exp", ["b"], ["out"])],
          {"x": x, "y": y}, {"q": np.array([0.25], np.float32)}, ["out"], {"out": ref}, 1,
          rtol=2e-6)

# 6. An operand read twice (swish: x * sigmoid(x)), and LayerNorm's tail (PP-OCR rec).
for shape in [(1, 40, 240), (2, 3, 1, 5)]:
    x = rnd(*shape)
    check("swish_%s" % "x".join(map(str, shape)),
          [N("Sigmoid", ["x"], ["s"]), N("Mul", ["x", "s"], ["out"])], {"x": x}, {}, ["out"],
          {"out": f64(x) * sig(f64(x))}, 1)
for shape in [(1, 40, 120), (2, 7, 13)]:
    x, v = rnd(*shape), rnd(*shape[:-1], 1, lo=0.1, hi=2)
    g, b = rnd(shape[-1]), rnd(shape[-1])
    ref = f64(x) / np.sqrt(f64(v) + 1e-5) * f64(g) + f64(b)
    check("layernorm_tail_%s" % "x".join(map(str, shape)),
          [N("Add", ["v", "eps"], ["ve"]), N("Sqrt", ["ve"], ["sd"]), N("Div", ["x", "sd"], ["n"]),
           N("Mul", ["n", "g"], ["m"]), N("Add", ["m", "b"], ["out"])],
          {"x": x, "v": v}, {"eps": np.array(1e-5, np.float32), "g": g, "b": b}, ["out"],
          {"out": ref}, 2, rtol=2e-6)

# 7. The other ops: Pow (by 2 and by a tensor), Abs, Neg, Reciprocal, Log, Floor, Ceil, Max, Min,
# LeakyRelu, HardSwish, Erf (Gelu written out), and Clip of opset 7 (attributes). d = x's log * 10 is read twice (by
# Floor and Ceil): two groups, one on each side of it.
x, y = rnd(3, 37), rnd(3, 37, lo=0.5, hi=2)
check("pow_abs_neg", [N("Pow", ["x", "two"], ["a"]), N("Pow", ["y", "x"], ["b"]),
                      N("Add", ["a", "b"], ["c"]), N("Neg", ["c"], ["d"]), N("Abs", ["d"], ["e"]),
                      N("Reciprocal", ["e"], ["out"])],
      {"x": x, "y": y}, {"two": np.array(2, np.float32)}, ["out"],
      {"out": 1 / np.abs(-(f64(x) ** 2 + f64(y) ** f64(x)))}, 1, rtol=1e-5)
check("log_floor_ceil_max_min",
      [N("Abs", ["x"], ["a"]), N("Add", ["a", "one"], ["b"]), N("Log", ["b"], ["c"]),
       N("Mul", ["c", "ten"], ["d"]), N("Floor", ["d"], ["e"]), N("Ceil", ["d"], ["f"]),
       N("Max", ["e", "y"], ["g"]), N("Min", ["g", "f"], ["out"])],
      {"x": x, "y": y}, {"one": np.array(1, np.float32), "ten": np.array(10, np.float32)}, ["out"],
      {"out": np.minimum(np.maximum(np.floor(np.log(np.abs(f64(x)) + 1) * 10), f64(y)),
                         np.ceil(np.log(np.abs(f64(x)) + 1) * 10))}, 2, rtol=1e-5, atol=1e-5)
x = rnd(2, 5, 9, 31)
check("leaky_hswish", [N("LeakyRelu", ["x"], ["a"], alpha=0.1), N("HardSwish", ["a"], ["out"])],
      {"x": x}, {}, ["out"],
      {"out": (lambda a: a * np.clip(a / 6 + 0.5, 0, 1))(np.where(f64(x) < 0, 0.1 * f64(x), f64(x)))},
      1)
from math import erf  # noqa: E402

verf = np.vectorize(erf)
check("gelu_erf", [N("Div", ["x", "sq2"], ["a"]), N("Erf", ["a"], ["b"]), N("Add", ["b", "one"], ["c"]),
                   N("Mul", ["x", "c"], ["d"]), N("Mul", ["d", "half"], ["out"])],
      {"x": x}, {"sq2": np.array(1.4142135, np.float32), "one": np.array(1, np.float32),
                 "half": np.array(0.5, np.float32)}, ["out"],
      {"out": 0.5 * f64(x) * (1 + verf(f64(x) / 1.4142135))}, 1, rtol=1e-5, atol=1e-6)
check("clip_opset7", [N("Mul", ["x", "x"], ["a"]), N("Clip", ["a"], ["out"], min=-1.0, max=4.0)],
      {"x": x}, {}, ["out"], {"out": np.clip(f64(x) * f64(x), -1, 4)}, 1, opset=7)

# 8. What must stay unfused: an intermediate that is also a graph output (the rest still fuses),
# and a broadcast pattern needing four dimensions.
x, y = rnd(4, 33), rnd(4, 33)
a = f64(x) + f64(y)
check("shared_intermediate",
      [N("Add", ["x", "y"], ["a"]), N("Relu", ["a"], ["b"]), N("Sigmoid", ["b"], ["out"])],
      {"x": x, "y": y}, {}, ["a", "out"], {"a": a, "out": sig(np.maximum(a, 0))}, 1)
x, b, c = rnd(2, 3, 4, 5), rnd(2, 1, 4, 1), rnd(1, 3, 1, 5)
check("four_dims", [N("Add", ["x", "b"], ["a"]), N("Mul", ["a", "c"], ["out"])],
      {"x": x, "b": b, "c": c}, {}, ["out"], {"out": (f64(x) + f64(b)) * f64(c)}, 0)

# 9. The cache, a failing compiler, and the switch.
x, y = rnd(5, 77), rnd(5, 77)
ref = {"out": sig(np.maximum(f64(x) * f64(y), 0))}
nodes = [N("Mul", ["x", "y"], ["a"]), N("Relu", ["a"], ["b"]), N("Sigmoid", ["b"], ["out"])]
res = check("cache", nodes, {"x": x, "y": y}, {}, ["out"], ref, 1)
if res:
    d, args = res
    first = {f: os.stat(f).st_mtime_ns for f in glob.glob(d + "/cache/tilec/fused/*/*.so")}
    p, out = tilec(d, args, "again", ["--profile"])
    again = {f: os.stat(f).st_mtime_ns for f in glob.glob(d + "/cache/tilec/fused/*/*.so")}
    line = [l for l in p.stdout.splitlines() if l.startswith("fused:")]
    if p.returncode or not first or first != again or \
            line != ["fused: 1 generated kernels (0 compiled, 1 from the cache), 0 failed to compile"]:
        fail("cache_second_load", "exit %d, %s, .so files %s -> %s" % (p.returncode, line, first, again))
    else:
        passed += 1
    shutil.rmtree(d + "/cache")
    p, out = tilec(d, args, "false", ["--profile"], {"TILEC_FUSE_COMPILER": "/bin/false"})
    # one note for the one group of three nodes (no smaller group of them is tried)
    if p.returncode or p.stderr.count("did not compile") != 1 or " TilecFused " in p.stdout or \
            not np.allclose(load(out, ["out"])[0], ref["out"], rtol=1e-5, atol=1e-6):
        fail("failing_compiler", "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
    else:
        passed += 1
    p, out = tilec(d, args, "off", ["--profile"], {"TILEC_FUSE": "0"})
    if p.returncode or p.stderr.strip() or " TilecFused " in p.stdout or "fused:" in p.stdout:
        fail("fuse_off", "exit %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
    else:
        passed += 1

print("fused elementwise cases: %d of %d pass" % (passed, passed + len(failures)))
if not failures and len(sys.argv) <= 2:
    shutil.rmtree(BASE, ignore_errors=True)
sys.exit(1 if failures else 0)
