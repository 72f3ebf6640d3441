// runner/ops_shape_move.c — shape ops that copy their input's elements into a new layout:
// Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace and SpaceToDepth (part of the
// `shape` group, ops_shape.c). Most are one strided view copied (sh_copy_view); Transpose of a
// batch of matrices of 4-byte elements runs on stdlib's `transpose` kernel.
#include <string.h>

#include "ops_shape.h"
#include "transpose.h"

// ---------------------------------------------------------------- Transpose

static int read_perm(OpCtx *c, int *perm) {
    int r = c->in[0].rank;
    const int64_t *v;
    int n = attr_ints(c->node, "perm", &v);
    if (n < 0) {
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i;
        return 0;
    }
    if (n != r)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "perm has %d entries for rank %d", n, r);
    bool seen[RMAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
        int a;
        if (!norm_axis(v[i], r, &a) || seen[a])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "perm is not a permutation of %d axes", r);
        seen[a] = true;
        perm[i] = a;
    }
    return 0;
}

int sh_transpose_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    int perm[RMAX_RANK];
    if (st || (st = read_perm(c, perm)) != 0)
        return st;
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        y->dims[i] = x->dims[perm[i]];
    return 0;
}

int sh_transpose_run(OpCtx *c) {
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    int perm[RMAX_RANK];
    int st = read_perm(c, perm);
    if (st)
        return st;
    int64_t xs[RMAX_RANK], ss[RMAX_RANK], d[RMAX_RANK], s[RMAX_RANK];
    sh_strides(x, xs);
    for (int i = 0; i < x->rank; i++)
        ss[i] = xs[perm[i]];
    size_t es = dtype_size(x->dtype);
    int r = sh_simplify(y->rank, y->dims, ss, d, s);
    if (r < 0)
        return 0;
    // A batch of matrices [NB, M, N] -> [NB, N, M]: out dims [NB, N, M], strides [M*N, 1, N].
    // The kernel only moves 4-byte values, so it serves every 4-byte type.
    if (es == 4 && (r == 2 || r == 3)) {
        int64_t nb = r == 3 ? d[0] : 1, n = d[r - 2], m = d[r - 1];
        if (s[r - 2] == 1 && s[r - 1] == n && (r == 2 || s[0] == m * n)) {
            c->kernel = "transpose";
            st = transpose(x->data, y->data, nb, m, n);
            if (st)
                return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel transpose returned %d", st);
            return 0;
        }
    }
    c->kernel = "memcpy";
    sh_copy_view(y->data, x->data, es, y->rank, y->dims, ss);
    return 0;
}

// ---------------------------------------------------------------- Concat

static int concat_axis(OpCtx *c, int *axis) {
    if (!attr_has(c->node, "axis"))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "attribute 'axis' is missing");
    int64_t a = attr_int(c->node, "axis", 0);
    if (!norm_axis(a, c->in[0].rank, axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)a, c->in[0].rank);
    return 0;
}

int sh_concat_infer(OpCtx *c) {
    if (c->nin < 1)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "no inputs");
    int st, axis;
    for (int i = 0; i < c->nin; i++)
        if ((st = sh_check_data(c, i)) != 0)
            return st;
    if ((st = concat_axis(c, &axis)) != 0)
        return st;
    const Tensor *x0 = &c->in[0];
    Tensor *y = &c->out[0];
    *y = *x0;
    y->data = NULL;
    y->dims[axis] = 0;
    for (int i = 0; i < c->nin; i++) {
        const Tensor *x = &c->in[i];
        if (x->dtype != x0->dtype)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d is %s, input 0 %s", i,
                            dtype_name(x->dtype), dtype_name(x0->dtype));
        if (x->rank != x0->rank)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "input %d has rank %d, input 0 rank %d", i,
                            x->rank, x0->rank);
        for (int k = 0; k < x->rank; k++)
            if (k != axis && x->dims[k] != x0->dims[k]) {
                char a[128], b[128];
                return node_err(c, TILEC_MODEL_ERR_INVALID,
                                "input %d (%s) does not match input 0 (%s) off axis %d", i,
                                shape_str(x, a, sizeof a), shape_str(x0, b, sizeof b), axis);
            }
        y->dims[axis] += x->dims[axis];
    }
    return 0;
}

int sh_concat_run(OpCtx *c) {
    int axis;
    int st = concat_axis(c, &axis);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *y = &c->out[0];
    size_t es = dtype_size(y->dtype);
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < y->rank; k++) {
        if (k < axis)
            outer *= y->dims[k];
        else if (k > axis)
            inner *= y->dims[k];
    }
    unsigned char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < c->nin; i++) {
            size_t row = (size_t)(c->in[i].dims[axis] * inner) * es;
            if (row) {
                memcpy(dst, (const unsigned char *)c->in[i].data + (size_t)o * row, row);
                dst += row;
            }
        }
    return 0;
}

// ---------------------------------------------------------------- Split

// The sizes of the outputs along the axis.
static int split_sizes(OpCtx *c, int *axis, int64_t *sizes) {
    const Tensor *x = &c->in[0];
    int64_t a = attr_int(c->node, "axis", 0);
    if (!norm_axis(a, x->rank, axis))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                        (long long)a, x->rank);
    int64_t dim = x->dims[*axis];
    int nout = c->nout, n = -1;
    int st;
    if (c->node->op->code == 1 && sh_has(c, 1)) {
        int64_t v[64];
        if (nout > 64)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "more than 64 outputs");
        if ((st = sh_read_ints(c, 1, v, 64, &n, false)) != 0)
            return st;
        memcpy(sizes, v, sizeof(int64_t) * (size_t)(n < nout ? n : nout));
    } else if (c->node->opset < 13 && attr_has(c->node, "split")) {
        const int64_t *v;
        n = attr_ints(c->node, "split", &v);
        memcpy(sizes, v, sizeof(int64_t) * (size_t)(n < nout ? n : nout));
    }
    if (n >= 0) {
        if (n != nout)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "split has %d sizes for %d outputs", n,
                            nout);
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (sizes[i] < 0)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "split size %lld is negative",
                                (long long)sizes[i]);
            sum += sizes[i];
        }
        if (sum != dim)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "the split sizes add up to %lld, not the dimension %lld",
                            (long long)sum, (long long)dim);
        return 0;
    }
    if (c->node->opset >= 18 && attr_has(c->node, "num_outputs")) {
        int64_t k = attr_int(c->node, "num_outputs", 0);
        if (k != nout || k < 1)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "num_outputs is %lld for %d outputs",
                            (long long)k, nout);
        int64_t chunk = (dim + k - 1) / k;
        for (int i = 0; i < nout; i++) {
            int64_t left = dim - chunk * i;
            sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
        }
        return 0;
    }
    if (dim % nout)
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "dimension %lld does not split in %d equal parts", (long long)dim, nout);
    for (int i = 0; i < nout; i++)
        sizes[i] = dim / nout;
    return 0;
}

int sh_split_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    if (c->nout < 1 || c->nout > 64)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "%d outputs (1 to 64)", c->nout);
    int axis;
    int64_t sizes[64];
    if ((st = split_sizes(c, &axis, sizes)) != 0)
        return st;
    for (int i = 0; i < c->nout; i++) {
        c->out[i] = c->in[0];
        c->out[i].data = NULL;
        c->out[i].dims[axis] = sizes[i];
    }
    return 0;
}

int sh_split_run(OpCtx *c) {
    int axis;
    int64_t sizes[64];
    int st = split_sizes(c, &axis, sizes);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    size_t es = dtype_size(x->dtype);
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < x->rank; k++) {
        if (k < axis)
            outer *= x->dims[k];
        else if (k > axis)
            inner *= x->dims[k];
    }
    const unsigned char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < c->nout; i++) {
            size_t row = (size_t)(sizes[i] * inner) * es;
            if (row && c->out[i].data)
                memcpy((unsigned char *)c->out[i].data + (size_t)o * row, src, row);
            src += row;
        }
    return 0;
}

// ---------------------------------------------------------------- Slice

// Reads the k-th value of a list given as attribute (opset < 10) or input.
typedef struct IntList {
    int n;
    int64_t v[SH_MAX_DIMS];
} IntList;

static int slice_list(OpCtx *c, const char *attr, int input, IntList *l, bool *given) {
    *given = false;
    l->n = 0;
    if (c->node->op->code == 0) {
        const int64_t *v;
        int n = attr_ints(c->node, attr, &v);
        if (n < 0)
            return 0;
        if (n > SH_MAX_DIMS)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "'%s' has %d values", attr, n);
        memcpy(l->v, v, sizeof(int64_t) * (size_t)n);
        l->n = n;
        *given = true;
        return 0;
    }
    if (!sh_has(c, input))
        return 0;
    *given = true;
    return sh_read_ints(c, input, l->v, SH_MAX_DIMS, &l->n, false);
}

// Per dim of the input: the first element, the step and the count taken.
static int slice_params(OpCtx *c, int64_t *start, int64_t *step, int64_t *count) {
    const Tensor *x = &c->in[0];
    IntList st_, en, ax, sp;
    bool gs, ge, ga, gp;
    int st;
    if ((st = slice_list(c, "starts", 1, &st_, &gs)) || (st = slice_list(c, "ends", 2, &en, &ge)) ||
        (st = slice_list(c, "axes", 3, &ax, &ga)) || (st = slice_list(c, "steps", 4, &sp, &gp)))
        return st;
    if (!gs || !ge)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "starts and ends are required");
    int n = st_.n;
    if (en.n != n || (ga && ax.n != n) || (gp && sp.n != n))
        return node_err(c, TILEC_MODEL_ERR_INVALID,
                        "starts, ends, axes and steps have different lengths");
    for (int i = 0; i < x->rank; i++) {
        start[i] = 0;
        step[i] = 1;
        count[i] = x->dims[i];
    }
    bool seen[RMAX_RANK] = {false};
    for (int k = 0; k < n; k++) {
        int a;
        int64_t av = ga ? ax.v[k] : k;
        if (!norm_axis(av, x->rank, &a))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is out of range for rank %d",
                            (long long)av, x->rank);
        if (seen[a])
            return node_err(c, TILEC_MODEL_ERR_INVALID, "axis %lld is repeated", (long long)av);
        seen[a] = true;
        int64_t d = x->dims[a], s = gp ? sp.v[k] : 1, b = st_.v[k], e = en.v[k];
        if (s == 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "a step is 0");
        if (b < 0)
            b = b < -d ? 0 : b + d;  // written so that INT64_MIN does not overflow
        if (e < 0)
            e = e < -d ? -1 : e + d;
        int64_t cnt;
        if (s > 0) {
            b = b > d ? d : b;
            e = e < 0 ? 0 : e > d ? d : e;
            cnt = e > b ? (e - b - 1) / s + 1 : 0;
        } else {
            b = b > d - 1 ? d - 1 : b;
            e = e > d - 1 ? d - 1 : e;
            cnt = b > e ? (b - e - 1) / (s == INT64_MIN ? INT64_MAX : -s) + 1 : 0;
        }
        start[a] = cnt ? b : 0;
        step[a] = s;
        count[a] = cnt;
    }
    return 0;
}

int sh_slice_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    for (int i = 1; i < 5 && c->node->op->code == 1; i++)
        if (sh_has(c, i) && (st = sh_check_index(c, i, false)) != 0)
            return st;
    int64_t start[RMAX_RANK], step[RMAX_RANK], count[RMAX_RANK];
    if ((st = slice_params(c, start, step, count)) != 0)
        return st;
    Tensor *y = &c->out[0];
    *y = c->in[0];
    y->data = NULL;
    for (int i = 0; i < y->rank; i++)
        y->dims[i] = count[i];
    return 0;
}

int sh_slice_run(OpCtx *c) {
    int64_t start[RMAX_RANK], step[RMAX_RANK], count[RMAX_RANK], xs[RMAX_RANK];
    int st = slice_params(c, start, step, count);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    size_t es = dtype_size(x->dtype);
    if (tensor_numel(y) == 0)
        return 0;
    sh_strides(x, xs);
    int64_t off = 0, ss[RMAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        off += start[i] * xs[i];
        ss[i] = step[i] * xs[i];
    }
    sh_copy_view(y->data, (const unsigned char *)x->data + (size_t)off * es, es, y->rank, y->dims,
                 ss);
    return 0;
}

// ---------------------------------------------------------------- Expand

int sh_expand_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    if (st)
        return st;
    int64_t shp[RMAX_RANK];
    int n;
    if ((st = sh_read_ints(c, 1, shp, RMAX_RANK, &n, false)) != 0)
        return st;
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    y->dtype = x->dtype;
    y->rank = n > x->rank ? n : x->rank;
    for (int i = 0; i < y->rank; i++) {
        int ix = i - (y->rank - x->rank), is = i - (y->rank - n);
        int64_t a = ix >= 0 ? x->dims[ix] : 1, b = is >= 0 ? shp[is] : 1;
        if (b < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "the shape has the negative size %lld",
                            (long long)b);
        if (a != b && a != 1 && b != 1) {
            char s[128];
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "cannot expand %s: dimension %lld does not broadcast with %lld",
                            shape_str(x, s, sizeof s), (long long)a, (long long)b);
        }
        y->dims[i] = a == 1 ? b : a;
    }
    return 0;
}

int sh_expand_run(OpCtx *c) {
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    Tensor *y = &c->out[0];
    int64_t xs[RMAX_RANK], ss[RMAX_RANK];
    sh_strides(x, xs);
    for (int i = 0; i < y->rank; i++) {
        int ix = i - (y->rank - x->rank);
        ss[i] = ix >= 0 && x->dims[ix] == y->dims[i] ? xs[ix] : 0;
    }
    sh_copy_view(y->data, x->data, dtype_size(x->dtype), y->rank, y->dims, ss);
    return 0;
}

// ---------------------------------------------------------------- Tile

static int tile_repeats(OpCtx *c, int64_t *rep) {
    int n, st = sh_read_ints(c, 1, rep, RMAX_RANK, &n, false);
    if (st)
        return st;
    if (n != c->in[0].rank)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "repeats has %d values for rank %d", n,
                        c->in[0].rank);
    for (int i = 0; i < n; i++)
        if (rep[i] < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "repeat %lld is negative",
                            (long long)rep[i]);
    return 0;
}

int sh_tile_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    int64_t rep[RMAX_RANK];
    if (st || (st = tile_repeats(c, rep)) != 0)
        return st;
    Tensor *y = &c->out[0];
    *y = c->in[0];
    y->data = NULL;
    for (int i = 0; i < y->rank; i++)
        y->dims[i] = sh_mul(y->dims[i], rep[i]);
    return 0;
}

int sh_tile_run(OpCtx *c) {
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    const Tensor *y = &c->out[0];
    int64_t xs[RMAX_RANK], d[SH_MAX_DIMS], s[SH_MAX_DIMS];
    sh_strides(x, xs);
    // y viewed as [r0, d0, r1, d1, ...]: the repeats read with stride 0.
    for (int i = 0; i < x->rank; i++) {
        d[2 * i] = x->dims[i] ? y->dims[i] / x->dims[i] : 0;
        s[2 * i] = 0;
        d[2 * i + 1] = x->dims[i];
        s[2 * i + 1] = xs[i];
    }
    sh_copy_view(y->data, x->data, dtype_size(x->dtype), 2 * x->rank, d, s);
    return 0;
}

// ---------------------------------------------------------------- DepthToSpace, SpaceToDepth

// code 0: DepthToSpace, 1: SpaceToDepth. *crd for DepthToSpace's CRD mode.
static int d2s_params(OpCtx *c, int64_t *b, bool *crd) {
    int64_t bs = attr_int(c->node, "blocksize", 0);
    if (bs <= 0 || bs > (1 << 20))
        return node_err(c, TILEC_MODEL_ERR_INVALID, "blocksize %lld is not positive",
                        (long long)bs);
    *b = bs;
    *crd = false;
    if (c->node->op->code == 0) {
        char buf[16];
        const char *mode = attr_str(c->node, "mode", "DCR", buf, sizeof buf);
        if (strcmp(mode, "CRD") == 0)
            *crd = true;
        else if (strcmp(mode, "DCR") != 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "mode '%s' (DCR or CRD)", mode);
    }
    return 0;
}

int sh_d2s_infer(OpCtx *c) {
    int st = sh_check_data(c, 0);
    int64_t b;
    bool crd;
    if (st || (st = d2s_params(c, &b, &crd)) != 0)
        return st;
    const Tensor *x = &c->in[0];
    if (x->rank != 4)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the input has rank %d, not 4", x->rank);
    Tensor *y = &c->out[0];
    *y = *x;
    y->data = NULL;
    if (c->node->op->code == 0) {
        if (x->dims[1] % (b * b))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "%lld channels are not a multiple of %lld",
                            (long long)x->dims[1], (long long)(b * b));
        y->dims[1] = x->dims[1] / (b * b);
        y->dims[2] = sh_mul(x->dims[2], b);
        y->dims[3] = sh_mul(x->dims[3], b);
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return node_err(c, TILEC_MODEL_ERR_INVALID,
                            "height %lld and width %lld are not multiples of %lld",
                            (long long)x->dims[2], (long long)x->dims[3], (long long)b);
        y->dims[1] = sh_mul(x->dims[1], b * b);
        y->dims[2] = x->dims[2] / b;
        y->dims[3] = x->dims[3] / b;
    }
    return 0;
}

int sh_d2s_run(OpCtx *c) {
    int64_t b;
    bool crd;
    int st = d2s_params(c, &b, &crd);
    if (st)
        return st;
    c->kernel = "memcpy";
    const Tensor *x = &c->in[0];
    const Tensor *y = &c->out[0];
    int64_t xs[4];
    sh_strides(x, xs);
    int64_t n = x->dims[0], sN = xs[0], sC = xs[1], sH = xs[2], sW = xs[3];
    int64_t d[6], s[6];
    if (c->node->op->code == 0) {
        // y viewed as [N, C', H, b, W, b].
        int64_t cc = y->dims[1], h = x->dims[2], w = x->dims[3];
        int64_t dd[6] = {n, cc, h, b, w, b};
        int64_t dcr[6] = {sN, sC, sH, b * cc * sC, sW, cc * sC};
        int64_t crds[6] = {sN, b * b * sC, sH, b * sC, sW, sC};
        memcpy(d, dd, sizeof d);
        memcpy(s, crd ? crds : dcr, sizeof s);
    } else {
        // y viewed as [N, b, b, C, H/b, W/b].
        int64_t dd[6] = {n, b, b, x->dims[1], y->dims[2], y->dims[3]};
        int64_t ss[6] = {sN, sH, sW, sC, b * sH, b * sW};
        memcpy(d, dd, sizeof d);
        memcpy(s, ss, sizeof s);
    }
    sh_copy_view(y->data, x->data, dtype_size(x->dtype), 6, d, s);
    return 0;
}
