// runner/aot/entry.c — the entry points of an ahead-of-time model object (docs/aot.md):
// tilec_aot_entry_run and tilec_aot_entry_info, renamed NAME_run and NAME_info by
// `tilec MODEL.onnx -o NAME.o`, over the model blob linked in beside them
// (tilec_aot_blob_start .. tilec_aot_blob_end). The first call of either reads the blob
// (pthread_once); runs then go through the runner's model_run, safe from several threads at once
// (each run takes an arena of its own from the model's pool). Kernel calls that the object has
// tuned variants for (tilec_aot_routes) are routed to them before the first run; the generated
// kernels of fused elementwise chains (tilec_aot_fused) are registered before the blob is read.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "fuse_ew.h"
#include "kcall.h"
#include "tilec_aot.h"

extern const uint8_t tilec_aot_blob_start[], tilec_aot_blob_end[];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static BlobModel model;
static int status;
static TilecAotTensor *descs;  // inputs then outputs
static TilecAotInfo info;

static void load(void) {
    RErr e = {0};
    for (const TilecAotFused *f = tilec_aot_fused; f->fn; f++)
        if (!fused_kernel_add(f->name, f->fn)) {
            status = TILEC_ERR_MEMORY;
            return;
        }
    status = blob_read(tilec_aot_blob_start, (size_t)(tilec_aot_blob_end - tilec_aot_blob_start), &model, &e);
    if (status)
        return;
    int ntuned = 0;
    for (const TilecAotRoute *r = tilec_aot_routes; r->fn; r++, ntuned++)
        if (!tilec_kcalls_route_shape(r->kernel, r->shape, r->fn)) {
            status = TILEC_ERR_FORMAT;
            return;
        }
    int n = model.ninputs + model.noutputs;
    if (!(descs = calloc((size_t)n + 1, sizeof *descs))) {
        status = TILEC_ERR_MEMORY;
        return;
    }
    for (int i = 0; i < n; i++) {
        bool in = i < model.ninputs;
        const Tensor *t = in ? &model.inputs[i] : &model.outputs[i - model.ninputs];
        descs[i].name = in ? model.input_names[i] : model.output_names[i - model.ninputs];
        descs[i].dtype = t->dtype;
        descs[i].rank = t->rank;
        memcpy(descs[i].dims, t->dims, sizeof descs[i].dims);
        descs[i].bytes = tensor_bytes(t);
    }
    info = (TilecAotInfo){.ninputs = model.ninputs,
                          .noutputs = model.noutputs,
                          .inputs = descs,
                          .outputs = descs + model.ninputs,
                          .ntuned = ntuned};
}

const TilecAotInfo *tilec_aot_entry_info(void) {
    pthread_once(&once, load);
    return status ? NULL : &info;
}

int tilec_aot_entry_run(const void *const *inputs, void *const *outputs) {
    pthread_once(&once, load);
    if (status)
        return status;
    if (!inputs || !outputs)
        return TILEC_ERR_INPUT;
    enum { MAX_IO = 64 };
    Tensor stack[2 * MAX_IO], *ts = stack;
    int n = model.ninputs + model.noutputs;
    if (n > 2 * MAX_IO && !(ts = malloc((size_t)n * sizeof *ts)))
        return TILEC_ERR_MEMORY;
    int st = 0;
    for (int i = 0; i < n && !st; i++) {
        bool in = i < model.ninputs;
        ts[i] = in ? model.inputs[i] : model.outputs[i - model.ninputs];
        ts[i].data = in ? (void *)inputs[i] : outputs[i - model.ninputs];
        if (!ts[i].data && descs[i].bytes)
            st = TILEC_ERR_INPUT;
    }
    RErr e;
    if (!st)
        st = model_run(model.model, ts, ts + model.ninputs, true, &e);
    if (ts != stack)
        free(ts);
    return st;
}
