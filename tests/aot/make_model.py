#!/usr/bin/python3
"""tests/aot/make_model.py DEST — the small model of the ahead-of-time tests (tests/aot/aot.sh).

DEST/tiny.onnx: inputs x (float, N x 3 x 8 x 8, N symbolic) and s (float, 1); outputs
  y (float, N x 5): Softmax(MatMul(Reshape(GAP(hardswish(Relu(BN(Conv(x)))))), W) + B) * s
                    + ConstantOfShape(Shape(logits), 0.25)
  z (int64, N): ArgMax(y, axis 1)
It goes through what the runner's graph passes do: BatchNormalization and Relu fused into the
Conv, a hard-swish spelled out (x * Clip(x + 3, 0, 6) / 6), shape arithmetic (Shape -> Gather ->
Unsqueeze -> Concat -> Reshape) folded once N is fixed, a tensor attribute read at run time.
DEST/other.onnx: a second, different model (x: 2 x 4 float -> Relu(x) * 2 + 1), for linking two
objects into one program. DEST/branch.onnx: an If on a constant condition whose branches read the outer graph's values
(the blob's subgraphs). DEST/x.npy, DEST/s.npy, DEST/other_x.npy, DEST/branch_x.npy: inputs (fixed seed)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def tiny():
    rng = np.random.default_rng(7)
    inits = [
        const("W", rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)),
        const("Wb", rng.normal(0, 0.1, 8).astype(np.float32)),
        const("gamma", rng.uniform(0.5, 1.5, 8).astype(np.float32)),
        const("beta", rng.normal(0, 0.1, 8).astype(np.float32)),
        const("mean", rng.normal(0, 0.1, 8).astype(np.float32)),
        const("var", rng.uniform(0.5, 1.5, 8).astype(np.float32)),
        const("three", np.float32(3)), const("zero", np.float32(0)), const("six", np.float32(6)),
        const("M", rng.normal(0, 0.5, (8, 5)).astype(np.float32)),
        const("B", rng.normal(0, 0.1, 5).astype(np.float32)),
        const("idx0", np.int64(0)), const("minus1", np.array([-1], np.int64)),
        const("ax0", np.array([0], np.int64)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "Wb"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["bn"],
                         epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("Add", ["r", "three"], ["r3"]),
        helper.make_node("Clip", ["r3", "zero", "six"], ["cl"]),
        helper.make_node("Mul", ["r", "cl"], ["m"]),
        helper.make_node("Div", ["m", "six"], ["hs"]),
        helper.make_node("GlobalAveragePool", ["hs"], ["gap"]),
        helper.make_node("Shape", ["x"], ["xs"]),
        helper.make_node("Gather", ["xs", "idx0"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["gap", "newshape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "M"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["sm"], axis=1),
        helper.make_node("Mul", ["sm", "s"], ["sms"]),
        helper.make_node("Shape", ["logits"], ["ls"]),
        helper.make_node("ConstantOfShape", ["ls"], ["quarter"],
                         value=numpy_helper.from_array(np.array([0.25], np.float32))),
        helper.make_node("Add", ["sms", "quarter"], ["y"]),
        helper.make_node("ArgMax", ["y"], ["z"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5]),
         helper.make_tensor_value_info("z", TensorProto.INT64, ["N"])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def other():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Mul", ["r", "two"], ["m"]),
        helper.make_node("Add", ["m", "one"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "other", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [const("two", np.float32(2)), const("one", np.float32(1))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def branch():
    """x (2 x 3) -> If(c, then: x + one, else: x * two) with c a constant: the If stays a node
    with subgraphs that read the outer graph's values (x, one, two)."""
    then_g = helper.make_graph([helper.make_node("Add", ["x", "one"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3])])
    nodes = [helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)]
    graph = helper.make_graph(
        nodes, "branch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [const("c", np.array(True)), const("one", np.float32(1)), const("two", np.float32(2))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def main():
    dest = sys.argv[1]
    os.makedirs(dest, exist_ok=True)
    for name, model in (("tiny", tiny()), ("other", other()), ("branch", branch())):
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(dest, name + ".onnx"))
    rng = np.random.default_rng(11)
    np.save(os.path.join(dest, "x.npy"), rng.normal(0, 1, (2, 3, 8, 8)).astype(np.float32))
    np.save(os.path.join(dest, "s.npy"), np.array([1.5], np.float32))
    np.save(os.path.join(dest, "other_x.npy"), rng.normal(0, 1, (2, 4)).astype(np.float32))
    np.save(os.path.join(dest, "branch_x.npy"), rng.normal(0, 1, (2, 3)).astype(np.float32))


if __name__ == "__main__":
    main()
