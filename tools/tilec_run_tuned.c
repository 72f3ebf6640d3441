// tools/tilec_run_tuned.c — tuned kernel calls for `tilec run` (tilec_run_tuned.h).
//
// The runner's kernel sources are embedded in this binary (runner/kcall.h); they are extracted
// once to $XDG_CACHE_HOME/tilec/sources/HASH/ (HASH: XXH3-128 of their paths and texts), the
// tree the tuner and tune-resolve read, so that the database's source hashes and the variants
// are exactly those of the kernels this binary runs.
#include "tilec_run_tuned.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "kcall.h"

static const char *program = "tilec run";

void tuned_set_program(const char *name) { program = name; }

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "%s: error: %s%s%s\n", program, what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

// mkdir -p of the directories of `path` (every component before a '/').
static int make_dirs(const char *path) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return 0;
}

// The directory of the extracted sources (written when absent) in `dir`. 0, or 1 after printing.
static int sources_dir(char *dir, size_t cap) {
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    for (int i = 0; i < tilec_kcall_source_count(); i++) {
        const KCallSource *s = tilec_kcall_source(i);
        uint64_t len = s->len;
        XXH3_128bits_update(st, s->path, strlen(s->path) + 1);
        XXH3_128bits_update(st, &len, sizeof len);
        XXH3_128bits_update(st, s->text, s->len);
    }
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(dir, cap, "%s/tilec/sources/%016llx%016llx", xdg, (unsigned long long)h.high64,
                 (unsigned long long)h.low64);
    else
        snprintf(dir, cap, "%s/.cache/tilec/sources/%016llx%016llx", home && *home ? home : "/tmp",
                 (unsigned long long)h.high64, (unsigned long long)h.low64);
    for (int i = 0; i < tilec_kcall_source_count(); i++) {
        const KCallSource *s = tilec_kcall_source(i);
        char path[2048], tmp[2100];
        snprintf(path, sizeof path, "%s/%s", dir, s->path);
        if (access(path, R_OK) == 0)
            continue;
        // Written whole under a temporary name, then renamed: a concurrent reader never sees half.
        snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
        FILE *f = make_dirs(path) == 0 ? fopen(tmp, "wb") : NULL;
        bool ok = f && fwrite(s->text, 1, s->len, f) == s->len;
        ok = f && fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            int e = errno;
            unlink(tmp);
            return fail(path, strerror(e));
        }
    }
    return 0;
}

int tuned_write_calls(const char *path) {
    char dir[1024];
    if (sources_dir(dir, sizeof dir))
        return 1;
    FILE *f = fopen(path, "w");
    if (!f)
        return fail(path, strerror(errno));
    for (int i = 0; i < tilec_kcalls_count(); i++) {
        char shape[512];
        const KCallKernel *k = tilec_kcall_kernel(tilec_kcalls_get(i, shape, sizeof shape));
        fprintf(f, "%s\t%s/%s\t%s\n", k->name, dir, k->source, shape);
    }
    if (fclose(f) != 0)
        return fail(path, strerror(errno));
    return 0;
}

int tuned_source_path(const KCallKernel *k, char *out, size_t cap) {
    char dir[1024];
    if (sources_dir(dir, sizeof dir))
        return 1;
    snprintf(out, cap, "%s/%s", dir, k->source);
    return 0;
}

int tuned_beside_self(const char *rel, char *out, size_t cap) {
    size_t rl = strlen(rel);
    ssize_t n = cap > rl + 2 ? readlink("/proc/self/exe", out, cap - rl - 2) : -1;
    if (n <= 0)
        return fail(rel, "cannot find it: readlink /proc/self/exe failed");
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    strcpy(slash ? slash + 1 : out, rel);
    return 0;
}

// Runs `tilec tune-resolve --db DB CALLS` with its standard output read into `out` (malloc'd).
static int resolve(const char *db, const char *calls, char **out) {
    char self[1024];
    if (tuned_beside_self("tilec", self, sizeof self))
        return 1;
    int fds[2];
    if (pipe(fds) != 0)
        return fail("pipe", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]), close(fds[1]);
        execl(self, self, "tune-resolve", "--db", db, calls, (char *)NULL);
        fprintf(stderr, "%s: error: cannot run %s: %s\n", program, self, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = read(fds[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (len + 1 == cap) {
            char *g = realloc(buf, cap *= 2);
            if (!g)
                free(buf);
            buf = g;
        }
    }
    close(fds[0]);
    int ws;
    bool ok = pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    if (!ok || !buf) {
        free(buf);
        return fail("the tuned kernels could not be resolved", db);
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int tuned_resolve(const char *db, TunedVariant **variants, int *count) {
    *variants = NULL;
    *count = 0;
    char calls[512];
    snprintf(calls, sizeof calls, "%s/tilec-calls-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(calls);
    if (fd < 0)
        return fail("cannot create a temporary file", strerror(errno));
    close(fd);
    char *out = NULL;
    int rc = tuned_write_calls(calls) || resolve(db, calls, &out);
    unlink(calls);
    int n = 0, cap = 0;
    TunedVariant *v = NULL;
    char dir[1024];
    rc = rc || sources_dir(dir, sizeof dir);
    for (char *line = out, *next; !rc && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (n == cap) {
            TunedVariant *g = realloc(v, sizeof *v * (size_t)(cap = cap ? 2 * cap : 16));
            if (!g) {
                rc = fail("out of memory", NULL);
                break;
            }
            v = g;
        }
        TunedVariant *t = &v[n];
        memset(t, 0, sizeof *t);
        if (sscanf(line, "%d\t%1399[^\t]\t%511s", &t->call, t->so, t->config) != 3 ||
            !(t->kernel = tilec_kcall_kernel(tilec_kcalls_get(t->call, t->shape, sizeof t->shape)))) {
            rc = fail("unexpected answer from tilec tune-resolve", line);
            break;
        }
        snprintf(t->source, sizeof t->source, "%s/%s", dir, t->kernel->source);
        n++;
    }
    free(out);
    if (rc)
        free(v);
    else
        *variants = v, *count = n;
    return rc;
}

// What to say when a database routes nothing: its rows are per CPU and thread count.
void tuned_note_threads(void) {
    // The database keys its rows by CPU and thread count (autotune/tune.c), as `tilec tune`
    // ran: a model tuned on 2 threads has no rows for a one-thread run.
    const char *threads = getenv("TILE_NUM_THREADS");
    long n = threads && atol(threads) > 0 ? atol(threads) : sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(stderr,
            "%s: note: tuned rows are per CPU and thread count; this run looks for rows "
            "tuned on %ld thread%s (tune with TILE_NUM_THREADS=%ld)\n",
            program, n, n == 1 ? "" : "s", n);
}

int tuned_load(const char *db, int quiet) {
    TunedVariant *v;
    int n, rc = tuned_resolve(db, &v, &n), routed = 0;
    for (int i = 0; !rc && i < n; i++) {
        // RTLD_LOCAL: each variant keeps its symbols to itself (they share the kernel's name).
        void *lib = dlopen(v[i].so, RTLD_NOW | RTLD_LOCAL);
        void *fn = lib ? dlsym(lib, v[i].kernel->name) : NULL;
        if (!fn)
            rc = fail("cannot load a tuned variant", dlerror());
        else if (!tilec_kcalls_route(v[i].call, fn))
            rc = fail("cannot route a kernel call", v[i].so);
        else
            routed++;
    }
    free(v);
    if (!rc && !quiet)
        fprintf(stderr, "tilec run: %d of %d tunable kernel calls run tuned versions (%s)\n", routed,
                tilec_kcalls_count(), db);
    if (!rc && !quiet && routed == 0 && tilec_kcalls_count() > 0)
        tuned_note_threads();
    return rc;
}
