// runner/exec.c — running nodes and graphs: one node with its inputs at hand (constant folding,
// shape arithmetic, subgraphs), and a whole run on a plan's arena (tilec_model_run).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

void node_inputs(const Node *n, const Tensor *values, Tensor *in) {
    for (int i = 0; i < n->nin; i++) {
        if (n->in[i] < 0)
            memset(&in[i], 0, sizeof in[i]);
        else
            in[i] = values[n->in[i]];
    }
    for (int i = n->nin; i < 16; i++)
        memset(&in[i], 0, sizeof in[i]);
}

int check_inferred(const Graph *g, const Node *n, int k, const Tensor *t, RErr *e) {
    size_t es = dtype_size(t->dtype);
    if (!es)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' (%s): output %d has element type %s",
                    n->name, n->op_type, k, dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > RMAX_RANK)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' (%s): output %d has rank %d (at most %d)",
                    n->name, n->op_type, k, t->rank, RMAX_RANK);
    int64_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (%s): output %d has a negative dimension",
                        n->name, n->op_type, k);
        if (t->dims[i] && count > RUNNER_MAX_ELEMENTS / t->dims[i])
            count = RUNNER_MAX_ELEMENTS + 1;
        else
            count *= t->dims[i];
    }
    if (count > RUNNER_MAX_ELEMENTS)
        return rerr(e, TILEC_MODEL_ERR_MEMORY,
                    "node '%s' (%s): output %d would have more than 2^36 elements", n->name, n->op_type, k);
    if (g->max_bytes && (uint64_t)count * es > g->max_bytes)
        return rerr(e, TILEC_MODEL_ERR_MEMORY,
                    "node '%s' (%s): output %d would take %llu bytes, above the model's limit of %llu",
                    n->name, n->op_type, k, (unsigned long long)count * es,
                    (unsigned long long)g->max_bytes);
    return 0;
}

static void free_outs(Tensor *outs, int n) {
    for (int o = 0; o < n; o++) {
        free(outs[o].data);
        outs[o].data = NULL;
    }
}

int node_eval(const Graph *g, const Node *n, const Tensor *values, Tensor *outs, RErr *e) {
    Tensor in[64];
    if (n->nin > 64 || n->nout > 32)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' has too many inputs or outputs", n->name);
    node_inputs(n, values, in);
    memset(outs, 0, sizeof(Tensor) * (size_t)(n->nout > 16 ? n->nout : 16));
    OpCtx c = {.node = n, .nin = n->nin, .nout = n->nout, .in = in, .out = outs, .err = e,
               .graph = g, .values = values};
    int st = n->op->infer(&c);
    if (st)
        return st;
    for (int o = 0; o < n->nout; o++) {
        if ((st = check_inferred(g, n, o, &outs[o], e)) != 0)
            return st;
        outs[o].data = NULL;
    }
    for (int o = 0; o < n->nout; o++) {
        size_t bytes = tensor_bytes(&outs[o]);
        outs[o].data = malloc(bytes ? bytes : 1);
        if (!outs[o].data) {
            free_outs(outs, n->nout);
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory for %zu bytes", n->name, bytes);
        }
    }
    if (n->op->flags & OP_ALIAS) {
        memcpy(outs[0].data, in[0].data, tensor_bytes(&outs[0]));
        return 0;
    }
    void *scratch = NULL;
    if (n->op->scratch) {
        size_t bytes = n->op->scratch(&c);
        if (bytes && !(scratch = aligned_alloc(64, (bytes + 63) & ~(size_t)63))) {
            free_outs(outs, n->nout);
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "node '%s': out of memory", n->name);
        }
    }
    c.scratch = scratch;
    st = n->op->run(&c);
    free(scratch);
    if (st)
        free_outs(outs, n->nout);
    return st;
}

// A subgraph's tensors: its constants, the enclosing graph's values it names, its inputs;
// `mine` marks the ones the caller allocates (and frees) later.
static int scope_init(const Graph *g, const Tensor *outer, const Tensor *inputs, Tensor **vals,
                      bool **mine, RErr *e) {
    *vals = calloc((size_t)g->nvalues + 1, sizeof **vals);
    *mine = calloc((size_t)g->nvalues + 1, 1);
    if (!*vals || !*mine) {
        free(*vals), free(*mine);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    for (int v = 0; v < g->nvalues; v++) {
        const Value *val = &g->values[v];
        if (val->kind == VAL_CONST)
            (*vals)[v] = val->t;
        else if (val->kind == VAL_OUTER)
            (*vals)[v] = outer[val->outer_index];
    }
    for (int i = 0; i < g->ninputs; i++)
        (*vals)[g->inputs[i]] = inputs[i];
    return 0;
}

int graph_infer(const Graph *g, const Tensor *outer, const Tensor *inputs, Tensor *outputs, RErr *e) {
    Tensor *vals, in[64], outs[32];
    bool *mine;
    int st = scope_init(g, outer, inputs, &vals, &mine, e);
    if (st)
        return st;
    for (int k = 0; k < g->nnodes && !st; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        if (n->nin > 64 || n->nout > 32) {
            st = rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "node '%s' has too many inputs or outputs", n->name);
            break;
        }
        bool known = true;
        for (int i = 0; i < n->nin; i++)
            known &= n->in[i] < 0 || vals[n->in[i]].data != NULL || tensor_numel(&vals[n->in[i]]) == 0;
        if (known || (n->op->flags & OP_SHAPE_ONLY)) {
            st = node_eval(g, n, vals, outs, e);
            for (int o = 0; o < n->nout && !st; o++) {
                vals[n->out[o]] = outs[o];
                mine[n->out[o]] = true;
            }
            continue;
        }
        node_inputs(n, vals, in);
        memset(outs, 0, sizeof(Tensor) * (size_t)(n->nout > 16 ? n->nout : 16));
        OpCtx c = {.node = n, .nin = n->nin, .nout = n->nout, .in = in, .out = outs, .err = e,
                   .graph = g, .values = vals};
        for (int i = 0; i < n->nin && i < 32; i++)
            if ((n->op->shape_inputs >> i & 1) && n->in[i] >= 0 && !in[i].data && tensor_numel(&in[i]))
                st = rerr(e, TILEC_MODEL_ERR_UNSUPPORTED,
                          "node '%s' (%s): its output shape depends on tensor data computed at run "
                          "time inside a subgraph",
                          n->name, n->op_type);
        if (!st)
            st = n->op->infer(&c);
        for (int o = 0; o < n->nout && !st; o++) {
            st = check_inferred(g, n, o, &outs[o], e);
            outs[o].data = NULL;
            vals[n->out[o]] = outs[o];
        }
    }
    for (int i = 0; i < g->noutputs && !st; i++) {
        outputs[i] = vals[g->outputs[i]];
        outputs[i].data = NULL;
    }
    for (int v = 0; v < g->nvalues; v++)
        if (mine[v])
            free(vals[v].data);
    free(vals), free(mine);
    return st;
}

int graph_eval(const Graph *g, const Tensor *outer, const Tensor *inputs, Tensor *outputs, RErr *e) {
    Tensor *vals, outs[32];
    bool *mine;
    int st = scope_init(g, outer, inputs, &vals, &mine, e);
    if (st)
        return st;
    for (int k = 0; k < g->nnodes && !st; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead)
            continue;
        st = node_eval(g, n, vals, outs, e);
        for (int o = 0; o < n->nout && !st; o++) {
            vals[n->out[o]] = outs[o];
            mine[n->out[o]] = true;
        }
    }
    for (int i = 0; i < g->noutputs && !st; i++) {
        const Tensor *t = &vals[g->outputs[i]];
        size_t bytes = tensor_bytes(t);
        outputs[i] = *t;
        outputs[i].data = malloc(bytes ? bytes : 1);
        if (!outputs[i].data) {
            free_outs(outputs, i);
            st = rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
            break;
        }
        if (bytes)
            memcpy(outputs[i].data, t->data, bytes);
    }
    for (int v = 0; v < g->nvalues; v++)
        if (mine[v])
            free(vals[v].data);
    free(vals), free(mine);
    return st;
}

// ---------------------------------------------------------------- runs

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int check_inputs(const TilecModel *m, const Tensor *inputs, RErr *e) {
    const Graph *g = &m->graph;
    for (int i = 0; i < g->ninputs; i++) {
        const Value *v = &g->values[g->inputs[i]];
        const Tensor *t = &inputs[i];
        char a[160], b[160];
        if (v->t.dtype && t->dtype != v->t.dtype)
            return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' must be %s, got %s", v->name,
                        dtype_name(v->t.dtype), dtype_name(t->dtype));
        if (!dtype_size(t->dtype))
            return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s': element type %d is not supported",
                        v->name, t->dtype);
        if (t->rank < 0 || t->rank > RMAX_RANK)
            return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' has rank %d", v->name, t->rank);
        if (v->t.rank >= 0 && t->rank != v->t.rank)
            return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' must have rank %d (%s), got rank %d (%s)",
                        v->name, v->t.rank, shape_str(&v->t, a, sizeof a), t->rank,
                        shape_str(t, b, sizeof b));
        int64_t count = 1;
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0)
                return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' has a negative dimension", v->name);
            if (v->t.rank >= 0 && v->t.dims[d] >= 0 && v->t.dims[d] != t->dims[d])
                return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' must be %s, got %s", v->name,
                            shape_str(&v->t, a, sizeof a), shape_str(t, b, sizeof b));
            if (t->dims[d] && count > RUNNER_MAX_ELEMENTS / t->dims[d])
                return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' is too large", v->name);
            count *= t->dims[d];
        }
        if (count && !t->data)
            return rerr(e, TILEC_MODEL_ERR_INPUT, "input '%s' has no data", v->name);
    }
    return 0;
}

// The plan for these inputs: a cached one, or a new one (at most 16 are kept).
static int find_plan(TilecModel *m, const Tensor *inputs, Plan **out, bool *temporary, RErr *e) {
    *temporary = false;
    pthread_mutex_lock(&m->lock);
    int st = 0;
    Plan *found = NULL;
    for (int i = 0; i < m->nplans; i++)
        if (plan_matches(m, m->plan_list[i], inputs)) {
            found = m->plan_list[i];
            break;
        }
    if (!found) {
        st = plan_build(m, inputs, &found, e);
        if (!st) {
            if (m->nplans < RUNNER_MAX_PLANS)
                m->plan_list[m->nplans++] = found;
            else
                *temporary = true;
        }
    }
    if (!st)
        m->last_peak = found->arena_bytes;
    pthread_mutex_unlock(&m->lock);
    *out = found;
    return st;
}

// An arena of at least `bytes`: a pooled one when one is large enough, else a new one.
static void *arena_acquire(TilecModel *m, size_t bytes, size_t *got) {
    bytes = (bytes + 63) & ~(size_t)63;
    if (!bytes)
        bytes = 64;
    pthread_mutex_lock(&m->lock);
    int best = -1;
    for (int i = 0; i < m->narenas; i++)
        if (m->arena_pool_bytes[i] >= bytes && (best < 0 || m->arena_pool_bytes[i] < m->arena_pool_bytes[best]))
            best = i;
    void *p = NULL;
    if (best >= 0) {
        p = m->arena_pool[best];
        *got = m->arena_pool_bytes[best];
        m->narenas--;
        m->arena_pool[best] = m->arena_pool[m->narenas];
        m->arena_pool_bytes[best] = m->arena_pool_bytes[m->narenas];
    }
    pthread_mutex_unlock(&m->lock);
    if (!p) {
        p = aligned_alloc(64, bytes);
        *got = bytes;
    }
    return p;
}

static void arena_release(TilecModel *m, void *p, size_t bytes) {
    if (!p)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->narenas == (int)(sizeof m->arena_pool / sizeof m->arena_pool[0])) {
        // Full: drop the smallest kept one if this one is larger.
        int small = 0;
        for (int i = 1; i < m->narenas; i++)
            if (m->arena_pool_bytes[i] < m->arena_pool_bytes[small])
                small = i;
        if (m->arena_pool_bytes[small] < bytes) {
            void *old = m->arena_pool[small];
            m->arena_pool[small] = p;
            m->arena_pool_bytes[small] = bytes;
            p = old;
        }
    } else {
        m->arena_pool[m->narenas] = p;
        m->arena_pool_bytes[m->narenas++] = bytes;
        p = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    free(p);
}

void model_free_arenas(TilecModel *m) {
    for (int i = 0; i < m->narenas; i++)
        free(m->arena_pool[i]);
    m->narenas = 0;
}

static void shapes_of(const Node *n, const Tensor *vals, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n->nin && len + 2 < cap; i++) {
        if (n->in[i] < 0)
            continue;
        char s[96];
        int w = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", shape_str(&vals[n->in[i]], s, sizeof s));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

int model_run(TilecModel *m, const Tensor *inputs, Tensor *outputs, bool into, RErr *err) {
    RErr e = {0};
    const Graph *g = &m->graph;
    Plan *p = NULL;
    bool temporary = false;
    int st = check_inputs(m, inputs, &e);
    if (!st)
        st = find_plan(m, inputs, &p, &temporary, &e);
    Tensor *cur = NULL;
    void *arena = NULL;
    size_t arena_bytes = 0;
    double *times = NULL;
    const char **kernels = NULL;
    if (!st) {
        cur = malloc(((size_t)g->nvalues + 1) * sizeof *cur);
        arena = arena_acquire(m, p->arena_bytes, &arena_bytes);
        if (m->profile) {
            times = calloc((size_t)g->nnodes + 1, sizeof *times);
            kernels = calloc((size_t)g->nnodes + 1, sizeof *kernels);
        }
        if (!cur || !arena || (m->profile && (!times || !kernels)))
            st = rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory for a %zu-byte arena", p->arena_bytes);
    }
    if (!st) {
        for (int v = 0; v < g->nvalues; v++) {
            cur[v] = p->vals[v];
            if (p->storage[v] == ST_ARENA)
                cur[v].data = (char *)arena + p->offset[v];
        }
        for (int i = 0; i < g->ninputs; i++)
            cur[g->inputs[i]].data = inputs[i].data;
        for (int v = 0; v < g->nvalues; v++)
            if (p->storage[v] == ST_ALIAS)
                cur[v].data = cur[p->alias_of[v]].data;
    }
    Tensor in[64];
    for (int k = 0; k < g->nnodes && !st; k++) {
        const Node *n = &g->nodes[k];
        if (n->dead || n->host || (n->op->flags & OP_ALIAS))
            continue;
        node_inputs(n, cur, in);
        Tensor outs[32];
        for (int o = 0; o < n->nout; o++)
            outs[o] = cur[n->out[o]];
        for (int o = n->nout; o < 16; o++)
            memset(&outs[o], 0, sizeof outs[o]);
        OpCtx c = {.node = n, .nin = n->nin, .nout = n->nout, .in = in, .out = outs, .err = &e,
                   .graph = g, .values = cur,
                   .scratch = p->scratch_bytes[k] ? (char *)arena + p->scratch_offset[k] : NULL};
        double t0 = times ? now_ms() : 0;
        st = n->op->run(&c);
        if (times) {
            times[k] = now_ms() - t0;
            kernels[k] = c.kernel;
        }
    }
    int nout = g->noutputs;
    for (int i = 0; i < nout && !st && into; i++) {
        const Tensor *t = &cur[g->outputs[i]];
        if (t->dtype != outputs[i].dtype || !tensor_same_shape(t, &outputs[i])) {
            char want[200], got[200];
            st = rerr(&e, TILEC_MODEL_ERR_INVALID,
                      "output '%s' is %s %s, not the %s %s its buffer was made for",
                      g->values[g->outputs[i]].name, dtype_name(t->dtype),
                      shape_str(t, got, sizeof got), dtype_name(outputs[i].dtype),
                      shape_str(&outputs[i], want, sizeof want));
        }
    }
    for (int i = 0; i < nout && !st && into; i++)
        if (tensor_bytes(&outputs[i]))
            memcpy(outputs[i].data, cur[g->outputs[i]].data, tensor_bytes(&outputs[i]));
    for (int i = 0; i < nout && !st && !into; i++) {
        const Tensor *t = &cur[g->outputs[i]];
        size_t bytes = tensor_bytes(t);
        outputs[i] = *t;
        outputs[i].data = malloc(bytes ? bytes : 1);
        if (!outputs[i].data) {
            for (int j = 0; j < i; j++) {
                free(outputs[j].data);
                outputs[j].data = NULL;
            }
            st = rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory for output '%s'",
                      g->values[g->outputs[i]].name);
            break;
        }
        if (bytes)
            memcpy(outputs[i].data, t->data, bytes);
    }
    if (times && !st) {
        pthread_mutex_lock(&m->lock);
        for (int k = 0; k < g->nnodes; k++) {
            const Node *n = &g->nodes[k];
            if (n->dead || n->host || (n->op->flags & OP_ALIAS))
                continue;
            m->prof[k].ms += times[k];
            m->prof[k].calls++;
            m->prof[k].kernel = kernels[k];
            shapes_of(n, cur, m->prof[k].shapes, sizeof m->prof[k].shapes);
        }
        pthread_mutex_unlock(&m->lock);
    }
    free(times), free(kernels), free(cur);
    arena_release(m, arena, arena_bytes);
    if (temporary)
        plan_free(p, g->nvalues);
    if (st)
        *err = e;
    return st;
}

TilecModelStatus tilec_model_run(TilecModel *m, const TilecTensor *inputs, TilecTensor *outputs,
                                 char **error) {
    RErr e = {0};
    int st = model_run(m, inputs, outputs, false, &e);
    if (st && error)
        *error = strdup(e.msg);
    return (TilecModelStatus)st;
}
