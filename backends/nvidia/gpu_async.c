// backends/nvidia/gpu_async.c — pipelined dot loops (Pipe, gpu_simt.h): finding them; the operands'
// slices copied ahead into shared-memory stages with cp.async, or on sm_90a with TMA (tensor
// maps from the launcher, mbarriers); the loop's prologue, iterations and epilogue; the dot of
// a stage as wgmma on sm_90a (else mma.sync, gpu_dot.c).
#include <stdio.h>
#include <stdlib.h>

#include "gpu_simt.h"

// ---------------------------------------------------------------- finding the pipelined loop

static bool writes_memory(MlirOperation o) {
    if (ir_op_is(o, "bufferization.materialize_in_destination") || ir_op_is(o, "memref.store") ||
        ir_op_is(o, "llvm.store") || ir_op_is(o, "memref.copy") || ir_op_is(o, "memref.atomic_rmw") ||
        ir_op_is(o, "memref.generic_atomic_rmw") || ir_op_is(o, "llvm.atomicrmw"))
        return true;
    for (intptr_t r = 0; r < mlirOperationGetNumRegions(o); r++)
        for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r)); !mlirBlockIsNull(b);
             b = mlirBlockGetNextInRegion(b))
            for (MlirOperation x = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(x);
                 x = mlirOperationGetNextInBlock(x))
                if (writes_memory(x))
                    return true;
    return false;
}

// Adds the ops of `body` that v is computed from to p->slice (unordered). False when v cannot
// be computed ahead: it depends on a block argument other than the induction variable (a
// carried value) or on an op other than scalar arithmetic and slicing.
static bool slice_collect(Pipe *p, MlirBlock body, MlirValue v) {
    if (mlirValueIsABlockArgument(v))
        return !mlirBlockEqual(mlirBlockArgumentGetOwner(v), body) || mlirValueEqual(v, p->iv);
    MlirOperation def = mlirOpResultGetOwner(v);
    if (!mlirBlockEqual(mlirOperationGetBlock(def), body))
        return true;  // from outside the loop
    for (int i = 0; i < p->nslice; i++)
        if (mlirOperationEqual(p->slice[i], def))
            return true;
    bool ok = ir_op_is(def, "tensor.extract_slice") || ir_op_is(def, "tensor.pad") ||
              ir_op_is(def, "tensor.collapse_shape") || ir_op_is(def, "bufferization.to_tensor") ||
              ir_op_is(def, "memref.subview") ||
              ((gpu_name_prefix(def, "arith.") || gpu_name_prefix(def, "math.")) && !gpu_has_tensor(def) &&
               !mlirOperationGetNumRegions(def));
    if (!ok || p->nslice == (int)(sizeof p->slice / sizeof p->slice[0]))
        return false;
    p->slice[p->nslice++] = def;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(def); i++)
        if (!slice_collect(p, body, mlirOperationGetOperand(def, i)))
            return false;
    if (ir_op_is(def, "tensor.pad")) {  // its padding value, which convert_pad looks up
        MlirBlock pb = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, 0));
        return slice_collect(p, body, mlirOperationGetOperand(mlirBlockGetTerminator(pb), 0));
    }
    return true;
}

// Whether operand v of the dot is a slice of a tensor in memory (padded with zeros past its
// high ends, if at all) that can be copied ahead; collects its ops.
static bool pipe_operand(Pipe *p, MlirBlock body, MlirValue v) {
    if (!mlirValueIsAOpResult(v))
        return false;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (ir_op_is(def, "tensor.collapse_shape")) {  // only unit dims dropped (a batch index)
        MlirValue src = mlirOperationGetOperand(def, 0);
        MlirType st = mlirValueGetType(src), rt = mlirValueGetType(v);
        int j = 0;
        for (intptr_t d = 0; d < mlirShapedTypeGetRank(st); d++) {
            int64_t n = mlirShapedTypeGetDimSize(st, d);
            if (j < 2 && n == mlirShapedTypeGetDimSize(rt, j))
                j++;
            else if (n != 1)
                return false;
        }
        if (j != 2 || !mlirValueIsAOpResult(src))
            return false;
        def = mlirOpResultGetOwner(src);
    }
    MlirOperation slice = def;
    if (ir_op_is(def, "tensor.pad")) {
        MlirAttribute low = mlirOperationGetAttributeByName(def, ir_str("static_low"));
        for (intptr_t d = 0; d < mlirDenseArrayGetNumElements(low); d++)
            if (mlirDenseI64ArrayGetElement(low, d) != 0)
                return false;
        MlirBlock pb = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, 0));
        MlirValue pv = mlirOperationGetOperand(mlirBlockGetTerminator(pb), 0);
        if (!mlirValueIsAOpResult(pv) || !ir_op_is(mlirOpResultGetOwner(pv), "arith.constant"))
            return false;
        MlirAttribute c = mlirOperationGetAttributeByName(mlirOpResultGetOwner(pv), ir_str("value"));
        if (!mlirAttributeIsAFloat(c) || mlirFloatAttrGetValueDouble(c) != 0.0)
            return false;
        MlirValue src = mlirOperationGetOperand(def, 0);
        if (!mlirValueIsAOpResult(src))
            return false;
        slice = mlirOpResultGetOwner(src);
    }
    if (!ir_op_is(slice, "tensor.extract_slice"))
        return false;
    MlirValue whole = mlirOperationGetOperand(slice, 0);
    if (!mlirValueIsAOpResult(whole) || !ir_op_is(mlirOpResultGetOwner(whole), "bufferization.to_tensor"))
        return false;
    return slice_collect(p, body, v);
}

static bool pipe_use_tma(Gpu *g, Pipe *p);

bool gpu_pipe_find(Gpu *g, MlirOperation loop, Pipe *p) {
    if (g->sched->stages < 2 || !g->sched->tensor_cores || g->arch->sm < 80)
        return false;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
    *p = (Pipe){.iv = mlirBlockGetArgument(body, 0), .base = g->smem_reserved / 2};
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o)) {
        if (writes_memory(o))
            return false;
        if (ir_op_is(o, "linalg.matmul") && gpu_dot_uses_mma(g, o)) {
            if (!mlirOperationIsNull(p->mm) ||
                (mlirOperationGetNumAttributes(o) > 2 && !mlirAttributeIsNull(gpu_attr(o, "indexing_maps"))))
                return false;
            p->mm = o;
        }
    }
    if (mlirOperationIsNull(p->mm))
        return false;
    for (int i = 0; i < 2; i++) {
        p->opnd[i] = gpu_dot_operand(p->mm, i);
        if (!pipe_operand(p, body, p->opnd[i]))
            return false;
        MlirType t = mlirValueGetType(p->opnd[i]);
        p->rows[i] = mlirShapedTypeGetDimSize(t, 0);
        p->cols[i] = mlirShapedTypeGetDimSize(t, 1);
        p->ld[i] = p->cols[i] + 8;
        p->elem = mlirShapedTypeGetElementType(t);
    }
    // In the body's order.
    int n = 0;
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o))
        for (int i = n; i < p->nslice; i++)
            if (mlirOperationEqual(p->slice[i], o)) {
                p->slice[i] = p->slice[n];
                p->slice[n++] = o;
                break;
            }
    p->wgmma = gpu_dot_uses_wgmma(g, p->mm);
    if (p->wgmma) {  // A K-major (one atom of K per row), B N-major; atoms 1024-byte aligned
        p->swz[0] = (int)(p->cols[0] * 2);
        p->swz[1] = 128;
        p->base = (g->smem_reserved + 1023) / 1024 * 512;
        p->boff = p->rows[0] * p->cols[0];
        p->stage_elems = p->boff + p->rows[1] * p->cols[1];
    } else {
        p->boff = p->rows[0] * p->ld[0];
        p->stage_elems = p->boff + p->rows[1] * p->ld[1];
    }
    int64_t room = g->arch->smem_limit - p->base * 2;
    p->stages = g->sched->stages;
    int64_t bars = p->wgmma && g->sched->tma ? 16 : 0;  // an mbarrier per stage (TMA)
    while (p->stages > 2 && p->stages * (p->stage_elems * 2 + bars) > room)
        p->stages--;
    if (p->stages * (p->stage_elems * 2 + bars) > room)
        return false;
    p->bars = p->base * 2 + p->stages * p->stage_elems * 2;
    p->tma = pipe_use_tma(g, p);
    p->end = p->bars + (p->tma ? 16 * p->stages : 0);
    return true;
}

// ---------------------------------------------------------------- cp.async

static MlirValue trunc_i32(Gpu *g, MlirValue v) { return ir_op1(&g->b, "arith.trunci", i32t(g), 1, &v); }

// Where element (row, col) of a stage's tile sits (element offset from the tile's start): rows
// ld apart (padded), or with `swz` (64 or 128: wgmma's swizzled layouts) in atoms of swz/2
// columns, atom after atom (rows x swz/2 elements each), each row of an atom swz bytes whose
// 16-byte chunks are permuted as the hardware expects: byte o of the atom goes to
// o ^ (((o >> 7) & (swz/16 - 1)) << 4) (CUTLASS's Swizzle<3,4,3> for 128, <2,4,3> for 64).
static MlirValue tile_at(Gpu *g, MlirValue row, MlirValue col, int64_t ld, int64_t rows, int swz) {
    if (!swz)
        return add(g, mul(g, row, cint(g, ld)), col);
    int64_t w = swz / 2;
    MlirValue atom = bin(g, "arith.shrui", col, cint(g, ilog2(w)));
    MlirValue o =
        mul(g, add(g, mul(g, row, cint(g, w)), bin(g, "arith.andi", col, cint(g, w - 1))), cint(g, 2));
    MlirValue x =
        bin(g, "arith.shli",
            bin(g, "arith.andi", bin(g, "arith.shrui", o, cint(g, 7)), cint(g, swz / 16 - 1)), cint(g, 4));
    o = bin(g, "arith.xori", o, x);
    return add(g, mul(g, atom, cint(g, rows * w)), bin(g, "arith.shrui", o, cint(g, 1)));
}

// Copies tile x (a slice of a tensor in memory, 16-bit elements) to shared memory at element
// offset dst, laid out as tile_at says. When the slice's rows are unit-stride and 16-byte
// aligned: one 16-byte cp.async per 8 elements, reading only the part inside the slice
// (src-size; the rest is zero-filled). Else through registers (gpu_load_tile's masked loads) and
// 16-byte stores.
static void copy_to_smem(Gpu *g, const DVal *x, MlirValue dst, int64_t ld, int swz) {
    Layout L;
    gpu_layout_blocked(g, &L, 2, x->shape, (int[]){1, 8});
    MlirValue zero = cint(g, 0);
    MlirValue start = add(g, mul(g, x->offs[0], x->strides[0]), mul(g, x->offs[1], x->strides[1]));
    MlirValue p0 = gep(g, x->ptr, start, x->elem);
    MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p0);
    MlirValue fast =
        bin(g, "arith.andi", cmp(g, CMP_EQ, x->strides[1], cint(g, 1)),
            bin(g, "arith.andi", cmp(g, CMP_EQ, bin(g, "arith.andi", x->strides[0], cint(g, 7)), zero),
                cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, 15)), zero)));
    int64_t lm, wm;
    gpu_layout_masks(&L, &lm, &wm);
    bool replicated = lm != 31 || wm != g->nwarps - 1;
    MlirNamedAttribute cattrs[2] = {
        ir_named(&g->b, "size", mlirIntegerAttrGet(i32t(g), 16)),
        ir_named(&g->b, "modifier", parse_attr(g, "#nvvm<load_cache_modifier cg>")),
    };
    MlirBlock then, els;
    if_op(g, fast, 0, NULL, &then, &els);
    MlirBlock save = g->b.block;
    for (int path = 0; path < 2; path++) {  // 0: cp.async, 1: through registers
        MlirBlock blk = path ? els : then;
        g->b.block = blk;
        MlirValue v = path ? gpu_load_tile(g, x, &L) : NULL_VALUE;
        MlirBlock own = blk, not_own;
        if (replicated) {  // more threads than chunks: the first copy of each does it
            if_op(g, gpu_layout_owner(g, &L), 0, NULL, &own, &not_own);
            yield(g, not_own, 0, NULL);
            g->b.block = own;
        }
        MlirValue base[2];
        gpu_layout_base(g, &L, base);
        for (int e = 0; e < gpu_layout_elems(&L); e += 8) {
            int r[2];
            gpu_layout_digits(&L, e, r);
            MlirValue row = addc(g, base[0], gpu_digit_offset(&L, 0, r[0]));
            MlirValue col = addc(g, base[1], gpu_digit_offset(&L, 1, r[1]));
            MlirValue d = gep(g, g->smem0, add(g, dst, tile_at(g, row, col, ld, x->shape[0], swz)), x->elem);
            if (path) {
                int64_t mask[8];
                for (int i = 0; i < 8; i++)
                    mask[i] = e + i;
                store(g, shuffle(g, v, v, 8, mask), d, 16);
                continue;
            }
            MlirValue ops[3] = {d, gep(g, p0, add(g, mul(g, row, x->strides[0]), col), x->elem)};
            int nops = 2;
            if (x->pad.ptr) {  // bytes inside the slice: 2 * clamp(sizes1 - col, 0, 8), 0 past its rows
                MlirValue left = bin(g, "arith.minsi", bin(g, "arith.subi", x->sizes[1], col), cint(g, 8));
                left = bin(g, "arith.maxsi", left, zero);
                left = ir_op1(&g->b, "arith.select", i64t(g), 3,
                              (MlirValue[]){cmp(g, CMP_SLT, row, x->sizes[0]), left, zero});
                MlirValue sel[3] = {cmp(g, CMP_SLT, zero, left), ops[1], x->ptr};
                ops[1] = ir_op1(&g->b, "arith.select", gptr(g), 3, sel);  // nothing read: any valid address
                ops[2] = trunc_i32(g, mul(g, left, cint(g, 2)));
                nops = 3;
            }
            ir_op(&g->b, "nvvm.cp.async.shared.global", 0, NULL, nops, ops, 2, cattrs, 0);
        }
        if (replicated)
            yield(g, own, 0, NULL);
        yield(g, blk, 0, NULL);
    }
    g->b.block = save;
}

static void cp_async_commit(Gpu *g) {
    ir_op(&g->b, "nvvm.cp.async.commit.group", 0, NULL, 0, NULL, 0, NULL, 0);
}

static void cp_async_wait(Gpu *g, int n) {
    MlirNamedAttribute a = ir_named(&g->b, "n", mlirIntegerAttrGet(i32t(g), n));
    ir_op(&g->b, "nvvm.cp.async.wait.group", 0, NULL, 0, NULL, 1, &a, 0);
}

// lb + k * step, in the loop's type (i64 or index).
static MlirValue iv_at(Gpu *g, MlirValue lb, MlirValue step, int64_t k) {
    MlirValue c = ir_const_int(&g->b, mlirValueGetType(lb), k);
    return k ? ir_binop(&g->b, "arith.addi", lb, ir_binop(&g->b, "arith.muli", c, step)) : lb;
}

// ---------------------------------------------------------------- TMA

// The index of the kernel parameter that v is (also through a multiplication by the constant
// 1, as emit.c writes a row-major tensor's strides), or -1.
static int param_index(Gpu *g, MlirValue v) {
    if (mlirValueIsABlockArgument(v))
        return mlirBlockEqual(mlirBlockArgumentGetOwner(v), g->kbody) ? (int)mlirBlockArgumentGetArgNumber(v)
                                                                      : -1;
    MlirOperation d = mlirOpResultGetOwner(v);
    if (ir_op_is(d, "arith.muli"))
        for (int i = 0; i < 2; i++)
            if (ir_is_const_int(mlirOperationGetOperand(d, i), 1))
                return param_index(g, mlirOperationGetOperand(d, 1 - i));
    return -1;
}

// The tensor map of a pipelined operand: when its slice is of a 2-D kernel tensor itself (no
// view of it) whose pointer, sizes and row stride are kernel parameters and whose rows are
// unit-stride, the box and swizzle being those of the stage's layout (tile_at).
static bool tensor_map_of(Gpu *g, const Pipe *p, int k, TilecCudaTensorMap *t) {
    MlirOperation def = mlirOpResultGetOwner(p->opnd[k]);
    if (ir_op_is(def, "tensor.pad"))
        def = mlirOpResultGetOwner(mlirOperationGetOperand(def, 0));
    if (!ir_op_is(def, "tensor.extract_slice"))
        return false;  // a batch index dropped: a 3-D tensor
    MlirOperation tt = mlirOpResultGetOwner(mlirOperationGetOperand(def, 0));  // bufferization.to_tensor
    DVal *m = gpu_map_get(g, mlirOperationGetOperand(tt, 0));
    if (!m || m->kind != DV_MEMREF || m->rank != 2 || m->offs[0].ptr || m->offs[1].ptr ||
        !ir_is_const_int(m->strides[1], 1))
        return false;
    *t = (TilecCudaTensorMap){.ptr_param = param_index(g, m->ptr),
                              .rows_param = param_index(g, m->sizes[0]),
                              .cols_param = param_index(g, m->sizes[1]),
                              .stride_param = param_index(g, m->strides[0]),
                              .box_rows = (int)p->rows[k],
                              .box_cols = k ? 64 : (int)p->cols[k],
                              .swizzle = p->swz[k],
                              .elem_type = mlirTypeIsABF16(p->elem) ? 9 : 6};
    return t->ptr_param >= 0 && t->rows_param >= 0 && t->cols_param >= 0 && t->stride_param >= 0;
}

// Kernel parameters added during the distribution: the flag the launcher sets when it could
// build every tensor map (first, added once), then the maps, by value.
static MlirValue tma_flag(Gpu *g) {
    if (!g->tma_flag.ptr)
        g->tma_flag = mlirBlockAddArgument(g->kbody, i32t(g), g->b.loc);
    return g->tma_flag;
}

// Whether the launcher's flag is set (i1).
static MlirValue use_tma(Gpu *g) { return cmp(g, CMP_NE, tma_flag(g), ir_const_int(&g->b, i32t(g), 0)); }

// The stage's operands with TMA: both slices are of kernel tensors that can have a map.
static bool pipe_use_tma(Gpu *g, Pipe *p) {
    TilecCudaTensorMap t[2];
    if (!p->wgmma || !g->sched->tma || g->out->ntma + 2 > GPU_MAX_TENSOR_MAPS ||
        !tensor_map_of(g, p, 0, &t[0]) || !tensor_map_of(g, p, 1, &t[1]))
        return false;
    tma_flag(g);
    for (int k = 0; k < 2; k++) {
        g->out->tma[g->out->ntma++] = t[k];
        p->map[k] = mlirBlockAddArgument(g->kbody, mlirLLVMPointerTypeGet(g->b.ctx, 0), g->b.loc);
    }
    return true;
}

static MlirValue mbarrier_at(Gpu *g, const Pipe *p, MlirValue s) {
    MlirType i8 = mlirIntegerTypeGet(g->b.ctx, 8);
    return gep(g, g->smem0, addc(g, mul(g, s, cint(g, 16)), p->bars), i8);
}

// One TMA box into the stage at element offset `at`, counted on mbarrier `bar`.
static void tma_load(Gpu *g, const Pipe *p, MlirValue map, MlirValue at, MlirValue col, MlirValue row,
                     MlirValue bar) {
    MlirValue d = gep(g, g->smem0, at, p->elem);
    d = ir_op1(&g->b, "llvm.addrspacecast", mlirLLVMPointerTypeGet(g->b.ctx, 7), 1, &d);  // shared::cluster
    MlirValue ops[5] = {d, map, trunc_i32(g, col), trunc_i32(g, row), bar};
    MlirNamedAttribute a[3] = {
        ir_named(&g->b, "operandSegmentSizes",
                 mlirDenseI32ArrayGet(g->b.ctx, 8, (int32_t[]){1, 1, 2, 1, 0, 0, 0, 0})),
        ir_named(&g->b, "mode", parse_attr(g, "#nvvm.tma_load_mode<tile>")),
        ir_named(&g->b, "isCTAOnly", mlirBoolAttrGet(g->b.ctx, 0)),
    };
    ir_op(&g->b, "nvvm.cp.async.bulk.tensor.shared.cluster.global", 0, NULL, 5, ops, 3, a, 0);
}

// fence.proxy.async.shared::cta: this thread's shared-memory accesses so far ordered with the
// async proxy's (TMA, wgmma).
static void proxy_fence(Gpu *g) {
    MlirNamedAttribute fa[2] = {
        ir_named(&g->b, "kind", parse_attr(g, "#nvvm.proxy_kind<async.shared>")),
        ir_named(&g->b, "space", parse_attr(g, "#nvvm.shared_space<cta>")),
    };
    ir_op(&g->b, "nvvm.fence.proxy", 0, NULL, 0, NULL, 2, fa, 0);
}

// Whether this thread is the block's first (i1).
static MlirValue first_thread(Gpu *g) {
    MlirValue z = cint(g, 0);
    return bin(g, "arith.andi", cmp(g, CMP_EQ, g->lane, z), cmp(g, CMP_EQ, g->warp, z));
}

// With the launcher's flag, the block's first thread initializes (one arrival: its own) or
// invalidates each stage's mbarrier.
static void each_mbarrier(Gpu *g, const Pipe *p, bool init) {
    MlirBlock then, els, save = g->b.block;
    if_op(g, bin(g, "arith.andi", use_tma(g), first_thread(g)), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    g->b.block = then;
    for (int s = 0; s < p->stages; s++) {
        MlirValue ops[2] = {mbarrier_at(g, p, cint(g, s)),
                            init ? ir_const_int(&g->b, i32t(g), 1) : NULL_VALUE};
        ir_op(&g->b, init ? "nvvm.mbarrier.init" : "nvvm.mbarrier.inval", 0, NULL, init ? 2 : 1, ops, 0, NULL,
              0);
    }
    yield(g, then, 0, NULL);
    g->b.block = save;
}

// ---------------------------------------------------------------- the pipeline

// Starts the copies of the iteration at induction value iv into stage s (i64) when iv < ub (the
// operands' slices converted for that iv), then commits them as one cp.async group (empty past
// the end, or with TMA, so that every iteration counts one). With TMA (the launcher's flag):
// the first thread expects the stage's bytes on the stage's mbarrier and issues the boxes.
static void pipe_issue(Gpu *g, const Pipe *p, MlirValue iv, MlirValue ub, MlirValue s) {
    MlirBlock then, els;
    if_op(g, cmp(g, CMP_SLT, iv, ub), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    MlirBlock save = g->b.block;
    g->b.block = then;
    DVal *was = gpu_map_get(g, p->iv);
    gpu_map_put(g, p->iv, gpu_scalar_val(iv));
    for (int i = 0; i < p->nslice && !g->failed; i++)
        gpu_convert_op(g, p->slice[i]);
    const DVal *x[2] = {NULL, NULL};
    for (int k = 0; k < 2 && !g->failed; k++) {
        x[k] = gpu_get(g, p->opnd[k]);
        if (x[k]->kind != DV_LOAD || x[k]->low[0].ptr || x[k]->low[1].ptr)
            internal_error(__FILE__, __LINE__, "GPU back end: a pipelined dot operand is not a slice");
    }
    MlirValue stage = addc(g, mul(g, s, cint(g, p->stage_elems)), p->base);
    MlirBlock copy = g->b.block, tma, own, not_own;
    bool split = p->tma && !g->failed;  // TMA when the launcher's flag says so, else the copies
    if (split) {
        if_op(g, use_tma(g), 0, NULL, &tma, &copy);
        g->b.block = tma;
        if_op(g, first_thread(g), 0, NULL, &own, &not_own);
        yield(g, not_own, 0, NULL);
        g->b.block = own;
        MlirValue bar = mbarrier_at(g, p, s);
        MlirValue tx = ir_const_int(&g->b, i32t(g), p->stage_elems * 2);
        MlirNamedAttribute ea[2] = {ir_named(&g->b, "relaxed", mlirBoolAttrGet(g->b.ctx, 0)),
                                    ir_named(&g->b, "scope", parse_attr(g, "#nvvm.mem_scope<cta>"))};
        ir_op(&g->b, "nvvm.mbarrier.arrive.expect_tx", 0, NULL, 2, (MlirValue[]){bar, tx}, 2, ea, 0);
        tma_load(g, p, p->map[0], stage, x[0]->offs[1], x[0]->offs[0], bar);
        for (int64_t a = 0; a < p->cols[1] / 64; a++)
            tma_load(g, p, p->map[1], addc(g, stage, p->boff + a * p->rows[1] * 64),
                     addc(g, x[1]->offs[1], 64 * a), x[1]->offs[0], bar);
        yield(g, own, 0, NULL);
        yield(g, tma, 0, NULL);
        g->b.block = copy;
    }
    for (int k = 0; k < 2 && !g->failed; k++)
        copy_to_smem(g, x[k], k ? addc(g, stage, p->boff) : stage, p->ld[k], p->swz[k]);
    if (split)
        yield(g, copy, 0, NULL);
    g->b.block = then;
    if (was)
        gpu_map_put(g, p->iv, was);
    yield(g, then, 0, NULL);
    g->b.block = save;
    cp_async_commit(g);
}

// Before the loop: with TMA, the stages' mbarriers (one arrival: the issuing thread's, plus the
// bytes); then the copies of the loop's first stages - 1 iterations.
void gpu_pipe_prologue(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step) {
    gpu_smem_need(g, p->end - g->smem_reserved);
    if (p->tma) {
        each_mbarrier(g, p, true);
        proxy_fence(g);  // what ordinary stores left in the stages, before TMA writes over it
        barrier(g);
    }
    for (int s = 0; s < p->stages - 1 && !g->failed; s++)
        pipe_issue(g, p, iv_at(g, lb, step, s), ub, cint(g, s));
}

// At the top of the body (iteration i = (iv - lb) / step): wait for iteration i's copies (its
// cp.async group, or with TMA its mbarrier's phase (i / stages) % 2), then one barrier, which
// also tells that every warp is done with the buffer of iteration i - 1; start the copies of
// iteration i + stages - 1 into that buffer, and point the dot at buffer i % stages. Ordinary
// uses of shared memory in the body start past the stages.
void gpu_pipe_iteration(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step, MlirValue iv) {
    MlirValue i = bin(g, "arith.divsi", bin(g, "arith.subi", to_i64(g, iv), to_i64(g, lb)), to_i64(g, step));
    MlirValue S = cint(g, p->stages);
    MlirValue rd = bin(g, "arith.remsi", i, S);
    MlirBlock wait = g->b.block, tma, save = g->b.block;
    if (p->tma) {
        if_op(g, use_tma(g), 0, NULL, &tma, &wait);
        g->b.block = tma;
        MlirValue phase = trunc_i32(g, bin(g, "arith.andi", bin(g, "arith.divsi", i, S), cint(g, 1)));
        ir_op(&g->b, "nvvm.mbarrier.try_wait.parity", 0, NULL, 3,
              (MlirValue[]){mbarrier_at(g, p, rd), phase, ir_const_int(&g->b, i32t(g), 10000000)}, 0, NULL,
              0);
        yield(g, tma, 0, NULL);
        g->b.block = wait;
    }
    cp_async_wait(g, p->stages - 2);
    if (p->wgmma)  // wgmma reads through the async proxy what cp.async and st.shared wrote
        proxy_fence(g);
    if (p->tma)
        yield(g, wait, 0, NULL);
    g->b.block = save;
    barrier(g);
    MlirValue wr = bin(g, "arith.remsi", addc(g, i, p->stages - 1), S);
    pipe_issue(g, p, iv_at(g, iv, step, p->stages - 1), ub, wr);
    g->pipe = p;
    g->pipe_read = addc(g, mul(g, rd, cint(g, p->stage_elems)), p->base);
    g->smem_reserved = p->end;
    MlirType i8 = mlirIntegerTypeGet(g->b.ctx, 8);
    g->smem = gep(g, g->smem0, cint(g, g->smem_reserved), i8);
}

// After the loop: no copy in flight; with TMA the mbarriers invalidated (their memory is
// ordinary shared memory again); a barrier.
void gpu_pipe_epilogue(Gpu *g, const Pipe *p) {
    cp_async_wait(g, 0);
    if (p->tma)
        each_mbarrier(g, p, false);
    barrier(g);
}

// ---------------------------------------------------------------- the dot of a stage

// wgmma's shared-memory matrix descriptor of the operand at element offset `at`: the start
// address (16-byte units, 14 bits), the leading and stride byte offsets (16-byte units) and
// the swizzle (1: 128-byte, 2: 64-byte).
static MlirValue wgmma_desc(Gpu *g, MlirValue at, MlirType half, int64_t lbo, int64_t sbo, int swz) {
    MlirValue p = gep(g, g->smem0, at, half);
    MlirValue a = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
    a = bin(g, "arith.andi", bin(g, "arith.shrui", a, cint(g, 4)), cint(g, 0x3FFF));
    uint64_t mode = swz == 128 ? 1 : 2;
    uint64_t fields = ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) | (mode << 62);
    return bin(g, "arith.ori", a, cint(g, (int64_t)fields));
}

static MlirValue insert_value(Gpu *g, MlirValue s, MlirValue v, int64_t i) {
    MlirType t = mlirValueGetType(s);
    MlirNamedAttribute p = ir_named(&g->b, "position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.insertvalue", 1, &t, 2, (MlirValue[]){s, v}, 1, &p, 0),
                                  0);
}

// The pipelined loop's dot on sm_90a: each warpgroup (4 warps: 64 rows of the accumulator)
// issues one wgmma m64nNk16 per 16-wide step of k, A (K-major) and B (N-major: imm-trans-b)
// read from the stage through descriptors. A's start moves 32 bytes per step (inside its
// swizzle atom; SBO: 8 rows), B's by 16 rows (SBO: 8 rows of 128 bytes; LBO: from one
// 64-column atom to the next). The accumulator's elements map onto wgmma's registers: d[4j +
// 2h + p] is row 8h + lane/4, column 8j + 2(lane%4) + p of the warp's 16 rows: element
// (h, 2j + p) of the layout. The wgmmas are waited for (wait_group 0) before the loop goes on,
// so that the next iteration's barrier frees the stage.
static DVal *dot_wgmma(Gpu *g, const Layout *LC, MlirValue acc) {
    const Pipe *p = g->pipe;
    int64_t N = LC->shape[1], K = p->cols[0];
    int E = gpu_layout_elems(LC);
    MlirType f32 = mlirF32TypeGet(g->b.ctx);
    MlirValue wg = bin(g, "arith.shrui", g->warp, cint(g, 2));
    MlirValue da = wgmma_desc(g, add(g, g->pipe_read, mul(g, wg, cint(g, 64 * K))), p->elem, 16,
                              8 * p->swz[0], p->swz[0]);
    MlirValue db = wgmma_desc(g, addc(g, g->pipe_read, p->boff), p->elem, p->rows[1] * 128, 1024, 128);
    MlirType *fs = malloc(sizeof(MlirType) * (size_t)E);
    MlirValue *out = malloc(sizeof(MlirValue) * (size_t)E);
    for (int i = 0; i < E; i++)
        fs[i] = f32;
    MlirType st = mlirLLVMStructTypeLiteralGet(g->b.ctx, E, fs, false);
    MlirValue d = ir_op1(&g->b, "llvm.mlir.undef", st, 0, NULL);
    int *elem = malloc(sizeof(int) * (size_t)E);  // register i <- layout element elem[i]
    for (int i = 0; i < E; i++) {
        int j = i / 4, h = (i / 2) % 2, q = i % 2;
        elem[i] = h * (int)(N / 4) + 2 * j + q;
        d = insert_value(g, d, extract(g, acc, elem[i]), i);
    }
    ir_op(&g->b, "nvvm.wgmma.fence.aligned", 0, NULL, 0, NULL, 0, NULL, 0);
    char shape[64];
    snprintf(shape, sizeof shape, "#nvvm.shape<m = 64, n = %lld, k = 16>", (long long)N);
    MlirAttribute ty =
        parse_attr(g, mlirTypeIsABF16(p->elem) ? "#nvvm.wgmma_type<bf16>" : "#nvvm.wgmma_type<f16>");
    MlirNamedAttribute wattrs[9] = {
        ir_named(&g->b, "shape", parse_attr(g, shape)),
        ir_named(&g->b, "typeA", ty),
        ir_named(&g->b, "typeB", ty),
        ir_named(&g->b, "typeD", parse_attr(g, "#nvvm.wgmma_type<f32>")),
        ir_named(&g->b, "scaleD", parse_attr(g, "#nvvm.wgmma_scale_out<one>")),
        ir_named(&g->b, "scaleA", parse_attr(g, "#nvvm.wgmma_scale_in<one>")),
        ir_named(&g->b, "scaleB", parse_attr(g, "#nvvm.wgmma_scale_in<one>")),
        ir_named(&g->b, "layoutA", parse_attr(g, "#nvvm.mma_layout<row>")),  // K-major
        ir_named(&g->b, "layoutB", parse_attr(g, "#nvvm.mma_layout<row>")),  // N-major (transposed)
    };
    for (int k = 0; k < K / 16; k++) {
        MlirValue ops[3] = {d, addc(g, da, 2 * k), addc(g, db, 128 * k)};
        d = mlirOperationGetResult(ir_op(&g->b, "nvvm.wgmma.mma_async", 1, &st, 3, ops, 9, wattrs, 0), 0);
    }
    ir_op(&g->b, "nvvm.wgmma.commit.group.sync.aligned", 0, NULL, 0, NULL, 0, NULL, 0);
    MlirNamedAttribute wait = ir_named(&g->b, "group", mlirIntegerAttrGet(i64t(g), 0));
    ir_op(&g->b, "nvvm.wgmma.wait.group.sync.aligned", 0, NULL, 0, NULL, 1, &wait, 0);
    for (int i = 0; i < E; i++)
        out[elem[i]] = extract_value(g, d, i, f32);
    MlirValue v = from_elements(g, f32, E, out);
    free(fs), free(out), free(elem);
    return gpu_dist_val(LC, v, f32);
}

// The pipelined loop's dot: acc += the stage of this iteration's A @ B.
DVal *gpu_dot_mma_pipelined(Gpu *g, MlirOperation at, const DVal *c) {
    const Pipe *p = g->pipe;
    Layout LC;
    gpu_layout_for_dot(g, at, &LC);
    if (!p->wgmma && c->kind == DV_DIST && c->layout.warp_outer)
        LC = c->layout;
    MlirValue acc = gpu_materialize(g, at, c, &LC);
    if (g->failed)
        return NULL;
    if (p->wgmma)
        return dot_wgmma(g, &LC, acc);
    MmaOperands s = {
        .a = g->pipe_read, .b = addc(g, g->pipe_read, p->boff), .lda = p->ld[0], .ldb = p->ld[1]};
    return gpu_mma_dot(g, at, &LC, acc, p->elem, p->cols[0], &s);
}
