// lang/diag.c — printing diagnostics with source lines, carets and ranges.
#include "diag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locked.h"

#define MAX_CONTEXTS 16
#define MAX_HELD 4096
#define LINE_WINDOW 100  // display columns shown around the caret of a long line

// A diagnostic held while a kernel's configurations are checked (diag_hold_begin).
typedef struct Held {
    uint64_t place;      // hash_diag of its caret: later ones at the same place are dropped
    char *msg;           // its message
    char *text;          // what it prints: the diagnostic, its notes, its context notes but the
    size_t len;          // configuration's
    FILE *f;             // open while it is the one being written
    DiagContext config;  // the configuration note (config.config: there is one)
    bool varies;         // reported again with another text
    int64_t visit;       // the last visit that reported it
    int count;           // counted visits that reported it
} Held;

static struct {
    DiagOptions opts;
    int errors, warnings;
    int problems;        // genuine errors, printed or deduplicated (not promoted warnings)
    bool stopped;        // error limit reached
    bool fatal_pending;  // "too many errors" is owed (printed after the last error's notes)
    bool last_dropped;   // the last error/warning was not printed: drop its notes
    const DiagContext *contexts[MAX_CONTEXTS];
    int ncontexts;
    DiagContext pending[MAX_CONTEXTS];  // context notes owed to the last error, printed after its own notes
    int npending;
    bool holding, quiet;
    Held *held;
    int nheld;
    int cur;             // the held diagnostic being written (-1: none)
    int64_t visit;       // the current visit's number
    int visits;          // visits counted
    int quiet_problems;  // D.problems when quiet began
} D = {.opts = {.error_limit = 20}, .cur = -1};

// Diagnostics may come from several threads (objects whose versions are lowered at once): every
// entry point holds this recursive lock until it returns.
static pthread_mutex_t diag_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void diag_init(DiagOptions opts) {
    LOCKED(diag_lock);
    memset(&D, 0, sizeof D);
    D.opts = opts;
    D.cur = -1;
}

int diag_error_count(void) {
    LOCKED(diag_lock);
    return D.errors;
}
int diag_problem_count(void) {
    LOCKED(diag_lock);
    return D.problems;
}
bool diag_should_stop(void) {
    LOCKED(diag_lock);
    return D.stopped;
}

static void flush_contexts(void);

void diag_push_context(const DiagContext *ctx) {
    LOCKED(diag_lock);
    if (D.ncontexts < MAX_CONTEXTS)
        D.contexts[D.ncontexts] = ctx;
    D.ncontexts++;
}

void diag_pop_context(void) {
    LOCKED(diag_lock);
    flush_contexts();
    D.ncontexts--;
}

// ================================================================ colors

#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_MAGENTA "\033[1;35m"
#define C_CYAN "\033[1;36m"
#define C_GREEN "\033[1;32m"
#define C_RESET "\033[0m"

static const char *col(const char *c) { return D.opts.color ? c : ""; }

// Where diagnostics are written: the held diagnostic being written, or the output.
static FILE *out(void) { return D.holding && D.cur >= 0 ? D.held[D.cur].f : D.opts.out; }

// ================================================================ the source line

// Appends the display form of byte `p[0]` (and following bytes of a UTF-8 sequence) to
// `out`; returns how many source bytes it consumed and sets *width to its display width.
static int display_char(const unsigned char *p, const unsigned char *end, int dcol, char *out, int *width) {
    unsigned c = p[0];
    if (c == '\t') {
        int w = 4 - dcol % 4;
        memset(out, ' ', (size_t)w);
        out[w] = '\0';
        *width = w;
        return 1;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        out[1] = '\0';
        *width = 1;
        return 1;
    }
    // Well-formed UTF-8 only (no overlong forms, surrogates or code points past U+10FFFF),
    // the same rule as the lexer's.
    int n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (n && p + n <= end) {
        bool ok = true;
        for (int i = 1; i < n; i++)
            ok = ok && (p[i] & 0xc0) == 0x80;
        unsigned c1 = p[1];
        if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
            (c == 0xf4 && c1 > 0x8f))
            ok = false;
        if (ok) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
            *width = 1;
            return n;
        }
    }
    snprintf(out, 8, "<%02X>", c);
    *width = 4;
    return 1;
}

static void print_snippet(FILE *o, Span caret, Span range) {
    const SourceFile *f = caret.file;
    if (!f || !f->text || caret.off > f->len)
        return;
    const unsigned char *text = (const unsigned char *)f->text;
    const unsigned char *end = text + f->len;
    const unsigned char *ls = text + caret.off;
    while (ls > text && ls[-1] != '\n')
        ls--;
    const unsigned char *le = text + caret.off;
    while (le < end && *le != '\n')
        le++;
    if (le > ls && le[-1] == '\r')
        le--;

    // Range, clipped to this line.
    uint32_t rs = range.file == f ? range.off : caret.off;
    uint32_t re = range.file == f ? range.off + range.len : caret.off + caret.len;
    if (rs > caret.off || re < caret.off) {
        rs = caret.off;
        re = caret.off + caret.len;
    }
    uint32_t lso = (uint32_t)(ls - text), leo = (uint32_t)(le - text);
    if (rs < lso)
        rs = lso;
    if (re > leo)
        re = leo;

    // First pass: display column of the caret, and whether the line is wider than the
    // window (only such lines are shown as a window around the caret).
    int dcol = 0, caret_col = 0;
    bool wide = false;
    char buf[16];
    for (const unsigned char *p = ls; p < le;) {
        if ((uint32_t)(p - text) == caret.off)
            caret_col = dcol;
        int w;
        p += display_char(p, le, dcol, buf, &w);
        dcol += w;
        wide = wide || dcol > LINE_WINDOW;
        if (wide && dcol > caret_col + LINE_WINDOW && (uint32_t)(p - text) > caret.off)
            break;
    }
    if (caret.off >= leo)
        caret_col = dcol;
    int win_start = wide && caret_col > LINE_WINDOW / 2 ? caret_col - LINE_WINDOW / 2 : 0;
    int win_end = win_start + LINE_WINDOW;

    char lineno[16];
    int nw = snprintf(lineno, sizeof lineno, "%5d", caret.line);
    fprintf(o, "%s | %s", lineno, win_start ? "..." : "");
    // Second pass: the text and the marker line, within the window.
    char *marks = malloc(LINE_WINDOW * 5 + 64);
    int nm = 0;
    dcol = 0;
    bool truncated = false;
    for (const unsigned char *p = ls; p < le;) {
        uint32_t off = (uint32_t)(p - text);
        int w;
        int used = display_char(p, le, dcol, buf, &w);
        if (dcol >= win_end) {
            truncated = true;
            break;
        }
        if (dcol >= win_start) {
            fputs(buf, o);
            char m = off == caret.off ? '^' : (off >= rs && off < re) ? '~' : ' ';
            for (int i = 0; i < w; i++)
                marks[nm++] = (m == '^' && i > 0) ? '~' : m;
        }
        p += used;
        dcol += w;
    }
    if (truncated)
        fputs("...", o);
    fputc('\n', o);
    if (caret.off >= leo && dcol >= win_start)
        marks[nm++] = '^';
    while (nm > 0 && marks[nm - 1] == ' ')
        nm--;
    marks[nm] = '\0';
    fprintf(o, "%*s | %s%s%s%s\n", nw, "", win_start ? "   " : "", col(C_GREEN), marks, col(C_RESET));
    free(marks);
}

// ================================================================ reporting

static const char *level_name(DiagLevel l) {
    return l == DIAG_ERROR ? "error" : l == DIAG_WARNING ? "warning" : l == DIAG_REMARK ? "remark" : "note";
}

static const char *level_color(DiagLevel l) {
    return l == DIAG_ERROR ? C_RED : l == DIAG_WARNING ? C_MAGENTA : l == DIAG_REMARK ? C_GREEN : C_CYAN;
}

// Holding deduplicates by place: a kernel checked under another configuration reports the same
// mistake with other shapes in its text.
static uint64_t hash_diag(Span s) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ s.off) * 1099511628211ull;
    h = (h ^ (uint64_t)s.line) * 1099511628211ull;
    h = (h ^ (uintptr_t)s.file) * 1099511628211ull;
    return h;
}

static void print_fatal(void) {
    if (!D.fatal_pending)
        return;
    D.fatal_pending = false;
    if (D.opts.out)
        fprintf(D.opts.out, "%stilec: %sfatal error:%s%s too many errors emitted, stopping now%s\n",
                col(C_BOLD), col(C_RED), col(C_RESET), col(C_BOLD), col(C_RESET));
}

static void print_context(FILE *o, const DiagContext *c) {
    if (c->span.file)
        fprintf(o, "%s%s:%d:%d: ", col(C_BOLD), c->span.file->path, c->span.line, c->span.col);
    fprintf(o, "%snote:%s %s\n", col(C_CYAN), col(C_RESET), c->text);
}

// Prints the context notes owed to the last diagnostic, and finishes a held one.
static void flush_contexts(void) {
    FILE *o = out();
    for (int i = D.npending - 1; o && i >= 0; i--)
        print_context(o, &D.pending[i]);
    D.npending = 0;
    if (D.holding && D.cur >= 0) {
        fclose(D.held[D.cur].f);
        D.held[D.cur].f = NULL;
        D.cur = -1;
    }
}

void diag_flush(void) {
    LOCKED(diag_lock);
    flush_contexts();
    if (!D.holding)
        print_fatal();
}

// ================================================================ holding a kernel's diagnostics

void diag_hold_begin(void) {
    LOCKED(diag_lock);
    flush_contexts();
    D.holding = true;
    D.quiet = false;
    D.nheld = 0;
    D.cur = -1;
    D.visits = 0;
    D.visit++;
}

void diag_hold_visit_begin(void) {
    LOCKED(diag_lock);
    D.visit++;
}

void diag_hold_visit_end(bool counts) {
    LOCKED(diag_lock);
    for (int i = 0; counts && i < D.nheld; i++)
        D.held[i].count += D.held[i].visit == D.visit;
    D.visits += counts;
    D.visit++;  // what is reported outside a visit counts for none
}

void diag_hold_quiet(bool on) {
    LOCKED(diag_lock);
    flush_contexts();
    if (on && !D.quiet)
        D.quiet_problems = D.problems;
    else if (!on && D.quiet)
        D.problems = D.quiet_problems;
    D.quiet = on;
}

int diag_hold_count(void) {
    LOCKED(diag_lock);
    return D.nheld;
}

void diag_hold_end(void) {
    LOCKED(diag_lock);
    flush_contexts();
    D.holding = false;
    D.quiet = false;
    FILE *o = D.opts.out;
    for (int i = 0; i < D.nheld; i++) {
        Held *h = &D.held[i];
        bool everywhere = D.visits > 0 && h->count == D.visits && !h->varies;
        if (o && h->text)
            fwrite(h->text, 1, h->len, o);
        if (o && h->config.config && !everywhere)
            print_context(o, &h->config);
        free(h->text);
        free(h->msg);
    }
    free(D.held);
    D.held = NULL;
    D.nheld = 0;
}

// While holding: records a diagnostic at a place already held (false), or starts holding a
// new one (true: it is printed into its buffer).
static bool hold(Span caret, const char *msg) {
    uint64_t h = hash_diag(caret);
    for (int i = 0; i < D.nheld; i++) {
        if (D.held[i].place == h) {
            D.held[i].visit = D.visit;
            D.held[i].varies = D.held[i].varies || strcmp(D.held[i].msg, msg) != 0;
            return false;
        }
    }
    if (D.quiet)
        return false;
    if (D.nheld == MAX_HELD) {  // not held: printed at once, with its configuration note
        D.cur = -1;
        return true;
    }
    if (D.nheld % 64 == 0) {
        D.held = realloc(D.held, sizeof(Held) * (size_t)(D.nheld + 64));
        if (!D.held)
            internal_error(__FILE__, __LINE__, "out of memory");
    }
    Held *n = &D.held[D.nheld];
    memset(n, 0, sizeof *n);
    n->place = h;
    n->msg = strdup(msg);
    n->visit = D.visit;
    n->f = open_memstream(&n->text, &n->len);
    if (!n->msg || !n->f)
        internal_error(__FILE__, __LINE__, "out of memory");
    D.cur = D.nheld++;
    return true;
}

static void emit(DiagLevel level, Span caret, Span range, bool snippet, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (level != DIAG_NOTE) {
        flush_contexts();
        if (level == DIAG_ERROR)
            D.problems++;
        if (D.stopped) {
            if (!D.holding)  // held ones come first
                print_fatal();
            D.last_dropped = true;
            return;
        }
        if (D.holding && !hold(caret, msg)) {
            D.last_dropped = true;
            return;
        }
        if (level == DIAG_WARNING && D.opts.werror)
            level = DIAG_ERROR;
        D.last_dropped = false;
        if (level == DIAG_ERROR)
            D.errors++;
        else
            D.warnings++;
    } else if (D.last_dropped) {
        return;
    }
    FILE *o = out();
    if (!o)
        return;
    if (caret.file)
        fprintf(o, "%s%s:%d:%d: ", col(C_BOLD), caret.file->path, caret.line, caret.col);
    else
        fprintf(o, "%stilec: ", col(C_BOLD));
    fprintf(o, "%s%s:%s%s %s%s\n", col(level_color(level)), level_name(level), col(C_RESET), col(C_BOLD), msg,
            col(C_RESET));
    if (caret.file && snippet)
        print_snippet(o, caret, range);
}

// Remembers the contexts in force for the error just emitted; they print after its notes (a
// held diagnostic keeps its configuration's apart).
static void emit_contexts(void) {
    if (D.last_dropped)
        return;
    int n = D.ncontexts < MAX_CONTEXTS ? D.ncontexts : MAX_CONTEXTS;
    D.npending = 0;
    for (int i = 0; i < n; i++) {
        if (D.holding && D.cur >= 0 && D.contexts[i]->config)
            D.held[D.cur].config = *D.contexts[i];
        else
            D.pending[D.npending++] = *D.contexts[i];
    }
}

static void check_limit(void) {
    if (!D.stopped && D.opts.error_limit > 0 && D.errors >= D.opts.error_limit) {
        D.stopped = true;
        D.fatal_pending = true;  // printed once the last error's notes are out
    }
}

void error_at(Span span, const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_ERROR, span, span, true, fmt, ap);
    va_end(ap);
    emit_contexts();
    check_limit();
}

void error_range(Span caret, Span range, const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_ERROR, caret, range, true, fmt, ap);
    va_end(ap);
    emit_contexts();
    check_limit();
}

void warning_at(Span span, const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_WARNING, span, span, true, fmt, ap);
    va_end(ap);
    emit_contexts();
    check_limit();
}

void note_at(Span span, const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_NOTE, span, span, span.file != NULL, fmt, ap);
    va_end(ap);
}

// Remarks printed so far, by place and text (hash_remark): each is printed once.
static uint64_t *remarks_seen;
static int nremarks, capremarks;

bool diag_remarks_enabled(void) {
    LOCKED(diag_lock);
    return D.opts.remarks;
}

void remark_at(Span span, const char *fmt, ...) {
    LOCKED(diag_lock);
    if (!D.opts.remarks)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t h = hash_diag(span);
    for (const char *p = msg; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (int i = 0; i < nremarks; i++)
        if (remarks_seen[i] == h)
            return;
    if (nremarks == capremarks) {
        int cap = capremarks ? 2 * capremarks : 64;
        uint64_t *n = realloc(remarks_seen, sizeof(uint64_t) * (size_t)cap);
        if (!n)
            return;
        remarks_seen = n;
        capremarks = cap;
    }
    remarks_seen[nremarks++] = h;
    FILE *o = out();
    if (!o)
        return;
    if (span.file)
        fprintf(o, "%s%s:%d:%d: ", col(C_BOLD), span.file->path, span.line, span.col);
    else
        fprintf(o, "%stilec: ", col(C_BOLD));
    fprintf(o, "%s%s:%s%s %s%s\n", col(level_color(DIAG_REMARK)), level_name(DIAG_REMARK), col(C_RESET),
            col(C_BOLD), msg, col(C_RESET));
    if (span.file)
        print_snippet(o, span, span);
}

void error_plain(const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_ERROR, (Span){0}, (Span){0}, false, fmt, ap);
    va_end(ap);
}

void warning_plain(const char *fmt, ...) {
    LOCKED(diag_lock);
    va_list ap;
    va_start(ap, fmt);
    emit(DIAG_WARNING, (Span){0}, (Span){0}, false, fmt, ap);
    va_end(ap);
}

int diag_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
        }
    return d[la][lb];
}

_Noreturn void internal_error(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tilec: internal compiler error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nthis is a bug in tilec; please report it with the input that caused it\n");
    va_end(ap);
    abort();
}
