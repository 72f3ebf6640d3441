// lowering/emit_fit.c — what a version of a kernel tells the dispatcher of its versions
// (dispatch.c) about a call: double SYM__fit(the entry's arguments) is -1 when the version's
// run-time `where` constraints reject the call, else the call's padded work in that version (the
// product over the kernel's relations, lower_fit_relations, of ceil(extent / tile) * tile); when
// the version's `prefer` conditions do not hold, (work + 1) * 2^200 instead: above the work of any
// preferred version whose work is below 2^200 (16 relations of extents below 2^12 each stay below
// 2^192), and in the same order as the work among the versions not preferred (exact: a power of
// two).
// Host code only, for every target: a module of its own, lowered by the host pipeline.
#include "mlir-c/Dialect/LLVM.h"

#include "emit.h"

bool lower_build_fit(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                     bool gpu, MlirModule *out) {
    Node *inst = sema_instance(prog, kernel, cfg);  // read only, like lower_build_variant's
    if (!inst)
        return false;
    const KernelInfo *ki = inst->kinfo;
    Emitter e = {.ir.ctx = ctx, .sym = sym, .gpu = gpu, .kernel = inst};
    MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(ctx));
    e.ir.loc = mlirLocationFileLineColGet(ctx, str(inst->span.file->path), (unsigned)inst->span.line,
                                          (unsigned)inst->span.col);
    // The entry's parameters (emit_entry.c): the stream on GPUs, tensors as pointers, scalars,
    // sizes, strides.
    MlirType ptr = mlirLLVMPointerTypeGet(ctx, 0), f64 = mlirF64TypeGet(ctx), i1 = elem_type(&e, EL_I1);
    MlirType args[65];
    int na = 0, a0 = gpu ? 1 : 0;
    if (ki->ntensors + ki->nscalars + ki->nsizes + ki->nstrides + a0 > 64) {
        mlirModuleDestroy(module);
        emit_unsupported(&e, inst, "kernels with more than 58 parameters, sizes and strides");
        return false;
    }
    if (gpu)
        args[na++] = ptr;
    for (int i = 0; i < ki->ntensors; i++)
        args[na++] = ptr;
    for (int i = 0; i < ki->nscalars; i++)
        args[na++] = elem_type(&e, ki->scalars[i]->type.elem);
    for (int i = 0; i < ki->nsizes + ki->nstrides; i++)
        args[na++] = i64t(&e);
    char name[512];
    snprintf(name, sizeof name, "%s__fit", sym);
    MlirBlock body = emit_new_func(&e, module, name, na, args, 1, &f64, true);
    MlirValue vals[64];
    for (int i = a0 + ki->ntensors; i < na; i++)
        vals[i - a0 - ki->ntensors] = mlirBlockGetArgument(body, i);
    emit_bind_scalars(&e, ki, vals);
    MlirValue ok = const_int(&e, i1, 1);
    for (int w = 0; w < ki->nruntime_wheres && !e.failed; w++)
        ok = binop(&e, "arith.andi", ok,
                   emit_operand(&e, ki->runtime_wheres[w], EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1}));
    LowerFitRelation rel[LOWER_MAX_FIT_RELATIONS];
    int nrel = lower_fit_relations(inst, rel, LOWER_MAX_FIT_RELATIONS);
    MlirValue work = const_float(&e, f64, 1.0);
    const Type i64_type = {.cls = TY_VALUE, .elem = EL_I64};
    for (int r = 0; r < nrel && !e.failed; r++) {
        MlirValue x = emit_operand(&e, (Node *)rel[r].extent, EL_I64, &i64_type);
        MlirValue t = emit_operand(&e, (Node *)rel[r].tile, EL_I64, &i64_type);
        if (e.failed)
            break;
        x = binop(&e, "arith.maxsi", x, const_int(&e, i64t(&e), 0));
        t = binop(&e, "arith.maxsi", t, const_int(&e, i64t(&e), 1));  // a tile below 1 counts as 1
        MlirValue padded = binop(&e, "arith.muli", binop(&e, "arith.ceildivsi", x, t), t);
        work = binop(&e, "arith.mulf", work, op1(&e, "arith.sitofp", f64, 1, &padded));
    }
    if (e.failed) {
        mlirModuleDestroy(module);
        return false;
    }
    if (ki->not_preferred || ki->nruntime_prefers) {
        MlirValue pref = const_int(&e, i1, !ki->not_preferred);
        for (int p = 0; p < ki->nruntime_prefers && !e.failed; p++)
            pref = binop(
                &e, "arith.andi", pref,
                emit_operand(&e, ki->runtime_prefers[p], EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1}));
        if (e.failed) {
            mlirModuleDestroy(module);
            return false;
        }
        MlirValue other = binop(&e, "arith.mulf", binop(&e, "arith.addf", work, const_float(&e, f64, 1.0)),
                                const_float(&e, f64, 0x1p200));
        MlirValue s[3] = {pref, work, other};
        work = op1(&e, "arith.select", f64, 3, s);
    }
    MlirValue sel[3] = {ok, work, const_float(&e, f64, -1.0)};
    MlirValue result = op1(&e, "arith.select", f64, 3, sel);
    op(&e, "func.return", 0, NULL, 1, &result, 0, NULL, 0);
    if (!mlirOperationVerify(mlirModuleGetOperation(module))) {
        mlirOperationPrint(mlirModuleGetOperation(module), ir_print_to_file, stderr);
        internal_error(__FILE__, __LINE__, "the fit function of '%s' does not verify (printed above)", sym);
    }
    *out = module;
    return true;
}
