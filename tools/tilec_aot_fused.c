// tools/tilec_aot_fused.c — fused elementwise kernels linked into an ahead-of-time object
// (tilec_aot_fused.h). Each kernel that the compile hook loaded while tilec-aot prepared the model
// is compiled again from its source in the cache into an object (the cache keeps shared objects,
// not objects), made local but for its entry with objcopy, and renamed, as tilec_aot.c does with
// tuned variants; a table in assembly names them for runner/aot/entry.c.
#include "tilec_aot_fused.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "tilec: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

// Runs argv (looked up in PATH) in `dir`; 0 when it exits 0.
static int spawn_in(const char *dir, char *const *argv) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return fail(argv[0], strerror(rc));
    int ws;
    if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return fail(argv[0], "failed");
    return 0;
}

int aot_fused_objects(const FusedCompiler *fc, const char *dir, char **files, int *nfiles, int max_files) {
    int n = fc ? fc->nkernels : 0, st = 0;
    if (*nfiles + n + 1 > max_files)
        return fail("too many generated kernels for one object", NULL);
    for (int i = 0; i < n && !st; i++) {
        char obj0[64], obj1[64], obj[64], hdr[64], ren[128], path[4200];
        snprintf(obj0, sizeof obj0, "fused_%d0.o", i);
        snprintf(obj1, sizeof obj1, "fused_%d1.o", i);
        snprintf(obj, sizeof obj, "fused_%d.o", i);
        snprintf(hdr, sizeof hdr, "fused_%d0.h", i);  // tilec writes X.h beside X.o
        snprintf(ren, sizeof ren, "%s=tilec_aot_fused_%d", fc->names[i], i);
        char *cc[] = {(char *)fc->tilec, (char *)fc->sources[i], "-o", obj0, NULL};
        char *keep[] = {"objcopy", "--keep-global-symbol", (char *)fc->names[i], obj0, obj1, NULL};
        char *rename[] = {"objcopy", "--redefine-sym", ren, obj1, obj, NULL};
        st = spawn_in(dir, cc);
        if (st)
            fail("cannot compile a fused kernel", fc->sources[i]);
        st = st || spawn_in(dir, keep) || spawn_in(dir, rename);
        const char *tmp[] = {obj0, obj1, hdr};
        for (int t = 0; t < 3; t++) {
            snprintf(path, sizeof path, "%s/%s", dir, tmp[t]);
            remove(path);
        }
        if (!st && !(files[(*nfiles)++] = strdup(obj)))
            st = fail("out of memory", NULL);
    }
    // fused.s: {fn, name} per kernel, then {0, 0}.
    char path[4200];
    snprintf(path, sizeof path, "%s/fused.s", dir);
    FILE *f = st ? NULL : fopen(path, "w");
    if (!st && !f)
        st = fail(path, strerror(errno));
    if (f) {
        fputs("\t.section .data.rel.ro.tilec_aot_fused,\"aw\"\n\t.p2align 3\n"
              "\t.globl tilec_aot_fused\ntilec_aot_fused:\n",
              f);
        for (int i = 0; i < n; i++)
            fprintf(f, "\t.quad tilec_aot_fused_%d, .Lfused%d\n", i, i);
        fputs("\t.quad 0, 0\n\t.section .rodata.tilec_aot_fused,\"a\"\n", f);
        for (int i = 0; i < n; i++)
            fprintf(f, ".Lfused%d:\n\t.asciz \"%s\"\n", i, fc->names[i]);
        fputs("\t.section .note.GNU-stack,\"\",@progbits\n", f);
        if (fclose(f) != 0)
            st = fail(path, strerror(errno));
    }
    char *as[] = {"as", "-o", "fused.o", "fused.s", NULL};
    st = st || spawn_in(dir, as);
    remove(path);
    if (!st && !(files[(*nfiles)++] = strdup("fused.o")))
        st = fail("out of memory", NULL);
    return st;
}
