// tests/aot/blob_test.c MODEL.onnx [--shape NAME=N]... — the ahead-of-time blob (runner/blob.h)
// on its own: a model loaded from ONNX and the same model written to a blob and read back give
// identical outputs; a blob cut short anywhere in its description, or with a damaged header, is
// refused with TILEC_MODEL_ERR_FORMAT (no crash; also built under ASan and UBSan).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"

static size_t bytes_of(const Tensor *t) { return tensor_bytes(t); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [NAME=N]...\n", argv[0]);
        return 2;
    }
    const char *names[8];
    Tensor shapes[8];
    int nshapes = 0;
    for (int i = 2; i < argc && nshapes < 8; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return 2;
        *eq = '\0';
        names[nshapes] = argv[i];
        shapes[nshapes] = (Tensor){.rank = 1, .dims = {atoll(eq + 1)}};
        nshapes++;
    }
    TilecModelOptions o = {.nshapes = nshapes, .shape_names = names, .shapes = shapes};
    TilecModel *m;
    char *err = NULL;
    if (tilec_model_load(argv[1], &o, &m, &err) != TILEC_MODEL_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int nin = tilec_model_input_count(m), nout = tilec_model_output_count(m);
    Tensor ins[8], want[8], got[8];
    for (int i = 0; i < nin && i < 8; i++) {
        tilec_model_input_info(m, i, &ins[i], NULL);
        size_t n = bytes_of(&ins[i]);
        ins[i].data = malloc(n + 1);
        for (size_t k = 0; k < n; k++)  // any bytes: a float pattern with no NaNs
            ((unsigned char *)ins[i].data)[k] = (unsigned char)(k % 4 == 3 ? 0x3f : k * 7);
    }
    int failed = 0;
    if (tilec_model_run(m, ins, want, &err) != TILEC_MODEL_OK) {
        fprintf(stderr, "run: %s\n", err);
        return 1;
    }
    uint8_t *blob;
    size_t len;
    RErr e = {0};
    if (blob_write(m, want, &blob, &len, &e) != 0) {
        fprintf(stderr, "blob_write: %s\n", e.msg);
        return 1;
    }
    // Read back (from a 64-byte aligned copy, as the object's section is) and run.
    uint8_t *aligned = aligned_alloc(64, (len + 63) / 64 * 64);
    memcpy(aligned, blob, len);
    BlobModel b;
    if (blob_read(aligned, len, &b, &e) != 0) {
        fprintf(stderr, "blob_read: %s\n", e.msg);
        return 1;
    }
    for (int i = 0; i < nout; i++)
        got[i] = b.outputs[i], got[i].data = malloc(bytes_of(&want[i]) + 1);
    if (model_run(b.model, ins, got, true, &e) != 0) {
        fprintf(stderr, "run from the blob: %s\n", e.msg);
        return 1;
    }
    for (int i = 0; i < nout; i++) {
        bool same = want[i].dtype == got[i].dtype && tensor_same_shape(&want[i], &got[i]) &&
                    memcmp(want[i].data, got[i].data, bytes_of(&want[i])) == 0;
        printf("output %d (%s): %s\n", i, b.output_names[i], same ? "identical" : "DIFFERENT");
        failed |= !same;
        free(got[i].data);
    }
    blob_model_free(&b);
    // An unaligned blob is copied, and works the same.
    uint8_t *odd = malloc(len + 1);
    memcpy(odd + 1, blob, len);
    if (blob_read(odd + 1, len, &b, &e) != 0) {
        fprintf(stderr, "unaligned blob_read: %s\n", e.msg);
        failed = 1;
    } else {
        blob_model_free(&b);
    }
    free(odd);
    // Cut short: every length of the description, and the whole blob at a few points.
    BlobHeader h;
    memcpy(&h, blob, sizeof h);
    int refused = 0, tries = 0;
    for (uint64_t cut = 0; cut < h.meta_bytes; cut++) {
        BlobHeader t = h;
        t.meta_bytes = cut;
        memcpy(aligned, &t, sizeof t);
        tries++;
        if (blob_read(aligned, len, &b, &e) == TILEC_MODEL_ERR_FORMAT)
            refused++;
        else
            blob_model_free(&b);
    }
    memcpy(aligned, blob, len);
    for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
        tries++;
        if (blob_read(aligned, cut, &b, &e) == TILEC_MODEL_ERR_FORMAT)
            refused++;
        else
            blob_model_free(&b);
    }
    // A damaged header: magic, version, sizes.
    for (int k = 0; k < 4; k++) {
        BlobHeader t = h;
        if (k == 0)
            t.magic[0] = 'X';
        else if (k == 1)
            t.version = BLOB_VERSION + 1;
        else if (k == 2)
            t.data_bytes = len;
        else
            t.meta_offset = len + 1;
        memcpy(aligned, &t, sizeof t);
        tries++;
        if (blob_read(aligned, len, &b, &e) == TILEC_MODEL_ERR_FORMAT)
            refused++;
        else
            blob_model_free(&b);
    }
    printf("%d of %d damaged blobs refused (%zu-byte blob)\n", refused, tries, len);
    failed |= refused != tries;
    for (int i = 0; i < nout; i++)
        free(want[i].data);
    for (int i = 0; i < nin; i++)
        free(ins[i].data);
    free(blob), free(aligned);
    tilec_model_free(m);
    return failed;
}
