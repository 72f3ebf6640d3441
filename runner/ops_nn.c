// runner/ops_nn.c — (being written)
#include "runner.h"

const OpDef ops_nn[] = {{0}};
const int ops_nn_count = 0;
