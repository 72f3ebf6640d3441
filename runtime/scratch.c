// runtime/scratch.c — the heap buffers of compiled kernels, kept per thread between programs.
//
// A program's tiles over 64 KiB (matmul's and linear's 256 x 256 accumulator, 256 KiB) live on
// the heap, allocated at the program's start and freed at its end (lowering/passes.c). With
// glibc's malloc such a block is above the mmap threshold, or at the top of the heap where free
// trims it: every program got fresh pages, faulted in and zeroed by the kernel. linear 512^3 on
// one thread ran at 50 GFLOP/s (200 with the same code and the buffer kept), 100 x 64 x 1000 at
// 3 (135): 40 % of the time in page faults. The lowering calls MLIR's generic allocation
// functions instead of malloc and free (finalize-memref-to-llvm{use-generic-functions}); they
// are defined here, and keep up to SLOTS freed blocks of at least MIN_CACHED bytes per thread
// for the thread's next programs (linear's program allocates 8 such buffers: its activation's
// branches each have their own, hoisted out of the branches; with 4 kept, 100 x 64 x 1000 still
// ran at 20-33 GFLOP/s). A block is taken again for a request of at most its size and
// at least half of it. What a thread keeps is freed when the thread exits; a process holds at
// most SLOTS blocks per thread that ran kernels (the largest scratch of its kernels).
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tilec_rt.h"

enum { SLOTS = 16, MIN_CACHED = 64 * 1024, HEADER = 16 };

typedef struct Cache {
    void *block[SLOTS];  // malloc's pointers (the header first), or NULL
    size_t size[SLOTS];  // their usable sizes
} Cache;

static _Thread_local Cache cache;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void release(void *arg) {
    Cache *c = arg;
    for (int i = 0; i < SLOTS; i++) {
        free(c->block[i]);
        c->block[i] = NULL;
    }
}

static void make_key(void) { (void)pthread_key_create(&exit_key, release); }

// malloc(size) with the size in a header before the block (HEADER keeps malloc's alignment).
void *_mlir_memref_to_llvm_alloc(size_t size) {
    if (size >= MIN_CACHED) {
        int best = -1;
        for (int i = 0; i < SLOTS; i++)
            if (cache.block[i] && cache.size[i] >= size && cache.size[i] / 2 <= size &&
                (best < 0 || cache.size[i] < cache.size[best]))
                best = i;
        if (best >= 0) {
            char *b = cache.block[best];
            cache.block[best] = NULL;
            return b + HEADER;
        }
    }
    if (size > SIZE_MAX - HEADER)
        return NULL;
    char *b = malloc(size + HEADER);
    if (!b)
        return NULL;
    *(size_t *)b = size;
    return b + HEADER;
}

void _mlir_memref_to_llvm_free(void *ptr) {
    if (!ptr)
        return;
    char *b = (char *)ptr - HEADER;
    size_t size = *(size_t *)b;
    if (size >= MIN_CACHED) {
        // An empty slot, else the smallest block kept if this one is larger.
        int slot = -1;
        for (int i = 0; i < SLOTS && slot < 0; i++)
            if (!cache.block[i])
                slot = i;
        if (slot < 0) {
            slot = 0;
            for (int i = 1; i < SLOTS; i++)
                if (cache.size[i] < cache.size[slot])
                    slot = i;
            if (cache.size[slot] >= size) {
                free(b);
                return;
            }
            free(cache.block[slot]);
        }
        (void)pthread_once(&exit_once, make_key);
        (void)pthread_setspecific(exit_key, &cache);
        cache.block[slot] = b;
        cache.size[slot] = size;
        return;
    }
    free(b);
}
