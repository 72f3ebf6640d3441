#!/usr/bin/python3
"""tests/runner/conv_cases.py TILEC_RUN [OUT] — Conv and ConvTranspose through every kernel path of
runner/ops_nn_conv.c (depthwise with every stride form, direct NCHW with 1, 3, 8, 16 and 32-channel
blocks and 16/24/32-channel output blocks, 3-wide filters at every row-width rule, under 8 input
channels as one product over all taps, the transposed NHWC path, 1x1 as a matrix product,
grouped, 1-D, transposed convolution as a product plus a rearrangement and in general), the
pooling and nearest-resize fast paths, at edge sizes (widths not a multiple of any block, one row, one column, batches of 2), with and without a
bias, and the graph passes that rewrite convolutions (activations fused into them, PP-OCR's
spelled-out hard-swish). References in float64 from torch (Debian's python3-torch). Each case is a
model.onnx + test_data_set_0 that must pass `TILEC_RUN --test-data --atol 1e-4`. Exit 1 when any
case fails. Run with /usr/bin/python3."""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

if len(sys.argv) < 2:
    sys.exit("usage: conv_cases.py TILEC_RUN [OUT]")
TILEC_RUN = sys.argv[1]
BASE = sys.argv[2] if len(sys.argv) > 2 else "/tmp/tilec-conv-cases"
R = np.random.RandomState(0)
shutil.rmtree(BASE, ignore_errors=True)


def model(name, nodes, inputs, consts, outputs, opset=13):
    """nodes: helper.make_node list; inputs/consts: {name: array}; outputs: {name: expected}."""
    d = os.path.join(BASE, name)
    os.makedirs(d + "/test_data_set_0")
    vi = lambda n, a: helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
    g = helper.make_graph(nodes, name, [vi(n, a) for n, a in inputs.items()],
                          [vi(n, a) for n, a in outputs.items()],
                          initializer=[numpy_helper.from_array(a, n) for n, a in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    open(d + "/model.onnx", "wb").write(m.SerializeToString())
    for i, (n, a) in enumerate(inputs.items()):
        open(d + "/test_data_set_0/input_%d.pb" % i, "wb").write(
            numpy_helper.from_array(a, n).SerializeToString())
    for i, (n, a) in enumerate(outputs.items()):
        open(d + "/test_data_set_0/output_%d.pb" % i, "wb").write(
            numpy_helper.from_array(a.astype(np.float32), n).SerializeToString())


def t64(a):
    return torch.from_numpy(a.astype(np.float64))


def conv_ref(x, w, b, strides, pads, dil, group):
    """pads: ONNX order (begins then ends)."""
    nsp = x.ndim - 2
    tx = t64(x)
    if nsp == 1:
        tx = F.pad(tx, (pads[0], pads[1]))
        y = F.conv1d(tx, t64(w), None if b is None else t64(b), strides, 0, dil, group)
    else:
        tx = F.pad(tx, (pads[1], pads[3], pads[0], pads[2]))
        y = F.conv2d(tx, t64(w), None if b is None else t64(b), strides, 0, dil, group)
    return y.numpy()


ACTS = {"Relu": lambda y: np.maximum(y, 0), "Sigmoid": lambda y: 1 / (1 + np.exp(-y)),
        "Tanh": np.tanh}


def conv_case(name, N, C, K, hw, k, s=1, p=None, d=1, group=1, bias=True, act=None):
    nsp = len(hw)
    k = (k,) * nsp if isinstance(k, int) else k
    s = (s,) * nsp if isinstance(s, int) else s
    d = (d,) * nsp if isinstance(d, int) else d
    p = [kk // 2 for kk in k] * 2 if p is None else p
    x = R.randn(N, C, *hw).astype(np.float32)
    w = (R.randn(K, C // group, *k) / np.sqrt(C // group * np.prod(k))).astype(np.float32)
    b = R.randn(K).astype(np.float32) if bias else None
    y = conv_ref(x, w, b, s, p, d, group)
    consts = {"W": w}
    ins = ["x", "W"]
    if bias:
        consts["B"] = b
        ins.append("B")
    nodes = [helper.make_node("Conv", ins, ["y" if act is None else "c"], kernel_shape=list(k),
                              strides=list(s), pads=list(p), dilations=list(d), group=group)]
    if act is not None:
        nodes.append(helper.make_node(act, ["c"], ["y"]))
        y = ACTS[act](y)
    model(name, nodes, {"x": x}, consts, {"y": y})


# ---- depthwise (nn_dwconv): unrolled 3x3/5x5 at strides 1, 2, (2, 1), (1, 2), (3, 3); gathers
for k in (3, 5):
    for s in ((1, 1), (2, 2), (2, 1), (1, 2), (3, 3)):
        conv_case("dw_k%d_s%d%d" % (k, s[0], s[1]), 1, 6, 6, (7, 37), k, s, group=6)
conv_case("dw_k3_dil2", 2, 5, 5, (9, 11), 3, 1, d=2, group=5, bias=False)
conv_case("dw_k7_pad_asym", 1, 4, 4, (6, 40), 7, 1, p=[1, 3, 2, 0], group=4)
conv_case("dw_k3_one_row", 1, 8, 8, (1, 70), 3, (2, 1), group=8)

# ---- direct NCHW (nn_conv_nchw): every channel block, strides 1, 2, 3, dilation, asymmetric pads
conv_case("direct_c1_k64_5x5", 1, 1, 64, (13, 45), 5)
conv_case("direct_c3_k16_s2", 2, 3, 16, (17, 66), 3, 2)
conv_case("direct_c3_k8_s2_asym", 1, 3, 8, (10, 33), 3, 2, p=[0, 1, 1, 0])
conv_case("direct_c7_k9_s3", 1, 7, 9, (11, 50), 3, 3, bias=False)
conv_case("direct_c8_k40_dil2", 1, 8, 40, (9, 35), 3, 1, d=2)
conv_case("direct_c12_k96_1x1", 1, 12, 96, (5, 71), 1, 1, p=[0, 0, 0, 0])
conv_case("direct_c16_k32_1x1", 2, 16, 32, (3, 33), 1, 1, p=[0, 0, 0, 0], bias=False)
conv_case("direct_c24_k4_1x1", 1, 24, 4, (4, 65), 1, 1, p=[0, 0, 0, 0])
conv_case("direct_c33_k24", 1, 33, 24, (6, 31), 3)
conv_case("direct_c96_k24", 1, 96, 24, (5, 40), 3)
conv_case("direct_c17_k50", 1, 17, 50, (4, 33), 3)
conv_case("direct_c16_k48_one_col", 1, 16, 48, (9, 1), 3)
conv_case("direct_c3_k16_2x7", 1, 3, 16, (8, 70), (2, 7), 1, p=[0, 3, 1, 3])
conv_case("conv1d_c5_k12", 2, 5, 12, (67,), 3, 1)

# ---- 1x1 from 32 channels (stdlib matmul, then nn_bias_act in tiles of 16, 64, 256 or 1024
# pixels: the least that covers a short row): squeeze-and-excitation's 1x1 maps, rows around
# each tile, with no activation, a piecewise-linear one and another
for hw, act in (((1, 1), "Sigmoid"), ((1, 1), None), ((4, 4), "Relu"), ((1, 17), "Sigmoid"), ((8, 8), None),
                ((5, 13), "Relu"), ((3, 255), "Tanh"), ((1, 767), "Relu"), ((2, 500), None)):
    conv_case("mm_1x1_p%d_%s" % (hw[0] * hw[1], act or "none"), 2 if hw == (4, 4) else 1, 40, 33, hw, 1, 1,
              p=[0, 0, 0, 0], act=act)
conv_case("conv1d_c4_k8_s2", 1, 4, 8, (40,), 5, 2)

# ---- 3-wide filters at unit stride (nn_conv3x3): every row width rule (OW <= 32, 48, 64, 80, 128,
# 160, 224; wider: 160 or 224 when it divides OW, else 128), 1-D, asymmetric pads, one column,
# and below 8 input channels every tap in one product (nn_conv_gemm): 1, 3 and 7 channels (R up
# to 63: two steps of 32), strides 1, 2 and 3, dilation, 1-D, K = 9, 16, 40, 64, 70
for ow in (1, 31, 33, 47, 50, 66, 80, 81, 129, 160, 161, 224, 226, 320, 448):
    conv_case("k3x3_c8_ow%d" % ow, 1, 8, 9 if ow % 2 else 24, (3, ow), 3)
conv_case("k3x3_c40_k70_b2", 2, 40, 70, (4, 37), 3, bias=False)
conv_case("k3x3_c16_k32_1x3", 1, 16, 32, (5, 41), (1, 3), 1, p=[0, 0, 0, 2])
conv_case("k3x3_c24_asym", 1, 24, 16, (6, 35), 3, 1, p=[0, 2, 1, 0])
conv_case("k3x3_c96_k24_5x3", 1, 96, 24, (9, 20), (5, 3), 1)
conv_case("k3x3_conv1d", 1, 12, 16, (70,), 3, 1)
conv_case("gemm_c1_k64_5x5_w224", 1, 1, 64, (5, 224), 5)
conv_case("gemm_c3_k16_s2_w640", 1, 3, 16, (4, 640), 3, 2)
conv_case("gemm_c7_k70_s1_d2", 1, 7, 70, (9, 30), 3, 1, d=2)
conv_case("gemm_c2_k9_s3_7x7", 2, 2, 9, (15, 41), 7, 3, bias=False)
conv_case("gemm_c5_k40_2x5_asym", 1, 5, 40, (6, 97), (2, 5), 1, p=[1, 0, 0, 3])
conv_case("gemm_c4_k8_conv1d_s2", 1, 4, 8, (129,), 5, 2)
conv_case("gemm_c3_k64_s2_d2", 1, 3, 64, (11, 161), 3, 2, d=2)

# ---- wide (direct), transposed NHWC (conv2d_nhwc: strided over 8+ channels, grouped), 1x1 as matmul
conv_case("wide_c64_k64", 1, 64, 64, (6, 35), 3)
conv_case("nhwc_c16_k32_s2", 1, 16, 32, (9, 34), 3, 2)
conv_case("nhwc_grouped", 1, 8, 12, (7, 20), 3, 1, group=2)
conv_case("matmul_c64_k64_1x1", 1, 64, 64, (5, 19), 1, 1, p=[0, 0, 0, 0])
conv_case("grouped_1x1", 1, 8, 8, (5, 19), 1, 1, p=[0, 0, 0, 0], group=4)

# ---- activations fused into the convolution by the graph passes
for act in ACTS:
    conv_case("act_%s_direct" % act, 1, 3, 16, (9, 40), 3, 1, act=act)
    conv_case("act_%s_dw" % act, 1, 6, 6, (9, 40), 3, 1, group=6, act=act)
    conv_case("act_%s_1x1" % act, 1, 64, 64, (4, 20), 1, 1, p=[0, 0, 0, 0], act=act)
    conv_case("act_%s_3x3" % act, 1, 16, 24, (5, 40), 3, 1, act=act)
conv_case("act_relu_nhwc", 1, 64, 64, (6, 35), 3, act="Relu")


# ---- chains after a convolution (fuse.c): constants folded into the weights, activations and
# affine maps as its epilogue, PP-OCR's spelled-out hard-swish; values with another use stay
def chain_case(name, steps, opset=13, C=4, K=8, group=1, extra_output=None):
    """steps: list of (op, const or None, attrs); 'hswish' spells hard-swish out. The reference
    applies the same steps in float64. extra_output: an intermediate also made a graph output."""
    x = R.randn(1, C, 7, 37).astype(np.float32)
    w = (R.randn(K, C // group, 3, 3) / np.sqrt(9 * C // group)).astype(np.float32)
    b = R.randn(K).astype(np.float32)
    y = conv_ref(x, w, b, (1, 1), [1, 1, 1, 1], (1, 1), group)
    consts = {"W": w, "B": b}
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["v0"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1], group=group)]
    cur, outs = "v0", {}
    for i, (op, c, attrs) in enumerate(steps):
        nxt = "v%d" % (i + 1)
        cname = "c%d" % i
        if op == "hswish":
            consts[cname + "_3"] = np.array([3.0], np.float32)
            consts[cname + "_6"] = np.array([6.0], np.float32)
            if opset >= 11:
                consts[cname + "_lo"] = np.array(0.0, np.float32)
                consts[cname + "_hi"] = np.array(6.0, np.float32)
                clip = helper.make_node("Clip", [cur + "a", cname + "_lo", cname + "_hi"], [cur + "c"])
            else:
                clip = helper.make_node("Clip", [cur + "a"], [cur + "c"], min=0.0, max=6.0)
            nodes += [helper.make_node("Add", [cur, cname + "_3"], [cur + "a"]), clip,
                      helper.make_node("Mul", [cur, cur + "c"], [cur + "m"]),
                      helper.make_node("Div", [cur + "m", cname + "_6"], [nxt])]
            y = y * np.clip(y + 3, 0, 6) / 6
        elif c is not None:
            consts[cname] = c
            ins = [cname, cur] if attrs.get("const_first") else [cur, cname]
            nodes.append(helper.make_node(op, ins, [nxt]))
            y = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.divide}[op](
                *((c, y) if attrs.get("const_first") else (y, c)))
        else:
            nodes.append(helper.make_node(op, [cur], [nxt], **attrs))
            if op == "HardSigmoid":
                y = np.clip(attrs.get("alpha", 0.2) * y + attrs.get("beta", 0.5), 0, 1)
            elif op == "LeakyRelu":
                y = np.where(y >= 0, y, attrs.get("alpha", 0.01) * y)
            elif op == "Clip":
                y = np.clip(y, attrs.get("min", -np.inf), attrs.get("max", np.inf))
            elif op == "HardSwish":
                y = y * np.clip(y / 6 + 0.5, 0, 1)
            else:
                y = ACTS[op](y)
        if extra_output == i:
            outs[nxt] = y.copy()
        cur = nxt
    nodes[-1].output[0] = "y"
    if extra_output is not None:
        for n in nodes:
            for j, v in enumerate(n.input):
                if v == cur:
                    n.input[j] = "y"
    outs["y"] = y
    model(name, nodes, {"x": x}, consts, outs, opset=opset)


S = lambda v: np.array([v], np.float32)
lab = [("Mul", S(0.94), {"const_first": 1}), ("Add", S(0.5), {}), ("hswish", None, {}),
       ("Mul", S(0.47), {"const_first": 1}), ("Add", S(-0.2), {})]
chain_case("chain_ppocr_lab_op11", lab, opset=11)
chain_case("chain_ppocr_lab_op9", lab, opset=9)
chain_case("chain_ppocr_lab_dw", lab, opset=11, C=8, K=8, group=8)
chain_case("chain_ppocr_lab_3x3", lab, opset=11, C=16, K=24)
chain_case("chain_per_channel", [("Mul", R.rand(1, 8, 1, 1).astype(np.float32) + 0.5, {}),
                                 ("Sub", R.randn(8, 1, 1).astype(np.float32), {}),
                                 ("Div", S(2.0), {}), ("Relu", None, {}),
                                 ("Mul", S(3.0), {})])
chain_case("chain_hardsigmoid", [("HardSigmoid", None, {"alpha": 0.2, "beta": 0.5}),
                                 ("Add", S(1.0), {})])
chain_case("chain_leakyrelu", [("LeakyRelu", None, {"alpha": 0.1})])
chain_case("chain_relu6", [("Clip", None, {"min": 0.0, "max": 6.0})], opset=9)
chain_case("chain_hardswish_op", [("HardSwish", None, {}), ("Mul", S(0.5), {})], opset=14)
chain_case("chain_two_acts", [("Relu", None, {}), ("Sigmoid", None, {})])
chain_case("chain_act_then_per_channel", [("Relu", None, {}),
                                          ("Mul", R.rand(1, 8, 1, 1).astype(np.float32), {})])
chain_case("chain_used_twice", [("Mul", S(2.0), {}), ("Relu", None, {}), ("Add", S(1.0), {})],
           extra_output=0)
chain_case("chain_hswish_used_twice", [("hswish", None, {}), ("Relu", None, {})], opset=11,
           extra_output=0)


def hswish_alone():
    """Spelled-out hard-swish on a graph input (no convolution): one HardSwish node."""
    x = (R.randn(2, 3, 5, 9) * 4).astype(np.float32)
    consts = {"three": S(3.0), "six": S(6.0)}
    nodes = [helper.make_node("Add", ["x", "three"], ["a"]),
             helper.make_node("Clip", ["a"], ["c"], min=0.0, max=6.0),
             helper.make_node("Mul", ["c", "x"], ["m"]),
             helper.make_node("Div", ["m", "six"], ["y"])]
    model("hswish_alone", nodes, {"x": x}, consts, {"y": x * np.clip(x + 3, 0, 6) / 6}, opset=9)


hswish_alone()


# ---- ConvTranspose: kernel == stride as a product and a rearrangement, and the general kernel
def convtr_case(name, N, C, K, hw, k, s, p=0, op=0, group=1, bias=True):
    x = R.randn(N, C, *hw).astype(np.float32)
    w = (R.randn(C, K // group, k, k) / np.sqrt(C * k * k)).astype(np.float32)
    b = R.randn(K).astype(np.float32) if bias else None
    y = F.conv_transpose2d(t64(x), t64(w), None if b is None else t64(b), s, p, op, group).numpy()
    consts = {"W": w}
    ins = ["x", "W"]
    if bias:
        consts["B"] = b
        ins.append("B")
    node = helper.make_node("ConvTranspose", ins, ["y"], kernel_shape=[k, k], strides=[s, s],
                            pads=[p] * 4, output_padding=[op, op], group=group)
    model(name, [node], {"x": x}, consts, {"y": y})


convtr_case("convtr_k2s2_c24_k24", 1, 24, 24, (9, 21), 2, 2)
convtr_case("convtr_k2s2_c24_k1", 2, 24, 1, (8, 33), 2, 2)
convtr_case("convtr_k2s2_nobias", 1, 5, 7, (3, 4), 2, 2, bias=False)
convtr_case("convtr_k3s3", 1, 4, 6, (5, 17), 3, 3)
convtr_case("convtr_k3s2_pad_outpad", 1, 4, 6, (5, 17), 3, 2, p=1, op=1)
convtr_case("convtr_grouped", 1, 6, 4, (5, 9), 3, 1, p=1, group=2)


# ---- pooling and resizing fast paths (nn_pool_w2: kh x 2 windows side by side; nn_resize_up:
# nearest upsampling of the row by 2, 4 or 8) next to cases the general kernels keep
def pool_case(name, op, shape, k, s, p=(0, 0, 0, 0), **attrs):
    x = R.randn(*shape).astype(np.float32)
    tx = t64(x)
    pad = (p[1], p[3], p[0], p[2])
    if op == "MaxPool":
        y = F.max_pool2d(F.pad(tx, pad, value=-np.inf), k, s).numpy()
    else:
        y = F.avg_pool2d(F.pad(tx, pad), k, s, count_include_pad=True).numpy()
        if sum(p) and not attrs.get("count_include_pad"):
            ones = F.pad(torch.ones_like(tx), pad)
            y = F.avg_pool2d(F.pad(tx, pad), k, s).numpy() / F.avg_pool2d(ones, k, s).numpy()
    node = helper.make_node(op, ["x"], ["y"], kernel_shape=list(k), strides=list(s), pads=list(p),
                            **attrs)
    model(name, [node], {"x": x}, {}, {"y": y})


pool_case("pool_avg_3x2_rec", "AveragePool", (1, 6, 3, 80), (3, 2), (3, 2))
pool_case("pool_avg_2x2_odd", "AveragePool", (2, 3, 9, 67), (2, 2), (2, 2))
pool_case("pool_max_2x2", "MaxPool", (1, 5, 6, 130), (2, 2), (2, 2))
pool_case("pool_max_1x2_one_row", "MaxPool", (1, 4, 1, 33), (1, 2), (1, 2))
pool_case("pool_max_2x2_padded", "MaxPool", (1, 4, 5, 9), (2, 2), (2, 2), p=(1, 1, 0, 0))
pool_case("pool_avg_2x2_stride1", "AveragePool", (1, 4, 5, 9), (2, 2), (1, 1))


def resize_case(name, shape, scales, mode="nearest", opset=13):
    x = R.randn(*shape).astype(np.float32)
    y = x
    for ax, sc in enumerate(scales):
        y = np.repeat(y, int(sc), axis=ax) if sc >= 1 else y
    consts = {"roi": np.array([], np.float32), "scales": np.array(scales, np.float32)}
    node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], mode=mode,
                            coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    model(name, [node], {"x": x}, consts, {"y": y}, opset=opset)


resize_case("resize_nearest_x2", (1, 3, 5, 33), (1, 1, 2, 2))
resize_case("resize_nearest_x4", (1, 2, 4, 9), (1, 1, 4, 4))
resize_case("resize_nearest_x8", (2, 2, 3, 5), (1, 1, 8, 8))
resize_case("resize_nearest_x3", (1, 2, 4, 7), (1, 1, 3, 3))
resize_case("resize_nearest_rows_only", (1, 2, 4, 7), (1, 1, 2, 1))


# ---- chains after a ConvTranspose (PP-OCR det's head: ConvTranspose -> Add(bias) ->
# BatchNormalization -> Relu, and ConvTranspose -> Add -> Sigmoid) and after a Conv with a
# BatchNormalization
def bn_params(K):
    return [R.rand(K).astype(np.float32) + 0.5, R.randn(K).astype(np.float32),
            R.randn(K).astype(np.float32), R.rand(K).astype(np.float32) + 0.5]


def bn_ref(y, gamma, beta, mean, var, eps=1e-5):
    sh = (1, -1) + (1,) * (y.ndim - 2)
    return (y - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * gamma.reshape(sh) + beta.reshape(sh)


def convtr_chain_case(name, C, K, group, steps):
    x = R.randn(1, C, 6, 21).astype(np.float32)
    w = (R.randn(C, K // group, 2, 2) / np.sqrt(C)).astype(np.float32)
    y = F.conv_transpose2d(t64(x), t64(w), None, 2, 0, 0, group).numpy()
    consts, nodes, cur = {"W": w}, [helper.make_node("ConvTranspose", ["x", "W"], ["t0"],
                                                     kernel_shape=[2, 2], strides=[2, 2],
                                                     group=group)], "t0"
    for i, (op, c) in enumerate(steps):
        nxt = "t%d" % (i + 1)
        if op == "Add":
            consts["a%d" % i] = c
            nodes.append(helper.make_node("Add", [cur, "a%d" % i], [nxt]))
            y = y + c
        elif op == "BN":
            names = ["bn%d_%d" % (i, j) for j in range(4)]
            for n_, a in zip(names, c):
                consts[n_] = a
            nodes.append(helper.make_node("BatchNormalization", [cur] + names, [nxt]))
            y = bn_ref(y, *c)
        else:
            nodes.append(helper.make_node(op, [cur], [nxt]))
            y = ACTS[op](y)
        cur = nxt
    nodes[-1].output[0] = "y"
    model(name, nodes, {"x": x}, consts, {"y": y})


convtr_chain_case("chain_convtr_bias_bn_relu", 8, 6, 1,
                  [("Add", R.randn(1, 6, 1, 1).astype(np.float32)), ("BN", bn_params(6)),
                   ("Relu", None)])
convtr_chain_case("chain_convtr_k2_bias_bn_relu", 12, 16, 1,
                  [("Add", R.randn(1, 16, 1, 1).astype(np.float32)), ("BN", bn_params(16)),
                   ("Relu", None)])
convtr_chain_case("chain_convtr_k2_sigmoid", 3, 8, 1, [("Sigmoid", None)])
convtr_chain_case("chain_convtr_grouped_bn", 8, 6, 2, [("BN", bn_params(6)), ("Sigmoid", None)])
convtr_chain_case("chain_convtr_add_sigmoid", 6, 1, 1,
                  [("Add", np.array([0.3], np.float32)), ("Sigmoid", None)])


def conv_bn_relu():
    x = R.randn(1, 5, 7, 30).astype(np.float32)
    w = (R.randn(12, 5, 3, 3) / 6).astype(np.float32)
    p = bn_params(12)
    y = np.maximum(bn_ref(conv_ref(x, w, None, (1, 1), [1, 1, 1, 1], (1, 1), 1), *p), 0)
    consts = {"W": w, "g": p[0], "b": p[1], "m": p[2], "v": p[3]}
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    model("chain_conv_bn_relu", nodes, {"x": x}, consts, {"y": y})


conv_bn_relu()


# ---- layer normalization written out (runner/fuse.c fuse_layernorm, PaddlePaddle's export):
# ReduceMean, Sub, Pow 2 (or Mul d d), ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta ->
# one LayerNormalization (ln_fused_*: its profile must show it); patterns that must stay as
# they are (ln_plain_*: no gamma, d read elsewhere) run unfused. Compared with float64.
def ln_case(name, shape, square="Pow", eps=1e-5, extra_use=False, gamma=True):
    x = (R.randn(*shape) * 3 + 1).astype(np.float32)
    C = shape[-1]
    g = R.randn(C).astype(np.float32)
    b = R.randn(C).astype(np.float32)
    xd = x.astype(np.float64)
    d = xd - xd.mean(-1, keepdims=True)
    n = d / np.sqrt((d * d).mean(-1, keepdims=True) + eps)
    y = n * g + b if gamma else n
    consts = {"two": np.array(2.0, np.float32), "eps": np.array(eps, np.float32), "g": g, "b": b}
    sq = (helper.make_node("Pow", ["d", "two"], ["p"]) if square == "Pow"
          else helper.make_node("Mul", ["d", "d"], ["p"]))
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
             helper.make_node("Sub", ["x", "mean"], ["d"]), sq,
             helper.make_node("ReduceMean", ["p"], ["v"], axes=[-1]),
             helper.make_node("Add", ["v", "eps"], ["ve"]),
             helper.make_node("Sqrt", ["ve"], ["s"]),
             helper.make_node("Div", ["d", "s"], ["n" if gamma else "y"])]
    outs = {"y": y}
    if gamma:
        nodes += [helper.make_node("Mul", ["n", "g"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
    else:
        del consts["g"], consts["b"]
    if extra_use:
        nodes.append(helper.make_node("Neg", ["d"], ["nd"]))
        outs["nd"] = -d
    model(name, nodes, {"x": x}, consts, outs)


ln_case("ln_fused_svtr", (1, 40, 120))
ln_case("ln_fused_mul_square", (2, 3, 17), square="Mul", eps=1e-6)
ln_case("ln_fused_one_col", (3, 1))
ln_case("ln_fused_wide", (4, 1025), eps=1e-3)
ln_case("ln_plain_no_gamma", (2, 5, 33), gamma=False)
ln_case("ln_plain_d_read_twice", (1, 7, 64), extra_use=True)


# ---- softmax written out (fuse_softmax): Exp(x - ReduceMax) / ReduceSum -> one Softmax
# (sm_fused_*), with the axes as an attribute (opset 11) or ReduceSum's input (opset 13); a sum
# read elsewhere stays unfused (sm_plain_*).
def sm_case(name, shape, opset=13, extra_use=False):
    x = (R.randn(*shape) * 4).astype(np.float32)
    xd = x.astype(np.float64)
    ex = np.exp(xd - xd.max(-1, keepdims=True))
    y = ex / ex.sum(-1, keepdims=True)
    consts = {}
    if opset >= 13:
        consts["ax"] = np.array([-1], np.int64)
        rsum = helper.make_node("ReduceSum", ["e", "ax"], ["s"])
    else:
        rsum = helper.make_node("ReduceSum", ["e"], ["s"], axes=[-1])
    nodes = [helper.make_node("ReduceMax", ["x"], ["mx"], axes=[-1]),
             helper.make_node("Sub", ["x", "mx"], ["d"]), helper.make_node("Exp", ["d"], ["e"]), rsum,
             helper.make_node("Div", ["e", "s"], ["y"])]
    outs = {"y": y}
    if extra_use:
        nodes.append(helper.make_node("Neg", ["s"], ["ns"]))
        outs["ns"] = -ex.sum(-1, keepdims=True)
    model(name, nodes, {"x": x}, consts, outs, opset=opset)


sm_case("sm_fused_rows", (1, 8, 40, 40))
sm_case("sm_fused_opset11", (3, 1000), opset=11)
sm_case("sm_fused_one", (5, 1))
sm_case("sm_plain_sum_read_twice", (2, 33), extra_use=True)


def run():
    bad = 0
    names = sorted(os.listdir(BASE))
    for name in names:
        d = os.path.join(BASE, name)
        p = subprocess.run([TILEC_RUN, d + "/model.onnx", "--test-data", d + "/test_data_set_0",
                            "--atol", "1e-4"], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or [""])[-1]
            print("FAIL %s: exit %d: %s" % (name, p.returncode, msg))
            bad += 1
        elif name.startswith("ln_") or name.startswith("sm_"):  # whether the pattern became one node
            op = "LayerNormalization" if name.startswith("ln_") else "Softmax"
            q = subprocess.run([TILEC_RUN, d + "/model.onnx", "--profile", "--no-fuse"], capture_output=True,
                               text=True, timeout=120)
            fused = op in q.stdout + q.stderr
            if fused != ("_fused_" in name):
                print("FAIL %s: %s %s the profile" % (name, op, "in" if fused else "not in"))
                bad += 1
    print("conv cases: %d of %d pass" % (len(names) - bad, len(names)))
    return bad


sys.exit(1 if run() else 0)
