// autotune/db.h — the tuning database: one SQLite file, one row per measured point.
//
// A row is keyed by (kernel source hash, compiler version, target, device, kernel, shape,
// config), so adding a config to a kernel's space measures only that config, and results of
// other sources, compilers or machines never mix. Every write is its own transaction (atomic);
// WAL mode and a busy timeout let several tuners share one file. A file that is not an SQLite
// database, or one without tilec's format marker, gets a clear error instead of being used.
#ifndef TILEC_AUTOTUNE_DB_H
#define TILEC_AUTOTUNE_DB_H

#include <stdbool.h>
#include <stdio.h>

typedef struct TuneKey {
    char source_hash[40];  // XXH3-128 of the kernel's source files, hex
    char compiler[64];     // "tilec 0.1.0 / LLVM 22"
    char target[64];       // "x86_64:znver3" (--cpu or the host's)
    char device[160];      // the machine measured: CPU model, threads
    char kernel[128];
    char shape[256];   // canonical: "K=1024,M=1024,N=1024"
    char config[256];  // canonical: "BM=256,BN=256,BK=64;unroll_k=4"
} TuneKey;

typedef enum TuneStatus {
    TS_OK,       // measured; seconds is the median
    TS_WRONG,    // ran but its output differs from the reference: never wins
    TS_COMPILE,  // failed to compile
    TS_INVALID,  // the kernel rejected the shape (a run-time constraint)
    TS_TIMEOUT,  // killed after the per-variant timeout
    TS_CRASH,    // the run died (signal) or returned an error status
    TS_NSTATUS
} TuneStatus;

// A time from at least this many calls is a careful one (rounds 2 and 3); a quick one (round 1)
// never replaces it and never beats it when objects are built.
#define TUNE_CAREFUL_REPS 3

// A configuration replaces a shape's default only when its careful time is at least this much
// shorter than the default's: closer than that, one run's noise decides, and a tuned object
// would trade the default for a version that is as often slower (tune_search.c's winner and
// tuned.c's choice apply the same rule).
#define TUNE_WIN_MARGIN 0.03

typedef struct TuneRow {
    TuneKey key;
    TuneStatus status;
    double seconds;    // median time of one call (TS_OK)
    int reps;          // timed calls behind the median
    double max_error;  // largest normwise difference from the reference
    char when[32];     // UTC, ISO 8601
} TuneRow;

typedef struct TuneDB TuneDB;

const char *tune_status_name(TuneStatus s);
bool tune_status_parse(const char *name, TuneStatus *out);

// Opens (creating if absent) the database at `path`. NULL after writing the reason to `error`.
TuneDB *tune_db_open(const char *path, bool create, char *error, int error_size);
void tune_db_close(TuneDB *db);

// Inserts or replaces the row of `r->key`; a row with fewer timed calls never replaces one
// with more. False after writing the reason to `error`.
bool tune_db_put(TuneDB *db, const TuneRow *r, char *error, int error_size);

// The row for `key`: 1 found, 0 absent, -1 error.
int tune_db_get(TuneDB *db, const TuneKey *key, TuneRow *out, char *error, int error_size);

// Calls fn for every row matching the non-empty fields of `filter` (all rows for NULL), in
// (kernel, shape, config) order. Returns the number of rows, -1 on an error.
typedef void (*TuneRowFn)(const TuneRow *r, void *user);
long tune_db_each(TuneDB *db, const TuneKey *filter, TuneRowFn fn, void *user, char *error, int error_size);

// Copies every row of the database at `src_path` into `db` (the one with more timed calls, then
// the newer, wins a tie on the key). Returns rows read, -1 on an error.
long tune_db_merge(TuneDB *db, const char *src_path, char *error, int error_size);

#endif
