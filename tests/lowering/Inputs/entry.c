// End-to-end driver: the objects tilec writes for stdlib kernels, called through their generated
// headers as a user would, against plain C references at edge sizes; and the status codes.
#include "harness.h"  // tests/stdlib/Inputs: common.h, EXPECT and the failure count
#include "layernorm.h"
#include "matmul.h"
#include "softmax.h"
#include "vector_add.h"

static void test_vector_add(void) {
    const int64_t sizes[] = {0, 1, 7, 17, 127, 1000, 1023, 1025, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        float *x = alloc_guarded(n), *y = alloc_guarded(n), *z = alloc_guarded(n);
        EXPECT(vector_add(x, y, z, n) == TILEC_OK, "vector_add status, N=%lld", (long long)n);
        double *want = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t i = 0; i < n; i++)
            want[i] = (double)(x[i] + y[i]);
        fails += check_close(z, want, n, 0.0, "vector_add") + check_guard(z, n, "vector_add");
        free(x), free(y), free(z), free(want);
    }
    float v[4] = {0};
    EXPECT(vector_add(v, v, v, -1) == TILEC_ERR_SIZE, "vector_add with N = -1 must return TILEC_ERR_SIZE");
    EXPECT(vector_add(NULL, v, v, 4) == TILEC_ERR_NULL,
           "vector_add with a null X must return TILEC_ERR_NULL");
    EXPECT(vector_add(NULL, NULL, NULL, 0) == TILEC_OK, "null pointers to empty tensors are fine");
}

static void test_softmax(void) {
    const int64_t cols[] = {1, 17, 200, 1000, 1024};
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        int64_t r = 3, c = cols[k];
        float *x = alloc_guarded(r * c), *y = alloc_guarded(r * c), *y2 = alloc_guarded(r * c);
        EXPECT(softmax(x, y, r, c) == TILEC_OK, "softmax status");
        EXPECT(softmax_online(x, y2, r, c) == TILEC_OK, "softmax_online status");
        double *want = malloc(sizeof(double) * (size_t)(r * c));
        ref_softmax(x, want, r, c);
        fails += check_close(y, want, r * c, 1e-5, "softmax") + check_guard(y, r * c, "softmax");
        fails +=
            check_close(y2, want, r * c, 1e-5, "softmax_online") + check_guard(y2, r * c, "softmax_online");
        free(x), free(y), free(y2), free(want);
    }
    // softmax declares `where BC >= C`: the object holds a version per BC up to 8192, so a row of
    // 2000 runs (on BC = 2048) and matches; a row longer than every version is refused.
    int64_t c2 = 2000, c3 = 9000;
    float *big = alloc_guarded(c3), *out = alloc_guarded(c2);
    double *want2 = malloc(sizeof(double) * (size_t)c2);
    EXPECT(softmax(big, out, 1, c2) == TILEC_OK, "softmax of a row of 2000 must run on a larger version");
    ref_softmax(big, want2, 1, c2);
    fails += check_close(out, want2, c2, 1e-5, "softmax C=2000") + check_guard(out, c2, "softmax C=2000");
    EXPECT(softmax(big, big, 1, c3) == TILEC_ERR_CONSTRAINT,
           "softmax with C > every BC must return TILEC_ERR_CONSTRAINT");
    EXPECT(softmax_online(big, big, 1, c3) == TILEC_OK, "softmax_online takes any row length");
    free(out), free(want2);
    free(big);
}

static void test_layernorm(void) {
    int64_t r = 4, c = 300;
    float *x = alloc_guarded(r * c), *w = alloc_guarded(c), *b = alloc_guarded(c), *y = alloc_guarded(r * c);
    EXPECT(layernorm(x, w, b, y, 1e-5f, r, c) == TILEC_OK, "layernorm status");
    double *want = malloc(sizeof(double) * (size_t)(r * c));
    ref_layernorm(x, w, b, 1e-5f, want, r, c);
    fails += check_close(y, want, r * c, 1e-4, "layernorm") + check_guard(y, r * c, "layernorm");
    free(x), free(w), free(b), free(y), free(want);
}

static void test_matmul(void) {
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 17, 65}, {130, 7, 17}, {65, 130, 129}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
        float *a = alloc_guarded(m * k), *b = alloc_guarded(k * n), *c = alloc_guarded(m * n);
        EXPECT(matmul(a, b, c, m, k, n) == TILEC_OK, "matmul status");
        double *want = malloc(sizeof(double) * (size_t)(m * n));
        ref_matmul(a, b, want, m, k, n);
        fails += check_close(c, want, m * n, 1e-5, "matmul") + check_guard(c, m * n, "matmul");
        free(a), free(b), free(c), free(want);
    }
}

int main(void) {
    test_vector_add();
    test_softmax();
    test_layernorm();
    test_matmul();
    printf("entry: %s\n", fails ? "FAILED" : "all kernels match");
    return fails != 0;
}
