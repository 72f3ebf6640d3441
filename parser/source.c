// parser/source.c — reading source files and loading a program with its imports.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lang/diag.h"
#include "parse.h"

// ================================================================ reading files

static void report_read_error(const Node *from, const char *fmt, const char *path, const char *why) {
    if (from)
        error_at(from->nspan, fmt, path, why);
    else
        error_plain(fmt, path, why);
}

SourceFile *source_read(const char *path, const Node *from) {
    struct stat st;
    if (stat(path, &st) != 0) {
        report_read_error(from, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        report_read_error(from, "cannot read '%s': %s", path, "it is a directory");
        return NULL;
    }
    // Regular files, and pipes on the command line (tilec check <(...)); never devices.
    if (!S_ISREG(st.st_mode) && !(S_ISFIFO(st.st_mode) && !from)) {
        report_read_error(from, "cannot read '%s': %s", path, "it is not a regular file");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        report_read_error(from, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    // Read in chunks: st_size is 0 for pipes and special files.
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *buf = NULL;
    bool too_large = false;
    for (;;) {
        if (cap > PARSE_MAX_FILE_BYTES + 1u) {
            too_large = true;
            break;
        }
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            too_large = true;
            break;
        }
        buf = nb;
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len < cap) {
            if (ferror(f)) {
                int err = errno;
                fclose(f);
                free(buf);
                report_read_error(from, "cannot read '%s': %s", path, strerror(err));
                return NULL;
            }
            if (feof(f))
                break;
        }
        if (len == cap)
            cap *= 2;
    }
    fclose(f);
    if (too_large) {
        free(buf);
        report_read_error(from, "cannot read '%s': %s", path, "the file is larger than 256 MiB");
        return NULL;
    }
    SourceFile *sf = source_from_memory(path, buf, len);
    free(buf);
    return sf;
}

SourceFile *source_from_memory(const char *name, const char *data, size_t len) {
    SourceFile *sf = ast_alloc(sizeof(SourceFile));
    sf->path = ast_strndup(name, strlen(name));
    char *text = ast_alloc(len + 1);
    if (len)
        memcpy(text, data, len);
    text[len] = '\0';
    sf->text = text;
    sf->len = len;
    return sf;
}

// ================================================================ imports

typedef struct Loaded {
    char *key;  // canonical path (realpath) of a file already loaded or loading
    bool done;  // false while its imports are being loaded (a cycle if seen again)
    SourceFile *file;
} Loaded;

typedef struct Loader {
    Program *prog;
    const LoadOptions *opts;
    Loaded *loaded;
    int nloaded, cap;
    bool ok;
} Loader;

static Loaded *find_loaded(Loader *L, const char *key) {
    for (int i = 0; i < L->nloaded; i++)
        if (strcmp(L->loaded[i].key, key) == 0)
            return &L->loaded[i];
    return NULL;
}

static Loaded *add_loaded(Loader *L, const char *key, SourceFile *f) {
    if (L->nloaded == L->cap) {
        int cap = L->cap ? L->cap * 2 : 16;
        Loaded *nl = ast_alloc(sizeof(Loaded) * (size_t)cap);
        if (L->nloaded)
            memcpy(nl, L->loaded, sizeof(Loaded) * (size_t)L->nloaded);
        L->loaded = nl;
        L->cap = cap;
    }
    Loaded *l = &L->loaded[L->nloaded++];
    l->key = ast_strndup(key, strlen(key));
    l->done = false;
    l->file = f;
    return l;
}

// The directory part of a path ("" for a bare file name).
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? ast_strndup(path, (size_t)(slash - path + 1)) : ast_strndup("", 0);
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = ast_alloc(a + b + 2);
    memcpy(p, dir, a);
    if (a && dir[a - 1] != '/')
        p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

// Finds an import: relative to the importing file, then in each -I directory.
static char *resolve_import(Loader *L, const SourceFile *from, const char *name) {
    if (name[0] == '/')
        return ast_strndup(name, strlen(name));
    char *p = join(dir_of(from->path), name);
    struct stat st;
    if (stat(p, &st) == 0)
        return p;
    for (int i = 0; i < L->opts->ninclude_dirs; i++) {
        char *q = join(L->opts->include_dirs[i], name);
        if (stat(q, &st) == 0)
            return q;
    }
    return p;  // report the error with the path relative to the importer
}

static void load_file(Loader *L, SourceFile *file, const char *key);

static void load_imports(Loader *L, SourceFile *file, int first_decl) {
    Program *prog = L->prog;
    int end = prog->decls.len;
    for (int i = first_decl; i < end; i++) {
        Node *imp = prog->decls.items[i];
        if (imp->kind != ND_IMPORT)
            continue;
        if (file->import_depth + 1 > PARSE_MAX_IMPORT_DEPTH) {
            error_at(imp->nspan, "imports are nested more than %d deep", PARSE_MAX_IMPORT_DEPTH);
            L->ok = false;
            return;
        }
        if (strlen(imp->name) + 2 != imp->nspan.len) {
            L->ok = false;  // a null character in the path, reported by the lexer
            continue;
        }
        if (imp->name[0] == '\0') {
            error_at(imp->nspan, "empty import path");
            L->ok = false;
            continue;
        }
        char *path = resolve_import(L, file, imp->name);
        char real[PATH_MAX];
        const char *key = realpath(path, real) ? real : path;
        Loaded *seen = find_loaded(L, key);
        if (seen && !seen->done) {
            error_at(imp->nspan, "recursive import of '%s'", imp->name);
            for (const SourceFile *f = file; f && f->parent; f = f->parent)
                note_at((Span){0}, "'%s' is imported by '%s' (line %d)", f->path, f->parent->path,
                        f->parent_line);
            L->ok = false;
            continue;
        }
        if (seen)
            continue;  // already loaded through another import
        SourceFile *sf = source_read(path, imp);
        if (!sf) {
            L->ok = false;
            continue;
        }
        sf->import_depth = file->import_depth + 1;
        sf->parent = file;
        sf->parent_line = imp->span.line;
        load_file(L, sf, key);
        if (diag_should_stop())
            return;
    }
}

static void load_file(Loader *L, SourceFile *file, const char *key) {
    Loaded *entry = add_loaded(L, key, file);
    int index = (int)(entry - L->loaded);
    Program *prog = L->prog;
    SourceFile **files = ast_alloc(sizeof(SourceFile *) * (size_t)(prog->nfiles + 1));
    if (prog->nfiles)
        memcpy(files, prog->files, sizeof(SourceFile *) * (size_t)prog->nfiles);
    files[prog->nfiles++] = file;
    prog->files = files;

    // Parse into a private list so that imported declarations come before the importer's.
    NodeList decls = {0};
    if (!parse_source(file, &decls))
        L->ok = false;
    NodeList *all = &prog->decls;
    int first = all->len;
    for (int i = 0; i < decls.len; i++)
        ast_push(all, decls.items[i]);
    // Imports first: move this file's declarations after whatever its imports add.
    int before = all->len;
    load_imports(L, file, first);
    if (all->len > before) {
        NodeList reordered = {0};
        for (int i = 0; i < first; i++)
            ast_push(&reordered, all->items[i]);
        for (int i = before; i < all->len; i++)
            ast_push(&reordered, all->items[i]);
        for (int i = first; i < before; i++)
            ast_push(&reordered, all->items[i]);
        *all = reordered;
    }
    L->loaded[index].done = true;
}

bool load_program(Program *prog, SourceFile **files, int nfiles, const LoadOptions *opts) {
    LoadOptions none = {0};
    Loader L = {.prog = prog, .opts = opts ? opts : &none, .ok = true};
    for (int i = 0; i < nfiles && !diag_should_stop(); i++) {
        char real[PATH_MAX];
        const char *key = realpath(files[i]->path, real) ? real : files[i]->path;
        if (find_loaded(&L, key))
            continue;
        load_file(&L, files[i], key);
    }
    return L.ok && !diag_should_stop();
}
