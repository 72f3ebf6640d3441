// autotune/tune.c — `tilec tune` (tune.h, docs/autotune.md): its options, the program and the
// kernel's space, the identity of the measurements, the database and the variant cache, and the
// sweep over the shapes, smallest first; tune_search.c searches each shape. Also the key of a
// kernel's rows and the default database, which `tilec --tuned` uses too.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"

#include "../lang/diag.h"
#include "../lang/sema.h"
#include "../backends/target.h"
#include "../parser/parse.h"
#include "tune_internal.h"

int tune_usage_error(const char *fmt, ...) {
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

void tune_hex128(XXH128_hash_t h, char *out) {
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
    tune_hex128(XXH3_128bits_digest(st), key->source_hash);
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
    "  --budget SECONDS              bound the whole run's wall time (default 600); see below\n"
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
    "  --warm                        time every call on the same tensors (warm caches, as a model's\n"
    "                                layers run: what `tilec tune MODEL.onnx` does) instead of\n"
    "                                copies that have left the cache; its rows are kept apart\n"
    "  --cpu NAME, -I DIR            as for compiling\n"
    "\n"
    "The budget is a hard bound: when it runs out, the compile or run in progress is killed (the\n"
    "command ends within about a second of it), nothing it stopped is recorded, the shapes tuned\n"
    "so far are printed and a warning names the shapes not tuned. Shapes whose tensors do not fit\n"
    "in memory, or whose sizes overflow 64-bit arithmetic, are refused before anything runs.\n"
    "Exit status: 0 when at least one shape was tuned (a warning names the others), 1 when none\n"
    "was (or on an error).\n";

// What the run allocates, kept here so that every return frees it (tune_main).
typedef struct TuneAllocs {
    const char **specs;
    SourceFile **files;
    TuneOutcome *out;
    double *prev;
} TuneAllocs;

enum { GO_ON = -1 };  // what the steps of tune_run return to go on (else the exit status)

// The defaults, then the command line: options into T, the --shape and --sweep specifications
// into A->specs (*nspecs of them). 0 after --help.
static int parse_options(Tuner *T, TuneAllocs *A, TuneIdentity *id, int argc, char **argv, int *nspecs) {
    T->id = id;
    T->budget = 600;
    T->nshards = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    T->jobs = cores > 0 ? (int)cores : 1;
    T->inputs = calloc((size_t)argc, sizeof(char *));
    T->include_dirs = calloc((size_t)argc, sizeof(char *));
    const char **specs = A->specs = calloc((size_t)argc, sizeof(char *));
    tune_default_db_path(T->db_path, sizeof T->db_path);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                    \
    if (!v)                                                        \
        return tune_usage_error("argument to '%s' is missing", a); \
    i++
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(tune_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--shape") || !strcmp(a, "--sweep")) {
            NEEDV();
            specs[(*nspecs)++] = v;
        } else if (!strcmp(a, "--kernel")) {
            NEEDV();
            T->kernel_name = v;
        } else if (!strcmp(a, "--budget") || !strcmp(a, "--timeout")) {
            NEEDV();
            char *end;
            double x = strtod(v, &end);
            if (*end || x <= 0)
                return tune_usage_error("'%s' needs a positive number of seconds, got '%s'", a, v);
            *(a[2] == 'b' ? &T->budget : &T->timeout) = x;
        } else if (!strcmp(a, "--db")) {
            NEEDV();
            snprintf(T->db_path, sizeof T->db_path, "%s", v);
        } else if (!strcmp(a, "--shard")) {
            NEEDV();
            if (sscanf(v, "%d/%d", &T->shard, &T->nshards) != 2 || T->nshards < 1 || T->shard < 0 ||
                T->shard >= T->nshards)
                return tune_usage_error("--shard expects I/N with 0 <= I < N, got '%s'", v);
        } else if (!strcmp(a, "-j")) {
            NEEDV();
            T->jobs = atoi(v);
            if (T->jobs < 1 || T->jobs > 64)
                return tune_usage_error("-j expects 1..64, got '%s'", v);
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
        } else if (!strcmp(a, "--warm")) {
            T->warm = true;
        } else if (!strncmp(a, "--cpu=", 6) || !strncmp(a, "-mcpu=", 6)) {
            id->cpu = a + 6;
        } else if (!strcmp(a, "-I")) {
            NEEDV();
            T->include_dirs[T->ninclude++] = v;
        } else if (a[0] == '-' && a[1]) {
            return tune_usage_error("unknown argument '%s' to 'tilec tune'; see 'tilec tune --help'", a);
        } else {
            T->inputs[T->ninputs++] = a;
        }
#undef NEEDV
    }
    if (T->ninputs == 0)
        return tune_usage_error("tilec tune: no input file; see 'tilec tune --help'");
    if (*nspecs == 0)
        return tune_usage_error("tilec tune: no shapes; give --shape or --sweep");
    if (id->cpu && !target_known_cpu(id->cpu))
        return tune_usage_error("unknown CPU '%s'", id->cpu);
    return GO_ON;
}

// The program, checked at its default configurations; the kernel to tune; its shapes (from the
// specifications); its space.
static int load_kernel(Tuner *T, TuneAllocs *A, int nspecs) {
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
        if (!ast_main_kernel(k, NULL))
            continue;
        nk++;
        if (T->kernel_name ? !strcmp(k->name, T->kernel_name) : !T->kernel)
            T->kernel = k;
    }
    if (!T->kernel)
        return tune_usage_error(T->kernel_name ? "no kernel '%s' in the input files"
                                               : "no kernel in the input files",
                                T->kernel_name);
    if (!T->kernel_name && nk > 1)
        return tune_usage_error("the input files have %d kernels; choose one with --kernel NAME", nk);
    for (int i = 0; T->kernel->kinfo && i < T->kernel->kinfo->ntensors; i++)
        if (T->kernel->kinfo->tensors[i]->list_elem)
            return tune_usage_error(
                "kernel '%s' takes a list ('%s'); tuning kernels with list parameters is not "
                "supported",
                T->kernel->name, T->kernel->kinfo->tensors[i]->name);
    for (int i = 0; i < nspecs; i++)
        if (!tune_add_shapes(T, A->specs[i]))
            return 1;
    // The space.
    T->nconfigs = (int)sema_enumerate_configs(&T->prog, T->kernel, T->configs, TUNE_MAX_CONFIGS);
    if (T->nconfigs <= 0 ||
        (T->nuntuned = lower_untuned_configs(&T->prog, T->kernel, &so, T->untuned)) == 0) {
        diag_flush();
        return tune_usage_error("kernel '%s' has no valid configuration", T->kernel->name);
    }
    sema_check_kernel(&T->prog, T->kernel, &T->untuned[0]);
    return GO_ON;
}

// What names the variants: the sources' whole text and the tilec binary itself (size and
// modification time): a rebuilt tilec, whose version string is unchanged, does not reuse objects
// an older build compiled.
static void variant_hash(Tuner *T) {
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    for (int f = 0; f < T->prog.nfiles; f++)
        XXH3_128bits_update(st, T->prog.files[f]->text, T->prog.files[f]->len);
    struct stat self;
    if (stat("/proc/self/exe", &self) == 0) {
        int64_t id[3] = {(int64_t)self.st_size, (int64_t)self.st_mtim.tv_sec, (int64_t)self.st_mtim.tv_nsec};
        XXH3_128bits_update(st, id, sizeof id);
    }
    tune_hex128(XXH3_128bits_digest(st), T->full_hash);
    XXH3_freeState(st);
}

// The identity of the measurements, the database, the variant cache and the temporary directory
// of the references.
static int open_state(Tuner *T, const TuneIdentity *id) {
    tune_key_for(&T->prog, T->kernel, id, &T->key);
    if (T->warm) {  // warm-cache times are another measurement: rows of their own
        size_t n = strlen(T->key.device);
        snprintf(T->key.device + n, sizeof T->key.device - n, ", warm caches");
    }
    variant_hash(T);
    char err[2048];
    if (!make_dirs(T->db_path))
        return tune_usage_error("cannot create the directory of '%s': %s", T->db_path, strerror(errno));
    if (!(T->db = tune_db_open(T->db_path, true, err, sizeof err)))
        return tune_usage_error("%s", err);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(T->cachedir, sizeof T->cachedir, "%s/tilec/variants", xdg);
    else
        snprintf(T->cachedir, sizeof T->cachedir, "%s/.cache/tilec/variants", home && *home ? home : "/tmp");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/", T->cachedir);
    if (!make_dirs(probe))
        return tune_usage_error("cannot create '%s': %s", T->cachedir, strerror(errno));
    snprintf(T->workdir, sizeof T->workdir, "%s/tilec-tune-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(T->workdir))
        return tune_usage_error("cannot create a temporary directory: %s", strerror(errno));
    T->progress = !T->quiet && isatty(2);
    return GO_ON;
}

double tune_time_left(const Tuner *T) { return T->deadline - tune_now(); }

bool tune_budget_stops(Tuner *T) {
    if (!T->stop && tune_time_left(T) <= 0)
        T->out_of_time = T->stop = true;
    if (!T->stop && tune_now() > T->share_end)
        T->stop = true;
    return T->stop;
}

// This shard's shapes, in order of size (the cheap ones rank the configurations for the others).
// Returns how many.
static int my_shapes(Tuner *T, TuneShape **mine) {
    int nm = 0;
    for (int i = 0; i < T->nshapes; i++)
        if (i % T->nshards == T->shard)
            mine[nm++] = &T->shapes[i];
    for (int i = 1; i < nm; i++)
        for (int j = i; j > 0; j--) {
            if (tune_shape_size(mine[j]) >= tune_shape_size(mine[j - 1]))
                break;
            TuneShape *t = mine[j];
            mine[j] = mine[j - 1];
            mine[j - 1] = t;
        }
    return nm;
}

// Before anything runs: the shapes whose sizes overflow int64 or whose tensors do not fit in
// memory are refused (out[s].not_tuned), with errors when that leaves none, else warnings.
// Returns how many are left.
static int check_shapes(Tuner *T, TuneShape **mine, int nm, TuneOutcome *out) {
    T->mem_avail = measure_available_bytes(&T->mem_what);
    T->mem_usable = 0.8 * T->mem_avail;
    int left = 0;
    char why[1024];
    for (int s = 0; s < nm; s++) {
        out[s].shape = mine[s];
        int c = tune_shape_check(T, mine[s], why, sizeof why);
        if (c == TUNE_SHAPE_FITS)
            left++;
        else
            snprintf(out[s].not_tuned, sizeof out[s].not_tuned, "%s",
                     c == TUNE_SHAPE_OVERFLOWS ? "its sizes overflow 64-bit arithmetic"
                                               : "its tensors do not fit in memory");
    }
    for (int s = 0; s < nm; s++)
        if (tune_shape_check(T, mine[s], why, sizeof why) != TUNE_SHAPE_FITS) {
            if (left)
                warning_plain("%s; it is not tuned", why);
            else
                error_plain("%s", why);
        }
    diag_flush();
    return left;
}

// Up to six shape names of the outcomes that `pick` selects, "; "-separated, then "and N more".
static int shape_names(TuneOutcome *out, int nm, bool stopped, char *names, size_t size) {
    int k = 0;
    size_t len = 0;
    names[0] = '\0';
    for (int s = 0; s < nm; s++) {
        if (!(stopped ? out[s].stopped : out[s].cut))
            continue;
        if (++k <= 6 && len < size)
            len += (size_t)snprintf(names + len, size - len, "%s%s", k > 1 ? "; " : "", out[s].shape->text);
    }
    if (k > 6 && len < size)
        snprintf(names + len, size - len, "; and %d more", k - 6);
    return k;
}

// After the results: what the budget left out (a warning when some shape was tuned, an error
// when none was). Returns the exit status, 0 when some shape was tuned.
static int report_untuned(Tuner *T, TuneOutcome *out, int nm) {
    int tuned = 0;
    for (int s = 0; s < nm; s++)
        tuned += out[s].ok;
    char stopped_names[400], cut_names[400];
    int stopped = shape_names(out, nm, true, stopped_names, sizeof stopped_names);
    int cut = shape_names(out, nm, false, cut_names, sizeof cut_names);
    if (stopped || cut) {
        char msg[1024];
        int len = snprintf(msg, sizeof msg, "the budget (--budget %g) %s (%.1f s%s%s)", T->budget,
                           T->out_of_time ? "ran out" : "did not cover the whole search",
                           tune_now() - T->started, T->stop_note[0] ? "; " : "", T->stop_note);
        if (stopped && len < (int)sizeof msg)
            len += snprintf(msg + len, sizeof msg - (size_t)len, ": %d of %d shapes not tuned (%s)", stopped,
                            nm, stopped_names);
        if (cut && len < (int)sizeof msg)
            snprintf(msg + len, sizeof msg - (size_t)len, "%s %d cut short, their best so far kept (%s)",
                     stopped ? ";" : ":", cut, cut_names);
        if (tuned)
            warning_plain("%s", msg);
        else
            error_plain("%s", msg);
    } else if (!tuned && nm) {
        error_plain("no shape was tuned: no configuration ran correctly");
    }
    diag_flush();
    return tuned ? 0 : 1;
}

// The options, the kernel, its shapes checked and the state, then each of this shard's shapes
// searched in turn until the budget runs out, and the results shown.
static int tune_run(Tuner *T, TuneAllocs *A, TuneIdentity *id, int argc, char **argv) {
    int nspecs = 0, rc;
    if ((rc = parse_options(T, A, id, argc, argv, &nspecs)) != GO_ON)
        return rc;
    T->deadline = T->started + T->budget;
    if ((rc = load_kernel(T, A, nspecs)) != GO_ON)
        return rc;
    TuneShape *mine[TUNE_MAX_SHAPES];
    int nm = my_shapes(T, mine);
    TuneOutcome *out = A->out = calloc((size_t)nm + 1, sizeof(TuneOutcome));
    if ((T->shapes_total = check_shapes(T, mine, nm, out)) == 0)
        return 1;
    if ((rc = open_state(T, id)) != GO_ON)
        return rc;
    double *prev = A->prev = malloc(sizeof(double) * (size_t)T->nconfigs);
    bool have_prev = false;
    for (int s = 0; s < nm; s++) {
        if (out[s].not_tuned[0])
            continue;
        if (T->out_of_time) {
            out[s].stopped = true;
            snprintf(out[s].not_tuned, sizeof out[s].not_tuned, "the budget ran out before its turn");
            continue;
        }
        TuneShapeRun S = {.shape = mine[s]};
        snprintf(S.ref, sizeof S.ref, "%s/ref-%d.bin", T->workdir, s);
        tune_shape(T, &S, have_prev ? prev : NULL, tune_time_left(T) / (T->shapes_total - T->shape_i),
                   &out[s]);
        T->shape_i++;
        tune_times_at(T, mine[s], prev);  // the next shape ranks the configurations by them
        have_prev = true;
    }
    if (T->progress)
        fprintf(stderr, "\r\033[K");
    if (T->json)
        tune_print_json(T, out, nm);
    else
        tune_print_table(T, out, nm);
    fflush(stdout);
    bool svg_ok = !T->svg || tune_write_svg(T, out, nm, T->svg);
    int status = report_untuned(T, out, nm);
    // The references are temporary.
    for (int s = 0; s < nm; s++) {
        char ref[600];
        snprintf(ref, sizeof ref, "%s/ref-%d.bin", T->workdir, s);
        unlink(ref);
    }
    rmdir(T->workdir);
    diag_flush();
    return svg_ok ? status : 1;
}

// tune_open's allocation: the Tuner first, so that tune_close finds the rest.
typedef struct TuneOpened {
    Tuner T;
    TuneAllocs A;
    TuneIdentity id;
} TuneOpened;

Tuner *tune_open(int argc, char **argv, const TuneIdentity *id_in) {
    TuneOpened *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    Tuner *T = &o->T;
    o->id = *id_in;
    T->started = tune_now();
    int nspecs = 0;
    bool ok = parse_options(T, &o->A, &o->id, argc, argv, &nspecs) == GO_ON;
    T->deadline = T->started + T->budget;
    T->share_end = INFINITY;  // no shape's share: only the deadline stops a compile
    ok = ok && load_kernel(T, &o->A, nspecs) == GO_ON && open_state(T, &o->id) == GO_ON;
    if (!ok) {
        tune_close(T);
        return NULL;
    }
    return T;
}

void tune_close(Tuner *T) {
    if (!T)
        return;
    TuneOpened *o = (TuneOpened *)T;
    if (T->db)
        tune_db_close(T->db);
    if (T->workdir[0])
        rmdir(T->workdir);
    free(o->A.specs), free(o->A.files), free(o->A.out), free(o->A.prev);
    free(T->inputs), free(T->include_dirs);
    free(o);
}

int tune_main(int argc, char **argv, const TuneIdentity *id_in) {
    if (tune_args_name_model(argc, argv))
        return tune_model_main(argc, argv, id_in);
    Tuner *T = calloc(1, sizeof *T);
    T->started = tune_now();  // the budget counts from here
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
