// Differential driver: stdlib matmul (f32, and f16/bf16 inputs with f32 accumulation) against a
// plain C reference computed in double from the same (rounded) inputs.
#include <string.h>

#include "common.h"

void matmul__program(MEMREF2(float), MEMREF2(float), MEMREF2(float), int64_t M, int64_t K, int64_t N,
                     int64_t p0, int64_t p1, int64_t p2, int64_t n0, int64_t n1, int64_t n2);
void matmul_f16__program(MEMREF2(uint16_t), MEMREF2(uint16_t), MEMREF2(float), int64_t M, int64_t K,
                         int64_t N, int64_t p0, int64_t p1, int64_t p2, int64_t n0, int64_t n1, int64_t n2);
void matmul_bf16__program(MEMREF2(uint16_t), MEMREF2(uint16_t), MEMREF2(float), int64_t M, int64_t K,
                          int64_t N, int64_t p0, int64_t p1, int64_t p2, int64_t n0, int64_t n1, int64_t n2);

static uint16_t to_f16(float f, float *rounded) {
    _Float16 h = (_Float16)f;
    *rounded = (float)h;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static uint16_t to_bf16(float f, float *rounded) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);  // round to nearest even
    u &= 0xffff0000u;
    memcpy(rounded, &u, 4);
    return (uint16_t)(u >> 16);
}

static int run(int kind, int64_t m, int64_t k, int64_t n, int64_t bm, int64_t bn) {
    float *a = alloc_guarded(m * k), *b = alloc_guarded(k * n), *c = alloc_guarded(m * n);
    uint16_t *ah = malloc(2 * (size_t)(m * k)), *bh = malloc(2 * (size_t)(k * n));
    for (int64_t i = 0; i < m * k && kind; i++)
        ah[i] = (kind == 1 ? to_f16 : to_bf16)(a[i], &a[i]);
    for (int64_t i = 0; i < k * n && kind; i++)
        bh[i] = (kind == 1 ? to_f16 : to_bf16)(b[i], &b[i]);
    int64_t g0 = (m + bm - 1) / bm, g1 = (n + bn - 1) / bn;
    for (int64_t p = 0; p < g0; p++)
        for (int64_t q = 0; q < g1; q++) {
            if (kind == 0)
                matmul__program(M2(a, m, k), M2(b, k, n), M2(c, m, n), m, k, n, p, q, 0, g0, g1, 1);
            else
                (kind == 1 ? matmul_f16__program : matmul_bf16__program)(
                    M2(ah, m, k), M2(bh, k, n), M2(c, m, n), m, k, n, p, q, 0, g0, g1, 1);
        }
    double *want = malloc(sizeof(double) * (size_t)(m * n));
    ref_matmul(a, b, want, m, k, n);
    const char *what = kind == 0 ? "matmul" : kind == 1 ? "matmul_f16" : "matmul_bf16";
    int fails = check_close(c, want, m * n, 1e-5, what) + check_guard(c, m * n, what);
    free(a), free(b), free(c), free(ah), free(bh), free(want);
    return fails;
}

int main(void) {
    const int64_t sizes[] = {1, 7, 17, 65, 130};
    int fails = 0;
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++) {
            fails += run(0, sizes[i], sizes[j], sizes[(i + j) % 5], 256, 256);
            fails += run(1, sizes[i], sizes[j], sizes[(i + 2 * j) % 5], 128, 128);
            fails += run(2, sizes[j], sizes[i], sizes[(i + 3 * j) % 5], 128, 128);
        }
    printf("matmul: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
