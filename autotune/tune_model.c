// autotune/tune_model.c — per-layer tuning of a whole model (docs/autotune.md, "Whole models"):
//   `tilec tune MODEL.onnx` has bin/tilec-run run the model once and record every distinct call
//   of a tunable kernel (runner/kcall.h: the kernel, its sizes and its integer scalars, the
//   kernel's source extracted from tilec-run), then tunes each kernel's calls as
//   `tilec tune SOURCE --kernel K --shape CALL...` does (tune_main: the same search, database,
//   progress bar, resumption and budget), calls I, I+N, ... with --shard I/N;
//   `tilec tune-resolve --db DB CALLS` is what `tilec run --db` asks: for each recorded call, the
//   database's winner when it beats the call's default by TUNE_WIN_MARGIN, compiled (or found)
//   in the variant cache, printed as "INDEX<TAB>SHARED-OBJECT<TAB>CONFIG".
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lang/diag.h"
#include "tune_internal.h"

#define MODEL_MAX_CALLS 4096

// ================================================================ data

// A recorded call: its kernel, the kernel's source file (as tilec-run extracted it) and the call's
// shape in the tuner's canonical form.
typedef struct ModelCall {
    char kernel[128];
    char source[1024];
    char shape[256];
} ModelCall;

// The options of `tilec tune MODEL.onnx`: those for tilec-run, those passed on to each kernel's
// tune_main, and its own.
typedef struct ModelOptions {
    const char *model;
    const char *run_args[64];  // --shape NAME=DIMS, --input NAME=FILE for tilec-run
    int nrun;
    const char *pass[64];  // --db, --timeout, -j, -q, --cpu= for tune_main
    int npass;
    const char *kernel;  // --kernel: only this kernel's calls
    double budget;
    int shard, nshards;
} ModelOptions;

// ================================================================ helpers

bool tune_args_name_model(int argc, char **argv) {
    static const char *const with_value[] = {"--shape", "--sweep",   "--kernel", "--budget", "--timeout",
                                             "--db",    "--shard",   "-j",       "--flops",  "--svg",
                                             "-I",      "--threads", "--input"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = false;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            takes = takes || !strcmp(a, with_value[k]);
        if (takes) {
            i++;
            continue;
        }
        if (a[0] == '-')
            continue;
        size_t n = strlen(a);
        return n > 5 && !strcmp(a + n - 5, ".onnx");
    }
    return false;
}

// The path of a binary next to this one (bin/tilec-run beside bin/tilec).
static bool sibling(const char *name, char *out, size_t cap) {
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        slash[1] = '\0';
    return (size_t)snprintf(out, cap, "%s%s", slash ? self : "", name) < cap;
}

// Reads the calls tilec-run recorded ("KERNEL<TAB>SOURCE<TAB>SHAPE" lines). Returns their number,
// -1 after reporting a malformed file.
static int read_calls(const char *path, ModelCall *calls, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        error_plain("cannot read the calls file '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2 || t1 == line || t2 == t1 + 1 || !t2[1] || strchr(t2 + 1, '\t') || n == cap ||
            (size_t)(t1 - line) >= sizeof calls->kernel || (size_t)(t2 - t1 - 1) >= sizeof calls->source ||
            strlen(t2 + 1) >= sizeof calls->shape) {
            error_plain("%s:%d: %s", path, lineno,
                        n == cap ? "too many calls" : "expected KERNEL<TAB>SOURCE<TAB>SHAPE");
            fclose(f);
            return -1;
        }
        snprintf(calls[n].kernel, sizeof calls[n].kernel, "%.*s", (int)(t1 - line), line);
        snprintf(calls[n].source, sizeof calls[n].source, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
        snprintf(calls[n].shape, sizeof calls[n].shape, "%s", t2 + 1);
        n++;
    }
    fclose(f);
    return n;
}

// The group of calls order[g] starts: those of order[g..n) not yet done with its kernel and
// source, marked done, their indices in idx. Returns how many (at least 1).
static int take_group(const ModelCall *calls, const int *order, int n, bool *done, int g, int *idx) {
    const ModelCall *first = &calls[order[g]];
    int k = 0;
    idx[k++] = order[g];
    done[g] = true;
    for (int i = g + 1; i < n; i++)
        if (!done[i] && !strcmp(calls[order[i]].kernel, first->kernel) &&
            !strcmp(calls[order[i]].source, first->source)) {
            idx[k++] = order[i];
            done[i] = true;
        }
    return k;
}

// ================================================================ tilec tune MODEL.onnx

static const char *const model_usage =
    "USAGE: tilec tune MODEL.onnx [--shape NAME=DIMS]... [options]\n"
    "\n"
    "Runs the model once (bin/tilec-run, random inputs) and tunes every distinct call of its\n"
    "tunable kernels (matmul, bmm, la_linear, nn_conv_nchw, nn_dwconv, conv2d_nhwc, nn_convt_k2)\n"
    "with the call's real sizes and integer arguments, as 'tilec tune SOURCE --kernel K --shape\n"
    "CALL' would; 'tilec run MODEL.onnx --db DB' then runs the tuned versions.\n"
    "  --shape NAME=DIMS     fix a graph input's dims, as for 'tilec run'\n"
    "  --input NAME=FILE     an input, as for 'tilec run' (else random data)\n"
    "  --kernel NAME         tune only this kernel's calls\n"
    "  --budget SECONDS      bound the whole run's wall time (default 600), shared among the\n"
    "                        kernels in proportion to their calls\n"
    "  --shard I/N           tune only calls I, I+N, ... (0-based); merge with 'tilec db merge'\n"
    "  --threads N           time the kernels on N threads (TILE_NUM_THREADS; part of the device)\n"
    "  --db PATH, --timeout SECONDS, -j N, -q, --cpu NAME   as for 'tilec tune'\n"
    "\n"
    "A killed or repeated run resumes: what the database holds is not measured again.\n"
    "Exit status: 0 when some call was tuned, 1 otherwise.\n";

static int parse_model_options(ModelOptions *o, int argc, char **argv) {
    o->budget = 600;
    o->nshards = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool with_value = !strcmp(a, "--shape") || !strcmp(a, "--input") || !strcmp(a, "--kernel") ||
                          !strcmp(a, "--budget") || !strcmp(a, "--shard") || !strcmp(a, "--threads") ||
                          !strcmp(a, "--db") || !strcmp(a, "--timeout") || !strcmp(a, "-j");
        if (with_value && !v)
            return tune_usage_error("argument to '%s' is missing", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(model_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "--shape") || !strcmp(a, "--input")) && o->nrun < 62) {
            o->run_args[o->nrun++] = a;
            o->run_args[o->nrun++] = argv[++i];
        } else if (!strcmp(a, "--kernel")) {
            o->kernel = argv[++i];
        } else if (!strcmp(a, "--budget")) {
            char *end;
            o->budget = strtod(v, &end);
            if (*end || !(o->budget > 0))
                return tune_usage_error("'--budget' needs a positive number of seconds, got '%s'", v);
            i++;
        } else if (!strcmp(a, "--shard")) {
            if (sscanf(v, "%d/%d", &o->shard, &o->nshards) != 2 || o->nshards < 1 || o->shard < 0 ||
                o->shard >= o->nshards)
                return tune_usage_error("--shard expects I/N with 0 <= I < N, got '%s'", v);
            i++;
        } else if (!strcmp(a, "--threads")) {
            char *end;
            long t = strtol(v, &end, 10);
            if (*end || t < 1 || t > 1024)
                return tune_usage_error("--threads expects 1..1024, got '%s'", v);
            setenv("TILE_NUM_THREADS", v, 1);
            i++;
        } else if ((with_value || !strcmp(a, "-q") || !strncmp(a, "--cpu=", 6) || !strncmp(a, "-mcpu=", 6)) &&
                   o->npass < 62) {
            o->pass[o->npass++] = a;
            if (with_value)
                o->pass[o->npass++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return tune_usage_error("unknown argument '%s' to 'tilec tune MODEL.onnx'; see 'tilec tune "
                                    "MODEL.onnx --help'",
                                    a);
        } else if (o->model) {
            return tune_usage_error("tilec tune: one model at a time ('%s' and '%s')", o->model, a);
        } else {
            o->model = a;
        }
    }
    return -1;
}

// Has bin/tilec-run run the model once and write its calls to `path`. False after reporting why.
static bool record_calls(const ModelOptions *o, const char *path) {
    char run[1100];
    if (!sibling("tilec-run", run, sizeof run) || access(run, X_OK) != 0) {
        error_plain("cannot find tilec-run next to tilec ('%s')", run);
        return false;
    }
    const char *argv[80];
    int a = 0;
    argv[a++] = run;
    argv[a++] = o->model;
    for (int i = 0; i < o->nrun; i++)
        argv[a++] = o->run_args[i];
    argv[a++] = "--record-calls";
    argv[a++] = path;
    argv[a] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv(run, (char *const *)argv);
        _exit(127);
    }
    int ws;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        error_plain("%s: tilec-run could not run the model to record its kernel calls", o->model);
        return false;
    }
    return true;
}

// Tunes the calls of kernel calls[mine[0]].kernel among mine[0..n) with `budget` seconds, as
// `tilec tune SOURCE --kernel K --shape ...` does. Returns tune_main's status.
static int tune_kernel(const ModelOptions *o, const ModelCall *calls, const int *mine, int n, double budget,
                       const TuneIdentity *id) {
    const char **argv = calloc((size_t)(2 * n + o->npass + 16), sizeof(char *));
    int a = 0;
    char budget_text[32];
    snprintf(budget_text, sizeof budget_text, "%.3f", budget);
    argv[a++] = "tune";
    argv[a++] = calls[mine[0]].source;
    argv[a++] = "--kernel";
    argv[a++] = calls[mine[0]].kernel;
    for (int i = 0; i < n; i++) {
        argv[a++] = "--shape";
        argv[a++] = calls[mine[i]].shape;
    }
    argv[a++] = "--budget";
    argv[a++] = budget_text;
    argv[a++] = "--warm";  // as the model runs its layers: on data just written (docs/autotune.md)
    for (int i = 0; i < o->npass; i++)
        argv[a++] = o->pass[i];
    int rc = tune_main(a, (char **)argv, id);
    free(argv);
    return rc;
}

int tune_model_main(int argc, char **argv, const TuneIdentity *id) {
    double started = tune_now();
    ModelOptions o = {0};
    int rc = parse_model_options(&o, argc, argv);
    if (rc >= 0)
        return rc;
    if (!o.model)
        return tune_usage_error("tilec tune: no model; see 'tilec tune MODEL.onnx --help'");
    char path[512];
    snprintf(path, sizeof path, "%s/tilec-calls-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return tune_usage_error("cannot create a temporary file: %s", strerror(errno));
    close(fd);
    ModelCall *calls = calloc(MODEL_MAX_CALLS, sizeof *calls);
    int *mine = calloc(MODEL_MAX_CALLS, sizeof *mine);
    bool *done = calloc(MODEL_MAX_CALLS, sizeof *done);
    int ncalls =
        calls && mine && done && record_calls(&o, path) ? read_calls(path, calls, MODEL_MAX_CALLS) : -1;
    unlink(path);
    rc = 1;
    if (ncalls == 0)
        error_plain("%s: the model makes no call of a tunable kernel (matmul, bmm, la_linear, nn_conv_nchw, "
                    "nn_dwconv, conv2d_nhwc, nn_convt_k2)",
                    o.model);
    // This shard's calls (of --kernel's kernel), grouped by kernel in order of first appearance.
    int nmine = 0, tuned = 0, ngroups = 0;
    for (int i = 0; i < ncalls; i++)
        if (i % o.nshards == o.shard && (!o.kernel || !strcmp(o.kernel, calls[i].kernel)))
            mine[nmine++] = i;
    if (ncalls > 0 && nmine == 0)
        error_plain("%s: no call to tune%s%s (%d calls in the model, shard %d/%d)", o.model,
                    o.kernel ? " of kernel " : "", o.kernel ? o.kernel : "", ncalls, o.shard, o.nshards);
    for (int i = 0; i < nmine; i++) {  // distinct kernels
        int j = 0;
        while (j < i && strcmp(calls[mine[j]].kernel, calls[mine[i]].kernel))
            j++;
        ngroups += j == i;
    }
    int left = nmine, group = 0;
    int *idx = calloc(MODEL_MAX_CALLS, sizeof *idx);
    for (int g = 0; idx && g < nmine; g++) {
        if (done[g])
            continue;
        int n = take_group(calls, mine, nmine, done, g, idx);
        double budget = (o.budget - (tune_now() - started)) * n / left;
        left -= n;
        group++;
        if (budget < 1) {
            warning_plain("the budget (--budget %g) ran out before kernel %s (%d calls): not tuned", o.budget,
                          calls[idx[0]].kernel, n);
            continue;
        }
        fprintf(stderr, "tilec tune: %s: kernel %d of %d: %s, %d call%s, %.0f s\n", o.model, group, ngroups,
                calls[idx[0]].kernel, n, n == 1 ? "" : "s", budget);
        printf("%s%s (%s, %d call%s)\n", group > 1 ? "\n" : "", calls[idx[0]].kernel, calls[idx[0]].source, n,
               n == 1 ? "" : "s");
        fflush(stdout);
        if (tune_kernel(&o, calls, idx, n, budget, id) == 0)
            tuned++;
    }
    diag_flush();
    free(calls), free(mine), free(done), free(idx);
    if (tuned)
        rc = 0;
    else if (nmine)
        error_plain("%s: no call was tuned", o.model);
    diag_flush();
    return rc;
}

// ================================================================ tilec tune-resolve

// The rows of one shape: the default configuration's careful time and the fastest careful one.
typedef struct Pick {
    const char *default_key;
    double default_s, best_s;
    char best[256];
} Pick;

static void pick_row(const TuneRow *r, void *user) {
    Pick *p = user;
    if (r->status != TS_OK || r->reps < TUNE_CAREFUL_REPS)
        return;
    if (!strcmp(r->key.config, p->default_key) && (isnan(p->default_s) || r->seconds < p->default_s))
        p->default_s = r->seconds;
    if (isnan(p->best_s) || r->seconds < p->best_s) {
        p->best_s = r->seconds;
        snprintf(p->best, sizeof p->best, "%s", r->key.config);
    }
}

// "BW=64,BK=32;unroll_k=8" -> point p of kernel T->kernel. False when it names other tunables.
static bool parse_point(Tuner *T, const char *text, TunePoint *p) {
    Config c = {.n = T->kernel->tunes.len};
    const char *s = text;
    for (int i = 0; i < c.n; i++) {
        const char *name = T->kernel->tunes.items[i]->name;
        size_t nl = strlen(name);
        char *end;
        if ((i > 0 && *s++ != ',') || strncmp(s, name, nl) != 0 || s[nl] != '=')
            return false;
        c.values[i] = strtoll(s + nl + 1, &end, 10);
        if (end == s + nl + 1)
            return false;
        s = end;
    }
    if (*s && *s != ';')
        return false;
    tune_point_make(T, p, &c, *s ? s + 1 : "");
    return !strcmp(p->key, text);
}

// The calls (lines i in `calls`, all of one kernel and source) resolved: for each whose shape has
// a winner, its variant compiled or found, "INDEX<TAB>SO<TAB>CONFIG" printed.
static int resolve_kernel(const char *db, const ModelCall *calls, const int *idx, int n,
                          const TuneIdentity *id, int *compiled) {
    const char **argv = calloc((size_t)(2 * n + 12), sizeof(char *));
    int a = 0;
    argv[a++] = "tune";
    argv[a++] = calls[idx[0]].source;
    argv[a++] = "--kernel";
    argv[a++] = calls[idx[0]].kernel;
    for (int i = 0; i < n; i++) {
        argv[a++] = "--shape";
        argv[a++] = calls[idx[i]].shape;
    }
    argv[a++] = "--db";
    argv[a++] = db;
    argv[a++] = "-q";
    argv[a++] = "--warm";  // the rows tilec tune MODEL.onnx wrote
    Tuner *T = tune_open(a, (char **)argv, id);
    free(argv);
    if (!T)
        return 1;
    // T->shapes holds the distinct shapes in order: map each call to its own by its text.
    for (int i = 0; i < n; i++) {
        TuneShape one;
        int before = T->nshapes;
        T->nshapes = 0;  // tune_add_shapes canonicalizes into T->shapes[0]
        TuneShape saved = T->shapes[0];
        bool ok = tune_add_shapes(T, calls[idx[i]].shape);
        one = T->shapes[0];
        T->shapes[0] = saved;
        T->nshapes = before;
        if (!ok)
            continue;
        TunePoint dflt;
        tune_point_make(T, &dflt, tune_shape_default(T, &one), "");
        Pick pick = {.default_key = dflt.key, .default_s = NAN, .best_s = NAN};
        TuneKey filter = T->key;
        snprintf(filter.shape, sizeof filter.shape, "%s", one.text);
        char err[1024];
        if (tune_db_each(T->db, &filter, pick_row, &pick, err, sizeof err) < 0) {
            error_plain("%s", err);
            continue;
        }
        if (isnan(pick.default_s) || !strcmp(pick.best, dflt.key) ||
            !(pick.best_s < pick.default_s * (1 - TUNE_WIN_MARGIN)))
            continue;
        TunePoint p, *pp = &p;
        if (!parse_point(T, pick.best, &p)) {
            warning_plain("%s: kernel %s: the database's configuration '%s' is not one of the kernel's",
                          calls[idx[i]].source, T->kernel->name, pick.best);
            continue;
        }
        bool failed = false;
        tune_compile_points(T, &pp, 1, &failed);
        char so[1300];
        tune_so_path(T, &p, so, sizeof so);
        if (failed || access(so, R_OK) != 0) {
            warning_plain("%s: kernel %s: cannot compile configuration %s (see %s.log)", calls[idx[i]].source,
                          T->kernel->name, p.key, so);
            continue;
        }
        printf("%d\t%s\t%s\n", idx[i], so, p.key);
    }
    *compiled += T->compiled;
    tune_close(T);
    return 0;
}

int tune_resolve_main(int argc, char **argv, const TuneIdentity *id) {
    char db[1024];
    tune_default_db_path(db, sizeof db);
    const char *calls_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            snprintf(db, sizeof db, "%s", argv[++i]);
        else if (argv[i][0] == '-' || calls_path)
            return tune_usage_error("usage: tilec tune-resolve [--db PATH] CALLS");
        else
            calls_path = argv[i];
    }
    if (!calls_path)
        return tune_usage_error("usage: tilec tune-resolve [--db PATH] CALLS");
    if (access(db, R_OK) != 0)
        return tune_usage_error("cannot read the tuning database '%s': %s", db, strerror(errno));
    ModelCall *calls = calloc(MODEL_MAX_CALLS, sizeof *calls);
    bool *done = calloc(MODEL_MAX_CALLS, 1);
    int n = calls && done ? read_calls(calls_path, calls, MODEL_MAX_CALLS) : -1;
    int rc = n < 0, compiled = 0;
    int *idx = calloc(MODEL_MAX_CALLS, sizeof *idx), *order = calloc(MODEL_MAX_CALLS, sizeof *order);
    for (int i = 0; order && i < n; i++)
        order[i] = i;
    for (int g = 0; idx && order && g < n; g++) {
        if (done[g])
            continue;
        int k = take_group(calls, order, n, done, g, idx);
        rc |= resolve_kernel(db, calls, idx, k, id, &compiled);
    }
    fflush(stdout);
    if (compiled)
        fprintf(stderr, "tilec: compiled %d tuned variant%s into the variant cache\n", compiled,
                compiled == 1 ? "" : "s");
    diag_flush();
    free(calls), free(done), free(idx), free(order);
    return rc;
}
