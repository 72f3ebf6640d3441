// backends/x86/schedule.c — applies a Schedule (schedule.h) to the tile-level module as a
// transform-dialect script generated from it, run through the C API's transform interpreter.
//
// Per dot (linalg.matmul with static shapes, the padded tiles of the program):
//   tile_using_for [reg_m, reg_n, 1]   the register tile, a reduction loop over k inside
//   vectorize {create_named_contraction}  vector.contract of reg_m x reg_n x 1
//   hoist_loop_invariant_subsets        the accumulator's read/write leave the k loop: it
//                                       stays in registers (loop-carried vectors)
//   loop.unroll {factor = unroll_k}     the k loop
//   lower_contraction (outerproduct)    one FMA per accumulator row and k
// The script works on tensors, so the accumulator's hoisting sees through no memref aliasing.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"

#include "../../lang/diag.h"
#include "../../lowering/build.h"
#include "../../lowering/lower.h"
#include "x86.h"

// ================================================================ defaults for a CPU

// The x86-64 CPU names LLVM 22 knows (`llc -mtriple=x86_64 -mcpu=help`), by SIMD width for fp32
// FMA work: AVX-512F, AVX/AVX2 (256), else SSE (128).
static const char *const cpus512[] = {
    "cannonlake",
    "cascadelake",
    "cooperlake",
    "diamondrapids",
    "emeraldrapids",
    "graniterapids",
    "graniterapids-d",
    "graniterapids_d",
    "icelake-client",
    "icelake-server",
    "icelake_client",
    "icelake_server",
    "knl",
    "knm",
    "mic_avx512",
    "rocketlake",
    "sapphirerapids",
    "skx",
    "skylake-avx512",
    "skylake_avx512",
    "tigerlake",
    "x86-64-v4",
    "znver4",
    "znver5",
    NULL,
};
static const char *const cpus256[] = {
    "alderlake",
    "arrowlake",
    "arrowlake-s",
    "arrowlake_s",
    "bdver1",
    "bdver2",
    "bdver3",
    "bdver4",
    "broadwell",
    "btver2",
    "clearwaterforest",
    "core-avx-i",
    "core-avx2",
    "core_2nd_gen_avx",
    "core_3rd_gen_avx",
    "core_4th_gen_avx",
    "core_4th_gen_avx_tsx",
    "core_5th_gen_avx",
    "core_5th_gen_avx_tsx",
    "corei7-avx",
    "gracemont",
    "grandridge",
    "haswell",
    "ivybridge",
    "lunarlake",
    "meteorlake",
    "novalake",
    "pantherlake",
    "raptorlake",
    "sandybridge",
    "sierraforest",
    "skylake",
    "wildcatlake",
    "x86-64-v3",
    "znver1",
    "znver2",
    "znver3",
    NULL,
};
static const char *const cpus128[] = {
    "amdfam10",
    "athlon64",
    "athlon64-sse3",
    "athlon-fx",
    "atom",
    "atom_sse4_2",
    "atom_sse4_2_movbe",
    "barcelona",
    "bonnell",
    "btver1",
    "core2",
    "core_2_duo_sse4_1",
    "core_2_duo_ssse3",
    "core_aes_pclmulqdq",
    "core_i7_sse4_2",
    "corei7",
    "generic",
    "goldmont",
    "goldmont-plus",
    "goldmont_plus",
    "k8",
    "k8-sse3",
    "nehalem",
    "nocona",
    "opteron",
    "opteron-sse3",
    "penryn",
    "silvermont",
    "slm",
    "tremont",
    "westmere",
    "x86-64",
    "x86-64-v2",
    NULL,
};

// Those with AVX512-BF16 (vdpbf16ps; checked with llc -mcpu=NAME on the intrinsic).
static const char *const cpus_bf16[] = {
    "cooperlake",      "diamondrapids",  "emeraldrapids", "graniterapids", "graniterapids-d",
    "graniterapids_d", "sapphirerapids", "znver4",        "znver5",        NULL,
};

static bool listed(const char *const *names, const char *cpu) {
    for (; *names; names++)
        if (strcmp(*names, cpu) == 0)
            return true;
    return false;
}

bool schedule_known_cpu(const char *cpu) {
    return listed(cpus512, cpu) || listed(cpus256, cpu) || listed(cpus128, cpu);
}

void schedule_default(const char *cpu, Schedule *s) {
    int bits = 128;
    bool bf16 = false;
    if (cpu) {
        bits = listed(cpus512, cpu) ? 512 : listed(cpus256, cpu) ? 256 : 128;
        bf16 = listed(cpus_bf16, cpu);
    } else {
        char *features = LLVMGetHostCPUFeatures();
        bits = strstr(features, "+avx512f") ? 512 : strstr(features, "+avx2") ? 256 : 128;
        bf16 = strstr(features, "+avx512bf16") != NULL;
        LLVMDisposeMessage(features);
    }
    *s = (Schedule){.vector_bits = bits,
                    .unroll_k = 4,
                    .vectorize = true,
                    .inplace = true,
                    .prefetch = true,
                    .bf16dot = bf16 && bits == 512};
}

bool schedule_parse(const char *text, Schedule *s, char *error, int error_size) {
    const char *p = text;
    while (*p) {
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end) {
            snprintf(error, (size_t)error_size, "expected KEY=VALUE, found '%.*s'", (int)(end - p), p);
            return false;
        }
        char *num_end;
        long v = strtol(eq + 1, &num_end, 10);
        int klen = (int)(eq - p);
        if (num_end != end || eq + 1 == end || v < 0 || v > 4096) {
            snprintf(error, (size_t)error_size, "'%.*s' is not a value for '%.*s' (an integer 0..4096)",
                     (int)(end - eq - 1), eq + 1, klen, p);
            return false;
        }
        int *field = klen == 11 && !strncmp(p, "vector_bits", 11) ? &s->vector_bits
                     : klen == 5 && !strncmp(p, "reg_m", 5)       ? &s->reg_m
                     : klen == 5 && !strncmp(p, "reg_n", 5)       ? &s->reg_n
                     : klen == 8 && !strncmp(p, "unroll_k", 8)    ? &s->unroll_k
                                                                  : NULL;
        if (field) {
            *field = (int)v;
        } else if ((klen == 9 && !strncmp(p, "vectorize", 9)) ||
                   (klen == 10 && !strncmp(p, "cols_outer", 10)) ||
                   (klen == 7 && !strncmp(p, "inplace", 7)) || (klen == 8 && !strncmp(p, "prefetch", 8)) ||
                   (klen == 7 && !strncmp(p, "bf16dot", 7))) {
            if (v > 1) {
                snprintf(error, (size_t)error_size, "%.*s must be 0 or 1, not %ld", klen, p, v);
                return false;
            }
            if (klen == 9)
                s->vectorize = v == 1;
            else if (klen == 7 && !strncmp(p, "bf16dot", 7))
                s->bf16dot = v == 1;
            else if (klen == 7)
                s->inplace = v == 1;
            else if (klen == 8)
                s->prefetch = v == 1;
            else
                s->cols_outer = v == 1;
        } else {
            snprintf(error, (size_t)error_size,
                     "unknown schedule key '%.*s' (expected vector_bits, reg_m, reg_n, unroll_k, "
                     "cols_outer, vectorize, inplace, prefetch, bf16dot)",
                     klen, p);
            return false;
        }
        if (field == &s->vector_bits && v != 128 && v != 256 && v != 512) {
            snprintf(error, (size_t)error_size, "vector_bits must be 128, 256 or 512, not %ld", v);
            return false;
        }
        p = *end ? end + 1 : end;
    }
    return true;
}

// ================================================================ the script

typedef struct Script {
    char *text;
    size_t len, cap;
} Script;

static void add(Script *s, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->text + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        s->cap = s->cap * 2 + (size_t)n + 256;
        s->text = realloc(s->text, s->cap);
        if (!s->text)
            internal_error(__FILE__, __LINE__, "out of memory");
    }
}

// Whether `op` is named `name` (e.g. "tensor.pad").
// One dot of the module: its static shape, element types and padded operand loads.
typedef struct Dot {
    MlirOperation op;
    MlirOperation pad[2];    // the tensor.pad loads of A and B (null if the operand is not one)
    MlirOperation lhs_view;  // A's tensor.pad behind a rank-reducing slice (X[n, ih, a : b, c : d])
    int64_t m, n, k;
    bool fl;       // floating-point operands (vectorized; f16/bf16 widened to the f32 accumulator)
    int acc_bits;  // the accumulator's element width: lanes per vector = vector_bits / acc_bits
} Dot;

typedef struct Dots {
    Dot items[256];
    int len;
} Dots;

// An op the script vectorizes a row piece at a time (`chunk` elements of the innermost
// dimension, 0: the whole row; the outer dimensions one by one):
// - a max/min reduction over a static float tile's innermost dimension (linalg.reduce): LLVM's
//   cost model never vectorizes llvm.maximum/minimum reductions; each row becomes a vector
//   reduction (vertical max/min over its vectors, then a horizontal tree). Sums are left to
//   LLVM, which vectorizes reassociable adds well.
// - an elementwise op (an all-parallel linalg.generic over static tensors, its operands read
//   in the output's dimension order, possibly broadcast, its body plain arithmetic), so that
//   its speed does not hang on LLVM's loop vectorizer proving the buffers apart.
typedef struct RowOp {
    MlirOperation op;
    int rank;
    int64_t chunk;
} RowOp;

typedef struct RowOps {
    RowOp items[512];
    int len;
    int lanes;  // f32 lanes of the schedule's vector width (elementwise pieces)
} RowOps;

static MlirWalkResult find_dot(MlirOperation op, void *user) {
    Dots *d = user;
    if (!ir_op_is(op, "linalg.matmul") || d->len == 256)
        return MlirWalkResultAdvance;
    MlirType a = mlirValueGetType(mlirOperationGetOperand(op, 0));
    MlirType b = mlirValueGetType(mlirOperationGetOperand(op, 1));
    if (!mlirTypeIsARankedTensor(a) || !mlirShapedTypeHasStaticShape(a) || !mlirShapedTypeHasStaticShape(b))
        return MlirWalkResultAdvance;
    Dot *t = &d->items[d->len++];
    t->op = op;
    for (int k = 0; k < 2; k++) {
        MlirValue v = mlirOperationGetOperand(op, k);
        t->pad[k] = mlirValueIsAOpResult(v) && ir_op_is(mlirOpResultGetOwner(v), "tensor.pad")
                        ? mlirOpResultGetOwner(v)
                        : (MlirOperation){NULL};
    }
    MlirValue a_src = mlirOperationGetOperand(op, 0);
    t->lhs_view = (MlirOperation){NULL};
    if (mlirValueIsAOpResult(a_src) && ir_op_is(mlirOpResultGetOwner(a_src), "tensor.extract_slice")) {
        MlirValue src = mlirOperationGetOperand(mlirOpResultGetOwner(a_src), 0);
        if (mlirValueIsAOpResult(src) && ir_op_is(mlirOpResultGetOwner(src), "tensor.pad"))
            t->lhs_view = mlirOpResultGetOwner(src);
    }
    t->m = mlirShapedTypeGetDimSize(a, 0);
    t->k = mlirShapedTypeGetDimSize(a, 1);
    t->n = mlirShapedTypeGetDimSize(b, 1);
    t->fl = mlirTypeIsAFloat(mlirShapedTypeGetElementType(a)) &&
            mlirTypeIsAFloat(mlirShapedTypeGetElementType(b));
    MlirType acc = mlirShapedTypeGetElementType(mlirValueGetType(mlirOperationGetOperand(op, 2)));
    t->acc_bits = mlirTypeIsAFloat(acc) ? (int)mlirFloatTypeGetWidth(acc) : 32;
    return MlirWalkResultAdvance;
}

static MlirWalkResult find_reduction(MlirOperation op, void *user) {
    RowOps *r = user;
    if (!ir_op_is(op, "linalg.reduce") || r->len == 512)
        return MlirWalkResultAdvance;
    MlirType in = mlirValueGetType(mlirOperationGetOperand(op, 0));
    if (!mlirTypeIsARankedTensor(in) || !mlirShapedTypeHasStaticShape(in) ||
        !mlirTypeIsAFloat(mlirShapedTypeGetElementType(in)) || mlirShapedTypeGetRank(in) > 8)
        return MlirWalkResultAdvance;
    MlirOperation combiner =
        mlirBlockGetFirstOperation(mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0)));
    if (!ir_op_is(combiner, "arith.maximumf") && !ir_op_is(combiner, "arith.minimumf"))
        return MlirWalkResultAdvance;
    int rank = (int)mlirShapedTypeGetRank(in);
    MlirAttribute dims = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("dimensions"));
    bool inner = false;
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(dims); i++)
        inner |= mlirDenseI64ArrayGetElement(dims, i) == rank - 1;
    if (!inner)  // the innermost dimension is parallel: LLVM vectorizes along it
        return MlirWalkResultAdvance;
    int64_t n = mlirShapedTypeGetDimSize(in, rank - 1);
    r->items[r->len++] = (RowOp){.op = op, .rank = rank, .chunk = n > 1024 ? 1024 : 0};
    return MlirWalkResultAdvance;
}

// Ops an elementwise body may hold to be vectorized here: arithmetic that lowers to LLVM vector
// instructions (math calls that go to libm, gathers and the like are left to LLVM).
static bool vector_body_op(MlirOperation o) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(o));
    static const char *const math[] = {"math.absf", "math.absi", "math.ceil",  "math.floor",
                                       "math.fma",  "math.sqrt", "math.rsqrt", NULL};
    if (n.length > 6 && !strncmp(n.data, "arith.", 6))
        return true;
    for (int i = 0; math[i]; i++)
        if (strlen(math[i]) == n.length && !strncmp(n.data, math[i], n.length))
            return true;
    return ir_op_is(o, "linalg.yield") || ir_op_is(o, "linalg.index");
}

static bool vector_operand_type(MlirType t) {
    if (!mlirTypeIsARankedTensor(t) || !mlirShapedTypeHasStaticShape(t))
        return false;
    MlirType el = mlirShapedTypeGetElementType(t);
    // i1 tiles live in memory a byte per element, LLVM's <N x i1> loads and stores bit-packed.
    return mlirTypeIsAFloat(el) || (mlirTypeIsAInteger(el) && mlirIntegerTypeGetWidth(el) >= 8);
}

static MlirWalkResult find_elementwise(MlirOperation op, void *user) {
    RowOps *e = user;
    if (!ir_op_is(op, "linalg.generic") || e->len == 512 || mlirOperationGetNumResults(op) != 1)
        return MlirWalkResultAdvance;
    MlirType out = mlirValueGetType(mlirOperationGetResult(op, 0));
    if (!vector_operand_type(out) || mlirShapedTypeGetRank(out) < 1)
        return MlirWalkResultAdvance;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++)
        if (!vector_operand_type(mlirValueGetType(mlirOperationGetOperand(op, i))))
            return MlirWalkResultAdvance;
    MlirAttribute iters =
        mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("iterator_types"));
    for (intptr_t i = 0; i < mlirArrayAttrGetNumElements(iters); i++) {
        char text[64] = "";
        IRText t = {text, sizeof text, 0};
        mlirAttributePrint(mlirArrayAttrGetElement(iters, i), ir_print_to_text, &t);
        if (!strstr(text, "parallel"))
            return MlirWalkResultAdvance;
    }
    // Every operand read in the loops' order (results: dimensions in increasing order, or a
    // constant 0 of a broadcast size-1 dimension); the output's map the identity.
    MlirAttribute maps = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("indexing_maps"));
    intptr_t nmaps = mlirArrayAttrGetNumElements(maps);
    for (intptr_t i = 0; i < nmaps; i++) {
        MlirAffineMap m = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, i));
        if (i == nmaps - 1 && !mlirAffineMapIsIdentity(m))
            return MlirWalkResultAdvance;
        intptr_t last = -1;
        for (intptr_t r = 0; r < mlirAffineMapGetNumResults(m); r++) {
            MlirAffineExpr x = mlirAffineMapGetResult(m, r);
            if (mlirAffineExprIsAConstant(x) && mlirAffineConstantExprGetValue(x) == 0)
                continue;
            if (!mlirAffineExprIsADim(x) || (intptr_t)mlirAffineDimExprGetPosition(x) <= last)
                return MlirWalkResultAdvance;
            last = (intptr_t)mlirAffineDimExprGetPosition(x);
        }
    }
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
    int nops = 0;
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o), nops++)
        if (!vector_body_op(o) || mlirOperationGetNumRegions(o) != 0)
            return MlirWalkResultAdvance;
    // Row pieces of 4, 2 or 1 vectors when they divide the row; a row of up to 4 vectors, or
    // one not a whole number of vectors up to 1024 elements, whole; else left to LLVM.
    // A stream (a 1-D tile of 16 vectors or more whose body is at most 3 ops and the yield:
    // vector_add, relu) goes one vector at a time: with 4, the loads of a piece come before
    // its stores, and when the arrays are not 64-byte aligned (malloc's 16), so that every
    // vector straddles two cache lines, that ran vector_add at 0.87x the C loop from memory and
    // 0.68x from L2, against 0.97x and 0.91x one vector at a time (the same in C intrinsics:
    // 23 against 27.5 GB/s; aligned, both 28).
    int rank = (int)mlirShapedTypeGetRank(out);
    int64_t n = mlirShapedTypeGetDimSize(out, rank - 1), l = e->lanes, chunk = -1;
    if (rank == 1 && nops <= 4 && n >= 16 * l && n % l == 0)
        chunk = l;
    else if (n <= 4 * l)
        chunk = 0;
    else
        for (int64_t c = 4 * l; c >= l && chunk < 0; c /= 2)
            if (n % c == 0)
                chunk = c;
    if (chunk < 0 && n <= 1024)
        chunk = 0;
    if (chunk < 0)
        return MlirWalkResultAdvance;
    e->items[e->len++] = (RowOp){.op = op, .rank = rank, .chunk = chunk};
    return MlirWalkResultAdvance;
}

// A 2-D f32 transpose (trans(x) of a tile) whose sides are whole vectors: vectorized in blocks
// of lanes x lanes, transposed in registers by shuffles (a 16 x 16 block: 64 shuffles for 16
// vector loads and stores; LLVM's loop vectorizer gathers each column instead).
static MlirWalkResult find_transpose(MlirOperation op, void *user) {
    RowOps *t = user;
    if (!ir_op_is(op, "linalg.transpose") || t->len == 512 || t->lanes != 16)
        return MlirWalkResultAdvance;
    MlirType in = mlirValueGetType(mlirOperationGetOperand(op, 0));
    if (!mlirTypeIsARankedTensor(in) || !mlirShapedTypeHasStaticShape(in) || mlirShapedTypeGetRank(in) != 2 ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(in)) || mlirShapedTypeGetDimSize(in, 0) % t->lanes ||
        mlirShapedTypeGetDimSize(in, 1) % t->lanes)
        return MlirWalkResultAdvance;
    t->items[t->len++] = (RowOp){.op = op, .rank = 2, .chunk = t->lanes};
    return MlirWalkResultAdvance;
}

// The register tile for an m x n accumulator: the schedule's, else the one with the most
// accumulator vectors that fit the register file with room for the operands (FMA latency x
// throughput wants >= 10-16 in flight), then the fewest loads per FMA, then rows that divide m.
// Rows or columns left over (m % rows, n % columns) become a peeled remainder tile, vectorized
// at its own static size. Never larger than the accumulator.
static void register_tile(const Schedule *s, int64_t m, int64_t n, int acc_bits, int *rm, int *rn) {
    int lanes = s->vector_bits / acc_bits;
    int regs = s->vector_bits == 512 ? 32 : 16;
    int cap = s->vector_bits == 512 ? 16 : 12;
    *rm = 1;
    *rn = lanes;
    if (s->reg_m > 0 && s->reg_n > 0) {
        *rm = s->reg_m;
        *rn = s->reg_n;
    } else {
        int best = -1;
        for (int vn = 1; vn <= 2; vn++)
            for (int r = 1; r <= 16; r++) {
                int acc = r * vn;
                if (acc + vn + 1 > regs)  // accumulators + B vectors + one broadcast of A
                    continue;
                int score = (acc > cap ? cap : acc) * 100 - (r + vn) * 100 / acc + (m % r == 0 ? 30 : 0);
                if (score > best) {
                    best = score;
                    *rm = r;
                    *rn = vn * lanes;
                }
            }
    }
    if (*rm > m)
        *rm = (int)m;
    while (*rn > n && *rn > 1)
        *rn = *rn > lanes ? *rn - lanes : *rn / 2;
}

// Tiles op `name` tagged `tag` = i: its outer dimensions by 1, the innermost by `chunk` (0:
// whole), then vectorizes the tile.
static void row_vectorize(Script *sc, const char *name, const char *tag, int i, int rank, int64_t chunk) {
    char sizes[128] = "";
    int len = 0, loops = 0;
    for (int d = 0; d < rank; d++) {
        int64_t t = d < rank - 1 ? 1 : chunk;
        len += snprintf(sizes + len, sizeof sizes - (size_t)len, "%s%lld", d ? ", " : "", (long long)t);
        loops += t != 0;
    }
    add(sc,
        "    %%%s%d = transform.structured.match ops{[\"%s\"]} attributes {tilec.%s = %d : i64} in %%root "
        ": (!transform.any_op) -> !transform.any_op\n",
        tag, i, name, tag, i);
    if (loops) {
        add(sc, "    %%%st%d, %%%sl%d", tag, i, tag, i);
        if (loops > 1)
            add(sc, ":%d", loops);
        add(sc,
            " = transform.structured.tile_using_for %%%s%d tile_sizes [%s] : (!transform.any_op) -> "
            "(!transform.any_op",
            tag, i, sizes);
        for (int l = 0; l < loops; l++)
            add(sc, ", !transform.any_op");
        add(sc, ")\n    transform.structured.vectorize %%%st%d : !transform.any_op\n", tag, i);
    } else {
        add(sc, "    transform.structured.vectorize %%%s%d : !transform.any_op\n", tag, i);
    }
}

// The reductions (vector.multi_reduction, lowered at the end as one vector.reduction per row
// piece of up to 1024 elements) and elementwise ops, vectorized.
static void vector_script(const RowOps *reds, const RowOps *ews, const RowOps *trs, Script *sc) {
    for (int i = 0; i < reds->len; i++)
        row_vectorize(sc, "linalg.reduce", "red", i, reds->items[i].rank, reds->items[i].chunk);
    for (int i = 0; i < ews->len; i++)
        row_vectorize(sc, "linalg.generic", "ew", i, ews->items[i].rank, ews->items[i].chunk);
    for (int i = 0; i < trs->len; i++) {
        int64_t l = trs->items[i].chunk;
        add(sc,
            "    %%tr%d = transform.structured.match ops{[\"linalg.transpose\"]} attributes {tilec.tr = %d : "
            "i64} in %%root : (!transform.any_op) -> !transform.any_op\n"
            "    %%trt%d, %%trl%d:2 = transform.structured.tile_using_for %%tr%d tile_sizes [%lld, %lld] : "
            "(!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)\n"
            "    transform.structured.vectorize %%trt%d : !transform.any_op\n",
            i, i, i, i, i, (long long)l, (long long)l, i);
    }
}

// The register tile of a bf16 dot (bf16dot.c): rows that divide m, columns a multiple of 16
// that divides n (no remainder tiles), the most accumulators up to 24 with room for the B
// vectors and the broadcast A pair, then the fewest loads per vdpbf16ps. The schedule's reg_m
// and reg_n when they qualify.
static void bf16_register_tile(const Schedule *s, const BfDot *d, int *rm, int *rn) {
    if (s->reg_m > 0 && s->reg_n > 0 && d->m % s->reg_m == 0 && s->reg_n % 16 == 0 && d->n % s->reg_n == 0) {
        *rm = s->reg_m, *rn = s->reg_n;
        return;
    }
    int best = -1;
    *rm = 1, *rn = 16;
    for (int vn = 1; vn <= 4; vn++)
        for (int r = 1; r <= 16; r++) {
            int acc = r * vn;
            if (d->m % r || d->n % (16 * vn) || acc > 24 || acc + vn + 1 > 32)
                continue;
            int score = acc * 100 - (r + vn) * 100 / acc;
            if (score > best)
                best = score, *rm = r, *rn = 16 * vn;
        }
}

// bf16 dots: each linalg.contract tagged tilec.bdot = i tiled to its register tile, with a
// reduction loop over pairs of k inside (tilec.kloop, unrolled and hoisted with the others),
// and the register tile to 1 x 16 pieces unrolled in full, vectorized into vector.contract ops
// that x86vector's patterns turn into vdpbf16ps. Each B interleave (tilec.vnni = i) is
// vectorized 32 columns at a time as one shuffle.
static void bf16_script(const Schedule *s, const BfDot *bd, int nbd, Script *sc) {
    for (int i = 0; i < nbd; i++) {
        int rm, rn;
        bf16_register_tile(s, &bd[i], &rm, &rn);
        add(sc,
            "    %%bd%d = transform.structured.match ops{[\"linalg.contract\"]} attributes {tilec.bdot = %d "
            ": "
            "i64} in %%root : (!transform.any_op) -> !transform.any_op\n"
            "    %%bt%d, %%bl%d:3 = transform.structured.tile_using_for %%bd%d tile_sizes [%d, %d, 1, 0] : "
            "(!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, "
            "!transform.any_op)\n"
            "    transform.annotate %%bl%d#2 \"tilec.kloop\" : !transform.any_op\n"
            "    %%bu%d, %%bm%d:2 = transform.structured.tile_using_for %%bt%d tile_sizes [1, 16, 0, 0] : "
            "(!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)\n"
            "    transform.structured.vectorize %%bu%d {create_named_contraction} : !transform.any_op\n",
            i, i, i, i, i, rm, rn, i, i, i, i, i);
        if (rn > 16)
            add(sc, "    transform.loop.unroll %%bm%d#1 {factor = %d} : !transform.any_op\n", i, rn / 16);
        if (rm > 1)
            add(sc, "    transform.loop.unroll %%bm%d#0 {factor = %d} : !transform.any_op\n", i, rm);
        add(sc,
            "    %%bv%d = transform.structured.match ops{[\"linalg.transpose\"]} attributes {tilec.vnni = %d "
            ": "
            "i64} in %%root : (!transform.any_op) -> !transform.any_op\n"
            "    %%bvt%d, %%bvl%d:2 = transform.structured.tile_using_for %%bv%d tile_sizes [1, %d, 0] : "
            "(!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)\n"
            "    transform.structured.vectorize %%bvt%d : !transform.any_op\n",
            i, i, i, i, i, bd[i].n % 32 ? 16 : 32, i);
    }
    if (nbd)
        add(sc, "    transform.apply_patterns to %%root {\n"
                "      transform.apply_patterns.x86vector.vector_contract_to_packed_type_dot_product\n"
                "      transform.apply_patterns.canonicalization\n"
                "    } : !transform.any_op\n"
                "    transform.apply_patterns to %%root {\n"
                "      transform.apply_patterns.vector.cast_away_vector_leading_one_dim\n"
                "      transform.apply_patterns.vector.lower_transpose lowering_strategy = \"shuffle_1d\"\n"
                "      transform.apply_patterns.canonicalization\n"
                "    } : !transform.any_op\n");
}

static void build_script(const Schedule *s, const Dots *dots, const RowOps *reds, const RowOps *ews,
                         const RowOps *trs, const BfDot *bd, int nbd, Script *sc) {
    add(sc,
        "module attributes {transform.with_named_sequence} {\n"
        "  transform.named_sequence @__transform_main(%%root: !transform.any_op {transform.readonly}) {\n");
    bf16_script(s, bd, nbd, sc);
    for (int i = 0; i < dots->len; i++) {
        const Dot *d = &dots->items[i];
        if (!d->fl)
            continue;
        int rm, rn;
        register_tile(s, d->m, d->n, d->acc_bits, &rm, &rn);
        // Loop order of the register tiles: rows outer (an A strip stays in L1 while the B
        // tile streams), or columns outer (s->cols_outer: a B strip stays while A streams).
        bool xchg = s->cols_outer;
        add(sc,
            "    %%mm%d = transform.structured.match ops{[\"linalg.matmul\"]} attributes {tilec.dot = %d : "
            "i64} "
            "in %%root : (!transform.any_op) -> !transform.any_op\n"
            "    %%t%d, %%l%d:3 = transform.structured.tile_using_for %%mm%d tile_sizes [%d, %d, 1]%s : "
            "(!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, "
            "!transform.any_op)\n"
            "    transform.annotate %%l%d#2 \"tilec.kloop\" : !transform.any_op\n"
            "    transform.annotate %%l%d#1 \"tilec.inner%d\" : !transform.any_op\n"
            "    transform.annotate %%l%d#%d \"tilec.rows%d\" : !transform.any_op\n"
            "    transform.annotate %%l%d#%d \"tilec.cols%d\" : !transform.any_op\n",
            i, i, i, i, i, rm, rn, xchg ? " interchange = [1, 0, 2]" : "", i, i, i, i, xchg ? 1 : 0, i, i,
            xchg ? 0 : 1, i);
        // A remainder of the outer loop, then of the inner one (in every copy of it), peeled
        // off so that every tile has a static shape.
        if (xchg ? d->n % rn : d->m % rm)
            add(sc,
                "    %%o%d = transform.cast %%l%d#0 : !transform.any_op to !transform.op<\"scf.for\">\n"
                "    %%om%d, %%or%d = transform.loop.peel %%o%d : (!transform.op<\"scf.for\">) -> "
                "(!transform.any_op, !transform.any_op)\n",
                i, i, i, i, i);
        if (xchg ? d->m % rm : d->n % rn)
            add(sc,
                "    %%in%d = transform.structured.match ops{[\"scf.for\"]} attributes {tilec.inner%d} in "
                "%%root "
                ": (!transform.any_op) -> !transform.op<\"scf.for\">\n"
                "    transform.foreach %%in%d : !transform.op<\"scf.for\"> {\n"
                "    ^bb0(%%loop: !transform.op<\"scf.for\">):\n"
                "      %%pm, %%pr = transform.loop.peel %%loop : (!transform.op<\"scf.for\">) -> "
                "(!transform.any_op, !transform.any_op)\n"
                "    }\n",
                i, i, i);
        add(sc, "    transform.apply_patterns to %%root {\n"
                "      transform.apply_patterns.canonicalization\n"
                "    } : !transform.any_op\n");
        add(sc,
            "    %%v%d = transform.structured.match ops{[\"linalg.matmul\"]} attributes {tilec.dot = %d : "
            "i64} "
            "in %%root : (!transform.any_op) -> !transform.any_op\n"
            "    transform.foreach %%v%d : !transform.any_op {\n"
            "    ^bb0(%%op: !transform.any_op):\n"
            "      transform.structured.vectorize %%op {create_named_contraction} : !transform.any_op\n"
            "    }\n",
            i, i, i);
    }
    vector_script(reds, ews, trs, sc);
    add(sc, "    transform.apply_patterns to %%root {\n"
            "      transform.apply_patterns.canonicalization\n"
            "    } : !transform.any_op\n"
            "    transform.apply_cse to %%root : !transform.any_op\n"
            "    %%loops = transform.structured.match ops{[\"scf.for\"]} in %%root : (!transform.any_op) -> "
            "!transform.any_op\n"
            "    transform.foreach %%loops : !transform.any_op {\n"
            "    ^bb0(%%loop: !transform.any_op):\n"
            "      transform.loop.hoist_loop_invariant_subsets %%loop : !transform.any_op\n"
            "    }\n");
    if (s->unroll_k > 1)
        add(sc,
            "    %%kloops = transform.structured.match ops{[\"scf.for\"]} attributes {tilec.kloop} in %%root "
            ": (!transform.any_op) -> !transform.any_op\n"
            "    transform.foreach %%kloops : !transform.any_op {\n"
            "    ^bb0(%%loop: !transform.any_op):\n"
            "      transform.loop.unroll %%loop {factor = %d} : !transform.any_op\n"
            "    }\n",
            s->unroll_k);
    add(sc,
        "    transform.apply_patterns to %%root {\n"
        "      transform.apply_patterns.vector.lower_contraction lowering_strategy = \"outerproduct\"\n"
        "      transform.apply_patterns.vector.lower_outerproduct\n"
        "      transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = \"innerreduction\"\n"
        "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
        "      transform.apply_patterns.vector.lower_transpose lowering_strategy = \"shuffle_16x16\"\n"
        "      transform.apply_patterns.canonicalization\n"
        "    } : !transform.any_op\n"
        "    transform.yield\n"
        "  }\n"
        "}\n");
}

// Register-tile loops that only compute padding are skipped: a row loop of a dot runs up to its
// A tile's valid rows, a column loop up to its B tile's valid columns (rounded up to the step;
// the accumulator's other rows and columns are never stored). The loops and the padded loads
// were tagged (tilec.rows<i>/cols<i>, tilec.lhs<i>/rhs<i>) before the script ran.
static MlirWalkResult find_tagged(MlirOperation op, void *user) {
    bool want = ir_op_is(op, "scf.for") || ir_op_is(op, "tensor.pad");
    for (intptr_t i = 0; want && i < mlirOperationGetNumDiscardableAttributes(op); i++) {
        MlirStringRef a = mlirIdentifierStr(mlirOperationGetDiscardableAttribute(op, i).name);
        if (a.length >= 10 && !strncmp(a.data, "tilec.", 6) &&
            (!strncmp(a.data + 6, "rows", 4) || !strncmp(a.data + 6, "cols", 4) ||
             !strncmp(a.data + 6, "lhs", 3) || !strncmp(a.data + 6, "rhs", 3))) {
            ir_ops_push(user, op);
            break;
        }
    }
    return MlirWalkResultAdvance;
}

static bool has_attr(MlirOperation op, const char *name) {
    return !mlirAttributeIsNull(
        mlirOperationGetDiscardableAttributeByName(op, mlirStringRefCreateFromCString(name)));
}

static MlirValue index_op(MlirContext ctx, MlirOperation before, const char *name, int n,
                          const MlirValue *ops, MlirAttribute value) {
    MlirLocation loc = mlirOperationGetLocation(before);
    MlirOperationState st = mlirOperationStateGet(mlirStringRefCreateFromCString(name), loc);
    MlirType it = mlirIndexTypeGet(ctx);
    mlirOperationStateAddResults(&st, 1, &it);
    mlirOperationStateAddOperands(&st, n, ops);
    if (!mlirAttributeIsNull(value)) {
        MlirNamedAttribute a =
            mlirNamedAttributeGet(mlirIdentifierGet(ctx, mlirStringRefCreateFromCString("value")), value);
        mlirOperationStateAddAttributes(&st, 1, &a);
    }
    MlirOperation o = mlirOperationCreate(&st);
    mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(before), before, o);
    return mlirOperationGetResult(o, 0);
}

// The padding after dimension k of tensor.pad `pad`, as an index value (built before `before`
// when it is static): the operands are the source, the dynamic lows, then the dynamic highs.
static MlirValue pad_high(MlirContext ctx, MlirOperation before, MlirOperation pad, int k) {
    MlirAttribute lows = mlirOperationGetAttributeByName(pad, ir_str("static_low"));
    MlirAttribute highs = mlirOperationGetAttributeByName(pad, ir_str("static_high"));
    int64_t dyn = mlirShapedTypeGetDynamicSize();
    if (mlirDenseI64ArrayGetElement(highs, k) != dyn)
        return index_op(ctx, before, "arith.constant", 0, NULL,
                        mlirIntegerAttrGet(mlirIndexTypeGet(ctx), mlirDenseI64ArrayGetElement(highs, k)));
    intptr_t at = 1;
    for (intptr_t i = 0; i < mlirDenseArrayGetNumElements(lows); i++)
        at += mlirDenseI64ArrayGetElement(lows, i) == dyn;
    for (intptr_t i = 0; i < k; i++)
        at += mlirDenseI64ArrayGetElement(highs, i) == dyn;
    return mlirOperationGetOperand(pad, at);
}

static void trim_register_loops(MlirContext ctx, MlirModule module, int ndots) {
    IrOps t = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_tagged, &t, MlirWalkPreOrder);
    MlirType it = mlirIndexTypeGet(ctx);
    char name[32];
    for (int i = 0; i < t.len; i++) {
        MlirOperation loop = t.items[i];
        for (int dot = 0; dot < ndots; dot++)
            for (int k = 0; k < 2; k++) {
                snprintf(name, sizeof name, "tilec.%s%d", k ? "cols" : "rows", dot);
                if (!has_attr(loop, name))
                    continue;
                snprintf(name, sizeof name, "tilec.%s%d", k ? "rhs" : "lhs", dot);
                MlirOperation pad = {NULL};
                for (int j = 0; j < t.len && mlirOperationIsNull(pad); j++)
                    if (has_attr(t.items[j], name))
                        pad = t.items[j];
                if (mlirOperationIsNull(pad) || mlirOperationGetBlock(pad).ptr == NULL)
                    continue;
                // ub' = min(ub, ceil(valid / step) * step), valid = the end of the load's part
                // inside: its static size less the padding after (high): an operand, or a
                // constant where the sizes are (--fix).
                MlirValue ub = mlirOperationGetOperand(loop, 1), step = mlirOperationGetOperand(loop, 2);
                MlirType padded = mlirValueGetType(mlirOperationGetResult(pad, 0));
                MlirValue high = pad_high(ctx, loop, pad, k);
                MlirValue size = index_op(ctx, loop, "arith.constant", 0, NULL,
                                          mlirIntegerAttrGet(it, mlirShapedTypeGetDimSize(padded, k)));
                MlirValue valid =
                    index_op(ctx, loop, "arith.subi", 2, (MlirValue[]){size, high}, mlirAttributeGetNull());
                MlirValue one = index_op(ctx, loop, "arith.constant", 0, NULL, mlirIntegerAttrGet(it, 1));
                MlirValue up =
                    index_op(ctx, loop, "arith.subi", 2,
                             (MlirValue[]){index_op(ctx, loop, "arith.addi", 2, (MlirValue[]){valid, step},
                                                    mlirAttributeGetNull()),
                                           one},
                             mlirAttributeGetNull());
                MlirValue q =
                    index_op(ctx, loop, "arith.divui", 2, (MlirValue[]){up, step}, mlirAttributeGetNull());
                MlirValue r =
                    index_op(ctx, loop, "arith.muli", 2, (MlirValue[]){q, step}, mlirAttributeGetNull());
                mlirOperationSetOperand(
                    loop, 1,
                    index_op(ctx, loop, "arith.minui", 2, (MlirValue[]){ub, r}, mlirAttributeGetNull()));
            }
    }
    free(t.items);
}

void schedule_apply(MlirContext ctx, MlirModule module, const Schedule *s) {
    if (!s->vectorize)
        return;
    BfDot bd[64];
    int nbd = s->bf16dot && s->vector_bits == 512 ? x86_bf16_dots(ctx, module, bd, 64) : 0;
    Dots dots = {.len = 0};
    mlirOperationWalk(mlirModuleGetOperation(module), find_dot, &dots, MlirWalkPreOrder);
    MlirType i64 = mlirIntegerTypeGet(ctx, 64);
    for (int i = 0; i < dots.len; i++)
        mlirOperationSetDiscardableAttributeByName(
            dots.items[i].op, mlirStringRefCreateFromCString("tilec.dot"), mlirIntegerAttrGet(i64, i));
    static const char *const row_tags[3] = {"tilec.red", "tilec.ew", "tilec.tr"};
    RowOps rows[3] = {
        {.len = 0}, {.len = 0, .lanes = s->vector_bits / 32}, {.len = 0, .lanes = s->vector_bits / 32}};
    mlirOperationWalk(mlirModuleGetOperation(module), find_reduction, &rows[0], MlirWalkPreOrder);
    mlirOperationWalk(mlirModuleGetOperation(module), find_elementwise, &rows[1], MlirWalkPreOrder);
    mlirOperationWalk(mlirModuleGetOperation(module), find_transpose, &rows[2], MlirWalkPreOrder);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < rows[r].len; i++)
            mlirOperationSetDiscardableAttributeByName(
                rows[r].items[i].op, mlirStringRefCreateFromCString(row_tags[r]), mlirIntegerAttrGet(i64, i));
    Script sc = {0};
    build_script(s, &dots, &rows[0], &rows[1], &rows[2], bd, nbd, &sc);
    char name[32];
    for (int i = 0; i < dots.len; i++) {
        // A's load, directly or through a rank-reducing slice (tilec.lhsview: a tag that
        // trim_register_loops, which needs the pad's dimensions to be the tile's, does not read),
        // and whether the dot is one vector wide (its A may be read in place when packed,
        // backends/x86/inplace.c).
        const Dot *d = &dots.items[i];
        MlirOperation a = mlirOperationIsNull(d->pad[0]) ? d->lhs_view : d->pad[0];
        if (!mlirOperationIsNull(d->lhs_view))
            mlirOperationSetDiscardableAttributeByName(
                d->lhs_view, mlirStringRefCreateFromCString("tilec.lhsview"), mlirUnitAttrGet(ctx));
        if (!mlirOperationIsNull(a) && d->fl && d->n * d->acc_bits <= s->vector_bits)
            mlirOperationSetDiscardableAttributeByName(a, mlirStringRefCreateFromCString("tilec.narrow"),
                                                       mlirUnitAttrGet(ctx));
    }
    for (int i = 0; i < dots.len; i++)
        for (int k = 0; k < 2; k++)
            if (!mlirOperationIsNull(dots.items[i].pad[k])) {
                snprintf(name, sizeof name, "tilec.%s%d", k ? "rhs" : "lhs", i);
                mlirOperationSetDiscardableAttributeByName(
                    dots.items[i].pad[k], mlirStringRefCreateFromCString(name), mlirUnitAttrGet(ctx));
            }
    lower_apply_transform(ctx, module, sc.text, sc.len, "schedule");
    free(sc.text);
    trim_register_loops(ctx, module, dots.len);
    if (!mlirOperationVerify(mlirModuleGetOperation(module)))
        internal_error(__FILE__, __LINE__, "the scheduled module does not verify");
}
