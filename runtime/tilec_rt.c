// runtime/tilec_rt.c — the thread pool behind tilec_rt_parallel_for (see tilec_rt.h).
#include "tilec_rt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 256

// One grid being run. Workers and the caller take runs of `chunk` consecutive indices from
// `next` until it passes n: one atomic per run, not per program (a grid of 46K programs of 64
// floats each took 3x longer on 2 threads than on 1 with an atomic per index), and neighbouring
// programs, which write neighbouring memory, mostly on one thread.
typedef struct Job {
    tilec_task_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_int_fast64_t next;
    atomic_int_fast64_t done;
} Job;

static struct {
    pthread_once_t once;
    int nthreads;             // including the caller
    pthread_mutex_t busy;     // held by the caller whose job the pool runs
    pthread_mutex_t lock;     // protects job and generation
    pthread_cond_t wake;      // a new job (generation changed)
    pthread_cond_t finished;  // a job's last index is done
    Job *job;
    uint64_t generation;
    int active;  // workers inside run(job): the caller waits for them to leave
} P = {.once = PTHREAD_ONCE_INIT};

static void run(Job *j) {
    for (;;) {
        int64_t i = atomic_fetch_add(&j->next, j->chunk);
        if (i >= j->n)
            return;
        int64_t end = i + j->chunk < j->n ? i + j->chunk : j->n;
        for (int64_t k = i; k < end; k++)
            j->fn(j->ctx, k);
        if (atomic_fetch_add(&j->done, end - i) + (end - i) == j->n) {
            pthread_mutex_lock(&P.lock);
            pthread_cond_broadcast(&P.finished);
            pthread_mutex_unlock(&P.lock);
        }
    }
}

static void *worker(void *arg) {
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&P.lock);
        while (P.generation == seen)
            pthread_cond_wait(&P.wake, &P.lock);
        seen = P.generation;
        Job *j = P.job;
        if (j)
            P.active++;
        pthread_mutex_unlock(&P.lock);
        if (!j)
            continue;
        run(j);
        pthread_mutex_lock(&P.lock);
        if (--P.active == 0)
            pthread_cond_broadcast(&P.finished);
        pthread_mutex_unlock(&P.lock);
    }
    return NULL;
}

static void start(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("TILE_NUM_THREADS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 1)
            n = v;
    }
    if (n < 1)
        n = 1;
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    P.nthreads = (int)n;
    pthread_mutex_init(&P.busy, NULL);
    pthread_mutex_init(&P.lock, NULL);
    pthread_cond_init(&P.wake, NULL);
    pthread_cond_init(&P.finished, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 1; i < P.nthreads; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, worker, NULL) != 0) {
            P.nthreads = i;  // run with the threads we could start
            break;
        }
    }
    pthread_attr_destroy(&attr);
}

int tilec_rt_num_threads(void) {
    pthread_once(&P.once, start);
    return P.nthreads;
}

void tilec_rt_parallel_for(int64_t n, tilec_task_fn fn, void *ctx) {
    if (n <= 0)
        return;
    pthread_once(&P.once, start);
    if (n == 1 || P.nthreads == 1 || pthread_mutex_trylock(&P.busy) != 0) {
        for (int64_t i = 0; i < n; i++)  // serial: small grid, one thread, or the pool is busy
            fn(ctx, i);
        return;
    }
    // About 16 runs per thread: few atomics, and enough runs to even out uneven programs.
    int64_t chunk = n / ((int64_t)P.nthreads * 16);
    Job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk > 1 ? chunk : 1};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    pthread_mutex_lock(&P.lock);
    P.job = &j;
    P.generation++;
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.lock);
    run(&j);
    // Wait for every index, and for every worker that picked the job up to leave it (the job
    // lives on this stack frame).
    pthread_mutex_lock(&P.lock);
    while (atomic_load(&j.done) < n || P.active > 0)
        pthread_cond_wait(&P.finished, &P.lock);
    P.job = NULL;  // workers that wake late find no job
    pthread_mutex_unlock(&P.lock);
    pthread_mutex_unlock(&P.busy);
}
