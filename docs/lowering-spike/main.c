#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
int vector_add(const float *X, const float *Y, float *Z, int64_t N);
int main(void) {
    for (int64_t n = 0; n < 40; n++) {
        float *x = malloc(4 * (n + 1)), *y = malloc(4 * (n + 1)), *z = malloc(4 * (n + 2));
        for (int i = 0; i < n; i++) {
            x[i] = i;
            y[i] = 2 * i + 0.5f;
        }
        z[n] = -7;
        int rc = vector_add(x, y, z, n);
        for (int i = 0; i < n; i++)
            if (z[i] != x[i] + y[i]) {
                printf("bad n=%ld i=%d\n", (long)n, i);
                return 1;
            }
        if (z[n] != -7) {
            printf("overwrite past end n=%ld\n", (long)n);
            return 1;
        }
        if (rc)
            return 2;
        free(x);
        free(y);
        free(z);
    }
    printf("rc(-1) = %d\nok\n", vector_add(0, 0, 0, -1));
    return 0;
}
