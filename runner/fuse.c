// runner/fuse.c — graph passes that merge nodes into the convolution before them (run by
// graph_prepare after constant folding; "Conv" below is Conv or ConvTranspose, the ops flagged
// OP_EPILOGUE):
//   - an elementwise chain after a Conv becomes the Conv's epilogue (Node.epi):
//       BatchNormalization (inference) and Mul / Div / Add / Sub by constants (one value, or one
//       per output channel) before the activation: folded into the weights and bias (needs
//       constant weights);
//       one activation: Relu, Sigmoid, Tanh, HardSigmoid, HardSwish, Clip, LeakyRelu, or
//       hard-swish spelled out as x * Clip(x + 3, 0, 6) / 6 (PP-OCR writes it so);
//       Mul / Div / Add / Sub by single constants after it: the epilogue's affine map.
//     PP-OCRv4's Conv -> Mul -> Add -> hard-swish -> Mul -> Add (a "learnable affine block"
//     around each activation) becomes one Conv;
//   - hard-swish spelled out anywhere else becomes one HardSwish node.
// A node is merged only when the value between it and the Conv has no other use (no other
// node, not a graph output, not read by a subgraph).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

Epilogue node_epilogue(const Node *n) {
    if (n->epi.on)
        return n->epi;
    return (Epilogue){.act = EPI_NONE, .scale = 1.0f, .shift = 0.0f};
}

// Uses of value v: node inputs, graph outputs, and subgraphs reading it by name (counted once).
static int count_uses(const Graph *g, int v) {
    int uses = g->values[v].is_output ? 1 : 0;
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        for (int i = 0; i < n->nin; i++)
            uses += n->in[i] == v;
        for (int s = 0; s < n->nsubgraphs; s++)
            for (int u = 0; u < n->subgraphs[s]->nvalues; u++)
                uses += n->subgraphs[s]->values[u].kind == VAL_OUTER &&
                        n->subgraphs[s]->values[u].outer_index == v;
    }
    return uses;
}

// The one node reading v (as exactly one of its inputs) when that is v's only use, else -1.
static int sole_consumer(const Graph *g, int v) {
    if (v < 0 || count_uses(g, v) != 1)
        return -1;
    for (int k = 0; k < g->nnodes; k++)
        if (!g->nodes[k].dead)
            for (int i = 0; i < g->nodes[k].nin; i++)
                if (g->nodes[k].in[i] == v)
                    return k;
    return -1;
}

static bool op_is(const Node *n, const char *op) { return strcmp(n->op_type, op) == 0; }

static const Tensor *const_f32(const Graph *g, int v) {
    if (v < 0 || g->values[v].kind != VAL_CONST || g->values[v].t.dtype != DT_F32)
        return NULL;
    return &g->values[v].t;
}

static bool const_scalar(const Graph *g, int v, int max_rank, float *out) {
    const Tensor *t = const_f32(g, v);
    if (!t || tensor_numel(t) != 1 || t->rank > max_rank)
        return false;
    *out = ((const float *)t->data)[0];
    return true;
}

// A constant that broadcasts over an output [N, K, spatial...] of rank R without changing its
// shape: one value, or K values along the channel axis (shape [K, 1, 1], [1, K, 1, 1], ...).
static bool const_per_channel(const Graph *g, int v, int R, int64_t K) {
    const Tensor *t = const_f32(g, v);
    if (!t || t->rank > R)
        return false;
    if (tensor_numel(t) == 1)
        return true;
    for (int j = 0; j < t->rank; j++) {
        int p = R - t->rank + j;
        if (t->dims[j] != 1 && !(p == 1 && t->dims[j] == K))
            return false;
    }
    return true;
}

static float channel_value(const Tensor *t, int64_t k) {
    const float *d = t->data;
    return tensor_numel(t) == 1 ? d[0] : d[k];
}

// The number of output channels of a Conv (weights [K, C/G, ...]) or ConvTranspose (weights
// [C, K/G, ...]).
static int64_t conv_outputs(const Graph *g, const Node *conv) {
    const Tensor *w = &g->values[conv->in[1]].t;
    if (op_is(conv, "ConvTranspose"))
        return w->dims[1] * attr_int(conv, "group", 1);
    return w->dims[0];
}

// The Conv's (ConvTranspose's) weights and bias replaced by new constants: every weight of
// output channel k times scale[k], and bias[k] * scale[k] + shift[k].
static int conv_rescale(TilecModel *m, Graph *g, int conv_index, const double *scale, const double *shift,
                        RErr *e) {
    Node *conv = &g->nodes[conv_index];
    const Tensor *w = &g->values[conv->in[1]].t;
    int64_t K = conv_outputs(g, conv);
    bool tr = op_is(conv, "ConvTranspose");
    // Conv: [K][per]; ConvTranspose: [G][CG][KG][per] with k = g * KG + kk
    int64_t lead = tr ? w->dims[0] : 1, KG = tr ? w->dims[1] : K;
    int64_t per = tensor_numel(w) / (lead * KG != 0 ? lead * KG : 1);
    int64_t G = tr && KG ? K / KG : 1, CG = tr && G ? lead / G : 1;
    float *nw = malloc((size_t)tensor_numel(w) * 4 + 4), *nb = malloc((size_t)K * 4 + 4);
    if (!nw || !nb) {
        free(nw), free(nb);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    const float *ow = w->data;
    const float *ob = conv->nin > 2 && conv->in[2] >= 0 ? g->values[conv->in[2]].t.data : NULL;
    for (int64_t r = 0; r < lead; r++)
        for (int64_t kk = 0; kk < KG; kk++) {
            int64_t k = tr ? r / CG * KG + kk : kk;
            for (int64_t j = 0; j < per; j++)
                nw[(r * KG + kk) * per + j] = (float)(ow[(r * KG + kk) * per + j] * scale[k]);
        }
    for (int64_t c = 0; c < K; c++)
        nb[c] = (float)((ob ? ob[c] : 0.0) * scale[c] + shift[c]);
    int st;
    if ((st = model_keep(m, nw, e)) != 0 || (st = model_keep(m, nb, e)) != 0)
        return st;
    char name[256];
    snprintf(name, sizeof name, "%s/folded_w", conv->name);
    int vw = graph_add_value(g, name, e);
    snprintf(name, sizeof name, "%s/folded_b", conv->name);
    int vb = graph_add_value(g, name, e);
    if (vw < 0 || vb < 0)
        return e->code;
    conv = &g->nodes[conv_index];  // graph_add_value may move g->values; nodes are stable
    g->values[vw].kind = VAL_CONST;
    g->values[vw].t = g->values[conv->in[1]].t;
    g->values[vw].t.data = nw;
    g->values[vb].kind = VAL_CONST;
    g->values[vb].t = (Tensor){.dtype = DT_F32, .rank = 1, .dims = {K}, .data = nb};
    if (conv->nin < 3) {
        int *in = realloc(conv->in, 3 * sizeof(int));
        if (!in)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        conv->in = in;
        conv->nin = 3;
    }
    conv->in[1] = vw;
    conv->in[2] = vb;
    return 0;
}

// Constant f32 weights (rank >= 3) and a constant f32 bias or none: the weights may be rescaled.
static bool conv_foldable(const Graph *g, const Node *conv) {
    if (conv->nin < 2)
        return false;
    const Tensor *w = const_f32(g, conv->in[1]);
    if (!w || w->rank < 3)
        return false;
    int64_t G = attr_int(conv, "group", 1);
    if (op_is(conv, "ConvTranspose") && (G < 1 || w->dims[0] % G != 0))
        return false;  // the op reports it
    if (conv->nin < 3 || conv->in[2] < 0)
        return true;
    const Tensor *b = const_f32(g, conv->in[2]);
    return b && tensor_numel(b) == conv_outputs(g, conv);
}

// The node producing v becomes the producer of `to` (the merged chain's last value).
static void conv_takes_output(Graph *g, int conv_index, int to) {
    Node *conv = &g->nodes[conv_index];
    g->values[conv->out[0]].producer = -1;
    conv->out[0] = to;
    g->values[to].producer = conv_index;
}

// BatchNormalization n in inference form with constant parameters of K channels, and no other
// output read.
static bool batchnorm_of(const Graph *g, const Node *n, int64_t K) {
    if (!op_is(n, "BatchNormalization") || n->nin != 5 || attr_int(n, "training_mode", 0) != 0)
        return false;
    for (int o = 1; o < n->nout; o++)
        if (n->out[o] >= 0 && count_uses(g, n->out[o]) > 0)
            return false;
    for (int i = 1; i < 5; i++) {
        const Tensor *t = const_f32(g, n->in[i]);
        if (!t || tensor_numel(t) != K)
            return false;
    }
    return true;
}

// Hard-swish spelled out on value x: Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(., 6) (or
// Mul(., 1/6)), x used by the Add and the Mul only. Returns the last node's index (its output is
// hard-swish(x)) and the four nodes in `nodes`, or -1.
static int match_hardswish(const Graph *g, int x, int nodes[4]) {
    if (x < 0 || count_uses(g, x) != 2)
        return -1;
    int add = -1, mul = -1;
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead || n->nin != 2 || (n->in[0] != x && n->in[1] != x))
            continue;
        if (op_is(n, "Add"))
            add = k;
        else if (op_is(n, "Mul"))
            mul = k;
    }
    if (add < 0 || mul < 0)
        return -1;
    const Node *a = &g->nodes[add], *mu = &g->nodes[mul];
    float v, lo, hi;
    int R = 8;
    if (!const_scalar(g, a->in[a->in[0] == x], R, &v) || v != 3.0f)
        return -1;
    int clip = sole_consumer(g, a->out[0]);
    if (clip < 0 || !op_is(&g->nodes[clip], "Clip"))
        return -1;
    const Node *c = &g->nodes[clip];
    if (c->opset < 11) {
        lo = attr_float(c, "min", -INFINITY);
        hi = attr_float(c, "max", INFINITY);
    } else if (c->nin != 3 || !const_scalar(g, c->in[1], R, &lo) || !const_scalar(g, c->in[2], R, &hi)) {
        return -1;
    }
    if (lo != 0.0f || hi != 6.0f || sole_consumer(g, c->out[0]) != mul || mu->in[mu->in[0] == x] != c->out[0])
        return -1;
    int last = sole_consumer(g, mu->out[0]);
    if (last < 0)
        return -1;
    const Node *d = &g->nodes[last];
    if (d->nin != 2)
        return -1;
    int other = d->in[0] == mu->out[0] ? d->in[1] : d->in[0];
    bool div6 = op_is(d, "Div") && d->in[0] == mu->out[0] && const_scalar(g, d->in[1], R, &v) && v == 6.0f;
    bool mul6 = op_is(d, "Mul") && const_scalar(g, other, R, &v) && fabsf(v - 1.0f / 6.0f) < 1e-7f;
    if (!div6 && !mul6)
        return -1;
    nodes[0] = add, nodes[1] = clip, nodes[2] = mul, nodes[3] = last;
    return last;
}

// The activation node n as an epilogue code and parameters; false when it is none of them.
static bool activation_of(const Graph *g, const Node *n, int R, Epilogue *ep) {
    if (n->nin < 1 || n->nout != 1)
        return false;
    if (op_is(n, "Relu"))
        ep->act = EPI_RELU;
    else if (op_is(n, "Sigmoid"))
        ep->act = EPI_SIGMOID;
    else if (op_is(n, "Tanh"))
        ep->act = EPI_TANH;
    else if (op_is(n, "HardSwish"))
        ep->act = EPI_HARDSWISH;
    else if (op_is(n, "HardSigmoid")) {
        ep->act = EPI_HARDSIGMOID;
        ep->a0 = attr_float(n, "alpha", 0.2f);
        ep->a1 = attr_float(n, "beta", 0.5f);
    } else if (op_is(n, "LeakyRelu")) {
        ep->act = EPI_LEAKYRELU;
        ep->a0 = attr_float(n, "alpha", 0.01f);
    } else if (op_is(n, "Clip")) {
        ep->act = EPI_CLIP;
        ep->a0 = -INFINITY;
        ep->a1 = INFINITY;
        if (n->opset < 11) {
            ep->a0 = attr_float(n, "min", -INFINITY);
            ep->a1 = attr_float(n, "max", INFINITY);
        } else if ((n->nin > 1 && n->in[1] >= 0 && !const_scalar(g, n->in[1], R, &ep->a0)) ||
                   (n->nin > 2 && n->in[2] >= 0 && !const_scalar(g, n->in[2], R, &ep->a1))) {
            return false;
        }
    } else {
        return false;
    }
    return true;
}

// An elementwise Mul / Div / Add / Sub of x by a constant c as y = x * s + t per channel:
// returns the constant's value and sets *kind (0 scale by c, 1 scale by 1/c, 2 shift by c, 3
// shift by -c), or -1 when n is none of these (c - x and c / x are not merged).
static int affine_of(const Node *n, int x, int *kind) {
    if (n->nin != 2 || n->nout != 1)
        return -1;
    bool first = n->in[0] == x;
    int c = first ? n->in[1] : n->in[0];
    if (op_is(n, "Mul"))
        *kind = 0;
    else if (op_is(n, "Add"))
        *kind = 2;
    else if (op_is(n, "Div") && first)
        *kind = 1;
    else if (op_is(n, "Sub") && first)
        *kind = 3;
    else
        return -1;
    return c;
}

// y = x * s + t followed by the affine_of step `kind` with constant v.
static void affine_step(int kind, double v, double *s, double *t) {
    if (kind == 0)
        *s *= v, *t *= v;
    else if (kind == 1)
        *s /= v, *t /= v;
    else
        *t += kind == 2 ? v : -v;
}

// Merges the chain after one Conv into its weights and epilogue.
static int fuse_conv_chain(TilecModel *m, Graph *g, int ci, RErr *e) {
    Node *conv = &g->nodes[ci];
    bool foldable = conv_foldable(g, conv);
    int R = foldable ? g->values[conv->in[1]].t.rank : 0;
    int64_t K = foldable ? conv_outputs(g, conv) : 0;
    double *scale = NULL, *shift = NULL;  // the pre-activation map, per channel
    Epilogue ep = {.act = EPI_NONE, .scale = 1.0f, .shift = 0.0f};
    bool post = false;  // an activation or a post-activation affine map is in place
    int cur = conv->out[0], merged = 0, st = 0;
    for (;;) {
        int hs[4];
        if (!post && match_hardswish(g, cur, hs) >= 0) {
            ep.act = EPI_HARDSWISH;
            for (int i = 0; i < 4; i++)
                g->nodes[hs[i]].dead = true;
            cur = g->nodes[hs[3]].out[0];
            post = true;
            merged++;
            continue;
        }
        int u = sole_consumer(g, cur);
        if (u < 0)
            break;
        Node *n = &g->nodes[u];
        int kind = 0, cv = affine_of(n, cur, &kind);
        Epilogue act = ep;
        float v;
        bool bn = !post && foldable && batchnorm_of(g, n, K);
        bool per_channel = !bn && cv >= 0 && !post && foldable && const_per_channel(g, cv, R, K);
        if ((bn || per_channel) && !scale) {
            scale = malloc((size_t)K * 2 * sizeof(double) + 1);
            if (!scale)
                return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
            shift = scale + K;
            for (int64_t c = 0; c < K; c++)
                scale[c] = 1.0, shift[c] = 0.0;
        }
        if (bn) {
            // after an affine map the Conv absorbed (ConvTranspose -> Add -> BatchNormalization)
            const float *gamma = g->values[n->in[1]].t.data, *beta = g->values[n->in[2]].t.data;
            const float *mean = g->values[n->in[3]].t.data, *var = g->values[n->in[4]].t.data;
            double eps = attr_float(n, "epsilon", 1e-5f);
            for (int64_t c = 0; c < K; c++) {
                double sc = gamma[c] / sqrt((double)var[c] + eps);
                scale[c] *= sc;
                shift[c] = shift[c] * sc + beta[c] - mean[c] * sc;
            }
        } else if (per_channel) {
            const Tensor *t = &g->values[cv].t;
            for (int64_t c = 0; c < K; c++)
                affine_step(kind, channel_value(t, c), &scale[c], &shift[c]);
        } else if (cv >= 0 && const_scalar(g, cv, R ? R : 8, &v)) {
            double sc = ep.scale, sh = ep.shift;
            affine_step(kind, v, &sc, &sh);
            ep.scale = (float)sc, ep.shift = (float)sh;
            post = true;
        } else if (!post && activation_of(g, n, R ? R : 8, &act)) {
            ep = act;
            post = true;
        } else {
            break;
        }
        n->dead = true;
        cur = n->out[0];
        merged++;
    }
    if (merged) {
        if (scale)
            st = conv_rescale(m, g, ci, scale, shift, e);
        conv_takes_output(g, ci, cur);
        ep.on = ep.act != EPI_NONE || ep.scale != 1.0f || ep.shift != 0.0f;
        g->nodes[ci].epi = ep;
    }
    free(scale);
    return st;
}

// Spelled-out hard-swish on any value: the chain's last node becomes HardSwish(x).
static int fuse_hardswish(Graph *g, RErr *e) {
    bool known;
    const OpDef *hsw = ops_find("HardSwish", 14, &known);
    if (!hsw)
        return 0;
    for (int x = 0; x < g->nvalues; x++) {
        int hs[4];
        if (match_hardswish(g, x, hs) < 0)
            continue;
        Node *d = &g->nodes[hs[3]];
        char *name = strdup("HardSwish");
        if (!name)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        free(d->op_type);
        d->op_type = name;
        d->op = hsw;
        d->in[0] = x;
        d->nin = 1;
        for (int i = 0; i < 3; i++)
            g->nodes[hs[i]].dead = true;
    }
    return 0;
}

// A reduction `op` over the last axis with keepdims 1: axes [-1] as an attribute, or (opset 13's
// ReduceSum, 18's others) as a constant second input.
static bool reduce_last(const Graph *g, const Node *n, const char *op) {
    if (n->dead || !op_is(n, op) || n->nout != 1 || attr_int(n, "keepdims", 1) != 1)
        return false;
    const int64_t *axes;
    if (n->nin == 1)
        return attr_ints(n, "axes", &axes) == 1 && axes[0] == -1;
    const Value *a = n->nin == 2 && n->in[1] >= 0 ? &g->values[n->in[1]] : NULL;
    return a && a->kind == VAL_CONST && a->t.dtype == DT_I64 && tensor_numel(&a->t) == 1 &&
           ((const int64_t *)a->t.data)[0] == -1;
}

static bool mean_last(const Graph *g, const Node *n) { return reduce_last(g, n, "ReduceMean"); }

// The node consuming v as its only reader, when it is live and of type `op` (else -1).
static int next_op(const Graph *g, int v, const char *op) {
    if (v < 0 || g->values[v].is_output)
        return -1;
    int k = sole_consumer(g, v);
    return k >= 0 && op_is(&g->nodes[k], op) && g->nodes[k].nout == 1 ? k : -1;
}

// The other input of the binary node n than v (-1 when v is not exactly one of them).
static int other_input(const Node *n, int v) {
    if (n->nin != 2 || (n->in[0] == v) == (n->in[1] == v))
        return -1;
    return n->in[0] == v ? n->in[1] : n->in[0];
}

// Node n rewritten as `op` (named op_type) over the nin inputs `in`, with the attribute axis = -1
// and, when eps is given, epsilon = *eps; the ndead nodes `dead` (the pattern's others) dropped.
static int become_last_axis_op(Graph *g, Node *n, const OpDef *op, const char *op_type, const int *in,
                               int nin, const float *eps, const int *dead, int ndead, RErr *e) {
    int na = eps ? 2 : 1;
    Attr *attrs = calloc((size_t)na, sizeof *attrs);
    int *ins = malloc(sizeof(int) * (size_t)nin);
    char *type = strdup(op_type), *an = strdup("axis"), *en = eps ? strdup("epsilon") : NULL;
    if (!attrs || !ins || !type || !an || (eps && !en)) {
        free(attrs), free(ins), free(type), free(an), free(en);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    attrs[0] = (Attr){.name = an, .i = -1};
    if (eps)
        attrs[1] = (Attr){.name = en, .f = *eps};
    memcpy(ins, in, sizeof(int) * (size_t)nin);
    if (n->state && n->op && n->op->free_state)
        n->op->free_state(n->state);
    n->state = NULL;
    attrs_free(n->attrs, n->nattrs);
    free(n->in), free(n->op_type);
    n->attrs = attrs, n->nattrs = na;
    n->in = ins, n->nin = nin;
    n->op_type = type;
    n->op = op;
    for (int i = 0; i < ndead; i++)
        g->nodes[dead[i]].dead = true;
    return 0;
}

// Layer normalization written out, as PaddlePaddle exports it (PP-OCRv4 rec's SVTR blocks):
//   mean = ReduceMean(x, axes [-1]); d = Sub(x, mean); v = ReduceMean(Pow(d, 2) or Mul(d, d));
//   y = Add(Mul(Div(d, Sqrt(Add(v, eps))), gamma), beta)
// with eps one constant value and gamma, beta constant vectors: the final Add becomes one
// LayerNormalization(x, gamma, beta) over the last axis (the stdlib layernorm kernel), the rest
// dead. Every intermediate must have no other reader (d: only the square and the Div).
static int fuse_layernorm(Graph *g, RErr *e) {
    bool known;
    const OpDef *ln = ops_find("LayerNormalization", 17, &known);
    if (!ln)
        return 0;
    for (int k0 = 0; k0 < g->nnodes; k0++) {
        Node *rm = &g->nodes[k0];
        if (!mean_last(g, rm))
            continue;
        int x = rm->in[0], mean = rm->out[0];
        int ks = next_op(g, mean, "Sub");
        if (ks < 0 || g->nodes[ks].nin != 2 || g->nodes[ks].in[0] != x || g->nodes[ks].in[1] != mean)
            continue;
        int d = g->nodes[ks].out[0];
        if (g->values[d].is_output)
            continue;
        // d's two readers: the square (Pow(d, 2) or Mul(d, d)) and the Div.
        int ksq = -1, kdiv = -1;
        for (int k = 0; k < g->nnodes; k++) {
            const Node *n = &g->nodes[k];
            if (n->dead || n->nin < 1)
                continue;
            bool reads = false;
            for (int i = 0; i < n->nin; i++)
                reads |= n->in[i] == d;
            if (!reads)
                continue;
            float two;
            if (op_is(n, "Pow") && n->nin == 2 && n->in[0] == d && const_scalar(g, n->in[1], 4, &two) &&
                two == 2.0f)
                ksq = k;
            else if (op_is(n, "Mul") && n->nin == 2 && n->in[0] == d && n->in[1] == d)
                ksq = k;
            else if (op_is(n, "Div") && n->nin == 2 && n->in[0] == d && n->in[1] != d)
                kdiv = k;
        }
        // No other reader of d (Mul(d, d) reads it twice).
        if (ksq < 0 || kdiv < 0 || g->nodes[ksq].nout != 1 ||
            count_uses(g, d) != (op_is(&g->nodes[ksq], "Mul") ? 3 : 2))
            continue;
        int kv = next_op(g, g->nodes[ksq].out[0], "ReduceMean");
        if (kv < 0 || !mean_last(g, &g->nodes[kv]))
            continue;
        int ka = next_op(g, g->nodes[kv].out[0], "Add");
        float eps;
        if (ka < 0 || !const_scalar(g, other_input(&g->nodes[ka], g->nodes[kv].out[0]), 4, &eps))
            continue;
        int kq = next_op(g, g->nodes[ka].out[0], "Sqrt");
        if (kq < 0 || g->nodes[kdiv].in[1] != g->nodes[kq].out[0] || count_uses(g, g->nodes[kq].out[0]) != 1)
            continue;
        int km = next_op(g, g->nodes[kdiv].out[0], "Mul");
        int gamma = km < 0 ? -1 : other_input(&g->nodes[km], g->nodes[kdiv].out[0]);
        int kb = km < 0 ? -1 : next_op(g, g->nodes[km].out[0], "Add");
        int beta = kb < 0 ? -1 : other_input(&g->nodes[kb], g->nodes[km].out[0]);
        const Tensor *gt = const_f32(g, gamma), *bt = const_f32(g, beta);
        if (!gt || !bt || gt->rank != 1 || bt->rank != 1 || gt->dims[0] != bt->dims[0])
            continue;
        // The final Add becomes LayerNormalization(x, gamma, beta), axis -1, epsilon eps.
        const int in[] = {x, gamma, beta}, dead[] = {k0, ks, ksq, kv, ka, kq, kdiv, km};
        int st = become_last_axis_op(g, &g->nodes[kb], ln, "LayerNormalization", in, 3, &eps, dead, 8, e);
        if (st)
            return st;
    }
    return 0;
}

// Softmax written out: e = Exp(Sub(x, ReduceMax(x, axes [-1]))); y = Div(e, ReduceSum(e, axes
// [-1])), every intermediate read only there (e: by the sum and the Div): the Div becomes one
// Softmax(x) over the last axis (the stdlib kernel), the rest dead.
static int fuse_softmax(Graph *g, RErr *e) {
    bool known;
    const OpDef *sm = ops_find("Softmax", 13, &known);
    if (!sm)
        return 0;
    for (int k0 = 0; k0 < g->nnodes; k0++) {
        Node *rx = &g->nodes[k0];
        if (!reduce_last(g, rx, "ReduceMax"))
            continue;
        int x = rx->in[0];
        int ks = next_op(g, rx->out[0], "Sub");
        if (ks < 0 || g->nodes[ks].nin != 2 || g->nodes[ks].in[0] != x || g->nodes[ks].in[1] != rx->out[0])
            continue;
        int ke = next_op(g, g->nodes[ks].out[0], "Exp");
        if (ke < 0)
            continue;
        int ex = g->nodes[ke].out[0];
        if (g->values[ex].is_output || count_uses(g, ex) != 2)
            continue;
        int ksum = -1, kdiv = -1;
        for (int k = 0; k < g->nnodes; k++) {
            const Node *n = &g->nodes[k];
            if (!n->dead && n->nin >= 1 && n->in[0] == ex && reduce_last(g, n, "ReduceSum"))
                ksum = k;
            else if (!n->dead && op_is(n, "Div") && n->nin == 2 && n->in[0] == ex && n->in[1] != ex)
                kdiv = k;
        }
        if (ksum < 0 || kdiv < 0 || g->nodes[kdiv].in[1] != g->nodes[ksum].out[0] ||
            g->values[g->nodes[ksum].out[0]].is_output || count_uses(g, g->nodes[ksum].out[0]) != 1)
            continue;
        const int dead[] = {k0, ks, ke, ksum};
        int st = become_last_axis_op(g, &g->nodes[kdiv], sm, "Softmax", &x, 1, NULL, dead, 4, e);
        if (st)
            return st;
    }
    return 0;
}

int graph_fuse(TilecModel *m, Graph *g, RErr *e) {
    int st;
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (!n->dead && n->op && (n->op->flags & OP_EPILOGUE) && n->nout >= 1 && n->out[0] >= 0 &&
            (n->nout == 1 || count_uses(g, n->out[1]) == 0) && !g->values[n->out[0]].is_output &&
            (st = fuse_conv_chain(m, g, k, e)) != 0)
            return st;
    }
    if ((st = fuse_layernorm(g, e)) != 0 || (st = fuse_softmax(g, e)) != 0)
        return st;
    return fuse_hardswish(g, e);
}
