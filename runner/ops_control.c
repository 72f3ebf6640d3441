// runner/ops_control.c — control flow: If (its condition must be known when the run is planned:
// a constant, a graph input, or computed from shapes; both branches see the enclosing graph's
// values).
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static int if_branch(OpCtx *c, const Graph **g) {
    const Node *n = c->node;
    if (n->nsubgraphs != 2 || !n->subgraphs[0] || !n->subgraphs[1])
        return node_err(c, TILEC_MODEL_ERR_INVALID, "needs then_branch and else_branch");
    if (c->nin != 1 || c->in[0].dtype != DT_BOOL || tensor_numel(&c->in[0]) != 1)
        return node_err(c, TILEC_MODEL_ERR_INPUT, "the condition must be one bool");
    if (!c->in[0].data)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED,
                        "the condition depends on tensor data computed at run time (only conditions "
                        "known from constants, inputs or shapes are supported)");
    const Graph *b = n->subgraphs[*(const uint8_t *)c->in[0].data ? 0 : 1];
    if (b->noutputs != c->nout)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "the branch has %d outputs, the node %d",
                        b->noutputs, c->nout);
    if (b->ninputs)
        return node_err(c, TILEC_MODEL_ERR_INVALID, "an If branch takes no inputs");
    *g = b;
    return 0;
}

static int branch_err(OpCtx *c, int st) {
    char msg[sizeof c->err->msg];
    memcpy(msg, c->err->msg, sizeof msg);
    return node_err(c, st, "in the chosen branch: %.3900s", msg);
}

static int if_infer(OpCtx *c) {
    const Graph *b;
    int st = if_branch(c, &b);
    if (st)
        return st;
    st = graph_infer(b, c->values, NULL, c->out, c->err);
    return st ? branch_err(c, st) : 0;
}

static int if_run(OpCtx *c) {
    const Graph *b;
    int st = if_branch(c, &b);
    if (st)
        return st;
    Tensor outs[32];
    if (c->nout > 32)
        return node_err(c, TILEC_MODEL_ERR_UNSUPPORTED, "too many outputs");
    st = graph_eval(b, c->values, NULL, outs, c->err);
    if (st)
        return branch_err(c, st);
    for (int o = 0; o < c->nout; o++) {
        size_t bytes = tensor_bytes(&c->out[o]);
        if (tensor_bytes(&outs[o]) == bytes && bytes)
            memcpy(c->out[o].data, outs[o].data, bytes);
        free(outs[o].data);
    }
    c->kernel = "subgraph";
    return 0;
}

const OpDef ops_control[] = {
    {.name = "If", .since = 1, .flags = OP_NO_FOLD, .shape_inputs = 1, .infer = if_infer,
     .run = if_run},
};
const int ops_control_count = sizeof ops_control / sizeof ops_control[0];
