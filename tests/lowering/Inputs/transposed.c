// tests/lowering/Inputs/transposed.c — the driver of transposed-operands.test: its kernels on
// tensors stored contiguous, transposed, as a sub-matrix (row stride > its width) and with both
// strides 2 (a general layout), against plain C, at edge sizes.
#include <string.h>

#include "common.h"
#include "transposed.h"

static const int64_t sizes[] = {1, 15, 16, 17, 100, 257};
enum { NS = sizeof sizes / sizeof sizes[0] };
static int total;  // failed matmul runs

// The layouts of an R x C operand: strides (sr, sc) and the elements the storage needs.
enum { CONTIG, TRANS, SUB, GENERAL, NLAYOUTS };
static const char *const names[] = {"contiguous", "transposed", "sub-matrix", "general"};
static void layout(int l, int64_t r, int64_t c, int64_t *sr, int64_t *sc, int64_t *n) {
    switch (l) {
    case CONTIG: *sr = c, *sc = 1, *n = r * c; break;
    case TRANS: *sr = 1, *sc = r, *n = r * c; break;
    case SUB: *sr = c + 3, *sc = 1, *n = r * (c + 3); break;
    default: *sr = 2 * c + 1, *sc = 2, *n = r * (2 * c + 1); break;
    }
}

typedef int (*Matmul)(const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t,
                      int64_t, int64_t);

// A (M x K) and B (K x N) in layouts la, lb; C = A @ B against a double reference.
static int run_mm(Matmul f, const char *name, int la, int lb, int64_t m, int64_t k, int64_t n) {
    int64_t sam, sak, na, sbk, sbn, nb;
    layout(la, m, k, &sam, &sak, &na);
    layout(lb, k, n, &sbk, &sbn, &nb);
    float *a = alloc_guarded(na), *b = alloc_guarded(nb), *c = alloc_guarded(m * n);
    double *want = calloc((size_t)(m * n), sizeof(double));
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++) {
            double x = a[i * sam + p * sak];
            for (int64_t j = 0; j < n; j++)
                want[i * n + j] += x * b[p * sbk + j * sbn];
        }
    int fails = 0;
    if (f(a, b, c, m, k, n, sam, sak, sbk, sbn)) {
        printf("FAIL %s: status\n", name);
        fails++;
    }
    char what[96];
    snprintf(what, sizeof what, "%s A %s B %s %lldx%lldx%lld", name, names[la], names[lb], (long long)m,
             (long long)k, (long long)n);
    fails += check_close(c, want, m * n, 1e-4, what) + check_guard(c, m * n, what);  // f32 sums of up to 257
    free(a), free(b), free(c), free(want);
    return fails;
}

static uint16_t bf16_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

// The copy kernels: Y = X * 2 (f64), Y = X (bf16: bits compared), Y[p] = X[p] + 1 (3-D f32).
static int run_copies(int l, int64_t r, int64_t c) {
    int64_t sr, sc, nx, fails = 0;
    layout(l, r, c, &sr, &sc, &nx);
    double *x = malloc(sizeof(double) * (size_t)nx), *y = malloc(sizeof(double) * (size_t)(r * c + 1));
    uint16_t *xh = malloc(2 * (size_t)nx), *yh = malloc(2 * (size_t)(r * c + 1));
    for (int64_t i = 0; i < nx; i++)
        x[i] = frand(), xh[i] = bf16_of(frand());
    y[r * c] = 7.0, yh[r * c] = 0x1234;
    if (copy64(x, y, r, c, sr, sc) || copy16(xh, yh, r, c, sr, sc))
        fails++;
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++) {
            fails += y[i * c + j] != 2.0 * x[i * sr + j * sc];
            fails += yh[i * c + j] != xh[i * sr + j * sc];
        }
    fails += y[r * c] != 7.0 || yh[r * c] != 0x1234;
    int64_t np = 3;
    float *x3 = alloc_guarded(np * nx), *y3 = alloc_guarded(np * r * c);
    if (copy3(x3, y3, np, r, c, nx, sr, sc))
        fails++;
    for (int64_t p = 0; p < np; p++)
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++)
                fails += y3[(p * r + i) * c + j] != x3[p * nx + i * sr + j * sc] + 1.0f;
    fails += check_guard(y3, np * r * c, "copy3");
    if (fails)
        printf("FAIL copies %s %lldx%lld: %lld wrong\n", names[l], (long long)r, (long long)c,
               (long long)fails);
    free(x), free(y), free(xh), free(yh), free(x3), free(y3);
    return fails != 0;
}

int main(void) {
    static const struct {
        Matmul f;
        const char *name;
    } mms[] = {{mm, "mm"}, {mm8, "mm8"}};
    for (int v = 0; v < 2; v++) {
        int fails = 0, runs = 0;
        for (int la = CONTIG; la <= TRANS; la++)
            for (int lb = 0; lb < NLAYOUTS; lb++)
                for (int i = 0; i < NS; i++)
                    for (int j = 0; j < NS; j++)
                        for (int q = 0; q < NS; q++, runs++)
                            fails += run_mm(mms[v].f, mms[v].name, la, lb, sizes[i], sizes[j], sizes[q]) != 0;
        printf("%s: %d runs, %d failed\n", mms[v].name, runs, fails);
        total += fails;
    }
    int cf = 0;
    for (int l = 0; l < NLAYOUTS; l++)
        for (int i = 0; i < NS; i++)
            for (int j = 0; j < NS; j++)
                cf += run_copies(l, sizes[i], sizes[j]);
    printf("copies: %d runs, %d failed\n", NLAYOUTS * NS * NS, cf);
    return total + cf != 0;
}
