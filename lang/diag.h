// lang/diag.h — diagnostics in clang's shape: "file:line:col: error: msg", the source line
// with its number, and a caret under the place with tildes under the rest of the range.
//
// User errors go through error_at() and friends and are counted; compiler bugs go through
// unreachable()/internal_error(), which name the compiler's own file and line and abort.
#ifndef TILEC_LANG_DIAG_H
#define TILEC_LANG_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "ast.h"

typedef enum DiagLevel { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE, DIAG_REMARK } DiagLevel;

typedef struct DiagOptions {
    FILE *out;        // where diagnostics go (stderr); NULL discards them (fuzzing)
    bool color;       // ANSI colors, like clang's -fcolor-diagnostics
    int error_limit;  // stop after this many errors (0: no limit)
    bool werror;      // warnings count as errors
    bool remarks;     // print remarks (--remarks): how the compiler lowered a construct
} DiagOptions;

// A note printed after every error while it is pushed: "in call to 'f' here", the config.
typedef struct DiagContext {
    Span span;
    char text[256];
    bool config;  // names the configuration being checked: held diagnostics may go without it
} DiagContext;

void diag_init(DiagOptions opts);
int diag_error_count(void);    // errors printed (with -Werror, warnings count)
int diag_problem_count(void);  // genuine errors, including ones dropped as duplicates: the
                               // count checkers compare to tell whether something failed
bool diag_should_stop(void);   // the error limit was reached: callers unwind quietly

void error_at(Span span, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Caret at `caret`, tildes under `range` (e.g. at a binary operator, under the whole expression).
void error_range(Span caret, Span range, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void warning_at(Span span, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A note about the most recent error or warning (dropped if that one was dropped).
void note_at(Span span, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A remark (only with DiagOptions.remarks): "file:line:col: remark: msg" and the source line;
// what the compiler made of a construct (e.g. a gather that became a slice). Printed once per
// place and text (several configurations of one kernel lower the same access); never counted.
void remark_at(Span span, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool diag_remarks_enabled(void);
// An error with no source location: "tilec: error: msg".
void error_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A warning with no source location: "tilec: warning: msg".
void warning_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void diag_push_context(const DiagContext *ctx);
// Prints what is still owed (context notes of the last error); call before exiting.
void diag_flush(void);
void diag_pop_context(void);

// Holding diagnostics while the configurations of one kernel are checked (sema_check_program).
// A diagnostic at a place already held is not repeated; held ones are printed, in order, by
// diag_hold_end. Each check of one configuration is a visit; a visit ended with `counts`
// counts toward the configurations checked, and toward each held diagnostic it reported again
// with the same text. A diagnostic keeps its configuration note (a DiagContext with `config`)
// unless it was reported, with the same text, in every counted visit: then it does not depend
// on the configuration, and the note would only mislead.
void diag_hold_begin(void);
void diag_hold_visit_begin(void);
void diag_hold_visit_end(bool counts);
// While quiet, a diagnostic that is not held already is dropped: no output, and it counts for
// nothing once quiet ends (a visit that only classifies the held ones).
void diag_hold_quiet(bool on);
int diag_hold_count(void);  // diagnostics held
void diag_hold_end(void);

// Levenshtein distance for "did you mean" suggestions (99 for strings over 64 bytes).
int diag_edit_distance(const char *a, const char *b);

_Noreturn void internal_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define unreachable() internal_error(__FILE__, __LINE__, "unreachable code reached")

#endif
