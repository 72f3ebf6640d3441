// runner/ops_nn_resize.c — Resize (opsets 10 to 19) and Upsample (7, 9) of f32 tensors, on
// nn_resize (runner/kernels/nn_resize.tile), which resizes the last two axes of a tensor viewed
// as [A, H, W]. Resizing is separable: an axis before the last two is resized by a pass of its
// own over the tensor viewed as [A, L, B] (L that axis, B kept), in scratch.
#include <math.h>
#include <string.h>

#include "nn_resize.h"
#include "ops_nn.h"

typedef struct ResizeArgs {
    int rank;
    int64_t in[RMAX_RANK], out[RMAX_RANK];
    double scale[RMAX_RANK], roi0[RMAX_RANK], roi1[RMAX_RANK];
    int mode, ctm, nearest, excl;
    float ca, extrap;
} ResizeArgs;

static int lookup(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static bool present(const OpCtx *c, int i) {
    return i < c->nin && c->in[i].dtype != DT_UNDEF && tensor_numel(&c->in[i]) > 0;
}

static int resize_args(const OpCtx *c, ResizeArgs *a) {
    const Node *n = c->node;
    const Tensor *x = &c->in[0];
    int st = opnn_want_f32(c, 0, "X");
    if (st)
        return st;
    memset(a, 0, sizeof *a);
    a->rank = x->rank;
    if (x->rank < 1)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "a scalar cannot be resized");
    bool upsample = n->op->code == NN_UPSAMPLE;
    bool r10 = !upsample && n->opset < 11;
    char buf[64];
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
    a->mode = lookup(attr_str(n, "mode", "nearest", buf, sizeof buf), modes, 4);
    if (a->mode == 3 && upsample)
        a->mode = 1;
    if (a->mode < 0 || a->mode == 3 || ((upsample || r10) && a->mode == 2))
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "mode '%s'", buf);
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize",
                                       "half_pixel_symmetric"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    if (upsample || r10) {
        a->ctm = 3;
        a->nearest = 4;
    } else {
        a->ctm = lookup(attr_str(n, "coordinate_transformation_mode", "half_pixel", buf,
                                 sizeof buf), ctms, 7);
        if (a->ctm < 0 || (a->ctm == 6 && n->opset < 19))
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'",
                            buf);
        a->nearest = lookup(attr_str(n, "nearest_mode", "round_prefer_floor", buf, sizeof buf),
                            nms, 4);
        if (a->nearest < 0)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "nearest_mode '%s'", buf);
        if (attr_int(n, "antialias", 0) != 0)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "antialias is not supported");
    }
    a->ca = attr_float(n, "cubic_coeff_a", -0.75f);
    a->excl = (int)attr_int(n, "exclude_outside", 0);
    a->extrap = attr_float(n, "extrapolation_value", 0.0f);
    // Axes (opset 18): the scales, sizes and roi name these axes only.
    int axes[RMAX_RANK], naxes = x->rank;
    const int64_t *av;
    int acnt = n->opset >= 18 ? attr_ints(n, "axes", &av) : -1;
    for (int i = 0; i < x->rank; i++)
        axes[i] = i;
    if (acnt >= 0) {
        bool seen[RMAX_RANK] = {false};
        naxes = acnt;
        for (int i = 0; i < acnt; i++)
            if (!norm_axis(av[i], x->rank, &axes[i]) || seen[axes[i]])
                return node_err(c, TILEC_MODEL_ERR_INVALID, "bad axes");
            else
                seen[axes[i]] = true;
    }
    for (int i = 0; i < x->rank; i++) {
        a->in[i] = a->out[i] = x->dims[i];
        a->scale[i] = 1.0;
        a->roi0[i] = 0.0;
        a->roi1[i] = 1.0;
    }
    // Where the scales and sizes are: Upsample-7 an attribute; Resize-10 / Upsample-9 input 1;
    // Resize-11+ inputs 2 (scales) and 3 (sizes), input 1 the roi.
    const float *fs = NULL;
    int nscales = -1;
    const Tensor *sizes = NULL, *roi = NULL;
    if (upsample && n->opset < 9) {
        nscales = attr_floats(n, "scales", &fs);
        if (nscales < 0)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "no scales");
    } else if (upsample || r10) {
        if (!present(c, 1) || c->in[1].dtype != DT_F32 || !c->in[1].data)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "scales must be a float tensor");
        fs = c->in[1].data;
        nscales = (int)tensor_numel(&c->in[1]);
    } else {
        if (present(c, 2)) {
            if (c->in[2].dtype != DT_F32 || !c->in[2].data)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "scales must be a float tensor");
            fs = c->in[2].data;
            nscales = (int)tensor_numel(&c->in[2]);
        }
        if (present(c, 3)) {
            if (c->in[3].dtype != DT_I64 || !c->in[3].data)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "sizes must be an int64 tensor");
            sizes = &c->in[3];
        }
        if (present(c, 1)) {
            if (!dtype_is_float(c->in[1].dtype) || !c->in[1].data)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "roi must be a float tensor");
            roi = &c->in[1];
        }
        if ((fs != NULL) == (sizes != NULL))
            return node_err(c, TILEC_MODEL_ERR_INVALID, "exactly one of scales and sizes must "
                            "be given");
    }
    if (fs && nscales != naxes)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%d scales for %d axes", nscales, naxes);
    if (sizes && tensor_numel(sizes) != naxes)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "%lld sizes for %d axes",
                        (long long)tensor_numel(sizes), naxes);
    if (roi && a->ctm == 5) {
        if (tensor_numel(roi) != 2 * naxes)
            return node_err(c, TILEC_MODEL_ERR_INVALID, "roi has %lld values for %d axes",
                            (long long)tensor_numel(roi), naxes);
        for (int i = 0; i < naxes; i++) {
            a->roi0[axes[i]] = tensor_get_f64(roi, i);
            a->roi1[axes[i]] = tensor_get_f64(roi, i + naxes);
        }
    }
    if (fs) {
        for (int i = 0; i < naxes; i++) {
            int ax = axes[i];
            if (!(fs[i] > 0.0f))
                return node_err(c, TILEC_MODEL_ERR_INVALID, "scales must be positive");
            a->scale[ax] = fs[i];
            double len = (double)a->in[ax] * fs[i];
            if (a->ctm == 5)
                len *= a->roi1[ax] - a->roi0[ax];
            a->out[ax] = (int64_t)floor(len);
        }
    } else {
        static const char *const pols[] = {"stretch", "not_larger", "not_smaller"};
        int pol = n->opset >= 18 ? lookup(attr_str(n, "keep_aspect_ratio_policy", "stretch", buf,
                                                   sizeof buf), pols, 3) : 0;
        if (pol < 0)
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s'", buf);
        double common = pol == 1 ? INFINITY : 0.0;
        for (int i = 0; i < naxes; i++) {
            int ax = axes[i];
            int64_t sz = tensor_get_int(sizes, i);
            if (sz < 0)
                return node_err(c, TILEC_MODEL_ERR_INVALID, "negative size");
            double s = a->in[ax] ? (double)sz / (double)a->in[ax] : 1.0;
            if (pol == 1 && s < common)
                common = s;
            if (pol == 2 && s > common)
                common = s;
            a->out[ax] = sz;
            a->scale[ax] = s;
        }
        if (pol != 0)
            for (int i = 0; i < naxes; i++) {
                int ax = axes[i];
                a->scale[ax] = common;
                a->out[ax] = (int64_t)floor(common * (double)a->in[ax] + 0.5);
            }
    }
    for (int i = 0; i < x->rank; i++)
        if (a->in[i] == 0 && a->out[i] > 0)
            return node_err(c, TILEC_MODEL_ERR_INPUT, "cannot resize an empty axis");
    return 0;
}

int opnn_resize_infer(OpCtx *c) {
    ResizeArgs a;
    int st = resize_args(c, &a);
    if (st)
        return st;
    Tensor *y = &c->out[0];
    y->dtype = DT_F32;
    y->rank = a.rank;
    for (int i = 0; i < a.rank; i++)
        y->dims[i] = a.out[i];
    return 0;
}

// Whether axis i is left as it is.
static bool identity(const ResizeArgs *a, int i) {
    return a->in[i] == a->out[i] && a->scale[i] == 1.0 &&
           (a->ctm != 5 || (a->roi0[i] == 0.0 && a->roi1[i] == 1.0));
}

// Whether an axis before the last two is resized (a pass of its own, in scratch).
static bool outer_passes(const ResizeArgs *a) {
    for (int i = 0; i < a->rank - 2; i++)
        if (!identity(a, i))
            return true;
    return false;
}

// Nearest on the last two axes (not tf_crop_and_resize): index tables and a gather.
static bool nearest_fast(const ResizeArgs *a) {
    return a->rank >= 2 && a->mode == 0 && a->ctm != 5;
}

// Bytes of the nearest path's index tables (after the passes' two buffers).
static size_t table_bytes(const ResizeArgs *a) {
    return nearest_fast(a) ? ((size_t)a->out[a->rank - 2] + (size_t)a->out[a->rank - 1] + 16) * 8 : 0;
}

size_t opnn_resize_scratch(const OpCtx *c) {
    ResizeArgs a;
    RErr e;
    OpCtx q = *c;
    q.err = &e;
    if (resize_args(&q, &a))
        return 0;
    size_t bytes = table_bytes(&a);
    if (!outer_passes(&a))
        return bytes;
    int64_t big = 1;
    for (int i = 0; i < a.rank; i++)
        big *= a.in[i] > a.out[i] ? a.in[i] : a.out[i];
    return bytes + 2 * (size_t)big * sizeof(float);
}

int opnn_resize_run(OpCtx *c) {
    ResizeArgs a;
    int st = resize_args(c, &a);
    if (st)
        return st;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    int r = a.rank;
    int64_t cur[RMAX_RANK];
    memcpy(cur, a.in, sizeof cur);
    const float *src = c->in[0].data;
    float *bufs[2] = {NULL, NULL};
    int64_t *tables = c->scratch;  // the nearest path's index tables come first
    if (outer_passes(&a)) {
        int64_t big = 1;
        for (int i = 0; i < r; i++)
            big *= a.in[i] > a.out[i] ? a.in[i] : a.out[i];
        bufs[0] = (float *)((char *)c->scratch + table_bytes(&a));
        bufs[1] = bufs[0] + big;
    }
    int nb = 0;
    c->kernel = "nn_resize";
    // Passes over the axes before the last two, each viewed as [A, L, B] with B kept.
    for (int i = 0; i < r - 2; i++) {
        if (identity(&a, i))
            continue;
        int64_t A = 1, B = 1;
        for (int j = 0; j < i; j++)
            A *= cur[j];
        for (int j = i + 1; j < r; j++)
            B *= cur[j];
        float *dst = bufs[nb];
        nb ^= 1;
        st = nn_resize(src, dst, a.mode, a.ctm, a.scale[i], a.roi0[i], a.roi1[i], 0, 3, 1.0, 0.0,
                       1.0, a.nearest, a.ca, a.excl, a.extrap, A, a.in[i], B, a.out[i], B);
        if (st)
            return opnn_kernel_err(c, c->kernel, st);
        cur[i] = a.out[i];
        src = dst;
    }
    // The last two axes (a rank-1 tensor as [1, 1, L]).
    int h = r - 2, w = r - 1;
    bool hid = r < 2 || identity(&a, h), wid = identity(&a, w);
    if (hid && wid) {
        memcpy(c->out[0].data, src, tensor_bytes(&c->out[0]));
        return 0;
    }
    int64_t A = 1;
    for (int j = 0; j < h; j++)
        A *= cur[j];
    int64_t H = r < 2 ? 1 : a.in[h], OH = r < 2 ? 1 : a.out[h];
    if (nearest_fast(&a)) {
        int64_t *ih = tables, *iw = tables + OH + 8;
        c->kernel = "nn_resize_gather";
        st = nn_resize_index(ih, hid ? 0 : a.mode, hid ? 3 : a.ctm, hid ? 1.0 : a.scale[h],
                             hid ? 0.0 : a.roi0[h], hid ? 1.0 : a.roi1[h], a.nearest, H, OH);
        if (!st)
            st = nn_resize_index(iw, wid ? 0 : a.mode, wid ? 3 : a.ctm, wid ? 1.0 : a.scale[w],
                                 wid ? 0.0 : a.roi0[w], wid ? 1.0 : a.roi1[w], a.nearest, a.in[w],
                                 a.out[w]);
        // Each input column repeated R = 2, 4 or 8 times: nn_resize_up (slices, no gather).
        int64_t R = a.in[w] > 0 && a.out[w] % a.in[w] == 0 ? a.out[w] / a.in[w] : 0;
        bool up = !st && (R == 2 || R == 4 || R == 8);
        for (int64_t x = 0; up && x < a.out[w]; x++)
            up = iw[x] == x / R;
        if (up) {
            c->kernel = "nn_resize_up";
            st = nn_resize_up(src, ih, c->out[0].data, A, H, a.in[w], OH, a.out[w]);
        } else if (!st) {
            st = nn_resize_gather(src, ih, iw, c->out[0].data, A, H, a.in[w], OH, a.out[w]);
        }
        return st ? opnn_kernel_err(c, c->kernel, st) : 0;
    }
    st = nn_resize(src, c->out[0].data, hid ? 0 : a.mode, hid ? 3 : a.ctm,
                   hid ? 1.0 : a.scale[h], hid ? 0.0 : a.roi0[h], hid ? 1.0 : a.roi1[h],
                   wid ? 0 : a.mode, wid ? 3 : a.ctm, wid ? 1.0 : a.scale[w],
                   wid ? 0.0 : a.roi0[w], wid ? 1.0 : a.roi1[w], a.nearest, a.ca, a.excl,
                   a.extrap, A, H, a.in[w], OH, a.out[w]);
    return st ? opnn_kernel_err(c, c->kernel, st) : 0;
}
