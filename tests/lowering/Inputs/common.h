// tests/lowering/Inputs/common.h — what the differential drivers share: a memref descriptor in
// the form MLIR's LLVM lowering passes it (allocated and aligned pointers, offset, sizes,
// strides, flattened into arguments), random data, and a relative-error check.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define M1(p, n) (p), (p), (int64_t)0, (int64_t)(n), (int64_t)1
#define M2(p, r, c) (p), (p), (int64_t)0, (int64_t)(r), (int64_t)(c), (int64_t)(c), (int64_t)1
#define MEMREF1(T) T *, T *, int64_t, int64_t, int64_t
#define MEMREF2(T) T *, T *, int64_t, int64_t, int64_t, int64_t, int64_t

static uint64_t rng = 88172645463325252ull;
static float frand(void) {  // uniform in [-1, 1)
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

// Padded allocation: a guard value after the end catches writes past it.
static float *alloc_guarded(int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n + 16));
    for (int64_t i = 0; i < n + 16; i++)
        p[i] = i < n ? frand() : 12345.0f;
    return p;
}

static int check_guard(const float *p, int64_t n, const char *what) {
    for (int64_t i = n; i < n + 16; i++)
        if (p[i] != 12345.0f) {
            printf("FAIL %s: write past the end at %lld\n", what, (long long)i);
            return 1;
        }
    return 0;
}

static int check_close(const float *got, const double *want, int64_t n, double tol, const char *what) {
    for (int64_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]) / (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0);
        if (!(err <= tol)) {
            printf("FAIL %s: element %lld is %.9g, expected %.9g\n", what, (long long)i, got[i], want[i]);
            return 1;
        }
    }
    return 0;
}

// ---------------------------------------------------------------- references (in double)

static void ref_softmax(const float *x, double *want, int64_t r, int64_t c) {
    for (int64_t i = 0; i < r; i++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < c; j++)
            m = fmax(m, x[i * c + j]);
        for (int64_t j = 0; j < c; j++)
            s += exp(x[i * c + j] - m);
        for (int64_t j = 0; j < c; j++)
            want[i * c + j] = exp(x[i * c + j] - m) / s;
    }
}

static void ref_layernorm(const float *x, const float *w, const float *b, float eps, double *want, int64_t r,
                          int64_t c) {
    for (int64_t i = 0; i < r; i++) {
        double mean = 0, var = 0;
        for (int64_t j = 0; j < c; j++)
            mean += x[i * c + j];
        mean /= (double)c;
        for (int64_t j = 0; j < c; j++)
            var += (x[i * c + j] - mean) * (x[i * c + j] - mean);
        var /= (double)c;
        for (int64_t j = 0; j < c; j++)
            want[i * c + j] = (x[i * c + j] - mean) / sqrt(var + eps) * w[j] + b[j];
    }
}

static void ref_matmul(const float *a, const float *b, double *want, int64_t m, int64_t k, int64_t n) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++)
                s += (double)a[i * k + l] * b[l * n + j];
            want[i * n + j] = s;
        }
}
