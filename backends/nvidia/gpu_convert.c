// backends/nvidia/gpu_convert.c — op conversion: each op of the program function rewritten into what
// one thread does (gpu_convert_op dispatches); memref descriptors, subviews and slices;
// padding, extracts, reshapes and transposes of tiles; control flow (scf ops, whose carried
// tiles keep the layout they are computed in); plain scalar ops.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_simt.h"

// ---------------------------------------------------------------- helpers on the source ops

bool gpu_name_prefix(MlirOperation o, const char *prefix) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(o));
    return n.length > strlen(prefix) && !strncmp(n.data, prefix, strlen(prefix));
}

static MlirValue scalar_of(Gpu *g, MlirOperation at, MlirValue v) {
    DVal *d = gpu_get(g, v);
    if (d->kind != DV_SCALAR)
        gpu_unsupported(g, at, "a tile where a scalar is expected");
    return d->v;
}

MlirAttribute gpu_attr(MlirOperation o, const char *name) {
    return mlirOperationGetAttributeByName(o, ir_str(name));
}

int64_t gpu_dense_at(MlirAttribute a, int i) { return mlirDenseI64ArrayGetElement(a, i); }

// Offsets or sizes of a slice-like op: static entries from `static_name`, dynamic ones from
// the operands starting at *next (advanced). As i64.
static void mixed(Gpu *g, MlirOperation o, const char *static_name, int rank, int *next, MlirValue *out) {
    MlirAttribute st = gpu_attr(o, static_name);
    for (int d = 0; d < rank; d++) {
        int64_t v = gpu_dense_at(st, d);
        if (v == mlirShapedTypeGetDynamicSize())
            out[d] = to_i64(g, scalar_of(g, o, mlirOperationGetOperand(o, (*next)++)));
        else
            out[d] = cint(g, v);
    }
}

// A tensor-typed result of `o` from its static type.
DVal *gpu_tensor_result(MlirOperation o, int i, DKind kind) {
    DVal *d = gpu_dval_new(kind);
    if (!gpu_tensor_info(mlirValueGetType(mlirOperationGetResult(o, i)), &d->rank, d->shape, &d->elem))
        d->kind = DV_NONE;
    return d;
}

// Creates op `name` like `o` (its attributes) on new operands and result types.
MlirOperation gpu_recreate(Gpu *g, MlirOperation o, int nops, const MlirValue *ops, int nres,
                           const MlirType *res, int nregions) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(o));
    char name[96];
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    int na = (int)mlirOperationGetNumAttributes(o);
    MlirNamedAttribute *attrs = malloc(sizeof(MlirNamedAttribute) * (size_t)(na + 1));
    for (int i = 0; i < na; i++)
        attrs[i] = mlirOperationGetAttribute(o, i);
    MlirOperation r = ir_op(&g->b, name, nres, res, nops, ops, na, attrs, nregions);
    free(attrs);
    return r;
}

bool gpu_has_tensor(MlirOperation o) {
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++)
        if (mlirTypeIsARankedTensor(mlirValueGetType(mlirOperationGetOperand(o, i))))
            return true;
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++)
        if (mlirTypeIsARankedTensor(mlirValueGetType(mlirOperationGetResult(o, i))))
            return true;
    return false;
}

// ---------------------------------------------------------------- shapes and slices

// tensor.collapse_shape / expand_shape: the same elements; a layout with unit dims added or
// removed when only unit dims change, else through shared memory.
static void convert_reshape(Gpu *g, MlirOperation o) {
    DVal *x = gpu_get(g, mlirOperationGetOperand(o, 0));
    DVal *res = gpu_tensor_result(o, 0, DV_DIST);
    if (x->kind == DV_UNIFORM) {
        gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_uniform_val(x->v, res->rank, res->shape));
        return;
    }
    if (x->kind == DV_LOAD && res->rank > x->rank) {
        // Unit dims added to a slice in memory (`bias[n : n + BN][None, :]`): still unread, so
        // the consumer reads it in the layout it needs.
        DVal *d = gpu_dval_new(DV_LOAD);
        *d = *x;
        d->rank = res->rank;
        memcpy(d->shape, res->shape, sizeof d->shape);
        int j = 0;
        for (int i = 0; i < res->rank; i++) {
            if (j < x->rank && res->shape[i] == x->shape[j]) {
                d->offs[i] = x->offs[j], d->sizes[i] = x->sizes[j], d->strides[i] = x->strides[j];
                d->low[i] = x->low[j++];
            } else if (res->shape[i] == 1) {
                d->offs[i] = cint(g, 0), d->sizes[i] = cint(g, 1), d->strides[i] = cint(g, 0);
                d->low[i] = NULL_VALUE;
            } else {
                break;
            }
        }
        if (j == x->rank) {
            gpu_map_put(g, mlirOperationGetResult(o, 0), d);
            return;
        }
    }
    if (x->kind == DV_LOAD && res->rank < x->rank && res->rank > 0) {
        // Unit dims removed from a slice in memory (a batch index: `A[b, m : m + BM, ...]`):
        // still unread, its offset along them folded into the pointer; with padding, a slice
        // empty along one of them (past the end) becomes empty along its first kept dim.
        DVal *d = gpu_dval_new(DV_LOAD);
        *d = *x;
        d->rank = res->rank;
        memcpy(d->shape, res->shape, sizeof d->shape);
        MlirValue inside = NULL_VALUE;
        int j = 0;
        bool ok = true;
        for (int i = 0; i < x->rank && ok; i++) {
            if (j < res->rank && x->shape[i] == res->shape[j]) {
                d->offs[j] = x->offs[i], d->sizes[j] = x->sizes[i], d->strides[j] = x->strides[i];
                d->low[j++] = x->low[i];
            } else if (x->shape[i] == 1 && !x->low[i].ptr) {
                d->ptr = gep(g, d->ptr, mul(g, x->offs[i], x->strides[i]), x->elem);
                if (x->pad.ptr) {
                    MlirValue in = cmp(g, CMP_SLT, cint(g, 0), x->sizes[i]);
                    inside = inside.ptr ? bin(g, "arith.andi", inside, in) : in;
                }
            } else {
                ok = false;
            }
        }
        if (ok && j == res->rank) {
            if (inside.ptr)
                d->sizes[0] =
                    ir_op1(&g->b, "arith.select", i64t(g), 3, (MlirValue[]){inside, d->sizes[0], cint(g, 0)});
            gpu_map_put(g, mlirOperationGetResult(o, 0), d);
            return;
        }
    }
    Layout src;
    gpu_natural_layout(g, x, &src);
    MlirValue v = gpu_materialize(g, o, x, &src);
    // Non-unit dims in order must match.
    int a[R], b[R], na = 0, nb = 0;
    for (int d = 0; d < src.rank; d++)
        if (src.shape[d] != 1)
            a[na++] = d;
    for (int d = 0; d < res->rank; d++)
        if (res->shape[d] != 1)
            b[nb++] = d;
    bool same = na == nb;
    for (int i = 0; same && i < na; i++)
        same = src.shape[a[i]] == res->shape[b[i]];
    Layout L = {.rank = res->rank, .warp_outer = src.warp_outer};
    if (same) {
        for (int d = 0; d < res->rank; d++) {
            L.shape[d] = res->shape[d];
            L.spt[d] = L.tpw[d] = L.wpc[d] = L.reps[d] = 1;
        }
        for (int i = 0; i < na; i++) {
            int s = a[i], d = b[i];
            L.spt[d] = src.spt[s], L.tpw[d] = src.tpw[s], L.wpc[d] = src.wpc[s], L.reps[d] = src.reps[s];
            L.lane_shift[d] = src.lane_shift[s], L.warp_shift[d] = src.warp_shift[s];
        }
        gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_dist_val(&L, v, res->elem));
        return;
    }
    gpu_layout_default(g, &L, res->rank, res->shape, res->elem);
    DVal *xs = gpu_dist_val(&src, v, x->elem);
    gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_dist_val(&L, gpu_convert_layout(g, xs, &L), res->elem));
}

// linalg.transpose: the tile goes to shared memory with its dims' strides permuted and is read
// back row-major in the layout its users want (the default when none is distributed).
static void convert_transpose(Gpu *g, MlirOperation o) {
    DVal *x = gpu_get(g, mlirOperationGetOperand(o, 0));
    DVal *res = gpu_tensor_result(o, 0, DV_DIST);
    MlirAttribute perm = gpu_attr(o, "permutation");
    if (res->kind == DV_NONE || mlirAttributeIsNull(perm) ||
        (int)mlirDenseArrayGetNumElements(perm) != res->rank) {
        gpu_unsupported(g, o, "this transpose");
        return;
    }
    if (x->kind == DV_UNIFORM) {
        gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_uniform_val(x->v, res->rank, res->shape));
        return;
    }
    Layout src, L;
    gpu_natural_layout(g, x, &src);
    DVal *xd = gpu_dist_val(&src, gpu_materialize(g, o, x, &src), x->elem);
    if (g->failed)
        return;
    // Result dim i is input dim perm[i]: input dim perm[i] steps by the result's stride i.
    int64_t rs[R], xs[R], n = 1;
    gpu_row_major(res->rank, res->shape, rs);
    for (int i = 0; i < res->rank; i++) {
        xs[gpu_dense_at(perm, i)] = rs[i];
        n *= res->shape[i];
    }
    gpu_smem_need(g, n * elem_bytes(x->elem));
    gpu_smem_write(g, xd, xs, cint(g, 0));
    barrier(g);
    gpu_user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    MlirValue v = gpu_smem_read(g, &L, x->elem, rs, cint(g, 0));
    barrier(g);
    gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_dist_val(&L, v, res->elem));
}

// tensor.extract: a scalar of a tile (or of a tensor in memory).
static void convert_extract(Gpu *g, MlirOperation o) {
    DVal *x = gpu_get(g, mlirOperationGetOperand(o, 0));
    int n = (int)mlirOperationGetNumOperands(o) - 1;
    MlirValue idx[R];
    for (int i = 0; i < n; i++)
        idx[i] = to_i64(g, scalar_of(g, o, mlirOperationGetOperand(o, 1 + i)));
    MlirValue r;
    if (x->kind == DV_UNIFORM) {
        r = x->v;
    } else if (x->kind == DV_MEMREF) {
        MlirValue lin = cint(g, 0);
        for (int d = 0; d < n; d++)
            lin = add(g, lin, mul(g, x->offs[d].ptr ? add(g, x->offs[d], idx[d]) : idx[d], x->strides[d]));
        r = load(g, x->elem, gep(g, x->ptr, lin, x->elem), elem_bytes(x->elem));
    } else {
        Layout L;
        gpu_natural_layout(g, x, &L);
        DVal *d = gpu_dist_val(&L, gpu_materialize(g, o, x, &L), x->elem);
        int64_t stride[R], total = 1;
        gpu_row_major(d->rank, d->shape, stride);
        for (int i = 0; i < d->rank; i++)
            total *= d->shape[i];
        gpu_smem_need(g, total * elem_bytes(x->elem));
        gpu_smem_write(g, d, stride, cint(g, 0));
        barrier(g);
        MlirValue lin = cint(g, 0);
        for (int i = 0; i < n; i++)
            lin = add(g, lin, mul(g, idx[i], cint(g, stride[i])));
        r = load(g, x->elem, gpu_smem_at(g, lin, x->elem), elem_bytes(x->elem));
        barrier(g);
    }
    gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_scalar_val(r));
}

static void convert_slice(Gpu *g, MlirOperation o) {
    DVal *src = gpu_get(g, mlirOperationGetOperand(o, 0));
    DVal *res = gpu_tensor_result(o, 0, DV_NONE);
    int rank = (int)mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetOperand(o, 0)));
    int next = 1;
    MlirValue offs[R], sizes[R], strides[R];
    mixed(g, o, "static_offsets", rank, &next, offs);
    mixed(g, o, "static_sizes", rank, &next, sizes);
    mixed(g, o, "static_strides", rank, &next, strides);
    for (int d = 0; d < rank; d++)
        if (gpu_dense_at(gpu_attr(o, "static_strides"), d) != 1)
            gpu_unsupported(g, o, "strided slices");
    if (res->rank != rank)
        gpu_unsupported(g, o, "rank-reducing slices");
    if (g->failed)
        return;
    DVal *d = gpu_dval_new(src->kind == DV_MEMREF ? DV_LOAD : DV_SUBTILE);
    d->rank = rank;
    memcpy(d->shape, res->shape, sizeof d->shape);
    d->elem = src->elem.ptr ? src->elem : res->elem;
    for (int i = 0; i < rank; i++) {
        d->offs[i] = src->kind == DV_MEMREF && src->offs[i].ptr ? add(g, src->offs[i], offs[i]) : offs[i];
        d->sizes[i] = sizes[i];
    }
    if (src->kind == DV_MEMREF) {
        d->ptr = src->ptr;
        memcpy(d->strides, src->strides, sizeof d->strides);
        d->elem = res->elem;
    } else if (src->kind == DV_DIST || src->kind == DV_UNIFORM) {
        d->src = src;
    } else {
        gpu_unsupported(g, o, "this slice");
    }
    gpu_map_put(g, mlirOperationGetResult(o, 0), d);
}

static void convert_pad(Gpu *g, MlirOperation o) {
    DVal *src = gpu_get(g, mlirOperationGetOperand(o, 0));
    DVal *res = gpu_tensor_result(o, 0, DV_LOAD);
    if (src->kind != DV_LOAD) {
        gpu_unsupported(g, o, "padding a tile");
        return;
    }
    *res = *src;
    gpu_tensor_info(mlirValueGetType(mlirOperationGetResult(o, 0)), &res->rank, res->shape, &res->elem);
    int next = 1;
    MlirValue low[R];
    mixed(g, o, "static_low", res->rank, &next, low);
    for (int d = 0; d < res->rank; d++)
        res->low[d] = gpu_dense_at(gpu_attr(o, "static_low"), d) == 0 ? NULL_VALUE : low[d];
    // The padding value: the body's yield operand (a constant inside the body, or a value).
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    MlirOperation y = mlirBlockGetTerminator(body);
    MlirValue pv = mlirOperationGetOperand(y, 0);
    DVal *pd = gpu_map_get(g, pv);
    if (pd && pd->kind == DV_SCALAR) {
        res->pad = pd->v;
    } else if (mlirValueIsAOpResult(pv) && ir_op_is(mlirOpResultGetOwner(pv), "arith.constant")) {
        MlirOperation c = mlirOperationClone(mlirOpResultGetOwner(pv));
        mlirBlockAppendOwnedOperation(g->b.block, c);
        res->pad = mlirOperationGetResult(c, 0);
    } else {
        gpu_unsupported(g, o, "this padding value");
        return;
    }
    gpu_map_put(g, mlirOperationGetResult(o, 0), res);
}

// ---------------------------------------------------------------- control flow

// The layout of the distributed tile that `v` (of t's shape) is computed from: v itself when
// converted already, else traced back through elementwise ops (operands of t's shape) and the
// branches of ifs to a converted tile or a dot's accumulator. `budget` bounds the search.
static bool traced_layout(Gpu *g, MlirValue v, const DVal *t, Layout *L, int *budget) {
    if (--*budget < 0)
        return false;
    DVal *d = gpu_map_get(g, v);
    if (d)
        return d->kind == DV_DIST && d->rank == t->rank &&
               !memcmp(d->shape, t->shape, sizeof(int64_t) * (size_t)t->rank) && (*L = d->layout, true);
    if (!mlirValueIsAOpResult(v))
        return false;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (ir_op_is(def, "linalg.matmul")) {
        gpu_layout_for_dot(g, def, L);
        return true;
    }
    if (ir_op_is(def, "scf.if")) {
        for (int r = 0; r < 2; r++) {
            MlirBlock blk = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, r));
            if (!mlirBlockIsNull(blk) &&
                traced_layout(
                    g, mlirOperationGetOperand(mlirBlockGetTerminator(blk), mlirOpResultGetResultNumber(v)),
                    t, L, budget))
                return true;
        }
        return false;
    }
    if (!ir_op_is(def, "linalg.generic") && !gpu_name_prefix(def, "arith.") && !gpu_name_prefix(def, "math."))
        return false;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(def); i++) {
        MlirValue x = mlirOperationGetOperand(def, i);
        MlirType xt = mlirValueGetType(x);
        bool same = mlirTypeIsARankedTensor(xt) && mlirShapedTypeGetRank(xt) == t->rank;
        for (int k = 0; same && k < t->rank; k++)
            same = mlirShapedTypeGetDimSize(xt, k) == t->shape[k];
        if (same && traced_layout(g, x, t, L, budget))
            return true;
    }
    return false;
}

// The layout a loop-carried or yielded tile keeps: that of the tile it is computed from
// (traced_layout: an activation's chain of ifs keeps a dot's accumulator layout instead of
// converting it through shared memory), else the default for its shape.
static void carried_layout(Gpu *g, MlirValue yielded, const DVal *t, Layout *L) {
    int budget = 256;
    if (!traced_layout(g, yielded, t, L, &budget))
        gpu_layout_default(g, L, t->rank, t->shape, t->elem);
}

// scf.for, scf.if, scf.while, ...: rebuilt with the per-thread types; tiles they carry get the
// layout of carried_layout (scf.for and scf.if only).
static void convert_region_op(Gpu *g, MlirOperation o) {
    int nres = (int)mlirOperationGetNumResults(o), nops = (int)mlirOperationGetNumOperands(o);
    bool is_for = ir_op_is(o, "scf.for"), is_if = ir_op_is(o, "scf.if");
    if (g->nframes == 32 || nres > 64 || nops > 64) {
        gpu_unsupported(g, o, "control flow nested this deeply");
        return;
    }
    RegionFrame *f = &g->frames[g->nframes];
    f->op = o;
    f->n = nres;
    f->results = ast_alloc(sizeof(DVal) * (size_t)(nres ? nres : 1));
    MlirType rtypes[64];
    MlirBlock first = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    MlirOperation term = mlirBlockGetTerminator(first);
    for (int i = 0; i < nres; i++) {
        DVal *t = gpu_tensor_result(o, i, DV_DIST);
        if (t->kind == DV_NONE) {
            f->results[i] = (DVal){.kind = DV_SCALAR};
            rtypes[i] = mlirValueGetType(mlirOperationGetResult(o, i));
            continue;
        }
        if (!is_for && !is_if) {
            gpu_unsupported(g, o, "tiles carried by this loop");
            return;
        }
        Layout L;
        carried_layout(g, mlirOperationGetOperand(term, i), t, &L);
        f->results[i] = *gpu_dist_val(&L, NULL_VALUE, t->elem);
        rtypes[i] = vec(t->elem, gpu_layout_elems(&L));
    }
    Pipe pipe;
    bool piped = is_for && gpu_pipe_find(g, o, &pipe);
    MlirValue ops[64 + 3];
    for (int i = 0; i < nops; i++) {
        DVal *d = gpu_get(g, mlirOperationGetOperand(o, i));
        int r = is_for ? i - 3 : -1;  // scf.for: lb, ub, step, then the inits of the results
        if (r >= 0 && f->results[r].kind == DV_DIST)
            ops[i] = gpu_materialize(g, o, d, &f->results[r].layout);
        else if (d->kind == DV_SCALAR)
            ops[i] = d->v;
        else
            gpu_unsupported(g, o, "tiles carried by this loop");
    }
    if (piped)
        gpu_pipe_prologue(g, &pipe, ops[0], ops[1], ops[2]);
    if (g->failed)
        return;
    int nreg = (int)mlirOperationGetNumRegions(o);
    MlirOperation n = gpu_recreate(g, o, nops, ops, nres, rtypes, nreg);
    g->nframes++;
    MlirBlock save = g->b.block;
    for (int r = 0; r < nreg && !g->failed; r++) {
        MlirBlock src = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r));
        if (mlirBlockIsNull(src))
            continue;
        if (!mlirBlockIsNull(mlirBlockGetNextInRegion(src))) {
            gpu_unsupported(g, o, "regions of several blocks");
            break;
        }
        int na = (int)mlirBlockGetNumArguments(src);
        MlirType at[64 + 1];
        for (int i = 0; i < na && i < 65; i++) {
            at[i] = mlirValueGetType(mlirBlockGetArgument(src, i));
            if (is_for && i > 0)
                at[i] = rtypes[i - 1];
            else if (mlirTypeIsARankedTensor(at[i]))
                gpu_unsupported(g, o, "tiles carried by this loop");
        }
        MlirBlock dst = ir_region_block(&g->b, n, r, na, at);
        for (int i = 0; i < na; i++) {
            MlirValue arg = mlirBlockGetArgument(dst, i);
            if (is_for && i > 0 && f->results[i - 1].kind == DV_DIST)
                gpu_map_put(g, mlirBlockGetArgument(src, i),
                            gpu_dist_val(&f->results[i - 1].layout, arg, f->results[i - 1].elem));
            else
                gpu_map_put(g, mlirBlockGetArgument(src, i), gpu_scalar_val(arg));
        }
        g->b.block = dst;
        const Pipe *outer = g->pipe;
        MlirValue outer_read = g->pipe_read, outer_smem = g->smem;
        int64_t outer_reserved = g->smem_reserved;
        if (piped)
            gpu_pipe_iteration(g, &pipe, ops[0], ops[1], ops[2], mlirBlockGetArgument(dst, 0));
        gpu_convert_block(g, src);
        g->pipe = outer, g->pipe_read = outer_read, g->smem = outer_smem, g->smem_reserved = outer_reserved;
    }
    g->b.block = save;
    g->nframes--;
    if (piped)  // the stages (and mbarriers) are free for whatever follows
        gpu_pipe_epilogue(g, &pipe);
    for (int i = 0; i < nres; i++) {
        MlirValue v = mlirOperationGetResult(n, i);
        gpu_map_put(g, mlirOperationGetResult(o, i),
                    f->results[i].kind == DV_DIST ? gpu_dist_val(&f->results[i].layout, v, f->results[i].elem)
                                                  : gpu_scalar_val(v));
    }
}

// scf.yield: the values in the layouts the enclosing op fixed.
static void convert_yield(Gpu *g, MlirOperation o) {
    RegionFrame *f = g->nframes ? &g->frames[g->nframes - 1] : NULL;
    int n = (int)mlirOperationGetNumOperands(o);
    MlirValue ops[64];
    for (int i = 0; i < n && i < 64; i++) {
        DVal *d = gpu_get(g, mlirOperationGetOperand(o, i));
        if (f && i < f->n && f->results[i].kind == DV_DIST)
            ops[i] = gpu_materialize(g, o, d, &f->results[i].layout);
        else if (d->kind == DV_SCALAR)
            ops[i] = d->v;
        else
            gpu_unsupported(g, o, "this yielded tile");
    }
    if (!g->failed)
        gpu_recreate(g, o, n, ops, 0, NULL, 0);
}

// ---------------------------------------------------------------- memory descriptors and plain ops

// An op without tiles: cloned, its operands replaced by their converted values.
static void convert_plain(Gpu *g, MlirOperation o) {
    MlirOperation c = mlirOperationClone(o);
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++)
        mlirOperationSetOperand(c, i, scalar_of(g, o, mlirOperationGetOperand(o, i)));
    mlirBlockAppendOwnedOperation(g->b.block, c);
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++)
        gpu_map_put(g, mlirOperationGetResult(o, i), gpu_scalar_val(mlirOperationGetResult(c, i)));
}

// The memref descriptors emit.c builds over the tensor pointers (llvm.insertvalue chains).
static void convert_descriptor(Gpu *g, MlirOperation o) {
    MlirValue res = mlirOperationGetResult(o, 0);
    if (ir_op_is(o, "llvm.mlir.undef")) {
        gpu_map_put(g, res, gpu_dval_new(DV_DESC));
        return;
    }
    if (ir_op_is(o, "llvm.insertvalue")) {
        DVal *d = gpu_dval_new(DV_DESC);
        *d = *gpu_get(g, mlirOperationGetOperand(o, 0));
        MlirAttribute pos = gpu_attr(o, "position");
        MlirValue v = scalar_of(g, o, mlirOperationGetOperand(o, 1));
        int64_t p0 = gpu_dense_at(pos, 0);
        if (p0 == 1)
            d->ptr = v;
        else if (p0 == 3 || p0 == 4) {
            int64_t dim = gpu_dense_at(pos, 1);
            (p0 == 3 ? d->sizes : d->strides)[dim] = v;
        }
        gpu_map_put(g, res, d);
        return;
    }
    // builtin.unrealized_conversion_cast to the memref
    DVal *d = gpu_dval_new(DV_MEMREF);
    *d = *gpu_get(g, mlirOperationGetOperand(o, 0));
    d->kind = DV_MEMREF;
    MlirType mt = mlirValueGetType(res);
    d->rank = (int)mlirShapedTypeGetRank(mt);
    d->elem = mlirShapedTypeGetElementType(mt);
    gpu_map_put(g, res, d);
}

static void convert_subview(Gpu *g, MlirOperation o) {
    DVal *src = gpu_get(g, mlirOperationGetOperand(o, 0));
    int rank = src->rank;
    if ((int)mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetResult(o, 0))) != rank) {
        gpu_unsupported(g, o, "rank-reducing subviews");
        return;
    }
    int next = 1;
    MlirValue offs[R], sizes[R];
    mixed(g, o, "static_offsets", rank, &next, offs);
    mixed(g, o, "static_sizes", rank, &next, sizes);
    DVal *d = gpu_dval_new(DV_MEMREF);
    *d = *src;
    for (int i = 0; i < rank; i++) {
        d->offs[i] = src->offs[i].ptr ? add(g, src->offs[i], offs[i]) : offs[i];
        d->sizes[i] = sizes[i];
    }
    gpu_map_put(g, mlirOperationGetResult(o, 0), d);
}

// ---------------------------------------------------------------- dispatch

void gpu_convert_op(Gpu *g, MlirOperation o) {
    MlirLocation save_loc = g->b.loc;
    g->b.loc = mlirOperationGetLocation(o);
    int nres = (int)mlirOperationGetNumResults(o);
    MlirType rt0 = nres ? mlirValueGetType(mlirOperationGetResult(o, 0)) : (MlirType){NULL};
    if (ir_op_is(o, "func.return")) {
        // the kernel's gpu.return is added after the body
    } else if ((ir_op_is(o, "llvm.mlir.undef") || ir_op_is(o, "llvm.insertvalue")) &&
               mlirTypeIsALLVMStructType(rt0)) {
        convert_descriptor(g, o);
    } else if (ir_op_is(o, "builtin.unrealized_conversion_cast") && mlirTypeIsAMemRef(rt0)) {
        convert_descriptor(g, o);
    } else if (ir_op_is(o, "bufferization.to_tensor")) {
        DVal *d = gpu_dval_new(DV_MEMREF);
        *d = *gpu_get(g, mlirOperationGetOperand(o, 0));
        gpu_map_put(g, mlirOperationGetResult(o, 0), d);
    } else if (ir_op_is(o, "memref.subview")) {
        convert_subview(g, o);
    } else if (ir_op_is(o, "tensor.extract_slice")) {
        convert_slice(g, o);
    } else if (ir_op_is(o, "tensor.pad")) {
        convert_pad(g, o);
    } else if (ir_op_is(o, "bufferization.materialize_in_destination")) {
        gpu_store_tile(g, o, gpu_get(g, mlirOperationGetOperand(o, 0)),
                       gpu_get(g, mlirOperationGetOperand(o, 1)));
    } else if (ir_op_is(o, "tensor.splat")) {
        DVal *t = gpu_tensor_result(o, 0, DV_UNIFORM);
        gpu_map_put(g, mlirOperationGetResult(o, 0),
                    gpu_uniform_val(scalar_of(g, o, mlirOperationGetOperand(o, 0)), t->rank, t->shape));
    } else if (ir_op_is(o, "tensor.empty")) {
        gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_tensor_result(o, 0, DV_EMPTY));
    } else if (ir_op_is(o, "linalg.fill")) {
        DVal *t = gpu_tensor_result(o, 0, DV_UNIFORM);
        gpu_map_put(g, mlirOperationGetResult(o, 0),
                    gpu_uniform_val(scalar_of(g, o, mlirOperationGetOperand(o, 0)), t->rank, t->shape));
    } else if (ir_op_is(o, "arith.constant") && mlirTypeIsARankedTensor(rt0)) {
        MlirAttribute v = gpu_attr(o, "value");
        if (!mlirAttributeIsADenseElements(v) || !mlirDenseElementsAttrIsSplat(v)) {
            gpu_unsupported(g, o, "constant tiles that are not splats");
        } else {
            DVal *t = gpu_tensor_result(o, 0, DV_UNIFORM);
            MlirNamedAttribute a = ir_named(&g->b, "value", mlirDenseElementsAttrGetSplatValue(v));
            MlirValue c =
                mlirOperationGetResult(ir_op(&g->b, "arith.constant", 1, &t->elem, 0, NULL, 1, &a, 0), 0);
            gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_uniform_val(c, t->rank, t->shape));
        }
    } else if (ir_op_is(o, "linalg.reduce")) {
        gpu_convert_reduce(g, o);
    } else if (ir_op_is(o, "linalg.matmul")) {
        gpu_convert_dot(g, o);
    } else if (ir_op_is(o, "linalg.generic")) {
        gpu_convert_generic(g, o);
    } else if (ir_op_is(o, "linalg.transpose")) {
        convert_transpose(g, o);
    } else if (ir_op_is(o, "tensor.collapse_shape") || ir_op_is(o, "tensor.expand_shape")) {
        convert_reshape(g, o);
    } else if (ir_op_is(o, "tensor.extract")) {
        convert_extract(g, o);
    } else if (ir_op_is(o, "scf.yield")) {
        convert_yield(g, o);
    } else if (ir_op_is(o, "scf.for") &&
               !mlirAttributeIsNull(mlirOperationGetDiscardableAttributeByName(o, ir_str("tilec.scatter")))) {
        gpu_convert_scatter(g, o);
    } else if (mlirOperationGetNumRegions(o) > 0 && gpu_name_prefix(o, "scf.")) {
        convert_region_op(g, o);
    } else if (ir_op_is(o, "arith.extf") && gpu_widens_mma_operands_only(g, o)) {
        // the dot reads the narrow operand (gpu_dot_operand)
    } else if (gpu_has_tensor(o)) {
        if ((gpu_name_prefix(o, "arith.") || gpu_name_prefix(o, "math.")) && !mlirOperationGetNumRegions(o))
            gpu_convert_elementwise(g, o);
        else
            gpu_unsupported(g, o, "this operation on tiles");
    } else if (mlirOperationGetNumRegions(o) > 0) {
        gpu_unsupported(g, o, "this control flow");
    } else {
        convert_plain(g, o);
    }
    g->b.loc = save_loc;
}

void gpu_convert_block(Gpu *g, MlirBlock src) {
    for (MlirOperation o = mlirBlockGetFirstOperation(src); !mlirOperationIsNull(o) && !g->failed;
         o = mlirOperationGetNextInBlock(o))
        gpu_convert_op(g, o);
}
