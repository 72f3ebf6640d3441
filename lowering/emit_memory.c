// lowering/emit_memory.c — tensor accesses as tile-level MLIR: X[slices, indices] as a padded
// tensor.extract_slice of the tensor's memref (loads) and a subview written in place (stores),
// and the element-wise accesses — gathers, scatters, masked loads and stores, atomics — as a
// linalg.generic or loops that test each element against the tensor's bounds and the mask.
#include "mlir-c/Dialect/LLVM.h"

#include "axis_info.h"
#include "emit.h"

// ================================================================ tensor slices

typedef struct SliceDims {
    int rank;
    MlirValue lo[TILE_MAX_RANK];        // i64: start of the requested window
    int64_t size[TILE_MAX_RANK];        // static window size (1 for a scalar index)
    int64_t step[TILE_MAX_RANK];        // between consecutive elements of the window (1: a slice)
    bool dropped[TILE_MAX_RANK];        // scalar index: the dimension is dropped
    MlirValue valid_lo[TILE_MAX_RANK];  // index: first element inside the tensor
    MlirValue valid[TILE_MAX_RANK];     // index: elements inside the tensor
    MlirValue low[TILE_MAX_RANK];       // index: padding before
    bool low_zero[TILE_MAX_RANK];       // the start is provably >= 0: no padding before
    bool inside[TILE_MAX_RANK];         // the window lies inside the tensor (--fix): no padding
    MlirValue high[TILE_MAX_RANK];      // index: padding after
} SliceDims;

MlirValue emit_size_value(Emitter *e, const Symbol *t, int i) {
    if (t->const_dims[i] >= 0)
        return const_int(e, i64t(e), t->const_dims[i]);
    MlirValue v;
    if (!emit_lookup(e, t->dims[i], &v))
        unreachable();
    return v;
}

static MlirValue clamp(Emitter *e, MlirValue v, MlirValue lo, MlirValue hi) {
    return binop(e, "arith.minsi", binop(e, "arith.maxsi", v, lo), hi);
}

// Whether an integer expression is provably >= 0: literals, sizes, strides, program ids, and
// lets, helper parameters (from their arguments), loop variables (from a non-negative start; a
// step <= 0 runs no iterations), sums, products, quotients and remainders of such. Slices
// starting there need no padding before.
static bool nonneg(const Node *n) {
    if (!n)
        return true;
    if (n->is_const)
        return n->cval.i >= 0;
    switch (n->kind) {
    case ND_NAME: {
        const Symbol *s = n->sym;
        if (!s)
            return false;
        if (s->kind == SYM_SIZE || s->kind == SYM_STRIDE)
            return true;
        if (s->kind == SYM_LET && s->decl && s->decl->kind == ND_LET)
            return nonneg(s->decl->init);
        if (s->kind == SYM_LET && s->decl && s->decl->kind == ND_PARAM)  // a helper's: its argument
            return s->arg && nonneg(s->arg);
        if (s->kind == SYM_LOOPVAR && s->decl && s->decl->kind == ND_FOR)
            return nonneg(s->decl->init);
        return false;
    }
    case ND_BINARY:
        return (n->op == OP_ADD || n->op == OP_MUL || n->op == OP_DIV || n->op == OP_MOD) && nonneg(n->lhs) &&
               nonneg(n->rhs);
    case ND_CALL: {
        Builtin b = builtin_lookup(n->name);
        return b == B_PROGRAM_ID || b == B_NUM_PROGRAMS ||
               (b == B_CDIV && n->args.len == 2 && nonneg(n->args.items[0]) && nonneg(n->args.items[1])) ||
               (b == B_ARANGE && (n->args.len < 2 || nonneg(n->args.items[0])));
    }
    case ND_INDEX: {  // a tile given new axes (rows[:, None]), not a tensor read
        const Node *base = n->base;
        if (!base || (base->kind == ND_NAME && base->sym && base->sym->kind == SYM_TENSOR))
            return false;
        for (int i = 0; i < n->args.len; i++) {
            const Node *it = n->args.items[i];
            if (it->kind != ND_NEWAXIS && !(it->kind == ND_SLICE && !it->lhs && !it->rhs))
                return false;
        }
        return nonneg(base);
    }
    default: return false;
    }
}

// Dimension i of the window d (its start d->lo[i] and size d->size[i] set) clipped to the
// tensor and to [lo_bound, hi_bound) (i64, null: no bound; a mask folded into the window): the
// part inside, and the padding before and after it. With no bounds and d->low_zero[i], the
// start is known to be >= 0.
static void window_dim(Emitter *e, const Symbol *t, SliceDims *d, int i, MlirValue lo_bound,
                       MlirValue hi_bound) {
    MlirValue zero = const_int(e, i64t(e), 0);
    MlirValue dim = emit_size_value(e, t, i);
    MlirValue s = const_int(e, i64t(e), d->size[i]);
    MlirValue vlo, vhi, low;
    if (d->step[i] != 1) {
        // Every step-th element from lo (no bounds: window_of keeps masks off strided
        // dimensions): positions p in [0, size) with 0 <= lo + step * p < dim are inside, from
        // p_lo = ceil(-lo / step) to p_hi = ceil((dim - lo) / step), clipped to [0, size].
        MlirValue st = const_int(e, i64t(e), d->step[i]);
        MlirValue plo =
            d->low_zero[i]
                ? zero
                : clamp(e, binop(e, "arith.ceildivsi", binop(e, "arith.subi", zero, d->lo[i]), st), zero, s);
        MlirValue phi =
            clamp(e, binop(e, "arith.ceildivsi", binop(e, "arith.subi", dim, d->lo[i]), st), zero, s);
        MlirValue valid = binop(e, "arith.maxsi", binop(e, "arith.subi", phi, plo), zero);
        vlo = clamp(e, binop(e, "arith.addi", d->lo[i], binop(e, "arith.muli", st, plo)), zero, dim);
        d->valid_lo[i] = to_index(e, vlo);
        d->valid[i] = to_index(e, valid);
        d->low[i] = to_index(e, plo);
        d->high[i] = to_index(e, binop(e, "arith.subi", binop(e, "arith.subi", s, plo), valid));
        return;
    }
    if (d->inside[i] && mlirValueIsNull(lo_bound) && mlirValueIsNull(hi_bound)) {
        // Inside the tensor for every program and iteration (--fix): the whole window, unpadded.
        d->valid_lo[i] = to_index(e, d->lo[i]);
        d->valid[i] = to_index(e, s);
        d->low[i] = d->high[i] = to_index(e, zero);
        return;
    }
    if (d->low_zero[i] && mlirValueIsNull(lo_bound) && !mlirValueIsNull(hi_bound)) {
        // A start >= 0 and an upper bound: the part inside starts at the start (or is empty).
        MlirValue b = binop(e, "arith.maxsi", binop(e, "arith.minsi", hi_bound, dim), zero);
        vlo = binop(e, "arith.minsi", d->lo[i], b);
        vhi = binop(e, "arith.minsi", binop(e, "arith.addi", d->lo[i], s), b);
        low = zero;
    } else if (!mlirValueIsNull(lo_bound) || !mlirValueIsNull(hi_bound)) {
        MlirValue a = mlirValueIsNull(lo_bound) ? zero : binop(e, "arith.maxsi", lo_bound, zero);
        MlirValue b = mlirValueIsNull(hi_bound) ? dim : binop(e, "arith.minsi", hi_bound, dim);
        d->low_zero[i] = false;
        vlo = clamp(e, d->lo[i], a, b);
        vhi = clamp(e, binop(e, "arith.addi", d->lo[i], s), a, b);
        low = clamp(e, binop(e, "arith.subi", vlo, d->lo[i]), zero, s);
    } else if (d->low_zero[i]) {
        vlo = binop(e, "arith.minsi", d->lo[i], dim);
        vhi = binop(e, "arith.minsi", binop(e, "arith.addi", d->lo[i], s), dim);
        low = zero;
    } else {
        vlo = clamp(e, d->lo[i], zero, dim);
        vhi = clamp(e, binop(e, "arith.addi", d->lo[i], s), zero, dim);
        low = clamp(e, binop(e, "arith.subi", vlo, d->lo[i]), zero, s);
    }
    MlirValue valid = binop(e, "arith.maxsi", binop(e, "arith.subi", vhi, vlo), zero);
    MlirValue high = binop(e, "arith.subi", binop(e, "arith.subi", s, low), valid);
    d->valid_lo[i] = to_index(e, vlo);
    d->valid[i] = to_index(e, valid);
    d->low[i] = to_index(e, low);
    d->high[i] = to_index(e, high);
}

// The window of X[...] (slices and scalar indices) clipped to the tensor.
static bool slice_dims(Emitter *e, Node *n, SliceDims *d) {
    const Symbol *t = n->base->sym;
    d->rank = t->type.rank;
    MlirValue zero = const_int(e, i64t(e), 0);
    for (int i = 0; i < d->rank; i++) {
        Node *it = n->args.items[i];
        if (it->kind == ND_SLICE) {
            d->dropped[i] = false;
            if (it->lhs)
                d->lo[i] = emit_operand(e, it->lhs, EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
            else
                d->lo[i] = zero;
            int64_t lo_c = it->lhs && it->lhs->is_const ? it->lhs->cval.i : 0;
            d->size[i] =
                it->rhs && it->rhs->is_const && (!it->lhs || it->lhs->is_const) ? it->rhs->cval.i - lo_c : -1;
            if (d->size[i] < 0) {
                // lo : lo + N — the size was proven constant by sema; recover it from the type.
                int k = 0;
                for (int j = 0; j < i; j++)
                    k += n->args.items[j]->kind == ND_SLICE;
                d->size[i] = n->type.dims[k];
            }
            if (!it->rhs && t->const_dims[i] >= 0)
                d->size[i] = t->const_dims[i] - lo_c;
        } else if (it->type.rank == 0) {
            d->dropped[i] = true;
            d->lo[i] = emit_operand(e, it, EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
            d->size[i] = 1;
        } else {
            emit_unsupported(e, it, "gathers through index tiles");
            return false;
        }
        if (e->failed)
            return false;
        d->step[i] = 1;
        d->low_zero[i] = nonneg(it->kind == ND_SLICE ? it->lhs : it);
        d->inside[i] = emit_fixed_inside(e, it->kind == ND_SLICE ? it->lhs : it, d->size[i], t, i);
        d->low_zero[i] |= d->inside[i];
        window_dim(e, t, d, i, (MlirValue){NULL}, (MlirValue){NULL});
    }
    return true;
}

static MlirValue memref_of(Emitter *e, const Symbol *t) {
    MlirValue m;
    if (!emit_lookup(e, t, &m))
        unreachable();
    return m;
}

// op with dynamic offsets/sizes and static strides (NULL: unit strides; tensor.extract_slice,
// memref.subview).
static MlirOperation dynamic_slice(Emitter *e, const char *name, MlirType rt, MlirValue src, int rank,
                                   const MlirValue *offsets, const MlirValue *sizes, const int64_t *steps) {
    MlirValue ops[1 + 2 * TILE_MAX_RANK];
    int64_t dyn[TILE_MAX_RANK], ones[TILE_MAX_RANK];
    ops[0] = src;
    for (int i = 0; i < rank; i++) {
        ops[1 + i] = offsets[i];
        ops[1 + rank + i] = sizes[i];
        dyn[i] = mlirShapedTypeGetDynamicSize();
        ones[i] = steps ? steps[i] : 1;
    }
    int64_t dyn_off[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        dyn_off[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    MlirNamedAttribute attrs[4] = {
        named(e, "static_offsets", i64_array(e, rank, dyn_off)),
        named(e, "static_sizes", i64_array(e, rank, dyn)),
        named(e, "static_strides", i64_array(e, rank, ones)),
        named(e, "operandSegmentSizes", segments(e, 4, (int32_t[]){1, rank, rank, 0})),
    };
    return op(e, name, 1, &rt, 1 + 2 * rank, ops, 4, attrs, 0);
}

static MlirType dynamic_tensor(Emitter *e, ElemType el, int rank) {
    int64_t dyn[TILE_MAX_RANK];
    for (int i = 0; i < rank; i++)
        dyn[i] = mlirShapedTypeGetDynamicSize();
    return tensor_of(e, el, rank, dyn);
}

// The reassociation of a collapse_shape/expand_shape between a rank-`n` shape and the shape
// with only the dimensions marked `kept`: each kept dimension takes the unkept ones before it,
// and trailing unkept ones join the last group; with none kept, one group of all.
MlirAttribute emit_reassociation(Emitter *e, int n, const bool *kept) {
    MlirAttribute groups[TILE_MAX_RANK], cur[TILE_MAX_RANK];
    int ng = 0, nc = 0;
    for (int i = 0; i < n; i++) {
        cur[nc++] = mlirIntegerAttrGet(i64t(e), i);
        if (kept[i]) {
            groups[ng++] = mlirArrayAttrGet(e->ir.ctx, nc, cur);
            nc = 0;
        }
    }
    if (nc && ng == 0) {
        groups[ng++] = mlirArrayAttrGet(e->ir.ctx, nc, cur);
    } else if (nc) {
        MlirAttribute last[TILE_MAX_RANK];
        int nl = (int)mlirArrayAttrGetNumElements(groups[ng - 1]);
        for (int i = 0; i < nl; i++)
            last[i] = mlirArrayAttrGetElement(groups[ng - 1], i);
        for (int i = 0; i < nc; i++)
            last[nl + i] = cur[i];
        groups[ng - 1] = mlirArrayAttrGet(e->ir.ctx, nl + nc, last);
    }
    return mlirArrayAttrGet(e->ir.ctx, ng, groups);
}

// Collapses the unit dimensions marked `dropped` of a tile (tensor.collapse_shape), or
// extracts the scalar when every dimension is dropped.
static MlirValue drop_dims(Emitter *e, MlirValue v, const SliceDims *d, const Type *result, ElemType el) {
    int kept = 0;
    for (int i = 0; i < d->rank; i++)
        kept += !d->dropped[i];
    if (kept == d->rank)
        return v;
    if (kept == 0) {
        MlirValue ops[1 + TILE_MAX_RANK];
        ops[0] = v;
        MlirValue zero = const_int(e, indext(e), 0);
        for (int i = 0; i < d->rank; i++)
            ops[1 + i] = zero;
        return op1(e, "tensor.extract", elem_type(e, el), 1 + d->rank, ops);
    }
    bool keep[TILE_MAX_RANK];
    for (int i = 0; i < d->rank; i++)
        keep[i] = !d->dropped[i];
    MlirType rt = value_type(e, result);
    if (e->gpu) {  // the GPU back end distributes collapse_shape
        MlirNamedAttribute a = named(e, "reassociation", emit_reassociation(e, d->rank, keep));
        return mlirOperationGetResult(op(e, "tensor.collapse_shape", 1, &rt, 1, &v, 1, &a, 0), 0);
    }
    // On x86, a rank-reducing extract_slice of the whole tile rather than a collapse_shape:
    // elementwise fusion folds a collapse_shape into the linalg.matmul consuming it, which turns
    // the dot into a generic that the schedule no longer recognizes.
    int64_t zeros[TILE_MAX_RANK], ones[TILE_MAX_RANK];
    for (int i = 0; i < d->rank; i++)
        zeros[i] = 0, ones[i] = 1;
    MlirNamedAttribute attrs[4] = {
        named(e, "static_offsets", i64_array(e, d->rank, zeros)),
        named(e, "static_sizes", i64_array(e, d->rank, d->size)),
        named(e, "static_strides", i64_array(e, d->rank, ones)),
        named(e, "operandSegmentSizes", segments(e, 4, (int32_t[]){1, 0, 0, 0})),
    };
    return mlirOperationGetResult(op(e, "tensor.extract_slice", 1, &rt, 1, &v, 4, attrs, 0), 0);
}

static MlirValue load_window(Emitter *e, const Symbol *t, const SliceDims *d, MlirValue pad,
                             const Type *result);
static void remark_strided(Emitter *e, const Node *n, const Symbol *t, const SliceDims *d);
static void store_window(Emitter *e, const Symbol *t, const SliceDims *d, MlirValue v, const Type *vtype);

MlirValue emit_tensor_load(Emitter *e, Node *n) {
    const Symbol *t = n->base->sym;
    SliceDims d = {0};
    if (!slice_dims(e, n, &d))
        return (MlirValue){NULL};
    ElemType el = t->type.elem;
    MlirValue pad = n->els ? emit_operand(e, n->els, el, &(Type){.cls = TY_VALUE, .elem = el})
                           : const_scalar(e, el, &(ConstVal){0});
    remark_strided(e, n, t, &d);
    return load_window(e, t, &d, pad, &n->type);
}

// The remark for a slice load (window d) from a tensor whose innermost stride is not known to
// be 1: on x86 each tile branches on the strides at run time (backends/x86/copies.c): rows of
// unit stride are copied as vectors; a tensor stored transposed (the stride of its
// second-innermost dimension 1) is read along its contiguous columns in blocks of L x L elements
// transposed in registers (backends/x86/tcopy.c), L the vector's lanes (16 f32 with AVX-512, 8
// with AVX2, 4 with SSE), when the tile's last two sides are multiples of L and its others 1;
// else element by element. The target's vector width is not known here: the remark says which
// widths take the transposed slice.
static void remark_strided(Emitter *e, const Node *n, const Symbol *t, const SliceDims *d) {
    int r = t->type.rank;
    if (!diag_remarks_enabled() || e->gpu || r < 1 || t->const_strides[r - 1] == 1 ||
        (!t->strides[r - 1] && t->const_strides[r - 1] < 0))
        return;
    int bits = elem_bits(t->type.elem), lanes = 0;  // the most lanes (of 512, 256, 128 bits) that fit
    const char *why = NULL;
    if (r < 2)
        why = "a 1-D tile";
    else if (bits != 16 && bits != 32 && bits != 64)
        why = "its elements are not 16, 32 or 64 bits";
    for (int i = 0; !why && i < r - 2; i++)
        if (d->size[i] != 1)
            why = "a side other than its last two is not 1";
    int64_t s0 = r >= 2 ? d->size[r - 2] : 1, s1 = d->size[r - 1];
    for (int vb = 512; !why && vb >= 128 && !lanes; vb /= 2)
        if (vb / bits >= 4 && vb / bits <= 32 && s0 % (vb / bits) == 0 && s1 % (vb / bits) == 0)
            lanes = vb / bits;
    if (!why && !lanes)
        why = "its last two sides are not multiples of the vector's lanes";
    if (why)
        remark_at(n->span,
                  "load from '%s' has run-time strides: per tile, unit inner stride -> slice, else element "
                  "by element (no transposed slice: %s)",
                  t->name, why);
    else if (lanes == 512 / bits)
        remark_at(n->span,
                  "load from '%s' has run-time strides: per tile, unit inner stride -> slice, unit outer "
                  "stride -> transposed slice (%lld x %lld in blocks of %d x %d with AVX-512, transposed in "
                  "registers), else element by element",
                  t->name, (long long)s0, (long long)s1, lanes, lanes);
    else
        remark_at(
            n->span,
            "load from '%s' has run-time strides: per tile, unit inner stride -> slice, unit outer "
            "stride -> transposed slice with vectors of at most %d lanes (%lld x %lld is not a multiple "
            "of AVX-512's %d: element by element there), else element by element",
            t->name, lanes, (long long)s0, (long long)s1, 512 / bits);
}

// The tile of the tensor.pad `p` (window d): its body yields `pad`; its dropped dimensions
// collapsed (`result`: the shape of the kept ones).
static MlirValue padded_tile(Emitter *e, MlirOperation p, const SliceDims *d, MlirValue pad,
                             const Type *result, ElemType el) {
    MlirType idx[TILE_MAX_RANK];
    for (int i = 0; i < d->rank; i++)
        idx[i] = indext(e);
    MlirBlock body = region_block(e, p, 0, d->rank, idx);
    MlirBlock saved = e->ir.block;
    e->ir.block = body;
    op(e, "tensor.yield", 0, NULL, 1, &pad, 0, NULL, 0);
    e->ir.block = saved;
    return drop_dims(e, mlirOperationGetResult(p, 0), d, result, el);
}

// The window d of tensor t, padded with the scalar `pad`, its dropped dimensions collapsed
// (`result`: the shape of the kept ones).
static MlirValue load_window(Emitter *e, const Symbol *t, const SliceDims *dp, MlirValue pad,
                             const Type *result) {
    SliceDims d = *dp;
    ElemType el = t->type.elem;
    MlirValue mem = memref_of(e, t);
    MlirType dyn = dynamic_tensor(e, el, d.rank);
    MlirNamedAttribute restrict_ = named(e, "restrict", mlirUnitAttrGet(e->ir.ctx));
    MlirValue whole =
        mlirOperationGetResult(op(e, "bufferization.to_tensor", 1, &dyn, 1, &mem, 1, &restrict_, 0), 0);
    MlirValue part = mlirOperationGetResult(
        dynamic_slice(e, "tensor.extract_slice", dyn, whole, d.rank, d.valid_lo, d.valid, d.step), 0);
    // Pad to the static window with the padding value.
    Type full = {.cls = TY_VALUE, .elem = el, .rank = d.rank};
    for (int i = 0; i < d.rank; i++)
        full.dims[i] = d.size[i];
    MlirType ft = value_type(e, &full);
    bool inside = true;
    for (int i = 0; i < d.rank; i++)
        inside &= d.inside[i];
    // No padding anywhere (--fix): the slice is the window, copied whole into a tile of its own
    // (`nofold`: the copy packs the tile, which the dot's register tiles read faster than the
    // tensor's rows; conv3x3 on 224x224x64 was 18 % slower without it), with no mask or fill.
    if (inside) {
        int64_t zeros[TILE_MAX_RANK] = {0};
        MlirNamedAttribute attrs[4] = {
            named(e, "static_low", i64_array(e, d.rank, zeros)),
            named(e, "static_high", i64_array(e, d.rank, zeros)),
            named(e, "operandSegmentSizes", segments(e, 3, (int32_t[]){1, 0, 0})),
            named(e, "nofold", mlirUnitAttrGet(e->ir.ctx)),
        };
        MlirValue src = op1(e, "tensor.cast", ft, 1, &part);
        MlirOperation p = op(e, "tensor.pad", 1, &ft, 1, &src, 4, attrs, 1);
        return padded_tile(e, p, &d, pad, result, el);
    }
    MlirValue ops[1 + 2 * TILE_MAX_RANK];
    int64_t dyn_pad[TILE_MAX_RANK], static_low[TILE_MAX_RANK];
    int nops = 1, nlow = 0;
    ops[0] = part;
    for (int i = 0; i < d.rank; i++) {
        dyn_pad[i] = mlirShapedTypeGetDynamicSize();
        static_low[i] = d.low_zero[i] ? 0 : dyn_pad[i];
        if (!d.low_zero[i])
            ops[nops++] = d.low[i];
    }
    nlow = nops - 1;
    for (int i = 0; i < d.rank; i++)
        ops[nops++] = d.high[i];
    MlirNamedAttribute attrs[3] = {
        named(e, "static_low", i64_array(e, d.rank, static_low)),
        named(e, "static_high", i64_array(e, d.rank, dyn_pad)),
        named(e, "operandSegmentSizes", segments(e, 3, (int32_t[]){1, nlow, d.rank})),
    };
    MlirOperation p = op(e, "tensor.pad", 1, &ft, nops, ops, 3, attrs, 1);
    return padded_tile(e, p, &d, pad, result, el);
}

void emit_tensor_store(Emitter *e, Node *target, Node *value) {
    const Symbol *t = target->base->sym;
    SliceDims d = {0};
    if (!slice_dims(e, target, &d))
        return;
    MlirValue v = emit_operand(e, value, t->type.elem, &target->type);
    if (e->failed)
        return;
    store_window(e, t, &d, v, &target->type);
}

// Writes v (of type vtype: the window's kept dimensions) into the part of window d inside
// tensor t.
static void store_window(Emitter *e, const Symbol *t, const SliceDims *dp, MlirValue v, const Type *vtype) {
    SliceDims d = *dp;
    ElemType el = t->type.elem;
    Type full = {.cls = TY_VALUE, .elem = el, .rank = d.rank};
    for (int i = 0; i < d.rank; i++)
        full.dims[i] = d.size[i];
    // The value at the window's full rank (dropped dimensions as size 1).
    if (vtype->rank != d.rank) {
        Type shaped = *vtype;
        shaped.elem = el;
        MlirType ft = value_type(e, &full);
        if (shaped.rank == 0) {
            v = op1(e, "tensor.splat", ft, 1, &v);
        } else {
            // expand_shape back to the window rank (the inverse of drop_dims)
            bool keep[TILE_MAX_RANK];
            for (int i = 0; i < d.rank; i++)
                keep[i] = !d.dropped[i];
            MlirNamedAttribute attrs[2] = {
                named(e, "reassociation", emit_reassociation(e, d.rank, keep)),
                named(e, "static_output_shape", i64_array(e, d.rank, full.dims)),
            };
            v = mlirOperationGetResult(op(e, "tensor.expand_shape", 1, &ft, 1, &v, 2, attrs, 0), 0);
        }
    }
    MlirType dyn = dynamic_tensor(e, el, d.rank);
    MlirValue part = mlirOperationGetResult(
        dynamic_slice(e, "tensor.extract_slice", dyn, v, d.rank, d.low, d.valid, NULL), 0);
    MlirValue mem = memref_of(e, t);
    int64_t shape[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int i = 0; i < d.rank; i++) {
        shape[i] = mlirShapedTypeGetDynamicSize();
        strides[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    }
    MlirAttribute layout =
        mlirStridedLayoutAttrGet(e->ir.ctx, mlirShapedTypeGetDynamicStrideOrOffset(), d.rank, strides);
    MlirType sub = mlirMemRefTypeGet(elem_type(e, el), d.rank, shape, layout, mlirAttributeGetNull());
    MlirValue dst = mlirOperationGetResult(
        dynamic_slice(e, "memref.subview", sub, mem, d.rank, d.valid_lo, d.valid, NULL), 0);
    MlirValue ops[2] = {part, dst};
    MlirNamedAttribute w = named(e, "writable", mlirUnitAttrGet(e->ir.ctx));
    op(e, "bufferization.materialize_in_destination", 0, NULL, 2, ops, 1, &w, 0);
}

// ================================================================ element-wise accesses

// Gathers, scatters, masked load/store and atomics: X[items] visited element by element. Per
// tensor dimension an item is a scalar index, a slice (its position in the result shape) or an
// index tile (broadcast to the result shape, as i64). Loops over the result shape compute each
// element's indices, test them against the tensor's bounds (and the mask), and read, write or
// update the element only when inside.
typedef struct Access {
    const Symbol *t;
    Type shape;                    // the result shape S (element type: the tensor's)
    int kind[TILE_MAX_RANK];       // 0 scalar index, 1 slice, 2 index tile
    MlirValue val[TILE_MAX_RANK];  // i64 scalar, slice start, or i64 tile of shape S
    int rdim[TILE_MAX_RANK];       // slice: its dimension in S
    MlirValue mask;                // i1 tile of shape S (or scalar), or null
    MlirValue mem;                 // the memref stores go to (null: the tensor's own)
} Access;

static bool access_of(Emitter *e, Node *n, Node *mask, Access *a) {
    a->t = n->base->sym;
    a->mem = (MlirValue){NULL};
    a->shape = n->type;
    Type s64 = n->type, i64s = {.cls = TY_VALUE, .elem = EL_I64};
    s64.elem = EL_I64;
    int rd = 0;
    for (int j = 0; j < n->args.len; j++) {
        Node *it = n->args.items[j];
        if (it->kind == ND_SLICE) {
            a->kind[j] = 1;
            a->val[j] = it->lhs ? emit_operand(e, it->lhs, EL_I64, &i64s) : const_int(e, i64t(e), 0);
            a->rdim[j] = rd++;
        } else {
            a->kind[j] = it->type.rank ? 2 : 0;
            a->val[j] = emit_operand(e, it, EL_I64, it->type.rank ? &s64 : &i64s);
        }
    }
    Type sm = n->type;
    sm.elem = EL_I1;
    a->mask = mask ? emit_operand(e, mask, EL_I1, &sm) : (MlirValue){NULL};
    return !e->failed;
}

// Element `ivs` of a value of shape S (a scalar stays itself).
static MlirValue element_at(Emitter *e, MlirValue v, const Type *shape, const MlirValue *ivs, ElemType el) {
    if (shape->rank == 0 || !mlirTypeIsARankedTensor(mlirValueGetType(v)))
        return v;
    MlirValue ops[1 + TILE_MAX_RANK];
    ops[0] = v;
    for (int i = 0; i < shape->rank; i++)
        ops[1 + i] = ivs[i];
    return op1(e, "tensor.extract", elem_type(e, el), 1 + shape->rank, ops);
}

// The tensor indices (index type) of result element `ivs`, and whether it is inside the tensor
// (and selected by the mask).
static MlirValue access_element(Emitter *e, const Access *a, const MlirValue *ivs, MlirValue *idx) {
    MlirType i1 = elem_type(e, EL_I1);
    MlirValue zero = const_int(e, i64t(e), 0), cond = const_int(e, i1, 1);
    MlirNamedAttribute sge = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 5)),
                       slt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    for (int j = 0; j < a->t->type.rank; j++) {
        MlirValue k = a->kind[j] == 0 ? a->val[j]
                      : a->kind[j] == 1
                          ? binop(e, "arith.addi", a->val[j],
                                  op1(e, "arith.index_cast", i64t(e), 1, (MlirValue[]){ivs[a->rdim[j]]}))
                          : element_at(e, a->val[j], &a->shape, ivs, EL_I64);
        MlirValue lo =
            mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, (MlirValue[]){k, zero}, 1, &sge, 0), 0);
        MlirValue hi = mlirOperationGetResult(
            op(e, "arith.cmpi", 1, &i1, 2, (MlirValue[]){k, emit_size_value(e, a->t, j)}, 1, &slt, 0), 0);
        cond = binop(e, "arith.andi", cond, binop(e, "arith.andi", lo, hi));
        idx[j] = to_index(e, k);
    }
    if (!mlirValueIsNull(a->mask))
        cond = binop(e, "arith.andi", cond, element_at(e, a->mask, &a->shape, ivs, EL_I1));
    return cond;
}

// One element of a gather: X[idx] where `cond` holds (the element is inside and selected),
// else `other` (an element value); the read happens only under the condition.
static MlirValue read_if_inside(Emitter *e, const Access *a, MlirValue whole, MlirValue cond,
                                const MlirValue *idx, MlirValue other) {
    MlirType et = elem_type(e, a->shape.elem);
    MlirOperation f = op(e, "scf.if", 1, &et, 1, &cond, 0, NULL, 2);
    MlirBlock saved = e->ir.block;
    e->ir.block = region_block(e, f, 0, 0, NULL);
    MlirValue ops[1 + TILE_MAX_RANK];
    ops[0] = whole;
    for (int j = 0; j < a->t->type.rank; j++)
        ops[1 + j] = idx[j];
    MlirValue v = op1(e, "tensor.extract", et, 1 + a->t->type.rank, ops);
    op(e, "scf.yield", 0, NULL, 1, &v, 0, NULL, 0);
    e->ir.block = region_block(e, f, 1, 0, NULL);
    op(e, "scf.yield", 0, NULL, 1, &other, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(f, 0);
}

// The loads: one linalg.generic over S whose body tests an element's indices (and mask) and
// reads it only when inside. Index tiles, the mask and `other` are its inputs, so elementwise
// fusion pulls their producers (aranges, broadcasts) into the body: an index that is an
// offset plus the innermost loop index becomes consecutive addresses after lowering, and LLVM
// vectorizes the conditional reads into masked vector loads.
static MlirValue gather_generic(Emitter *e, const Access *a, MlirValue whole, MlirValue other) {
    ElemType el = a->shape.elem;
    MlirType et = elem_type(e, el);
    Access b = *a;  // the same access with every tile replaced by its element (a block argument)
    MlirValue ins[TILE_MAX_RANK + 3];
    MlirType arg_types[TILE_MAX_RANK + 3];
    int which[TILE_MAX_RANK + 3], nin = 0;  // dimension j, or -1 the mask, -2 other
    for (int j = 0; j < a->t->type.rank; j++)
        if (a->kind[j] == 2)
            which[nin] = j, arg_types[nin] = i64t(e), ins[nin++] = a->val[j];
    if (!mlirValueIsNull(a->mask) && mlirTypeIsARankedTensor(mlirValueGetType(a->mask)))
        which[nin] = -1, arg_types[nin] = elem_type(e, EL_I1), ins[nin++] = a->mask;
    if (mlirTypeIsARankedTensor(mlirValueGetType(other)))
        which[nin] = -2, arg_types[nin] = et, ins[nin++] = other;
    ins[nin] = emit_empty_tensor(e, &a->shape);
    arg_types[nin] = et;
    MlirAttribute maps[TILE_MAX_RANK + 3];
    for (int i = 0; i <= nin; i++)
        maps[i] = mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(e->ir.ctx, a->shape.rank));
    MlirNamedAttribute attrs[3] = {
        named(e, "indexing_maps", mlirArrayAttrGet(e->ir.ctx, nin + 1, maps)),
        named(e, "iterator_types", emit_parallel_iterators(e, a->shape.rank)),
        named(e, "operandSegmentSizes", segments(e, 2, (int32_t[]){nin, 1})),
    };
    MlirType rt = value_type(e, &a->shape);
    MlirOperation g = op(e, "linalg.generic", 1, &rt, nin + 1, ins, 3, attrs, 1);
    MlirBlock body = region_block(e, g, 0, nin + 1, arg_types), saved = e->ir.block;
    e->ir.block = body;
    for (int i = 0; i < nin; i++) {
        MlirValue arg = mlirBlockGetArgument(body, i);
        if (which[i] >= 0)
            b.kind[which[i]] = 0, b.val[which[i]] = arg;
        else if (which[i] == -1)
            b.mask = arg;
        else
            other = arg;
    }
    MlirValue ivs[TILE_MAX_RANK];
    MlirType it = indext(e);
    for (int d = 0; d < a->shape.rank; d++) {
        MlirNamedAttribute dim = named(e, "dim", mlirIntegerAttrGet(i64t(e), d));
        ivs[d] = mlirOperationGetResult(op(e, "linalg.index", 1, &it, 0, NULL, 1, &dim, 0), 0);
    }
    MlirValue idx[TILE_MAX_RANK];
    MlirValue cond = access_element(e, &b, ivs, idx);
    MlirValue r = read_if_inside(e, &b, whole, cond, idx, other);
    op(e, "linalg.yield", 0, NULL, 1, &r, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(g, 0);
}

// ================================================================ contiguous accesses

// An element-wise access whose index tiles are, by axis_info.c's analysis, a start plus the
// position along one axis of the result (stride 1), each tensor dimension on its own axis in
// order, is a window of the tensor: a slice. Its mask's conjuncts that bound the position along
// an axis (offs < N, rows[:, None] >= lo) narrow the window, whose edges are padding as for any
// slice: interior tiles need no mask at all (the x86 back end's copies skip the padding there,
// backends/x86/copies.c). What remains of the mask is applied with a select (loads); a store
// with such a remainder stays a scatter, which writes nothing masked off.
typedef struct Window {
    SliceDims d;
    int axis[TILE_MAX_RANK];     // tensor dimension → result axis, or -1: a dropped dimension
    bool mapped[TILE_MAX_RANK];  // result axis → some dimension moves along it
    int nkept;
    bool residual;  // the mask is not only bounds: apply it
    char why[240];  // why not a window, or why the mask stays
} Window;

// With `steps` (loads), a dimension other than the innermost may also move along its axis by a
// constant stride > 1 (X[n, 2 * ow + kw, c + arange(BC)]: every other row): a strided window,
// read as rows when the innermost dimension is a slice.
static bool window_of(Emitter *e, const Node *n, const Access *a, Window *w, bool steps) {
    const Symbol *t = a->t;
    int rank = t->type.rank;
    w->d.rank = rank;
    w->nkept = 0;
    w->residual = false;
    w->why[0] = '\0';
    for (int r = 0; r < a->shape.rank; r++)
        w->mapped[r] = false;
    int prev = -1;
    for (int j = 0; j < rank; j++) {
        w->axis[j] = -1;
        w->d.step[j] = 1;
        w->d.inside[j] = false;
        if (a->kind[j] == 1) {
            w->axis[j] = a->rdim[j];
            w->d.lo[j] = a->val[j];
        } else if (a->kind[j] == 0) {
            w->d.lo[j] = a->val[j];
        } else {
            AxisInfo ai;
            char why[160];
            if (!axis_info_of(&e->ir, a->val[j], &ai, why, sizeof why)) {
                snprintf(w->why, sizeof w->why, "index on dimension %d not provably contiguous: %s", j, why);
                return false;
            }
            for (int r = 0; r < ai.rank; r++) {
                if (ai.coef[r] == 0)
                    continue;
                if (steps && ai.coef[r] > 1 && w->axis[j] < 0 && j < rank - 1) {
                    w->axis[j] = r;
                    w->d.step[j] = ai.coef[r];
                    continue;
                }
                if (ai.coef[r] != 1 || w->axis[j] >= 0) {
                    if (w->axis[j] >= 0)
                        snprintf(w->why, sizeof w->why,
                                 "index on dimension %d not contiguous: it moves along axes %d and %d", j,
                                 w->axis[j], r);
                    else
                        snprintf(w->why, sizeof w->why,
                                 "index on dimension %d not contiguous: stride %lld along axis %d", j,
                                 (long long)ai.coef[r], r);
                    return false;
                }
                w->axis[j] = r;
            }
            w->d.lo[j] = ai.base;
        }
        w->d.dropped[j] = w->axis[j] < 0;
        w->d.size[j] = w->axis[j] < 0 ? 1 : a->shape.dims[w->axis[j]];
        const Node *it = n->args.items[j];
        w->d.low_zero[j] = nonneg(it->kind == ND_SLICE ? it->lhs : it);
        if (w->axis[j] >= 0) {
            if (w->axis[j] <= prev) {
                snprintf(w->why, sizeof w->why,
                         "dimensions %d and %d of '%s' move along result axes out of order (a transpose)",
                         j - 1, j, t->name);
                return false;
            }
            prev = w->axis[j];
            w->mapped[w->axis[j]] = true;
            w->nkept++;
        }
    }
    for (int r = 0; r < a->shape.rank; r++)
        if (!w->mapped[r] && a->shape.dims[r] != 1) {
            snprintf(w->why, sizeof w->why,
                     "no index moves along axis %d: each element is accessed %lld times", r,
                     (long long)a->shape.dims[r]);
            return false;
        }
    if (w->nkept == 0) {
        snprintf(w->why, sizeof w->why, "one element");
        return false;
    }
    int strided = -1;  // a dimension with a step
    for (int j = 0; j < rank; j++)
        if (w->d.step[j] != 1)
            strided = j;
    if (strided >= 0 && w->axis[rank - 1] < 0) {
        snprintf(w->why, sizeof w->why,
                 "index on dimension %d not contiguous: stride %lld along axis %d, and the innermost "
                 "dimension is not a slice",
                 strided, (long long)w->d.step[strided], w->axis[strided]);
        return false;
    }
    // The mask's bounds, as bounds on each dimension's index: lo_j + [L, H).
    MlirValue lob[TILE_MAX_RANK] = {{NULL}}, hib[TILE_MAX_RANK] = {{NULL}};
    if (!mlirValueIsNull(a->mask)) {
        MaskInfo m;
        axis_mask_info(&e->ir, a->mask, &m);
        MlirValue all = m.all, zero = const_int(e, i64t(e), 0);
        for (int k = 0; k < m.nbounds; k++) {
            const AxisBound *bd = &m.bounds[k];
            int j = 0;
            while (j < rank && w->axis[j] != bd->axis)
                j++;
            if (j == rank) {  // a unit axis of the result: position 0
                MlirValue c[2] = {
                    mlirValueIsNull(bd->lo) ? (MlirValue){NULL} : ir_cmpi(&e->ir, 3, bd->lo, zero),
                    mlirValueIsNull(bd->hi) ? (MlirValue){NULL} : ir_cmpi(&e->ir, 4, bd->hi, zero),
                };
                for (int q = 0; q < 2; q++)
                    if (!mlirValueIsNull(c[q]))
                        all = mlirValueIsNull(all) ? c[q] : binop(e, "arith.andi", all, c[q]);
                continue;
            }
            if (w->d.step[j] != 1) {
                snprintf(w->why, sizeof w->why,
                         "index on dimension %d not contiguous: stride %lld along axis %d, which the mask "
                         "bounds",
                         j, (long long)w->d.step[j], w->axis[j]);
                return false;
            }
            if (!mlirValueIsNull(bd->lo)) {
                MlirValue v = binop(e, "arith.addi", w->d.lo[j], bd->lo);
                lob[j] = mlirValueIsNull(lob[j]) ? v : binop(e, "arith.maxsi", lob[j], v);
            }
            if (!mlirValueIsNull(bd->hi)) {
                MlirValue v = binop(e, "arith.addi", w->d.lo[j], bd->hi);
                hib[j] = mlirValueIsNull(hib[j]) ? v : binop(e, "arith.minsi", hib[j], v);
            }
        }
        if (!mlirValueIsNull(all) && w->d.step[0] != 1) {
            snprintf(w->why, sizeof w->why, "a mask on a strided window");
            return false;
        }
        if (!mlirValueIsNull(all)) {  // false: an empty window
            MlirValue h = mlirValueIsNull(hib[0]) ? emit_size_value(e, t, 0) : hib[0];
            hib[0] = op1(e, "arith.select", i64t(e), 3, (MlirValue[]){all, h, zero});
        }
        w->residual = m.residual;
        if (m.residual)
            snprintf(w->why, sizeof w->why, "%s", m.why);
    }
    for (int j = 0; j < rank; j++)
        window_dim(e, t, &w->d, j, lob[j], hib[j]);
    return !e->failed;
}

// The type of a window's kept dimensions.
static Type kept_type(const Window *w, const Access *a) {
    Type k = {.cls = TY_VALUE, .elem = a->shape.elem, .rank = 0};
    for (int j = 0; j < w->d.rank; j++)
        if (w->axis[j] >= 0)
            k.dims[k.rank++] = a->shape.dims[w->axis[j]];
    return k;
}

// Between the kept dimensions' shape and the result's (which may have more unit axes).
static MlirValue to_result_shape(Emitter *e, const Window *w, const Access *a, MlirValue v, bool expand) {
    if (w->nkept == a->shape.rank)
        return v;
    Type k = kept_type(w, a);
    MlirType rt = value_type(e, expand ? &a->shape : &k);
    MlirNamedAttribute attrs[2] = {
        named(e, "reassociation", emit_reassociation(e, a->shape.rank, w->mapped)),
        named(e, "static_output_shape", i64_array(e, a->shape.rank, a->shape.dims)),
    };
    return mlirOperationGetResult(op(e, expand ? "tensor.expand_shape" : "tensor.collapse_shape", 1, &rt, 1,
                                     &v, expand ? 2 : 1, attrs, 0),
                                  0);
}

static const char *access_what(const Node *mask, bool store) {
    return store ? (mask ? "masked store to" : "store to") : (mask ? "masked load from" : "load from");
}

// The remark for an access taken as a window.
static void remark_window(const Node *n, const Node *mask, const Window *w, bool store) {
    if (!diag_remarks_enabled())
        return;
    const char *name = n->base->sym->name;
    for (int j = 0; j < w->d.rank; j++)
        if (w->d.step[j] != 1) {  // loads only; no mask remains (window_of)
            remark_at(n->span,
                      "%s '%s' is strided: a slice with step %lld on dimension %d, read as contiguous rows%s",
                      access_what(mask, store), name, (long long)w->d.step[j], j,
                      mask ? ", the mask folded into its bounds" : "");
            return;
        }
    if (!mask)
        remark_at(n->span, "%s '%s' is contiguous: a slice", access_what(mask, store), name);
    else if (!w->residual)
        remark_at(
            n->span,
            "%s '%s' is contiguous: a slice, the mask folded into its bounds (no mask on interior tiles)",
            access_what(mask, store), name);
    else
        remark_at(n->span, "%s '%s' is contiguous: a slice and a select (mask not a bound on the index: %s)",
                  access_what(mask, store), name, w->why);
}

// The tensor's memref, through its unit-stride type when it is contiguous (or has a literal
// unit innermost stride): elements whose last index is an offset plus the innermost loop index
// are then consecutive for LLVM, whose vectorizer makes masked vector loads and stores of them
// instead of gathers and scatters of 64-bit addresses.
static MlirValue unit_stride_view(Emitter *e, const Symbol *t) {
    MlirValue mem = memref_of(e, t);
    int rank = t->type.rank;
    if (rank > 0 &&
        (t->const_strides[rank - 1] == 1 || (!t->strides[rank - 1] && t->const_strides[rank - 1] < 0)))
        mem = op1(e, "memref.cast", ir_unit_stride_memref(e->ir.ctx, elem_type(e, t->type.elem), rank), 1,
                  &mem);
    return mem;
}

// X[items] with index tiles, or load(X[...], mask = m, other = v): the padding value (or
// `other`) where an element is outside the tensor or masked off; those are not read.
MlirValue emit_gather(Emitter *e, Node *n, Node *mask, Node *other) {
    Access a;
    if (!access_of(e, n, mask, &a))
        return (MlirValue){NULL};
    ElemType el = a.shape.elem;
    Window w = {0};
    bool fast = false;
    if (e->gpu)
        snprintf(w.why, sizeof w.why, "not analyzed on GPU targets yet");
    else if (a.shape.rank == 0)  // one element
        w.why[0] = '\0';
    else if (other && other->type.rank > 0)
        snprintf(w.why, sizeof w.why, "'other' is a tile");
    else
        fast = window_of(e, n, &a, &w, true);
    if (fast) {
        const Node *pn = other ? other : n->els;
        MlirValue pad = pn ? emit_operand(e, (Node *)pn, el, &(Type){.cls = TY_VALUE, .elem = el})
                           : const_scalar(e, el, &(ConstVal){0});
        Type k = kept_type(&w, &a);
        remark_strided(e, n, a.t, &w.d);
        MlirValue v = to_result_shape(e, &w, &a, load_window(e, a.t, &w.d, pad, &k), true);
        if (w.residual) {
            MlirType rt = value_type(e, &a.shape);
            MlirValue p = op1(e, "tensor.splat", rt, 1, &pad);
            v = op1(e, "arith.select", rt, 3, (MlirValue[]){a.mask, v, p});
        }
        remark_window(n, mask, &w, false);
        return v;
    }
    if (w.why[0])
        remark_at(n->span, "%s '%s' is a gather (element by element%s): %s", access_what(mask, false),
                  a.t->name, mask ? ", masked" : "", w.why);
    MlirValue pad;
    if (other)
        pad = emit_operand(e, other, el, &a.shape);
    else
        pad = n->els ? emit_operand(e, n->els, el, &(Type){.cls = TY_VALUE, .elem = el})
                     : const_scalar(e, el, &(ConstVal){0});
    MlirValue mem = e->gpu ? memref_of(e, a.t) : unit_stride_view(e, a.t);
    MlirType dyn = dynamic_tensor(e, el, a.t->type.rank);
    MlirNamedAttribute restrict_ = named(e, "restrict", mlirUnitAttrGet(e->ir.ctx));
    MlirValue whole =
        mlirOperationGetResult(op(e, "bufferization.to_tensor", 1, &dyn, 1, &mem, 1, &restrict_, 0), 0);
    if (a.shape.rank == 0) {  // one element: the test and the read, in place
        MlirValue idx[TILE_MAX_RANK];
        MlirValue cond = access_element(e, &a, NULL, idx);
        return read_if_inside(e, &a, whole, cond, idx, pad);
    }
    return gather_generic(e, &a, whole, pad);
}

// The stores: one store or atomic update per selected element inside the tensor.
static void scatter_loops(Emitter *e, const Access *a, MlirValue v, int rmw, int d, MlirValue *ivs) {
    if (d == a->shape.rank) {
        MlirValue idx[TILE_MAX_RANK];
        MlirValue cond = access_element(e, a, ivs, idx);
        MlirOperation f = op(e, "scf.if", 0, NULL, 1, &cond, 0, NULL, 2);
        MlirBlock saved = e->ir.block;
        e->ir.block = region_block(e, f, 0, 0, NULL);
        int r = a->t->type.rank;
        MlirValue ops[2 + TILE_MAX_RANK];
        ops[0] = element_at(e, v, &a->shape, ivs, a->shape.elem);
        ops[1] = mlirValueIsNull(a->mem) ? memref_of(e, a->t) : a->mem;
        for (int j = 0; j < r; j++)
            ops[2 + j] = idx[j];
        if (rmw >= 0) {
            MlirNamedAttribute kind = named(e, "kind", mlirIntegerAttrGet(i64t(e), rmw));
            op(e, "memref.atomic_rmw", 1, (MlirType[]){elem_type(e, a->shape.elem)}, 2 + r, ops, 1, &kind, 0);
        } else {
            op(e, "memref.store", 0, NULL, 2 + r, ops, 0, NULL, 0);
        }
        op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        e->ir.block = region_block(e, f, 1, 0, NULL);
        op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
        e->ir.block = saved;
        return;
    }
    MlirValue bounds[3] = {const_int(e, indext(e), 0), const_int(e, indext(e), a->shape.dims[d]),
                           const_int(e, indext(e), 1)};
    MlirOperation f = op(e, "scf.for", 0, NULL, 3, bounds, 0, NULL, 1);
    if (d == 0)  // the GPU back end runs the nest as one masked scatter (backends/nvidia/gpu_elementwise.c)
        mlirOperationSetDiscardableAttributeByName(f, str("tilec.scatter"), mlirUnitAttrGet(e->ir.ctx));
    MlirType it = indext(e);
    MlirBlock body = region_block(e, f, 0, 1, &it), saved = e->ir.block;
    e->ir.block = body;
    ivs[d] = mlirBlockGetArgument(body, 0);
    scatter_loops(e, a, v, rmw, d + 1, ivs);
    op(e, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    e->ir.block = saved;
}

// X[items with index tiles] = v, store(X[...], v, mask = m), atomic_add/max/min(X[...], v, mask = m).
void emit_scatter(Emitter *e, Node *target, Node *value, Node *mask, Builtin b) {
    Access a;
    if (!access_of(e, target, mask, &a))
        return;
    ElemType el = a.shape.elem;
    MlirValue v = emit_operand(e, value, el, &a.shape);
    if (e->failed)
        return;
    if (b == B_STORE) {
        Window w = {0};
        bool fast = false;
        w.residual = false;
        if (e->gpu)
            snprintf(w.why, sizeof w.why, "not analyzed on GPU targets yet");
        else if (a.shape.rank == 0)  // one element
            w.why[0] = '\0';
        else
            fast = window_of(e, target, &a, &w, false) && !w.residual;
        if (fast) {
            Type k = kept_type(&w, &a);
            store_window(e, a.t, &w.d, to_result_shape(e, &w, &a, v, false), &k);
            remark_window(target, mask, &w, true);
            return;
        }
        if (!e->gpu && w.residual) {
            // A contiguous window under a mask that is not a bound: the loops store where the
            // mask holds, at the window's start plus the loop indices, through the tensor's
            // unit-stride type where it has one (LLVM makes masked vector stores of them).
            for (int j = 0; j < a.t->type.rank; j++) {
                a.kind[j] = w.axis[j] >= 0 ? 1 : 0;
                a.val[j] = w.d.lo[j];
                a.rdim[j] = w.axis[j];
            }
            const Symbol *t = a.t;
            int r = t->type.rank;
            if (t->const_strides[r - 1] == 1 || (!t->strides[r - 1] && t->const_strides[r - 1] < 0))
                a.mem = ir_unit_stride_view(&e->ir, memref_of(e, t));
            remark_at(target->span, "%s '%s' is contiguous but stored element by element under the mask (%s)",
                      access_what(mask, true), a.t->name, w.why);
        } else if (w.why[0]) {
            remark_at(target->span, "%s '%s' is a scatter (element by element%s): %s",
                      access_what(mask, true), a.t->name, mask ? ", masked" : "", w.why);
        }
    }
    bool fl = elem_is_float(el), uns = elem_is_unsigned(el);
    // arith::AtomicRMWKind: addf 0, addi 1, maximumf 4, maxs 6, maxu 7, minimumf 8, mins 10,
    // minu 11 (-1: a store).
    int rmw = b == B_ATOMIC_ADD   ? (fl ? 0 : 1)
              : b == B_ATOMIC_MAX ? (fl    ? 4
                                     : uns ? 7
                                           : 6)
              : b == B_ATOMIC_MIN ? (fl    ? 8
                                     : uns ? 11
                                           : 10)
                                  : -1;
    MlirValue ivs[TILE_MAX_RANK];
    scatter_loops(e, &a, v, rmw, 0, ivs);
}

// Whether X[items] has an index tile (a gather or scatter).
bool emit_has_index_tile(const Node *n) {
    for (int j = 0; j < n->args.len; j++) {
        const Node *it = n->args.items[j];
        if (it->kind != ND_SLICE && it->type.rank > 0)
            return true;
    }
    return false;
}

// ================================================================ atomic_cas, atomic_xchg

// The address of X[idx] as an LLVM pointer: the memref's aligned pointer plus its offset and
// the indices times its strides, in elements.
static MlirValue element_address(Emitter *e, const Symbol *t, const MlirValue *idx) {
    MlirValue mem = memref_of(e, t);
    int r = t->type.rank;
    MlirOperation md = ir_strided_metadata(&e->ir, mem);
    MlirValue off = mlirOperationGetResult(md, 1);
    for (int j = 0; j < r; j++)
        off = binop(e, "arith.addi", off,
                    binop(e, "arith.muli", idx[j], mlirOperationGetResult(md, 2 + r + j)));
    MlirValue base = op1(e, "memref.extract_aligned_pointer_as_index", indext(e), 1, &mem);
    MlirValue bytes = binop(e, "arith.muli", off, const_int(e, indext(e), elem_bits(t->type.elem) / 8));
    MlirValue addr =
        op1(e, "arith.index_cast", i64t(e), 1, (MlirValue[]){binop(e, "arith.addi", base, bytes)});
    return op1(e, "llvm.inttoptr", mlirLLVMPointerTypeGet(e->ir.ctx, 0), 1, &addr);
}

// Declares the runtime's compare-and-swap `name` (runtime/atomic.c) in the module, once:
// (!llvm.ptr, T, T) -> T.
static void declare_cas(Emitter *e, const char *name, MlirType et) {
    MlirOperation m = mlirBlockGetParentOperation(e->ir.block);
    while (!mlirOperationIsNull(m) && !ir_op_is(m, "builtin.module"))
        m = mlirOperationGetParentOperation(m);
    if (mlirOperationIsNull(m))
        internal_error(__FILE__, __LINE__, "atomic_cas outside a module");
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(m, 0));
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o)) {
        MlirAttribute n = mlirOperationGetAttributeByName(o, str("sym_name"));
        if (!mlirAttributeIsNull(n) && mlirStringRefEqual(mlirStringAttrGetValue(n), str(name)))
            return;
    }
    MlirType args[3] = {mlirLLVMPointerTypeGet(e->ir.ctx, 0), et, et};
    MlirNamedAttribute attrs[3] = {
        named(e, "sym_name", mlirStringAttrGet(e->ir.ctx, str(name))),
        named(e, "function_type", mlirTypeAttrGet(mlirFunctionTypeGet(e->ir.ctx, 3, args, 1, &et))),
        named(e, "sym_visibility", mlirStringAttrGet(e->ir.ctx, str("private"))),
    };
    MlirOperationState st = mlirOperationStateGet(str("func.func"), e->ir.loc);
    mlirOperationStateAddAttributes(&st, 3, attrs);
    MlirRegion r = mlirRegionCreate();
    mlirOperationStateAddOwnedRegions(&st, 1, &r);
    mlirBlockInsertOwnedOperation(body, 0, mlirOperationCreate(&st));
}

// One element's swap where `cond` holds: the runtime's compare-and-swap of X[idx] from `cmp` to
// `val` (cas; runtime/atomic.c says why a call), or memref.atomic_rmw assign (xchg); both
// sequentially consistent. The value the element held, or 0 where `cond` is false.
static MlirValue swap_element(Emitter *e, const Access *a, MlirValue cond, const MlirValue *idx,
                              MlirValue cmp, MlirValue val) {
    ElemType el = a->shape.elem;
    MlirType et = elem_type(e, el);
    int r = a->t->type.rank;
    MlirOperation f = op(e, "scf.if", 1, &et, 1, &cond, 0, NULL, 2);
    MlirBlock saved = e->ir.block;
    e->ir.block = region_block(e, f, 0, 0, NULL);
    MlirValue old;
    if (!mlirValueIsNull(cmp)) {
        MlirValue ops[3] = {element_address(e, a->t, idx), cmp, val};
        const char *fn = elem_bits(el) == 32 ? "tilec_rt_cas_i32" : "tilec_rt_cas_i64";
        declare_cas(e, fn, et);
        MlirNamedAttribute callee = named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(fn)));
        old = mlirOperationGetResult(op(e, "func.call", 1, &et, 3, ops, 1, &callee, 0), 0);
    } else {
        MlirValue ops[2 + TILE_MAX_RANK];
        ops[0] = val;
        ops[1] = memref_of(e, a->t);
        for (int j = 0; j < r; j++)
            ops[2 + j] = idx[j];
        MlirNamedAttribute kind = named(e, "kind", mlirIntegerAttrGet(i64t(e), 3));  // assign
        old = mlirOperationGetResult(op(e, "memref.atomic_rmw", 1, &et, 2 + r, ops, 1, &kind, 0), 0);
    }
    op(e, "scf.yield", 0, NULL, 1, &old, 0, NULL, 0);
    e->ir.block = region_block(e, f, 1, 0, NULL);
    MlirValue zero = const_scalar(e, el, &(ConstVal){0});
    op(e, "scf.yield", 0, NULL, 1, &zero, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(f, 0);
}

// The loops over the result shape from dimension d on, carrying the result tile `acc`: each
// element swapped in order, its old value inserted at its position.
static MlirValue swap_loops(Emitter *e, const Access *a, MlirValue cmp, MlirValue val, MlirValue acc, int d,
                            MlirValue *ivs) {
    ElemType el = a->shape.elem;
    if (d == a->shape.rank) {
        MlirValue idx[TILE_MAX_RANK];
        MlirValue cond = access_element(e, a, ivs, idx);
        MlirValue c = mlirValueIsNull(cmp) ? cmp : element_at(e, cmp, &a->shape, ivs, el);
        MlirValue old = swap_element(e, a, cond, idx, c, element_at(e, val, &a->shape, ivs, el));
        if (a->shape.rank == 0)
            return old;
        MlirValue ops[2 + TILE_MAX_RANK] = {old, acc};
        for (int i = 0; i < a->shape.rank; i++)
            ops[2 + i] = ivs[i];
        return op1(e, "tensor.insert", mlirValueGetType(acc), 2 + a->shape.rank, ops);
    }
    MlirValue ops[4] = {const_int(e, indext(e), 0), const_int(e, indext(e), a->shape.dims[d]),
                        const_int(e, indext(e), 1), acc};
    MlirType tt = mlirValueGetType(acc);
    MlirOperation f = op(e, "scf.for", 1, &tt, 4, ops, 0, NULL, 1);
    MlirBlock body = region_block(e, f, 0, 2, (MlirType[]){indext(e), tt}), saved = e->ir.block;
    e->ir.block = body;
    ivs[d] = mlirBlockGetArgument(body, 0);
    MlirValue r = swap_loops(e, a, cmp, val, mlirBlockGetArgument(body, 1), d + 1, ivs);
    op(e, "scf.yield", 0, NULL, 1, &r, 0, NULL, 0);
    e->ir.block = saved;
    return mlirOperationGetResult(f, 0);
}

// atomic_cas(X[...], cmp, val, mask = m) / atomic_xchg(X[...], val, mask = m): the elements are
// swapped one after the other, in row-major order of the indexed shape.
MlirValue emit_atomic_swap(Emitter *e, Node *call, Builtin b) {
    Node **args = call->args.items;
    if (e->gpu)  // as the other atomics (docs/gpu.md)
        return emit_unsupported(e, call,
                                b == B_ATOMIC_CAS ? "'atomic_cas' on a GPU" : "'atomic_xchg' on a GPU");
    Access a;
    if (!access_of(e, args[0], sema_named_arg(call, "mask"), &a))
        return (MlirValue){NULL};
    ElemType el = a.shape.elem;
    MlirValue cmp = b == B_ATOMIC_CAS ? emit_operand(e, args[1], el, &a.shape) : (MlirValue){NULL};
    MlirValue val = emit_operand(e, args[b == B_ATOMIC_CAS ? 2 : 1], el, &a.shape);
    if (e->failed)
        return val;
    MlirValue ivs[TILE_MAX_RANK];
    MlirValue acc = a.shape.rank ? emit_empty_tensor(e, &a.shape) : (MlirValue){NULL};
    return swap_loops(e, &a, cmp, val, acc, 0, ivs);
}
