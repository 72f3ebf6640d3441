// autotune/db.c — the tuning database over SQLite (db.h). SQLite is there for what a tuner
// shared by several processes and machines needs and should not reimplement: atomic writes,
// locking between concurrent writers, detection of corrupt files (docs/autotune.md).
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct TuneDB {
    sqlite3 *db;
    char path[1024];
};

static const char *const status_names[TS_NSTATUS] = {"ok",      "wrong",   "compile-error",
                                                     "invalid", "timeout", "crash"};

const char *tune_status_name(TuneStatus s) { return s < TS_NSTATUS ? status_names[s] : "?"; }

bool tune_status_parse(const char *name, TuneStatus *out) {
    for (int i = 0; i < TS_NSTATUS; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (TuneStatus)i;
            return true;
        }
    return false;
}

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS tilec_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT OR IGNORE INTO tilec_meta VALUES('format', 'tilec-tune-1');"
    "CREATE TABLE IF NOT EXISTS results("
    " source_hash TEXT NOT NULL, compiler TEXT NOT NULL, target TEXT NOT NULL, device TEXT NOT NULL,"
    " kernel TEXT NOT NULL, shape TEXT NOT NULL, config TEXT NOT NULL,"
    " status TEXT NOT NULL, seconds REAL NOT NULL, reps INTEGER NOT NULL, max_error REAL NOT NULL,"
    " measured_at TEXT NOT NULL,"
    " PRIMARY KEY(source_hash, compiler, target, device, kernel, shape, config));";

// The upsert shared by put and merge: more timed calls win, then the newer measurement.
#define UPSERT_TAIL                                                                            \
    " ON CONFLICT(source_hash, compiler, target, device, kernel, shape, config) DO UPDATE SET" \
    " status = excluded.status, seconds = excluded.seconds, reps = excluded.reps,"             \
    " max_error = excluded.max_error, measured_at = excluded.measured_at"                      \
    " WHERE excluded.reps > results.reps OR (excluded.reps = results.reps AND"                 \
    " excluded.measured_at >= results.measured_at)"

static bool fail(TuneDB *db, const char *what, char *error, int error_size) {
    snprintf(error, (size_t)error_size, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
    return false;
}

// Whether the open file is a tilec database (or an empty one, made one when `create`).
static bool check_format_locked(TuneDB *db, bool create, char *error, int error_size) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) != SQLITE_OK)
        return fail(db, "not a readable SQLite database (corrupt, or another kind of file)", error,
                    error_size);
    int tables = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (tables < 0)
        return fail(db, "cannot read the database", error, error_size);
    if (tables == 0) {
        if (!create) {
            snprintf(error, (size_t)error_size, "%s: empty, not a tilec tuning database", db->path);
            return false;
        }
        char *msg = NULL;
        if (sqlite3_exec(db->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(error, (size_t)error_size, "%s: cannot create the tables: %s", db->path, msg);
            sqlite3_free(msg);
            return false;
        }
        return true;
    }
    const char *fmt = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT value FROM tilec_meta WHERE key = 'format'", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            fmt = (const char *)sqlite3_column_text(st, 0);
        bool ok = fmt && strcmp(fmt, "tilec-tune-1") == 0;
        if (!ok)
            snprintf(error, (size_t)error_size, "%s: %s%s%s", db->path,
                     fmt ? "a tilec tuning database of an unknown format '" : "not a tilec tuning database",
                     fmt ? fmt : "", fmt ? "'" : " (no format marker)");
        sqlite3_finalize(st);
        return ok;
    }
    snprintf(error, (size_t)error_size, "%s: an SQLite database, but not a tilec tuning database", db->path);
    return false;
}

// check_format_locked under a write lock when creating: a tuner opening the same new file at
// the same moment waits for the tables (the busy timeout) instead of finding them half made
// (the format marker not written yet: "not a tilec tuning database"). A file SQLite cannot
// lock (not a database) is checked unlocked, for the same error as a reader gets.
static bool check_format(TuneDB *db, bool create, char *error, int error_size) {
    bool locked = create && sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    bool ok = check_format_locked(db, create, error, error_size);
    if (locked && sqlite3_exec(db->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK && ok)
        ok = fail(db, "cannot create the tables", error, error_size);
    return ok;
}

TuneDB *tune_db_open(const char *path, bool create, char *error, int error_size) {
    TuneDB *db = calloc(1, sizeof *db);
    snprintf(db->path, sizeof db->path, "%s", path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
        snprintf(error, (size_t)error_size, "%s: cannot open: %s", path,
                 db->db ? sqlite3_errmsg(db->db) : "out of memory");
        tune_db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->db, 60000);
    if (!check_format(db, create, error, error_size)) {
        tune_db_close(db);
        return NULL;
    }
    // WAL: readers never block the writer; a crash mid-write leaves the last commit intact.
    sqlite3_exec(db->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    return db;
}

void tune_db_close(TuneDB *db) {
    if (!db)
        return;
    sqlite3_close(db->db);
    free(db);
}

static void bind_key(sqlite3_stmt *st, const TuneKey *k) {
    const char *f[] = {k->source_hash, k->compiler, k->target, k->device, k->kernel, k->shape, k->config};
    for (int i = 0; i < 7; i++)
        sqlite3_bind_text(st, i + 1, f[i], -1, SQLITE_STATIC);
}

bool tune_db_put(TuneDB *db, const TuneRow *r, char *error, int error_size) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "INSERT INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?)" UPSERT_TAIL, -1, &st,
                           NULL) != SQLITE_OK)
        return fail(db, "cannot prepare the insert", error, error_size);
    bind_key(st, &r->key);
    sqlite3_bind_text(st, 8, tune_status_name(r->status), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 9, r->seconds);
    sqlite3_bind_int(st, 10, r->reps);
    sqlite3_bind_double(st, 11, r->max_error);
    char when[32];
    if (r->when[0]) {
        snprintf(when, sizeof when, "%s", r->when);
    } else {
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    }
    sqlite3_bind_text(st, 12, when, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || fail(db, "cannot write a result", error, error_size);
}

static void read_row(sqlite3_stmt *st, TuneRow *r) {
    memset(r, 0, sizeof *r);
    struct {
        char *dst;
        size_t n;
    } f[] = {{r->key.source_hash, sizeof r->key.source_hash},
             {r->key.compiler, sizeof r->key.compiler},
             {r->key.target, sizeof r->key.target},
             {r->key.device, sizeof r->key.device},
             {r->key.kernel, sizeof r->key.kernel},
             {r->key.shape, sizeof r->key.shape},
             {r->key.config, sizeof r->key.config}};
    for (int i = 0; i < 7; i++) {
        const unsigned char *t = sqlite3_column_text(st, i);
        snprintf(f[i].dst, f[i].n, "%s", t ? (const char *)t : "");
    }
    const unsigned char *s = sqlite3_column_text(st, 7);
    if (!s || !tune_status_parse((const char *)s, &r->status))
        r->status = TS_CRASH;
    r->seconds = sqlite3_column_double(st, 8);
    r->reps = sqlite3_column_int(st, 9);
    r->max_error = sqlite3_column_double(st, 10);
    const unsigned char *w = sqlite3_column_text(st, 11);
    snprintf(r->when, sizeof r->when, "%s", w ? (const char *)w : "");
}

int tune_db_get(TuneDB *db, const TuneKey *key, TuneRow *out, char *error, int error_size) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT * FROM results WHERE source_hash = ? AND compiler = ? AND target = ? AND "
                           "device = ? AND kernel = ? AND shape = ? AND config = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(db, "cannot prepare a query", error, error_size) ? 0 : -1;
    bind_key(st, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, out);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(db, "cannot read a result", error, error_size) ? 0 : -1;
    return rc == SQLITE_ROW;
}

long tune_db_each(TuneDB *db, const TuneKey *filter, TuneRowFn fn, void *user, char *error, int error_size) {
    static const char *const cols[] = {"source_hash", "compiler", "target", "device",
                                       "kernel",      "shape",    "config"};
    char sql[1024] = "SELECT * FROM results WHERE 1";
    const char *vals[7] = {0};
    if (filter) {
        const char *f[] = {filter->source_hash, filter->compiler, filter->target, filter->device,
                           filter->kernel,      filter->shape,    filter->config};
        for (int i = 0; i < 7; i++)
            vals[i] = f[i][0] ? f[i] : NULL;
    }
    for (int i = 0; i < 7; i++)
        if (vals[i])
            snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " AND %s = ?%d", cols[i], i + 1);
    strcat(sql, " ORDER BY kernel, shape, config, device");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(db, "cannot prepare a query", error, error_size) ? 0 : -1;
    for (int i = 0; i < 7; i++)
        if (vals[i])
            sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
    long n = 0;
    int rc;
    TuneRow r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_row(st, &r);
        if (fn)
            fn(&r, user);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(db, "cannot read the results", error, error_size) ? 0 : -1;
    return n;
}

long tune_db_merge(TuneDB *db, const char *src_path, char *error, int error_size) {
    TuneDB *src = tune_db_open(src_path, false, error, error_size);
    if (!src)
        return -1;
    tune_db_close(src);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "ATTACH DATABASE ? AS src", -1, &st, NULL) != SQLITE_OK)
        return fail(db, "cannot attach", error, error_size) ? 0 : -1;
    sqlite3_bind_text(st, 1, src_path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(db, "cannot attach", error, error_size) ? 0 : -1;
    long n = -1;
    char *msg = NULL;
    if (sqlite3_exec(db->db,
                     "BEGIN IMMEDIATE; INSERT INTO results SELECT * FROM src.results WHERE 1" UPSERT_TAIL
                     "; COMMIT;",
                     NULL, NULL, &msg) == SQLITE_OK) {
        if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM src.results", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    } else {
        snprintf(error, (size_t)error_size, "merging %s into %s: %s", src_path, db->path, msg);
        sqlite3_free(msg);
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_exec(db->db, "DETACH DATABASE src", NULL, NULL, NULL);
    return n;
}
