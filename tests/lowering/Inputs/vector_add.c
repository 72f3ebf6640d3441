// Differential driver: stdlib vector_add against a plain C loop, at edge sizes.
#include "common.h"

void vector_add__program(MEMREF1(float), MEMREF1(float), MEMREF1(float), int64_t N, int64_t p0, int64_t p1,
                         int64_t p2, int64_t n0, int64_t n1, int64_t n2);

int main(int argc, char **argv) {
    int64_t block = argc > 1 ? atoll(argv[1]) : 1024;
    const int64_t sizes[] = {1, 7, 17, 127, 1000, 1023, 1024, 1025, 4097};
    int fails = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s], grid = (n + block - 1) / block;
        float *x = alloc_guarded(n), *y = alloc_guarded(n), *z = alloc_guarded(n);
        for (int64_t p = 0; p < grid; p++)
            vector_add__program(M1(x, n), M1(y, n), M1(z, n), n, p, 0, 0, grid, 1, 1);
        double *want = malloc(sizeof(double) * (size_t)n);
        for (int64_t i = 0; i < n; i++)
            want[i] = (double)(x[i] + y[i]);
        fails += check_close(z, want, n, 0.0, "vector_add") + check_guard(z, n, "vector_add");
        free(x), free(y), free(z), free(want);
    }
    printf("vector_add BLOCK=%lld: %s\n", (long long)block, fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
