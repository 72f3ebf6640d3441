// runner/aot/tilec_aot.h — what an ahead-of-time model object (`tilec MODEL.onnx -o NAME.o`,
// docs/aot.md) and its generated header NAME.h share: the description NAME_info() returns and
// the status codes NAME_run() returns. One definition: entry.c compiles these declarations and
// tools/tilec_aot.c writes the same text into NAME.h (TILEC_AOT_TEXT), so they cannot drift.
#ifndef TILEC_AOT_H
#define TILEC_AOT_H

#include <stddef.h>
#include <stdint.h>

// T(declaration): no top-level commas inside a declaration (one field per declarator).
#define TILEC_AOT_DECLARATIONS(T)      \
    T(typedef struct TilecAotTensor {  \
        const char *name;              \
        int dtype;                     \
        int rank;                      \
        int64_t dims[8];               \
        size_t bytes;                  \
    } TilecAotTensor;)                 \
    T(typedef struct TilecAotInfo {    \
        int ninputs;                   \
        int noutputs;                  \
        const TilecAotTensor *inputs;  \
        const TilecAotTensor *outputs; \
        int ntuned;                    \
    } TilecAotInfo;)

// NAME_run's status: 0, or one of these (the numbers of tilec_model.h's TilecModelStatus).
#define TILEC_AOT_STATUS(X)                                                               \
    X(TILEC_ERR_FORMAT, 17, "the object's model data is damaged")                         \
    X(TILEC_ERR_INVALID, 18, "an output came out of another shape than compiled (a bug)") \
    X(TILEC_ERR_INPUT, 20, "a NULL inputs or outputs array, or a NULL tensor in it")      \
    X(TILEC_ERR_MEMORY, 21, "out of memory")                                              \
    X(TILEC_ERR_KERNEL, 22, "a compiled kernel refused its arguments (a bug: report it)")

#define TILEC_AOT_DECLARE(x) x
#define TILEC_AOT_ENUMERATOR(name, value, meaning) name = value,
#ifndef TILEC_AOT_TYPES
#define TILEC_AOT_TYPES
TILEC_AOT_DECLARATIONS(TILEC_AOT_DECLARE)
enum TilecAotStatus { TILEC_AOT_STATUS(TILEC_AOT_ENUMERATOR) };
#endif

// The declarations as text (for NAME.h).
#define TILEC_AOT_STRINGIFY(x) #x "\n"
#define TILEC_AOT_TEXT TILEC_AOT_DECLARATIONS(TILEC_AOT_STRINGIFY)

// The tuned variants linked into the object (`tilec MODEL.onnx --db DB -o NAME.o`): the kernel
// call (kernel name and key, runner/kcall.h) each runs, in a table that tilec-aot assembles for
// every object (empty without --db), ended by an entry whose fn is NULL.
typedef struct TilecAotRoute {
    void *fn;
    const char *kernel;
    const char *shape;
} TilecAotRoute;
extern const TilecAotRoute tilec_aot_routes[];

// The generated kernels of the model's fused elementwise chains (runner/fuse_ew.h), linked into
// the object by tilec-aot (tools/tilec_aot_fused.c): each kernel's entry and its name, ended by an
// entry whose fn is NULL; registered before the blob is read (its TilecFused nodes look them up).
typedef struct TilecAotFused {
    void *fn;
    const char *name;
} TilecAotFused;
extern const TilecAotFused tilec_aot_fused[];

// The entry points of the runtime object, renamed NAME_run / NAME_info in NAME.o.
int tilec_aot_entry_run(const void *const *inputs, void *const *outputs);
const TilecAotInfo *tilec_aot_entry_info(void);

#endif
