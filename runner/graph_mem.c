// runner/graph_mem.c — a graph's storage: values added and looked up, graphs freed, and the
// buffers a model keeps until it is freed. Shared by the ONNX loader, the graph passes and the
// ahead-of-time reader (blob_read.c).
#include <stdlib.h>
#include <string.h>

#include "model.h"

int graph_value(Graph *g, const char *name) {
    for (int i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return -1;
}

int graph_add_value(Graph *g, const char *name, RErr *e) {
    if (g->nvalues == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        Value *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory"), -1;
        g->values = v;
        g->cap_values = cap;
    }
    Value *v = &g->values[g->nvalues];
    memset(v, 0, sizeof *v);
    v->name = strdup(name ? name : "");
    v->producer = -1;
    v->outer_index = -1;
    if (!v->name)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory"), -1;
    return g->nvalues++;
}

int model_keep(TilecModel *m, void *p, RErr *e) {
    if (m->nowned == m->cap_owned) {
        int cap = m->cap_owned ? m->cap_owned * 2 : 64;
        void **o = realloc(m->owned, (size_t)cap * sizeof *o);
        if (!o)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        m->owned = o;
        m->cap_owned = cap;
    }
    m->owned[m->nowned++] = p;
    return 0;
}

void graph_free(Graph *g) {
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (n->op && n->op->free_state && n->state)
            n->op->free_state(n->state);
        for (int s = 0; s < n->nsubgraphs; s++)
            if (n->subgraphs[s]) {
                graph_free(n->subgraphs[s]);
                free(n->subgraphs[s]);
            }
        free(n->subgraphs);
        attrs_free(n->attrs, n->nattrs);
        free(n->in), free(n->out), free(n->name), free(n->op_type);
    }
    for (int v = 0; v < g->nvalues; v++) {
        if (g->values[v].dim_names)
            for (int i = 0; i < RMAX_RANK; i++)
                free(g->values[v].dim_names[i]);
        free(g->values[v].dim_names);
        free(g->values[v].name);
    }
    free(g->values), free(g->nodes), free(g->inputs), free(g->outputs), free(g->output_decl);
    free(g->name);
    memset(g, 0, sizeof *g);
}
