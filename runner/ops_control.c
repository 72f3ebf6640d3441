// runner/ops_control.c — (being written)
#include "runner.h"

const OpDef ops_control[] = {{0}};
const int ops_control_count = 0;
