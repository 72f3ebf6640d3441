// runner/fuse_ew.c — elementwise chains fused into one generated kernel each (fuse_ew.h).
//
// At load, with a compile hook (TilecModelOptions.compile_kernel) and every graph input's shape
// fixed, the shapes of all values are inferred once (a plan for the declared input shapes), and
// the main graph is scanned from its last node back: an f32 elementwise node (the ops of
// op_text below) not yet taken starts a group, which then takes the producers of its operands
// while they are elementwise too, their output has the group's output shape and no other use
// (no other node, not a graph output, not read by a subgraph). A group of two nodes or more
// becomes one TilecFused node computing the last one's output: a small DAG (an operand read
// twice, as in x * sigmoid(x), is one kernel input) whose other operands are
//   - f32 constants of one element: written into the kernel as literals;
//   - every other value (computed, or constant): a kernel input, broadcast as ONNX says.
// The output's index space is collapsed (dimensions of size 1 dropped, neighbours merged where
// every input is broadcast alike) to at most three dimensions D0, D1, D2 (padded with leading
// ones); each input is declared with the dimensions it has (`X1: f32[D1]` for a per-channel
// [1, C, 1, 1] input of a [1, C, H, W] output), so the broadcast pattern is part of the kernel's
// text and its hash (a computed operand of one element is `f32[1]`, read as a scalar). Groups
// that need more than three dimensions or more than FUSED_MAX_INPUTS inputs are left alone.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fuse_ew.h"

// ---------------------------------------------------------------- data structures

// One operand of a group's node: a member's output (t<index>), a literal, or a kernel input.
enum { OPD_MEMBER, OPD_LITERAL, OPD_INPUT };

typedef struct Group {
    int root;                      // node index of the last member
    int members[FUSED_MAX_NODES];  // node indices, ascending (topological) once sorted
    int nmembers;
    int inputs[FUSED_MAX_INPUTS];  // value indices of the kernel inputs, in first use
    int ninputs;
    int64_t d[3];                     // collapsed dims
    unsigned mask[FUSED_MAX_INPUTS];  // bit k: input indexed along collapsed dim k
} Group;

// A growing text.
typedef struct Buf {
    char *s;
    size_t len, cap;
    bool oom;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// ---------------------------------------------------------------- text

static void put(Buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = b->oom ? -1 : vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s, b->cap = cap;
    }
}

// A finite float as a literal of the language ("3.0", "(-0.5)", "1e-05"); false for inf/nan.
static bool literal(float v, char *buf, size_t cap) {
    if (!isfinite(v))
        return false;
    char t[48];
    for (int digits = 6; digits <= 9; digits++) {  // the shortest text that reads back as v
        snprintf(t, sizeof t, "%.*g", digits, (double)v);
        if (strtof(t, NULL) == v)
            break;
    }
    bool has_point = strchr(t, '.') != NULL, has_exp = strchr(t, 'e') != NULL;
    char u[64];
    snprintf(u, sizeof u, "%s%s", t, has_point || has_exp ? "" : ".0");
    snprintf(buf, cap, v < 0 ? "(%s)" : "%s", u);
    return true;
}

// The helpers an expression may call: f32 tanh and erf through exp, as runner/kernels/
// ew_unary.tile computes them for the unfused ops (the builtins are libm calls per element).
static const char helper_tanh[] =
    "fn tanh_f(x) {\n"
    "    let t = abs(x);\n"
    "    let e = exp(-2.0 * t);\n"
    "    let big = (1.0 - e) / (1.0 + e);\n"
    "    let t2 = t * t;\n"
    "    let small = t * (1.0 + t2 * (-1.0 / 3.0 + t2 * (2.0 / 15.0 + t2 * (-17.0 / 315.0\n"
    "                                                                   + t2 * (62.0 / 2835.0)))));\n"
    "    let r = where(t < 0.125, small, big);\n"
    "    return where(x < 0.0, -r, r);\n"
    "}\n\n";

static const char helper_erf[] =
    "fn erfc_pos(t) {\n"
    "    let u = 1.0 / (1.0 + 0.5 * t);\n"
    "    let p = -1.26551223 + u * (1.00002368 + u * (0.37409196 + u * (0.09678418 + u * (-0.18628806\n"
    "            + u * (0.27886807 + u * (-1.13520398 + u * (1.48851587 + u * (-0.82215223\n"
    "            + u * 0.17087277))))))));\n"
    "    return u * exp(p - t * t);\n"
    "}\n\n"
    "fn erf_f(x) {\n"
    "    let x2 = x * x;\n"
    "    let small = 1.1283791670955126 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (1.0 / 10.0\n"
    "                + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0\n"
    "                + x2 * (1.0 / 9360.0)))))));\n"
    "    let big = 1.0 - erfc_pos(abs(x));\n"
    "    return where(abs(x) < 0.5, small, where(x < 0.0, -big, big));\n"
    "}\n\n";

enum { NEED_TANH = 1, NEED_ERF = 2 };

// ---------------------------------------------------------------- which nodes

static const Tensor *const_f32(const Graph *g, int v) {
    if (v < 0 || g->values[v].kind != VAL_CONST || g->values[v].t.dtype != DT_F32)
        return NULL;
    return &g->values[v].t;
}

// An f32 constant of one element (its value in *out).
static bool const_scalar(const Graph *g, int v, float *out) {
    const Tensor *t = const_f32(g, v);
    if (!t || tensor_numel(t) != 1)
        return false;
    *out = ((const float *)t->data)[0];
    return true;
}

static bool op_is(const Node *n, const char *op) { return strcmp(n->op_type, op) == 0; }

// How many of a node's inputs are operands of its expression (Clip's bounds are not: they are
// literals), or 0 when the op is not one this pass fuses.
static int operand_count(const Graph *g, const Node *n) {
    static const char *const unary[] = {"Relu", "Sigmoid", "Tanh",        "Exp",        "Log",
                                        "Sqrt", "Abs",     "Neg",         "Reciprocal", "Floor",
                                        "Ceil", "Erf",     "HardSigmoid", "HardSwish",  "LeakyRelu"};
    static const char *const binary[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++)
        if (op_is(n, unary[i]))
            return n->nin == 1 ? 1 : 0;
    for (size_t i = 0; i < sizeof binary / sizeof *binary; i++)
        if (op_is(n, binary[i]))
            return n->nin == 2 ? 2 : 0;
    if (op_is(n, "Clip")) {
        float v;
        for (int i = 1; i < n->nin; i++)
            if (n->in[i] >= 0 && !const_scalar(g, n->in[i], &v))
                return 0;
        return n->nin >= 1 ? 1 : 0;
    }
    return 0;
}

// A node this pass may fuse: a supported op on f32 operands with an f32 output (shapes from the
// load-time plan `vals`), no subgraph, not a shape computation, no epilogue.
static bool fusible(const Graph *g, const Tensor *vals, int k) {
    const Node *n = &g->nodes[k];
    int nops = n->dead || n->host || n->nsubgraphs || n->nout != 1 || n->epi.on ? 0 : operand_count(g, n);
    if (nops == 0 || n->out[0] < 0 || vals[n->out[0]].dtype != DT_F32 || vals[n->out[0]].rank < 0)
        return false;
    for (int i = 0; i < nops; i++)
        if (n->in[i] < 0 || vals[n->in[i]].dtype != DT_F32)
            return false;
    return true;
}

// ---------------------------------------------------------------- groups

// Uses of every value: node inputs, graph outputs, subgraphs reading it (as fuse.c counts them).
static int *count_uses(const Graph *g) {
    int *uses = calloc((size_t)g->nvalues + 1, sizeof *uses);
    if (!uses)
        return NULL;
    for (int v = 0; v < g->nvalues; v++)
        uses[v] = g->values[v].is_output ? 1 : 0;
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        for (int i = 0; i < n->nin; i++)
            if (n->in[i] >= 0)
                uses[n->in[i]]++;
        for (int s = 0; s < n->nsubgraphs; s++)
            for (int u = 0; u < n->subgraphs[s]->nvalues; u++)
                if (n->subgraphs[s]->values[u].kind == VAL_OUTER)
                    uses[n->subgraphs[s]->values[u].outer_index]++;
    }
    return uses;
}

static bool member_of(const Group *gr, int k) {
    for (int i = 0; i < gr->nmembers; i++)
        if (gr->members[i] == k)
            return true;
    return false;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

// Grows the group rooted at node `root` (members sorted ascending afterwards).
static void grow(const Graph *g, const Tensor *vals, const int *uses, const bool *taken, Group *gr) {
    const Tensor *shape = &vals[g->nodes[gr->root].out[0]];
    gr->members[0] = gr->root;
    gr->nmembers = 1;
    for (int i = 0; i < gr->nmembers; i++) {
        const Node *n = &g->nodes[gr->members[i]];
        int nops = operand_count(g, n);
        for (int j = 0; j < nops; j++) {
            int v = n->in[j];
            const Value *val = &g->values[v];
            int q = val->kind == VAL_NODE ? val->producer : -1;
            if (q < 0 || taken[q] || member_of(gr, q) || uses[v] != 1 || gr->nmembers == FUSED_MAX_NODES ||
                !fusible(g, vals, q) || !tensor_same_shape(&vals[v], shape))
                continue;
            gr->members[gr->nmembers++] = q;
        }
    }
    qsort(gr->members, (size_t)gr->nmembers, sizeof(int), cmp_int);
}

// The operand `j` of member node n: its kind, and for OPD_INPUT its index among the kernel
// inputs (added when new), for OPD_LITERAL its text. False when there are too many inputs.
static bool operand(const Graph *g, Group *gr, const Node *n, int j, int *kind, int *index, char *lit,
                    size_t cap) {
    int v = n->in[j];
    const Value *val = &g->values[v];
    float f;
    if (val->kind == VAL_NODE && member_of(gr, val->producer)) {
        *kind = OPD_MEMBER;
        for (int i = 0; i < gr->nmembers; i++)
            if (gr->members[i] == val->producer)
                *index = i;
        return true;
    }
    if (const_scalar(g, v, &f) && literal(f, lit, cap)) {
        *kind = OPD_LITERAL;
        return true;
    }
    *kind = OPD_INPUT;
    for (int i = 0; i < gr->ninputs; i++)
        if (gr->inputs[i] == v) {
            *index = i;
            return true;
        }
    if (gr->ninputs == FUSED_MAX_INPUTS)
        return false;
    *index = gr->ninputs;
    gr->inputs[gr->ninputs++] = v;
    return true;
}

// The collapsed index space of the output `o` and each kernel input's mask (0 for an input of one
// element); false when it needs more than three dimensions or an input does not broadcast to `o`.
static bool collapse(const Tensor *vals, Group *gr, const Tensor *o) {
    int64_t dims[RMAX_RANK];
    unsigned bits[RMAX_RANK];  // bit j: input j indexed along the dimension
    int n = 0;
    for (int d = 0; d < o->rank; d++) {
        if (o->dims[d] == 1)
            continue;
        unsigned b = 0;
        for (int j = 0; j < gr->ninputs; j++) {
            const Tensor *t = &vals[gr->inputs[j]];
            int k = d - (o->rank - t->rank);
            if (t->rank > o->rank || (k >= 0 && t->dims[k] != 1 && t->dims[k] != o->dims[d]))
                return false;
            if (k >= 0 && t->dims[k] == o->dims[d])
                b |= 1u << j;
        }
        if (n > 0 && bits[n - 1] == b) {
            dims[n - 1] *= o->dims[d];
            continue;
        }
        dims[n] = o->dims[d];
        bits[n++] = b;
    }
    if (n > 3)
        return false;
    for (int k = 0; k < 3; k++) {
        int src = k - (3 - n);
        gr->d[k] = src >= 0 ? dims[src] : 1;
    }
    for (int j = 0; j < gr->ninputs; j++) {
        gr->mask[j] = 0;
        for (int k = 0; k < 3; k++) {
            int src = k - (3 - n);
            if (src >= 0 && (bits[src] >> j & 1))
                gr->mask[j] |= 1u << k;
        }
    }
    return true;
}

// ---------------------------------------------------------------- the kernel's text

// The expression of member node n with operand texts a[] into b; false for an op or attribute
// this pass cannot write (a non-finite bound or coefficient).
static bool op_text(const Graph *g, const Node *n, char a[][64], Buf *b, int *need) {
    const char *x = a[0];
    char p0[64], p1[64];
    static const char *const infix[][2] = {{"Add", "+"}, {"Sub", "-"}, {"Mul", "*"}, {"Div", "/"}};
    for (size_t i = 0; i < sizeof infix / sizeof *infix; i++)
        if (op_is(n, infix[i][0])) {
            put(b, "%s %s %s", x, infix[i][1], a[1]);
            return true;
        }
    static const char *const call[][2] = {{"Sigmoid", "sigmoid"}, {"Exp", "exp"},     {"Log", "log"},
                                          {"Sqrt", "sqrt"},       {"Abs", "abs"},     {"Floor", "floor"},
                                          {"Ceil", "ceil"},       {"Tanh", "tanh_f"}, {"Erf", "erf_f"}};
    for (size_t i = 0; i < sizeof call / sizeof *call; i++)
        if (op_is(n, call[i][0])) {
            *need |= op_is(n, "Tanh") ? NEED_TANH : op_is(n, "Erf") ? NEED_ERF : 0;
            put(b, "%s(%s)", call[i][1], x);
            return true;
        }
    if (op_is(n, "Pow")) {
        float f;
        if (const_scalar(g, n->in[1], &f) && f == 2.0f)
            put(b, "%s * %s", x, x);
        else
            put(b, "pow(%s, %s)", x, a[1]);
    } else if (op_is(n, "Max") || op_is(n, "Min")) {
        put(b, "%s(%s, %s)", op_is(n, "Max") ? "maximum" : "minimum", x, a[1]);
    } else if (op_is(n, "Relu")) {
        put(b, "maximum(%s, 0.0)", x);
    } else if (op_is(n, "Neg")) {
        put(b, "-%s", x);
    } else if (op_is(n, "Reciprocal")) {
        put(b, "1.0 / %s", x);
    } else if (op_is(n, "HardSwish")) {
        put(b, "%s * clamp(%s / 6.0 + 0.5, 0.0, 1.0)", x, x);
    } else if (op_is(n, "HardSigmoid")) {
        if (!literal(attr_float(n, "alpha", 0.2f), p0, sizeof p0) ||
            !literal(attr_float(n, "beta", 0.5f), p1, sizeof p1))
            return false;
        put(b, "clamp(%s * %s + %s, 0.0, 1.0)", p0, x, p1);
    } else if (op_is(n, "LeakyRelu")) {
        if (!literal(attr_float(n, "alpha", 0.01f), p0, sizeof p0))
            return false;
        put(b, "where(%s < 0.0, %s * %s, %s)", x, p0, x, x);
    } else if (op_is(n, "Clip")) {
        // opset 11+: optional constant inputs min, max; before: attributes (defaults: none)
        float lo = -INFINITY, hi = INFINITY, f;
        if (n->opset < 11) {
            lo = attr_float(n, "min", -INFINITY), hi = attr_float(n, "max", INFINITY);
        } else {
            if (n->nin > 1 && n->in[1] >= 0 && const_scalar(g, n->in[1], &f))
                lo = f;
            if (n->nin > 2 && n->in[2] >= 0 && const_scalar(g, n->in[2], &f))
                hi = f;
        }
        bool has_lo = lo > -3.4e38f, has_hi = hi < 3.4e38f;
        if ((has_lo && !literal(lo, p0, sizeof p0)) || (has_hi && !literal(hi, p1, sizeof p1)))
            return false;
        if (has_lo && has_hi)
            put(b, "minimum(maximum(%s, %s), %s)", x, p0, p1);
        else if (has_lo)
            put(b, "maximum(%s, %s)", x, p0);
        else if (has_hi)
            put(b, "minimum(%s, %s)", x, p1);
        else
            put(b, "%s", x);
    } else {
        return false;
    }
    return true;
}

static const char *const dim_name[3] = {"D0", "D1", "D2"};
static const char *const dim_index[3] = {"p", "r : r + BR", "c : c + BC"};

// The kernel's text after `kernel NAME` (the part hashed) into b; false when an op cannot be
// written or an operand does not fit (too many inputs).
static bool write_body(const Graph *g, const Tensor *vals, Group *gr, Buf *body, int *need) {
    // The operands first: they decide the inputs.
    char lits[FUSED_MAX_NODES][2][64];
    int kinds[FUSED_MAX_NODES][2], idx[FUSED_MAX_NODES][2];
    for (int i = 0; i < gr->nmembers; i++) {
        const Node *n = &g->nodes[gr->members[i]];
        for (int j = 0; j < operand_count(g, n); j++)
            if (!operand(g, gr, n, j, &kinds[i][j], &idx[i][j], lits[i][j], sizeof lits[i][j]))
                return false;
    }
    if (gr->ninputs == 0 || !collapse(vals, gr, &vals[g->nodes[gr->root].out[0]]))
        return false;
    put(body, "(Y: out f32[D0, D1, D2]");
    for (int j = 0; j < gr->ninputs; j++) {
        put(body, ", X%d: f32[", j);
        const char *sep = "";
        for (int k = 0; k < 3; k++)
            if (gr->mask[j] >> k & 1)
                put(body, "%s%s", sep, dim_name[k]), sep = ", ";
        put(body, "%s]", gr->mask[j] ? "" : "1");
    }
    put(body, ")\n"
              "    tune BC in {2048, 64}\n"
              "    where BC == 64 || D1 == 1 || D2 >= 1024\n"
              "    grid (D0, cdiv(D1, 2048 / BC), cdiv(D2, BC))\n"
              "{\n"
              "    let BR = 2048 / BC;\n"
              "    let p = program_id(0);\n"
              "    let r = program_id(1) * BR;\n"
              "    let c = program_id(2) * BC;\n");
    for (int j = 0; j < gr->ninputs; j++) {
        unsigned m = gr->mask[j];
        put(body, "    let x%d = X%d[", j, j);
        const char *sep = "";
        for (int k = 0; k < 3; k++)
            if (m >> k & 1)
                put(body, "%s%s", sep, dim_index[k]), sep = ", ";
        // rows and columns of a BR x BC block: a missing one is a broadcast (None) dimension
        bool rows = m >> 1 & 1, cols = m >> 2 & 1;
        if (m == 0)
            put(body, "0]");  // one value: a scalar
        else if (!rows && !cols)
            put(body, " : p + 1][:, None]");  // one value per p: a [1, 1] tile
        else if (rows && !cols)
            put(body, "][:, None]");
        else if (!rows && cols)
            put(body, "][None, :]");
        else
            put(body, "]");
        put(body, ";\n");
    }
    for (int i = 0; i < gr->nmembers; i++) {
        const Node *n = &g->nodes[gr->members[i]];
        char a[2][64];
        for (int j = 0; j < operand_count(g, n); j++) {
            if (kinds[i][j] == OPD_MEMBER)
                snprintf(a[j], sizeof a[j], "t%d", idx[i][j]);
            else if (kinds[i][j] == OPD_INPUT)
                snprintf(a[j], sizeof a[j], "x%d", idx[i][j]);
            else
                snprintf(a[j], sizeof a[j], "%s", lits[i][j]);
        }
        put(body, "    let t%d = ", i);
        if (!op_text(g, n, a, body, need))
            return false;
        put(body, ";  // %s\n", n->op_type);
    }
    put(body, "    Y[p, r : r + BR, c : c + BC] = t%d;\n}\n", gr->nmembers - 1);
    return !body->oom;
}

// The whole source of the group's kernel (malloc'd) and its name; NULL when it cannot be written.
static char *write_source(const Graph *g, const Tensor *vals, Group *gr, char *name) {
    Buf body = {0}, src = {0};
    int need = 0;
    if (!write_body(g, vals, gr, &body, &need)) {
        free(body.s);
        return NULL;
    }
    XXH64_hash_t h = XXH64(body.s, body.len, 0);
    h = XXH64(&need, sizeof need, h);
    snprintf(name, FUSED_NAME_MAX, "fused_%016llx", (unsigned long long)h);
    put(&src,
        "// %s.tile — generated by tilec's runner (runner/fuse_ew.c): an elementwise chain of\n"
        "// %d nodes fused into one kernel. Y[D0, D1, D2] is the output's index space collapsed;\n"
        "// each input is declared with the dimensions it is not broadcast along.\n\n",
        name, gr->nmembers);
    if (need & NEED_TANH)
        put(&src, "%s", helper_tanh);
    if (need & NEED_ERF)
        put(&src, "%s", helper_erf);
    put(&src, "kernel %s%s", name, body.s);
    free(body.s);
    if (src.oom) {
        free(src.s);
        return NULL;
    }
    return src.s;
}

// ---------------------------------------------------------------- the fused node

static Attr *add_attr(Node *n, const char *name) {
    Attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    return a->name ? a : NULL;
}

static bool set_ints(Attr *a, const int64_t *v, int n) {
    a->nints = n;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (a->ints)
        memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    return a->ints != NULL;
}

extern const OpDef ops_fused[];

// The group's root rewritten into the TilecFused node (its output kept), the other members dead.
static int rewrite(Graph *g, const Tensor *vals, const Group *gr, const char *name, RErr *e) {
    Node *n = &g->nodes[gr->root];
    Attr *attrs = calloc(4, sizeof *attrs);
    int *in = malloc(sizeof(int) * (size_t)gr->ninputs);
    char *op_type = strdup("TilecFused");
    if (!attrs || !in || !op_type) {
        free(attrs), free(in), free(op_type);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    if (n->state && n->op->free_state)
        n->op->free_state(n->state);
    n->state = NULL;
    attrs_free(n->attrs, n->nattrs);
    free(n->in), free(n->op_type);
    n->attrs = attrs, n->nattrs = 0;
    n->in = in, n->nin = gr->ninputs;
    n->op_type = op_type;
    n->op = &ops_fused[0];
    memcpy(n->in, gr->inputs, sizeof(int) * (size_t)gr->ninputs);
    int64_t shapes[FUSED_MAX_INPUTS * (RMAX_RANK + 1)];
    int ns = 0;
    for (int j = 0; j < gr->ninputs; j++) {
        const Tensor *t = &vals[gr->inputs[j]];
        shapes[ns++] = t->rank;
        for (int d = 0; d < t->rank; d++)
            shapes[ns++] = t->dims[d];
    }
    const Tensor *o = &vals[n->out[0]];
    Attr *k = add_attr(n, "kernel"), *d = k ? add_attr(n, "dims") : NULL;
    Attr *s = d ? add_attr(n, "shape") : NULL, *i = s ? add_attr(n, "inputs") : NULL;
    bool ok = i && (k->s = strdup(name)) != NULL;
    if (ok)
        k->has_s = true, k->slen = strlen(name);
    ok = ok && set_ints(d, gr->d, 3) && set_ints(s, o->dims, o->rank) && set_ints(i, shapes, ns);
    for (int m = 0; m < gr->nmembers; m++)
        if (gr->members[m] != gr->root)
            g->nodes[gr->members[m]].dead = true;
    if (!ok)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    return n->op->prepare(n, g, e);
}

// ---------------------------------------------------------------- the pass

// A plan's shapes for the declared input shapes, or NULL when an input's shape is not fixed
// (or its values decide shapes).
static Plan *load_plan(TilecModel *m) {
    Graph *g = &m->graph;
    Tensor *ins = calloc((size_t)g->ninputs + 1, sizeof *ins);
    bool fixed = ins != NULL;
    for (int i = 0; fixed && i < g->ninputs; i++) {
        const Value *v = &g->values[g->inputs[i]];
        fixed = v->t.rank >= 0 && v->t.dtype != DT_UNDEF && !v->shape_relevant;
        for (int d = 0; fixed && d < v->t.rank; d++)
            fixed = v->t.dims[d] >= 0;
        if (fixed)
            ins[i] = v->t, ins[i].data = NULL;
    }
    Plan *p = NULL;
    RErr e;
    if (fixed && plan_build(m, ins, &p, &e) != 0)
        p = NULL;
    free(ins);
    return p;
}

int graph_fuse_ew(TilecModel *m, const TilecModelOptions *o, RErr *e) {
    if (!o || !o->compile_kernel)
        return 0;
    Graph *g = &m->graph;
    Plan *p = load_plan(m);
    if (!p)
        return 0;
    int *uses = count_uses(g);
    bool *taken = calloc((size_t)g->nnodes + 1, sizeof *taken);
    int st = uses && taken ? 0 : rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    for (int k = g->nnodes - 1; k >= 0 && !st; k--) {
        if (taken[k] || !fusible(g, p->vals, k))
            continue;
        Group gr = {.root = k};
        grow(g, p->vals, uses, taken, &gr);
        if (gr.nmembers < 2)
            continue;
        char name[FUSED_NAME_MAX];
        char *src = write_source(g, p->vals, &gr, name);
        void *fn = src ? fused_kernel_find(name) : NULL;
        if (src && !fn && (fn = o->compile_kernel(o->compile_ctx, name, src)) != NULL &&
            !fused_kernel_add(name, fn))
            st = rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        // A group whose kernel did not compile is left whole (no smaller group of its nodes is
        // tried: each would fail alike).
        for (int i = 0; src && !fn && i < gr.nmembers; i++)
            taken[gr.members[i]] = true;
        free(src);
        if (!fn || st)
            continue;
        for (int i = 0; i < gr.nmembers; i++)
            taken[gr.members[i]] = true;
        st = rewrite(g, p->vals, &gr, name, e);
    }
    plan_free(p, g->nvalues);
    free(uses), free(taken);
    return st;
}
