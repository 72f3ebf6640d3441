# tests/autotune/Inputs/make_model.py OUT.onnx [convs|none] — small models for the whole-model
# tuning tests (model-*.test): `convs` runs a 3x3 stride-2 convolution with a ReLU (nn_conv_nchw),
# a depthwise 3x3 (nn_dwconv), a 1x1 of 32 channels (matmul) and a MatMul (matmul) on a
# 1x3x32x32 input, seconds to tune; `none` only adds and multiplies (no tunable kernel call).
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, kind = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)


def const(name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(np.float32), name)


if kind == "convs":
    inits = [const("w1", (32, 3, 3, 3)), const("b1", (32,)), const("w2", (32, 1, 3, 3)),
             const("w3", (32, 32, 1, 1)), const("m", (16, 24))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=32),
        helper.make_node("Conv", ["c2", "w3"], ["c3"]),
        helper.make_node("MatMul", ["c3", "m"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 16, 24])
elif kind == "none":
    inits = [const("a", (4, 4))]
    nodes = [helper.make_node("Add", ["x", "a"], ["t"]), helper.make_node("Mul", ["t", "a"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
else:
    sys.exit("make_model.py: unknown kind %r" % kind)
graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, out)
