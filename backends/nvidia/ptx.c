// backends/nvidia/ptx.c — the GPU stages after the tile level (gpu.h): distribution over a block's
// threads, the NVVM dialect, PTX from LLVM's NVPTX back end (gpu-module-to-binary), ptxas, and
// the host object: the checked entries NAME_launch, each kernel's cubin (at its exact size) and
// PTX embedded as constants, and NAME__cuda_launch, which hands them to the runtime.
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llvm-c/Analysis.h"
#include "llvm-c/Core.h"
#include "mlir-c/BuiltinAttributes.h"
#include "mlir-c/BuiltinTypes.h"
#include "mlir-c/Dialect/GPU.h"
#include "mlir-c/Dialect/LLVM.h"
#include "mlir-c/IR.h"
#include "mlir-c/RegisterEverything.h"

#include "../../lang/diag.h"
#include "../../lowering/build.h"
#include "../../lowering/lower.h"
#include "../../runtime/tilec_abi.h"
#include "gpu.h"
#include "../target.h"

// The device code down to the LLVM dialect with NVVM intrinsics (and inline PTX for the NVVM ops
// that have no intrinsic: wgmma).
static const char *const device_pipeline =
    "builtin.module(gpu.module(canonicalize, cse, convert-scf-to-cf, convert-vector-to-llvm, "
    "convert-gpu-to-nvvm{index-bitwidth=64}, convert-arith-to-llvm, convert-nvvm-to-llvm, "
    "canonicalize, cse, reconcile-unrealized-casts))";

typedef struct Compiled {
    char sym[256];
    GpuKernel kernel;
    char *ptx;  // NUL-terminated
    size_t ptx_len;
    char *cubin;
    size_t cubin_len;
    char *report;  // ptxas -v
} Compiled;

// The CUDA toolkit: $CUDA_PATH, /usr/local/cuda, else the directory above a ptxas on PATH.
// It has bin/ptxas and nvvm/libdevice (which NVPTX code for math functions links).
static bool find_toolkit(char *root, size_t n) {
    char probe[1200];
    const char *cuda = getenv("CUDA_PATH");
    if (cuda && *cuda) {
        snprintf(root, n, "%s", cuda);
        snprintf(probe, sizeof probe, "%s/bin/ptxas", root);
        return access(probe, X_OK) == 0;
    }
    snprintf(root, n, "/usr/local/cuda");
    snprintf(probe, sizeof probe, "%s/bin/ptxas", root);
    if (access(probe, X_OK) == 0)
        return true;
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", env ? env : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(probe, sizeof probe, "%s/ptxas", d);
        if (access(probe, X_OK) == 0) {
            snprintf(root, n, "%s/..", d);
            return true;
        }
    }
    return false;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

// Assembles c->ptx for the architecture; fills the cubin and ptxas's report. A PTX that ptxas
// rejects is a compiler bug.
static bool assemble(Compiled *c, const GpuArch *arch, const char *toolkit) {
    char ptxas[1200];
    snprintf(ptxas, sizeof ptxas, "%s/bin/ptxas", toolkit);
    const char *tmp = getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tilec-ptxas-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        error_plain("cannot make a temporary directory in '%s': %s", tmp && *tmp ? tmp : "/tmp",
                    strerror(errno));
        return false;
    }
    char in[1100], outp[1100], log[1100];
    snprintf(in, sizeof in, "%s/k.ptx", dir);
    snprintf(outp, sizeof outp, "%s/k.cubin", dir);
    snprintf(log, sizeof log, "%s/ptxas.log", dir);
    FILE *f = fopen(in, "wb");
    bool ok = f && fwrite(c->ptx, 1, c->ptx_len, f) == c->ptx_len;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok) {
        error_plain("cannot write '%s'", in);
        return false;
    }
    char archflag[64];
    snprintf(archflag, sizeof archflag, "-arch=%s", arch->name);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *lf = freopen(log, "w", stderr);
        if (lf)
            dup2(2, 1);
        execl(ptxas, ptxas, archflag, "-O3", "-v", "-o", outp, in, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        error_plain("cannot run '%s': %s", ptxas, strerror(errno));
        return false;
    }
    size_t loglen = 0;
    c->report = read_all(log, &loglen);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        internal_error(__FILE__, __LINE__, "ptxas rejected the PTX of %s (%s):\n%s", c->sym, arch->name,
                       c->report ? c->report : "");
    c->cubin = read_all(outp, &c->cubin_len);
    if (!c->cubin)
        internal_error(__FILE__, __LINE__, "ptxas wrote no cubin for %s", c->sym);
    unlink(in);
    unlink(outp);
    unlink(log);
    rmdir(dir);
    return true;
}

// The PTX of each gpu.binary op (gpu-module-to-binary{format=isa}); the ops are erased.
static void take_ptx(MlirModule module, Compiled *cs, int n) {
    MlirBlock body = mlirModuleGetBody(module);
    MlirOperation o = mlirBlockGetFirstOperation(body);
    while (!mlirOperationIsNull(o)) {
        MlirOperation next = mlirOperationGetNextInBlock(o);
        MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(o));
        if (name.length == 10 && !strncmp(name.data, "gpu.binary", 10)) {
            MlirStringRef sym = mlirStringAttrGetValue(
                mlirOperationGetAttributeByName(o, mlirStringRefCreateFromCString("sym_name")));
            MlirAttribute objs =
                mlirOperationGetAttributeByName(o, mlirStringRefCreateFromCString("objects"));
            MlirStringRef text = mlirGPUObjectAttrGetObject(mlirArrayAttrGetElement(objs, 0));
            size_t len = text.length;
            while (len && text.data[len - 1] == '\0')  // strip the trailing NUL
                len--;
            for (int i = 0; i < n; i++) {
                size_t sl = strlen(cs[i].sym);
                if (sym.length == sl + 5 && !strncmp(sym.data, cs[i].sym, sl) &&
                    !strncmp(sym.data + sl, "__gpu", 5)) {
                    cs[i].ptx = malloc(len + 1);
                    memcpy(cs[i].ptx, text.data, len);
                    cs[i].ptx[len] = '\0';
                    cs[i].ptx_len = len;
                }
            }
            mlirOperationRemoveFromParent(o);
            mlirOperationDestroy(o);
        }
        o = next;
    }
}

static LLVMValueRef const_bytes(LLVMModuleRef m, const char *name, const char *data, size_t len, bool nul) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMValueRef init = LLVMConstStringInContext2(c, data, len, !nul);
    LLVMValueRef g = LLVMAddGlobal(m, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetAlignment(g, 16);
    return g;
}

// The image constant below is built field by field in the order and with the types of
// TilecCudaImage (runtime/tilec_abi.h); the layout it assumes is checked here.
_Static_assert(sizeof(TilecCudaTensorMap) == 8 * sizeof(int32_t), "a tensor map is eight i32");
_Static_assert(offsetof(TilecCudaImage, cubin_size) == 8 && offsetof(TilecCudaImage, ptx) == 16 &&
                   offsetof(TilecCudaImage, ptx_size) == 24 && offsetof(TilecCudaImage, kernel) == 32 &&
                   offsetof(TilecCudaImage, arch) == 40 && offsetof(TilecCudaImage, threads) == 48 &&
                   offsetof(TilecCudaImage, smem_bytes) == 52 && offsetof(TilecCudaImage, nparams) == 56 &&
                   offsetof(TilecCudaImage, ntensor_maps) == 60 &&
                   offsetof(TilecCudaImage, tensor_maps) == 64,
               "TilecCudaImage: {ptr, i64, ptr, i64, ptr, ptr, i32, i32, i32, i32, ptr}");

// SYM__cuda_launch(blocks, stream, params): tilec_rt_cuda_launch(&SYM__image, ...), with the
// image (runtime/tilec_abi.h: TilecCudaImage) a constant of the object.
static void add_launcher(LLVMModuleRef m, const Compiled *c, const GpuArch *arch) {
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx),
                i32 = LLVMInt32TypeInContext(ctx);
    char name[300];
    snprintf(name, sizeof name, "%s__cubin", c->sym);
    LLVMValueRef cubin = const_bytes(m, name, c->cubin, c->cubin_len, false);
    snprintf(name, sizeof name, "%s__ptx", c->sym);
    LLVMValueRef ptx = const_bytes(m, name, c->ptx, c->ptx_len, true);
    snprintf(name, sizeof name, "%s__kname", c->sym);
    LLVMValueRef kname = const_bytes(m, name, c->kernel.name, strlen(c->kernel.name), true);
    snprintf(name, sizeof name, "%s__arch", c->sym);
    LLVMValueRef archs = const_bytes(m, name, arch->name, strlen(arch->name), true);
    // The tensor maps: TilecCudaTensorMap, eight i32 each.
    const GpuKernel *k = &c->kernel;
    LLVMTypeRef map_t = LLVMArrayType2(i32, 8);
    LLVMValueRef maps = LLVMConstNull(ptr);
    if (k->ntma) {
        LLVMValueRef rows[GPU_MAX_TENSOR_MAPS];
        for (int i = 0; i < k->ntma; i++) {
            const TilecCudaTensorMap *t = &k->tma[i];
            int f[8] = {t->ptr_param, t->rows_param, t->cols_param, t->stride_param,
                        t->box_rows,  t->box_cols,   t->swizzle,    t->elem_type};
            LLVMValueRef v[8];
            for (int j = 0; j < 8; j++)
                v[j] = LLVMConstInt(i32, (unsigned long long)f[j], 0);
            rows[i] = LLVMConstArray2(i32, v, 8);
        }
        LLVMValueRef init = LLVMConstArray2(map_t, rows, (uint64_t)k->ntma);
        snprintf(name, sizeof name, "%s__tensor_maps", c->sym);
        maps = LLVMAddGlobal(m, LLVMTypeOf(init), name);
        LLVMSetInitializer(maps, init);
        LLVMSetGlobalConstant(maps, 1);
        LLVMSetLinkage(maps, LLVMPrivateLinkage);
    }
    LLVMTypeRef fields[11] = {ptr, i64, ptr, i64, ptr, ptr, i32, i32, i32, i32, ptr};
    LLVMTypeRef img_t = LLVMStructTypeInContext(ctx, fields, 11, 0);
    LLVMValueRef vals[11] = {cubin,
                             LLVMConstInt(i64, c->cubin_len, 0),
                             ptx,
                             LLVMConstInt(i64, c->ptx_len, 0),
                             kname,
                             archs,
                             LLVMConstInt(i32, (unsigned)k->threads, 0),
                             LLVMConstInt(i32, (unsigned long long)k->smem_bytes, 0),
                             LLVMConstInt(i32, (unsigned)k->nparams, 0),
                             LLVMConstInt(i32, (unsigned)k->ntma, 0),
                             maps};
    snprintf(name, sizeof name, "%s__image", c->sym);
    LLVMValueRef img = LLVMAddGlobal(m, img_t, name);
    LLVMSetInitializer(img, LLVMConstNamedStruct(img_t, vals, 11));
    LLVMSetGlobalConstant(img, 1);
    LLVMSetLinkage(img, LLVMPrivateLinkage);

    LLVMTypeRef rt_args[4] = {ptr, i64, ptr, ptr};
    LLVMTypeRef rt_t = LLVMFunctionType(i32, rt_args, 4, 0);
    LLVMValueRef rt = LLVMGetNamedFunction(m, "tilec_rt_cuda_launch");
    if (!rt)
        rt = LLVMAddFunction(m, "tilec_rt_cuda_launch", rt_t);
    snprintf(name, sizeof name, "%s__cuda_launch", c->sym);
    LLVMValueRef fn = LLVMGetNamedFunction(m, name);
    if (!fn)
        internal_error(__FILE__, __LINE__, "GPU object: %s is not declared", name);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef args[4] = {img, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2)};
    LLVMBuildRet(b, LLVMBuildCall2(b, rt_t, rt, args, 4, "status"));
    LLVMDisposeBuilder(b);
}

// The tensor-map parameters of the kernels (after the TMA flag): passed by value in the
// parameter space, 64-byte aligned, and addressed there (`nvvm.grid_constant`), as TMA reads
// them. Set on the llvm.func after convert-gpu-to-nvvm, which drops `llvm.byval` (and whose
// gpu.func verifier rejects grid_constant).
static void mark_tensor_maps(MlirContext ctx, MlirModule module, const Compiled *cs, int n) {
    for (MlirOperation gm = mlirBlockGetFirstOperation(mlirModuleGetBody(module)); !mlirOperationIsNull(gm);
         gm = mlirOperationGetNextInBlock(gm)) {
        if (!ir_op_is(gm, "gpu.module"))
            continue;
        MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(gm, 0));
        for (MlirOperation f = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(f);
             f = mlirOperationGetNextInBlock(f)) {
            MlirAttribute name = mlirOperationGetAttributeByName(f, ir_str("sym_name"));
            if (!ir_op_is(f, "llvm.func") || mlirAttributeIsNull(name))
                continue;
            MlirStringRef fname = mlirStringAttrGetValue(name);
            for (int i = 0; i < n; i++) {
                const GpuKernel *k = &cs[i].kernel;
                if (!k->ntma || strlen(k->name) != fname.length || strncmp(k->name, fname.data, fname.length))
                    continue;
                MlirBlock entry = mlirRegionGetFirstBlock(mlirOperationGetRegion(f, 0));
                int na = (int)mlirBlockGetNumArguments(entry);
                MlirAttribute old = mlirOperationGetAttributeByName(f, ir_str("arg_attrs"));
                MlirAttribute *dicts = malloc(sizeof(MlirAttribute) * (size_t)na);
                MlirNamedAttribute map_attrs[3] = {
                    mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str("llvm.align")),
                                          mlirIntegerAttrGet(mlirIntegerTypeGet(ctx, 64), 64)),
                    mlirNamedAttributeGet(
                        mlirIdentifierGet(ctx, ir_str("llvm.byval")),
                        mlirTypeAttrGet(mlirLLVMArrayTypeGet(mlirIntegerTypeGet(ctx, 8), 128))),
                    mlirNamedAttributeGet(mlirIdentifierGet(ctx, ir_str("nvvm.grid_constant")),
                                          mlirUnitAttrGet(ctx)),
                };
                for (int a = 0; a < na; a++) {
                    bool map = a > k->nparams && a <= k->nparams + k->ntma;
                    dicts[a] = map ? mlirDictionaryAttrGet(ctx, 3, map_attrs)
                               : !mlirAttributeIsNull(old) && a < mlirArrayAttrGetNumElements(old)
                                   ? mlirArrayAttrGetElement(old, a)
                                   : mlirDictionaryAttrGet(ctx, 0, NULL);
                }
                mlirOperationSetAttributeByName(f, ir_str("arg_attrs"), mlirArrayAttrGet(ctx, na, dicts));
                free(dicts);
            }
        }
    }
}

bool gpu_lower_module(const Target *t, MlirContext ctx, MlirModule module, Program *prog,
                      const CompileOptions *lo, FILE *out, LLVMContextRef link_ctx, LLVMModuleRef *host) {
    const GpuArch arch = t->gpu;
    const GpuSchedule sched = t->gpu_schedule;
    if (lo->stage == LOWER_MLIR) {
        lower_print_module(module, lo->debuginfo, out);
        return true;
    }
    mlirRegisterAllLLVMTranslations(ctx);
    char toolkit[1024];
    if (!find_toolkit(toolkit, sizeof toolkit)) {
        error_plain(
            "cannot find ptxas (the CUDA toolkit's assembler) in $CUDA_PATH/bin, /usr/local/cuda/bin or "
            "PATH: install the CUDA toolkit or set CUDA_PATH");
        return false;
    }
    // The kernels: every NAME__program of the module.
    int n = 0, cap = 8;
    Compiled *cs = calloc((size_t)cap, sizeof(Compiled));
    for (MlirOperation o = mlirBlockGetFirstOperation(mlirModuleGetBody(module)); !mlirOperationIsNull(o);
         o = mlirOperationGetNextInBlock(o)) {
        MlirAttribute a = mlirOperationGetAttributeByName(o, mlirStringRefCreateFromCString("sym_name"));
        if (mlirAttributeIsNull(a))
            continue;
        MlirStringRef s = mlirStringAttrGetValue(a);
        if (s.length > 9 && !strncmp(s.data + s.length - 9, "__program", 9) && s.length - 9 < 256) {
            if (n == cap)
                cs = realloc(cs, sizeof(Compiled) * (size_t)(cap *= 2));
            memset(&cs[n], 0, sizeof cs[n]);
            snprintf(cs[n].sym, sizeof cs[n].sym, "%.*s", (int)(s.length - 9), s.data);
            n++;
        }
    }
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        cs[i].kernel.quiet_limits = host != NULL;
        ok = gpu_distribute(ctx, module, prog, cs[i].sym, &arch, &sched, &cs[i].kernel);
        if (!ok && cs[i].kernel.too_big && host) {  // a version too large for the target: left out
            *host = NULL;
            ok = true;
            goto done;
        }
    }
    if (ok)
        lower_print_after_step(module, "gpu-distribute");
    if (!ok || lo->stage == LOWER_GPU) {
        if (ok) {
            if (!mlirOperationVerify(mlirModuleGetOperation(module))) {
                mlirOperationPrint(mlirModuleGetOperation(module), ir_print_to_file, stderr);
                internal_error(__FILE__, __LINE__,
                               "the distributed GPU module does not verify (printed above)");
            }
            lower_print_module(module, lo->debuginfo, out);
        }
        goto done;
    }
    lower_run_passes(ctx, module, device_pipeline, "NVVM");
    mark_tensor_maps(ctx, module, cs, n);
    lower_print_after_step(module, "tensor-maps");
    if (lo->stage == LOWER_NVVM) {
        lower_print_module(module, false, out);
        goto done;
    }
    // PTX, with libdevice from the toolkit linked for math functions.
    char pipeline[1400];
    snprintf(pipeline, sizeof pipeline, "builtin.module(gpu-module-to-binary{format=isa toolkit=%s})",
             toolkit);
    lower_run_passes(ctx, module, pipeline, "PTX");
    take_ptx(module, cs, n);
    for (int i = 0; i < n; i++)
        if (!cs[i].ptx)
            internal_error(__FILE__, __LINE__, "no PTX for kernel %s", cs[i].sym);
    if (lo->stage == LOWER_PTX) {
        for (int i = 0; i < n; i++)
            fputs(cs[i].ptx, out);
        goto done;
    }
    for (int i = 0; i < n && ok; i++)
        ok = assemble(&cs[i], &arch, toolkit);
    if (!ok || lo->stage == LOWER_PTXAS) {
        for (int i = 0; i < n && ok; i++)
            fprintf(out, "// %s: %d threads, %lld bytes of dynamic shared memory\n%s", cs[i].kernel.name,
                    cs[i].kernel.threads, (long long)cs[i].kernel.smem_bytes,
                    cs[i].report ? cs[i].report : "");
        goto done;
    }
    // The host side: the entries, lowered as for the CPU, then the images and launchers.
    mlirOperationRemoveAttributeByName(mlirModuleGetOperation(module),
                                       mlirStringRefCreateFromCString("gpu.container_module"));
    lower_run_passes(ctx, module, lower_host_pipeline, "host LLVM-dialect");
    LLVMContextRef lctx = host ? link_ctx : LLVMContextCreate();
    LLVMModuleRef m = lower_translate(ctx, module, lctx);
    for (int i = 0; i < n; i++)
        add_launcher(m, &cs[i], &arch);
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg))
        internal_error(__FILE__, __LINE__, "the GPU object's host code does not verify: %s", msg);
    LLVMDisposeMessage(msg);
    if (host) {  // the caller links it with other versions' (object_tuned)
        *host = m;
        goto done;
    }
    ok = target_finish_llvm(t, m, lo, out);
    LLVMDisposeModule(m);
    LLVMContextDispose(lctx);
done:
    for (int i = 0; i < n; i++) {
        free(cs[i].ptx);
        free(cs[i].cubin);
        free(cs[i].report);
    }
    free(cs);
    return ok;
}
