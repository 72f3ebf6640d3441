// runner/ops_nn.h — what the files of the `nn` op group share (ops_nn.c: the op table and the
// window attributes; ops_nn_conv.c, ops_nn_pool.c, ops_nn_norm.c, ops_nn_resize.c: the ops).
// Only ops_nn[] and ops_nn_count are the group's interface (runner.h); the opnn_* functions are
// internal to the group.
#ifndef TILEC_OPS_NN_H
#define TILEC_OPS_NN_H

#include "runner.h"

#define NN_MAX_SPATIAL 3

// The window of a Conv, ConvTranspose or pooling node, resolved for one input shape:
// kernel, strides, dilations and begin/end pads per spatial axis, and the output size.
typedef struct NnWindow {
    int nsp;                          // spatial axes (input rank - 2)
    int64_t in[NN_MAX_SPATIAL];       // input spatial dims
    int64_t k[NN_MAX_SPATIAL];
    int64_t s[NN_MAX_SPATIAL];
    int64_t d[NN_MAX_SPATIAL];
    int64_t pb[NN_MAX_SPATIAL], pe[NN_MAX_SPATIAL];
    int64_t out[NN_MAX_SPATIAL];
} NnWindow;

// Conv's and ConvTranspose's load-time state (node->state, always set by prepare()). Conv's
// fused activation is node->epi (runner.h, fuse.c).
// The largest window, stride, dilation or pad the kernels take (their arguments are 32-bit).
#define NN_MAX_ATTR ((int64_t)1 << 30)

typedef struct NnConvState {
    float *wt_nhwc;   // constant weights repacked to [KH, KW, CG, K] (NHWC path), or NULL
    float *wt_tr;     // ConvTranspose: constant weights repacked to [KH, KW, K, CG], or NULL
    float *wt_direct; // constant weights repacked to [KH, KW, K, C] (nn_conv_nchw), or NULL
    float *wt_gemm;   // ConvTranspose with kernel == stride: [K*KH*KW, C] (W transposed), or NULL
} NnConvState;

// Reads kernel_shape (or `kshape` when the attribute is absent), strides, dilations, pads and
// auto_pad for a window over `x` (rank 3..2+NN_MAX_SPATIAL) and computes the output size
// (ceil_mode for pooling). Errors through node_err.
int opnn_window(const OpCtx *c, const Tensor *x, const int64_t *kshape, bool ceil_mode,
                NnWindow *w);

// The input's value when it is a load-time constant (prepare()), else NULL.
const Tensor *opnn_const_input(const Node *n, const Graph *g, int i);

// Checks that input i is present and f32 (node_err otherwise).
int opnn_want_f32(const OpCtx *c, int i, const char *what);

int opnn_kernel_err(const OpCtx *c, const char *kernel, int st);

// Copies src (shape dims[rank], row-major) into dst permuted: dst dim j is src dim perm[j].
void opnn_permute(const float *src, float *dst, int rank, const int64_t *dims, const int *perm);

// The op functions of each file.
int opnn_conv_prepare(Node *n, const Graph *g, RErr *e);
int opnn_conv_infer(OpCtx *c);
int opnn_conv_run(OpCtx *c);
size_t opnn_conv_scratch(const OpCtx *c);
int opnn_convtr_prepare(Node *n, const Graph *g, RErr *e);
int opnn_convtr_infer(OpCtx *c);
int opnn_convtr_run(OpCtx *c);
size_t opnn_convtr_scratch(const OpCtx *c);
void opnn_conv_free(void *state);

int opnn_pool_infer(OpCtx *c);
int opnn_pool_run(OpCtx *c);
int opnn_gpool_infer(OpCtx *c);
int opnn_gpool_run(OpCtx *c);

int opnn_bn_infer(OpCtx *c);
int opnn_bn_run(OpCtx *c);
int opnn_inorm_infer(OpCtx *c);
int opnn_inorm_run(OpCtx *c);
int opnn_lnorm_infer(OpCtx *c);
int opnn_lnorm_run(OpCtx *c);
size_t opnn_lnorm_scratch(const OpCtx *c);
int opnn_lrn_infer(OpCtx *c);
int opnn_lrn_run(OpCtx *c);
int opnn_mvn_infer(OpCtx *c);
int opnn_mvn_run(OpCtx *c);
size_t opnn_mvn_scratch(const OpCtx *c);
int opnn_softmax_infer(OpCtx *c);
int opnn_softmax_run(OpCtx *c);
size_t opnn_softmax_scratch(const OpCtx *c);

int opnn_resize_infer(OpCtx *c);
int opnn_resize_run(OpCtx *c);
size_t opnn_resize_scratch(const OpCtx *c);

// OpDef codes.
enum {
    NN_MAXPOOL = 0, NN_AVGPOOL = 1, NN_LPPOOL = 2,         // pooling and global pooling
    NN_SOFTMAX = 0, NN_LOGSOFTMAX = 1, NN_HARDMAX = 2,    // + NN_SOFTMAX_OLD for opset < 13
    NN_SOFTMAX_OLD = 8,
    NN_RESIZE = 0, NN_UPSAMPLE = 1,
};

#endif
