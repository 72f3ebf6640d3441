// backends/nvidia/gpu_layout.c — layouts: how a tile is spread over the threads of a block (Layout,
// gpu_simt.h), which elements a thread holds and where they sit, the layouts tiles get when
// nothing asks for another; distributed values; tiles written to and read from shared memory.
#include <stdlib.h>
#include <string.h>

#include "gpu_simt.h"

// How many of `spt` adjacent elements of `eb` bytes one access moves: at most 16 bytes.
int gpu_vector_run(int spt, int eb) {
    int run = spt;
    while (run * eb > 16)
        run /= 2;
    return run;
}

int gpu_layout_elems(const Layout *L) {
    int n = 1;
    for (int d = 0; d < L->rank; d++)
        n *= L->spt[d] * L->reps[d];
    return n;
}

bool gpu_layout_equal(const Layout *a, const Layout *b) {
    if (a->rank != b->rank || a->warp_outer != b->warp_outer)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d] || a->spt[d] != b->spt[d] || a->tpw[d] != b->tpw[d] ||
            a->wpc[d] != b->wpc[d] || a->reps[d] != b->reps[d] ||
            (a->tpw[d] > 1 && a->lane_shift[d] != b->lane_shift[d]) ||
            (a->wpc[d] > 1 && a->warp_shift[d] != b->warp_shift[d]))
            return false;
    return true;
}

// Fills the lane and warp shifts (the last dim in the lowest bits) and the repeats.
static void layout_finish(Layout *L) {
    int ls = 0, ws = 0;
    for (int d = L->rank - 1; d >= 0; d--) {
        L->lane_shift[d] = ls;
        L->warp_shift[d] = ws;
        ls += ilog2(L->tpw[d]);
        ws += ilog2(L->wpc[d]);
        L->reps[d] = (int)(L->shape[d] / ((int64_t)L->spt[d] * L->tpw[d] * L->wpc[d]));
    }
}

// A blocked layout: `spt` elements per thread along each dim (capped by the shape), then the 32
// lanes from the last dim inwards, then the warps from the first dim outwards (rows apart, so
// that a row's reduction stays within a warp where it can).
void gpu_layout_blocked(Gpu *g, Layout *L, int rank, const int64_t *shape, const int *spt) {
    *L = (Layout){.rank = rank};
    int lanes = 32, warps = g->nwarps;
    for (int d = 0; d < rank; d++) {
        L->shape[d] = shape[d];
        L->spt[d] = (int)(spt[d] < shape[d] ? spt[d] : shape[d]);
        L->tpw[d] = L->wpc[d] = 1;
    }
    for (int d = rank - 1; d >= 0 && lanes > 1; d--) {
        int64_t room = shape[d] / L->spt[d];
        while (lanes > 1 && L->tpw[d] < room) {
            L->tpw[d] *= 2;
            lanes /= 2;
        }
    }
    for (int d = 0; d < rank && warps > 1; d++) {
        int64_t room = shape[d] / ((int64_t)L->spt[d] * L->tpw[d]);
        while (warps > 1 && L->wpc[d] < room) {
            L->wpc[d] *= 2;
            warps /= 2;
        }
    }
    layout_finish(L);
}

// The layout a tile gets when nothing asks for another: 16-byte (vector_bytes) runs along the
// last dim.
void gpu_layout_default(Gpu *g, Layout *L, int rank, const int64_t *shape, MlirType elem) {
    int spt[R] = {1, 1, 1, 1};
    if (rank > 0) {
        int v = g->sched->vector_bytes / elem_bytes(elem);
        spt[rank - 1] = v > 0 ? v : 1;
    }
    gpu_layout_blocked(g, L, rank, shape, spt);
}

// Lane and warp bits that some dim uses (the others replicate).
void gpu_layout_masks(const Layout *L, int64_t *lane_mask, int64_t *warp_mask) {
    *lane_mask = *warp_mask = 0;
    for (int d = 0; d < L->rank; d++) {
        *lane_mask |= (int64_t)(L->tpw[d] - 1) << L->lane_shift[d];
        *warp_mask |= (int64_t)(L->wpc[d] - 1) << L->warp_shift[d];
    }
}

// Per-dim digits of element e.
void gpu_layout_digits(const Layout *L, int e, int *r) {
    for (int d = L->rank - 1; d >= 0; d--) {
        int radix = L->reps[d] * L->spt[d];
        r[d] = e % radix;
        e /= radix;
    }
}

int64_t gpu_digit_offset(const Layout *L, int d, int r) {
    if (L->warp_outer)
        return (int64_t)(r / L->spt[d]) * L->spt[d] * L->tpw[d] + r % L->spt[d];
    return (int64_t)(r / L->spt[d]) * L->spt[d] * L->tpw[d] * L->wpc[d] + r % L->spt[d];
}

// base_d of this thread (i64).
void gpu_layout_base(Gpu *g, const Layout *L, MlirValue *base) {
    for (int d = 0; d < L->rank; d++) {
        MlirValue ld = cint(g, 0), wd = cint(g, 0);
        if (L->tpw[d] > 1)
            ld = bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, L->lane_shift[d])),
                     cint(g, L->tpw[d] - 1));
        if (L->wpc[d] > 1)
            wd = bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, L->warp_shift[d])),
                     cint(g, L->wpc[d] - 1));
        if (L->warp_outer)
            base[d] = add(g, mul(g, wd, cint(g, (int64_t)L->spt[d] * L->tpw[d] * L->reps[d])),
                          mul(g, ld, cint(g, L->spt[d])));
        else
            base[d] = mul(g, add(g, mul(g, wd, cint(g, L->tpw[d])), ld), cint(g, L->spt[d]));
    }
}

// Whether this thread is the first of the threads holding the same elements (i1).
MlirValue gpu_layout_owner(Gpu *g, const Layout *L) {
    int64_t lm, wm;
    gpu_layout_masks(L, &lm, &wm);
    MlirValue z = cint(g, 0);
    MlirValue a = cmp(g, CMP_EQ, bin(g, "arith.andi", g->lane, cint(g, ~lm & 31)), z);
    MlirValue b = cmp(g, CMP_EQ, bin(g, "arith.andi", g->warp, cint(g, ~wm & (g->nwarps - 1))), z);
    return bin(g, "arith.andi", a, b);
}

// The positions along dim d of this thread's elements of layout L (vector<E x index>).
MlirValue gpu_layout_positions(Gpu *g, const Layout *L, int d) {
    int E = gpu_layout_elems(L);
    MlirValue base[R];
    gpu_layout_base(g, L, base);
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e++) {
        int r[R];
        gpu_layout_digits(L, e, r);
        MlirValue p = addc(g, base[d], gpu_digit_offset(L, d, r[d]));
        xs[e] = ir_op1(&g->b, "arith.index_cast", mlirIndexTypeGet(g->b.ctx), 1, &p);
    }
    MlirValue v = from_elements(g, mlirIndexTypeGet(g->b.ctx), E, xs);
    free(xs);
    return v;
}

// The layout a value has, or would get by default.
void gpu_natural_layout(Gpu *g, const DVal *x, Layout *L) {
    if (x->kind == DV_DIST)
        *L = x->layout;
    else
        gpu_layout_default(g, L, x->rank, x->shape, x->elem);
}

// ---------------------------------------------------------------- tensors and types

bool gpu_tensor_info(MlirType t, int *rank, int64_t *shape, MlirType *elem) {
    if (!mlirTypeIsARankedTensor(t))
        return false;
    *rank = (int)mlirShapedTypeGetRank(t);
    *elem = mlirShapedTypeGetElementType(t);
    for (int d = 0; d < *rank; d++)
        shape[d] = mlirShapedTypeGetDimSize(t, d);
    return true;
}

DVal *gpu_dist_val(const Layout *L, MlirValue v, MlirType elem) {
    DVal *d = gpu_dval_new(DV_DIST);
    d->layout = *L;
    d->rank = L->rank;
    memcpy(d->shape, L->shape, sizeof d->shape);
    d->elem = elem;
    d->v = v;
    return d;
}

DVal *gpu_uniform_val(MlirValue s, int rank, const int64_t *shape) {
    DVal *d = gpu_dval_new(DV_UNIFORM);
    d->v = s;
    d->rank = rank;
    memcpy(d->shape, shape, sizeof(int64_t) * (size_t)rank);
    d->elem = mlirValueGetType(s);
    return d;
}

// ---------------------------------------------------------------- shared memory

MlirValue gpu_smem_at(Gpu *g, MlirValue idx, MlirType el) { return gep(g, g->smem, idx, el); }

void gpu_smem_need(Gpu *g, int64_t bytes) {
    bytes += g->smem_reserved;
    if (bytes > g->smem_bytes)
        g->smem_bytes = bytes;
}

// Writes a distributed tile to shared memory, element (p0, ..., pn) at sum(p_d * stride_d);
// only the owning copy of replicated elements writes.
void gpu_smem_write(Gpu *g, const DVal *x, const int64_t *stride, MlirValue at) {
    const Layout *L = &x->layout;
    int E = gpu_layout_elems(L);
    MlirValue base[R];
    gpu_layout_base(g, L, base);
    MlirValue tb = at;
    for (int d = 0; d < L->rank; d++)
        tb = add(g, tb, mul(g, base[d], cint(g, stride[d])));
    MlirBlock then, els;
    if_op(g, gpu_layout_owner(g, L), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    MlirBlock save = g->b.block;
    g->b.block = then;
    int eb = elem_bytes(x->elem);
    int run = gpu_vector_run(L->rank && stride[L->rank - 1] == 1 ? L->spt[L->rank - 1] : 1, eb);
    for (int e = 0; e < E; e += run) {
        int r[R];
        gpu_layout_digits(L, e, r);
        int64_t off = 0;
        for (int d = 0; d < L->rank; d++)
            off += gpu_digit_offset(L, d, r[d]) * stride[d];
        MlirValue p = gpu_smem_at(g, addc(g, tb, off), x->elem);
        if (run == 1) {
            store(g, extract(g, x->v, e), p, eb);
        } else {
            int64_t mask[16];
            for (int i = 0; i < run; i++)
                mask[i] = e + i;
            store(g, shuffle(g, x->v, x->v, run, mask), p, (int64_t)eb * run);
        }
    }
    yield(g, then, 0, NULL);
    g->b.block = save;
}

// Reads a tile in layout L from shared memory: element at sum(p_d * stride_d) (a stride of 0
// broadcasts along that dim).
MlirValue gpu_smem_read(Gpu *g, const Layout *L, MlirType elem, const int64_t *stride, MlirValue at) {
    int E = gpu_layout_elems(L);
    MlirValue base[R];
    gpu_layout_base(g, L, base);
    MlirValue tb = at;
    for (int d = 0; d < L->rank; d++)
        if (stride[d])
            tb = add(g, tb, mul(g, base[d], cint(g, stride[d])));
    int eb = elem_bytes(elem);
    int run = gpu_vector_run(L->rank && stride[L->rank - 1] == 1 ? L->spt[L->rank - 1] : 1, eb);
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e += run) {
        int r[R];
        gpu_layout_digits(L, e, r);
        int64_t off = 0;
        for (int d = 0; d < L->rank; d++)
            off += gpu_digit_offset(L, d, r[d]) * stride[d];
        MlirValue p = gpu_smem_at(g, addc(g, tb, off), elem);
        if (run == 1) {
            xs[e] = load(g, elem, p, eb);
        } else {
            MlirValue v = load(g, vec(elem, run), p, (int64_t)eb * run);
            for (int i = 0; i < run; i++)
                xs[e + i] = extract(g, v, i);
        }
    }
    MlirValue v = from_elements(g, elem, E, xs);
    free(xs);
    return v;
}

void gpu_row_major(int rank, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
}
