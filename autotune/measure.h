// autotune/measure.h — runs one compiled variant of a kernel on one shape, in a child process:
// generated inputs, a check against the reference output, then timed calls.
//
// The child loads the variant (a shared object), fills every tensor from a fixed-seed generator
// (the same data for every variant of a shape), calls the kernel once and compares each output
// tensor with the reference's (or writes the reference), then makes a warm-up call and timed
// calls, rotating through enough copies of the arguments that the last-level cache does not
// hold the next call's data, and reports the median. The parent kills it at the timeout.
#ifndef TILEC_AUTOTUNE_MEASURE_H
#define TILEC_AUTOTUNE_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lang/ast.h"
#include "db.h"

typedef enum MeasureArgKind { MA_TENSOR, MA_SCALAR, MA_INT64 } MeasureArgKind;

// One argument of the kernel's C entry, in order.
typedef struct MeasureArg {
    MeasureArgKind kind;
    ElemType elem;  // tensor element / scalar type
    bool is_out;    // an output tensor: checked against the reference
    int64_t elems;  // tensor: element count (its extent with the strides given)
    int64_t ival;   // MA_INT64 (sizes, strides) and integer scalars
    double fval;    // float scalars
} MeasureArg;

typedef struct MeasureJob {
    const char *so_path;  // the variant, linked as a shared object
    const char *symbol;   // its entry
    MeasureArg args[64];
    int nargs;
    const char *ref_path;  // reference outputs: written (write_ref) or compared
    bool write_ref;
    double tolerance;  // largest normwise output difference accepted (per output tensor)
    int min_reps, max_reps;
    double min_seconds;  // time the timed calls for at least this long (within max_reps)
    double timeout;      // seconds before the child is killed
    bool warm;           // every call on the same tensors (warm caches), not on rotating copies
} MeasureJob;

typedef struct MeasureResult {
    TuneStatus status;
    double seconds;  // median of the timed calls
    int reps;
    double max_error;
    char detail[256];  // why it failed
} MeasureResult;

// Bytes per element of a tensor of `e` as the kernel's C entry takes it (i1 as one byte).
size_t measure_elem_bytes(ElemType e);

// Seconds on the monotonic clock (CLOCK_MONOTONIC): for timing calls and measuring durations.
double tune_now(void);

// What a measurement's child can allocate, in bytes: the least of the system's available memory
// (MemAvailable), the memory cgroup's limit less its usage, and the address-space limit
// (`ulimit -v`) less what this process maps already. *what names the one that bounds it
// ("available", "left in the memory cgroup", "left under ulimit -v").
double measure_available_bytes(const char **what);

// Runs the job in a child process and waits for it (at most job->timeout seconds).
MeasureResult measure_run(const MeasureJob *job);

#endif
