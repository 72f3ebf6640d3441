// autotune/measure.c — one variant on one shape, in a child process (measure.h). The call goes
// through libffi: the kernel's C signature is known only at run time.
#include "measure.h"

#include <dlfcn.h>
#include <errno.h>
#include <ffi.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double tune_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

size_t measure_elem_bytes(ElemType e) { return elem_bits(e) < 8 ? 1 : (size_t)elem_bits(e) / 8; }

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static uint16_t to_f16(float f) {  // |f| < 2: normal or zero, round to nearest even
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000, exp = (u >> 23) & 0xff, man = u & 0x7fffff;
    if (exp < 103)
        return (uint16_t)sign;
    if (exp < 113) {  // subnormal half
        man |= 0x800000;
        uint32_t shift = 126 - exp, h = man >> shift, rem = man & ((1u << shift) - 1),
                 half = 1u << (shift - 1);
        h += rem > half || (rem == half && (h & 1));
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((exp - 112) << 10) | (man >> 13), rem = man & 0x1fff;
    h += rem > 0x1000 || (rem == 0x1000 && (h & 1));
    return (uint16_t)(sign | h);
}

static float from_half(uint16_t h, ElemType e) {
    if (e == EL_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float f;
    if (exp == 0)
        f = ldexpf((float)man, -24);
    else if (exp == 31)
        f = man ? NAN : INFINITY;
    else
        f = ldexpf((float)(man | 0x400), (int)exp - 25);
    uint32_t u;
    memcpy(&u, &f, 4);
    u |= sign;
    memcpy(&f, &u, 4);
    return f;
}

static double get(const void *p, int64_t i, ElemType e) {
    switch (e) {
    case EL_I1:
    case EL_I8: return ((const int8_t *)p)[i];
    case EL_I16: return ((const int16_t *)p)[i];
    case EL_I32: return ((const int32_t *)p)[i];
    case EL_I64: return (double)((const int64_t *)p)[i];
    case EL_U8: return ((const uint8_t *)p)[i];
    case EL_U16: return ((const uint16_t *)p)[i];
    case EL_U32: return ((const uint32_t *)p)[i];
    case EL_U64: return (double)((const uint64_t *)p)[i];
    case EL_F16:
    case EL_BF16: return from_half(((const uint16_t *)p)[i], e);
    case EL_F32: return ((const float *)p)[i];
    default: return ((const double *)p)[i];
    }
}

// Deterministic contents: floats uniform in [-1, 1), integers in [0, 4) (i1: 0/1).
static void fill(void *p, int64_t n, ElemType e, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        float f = (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
        int64_t k = (int64_t)(s >> 62);
        switch (e) {
        case EL_I1: ((int8_t *)p)[i] = (int8_t)(k & 1); break;
        case EL_I8: ((int8_t *)p)[i] = (int8_t)k; break;
        case EL_I16: ((int16_t *)p)[i] = (int16_t)k; break;
        case EL_I32: ((int32_t *)p)[i] = (int32_t)k; break;
        case EL_I64: ((int64_t *)p)[i] = k; break;
        case EL_U8: ((uint8_t *)p)[i] = (uint8_t)k; break;
        case EL_U16: ((uint16_t *)p)[i] = (uint16_t)k; break;
        case EL_U32: ((uint32_t *)p)[i] = (uint32_t)k; break;
        case EL_U64: ((uint64_t *)p)[i] = (uint64_t)k; break;
        case EL_F16: ((uint16_t *)p)[i] = to_f16(f); break;
        case EL_BF16: ((uint16_t *)p)[i] = to_bf16(f); break;
        case EL_F32: ((float *)p)[i] = f; break;
        default: ((double *)p)[i] = f; break;
        }
    }
}

static ffi_type *ffi_of(const MeasureArg *a) {
    if (a->kind == MA_TENSOR)
        return &ffi_type_pointer;
    if (a->kind == MA_INT64)
        return &ffi_type_sint64;
    switch (a->elem) {
    case EL_I1:
    case EL_I8: return &ffi_type_sint8;
    case EL_I16: return &ffi_type_sint16;
    case EL_I32: return &ffi_type_sint32;
    case EL_I64: return &ffi_type_sint64;
    case EL_U8: return &ffi_type_uint8;
    case EL_U16: return &ffi_type_uint16;
    case EL_U32: return &ffi_type_uint32;
    case EL_U64: return &ffi_type_uint64;
    case EL_F16:
    case EL_BF16: return &ffi_type_uint16;
    case EL_F32: return &ffi_type_float;
    default: return &ffi_type_double;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The call of the kernel, prepared in the child: its arguments through libffi, with `copies`
// sets of the tensors (bufs[arg][copy]).
typedef struct Call {
    void *fn;
    ffi_cif cif;
    ffi_type *types[64];
    union {
        void *p;
        int64_t i;
        int32_t i32;
        int16_t i16;
        int8_t i8;
        float f;
        double d;
    } vals[64];
    void *ptrs[64];
    void *bufs[64][16];
    int copies;
} Call;

// Records why the run failed in r; returns false.
static bool fail(MeasureResult *r, TuneStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(MeasureResult *r, TuneStatus status, const char *fmt, ...) {
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return false;
}

// Enough copies of the tensors that one call's data has left the last-level cache when the
// next call using that copy comes around (at most 16, and 1 GiB in all); one when warm.
static int copies_for(const MeasureJob *job) {
    if (job->warm)  // as a model's layer runs: on data the previous layer just wrote
        return 1;
    size_t set = 0;
    for (int i = 0; i < job->nargs; i++)
        if (job->args[i].kind == MA_TENSOR)
            set += (size_t)job->args[i].elems * measure_elem_bytes(job->args[i].elem);
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc <= 0)
        llc = 32l << 20;
    int copies = set ? (int)((2 * (size_t)llc + set - 1) / set) : 1;
    if (copies > 16)
        copies = 16;
    while (copies > 1 && set * (size_t)copies > (1ull << 30))
        copies--;
    if (copies < 1)
        copies = 1;
    return copies;
}

// The tensors (every copy filled with the same data) and the other arguments' values.
static bool prepare_call(const MeasureJob *job, Call *c, MeasureResult *r) {
    c->copies = copies_for(job);
    for (int i = 0; i < job->nargs; i++) {
        const MeasureArg *a = &job->args[i];
        if (a->kind != MA_TENSOR)
            continue;
        size_t bytes = (size_t)a->elems * measure_elem_bytes(a->elem);
        for (int k = 0; k < c->copies; k++) {
            c->bufs[i][k] = malloc(bytes ? bytes : 1);
            if (!c->bufs[i][k])
                return fail(r, TS_CRASH, "out of memory for the arguments (%zu bytes)", bytes);
            fill(c->bufs[i][k], a->elems, a->elem, (uint64_t)i + 1);
        }
    }
    for (int i = 0; i < job->nargs; i++)
        c->types[i] = ffi_of(&job->args[i]);
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, (unsigned)job->nargs, &ffi_type_sint32, c->types) != FFI_OK)
        return fail(r, TS_CRASH, "libffi cannot describe the kernel's signature");
    for (int i = 0; i < job->nargs; i++) {
        const MeasureArg *a = &job->args[i];
        c->ptrs[i] = &c->vals[i];
        if (a->kind == MA_INT64)
            c->vals[i].i = a->ival;
        else if (a->kind == MA_SCALAR) {
            switch (a->elem) {
            case EL_F32: c->vals[i].f = (float)a->fval; break;
            case EL_F64: c->vals[i].d = a->fval; break;
            case EL_F16: c->vals[i].i16 = (int16_t)to_f16((float)a->fval); break;
            case EL_BF16: c->vals[i].i16 = (int16_t)to_bf16((float)a->fval); break;
            case EL_I64:
            case EL_U64: c->vals[i].i = a->ival; break;
            case EL_I32:
            case EL_U32: c->vals[i].i32 = (int32_t)a->ival; break;
            case EL_I16:
            case EL_U16: c->vals[i].i16 = (int16_t)a->ival; break;
            default: c->vals[i].i8 = (int8_t)a->ival; break;
            }
        }
    }
    return true;
}

// The next call's tensors: copy k.
static void use_copy(Call *c, const MeasureJob *job, int k) {
    for (int i = 0; i < job->nargs; i++)
        if (job->args[i].kind == MA_TENSOR)
            c->vals[i].p = c->bufs[i][k];
}

// One call of the kernel on copy k of the tensors; returns its status.
static int32_t call(Call *c, const MeasureJob *job, int k) {
    use_copy(c, job, k);
    ffi_arg status = 0;
    ffi_call(&c->cif, FFI_FN(c->fn), &status, c->ptrs);
    return (int32_t)status;
}

// The normwise difference of output `got` from the reference `want` (of a->elems elements):
// relative to the reference's largest magnitude for floats, infinite for any difference of
// integers. NaNs and infinities must match exactly.
static double normwise_error(const void *want, const void *got, const MeasureArg *a) {
    double scale = 0, err = 0;
    bool fl = a->elem >= EL_F16;
    for (int64_t e = 0; e < a->elems; e++) {
        double w = get(want, e, a->elem), g = get(got, e, a->elem);
        if (isnan(w) || isnan(g)) {
            if (isnan(w) != isnan(g))
                err = INFINITY;
            continue;
        }
        if (isinf(w) || isinf(g)) {
            if (w != g)
                err = INFINITY;
            continue;
        }
        scale = fmax(scale, fabs(w));
        err = fmax(err, fabs(w - g));
    }
    double rel = fl ? err / fmax(scale, 1e-30) : (err > 0 ? INFINITY : 0);
    if (scale == 0 && err == 0)
        rel = 0;
    return rel;
}

// The outputs of the checked call (copy 0): written as the reference, or compared with it
// (r->max_error, the largest difference of any output tensor).
static bool check_outputs(const MeasureJob *job, Call *c, MeasureResult *r) {
    FILE *ref = fopen(job->ref_path, job->write_ref ? "wb" : "rb");
    if (!ref)
        return fail(r, TS_CRASH, "cannot open the reference '%s': %s", job->ref_path, strerror(errno));
    for (int i = 0; i < job->nargs; i++) {
        const MeasureArg *a = &job->args[i];
        if (a->kind != MA_TENSOR || !a->is_out)
            continue;
        size_t bytes = (size_t)a->elems * measure_elem_bytes(a->elem);
        if (job->write_ref) {
            if (fwrite(c->bufs[i][0], 1, bytes, ref) != bytes) {
                fclose(ref);
                return fail(r, TS_CRASH, "cannot write the reference '%s'", job->ref_path);
            }
            continue;
        }
        void *want = malloc(bytes ? bytes : 1);
        if (!want || fread(want, 1, bytes, ref) != bytes) {
            free(want);
            fclose(ref);
            return fail(r, TS_CRASH, "the reference '%s' is short", job->ref_path);
        }
        r->max_error = fmax(r->max_error, normwise_error(want, c->bufs[i][0], a));
        free(want);
    }
    fclose(ref);
    if (r->max_error > job->tolerance)
        return fail(r, TS_WRONG, "output differs from the reference (normwise %.3g > %.3g)", r->max_error,
                    job->tolerance);
    return true;
}

// A warm-up call, then the timed ones (at least min_reps, and min_seconds in all, within
// max_reps), each on the next copy of the tensors: r's median and count.
static void time_calls(const MeasureJob *job, Call *c, MeasureResult *r) {
    call(c, job, c->copies > 1 ? 1 : 0);
    double t[1024], spent = 0;
    int reps = 0, max_reps = job->max_reps < 1024 ? job->max_reps : 1024;
    while (reps < max_reps && (reps < job->min_reps || spent < job->min_seconds)) {
        use_copy(c, job, (reps + 2) % c->copies);
        ffi_arg status = 0;
        double t0 = tune_now();
        ffi_call(&c->cif, FFI_FN(c->fn), &status, c->ptrs);
        t[reps] = tune_now() - t0;
        spent += t[reps++];
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    r->status = TS_OK;
    r->reps = reps;
    r->seconds = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

// What the child does: load the variant, prepare the arguments, the checked call, the timed
// calls. The result in r; false (r says why) when it failed.
static bool run_variant(const MeasureJob *job, MeasureResult *r) {
    Call c = {0};
    void *lib = dlopen(job->so_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return fail(r, TS_CRASH, "cannot load the variant: %s", dlerror());
    if (!(c.fn = dlsym(lib, job->symbol)))
        return fail(r, TS_CRASH, "no symbol %s in the variant", job->symbol);
    if (!prepare_call(job, &c, r))
        return false;
    int32_t status = call(&c, job, 0);  // the checked call
    if (status == 3)
        return fail(r, TS_INVALID, "the kernel's run-time constraints reject this shape (status 3)");
    if (status != 0)
        return fail(r, TS_CRASH, "the kernel returned status %d", (int)status);
    if (!check_outputs(job, &c, r))
        return false;
    time_calls(job, &c, r);
    return true;
}

// The child: never returns. Writes one MeasureResult to `fd`.
static _Noreturn void child(const MeasureJob *job, int fd) {
    MeasureResult r = {.status = TS_CRASH};
    run_variant(job, &r);
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(2);
    _exit(0);
}

// The first number in file `path` (after `key`, when given), scaled by `unit`; NAN when absent.
static double read_number(const char *path, const char *key, double unit) {
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    char line[256];
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, strlen(key)) != 0)
            continue;
        char *p = line + (key ? strlen(key) : 0), *end;
        double x = strtod(p, &end);
        if (end != p)
            v = x * unit;
        break;
    }
    fclose(f);
    return v;
}

double measure_available_bytes(const char **what) {
    double avail = read_number("/proc/meminfo", "MemAvailable:", 1024);
    if (isnan(avail))
        avail = (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    *what = "available";
    // cgroup v2 (a container's limit): "max" reads as no number.
    double cg_max = read_number("/sys/fs/cgroup/memory.max", NULL, 1),
           cg_cur = read_number("/sys/fs/cgroup/memory.current", NULL, 1);
    if (!isnan(cg_max) && !isnan(cg_cur) && cg_max - cg_cur < avail) {
        avail = fmax(cg_max - cg_cur, 0);
        *what = "left in the memory cgroup";
    }
    // The child is a fork of this process: it starts with this process's mappings.
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        double mapped = read_number("/proc/self/statm", NULL, (double)sysconf(_SC_PAGESIZE));
        double left = (double)rl.rlim_cur - (isnan(mapped) ? 0 : mapped);
        if (left < avail) {
            avail = fmax(left, 0);
            *what = "left under ulimit -v";
        }
    }
    return avail;
}

MeasureResult measure_run(const MeasureJob *job) {
    MeasureResult r = {.status = TS_CRASH};
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(r.detail, sizeof r.detail, "pipe: %s", strerror(errno));
        return r;
    }
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        snprintf(r.detail, sizeof r.detail, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return r;
    }
    if (pid == 0) {
        // Dies with the tuner (killed by an outer timeout, say) instead of running on.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(2);
        close(fds[0]);
        child(job, fds[1]);
    }
    close(fds[1]);
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    double deadline = tune_now() + job->timeout;
    size_t got = 0;
    bool killed = false;
    while (got < sizeof r) {
        double left = deadline - tune_now();
        int n = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        ssize_t k = read(fds[0], (char *)&r + got, sizeof r - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (killed) {
        r = (MeasureResult){.status = TS_TIMEOUT};
        snprintf(r.detail, sizeof r.detail, "killed after %.0f s", job->timeout);
    } else if (got < sizeof r) {
        r = (MeasureResult){.status = TS_CRASH};
        if (WIFSIGNALED(ws))
            snprintf(r.detail, sizeof r.detail, "the run died: %s", strsignal(WTERMSIG(ws)));
        else
            snprintf(r.detail, sizeof r.detail, "the run exited with %d", WEXITSTATUS(ws));
    }
    return r;
}
