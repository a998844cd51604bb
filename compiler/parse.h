/* The parser's context and entry point: one call parses one source file
   into a list of declarations.  grammar/lexer.l and grammar/parser.y share
   this context; everything they allocate lives in 'arena'. */
#ifndef RV_PARSE_H
#define RV_PARSE_H

#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

typedef struct {
    arena *arena;
    diag_ctx *diag;
    uint32_t file;
    ast *head, *tail;     /* declarations parsed so far */
    arena_strset *names;  /* names are interned here (the compilation's); NULL: each one copied */
    int value_end;        /* last token ended a value: '/' is division, not a regex */
    int recovered;        /* a syntax error skipped text (declarations may be missing) */
    uint32_t first_col;   /* the column the scanner starts at: 4 after a byte-order mark (parse_source) */
    int oom;
} parse_ctx;

/* The bytes of a UTF-8 byte-order mark at the start of 'text' (3), or 0:
   editors on Windows save one, and it is read as white space. */
size_t parse_bom(const char *text, size_t len);

/* Parse 'len' bytes of 'text', which must be followed by two NULs (at
   'len' and 'len' + 1, as src_add() leaves them): the scanner works in
   the caller's buffer, without a copy of its own, writing a byte and
   putting it back as it goes -- 'text' is as it was when this returns.
   Declarations are appended to ctx->head; errors go to ctx->diag.
   Returns 0 when the file parsed without syntax errors. */
int parse_source(parse_ctx *ctx, char *text, size_t len);

/* Check that 'text' is valid UTF-8 (no overlongs, surrogates or NULs);
   reports the first bad byte.  Returns 0 when valid. */
int parse_check_utf8(parse_ctx *ctx, const char *text, size_t len);

/* The value of a numeric literal the lexer rejected (and reported): the
   checker treats it as already wrong, so one bad literal is one
   diagnostic.  No literal reads as it: literals are never negative. */
#define PARSE_BAD_LITERAL INT64_MIN

/* The lexer's copy of a name, s[0..n): one copy per distinct name when
   ctx->names is set (a big policy names the same fields and models
   millions of times).  NULL when out of memory. */
char *parse_name(parse_ctx *ctx, const char *s, size_t n);

/* The i-th keyword of the language (soft ones included), NULL past the
   last: for editors' completion.  A static string. */
const char *parse_keyword(unsigned i);

/* Literal helpers shared by the lexer (exposed for tests). */
int parse_scaled(const char *s, size_t n, int decimals, int64_t mul, int64_t *out);

#endif
