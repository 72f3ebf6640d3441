// A tuned stdlib matmul object against a plain C product, at tuned and untuned sizes.
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "mm.h"

int main(void) {
    const int64_t shapes[][3] = {{1, 17, 300}, {48, 48, 48}, {192, 192, 192}, {1000, 3, 5}, {333, 129, 65}};
    int bad = 0;
    for (int s = 0; s < 5; s++) {
        int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        float *a = malloc(sizeof(float) * (size_t)(M * K)), *b = malloc(sizeof(float) * (size_t)(K * N));
        float *c = malloc(sizeof(float) * (size_t)(M * N));
        for (int64_t i = 0; i < M * K; i++)
            a[i] = (float)((i * 7) % 11) / 5 - 1;
        for (int64_t i = 0; i < K * N; i++)
            b[i] = (float)((i * 5) % 13) / 6 - 1;
        int st = matmul(a, b, c, M, K, N);
        double err = 0;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double r = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                    r += (double)a[i * K + k] * b[k * N + j];
                    mag += fabs((double)a[i * K + k] * b[k * N + j]);
                }
                err = fmax(err, fabs(r - c[i * N + j]) / (mag + 1e-30));
            }
        bool ok = st == 0 && err < 1e-5;
        bad += !ok;
        printf("M=%lld K=%lld N=%lld: %s (status %d, variant %d, rel err %.2g)\n", (long long)M, (long long)K,
               (long long)N, ok ? "match" : "MISMATCH", st, matmul__variant(M, K, N), err);
        free(a);
        free(b);
        free(c);
    }
    return bad != 0;
}
