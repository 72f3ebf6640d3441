// lang/locked.h — holding a lock for the rest of a function: `LOCKED(m);` locks the
// pthread_mutex_t `m` and unlocks it when the enclosing block is left, by any return.
// The checker, the diagnostics and the arena are shared by the threads that lower variants at
// once (docs/design.md); their entry points start with it.
#ifndef TILEC_LANG_LOCKED_H
#define TILEC_LANG_LOCKED_H

#include <pthread.h>

static inline void locked_release(pthread_mutex_t **m) { pthread_mutex_unlock(*m); }

#define LOCKED(m)                                                                    \
    pthread_mutex_t *locked_held_ __attribute__((cleanup(locked_release), unused)) = \
        (pthread_mutex_lock(&(m)), &(m))

#endif
