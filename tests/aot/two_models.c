// tests/aot/two_models.c — two models compiled ahead of time (tiny.o and other.o, each with the
// whole runner inside, only tiny_* and other_* global) linked into one program, both run.
// Usage: two_models X.npy-free: the inputs are fixed here; expected values computed in C.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "other.h"
#include "tiny.h"

int main(void) {
    const TilecAotInfo *a = tiny_info(), *b = other_info();
    if (!a || !b || a->ninputs != 2 || a->noutputs != 2 || b->ninputs != 1 || b->noutputs != 1 ||
        strcmp(a->inputs[0].name, "x") != 0 || a->outputs[1].dtype != 7 || b->outputs[0].dims[1] != 4) {
        printf("unexpected model descriptions\n");
        return 1;
    }
    static float x[2 * 3 * 8 * 8], s[1] = {1.0f}, y[2 * 5];
    static int64_t z[2];
    for (int i = 0; i < 2 * 3 * 8 * 8; i++)
        x[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    const void *ta_in[] = {x, s};
    void *ta_out[] = {y, z};
    int st = tiny_run(ta_in, ta_out);
    // Softmax rows sum to s = 1, plus 5 * 0.25; z is each row's argmax.
    for (int r = 0; r < 2 && !st; r++) {
        double sum = 0;
        int arg = 0;
        for (int k = 0; k < 5; k++) {
            sum += y[r * 5 + k];
            if (y[r * 5 + k] > y[r * 5 + arg])
                arg = k;
        }
        if (fabs(sum - 2.25) > 1e-5 || z[r] != arg) {
            printf("tiny: row %d sums to %g (want 2.25), argmax %lld (want %d)\n", r, sum, (long long)z[r],
                   arg);
            return 1;
        }
    }
    float bx[8] = {-1, 0, 1, 2, -3, 4, 0.5f, -0.5f}, by[8];
    const void *tb_in[] = {bx};
    void *tb_out[] = {by};
    if (st || (st = other_run(tb_in, tb_out)) != 0) {
        printf("a run failed: %d\n", st);
        return 1;
    }
    for (int i = 0; i < 8; i++)
        if (by[i] != (bx[i] > 0 ? bx[i] : 0) * 2 + 1) {
            printf("other: y[%d] = %g\n", i, by[i]);
            return 1;
        }
    const void *null_in[] = {NULL, s};
    if (tiny_run(NULL, ta_out) != TILEC_ERR_INPUT || tiny_run(null_in, ta_out) != TILEC_ERR_INPUT) {
        printf("NULL inputs were not refused with TILEC_ERR_INPUT\n");
        return 1;
    }
    printf("two models in one program: both correct\n");
    return 0;
}
