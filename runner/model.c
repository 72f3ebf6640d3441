// runner/model.c — the public API's model object: load (read, parse, fix shapes, prepare),
// the inputs' and outputs' descriptions, profiles, free.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "onnx.pb-c.h"

#define RUNNER_MAX_MODEL_BYTES ((size_t)2 << 30)  // protobuf's own limit for one message

static int read_file(const char *path, uint8_t **out, size_t *len, RErr *e) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return rerr(e, TILEC_MODEL_ERR_IO, "cannot open: %s", strerror(errno));
    if (fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_IO, "cannot read: %s", strerror(errno));
    }
    off_t size = ftello(f);
    if (size < 0 || (size_t)size > RUNNER_MAX_MODEL_BYTES) {
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "%s (models over 2 GiB keep weights in external data)",
                    size < 0 ? "cannot tell the file's size" : "the file is larger than 2 GiB");
    }
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory reading %lld bytes", (long long)size);
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_IO, "cannot read: %s", strerror(errno));
    }
    fclose(f);
    *out = buf;
    *len = (size_t)size;
    return 0;
}

// --shape: a graph input's name with its dims, or a symbolic dim's name with one value.
static int apply_shapes(TilecModel *m, const TilecModelOptions *o, RErr *e) {
    Graph *g = &m->graph;
    for (int s = 0; o && s < o->nshapes; s++) {
        const char *name = o->shape_names[s];
        const Tensor *t = &o->shapes[s];
        bool used = false;
        for (int i = 0; i < g->ninputs; i++) {
            Value *v = &g->values[g->inputs[i]];
            if (strcmp(v->name, name) == 0) {
                if (v->t.rank >= 0 && v->t.rank != t->rank)
                    return rerr(e, TILEC_MODEL_ERR_INPUT, "--shape %s: the input has rank %d, not %d",
                                name, v->t.rank, t->rank);
                for (int d = 0; d < t->rank; d++) {
                    if (v->t.rank >= 0 && v->t.dims[d] >= 0 && v->t.dims[d] != t->dims[d])
                        return rerr(e, TILEC_MODEL_ERR_INPUT,
                                    "--shape %s: dimension %d is fixed at %lld by the model", name,
                                    d, (long long)v->t.dims[d]);
                    v->t.dims[d] = t->dims[d];
                }
                v->t.rank = t->rank;
                used = true;
            }
            for (int d = 0; v->dim_names && d < v->t.rank; d++)
                if (v->dim_names[d] && strcmp(v->dim_names[d], name) == 0) {
                    if (t->rank != 1)
                        return rerr(e, TILEC_MODEL_ERR_INPUT,
                                    "--shape %s: a symbolic dimension takes one value", name);
                    v->t.dims[d] = t->dims[0];
                    used = true;
                }
        }
        if (!used)
            return rerr(e, TILEC_MODEL_ERR_INPUT,
                        "--shape %s: no graph input or symbolic dimension has that name", name);
    }
    return 0;
}

// Loads from `bytes` (NULL: read m->path); the model's name in messages is `label`.
static TilecModelStatus load(const char *label, const char *dir, const uint8_t *bytes, size_t len,
                             const TilecModelOptions *options, TilecModel **out, char **error) {
    RErr e = {0};
    *out = NULL;
    TilecModel *m = calloc(1, sizeof *m);
    if (!m) {
        if (error)
            *error = strdup("out of memory");
        return TILEC_MODEL_ERR_MEMORY;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->path = strdup(label);
    m->dir = strdup(dir);
    m->max_bytes = options ? options->max_tensor_bytes : 0;
    uint8_t *file = NULL;
    int st = !m->path || !m->dir ? rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory") : 0;
    if (!st && !bytes) {
        st = read_file(label, &file, &len, &e);
        bytes = file;
    }
    if (!st)
        st = model_parse(m, bytes, len, &e);
    free(file);
    if (!st)
        st = apply_shapes(m, options, &e);
    if (!st)
        st = graph_prepare(m, &m->graph, &e);
    if (!st && options && options->profile) {
        m->profile = true;
        m->prof = calloc((size_t)m->graph.nnodes + 1, sizeof *m->prof);
        if (!m->prof)
            st = rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    if (st) {
        if (error) {
            size_t n = strlen(label) + strlen(e.msg) + 16;
            *error = malloc(n);
            if (*error)
                snprintf(*error, n, "%s: %s", label, e.msg);
        }
        tilec_model_free(m);
        return (TilecModelStatus)st;
    }
    *out = m;
    return TILEC_MODEL_OK;
}

TilecModelStatus tilec_model_load(const char *path, const TilecModelOptions *options,
                                  TilecModel **out, char **error) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!dir) {
        *out = NULL;
        if (error)
            *error = strdup("out of memory");
        return TILEC_MODEL_ERR_MEMORY;
    }
    TilecModelStatus st = load(path, dir, NULL, 0, options, out, error);
    free(dir);
    return st;
}

TilecModelStatus tilec_model_load_memory(const void *bytes, size_t len, const char *dir,
                                         const TilecModelOptions *options, TilecModel **out,
                                         char **error) {
    return load("<memory>", dir ? dir : ".", bytes ? bytes : "", len, options, out, error);
}

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
    if (m->proto)
        onnx__model_proto__free_unpacked(m->proto, NULL);
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
        const Onnx__GraphProto *gp = m->proto->graph;
        info->dtype = 0;
        info->rank = -1;
        for (size_t k = 0; k < gp->n_output; k++) {
            const Onnx__ValueInfoProto *vi = gp->output[k];
            if (!vi->name || strcmp(vi->name, v->name) != 0 || !vi->type ||
                vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
                continue;
            const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
            info->dtype = tt->elem_type;
            if (tt->shape && tt->shape->n_dim <= RMAX_RANK) {
                info->rank = (int)tt->shape->n_dim;
                for (size_t d = 0; d < tt->shape->n_dim; d++)
                    info->dims[d] = tt->shape->dim[d]->value_case ==
                                            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                                        ? tt->shape->dim[d]->dim_value
                                        : -1;
            }
        }
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
