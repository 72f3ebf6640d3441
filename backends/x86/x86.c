// backends/x86/x86.c — the x86 stages of a tile-level module (x86.h), and the target's lowering
// function (backends/target.h): print the stage asked for, or translate to LLVM IR and finish
// there (lowering/host.c), or hand the LLVM module to the object builder that links versions.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/IR.h"

#include "../../lang/diag.h"
#include "../../lowering/build.h"
#include "../target.h"
#include "x86.h"

// Bufferization as a transform script (data, parsed from text): the pass form cannot choose
// linalg.copy, and its memref.copy of strided memrefs calls into MLIR's runtime library.
static const char *const bufferize_script =
    "module attributes {transform.with_named_sequence} {\n"
    "  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.consumed}) {\n"
    "    %m = transform.bufferization.one_shot_bufferize %root {bufferize_function_boundaries = false, "
    "allow_return_allocs_from_loops = true,\n"
    "         memcpy_op = \"linalg.copy\"} : (!transform.any_op) -> !transform.any_op\n"
    "    transform.yield\n"
    "  }\n"
    "}\n";

// linalg-fuse-elementwise-ops also folds a reshape into the linalg op that uses it ("fusion by
// expansion"): a dot one of whose operands is a reshaped tile (`reshape(x, [C, R * W]) @ w`)
// would become a higher-rank linalg.generic that the schedule no longer takes for a dot, and
// run as plain loops, several times slower. The pass folds only producers with one use, so
// while it runs each such reshape gets a second user, an inert `tilec.pin` op (collected in
// `user`, an IrOps), removed after.
static MlirWalkResult pin_dot_operands(MlirOperation op, void *user) {
    if (!ir_op_is(op, "linalg.matmul") && !ir_op_is(op, "linalg.batch_matmul"))
        return MlirWalkResultAdvance;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) {
        MlirValue v = mlirOperationGetOperand(op, i);
        if (!mlirValueIsAOpResult(v))
            continue;
        MlirOperation r = mlirOpResultGetOwner(v);
        if (!ir_op_is(r, "tensor.expand_shape") && !ir_op_is(r, "tensor.collapse_shape"))
            continue;
        MlirOperationState st = mlirOperationStateGet(ir_str("tilec.pin"), mlirOperationGetLocation(r));
        mlirOperationStateAddOperands(&st, 1, &v);
        MlirOperation pin = mlirOperationCreate(&st);
        mlirBlockInsertOwnedOperationAfter(mlirOperationGetBlock(r), r, pin);
        ir_ops_push(user, pin);
    }
    return MlirWalkResultAdvance;
}

static MlirWalkResult collect_pins(MlirOperation op, void *user) {
    if (ir_op_is(op, "tilec.pin"))
        ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

// A scalar broadcast to a tile (tensor.splat) that only linalg.generic ops read becomes a
// linalg.generic with no input that yields the scalar, so that linalg-fuse-elementwise-ops
// folds it into its readers: the scalar is then broadcast in their bodies (a register), where a
// tensor.splat was bufferized into a tile filled per program and read back element by element
// (an epilogue `clamp(acc * p + q, lo, hi)` over a [32, 32] tile filled and read four such
// tiles: a memory-bound convolution ran 2x slower with it).
static MlirWalkResult collect_splats(MlirOperation op, void *user) {
    if (ir_op_is(op, "tensor.splat"))
        ir_ops_push(user, op);
    return MlirWalkResultAdvance;
}

static void splat_to_generic(MlirContext ctx, MlirOperation splat) {
    MlirValue r = mlirOperationGetResult(splat, 0);
    MlirType t = mlirValueGetType(r);
    if (!mlirTypeIsARankedTensor(t) || !mlirShapedTypeHasStaticShape(t) ||
        mlirOperationGetNumOperands(splat) != 1)
        return;
    for (MlirOpOperand u = mlirValueGetFirstUse(r); !mlirOpOperandIsNull(u); u = mlirOpOperandGetNextUse(u))
        if (!ir_op_is(mlirOpOperandGetOwner(u), "linalg.generic"))
            return;
    int rank = (int)mlirShapedTypeGetRank(t);
    char maps[512], iters[512];
    int m = snprintf(maps, sizeof maps, "[affine_map<(");
    int k = snprintf(iters, sizeof iters, "[");
    for (int d = 0; d < rank; d++) {
        m += snprintf(maps + m, sizeof maps - (size_t)m, "%sd%d", d ? ", " : "", d);
        k +=
            snprintf(iters + k, sizeof iters - (size_t)k, "%s#linalg.iterator_type<parallel>", d ? ", " : "");
    }
    m += snprintf(maps + m, sizeof maps - (size_t)m, ") -> (");
    for (int d = 0; d < rank; d++)
        m += snprintf(maps + m, sizeof maps - (size_t)m, "%sd%d", d ? ", " : "", d);
    snprintf(maps + m, sizeof maps - (size_t)m, ")>]");
    snprintf(iters + k, sizeof iters - (size_t)k, "]");
    MlirLocation loc = mlirOperationGetLocation(splat);
    MlirBlock block = mlirOperationGetBlock(splat);
    MlirOperationState es = mlirOperationStateGet(ir_str("tensor.empty"), loc);
    mlirOperationStateAddResults(&es, 1, &t);
    MlirOperation empty = mlirOperationCreate(&es);
    mlirBlockInsertOwnedOperationBefore(block, splat, empty);
    MlirValue init = mlirOperationGetResult(empty, 0);
    MlirNamedAttribute attrs[3] = {
        mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str("indexing_maps")),
                              mlirAttributeParseGet(ctx, ir_str(maps))),
        mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str("iterator_types")),
                              mlirAttributeParseGet(ctx, ir_str(iters))),
        mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str("operandSegmentSizes")),
                              mlirAttributeParseGet(ctx, ir_str("array<i32: 0, 1>"))),
    };
    MlirOperationState gs = mlirOperationStateGet(ir_str("linalg.generic"), loc);
    mlirOperationStateAddResults(&gs, 1, &t);
    mlirOperationStateAddOperands(&gs, 1, &init);
    mlirOperationStateAddAttributes(&gs, 3, attrs);
    MlirRegion region = mlirRegionCreate();
    MlirType elem = mlirShapedTypeGetElementType(t);
    MlirBlock body = mlirBlockCreate(1, &elem, &loc);
    mlirRegionAppendOwnedBlock(region, body);
    mlirOperationStateAddOwnedRegions(&gs, 1, &region);
    MlirOperation gen = mlirOperationCreate(&gs);
    MlirValue scalar = mlirOperationGetOperand(splat, 0);
    MlirOperationState ys = mlirOperationStateGet(ir_str("linalg.yield"), loc);
    mlirOperationStateAddOperands(&ys, 1, &scalar);
    mlirBlockAppendOwnedOperation(body, mlirOperationCreate(&ys));
    mlirBlockInsertOwnedOperationBefore(block, splat, gen);
    mlirValueReplaceAllUsesOfWith(r, mlirOperationGetResult(gen, 0));
    mlirOperationDestroy(splat);
}

static void splats_to_generics(MlirContext ctx, MlirModule module) {
    IrOps splats = {0};
    mlirOperationWalk(mlirModuleGetOperation(module), collect_splats, &splats, MlirWalkPostOrder);
    for (int i = 0; i < splats.len; i++)
        splat_to_generic(ctx, splats.items[i]);
    free(splats.items);
}

// A sum over a tile (linalg.reduce with an arith.addf combiner) becomes a linalg.generic, so that
// linalg-fuse-elementwise-ops folds the elementwise ops that produce its operand into it (RMS
// norm's sum(x * x) reads x once instead of writing x * x to a tile and reading it back); LLVM
// vectorizes the fused loop, whose adds are reassociable. A maximum or minimum over the rows of a
// tile that rowsums.c takes (f32, static, its last dimension alone reduced, rows of more than one
// piece and a whole number of pieces) becomes one too: left a linalg.reduce, the schedule tiles it
// by rows and reduces each row as one vector as wide as the row (reduce.tile's max_rows over
// [8, 512] blocks: 5.7 GB/s at 4096 x 100, as LLVM expands a NaN-propagating maximum of 512
// lanes). Other maxima and minima stay linalg.reduce for the schedule's row vectorization
// (schedule.c).
typedef struct SumTags {
    int n;
    int vector_bits;  // the schedule's (0: not vectorized, no maximum generalized)
} SumTags;

static bool rowsums_takes(MlirOperation reduce, int vector_bits) {
    MlirType t = mlirValueGetType(mlirOperationGetOperand(reduce, 0));
    MlirAttribute dims = mlirOperationGetAttributeByName(reduce, ir_str("dimensions"));
    return !mlirAttributeIsNull(dims) && mlirDenseArrayGetNumElements(dims) == 1 &&
           x86_row_reduction_fits(t, vector_bits) &&
           mlirDenseI64ArrayGetElement(dims, 0) == mlirShapedTypeGetRank(t) - 1;
}

static MlirWalkResult tag_sum_reduction(MlirOperation op, void *user) {
    SumTags *tags = user;
    if (!ir_op_is(op, "linalg.reduce") || mlirOperationGetNumResults(op) != 1 ||
        mlirOperationGetNumOperands(op) != 2)
        return MlirWalkResultAdvance;
    MlirOperation combiner =
        mlirBlockGetFirstOperation(mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0)));
    bool extremum = ir_op_is(combiner, "arith.maximumf") || ir_op_is(combiner, "arith.minimumf") ||
                    ir_op_is(combiner, "arith.maxnumf") || ir_op_is(combiner, "arith.minnumf");
    if (ir_op_is(combiner, "arith.addf") || (extremum && rowsums_takes(op, tags->vector_bits))) {
        mlirOperationSetDiscardableAttributeByName(op, ir_str("tilec.sum"),
                                                   mlirUnitAttrGet(mlirOperationGetContext(op)));
        tags->n += 1;
    }
    return MlirWalkResultAdvance;
}

static const char *const generalize_sums_script =
    "module attributes {transform.with_named_sequence} {\n"
    "  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {\n"
    "    %sums = transform.structured.match ops{[\"linalg.reduce\"]} attributes {tilec.sum} in %root : "
    "(!transform.any_op) -> !transform.any_op\n"
    "    %g = transform.structured.generalize %sums : (!transform.any_op) -> !transform.any_op\n"
    "    transform.yield\n"
    "  }\n"
    "}\n";

static void generalize_sums(MlirContext ctx, MlirModule module, int vector_bits) {
    SumTags tags = {0, vector_bits};
    mlirOperationWalk(mlirModuleGetOperation(module), tag_sum_reduction, &tags, MlirWalkPreOrder);
    if (tags.n)
        lower_apply_transform(ctx, module, generalize_sums_script, strlen(generalize_sums_script),
                              "generalize-sums");
}

// The stages from the tile level down to the LLVM dialect (as far as `stage`, at most
// LOWER_LLVM_DIALECT), in place.
void x86_run_stages(MlirContext ctx, MlirModule module, const Schedule *sched, LowerStage stage) {
    if (stage > LOWER_MLIR) {
        IrOps pins = {0};
        bool allowed = mlirContextGetAllowUnregisteredDialects(ctx);
        mlirContextSetAllowUnregisteredDialects(ctx, true);
        mlirOperationWalk(mlirModuleGetOperation(module), pin_dot_operands, &pins, MlirWalkPreOrder);
        lower_run_passes(ctx, module, "builtin.module(convert-elementwise-to-linalg)", "tile-level");
        splats_to_generics(ctx, module);
        generalize_sums(ctx, module, sched->vectorize ? sched->vector_bits : 0);
        lower_run_passes(ctx, module, "builtin.module(linalg-fuse-elementwise-ops, canonicalize, cse)",
                         "tile-level");
        // The pins still there: a pass may have dropped a region holding some (a branch or a
        // loop that constant sizes, --fix, decide), and with it the pins.
        free(pins.items);
        pins = (IrOps){0};
        mlirOperationWalk(mlirModuleGetOperation(module), collect_pins, &pins, MlirWalkPreOrder);
        for (int i = 0; i < pins.len; i++)
            mlirOperationDestroy(pins.items[i]);
        free(pins.items);
        mlirContextSetAllowUnregisteredDialects(ctx, allowed);
        lower_print_after_step(module, "tile-level");
        schedule_apply(ctx, module, sched);
        lower_print_after_step(module, "schedule");
        if (sched->vectorize) {
            x86_row_reductions(ctx, module, sched->vector_bits);
            lower_print_after_step(module, "row-reductions");
        }
        x86_iota_masks(ctx, module);
        lower_print_after_step(module, "iota-masks");
        if (sched->inplace) {
            x86_masked_row_reads(ctx, module, sched->vector_bits);
            lower_print_after_step(module, "masked-rows");
            x86_inplace_tiles(ctx, module);
            lower_print_after_step(module, "inplace");
            x86_inplace_stores(ctx, module, sched->vector_bits);
            lower_print_after_step(module, "inplace-stores");
        }
    }
    if (stage > LOWER_SCHEDULED) {
        lower_apply_transform(ctx, module, bufferize_script, strlen(bufferize_script), "bufferization");
        lower_print_after_step(module, "bufferize");
        x86_fast_stores(ctx, module, sched->prefetch);
        lower_print_after_step(module, "fast-stores");
        x86_guard_pad_fills(ctx, module, sched->vector_bits);
        lower_print_after_step(module, "guard-pad-fills");
        x86_hoist_if_allocs(module);
        lower_print_after_step(module, "hoist-if-allocs");
        x86_drop_self_copies(ctx, module);
        lower_print_after_step(module, "drop-self-copies");
        x86_flatten_pair_transfers(ctx, module);
        lower_print_after_step(module, "flatten-pairs");
        if (!mlirOperationVerify(mlirModuleGetOperation(module)))
            internal_error(__FILE__, __LINE__, "the bufferized module does not verify");
    }
    if (stage > LOWER_BUFFERIZED)
        lower_run_passes(ctx, module, lower_host_pipeline, "LLVM-dialect");
}

bool x86_lower_module(const Target *t, MlirContext ctx, MlirModule module, Program *prog,
                      const CompileOptions *o, FILE *out, LLVMContextRef link_ctx, LLVMModuleRef *host) {
    (void)prog;
    if (host) {  // a version of a kernel, linked by the object builder (backends/object.c)
        x86_run_stages(ctx, module, &t->cpu_schedule, LOWER_LLVM_DIALECT);
        *host = lower_translate(ctx, module, link_ctx);
        return true;
    }
    // Each stage runs only as far as asked; the module is printed where it stops.
    x86_run_stages(ctx, module, &t->cpu_schedule,
                   o->stage < LOWER_LLVM_DIALECT ? o->stage : LOWER_LLVM_DIALECT);
    if (o->stage <= LOWER_LLVM_DIALECT) {
        lower_print_module(module, o->debuginfo, out);
        return true;
    }
    LLVMContextRef lctx = LLVMContextCreate();
    LLVMModuleRef m = lower_translate(ctx, module, lctx);
    bool ok = target_finish_llvm(t, m, o, out);
    LLVMDisposeModule(m);
    LLVMContextDispose(lctx);
    return ok;
}
