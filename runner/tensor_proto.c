// runner/tensor_proto.c — ONNX TensorProto messages to dense tensors: raw_data, the typed
// fields, and external data files (resolved against the model's folder, never outside it).
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "onnx.pb-c.h"

// Reads `length` bytes at `offset` of `location`, a path relative to `dir` that must stay in it.
static int read_external(const Onnx__TensorProto *p, const char *dir, size_t bytes, void **out,
                         RErr *e) {
    const char *location = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < p->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = p->external_data[i];
        if (!kv->key || !kv->value)
            continue;
        if (strcmp(kv->key, "location") == 0)
            location = kv->value;
        else if (strcmp(kv->key, "offset") == 0)
            offset = strtoll(kv->value, NULL, 10);
        else if (strcmp(kv->key, "length") == 0)
            length = strtoll(kv->value, NULL, 10);
    }
    if (!location || !location[0])
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "external data without a location");
    if (offset < 0 || (length >= 0 && (size_t)length != bytes))
        return rerr(e, TILEC_MODEL_ERR_FORMAT,
                    "external data '%s': offset %lld / length %lld do not fit the tensor's %zu bytes",
                    location, offset, length, bytes);
    if (location[0] == '/')
        return rerr(e, TILEC_MODEL_ERR_INVALID,
                    "external data path '%s' is absolute: it must be relative to the model's folder",
                    location);
    char path[PATH_MAX], real_dir[PATH_MAX], real_path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, location);
    if (!realpath(dir, real_dir))
        return rerr(e, TILEC_MODEL_ERR_IO, "cannot resolve the model's folder '%s': %s", dir,
                    strerror(errno));
    if (!realpath(path, real_path))
        return rerr(e, TILEC_MODEL_ERR_IO, "external data file '%s': %s", path, strerror(errno));
    size_t dl = strlen(real_dir);
    if (strncmp(real_path, real_dir, dl) != 0 || (real_path[dl] != '/' && dl > 1))
        return rerr(e, TILEC_MODEL_ERR_INVALID,
                    "external data path '%s' leads outside the model's folder (%s)", location,
                    real_dir);
    FILE *f = fopen(real_path, "rb");
    if (!f)
        return rerr(e, TILEC_MODEL_ERR_IO, "external data file '%s': %s", path, strerror(errno));
    off_t size = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
    if (size < 0 || (unsigned long long)offset + bytes > (unsigned long long)size) {
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_FORMAT,
                    "external data file '%s' is shorter than offset %lld + %zu bytes", path, offset,
                    bytes);
    }
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf) {
        fclose(f);
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory for %zu bytes of external data", bytes);
    }
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(buf, 1, bytes, f) != bytes) {
        fclose(f);
        free(buf);
        return rerr(e, TILEC_MODEL_ERR_FORMAT,
                    "external data file '%s' is shorter than offset %lld + %zu bytes", path, offset,
                    bytes);
    }
    fclose(f);
    *out = buf;
    return 0;
}

int tensor_from_proto(const Onnx__TensorProto *p, const char *dir, Tensor *t, bool *owned, RErr *e) {
    memset(t, 0, sizeof *t);
    *owned = false;
    const char *name = p->name ? p->name : "";
    if (p->n_dims > RMAX_RANK)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "tensor '%s' has rank %zu (at most %d)", name,
                    p->n_dims, RMAX_RANK);
    t->dtype = p->data_type;
    size_t es = dtype_size(t->dtype);
    if (t->dtype == DT_STRING)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "tensor '%s': string tensors are not supported",
                    name);
    if (!es)
        return rerr(e, TILEC_MODEL_ERR_UNSUPPORTED, "tensor '%s': element type %d is not supported",
                    name, t->dtype);
    t->rank = (int)p->n_dims;
    int64_t n = 1;
    for (size_t i = 0; i < p->n_dims; i++) {
        if (p->dims[i] < 0)
            return rerr(e, TILEC_MODEL_ERR_FORMAT, "tensor '%s' has a negative dimension", name);
        t->dims[i] = p->dims[i];
        if (p->dims[i] && n > RUNNER_MAX_ELEMENTS / p->dims[i])
            n = RUNNER_MAX_ELEMENTS + 1;
        else
            n *= p->dims[i];
    }
    if (n > RUNNER_MAX_ELEMENTS)
        return rerr(e, TILEC_MODEL_ERR_MEMORY,
                    "tensor '%s' declares more than 2^36 elements (at most 2^36 are supported)", name);
    size_t bytes = (size_t)n * es;
    if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        int st = read_external(p, dir, bytes, &t->data, e);
        if (st)
            return st;
        *owned = true;
        return 0;
    }
    if (p->has_raw_data) {
        if (p->raw_data.len != bytes)
            return rerr(e, TILEC_MODEL_ERR_FORMAT,
                        "tensor '%s': raw_data holds %zu bytes, its shape needs %zu", name,
                        p->raw_data.len, bytes);
        if (bytes && ((uintptr_t)p->raw_data.data % 16) == 0) {
            t->data = p->raw_data.data;  // protobuf-c's own allocation, aligned
            return 0;
        }
        t->data = malloc(bytes ? bytes : 1);
        if (!t->data)
            return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        memcpy(t->data, p->raw_data.data, bytes);
        *owned = true;
        return 0;
    }
    size_t have;
    switch (t->dtype) {
    case DT_F32: have = p->n_float_data; break;
    case DT_F64: have = p->n_double_data; break;
    case DT_I64: have = p->n_int64_data; break;
    case DT_U32:
    case DT_U64: have = p->n_uint64_data; break;
    default: have = p->n_int32_data; break;
    }
    if (have != (size_t)n)
        return rerr(e, TILEC_MODEL_ERR_FORMAT, "tensor '%s' holds %zu values, its shape needs %lld",
                    name, have, (long long)n);
    t->data = calloc(1, bytes ? bytes : 1);
    if (!t->data)
        return rerr(e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    *owned = true;
    switch (t->dtype) {
    case DT_F32:
        have = p->n_float_data;
        if (have == (size_t)n && n)
            memcpy(t->data, p->float_data, bytes);
        break;
    case DT_F64:
        have = p->n_double_data;
        if (have == (size_t)n && n)
            memcpy(t->data, p->double_data, bytes);
        break;
    case DT_I64:
        have = p->n_int64_data;
        if (have == (size_t)n && n)
            memcpy(t->data, p->int64_data, bytes);
        break;
    case DT_U32:
    case DT_U64:
        have = p->n_uint64_data;
        if (have == (size_t)n)
            for (int64_t i = 0; i < n; i++) {
                if (t->dtype == DT_U32)
                    ((uint32_t *)t->data)[i] = (uint32_t)p->uint64_data[i];
                else
                    ((uint64_t *)t->data)[i] = p->uint64_data[i];
            }
        break;
    default:  // int32, int16, int8, uint16, uint8, bool, float16, bfloat16: in int32_data
        have = p->n_int32_data;
        if (have == (size_t)n)
            for (int64_t i = 0; i < n; i++) {
                int32_t v = p->int32_data[i];
                switch (es) {
                case 1: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
                case 2: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
                default: ((int32_t *)t->data)[i] = v; break;
                }
            }
        break;
    }
    return 0;
}
