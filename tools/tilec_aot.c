// tools/tilec_aot.c — `tilec MODEL.onnx --shape NAME=DIMS... -o NAME.o` (bin/tilec-aot): compiles
// an ONNX model ahead of time into a relocatable object NAME.o and a header NAME.h. The model is
// loaded and prepared as `tilec run` does (constants folded, nodes fused), run once on zeros to
// learn its outputs' shapes, and written as a blob (runner/blob.h); `ld` and `objcopy` link the
// blob with lib/tilec/aot_rt.o (the runner's core, the kernels, the runtime) and leave only
// NAME_run and NAME_info global. With --db, the kernel calls that the tuning database has winners
// for are compiled to tuned variants linked in beside them (routed by runner/kcall.c when the
// object first runs); with --specialize every recorded kernel call is compiled for its fixed
// sizes (tilec --fix, tools/tilec_aot_spec.c); elementwise chains fused into generated kernels
// are linked in too (tools/tilec_aot_fused.c). docs/aot.md is the manual.
#include <ctype.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blob.h"
#include "kcall.h"
#include "tilec_aot.h"
#include "tilec_aot_fused.h"
#include "tilec_aot_spec.h"
#include "tilec_run_tuned.h"

extern char **environ;

#define MAX_SHAPES 64

typedef struct Options {
    const char *model, *out;
    const char *db;   // --db: the tuning database whose winners are compiled in
    bool specialize;  // --specialize: every kernel call compiled for its key (tilec_aot_spec.h)
    const char *shape_names[MAX_SHAPES];
    TilecTensor shapes[MAX_SHAPES];
    int nshapes;
} Options;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("tilec: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static void usage(FILE *f) {
    fputs("usage: tilec MODEL.onnx [--shape NAME=DIMS]... [--db DB] [--specialize] -o NAME.o\n"
          "  compiles the model ahead of time: NAME.o (weights, kernels, runtime inside) and\n"
          "  NAME.h declaring NAME_run and NAME_info; every input's shape must be fixed\n"
          "  --shape NAME=1x3x224x224  fix a graph input's symbolic dims (or NAME=N for a named dim)\n"
          "  --db DB                   compile in the tuned versions of the model's kernel calls\n"
          "                            that DB has winners for (rows of this CPU and\n"
          "                            TILE_NUM_THREADS, as `tilec tune MODEL.onnx` wrote them)\n"
          "  --specialize              compile every kernel call for its fixed sizes (tilec --fix),\n"
          "                            with the tuned configuration where --db has one (cached)\n"
          "  -o NAME.o                 the object; NAME must be a C identifier\n",
          f);
}

static int parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--shape") == 0 || strcmp(a, "--db") == 0) && i + 1 >= argc)
            return fail("%s needs a value", a);
        if (strcmp(a, "-o") == 0) {
            o->out = argv[++i];
        } else if (strcmp(a, "--db") == 0) {
            o->db = argv[++i];
        } else if (strcmp(a, "--specialize") == 0) {
            o->specialize = true;
        } else if (strcmp(a, "--shape") == 0) {
            const char *val = argv[++i];
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || o->nshapes == MAX_SHAPES ||
                !tilec_parse_dims(eq + 1, &o->shapes[o->nshapes]))
                return fail("--shape %s: expected NAME=DIMS such as input=1x3x224x224", val);
            o->shape_names[o->nshapes++] = strndup(val, (size_t)(eq - val));
        } else if (a[0] == '-') {
            usage(stderr);
            return fail("unknown option '%s'", a);
        } else if (o->model) {
            return fail("one model at a time ('%s' and '%s')", o->model, a);
        } else {
            o->model = a;
        }
    }
    if (!o->model)
        return usage(stderr), fail("no model given");
    if (!o->out)
        return fail("%s: give the object to write with -o NAME.o", o->model);
    return 0;
}

// NAME from -o's base name without ".o": a C identifier (it prefixes the C symbols), else an
// error (a name is not silently changed: the symbols must be what the user expects).
static int object_name(const char *out, char *name, size_t cap) {
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    size_t len = strlen(base);
    if (len < 3 || strcmp(base + len - 2, ".o") != 0)
        return fail("-o %s: the object's name must end in .o (NAME.o)", out);
    len -= 2;
    bool ok = len < cap && (isalpha((unsigned char)base[0]) || base[0] == '_');
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)base[i]) || base[i] == '_';
    if (!ok)
        return fail("-o %s: '%.*s' is not a C identifier (letters, digits and _, not starting with "
                    "a digit); it names the functions NAME_run and NAME_info",
                    out, (int)len, base);
    memcpy(name, base, len);
    name[len] = '\0';
    return 0;
}

int aot_spawn(const char *dir, char *const *argv) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0)
        return fail("cannot enter %s: %s", dir, strerror(errno));
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (chdir(cwd) != 0)
        return fail("cannot return to %s: %s", cwd, strerror(errno));
    if (rc != 0)
        return fail("cannot run %s: %s (binutils' ld, objcopy and as are needed)", argv[0], strerror(rc));
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("%s failed", argv[0]);
    return 0;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return fail("cannot write %s: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok ? 0 : fail("cannot write %s: %s", path, strerror(errno));
}

static int read_all(const char *path, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail("cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !(*data = malloc((size_t)st.st_size + 1))) {
        fclose(f);
        return fail("cannot read %s", path);
    }
    *len = fread(*data, 1, (size_t)st.st_size, f);
    fclose(f);
    return *len == (size_t)st.st_size ? 0 : fail("cannot read %s", path);
}

static void shape_text(const TilecTensor *t, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%s", t->rank ? "" : "scalar");
    for (int d = 0; d < t->rank && n >= 0 && (size_t)n < cap; d++)
        n += snprintf(buf + n, cap - (size_t)n, d ? "x%lld" : "%lld", (long long)t->dims[d]);
}

static size_t bytes_of(const TilecTensor *t) {
    size_t n = tilec_dtype_size(t->dtype);
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

static int write_header(const char *path, const char *name, const char *model, TilecModel *m,
                        const TilecTensor *outs) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return fail("out of memory");
    char guard[300];
    snprintf(guard, sizeof guard, "TILEC_AOT_%s_H", name);
    for (char *c = guard; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    const char *base = strrchr(model, '/');
    fprintf(f,
            "// %s.h — the model %s compiled ahead of time by tilec into %s.o (docs/aot.md).\n"
            "//   cc main.c %s.o -lpthread -lm -o main\n"
            "// %s_run(inputs, outputs): inputs and outputs in graph order, dense row-major, of the\n"
            "// types and shapes below (dtype: ONNX's TensorProto.DataType: 1 float, 7 int64, 9 bool\n"
            "// as one byte...). Returns 0 or a TILEC_ERR_* code. Safe to call from several threads\n"
            "// at once; the first call of %s_run or %s_info reads the model (weights repacked).\n"
            "// TILE_NUM_THREADS sets the kernels' thread pool (default: all cores).\n//\n",
            name, base ? base + 1 : model, name, name, name, name, name);
    int nin = tilec_model_input_count(m), nout = tilec_model_output_count(m);
    for (int k = 0; k < nin + nout; k++) {
        TilecTensor t;
        if (k < nin)
            tilec_model_input_info(m, k, &t, NULL);
        else
            t = outs[k - nin];
        char shp[200];
        shape_text(&t, shp, sizeof shp);
        fprintf(f, "// %s %d: %s, %s %s (%zu bytes)\n", k < nin ? "input " : "output", k < nin ? k : k - nin,
                k < nin ? tilec_model_input_name(m, k) : tilec_model_output_name(m, k - nin),
                tilec_dtype_name(t.dtype), shp, bytes_of(&t));
    }
    fprintf(f,
            "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
            "// Shared by every model's header.\n#ifndef TILEC_AOT_TYPES\n#define TILEC_AOT_TYPES\n"
            "%s"
            "enum TilecAotStatus {\n",
            guard, guard, TILEC_AOT_TEXT);
#define STATUS_LINE(n, v, meaning) fprintf(f, "    %s = %d,  // %s\n", #n, v, meaning);
    TILEC_AOT_STATUS(STATUS_LINE)
#undef STATUS_LINE
    fprintf(f,
            "};\n#endif\n\n"
            "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n\n"
            "int %s_run(const void *const *inputs, void *const *outputs);\n"
            "// Names, types and shapes of the inputs and outputs; NULL if the model cannot be read\n"
            "// (out of memory).\n"
            "const TilecAotInfo *%s_info(void);\n\n"
            "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
            name, nin, name, nout, name, name);
    if (fclose(f) != 0) {
        free(text);
        return fail("out of memory");
    }
    int st = write_file(path, text, len);
    free(text);
    return st;
}

// Zero-filled inputs of the fixed shapes: one run gives the outputs' types and shapes.
static int trial_run(const char *model, TilecModel *m, TilecTensor *outs) {
    int nin = tilec_model_input_count(m);
    const Graph *g = &m->graph;
    TilecTensor *ins = calloc((size_t)nin + 1, sizeof *ins);
    if (!ins)
        return fail("out of memory");
    int st = 0;
    for (int i = 0; i < nin && !st; i++) {
        const char *const *dim_names;
        tilec_model_input_info(m, i, &ins[i], &dim_names);
        const char *in = tilec_model_input_name(m, i);
        if (ins[i].rank < 0)
            st = fail("%s: input '%s' has no declared shape: give it with --shape %s=DIMS", model, in, in);
        for (int d = 0; !st && d < ins[i].rank; d++)
            if (ins[i].dims[d] < 0)
                st =
                    fail("%s: input '%s' has a symbolic dimension %d%s%s%s: fix it with --shape "
                         "%s=DIMS%s",
                         model, in, d, dim_names && dim_names[d] ? " ('" : "",
                         dim_names && dim_names[d] ? dim_names[d] : "", dim_names && dim_names[d] ? "')" : "",
                         in, dim_names && dim_names[d] ? " or --shape NAME=N" : "");
        if (!st && g->values[g->inputs[i]].shape_relevant)
            st = fail("%s: input '%s' decides the shapes of other tensors (its values are read when "
                      "planning); such models cannot be compiled ahead of time",
                      model, in);
        if (!st && !(ins[i].data = calloc(1, bytes_of(&ins[i]) + 1)))
            st = fail("out of memory");
    }
    char *err = NULL;
    if (!st && tilec_model_run(m, ins, outs, &err) != TILEC_MODEL_OK)
        st = fail("%s: a run on zeros fails: %s", model, err ? err : "out of memory");
    free(err);
    for (int i = 0; i < nin; i++)
        free(ins[i].data);
    free(ins);
    return st;
}

// The objects of the tuned variants (--db) and of the table of routes to them, in `dir`:
// tuned_I.o (variant I, every symbol local but its kernel, renamed tilec_aot_tuned_I) and
// routes.o (tilec_aot_routes, runner/aot/tilec_aot.h; empty without --db). Their names are
// appended to `files` (*nfiles of them, each malloc'd).
static int tuned_objects(const Options *o, const char *dir, const char *name, char **files, int *nfiles,
                         int max_files) {
    TunedVariant *v = NULL;
    int n = 0, st = 0;
    if (o->db) {
        st = tuned_resolve(o->db, &v, &n);
        if (!st && n > max_files - 8)
            st = fail("%s: %d tuned variants: more than one object takes (%d)", o->db, n, max_files - 8);
    }
    if (o->specialize) {  // every call, tuned or not, compiled for its key
        st = st || aot_specialize(dir, name, v, n, files, nfiles, max_files);
        if (!st && o->db && n == 0 && tilec_kcalls_count() > 0)
            tuned_note_threads();
        free(v);
        return st;
    }
    char tilec[4096];
    if (!st && n > 0)
        st = tuned_beside_self("tilec", tilec, sizeof tilec);
    for (int i = 0; i < n && !st; i++) {
        // tilec SOURCE --kernel K -D T=V... [--schedule=S] -o tuned_I0.o: the configuration's
        // tunables, then after ';' the schedule's options, as `tilec tune` compiled it.
        char *argv[160], defs[64][128], sched[600], obj[64], obj1[64], obj2[64], keep[300], ren[400];
        int a = 0, nd = 0;
        argv[a++] = tilec;
        argv[a++] = v[i].source;
        argv[a++] = "--kernel";
        argv[a++] = (char *)v[i].kernel->name;
        char *cfg = v[i].config, *semi = strchr(cfg, ';');
        if (semi)
            *semi = '\0';
        for (char *item = strtok(cfg, ","); item && nd < 64; item = strtok(NULL, ",")) {
            snprintf(defs[nd], sizeof defs[nd], "%s", item);
            argv[a++] = "-D";
            argv[a++] = defs[nd++];
        }
        if (semi && semi[1]) {
            snprintf(sched, sizeof sched, "--schedule=%s", semi + 1);
            argv[a++] = sched;
        }
        snprintf(obj, sizeof obj, "tuned_%d0.o", i);
        snprintf(obj1, sizeof obj1, "tuned_%d1.o", i);
        snprintf(obj2, sizeof obj2, "tuned_%d.o", i);
        argv[a++] = "-o";
        argv[a++] = obj;
        argv[a] = NULL;
        snprintf(keep, sizeof keep, "%s", v[i].kernel->name);
        snprintf(ren, sizeof ren, "%s=tilec_aot_tuned_%d", v[i].kernel->name, i);
        char *cp_keep[] = {"objcopy", "--keep-global-symbol", keep, obj, obj1, NULL};
        char *cp_name[] = {"objcopy", "--redefine-sym", ren, obj1, obj2, NULL};
        st = aot_spawn(dir, argv);
        if (st)
            fail("%s: kernel %s: cannot compile its tuned configuration %s", v[i].source, v[i].kernel->name,
                 v[i].config);
        st = st || aot_spawn(dir, cp_keep) || aot_spawn(dir, cp_name);
        char hdr[64], path[4200];
        snprintf(hdr, sizeof hdr, "tuned_%d0.h", i);  // tilec writes X.h beside X.o
        const char *tmp[] = {obj, obj1, hdr};
        for (int t = 0; t < 3; t++) {
            snprintf(path, sizeof path, "%s/%s", dir, tmp[t]);
            remove(path);
        }
        if (!st && !(files[(*nfiles)++] = strdup(obj2)))
            st = fail("out of memory");
    }
    // routes.s: {fn, kernel, shape} per variant, then {0, 0, 0}.
    char *text = NULL;
    size_t len = 0;
    FILE *f = st ? NULL : open_memstream(&text, &len);
    if (!st && !f)
        st = fail("out of memory");
    if (f) {
        fputs("\t.section .data.rel.ro.tilec_aot_routes,\"aw\"\n\t.p2align 3\n"
              "\t.globl tilec_aot_routes\ntilec_aot_routes:\n",
              f);
        for (int i = 0; i < n; i++)
            fprintf(f, "\t.quad tilec_aot_tuned_%d, .Lkernel%d, .Lshape%d\n", i, i, i);
        fputs("\t.quad 0, 0, 0\n\t.section .rodata.tilec_aot_routes,\"a\"\n", f);
        for (int i = 0; i < n; i++) {
            fprintf(f, ".Lkernel%d:\n\t.asciz \"%s\"\n.Lshape%d:\n\t.asciz \"%s\"\n", i, v[i].kernel->name, i,
                    v[i].shape);
        }
        fputs("\t.section .note.GNU-stack,\"\",@progbits\n", f);
        if (fclose(f) != 0)
            st = fail("out of memory");
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/routes.s", dir);
    char *as[] = {"as", "-o", "routes.o", "routes.s", NULL};
    if (!st)
        st = write_file(path, text, len) || aot_spawn(dir, as);
    remove(path);
    free(text);
    if (!st && !(files[(*nfiles)++] = strdup("routes.o")))
        st = fail("out of memory");
    if (!st && o->db) {
        fprintf(stderr, "tilec: %s.o: %d of %d tunable kernel calls run tuned versions (%s)\n", name, n,
                tilec_kcalls_count(), o->db);
        if (n == 0 && tilec_kcalls_count() > 0)
            tuned_note_threads();
    }
    free(v);
    return st;
}

static int compile(const Options *o, const char *name) {
    // lib/tilec/aot_rt.o beside bin/ (build tree and install alike).
    char rt[4096];
    tuned_set_program("tilec");
    if (tuned_beside_self("../lib/tilec/aot_rt.o", rt, sizeof rt))
        return 1;
    if (access(rt, R_OK) != 0)
        return fail("cannot read %s: %s", rt, strerror(errno));

    TilecModelOptions mo = {.nshapes = o->nshapes, .shape_names = o->shape_names, .shapes = o->shapes};
    // Elementwise chains fused into generated kernels, as tilec run does; linked in below.
    static FusedCompiler fc;
    if (fused_compiler_init(&fc, "tilec", NULL))
        mo.compile_kernel = fused_compile, mo.compile_ctx = &fc;
    TilecModel *m;
    char *err = NULL;
    if (tilec_model_load(o->model, &mo, &m, &err) != TILEC_MODEL_OK) {
        int st = fail("%s", err ? err : "out of memory");
        free(err);
        return st;
    }
    int nout = tilec_model_output_count(m);
    TilecTensor *outs = calloc((size_t)nout + 1, sizeof *outs);
    uint8_t *blob = NULL, *obj = NULL;
    size_t blob_len = 0, obj_len = 0;
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tilec-aot-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    bool have_dir = false;
    RErr e = {0};
    // The trial run records the model's tunable kernel calls (runner/kcall.h) for --db.
    tilec_kcalls_record(o->db != NULL || o->specialize);
    int st = outs ? trial_run(o->model, m, outs) : fail("out of memory");
    tilec_kcalls_record(false);
    if (!st && blob_write(m, outs, &blob, &blob_len, &e) != 0)
        st = fail("%s: %s", o->model, e.msg);
    if (!st && !(have_dir = mkdtemp(dir) != NULL))
        st = fail("cannot make a temporary folder: %s", strerror(errno));
    if (!st) {
        char path[sizeof dir + 16];
        snprintf(path, sizeof path, "%s/blob", dir);
        st = write_file(path, blob, blob_len);
    }
    // blob -> blob.o (section .rodata.tilec_aot, 64-byte aligned, symbols renamed).
    char *ld_blob[] = {"ld", "-r", "-z", "noexecstack", "-b", "binary", "-o", "blob0.o", "blob", NULL};
    char *cp_blob[] = {"objcopy",
                       "--rename-section",
                       ".data=.rodata.tilec_aot,alloc,load,readonly,data,contents",
                       "--set-section-alignment",
                       ".data=64",
                       "--redefine-sym",
                       "_binary_blob_start=tilec_aot_blob_start",
                       "--redefine-sym",
                       "_binary_blob_end=tilec_aot_blob_end",
                       "--strip-symbol",
                       "_binary_blob_size",
                       "blob0.o",
                       "blob.o",
                       NULL};
    enum { MAX_FILES = 520 };
    char *extra[MAX_FILES];
    int nextra = 0;
    if (!st)
        st = tuned_objects(o, dir, name, extra, &nextra, MAX_FILES);
    if (!st)
        st = aot_fused_objects(mo.compile_kernel ? &fc : NULL, dir, extra, &nextra, MAX_FILES);
    char *ld_all[MAX_FILES + 10] = {"ld", "-r", "-z", "noexecstack", "-o", "model0.o", rt, "blob.o"};
    for (int i = 0; i < nextra; i++)
        ld_all[8 + i] = extra[i];
    // Every symbol but the two entries made local first (so NAME_run cannot meet an internal
    // symbol of that name), debug information dropped (the runner's, megabytes), then the
    // entries renamed.
    char run_sym[300], info_sym[300];
    snprintf(run_sym, sizeof run_sym, "tilec_aot_entry_run=%s_run", name);
    snprintf(info_sym, sizeof info_sym, "tilec_aot_entry_info=%s_info", name);
    char *cp_keep[] = {"objcopy",
                       "--strip-debug",
                       "--keep-global-symbol",
                       "tilec_aot_entry_run",
                       "--keep-global-symbol",
                       "tilec_aot_entry_info",
                       "model0.o",
                       "model1.o",
                       NULL};
    char *cp_names[] = {"objcopy", "--redefine-sym", run_sym,   "--redefine-sym",
                        info_sym,  "model1.o",       "model.o", NULL};
    char *const *steps[] = {ld_blob, cp_blob, ld_all, cp_keep, cp_names};
    for (size_t s = 0; s < sizeof steps / sizeof *steps && !st; s++)
        st = aot_spawn(dir, steps[s]);
    if (!st) {
        char path[sizeof dir + 16];
        snprintf(path, sizeof path, "%s/model.o", dir);
        st = read_all(path, &obj, &obj_len);
    }
    // NAME.h beside NAME.o; both written only when everything above worked.
    char *header = strdup(o->out);
    if (!st && !header)
        st = fail("out of memory");
    if (!st) {
        header[strlen(header) - 1] = 'h';
        st = write_file(o->out, obj, obj_len);
    }
    if (!st && (st = write_header(header, name, o->model, m, outs)) != 0)
        remove(o->out);
    free(header);
    if (have_dir) {
        const char *files[] = {"blob", "blob0.o", "blob.o", "model0.o", "model1.o", "model.o"};
        for (size_t i = 0; i < sizeof files / sizeof *files + (size_t)nextra; i++) {
            char path[sizeof dir + 16];
            snprintf(path, sizeof path, "%s/%s", dir, i < 6 ? files[i] : extra[i - 6]);
            remove(path);
        }
        rmdir(dir);
    }
    for (int i = 0; outs && i < nout; i++)
        free(outs[i].data);
    for (int i = 0; i < nextra; i++)
        free(extra[i]);
    free(outs), free(blob), free(obj);
    tilec_model_free(m);
    return st;
}

int main(int argc, char **argv) {
    Options o = {0};
    int rc = parse_args(argc, argv, &o);
    char name[256];
    if (!rc)
        rc = object_name(o.out, name, sizeof name);
    if (!rc)
        rc = compile(&o, name);
    for (int i = 0; i < o.nshapes; i++)
        free((char *)o.shape_names[i]);
    return rc < 0 ? 0 : rc;
}
