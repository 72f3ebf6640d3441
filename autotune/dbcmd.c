// autotune/dbcmd.c — `tilec db show|export|merge`: the tuning database from the command line.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lang/diag.h"
#include "tune.h"

static const char *const db_usage =
    "USAGE: tilec db show [--db PATH] [--kernel NAME]      the rows, grouped by kernel and shape\n"
    "       tilec db export [--db PATH] [--format csv|json]  every row, for scripts\n"
    "       tilec db merge OUT.db IN.db...                 copy the rows of IN into OUT (created if\n"
    "                                                      absent); per key, the row timed with\n"
    "                                                      more calls wins, then the newer\n";

typedef struct Printer {
    int format;  // 0 show, 1 csv, 2 json
    long n;
    char last[1024];
} Printer;

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void csv_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_row(const TuneRow *r, void *user) {
    Printer *p = user;
    const TuneKey *k = &r->key;
    if (p->format == 0) {
        char group[1024];
        snprintf(group, sizeof group, "%s %s %s %s", k->kernel, k->shape, k->target, k->device);
        if (strcmp(group, p->last) != 0) {
            printf("%s%s  %s  (%s, %s; source %.12s, %s)\n", p->n ? "\n" : "", k->kernel, k->shape, k->target,
                   k->device, k->source_hash, k->compiler);
            snprintf(p->last, sizeof p->last, "%s", group);
        }
        if (r->status == TS_OK)
            printf("  %-48s %12.4f ms  %3d calls  err %.1e\n", k->config, r->seconds * 1e3, r->reps,
                   r->max_error);
        else
            printf("  %-48s %15s\n", k->config, tune_status_name(r->status));
    } else {
        const char *f[] = {k->source_hash, k->compiler, k->target, k->device, k->kernel, k->shape, k->config};
        const char *names[] = {"source_hash", "compiler", "target", "device", "kernel", "shape", "config"};
        if (p->format == 1) {
            for (int i = 0; i < 7; i++) {
                csv_str(f[i]);
                putchar(',');
            }
            printf("%s,%.9g,%d,%.6g,%s\n", tune_status_name(r->status), r->seconds, r->reps, r->max_error,
                   r->when);
        } else {
            printf("%s\n  {", p->n ? "," : "");
            for (int i = 0; i < 7; i++) {
                printf("\"%s\": ", names[i]);
                json_str(f[i]);
                printf(", ");
            }
            printf(
                "\"status\": \"%s\", \"seconds\": %.9g, \"reps\": %d, \"max_error\": %.6g, \"measured_at\": ",
                tune_status_name(r->status), r->seconds, r->reps, r->max_error);
            json_str(r->when);
            printf("}");
        }
    }
    p->n++;
}

int tune_db_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(db_usage, argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    const char *cmd = argv[1];
    char path[1024], err[2048];
    tune_default_db_path(path, sizeof path);
    if (!strcmp(cmd, "merge")) {
        if (argc < 4) {
            error_plain("tilec db merge: expected OUT.db IN.db...");
            diag_flush();
            return 1;
        }
        TuneDB *db = tune_db_open(argv[2], true, err, sizeof err);
        if (!db) {
            error_plain("%s", err);
            diag_flush();
            return 1;
        }
        int rc = 0;
        for (int i = 3; i < argc; i++) {
            long n = tune_db_merge(db, argv[i], err, sizeof err);
            if (n < 0) {
                error_plain("%s", err);
                rc = 1;
            } else {
                printf("%s: %ld rows merged into %s\n", argv[i], n, argv[2]);
            }
        }
        tune_db_close(db);
        diag_flush();
        return rc;
    }
    if (strcmp(cmd, "show") && strcmp(cmd, "export")) {
        error_plain("unknown 'tilec db' command '%s' (expected show, export or merge)", cmd);
        diag_flush();
        return 1;
    }
    Printer p = {.format = strcmp(cmd, "show") ? 1 : 0};
    TuneKey filter = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc) {
            snprintf(path, sizeof path, "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) {
            snprintf(filter.kernel, sizeof filter.kernel, "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc && p.format) {
            i++;
            if (strcmp(argv[i], "csv") && strcmp(argv[i], "json")) {
                error_plain("--format expects csv or json, got '%s'", argv[i]);
                diag_flush();
                return 1;
            }
            p.format = strcmp(argv[i], "csv") ? 2 : 1;
        } else {
            error_plain("unknown argument '%s' to 'tilec db %s'", argv[i], cmd);
            diag_flush();
            return 1;
        }
    }
    TuneDB *db = tune_db_open(path, false, err, sizeof err);
    if (!db) {
        error_plain("%s", err);
        diag_flush();
        return 1;
    }
    if (p.format == 1)
        printf("source_hash,compiler,target,device,kernel,shape,config,status,seconds,reps,max_error,"
               "measured_at\n");
    if (p.format == 2)
        printf("[");
    long n = tune_db_each(db, filter.kernel[0] ? &filter : NULL, print_row, &p, err, sizeof err);
    if (p.format == 2)
        printf("\n]\n");
    tune_db_close(db);
    if (n < 0) {
        error_plain("%s", err);
        diag_flush();
        return 1;
    }
    if (p.format == 0 && n == 0)
        printf("%s: no results\n", path);
    return 0;
}
