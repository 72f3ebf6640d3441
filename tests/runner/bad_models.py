#!/usr/bin/python3
"""tests/runner/bad_models.py OUT — writes the broken models and inputs that tests/runner/bad-inputs.sh
feeds to `tilec run` (each must fail with a clear message, exit 1, no crash, nothing written).
Run with Debian's /usr/bin/python3 (python3-onnx)."""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
os.makedirs(os.path.join(out, "inner"), exist_ok=True)


def save(model, name):
    onnx.save(model, os.path.join(out, name))


def model(nodes, inputs, outputs, inits=(), opset=13, ir=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")

# A good model (y = Relu(x + w)), then cut in the middle of its weights.
good = model([helper.make_node("Add", ["x", "w"], ["s"], name="add"),
              helper.make_node("Relu", ["s"], ["y"], name="relu")], [x], [y], [w])
save(good, "good.onnx")
data = good.SerializeToString()
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(data[: len(data) - 20])
rng = random.Random(7)
with open(os.path.join(out, "random.onnx"), "wb") as f:
    f.write(bytes(rng.randrange(256) for _ in range(4096)))
open(os.path.join(out, "empty.onnx"), "wb").close()

# A cycle: a = Relu(b), b = Relu(a).
save(model([helper.make_node("Relu", ["b"], ["a"], name="first"),
            helper.make_node("Relu", ["a"], ["b"], name="second"),
            helper.make_node("Add", ["x", "b"], ["y"], name="join")], [x], [y]), "cycle.onnx")

# An input nobody defines (a missing initializer).
save(model([helper.make_node("Add", ["x", "weights_missing"], ["y"], name="add_w")], [x], [y]),
     "missing_init.onnx")

# Unsupported ops, several: all must be listed with their node names.
save(model([helper.make_node("FooBarOp", ["x"], ["a"], name="custom_one"),
            helper.make_node("Relu", ["a"], ["b"], name="fine"),
            helper.make_node("StringNormalizer", ["b"], ["c"], name="strings"),
            helper.make_node("MyOp", ["c"], ["y"], name="other_domain", domain="com.example")],
           [x], [y], opset=13), "unsupported.onnx")

# A declared 2^40-element initializer (no data behind it).
huge = TensorProto()
huge.name = "huge"
huge.data_type = TensorProto.FLOAT
huge.dims.extend([1 << 20, 1 << 20])
save(model([helper.make_node("Add", ["x", "huge"], ["y"], name="add_huge")], [x], [y], [huge]),
     "huge.onnx")

# A 2^40-element input: random data for it is refused.
big_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1 << 20, 1 << 20])
big_out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 20, 1 << 20])
save(model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [big_in], [big_out]),
     "huge_input.onnx")

# External data outside the model's folder (and an absolute path).
for name, loc in (("escape.onnx", "../secret.bin"), ("absolute.onnx", "/etc/passwd")):
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([2, 3])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", loc
    save(model([helper.make_node("Add", ["x", "w"], ["y"], name="add_ext")], [x], [y], [t]),
         os.path.join("inner", name))
with open(os.path.join(out, "secret.bin"), "wb") as f:
    f.write(np.zeros(6, np.float32).tobytes())

# Unsupported IR version and opset.
save(model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], ir=2), "old_ir.onnx")
save(model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=5), "old_opset.onnx")

# Inputs of the wrong rank, type and size for good.onnx (x: float [2, 3]).
np.save(os.path.join(out, "wrong_rank.npy"), np.zeros((6,), np.float32))
np.save(os.path.join(out, "wrong_type.npy"), np.zeros((2, 3), np.int64))
np.save(os.path.join(out, "wrong_size.npy"), np.zeros((2, 4), np.float32))
np.save(os.path.join(out, "right.npy"), np.ones((2, 3), np.float32))
with open(os.path.join(out, "not_a_tensor.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00garbage")
