// runner/ops_elementwise_binary.c — the broadcasting ops of the `elementwise` group: arithmetic
// (Add, Sub, Mul, Div, Pow, Mod, BitShift, PRelu), the variadic Sum, Mean, Max and Min,
// comparisons, logic (And, Or, Xor) and Where, on runner/kernels/ew_binary.tile.
//
// Each operation collapses its broadcast index space (ew_collapse) and launches a kernel per
// four dimensions with each operand's strides. The kernels compute f32, f64 and i64: f16 and
// bf16 operands are converted to f32 in scratch memory, the other integer types to i64, and the
// result converted back (the low bits of an i64 sum are those of a narrower one). Comparisons
// and logic take a broadcast operand only as B in the innermost dimension: A and B are swapped
// (and the order reversed) when A is the broadcast one.
#include <string.h>

#include "ew_binary.h"
#include "ops_elementwise.h"

static bool is_compare(int code) { return code >= EW_C_EQ && code <= EW_C_GE; }
static bool is_logic(int code) { return code >= EW_L_AND && code <= EW_L_XOR; }

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

// broadcast_shapes with the node named in its message.
static int bcast(const OpCtx *c, int n, const Tensor *const *ts, Tensor *out) {
    RErr e = {0};
    int st = broadcast_shapes(n, ts, out, &e);
    return st ? node_err(c, st, "%s", e.msg) : 0;
}

// ---------------------------------------------------------------- one broadcast operation

enum { FAM_ARITH, FAM_COMPARE, FAM_LOGIC };

typedef struct BinArg {
    int family;
    int ct;  // DT_F32, DT_F64, DT_I64 (DT_BOOL for logic)
    int op;  // the kernel's op code
} BinArg;

// The order with its operands swapped (comparison codes of ew_binary.tile).
static int flip_order(int op) {
    static const int flipped[] = {0, 2, 1, 4, 3, 6, 5, 8, 7};
    return op >= 0 && op <= 8 ? flipped[op] : op;
}

static int bin_launch(const EwLaunch *l, const void *arg) {
    const BinArg *b = arg;
    const void *pa = l->p[0], *pb = l->p[1];
    const int64_t *sa = l->st[0], *sb = l->st[1];
    int ia = l->inner[0], ib = l->inner[1], op = b->op;
    const int64_t *d = l->d;
    if (b->family == FAM_ARITH) {
        switch (b->ct) {
        case DT_F32:
            return ew_binary_f32(pa, pb, l->y, op, ia, ib, d[0], d[1], d[2], d[3], sa[0], sa[1],
                                 sa[2], sb[0], sb[1], sb[2]);
        case DT_F64:
            return ew_binary_f64(pa, pb, l->y, op, ia, ib, d[0], d[1], d[2], d[3], sa[0], sa[1],
                                 sa[2], sb[0], sb[1], sb[2]);
        default:
            return ew_binary_i64(pa, pb, l->y, op, ia, ib, d[0], d[1], d[2], d[3], sa[0], sa[1],
                                 sa[2], sb[0], sb[1], sb[2]);
        }
    }
    if (!ia) {  // B is contiguous in the innermost dimension: swap
        const void *pt = pa;
        pa = pb, pb = pt;
        const int64_t *st = sa;
        sa = sb, sb = st;
        ib = 0;
        if (b->family == FAM_COMPARE)
            op = flip_order(op);
    }
    if (b->family == FAM_LOGIC)
        return ew_logic(pa, pb, l->y, op, ib, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2], sb[0],
                        sb[1], sb[2]);
    switch (b->ct) {
    case DT_F32:
        return ew_compare_f32(pa, pb, l->y, op, ib, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2],
                              sb[0], sb[1], sb[2]);
    case DT_F64:
        return ew_compare_f64(pa, pb, l->y, op, ib, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2],
                              sb[0], sb[1], sb[2]);
    default:
        return ew_compare_i64(pa, pb, l->y, op, ib, d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2],
                              sb[0], sb[1], sb[2]);
    }
}

static const char *bin_kernel_name(const BinArg *b) {
    if (b->family == FAM_LOGIC)
        return "ew_logic";
    static const char *const names[2][3] = {
        {"ew_binary_f32", "ew_binary_f64", "ew_binary_i64"},
        {"ew_compare_f32", "ew_compare_f64", "ew_compare_i64"}};
    int t = b->ct == DT_F32 ? 0 : b->ct == DT_F64 ? 1 : 2;
    return names[b->family == FAM_COMPARE][t];
}

// y (shaped as out, of the result type) = op(a, b): a and b hold data of the compute type.
static int bin_apply(OpCtx *c, const BinArg *b, const Tensor *a, const Tensor *bt,
                     const Tensor *out, void *y) {
    if (tensor_numel(out) == 0)
        return 0;
    const Tensor *ops[2] = {a, bt};
    EwShape sh;
    ew_collapse(out, 2, ops, &sh);
    size_t es = b->family == FAM_LOGIC ? 1 : dtype_size(b->ct);
    size_t esize[2] = {es, es};
    size_t ysize = b->family == FAM_ARITH ? es : 1;
    const void *ptrs[2] = {a->data, bt->data};
    c->kernel = bin_kernel_name(b);
    int st = ew_for_launches(&sh, ptrs, esize, y, ysize, bin_launch, b);
    return st ? ew_kernel_err(c, c->kernel, st) : 0;
}

// Input i converted to the compute type ct into `buf` (or as it is). `tmp` holds numel * 8.
static int to_compute(OpCtx *c, const Tensor *in, int ct, void *buf, void *tmp, Tensor *outt) {
    *outt = *in;
    if (in->dtype == ct)
        return 0;
    const char *k = "ew_cast";
    int st = ew_cast(in->dtype, ct, in->data, buf, tensor_numel(in), tmp, &k);
    if (st)
        return ew_kernel_err(c, k, st);
    outt->dtype = ct;
    outt->data = buf;
    return 0;
}

// ---------------------------------------------------------------- two-input ops

static bool numeric(int dt) { return dtype_is_float(dt) || dtype_is_int(dt); }

int ew_binary_infer(OpCtx *c) {
    int code = c->node->op->code;
    int st = ew_want_inputs(c, 2, 2);
    if (st)
        return st;
    int da = c->in[0].dtype, db = c->in[1].dtype;
    if (code != EW_B_POW && da != db)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "inputs of types %s and %s", dtype_name(da),
                        dtype_name(db));
    if (is_logic(code)) {
        if (da != DT_BOOL)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "inputs are %s, not bool", dtype_name(da));
    } else if (code == EW_C_EQ && da == DT_BOOL) {
        // bool equality: ew_logic
    } else if (!numeric(da) || (code == EW_B_POW && !numeric(db))) {
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input type %s is not supported",
                        dtype_name(code == EW_B_POW && numeric(da) ? db : da));
    }
    if (code == EW_B_MODOP) {
        int64_t fmod = attr_int(c->node, "fmod", 0);
        if (fmod != 0 && fmod != 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "fmod=%lld (0 or 1)", (long long)fmod);
        if (fmod == 0 && dtype_is_float(da))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "fmod=0 on %s inputs", dtype_name(da));
    }
    if (code == EW_B_BITSHIFT) {
        if (da != DT_U8 && da != DT_U16 && da != DT_U32 && da != DT_U64)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "inputs are %s; unsigned integers only",
                            dtype_name(da));
        char buf[16];
        const char *dir = attr_str(c->node, "direction", "", buf, sizeof buf);
        if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "direction='%s' (LEFT or RIGHT)", dir);
    }
    const Tensor *ts[2] = {&c->in[0], &c->in[1]};
    Tensor out = {0};
    if ((st = bcast(c, 2, ts, &out)) != 0)
        return st;
    if (code == EW_B_PRELU && !tensor_same_shape(&out, &c->in[0]))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the slope does not broadcast to the input");
    out.dtype = is_compare(code) || is_logic(code) ? DT_BOOL : da;
    out.data = NULL;
    c->out[0] = out;
    return 0;
}

// The compute type of an op on `dt`.
static int op_compute_type(int code, int da) {
    if (code == EW_B_POW)
        return dtype_is_float(da) ? ew_compute_type(da) : DT_F64;
    if (code == EW_B_MODOP && dtype_is_float(da))
        return DT_F64;  // fmod of f32 in f64
    if (is_logic(code) || da == DT_BOOL)
        return DT_BOOL;
    return ew_compute_type(da);
}

// Scratch: A, B and Y in the compute type, and a conversion buffer, each numel * 8 bytes.
size_t ew_binary_scratch(const OpCtx *c) {
    int code = c->node->op->code, da = c->in[0].dtype;
    int ct = op_compute_type(code, da);
    size_t na = (size_t)tensor_numel(&c->in[0]), nb = (size_t)tensor_numel(&c->in[1]);
    size_t ny = (size_t)tensor_numel(&c->out[0]);
    if (ct == da && c->in[1].dtype == ct)
        return 0;
    size_t m = na > nb ? na : nb;
    m = m > ny ? m : ny;
    return align64(na * 8) + align64(nb * 8) + align64(ny * 8) + align64(m * 8);
}

int ew_binary_run(OpCtx *c) {
    int code = c->node->op->code, da = c->in[0].dtype, dy = c->out[0].dtype;
    const Tensor *out = &c->out[0];
    if (tensor_numel(out) == 0)
        return 0;
    int ct = op_compute_type(code, da);
    BinArg b = {FAM_ARITH, ct, code};
    if (is_logic(code) || (code == EW_C_EQ && ct == DT_BOOL)) {
        b.family = FAM_LOGIC;
        b.op = is_logic(code) ? code - EW_L_AND : 3;
    } else if (is_compare(code)) {
        b.family = FAM_COMPARE;
        b.op = code - EW_C_EQ + (da == DT_U64 && code != EW_C_EQ ? 4 : 0);
    } else if (code == EW_B_DIV && da == DT_U64) {
        b.op = EW_B_UDIV;
    } else if (code == EW_B_MODOP) {
        b.op = da == DT_U64 ? EW_B_UMOD : attr_int(c->node, "fmod", 0) ? EW_B_FMOD : EW_B_MOD;
    } else if (code == EW_B_BITSHIFT) {
        char buf[16];
        bool left = strcmp(attr_str(c->node, "direction", "", buf, sizeof buf), "LEFT") == 0;
        b.op = left ? EW_B_SHL : da == DT_U64 ? EW_B_LSHR : EW_B_SHR;
    }
    size_t na = (size_t)tensor_numel(&c->in[0]), nb = (size_t)tensor_numel(&c->in[1]);
    size_t ny = (size_t)tensor_numel(out);
    char *bufa = c->scratch, *bufb = NULL, *bufy = NULL, *tmp = NULL;
    if (bufa) {  // no scratch when nothing is converted
        bufb = bufa + align64(na * 8);
        bufy = bufb + align64(nb * 8);
        tmp = bufy + align64(ny * 8);
    }
    Tensor a, bt;
    int st;
    if (ct == DT_BOOL) {
        a = c->in[0], bt = c->in[1];
    } else if ((st = to_compute(c, &c->in[0], ct, bufa, tmp, &a)) != 0 ||
               (st = to_compute(c, &c->in[1], ct, bufb, tmp, &bt)) != 0) {
        return st;
    }
    bool direct = b.family != FAM_ARITH || dy == ct;
    void *y = direct ? out->data : bufy;
    if (code == EW_B_POW && dtype_is_float(da) && nb == 1 && tensor_get_f64(&c->in[1], 0) == 2.0) {
        // x^2 as x * x (the same rounded result, an order of magnitude faster than pow)
        b.op = EW_B_MUL;
        bt = a;
    }
    if ((st = bin_apply(c, &b, &a, &bt, out, y)) != 0)
        return st;
    if (!direct) {
        const char *k = "ew_cast";
        if ((st = ew_cast(ct, dy, y, out->data, (int64_t)ny, tmp, &k)) != 0)
            return ew_kernel_err(c, k, st);
    }
    return 0;
}

// ---------------------------------------------------------------- Sum, Mean, Max, Min

int ew_variadic_infer(OpCtx *c) {
    if (c->nin < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "takes at least one input");
    const Tensor *ts[64];
    if (c->nin > 64)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "more than 64 inputs");
    int dt = c->in[0].dtype, code = c->node->op->code;
    for (int i = 0; i < c->nin; i++) {
        if (c->in[i].dtype == DT_UNDEF)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is missing", i);
        if (c->in[i].dtype != dt)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "inputs of types %s and %s",
                            dtype_name(dt), dtype_name(c->in[i].dtype));
        if (c->node->opset < 8 && !tensor_same_shape(&c->in[i], &c->in[0]))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "inputs of different shapes (no "
                            "broadcasting before opset 8)");
        ts[i] = &c->in[i];
    }
    if (!numeric(dt) || (code == EW_B_MEAN && !dtype_is_float(dt)))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "input type %s is not supported",
                        dtype_name(dt));
    Tensor out = {0};
    int st = bcast(c, c->nin, ts, &out);
    if (st)
        return st;
    out.dtype = dt;
    out.data = NULL;
    c->out[0] = out;
    return 0;
}

// Scratch: the first input, the current one and Y in the compute type, and a conversion buffer.
size_t ew_variadic_scratch(const OpCtx *c) {
    int dt = c->in[0].dtype;
    if (ew_compute_type(dt) == dt)
        return 0;
    size_t m = (size_t)tensor_numel(&c->out[0]);
    for (int i = 0; i < c->nin; i++)
        if ((size_t)tensor_numel(&c->in[i]) > m)
            m = (size_t)tensor_numel(&c->in[i]);
    return 4 * align64(m * 8);
}

int ew_variadic_run(OpCtx *c) {
    int code = c->node->op->code, dt = c->in[0].dtype, ct = ew_compute_type(dt), st;
    const Tensor *out = &c->out[0];
    int64_t ny = tensor_numel(out);
    if (ny == 0)
        return 0;
    size_t m = (size_t)ny;
    for (int i = 0; i < c->nin; i++)
        if ((size_t)tensor_numel(&c->in[i]) > m)
            m = (size_t)tensor_numel(&c->in[i]);
    char *buf0 = c->scratch, *buf1 = NULL, *bufy = NULL, *tmp = NULL;
    if (buf0) {  // no scratch when nothing is converted
        buf1 = buf0 + align64(m * 8);
        bufy = buf1 + align64(m * 8);
        tmp = bufy + align64(m * 8);
    }
    bool direct = ct == dt;
    void *y = direct ? out->data : bufy;
    BinArg b = {FAM_ARITH, ct, EW_B_ADD};
    if (code == EW_B_VMAX)
        b.op = dt == DT_U64 ? EW_B_UMAX : EW_B_MAX;
    else if (code == EW_B_VMIN)
        b.op = dt == DT_U64 ? EW_B_UMIN : EW_B_MIN;
    Tensor acc = *out;
    acc.dtype = ct;
    acc.data = y;
    if (c->nin == 1) {
        // one input: its copy (the output has its shape)
        if (out->data != c->in[0].data)
            memcpy(out->data, c->in[0].data, tensor_bytes(out));
        return 0;
    }
    for (int i = 1; i < c->nin; i++) {
        Tensor a, bt;
        if (i == 1) {
            if ((st = to_compute(c, &c->in[0], ct, buf0, tmp, &a)) != 0)
                return st;
        } else {
            a = acc;  // y itself: each element is read before it is written, by one program
        }
        if ((st = to_compute(c, &c->in[i], ct, buf1, tmp, &bt)) != 0)
            return st;
        if ((st = bin_apply(c, &b, &a, &bt, out, y)) != 0)
            return st;
    }
    if (code == EW_B_MEAN) {
        float nf = (float)c->nin;
        double nd = (double)c->nin;
        Tensor div = {ct, 0, {0}, ct == DT_F32 ? (void *)&nf : (void *)&nd};
        b.op = EW_B_DIV;
        if ((st = bin_apply(c, &b, &acc, &div, out, y)) != 0)
            return st;
    }
    if (!direct) {
        const char *k = "ew_cast";
        if ((st = ew_cast(ct, dt, y, out->data, ny, tmp, &k)) != 0)
            return ew_kernel_err(c, k, st);
    }
    return 0;
}

// ---------------------------------------------------------------- Where

int ew_where_infer(OpCtx *c) {
    int st = ew_want_inputs(c, 3, 3);
    if (st)
        return st;
    if (c->in[0].dtype != DT_BOOL)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the condition is %s, not bool",
                        dtype_name(c->in[0].dtype));
    int dt = c->in[1].dtype;
    if (c->in[2].dtype != dt)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "X and Y of types %s and %s", dtype_name(dt),
                        dtype_name(c->in[2].dtype));
    size_t es = dtype_size(dt);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "type %s is not supported",
                        dtype_name(dt));
    const Tensor *ts[3] = {&c->in[0], &c->in[1], &c->in[2]};
    Tensor out = {0};
    if ((st = bcast(c, 3, ts, &out)) != 0)
        return st;
    if (es == 2 && out.rank >= RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "16-bit types of rank %d", out.rank);
    out.dtype = dt;
    out.data = NULL;
    c->out[0] = out;
    return 0;
}

// Whether X and Y are both broadcast in the innermost dimension: the kernel reads one of them
// contiguously there, so X is then expanded to the output's shape first.
static bool where_needs_expand(const Tensor *cond, const Tensor *x, const Tensor *y,
                               const Tensor *out) {
    const Tensor *ops[3] = {cond, x, y};
    EwShape sh;
    ew_collapse(out, 3, ops, &sh);
    return sh.rank > 0 && sh.strides[1][sh.rank - 1] == 0 && sh.strides[2][sh.rank - 1] == 0;
}

size_t ew_where_scratch(const OpCtx *c) {
    return where_needs_expand(&c->in[0], &c->in[1], &c->in[2], &c->out[0])
               ? tensor_bytes(&c->out[0])
               : 0;
}

typedef struct WhereArg {
    int bits;
} WhereArg;

static int where_launch(const EwLaunch *l, const void *arg) {
    const WhereArg *w = arg;
    const void *pa = l->p[1], *pb = l->p[2];
    const int64_t *sc = l->st[0], *sa = l->st[1], *sb = l->st[2];
    int ic = l->inner[0], ib = l->inner[2];
    int inv = 0;
    if (!l->inner[1]) {  // X broadcast in the innermost dimension: swap X and Y, invert
        const void *pt = pa;
        pa = pb, pb = pt;
        const int64_t *st = sa;
        sa = sb, sb = st;
        ib = 0;
        inv = -1;
    }
    const int64_t *d = l->d;
    switch (w->bits) {
    case 8:
        return ew_where_8(l->p[0], pa, pb, l->y, ic, ib, inv, d[0], d[1], d[2], d[3], sc[0],
                          sc[1], sc[2], sa[0], sa[1], sa[2], sb[0], sb[1], sb[2]);
    case 32:
        return ew_where_32(l->p[0], pa, pb, l->y, ic, ib, inv, d[0], d[1], d[2], d[3], sc[0],
                           sc[1], sc[2], sa[0], sa[1], sa[2], sb[0], sb[1], sb[2]);
    default:
        return ew_where_64(l->p[0], pa, pb, l->y, ic, ib, inv, d[0], d[1], d[2], d[3], sc[0],
                           sc[1], sc[2], sa[0], sa[1], sa[2], sb[0], sb[1], sb[2]);
    }
}

// Copies src (broadcast to out's shape, elements of es bytes) into dst, contiguous.
static void expand_copy(const Tensor *src, const Tensor *out, size_t es, void *dst) {
    const Tensor *ops[1] = {src};
    EwShape sh;
    ew_collapse(out, 1, ops, &sh);
    int64_t n = tensor_numel(out), idx[RMAX_RANK] = {0};
    const char *s = src->data;
    char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int k = 0; k < sh.rank; k++)
            off += idx[k] * sh.strides[0][k];
        memcpy(d + i * (int64_t)es, s + off * (int64_t)es, es);
        for (int k = sh.rank - 1; k >= 0 && ++idx[k] == sh.dims[k]; k--)
            idx[k] = 0;
    }
}

int ew_where_run(OpCtx *c) {
    Tensor out = c->out[0];
    if (tensor_numel(&out) == 0)
        return 0;
    Tensor cond = c->in[0], x = c->in[1], y = c->in[2];
    size_t es = dtype_size(out.dtype);
    int bits = (int)es * 8;
    if (es == 2) {
        // 16-bit elements as pairs of bytes: a trailing dimension of 2 that the condition
        // broadcasts along
        Tensor *ts[3] = {&x, &y, &out};
        for (int k = 0; k < 3; k++)
            ts[k]->dims[ts[k]->rank++] = 2;
        cond.dims[cond.rank++] = 1;
        bits = 8;
        es = 1;
    }
    if (where_needs_expand(&cond, &x, &y, &out)) {
        expand_copy(&x, &out, es, c->scratch);
        x.data = c->scratch;
        memcpy(x.dims, out.dims, sizeof out.dims);
        x.rank = out.rank;
    }
    const Tensor *ops[3] = {&cond, &x, &y};
    EwShape sh;
    ew_collapse(&out, 3, ops, &sh);
    const void *ptrs[3] = {cond.data, x.data, y.data};
    size_t esize[3] = {1, es, es};
    WhereArg w = {bits};
    c->kernel = bits == 8 ? "ew_where_8" : bits == 32 ? "ew_where_32" : "ew_where_64";
    int st = ew_for_launches(&sh, ptrs, esize, out.data, es, where_launch, &w);
    return st ? ew_kernel_err(c, c->kernel, st) : 0;
}
