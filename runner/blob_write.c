// runner/blob_write.c — a prepared model as an ahead-of-time blob (layout: blob.h).
#include <stdlib.h>
#include <string.h>

#include "blob.h"

typedef struct Buf {
    uint8_t *p;
    size_t len, cap;
    bool failed;  // out of memory: every later write is dropped
} Buf;

static void put(Buf *b, const void *src, size_t n) {
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

// The host is little-endian (x86-64 and AArch64 Linux), which the layout is.
static void put_u8(Buf *b, uint8_t v) { put(b, &v, 1); }
static void put_i32(Buf *b, int32_t v) { put(b, &v, 4); }
static void put_u32(Buf *b, uint32_t v) { put(b, &v, 4); }
static void put_i64(Buf *b, int64_t v) { put(b, &v, 8); }
static void put_u64(Buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f32(Buf *b, float v) { put(b, &v, 4); }
static void put_bytes(Buf *b, const void *s, size_t n) {
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}
static void put_str(Buf *b, const char *s) { put_bytes(b, s ? s : "", s ? strlen(s) : 0); }

static void put_tensor(Buf *b, const Tensor *t) {
    put_i32(b, t->dtype);
    put_i32(b, t->rank);
    for (int d = 0; d < t->rank && d < RMAX_RANK; d++)
        put_i64(b, t->dims[d]);
}

// Appends bytes to the data section at an aligned offset; returns the offset.
static uint64_t put_data(Buf *data, const void *p, size_t n) {
    static const uint8_t zeros[BLOB_ALIGN];
    put(data, zeros, (BLOB_ALIGN - data->len % BLOB_ALIGN) % BLOB_ALIGN);
    uint64_t off = data->len;
    put(data, p, n);
    return off;
}

static void put_attr(Buf *b, const Attr *a) {
    put_str(b, a->name);
    put_i64(b, a->i);
    put_f32(b, a->f);
    put_u8(b, a->has_s);
    if (a->has_s)
        put_bytes(b, a->s, a->slen);
    put_i32(b, a->nints);
    for (int k = 0; k < a->nints; k++)
        put_i64(b, a->ints[k]);
    put_i32(b, a->nfloats);
    for (int k = 0; k < a->nfloats; k++)
        put_f32(b, a->floats[k]);
    put_i32(b, a->nstrings);
    for (int k = 0; k < a->nstrings; k++)
        put_bytes(b, a->strings[k], a->lens[k]);
    put_u8(b, a->has_t);
    if (!a->has_t)
        return;
    put_u8(b, a->bad != NULL);
    if (a->bad) {
        put_str(b, a->bad);
        put_i32(b, a->bad_code);
        return;
    }
    put_tensor(b, &a->t);
    size_t bytes = tensor_bytes(&a->t);
    put_u64(b, bytes);
    put(b, a->t.data, bytes);
}

static void put_graph(Buf *b, Buf *data, const Graph *g);

static void put_node(Buf *b, Buf *data, const Node *n) {
    put_str(b, n->op_type);
    put_str(b, n->name);
    put_i32(b, n->opset);
    put_str(b, n->op ? n->op->name : "");
    put_i32(b, n->op ? n->op->since : 0);
    put_i32(b, n->nin);
    for (int i = 0; i < n->nin; i++)
        put_i32(b, n->in[i]);
    put_i32(b, n->nout);
    for (int i = 0; i < n->nout; i++)
        put_i32(b, n->out[i]);
    put_u8(b, n->dead);
    put_u8(b, n->host);
    put_u8(b, n->epi.on);
    put_i32(b, n->epi.act);
    put_f32(b, n->epi.a0);
    put_f32(b, n->epi.a1);
    put_f32(b, n->epi.scale);
    put_f32(b, n->epi.shift);
    put_i32(b, n->dead ? 0 : n->nattrs);
    for (int k = 0; !n->dead && k < n->nattrs; k++)
        put_attr(b, &n->attrs[k]);
    put_i32(b, n->dead ? 0 : n->nsubgraphs);
    for (int s = 0; !n->dead && s < n->nsubgraphs; s++)
        put_graph(b, data, n->subgraphs[s]);
}

static void put_graph(Buf *b, Buf *data, const Graph *g) {
    // The constants a run can read: live nodes' inputs, outputs, values subgraphs reach.
    bool *used = calloc((size_t)g->nvalues + 1, 1);
    if (!used) {
        b->failed = true;
        return;
    }
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        for (int i = 0; i < n->nin; i++)
            if (n->in[i] >= 0)
                used[n->in[i]] = true;
        for (int s = 0; s < n->nsubgraphs; s++)
            for (int v = 0; v < n->subgraphs[s]->nvalues; v++)
                if (n->subgraphs[s]->values[v].kind == VAL_OUTER)
                    used[n->subgraphs[s]->values[v].outer_index] = true;
    }
    for (int i = 0; i < g->noutputs; i++)
        used[g->outputs[i]] = true;
    put_str(b, g->name);
    put_u64(b, g->max_bytes);
    put_i32(b, g->nvalues);
    for (int v = 0; v < g->nvalues; v++) {
        const Value *val = &g->values[v];
        put_str(b, val->name);
        put_i32(b, val->kind);
        put_tensor(b, &val->t);
        bool has = val->kind == VAL_CONST && used[v] && val->t.data;
        put_u8(b, has);
        if (has) {
            size_t bytes = tensor_bytes(&val->t);
            put_u64(b, put_data(data, val->t.data, bytes));
            put_u64(b, bytes);
        }
        put_u8(b, val->dim_names != NULL);
        for (int d = 0; val->dim_names && d < RMAX_RANK; d++) {
            put_u8(b, val->dim_names[d] != NULL);
            if (val->dim_names[d])
                put_str(b, val->dim_names[d]);
        }
        put_i32(b, val->producer);
        put_i32(b, val->outer_index);
        put_u8(b, val->is_output);
        put_u8(b, val->shape_relevant);
    }
    free(used);
    put_i32(b, g->nnodes);
    for (int k = 0; k < g->nnodes; k++)
        put_node(b, data, &g->nodes[k]);
    put_i32(b, g->ninputs);
    for (int i = 0; i < g->ninputs; i++)
        put_i32(b, g->inputs[i]);
    put_i32(b, g->noutputs);
    for (int i = 0; i < g->noutputs; i++) {
        put_i32(b, g->outputs[i]);
        put_tensor(b, &g->output_decl[i]);
    }
}

int blob_write(const TilecModel *m, const Tensor *outputs, uint8_t **blob, size_t *len, RErr *e) {
    const Graph *g = &m->graph;
    Buf meta = {0}, data = {0};
    put_i64(&meta, m->ir_version);
    put_i32(&meta, m->opset);
    put_u64(&meta, m->max_bytes);
    put_u64(&meta, m->last_peak);
    put_i32(&meta, g->ninputs);
    for (int i = 0; i < g->ninputs; i++) {
        put_str(&meta, g->values[g->inputs[i]].name);
        put_tensor(&meta, &g->values[g->inputs[i]].t);
    }
    put_i32(&meta, g->noutputs);
    for (int i = 0; i < g->noutputs; i++) {
        put_str(&meta, g->values[g->outputs[i]].name);
        put_tensor(&meta, &outputs[i]);
    }
    put_graph(&meta, &data, g);
    BlobHeader h = {.version = BLOB_VERSION, .header_bytes = sizeof h};
    memcpy(h.magic, BLOB_MAGIC, 8);
    h.meta_offset = sizeof h;
    h.meta_bytes = meta.len;
    h.data_offset = (sizeof h + meta.len + BLOB_ALIGN - 1) / BLOB_ALIGN * BLOB_ALIGN;
    h.data_bytes = data.len;
    Buf out = {0};
    put(&out, &h, sizeof h);
    put(&out, meta.p, meta.len);
    static const uint8_t zeros[BLOB_ALIGN];
    put(&out, zeros, h.data_offset - out.len);
    put(&out, data.p, data.len);
    bool failed = meta.failed || data.failed || out.failed;
    free(meta.p), free(data.p);
    if (failed) {
        free(out.p);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory writing the model's blob");
    }
    *blob = out.p;
    *len = out.len;
    return 0;
}
