// runner/model.h — a loaded model and its per-shape plans: what onnx_load.c, graph.c, plan.c
// and exec.c share (ops see only runner.h).
#ifndef TILEC_RUNNER_MODEL_H
#define TILEC_RUNNER_MODEL_H

#include <pthread.h>

#include "runner.h"

struct Onnx__ModelProto;
struct Onnx__GraphProto;

#define RUNNER_MAX_PLANS 16

// Where a value's data lives during a run.
enum Storage {
    ST_NONE = 0,   // dead, never computed
    ST_CONST = 1,  // the model's constant
    ST_INPUT = 2,  // the caller's input buffer
    ST_HOST = 3,   // computed while planning (shape arithmetic), owned by the plan
    ST_ARENA = 4,  // in the run's arena at `offset`
    ST_ALIAS = 5,  // another value's bytes (alias_of), viewed with its own shape
};

// Everything a run of one input signature needs: shapes, storage and arena offsets.
typedef struct Plan {
    int ninputs;
    // key: every input's shape, and the bytes of the inputs whose values decide shapes
    Tensor *key_shapes;     // ninputs
    void **key_values;      // ninputs; NULL when the input is not shape-relevant
    Tensor *vals;           // nvalues: types and shapes; data for ST_CONST and ST_HOST values
    int *storage;           // nvalues: enum Storage
    int *alias_of;          // nvalues: ST_ALIAS source (a value that is not itself an alias)
    size_t *offset;         // nvalues: ST_ARENA offsets
    size_t *scratch_offset; // nnodes
    size_t *scratch_bytes;  // nnodes
    size_t arena_bytes;
} Plan;

typedef struct ProfileRow {
    double ms;              // total over runs
    int64_t calls;
    const char *kernel;
    char shapes[160];
} ProfileRow;

struct TilecModel {
    char *path, *dir;
    struct Onnx__ModelProto *proto;  // loaded from ONNX: the parsed file (NULL ahead of time)
    void (*free_proto)(struct Onnx__ModelProto *);  // how to free it (set by onnx_load.c)
    Graph graph;
    int opset;              // default domain
    int64_t ir_version;
    uint64_t max_bytes;     // TilecModelOptions.max_tensor_bytes
    void **owned;           // buffers the model frees (external data, folded constants, ...)
    int nowned, cap_owned;
    pthread_mutex_t lock;
    Plan *plan_list[RUNNER_MAX_PLANS];  // one per input signature seen (first come)
    int nplans;
    size_t last_peak;
    // Arenas of finished runs, reused by the next ones (no fresh pages, no page faults, after
    // the first run); one per concurrent run at most RUNNER_ARENA_POOL kept.
    void *arena_pool[8];
    size_t arena_pool_bytes[8];
    int narenas;
    bool profile;
    ProfileRow *prof;       // per node of graph
};

// onnx_load.c: parse, build the graph (values, nodes, subgraphs, constants), checked order.
int model_parse(TilecModel *m, const uint8_t *bytes, size_t len, RErr *e);
// Builds a Graph from a GraphProto (subgraphs get parent set). Used for the main graph and for
// If/Loop bodies.
int graph_build(TilecModel *m, const struct Onnx__GraphProto *gp, Graph *g, Graph *parent,
                RErr *e);
void graph_free(Graph *g);
// Hands a malloc'd buffer (a constant's data) to the model, which frees it with itself.
int model_keep(TilecModel *m, void *p, RErr *e);
int graph_value(Graph *g, const char *name);  // index or -1
int graph_add_value(Graph *g, const char *name, RErr *e);

// graph.c: fold constants, fold BatchNormalization into Conv, drop dead nodes, prepare ops,
// mark shape-relevant values and host nodes.
int graph_prepare(TilecModel *m, Graph *g, RErr *e);

// Merges BatchNormalization, elementwise chains and activations into the Conv before them, and
// spelled-out hard-swish into HardSwish nodes (fuse.c; called by graph_prepare).
int graph_fuse(TilecModel *m, Graph *g, RErr *e);

// exec.c
// Evaluates one node with all inputs' data at hand (values[] indexed by value); outputs get
// malloc'd data. Used to fold constants, to run host nodes while planning and by graph_eval.
int node_eval(const Graph *g, const Node *n, const Tensor *values, Tensor *outs, RErr *e);
// Checks that an inferred output is addressable (rank, dims, size limits).
int check_inferred(const Graph *g, const Node *n, int k, const Tensor *t, RErr *e);

void model_free_arenas(TilecModel *m);
// One run (tilec_model_run): outputs get malloc'd data, or with `into` are the caller's buffers
// of a known type and shape (an output of another type or shape is an error, nothing copied).
int model_run(TilecModel *m, const Tensor *inputs, Tensor *outputs, bool into, RErr *e);

// plan.c
int plan_build(TilecModel *m, const Tensor *inputs, Plan **out, RErr *e);
void plan_free(Plan *p, int nvalues);
bool plan_matches(const TilecModel *m, const Plan *p, const Tensor *inputs);

#define RUNNER_MAX_ELEMENTS ((int64_t)1 << 36)  // per tensor (256 GiB of f32): refused above

#endif
