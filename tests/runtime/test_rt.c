// tests/runtime/test_rt.c — the thread pool of runtime/tilec_rt.c: every index runs exactly once,
// for grids of every size from 0 to 300, with four threads calling at once (a busy pool makes a
// caller run its grid itself), under the thread count TILE_NUM_THREADS gives.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "tilec_rt.h"

typedef struct Counts {
    atomic_int hits[300];
} Counts;

static void task(void *ctx, int64_t i) { atomic_fetch_add(&((Counts *)ctx)->hits[i], 1); }

static atomic_int failures;

static void *caller(void *arg) {
    (void)arg;
    for (int round = 0; round < 300; round++) {
        for (int64_t n = 0; n <= 300; n += 37) {
            Counts *c = calloc(1, sizeof(Counts));
            tilec_rt_parallel_for(n, task, c);
            for (int64_t i = 0; i < 300; i++)
                if (atomic_load(&c->hits[i]) != (i < n)) {
                    printf("FAIL: n=%lld index %lld ran %d times\n", (long long)n, (long long)i,
                           atomic_load(&c->hits[i]));
                    atomic_fetch_add(&failures, 1);
                }
            free(c);
        }
    }
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, caller, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *env = getenv("TILE_NUM_THREADS");
    if (env && atoi(env) != tilec_rt_num_threads()) {
        printf("FAIL: TILE_NUM_THREADS=%s but the pool has %d threads\n", env, tilec_rt_num_threads());
        failures++;
    }
    printf("tilec_rt: %d threads, %s\n", tilec_rt_num_threads(),
           failures ? "FAILED" : "every index ran once");
    return failures != 0;
}
