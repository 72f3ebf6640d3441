// runner/plan.c — a run's plan for one input signature: every value's type and shape
// inferred, the shape arithmetic evaluated (host nodes), and every intermediate placed in one
// arena by lifetime — greedy by size, as ONNX Runtime's and TFLite's planners do: the largest
// buffer first, each at the lowest offset that no buffer alive at the same time overlaps.
// Elementwise ops reuse their input's buffer when it dies there; views (Reshape, ...) share
// their input's bytes.
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define ARENA_ALIGN 64

typedef struct Buffer {
    size_t bytes, offset;
    int first, last;  // node positions
} Buffer;

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

static int cmp_size_desc(const void *a, const void *b) {
    const Buffer *x = *(Buffer *const *)a, *y = *(Buffer *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

static int cmp_offset(const void *a, const void *b) {
    const Buffer *x = *(Buffer *const *)a, *y = *(Buffer *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

// Greedy by size; returns the arena's size.
static int assign_offsets(Buffer *bufs, int n, size_t *total, RErr *e) {
    Buffer **order = malloc(((size_t)n + 1) * sizeof *order);
    Buffer **placed = malloc(((size_t)n + 1) * sizeof *placed);
    Buffer **live = malloc(((size_t)n + 1) * sizeof *live);
    if (!order || !placed || !live) {
        free(order), free(placed), free(live);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++)
        order[i] = &bufs[i];
    qsort(order, (size_t)n, sizeof *order, cmp_size_desc);
    int nplaced = 0;
    size_t end = 0;
    for (int i = 0; i < n; i++) {
        Buffer *b = order[i];
        int nlive = 0;
        for (int j = 0; j < nplaced; j++)
            if (placed[j]->first <= b->last && b->first <= placed[j]->last)
                live[nlive++] = placed[j];
        qsort(live, (size_t)nlive, sizeof *live, cmp_offset);
        size_t off = 0, need = align_up(b->bytes);
        for (int j = 0; j < nlive; j++) {
            if (live[j]->offset >= off + need)
                break;
            size_t e2 = live[j]->offset + align_up(live[j]->bytes);
            if (e2 > off)
                off = e2;
        }
        b->offset = off;
        if (off + need > end)
            end = off + need;
        placed[nplaced++] = b;
    }
    free(order), free(placed), free(live);
    *total = end;
    return 0;
}

bool plan_matches(const TilecModel *m, const Plan *p, const Tensor *inputs) {
    const Graph *g = &m->graph;
    for (int i = 0; i < g->ninputs; i++) {
        if (!tensor_same_shape(&p->key_shapes[i], &inputs[i]) ||
            p->key_shapes[i].dtype != inputs[i].dtype)
            return false;
        if (p->key_values[i] && memcmp(p->key_values[i], inputs[i].data, tensor_bytes(&inputs[i])))
            return false;
    }
    return true;
}

void plan_free(Plan *p, int nvalues) {
    if (!p)
        return;
    for (int v = 0; v < nvalues && p->storage; v++)
        if (p->storage[v] == ST_HOST)
            free(p->vals[v].data);
    if (p->key_values)
        for (int i = 0; i < p->ninputs; i++)
            free(p->key_values[i]);
    free(p->key_values);
    free(p->key_shapes), free(p->vals), free(p->storage), free(p->alias_of), free(p->offset);
    free(p->scratch_offset), free(p->scratch_bytes);
    free(p);
}

static int alloc_plan(const Graph *g, Plan **out, RErr *e) {
    Plan *p = calloc(1, sizeof *p);
    size_t nv = (size_t)g->nvalues + 1, nn = (size_t)g->nnodes + 1, ni = (size_t)g->ninputs + 1;
    if (p) {
        p->key_shapes = calloc(ni, sizeof *p->key_shapes);
        p->key_values = calloc(ni, sizeof *p->key_values);
        p->vals = calloc(nv, sizeof *p->vals);
        p->storage = calloc(nv, sizeof *p->storage);
        p->alias_of = calloc(nv, sizeof *p->alias_of);
        p->offset = calloc(nv, sizeof *p->offset);
        p->scratch_offset = calloc(nn, sizeof *p->scratch_offset);
        p->scratch_bytes = calloc(nn, sizeof *p->scratch_bytes);
    }
    if (!p || !p->key_shapes || !p->key_values || !p->vals || !p->storage || !p->alias_of ||
        !p->offset || !p->scratch_offset || !p->scratch_bytes) {
        plan_free(p, 0);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    p->ninputs = g->ninputs;
    *out = p;
    return 0;
}

// Infers every live node's outputs and evaluates host nodes.
static int infer_all(TilecModel *m, Plan *p, const Tensor *inputs, RErr *e) {
    Graph *g = &m->graph;
    for (int v = 0; v < g->nvalues; v++) {
        const Value *val = &g->values[v];
        if (val->kind == VAL_CONST) {
            p->vals[v] = val->t;
            p->storage[v] = ST_CONST;
        }
    }
    for (int i = 0; i < g->ninputs; i++) {
        int v = g->inputs[i];
        p->vals[v] = inputs[i];
        p->storage[v] = ST_INPUT;
        if (!g->values[v].shape_relevant)
            p->vals[v].data = NULL;
    }
    Tensor in[64], outs[32];
    for (int k = 0; k < g->nnodes; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        if (n->nin > 64 || n->nout > 32)
            return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' has too many inputs or outputs",
                        n->name);
        if (n->host) {
            int st = node_eval(g, n, p->vals, outs, e);
            if (st)
                return st;
            for (int o = 0; o < n->nout; o++) {
                p->vals[n->out[o]] = outs[o];
                p->storage[n->out[o]] = ST_HOST;
            }
            continue;
        }
        node_inputs(n, p->vals, in);
        for (int i = 0; i < n->nin; i++)
            if (!(n->op->shape_inputs >> i & 1) || i >= 32)
                in[i].data = NULL;  // infer() sees data only where it may depend on it
        memset(outs, 0, sizeof(Tensor) * (size_t)(n->nout > 16 ? n->nout : 16));
        OpCtx c = {.node = n, .nin = n->nin, .nout = n->nout, .in = in, .out = outs, .err = e,
                   .graph = g, .values = p->vals};
        int st = n->op->infer(&c);
        if (st)
            return st;
        for (int o = 0; o < n->nout; o++) {
            if ((st = check_inferred(g, n, o, &outs[o], e)) != 0)
                return st;
            outs[o].data = NULL;
            p->vals[n->out[o]] = outs[o];
            p->storage[n->out[o]] = ST_ARENA;
        }
        if (n->op->flags & OP_ALIAS) {
            int src = n->in[0];
            int root = p->storage[src] == ST_ALIAS ? p->alias_of[src] : src;
            p->storage[n->out[0]] = ST_ALIAS;
            p->alias_of[n->out[0]] = root;
        }
        if (n->op->scratch) {
            OpCtx sc = c;
            p->scratch_bytes[k] = n->op->scratch(&sc);
        }
    }
    return 0;
}

int plan_build(TilecModel *m, const Tensor *inputs, Plan **out, RErr *e) {
    Graph *g = &m->graph;
    Plan *p = NULL;
    int st = alloc_plan(g, &p, e);
    if (st)
        return st;
    for (int i = 0; i < g->ninputs; i++) {
        p->key_shapes[i] = inputs[i];
        p->key_shapes[i].data = NULL;
        if (g->values[g->inputs[i]].shape_relevant) {
            size_t bytes = tensor_bytes(&inputs[i]);
            p->key_values[i] = malloc(bytes ? bytes : 1);
            if (!p->key_values[i]) {
                st = rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
                break;
            }
            memcpy(p->key_values[i], inputs[i].data, bytes);
        }
    }
    if (!st)
        st = infer_all(m, p, inputs, e);
    // Lifetimes: the last node position that reads each value (outputs live to the end).
    int nv = g->nvalues, nn = g->nnodes;
    int *last = malloc(((size_t)nv + 1) * sizeof *last), *buf_of = malloc(((size_t)nv + 1) * sizeof *buf_of);
    Buffer *bufs = malloc(((size_t)nv + (size_t)nn + 1) * sizeof *bufs);
    int *buf_last = malloc(((size_t)nv + (size_t)nn + 1) * sizeof *buf_last);
    if (!st && (!last || !buf_of || !bufs || !buf_last))
        st = rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    if (st) {
        free(last), free(buf_of), free(bufs), free(buf_last);
        plan_free(p, nv);
        return st;
    }
    for (int v = 0; v < nv; v++) {
        last[v] = g->values[v].is_output ? nn : -1;
        buf_of[v] = -1;
    }
    for (int k = 0; k < nn; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead || n->host)
            continue;
        for (int i = 0; i < n->nin; i++)
            if (n->in[i] >= 0 && last[n->in[i]] < k)
                last[n->in[i]] = k;
        // What a subgraph reads of this graph is read here too.
        for (int s = 0; s < n->nsubgraphs; s++)
            for (int v = 0; v < n->subgraphs[s]->nvalues; v++)
                if (n->subgraphs[s]->values[v].kind == VAL_OUTER &&
                    last[n->subgraphs[s]->values[v].outer_index] < k)
                    last[n->subgraphs[s]->values[v].outer_index] = k;
    }
    // Aliases keep their source alive.
    for (int v = 0; v < nv; v++)
        if (p->storage[v] == ST_ALIAS && last[v] > last[p->alias_of[v]])
            last[p->alias_of[v]] = last[v];
    int nbufs = 0;
    for (int k = 0; k < nn; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead || n->host)
            continue;
        for (int o = 0; o < n->nout; o++) {
            int v = n->out[o];
            if (p->storage[v] != ST_ARENA)
                continue;
            int src = n->nin > 0 ? n->in[0] : -1;
            int b = src >= 0 ? buf_of[src] : -1;
            if (o == 0 && (n->op->flags & OP_INPLACE) && b >= 0 && buf_last[b] <= k &&
                !g->values[src].is_output && tensor_bytes(&p->vals[src]) == tensor_bytes(&p->vals[v]) &&
                p->storage[src] == ST_ARENA) {
                buf_of[v] = b;
                if (last[v] > buf_last[b])
                    buf_last[b] = bufs[b].last = last[v] < k ? k : last[v];
                continue;
            }
            bufs[nbufs] = (Buffer){.bytes = tensor_bytes(&p->vals[v]), .first = k,
                                   .last = last[v] < k ? k : last[v]};
            buf_last[nbufs] = bufs[nbufs].last;
            buf_of[v] = nbufs++;
        }
        if (p->scratch_bytes[k]) {
            bufs[nbufs] = (Buffer){.bytes = p->scratch_bytes[k], .first = k, .last = k};
            buf_last[nbufs] = k;
            p->scratch_offset[k] = (size_t)nbufs++;  // the buffer's index, replaced below
        }
    }
    // An alias's source buffer lives as long as the alias.
    for (int v = 0; v < nv; v++)
        if (p->storage[v] == ST_ALIAS) {
            int b = buf_of[p->alias_of[v]];
            if (b >= 0 && last[v] > bufs[b].last)
                bufs[b].last = last[v];
        }
    size_t total = 0;
    st = assign_offsets(bufs, nbufs, &total, e);
    if (!st) {
        for (int v = 0; v < nv; v++)
            if (p->storage[v] == ST_ARENA)
                p->offset[v] = buf_of[v] >= 0 ? bufs[buf_of[v]].offset : 0;
        for (int k = 0; k < nn; k++)
            if (p->scratch_bytes[k])
                p->scratch_offset[k] = bufs[p->scratch_offset[k]].offset;
        p->arena_bytes = total;
    }
    free(last), free(buf_of), free(bufs), free(buf_last);
    if (st) {
        plan_free(p, nv);
        return st;
    }
    *out = p;
    return 0;
}
