// runtime/cuda.c — launching tilec's GPU kernels through the CUDA driver API, reached with
// dlopen("libcuda.so.1") so that nothing links against CUDA (tilec_rt.h).
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tilec_rt.h"

// The driver API's types, as far as used here (cuda.h is not needed to build).
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;
enum { CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8 };

typedef struct Driver {
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuCtxGetCurrent)(CUcontext *);
    CUresult (*cuCtxSetCurrent)(CUcontext);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, void *, void **);
    CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
    CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                               unsigned, CUstream, void **, void **);
    CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
    CUresult (*cuMemFree)(CUdeviceptr);
    CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
    CUresult (*cuGetErrorString)(CUresult, const char **);
    // Optional (drivers for CUDA 12 and later): TMA tensor maps.
    CUresult (*cuTensorMapEncodeTiled)(void *map, int dtype, unsigned rank, void *address,
                                       const uint64_t *dims, const uint64_t *strides, const unsigned *box,
                                       const unsigned *elem_strides, int interleave, int swizzle,
                                       int l2_promotion, int oob_fill);
} Driver;

// A loaded kernel: one per image and context.
typedef struct Loaded {
    const TilecCudaImage *image;
    CUcontext ctx;
    CUfunction fn;
    struct Loaded *next;
} Loaded;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static Driver drv;
static int drv_status = TILEC_OK;
static char drv_error[256];
static Loaded *loaded;
static _Thread_local char last_error[512];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static void load_driver(void) {
    const char *path = getenv("TILEC_CUDA_DRIVER");
    void *h = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        drv_status = TILEC_ERR_NO_GPU;
        snprintf(drv_error, sizeof drv_error, "no CUDA driver: %s", dlerror());
        return;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&drv.cuInit, "cuInit"},
        {(void **)&drv.cuDeviceGet, "cuDeviceGet"},
        {(void **)&drv.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
        {(void **)&drv.cuCtxGetCurrent, "cuCtxGetCurrent"},
        {(void **)&drv.cuCtxSetCurrent, "cuCtxSetCurrent"},
        {(void **)&drv.cuCtxSynchronize, "cuCtxSynchronize"},
        {(void **)&drv.cuModuleLoadDataEx, "cuModuleLoadDataEx"},
        {(void **)&drv.cuModuleGetFunction, "cuModuleGetFunction"},
        {(void **)&drv.cuFuncSetAttribute, "cuFuncSetAttribute"},
        {(void **)&drv.cuLaunchKernel, "cuLaunchKernel"},
        {(void **)&drv.cuMemAlloc, "cuMemAlloc_v2"},
        {(void **)&drv.cuMemFree, "cuMemFree_v2"},
        {(void **)&drv.cuMemcpyHtoD, "cuMemcpyHtoD_v2"},
        {(void **)&drv.cuMemcpyDtoH, "cuMemcpyDtoH_v2"},
        {(void **)&drv.cuMemsetD8, "cuMemsetD8_v2"},
        {(void **)&drv.cuGetErrorString, "cuGetErrorString"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
            drv_status = TILEC_ERR_NO_GPU;
            snprintf(drv_error, sizeof drv_error, "the CUDA driver lacks %s", syms[i].name);
            return;
        }
    drv.cuTensorMapEncodeTiled = dlsym(h, "cuTensorMapEncodeTiled");  // optional
    CUresult r = drv.cuInit(0);
    if (r) {
        drv_status = TILEC_ERR_NO_GPU;
        const char *s = NULL;
        drv.cuGetErrorString(r, &s);
        snprintf(drv_error, sizeof drv_error, "cuInit failed: %s (no usable GPU?)", s ? s : "unknown error");
    }
}

static const char *cu_string(CUresult r) {
    const char *s = NULL;
    if (drv.cuGetErrorString)
        drv.cuGetErrorString(r, &s);
    return s ? s : "unknown CUDA error";
}

// The driver, and a current context (the primary context of device 0 when the caller has none).
static int ready(CUcontext *ctx) {
    pthread_once(&once, load_driver);
    if (drv_status) {
        set_error("%s", drv_error);
        return drv_status;
    }
    CUresult r = drv.cuCtxGetCurrent(ctx);
    if (!r && !*ctx) {
        CUdevice dev;
        if (!(r = drv.cuDeviceGet(&dev, 0)) && !(r = drv.cuDevicePrimaryCtxRetain(ctx, dev)))
            r = drv.cuCtxSetCurrent(*ctx);
    }
    if (r) {
        set_error("no CUDA context: %s", cu_string(r));
        return TILEC_ERR_NO_GPU;
    }
    return TILEC_OK;
}

int tilec_rt_cuda_available(void) {
    CUcontext ctx = NULL;
    return ready(&ctx) == TILEC_OK;
}

const char *tilec_rt_cuda_error(void) { return last_error; }

// The kernel of `image` in context ctx, loaded on first use (the cubin, else the PTX, which
// the driver compiles for the GPU at hand).
static int get_function(const TilecCudaImage *image, CUcontext ctx, CUfunction *fn) {
    pthread_mutex_lock(&lock);
    for (Loaded *l = loaded; l; l = l->next)
        if (l->image == image && l->ctx == ctx) {
            *fn = l->fn;
            pthread_mutex_unlock(&lock);
            return TILEC_OK;
        }
    CUmodule mod = NULL;
    CUresult r = drv.cuModuleLoadDataEx(&mod, image->cubin, 0, NULL, NULL);
    if (r && image->ptx)
        r = drv.cuModuleLoadDataEx(&mod, image->ptx, 0, NULL, NULL);
    if (!r)
        r = drv.cuModuleGetFunction(fn, mod, image->kernel);
    if (!r && image->smem_bytes > 48 * 1024)
        r = drv.cuFuncSetAttribute(*fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, image->smem_bytes);
    Loaded *l = r ? NULL : malloc(sizeof *l);
    if (l) {
        *l = (Loaded){image, ctx, *fn, loaded};
        loaded = l;
    }
    pthread_mutex_unlock(&lock);
    if (r) {
        set_error("cannot load kernel %s (built for %s): %s", image->kernel, image->arch, cu_string(r));
        return TILEC_ERR_CUDA;
    }
    if (!l) {
        set_error("out of memory");
        return TILEC_ERR_CUDA;
    }
    return TILEC_OK;
}

// The arguments of cuTensorMapEncodeTiled for map `t` from the kernel's parameters: false when
// the tensor cannot have one (a null or empty tensor, a pointer or row stride that is not a
// multiple of 16 bytes, a box or swizzle out of range).
bool tilec_rt_tensor_map_args(const TilecCudaTensorMap *t, void **params, TilecTensorMapArgs *a) {
    int64_t ptr = *(const int64_t *)params[t->ptr_param];
    int64_t rows = *(const int64_t *)params[t->rows_param], cols = *(const int64_t *)params[t->cols_param];
    int64_t stride = *(const int64_t *)params[t->stride_param];
    int eb = t->elem_type == 6 || t->elem_type == 9 ? 2 : 0;  // f16, bf16
    int swz = t->swizzle == 128 ? 3 : t->swizzle == 64 ? 2 : t->swizzle == 32 ? 1 : -1;
    if (!eb || swz < 0 || !ptr || ptr % 16 || rows <= 0 || cols <= 0 || stride < cols || (stride * eb) % 16 ||
        stride * eb >= (int64_t)1 << 40 || rows > 0xffffffffLL || cols > 0xffffffffLL || t->box_rows < 1 ||
        t->box_rows > 256 || t->box_cols < 1 || t->box_cols * eb > t->swizzle)
        return false;
    *a = (TilecTensorMapArgs){.dtype = t->elem_type,
                              .address = (void *)(intptr_t)ptr,
                              .dims = {(uint64_t)cols, (uint64_t)rows},
                              .row_stride_bytes = (uint64_t)(stride * eb),
                              .box = {(unsigned)t->box_cols, (unsigned)t->box_rows},
                              .swizzle = swz};
    return true;
}

int tilec_rt_cuda_launch(const TilecCudaImage *image, int64_t blocks, void *stream, void **params) {
    if (blocks == 0)
        return TILEC_OK;
    if (blocks < 0 || blocks > 0x7fffffff) {
        set_error("kernel %s: a grid of %lld programs is more than a launch can hold", image->kernel,
                  (long long)blocks);
        return TILEC_ERR_GRID;
    }
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    CUfunction fn = NULL;
    if (!st)
        st = get_function(image, ctx, &fn);
    if (st)
        return st;
    // After the kernel's own parameters: the flag saying whether every tensor map could be
    // built, then the maps (by value, 64-byte aligned).
    enum { MAX_MAPS = 8, MAX_PARAMS = 96 };
    _Alignas(64) unsigned char maps[MAX_MAPS][128];
    int32_t use_maps = 1;
    void *all[MAX_PARAMS + MAX_MAPS + 1];
    if (image->ntensor_maps > 0) {
        if (image->ntensor_maps > MAX_MAPS || image->nparams > MAX_PARAMS) {
            set_error("kernel %s: more parameters than the launcher holds", image->kernel);
            return TILEC_ERR_CUDA;
        }
        memcpy(all, params, sizeof(void *) * (size_t)image->nparams);
        for (int i = 0; i < image->ntensor_maps; i++) {
            TilecTensorMapArgs a;
            const unsigned one[2] = {1, 1};
            memset(maps[i], 0, sizeof maps[i]);
            if (!drv.cuTensorMapEncodeTiled ||
                !tilec_rt_tensor_map_args(&image->tensor_maps[i], params, &a) ||
                drv.cuTensorMapEncodeTiled(maps[i], a.dtype, 2, a.address, a.dims, &a.row_stride_bytes, a.box,
                                           one, 0, a.swizzle, 2 /* L2 promotion 128 B */,
                                           0 /* zeros outside */))
                use_maps = 0;
            all[image->nparams + 1 + i] = maps[i];
        }
        all[image->nparams] = &use_maps;
        params = all;
    }
    CUresult r = drv.cuLaunchKernel(fn, (unsigned)blocks, 1, 1, (unsigned)image->threads, 1, 1,
                                    (unsigned)image->smem_bytes, (CUstream)stream, params, NULL);
    if (r) {
        set_error("cannot launch kernel %s: %s", image->kernel, cu_string(r));
        return TILEC_ERR_CUDA;
    }
    return TILEC_OK;
}

// ---------------------------------------------------------------- buffers

static int check(CUresult r, const char *what) {
    if (r) {
        set_error("%s: %s", what, cu_string(r));
        return TILEC_ERR_CUDA;
    }
    return TILEC_OK;
}

int tilec_rt_cuda_malloc(void **ptr, size_t bytes) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    if (st)
        return st;
    CUdeviceptr p = 0;
    st = check(drv.cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
    *ptr = st ? NULL : (void *)(uintptr_t)p;
    return st;
}

int tilec_rt_cuda_free(void *ptr) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    return st ? st : check(drv.cuMemFree((CUdeviceptr)(uintptr_t)ptr), "cuMemFree");
}

int tilec_rt_cuda_upload(void *dst, const void *src, size_t bytes) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    return st ? st : check(drv.cuMemcpyHtoD((CUdeviceptr)(uintptr_t)dst, src, bytes), "cuMemcpyHtoD");
}

int tilec_rt_cuda_download(void *dst, const void *src, size_t bytes) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    return st ? st : check(drv.cuMemcpyDtoH(dst, (CUdeviceptr)(uintptr_t)src, bytes), "cuMemcpyDtoH");
}

int tilec_rt_cuda_memset(void *dst, int byte, size_t bytes) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    return st ? st
              : check(drv.cuMemsetD8((CUdeviceptr)(uintptr_t)dst, (unsigned char)byte, bytes), "cuMemsetD8");
}

int tilec_rt_cuda_synchronize(void) {
    CUcontext ctx = NULL;
    int st = ready(&ctx);
    return st ? st : check(drv.cuCtxSynchronize(), "kernel execution");
}
