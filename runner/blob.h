// runner/blob.h — an ahead-of-time model's graph as bytes (docs/aot.md): the graph that
// tilec_model_load prepared (constants folded, nodes fused, dead nodes dropped, shapes fixed),
// written by blob_write.c when `tilec MODEL.onnx -o NAME.o` compiles a model, and read back by
// blob_read.c inside NAME.o (which holds neither ONNX nor protobuf).
//
// Layout: a BlobHeader; the description (meta_bytes at meta_offset), a stream of the primitives
// below; the constants' bytes (data_bytes at data_offset, each constant at a 64-byte aligned
// offset into it, used in place when the blob itself is 64-byte aligned).
//
//   primitives  u8, i32, u32, i64, u64, f32: little-endian; str: u32 length, then the bytes
//   tensor      i32 dtype, i32 rank (-1: unknown), i64 dims[rank]
//   meta        i64 ir_version, i32 opset, u64 max_tensor_bytes, u64 arena_bytes (the plan's),
//               i32 ninputs, (str name, tensor)*, i32 noutputs, (str name, tensor)*,  [NAME_info]
//               graph
//   graph       str name, u64 max_bytes, i32 nvalues, value*, i32 nnodes, node*,
//               i32 ninputs, i32 value*, i32 noutputs, (i32 value, tensor declared)*
//   value       str name, i32 kind, tensor, u8 has_data [u64 offset, u64 bytes],
//               u8 has_dim_names [(u8 present [str])*8], i32 producer, i32 outer_index,
//               u8 is_output, u8 shape_relevant
//   node        str op_type, str name, i32 opset, str op (OpDef name; "" for none), i32 since,
//               i32 nin, i32*, i32 nout, i32*, u8 dead, u8 host,
//               u8 epi.on, i32 epi.act, f32 a0, a1, scale, shift,
//               i32 nattrs, attr*, i32 nsubgraphs, graph*      (a dead node: 0 attrs, 0 graphs)
//   attr        str name, i64 i, f32 f, u8 has_s [str s], i32 nints, i64*, i32 nfloats, f32*,
//               i32 nstrings, str*, u8 has_t [u8 bad [str why, i32 code] or [tensor, u64 bytes,
//               the bytes]]
//
// Op state (repacked weights) is not stored: the reader runs every live node's prepare() again,
// on the same constants, once, when the model object is first used. The plan for the fixed
// shapes is built then too, and must come out with the arena size the compiler's plan had.
#ifndef TILEC_RUNNER_BLOB_H
#define TILEC_RUNNER_BLOB_H

#include "model.h"

#define BLOB_MAGIC "TILECAOT"
#define BLOB_VERSION 1
#define BLOB_ALIGN 64

typedef struct BlobHeader {
    char magic[8];          // BLOB_MAGIC
    uint32_t version;       // BLOB_VERSION
    uint32_t header_bytes;  // sizeof(BlobHeader)
    uint64_t meta_offset, meta_bytes;
    uint64_t data_offset, data_bytes;
} BlobHeader;

// A model read from a blob, and the fixed types and shapes of its inputs and outputs.
typedef struct BlobModel {
    TilecModel *model;
    int ninputs, noutputs;
    char **input_names, **output_names;
    Tensor *inputs, *outputs;  // types and shapes only (data NULL)
} BlobModel;

// blob_write.c: the prepared model `m`, whose outputs have the types and shapes `outputs` for
// its fixed input shapes, as a malloc'd blob.
int blob_write(const TilecModel *m, const Tensor *outputs, uint8_t **blob, size_t *len, RErr *e);

// blob_read.c: a model from a blob (kept, not copied, when 64-byte aligned: it must outlive the
// model), its ops prepared and its plan built; `out` is filled.
int blob_read(const uint8_t *blob, size_t len, BlobModel *out, RErr *e);
void blob_model_free(BlobModel *b);

#endif
