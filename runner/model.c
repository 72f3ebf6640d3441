// runner/model.c — the public API's model object once loaded (by model_load.c from ONNX, or by
// blob_read.c from an ahead-of-time blob): the inputs' and outputs' descriptions, profiles, free.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

void tilec_model_free(TilecModel *m) {
    if (!m)
        return;
    for (int i = 0; i < m->nplans; i++)
        plan_free(m->plan_list[i], m->graph.nvalues);
    model_free_arenas(m);
    graph_free(&m->graph);
    for (int i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    if (m->proto && m->free_proto)
        m->free_proto(m->proto);
    pthread_mutex_destroy(&m->lock);
    free(m->prof), free(m->path), free(m->dir), free(m);
}

int tilec_model_input_count(const TilecModel *m) { return m->graph.ninputs; }
int tilec_model_output_count(const TilecModel *m) { return m->graph.noutputs; }

const char *tilec_model_input_name(const TilecModel *m, int i) {
    return i >= 0 && i < m->graph.ninputs ? m->graph.values[m->graph.inputs[i]].name : NULL;
}

const char *tilec_model_output_name(const TilecModel *m, int i) {
    return i >= 0 && i < m->graph.noutputs ? m->graph.values[m->graph.outputs[i]].name : NULL;
}

static int value_info(const Value *v, TilecTensor *info, const char *const **dim_names) {
    *info = v->t;
    info->data = NULL;
    if (dim_names)
        *dim_names = (const char *const *)v->dim_names;
    return 0;
}

int tilec_model_input_info(const TilecModel *m, int i, TilecTensor *info, const char *const **names) {
    if (i < 0 || i >= m->graph.ninputs)
        return -1;
    return value_info(&m->graph.values[m->graph.inputs[i]], info, names);
}

int tilec_model_output_info(const TilecModel *m, int i, TilecTensor *info, const char *const **names) {
    if (i < 0 || i >= m->graph.noutputs)
        return -1;
    const Value *v = &m->graph.values[m->graph.outputs[i]];
    value_info(v, info, names);
    if (v->kind != VAL_CONST && v->kind != VAL_INPUT) {
        // The declared type of a computed output.
        const Tensor *d = &m->graph.output_decl[i];
        info->dtype = d->dtype;
        info->rank = d->rank;
        memcpy(info->dims, d->dims, sizeof info->dims);
        if (names)
            *names = NULL;
    }
    return 0;
}

size_t tilec_model_planned_peak(const TilecModel *m) { return m->last_peak; }

typedef struct ProfLine {
    int node;
    double ms;
} ProfLine;

static int cmp_prof(const void *a, const void *b) {
    const ProfLine *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : x->node - y->node;
}

char *tilec_model_profile(const TilecModel *m) {
    if (!m->profile)
        return NULL;
    TilecModel *mm = (TilecModel *)m;
    pthread_mutex_lock(&mm->lock);
    const Graph *g = &m->graph;
    ProfLine *lines = malloc(((size_t)g->nnodes + 1) * sizeof *lines);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!lines || !f) {
        free(lines);
        if (f)
            fclose(f);
        free(buf);
        pthread_mutex_unlock(&mm->lock);
        return NULL;
    }
    int n = 0;
    double total = 0;
    int64_t runs = 0;
    for (int k = 0; k < g->nnodes; k++)
        if (m->prof[k].calls) {
            lines[n++] = (ProfLine){k, m->prof[k].ms / (double)m->prof[k].calls};
            total += lines[n - 1].ms;
            if (m->prof[k].calls > runs)
                runs = m->prof[k].calls;
        }
    qsort(lines, (size_t)n, sizeof *lines, cmp_prof);
    fprintf(f, "%-28s %-20s %-24s %9s %6s  %s\n", "node", "op", "kernel", "ms/run", "share",
            "input shapes");
    for (int i = 0; i < n; i++) {
        const Node *nd = &g->nodes[lines[i].node];
        const ProfileRow *r = &m->prof[lines[i].node];
        fprintf(f, "%-28.28s %-20.20s %-24.24s %9.3f %5.1f%%  %s\n", nd->name, nd->op_type,
                r->kernel ? r->kernel : "-", lines[i].ms, total > 0 ? 100 * lines[i].ms / total : 0,
                r->shapes);
    }
    fprintf(f, "total %.3f ms per run over %d nodes (%lld runs)\n", total, n, (long long)runs);
    fclose(f);
    free(lines);
    pthread_mutex_unlock(&mm->lock);
    return buf;
}
