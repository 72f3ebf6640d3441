#!/usr/bin/python3
"""tests/fusion/Inputs/make_chains.py DIR — small models whose elementwise chains tilec run fuses
(runner/fuse_ew.c), for the FileCheck tests of the generated kernel text:
  se.onnx    x[1,8,5,7] * HardSigmoid(s[1,8,1,1]) + r[1,8,5,7]: the HardSigmoid stays outside (its
             output is smaller than the chain's), its output a per-channel operand
  row.onnx   Tanh(x[2,3,11] * w[11]) * Sigmoid(x) + 0.5, w a constant row (tanh's helper; x read
             three times; the constant 0.5 a literal)
  dup.onnx   the chain Relu(a + b) * 2 twice on equal shapes (the first's output, read again by an
             Exp, is an operand of the second): one kernel, two fused nodes."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
N = helper.make_node


def save(name, nodes, inputs, consts, outputs):
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
    g = helper.make_graph(nodes, name, [vi(n, s) for n, s in inputs.items()],
                          [vi(n, s) for n, s in outputs.items()],
                          initializer=[numpy_helper.from_array(a, n) for n, a in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(d, name + ".onnx"))


save("se", [N("HardSigmoid", ["s"], ["h"]), N("Mul", ["x", "h"], ["a"]), N("Add", ["a", "r"], ["y"])],
     {"x": [1, 8, 5, 7], "s": [1, 8, 1, 1], "r": [1, 8, 5, 7]}, {}, {"y": [1, 8, 5, 7]})
save("row", [N("Mul", ["x", "w"], ["a"]), N("Tanh", ["a"], ["t"]), N("Sigmoid", ["x"], ["s"]),
             N("Mul", ["t", "s"], ["m"]), N("Add", ["m", "half"], ["y"])],
     {"x": [2, 3, 11]}, {"w": np.linspace(-1, 1, 11).astype(np.float32),
                         "half": np.array(0.5, np.float32)}, {"y": [2, 3, 11]})
save("dup", [N("Add", ["a", "b"], ["s1"]), N("Relu", ["s1"], ["r1"]), N("Mul", ["r1", "two"], ["y1"]),
             N("Add", ["c", "y1"], ["s2"]), N("Relu", ["s2"], ["r2"]), N("Mul", ["r2", "two"], ["y2"]),
             N("Exp", ["y1"], ["e"])],
     {"a": [4, 9], "b": [4, 9], "c": [4, 9]}, {"two": np.array(2, np.float32)},
     {"y2": [4, 9], "e": [4, 9]})
