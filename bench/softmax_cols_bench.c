// bench/softmax_cols_bench.c — stdlib softmax on narrow and wide rows, on the calling thread
// (TILE_NUM_THREADS=1 runs the grid there), to compare the version an untuned object picks per
// call: R rows of C columns, R chosen so that X holds about 4 Mi floats. Prints, per C, the
// minimum over N calls of the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, robust to other load
// on the machine) in ns per row and per element.
//   build/bin/tilec stdlib/softmax.tile -o OUT/softmax.o
//   cc -O2 -IOUT bench/softmax_cols_bench.c OUT/softmax.o build/lib/libtilec_rt.a -lpthread -lm -o OUT/b
//   TILE_NUM_THREADS=1 OUT/b [N] [C ...]
// Figures (issue 24 item 5; load 5-10 from other builds on 2 cores): 10 columns 812-885 ns/row
// when the object ran the first accepting version (BC = 1024), 245-272 with the best fit
// (BC = 256); 100 columns 809-929 against 235-257; 1000 columns the same version both ways.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "softmax.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    long long cols[16] = {10, 100, 1000};
    int nc = 3;
    if (argc > 2)
        nc = 0;
    for (int i = 2; i < argc && nc < 16; i++)
        cols[nc++] = atoll(argv[i]);
    for (int i = 0; i < nc; i++) {
        int64_t c = cols[i], r = (4 << 20) / c;
        float *x = malloc(sizeof(float) * (size_t)(r * c)), *y = malloc(sizeof(float) * (size_t)(r * c));
        srand(7);
        for (int64_t k = 0; k < r * c; k++)
            x[k] = (float)rand() / (float)RAND_MAX * 8 - 4;
        double best = 1e30;
        int st = softmax(x, y, r, c);  // warm-up
        for (int k = 0; k < reps && st == 0; k++) {
            double t0 = cpu_now();
            st = softmax(x, y, r, c);
            double t = cpu_now() - t0;
            best = t < best ? t : best;
        }
        if (st)
            printf("C=%lld\tR=%lld\tstatus %d\n", (long long)c, (long long)r, st);
        else
            printf("C=%lld\tR=%lld\t%.1f ns/row\t%.3f ns/element\n", (long long)c, (long long)r,
                   best / (double)r * 1e9, best / (double)(r * c) * 1e9);
        free(x);
        free(y);
    }
    return 0;
}
