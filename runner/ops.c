// runner/ops.c — the table of supported ops: the groups of runner/ops_*.c, looked up by op type
// and the model's opset.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

typedef struct OpGroup {
    const OpDef *ops;
    const int *count;
} OpGroup;

#define RUNNER_GROUP_ENTRY(g) {ops_##g, &ops_##g##_count},
static const OpGroup groups[] = {RUNNER_OP_GROUPS(RUNNER_GROUP_ENTRY)};
#undef RUNNER_GROUP_ENTRY

const OpDef *ops_find(const char *op_type, int opset, bool *known) {
    *known = false;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (int i = 0; i < *groups[g].count; i++) {
            const OpDef *d = &groups[g].ops[i];
            if (strcmp(d->name, op_type) != 0)
                continue;
            *known = true;
            if (opset >= d->since && (d->until == 0 || opset <= d->until))
                return d;
        }
    return NULL;
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tilec_model_supported_ops(void) {
    int n = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        n += *groups[g].count;
    char **lines = calloc((size_t)n + 1, sizeof *lines);
    if (!lines)
        return NULL;
    size_t total = 1;
    int k = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (int i = 0; i < *groups[g].count; i++) {
            const OpDef *d = &groups[g].ops[i];
            if (strncmp(d->name, "Tilec", 5) == 0)
                continue;  // the runner's own nodes (TilecFused), not ONNX ops
            char buf[128];
            if (d->until)
                snprintf(buf, sizeof buf, "%s %d-%d\n", d->name, d->since, d->until);
            else
                snprintf(buf, sizeof buf, "%s %d-21\n", d->name, d->since);
            lines[k] = strdup(buf);
            if (!lines[k])
                break;
            total += strlen(lines[k++]);
        }
    qsort(lines, (size_t)k, sizeof *lines, cmp_line);
    char *out = malloc(total);
    if (out) {
        out[0] = '\0';
        size_t len = 0;
        for (int i = 0; i < k; i++) {
            size_t l = strlen(lines[i]);
            memcpy(out + len, lines[i], l + 1);
            len += l;
        }
    }
    for (int i = 0; i < k; i++)
        free(lines[i]);
    free(lines);
    return out;
}
