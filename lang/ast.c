// lang/ast.c — the arena, node constructors, names of kinds and types, and --emit=ast.
#include "ast.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

// ================================================================ arena

typedef struct Chunk {
    struct Chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} Chunk;

static Chunk *arena;
static size_t arena_total;
static long nodes_made;

// The arena is shared by the threads of a compilation (the checker, and the emitter's bindings
// while variants are lowered at once): allocations take this lock.
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;

void *ast_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    pthread_mutex_lock(&arena_lock);
    if (!arena || arena->used + size > arena->size) {
        size_t csize = size > (1u << 20) ? size : (1u << 20);
        Chunk *c = malloc(sizeof(Chunk) + csize);
        if (!c) {
            fprintf(stderr, "tilec: fatal error: out of memory\n");
            abort();
        }
        c->next = arena;
        c->used = 0;
        c->size = csize;
        arena = c;
        arena_total += csize;
    }
    void *p = arena->data + arena->used;
    arena->used += size;
    pthread_mutex_unlock(&arena_lock);
    memset(p, 0, size);
    return p;
}

char *ast_strndup(const char *s, size_t n) {
    char *p = ast_alloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ast_arena_reset(void) {
    pthread_mutex_lock(&arena_lock);
    while (arena) {
        Chunk *next = arena->next;
        free(arena);
        arena = next;
    }
    arena_total = 0;
    nodes_made = 0;
    pthread_mutex_unlock(&arena_lock);
}

long ast_node_count(void) { return nodes_made; }

size_t ast_arena_bytes(void) { return arena_total; }

// ================================================================ constructors

Node *ast_new(NodeKind kind, Span span) {
    nodes_made++;
    Node *n = ast_alloc(sizeof(Node));
    n->kind = kind;
    n->span = span;
    n->nspan = span;
    n->depth = 1;
    return n;
}

static int max_depth(const Node *a, const Node *b) {
    int da = a ? a->depth : 0, db = b ? b->depth : 0;
    return da > db ? da : db;
}

Node *ast_binary(int op, Node *lhs, Node *rhs, Span span) {
    Node *n = ast_new(ND_BINARY, span);
    n->op = op;
    n->lhs = lhs;
    n->rhs = rhs;
    n->depth = 1 + max_depth(lhs, rhs);
    return n;
}

Node *ast_unary(int op, Node *operand, Span span) {
    Node *n = ast_new(ND_UNARY, span);
    n->op = op;
    n->lhs = operand;
    n->depth = 1 + max_depth(operand, NULL);
    return n;
}

void ast_push(NodeList *list, Node *node) {
    if (list->len == list->cap) {
        int cap = list->cap ? list->cap * 2 : 4;
        Node **items = ast_alloc(sizeof(Node *) * (size_t)cap);
        if (list->len)
            memcpy(items, list->items, sizeof(Node *) * (size_t)list->len);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->len++] = node;
}

Span span_join(Span a, Span b) {
    if (!a.file)
        return b;
    if (!b.file || a.file != b.file)
        return a;
    Span s = a;
    uint32_t end = b.off + b.len > a.off + a.len ? b.off + b.len : a.off + a.len;
    if (b.off < a.off) {
        s = b;
    }
    s.len = end - s.off;
    return s;
}

static void clone_list(NodeList *dst, const NodeList *src) {
    *dst = (NodeList){0};
    for (int i = 0; i < src->len; i++)
        ast_push(dst, ast_clone(src->items[i]));
}

Node *ast_clone(const Node *n) {
    if (!n)
        return NULL;
    nodes_made++;
    Node *c = ast_alloc(sizeof(Node));
    *c = *n;
    c->lhs = ast_clone(n->lhs);
    c->rhs = ast_clone(n->rhs);
    c->cond = ast_clone(n->cond);
    c->then = ast_clone(n->then);
    c->els = ast_clone(n->els);
    c->init = ast_clone(n->init);
    c->limit = ast_clone(n->limit);
    c->step = ast_clone(n->step);
    c->body = ast_clone(n->body);
    c->base = ast_clone(n->base);
    c->ty = ast_clone(n->ty);
    clone_list(&c->args, &n->args);
    clone_list(&c->kwargs, &n->kwargs);
    clone_list(&c->tunes, &n->tunes);
    clone_list(&c->wheres, &n->wheres);
    clone_list(&c->prefers, &n->prefers);
    clone_list(&c->grid, &n->grid);
    c->inlined = NULL;
    c->inlined_ret = NULL;
    c->inline_params = NULL;
    if (n->kind == ND_ASSIGN)
        c->init = NULL;  // derived by sema from lhs and rhs (see assigned_value)
    return c;
}

// ================================================================ names

static const char *const kind_names[] = {
// clang-format off
#define X(e, s) s,
    NODE_KINDS(X)
#undef X
    // clang-format on
};

const char *node_kind_name(NodeKind k) { return kind_names[k]; }

static const char *const binop_names[] = {
    "=",
// clang-format off
#define X(e, s) s,
    BINARY_OPS(X)
#undef X
    // clang-format on
};

const char *binary_op_spelling(int op) { return binop_names[op]; }

const char *unary_op_spelling(int op) {
    switch (op) {
    case UOP_NEG: return "-";
    case UOP_NOT: return "!";
    case UOP_BITNOT: return "~";
    }
    unreachable();
}

static const struct {
    const char *name;
    int bits;
    bool is_float;
} elem_table[] = {
    {"<none>", 0, false},
// clang-format off
#define X(e, s, b, f) {s, b, f},
    ELEM_TYPES(X)
#undef X
    {"integer constant", 64, false},
    {"float constant", 64, true},
    // clang-format on
};

const char *elem_name(ElemType e) { return elem_table[e].name; }
int elem_bits(ElemType e) { return elem_table[e].bits; }
bool elem_is_float(ElemType e) { return e != EL_NONE && elem_table[e].is_float; }
bool elem_is_int(ElemType e) { return e != EL_NONE && e != EL_I1 && !elem_table[e].is_float; }
bool elem_is_unsigned(ElemType e) { return e == EL_U8 || e == EL_U16 || e == EL_U32 || e == EL_U64; }

ElemType elem_from_name(const char *s, size_t n) {
// clang-format off
#define X(e, sp, b, f)                                  \
    if (strlen(sp) == n && memcmp(sp, s, n) == 0)       \
        return e;
    ELEM_TYPES(X)
#undef X
    // clang-format on
    return EL_NONE;
}

Type type_value(ElemType e, int rank, const int64_t *dims) {
    Type t = {.cls = TY_VALUE, .elem = e, .rank = rank};
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

Type type_scalar(ElemType e) { return type_value(e, 0, NULL); }
Type type_error(void) { return (Type){.cls = TY_ERROR}; }

const char *type_str(const Type *t, char *buf, size_t size) {
    switch (t->cls) {
    case TY_ERROR: snprintf(buf, size, "<error>"); return buf;
    case TY_VOID: snprintf(buf, size, "void"); return buf;
    case TY_TYPE: snprintf(buf, size, "type %s", elem_name(t->elem)); return buf;
    case TY_TENSOR: snprintf(buf, size, "tensor %s[rank %d]", elem_name(t->elem), t->rank); return buf;
    case TY_TUPLE: snprintf(buf, size, "%d values", t->rank); return buf;
    case TY_SHAPE:
    case TY_VALUE: break;
    }
    size_t n = (size_t)snprintf(buf, size, "%s", t->cls == TY_SHAPE ? "shape" : elem_name(t->elem));
    if (t->rank > 0 || t->cls == TY_SHAPE) {
        for (int i = 0; i < t->rank && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "[", (long long)t->dims[i]);
        if (n < size)
            snprintf(buf + n, size - n, t->rank ? "]" : "[]");
    }
    return buf;
}

// ================================================================ --emit=ast

typedef struct Dumper {
    FILE *out;
    int indent;
} Dumper;

static void dump_node(Dumper *d, const Node *n, const char *role);

static void dump_list(Dumper *d, const NodeList *l, const char *role) {
    for (int i = 0; i < l->len; i++)
        dump_node(d, l->items[i], role);
}

static void dump_node(Dumper *d, const Node *n, const char *role) {
    if (!n)
        return;
    FILE *o = d->out;
    fprintf(o, "%*s", d->indent * 2, "");
    if (role)
        fprintf(o, "%s: ", role);
    fprintf(o, "%s <%d:%d>", node_kind_name(n->kind), n->span.line, n->span.col);
    switch (n->kind) {
    case ND_INT: fprintf(o, " %lld", (long long)n->ival); break;
    case ND_BOOL: fprintf(o, " %s", n->ival ? "true" : "false"); break;
    case ND_FLOAT:
        if (isinf(n->fval))
            fprintf(o, " inf");
        else if (isnan(n->fval))
            fprintf(o, " nan");
        else
            fprintf(o, " %.17g", n->fval);
        break;
    case ND_BINARY: fprintf(o, " '%s'", binary_op_spelling(n->op)); break;
    case ND_UNARY: fprintf(o, " '%s'", unary_op_spelling(n->op)); break;
    case ND_ASSIGN: fprintf(o, " '%s%s'", n->op ? binary_op_spelling(n->op) : "", "="); break;
    case ND_UNPACK:
        fprintf(o, " %s", n->op == UNPACK_LET ? "let" : n->op == UNPACK_VAR ? "var" : "'='");
        break;
    case ND_TYPENAME:
    case ND_CAST: fprintf(o, " %s", elem_name(n->elem)); break;
    case ND_TYPEEXPR:
        if (n->init)
            fprintf(o, " list");
        else
            fprintf(o, " %s%s", elem_name(n->elem), n->has_shape ? "[...]" : "");
        break;
    case ND_IMPORT: fprintf(o, " \"%s\"", n->name); break;
    case ND_PARAM: fprintf(o, " %s%s", n->name, n->is_out ? " out" : ""); break;
    default:
        if (n->name)
            fprintf(o, " %s", n->name);
        break;
    }
    if (n->type.cls != TY_ERROR) {
        char buf[128];
        fprintf(o, " : %s", type_str(&n->type, buf, sizeof buf));
    }
    if (n->is_const && n->kind != ND_INT && n->kind != ND_FLOAT && n->kind != ND_BOOL) {
        if (n->cval.is_float)
            fprintf(o, " = %.17g", n->cval.f);
        else
            fprintf(o, " = %lld", (long long)n->cval.i);
    }
    fputc('\n', o);
    d->indent++;
    dump_node(d, n->ty, "type");
    dump_list(d, &n->tunes, "tune");
    dump_list(d, &n->wheres, "where");
    dump_list(d, &n->prefers, "prefer");
    dump_list(d, &n->grid, "grid");
    dump_node(d, n->base, n->kind == ND_TYPEEXPR ? "element" : "base");
    dump_node(d, n->lhs, NULL);
    dump_node(d, n->rhs, NULL);
    if (!(n->kind == ND_ASSIGN && n->init == n->rhs))  // '=' assigns rhs itself
        dump_node(d, n->init, n->kind == ND_ASSIGN ? "value" : n->kind == ND_TYPEEXPR ? "length" : "init");
    dump_node(d, n->limit, "limit");
    dump_node(d, n->step, "step");
    dump_list(d, &n->args, NULL);
    dump_list(d, &n->kwargs, n->kind == ND_PARAM ? "stride" : NULL);
    dump_node(d, n->cond, n->kind == ND_INDEX ? "mask" : "cond");
    dump_node(d, n->then, "then");
    dump_node(d, n->els, n->kind == ND_INDEX ? "pad" : "else");
    dump_node(d, n->body, "body");
    dump_node(d, n->inlined, "inlined");
    d->indent--;
}

void ast_dump(const Program *prog, void *out) {
    Dumper d = {.out = out, .indent = 0};
    for (int i = 0; i < prog->decls.len; i++) {
        const Node *n = prog->decls.items[i];
        if (n->span.file && n->span.file->import_depth == 0)
            dump_node(&d, n, NULL);
    }
}

bool ast_main_kernel(const Node *d, const char *only) {
    return d->kind == ND_KERNEL && d->span.file->import_depth == 0 && (!only || !strcmp(only, d->name));
}
