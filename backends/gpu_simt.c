// backends/gpu_simt.c — the tile-level program distributed over a thread block (gpu.h).
//
// The program function (tensor values) is rewritten op by op into a gpu.func whose values are
// what one thread holds: a scalar stays a scalar; a tile becomes either a uniform scalar (a
// splat: every element equal), a lazy description (a slice of a tensor in memory, read only
// when a consumer fixes the layout), or a vector<E> of the E elements the thread owns under a
// Layout. Control flow in a program depends on scalars only, so it is uniform over the block
// and barriers and shuffles may sit anywhere.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/Dialect/LLVM.h"
#include "mlir-c/IR.h"

#include "../lang/diag.h"
#include "../lowering/build.h"
#include "gpu.h"

#define R 4           // the largest tile rank handled
#define MAXE 256      // the most elements of one tile a thread holds
#define MAXVALS 4096  // value map capacity (open addressing, grows)
#define NULL_VALUE ((MlirValue){NULL})

// ================================================================ layouts

// How a tile of `shape` is spread over a block: along dim d each thread holds spt[d] adjacent
// elements; tpw[d] lanes of a warp and wpc[d] warps sit side by side; the whole pattern repeats
// reps[d] times. All are powers of two and spt*tpw*wpc*reps == shape. A thread's coordinate
// along d is (lane >> lane_shift[d]) & (tpw[d]-1) and (warp >> warp_shift[d]) & (wpc[d]-1); lane
// and warp bits no dim uses replicate the tile (those threads hold the same elements).
// A thread's elements are numbered row-major over per-dim digits r in [0, reps*spt): the
// element's position along d is (r / spt) * (spt*tpw*wpc) + base_d + r % spt, with
// base_d = (warp_d * tpw + lane_d) * spt.
// With warp_outer (the mma accumulator), each warp's part is contiguous instead:
// position = warp_d * (spt*tpw*reps) + (r / spt) * (spt*tpw) + lane_d * spt + r % spt.
typedef struct Layout {
    int rank;
    int64_t shape[R];
    int spt[R], tpw[R], wpc[R], reps[R];
    int lane_shift[R], warp_shift[R];
    bool warp_outer;
} Layout;

typedef enum DKind {
    DV_NONE,
    DV_SCALAR,   // v: the value (also used for non-tensor results of any op)
    DV_UNIFORM,  // a tile whose elements all equal scalar v
    DV_DIST,     // v: vector<E> under layout
    DV_EMPTY,    // tensor.empty: only an op's destination
    DV_DESC,     // a memref descriptor being built (llvm.insertvalue chain): ptr, sizes, strides
    DV_MEMREF,   // a memref: ptr, strides[], offs[] (element offsets of a subview, may be null)
    DV_LOAD,     // a slice of a tensor in memory (to_tensor + extract_slice [+ pad]), unread
    DV_SUBTILE,  // tensor.extract_slice of a tile (the part of it a store writes)
} DKind;

typedef struct DVal {
    DKind kind;
    MlirValue v;
    Layout layout;  // DV_DIST
    int rank;       // tensors: rank, static shape and element type
    int64_t shape[R];
    MlirType elem;
    MlirValue ptr;           // DV_DESC, DV_MEMREF, DV_LOAD: the base pointer (ptr<1>)
    MlirValue strides[R];    // i64
    MlirValue offs[R];       // i64: DV_MEMREF subview offsets, DV_LOAD/DV_SUBTILE slice offsets
    MlirValue sizes[R];      // i64: DV_LOAD/DV_SUBTILE: how many elements of the slice are valid
    MlirValue low[R];        // i64: DV_LOAD: padding before (null: none)
    MlirValue pad;           // DV_LOAD: the padding value (null: the slice is statically in bounds)
    const struct DVal *src;  // DV_SUBTILE: the tile
} DVal;

typedef struct MapEntry {
    const void *key;
    DVal *val;
} MapEntry;

// Result layouts of the region ops being converted (for their scf.yield).
typedef struct RegionFrame {
    MlirOperation op;
    int n;
    DVal *results;  // what each result is: kind and layout fixed before the body
} RegionFrame;

typedef struct Gpu {
    IRBuilder b;
    Program *prog;
    const GpuArch *arch;
    const GpuSchedule *sched;
    int nwarps, nthreads;
    MapEntry *map;
    int mapcap, mapn;
    MlirValue lane, warp;     // i64, computed at the kernel's entry
    MlirValue smem;           // !llvm.ptr<3>: where ordinary uses of shared memory start
    MlirValue smem0;          // !llvm.ptr<3>: the dynamic shared memory
    int64_t smem_reserved;    // bytes before smem (a pipelined loop's stage buffers)
    int64_t smem_bytes;       // the most any one use needs (every use ends with a barrier)
    const struct Pipe *pipe;  // the pipelined loop being converted (its dot reads the stages)
    MlirBlock kbody;          // the kernel's body (parameters are added to it for tensor maps)
    GpuKernel *out;
    MlirValue tma_flag;   // the launcher's flag (i32: every tensor map built), once added
    MlirValue pipe_read;  // i64: where the stage of the current iteration starts (elements)
    RegionFrame frames[32];
    int nframes;
    bool failed;
} Gpu;

// ---------------------------------------------------------------- value map

static size_t hash_ptr(const void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull; }

static void map_put(Gpu *g, MlirValue k, DVal *v) {
    if (2 * (g->mapn + 1) > g->mapcap) {
        int cap = g->mapcap ? 2 * g->mapcap : MAXVALS;
        MapEntry *old = g->map;
        int oldcap = g->mapcap;
        g->map = calloc((size_t)cap, sizeof(MapEntry));
        if (!g->map)
            internal_error(__FILE__, __LINE__, "out of memory");
        g->mapcap = cap;
        g->mapn = 0;
        for (int i = 0; i < oldcap; i++)
            if (old[i].key) {
                size_t h = hash_ptr(old[i].key) & (size_t)(cap - 1);
                while (g->map[h].key)
                    h = (h + 1) & (size_t)(cap - 1);
                g->map[h] = old[i];
                g->mapn++;
            }
        free(old);
    }
    size_t h = hash_ptr(k.ptr) & (size_t)(g->mapcap - 1);
    while (g->map[h].key && g->map[h].key != k.ptr)
        h = (h + 1) & (size_t)(g->mapcap - 1);
    if (!g->map[h].key)
        g->mapn++;
    g->map[h] = (MapEntry){k.ptr, v};
}

static DVal *map_get(Gpu *g, MlirValue k) {
    if (!g->mapcap)
        return NULL;
    size_t h = hash_ptr(k.ptr) & (size_t)(g->mapcap - 1);
    while (g->map[h].key) {
        if (g->map[h].key == k.ptr)
            return g->map[h].val;
        h = (h + 1) & (size_t)(g->mapcap - 1);
    }
    return NULL;
}

static DVal *dval_new(DKind kind) {
    DVal *d = ast_alloc(sizeof(DVal));
    d->kind = kind;
    return d;
}

static DVal *scalar_val(MlirValue v) {
    DVal *d = dval_new(DV_SCALAR);
    d->v = v;
    return d;
}

// ---------------------------------------------------------------- errors

// The .tile place of an op, from its location (file:line:col, as emit.c sets it).
static bool span_of(Gpu *g, MlirLocation loc, Span *out) {
    if (mlirAttributeIsNull(mlirLocationGetAttribute(loc)))
        return false;
    MlirIdentifier file = mlirLocationFileLineColRangeGetFilename(loc);
    MlirStringRef path = mlirIdentifierStr(file);
    int line = mlirLocationFileLineColRangeGetStartLine(loc);
    int col = mlirLocationFileLineColRangeGetStartColumn(loc);
    if (line <= 0)
        return false;
    for (int i = 0; i < g->prog->nfiles; i++) {
        const SourceFile *f = g->prog->files[i];
        if (strlen(f->path) != path.length || strncmp(f->path, path.data, path.length))
            continue;
        size_t off = 0;
        for (int l = 1; l < line && off < f->len; off++)
            if (f->text[off] == '\n')
                l++;
        *out =
            (Span){.file = f, .off = (uint32_t)(off + (size_t)col - 1), .len = 1, .line = line, .col = col};
        return true;
    }
    return false;
}

static void unsupported(Gpu *g, MlirOperation o, const char *what) {
    if (g->failed)
        return;
    g->failed = true;
    Span sp;
    MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(o));
    if (span_of(g, mlirOperationGetLocation(o), &sp))
        error_at(sp, "the GPU target does not handle %s yet (%.*s)", what, (int)name.length, name.data);
    else
        error_plain("the GPU target does not handle %s yet (%.*s)", what, (int)name.length, name.data);
}

// ---------------------------------------------------------------- small builders

static MlirType i1t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 1); }
static MlirType i32t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 32); }
static MlirType i64t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 64); }
static MlirType gptr(Gpu *g) { return mlirLLVMPointerTypeGet(g->b.ctx, 1); }
static MlirType vec(MlirType el, int64_t n) { return mlirVectorTypeGet(1, &n, el); }

static MlirValue cint(Gpu *g, int64_t v) { return ir_const_int(&g->b, i64t(g), v); }
static MlirValue bin(Gpu *g, const char *name, MlirValue a, MlirValue b) {
    return ir_binop(&g->b, name, a, b);
}
static MlirValue add(Gpu *g, MlirValue a, MlirValue b) { return bin(g, "arith.addi", a, b); }
static MlirValue mul(Gpu *g, MlirValue a, MlirValue b) { return bin(g, "arith.muli", a, b); }
static MlirValue addc(Gpu *g, MlirValue a, int64_t c) { return c ? add(g, a, cint(g, c)) : a; }

static MlirValue cmp(Gpu *g, int pred, MlirValue a, MlirValue b) {
    MlirType t = i1t(g);
    MlirValue ops[2] = {a, b};
    MlirNamedAttribute p = ir_named(&g->b, "predicate", mlirIntegerAttrGet(i64t(g), pred));
    return mlirOperationGetResult(ir_op(&g->b, "arith.cmpi", 1, &t, 2, ops, 1, &p, 0), 0);
}
enum { CMP_EQ = 0, CMP_NE = 1, CMP_SLT = 2, CMP_SLE = 3, CMP_SGE = 5 };

static MlirValue to_i64(Gpu *g, MlirValue v) {
    MlirType t = mlirValueGetType(v);
    if (mlirTypeIsAIndex(t))
        return ir_op1(&g->b, "arith.index_cast", i64t(g), 1, &v);
    if (mlirTypeIsAInteger(t) && mlirIntegerTypeGetWidth(t) < 64)
        return ir_op1(&g->b, "arith.extui", i64t(g), 1, &v);
    return v;
}

static MlirValue extract(Gpu *g, MlirValue v, int64_t i) {
    MlirType el = mlirShapedTypeGetElementType(mlirValueGetType(v));
    MlirNamedAttribute a = ir_named(&g->b, "static_position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "vector.extract", 1, &el, 1, &v, 1, &a, 0), 0);
}

static MlirValue from_elements(Gpu *g, MlirType el, int n, const MlirValue *xs) {
    return ir_op1(&g->b, "vector.from_elements", vec(el, n), n, xs);
}

static MlirValue splat(Gpu *g, MlirValue s, int64_t n) {
    return ir_op1(&g->b, "vector.broadcast", vec(mlirValueGetType(s), n), 1, &s);
}

static MlirValue shuffle(Gpu *g, MlirValue a, MlirValue b, int n, const int64_t *mask) {
    MlirType el = mlirShapedTypeGetElementType(mlirValueGetType(a));
    MlirValue ops[2] = {a, b};
    MlirNamedAttribute m = ir_named(&g->b, "mask", mlirDenseI64ArrayGet(g->b.ctx, n, mask));
    MlirType rt = vec(el, n);
    return mlirOperationGetResult(ir_op(&g->b, "vector.shuffle", 1, &rt, 2, ops, 1, &m, 0), 0);
}

static int elem_bytes(MlirType t) {
    if (mlirTypeIsAInteger(t))
        return mlirIntegerTypeGetWidth(t) <= 8 ? 1 : (int)mlirIntegerTypeGetWidth(t) / 8;
    if (mlirTypeIsAIndex(t))
        return 8;
    if (mlirTypeIsAF16(t) || mlirTypeIsABF16(t))
        return 2;
    if (mlirTypeIsAF64(t))
        return 8;
    return 4;
}

// &base[idx] for elements of type el (base: any pointer or vector of pointers).
static MlirValue gep(Gpu *g, MlirValue base, MlirValue idx, MlirType el) {
    MlirType bt = mlirValueGetType(base), it = mlirValueGetType(idx);
    MlirType rt = bt;
    if (mlirTypeIsAVector(it) && !mlirTypeIsAVector(bt))
        rt = vec(bt, mlirShapedTypeGetDimSize(it, 0));
    MlirValue ops[2] = {base, idx};
    MlirNamedAttribute attrs[2] = {
        ir_named(&g->b, "rawConstantIndices", mlirDenseI32ArrayGet(g->b.ctx, 1, (int32_t[]){INT32_MIN})),
        ir_named(&g->b, "elem_type", mlirTypeAttrGet(el)),
    };
    return mlirOperationGetResult(ir_op(&g->b, "llvm.getelementptr", 1, &rt, 2, ops, 2, attrs, 0), 0);
}

static MlirValue load(Gpu *g, MlirType t, MlirValue p, int64_t align) {
    MlirNamedAttribute a = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i64t(g), align));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.load", 1, &t, 1, &p, 1, &a, 0), 0);
}

static void store(Gpu *g, MlirValue v, MlirValue p, int64_t align) {
    MlirValue ops[2] = {v, p};
    MlirNamedAttribute a = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i64t(g), align));
    ir_op(&g->b, "llvm.store", 0, NULL, 2, ops, 1, &a, 0);
}

static void barrier(Gpu *g) { ir_op(&g->b, "gpu.barrier", 0, NULL, 0, NULL, 0, NULL, 0); }

// scf.if cond with `nres` results; returns the op; then/else blocks in *then, *els.
static MlirOperation if_op(Gpu *g, MlirValue cond, int nres, const MlirType *res, MlirBlock *then,
                           MlirBlock *els) {
    MlirOperation o = ir_op(&g->b, "scf.if", nres, res, 1, &cond, 0, NULL, 2);
    *then = ir_region_block(&g->b, o, 0, 0, NULL);
    *els = ir_region_block(&g->b, o, 1, 0, NULL);
    return o;
}

static void yield(Gpu *g, MlirBlock blk, int n, const MlirValue *vals) {
    MlirBlock save = g->b.block;
    g->b.block = blk;
    ir_op(&g->b, "scf.yield", 0, NULL, n, vals, 0, NULL, 0);
    g->b.block = save;
}

// ---------------------------------------------------------------- layouts

static int ilog2(int64_t x) {
    int l = 0;
    while ((1ll << l) < x)
        l++;
    return l;
}
static bool pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

// How many of `spt` adjacent elements of `eb` bytes one access moves: at most 16 bytes.
static int vector_run(int spt, int eb) {
    int run = spt;
    while (run * eb > 16)
        run /= 2;
    return run;
}

static int layout_elems(const Layout *L) {
    int n = 1;
    for (int d = 0; d < L->rank; d++)
        n *= L->spt[d] * L->reps[d];
    return n;
}

static bool layout_equal(const Layout *a, const Layout *b) {
    if (a->rank != b->rank || a->warp_outer != b->warp_outer)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != b->shape[d] || a->spt[d] != b->spt[d] || a->tpw[d] != b->tpw[d] ||
            a->wpc[d] != b->wpc[d] || a->reps[d] != b->reps[d] ||
            (a->tpw[d] > 1 && a->lane_shift[d] != b->lane_shift[d]) ||
            (a->wpc[d] > 1 && a->warp_shift[d] != b->warp_shift[d]))
            return false;
    return true;
}

// Fills the lane and warp shifts (the last dim in the lowest bits) and the repeats.
static void layout_finish(Layout *L) {
    int ls = 0, ws = 0;
    for (int d = L->rank - 1; d >= 0; d--) {
        L->lane_shift[d] = ls;
        L->warp_shift[d] = ws;
        ls += ilog2(L->tpw[d]);
        ws += ilog2(L->wpc[d]);
        L->reps[d] = (int)(L->shape[d] / ((int64_t)L->spt[d] * L->tpw[d] * L->wpc[d]));
    }
}

// A blocked layout: `spt` elements per thread along each dim (capped by the shape), then the 32
// lanes from the last dim inwards, then the warps from the first dim outwards (rows apart, so
// that a row's reduction stays within a warp where it can).
static void layout_blocked(Gpu *g, Layout *L, int rank, const int64_t *shape, const int *spt) {
    *L = (Layout){.rank = rank};
    int lanes = 32, warps = g->nwarps;
    for (int d = 0; d < rank; d++) {
        L->shape[d] = shape[d];
        L->spt[d] = (int)(spt[d] < shape[d] ? spt[d] : shape[d]);
        L->tpw[d] = L->wpc[d] = 1;
    }
    for (int d = rank - 1; d >= 0 && lanes > 1; d--) {
        int64_t room = shape[d] / L->spt[d];
        while (lanes > 1 && L->tpw[d] < room) {
            L->tpw[d] *= 2;
            lanes /= 2;
        }
    }
    for (int d = 0; d < rank && warps > 1; d++) {
        int64_t room = shape[d] / ((int64_t)L->spt[d] * L->tpw[d]);
        while (warps > 1 && L->wpc[d] < room) {
            L->wpc[d] *= 2;
            warps /= 2;
        }
    }
    layout_finish(L);
}

// The layout a tile gets when nothing asks for another: 16-byte (vector_bytes) runs along the
// last dim.
static void layout_default(Gpu *g, Layout *L, int rank, const int64_t *shape, MlirType elem) {
    int spt[R] = {1, 1, 1, 1};
    if (rank > 0) {
        int v = g->sched->vector_bytes / elem_bytes(elem);
        spt[rank - 1] = v > 0 ? v : 1;
    }
    layout_blocked(g, L, rank, shape, spt);
}

// The accumulator layout of the FMA dot: dot_rows x dot_cols per thread, lanes 4 x 8.
static void layout_dot(Gpu *g, Layout *L, const int64_t *shape) {
    int spt[2] = {g->sched->dot_rows, g->sched->dot_cols};
    layout_blocked(g, L, 2, shape, spt);
}

// Whether a dot (linalg.matmul) runs on tensor cores: mma.sync m16n8k16, f16 or bf16 operands
// with an f32 accumulator, sm_80 and later, tiles in whole mma steps.
// A dot operand, seen through the arith.extf that widens f16/bf16 tiles to the accumulator's
// type (tensor cores take the narrow values).
static MlirValue dot_operand(MlirOperation mm, int i) {
    MlirValue v = mlirOperationGetOperand(mm, i);
    if (mlirValueIsAOpResult(v) && ir_op_is(mlirOpResultGetOwner(v), "arith.extf"))
        return mlirOperationGetOperand(mlirOpResultGetOwner(v), 0);
    return v;
}

static bool dot_uses_mma(Gpu *g, MlirOperation mm);

// Whether `o` (an arith.extf) widens operands of tensor-core dots only, which take the narrow
// values: nothing to convert.
static bool widens_mma_operands_only(Gpu *g, MlirOperation o) {
    MlirValue r = mlirOperationGetResult(o, 0);
    MlirOpOperand u = mlirValueGetFirstUse(r);
    if (mlirOpOperandIsNull(u))
        return false;
    for (; !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
        MlirOperation user = mlirOpOperandGetOwner(u);
        if (!ir_op_is(user, "linalg.matmul") || mlirOpOperandGetOperandNumber(u) > 1 ||
            !dot_uses_mma(g, user))
            return false;
    }
    return true;
}

static bool dot_uses_mma(Gpu *g, MlirOperation mm) {
    if (!g->sched->tensor_cores || g->arch->sm < 80)
        return false;
    MlirType at = mlirValueGetType(dot_operand(mm, 0));
    MlirType bt = mlirValueGetType(dot_operand(mm, 1));
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    MlirType ae = mlirShapedTypeGetElementType(at), be = mlirShapedTypeGetElementType(bt);
    if (!((mlirTypeIsAF16(ae) && mlirTypeIsAF16(be)) || (mlirTypeIsABF16(ae) && mlirTypeIsABF16(be))) ||
        !mlirTypeIsAF32(mlirShapedTypeGetElementType(ct)))
        return false;
    int64_t M = mlirShapedTypeGetDimSize(ct, 0), N = mlirShapedTypeGetDimSize(ct, 1);
    int64_t K = mlirShapedTypeGetDimSize(at, 1);
    return M % 16 == 0 && N % 8 == 0 && K % 16 == 0;
}

// Whether a tensor-core dot runs as wgmma (sm_90a) when its loop is pipelined: A's rows are
// one swizzle atom of K (64 elements: 128-byte swizzle, or 32: 64-byte), B is whole 64-column
// atoms (N-major, 128-byte swizzle) and at most 256 columns (one wgmma's n), and each warp
// takes 16 rows (a warpgroup of 4 warps, m64).
static bool dot_uses_wgmma(Gpu *g, MlirOperation mm) {
    size_t n = strlen(g->arch->name);
    if (!g->sched->wgmma || g->arch->sm != 90 || !n || g->arch->name[n - 1] != 'a' || !dot_uses_mma(g, mm))
        return false;
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    int64_t M = mlirShapedTypeGetDimSize(ct, 0), N = mlirShapedTypeGetDimSize(ct, 1);
    for (int i = 0; i < 2; i++) {  // slices of tensors in memory (what a pipelined loop copies)
        MlirValue v = dot_operand(mm, i);
        if (!mlirValueIsAOpResult(v))
            return false;
        MlirOperation def = mlirOpResultGetOwner(v);
        if (!ir_op_is(def, "tensor.pad") && !ir_op_is(def, "tensor.extract_slice") &&
            !ir_op_is(def, "tensor.collapse_shape"))
            return false;
    }
    int64_t K = mlirShapedTypeGetDimSize(mlirValueGetType(dot_operand(mm, 0)), 1);
    return (K == 64 || K == 32) && N % 64 == 0 && N <= 256 && g->nwarps % 4 == 0 && M == 16 * g->nwarps;
}

// The mma.sync accumulator: warps split the tile into wm x wn contiguous parts; within a
// warp's part, m16n8 tiles, where lane l holds rows l/4 and l/4 + 8, columns 2(l%4) and +1.
// For wgmma, 16 whole rows per warp (wm = warps, wn = 1): the same per-warp pattern as
// wgmma's m64nN accumulator, so that both paths share it.
static void layout_mma(Gpu *g, Layout *L, const int64_t *shape, bool wgmma) {
    int wm = wgmma ? g->nwarps : 1, wn = 1;
    while (!wgmma && wm * wn < g->nwarps) {
        if (shape[0] / (wm * 2) >= 16 && (shape[0] / wm >= shape[1] / wn || shape[1] / (wn * 2) < 8))
            wm *= 2;
        else if (shape[1] / (wn * 2) >= 8)
            wn *= 2;
        else
            break;
    }
    *L = (Layout){.rank = 2, .warp_outer = true};
    L->shape[0] = shape[0], L->shape[1] = shape[1];
    L->spt[0] = 1, L->tpw[0] = 8, L->lane_shift[0] = 2, L->wpc[0] = wm, L->warp_shift[0] = ilog2(wn);
    L->spt[1] = 2, L->tpw[1] = 4, L->lane_shift[1] = 0, L->wpc[1] = wn, L->warp_shift[1] = 0;
    L->reps[0] = (int)(shape[0] / (8 * wm));
    L->reps[1] = (int)(shape[1] / (8 * wn));
}

static void layout_for_dot(Gpu *g, MlirOperation mm, Layout *L) {
    int64_t shape[2];
    MlirType ct = mlirValueGetType(mlirOperationGetOperand(mm, 2));
    shape[0] = mlirShapedTypeGetDimSize(ct, 0), shape[1] = mlirShapedTypeGetDimSize(ct, 1);
    if (dot_uses_mma(g, mm))
        layout_mma(g, L, shape, dot_uses_wgmma(g, mm));
    else
        layout_dot(g, L, shape);
}

// Lane and warp bits that some dim uses (the others replicate).
static void layout_masks(const Layout *L, int64_t *lane_mask, int64_t *warp_mask) {
    *lane_mask = *warp_mask = 0;
    for (int d = 0; d < L->rank; d++) {
        *lane_mask |= (int64_t)(L->tpw[d] - 1) << L->lane_shift[d];
        *warp_mask |= (int64_t)(L->wpc[d] - 1) << L->warp_shift[d];
    }
}

// Per-dim digits of element e.
static void layout_digits(const Layout *L, int e, int *r) {
    for (int d = L->rank - 1; d >= 0; d--) {
        int radix = L->reps[d] * L->spt[d];
        r[d] = e % radix;
        e /= radix;
    }
}

static int64_t digit_offset(const Layout *L, int d, int r) {
    if (L->warp_outer)
        return (int64_t)(r / L->spt[d]) * L->spt[d] * L->tpw[d] + r % L->spt[d];
    return (int64_t)(r / L->spt[d]) * L->spt[d] * L->tpw[d] * L->wpc[d] + r % L->spt[d];
}

// base_d of this thread (i64).
static void layout_base(Gpu *g, const Layout *L, MlirValue *base) {
    for (int d = 0; d < L->rank; d++) {
        MlirValue ld = cint(g, 0), wd = cint(g, 0);
        if (L->tpw[d] > 1)
            ld = bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, L->lane_shift[d])),
                     cint(g, L->tpw[d] - 1));
        if (L->wpc[d] > 1)
            wd = bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, L->warp_shift[d])),
                     cint(g, L->wpc[d] - 1));
        if (L->warp_outer)
            base[d] = add(g, mul(g, wd, cint(g, (int64_t)L->spt[d] * L->tpw[d] * L->reps[d])),
                          mul(g, ld, cint(g, L->spt[d])));
        else
            base[d] = mul(g, add(g, mul(g, wd, cint(g, L->tpw[d])), ld), cint(g, L->spt[d]));
    }
}

// Whether this thread is the first of the threads holding the same elements (i1).
static MlirValue layout_owner(Gpu *g, const Layout *L) {
    int64_t lm, wm;
    layout_masks(L, &lm, &wm);
    MlirValue z = cint(g, 0);
    MlirValue a = cmp(g, CMP_EQ, bin(g, "arith.andi", g->lane, cint(g, ~lm & 31)), z);
    MlirValue b = cmp(g, CMP_EQ, bin(g, "arith.andi", g->warp, cint(g, ~wm & (g->nwarps - 1))), z);
    return bin(g, "arith.andi", a, b);
}

// ---------------------------------------------------------------- tensors and types

static bool tensor_info(MlirType t, int *rank, int64_t *shape, MlirType *elem) {
    if (!mlirTypeIsARankedTensor(t))
        return false;
    *rank = (int)mlirShapedTypeGetRank(t);
    *elem = mlirShapedTypeGetElementType(t);
    for (int d = 0; d < *rank; d++)
        shape[d] = mlirShapedTypeGetDimSize(t, d);
    return true;
}

static DVal *dist_val(const Layout *L, MlirValue v, MlirType elem) {
    DVal *d = dval_new(DV_DIST);
    d->layout = *L;
    d->rank = L->rank;
    memcpy(d->shape, L->shape, sizeof d->shape);
    d->elem = elem;
    d->v = v;
    return d;
}

static DVal *uniform_val(MlirValue s, int rank, const int64_t *shape) {
    DVal *d = dval_new(DV_UNIFORM);
    d->v = s;
    d->rank = rank;
    memcpy(d->shape, shape, sizeof(int64_t) * (size_t)rank);
    d->elem = mlirValueGetType(s);
    return d;
}

// ---------------------------------------------------------------- shared memory

static MlirValue smem_at(Gpu *g, MlirValue idx, MlirType el) { return gep(g, g->smem, idx, el); }

static void smem_need(Gpu *g, int64_t bytes) {
    bytes += g->smem_reserved;
    if (bytes > g->smem_bytes)
        g->smem_bytes = bytes;
}

// Writes a distributed tile to shared memory, element (p0, ..., pn) at sum(p_d * stride_d);
// only the owning copy of replicated elements writes.
static void smem_write(Gpu *g, const DVal *x, const int64_t *stride, MlirValue at) {
    const Layout *L = &x->layout;
    int E = layout_elems(L);
    MlirValue base[R];
    layout_base(g, L, base);
    MlirValue tb = at;
    for (int d = 0; d < L->rank; d++)
        tb = add(g, tb, mul(g, base[d], cint(g, stride[d])));
    MlirBlock then, els;
    if_op(g, layout_owner(g, L), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    MlirBlock save = g->b.block;
    g->b.block = then;
    int eb = elem_bytes(x->elem);
    int run = vector_run(L->rank && stride[L->rank - 1] == 1 ? L->spt[L->rank - 1] : 1, eb);
    for (int e = 0; e < E; e += run) {
        int r[R];
        layout_digits(L, e, r);
        int64_t off = 0;
        for (int d = 0; d < L->rank; d++)
            off += digit_offset(L, d, r[d]) * stride[d];
        MlirValue p = smem_at(g, addc(g, tb, off), x->elem);
        if (run == 1) {
            store(g, extract(g, x->v, e), p, eb);
        } else {
            int64_t mask[16];
            for (int i = 0; i < run; i++)
                mask[i] = e + i;
            store(g, shuffle(g, x->v, x->v, run, mask), p, (int64_t)eb * run);
        }
    }
    yield(g, then, 0, NULL);
    g->b.block = save;
}

// Reads a tile in layout L from shared memory: element at sum(p_d * stride_d) (a stride of 0
// broadcasts along that dim).
static MlirValue smem_read(Gpu *g, const Layout *L, MlirType elem, const int64_t *stride, MlirValue at) {
    int E = layout_elems(L);
    MlirValue base[R];
    layout_base(g, L, base);
    MlirValue tb = at;
    for (int d = 0; d < L->rank; d++)
        if (stride[d])
            tb = add(g, tb, mul(g, base[d], cint(g, stride[d])));
    int eb = elem_bytes(elem);
    int run = vector_run(L->rank && stride[L->rank - 1] == 1 ? L->spt[L->rank - 1] : 1, eb);
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e += run) {
        int r[R];
        layout_digits(L, e, r);
        int64_t off = 0;
        for (int d = 0; d < L->rank; d++)
            off += digit_offset(L, d, r[d]) * stride[d];
        MlirValue p = smem_at(g, addc(g, tb, off), elem);
        if (run == 1) {
            xs[e] = load(g, elem, p, eb);
        } else {
            MlirValue v = load(g, vec(elem, run), p, (int64_t)eb * run);
            for (int i = 0; i < run; i++)
                xs[e + i] = extract(g, v, i);
        }
    }
    MlirValue v = from_elements(g, elem, E, xs);
    free(xs);
    return v;
}

static void row_major(int rank, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
}

// ---------------------------------------------------------------- materializing tiles

static MlirValue materialize(Gpu *g, MlirOperation at, const DVal *x, const Layout *L);

// Whether position q (relative to the slice's start) along dim d is inside slice x (i1).
static MlirValue in_slice(Gpu *g, const DVal *x, int d, MlirValue q) {
    MlirValue ok = cmp(g, CMP_SLT, q, x->sizes[d]);
    if (x->low[d].ptr)
        ok = bin(g, "arith.andi", ok, cmp(g, CMP_SGE, q, cint(g, 0)));
    return ok;
}

// A slice of a tensor in memory read in layout L: per run of adjacent elements along the last
// dim, one vector load when the run is in bounds, contiguous and aligned, else a masked gather
// (elements outside the slice read the padding value).
static MlirValue load_tile(Gpu *g, const DVal *x, const Layout *L) {
    int E = layout_elems(L), rank = L->rank;
    MlirType el = x->elem;
    int eb = elem_bytes(el);
    MlirValue base[R];
    layout_base(g, L, base);
    for (int d = 0; d < rank; d++)
        if (x->shape[d] < 0)
            internal_error(__FILE__, __LINE__, "GPU back end: a slice of unknown shape read whole");
    int run = vector_run(rank ? L->spt[rank - 1] : 1, eb);
    MlirValue last_stride = rank ? x->strides[rank - 1] : cint(g, 1);
    MlirValue unit = cmp(g, CMP_EQ, last_stride, cint(g, 1));
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    MlirValue zero = cint(g, 0);
    for (int e = 0; e < E; e += run) {
        int r[R];
        layout_digits(L, e, r);
        // p_d: the element's position in the tile; q_d = p_d - low_d: in the slice. `rest`:
        // the dims before the last are in the slice (the same for the whole run).
        MlirValue rest = ir_const_int(&g->b, i1t(g), 1), idx = zero, q_last = zero;
        for (int d = 0; d < rank; d++) {
            MlirValue p = addc(g, base[d], digit_offset(L, d, r[d]));
            MlirValue q = x->low[d].ptr ? bin(g, "arith.subi", p, x->low[d]) : p;
            if (d == rank - 1)
                q_last = q;
            else if (x->pad.ptr)
                rest = bin(g, "arith.andi", rest, in_slice(g, x, d, q));
            idx = add(g, idx, mul(g, add(g, x->offs[d], q), x->strides[d]));
        }
        MlirValue inb = rest;
        if (x->pad.ptr && rank)
            inb = bin(g, "arith.andi", rest,
                      bin(g, "arith.andi", in_slice(g, x, rank - 1, q_last),
                          in_slice(g, x, rank - 1, addc(g, q_last, run - 1))));
        MlirValue p = gep(g, x->ptr, idx, el);
        MlirType vt = vec(el, run);
        MlirValue v;
        if (run == 1 && !x->pad.ptr) {
            v = splat(g, load(g, el, p, eb), 1);
        } else {
            // The fast path: in bounds, unit stride, aligned.
            MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
            MlirValue aligned =
                cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, (int64_t)run * eb - 1)), zero);
            MlirValue fast = bin(g, "arith.andi", inb, bin(g, "arith.andi", unit, aligned));
            MlirBlock then, els;
            MlirOperation iff = if_op(g, fast, 1, &vt, &then, &els);
            MlirBlock save = g->b.block;
            g->b.block = then;
            MlirValue fv = load(g, vt, p, (int64_t)run * eb);
            yield(g, then, 1, &fv);
            g->b.block = els;
            // Element i of the run: in bounds on its own, at idx + i * last_stride.
            MlirValue iota[16], ok[16];
            for (int i = 0; i < run; i++) {
                iota[i] = mul(g, cint(g, i), last_stride);
                ok[i] = x->pad.ptr && rank
                            ? bin(g, "arith.andi", rest, in_slice(g, x, rank - 1, addc(g, q_last, i)))
                            : ir_const_int(&g->b, i1t(g), 1);
            }
            MlirValue ptrs = gep(g, p, from_elements(g, i64t(g), run, iota), el);
            MlirValue mask = from_elements(g, i1t(g), run, ok);
            MlirValue pass =
                x->pad.ptr ? splat(g, x->pad, run) : ir_op1(&g->b, "llvm.mlir.poison", vt, 0, NULL);
            MlirValue gops[3] = {ptrs, mask, pass};
            MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), eb));
            MlirValue sv = mlirOperationGetResult(
                ir_op(&g->b, "llvm.intr.masked.gather", 1, &vt, 3, gops, 1, &al, 0), 0);
            yield(g, els, 1, &sv);
            g->b.block = save;
            v = mlirOperationGetResult(iff, 0);
        }
        for (int i = 0; i < run; i++)
            xs[e + i] = extract(g, v, i);
    }
    MlirValue v = from_elements(g, el, E, xs);
    free(xs);
    return v;
}

// Converts a distributed tile to layout L through shared memory. Every use of shared memory
// ends with a barrier, so the next one may start writing at once.
static MlirValue convert_layout(Gpu *g, const DVal *x, const Layout *L) {
    int64_t stride[R];
    row_major(x->rank, x->shape, stride);
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        n *= x->shape[d];
    smem_need(g, n * elem_bytes(x->elem));
    smem_write(g, x, stride, cint(g, 0));
    barrier(g);
    // L may have a different shape of the same elements (a reshape): read row-major.
    int64_t lstride[R];
    row_major(L->rank, L->shape, lstride);
    MlirValue v = smem_read(g, L, x->elem, lstride, cint(g, 0));
    barrier(g);
    return v;
}

// `x` (a tile of rank x->rank) broadcast to layout L: dims[i] is the dim of L that x's dim i
// runs along (-1: a dim of size 1); L's other dims repeat it. Free when x's layout is L without those dims (a
// reduction's result): a shuffle of the thread's own elements. Else through shared memory.
static MlirValue broadcast_to(Gpu *g, MlirOperation at, const DVal *x, const Layout *L, const int *dims) {
    int E = layout_elems(L);
    if (x->kind == DV_UNIFORM)
        return splat(g, x->v, E);
    Layout want = {.rank = x->rank, .warp_outer = L->warp_outer};
    for (int i = 0; i < x->rank; i++) {
        int d = dims[i];
        if (d < 0) {  // a unit dim of x
            want.shape[i] = want.spt[i] = want.tpw[i] = want.wpc[i] = want.reps[i] = 1;
            continue;
        }
        want.shape[i] = L->shape[d];
        want.spt[i] = L->spt[d];
        want.tpw[i] = L->tpw[d];
        want.wpc[i] = L->wpc[d];
        want.reps[i] = L->reps[d];
        want.lane_shift[i] = L->lane_shift[d];
        want.warp_shift[i] = L->warp_shift[d];
    }
    MlirValue src = materialize(g, at, x, &want);
    if (g->failed)
        return src;
    int64_t *mask = malloc(sizeof(int64_t) * (size_t)E);
    for (int e = 0; e < E; e++) {
        int r[R], rr[R];
        layout_digits(L, e, r);
        for (int i = 0; i < x->rank; i++)
            rr[i] = dims[i] < 0 ? 0 : r[dims[i]];
        int64_t idx = 0;
        for (int i = 0; i < x->rank; i++)
            idx = idx * (want.reps[i] * want.spt[i]) + rr[i];
        mask[e] = idx;
    }
    MlirValue v = shuffle(g, src, src, E, mask);
    free(mask);
    return v;
}

// The per-thread vector<E> of tile x in layout L (L's shape has x's elements).
static MlirValue materialize(Gpu *g, MlirOperation at, const DVal *x, const Layout *L) {
    int E = layout_elems(L);
    switch (x->kind) {
    case DV_UNIFORM: return splat(g, x->v, E);
    case DV_LOAD: return load_tile(g, x, L);
    case DV_DIST: {
        if (layout_equal(&x->layout, L))
            return x->v;
        // Only unit dims added or removed: the same elements in the same order.
        Layout a = x->layout, b = *L;
        int na = 0, nb = 0;
        for (int d = 0; d < a.rank; d++)
            if (a.shape[d] != 1)
                a.shape[na] = a.shape[d], a.spt[na] = a.spt[d], a.tpw[na] = a.tpw[d], a.wpc[na] = a.wpc[d],
                a.reps[na] = a.reps[d], a.lane_shift[na] = a.lane_shift[d],
                a.warp_shift[na++] = a.warp_shift[d];
        for (int d = 0; d < b.rank; d++)
            if (b.shape[d] != 1)
                b.shape[nb] = b.shape[d], b.spt[nb] = b.spt[d], b.tpw[nb] = b.tpw[d], b.wpc[nb] = b.wpc[d],
                b.reps[nb] = b.reps[d], b.lane_shift[nb] = b.lane_shift[d],
                b.warp_shift[nb++] = b.warp_shift[d];
        a.rank = na;
        b.rank = nb;
        if (layout_equal(&a, &b))
            return x->v;
        return convert_layout(g, x, L);
    }
    default: break;
    }
    unsupported(g, at, "this use of a tile");
    return x->v;
}

// The layout a value has, or would get by default.
static void natural_layout(Gpu *g, const DVal *x, Layout *L) {
    if (x->kind == DV_DIST)
        *L = x->layout;
    else
        layout_default(g, L, x->rank, x->shape, x->elem);
}

// ---------------------------------------------------------------- stores

// Writes tile `x` (a DV_SUBTILE of a tile, or a whole tile) into memref `m`: tile element p goes
// to m[moffs + p - toffs] when toffs <= p < toffs + sizes.
static void store_tile(Gpu *g, MlirOperation at, const DVal *x, const DVal *m) {
    const DVal *t = x->kind == DV_SUBTILE ? x->src : x;
    Layout L;
    natural_layout(g, t, &L);
    MlirValue v = materialize(g, at, t, &L);
    if (g->failed)
        return;
    int E = layout_elems(&L), rank = L.rank;
    MlirType el = t->elem;
    int eb = elem_bytes(el);
    MlirValue base[R];
    layout_base(g, &L, base);
    MlirValue zero = cint(g, 0);
    MlirValue owner = layout_owner(g, &L);
    int run = vector_run(rank ? L.spt[rank - 1] : 1, eb);
    MlirValue last_stride = rank ? m->strides[rank - 1] : cint(g, 1);
    MlirValue unit = cmp(g, CMP_EQ, last_stride, cint(g, 1));
    for (int e = 0; e < E; e += run) {
        int r[R];
        layout_digits(&L, e, r);
        MlirValue ok_rest = owner, idx = zero, q_last = zero;
        for (int d = 0; d < rank; d++) {
            MlirValue p = addc(g, base[d], digit_offset(&L, d, r[d]));
            MlirValue q = p;
            if (x->kind == DV_SUBTILE) {
                q = bin(g, "arith.subi", p, x->offs[d]);
                if (d < rank - 1)
                    ok_rest =
                        bin(g, "arith.andi", ok_rest,
                            bin(g, "arith.andi", cmp(g, CMP_SGE, q, zero), cmp(g, CMP_SLT, q, x->sizes[d])));
            }
            if (d == rank - 1)
                q_last = q;
            MlirValue o = m->offs[d].ptr ? add(g, m->offs[d], q) : q;
            idx = add(g, idx, mul(g, o, m->strides[d]));
        }
        MlirValue p = gep(g, m->ptr, idx, el);
        MlirValue ok[16], iota[16];
        for (int i = 0; i < run; i++) {
            MlirValue qi = addc(g, q_last, i);
            ok[i] = ok_rest;
            if (x->kind == DV_SUBTILE && rank)
                ok[i] = bin(
                    g, "arith.andi", ok_rest,
                    bin(g, "arith.andi", cmp(g, CMP_SGE, qi, zero), cmp(g, CMP_SLT, qi, x->sizes[rank - 1])));
            iota[i] = mul(g, cint(g, i), last_stride);
        }
        int64_t mask[16];
        for (int i = 0; i < run; i++)
            mask[i] = e + i;
        MlirValue part = run == E ? v : shuffle(g, v, v, run, mask);
        MlirValue all = bin(g, "arith.andi", ok[0], ok[run - 1]);
        MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
        MlirValue aligned = cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, (int64_t)run * eb - 1)), zero);
        MlirValue fast = bin(g, "arith.andi", all, bin(g, "arith.andi", unit, aligned));
        MlirBlock then, els;
        if_op(g, fast, 0, NULL, &then, &els);
        MlirBlock save = g->b.block;
        g->b.block = then;
        if (run == 1)
            store(g, extract(g, part, 0), p, eb);
        else
            store(g, part, p, (int64_t)run * eb);
        yield(g, then, 0, NULL);
        g->b.block = els;
        MlirValue ptrs = gep(g, p, from_elements(g, i64t(g), run, iota), el);
        MlirValue sops[3] = {part, ptrs, from_elements(g, i1t(g), run, ok)};
        MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), eb));
        ir_op(&g->b, "llvm.intr.masked.scatter", 0, NULL, 3, sops, 1, &al, 0);
        yield(g, els, 0, NULL);
        g->b.block = save;
    }
}

// ---------------------------------------------------------------- reductions

// The binary op of a linalg.reduce body: one op of (in, init), then linalg.yield.
static MlirOperation combiner(MlirOperation red) {
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(red, 0));
    MlirOperation first = mlirBlockGetFirstOperation(body);
    if (mlirOperationIsNull(first) || mlirOperationGetNumOperands(first) != 2)
        return (MlirOperation){NULL};
    MlirOperation next = mlirOperationGetNextInBlock(first);
    if (mlirOperationIsNull(next) || !ir_op_is(next, "linalg.yield"))
        return (MlirOperation){NULL};
    return first;
}

// comb(a, b) with the combiner's op name and attributes, on scalars or vectors.
static MlirValue combine(Gpu *g, MlirOperation comb, MlirValue a, MlirValue b) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(comb));
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    int na = (int)mlirOperationGetNumAttributes(comb);
    MlirNamedAttribute attrs[8];
    for (int i = 0; i < na && i < 8; i++)
        attrs[i] = mlirOperationGetAttribute(comb, i);
    MlirValue ops[2] = {a, b};
    MlirType t = mlirValueGetType(a);
    return mlirOperationGetResult(ir_op(&g->b, name, 1, &t, 2, ops, na < 8 ? na : 8, attrs, 0), 0);
}

static MlirValue shuffle_xor(Gpu *g, MlirValue v, int offset) {
    MlirType t = mlirValueGetType(v);
    MlirType res[2] = {t, i1t(g)};
    MlirValue ops[3] = {v, ir_const_int(&g->b, i32t(g), offset), ir_const_int(&g->b, i32t(g), 32)};
    MlirNamedAttribute mode =
        ir_named(&g->b, "mode", mlirAttributeParseGet(g->b.ctx, ir_str("#gpu<shuffle_mode xor>")));
    return mlirOperationGetResult(ir_op(&g->b, "gpu.shuffle", 2, res, 3, ops, 1, &mode, 0), 0);
}

// Reduces dim `rd` of distributed tile x: within each thread, then across the lanes along rd
// (xor shuffles), then across the warps along rd (shared memory). The result is laid out as
// x's layout without rd: each thread holds the results for its own positions in the other dims.
static DVal *reduce_dim(Gpu *g, MlirOperation at, MlirOperation comb, const DVal *x, int rd) {
    const Layout *L = &x->layout;
    Layout O = {.rank = L->rank - 1, .warp_outer = L->warp_outer};
    for (int d = 0, o = 0; d < L->rank; d++) {
        if (d == rd)
            continue;
        O.shape[o] = L->shape[d], O.spt[o] = L->spt[d], O.tpw[o] = L->tpw[d], O.wpc[o] = L->wpc[d];
        O.reps[o] = L->reps[d], O.lane_shift[o] = L->lane_shift[d], O.warp_shift[o++] = L->warp_shift[d];
    }
    int E = layout_elems(L), EO = layout_elems(&O);
    int bits = mlirTypeIsAInteger(x->elem) ? (int)mlirIntegerTypeGetWidth(x->elem) : elem_bytes(x->elem) * 8;
    if (bits != 32 && bits != 64) {
        unsupported(g, at, "reductions of 8- and 16-bit tiles");
        return NULL;
    }
    MlirValue *acc = calloc((size_t)EO, sizeof(MlirValue));
    for (int e = 0; e < E; e++) {
        int r[R], ro[R];
        layout_digits(L, e, r);
        int64_t eo = 0;
        for (int d = 0, o = 0; d < L->rank; d++)
            if (d != rd)
                ro[o++] = r[d];
        for (int o = 0; o < O.rank; o++)
            eo = eo * (O.reps[o] * O.spt[o]) + ro[o];
        MlirValue s = extract(g, x->v, e);
        acc[eo] = acc[eo].ptr ? combine(g, comb, acc[eo], s) : s;
    }
    for (int bit = 0; bit < ilog2(L->tpw[rd]); bit++)
        for (int eo = 0; eo < EO; eo++)
            acc[eo] = combine(g, comb, acc[eo], shuffle_xor(g, acc[eo], 1 << (L->lane_shift[rd] + bit)));
    if (L->wpc[rd] > 1) {
        // Warp w along rd writes its partials at [w][position in the result], row-major.
        int64_t n = 1, ostride[R];
        for (int o = 0; o < O.rank; o++)
            n *= O.shape[o];
        row_major(O.rank, O.shape, ostride);
        smem_need(g, n * L->wpc[rd] * elem_bytes(x->elem));
        MlirValue base[R];
        layout_base(g, &O, base);
        MlirValue tb = cint(g, 0);
        for (int o = 0; o < O.rank; o++)
            tb = add(g, tb, mul(g, base[o], cint(g, ostride[o])));
        MlirValue wd = bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, L->warp_shift[rd])),
                           cint(g, L->wpc[rd] - 1));
        MlirValue lane_d = cint(g, 0);
        if (L->tpw[rd] > 1)
            lane_d = bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, L->lane_shift[rd])),
                         cint(g, L->tpw[rd] - 1));
        // One writer per result element and warp along rd: lane 0 along rd, no replica bits.
        int64_t lm, wm;
        layout_masks(L, &lm, &wm);
        MlirValue z = cint(g, 0);
        MlirValue writer =
            bin(g, "arith.andi", cmp(g, CMP_EQ, bin(g, "arith.andi", g->lane, cint(g, ~lm & 31)), z),
                cmp(g, CMP_EQ, lane_d, z));
        writer = bin(g, "arith.andi", writer,
                     cmp(g, CMP_EQ, bin(g, "arith.andi", g->warp, cint(g, ~wm & (g->nwarps - 1))), z));
        MlirValue wbase = add(g, tb, mul(g, wd, cint(g, n)));
        MlirBlock then, els;
        if_op(g, writer, 0, NULL, &then, &els);
        yield(g, els, 0, NULL);
        MlirBlock save = g->b.block;
        g->b.block = then;
        for (int eo = 0; eo < EO; eo++) {
            int r[R];
            layout_digits(&O, eo, r);
            int64_t off = 0;
            for (int o = 0; o < O.rank; o++)
                off += digit_offset(&O, o, r[o]) * ostride[o];
            store(g, acc[eo], smem_at(g, addc(g, wbase, off), x->elem), elem_bytes(x->elem));
        }
        yield(g, then, 0, NULL);
        g->b.block = save;
        barrier(g);
        for (int eo = 0; eo < EO; eo++) {
            int r[R];
            layout_digits(&O, eo, r);
            int64_t off = 0;
            for (int o = 0; o < O.rank; o++)
                off += digit_offset(&O, o, r[o]) * ostride[o];
            MlirValue s = {NULL};
            for (int w = 0; w < L->wpc[rd]; w++) {
                MlirValue v =
                    load(g, x->elem, smem_at(g, addc(g, tb, off + w * n), x->elem), elem_bytes(x->elem));
                s = w ? combine(g, comb, s, v) : v;
            }
            acc[eo] = s;
        }
        barrier(g);
    }
    DVal *res;
    if (O.rank == 0) {
        res = uniform_val(acc[0], 0, O.shape);
    } else {
        res = dist_val(&O, from_elements(g, x->elem, EO, acc), x->elem);
    }
    free(acc);
    return res;
}

// ---------------------------------------------------------------- dot

static MlirValue scf_for(Gpu *g, MlirValue lb, MlirValue ub, MlirValue step, int n, const MlirValue *inits,
                         MlirBlock *body, MlirOperation *loop) {
    MlirValue ops[3 + 8];
    ops[0] = lb, ops[1] = ub, ops[2] = step;
    MlirType types[1 + 8];
    types[0] = mlirValueGetType(lb);
    for (int i = 0; i < n; i++) {
        ops[3 + i] = inits[i];
        types[1 + i] = mlirValueGetType(inits[i]);
    }
    *loop = ir_op(&g->b, "scf.for", n, types + 1, 3 + n, ops, 0, NULL, 1);
    *body = ir_region_block(&g->b, *loop, 0, 1 + n, types);
    return mlirBlockGetArgument(*body, 0);
}

static MlirValue convert_float(Gpu *g, MlirValue v, MlirType to) {
    MlirType from = mlirValueGetType(v);
    MlirType fe = mlirTypeIsAVector(from) ? mlirShapedTypeGetElementType(from) : from;
    if (mlirTypeEqual(fe, to))
        return v;
    MlirType rt = mlirTypeIsAVector(from) ? vec(to, mlirShapedTypeGetDimSize(from, 0)) : to;
    return ir_op1(&g->b, elem_bytes(fe) < elem_bytes(to) ? "arith.extf" : "arith.truncf", rt, 1, &v);
}

// The accumulator in the dot's layout (the carried one when it is already distributed in a
// layout of the same kind) and both operands in their natural layouts.
static bool dot_setup(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c, Layout *LC,
                      MlirValue *acc, DVal **da, DVal **db) {
    layout_for_dot(g, at, LC);
    if (c->kind == DV_DIST && c->layout.warp_outer == LC->warp_outer)
        *LC = c->layout;
    *acc = materialize(g, at, c, LC);
    Layout LA, LB;
    natural_layout(g, a, &LA);
    natural_layout(g, b, &LB);
    *da = dist_val(&LA, materialize(g, at, a, &LA), a->elem);
    *db = dist_val(&LB, materialize(g, at, b, &LB), b->elem);
    return !g->failed;
}

// acc += a @ b with FMAs: a goes to shared memory transposed (As[k][m]), b as it is (Bs[k][n]);
// each step of k reads the thread's rows of As and columns of Bs (vector loads) and updates its
// dot_rows x dot_cols blocks of the accumulator.
static DVal *dot_fma(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c) {
    int64_t M = c->shape[0], N = c->shape[1], K = a->shape[1];
    Layout LC;
    MlirValue acc;
    DVal *da, *db;
    if (!dot_setup(g, at, a, b, c, &LC, &acc, &da, &db))
        return NULL;
    int eba = elem_bytes(a->elem), ebb = elem_bytes(b->elem);
    int64_t boff = (M * K * eba + ebb - 1) / ebb;  // Bs, in elements of b
    smem_need(g, boff * ebb + K * N * ebb);
    smem_write(g, da, (int64_t[]){1, M}, cint(g, 0));
    smem_write(g, db, (int64_t[]){N, 1}, cint(g, boff));
    barrier(g);
    MlirType accel = c->elem;
    int E = layout_elems(&LC);
    MlirValue base[2];
    layout_base(g, &LC, base);
    int unroll = K % 4 == 0 ? 4 : 1;
    MlirBlock body;
    MlirOperation loop;
    MlirValue kk = scf_for(g, cint(g, 0), cint(g, K), cint(g, unroll), 1, &acc, &body, &loop);
    MlirBlock save = g->b.block;
    g->b.block = body;
    MlirValue cur = mlirBlockGetArgument(body, 1);
    int nr = LC.reps[0] * LC.spt[0], nc = LC.reps[1] * LC.spt[1];
    for (int u = 0; u < unroll; u++) {
        MlirValue k = addc(g, kk, u);
        MlirValue av[64], bv[64];
        MlirValue arow = add(g, mul(g, k, cint(g, M)), base[0]);
        MlirValue bcol = add(g, mul(g, k, cint(g, N)), addc(g, base[1], boff));
        for (int pass = 0; pass < 2; pass++) {
            int n = pass ? nc : nr, spt = pass ? LC.spt[1] : LC.spt[0];
            MlirType el = pass ? b->elem : a->elem;
            int eb = pass ? ebb : eba;
            int run = vector_run(spt, eb);
            MlirValue *out = pass ? bv : av;
            for (int r = 0; r < n; r += run) {
                MlirValue idx = addc(g, pass ? bcol : arow, digit_offset(&LC, pass, r));
                MlirValue v = load(g, vec(el, run), smem_at(g, idx, el), (int64_t)eb * run);
                v = convert_float(g, v, accel);
                for (int i = 0; i < run; i++)
                    out[r + i] = extract(g, v, i);
            }
        }
        MlirValue *ae = malloc(sizeof(MlirValue) * (size_t)E * 2), *be = ae + E;
        for (int e = 0; e < E; e++) {
            int r[2];
            layout_digits(&LC, e, r);
            ae[e] = av[r[0]];
            be[e] = bv[r[1]];
        }
        MlirValue ops[3] = {from_elements(g, accel, E, ae), from_elements(g, accel, E, be), cur};
        cur = ir_op1(&g->b, "math.fma", vec(accel, E), 3, ops);
        free(ae);
    }
    ir_op(&g->b, "scf.yield", 0, NULL, 1, &cur, 0, NULL, 0);
    g->b.block = save;
    barrier(g);
    return dist_val(&LC, mlirOperationGetResult(loop, 0), accel);
}

// ---------------------------------------------------------------- tensor cores

// A dot's operands in shared memory as mma_dot reads them: A row-major [m][k] at element
// offset a (rows lda apart), B row-major [k][n] at b (rows ldb apart). Rows are padded by 8
// elements (16 bytes) so that the eight rows one ldmatrix matrix reads fall in different banks.
typedef struct MmaOperands {
    MlirValue a, b;  // i64: element offsets from the start of the dynamic shared memory
    int64_t lda, ldb;
} MmaOperands;

static MlirAttribute parse_attr(Gpu *g, const char *text) {
    return mlirAttributeParseGet(g->b.ctx, ir_str(text));
}

static MlirValue extract_value(Gpu *g, MlirValue s, int64_t i, MlirType t) {
    MlirNamedAttribute p = ir_named(&g->b, "position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.extractvalue", 1, &t, 1, &s, 1, &p, 0), 0);
}

// ldmatrix: `num` 8x8 matrices of 16-bit elements, matrix i from the row addresses lanes 8i to
// 8i + 7 give; out[i] is this thread's 32-bit part of matrix i: row lane/4, elements 2(lane%4)
// and +1 (with `trans`: column lane/4, rows 2(lane%4) and +1).
static void ldmatrix(Gpu *g, MlirValue p, int num, bool trans, MlirValue *out) {
    MlirType i32 = i32t(g), ts[4] = {i32, i32, i32, i32};
    MlirType rt = num == 1 ? i32 : mlirLLVMStructTypeLiteralGet(g->b.ctx, num, ts, false);
    MlirNamedAttribute at[4] = {
        ir_named(&g->b, "num", mlirIntegerAttrGet(i32, num)),
        ir_named(&g->b, "layout", parse_attr(g, trans ? "#nvvm.mma_layout<col>" : "#nvvm.mma_layout<row>")),
        ir_named(&g->b, "shape", parse_attr(g, "#nvvm.ld_st_matrix_shape<m = 8, n = 8>")),
        ir_named(&g->b, "eltType", parse_attr(g, "#nvvm.ld_st_matrix_elt_type<b16>")),
    };
    MlirValue r = mlirOperationGetResult(ir_op(&g->b, "nvvm.ldmatrix", 1, &rt, 1, &p, 4, at, 0), 0);
    for (int i = 0; i < num; i++)
        out[i] = num == 1 ? r : extract_value(g, r, i, i32);
}

// acc (in LC, the mma accumulator layout) += A @ B on tensor cores, K deep, the operands in
// shared memory. Per 16-wide step of k each warp loads the A fragments of its rows with
// ldmatrix.x4 (lane l gives row l%16 of a 16-row block at k + 8(l/16): the four matrices are
// the mma's a0..a3) and the B fragments of its columns with ldmatrix.x4.trans (lane l gives row
// k + l%8 + 8((l/8)%2) at column n + 8(l/16): b0 and b1 of two n8 tiles), then issues one
// mma.sync m16n8k16 per m16n8 tile of its part of the accumulator.
static DVal *mma_dot(Gpu *g, MlirOperation at, const Layout *LC, MlirValue acc, MlirType half, int64_t K,
                     const MmaOperands *s) {
    bool bf16 = mlirTypeIsABF16(half);
    int wm = LC->wpc[0], wn = LC->wpc[1];
    int64_t pm = LC->shape[0] / wm, pn = LC->shape[1] / wn;  // a warp's part
    int mt = (int)(pm / 16), nt = (int)(pn / 8);
    if (mt > 16 || nt > 32) {
        unsupported(g, at, "dot tiles this large per warp");
        return NULL;
    }
    MlirValue wi =
        bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, LC->warp_shift[0])), cint(g, wm - 1));
    MlirValue wj =
        bin(g, "arith.andi", bin(g, "arith.shrui", g->warp, cint(g, LC->warp_shift[1])), cint(g, wn - 1));
    MlirValue hi8 = mul(g, bin(g, "arith.shrui", g->lane, cint(g, 4)), cint(g, 8));
    MlirValue arow = add(g, mul(g, wi, cint(g, pm)), bin(g, "arith.andi", g->lane, cint(g, 15)));
    MlirValue aaddr = add(g, s->a, add(g, mul(g, arow, cint(g, s->lda)), hi8));
    MlirValue brow =
        add(g, bin(g, "arith.andi", g->lane, cint(g, 7)),
            mul(g, bin(g, "arith.andi", bin(g, "arith.shrui", g->lane, cint(g, 3)), cint(g, 1)), cint(g, 8)));
    MlirValue baddr =
        add(g, s->b, add(g, mul(g, brow, cint(g, s->ldb)), add(g, mul(g, wj, cint(g, pn)), hi8)));
    MlirBlock body;
    MlirOperation loop;
    MlirValue ks = scf_for(g, cint(g, 0), cint(g, K), cint(g, 16), 1, &acc, &body, &loop);
    MlirBlock save = g->b.block;
    g->b.block = body;
    MlirValue cur = mlirBlockGetArgument(body, 1);
    int E = layout_elems(LC);
    MlirValue *cs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e++)
        cs[e] = extract(g, cur, e);
    // 32-bit fragment registers (f16: as the pairs of halves mma.sync takes).
    MlirValue afrag[16][4], bfrag[32][2];
    MlirValue ak = add(g, aaddr, ks), bk = add(g, baddr, mul(g, ks, cint(g, s->ldb)));
    for (int i = 0; i < mt; i++)
        ldmatrix(g, gep(g, g->smem0, addc(g, ak, i * 16 * s->lda), half), 4, false, afrag[i]);
    for (int j = 0; j < nt; j += 2) {
        MlirValue r[4];
        int num = j + 1 < nt ? 4 : 2;
        ldmatrix(g, gep(g, g->smem0, addc(g, bk, j * 8), half), num, true, r);
        for (int q = 0; q < num; q++)
            bfrag[j + q / 2][q % 2] = r[q];
    }
    if (!bf16) {
        MlirType pair = vec(half, 2);
        for (int i = 0; i < mt; i++)
            for (int q = 0; q < 4; q++)
                afrag[i][q] = ir_op1(&g->b, "llvm.bitcast", pair, 1, &afrag[i][q]);
        for (int j = 0; j < nt; j++)
            for (int q = 0; q < 2; q++)
                bfrag[j][q] = ir_op1(&g->b, "llvm.bitcast", pair, 1, &bfrag[j][q]);
    }
    MlirType f32 = mlirF32TypeGet(g->b.ctx);
    MlirType fs[4] = {f32, f32, f32, f32};
    MlirType st = mlirLLVMStructTypeLiteralGet(g->b.ctx, 4, fs, false);
    MlirAttribute ptx_type = parse_attr(g, bf16 ? "#nvvm.mma_type<bf16>" : "#nvvm.mma_type<f16>");
    MlirNamedAttribute mattrs[6] = {
        ir_named(&g->b, "shape", parse_attr(g, "#nvvm.shape<m = 16, n = 8, k = 16>")),
        ir_named(&g->b, "layoutA", parse_attr(g, "#nvvm.mma_layout<row>")),
        ir_named(&g->b, "layoutB", parse_attr(g, "#nvvm.mma_layout<col>")),
        ir_named(&g->b, "operandSegmentSizes", mlirDenseI32ArrayGet(g->b.ctx, 3, (int32_t[]){4, 2, 4})),
        ir_named(&g->b, "multiplicandAPtxType", ptx_type),
        ir_named(&g->b, "multiplicandBPtxType", ptx_type),
    };
    int cols = LC->reps[1] * LC->spt[1];
    for (int i = 0; i < mt; i++)
        for (int j = 0; j < nt; j++) {
            // accumulator elements: digits (2i + h, 2j + p)
            int ei[4];
            for (int q = 0; q < 4; q++)
                ei[q] = (2 * i + (q >> 1)) * cols + 2 * j + (q & 1);
            MlirValue ops[10] = {afrag[i][0], afrag[i][1], afrag[i][2], afrag[i][3], bfrag[j][0],
                                 bfrag[j][1], cs[ei[0]],   cs[ei[1]],   cs[ei[2]],   cs[ei[3]]};
            MlirValue d =
                mlirOperationGetResult(ir_op(&g->b, "nvvm.mma.sync", 1, &st, 10, ops, 6, mattrs, 0), 0);
            for (int q = 0; q < 4; q++)
                cs[ei[q]] = extract_value(g, d, q, f32);
        }
    MlirValue next = from_elements(g, f32, E, cs);
    free(cs);
    ir_op(&g->b, "scf.yield", 0, NULL, 1, &next, 0, NULL, 0);
    g->b.block = save;
    return dist_val(LC, mlirOperationGetResult(loop, 0), f32);
}

// acc += a @ b on tensor cores, the tiles in registers: both go to shared memory row-major
// (rows padded by 8 elements), then mma_dot.
static DVal *dot_mma(Gpu *g, MlirOperation at, const DVal *a, const DVal *b, const DVal *c) {
    int64_t M = c->shape[0], N = c->shape[1], K = a->shape[1];
    Layout LC;
    MlirValue acc;
    DVal *da, *db;
    if (!dot_setup(g, at, a, b, c, &LC, &acc, &da, &db))
        return NULL;
    MmaOperands s = {.lda = K + 8, .ldb = N + 8};
    int64_t boff = M * s.lda;
    smem_need(g, (boff + K * s.ldb) * 2);
    smem_write(g, da, (int64_t[]){s.lda, 1}, cint(g, 0));
    smem_write(g, db, (int64_t[]){s.ldb, 1}, cint(g, boff));
    barrier(g);
    s.a = cint(g, g->smem_reserved / 2);  // where g->smem starts, in 16-bit elements
    s.b = addc(g, s.a, boff);
    DVal *r = mma_dot(g, at, &LC, acc, a->elem, K, &s);
    barrier(g);
    return r;
}

// ---------------------------------------------------------------- ops

static bool name_prefix(MlirOperation o, const char *prefix) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(o));
    return n.length > strlen(prefix) && !strncmp(n.data, prefix, strlen(prefix));
}

static DVal *get(Gpu *g, MlirValue v) {
    DVal *d = map_get(g, v);
    if (!d)
        internal_error(__FILE__, __LINE__, "GPU back end: a value used before it was converted");
    return d;
}

static MlirValue scalar_of(Gpu *g, MlirOperation at, MlirValue v) {
    DVal *d = get(g, v);
    if (d->kind != DV_SCALAR)
        unsupported(g, at, "a tile where a scalar is expected");
    return d->v;
}

static MlirAttribute attr(MlirOperation o, const char *name) {
    return mlirOperationGetAttributeByName(o, ir_str(name));
}

static int64_t dense_at(MlirAttribute a, int i) { return mlirDenseI64ArrayGetElement(a, i); }

// Offsets or sizes of a slice-like op: static entries from `static_name`, dynamic ones from
// the operands starting at *next (advanced). As i64.
static void mixed(Gpu *g, MlirOperation o, const char *static_name, int rank, int *next, MlirValue *out) {
    MlirAttribute st = attr(o, static_name);
    for (int d = 0; d < rank; d++) {
        int64_t v = dense_at(st, d);
        if (v == mlirShapedTypeGetDynamicSize())
            out[d] = to_i64(g, scalar_of(g, o, mlirOperationGetOperand(o, (*next)++)));
        else
            out[d] = cint(g, v);
    }
}

// A tensor-typed result of `o` from its static type.
static DVal *tensor_result(MlirOperation o, int i, DKind kind) {
    DVal *d = dval_new(kind);
    if (!tensor_info(mlirValueGetType(mlirOperationGetResult(o, i)), &d->rank, d->shape, &d->elem))
        d->kind = DV_NONE;
    return d;
}

// Creates op `name` like `o` (its attributes) on new operands and result types.
static MlirOperation recreate(Gpu *g, MlirOperation o, int nops, const MlirValue *ops, int nres,
                              const MlirType *res, int nregions) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(o));
    char name[96];
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    int na = (int)mlirOperationGetNumAttributes(o);
    MlirNamedAttribute *attrs = malloc(sizeof(MlirNamedAttribute) * (size_t)(na + 1));
    for (int i = 0; i < na; i++)
        attrs[i] = mlirOperationGetAttribute(o, i);
    MlirOperation r = ir_op(&g->b, name, nres, res, nops, ops, na, attrs, nregions);
    free(attrs);
    return r;
}

static bool has_tensor(MlirOperation o) {
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++)
        if (mlirTypeIsARankedTensor(mlirValueGetType(mlirOperationGetOperand(o, i))))
            return true;
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++)
        if (mlirTypeIsARankedTensor(mlirValueGetType(mlirOperationGetResult(o, i))))
            return true;
    return false;
}

static void convert_block(Gpu *g, MlirBlock src);

// ---------------------------------------------------------------- pipelined dot loops

// A loop whose tensor-core dot reads both operands from slices of tensors in memory that
// depend only on the induction variable and on values from outside the loop (and whose body
// writes no memory): the slices are copied to shared memory with cp.async `stages - 1`
// iterations ahead, each iteration's into its own stage buffer (A, then B, rows padded as
// MmaOperands says). Iteration i waits for its own copies (cp.async.wait_group stages - 2 and
// a barrier, which also tells that every warp is done with the buffer of iteration i - 1),
// issues the copies of iteration i + stages - 1 into that buffer, then runs the dot from its
// own buffer: one barrier per iteration.
typedef struct Pipe {
    MlirOperation mm;         // the dot
    MlirValue iv;             // the source loop's induction variable
    MlirValue opnd[2];        // the dot's operands (before widening) in the source body
    MlirOperation slice[96];  // the body's ops they are computed from, in the body's order
    int nslice;
    int64_t rows[2], cols[2], ld[2];
    int swz[2];           // wgmma: A's and B's swizzle (tile_at), else 0 (rows ld apart)
    int64_t base;         // where the first stage starts (16-bit elements)
    int64_t boff;         // where B starts in a stage
    int64_t stage_elems;  // per stage
    int stages;
    bool wgmma;        // the dot runs as wgmma (dot_uses_wgmma)
    bool tma;          // and TMA fills the stages when the launcher could build the maps
    MlirValue map[2];  // TMA: the operands' tensor maps (kernel parameters)
    int64_t bars;      // TMA: the stages' mbarriers (16 bytes apart), in bytes
    int64_t end;       // bytes of shared memory up to the end of the pipeline's
    MlirType elem;     // f16 or bf16
} Pipe;

static void convert_op(Gpu *g, MlirOperation o);

static bool writes_memory(MlirOperation o) {
    if (ir_op_is(o, "bufferization.materialize_in_destination") || ir_op_is(o, "memref.store") ||
        ir_op_is(o, "llvm.store") || ir_op_is(o, "memref.copy") || ir_op_is(o, "memref.atomic_rmw") ||
        ir_op_is(o, "memref.generic_atomic_rmw") || ir_op_is(o, "llvm.atomicrmw"))
        return true;
    for (intptr_t r = 0; r < mlirOperationGetNumRegions(o); r++)
        for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r)); !mlirBlockIsNull(b);
             b = mlirBlockGetNextInRegion(b))
            for (MlirOperation x = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(x);
                 x = mlirOperationGetNextInBlock(x))
                if (writes_memory(x))
                    return true;
    return false;
}

// Adds the ops of `body` that v is computed from to p->slice (unordered). False when v cannot
// be computed ahead: it depends on a block argument other than the induction variable (a
// carried value) or on an op other than scalar arithmetic and slicing.
static bool slice_collect(Pipe *p, MlirBlock body, MlirValue v) {
    if (mlirValueIsABlockArgument(v))
        return !mlirBlockEqual(mlirBlockArgumentGetOwner(v), body) || mlirValueEqual(v, p->iv);
    MlirOperation def = mlirOpResultGetOwner(v);
    if (!mlirBlockEqual(mlirOperationGetBlock(def), body))
        return true;  // from outside the loop
    for (int i = 0; i < p->nslice; i++)
        if (mlirOperationEqual(p->slice[i], def))
            return true;
    bool ok = ir_op_is(def, "tensor.extract_slice") || ir_op_is(def, "tensor.pad") ||
              ir_op_is(def, "tensor.collapse_shape") || ir_op_is(def, "bufferization.to_tensor") ||
              ir_op_is(def, "memref.subview") ||
              ((name_prefix(def, "arith.") || name_prefix(def, "math.")) && !has_tensor(def) &&
               !mlirOperationGetNumRegions(def));
    if (!ok || p->nslice == (int)(sizeof p->slice / sizeof p->slice[0]))
        return false;
    p->slice[p->nslice++] = def;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(def); i++)
        if (!slice_collect(p, body, mlirOperationGetOperand(def, i)))
            return false;
    if (ir_op_is(def, "tensor.pad")) {  // its padding value, which convert_pad looks up
        MlirBlock pb = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, 0));
        return slice_collect(p, body, mlirOperationGetOperand(mlirBlockGetTerminator(pb), 0));
    }
    return true;
}

// Whether operand v of the dot is a slice of a tensor in memory (padded with zeros past its
// high ends, if at all) that can be copied ahead; collects its ops.
static bool pipe_operand(Pipe *p, MlirBlock body, MlirValue v) {
    if (!mlirValueIsAOpResult(v))
        return false;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (ir_op_is(def, "tensor.collapse_shape")) {  // only unit dims dropped (a batch index)
        MlirValue src = mlirOperationGetOperand(def, 0);
        MlirType st = mlirValueGetType(src), rt = mlirValueGetType(v);
        int j = 0;
        for (intptr_t d = 0; d < mlirShapedTypeGetRank(st); d++) {
            int64_t n = mlirShapedTypeGetDimSize(st, d);
            if (j < 2 && n == mlirShapedTypeGetDimSize(rt, j))
                j++;
            else if (n != 1)
                return false;
        }
        if (j != 2 || !mlirValueIsAOpResult(src))
            return false;
        def = mlirOpResultGetOwner(src);
    }
    MlirOperation slice = def;
    if (ir_op_is(def, "tensor.pad")) {
        MlirAttribute low = mlirOperationGetAttributeByName(def, ir_str("static_low"));
        for (intptr_t d = 0; d < mlirDenseArrayGetNumElements(low); d++)
            if (mlirDenseI64ArrayGetElement(low, d) != 0)
                return false;
        MlirBlock pb = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, 0));
        MlirValue pv = mlirOperationGetOperand(mlirBlockGetTerminator(pb), 0);
        if (!mlirValueIsAOpResult(pv) || !ir_op_is(mlirOpResultGetOwner(pv), "arith.constant"))
            return false;
        MlirAttribute c = mlirOperationGetAttributeByName(mlirOpResultGetOwner(pv), ir_str("value"));
        if (!mlirAttributeIsAFloat(c) || mlirFloatAttrGetValueDouble(c) != 0.0)
            return false;
        MlirValue src = mlirOperationGetOperand(def, 0);
        if (!mlirValueIsAOpResult(src))
            return false;
        slice = mlirOpResultGetOwner(src);
    }
    if (!ir_op_is(slice, "tensor.extract_slice"))
        return false;
    MlirValue whole = mlirOperationGetOperand(slice, 0);
    if (!mlirValueIsAOpResult(whole) || !ir_op_is(mlirOpResultGetOwner(whole), "bufferization.to_tensor"))
        return false;
    return slice_collect(p, body, v);
}

static bool pipe_use_tma(Gpu *g, Pipe *p);

static bool pipe_find(Gpu *g, MlirOperation loop, Pipe *p) {
    if (g->sched->stages < 2 || !g->sched->tensor_cores || g->arch->sm < 80)
        return false;
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
    *p = (Pipe){.iv = mlirBlockGetArgument(body, 0), .base = g->smem_reserved / 2};
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o)) {
        if (writes_memory(o))
            return false;
        if (ir_op_is(o, "linalg.matmul") && dot_uses_mma(g, o)) {
            if (!mlirOperationIsNull(p->mm) ||
                (mlirOperationGetNumAttributes(o) > 2 && !mlirAttributeIsNull(attr(o, "indexing_maps"))))
                return false;
            p->mm = o;
        }
    }
    if (mlirOperationIsNull(p->mm))
        return false;
    for (int i = 0; i < 2; i++) {
        p->opnd[i] = dot_operand(p->mm, i);
        if (!pipe_operand(p, body, p->opnd[i]))
            return false;
        MlirType t = mlirValueGetType(p->opnd[i]);
        p->rows[i] = mlirShapedTypeGetDimSize(t, 0);
        p->cols[i] = mlirShapedTypeGetDimSize(t, 1);
        p->ld[i] = p->cols[i] + 8;
        p->elem = mlirShapedTypeGetElementType(t);
    }
    // In the body's order.
    int n = 0;
    for (MlirOperation o = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o))
        for (int i = n; i < p->nslice; i++)
            if (mlirOperationEqual(p->slice[i], o)) {
                p->slice[i] = p->slice[n];
                p->slice[n++] = o;
                break;
            }
    p->wgmma = dot_uses_wgmma(g, p->mm);
    if (p->wgmma) {  // A K-major (one atom of K per row), B N-major; atoms 1024-byte aligned
        p->swz[0] = (int)(p->cols[0] * 2);
        p->swz[1] = 128;
        p->base = (g->smem_reserved + 1023) / 1024 * 512;
        p->boff = p->rows[0] * p->cols[0];
        p->stage_elems = p->boff + p->rows[1] * p->cols[1];
    } else {
        p->boff = p->rows[0] * p->ld[0];
        p->stage_elems = p->boff + p->rows[1] * p->ld[1];
    }
    int64_t room = g->arch->smem_limit - p->base * 2;
    p->stages = g->sched->stages;
    int64_t bars = p->wgmma && g->sched->tma ? 16 : 0;  // an mbarrier per stage (TMA)
    while (p->stages > 2 && p->stages * (p->stage_elems * 2 + bars) > room)
        p->stages--;
    if (p->stages * (p->stage_elems * 2 + bars) > room)
        return false;
    p->bars = p->base * 2 + p->stages * p->stage_elems * 2;
    p->tma = pipe_use_tma(g, p);
    p->end = p->bars + (p->tma ? 16 * p->stages : 0);
    return true;
}

static MlirValue trunc_i32(Gpu *g, MlirValue v) { return ir_op1(&g->b, "arith.trunci", i32t(g), 1, &v); }

// Where element (row, col) of a stage's tile sits (element offset from the tile's start): rows
// ld apart (padded), or with `swz` (64 or 128: wgmma's swizzled layouts) in atoms of swz/2
// columns, atom after atom (rows x swz/2 elements each), each row of an atom swz bytes whose
// 16-byte chunks are permuted as the hardware expects: byte o of the atom goes to
// o ^ (((o >> 7) & (swz/16 - 1)) << 4) (CUTLASS's Swizzle<3,4,3> for 128, <2,4,3> for 64).
static MlirValue tile_at(Gpu *g, MlirValue row, MlirValue col, int64_t ld, int64_t rows, int swz) {
    if (!swz)
        return add(g, mul(g, row, cint(g, ld)), col);
    int64_t w = swz / 2;
    MlirValue atom = bin(g, "arith.shrui", col, cint(g, ilog2(w)));
    MlirValue o =
        mul(g, add(g, mul(g, row, cint(g, w)), bin(g, "arith.andi", col, cint(g, w - 1))), cint(g, 2));
    MlirValue x =
        bin(g, "arith.shli",
            bin(g, "arith.andi", bin(g, "arith.shrui", o, cint(g, 7)), cint(g, swz / 16 - 1)), cint(g, 4));
    o = bin(g, "arith.xori", o, x);
    return add(g, mul(g, atom, cint(g, rows * w)), bin(g, "arith.shrui", o, cint(g, 1)));
}

// Copies tile x (a slice of a tensor in memory, 16-bit elements) to shared memory at element
// offset dst, laid out as tile_at says. When the slice's rows are unit-stride and 16-byte
// aligned: one 16-byte cp.async per 8 elements, reading only the part inside the slice
// (src-size; the rest is zero-filled). Else through registers (load_tile's masked loads) and
// 16-byte stores.
static void copy_to_smem(Gpu *g, const DVal *x, MlirValue dst, int64_t ld, int swz) {
    Layout L;
    layout_blocked(g, &L, 2, x->shape, (int[]){1, 8});
    MlirValue zero = cint(g, 0);
    MlirValue start = add(g, mul(g, x->offs[0], x->strides[0]), mul(g, x->offs[1], x->strides[1]));
    MlirValue p0 = gep(g, x->ptr, start, x->elem);
    MlirValue addr = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p0);
    MlirValue fast =
        bin(g, "arith.andi", cmp(g, CMP_EQ, x->strides[1], cint(g, 1)),
            bin(g, "arith.andi", cmp(g, CMP_EQ, bin(g, "arith.andi", x->strides[0], cint(g, 7)), zero),
                cmp(g, CMP_EQ, bin(g, "arith.andi", addr, cint(g, 15)), zero)));
    int64_t lm, wm;
    layout_masks(&L, &lm, &wm);
    bool replicated = lm != 31 || wm != g->nwarps - 1;
    MlirNamedAttribute cattrs[2] = {
        ir_named(&g->b, "size", mlirIntegerAttrGet(i32t(g), 16)),
        ir_named(&g->b, "modifier", parse_attr(g, "#nvvm<load_cache_modifier cg>")),
    };
    MlirBlock then, els;
    if_op(g, fast, 0, NULL, &then, &els);
    MlirBlock save = g->b.block;
    for (int path = 0; path < 2; path++) {  // 0: cp.async, 1: through registers
        MlirBlock blk = path ? els : then;
        g->b.block = blk;
        MlirValue v = path ? load_tile(g, x, &L) : NULL_VALUE;
        MlirBlock own = blk, not_own;
        if (replicated) {  // more threads than chunks: the first copy of each does it
            if_op(g, layout_owner(g, &L), 0, NULL, &own, &not_own);
            yield(g, not_own, 0, NULL);
            g->b.block = own;
        }
        MlirValue base[2];
        layout_base(g, &L, base);
        for (int e = 0; e < layout_elems(&L); e += 8) {
            int r[2];
            layout_digits(&L, e, r);
            MlirValue row = addc(g, base[0], digit_offset(&L, 0, r[0]));
            MlirValue col = addc(g, base[1], digit_offset(&L, 1, r[1]));
            MlirValue d = gep(g, g->smem0, add(g, dst, tile_at(g, row, col, ld, x->shape[0], swz)), x->elem);
            if (path) {
                int64_t mask[8];
                for (int i = 0; i < 8; i++)
                    mask[i] = e + i;
                store(g, shuffle(g, v, v, 8, mask), d, 16);
                continue;
            }
            MlirValue ops[3] = {d, gep(g, p0, add(g, mul(g, row, x->strides[0]), col), x->elem)};
            int nops = 2;
            if (x->pad.ptr) {  // bytes inside the slice: 2 * clamp(sizes1 - col, 0, 8), 0 past its rows
                MlirValue left = bin(g, "arith.minsi", bin(g, "arith.subi", x->sizes[1], col), cint(g, 8));
                left = bin(g, "arith.maxsi", left, zero);
                left = ir_op1(&g->b, "arith.select", i64t(g), 3,
                              (MlirValue[]){cmp(g, CMP_SLT, row, x->sizes[0]), left, zero});
                MlirValue sel[3] = {cmp(g, CMP_SLT, zero, left), ops[1], x->ptr};
                ops[1] = ir_op1(&g->b, "arith.select", gptr(g), 3, sel);  // nothing read: any valid address
                ops[2] = trunc_i32(g, mul(g, left, cint(g, 2)));
                nops = 3;
            }
            ir_op(&g->b, "nvvm.cp.async.shared.global", 0, NULL, nops, ops, 2, cattrs, 0);
        }
        if (replicated)
            yield(g, own, 0, NULL);
        yield(g, blk, 0, NULL);
    }
    g->b.block = save;
}

static void cp_async_commit(Gpu *g) {
    ir_op(&g->b, "nvvm.cp.async.commit.group", 0, NULL, 0, NULL, 0, NULL, 0);
}

static void cp_async_wait(Gpu *g, int n) {
    MlirNamedAttribute a = ir_named(&g->b, "n", mlirIntegerAttrGet(i32t(g), n));
    ir_op(&g->b, "nvvm.cp.async.wait.group", 0, NULL, 0, NULL, 1, &a, 0);
}

// lb + k * step, in the loop's type (i64 or index).
static MlirValue iv_at(Gpu *g, MlirValue lb, MlirValue step, int64_t k) {
    MlirValue c = ir_const_int(&g->b, mlirValueGetType(lb), k);
    return k ? ir_binop(&g->b, "arith.addi", lb, ir_binop(&g->b, "arith.muli", c, step)) : lb;
}

// ---------------------------------------------------------------- TMA

static bool is_const_int(MlirValue v, int64_t c) {
    if (!mlirValueIsAOpResult(v) || !ir_op_is(mlirOpResultGetOwner(v), "arith.constant"))
        return false;
    MlirAttribute a = mlirOperationGetAttributeByName(mlirOpResultGetOwner(v), ir_str("value"));
    return mlirAttributeIsAInteger(a) && mlirIntegerAttrGetValueInt(a) == c;
}

// The index of the kernel parameter that v is (also through a multiplication by the constant
// 1, as emit.c writes a row-major tensor's strides), or -1.
static int param_index(Gpu *g, MlirValue v) {
    if (mlirValueIsABlockArgument(v))
        return mlirBlockEqual(mlirBlockArgumentGetOwner(v), g->kbody) ? (int)mlirBlockArgumentGetArgNumber(v)
                                                                      : -1;
    MlirOperation d = mlirOpResultGetOwner(v);
    if (ir_op_is(d, "arith.muli"))
        for (int i = 0; i < 2; i++)
            if (is_const_int(mlirOperationGetOperand(d, i), 1))
                return param_index(g, mlirOperationGetOperand(d, 1 - i));
    return -1;
}

// The tensor map of a pipelined operand: when its slice is of a 2-D kernel tensor itself (no
// view of it) whose pointer, sizes and row stride are kernel parameters and whose rows are
// unit-stride, the box and swizzle being those of the stage's layout (tile_at).
static bool tensor_map_of(Gpu *g, const Pipe *p, int k, GpuTensorMap *t) {
    MlirOperation def = mlirOpResultGetOwner(p->opnd[k]);
    if (ir_op_is(def, "tensor.pad"))
        def = mlirOpResultGetOwner(mlirOperationGetOperand(def, 0));
    if (!ir_op_is(def, "tensor.extract_slice"))
        return false;  // a batch index dropped: a 3-D tensor
    MlirOperation tt = mlirOpResultGetOwner(mlirOperationGetOperand(def, 0));  // bufferization.to_tensor
    DVal *m = map_get(g, mlirOperationGetOperand(tt, 0));
    if (!m || m->kind != DV_MEMREF || m->rank != 2 || m->offs[0].ptr || m->offs[1].ptr ||
        !is_const_int(m->strides[1], 1))
        return false;
    *t = (GpuTensorMap){.ptr_param = param_index(g, m->ptr),
                        .rows_param = param_index(g, m->sizes[0]),
                        .cols_param = param_index(g, m->sizes[1]),
                        .stride_param = param_index(g, m->strides[0]),
                        .box_rows = (int)p->rows[k],
                        .box_cols = k ? 64 : (int)p->cols[k],
                        .swizzle = p->swz[k],
                        .elem_type = mlirTypeIsABF16(p->elem) ? 9 : 6};
    return t->ptr_param >= 0 && t->rows_param >= 0 && t->cols_param >= 0 && t->stride_param >= 0;
}

// Kernel parameters added during the distribution: the flag the launcher sets when it could
// build every tensor map (first, added once), then the maps, by value.
static MlirValue tma_flag(Gpu *g) {
    if (!g->tma_flag.ptr)
        g->tma_flag = mlirBlockAddArgument(g->kbody, i32t(g), g->b.loc);
    return g->tma_flag;
}

// Whether the launcher's flag is set (i1).
static MlirValue use_tma(Gpu *g) { return cmp(g, CMP_NE, tma_flag(g), ir_const_int(&g->b, i32t(g), 0)); }

// The stage's operands with TMA: both slices are of kernel tensors that can have a map.
static bool pipe_use_tma(Gpu *g, Pipe *p) {
    GpuTensorMap t[2];
    if (!p->wgmma || !g->sched->tma || g->out->ntma + 2 > GPU_MAX_TENSOR_MAPS ||
        !tensor_map_of(g, p, 0, &t[0]) || !tensor_map_of(g, p, 1, &t[1]))
        return false;
    tma_flag(g);
    for (int k = 0; k < 2; k++) {
        g->out->tma[g->out->ntma++] = t[k];
        p->map[k] = mlirBlockAddArgument(g->kbody, mlirLLVMPointerTypeGet(g->b.ctx, 0), g->b.loc);
    }
    return true;
}

static MlirValue mbarrier_at(Gpu *g, const Pipe *p, MlirValue s) {
    MlirType i8 = mlirIntegerTypeGet(g->b.ctx, 8);
    return gep(g, g->smem0, addc(g, mul(g, s, cint(g, 16)), p->bars), i8);
}

// One TMA box into the stage at element offset `at`, counted on mbarrier `bar`.
static void tma_load(Gpu *g, const Pipe *p, MlirValue map, MlirValue at, MlirValue col, MlirValue row,
                     MlirValue bar) {
    MlirValue d = gep(g, g->smem0, at, p->elem);
    d = ir_op1(&g->b, "llvm.addrspacecast", mlirLLVMPointerTypeGet(g->b.ctx, 7), 1, &d);  // shared::cluster
    MlirValue ops[5] = {d, map, trunc_i32(g, col), trunc_i32(g, row), bar};
    MlirNamedAttribute a[3] = {
        ir_named(&g->b, "operandSegmentSizes",
                 mlirDenseI32ArrayGet(g->b.ctx, 8, (int32_t[]){1, 1, 2, 1, 0, 0, 0, 0})),
        ir_named(&g->b, "mode", parse_attr(g, "#nvvm.tma_load_mode<tile>")),
        ir_named(&g->b, "isCTAOnly", mlirBoolAttrGet(g->b.ctx, 0)),
    };
    ir_op(&g->b, "nvvm.cp.async.bulk.tensor.shared.cluster.global", 0, NULL, 5, ops, 3, a, 0);
}

// fence.proxy.async.shared::cta: this thread's shared-memory accesses so far ordered with the
// async proxy's (TMA, wgmma).
static void proxy_fence(Gpu *g) {
    MlirNamedAttribute fa[2] = {
        ir_named(&g->b, "kind", parse_attr(g, "#nvvm.proxy_kind<async.shared>")),
        ir_named(&g->b, "space", parse_attr(g, "#nvvm.shared_space<cta>")),
    };
    ir_op(&g->b, "nvvm.fence.proxy", 0, NULL, 0, NULL, 2, fa, 0);
}

// Whether this thread is the block's first (i1).
static MlirValue first_thread(Gpu *g) {
    MlirValue z = cint(g, 0);
    return bin(g, "arith.andi", cmp(g, CMP_EQ, g->lane, z), cmp(g, CMP_EQ, g->warp, z));
}

// With the launcher's flag, the block's first thread initializes (one arrival: its own) or
// invalidates each stage's mbarrier.
static void each_mbarrier(Gpu *g, const Pipe *p, bool init) {
    MlirBlock then, els, save = g->b.block;
    if_op(g, bin(g, "arith.andi", use_tma(g), first_thread(g)), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    g->b.block = then;
    for (int s = 0; s < p->stages; s++) {
        MlirValue ops[2] = {mbarrier_at(g, p, cint(g, s)),
                            init ? ir_const_int(&g->b, i32t(g), 1) : NULL_VALUE};
        ir_op(&g->b, init ? "nvvm.mbarrier.init" : "nvvm.mbarrier.inval", 0, NULL, init ? 2 : 1, ops, 0, NULL,
              0);
    }
    yield(g, then, 0, NULL);
    g->b.block = save;
}

// ---------------------------------------------------------------- the pipeline

// Starts the copies of the iteration at induction value iv into stage s (i64) when iv < ub (the
// operands' slices converted for that iv), then commits them as one cp.async group (empty past
// the end, or with TMA, so that every iteration counts one). With TMA (the launcher's flag):
// the first thread expects the stage's bytes on the stage's mbarrier and issues the boxes.
static void pipe_issue(Gpu *g, const Pipe *p, MlirValue iv, MlirValue ub, MlirValue s) {
    MlirBlock then, els;
    if_op(g, cmp(g, CMP_SLT, iv, ub), 0, NULL, &then, &els);
    yield(g, els, 0, NULL);
    MlirBlock save = g->b.block;
    g->b.block = then;
    DVal *was = map_get(g, p->iv);
    map_put(g, p->iv, scalar_val(iv));
    for (int i = 0; i < p->nslice && !g->failed; i++)
        convert_op(g, p->slice[i]);
    const DVal *x[2] = {NULL, NULL};
    for (int k = 0; k < 2 && !g->failed; k++) {
        x[k] = get(g, p->opnd[k]);
        if (x[k]->kind != DV_LOAD || x[k]->low[0].ptr || x[k]->low[1].ptr)
            internal_error(__FILE__, __LINE__, "GPU back end: a pipelined dot operand is not a slice");
    }
    MlirValue stage = addc(g, mul(g, s, cint(g, p->stage_elems)), p->base);
    MlirBlock copy = g->b.block, tma, own, not_own;
    bool split = p->tma && !g->failed;  // TMA when the launcher's flag says so, else the copies
    if (split) {
        if_op(g, use_tma(g), 0, NULL, &tma, &copy);
        g->b.block = tma;
        if_op(g, first_thread(g), 0, NULL, &own, &not_own);
        yield(g, not_own, 0, NULL);
        g->b.block = own;
        MlirValue bar = mbarrier_at(g, p, s);
        MlirValue tx = ir_const_int(&g->b, i32t(g), p->stage_elems * 2);
        MlirNamedAttribute ea[2] = {ir_named(&g->b, "relaxed", mlirBoolAttrGet(g->b.ctx, 0)),
                                    ir_named(&g->b, "scope", parse_attr(g, "#nvvm.mem_scope<cta>"))};
        ir_op(&g->b, "nvvm.mbarrier.arrive.expect_tx", 0, NULL, 2, (MlirValue[]){bar, tx}, 2, ea, 0);
        tma_load(g, p, p->map[0], stage, x[0]->offs[1], x[0]->offs[0], bar);
        for (int64_t a = 0; a < p->cols[1] / 64; a++)
            tma_load(g, p, p->map[1], addc(g, stage, p->boff + a * p->rows[1] * 64),
                     addc(g, x[1]->offs[1], 64 * a), x[1]->offs[0], bar);
        yield(g, own, 0, NULL);
        yield(g, tma, 0, NULL);
        g->b.block = copy;
    }
    for (int k = 0; k < 2 && !g->failed; k++)
        copy_to_smem(g, x[k], k ? addc(g, stage, p->boff) : stage, p->ld[k], p->swz[k]);
    if (split)
        yield(g, copy, 0, NULL);
    g->b.block = then;
    if (was)
        map_put(g, p->iv, was);
    yield(g, then, 0, NULL);
    g->b.block = save;
    cp_async_commit(g);
}

// Before the loop: with TMA, the stages' mbarriers (one arrival: the issuing thread's, plus the
// bytes); then the copies of the loop's first stages - 1 iterations.
static void pipe_prologue(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step) {
    smem_need(g, p->end - g->smem_reserved);
    if (p->tma) {
        each_mbarrier(g, p, true);
        proxy_fence(g);  // what ordinary stores left in the stages, before TMA writes over it
        barrier(g);
    }
    for (int s = 0; s < p->stages - 1 && !g->failed; s++)
        pipe_issue(g, p, iv_at(g, lb, step, s), ub, cint(g, s));
}

// At the top of the body (iteration i = (iv - lb) / step): wait for iteration i's copies (its
// cp.async group, or with TMA its mbarrier's phase (i / stages) % 2), then one barrier, which
// also tells that every warp is done with the buffer of iteration i - 1; start the copies of
// iteration i + stages - 1 into that buffer, and point the dot at buffer i % stages. Ordinary
// uses of shared memory in the body start past the stages.
static void pipe_iteration(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step, MlirValue iv) {
    MlirValue i = bin(g, "arith.divsi", bin(g, "arith.subi", to_i64(g, iv), to_i64(g, lb)), to_i64(g, step));
    MlirValue S = cint(g, p->stages);
    MlirValue rd = bin(g, "arith.remsi", i, S);
    MlirBlock wait = g->b.block, tma, save = g->b.block;
    if (p->tma) {
        if_op(g, use_tma(g), 0, NULL, &tma, &wait);
        g->b.block = tma;
        MlirValue phase = trunc_i32(g, bin(g, "arith.andi", bin(g, "arith.divsi", i, S), cint(g, 1)));
        ir_op(&g->b, "nvvm.mbarrier.try_wait.parity", 0, NULL, 3,
              (MlirValue[]){mbarrier_at(g, p, rd), phase, ir_const_int(&g->b, i32t(g), 10000000)}, 0, NULL,
              0);
        yield(g, tma, 0, NULL);
        g->b.block = wait;
    }
    cp_async_wait(g, p->stages - 2);
    if (p->wgmma)  // wgmma reads through the async proxy what cp.async and st.shared wrote
        proxy_fence(g);
    if (p->tma)
        yield(g, wait, 0, NULL);
    g->b.block = save;
    barrier(g);
    MlirValue wr = bin(g, "arith.remsi", addc(g, i, p->stages - 1), S);
    pipe_issue(g, p, iv_at(g, iv, step, p->stages - 1), ub, wr);
    g->pipe = p;
    g->pipe_read = addc(g, mul(g, rd, cint(g, p->stage_elems)), p->base);
    g->smem_reserved = p->end;
    MlirType i8 = mlirIntegerTypeGet(g->b.ctx, 8);
    g->smem = gep(g, g->smem0, cint(g, g->smem_reserved), i8);
}

// wgmma's shared-memory matrix descriptor of the operand at element offset `at`: the start
// address (16-byte units, 14 bits), the leading and stride byte offsets (16-byte units) and
// the swizzle (1: 128-byte, 2: 64-byte).
static MlirValue wgmma_desc(Gpu *g, MlirValue at, MlirType half, int64_t lbo, int64_t sbo, int swz) {
    MlirValue p = gep(g, g->smem0, at, half);
    MlirValue a = ir_op1(&g->b, "llvm.ptrtoint", i64t(g), 1, &p);
    a = bin(g, "arith.andi", bin(g, "arith.shrui", a, cint(g, 4)), cint(g, 0x3FFF));
    uint64_t mode = swz == 128 ? 1 : 2;
    uint64_t fields = ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) | (mode << 62);
    return bin(g, "arith.ori", a, cint(g, (int64_t)fields));
}

static MlirValue insert_value(Gpu *g, MlirValue s, MlirValue v, int64_t i) {
    MlirType t = mlirValueGetType(s);
    MlirNamedAttribute p = ir_named(&g->b, "position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.insertvalue", 1, &t, 2, (MlirValue[]){s, v}, 1, &p, 0),
                                  0);
}

// The pipelined loop's dot on sm_90a: each warpgroup (4 warps: 64 rows of the accumulator)
// issues one wgmma m64nNk16 per 16-wide step of k, A (K-major) and B (N-major: imm-trans-b)
// read from the stage through descriptors. A's start moves 32 bytes per step (inside its
// swizzle atom; SBO: 8 rows), B's by 16 rows (SBO: 8 rows of 128 bytes; LBO: from one
// 64-column atom to the next). The accumulator's elements map onto wgmma's registers: d[4j +
// 2h + p] is row 8h + lane/4, column 8j + 2(lane%4) + p of the warp's 16 rows: element
// (h, 2j + p) of the layout. The wgmmas are waited for (wait_group 0) before the loop goes on,
// so that the next iteration's barrier frees the stage.
static DVal *dot_wgmma(Gpu *g, const Layout *LC, MlirValue acc) {
    const Pipe *p = g->pipe;
    int64_t N = LC->shape[1], K = p->cols[0];
    int E = layout_elems(LC);
    MlirType f32 = mlirF32TypeGet(g->b.ctx);
    MlirValue wg = bin(g, "arith.shrui", g->warp, cint(g, 2));
    MlirValue da = wgmma_desc(g, add(g, g->pipe_read, mul(g, wg, cint(g, 64 * K))), p->elem, 16,
                              8 * p->swz[0], p->swz[0]);
    MlirValue db = wgmma_desc(g, addc(g, g->pipe_read, p->boff), p->elem, p->rows[1] * 128, 1024, 128);
    MlirType *fs = malloc(sizeof(MlirType) * (size_t)E);
    MlirValue *out = malloc(sizeof(MlirValue) * (size_t)E);
    for (int i = 0; i < E; i++)
        fs[i] = f32;
    MlirType st = mlirLLVMStructTypeLiteralGet(g->b.ctx, E, fs, false);
    MlirValue d = ir_op1(&g->b, "llvm.mlir.undef", st, 0, NULL);
    int *elem = malloc(sizeof(int) * (size_t)E);  // register i <- layout element elem[i]
    for (int i = 0; i < E; i++) {
        int j = i / 4, h = (i / 2) % 2, q = i % 2;
        elem[i] = h * (int)(N / 4) + 2 * j + q;
        d = insert_value(g, d, extract(g, acc, elem[i]), i);
    }
    ir_op(&g->b, "nvvm.wgmma.fence.aligned", 0, NULL, 0, NULL, 0, NULL, 0);
    char shape[64];
    snprintf(shape, sizeof shape, "#nvvm.shape<m = 64, n = %lld, k = 16>", (long long)N);
    MlirAttribute ty =
        parse_attr(g, mlirTypeIsABF16(p->elem) ? "#nvvm.wgmma_type<bf16>" : "#nvvm.wgmma_type<f16>");
    MlirNamedAttribute wattrs[9] = {
        ir_named(&g->b, "shape", parse_attr(g, shape)),
        ir_named(&g->b, "typeA", ty),
        ir_named(&g->b, "typeB", ty),
        ir_named(&g->b, "typeD", parse_attr(g, "#nvvm.wgmma_type<f32>")),
        ir_named(&g->b, "scaleD", parse_attr(g, "#nvvm.wgmma_scale_out<one>")),
        ir_named(&g->b, "scaleA", parse_attr(g, "#nvvm.wgmma_scale_in<one>")),
        ir_named(&g->b, "scaleB", parse_attr(g, "#nvvm.wgmma_scale_in<one>")),
        ir_named(&g->b, "layoutA", parse_attr(g, "#nvvm.mma_layout<row>")),  // K-major
        ir_named(&g->b, "layoutB", parse_attr(g, "#nvvm.mma_layout<row>")),  // N-major (transposed)
    };
    for (int k = 0; k < K / 16; k++) {
        MlirValue ops[3] = {d, addc(g, da, 2 * k), addc(g, db, 128 * k)};
        d = mlirOperationGetResult(ir_op(&g->b, "nvvm.wgmma.mma_async", 1, &st, 3, ops, 9, wattrs, 0), 0);
    }
    ir_op(&g->b, "nvvm.wgmma.commit.group.sync.aligned", 0, NULL, 0, NULL, 0, NULL, 0);
    MlirNamedAttribute wait = ir_named(&g->b, "group", mlirIntegerAttrGet(i64t(g), 0));
    ir_op(&g->b, "nvvm.wgmma.wait.group.sync.aligned", 0, NULL, 0, NULL, 1, &wait, 0);
    for (int i = 0; i < E; i++)
        out[elem[i]] = extract_value(g, d, i, f32);
    MlirValue v = from_elements(g, f32, E, out);
    free(fs), free(out), free(elem);
    return dist_val(LC, v, f32);
}

// After the loop: no copy in flight; with TMA the mbarriers invalidated (their memory is
// ordinary shared memory again); a barrier.
static void pipe_epilogue(Gpu *g, const Pipe *p) {
    cp_async_wait(g, 0);
    if (p->tma)
        each_mbarrier(g, p, false);
    barrier(g);
}

// The pipelined loop's dot: acc += the stage of this iteration's A @ B.
static DVal *dot_mma_pipelined(Gpu *g, MlirOperation at, const DVal *c) {
    const Pipe *p = g->pipe;
    Layout LC;
    layout_for_dot(g, at, &LC);
    if (!p->wgmma && c->kind == DV_DIST && c->layout.warp_outer)
        LC = c->layout;
    MlirValue acc = materialize(g, at, c, &LC);
    if (g->failed)
        return NULL;
    if (p->wgmma)
        return dot_wgmma(g, &LC, acc);
    MmaOperands s = {
        .a = g->pipe_read, .b = addc(g, g->pipe_read, p->boff), .lda = p->ld[0], .ldb = p->ld[1]};
    return mma_dot(g, at, &LC, acc, p->elem, p->cols[0], &s);
}

// The layout for a tile `v` (of t's shape) made from no distributed tile (a broadcast bias):
// that of a distributed operand of t's shape of an elementwise op using it, so that the two
// meet without a conversion through shared memory; else the default.
static void user_layout(Gpu *g, MlirValue v, const DVal *t, Layout *L) {
    for (MlirOpOperand u = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u)) {
        MlirOperation user = mlirOpOperandGetOwner(u);
        if (!name_prefix(user, "arith.") && !name_prefix(user, "math."))
            continue;
        for (intptr_t i = 0; i < mlirOperationGetNumOperands(user); i++) {
            DVal *d = map_get(g, mlirOperationGetOperand(user, i));
            if (d && d->kind == DV_DIST && d->rank == t->rank &&
                !memcmp(d->shape, t->shape, sizeof(int64_t) * (size_t)t->rank)) {
                *L = d->layout;
                return;
            }
        }
    }
    layout_default(g, L, t->rank, t->shape, t->elem);
}

// An arith or math op on tiles: on each thread's elements, in the layout of its first
// distributed operand (or the default); on scalars when every operand is uniform.
static void convert_elementwise(Gpu *g, MlirOperation o) {
    int n = (int)mlirOperationGetNumOperands(o);
    DVal *res = tensor_result(o, 0, DV_DIST);
    if (res->kind == DV_NONE || mlirOperationGetNumResults(o) != 1) {
        unsupported(g, o, "this operation on tiles");
        return;
    }
    DVal *ins[8];
    const DVal *anchor = NULL;
    bool all_uniform = true;
    for (int i = 0; i < n && i < 8; i++) {
        ins[i] = get(g, mlirOperationGetOperand(o, i));
        if (ins[i]->kind == DV_DIST && !anchor)
            anchor = ins[i];
        if (ins[i]->kind != DV_UNIFORM && ins[i]->kind != DV_SCALAR)
            all_uniform = false;
    }
    MlirValue ops[8];
    if (all_uniform) {
        for (int i = 0; i < n; i++)
            ops[i] = ins[i]->v;
        MlirOperation r = recreate(g, o, n, ops, 1, &res->elem, 0);
        map_put(g, mlirOperationGetResult(o, 0),
                uniform_val(mlirOperationGetResult(r, 0), res->rank, res->shape));
        return;
    }
    Layout L;
    if (anchor && anchor->rank == res->rank)
        L = anchor->layout;
    else
        user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    int E = layout_elems(&L);
    for (int i = 0; i < n; i++)
        ops[i] = ins[i]->kind == DV_SCALAR ? ins[i]->v : materialize(g, o, ins[i], &L);
    MlirType rt = vec(res->elem, E);
    MlirOperation r = recreate(g, o, n, ops, 1, &rt, 0);
    map_put(g, mlirOperationGetResult(o, 0), dist_val(&L, mlirOperationGetResult(r, 0), res->elem));
}

// The element addresses of tensor `m` at the indices that are operands first.. of `op` (per-thread
// index vectors, or scalars; index or i64): a vector<E> of pointers. Null after reporting an
// index not converted.
static MlirValue element_ptrs(Gpu *g, const DVal *m, MlirOperation op, int first, int E) {
    MlirValue lin = splat(g, cint(g, 0), E);
    for (int d = 0; d < m->rank; d++) {
        DVal *x = map_get(g, mlirOperationGetOperand(op, first + d));
        if (!x) {
            unsupported(g, op, "this index in an elementwise body");
            return NULL_VALUE;
        }
        MlirValue i = x->v;
        if (!mlirTypeIsAVector(mlirValueGetType(i)))
            i = splat(g, to_i64(g, i), E);
        else if (mlirTypeIsAIndex(mlirShapedTypeGetElementType(mlirValueGetType(i))))
            i = ir_op1(&g->b, "arith.index_cast", vec(i64t(g), E), 1, &i);
        if (m->offs[d].ptr)
            i = add(g, i, splat(g, m->offs[d], E));
        lin = add(g, lin, mul(g, i, splat(g, m->strides[d], E)));
    }
    return gep(g, m->ptr, lin, m->elem);
}

// A body value as the vector of this thread's E elements (a scalar splat).
static MlirValue body_vector(Gpu *g, const DVal *x, int E) {
    return x->kind == DV_DIST ? x->v : splat(g, x->v, E);
}

// A gather's element read in an elementwise body (emit.c's read_if_inside):
// scf.if %inside { tensor.extract %tensor[%i...] } else { %other }, on vectors: one masked
// gather of the thread's elements. False (reported) for any other scf.if.
static bool convert_body_read(Gpu *g, MlirOperation f, const Layout *L) {
    int E = layout_elems(L);
    MlirBlock then = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 0));
    MlirBlock els = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 1));
    MlirOperation ex = mlirBlockIsNull(then) ? (MlirOperation){NULL} : mlirBlockGetFirstOperation(then);
    if (mlirOperationGetNumResults(f) != 1 || mlirBlockIsNull(els) || mlirOperationIsNull(ex) ||
        !ir_op_is(ex, "tensor.extract") || !ir_op_is(mlirOperationGetNextInBlock(ex), "scf.yield") ||
        !ir_op_is(mlirBlockGetFirstOperation(els), "scf.yield")) {
        unsupported(g, f, "this operation in an elementwise body");
        return false;
    }
    DVal *m = map_get(g, mlirOperationGetOperand(ex, 0));
    if (!m || m->kind != DV_MEMREF || (int)mlirOperationGetNumOperands(ex) != 1 + m->rank) {
        unsupported(g, f, "this read in an elementwise body");
        return false;
    }
    DVal *c = map_get(g, mlirOperationGetOperand(f, 0));
    DVal *o = map_get(g, mlirOperationGetOperand(mlirBlockGetFirstOperation(els), 0));
    if (!c || !o) {
        unsupported(g, f, "this read in an elementwise body");
        return false;
    }
    MlirValue ops[3] = {element_ptrs(g, m, ex, 1, E), body_vector(g, c, E), body_vector(g, o, E)};
    if (!ops[0].ptr)
        return false;
    MlirType vt = vec(m->elem, E);
    MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), elem_bytes(m->elem)));
    MlirValue v =
        mlirOperationGetResult(ir_op(&g->b, "llvm.intr.masked.gather", 1, &vt, 3, ops, 1, &al, 0), 0);
    map_put(g, mlirOperationGetResult(f, 0), dist_val(L, v, m->elem));
    return true;
}

// The positions along dim d of this thread's elements of layout L (vector<E x index>).
static MlirValue layout_positions(Gpu *g, const Layout *L, int d) {
    int E = layout_elems(L);
    MlirValue base[R];
    layout_base(g, L, base);
    MlirValue *xs = malloc(sizeof(MlirValue) * (size_t)E);
    for (int e = 0; e < E; e++) {
        int r[R];
        layout_digits(L, e, r);
        MlirValue p = addc(g, base[d], digit_offset(L, d, r[d]));
        xs[e] = ir_op1(&g->b, "arith.index_cast", mlirIndexTypeGet(g->b.ctx), 1, &p);
    }
    MlirValue v = from_elements(g, mlirIndexTypeGet(g->b.ctx), E, xs);
    free(xs);
    return v;
}

// The context of convert_body: the layout of the elements and, in a scatter nest, its
// induction variables.
typedef struct Body {
    const Layout *L;
    int nivs;
    MlirValue ivs[R];  // a scatter nest's induction variables, outermost first
} Body;

static MlirOperation convert_body(Gpu *g, MlirBlock body, const Body *bd);

// A masked store's element write in a scatter nest's body (emit.c's scatter_loops):
// scf.if %inside { %v = tensor.extract %tile[ivs]; memref.store %v, %tensor[%i...] } on
// vectors: one masked scatter of the thread's elements (replicated copies write the same
// values).
static bool convert_body_write(Gpu *g, MlirOperation f, const Body *bd) {
    const Layout *L = bd->L;
    int E = layout_elems(L);
    MlirBlock then = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 0));
    MlirOperation st = mlirBlockIsNull(then) ? (MlirOperation){NULL} : convert_body(g, then, bd);
    if (g->failed)
        return false;
    if (mlirOperationGetNumResults(f) != 0 || mlirOperationIsNull(st) || !ir_op_is(st, "memref.store") ||
        !ir_op_is(mlirOperationGetNextInBlock(st), "scf.yield")) {
        unsupported(g, f, "this operation in a scatter");
        return false;
    }
    DVal *m = map_get(g, mlirOperationGetOperand(st, 1));
    DVal *val = map_get(g, mlirOperationGetOperand(st, 0));
    DVal *c = map_get(g, mlirOperationGetOperand(f, 0));
    if (!m || m->kind != DV_MEMREF || !val || !c || (int)mlirOperationGetNumOperands(st) != 2 + m->rank) {
        unsupported(g, f, "this store in a scatter");
        return false;
    }
    MlirValue ops[3] = {body_vector(g, val, E), element_ptrs(g, m, st, 2, E), body_vector(g, c, E)};
    if (!ops[1].ptr)
        return false;
    MlirNamedAttribute al = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i32t(g), elem_bytes(m->elem)));
    ir_op(&g->b, "llvm.intr.masked.scatter", 0, NULL, 3, ops, 1, &al, 0);
    return true;
}

// The body of an elementwise op (linalg.generic) or of a scatter nest, op by op on the
// vectors of this thread's elements in layout L: linalg.index and the nest's induction
// variables are the elements' positions, a gather's guarded read is a masked gather, a
// guarded store a masked scatter, `tensor.extract %tile[ivs]` the tile in layout L. Returns
// the terminator (linalg.yield or scf.yield) or a memref.store (convert_body_write's), not
// converted; null after an error (reported).
static MlirOperation convert_body(Gpu *g, MlirBlock body, const Body *bd) {
    const Layout *L = bd->L;
    int E = layout_elems(L);
    for (MlirOperation b = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(b) && !g->failed;
         b = mlirOperationGetNextInBlock(b)) {
        if (ir_op_is(b, "linalg.yield") || ir_op_is(b, "scf.yield") || ir_op_is(b, "memref.store"))
            return b;
        if (ir_op_is(b, "linalg.index")) {
            int d = (int)mlirIntegerAttrGetValueInt(attr(b, "dim"));
            map_put(g, mlirOperationGetResult(b, 0),
                    dist_val(L, layout_positions(g, L, d), mlirIndexTypeGet(g->b.ctx)));
            continue;
        }
        if (ir_op_is(b, "scf.if")) {
            if (mlirOperationGetNumResults(b) ? !convert_body_read(g, b, L) : !convert_body_write(g, b, bd))
                return (MlirOperation){NULL};
            continue;
        }
        if (ir_op_is(b, "tensor.extract") && bd->nivs) {
            bool at_ivs = (int)mlirOperationGetNumOperands(b) == 1 + bd->nivs;
            for (int d = 0; at_ivs && d < bd->nivs; d++)
                at_ivs = mlirValueEqual(mlirOperationGetOperand(b, 1 + d), bd->ivs[d]);
            DVal *x = get(g, mlirOperationGetOperand(b, 0));
            if (!at_ivs || g->failed) {
                unsupported(g, b, "this read in a scatter");
                return (MlirOperation){NULL};
            }
            MlirValue v = materialize(g, b, x, L);
            map_put(g, mlirOperationGetResult(b, 0), dist_val(L, v, x->elem));
            continue;
        }
        if (mlirOperationGetNumRegions(b) || mlirOperationGetNumResults(b) != 1 ||
            !(name_prefix(b, "arith.") || name_prefix(b, "math."))) {
            unsupported(g, b, "this operation in an elementwise body");
            return (MlirOperation){NULL};
        }
        int n = (int)mlirOperationGetNumOperands(b);
        MlirValue ops[8];
        for (int i = 0; i < n && i < 8; i++) {
            MlirValue v = mlirOperationGetOperand(b, i);
            DVal *d = map_get(g, v);
            if (!d) {  // a constant of the body not converted yet
                unsupported(g, b, "this operand in an elementwise body");
                return (MlirOperation){NULL};
            }
            ops[i] = d->kind == DV_DIST ? d->v : splat(g, d->v, E);
        }
        MlirType el = mlirValueGetType(mlirOperationGetResult(b, 0));
        MlirType rt = vec(el, E);
        if (n == 0) {  // a constant: a scalar, splat where used
            MlirOperation c = mlirOperationClone(b);
            mlirBlockAppendOwnedOperation(g->b.block, c);
            map_put(g, mlirOperationGetResult(b, 0), scalar_val(mlirOperationGetResult(c, 0)));
            continue;
        }
        MlirOperation r = recreate(g, b, n, ops, 1, &rt, 0);
        map_put(g, mlirOperationGetResult(b, 0), dist_val(L, mlirOperationGetResult(r, 0), el));
    }
    if (!g->failed)
        internal_error(__FILE__, __LINE__, "GPU back end: a body without a terminator");
    return (MlirOperation){NULL};
}

// A scatter nest (scf.for loops over a tile's shape marked tilec.scatter by emit.c, a guarded
// store per element): its innermost body once, on vectors, in the layout of the stored tile.
static void convert_scatter(Gpu *g, MlirOperation o) {
    Body bd = {0};
    MlirOperation loop = o;
    int64_t shape[R];
    MlirBlock inner = {NULL};
    while (!mlirOperationIsNull(loop) && ir_op_is(loop, "scf.for") && bd.nivs < R) {
        MlirValue ub = mlirOperationGetOperand(loop, 1);
        MlirOperation c = mlirValueIsAOpResult(ub) ? mlirOpResultGetOwner(ub) : (MlirOperation){NULL};
        if (mlirOperationIsNull(c) || !ir_op_is(c, "arith.constant"))
            break;
        shape[bd.nivs] = mlirIntegerAttrGetValueInt(attr(c, "value"));
        inner = mlirRegionGetFirstBlock(mlirOperationGetRegion(loop, 0));
        bd.ivs[bd.nivs++] = mlirBlockGetArgument(inner, 0);
        loop = mlirBlockGetFirstOperation(inner);  // the next loop, after its bounds' constants
        while (!mlirOperationIsNull(loop) && ir_op_is(loop, "arith.constant"))
            loop = mlirOperationGetNextInBlock(loop);
    }
    if (!bd.nivs || mlirBlockIsNull(inner)) {
        unsupported(g, o, "this scatter");
        return;
    }
    // The layout: that of the stored tile (the first tile the body reads at the ivs).
    Layout L;
    bool have = false;
    for (MlirOperation b = mlirBlockGetFirstOperation(inner); !mlirOperationIsNull(b) && !have;
         b = mlirOperationGetNextInBlock(b))
        if (ir_op_is(b, "tensor.extract")) {
            DVal *x = map_get(g, mlirOperationGetOperand(b, 0));
            if (x && x->kind == DV_DIST && x->rank == bd.nivs &&
                !memcmp(x->shape, shape, sizeof(int64_t) * (size_t)bd.nivs))
                L = x->layout, have = true;
        }
    if (!have)
        layout_default(g, &L, bd.nivs, shape, mlirF32TypeGet(g->b.ctx));
    bd.L = &L;
    for (int d = 0; d < bd.nivs; d++)
        map_put(g, bd.ivs[d], dist_val(&L, layout_positions(g, &L, d), mlirIndexTypeGet(g->b.ctx)));
    convert_body(g, inner, &bd);
}

// linalg.generic with parallel iterators: its body on each thread's elements, inputs brought to
// the output's layout (broadcast along the dims their maps leave out).
static void convert_generic(Gpu *g, MlirOperation o) {
    DVal *res = tensor_result(o, 0, DV_DIST);
    MlirAttribute maps = attr(o, "indexing_maps");
    char iters[512] = "";
    mlirAttributePrint(attr(o, "iterator_types"), ir_print_to_text, &(IRText){iters, sizeof iters, 0});
    if (strstr(iters, "reduction")) {
        unsupported(g, o, "a linalg.generic with a reduction");
        return;
    }
    int nops = (int)mlirOperationGetNumOperands(o), nres = (int)mlirOperationGetNumResults(o);
    int nin = nops - nres;
    if (res->kind == DV_NONE || nres != 1 || nin > 8) {
        unsupported(g, o, "this linalg.generic");
        return;
    }
    // The output's layout: that of an input read without broadcasting, else the default.
    // dims[i][j]: the output dim input i's dim j runs along, or -1 for a unit dim the map
    // gives as the constant 0 (a broadcast: `bias[n : n + BN][None, :]`).
    Layout L;
    bool have = false, plain[8];
    int dims[8][R];
    for (int i = 0; i < nin; i++) {
        MlirAffineMap m = mlirAffineMapAttrGetValue(mlirArrayAttrGetElement(maps, i));
        int nr = (int)mlirAffineMapGetNumResults(m), last = -1;
        plain[i] = nr == res->rank;
        for (int j = 0; j < nr; j++) {
            MlirAffineExpr ex = mlirAffineMapGetResult(m, j);
            if (mlirAffineExprIsAConstant(ex) && mlirAffineConstantExprGetValue(ex) == 0) {
                dims[i][j] = -1;
                plain[i] = false;
                continue;
            }
            if (!mlirAffineExprIsADim(ex)) {
                unsupported(g, o, "this indexing map");
                return;
            }
            dims[i][j] = (int)mlirAffineDimExprGetPosition(ex);
            if (dims[i][j] <= last) {
                unsupported(g, o, "transposing indexing maps");
                return;
            }
            plain[i] &= dims[i][j] == j;
            last = dims[i][j];
        }
        DVal *in = get(g, mlirOperationGetOperand(o, i));
        if (!have && in->kind == DV_DIST && plain[i]) {
            L = in->layout;
            have = true;
        }
    }
    if (!have)
        user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    int E = layout_elems(&L);
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    for (int i = 0; i < nin; i++) {
        DVal *in = get(g, mlirOperationGetOperand(o, i));
        MlirValue v;
        if (in->kind == DV_SCALAR)
            v = splat(g, in->v, E);
        else if (plain[i])
            v = materialize(g, o, in, &L);
        else
            v = broadcast_to(g, o, in, &L, dims[i]);
        MlirType el = mlirValueGetType(mlirBlockGetArgument(body, i));
        map_put(g, mlirBlockGetArgument(body, i), dist_val(&L, v, el));
    }
    // The body, op by op, on vectors.
    Body bd = {.L = &L};
    MlirOperation y = convert_body(g, body, &bd);
    if (g->failed)
        return;
    DVal *yv = get(g, mlirOperationGetOperand(y, 0));
    MlirValue v = yv->kind == DV_DIST ? yv->v : splat(g, yv->v, E);
    map_put(g, mlirOperationGetResult(o, 0), dist_val(&L, v, res->elem));
}

static void convert_reduce(Gpu *g, MlirOperation o) {
    MlirOperation comb = combiner(o);
    if (mlirOperationIsNull(comb) || mlirOperationGetNumOperands(o) != 2) {
        unsupported(g, o, "this reduction");
        return;
    }
    DVal *x = get(g, mlirOperationGetOperand(o, 0));
    DVal *init = get(g, mlirOperationGetOperand(o, 1));
    DVal *cur = x;
    if (cur->kind != DV_DIST) {
        Layout L;
        natural_layout(g, cur, &L);
        cur = dist_val(&L, materialize(g, o, cur, &L), x->elem);
    }
    MlirAttribute dims = attr(o, "dimensions");
    int nd = (int)mlirDenseArrayGetNumElements(dims);
    for (int i = nd - 1; i >= 0 && !g->failed; i--)
        cur = reduce_dim(g, o, comb, cur, (int)dense_at(dims, i));
    if (g->failed)
        return;
    // Then the initial value.
    if (cur->kind == DV_UNIFORM) {
        MlirValue iv = init->kind == DV_UNIFORM || init->kind == DV_SCALAR ? init->v : NULL_VALUE;
        if (!iv.ptr) {
            unsupported(g, o, "this reduction's initial value");
            return;
        }
        cur = uniform_val(combine(g, comb, cur->v, iv), cur->rank, cur->shape);
    } else {
        MlirValue iv = materialize(g, o, init, &cur->layout);
        cur = dist_val(&cur->layout, combine(g, comb, cur->v, iv), cur->elem);
    }
    map_put(g, mlirOperationGetResult(o, 0), cur);
}

// tensor.collapse_shape / expand_shape: the same elements; a layout with unit dims added or
// removed when only unit dims change, else through shared memory.
static void convert_reshape(Gpu *g, MlirOperation o) {
    DVal *x = get(g, mlirOperationGetOperand(o, 0));
    DVal *res = tensor_result(o, 0, DV_DIST);
    if (x->kind == DV_UNIFORM) {
        map_put(g, mlirOperationGetResult(o, 0), uniform_val(x->v, res->rank, res->shape));
        return;
    }
    if (x->kind == DV_LOAD && res->rank > x->rank) {
        // Unit dims added to a slice in memory (`bias[n : n + BN][None, :]`): still unread, so
        // the consumer reads it in the layout it needs.
        DVal *d = dval_new(DV_LOAD);
        *d = *x;
        d->rank = res->rank;
        memcpy(d->shape, res->shape, sizeof d->shape);
        int j = 0;
        for (int i = 0; i < res->rank; i++) {
            if (j < x->rank && res->shape[i] == x->shape[j]) {
                d->offs[i] = x->offs[j], d->sizes[i] = x->sizes[j], d->strides[i] = x->strides[j];
                d->low[i] = x->low[j++];
            } else if (res->shape[i] == 1) {
                d->offs[i] = cint(g, 0), d->sizes[i] = cint(g, 1), d->strides[i] = cint(g, 0);
                d->low[i] = NULL_VALUE;
            } else {
                break;
            }
        }
        if (j == x->rank) {
            map_put(g, mlirOperationGetResult(o, 0), d);
            return;
        }
    }
    if (x->kind == DV_LOAD && res->rank < x->rank && res->rank > 0) {
        // Unit dims removed from a slice in memory (a batch index: `A[b, m : m + BM, ...]`):
        // still unread, its offset along them folded into the pointer; with padding, a slice
        // empty along one of them (past the end) becomes empty along its first kept dim.
        DVal *d = dval_new(DV_LOAD);
        *d = *x;
        d->rank = res->rank;
        memcpy(d->shape, res->shape, sizeof d->shape);
        MlirValue inside = NULL_VALUE;
        int j = 0;
        bool ok = true;
        for (int i = 0; i < x->rank && ok; i++) {
            if (j < res->rank && x->shape[i] == res->shape[j]) {
                d->offs[j] = x->offs[i], d->sizes[j] = x->sizes[i], d->strides[j] = x->strides[i];
                d->low[j++] = x->low[i];
            } else if (x->shape[i] == 1 && !x->low[i].ptr) {
                d->ptr = gep(g, d->ptr, mul(g, x->offs[i], x->strides[i]), x->elem);
                if (x->pad.ptr) {
                    MlirValue in = cmp(g, CMP_SLT, cint(g, 0), x->sizes[i]);
                    inside = inside.ptr ? bin(g, "arith.andi", inside, in) : in;
                }
            } else {
                ok = false;
            }
        }
        if (ok && j == res->rank) {
            if (inside.ptr)
                d->sizes[0] =
                    ir_op1(&g->b, "arith.select", i64t(g), 3, (MlirValue[]){inside, d->sizes[0], cint(g, 0)});
            map_put(g, mlirOperationGetResult(o, 0), d);
            return;
        }
    }
    Layout src;
    natural_layout(g, x, &src);
    MlirValue v = materialize(g, o, x, &src);
    // Non-unit dims in order must match.
    int a[R], b[R], na = 0, nb = 0;
    for (int d = 0; d < src.rank; d++)
        if (src.shape[d] != 1)
            a[na++] = d;
    for (int d = 0; d < res->rank; d++)
        if (res->shape[d] != 1)
            b[nb++] = d;
    bool same = na == nb;
    for (int i = 0; same && i < na; i++)
        same = src.shape[a[i]] == res->shape[b[i]];
    Layout L = {.rank = res->rank, .warp_outer = src.warp_outer};
    if (same) {
        for (int d = 0; d < res->rank; d++) {
            L.shape[d] = res->shape[d];
            L.spt[d] = L.tpw[d] = L.wpc[d] = L.reps[d] = 1;
        }
        for (int i = 0; i < na; i++) {
            int s = a[i], d = b[i];
            L.spt[d] = src.spt[s], L.tpw[d] = src.tpw[s], L.wpc[d] = src.wpc[s], L.reps[d] = src.reps[s];
            L.lane_shift[d] = src.lane_shift[s], L.warp_shift[d] = src.warp_shift[s];
        }
        map_put(g, mlirOperationGetResult(o, 0), dist_val(&L, v, res->elem));
        return;
    }
    layout_default(g, &L, res->rank, res->shape, res->elem);
    DVal *xs = dist_val(&src, v, x->elem);
    map_put(g, mlirOperationGetResult(o, 0), dist_val(&L, convert_layout(g, xs, &L), res->elem));
}

// linalg.transpose: the tile goes to shared memory with its dims' strides permuted and is read
// back row-major in the layout its users want (the default when none is distributed).
static void convert_transpose(Gpu *g, MlirOperation o) {
    DVal *x = get(g, mlirOperationGetOperand(o, 0));
    DVal *res = tensor_result(o, 0, DV_DIST);
    MlirAttribute perm = attr(o, "permutation");
    if (res->kind == DV_NONE || mlirAttributeIsNull(perm) ||
        (int)mlirDenseArrayGetNumElements(perm) != res->rank) {
        unsupported(g, o, "this transpose");
        return;
    }
    if (x->kind == DV_UNIFORM) {
        map_put(g, mlirOperationGetResult(o, 0), uniform_val(x->v, res->rank, res->shape));
        return;
    }
    Layout src, L;
    natural_layout(g, x, &src);
    DVal *xd = dist_val(&src, materialize(g, o, x, &src), x->elem);
    if (g->failed)
        return;
    // Result dim i is input dim perm[i]: input dim perm[i] steps by the result's stride i.
    int64_t rs[R], xs[R], n = 1;
    row_major(res->rank, res->shape, rs);
    for (int i = 0; i < res->rank; i++) {
        xs[dense_at(perm, i)] = rs[i];
        n *= res->shape[i];
    }
    smem_need(g, n * elem_bytes(x->elem));
    smem_write(g, xd, xs, cint(g, 0));
    barrier(g);
    user_layout(g, mlirOperationGetResult(o, 0), res, &L);
    MlirValue v = smem_read(g, &L, x->elem, rs, cint(g, 0));
    barrier(g);
    map_put(g, mlirOperationGetResult(o, 0), dist_val(&L, v, res->elem));
}

// tensor.extract: a scalar of a tile (or of a tensor in memory).
static void convert_extract(Gpu *g, MlirOperation o) {
    DVal *x = get(g, mlirOperationGetOperand(o, 0));
    int n = (int)mlirOperationGetNumOperands(o) - 1;
    MlirValue idx[R];
    for (int i = 0; i < n; i++)
        idx[i] = to_i64(g, scalar_of(g, o, mlirOperationGetOperand(o, 1 + i)));
    MlirValue r;
    if (x->kind == DV_UNIFORM) {
        r = x->v;
    } else if (x->kind == DV_MEMREF) {
        MlirValue lin = cint(g, 0);
        for (int d = 0; d < n; d++)
            lin = add(g, lin, mul(g, x->offs[d].ptr ? add(g, x->offs[d], idx[d]) : idx[d], x->strides[d]));
        r = load(g, x->elem, gep(g, x->ptr, lin, x->elem), elem_bytes(x->elem));
    } else {
        Layout L;
        natural_layout(g, x, &L);
        DVal *d = dist_val(&L, materialize(g, o, x, &L), x->elem);
        int64_t stride[R], total = 1;
        row_major(d->rank, d->shape, stride);
        for (int i = 0; i < d->rank; i++)
            total *= d->shape[i];
        smem_need(g, total * elem_bytes(x->elem));
        smem_write(g, d, stride, cint(g, 0));
        barrier(g);
        MlirValue lin = cint(g, 0);
        for (int i = 0; i < n; i++)
            lin = add(g, lin, mul(g, idx[i], cint(g, stride[i])));
        r = load(g, x->elem, smem_at(g, lin, x->elem), elem_bytes(x->elem));
        barrier(g);
    }
    map_put(g, mlirOperationGetResult(o, 0), scalar_val(r));
}

static void convert_slice(Gpu *g, MlirOperation o) {
    DVal *src = get(g, mlirOperationGetOperand(o, 0));
    DVal *res = tensor_result(o, 0, DV_NONE);
    int rank = (int)mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetOperand(o, 0)));
    int next = 1;
    MlirValue offs[R], sizes[R], strides[R];
    mixed(g, o, "static_offsets", rank, &next, offs);
    mixed(g, o, "static_sizes", rank, &next, sizes);
    mixed(g, o, "static_strides", rank, &next, strides);
    for (int d = 0; d < rank; d++)
        if (dense_at(attr(o, "static_strides"), d) != 1)
            unsupported(g, o, "strided slices");
    if (res->rank != rank)
        unsupported(g, o, "rank-reducing slices");
    if (g->failed)
        return;
    DVal *d = dval_new(src->kind == DV_MEMREF ? DV_LOAD : DV_SUBTILE);
    d->rank = rank;
    memcpy(d->shape, res->shape, sizeof d->shape);
    d->elem = src->elem.ptr ? src->elem : res->elem;
    for (int i = 0; i < rank; i++) {
        d->offs[i] = src->kind == DV_MEMREF && src->offs[i].ptr ? add(g, src->offs[i], offs[i]) : offs[i];
        d->sizes[i] = sizes[i];
    }
    if (src->kind == DV_MEMREF) {
        d->ptr = src->ptr;
        memcpy(d->strides, src->strides, sizeof d->strides);
        d->elem = res->elem;
    } else if (src->kind == DV_DIST || src->kind == DV_UNIFORM) {
        d->src = src;
    } else {
        unsupported(g, o, "this slice");
    }
    map_put(g, mlirOperationGetResult(o, 0), d);
}

static void convert_pad(Gpu *g, MlirOperation o) {
    DVal *src = get(g, mlirOperationGetOperand(o, 0));
    DVal *res = tensor_result(o, 0, DV_LOAD);
    if (src->kind != DV_LOAD) {
        unsupported(g, o, "padding a tile");
        return;
    }
    *res = *src;
    tensor_info(mlirValueGetType(mlirOperationGetResult(o, 0)), &res->rank, res->shape, &res->elem);
    int next = 1;
    MlirValue low[R];
    mixed(g, o, "static_low", res->rank, &next, low);
    for (int d = 0; d < res->rank; d++)
        res->low[d] = dense_at(attr(o, "static_low"), d) == 0 ? NULL_VALUE : low[d];
    // The padding value: the body's yield operand (a constant inside the body, or a value).
    MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    MlirOperation y = mlirBlockGetTerminator(body);
    MlirValue pv = mlirOperationGetOperand(y, 0);
    DVal *pd = map_get(g, pv);
    if (pd && pd->kind == DV_SCALAR) {
        res->pad = pd->v;
    } else if (mlirValueIsAOpResult(pv) && ir_op_is(mlirOpResultGetOwner(pv), "arith.constant")) {
        MlirOperation c = mlirOperationClone(mlirOpResultGetOwner(pv));
        mlirBlockAppendOwnedOperation(g->b.block, c);
        res->pad = mlirOperationGetResult(c, 0);
    } else {
        unsupported(g, o, "this padding value");
        return;
    }
    map_put(g, mlirOperationGetResult(o, 0), res);
}

// The layout of the distributed tile that `v` (of t's shape) is computed from: v itself when
// converted already, else traced back through elementwise ops (operands of t's shape) and the
// branches of ifs to a converted tile or a dot's accumulator. `budget` bounds the search.
static bool traced_layout(Gpu *g, MlirValue v, const DVal *t, Layout *L, int *budget) {
    if (--*budget < 0)
        return false;
    DVal *d = map_get(g, v);
    if (d)
        return d->kind == DV_DIST && d->rank == t->rank &&
               !memcmp(d->shape, t->shape, sizeof(int64_t) * (size_t)t->rank) && (*L = d->layout, true);
    if (!mlirValueIsAOpResult(v))
        return false;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (ir_op_is(def, "linalg.matmul")) {
        layout_for_dot(g, def, L);
        return true;
    }
    if (ir_op_is(def, "scf.if")) {
        for (int r = 0; r < 2; r++) {
            MlirBlock blk = mlirRegionGetFirstBlock(mlirOperationGetRegion(def, r));
            if (!mlirBlockIsNull(blk) &&
                traced_layout(
                    g, mlirOperationGetOperand(mlirBlockGetTerminator(blk), mlirOpResultGetResultNumber(v)),
                    t, L, budget))
                return true;
        }
        return false;
    }
    if (!ir_op_is(def, "linalg.generic") && !name_prefix(def, "arith.") && !name_prefix(def, "math."))
        return false;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(def); i++) {
        MlirValue x = mlirOperationGetOperand(def, i);
        MlirType xt = mlirValueGetType(x);
        bool same = mlirTypeIsARankedTensor(xt) && mlirShapedTypeGetRank(xt) == t->rank;
        for (int k = 0; same && k < t->rank; k++)
            same = mlirShapedTypeGetDimSize(xt, k) == t->shape[k];
        if (same && traced_layout(g, x, t, L, budget))
            return true;
    }
    return false;
}

// The layout a loop-carried or yielded tile keeps: that of the tile it is computed from
// (traced_layout: an activation's chain of ifs keeps a dot's accumulator layout instead of
// converting it through shared memory), else the default for its shape.
static void carried_layout(Gpu *g, MlirValue yielded, const DVal *t, Layout *L) {
    int budget = 256;
    if (!traced_layout(g, yielded, t, L, &budget))
        layout_default(g, L, t->rank, t->shape, t->elem);
}

// scf.for, scf.if, scf.while, ...: rebuilt with the per-thread types; tiles they carry get the
// layout of carried_layout (scf.for and scf.if only).
static void convert_region_op(Gpu *g, MlirOperation o) {
    int nres = (int)mlirOperationGetNumResults(o), nops = (int)mlirOperationGetNumOperands(o);
    bool is_for = ir_op_is(o, "scf.for"), is_if = ir_op_is(o, "scf.if");
    if (g->nframes == 32 || nres > 64 || nops > 64) {
        unsupported(g, o, "control flow nested this deeply");
        return;
    }
    RegionFrame *f = &g->frames[g->nframes];
    f->op = o;
    f->n = nres;
    f->results = ast_alloc(sizeof(DVal) * (size_t)(nres ? nres : 1));
    MlirType rtypes[64];
    MlirBlock first = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, 0));
    MlirOperation term = mlirBlockGetTerminator(first);
    for (int i = 0; i < nres; i++) {
        DVal *t = tensor_result(o, i, DV_DIST);
        if (t->kind == DV_NONE) {
            f->results[i] = (DVal){.kind = DV_SCALAR};
            rtypes[i] = mlirValueGetType(mlirOperationGetResult(o, i));
            continue;
        }
        if (!is_for && !is_if) {
            unsupported(g, o, "tiles carried by this loop");
            return;
        }
        Layout L;
        carried_layout(g, mlirOperationGetOperand(term, i), t, &L);
        f->results[i] = *dist_val(&L, NULL_VALUE, t->elem);
        rtypes[i] = vec(t->elem, layout_elems(&L));
    }
    Pipe pipe;
    bool piped = is_for && pipe_find(g, o, &pipe);
    MlirValue ops[64 + 3];
    for (int i = 0; i < nops; i++) {
        DVal *d = get(g, mlirOperationGetOperand(o, i));
        int r = is_for ? i - 3 : -1;  // scf.for: lb, ub, step, then the inits of the results
        if (r >= 0 && f->results[r].kind == DV_DIST)
            ops[i] = materialize(g, o, d, &f->results[r].layout);
        else if (d->kind == DV_SCALAR)
            ops[i] = d->v;
        else
            unsupported(g, o, "tiles carried by this loop");
    }
    if (piped)
        pipe_prologue(g, &pipe, ops[0], ops[1], ops[2]);
    if (g->failed)
        return;
    int nreg = (int)mlirOperationGetNumRegions(o);
    MlirOperation n = recreate(g, o, nops, ops, nres, rtypes, nreg);
    g->nframes++;
    MlirBlock save = g->b.block;
    for (int r = 0; r < nreg && !g->failed; r++) {
        MlirBlock src = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r));
        if (mlirBlockIsNull(src))
            continue;
        if (!mlirBlockIsNull(mlirBlockGetNextInRegion(src))) {
            unsupported(g, o, "regions of several blocks");
            break;
        }
        int na = (int)mlirBlockGetNumArguments(src);
        MlirType at[64 + 1];
        for (int i = 0; i < na && i < 65; i++) {
            at[i] = mlirValueGetType(mlirBlockGetArgument(src, i));
            if (is_for && i > 0)
                at[i] = rtypes[i - 1];
            else if (mlirTypeIsARankedTensor(at[i]))
                unsupported(g, o, "tiles carried by this loop");
        }
        MlirBlock dst = ir_region_block(&g->b, n, r, na, at);
        for (int i = 0; i < na; i++) {
            MlirValue arg = mlirBlockGetArgument(dst, i);
            if (is_for && i > 0 && f->results[i - 1].kind == DV_DIST)
                map_put(g, mlirBlockGetArgument(src, i),
                        dist_val(&f->results[i - 1].layout, arg, f->results[i - 1].elem));
            else
                map_put(g, mlirBlockGetArgument(src, i), scalar_val(arg));
        }
        g->b.block = dst;
        const Pipe *outer = g->pipe;
        MlirValue outer_read = g->pipe_read, outer_smem = g->smem;
        int64_t outer_reserved = g->smem_reserved;
        if (piped)
            pipe_iteration(g, &pipe, ops[0], ops[1], ops[2], mlirBlockGetArgument(dst, 0));
        convert_block(g, src);
        g->pipe = outer, g->pipe_read = outer_read, g->smem = outer_smem, g->smem_reserved = outer_reserved;
    }
    g->b.block = save;
    g->nframes--;
    if (piped)  // the stages (and mbarriers) are free for whatever follows
        pipe_epilogue(g, &pipe);
    for (int i = 0; i < nres; i++) {
        MlirValue v = mlirOperationGetResult(n, i);
        map_put(g, mlirOperationGetResult(o, i),
                f->results[i].kind == DV_DIST ? dist_val(&f->results[i].layout, v, f->results[i].elem)
                                              : scalar_val(v));
    }
}

// scf.yield: the values in the layouts the enclosing op fixed.
static void convert_yield(Gpu *g, MlirOperation o) {
    RegionFrame *f = g->nframes ? &g->frames[g->nframes - 1] : NULL;
    int n = (int)mlirOperationGetNumOperands(o);
    MlirValue ops[64];
    for (int i = 0; i < n && i < 64; i++) {
        DVal *d = get(g, mlirOperationGetOperand(o, i));
        if (f && i < f->n && f->results[i].kind == DV_DIST)
            ops[i] = materialize(g, o, d, &f->results[i].layout);
        else if (d->kind == DV_SCALAR)
            ops[i] = d->v;
        else
            unsupported(g, o, "this yielded tile");
    }
    if (!g->failed)
        recreate(g, o, n, ops, 0, NULL, 0);
}

// An op without tiles: cloned, its operands replaced by their converted values.
static void convert_plain(Gpu *g, MlirOperation o) {
    MlirOperation c = mlirOperationClone(o);
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(o); i++)
        mlirOperationSetOperand(c, i, scalar_of(g, o, mlirOperationGetOperand(o, i)));
    mlirBlockAppendOwnedOperation(g->b.block, c);
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++)
        map_put(g, mlirOperationGetResult(o, i), scalar_val(mlirOperationGetResult(c, i)));
}

// The memref descriptors emit.c builds over the tensor pointers (llvm.insertvalue chains).
static void convert_descriptor(Gpu *g, MlirOperation o) {
    MlirValue res = mlirOperationGetResult(o, 0);
    if (ir_op_is(o, "llvm.mlir.undef")) {
        map_put(g, res, dval_new(DV_DESC));
        return;
    }
    if (ir_op_is(o, "llvm.insertvalue")) {
        DVal *d = dval_new(DV_DESC);
        *d = *get(g, mlirOperationGetOperand(o, 0));
        MlirAttribute pos = attr(o, "position");
        MlirValue v = scalar_of(g, o, mlirOperationGetOperand(o, 1));
        int64_t p0 = dense_at(pos, 0);
        if (p0 == 1)
            d->ptr = v;
        else if (p0 == 3 || p0 == 4) {
            int64_t dim = dense_at(pos, 1);
            (p0 == 3 ? d->sizes : d->strides)[dim] = v;
        }
        map_put(g, res, d);
        return;
    }
    // builtin.unrealized_conversion_cast to the memref
    DVal *d = dval_new(DV_MEMREF);
    *d = *get(g, mlirOperationGetOperand(o, 0));
    d->kind = DV_MEMREF;
    MlirType mt = mlirValueGetType(res);
    d->rank = (int)mlirShapedTypeGetRank(mt);
    d->elem = mlirShapedTypeGetElementType(mt);
    map_put(g, res, d);
}

static void convert_subview(Gpu *g, MlirOperation o) {
    DVal *src = get(g, mlirOperationGetOperand(o, 0));
    int rank = src->rank;
    if ((int)mlirShapedTypeGetRank(mlirValueGetType(mlirOperationGetResult(o, 0))) != rank) {
        unsupported(g, o, "rank-reducing subviews");
        return;
    }
    int next = 1;
    MlirValue offs[R], sizes[R];
    mixed(g, o, "static_offsets", rank, &next, offs);
    mixed(g, o, "static_sizes", rank, &next, sizes);
    DVal *d = dval_new(DV_MEMREF);
    *d = *src;
    for (int i = 0; i < rank; i++) {
        d->offs[i] = src->offs[i].ptr ? add(g, src->offs[i], offs[i]) : offs[i];
        d->sizes[i] = sizes[i];
    }
    map_put(g, mlirOperationGetResult(o, 0), d);
}

static void convert_op(Gpu *g, MlirOperation o) {
    MlirLocation save_loc = g->b.loc;
    g->b.loc = mlirOperationGetLocation(o);
    int nres = (int)mlirOperationGetNumResults(o);
    MlirType rt0 = nres ? mlirValueGetType(mlirOperationGetResult(o, 0)) : (MlirType){NULL};
    if (ir_op_is(o, "func.return")) {
        // the kernel's gpu.return is added after the body
    } else if ((ir_op_is(o, "llvm.mlir.undef") || ir_op_is(o, "llvm.insertvalue")) &&
               mlirTypeIsALLVMStructType(rt0)) {
        convert_descriptor(g, o);
    } else if (ir_op_is(o, "builtin.unrealized_conversion_cast") && mlirTypeIsAMemRef(rt0)) {
        convert_descriptor(g, o);
    } else if (ir_op_is(o, "bufferization.to_tensor")) {
        DVal *d = dval_new(DV_MEMREF);
        *d = *get(g, mlirOperationGetOperand(o, 0));
        map_put(g, mlirOperationGetResult(o, 0), d);
    } else if (ir_op_is(o, "memref.subview")) {
        convert_subview(g, o);
    } else if (ir_op_is(o, "tensor.extract_slice")) {
        convert_slice(g, o);
    } else if (ir_op_is(o, "tensor.pad")) {
        convert_pad(g, o);
    } else if (ir_op_is(o, "bufferization.materialize_in_destination")) {
        store_tile(g, o, get(g, mlirOperationGetOperand(o, 0)), get(g, mlirOperationGetOperand(o, 1)));
    } else if (ir_op_is(o, "tensor.splat")) {
        DVal *t = tensor_result(o, 0, DV_UNIFORM);
        map_put(g, mlirOperationGetResult(o, 0),
                uniform_val(scalar_of(g, o, mlirOperationGetOperand(o, 0)), t->rank, t->shape));
    } else if (ir_op_is(o, "tensor.empty")) {
        map_put(g, mlirOperationGetResult(o, 0), tensor_result(o, 0, DV_EMPTY));
    } else if (ir_op_is(o, "linalg.fill")) {
        DVal *t = tensor_result(o, 0, DV_UNIFORM);
        map_put(g, mlirOperationGetResult(o, 0),
                uniform_val(scalar_of(g, o, mlirOperationGetOperand(o, 0)), t->rank, t->shape));
    } else if (ir_op_is(o, "arith.constant") && mlirTypeIsARankedTensor(rt0)) {
        MlirAttribute v = attr(o, "value");
        if (!mlirAttributeIsADenseElements(v) || !mlirDenseElementsAttrIsSplat(v)) {
            unsupported(g, o, "constant tiles that are not splats");
        } else {
            DVal *t = tensor_result(o, 0, DV_UNIFORM);
            MlirNamedAttribute a = ir_named(&g->b, "value", mlirDenseElementsAttrGetSplatValue(v));
            MlirValue c =
                mlirOperationGetResult(ir_op(&g->b, "arith.constant", 1, &t->elem, 0, NULL, 1, &a, 0), 0);
            map_put(g, mlirOperationGetResult(o, 0), uniform_val(c, t->rank, t->shape));
        }
    } else if (ir_op_is(o, "linalg.reduce")) {
        convert_reduce(g, o);
    } else if (ir_op_is(o, "linalg.matmul")) {
        DVal *c = get(g, mlirOperationGetOperand(o, 2));
        if (mlirOperationGetNumAttributes(o) > 2 && !mlirAttributeIsNull(attr(o, "indexing_maps")))
            unsupported(g, o, "transposed dot operands");
        bool mma = dot_uses_mma(g, o);
        bool piped = g->pipe && mlirOperationEqual(o, g->pipe->mm);
        // tensor cores take the operands before widening (dot_operand)
        DVal *a = piped ? NULL : get(g, mma ? dot_operand(o, 0) : mlirOperationGetOperand(o, 0));
        DVal *b = piped ? NULL : get(g, mma ? dot_operand(o, 1) : mlirOperationGetOperand(o, 1));
        DVal *r = g->failed ? NULL
                  : piped   ? dot_mma_pipelined(g, o, c)
                  : mma     ? dot_mma(g, o, a, b, c)
                            : dot_fma(g, o, a, b, c);
        if (r)
            map_put(g, mlirOperationGetResult(o, 0), r);
    } else if (ir_op_is(o, "linalg.generic")) {
        convert_generic(g, o);
    } else if (ir_op_is(o, "linalg.transpose")) {
        convert_transpose(g, o);
    } else if (ir_op_is(o, "tensor.collapse_shape") || ir_op_is(o, "tensor.expand_shape")) {
        convert_reshape(g, o);
    } else if (ir_op_is(o, "tensor.extract")) {
        convert_extract(g, o);
    } else if (ir_op_is(o, "scf.yield")) {
        convert_yield(g, o);
    } else if (ir_op_is(o, "scf.for") &&
               !mlirAttributeIsNull(mlirOperationGetDiscardableAttributeByName(o, ir_str("tilec.scatter")))) {
        convert_scatter(g, o);
    } else if (mlirOperationGetNumRegions(o) > 0 && name_prefix(o, "scf.")) {
        convert_region_op(g, o);
    } else if (ir_op_is(o, "arith.extf") && widens_mma_operands_only(g, o)) {
        // the dot reads the narrow operand (dot_operand)
    } else if (has_tensor(o)) {
        if ((name_prefix(o, "arith.") || name_prefix(o, "math.")) && !mlirOperationGetNumRegions(o))
            convert_elementwise(g, o);
        else
            unsupported(g, o, "this operation on tiles");
    } else if (mlirOperationGetNumRegions(o) > 0) {
        unsupported(g, o, "this control flow");
    } else {
        convert_plain(g, o);
    }
    g->b.loc = save_loc;
}

static void convert_block(Gpu *g, MlirBlock src) {
    for (MlirOperation o = mlirBlockGetFirstOperation(src); !mlirOperationIsNull(o) && !g->failed;
         o = mlirOperationGetNextInBlock(o))
        convert_op(g, o);
}

// ---------------------------------------------------------------- the kernel

// The largest tile of the program, in elements (for the number of warps).
static int64_t largest_tile(MlirOperation o) {
    int64_t best = 0;
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++) {
        MlirType t = mlirValueGetType(mlirOperationGetResult(o, i));
        if (mlirTypeIsARankedTensor(t) && mlirShapedTypeHasStaticShape(t)) {
            int64_t n = 1;
            for (int d = 0; d < mlirShapedTypeGetRank(t); d++)
                n *= mlirShapedTypeGetDimSize(t, d);
            if (n > best)
                best = n;
        }
    }
    for (intptr_t r = 0; r < mlirOperationGetNumRegions(o); r++)
        for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r)); !mlirBlockIsNull(b);
             b = mlirBlockGetNextInRegion(b))
            for (MlirOperation c = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(c);
                 c = mlirOperationGetNextInBlock(c)) {
                int64_t n = largest_tile(c);
                if (n > best)
                    best = n;
            }
    return best;
}

static bool all_pow2_tiles(Gpu *g, MlirOperation o) {
    for (intptr_t i = 0; i < mlirOperationGetNumResults(o); i++) {
        MlirType t = mlirValueGetType(mlirOperationGetResult(o, i));
        if (mlirTypeIsARankedTensor(t) && mlirShapedTypeHasStaticShape(t)) {
            if (mlirShapedTypeGetRank(t) > R) {
                unsupported(g, o, "tiles of rank above 4");
                return false;
            }
            for (int d = 0; d < mlirShapedTypeGetRank(t); d++)
                if (!pow2(mlirShapedTypeGetDimSize(t, d))) {
                    unsupported(g, o, "tile shapes that are not powers of two");
                    return false;
                }
        }
    }
    for (intptr_t r = 0; r < mlirOperationGetNumRegions(o); r++)
        for (MlirBlock b = mlirRegionGetFirstBlock(mlirOperationGetRegion(o, r)); !mlirBlockIsNull(b);
             b = mlirBlockGetNextInRegion(b))
            for (MlirOperation c = mlirBlockGetFirstOperation(b); !mlirOperationIsNull(c);
                 c = mlirOperationGetNextInBlock(c))
                if (!all_pow2_tiles(g, c))
                    return false;
    return true;
}

static MlirValue gpu_index(Gpu *g, const char *op, const char *dim) {
    char text[32];
    snprintf(text, sizeof text, "#gpu<dim %s>", dim);
    MlirNamedAttribute a = ir_named(&g->b, "dimension", mlirAttributeParseGet(g->b.ctx, ir_str(text)));
    MlirType idx = mlirIndexTypeGet(g->b.ctx);
    MlirValue v = mlirOperationGetResult(ir_op(&g->b, op, 1, &idx, 0, NULL, 1, &a, 0), 0);
    return to_i64(g, v);
}

bool gpu_distribute(MlirContext ctx, MlirModule module, Program *prog, const char *sym, const GpuArch *arch,
                    const GpuSchedule *sched, GpuKernel *out) {
    char pname[300];
    snprintf(pname, sizeof pname, "%s__program", sym);
    MlirSymbolTable symbols = mlirSymbolTableCreate(mlirModuleGetOperation(module));
    MlirOperation prog_fn = mlirSymbolTableLookup(symbols, ir_str(pname));
    mlirSymbolTableDestroy(symbols);
    if (mlirOperationIsNull(prog_fn))
        internal_error(__FILE__, __LINE__, "GPU back end: no function %s", pname);
    Gpu g = {.b = {.ctx = ctx, .loc = mlirOperationGetLocation(prog_fn)},
             .prog = prog,
             .arch = arch,
             .sched = sched};
    if (!all_pow2_tiles(&g, prog_fn))
        return false;
    g.nwarps = sched->num_warps;
    if (!g.nwarps) {  // about 64 elements of the largest tile per thread, 4 to 16 warps
        int64_t n = largest_tile(prog_fn);
        g.nwarps = 4;
        while (g.nwarps < 16 && n / (32 * g.nwarps) > 64)
            g.nwarps *= 2;
    }
    g.nthreads = 32 * g.nwarps;

    // gpu.module @SYM__gpu [#nvvm.target<...>] in the (now container) module.
    MlirOperation mod_op = mlirModuleGetOperation(module);
    mlirOperationSetAttributeByName(mod_op, ir_str("gpu.container_module"), mlirUnitAttrGet(ctx));
    char text[256];
    snprintf(text, sizeof text, "[#nvvm.target<O = 3, chip = \"%s\", features = \"%s\">]", arch->name,
             arch->ptx_features);
    char gname[300];
    snprintf(gname, sizeof gname, "%s__gpu", sym);
    g.b.block = mlirModuleGetBody(module);
    MlirNamedAttribute gattrs[2] = {
        ir_named(&g.b, "sym_name", mlirStringAttrGet(ctx, ir_str(gname))),
        ir_named(&g.b, "targets", mlirAttributeParseGet(ctx, ir_str(text))),
    };
    MlirOperation gmod = ir_op(&g.b, "gpu.module", 0, NULL, 0, NULL, 2, gattrs, 1);
    MlirBlock gbody = ir_region_block(&g.b, gmod, 0, 0, NULL);
    g.b.block = gbody;
    // The dynamic shared memory.
    MlirType i8 = mlirIntegerTypeGet(ctx, 8);
    MlirType arr0 = mlirLLVMArrayTypeGet(i8, 0);
    MlirNamedAttribute sattrs[5] = {
        ir_named(&g.b, "sym_name", mlirStringAttrGet(ctx, ir_str("__tilec_smem"))),
        ir_named(&g.b, "global_type", mlirTypeAttrGet(arr0)),
        ir_named(&g.b, "linkage", mlirAttributeParseGet(ctx, ir_str("#llvm.linkage<external>"))),
        ir_named(&g.b, "addr_space", mlirIntegerAttrGet(i32t(&g), 3)),
        ir_named(&g.b, "alignment", mlirIntegerAttrGet(i64t(&g), 1024)),  // wgmma's swizzle atoms
    };
    ir_op(&g.b, "llvm.mlir.global", 0, NULL, 0, NULL, 5, sattrs, 1);

    // gpu.func @SYM__kernel(params) kernel: the program's arguments but the coordinates, with
    // the tensors' pointers in the global address space.
    MlirBlock pbody = mlirRegionGetFirstBlock(mlirOperationGetRegion(prog_fn, 0));
    int na = (int)mlirBlockGetNumArguments(pbody);  // ..., pid0..2, np0..2
    MlirType *kt = malloc(sizeof(MlirType) * (size_t)na);
    int nk = 0;
    for (int i = 0; i < na; i++) {
        if (i >= na - 6 && i < na - 3)
            continue;
        MlirType t = mlirValueGetType(mlirBlockGetArgument(pbody, i));
        kt[nk++] = mlirTypeIsALLVMPointerType(t) ? gptr(&g) : t;
    }
    snprintf(out->name, sizeof out->name, "%s__kernel", sym);
    MlirType fty = mlirFunctionTypeGet(ctx, nk, kt, 0, NULL);
    char block_text[64];
    snprintf(block_text, sizeof block_text, "array<i32: %d, 1, 1>", g.nthreads);
    MlirNamedAttribute fattrs[4] = {
        ir_named(&g.b, "sym_name", mlirStringAttrGet(ctx, ir_str(out->name))),
        ir_named(&g.b, "function_type", mlirTypeAttrGet(fty)),
        ir_named(&g.b, "gpu.kernel", mlirUnitAttrGet(ctx)),
        ir_named(&g.b, "known_block_size", mlirAttributeParseGet(ctx, ir_str(block_text))),
    };
    MlirOperation kfn = ir_op(&g.b, "gpu.func", 0, NULL, 0, NULL, 4, fattrs, 1);
    MlirBlock kbody = ir_region_block(&g.b, kfn, 0, nk, kt);
    free(kt);
    g.b.block = g.kbody = kbody;
    g.out = out;
    out->nparams = nk;
    out->ntma = 0;
    MlirValue tid = gpu_index(&g, "gpu.thread_id", "x");
    g.lane = bin(&g, "arith.andi", tid, cint(&g, 31));
    g.warp = bin(&g, "arith.shrui", tid, cint(&g, 5));
    MlirType sp = mlirLLVMPointerTypeGet(ctx, 3);
    MlirNamedAttribute gn =
        ir_named(&g.b, "global_name", mlirFlatSymbolRefAttrGet(ctx, ir_str("__tilec_smem")));
    g.smem = mlirOperationGetResult(ir_op(&g.b, "llvm.mlir.addressof", 1, &sp, 0, NULL, 1, &gn, 0), 0);
    g.smem0 = g.smem;
    // Parameters, then the coordinates from the flattened block index:
    // index = (p0 * np1 + p1) * np2 + p2.
    for (int i = 0, k = 0; i < na; i++) {
        if (i >= na - 6 && i < na - 3)
            continue;
        map_put(&g, mlirBlockGetArgument(pbody, i), scalar_val(mlirBlockGetArgument(kbody, k++)));
    }
    MlirValue np1 = mlirBlockGetArgument(kbody, nk - 2), np2 = mlirBlockGetArgument(kbody, nk - 1);
    MlirValue bid = gpu_index(&g, "gpu.block_id", "x");
    MlirValue n12 = mul(&g, np1, np2);
    MlirValue rem = bin(&g, "arith.remui", bid, n12);
    map_put(&g, mlirBlockGetArgument(pbody, na - 6), scalar_val(bin(&g, "arith.divui", bid, n12)));
    map_put(&g, mlirBlockGetArgument(pbody, na - 5), scalar_val(bin(&g, "arith.divui", rem, np2)));
    map_put(&g, mlirBlockGetArgument(pbody, na - 4), scalar_val(bin(&g, "arith.remui", rem, np2)));

    convert_block(&g, pbody);
    g.b.block = kbody;
    ir_op(&g.b, "gpu.return", 0, NULL, 0, NULL, 0, NULL, 0);
    int nall = (int)mlirBlockGetNumArguments(kbody);
    if (nall > nk) {  // the TMA flag and tensor maps added during the conversion
        MlirType *all = malloc(sizeof(MlirType) * (size_t)nall);
        for (int i = 0; i < nall; i++)
            all[i] = mlirValueGetType(mlirBlockGetArgument(kbody, i));
        mlirOperationSetAttributeByName(kfn, ir_str("function_type"),
                                        mlirTypeAttrGet(mlirFunctionTypeGet(ctx, nall, all, 0, NULL)));
        free(all);
    }
    free(g.map);
    if (g.failed)
        return false;
    if (g.smem_bytes > arch->smem_limit) {
        out->too_big = true;
        if (out->quiet_limits)
            return false;
        error_plain("kernel '%s' needs %lld bytes of shared memory per block, more than the %lld of %s: use "
                    "smaller tiles",
                    sym, (long long)g.smem_bytes, (long long)arch->smem_limit, arch->name);
        return false;
    }
    mlirOperationRemoveFromParent(prog_fn);
    mlirOperationDestroy(prog_fn);
    out->threads = g.nthreads;
    out->smem_bytes = g.smem_bytes;
    return true;
}

// ---------------------------------------------------------------- targets and schedules

bool gpu_arch_parse(const char *name, GpuArch *arch) {
    static const struct {
        const char *name;
        int sm;
        int64_t smem;
        const char *ptx;
    } known[] = {
        {"sm_80", 80, 163 * 1024, "+ptx70"}, {"sm_86", 86, 99 * 1024, "+ptx71"},
        {"sm_87", 87, 163 * 1024, "+ptx74"}, {"sm_89", 89, 99 * 1024, "+ptx78"},
        {"sm_90", 90, 227 * 1024, "+ptx78"}, {"sm_90a", 90, 227 * 1024, "+ptx80"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i].name)) {
            snprintf(arch->name, sizeof arch->name, "%s", name);
            arch->sm = known[i].sm;
            arch->smem_limit = known[i].smem;
            arch->ptx_features = known[i].ptx;
            return true;
        }
    return false;
}

void gpu_schedule_default(const GpuArch *arch, GpuSchedule *s) {
    *s = (GpuSchedule){.num_warps = 0,
                       .vector_bytes = 16,
                       .dot_rows = 4,
                       .dot_cols = 4,
                       .tensor_cores = arch->sm >= 80,
                       .stages = arch->sm >= 80 ? 3 : 1,
                       .wgmma = true,
                       .tma = true};
}

bool gpu_schedule_parse(const char *text, GpuSchedule *s, char *error, int error_size) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        char *end = NULL;
        long v = eq ? strtol(eq + 1, &end, 10) : 0;
        if (!eq || end == eq + 1 || *end) {
            snprintf(error, (size_t)error_size, "expected key=number in '%s'", kv);
            return false;
        }
        *eq = '\0';
        int *field = !strcmp(kv, "num_warps")      ? &s->num_warps
                     : !strcmp(kv, "vector_bytes") ? &s->vector_bytes
                     : !strcmp(kv, "dot_rows")     ? &s->dot_rows
                     : !strcmp(kv, "dot_cols")     ? &s->dot_cols
                     : !strcmp(kv, "stages")       ? &s->stages
                                                   : NULL;
        bool *flag = !strcmp(kv, "tensor_cores") ? &s->tensor_cores
                     : !strcmp(kv, "wgmma")      ? &s->wgmma
                     : !strcmp(kv, "tma")        ? &s->tma
                                                 : NULL;
        if (flag) {
            if (v != 0 && v != 1) {
                snprintf(error, (size_t)error_size, "%s must be 0 or 1", kv);
                return false;
            }
            *flag = v;
            continue;
        }
        if (!field) {
            snprintf(
                error, (size_t)error_size,
                "unknown GPU schedule key '%s' (num_warps, vector_bytes, dot_rows, dot_cols, tensor_cores, "
                "stages, wgmma, tma)",
                kv);
            return false;
        }
        bool ok = field == &s->num_warps      ? (v == 0 || (pow2(v) && v <= 16))
                  : field == &s->vector_bytes ? (v == 4 || v == 8 || v == 16)
                  : field == &s->stages       ? (v >= 1 && v <= 8)
                                              : (pow2(v) && v <= 8);
        if (!ok) {
            snprintf(error, (size_t)error_size, "bad value %ld for %s", v, kv);
            return false;
        }
        *field = (int)v;
    }
    return true;
}
