// autotune/tune.h — `tilec tune`, `tilec db` and `tilec --tuned`: the search over a kernel's
// space per shape, and the objects built from its results. docs/autotune.md describes the
// search order, the database and the dispatch rule.
#ifndef TILEC_AUTOTUNE_TUNE_H
#define TILEC_AUTOTUNE_TUNE_H

#include <stdbool.h>

#include "../lang/ast.h"
#include "../backends/target.h"
#include "db.h"

// What the identity of a measurement holds, from the compiler's side.
typedef struct TuneIdentity {
    const char *compiler;  // "tilec 0.1.0 / LLVM 22"
    const char *cpu;       // --cpu, NULL for the host's
} TuneIdentity;

// The database used when --db is not given: $TILEC_TUNE_DB, else
// $XDG_CACHE_HOME/tilec/tune.db (~/.cache/tilec/tune.db). Writes it to `out`.
void tune_default_db_path(char *out, int size);

// `tilec tune ARGS` and `tilec db ARGS` (argv[0] is "tune" / "db"). Return the exit status.
int tune_main(int argc, char **argv, const TuneIdentity *id);
int tune_db_main(int argc, char **argv);
// `tilec tune-resolve [--db DB] CALLS` (autotune/tune_model.c), what `tilec run --db` asks: for
// each call of CALLS ("KERNEL<TAB>SOURCE<TAB>SHAPE" lines, as tilec-run records them) whose shape
// has a winner in the database (beating the shape's default by TUNE_WIN_MARGIN), its variant
// compiled or found in the variant cache; prints "INDEX<TAB>SHARED-OBJECT<TAB>CONFIG" lines.
int tune_resolve_main(int argc, char **argv, const TuneIdentity *id);

// The key fields shared by every row of `kernel`: source hash (the files' text with the
// kernel's `tune` values blanked out, so that adding a value keeps the other rows), compiler,
// target and this machine as the device.
void tune_key_for(const Program *prog, const Node *kernel, const TuneIdentity *id, TuneKey *key);

// `tilec FILE --tuned -o k.o`: every kernel of the main files with the best version per
// tuned shape from the database (and its default configuration as the fallback). Writes a
// summary of the versions to `notes` (for the header). False after reporting an error.
bool tune_build_object(Program *prog, const char *db_path, const TuneIdentity *id, const CompileOptions *lo,
                       char **notes);

#endif
