// runner/blob_read.c — an ahead-of-time blob (layout: blob.h) back into a runnable model: the
// graph rebuilt, constants pointing into the blob, every live node's prepare() run again.
#include <stdlib.h>
#include <string.h>

#include "blob.h"

typedef struct Rd {
    const uint8_t *p, *end;
    const uint8_t *data;  // the data section
    uint64_t data_bytes;
    bool bad;  // read past the end, or a field out of range
} Rd;

static void get(Rd *r, void *dst, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

static uint8_t get_u8(Rd *r) {
    uint8_t v;
    get(r, &v, 1);
    return v;
}
static int32_t get_i32(Rd *r) {
    int32_t v;
    get(r, &v, 4);
    return v;
}
static int64_t get_i64(Rd *r) {
    int64_t v;
    get(r, &v, 8);
    return v;
}
static uint64_t get_u64(Rd *r) {
    uint64_t v;
    get(r, &v, 8);
    return v;
}
static float get_f32(Rd *r) {
    float v;
    get(r, &v, 4);
    return v;
}
// A count in [0, max].
static int get_count(Rd *r, int max) {
    int32_t n = get_i32(r);
    if (n < 0 || n > max)
        r->bad = true;
    return r->bad ? 0 : n;
}
// A malloc'd, NUL-terminated copy of a str; *len its length.
static char *get_bytes(Rd *r, size_t *len) {
    uint32_t n;
    get(r, &n, 4);
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    if (len)
        *len = n;
    return s;
}
static char *get_str(Rd *r) { return get_bytes(r, NULL); }

static void get_tensor(Rd *r, Tensor *t) {
    memset(t, 0, sizeof *t);
    t->dtype = get_i32(r);
    t->rank = get_i32(r);
    if (t->rank < -1 || t->rank > RMAX_RANK) {
        r->bad = true;
        return;
    }
    for (int d = 0; d < t->rank; d++)
        t->dims[d] = get_i64(r);
}

static void get_attr(Rd *r, Attr *a) {
    a->name = get_str(r);
    a->i = get_i64(r);
    a->f = get_f32(r);
    a->has_s = get_u8(r);
    if (a->has_s)
        a->s = get_bytes(r, &a->slen);
    a->nints = get_count(r, (int)((r->end - r->p) / 8));
    if (a->nints && (a->ints = malloc((size_t)a->nints * 8)) != NULL)
        get(r, a->ints, (size_t)a->nints * 8);
    a->nfloats = get_count(r, (int)((r->end - r->p) / 4));
    if (a->nfloats && (a->floats = malloc((size_t)a->nfloats * 4)) != NULL)
        get(r, a->floats, (size_t)a->nfloats * 4);
    if ((a->nints && !a->ints) || (a->nfloats && !a->floats))
        r->bad = true;
    int ns = get_count(r, (int)((r->end - r->p) / 4));
    if (ns) {
        a->strings = calloc((size_t)ns, sizeof *a->strings);
        a->lens = calloc((size_t)ns, sizeof *a->lens);
        if (!a->strings || !a->lens)
            r->bad = true;
        for (int k = 0; k < ns && !r->bad; k++) {
            a->strings[k] = get_bytes(r, &a->lens[k]);
            a->nstrings = k + 1;
        }
    }
    a->has_t = get_u8(r);
    if (!a->has_t || r->bad)
        return;
    if (get_u8(r)) {
        a->bad = get_str(r);
        a->bad_code = get_i32(r);
        return;
    }
    get_tensor(r, &a->t);
    uint64_t bytes = get_u64(r);
    if (r->bad || bytes != tensor_bytes(&a->t) || bytes > (uint64_t)(r->end - r->p) ||
        !(a->t.data = malloc(bytes + 1))) {
        r->bad = true;
        return;
    }
    get(r, a->t.data, bytes);
}

static int get_graph(Rd *r, Graph *g, Graph *parent);

static const OpDef *find_op(const char *name, int since) {
    bool known;
    const OpDef *op = ops_find(name, since, &known);
    return op && op->since == since ? op : NULL;
}

// A value index read for a graph of nvalues (-1 allowed where `optional`).
static int get_index(Rd *r, int nvalues, bool optional) {
    int32_t v = get_i32(r);
    if (v >= nvalues || v < (optional ? -1 : 0))
        r->bad = true;
    return r->bad ? -1 : v;
}

static void get_node(Rd *r, Graph *g, Node *n) {
    n->op_type = get_str(r);
    n->name = get_str(r);
    n->opset = get_i32(r);
    char *op = get_str(r);
    int since = get_i32(r);
    if (op && op[0] && !(n->op = find_op(op, since)))
        r->bad = true;  // the object's runner lacks an op its tool had
    free(op);
    n->nin = get_count(r, 1 << 16);
    n->in = malloc(((size_t)n->nin + 1) * sizeof(int));
    for (int i = 0; n->in && i < n->nin; i++)
        n->in[i] = get_index(r, g->nvalues, true);
    n->nout = get_count(r, 1 << 16);
    n->out = malloc(((size_t)n->nout + 1) * sizeof(int));
    for (int i = 0; n->out && i < n->nout; i++)
        n->out[i] = get_index(r, g->nvalues, true);
    if (!n->in || !n->out)
        r->bad = true;
    n->dead = get_u8(r);
    n->host = get_u8(r);
    n->epi.on = get_u8(r);
    n->epi.act = get_i32(r);
    n->epi.a0 = get_f32(r);
    n->epi.a1 = get_f32(r);
    n->epi.scale = get_f32(r);
    n->epi.shift = get_f32(r);
    if (!n->dead && !n->op)
        r->bad = true;
    int na = get_count(r, 1 << 16);
    if (na && !(n->attrs = calloc((size_t)na, sizeof *n->attrs)))
        r->bad = true;
    for (int k = 0; k < na && !r->bad; k++) {
        n->nattrs = k + 1;
        get_attr(r, &n->attrs[k]);
    }
    int ns = get_count(r, 16);
    if (ns && !(n->subgraphs = calloc((size_t)ns, sizeof *n->subgraphs)))
        r->bad = true;
    for (int s = 0; s < ns && !r->bad; s++) {
        n->nsubgraphs = s + 1;
        if (!(n->subgraphs[s] = calloc(1, sizeof(Graph))) || get_graph(r, n->subgraphs[s], g))
            r->bad = true;
    }
}

static void get_value(Rd *r, const Graph *parent, Value *v) {
    v->name = get_str(r);
    v->kind = get_i32(r);
    get_tensor(r, &v->t);
    if (get_u8(r)) {
        uint64_t off = get_u64(r), bytes = get_u64(r);
        if (v->kind != VAL_CONST || off > r->data_bytes || bytes > r->data_bytes - off || v->t.rank < 0 ||
            bytes != tensor_bytes(&v->t))
            r->bad = true;
        else
            v->t.data = (void *)(r->data + off);
    }
    if (get_u8(r)) {
        if (!(v->dim_names = calloc(RMAX_RANK, sizeof(char *))))
            r->bad = true;
        for (int d = 0; d < RMAX_RANK && !r->bad; d++)
            if (get_u8(r))
                v->dim_names[d] = get_str(r);
    }
    v->producer = get_i32(r);
    v->outer_index = get_i32(r);
    v->is_output = get_u8(r);
    v->shape_relevant = get_u8(r);
    if (v->kind < VAL_NODE || v->kind > VAL_OUTER ||
        (v->kind == VAL_OUTER && (!parent || v->outer_index < 0 || v->outer_index >= parent->nvalues)))
        r->bad = true;
}

static int get_graph(Rd *r, Graph *g, Graph *parent) {
    g->parent = parent;
    g->name = get_str(r);
    g->max_bytes = get_u64(r);
    int nv = get_count(r, (int)((r->end - r->p) / 8));
    if (!(g->values = calloc((size_t)nv + 1, sizeof *g->values)))
        r->bad = true;
    for (int v = 0; v < nv && !r->bad; v++) {
        g->nvalues = g->cap_values = v + 1;
        get_value(r, parent, &g->values[v]);
    }
    int nn = get_count(r, (int)((r->end - r->p) / 8));
    if (!(g->nodes = calloc((size_t)nn + 1, sizeof *g->nodes)))
        r->bad = true;
    for (int k = 0; k < nn && !r->bad; k++) {
        g->nnodes = g->cap_nodes = k + 1;
        get_node(r, g, &g->nodes[k]);
    }
    for (int v = 0; v < g->nvalues && !r->bad; v++)
        if (g->values[v].kind == VAL_NODE &&
            (g->values[v].producer < -1 || g->values[v].producer >= g->nnodes))
            r->bad = true;
    int ni = get_count(r, g->nvalues);
    if (!(g->inputs = malloc(((size_t)ni + 1) * sizeof(int))))
        r->bad = true;
    for (int i = 0; i < ni && !r->bad; i++) {
        g->inputs[i] = get_index(r, g->nvalues, false);
        g->ninputs = i + 1;
    }
    int no = get_count(r, g->nvalues);
    g->outputs = malloc(((size_t)no + 1) * sizeof(int));
    g->output_decl = calloc((size_t)no + 1, sizeof *g->output_decl);
    if (!g->outputs || !g->output_decl)
        r->bad = true;
    for (int i = 0; i < no && !r->bad; i++) {
        g->outputs[i] = get_index(r, g->nvalues, false);
        get_tensor(r, &g->output_decl[i]);
        g->noutputs = i + 1;
    }
    return r->bad;
}

// Every live node's prepare(), as graph_prepare ran them after its passes.
static int prepare_ops(Graph *g, RErr *e) {
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        int st = n->op->prepare ? n->op->prepare(n, g, e) : 0;
        for (int s = 0; s < n->nsubgraphs && !st; s++)
            st = prepare_ops(n->subgraphs[s], e);
        if (st)
            return st;
    }
    return 0;
}

static void get_io(Rd *r, int *count, char ***names, Tensor **ts) {
    int n = *count = get_count(r, 1 << 16);
    *names = calloc((size_t)n + 1, sizeof **names);
    *ts = calloc((size_t)n + 1, sizeof **ts);
    if (!*names || !*ts)
        r->bad = true;
    for (int i = 0; i < n && !r->bad; i++) {
        (*names)[i] = get_str(r);
        get_tensor(r, &(*ts)[i]);
        if ((*ts)[i].rank < 0)
            r->bad = true;
        for (int d = 0; d < (*ts)[i].rank; d++)
            if ((*ts)[i].dims[d] < 0)
                r->bad = true;
    }
}

void blob_model_free(BlobModel *b) {
    for (int i = 0; b->input_names && i < b->ninputs; i++)
        free(b->input_names[i]);
    for (int i = 0; b->output_names && i < b->noutputs; i++)
        free(b->output_names[i]);
    free(b->input_names), free(b->output_names), free(b->inputs), free(b->outputs);
    tilec_model_free(b->model);
    memset(b, 0, sizeof *b);
}

int blob_read(const uint8_t *blob, size_t len, BlobModel *out, RErr *e) {
    memset(out, 0, sizeof *out);
    BlobHeader h;
    if (len < sizeof h)
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "the model blob is truncated");
    memcpy(&h, blob, sizeof h);
    if (memcmp(h.magic, BLOB_MAGIC, 8) != 0 || h.version != BLOB_VERSION || h.header_bytes != sizeof h)
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "not a model blob of version %d", BLOB_VERSION);
    if (h.meta_offset > len || h.meta_bytes > len - h.meta_offset || h.data_offset > len ||
        h.data_bytes > len - h.data_offset)
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "the model blob is truncated");
    TilecModel *m = calloc(1, sizeof *m);
    if (!m)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    out->model = m;
    m->path = strdup("<ahead-of-time model>");
    m->dir = strdup(".");
    Rd r = {.p = blob + h.meta_offset,
            .end = blob + h.meta_offset + h.meta_bytes,
            .data = blob + h.data_offset,
            .data_bytes = h.data_bytes};
    // Constants are used in place when aligned as the writer laid them out, else copied.
    if ((uintptr_t)r.data % BLOB_ALIGN != 0 && h.data_bytes) {
        void *copy = aligned_alloc(BLOB_ALIGN, (h.data_bytes + BLOB_ALIGN - 1) / BLOB_ALIGN * BLOB_ALIGN);
        if (!copy || model_keep(m, copy, e)) {
            free(copy);
            blob_model_free(out);
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        }
        memcpy(copy, r.data, h.data_bytes);
        r.data = copy;
    }
    m->ir_version = get_i64(&r);
    m->opset = get_i32(&r);
    m->max_bytes = get_u64(&r);
    uint64_t arena_bytes = get_u64(&r);
    get_io(&r, &out->ninputs, &out->input_names, &out->inputs);
    get_io(&r, &out->noutputs, &out->output_names, &out->outputs);
    if (!m->path || !m->dir)
        r.bad = true;
    if (!r.bad)
        get_graph(&r, &m->graph, NULL);
    if (!r.bad && (out->ninputs != m->graph.ninputs || out->noutputs != m->graph.noutputs))
        r.bad = true;
    if (r.bad) {
        blob_model_free(out);
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "the model blob is damaged or out of memory");
    }
    int st = prepare_ops(&m->graph, e);
    // The plan for the fixed shapes, now rather than at the first run (inputs' data is not read:
    // the compiler refused inputs whose values decide shapes).
    Plan *p = NULL;
    if (!st)
        st = plan_build(m, out->inputs, &p, e);
    if (!st) {
        m->plan_list[m->nplans++] = p;
        m->last_peak = p->arena_bytes;
        if (p->arena_bytes != arena_bytes)
            st =
                rerr(e, TILEC_MODEL_ERR_FORMAT, "the plan needs a %zu-byte arena, the compiler's needed %llu",
                     p->arena_bytes, (unsigned long long)arena_bytes);
    }
    for (int i = 0; !st && i < out->noutputs; i++) {
        const Tensor *t = &p->vals[m->graph.outputs[i]];
        if (t->dtype != out->outputs[i].dtype || !tensor_same_shape(t, &out->outputs[i]))
            st = rerr(e, TILEC_MODEL_ERR_INVALID, "output '%s' is planned with another shape",
                      out->output_names[i]);
    }
    if (st)
        blob_model_free(out);
    return st;
}
