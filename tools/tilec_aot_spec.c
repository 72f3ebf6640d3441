// tools/tilec_aot_spec.c — kernel calls of an ahead-of-time model specialized to their keys
// (tilec_aot_spec.h).
#include "tilec_aot_spec.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

extern char **environ;

static int fail(const char *fmt, const char *a, const char *b) {
    fputs("tilec: error: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

// Hashes the bytes of file `path` into st; false when it cannot be read.
static bool hash_file(XXH3_state_t *st, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        XXH3_128bits_update(st, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

// The variant cache ($XDG_CACHE_HOME/tilec/variants, else ~/.cache/tilec/variants, as `tilec
// tune`), created if absent.
static int cache_dir(char *out, size_t cap) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/tilec/variants", xdg);
    else
        snprintf(out, cap, "%s/.cache/tilec/variants", home && *home ? home : "/tmp");
    for (char *p = out + 1;; p++)  // mkdir -p
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            int e = mkdir(out, 0777) != 0 && errno != EEXIST ? errno : 0;
            *p = c;
            if (e)
                return fail("cannot create %s: %s", out, strerror(e));
            if (!c)
                return 0;
        }
}

// One call to compile: its argv (tilec SOURCE --kernel K --fix KEY [-D T=V]... [--schedule=S]
// -o TMP), the cached object and the temporary one it is written to first.
typedef struct SpecJob {
    char *argv[160];
    char defs[64][128], fix[520], sched[600], kernel[128], source[1400];
    char cached[1500], tmp[1540];
    pid_t pid;
} SpecJob;

static void job_args(SpecJob *j, const char *tilec, const KCallKernel *k, const char *shape,
                     const char *config) {
    int a = 0, nd = 0;
    snprintf(j->kernel, sizeof j->kernel, "%s", k->name);
    snprintf(j->fix, sizeof j->fix, "%s", shape);
    j->argv[a++] = (char *)tilec;
    j->argv[a++] = j->source;
    j->argv[a++] = "--kernel";
    j->argv[a++] = j->kernel;
    j->argv[a++] = "--fix";
    j->argv[a++] = j->fix;
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s", config ? config : "");
    char *semi = strchr(cfg, ';'), *save = NULL;
    if (semi)
        *semi = '\0';
    for (char *item = strtok_r(cfg, ",", &save); item && nd < 64; item = strtok_r(NULL, ",", &save)) {
        snprintf(j->defs[nd], sizeof j->defs[nd], "%s", item);
        j->argv[a++] = "-D";
        j->argv[a++] = j->defs[nd++];
    }
    if (semi && semi[1]) {
        snprintf(j->sched, sizeof j->sched, "--schedule=%s", semi + 1);
        j->argv[a++] = j->sched;
    }
    j->argv[a++] = "-o";
    j->argv[a++] = j->tmp;
    j->argv[a] = NULL;
}

// Waits for job j's compile; on success its object is renamed into the cache. 0, or 1 after
// printing why.
static int finish(SpecJob *j) {
    int status;
    bool ok = waitpid(j->pid, &status, 0) == j->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char hdr[1540];
    snprintf(hdr, sizeof hdr, "%.*s.h", (int)(strlen(j->tmp) - 2), j->tmp);  // tilec writes X.h beside X.o
    remove(hdr);
    if (ok && rename(j->tmp, j->cached) == 0)
        return 0;
    remove(j->tmp);
    return fail("%s: cannot compile it specialized (--fix %s)", j->source, j->fix);
}

int aot_specialize(const char *dir, const char *name, const TunedVariant *v, int nv, char **files,
                   int *nfiles, int max_files) {
    int n = tilec_kcalls_count();
    if (n > max_files - 8) {
        char count[32];
        snprintf(count, sizeof count, "%d", n);
        return fail("%s kernel calls to specialize: more than one object takes (%s)", count, "--specialize");
    }
    char tilec[4096], cache[1024];
    if (tuned_beside_self("tilec", tilec, sizeof tilec) || cache_dir(cache, sizeof cache))
        return 1;
    // bin/tilec's bytes name the compiler in the cache key.
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    bool ok = st && hash_file(st, tilec);
    XXH128_hash_t compiler = ok ? XXH3_128bits_digest(st) : (XXH128_hash_t){0};
    if (!ok) {
        XXH3_freeState(st);
        return fail("cannot read %s%s", tilec, "");
    }
    SpecJob *jobs = calloc((size_t)n + 1, sizeof *jobs);
    char(*shapes)[512] = calloc((size_t)n + 1, 512);
    const KCallKernel **kernels = calloc((size_t)n + 1, sizeof *kernels);
    int rc = jobs && shapes && kernels ? 0 : fail("out of memory%s%s", "", "");
    int ntuned = 0, ncompiled = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int running[64], nrunning = 0;
    for (int i = 0; i < n && !rc; i++) {
        SpecJob *j = &jobs[i];
        kernels[i] = tilec_kcall_kernel(tilec_kcalls_get(i, shapes[i], sizeof shapes[i]));
        const char *config = NULL;
        for (int t = 0; t < nv; t++)
            if (v[t].call == i)
                config = v[t].config;
        ntuned += config != NULL;
        if ((rc = tuned_source_path(kernels[i], j->source, sizeof j->source)))
            break;
        XXH3_128bits_reset(st);
        XXH3_128bits_update(st, &compiler, sizeof compiler);
        const char *parts[] = {kernels[i]->name, shapes[i], config ? config : ""};
        for (int p = 0; p < 3; p++)
            XXH3_128bits_update(st, parts[p], strlen(parts[p]) + 1);
        if (!hash_file(st, j->source)) {
            rc = fail("cannot read %s%s", j->source, "");
            break;
        }
        XXH128_hash_t h = XXH3_128bits_digest(st);
        snprintf(j->cached, sizeof j->cached, "%s/aot-%s-%016llx%016llx.o", cache, kernels[i]->name,
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
        snprintf(j->tmp, sizeof j->tmp, "%s.%d-%d.tmp.o", j->cached, (int)getpid(), i);
        if (access(j->cached, R_OK) == 0)
            continue;
        bool dup = false;  // the same key twice (another call site): compiled once
        for (int p = 0; p < i && !dup; p++)
            dup = !strcmp(jobs[p].cached, j->cached);
        if (dup)
            continue;
        job_args(j, tilec, kernels[i], shapes[i], config);
        // At most one compile per core at once.
        if (nrunning == threads || nrunning == 64) {
            rc = finish(&jobs[running[0]]);
            memmove(running, running + 1, sizeof running[0] * (size_t)--nrunning);
        }
        int e = rc ? 0 : posix_spawnp(&j->pid, tilec, NULL, NULL, j->argv, environ);
        if (e)
            rc = fail("cannot run %s: %s", tilec, strerror(e));
        else if (!rc)
            running[nrunning++] = i, ncompiled++;
    }
    for (int r = 0; r < nrunning; r++) {  // the compiles still going, even after a failure
        int e = finish(&jobs[running[r]]);
        rc = rc || e;
    }
    XXH3_freeState(st);
    // spec_I.o: every symbol local but the kernel, renamed tilec_aot_spec_I.
    for (int i = 0; i < n && !rc; i++) {
        char obj1[64], obj2[64], ren[300], path[4200];
        snprintf(obj1, sizeof obj1, "spec_%d1.o", i);
        snprintf(obj2, sizeof obj2, "spec_%d.o", i);
        snprintf(ren, sizeof ren, "%s=tilec_aot_spec_%d", kernels[i]->name, i);
        char *cp_keep[] = {"objcopy", "--keep-global-symbol", jobs[i].kernel, jobs[i].cached, obj1, NULL};
        char *cp_name[] = {"objcopy", "--redefine-sym", ren, obj1, obj2, NULL};
        snprintf(jobs[i].kernel, sizeof jobs[i].kernel, "%s", kernels[i]->name);
        rc = aot_spawn(dir, cp_keep) || aot_spawn(dir, cp_name);
        snprintf(path, sizeof path, "%s/%s", dir, obj1);
        remove(path);
        if (!rc && !(files[(*nfiles)++] = strdup(obj2)))
            rc = fail("out of memory%s%s", "", "");
    }
    // routes.s: {fn, kernel, key} per call, then {0, 0, 0}.
    char path[4200];
    snprintf(path, sizeof path, "%s/routes.s", dir);
    FILE *f = rc ? NULL : fopen(path, "w");
    if (!rc && !f)
        rc = fail("cannot write %s: %s", path, strerror(errno));
    if (f) {
        fputs("\t.section .data.rel.ro.tilec_aot_routes,\"aw\"\n\t.p2align 3\n"
              "\t.globl tilec_aot_routes\ntilec_aot_routes:\n",
              f);
        for (int i = 0; i < n; i++)
            fprintf(f, "\t.quad tilec_aot_spec_%d, .Lkernel%d, .Lshape%d\n", i, i, i);
        fputs("\t.quad 0, 0, 0\n\t.section .rodata.tilec_aot_routes,\"a\"\n", f);
        for (int i = 0; i < n; i++)
            fprintf(f, ".Lkernel%d:\n\t.asciz \"%s\"\n.Lshape%d:\n\t.asciz \"%s\"\n", i, kernels[i]->name, i,
                    shapes[i]);
        fputs("\t.section .note.GNU-stack,\"\",@progbits\n", f);
        if (fclose(f) != 0)
            rc = fail("cannot write %s: %s", path, strerror(errno));
    }
    char *as[] = {"as", "-o", "routes.o", "routes.s", NULL};
    rc = rc || aot_spawn(dir, as);
    remove(path);
    if (!rc && !(files[(*nfiles)++] = strdup("routes.o")))
        rc = fail("out of memory%s%s", "", "");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc)
        fprintf(stderr,
                "tilec: %s.o: %d kernel calls specialized to their shapes (%d with tuned configurations); %d "
                "compiled, the others from the cache (%.1f s)\n",
                name, n, ntuned, ncompiled,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    free(jobs), free(shapes), free(kernels);
    return rc;
}
