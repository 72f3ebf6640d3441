// backends/nvidia/gpu_elementwise.c — elementwise work on each thread's elements: arith and math ops
// on tiles, linalg.generic (its body op by op on vectors, inputs broadcast to the output's
// layout, a gather's guarded reads as masked gathers), and emit.c's scatter nests (masked
// scatters).
#include <string.h>

#include "gpu_simt.h"

// The layout for a tile `v` (of t's shape) made from no distributed tile (a broadcast bias):
// that of a distributed operand of t's shape of an elementwise op using it, so that the two
// meet without a conversion through shared memory; else the default.
void gpu_user_layout(Gpu *g, MlirValue v, const DVal *t, Layout *L) {
    for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
        MlirOperation user = mlirOpOperandGetOwner(u);
        if (!gpu_name_prefix(user, "arith.") && !gpu_name_prefix(user, "math."))
            continue;
        for (intptr_t i = 0; i < mlirOperationGetNumOperands(user); i++) {
            DVal *d = gpu_map_get(g, mlirOperationGetOperand(user, i));
            if (d && d->kind == DV_DIST && d->rank == t->rank &&
                !memcmp(d->shape, t->shape, sizeof(int64_t) * (size_t)t->rank)) {
                *L = d->layout;
                return;
            }
        }
    }
    gpu_layout_default(g, L, t->rank, t->shape, t->elem);
}

// An arith or math op on tiles: on each thread's elements, in the layout of its first
// distributed operand (or the default); on scalars when every operand is uniform.
void gpu_convert_elementwise(Gpu *g, MlirOperation o) {
    int n = (int)mlirOperationGetNumOperands(o);
    DVal *res = gpu_tensor_result(o, 0, DV_DIST);
    if (res->kind == DV_NONE || mlirOperationGetNumResults(o) != 1) {
        gpu_unsupported(g, o, "this operation on tiles");
        return;
    }
    DVal *ins[8];
    const DVal *anchor = NULL;
    bool all_uniform = true;
    for (int i = 0; i < n && i < 8; i++) {
        ins[i] = gpu_get(g, mlirOperationGetOperand(o, i));
        if (ins[i]->kind == DV_DIST && !anchor)
            anchor = ins[i];
        if (ins[i]->kind != DV_UNIFORM && ins[i]->kind != DV_SCALAR)
            all_uniform = false;
    }
    MlirValue ops[8];
    if (all_uniform) {
        for (int i = 0; i < n; i++)
            ops[i] = ins[i]->v;
        MlirOperation r = gpu_recreate(g, o, n, ops, 1, &res->elem, 0);
        gpu_map_put(g, mlirOperationGetResult(o, 0),
                    gpu_uniform_val(mlirOperationGetResult(r, 0), res->rank, res->shape));
        return;
    }
    Layout L;
    if (anchor && anchor->rank == res->rank)
        L = anchor->layout;
    else
        gpu_user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    int E = gpu_layout_elems(&L);
    for (int i = 0; i < n; i++)
        ops[i] = ins[i]->kind == DV_SCALAR ? ins[i]->v : gpu_materialize(g, o, ins[i], &L);
    MlirType rt = vec(res->elem, E);
    MlirOperation r = gpu_recreate(g, o, n, ops, 1, &rt, 0);
    gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_dist_val(&L, mlirOperationGetResult(r, 0), res->elem));
}

// ---------------------------------------------------------------- bodies

// The element addresses of tensor `m` at the indices that are operands first.. of `op` (per-thread
// index vectors, or scalars; index or i64): a vector<E> of pointers. Null after reporting an
// index not converted.
static MlirValue element_ptrs(Gpu *g, const DVal *m, MlirOperation op, int first, int E) {
    MlirValue lin = splat(g, cint(g, 0), E);
    for (int d = 0; d < m->rank; d++) {
        DVal *x = gpu_map_get(g, mlirOperationGetOperand(op, first + d));
        if (!x) {
            gpu_unsupported(g, op, "this index in an elementwise body");
            return NULL_VALUE;
        }
        MlirValue i = x->v;
        if (!mlirTypeIsAVector(mlirValueGetType(i)))
            i = splat(g, to_i64(g, i), E);
        else if (mlirTypeIsAIndex(mlirShapedTypeGetElementType(mlirValueGetType(i))))
            i = ir_op1(&g->b, "arith.index_cast", vec(i64t(g), E), 1, &i);
        if (m->offs[d].ptr)
            i = add(g, i, splat(g, m->offs[d], E));
        lin = add(g, lin, mul(g, i, splat(g, m->strides[d], E)));
    }
    return gep(g, m->ptr, lin, m->elem);
}

// A body value as the vector of this thread's E elements (a scalar splat).
static MlirValue body_vector(Gpu *g, const DVal *x, int E) {
    return x->kind == DV_DIST ? x->v : splat(g, x->v, E);
}

// A gather's element read in an elementwise body (emit.c's read_if_inside):
// scf.if %inside { tensor.extract %tensor[%i...] } else { %other }, on vectors: one masked
// gather of the thread's elements. False (reported) for any other scf.if.
static bool convert_body_read(Gpu *g, MlirOperation f, const Layout *L) {
    int E = gpu_layout_elems(L);
    MlirBlock then = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 0));
    MlirBlock els = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 1));
    MlirOperation ex = mlirBlockIsNull(then) ? (MlirOperation){NULL} : mlirBlockGetFirstOperation(then);
    if (mlirOperationGetNumResults(f) != 1 || mlirBlockIsNull(els) || mlirOperationIsNull(ex) ||
        !ir_op_is(ex, "tensor.extract") || !ir_op_is(mlirOperationGetNextInBlock(ex), "scf.yield") ||
        !ir_op_is(mlirBlockGetFirstOperation(els), "scf.yield")) {
        gpu_unsupported(g, f, "this operation in an elementwise body");
        return false;
    }
    DVal *m = gpu_map_get(g, mlirOperationGetOperand(ex, 0));
    if (!m || m->kind != DV_MEMREF || (int)mlirOperationGetNumOperands(ex) != 1 + m->rank) {
        gpu_unsupported(g, f, "this read in an elementwise body");
        return false;
    }
    DVal *c = gpu_map_get(g, mlirOperationGetOperand(f, 0));
    DVal *o = gpu_map_get(g, mlirOperationGetOperand(mlirBlockGetFirstOperation(els), 0));
    if (!c || !o) {
        gpu_unsupported(g, f, "this read in an elementwise body");
        return false;
    }
    MlirValue ops[3] = {element_ptrs(g, m, ex, 1, E), body_vector(g, c, E), body_vector(g, o, E)};
    if (!ops[0].ptr)
        return false;
    MlirType vt = vec(m->elem, E);
    MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), elem_bytes(m->elem)));
    MlirValue v =
        mlirOperationGetResult(ir_op(&g->b, "llvm.intr.masked.gather", 1, &vt, 3, ops, 1, &al, 0), 0);
    gpu_map_put(g, mlirOperationGetResult(f, 0), gpu_dist_val(L, v, m->elem));
    return true;
}

// The context of convert_body: the layout of the elements and, in a scatter nest, its
// induction variables.
typedef struct Body {
    const Layout *L;
    int nivs;
    MlirValue ivs[R];  // a scatter nest's induction variables, outermost first
} Body;

static MlirOperation convert_body(Gpu *g, MlirBlock body, const Body *bd);

// A masked store's element write in a scatter nest's body (emit.c's scatter_loops):
// scf.if %inside { %v = tensor.extract %tile[ivs]; memref.store %v, %tensor[%i...] } on
// vectors: one masked scatter of the thread's elements (replicated copies write the same
// values).
static bool convert_body_write(Gpu *g, MlirOperation f, const Body *bd) {
    const Layout *L = bd->L;
    int E = gpu_layout_elems(L);
    MlirBlock then = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 0));
    MlirOperation st = mlirBlockIsNull(then) ? (MlirOperation){NULL} : convert_body(g, then, bd);
    if (g->failed)
        return false;
    if (mlirOperationGetNumResults(f) != 0 || mlirOperationIsNull(st) || !ir_op_is(st, "memref.store") ||
        !ir_op_is(mlirOperationGetNextInBlock(st), "scf.yield")) {
        gpu_unsupported(g, f, "this operation in a scatter");
        return false;
    }
    DVal *m = gpu_map_get(g, mlirOperationGetOperand(st, 1));
    DVal *val = gpu_map_get(g, mlirOperationGetOperand(st, 0));
    DVal *c = gpu_map_get(g, mlirOperationGetOperand(f, 0));
    if (!m || m->kind != DV_MEMREF || !val || !c || (int)mlirOperationGetNumOperands(st) != 2 + m->rank) {
        gpu_unsupported(g, f, "this store in a scatter");
        return false;
    }
    MlirValue ops[3] = {body_vector(g, val, E), element_ptrs(g, m, st, 2, E), body_vector(g, c, E)};
    if (!ops[1].ptr)
        return false;
    MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), elem_bytes(m->elem)));
    ir_op(&g->b, "llvm.intr.masked.scatter", 0, NULL, 3, ops, 1, &al, 0);
    return true;
}

// The body of an elementwise op (linalg.generic) or of a scatter nest, op by op on the
// vectors of this thread's elements in layout L: linalg.index and the nest's induction
// variables are the elements' positions, a gather's guarded read is a masked gather, a
// guarded store a masked scatter, `tensor.extract %tile[ivs]` the tile in layout L. Returns
// the terminator (linalg.yield or scf.yield) or a memref.store (convert_body_write's), not
// converted; null after an error (reported).
static MlirOperation convert_body(Gpu *g, MlirBlock body, const Body *bd) {
    const Layout *L = bd->L;
    int E = gpu_layout_elems(L);
    for (MlirOperation b = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(b) && !g->failed;
         b = mlirOperationGetNextInBlock(b)) {
        if (ir_op_is(b, "linalg.yield") || ir_op_is(b, "scf.yield") || ir_op_is(b, "memref.store"))
            return b;
        if (ir_op_is(b, "linalg.index")) {
            int d = (int)mlirIntegerAttrGetValueInt(gpu_attr(b, "dim"));
            gpu_map_put(g, mlirOperationGetResult(b, 0),
                        gpu_dist_val(L, gpu_layout_positions(g, L, d), mlirIndexTypeGet(g->b.ctx)));
            continue;
        }
        if (ir_op_is(b, "scf.if")) {
            if (mlirOperationGetNumResults(b) ? !convert_body_read(g, b, L) : !convert_body_write(g, b, bd))
                return (MlirOperation){NULL};
            continue;
        }
        if (ir_op_is(b, "tensor.extract") && bd->nivs) {
            bool at_ivs = (int)mlirOperationGetNumOperands(b) == 1 + bd->nivs;
            for (int d = 0; at_ivs && d < bd->nivs; d++)
                at_ivs = mlirValueEqual(mlirOperationGetOperand(b, 1 + d), bd->ivs[d]);
            DVal *x = gpu_get(g, mlirOperationGetOperand(b, 0));
            if (!at_ivs || g->failed) {
                gpu_unsupported(g, b, "this read in a scatter");
                return (MlirOperation){NULL};
            }
            MlirValue v = gpu_materialize(g, b, x, L);
            gpu_map_put(g, mlirOperationGetResult(b, 0), gpu_dist_val(L, v, x->elem));
            continue;
        }
        if (mlirOperationGetNumRegions(b) || mlirOperationGetNumResults(b) != 1 ||
            !(gpu_name_prefix(b, "arith.") || gpu_name_prefix(b, "math."))) {
            gpu_unsupported(g, b, "this operation in an elementwise body");
            return (MlirOperation){NULL};
        }
        int n = (int)mlirOperationGetNumOperands(b);
        MlirValue ops[8];
        for (int i = 0; i < n && i < 8; i++) {
            MlirValue v = mlirOperationGetOperand(b, i);
            DVal *d = gpu_map_get(g, v);
            if (!d) {  // a constant of the body not converted yet
                gpu_unsupported(g, b, "this operand in an elementwise body");
                return (MlirOperation){NULL};
            }
            ops[i] = d->kind == DV_DIST ? d->v : splat(g, d->v, E);
        }
        MlirType el = mlirValueGetType(mlirOperationGetResult(b, 0));
        MlirType rt = vec(el, E);
        if (n == 0) {  // a constant: a scalar, splat where used
            MlirOperation c = mlirOperationClone(b);
            mlirBlockAppendOwnedOperation(g->b.block, c);
            gpu_map_put(g, mlirOperationGetResult(b, 0), gpu_scalar_val(mlirOperationGetResult(c, 0)));
            continue;
        }
        MlirOperation r = gpu_recreate(g, b, n, ops, 1, &rt, 0);
        gpu_map_put(g, mlirOperationGetResult(b, 0), gpu_dist_val(L, mlirOperationGetResult(r, 0), el));
    }
    if (!g->failed)
        internal_error(__FILE__, __LINE__, "GPU back end: a body without a terminator");
    return (MlirOperation){NULL};
}

// A scatter nest (scf.for loops over a tile's shape marked tilec.scatter by emit.c, a guarded
// store per element): its innermost body once, on vectors, in the layout of the stored tile.
void gpu_convert_scatter(Gpu *g, MlirOperation o) {
    Body bd = {0};
    MlirOperation loop = o;
    int64_t shape[R];
    MlirBlock inner = {NULL};
    while (!mlirOperationIsNull(loop) && ir_op_is(loop, "scf.for") && bd.nivs < R) {
        MlirValue ub = mlirOperationGetOperand(loop, 1);
        MlirOperation c = mlirValueIsAOpResult(ub) ? mlirOpResultGetOwner(ub) : (MlirOperation){NULL};
        if (mlirOperationIsNull(c) || !ir_op_is(c, "arith.constant"))
            break;
        shape[bd.nivs] = mlirIntegerAttrGetValueInt(gpu_attr(c, "value"));
        inner = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
        bd.ivs[bd.nivs++] = mlirBlockGetArgument(inner, 0);
        loop = mlirBlockGetFirstOperation(inner);  // the next loop, after its bounds' constants
        while (!mlirOperationIsNull(loop) && ir_op_is(loop, "arith.constant"))
            loop = mlirOperationGetNextInBlock(loop);
    }
    if (!bd.nivs || mlirBlockIsNull(inner)) {
        gpu_unsupported(g, o, "this scatter");
        return;
    }
    // The layout: that of the stored tile (the first tile the body reads at the ivs).
    Layout L;
    bool have = false;
    for (MlirOperation b = mlirBlockGetFirstOperation(inner); !mlirOperationIsNull(b) && !have;
         b = mlirOperationGetNextInBlock(b))
        if (ir_op_is(b, "tensor.extract")) {
            DVal *x = gpu_map_get(g, mlirOperationGetOperand(b, 0));
            if (x && x->kind == DV_DIST && x->rank == bd.nivs &&
                !memcmp(x->shape, shape, sizeof(int64_t) * (size_t)bd.nivs))
                L = x->layout, have = true;
        }
    if (!have)
        gpu_layout_default(g, &L, bd.nivs, shape, mlirF32TypeGet(g->b.ctx));
    bd.L = &L;
    for (int d = 0; d < bd.nivs; d++)
        gpu_map_put(g, bd.ivs[d],
                    gpu_dist_val(&L, gpu_layout_positions(g, &L, d), mlirIndexTypeGet(g->b.ctx)));
    convert_body(g, inner, &bd);
}

// linalg.generic with parallel iterators: its body on each thread's elements, inputs brought to
// the output's layout (broadcast along the dims their maps leave out).
void gpu_convert_generic(Gpu *g, MlirOperation o) {
    DVal *res = gpu_tensor_result(o, 0, DV_DIST);
    MlirAttribute maps = gpu_attr(o, "indexing_maps");
    char iters[512] = "";
    mlirAttributePrint(gpu_attr(o, "iterator_types"), ir_print_to_text, &(IRText){iters, sizeof iters, 0});
    if (strstr(iters, "reduction")) {
        gpu_unsupported(g, o, "a linalg.generic with a reduction");
        return;
    }
    int nops = (int)mlirOperationGetNumOperands(o), nres = (int)mlirOperationGetNumResults(o);
    int nin = nops - nres;
    if (res->kind == DV_NONE || nres != 1 || nin > 8) {
        gpu_unsupported(g, o, "this linalg.generic");
        return;
    }
    // The output's layout: that of an input read without broadcasting, else the default.
    // dims[i][j]: the output dim input i's dim j runs along, or -1 for a unit dim the map
    // gives as the constant 0 (a broadcast: `bias[n : n + BN][None, :]`).
    Layout L;
    bool have = false, plain[8];
    int dims[8][R];
    for (int i = 0; i < nin; i++) {
        MlirAffineMap m = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, i));
        int nr = (int)mlirAffineMapGetNumResults(m), last = -1;
        plain[i] = nr == res->rank;
        for (int j = 0; j < nr; j++) {
            MlirAffineExpr ex = mlirAffineMapGetResult(m, j);
            if (mlirAffineExprIsAConstant(ex) && mlirAffineConstantExprGetValue(ex) == 0) {
                dims[i][j] = -1;
                plain[i] = false;
                continue;
            }
            if (!mlirAffineExprIsADim(ex)) {
                gpu_unsupported(g, o, "this indexing map");
                return;
            }
            dims[i][j] = (int)mlirAffineDimExprGetPosition(ex);
            if (dims[i][j] <= last) {
                gpu_unsupported(g, o, "transposing indexing maps");
                return;
            }
            plain[i] &= dims[i][j] == j;
            last = dims[i][j];
        }
        DVal *in = gpu_get(g, mlirOperationGetOperand(o, i));
        if (!have && in->kind == DV_DIST && plain[i]) {
            L = in->layout;
            have = true;
        }
    }
    if (!have)
        gpu_user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    int E = gpu_layout_elems(&L);
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    for (int i = 0; i < nin; i++) {
        DVal *in = gpu_get(g, mlirOperationGetOperand(o, i));
        MlirValue v;
        if (in->kind == DV_SCALAR)
            v = splat(g, in->v, E);
        else if (plain[i])
            v = gpu_materialize(g, o, in, &L);
        else
            v = gpu_broadcast_to(g, o, in, &L, dims[i]);
        MlirType el = mlirValueGetType(mlirBlockGetArgument(body, i));
        gpu_map_put(g, mlirBlockGetArgument(body, i), gpu_dist_val(&L, v, el));
    }
    // The body, op by op, on vectors.
    Body bd = {.L = &L};
    MlirOperation y = convert_body(g, body, &bd);
    if (g->failed)
        return;
    DVal *yv = gpu_get(g, mlirOperationGetOperand(y, 0));
    MlirValue v = yv->kind == DV_DIST ? yv->v : splat(g, yv->v, E);
    gpu_map_put(g, mlirOperationGetResult(o, 0), gpu_dist_val(&L, v, res->elem));
}
