// runner/graph.c — graph passes at load: constants folded (every node whose inputs are all
// constants is evaluated once), BatchNormalization folded into the Conv before it, nodes that
// no output needs dropped, ops prepared, and the values that decide shapes marked (their nodes
// are evaluated when a run's plan is built, see plan.c).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static bool is_const(const Graph *g, int v) { return v < 0 || g->values[v].kind == VAL_CONST; }

// Evaluates nodes whose inputs are all constants; their outputs become constants.
static int fold_constants(TilecModel *m, Graph *g, RErr *e) {
    Tensor *vals = calloc((size_t)g->nvalues + 1, sizeof *vals);
    Tensor outs[32];
    if (!vals)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (n->dead || !n->op || (n->op->flags & OP_NO_FOLD) || n->nsubgraphs || n->nout > 32)
            continue;
        bool all = true;
        for (int i = 0; i < n->nin && all; i++)
            all = is_const(g, n->in[i]);
        if (!all)
            continue;
        for (int v = 0; v < g->nvalues; v++)
            vals[v] = g->values[v].t;
        // The op's load-time state first: infer() and run() may read it.
        int st = n->op->prepare ? n->op->prepare(n, g, e) : 0;
        if (!st)
            st = node_eval(g, n, vals, outs, e);
        if (st) {
            free(vals);
            return st;
        }
        for (int o = 0; o < n->nout; o++) {
            Value *v = &g->values[n->out[o]];
            v->t = outs[o];
            v->kind = VAL_CONST;
            v->producer = -1;
            if ((st = model_keep(m, outs[o].data, e)) != 0) {
                free(vals);
                return st;
            }
        }
        n->dead = true;
    }
    free(vals);
    return 0;
}

static int count_uses(const Graph *g, int v) {
    int uses = g->values[v].is_output ? 1 : 0;
    for (int k = 0; k < g->nnodes; k++)
        if (!g->nodes[k].dead)
            for (int i = 0; i < g->nodes[k].nin; i++)
                uses += g->nodes[k].in[i] == v;
    return uses;
}

// Conv (constant f32 weights and bias) -> BatchNormalization (constant parameters, inference):
// the BN's scale and shift go into the Conv's weights and bias, and the BN node is dropped.
static int fold_batchnorm(TilecModel *m, Graph *g, RErr *e) {
    for (int k = 0; k < g->nnodes; k++) {
        Node *bn = &g->nodes[k];
        if (bn->dead || strcmp(bn->op_type, "BatchNormalization") != 0 || bn->nin != 5)
            continue;
        if (attr_int(bn, "training_mode", 0) != 0)
            continue;
        bool extra = false;
        for (int o = 1; o < bn->nout; o++)
            extra |= bn->out[o] >= 0 && count_uses(g, bn->out[o]) > 0;
        int x = bn->in[0];
        if (extra || x < 0 || g->values[x].producer < 0 || g->values[x].is_output)
            continue;
        Node *conv = &g->nodes[g->values[x].producer];
        if (conv->dead || strcmp(conv->op_type, "Conv") != 0 || conv->nin < 2 ||
            count_uses(g, x) != 1)
            continue;
        const Tensor *w = &g->values[conv->in[1]].t;
        if (g->values[conv->in[1]].kind != VAL_CONST || w->dtype != DT_F32 || w->rank < 3)
            continue;
        if (conv->nin > 2 && conv->in[2] >= 0 &&
            (g->values[conv->in[2]].kind != VAL_CONST || g->values[conv->in[2]].t.dtype != DT_F32))
            continue;
        int64_t K = w->dims[0];
        bool ok = true;
        for (int i = 1; i < 5 && ok; i++) {
            int v = bn->in[i];
            ok = v >= 0 && g->values[v].kind == VAL_CONST && g->values[v].t.dtype == DT_F32 &&
                 tensor_numel(&g->values[v].t) == K;
        }
        if (!ok)
            continue;
        const float *scale = g->values[bn->in[1]].t.data, *shift = g->values[bn->in[2]].t.data;
        const float *mean = g->values[bn->in[3]].t.data, *var = g->values[bn->in[4]].t.data;
        float eps = attr_float(bn, "epsilon", 1e-5f);
        int64_t per = tensor_numel(w) / (K ? K : 1);
        float *nw = malloc((size_t)tensor_numel(w) * 4 + 4), *nb = malloc((size_t)K * 4 + 4);
        if (!nw || !nb) {
            free(nw), free(nb);
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        }
        const float *ow = w->data;
        const float *ob = conv->nin > 2 && conv->in[2] >= 0 ? g->values[conv->in[2]].t.data : NULL;
        for (int64_t c = 0; c < K; c++) {
            double s = scale[c] / sqrt((double)var[c] + eps);
            for (int64_t j = 0; j < per; j++)
                nw[c * per + j] = (float)(ow[c * per + j] * s);
            nb[c] = (float)(((ob ? ob[c] : 0.0) - mean[c]) * s + shift[c]);
        }
        int st;
        if ((st = model_keep(m, nw, e)) != 0 || (st = model_keep(m, nb, e)) != 0)
            return st;
        char name[256];
        snprintf(name, sizeof name, "%s/bn_folded_w", conv->name);
        int vw = graph_add_value(g, name, e);
        snprintf(name, sizeof name, "%s/bn_folded_b", conv->name);
        int vb = graph_add_value(g, name, e);
        if (vw < 0 || vb < 0)
            return e->code;
        // graph_add_value may move g->values; nodes are stable.
        conv = &g->nodes[g->values[x].producer];
        bn = &g->nodes[k];
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
        // The Conv now produces the BN's output.
        int y = bn->out[0];
        g->values[x].producer = -1;
        conv->out[0] = y;
        g->values[y].producer = g->values[x].producer;
        g->values[y].producer = (int)(conv - g->nodes);
        bn->dead = true;
    }
    return 0;
}

// Keeps only the nodes some graph output depends on.
static int drop_dead(Graph *g, RErr *e) {
    bool *need = calloc((size_t)g->nvalues + 1, 1);
    if (!need)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    for (int i = 0; i < g->noutputs; i++)
        need[g->outputs[i]] = true;
    for (int k = g->nnodes - 1; k >= 0; k--) {
        Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        bool used = false;
        for (int o = 0; o < n->nout; o++)
            used |= n->out[o] >= 0 && need[n->out[o]];
        // Subgraphs reach outer values by name: a node with subgraphs keeps what they use.
        if (!used) {
            n->dead = true;
            continue;
        }
        for (int i = 0; i < n->nin; i++)
            if (n->in[i] >= 0)
                need[n->in[i]] = true;
        for (int s = 0; s < n->nsubgraphs; s++) {
            const Graph *sg = n->subgraphs[s];
            for (int v = 0; v < sg->nvalues; v++)
                if (sg->values[v].kind == VAL_OUTER)
                    need[sg->values[v].outer_index] = true;
        }
    }
    free(need);
    return 0;
}

// Values whose data decides a shape, and the nodes that compute them (host nodes).
static void mark_shape_relevant(Graph *g) {
    for (int k = g->nnodes - 1; k >= 0; k--) {
        Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        for (int i = 0; i < n->nin && i < 32; i++)
            if (n->in[i] >= 0 && (n->op->shape_inputs >> i & 1))
                g->values[n->in[i]].shape_relevant = true;
        bool host = false;
        for (int o = 0; o < n->nout; o++)
            host |= n->out[o] >= 0 && g->values[n->out[o]].shape_relevant;
        n->host = host;
        if (host && !(n->op->flags & OP_SHAPE_ONLY))
            for (int i = 0; i < n->nin; i++)
                if (n->in[i] >= 0)
                    g->values[n->in[i]].shape_relevant = true;
    }
}

int graph_prepare(TilecModel *m, Graph *g, RErr *e) {
    int st;
    if ((st = fold_constants(m, g, e)) != 0)
        return st;
    if ((st = drop_dead(g, e)) != 0)
        return st;
    if ((st = fold_batchnorm(m, g, e)) != 0)
        return st;
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (n->dead || !n->op->prepare)
            continue;
        if ((st = n->op->prepare(n, g, e)) != 0)
            return st;
    }
    for (int k = 0; k < g->nnodes; k++)
        for (int s = 0; s < g->nodes[k].nsubgraphs; s++)
            if (!g->nodes[k].dead && (st = graph_prepare(m, g->nodes[k].subgraphs[s], e)) != 0)
                return st;
    mark_shape_relevant(g);
    return 0;
}
