// autotune/tuned.c — `tilec FILE --tuned`: an object with the best version of each kernel per
// tuned shape, from the tuning database (tune.h; the dispatch rule is in runtime/tilec_rt.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lang/diag.h"
#include "../lang/sema.h"
#include "tune.h"

#define MAX_VERSIONS 32
#define MAX_ENTRIES 256

typedef struct Best {
    char shape[256];
    char config[256];
    double seconds;
    int reps;
} Best;

typedef struct Collect {
    const char *device;  // rows of this machine when it has any
    bool have_device;
    Best best[MAX_ENTRIES];
    int n;
} Collect;

static void scan_device(const TuneRow *r, void *user) {
    Collect *c = user;
    if (r->status == TS_OK && strcmp(r->key.device, c->device) == 0)
        c->have_device = true;
}

// Per shape: the fastest correct row among those timed with the most calls (a quick round-1
// time never beats a careful one).
static void collect(const TuneRow *r, void *user) {
    Collect *c = user;
    if (r->status != TS_OK || (c->have_device && strcmp(r->key.device, c->device) != 0))
        return;
    int quality = r->reps >= TUNE_CAREFUL_REPS;
    for (int i = 0; i < c->n; i++) {
        Best *b = &c->best[i];
        if (strcmp(b->shape, r->key.shape) != 0)
            continue;
        int bq = b->reps >= TUNE_CAREFUL_REPS;
        if (quality > bq || (quality == bq && r->seconds < b->seconds)) {
            snprintf(b->config, sizeof b->config, "%s", r->key.config);
            b->seconds = r->seconds;
            b->reps = r->reps;
        }
        return;
    }
    if (c->n == MAX_ENTRIES)
        return;
    Best *b = &c->best[c->n++];
    snprintf(b->shape, sizeof b->shape, "%s", r->key.shape);
    snprintf(b->config, sizeof b->config, "%s", r->key.config);
    b->seconds = r->seconds;
    b->reps = r->reps;
}

// The careful time of one configuration (config text parsed to `want`) at one shape.
typedef struct DefaultTime {
    const Node *kernel;
    const char *cpu, *shape, *device;
    bool have_device;
    const ObjectVersion *want;
    double seconds;  // NAN: none
} DefaultTime;

static bool parse_config(const Node *k, const char *text, const char *cpu, ObjectVersion *v);

static void default_time(const TuneRow *r, void *user) {
    DefaultTime *d = user;
    ObjectVersion v;
    if (r->status != TS_OK || r->reps < TUNE_CAREFUL_REPS || strcmp(r->key.shape, d->shape) != 0 ||
        (d->have_device && strcmp(r->key.device, d->device) != 0) ||
        !parse_config(d->kernel, r->key.config, d->cpu, &v))
        return;
    if (!memcmp(v.config.values, d->want->config.values, sizeof(int64_t) * (size_t)v.config.n) &&
        !memcmp(&v.schedule, &d->want->schedule, sizeof v.schedule) &&
        (isnan(d->seconds) || r->seconds < d->seconds))
        d->seconds = r->seconds;
}

static int by_shape(const void *a, const void *b) {
    return strverscmp(((const Best *)a)->shape, ((const Best *)b)->shape);
}

// "BM=128,BN=64,BK=64;unroll_k=8" -> the tunables' values and the schedule. False if the
// names do not match the kernel's tunables (a row of an older space).
static bool parse_config(const Node *k, const char *text, const char *cpu, ObjectVersion *v) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *sched = strchr(buf, ';');
    if (sched)
        *sched++ = '\0';
    schedule_default(cpu, &v->schedule);
    char why[256];
    if (sched && !schedule_parse(sched, &v->schedule, why, sizeof why))
        return false;
    v->config.n = k->tunes.len;
    bool seen[64] = {false};
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            return false;
        *eq = '\0';
        int t = 0;
        while (t < k->tunes.len && strcmp(k->tunes.items[t]->name, item) != 0)
            t++;
        if (t == k->tunes.len || t >= 64)
            return false;
        v->config.values[t] = atoll(eq + 1);
        seen[t] = true;
    }
    for (int t = 0; t < k->tunes.len; t++)
        if (!seen[t])
            return false;
    return true;
}

static bool parse_shape(const KernelInfo *ki, const char *text, LowerDispatch *d) {
    if (ki->nsizes > LOWER_MAX_DISPATCH_SIZES)
        return false;
    for (int s = 0; s < ki->nsizes; s++) {
        char pat[64];
        snprintf(pat, sizeof pat, "%s=", ki->sizes[s]->name);
        const char *p = text;
        size_t n = strlen(pat);
        while (p && strncmp(p, pat, n) != 0) {
            p = strchr(p, ',');
            p = p ? p + 1 : NULL;
        }
        if (!p)
            return false;
        d->sizes[s] = (int64_t)atof(p + n);
    }
    return true;
}

bool tune_build_object(Program *prog, const char *db_path, const TuneIdentity *id, const CompileOptions *lo,
                       char **notes) {
    char err[2048];
    if (access(db_path, R_OK) != 0) {
        error_plain("--tuned: no tuning database at '%s' (run 'tilec tune' first, or give --db PATH)",
                    db_path);
        return false;
    }
    TuneDB *db = tune_db_open(db_path, false, err, sizeof err);
    if (!db) {
        error_plain("--tuned: %s", err);
        return false;
    }
    ObjectKernel tuned[64];
    int nt = 0;
    size_t nlen = 0;
    *notes = NULL;
    lower_appendf(notes, &nlen,
                  "// Tuned versions (from %s). NAME__variant(sizes) returns the version tuned for the\n"
                  "// nearest tuned shape (-1: none near); a call runs it if its run-time constraints\n"
                  "// hold, else the best fit: the accepting version with the least padded work, ties to\n"
                  "// the first listed (docs/language.md 6.3); NAME__version(args) returns which.\n",
                  db_path);
    bool ok = true;
    for (int i = 0; i < prog->decls.len && ok && nt < 64; i++) {
        Node *k = prog->decls.items[i];
        if (!ast_main_kernel(k, lo->only_kernel))
            continue;
        ObjectKernel *t = &tuned[nt++];
        memset(t, 0, sizeof *t);
        t->kernel = k;
        t->versions = calloc(MAX_VERSIONS, sizeof(ObjectVersion));
        t->entries = calloc(MAX_ENTRIES, sizeof(LowerDispatch));
        // The untuned object's versions first (the default, then those its run-time
        // constraints call for): shapes far from every tuned one run as they would untuned.
        int nuntuned = object_untuned_versions(prog, k, NULL, &lo->target->cpu_schedule, t->versions);
        if (nuntuned == 0) {
            ok = false;
            break;
        }
        t->nversions = nuntuned;
        sema_check_kernel(prog, k, &t->versions[0].config);
        TuneKey key, filter = {0};
        tune_key_for(prog, k, id, &key);
        filter = key;
        filter.device[0] = filter.shape[0] = filter.config[0] = '\0';
        Collect *c = calloc(1, sizeof *c);
        c->device = key.device;
        if (tune_db_each(db, &filter, scan_device, c, err, sizeof err) < 0 ||
            tune_db_each(db, &filter, collect, c, err, sizeof err) < 0) {
            error_plain("--tuned: %s", err);
            free(c);
            ok = false;
            break;
        }
        // Tuned shapes in natural order ("N=40" before "N=1000"): versions numbered by size.
        qsort(c->best, (size_t)c->n, sizeof c->best[0], by_shape);
        if (c->n == 0)
            warning_at(k->nspan,
                       "no tuning results for kernel '%s' in %s (this source, compiler and target); "
                       "compiled as without --tuned",
                       k->name, db_path);
        for (int e = 0; e < c->n && t->nentries < MAX_ENTRIES; e++) {
            ObjectVersion v;
            LowerDispatch d;
            if (!parse_config(k, c->best[e].config, id->cpu, &v) ||
                !parse_shape(k->kinfo, c->best[e].shape, &d))
                continue;
            // The shape's default (the untuned version a call runs there) stays unless the
            // best row beats its careful time by TUNE_WIN_MARGIN.
            SemaDefine bind[LOWER_MAX_DISPATCH_SIZES];
            for (int s = 0; s < k->kinfo->nsizes; s++)
                bind[s] = (SemaDefine){.name = k->kinfo->sizes[s]->name, .value = d.sizes[s]};
            Config *untuned = malloc(sizeof(Config) * (size_t)nuntuned);
            for (int u = 0; u < nuntuned; u++)
                untuned[u] = t->versions[u].config;
            int dv = lower_best_fit(prog, k, untuned, nuntuned, bind, k->kinfo->nsizes);
            free(untuned);
            if (dv < 0)
                dv = nuntuned - 1;
            DefaultTime dt = {.kernel = k,
                              .cpu = id->cpu,
                              .shape = c->best[e].shape,
                              .device = key.device,
                              .have_device = c->have_device,
                              .want = &t->versions[dv],
                              .seconds = NAN};
            filter.shape[0] = '\0';
            if (tune_db_each(db, &filter, default_time, &dt, err, sizeof err) < 0) {
                error_plain("--tuned: %s", err);
                ok = false;
                break;
            }
            if (!isnan(dt.seconds) && c->best[e].seconds >= dt.seconds * (1 - TUNE_WIN_MARGIN)) {
                v = t->versions[dv];
                snprintf(c->best[e].config, sizeof c->best[e].config, "default v%d", dv);
                c->best[e].seconds = dt.seconds;
            }
            int found = -1;
            for (int j = 0; j < t->nversions && found < 0; j++)
                if (!memcmp(&t->versions[j].config.values, &v.config.values,
                            sizeof(int64_t) * (size_t)v.config.n) &&
                    !memcmp(&t->versions[j].schedule, &v.schedule, sizeof v.schedule))
                    found = j;
            if (found < 0 && t->nversions < MAX_VERSIONS) {
                found = t->nversions;
                t->versions[t->nversions++] = v;
            }
            if (found < 0)
                continue;
            d.variant = found;
            t->entries[t->nentries++] = d;
            lower_appendf(notes, &nlen, "//   %s: %s -> v%d (%s, %.4f ms)\n", k->name, c->best[e].shape,
                          found, c->best[e].config, c->best[e].seconds * 1e3);
        }
        free(c);
        lower_note_fit(notes, &nlen, k);
        for (int j = 0; j < t->nversions; j++) {
            lower_note_config(notes, &nlen, k, j, &t->versions[j].config);
            const Schedule *s = &t->versions[j].schedule;
            lower_appendf(notes, &nlen, "; unroll_k=%d%s%s\n", s->unroll_k,
                          s->reg_m ? ", register tile set" : "",
                          j == 0         ? " (default)"
                          : j < nuntuned ? " (untuned: for run-time constraints)"
                                         : "");
        }
    }
    tune_db_close(db);
    if (ok)
        ok = object_tuned(prog, tuned, nt, lo);
    for (int i = 0; i < nt; i++) {
        free(tuned[i].versions);
        free(tuned[i].entries);
    }
    return ok;
}
