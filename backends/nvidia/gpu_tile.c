// backends/nvidia/gpu_tile.c — tiles as the per-thread vectors of a layout (gpu_materialize): slices of
// tensors in memory read in a layout (vector loads, masked gathers), distributed tiles moved to
// another layout or broadcast along more dims, and tiles stored to tensors in memory.
#include <stdlib.h>

#include "gpu_simt.h"

// Whether position q (relative to the slice's start) along dim d is inside slice x (i1).
static MlirValue in_slice(Gpu *g, const DVal *x, int d, MlirValue q) {
    MlirValue ok = cmp(g, CMP_SLT, q, x->sizes[d]);
    if (x->low[d].ptr)
        ok = bin(g, "arith.andi", ok, cmp(g, CMP_SGE, q, cint(g, 0)));
    return ok;
}

// A slice of a tensor in memory read in layout L: per run of adjacent elements along the last
// dim, one vector load when the run is in bounds, contiguous and aligned, else a masked gather
// (elements outside the slice read the padding value).
MlirValue gpu_load_tile(Gpu *g, const DVal *x, const Layout *L) {
    int E = gpu_layout_elems(L), rank = L->rank;
    MlirType el = x->elem;
    int eb = elem_bytes(el);
    MlirValue base[R];
    gpu_layout_base(g, L, base);
    for (int d = 0; d < rank; d++)
        if (x->shape[d] < 0)
            internal_error(__FILE__, __LINE__, "GPU back end: a slice of unknown shape read whole");
    int run = gpu_vector_run(rank ? L->spt[rank - 1] : 1, eb);
    MlirValue last_stride = rank ? x->strides[rank - 1] : cint(g, 1);
    MlirValue unit = cmp(g, CMP_EQ, last_stride, cint(g, 1));
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    MlirValue zero = cint(g, 0);
    for (int e = 0; e < E; e += run) {
        int r[R];
        gpu_layout_digits(L, e, r);
        // p_d: the element's position in the tile; q_d = p_d - low_d: in the slice. `rest`:
        // the dims before the last are in the slice (the same for the whole run).
        MlirValue rest = ir_const_int(&g->b, i1t(g), 1), idx = zero, q_last = zero;
        for (int d = 0; d < rank; d++) {
            MlirValue p = addc(g, base[d], gpu_digit_offset(L, d, r[d]));
            MlirValue q = x->low[d].ptr ? bin(g, "arith.subi", p, x->low[d]) : p;
            if (d == rank - 1)
                q_last = q;
            else if (x->pad.ptr)
                rest = bin(g, "arith.andi", rest, in_slice(g, x, d, q));
            idx = add(g, idx, mul(g, add(g, x->offs[d], q), x->strides[d]));
        }
        MlirValue inb = rest;
        if (x->pad.ptr && rank)
            inb = bin(g, "arith.andi", rest,
                      bin(g, "arith.andi", in_slice(g, x, rank - 1, q_last),
                          in_slice(g, x, rank - 1, addc(g, q_last, run - 1))));
        MlirValue p = gep(g, x->ptr, idx, el);
        MlirType vt = vec(el, run);
        MlirValue v;
        if (run == 1 && !x->pad.ptr) {
            v = splat(g, load(g, el, p, eb), 1);
        } else {
            // The fast path: in bounds, unit stride, aligned.
            MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
            MlirValue aligned =
                cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, (int64_t)run * eb - 1)), zero);
            MlirValue fast = bin(g, "arith.andi", inb, bin(g, "arith.andi", unit, aligned));
            MlirBlock then, els;
            MlirOperation iff = if_op(g, fast, 1, &vt, &then, &els);
            MlirBlock save = g->b.block;
            g->b.block = then;
            MlirValue fv = load(g, vt, p, (int64_t)run * eb);
            yield(g, then, 1, &fv);
            g->b.block = els;
            // Element i of the run: in bounds on its own, at idx + i * last_stride.
            MlirValue iota[16], ok[16];
            for (int i = 0; i < run; i++) {
                iota[i] = mul(g, cint(g, i), last_stride);
                ok[i] = x->pad.ptr && rank
                            ? bin(g, "arith.andi", rest, in_slice(g, x, rank - 1, addc(g, q_last, i)))
                            : ir_const_int(&g->b, i1t(g), 1);
            }
            MlirValue ptrs = gep(g, p, from_elements(g, i64t(g), run, iota), el);
            MlirValue mask = from_elements(g, i1t(g), run, ok);
            MlirValue pass =
                x->pad.ptr ? splat(g, x->pad, run) : ir_op1(&g->b, "llvm.mlir.poison", vt, 0, NULL);
            MlirValue gops[3] = {ptrs, mask, pass};
            MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), eb));
            MlirValue sv = mlirOperationGetResult(
                ir_op(&g->b, "llvm.intr.masked.gather", 1, &vt, 3, gops, 1, &al, 0), 0);
            yield(g, els, 1, &sv);
            g->b.block = save;
            v = mlirOperationGetResult(iff, 0);
        }
        for (int i = 0; i < run; i++)
            xs[e + i] = extract(g, v, i);
    }
    MlirValue v = from_elements(g, el, E, xs);
    free(xs);
    return v;
}

// Converts a distributed tile to layout L through shared memory. Every use of shared memory
// ends with a barrier, so the next one may start writing at once.
MlirValue gpu_convert_layout(Gpu *g, const DVal *x, const Layout *L) {
    int64_t stride[R];
    gpu_row_major(x->rank, x->shape, stride);
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->shape[d];
    gpu_smem_need(g, n * elem_bytes(x->elem));
    gpu_smem_write(g, x, stride, cint(g, 0));
    barrier(g);
    // L may have a different shape of the same elements (a reshape): read row-major.
    int64_t lstride[R];
    gpu_row_major(L->rank, L->shape, lstride);
    MlirValue v = gpu_smem_read(g, L, x->elem, lstride, cint(g, 0));
    barrier(g);
    return v;
}

// `x` (a tile of rank x->rank) broadcast to layout L: dims[i] is the dim of L that x's dim i
// runs along (-1: a dim of size 1); L's other dims repeat it. Free when x's layout is L without those dims (a
// reduction's result): a shuffle of the thread's own elements. Else through shared memory.
MlirValue gpu_broadcast_to(Gpu *g, MlirOperation at, const DVal *x, const Layout *L, const int *dims) {
    int E = gpu_layout_elems(L);
    if (x->kind == DV_UNIFORM)
        return splat(g, x->v, E);
    Layout want = {.rank = x->rank, .warp_outer = L->warp_outer};
    for (int i = 0; i < x->rank; i++) {
        int d = dims[i];
        if (d < 0) {  // a unit dim of x
            want.shape[i] = want.spt[i] = want.tpw[i] = want.wpc[i] = want.reps[i] = 1;
            continue;
        }
        want.shape[i] = L->shape[d];
        want.spt[i] = L->spt[d];
        want.tpw[i] = L->tpw[d];
        want.wpc[i] = L->wpc[d];
        want.reps[i] = L->reps[d];
        want.lane_shift[i] = L->lane_shift[d];
        want.warp_shift[i] = L->warp_shift[d];
    }
    MlirValue src = gpu_materialize(g, at, x, &want);
    if (g->failed)
        return src;
    int64_t *mask = malloc(sizeof(int64_t) * (size_t)E);
    for (int e = 0; e < E; e++) {
        int r[R], rr[R];
        gpu_layout_digits(L, e, r);
        for (int i = 0; i < x->rank; i++)
            rr[i] = dims[i] < 0 ? 0 : r[dims[i]];
        int64_t idx = 0;
        for (int i = 0; i < x->rank; i++)
            idx = idx * (want.reps[i] * want.spt[i]) + rr[i];
        mask[e] = idx;
    }
    MlirValue v = shuffle(g, src, src, E, mask);
    free(mask);
    return v;
}

// The per-thread vector<E> of tile x in layout L (L's shape has x's elements).
MlirValue gpu_materialize(Gpu *g, MlirOperation at, const DVal *x, const Layout *L) {
    int E = gpu_layout_elems(L);
    switch (x->kind) {
    case DV_UNIFORM: return splat(g, x->v, E);
    case DV_LOAD: return gpu_load_tile(g, x, L);
    case DV_DIST: {
        if (gpu_layout_equal(&x->layout, L))
            return x->v;
        // Only unit dims added or removed: the same elements in the same order.
        Layout a = x->layout, b = *L;
        int na = 0, nb = 0;
        for (int d = 0; d < a.rank; d++)
            if (a.shape[d] != 1)
                a.shape[na] = a.shape[d], a.spt[na] = a.spt[d], a.tpw[na] = a.tpw[d], a.wpc[na] = a.wpc[d],
                a.reps[na] = a.reps[d], a.lane_shift[na] = a.lane_shift[d],
                a.warp_shift[na++] = a.warp_shift[d];
        for (int d = 0; d < b.rank; d++)
            if (b.shape[d] != 1)
                b.shape[nb] = b.shape[d], b.spt[nb] = b.spt[d], b.tpw[nb] = b.tpw[d], b.wpc[nb] = b.wpc[d],
                b.reps[nb] = b.reps[d], b.lane_shift[nb] = b.lane_shift[d],
                b.warp_shift[nb++] = b.warp_shift[d];
        a.rank = na;
        b.rank = nb;
        if (gpu_layout_equal(&a, &b))
            return x->v;
        return gpu_convert_layout(g, x, L);
    }
    default: break;
    }
    gpu_unsupported(g, at, "this use of a tile");
    return x->v;
}

// ---------------------------------------------------------------- stores

// Writes tile `x` (a DV_SUBTILE of a tile, or a whole tile) into memref `m`: tile element p goes
// to m[moffs + p - toffs] when toffs <= p < toffs + sizes.
void gpu_store_tile(Gpu *g, MlirOperation at, const DVal *x, const DVal *m) {
    const DVal *t = x->kind == DV_SUBTILE ? x->src : x;
    Layout L;
    gpu_natural_layout(g, t, &L);
    MlirValue v = gpu_materialize(g, at, t, &L);
    if (g->failed)
        return;
    int E = gpu_layout_elems(&L), rank = L.rank;
    MlirType el = t->elem;
    int eb = elem_bytes(el);
    MlirValue base[R];
    gpu_layout_base(g, &L, base);
    MlirValue zero = cint(g, 0);
    MlirValue owner = gpu_layout_owner(g, &L);
    int run = gpu_vector_run(rank ? L.spt[rank - 1] : 1, eb);
    MlirValue last_stride = rank ? m->strides[rank - 1] : cint(g, 1);
    MlirValue unit = cmp(g, CMP_EQ, last_stride, cint(g, 1));
    for (int e = 0; e < E; e += run) {
        int r[R];
        gpu_layout_digits(&L, e, r);
        MlirValue ok_rest = owner, idx = zero, q_last = zero;
        for (int d = 0; d < rank; d++) {
            MlirValue p = addc(g, base[d], gpu_digit_offset(&L, d, r[d]));
            MlirValue q = p;
            if (x->kind == DV_SUBTILE) {
                q = bin(g, "arith.subi", p, x->offs[d]);
                if (d < rank - 1)
                    ok_rest =
                        bin(g, "arith.andi", ok_rest,
                            bin(g, "arith.andi", cmp(g, CMP_SGE, q, zero), cmp(g, CMP_SLT, q, x->sizes[d])));
            }
            if (d == rank - 1)
                q_last = q;
            MlirValue o = m->offs[d].ptr ? add(g, m->offs[d], q) : q;
            idx = add(g, idx, mul(g, o, m->strides[d]));
        }
        MlirValue p = gep(g, m->ptr, idx, el);
        MlirValue ok[16], iota[16];
        for (int i = 0; i < run; i++) {
            MlirValue qi = addc(g, q_last, i);
            ok[i] = ok_rest;
            if (x->kind == DV_SUBTILE && rank)
                ok[i] = bin(
                    g, "arith.andi", ok_rest,
                    bin(g, "arith.andi", cmp(g, CMP_SGE, qi, zero), cmp(g, CMP_SLT, qi, x->sizes[rank - 1])));
            iota[i] = mul(g, cint(g, i), last_stride);
        }
        int64_t mask[16];
        for (int i = 0; i < run; i++)
            mask[i] = e + i;
        MlirValue part = run == E ? v : shuffle(g, v, v, run, mask);
        MlirValue all = bin(g, "arith.andi", ok[0], ok[run - 1]);
        MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
        MlirValue aligned = cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, (int64_t)run * eb - 1)), zero);
        MlirValue fast = bin(g, "arith.andi", all, bin(g, "arith.andi", unit, aligned));
        MlirBlock then, els;
        if_op(g, fast, 0, NULL, &then, &els);
        MlirBlock save = g->b.block;
        g->b.block = then;
        if (run == 1)
            store(g, extract(g, part, 0), p, eb);
        else
            store(g, part, p, (int64_t)run * eb);
        yield(g, then, 0, NULL);
        g->b.block = els;
        MlirValue ptrs = gep(g, p, from_elements(g, i64t(g), run, iota), el);
        MlirValue sops[3] = {part, ptrs, from_elements(g, i1t(g), run, ok)};
        MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), eb));
        ir_op(&g->b, "llvm.intr.masked.scatter", 0, NULL, 3, sops, 1, &al, 0);
        yield(g, els, 0, NULL);
        g->b.block = save;
    }
}
