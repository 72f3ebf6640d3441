// Differential driver: stdlib softmax and softmax_online against a plain C reference.
#include "common.h"

void softmax__program(MEMREF2(float), MEMREF2(float), int64_t R, int64_t C, int64_t p0, int64_t p1,
                      int64_t p2, int64_t n0, int64_t n1, int64_t n2);
void softmax_online__program(MEMREF2(float), MEMREF2(float), int64_t R, int64_t C, int64_t p0, int64_t p1,
                             int64_t p2, int64_t n0, int64_t n1, int64_t n2);

static int run(int online, int64_t r, int64_t c) {
    float *x = alloc_guarded(r * c), *y = alloc_guarded(r * c);
    for (int64_t i = 0; i < r * c; i++)
        x[i] *= 8.0f;
    for (int64_t p = 0; p < r; p++)
        (online ? softmax_online__program : softmax__program)(M2(x, r, c), M2(y, r, c), r, c, p, 0, 0, r, 1,
                                                              1);
    double *want = malloc(sizeof(double) * (size_t)(r * c));
    ref_softmax(x, want, r, c);
    const char *what = online ? "softmax_online" : "softmax";
    int fails = check_close(y, want, r * c, 1e-5, what) + check_guard(y, r * c, what);
    free(x), free(y), free(want);
    return fails;
}

int main(void) {
    const int64_t cols[] = {1, 7, 17, 127, 1000, 1024};
    int fails = 0;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        fails += run(0, 1, cols[i]) + run(0, 7, cols[i]);
        fails += run(1, 3, cols[i]);
    }
    fails += run(1, 2, 3000);  // several blocks of the online loop
    printf("softmax: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
