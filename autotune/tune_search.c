// autotune/tune_search.c — one shape's search for `tilec tune` (tune_internal.h,
// docs/autotune.md).
//
// For each shape: the configurations its constraints allow (the sizes bound, so run-time
// `where` clauses prune too) are ranked — by their times at the previous shape of the sweep when
// there is one, else in declaration order, the default first. The default is measured first (it
// is the reference every other variant's output is checked against, and its time sizes the
// search); round 1 measures as many of the ranked configurations as the shape's share of the
// budget allows, one quick timing each; round 2 re-times the best few and the default with more
// calls; round 3 tries the target's schedule alternatives (unrolling, register tile) on the
// winner. Every measurement goes to the database as it is made, so a killed sweep resumes
// where it stopped and a repeated one is answered from the database. The plan depends only on
// the options and on results already in the database, never on wall-clock time.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lang/diag.h"
#include "../lang/sema.h"
#include "tune_internal.h"

// ================================================================ points

void tune_point_make(const Tuner *T, TunePoint *p, const Config *c, const char *sched) {
    p->config = *c;
    snprintf(p->sched, sizeof p->sched, "%s", sched);
    size_t len = 0;
    const NodeList *tunes = &T->kernel->tunes;
    for (int i = 0; i < c->n; i++)
        len += (size_t)snprintf(p->key + len, sizeof p->key - len, "%s%s=%lld", i ? "," : "",
                                tunes->items[i]->name, (long long)c->values[i]);
    if (*sched)
        snprintf(p->key + len, sizeof p->key - len, ";%s", sched);
}

static bool same_config(const Config *a, const Config *b) {
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->values[i] != b->values[i])
            return false;
    return true;
}

// The database key of point p on shape s.
static void row_key(const Tuner *T, const TuneShape *s, const TunePoint *p, TuneKey *k) {
    *k = T->key;
    snprintf(k->shape, sizeof k->shape, "%s", s->text);
    snprintf(k->config, sizeof k->config, "%s", p->key);
}

// ================================================================ measuring

// The arguments of the kernel's entry for shape S (the same for every point of the shape).
static void job_for(Tuner *T, TuneShapeRun *S, MeasureJob *job) {
    const KernelInfo *ki = T->kernel->kinfo;
    memset(job, 0, sizeof *job);
    job->warm = T->warm;
    bool found;
    for (int i = 0; i < ki->ntensors && job->nargs < 64; i++) {
        const Symbol *t = ki->tensors[i];
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_TENSOR;
        a->elem = t->type.elem;
        a->is_out = ((const Node *)t->decl)->is_out;
        tune_tensor_elems(S->shape, t, &a->elems, NULL);  // fits: tune_shape_check
    }
    for (int i = 0; i < ki->nscalars && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_SCALAR;
        a->elem = ki->scalars[i]->type.elem;
        double v = tune_shape_value(S->shape, ki->scalars[i]->name, &found);
        a->fval = found ? v : 1.0;  // unbound scalars are 1 (docs/autotune.md)
        a->ival = (int64_t)a->fval;
    }
    for (int i = 0; i < ki->nsizes && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_INT64;
        a->ival = (int64_t)tune_shape_value(S->shape, ki->sizes[i]->name, &found);
    }
    // Declared strides: those of the contiguous row-major layout.
    for (int i = 0; i < ki->nstrides && job->nargs < 64; i++) {
        MeasureArg *a = &job->args[job->nargs++];
        a->kind = MA_INT64;
        a->ival = 1;
        for (int t = 0; t < ki->ntensors; t++) {
            const Symbol *ts = ki->tensors[t];
            int64_t elems, strides[TILE_MAX_RANK];
            tune_tensor_elems(S->shape, ts, &elems, strides);
            for (int d = 0; d < ts->type.rank; d++)
                if (ts->strides[d] == ki->strides[i])
                    a->ival = strides[d];
        }
    }
    job->symbol = T->kernel->name;
    job->tolerance = 1e-3;
    for (int i = 0; i < ki->ntensors; i++)
        if (ki->tensors[i]->type.elem == EL_F16 || ki->tensors[i]->type.elem == EL_BF16)
            job->tolerance = 2e-2;
}

enum { QUICK, FULL };

static TuneRow measure_point(Tuner *T, TuneShapeRun *S, TunePoint *p, int quality, bool write_ref);

// The row for point p on shape S: from the database when it holds one good enough (any
// failure, or a time from at least as many calls as `quality` asks), else measured now (after
// the reference, when this process has not written its output yet).
static TuneRow point_result(Tuner *T, TuneShapeRun *S, TunePoint *p, int quality) {
    TuneKey key;
    row_key(T, S->shape, p, &key);
    char err[1024];
    TuneRow row;
    int got = tune_db_get(T->db, &key, &row, err, sizeof err);
    if (got < 0)
        error_plain("%s", err);
    if (got == 1 && (row.status != TS_OK || row.reps >= (quality == FULL ? TUNE_CAREFUL_REPS : 1))) {
        T->reused++;
        return row;
    }
    if (!S->ref_ready && S->ref_point && S->ref_point != p)
        measure_point(T, S, S->ref_point, FULL, true);
    return measure_point(T, S, p, quality, p == S->ref_point && !S->ref_ready);
}

// Measures point p (compiling it first when its variant is not in the cache) and records the
// row. Once the budget has run out, or the shape's share of it (tune_compile_points), it
// compiles and runs nothing; a compile or run the budget stops is not recorded (with more time
// it would have finished): both return a TS_TIMEOUT row with T->stop set.
static TuneRow measure_point(Tuner *T, TuneShapeRun *S, TunePoint *p, int quality, bool write_ref) {
    TuneRow row = {.status = TS_COMPILE};
    row_key(T, S->shape, p, &row.key);
    char err[1024];
    bool failed = false;
    if (!tune_budget_stops(T))
        tune_compile_points(T, &p, 1, &failed);
    if (T->stop) {
        row.status = TS_TIMEOUT;
        return row;
    }
    if (!failed) {
        MeasureJob job = S->job;
        char so[1200];
        tune_so_path(T, p, so, sizeof so);
        job.so_path = so;
        job.ref_path = S->ref;
        job.write_ref = write_ref;
        job.min_reps = quality == FULL ? TUNE_CAREFUL_REPS : 1;
        job.max_reps = quality == FULL ? 200 : 20;
        job.min_seconds = quality == FULL ? 0.25 : 0.02;
        double t = S->t_ref > 0 ? S->t_ref : 1.0;
        double timeout = T->timeout > 0 ? T->timeout : 30 + t * (job.min_reps + 3) * 10;
        double left = tune_time_left(T);
        job.timeout = fmin(timeout, left);
        MeasureResult m = left > 0 ? measure_run(&job) : (MeasureResult){.status = TS_TIMEOUT};
        if (m.status == TS_TIMEOUT && left < timeout) {
            T->out_of_time = T->stop = true;
            snprintf(T->stop_note, sizeof T->stop_note, "it stopped the run of %.100s on %.100s after %.1f s",
                     p->key, S->shape->text, fmax(left, 0));
            row.status = TS_TIMEOUT;
            return row;
        }
        row.status = m.status;
        row.seconds = m.seconds;
        row.reps = m.reps;
        row.max_error = m.max_error;
        if (write_ref && m.status == TS_OK)
            S->ref_ready = true;
        if (m.status != TS_OK && !T->quiet && m.status != TS_INVALID) {
            if (T->progress)
                fprintf(stderr, "\r\033[K");
            fprintf(stderr, "tilec tune: %s %s: %s: %s\n", S->shape->text, p->key, tune_status_name(m.status),
                    m.detail);
        }
    }
    T->measured++;
    if (!tune_db_put(T->db, &row, err, sizeof err))
        error_plain("%s", err);
    return row;
}

// The reference of the shape: the first allowed point (in order) that runs correctly on it.
// Returns that point's index or -1.
static int ensure_reference(Tuner *T, TuneShapeRun *S, TunePoint *pts, int n, TuneRow *out) {
    for (int i = 0; i < n && !T->stop; i++) {
        S->ref_point = &pts[i];
        TuneRow r = point_result(T, S, &pts[i], FULL);
        if (r.status == TS_OK) {
            S->t_ref = r.seconds;
            *out = r;
            return i;
        }
    }
    S->ref_point = NULL;
    return -1;
}

// ================================================================ ranking

// A point of round 1's order (ranked_points) or of round 2's (round1).
typedef struct Ranked {
    int point;
    double seconds;
    bool careful;  // round 1's row was already timed carefully (round 2 of an earlier run)
} Ranked;

static int by_seconds(const void *a, const void *b) {
    double x = ((const Ranked *)a)->seconds, y = ((const Ranked *)b)->seconds;
    return (x > y) - (x < y);
}

// Round 2's order: points an earlier run already timed carefully first (so that a repeated
// sweep picks the same ones: their rows now hold careful times, which can rank them below a
// quick time they beat in round 1), then by time.
static int by_careful_then_seconds(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->careful != y->careful)
        return x->careful ? -1 : 1;
    return by_seconds(a, b);
}

// Whether the kernel multiplies tiles (dot or @, helpers included): only then do the
// schedule alternatives change its code.
static bool has_dot(const Node *n) {
    if (!n)
        return false;
    if ((n->kind == ND_BINARY && n->op == OP_MATMUL) ||
        (n->kind == ND_CALL && n->name && !strcmp(n->name, "dot")))
        return true;
    const Node *kids[] = {n->lhs,   n->rhs,  n->cond, n->then, n->els,    n->init,
                          n->limit, n->step, n->body, n->base, n->inlined};
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (has_dot(kids[i]))
            return true;
    for (int i = 0; i < n->args.len; i++)
        if (has_dot(n->args.items[i]))
            return true;
    for (int i = 0; i < n->kwargs.len; i++)
        if (has_dot(n->kwargs.items[i]))
            return true;
    return false;
}

// ================================================================ one shape

// Whether the reference's run on shape S (point p: a checked call, a warm-up and three timed
// ones, and the inputs' fill at about 1 GB/s) can finish in what is left of the budget,
// predicted from the previous shape's reference time scaled by the sizes (tune_shape_size).
// Only a time of at least 10 ms predicts (a shorter one is mostly the call's overhead), and only
// when the database has no careful time for p (then nothing may need to run).
static bool fits_budget(Tuner *T, TuneShapeRun *S, TunePoint *p) {
    if (T->pred_s < 0.01)
        return true;
    TuneKey key;
    TuneRow row;
    char err[256];
    row_key(T, S->shape, p, &key);
    if (tune_db_get(T->db, &key, &row, err, sizeof err) == 1 && row.reps >= TUNE_CAREFUL_REPS)
        return true;
    double one = T->pred_s * tune_shape_size(S->shape) / T->pred_size;
    double need = 5 * one + S->bytes / 1e9, left = tune_time_left(T);
    if (need <= left)
        return true;
    snprintf(T->stop_note, sizeof T->stop_note,
             "the default's run on %.80s is predicted to take %.3g s (from %.3g s a call on %.80s, scaled "
             "by the sizes), more than the %.1f s left",
             S->shape->text, need, T->pred_s, T->pred_shape, fmax(left, 0));
    return false;
}

const Config *tune_shape_default(Tuner *T, const TuneShape *s) {
    SemaDefine bind[TUNE_MAX_BOUND];
    for (int k = 0; k < s->n; k++)
        bind[k] = (SemaDefine){.name = s->name[k], .value = (int64_t)s->value[k]};
    int u = lower_best_fit(&T->prog, T->kernel, T->untuned, T->nuntuned, bind, s->n);
    return &T->untuned[u >= 0 ? u : 0];
}

// The configurations allowed at shape S (its sizes, and the scalars it gives, bound: the
// constraints that hold), as points in round 1's order: the shape's default (the untuned version a
// call runs there, lower_best_fit) first, then by their times at the previous shape (`prev`), else in
// declaration order. Returns them (malloc'd) and their number in *n; *has_default tells whether
// the default is among them.
static TunePoint *ranked_points(Tuner *T, TuneShapeRun *S, const double *prev, int *n, bool *has_default) {
    SemaDefine bind[TUNE_MAX_BOUND];
    for (int k = 0; k < S->shape->n; k++)
        bind[k] = (SemaDefine){.name = S->shape->name[k], .value = (int64_t)S->shape->value[k]};
    const Config *dflt = tune_shape_default(T, S->shape);
    Ranked *order = malloc(sizeof(Ranked) * (size_t)T->nconfigs);
    int na = 0;
    *has_default = false;
    for (int c = 0; c < T->nconfigs; c++) {
        if (sema_constraints_hold(&T->prog, T->kernel, &T->configs[c], bind, S->shape->n) == 0)
            continue;
        bool is_default = same_config(&T->configs[c], dflt);
        *has_default = *has_default || is_default;
        order[na] = (Ranked){.point = c,
                             .seconds = is_default                ? -1
                                        : prev && !isnan(prev[c]) ? prev[c]
                                                                  : 1e30 + na};
        na++;
    }
    qsort(order, (size_t)na, sizeof *order, by_seconds);
    TunePoint *pts = malloc(sizeof(TunePoint) * (size_t)(na ? na : 1));
    for (int i = 0; i < na; i++)
        tune_point_make(T, &pts[i], &T->configs[order[i].point], "");
    free(order);
    *n = na;
    return pts;
}

// Round 1 on the first n1 points: those the database has no row for compiled together first
// (in parallel), then each measured once, quickly (pts[r0], the reference, is `ref`). The
// correct ones other than the reference go to r1; returns how many.
static int round1(Tuner *T, TuneShapeRun *S, TunePoint *pts, int n1, int r0, const TuneRow *ref, Ranked *r1) {
    TunePoint **batch = malloc(sizeof(TunePoint *) * (size_t)n1);
    bool *failed = malloc((size_t)n1);
    int nb = 0;
    for (int i = 0; i < n1; i++) {
        TuneKey key;
        TuneRow row;
        char err[256];
        row_key(T, S->shape, &pts[i], &key);
        if (tune_db_get(T->db, &key, &row, err, sizeof err) != 1)
            batch[nb++] = &pts[i];
    }
    if (nb > 1) {
        tune_progress(T, S, "compiling");
        tune_compile_points(T, batch, nb, failed);
    }
    free(batch);
    free(failed);
    int nr1 = 0;
    for (int i = 0; i < n1 && !T->stop; i++) {
        TuneRow r = i == r0 ? *ref : point_result(T, S, &pts[i], QUICK);
        S->done++;
        tune_progress(T, S, "round 1");
        if (r.status == TS_OK && i != r0)  // the reference is round 2's yardstick, not a candidate
            r1[nr1++] = (Ranked){.point = i, .seconds = r.seconds, .careful = r.reps >= TUNE_CAREFUL_REPS};
    }
    return nr1;
}

// One shape's search: the reference, then rounds 1 to 3 within the shape's share of the budget.
void tune_shape(Tuner *T, TuneShapeRun *S, const double *prev, double time_share, TuneOutcome *o) {
    double start = tune_now();
    T->stop = false;
    T->share_end = INFINITY;  // until the reference has a time
    o->shape = S->shape;
    job_for(T, S, &S->job);
    S->bytes = 0;
    for (int i = 0; i < S->job.nargs; i++)
        if (S->job.args[i].kind == MA_TENSOR)
            S->bytes += (double)S->job.args[i].elems * (double)measure_elem_bytes(S->job.args[i].elem);
    int na;
    bool has_default;
    TunePoint *pts = ranked_points(T, S, prev, &na, &has_default);
    o->candidates = na;
    Ranked *r1 = malloc(sizeof(Ranked) * (size_t)(na ? na : 1));
    S->planned = 1;
    tune_progress(T, S, "reference");
    if (na && !fits_budget(T, S, &pts[0])) {
        o->stopped = true;
        snprintf(o->not_tuned, sizeof o->not_tuned, "one run predicted to take longer than the budget left");
        goto done;
    }
    TuneRow ref;
    int r0 = na ? ensure_reference(T, S, pts, na, &ref) : -1;
    S->done = 1;
    if (r0 < 0 && T->stop) {
        o->stopped = true;
        snprintf(o->not_tuned, sizeof o->not_tuned, "the budget ran out before its default had a time");
    }
    if (r0 < 0)
        goto done;
    T->share_end = start + time_share;
    T->pred_s = S->t_ref;
    T->pred_size = tune_shape_size(S->shape);
    snprintf(T->pred_shape, sizeof T->pred_shape, "%s", S->shape->text);
    o->default_s = r0 == 0 && has_default ? ref.seconds : NAN;
    // Round 1: as many as the shape's share of the budget pays for. The estimate of one
    // point: its compile (shared by the jobs), the child's start and input fill, and a checked,
    // a warm-up and a timed call (at least 20 ms of calls).
    double share = T->budget / T->shapes_total;
    double per = 1.0 / T->jobs + 0.05 + S->bytes * 2 / 1e9 + 2 * S->t_ref + fmax(S->t_ref, 0.02);
    int n1 = (int)(0.6 * share / per);
    n1 = n1 < 2 ? 2 : n1 > na ? na : n1;
    S->planned = 1 + n1 + 3 + 4;
    int nr1 = round1(T, S, pts, n1, r0, &ref, r1);
    o->tried = n1;
    // Rounds 2 and 3 get what is left of the shape's share, at the cost of a careful timing
    // (its compile, and calls worth max(0.25 s, 3 calls) plus the checked and warm-up calls).
    double careful = 1.0 / T->jobs + 0.1 + S->bytes * 2 / 1e9 + 2 * S->t_ref + fmax(0.25, 3 * S->t_ref);
    double left = share - careful - n1 * per;
    int n2 = (int)(0.5 * left / careful);
    n2 = n2 < 1 ? 1 : n2 > 3 ? 3 : n2;
    bool round3 = 0.5 * left >= 3 * careful && has_dot(T->kernel->body);
    // Round 2: the best of round 1 timed again with more calls, against the reference, which
    // they must beat by TUNE_WIN_MARGIN.
    qsort(r1, (size_t)nr1, sizeof *r1, by_careful_then_seconds);
    int best = r0;
    double best_s = ref.seconds;
    for (int i = 0; i < nr1 && i < n2 && !T->stop; i++) {
        TuneRow r = point_result(T, S, &pts[r1[i].point], FULL);
        S->done++;
        tune_progress(T, S, "round 2");
        if (r.status == TS_OK && r.seconds < best_s && r.seconds < ref.seconds * (1 - TUNE_WIN_MARGIN)) {
            best = r1[i].point;
            best_s = r.seconds;
        }
    }
    o->best = pts[best];
    // Round 3: the target's schedule alternatives on the winner.
    static const char *const alternatives[] = {"unroll_k=8", "unroll_k=2", "reg_m=4,reg_n=24"};
    for (int a = 0; a < 3 && round3 && !T->stop; a++) {
        TunePoint alt;
        tune_point_make(T, &alt, &pts[best].config, alternatives[a]);
        TuneRow r = point_result(T, S, &alt, FULL);
        S->done++;
        tune_progress(T, S, "schedules");
        if (r.status == TS_OK && r.seconds < best_s && r.seconds < ref.seconds * (1 - TUNE_WIN_MARGIN)) {
            o->best = alt;
            best_s = r.seconds;
        }
    }
    o->best_s = best_s;
    o->ok = true;
    o->cut = T->stop;
done:
    free(pts);
    free(r1);
}

// How the next shape ranks the configurations: their times on this one.
void tune_times_at(Tuner *T, const TuneShape *s, double *times) {
    char err[2048];
    for (int c = 0; c < T->nconfigs; c++) {
        TuneRow row;
        TuneKey k;
        TunePoint p;
        tune_point_make(T, &p, &T->configs[c], "");
        row_key(T, s, &p, &k);
        times[c] = tune_db_get(T->db, &k, &row, err, sizeof err) != 1 ? NAN
                   : row.status == TS_OK                              ? row.seconds
                                                                      : INFINITY;
    }
}
