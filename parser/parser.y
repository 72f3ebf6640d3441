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
static Node *power(Parser *P, Node *a, Node *b, Span all, Span op);

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
%token ANDAND "'&&'" OROR "'||'" SHL "'<<'" SHR "'>>'" POW "'**'"

%type <node> decl kernel_decl func_decl const_decl import_decl param type_expr tune_item
%type <node> block stmt if_stmt expr postfix primary index_item arg pad opt_type opt_ret
%type <node> opt_step opt_strides
%type <list> stmts params params_opt param_list kernel_clauses tune_list expr_list
%type <list> args args_opt index_list list_items target_list
%type <i> opt_out
%type <str> name

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
%right POW                     /* not .tile: Python's power, reported with its pow() spelling */

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
    : CONST name opt_type '=' expr ';'
                                { $$ = named(ND_CONST, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    ;

/* ---------------------------------------------------------------- kernels and functions */

kernel_decl
    : KERNEL name '(' params_opt ')' kernel_clauses block
                                { $$ = named(ND_KERNEL, @$, $2, @2); $$->args = $4; $$->body = $7;
                                  split_clauses($$, $6); $$ = fin(P, $$); }
    ;

/* Clauses arrive in one list in source order: ND_TUNE items, and ND_LIST nodes named
   "where", "prefer" and "grid"; split_clauses() sorts them into the kernel's fields. */
kernel_clauses
    : %empty                    { $$ = (NodeList){0}; }
    | kernel_clauses TUNE tune_list
                                { $$ = $1; for (int i = 0; i < $3.len; i++) ast_push(&$$, $3.items[i]); }
    | kernel_clauses WHERE expr_list
                                { $$ = $1; Node *w = mk(ND_LIST, @2); w->name = "where"; w->args = $3; ast_push(&$$, w); }
    | kernel_clauses GRID '(' expr_list ')'
                                { $$ = $1; Node *g = mk(ND_LIST, @2); g->name = "grid"; g->args = $4; ast_push(&$$, g); }
    /* `prefer` is a clause name only here (a contextual keyword, like `step`). */
    | kernel_clauses IDENT expr_list
                                { $$ = $1;
                                  if (strcmp($2, "prefer") != 0)
                                      error_at(@2, "unknown kernel clause '%s' (the clauses are 'tune', 'where', "
                                               "'prefer' and 'grid', before the body's '{')", $2);
                                  Node *w = mk(ND_LIST, @2); w->name = "prefer"; w->args = $3; ast_push(&$$, w); }
    ;

tune_list
    : tune_item                 { $$ = list1($1); }
    | tune_list ',' tune_item   { $$ = list_add($1, $3); }
    ;

tune_item
    : name IN '{' expr_list '}'
                                { $$ = with_list(named(ND_TUNE, @$, $1, @1), $4); $$ = fin(P, $$); }
    ;

func_decl
    : FN name '(' params_opt ')' opt_ret block
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
    : name                      { $$ = named(ND_PARAM, @$, $1, @1); }
    | name ':' opt_out type_expr opt_strides
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
    | '[' expr ']' type_expr    { $$ = mk(ND_TYPEEXPR, @$); $$->init = $2; $$->base = $4; $$->elem = $4->elem; $$ = fin(P, $$); }
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
    : LET name opt_type '=' expr ';'
                                { $$ = named(ND_LET, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    | VAR name opt_type '=' expr ';'
                                { $$ = named(ND_VAR, @$, $2, @2); $$->ty = $3; $$->init = $5; $$ = fin(P, $$); }
    | LET '(' target_list ')' '=' expr ';'
                                { $$ = with_list(mk(ND_UNPACK, @$), $3); $$->op = UNPACK_LET; $$->init = $6; $$->nspan = @5; $$ = fin(P, $$); }
    | VAR '(' target_list ')' '=' expr ';'
                                { $$ = with_list(mk(ND_UNPACK, @$), $3); $$->op = UNPACK_VAR; $$->init = $6; $$->nspan = @5; $$ = fin(P, $$); }
    | '(' name ',' target_list ')' '=' expr ';'
                                { NodeList l = list1(named(ND_NAME, @2, $2, @2));
                                  for (int i = 0; i < $4.len; i++) l = list_add(l, $4.items[i]);
                                  $$ = with_list(mk(ND_UNPACK, @$), l); $$->op = UNPACK_ASSIGN; $$->init = $7; $$->nspan = @6; $$ = fin(P, $$); }
    | postfix '=' expr ';'      { $$ = mk(ND_ASSIGN, @$); $$->op = OP_NONE; $$->lhs = $1; $$->rhs = $3; $$->nspan = @2; $$ = fin(P, $$); }
    | postfix ASSIGN_OP expr ';'
                                { $$ = mk(ND_ASSIGN, @$); $$->op = $2; $$->lhs = $1; $$->rhs = $3; $$->nspan = @2; $$ = fin(P, $$); }
    | expr ';'                  { $$ = mk(ND_EXPR_STMT, @$); $$->lhs = $1; $$ = fin(P, $$); }
    | FOR error block           { $$ = NULL; }  /* e.g. a C-style header: resume at the body */
    | WHILE error block         { $$ = NULL; }
    | FOR name IN expr DOTDOT expr opt_step block
                                { $$ = named(ND_FOR, @$, $2, @2); $$->init = $4; $$->limit = $6; $$->step = $7;
                                  $$->body = $8; $$ = fin(P, $$); }
    | WHILE expr block          { $$ = mk(ND_WHILE, @$); $$->cond = $2; $$->body = $3; $$ = fin(P, $$); }
    | if_stmt
    | RETURN ';'                { $$ = mk(ND_RETURN, @$); }
    | RETURN expr ';'           { $$ = mk(ND_RETURN, @$); $$->init = $2; $$ = fin(P, $$); }
    | RETURN '(' expr ',' expr_list ')' ';'
                                { NodeList l = list1($3);
                                  for (int i = 0; i < $5.len; i++) l = list_add(l, $5.items[i]);
                                  Span t = span_join(@2, @6);
                                  $$ = mk(ND_RETURN, @$); $$->init = fin(P, with_list(mk(ND_TUPLE, t), l)); $$ = fin(P, $$); }
    | block
    | error                     { $$ = NULL; }
    /* Recovery that keeps the next statement: a statement broken after its expression
       (a missing ';', a dangling operator) ends there. */
    | LET name opt_type '=' error
                                { $$ = NULL; }
    | VAR name opt_type '=' error
                                { $$ = NULL; }
    | postfix '=' error         { $$ = NULL; }
    | postfix ASSIGN_OP error   { $$ = NULL; }
    | RETURN error              { $$ = NULL; }
    | expr error                { $$ = NULL; }
    ;

/* The names of 'let (a, b) = f(...);' and its kin. */
target_list
    : name                      { $$ = list1(named(ND_NAME, @1, $1, @1)); }
    | target_list ',' name      { $$ = list_add($1, named(ND_NAME, @3, $3, @3)); }
    ;

opt_step
    : %empty                    { $$ = NULL; }
    | STEP expr                 { $$ = $2; }
    ;

/* 'step' is a keyword only after the range of a 'for' header: elsewhere it is a name. */
name
    : IDENT
    | STEP                      { $$ = ast_strndup("step", 4); }
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
    | expr POW expr             { $$ = power(P, $1, $3, @$, @2); }
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
    | name                      { $$ = named(ND_NAME, @$, $1, @1); }
    | TYPE                      { $$ = mk(ND_TYPENAME, @$); $$->elem = $1; }
    | TYPE '(' args_opt ')'     { $$ = with_list(mk(ND_CAST, @$), $3); $$->elem = $1; $$->nspan = @1; $$ = fin(P, $$); }
    | name '(' args_opt ')'     { $$ = with_list(named(ND_CALL, @$, $1, @1), $3); $$ = fin(P, $$); }
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
    | name '=' expr             { $$ = named(ND_KWARG, @$, $1, @1); $$->rhs = $3; $$ = fin(P, $$); }
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
        } else if (strcmp(c->name, "prefer") == 0) {
            for (int j = 0; j < c->args.len; j++)
                ast_push(&k->prefers, c->args.items[j]);
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

// The source text of span `s` (false when it is empty, too long or spans lines).
static bool span_text(Span s, char *buf, size_t size) {
    if (!s.file || s.len == 0 || s.len >= size || memchr(s.file->text + s.off, '\n', s.len))
        return false;
    memcpy(buf, s.file->text + s.off, s.len);
    buf[s.len] = '\0';
    return true;
}

// Python's a ** b, which .tile spells pow(a, b): reported here, with that spelling.
static Node *power(Parser *P, Node *a, Node *b, Span all, Span op) {
    P->errors++;
    error_range(op, all, "'**' is not an operator in .tile");
    char x[64], y[64];
    if (span_text(a->span, x, sizeof x) && span_text(b->span, y, sizeof y))
        note_at(all, "a power is written pow(%s, %s)", x, y);
    else
        note_at(all, "a power is written pow(a, b)");
    return ast_new(ND_ERROR, all);
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
    const NodeList *lists[] = {&n->args, &n->kwargs, &n->tunes, &n->wheres, &n->prefers, &n->grid};
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
    P->prev_kind = P->cur_kind;
    P->cur_tok = *loc;
    P->cur_kind = tok;
    if (tok == IN)
        P->last_in = *loc;
    if (tok == '(') {
        if (P->nparens < PARSE_MAX_BRACES) {
            P->parens[P->nparens] = *loc;
            P->paren_kind[P->nparens] = P->prev_kind;
            P->paren_prev[P->nparens] = P->prev_tok;
        }
        P->nparens++;
    } else if (tok == ')' && P->nparens > 0) {
        P->nparens--;
    }
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
                                      "'<<'", "'>>'", "'['", "'('", "'else'", "'**'", NULL};
    for (const char *const *o = ops; *o; o++)
        if (strcmp(yysymbol_name(k), *o) == 0)
            return true;
    return false;
}

// Tokens that can start an expression: summarized as "an expression".
static bool starts_expression(yysymbol_kind_t k) {
    static const char *const starts[] = {"identifier", "integer literal", "float literal", "type name",
                                         "'('", "'['", "'-'", "'!'", "'~'", "'true'", "'false'",
                                         "'inf'", "'nan'", "'where'", "'step'", NULL};
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

// Prints the syntax error itself: "expected X, found Y", with its notes.
static void report_syntax_error(const yypcontext_t *ctx, Parser *P, Span at) {
    yysymbol_kind_t all[YYNTOKENS];
    int nall = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
    yysymbol_kind_t found = yypcontext_token(ctx);
    char found_text[64];
    token_text(&at, found, found_text, sizeof found_text);

    bool expr = false, wants_semi = false, ident = false;
    for (int i = 0; i < nall; i++) {
        expr = expr || strcmp(yysymbol_name(all[i]), "integer literal") == 0;
        ident = ident || all[i] == YYSYMBOL_IDENT;
    }
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
        if ((all[i] == YYSYMBOL_STEP && ident) || all[i] == YYSYMBOL_POW)  // 'step' is a name there too;
            continue;                                                     // '**' is no .tile operator
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
        return;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "'kernel'") == 0) {
            error_at(at, "expected a declaration ('kernel', 'fn', 'const' or 'import'), found %s", found_text);
            return;
        }
    }
    if (n == 0 || n > 4) {
        error_at(at, "unexpected %s", found_text);
        note_unclosed(P, found);
        return;
    }
    if (P->prev_tok.file && P->prev_tok.len == 3 && memcmp(P->prev_tok.file->text + P->prev_tok.off, "for", 3) == 0) {
        error_at(at, "expected the loop variable, found %s (a loop is written 'for i in start .. end { ... }')",
                 found_text);
        return;
    }
    if (n == 1 && strcmp(names[0], "'..'") == 0) {
        error_at(at, "expected '..', found %s (a range is written 'for i in start .. end step s')", found_text);
        return;
    }
    char exp[256];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(exp + len, sizeof exp - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                                names[i]);
    error_at(at, "expected %s, found %s", exp, found_text);
    note_unclosed(P, found);
}

// ---------------------------------------------------------------- hints for Python and Triton habits

// Whether the token at `s` is the word `w`.
static bool token_is(Span s, const char *w) {
    return s.file && s.len == strlen(w) && memcmp(s.file->text + s.off, w, s.len) == 0;
}

// A span of `len` bytes at offset `off` of the line of `base` (which is on that line).
static Span span_on_line(Span base, uint32_t off, uint32_t len) {
    base.col += (int)off - (int)base.off;
    base.off = off;
    base.len = len;
    return base;
}

// The trimmed text of [a, b) into buf (false if empty or too long).
static bool text_between(const SourceFile *f, uint32_t a, uint32_t b, char *buf, size_t size) {
    while (a < b && (f->text[a] == ' ' || f->text[a] == '\t'))
        a++;
    while (b > a && (f->text[b - 1] == ' ' || f->text[b - 1] == '\t'))
        b--;
    if (a == b || b - a >= size)
        return false;
    memcpy(buf, f->text + a, b - a);
    buf[b - a] = '\0';
    return true;
}

// Python's conditional expression "a if c else b", the 'if' at `at`: where(c, a, b), with the
// three operands read back from the line when they can be delimited.
static void note_conditional(Parser *P, Span at) {
    const SourceFile *f = P->file;
    // a: back from the 'if' to an '=' (not part of a comparison), an unclosed '(' or '[', a
    // ',' or the start of the line.
    uint32_t a = at.off;
    int depth = 0;
    for (; a > 0 && f->text[a - 1] != '\n'; a--) {
        char c = f->text[a - 1], before = a >= 2 ? f->text[a - 2] : ' ';
        if (c == ')' || c == ']')
            depth++;
        else if ((c == '(' || c == '[') && depth-- == 0)
            break;
        else if (depth == 0 && (c == ',' || c == ';' || c == '{' ||
                                (c == '=' && !strchr("=<>!", before) && f->text[a] != '=')))
            break;
    }
    // c: up to the 'else'; b: up to a ';', ',' or unclosed ')' or ']', or the end of the line.
    uint32_t e = at.off + at.len, end = e;
    while (end < f->len && f->text[end] != '\n' &&
           !(end + 6 <= f->len && memcmp(f->text + end, " else ", 6) == 0))
        end++;
    uint32_t b = end + 6;
    depth = 0;
    for (; b < f->len && f->text[b] != '\n'; b++) {
        char c = f->text[b];
        if (c == '(' || c == '[')
            depth++;
        else if ((c == ')' || c == ']') && depth-- == 0)
            break;
        else if (depth == 0 && (c == ';' || c == ',' || c == '{'))
            break;
    }
    char x[64], cond[64], y[64];
    if (end < f->len && f->text[end] == ' ' && text_between(f, a, at.off, x, sizeof x) &&
        text_between(f, e, end, cond, sizeof cond) && text_between(f, end + 6, b, y, sizeof y)) {
        const char *v = strncmp(x, "return ", 7) == 0 ? x + 7 : x;
        note_at(at, "there is no conditional expression 'a if c else b' in .tile; write where(%s, %s, %s)",
                cond, v, y);
    } else {
        note_at(at, "there is no conditional expression 'a if c else b' in .tile; write where(c, a, b)");
    }
}

// Python's tuple where .tile has a list: "zeros((16, 16))" is zeros(f32, [16, 16]). The
// innermost open '(' groups (it does not call) and the error is at a ',' inside it.
static bool note_tuple(Parser *P) {
    int top = P->nparens - 1;
    if (top < 0 || top >= PARSE_MAX_BRACES)
        return false;
    int k = P->paren_kind[top];
    if (k == IDENT || k == STEP || k == TYPE || k == WHERE)
        return false;
    char items[8][64], list[8 * 66 + 2] = "[";
    int n = hint_call_args(P->file, P->parens[top].off, items, 8);
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", items[i]);
    strcat(list, "]");
    // The tuple as the first argument of zeros, ones or full.
    Span callee = top > 0 ? P->paren_prev[top - 1] : (Span){0};
    bool fill = top > 0 && P->paren_kind[top - 1] == IDENT &&
                P->paren_prev[top].off == P->parens[top - 1].off &&
                (token_is(callee, "zeros") || token_is(callee, "ones") || token_is(callee, "full"));
    if (fill && n > 0) {
        char args[4][64];
        int na = hint_call_args(P->file, P->parens[top - 1].off, args, 4);
        ElemType e = EL_NONE;
        const char *value = "v";
        for (int i = 1; i < na; i++) {
            const char *v = args[i];
            if (strncmp(v, "dtype", 5) == 0 && strchr(v, '='))
                v = strchr(v, '=') + 1;
            while (*v == ' ')
                v++;
            ElemType t = hint_dtype(v, strlen(v));
            if (t != EL_NONE)
                e = t;
            else if (i == 1)
                value = args[i];
        }
        char name[8];
        span_text(callee, name, sizeof name);
        const char *t = elem_name(e != EL_NONE ? e : EL_F32);
        const char *why = "a shape is a list in .tile, after the element type";
        if (name[0] == 'f')
            note_at(P->parens[top], "%s: write full(%s, %s, %s)", why, t, list, value);
        else
            note_at(P->parens[top], "%s: write %s(%s, %s)", why, name, t, list);
    } else if (n > 0) {
        note_at(P->parens[top], "a tuple is not a value in .tile; a shape is a list: %s", list);
    } else {
        note_at(P->parens[top], "a tuple is not a value in .tile; a shape is a list: [a, b]");
    }
    return true;
}

// Notes for syntax errors that Python and Triton habits cause, after the error itself.
static void note_habits(const yypcontext_t *ctx, Parser *P, Span at) {
    yysymbol_kind_t found = yypcontext_token(ctx);
    // "pid // 2;": the comment swallowed the rest of the line, usually its ';'.
    if (P->slash_comment.file && P->slash_comment.off > P->prev_tok.off && P->slash_comment.off < at.off) {
        note_at(P->slash_comment, "'//' starts a comment in .tile; to divide, write '/' (on integers it "
                                  "truncates toward zero)");
        return;
    }
    if (found == YYSYMBOL_IF && P->prev_tok.line == at.line &&
        (P->prev_kind == IDENT || P->prev_kind == INT || P->prev_kind == FLOAT || P->prev_kind == ')' ||
         P->prev_kind == ']' || P->prev_kind == TRUE || P->prev_kind == FALSE || P->prev_kind == INF)) {
        note_conditional(P, at);
        P->quiet_line = at.line;
        return;
    }
    if (found == (yysymbol_kind_t)YYTRANSLATE(',') && note_tuple(P)) {
        P->quiet_line = at.line;
        return;
    }
    if ((found == YYSYMBOL_IDENT && (token_is(at, "and") || token_is(at, "or"))) ||
        (P->prev_kind == IDENT && token_is(P->prev_tok, "not"))) {
        note_at(found == YYSYMBOL_IDENT && !token_is(P->prev_tok, "not") ? at : P->prev_tok,
                "the logical operators of .tile are '&&', '||' and '!'");
        return;
    }
    yysymbol_kind_t all[YYNTOKENS];
    int nall = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
    bool decl = false, range = false;
    for (int i = 0; i < nall; i++) {
        decl = decl || all[i] == YYSYMBOL_KERNEL;
        range = range || all[i] == YYSYMBOL_DOTDOT;
    }
    if (found == YYSYMBOL_IDENT && P->prev_kind == IMPORT) {
        char name[64];
        if (span_text(at, name, sizeof name))
            note_at(at, "an imported file is named by a string literal: import \"%s\";", name);
        return;
    }
    if (decl && token_is(at, "def")) {
        note_at(at, "a kernel is declared 'kernel NAME(PARAMS) { ... }', a helper 'fn NAME(PARAMS) { ... }'");
        return;
    }
    // "for i in range(0, N, B)": .tile's range is "0 .. N step B".
    if (range && P->last_in.file && P->last_in.line == at.line) {
        uint32_t w = P->last_in.off + P->last_in.len;
        while (w < P->file->len && P->file->text[w] == ' ')
            w++;
        char r[160];
        const char *t = P->file->text + w;
        if (w + 5 < P->file->len && memcmp(t, "range(", 6) == 0 && hint_range(P->file, w + 5, r, sizeof r))
            note_at(span_on_line(P->last_in, w, 5), "there is no 'range' in .tile; write 'for i in %s'", r);
    }
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, Parser *P) {
    (void)scanner;
    P->errors++;
    if (P->fatal)  // the input was cut short after a fatal error: the rest is noise
        return 0;
    Span at = *yypcontext_location(ctx);
    if (at.line == P->quiet_line)  // a consequence of an error on this line that a hint explained
        return 0;
    report_syntax_error(ctx, P, at);
    note_habits(ctx, P, at);
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
