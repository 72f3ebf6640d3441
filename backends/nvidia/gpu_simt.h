// backends/nvidia/gpu_simt.h — private to the distribution of a tile-level program over a thread block
// (gpu_distribute, gpu.h): the data structures its pieces share, the small IR builders they all
// use, and the functions they call across files. Only backends/nvidia/gpu_*.c include it.
//
// The pieces, by what they do:
//   gpu_simt.c         the driver (gpu_distribute), the value map, error reports, targets and
//                      schedules
//   gpu_layout.c       layouts, distributed values, tiles written to and read from shared memory
//   gpu_tile.c         tiles read from memory in a layout, moved between layouts, stored
//   gpu_reduce.c       reductions (linalg.reduce)
//   gpu_dot.c          dots (linalg.matmul): FMA, and mma.sync on tensor cores
//   gpu_async.c        pipelined dot loops: cp.async and TMA copies, wgmma
//   gpu_elementwise.c  elementwise ops, linalg.generic bodies, scatters
//   gpu_convert.c      op conversion: the dispatcher, shapes and slices, control flow
#ifndef TILEC_BACKENDS_GPU_SIMT_H
#define TILEC_BACKENDS_GPU_SIMT_H

#include <stdbool.h>
#include <stdint.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/Dialect/LLVM.h"
#include "mlir-c/IR.h"

#include "../../lang/diag.h"
#include "../../lowering/build.h"
#include "gpu.h"

#define R 4       // the largest tile rank handled
#define MAXE 256  // the most elements of one tile a thread holds
#define NULL_VALUE ((MlirValue){NULL})

// ================================================================ data structures

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

// What a program value is to one thread (DVal.kind).
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

// A converted value: what one thread holds for a value of the program function.
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

// An entry of the value map (program value -> DVal; open addressing).
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
    int swz[2];           // wgmma: A's and B's swizzle (gpu_async.c: tile_at), else 0 (rows ld apart)
    int64_t base;         // where the first stage starts (16-bit elements)
    int64_t boff;         // where B starts in a stage
    int64_t stage_elems;  // per stage
    int stages;
    bool wgmma;        // the dot runs as wgmma (gpu_dot_uses_wgmma)
    bool tma;          // and TMA fills the stages when the launcher could build the maps
    MlirValue map[2];  // TMA: the operands' tensor maps (kernel parameters)
    int64_t bars;      // TMA: the stages' mbarriers (16 bytes apart), in bytes
    int64_t end;       // bytes of shared memory up to the end of the pipeline's
    MlirType elem;     // f16 or bf16
} Pipe;

// A dot's operands in shared memory as gpu_mma_dot reads them: A row-major [m][k] at element
// offset a (rows lda apart), B row-major [k][n] at b (rows ldb apart). Rows are padded by 8
// elements (16 bytes) so that the eight rows one ldmatrix matrix reads fall in different banks.
typedef struct MmaOperands {
    MlirValue a, b;  // i64: element offsets from the start of the dynamic shared memory
    int64_t lda, ldb;
} MmaOperands;

// The state of one distribution: the builder, the program and target, the value map, this
// thread's lane and warp, the shared memory in use, the pipelined loop being converted.
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

// arith.cmpi predicates.
enum { CMP_EQ = 0, CMP_NE = 1, CMP_SLT = 2, CMP_SLE = 3, CMP_SGE = 5 };

// ================================================================ small builders

static inline MlirType i1t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 1); }
static inline MlirType i32t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 32); }
static inline MlirType i64t(Gpu *g) { return mlirIntegerTypeGet(g->b.ctx, 64); }
static inline MlirType gptr(Gpu *g) { return mlirLLVMPointerTypeGet(g->b.ctx, 1); }
static inline MlirType vec(MlirType el, int64_t n) { return mlirVectorTypeGet(1, &n, el); }

static inline MlirValue cint(Gpu *g, int64_t v) { return ir_const_int(&g->b, i64t(g), v); }
static inline MlirValue bin(Gpu *g, const char *name, MlirValue a, MlirValue b) {
    return ir_binop(&g->b, name, a, b);
}
static inline MlirValue add(Gpu *g, MlirValue a, MlirValue b) { return bin(g, "arith.addi", a, b); }
static inline MlirValue mul(Gpu *g, MlirValue a, MlirValue b) { return bin(g, "arith.muli", a, b); }
static inline MlirValue addc(Gpu *g, MlirValue a, int64_t c) { return c ? add(g, a, cint(g, c)) : a; }

static inline MlirValue cmp(Gpu *g, int pred, MlirValue a, MlirValue b) {
    MlirType t = i1t(g);
    MlirValue ops[2] = {a, b};
    MlirNamedAttribute p = ir_named(&g->b, "predicate", mlirIntegerAttrGet(i64t(g), pred));
    return mlirOperationGetResult(ir_op(&g->b, "arith.cmpi", 1, &t, 2, ops, 1, &p, 0), 0);
}

static inline MlirValue to_i64(Gpu *g, MlirValue v) {
    MlirType t = mlirValueGetType(v);
    if (mlirTypeIsAIndex(t))
        return ir_op1(&g->b, "arith.index_cast", i64t(g), 1, &v);
    if (mlirTypeIsAInteger(t) && mlirIntegerTypeGetWidth(t) < 64)
        return ir_op1(&g->b, "arith.extui", i64t(g), 1, &v);
    return v;
}

static inline MlirValue extract(Gpu *g, MlirValue v, int64_t i) {
    MlirType el = mlirShapedTypeGetElementType(mlirValueGetType(v));
    MlirNamedAttribute a = ir_named(&g->b, "static_position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "vector.extract", 1, &el, 1, &v, 1, &a, 0), 0);
}

static inline MlirValue from_elements(Gpu *g, MlirType el, int n, const MlirValue *xs) {
    return ir_op1(&g->b, "vector.from_elements", vec(el, n), n, xs);
}

static inline MlirValue splat(Gpu *g, MlirValue s, int64_t n) {
    return ir_op1(&g->b, "vector.broadcast", vec(mlirValueGetType(s), n), 1, &s);
}

static inline MlirValue shuffle(Gpu *g, MlirValue a, MlirValue b, int n, const int64_t *mask) {
    MlirType el = mlirShapedTypeGetElementType(mlirValueGetType(a));
    MlirValue ops[2] = {a, b};
    MlirNamedAttribute m = ir_named(&g->b, "mask", mlirDenseI64ArrayGet(g->b.ctx, n, mask));
    MlirType rt = vec(el, n);
    return mlirOperationGetResult(ir_op(&g->b, "vector.shuffle", 1, &rt, 2, ops, 1, &m, 0), 0);
}

static inline int elem_bytes(MlirType t) {
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
static inline MlirValue gep(Gpu *g, MlirValue base, MlirValue idx, MlirType el) {
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

static inline MlirValue load(Gpu *g, MlirType t, MlirValue p, int64_t align) {
    MlirNamedAttribute a = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i64t(g), align));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.load", 1, &t, 1, &p, 1, &a, 0), 0);
}

static inline void store(Gpu *g, MlirValue v, MlirValue p, int64_t align) {
    MlirValue ops[2] = {v, p};
    MlirNamedAttribute a = ir_named(&g->b, "alignment", mlirIntegerAttrGet(i64t(g), align));
    ir_op(&g->b, "llvm.store", 0, NULL, 2, ops, 1, &a, 0);
}

static inline void barrier(Gpu *g) { ir_op(&g->b, "gpu.barrier", 0, NULL, 0, NULL, 0, NULL, 0); }

// scf.if cond with `nres` results; returns the op; then/else blocks in *then, *els.
static inline MlirOperation if_op(Gpu *g, MlirValue cond, int nres, const MlirType *res, MlirBlock *then,
                                  MlirBlock *els) {
    MlirOperation o = ir_op(&g->b, "scf.if", nres, res, 1, &cond, 0, NULL, 2);
    *then = ir_region_block(&g->b, o, 0, 0, NULL);
    *els = ir_region_block(&g->b, o, 1, 0, NULL);
    return o;
}

static inline void yield(Gpu *g, MlirBlock blk, int n, const MlirValue *vals) {
    MlirBlock save = g->b.block;
    g->b.block = blk;
    ir_op(&g->b, "scf.yield", 0, NULL, n, vals, 0, NULL, 0);
    g->b.block = save;
}

static inline int ilog2(int64_t x) {
    int l = 0;
    while ((1ll << l) < x)
        l++;
    return l;
}
static inline bool pow2(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

static inline MlirAttribute parse_attr(Gpu *g, const char *text) {
    return mlirAttributeParseGet(g->b.ctx, ir_str(text));
}

static inline MlirValue extract_value(Gpu *g, MlirValue s, int64_t i, MlirType t) {
    MlirNamedAttribute p = ir_named(&g->b, "position", mlirDenseI64ArrayGet(g->b.ctx, 1, &i));
    return mlirOperationGetResult(ir_op(&g->b, "llvm.extractvalue", 1, &t, 1, &s, 1, &p, 0), 0);
}

// ================================================================ across files

// gpu_simt.c: the value map (program value -> what the thread holds) and error reports.
void gpu_map_put(Gpu *g, MlirValue k, DVal *v);
DVal *gpu_map_get(Gpu *g, MlirValue k);                           // null when not converted
DVal *gpu_get(Gpu *g, MlirValue v);                               // one that must be converted
DVal *gpu_dval_new(DKind kind);                                   // zeroed, of the compilation's arena
DVal *gpu_scalar_val(MlirValue v);                                // a DV_SCALAR
void gpu_unsupported(Gpu *g, MlirOperation o, const char *what);  // reports once; sets g->failed

// gpu_layout.c: layouts (Layout) and distributed values.
int gpu_vector_run(int spt, int eb);
int gpu_layout_elems(const Layout *L);
bool gpu_layout_equal(const Layout *a, const Layout *b);
void gpu_layout_blocked(Gpu *g, Layout *L, int rank, const int64_t *shape, const int *spt);
void gpu_layout_default(Gpu *g, Layout *L, int rank, const int64_t *shape, MlirType elem);
void gpu_natural_layout(Gpu *g, const DVal *x, Layout *L);
void gpu_layout_masks(const Layout *L, int64_t *lane_mask, int64_t *warp_mask);
void gpu_layout_digits(const Layout *L, int e, int *r);
int64_t gpu_digit_offset(const Layout *L, int d, int r);
void gpu_layout_base(Gpu *g, const Layout *L, MlirValue *base);
MlirValue gpu_layout_owner(Gpu *g, const Layout *L);
MlirValue gpu_layout_positions(Gpu *g, const Layout *L, int d);
bool gpu_tensor_info(MlirType t, int *rank, int64_t *shape, MlirType *elem);
DVal *gpu_dist_val(const Layout *L, MlirValue v, MlirType elem);
DVal *gpu_uniform_val(MlirValue s, int rank, const int64_t *shape);
void gpu_row_major(int rank, const int64_t *shape, int64_t *stride);
// Shared memory: g->smem + idx, the bytes a use needs, a distributed tile written and read.
MlirValue gpu_smem_at(Gpu *g, MlirValue idx, MlirType el);
void gpu_smem_need(Gpu *g, int64_t bytes);
void gpu_smem_write(Gpu *g, const DVal *x, const int64_t *stride, MlirValue at);
MlirValue gpu_smem_read(Gpu *g, const Layout *L, MlirType elem, const int64_t *stride, MlirValue at);

// gpu_tile.c: a tile as the per-thread vector of a layout, and tiles stored to memory.
MlirValue gpu_materialize(Gpu *g, MlirOperation at, const DVal *x, const Layout *L);
MlirValue gpu_load_tile(Gpu *g, const DVal *x, const Layout *L);
MlirValue gpu_convert_layout(Gpu *g, const DVal *x, const Layout *L);
MlirValue gpu_broadcast_to(Gpu *g, MlirOperation at, const DVal *x, const Layout *L, const int *dims);
void gpu_store_tile(Gpu *g, MlirOperation at, const DVal *x, const DVal *m);

// gpu_reduce.c: linalg.reduce.
void gpu_convert_reduce(Gpu *g, MlirOperation o);

// gpu_dot.c: which dots run on tensor cores (mma.sync, or wgmma in a pipelined loop), the
// accumulator's layout, the mma.sync loop over shared memory, and linalg.matmul.
MlirValue gpu_dot_operand(MlirOperation mm, int i);
bool gpu_dot_uses_mma(Gpu *g, MlirOperation mm);
bool gpu_dot_uses_wgmma(Gpu *g, MlirOperation mm);
bool gpu_widens_mma_operands_only(Gpu *g, MlirOperation o);
void gpu_layout_for_dot(Gpu *g, MlirOperation mm, Layout *L);
DVal *gpu_mma_dot(Gpu *g, MlirOperation at, const Layout *LC, MlirValue acc, MlirType half, int64_t K,
                  const MmaOperands *s);
void gpu_convert_dot(Gpu *g, MlirOperation o);

// gpu_async.c: a pipelined dot loop (Pipe): found, then its prologue before the loop, each
// iteration's start, its dot, and its epilogue after the loop.
bool gpu_pipe_find(Gpu *g, MlirOperation loop, Pipe *p);
void gpu_pipe_prologue(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step);
void gpu_pipe_iteration(Gpu *g, const Pipe *p, MlirValue lb, MlirValue ub, MlirValue step, MlirValue iv);
DVal *gpu_dot_mma_pipelined(Gpu *g, MlirOperation at, const DVal *c);
void gpu_pipe_epilogue(Gpu *g, const Pipe *p);

// gpu_elementwise.c: arith and math ops on tiles, linalg.generic, scatter nests.
void gpu_user_layout(Gpu *g, MlirValue v, const DVal *t, Layout *L);
void gpu_convert_elementwise(Gpu *g, MlirOperation o);
void gpu_convert_generic(Gpu *g, MlirOperation o);
void gpu_convert_scatter(Gpu *g, MlirOperation o);

// gpu_convert.c: helpers on the source ops, and the conversion of an op and of a block.
bool gpu_name_prefix(MlirOperation o, const char *prefix);
MlirAttribute gpu_attr(MlirOperation o, const char *name);
int64_t gpu_dense_at(MlirAttribute a, int i);
bool gpu_has_tensor(MlirOperation o);
DVal *gpu_tensor_result(MlirOperation o, int i, DKind kind);
MlirOperation gpu_recreate(Gpu *g, MlirOperation o, int nops, const MlirValue *ops, int nres,
                           const MlirType *res, int nregions);
void gpu_convert_op(Gpu *g, MlirOperation o);
void gpu_convert_block(Gpu *g, MlirBlock src);

#endif
