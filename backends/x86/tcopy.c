// backends/x86/tcopy.c — the packed copy of a tile read from a tensor stored transposed (see
// x86.h: x86_transposed_copy), called by copies.c's guard of each padded load.
//
// A tile `B[k : k + S0, n : n + S1]` of a tensor `B: f32[K, N] strides [sbk, sbn]` called with
// sbk = 1 (B stored as N x K row-major, a PyTorch Linear weight or BLAS's transB) has columns,
// not rows, that are contiguous in memory. The general copy reads it element by element (a
// 1024^3 matmul with B so: 96 GFLOP/s against 172 with a contiguous B, one thread).
// Here the tile is read as the transposed view `Bt[n : n + S1, k : k + S0]` (unit-stride rows)
// in blocks of L x L elements, L the vector's lanes (16 f32 on AVX-512):
//     scf.for j = 0 .. S1 step L          // rows of Bt: columns of the tile
//       scf.for i = 0 .. S0 step L        // columns of Bt: rows of the tile
//         v_r = vector.load Bt[j + r, i]                  r = 0 .. L-1, a cache line each
//         log2(L) stages of L two-source vector.shuffles  the block transposed in registers
//         vector.store w_c, tile[i + c, j]                c = 0 .. L-1
// Stage b (b = L/2, ..., 2, 1) pairs rows r and r + b (r & b == 0) and swaps bit b of the row
// and column indices: lo[k] = k & b ? v_{r+b}[k - b] : v_r[k], hi[k] = k & b ? v_{r+b}[k] :
// v_r[k + b]. After every stage, element (r, c) stands at (c, r). 64 shuffles for a 16 x 16
// block of f32 (LLVM: vpermt2ps, vshuff64x2, vunpck*), a quarter of a shuffle per element,
// against the matmul's BM / 16 FMAs per element of the packed B tile.
#include <stdbool.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "x86.h"

// The largest block side: a 32 x 32 block of 16-bit elements (5 stages, 160 shuffles).
enum { TCOPY_MAX_LANES = 32 };

int x86_transposed_copy_lanes(MlirType buf, int vector_bits) {
    int rank = (int)mlirShapedTypeGetRank(buf);
    int64_t bits = ir_elem_bits(mlirShapedTypeGetElementType(buf));
    if (rank < 2 || rank > 16 || !mlirShapedTypeHasStaticShape(buf) ||
        (bits != 16 && bits != 32 && bits != 64) || vector_bits < 128)
        return 0;
    int lanes = (int)(vector_bits / bits);
    if (lanes < 4 || lanes > TCOPY_MAX_LANES)
        return 0;
    for (int d = 0; d < rank - 2; d++)
        if (mlirShapedTypeGetDimSize(buf, d) != 1)
            return 0;
    int64_t s0 = mlirShapedTypeGetDimSize(buf, rank - 2), s1 = mlirShapedTypeGetDimSize(buf, rank - 1);
    return s0 % lanes == 0 && s1 % lanes == 0 ? lanes : 0;
}

// `part` (rank r; the caller tested that the stride of dimension r-2 is 1) as
// memref<?x?, strided<[?, 1], offset: ?>>: its last two dimensions transposed, a view whose rows
// are unit-stride. Leading dimensions have size 1 (only the offset depends on them).
static MlirValue transposed_view(IRBuilder *b, MlirValue part) {
    MlirContext ctx = b->ctx;
    MlirType mt = mlirValueGetType(part), el = mlirShapedTypeGetElementType(mt);
    int rank = (int)mlirShapedTypeGetRank(mt);
    MlirOperation md = ir_strided_metadata(b, part);
    int64_t dyn = mlirShapedTypeGetDynamicStrideOrOffset(), dsize = mlirShapedTypeGetDynamicSize();
    int64_t sizes[2] = {dsize, dsize}, strides[2] = {dyn, 1};
    MlirValue ops[5] = {mlirOperationGetResult(md, 0), mlirOperationGetResult(md, 1),
                        mlirOperationGetResult(md, 2 + rank - 1), mlirOperationGetResult(md, 2 + rank - 2),
                        mlirOperationGetResult(md, 2 + rank + rank - 1)};
    MlirNamedAttribute attrs[4] = {
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, 1, 2, 1})),
        ir_named(b, "static_offsets", mlirDenseI64ArrayGet(ctx, 1, &dyn)),
        ir_named(b, "static_sizes", mlirDenseI64ArrayGet(ctx, 2, sizes)),
        ir_named(b, "static_strides", mlirDenseI64ArrayGet(ctx, 2, strides)),
    };
    MlirAttribute layout = mlirStridedLayoutAttrGet(ctx, dyn, 2, strides);
    MlirType vt = mlirMemRefTypeGet(el, 2, sizes, layout, mlirAttributeGetNull());
    return mlirOperationGetResult(ir_op(b, "memref.reinterpret_cast", 1, &vt, 5, ops, 4, attrs, 0), 0);
}

// An scf.for from 0 to `n` step `step` appended at b; b moves into its body and the induction
// variable is returned. The caller ends the body with scf.yield.
static MlirValue loop(IRBuilder *b, MlirValue n, int64_t step) {
    MlirType index = mlirIndexTypeGet(b->ctx);
    MlirValue ops[3] = {ir_const_int(b, index, 0), n, ir_const_int(b, index, step)};
    MlirOperation f = ir_op(b, "scf.for", 0, NULL, 3, ops, 0, NULL, 1);
    b->block = ir_region_block(b, f, 0, 1, &index);
    return mlirBlockGetArgument(b->block, 0);
}

// What a block copy reads from and writes to.
typedef struct Block {
    MlirValue src;     // the transposed view (transposed_view)
    MlirValue buf;     // the tile buffer, rank `rank`
    int rank, lanes;   // L
    MlirValue v0, v1;  // edge tiles: the valid sides of the tile (index); null inside
    MlirValue pad;     // edge tiles: a vector of L padding values, the masked loads' pass-through
} Block;

// `base + k` (index).
static MlirValue plus(IRBuilder *b, MlirValue base, int k) {
    return k ? ir_binop(b, "arith.addi", base, ir_const_int(b, mlirIndexTypeGet(b->ctx), k)) : base;
}

// One L x L block: rows of the source at [j + r, i], transposed, stored at buf[0.., i + c, j].
// On an edge tile the loads are masked (row j + r < v1, its first v0 - i lanes) and pass the
// padding value through, so that the whole block is stored, padding included.
static void block(IRBuilder *b, const Block *k, MlirValue i, MlirValue j) {
    MlirContext ctx = b->ctx;
    MlirType index = mlirIndexTypeGet(ctx), i1 = mlirIntegerTypeGet(ctx, 1);
    MlirType el = mlirShapedTypeGetElementType(mlirValueGetType(k->buf));
    int lanes = k->lanes;
    int64_t l = lanes;
    MlirType vt = mlirVectorTypeGet(1, &l, el), mt = mlirVectorTypeGet(1, &l, i1);
    MlirValue v[TCOPY_MAX_LANES], w[TCOPY_MAX_LANES];
    bool edge = !mlirValueIsNull(k->v0);
    MlirValue cols = {NULL}, none = {NULL};
    if (edge) {
        cols = ir_binop(b, "arith.subi", k->v0, i);
        none = ir_const_int(b, index, 0);
    }
    for (int r = 0; r < lanes; r++) {
        MlirValue row = plus(b, j, r);
        if (!edge) {
            v[r] = ir_op1(b, "vector.load", vt, 3, (MlirValue[]){k->src, row, i});
            continue;
        }
        MlirValue inside = ir_cmpi(b, 2 /* slt */, row, k->v1);
        MlirValue n = ir_op1(b, "arith.select", index, 3, (MlirValue[]){inside, cols, none});
        MlirValue mask = ir_op1(b, "vector.create_mask", mt, 1, &n);
        v[r] = ir_op1(b, "vector.maskedload", vt, 5, (MlirValue[]){k->src, row, i, mask, k->pad});
    }
    for (int bit = lanes / 2; bit >= 1; bit /= 2) {
        int64_t lo[TCOPY_MAX_LANES], hi[TCOPY_MAX_LANES];
        for (int c = 0; c < lanes; c++) {
            lo[c] = c & bit ? lanes + c - bit : c;
            hi[c] = c & bit ? lanes + c : c + bit;
        }
        MlirNamedAttribute mlo = ir_named(b, "mask", mlirDenseI64ArrayGet(ctx, lanes, lo));
        MlirNamedAttribute mhi = ir_named(b, "mask", mlirDenseI64ArrayGet(ctx, lanes, hi));
        for (int r = 0; r < lanes; r++) {
            if (r & bit)
                continue;
            MlirValue pair[2] = {v[r], v[r + bit]};
            w[r] = mlirOperationGetResult(ir_op(b, "vector.shuffle", 1, &vt, 2, pair, 1, &mlo, 0), 0);
            w[r + bit] = mlirOperationGetResult(ir_op(b, "vector.shuffle", 1, &vt, 2, pair, 1, &mhi, 0), 0);
        }
        for (int r = 0; r < lanes; r++)
            v[r] = w[r];
    }
    MlirValue zero = ir_const_int(b, index, 0);
    for (int c = 0; c < lanes; c++) {
        MlirValue idx[16];
        for (int d = 0; d < k->rank - 2; d++)
            idx[d] = zero;
        idx[k->rank - 2] = plus(b, i, c);
        idx[k->rank - 1] = j;
        ir_vector_store(b, v[c], k->buf, k->rank, idx);
    }
}

void x86_transposed_copy(IRBuilder *b, MlirValue part, MlirValue buf, int lanes, MlirValue pad) {
    MlirType bt = mlirValueGetType(buf), index = mlirIndexTypeGet(b->ctx);
    int rank = (int)mlirShapedTypeGetRank(bt);
    Block k = {.src = transposed_view(b, part), .buf = buf, .rank = rank, .lanes = lanes};
    MlirValue n0 = ir_const_int(b, index, mlirShapedTypeGetDimSize(bt, rank - 2)),
              n1 = ir_const_int(b, index, mlirShapedTypeGetDimSize(bt, rank - 1));
    if (!mlirValueIsNull(pad)) {
        int64_t l = lanes;
        k.v0 = n0 = ir_op1(b, "memref.dim", index, 2, (MlirValue[]){part, ir_const_int(b, index, rank - 2)});
        k.v1 = n1 = ir_op1(b, "memref.dim", index, 2, (MlirValue[]){part, ir_const_int(b, index, rank - 1)});
        k.pad = ir_op1(b, "vector.broadcast", mlirVectorTypeGet(1, &l, mlirValueGetType(pad)), 1, &pad);
    }
    MlirBlock outer = b->block;
    MlirValue j = loop(b, n1, lanes);
    MlirBlock jbody = b->block;
    MlirValue i = loop(b, n0, lanes);
    block(b, &k, i, j);
    ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b->block = jbody;
    ir_op(b, "scf.yield", 0, NULL, 0, NULL, 0, NULL, 0);
    b->block = outer;
}
