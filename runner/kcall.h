// runner/kcall.h — kernel call sites: the runner's calls of the kernels worth tuning per layer
// (docs/autotune.md, "Whole models") go through kc_NAME, which has NAME's C signature. A call is
// identified by its kernel and its key: the size symbols and the integer scalar arguments, the
// values that decide which version of a kernel runs and how long it takes (float scalars are an
// epilogue's coefficients: they change values, not the work). kc_NAME can
//   - record each distinct key (tilec_kcalls_record), so that `tilec tune MODEL.onnx` tunes the
//     calls the model really makes, with their real arguments, and
//   - route a key to another compiled version of the kernel (tilec_kcalls_route: a tuned variant
//     that `tilec run --db` loaded), else call the built-in one.
// Routes are installed between runs, never while one is going; recording may be on during
// concurrent runs (it takes a lock).
#ifndef TILEC_RUNNER_KCALL_H
#define TILEC_RUNNER_KCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KCALL_MAX_KEY 24  // size symbols and integer scalars of one call

// ---------------------------------------------------------------- data structures

// One tunable kernel: where its source is, and the names of its key's values in the order the
// tuner writes a shape (the kernel's size symbols, then its integer scalars, as declared).
typedef struct KCallKernel {
    const char *name;    // "nn_conv_nchw": its C entry and its name in the .tile file
    const char *source;  // relative to the source tree: "runner/kernels/nn_conv.tile"
    const char *keys;    // "NB,C,H,W,...,act"
} KCallKernel;

// One .tile source of the runner's kernels, embedded at build time (cmake/embed_sources.cmake),
// so that `tilec run --db` compiles tuned variants without the source tree.
typedef struct KCallSource {
    const char *path;  // relative to the source tree: "stdlib/matmul.tile"
    const char *text;
    size_t len;
} KCallSource;

// ---------------------------------------------------------------- functions

// The tunable kernels (a fixed table) and the embedded sources.
int tilec_kcall_kernel_count(void);
const KCallKernel *tilec_kcall_kernel(int i);
int tilec_kcall_source_count(void);
const KCallSource *tilec_kcall_source(int i);

// Recording: on, the distinct calls of every run are kept (in the order first made).
void tilec_kcalls_record(bool on);
// The calls recorded: their number, and call i's kernel index and shape text
// ("NB=1,C=3,H=48,...,act=-1", the tuner's canonical form) written to `shape`.
int tilec_kcalls_count(void);
int tilec_kcalls_get(int i, char *shape, size_t cap);
// Routes recorded call i to fn (a function of the kernel's C signature; NULL: the built-in one).
// False for a bad index.
bool tilec_kcalls_route(int i, void *fn);
// Routes the call of kernel `kernel` (its name) with the key written as `shape` (the tuner's form,
// "M=512,K=16,N=24": the kernel's key names in order) to fn, recording the call if it was not.
// False for an unknown kernel, a shape that is not the kernel's key, or no memory. (An
// ahead-of-time model installs its tuned variants this way: docs/aot.md.)
bool tilec_kcalls_route_shape(const char *kernel, const char *shape, void *fn);
// How many calls are routed.
int tilec_kcalls_routed(void);
// Forgets every recorded call and route.
void tilec_kcalls_reset(void);

// The call sites, one per tunable kernel, with the kernel's C signature.
int kc_matmul(const float *A, const float *B, float *C, int64_t M, int64_t K, int64_t N);
int kc_bmm(const float *A, const float *B, float *C, int64_t BA, int64_t M, int64_t K, int64_t BB, int64_t N,
           int64_t BT);
int kc_la_linear(const float *A, const float *B, const float *bias, const float *R, float *C, float alpha,
                 float beta, int64_t M, int64_t K, int64_t N, int64_t NB, int64_t RM, int64_t RN);
int kc_nn_conv_nchw(const float *X, const float *Wp, const float *bias, float *Y, int32_t sh, int32_t sw,
                    int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, float p, float q, float lo,
                    float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W,
                    int64_t KH, int64_t KW, int64_t K, int64_t KB, int64_t OH, int64_t OW);
int kc_nn_conv3x3(const float *X, const float *Wp, const float *bias, float *Y, int32_t sh, int32_t ph,
                  int32_t pw, int32_t dh, int32_t act, float p, float q, float lo, float hi, float m,
                  float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t K,
                  int64_t KB, int64_t OH, int64_t OW);
int kc_nn_conv_gemm(const float *X, const float *Wt, const float *bias, float *Y, int32_t kh_, int32_t kw_,
                    int32_t sh, int32_t sw, int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act,
                    float p, float q, float lo, float hi, float m, float ps, float pt, int64_t NB, int64_t C,
                    int64_t H, int64_t W, int64_t K, int64_t R, int64_t KB, int64_t OH, int64_t OW);
int kc_nn_dwconv(const float *X, const float *Wt, const float *bias, float *Y, int32_t sh, int32_t sw,
                 int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, float p, float q, float lo,
                 float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H, int64_t W,
                 int64_t KH, int64_t KW, int64_t KB, int64_t OH, int64_t OW);
int kc_conv2d_nhwc(const float *X, const float *Wt, const float *bias, float *Y, int32_t sh, int32_t sw,
                   int32_t ph, int32_t pw, int32_t dh, int32_t dw, int32_t act, int64_t NB, int64_t H,
                   int64_t W, int64_t C, int64_t KH, int64_t KW, int64_t CG, int64_t K, int64_t KB,
                   int64_t OH, int64_t OW);
int kc_nn_convt_k2(const float *X, const float *Wp, const float *bias, float *Y, int32_t act, float p,
                   float q, float lo, float hi, float m, float ps, float pt, int64_t NB, int64_t C, int64_t H,
                   int64_t W, int64_t K, int64_t KB, int64_t OH, int64_t OW);

#endif
