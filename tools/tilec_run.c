// tools/tilec_run.c — `tilec run MODEL.onnx ...` (being written)
#include <stdio.h>
#include <stdlib.h>

#include "tilec_model.h"

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    char *ops = tilec_model_supported_ops();
    fputs(ops ? ops : "", stdout);
    free(ops);
    return 0;
}
