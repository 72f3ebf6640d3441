#!/usr/bin/python3
"""tests/runner/shape_cases.py TILEC_RUN [OUT] — edge cases of the runner's shape group
(runner/ops_shape*.c) that ONNX's node tests leave out: negative and clamped Slice steps, Pad's
wrap/negative/axes forms, Split's num_outputs, the scatter reductions, GatherND batch_dims, every
element size through Transpose (4-byte integers with NaN bit patterns through the f32 kernel),
shape inputs given as graph inputs or constants, ... Each OUT/cases/NAME (model.onnx +
test_data_set_0, references from numpy) must pass `TILEC_RUN --test-data`; each OUT/errs/NAME
must fail with exit 1 and an error message. Exit 1 when any does not. Run with Debian's
/usr/bin/python3 (python3-onnx)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if len(sys.argv) < 2:
    sys.exit("usage: shape_cases.py TILEC_RUN [OUT]")
TILEC_RUN = sys.argv[1]
BASE = sys.argv[2] if len(sys.argv) > 2 else "/tmp/tilec-shape-cases"
R = np.random.RandomState(0)
OUT = os.path.join(BASE, "cases")
shutil.rmtree(BASE, ignore_errors=True)
def case(name, op, inputs, outputs, attrs={}, opset=13, const_inputs=(), in_names=None):
    """inputs: list of np arrays (None = omitted); outputs: list of np arrays (expected)"""
    d = os.path.join(OUT, name); os.makedirs(d + '/test_data_set_0')
    names = []
    ginputs = []; inits = []
    k = 0
    for i, a in enumerate(inputs):
        if a is None: names.append(''); continue
        n = 'in%d' % i; names.append(n)
        if i in const_inputs:
            inits.append(numpy_helper.from_array(a, n))
        else:
            ginputs.append(helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape))
            t = numpy_helper.from_array(a, n)
            open(d + '/test_data_set_0/input_%d.pb' % k, 'wb').write(t.SerializeToString()); k += 1
    onames = ['out%d' % i for i in range(len(outputs))]
    gout = [helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[o.dtype], o.shape) for n, o in zip(onames, outputs)]
    node = helper.make_node(op, names, onames, **attrs)
    g = helper.make_graph([node], name, ginputs, gout, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    m.ir_version = 8
    open(d + '/model.onnx', 'wb').write(m.SerializeToString())
    for i, o in enumerate(outputs):
        t = numpy_helper.from_array(o, onames[i])
        open(d + '/test_data_set_0/output_%d.pb' % i, 'wb').write(t.SerializeToString())

def rnd(shape, dt=np.float32):
    if np.dtype(dt).kind == 'f': return R.randn(*shape).astype(dt)
    if dt == np.bool_: return R.rand(*shape) > 0.5
    return R.randint(-100, 100, size=shape).astype(dt)

I64 = lambda *v: np.array(v, dtype=np.int64)
# ---- Slice
x = rnd((5, 6, 7))
for i, (st, en, ax, sp) in enumerate([
    ([-1, 100], [-100, -100], [0, 1], [-1, -2]),
    ([0], [2**63-1], [2], [3]),
    ([4, 0, 6], [-2**63, 6, 0], [0, 1, 2], [-2, 2, -3]),
    ([2], [2], [1], [1]),
    ([-3], [-1], [-1], [1]),
]):
    sl = [slice(None)] * 3
    for s, e, a, p in zip(st, en, ax, sp):
        d = x.shape[a]
        # ONNX clamps like numpy except extremes
        sl[a] = slice(max(min(s, 2**40), -2**40), max(min(e, 2**40), -2**40), p)
    case('slice_%d' % i, 'Slice', [x, I64(*st), I64(*en), I64(*ax), I64(*sp)], [x[tuple(sl)]], const_inputs=(1, 2, 3, 4))
case('slice_op1', 'Slice', [x], [x[1:3, :, -4:]], dict(starts=[1, -4], ends=[3, 1000], axes=[0, 2]), opset=9)
xi = rnd((4, 9), np.int8)
case('slice_i8_noaxes', 'Slice', [xi, I64(1, 2), I64(3, 9)], [xi[1:3, 2:9]], const_inputs=(1, 2))
# ---- Transpose (int bit patterns through the f32 kernel)
for i, (shape, perm, dt) in enumerate([((3, 67, 129), (0, 2, 1), np.int32), ((67, 129), (1, 0), np.uint32),
        ((2, 3, 40, 50), (0, 2, 3, 1), np.float32), ((2, 3, 40, 50), (0, 3, 1, 2), np.int64),
        ((5, 33, 17), (2, 1, 0), np.float16), ((2, 3, 4, 5, 6), (4, 0, 3, 1, 2), np.int8),
        ((1, 1, 100, 1, 70), (0, 4, 2, 3, 1), np.float32)]):
    if dt in (np.int32, np.uint32):
        a = R.randint(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32).view(dt)
        a.flat[:4] = np.array([0x7F800001, 0x7FC00001, 0x00000001, 0xFF800001], dtype=np.uint32).view(dt)
    else:
        a = rnd(shape, dt)
    case('transpose_%d' % i, 'Transpose', [a], [np.transpose(a, perm)], dict(perm=list(perm)))
# ---- Concat / Split
a, b = rnd((2, 0, 3)), rnd((2, 4, 3))
case('concat_empty', 'Concat', [a, b], [np.concatenate([a, b], 1)], dict(axis=1))
x = rnd((3, 10), np.int16)
case('split_num_outputs', 'Split', [x], np.array_split(x, 4, axis=1)[:0] + [x[:, 0:3], x[:, 3:6], x[:, 6:9], x[:, 9:10]], dict(axis=1, num_outputs=4), opset=18)
case('split_attr11', 'Split', [x], [x[:, :2], x[:, 2:10]], dict(axis=-1, split=[2, 8]), opset=11)
case('split_equal13', 'Split', [x], [x[:, :5], x[:, 5:]], dict(axis=1), opset=13)
# ---- Pad
x = rnd((3, 4), np.float32)
def onnx_pad(x, pads, mode, val=0):
    r = x.ndim; b = pads[:r]; e = pads[r:]
    # crop negative first
    sl = tuple(slice(-bi if bi < 0 else 0, x.shape[i] + ei if ei < 0 else None) for i, (bi, ei) in enumerate(zip(b, e)))
    y = x[sl]
    pw = [(max(bi, 0), max(ei, 0)) for bi, ei in zip(b, e)]
    if mode == 'constant': return np.pad(y, pw, mode='constant', constant_values=val)
    return np.pad(y, pw, mode=mode)
case('pad_wrap', 'Pad', [x, I64(1, 2, 2, 4)], [onnx_pad(x, [1, 2, 2, 4], 'wrap')], dict(mode='wrap'), opset=19, const_inputs=(1,))
case('pad_reflect_big', 'Pad', [x, I64(0, 7, 0, 6)], [np.pad(x, [(0, 0), (7, 6)], mode='reflect')], dict(mode='reflect'), opset=13, const_inputs=(1,))
case('pad_neg_const', 'Pad', [x, I64(-1, 2, 1, -3), np.array(7.5, np.float32)], [onnx_pad(x, [-1, 2, 1, -3], 'constant', 7.5)], dict(mode='constant'), opset=13, const_inputs=(1,))
case('pad_axes18', 'Pad', [x, I64(2, 1), None, I64(-1)], [np.pad(x, [(0, 0), (2, 1)], mode='edge')], dict(mode='edge'), opset=18, const_inputs=(1, 3))
xi = rnd((2, 3, 2), np.int64)
case('pad_attr2', 'Pad', [xi], [np.pad(xi, [(0, 0), (1, 1), (2, 0)], constant_values=3)], dict(pads=[0, 1, 2, 0, 1, 0], value=3.0), opset=7)
case('pad_f16', 'Pad', [x.astype(np.float16), I64(1, 1, 1, 1)], [np.pad(x.astype(np.float16), 1)], opset=13, const_inputs=(1,))
# ---- Scatter reductions
data = rnd((4, 5)); idx = np.array([[1, 1, 3], [0, 0, 0]], np.int64); upd = rnd((2, 3))
def scat_el(data, idx, upd, axis, red):
    y = data.copy()
    for p in np.ndindex(idx.shape):
        q = list(p); q[axis] = idx[p]; q = tuple(q)
        if red == 'none': y[q] = upd[p]
        elif red == 'add': y[q] += upd[p]
        elif red == 'mul': y[q] *= upd[p]
        elif red == 'max': y[q] = max(y[q], upd[p])
        elif red == 'min': y[q] = min(y[q], upd[p])
    return y
for red, dt in [('add', np.float64), ('mul', np.int32), ('max', np.float32), ('min', np.int64), ('none', np.int8)]:
    d, u = rnd((4, 5), dt), rnd((2, 3), dt)
    case('scatter_el_%s' % red, 'ScatterElements', [d, idx, u], [scat_el(d, idx, u, 0, red)], dict(axis=0, reduction=red), opset=18)
d = rnd((4, 3, 2)); ind = np.array([[1], [3], [1]], np.int64); u = rnd((3, 3, 2))
def scat_nd(d, ind, u, red):
    y = d.copy()
    for i in np.ndindex(ind.shape[:-1]):
        t = tuple(ind[i])
        if red == 'none': y[t] = u[i]
        elif red == 'mul': y[t] *= u[i]
        elif red == 'max': y[t] = np.maximum(y[t], u[i])
    return y
case('scatternd_mul_dup', 'ScatterND', [d, ind, u], [scat_nd(d, ind, u, 'mul')], dict(reduction='mul'), opset=16)
case('scatternd_max', 'ScatterND', [d, ind, u], [scat_nd(d, ind, u, 'max')], dict(reduction='max'), opset=18)
ind2 = np.array([[1, 2], [3, -1]], np.int64); u2 = rnd((2, 2))
case('scatternd_full', 'ScatterND', [d, ind2, u2], [scat_nd(d, ind2 % np.array([4, 3]), u2, 'none')], opset=13)
# ---- Gathers
d = rnd((2, 3, 4), np.int8); ind = np.array([[[1, 0], [2, 3]], [[0, 0], [1, 1]]], np.int64)
ref = np.stack([d[b][tuple(ind[b].T)] for b in range(2)])
case('gathernd_batch1', 'GatherND', [d, ind], [ref], dict(batch_dims=1), opset=13)
d = rnd((3, 4), np.float64); ind = np.array([[-1, 0], [2, -4], [0, 1]], np.int32)
case('gather_elements_neg_axis1', 'GatherElements', [d, ind], [np.take_along_axis(d, ind % 4, 1)], dict(axis=1))
d = rnd((3, 4, 5), np.uint16); ind = np.array([[4, -1], [0, 2]], np.int64)
case('gather_axis_neg', 'Gather', [d, ind], [np.take(d, ind % 5, axis=-1)], dict(axis=-1))
case('gather_scalar_idx', 'Gather', [d, np.array(2, np.int32)], [d[2]], dict(axis=0))
# ---- Compress, OneHot
d = rnd((3, 4)); cond = np.array([0, 1, 1, 0, 0, 1], bool)
case('compress_flat', 'Compress', [d, cond], [np.compress(cond, d.ravel())], const_inputs=(1,))
ind = np.array([[1.7, -1.2], [5, 2]], np.float32)
oh = np.zeros((2, 2, 4), np.int64) + 3
for p in np.ndindex(ind.shape):
    v = int(ind[p]);
    if v < 0: v += 4
    if 0 <= v < 4: oh[p + (v,)] = 9
case('onehot_float', 'OneHot', [ind, np.array([4.0], np.float32), np.array([3, 9], np.int64)], [oh], dict(axis=-1), opset=11, const_inputs=(1,))
case('onehot_axis0', 'OneHot', [ind, np.array(4, np.int64), np.array([3, 9], np.int64)], [np.moveaxis(oh, -1, 0)], dict(axis=0), opset=11, const_inputs=(1,))
# ---- Expand, Tile
x = rnd((3, 1), np.int64)
case('expand_up', 'Expand', [x, I64(2, 1, 6)], [x * np.ones((2, 1, 6), np.int64)], const_inputs=(1,))
x = rnd((2, 3), np.float16)
case('tile_zero', 'Tile', [x, I64(3, 0)], [np.tile(x, (3, 0))], const_inputs=(1,))
case('tile_mix', 'Tile', [x, I64(2, 3)], [np.tile(x, (2, 3))], const_inputs=(1,))
# ---- Range, ConstantOfShape, EyeLike, Trilu
case('range_i64_neg', 'Range', [np.array(10, np.int64), np.array(-7, np.int64), np.array(-3, np.int64)], [np.arange(10, -7, -3, dtype=np.int64)], opset=11)
case('range_i16', 'Range', [np.array(1, np.int16), np.array(20, np.int16), np.array(4, np.int16)], [np.arange(1, 20, 4, dtype=np.int16)], opset=11)
case('range_f64', 'Range', [np.array(0.5, np.float64), np.array(3.0, np.float64), np.array(0.25, np.float64)], [np.arange(0.5, 3.0, 0.25)], opset=11)
case('range_empty', 'Range', [np.array(5, np.int32), np.array(1, np.int32), np.array(2, np.int32)], [np.arange(5, 1, 2, dtype=np.int32)], opset=11)
case('cos_scalar', 'ConstantOfShape', [np.zeros(0, np.int64)], [np.array(42, np.int64)], dict(value=numpy_helper.from_array(np.array([42], np.int64))), opset=9)
case('cos_f16', 'ConstantOfShape', [I64(2, 3)], [np.full((2, 3), 1.5, np.float16)], dict(value=numpy_helper.from_array(np.array([1.5], np.float16))), opset=9)
case('cos_default', 'ConstantOfShape', [I64(2, 0, 3)], [np.zeros((2, 0, 3), np.float32)], opset=9)
case('eyelike_bool_k', 'EyeLike', [rnd((3, 5))], [np.eye(3, 5, k=2, dtype=bool)], dict(dtype=TensorProto.BOOL, k=2), opset=9)
case('eyelike_neg_k', 'EyeLike', [rnd((4, 3), np.int32)], [np.eye(4, 3, k=-3, dtype=np.int32)], dict(k=-3), opset=9)
x = rnd((2, 3, 4, 5), np.int64)
case('trilu_upper_batch', 'Trilu', [x, np.array(-1, np.int64)], [np.triu(x, -1)], opset=14)
case('trilu_lower_huge', 'Trilu', [x, np.array(2**62, np.int64)], [np.tril(x, 2**40)], dict(upper=0), opset=14)
case('trilu_lower_neghuge', 'Trilu', [x, np.array(-2**63, np.int64)], [np.zeros_like(x)], dict(upper=0), opset=14)
# ---- Views
x = rnd((2, 0, 3))
case('reshape_allowzero', 'Reshape', [x, I64(3, 0, 2)], [x.reshape(3, 0, 2)], dict(allowzero=1), opset=14, const_inputs=(1,))
x = rnd((1, 3, 1, 2), np.uint8)
case('squeeze_all', 'Squeeze', [x], [x.reshape(3, 2)], opset=13)
case('unsqueeze_attr', 'Unsqueeze', [x], [x.reshape(1, 3, 1, 2, 1, 1)], dict(axes=[-1, 4]), opset=11)
# ---- DepthToSpace CRD on int8; SpaceToDepth f64
x = rnd((2, 8, 3, 2), np.int8); b = 2
n, c, h, w = x.shape
crd = x.reshape(n, c // 4, b, b, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // 4, h * b, w * b)
case('d2s_crd_i8', 'DepthToSpace', [x], [crd], dict(blocksize=2, mode='CRD'), opset=13)
x = rnd((2, 3, 6, 4), np.float64)
n, c, h, w = x.shape
s2d = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h // b, w // b)
case('s2d_f64', 'SpaceToDepth', [x], [s2d], dict(blocksize=2), opset=13)
# ---- Dropout with mask, opset 10 (bool mask) and 7 (mask T)
x = rnd((3, 4))
case('dropout_mask10', 'Dropout', [x], [x, np.ones((3, 4), bool)], opset=10)
# ---- Shape / Size on a bool tensor
x = rnd((2, 3, 4), np.bool_)
case('shape_bool', 'Shape', [x], [I64(3, 4)], dict(start=-2), opset=15)
case('size_bool', 'Size', [x], [np.array(24, np.int64)], opset=13)
# ---- data-dependent shapes: shape inputs given as graph inputs
d = rnd((3, 4)); cond = np.array([1, 0, 1], bool)
case('dyn_compress', 'Compress', [d, cond], [np.compress(cond, d, axis=0)], dict(axis=0))
case('dyn_range', 'Range', [np.array(2, np.int64), np.array(11, np.int64), np.array(3, np.int64)], [np.arange(2, 11, 3)], opset=11)
case('dyn_reshape', 'Reshape', [d, I64(-1, 2)], [d.reshape(-1, 2)])
case('dyn_slice', 'Slice', [d, I64(1), I64(-1), I64(1)], [d[:, 1:-1]])
case('dyn_dropout', 'Dropout', [d, np.array(0.3, np.float32), np.array(False)], [d, np.ones((3, 4), bool)], opset=13)
case('dyn_dropout_train0', 'Dropout', [d, np.array(0.0, np.float32), np.array(True)], [d], opset=13)
case('dyn_tile', 'Tile', [d, I64(1, 2)], [np.tile(d, (1, 2))])
case('dyn_expand', 'Expand', [d, I64(2, 1, 1)], [np.broadcast_to(d, (2, 3, 4)).copy()])
case('dyn_onehot', 'OneHot', [I64(0, 2), I64(3), np.array([0, 1], np.float32)], [np.eye(3, dtype=np.float32)[[0, 2]]], opset=11)
case('dyn_cos', 'ConstantOfShape', [I64(2, 2)], [np.zeros((2, 2), np.float32)], opset=9)
case('dyn_split', 'Split', [d, I64(1, 3)], [d[:, :1], d[:, 1:]], dict(axis=1))
case('dyn_pad', 'Pad', [d, I64(0, 1, 0, 1)], [np.pad(d, [(0, 0), (1, 1)])])
case('dyn_squeeze', 'Squeeze', [d.reshape(3, 1, 4), I64(1)], [d])
# ---- errors (expected to fail cleanly): the outputs are dummies
OUT_OK = OUT
OUT = os.path.join(BASE, 'errs')
dd = np.zeros(1, np.float32)
case('e_reshape_two_minus', 'Reshape', [d, I64(-1, -1)], [dd], const_inputs=(1,))
case('e_reshape_count', 'Reshape', [d, I64(5, 2)], [dd], const_inputs=(1,))
case('e_reshape_dyn_count', 'Reshape', [d, I64(5, 2)], [dd])
case('e_gather_oob', 'Gather', [d, I64(0, 3)], [dd], dict(axis=0))
case('e_gather_oob_neg', 'Gather', [d, I64(-5)], [dd], dict(axis=1))
case('e_gather_elements_oob', 'GatherElements', [d, np.array([[7]], np.int64)], [dd], dict(axis=1))
case('e_gathernd_oob', 'GatherND', [d, np.array([[3, 0]], np.int64)], [dd])
case('e_scatternd_oob', 'ScatterND', [d, np.array([[0, 9]], np.int64), np.array([1], np.float32)], [dd])
case('e_scatter_el_oob', 'ScatterElements', [d, np.array([[9]], np.int64), np.array([[1]], np.float32)], [dd])
case('e_scatter_f16_add', 'ScatterND', [d.astype(np.float16), np.array([[0, 1]], np.int64), np.array([1], np.float16)], [dd], dict(reduction='add'), opset=16)
case('e_scatter_max_16', 'ScatterND', [d, np.array([[0, 1]], np.int64), np.array([1], np.float32)], [dd], dict(reduction='max'), opset=16)
case('e_transpose_perm', 'Transpose', [d], [dd], dict(perm=[0, 0]))
case('e_transpose_perm_len', 'Transpose', [d], [dd], dict(perm=[1, 0, 2]))
case('e_slice_step0', 'Slice', [d, I64(0), I64(2), I64(0), I64(0)], [dd], const_inputs=(1, 2, 3, 4))
case('e_slice_axis_rep', 'Slice', [d, I64(0, 0), I64(2, 2), I64(0, -2)], [dd], const_inputs=(1, 2, 3))
case('e_slice_axis_oob', 'Slice', [d, I64(0), I64(2), I64(2)], [dd], const_inputs=(1, 2, 3))
case('e_split_sum', 'Split', [d, I64(1, 2)], [dd, dd], dict(axis=1), const_inputs=(1,))
case('e_split_uneven', 'Split', [d], [dd, dd, dd], dict(axis=1))
case('e_concat_rank', 'Concat', [d, d.reshape(12)], [dd], dict(axis=0))
case('e_concat_dims', 'Concat', [d, d.T.copy()], [dd], dict(axis=0))
case('e_concat_type', 'Concat', [d, d.astype(np.float64)], [dd], dict(axis=0))
case('e_expand', 'Expand', [d, I64(3, 5)], [dd], const_inputs=(1,))
case('e_expand_neg', 'Expand', [d, I64(-3, 4)], [dd], const_inputs=(1,))
case('e_tile_len', 'Tile', [d, I64(2)], [dd], const_inputs=(1,))
case('e_tile_neg', 'Tile', [d, I64(2, -1)], [dd], const_inputs=(1,))
case('e_tile_huge', 'Tile', [d, I64(2**40, 2**40)], [dd], const_inputs=(1,))
case('e_cos_huge', 'ConstantOfShape', [I64(2**62, 2**62, 4)], [dd], opset=9)
case('e_cos_neg', 'ConstantOfShape', [I64(2, -1)], [dd], opset=9)
case('e_range_zero_delta', 'Range', [np.array(0, np.int32), np.array(5, np.int32), np.array(0, np.int32)], [dd], opset=11)
case('e_range_huge', 'Range', [np.array(-2**63, np.int64), np.array(2**63 - 1, np.int64), np.array(1, np.int64)], [dd], opset=11)
case('e_range_mixed', 'Range', [np.array(0, np.int32), np.array(5, np.int64), np.array(1, np.int32)], [dd], opset=11)
case('e_range_nan', 'Range', [np.array(0, np.float32), np.array(np.nan, np.float32), np.array(1, np.float32)], [dd], opset=11)
case('e_range_uint8', 'Range', [np.array(0, np.uint8), np.array(5, np.uint8), np.array(1, np.uint8)], [dd], opset=11)
case('e_onehot_depth0', 'OneHot', [I64(0), I64(0), np.array([0, 1], np.float32)], [dd], opset=11)
case('e_onehot_values', 'OneHot', [I64(0), I64(3), np.array([0, 1, 2], np.float32)], [dd], opset=11)
case('e_pad_neg', 'Pad', [d, I64(-4, 0, 0, 0)], [dd], const_inputs=(1,))
case('e_pad_len', 'Pad', [d, I64(1, 1)], [dd], const_inputs=(1,))
case('e_pad_mode', 'Pad', [d, I64(1, 1, 1, 1)], [dd], dict(mode='mirror'), const_inputs=(1,))
case('e_pad_edge_empty', 'Pad', [np.zeros((2, 0), np.float32), I64(0, 1, 0, 1)], [dd], dict(mode='edge'), const_inputs=(1,))
case('e_pad_value_type', 'Pad', [d, I64(1, 1, 1, 1), np.array(1, np.int32)], [dd], const_inputs=(1,))
case('e_pad_huge', 'Pad', [d, I64(2**62, 0, 0, 0)], [dd], const_inputs=(1,))
case('e_d2s_channels', 'DepthToSpace', [rnd((1, 6, 2, 2))], [dd], dict(blocksize=2))
case('e_d2s_rank', 'DepthToSpace', [rnd((4, 2, 2))], [dd], dict(blocksize=2))
case('e_d2s_mode', 'DepthToSpace', [rnd((1, 4, 2, 2))], [dd], dict(blocksize=2, mode='XYZ'))
case('e_s2d_block0', 'SpaceToDepth', [rnd((1, 4, 2, 2))], [dd], dict(blocksize=0))
case('e_s2d_hw', 'SpaceToDepth', [rnd((1, 4, 3, 2))], [dd], dict(blocksize=2))
case('e_squeeze_not1', 'Squeeze', [d, I64(0)], [dd], const_inputs=(1,))
case('e_unsqueeze_rep', 'Unsqueeze', [d, I64(0, -4)], [dd], const_inputs=(1,))
case('e_unsqueeze_rank9', 'Unsqueeze', [d, I64(0, 1, 2, 3, 4, 5, 6)], [dd], const_inputs=(1,))
case('e_flatten_axis', 'Flatten', [d], [dd], dict(axis=3))
case('e_compress_long', 'Compress', [d, np.array([0, 0, 0, 1], bool)], [dd], dict(axis=0), const_inputs=(1,))
case('e_compress_type', 'Compress', [d, np.array([0, 1], np.int32)], [dd], dict(axis=0), const_inputs=(1,))
case('e_revseq_len', 'ReverseSequence', [d, I64(5, 1, 1, 1)], [dd], dict(batch_axis=1, time_axis=0))
case('e_revseq_axes', 'ReverseSequence', [d, I64(1, 1, 1)], [dd], dict(batch_axis=0, time_axis=0))
case('e_trilu_rank', 'Trilu', [rnd((3,))], [dd], opset=14)
case('e_eyelike_rank', 'EyeLike', [rnd((3,))], [dd], opset=9)
case('e_eyelike_dtype', 'EyeLike', [rnd((3, 3))], [dd], dict(dtype=8), opset=9)
case('e_gather_float_indices', 'Gather', [d, np.array([0.5], np.float32)], [dd])
case('e_dropout_train', 'Dropout', [d, np.array(0.3, np.float32), np.array(True)], [dd], opset=13)
case('e_gathernd_q', 'GatherND', [d, np.array([[0, 0, 0]], np.int64)], [dd])
case('e_gathernd_batch', 'GatherND', [d, np.array([[0]], np.int64)], [dd], dict(batch_dims=2))
case('e_scatternd_upd', 'ScatterND', [d, np.array([[0]], np.int64), np.array([1, 2], np.float32)], [dd])
case('e_gather_el_rank', 'GatherElements', [d, I64(0)], [dd])
OUT = OUT_OK
case('cos_const_input', 'ConstantOfShape', [I64(2, 3)], [np.full((2, 3), 7, np.int32)], dict(value=numpy_helper.from_array(np.array([7], np.int32))), opset=9, const_inputs=(0,))
case('range_const', 'Range', [np.array(1, np.int32), np.array(7, np.int32), np.array(2, np.int32)], [np.arange(1, 7, 2, dtype=np.int32)], opset=11, const_inputs=(0, 1, 2))
case('pad_const_all', 'Pad', [np.ones((2, 2), np.float32), I64(1, 0, 0, 1)], [np.pad(np.ones((2, 2), np.float32), [(1, 0), (0, 1)])], opset=13, const_inputs=(0, 1))


def run(kind):
    bad = 0
    root = os.path.join(BASE, kind)
    names = sorted(os.listdir(root))
    for name in names:
        d = os.path.join(root, name)
        p = subprocess.run([TILEC_RUN, d + "/model.onnx", "--test-data", d + "/test_data_set_0"],
                           capture_output=True, text=True, timeout=60)
        msg = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or [""])[-1]
        if kind == "cases" and p.returncode != 0:
            print("FAIL %s: exit %d: %s" % (name, p.returncode, msg))
            bad += 1
        elif kind == "errs" and (p.returncode != 1 or "error" not in p.stderr):
            print("FAIL %s: expected a clean error, got exit %d: %s" % (name, p.returncode, msg))
            bad += 1
    print("%s: %d of %d as expected" % (kind, len(names) - bad, len(names)))
    return bad


sys.exit(1 if run("cases") + run("errs") else 0)
