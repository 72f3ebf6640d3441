// tools/tilec_run.c — `tilec run MODEL.onnx ...` (bin/tilec-run): loads an ONNX model with
// libtilec_runner, runs it on given or random inputs, writes outputs as .npy, checks ONNX
// test data, benchmarks and profiles. docs/runner.md is the manual.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kcall.h"
#include "tilec_model.h"
#include "tilec_run_fused.h"
#include "tilec_run_tuned.h"

#define MAX_ARGS 64

typedef struct Options {
    const char *model;
    const char *input_names[MAX_ARGS], *input_files[MAX_ARGS];
    int ninputs;
    const char *shape_names[MAX_ARGS];
    TilecTensor shapes[MAX_ARGS];
    int nshapes;
    const char *output_dir, *test_data;
    const char *db;            // --db: route tuned kernel calls (tilec_run_tuned.h)
    const char *record_calls;  // --record-calls FILE: run once, write the kernel calls, stop
    const char *dump_fused;    // --dump-fused DIR: the fused kernels' sources (tilec_run_fused.h)
    bool no_fuse;              // --no-fuse: elementwise chains run op by op
    int threads, bench, profile, list_ops;
    double rtol, atol;
    unsigned long long seed;
} Options;

static void usage(FILE *f) {
    fputs("usage: tilec run MODEL.onnx [options]\n"
          "  --input NAME=FILE     an input (.npy or TensorProto .pb); --input FILE takes the\n"
          "                        graph's inputs in order; inputs left out get random data\n"
          "  --shape NAME=1x3x224x224\n"
          "                        fix a graph input's symbolic dims (or NAME=N for a named dim)\n"
          "  --output-dir DIR      write each output to DIR/NAME.npy\n"
          "  --test-data DIR       ONNX test_data_set: run input_*.pb, compare with output_*.pb\n"
          "  --rtol X, --atol X    tolerances for --test-data (default 1e-3, 1e-7)\n"
          "  --threads N           threads for the kernels (default: all cores)\n"
          "  --bench N             time N runs after a warm-up: median and min\n"
          "  --profile             time every node; print a table sorted by time\n"
          "  --seed N              seed of the random inputs (default 1)\n"
          "  --list-ops            print the supported ops with their opset ranges\n"
          "  --db PATH             run the kernel calls that 'tilec tune MODEL.onnx' tuned into the\n"
          "                        tuning database PATH with their tuned versions\n"
          "  --record-calls FILE   run once and write the model's tunable kernel calls to FILE (what\n"
          "                        'tilec tune MODEL.onnx' reads)\n"
          "  --no-fuse             run elementwise chains op by op (not as generated kernels)\n"
          "  --dump-fused DIR      write each fused chain's generated kernel to DIR/NAME.tile\n",
          f);
}

static int die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "tilec run: error: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

static int parse_args(int argc, char **argv, Options *o) {
    o->rtol = 1e-3;
    o->atol = 1e-7;
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                           \
    do {                                                       \
        if (!val)                                              \
            return die("%s needs a value%s", a, "");           \
        i++;                                                   \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--list-ops") == 0) {
            o->list_ops = 1;
        } else if (strcmp(a, "--profile") == 0) {
            o->profile = 1;
        } else if (strcmp(a, "--input") == 0) {
            NEED_VALUE();
            if (o->ninputs == MAX_ARGS)
                return die("too many --input options%s%s", "", "");
            const char *eq = strchr(val, '=');
            o->input_names[o->ninputs] = eq ? strndup(val, (size_t)(eq - val)) : NULL;
            o->input_files[o->ninputs++] = eq ? eq + 1 : val;
        } else if (strcmp(a, "--shape") == 0) {
            NEED_VALUE();
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || o->nshapes == MAX_ARGS ||
                !tilec_parse_dims(eq + 1, &o->shapes[o->nshapes]))
                return die("--shape %s: expected NAME=DIMS such as input=1x3x224x224%s", val, "");
            o->shape_names[o->nshapes++] = strndup(val, (size_t)(eq - val));
        } else if (strcmp(a, "--output-dir") == 0) {
            NEED_VALUE();
            o->output_dir = val;
        } else if (strcmp(a, "--test-data") == 0) {
            NEED_VALUE();
            o->test_data = val;
        } else if (strcmp(a, "--db") == 0) {
            NEED_VALUE();
            o->db = val;
        } else if (strcmp(a, "--dump-fused") == 0) {
            NEED_VALUE();
            o->dump_fused = val;
        } else if (strcmp(a, "--no-fuse") == 0) {
            o->no_fuse = true;
        } else if (strcmp(a, "--record-calls") == 0) {
            NEED_VALUE();
            o->record_calls = val;
        } else if (strcmp(a, "--threads") == 0 || strcmp(a, "--bench") == 0 ||
                   strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            char *end;
            long long v = strtoll(val, &end, 10);
            if (*end || v < (strcmp(a, "--seed") == 0 ? 0 : 1) || v > 1000000)
                return die("%s %s: expected a positive integer", a, val);
            if (a[2] == 't')
                o->threads = (int)v;
            else if (a[2] == 'b')
                o->bench = (int)v;
            else
                o->seed = (unsigned long long)v;
        } else if (strcmp(a, "--rtol") == 0 || strcmp(a, "--atol") == 0) {
            NEED_VALUE();
            char *end;
            double v = strtod(val, &end);
            if (*end || !(v >= 0))
                return die("%s %s: expected a non-negative number", a, val);
            if (a[2] == 'r')
                o->rtol = v;
            else
                o->atol = v;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            return die("unknown option '%s'%s", a, "");
        } else if (!o->model) {
            o->model = a;
        } else {
            return die("unexpected argument '%s' (one model per run)%s", a, "");
        }
#undef NEED_VALUE
    }
    if (!o->model && !o->list_ops) {
        usage(stderr);
        return die("no model given%s%s", "", "");
    }
    if (o->test_data && o->ninputs)
        return die("--test-data brings its own inputs: drop --input%s%s", "", "");
    return 0;
}

// ---------------------------------------------------------------- a progress line for slow steps

typedef struct Progress {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done, shown, started;
    const char *what;
    int step, total;
} Progress;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *progress_main(void *arg) {
    Progress *p = arg;
    double t0 = now_s();
    pthread_mutex_lock(&p->lock);
    while (!p->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        double t = now_s() - t0;
        if (p->done || t < 1.0)
            continue;
        p->shown = true;
        if (p->total > 0) {
            int width = 30, fill = p->total ? p->step * width / p->total : 0;
            fprintf(stderr, "\r%s [", p->what);
            for (int i = 0; i < width; i++)
                fputc(i < fill ? '=' : ' ', stderr);
            fprintf(stderr, "] %d/%d  %.1fs", p->step, p->total, t);
        } else {
            fprintf(stderr, "\r%s... %.1fs", p->what, t);
        }
        fflush(stderr);
    }
    if (p->shown)
        fputs("\r\033[K", stderr);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void progress_start(Progress *p, const char *what, int total) {
    memset(p, 0, sizeof *p);
    p->what = what;
    p->total = total;
    if (!isatty(2))
        return;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->started = pthread_create(&p->thread, NULL, progress_main, p) == 0;
}

static void progress_step(Progress *p, int step) {
    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    p->step = step;
    pthread_mutex_unlock(&p->lock);
}

static void progress_end(Progress *p) {
    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    p->done = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
}

// ---------------------------------------------------------------- inputs

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

// Deterministic data for an input left out: floats uniform in [0, 1), integers in [0, 10),
// bools 0/1, from a xorshift64 generator seeded by --seed and the input's position.
static int random_input(const TilecModel *m, int i, unsigned long long seed, TilecTensor *t) {
    const char *const *names;
    tilec_model_input_info(m, i, t, &names);
    if (t->rank < 0)
        return die("input '%s' has no declared shape: give it with --input or --shape%s",
                   tilec_model_input_name(m, i), "");
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] < 0)
            return die("input '%s' has a symbolic dimension '%s': fix it with --shape or give the "
                       "input with --input",
                       tilec_model_input_name(m, i), names && names[d] ? names[d] : "?");
    size_t n = 1, es = tilec_dtype_size(t->dtype);
    for (int d = 0; d < t->rank; d++) {
        if (t->dims[d] && n > ((size_t)1 << 36) / (size_t)t->dims[d])
            return die("input '%s' declares more than 2^36 elements: too large to fill with random "
                       "data (give it with --input, or a smaller --shape)%s",
                       tilec_model_input_name(m, i), "");
        n *= (size_t)t->dims[d];
    }
    if (!es)
        return die("input '%s' has an element type (%s) random data cannot fill",
                   tilec_model_input_name(m, i), tilec_dtype_name(t->dtype));
    t->data = malloc(n * es + 1);
    if (!t->data)
        return die("out of memory for input '%s'%s", tilec_model_input_name(m, i), "");
    uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1) + (uint64_t)i * 0xD1B54A32D192ED03ull + 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t r = next_random(&s);
        double u = (double)(r >> 11) / 9007199254740992.0;
        switch (t->dtype) {
        case TILEC_DT_FLOAT: ((float *)t->data)[k] = (float)u; break;
        case TILEC_DT_DOUBLE: ((double *)t->data)[k] = u; break;
        case TILEC_DT_INT64: ((int64_t *)t->data)[k] = (int64_t)(r % 10); break;
        case TILEC_DT_INT32: ((int32_t *)t->data)[k] = (int32_t)(r % 10); break;
        case TILEC_DT_BOOL: ((uint8_t *)t->data)[k] = (uint8_t)(r & 1); break;
        default:
            if (es == 1)
                ((uint8_t *)t->data)[k] = (uint8_t)(r % 10);
            else if (es == 2)
                ((uint16_t *)t->data)[k] = (uint16_t)(r % 10);
            else if (es == 4)
                ((uint32_t *)t->data)[k] = (uint32_t)(r % 10);
            else
                ((uint64_t *)t->data)[k] = r % 10;
        }
    }
    return 0;
}

static int find_input(const TilecModel *m, const char *name) {
    for (int i = 0; i < tilec_model_input_count(m); i++)
        if (strcmp(tilec_model_input_name(m, i), name) == 0)
            return i;
    return -1;
}

static int load_file(const char *path, TilecTensor *t, char **name) {
    char *err = NULL;
    if (tilec_tensor_read(path, t, name, &err) != TILEC_MODEL_OK) {
        die("%s%s", err ? err : path, "");
        free(err);
        return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    // input_10.pb after input_9.pb: shorter names (fewer digits) first
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

// The files PREFIX*.pb of dir, sorted by their number.
static int list_pb(const char *dir, const char *prefix, char ***out) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t l = strlen(ent->d_name);
        if (strncmp(ent->d_name, prefix, strlen(prefix)) || l < 4 || strcmp(ent->d_name + l - 3, ".pb"))
            continue;
        char **nn = realloc(names, (size_t)(n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static void free_list(char **l, int n) {
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

// Fills inputs[] (graph order) from --input, --test-data, or random data.
static int gather_inputs(const Options *o, const TilecModel *m, TilecTensor *inputs, bool *given) {
    int nin = tilec_model_input_count(m), next = 0;
    if (o->test_data) {
        char **files;
        int n = list_pb(o->test_data, "input_", &files);
        if (n < 0)
            return die("--test-data %s: %s", o->test_data, strerror(errno));
        int st = 0;
        for (int k = 0; k < n && !st; k++) {
            char path[4096], *name = NULL;
            snprintf(path, sizeof path, "%s/%s", o->test_data, files[k]);
            TilecTensor t;
            if ((st = load_file(path, &t, &name)) != 0)
                break;
            int i = name ? find_input(m, name) : -1;
            if (i < 0)
                i = k < nin ? k : -1;
            free(name);
            if (i < 0 || given[i]) {
                free(t.data);
                st = die("%s: matches no graph input of the model%s", path, "");
                break;
            }
            // ONNX's test data stores bfloat16 tensors as uint16 (numpy has no bfloat16).
            TilecTensor info;
            tilec_model_input_info(m, i, &info, NULL);
            if (info.dtype == TILEC_DT_BFLOAT16 && t.dtype == TILEC_DT_UINT16)
                t.dtype = TILEC_DT_BFLOAT16;
            inputs[i] = t;
            given[i] = true;
        }
        free_list(files, n);
        if (st)
            return st;
    }
    for (int k = 0; k < o->ninputs; k++) {
        int i;
        if (o->input_names[k]) {
            i = find_input(m, o->input_names[k]);
            if (i < 0)
                return die("--input %s: the model has no input of that name", o->input_names[k], "");
        } else {
            while (next < nin && given[next])
                next++;
            i = next;
            if (i >= nin)
                return die("--input %s: the model has only these inputs and all are given%s",
                           o->input_files[k], "");
        }
        if (given[i])
            return die("input '%s' is given twice%s", tilec_model_input_name(m, i), "");
        if (load_file(o->input_files[k], &inputs[i], NULL))
            return 1;
        given[i] = true;
    }
    for (int i = 0; i < nin; i++)
        if (!given[i]) {
            if (random_input(m, i, o->seed, &inputs[i]))
                return 1;
            given[i] = true;
        }
    return 0;
}

// ---------------------------------------------------------------- test data

static size_t numel(const TilecTensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

static void shape_text(const TilecTensor *t, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    if (t->rank == 0)
        snprintf(buf, cap, "scalar");
    for (int d = 0; d < t->rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? "x" : "", (long long)t->dims[d]);
}

// Compares outputs with DIR/output_*.pb (numpy.allclose: |a - b| <= atol + rtol * |b|).
static int check_outputs(const Options *o, const TilecModel *m, const TilecTensor *outs) {
    char **files;
    int n = list_pb(o->test_data, "output_", &files);
    int nout = tilec_model_output_count(m), bad = 0;
    if (n < 0)
        return die("--test-data %s: %s", o->test_data, strerror(errno));
    if (n != nout) {
        free_list(files, n);
        return die("--test-data: %d expected outputs for a model with a different number%s", "", "") ;
    }
    for (int k = 0; k < n; k++) {
        char path[4096], *name = NULL;
        snprintf(path, sizeof path, "%s/%s", o->test_data, files[k]);
        TilecTensor want;
        if (load_file(path, &want, &name)) {
            bad++;
            continue;
        }
        int i = k;
        for (int j = 0; name && j < nout; j++)
            if (strcmp(tilec_model_output_name(m, j), name) == 0)
                i = j;
        free(name);
        const TilecTensor *got = &outs[i];
        const char *oname = tilec_model_output_name(m, i);
        if (got->dtype == TILEC_DT_BFLOAT16 && want.dtype == TILEC_DT_UINT16)
            want.dtype = TILEC_DT_BFLOAT16;  // bfloat16 stored as uint16 (see gather_inputs)
        char s1[128], s2[128];
        shape_text(got, s1, sizeof s1);
        shape_text(&want, s2, sizeof s2);
        bool same_shape = got->rank == want.rank;
        for (int d = 0; same_shape && d < got->rank; d++)
            same_shape = got->dims[d] == want.dims[d];
        if (got->dtype != want.dtype || !same_shape) {
            printf("output '%s': got %s %s, expected %s %s\n", oname, tilec_dtype_name(got->dtype), s1,
                   tilec_dtype_name(want.dtype), s2);
            bad++;
            free(want.data);
            continue;
        }
        double max_abs = 0, max_rel = 0;
        size_t count = numel(got), wrong = 0;
        for (size_t q = 0; q < count; q++) {
            double a = tilec_tensor_value(got, q), b = tilec_tensor_value(&want, q);
            if (isnan(a) && isnan(b))
                continue;
            if (a == b)
                continue;  // also equal infinities
            double d = fabs(a - b);
            if (isnan(d))
                d = INFINITY;
            if (d > max_abs)
                max_abs = d;
            double rel = b != 0 ? d / fabs(b) : d;
            if (rel > max_rel)
                max_rel = rel;
            if (!(d <= o->atol + o->rtol * fabs(b)))
                wrong++;
        }
        printf("output '%s' %s %s: max abs error %.3g, max rel error %.3g, %zu of %zu outside "
               "rtol %g / atol %g\n",
               oname, tilec_dtype_name(got->dtype), s1, max_abs, max_rel, wrong, count, o->rtol, o->atol);
        bad += wrong > 0;
        free(want.data);
    }
    free_list(files, n);
    return bad ? 1 : 0;
}

// ---------------------------------------------------------------- outputs

static int write_outputs(const Options *o, const TilecModel *m, const TilecTensor *outs) {
    if (mkdir(o->output_dir, 0777) != 0 && errno != EEXIST)
        return die("--output-dir %s: %s", o->output_dir, strerror(errno));
    for (int i = 0; i < tilec_model_output_count(m); i++) {
        char name[256], path[4096];
        snprintf(name, sizeof name, "%s", tilec_model_output_name(m, i));
        for (char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
                *c = '_';
        snprintf(path, sizeof path, "%s/%s.npy", o->output_dir, name);
        char *err = NULL;
        if (tilec_tensor_write_npy(path, &outs[i], &err) != TILEC_MODEL_OK) {
            die("%s%s", err ? err : path, "");
            free(err);
            return 1;
        }
    }
    return 0;
}

static void print_outputs(const TilecModel *m, const TilecTensor *outs) {
    for (int i = 0; i < tilec_model_output_count(m); i++) {
        char s[128];
        shape_text(&outs[i], s, sizeof s);
        printf("%s: %s %s [", tilec_model_output_name(m, i), tilec_dtype_name(outs[i].dtype), s);
        size_t n = numel(&outs[i]);
        for (size_t k = 0; k < n && k < 6; k++)
            printf("%s%.6g", k ? ", " : "", tilec_tensor_value(&outs[i], k));
        printf("%s]\n", n > 6 ? ", ..." : "");
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(const Options *o, TilecModel *m, const TilecTensor *inputs, TilecTensor *outs) {
    int nout = tilec_model_output_count(m);
    double *t = malloc((size_t)o->bench * sizeof *t);
    if (!t)
        return die("out of memory%s%s", "", "");
    Progress p;
    progress_start(&p, "bench", o->bench);
    int st = 0;
    for (int r = 0; r < o->bench && !st; r++) {
        char *err = NULL;
        double t0 = now_s();
        if (tilec_model_run(m, inputs, outs, &err) != TILEC_MODEL_OK) {
            progress_end(&p);
            die("%s: %s", o->model, err ? err : "run failed");
            free(err);
            free(t);
            return 1;
        }
        t[r] = (now_s() - t0) * 1e3;
        for (int i = 0; i < nout; i++)
            free(outs[i].data);
        progress_step(&p, r + 1);
    }
    progress_end(&p);
    qsort(t, (size_t)o->bench, sizeof *t, cmp_double);
    printf("bench: %d runs after a warm-up: median %.3f ms, min %.3f ms (threads %s)\n", o->bench,
           t[o->bench / 2], t[0], getenv("TILE_NUM_THREADS") ? getenv("TILE_NUM_THREADS") : "all");
    free(t);
    return st;
}

// --db and --record-calls: one run records the model's tunable kernel calls (runner/kcall.h),
// which are then written for `tilec tune MODEL.onnx` or routed to their tuned versions.
static int tuned_calls(const Options *o, TilecModel *m, const TilecTensor *inputs, TilecTensor *outs) {
    char *err = NULL;
    tilec_kcalls_record(true);
    TilecModelStatus st = tilec_model_run(m, inputs, outs, &err);
    tilec_kcalls_record(false);
    if (st != TILEC_MODEL_OK) {
        fprintf(stderr, "tilec run: error: %s: %s\n", o->model, err ? err : "run failed");
        free(err);
        return 1;
    }
    for (int i = 0; i < tilec_model_output_count(m); i++)
        free(outs[i].data);
    if (o->record_calls)
        return tuned_write_calls(o->record_calls);
    return tuned_load(o->db, 0);
}

int main(int argc, char **argv) {
    Options o = {0};
    if (parse_args(argc, argv, &o))
        return 1;
    if (o.list_ops) {
        char *ops = tilec_model_supported_ops();
        fputs(ops ? ops : "", stdout);
        free(ops);
        if (!o.model)
            return 0;
    }
    if (o.threads) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", o.threads);
        setenv("TILE_NUM_THREADS", buf, 1);
    }
    TilecModelOptions mo = {.nshapes = o.nshapes, .shape_names = o.shape_names, .shapes = o.shapes,
                            .profile = o.profile};
    // Elementwise chains as generated kernels, compiled by bin/tilec (not while recording the
    // tunable calls for `tilec tune`: they are not among them).
    static FusedCompiler fc;
    if (!o.no_fuse && !o.record_calls && fused_compiler_init(&fc, "tilec run", o.dump_fused))
        mo.compile_kernel = fused_compile, mo.compile_ctx = &fc;
    TilecModel *m = NULL;
    char *err = NULL;
    Progress p;
    progress_start(&p, "loading", 0);
    TilecModelStatus st = tilec_model_load(o.model, &mo, &m, &err);
    progress_end(&p);
    if (st != TILEC_MODEL_OK) {
        fprintf(stderr, "tilec run: error: %s\n", err ? err : o.model);
        free(err);
        return 1;
    }
    int nin = tilec_model_input_count(m), nout = tilec_model_output_count(m);
    TilecTensor *inputs = calloc((size_t)nin + 1, sizeof *inputs);
    TilecTensor *outs = calloc((size_t)nout + 1, sizeof *outs);
    bool *given = calloc((size_t)nin + 1, 1);
    int rc = !inputs || !outs || !given ? die("out of memory%s%s", "", "")
                                        : gather_inputs(&o, m, inputs, given);
    if (!rc && (o.db || o.record_calls))
        rc = tuned_calls(&o, m, inputs, outs);
    if (!rc && !o.record_calls) {
        if (tilec_model_run(m, inputs, outs, &err) != TILEC_MODEL_OK) {
            fprintf(stderr, "tilec run: error: %s: %s\n", o.model, err ? err : "run failed");
            free(err);
            rc = 1;
        } else {
            if (o.test_data)
                rc = check_outputs(&o, m, outs);
            else if (!o.output_dir && !o.bench)
                print_outputs(m, outs);
            if (!rc && o.output_dir)
                rc = write_outputs(&o, m, outs);
            for (int i = 0; i < nout; i++)
                free(outs[i].data);
            if (!rc && o.bench)
                rc = bench(&o, m, inputs, outs);
            if (!rc && o.profile) {
                char *table = tilec_model_profile(m);
                fputs(table ? table : "", stdout);
                free(table);
            }
            if (!rc && o.profile && mo.compile_kernel)
                printf("fused: %d generated kernels (%d compiled, %d from the cache), %d failed to "
                       "compile\n",
                       fc.compiled + fc.cached, fc.compiled, fc.cached, fc.failed);
            if (!rc && (o.bench || o.profile))
                printf("arena: %.2f MiB planned for all intermediates\n",
                       tilec_model_planned_peak(m) / 1048576.0);
        }
    }
    for (int i = 0; inputs && i < nin; i++)
        free(inputs[i].data);
    free(inputs), free(outs), free(given);
    tilec_model_free(m);
    for (int i = 0; i < o.ninputs; i++)
        free((char *)o.input_names[i]);
    for (int i = 0; i < o.nshapes; i++)
        free((char *)o.shape_names[i]);
    return rc;
}
