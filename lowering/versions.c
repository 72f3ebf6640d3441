// lowering/versions.c — the versions an untuned object compiles for a kernel (its default
// configuration, then one per value of the tunables its run-time constraints read), and the
// text the object builders write about versions into a header's comments.
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lang/diag.h"
#include "lower.h"

void lower_appendf(char **buf, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = (int)sizeof tmp - 1;
    *buf = realloc(*buf, *len + (size_t)n + 1);
    if (!*buf)
        internal_error(__FILE__, __LINE__, "out of memory");
    memcpy(*buf + *len, tmp, (size_t)n + 1);
    *len += (size_t)n;
}

void lower_note_config(char **buf, size_t *len, const Node *k, int v, const Config *c) {
    lower_appendf(buf, len, "//   %s v%d:", k->name, v);
    for (int x = 0; x < k->tunes.len; x++)
        lower_appendf(buf, len, "%s%s=%lld", x ? "," : " ", k->tunes.items[x]->name, (long long)c->values[x]);
}

// ================================================================ versions for run-time constraints

// Marks in `reads` the tunables (indices into ki->tunables) that expression `n` reads.
static void tunables_read(const Node *n, const KernelInfo *ki, bool *reads) {
    if (!n)
        return;
    if (n->kind == ND_NAME && n->sym && n->sym->kind == SYM_TUNABLE)
        for (int t = 0; t < ki->ntunables; t++)
            if (ki->tunables[t] == n->sym)
                reads[t] = true;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        tunables_read(kids[i], ki, reads);
    for (int i = 0; i < n->args.len; i++)
        tunables_read(n->args.items[i], ki, reads);
    for (int i = 0; i < n->kwargs.len; i++)
        tunables_read(n->kwargs.items[i], ki, reads);
}

// Whether expression `n` reads a size, a stride or a scalar parameter (a `where` that does is
// checked at run time for some configurations, though it may fold to a constant for others:
// `RK == 32 || KH * KW * CG == RK` at RK = 32).
static bool reads_tunable(const Node *n);

// Whether the scalar `||` or `&&` n is decided by an operand that is a constant whatever the
// configuration (`is_gpu() || x` on a GPU, `is_gpu() && x` elsewhere: x is never read).
static bool short_circuits(const Node *n);

// Whether `n` is a constant whatever the configuration: it reads no tunable, or it short-circuits.
static bool fixed_const(const Node *n) { return n->is_const && (!reads_tunable(n) || short_circuits(n)); }

static bool short_circuits(const Node *n) {
    if (n->kind != ND_BINARY || (n->op != OP_OR && n->op != OP_AND))
        return false;
    const Node *ops[2] = {n->lhs, n->rhs};
    for (int i = 0; i < 2; i++)
        if (fixed_const(ops[i]) && (ops[i]->cval.i != 0) == (n->op == OP_OR))
            return true;
    return false;
}

static bool reads_run_time(const Node *n) {
    if (!n || short_circuits(n))
        return false;
    if (n->kind == ND_NAME && n->sym &&
        (n->sym->kind == SYM_SIZE || n->sym->kind == SYM_STRIDE || n->sym->kind == SYM_SCALAR))
        return true;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (reads_run_time(kids[i]))
            return true;
    for (int i = 0; i < n->args.len; i++)
        if (reads_run_time(n->args.items[i]))
            return true;
    return false;
}

// Whether expression `n` reads a tunable.
static bool reads_tunable(const Node *n) {
    if (!n)
        return false;
    if (n->kind == ND_NAME && n->sym && n->sym->kind == SYM_TUNABLE)
        return true;
    const Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step, n->base};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (reads_tunable(kids[i]))
            return true;
    for (int i = 0; i < n->args.len; i++)
        if (reads_tunable(n->args.items[i]))
            return true;
    return false;
}

// A tile: an integer expression of tunables (and constants); an extent: an integer expression
// of sizes, strides or scalars, without tunables.
static bool is_tile(const Node *n) {
    return n && elem_is_int(n->type.elem) && !n->type.rank && reads_tunable(n) && !reads_run_time(n);
}
static bool is_extent(const Node *n) {
    return n && elem_is_int(n->type.elem) && !n->type.rank && reads_run_time(n) && !reads_tunable(n);
}

static void relations_in(const Node *w, LowerFitRelation *out, int max, int *n) {
    if (!w || w->kind != ND_BINARY)
        return;
    if (w->op == OP_AND) {  // both conjuncts hold for every call the constraint accepts
        relations_in(w->lhs, out, max, n);
        relations_in(w->rhs, out, max, n);
        return;
    }
    const Node *tile = NULL, *extent = NULL;
    if (w->op == OP_LT || w->op == OP_LE || w->op == OP_GT || w->op == OP_GE) {
        if (is_tile(w->lhs) && is_extent(w->rhs))
            tile = w->lhs, extent = w->rhs;
        else if (is_extent(w->lhs) && is_tile(w->rhs))
            tile = w->rhs, extent = w->lhs;
    } else if (w->op == OP_EQ) {  // E % T == 0, 0 == E % T
        const Node *mod = w->rhs && w->rhs->kind == ND_INT && w->rhs->ival == 0   ? w->lhs
                          : w->lhs && w->lhs->kind == ND_INT && w->lhs->ival == 0 ? w->rhs
                                                                                  : NULL;
        if (mod && mod->kind == ND_BINARY && mod->op == OP_MOD && is_extent(mod->lhs) && is_tile(mod->rhs))
            tile = mod->rhs, extent = mod->lhs;
    }
    if (tile && *n < max)
        out[(*n)++] = (LowerFitRelation){.tile = tile, .extent = extent, .where = w};
}

int lower_fit_relations(const Node *k, LowerFitRelation *out, int max) {
    int n = 0;
    for (int w = 0; w < k->wheres.len; w++)
        relations_in(k->wheres.items[w], out, max, &n);
    return n;
}

// The versions of an untuned kernel: its default configuration first; then, when constraints
// that read sizes or scalars (reads_run_time) read tunables (softmax's `BC >= C`), one version
// per combination of the values of those tunables that -D does not fix (the others at their
// defaults), where the compile-time constraints hold, in the order of the values as declared,
// the first tunable varying slowest (conv2d's BK then BC: the widest tiles a call admits come
// first). A call runs on the accepting version with the least padded work (lowering/dispatch.c),
// instead of failing with TILEC_ERR_CONSTRAINT where the default rejects it; a version whose
// constraints hold for every call ends the list when the kernel has no relations
// (lower_fit_relations: no later version could fit a call better; matmul's BM = 128 after
// BM = 256 for M > 128). With opts->pow2_default (GPU targets) only configurations whose
// tunables are all powers of two. Returns the number of versions (0: reported).
int lower_untuned_configs(Program *prog, Node *k, const SemaOptions *opts, Config *out) {
    if (!sema_default_config(prog, k, opts, &out[0]))
        return 0;
    int n = 1;
    const KernelInfo *ki = k->kinfo;
    bool reads[64] = {false};
    const NodeList *clauses[2] = {&k->wheres, &k->prefers};  // constraints and preferences alike
    for (int c = 0; c < 2; c++)
        for (int w = 0; w < clauses[c]->len; w++)
            if (reads_run_time(clauses[c]->items[w]))
                tunables_read(clauses[c]->items[w], ki, reads);
    int vary[64], nvary = 0, pos[64] = {0};
    // With relations (lower_fit_relations) or preferences a later version may fit a call better
    // than one that accepts every call.
    bool fits = lower_kernel_has_fit(k);
    for (int t = 0; t < ki->ntunables && t < 64; t++) {
        for (int d = 0; opts && d < opts->ndefines && reads[t]; d++)
            if (strcmp(opts->defines[d].name, ki->tunables[t]->name) == 0)
                reads[t] = false;
        if (reads[t])
            vary[nvary++] = t;
    }
    // An odometer over the values of the varying tunables, the last one turning fastest.
    while (nvary > 0 && n < LOWER_MAX_CONSTRAINT_VERSIONS) {
        Config *x = &out[n];
        *x = out[0];
        bool usable = true;
        for (int i = 0; i < nvary; i++) {
            const Node *val = k->tunes.items[vary[i]]->args.items[pos[i]];
            usable &= val->is_const;
            x->values[vary[i]] = val->cval.i;
        }
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = !memcmp(out[j].values, x->values, sizeof(int64_t) * (size_t)x->n);
        if (opts && opts->pow2_default)  // GPU tiles
            usable &= sema_config_all_pow2(x);
        int holds = usable && !dup ? sema_constraints_hold(prog, k, x, NULL, 0) : 0;
        if (holds != 0)
            n++;
        if (holds == 1 && !fits)  // it accepts every call: the versions after it would never run
            break;
        int i = nvary - 1;
        while (i >= 0 && ++pos[i] == k->tunes.items[vary[i]]->args.len)
            pos[i--] = 0;
        if (i < 0)
            break;
        if (n == LOWER_MAX_CONSTRAINT_VERSIONS)
            warning_at(k->span,
                       "kernel '%s' has more than %d versions for its run-time "
                       "constraints; the others are left out (calls only they accept fail with "
                       "TILEC_ERR_CONSTRAINT)",
                       k->name, LOWER_MAX_CONSTRAINT_VERSIONS);
    }
    return n;
}

bool lower_kernel_has_fit(const Node *k) {
    LowerFitRelation rel[1];
    return k->prefers.len > 0 || lower_fit_relations(k, rel, 1) > 0;
}

// The source text of span `s` on one line (line breaks and indentation as one space; "..." past
// `cap`), for a header comment.
static const char *one_line(const Span *s, char *text, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s->len && n + 4 < cap; i++) {
        char c = s->file->text[s->off + i];
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (!space)
            text[n++] = c;
        else if (n > 0 && text[n - 1] != ' ')
            text[n++] = ' ';
    }
    if (n + 4 >= cap)
        memcpy(text + n, "...", 3), n += 3;
    text[n] = '\0';
    return text;
}

void lower_note_fit(char **buf, size_t *len, const Node *k) {
    LowerFitRelation rel[LOWER_MAX_FIT_RELATIONS];
    int n = lower_fit_relations(k, rel, LOWER_MAX_FIT_RELATIONS);
    lower_appendf(buf, len, "//   %s (padded work):", k->name);
    for (int r = 0; r < n; r++) {
        char w[300], x[300], t[300];
        one_line(&rel[r].where->span, w, sizeof w);
        one_line(&rel[r].extent->span, x, sizeof x);
        one_line(&rel[r].tile->span, t, sizeof t);
        lower_appendf(buf, len, "%s(%s) -> ceil(%s / %s) * %s", r ? " x " : " ", w, x, t, t);
    }
    lower_appendf(buf, len, n ? "\n" : " 1 in every version (no constraint relates a tile to a size)\n");
    for (int p = 0; p < k->prefers.len; p++) {  // the preferences, one per line
        char text[900];
        lower_appendf(buf, len, "//   %s %s %s\n", k->name, p ? "     and" : "prefers",
                      one_line(&k->prefers.items[p]->span, text, sizeof text));
    }
}

// ================================================================ the best fit at known sizes

// The value of integer expression `n` at configuration `cfg` with the sizes and scalars of
// `bind` known; false when it reads something else or is not plain arithmetic.
static bool eval_known(const Node *k, const Node *n, const Config *cfg, const SemaDefine *bind, int nbind,
                       int64_t *out) {
    if (!n)
        return false;
    if (n->kind == ND_INT) {
        *out = n->ival;
        return true;
    }
    if (n->kind == ND_NAME && n->sym) {
        const Symbol *s = n->sym;
        if (s->kind == SYM_TUNABLE) {
            for (int t = 0; t < k->kinfo->ntunables && t < cfg->n; t++)
                if (k->kinfo->tunables[t] == s) {
                    *out = cfg->values[t];
                    return true;
                }
            return false;
        }
        if (s->kind == SYM_SIZE || s->kind == SYM_SCALAR) {
            for (int b = 0; b < nbind; b++)
                if (strcmp(bind[b].name, s->name) == 0) {
                    *out = bind[b].value;
                    return true;
                }
            return false;
        }
        if (s->kind == SYM_CONST && s->is_const && !s->cval.is_float) {
            *out = s->cval.i;
            return true;
        }
        return false;
    }
    int64_t a, b;
    if (n->kind == ND_UNARY && n->op == UOP_NEG && eval_known(k, n->lhs, cfg, bind, nbind, &a)) {
        *out = -a;
        return true;
    }
    if (n->kind != ND_BINARY || !eval_known(k, n->lhs, cfg, bind, nbind, &a) ||
        !eval_known(k, n->rhs, cfg, bind, nbind, &b))
        return false;
    switch (n->op) {
    case OP_ADD: *out = a + b; return true;
    case OP_SUB: *out = a - b; return true;
    case OP_MUL: *out = a * b; return true;
    case OP_DIV: return b != 0 && (*out = a / b, true);
    case OP_MOD: return b != 0 && (*out = a % b, true);
    default: return false;
    }
}

int lower_best_fit(Program *prog, Node *k, const Config *versions, int n, const SemaDefine *bind, int nbind) {
    LowerFitRelation rel[LOWER_MAX_FIT_RELATIONS];
    int nrel = lower_fit_relations(k, rel, LOWER_MAX_FIT_RELATIONS);
    int best = -1;
    double least = 0;
    bool best_preferred = false;
    for (int v = 0; v < n; v++) {
        bool preferred;
        if (sema_constraints_prefer(prog, k, &versions[v], bind, nbind, &preferred) == 0)
            continue;
        double work = 1;
        for (int r = 0; r < nrel; r++) {
            int64_t x, t;
            if (!eval_known(k, rel[r].extent, &versions[v], bind, nbind, &x) ||
                !eval_known(k, rel[r].tile, &versions[v], bind, nbind, &t))
                continue;  // not known here: the same in every version
            x = x > 0 ? x : 0;
            t = t > 1 ? t : 1;
            work *= (double)((x + t - 1) / t * t);
        }
        // A preferred version before any other; among equals the least padded work.
        if (best < 0 || (preferred && !best_preferred) || (preferred == best_preferred && work < least)) {
            best = v;
            least = work;
            best_preferred = preferred;
        }
    }
    return best;
}
