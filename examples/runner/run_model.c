// examples/runner/run_model.c — load an ONNX model, describe it, and run it from four threads at
// once on the same inputs (every thread must get the same outputs). docs/runner.md shows it.
//   cc run_model.c -I$PREFIX/include/tilec -L$PREFIX/lib -ltilec_runner -ltilec_rt
//      -lprotobuf-c -lpthread -lm -ldl -o run_model
//   ./run_model model.onnx
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tilec_model.h"

enum { THREADS = 4 };

typedef struct Job {
    TilecModel *model;
    const TilecTensor *inputs;
    TilecTensor outputs[16];
    TilecModelStatus status;
    char *error;
} Job;

static void *run(void *arg) {
    Job *job = arg;
    job->status = tilec_model_run(job->model, job->inputs, job->outputs, &job->error);
    return NULL;
}

static size_t bytes_of(const TilecTensor *t) {
    size_t n = tilec_dtype_size(t->dtype);
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    TilecModel *model;
    char *error = NULL;
    if (tilec_model_load(argv[1], NULL, &model, &error) != TILEC_MODEL_OK) {
        fprintf(stderr, "%s\n", error);
        free(error);
        return 1;
    }
    int nin = tilec_model_input_count(model), nout = tilec_model_output_count(model);
    if (nin > 16 || nout > 16) {
        fprintf(stderr, "this example takes at most 16 inputs and outputs\n");
        tilec_model_free(model);
        return 1;
    }
    // Inputs of the declared shapes (a symbolic dimension taken as 1), filled with 0.5 / 1.
    TilecTensor inputs[16];
    for (int i = 0; i < nin; i++) {
        const char *const *dim_names;
        tilec_model_input_info(model, i, &inputs[i], &dim_names);
        for (int d = 0; d < inputs[i].rank; d++)
            if (inputs[i].dims[d] < 0)
                inputs[i].dims[d] = 1;
        size_t n = bytes_of(&inputs[i]) / tilec_dtype_size(inputs[i].dtype);
        inputs[i].data = malloc(bytes_of(&inputs[i]) + 1);
        for (size_t k = 0; k < n; k++) {
            if (inputs[i].dtype == TILEC_DT_FLOAT)
                ((float *)inputs[i].data)[k] = 0.5f;
            else
                memset((char *)inputs[i].data + k * tilec_dtype_size(inputs[i].dtype), 0,
                       tilec_dtype_size(inputs[i].dtype));
        }
        printf("input %d: %s (%s, rank %d)\n", i, tilec_model_input_name(model, i),
               tilec_dtype_name(inputs[i].dtype), inputs[i].rank);
    }
    Job jobs[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (Job){.model = model, .inputs = inputs};
        pthread_create(&threads[t], NULL, run, &jobs[t]);
    }
    int failed = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        if (jobs[t].status != TILEC_MODEL_OK) {
            fprintf(stderr, "run %d: %s\n", t, jobs[t].error);
            free(jobs[t].error);
            failed = 1;
        }
    }
    for (int o = 0; o < nout && !failed; o++) {
        const TilecTensor *y = &jobs[0].outputs[o];
        printf("output %d: %s (%s, rank %d, %zu bytes)\n", o, tilec_model_output_name(model, o),
               tilec_dtype_name(y->dtype), y->rank, bytes_of(y));
        for (int t = 1; t < THREADS; t++)
            if (memcmp(y->data, jobs[t].outputs[o].data, bytes_of(y)) != 0) {
                printf("thread %d got a different output %d\n", t, o);
                failed = 1;
            }
    }
    for (int t = 0; t < THREADS; t++)
        for (int o = 0; o < nout && jobs[t].status == TILEC_MODEL_OK; o++)
            free(jobs[t].outputs[o].data);
    for (int i = 0; i < nin; i++)
        free(inputs[i].data);
    printf("%s: %d concurrent runs, %s; arena %zu bytes\n", argv[1], THREADS,
           failed ? "FAILED" : "identical outputs", tilec_model_planned_peak(model));
    tilec_model_free(model);
    return failed;
}
