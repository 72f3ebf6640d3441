// autotune/tune_shapes.c — the shapes `tilec tune` measures: --shape and --sweep specifications
// ("M=N=K=256..4096*2", "K=64..256+64", "N=1000") checked against the kernel's sizes and
// scalars, what a shape's tensors need (element counts that fit in int64, bytes that fit in
// memory), and --flops expressions evaluated at a shape (tune_internal.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune_internal.h"

static int size_index(const KernelInfo *ki, const char *name) {
    for (int i = 0; i < ki->nsizes; i++)
        if (strcmp(ki->sizes[i]->name, name) == 0)
            return i;
    return -1;
}

static int scalar_index(const KernelInfo *ki, const char *name) {
    for (int i = 0; i < ki->nscalars; i++)
        if (strcmp(ki->scalars[i]->name, name) == 0)
            return i;
    return -1;
}

// Canonical text and order: the kernel's sizes, then its scalars, in declaration order.
static bool finish_shape(Tuner *T, TuneShape *s, const char *spec) {
    const KernelInfo *ki = T->kernel->kinfo;
    TuneShape out = {0};
    for (int i = 0; i < ki->nsizes; i++) {
        int k = 0;
        while (k < s->n && strcmp(s->name[k], ki->sizes[i]->name) != 0)
            k++;
        if (k == s->n) {
            tune_usage_error("'%s' gives no value for size '%s' of kernel '%s'", spec, ki->sizes[i]->name,
                             T->kernel->name);
            return false;
        }
        if (s->value[k] < 0 || s->value[k] != floor(s->value[k])) {
            tune_usage_error("'%s': size %s must be a non-negative integer", spec, s->name[k]);
            return false;
        }
        if (s->value[k] > 1e12) {
            tune_usage_error("'%s': size %s = %.17g is too large (at most 10^12)", spec, s->name[k],
                             s->value[k]);
            return false;
        }
        snprintf(out.name[out.n], 32, "%s", s->name[k]);
        out.value[out.n++] = s->value[k];
    }
    for (int i = 0; i < ki->nscalars; i++)
        for (int k = 0; k < s->n; k++)
            if (strcmp(s->name[k], ki->scalars[i]->name) == 0) {
                snprintf(out.name[out.n], 32, "%s", s->name[k]);
                out.value[out.n++] = s->value[k];
            }
    for (int k = 0; k < s->n; k++)
        if (size_index(ki, s->name[k]) < 0 && scalar_index(ki, s->name[k]) < 0) {
            tune_usage_error("'%s': kernel '%s' has no size or scalar parameter '%s'", spec, T->kernel->name,
                             s->name[k]);
            return false;
        }
    size_t len = 0;
    for (int k = 0; k < out.n; k++)
        len += (size_t)snprintf(out.text + len, sizeof out.text - len, "%s%s=%.17g", k ? "," : "",
                                out.name[k], out.value[k]);
    *s = out;
    for (int i = 0; i < T->nshapes; i++)
        if (strcmp(T->shapes[i].text, s->text) == 0)
            return true;  // given twice: tuned once
    if (T->nshapes == TUNE_MAX_SHAPES) {
        tune_usage_error("more than %d shapes", TUNE_MAX_SHAPES);
        return false;
    }
    T->shapes[T->nshapes++] = *s;
    return true;
}

// One item of a sweep: "M=N=K=256..4096*2", "K=64..256+64", "N=1000".
typedef struct Range {
    char names[TUNE_MAX_BOUND][32];
    int nnames;
    double values[256];
    int nvalues;
} Range;

static bool parse_range(const char *item, Range *r, const char *spec) {
    memset(r, 0, sizeof *r);
    const char *p = item, *eq;
    while ((eq = strchr(p, '=')) && eq[1] && !strchr("0123456789-.", eq[1]) && r->nnames < TUNE_MAX_BOUND) {
        snprintf(r->names[r->nnames++], 32, "%.*s", (int)(eq - p), p);
        p = eq + 1;
    }
    if (!eq || eq == p || r->nnames == TUNE_MAX_BOUND) {
        tune_usage_error("'%s': expected NAME=VALUE or NAME=LO..HI*FACTOR / NAME=LO..HI+STEP in '%s'", spec,
                         item);
        return false;
    }
    snprintf(r->names[r->nnames++], 32, "%.*s", (int)(eq - p), p);
    const char *v = eq + 1, *dots = strstr(v, "..");
    char *end;
    char lo_text[64];
    snprintf(lo_text, sizeof lo_text, "%.*s", dots ? (int)(dots - v) : (int)strlen(v), v);
    double lo = strtod(lo_text, &end);
    if (end == lo_text || *end != '\0')
        goto bad;
    if (!dots) {
        r->values[r->nvalues++] = lo;
        return true;
    }
    v = dots + 2;
    double hi = strtod(v, &end);
    if (end == v || (*end != '*' && *end != '+'))
        goto bad;
    char op = *end;
    v = end + 1;
    double step = strtod(v, &end);
    if (end == v || *end != '\0' || (op == '*' && step <= 1) || (op == '+' && step <= 0) || lo > hi)
        goto bad;
    for (double x = lo; x <= hi * (1 + 1e-12) && r->nvalues < 256; x = op == '*' ? x * step : x + step)
        r->values[r->nvalues++] = x;
    return true;
bad:
    tune_usage_error("'%s': bad range '%s' (expected LO..HI*FACTOR or LO..HI+STEP, LO <= HI)", spec, item);
    return false;
}

// A --shape or --sweep: the cartesian product of its comma-separated items.
bool tune_add_shapes(Tuner *T, const char *spec) {
    Range ranges[TUNE_MAX_BOUND];
    int nr = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (nr == TUNE_MAX_BOUND)
            return tune_usage_error("'%s': too many items", spec) == 0;
        if (!parse_range(item, &ranges[nr++], spec))
            return false;
    }
    if (nr == 0)
        return tune_usage_error("empty shape '%s'", spec) == 0;
    int idx[TUNE_MAX_BOUND] = {0};
    for (;;) {
        TuneShape s = {0};
        for (int i = 0; i < nr; i++)
            for (int k = 0; k < ranges[i].nnames && s.n < TUNE_MAX_BOUND; k++) {
                memcpy(s.name[s.n], ranges[i].names[k], 32);
                s.value[s.n++] = ranges[i].values[idx[i]];
            }
        if (!finish_shape(T, &s, spec))
            return false;
        int i = nr - 1;
        while (i >= 0 && ++idx[i] == ranges[i].nvalues)
            idx[i--] = 0;
        if (i < 0)
            return true;
    }
}

double tune_shape_value(const TuneShape *s, const char *name, bool *found) {
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->name[k], name) == 0) {
            *found = true;
            return s->value[k];
        }
    *found = false;
    return 0;
}

double tune_shape_size(const TuneShape *s) {
    double size = 1;
    for (int k = 0; k < s->n; k++)
        size *= fmax(s->value[k], 1);
    return size;
}

bool tune_tensor_elems(const TuneShape *s, const Symbol *t, int64_t *elems, int64_t *strides) {
    // From the last dimension: each suffix product is the stride of the dimension before it.
    int64_t n = 1;
    bool found;
    for (int d = t->type.rank - 1; d >= 0; d--) {
        if (strides)
            strides[d] = n;
        int64_t dim = t->dims[d] ? (int64_t)tune_shape_value(s, t->dims[d]->name, &found) : t->const_dims[d];
        if (__builtin_mul_overflow(n, dim, &n))
            return false;
    }
    *elems = n;
    return true;
}

// "12 bytes", "640 KiB", "12.0 MiB", "1.5 GiB", ... "2.0 EiB".
static void format_bytes(double b, char *out, size_t n) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (b < 1024) {
        snprintf(out, n, "%.0f bytes", b);
        return;
    }
    int u = 0;
    for (b /= 1024; b >= 1024 && u < 5; u++)
        b /= 1024;
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

// The product of tensor t's dimensions as text: "M*K".
static void dims_text(const Symbol *t, char *out, size_t n) {
    size_t len = 0;
    out[0] = '\0';
    for (int d = 0; d < t->type.rank && len < n; d++) {
        if (t->dims[d])
            len += (size_t)snprintf(out + len, n - len, "%s%s", d ? "*" : "", t->dims[d]->name);
        else
            len += (size_t)snprintf(out + len, n - len, "%s%lld", d ? "*" : "", (long long)t->const_dims[d]);
    }
}

int tune_shape_check(const Tuner *T, const TuneShape *s, char *why, size_t n) {
    const KernelInfo *ki = T->kernel->kinfo;
    double total = 0, largest_out = 0;
    int out_i = -1;
    char list[640];
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < ki->ntensors; i++) {
        const Symbol *t = ki->tensors[i];
        int64_t elems, bytes;
        if (!tune_tensor_elems(s, t, &elems, NULL) ||
            __builtin_mul_overflow(elems, (int64_t)measure_elem_bytes(t->type.elem), &bytes)) {
            char dims[128];
            dims_text(t, dims, sizeof dims);
            bool found;
            double e = 1;
            for (int d = 0; d < t->type.rank; d++)
                e *= t->dims[d] ? tune_shape_value(s, t->dims[d]->name, &found) : (double)t->const_dims[d];
            snprintf(why, n,
                     "shape %s: tensor %s has %s = %.3g elements (%.3g bytes), more than 64-bit sizes hold",
                     s->text, t->name, dims, e, e * (double)measure_elem_bytes(t->type.elem));
            return TUNE_SHAPE_OVERFLOWS;
        }
        total += (double)bytes;
        if (((const Node *)t->decl)->is_out && (double)bytes > largest_out) {
            largest_out = (double)bytes;
            out_i = i;
        }
        char b[32];
        format_bytes((double)bytes, b, sizeof b);
        if (len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s %s", i ? ", " : "", t->name, b);
    }
    // The check compares an output with the reference in a buffer of its own.
    if (out_i >= 0 && len < sizeof list) {
        char b[32];
        format_bytes(largest_out, b, sizeof b);
        len += (size_t)snprintf(list + len, sizeof list - len, ", the check's copy of %s %s",
                                ki->tensors[out_i]->name, b);
    }
    total += largest_out;
    if (total <= T->mem_usable)
        return TUNE_SHAPE_FITS;
    char need[32], usable[32], avail[32];
    format_bytes(total, need, sizeof need);
    format_bytes(T->mem_usable, usable, sizeof usable);
    format_bytes(T->mem_avail, avail, sizeof avail);
    snprintf(why, n, "shape %s: the tensors need %s (%s), more than the %s a run may use (80%% of the %s %s)",
             s->text, need, list, usable, avail, T->mem_what);
    return TUNE_SHAPE_TOO_BIG;
}

// --flops "2*M*N*K": a sum of products of integers and size names. NAN when absent or bad.
double tune_eval_flops(const char *expr, const TuneShape *s) {
    if (!expr)
        return NAN;
    double sum = 0, prod = 1;
    const char *p = expr;
    while (*p) {
        char *end;
        double v;
        if ((*p >= '0' && *p <= '9') || *p == '.') {
            v = strtod(p, &end);
            p = end;
        } else {
            const char *q = p;
            while (*q && *q != '*' && *q != '+')
                q++;
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
            bool found;
            v = tune_shape_value(s, name, &found);
            if (!found)
                return NAN;
            p = q;
        }
        prod *= v;
        if (*p == '+') {
            sum += prod;
            prod = 1;
        } else if (*p && *p != '*') {
            return NAN;
        }
        if (*p)
            p++;
    }
    return sum + prod;
}
