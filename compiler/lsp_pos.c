/* Positions: LSP counts lines from 0 and characters in UTF-16 code
   units (the protocol's default encoding, and the one this server
   announces); the compiler counts lines from 1 and columns in bytes of
   UTF-8.  A character outside the Basic Multilingual Plane (4 bytes of
   UTF-8) is two UTF-16 units, any other character one.  Positions past
   the end of a line stop at its end, as the protocol asks. */
#include <string.h>

#include "lsp_int.h"

/* Bytes in the UTF-8 sequence that starts with 'b', and its UTF-16 units. */
static size_t seq_len(unsigned char b, uint32_t *units)
{
    *units = 1;
    if (b >= 0xF0 && b < 0xF8) {
        *units = 2;
        return 4;
    }
    if (b >= 0xE0 && b < 0xF0)
        return 3;
    if (b >= 0xC0 && b < 0xE0)
        return 2;
    return 1;   /* ASCII, or a stray byte counted as one */
}

uint32_t lspp_units(const char *s, size_t n)
{
    uint32_t u = 0, k;
    for (size_t i = 0; i < n; u += k)
        i += seq_len((unsigned char)s[i], &k);
    return u;
}

size_t lspp_bytes(const char *s, size_t n, uint32_t units)
{
    size_t i = 0;
    uint32_t u = 0, k;
    while (i < n) {
        size_t l = seq_len((unsigned char)s[i], &k);
        if (u + k > units || i + l > n)
            break;
        u += k;
        i += l;
    }
    return i;
}

int lspp_line(const char *text, size_t len, uint32_t line, size_t *start, size_t *linelen)
{
    size_t b = 0;
    for (uint32_t l = 0; l < line; l++) {
        const char *nl = memchr(text + b, '\n', len - b);
        if (!nl)
            return -1;
        b = (size_t)(nl - text) + 1;
    }
    const char *nl = memchr(text + b, '\n', len - b);
    size_t e = nl ? (size_t)(nl - text) : len;
    if (e > b && text[e - 1] == '\r')
        e--;
    *start = b;
    *linelen = e - b;
    return 0;
}

json_t *lspp_position(uint32_t line, uint32_t character)
{
    return json_pack("{s:I,s:I}", "line", (json_int_t)line, "character", (json_int_t)character);
}

int lspp_read(const json_t *pos, uint32_t *line, uint32_t *character)
{
    json_t *l = json_object_get(pos, "line"), *c = json_object_get(pos, "character");
    if (!json_is_integer(l) || !json_is_integer(c) || json_integer_value(l) < 0 ||
        json_integer_value(l) > UINT32_MAX || json_integer_value(c) < 0 || json_integer_value(c) > UINT32_MAX)
        return -1;
    *line = (uint32_t)json_integer_value(l);
    *character = (uint32_t)json_integer_value(c);
    return 0;
}

/* (1-based line, 1-based byte column) to an LSP position */
static json_t *pos_of(rv_compiler *c, uint32_t file, uint32_t line, uint32_t col)
{
    if (line == 0)
        return lspp_position(0, 0);
    size_t n = 0;
    const char *s = src_line(&c->src, file, line, &n);
    size_t bytes = col > 0 ? col - 1 : 0;
    if (!s)
        n = 0, s = "";
    if (bytes > n)
        bytes = n;
    return lspp_position(line - 1, lspp_units(s, bytes));
}

json_t *lspp_range(rv_compiler *c, src_span at)
{
    uint32_t el = at.end_line ? at.end_line : at.line, ec = at.end_line ? at.end_col : at.col;
    return json_pack("{s:o,s:o}", "start", pos_of(c, at.file, at.line, at.col), "end", pos_of(c, at.file, el, ec));
}
