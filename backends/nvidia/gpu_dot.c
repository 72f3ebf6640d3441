// backends/nvidia/gpu_dot.c — dots (linalg.matmul): whether one runs on tensor cores (mma.sync, or
// wgmma in a pipelined loop: gpu_async.c), the accumulator's layout, the FMA dot, and the
// mma.sync dot reading its operands from shared memory with ldmatrix.
#include <stdlib.h>
#include <string.h>

#include "gpu_simt.h"

// ---------------------------------------------------------------- which dots run how

// A dot operand, seen through the arith.extf that widens f16/bf16 tiles to the accumulator's
// type (tensor cores take the narrow values).
MlirValue gpu_dot_operand(MlirOperation mm, int i) {
    MlirValue v = mlirOperationGetOperand(mm, i);
    if (mlirValueIsAOpResult(v) && ir_op_is(mlirOpResultGetOwner(v), "arith.extf"))
        return mlirOperationGetOperand(mlirOpResultGetOwner(v), 0);
    return v;
}

// Whether `o` (an arith.extf) widens operands of tensor-core dots only, which take the narrow
// values: nothing to convert.
bool gpu_widens_mma_operands_only(Gpu *g, MlirOperation o) {
    MlirValue r = mlirOperationGetResult(o, 0);
    MlirOpOperand u = mlirValueGetFirstUse(r);
    if (mlirOpOperandIsNull(u))
        return false;
    for (; !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
        MlirOperation user = mlirOpOperandGetOwner(u);
        if (!ir_op_is(user, "linalg.matmul") || mlirOpOperandGetOperandNumber(u) > 1 ||
            !gpu_dot_uses_mma(g, user))
            return false;
    }
    return true;
}

// Whether a dot (linalg.matmul) runs on tensor cores: mma.sync m16n8k16, f16 or bf16 operands
// with an f32 accumulator, sm_80 and later, tiles in whole mma steps.
bool gpu_dot_uses_mma(Gpu *g, MlirOperation mm) {
    if (!g->sched->tensor_cores || g->arch->sm < 80)
        return false;
    MlirType at = mlirValueGetType(gpu_dot_operand(mm, 0));
    MlirType bt = mlirValueGetType(gpu_dot_operand(mm, 1));
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    MlirType ae = mlirShapedTypeGetElementType(at), be = mlirShapedTypeGetElementType(bt);
    if (!((mlirTypeIsAF16(ae) && mlirTypeIsAF16(be)) || (mlirTypeIsABF16(ae) && mlirTypeIsABF16(be))) ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(ct)))
        return false;
    int64_t M = mlirShapedTypeGetDimSize(ct, 0), N = mlirShapedTypeGetDimSize(ct, 1);
    int64_t K = mlirShapedTypeGetDimSize(at, 1);
    return M % 16 == 0 && N % 8 == 0 && K % 16 == 0;
}

// Whether a tensor-core dot runs as wgmma (sm_90a) when its loop is pipelined: A's rows are
// one swizzle atom of K (64 elements: 128-byte swizzle, or 32: 64-byte), B is whole 64-column
// atoms (N-major, 128-byte swizzle) and at most 256 columns (one wgmma's n), and each warp
// takes 16 rows (a warpgroup of 4 warps, m64).
bool gpu_dot_uses_wgmma(Gpu *g, MlirOperation mm) {
    size_t n = strlen(g->arch->name);
    if (!g->sched->wgmma || g->arch->sm != 90 || !n || g->arch->name[n - 1] != 'a' ||
        !gpu_dot_uses_mma(g, mm))
        return false;
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    int64_t M = mlirShapedTypeGetDimSize(ct, 0), N = mlirShapedTypeGetDimSize(ct, 1);
    for (int i = 0; i < 2; i++) {  // slices of tensors in memory (what a pipelined loop copies)
        MlirValue v = gpu_dot_operand(mm, i);
        if (!mlirValueIsAOpResult(v))
            return false;
        MlirOperation def = mlirOpResultGetOwner(v);
        if (!ir_op_is(def, "tensor.pad") && !ir_op_is(def, "tensor.extract_slice") &&
            !ir_op_is(def, "tensor.collapse_shape"))
            return false;
    }
    int64_t K = mlirShapedTypeGetDimSize(mlirValueGetType(gpu_dot_operand(mm, 0)), 1);
    return (K == 64 || K == 32) && N % 64 == 0 && N <= 256 && g->nwarps % 4 == 0 && M == 16 * g->nwarps;
}

// The accumulator layout of the FMA dot: dot_rows x dot_cols per thread, lanes 4 x 8.
static void layout_dot(Gpu *g, Layout *L, const int64_t *shape) {
    int spt[2] = {g->sched->dot_rows, g->sched->dot_cols};
    gpu_layout_blocked(g, L, 2, shape, spt);
}

// The mma.sync accumulator: warps split the tile into wm x wn contiguous parts; within a
// warp's part, m16n8 tiles, where lane l holds rows l/4 and l/4 + 8, columns 2(l%4) and +1.
// For wgmma, 16 whole rows per warp (wm = warps, wn = 1): the same per-warp pattern as
// wgmma's m64nN accumulator, so that both paths share it.
static void layout_mma(Gpu *g, Layout *L, const int64_t *shape, bool wgmma) {
    int wm = wgmma ? g->nwarps : 1, wn = 1;
    while (!wgmma && wm * wn < g->nwarps) {
        if (shape[0] / (wm * 2) >= 16 && (shape[0] / wm >= shape[1] / wn || shape[1] / (wn * 2) < 8))
            wm *= 2;
        else if (shape[1] / (wn * 2) >= 8)
            wn *= 2;
        else
            break;
    }
    *L = (Layout){.rank = 2, .warp_outer = true};
    L->shape[0] = shape[0], L->shape[1] = shape[1];
    L->spt[0] = 1, L->tpw[0] = 8, L->lane_shift[0] = 2, L->wpc[0] = wm, L->warp_shift[0] = ilog2(wn);
    L->spt[1] = 2, L->tpw[1] = 4, L->lane_shift[1] = 0, L->wpc[1] = wn, L->warp_shift[1] = 0;
    L->reps[0] = (int)(shape[0] / (8 * wm));
    L->reps[1] = (int)(shape[1] / (8 * wn));
}

void gpu_layout_for_dot(Gpu *g, MlirOperation mm, Layout *L) {
    int64_t shape[2];
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    shape[0] = mlirShapedTypeGetDimSize(ct, 0), shape[1] = mlirShapedTypeGetDimSize(ct, 1);
    if (gpu_dot_uses_mma(g, mm))
        layout_mma(g, L, shape, gpu_dot_uses_wgmma(g, mm));
    else
        layout_dot(g, L, shape);
}

// ---------------------------------------------------------------- FMA

static MlirValue scf_for(Gpu *g, MlirValue lb, MlirValue ub, MlirValue step, int n, const MlirValue *inits,
                         MlirBlock *body, MlirOperation *loop) {
    MlirValue ops[3 + 8];
    ops[0] = lb, ops[1] = ub, ops[2] = step;
    MlirType types[1 + 8];
    types[0] = mlirValueGetType(lb);
    for (int i = 0; i < n; i++) {
        ops[3 + i] = inits[i];
        types[1 + i] = mlirValueGetType(inits[i]);
    }
    *loop = ir_op(&g->b, "scf.for", n, types + 1, 3 + n, ops, 0, NULL, 1);
    *body = ir_region_block(&g->b, *loop, 0, 1 + n, types);
    return mlirBlockGetArgument(*body, 0);
}

static MlirValue convert_float(Gpu *g, MlirValue v, MlirType to) {
    MlirType from = mlirValueGetType(v);
    MlirType fe = mlirTypeIsAVector(from) ? mlirShapedTypeGetElementType(from) : from;
    if (mlirTypeEqual(fe, to))
        return v;
    MlirType rt = mlirTypeIsAVector(from) ? vec(to, mlirShapedTypeGetDimSize(from, 0)) : to;
    return ir_op1(&g->b, elem_bytes(fe) < elem_bytes(to) ? "arith.extf" : "arith.truncf", rt, 1, &v);
}

// The accumulator in the dot's layout (the carried one when it is already distributed in a
// layout of the same kind) and both operands in their natural layouts.
static bool dot_setup(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c, Layout *LC,
                      MlirValue *acc, DVal **da, DVal **db) {
    gpu_layout_for_dot(g, at, LC);
    if (c->kind == DV_DIST && c->layout.warp_outer == LC->warp_outer)
        *LC = c->layout;
    *acc = gpu_materialize(g, at, c, LC);
    Layout LA, LB;
    gpu_natural_layout(g, a, &LA);
    gpu_natural_layout(g, b, &LB);
    *da = gpu_dist_val(&LA, gpu_materialize(g, at, a, &LA), a->elem);
    *db = gpu_dist_val(&LB, gpu_materialize(g, at, b, &LB), b->elem);
    return !g->failed;
}

// acc += a @ b with FMAs: a goes to shared memory transposed (As[k][m]), b as it is (Bs[k][n]);
// each step of k reads the thread's rows of As and columns of Bs (vector loads) and updates its
// dot_rows x dot_cols blocks of the accumulator.
static DVal *dot_fma(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c) {
    int64_t M = c->shape[0], N = c->shape[1], K = a->shape[1];
    Layout LC;
    MlirValue acc;
    DVal *da, *db;
    if (!dot_setup(g, at, a, b, c, &LC, &acc, &da, &db))
        return NULL;
    int eba = elem_bytes(a->elem), ebb = elem_bytes(b->elem);
    int64_t boff = (M * K * eba + ebb - 1) / ebb;  // Bs, in elements of b
    gpu_smem_need(g, boff * ebb + K * N * ebb);
    gpu_smem_write(g, da, (int64_t[]){1, M}, cint(g, 0));
    gpu_smem_write(g, db, (int64_t[]){N, 1}, cint(g, boff));
    barrier(g);
    MlirType accel = c->elem;
    int E = gpu_layout_elems(&LC);
    MlirValue base[2];
    gpu_layout_base(g, &LC, base);
    int unroll = K % 4 == 0 ? 4 : 1;
    MlirBlock body;
    MlirOperation loop;
    MlirValue kk = scf_for(g, cint(g, 0), cint(g, K), cint(g, unroll), 1, &acc, &body, &loop);
    MlirBlock save = g->b.block;
    g->b.block = body;
    MlirValue cur = mlirBlockGetArgument(body, 1);
    int nr = LC.reps[0] * LC.spt[0], nc = LC.reps[1] * LC.spt[1];
    for (int u = 0; u < unroll; u++) {
        MlirValue k = addc(g, kk, u);
        MlirValue av[64], bv[64];
        MlirValue arow = add(g, mul(g, k, cint(g, M)), base[0]);
        MlirValue bcol = add(g, mul(g, k, cint(g, N)), addc(g, base[1], boff));
        for (int pass = 0; pass < 2; pass++) {
            int n = pass ? nc : nr, spt = pass ? LC.spt[1] : LC.spt[0];
            MlirType el = pass ? b->elem : a->elem;
            int eb = pass ? ebb : eba;
            int run = gpu_vector_run(spt, eb);
            MlirValue *out = pass ? bv : av;
            for (int r = 0; r < n; r += run) {
                MlirValue idx = addc(g, pass ? bcol : arow, gpu_digit_offset(&LC, pass, r));
                MlirValue v = load(g, vec(el, run), gpu_smem_at(g, idx, el), (int64_t)eb * run);
                v = convert_float(g, v, accel);
                for (int i = 0; i < run; i++)
                    out[r + i] = extract(g, v, i);
            }
        }
        MlirValue *ae = malloc(sizeof(MlirValue) * (size_t)E * 2), *be = ae + E;
        for (int e = 0; e < E; e++) {
            int r[2];
            gpu_layout_digits(&LC, e, r);
            ae[e] = av[r[0]];
            be[e] = bv[r[1]];
        }
        MlirValue ops[3] = {from_elements(g, accel, E, ae), from_elements(g, accel, E, be), cur};
        cur = ir_op1(&g->b, "math.fma", vec(accel, E), 3, ops);
        free(ae);
    }
    ir_op(&g->b, "scf.yield", 0, NULL, 1, &cur, 0, NULL, 0);
    g->b.block = save;
    barrier(g);
    return gpu_dist_val(&LC, mlirOperationGetResult(loop, 0), accel);
}

// ---------------------------------------------------------------- tensor cores

// ldmatrix: `num` 8x8 matrices of 16-bit elements, matrix i from the row addresses lanes 8i to
// 8i + 7 give; out[i] is this thread's 32-bit part of matrix i: row lane/4, elements 2(lane%4)
// and +1 (with `trans`: column lane/4, rows 2(lane%4) and +1).
static void ldmatrix(Gpu *g, MlirValue p, int num, bool trans, MlirValue *out) {
    MlirType i32 = i32t(g), ts[4] = {i32, i32, i32, i32};
    MlirType rt = num == 1 ? i32 : mlirLLVMStructTypeLiteralGet(g->b.ctx, num, ts, false);
    MlirNamedAttribute at[4] = {
        ir_named(&g->b, "num", mlirIntegerAttrGet(i32, num)),
        ir_named(&g->b, "layout", parse_attr(g, trans ? "#nvvm.mma_layout<col>" : "#nvvm.mma_layout<row>")),
        ir_named(&g->b, "shape", parse_attr(g, "#nvvm.ld_st_matrix_shape<m = 8, n = 8>")),
        ir_named(&g->b, "eltType", parse_attr(g, "#nvvm.ld_st_matrix_elt_type<b16>")),
    };
    MlirValue r = mlirOperationGetResult(ir_op(&g->b, "nvvm.ldmatrix", 1, &rt, 1, &p, 4, at, 0), 0);
    for (int i = 0; i < num; i++)
        out[i] = num == 1 ? r : extract_value(g, r, i, i32);
}

// acc (in LC, the mma accumulator layout) += A @ B on tensor cores, K deep, the operands in
// shared memory. Per 16-wide step of k each warp loads the A fragments of its rows with
// ldmatrix.x4 (lane l gives row l%16 of a 16-row block at k + 8(l/16): the four matrices are
// the mma's a0..a3) and the B fragments of its columns with ldmatrix.x4.trans (lane l gives row
// k + l%8 + 8((l/8)%2) at column n + 8(l/16): b0 and b1 of two n8 tiles), then issues one
// mma.sync m16n8k16 per m16n8 tile of its part of the accumulator.
DVal *gpu_mma_dot(Gpu *g, MlirOperation at, const Layout *LC, MlirValue acc, MlirType half, int64_t K,
                  const MmaOperands *s) {
    bool bf16 = mlirTypeIsABF16(half);
    int wm = LC->wpc[0], wn = LC->wpc[1];
    int64_t pm = LC->shape[0] / wm, pn = LC->shape[1] / wn;  // a warp's part
    int mt = (int)(pm / 16), nt = (int)(pn / 8);
    if (mt > 16 || nt > 32) {
        gpu_unsupported(g, at, "dot tiles this large per warp");
        return NULL;
    }
    MlirValue wi =
        bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, LC->warp_shift[0])), cint(g, wm - 1));
    MlirValue wj =
        bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, LC->warp_shift[1])), cint(g, wn - 1));
    MlirValue hi8 = mul(g, bin(g, "arith.shrui", g->lane, cint(g, 4)), cint(g, 8));
    MlirValue arow = add(g, mul(g, wi, cint(g, pm)), bin(g, "arith.andi", g->lane, cint(g, 15)));
    MlirValue aaddr = add(g, s->a, add(g, mul(g, arow, cint(g, s->lda)), hi8));
    MlirValue brow =
        add(g, bin(g, "arith.andi", g->lane, cint(g, 7)),
            mul(g, bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, 3)), cint(g, 1)), cint(g, 8)));
    MlirValue baddr =
        add(g, s->b, add(g, mul(g, brow, cint(g, s->ldb)), add(g, mul(g, wj, cint(g, pn)), hi8)));
    MlirBlock body;
    MlirOperation loop;
    MlirValue ks = scf_for(g, cint(g, 0), cint(g, K), cint(g, 16), 1, &acc, &body, &loop);
    MlirBlock save = g->b.block;
    g->b.block = body;
    MlirValue cur = mlirBlockGetArgument(body, 1);
    int E = gpu_layout_elems(LC);
    MlirValue *cs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e++)
        cs[e] = extract(g, cur, e);
    // 32-bit fragment registers (f16: as the pairs of halves mma.sync takes).
    MlirValue afrag[16][4], bfrag[32][2];
    MlirValue ak = add(g, aaddr, ks), bk = add(g, baddr, mul(g, ks, cint(g, s->ldb)));
    for (int i = 0; i < mt; i++)
        ldmatrix(g, gep(g, g->smem0, addc(g, ak, i * 16 * s->lda), half), 4, false, afrag[i]);
    for (int j = 0; j < nt; j += 2) {
        MlirValue r[4];
        int num = j + 1 < nt ? 4 : 2;
        ldmatrix(g, gep(g, g->smem0, addc(g, bk, j * 8), half), num, true, r);
        for (int q = 0; q < num; q++)
            bfrag[j + q / 2][q % 2] = r[q];
    }
    if (!bf16) {
        MlirType pair = vec(half, 2);
        for (int i = 0; i < mt; i++)
            for (int q = 0; q < 4; q++)
                afrag[i][q] = ir_op1(&g->b, "llvm.bitcast", pair, 1, &afrag[i][q]);
        for (int j = 0; j < nt; j++)
            for (int q = 0; q < 2; q++)
                bfrag[j][q] = ir_op1(&g->b, "llvm.bitcast", pair, 1, &bfrag[j][q]);
    }
    MlirType f32 = mlirF32TypeGet(g->b.ctx);
    MlirType fs[4] = {f32, f32, f32, f32};
    MlirType st = mlirLLVMStructTypeLiteralGet(g->b.ctx, 4, fs, false);
    MlirAttribute ptx_type = parse_attr(g, bf16 ? "#nvvm.mma_type<bf16>" : "#nvvm.mma_type<f16>");
    MlirNamedAttribute mattrs[6] = {
        ir_named(&g->b, "shape", parse_attr(g, "#nvvm.shape<m = 16, n = 8, k = 16>")),
        ir_named(&g->b, "layoutA", parse_attr(g, "#nvvm.mma_layout<row>")),
        ir_named(&g->b, "layoutB", parse_attr(g, "#nvvm.mma_layout<col>")),
        ir_named(&g->b, "operandSegmentSizes", mlirDenseI32ArrayGet(g->b.ctx, 3, (int32_t[]){4, 2, 4})),
        ir_named(&g->b, "multiplicandAPtxType", ptx_type),
        ir_named(&g->b, "multiplicandBPtxType", ptx_type),
    };
    int cols = LC->reps[1] * LC->spt[1];
    for (int i = 0; i < mt; i++)
        for (int j = 0; j < nt; j++) {
            // accumulator elements: digits (2i + h, 2j + p)
            int ei[4];
            for (int q = 0; q < 4; q++)
                ei[q] = (2 * i + (q >> 1)) * cols + 2 * j + (q & 1);
            MlirValue ops[10] = {afrag[i][0], afrag[i][1], afrag[i][2], afrag[i][3], bfrag[j][0],
                                 bfrag[j][1], cs[ei[0]],   cs[ei[1]],   cs[ei[2]],   cs[ei[3]]};
            MlirValue d =
                mlirOperationGetResult(ir_op(&g->b, "nvvm.mma.sync", 1, &st, 10, ops, 6, mattrs, 0), 0);
            for (int q = 0; q < 4; q++)
                cs[ei[q]] = extract_value(g, d, q, f32);
        }
    MlirValue next = from_elements(g, f32, E, cs);
    free(cs);
    ir_op(&g->b, "scf.yield", 0, NULL, 1, &next, 0, NULL, 0);
    g->b.block = save;
    return gpu_dist_val(LC, mlirOperationGetResult(loop, 0), f32);
}

// acc += a @ b on tensor cores, the tiles in registers: both go to shared memory row-major
// (rows padded by 8 elements), then gpu_mma_dot.
static DVal *dot_mma(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c) {
    int64_t M = c->shape[0], N = c->shape[1], K = a->shape[1];
    Layout LC;
    MlirValue acc;
    DVal *da, *db;
    if (!dot_setup(g, at, a, b, c, &LC, &acc, &da, &db))
        return NULL;
    MmaOperands s = {.lda = K + 8, .ldb = N + 8};
    int64_t boff = M * s.lda;
    gpu_smem_need(g, (boff + K * s.ldb) * 2);
    gpu_smem_write(g, da, (int64_t[]){s.lda, 1}, cint(g, 0));
    gpu_smem_write(g, db, (int64_t[]){s.ldb, 1}, cint(g, boff));
    barrier(g);
    s.a = cint(g, g->smem_reserved / 2);  // where g->smem starts, in 16-bit elements
    s.b = addc(g, s.a, boff);
    DVal *r = gpu_mma_dot(g, at, &LC, acc, a->elem, K, &s);
    barrier(g);
    return r;
}

// linalg.matmul: the pipelined loop's dot reading its stage, on tensor cores, or with FMAs.
void gpu_convert_dot(Gpu *g, MlirOperation o) {
    DVal *c = gpu_get(g, mlirOperationGetOperand(o, 2));
    if (mlirOperationGetNumAttributes(o) > 2 && !mlirAttributeIsNull(gpu_attr(o, "indexing_maps")))
        gpu_unsupported(g, o, "transposed dot operands");
    bool mma = gpu_dot_uses_mma(g, o);
    bool piped = g->pipe && mlirOperationEqual(o, g->pipe->mm);
    // tensor cores take the operands before widening (gpu_dot_operand)
    DVal *a = piped ? NULL : gpu_get(g, mma ? gpu_dot_operand(o, 0) : mlirOperationGetOperand(o, 0));
    DVal *b = piped ? NULL : gpu_get(g, mma ? gpu_dot_operand(o, 1) : mlirOperationGetOperand(o, 1));
    DVal *r = g->failed ? NULL
              : piped   ? gpu_dot_mma_pipelined(g, o, c)
              : mma     ? dot_mma(g, o, a, b, c)
                        : dot_fma(g, o, a, b, c);
    if (r)
        gpu_map_put(g, mlirOperationGetResult(o, 0), r);
}
