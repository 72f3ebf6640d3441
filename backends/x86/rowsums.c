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
// When: a 1-D static f32 row whose length is a multiple of P and above P; the generic's payload
// is arith/math ops on its input element, its column (linalg.index: a layer norm's
// `where(arange(0, BC) < C, d * d, 0.0)`) and values defined outside it, combined with the
// output element by arith.addf, arith.maximumf or arith.minimumf (maxnumf, minnumf).
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
} Combine;

static const Combine combines[] = {
    {"arith.addf", "add", 0.0},
    {"arith.maximumf", "maximumf", -__builtin_inf()},
    {"arith.maxnumf", "maxnumf", -__builtin_inf()},
    {"arith.minimumf", "minimumf", __builtin_inf()},
    {"arith.minnumf", "minnumf", __builtin_inf()},
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

static void push(Reductions *rs, Reduction r) {
    if (rs->len == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 8;
        rs->items = realloc(rs->items, sizeof *rs->items * (size_t)rs->cap);
    }
    rs->items[rs->len++] = r;
}

static bool row_fits(MlirType t, int lanes) {
    if (!mlirTypeIsARankedTensor(t) || mlirShapedTypeGetRank(t) != 1 || !mlirShapedTypeHasStaticShape(t) ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(t)))
        return false;
    int64_t n = mlirShapedTypeGetDimSize(t, 0);
    return n > lanes && n % lanes == 0;
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
    if (!row_fits(in, lanes) || !mlirTypeIsARankedTensor(out) || mlirShapedTypeGetRank(out) != 0 ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(out)))
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
    if (!row_fits(mlirValueGetType(row), lanes) || mlirShapedTypeGetRank(vt) != 1 ||
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

// The loop over pieces: returns the vector accumulator after the last piece.
static MlirValue piece_loop(IRBuilder *b, const Reduction *r, int lanes) {
    MlirContext ctx = b->ctx;
    MlirType f32 = mlirF32TypeGet(ctx), index = mlirIndexTypeGet(ctx);
    int64_t n = mlirShapedTypeGetDimSize(mlirValueGetType(r->row), 0), p = lanes;
    MlirType vt = mlirVectorTypeGet(1, &p, f32);
    MlirType piece_t = mlirRankedTensorTypeGet(1, &p, f32, mlirAttributeGetNull());
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

    MlirValue bounds[4] = {zero_i, ir_const_int(b, index, n), ir_const_int(b, index, p), neutral};
    MlirOperation loop = ir_op(b, "scf.for", 1, &vt, 4, bounds, 0, NULL, 1);
    MlirBlock outer = b->block;
    b->block = ir_region_block(b, loop, 0, 2, (MlirType[]){index, vt});
    MlirValue k = mlirBlockGetArgument(b->block, 0), acc = mlirBlockGetArgument(b->block, 1);
    MlirNamedAttribute sattrs[4] = {
        ir_named(b, "static_offsets",
                 mlirDenseI64ArrayGet(ctx, 1, (int64_t[]){mlirShapedTypeGetDynamicStrideOrOffset()})),
        ir_named(b, "static_sizes", mlirDenseI64ArrayGet(ctx, 1, &p)),
        ir_named(b, "static_strides", mlirDenseI64ArrayGet(ctx, 1, (int64_t[]){1})),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, 1, 0, 0})),
    };
    MlirValue slice = mlirOperationGetResult(
        ir_op(b, "tensor.extract_slice", 1, &piece_t, 2, (MlirValue[]){r->row, k}, 4, sattrs, 0), 0);
    MlirNamedAttribute rattrs[3] = {
        ir_named(b, "in_bounds", mlirArrayAttrGet(ctx, 1, (MlirAttribute[]){mlirBoolAttrGet(ctx, 1)})),
        ir_named(b, "permutation_map", mlirAffineMapAttrGet(mlirAffineMapMultiDimIdentityGet(ctx, 1))),
        ir_named(b, "operandSegmentSizes", mlirDenseI32ArrayGet(ctx, 4, (int32_t[]){1, 1, 1, 0})),
    };
    MlirValue x = mlirOperationGetResult(
        ir_op(b, "vector.transfer_read", 1, &vt, 3, (MlirValue[]){slice, zero_i, pad}, 3, rattrs, 0), 0);
    MlirValue value = x;
    MlirNamedAttribute comb_attrs[MAX_OPERANDS];
    int ncomb = 0;
    if (!mlirBlockIsNull(body)) {
        map_add(&map, mlirBlockGetArgument(body, 0), x);
        for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationEqual(o, comb);
             o = mlirOperationGetNextInBlock(o)) {
            if (ir_op_is(o, "linalg.index")) {
                // The column: k + (0, 1, ..., P - 1), as the schedule writes it (iotamask.c
                // turns `column < C` into a vector.create_mask).
                int64_t pp = p;
                MlirType iv = mlirVectorTypeGet(1, &pp, index);
                MlirValue step = ir_op1(b, "vector.step", iv, 0, NULL);
                map_add(&map, mlirOperationGetResult(o, 0), ir_binop(b, "arith.addi", splat(b, iv, k), step));
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
    MlirValue next = mlirOperationGetResult(
        ir_op(b, r->comb->op, 1, &vt, 2, (MlirValue[]){acc, value}, ncomb, comb_attrs, 0), 0);
    ir_op(b, "scf.yield", 0, NULL, 1, &next, 0, NULL, 0);
    b->block = outer;
    return mlirOperationGetResult(loop, 0);
}

static MlirNamedAttribute reassoc(IRBuilder *b) {
    return ir_named(b, "fastmath", mlirAttributeParseGet(b->ctx, ir_str("#arith.fastmath<reassoc>")));
}

static void rewrite(MlirContext ctx, const Reduction *r, int lanes) {
    MlirBlock scratch = mlirBlockCreate(0, NULL, NULL);
    IRBuilder b = {ctx, scratch, mlirOperationGetLocation(r->op)};
    MlirType f32 = mlirF32TypeGet(ctx);
    MlirValue acc = piece_loop(&b, r, lanes);
    char kind[64];
    snprintf(kind, sizeof kind, "#vector.kind<%s>", r->comb->kind);
    MlirNamedAttribute kattrs[2] = {ir_named(&b, "kind", mlirAttributeParseGet(ctx, ir_str(kind))),
                                    reassoc(&b)};
    MlirValue result;
    if (mlirOperationIsNull(r->read)) {
        // init combine (the lanes reduced), as a 0-d tensor again.
        MlirValue lanes_v =
            mlirOperationGetResult(ir_op(&b, "vector.reduction", 1, &f32, 1, &acc, 2, kattrs, 0), 0);
        MlirValue init_t = mlirOperationGetOperand(r->op, 1);
        MlirValue init = ir_op1(&b, "tensor.extract", f32, 1, &init_t);
        MlirNamedAttribute fm = reassoc(&b);
        MlirValue s = mlirOperationGetResult(
            ir_op(&b, r->comb->op, 1, &f32, 2, (MlirValue[]){init, lanes_v}, 1, &fm, 0), 0);
        result =
            ir_op1(&b, "tensor.from_elements", mlirValueGetType(mlirOperationGetResult(r->op, 0)), 1, &s);
    } else {
        // The same vector.reduction, of the accumulator (and its own accumulator operand, if any).
        int nops = mlirOperationGetNumOperands(r->op) > 1 ? 2 : 1;
        MlirValue ops[2] = {acc, nops == 2 ? mlirOperationGetOperand(r->op, 1) : (MlirValue){NULL}};
        result = mlirOperationGetResult(ir_op(&b, "vector.reduction", 1, &f32, nops, ops, 2, kattrs, 0), 0);
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
    Reductions rs = {.lanes = 4 * vector_bits / 32};
    mlirOperationWalk(mlirModuleGetOperation(module), find, &rs, MlirWalkPostOrder);
    for (int i = 0; i < rs.len; i++)
        rewrite(ctx, &rs.items[i], rs.lanes);
    free(rs.items);
}
