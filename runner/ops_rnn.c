// runner/ops_rnn.c — (being written)
#include "runner.h"

const OpDef ops_rnn[] = {{0}};
const int ops_rnn_count = 0;
