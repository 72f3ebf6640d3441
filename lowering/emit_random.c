// lowering/emit_random.c — umulhi and the counter-based random numbers (philox, randint, rand,
// randn) as arith ops on u32 words: Philox4x32 with 10 rounds (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011; Random123's philox4x32_R), with Triton's conventions
// for the key, the counter and the conversion to floats (docs/language.md §9.10). Everything is
// plain integer arithmetic on tiles, so each back end (x86, PTX) computes the same bits.
#include "emit.h"

// Philox4x32's round multipliers and key increments (Random123's PHILOX_M4x32_0/1 and
// PHILOX_W32_0/1).
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

typedef struct Words {
    Emitter *e;
    Type shape;   // the result's shape; elements u32
    Type kshape;  // the seed's shape (u32): the key is computed there, and broadcast per round
} Words;

// A key word (at the seed's shape) at the result's shape.
static MlirValue key_at(Words *w, MlirValue k) { return emit_broadcast_to(w->e, k, &w->kshape, &w->shape); }

// The same as konst/cast_to, at the seed's shape.
static MlirValue kkonst(Words *w, int bits, uint64_t v);

static MlirType shaped(Words *w, MlirType el) {
    return w->shape.rank ? mlirRankedTensorTypeGet(w->shape.rank, w->shape.dims, el, mlirAttributeGetNull())
                         : el;
}

// A constant of `bits` bits (its unsigned value) at the result's shape.
static MlirValue konst(Words *w, int bits, uint64_t v) {
    Emitter *e = w->e;
    MlirType el = mlirIntegerTypeGet(e->ir.ctx, (unsigned)bits);
    MlirValue c = const_int(e, el, (int64_t)v);
    return w->shape.rank ? op1(e, "tensor.splat", shaped(w, el), 1, &c) : c;
}

static MlirValue cast_to(Words *w, const char *name, MlirValue v, int bits) {
    return op1(w->e, name, shaped(w, mlirIntegerTypeGet(w->e->ir.ctx, (unsigned)bits)), 1, &v);
}

// The full product of two `bits`-bit words, through a 2·bits-bit multiplication: its low and
// high halves (LLVM matches this to mul.hi on PTX and to pmuludq on x86).
static void mul_wide(Words *w, MlirValue a, MlirValue b, int bits, MlirValue *lo, MlirValue *hi) {
    MlirValue p = binop(w->e, "arith.muli", cast_to(w, "arith.extui", a, 2 * bits),
                        cast_to(w, "arith.extui", b, 2 * bits));
    // The low half: of the wide product on x86 (one pmuludq gives both halves), a plain
    // multiply on GPUs (NVPTX would keep the wide product as 64-bit multiplies otherwise).
    if (lo)
        *lo = w->e->gpu ? binop(w->e, "arith.muli", a, b) : cast_to(w, "arith.trunci", p, bits);
    if (hi)
        *hi = cast_to(w, "arith.trunci", binop(w->e, "arith.shrui", p, konst(w, 2 * bits, (uint64_t)bits)),
                      bits);
}

// Philox4x32-10 of the counter c[0..3] with the key (k0, k1), in place (all u32 at the result's
// shape). The rounds as Triton's philox_impl writes them, which are Random123's:
//   (c0, c1, c2, c3) <- (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0))
// with the key bumped by (W0, W1) after each round.
static void philox(Words *w, MlirValue c[4], MlirValue k0, MlirValue k1) {
    Emitter *e = w->e;
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        MlirValue lo0, hi0, lo1, hi1;
        mul_wide(w, konst(w, 32, PHILOX_M0), c[0], 32, &lo0, &hi0);
        mul_wide(w, konst(w, 32, PHILOX_M1), c[2], 32, &lo1, &hi1);
        MlirValue n0 = binop(e, "arith.xori", binop(e, "arith.xori", hi1, c[1]), key_at(w, k0));
        MlirValue n2 = binop(e, "arith.xori", binop(e, "arith.xori", hi0, c[3]), key_at(w, k1));
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
        if (r + 1 < PHILOX_ROUNDS) {
            k0 = binop(e, "arith.addi", k0, kkonst(w, 32, PHILOX_W0));
            k1 = binop(e, "arith.addi", k1, kkonst(w, 32, PHILOX_W1));
        }
    }
}

// The key from the seed (any integer, as u64: signed seeds sign-extend, as Triton's
// seed.to(tl.uint64)): its low and its high 32 bits.
static void key_of(Words *w, Node *seed, MlirValue *k0, MlirValue *k1) {
    Emitter *e = w->e;
    Type s = seed->type;
    s.elem = EL_U64;
    MlirValue v = emit_operand(e, seed, EL_U64, &s);
    // The key's arithmetic at the seed's shape: a scalar seed keeps ten scalar keys.
    Words kw = {e, w->kshape, w->kshape};
    *k0 = cast_to(&kw, "arith.trunci", v, 32);
    *k1 = cast_to(&kw, "arith.trunci", binop(e, "arith.shrui", v, konst(&kw, 64, 32)), 32);
}

static MlirValue kkonst(Words *w, int bits, uint64_t v) {
    Words kw = {w->e, w->kshape, w->kshape};
    return konst(&kw, bits, v);
}

// Triton's uint_to_uniform_float for a u32 word: the word as an i32 x, then
// (x < 0 ? -x - 1 : x) · 4.6566127342e-10 in f32 — a float in [0, 1].
static MlirValue uniform(Words *w, MlirValue x) {
    Emitter *e = w->e;
    MlirNamedAttribute slt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    MlirValue neg =
        mlirOperationGetResult(op(e, "arith.cmpi", 1, (MlirType[]){shaped(w, elem_type(e, EL_I1))}, 2,
                                  (MlirValue[]){x, konst(w, 32, 0)}, 1, &slt, 0),
                               0);
    MlirValue flipped = binop(e, "arith.xori", x, konst(w, 32, 0xFFFFFFFFu));  // -x - 1
    MlirValue pos = op1(e, "arith.select", mlirValueGetType(x), 3, (MlirValue[]){neg, flipped, x});
    MlirType ft = shaped(w, mlirF32TypeGet(e->ir.ctx));
    MlirValue f = op1(e, "arith.sitofp", ft, 1, &pos);
    MlirValue scale = const_float(e, mlirF32TypeGet(e->ir.ctx), 4.6566127342e-10);
    if (w->shape.rank)
        scale = op1(e, "tensor.splat", ft, 1, &scale);
    return binop(e, "arith.mulf", f, scale);
}

static MlirValue fconst(Words *w, double v) {
    Emitter *e = w->e;
    MlirValue c = const_float(e, mlirF32TypeGet(e->ir.ctx), v);
    return w->shape.rank ? op1(e, "tensor.splat", shaped(w, mlirF32TypeGet(e->ir.ctx)), 1, &c) : c;
}

MlirValue emit_random(Emitter *e, Node *n, Builtin b) {
    Node **a = n->args.items;
    Words w = {e, n->type, a[0]->type};
    w.shape.elem = w.kshape.elem = EL_U32;
    if (b == B_UMULHI) {
        MlirValue x = emit_operand(e, a[0], n->type.elem, &n->type);
        MlirValue y = emit_operand(e, a[1], n->type.elem, &n->type);
        if (e->failed)
            return x;
        MlirValue hi;
        mul_wide(&w, x, y, elem_bits(n->type.elem), NULL, &hi);
        return hi;
    }
    MlirValue k0, k1, c[4];
    key_of(&w, a[0], &k0, &k1);
    if (b == B_PHILOX) {
        for (int i = 0; i < 4; i++)
            c[i] = emit_operand(e, a[1 + i], EL_U32, &w.shape);
    } else {
        // The offset is the counter's first word (a 64-bit offset: its low word, and its high
        // word the second); the other words are 0, as in Triton's randint4x.
        Node *off = a[1];
        ElemType oe = off->type.elem == EL_INT ? EL_I64 : off->type.elem;
        if (elem_bits(oe) > 32) {
            Type s = w.shape;
            s.elem = EL_U64;
            MlirValue v = emit_operand(e, off, EL_U64, &s);
            c[0] = cast_to(&w, "arith.trunci", v, 32);
            c[1] = cast_to(&w, "arith.trunci", binop(e, "arith.shrui", v, konst(&w, 64, 32)), 32);
        } else {
            c[0] = emit_operand(e, off, EL_U32, &w.shape);
            c[1] = konst(&w, 32, 0);
        }
        c[2] = c[3] = konst(&w, 32, 0);
    }
    if (e->failed)
        return c[0];
    philox(&w, c, k0, k1);
    switch (b) {
    case B_PHILOX: return c[a[5]->cval.i];
    case B_RANDINT: return c[0];
    case B_RAND: return uniform(&w, c[0]);
    case B_RANDN: {
        // Triton's pair_uniform_to_normal (Box-Muller) on the first two words, its first result:
        // sqrt(-2 log(max(u1, 1e-7))) · cos(2π u2), in f32.
        MlirValue u1 = binop(e, "arith.maximumf", uniform(&w, c[0]), fconst(&w, 1.0e-7));
        MlirValue th = binop(e, "arith.mulf", fconst(&w, 6.283185307179586), uniform(&w, c[1]));
        MlirType ft = mlirValueGetType(u1);
        MlirValue lg = op1(e, "math.log", ft, 1, &u1);
        MlirValue r = op1(e, "math.sqrt", ft, 1, (MlirValue[]){binop(e, "arith.mulf", fconst(&w, -2.0), lg)});
        return binop(e, "arith.mulf", r, op1(e, "math.cos", ft, 1, &th));
    }
    default: break;
    }
    unreachable();
}
