// autotune/tune_internal.h — what the files of `tilec tune` share (tune.h is the public side):
//   tune.c         the command: options, the program and its space, identity, database and
//                  cache, the sweep over the shapes
//   tune_shapes.c  --shape / --sweep specifications and --flops expressions
//   tune_search.c  one shape's search: ranking, the reference, rounds 1 to 3
//   tune_compile.c a point's variant: its path in the cache and its compile
//   tune_report.c  the progress bar, the table, the JSON and the SVG chart
#ifndef TILEC_AUTOTUNE_TUNE_INTERNAL_H
#define TILEC_AUTOTUNE_TUNE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <xxhash.h>

#include "../lang/ast.h"
#include "../lowering/lower.h"
#include "db.h"
#include "measure.h"
#include "tune.h"

#define TUNE_MAX_SHAPES 256
#define TUNE_MAX_CONFIGS 4096
#define TUNE_MAX_BOUND 32  // a model's conv calls bind 10 sizes and 7 scalars

// ================================================================ data

// A shape: values for the kernel's sizes (all of them) and for some of its scalars.
typedef struct TuneShape {
    int n;
    char name[TUNE_MAX_BOUND][32];
    double value[TUNE_MAX_BOUND];
    char text[256];  // canonical, in the kernel's order: "M=1024,K=1024,N=1024"
} TuneShape;

// A point of the search: a configuration of the tunables and schedule overrides.
typedef struct TunePoint {
    Config config;
    char sched[96];  // "" for the target's default schedule, else "unroll_k=8"
    char key[256];   // "BM=256,BN=256,BK=64" or "BM=...;unroll_k=8"
} TunePoint;

// The whole run: the options, then what the run loads, opens and counts.
typedef struct Tuner {
    // options
    const char **inputs;
    int ninputs;
    const char **include_dirs;
    int ninclude;
    const char *kernel_name;
    TuneShape shapes[TUNE_MAX_SHAPES];
    int nshapes;
    double budget;   // seconds for the whole run: a hard bound (deadline)
    double timeout;  // per variant run (0: from the default's time)
    int jobs;
    int shard, nshards;
    bool quiet, json, progress;
    bool warm;  // --warm: calls timed on the same tensors (MeasureJob.warm); the device key says so
    const char *svg;
    const char *flops;  // "2*M*N*K"
    char db_path[1024];
    const TuneIdentity *id;
    // state
    Program prog;
    Node *kernel;
    Config configs[TUNE_MAX_CONFIGS];
    int nconfigs;
    // The untuned object's versions ([0] the default configuration): a shape's default is the
    // best fit among those that accept it (lower_best_fit), the one the untuned object runs there.
    Config untuned[LOWER_MAX_CONSTRAINT_VERSIONS];
    int nuntuned;
    TuneDB *db;
    TuneKey key;         // source hash, compiler, target, device, kernel
    char full_hash[40];  // the sources' whole text and the tilec binary's size and time: names variants
    char workdir[256];   // temporary: references
    char cachedir[1024];
    double started;
    // The budget. No compile or run goes past `deadline` (started + budget): one still going
    // then is killed, `out_of_time` set and the search ends. Each shape gets an equal share of
    // what is left when it starts: once its reference has a time, no new point of the shape
    // starts after `share_end`. Either sets `stop`, which ends the shape's search; `stop_note`
    // says what the budget stopped last. Nothing the budget stops is written to the database.
    double deadline, share_end;
    bool out_of_time, stop;
    char stop_note[320];
    // The last shape's reference time and size (tune_shape_size), to predict the next one's.
    double pred_s, pred_size;
    char pred_shape[256];
    // The memory a measurement may use (tune_shape_check): `mem_usable` of `mem_avail` bytes,
    // the latter `mem_what` ("available", "left under ulimit -v", ...).
    double mem_usable, mem_avail;
    const char *mem_what;
    int measured, reused, compiled;
    int shape_i, shapes_total;
} Tuner;

// One shape's search in progress (tune_search.c; the progress bar reads it).
typedef struct TuneShapeRun {
    TuneShape *shape;
    char ref[512];
    bool ref_ready;        // the reference output is in `ref` (written by this process)
    TunePoint *ref_point;  // the point whose output is the reference
    double t_ref;          // the reference's median time
    MeasureJob job;        // the kernel's arguments for this shape (job_for), shared by every point
    double bytes;          // of one set of the tensors
    int done, planned;
} TuneShapeRun;

// The per-shape outcome printed at the end.
typedef struct TuneOutcome {
    TuneShape *shape;
    bool ok;
    TunePoint best;
    double best_s, default_s;
    int candidates, tried;
    char not_tuned[160];  // why the shape has no result, briefly ("": it was searched)
    bool stopped;         // the budget stopped it before it had a result
    bool cut;             // the budget ran out during its search: the best of what was measured
} TuneOutcome;

// ================================================================ functions

// tune.c: reports a usage error (error_plain, then the diagnostics flushed); returns 1, the
// exit status.
int tune_usage_error(const char *fmt, ...);
// tune.c: a 128-bit hash as 32 hex digits (and a NUL) in `out`.
void tune_hex128(XXH128_hash_t h, char *out);

// tune_shapes.c: adds the shapes of a --shape or --sweep specification to T->shapes (the
// cartesian product of its comma-separated items, each checked against the kernel's sizes and
// scalars). False after reporting an error.
bool tune_add_shapes(Tuner *T, const char *spec);
// tune_shapes.c: the value of `name` in shape s (*found false, 0 when it has none).
double tune_shape_value(const TuneShape *s, const char *name, bool *found);
// tune_shapes.c: the size of shape s, the product of its values (each at least 1): the sweep's
// order, and how a shape's time is predicted from a smaller one's.
double tune_shape_size(const TuneShape *s);
// tune_shapes.c: tensor t's element count at shape s, and (strides, when not NULL) the
// row-major stride of each of its dimensions. False when a product overflows int64.
bool tune_tensor_elems(const TuneShape *s, const Symbol *t, int64_t *elems, int64_t *strides);
// tune_shapes.c: whether shape s can be measured: every tensor's element count and bytes fit in
// int64, and the tensors (with the check's copy of the largest output) in T->mem_usable. Else
// writes why to `why` (a message naming the shape, each tensor's size and the total).
enum { TUNE_SHAPE_FITS, TUNE_SHAPE_OVERFLOWS, TUNE_SHAPE_TOO_BIG };
int tune_shape_check(const Tuner *T, const TuneShape *s, char *why, size_t n);
// tune_shapes.c: --flops "2*M*N*K" at shape s: a sum of products of numbers and size names.
// NAN when expr is NULL or bad.
double tune_eval_flops(const char *expr, const TuneShape *s);

// tune.c: what `tilec tune FILE --kernel K --shape S... [--db DB] [options]` (argv[0] "tune")
// sets up before its search: the options, the program, the kernel, its space and shapes, the
// database and the variant cache (T->deadline from --budget). For `tilec tune-resolve`
// (tune_model.c). NULL after reporting an error; tune_close frees it.
Tuner *tune_open(int argc, char **argv, const TuneIdentity *id);
void tune_close(Tuner *T);
// tune_model.c: `tilec tune MODEL.onnx ...` (tune_main calls it when argv names a model).
int tune_model_main(int argc, char **argv, const TuneIdentity *id);
// tune_model.c: whether argv (of `tilec tune`) names a model (its first input ends in .onnx).
bool tune_args_name_model(int argc, char **argv);

// tune.c: seconds left of the budget (negative once it has run out).
double tune_time_left(const Tuner *T);
// tune.c: whether the budget stops the shape's search (T->stop): it has run out (then sets
// T->out_of_time too), or the shape's share of it has passed.
bool tune_budget_stops(Tuner *T);

// tune_compile.c: the shared object of point p in the variant cache.
void tune_so_path(Tuner *T, const TunePoint *p, char *out, size_t n);
// tune_compile.c: compiles the points whose shared objects are missing, up to T->jobs at once;
// failed[i] tells whether pts[i] failed. None starts once T->stop is set or the shape's share
// has passed (then sets it); at the budget's deadline the compiles still running are killed
// (marked failed) and T->out_of_time and T->stop set.
void tune_compile_points(Tuner *T, TunePoint **pts, int n, bool *failed);

// tune_search.c: one shape's search (S->shape and S->ref set by the caller), its outcome in o.
// `prev` (NULL for the first shape): per configuration, its time on the previous shape (NAN: not
// measured there, INFINITY: it failed there). `time_share`: the seconds of the budget it may take
// (its reference, within the budget's deadline, always runs).
void tune_shape(Tuner *T, TuneShapeRun *S, const double *prev, double time_share, TuneOutcome *o);
// tune_search.c: point p of configuration c with schedule overrides `sched` ("" for none): its
// key is "BM=256,BN=128,BK=64" or "BM=...;unroll_k=8".
void tune_point_make(const Tuner *T, TunePoint *p, const Config *c, const char *sched);
// tune_search.c: the default configuration at shape s: the best fit among the versions of the
// untuned object whose constraints accept s (what a call of the built-in object runs there).
const Config *tune_shape_default(Tuner *T, const TuneShape *s);
// tune_search.c: per configuration (T->configs, default schedule), its time on shape s from the
// database, as tune_shape's `prev` for the next shape.
void tune_times_at(Tuner *T, const TuneShape *s, double *times);

// tune_report.c: the progress bar (when T->progress) in the phase named.
void tune_progress(Tuner *T, TuneShapeRun *S, const char *phase);
// tune_report.c: the results of n shapes as a table or as JSON on stdout, or as an SVG chart
// in `path` (false after reporting an error).
void tune_print_table(Tuner *T, TuneOutcome *out, int n);
void tune_print_json(Tuner *T, TuneOutcome *out, int n);
bool tune_write_svg(Tuner *T, TuneOutcome *out, int n, const char *path);

#endif
