#!/usr/bin/python3
"""tests/runner/elementwise_cases.py TILEC_RUN [OUT] — cases of the runner's elementwise group
(runner/ops_elementwise*.c) that ONNX's node tests leave out: random multidirectional
broadcasts of rank 0 to 7 (collapsed past four dimensions, operands broadcast in the innermost
dimension on either side, empty tensors) for the arithmetic, comparison, variadic and Where ops
on every integer and float type (uint64 division included), Where on 1, 2, 4 and 8-byte
elements, Cast between all supported types, and the unary ops on integers, f16 and f64. Each
OUT/cases/NAME (model.onnx + test_data_set_0, references from numpy) must pass
`TILEC_RUN --test-data`; each OUT/errs/NAME must fail with exit 1 and an error message. Exit 1
when any does not. OUT defaults to a fresh temporary directory, removed when everything passed. Run with Debian's /usr/bin/python3 (python3-onnx)."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

if len(sys.argv) < 2:
    sys.exit("usage: elementwise_cases.py TILEC_RUN [OUT]")
TILEC_RUN = sys.argv[1]
# A fresh directory by default (concurrent runs must not share one), removed when all pass.
BASE = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="tilec-elementwise-cases.")
shutil.rmtree(BASE, ignore_errors=True)
rng = np.random.default_rng(1)
random.seed(1)
NP2TP = {np.float32: TP.FLOAT, np.float64: TP.DOUBLE, np.int32: TP.INT32, np.int64: TP.INT64,
         np.uint8: TP.UINT8, np.int8: TP.INT8, np.int16: TP.INT16, np.uint16: TP.UINT16,
         np.uint32: TP.UINT32, np.uint64: TP.UINT64, np.float16: TP.FLOAT16, np.bool_: TP.BOOL}
FLOATS = (np.float32, np.float64, np.float16)
count = {"cases": 0, "errs": 0}


def save(kind, name, op, ins, outs, attrs={}, opset=17):
    count[kind] += 1
    d = os.path.join(BASE, kind, "%s_%d" % (name, count[kind]))
    os.makedirs(d + "/test_data_set_0")
    node = helper.make_node(op, ["x%d" % i for i in range(len(ins))],
                            ["y%d" % i for i in range(len(outs))], **attrs)
    g = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x%d" % i, NP2TP[a.dtype.type], a.shape)
         for i, a in enumerate(ins)],
        [helper.make_tensor_value_info("y%d" % i, NP2TP[a.dtype.type], a.shape)
         for i, a in enumerate(outs)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]),
              d + "/model.onnx")
    for i, a in enumerate(ins):
        with open("%s/test_data_set_0/input_%d.pb" % (d, i), "wb") as f:
            f.write(numpy_helper.from_array(a, "x%d" % i).SerializeToString())
    for i, a in enumerate(outs):
        with open("%s/test_data_set_0/output_%d.pb" % (d, i), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(a), "y%d" % i).SerializeToString())


def case(name, op, ins, outs, attrs={}, opset=17):
    save("cases", name, op, ins, outs, attrs, opset)


def err(name, op, ins, outs, attrs={}, opset=17):
    save("errs", name, op, ins, outs, attrs, opset)


def rand(shape, dt):
    if dt in FLOATS:
        return (rng.standard_normal(shape) * 3).astype(dt)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -100), min(info.max, 100), size=shape,
                        endpoint=True).astype(dt)


def shapes(n):
    """n shapes that broadcast together (some dims 1, some leading dims dropped)"""
    while True:
        out = [random.choice([1, 1, 2, 3, 5, 7, 64, 130]) for _ in range(random.randint(0, 6))]
        if np.prod(out) <= 200000:
            break
    res = []
    for _ in range(n):
        s = out[random.randint(0, len(out)):] if random.random() < 0.3 else list(out)
        res.append([1 if random.random() < 0.4 else d for d in s])
    if random.random() < 0.5:
        res[random.randrange(n)] = list(out)
    return res


TYPES = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8, np.int16, np.uint16,
         np.uint32, np.uint64, np.float16]
with np.errstate(all="ignore"):
    for it in range(120):
        dt = random.choice(TYPES)
        isf = dt in FLOATS
        sa, sb = shapes(2)
        a, b = rand(sa, dt), rand(sb, dt)
        op = random.choice(["Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less",
                            "GreaterOrEqual", "Mod", "Pow", "Sum", "Mean", "PRelu"])
        if op in ("Div", "Mod"):
            b = np.where(b == 0, np.ones_like(b), b)
        if op == "Mod":
            fm = 1 if isf else random.choice([0, 1])
            case(op, op, [a, b], [(np.fmod(a, b) if fm else np.mod(a, b)).astype(dt)],
                 {"fmod": fm})
            continue
        if op == "Pow":
            if not isf:
                continue
            a = np.abs(a) + np.array(0.5, dtype=dt)
        if op == "Mean" and not isf:
            continue
        if op == "PRelu":
            if not isf and dt not in (np.int32, np.int64):
                continue
            a = rand(np.broadcast_shapes(a.shape, b.shape), dt)
        ref = {"Add": lambda: a + b, "Sub": lambda: a - b, "Mul": lambda: a * b,
               "Div": lambda: a / b if isf else np.trunc(a.astype(np.float64) / b),
               "Max": lambda: np.maximum(a, b), "Min": lambda: np.minimum(a, b),
               "Equal": lambda: a == b, "Less": lambda: a < b,
               "GreaterOrEqual": lambda: a >= b, "Pow": lambda: np.power(a, b),
               "Sum": lambda: a + b, "Mean": lambda: (a + b) / 2,
               "PRelu": lambda: np.where(a < 0, a * b, a)}[op]()
        if ref.dtype != np.bool_:
            ref = ref.astype(dt)
        case(op, op, [a, b], [ref])
    for it in range(40):
        dt = random.choice([np.float32, np.int64, np.float16, np.bool_, np.uint8, np.float64,
                            np.int32, np.int16])
        sc, sa, sb = shapes(3)
        c, a, b = rand(sc, np.bool_), rand(sa, dt), rand(sb, dt)
        case("Where", "Where", [c, a, b], [np.where(c, a, b)])

    # collapsed rank past four, operands broadcast on either side, X and Y both broadcast in the
    # innermost dimension, a scalar first operand, empty tensors
    for dt in [np.float32, np.int64, np.float16, np.uint8]:
        a, b = rand([2, 1, 3, 1, 5, 1, 3], dt), rand([1, 2, 1, 4, 1, 6, 1], dt)
        case("Add", "Add", [a, b], [(a + b).astype(dt)])
        case("Sub", "Sub", [b, a], [(b - a).astype(dt)])
        case("Less", "Less", [b, a], [b < a])
        c = rand([1, 2, 3, 1, 5, 1, 1], np.bool_)
        case("Where", "Where", [c, a, b], [np.where(c, a, b)])
        c, x, y = rand([4, 3, 5], np.bool_), rand([4, 1, 1], dt), rand([1, 3, 1], dt)
        case("Where", "Where", [c, x, y], [np.where(c, x, y)])
        s, t = rand([], dt), rand([3, 300], dt)
        case("Sub", "Sub", [s, t], [(s - t).astype(dt)])
        case("Max", "Max", [s, t, s], [np.maximum(s, t)])
        case("Greater", "Greater", [s, t], [s > t])
        e = rand([0, 300], dt)
        case("Add", "Add", [e, t[:1]], [(e + t[:1]).astype(dt)])

    # unsigned integers: values past the signed range
    a = rng.integers(0, 2**64 - 1, size=200, dtype=np.uint64, endpoint=True)
    b = rng.integers(1, 2**64 - 1, size=200, dtype=np.uint64, endpoint=True)
    b[:50] = rng.integers(1, 1000, size=50).astype(np.uint64)
    b[50:60], a[60:70], b[70:80], b[80:90] = 1, 2**64 - 1, 2**63, 2**64 - 1
    case("Div", "Div", [a, b], [a // b])
    case("Mod", "Mod", [a, b], [a % b], {"fmod": 0})
    case("Max", "Max", [a, b], [np.maximum(a, b)])
    case("Less", "Less", [a, b], [a < b])
    sh = np.array([1, 2, 63] * 66 + [0, 5], dtype=np.uint64)
    case("BitShift", "BitShift", [a, sh], [a >> sh], {"direction": "RIGHT"})
    case("BitShift", "BitShift", [a, sh], [a << sh], {"direction": "LEFT"})
    for dt in [np.uint8, np.uint16, np.uint32]:
        top = np.iinfo(dt).max
        x = rng.integers(0, top, size=100, endpoint=True).astype(dt)
        y = rng.integers(1, top, size=100, endpoint=True).astype(dt)
        for op, ref in [("Div", x // y), ("Mod", x % y), ("Sub", x - y), ("Mul", x * y),
                        ("Less", x < y), ("Max", np.maximum(x, y))]:
            case(op, op, [x, y], [ref])
        n = (y % (8 * x.itemsize)).astype(dt)
        case("BitShift", "BitShift", [x, n], [x >> n], {"direction": "RIGHT"})
        case("BitShift", "BitShift", [x, n], [(x << n).astype(dt)], {"direction": "LEFT"})
    a, b = np.array([-7, 7, -7, 7], dtype=np.int32), np.array([3, -3, -3, 3], dtype=np.int32)
    case("Mod", "Mod", [a, b], [np.mod(a, b)], {"fmod": 0})
    case("Mod", "Mod", [a, b], [np.fmod(a, b)], {"fmod": 1})
    case("Div", "Div", [a, b], [np.trunc(a / b).astype(np.int32)])

    # Cast between every pair of supported types (values that every target holds)
    tys = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8, np.int16, np.uint16,
           np.uint32, np.uint64, np.float16, np.bool_]
    for s in tys:
        for d in tys:
            x = rand([random.choice([1, 7, 300])], s)
            if s in FLOATS and d not in FLOATS + (np.bool_,):
                x = np.trunc(np.abs(x) * 10).astype(s)
            if s not in FLOATS + (np.bool_,) and d not in FLOATS + (np.bool_,) \
                    and np.iinfo(d).min == 0:
                x = np.abs(x).astype(s)
            case("Cast", "Cast", [x], [x.astype(d)], {"to": NP2TP[d]})

    # unary ops on integers, f16 and f64
    for dt in [np.int8, np.int16, np.int32, np.int64, np.uint8]:
        x = rand([5, 6], dt)
        if np.issubdtype(dt, np.signedinteger):
            case("Abs", "Abs", [x], [np.abs(x)])
            case("Neg", "Neg", [x], [-x])
            case("Sign", "Sign", [x], [np.sign(x).astype(dt)])
        case("Relu", "Relu", [x], [np.maximum(x, 0).astype(dt)])
        lo = np.array(-5 if np.issubdtype(dt, np.signedinteger) else 5, dtype=dt)
        case("Clip", "Clip", [x, lo, np.array(50, dtype=dt)], [np.clip(x, lo, 50).astype(dt)])
    for dt in [np.float16, np.float64]:
        x = rand([4, 5], dt)
        case("Exp", "Exp", [x], [np.exp(x)])
        case("Tanh", "Tanh", [x], [np.tanh(x)])
        case("Atan", "Atan", [x], [np.arctan(x)])
        case("IsNaN", "IsNaN", [x], [np.isnan(x)])
    x = np.array([1.5, -1.5, 2.5, -2.5, 0.5, 0.49999997, 3.7, -0.2, 8388609.0], np.float32)
    case("Round", "Round", [x], [np.round(x)])
    x = np.array([np.nan, np.inf, -np.inf, 0, 1], np.float32)
    case("IsInf", "IsInf", [x], [np.isneginf(x)], {"detect_positive": 0})
    case("IsNaN", "IsNaN", [x], [np.isnan(x)])

# cases that must fail cleanly
f, i = rand([3], np.float32), rand([3], np.int64)
err("mixed_types", "Add", [f, i], [f])
err("fmod0_float", "Mod", [f, f], [f], {"fmod": 0})
err("fmod2", "Mod", [i, i], [i], {"fmod": 2})
err("bitshift_signed", "BitShift", [i, i], [i], {"direction": "LEFT"})
err("bitshift_direction", "BitShift", [i.astype(np.uint8)] * 2, [i.astype(np.uint8)],
    {"direction": "UP"})
err("where_float_cond", "Where", [f, f, f], [f])
err("where_types", "Where", [f > 0, f, i], [f])
err("no_broadcast", "Add", [rand([3], np.float32), rand([4], np.float32)], [f])
err("prelu_slope", "PRelu", [rand([3], np.float32), rand([2, 3], np.float32)], [f])
err("gelu_approx", "Gelu", [f], [f], {"approximate": "fast"}, opset=20)
err("clip_min_vector", "Clip", [f, f, f], [f])
err("not_float", "Not", [f], [f])
err("exp_int", "Exp", [i], [i])
err("mean_int", "Mean", [i, i], [i])
err("and_float", "And", [f, f], [f > 0])
err("cast_to", "Cast", [f], [f], {"to": 100})
err("isnan_int", "IsNaN", [i], [i > 0])

bad = 0
for kind in ("cases", "errs"):
    for name in sorted(os.listdir(os.path.join(BASE, kind))):
        d = os.path.join(BASE, kind, name)
        r = subprocess.run([TILEC_RUN, d + "/model.onnx", "--test-data", d + "/test_data_set_0"],
                           capture_output=True, text=True, timeout=60)
        ok = r.returncode == 0 if kind == "cases" else (r.returncode == 1 and "error" in r.stderr)
        if not ok:
            bad += 1
            print("%s %s: exit %d: %s" % (kind, name, r.returncode,
                                          (r.stderr.strip() or r.stdout.strip())[-300:]))
print("elementwise_cases: %d cases, %d errors, %d wrong" % (count["cases"], count["errs"], bad))
if bad:
    print("cases kept in " + BASE)
elif len(sys.argv) <= 2:
    shutil.rmtree(BASE, ignore_errors=True)
sys.exit(1 if bad else 0)
