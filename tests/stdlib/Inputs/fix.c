// tests/stdlib/Inputs/fix.c — kernels compiled with --fix (sizes and integer scalars as
// constants) against the same kernels compiled generic and against plain C, on random data at
// the sizes fixed: matmul (M x K x N), softmax (R x C) and activation (N, act). fix.test builds
// one driver per shape (-DM_=.. -DK_=.. -DN_=.. -DR_=.. -DC_=.. -DNA_=.. -DACT_=..), the fixed
// objects' entries renamed fx_matmul, fx_softmax, fx_activation. Every kernel, fixed or generic,
// must give bitwise the same output (same configuration, same arithmetic), match C within
// tolerance, write nothing past the end, and the fixed one must return TILEC_ERR_CONSTRAINT (3)
// for a call with other sizes, writing nothing.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int matmul(const float *A, const float *B, float *C, int64_t M, int64_t K, int64_t N);
int fx_matmul(const float *A, const float *B, float *C, int64_t M, int64_t K, int64_t N);
int softmax(const float *X, float *Y, int64_t R, int64_t C);
int fx_softmax(const float *X, float *Y, int64_t R, int64_t C);
int activation(const float *X, float *Y, int32_t act, int64_t N);
int fx_activation(const float *X, float *Y, int32_t act, int64_t N);

#define GUARD 4
static float *buf(size_t n) {  // n floats and GUARD guard values after them
    float *p = malloc((n + GUARD) * sizeof(float));
    for (size_t i = 0; i < n + GUARD; i++)
        p[i] = -12345.0f;
    return p;
}
static int guards_ok(const float *p, size_t n) {
    for (size_t i = n; i < n + GUARD; i++)
        if (p[i] != -12345.0f)
            return 0;
    return 1;
}
static void fill(float *p, size_t n, unsigned *seed) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) % 2001) / 250.0f - 4.0f;
    }
}

static void check_matmul(int64_t M, int64_t K, int64_t N) {
    unsigned seed = 7;
    size_t mk = (size_t)(M * K), kn = (size_t)(K * N), mn = (size_t)(M * N);
    float *A = buf(mk), *B = buf(kn), *C1 = buf(mn), *C2 = buf(mn);
    fill(A, mk, &seed), fill(B, kn, &seed);
    CALL(matmul(A, B, C1, M, K, N));
    CALL(fx_matmul(A, B, C2, M, K, N));
    EXPECT(memcmp(C1, C2, mn * sizeof(float)) == 0, "matmul %lldx%lldx%lld: fixed differs from generic",
           (long long)M, (long long)K, (long long)N);
    double worst = 0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)A[i * K + k] * B[k * N + j], mag += fabs((double)A[i * K + k] * B[k * N + j]);
            double err = fabs(C2[i * N + j] - s) / (mag + 1e-30);
            worst = err > worst ? err : worst;
        }
    EXPECT(worst < 1e-5, "matmul %lldx%lldx%lld: relative error %g", (long long)M, (long long)K, (long long)N,
           worst);
    EXPECT(guards_ok(C2, mn), "matmul: fixed kernel wrote past the end");
    // Other sizes are refused, and nothing is written.
    if (M > 1) {
        memset(C2, 0, mn * sizeof(float));
        int st = fx_matmul(A, B, C2, M - 1, K, N);
        EXPECT(st == 3, "matmul M-1: status %d, expected 3", st);
        for (size_t i = 0; i < mn; i++)
            EXPECT(C2[i] == 0, "matmul M-1 wrote C[%zu]", i);
    }
    EXPECT(fx_matmul(A, B, C2, M, K + 1, N) == 3, "matmul K+1 not refused");
    EXPECT(fx_matmul(A, B, C2, M, K, -1) == 1, "matmul N=-1: a negative size is TILEC_ERR_SIZE first");
    free(A), free(B), free(C1), free(C2);
}

static void check_softmax(int64_t R, int64_t C) {
    unsigned seed = 11;
    size_t n = (size_t)(R * C);
    float *X = buf(n), *Y1 = buf(n), *Y2 = buf(n);
    fill(X, n, &seed);
    CALL(softmax(X, Y1, R, C));
    CALL(fx_softmax(X, Y2, R, C));
    EXPECT(memcmp(Y1, Y2, n * sizeof(float)) == 0, "softmax %lldx%lld: fixed differs from generic",
           (long long)R, (long long)C);
    for (int64_t r = 0; r < R; r++) {
        double mx = -INFINITY, s = 0;
        for (int64_t c = 0; c < C; c++)
            mx = X[r * C + c] > mx ? X[r * C + c] : mx;
        for (int64_t c = 0; c < C; c++)
            s += exp(X[r * C + c] - mx);
        for (int64_t c = 0; c < C; c++) {
            double want = exp(X[r * C + c] - mx) / s;
            EXPECT(fabs(Y2[r * C + c] - want) <= 1e-5 * want + 1e-7, "softmax[%lld,%lld] = %g, want %g",
                   (long long)r, (long long)c, Y2[r * C + c], want);
        }
    }
    EXPECT(guards_ok(Y2, n), "softmax: fixed kernel wrote past the end");
    EXPECT(fx_softmax(X, Y2, R, C + 1) == 3, "softmax C+1 not refused");
    free(X), free(Y1), free(Y2);
}

static void check_activation(int64_t N, int32_t act) {
    unsigned seed = 13;
    float *X = buf((size_t)N), *Y1 = buf((size_t)N), *Y2 = buf((size_t)N);
    fill(X, (size_t)N, &seed);
    CALL(activation(X, Y1, act, N));
    CALL(fx_activation(X, Y2, act, N));
    EXPECT(memcmp(Y1, Y2, (size_t)N * sizeof(float)) == 0,
           "activation %lld act %d: fixed differs from generic", (long long)N, act);
    EXPECT(guards_ok(Y2, (size_t)N), "activation: fixed kernel wrote past the end");
    EXPECT(fx_activation(X, Y2, act + 1, N) == 3, "activation: another act not refused");
    free(X), free(Y1), free(Y2);
}

int main(void) {
    check_matmul(M_, K_, N_);
    check_softmax(R_, C_);
    check_activation(NA_, ACT_);
    if (fails)
        return 1;
    printf("fix: matmul %dx%dx%d, softmax %dx%d, activation %d act %d: fixed = generic\n", M_, K_, N_, R_, C_,
           NA_, ACT_);
    return 0;
}
