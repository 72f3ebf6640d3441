/* parser/parser.y — the .tile grammar (reentrant Bison, LALR(1) with LAC).
 *
 * One constructor call per action and no checking here: lang/ does the checking. Syntax
 * errors are reported as "expected X, found Y" at the offending token, and the parser
 * recovers at ';' and '}' so one run reports several.
 */
%require "3.8"
%define api.pure full
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%locations
%param {yyscan_t scanner}
%parse-param {Parser *P}
%lex-param {Parser *P}

%code requires {
#include "../lang/ast.h"
#include "parse.h"
typedef void *yyscan_t;
}

%code provides {
int tile_lex_raw(YYSTYPE *yylval_param, YYLTYPE *yylloc_param, yyscan_t yyscanner);
#define YY_DECL int tile_lex_raw(YYSTYPE *yylval_param, YYLTYPE *yylloc_param, yyscan_t yyscanner)
}

%code {
#include <stdlib.h>
#include <string.h>

#include "../lang/diag.h"

static int yylex(YYSTYPE *val, YYLTYPE *loc, yyscan_t scanner, Parser *P);
static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *P, const char *msg);
static Node *fin(Parser *P, Node *n);
static Node *mk(NodeKind kind, Span span);
static Node *named(NodeKind kind, Span span, const char *name, Span nspan);
static Node *with_list(Node *n, NodeList list);
static NodeList list1(Node *n);
static void split_clauses(Node *kernel, NodeList clauses);
static NodeList list_add(NodeList l, Node *n);

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
    do {                                                              \
        if (N) {                                                      \
            (Cur) = span_join(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N));    \
        } else {                                                      \
            (Cur) = YYRHSLOC(Rhs, 0);                                 \
            (Cur).off += (Cur).len;                                   \
            (Cur).col += (int)(Cur).len;                              \
            (Cur).len = 0;                                            \
        }                                                             \
    } while (0)
}

%union {
    int64_t i;
    double f;
    char *str;
    ElemType elem;
    int op;
    Node *node;
    NodeList list;
}

%token END 0 "end of file"
%token <str> IDENT "identifier"
%token <i> INT "integer literal"
%token <f> FLOAT "float literal"
%token <str> STRING "string literal"
%token <elem> TYPE "type name"
%token <op> ASSIGN_OP "compound assignment"
%token KERNEL "'kernel'" FN "'fn'" LET "'let'" VAR "'var'" FOR "'for'" IN "'in'"
%token STEP "'step'" WHILE "'while'" IF "'if'" ELSE "'else'" RETURN "'return'"
%token TUNE "'tune'" WHERE "'where'" GRID "'grid'" CONST "'const'" OUT "'out'"
%token IMPORT "'import'" TRUE "'true'" FALSE "'false'" NONE "'None'" INF "'inf'"
%token NAN_ "'nan'" STRIDES "'strides'"
%token DOTDOT "'..'" ARROW "'->'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token ANDAND "'&&'" OROR "'||'" SHL "'<<'" SHR "'>>'"

%type <node> decl kernel_decl func_decl const_decl import_decl param type_expr tune_item
%type <node> block stmt if_stmt expr postfix primary index_item arg pad opt_type opt_ret
%type <node> opt_step opt_strides
%type <list> stmts params params_opt param_list kernel_clauses tune_list expr_list
%type <list> args args_opt index_list list_items
%type <i> opt_out

%left OROR
%left ANDAND
%left EQ NE '<' '>' LE GE      /* chains like a < b < c are rejected by sema, with a hint */
%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '%' '@'
%precedence UNARY

%%

file
    : %empty
    | file decl                 { if ($2) ast_push(P->decls, $2); }
    ;

decl
    : import_decl
    | const_decl
    | kernel_decl
    | func_decl
    | error ';'                 { $$ = NULL; yyerrok; }
    | error block               { $$ = NULL; yyerrok; }
    ;

import_decl
    : IMPORT STRING ';'         { $$ = mk(ND_IMPORT, @$); $$->name = $2; $$->nspan = @2; }
    ;

const_decl
    : CONST IDENT opt_type '=' expr ';'
                                { $$ = named(ND_CONST, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    ;

/* ---------------------------------------------------------------- kernels and functions */

kernel_decl
    : KERNEL IDENT '(' params_opt ')' kernel_clauses block
                                { $$ = named(ND_KERNEL, @$, $2, @2); $$->args = $4; $$->body = $7;
                                  split_clauses($$, $6); $$ = fin(P, $$); }
    ;

/* Clauses arrive in one list in source order: ND_TUNE items, and ND_LIST nodes named
   "where" and "grid"; split_clauses() sorts them into the kernel's fields. */
kernel_clauses
    : %empty                    { $$ = (NodeList){0}; }
    | kernel_clauses TUNE tune_list
                                { $$ = $1; for (int i = 0; i < $3.len; i++) ast_push(&$$, $3.items[i]); }
    | kernel_clauses WHERE expr_list
                                { $$ = $1; Node *w = mk(ND_LIST, @2); w->name = "where"; w->args = $3; ast_push(&$$, w); }
    | kernel_clauses GRID '(' expr_list ')'
                                { $$ = $1; Node *g = mk(ND_LIST, @2); g->name = "grid"; g->args = $4; ast_push(&$$, g); }
    ;

tune_list
    : tune_item                 { $$ = list1($1); }
    | tune_list ',' tune_item   { $$ = list_add($1, $3); }
    ;

tune_item
    : IDENT IN '{' expr_list '}'
                                { $$ = with_list(named(ND_TUNE, @$, $1, @1), $4); $$ = fin(P, $$); }
    ;

func_decl
    : FN IDENT '(' params_opt ')' opt_ret block
                                { $$ = named(ND_FUNC, @$, $2, @2); $$->args = $4; $$->ty = $6; $$->body = $7; $$ = fin(P, $$); }
    ;

opt_ret
    : %empty                    { $$ = NULL; }
    | ARROW type_expr           { $$ = $2; }
    ;

params_opt
    : %empty                    { $$ = (NodeList){0}; }
    | params
    ;

params
    : param_list
    | param_list ','
    ;

param_list
    : param                     { $$ = list1($1); }
    | param_list ',' param      { $$ = list_add($1, $3); }
    ;

param
    : IDENT                     { $$ = named(ND_PARAM, @$, $1, @1); }
    | IDENT ':' opt_out type_expr opt_strides
                                { $$ = named(ND_PARAM, @$, $1, @1); $$->is_out = $3; $$->ty = $4;
                                  if ($5) $$->kwargs = $5->args; $$ = fin(P, $$); }
    ;

opt_out
    : %empty                    { $$ = 0; }
    | OUT                       { $$ = 1; }
    ;

opt_strides
    : %empty                    { $$ = NULL; }
    | STRIDES '[' expr_list ']' { $$ = with_list(mk(ND_LIST, @$), $3); }
    ;

type_expr
    : TYPE                      { $$ = mk(ND_TYPEEXPR, @$); $$->elem = $1; }
    | TYPE '[' expr_list ']'    { $$ = with_list(mk(ND_TYPEEXPR, @$), $3); $$->elem = $1; $$->has_shape = true; $$ = fin(P, $$); }
    ;

opt_type
    : %empty                    { $$ = NULL; }
    | ':' type_expr             { $$ = $2; }
    ;

/* ---------------------------------------------------------------- statements */

block
    : '{' stmts '}'             { $$ = with_list(mk(ND_BLOCK, @$), $2); $$ = fin(P, $$); }
    ;

stmts
    : %empty                    { $$ = (NodeList){0}; }
    | stmts stmt                { $$ = $1; if ($2) ast_push(&$$, $2); }
    ;

stmt
    : LET IDENT opt_type '=' expr ';'
                                { $$ = named(ND_LET, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    | VAR IDENT opt_type '=' expr ';'
                                { $$ = named(ND_VAR, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    | postfix '=' expr ';'      { $$ = mk(ND_ASSIGN, @$); $$->op = OP_NONE; $$->lhs = $1; $$->rhs = $3; $$->nspan = @2; $$ = fin(P, $$); }
    | postfix ASSIGN_OP expr ';'
                                { $$ = mk(ND_ASSIGN, @$); $$->op = $2; $$->lhs = $1; $$->rhs = $3; $$->nspan = @2; $$ = fin(P, $$); }
    | expr ';'                  { $$ = mk(ND_EXPR_STMT, @$); $$->lhs = $1; $$ = fin(P, $$); }
    | FOR error block           { $$ = NULL; }  /* e.g. a C-style header: resume at the body */
    | WHILE error block         { $$ = NULL; }
    | FOR IDENT IN expr DOTDOT expr opt_step block
                                { $$ = named(ND_FOR, @$, $2, @2); $$->init = $4; $$->limit = $6; $$->step = $7;
                                  $$->body = $8; $$ = fin(P, $$); }
    | WHILE expr block          { $$ = mk(ND_WHILE, @$); $$->cond = $2; $$->body = $3; $$ = fin(P, $$); }
    | if_stmt
    | RETURN ';'                { $$ = mk(ND_RETURN, @$); }
    | RETURN expr ';'           { $$ = mk(ND_RETURN, @$); $$->init = $2; $$ = fin(P, $$); }
    | block
    | error                     { $$ = NULL; }
    /* Recovery that keeps the next statement: a statement broken after its expression
       (a missing ';', a dangling operator) ends there. */
    | LET IDENT opt_type '=' error
                                { $$ = NULL; }
    | VAR IDENT opt_type '=' error
                                { $$ = NULL; }
    | postfix '=' error         { $$ = NULL; }
    | postfix ASSIGN_OP error   { $$ = NULL; }
    | RETURN error              { $$ = NULL; }
    | expr error                { $$ = NULL; }
    ;

opt_step
    : %empty                    { $$ = NULL; }
    | STEP expr                 { $$ = $2; }
    ;

if_stmt
    : IF expr block             { $$ = mk(ND_IF, @$); $$->cond = $2; $$->then = $3; $$ = fin(P, $$); }
    | IF expr block ELSE block  { $$ = mk(ND_IF, @$); $$->cond = $2; $$->then = $3; $$->els = $5; $$ = fin(P, $$); }
    | IF expr block ELSE if_stmt
                                { $$ = mk(ND_IF, @$); $$->cond = $2; $$->then = $3; $$->els = $5; $$ = fin(P, $$); }
    ;

/* ---------------------------------------------------------------- expressions */

expr
    : postfix
    | '-' expr %prec UNARY      { $$ = fin(P, ast_unary(UOP_NEG, $2, @$)); $$->nspan = @1; }
    | '!' expr %prec UNARY      { $$ = fin(P, ast_unary(UOP_NOT, $2, @$)); $$->nspan = @1; }
    | '~' expr %prec UNARY      { $$ = fin(P, ast_unary(UOP_BITNOT, $2, @$)); $$->nspan = @1; }
    | expr OROR expr            { $$ = fin(P, ast_binary(OP_OR, $1, $3, @$)); $$->nspan = @2; }
    | expr ANDAND expr          { $$ = fin(P, ast_binary(OP_AND, $1, $3, @$)); $$->nspan = @2; }
    | expr EQ expr              { $$ = fin(P, ast_binary(OP_EQ, $1, $3, @$)); $$->nspan = @2; }
    | expr NE expr              { $$ = fin(P, ast_binary(OP_NE, $1, $3, @$)); $$->nspan = @2; }
    | expr '<' expr             { $$ = fin(P, ast_binary(OP_LT, $1, $3, @$)); $$->nspan = @2; }
    | expr LE expr              { $$ = fin(P, ast_binary(OP_LE, $1, $3, @$)); $$->nspan = @2; }
    | expr '>' expr             { $$ = fin(P, ast_binary(OP_GT, $1, $3, @$)); $$->nspan = @2; }
    | expr GE expr              { $$ = fin(P, ast_binary(OP_GE, $1, $3, @$)); $$->nspan = @2; }
    | expr '|' expr             { $$ = fin(P, ast_binary(OP_BITOR, $1, $3, @$)); $$->nspan = @2; }
    | expr '^' expr             { $$ = fin(P, ast_binary(OP_BITXOR, $1, $3, @$)); $$->nspan = @2; }
    | expr '&' expr             { $$ = fin(P, ast_binary(OP_BITAND, $1, $3, @$)); $$->nspan = @2; }
    | expr SHL expr             { $$ = fin(P, ast_binary(OP_SHL, $1, $3, @$)); $$->nspan = @2; }
    | expr SHR expr             { $$ = fin(P, ast_binary(OP_SHR, $1, $3, @$)); $$->nspan = @2; }
    | expr '+' expr             { $$ = fin(P, ast_binary(OP_ADD, $1, $3, @$)); $$->nspan = @2; }
    | expr '-' expr             { $$ = fin(P, ast_binary(OP_SUB, $1, $3, @$)); $$->nspan = @2; }
    | expr '*' expr             { $$ = fin(P, ast_binary(OP_MUL, $1, $3, @$)); $$->nspan = @2; }
    | expr '/' expr             { $$ = fin(P, ast_binary(OP_DIV, $1, $3, @$)); $$->nspan = @2; }
    | expr '%' expr             { $$ = fin(P, ast_binary(OP_MOD, $1, $3, @$)); $$->nspan = @2; }
    | expr '@' expr             { $$ = fin(P, ast_binary(OP_MATMUL, $1, $3, @$)); $$->nspan = @2; }
    ;

postfix
    : primary
    | postfix '[' index_list ']'
                                { $$ = with_list(mk(ND_INDEX, @$), $3); $$->base = $1; $$->nspan = @2; $$ = fin(P, $$); }
    | postfix '[' index_list ']' ELSE pad
                                { $$ = with_list(mk(ND_INDEX, @$), $3); $$->base = $1; $$->els = $6; $$->nspan = @2; $$ = fin(P, $$); }
    ;

pad
    : primary
    | '-' primary               { $$ = fin(P, ast_unary(UOP_NEG, $2, @$)); $$->nspan = @1; }
    ;

primary
    : INT                       { $$ = mk(ND_INT, @$); $$->ival = $1; }
    | FLOAT                     { $$ = mk(ND_FLOAT, @$); $$->fval = $1; }
    | INF                       { $$ = mk(ND_FLOAT, @$); $$->fval = __builtin_inf(); }
    | NAN_                      { $$ = mk(ND_FLOAT, @$); $$->fval = __builtin_nan(""); }
    | TRUE                      { $$ = mk(ND_BOOL, @$); $$->ival = 1; }
    | FALSE                     { $$ = mk(ND_BOOL, @$); $$->ival = 0; }
    | IDENT                     { $$ = named(ND_NAME, @$, $1, @1); }
    | TYPE                      { $$ = mk(ND_TYPENAME, @$); $$->elem = $1; }
    | TYPE '(' args_opt ')'     { $$ = with_list(mk(ND_CAST, @$), $3); $$->elem = $1; $$->nspan = @1; $$ = fin(P, $$); }
    | IDENT '(' args_opt ')'    { $$ = with_list(named(ND_CALL, @$, $1, @1), $3); $$ = fin(P, $$); }
    | WHERE '(' args_opt ')'    { $$ = with_list(named(ND_CALL, @$, "where", @1), $3); $$ = fin(P, $$); }
    | '(' expr ')'              { $$ = $2; }
    | '[' list_items ']'        { $$ = with_list(mk(ND_LIST, @$), $2); $$ = fin(P, $$); }
    ;

list_items
    : %empty                    { $$ = (NodeList){0}; }
    | expr_list
    | expr_list ','
    ;

expr_list
    : expr                      { $$ = list1($1); }
    | expr_list ',' expr        { $$ = list_add($1, $3); }
    ;

args_opt
    : %empty                    { $$ = (NodeList){0}; }
    | args
    | args ','
    ;

args
    : arg                       { $$ = list1($1); }
    | args ',' arg              { $$ = list_add($1, $3); }
    ;

arg
    : expr
    | IDENT '=' expr            { $$ = named(ND_KWARG, @$, $1, @1); $$->rhs = $3; $$ = fin(P, $$); }
    ;

index_list
    : index_item                { $$ = list1($1); }
    | index_list ',' index_item { $$ = list_add($1, $3); }
    ;

index_item
    : expr
    | NONE                      { $$ = mk(ND_NEWAXIS, @$); }
    | ':'                       { $$ = mk(ND_SLICE, @$); }
    | expr ':'                  { $$ = mk(ND_SLICE, @$); $$->lhs = $1; $$ = fin(P, $$); }
    | ':' expr                  { $$ = mk(ND_SLICE, @$); $$->rhs = $2; $$ = fin(P, $$); }
    | expr ':' expr             { $$ = mk(ND_SLICE, @$); $$->lhs = $1; $$->rhs = $3; $$ = fin(P, $$); }
    ;

%%

/* ================================================================ helpers */

static Node *mk(NodeKind kind, Span span) { return ast_new(kind, span); }

static Node *named(NodeKind kind, Span span, const char *name, Span nspan) {
    Node *n = ast_new(kind, span);
    n->name = name;
    n->nspan = nspan;
    return n;
}

static Node *with_list(Node *n, NodeList list) {
    n->args = list;
    return n;
}

static NodeList list1(Node *n) {
    NodeList l = {0};
    ast_push(&l, n);
    return l;
}

static NodeList list_add(NodeList l, Node *n) {
    ast_push(&l, n);
    return l;
}

static void split_clauses(Node *k, NodeList clauses) {
    for (int i = 0; i < clauses.len; i++) {
        Node *c = clauses.items[i];
        if (c->kind == ND_TUNE) {
            ast_push(&k->tunes, c);
        } else if (strcmp(c->name, "where") == 0) {
            for (int j = 0; j < c->args.len; j++)
                ast_push(&k->wheres, c->args.items[j]);
        } else {
            ast_push(&k->grid, c);
        }
    }
}

static int list_depth(const NodeList *l) {
    int d = 0;
    for (int i = 0; i < l->len; i++)
        if (l->items[i] && l->items[i]->depth > d)
            d = l->items[i]->depth;
    return d;
}

// Computes a finished node's height and stops trees deeper than PARSE_MAX_DEPTH, so that
// every later pass can recurse without fear of the stack.
static Node *fin(Parser *P, Node *n) {
    Node *kids[] = {n->lhs, n->rhs, n->cond, n->then, n->els, n->init, n->limit, n->step,
                    n->body, n->base, n->ty};
    int d = 0;
    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++)
        if (kids[i] && kids[i]->depth > d)
            d = kids[i]->depth;
    const NodeList *lists[] = {&n->args, &n->kwargs, &n->tunes, &n->wheres, &n->grid};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        int ld = list_depth(lists[i]);
        if (ld > d)
            d = ld;
    }
    n->depth = d + 1;
    if (n->depth <= PARSE_MAX_DEPTH)
        return n;
    if (!P->too_deep) {
        P->too_deep = true;
        P->fatal = true;
        P->errors++;
        error_at(n->span, "code is nested too deeply (the limit is %d levels)", PARSE_MAX_DEPTH);
    }
    Node *e = ast_new(ND_ERROR, n->span);
    return e;
}

static int yylex(YYSTYPE *val, YYLTYPE *loc, yyscan_t scanner, Parser *P) {
    int tok = P->fatal || diag_should_stop() ? END : tile_lex_raw(val, loc, scanner);
    if (tok != END && ast_node_count() > PARSE_MAX_NODES) {
        P->errors++;
        P->fatal = true;
        error_at(*loc, "the program is too large (over %d syntax nodes); split it into several files",
                 PARSE_MAX_NODES);
        tok = END;
    }
    if (tok == END) {
        loc->file = P->file;
        loc->off = P->off;
        loc->len = 0;
        loc->line = P->line;
        loc->col = P->col;
    }
    P->prev_tok = P->cur_tok;
    P->cur_tok = *loc;
    if (tok == '{') {
        if (P->nbraces < PARSE_MAX_BRACES)
            P->braces[P->nbraces] = *loc;
        P->nbraces++;
    } else if (tok == '}' && P->nbraces > 0) {
        P->nbraces--;
    }
    return tok;
}

static void yyerror(YYLTYPE *loc, yyscan_t scanner, Parser *P, const char *msg) {
    (void)scanner;
    P->errors++;
    if (P->fatal)
        return;
    P->fatal = true;
    if (strcmp(msg, "memory exhausted") == 0)
        error_at(*loc, "code is nested too deeply");
    else
        error_at(*loc, "%s", msg);
}

// The text of a token for messages: "'foo'" clipped to 24 bytes, or a description.
static void token_text(const Span *s, yysymbol_kind_t kind, char *buf, size_t size) {
    if (kind == YYSYMBOL_YYEOF) {
        snprintf(buf, size, "end of file");
        return;
    }
    const char *t = s->file->text + s->off;
    size_t n = s->len > 24 ? 24 : s->len;
    char clip[32];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        clip[k++] = (t[i] >= 0x20 && t[i] < 0x7f) ? t[i] : '?';
    clip[k] = '\0';
    const char *dots = s->len > 24 ? "..." : "";
    switch (kind) {
    case YYSYMBOL_IDENT: snprintf(buf, size, "identifier '%s%s'", clip, dots); break;
    case YYSYMBOL_INT: snprintf(buf, size, "integer literal '%s%s'", clip, dots); break;
    case YYSYMBOL_FLOAT: snprintf(buf, size, "float literal '%s%s'", clip, dots); break;
    case YYSYMBOL_STRING: snprintf(buf, size, "string literal"); break;
    case YYSYMBOL_TYPE: snprintf(buf, size, "type name '%s'", clip); break;
    default: snprintf(buf, size, "'%s%s'", clip, dots); break;
    }
}

// Tokens that continue an expression (binary operators, indexing, calls): listing them as
// "expected" is noise.
static bool continues_expression(yysymbol_kind_t k) {
    static const char *const ops[] = {"'+'", "'-'", "'*'", "'/'", "'%'", "'@'", "'<'", "'>'", "'<='",
                                      "'>='", "'=='", "'!='", "'&&'", "'||'", "'|'", "'^'", "'&'",
                                      "'<<'", "'>>'", "'['", "'('", "'else'", NULL};
    for (const char *const *o = ops; *o; o++)
        if (strcmp(yysymbol_name(k), *o) == 0)
            return true;
    return false;
}

// Tokens that can start an expression: summarized as "an expression".
static bool starts_expression(yysymbol_kind_t k) {
    static const char *const starts[] = {"identifier", "integer literal", "float literal", "type name",
                                         "'('", "'['", "'-'", "'!'", "'~'", "'true'", "'false'",
                                         "'inf'", "'nan'", "'where'", NULL};
    for (const char *const *o = starts; *o; o++)
        if (strcmp(yysymbol_name(k), *o) == 0)
            return true;
    return false;
}

// At end of file, points at the innermost '{' still open, like clang's "to match this '{'".
static void note_unclosed(Parser *P, yysymbol_kind_t found) {
    if (found == YYSYMBOL_YYEOF && P->nbraces > 0 && P->nbraces <= PARSE_MAX_BRACES)
        note_at(P->braces[P->nbraces - 1], "to match this '{'");
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *P) {
    (void)scanner;
    P->errors++;
    if (P->fatal)  // the input was cut short after a fatal error: the rest is noise
        return 0;
    yysymbol_kind_t all[YYNTOKENS];
    int nall = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
    yysymbol_kind_t found = yypcontext_token(ctx);
    Span at = *yypcontext_location(ctx);
    char found_text[64];
    token_text(&at, found, found_text, sizeof found_text);

    bool expr = false, wants_semi = false;
    for (int i = 0; i < nall; i++)
        expr = expr || strcmp(yysymbol_name(all[i]), "integer literal") == 0;
    const char *names[YYNTOKENS];
    int n = 0;
    if (expr)
        names[n++] = "an expression";
    bool only_continuations = !expr;
    for (int i = 0; i < nall; i++)
        only_continuations = only_continuations && continues_expression(all[i]);
    for (int i = 0; i < nall; i++) {
        if (expr && starts_expression(all[i]))
            continue;
        if (continues_expression(all[i]) && !only_continuations)
            continue;
        names[n++] = yysymbol_name(all[i]);
        wants_semi = wants_semi || strcmp(names[n - 1], "';'") == 0;
    }
    // Like clang, a ';' missing at the end of a line is reported just after the line's last token.
    if (wants_semi && P->prev_tok.file && P->prev_tok.line < at.line) {
        Span after = P->prev_tok;
        after.off += after.len;
        after.col += (int)after.len;
        after.len = 0;
        error_at(after, "expected ';' at end of line, found %s on the next line", found_text);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "'kernel'") == 0) {
            error_at(at, "expected a declaration ('kernel', 'fn', 'const' or 'import'), found %s", found_text);
            return 0;
        }
    }
    if (n == 0 || n > 4) {
        error_at(at, "unexpected %s", found_text);
        note_unclosed(P, found);
        return 0;
    }
    if (P->prev_tok.file && P->prev_tok.len == 3 && memcmp(P->prev_tok.file->text + P->prev_tok.off, "for", 3) == 0) {
        error_at(at, "expected the loop variable, found %s (a loop is written 'for i in start .. end { ... }')",
                 found_text);
        return 0;
    }
    if (n == 1 && strcmp(names[0], "'..'") == 0) {
        error_at(at, "expected '..', found %s (a range is written 'for i in start .. end step s')", found_text);
        return 0;
    }
    char exp[256];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(exp + len, sizeof exp - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                                names[i]);
    error_at(at, "expected %s, found %s", exp, found_text);
    note_unclosed(P, found);
    return 0;
}

/* ================================================================ entry points */

int yylex_init_extra(Parser *extra, yyscan_t *scanner);
int yylex_destroy(yyscan_t scanner);
struct yy_buffer_state *yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

static bool start(Parser *P, const SourceFile *file, NodeList *decls) {
    memset(P, 0, sizeof *P);
    P->file = file;
    P->line = 1;
    P->col = 1;
    P->decls = decls;
    return true;
}

bool parse_source(const SourceFile *file, NodeList *decls) {
    Parser P;
    start(&P, file, decls);
    yyscan_t scanner;
    if (yylex_init_extra(&P, &scanner) != 0)
        internal_error(__FILE__, __LINE__, "cannot initialize the lexer");
    yy_scan_bytes(file->text, (int)file->len, scanner);
    int rc = yyparse(scanner, &P);
    yylex_destroy(scanner);
    return rc == 0 && P.errors == 0;
}

bool parse_dump_tokens(const SourceFile *file, FILE *out) {
    Parser P;
    NodeList ignored = {0};
    start(&P, file, &ignored);
    yyscan_t scanner;
    if (yylex_init_extra(&P, &scanner) != 0)
        internal_error(__FILE__, __LINE__, "cannot initialize the lexer");
    yy_scan_bytes(file->text, (int)file->len, scanner);
    YYSTYPE val;
    YYLTYPE loc;
    for (;;) {
        int tok = yylex(&val, &loc, scanner, &P);
        yysymbol_kind_t kind = YYTRANSLATE(tok);
        char text[64];
        token_text(&loc, kind, text, sizeof text);
        fprintf(out, "%d:%d %s", loc.line, loc.col, yysymbol_name(kind));
        if (tok == INT)
            fprintf(out, " %lld", (long long)val.i);
        else if (tok == FLOAT)
            fprintf(out, " %.17g", val.f);
        else if (tok == IDENT || tok == STRING)
            fprintf(out, " \"%s\"", val.str);
        else if (tok == TYPE)
            fprintf(out, " %s", elem_name(val.elem));
        else if (tok == ASSIGN_OP)
            fprintf(out, " '%s='", binary_op_spelling(val.op));
        fputc('\n', out);
        if (tok == END || diag_should_stop())
            break;
    }
    yylex_destroy(scanner);
    return P.errors == 0;
}
