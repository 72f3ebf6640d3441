// Calls a GPU kernel's launcher where no CUDA driver can be loaded: the argument checks come
// first (their codes), then TILEC_ERR_NO_GPU with a message; nothing crashes or exits.
#include <stdio.h>
#include <string.h>

#include "tilec_rt.h"
#include "vadd.h"

int main(void) {
    float x[4] = {0}, y[4] = {0}, z[4] = {0};
    int st = vector_add_launch(NULL, x, y, z, -1);
    printf("negative size: %d\n", st);
    st = vector_add_launch(NULL, NULL, y, z, 4);
    printf("null pointer: %d\n", st);
    st = vector_add_launch(NULL, x, y, z, 4);
    printf("no driver: %d (%s)\n", st,
           strstr(tilec_rt_cuda_error(), "no CUDA driver") ? "no CUDA driver" : "?");
    void *p = NULL;
    printf("malloc: %d %s\n", tilec_rt_cuda_malloc(&p, 16), p ? "non-null" : "null");
    printf("available: %d\n", tilec_rt_cuda_available());
    return 0;
}
