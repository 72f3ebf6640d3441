// tests/runtime/test_tensor_map.c — the arguments a launch hands cuTensorMapEncodeTiled for a
// kernel's tensor map (runtime/cuda.c: tilec_rt_tensor_map_args), read from the kernel's
// parameters: dimensions and box innermost first, the row stride in bytes, the swizzle enum;
// and every tensor that cannot have a map refused (the kernel then copies through threads).
#include <stdint.h>
#include <stdio.h>

#include "tilec_rt.h"

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(void) {
    // Kernel parameters as a launch has them: pointers to 8-byte slots.
    int64_t slot[6] = {0x7f0000001000, 0x7f0000100000, 1000, 4096, 4096, 0};
    void *params[6];
    for (int i = 0; i < 6; i++)
        params[i] = &slot[i];
    // A: rows param 2, columns param 3, row stride param 4, a 128 x 64 bf16 box, 128-byte swizzle.
    TilecCudaTensorMap a = {.ptr_param = 0,
                            .rows_param = 2,
                            .cols_param = 3,
                            .stride_param = 4,
                            .box_rows = 128,
                            .box_cols = 64,
                            .swizzle = 128,
                            .elem_type = 9};
    TilecTensorMapArgs r;
    EXPECT(tilec_rt_tensor_map_args(&a, params, &r));
    EXPECT(r.dtype == 9 && r.address == (void *)(intptr_t)0x7f0000001000);
    EXPECT(r.dims[0] == 4096 && r.dims[1] == 1000);
    EXPECT(r.row_stride_bytes == 8192);
    EXPECT(r.box[0] == 64 && r.box[1] == 128);
    EXPECT(r.swizzle == 3);
    // f16 with the 64-byte swizzle (a 32-wide k tile).
    TilecCudaTensorMap b = a;
    b.elem_type = 6, b.box_cols = 32, b.swizzle = 64, b.ptr_param = 1;
    EXPECT(tilec_rt_tensor_map_args(&b, params, &r) && r.swizzle == 2 && r.box[0] == 32);
    // Refused: a row stride that is not a multiple of 16 bytes (1001 columns of 2 bytes).
    slot[4] = 1001;
    EXPECT(!tilec_rt_tensor_map_args(&a, params, &r));
    slot[4] = 4096;
    // A pointer not 16-byte aligned, a null pointer, an empty tensor.
    slot[0] = 0x7f0000001008;
    EXPECT(!tilec_rt_tensor_map_args(&a, params, &r));
    slot[0] = 0;
    EXPECT(!tilec_rt_tensor_map_args(&a, params, &r));
    slot[0] = 0x7f0000001000;
    slot[2] = 0;
    EXPECT(!tilec_rt_tensor_map_args(&a, params, &r));
    slot[2] = 1000;
    // A stride shorter than a row, a box wider than the swizzle, a box of more than 256 rows, an
    // element type other than f16/bf16, a swizzle the driver has no enum for.
    slot[4] = 100;
    EXPECT(!tilec_rt_tensor_map_args(&a, params, &r));
    slot[4] = 4096;
    TilecCudaTensorMap c = a;
    c.box_cols = 128;
    EXPECT(!tilec_rt_tensor_map_args(&c, params, &r));
    c = a, c.box_rows = 512;
    EXPECT(!tilec_rt_tensor_map_args(&c, params, &r));
    c = a, c.elem_type = 7;
    EXPECT(!tilec_rt_tensor_map_args(&c, params, &r));
    c = a, c.swizzle = 96;
    EXPECT(!tilec_rt_tensor_map_args(&c, params, &r));
    // Still fine after all that.
    EXPECT(tilec_rt_tensor_map_args(&a, params, &r));
    printf("%s\n", failures ? "tensor map arguments: FAILED" : "tensor map arguments: ok");
    return failures != 0;
}
