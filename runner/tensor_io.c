// runner/tensor_io.c — tensor files: NumPy .npy (read and write) and ONNX TensorProto .pb
// (read), for `tilec run --input`, `--output-dir` and `--test-data`.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "onnx.pb-c.h"

static const struct {
    const char *descr;
    int dtype;
} npy_types[] = {
    {"<f4", DT_F32}, {"<f8", DT_F64}, {"<f2", DT_F16}, {"<i8", DT_I64}, {"<i4", DT_I32},
    {"<i2", DT_I16}, {"|i1", DT_I8},  {"|u1", DT_U8},  {"<u2", DT_U16}, {"<u4", DT_U32},
    {"<u8", DT_U64}, {"|b1", DT_BOOL},
};

static int fail(char **error, int code, const char *path, const char *msg) {
    if (error) {
        size_t n = strlen(path) + strlen(msg) + 8;
        *error = malloc(n);
        if (*error)
            snprintf(*error, n, "%s: %s", path, msg);
    }
    return code;
}

// Parses the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
static int parse_npy_header(const char *h, Tensor *t, const char **why) {
    const char *d = strstr(h, "'descr'");
    const char *f = strstr(h, "'fortran_order'");
    const char *s = strstr(h, "'shape'");
    if (!d || !f || !s)
        return *why = "not a .npy header (descr, fortran_order and shape expected)", -1;
    d = strchr(d + 7, '\'');
    if (!d)
        return *why = "bad descr", -1;
    d++;
    t->dtype = 0;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++) {
        size_t l = strlen(npy_types[i].descr);
        if (strncmp(d, npy_types[i].descr, l) == 0 && d[l] == '\'')
            t->dtype = npy_types[i].dtype;
    }
    if (!t->dtype && (strncmp(d, "<b1'", 4) == 0 || strncmp(d, "|u1'", 4) == 0))
        t->dtype = DT_BOOL;
    if (!t->dtype)
        return *why = "element type not supported (little-endian f2/f4/f8, i1-i8, u1-u8, b1)", -1;
    const char *colon = strchr(f + 15, ':');
    if (!colon)
        return *why = "bad fortran_order", -1;
    while (*++colon == ' ') {
    }
    if (strncmp(colon, "False", 5) != 0)
        return *why = "Fortran-order arrays are not supported (save a C-order copy)", -1;
    const char *p = strchr(s + 7, '(');
    if (!p)
        return *why = "bad shape", -1;
    p++;
    t->rank = 0;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0)
            return *why = "bad shape", -1;
        if (t->rank == RMAX_RANK)
            return *why = "rank above 8", -1;
        t->dims[t->rank++] = v;
        p = end;
    }
    return 0;
}

static int read_npy(const char *path, const uint8_t *buf, size_t len, Tensor *t, char **error) {
    if (len < 10)
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, "truncated .npy file");
    int major = buf[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return fail(error, TILEC_MODEL_ERR_FORMAT, path, "truncated .npy file");
        hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        start = 12;
    } else {
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, "unknown .npy format version");
    }
    if (start + hlen > len)
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, "truncated .npy header");
    char *h = strndup((const char *)buf + start, hlen);
    if (!h)
        return fail(error, TILEC_MODEL_ERR_MEMORY, path, "out of memory");
    const char *why = NULL;
    int st = parse_npy_header(h, t, &why);
    free(h);
    if (st)
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, why);
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] && n > RUNNER_MAX_ELEMENTS / t->dims[i])
            return fail(error, TILEC_MODEL_ERR_FORMAT, path, "too many elements");
        n *= t->dims[i];
    }
    size_t bytes = (size_t)n * dtype_size(t->dtype);
    if (len - start - hlen < bytes)
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, "the file holds fewer bytes than its shape needs");
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data)
        return fail(error, TILEC_MODEL_ERR_MEMORY, path, "out of memory");
    memcpy(t->data, buf + start + hlen, bytes);
    return 0;
}

static int read_pb(const char *path, const uint8_t *buf, size_t len, Tensor *t, char **name,
                   char **error) {
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!p)
        return fail(error, TILEC_MODEL_ERR_FORMAT, path, "neither a .npy file nor a TensorProto");
    RErr e = {0};
    bool owned = false;
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    int st = dir ? tensor_from_proto(p, slash ? dir : ".", t, &owned, &e)
                 : rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory");
    free(dir);
    if (!st && !owned) {
        size_t bytes = tensor_bytes(t);
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy)
            st = rerr(&e, TILEC_MODEL_ERR_MEMORY, "out of memory");
        else
            memcpy(copy, t->data, bytes);
        t->data = copy;
    }
    if (!st && name)
        *name = p->name && p->name[0] ? strdup(p->name) : NULL;
    onnx__tensor_proto__free_unpacked(p, NULL);
    if (st)
        return fail(error, st, path, e.msg);
    return 0;
}

TilecModelStatus tilec_tensor_read(const char *path, TilecTensor *t, char **name, char **error) {
    memset(t, 0, sizeof *t);
    if (name)
        *name = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(error, TILEC_MODEL_ERR_IO, path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return fail(error, TILEC_MODEL_ERR_MEMORY, path, "out of memory");
            }
            buf = nb;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0)
            break;
    }
    fclose(f);
    int st = len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0 ? read_npy(path, buf, len, t, error)
                                                          : read_pb(path, buf, len, t, name, error);
    free(buf);
    return (TilecModelStatus)st;
}

TilecModelStatus tilec_tensor_write_npy(const char *path, const TilecTensor *t, char **error) {
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == t->dtype)
            descr = npy_types[i].descr;
    if (t->dtype == DT_BF16)
        return fail(error, TILEC_MODEL_ERR_UNSUPPORTED, path, "bfloat16 has no .npy type");
    if (!descr)
        return fail(error, TILEC_MODEL_ERR_UNSUPPORTED, path, "element type has no .npy type");
    char shape[256] = "";
    size_t len = 0;
    for (int i = 0; i < t->rank; i++)
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%lld,%s", (long long)t->dims[i],
                                i + 1 < t->rank ? " " : "");
    char header[512];
    int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                      descr, shape);
    // Pad with spaces so that the data starts on a 64-byte boundary; end with '\n'.
    size_t total = 10 + (size_t)hl + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(error, TILEC_MODEL_ERR_IO, path, strerror(errno));
    size_t hlen = (size_t)hl + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, (size_t)hl, f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t bytes = tensor_bytes(t);
    if ((bytes && fwrite(t->data, 1, bytes, f) != bytes) || fclose(f) != 0)
        return fail(error, TILEC_MODEL_ERR_IO, path, strerror(errno));
    return TILEC_MODEL_OK;
}
