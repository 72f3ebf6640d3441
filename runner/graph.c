// runner/graph.c — graph passes at load: constants folded (every node whose inputs are all
// constants is evaluated once), nodes that no output needs dropped, nodes merged into the
// convolutions before them (fuse.c), ops prepared, and the values that decide shapes marked
// (their nodes are evaluated when a run's plan is built, see plan.c).
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
    if ((st = graph_fuse(m, g, e)) != 0)
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
