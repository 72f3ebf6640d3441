// backends/nvidia/gpu_simt.c — the tile-level program distributed over a thread block (gpu.h): the
// driver (gpu_distribute), the value map, error reports, and the targets and schedules.
//
// The program function (tensor values) is rewritten op by op into a gpu.func whose values are
// what one thread holds: a scalar stays a scalar; a tile becomes either a uniform scalar (a
// splat: every element equal), a lazy description (a slice of a tensor in memory, read only
// when a consumer fixes the layout), or a vector<E> of the E elements the thread owns under a
// Layout. Control flow in a program depends on scalars only, so it is uniform over the block
// and barriers and shuffles may sit anywhere.
//
// The other pieces of the distribution, and what they share: gpu_simt.h.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_simt.h"

#define MAXVALS 4096  // value map capacity (open addressing, grows)

// ---------------------------------------------------------------- value map

static size_t hash_ptr(const void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull; }

void gpu_map_put(Gpu *g, MlirValue k, DVal *v) {
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

DVal *gpu_map_get(Gpu *g, MlirValue k) {
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

DVal *gpu_dval_new(DKind kind) {
    DVal *d = ast_alloc(sizeof(DVal));
    d->kind = kind;
    return d;
}

DVal *gpu_scalar_val(MlirValue v) {
    DVal *d = gpu_dval_new(DV_SCALAR);
    d->v = v;
    return d;
}

DVal *gpu_get(Gpu *g, MlirValue v) {
    DVal *d = gpu_map_get(g, v);
    if (!d)
        internal_error(__FILE__, __LINE__, "GPU back end: a value used before it was converted");
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

void gpu_unsupported(Gpu *g, MlirOperation o, const char *what) {
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
                gpu_unsupported(g, o, "tiles of rank above 4");
                return false;
            }
            for (int d = 0; d < mlirShapedTypeGetRank(t); d++)
                if (!pow2(mlirShapedTypeGetDimSize(t, d))) {
                    gpu_unsupported(g, o, "tile shapes that are not powers of two");
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
        gpu_map_put(&g, mlirBlockGetArgument(pbody, i), gpu_scalar_val(mlirBlockGetArgument(kbody, k++)));
    }
    MlirValue np1 = mlirBlockGetArgument(kbody, nk - 2), np2 = mlirBlockGetArgument(kbody, nk - 1);
    MlirValue bid = gpu_index(&g, "gpu.block_id", "x");
    MlirValue n12 = mul(&g, np1, np2);
    MlirValue rem = bin(&g, "arith.remui", bid, n12);
    gpu_map_put(&g, mlirBlockGetArgument(pbody, na - 6), gpu_scalar_val(bin(&g, "arith.divui", bid, n12)));
    gpu_map_put(&g, mlirBlockGetArgument(pbody, na - 5), gpu_scalar_val(bin(&g, "arith.divui", rem, np2)));
    gpu_map_put(&g, mlirBlockGetArgument(pbody, na - 4), gpu_scalar_val(bin(&g, "arith.remui", rem, np2)));

    gpu_convert_block(&g, pbody);
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
