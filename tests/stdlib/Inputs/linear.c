// Differential driver: stdlib/linear.tile (and activations.tile's kernels) against plain C at
// edge sizes: matrices of 1, 7, 17, 127 and 300 rows/columns (not multiples of any tile), every
// activation, with and without bias, the residual epilogue, f16/bf16 inputs, and batched
// products with batch broadcasting on either side; plus the constraint statuses.
#include "activations.h"
#include "harness.h"
#include "linear.h"

static void ref_linear(const float *a, const float *b, const float *bias, const float *r, double alpha,
                       double beta, int act, int64_t m, int64_t k, int64_t n, double *want) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++)
                s += (double)a[i * k + l] * b[l * n + j];
            s = ref_act(alpha * s + (bias ? bias[j] : 0), act);
            want[i * n + j] = s + (r ? beta * r[i * n + j] : 0);
        }
}

static void run_linear(int64_t m, int64_t k, int64_t n, int act, int with_bias) {
    float *a = rand_buf(m * k, 1), *b = rand_buf(k * n, 1), *bias = with_bias ? rand_buf(n, 1) : NULL;
    float *r = rand_buf(m * n, 1), *c = alloc_guarded(m * n);
    double *want = want_buf(m * n);
    char what[120];
    snprintf(what, sizeof what, "linear M=%lld K=%lld N=%lld act=%d bias=%d", (long long)m, (long long)k,
             (long long)n, act, with_bias);
    ref_linear(a, b, bias, NULL, 1, 0, act, m, k, n, want);
    CALL(linear(a, b, bias, c, act, m, k, n, with_bias ? n : 0));
    fails += check_close(c, want, m * n, 1e-4, what) + check_guard(c, m * n, what);

    ref_linear(a, b, bias, r, 0.5, -2.0, act, m, k, n, want);
    CALL(linear_residual(a, b, bias, r, c, 0.5f, -2.0f, act, m, k, n, with_bias ? n : 0));
    fails += check_close(c, want, m * n, 1e-4, "linear_residual") + check_guard(c, m * n, "linear_residual");

    // 16-bit inputs: the reference multiplies the same rounded values.
    uint16_t *a16 = malloc(2 * (size_t)(m * k) + 2), *b16 = malloc(2 * (size_t)(k * n) + 2);
    float *ar = malloc(4 * (size_t)(m * k) + 4), *br = malloc(4 * (size_t)(k * n) + 4);
    for (int bf = 0; bf < 2; bf++) {
        for (int64_t i = 0; i < m * k; i++)
            a16[i] = bf ? to_bf16(a[i]) : to_f16(a[i]), ar[i] = bf ? from_bf16(a16[i]) : from_f16(a16[i]);
        for (int64_t i = 0; i < k * n; i++)
            b16[i] = bf ? to_bf16(b[i]) : to_f16(b[i]), br[i] = bf ? from_bf16(b16[i]) : from_f16(b16[i]);
        ref_linear(ar, br, bias, NULL, 1, 0, act, m, k, n, want);
        if (bf)
            CALL(linear_bf16(a16, b16, bias, c, act, m, k, n, with_bias ? n : 0));
        else
            CALL(linear_f16(a16, b16, bias, c, act, m, k, n, with_bias ? n : 0));
        fails += check_close(c, want, m * n, 1e-4, bf ? "linear_bf16" : "linear_f16") +
                 check_guard(c, m * n, "linear16");
    }
    free(a16), free(b16), free(ar), free(br);
    free(a), free(b), free(bias), free(r), free(c), free(want);
}

static void run_bmm(int64_t ba, int64_t bb, int64_t bt, int64_t m, int64_t k, int64_t n) {
    float *a = rand_buf(ba * m * k, 1), *b = rand_buf(bb * k * n, 1), *c = alloc_guarded(bt * m * n);
    double *want = want_buf(bt * m * n);
    for (int64_t x = 0; x < bt; x++)
        ref_linear(a + (x % ba) * m * k, b + (x % bb) * k * n, NULL, NULL, 1, 0, 0, m, k, n,
                   want + x * m * n);
    char what[120];
    snprintf(what, sizeof what, "bmm %lldx%lld -> %lld, M=%lld K=%lld N=%lld", (long long)ba, (long long)bb,
             (long long)bt, (long long)m, (long long)k, (long long)n);
    CALL(bmm(a, b, c, ba, m, k, bb, n, bt));
    fails += check_close(c, want, bt * m * n, 1e-4, what) + check_guard(c, bt * m * n, what);
    uint16_t *a16 = malloc(2 * (size_t)(ba * m * k)), *b16 = malloc(2 * (size_t)(bb * k * n));
    float *ar = malloc(4 * (size_t)(ba * m * k)), *br = malloc(4 * (size_t)(bb * k * n));
    for (int bf = 0; bf < 2; bf++) {  // the same data rounded to bf16, then f16
        uint16_t (*to)(float) = bf ? to_f16 : to_bf16;
        float (*from)(uint16_t) = bf ? from_f16 : from_bf16;
        for (int64_t i = 0; i < ba * m * k; i++)
            a16[i] = to(a[i]), ar[i] = from(a16[i]);
        for (int64_t i = 0; i < bb * k * n; i++)
            b16[i] = to(b[i]), br[i] = from(b16[i]);
        for (int64_t x = 0; x < bt; x++)
            ref_linear(ar + (x % ba) * m * k, br + (x % bb) * k * n, NULL, NULL, 1, 0, 0, m, k, n,
                       want + x * m * n);
        const char *name = bf ? "bmm_f16" : "bmm_bf16";
        CALL(bf ? bmm_f16(a16, b16, c, ba, m, k, bb, n, bt) : bmm_bf16(a16, b16, c, ba, m, k, bb, n, bt));
        fails += check_close(c, want, bt * m * n, 1e-4, name) + check_guard(c, bt * m * n, name);
    }
    free(a16), free(b16), free(ar), free(br), free(a), free(b), free(c), free(want);
}

static void run_activations(int64_t n) {
    float *x = rand_buf(n, 6), *y = alloc_guarded(n);
    double *want = want_buf(n);
    for (int act = 0; act <= 6; act++) {
        for (int64_t i = 0; i < n; i++)
            want[i] = ref_act(x[i], act);
        CALL(activation(x, y, act, n));
        char what[64];
        snprintf(what, sizeof what, "activation %d N=%lld", act, (long long)n);
        fails += check_close(y, want, n, 2e-6, what) + check_guard(y, n, what);
    }
    for (int64_t i = 0; i < n; i++)
        want[i] = fmin(fmax(x[i], -0.5), 2.0);
    CALL(clip(x, y, -0.5f, 2.0f, n));
    fails += check_close(y, want, n, 0, "clip") + check_guard(y, n, "clip");
    for (int64_t i = 0; i < n; i++)
        want[i] = fmin(fmax(0.2f * x[i] + 0.5f, 0.0), 1.0);
    CALL(hardsigmoid(x, y, 0.2f, 0.5f, n));
    fails += check_close(y, want, n, 1e-6, "hardsigmoid") + check_guard(y, n, "hardsigmoid");
    free(x), free(y), free(want);
}

int main(void) {
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 17, 127}, {127, 7, 17}, {300, 70, 260}, {17, 300, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int act = 0; act <= 6; act++)
            run_linear(sizes[s][0], sizes[s][1], sizes[s][2], act, act != 3);
    run_bmm(3, 3, 3, 17, 7, 33);
    run_bmm(1, 4, 4, 70, 129, 5);
    run_bmm(2, 1, 2, 1, 1, 1);
    run_bmm(1, 1, 1, 140, 65, 130);
    const int64_t lens[] = {0, 1, 7, 1000, 4097, 10001};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        run_activations(lens[i]);
    float v[4] = {0};
    EXPECT(linear(v, v, v, v, 0, 1, 1, 2, 1) == 3, "linear with a bias of the wrong size must be rejected");
    EXPECT(bmm(v, v, v, 2, 1, 1, 1, 1, 3) == 3, "bmm with batches 2 and 3 must be rejected");
    EXPECT(linear(NULL, v, NULL, v, 0, 1, 1, 1, 0) == 2, "linear with a null A must return TILEC_ERR_NULL");
    printf("linear: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
