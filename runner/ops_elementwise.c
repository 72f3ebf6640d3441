// runner/ops_elementwise.c — (being written)
#include "runner.h"

const OpDef ops_elementwise[] = {{0}};
const int ops_elementwise_count = 0;
