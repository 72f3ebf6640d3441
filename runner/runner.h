// runner/runner.h — the graph runner's internal data structures and the contract every op
// implementation (runner/ops_*.c) follows. Not installed; users see runner/tilec_model.h.
//
// A model is loaded (onnx_load.c) into a Graph of Values (tensors: graph inputs, constants,
// node outputs) and Nodes in checked topological order; graph.c folds what constants compute,
// drops dead nodes and folds BatchNormalization into a preceding Conv; fuse_ew.c turns the
// remaining elementwise chains into TilecFused nodes running generated kernels (fuse_ew.h). A
// run (exec.c) looks up or builds a Plan for its input shapes (plan.c): every node's output
// shape inferred, the nodes that compute shapes (Shape -> Gather -> Concat -> Reshape)
// evaluated once there, all other intermediates placed in one arena by lifetime. Each op implements infer() (output types and
// shapes) and run() (the arithmetic, on a kernel compiled by tilec from a .tile file).
#ifndef TILEC_RUNNER_H
#define TILEC_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tilec_model.h"

#define RMAX_RANK TILEC_MODEL_MAX_RANK

// ---------------------------------------------------------------- data structures

// Element types: ONNX's numbering (TilecDType). DT_BOOL is one byte, 0 or 1.
enum {
    DT_UNDEF = 0,
    DT_F32 = 1,
    DT_U8 = 2,
    DT_I8 = 3,
    DT_U16 = 4,
    DT_I16 = 5,
    DT_I32 = 6,
    DT_I64 = 7,
    DT_STRING = 8,
    DT_BOOL = 9,
    DT_F16 = 10,
    DT_F64 = 11,
    DT_U32 = 12,
    DT_U64 = 13,
    DT_BF16 = 16,
};

// A dense row-major tensor. In infer() `data` is NULL except for the inputs named in the op's
// `shape_inputs` (their values are known then). An omitted optional input has dtype DT_UNDEF.
// rank 0 is a scalar (one element).
typedef TilecTensor Tensor;

// An error: a status (TilecModelStatus) and its message.
typedef struct RErr {
    int code;
    char msg[4096];
} RErr;

struct OpDef;
struct Graph;
struct Onnx__NodeProto;
struct Onnx__TensorProto;

enum ValueKind {
    VAL_NODE = 0,   // computed by a node
    VAL_INPUT = 1,  // a graph input
    VAL_CONST = 2,  // an initializer, a Constant node's value, or folded at load
    VAL_OUTER = 3,  // a subgraph's reference to a value of an enclosing graph (outer_index)
};

typedef struct Value {
    char *name;
    int kind;               // enum ValueKind
    Tensor t;               // VAL_CONST: type, shape and data; VAL_INPUT: declared type/shape
                            // (-1 for a symbolic dim, rank -1 when undeclared); else dtype 0
    char **dim_names;       // VAL_INPUT: symbolic dim names (entries NULL where fixed), or NULL
    int producer;           // node index for VAL_NODE, else -1
    int outer_index;        // VAL_OUTER: the value's index in the enclosing graph
    bool is_output;         // a graph output
    bool shape_relevant;    // its data decides a tensor's shape: computed when planning
    bool owned;             // VAL_CONST: t.data was malloc'd by the runner (else it points into
                            // the protobuf message or a mapped external file)
} Value;

// An activation and an affine map that the graph passes (fuse.c) fold into the op producing a
// value, for ops flagged OP_EPILOGUE: out = act(out; a0, a1) * scale + shift. `act` is a code of
// runner/kernels/nn_conv.tile's epilogue (EPI_*); the whole struct is zero (and ignored) until a
// pass sets `on`.
enum EpiAct {
    EPI_NONE = 0, EPI_RELU = 1, EPI_SIGMOID = 5, EPI_TANH = 6, EPI_HARDSWISH = 7,
    EPI_HARDSIGMOID = 8, EPI_CLIP = 9, EPI_LEAKYRELU = 10,
};

typedef struct Epilogue {
    bool on;
    int act;                // enum EpiAct
    float a0, a1;           // HardSigmoid's alpha, beta; Clip's min, max; LeakyRelu's alpha
    float scale, shift;
} Epilogue;

// A node attribute, decoded from the ONNX file at load (onnx_load.c) or from an ahead-of-time
// model's blob (blob_read.c): ops read them through attr_* below, never the protobuf message.
// Like AttributeProto, every field that the file sets is kept, whatever the declared type.
typedef struct Attr {
    char *name;
    int64_t i;
    float f;
    bool has_s, has_t;
    size_t slen;            // s: has_s (may hold NULs; NUL-terminated too)
    char *s;
    int nints, nfloats, nstrings;
    int64_t *ints;
    float *floats;
    char **strings;         // nstrings, each NUL-terminated, of byte lengths lens[]
    size_t *lens;
    Tensor t;               // has_t: decoded and dense (t.data malloc'd), unless `bad`
    char *bad;              // has_t but the tensor cannot be decoded: why, and the status
    int bad_code;
} Attr;

typedef struct Node {
    const struct OpDef *op;
    char *name;             // the node's name, or "op_type#index" when the model gives none
    char *op_type;
    int opset;              // the default domain's opset version of the model
    int nin, nout;
    int *in, *out;          // value indices; -1 for an omitted optional input or output
    const struct Onnx__NodeProto *proto;  // while loading only (onnx_load.c), then NULL
    Attr *attrs;            // attributes (read through attr_* below)
    int nattrs;
    struct Graph **subgraphs;             // If: [then_branch, else_branch]; Loop/Scan: [body]
    int nsubgraphs;
    void *state;            // the op's own load-time data (prepare()), freed by free_state()
    bool dead;              // dropped (folded into a constant, or not needed for an output)
    bool host;              // computes a shape-relevant value: evaluated when planning
    Epilogue epi;           // fused into out[0] by fuse.c (OP_EPILOGUE ops)
} Node;

// The node's epilogue, or the identity (act 0, scale 1, shift 0) when none was fused.
Epilogue node_epilogue(const Node *n);

typedef struct Graph {
    Value *values;
    int nvalues, cap_values;
    Node *nodes;            // in topological order once graph_prepare() has run
    int nnodes, cap_nodes;
    int *inputs, ninputs;   // VAL_INPUT values in graph order
    int *outputs, noutputs;
    Tensor *output_decl;    // noutputs: each output's declared type and shape (dtype 0 and
                            // rank -1 when undeclared, -1 for a symbolic dim)
    struct Graph *parent;   // the enclosing graph of a subgraph, else NULL
    uint64_t max_bytes;     // a computed tensor's size limit (TilecModelOptions), 0: none
    char *name;
} Graph;

// What an op's functions see. infer() fills out[i].dtype/rank/dims (data stays NULL); run()
// computes out[i].data (allocated by the runner, `out[i]` already shaped as infer() said) from
// in[]. `scratch` holds scratch() bytes during run(). `values` are the current graph's tensors
// (for ops that run subgraphs).
typedef struct OpCtx {
    const Node *node;
    int nin, nout;
    const Tensor *in;
    Tensor *out;
    void *scratch;
    RErr *err;
    const struct Graph *graph;
    const Tensor *values;
    const char *kernel;     // run() may name the compiled kernel it called (for --profile)
} OpCtx;

enum OpFlags {
    OP_INPLACE = 1,         // out[0] may use in[0]'s memory (same byte size), elementwise safe
    OP_ALIAS = 2,           // out[0] is in[0]'s data viewed with another shape (Reshape, ...):
                            // run() is not called; out[0].data = in[0].data
    OP_SHAPE_ONLY = 4,      // reads only its inputs' shapes, never their data (Shape, Size)
    OP_NO_FOLD = 8,         // never folded at load even with constant inputs (random ops)
    OP_EPILOGUE = 16,       // run() applies node->epi to out[0] (fuse.c may fold activations in)
};

typedef struct OpDef {
    const char *name;       // op_type in the default domain ("" / "ai.onnx")
    int since, until;       // opset versions whose semantics this implements (until 0: latest)
    int flags;              // enum OpFlags
    uint32_t shape_inputs;  // bit i: input i's values decide the output's shape (Reshape's shape)
    int code;               // a value for ops that share functions (which unary op, ...)
    // At load, once per node (may be NULL): check attributes, set node->state.
    int (*prepare)(struct Node *n, const struct Graph *g, RErr *e);
    int (*infer)(OpCtx *c);
    int (*run)(OpCtx *c);
    // Scratch bytes run() needs for these shapes (may be NULL: none).
    size_t (*scratch)(const OpCtx *c);
    void (*free_state)(void *state);
} OpDef;

// Each ops_*.c defines one group: `const OpDef ops_<group>[]` and `const int ops_<group>_count`.
// ops.c lists the groups.
#define RUNNER_OP_GROUPS(X) \
    X(elementwise)          \
    X(shape)                \
    X(nn)                   \
    X(linalg)               \
    X(reduce)               \
    X(rnn)                  \
    X(control)             \
    X(fused)

#define RUNNER_DECLARE_GROUP(g)  \
    extern const OpDef ops_##g[]; \
    extern const int ops_##g##_count;
RUNNER_OP_GROUPS(RUNNER_DECLARE_GROUP)
#undef RUNNER_DECLARE_GROUP

// A node's inputs from a graph's tensors (indexed by value): in[i] for i < nin (an omitted
// optional input has dtype DT_UNDEF), and in[nin .. 16) zeroed, so that an op reading an input
// past the node's count sees an omitted one, never a previous node's tensor or garbage.
void node_inputs(const Node *n, const Tensor *values, Tensor *in);

// ---------------------------------------------------------------- ops.c

// The implementation of op_type at this opset, or NULL (and *known set when some opset range
// of that op exists).
const OpDef *ops_find(const char *op_type, int opset, bool *known);

// ---------------------------------------------------------------- tensor.c

size_t dtype_size(int dtype);            // 0 for unknown/string
const char *dtype_name(int dtype);
bool dtype_is_float(int dtype);          // f16, bf16, f32, f64
bool dtype_is_int(int dtype);            // signed or unsigned integers (not bool)
int64_t tensor_numel(const Tensor *t);   // product of dims (1 for rank 0)
size_t tensor_bytes(const Tensor *t);
bool tensor_same_shape(const Tensor *a, const Tensor *b);
char *shape_str(const Tensor *t, char *buf, size_t cap);  // "1x3x224x224" ("scalar" for rank 0)
// Normalizes a possibly negative axis for rank r; false when out of [-r, r).
bool norm_axis(int64_t axis, int rank, int *out);
// An integer tensor element as int64 (i8..i64, u8..u64, bool); for reading shape inputs.
int64_t tensor_get_int(const Tensor *t, int64_t i);
double tensor_get_f64(const Tensor *t, int64_t i);  // any numeric type
// Copies a strided view (element strides, rank up to 2 * RMAX_RANK) of esz-byte elements into a
// dense row-major buffer.
void tensor_copy_strided(void *dst, const void *src, int rank, const int64_t *dims,
                         const int64_t *strides, size_t esz);
// Multidirectional (numpy) broadcasting of n shapes into out (dims and rank only).
int broadcast_shapes(int n, const Tensor *const *ts, Tensor *out, RErr *e);

// Sets e (code and printf-style message) and returns the code.
int rerr(RErr *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// The same, prefixed with the node: "node 'conv1' (Conv): ...".
int node_err(const OpCtx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Attributes of a node (defaults when absent).
int64_t attr_int(const Node *n, const char *name, int64_t def);
float attr_float(const Node *n, const char *name, float def);
// The attribute's string copied (NUL-terminated, truncated to cap-1) into buf, or def.
const char *attr_str(const Node *n, const char *name, const char *def, char *buf, size_t cap);
// Count of the ints/floats attribute and a pointer to them; -1 (and *v NULL) when absent.
int attr_ints(const Node *n, const char *name, const int64_t **v);
int attr_floats(const Node *n, const char *name, const float **v);
bool attr_has(const Node *n, const char *name);
// A STRINGS attribute: its count (-1 when absent), and entry i (when in range) copied into buf.
int attr_strings(const Node *n, const char *name, int i, char *buf, size_t cap);
// A TENSOR attribute: 0 and *t (NULL when absent), or the status of a tensor that could not be
// decoded at load (with its message in e, prefixed by the node as node_err does).
int attr_tensor(const OpCtx *c, const char *name, const Tensor **t);
// Frees a node's attributes (their strings, lists and tensors).
void attrs_free(Attr *a, int n);

// A TensorProto decoded into a dense tensor (raw_data or the typed fields; external data
// resolved against `dir`, refused outside it). *owned says whether t->data was malloc'd.
int tensor_from_proto(const struct Onnx__TensorProto *p, const char *dir, Tensor *t, bool *owned,
                      RErr *e);

// ---------------------------------------------------------------- exec.c (for ops with subgraphs)

// Runs a (sub)graph once, every value allocated per call: `outer` are the enclosing graph's
// tensors (for VAL_OUTER values), `inputs` the subgraph's inputs; outputs are malloc'd.
int graph_eval(const Graph *g, const Tensor *outer, const Tensor *inputs, Tensor *outputs,
               RErr *e);
// The types and shapes of a (sub)graph's outputs, from the enclosing graph's tensors (data
// where known): nodes whose inputs all have data are evaluated, others inferred. `outputs` get
// no data.
int graph_infer(const Graph *g, const Tensor *outer, const Tensor *inputs, Tensor *outputs,
                RErr *e);

#endif
