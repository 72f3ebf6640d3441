// autotune/tune_report.c — what `tilec tune` shows: the progress bar on a terminal while it
// searches, then the best configuration per shape as a table or as JSON, and the sweep's chart
// as SVG (tune_internal.h).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tune_internal.h"

// The bar, the shape and the phase, the points done of those planned, the time spent and an
// estimate of the time left.
void tune_progress(Tuner *T, TuneShapeRun *S, const char *phase) {
    if (!T->progress)
        return;
    double el = tune_now() - T->started;
    double frac = (T->shape_i + (S->planned ? (double)S->done / S->planned : 0)) / T->shapes_total;
    char eta[32] = "?";
    if (frac > 0.02) {
        double left = el / frac - el;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)left / 60, (int)left % 60);
    }
    int width = 24, fill = (int)(frac * width);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K[%s] shape %d/%d %.40s %s %d/%d  %dm%02ds, ETA %s", bar, T->shape_i + 1,
            T->shapes_total, S->shape->text, phase, S->done, S->planned, (int)el / 60, (int)el % 60, eta);
    fflush(stderr);
}

void tune_print_table(Tuner *T, TuneOutcome *out, int n) {
    printf("kernel %s (%s), %s\n", T->kernel->name, T->key.target, T->key.device);
    printf("%-28s %-40s %12s %10s %12s %8s\n", "shape", "best config", "time", T->flops ? "GFLOP/s" : "",
           "default", "speedup");
    double logsum = 0;
    int nlog = 0;
    for (int i = 0; i < n; i++) {
        TuneOutcome *o = &out[i];
        if (!o->ok) {
            char why[200];
            snprintf(why, sizeof why, "(not tuned: %s)",
                     o->not_tuned[0] ? o->not_tuned : "no configuration ran correctly");
            printf("%-28s %s\n", o->shape->text, why);
            continue;
        }
        double fl = tune_eval_flops(T->flops, o->shape);
        char gf[32] = "";
        if (!isnan(fl))
            snprintf(gf, sizeof gf, "%.2f", fl / o->best_s / 1e9);
        char def[32] = "n/a", sp[32] = "n/a";
        if (!isnan(o->default_s)) {
            snprintf(def, sizeof def, "%.3f ms", o->default_s * 1e3);
            snprintf(sp, sizeof sp, "%.2fx", o->default_s / o->best_s);
            logsum += log(o->default_s / o->best_s);
            nlog++;
        }
        printf("%-28s %-40s %9.3f ms %10s %12s %8s%s\n", o->shape->text, o->best.key, o->best_s * 1e3, gf,
               def, sp, o->cut ? "  (cut short by the budget)" : "");
    }
    if (nlog)
        printf("geometric mean speedup over the default: %.3fx (%d shapes)\n", exp(logsum / nlog), nlog);
    printf("%d measured, %d from the database (%s), %d variants compiled\n", T->measured, T->reused,
           T->db_path, T->compiled);
}

void tune_print_json(Tuner *T, TuneOutcome *out, int n) {
    printf("{\"kernel\": \"%s\", \"target\": \"%s\", \"device\": \"%s\", \"shapes\": [", T->kernel->name,
           T->key.target, T->key.device);
    for (int i = 0; i < n; i++) {
        TuneOutcome *o = &out[i];
        printf("%s\n  {\"shape\": \"%s\", \"ok\": %s", i ? "," : "", o->shape->text,
               o->ok ? "true" : "false");
        if (o->ok) {
            double fl = tune_eval_flops(T->flops, o->shape);
            printf(", \"best\": \"%s\", \"seconds\": %.9g", o->best.key, o->best_s);
            if (!isnan(fl))
                printf(", \"gflops\": %.4f", fl / o->best_s / 1e9);
            if (!isnan(o->default_s))
                printf(", \"default_seconds\": %.9g, \"speedup\": %.4f", o->default_s,
                       o->default_s / o->best_s);
            printf(", \"candidates\": %d, \"tried\": %d", o->candidates, o->tried);
            if (o->cut)
                printf(", \"cut_short\": true");
        } else {
            printf(", \"not_tuned\": \"%s\"",
                   o->not_tuned[0] ? o->not_tuned : "no configuration ran correctly");
        }
        printf("}");
    }
    printf("\n], \"measured\": %d, \"from_db\": %d, \"budget_ran_out\": %s}\n", T->measured, T->reused,
           T->out_of_time ? "true" : "false");
}

// The sweep's chart: best and default against the shapes (GFLOP/s with --flops, else 1/time).
bool tune_write_svg(Tuner *T, TuneOutcome *out, int n, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return tune_usage_error("cannot write '%s': %s", path, strerror(errno)) == 0;
    int W = 760, H = 420, L = 70, R = 20, Tp = 40, B = 110;
    double ymax = 0;
    double best[TUNE_MAX_SHAPES], dflt[TUNE_MAX_SHAPES];
    for (int i = 0; i < n; i++) {
        double fl = tune_eval_flops(T->flops, out[i].shape);
        double scale = isnan(fl) ? 1 : fl / 1e9;
        best[i] = out[i].ok ? scale / out[i].best_s : NAN;
        dflt[i] = out[i].ok && !isnan(out[i].default_s) ? scale / out[i].default_s : NAN;
        ymax = fmax(ymax, fmax(isnan(best[i]) ? 0 : best[i], isnan(dflt[i]) ? 0 : dflt[i]));
    }
    if (ymax <= 0)
        ymax = 1;
    ymax *= 1.1;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"22\" font-size=\"15\">tilec tune: %s, tuned vs default (%s)</text>\n",
            W, H, L, T->kernel->name, T->key.device);
    for (int g = 0; g <= 4; g++) {
        double y = Tp + (H - Tp - B) * (1 - g / 4.0);
        fprintf(
            f,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
            "text-anchor=\"end\">%.3g</text>\n",
            L, y, W - R, y, L - 6, y + 4, ymax * g / 4);
    }
    fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            (Tp + H - B) / 2, T->flops ? "GFLOP/s" : "calls per second");
    const char *colors[2] = {"#1f77b4", "#999999"};
    const char *names[2] = {"tuned", "default"};
    for (int s = 0; s < 2; s++) {
        double *v = s ? dflt : best;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[s]);
        for (int i = 0; i < n; i++)
            if (!isnan(v[i]))
                fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (i + 0.5) / n,
                        Tp + (H - Tp - B) * (1 - v[i] / ymax));
        fprintf(f, "\"/>\n");
        for (int i = 0; i < n; i++)
            if (!isnan(v[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                        L + (W - L - R) * (i + 0.5) / n, Tp + (H - Tp - B) * (1 - v[i] / ymax), colors[s]);
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" "
                "y=\"%d\">%s</text>\n",
                W - R - 150 + 75 * s, 28, colors[s], W - R - 134 + 75 * s, 38, names[s]);
    }
    for (int i = 0; i < n; i++)
        fprintf(f, "<text transform=\"translate(%.1f,%d) rotate(35)\" font-size=\"10\">%s</text>\n",
                L + (W - L - R) * (i + 0.5) / n - 10, H - B + 14, out[i].shape->text);
    fprintf(f, "</svg>\n");
    return fclose(f) == 0;
}
