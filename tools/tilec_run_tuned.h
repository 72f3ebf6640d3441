// tools/tilec_run_tuned.h — tuned kernel calls for `tilec run` (tilec_run_tuned.c): the calls a run
// recorded (runner/kcall.h) written for `tilec tune MODEL.onnx`, and the tuning database's winners
// for them loaded (`tilec run --db`). docs/autotune.md, "Whole models".
#ifndef TILEC_TOOLS_RUN_TUNED_H
#define TILEC_TOOLS_RUN_TUNED_H

// Writes the recorded calls to `path` as "KERNEL<TAB>SOURCE<TAB>SHAPE" lines, SOURCE the kernel's
// .tile file among the embedded sources extracted to the cache (tuned_sources_dir). Returns 0, or
// 1 after printing why.
int tuned_write_calls(const char *path);

// Asks `tilec tune-resolve` (bin/tilec beside this binary) for the winners of the recorded calls
// in the database `db`, loads their shared objects and routes the calls to them. Prints how many
// calls it routed on stderr (unless quiet). Returns 0, or 1 after printing why.
int tuned_load(const char *db, int quiet);

#endif
