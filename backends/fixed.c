// backends/fixed.c — a kernel compiled for one call's sizes and integer scalars (--fix): the
// values are checked against the kernel's parameters, the configuration is the one an untuned
// object would run for that call (its best fit), and the kernel is built with the values as
// constants (lowering/emit_entry.c: lower_build_fixed).
#include <stdlib.h>
#include <string.h>

#include "../lang/diag.h"
#include "target.h"

// The kernel parameter named `name` that --fix may give: a size (*is_size) or an integer
// scalar; NULL (and *float_scalar when it is a float scalar) for any other name.
static const Symbol *fixable(const KernelInfo *ki, const char *name, bool *is_size, bool *float_scalar) {
    *float_scalar = false;
    for (int i = 0; i < ki->nsizes; i++)
        if (strcmp(ki->sizes[i]->name, name) == 0)
            return *is_size = true, ki->sizes[i];
    for (int i = 0; i < ki->nscalars; i++)
        if (strcmp(ki->scalars[i]->name, name) == 0) {
            if (elem_is_int(ki->scalars[i]->type.elem))
                return *is_size = false, ki->scalars[i];
            *float_scalar = true;
        }
    return NULL;
}

// Checks o->fixed against kernel k's parameters; false after reporting.
static bool check_fixed(const Node *k, const CompileOptions *o) {
    const KernelInfo *ki = k->kinfo;
    bool ok = true;
    for (int f = 0; f < o->nfixed; f++) {
        const SemaDefine *d = &o->fixed[f];
        bool is_size, float_scalar;
        const Symbol *s = fixable(ki, d->name, &is_size, &float_scalar);
        if (!s) {
            error_plain(float_scalar
                            ? "--fix %s=%lld: '%s' is a float parameter of kernel '%s' (--fix takes "
                              "sizes and integer scalars)"
                            : "--fix %s=%lld: kernel '%s' has no size or integer scalar parameter '%s'",
                        d->name, (long long)d->value, float_scalar ? d->name : k->name,
                        float_scalar ? k->name : d->name);
            ok = false;
            continue;
        }
        for (int g = 0; g < f; g++)
            if (strcmp(o->fixed[g].name, d->name) == 0) {
                error_plain("--fix %s=%lld: '%s' is given twice", d->name, (long long)d->value, d->name);
                ok = false;
            }
        if (is_size && d->value < 0) {
            error_plain("--fix %s=%lld: a size cannot be negative", d->name, (long long)d->value);
            ok = false;
        }
    }
    Symbol *const *groups[2] = {ki->sizes, ki->scalars};
    int counts[2] = {ki->nsizes, ki->nscalars};
    for (int g = 0; g < 2 && ok; g++)
        for (int i = 0; i < counts[g]; i++) {
            const Symbol *s = groups[g][i];
            if (g == 1 && !elem_is_int(s->type.elem))
                continue;
            bool given = false;
            for (int f = 0; f < o->nfixed && !given; f++)
                given = strcmp(o->fixed[f].name, s->name) == 0;
            if (!given) {
                error_plain("--fix: %s '%s' of kernel '%s' is not given (--fix gives every size and integer "
                            "scalar)",
                            g == 0 ? "size" : "scalar", s->name, k->name);
                ok = false;
            }
        }
    return ok;
}

bool object_fixed(Program *prog, const CompileOptions *o, char **notes) {
    Node *k = NULL;
    for (int i = 0; i < prog->decls.len && !k; i++)
        if (ast_main_kernel(prog->decls.items[i], o->only_kernel))
            k = prog->decls.items[i];
    if (!k || !k->kinfo || !check_fixed(k, o))
        return false;
    Config configs[LOWER_MAX_CONSTRAINT_VERSIONS];
    int n = lower_untuned_configs(prog, k, o->sema, configs);
    if (n == 0)
        return false;
    int v = lower_best_fit(prog, k, configs, n, o->fixed, o->nfixed);
    if (v < 0) {
        error_plain("--fix: no configuration of kernel '%s' accepts these values (its run-time constraints "
                    "do not hold)",
                    k->name);
        return false;
    }
    // The header names the configuration compiled.
    if (!sema_check_kernel(prog, k, &configs[v]))
        return false;
    size_t len = 0;
    lower_appendf(notes, &len, "// %s is compiled for", k->name);
    for (int f = 0; f < o->nfixed; f++)
        lower_appendf(notes, &len, "%s%s=%lld", f ? "," : " ", o->fixed[f].name,
                      (long long)o->fixed[f].value);
    // (Not "//   NAME v0:": the header declares NAME__version for a kernel of listed versions.)
    lower_appendf(notes, &len,
                  " (--fix): a call with other values returns\n// TILEC_ERR_CONSTRAINT. Configuration:");
    for (int x = 0; x < k->tunes.len; x++)
        lower_appendf(notes, &len, "%s%s=%lld", x ? "," : " ", k->tunes.items[x]->name,
                      (long long)configs[v].values[x]);
    lower_appendf(notes, &len, "\n");
    bool gpu = o->target->kind == TARGET_NVIDIA;
    MlirContext ctx = lower_context();
    MlirModule module;
    if (!lower_build_fixed(ctx, prog, k, &configs[v], k->name, gpu, o->fixed, o->nfixed, &module)) {
        mlirContextDestroy(ctx);
        return false;
    }
    bool ok = true;
    FILE *out = stdout;
    if (o->stage != LOWER_OBJ && o->output && !(out = fopen(o->output, "w"))) {
        error_plain("cannot open output file '%s'", o->output);
        ok = false;
    }
    ok = ok && o->target->lower(o->target, ctx, module, prog, o, out, NULL, NULL);
    if (out && out != stdout)
        fclose(out);
    mlirModuleDestroy(module);
    mlirContextDestroy(ctx);
    return ok;
}
