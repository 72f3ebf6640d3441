// lowering/emit_list.c — tensor lists (docs/language.md §6.7) in the emitter: an element As[g]
// becomes a memref over the address and sizes loaded from the list's arrays (which are bound
// like any tensor, as i64[G]), and the C entry checks every element's sizes and address.
#include "mlir-c/Dialect/LLVM.h"

#include "emit.h"

MlirValue emit_list_value(Emitter *e, const Symbol *sym) {
    MlirValue v = emit_expr(e, sym->list_load);
    if (e->failed || sym->kind == SYM_SIZE)
        return v;
    MlirValue p = op1(e, "llvm.inttoptr", mlirLLVMPointerTypeGet(e->ir.ctx, 0), 1, &v);
    return emit_descriptor(e, sym, p);
}

// Element i of the array at p (elements of type t).
static MlirValue load_at(Emitter *e, MlirValue p, MlirValue i, MlirType t) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0);
    MlirValue ops[2] = {p, i};
    MlirNamedAttribute attrs[2] = {
        named(e, "rawConstantIndices", mlirDenseI32ArrayGet(e->ir.ctx, 1, (int32_t[]){INT32_MIN})),
        named(e, "elem_type", mlirTypeAttrGet(t)),
    };
    MlirValue a = mlirOperationGetResult(op(e, "llvm.getelementptr", 1, &ptr, 2, ops, 2, attrs, 0), 0);
    return op1(e, "llvm.load", t, 1, &a);
}

static MlirValue cmp(Emitter *e, int64_t pred, MlirValue a, MlirValue b) {
    MlirType i1 = mlirIntegerTypeGet(e->ir.ctx, 1);
    MlirValue ops[2] = {a, b};
    MlirNamedAttribute p = named(e, "predicate", mlirIntegerAttrGet(i64t(e), pred));
    return mlirOperationGetResult(op(e, "arith.cmpi", 1, &i1, 2, ops, 1, &p, 0), 0);
}

void emit_list_checks(Emitter *e, const KernelInfo *ki, const MlirValue *ptrs, MlirValue *bad,
                      MlirValue *null_bad) {
    MlirType ptr = mlirLLVMPointerTypeGet(e->ir.ctx, 0), i1 = mlirIntegerTypeGet(e->ir.ctx, 1);
    enum { EQ = 0, SLT = 2, SGT = 4 };
    for (int t = 0; t < ki->ntensors; t++) {
        const Symbol *L = ki->tensors[t], *T = L->list_elem;
        if (!T)
            continue;
        // The arrays: the addresses, then each size array; none is read if one is NULL.
        MlirValue nullp = mlirOperationGetResult(op(e, "llvm.mlir.zero", 1, &ptr, 0, NULL, 0, NULL, 0), 0);
        MlirValue any_null = const_int(e, i1, 0);
        MlirValue arrays[1 + TILE_MAX_RANK];
        arrays[0] = ptrs[t];
        for (int d = 0; d < T->type.rank; d++)
            if (T->dims[d])
                arrays[1 + d] = ptrs[T->dims[d]->index];
        for (int d = 0; d <= T->type.rank; d++) {
            if (d > 0 && !T->dims[d - 1])
                continue;
            MlirValue ops[2] = {arrays[d], nullp};
            MlirNamedAttribute eq = named(e, "predicate", mlirIntegerAttrGet(i64t(e), 0));
            any_null = binop(e, "arith.ori", any_null,
                             mlirOperationGetResult(op(e, "llvm.icmp", 1, &i1, 2, ops, 1, &eq, 0), 0));
        }
        MlirValue zero = const_int(e, i64t(e), 0), one = const_int(e, i64t(e), 1);
        MlirValue sel[3] = {any_null, zero, emit_size_value(e, L, 0)};
        MlirValue bounds[5] = {zero, op1(e, "arith.select", i64t(e), 3, sel), one, *bad, *null_bad};
        MlirType types[3] = {i64t(e), i1, i1};
        MlirOperation f = op(e, "scf.for", 2, types + 1, 5, bounds, 0, NULL, 1);
        MlirBlock body = region_block(e, f, 0, 3, types), saved = e->ir.block;
        e->ir.block = body;
        MlirValue i = mlirBlockGetArgument(body, 0);
        MlirValue sz_bad = mlirBlockGetArgument(body, 1), nl_bad = mlirBlockGetArgument(body, 2);
        MlirValue nonempty = const_int(e, i1, 1);
        for (int d = 0; d < T->type.rank; d++) {
            if (!T->dims[d])
                continue;
            MlirValue s = load_at(e, arrays[1 + d], i, i64t(e));
            sz_bad = binop(e, "arith.ori", sz_bad, cmp(e, SLT, s, zero));
            nonempty = binop(e, "arith.andi", nonempty, cmp(e, SGT, s, zero));
        }
        MlirValue a = load_at(e, arrays[0], i, ptr);
        MlirValue ops[2] = {a, nullp};
        MlirNamedAttribute eq = named(e, "predicate", mlirIntegerAttrGet(i64t(e), EQ));
        MlirValue isnull = mlirOperationGetResult(op(e, "llvm.icmp", 1, &i1, 2, ops, 1, &eq, 0), 0);
        nl_bad = binop(e, "arith.ori", nl_bad, binop(e, "arith.andi", isnull, nonempty));
        MlirValue yields[2] = {sz_bad, nl_bad};
        op(e, "scf.yield", 0, NULL, 2, yields, 0, NULL, 0);
        e->ir.block = saved;
        *bad = mlirOperationGetResult(f, 0);
        *null_bad = mlirOperationGetResult(f, 1);
    }
}
