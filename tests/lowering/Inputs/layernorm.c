// Differential driver: stdlib layernorm against a plain C reference.
#include "common.h"

void layernorm__program(MEMREF2(float), MEMREF1(float), MEMREF1(float), MEMREF2(float), float eps, int64_t R,
                        int64_t C, int64_t p0, int64_t p1, int64_t p2, int64_t n0, int64_t n1, int64_t n2);

int main(void) {
    const int64_t cols[] = {1, 7, 17, 127, 1000};
    int fails = 0;
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        int64_t r = 5, c = cols[k];
        float *x = alloc_guarded(r * c), *w = alloc_guarded(c), *b = alloc_guarded(c),
              *y = alloc_guarded(r * c);
        float eps = 1e-5f;
        for (int64_t p = 0; p < r; p++)
            layernorm__program(M2(x, r, c), M1(w, c), M1(b, c), M2(y, r, c), eps, r, c, p, 0, 0, r, 1, 1);
        double *want = malloc(sizeof(double) * (size_t)(r * c));
        ref_layernorm(x, w, b, eps, want, r, c);
        fails += check_close(y, want, r * c, 1e-4, "layernorm") + check_guard(y, r * c, "layernorm");
        free(x), free(w), free(b), free(y), free(want);
    }
    printf("layernorm: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
