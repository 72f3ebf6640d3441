// runner/attr.c — reading a node's attributes (Node.attrs, decoded at load by onnx_load.c or
// from an ahead-of-time blob by blob_read.c), and freeing them.
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static const Attr *find_attr(const Node *n, const char *name) {
    for (int i = 0; i < n->nattrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

bool attr_has(const Node *n, const char *name) { return find_attr(n, name) != NULL; }

int64_t attr_int(const Node *n, const char *name, int64_t def) {
    const Attr *a = find_attr(n, name);
    return a ? a->i : def;
}

float attr_float(const Node *n, const char *name, float def) {
    const Attr *a = find_attr(n, name);
    return a ? a->f : def;
}

static void copy_str(const char *s, size_t len, char *buf, size_t cap) {
    len = len < cap - 1 ? len : cap - 1;
    if (len)
        memcpy(buf, s, len);
    buf[len] = '\0';
}

const char *attr_str(const Node *n, const char *name, const char *def, char *buf, size_t cap) {
    const Attr *a = find_attr(n, name);
    if (!a || !a->has_s)
        return def;
    copy_str(a->s, a->slen, buf, cap);
    return buf;
}

int attr_strings(const Node *n, const char *name, int i, char *buf, size_t cap) {
    const Attr *a = find_attr(n, name);
    if (!a)
        return -1;
    if (i >= 0 && i < a->nstrings && buf)
        copy_str(a->strings[i], a->lens[i], buf, cap);
    return a->nstrings;
}

// An empty list is a valid pointer too, so callers may memcpy it.
static const int64_t no_ints[1];
static const float no_floats[1];

int attr_ints(const Node *n, const char *name, const int64_t **v) {
    const Attr *a = find_attr(n, name);
    *v = a ? (a->nints ? a->ints : no_ints) : NULL;
    return a ? a->nints : -1;
}

int attr_floats(const Node *n, const char *name, const float **v) {
    const Attr *a = find_attr(n, name);
    *v = a ? (a->nfloats ? a->floats : no_floats) : NULL;
    return a ? a->nfloats : -1;
}

int attr_tensor(const OpCtx *c, const char *name, const Tensor **t) {
    const Attr *a = find_attr(c->node, name);
    *t = NULL;
    if (!a || !a->has_t)
        return 0;
    if (a->bad)
        return node_err(c, a->bad_code, "%s", a->bad);
    *t = &a->t;
    return 0;
}

void attrs_free(Attr *a, int n) {
    for (int i = 0; a && i < n; i++) {
        for (int k = 0; a[i].strings && k < a[i].nstrings; k++)
            free(a[i].strings[k]);
        free(a[i].name), free(a[i].s), free(a[i].ints), free(a[i].floats), free(a[i].strings);
        free(a[i].lens), free(a[i].t.data), free(a[i].bad);
    }
    free(a);
}
