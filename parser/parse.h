// parser/parse.h — turning .tile text into an AST: the lexer's and parser's shared state,
// the token dump, and the program loader that follows imports.
#ifndef TILEC_PARSER_PARSE_H
#define TILEC_PARSER_PARSE_H

#include <stdio.h>

#include "../lang/ast.h"

#define PARSE_MAX_DEPTH 200        // deepest syntax tree accepted (expressions and blocks)
#define PARSE_MAX_NODES 500000     // syntax nodes in one compilation (a big kernel file has ~10^4)
#define PARSE_MAX_IMPORT_DEPTH 32  // longest chain of imports
#define PARSE_MAX_BRACES 256       // open braces remembered for notes
#define PARSE_MAX_FILE_BYTES (256u << 20)

// State shared by the lexer (yyextra) and the parser (parse-param) for one file.
typedef struct Parser {
    const SourceFile *file;
    uint32_t off;                   // byte offset of the next character
    int line, col;                  // position of the next character
    NodeList *decls;                // where top-level declarations go
    int errors;                     // syntax and lexical errors in this file
    bool too_deep;                  // a nesting error was reported (reported once per file)
    bool fatal;                     // stop parsing this file: the lexer returns end of file
    Span comment_start;             // where an open /* comment began
    Span prev_tok, cur_tok;         // the last two tokens read (for "expected ';'" placement)
    Span braces[PARSE_MAX_BRACES];  // open '{' (for "to match this '{'")
    int nbraces;
    bool dump_tokens;  // --emit=tokens: the lexer prints each token
    FILE *token_out;

    // For the hints about Python and Triton habits:
    int prev_kind, cur_kind;  // the kinds of prev_tok and cur_tok (parser.tab.h's numbers)
    Span last_in;             // the last 'in' (a Python 'for i in range(...)' header)
    Span slash_comment;       // the last '//' comment that followed an operand on its line
                              // and reads like code (Python's floor division 'a // b')
    int quiet_line;           // a hint explained an error on this line: syntax errors
                              // that follow on it are consequences, not reported
    // Open '(' (for tuples), with the token before each and its kind.
    Span parens[PARSE_MAX_BRACES];
    Span paren_prev[PARSE_MAX_BRACES];
    int paren_kind[PARSE_MAX_BRACES];
    int nparens;
} Parser;

// Hints for Triton and Python habits (parser/hints.c), shared by the lexer and the parser.

// The .tile element type of a Triton or NumPy dtype name ("float16", "tl.float32", "f16"...),
// EL_NONE if it is none.
ElemType hint_dtype(const char *s, size_t n);
// The offset of the ')' that closes the '(' at `open`, on the same line; 0 if there is none.
uint32_t hint_matching_paren(const SourceFile *f, uint32_t open);
// The text of the arguments of the call whose '(' is at `open`, split at top-level commas and
// trimmed: up to `max` of them, each at most 63 bytes; -1 if they do not close on the line or
// one is too long.
int hint_call_args(const SourceFile *f, uint32_t open, char args[][64], int max);
// "a .. b", "a .. b step s" for the arguments of Python's range(...) whose '(' is at `open`.
bool hint_range(const SourceFile *f, uint32_t open, char *out, size_t size);

// Parses one file's text, appending its declarations to `decls`. Returns false on errors
// (which have been reported).
bool parse_source(const SourceFile *file, NodeList *decls);

// Prints the tokens of one file, one per line ("line:col kind 'text'"). False on errors.
bool parse_dump_tokens(const SourceFile *file, FILE *out);

// Reads a file into a SourceFile; reports and returns NULL when it cannot (missing, a
// directory, too large). `from` (may be NULL) is the import that asked for it.
SourceFile *source_read(const char *path, const Node *from);
// A SourceFile over a buffer in memory (fuzzer, tests); the buffer is copied.
SourceFile *source_from_memory(const char *name, const char *data, size_t len);

typedef struct LoadOptions {
    const char **include_dirs;  // -I directories searched after the importing file's own
    int ninclude_dirs;
} LoadOptions;

// Parses `files` and everything they import (each file once; cycles are errors).
// Returns false when anything failed to read or parse.
bool load_program(Program *prog, SourceFile **files, int nfiles, const LoadOptions *opts);

#endif
