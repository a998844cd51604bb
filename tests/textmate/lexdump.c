/* lexdump: prints the tokens the compiler's lexer (grammar/lexer.l) reads
   in a .route file, so that tests/textmate/tokenize.mjs can hold the
   editors' TextMate grammar against the real lexer, token by token.  It
   drives the scanner alone, with no parser: the lexer's only state that
   depends on earlier tokens is 'value_end' (is a '/' division or a regex),
   which it keeps itself.

   Usage: lexdump FILE.  One line per token on standard output:
       LINE COL END_COL CLASS [MESSAGE]
   LINE and COL are 1-based, in bytes; END_COL is one past the token's last
   byte (a token never spans lines).  CLASS is keyword, name, string,
   regex, money, price, tokens, duration, percent, int, number, divide,
   op or bad (a character the lexer does not know); MESSAGE, when present,
   is the first error the lexer reported while reading the token.  Exit
   status 0, or 2 when the file cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parser.h"
#define YYSTYPE RV_YYSTYPE
#define YYLTYPE src_span
#include "lexer.h"

enum { MAX_SOURCE = 64 << 20 };   /* routec's cap on a .route source */

/* The whole of 'path' followed by two NULs, as the scanner wants it; the
   caller owns the buffer and frees it with free().  NULL on error. */
static char *read_source(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_SOURCE + 2);
    size_t n = buf ? fread(buf, 1, MAX_SOURCE + 1, f) : 0;
    int bad = !buf || ferror(f) || n > MAX_SOURCE;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = buf[n + 1] = 0;
    *len = n;
    return buf;
}

static const char *token_class(int tok)
{
    if ((tok >= IMPORT && tok <= ON) || (tok >= INPUT && tok <= CHECK))
        return "keyword";
    switch (tok) {
    case IDENT:    return "name";
    case STRING:   return "string";
    case REGEX:    return "regex";
    case MONEY:    return "money";
    case RATE:     return "price";
    case TOKLIT:   return "tokens";
    case DURATION: return "duration";
    case PERCENT:  return "percent";
    case INTLIT:   return "int";
    case NUMLIT:   return "number";
    case BADCHAR:  return "bad";
    case '/':      return "divide";
    default:       return "op";
    }
}

static int dump(char *text, size_t len)
{
    arena a = { 0 };
    src_set src = { 0 };   /* diagnostics are never printed: no texts */
    diag_ctx d;
    diag_init(&d, &src);
    parse_ctx ctx = { .arena = &a, .diag = &d };
    yyscan_t sc;
    int rc = 1;
    if (rv_yylex_init_extra(&ctx, &sc))
        goto out;
    uint32_t bom = (uint32_t)parse_bom(text, len);   /* (white space, as parse_source() reads it) */
    YY_BUFFER_STATE b = rv_yy_scan_buffer(text + bom, len - bom + 2, sc);
    if (b) {
        YYSTYPE v;
        src_span at = { .line = 1, .col = 1 + bom, .end_line = 1, .end_col = 1 + bom };
        unsigned seen = 0;
        int tok;
        while ((tok = rv_yylex(&v, &at, sc)) > 0 && !ctx.oom) {
            printf("%u %u %u %s", at.line, at.col, at.end_col, token_class(tok));
            for (; seen < d.n; seen++)
                if (d.v[seen].sev == SEV_ERROR) {
                    printf(" %s", d.v[seen].msg ? d.v[seen].msg : "(no message)");
                    seen = d.n;
                    break;
                }
            putchar('\n');
        }
        rc = ctx.oom;
        rv_yy_delete_buffer(b, sc);
    }
    rv_yylex_destroy(sc);
out:
    diag_free(&d);
    arena_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    size_t len;
    char *text = argc == 2 ? read_source(argv[1], &len) : NULL;
    if (!text) {
        if (argc == 2)
            fprintf(stderr, "lexdump: cannot read %s\n", argv[1]);
        else
            fprintf(stderr, "usage: lexdump FILE.route\n");
        return 2;
    }
    int rc = dump(text, len);
    free(text);
    if (rc)
        fprintf(stderr, "lexdump: out of memory\n");
    return rc ? 2 : 0;
}
