// tests/fuzz/fuzz_runner.c — libFuzzer target over the ONNX loader (tilec_model_load_memory):
// any bytes must load or fail with a message, never crash or leak. Loaded models whose inputs
// are small and fully shaped are also run once on zeros.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tilec_model.h"

static int run_small(TilecModel *m) {
    int nin = tilec_model_input_count(m), nout = tilec_model_output_count(m);
    if (nin > 16 || nout > 16)
        return 0;
    TilecTensor in[16], out[16];
    for (int i = 0; i < nin; i++) {
        tilec_model_input_info(m, i, &in[i], NULL);
        size_t n = 1;
        if (in[i].rank < 0 || !tilec_dtype_size(in[i].dtype))
            return 0;
        for (int d = 0; d < in[i].rank; d++) {
            if (in[i].dims[d] < 0 || in[i].dims[d] > 64)
                return 0;
            n *= (size_t)in[i].dims[d];
        }
        if (n > 4096)
            return 0;
    }
    for (int i = 0; i < nin; i++) {
        size_t n = tilec_dtype_size(in[i].dtype);
        for (int d = 0; d < in[i].rank; d++)
            n *= (size_t)in[i].dims[d];
        in[i].data = calloc(1, n + 1);
    }
    char *err = NULL;
    if (tilec_model_run(m, in, out, &err) == TILEC_MODEL_OK)
        for (int i = 0; i < nout; i++)
            free(out[i].data);
    free(err);
    for (int i = 0; i < nin; i++)
        free(in[i].data);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TilecModel *m = NULL;
    char *err = NULL;
    // Models may legitimately ask for huge tensors; the fuzzer looks for crashes, not for that.
    TilecModelOptions o = {.max_tensor_bytes = 64 << 20};
    if (tilec_model_load_memory(data, size, "/nonexistent-fuzz-dir", &o, &m, &err) == TILEC_MODEL_OK) {
        run_small(m);
        tilec_model_free(m);
    } else if (!err || !err[0]) {
        abort();  // every failure says why
    }
    free(err);
    return 0;
}
