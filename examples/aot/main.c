// examples/aot/main.c — run a model compiled ahead of time (docs/aot.md):
//   tilec model.onnx --shape x=1x3x48x320 -o model.o      # writes model.o and model.h
//   cc -std=c11 main.c model.o -I. -lpthread -lm -o main
//   ./main INPUT.npy... [--expect OUTPUT.npy...] [--threads N] [--bench N]
// Inputs are .npy files (float32/int64/... little-endian, C order) of the shapes model.h lists, in
// graph order. --expect compares every output with a reference .npy (such as `tilec run
// --output-dir`'s): equal, or within a relative error of 1e-6 of the largest reference value.
// --threads N runs the model from N threads at once (all must agree); --bench N prints the median
// and minimum latency of N runs after a warm-up. Needs only the C library: model.o holds the
// weights, the kernels and the runtime.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

// A .npy file's data, checked against the tensor it must hold.
static void *read_npy(const char *path, const TilecAotTensor *want) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    unsigned char pre[10];
    char hdr[4096];
    size_t hlen = 0;
    void *data = NULL;
    if (fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0) {
        hlen = pre[8] | (size_t)pre[9] << 8;
        if (pre[6] != 1) {  // versions 2 and 3: a 4-byte length
            unsigned char more[2];
            if (fread(more, 1, 2, f) == 2)
                hlen |= (size_t)more[0] << 16 | (size_t)more[1] << 24;
        }
    }
    if (hlen && hlen < sizeof hdr && fread(hdr, 1, hlen, f) == hlen) {
        hdr[hlen] = '\0';
        // The shape must be the model's, the order C order; the element size is checked by length.
        const char *p = strstr(hdr, "'shape':");
        p = p ? strchr(p, '(') : NULL;
        int rank = 0;
        bool same = p != NULL;
        while (same && *++p && *p != ')') {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p)
                continue;  // ',' or ' '
            same = rank < want->rank && v == want->dims[rank++];
            p = end - 1;
        }
        if (!same || rank != want->rank || strstr(hdr, "'fortran_order': True"))
            fprintf(stderr, "%s: not a C-order array of the shape of '%s'\n", path, want->name);
        else if ((data = malloc(want->bytes + 1)) && fread(data, 1, want->bytes, f) != want->bytes) {
            fprintf(stderr, "%s: shorter than the %zu bytes of '%s'\n", path, want->bytes, want->name);
            free(data);
            data = NULL;
        }
    } else {
        fprintf(stderr, "%s: not a .npy file\n", path);
    }
    fclose(f);
    return data;
}

static double value(const void *data, int dtype, size_t i) {
    switch (dtype) {
    case 1: return ((const float *)data)[i];
    case 6: return ((const int32_t *)data)[i];
    case 7: return (double)((const int64_t *)data)[i];
    case 9:
    case 2: return ((const uint8_t *)data)[i];
    case 11: return ((const double *)data)[i];
    default: return NAN;
    }
}

static size_t elem_size(int dtype) {
    switch (dtype) {
    case 1:
    case 6: return 4;
    case 7:
    case 11: return 8;
    case 2:
    case 9: return 1;
    default: return 0;
    }
}

typedef struct Job {
    const void *const *inputs;
    void **outputs;
    int status;
} Job;

static void *run_job(void *arg) {
    Job *j = arg;
    j->status = model_run(j->inputs, (void *const *)j->outputs);
    return NULL;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    double t0 = now_ms();
    const TilecAotInfo *info = model_info();  // the first call reads the model
    double setup_ms = now_ms() - t0;
    if (!info) {
        fprintf(stderr, "the model cannot be read (out of memory)\n");
        return 1;
    }
    const char *ins[model_NUM_INPUTS + 1], *expect[model_NUM_OUTPUTS + 1];
    int nin = 0, nexp = 0, threads = 1, bench = 0;
    for (int i = 1, *mode = &nin; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0)
            mode = &nexp;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
            bench = atoi(argv[++i]);
        else if (mode == &nin && nin < model_NUM_INPUTS)
            ins[nin++] = argv[i];
        else if (mode == &nexp && nexp < model_NUM_OUTPUTS)
            expect[nexp++] = argv[i];
        else {
            fprintf(stderr,
                    "usage: %s INPUT.npy... [--expect OUTPUT.npy...] [--threads N] "
                    "[--bench N] (%d inputs, %d outputs)\n",
                    argv[0], info->ninputs, info->noutputs);
            return 2;
        }
    }
    if (nin != info->ninputs || (nexp && nexp != info->noutputs) || threads < 1 || threads > 64) {
        fprintf(stderr, "the model takes %d inputs and has %d outputs\n", info->ninputs, info->noutputs);
        return 2;
    }
    if (info->ntuned > 0)  // `tilec MODEL.onnx --db DB`: kernel calls compiled to tuned versions
        printf("tuned kernel calls: %d\n", info->ntuned);
    const void *inputs[model_NUM_INPUTS + 1];
    for (int i = 0; i < nin; i++)
        if (!(inputs[i] = read_npy(ins[i], &info->inputs[i])))
            return 1;
    // One set of output buffers per thread.
    void *outs[64][model_NUM_OUTPUTS + 1];
    Job jobs[64];
    pthread_t tids[64];
    for (int t = 0; t < threads; t++) {
        for (int o = 0; o < info->noutputs; o++)
            outs[t][o] = malloc(info->outputs[o].bytes + 1);
        jobs[t] = (Job){.inputs = inputs, .outputs = outs[t]};
        pthread_create(&tids[t], NULL, run_job, &jobs[t]);
    }
    int failed = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        if (jobs[t].status) {
            fprintf(stderr, "model_run (thread %d) returned %d\n", t, jobs[t].status);
            failed = 1;
        }
    }
    for (int o = 0; o < info->noutputs && !failed; o++) {
        const TilecAotTensor *y = &info->outputs[o];
        for (int t = 1; t < threads; t++)
            if (memcmp(outs[0][o], outs[t][o], y->bytes) != 0) {
                printf("output '%s': thread %d differs from thread 0\n", y->name, t);
                failed = 1;
            }
        size_t n = elem_size(y->dtype) ? y->bytes / elem_size(y->dtype) : 0;
        double max_abs = 0, max_ref = 0;
        if (nexp) {
            void *ref = read_npy(expect[o], y);
            if (!ref || !n) {
                failed = 1;
                free(ref);
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                double a = value(outs[0][o], y->dtype, i), b = value(ref, y->dtype, i);
                if (!(fabs(a - b) <= max_abs) && !(isnan(a) && isnan(b)))
                    max_abs = isnan(a - b) ? INFINITY : fabs(a - b);
                if (fabs(b) > max_ref)
                    max_ref = fabs(b);
            }
            bool same = memcmp(outs[0][o], ref, y->bytes) == 0;
            free(ref);
            bool ok = same || max_abs <= 1e-6 * max_ref;
            printf("output '%s': %s (max abs diff %.3g, max |ref| %.3g)\n", y->name,
                   same ? "identical"
                   : ok ? "within 1e-6"
                        : "DIFFERENT",
                   max_abs, max_ref);
            failed |= !ok;
        } else {
            printf("output '%s': %zu values, first %g\n", y->name, n,
                   n ? value(outs[0][o], y->dtype, 0) : 0.0);
        }
    }
    if (bench > 0 && !failed) {
        double *ms = malloc((size_t)bench * sizeof *ms);
        model_run(inputs, (void *const *)outs[0]);  // warm-up
        for (int r = 0; r < bench; r++) {
            double t0 = now_ms();
            failed |= model_run(inputs, (void *const *)outs[0]) != 0;
            ms[r] = now_ms() - t0;
        }
        qsort(ms, (size_t)bench, sizeof *ms, cmp_double);
        printf("bench: %d runs, median %.3f ms, min %.3f ms (first call, reading the model: "
               "%.1f ms)\n",
               bench, ms[bench / 2], ms[0], setup_ms);
        free(ms);
    }
    for (int t = 0; t < threads; t++)
        for (int o = 0; o < info->noutputs; o++)
            free(outs[t][o]);
    for (int i = 0; i < nin; i++)
        free((void *)inputs[i]);
    if (threads > 1 && !failed)
        printf("%d concurrent runs: identical outputs\n", threads);
    return failed;
}
