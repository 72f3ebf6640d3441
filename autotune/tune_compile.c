// autotune/tune_compile.c — a point's variant of the kernel for `tilec tune`: its shared object
// in the variant cache (named by everything that shapes its code) and its compile, several at
// once, stopped at the budget's deadline (tune_internal.h).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tune_internal.h"

// The variant's shared object in the cache (named by everything that shapes its code).
void tune_so_path(Tuner *T, const TunePoint *p, char *out, size_t n) {
    char text[1024];
    snprintf(text, sizeof text, "%s|%s|%s|%s|%s|Bsymbolic", T->full_hash, T->key.compiler, T->key.target,
             T->kernel->name, p->key);
    XXH128_hash_t h = XXH3_128bits(text, strlen(text));
    char hex[40];
    tune_hex128(h, hex);
    snprintf(out, n, "%s/%s-%s.so", T->cachedir, T->kernel->name, hex);
}

// The child of tune_compile_points that compiles point p into `so`: `tilec` (this binary) writes
// `obj` (its messages to `log`), `cc -shared` links `tmp`, renamed to `so`. Never returns: exits
// 0 when `so` is in place.
static _Noreturn void compile_child(Tuner *T, const TunePoint *p, const char *so, const char *obj,
                                    const char *log, const char *tmp) {
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
    for (int i = 0; i < p->config.n && i < 64 && a < 240; i++) {
        snprintf(defs[i], sizeof defs[i], "%s=%lld", T->kernel->tunes.items[i]->name,
                 (long long)p->config.values[i]);
        argv[a++] = "-D";
        argv[a++] = defs[i];
    }
    char sched[128], cpu[128];
    if (p->sched[0]) {
        snprintf(sched, sizeof sched, "--schedule=%s", p->sched);
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
        // -Bsymbolic: the variant's own symbols bind inside it, never to a same-named one of the
        // process that loads it (tilec run --db loads variants of kernels it has built in).
        execlp(cc, cc, "-shared", "-Wl,-Bsymbolic", "-o", tmp, obj, (char *)NULL);
        _exit(127);
    }
    bool ok = c > 0 && waitpid(c, &ws, 0) > 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    unlink(obj);
    // tilec wrote the header beside the object (X.o -> X.h); the tuner has no use for it.
    char hdr[1300];
    snprintf(hdr, sizeof hdr, "%.*s.h", (int)strlen(obj) - 2, obj);
    unlink(hdr);
    _exit(ok && rename(tmp, so) == 0 ? 0 : 1);
}

// The temporary files of point p's compile by this process (tune_compile_points); the .so path
// is at most n - 32 characters (tune_so_path), so the suffixes fit.
static void temp_paths(Tuner *T, const TunePoint *p, char *so, char *obj, char *log, char *tmp, size_t n) {
    tune_so_path(T, p, so, n - 32);
    int pid = (int)getpid();
    snprintf(obj, n, "%.*s.%d.o", (int)(n - 32), so, pid);
    snprintf(log, n, "%.*s.log", (int)(n - 32), so);
    snprintf(tmp, n, "%.*s.%d.tmp", (int)(n - 32), so, pid);
}

// Waits for a child until `deadline` (tune_now's clock): its pid and status, 0 when the
// deadline came first, -1 when there is no child.
static pid_t wait_until(double deadline, int *ws) {
    for (;;) {
        pid_t pid = waitpid(-1, ws, WNOHANG);
        if (pid != 0 && !(pid < 0 && errno == EINTR))
            return pid;
        double left = deadline - tune_now();
        if (left <= 0)
            return 0;
        struct timespec nap = {0, left < 0.005 ? (long)(left * 1e9) + 1 : 5000000};
        nanosleep(&nap, NULL);
    }
}

// The budget ran out: every compile still running is killed (its whole process group: the
// compiler and the linker), reaped and its temporary files removed.
static void stop_compiles(Tuner *T, TunePoint **pts, pid_t *pids, int *which, int running, bool *failed) {
    for (int r = 0; r < running; r++) {
        kill(-pids[r], SIGKILL);
        kill(pids[r], SIGKILL);
    }
    for (int r = 0; r < running; r++) {
        int ws;
        while (waitpid(pids[r], &ws, 0) < 0 && errno == EINTR)
            ;
        char so[1300], obj[1300], log[1300], tmp[1300], hdr[1300];
        temp_paths(T, pts[which[r]], so, obj, log, tmp, sizeof obj);
        snprintf(hdr, sizeof hdr, "%.*s.h", (int)strlen(obj) - 2, obj);
        unlink(obj), unlink(tmp), unlink(hdr);
        failed[which[r]] = true;
    }
    T->out_of_time = T->stop = true;
    if (running == 1)
        snprintf(T->stop_note, sizeof T->stop_note, "it stopped the compile of %.200s", pts[which[0]]->key);
    else
        snprintf(T->stop_note, sizeof T->stop_note, "it stopped %d compiles", running);
}

// Compiles the points whose shared objects are missing, up to T->jobs at once. Each is a
// `tilec` process (the same binary) writing an object, then `cc -shared` (CC overrides), in a
// process group of its own so that the budget's deadline can stop it whole.
void tune_compile_points(Tuner *T, TunePoint **pts, int n, bool *failed) {
    int running = 0, next = 0;
    pid_t pids[64];
    int which[64];
    for (int i = 0; i < n; i++)
        failed[i] = false;
    while (next < n || running > 0) {
        while (next < n && running < T->jobs && running < 64) {
            char so[1300], obj[1300], log[1300], tmp[1300];
            temp_paths(T, pts[next], so, obj, log, tmp, sizeof so);
            if (access(so, R_OK) == 0) {
                next++;
                continue;
            }
            if (tune_budget_stops(T)) {
                while (next < n)
                    failed[next++] = true;
                break;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                setpgid(0, 0);
                compile_child(T, pts[next], so, obj, log, tmp);
            }
            if (pid < 0) {
                failed[next++] = true;
                continue;
            }
            setpgid(pid, pid);  // also here: the child may not have run yet when it is killed
            pids[running] = pid;
            which[running++] = next++;
        }
        if (running == 0)
            break;
        int ws;
        pid_t done = wait_until(T->deadline, &ws);
        if (done == 0) {  // the deadline
            stop_compiles(T, pts, pids, which, running, failed);
            break;
        }
        if (done < 0) {  // no child left (cannot happen): the ones counted as running failed
            for (int r = 0; r < running; r++)
                failed[which[r]] = true;
            break;
        }
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
