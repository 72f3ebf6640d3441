// bench/bench.h — what the benchmark programs share: a clock and the median of runs.
// The clock is monotonic wall time, or with TILEC_BENCH_CLOCK=cpu the process's CPU time (for
// one-thread runs on a machine shared with other work: time spent waiting for the core is not
// counted; with several threads it adds theirs up, and spinning threads count).
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    static int cpu = -1;
    if (cpu < 0) {
        const char *c = getenv("TILEC_BENCH_CLOCK");
        cpu = c && strcmp(c, "cpu") == 0;
    }
    struct timespec t;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The median of n timings (sorts them).
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return t[n / 2];
}
