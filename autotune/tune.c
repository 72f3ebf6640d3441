// autotune/tune.c — `tilec tune`: the search over a kernel's space, shape by shape (tune.h,
// docs/autotune.md).
//
// For each shape: the configurations its constraints allow (the sizes bound, so run-time
// `where` clauses prune too) are ranked — by their times at the previous shape of the sweep when
// there is one, else in declaration order, the default first. The default is measured first (it
// is the reference every other variant's output is checked against, and its time sizes the
// search); round 1 measures as many of the ranked configurations as the shape's share of the
// budget allows, one quick timing each; round 2 re-times the best few and the default with more
// calls; round 3 tries the target's schedule alternatives (unrolling, register tile) on the
// winner. Every measurement goes to the database as it is made, so a killed sweep resumes
// where it stopped and a repeated one is answered from the database. The plan depends only on
// the options and on results already in the database, never on wall-clock time.
#include "tune.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"

#include "../lang/diag.h"
#include "../lang/sema.h"
#include "../lowering/lower.h"
#include "../parser/parse.h"
#include "measure.h"

#define MAX_SHAPES 256
#define MAX_CONFIGS 4096
#define MAX_BOUND 16

// ================================================================ data

// A shape: values for the kernel's sizes (all of them) and for some of its scalars.
typedef struct Shape {
    int n;
    char name[MAX_BOUND][32];
    double value[MAX_BOUND];
    char text[256];  // canonical, in the kernel's order: "M=1024,K=1024,N=1024"
} Shape;

// A point of the search: a configuration of the tunables and schedule overrides.
typedef struct Point {
    Config config;
    char sched[96];  // "" for the target's default schedule, else "unroll_k=8"
    char key[256];   // "BM=256,BN=256,BK=64" or "BM=...;unroll_k=8"
} Point;

typedef struct Tuner {
    // options
    const char **inputs;
    int ninputs;
    const char **include_dirs;
    int ninclude;
    const char *kernel_name;
    Shape shapes[MAX_SHAPES];
    int nshapes;
    double budget;   // seconds for the whole search
    double timeout;  // per variant run (0: from the default's time)
    int jobs;
    int shard, nshards;
    bool quiet, json, progress;
    const char *svg;
    const char *flops;  // "2*M*N*K"
    char db_path[1024];
    const TuneIdentity *id;
    // state
    Program prog;
    Node *kernel;
    Config configs[MAX_CONFIGS];
    int nconfigs;
    // The untuned object's versions ([0] the default configuration): a shape's default is the
    // first that accepts it, the configuration the untuned object runs there.
    Config untuned[LOWER_MAX_CONSTRAINT_VERSIONS];
    int nuntuned;
    TuneDB *db;
    TuneKey key;         // source hash, compiler, target, device, kernel
    char full_hash[40];  // the sources' whole text and the tilec binary's size and time: names variants
    char workdir[256];   // temporary: references
    char cachedir[1024];
    double started;
    int measured, reused, compiled;
    int shape_i, shapes_total;
} Tuner;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_plain("%s", msg);
    diag_flush();
    return 1;
}

// ================================================================ identity

static void hex128(XXH128_hash_t h, char *out) {
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

void tune_key_for(const Program *prog, const Node *kernel, const TuneIdentity *id, TuneKey *key) {
    memset(key, 0, sizeof *key);
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    for (int f = 0; f < prog->nfiles; f++) {
        const SourceFile *file = prog->files[f];
        size_t lo = file->len, hi = file->len;
        for (int t = 0; t < kernel->tunes.len; t++) {
            const Span *s = &kernel->tunes.items[t]->span;
            if (s->file != file)
                continue;
            lo = s->off < lo ? s->off : lo;
            hi = hi == file->len || s->off + s->len > hi ? s->off + s->len : hi;
        }
        // The text only, not the path: a kernel tuned as stdlib/k.tile is the same kernel when
        // built as /abs/path/stdlib/k.tile or from another directory. The length keeps file
        // boundaries apart.
        uint64_t len = file->len;
        XXH3_128bits_update(st, &len, sizeof len);
        XXH3_128bits_update(st, file->text, lo);
        if (hi < file->len)
            XXH3_128bits_update(st, file->text + hi, file->len - hi);
    }
    hex128(XXH3_128bits_digest(st), key->source_hash);
    XXH3_freeState(st);
    snprintf(key->compiler, sizeof key->compiler, "%s", id->compiler);
    char *cpu = id->cpu ? strdup(id->cpu) : LLVMGetHostCPUName();
    snprintf(key->target, sizeof key->target, "x86_64:%s", cpu);
    if (id->cpu)
        free(cpu);
    else
        LLVMDisposeMessage(cpu);
    char model[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    const char *threads = getenv("TILE_NUM_THREADS");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(key->device, sizeof key->device, "%s, %ld threads", model,
             threads && atol(threads) > 0 ? atol(threads) : cores);
    snprintf(key->kernel, sizeof key->kernel, "%s", kernel->name);
}

void tune_default_db_path(char *out, int size) {
    const char *env = getenv("TILEC_TUNE_DB");
    if (env && *env) {
        snprintf(out, (size_t)size, "%s", env);
        return;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, (size_t)size, "%s/tilec/tune.db", xdg);
    else
        snprintf(out, (size_t)size, "%s/.cache/tilec/tune.db", home && *home ? home : "/tmp");
}

static bool make_dirs(const char *path) {  // mkdir -p of the directory part of path/
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return false;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    return true;
}

// ================================================================ shapes and sweeps

static int size_index(const KernelInfo *ki, const char *name) {
    for (int i = 0; i < ki->nsizes; i++)
        if (strcmp(ki->sizes[i]->name, name) == 0)
            return i;
    return -1;
}

static int scalar_index(const KernelInfo *ki, const char *name) {
    for (int i = 0; i < ki->nscalars; i++)
        if (strcmp(ki->scalars[i]->name, name) == 0)
            return i;
    return -1;
}

// Canonical text and order: the kernel's sizes, then its scalars, in declaration order.
static bool finish_shape(Tuner *T, Shape *s, const char *spec) {
    const KernelInfo *ki = T->kernel->kinfo;
    Shape out = {0};
    for (int i = 0; i < ki->nsizes; i++) {
        int k = 0;
        while (k < s->n && strcmp(s->name[k], ki->sizes[i]->name) != 0)
            k++;
        if (k == s->n) {
            usage_error("'%s' gives no value for size '%s' of kernel '%s'", spec, ki->sizes[i]->name,
                        T->kernel->name);
            return false;
        }
        if (s->value[k] < 0 || s->value[k] != floor(s->value[k]) || s->value[k] > 1e12) {
            usage_error("'%s': size %s must be a non-negative integer", spec, s->name[k]);
            return false;
        }
        snprintf(out.name[out.n], 32, "%s", s->name[k]);
        out.value[out.n++] = s->value[k];
    }
    for (int i = 0; i < ki->nscalars; i++)
        for (int k = 0; k < s->n; k++)
            if (strcmp(s->name[k], ki->scalars[i]->name) == 0) {
                snprintf(out.name[out.n], 32, "%s", s->name[k]);
                out.value[out.n++] = s->value[k];
            }
    for (int k = 0; k < s->n; k++)
        if (size_index(ki, s->name[k]) < 0 && scalar_index(ki, s->name[k]) < 0) {
            usage_error("'%s': kernel '%s' has no size or scalar parameter '%s'", spec, T->kernel->name,
                        s->name[k]);
            return false;
        }
    size_t len = 0;
    for (int k = 0; k < out.n; k++)
        len += (size_t)snprintf(out.text + len, sizeof out.text - len, "%s%s=%.17g", k ? "," : "",
                                out.name[k], out.value[k]);
    *s = out;
    for (int i = 0; i < T->nshapes; i++)
        if (strcmp(T->shapes[i].text, s->text) == 0)
            return true;  // given twice: tuned once
    if (T->nshapes == MAX_SHAPES) {
        usage_error("more than %d shapes", MAX_SHAPES);
        return false;
    }
    T->shapes[T->nshapes++] = *s;
    return true;
}

// One item of a sweep: "M=N=K=256..4096*2", "K=64..256+64", "N=1000".
typedef struct Range {
    char names[MAX_BOUND][32];
    int nnames;
    double values[256];
    int nvalues;
} Range;

static bool parse_range(const char *item, Range *r, const char *spec) {
    memset(r, 0, sizeof *r);
    const char *p = item, *eq;
    while ((eq = strchr(p, '=')) && eq[1] && !strchr("0123456789-.", eq[1]) && r->nnames < MAX_BOUND) {
        snprintf(r->names[r->nnames++], 32, "%.*s", (int)(eq - p), p);
        p = eq + 1;
    }
    if (!eq || eq == p || r->nnames == MAX_BOUND) {
        usage_error("'%s': expected NAME=VALUE or NAME=LO..HI*FACTOR / NAME=LO..HI+STEP in '%s'", spec, item);
        return false;
    }
    snprintf(r->names[r->nnames++], 32, "%.*s", (int)(eq - p), p);
    const char *v = eq + 1, *dots = strstr(v, "..");
    char *end;
    char lo_text[64];
    snprintf(lo_text, sizeof lo_text, "%.*s", dots ? (int)(dots - v) : (int)strlen(v), v);
    double lo = strtod(lo_text, &end);
    if (end == lo_text || *end != '\0')
        goto bad;
    if (!dots) {
        r->values[r->nvalues++] = lo;
        return true;
    }
    v = dots + 2;
    double hi = strtod(v, &end);
    if (end == v || (*end != '*' && *end != '+'))
        goto bad;
    char op = *end;
    v = end + 1;
    double step = strtod(v, &end);
    if (end == v || *end != '\0' || (op == '*' && step <= 1) || (op == '+' && step <= 0) || lo > hi)
        goto bad;
    for (double x = lo; x <= hi * (1 + 1e-12) && r->nvalues < 256; x = op == '*' ? x * step : x + step)
        r->values[r->nvalues++] = x;
    return true;
bad:
    usage_error("'%s': bad range '%s' (expected LO..HI*FACTOR or LO..HI+STEP, LO <= HI)", spec, item);
    return false;
}

// A --shape or --sweep: the cartesian product of its comma-separated items.
static bool add_shapes(Tuner *T, const char *spec) {
    Range ranges[MAX_BOUND];
    int nr = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (nr == MAX_BOUND)
            return usage_error("'%s': too many items", spec) == 0;
        if (!parse_range(item, &ranges[nr++], spec))
            return false;
    }
    if (nr == 0)
        return usage_error("empty shape '%s'", spec) == 0;
    int idx[MAX_BOUND] = {0};
    for (;;) {
        Shape s = {0};
        for (int i = 0; i < nr; i++)
            for (int k = 0; k < ranges[i].nnames && s.n < MAX_BOUND; k++) {
                memcpy(s.name[s.n], ranges[i].names[k], 32);
                s.value[s.n++] = ranges[i].values[idx[i]];
            }
        if (!finish_shape(T, &s, spec))
            return false;
        int i = nr - 1;
        while (i >= 0 && ++idx[i] == ranges[i].nvalues)
            idx[i--] = 0;
        if (i < 0)
            return true;
    }
}

static double shape_value(const Shape *s, const char *name, bool *found) {
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->name[k], name) == 0) {
            *found = true;
            return s->value[k];
        }
    *found = false;
    return 0;
}

// --flops "2*M*N*K": a sum of products of integers and size names. NAN when absent or bad.
static double eval_flops(const char *expr, const Shape *s) {
    if (!expr)
        return NAN;
    double sum = 0, prod = 1;
    const char *p = expr;
    while (*p) {
        char *end;
        double v;
        if ((*p >= '0' && *p <= '9') || *p == '.') {
            v = strtod(p, &end);
            p = end;
        } else {
            const char *q = p;
            while (*q && *q != '*' && *q != '+')
                q++;
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
            bool found;
            v = shape_value(s, name, &found);
            if (!found)
                return NAN;
            p = q;
        }
        prod *= v;
        if (*p == '+') {
            sum += prod;
            prod = 1;
        } else if (*p && *p != '*') {
            return NAN;
        }
        if (*p)
            p++;
    }
    return sum + prod;
}

// ================================================================ points

static void point_make(Tuner *T, Point *p, const Config *c, const char *sched) {
    p->config = *c;
    snprintf(p->sched, sizeof p->sched, "%s", sched);
    size_t len = 0;
    const NodeList *tunes = &T->kernel->tunes;
    for (int i = 0; i < c->n; i++)
        len += (size_t)snprintf(p->key + len, sizeof p->key - len, "%s%s=%lld", i ? "," : "",
                                tunes->items[i]->name, (long long)c->values[i]);
    if (*sched)
        snprintf(p->key + len, sizeof p->key - len, ";%s", sched);
}

static bool same_config(const Config *a, const Config *b) {
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->values[i] != b->values[i])
            return false;
    return true;
}

// The database key of point p on shape s.
static void row_key(const Tuner *T, const Shape *s, const Point *p, TuneKey *k) {
    *k = T->key;
    snprintf(k->shape, sizeof k->shape, "%s", s->text);
    snprintf(k->config, sizeof k->config, "%s", p->key);
}

// The variant's shared object in the cache (named by everything that shapes its code).
static void so_path(Tuner *T, const Point *p, char *out, size_t n) {
    char text[1024];
    snprintf(text, sizeof text, "%s|%s|%s|%s|%s", T->full_hash, T->key.compiler, T->key.target,
             T->kernel->name, p->key);
    XXH128_hash_t h = XXH3_128bits(text, strlen(text));
    char hex[40];
    hex128(h, hex);
    snprintf(out, n, "%s/%s-%s.so", T->cachedir, T->kernel->name, hex);
}

// Compiles the points whose shared objects are missing, up to T->jobs at once. Each is a
// `tilec` process (the same binary) writing an object, then `cc -shared` (CC overrides).
static void compile_points(Tuner *T, Point **pts, int n, bool *failed) {
    int running = 0, next = 0;
    pid_t pids[64];
    int which[64];
    for (int i = 0; i < n; i++)
        failed[i] = false;
    while (next < n || running > 0) {
        while (next < n && running < T->jobs && running < 64) {
            char so[1200];
            so_path(T, pts[next], so, sizeof so);
            if (access(so, R_OK) == 0) {
                next++;
                continue;
            }
            char obj[1300], log[1300], tmp[1300];
            snprintf(obj, sizeof obj, "%s.%d.o", so, (int)getpid());
            snprintf(log, sizeof log, "%s.log", so);
            snprintf(tmp, sizeof tmp, "%s.%d.tmp", so, (int)getpid());
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                FILE *lf = freopen(log, "w", stderr);
                (void)lf;
                dup2(2, 1);
                const char *argv[256];
                int a = 0;
                char self[1024];
                ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
                self[sl > 0 ? sl : 0] = '\0';
                argv[a++] = self;
                for (int i = 0; i < T->ninputs && a < 200; i++)
                    argv[a++] = T->inputs[i];
                for (int i = 0; i < T->ninclude && a < 200; i++) {
                    argv[a++] = "-I";
                    argv[a++] = T->include_dirs[i];
                }
                argv[a++] = "--kernel";
                argv[a++] = T->kernel->name;
                char defs[64][96];
                for (int i = 0; i < pts[next]->config.n && i < 64 && a < 240; i++) {
                    snprintf(defs[i], sizeof defs[i], "%s=%lld", T->kernel->tunes.items[i]->name,
                             (long long)pts[next]->config.values[i]);
                    argv[a++] = "-D";
                    argv[a++] = defs[i];
                }
                char sched[128], cpu[128];
                if (pts[next]->sched[0]) {
                    snprintf(sched, sizeof sched, "--schedule=%s", pts[next]->sched);
                    argv[a++] = sched;
                }
                if (T->id->cpu) {
                    snprintf(cpu, sizeof cpu, "--cpu=%s", T->id->cpu);
                    argv[a++] = cpu;
                }
                argv[a++] = "-o";
                argv[a++] = obj;
                argv[a] = NULL;
                pid_t c = fork();
                if (c == 0) {
                    execv(self, (char *const *)argv);
                    _exit(127);
                }
                int ws;
                if (c < 0 || waitpid(c, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
                    _exit(1);
                const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
                c = fork();
                if (c == 0) {
                    execlp(cc, cc, "-shared", "-o", tmp, obj, (char *)NULL);
                    _exit(127);
                }
                bool ok = c > 0 && waitpid(c, &ws, 0) > 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
                unlink(obj);
                char hdr[1300];
                snprintf(hdr, sizeof hdr, "%s.%d.h", so, (int)getpid());
                unlink(hdr);
                _exit(ok && rename(tmp, so) == 0 ? 0 : 1);
            }
            if (pid < 0) {
                failed[next++] = true;
                continue;
            }
            pids[running] = pid;
            which[running++] = next++;
        }
        if (running == 0)
            break;
        int ws;
        pid_t done = wait(&ws);
        for (int r = 0; r < running; r++)
            if (pids[r] == done) {
                if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
                    failed[which[r]] = true;
                else
                    T->compiled++;
                pids[r] = pids[running - 1];
                which[r] = which[--running];
                break;
            }
    }
}

// ================================================================ measuring

typedef struct ShapeRun {
    Shape *shape;
    char ref[512];
    bool ref_ready;    // the reference output is in `ref` (written by this process)
    Point *ref_point;  // the point whose output is the reference
    double t_ref;      // the reference's median time
    MeasureJob job;    // the kernel's arguments for this shape (job_for), shared by every point
    double bytes;      // of one set of the tensors
    int done, planned;
} ShapeRun;

static void progress(Tuner *T, ShapeRun *S, const char *phase) {
    if (!T->progress)
        return;
    double el = now() - T->started;
    double frac = (T->shape_i + (S->planned ? (double)S->done / S->planned : 0)) / T->shapes_total;
    char eta[32] = "?";
    if (frac > 0.02) {
        double left = el / frac - el;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)left / 60, (int)left % 60);
    }
    int width = 24, fill = (int)(frac * width);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K[%s] shape %d/%d %.40s %s %d/%d  %dm%02ds, ETA %s", bar, T->shape_i + 1,
            T->shapes_total, S->shape->text, phase, S->done, S->planned, (int)el / 60, (int)el % 60, eta);
    fflush(stderr);
}

// The arguments of the kernel's entry for shape S (the same for every point of the shape).
static void job_for(Tuner *T, ShapeRun *S, MeasureJob *job) {
    const KernelInfo *ki = T->kernel->kinfo;
    memset(job, 0, sizeof *job);
    bool found;
    for (int i = 0; i < ki->ntensors && job->nargs < 64; i++) {
        const Symbol *t = ki->tensors[i];
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_TENSOR;
        a->elem = t->type.elem;
        a->is_out = ((const Node *)t->decl)->is_out;
        a->elems = 1;
        for (int d = 0; d < t->type.rank; d++)
            a->elems *=
                t->dims[d] ? (int64_t)shape_value(S->shape, t->dims[d]->name, &found) : t->const_dims[d];
    }
    for (int i = 0; i < ki->nscalars && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_SCALAR;
        a->elem = ki->scalars[i]->type.elem;
        double v = shape_value(S->shape, ki->scalars[i]->name, &found);
        a->fval = found ? v : 1.0;  // unbound scalars are 1 (docs/autotune.md)
        a->ival = (int64_t)a->fval;
    }
    for (int i = 0; i < ki->nsizes && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_INT64;
        a->ival = (int64_t)shape_value(S->shape, ki->sizes[i]->name, &found);
    }
    // Declared strides: those of the contiguous row-major layout.
    for (int i = 0; i < ki->nstrides && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_INT64;
        a->ival = 1;
        for (int t = 0; t < ki->ntensors; t++) {
            const Symbol *ts = ki->tensors[t];
            for (int d = 0; d < ts->type.rank; d++)
                if (ts->strides[d] == ki->strides[i]) {
                    int64_t st = 1;
                    for (int e = d + 1; e < ts->type.rank; e++)
                        st *= ts->dims[e] ? (int64_t)shape_value(S->shape, ts->dims[e]->name, &found)
                                          : ts->const_dims[e];
                    a->ival = st;
                }
        }
    }
    job->symbol = T->kernel->name;
    job->tolerance = 1e-3;
    for (int i = 0; i < ki->ntensors; i++)
        if (ki->tensors[i]->type.elem == EL_F16 || ki->tensors[i]->type.elem == EL_BF16)
            job->tolerance = 2e-2;
}

enum { QUICK, FULL };

static TuneRow measure_point(Tuner *T, ShapeRun *S, Point *p, int quality, bool write_ref);

// The row for point p on shape S: from the database when it holds one good enough (any
// failure, or a time from at least as many calls as `quality` asks), else measured now (after
// the reference, when this process has not written its output yet).
static TuneRow point_result(Tuner *T, ShapeRun *S, Point *p, int quality) {
    TuneKey key;
    row_key(T, S->shape, p, &key);
    char err[1024];
    TuneRow row;
    int got = tune_db_get(T->db, &key, &row, err, sizeof err);
    if (got < 0)
        error_plain("%s", err);
    if (got == 1 && (row.status != TS_OK || row.reps >= (quality == FULL ? TUNE_CAREFUL_REPS : 1))) {
        T->reused++;
        return row;
    }
    if (!S->ref_ready && S->ref_point && S->ref_point != p)
        measure_point(T, S, S->ref_point, FULL, true);
    return measure_point(T, S, p, quality, p == S->ref_point && !S->ref_ready);
}

static TuneRow measure_point(Tuner *T, ShapeRun *S, Point *p, int quality, bool write_ref) {
    TuneRow row = {.status = TS_COMPILE};
    row_key(T, S->shape, p, &row.key);
    char err[1024];
    bool failed = false;
    compile_points(T, &p, 1, &failed);
    if (!failed) {
        MeasureJob job = S->job;
        char so[1200];
        so_path(T, p, so, sizeof so);
        job.so_path = so;
        job.ref_path = S->ref;
        job.write_ref = write_ref;
        job.min_reps = quality == FULL ? TUNE_CAREFUL_REPS : 1;
        job.max_reps = quality == FULL ? 200 : 20;
        job.min_seconds = quality == FULL ? 0.25 : 0.02;
        double t = S->t_ref > 0 ? S->t_ref : 1.0;
        job.timeout = T->timeout > 0 ? T->timeout : 30 + t * (job.min_reps + 3) * 10;
        MeasureResult m = measure_run(&job);
        row.status = m.status;
        row.seconds = m.seconds;
        row.reps = m.reps;
        row.max_error = m.max_error;
        if (write_ref && m.status == TS_OK)
            S->ref_ready = true;
        if (m.status != TS_OK && !T->quiet && m.status != TS_INVALID) {
            if (T->progress)
                fprintf(stderr, "\r\033[K");
            fprintf(stderr, "tilec tune: %s %s: %s: %s\n", S->shape->text, p->key, tune_status_name(m.status),
                    m.detail);
        }
    }
    T->measured++;
    if (!tune_db_put(T->db, &row, err, sizeof err))
        error_plain("%s", err);
    return row;
}

// The reference of the shape: the first allowed point (in order) that runs correctly on it.
// Returns that point's index or -1.
static int ensure_reference(Tuner *T, ShapeRun *S, Point *pts, int n, TuneRow *out) {
    for (int i = 0; i < n; i++) {
        S->ref_point = &pts[i];
        TuneRow r = point_result(T, S, &pts[i], FULL);
        if (r.status == TS_OK) {
            S->t_ref = r.seconds;
            *out = r;
            return i;
        }
    }
    S->ref_point = NULL;
    return -1;
}

typedef struct Ranked {
    int point;
    double seconds;
    bool careful;  // round 1's row was already timed carefully (round 2 of an earlier run)
} Ranked;

static int by_seconds(const void *a, const void *b) {
    double x = ((const Ranked *)a)->seconds, y = ((const Ranked *)b)->seconds;
    return (x > y) - (x < y);
}

// Round 2's order: points an earlier run already timed carefully first (so that a repeated
// sweep picks the same ones: their rows now hold careful times, which can rank them below a
// quick time they beat in round 1), then by time.
static int by_careful_then_seconds(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->careful != y->careful)
        return x->careful ? -1 : 1;
    return by_seconds(a, b);
}

// Whether the kernel multiplies tiles (dot or @, helpers included): only then do the
// schedule alternatives change its code.
static bool has_dot(const Node *n) {
    if (!n)
        return false;
    if ((n->kind == ND_BINARY && n->op == OP_MATMUL) ||
        (n->kind == ND_CALL && n->name && !strcmp(n->name, "dot")))
        return true;
    const Node *kids[] = {n->lhs,   n->rhs,  n->cond, n->then, n->els,    n->init,
                          n->limit, n->step, n->body, n->base, n->inlined};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (has_dot(kids[i]))
            return true;
    for (int i = 0; i < n->args.len; i++)
        if (has_dot(n->args.items[i]))
            return true;
    for (int i = 0; i < n->kwargs.len; i++)
        if (has_dot(n->kwargs.items[i]))
            return true;
    return false;
}

// The per-shape outcome printed at the end.
typedef struct Outcome {
    Shape *shape;
    bool ok;
    Point best;
    double best_s, default_s;
    int candidates, tried;
} Outcome;

// One shape's search. `prev` (NULL for the first shape): per configuration, its time on the
// previous shape (NAN: not measured there, INFINITY: it failed there).
static void tune_shape(Tuner *T, ShapeRun *S, const double *prev, Outcome *o) {
    o->shape = S->shape;
    job_for(T, S, &S->job);
    S->bytes = 0;
    for (int i = 0; i < S->job.nargs; i++)
        if (S->job.args[i].kind == MA_TENSOR)
            S->bytes += (double)S->job.args[i].elems * (double)measure_elem_bytes(S->job.args[i].elem);
    // Bind the sizes (and scalars given) and keep the configurations whose constraints hold,
    // ordered: the default, then by the previous shape's times, else declaration order.
    SemaDefine bind[MAX_BOUND];
    for (int k = 0; k < S->shape->n; k++)
        bind[k] = (SemaDefine){.name = S->shape->name[k], .value = (int64_t)S->shape->value[k]};
    const Config *dflt = &T->untuned[0];
    for (int u = 0; u < T->nuntuned; u++)
        if (sema_constraints_hold(&T->prog, T->kernel, &T->untuned[u], bind, S->shape->n) != 0) {
            dflt = &T->untuned[u];
            break;
        }
    Ranked *order = malloc(sizeof(Ranked) * (size_t)T->nconfigs);
    int na = 0;
    bool has_default = false;
    for (int c = 0; c < T->nconfigs; c++) {
        if (sema_constraints_hold(&T->prog, T->kernel, &T->configs[c], bind, S->shape->n) == 0)
            continue;
        bool is_default = same_config(&T->configs[c], dflt);
        has_default = has_default || is_default;
        order[na] = (Ranked){.point = c,
                             .seconds = is_default                ? -1
                                        : prev && !isnan(prev[c]) ? prev[c]
                                                                  : 1e30 + na};
        na++;
    }
    o->candidates = na;
    qsort(order, (size_t)na, sizeof *order, by_seconds);
    Point *pts = malloc(sizeof(Point) * (size_t)(na ? na : 1));
    for (int i = 0; i < na; i++)
        point_make(T, &pts[i], &T->configs[order[i].point], "");
    Ranked *r1 = malloc(sizeof(Ranked) * (size_t)(na ? na : 1));
    S->planned = 1;
    progress(T, S, "reference");
    TuneRow ref;
    int r0 = na ? ensure_reference(T, S, pts, na, &ref) : -1;
    S->done = 1;
    if (r0 < 0)
        goto done;
    o->default_s = r0 == 0 && has_default ? ref.seconds : NAN;
    // Round 1: as many as the shape's share of the budget pays for. The estimate of one
    // point: its compile (shared by the jobs), the child's start and input fill, and a checked,
    // a warm-up and a timed call (at least 20 ms of calls).
    double share = T->budget / T->shapes_total;
    double per = 1.0 / T->jobs + 0.05 + S->bytes * 2 / 1e9 + 2 * S->t_ref + fmax(S->t_ref, 0.02);
    int n1 = (int)(0.6 * share / per);
    n1 = n1 < 2 ? 2 : n1 > na ? na : n1;
    S->planned = 1 + n1 + 3 + 4;
    // Compile round 1's points together first (in parallel), then measure them one by one.
    Point **batch = malloc(sizeof(Point *) * (size_t)n1);
    bool *failed = malloc((size_t)n1);
    int nb = 0;
    for (int i = 0; i < n1; i++) {
        TuneKey key;
        TuneRow row;
        char err[256];
        row_key(T, S->shape, &pts[i], &key);
        if (tune_db_get(T->db, &key, &row, err, sizeof err) != 1)
            batch[nb++] = &pts[i];
    }
    if (nb > 1) {
        progress(T, S, "compiling");
        compile_points(T, batch, nb, failed);
    }
    free(batch);
    free(failed);
    int nr1 = 0;
    for (int i = 0; i < n1; i++) {
        TuneRow r = i == r0 ? ref : point_result(T, S, &pts[i], QUICK);
        S->done++;
        progress(T, S, "round 1");
        if (r.status == TS_OK && i != r0)  // the reference is round 2's yardstick, not a candidate
            r1[nr1++] = (Ranked){.point = i, .seconds = r.seconds, .careful = r.reps >= TUNE_CAREFUL_REPS};
    }
    o->tried = n1;
    // Rounds 2 and 3 get what is left of the shape's share, at the cost of a careful timing
    // (its compile, and calls worth max(0.25 s, 3 calls) plus the checked and warm-up calls).
    double careful = 1.0 / T->jobs + 0.1 + S->bytes * 2 / 1e9 + 2 * S->t_ref + fmax(0.25, 3 * S->t_ref);
    double left = share - careful - n1 * per;
    int n2 = (int)(0.5 * left / careful);
    n2 = n2 < 1 ? 1 : n2 > 3 ? 3 : n2;
    bool round3 = 0.5 * left >= 3 * careful && has_dot(T->kernel->body);
    // Round 2: the best of round 1 timed again with more calls, against the reference, which
    // they must beat by TUNE_WIN_MARGIN.
    qsort(r1, (size_t)nr1, sizeof *r1, by_careful_then_seconds);
    int best = r0;
    double best_s = ref.seconds;
    for (int i = 0; i < nr1 && i < n2; i++) {
        TuneRow r = point_result(T, S, &pts[r1[i].point], FULL);
        S->done++;
        progress(T, S, "round 2");
        if (r.status == TS_OK && r.seconds < best_s && r.seconds < ref.seconds * (1 - TUNE_WIN_MARGIN)) {
            best = r1[i].point;
            best_s = r.seconds;
        }
    }
    o->best = pts[best];
    // Round 3: the target's schedule alternatives on the winner.
    static const char *const alternatives[] = {"unroll_k=8", "unroll_k=2", "reg_m=4,reg_n=24"};
    for (int a = 0; a < 3 && round3; a++) {
        Point alt;
        point_make(T, &alt, &pts[best].config, alternatives[a]);
        TuneRow r = point_result(T, S, &alt, FULL);
        S->done++;
        progress(T, S, "schedules");
        if (r.status == TS_OK && r.seconds < best_s && r.seconds < ref.seconds * (1 - TUNE_WIN_MARGIN)) {
            o->best = alt;
            best_s = r.seconds;
        }
    }
    o->best_s = best_s;
    o->ok = true;
done:
    free(order);
    free(pts);
    free(r1);
}

// ================================================================ reports

static void print_table(Tuner *T, Outcome *out, int n) {
    printf("kernel %s (%s), %s\n", T->kernel->name, T->key.target, T->key.device);
    printf("%-28s %-40s %12s %10s %12s %8s\n", "shape", "best config", "time", T->flops ? "GFLOP/s" : "",
           "default", "speedup");
    double logsum = 0;
    int nlog = 0;
    for (int i = 0; i < n; i++) {
        Outcome *o = &out[i];
        if (!o->ok) {
            printf("%-28s %-40s\n", o->shape->text, "(no configuration ran correctly)");
            continue;
        }
        double fl = eval_flops(T->flops, o->shape);
        char gf[32] = "";
        if (!isnan(fl))
            snprintf(gf, sizeof gf, "%.2f", fl / o->best_s / 1e9);
        char def[32] = "n/a", sp[32] = "n/a";
        if (!isnan(o->default_s)) {
            snprintf(def, sizeof def, "%.3f ms", o->default_s * 1e3);
            snprintf(sp, sizeof sp, "%.2fx", o->default_s / o->best_s);
            logsum += log(o->default_s / o->best_s);
            nlog++;
        }
        printf("%-28s %-40s %9.3f ms %10s %12s %8s\n", o->shape->text, o->best.key, o->best_s * 1e3, gf, def,
               sp);
    }
    if (nlog)
        printf("geometric mean speedup over the default: %.3fx (%d shapes)\n", exp(logsum / nlog), nlog);
    printf("%d measured, %d from the database (%s), %d variants compiled\n", T->measured, T->reused,
           T->db_path, T->compiled);
}

static void print_json(Tuner *T, Outcome *out, int n) {
    printf("{\"kernel\": \"%s\", \"target\": \"%s\", \"device\": \"%s\", \"shapes\": [", T->kernel->name,
           T->key.target, T->key.device);
    for (int i = 0; i < n; i++) {
        Outcome *o = &out[i];
        printf("%s\n  {\"shape\": \"%s\", \"ok\": %s", i ? "," : "", o->shape->text,
               o->ok ? "true" : "false");
        if (o->ok) {
            double fl = eval_flops(T->flops, o->shape);
            printf(", \"best\": \"%s\", \"seconds\": %.9g", o->best.key, o->best_s);
            if (!isnan(fl))
                printf(", \"gflops\": %.4f", fl / o->best_s / 1e9);
            if (!isnan(o->default_s))
                printf(", \"default_seconds\": %.9g, \"speedup\": %.4f", o->default_s,
                       o->default_s / o->best_s);
            printf(", \"candidates\": %d, \"tried\": %d", o->candidates, o->tried);
        }
        printf("}");
    }
    printf("\n], \"measured\": %d, \"from_db\": %d}\n", T->measured, T->reused);
}

// The sweep's chart: best and default against the shapes (GFLOP/s with --flops, else 1/time).
static bool write_svg(Tuner *T, Outcome *out, int n, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return usage_error("cannot write '%s': %s", path, strerror(errno)) == 0;
    int W = 760, H = 420, L = 70, R = 20, Tp = 40, B = 110;
    double ymax = 0;
    double best[MAX_SHAPES], dflt[MAX_SHAPES];
    for (int i = 0; i < n; i++) {
        double fl = eval_flops(T->flops, out[i].shape);
        double scale = isnan(fl) ? 1 : fl / 1e9;
        best[i] = out[i].ok ? scale / out[i].best_s : NAN;
        dflt[i] = out[i].ok && !isnan(out[i].default_s) ? scale / out[i].default_s : NAN;
        ymax = fmax(ymax, fmax(isnan(best[i]) ? 0 : best[i], isnan(dflt[i]) ? 0 : dflt[i]));
    }
    if (ymax <= 0)
        ymax = 1;
    ymax *= 1.1;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"22\" font-size=\"15\">tilec tune: %s, tuned vs default (%s)</text>\n",
            W, H, L, T->kernel->name, T->key.device);
    for (int g = 0; g <= 4; g++) {
        double y = Tp + (H - Tp - B) * (1 - g / 4.0);
        fprintf(
            f,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
            "text-anchor=\"end\">%.3g</text>\n",
            L, y, W - R, y, L - 6, y + 4, ymax * g / 4);
    }
    fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            (Tp + H - B) / 2, T->flops ? "GFLOP/s" : "calls per second");
    const char *colors[2] = {"#1f77b4", "#999999"};
    const char *names[2] = {"tuned", "default"};
    for (int s = 0; s < 2; s++) {
        double *v = s ? dflt : best;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[s]);
        for (int i = 0; i < n; i++)
            if (!isnan(v[i]))
                fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (i + 0.5) / n,
                        Tp + (H - Tp - B) * (1 - v[i] / ymax));
        fprintf(f, "\"/>\n");
        for (int i = 0; i < n; i++)
            if (!isnan(v[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                        L + (W - L - R) * (i + 0.5) / n, Tp + (H - Tp - B) * (1 - v[i] / ymax), colors[s]);
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" "
                "y=\"%d\">%s</text>\n",
                W - R - 150 + 75 * s, 28, colors[s], W - R - 134 + 75 * s, 38, names[s]);
    }
    for (int i = 0; i < n; i++)
        fprintf(f, "<text transform=\"translate(%.1f,%d) rotate(35)\" font-size=\"10\">%s</text>\n",
                L + (W - L - R) * (i + 0.5) / n - 10, H - B + 14, out[i].shape->text);
    fprintf(f, "</svg>\n");
    return fclose(f) == 0;
}

// ================================================================ tilec tune

static const char *const tune_usage =
    "USAGE: tilec tune <file.tile> [--kernel NAME] (--shape S | --sweep S)... [options]\n"
    "\n"
    "Measures the kernel's configurations (its `tune` values x the target's schedules) on each\n"
    "shape, keeps every result in the tuning database, and prints the best per shape.\n"
    "  --shape M=1024,N=1024,K=1024  one shape: a value for every size (and any scalar)\n"
    "  --sweep 'M=N=K=256..4096*2'   shapes from ranges: LO..HI*FACTOR, LO..HI+STEP, V; items\n"
    "                                separated by commas multiply ('M=128,N=K=256..1024*2')\n"
    "  --kernel NAME                 the kernel to tune (default: the file's only kernel)\n"
    "  --budget SECONDS              bound the whole search (default 600)\n"
    "  --timeout SECONDS             kill one variant's run after this long (default: from the\n"
    "                                default config's time)\n"
    "  --db PATH                     the tuning database (default $TILEC_TUNE_DB, else\n"
    "                                ~/.cache/tilec/tune.db)\n"
    "  --shard I/N                   tune only shapes I, I+N, ... (0-based); merge the shards'\n"
    "                                databases with 'tilec db merge'\n"
    "  -j N                          compile N variants at once (default: the cores)\n"
    "  --flops EXPR                  work per call, e.g. '2*M*N*K', for GFLOP/s columns\n"
    "  --json                        print the results as JSON instead of a table\n"
    "  --svg FILE                    write a chart of best and default per shape\n"
    "  -q                            no progress bar or per-variant failures on stderr\n"
    "  --cpu NAME, -I DIR            as for compiling\n";

// What tune_run allocates, kept here so that every return frees it (tune_main).
typedef struct TuneAllocs {
    const char **specs;
    SourceFile **files;
    Outcome *out;
    double *prev;
} TuneAllocs;

static int tune_run(Tuner *T, TuneAllocs *A, TuneIdentity *id, int argc, char **argv) {
    T->id = id;
    T->budget = 600;
    T->nshards = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    T->jobs = cores > 0 ? (int)cores : 1;
    T->inputs = calloc((size_t)argc, sizeof(char *));
    T->include_dirs = calloc((size_t)argc, sizeof(char *));
    const char **specs = A->specs = calloc((size_t)argc, sizeof(char *));
    int nspecs = 0;
    tune_default_db_path(T->db_path, sizeof T->db_path);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                               \
    if (!v)                                                   \
        return usage_error("argument to '%s' is missing", a); \
    i++
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(tune_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--shape") || !strcmp(a, "--sweep")) {
            NEEDV();
            specs[nspecs++] = v;
        } else if (!strcmp(a, "--kernel")) {
            NEEDV();
            T->kernel_name = v;
        } else if (!strcmp(a, "--budget") || !strcmp(a, "--timeout")) {
            NEEDV();
            char *end;
            double x = strtod(v, &end);
            if (*end || x <= 0)
                return usage_error("'%s' needs a positive number of seconds, got '%s'", a, v);
            *(a[2] == 'b' ? &T->budget : &T->timeout) = x;
        } else if (!strcmp(a, "--db")) {
            NEEDV();
            snprintf(T->db_path, sizeof T->db_path, "%s", v);
        } else if (!strcmp(a, "--shard")) {
            NEEDV();
            if (sscanf(v, "%d/%d", &T->shard, &T->nshards) != 2 || T->nshards < 1 || T->shard < 0 ||
                T->shard >= T->nshards)
                return usage_error("--shard expects I/N with 0 <= I < N, got '%s'", v);
        } else if (!strcmp(a, "-j")) {
            NEEDV();
            T->jobs = atoi(v);
            if (T->jobs < 1 || T->jobs > 64)
                return usage_error("-j expects 1..64, got '%s'", v);
        } else if (!strcmp(a, "--flops")) {
            NEEDV();
            T->flops = v;
        } else if (!strcmp(a, "--svg")) {
            NEEDV();
            T->svg = v;
        } else if (!strcmp(a, "--json")) {
            T->json = true;
        } else if (!strcmp(a, "-q")) {
            T->quiet = true;
        } else if (!strncmp(a, "--cpu=", 6) || !strncmp(a, "-mcpu=", 6)) {
            id->cpu = a + 6;
        } else if (!strcmp(a, "-I")) {
            NEEDV();
            T->include_dirs[T->ninclude++] = v;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown argument '%s' to 'tilec tune'; see 'tilec tune --help'", a);
        } else {
            T->inputs[T->ninputs++] = a;
        }
#undef NEEDV
    }
    if (T->ninputs == 0)
        return usage_error("tilec tune: no input file; see 'tilec tune --help'");
    if (nspecs == 0)
        return usage_error("tilec tune: no shapes; give --shape or --sweep");
    if (id->cpu && !target_known_cpu(id->cpu))
        return usage_error("unknown CPU '%s'", id->cpu);
    // The program, checked at its default configurations.
    SourceFile **files = A->files = calloc((size_t)T->ninputs, sizeof(SourceFile *));
    bool ok = true;
    for (int i = 0; i < T->ninputs; i++)
        ok = (files[i] = source_read(T->inputs[i], NULL)) && ok;
    LoadOptions lo = {.include_dirs = T->include_dirs, .ninclude_dirs = T->ninclude};
    ok = ok && load_program(&T->prog, files, T->ninputs, &lo);
    SemaOptions so = {0};
    ok = ok && sema_check_program(&T->prog, &so);
    diag_flush();
    if (!ok)
        return 1;
    int nk = 0;
    for (int i = 0; i < T->prog.decls.len; i++) {
        Node *k = T->prog.decls.items[i];
        if (k->kind != ND_KERNEL || k->span.file->import_depth != 0)
            continue;
        nk++;
        if (T->kernel_name ? !strcmp(k->name, T->kernel_name) : !T->kernel)
            T->kernel = k;
    }
    if (!T->kernel)
        return usage_error(T->kernel_name ? "no kernel '%s' in the input files"
                                          : "no kernel in the input files",
                           T->kernel_name);
    if (!T->kernel_name && nk > 1)
        return usage_error("the input files have %d kernels; choose one with --kernel NAME", nk);
    for (int i = 0; i < nspecs; i++)
        if (!add_shapes(T, specs[i]))
            return 1;
    // The space.
    T->nconfigs = (int)sema_enumerate_configs(&T->prog, T->kernel, T->configs, MAX_CONFIGS);
    if (T->nconfigs <= 0 ||
        (T->nuntuned = lower_untuned_configs(&T->prog, T->kernel, &so, T->untuned)) == 0) {
        diag_flush();
        return usage_error("kernel '%s' has no valid configuration", T->kernel->name);
    }
    sema_check_kernel(&T->prog, T->kernel, &T->untuned[0]);
    // Identity, database, cache.
    tune_key_for(&T->prog, T->kernel, id, &T->key);
    {
        XXH3_state_t *st = XXH3_createState();
        XXH3_128bits_reset(st);
        for (int f = 0; f < T->prog.nfiles; f++)
            XXH3_128bits_update(st, T->prog.files[f]->text, T->prog.files[f]->len);
        // The compiler binary itself (size and modification time): a rebuilt tilec, whose
        // version string is unchanged, does not reuse objects an older build compiled.
        struct stat self;
        if (stat("/proc/self/exe", &self) == 0) {
            int64_t id[3] = {(int64_t)self.st_size, (int64_t)self.st_mtim.tv_sec,
                             (int64_t)self.st_mtim.tv_nsec};
            XXH3_128bits_update(st, id, sizeof id);
        }
        hex128(XXH3_128bits_digest(st), T->full_hash);
        XXH3_freeState(st);
    }
    char err[2048];
    if (!make_dirs(T->db_path))
        return usage_error("cannot create the directory of '%s': %s", T->db_path, strerror(errno));
    if (!(T->db = tune_db_open(T->db_path, true, err, sizeof err)))
        return usage_error("%s", err);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(T->cachedir, sizeof T->cachedir, "%s/tilec/variants", xdg);
    else
        snprintf(T->cachedir, sizeof T->cachedir, "%s/.cache/tilec/variants", home && *home ? home : "/tmp");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/", T->cachedir);
    if (!make_dirs(probe))
        return usage_error("cannot create '%s': %s", T->cachedir, strerror(errno));
    snprintf(T->workdir, sizeof T->workdir, "%s/tilec-tune-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(T->workdir))
        return usage_error("cannot create a temporary directory: %s", strerror(errno));
    T->progress = !T->quiet && isatty(2);
    T->started = now();
    // Shapes in order of size (the cheap ones rank the configurations for the others).
    Shape *mine[MAX_SHAPES];
    int nm = 0;
    for (int i = 0; i < T->nshapes; i++)
        if (i % T->nshards == T->shard)
            mine[nm++] = &T->shapes[i];
    for (int i = 1; i < nm; i++)
        for (int j = i; j > 0; j--) {
            double a = 1, b = 1;
            for (int k = 0; k < mine[j]->n; k++)
                a *= fmax(mine[j]->value[k], 1);
            for (int k = 0; k < mine[j - 1]->n; k++)
                b *= fmax(mine[j - 1]->value[k], 1);
            if (a >= b)
                break;
            Shape *t = mine[j];
            mine[j] = mine[j - 1];
            mine[j - 1] = t;
        }
    T->shapes_total = nm;
    Outcome *out = A->out = calloc((size_t)nm + 1, sizeof(Outcome));
    double *prev = A->prev = malloc(sizeof(double) * (size_t)T->nconfigs);
    for (int s = 0; s < nm; s++) {
        ShapeRun S = {.shape = mine[s]};
        snprintf(S.ref, sizeof S.ref, "%s/ref-%d.bin", T->workdir, s);
        T->shape_i = s;
        tune_shape(T, &S, s ? prev : NULL, &out[s]);
        // The next shape ranks the configurations by their times on this one.
        for (int c = 0; c < T->nconfigs; c++) {
            TuneRow row;
            TuneKey k;
            Point p;
            point_make(T, &p, &T->configs[c], "");
            row_key(T, mine[s], &p, &k);
            prev[c] = tune_db_get(T->db, &k, &row, err, sizeof err) != 1 ? NAN
                      : row.status == TS_OK                              ? row.seconds
                                                                         : INFINITY;
        }
    }
    if (T->progress)
        fprintf(stderr, "\r\033[K");
    if (T->json)
        print_json(T, out, nm);
    else
        print_table(T, out, nm);
    bool svg_ok = !T->svg || write_svg(T, out, nm, T->svg);
    // The references are temporary.
    for (int s = 0; s < nm; s++) {
        char ref[600];
        snprintf(ref, sizeof ref, "%s/ref-%d.bin", T->workdir, s);
        unlink(ref);
    }
    rmdir(T->workdir);
    diag_flush();
    return svg_ok ? 0 : 1;
}

int tune_main(int argc, char **argv, const TuneIdentity *id_in) {
    Tuner *T = calloc(1, sizeof *T);
    TuneAllocs A = {0};
    TuneIdentity id = *id_in;
    int rc = tune_run(T, &A, &id, argc, argv);
    if (T->db)
        tune_db_close(T->db);
    free(A.specs), free(A.files), free(A.out), free(A.prev);
    free(T->inputs), free(T->include_dirs);
    free(T);
    return rc;
}
