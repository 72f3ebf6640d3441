// runner/tilec_model.h — run ONNX models on tilec's compiled kernels (libtilec_runner.a).
//
//   TilecModel *m; char *err;
//   if (tilec_model_load("model.onnx", NULL, &m, &err) != TILEC_MODEL_OK) { puts(err); free(err); }
//   TilecTensor in = {TILEC_DT_FLOAT, 4, {1, 3, 224, 224}, data};
//   TilecTensor out[1];
//   tilec_model_run(m, &in, out, &err);      // out[0].data is malloc'd: free it
//   tilec_model_free(m);
//
// Tensors are dense and row-major, of ONNX's element types (the numbers below are ONNX's
// TensorProto.DataType). A loaded model may be run from several threads at once. No function
// prints or exits: failures return a status and, where `error` is not NULL, a message the caller
// frees with free(). docs/runner.md is the manual.
#ifndef TILEC_MODEL_H
#define TILEC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TILEC_MODEL_MAX_RANK 8

typedef enum TilecDType {
    TILEC_DT_UNDEFINED = 0,
    TILEC_DT_FLOAT = 1,
    TILEC_DT_UINT8 = 2,
    TILEC_DT_INT8 = 3,
    TILEC_DT_UINT16 = 4,
    TILEC_DT_INT16 = 5,
    TILEC_DT_INT32 = 6,
    TILEC_DT_INT64 = 7,
    TILEC_DT_STRING = 8,  // never a model input or output here (unsupported)
    TILEC_DT_BOOL = 9,    // one byte per element, 0 or 1
    TILEC_DT_FLOAT16 = 10,
    TILEC_DT_DOUBLE = 11,
    TILEC_DT_UINT32 = 12,
    TILEC_DT_UINT64 = 13,
    TILEC_DT_BFLOAT16 = 16,
} TilecDType;

// A dense tensor. For inputs the caller owns `data`; outputs of tilec_model_run get `data` from
// malloc (the caller frees it).
typedef struct TilecTensor {
    int dtype;  // a TilecDType
    int rank;
    int64_t dims[TILEC_MODEL_MAX_RANK];
    void *data;
} TilecTensor;

// Status codes (0 is success). They follow the kernels' TILEC_ERR_* codes (1..6).
typedef enum TilecModelStatus {
    TILEC_MODEL_OK = 0,
    TILEC_MODEL_ERR_IO = 16,           // the model or a data file cannot be read
    TILEC_MODEL_ERR_FORMAT = 17,       // not a valid ONNX model (truncated, bad field, ...)
    TILEC_MODEL_ERR_INVALID = 18,      // a graph ONNX does not allow (cycle, missing value, ...)
    TILEC_MODEL_ERR_UNSUPPORTED = 19,  // an op, opset, type or attribute value not supported
    TILEC_MODEL_ERR_INPUT = 20,        // run: inputs of the wrong count, type, rank or size
    TILEC_MODEL_ERR_MEMORY = 21,       // out of memory, or a tensor too large to address
    TILEC_MODEL_ERR_KERNEL = 22,       // a compiled kernel refused its arguments (a bug: report it)
} TilecModelStatus;

typedef struct TilecModelOptions {
    // Symbolic dimensions fixed at load (`--shape`): names of graph inputs with their dims, or
    // names of symbolic dimensions (dim_param) with one value each. NULL/0 for none.
    int nshapes;
    const char *const *shape_names;
    const TilecTensor *shapes;  // only rank and dims are read
    int profile;                // 1: time every node (tilec_model_profile)
    // The largest tensor a node may compute, in bytes (a run that would need more fails with
    // TILEC_MODEL_ERR_MEMORY); 0: only the 2^36-element limit.
    uint64_t max_tensor_bytes;
    // Elementwise chains fused into generated kernels (docs/runner.md, "Fusion"): when set, and
    // every input's shape is fixed at load, each chain's .tile source is handed to this hook
    // with the kernel's name ("fused_" and a hash of the text); it returns the compiled kernel
    // (the C function of that name, loaded into this process), or NULL to leave the chain to
    // run op by op. Called during tilec_model_load only. NULL: no such fusion.
    void *(*compile_kernel)(void *ctx, const char *name, const char *source);
    void *compile_ctx;
} TilecModelOptions;

typedef struct TilecModel TilecModel;

TilecModelStatus tilec_model_load(const char *path, const TilecModelOptions *options,
                                  TilecModel **model, char **error);
// The same from a model already in memory; external data files are looked up in `dir`.
TilecModelStatus tilec_model_load_memory(const void *bytes, size_t len, const char *dir,
                                         const TilecModelOptions *options, TilecModel **model,
                                         char **error);
void tilec_model_free(TilecModel *model);

// The graph's inputs (initializers excluded) and outputs, in graph order. A dimension that the
// model leaves symbolic reads -1 in `info->dims`, with its name in *dim_names (NULL otherwise).
int tilec_model_input_count(const TilecModel *model);
int tilec_model_output_count(const TilecModel *model);
const char *tilec_model_input_name(const TilecModel *model, int i);
const char *tilec_model_output_name(const TilecModel *model, int i);
// Fills `info` (dtype, rank, dims; data NULL); returns 0, or -1 when i is out of range.
int tilec_model_input_info(const TilecModel *model, int i, TilecTensor *info,
                           const char *const **dim_names);
int tilec_model_output_info(const TilecModel *model, int i, TilecTensor *info,
                            const char *const **dim_names);

// Runs the model: `inputs` in graph order (tilec_model_input_count of them), `outputs` receives
// tilec_model_output_count tensors whose data the caller frees. On failure no output is left
// allocated.
TilecModelStatus tilec_model_run(TilecModel *model, const TilecTensor *inputs,
                                 TilecTensor *outputs, char **error);

// The arena bytes planned for the last run's input shapes (all intermediates), 0 before a run.
size_t tilec_model_planned_peak(const TilecModel *model);

// With options->profile: per-node timings accumulated over all runs so far, as a table sorted by
// time (op, kernel, shapes, ms, share); the caller frees it. NULL without profiling.
char *tilec_model_profile(const TilecModel *model);

// Every supported op with its opset range, one "Name since-until" per line; caller frees.
char *tilec_model_supported_ops(void);

// Tensor files: a NumPy .npy (format 1-3, little-endian, C order) or an ONNX TensorProto .pb,
// told apart by content. t->data is malloc'd; *name (may be NULL) gets the TensorProto's name
// (NULL for .npy), malloc'd. Writing makes a .npy file.
TilecModelStatus tilec_tensor_read(const char *path, TilecTensor *t, char **name, char **error);
TilecModelStatus tilec_tensor_write_npy(const char *path, const TilecTensor *t, char **error);

// Element i of a numeric tensor as a double (any element type but string).
double tilec_tensor_value(const TilecTensor *t, size_t i);

// Dimensions as the command lines spell them ("1x3x640x640", also 'X' or ',' between them) into
// t->rank and t->dims; false for an empty, negative, malformed or over-long list.
bool tilec_parse_dims(const char *s, TilecTensor *t);

const char *tilec_dtype_name(int dtype);  // "float", "int64", ...; "?" for an unknown code
size_t tilec_dtype_size(int dtype);       // bytes per element; 0 for unknown or string

#ifdef __cplusplus
}
#endif

#endif
