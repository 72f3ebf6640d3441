// backends/nvidia/gpu_reduce.c — reductions (linalg.reduce): within each thread, across a warp's lanes
// with xor shuffles, across warps through shared memory, then the initial value.
#include <stdio.h>
#include <stdlib.h>

#include "gpu_simt.h"

// The binary op of a linalg.reduce body: one op of (in, init), then linalg.yield.
static MlirOperation combiner(MlirOperation red) {
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(red, 0));
    MlirOperation first = mlirBlockGetFirstOperation(body);
    if (mlirOperationIsNull(first) || mlirOperationGetNumOperands(first) != 2)
        return (MlirOperation){NULL};
    MlirOperation next = mlirOperationGetNextInBlock(first);
    if (mlirOperationIsNull(next) || !ir_op_is(next, "linalg.yield"))
        return (MlirOperation){NULL};
    return first;
}

// comb(a, b) with the combiner's op name and attributes, on scalars or vectors.
static MlirValue combine(Gpu *g, MlirOperation comb, MlirValue a, MlirValue b) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(comb));
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    int na = (int)mlirOperationGetNumAttributes(comb);
    MlirNamedAttribute attrs[8];
    for (int i = 0; i < na && i < 8; i++)
        attrs[i] = mlirOperationGetAttribute(comb, i);
    MlirValue ops[2] = {a, b};
    MlirType t = mlirValueGetType(a);
    return mlirOperationGetResult(ir_op(&g->b, name, 1, &t, 2, ops, na < 8 ? na : 8, attrs, 0), 0);
}

static MlirValue shuffle_xor(Gpu *g, MlirValue v, int offset) {
    MlirType t = mlirValueGetType(v);
    MlirType res[2] = {t, i1t(g)};
    MlirValue ops[3] = {v, ir_const_int(&g->b, i32t(g), offset), ir_const_int(&g->b, i32t(g), 32)};
    MlirNamedAttribute mode =
        ir_named(&g->b, "mode", mlirAttributeParseGet(g->b.ctx, ir_str("#gpu<shuffle_mode xor>")));
    return mlirOperationGetResult(ir_op(&g->b, "gpu.shuffle", 2, res, 3, ops, 1, &mode, 0), 0);
}

// Reduces dim `rd` of distributed tile x: within each thread, then across the lanes along rd
// (xor shuffles), then across the warps along rd (shared memory). The result is laid out as
// x's layout without rd: each thread holds the results for its own positions in the other dims.
static DVal *reduce_dim(Gpu *g, MlirOperation at, MlirOperation comb, const DVal *x, int rd) {
    const Layout *L = &x->layout;
    Layout O = {.rank = L->rank - 1, .warp_outer = L->warp_outer};
    for (int d = 0, o = 0; d < L->rank; d++) {
        if (d == rd)
            continue;
        O.shape[o] = L->shape[d], O.spt[o] = L->spt[d], O.tpw[o] = L->tpw[d], O.wpc[o] = L->wpc[d];
        O.reps[o] = L->reps[d], O.lane_shift[o] = L->lane_shift[d], O.warp_shift[o++] = L->warp_shift[d];
    }
    int E = gpu_layout_elems(L), EO = gpu_layout_elems(&O);
    int bits = mlirTypeIsAInteger(x->elem) ? (int)mlirIntegerTypeGetWidth(x->elem) : elem_bytes(x->elem) * 8;
    if (bits != 32 && bits != 64) {
        gpu_unsupported(g, at, "reductions of 8- and 16-bit tiles");
        return NULL;
    }
    MlirValue *acc = calloc((size_t)EO, sizeof(MlirValue));
    for (int e = 0; e < E; e++) {
        int r[R], ro[R];
        gpu_layout_digits(L, e, r);
        int64_t eo = 0;
        for (int d = 0, o = 0; d < L->rank; d++)
            if (d != rd)
                ro[o++] = r[d];
        for (int o = 0; o < O.rank; o++)
            eo = eo * (O.reps[o] * O.spt[o]) + ro[o];
        MlirValue s = extract(g, x->v, e);
        acc[eo] = acc[eo].ptr ? combine(g, comb, acc[eo], s) : s;
    }
    for (int bit = 0; bit < ilog2(L->tpw[rd]); bit++)
        for (int eo = 0; eo < EO; eo++)
            acc[eo] = combine(g, comb, acc[eo], shuffle_xor(g, acc[eo], 1 << (L->lane_shift[rd] + bit)));
    if (L->wpc[rd] > 1) {
        // Warp w along rd writes its partials at [w][position in the result], row-major.
        int64_t n = 1, ostride[R];
        for (int o = 0; o < O.rank; o++)
            n *= O.shape[o];
        gpu_row_major(O.rank, O.shape, ostride);
        gpu_smem_need(g, n * L->wpc[rd] * elem_bytes(x->elem));
        MlirValue base[R];
        gpu_layout_base(g, &O, base);
        MlirValue tb = cint(g, 0);
        for (int o = 0; o < O.rank; o++)
            tb = add(g, tb, mul(g, base[o], cint(g, ostride[o])));
        MlirValue wd = bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, L->warp_shift[rd])),
                           cint(g, L->wpc[rd] - 1));
        MlirValue lane_d = cint(g, 0);
        if (L->tpw[rd] > 1)
            lane_d = bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, L->lane_shift[rd])),
                         cint(g, L->tpw[rd] - 1));
        // One writer per result element and warp along rd: lane 0 along rd, no replica bits.
        int64_t lm, wm;
        gpu_layout_masks(L, &lm, &wm);
        MlirValue z = cint(g, 0);
        MlirValue writer =
            bin(g, "arith.andi", cmp(g, CMP_EQ, bin(g, "arith.andi", g->lane, cint(g, ~lm & 31)), z),
                cmp(g, CMP_EQ, lane_d, z));
        writer = bin(g, "arith.andi", writer,
                     cmp(g, CMP_EQ, bin(g, "arith.andi", g->warp, cint(g, ~wm & (g->nwarps - 1))), z));
        MlirValue wbase = add(g, tb, mul(g, wd, cint(g, n)));
        MlirBlock then, els;
        if_op(g, writer, 0, NULL, &then, &els);
        yield(g, els, 0, NULL);
        MlirBlock save = g->b.block;
        g->b.block = then;
        for (int eo = 0; eo < EO; eo++) {
            int r[R];
            gpu_layout_digits(&O, eo, r);
            int64_t off = 0;
            for (int o = 0; o < O.rank; o++)
                off += gpu_digit_offset(&O, o, r[o]) * ostride[o];
            store(g, acc[eo], gpu_smem_at(g, addc(g, wbase, off), x->elem), elem_bytes(x->elem));
        }
        yield(g, then, 0, NULL);
        g->b.block = save;
        barrier(g);
        for (int eo = 0; eo < EO; eo++) {
            int r[R];
            gpu_layout_digits(&O, eo, r);
            int64_t off = 0;
            for (int o = 0; o < O.rank; o++)
                off += gpu_digit_offset(&O, o, r[o]) * ostride[o];
            MlirValue s = {NULL};
            for (int w = 0; w < L->wpc[rd]; w++) {
                MlirValue v =
                    load(g, x->elem, gpu_smem_at(g, addc(g, tb, off + w * n), x->elem), elem_bytes(x->elem));
                s = w ? combine(g, comb, s, v) : v;
            }
            acc[eo] = s;
        }
        barrier(g);
    }
    DVal *res;
    if (O.rank == 0) {
        res = gpu_uniform_val(acc[0], 0, O.shape);
    } else {
        res = gpu_dist_val(&O, from_elements(g, x->elem, EO, acc), x->elem);
    }
    free(acc);
    return res;
}

void gpu_convert_reduce(Gpu *g, MlirOperation o) {
    MlirOperation comb = combiner(o);
    if (mlirOperationIsNull(comb) || mlirOperationGetNumOperands(o) != 2) {
        gpu_unsupported(g, o, "this reduction");
        return;
    }
    DVal *x = gpu_get(g, mlirOperationGetOperand(o, 0));
    DVal *init = gpu_get(g, mlirOperationGetOperand(o, 1));
    DVal *cur = x;
    if (cur->kind != DV_DIST) {
        Layout L;
        gpu_natural_layout(g, cur, &L);
        cur = gpu_dist_val(&L, gpu_materialize(g, o, cur, &L), x->elem);
    }
    MlirAttribute dims = gpu_attr(o, "dimensions");
    int nd = (int)mlirDenseArrayGetNumElements(dims);
    for (int i = nd - 1; i >= 0 && !g->failed; i--)
        cur = reduce_dim(g, o, comb, cur, (int)gpu_dense_at(dims, i));
    if (g->failed)
        return;
    // Then the initial value.
    if (cur->kind == DV_UNIFORM) {
        MlirValue iv = init->kind == DV_UNIFORM || init->kind == DV_SCALAR ? init->v : NULL_VALUE;
        if (!iv.ptr) {
            gpu_unsupported(g, o, "this reduction's initial value");
            return;
        }
        cur = gpu_uniform_val(combine(g, comb, cur->v, iv), cur->rank, cur->shape);
    } else {
        MlirValue iv = gpu_materialize(g, o, init, &cur->layout);
        cur = gpu_dist_val(&cur->layout, combine(g, comb, cur->v, iv), cur->elem);
    }
    gpu_map_put(g, mlirOperationGetResult(o, 0), cur);
}
