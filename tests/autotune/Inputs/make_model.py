# tests/autotune/Inputs/make_model.py OUT.onnx [convs|none] — small models for the whole-model
# tuning tests (model-*.test): `convs` runs a 3x3 stride-2 convolution with a ReLU (nn_conv_nchw),
# a depthwise 3x3 (nn_dwconv), a 1x1 of 32 channels (matmul) and a MatMul (matmul) on a
# 1x3x32x32 input, seconds to tune; `none` only adds and multiplies (no tunable kernel call);
# `odd` has odd sizes everywhere (a 1x3x17x23 input; 5, 7, 6 and 11 channels or features): a
# 3x3 stride-2 convolution with a ReLU, a depthwise 3x3, a 1x1, a 3x3 stride 1, a batched MatMul
# and a Gemm with bias (two outputs).
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
elif kind == "odd":
    inits = [const("w1", (5, 3, 3, 3)), const("b1", (5,)), const("w2", (5, 1, 3, 3)), const("w3", (7, 5, 1, 1)),
             const("w4", (6, 7, 3, 3)), const("b4", (6,)), const("m", (12, 13)), const("g", (702, 11)),
             const("gb", (11,))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=5),
        helper.make_node("Conv", ["c2", "w3"], ["c3"]),
        helper.make_node("Conv", ["c3", "w4", "b4"], ["c4"], pads=[1, 1, 1, 1]),
        helper.make_node("MatMul", ["c4", "m"], ["y"]),
        helper.make_node("Flatten", ["y"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "g", "gb"], ["z"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 17, 23])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 9, 13])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 11])
elif kind == "none":
    inits = [const("a", (4, 4))]
    nodes = [helper.make_node("Add", ["x", "a"], ["t"]), helper.make_node("Mul", ["t", "a"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
else:
    sys.exit("make_model.py: unknown kind %r" % kind)
graph = helper.make_graph(nodes, "g", [x], [y, z] if kind == "odd" else [y], initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, out)
