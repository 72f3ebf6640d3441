// lowering/emit_entry.c — the C entry and ABI of each kernel in the tile-level module: the
// per-kernel NAME__program function (its signature; for the GPU, tensors arrive as pointers and
// become memref descriptors), NAME__task and the thread pool's declaration (CPU), the entry NAME
// that checks its arguments and runs the grid, or for the GPU the launcher NAME_launch that
// calls NAME__cuda_launch; and the module builders lower_build_module / lower_build_variant,
// lower_context and lower_print_module (lower.h).
#include <string.h>

#include "mlir-c/Dialect/LLVM.h"
#include "mlir-c/RegisterEverything.h"

#include "../runtime/tilec_abi.h"
#include "emit.h"

// ================================================================ kernels

// The memref type of tensor parameter t: dynamic sizes, dynamic strided layout.
static MlirType memref_type(Emitter *e, const Symbol *t) {
    int64_t shape[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int i = 0; i < t->type.rank; i++) {
        shape[i] = mlirShapedTypeGetDynamicSize();
        strides[i] = mlirShapedTypeGetDynamicStrideOrOffset();
    }
    MlirAttribute layout =
        mlirStridedLayoutAttrGet(e->ir.ctx, mlirShapedTypeGetDynamicStrideOrOffset(), t->type.rank, strides);
    return mlirMemRefTypeGet(elem_type(e, t->type.elem), t->type.rank, shape, layout, mlirAttributeGetNull());
}

// A func.func `name` in the module (private unless `public_`), its body the current block, with
// no bindings yet.
MlirBlock emit_new_func(Emitter *e, MlirModule module, const char *name, int na, const MlirType *args,
                        int nres, const MlirType *res, bool public_) {
    MlirType fty = mlirFunctionTypeGet(e->ir.ctx, na, args, nres, res);
    MlirNamedAttribute attrs[3] = {
        named(e, "sym_name", mlirStringAttrGet(e->ir.ctx, str(name))),
        named(e, "function_type", mlirTypeAttrGet(fty)),
        named(e, "sym_visibility", mlirStringAttrGet(e->ir.ctx, str("private"))),
    };
    e->ir.block = mlirModuleGetBody(module);
    MlirOperation f = op(e, "func.func", 0, NULL, 0, NULL, public_ ? 2 : 3, attrs, 1);
    MlirBlock body = region_block(e, f, 0, na, args);
    e->ir.block = body;
    e->nenv = 0;
    return body;
}

// The value --fix gives symbol s (lower_build_fixed), or NULL.
static const SemaDefine *fixed_value(const Emitter *e, const Symbol *s) {
    for (int i = 0; i < e->nfixed; i++)
        if (strcmp(e->fixed[i].name, s->name) == 0)
            return &e->fixed[i];
    return NULL;
}

// values[a], or the constant --fix gives s (of values[a]'s type).
static MlirValue bound_value(Emitter *e, const Symbol *s, MlirValue v) {
    const SemaDefine *f = fixed_value(e, s);
    return f ? const_int(e, mlirValueGetType(v), f->value) : v;
}

// Binds a kernel's scalars, sizes and strides to values[0..], in ABI order; returns how many.
// The sizes and integer scalars --fix gives are bound to their constants instead.
int emit_bind_scalars(Emitter *e, const KernelInfo *ki, const MlirValue *values) {
    int a = 0;
    for (int i = 0; i < ki->nscalars; i++, a++)
        emit_bind(e, ki->scalars[i], bound_value(e, ki->scalars[i], values[a]));
    for (int i = 0; i < ki->nsizes; i++, a++)
        emit_bind(e, ki->sizes[i], bound_value(e, ki->sizes[i], values[a]));
    for (int i = 0; i < ki->nstrides; i++)
        emit_bind(e, ki->strides[i], values[a++]);
    return a;
}

// Block arguments first .. first + n - 1 into out.
static void block_args(MlirBlock b, int first, int n, MlirValue *out) {
    for (int i = 0; i < n; i++)
        out[i] = mlirBlockGetArgument(b, first + i);
}

static MlirValue descriptor(Emitter *e, const Symbol *ts, MlirValue p);

// Marks the tensor arguments of NAME__program whose innermost stride may differ from 1 (a stride
// name, or a literal other than 1) with the argument attribute `tilec.strided`: the x86 back end
// versions only their tiles' copies for layouts other than unit-stride rows (backends/x86/
// copies.c), and drops the marks.
static void mark_strided(Emitter *e, MlirOperation func, const KernelInfo *ki, int na) {
    MlirAttribute dicts[64 + 4 * TILE_MAX_RANK];
    MlirNamedAttribute mark = named(e, "tilec.strided", mlirUnitAttrGet(e->ir.ctx));
    bool any = false;
    for (int i = 0; i < na; i++) {
        const Symbol *t = i < ki->ntensors ? ki->tensors[i] : NULL;
        int r = t ? t->type.rank : 0;
        bool strided =
            r > 0 && (t->strides[r - 1] || (t->const_strides[r - 1] >= 0 && t->const_strides[r - 1] != 1));
        dicts[i] = mlirDictionaryAttrGet(e->ir.ctx, strided ? 1 : 0, &mark);
        any |= strided;
    }
    if (any)
        mlirOperationSetAttributeByName(func, str("arg_attrs"), mlirArrayAttrGet(e->ir.ctx, na, dicts));
}

static void emit_kernel(Emitter *e, MlirModule module, Node *k) {
    KernelInfo *ki = k->kinfo;
    MlirType args[64 + 4 * TILE_MAX_RANK];
    int na = 0;
    e->ir.loc = mlirLocationFileLineColGet(e->ir.ctx, str(k->span.file->path), (unsigned)k->span.line,
                                           (unsigned)k->span.col);
    if (ki->ntensors + ki->nscalars + ki->nsizes + ki->nstrides + 6 > 64) {
        emit_unsupported(e, k, "kernels with more than 58 parameters, sizes and strides");
        return;
    }
    for (int i = 0; i < ki->ntensors; i++)
        args[na++] = e->gpu ? mlirLLVMPointerTypeGet(e->ir.ctx, 0) : memref_type(e, ki->tensors[i]);
    for (int i = 0; i < ki->nscalars; i++)
        args[na++] = elem_type(e, ki->scalars[i]->type.elem);
    for (int i = 0; i < ki->nsizes + ki->nstrides + 6; i++)
        args[na++] = i64t(e);
    char name[512];
    snprintf(name, sizeof name, "%s__program", e->sym);
    MlirBlock body = emit_new_func(e, module, name, na, args, 0, NULL, true);
    if (!e->gpu)
        mark_strided(e, mlirBlockGetParentOperation(body), ki, na);
    int a = ki->ntensors;
    MlirValue vals[64];
    block_args(body, a, ki->nscalars + ki->nsizes + ki->nstrides, vals);
    a += emit_bind_scalars(e, ki, vals);
    // For the GPU, each tensor's memref is a descriptor over its pointer argument, which the
    // GPU backend reads back (backends/nvidia/gpu.h); for the CPU the entry passes memrefs.
    for (int i = 0; i < ki->ntensors; i++)
        emit_bind(e, ki->tensors[i],
                  e->gpu ? descriptor(e, ki->tensors[i], mlirBlockGetArgument(body, i))
                         : mlirBlockGetArgument(body, i));
    for (int i = 0; i < 3; i++)
        e->pid[i] = mlirBlockGetArgument(body, a++);
    for (int i = 0; i < 3; i++)
        e->np[i] = mlirBlockGetArgument(body, a++);
    e->kernel = k;
    emit_block(e, k->body);
    e->ir.block = body;
    op(e, "func.return", 0, NULL, 0, NULL, 0, NULL, 0);
}

// ================================================================ the C entry

// One field of a memref descriptor and its position in the LLVM struct.
typedef struct DescField {
    MlirValue v;
    int64_t pos[2];
    int npos;
} DescField;

// The address of 8-byte slot i of an argument context.
static MlirValue slot(Emitter *e, MlirValue ctx, int i) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    MlirValue idx = const_int(e, i64t(e), i);
    MlirValue ops[2] = {ctx, idx};
    MlirNamedAttribute attrs[2] = {
        named(e, "rawConstantIndices", mlirDenseI32ArrayGet(e->ir.ctx, 1, (int32_t[]){INT32_MIN})),
        named(e, "elem_type", mlirTypeAttrGet(i64t(e))),
    };
    return mlirOperationGetResult(op(e, "llvm.getelementptr", 1, &ptr, 2, ops, 2, attrs, 0), 0);
}

// The memref of tensor `ts` over pointer p: a descriptor {allocated, aligned, offset, sizes[r],
// strides[r]} cast to the memref type. Sizes and strides come from the bound symbols.
static MlirValue descriptor(Emitter *e, const Symbol *ts, MlirValue p) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    int r = ts->type.rank;
    MlirType arr = mlirLLVMArrayTypeGet(i64t(e), (unsigned)r);
    MlirType fields[5] = {ptr, ptr, i64t(e), arr, arr};
    MlirType st_t = mlirLLVMStructTypeLiteralGet(e->ir.ctx, 5, fields, false);
    MlirValue dsc = mlirOperationGetResult(op(e, "llvm.mlir.undef", 1, &st_t, 0, NULL, 0, NULL, 0), 0);
    MlirValue dims[TILE_MAX_RANK], strides[TILE_MAX_RANK];
    for (int d = 0; d < r; d++)
        dims[d] = emit_size_value(e, ts, d);
    for (int d = r - 1; d >= 0; d--) {
        if (ts->strides[d])
            emit_lookup(e, ts->strides[d], &strides[d]);
        else if (ts->const_strides[d] >= 0)
            strides[d] = const_int(e, i64t(e), ts->const_strides[d]);
        else
            strides[d] =
                d == r - 1 ? const_int(e, i64t(e), 1) : binop(e, "arith.muli", strides[d + 1], dims[d + 1]);
    }
    DescField in[3 + 2 * TILE_MAX_RANK];
    int nf = 0;
    in[nf++] = (DescField){p, {0}, 1};
    in[nf++] = (DescField){p, {1}, 1};
    in[nf++] = (DescField){const_int(e, i64t(e), 0), {2}, 1};
    for (int d = 0; d < r; d++) {
        in[nf++] = (DescField){dims[d], {3, d}, 2};
        in[nf++] = (DescField){strides[d], {4, d}, 2};
    }
    for (int j = 0; j < nf; j++) {
        MlirValue ops[2] = {dsc, in[j].v};
        MlirNamedAttribute pos = named(e, "position", i64_array(e, in[j].npos, in[j].pos));
        dsc = mlirOperationGetResult(op(e, "llvm.insertvalue", 1, &st_t, 2, ops, 1, &pos, 0), 0);
    }
    return op1(e, "builtin.unrealized_conversion_cast", memref_type(e, ts), 1, &dsc);
}

MlirValue emit_descriptor(Emitter *e, const Symbol *ts, MlirValue p) { return descriptor(e, ts, p); }

// void NAME__task(void *ctx, int64_t index): one program instance of the flattened grid, with
// the arguments unpacked from the entry's context.
static void emit_task(Emitter *e, MlirModule module, Node *k, const MlirType *arg_types, int na) {
    KernelInfo *ki = k->kinfo;
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    MlirType targs[2] = {ptr, i64t(e)};
    char name[512];
    snprintf(name, sizeof name, "%s__task", e->sym);
    MlirBlock body = emit_new_func(e, module, name, 2, targs, 0, NULL, false);
    MlirValue ctxp = mlirBlockGetArgument(body, 0), index = mlirBlockGetArgument(body, 1);
    MlirValue vals[64 + 3];
    for (int i = 0; i < na + 3; i++) {
        MlirType t = i < na ? arg_types[i] : i64t(e);
        MlirValue a = slot(e, ctxp, i);
        vals[i] = op1(e, "llvm.load", t, 1, &a);
    }
    emit_bind_scalars(e, ki, vals + ki->ntensors);
    MlirValue *grid = &vals[na];
    MlirValue call_args[64 + 6];
    int nc = 0;
    for (int t = 0; t < ki->ntensors; t++)
        call_args[nc++] = descriptor(e, ki->tensors[t], vals[t]);
    for (int i = ki->ntensors; i < na; i++)
        call_args[nc++] = vals[i];
    // index = (p0 * g1 + p1) * g2 + p2
    MlirValue g12 = binop(e, "arith.muli", grid[1], grid[2]);
    MlirValue rem = binop(e, "arith.remsi", index, g12);
    call_args[nc++] = binop(e, "arith.divsi", index, g12);
    call_args[nc++] = binop(e, "arith.divsi", rem, grid[2]);
    call_args[nc++] = binop(e, "arith.remsi", rem, grid[2]);
    for (int i = 0; i < 3; i++)
        call_args[nc++] = grid[i];
    char pname[512];
    snprintf(pname, sizeof pname, "%s__program", e->sym);
    MlirNamedAttribute callee = named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(pname)));
    op(e, "func.call", 0, NULL, nc, call_args, 1, &callee, 0);
    op(e, "func.return", 0, NULL, 0, NULL, 0, NULL, 0);
}

// The thread pool's entry point (runtime/tilec_rt.h), declared once per module; for the GPU,
// the kernel's launcher NAME__cuda_launch(blocks, stream, parameters), once per kernel.
static void declare_runtime(Emitter *e, MlirModule module) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0), i32 = elem_type(e, EL_I32);
    MlirType targs[2] = {ptr, i64t(e)};
    MlirType task_t = mlirFunctionTypeGet(e->ir.ctx, 2, targs, 0, NULL);
    MlirType args[3] = {i64t(e), e->gpu ? ptr : task_t, ptr};
    MlirType fty = mlirFunctionTypeGet(e->ir.ctx, 3, args, e->gpu ? 1 : 0, &i32);
    char name[512];
    snprintf(name, sizeof name, "%s__cuda_launch", e->sym);
    MlirNamedAttribute attrs[3] = {
        named(e, "sym_name", mlirStringAttrGet(e->ir.ctx, str(e->gpu ? name : "tilec_rt_parallel_for"))),
        named(e, "function_type", mlirTypeAttrGet(fty)),
        named(e, "sym_visibility", mlirStringAttrGet(e->ir.ctx, str("private"))),
    };
    e->ir.block = mlirModuleGetBody(module);
    e->ir.loc = mlirLocationUnknownGet(e->ir.ctx);
    op(e, "func.func", 0, NULL, 0, NULL, 3, attrs, 1);  // a declaration: no body
}

// int NAME(tensors as pointers, scalars, sizes, strides): checks the arguments, packs them and
// the grid into a context, and hands the grid to the runtime's thread pool, which calls
// NAME__task for each program instance. Returns 0, or 1
// (a negative size or stride), 2 (a null pointer to a non-empty tensor), 3 (a run-time
// constraint is false). For the GPU the entry is NAME_launch(stream, the same arguments): the
// same checks, then NAME__cuda_launch(blocks, stream, kernel parameters), which the GPU backend
// defines (backends/nvidia/gpu.h), launches the grid and returns the status.
static void emit_entry(Emitter *e, MlirModule module, Node *k) {
    KernelInfo *ki = k->kinfo;
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0), i32 = elem_type(e, EL_I32), i1 = elem_type(e, EL_I1);
    MlirType args[65];
    int na = 0, a0 = e->gpu ? 1 : 0;  // the stream comes first for the GPU
    if (e->gpu)
        args[na++] = ptr;
    for (int i = 0; i < ki->ntensors; i++)
        args[na++] = ptr;
    for (int i = 0; i < ki->nscalars; i++)
        args[na++] = elem_type(e, ki->scalars[i]->type.elem);
    for (int i = 0; i < ki->nsizes + ki->nstrides; i++)
        args[na++] = i64t(e);
    char fname[512];
    snprintf(fname, sizeof fname, "%s%s", e->sym, e->gpu ? "_launch" : "");
    MlirBlock body = emit_new_func(e, module, fname, na, args, 1, &i32, true);
    MlirValue vals[64];
    block_args(body, a0 + ki->ntensors, na - a0 - ki->ntensors, vals);
    emit_bind_scalars(e, ki, vals);
    MlirValue zero = const_int(e, i64t(e), 0);
    MlirNamedAttribute slt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 2));
    MlirNamedAttribute sgt = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 4));
    MlirNamedAttribute ieq = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 0));
    // TILEC_ERR_SIZE: a negative size or stride
    MlirValue bad = const_int(e, i1, 0);
    for (int i = a0 + ki->ntensors + ki->nscalars; i < na; i++) {
        MlirValue ops[2] = {mlirBlockGetArgument(body, i), zero};
        bad = binop(e, "arith.ori", bad,
                    mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ops, 1, &slt, 0), 0));
    }
    // TILEC_ERR_NULL: a null pointer to a tensor with elements
    MlirValue null_bad = const_int(e, i1, 0);
    MlirValue nullp = mlirOperationGetResult(op(e, "llvm.mlir.zero", 1, &ptr, 0, NULL, 0, NULL, 0), 0);
    for (int t = 0; t < ki->ntensors; t++) {
        MlirValue ops[2] = {mlirBlockGetArgument(body, a0 + t), nullp};
        MlirValue isnull = mlirOperationGetResult(op(e, "llvm.icmp", 1, &i1, 2, ops, 1, &ieq, 0), 0);
        MlirValue nonempty = const_int(e, i1, 1);
        for (int d = 0; d < ki->tensors[t]->type.rank; d++) {
            MlirValue dops[2] = {emit_size_value(e, ki->tensors[t], d), zero};
            nonempty = binop(e, "arith.andi", nonempty,
                             mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, dops, 1, &sgt, 0), 0));
        }
        null_bad = binop(e, "arith.ori", null_bad, binop(e, "arith.andi", isnull, nonempty));
    }
    // TILEC_ERR_CONSTRAINT: a run-time constraint is false
    MlirValue where_bad = const_int(e, i1, 0);
    for (int w = 0; w < ki->nruntime_wheres; w++) {
        MlirValue c = emit_operand(e, ki->runtime_wheres[w], EL_I1, &(Type){.cls = TY_VALUE, .elem = EL_I1});
        if (e->failed)
            return;
        where_bad = binop(e, "arith.ori", where_bad, binop(e, "arith.xori", c, const_int(e, i1, 1)));
    }
    // --fix: a call whose sizes or integer scalars differ from the fixed values is refused.
    Symbol *const *params[2] = {ki->scalars, ki->sizes};
    int nparams[2] = {ki->nscalars, ki->nsizes}, first = a0 + ki->ntensors;
    for (int g = 0; g < 2; g++, first += nparams[0])
        for (int i = 0; i < nparams[g]; i++) {
            const SemaDefine *f = fixed_value(e, params[g][i]);
            if (!f)
                continue;
            MlirValue arg = mlirBlockGetArgument(body, first + i);
            MlirNamedAttribute ne = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 1));
            MlirValue ops[2] = {arg, const_int(e, mlirValueGetType(arg), f->value)};
            where_bad = binop(e, "arith.ori", where_bad,
                              mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ops, 1, &ne, 0), 0));
        }
    if (!e->gpu) {  // the sizes and addresses of lists' elements (in host memory)
        MlirValue ptrs[64];
        block_args(body, a0, ki->ntensors, ptrs);
        emit_list_checks(e, ki, ptrs, &bad, &null_bad);
    }
    MlirValue st = const_int(e, i32, TILEC_OK);
    MlirValue codes[3] = {const_int(e, i32, TILEC_ERR_CONSTRAINT), const_int(e, i32, TILEC_ERR_NULL),
                          const_int(e, i32, TILEC_ERR_SIZE)};
    MlirValue conds[3] = {where_bad, null_bad, bad};
    for (int i = 0; i < 3; i++) {  // the lowest code wins
        MlirValue ops[3] = {conds[i], codes[i], st};
        st = op1(e, "arith.select", i32, 3, ops);
    }
    // The grid.
    MlirValue grid[3];
    Node *g = k->grid.len ? k->grid.items[0] : NULL;
    for (int i = 0; i < 3; i++) {
        grid[i] = const_int(e, i64t(e), 1);
        if (g && i < g->args.len)
            grid[i] = emit_operand(e, g->args.items[i], EL_I64, &(Type){.cls = TY_VALUE, .elem = EL_I64});
    }
    if (e->failed)
        return;
    MlirValue ok_ops[2] = {st, const_int(e, i32, TILEC_OK)};
    MlirValue run = mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ok_ops, 1, &ieq, 0), 0);
    MlirOperation iff = op(e, "scf.if", 1, &i32, 1, &run, 0, NULL, 2);
    MlirBlock then = region_block(e, iff, 0, 0, NULL), els = region_block(e, iff, 1, 0, NULL);
    e->ir.block = els;
    op(e, "scf.yield", 0, NULL, 1, &st, 0, NULL, 0);
    e->ir.block = then;
    // The arguments and the grid go into a context of 8-byte slots: for NAME__task, which the
    // runtime runs over its threads for each program of the flattened grid, or, through an
    // array of pointers to the slots, as the GPU kernel's parameters.
    int nslots = na - a0 + 3;
    MlirValue one = const_int(e, i64t(e), 1);
    MlirType slots_t = mlirLLVMArrayTypeGet(i64t(e), (unsigned)nslots);
    MlirNamedAttribute elem = named(e, "elem_type", mlirTypeAttrGet(slots_t));
    MlirValue ctxp = mlirOperationGetResult(op(e, "llvm.alloca", 1, &ptr, 1, &one, 1, &elem, 0), 0);
    MlirValue slots[64 + 3];
    for (int i = 0; i < nslots; i++) {
        MlirValue v = i < na - a0 ? mlirBlockGetArgument(body, a0 + i) : grid[i - na + a0];
        slots[i] = slot(e, ctxp, i);
        MlirValue ops[2] = {v, slots[i]};
        op(e, "llvm.store", 0, NULL, 2, ops, 0, NULL, 0);
    }
    MlirValue total = binop(e, "arith.muli", binop(e, "arith.muli", grid[0], grid[1]), grid[2]);
    MlirValue status = const_int(e, i32, TILEC_OK);
    if (e->gpu) {
        MlirValue params = mlirOperationGetResult(op(e, "llvm.alloca", 1, &ptr, 1, &one, 1, &elem, 0), 0);
        for (int i = 0; i < nslots; i++) {
            MlirValue ops[2] = {slots[i], slot(e, params, i)};
            op(e, "llvm.store", 0, NULL, 2, ops, 0, NULL, 0);
        }
        char lname[512];
        snprintf(lname, sizeof lname, "%s__cuda_launch", e->sym);
        MlirValue call_ops[3] = {total, mlirBlockGetArgument(body, 0), params};
        MlirNamedAttribute callee = named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(lname)));
        status = mlirOperationGetResult(op(e, "func.call", 1, &i32, 3, call_ops, 1, &callee, 0), 0);
    } else {
        MlirType task_args[2] = {ptr, i64t(e)};
        MlirType task_t = mlirFunctionTypeGet(e->ir.ctx, 2, task_args, 0, NULL);
        char tname[512];
        snprintf(tname, sizeof tname, "%s__task", e->sym);
        MlirNamedAttribute fattr = named(e, "value", mlirFlatSymbolRefAttrGet(e->ir.ctx, str(tname)));
        MlirValue fn = mlirOperationGetResult(op(e, "func.constant", 1, &task_t, 0, NULL, 1, &fattr, 0), 0);
        MlirValue call_ops[3] = {total, fn, ctxp};
        MlirNamedAttribute callee =
            named(e, "callee", mlirFlatSymbolRefAttrGet(e->ir.ctx, str("tilec_rt_parallel_for")));
        op(e, "func.call", 0, NULL, 3, call_ops, 1, &callee, 0);
    }
    op(e, "scf.yield", 0, NULL, 1, &status, 0, NULL, 0);
    e->ir.block = body;
    MlirValue result = mlirOperationGetResult(iff, 0);
    op(e, "func.return", 0, NULL, 1, &result, 0, NULL, 0);
    if (!e->gpu)
        emit_task(e, module, k, args, na);
}

MlirContext lower_context(void) {
    static bool passes_registered;
    if (!passes_registered) {
        mlirRegisterAllPasses();
        passes_registered = true;
    }
    MlirContext ctx = mlirContextCreate();
    MlirDialectRegistry reg = mlirDialectRegistryCreate();
    mlirRegisterAllDialects(reg);
    mlirContextAppendDialectRegistry(ctx, reg);
    mlirDialectRegistryDestroy(reg);
    mlirContextLoadAllAvailableDialects(ctx);
    return ctx;
}

static bool finish_module(MlirModule module, bool ok, MlirModule *out) {
    if (!ok) {
        mlirModuleDestroy(module);
        return false;
    }
    MlirOperation m = mlirModuleGetOperation(module);
    if (!mlirOperationVerify(m)) {
        mlirOperationPrint(m, ir_print_to_file, stderr);
        internal_error(__FILE__, __LINE__, "the tile-level module does not verify (printed above)");
    }
    *out = module;
    return true;
}

bool lower_build_module(MlirContext ctx, Program *prog, const SemaOptions *opts, const char *only, bool gpu,
                        MlirModule *out) {
    Emitter e = {.ir.ctx = ctx, .gpu = gpu};
    MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(ctx));
    bool ok = true, declared = false;
    for (int i = 0; i < prog->decls.len && ok; i++) {
        Node *k = prog->decls.items[i];
        if (!ast_main_kernel(k, only))
            continue;
        // The shared tree is left annotated for the default configuration too (the header
        // names it); the module is built from the instance.
        Config cfg;
        Node *inst;
        if (!sema_default_config(prog, k, opts, &cfg) || !sema_check_kernel(prog, k, &cfg) ||
            !(inst = sema_instance(prog, k, &cfg))) {
            ok = false;
            break;
        }
        e.sym = k->name;
        if (!declared || gpu)
            declare_runtime(&e, module);
        declared = true;
        emit_kernel(&e, module, inst);
        if (!e.failed)
            emit_entry(&e, module, inst);
        ok = !e.failed;
    }
    return finish_module(module, ok, out);
}

bool lower_build_variant(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                         bool gpu, MlirModule *out) {
    return lower_build_fixed(ctx, prog, kernel, cfg, sym, gpu, NULL, 0, out);
}

bool lower_build_fixed(MlirContext ctx, Program *prog, Node *kernel, const Config *cfg, const char *sym,
                       bool gpu, const SemaDefine *fixed, int nfixed, MlirModule *out) {
    Emitter e = {.ir.ctx = ctx, .sym = sym, .gpu = gpu, .fixed = fixed, .nfixed = nfixed};
    MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(ctx));
    Node *inst = sema_instance(prog, kernel, cfg);  // read only: variants may be built at once
    bool ok = inst != NULL;
    if (ok) {
        declare_runtime(&e, module);
        emit_kernel(&e, module, inst);
        if (!e.failed)
            emit_entry(&e, module, inst);
        ok = !e.failed;
    }
    return finish_module(module, ok, out);
}

void lower_print_module(MlirModule module, bool debuginfo, FILE *out) {
    MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
    mlirOpPrintingFlagsEnableDebugInfo(flags, debuginfo, false);
    mlirOperationPrintWithFlags(mlirModuleGetOperation(module), flags, ir_print_to_file, out);
    mlirOpPrintingFlagsDestroy(flags);
    fputc('\n', out);
}
