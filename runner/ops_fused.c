// runner/ops_fused.c — the `fused` op group: TilecFused, a node that runs an elementwise chain's
// generated kernel (fuse_ew.h says what its attributes hold), and the registry of those kernels
// by name.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_ew.h"

// ---------------------------------------------------------------- data structures

// A registered kernel.
typedef struct Entry {
    char name[FUSED_NAME_MAX];
    void *fn;
} Entry;

static struct {
    pthread_mutex_t lock;
    Entry *e;
    int n, cap;
} R = {.lock = PTHREAD_MUTEX_INITIALIZER};

// A fused node's load-time state: its kernel and what its attributes say.
typedef struct Fused {
    char name[FUSED_NAME_MAX];
    void *fn;
    int64_t d[3];
    Tensor out;                   // shape only
    Tensor in[FUSED_MAX_INPUTS];  // shapes only
} Fused;

// ---------------------------------------------------------------- registry

bool fused_kernel_add(const char *name, void *fn) {
    pthread_mutex_lock(&R.lock);
    bool ok = strlen(name) < FUSED_NAME_MAX;
    int i = 0;
    while (i < R.n && strcmp(R.e[i].name, name) != 0)
        i++;
    if (ok && i == R.n && R.n == R.cap) {
        int cap = R.cap ? 2 * R.cap : 32;
        Entry *e = realloc(R.e, sizeof *e * (size_t)cap);
        if (e)
            R.e = e, R.cap = cap;
        ok = e != NULL;
    }
    if (ok && i == R.n) {
        memcpy(R.e[i].name, name, strlen(name) + 1);
        R.e[i].fn = fn;
        R.n++;
    }
    pthread_mutex_unlock(&R.lock);
    return ok;
}

void *fused_kernel_find(const char *name) {
    pthread_mutex_lock(&R.lock);
    void *fn = NULL;
    for (int i = 0; i < R.n && !fn; i++)
        if (strcmp(R.e[i].name, name) == 0)
            fn = R.e[i].fn;
    pthread_mutex_unlock(&R.lock);
    return fn;
}

// ---------------------------------------------------------------- the op

static int fused_prepare(Node *n, const Graph *g, RErr *e) {
    (void)g;
    char name[64];
    attr_str(n, "kernel", "", name, sizeof name);
    const int64_t *d, *shape, *ins;
    int nd = attr_ints(n, "dims", &d), ns = attr_ints(n, "shape", &shape), ni = attr_ints(n, "inputs", &ins);
    if (strlen(name) >= FUSED_NAME_MAX || nd != 3 || ns < 0 || ns > RMAX_RANK || ni < 0 || n->nin < 1 ||
        n->nin > FUSED_MAX_INPUTS || n->nout != 1)
        return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (TilecFused): malformed attributes", n->name);
    void *fn = fused_kernel_find(name);
    if (!fn)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED,
                    "node '%s' (TilecFused): its generated kernel %s is not loaded (fused nodes are "
                    "made by `tilec run` and ahead-of-time objects, not read from models)",
                    n->name, name);
    Fused *f = calloc(1, sizeof *f);
    if (!f)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    memcpy(f->name, name, strlen(name) + 1);  // shorter than FUSED_NAME_MAX (checked above)
    f->fn = fn;
    memcpy(f->d, d, sizeof f->d);
    f->out.dtype = DT_F32, f->out.rank = ns;
    memcpy(f->out.dims, shape, sizeof(int64_t) * (size_t)ns);
    int k = 0;
    for (int j = 0; j < n->nin; j++) {
        int r = k < ni ? (int)ins[k++] : -1;
        if (r < 0 || r > RMAX_RANK || k + r > ni) {
            free(f);
            return rerr(e, TILEC_MODEL_ERR_INVALID, "node '%s' (TilecFused): malformed attributes", n->name);
        }
        f->in[j].dtype = DT_F32, f->in[j].rank = r;
        memcpy(f->in[j].dims, ins + k, sizeof(int64_t) * (size_t)r);
        k += r;
    }
    n->state = f;
    return 0;
}

// The output's shape as generated; inputs of other shapes (a run whose shapes differ from the
// load-time plan's) are refused.
static int fused_infer(OpCtx *c) {
    const Fused *f = c->node->state;
    for (int j = 0; j < c->nin; j++)
        if (c->in[j].dtype != DT_F32 || !tensor_same_shape(&c->in[j], &f->in[j])) {
            char a[160], b[160];
            return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                            "input %d is %s %s; its fused kernel %s was generated for float %s", j,
                            dtype_name(c->in[j].dtype), shape_str(&c->in[j], a, sizeof a), f->name,
                            shape_str(&f->in[j], b, sizeof b));
        }
    c->out[0] = f->out;
    return 0;
}

typedef int64_t I;
typedef const float *P;
typedef int (*F1)(float *, P, I, I, I);
typedef int (*F2)(float *, P, P, I, I, I);
typedef int (*F3)(float *, P, P, P, I, I, I);
typedef int (*F4)(float *, P, P, P, P, I, I, I);
typedef int (*F5)(float *, P, P, P, P, P, I, I, I);
typedef int (*F6)(float *, P, P, P, P, P, P, I, I, I);
typedef int (*F7)(float *, P, P, P, P, P, P, P, I, I, I);
typedef int (*F8)(float *, P, P, P, P, P, P, P, P, I, I, I);

static int fused_run(OpCtx *c) {
    const Fused *f = c->node->state;
    c->kernel = f->name;
    if (tensor_numel(&c->out[0]) == 0)
        return 0;
    float *y = c->out[0].data;
    P x[FUSED_MAX_INPUTS] = {0};
    for (int j = 0; j < c->nin; j++)
        x[j] = c->in[j].data;
    I d0 = f->d[0], d1 = f->d[1], d2 = f->d[2];
    int st;
    switch (c->nin) {
    case 1: st = ((F1)f->fn)(y, x[0], d0, d1, d2); break;
    case 2: st = ((F2)f->fn)(y, x[0], x[1], d0, d1, d2); break;
    case 3: st = ((F3)f->fn)(y, x[0], x[1], x[2], d0, d1, d2); break;
    case 4: st = ((F4)f->fn)(y, x[0], x[1], x[2], x[3], d0, d1, d2); break;
    case 5: st = ((F5)f->fn)(y, x[0], x[1], x[2], x[3], x[4], d0, d1, d2); break;
    case 6: st = ((F6)f->fn)(y, x[0], x[1], x[2], x[3], x[4], x[5], d0, d1, d2); break;
    case 7: st = ((F7)f->fn)(y, x[0], x[1], x[2], x[3], x[4], x[5], x[6], d0, d1, d2); break;
    default: st = ((F8)f->fn)(y, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], d0, d1, d2); break;
    }
    if (st)
        return node_err(c, TILEC_MODEL_ERR_KERNEL, "kernel %s returned %d", f->name, st);
    return 0;
}

static void fused_free(void *state) { free(state); }

// In place: out[0] may take in[0]'s memory when they have the same size (in[0] then is not
// broadcast, and every block reads its elements before writing them).
const OpDef ops_fused[] = {
    {"TilecFused", 1, 0, OP_INPLACE, 0, 0, fused_prepare, fused_infer, fused_run, NULL, fused_free},
};
const int ops_fused_count = 1;
