// runner/model_load.c — tilec_model_load and tilec_model_load_memory: read an ONNX file, parse
// it (onnx_load.c), fix symbolic dimensions (--shape), run the graph passes (graph.c).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_ew.h"
#include "model.h"

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
    if (!st)
        st = graph_fuse_ew(m, options, &e);
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

