/* Driving the flex scanner and bison parser over one file, plus the
   literal helpers the lexer uses.  See parse.h. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "parser.h"
#define YYSTYPE RV_YYSTYPE
#define YYLTYPE src_span
#include "lexer.h"

int parse_source(parse_ctx *ctx, char *text, size_t len)
{
    yyscan_t sc;
    if (rv_yylex_init_extra(ctx, &sc)) {
        ctx->oom = 1;
        return -1;
    }
    unsigned errs = ctx->diag->nerr;
    size_t bom = parse_bom(text, len);
    ctx->first_col = 1 + (uint32_t)bom;
    YY_BUFFER_STATE b = len <= INT_MAX - 2 ? rv_yy_scan_buffer(text + bom, len - bom + 2, sc) : NULL;
    if (!b) {
        rv_yylex_destroy(sc);
        ctx->oom = 1;
        return -1;
    }
    ctx->value_end = 0;
    int r = rv_yyparse(sc, ctx);
    rv_yy_delete_buffer(b, sc);
    rv_yylex_destroy(sc);
    if (ctx->oom)
        return -1;
    return r == 0 && ctx->diag->nerr == errs ? 0 : -1;
}

size_t parse_bom(const char *text, size_t len)
{
    return len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

char *parse_name(parse_ctx *ctx, const char *s, size_t n)
{
    return ctx->names ? arena_intern(ctx->arena, ctx->names, s, n) : arena_strndup(ctx->arena, s, n);
}

/* Report the first byte that breaks UTF-8 (RFC 3629: no overlongs, no
   surrogates, nothing above U+10FFFF) or is a NUL. */
int parse_check_utf8(parse_ctx *ctx, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t line = 1, col = 1;
    /* fast path: ASCII without NUL, eight bytes at a time */
    size_t i = 0;
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))
            break;
        i += 8;
    }
    while (i < len && s[i] && s[i] < 0x80)
        i++;
    if (i == len)
        return 0;
    /* slow path from the start, to know lines and columns */
    for (i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = n && c != 0 && i + n <= len;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; ok && k < n; k++) {
            ok = (s[i + k] & 0xc0) == 0x80;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (ok && n > 1)
            ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000)
              && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        if (!ok) {
            src_span at = { ctx->file, line, col, line, col + 1 };
            diag_report(ctx->diag, DG_BAD_UTF8, at, c == 0 ? "NUL byte in source"
                                                            : "invalid UTF-8 byte 0x%02x", c);
            diag_hint(ctx->diag, "policies are UTF-8 text; convert with iconv -t UTF-8");
            return -1;
        }
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col += (uint32_t)n;
        }
        i += n;
    }
    return 0;
}

/* Parse a decimal "123_456.789" into value * 10^decimals * mul, exactly.
   Returns 0, -1 on overflow, -2 when the fraction has more significant
   digits than 'decimals' allows after multiplying by 'mul' (a power of ten
   or 60 * 10^k). */
int parse_scaled(const char *s, size_t n, int decimals, int64_t mul, int64_t *out)
{
    __int128 v = 0;
    int frac = -1;           /* digits after the point, -1 before it */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        if (s[i] == '.') {
            if (frac >= 0)
                return -2;
            frac = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
        if (frac >= 0)
            frac++;
        if (v > (__int128)INT64_MAX * 1000000000000LL)
            return -1;
    }
    if (frac < 0)
        frac = 0;
    /* value = v / 10^frac * 10^decimals * mul */
    v *= mul;
    int shift = decimals - frac;
    for (; shift > 0; shift--) {
        v *= 10;
        if (v > INT64_MAX)
            return -1;
    }
    for (; shift < 0; shift++) {
        if (v % 10)
            return -2;
        v /= 10;
    }
    if (v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}
