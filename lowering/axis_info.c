// lowering/axis_info.c — affine analysis of integer tiles and bound analysis of masks on the
// tile-level ops the emitter produced (axis_info.h). The analysis follows an index tile back
// through the ops that compute index arithmetic: tensor.splat and splat constants (uniform
// values), linalg.generic bodies (arange's linalg.index, broadcasts through their indexing
// maps), arith.addi/subi/muli (a product needs one uniform compile-time factor),
// extsi/extui/index_cast (a narrow affine value widens exactly only when its whole range fits
// the narrow type, checked from a constant base), and tensor.expand_shape/collapse_shape.
// Anything else (a value read from memory, a division, a select) stops it, with the reason.
// It only reads the IR it is given and appends the scalar ops that compute bases and bounds.
#include "axis_info.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mlir-c/AffineExpr.h"
#include "mlir-c/AffineMap.h"
#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

typedef struct Ctx {
    IRBuilder *b;
    char *why;
    size_t whylen;
    int depth;
} Ctx;

static bool fail(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Ctx *c, const char *fmt, ...) {
    if (c->why && c->whylen && !c->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->whylen, fmt, ap);
        va_end(ap);
    }
    return false;
}

static MlirOperation def(MlirValue v) {
    return mlirValueIsAOpResult(v) ? mlirOpResultGetOwner(v) : (MlirOperation){NULL};
}

static bool is(MlirOperation o, const char *name) { return !mlirOperationIsNull(o) && ir_op_is(o, name); }

static MlirAttribute attr(MlirOperation o, const char *name) {
    return mlirOperationGetAttributeByName(o, ir_str(name));
}

// The op's name, for the reasons.
static void op_name(MlirOperation o, char *buf, size_t n) {
    MlirStringRef s = mlirIdentifierStr(mlirOperationGetName(o));
    snprintf(buf, n, "%.*s", (int)s.length, s.data);
}

static void set_shape(AxisInfo *a, MlirType t) {
    a->rank = 0;
    if (mlirTypeIsARankedTensor(t)) {
        a->rank = (int)mlirShapedTypeGetRank(t);
        for (int d = 0; d < a->rank; d++)
            a->dims[d] = mlirShapedTypeGetDimSize(t, d);
    }
    for (int d = 0; d < TILE_MAX_RANK; d++)
        a->coef[d] = 0;
}

static MlirType scalar_type(MlirType t) {
    return mlirTypeIsARankedTensor(t) ? mlirShapedTypeGetElementType(t) : t;
}

static void set_const(Ctx *c, AxisInfo *a, MlirType elem, int64_t v) {
    a->base = ir_const_int(c->b, elem, v);
    a->base_const = true;
    a->base_value = v;
}

static bool uniform(const AxisInfo *a) {
    for (int d = 0; d < a->rank; d++)
        if (a->coef[d] != 0)
            return false;
    return true;
}

static bool analyze(Ctx *c, MlirValue v, AxisInfo *out);

// The iteration space of a linalg.generic: its output's shape (the output map is the identity).
static bool generic_space(Ctx *c, MlirOperation g, AxisInfo *a) {
    intptr_t n = mlirOperationGetNumOperands(g);
    MlirAttribute maps = attr(g, "indexing_maps");
    if (n < 1 || mlirOperationGetNumResults(g) != 1 || mlirAttributeIsNull(maps))
        return fail(c, "the index is computed by an unsupported linalg.generic");
    MlirAffineMap out = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, n - 1));
    if (!mlirAffineMapIsIdentity(out))
        return fail(c, "the index is computed by an unsupported linalg.generic");
    set_shape(a, mlirValueGetType(mlirOperationGetResult(g, 0)));
    return true;
}

// Block argument `v` of a linalg.generic's body: its input, moved to the iteration space by the
// input's indexing map (a broadcast: results that are dimensions or the constant 0).
static bool body_argument(Ctx *c, MlirValue v, AxisInfo *out) {
    MlirOperation g = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(v));
    if (!is(g, "linalg.generic"))
        return fail(c, "the index depends on a loop variable or a block argument");
    intptr_t k = mlirBlockArgumentGetArgNumber(v);
    intptr_t nin = mlirOperationGetNumOperands(g) - 1;
    if (k >= nin)
        return fail(c, "the index is computed by an unsupported linalg.generic");
    if (!generic_space(c, g, out))
        return false;
    AxisInfo in;
    if (!analyze(c, mlirOperationGetOperand(g, k), &in))
        return false;
    MlirAffineMap m = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(attr(g, "indexing_maps"), k));
    if (mlirAffineMapGetNumResults(m) != in.rank)
        return fail(c, "the index is computed by an unsupported linalg.generic");
    for (int r = 0; r < in.rank; r++) {
        MlirAffineExpr x = mlirAffineMapGetResult(m, r);
        if (mlirAffineExprIsADim(x))
            out->coef[mlirAffineDimExprGetPosition(x)] += in.dims[r] == 1 ? 0 : in.coef[r];
        else if (!(mlirAffineExprIsAConstant(x) && mlirAffineConstantExprGetValue(x) == 0))
            return fail(c, "the index is computed by an unsupported linalg.generic");
    }
    out->base = in.base, out->base_const = in.base_const, out->base_value = in.base_value;
    return true;
}

// Combines x and y (one may be a scalar: rank 0) into out: out's shape is the ranked one's.
static bool same_space(Ctx *c, const AxisInfo *x, const AxisInfo *y, AxisInfo *out) {
    const AxisInfo *s = x->rank >= y->rank ? x : y;
    if (x->rank && y->rank && x->rank != y->rank)
        return fail(c, "the index mixes tiles of different ranks");
    out->rank = s->rank;
    for (int d = 0; d < s->rank; d++)
        out->dims[d] = s->dims[d];
    return true;
}

// Widening (or narrowing to a type that still holds it) an affine value from `from_bits`: exact
// for a uniform value; otherwise only when the whole range of base + Σ coef·i fits the source
// type, which needs a constant base.
static bool widen(Ctx *c, MlirOperation o, const AxisInfo *in, int from_bits, bool is_unsigned,
                  AxisInfo *out) {
    MlirType rt = scalar_type(mlirValueGetType(mlirOperationGetResult(o, 0)));
    int64_t to_bits = ir_elem_bits(rt);
    if (!uniform(in)) {
        if (!in->base_const)
            return fail(c, "%d-bit index arithmetic may wrap: compute offsets in i64", from_bits);
        __int128 lo = in->base_value, hi = in->base_value;
        for (int d = 0; d < in->rank; d++) {
            __int128 span = (__int128)in->coef[d] * (in->dims[d] - 1);
            if (span < 0)
                lo += span;
            else
                hi += span;
        }
        __int128 min = is_unsigned ? 0 : -((__int128)1 << (from_bits - 1));
        __int128 max = is_unsigned ? ((__int128)1 << from_bits) - 1 : ((__int128)1 << (from_bits - 1)) - 1;
        if (to_bits < from_bits) {  // index_cast to a narrower type: the range must fit that too
            min = -((__int128)1 << (to_bits - 1)) > min ? -((__int128)1 << (to_bits - 1)) : min;
            max = ((__int128)1 << (to_bits - 1)) - 1 < max ? ((__int128)1 << (to_bits - 1)) - 1 : max;
        }
        if (lo < min || hi > max)
            return fail(c, "%d-bit index arithmetic may wrap: compute offsets in i64", from_bits);
    }
    *out = *in;
    if (in->base_const)
        set_const(c, out, rt, in->base_value);
    return true;
}

static bool widen_op(Ctx *c, MlirOperation o, AxisInfo *out) {
    MlirValue src = mlirOperationGetOperand(o, 0);
    MlirType st = scalar_type(mlirValueGetType(src));
    AxisInfo in;
    if (!analyze(c, src, &in))
        return false;
    bool uns = is(o, "arith.extui");
    int bits = (int)ir_elem_bits(st);
    MlirType rt = scalar_type(mlirValueGetType(mlirOperationGetResult(o, 0)));
    if (!widen(c, o, &in, bits, uns, out))
        return false;
    if (!in.base_const) {
        const char *name = uns                         ? "arith.extui"
                           : is(o, "arith.index_cast") ? "arith.index_cast"
                                                       : "arith.extsi";
        out->base = ir_op1(c->b, name, rt, 1, &in.base);
        out->base_const = false;
    }
    return true;
}

// arith.addi, subi, muli of two affine values.
static bool arith(Ctx *c, MlirOperation o, AxisInfo *out) {
    AxisInfo x, y;
    if (!analyze(c, mlirOperationGetOperand(o, 0), &x) || !analyze(c, mlirOperationGetOperand(o, 1), &y))
        return false;
    if (!same_space(c, &x, &y, out))
        return false;
    MlirType et = mlirValueGetType(x.base);
    bool add = is(o, "arith.addi"), sub = is(o, "arith.subi");
    if (add || sub) {
        for (int d = 0; d < out->rank; d++)
            out->coef[d] = (d < x.rank ? x.coef[d] : 0) + (sub ? -1 : 1) * (d < y.rank ? y.coef[d] : 0);
        if (x.base_const && y.base_const)
            set_const(c, out, et, add ? x.base_value + y.base_value : x.base_value - y.base_value);
        else
            out->base = ir_binop(c->b, add ? "arith.addi" : "arith.subi", x.base, y.base),
            out->base_const = false;
        return true;
    }
    // muli: one factor must be uniform; a non-uniform other factor needs it to be a constant.
    const AxisInfo *u = uniform(&x) ? &x : uniform(&y) ? &y : NULL, *w = u == &x ? &y : &x;
    if (!u)
        return fail(c, "the index is a product of two tiles that vary");
    if (!uniform(w) && !u->base_const) {
        for (int d = 0; d < w->rank; d++)
            if (w->coef[d])
                return fail(c, "stride along axis %d is not a compile-time constant", d);
    }
    for (int d = 0; d < out->rank; d++)
        out->coef[d] = u->base_const ? u->base_value * (d < w->rank ? w->coef[d] : 0) : 0;
    if (x.base_const && y.base_const)
        set_const(c, out, et, x.base_value * y.base_value);
    else
        out->base = ir_binop(c->b, "arith.muli", x.base, y.base), out->base_const = false;
    return true;
}

// tensor.expand_shape / collapse_shape: each group of the reassociation has at most one axis
// that is not of size 1; that axis carries the group's stride.
static bool reshape(Ctx *c, MlirOperation o, AxisInfo *out) {
    AxisInfo in;
    if (!analyze(c, mlirOperationGetOperand(o, 0), &in))
        return false;
    bool expand = is(o, "tensor.expand_shape");
    MlirAttribute groups = attr(o, "reassociation");
    set_shape(out, mlirValueGetType(mlirOperationGetResult(o, 0)));
    const AxisInfo *wide = expand ? out : &in;  // the side with the groups' members
    for (intptr_t g = 0; g < mlirArrayAttrGetNumElements(groups); g++) {
        MlirAttribute grp = mlirArrayAttrGetElement(groups, g);
        int nonunit = -1;
        for (intptr_t k = 0; k < mlirArrayAttrGetNumElements(grp); k++) {
            int ax = (int)mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(grp, k));
            if (wide->dims[ax] != 1) {
                if (nonunit >= 0)
                    return fail(c, "the index is reshaped across axes");
                nonunit = ax;
            }
        }
        if (nonunit < 0)
            continue;
        if (expand)
            out->coef[nonunit] = in.coef[g];
        else
            out->coef[g] = in.coef[nonunit];
    }
    out->base = in.base, out->base_const = in.base_const, out->base_value = in.base_value;
    return true;
}

static bool analyze(Ctx *c, MlirValue v, AxisInfo *out) {
    MlirType t = mlirValueGetType(v);
    MlirType et = scalar_type(t);
    if (!mlirTypeIsAInteger(et) && !mlirTypeIsAIndex(et))
        return fail(c, "the index is not an integer");
    if (++c->depth > 64) {
        c->depth--;
        return fail(c, "the index expression is too deep to analyze");
    }
    bool ok = false;
    memset(out, 0, sizeof *out);
    set_shape(out, t);
    if (mlirValueIsABlockArgument(v)) {
        MlirOperation parent = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(v));
        if (is(parent, "linalg.generic"))
            ok = body_argument(c, v, out);
        else if (!mlirTypeIsARankedTensor(t))  // a function or loop argument: a scalar leaf
            out->base = v, ok = true;
        else
            ok = fail(c, "the index tile is a loop-carried value");
        c->depth--;
        return ok;
    }
    MlirOperation o = def(v);
    MlirOperation parent = mlirOperationGetParentOperation(o);
    bool in_body = is(parent, "linalg.generic");
    char name[64];
    op_name(o, name, sizeof name);
    if (is(o, "arith.constant")) {
        MlirAttribute a = attr(o, "value");
        if (mlirAttributeIsAInteger(a)) {
            set_const(c, out, et, mlirIntegerAttrGetValueInt(a));
            ok = true;
        } else if (mlirAttributeIsADenseElements(a) && mlirDenseElementsAttrIsSplat(a)) {
            set_const(c, out, et, mlirIntegerAttrGetValueInt(mlirDenseElementsAttrGetSplatValue(a)));
            ok = true;
        } else {
            ok = fail(c, "the index is a constant tile of different values");
        }
    } else if (!mlirTypeIsARankedTensor(t) && !in_body) {
        out->base = v, ok = true;  // a scalar computed outside any tile: a leaf
    } else if (is(o, "tensor.splat")) {
        AxisInfo s;
        ok = analyze(c, mlirOperationGetOperand(o, 0), &s);
        out->base = s.base, out->base_const = s.base_const, out->base_value = s.base_value;
    } else if (is(o, "linalg.index")) {
        MlirOperation g = parent;
        ok = generic_space(c, g, out);
        if (ok) {
            int d = (int)mlirIntegerAttrGetValueInt(attr(o, "dim"));
            out->coef[d] = out->dims[d] == 1 ? 0 : 1;
            set_const(c, out, et, 0);
        }
    } else if (is(o, "linalg.generic")) {
        MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
        MlirOperation y = mlirBlockGetTerminator(body);
        if (mlirOperationGetNumOperands(y) != 1)
            ok = fail(c, "the index is computed by an unsupported linalg.generic");
        else if (generic_space(c, o, out)) {
            AxisInfo r;
            ok = analyze(c, mlirOperationGetOperand(y, 0), &r);
            if (ok && r.rank && r.rank != out->rank)
                ok = fail(c, "the index is computed by an unsupported linalg.generic");
            for (int d = 0; ok && d < r.rank; d++)
                out->coef[d] = r.coef[d];
            out->base = r.base, out->base_const = r.base_const, out->base_value = r.base_value;
        }
    } else if (is(o, "arith.addi") || is(o, "arith.subi") || is(o, "arith.muli")) {
        ok = arith(c, o, out);
    } else if (is(o, "arith.extsi") || is(o, "arith.extui") || is(o, "arith.index_cast")) {
        ok = widen_op(c, o, out);
    } else if (is(o, "tensor.expand_shape") || is(o, "tensor.collapse_shape")) {
        ok = reshape(c, o, out);
    } else if (is(o, "scf.if") || is(o, "tensor.extract") || is(o, "memref.load") || is(o, "tensor.pad") ||
               is(o, "tensor.extract_slice") || is(o, "bufferization.to_tensor")) {
        ok = fail(c, "the index is read from memory");
    } else if (is(o, "arith.divsi") || is(o, "arith.remsi") || is(o, "arith.divui") || is(o, "arith.remui") ||
               is(o, "arith.floordivsi") || is(o, "arith.ceildivsi")) {
        ok = fail(c, "the index is a quotient or remainder ('%s')", name);
    } else {
        ok = fail(c, "the index is computed by '%s'", name);
    }
    c->depth--;
    return ok;
}

bool axis_info_of(IRBuilder *b, MlirValue v, AxisInfo *out, char *why, size_t whylen) {
    if (why && whylen)
        why[0] = '\0';
    Ctx c = {.b = b, .why = why, .whylen = whylen};
    if (!analyze(&c, v, out))
        return false;
    for (int d = 0; d < out->rank; d++)  // a unit axis has one position: no stride
        if (out->dims[d] == 1)
            out->coef[d] = 0;
    return true;
}

// ================================================================ masks

static void residual(MaskInfo *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void residual(MaskInfo *m, const char *fmt, ...) {
    if (!m->residual) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->why, sizeof m->why, fmt, ap);
        va_end(ap);
    }
    m->residual = true;
}

static void add_all(IRBuilder *b, MaskInfo *m, MlirValue cond) {
    m->all = mlirValueIsNull(m->all) ? cond : ir_binop(b, "arith.andi", m->all, cond);
}

static void add_bound(MaskInfo *m, int axis, MlirValue lo, MlirValue hi) {
    if (m->nbounds == AXIS_MAX_BOUNDS) {
        residual(m, "the mask has too many conjuncts");
        return;
    }
    m->bounds[m->nbounds++] = (AxisBound){.axis = axis, .lo = lo, .hi = hi};
}

// x PRED y with x - y = D + c·i_axis (c = ±1): the bound on i_axis.
static void compare(IRBuilder *b, MaskInfo *m, MlirOperation o) {
    int64_t pred = mlirIntegerAttrGetValueInt(attr(o, "predicate"));
    MlirValue xv = mlirOperationGetOperand(o, 0), yv = mlirOperationGetOperand(o, 1);
    MlirType et = scalar_type(mlirValueGetType(xv));
    if (pred < 2 || pred > 5) {  // eq, ne, unsigned
        residual(m, "the mask compares with '%s', not a signed < <= > >=",
                 pred == 0   ? "=="
                 : pred == 1 ? "!="
                             : "an unsigned comparison");
        return;
    }
    if (!mlirTypeIsAInteger(et) || mlirIntegerTypeGetWidth(et) != 64) {
        residual(m, "the mask compares %d-bit values, not i64",
                 mlirTypeIsAInteger(et) ? (int)mlirIntegerTypeGetWidth(et) : 0);
        return;
    }
    char why[160];
    AxisInfo x, y;
    if (!axis_info_of(b, xv, &x, why, sizeof why) || !axis_info_of(b, yv, &y, why, sizeof why)) {
        residual(m, "a comparison in the mask: %s", why);
        return;
    }
    int axis = -1, rank = x.rank > y.rank ? x.rank : y.rank;
    int64_t cf = 0;
    for (int d = 0; d < rank; d++) {
        int64_t k = (d < x.rank ? x.coef[d] : 0) - (d < y.rank ? y.coef[d] : 0);
        if (k == 0)
            continue;
        if (axis >= 0 || (k != 1 && k != -1)) {
            residual(m, "a comparison in the mask is not a bound on one axis's position");
            return;
        }
        axis = d, cf = k;
    }
    MlirValue diff = ir_binop(b, "arith.subi", x.base, y.base);  // D
    if (axis < 0) {
        add_all(b, m, ir_cmpi(b, pred, x.base, y.base));
        return;
    }
    MlirValue one = ir_const_int(b, et, 1), zero = ir_const_int(b, et, 0);
    MlirValue neg = ir_binop(b, "arith.subi", zero, diff);  // -D
    MlirValue lo = {NULL}, hi = {NULL};
    if (cf == 1) {  // D + i PRED 0
        if (pred == 2)
            hi = neg;  // i < -D
        else if (pred == 3)
            hi = ir_binop(b, "arith.addi", neg, one);
        else if (pred == 4)
            lo = ir_binop(b, "arith.addi", neg, one);  // i > -D
        else
            lo = neg;
    } else {  // D - i PRED 0
        if (pred == 2)
            lo = ir_binop(b, "arith.addi", diff, one);  // i > D
        else if (pred == 3)
            lo = diff;
        else if (pred == 4)
            hi = diff;  // i < D
        else
            hi = ir_binop(b, "arith.addi", diff, one);
    }
    add_bound(m, axis, lo, hi);
}

static void mask_of(IRBuilder *b, MlirValue v, MaskInfo *m, int depth) {
    MlirType t = mlirValueGetType(v);
    if (!mlirTypeIsARankedTensor(t)) {  // a scalar condition
        add_all(b, m, v);
        return;
    }
    MlirOperation o = def(v);
    if (depth > 32 || mlirOperationIsNull(o)) {
        residual(m, "the mask is not computed by comparisons");
        return;
    }
    if (is(o, "arith.andi")) {
        mask_of(b, mlirOperationGetOperand(o, 0), m, depth + 1);
        mask_of(b, mlirOperationGetOperand(o, 1), m, depth + 1);
    } else if (is(o, "arith.cmpi")) {
        compare(b, m, o);
    } else if (is(o, "tensor.splat")) {
        add_all(b, m, mlirOperationGetOperand(o, 0));
    } else if (is(o, "arith.constant") && mlirAttributeIsADenseElements(attr(o, "value")) &&
               mlirDenseElementsAttrIsSplat(attr(o, "value"))) {
        if (!mlirIntegerAttrGetValueInt(mlirDenseElementsAttrGetSplatValue(attr(o, "value"))))
            add_all(b, m, ir_const_int(b, mlirIntegerTypeGet(b->ctx, 1), 0));
    } else if (is(o, "tensor.expand_shape") ||
               (is(o, "linalg.generic") && mlirOperationGetNumOperands(o) == 2)) {
        // A reshape or a broadcast: the input's bounds, moved to this value's axes.
        bool expand = is(o, "tensor.expand_shape");
        if (!expand) {
            MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
            MlirOperation y = mlirBlockGetTerminator(body);
            MlirAffineMap outm =
                mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(attr(o, "indexing_maps"), 1));
            if (mlirOperationGetNumOperands(y) != 1 ||
                !mlirValueIsABlockArgument(mlirOperationGetOperand(y, 0)) ||
                mlirBlockArgumentGetArgNumber(mlirOperationGetOperand(y, 0)) != 0 ||
                !mlirAffineMapIsIdentity(outm)) {
                residual(m, "the mask is computed by a linalg.generic that is not a broadcast");
                return;
            }
        }
        MaskInfo in = {0};
        MlirValue src = mlirOperationGetOperand(o, 0);
        mask_of(b, src, &in, depth + 1);
        if (!mlirValueIsNull(in.all))
            add_all(b, m, in.all);
        if (in.residual)
            residual(m, "%s", in.why);
        MlirType st = mlirValueGetType(src);
        int axis_of[TILE_MAX_RANK];  // input axis → output axis (-1: a unit axis that vanished)
        for (int k = 0; k < TILE_MAX_RANK; k++)
            axis_of[k] = -1;
        if (expand) {
            MlirAttribute groups = attr(o, "reassociation");
            for (intptr_t g = 0; g < mlirArrayAttrGetNumElements(groups); g++) {
                MlirAttribute grp = mlirArrayAttrGetElement(groups, g);
                for (intptr_t k = 0; k < mlirArrayAttrGetNumElements(grp); k++) {
                    int ax = (int)mlirIntegerAttrGetValueInt(mlirArrayAttrGetElement(grp, k));
                    if (axis_of[g] < 0 || mlirShapedTypeGetDimSize(t, ax) != 1)
                        axis_of[g] = ax;
                }
            }
        } else {
            MlirAffineMap im =
                mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(attr(o, "indexing_maps"), 0));
            for (intptr_t r = 0; r < mlirAffineMapGetNumResults(im); r++) {
                MlirAffineExpr x = mlirAffineMapGetResult(im, r);
                if (mlirAffineExprIsADim(x))
                    axis_of[r] = (int)mlirAffineDimExprGetPosition(x);
            }
        }
        MlirType i64 = mlirIntegerTypeGet(b->ctx, 64);
        for (int k = 0; k < in.nbounds; k++) {
            int ax = axis_of[in.bounds[k].axis];
            if (ax >= 0 && mlirShapedTypeGetDimSize(st, in.bounds[k].axis) != 1) {
                add_bound(m, ax, in.bounds[k].lo, in.bounds[k].hi);
                continue;
            }
            // A bound on a unit axis (broadcast away): position 0 must satisfy it, everywhere.
            MlirValue zero = ir_const_int(b, i64, 0);
            if (!mlirValueIsNull(in.bounds[k].lo))
                add_all(b, m, ir_cmpi(b, 3, in.bounds[k].lo, zero));  // lo <= 0
            if (!mlirValueIsNull(in.bounds[k].hi))
                add_all(b, m, ir_cmpi(b, 4, in.bounds[k].hi, zero));  // hi > 0
        }
    } else {
        char name[64];
        op_name(o, name, sizeof name);
        residual(m, "the mask is computed by '%s'", name);
    }
}

void axis_mask_info(IRBuilder *b, MlirValue v, MaskInfo *m) {
    memset(m, 0, sizeof *m);
    mask_of(b, v, m, 0);
}
