// runner/onnx_load.c — an ONNX ModelProto (protobuf-c) into a Graph: values for inputs,
// initializers and Constant nodes, nodes bound to their op implementation, subgraphs, a
// checked topological order. Every unsupported op of the model is reported at once.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "onnx.pb-c.h"

// ---------------------------------------------------------------- values by name

typedef struct NameMap {
    int *slot;  // value index + 1, 0 empty
    size_t cap;
} NameMap;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int map_find(const NameMap *m, const Graph *g, const char *name) {
    if (!m->cap)
        return -1;
    for (size_t i = hash_str(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int s = m->slot[i];
        if (!s)
            return -1;
        if (strcmp(g->values[s - 1].name, name) == 0)
            return s - 1;
    }
}

static int map_insert(NameMap *m, const Graph *g, int v) {
    if ((size_t)(g->nvalues + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        while ((size_t)(g->nvalues + 1) * 2 > cap)
            cap *= 2;
        int *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i]) {
                size_t j = hash_str(g->values[m->slot[i] - 1].name) & (cap - 1);
                while (slot[j])
                    j = (j + 1) & (cap - 1);
                slot[j] = m->slot[i];
            }
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
    }
    size_t j = hash_str(g->values[v].name) & (m->cap - 1);
    while (m->slot[j])
        j = (j + 1) & (m->cap - 1);
    m->slot[j] = v + 1;
    return 0;
}

static int add_named(Graph *g, NameMap *map, const char *name, RErr *e) {
    int v = graph_add_value(g, name, e);
    if (v >= 0 && map_insert(map, g, v) != 0)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory"), -1;
    return v;
}

// ---------------------------------------------------------------- declared types

static int read_value_info(const Onnx__ValueInfoProto *vi, Value *v, RErr *e) {
    v->t.rank = -1;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp)
        return 0;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED,
                    "graph input or output '%s' is not a tensor (sequences, maps and optionals "
                    "are not supported)",
                    vi->name ? vi->name : "");
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    v->t.dtype = tt->elem_type;
    if (!tt->shape)
        return 0;
    if (tt->shape->n_dim > RMAX_RANK)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "'%s' has rank %zu (at most %d supported)",
                    vi->name, tt->shape->n_dim, RMAX_RANK);
    v->t.rank = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0) {
            v->t.dims[i] = d->dim_value;
            continue;
        }
        v->t.dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
            d->dim_param[0]) {
            if (!v->dim_names && !(v->dim_names = calloc(RMAX_RANK, sizeof(char *))))
                return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
            if (!(v->dim_names[i] = strdup(d->dim_param)))
                return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        }
    }
    return 0;
}

static int set_constant(TilecModel *m, Value *v, const Onnx__TensorProto *tp, RErr *e) {
    bool owned = false;
    int st = tensor_from_proto(tp, m->dir, &v->t, &owned, e);
    if (st)
        return st;
    v->kind = VAL_CONST;
    if (owned)
        return model_keep(m, v->t.data, e);
    return 0;
}

// A Constant node's value (value, value_float(s), value_int(s)) as a constant tensor.
static int constant_node(TilecModel *m, const Onnx__NodeProto *np, Value *v, RErr *e) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a->name)
            continue;
        if (strcmp(a->name, "value") == 0 && a->t)
            return set_constant(m, v, a->t, e);
        Tensor *t = &v->t;
        memset(t, 0, sizeof *t);
        size_t n = 0, es = 0;
        const void *src = NULL;
        if (strcmp(a->name, "value_float") == 0) {
            t->dtype = DT_F32, n = 1, es = 4, src = &a->f;
        } else if (strcmp(a->name, "value_int") == 0) {
            t->dtype = DT_I64, n = 1, es = 8, src = &a->i;
        } else if (strcmp(a->name, "value_floats") == 0) {
            t->dtype = DT_F32, t->rank = 1, n = a->n_floats, es = 4, src = a->floats;
        } else if (strcmp(a->name, "value_ints") == 0) {
            t->dtype = DT_I64, t->rank = 1, n = a->n_ints, es = 8, src = a->ints;
        } else {
            return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED,
                        "Constant node '%s': attribute '%s' is not supported",
                        np->name ? np->name : "", a->name);
        }
        if (t->rank)
            t->dims[0] = (int64_t)n;
        t->data = malloc(n * es + 1);
        if (!t->data)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        if (n)
            memcpy(t->data, src, n * es);
        v->kind = VAL_CONST;
        return model_keep(m, t->data, e);
    }
    return rerr(e, TILEC_MODEL_ERR_INVALID, "Constant node '%s' has no value",
                np->name ? np->name : "");
}

// ---------------------------------------------------------------- nodes

static bool default_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

static int add_node(Graph *g, RErr *e) {
    if (g->nnodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        Node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory"), -1;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    memset(&g->nodes[g->nnodes], 0, sizeof(Node));
    return g->nnodes++;
}

// Appends "name (Op, opset N)" to the list of unsupported nodes.
static void note_unsupported(char *list, size_t cap, int *count, const Onnx__NodeProto *np,
                             const char *node_name, const char *why) {
    (*count)++;
    size_t len = strlen(list);
    if (*count > 40) {
        if (*count == 41 && len + 8 < cap)
            strcat(list, "\n  ...");
        return;
    }
    snprintf(list + len, cap - len, "\n  node '%s': %s%s%s", node_name,
             np->op_type ? np->op_type : "?", why[0] ? " " : "", why);
}

// Topological order (Kahn's algorithm, stable: a model already in order keeps it).
static int topo_sort(Graph *g, RErr *e) {
    int n = g->nnodes;
    int *indeg = calloc((size_t)n + 1, sizeof *indeg);
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    bool *done = calloc((size_t)n + 1, 1);
    if (!indeg || !order || !done) {
        free(indeg), free(order), free(done);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].nin; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0)
                indeg[i]++;
        }
    // Repeated passes keep the file's order where it is valid; O(n^2) only for reversed files.
    int count = 0;
    bool progress = true;
    while (count < n && progress) {
        progress = false;
        for (int i = 0; i < n; i++) {
            if (done[i] || indeg[i] != 0)
                continue;
            done[i] = true;
            order[count++] = i;
            progress = true;
            for (int k = 0; k < g->nodes[i].nout; k++) {
                int v = g->nodes[i].out[k];
                if (v < 0)
                    continue;
                for (int j = 0; j < n; j++)
                    if (!done[j])
                        for (int q = 0; q < g->nodes[j].nin; q++)
                            if (g->nodes[j].in[q] == v)
                                indeg[j]--;
            }
        }
    }
    if (count < n) {
        int bad = 0;
        while (done[bad])
            bad++;
        free(indeg), free(order), free(done);
        return rerr(e, TILEC_MODEL_ERR_INVALID, "the graph has a cycle through node '%s' (%s)",
                    g->nodes[bad].name, g->nodes[bad].op_type);
    }
    size_t cap = n > 0 ? (size_t)n : 1;
    Node *sorted = malloc(cap * sizeof *sorted);
    int *pos = malloc(cap * sizeof *pos);
    if (!sorted || !pos) {
        free(indeg), free(order), free(done), free(sorted), free(pos);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        sorted[i] = g->nodes[order[i]];
        pos[order[i]] = i;
    }
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].producer >= 0)
            g->values[v].producer = pos[g->values[v].producer];
    if (n)
        memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
    free(sorted), free(pos), free(indeg), free(order), free(done);
    return 0;
}

static int resolve_name(TilecModel *m, Graph *g, NameMap *map, const char *name, RErr *e) {
    int v = map_find(map, g, name);
    if (v >= 0)
        return v;
    // A subgraph may use any value of an enclosing graph.
    for (Graph *p = g->parent; p; p = p->parent) {
        int outer = graph_value(p, name);
        if (outer < 0)
            continue;
        if (p != g->parent) {
            // Two levels up: reach it through the parent's own outer reference.
            NameMap none = {0};
            outer = resolve_name(m, g->parent, &none, name, e);
            free(none.slot);
            if (outer < 0)
                return -1;
        }
        v = add_named(g, map, name, e);
        if (v < 0)
            return -1;
        g->values[v].kind = VAL_OUTER;
        g->values[v].outer_index = outer;
        return v;
    }
    return -2;
}

// A node's attributes copied out of the protobuf message (Node.attrs): every field it sets.
// A tensor is decoded now (no external data: an attribute's tensor must be inline); one that
// cannot be is kept as the reason, reported by the op that reads it (attr_tensor).
static int copy_attrs(Node *n, const Onnx__NodeProto *np, RErr *e) {
    if (!np->n_attribute)
        return 0;
    if (np->n_attribute > 100000 || !(n->attrs = calloc(np->n_attribute, sizeof *n->attrs)))
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    n->nattrs = (int)np->n_attribute;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__AttributeProto *a = np->attribute[k];
        Attr *d = &n->attrs[k];
        d->name = strdup(a->name ? a->name : "");
        d->i = a->i;
        d->f = a->f;
        d->has_s = a->has_s;
        bool ok = d->name != NULL && a->n_ints <= INT32_MAX && a->n_floats <= INT32_MAX &&
                  a->n_strings <= INT32_MAX;
        if (ok && a->has_s) {
            d->slen = a->s.len;
            ok = (d->s = malloc(a->s.len + 1)) != NULL;
            if (ok) {
                if (a->s.len)
                    memcpy(d->s, a->s.data, a->s.len);
                d->s[a->s.len] = '\0';
            }
        }
        if (ok && a->n_ints && (ok = (d->ints = malloc(a->n_ints * sizeof *d->ints)) != NULL)) {
            memcpy(d->ints, a->ints, a->n_ints * sizeof *d->ints);
            d->nints = (int)a->n_ints;
        }
        if (ok && a->n_floats &&
            (ok = (d->floats = malloc(a->n_floats * sizeof *d->floats)) != NULL)) {
            memcpy(d->floats, a->floats, a->n_floats * sizeof *d->floats);
            d->nfloats = (int)a->n_floats;
        }
        if (ok && a->n_strings) {
            ok = (d->strings = calloc(a->n_strings, sizeof *d->strings)) != NULL &&
                 (d->lens = calloc(a->n_strings, sizeof *d->lens)) != NULL;
            for (size_t j = 0; ok && j < a->n_strings; j++) {
                ok = (d->strings[j] = malloc(a->strings[j].len + 1)) != NULL;
                if (ok) {
                    if (a->strings[j].len)
                        memcpy(d->strings[j], a->strings[j].data, a->strings[j].len);
                    d->strings[j][a->strings[j].len] = '\0';
                    d->lens[j] = a->strings[j].len;
                    d->nstrings = (int)j + 1;
                }
            }
        }
        if (ok && a->t) {
            d->has_t = true;
            RErr te = {0};
            bool owned = false;
            int st = 0;
            if (a->t->has_data_location &&
                a->t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
                st = rerr(&te, TILEC_MODEL_ERR_UNSUPPORTED, "the value is stored externally");
            else
                st = tensor_from_proto(a->t, NULL, &d->t, &owned, &te);
            if (!st && !owned) {  // points into the message: copied
                size_t bytes = tensor_bytes(&d->t);
                void *copy = malloc(bytes + 1);
                ok = copy != NULL;
                if (ok && bytes)
                    memcpy(copy, d->t.data, bytes);
                d->t.data = copy;
            }
            if (st) {
                memset(&d->t, 0, sizeof d->t);
                d->bad_code = st;
                ok = (d->bad = strdup(te.msg)) != NULL;
            }
        }
        if (!ok)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    }
    return 0;
}

static int build_nodes(TilecModel *m, const Onnx__GraphProto *gp, Graph *g, NameMap *map, RErr *e) {
    char unsupported[4096] = "";
    int nunsupported = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *op = np->op_type ? np->op_type : "";
        if (default_domain(np->domain) && strcmp(op, "Constant") == 0) {
            if (np->n_output != 1 || !np->output[0][0])
                return rerr(e, TILEC_MODEL_ERR_INVALID, "Constant node '%s' needs one output",
                            np->name ? np->name : "");
            if (map_find(map, g, np->output[0]) >= 0)
                return rerr(e, TILEC_MODEL_ERR_INVALID, "value '%s' is defined twice", np->output[0]);
            int v = add_named(g, map, np->output[0], e);
            if (v < 0)
                return e->code;
            int st = constant_node(m, np, &g->values[v], e);
            if (st)
                return st;
            continue;
        }
        int k = add_node(g, e);
        if (k < 0)
            return e->code;
        Node *n = &g->nodes[k];
        n->proto = np;
        n->opset = m->opset;
        int ast = copy_attrs(n, np, e);
        if (ast)
            return ast;
        n->op_type = strdup(op);
        char fallback[64];
        snprintf(fallback, sizeof fallback, "%s#%zu", op, i);
        n->name = strdup(np->name && np->name[0] ? np->name : fallback);
        if (!n->op_type || !n->name)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        if (!default_domain(np->domain)) {
            char why[300];
            snprintf(why, sizeof why, "(domain '%s' is not supported)", np->domain);
            note_unsupported(unsupported, sizeof unsupported, &nunsupported, np, n->name, why);
        } else if (m->opset < 0) {
            return rerr(e, TILEC_MODEL_ERR_INVALID,
                        "node '%s' (%s) is in the default domain, which the model does not import",
                        n->name, op);
        } else {
            bool known;
            n->op = ops_find(op, m->opset, &known);
            if (!n->op) {
                char why[96];
                snprintf(why, sizeof why, known ? "(not supported at opset %d)" : "(opset %d)",
                         m->opset);
                note_unsupported(unsupported, sizeof unsupported, &nunsupported, np, n->name, why);
            }
        }
        n->nin = (int)np->n_input;
        n->nout = (int)np->n_output;
        n->in = malloc(((size_t)n->nin + 1) * sizeof(int));
        n->out = malloc(((size_t)n->nout + 1) * sizeof(int));
        if (!n->in || !n->out)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        for (int o = 0; o < n->nout; o++) {
            const char *name = np->output[o];
            if (name[0] && map_find(map, g, name) >= 0)
                return rerr(e, TILEC_MODEL_ERR_INVALID, "value '%s' is defined twice (node '%s')",
                            name, n->name);
            // An omitted optional output still gets a (nameless) value, so ops can write it.
            int v = name[0] ? add_named(g, map, name, e) : graph_add_value(g, "", e);
            if (v < 0)
                return e->code;
            n = &g->nodes[k];
            n->out[o] = v;
            g->values[v].producer = k;
        }
        // Subgraphs (If, Loop, Scan): built once all outer names of this level exist (below).
    }
    if (nunsupported)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "%d node%s with unsupported ops:%s",
                    nunsupported, nunsupported == 1 ? "" : "s", unsupported);
    // Inputs, now that every node's outputs have a value.
    for (int k = 0; k < g->nnodes; k++) {
        Node *n = &g->nodes[k];
        for (int i = 0; i < n->nin; i++) {
            const char *name = n->proto->input[i];
            if (!name[0]) {
                n->in[i] = -1;
                continue;
            }
            int v = resolve_name(m, g, map, name, e);
            if (v == -1)
                return e->code;
            if (v == -2)
                return rerr(e, TILEC_MODEL_ERR_INVALID,
                            "node '%s' (%s): input '%s' is not an initializer, a graph input or "
                            "any node's output",
                            n->name, n->op_type, name);
            n = &g->nodes[k];
            n->in[i] = v;
        }
    }
    return 0;
}

static int build_subgraphs(TilecModel *m, Graph *g, RErr *e) {
    for (int k = 0; k < g->nnodes; k++) {
        const Onnx__NodeProto *np = g->nodes[k].proto;
        int count = 0;
        for (size_t a = 0; a < np->n_attribute; a++)
            if (np->attribute[a]->g)
                count++;
        if (!count)
            continue;
        Graph **subs = calloc((size_t)count, sizeof *subs);
        if (!subs)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        g->nodes[k].subgraphs = subs;
        g->nodes[k].nsubgraphs = count;  // graph_free skips slots still NULL
        int next = 0;
        // If: then_branch first, else_branch second, whatever the attribute order.
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *at = np->attribute[a];
            if (!at->g)
                continue;
            int slot = -1;
            if (at->name && strcmp(at->name, "then_branch") == 0)
                slot = 0;
            else if (at->name && strcmp(at->name, "else_branch") == 0)
                slot = 1;
            if (slot < 0 || slot >= count || subs[slot])
                for (slot = 0; slot < count && subs[slot]; slot++) {
                }
            (void)next;
            Graph *sg = calloc(1, sizeof *sg);
            if (!sg)
                return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
            subs[slot] = sg;
            int st = graph_build(m, at->g, sg, g, e);
            if (st)
                return st;
        }
    }
    return 0;
}

int graph_build(TilecModel *m, const Onnx__GraphProto *gp, Graph *g, Graph *parent, RErr *e) {
    g->parent = parent;
    g->max_bytes = m->max_bytes;
    g->name = strdup(gp->name ? gp->name : "");
    NameMap map = {0};
    int st = 0;
    for (size_t i = 0; i < gp->n_initializer && !st; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !tp->name[0]) {
            st = rerr(e, TILEC_MODEL_ERR_INVALID, "an initializer has no name");
            break;
        }
        if (map_find(&map, g, tp->name) >= 0) {
            st = rerr(e, TILEC_MODEL_ERR_INVALID, "initializer '%s' is defined twice", tp->name);
            break;
        }
        int v = add_named(g, &map, tp->name, e);
        if (v < 0 || (st = set_constant(m, &g->values[v], tp, e)) != 0) {
            st = st ? st : e->code;
            if (st && strncmp(e->msg, "initializer", 11) != 0) {
                char msg[sizeof e->msg];
                memcpy(msg, e->msg, sizeof msg);
                int k = snprintf(e->msg, sizeof e->msg, "initializer '%.200s': ", tp->name);
                if (k > 0 && (size_t)k < sizeof e->msg)
                    memcpy(e->msg + k, msg, sizeof e->msg - (size_t)k - 1);
                e->msg[sizeof e->msg - 1] = '\0';
            }
        }
    }
    g->inputs = malloc((gp->n_input + 1) * sizeof(int));
    g->outputs = malloc((gp->n_output + 1) * sizeof(int));
    g->output_decl = calloc(gp->n_output + 1, sizeof *g->output_decl);
    if (!st && (!g->inputs || !g->outputs || !g->output_decl))
        st = rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    for (size_t i = 0; i < gp->n_input && !st; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0]) {
            st = rerr(e, TILEC_MODEL_ERR_INVALID, "graph input %zu has no name", i);
            break;
        }
        int v = map_find(&map, g, vi->name);
        if (v >= 0 && g->values[v].kind == VAL_CONST)
            continue;  // IR < 4 lists initializers among the inputs: they are constants
        if (v >= 0) {
            st = rerr(e, TILEC_MODEL_ERR_INVALID, "graph input '%s' is listed twice", vi->name);
            break;
        }
        v = add_named(g, &map, vi->name, e);
        if (v < 0) {
            st = e->code;
            break;
        }
        g->values[v].kind = VAL_INPUT;
        st = read_value_info(vi, &g->values[v], e);
        g->inputs[g->ninputs++] = v;
    }
    if (!st)
        st = build_nodes(m, gp, g, &map, e);
    for (size_t i = 0; i < gp->n_output && !st; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int v = vi->name ? map_find(&map, g, vi->name) : -1;
        if (v < 0 && vi->name && parent) {
            v = resolve_name(m, g, &map, vi->name, e);
            if (v == -1) {
                st = e->code;
                break;
            }
        }
        if (v < 0) {
            st = rerr(e, TILEC_MODEL_ERR_INVALID,
                      "graph output '%s' is not produced by any node, initializer or input",
                      vi->name ? vi->name : "");
            break;
        }
        g->values[v].is_output = true;
        Value decl = {0};
        RErr ignored = {0};  // an undeclared or non-tensor output: nothing declared
        if (read_value_info(vi, &decl, &ignored) != 0)
            decl.t = (Tensor){.rank = -1};
        g->output_decl[g->noutputs] = decl.t;
        if (decl.dim_names)
            for (int d = 0; d < RMAX_RANK; d++)
                free(decl.dim_names[d]);
        free(decl.dim_names);
        g->outputs[g->noutputs++] = v;
    }
    free(map.slot);
    if (!st)
        st = topo_sort(g, e);
    if (!st)
        st = build_subgraphs(m, g, e);
    for (int k = 0; k < g->nnodes; k++)
        g->nodes[k].proto = NULL;  // ops read Node.attrs
    return st;
}

static void free_proto(Onnx__ModelProto *mp) { onnx__model_proto__free_unpacked(mp, NULL); }

int model_parse(TilecModel *m, const uint8_t *bytes, size_t len, RErr *e) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    if (!mp)
        return rerr(e, TILEC_MODEL_ERR_FORMAT,
                    "not a valid ONNX model (the protobuf message does not parse: truncated or "
                    "not a model)");
    m->proto = mp;
    m->free_proto = free_proto;
    m->ir_version = mp->ir_version;
    if (!mp->graph)
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "not a valid ONNX model (no graph)");
    if (mp->ir_version < 3 || mp->ir_version > 10)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "IR version %lld is not supported (3 to 10 are)",
                    (long long)mp->ir_version);
    m->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (default_domain(mp->opset_import[i]->domain))
            m->opset = (int)mp->opset_import[i]->version;
    // A model that imports only other domains: its nodes are listed as unsupported below.
    if (m->opset >= 0 && (m->opset < 7 || m->opset > 21))
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED,
                    "default-domain opset %d is not supported (7 to 21 are)", m->opset);
    return graph_build(m, mp->graph, &m->graph, NULL, e);
}
