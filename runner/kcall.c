// runner/kcall.c — kernel call sites (kcall.h): the table of tunable kernels, the record of the
// distinct calls a model makes, and the routes of calls to tuned variants.
#include "kcall.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "la_kernels.h"
#include "linear.h"
#include "matmul.h"
#include "nn_conv.h"

// ---------------------------------------------------------------- data structures

enum {
    K_MATMUL,
    K_BMM,
    K_LA_LINEAR,
    K_NN_CONV_NCHW,
    K_NN_CONV3X3,
    K_NN_CONV_GEMM,
    K_NN_DWCONV,
    K_CONV2D_NHWC,
    K_NN_CONVT_K2,
    K_COUNT
};

static const KCallKernel kernels[K_COUNT] = {
    [K_MATMUL] = {"matmul", "stdlib/matmul.tile", "M,K,N"},
    [K_BMM] = {"bmm", "stdlib/linear.tile", "BA,M,K,BB,N,BT"},
    [K_LA_LINEAR] = {"la_linear", "runner/kernels/la_kernels.tile", "M,K,N,NB,RM,RN"},
    [K_NN_CONV_NCHW] = {"nn_conv_nchw", "runner/kernels/nn_conv.tile",
                        "NB,C,H,W,KH,KW,K,KB,OH,OW,sh,sw,ph,pw,dh,dw,act"},
    [K_NN_CONV3X3] = {"nn_conv3x3", "runner/kernels/nn_conv.tile", "NB,C,H,W,KH,K,KB,OH,OW,sh,ph,pw,dh,act"},
    [K_NN_CONV_GEMM] = {"nn_conv_gemm", "runner/kernels/nn_conv.tile",
                        "NB,C,H,W,K,R,KB,OH,OW,kh_,kw_,sh,sw,ph,pw,dh,dw,act"},
    [K_NN_DWCONV] = {"nn_dwconv", "runner/kernels/nn_conv.tile",
                     "NB,C,H,W,KH,KW,KB,OH,OW,sh,sw,ph,pw,dh,dw,act"},
    [K_CONV2D_NHWC] = {"conv2d_nhwc", "stdlib/conv2d.tile",
                       "NB,H,W,C,KH,KW,CG,K,KB,OH,OW,sh,sw,ph,pw,dh,dw,act"},
    [K_NN_CONVT_K2] = {"nn_convt_k2", "runner/kernels/nn_conv.tile", "NB,C,H,W,K,KB,OH,OW,act"},
};

// A distinct call: its kernel, its key, and where it is routed (NULL: the built-in kernel).
typedef struct Call {
    int kernel;
    int nkey;
    int64_t key[KCALL_MAX_KEY];
    void *fn;
} Call;

// A routed call of one kernel: a copy of its key (the call sites scan the routes without the
// lock, and the record may grow meanwhile), its function and its index in the record.
typedef struct Route {
    int64_t key[KCALL_MAX_KEY];
    void *fn;
    int call;
} Route;

// The recorded calls, in the order first made, and per kernel its routes, which the call sites
// read without the lock (routes change only between runs).
static struct {
    pthread_mutex_t lock;
    atomic_bool recording;
    atomic_int nrouted;
    Call *calls;
    int ncalls, cap;
    Route *routes[K_COUNT];
    int nroutes[K_COUNT];
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

// ---------------------------------------------------------------- the table

int tilec_kcall_kernel_count(void) { return K_COUNT; }

const KCallKernel *tilec_kcall_kernel(int i) { return i >= 0 && i < K_COUNT ? &kernels[i] : NULL; }

// ---------------------------------------------------------------- record and route

// Records the call of kernel k with this key unless it was: its index in the record (-1: no
// memory).
static int record(int k, const int64_t *key, int n) {
    pthread_mutex_lock(&S.lock);
    int i = 0;
    while (i < S.ncalls &&
           !(S.calls[i].kernel == k && !memcmp(S.calls[i].key, key, sizeof(int64_t) * (size_t)n)))
        i++;
    if (i == S.ncalls && S.ncalls == S.cap) {
        int cap = S.cap ? 2 * S.cap : 64;
        Call *c = realloc(S.calls, sizeof(Call) * (size_t)cap);
        if (c)
            S.calls = c, S.cap = cap;
    }
    if (i == S.ncalls && S.ncalls < S.cap) {
        Call *c = &S.calls[S.ncalls++];
        memset(c, 0, sizeof *c);
        c->kernel = k;
        c->nkey = n;
        memcpy(c->key, key, sizeof(int64_t) * (size_t)n);
    }
    int index = i < S.ncalls ? i : -1;
    pthread_mutex_unlock(&S.lock);
    return index;
}

// The function a call of kernel k with this key runs: a routed variant, or NULL for the built-in
// kernel. Records the call when recording is on.
static void *find(int k, const int64_t *key, int n) {
    if (atomic_load_explicit(&S.recording, memory_order_relaxed))
        (void)record(k, key, n);
    if (atomic_load_explicit(&S.nrouted, memory_order_relaxed) == 0)
        return NULL;
    for (int r = 0; r < S.nroutes[k]; r++) {
        const Route *rt = &S.routes[k][r];
        if (!memcmp(rt->key, key, sizeof(int64_t) * (size_t)n))
            return rt->fn;
    }
    return NULL;
}

void tilec_kcalls_record(bool on) { atomic_store(&S.recording, on); }

int tilec_kcalls_count(void) {
    pthread_mutex_lock(&S.lock);
    int n = S.ncalls;
    pthread_mutex_unlock(&S.lock);
    return n;
}

int tilec_kcalls_get(int i, char *shape, size_t cap) {
    pthread_mutex_lock(&S.lock);
    if (i < 0 || i >= S.ncalls) {
        pthread_mutex_unlock(&S.lock);
        return -1;
    }
    const Call *c = &S.calls[i];
    const char *names = kernels[c->kernel].keys;
    size_t len = 0;
    if (cap)
        shape[0] = '\0';
    for (int k = 0; k < c->nkey && len < cap; k++) {
        size_t nl = strcspn(names, ",");
        len += (size_t)snprintf(shape + len, cap - len, "%s%.*s=%lld", k ? "," : "", (int)nl, names,
                                (long long)c->key[k]);
        names += nl + (names[nl] == ',');
    }
    int kernel = c->kernel;
    pthread_mutex_unlock(&S.lock);
    return kernel;
}

bool tilec_kcalls_route(int i, void *fn) {
    pthread_mutex_lock(&S.lock);
    bool ok = i >= 0 && i < S.ncalls;
    if (ok) {
        Call *c = &S.calls[i];
        int k = c->kernel, r = 0;
        while (r < S.nroutes[k] && S.routes[k][r].call != i)
            r++;
        if (fn && r < S.nroutes[k]) {
            S.routes[k][r].fn = fn;
        } else if (fn) {
            Route *grown = realloc(S.routes[k], sizeof(Route) * (size_t)(S.nroutes[k] + 1));
            ok = grown != NULL;
            if (ok) {
                S.routes[k] = grown;
                Route *rt = &S.routes[k][S.nroutes[k]++];
                memcpy(rt->key, c->key, sizeof rt->key);
                rt->fn = fn;
                rt->call = i;
                atomic_fetch_add(&S.nrouted, 1);
            }
        } else if (r < S.nroutes[k]) {
            S.routes[k][r] = S.routes[k][--S.nroutes[k]];
            atomic_fetch_sub(&S.nrouted, 1);
        }
        if (ok)
            c->fn = fn;
    }
    pthread_mutex_unlock(&S.lock);
    return ok;
}

bool tilec_kcalls_route_shape(const char *kernel, const char *shape, void *fn) {
    int k = 0;
    while (k < K_COUNT && strcmp(kernels[k].name, kernel) != 0)
        k++;
    if (k == K_COUNT)
        return false;
    int64_t key[KCALL_MAX_KEY];
    int n = 0;
    const char *names = kernels[k].keys, *s = shape;
    while (*names) {  // "NAME=VALUE" per key name, in order, separated by commas
        size_t nl = strcspn(names, ",");
        char *end;
        if (n == KCALL_MAX_KEY || (n > 0 && *s++ != ',') || strncmp(s, names, nl) != 0 || s[nl] != '=')
            return false;
        key[n++] = strtoll(s + nl + 1, &end, 10);
        if (end == s + nl + 1)
            return false;
        s = end;
        names += nl + (names[nl] == ',');
    }
    int i = *s ? -1 : record(k, key, n);
    return i >= 0 && tilec_kcalls_route(i, fn);
}

int tilec_kcalls_routed(void) { return atomic_load(&S.nrouted); }

void tilec_kcalls_reset(void) {
    pthread_mutex_lock(&S.lock);
    free(S.calls);
    S.calls = NULL;
    S.ncalls = S.cap = 0;
    for (int k = 0; k < K_COUNT; k++) {
        free(S.routes[k]);
        S.routes[k] = NULL;
        S.nroutes[k] = 0;
    }
    atomic_store(&S.nrouted, 0);
    pthread_mutex_unlock(&S.lock);
}

// ---------------------------------------------------------------- the call sites

#define KEY(...)                                                      \
    int64_t key[] = {__VA_ARGS__};                                    \
    enum { NKEY = sizeof key / sizeof key[0] };                       \
    _Static_assert(NKEY <= KCALL_MAX_KEY, "KCALL_MAX_KEY too small"); \
    (void)0

int kc_matmul(const float *A, const float *B, float *C, int64_t M, int64_t K, int64_t N) {
    KEY(M, K, N);
    int (*fn)(const float *, const float *, float *, int64_t, int64_t, int64_t) = find(K_MATMUL, key, NKEY);
    return (fn ? fn : matmul)(A, B, C, M, K, N);
}

int kc_bmm(const float *A, const float *B, float *C, int64_t BA, int64_t M, int64_t K, int64_t BB, int64_t N,
           int64_t BT) {
    KEY(BA, M, K, BB, N, BT);
    int (*fn)(const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        find(K_BMM, key, NKEY);
    return (fn ? fn : bmm)(A, B, C, BA, M, K, BB, N, BT);
}

int kc_la_linear(const float *A, const float *B, const float *bias, const float *R, float *C, float alpha,
                 float beta, int64_t M, int64_t K, int64_t N, int64_t NB, int64_t RM, int64_t RN) {
    KEY(M, K, N, NB, RM, RN);
    int (*fn)(const float *, const float *, const float *, const float *, float *, float, float, int64_t,
              int64_t, int64_t, int64_t, int64_t, int64_t) = find(K_LA_LINEAR, key, NKEY);
    return (fn ? fn : la_linear)(A, B, bias, R, C, alpha, beta, M, K, N, NB, RM, RN);
}

int kc_nn_conv_nchw(const float *X, const float *Wp, const float *bias, float *Y, int32_t sh, int32_t sw,
                    int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, float p, float q, float lo,
                    float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W,
                    int64_t KH, int64_t KW, int64_t K, int64_t KB, int64_t OH, int64_t OW) {
    KEY(NB, C, H, W, KH, KW, K, KB, OH, OW, sh, sw, ph, pw, dh, dw, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, float, float, float, float, float, float, float, int64_t, int64_t,
              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        find(K_NN_CONV_NCHW, key, NKEY);
    return (fn ? fn : nn_conv_nchw)(X, Wp, bias, Y, sh, sw, ph, pw, dh, dw, act, p, q, lo, hi, m, ps, pt, NB,
                                    C, H, W, KH, KW, K, KB, OH, OW);
}

int kc_nn_conv3x3(const float *X, const float *Wp, const float *bias, float *Y, int32_t sh, int32_t ph,
                  int32_t pw, int32_t dh, int32_t act, float p, float q, float lo, float hi, float m,
                  float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t K,
                  int64_t KB, int64_t OH, int64_t OW) {
    KEY(NB, C, H, W, KH, K, KB, OH, OW, sh, ph, pw, dh, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, int32_t, int32_t, int32_t,
              int32_t, float, float, float, float, float, float, float, int64_t, int64_t, int64_t, int64_t,
              int64_t, int64_t, int64_t, int64_t, int64_t) = find(K_NN_CONV3X3, key, NKEY);
    return (fn ? fn : nn_conv3x3)(X, Wp, bias, Y, sh, ph, pw, dh, act, p, q, lo, hi, m, ps, pt, NB, C, H, W,
                                  KH, K, KB, OH, OW);
}

int kc_nn_conv_gemm(const float *X, const float *Wt, const float *bias, float *Y, int32_t kh_, int32_t kw_,
                    int32_t sh, int32_t sw, int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act,
                    float p, float q, float lo, float hi, float m, float ps, float pt, int64_t NB, int64_t C,
                    int64_t H, int64_t W, int64_t K, int64_t R, int64_t KB, int64_t OH, int64_t OW) {
    KEY(NB, C, H, W, K, R, KB, OH, OW, kh_, kw_, sh, sw, ph, pw, dh, dw, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, int32_t, int32_t, float, float, float, float, float, float, float,
              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        find(K_NN_CONV_GEMM, key, NKEY);
    return (fn ? fn : nn_conv_gemm)(X, Wt, bias, Y, kh_, kw_, sh, sw, ph, pw, dh, dw, act, p, q, lo, hi, m,
                                    ps, pt, NB, C, H, W, K, R, KB, OH, OW);
}

int kc_nn_dwconv(const float *X, const float *Wt, const float *bias, float *Y, int32_t sh, int32_t sw,
                 int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, float p, float q, float lo,
                 float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W,
                 int64_t KH, int64_t KW, int64_t KB, int64_t OH, int64_t OW) {
    KEY(NB, C, H, W, KH, KW, KB, OH, OW, sh, sw, ph, pw, dh, dw, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, float, float, float, float, float, float, float, int64_t, int64_t,
              int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) = find(K_NN_DWCONV, key, NKEY);
    return (fn ? fn : nn_dwconv)(X, Wt, bias, Y, sh, sw, ph, pw, dh, dw, act, p, q, lo, hi, m, ps, pt, NB, C,
                                 H, W, KH, KW, KB, OH, OW);
}

int kc_conv2d_nhwc(const float *X, const float *Wt, const float *bias, float *Y, int32_t sh, int32_t sw,
                   int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, int64_t NB, int64_t H,
                   int64_t W, int64_t C, int64_t KH, int64_t KW, int64_t CG, int64_t K, int64_t KB,
                   int64_t OH, int64_t OW) {
    KEY(NB, H, W, C, KH, KW, CG, K, KB, OH, OW, sh, sw, ph, pw, dh, dw, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
              int64_t, int64_t, int64_t, int64_t) = find(K_CONV2D_NHWC, key, NKEY);
    return (fn ? fn : conv2d_nhwc)(X, Wt, bias, Y, sh, sw, ph, pw, dh, dw, act, NB, H, W, C, KH, KW, CG, K,
                                   KB, OH, OW);
}

int kc_nn_convt_k2(const float *X, const float *Wp, const float *bias, float *Y, int32_t act, float p,
                   float q, float lo, float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H,
                   int64_t W, int64_t K, int64_t KB, int64_t OH, int64_t OW) {
    KEY(NB, C, H, W, K, KB, OH, OW, act);
    int (*fn)(const float *, const float *, const float *, float *, int32_t, float, float, float, float,
              float, float, float, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        find(K_NN_CONVT_K2, key, NKEY);
    return (fn ? fn : nn_convt_k2)(X, Wp, bias, Y, act, p, q, lo, hi, m, ps, pt, NB, C, H, W, K, KB, OH, OW);
}
