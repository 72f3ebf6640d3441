// backends/x86/rowsums.c — reductions over a row tile as loops over vector pieces (see x86.h:
// x86_row_reductions).
//
// After the schedule, a row's sum (`sum(x * x)` over a tile of BC columns) is still a
// linalg.generic reduction to a 0-d tensor, left to LLVM's loop vectorizer, and a maximum is
// one vector.reduction of a transfer_read as wide as the row (vector<1024xf32>):
//     %s = linalg.generic {reduction} ins(%x : tensor<1024xf32>) outs(%init : tensor<f32>)
//            { %p = arith.mulf %in, %in ; %r = arith.addf %p, %out ; linalg.yield %r }
//     %m = vector.reduction <maximumf>, (vector.transfer_read %x[0] : vector<1024xf32>), %acc
// Both become a loop over pieces of P lanes (P = 4 vectors of the schedule's width, as the
// elementwise loops) with a vector accumulator, reduced across its lanes once at the end:
//     %a = scf.for %k = 0 to 1024 step P iter_args(%v = neutral) {
//         %p = vector.transfer_read (tensor.extract_slice %x[%k] [P] [1])[0]
//         ... the payload on vectors ... ; scf.yield (%v combine %p')
//     }
//     %s = init combine (vector.reduction <kind>, %a)
// so that the row is read piece by piece, like the elementwise loops: a padded row tile read only
// that way is read in place, its last piece masked (rowreads.c), instead of being filled and
// copied into a buffer first (4096 x 1000 rmsnorm, with the masked stores of stores.c: 0.76x ->
// 1.1x a plain C loop; bench/results/membound-2026-12-07b.txt).
//
// A tile of several rows ([BR, 1, BC] reduced to [BR, 1]: `sum(x * x, axis = 1)` over a block
// of rows) becomes loops over its rows around the same loop over pieces, each row's result
// inserted into the output tensor:
//     %o = scf.for %i = 0 to BR iter_args(%t = %init) {
//         %a = (the loop over pieces of row %i: slices [1, 1, P] at [%i, 0, %k])
//         scf.yield (tensor.insert (%init[%i, 0] combine (vector.reduction <kind>, %a)) into %t[%i, 0])
//     }
// so that a block of rows is read a row piece at a time too (rowreads.c reads a row block in
// place as it reads one row), and a maximum over rows, which LLVM leaves scalar
// (compare-and-blend per element: softmax over [8, 128] blocks at 3 GB/s), is vectorized.
//
// When: a static f32 tile whose rows' length is a multiple of P and above P, reduced over its
// last dimension (the generic's input map the identity, its output's the leading dimensions);
// the generic's payload is arith/math ops on its input element, its indices (linalg.index: a
// layer norm's `where(arange(0, BC) < C, d * d, 0.0)`) and values defined outside it, combined
// with the output element by arith.addf, arith.maximumf or arith.minimumf (maxnumf, minnumf).
// A vector.reduction is taken only of a 1-D row.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/AffineMap.h"
#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lowering/build.h"
#include "x86.h"

// A payload of at most MAX_BODY ops of at most MAX_OPERANDS operands and attributes each; the
// values the loop maps (outside values, the payload's results, its input element) fit MAX_MAP.
enum { MAX_BODY = 64, MAX_OPERANDS = 8, MAX_MAP = MAX_BODY * (MAX_OPERANDS + 1) + 1 };

typedef struct Combine {
    const char *op;    // the arith op combining two pieces
    const char *kind;  // its vector.reduction kind
    double neutral;    // the accumulator's first value
    // A NaN-propagating maximum or minimum, its NaNs tracked apart (see piece_loop): the
    // arith.cmpf predicate under which a piece replaces the accumulator (ogt, olt), and the
    // kind that reduces the lanes without NaN checks. Else 0 and NULL.
    int64_t pick;
    const char *nan_free_kind;
} Combine;

static const Combine combines[] = {
    {"arith.addf", "add", 0.0, 0, NULL},
    {"arith.maximumf", "maximumf", -__builtin_inf(), 2 /* ogt */, "maxnumf"},
    {"arith.maxnumf", "maxnumf", -__builtin_inf(), 0, NULL},
    {"arith.minimumf", "minimumf", __builtin_inf(), 4 /* olt */, "minnumf"},
    {"arith.minnumf", "minnumf", __builtin_inf(), 0, NULL},
};

static const Combine *combine_of_op(MlirOperation op) {
    for (size_t i = 0; i < sizeof combines / sizeof *combines; i++)
        if (ir_op_is(op, combines[i].op))
            return &combines[i];
    return NULL;
}

static const Combine *combine_of_kind(MlirOperation red) {
    MlirAttribute k = mlirOperationGetAttributeByName(red, ir_str("kind"));
    if (mlirAttributeIsNull(k))
        return NULL;
    char text[64] = "";
    IRText t = {text, sizeof text, 0};
    mlirAttributePrint(k, ir_print_to_text, &t);
    for (size_t i = 0; i < sizeof combines / sizeof *combines; i++) {
        char want[48];
        snprintf(want, sizeof want, "<%s>", combines[i].kind);
        if (strstr(text, want))
            return &combines[i];
    }
    return NULL;
}

typedef struct Reduction {
    MlirOperation op;    // the linalg.generic, or the vector.reduction
    MlirOperation read;  // the vector.reduction's whole-row transfer_read (else null)
    MlirValue row;       // the tensor<N x f32> reduced
    const Combine *comb;
} Reduction;

typedef struct Reductions {
    Reduction *items;
    int len, cap;
    int lanes;  // P
} Reductions;

static int piece_lanes(int vector_bits) { return 4 * vector_bits / 32; }

static void push(Reductions *rs, Reduction r) {
    if (rs->len == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 8;
        rs->items = realloc(rs->items, sizeof *rs->items * (size_t)rs->cap);
    }
    rs->items[rs->len++] = r;
}

enum { MAX_RANK = 8 };

// A static f32 tile of rank 1 to MAX_RANK whose rows (last dimension) are reduced in pieces.
static bool row_fits(MlirType t, int lanes) {
    if (!mlirTypeIsARankedTensor(t) || mlirShapedTypeGetRank(t) < 1 || mlirShapedTypeGetRank(t) > MAX_RANK ||
        !mlirShapedTypeHasStaticShape(t) || !mlirTypeIsAF32(mlirShapedTypeGetElementType(t)))
        return false;
    int64_t n = mlirShapedTypeGetDimSize(t, mlirShapedTypeGetRank(t) - 1);
    return n > lanes && n % lanes == 0;
}

bool x86_row_reduction_fits(MlirType tile, int vector_bits) {
    return vector_bits > 0 && row_fits(tile, piece_lanes(vector_bits));
}

// Whether the generic reduces its input's last dimension into an output indexed by the others.
static bool reduces_rows(MlirOperation op, MlirType in, MlirType out) {
    intptr_t n = mlirShapedTypeGetRank(in);
    if (mlirShapedTypeGetRank(out) != n - 1)
        return false;
    for (intptr_t d = 0; d + 1 < n; d++)
        if (mlirShapedTypeGetDimSize(out, d) != mlirShapedTypeGetDimSize(in, d))
            return false;
    if (n == 1)
        return true;
    MlirAttribute maps = mlirOperationGetAttributeByName(op, ir_str("indexing_maps"));
    if (mlirAttributeIsNull(maps) || mlirArrayAttrGetNumElements(maps) != 2)
        return false;
    MlirAffineMap min = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, 0));
    MlirAffineMap mout = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, 1));
    MlirAffineMap id = mlirAffineMapMultiDimIdentityGet(mlirOperationGetContext(op), n);
    return mlirAffineMapEqual(min, id) && mlirAffineMapEqual(mout, mlirAffineMapGetMajorSubMap(id, n - 1));
}

static bool scalar(MlirType t) { return mlirTypeIsAFloat(t) || mlirTypeIsAInteger(t) || mlirTypeIsAIndex(t); }

// Whether `v` is defined outside `region_op` (so that it dominates the loop that replaces it).
static bool outside(MlirValue v, MlirOperation region_op) {
    MlirOperation def = mlirValueIsABlockArgument(v)
                            ? mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(v))
                            : mlirOpResultGetOwner(v);
    for (MlirOperation o = def; !mlirOperationIsNull(o); o = mlirOperationGetParentOperation(o))
        if (mlirOperationEqual(o, region_op))
            return false;
    return true;
}

// A linalg.generic reducing a row to a 0-d tensor with an elementwise payload.
static bool generic_fits(MlirOperation op, int lanes, Reduction *r) {
    if (!ir_op_is(op, "linalg.generic") || mlirOperationGetNumOperands(op) != 2 ||
        mlirOperationGetNumResults(op) != 1)
        return false;
    MlirType in = mlirValueGetType(mlirOperationGetOperand(op, 0));
    MlirType out = mlirValueGetType(mlirOperationGetOperand(op, 1));
    if (!row_fits(in, lanes) || !mlirTypeIsARankedTensor(out) || !mlirShapedTypeHasStaticShape(out) ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(out)) || !reduces_rows(op, in, out))
        return false;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
    if (mlirBlockGetNumArguments(body) != 2)
        return false;
    MlirValue in_el = mlirBlockGetArgument(body, 0), out_el = mlirBlockGetArgument(body, 1);
    MlirOperation yield = mlirBlockGetTerminator(body);
    if (mlirOperationIsNull(yield) || mlirOperationGetNumOperands(yield) != 1)
        return false;
    MlirValue y = mlirOperationGetOperand(yield, 0);
    if (!mlirValueIsAOpResult(y))
        return false;
    MlirOperation comb = mlirOpResultGetOwner(y);
    const Combine *c = combine_of_op(comb);
    if (!c || !mlirBlockEqual(mlirOperationGetBlock(comb), body))
        return false;
    // The combiner: out_el with a value the payload computed from in_el; out_el used nowhere else.
    if (!mlirValueEqual(mlirOperationGetOperand(comb, 0), out_el) &&
        !mlirValueEqual(mlirOperationGetOperand(comb, 1), out_el))
        return false;
    MlirOpOperand u = mlirValueGetFirstUse(out_el);
    if (mlirOpOperandIsNull(u) || !mlirOpOperandIsNull(mlirOpOperandGetNextUse(u)) ||
        mlirOperationGetNumAttributes(comb) > MAX_OPERANDS)
        return false;
    int n = 0;
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationEqual(o, comb);
         o = mlirOperationGetNextInBlock(o)) {
        const char *name = mlirIdentifierStr(mlirOperationGetName(o)).data;
        // Not taken: a constant (an op of no operands but linalg.index), which has no vector form.
        if (++n > MAX_BODY || mlirOperationGetNumRegions(o) || mlirOperationGetNumResults(o) != 1 ||
            mlirOperationGetNumOperands(o) > MAX_OPERANDS ||
            mlirOperationGetNumAttributes(o) > MAX_OPERANDS ||
            (strncmp(name, "arith.", 6) && strncmp(name, "math.", 5) && strcmp(name, "linalg.index")) ||
            (mlirOperationGetNumOperands(o) == 0 && strcmp(name, "linalg.index")) ||
            !scalar(mlirValueGetType(mlirOperationGetResult(o, 0))))
            return false;
        for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++) {
            MlirValue v = mlirOperationGetOperand(o, i);
            if (mlirValueEqual(v, out_el) || (!mlirValueEqual(v, in_el) && mlirValueIsABlockArgument(v) &&
                                              mlirBlockEqual(mlirBlockArgumentGetOwner(v), body)))
                return false;
        }
    }
    *r = (Reduction){.op = op, .row = mlirOperationGetOperand(op, 0), .comb = c};
    return true;
}

// A vector.reduction of a whole-row read: transfer_read %row[0] {in_bounds} as wide as the row.
static bool vector_fits(MlirOperation op, int lanes, Reduction *r) {
    if (!ir_op_is(op, "vector.reduction"))
        return false;
    const Combine *c = combine_of_kind(op);
    MlirValue v = mlirOperationGetOperand(op, 0);
    if (!c || !mlirValueIsAOpResult(v))
        return false;
    MlirOperation read = mlirOpResultGetOwner(v);
    if (!ir_op_is(read, "vector.transfer_read") || mlirOperationGetNumOperands(read) != 3 ||
        !ir_is_const_int(mlirOperationGetOperand(read, 1), 0))
        return false;
    MlirValue row = mlirOperationGetOperand(read, 0);
    MlirType vt = mlirValueGetType(v);
    if (!row_fits(mlirValueGetType(row), lanes) || mlirShapedTypeGetRank(mlirValueGetType(row)) != 1 ||
        mlirShapedTypeGetRank(vt) != 1 ||
        mlirShapedTypeGetDimSize(vt, 0) != mlirShapedTypeGetDimSize(mlirValueGetType(row), 0))
        return false;
    MlirAttribute inb = mlirOperationGetAttributeByName(read, ir_str("in_bounds"));
    if (mlirAttributeIsNull(inb) || !mlirBoolAttrGetValue(mlirArrayAttrGetElement(inb, 0)))
        return false;
    MlirOpOperand u = mlirValueGetFirstUse(v);
    if (!mlirOpOperandIsNull(mlirOpOperandGetNextUse(u)))
        return false;
    *r = (Reduction){.op = op, .read = read, .row = row, .comb = c};
    return true;
}

static MlirWalkResult find(MlirOperation op, void *user) {
    Reductions *rs = user;
    Reduction r;
    if (generic_fits(op, rs->lanes, &r) || vector_fits(op, rs->lanes, &r))
        push(rs, r);
    return MlirWalkResultAdvance;
}

// The values of the payload and their vector counterparts in the loop.
typedef struct Map {
    MlirValue from[MAX_MAP], to[MAX_MAP];
    int n;
} Map;

static void map_add(Map *m, MlirValue from, MlirValue to) {
    m->from[m->n] = from;
    m->to[m->n++] = to;
}

// The counterpart of `v`, or null.
static MlirValue mapped(const Map *m, MlirValue v) {
    for (int i = 0; i < m->n; i++)
        if (mlirValueEqual(m->from[i], v))
            return m->to[i];
    return (MlirValue){NULL};
}

static MlirValue splat(IRBuilder *b, MlirType vt, MlirValue s) {
    return ir_op1(b, "vector.broadcast", vt, 1, &s);
}

static MlirNamedAttribute fastmath(IRBuilder *b, const char *flags) {
    char text[64];
    snprintf(text, sizeof text, "#arith.fastmath<%s>", flags);
    return ir_named(b, "fastmath", mlirAttributeParseGet(b->ctx, ir_str(text)));
}

// The loop over the pieces of the row at `rows` (an index per leading dimension of the tile):
// returns the vector accumulator after the last piece.
//
// A NaN-propagating maximum or minimum (arith.maximumf: NaN if any element is NaN) is combined
// without NaN checks (one vmaxps, see below), and whether a piece held a NaN is carried apart,
// as a mask or-ed with each piece's `x != x` (off the accumulators' chain); *nan is then whether
// the row held one (else null). A checked maximum is a compare, a blend and a max per vector on
// the chain: reduce.tile's max_rows ran at 0.7x the C loop from memory, 0.3x from the caches.
// Of zeros of both signs, either may be the result (x86's max keeps one operand when they
// compare equal).
static MlirValue piece_loop(IRBuilder *b, const Reduction *r, int lanes, const MlirValue *rows,
                            MlirValue *nan) {
    MlirContext ctx = b->ctx;
    MlirType f32 = mlirF32TypeGet(ctx), index = mlirIndexTypeGet(ctx);
    MlirType row_t = mlirValueGetType(r->row);
    int rank = (int)mlirShapedTypeGetRank(row_t);
    int64_t n = mlirShapedTypeGetDimSize(row_t, rank - 1), p = lanes;
    MlirType vt = mlirVectorTypeGet(1, &p, f32);
    // The piece: [1, ..., 1, P] at [rows..., k], read as a vector of that shape.
    int64_t pshape[MAX_RANK], soffs[MAX_RANK], ones[MAX_RANK];
    for (int d = 0; d < rank; d++) {
        pshape[d] = d == rank - 1 ? p : 1;
        ones[d] = 1;
        soffs[d] = d == rank - 1 || mlirShapedTypeGetDimSize(row_t, d) > 1
                       ? mlirShapedTypeGetDynamicStrideOrOffset()
                       : 0;
    }
    MlirType piece_t = mlirRankedTensorTypeGet(rank, pshape, f32, mlirAttributeGetNull());
    MlirType pvt = mlirVectorTypeGet(rank, pshape, f32);
    MlirValue zero_i = ir_const_int(b, index, 0);
    MlirValue neutral = splat(b, vt, ir_const_float(b, f32, r->comb->neutral));
    MlirValue pad = ir_const_float(b, f32, 0.0);

    // The payload's values from outside the generic, broadcast before the loop.
    MlirBlock body = mlirOperationIsNull(r->read) ? mlirRegionGetFirstBlock(mlirOperationGetRegion(r->op, 0))
                                                  : (MlirBlock){NULL};
    Map map = {.n = 0};
    MlirOperation comb = {NULL};
    if (!mlirBlockIsNull(body)) {
        comb = mlirOpResultGetOwner(mlirOperationGetOperand(mlirBlockGetTerminator(body), 0));
        for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationEqual(o, comb);
             o = mlirOperationGetNextInBlock(o))
            for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++) {
                MlirValue v = mlirOperationGetOperand(o, i);
                int64_t pp = p;
                if (outside(v, r->op) && mlirValueIsNull(mapped(&map, v)))
                    map_add(&map, v, splat(b, mlirVectorTypeGet(1, &pp, mlirValueGetType(v)), v));
            }
    }

    bool apart = r->comb->nan_free_kind != NULL;
    MlirType i1 = mlirIntegerTypeGet(ctx, 1), mt = mlirVectorTypeGet(1, &p, i1);
    MlirValue bounds[5] = {zero_i, ir_const_int(b, index, n), ir_const_int(b, index, p), neutral};
    if (apart)
        bounds[4] = splat(b, mt, ir_const_int(b, i1, 0));
    MlirNamedAttribute mark = ir_named(b, X86_ROW_PIECES, mlirUnitAttrGet(ctx));
    MlirType carried[2] = {vt, mt};
    MlirOperation loop = ir_op(b, "scf.for", apart ? 2 : 1, carried, apart ? 5 : 4, bounds, 1, &mark, 1);
    MlirBlock outer = b->block;
    b->block = ir_region_block(b, loop, 0, apart ? 3 : 2, (MlirType[]){index, vt, mt});
    MlirValue k = mlirBlockGetArgument(b->block, 0), acc = mlirBlockGetArgument(b->block, 1);
    MlirValue sops[1 + MAX_RANK] = {r->row};
    int nsops = 1;
    for (int d = 0; d < rank; d++)
        if (mlirShapedTypeIsDynamicStrideOrOffset(soffs[d]))
            sops[nsops++] = d == rank - 1 ? k : rows[d];
    MlirNamedAttribute sattrs[4] = {
        ir_named(b, "static_offsets", mlirDenseI64ArrayGet(ctx, rank, soffs)),
        ir_named(b, "static_sizes", mlirDenseI64ArrayGet(ctx, rank, pshape)),
        ir_named(b, "static_strides", mlirDenseI64ArrayGet(ctx, rank, ones)),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, nsops - 1, 0, 0})),
    };
    MlirValue slice =
        mlirOperationGetResult(ir_op(b, "tensor.extract_slice", 1, &piece_t, nsops, sops, 4, sattrs, 0), 0);
    MlirAttribute inb[MAX_RANK];
    MlirValue rops[2 + MAX_RANK] = {slice};
    for (int d = 0; d < rank; d++) {
        inb[d] = mlirBoolAttrGet(ctx, 1);
        rops[1 + d] = zero_i;
    }
    rops[1 + rank] = pad;
    MlirNamedAttribute rattrs[3] = {
        ir_named(b, "in_bounds", mlirArrayAttrGet(ctx, rank, inb)),
        ir_named(b, "permutation_map", mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(ctx, rank))),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, rank, 1, 0})),
    };
    MlirValue x =
        mlirOperationGetResult(ir_op(b, "vector.transfer_read", 1, &pvt, 2 + rank, rops, 3, rattrs, 0), 0);
    if (rank > 1)
        x = ir_op1(b, "vector.shape_cast", vt, 1, &x);
    MlirValue value = x;
    MlirNamedAttribute comb_attrs[MAX_OPERANDS];
    int ncomb = 0;
    if (!mlirBlockIsNull(body)) {
        map_add(&map, mlirBlockGetArgument(body, 0), x);
        for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationEqual(o, comb);
             o = mlirOperationGetNextInBlock(o)) {
            if (ir_op_is(o, "linalg.index")) {
                // The column: k + (0, 1, ..., P - 1), as the schedule writes it (iotamask.c
                // turns `column < C` into a vector.create_mask); a row index: the row's.
                int64_t pp = p;
                MlirType iv = mlirVectorTypeGet(1, &pp, index);
                int64_t dim = mlirIntegerAttrGetValueInt(mlirOperationGetAttributeByName(o, ir_str("dim")));
                MlirValue v;
                if (dim == rank - 1)
                    v = ir_binop(b, "arith.addi", splat(b, iv, k), ir_op1(b, "vector.step", iv, 0, NULL));
                else
                    v = splat(b, iv, mlirShapedTypeGetDimSize(row_t, dim) > 1 ? rows[dim] : zero_i);
                map_add(&map, mlirOperationGetResult(o, 0), v);
                continue;
            }
            // Every operand is mapped: outside values, the input element, earlier results.
            MlirValue ops[MAX_OPERANDS];
            intptr_t nops = mlirOperationGetNumOperands(o);
            for (intptr_t i = 0; i < nops; i++)
                ops[i] = mapped(&map, mlirOperationGetOperand(o, i));
            MlirNamedAttribute attrs[MAX_OPERANDS];
            intptr_t nattrs = mlirOperationGetNumAttributes(o);
            for (intptr_t i = 0; i < nattrs; i++)
                attrs[i] = mlirOperationGetAttribute(o, i);
            MlirValue res = mlirOperationGetResult(o, 0);
            int64_t pp = p;
            MlirType rt = mlirVectorTypeGet(1, &pp, mlirValueGetType(res));
            MlirValue nv = mlirOperationGetResult(ir_op(b, mlirIdentifierStr(mlirOperationGetName(o)).data, 1,
                                                        &rt, (int)nops, ops, (int)nattrs, attrs, 0),
                                                  0);
            map_add(&map, res, nv);
        }
        MlirValue c0 = mlirOperationGetOperand(comb, 0), c1 = mlirOperationGetOperand(comb, 1);
        value = mapped(&map, mlirValueEqual(c0, mlirBlockGetArgument(body, 1)) ? c1 : c0);
        intptr_t na = mlirOperationGetNumAttributes(comb);
        for (intptr_t i = 0; i < na; i++)
            comb_attrs[ncomb++] = mlirOperationGetAttribute(comb, i);
    }
    MlirValue next[2];
    if (apart) {
        // value > acc ? value : acc (value < acc for a minimum): x86's maxps / minps, whose
        // result is acc where value is NaN (arith.maximumf, even with fastmath<nnan>, is
        // expanded into NaN checks and blends by arith-expand); the NaN mask or-ed beside.
        MlirType i64 = mlirIntegerTypeGet(ctx, 64);
        MlirNamedAttribute pick = ir_named(b, "predicate", mlirIntegerAttrGet(i64, r->comb->pick));
        MlirValue take = mlirOperationGetResult(
            ir_op(b, "arith.cmpf", 1, &mt, 2, (MlirValue[]){value, acc}, 1, &pick, 0), 0);
        next[0] = ir_op1(b, "arith.select", vt, 3, (MlirValue[]){take, value, acc});
        MlirNamedAttribute uno = ir_named(b, "predicate", mlirIntegerAttrGet(i64, 14));
        MlirValue isnan = mlirOperationGetResult(
            ir_op(b, "arith.cmpf", 1, &mt, 2, (MlirValue[]){value, value}, 1, &uno, 0), 0);
        next[1] = ir_binop(b, "arith.ori", mlirBlockGetArgument(b->block, 2), isnan);
    } else {
        next[0] = mlirOperationGetResult(
            ir_op(b, r->comb->op, 1, &vt, 2, (MlirValue[]){acc, value}, ncomb, comb_attrs, 0), 0);
    }
    ir_op(b, "scf.yield", 0, NULL, apart ? 2 : 1, next, 0, NULL, 0);
    b->block = outer;
    *nan = (MlirValue){NULL};
    if (apart) {
        MlirNamedAttribute kind = ir_named(b, "kind", mlirAttributeParseGet(ctx, ir_str("#vector.kind<or>")));
        MlirValue m = mlirOperationGetResult(loop, 1);
        *nan = mlirOperationGetResult(ir_op(b, "vector.reduction", 1, &i1, 1, &m, 1, &kind, 0), 0);
    }
    return mlirOperationGetResult(loop, 0);
}

// NaN where the row held one (`nan`, from piece_loop), else `v`.
static MlirValue nan_if(IRBuilder *b, MlirValue nan, MlirValue v) {
    if (mlirValueIsNull(nan))
        return v;
    MlirValue q = ir_const_float(b, mlirValueGetType(v), __builtin_nan(""));
    return ir_op1(b, "arith.select", mlirValueGetType(v), 3, (MlirValue[]){nan, q, v});
}

static MlirNamedAttribute reassoc(IRBuilder *b) { return fastmath(b, "reassoc"); }

// The lanes of the accumulator `acc` reduced (kattrs: the kind and reassoc). For a maximum or
// minimum whose NaNs are tracked apart, without NaN checks: maxnumf / minnumf with
// fastmath<nnan> (a tree of maxps); the NaN-propagating reduction is expanded into a compare and
// a blend per step, which at 1000 columns took 40 % of max_rows' time.
static MlirValue lanes_reduced(IRBuilder *b, const Reduction *r, MlirValue acc,
                               MlirNamedAttribute kattrs[2]) {
    MlirType f32 = mlirF32TypeGet(b->ctx);
    MlirNamedAttribute attrs[2] = {kattrs[0], kattrs[1]};
    if (r->comb->nan_free_kind) {
        char kind[64];
        snprintf(kind, sizeof kind, "#vector.kind<%s>", r->comb->nan_free_kind);
        attrs[0] = ir_named(b, "kind", mlirAttributeParseGet(b->ctx, ir_str(kind)));
        attrs[1] = fastmath(b, "nnan,nsz,reassoc");
    }
    return mlirOperationGetResult(ir_op(b, "vector.reduction", 1, &f32, 1, &acc, 2, attrs, 0), 0);
}

// The generic's output element at `rows` (n indices) combined with the lanes of the row's
// vector accumulator `acc`, reduced (NaN where `nan` says the row held one).
static MlirValue row_result(IRBuilder *b, const Reduction *r, MlirValue acc, MlirValue nan,
                            MlirNamedAttribute kattrs[2], const MlirValue *rows, int n) {
    MlirType f32 = mlirF32TypeGet(b->ctx);
    MlirValue lanes_v = lanes_reduced(b, r, acc, kattrs);
    MlirValue at[1 + MAX_RANK] = {mlirOperationGetOperand(r->op, 1)};
    for (int d = 0; d < n; d++)
        at[1 + d] = rows[d];
    MlirValue init = ir_op1(b, "tensor.extract", f32, 1 + n, at);
    MlirNamedAttribute fm = reassoc(b);
    return nan_if(b, nan,
                  mlirOperationGetResult(
                      ir_op(b, r->comb->op, 1, &f32, 2, (MlirValue[]){init, lanes_v}, 1, &fm, 0), 0));
}

// A tile of several rows: loops over its leading dimensions (those of extent above 1), the
// output tensor carried through them, each row's result inserted at its place.
static MlirValue rows_loops(IRBuilder *b, const Reduction *r, int lanes, MlirNamedAttribute kattrs[2]) {
    MlirType index = mlirIndexTypeGet(b->ctx);
    MlirType row_t = mlirValueGetType(r->row);
    int rank = (int)mlirShapedTypeGetRank(row_t);
    MlirValue init = mlirOperationGetOperand(r->op, 1);
    MlirType out_t = mlirValueGetType(init);
    MlirValue zero = ir_const_int(b, index, 0), one = ir_const_int(b, index, 1);
    MlirValue rows[MAX_RANK] = {{NULL}}, carried = init;
    MlirOperation loops[MAX_RANK];
    MlirBlock outer = b->block;
    int nloops = 0;
    for (int d = 0; d + 1 < rank; d++) {
        int64_t extent = mlirShapedTypeGetDimSize(row_t, d);
        if (extent == 1) {
            rows[d] = zero;
            continue;
        }
        MlirValue bounds[4] = {zero, ir_const_int(b, index, extent), one, carried};
        MlirOperation loop = ir_op(b, "scf.for", 1, &out_t, 4, bounds, 0, NULL, 1);
        if (nloops == 0)
            outer = b->block;
        loops[nloops++] = loop;
        b->block = ir_region_block(b, loop, 0, 2, (MlirType[]){index, out_t});
        rows[d] = mlirBlockGetArgument(b->block, 0);
        carried = mlirBlockGetArgument(b->block, 1);
    }
    MlirValue nan, acc = piece_loop(b, r, lanes, rows, &nan);
    MlirValue v = row_result(b, r, acc, nan, kattrs, rows, rank - 1);
    MlirValue ins[2 + MAX_RANK] = {v, carried};
    for (int d = 0; d + 1 < rank; d++)
        ins[2 + d] = rows[d];
    MlirValue next = ir_op1(b, "tensor.insert", out_t, 1 + rank, ins);
    for (int i = nloops - 1; i >= 0; i--) {
        ir_op(b, "scf.yield", 0, NULL, 1, &next, 0, NULL, 0);
        next = mlirOperationGetResult(loops[i], 0);
        b->block = i > 0 ? mlirOperationGetBlock(loops[i]) : outer;
    }
    return next;
}

static void rewrite(MlirContext ctx, const Reduction *r, int lanes) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(r->op)};
    MlirType f32 = mlirF32TypeGet(ctx);
    char kind[64];
    snprintf(kind, sizeof kind, "#vector.kind<%s>", r->comb->kind);
    MlirNamedAttribute kattrs[2] = {ir_named(&b, "kind", mlirAttributeParseGet(ctx, ir_str(kind))),
                                    reassoc(&b)};
    MlirValue result;
    if (mlirShapedTypeGetRank(mlirValueGetType(r->row)) > 1) {
        result = rows_loops(&b, r, lanes, kattrs);
    } else if (mlirOperationIsNull(r->read)) {
        // init combine (the lanes reduced), as a 0-d tensor again.
        MlirValue nan, acc = piece_loop(&b, r, lanes, NULL, &nan);
        MlirValue s = row_result(&b, r, acc, nan, kattrs, NULL, 0);
        result =
            ir_op1(&b, "tensor.from_elements", mlirValueGetType(mlirOperationGetResult(r->op, 0)), 1, &s);
    } else {
        // The same vector.reduction, of the accumulator (and its own accumulator operand, if any).
        MlirValue nan, acc = piece_loop(&b, r, lanes, NULL, &nan);
        int nops = mlirOperationGetNumOperands(r->op) > 1 ? 2 : 1;
        MlirValue ops[2] = {acc, nops == 2 ? mlirOperationGetOperand(r->op, 1) : (MlirValue){NULL}};
        if (!r->comb->nan_free_kind) {
            result =
                mlirOperationGetResult(ir_op(&b, "vector.reduction", 1, &f32, nops, ops, 2, kattrs, 0), 0);
        } else {
            // The lanes without NaN checks, then the reduction's own accumulator (which may be
            // NaN) combined as before.
            result = lanes_reduced(&b, r, acc, kattrs);
            if (nops == 2)
                result = mlirOperationGetResult(
                    ir_op(&b, r->comb->op, 1, &f32, 2, (MlirValue[]){ops[1], result}, 1, &kattrs[1], 0), 0);
            result = nan_if(&b, nan, result);
        }
    }
    MlirOperation o;
    while (!mlirOperationIsNull(o = mlirBlockGetFirstOperation(scratch)))
        mlirOperationMoveBefore(o, r->op);
    mlirBlockDestroy(scratch);
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(r->op, 0), result);
    mlirOperationDestroy(r->op);
    if (!mlirOperationIsNull(r->read))
        mlirOperationDestroy(r->read);
}

void x86_row_reductions(MlirContext ctx, MlirModule module, int vector_bits) {
    Reductions rs = {.lanes = piece_lanes(vector_bits)};
    mlirOperationWalk(mlirModuleGetOperation(module), find, &rs, MlirWalkPostOrder);
    for (int i = 0; i < rs.len; i++)
        rewrite(ctx, &rs.items[i], rs.lanes);
    free(rs.items);
}
