// runner/ops_linalg.c — (being written)
#include "runner.h"

const OpDef ops_linalg[] = {{0}};
const int ops_linalg_count = 0;
