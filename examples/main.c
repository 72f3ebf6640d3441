// examples/main.c — calls the stdlib matmul and softmax compiled by tilec_add_kernel, checks
// them against plain loops, and prints what it did.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "matmul.h"
#include "softmax.h"

int main(void) {
    enum { M = 100, K = 70, N = 130, R = 5, C = 1500 };
    static float a[M * K], b[K * N], c[M * N], x[R * C], y[R * C];
    for (int i = 0; i < M * K; i++)
        a[i] = (float)(i % 13) / 13.0f - 0.5f;
    for (int i = 0; i < K * N; i++)
        b[i] = (float)(i % 7) / 7.0f - 0.5f;
    for (int i = 0; i < R * C; i++)
        x[i] = (float)((i * 37) % 101) / 10.0f;

    int rc = matmul(a, b, c, M, K, N);
    double err = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)a[i * K + k] * b[k * N + j];
            err = fmax(err, fabs(c[i * N + j] - s) / fmax(fabs(s), 1.0));
        }
    printf("matmul %dx%dx%d: status %d, max relative error %.1e\n", M, K, N, rc, err);
    if (rc != TILEC_OK || err > 1e-5)
        return 1;

    // softmax was compiled with BC = 2048, so rows of 1500 fit (its `where BC >= C`).
    rc = softmax(x, y, R, C);
    double worst = 0;
    for (int r = 0; r < R; r++) {
        double s = 0;
        for (int j = 0; j < C; j++)
            s += y[r * C + j];
        worst = fmax(worst, fabs(s - 1.0));
    }
    printf("softmax %dx%d: status %d, rows sum to 1 within %.1e\n", R, C, rc, worst);
    return rc != TILEC_OK || worst > 1e-4;
}
