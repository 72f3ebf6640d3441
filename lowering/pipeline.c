// lowering/pipeline.c — from the tile-level module to LLVM IR, assembly or an object: the stages
// of docs/lowering-plan.md run through the MLIR C API, verified after each, then LLVM's O3
// pipeline and its code generator for the host CPU (or --cpu).
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "llvm-c/Core.h"
#include "llvm-c/Analysis.h"
#include "llvm-c/Error.h"
#include "llvm-c/Linker.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Transforms/PassBuilder.h"
#include "mlir-c/Dialect/Transform/Interpreter.h"
#include "mlir-c/Pass.h"
#include "mlir-c/RegisterEverything.h"
#include "mlir-c/Target/LLVMIR.h"

#include "../lang/diag.h"
#include "../runtime/tilec_abi.h"
#include "build.h"
#include "lower.h"

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

// Stages after bufferization, down to the LLVM dialect. Tile buffers are allocated once per
// program, outside its loops (buffer-loop-hoisting: an allocation inside a loop would take new
// stack on every iteration), on the stack up to 64 KiB each, else on the heap and freed
// (buffer-deallocation-pipeline).
const char *const lower_host_pipeline =
    "builtin.module(canonicalize, cse, func.func(buffer-loop-hoisting, "
    "promote-buffers-to-stack{max-alloc-size-in-bytes=65536}), buffer-deallocation-pipeline, "
    "convert-bufferization-to-memref, "
    "convert-linalg-to-loops, convert-vector-to-scf{full-unroll=true}, expand-strided-metadata, "
    "lower-affine, arith-expand{include-bf16=true}, "
    "convert-scf-to-cf, convert-vector-to-llvm, convert-ub-to-llvm, convert-math-to-llvm, "
    "convert-math-to-libm, finalize-memref-to-llvm, convert-arith-to-llvm, convert-cf-to-llvm, "
    "convert-func-to-llvm, reconcile-unrealized-casts)";

void lower_run_passes(MlirContext ctx, MlirModule module, const char *pipeline, const char *stage) {
    MlirPassManager pm = mlirPassManagerCreate(ctx);
    mlirPassManagerEnableVerifier(pm, true);
    char text[2048] = "";
    IRText err = {text, sizeof text, 0};
    MlirLogicalResult parsed =
        mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(pm), mlirStringRefCreateFromCString(pipeline),
                              ir_print_to_text, &err);
    if (mlirLogicalResultIsFailure(parsed))
        internal_error(__FILE__, __LINE__, "bad %s pipeline: %s", stage, err.text);
    if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module))))
        internal_error(__FILE__, __LINE__, "the %s stage failed (see the MLIR diagnostics above)", stage);
    mlirPassManagerDestroy(pm);
}

void lower_apply_transform(MlirContext ctx, MlirModule module, const char *script_text, size_t len,
                           const char *what) {
    MlirModule script = mlirModuleCreateParse(ctx, (MlirStringRef){script_text, len});
    if (mlirModuleIsNull(script))
        internal_error(__FILE__, __LINE__, "cannot parse the %s script:\n%s", what, script_text);
    MlirOperation root = mlirModuleGetOperation(script);
    MlirSymbolTable symbols = mlirSymbolTableCreate(root);
    MlirOperation entry = mlirSymbolTableLookup(symbols, mlirStringRefCreateFromCString("__transform_main"));
    mlirSymbolTableDestroy(symbols);
    MlirTransformOptions opts = mlirTransformOptionsCreate();
    if (mlirLogicalResultIsFailure(
            mlirTransformApplyNamedSequence(mlirModuleGetOperation(module), entry, root, opts)))
        internal_error(__FILE__, __LINE__, "the %s failed (see the MLIR diagnostics above); script:\n%s",
                       what, script_text);
    mlirTransformOptionsDestroy(opts);
    mlirModuleDestroy(script);
    if (!mlirOperationVerify(mlirModuleGetOperation(module)))
        internal_error(__FILE__, __LINE__, "the module does not verify after the %s", what);
}

static LLVMTargetMachineRef target_machine(const char *cpu_name) {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &err))
        internal_error(__FILE__, __LINE__, "no LLVM target for %s: %s", triple, err);
    char *cpu = cpu_name ? strdup(cpu_name) : LLVMGetHostCPUName();
    char *features = cpu_name ? strdup("") : LLVMGetHostCPUFeatures();
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
        target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    free(cpu);
    free(features);
    return tm;
}

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

// The stages from the tile level down to the LLVM dialect (as far as `stage`, at most
// LOWER_LLVM_DIALECT), in place.
static void run_stages(MlirContext ctx, MlirModule module, const Schedule *sched, LowerStage stage) {
    if (stage > LOWER_MLIR) {
        IrOps pins = {0};
        bool allowed = mlirContextGetAllowUnregisteredDialects(ctx);
        mlirContextSetAllowUnregisteredDialects(ctx, true);
        mlirOperationWalk(mlirModuleGetOperation(module), pin_dot_operands, &pins, MlirWalkPreOrder);
        lower_run_passes(
            ctx, module,
            "builtin.module(convert-elementwise-to-linalg, linalg-fuse-elementwise-ops, canonicalize, cse)",
            "tile-level");
        for (int i = 0; i < pins.len; i++)
            mlirOperationDestroy(pins.items[i]);
        free(pins.items);
        mlirContextSetAllowUnregisteredDialects(ctx, allowed);
        schedule_apply(ctx, module, sched);
        if (sched->inplace)
            lower_inplace_tiles(ctx, module);
    }
    if (stage > LOWER_SCHEDULED) {
        lower_apply_transform(ctx, module, bufferize_script, strlen(bufferize_script), "bufferization");
        lower_fast_stores(ctx, module, sched->prefetch);
        lower_guard_pad_fills(ctx, module);
        lower_hoist_if_allocs(module);
        lower_drop_self_copies(ctx, module);
        if (!mlirOperationVerify(mlirModuleGetOperation(module)))
            internal_error(__FILE__, __LINE__, "the bufferized module does not verify");
    }
    if (stage > LOWER_BUFFERIZED)
        lower_run_passes(ctx, module, lower_host_pipeline, "LLVM-dialect");
}

LLVMModuleRef lower_translate(MlirContext ctx, MlirModule module, LLVMContextRef lctx) {
    mlirRegisterAllLLVMTranslations(ctx);
    LLVMModuleRef m = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module), lctx);
    if (!m)
        internal_error(__FILE__, __LINE__, "translation to LLVM IR failed");
    lower_bf16_memory(m);
    return m;
}

// O3 for the target machine, then the module printed (LOWER_LLVM), its assembly or its object.
bool lower_finish_llvm(LLVMModuleRef m, const LowerOptions *lo, FILE *out) {
    LLVMTargetMachineRef tm = target_machine(lo->cpu);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, layout);
    // LLVM's loop vectorizer (packing copies, elementwise and reduction tiles) uses the
    // schedule's vector width, not its own preference (256 bits on AVX-512 CPUs).
    Schedule sched;
    lower_schedule(lo, &sched);
    char width[16];
    int wlen = snprintf(width, sizeof width, "%d", sched.vector_bits);
    LLVMContextRef lctx = LLVMGetModuleContext(m);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f))
            LLVMAddAttributeAtIndex(
                f, LLVMAttributeFunctionIndex,
                LLVMCreateStringAttribute(lctx, "prefer-vector-width", 19, width, (unsigned)wlen));
    LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(m, "default<O3>", tm, pbo);
    if (perr) {
        char *msg = LLVMGetErrorMessage(perr);
        internal_error(__FILE__, __LINE__, "LLVM's O3 pipeline failed: %s", msg);
    }
    LLVMDisposePassBuilderOptions(pbo);
    bool ok = true;
    char *err = NULL;
    if (lo->stage == LOWER_LLVM) {
        char *text = LLVMPrintModuleToString(m);
        fputs(text, out);
        LLVMDisposeMessage(text);
    } else if (lo->stage == LOWER_ASM) {
        LLVMMemoryBufferRef buf;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &buf))
            internal_error(__FILE__, __LINE__, "code generation failed: %s", err);
        fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
        LLVMDisposeMemoryBuffer(buf);
    } else if (LLVMTargetMachineEmitToFile(tm, m, (char *)lo->output, LLVMObjectFile, &err)) {
        error_plain("cannot write '%s': %s", lo->output, err);
        LLVMDisposeMessage(err);
        ok = false;
    }
    LLVMDisposeTargetData(layout);
    LLVMDisposeTargetMachine(tm);
    return ok;
}

// ================================================================ shared by the object builders

void lower_schedule(const LowerOptions *lo, Schedule *s) {
    if (lo->schedule)
        *s = *lo->schedule;
    else
        schedule_default(lo->cpu, s);
}

void lower_appendf(char **buf, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    *buf = realloc(*buf, *len + (size_t)n + 1);
    if (!*buf)
        internal_error(__FILE__, __LINE__, "out of memory");
    memcpy(*buf + *len, tmp, (size_t)n + 1);
    *len += (size_t)n;
}

void lower_note_config(char **buf, size_t *len, const Node *k, int v, const Config *c) {
    lower_appendf(buf, len, "//   %s v%d:", k->name, v);
    for (int x = 0; x < k->tunes.len; x++)
        lower_appendf(buf, len, "%s%s=%lld", x ? "," : " ", k->tunes.items[x]->name, (long long)c->values[x]);
}

// ================================================================ versions for run-time constraints

// Marks in `reads` the tunables (indices into ki->tunables) that expression `n` reads.
static void tunables_read(const Node *n, const KernelInfo *ki, bool *reads) {
    if (!n)
        return;
    if (n->kind == ND_NAME && n->sym && n->sym->kind == SYM_TUNABLE)
        for (int t = 0; t < ki->ntunables; t++)
            if (ki->tunables[t] == n->sym)
                reads[t] = true;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        tunables_read(kids[i], ki, reads);
    for (int i = 0; i < n->args.len; i++)
        tunables_read(n->args.items[i], ki, reads);
    for (int i = 0; i < n->kwargs.len; i++)
        tunables_read(n->kwargs.items[i], ki, reads);
}

// Whether expression `n` reads a size, a stride or a scalar parameter (a `where` that does is
// checked at run time for some configurations, though it may fold to a constant for others:
// `RK == 32 || KH * KW * CG == RK` at RK = 32).
static bool reads_run_time(const Node *n) {
    if (!n)
        return false;
    if (n->kind == ND_NAME && n->sym &&
        (n->sym->kind == SYM_SIZE || n->sym->kind == SYM_STRIDE || n->sym->kind == SYM_SCALAR))
        return true;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (reads_run_time(kids[i]))
            return true;
    for (int i = 0; i < n->args.len; i++)
        if (reads_run_time(n->args.items[i]))
            return true;
    return false;
}

// The versions of an untuned kernel: its default configuration first; then, when constraints
// that read sizes or scalars (reads_run_time) read tunables (softmax's `BC >= C`), one version
// per combination of the values of those tunables that -D does not fix (the others at their
// defaults), where the compile-time constraints hold, in the order of the values as declared,
// the first tunable varying slowest (conv2d's BK then BC: the widest tiles a call admits come
// first). A call the default rejects then runs on the first version that accepts it, instead
// of failing with TILEC_ERR_CONSTRAINT; a version whose constraints hold for every call ends
// the list (matmul's BM = 128 after BM = 256 for M > 128). With opts->pow2_default (GPU
// targets) only configurations whose tunables are all powers of two. Returns the number of
// versions (0: reported).
int lower_untuned_versions(Program *prog, Node *k, const SemaOptions *opts, const Schedule *sched,
                           LowerVariant *out) {
    if (!sema_default_config(prog, k, opts, &out[0].config))
        return 0;
    out[0].schedule = *sched;
    int n = 1;
    const KernelInfo *ki = k->kinfo;
    bool reads[64] = {false};
    for (int w = 0; w < k->wheres.len; w++)
        if (reads_run_time(k->wheres.items[w]))
            tunables_read(k->wheres.items[w], ki, reads);
    int vary[64], nvary = 0, pos[64] = {0};
    for (int t = 0; t < ki->ntunables && t < 64; t++) {
        for (int d = 0; opts && d < opts->ndefines && reads[t]; d++)
            if (strcmp(opts->defines[d].name, ki->tunables[t]->name) == 0)
                reads[t] = false;
        if (reads[t])
            vary[nvary++] = t;
    }
    // An odometer over the values of the varying tunables, the last one turning fastest.
    while (nvary > 0 && n < LOWER_MAX_CONSTRAINT_VERSIONS) {
        LowerVariant *x = &out[n];
        *x = out[0];
        bool usable = true;
        for (int i = 0; i < nvary; i++) {
            const Node *val = k->tunes.items[vary[i]]->args.items[pos[i]];
            usable &= val->is_const;
            x->config.values[vary[i]] = val->cval.i;
        }
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = !memcmp(out[j].config.values, x->config.values, sizeof(int64_t) * (size_t)x->config.n);
        if (opts && opts->pow2_default)  // GPU tiles
            usable &= sema_config_all_pow2(&x->config);
        int holds = usable && !dup ? sema_constraints_hold(prog, k, &x->config, NULL, 0) : 0;
        if (holds != 0)
            n++;
        if (holds == 1)  // it accepts every call: the versions after it would never run
            break;
        int i = nvary - 1;
        while (i >= 0 && ++pos[i] == k->tunes.items[vary[i]]->args.len)
            pos[i--] = 0;
        if (i < 0)
            break;
    }
    return n;
}

// An x86 object or its LLVM IR/assembly with the constraint versions of every kernel that has
// several (lower_untuned_versions), through the tuned objects' dispatcher. False when no kernel
// has more than one (*handled false) or after an error (reported; *handled true).
static bool lower_constraint_versions(Program *prog, const SemaOptions *opts, const LowerOptions *lo,
                                      char **notes, bool *handled) {
    Schedule sched;
    lower_schedule(lo, &sched);
    LowerTuned *tuned = calloc((size_t)prog->decls.len + 1, sizeof *tuned);
    int nt = 0;
    bool several = false, ok = true;
    size_t len = 0;
    for (int i = 0; i < prog->decls.len && ok; i++) {
        Node *k = prog->decls.items[i];
        if (k->kind != ND_KERNEL || k->span.file->import_depth != 0 ||
            (lo->only_kernel && strcmp(lo->only_kernel, k->name)))
            continue;
        LowerTuned *t = &tuned[nt++];
        t->kernel = k;
        t->variants = calloc(LOWER_MAX_CONSTRAINT_VERSIONS, sizeof(LowerVariant));
        t->nvariants = lower_untuned_versions(prog, k, opts, &sched, t->variants);
        ok = t->nvariants > 0;
        several |= ok && lo->gpu_arch;  // GPU objects: so that a version too large falls back
        if (t->nvariants < 2)
            continue;
        several = true;
        // The header lists the versions, tried in this order until one accepts the call.
        if (len == 0)
            lower_appendf(notes, &len, "// Versions tried in order until one's run-time constraints hold:\n");
        for (int v = 0; v < t->nvariants; v++) {
            lower_note_config(notes, &len, k, v, &t->variants[v].config);
            lower_appendf(notes, &len, "\n");
        }
    }
    *handled = !ok || several;
    if (ok && several)
        ok = lower_tuned_object(prog, tuned, nt, lo);
    for (int i = 0; ok && i < nt; i++)
        for (int v = 0; v < tuned[i].nvariants; v++)
            if (tuned[i].variants[v].left_out) {
                lower_appendf(notes, &len, "//   %s v%d is left out: more shared memory than %s has\n",
                              tuned[i].kernel->name, v, lo->gpu_arch);
            } else if (tuned[i].variants[v].fallback) {
                const Node *k = tuned[i].kernel;
                lower_appendf(
                    notes, &len,
                    "// %s: the default configuration needs more shared memory than %s has; built with",
                    k->name, lo->gpu_arch);
                for (int x = 0; x < k->tunes.len; x++)
                    lower_appendf(notes, &len, "%s%s = %lld", x ? ", " : " ", k->tunes.items[x]->name,
                                  (long long)tuned[i].variants[v].config.values[x]);
                lower_appendf(notes, &len, "\n");
            }
    for (int i = 0; i < nt; i++)
        free(tuned[i].variants);
    free(tuned);
    return ok;
}

bool lower_program(Program *prog, const SemaOptions *opts, const LowerOptions *lo, char **notes) {
    if (lo->stage >= LOWER_LLVM && lo->stage <= LOWER_OBJ) {
        bool handled = false;
        bool ok = lower_constraint_versions(prog, opts, lo, notes, &handled);
        if (handled)
            return ok;
    }
    MlirContext ctx = lower_context();
    MlirModule module;
    if (!lower_build_module(ctx, prog, opts, lo->only_kernel, lo->gpu_arch != NULL, &module)) {
        mlirContextDestroy(ctx);
        return false;
    }
    bool ok = true;
    FILE *out = stdout;
    if (lo->stage != LOWER_OBJ && lo->output && !(out = fopen(lo->output, "w"))) {
        error_plain("cannot open output file '%s'", lo->output);
        ok = false;
    }
    if (lo->gpu_arch) {
        ok = ok && gpu_lower_module(ctx, module, prog, lo, out, NULL, NULL);
        if (out && out != stdout)
            fclose(out);
        mlirModuleDestroy(module);
        mlirContextDestroy(ctx);
        return ok;
    }
    // Each stage runs only as far as asked; the module is printed where it stops.
    Schedule sched;
    lower_schedule(lo, &sched);
    if (ok)
        run_stages(ctx, module, &sched, lo->stage < LOWER_LLVM_DIALECT ? lo->stage : LOWER_LLVM_DIALECT);
    if (ok && lo->stage <= LOWER_LLVM_DIALECT) {
        lower_print_module(module, lo->debuginfo, out);
    } else if (ok) {
        LLVMContextRef lctx = LLVMContextCreate();
        LLVMModuleRef m = lower_translate(ctx, module, lctx);
        ok = lower_finish_llvm(m, lo, out);
        LLVMDisposeModule(m);
        LLVMContextDispose(lctx);
    }
    if (out && out != stdout)
        fclose(out);
    mlirModuleDestroy(module);
    mlirContextDestroy(ctx);
    return ok;
}

// ================================================================ tuned objects

// NAME__variant(sizes...): the index of the version to run, from the kernel's table of tuned
// shapes (a private constant) through tilec_rt_pick_variant.
static LLVMValueRef build_picker(LLVMModuleRef m, const LowerTuned *t, LLVMBuilderRef b) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    const KernelInfo *ki = t->kernel->kinfo;
    LLVMTypeRef i64 = LLVMInt64TypeInContext(c), i32 = LLVMInt32TypeInContext(c);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0);
    int nsizes = ki->nsizes, row = TILEC_DISPATCH_ROW(nsizes);
    LLVMValueRef *cells = malloc(sizeof(LLVMValueRef) * (size_t)(t->nentries * row + 1));
    for (int e = 0; e < t->nentries; e++) {
        for (int s = 0; s < nsizes; s++)
            cells[e * row + s] = LLVMConstInt(i64, (unsigned long long)t->entries[e].sizes[s], 1);
        cells[e * row + TILEC_DISPATCH_VERSION(nsizes)] = LLVMConstInt(i64, (unsigned long long)t->entries[e].variant, 1);
    }
    char name[256];
    snprintf(name, sizeof name, "%s__dispatch", t->kernel->name);
    LLVMTypeRef table_ty = LLVMArrayType2(i64, (uint64_t)(t->nentries * row));
    LLVMValueRef table = LLVMAddGlobal(m, table_ty, name);
    LLVMSetInitializer(table, LLVMConstArray2(i64, cells, (uint64_t)(t->nentries * row)));
    LLVMSetGlobalConstant(table, 1);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    free(cells);

    LLVMTypeRef pick_args[] = {ptr, i32, i32, ptr};
    LLVMTypeRef pick_ty = LLVMFunctionType(i32, pick_args, 4, 0);
    LLVMValueRef pick = LLVMGetNamedFunction(m, "tilec_rt_pick_variant");
    if (!pick)
        pick = LLVMAddFunction(m, "tilec_rt_pick_variant", pick_ty);

    LLVMTypeRef *size_tys = malloc(sizeof(LLVMTypeRef) * (size_t)(nsizes + 1));
    for (int s = 0; s < nsizes; s++)
        size_tys[s] = i64;
    snprintf(name, sizeof name, "%s__variant", t->kernel->name);
    LLVMTypeRef fn_ty = LLVMFunctionType(i32, size_tys, (unsigned)nsizes, 0);
    LLVMValueRef fn = LLVMAddFunction(m, name, fn_ty);
    free(size_tys);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
    LLVMValueRef arr =
        LLVMBuildArrayAlloca(b, i64, LLVMConstInt(i32, (unsigned)(nsizes ? nsizes : 1), 0), "sizes");
    for (int s = 0; s < nsizes; s++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned)s, 0);
        LLVMBuildStore(b, LLVMGetParam(fn, (unsigned)s), LLVMBuildGEP2(b, i64, arr, &idx, 1, ""));
    }
    LLVMValueRef args[] = {table, LLVMConstInt(i32, (unsigned)t->nentries, 0),
                           LLVMConstInt(i32, (unsigned)nsizes, 0), arr};
    LLVMBuildRet(b, LLVMBuildCall2(b, pick_ty, pick, args, 4, "v"));
    return fn;
}

// NAME(args...): runs the version NAME__variant picks; when that one's run-time constraints
// reject the call (TILEC_ERR_CONSTRAINT), every version in order, until one accepts. On GPUs
// the same over the launchers: NAME_launch(stream, args...) over NAME__vN_launch.
static void build_dispatcher(LLVMModuleRef m, const LowerTuned *t, LLVMBuilderRef b, bool gpu) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    const KernelInfo *ki = t->kernel->kinfo;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c);
    LLVMValueRef picker = build_picker(m, t, b);
    if (gpu)  // not in a GPU object's header: internal, so that it does not clash with the x86 one
        LLVMSetLinkage(picker, LLVMInternalLinkage);
    char name[256];
    LLVMValueRef *versions = malloc(sizeof(LLVMValueRef) * (size_t)t->nvariants);
    int any = -1;
    for (int v = 0; v < t->nvariants; v++) {
        snprintf(name, sizeof name, "%s__v%d%s", t->kernel->name, v, gpu ? "_launch" : "");
        versions[v] = LLVMGetNamedFunction(m, name);
        if (!versions[v] && !t->variants[v].left_out)
            internal_error(__FILE__, __LINE__, "tuned object: %s is missing", name);
        if (versions[v] && any < 0)
            any = v;
    }
    LLVMTypeRef fn_ty = LLVMGlobalGetValueType(versions[any]);
    snprintf(name, sizeof name, "%s%s", t->kernel->name, gpu ? "_launch" : "");
    LLVMValueRef fn = LLVMAddFunction(m, name, fn_ty);
    unsigned nargs = LLVMCountParams(fn);
    LLVMValueRef *args = malloc(sizeof(LLVMValueRef) * (nargs + 1));
    for (unsigned a = 0; a < nargs; a++)
        args[a] = LLVMGetParam(fn, a);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef *fallback = malloc(sizeof(LLVMBasicBlockRef) * (size_t)(t->nvariants + 1));
    for (int v = 0; v <= t->nvariants; v++)
        fallback[v] = LLVMAppendBasicBlockInContext(c, fn, "fallback");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, fn, "done");
    LLVMPositionBuilderAtEnd(b, done);
    LLVMValueRef result = LLVMBuildPhi(b, i32, "status");
    LLVMBuildRet(b, result);

    LLVMValueRef three = LLVMConstInt(i32, TILEC_ERR_CONSTRAINT, 0);
    // Calls version v, then returns its status unless it is TILEC_ERR_CONSTRAINT (-> next).
    LLVMBasicBlockRef preferred = NULL;
    LLVMPositionBuilderAtEnd(b, entry);
    int first = (gpu ? 1 : 0) + ki->ntensors + ki->nscalars;  // the sizes (after the stream)
    LLVMValueRef v = LLVMBuildCall2(b, LLVMGlobalGetValueType(picker), picker, args + first,
                                    (unsigned)ki->nsizes, "variant");
    LLVMValueRef sw = LLVMBuildSwitch(b, v, fallback[0], (unsigned)t->nvariants);
    for (int k = 0; k < 2 * t->nvariants; k++) {
        int ver = k % t->nvariants;
        LLVMBasicBlockRef bb =
            k < t->nvariants ? LLVMAppendBasicBlockInContext(c, fn, "preferred") : fallback[ver];
        if (k < t->nvariants)
            LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)ver, 0), bb);
        preferred = bb;
        LLVMPositionBuilderAtEnd(b, bb);
        if (!versions[ver]) {  // left out: as if its constraints rejected the call
            LLVMBuildBr(b, k < t->nvariants ? fallback[0] : fallback[ver + 1]);
            continue;
        }
        LLVMValueRef r = LLVMBuildCall2(b, fn_ty, versions[ver], args, nargs, "r");
        LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntNE, r, three, "");
        LLVMBuildCondBr(b, ok, done, k < t->nvariants ? fallback[0] : fallback[ver + 1]);
        LLVMAddIncoming(result, &r, &preferred, 1);
    }
    LLVMPositionBuilderAtEnd(b, fallback[t->nvariants]);
    LLVMBuildBr(b, done);
    LLVMAddIncoming(result, &three, &fallback[t->nvariants], 1);
    free(fallback);
    free(args);
    free(versions);
}

// Gives the definitions of version `sym`'s module that are not its own symbols (SYM,
// SYM__program, SYM__task; SYM_launch on GPUs) internal linkage: helpers that every version's module defines
// alike (the buffer deallocation's `dealloc_helper` when a version keeps buffers on the heap)
// would otherwise clash when the versions are linked into one module.
static void internalize_helpers(LLVMModuleRef m, const char *sym) {
    size_t n = strlen(sym);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        size_t len;
        const char *name = LLVMGetValueName2(f, &len);
        if (!LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMExternalLinkage &&
            !(len >= n && !strncmp(name, sym, n) && (len == n || name[n] == '_')))
            LLVMSetLinkage(f, LLVMInternalLinkage);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
        if (!LLVMIsDeclaration(g) && LLVMGetLinkage(g) == LLVMExternalLinkage)
            LLVMSetLinkage(g, LLVMInternalLinkage);
}

// Compiles version v of t and links it into `whole`; false after an error. A GPU version that
// needs more shared memory than the target has is left out (t->variants[v].left_out).
static bool link_version(MlirContext ctx, LLVMContextRef lctx, LLVMModuleRef whole, Program *prog,
                         LowerTuned *t, int v, bool dispatch, const LowerOptions *lo) {
    bool gpu = lo->gpu_arch != NULL;
    char sym[256];
    // One version and no tuned shapes: nothing to dispatch, the version is the entry. With
    // tuned shapes the entry and NAME__variant exist even when every shape chose the same
    // configuration (the header declares NAME__variant for every tuned kernel).
    if (!dispatch)
        snprintf(sym, sizeof sym, "%s", t->kernel->name);
    else
        snprintf(sym, sizeof sym, "%s__v%d", t->kernel->name, v);
    MlirModule module;
    if (!lower_build_variant(ctx, prog, t->kernel, &t->variants[v].config, sym, gpu, &module))
        return false;
    LLVMModuleRef m = NULL;
    bool ok = true;
    if (gpu) {
        ok = gpu_lower_module(ctx, module, prog, lo, NULL, lctx, &m);
    } else {
        run_stages(ctx, module, &t->variants[v].schedule, LOWER_LLVM_DIALECT);
        m = lower_translate(ctx, module, lctx);
    }
    mlirModuleDestroy(module);
    if (!ok)
        return false;
    t->variants[v].left_out = m == NULL;
    if (!m)  // a GPU version that needs more shared memory than the target has
        return true;
    internalize_helpers(m, sym);
    if (LLVMLinkModules2(whole, m))
        internal_error(__FILE__, __LINE__, "linking the versions of '%s' failed", t->kernel->name);
    return true;
}

// Every version of t is too large for the GPU target: the last one (the version that takes
// the calls the others refuse) becomes the first configuration in enumeration order, with
// tunables that are powers of two, that fits and accepts the calls it did.
// False when none of the first 64 tried does (or after an error, reported).
static bool link_fallback(MlirContext ctx, LLVMContextRef lctx, LLVMModuleRef whole, Program *prog,
                          LowerTuned *t, bool dispatch, const LowerOptions *lo) {
    LowerVariant *last = &t->variants[t->nvariants - 1];
    int64_t index = -1;
    Config cfg;
    // As accepting as the version it replaces: every call if that one took every call.
    int need = sema_constraints_hold(prog, t->kernel, &last->config, NULL, 0);
    for (int tries = 0; tries < 64 && sema_next_pow2_config(prog, t->kernel, lo->sema, &index, &cfg);
         tries++) {
        bool seen = false;
        for (int v = 0; v < t->nvariants && !seen; v++)
            seen = !memcmp(t->variants[v].config.values, cfg.values, sizeof(int64_t) * (size_t)cfg.n);
        int holds = seen ? 0 : sema_constraints_hold(prog, t->kernel, &cfg, NULL, 0);
        if (holds == 0 || (need == 1 && holds != 1))
            continue;
        last->config = cfg;
        if (!link_version(ctx, lctx, whole, prog, t, t->nvariants - 1, dispatch, lo))
            return false;
        if (!last->left_out) {
            last->fallback = true;
            return true;
        }
    }
    return false;
}

bool lower_tuned_object(Program *prog, LowerTuned *tuned, int ntuned, const LowerOptions *lo) {
    bool gpu = lo->gpu_arch != NULL;  // versions of GPU kernels: SYM_launch, with their images
    MlirContext ctx = lower_context();
    LLVMContextRef lctx = LLVMContextCreate();
    LLVMModuleRef whole = LLVMModuleCreateWithNameInContext("tuned", lctx);
    bool ok = true;
    for (int k = 0; k < ntuned && ok; k++) {
        LowerTuned *t = &tuned[k];
        bool dispatch = t->nvariants > 1 || t->nentries > 0;
        for (int v = 0; v < t->nvariants && ok; v++)
            ok = link_version(ctx, lctx, whole, prog, t, v, dispatch, lo);
        int kept = 0;
        for (int v = 0; v < t->nvariants; v++)
            kept += !t->variants[v].left_out;
        if (ok && gpu && kept == 0 && link_fallback(ctx, lctx, whole, prog, t, dispatch, lo))
            kept = 1;
        if (ok && kept == 0) {
            error_plain("kernel '%s' needs more shared memory per block than %s has in every configuration "
                        "compiled: use smaller tiles",
                        t->kernel->name, lo->gpu_arch);
            ok = false;
        }
        if (ok && dispatch) {
            // The ABI (KernelInfo) does not depend on the configuration: any check will do.
            ok = sema_check_kernel(prog, t->kernel, &t->variants[0].config);
            LLVMBuilderRef b = LLVMCreateBuilderInContext(lctx);
            if (ok)
                build_dispatcher(whole, t, b, gpu);
            LLVMDisposeBuilder(b);
        }
    }
    char *msg = NULL;
    if (ok && LLVMVerifyModule(whole, LLVMReturnStatusAction, &msg))
        internal_error(__FILE__, __LINE__, "the tuned object's dispatcher does not verify: %s", msg);
    LLVMDisposeMessage(msg);
    FILE *out = stdout;
    if (ok && lo->stage != LOWER_OBJ && lo->output && !(out = fopen(lo->output, "w"))) {
        error_plain("cannot open output file '%s'", lo->output);
        ok = false;
    }
    if (ok)
        ok = lower_finish_llvm(whole, lo, out);
    if (out && out != stdout)
        fclose(out);
    LLVMDisposeModule(whole);
    LLVMContextDispose(lctx);
    mlirContextDestroy(ctx);
    return ok;
}
