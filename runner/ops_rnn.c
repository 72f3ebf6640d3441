// runner/ops_rnn.c — recurrent layers: LSTM, GRU and RNN (directions forward, reverse and
// bidirectional; sequence_lens; initial states; activations with alpha/beta; clip; LSTM
// peepholes and input_forget; GRU linear_before_reset; layout 0 and 1).
//
// Per direction, X W^T + Wb for all time steps is one la_linear ([S*B, I] x [I, gates*H]; the
// product of runner/kernels/la_kernels.tile, many times faster than stdlib `linear` at these
// shapes); each step then adds H R^T + Rb with la_linear and runs the gate arithmetic of
// runner/kernels/rnn_kernels.tile. GRU without linear_before_reset needs (r * H) R_h^T: its z and
// r gates come first (weights split into [zr] and [h] parts), then `rnn_gru_reset`, a second
// product and `rnn_gru_cell`. W and R are transposed per gate group (stdlib `transpose`), at load
// when they are constants, else into scratch. A sequence past its sequence_lens entry carries
// its state and outputs zeros (so the reverse direction starts at each sequence's own end).
// Layout 1 (batch first) is copied to layout 0 and back.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "la_kernels.h"
#include "rnn_kernels.h"
#include "runner.h"
#include "transpose.h"

enum { K_LSTM = 0, K_GRU = 1, K_RNN = 2 };
static const int n_gates[3] = {4, 3, 1};
static const int n_acts[3] = {3, 2, 1};

// Activation codes of rnn_kernels.tile.
static const char *const act_names[] = {"Sigmoid", "Tanh", "Relu", "Affine", "LeakyRelu",
                                        "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu",
                                        "Softsign", "Softplus"};
// Default alpha and beta of each (NAN: the function takes none).
static const float act_alpha[] = {NAN, NAN, NAN, 1.0f, 0.01f, 1.0f, 1.0f, 0.2f, 1.0f, NAN, NAN};
static const float act_beta[] = {NAN, NAN, NAN, 0.0f, NAN, NAN, 1.0f, 0.5f, NAN, NAN, NAN};

typedef struct RnnState {
    int kind, dirs, H;
    bool rev[2];
    int act[2][3];
    float alpha[2][3], beta[2][3];
    float clip;
    int input_forget, lbr, layout;
    float *w;  // W and R transposed per direction (rnn_pack), when both are constants
} RnnState;

static void rnn_free(void *p) {
    RnnState *s = p;
    if (s)
        free(s->w);
    free(s);
}

// ---------------------------------------------------------------- helpers

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static bool has_in(const OpCtx *c, int i) { return i < c->nin && c->in[i].dtype != DT_UNDEF; }

static int kerr(OpCtx *c, const char *name, int st) {
    return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", name, st);
}

// dst [d0, d1, d2] = src [d1, d0, d2] (swaps the two outer dims of a 3-D tensor).
static void swap01(float *dst, const float *src, int64_t d0, int64_t d1, int64_t d2) {
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++)
            memcpy(dst + (i * d1 + j) * d2, src + (j * d0 + i) * d2, (size_t)d2 * sizeof(float));
}

// ---------------------------------------------------------------- load

// Gate groups of one direction's weights: rows [r0, r0 + nr) of W/R (GRU: [zr], [h]).
static int groups(int kind, int H, int64_t *r0, int64_t *nr) {
    if (kind == K_GRU) {
        r0[0] = 0, nr[0] = 2 * H, r0[1] = 2 * H, nr[1] = H;
        return 2;
    }
    r0[0] = 0, nr[0] = (int64_t)n_gates[kind] * H;
    return 1;
}

// Transposed weights of direction d: W's group g at wt + d * (I + H) * GH + I * r0 ([I, nr]),
// R's at wt + d * (I + H) * GH + I * GH + H * r0 ([H, nr]).
static int rnn_pack(int kind, int dirs, int64_t H, int64_t I, const float *W, const float *R,
                    float *wt) {
    int64_t GH = n_gates[kind] * H, r0[2], nr[2];
    int ng = groups(kind, (int)H, r0, nr);
    for (int d = 0; d < dirs; d++) {
        float *base = wt + d * (I + H) * GH;
        for (int g = 0; g < ng; g++) {
            int st = transpose(W + (d * GH + r0[g]) * I, base + I * r0[g], 1, nr[g], I);
            if (!st)
                st = transpose(R + (d * GH + r0[g]) * H, base + I * GH + H * r0[g], 1, nr[g], H);
            if (st)
                return st;
        }
    }
    return 0;
}

static bool same_name(const char *a, const char *b) {  // ASCII, case-insensitive
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

static int act_code(const char *s) {
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (same_name(s, act_names[i]))
            return i;
    return -1;
}

static int rnn_prepare(Node *n, const Graph *g, RErr *e) {
    RnnState *s = calloc(1, sizeof *s);
    if (!s)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory", n->name);
    n->state = s;
    s->kind = n->op->code;
    char buf[64];
    const char *dir = attr_str(n, "direction", "forward", buf, sizeof buf);
    if (strcmp(dir, "forward") == 0) {
        s->dirs = 1;
    } else if (strcmp(dir, "reverse") == 0) {
        s->dirs = 1, s->rev[0] = true;
    } else if (strcmp(dir, "bidirectional") == 0) {
        s->dirs = 2, s->rev[1] = true;
    } else {
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (%s): direction '%s'", n->name,
                    n->op_type, dir);
    }
    s->H = (int)attr_int(n, "hidden_size", 0);
    s->clip = attr_has(n, "clip") ? attr_float(n, "clip", 0.0f) : INFINITY;
    if (!(s->clip > 0.0f))
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (%s): clip must be positive",
                    n->name, n->op_type);
    s->input_forget = (int)attr_int(n, "input_forget", 0);
    s->lbr = (int)attr_int(n, "linear_before_reset", 0);
    s->layout = (int)attr_int(n, "layout", 0);
    if (s->layout != 0 && s->layout != 1)
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (%s): layout %d", n->name,
                    n->op_type, s->layout);
    // Activations: given per direction, alpha/beta consumed in order by those that take them.
    int na = n_acts[s->kind];
    static const int defaults[3][3] = {{0, 1, 1}, {0, 1, 0}, {1, 0, 0}};
    int cnt = attr_strings(n, "activations", -1, NULL, 0);
    if (cnt >= 0 && cnt != na * s->dirs)
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (%s): %d activations for %d",
                    n->name, n->op_type, cnt, na * s->dirs);
    const float *al = NULL, *be = NULL;
    int nal = attr_floats(n, "activation_alpha", &al), nbe = attr_floats(n, "activation_beta", &be);
    int ia = 0, ib = 0;
    for (int d = 0; d < s->dirs; d++)
        for (int k = 0; k < na; k++) {
            int code = defaults[s->kind][k];
            if (cnt > 0) {
                attr_strings(n, "activations", d * na + k, buf, sizeof buf);
                if ((code = act_code(buf)) < 0)
                    return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' (%s): activation "
                                "'%s'", n->name, n->op_type, buf);
            }
            s->act[d][k] = code;
            s->alpha[d][k] = act_alpha[code];
            s->beta[d][k] = act_beta[code];
            if (!isnan(act_alpha[code]) && ia < nal)
                s->alpha[d][k] = al[ia++];
            if (!isnan(act_beta[code]) && ib < nbe)
                s->beta[d][k] = be[ib++];
        }
    // Constant W and R: transposed once.
    if (n->nin < 3 || n->in[1] < 0 || n->in[2] < 0)
        return 0;
    const Value *w = &g->values[n->in[1]], *r = &g->values[n->in[2]];
    if (s->H <= 0 || w->kind != VAL_CONST || r->kind != VAL_CONST || !w->t.data || !r->t.data ||
        w->t.dtype != DT_F32 || r->t.dtype != DT_F32 || w->t.rank != 3 || r->t.rank != 3 ||
        w->t.dims[0] != s->dirs || w->t.dims[1] != (int64_t)n_gates[s->kind] * s->H ||
        r->t.dims[0] != s->dirs || r->t.dims[1] != w->t.dims[1] || r->t.dims[2] != s->H)
        return 0;  // infer() reports what is wrong
    int64_t I = w->t.dims[2];
    size_t bytes = (size_t)(s->dirs * (I + s->H) * w->t.dims[1]) * sizeof(float);
    if (!(s->w = malloc(bytes ? bytes : 1)))
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory", n->name);
    int st = rnn_pack(s->kind, s->dirs, s->H, I, w->t.data, r->t.data, s->w);
    if (st)
        return rerr(e, TILEC_MODEL_ERR_KERNEL, "node '%s': kernel transpose returned %d",
                    n->name, st);
    return 0;
}

// ---------------------------------------------------------------- shapes

typedef struct RDims {
    int64_t S, B, I, H, GH, D;
} RDims;

static int check(const OpCtx *c, int i, int rank, const int64_t *dims, const char *what) {
    if (!has_in(c, i))
        return 0;
    const Tensor *t = &c->in[i];
    bool ok = t->dtype == (i == 4 ? DT_I32 : DT_F32) && t->rank == rank;
    for (int k = 0; ok && k < rank; k++)
        ok = t->dims[k] == dims[k];
    if (!ok) {
        char s[128];
        return node_err(c, TILEC_MODEL_ERR_INPUT, "%s: %s %s", what, dtype_name(t->dtype),
                        shape_str(t, s, sizeof s));
    }
    return 0;
}

static int rnn_dims(const OpCtx *c, RDims *r) {
    const RnnState *s = c->node->state;
    if (!s)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "not prepared");
    if (c->nin < 3 || !has_in(c, 0) || !has_in(c, 1) || !has_in(c, 2))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "X, W and R are required");
    const Tensor *x = &c->in[0];
    if (x->dtype != DT_F32 || x->rank != 3)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "X must be a 3-D float tensor");
    r->S = x->dims[s->layout ? 1 : 0];
    r->B = x->dims[s->layout ? 0 : 1];
    r->I = x->dims[2];
    r->H = s->H > 0 ? s->H : c->in[2].rank == 3 ? c->in[2].dims[2] : 0;
    r->D = s->dirs;
    r->GH = (int64_t)n_gates[s->kind] * r->H;
    if (r->H <= 0)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "hidden_size must be positive");
    int64_t w[3] = {r->D, r->GH, r->I}, rr[3] = {r->D, r->GH, r->H}, b[2] = {r->D, 2 * r->GH};
    int64_t lens[1] = {r->B}, p[2] = {r->D, 3 * r->H};
    int64_t hd[3] = {r->D, r->B, r->H};
    if (s->layout)
        hd[0] = r->B, hd[1] = r->D;
    int st = check(c, 1, 3, w, "W");
    if (!st)
        st = check(c, 2, 3, rr, "R");
    if (!st)
        st = check(c, 3, 2, b, "B");
    if (!st)
        st = check(c, 4, 1, lens, "sequence_lens");
    if (!st)
        st = check(c, 5, 3, hd, "initial_h");
    if (!st && s->kind == K_LSTM)
        st = check(c, 6, 3, hd, "initial_c");
    if (!st && s->kind == K_LSTM)
        st = check(c, 7, 2, p, "P");
    if (!st && s->kind != K_LSTM && c->nin > 6)
        st = node_err(c, TILEC_MODEL_ERR_INVALID, "%d inputs", c->nin);
    return st;
}

static int rnn_infer(OpCtx *c) {
    RDims r;
    int st = rnn_dims(c, &r);
    if (st)
        return st;
    const RnnState *s = c->node->state;
    int maxout = s->kind == K_LSTM ? 3 : 2;
    if (c->nout > maxout)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%d outputs", c->nout);
    for (int i = 0; i < c->nout; i++) {
        Tensor *y = &c->out[i];
        y->dtype = DT_F32;
        if (i == 0) {
            y->rank = 4;
            int64_t d0[4] = {r.S, r.D, r.B, r.H}, d1[4] = {r.B, r.S, r.D, r.H};
            memcpy(y->dims, s->layout ? d1 : d0, sizeof d0);
        } else {
            y->rank = 3;
            int64_t d0[3] = {r.D, r.B, r.H}, d1[3] = {r.B, r.D, r.H};
            memcpy(y->dims, s->layout ? d1 : d0, sizeof d0);
        }
    }
    return 0;
}

// ---------------------------------------------------------------- run

// Scratch buffers (offsets in bytes).
enum { SB_X, SB_W, SB_XW, SB_Y, SB_H, SB_C, SB_H0, SB_C0, SB_G, SB_RH, SB_GH, SB_LENS, SB_N };

static size_t rnn_buffers(const OpCtx *c, const RDims *r, size_t *off) {
    const RnnState *s = c->node->state;
    size_t f = sizeof(float), sz[SB_N] = {0};
    if (s->layout)
        sz[SB_X] = (size_t)(r->S * r->B * r->I) * f;
    if (!s->w)
        sz[SB_W] = (size_t)(r->D * (r->I + r->H) * r->GH) * f;
    sz[SB_XW] = (size_t)(r->S * r->B * r->GH) * f;
    if (s->layout || c->nout < 1)
        sz[SB_Y] = (size_t)(r->S * r->D * r->B * r->H) * f;
    sz[SB_H] = sz[SB_C] = (size_t)(2 * r->B * r->H) * f;
    sz[SB_H0] = sz[SB_C0] = (size_t)(r->D * r->B * r->H) * f;
    sz[SB_G] = (size_t)(r->B * r->GH) * f;
    sz[SB_RH] = sz[SB_GH] = (size_t)(r->B * r->H) * f;
    sz[SB_LENS] = (size_t)r->B * sizeof(int32_t);
    size_t total = 0;
    for (int i = 0; i < SB_N; i++) {
        off[i] = total;
        total += align64(sz[i]);
    }
    return total;
}

static size_t rnn_scratch(const OpCtx *c) {
    RDims r;
    size_t off[SB_N];
    if (rnn_dims(c, &r))
        return 0;
    return rnn_buffers(c, &r, off);
}

// One time step t of direction d: Hn (and Cn) from Hp (and Cp), output into Y.
typedef struct Step {
    const float *xw, *wt, *bias, *p;  // XW of step t; packed weights of d; B of d; P of d
    const float *hp, *cp;
    float *hn, *cn, *y;
    int64_t t;
    int d;
} Step;

static int rnn_step(OpCtx *c, const RDims *r, const Step *k, char *sp, const size_t *off) {
    const RnnState *s = c->node->state;
    int64_t B = r->B, H = r->H, GH = r->GH, I = r->I;
    const int32_t *lens = (const int32_t *)(sp + off[SB_LENS]);
    float *G = (float *)(sp + off[SB_G]);
    const float *rt = k->wt + I * GH;  // R^T of this direction
    const float *rb = k->bias ? k->bias + GH : NULL;
    const int *a = s->act[k->d];
    const float *al = s->alpha[k->d], *be = s->beta[k->d];
    int st;
    if (s->kind != K_GRU) {
        c->kernel = "la_linear";
        st = la_linear(k->hp, rt, rb, k->xw, G, 1.0f, 1.0f, B, H, GH, rb ? GH : 0, B, GH);
        if (st)
            return kerr(c, "la_linear", st);
        if (s->kind == K_LSTM) {
            c->kernel = "rnn_lstm_cell";
            st = rnn_lstm_cell(G, k->cp, k->hp, k->p, lens, k->hn, k->cn, k->y, k->t, s->clip,
                               s->input_forget, a[0], al[0], be[0], a[1], al[1], be[1], a[2],
                               al[2], be[2], B, GH, H, k->p ? 3 * H : 0);
        } else {
            c->kernel = "rnn_cell";
            st = rnn_cell(G, k->hp, lens, k->hn, k->y, k->t, s->clip, a[0], al[0], be[0], B, H);
        }
        return st ? kerr(c, c->kernel, st) : 0;
    }
    // GRU: XW is [S*B, 2H] (z, r) then [S*B, H] (h) for all steps; k->xw points at step t's zr.
    const float *xwh = (const float *)(sp + off[SB_XW]) + r->S * B * 2 * H + k->t * B * H;
    const float *rzr = rt, *rh = rt + H * 2 * H;
    float *RH = (float *)(sp + off[SB_RH]), *Gh = (float *)(sp + off[SB_GH]);
    c->kernel = "la_linear";
    st = la_linear(k->hp, rzr, rb, k->xw, G, 1.0f, 1.0f, B, H, 2 * H, rb ? 2 * H : 0, B, 2 * H);
    if (st)
        return kerr(c, "la_linear", st);
    const float *rbh = rb ? rb + 2 * H : NULL;
    const float *gh, *hrh;
    if (s->lbr) {
        c->kernel = "la_linear";
        if ((st = la_linear(k->hp, rh, rbh, NULL, Gh, 1.0f, 0.0f, B, H, H, rbh ? H : 0, 0, 0)))
            return kerr(c, "la_linear", st);
        gh = xwh, hrh = Gh;
    } else {
        c->kernel = "rnn_gru_reset";
        if ((st = rnn_gru_reset(G, k->hp, RH, s->clip, a[0], al[0], be[0], B, 2 * H, H)))
            return kerr(c, "rnn_gru_reset", st);
        c->kernel = "la_linear";
        st = la_linear(RH, rh, rbh, xwh, Gh, 1.0f, 1.0f, B, H, H, rbh ? H : 0, B, H);
        if (st)
            return kerr(c, "la_linear", st);
        gh = hrh = Gh;
    }
    c->kernel = "rnn_gru_cell";
    st = rnn_gru_cell(G, gh, hrh, k->hp, lens, k->hn, k->y, k->t, s->clip, s->lbr, a[0], al[0],
                      be[0], a[1], al[1], be[1], B, 2 * H, H);
    return st ? kerr(c, "rnn_gru_cell", st) : 0;
}

static int rnn_run(OpCtx *c) {
    const RnnState *s = c->node->state;
    RDims r;
    int st = rnn_dims(c, &r);
    if (st)
        return st;
    size_t off[SB_N];
    rnn_buffers(c, &r, off);
    char *sp = c->scratch;
    int64_t S = r.S, B = r.B, I = r.I, H = r.H, GH = r.GH, D = r.D;
    const float *X = c->in[0].data;
    if (s->layout) {
        swap01((float *)(sp + off[SB_X]), X, S, B, I);
        X = (const float *)(sp + off[SB_X]);
    }
    const float *wt = s->w;
    if (!wt) {
        float *w = (float *)(sp + off[SB_W]);
        if ((st = rnn_pack(s->kind, (int)D, H, I, c->in[1].data, c->in[2].data, w)))
            return kerr(c, "transpose", st);
        wt = w;
    }
    int32_t *lens = (int32_t *)(sp + off[SB_LENS]);
    for (int64_t b = 0; b < B; b++) {
        int64_t l = has_in(c, 4) ? ((const int32_t *)c->in[4].data)[b] : S;
        if (l < 0 || l > S)
            return node_err(c, TILEC_MODEL_ERR_INPUT, "sequence_lens[%lld] = %lld for %lld "
                            "steps", (long long)b, (long long)l, (long long)S);
        lens[b] = (int32_t)l;
    }
    // Initial states as [D, B, H].
    float *h0 = (float *)(sp + off[SB_H0]), *c0 = (float *)(sp + off[SB_C0]);
    for (int i = 0; i < 2; i++) {
        int in = i ? 6 : 5;
        float *dst = i ? c0 : h0;
        if (i && s->kind != K_LSTM)
            break;
        if (!has_in(c, in))
            memset(dst, 0, (size_t)(D * B * H) * sizeof(float));
        else if (s->layout)
            swap01(dst, c->in[in].data, D, B, H);
        else
            memcpy(dst, c->in[in].data, (size_t)(D * B * H) * sizeof(float));
    }
    bool y_direct = !s->layout && c->nout >= 1;
    float *Y = y_direct ? c->out[0].data : (float *)(sp + off[SB_Y]);
    float *Hb = (float *)(sp + off[SB_H]), *Cb = (float *)(sp + off[SB_C]);
    float *XW = (float *)(sp + off[SB_XW]);
    for (int d = 0; d < D; d++) {
        const float *wd = wt + d * (I + H) * GH;
        const float *bias = has_in(c, 3) ? (const float *)c->in[3].data + d * 2 * GH : NULL;
        // X W^T + Wb for every step (GRU: the zr part, then the h part).
        c->kernel = "la_linear";
        if (s->kind == K_GRU) {
            st = la_linear(X, wd, bias, NULL, XW, 1.0f, 0.0f, S * B, I, 2 * H, bias ? 2 * H : 0,
                           0, 0);
            if (!st)
                st = la_linear(X, wd + I * 2 * H, bias ? bias + 2 * H : NULL, NULL,
                               XW + S * B * 2 * H, 1.0f, 0.0f, S * B, I, H, bias ? H : 0, 0, 0);
        } else {
            st = la_linear(X, wd, bias, NULL, XW, 1.0f, 0.0f, S * B, I, GH, bias ? GH : 0, 0, 0);
        }
        if (st)
            return kerr(c, "la_linear", st);
        const float *hp = h0 + d * B * H, *cp = c0 + d * B * H;
        int64_t xw_stride = s->kind == K_GRU ? 2 * H : GH;
        for (int64_t i = 0; i < S; i++) {
            Step k;
            k.t = s->rev[d] ? S - 1 - i : i;
            k.d = d;
            k.xw = XW + k.t * B * xw_stride;
            k.wt = wd;
            k.bias = bias;
            k.p = s->kind == K_LSTM && has_in(c, 7) ? (const float *)c->in[7].data + d * 3 * H
                                                     : NULL;
            k.hp = hp, k.cp = cp;
            k.hn = Hb + (i & 1) * B * H;
            k.cn = Cb + (i & 1) * B * H;
            k.y = Y + (k.t * D + d) * B * H;
            if ((st = rnn_step(c, &r, &k, sp, off)))
                return st;
            hp = k.hn, cp = k.cn;
        }
        // The last states.
        if (c->nout >= 2) {
            float *yh = c->out[1].data;
            for (int64_t b = 0; b < B; b++)
                memcpy(yh + (s->layout ? b * D + d : d * B + b) * H, hp + b * H,
                       (size_t)H * sizeof(float));
        }
        if (c->nout >= 3) {
            float *yc = c->out[2].data;
            for (int64_t b = 0; b < B; b++)
                memcpy(yc + (s->layout ? b * D + d : d * B + b) * H, cp + b * H,
                       (size_t)H * sizeof(float));
        }
    }
    if (s->layout && c->nout >= 1)  // [S, D*B... ] -> [B, S, D, H]
        for (int64_t t = 0; t < S; t++)
            for (int64_t d = 0; d < D; d++)
                for (int64_t b = 0; b < B; b++)
                    memcpy((float *)c->out[0].data + ((b * S + t) * D + d) * H,
                           Y + ((t * D + d) * B + b) * H, (size_t)H * sizeof(float));
    return 0;
}

// ---------------------------------------------------------------- the table

const OpDef ops_rnn[] = {
    {"LSTM", 7, 0, 0, 0, K_LSTM, rnn_prepare, rnn_infer, rnn_run, rnn_scratch, rnn_free},
    {"GRU", 7, 0, 0, 0, K_GRU, rnn_prepare, rnn_infer, rnn_run, rnn_scratch, rnn_free},
    {"RNN", 7, 0, 0, 0, K_RNN, rnn_prepare, rnn_infer, rnn_run, rnn_scratch, rnn_free},
};
const int ops_rnn_count = (int)(sizeof ops_rnn / sizeof ops_rnn[0]);
