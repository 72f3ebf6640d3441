// tools/tilec_run_tuned.h — tuned kernel calls for `tilec run` (tilec_run_tuned.c): the calls a run
// recorded (runner/kcall.h) written for `tilec tune MODEL.onnx`, and the tuning database's winners
// for them loaded (`tilec run --db`). docs/autotune.md, "Whole models".
#ifndef TILEC_TOOLS_RUN_TUNED_H
#define TILEC_TOOLS_RUN_TUNED_H

#include "kcall.h"

// A recorded call's winner in the tuning database (tuned_resolve): its index in the record, its
// kernel, the kernel's extracted .tile source, the variant's shared object in the variant cache
// and its configuration ("BW=64,BK=32" or "BM=128,BN=128,BK=64;unroll_k=8": tunables, then the
// schedule's options after ';').
typedef struct TunedVariant {
    int call;
    const KCallKernel *kernel;
    char shape[512];  // the call's key in the tuner's form ("M=512,K=16,N=24")
    char source[1400];
    char so[1400];
    char config[512];
} TunedVariant;

// `rel` (a path relative to the directory of this executable: "tilec", "../lib/x.o") in `out`.
// Returns 0, or 1 after printing why.
int tuned_beside_self(const char *rel, char *out, size_t cap);

// The program named in messages ("tilec run" unless set).
void tuned_set_program(const char *name);

// Writes the recorded calls to `path` as "KERNEL<TAB>SOURCE<TAB>SHAPE" lines, SOURCE the kernel's
// .tile file among the embedded sources extracted to the cache (tuned_sources_dir). Returns 0, or
// 1 after printing why.
int tuned_write_calls(const char *path);

// Asks `tilec tune-resolve` (bin/tilec beside this binary) for the winners of the recorded calls
// in the database `db`: *variants (malloc'd, *count of them; the calls without a winner are not
// there). Returns 0, or 1 after printing why.
int tuned_resolve(const char *db, TunedVariant **variants, int *count);

// The path of kernel k's .tile source among the embedded sources extracted to the cache (as
// TunedVariant.source) in `out`. Returns 0, or 1 after printing why.
int tuned_source_path(const KCallKernel *k, char *out, size_t cap);

// Says on stderr that the database's rows are per CPU and thread count, and which thread count
// this process looks for (after a resolve that found nothing).
void tuned_note_threads(void);

// Asks `tilec tune-resolve` (bin/tilec beside this binary) for the winners of the recorded calls
// in the database `db`, loads their shared objects and routes the calls to them. Prints how many
// calls it routed on stderr (unless quiet). Returns 0, or 1 after printing why.
int tuned_load(const char *db, int quiet);

#endif
