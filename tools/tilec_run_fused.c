// tools/tilec_run_fused.c — the compile hook for fused elementwise chains (tilec_run_fused.h).
//
// The cache: $XDG_CACHE_HOME/tilec/fused/KEY/NAME.{tile,so} (~/.cache without XDG_CACHE_HOME),
// KEY a hash of the compiler binary's path, size and modification time, NAME the kernel's name
// (a hash of its text). A kernel whose NAME.so is there is loaded without compiling: a model
// loads fast the second time. Files are written under temporary names and renamed, so that
// concurrent loads never see half a file.
#include "tilec_run_fused.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tilec_run_tuned.h"

// mkdir -p.
static int make_dir(const char *path) {
    char buf[1100];
    snprintf(buf, sizeof buf, "%s/", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return 0;
}

// `text` written to `path` whole (through a temporary file renamed). 0 or -1.
static int write_whole(const char *path, const char *text) {
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    size_t len = strlen(text);
    bool ok = f && fwrite(text, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

bool fused_compiler_init(FusedCompiler *fc, const char *program, const char *dump_dir) {
    memset(fc, 0, sizeof *fc);
    fc->program = program;
    fc->dump_dir = dump_dir;
    const char *off = getenv("TILEC_FUSE");
    if (off && strcmp(off, "0") == 0)
        return false;
    const char *env = getenv("TILEC_FUSE_COMPILER");
    if (env && *env)
        snprintf(fc->tilec, sizeof fc->tilec, "%s", env);
    else if (tuned_beside_self("tilec", fc->tilec, sizeof fc->tilec))
        return false;
    struct stat st;
    if (stat(fc->tilec, &st) != 0) {
        fprintf(stderr, "%s: note: no compiler at %s (%s): elementwise chains run op by op\n", program,
                fc->tilec, strerror(errno));
        return false;
    }
    char id[1200];
    snprintf(id, sizeof id, "%s|%lld|%lld.%09ld", fc->tilec, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    unsigned long long key = (unsigned long long)XXH64(id, strlen(id), 0);
    if (xdg && *xdg)
        snprintf(fc->cache, sizeof fc->cache, "%s/tilec/fused/%016llx", xdg, key);
    else
        snprintf(fc->cache, sizeof fc->cache, "%s/.cache/tilec/fused/%016llx", home && *home ? home : "/tmp",
                 key);
    if (make_dir(fc->cache) != 0 || (dump_dir && make_dir(dump_dir) != 0)) {
        fprintf(stderr, "%s: note: cannot make %s (%s): elementwise chains run op by op\n", program,
                dump_dir && access(fc->cache, W_OK) == 0 ? dump_dir : fc->cache, strerror(errno));
        return false;
    }
    return true;
}

// Runs argv with standard output and error appended to `log`; true when it exits 0.
static bool run(char *const *argv, const char *log) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2), close(fd);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int ws;
    return pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

// NAME.so compiled from NAME.tile in the cache (0), or -1 with the reason in NAME.log.
static int compile(FusedCompiler *fc, const char *name, const char *tile, const char *so, const char *log) {
    char obj[1200], hdr[1200], tmp[1200];
    int pid = (int)getpid();
    snprintf(obj, sizeof obj, "%s/%s.%d.o", fc->cache, name, pid);
    snprintf(hdr, sizeof hdr, "%s/%s.%d.h", fc->cache, name, pid);  // tilec writes X.h beside X.o
    snprintf(tmp, sizeof tmp, "%s/%s.%d.so", fc->cache, name, pid);
    unlink(log);
    char *tilec_argv[] = {fc->tilec, (char *)tile, "-o", obj, NULL};
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    // -Bsymbolic: the kernel's own symbols bind inside it (as the tuner's variants do).
    char *cc_argv[] = {(char *)cc, "-shared", "-Wl,-Bsymbolic", "-o", tmp, obj, NULL};
    bool ok = run(tilec_argv, log) && run(cc_argv, log) && rename(tmp, so) == 0;
    unlink(obj), unlink(hdr), unlink(tmp);
    if (ok)
        unlink(log);
    return ok ? 0 : -1;
}

void *fused_compile(void *ctx, const char *name, const char *source) {
    FusedCompiler *fc = ctx;
    char tile[1100], so[1100], log[1100];
    snprintf(tile, sizeof tile, "%s/%s.tile", fc->cache, name);
    snprintf(so, sizeof so, "%s/%s.so", fc->cache, name);
    snprintf(log, sizeof log, "%s/%s.log", fc->cache, name);
    if (fc->dump_dir) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s.tile", fc->dump_dir, name);
        if (write_whole(path, source) != 0)
            fprintf(stderr, "%s: note: cannot write %s: %s\n", fc->program, path, strerror(errno));
    }
    bool have = access(so, R_OK) == 0;
    if (!have && (write_whole(tile, source) != 0 || compile(fc, name, tile, so, log) != 0)) {
        fc->failed++;
        fprintf(stderr, "%s: note: the fused kernel %s did not compile (%s): its nodes run op by op\n",
                fc->program, name, access(log, R_OK) == 0 ? log : tile);
        return NULL;
    }
    // RTLD_LOCAL: every kernel keeps its symbols (its runtime references bind to this process).
    void *lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    void *fn = lib ? dlsym(lib, name) : NULL;
    if (!fn) {
        fc->failed++;
        fprintf(stderr, "%s: note: cannot load the fused kernel %s (%s): its nodes run op by op\n",
                fc->program, so, dlerror());
        return NULL;
    }
    if (have)
        fc->cached++;
    else
        fc->compiled++;
    if (fc->nkernels < FUSED_MAX_KERNELS) {
        snprintf(fc->names[fc->nkernels], sizeof fc->names[0], "%s", name);
        snprintf(fc->sources[fc->nkernels++], sizeof fc->sources[0], "%s", tile);
        if (have && access(tile, R_OK) != 0)
            write_whole(tile, source);
    }
    return fn;
}
