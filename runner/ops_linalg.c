// runner/ops_linalg.c — matrix products: MatMul, Gemm, Einsum, MatMulInteger, QLinearMatMul.
//
// MatMul follows numpy: 1-D operands become a row or a column, batch dims broadcast. When B has
// no batch (or a batch of 1), the batch of A is folded into its rows and stdlib `matmul` runs
// once; otherwise stdlib `bmm` (la_bmm_f64 for double), whose batch of 1 broadcasts, with an
// operand expanded into scratch only when its batch broadcasts partly. Gemm runs on stdlib
// la_linear (runner/kernels/la_kernels.tile: alpha * A B + bias + beta * C, C broadcast to
// [M, N] in scratch unless it is a row or full); transposed
// operands go through stdlib `transpose`, a constant transposed B once at load. Einsum of one or
// two operands is a batched product: each operand is viewed (diagonals as summed strides,
// broadcast dims as stride 0) as [batch, rows, summed] and [batch, summed, cols], copied to that
// layout where it is not already, multiplied, and the result permuted to the output's order; a
// single operand is summed over its dropped labels with a rows reduction. MatMulInteger and
// QLinearMatMul run on la_bmm_int8 / la_qlinear_int8 with zero points and scales expanded to one
// per row of A and column of B.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "la_kernels.h"
#include "linear.h"
#include "kcall.h"
#include "matmul.h"
#include "rd_kernels.h"
#include "reduce.h"
#include "runner.h"
#include "transpose.h"

// ---------------------------------------------------------------- data movement


// Whether a view is the row-major layout of its dims (dims of size 1 may have any stride).
static bool is_contiguous(int rank, const int64_t *dims, const int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        if (dims[i] != 1 && strides[i] != s)
            return false;
        s *= dims[i];
    }
    return true;
}

static int64_t prod(const int64_t *d, int lo, int hi) {
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= d[i];
    return p;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static int kerr(OpCtx *c, const char *name, int st) {
    return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", name, st);
}

static bool is_const(const Node *n, const Graph *g, int i) {
    return i < n->nin && n->in[i] >= 0 && g->values[n->in[i]].kind == VAL_CONST &&
           g->values[n->in[i]].t.data != NULL;
}

// ---------------------------------------------------------------- MatMul

// The shapes of a numpy matmul: rows M, inner K, columns N; batches of A, B and the result;
// whether A or B must be expanded to the full batch (then with these batch strides).
typedef struct MM {
    int64_t M, K, N, BA, BB, BT;
    int brank;
    int64_t bdims[RMAX_RANK], sa[RMAX_RANK], sb[RMAX_RANK];
    bool expand_a, expand_b;
} MM;

static int mm_shape(const OpCtx *c, const Tensor *a, const Tensor *b, MM *s, Tensor *y) {
    if (a->rank < 1 || b->rank < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "MatMul operands need rank >= 1");
    int ra = a->rank, rb = b->rank;
    s->M = ra == 1 ? 1 : a->dims[ra - 2];
    s->K = a->dims[ra - 1];
    int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    s->N = rb == 1 ? 1 : b->dims[rb - 1];
    if (kb != s->K) {
        char x[128], z[128];
        return node_err(c, TILEC_MODEL_ERR_INPUT, "inner dimensions differ: %s and %s",
                        shape_str(a, x, sizeof x), shape_str(b, z, sizeof z));
    }
    int na = ra > 2 ? ra - 2 : 0, nb = rb > 2 ? rb - 2 : 0;
    s->brank = na > nb ? na : nb;
    s->BA = prod(a->dims, 0, na);
    s->BB = prod(b->dims, 0, nb);
    int64_t st_a = s->M * s->K, st_b = s->K * s->N;
    for (int i = s->brank - 1; i >= 0; i--) {
        int ia = i - (s->brank - na), ib = i - (s->brank - nb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char x[128], z[128];
            return node_err(c, TILEC_MODEL_ERR_INPUT, "batch dims do not broadcast: %s and %s",
                            shape_str(a, x, sizeof x), shape_str(b, z, sizeof z));
        }
        s->bdims[i] = da > db ? da : db;
        if (da == 0 || db == 0)
            s->bdims[i] = 0;
        s->sa[i] = da == 1 ? 0 : st_a;
        s->sb[i] = db == 1 ? 0 : st_b;
        st_a *= da;
        st_b *= db;
    }
    s->BT = prod(s->bdims, 0, s->brank);
    s->expand_a = !(s->BA == s->BT || s->BA == 1);
    s->expand_b = !(s->BB == s->BT || s->BB == 1);
    if (y) {
        y->rank = 0;
        for (int i = 0; i < s->brank; i++)
            y->dims[y->rank++] = s->bdims[i];
        if (ra > 1)
            y->dims[y->rank++] = s->M;
        if (rb > 1)
            y->dims[y->rank++] = s->N;
    }
    return 0;
}

static int matmul_infer(OpCtx *c) {
    const Tensor *a = &c->in[0], *b = &c->in[1];
    if (a->dtype != b->dtype || (a->dtype != DT_F32 && a->dtype != DT_F64))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element types %s and %s (float or "
                        "double)", dtype_name(a->dtype), dtype_name(b->dtype));
    MM s;
    c->out[0].dtype = a->dtype;
    return mm_shape(c, a, b, &s, &c->out[0]);
}

static size_t matmul_scratch(const OpCtx *c) {
    MM s;
    if (mm_shape(c, &c->in[0], &c->in[1], &s, NULL))
        return 0;
    size_t e = dtype_size(c->in[0].dtype), n = 0;
    if (s.expand_a)
        n += align64((size_t)(s.BT * s.M * s.K) * e);
    if (s.expand_b)
        n += align64((size_t)(s.BT * s.K * s.N) * e);
    return n;
}

// C[BT] = A[BA] @ B[BB] of either element type (the batches 1 or BT).
static int bmm_any(OpCtx *c, int dtype, const void *A, const void *B, void *C, int64_t BA,
                   int64_t M, int64_t K, int64_t BB, int64_t N, int64_t BT) {
    int st;
    if (dtype == DT_F64) {
        c->kernel = "la_bmm_f64";
        st = la_bmm_f64(A, B, C, BA, M, K, BB, N, BT);
    } else if (BB == 1 && BA == BT) {
        c->kernel = "matmul";
        st = kc_matmul(A, B, C, BT * M, K, N);
    } else {
        c->kernel = "bmm";
        st = kc_bmm(A, B, C, BA, M, K, BB, N, BT);
    }
    return st ? kerr(c, c->kernel, st) : 0;
}

static int matmul_run(OpCtx *c) {
    const Tensor *a = &c->in[0], *b = &c->in[1];
    MM s;
    int st = mm_shape(c, a, b, &s, NULL);
    if (st)
        return st;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    size_t e = dtype_size(a->dtype);
    const void *A = a->data, *B = b->data;
    char *sp = c->scratch;
    int64_t BA = s.BA, BB = s.BB;
    int64_t dims[RMAX_RANK + 2], str[RMAX_RANK + 2];
    memcpy(dims, s.bdims, sizeof(int64_t) * (size_t)s.brank);
    if (s.expand_a) {
        memcpy(str, s.sa, sizeof(int64_t) * (size_t)s.brank);
        dims[s.brank] = s.M, dims[s.brank + 1] = s.K;
        str[s.brank] = s.K, str[s.brank + 1] = 1;
        tensor_copy_strided(sp, A, s.brank + 2, dims, str, e);
        A = sp;
        sp += align64((size_t)(s.BT * s.M * s.K) * e);
        BA = s.BT;
    }
    if (s.expand_b) {
        memcpy(str, s.sb, sizeof(int64_t) * (size_t)s.brank);
        dims[s.brank] = s.K, dims[s.brank + 1] = s.N;
        str[s.brank] = s.N, str[s.brank + 1] = 1;
        tensor_copy_strided(sp, B, s.brank + 2, dims, str, e);
        B = sp;
        BB = s.BT;
    }
    return bmm_any(c, a->dtype, A, B, c->out[0].data, BA, s.M, s.K, BB, s.N, s.BT);
}

// ---------------------------------------------------------------- Gemm

typedef struct GemmState {
    float *bt;  // a constant B with transB: B^T, [K, N]
} GemmState;

static void gemm_free(void *p) {
    GemmState *s = p;
    if (s)
        free(s->bt);
    free(s);
}

static int gemm_prepare(Node *n, const Graph *g, RErr *e) {
    if (!attr_int(n, "transB", 0) || !is_const(n, g, 1))
        return 0;
    const Tensor *b = &g->values[n->in[1]].t;
    if (b->dtype != DT_F32 || b->rank != 2)
        return 0;  // infer() reports it
    GemmState *s = calloc(1, sizeof *s);
    size_t bytes = tensor_bytes(b);
    if (!s || !(s->bt = malloc(bytes ? bytes : 1))) {
        free(s);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory", n->name);
    }
    int st = transpose(b->data, s->bt, 1, b->dims[0], b->dims[1]);
    if (st) {
        gemm_free(s);
        return rerr(e, TILEC_MODEL_ERR_KERNEL, "node '%s': kernel transpose returned %d",
                    n->name, st);
    }
    n->state = s;
    return 0;
}

static bool has_in(const OpCtx *c, int i) { return i < c->nin && c->in[i].dtype != DT_UNDEF; }

static int gemm_infer(OpCtx *c) {
    const Tensor *a = &c->in[0], *b = &c->in[1];
    if (a->dtype != DT_F32 || b->dtype != DT_F32)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element types %s and %s (float only)",
                        dtype_name(a->dtype), dtype_name(b->dtype));
    if (a->rank != 2 || b->rank != 2)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "A and B must be matrices");
    bool ta = attr_int(c->node, "transA", 0), tb = attr_int(c->node, "transB", 0);
    int64_t M = a->dims[ta ? 1 : 0], K = a->dims[ta ? 0 : 1];
    int64_t kb = b->dims[tb ? 1 : 0], N = b->dims[tb ? 0 : 1];
    if (K != kb)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "inner dimensions differ (%lld and %lld)",
                        (long long)K, (long long)kb);
    if (has_in(c, 2)) {
        const Tensor *cc = &c->in[2];
        if (cc->dtype != DT_F32)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "C of type %s",
                            dtype_name(cc->dtype));
        if (cc->rank > 2 || (cc->rank == 2 && cc->dims[0] != 1 && cc->dims[0] != M) ||
            (cc->rank >= 1 && cc->dims[cc->rank - 1] != 1 && cc->dims[cc->rank - 1] != N))
            return node_err(c, TILEC_MODEL_ERR_INPUT, "C does not broadcast to %lldx%lld",
                            (long long)M, (long long)N);
    }
    Tensor *y = &c->out[0];
    y->dtype = DT_F32;
    y->rank = 2;
    y->dims[0] = M;
    y->dims[1] = N;
    return 0;
}

// How run() computes: with C as la_linear's bias (no C, or a row of N with beta 1), or as its R
// (C of [M, N], or C expanded to it in scratch).
typedef struct GemmPlan {
    int64_t M, K, N;
    bool ta, tb_copy, bias, expand_c;
    float alpha, beta;
} GemmPlan;

static void gemm_plan(const OpCtx *c, GemmPlan *p) {
    const Tensor *a = &c->in[0], *b = &c->in[1];
    p->ta = attr_int(c->node, "transA", 0) != 0;
    bool tb = attr_int(c->node, "transB", 0) != 0;
    p->tb_copy = tb && !(c->node->state && ((GemmState *)c->node->state)->bt);
    p->M = a->dims[p->ta ? 1 : 0];
    p->K = a->dims[p->ta ? 0 : 1];
    p->N = b->dims[tb ? 0 : 1];
    p->alpha = attr_float(c->node, "alpha", 1.0f);
    p->beta = attr_float(c->node, "beta", 1.0f);
    p->bias = true;
    p->expand_c = false;
    if (!has_in(c, 2) || tensor_numel(&c->in[2]) == 0)
        return;
    const Tensor *cc = &c->in[2];
    bool row = (cc->rank == 1 && cc->dims[0] == p->N) ||
               (cc->rank == 2 && cc->dims[0] == 1 && cc->dims[1] == p->N);
    p->bias = row && p->beta == 1.0f;
    p->expand_c = !p->bias && !(cc->rank == 2 && cc->dims[0] == p->M && cc->dims[1] == p->N);
}

static size_t gemm_scratch(const OpCtx *c) {
    GemmPlan p;
    gemm_plan(c, &p);
    size_t n = 0;
    if (p.ta)
        n += align64((size_t)(p.M * p.K) * sizeof(float));
    if (p.tb_copy)
        n += align64((size_t)(p.K * p.N) * sizeof(float));
    if (p.expand_c)
        n += align64((size_t)(p.M * p.N) * sizeof(float));
    return n;
}

static int gemm_run(OpCtx *c) {
    GemmPlan p;
    gemm_plan(c, &p);
    float *y = c->out[0].data;
    if (p.M == 0 || p.N == 0)
        return 0;
    char *sp = c->scratch;
    const float *A = c->in[0].data, *B = c->in[1].data;
    int st;
    if (p.ta) {
        float *t = (float *)sp;
        sp += align64((size_t)(p.M * p.K) * sizeof(float));
        c->kernel = "transpose";
        if ((st = transpose(A, t, 1, p.K, p.M)))
            return kerr(c, "transpose", st);
        A = t;
    }
    if (c->node->state && ((GemmState *)c->node->state)->bt) {
        B = ((GemmState *)c->node->state)->bt;
    } else if (p.tb_copy) {
        float *t = (float *)sp;
        sp += align64((size_t)(p.K * p.N) * sizeof(float));
        c->kernel = "transpose";
        if ((st = transpose(B, t, 1, p.N, p.K)))
            return kerr(c, "transpose", st);
        B = t;
    }
    bool has_c = has_in(c, 2) && tensor_numel(&c->in[2]) > 0;
    c->kernel = "la_linear";
    if (p.bias) {
        const float *bias = has_c ? c->in[2].data : NULL;
        st = kc_la_linear(A, B, bias, NULL, y, p.alpha, 0.0f, p.M, p.K, p.N, bias ? p.N : 0, 0, 0);
        return st ? kerr(c, "la_linear", st) : 0;
    }
    const float *R = c->in[2].data;
    if (p.expand_c) {
        float *t = (float *)sp;
        const Tensor *cc = &c->in[2];
        int64_t dm = cc->rank == 2 ? cc->dims[0] : 1, dn = cc->rank ? cc->dims[cc->rank - 1] : 1;
        int64_t dims[2] = {p.M, p.N}, str[2] = {dm == 1 ? 0 : dn, dn == 1 ? 0 : 1};
        tensor_copy_strided(t, R, 2, dims, str, sizeof(float));
        R = t;
    }
    st = kc_la_linear(A, B, NULL, R, y, p.alpha, p.beta, p.M, p.K, p.N, 0, p.M, p.N);
    return st ? kerr(c, "la_linear", st) : 0;
}

// ---------------------------------------------------------------- Einsum

// Labels are character codes; the dims of an ellipsis are the labels ELL + j (right-aligned:
// j counts from the ellipsis of the operand with most dims).
#define ELL 128
#define MAX_LABELS (ELL + RMAX_RANK)
#define MAX_TERM 64

typedef struct EinsumEq {
    int nops;
    int nlab[3];              // letters of each term (the output last)
    int lab[3][MAX_TERM];     // letters, with ELL at the ellipsis' place
    bool ell[3];
    bool explicit_out;
} EinsumEq;

static void einsum_free(void *p) { free(p); }

static int einsum_parse(const char *s, EinsumEq *q, char *why, size_t cap) {
    memset(q, 0, sizeof *q);
    int t = 0;
    bool out = false;
    for (const char *p = s; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p == ',') {
            if (out || ++t >= 2) {
                snprintf(why, cap, "only one or two operands are supported");
                return -1;
            }
            continue;
        }
        if (p[0] == '-' && p[1] == '>') {
            if (out) {
                snprintf(why, cap, "two '->'");
                return -1;
            }
            out = true;
            p++;
            continue;
        }
        int term = out ? 2 : t;
        if (p[0] == '.' && p[1] == '.' && p[2] == '.') {
            if (q->ell[term]) {
                snprintf(why, cap, "two ellipses in one term");
                return -1;
            }
            q->ell[term] = true;
            q->lab[term][q->nlab[term]++] = ELL;
            p += 2;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            snprintf(why, cap, "unexpected character '%c'", *p);
            return -1;
        }
        if (q->nlab[term] >= MAX_TERM - 1) {
            snprintf(why, cap, "a term is too long");
            return -1;
        }
        q->lab[term][q->nlab[term]++] = (unsigned char)*p;
    }
    q->nops = t + 1;
    q->explicit_out = out;
    return 0;
}

static int einsum_prepare(Node *n, const Graph *g, RErr *e) {
    (void)g;
    char buf[512], why[128];
    const char *eq = attr_str(n, "equation", NULL, buf, sizeof buf);
    if (!eq)
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (Einsum): no equation", n->name);
    EinsumEq *q = malloc(sizeof *q);
    if (!q)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory", n->name);
    if (einsum_parse(eq, q, why, sizeof why)) {
        free(q);
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' (Einsum): equation '%s': %s",
                    n->name, eq, why);
    }
    if (q->nops != n->nin) {
        int nops = q->nops;
        free(q);
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (Einsum): equation '%s' names %d "
                    "operands, the node has %d", n->name, eq, nops, n->nin);
    }
    n->state = q;
    return 0;
}

// An operand viewed by label: for each distinct label its size and its stride (summed over
// repeats: a diagonal).
typedef struct EView {
    int64_t size[MAX_LABELS], stride[MAX_LABELS];
    bool has[MAX_LABELS];
} EView;

typedef struct EPlan {
    int nops, nout;
    int out[MAX_TERM];               // output labels
    int64_t size[MAX_LABELS];        // of every label
    EView v[2];
    // Two operands: labels of the batch, left, right and summed groups, in that order.
    int ng[4];
    int grp[4][MAX_TERM];
    int64_t Bt, M, N, K;
    // One operand: the output labels then the summed ones.
    int ns;
    int sum[MAX_TERM];
    bool copy_a, copy_b, permute_out;  // which of the scratch buffers run() uses
} EPlan;

static int einsum_plan(const OpCtx *c, EPlan *p) {
    const EinsumEq *q = c->node->state;
    memset(p, 0, sizeof *p);
    p->nops = q->nops;
    int nell = 0, ellr[2] = {0, 0};
    for (int i = 0; i < q->nops; i++) {
        int letters = q->nlab[i] - (q->ell[i] ? 1 : 0);
        int r = c->in[i].rank;
        if (r < letters || (!q->ell[i] && r != letters))
            return node_err(c, TILEC_MODEL_ERR_INPUT, "operand %d has rank %d for %d labels", i,
                            r, letters);
        ellr[i] = r - letters;
        if (ellr[i] > nell)
            nell = ellr[i];
    }
    int count[MAX_LABELS] = {0};
    for (int l = 0; l < MAX_LABELS; l++)
        p->size[l] = -1;
    for (int i = 0; i < q->nops; i++) {
        const Tensor *t = &c->in[i];
        int64_t st[RMAX_RANK], s = 1;
        for (int d = t->rank - 1; d >= 0; d--) {
            st[d] = s;
            s *= t->dims[d];
        }
        EView *v = &p->v[i];
        int d = 0;
        for (int j = 0; j < q->nlab[i]; j++) {
            int nl = q->lab[i][j] == ELL ? ellr[i] : 1;
            for (int k = 0; k < nl; k++, d++) {
                int l = q->lab[i][j] == ELL ? ELL + (nell - ellr[i]) + k : q->lab[i][j];
                int64_t n = t->dims[d];
                if (v->has[l] && v->size[l] != n)
                    return node_err(c, TILEC_MODEL_ERR_INPUT, "label '%c' of operand %d has "
                                    "sizes %lld and %lld", l < ELL ? l : '.', i,
                                    (long long)v->size[l], (long long)n);
                if (!v->has[l])
                    count[l]++;
                v->has[l] = true;
                v->size[l] = n;
                v->stride[l] += st[d];
                if (p->size[l] < 0 || p->size[l] == 1)
                    p->size[l] = n;
                else if (n != 1 && n != p->size[l])
                    return node_err(c, TILEC_MODEL_ERR_INPUT, "label '%c' has sizes %lld and "
                                    "%lld", l < ELL ? l : '.', (long long)p->size[l],
                                    (long long)n);
            }
        }
    }
    // Dims of size 1 broadcast: stride 0.
    for (int i = 0; i < q->nops; i++)
        for (int l = 0; l < MAX_LABELS; l++)
            if (p->v[i].has[l] && p->v[i].size[l] != p->size[l])
                p->v[i].stride[l] = 0;
    bool in_out[MAX_LABELS] = {false};
    if (q->explicit_out) {
        for (int j = 0; j < q->nlab[2]; j++) {
            int l = q->lab[2][j];
            if (l == ELL) {
                for (int k = 0; k < nell; k++)
                    p->out[p->nout++] = ELL + k, in_out[ELL + k] = true;
                continue;
            }
            if (p->size[l] < 0)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "output label '%c' is not an "
                                "input label", l);
            if (in_out[l])
                return node_err(c, TILEC_MODEL_ERR_INVALID, "output label '%c' repeated", l);
            p->out[p->nout++] = l;
            in_out[l] = true;
        }
    } else {
        for (int k = 0; k < nell; k++)
            p->out[p->nout++] = ELL + k, in_out[ELL + k] = true;
        int seen[MAX_LABELS] = {0};
        for (int i = 0; i < q->nops; i++)
            for (int j = 0; j < q->nlab[i]; j++)
                if (q->lab[i][j] != ELL)
                    seen[q->lab[i][j]]++;
        for (int l = 0; l < ELL; l++)
            if (seen[l] == 1)
                p->out[p->nout++] = l, in_out[l] = true;
    }
    if (p->nout > RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "an output of rank %d", p->nout);
    if (q->nops == 1) {
        for (int l = 0; l < MAX_LABELS; l++)
            if (p->v[0].has[l] && !in_out[l])
                p->sum[p->ns++] = l;
        p->copy_a = true;
        return 0;
    }
    for (int l = 0; l < MAX_LABELS; l++) {
        bool ia = p->v[0].has[l], ib = p->v[1].has[l];
        if (!ia && !ib)
            continue;
        int g = !in_out[l] ? 3 : ia && ib ? 0 : ia ? 1 : 2;
        p->grp[g][p->ng[g]++] = l;
    }
    if (p->ng[0] + p->ng[1] + p->ng[3] > 2 * RMAX_RANK ||
        p->ng[0] + p->ng[3] + p->ng[2] > 2 * RMAX_RANK)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "too many labels");
    p->Bt = p->M = p->N = p->K = 1;
    for (int j = 0; j < p->ng[0]; j++)
        p->Bt *= p->size[p->grp[0][j]];
    for (int j = 0; j < p->ng[1]; j++)
        p->M *= p->size[p->grp[1][j]];
    for (int j = 0; j < p->ng[2]; j++)
        p->N *= p->size[p->grp[2][j]];
    for (int j = 0; j < p->ng[3]; j++)
        p->K *= p->size[p->grp[3][j]];
    // Whether each operand already lies as [batch, left, summed] / [batch, summed, right], and
    // the product as the output.
    int64_t dims[2 * RMAX_RANK + 2], str[2 * RMAX_RANK + 2];
    int order_a[3] = {0, 1, 3}, order_b[3] = {0, 3, 2};
    for (int op = 0; op < 2; op++) {
        int n = 0;
        for (int g = 0; g < 3; g++) {
            int gi = op ? order_b[g] : order_a[g];
            for (int j = 0; j < p->ng[gi]; j++) {
                int l = p->grp[gi][j];
                dims[n] = p->size[l];
                str[n++] = p->v[op].has[l] ? p->v[op].stride[l] : 0;
            }
        }
        bool contig = is_contiguous(n, dims, str);
        if (op == 0)
            p->copy_a = !contig;
        else
            p->copy_b = !contig;
    }
    // The product's labels (batch, left, right) against the output's, size-1 labels left out.
    int prod_l[MAX_TERM], np_ = 0, out_l[MAX_TERM], no = 0;
    for (int g = 0; g < 3; g++)
        for (int j = 0; j < p->ng[g]; j++)
            if (p->size[p->grp[g][j]] != 1)
                prod_l[np_++] = p->grp[g][j];
    for (int j = 0; j < p->nout; j++)
        if (p->size[p->out[j]] != 1)
            out_l[no++] = p->out[j];
    p->permute_out = np_ != no || memcmp(prod_l, out_l, sizeof(int) * (size_t)no) != 0;
    return 0;
}

static int einsum_infer(OpCtx *c) {
    const EinsumEq *q = c->node->state;
    if (!q)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "not prepared");
    int dt = c->in[0].dtype;
    for (int i = 0; i < c->nin; i++)
        if (c->in[i].dtype != dt || (dt != DT_F32 && dt != DT_F64))
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element type %s (float or double, "
                            "the same for all operands)", dtype_name(c->in[i].dtype));
    EPlan p;
    int st = einsum_plan(c, &p);
    if (st)
        return st;
    Tensor *y = &c->out[0];
    y->dtype = dt;
    y->rank = p.nout;
    for (int i = 0; i < p.nout; i++)
        y->dims[i] = p.size[p.out[i]];
    return 0;
}

static size_t einsum_scratch(const OpCtx *c) {
    EPlan p;
    if (einsum_plan(c, &p))
        return 0;
    size_t e = dtype_size(c->in[0].dtype);
    if (p.nops == 1)
        return p.ns ? align64((size_t)tensor_numel(&c->in[0]) * e) : 0;
    size_t n = 0;
    if (p.copy_a)
        n += align64((size_t)(p.Bt * p.M * p.K) * e);
    if (p.copy_b)
        n += align64((size_t)(p.Bt * p.K * p.N) * e);
    if (p.permute_out)
        n += align64((size_t)(p.Bt * p.M * p.N) * e);
    return n;
}

static int einsum_run(OpCtx *c) {
    EPlan p;
    int st = einsum_plan(c, &p);
    if (st)
        return st;
    Tensor *y = &c->out[0];
    int dt = c->in[0].dtype;
    size_t e = dtype_size(dt);
    if (tensor_numel(y) == 0)
        return 0;
    char *sp = c->scratch;
    int64_t dims[2 * RMAX_RANK + 2], str[2 * RMAX_RANK + 2];
    if (p.nops == 1) {
        // [output labels, summed labels] copied, then summed over the summed ones.
        int n = 0;
        int64_t R = 1;
        for (int j = 0; j < p.nout; j++)
            dims[n] = p.size[p.out[j]], str[n++] = p.v[0].stride[p.out[j]];
        for (int j = 0; j < p.ns; j++)
            dims[n] = p.size[p.sum[j]], str[n++] = p.v[0].stride[p.sum[j]], R *= dims[n - 1];
        if (p.ns == 0) {
            tensor_copy_strided(y->data, c->in[0].data, n, dims, str, e);
            return 0;
        }
        tensor_copy_strided(sp, c->in[0].data, n, dims, str, e);
        int64_t rows = tensor_numel(y);
        if (dt == DT_F64) {
            c->kernel = "rd_rows_f64";
            st = rd_rows_f64((const double *)sp, y->data, 0, rows, R);
        } else {
            c->kernel = "sum_rows";
            st = sum_rows((const float *)sp, y->data, rows, R);
        }
        return st ? kerr(c, c->kernel, st) : 0;
    }
    const void *op[2] = {c->in[0].data, c->in[1].data};
    int order[2][3] = {{0, 1, 3}, {0, 3, 2}};
    for (int o = 0; o < 2; o++) {
        if (!(o ? p.copy_b : p.copy_a))
            continue;
        int n = 0;
        for (int g = 0; g < 3; g++) {
            int gi = order[o][g];
            for (int j = 0; j < p.ng[gi]; j++) {
                int l = p.grp[gi][j];
                dims[n] = p.size[l];
                str[n++] = p.v[o].has[l] ? p.v[o].stride[l] : 0;
            }
        }
        tensor_copy_strided(sp, op[o], n, dims, str, e);
        op[o] = sp;
        if (sp)  // an empty product has no scratch
            sp += align64((size_t)(o ? p.Bt * p.K * p.N : p.Bt * p.M * p.K) * e);
    }
    void *res = p.permute_out ? (void *)sp : y->data;
    st = bmm_any(c, dt, op[0], op[1], res, p.Bt, p.M, p.K, p.Bt, p.N, p.Bt);
    if (st || !p.permute_out)
        return st;
    // The product's labels (batch, left, right) and their strides; gathered in output order.
    int64_t rst[MAX_LABELS] = {0}, s = 1;
    for (int g = 2; g >= 0; g--)
        for (int j = p.ng[g] - 1; j >= 0; j--) {
            rst[p.grp[g][j]] = s;
            s *= p.size[p.grp[g][j]];
        }
    for (int j = 0; j < p.nout; j++)
        dims[j] = p.size[p.out[j]], str[j] = rst[p.out[j]];
    tensor_copy_strided(y->data, res, p.nout, dims, str, e);
    return 0;
}

// ---------------------------------------------------------------- MatMulInteger, QLinearMatMul

// Inputs of the two ops: A, B and the zero points and scales of A and B (-1: none).
typedef struct QIn {
    int a, b, za, zb, sa, sb;
} QIn;

static const QIn mmi_in = {0, 1, 2, 3, -1, -1}, qlm_in = {0, 3, 2, 5, 1, 4};

static bool is_int8(int t) { return t == DT_U8 || t == DT_I8; }

// Checks a zero point or scale: one value, or one per row of A (per column of B) when that
// operand has no batch.
static int q_param(const OpCtx *c, int i, int dtype, int64_t per, bool batched, const char *what) {
    if (i < 0 || !has_in(c, i))
        return 0;
    const Tensor *z = &c->in[i];
    int64_t n = tensor_numel(z);
    if (z->dtype != dtype)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%s of type %s", what, dtype_name(z->dtype));
    if (n != 1 && !(n == per && !batched))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "%s of %lld elements (one, or one per "
                        "row of A / column of B)", what, (long long)n);
    return 0;
}

static int q_infer(OpCtx *c, const QIn *q, MM *s) {
    const Tensor *a = &c->in[q->a], *b = &c->in[q->b];
    if (!is_int8(a->dtype) || !is_int8(b->dtype))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "element types %s and %s (uint8, int8)",
                        dtype_name(a->dtype), dtype_name(b->dtype));
    int st = mm_shape(c, a, b, s, &c->out[0]);
    if (!st)
        st = q_param(c, q->za, a->dtype, s->M, s->BA != 1, "A's zero point");
    if (!st)
        st = q_param(c, q->zb, b->dtype, s->N, s->BB != 1, "B's zero point");
    if (!st)
        st = q_param(c, q->sa, DT_F32, s->M, s->BA != 1, "A's scale");
    if (!st)
        st = q_param(c, q->sb, DT_F32, s->N, s->BB != 1, "B's scale");
    return st;
}

static int mmi_infer(OpCtx *c) {
    MM s;
    c->out[0].dtype = DT_I32;
    return q_infer(c, &mmi_in, &s);
}

static int qlm_infer(OpCtx *c) {
    MM s;
    int st = q_infer(c, &qlm_in, &s);
    if (st)
        return st;
    for (int i = 1; i < 8; i++)
        if (!has_in(c, i))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is missing", i);
    const Tensor *ys = &c->in[6], *yz = &c->in[7];
    if (ys->dtype != DT_F32 || tensor_numel(ys) != 1 || !is_int8(yz->dtype) ||
        tensor_numel(yz) != 1)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "y_scale and y_zero_point must be one "
                        "float and one uint8/int8");
    c->out[0].dtype = yz->dtype;
    return 0;
}

static size_t q_scratch(const OpCtx *c, const QIn *q) {
    MM s;
    if (mm_shape(c, &c->in[q->a], &c->in[q->b], &s, NULL))
        return 0;
    size_t n = align64((size_t)(s.M + s.N) * 4) * 2;
    if (s.expand_a)
        n += align64((size_t)(s.BT * s.M * s.K));
    if (s.expand_b)
        n += align64((size_t)(s.BT * s.K * s.N));
    return n;
}

static size_t mmi_scratch(const OpCtx *c) { return q_scratch(c, &mmi_in); }
static size_t qlm_scratch(const OpCtx *c) { return q_scratch(c, &qlm_in); }

// A per-tensor or per-row/column parameter as n values (a copy; 0 or 1 when absent).
static void q_expand(const OpCtx *c, int i, int64_t n, int32_t *zi, float *zf) {
    const Tensor *t = i >= 0 && has_in(c, i) ? &c->in[i] : NULL;
    for (int64_t j = 0; j < n; j++) {
        int64_t k = t && tensor_numel(t) == 1 ? 0 : j;
        if (zi)
            zi[j] = t ? (int32_t)tensor_get_int(t, k) : 0;
        else
            zf[j] = t ? ((const float *)t->data)[k] : 1.0f;
    }
}

static int q_run(OpCtx *c, const QIn *q, bool requant) {
    const Tensor *a = &c->in[q->a], *b = &c->in[q->b];
    MM s;
    int st = mm_shape(c, a, b, &s, NULL);
    if (st)
        return st;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    char *sp = c->scratch;
    int32_t *za = (int32_t *)sp, *zb = za + s.M;
    sp += align64((size_t)(s.M + s.N) * 4);
    float *sa = (float *)sp, *sb = sa + s.M;
    sp += align64((size_t)(s.M + s.N) * 4);
    q_expand(c, q->za, s.M, za, NULL);
    q_expand(c, q->zb, s.N, zb, NULL);
    q_expand(c, q->sa, s.M, NULL, sa);
    q_expand(c, q->sb, s.N, NULL, sb);
    const void *A = a->data, *B = b->data;
    int64_t BA = s.BA, BB = s.BB;
    int64_t dims[RMAX_RANK + 2], str[RMAX_RANK + 2];
    memcpy(dims, s.bdims, sizeof(int64_t) * (size_t)s.brank);
    if (s.expand_a) {
        memcpy(str, s.sa, sizeof(int64_t) * (size_t)s.brank);
        dims[s.brank] = s.M, dims[s.brank + 1] = s.K;
        str[s.brank] = s.K, str[s.brank + 1] = 1;
        tensor_copy_strided(sp, A, s.brank + 2, dims, str, 1);
        A = sp;
        sp += align64((size_t)(s.BT * s.M * s.K));
        BA = s.BT;
    }
    if (s.expand_b) {
        memcpy(str, s.sb, sizeof(int64_t) * (size_t)s.brank);
        dims[s.brank] = s.K, dims[s.brank + 1] = s.N;
        str[s.brank] = s.N, str[s.brank + 1] = 1;
        tensor_copy_strided(sp, B, s.brank + 2, dims, str, 1);
        B = sp;
        BB = s.BT;
    }
    int ua = a->dtype == DT_U8, ub = b->dtype == DT_U8;
    if (!requant) {
        c->kernel = "la_bmm_int8";
        st = la_bmm_int8(A, B, za, zb, c->out[0].data, ua, ub, BA, s.M, s.K, BB, s.N, s.BT);
    } else {
        const Tensor *yz = &c->in[7];
        c->kernel = "la_qlinear_int8";
        st = la_qlinear_int8(A, B, za, zb, sa, sb, c->out[0].data, ua, ub, yz->dtype == DT_U8,
                             ((const float *)c->in[6].data)[0], (int32_t)tensor_get_int(yz, 0),
                             BA, s.M, s.K, BB, s.N, s.BT);
    }
    return st ? kerr(c, c->kernel, st) : 0;
}

static int mmi_run(OpCtx *c) { return q_run(c, &mmi_in, false); }
static int qlm_run(OpCtx *c) { return q_run(c, &qlm_in, true); }

// ---------------------------------------------------------------- the table

const OpDef ops_linalg[] = {
    {"MatMul", 1, 0, 0, 0, 0, NULL, matmul_infer, matmul_run, matmul_scratch, NULL},
    {"Gemm", 7, 0, 0, 0, 0, gemm_prepare, gemm_infer, gemm_run, gemm_scratch, gemm_free},
    {"Einsum", 12, 0, 0, 0, 0, einsum_prepare, einsum_infer, einsum_run, einsum_scratch,
     einsum_free},
    {"MatMulInteger", 10, 0, 0, 0, 0, NULL, mmi_infer, mmi_run, mmi_scratch, NULL},
    {"QLinearMatMul", 10, 0, 0, 0, 0, NULL, qlm_infer, qlm_run, qlm_scratch, NULL},
};
const int ops_linalg_count = (int)(sizeof ops_linalg / sizeof ops_linalg[0]);
