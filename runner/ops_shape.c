// runner/ops_shape.c — (being written)
#include "runner.h"

const OpDef ops_shape[] = {{0}};
const int ops_shape_count = 0;
