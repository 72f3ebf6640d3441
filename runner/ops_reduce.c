// runner/ops_reduce.c — (being written)
#include "runner.h"

const OpDef ops_reduce[] = {{0}};
const int ops_reduce_count = 0;
