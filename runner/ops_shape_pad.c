// runner/ops_shape_pad.c — Pad (part of the `shape` group, ops_shape.c): constant, reflect,
// edge and wrap modes, negative pads (cropping), pads as attribute (opsets 2-10) or input
// (11+), the optional axes input (18+). Each output dimension gets a map
// from output to input index (-1: the constant), and rows are copied through it.
#include <string.h>

#include "ops_shape.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct PadParams {
    int mode;
    int64_t begin[RMAX_RANK], end[RMAX_RANK];
} PadParams;

static int pad_params(OpCtx *c, PadParams *p) {
    const Tensor *x = &c->in[0];
    int r = x->rank;
    char buf[16];
    const char *mode = attr_str(c->node, "mode", "constant", buf, sizeof buf);
    if (strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0)
        p->mode = PAD_WRAP;
    else
        return node_err(c, TILEC_MODEL_ERR_INVALID, "unknown mode '%s'", mode);
    int64_t pads[2 * RMAX_RANK], axes[RMAX_RANK];
    int np, na = r, st;
    if (c->node->op->code == 0) {
        const int64_t *v;
        np = attr_ints(c->node, "pads", &v);
        if (np < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "attribute 'pads' is missing");
        if (np > 2 * RMAX_RANK)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "pads has %d values for rank %d", np, r);
        memcpy(pads, v, sizeof(int64_t) * (size_t)np);
    } else if ((st = sh_read_ints(c, 1, pads, 2 * RMAX_RANK, &np, false)) != 0) {
        return st;
    }
    if (c->node->op->code == 1 && sh_has(c, 3)) {
        if ((st = sh_read_ints(c, 3, axes, RMAX_RANK, &na, false)) != 0)
            return st;
    } else {
        for (int i = 0; i < r; i++)
            axes[i] = i;
    }
    if (np != 2 * na)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "pads has %d values; %d axes need %d", np, na,
                        2 * na);
    for (int i = 0; i < r; i++)
        p->begin[i] = p->end[i] = 0;
    bool seen[RMAX_RANK] = {false};
    for (int k = 0; k < na; k++) {
        int a;
        if (!norm_axis(axes[k], r, &a) || seen[a])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range or repeated",
                            (long long)axes[k]);
        seen[a] = true;
        int64_t b = pads[k], e = pads[k + na], d = x->dims[a];
        // |pad| beyond 2^40 would overflow the output size check; no real model gets there.
        if (b > (INT64_C(1) << 40) || e > (INT64_C(1) << 40) || b < -d || e < -d || b + e < -d)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "pads %lld, %lld do not fit axis %d of size %lld", (long long)b,
                            (long long)e, a, (long long)d);
        if (p->mode != PAD_CONSTANT && d == 0 && d + b + e > 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "cannot pad the empty axis %d in %s mode",
                            a, mode);
        p->begin[a] = b;
        p->end[a] = e;
    }
    return 0;
}

int sh_pad_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    PadParams p;
    if (st || (st = pad_params(c, &p)) != 0)
        return st;
    if (c->node->op->code == 1 && sh_has(c, 2)) {
        const Tensor *v = &c->in[2];
        if (v->dtype != c->in[0].dtype || tensor_numel(v) != 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "constant_value must be one value of the data's type");
    }
    Tensor *y = &c->out[0];
    *y = c->in[0];
    y->data = NULL;
    for (int i = 0; i < y->rank; i++)
        y->dims[i] += p.begin[i] + p.end[i];
    return 0;
}

size_t sh_pad_scratch(const OpCtx *c) {
    size_t n = 0;
    for (int i = 0; i < c->out[0].rank; i++)
        n += (size_t)c->out[0].dims[i];
    return n * sizeof(int64_t);
}

// The input index that output index y (input index x = y - begin) reads, or -1.
static int64_t pad_map(int mode, int64_t x, int64_t d) {
    if (x >= 0 && x < d)
        return x;
    switch (mode) {
    case PAD_EDGE: return x < 0 ? 0 : d - 1;
    case PAD_WRAP: return ((x % d) + d) % d;
    case PAD_REFLECT: {
        if (d == 1)
            return 0;
        int64_t per = 2 * (d - 1);
        x = ((x % per) + per) % per;
        return x < d ? x : per - x;
    }
    default: return -1;
    }
}

int sh_pad_run(OpCtx *c) {
    PadParams p;
    int st = pad_params(c, &p);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    const Tensor *y = &c->out[0];
    size_t es = dtype_size(x->dtype);
    unsigned char val[8] = {0};
    if (c->node->op->code == 1) {
        if (sh_has(c, 2))
            memcpy(val, c->in[2].data, es);
    } else {
        sh_from_double(x->dtype, attr_float(c->node, "value", 0.0f), val);
    }
    int64_t total = tensor_numel(y);
    if (total == 0)
        return 0;
    int r = x->rank;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return 0;
    }
    int64_t *map[RMAX_RANK], *m = c->scratch, xs[RMAX_RANK];
    sh_strides(x, xs);
    for (int i = 0; i < r; i++) {
        map[i] = m;
        for (int64_t k = 0; k < y->dims[i]; k++)
            m[k] = pad_map(p.mode, k - p.begin[i], x->dims[i]);
        m += y->dims[i];
    }
    int last = r - 1;
    int64_t n = y->dims[last], d = x->dims[last], b = p.begin[last];
    // The columns that read the input row in order: [lo, hi) from input column lo - b.
    int64_t lo = b > 0 ? b : 0, hi = b + d < n ? b + d : n;
    if (hi < lo)
        hi = lo;
    int64_t idx[RMAX_RANK] = {0};
    unsigned char *dst = y->data;
    const unsigned char *src = x->data;
    for (;;) {
        int64_t off = 0;
        bool inside = true;
        for (int i = 0; i < last && inside; i++) {
            int64_t s = map[i][idx[i]];
            inside = s >= 0;
            off += s * xs[i];
        }
        if (!inside) {
            sh_fill(dst, val, es, n);
        } else {
            const unsigned char *row = src + (size_t)off * es;
            for (int64_t j = 0; j < lo; j++) {
                int64_t s = map[last][j];
                memcpy(dst + (size_t)j * es, s >= 0 ? row + (size_t)s * es : val, es);
            }
            if (hi > lo)
                memcpy(dst + (size_t)lo * es, row + (size_t)(lo - b) * es, (size_t)(hi - lo) * es);
            for (int64_t j = hi; j < n; j++) {
                int64_t s = map[last][j];
                memcpy(dst + (size_t)j * es, s >= 0 ? row + (size_t)s * es : val, es);
            }
        }
        dst += (size_t)n * es;
        int i = last - 1;
        while (i >= 0 && ++idx[i] == y->dims[i])
            idx[i--] = 0;
        if (i < 0)
            break;
    }
    return 0;
}
