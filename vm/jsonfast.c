/* The one-pass JSON reader; see jsonfast.h.

   A loop over three places in the grammar -- a value, a key, after a
   value -- with the open containers on a byte stack (no recursion).
   What yajl does at each token, and so what this must match
   (yajl 2.1, src/yajl_lex.c and src/yajl_parser.c):
   - whitespace: yajl also skips '\v' and '\f'; here they decline;
   - a literal: "true", "false", "null" with nothing checked after it
     (what follows is the next token's business);
   - a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, read as
     far as it goes ("01" is the number 0, then a token "1");
   - a string: bytes >= 0x20 but '"' and '\\'; escapes \" \\ \/ \b \f
     \n \r \t and \u with four hex digits, a high surrogate followed by
     an escaped low one being one code point;
   - a key's call comes before its ':' is read, a value's before the ','
     or the closing bracket after it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jsonfast.h"
#include "jsonscan.h"
#include "mem.h"

/* The stop of a string's body: the first '"', '\\' or byte below 0x20
   at or after p, or e. */
static inline const char *str_stop(const char *p, const char *e)
{
#ifdef __SSE2__
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1f);
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < e && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
        p++;
    return p;
}

static inline const char *skip_ws(const char *p, const char *e)
{
    if (p < e && (unsigned char)*p > ' ')      /* most tokens: none */
        return p;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* The code point of the \u escape at p (p[0] == '\\', p[1] == 'u'),
   with its length in *len (6, or 12 for a surrogate pair); -1 to
   decline (bad hex, \u0000, an unpaired surrogate: yajl's to judge). */
static long uescape(const char *p, const char *e, int *len)
{
    if (e - p < 6)
        return -1;
    long cp = js_hex4(p + 2);
    if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return -1;
    *len = 6;
    if (cp < 0xD800 || cp > 0xDBFF)
        return cp;
    if (e - p < 12 || p[6] != '\\' || p[7] != 'u')
        return -1;
    long lo = js_hex4(p + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return -1;
    *len = 12;
    return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
}

/* An escaped string's body from p (just past the opening quote) to its
   closing quote: checked, the quote's address in *end and the bytes its
   escapes save in *less (its decoded length is (*end - p) - *less); 0 to
   decline. */
static int escaped_end(const char *p, const char *e, const char **end, size_t *less)
{
    size_t saved = 0;
    for (;;) {
        p = str_stop(p, e);
        if (p == e || (unsigned char)*p < 0x20)
            return 0;
        if (*p == '"') {
            *end = p;
            *less = saved;
            return 1;
        }
        if (e - p < 2)
            return 0;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            saved++;
            break;
        case 'u': {
            int len;
            long cp = uescape(p, e, &len);
            if (cp < 0)
                return 0;
            p += len;
            /* six bytes for one to three, twelve (a pair) for four */
            saved += len == 12 ? 8 : cp < 0x80 ? 5 : cp < 0x800 ? 4 : 3;
            break;
        }
        default:
            return 0;
        }
    }
}

/* Decodes the checked body [p, end), which holds an escape (so is not
   empty), into d, which has room for its decoded length (escaped_end's);
   that length. */
static size_t decode(const char *p, const char *end, char *d)
{
    char *d0 = d;
    do {
        const char *b = memchr(p, '\\', (size_t)(end - p));
        if (!b)
            b = end;
        memcpy(d, p, (size_t)(b - p));
        d += b - p;
        p = b;
        if (p == end)
            break;
        char c = p[1];
        if (c == 'u') {
            int len;
            long cp = uescape(p, end, &len);
            if (cp < 0x80) {
                *d++ = (char)cp;
            } else if (cp < 0x800) {
                *d++ = (char)(0xC0 | cp >> 6);
                *d++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *d++ = (char)(0xE0 | cp >> 12);
                *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *d++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *d++ = (char)(0xF0 | cp >> 18);
                *d++ = (char)(0x80 | (cp >> 12 & 0x3F));
                *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
                *d++ = (char)(0x80 | (cp & 0x3F));
            }
            p += len;
            continue;
        }
        *d++ = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
        p += 2;
    } while (p < end);
    return (size_t)(d - d0);
}

/* A number's end from p (at '-' or a digit), or NULL to decline. */
static const char *number_end(const char *p, const char *e)
{
    if (*p == '-' && ++p == e)
        return NULL;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    else
        return NULL;
    if (p < e && *p == '.') {
        if (++p == e || *p < '0' || *p > '9')
            return NULL;
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p == e || *p < '0' || *p > '9')
            return NULL;
        while (++p < e && *p >= '0' && *p <= '9')
            ;
    }
    /* yajl needs a byte after a number to know it has ended; at the end
       of the text it waits for more */
    return p < e ? p : NULL;
}

/* The string (a key when is_key) whose opening quote is at *pp, which
   has an escape: checked, decoded into the caller's memory (rd->room),
   or else into a buffer on this frame or, when longer, one of its own
   freed once the call returns, and its call made, *pp then just past
   it; JF_DONE when the read goes on.  Apart from jf_parse, whose
   registers are then all its loop's: most strings have no escape. */
static __attribute__((noinline)) jf_result escaped(jf_reader *rd, const yajl_callbacks *cb, void *ctx,
                                                    const char *s, const char *e, const char **pp, int is_key)
{
    const char *b = *pp + 1, *q;
    size_t less;
    if (!escaped_end(b, e, &q, &less))
        return JF_DECLINED;
    size_t dn = (size_t)(q - b) - less;
    int (*f)(void *, const unsigned char *, size_t) = is_key ? cb->yajl_map_key : cb->yajl_string;
    *pp = q + 1;
    rd->pos = (size_t)(q + 1 - s);
    if (!f)     /* only a call that is made needs the string decoded */
        return JF_DONE;
    char small[256], *d;
    if (rd->room) {
        if (!(d = rd->room(ctx, dn)))
            return JF_STOPPED;      /* refused: as a callback's 0, before the call */
    } else if (!(d = dn <= sizeof small ? small : mem_malloc(dn))) {
        return JF_DECLINED;
    }
    int ok = f(ctx, (const unsigned char *)d, decode(b, q, d));
    if (d != small && !rd->room)
        free(d);
    return ok ? JF_DONE : JF_STOPPED;
}

#define OBJ 1
#define ARR 0

jf_result jf_parse(jf_reader *rd, const yajl_callbacks *cb, void *ctx, const char *s, size_t n)
{
    const char *p = s, *e = s + n;
    uint8_t stack[JF_MAX_DEPTH];
    size_t depth = 0;
    jf_result st;

/* a call yajl makes at this token, p just past it */
#define CALL(f, ...)                                      \
    do {                                                  \
        if (cb->f) {                                      \
            rd->pos = (size_t)(p - s);                    \
            if (!cb->f(__VA_ARGS__))                      \
                return JF_STOPPED;                        \
        }                                                 \
    } while (0)

    p = skip_ws(p, e);
    if (p == e || (*p != '{' && *p != '['))
        return JF_DECLINED;
value:
    switch (*p) {
    case '{':
        if (depth == JF_MAX_DEPTH)
            return JF_DECLINED;
        stack[depth++] = OBJ;
        p++;
        CALL(yajl_start_map, ctx);
        p = skip_ws(p, e);
        if (p < e && *p == '}') {
            p++;
            depth--;
            CALL(yajl_end_map, ctx);
            goto after;
        }
        goto key;
    case '[':
        if (depth == JF_MAX_DEPTH)
            return JF_DECLINED;
        stack[depth++] = ARR;
        p++;
        CALL(yajl_start_array, ctx);
        p = skip_ws(p, e);
        if (p == e)
            return JF_DECLINED;
        if (*p == ']') {
            p++;
            depth--;
            CALL(yajl_end_array, ctx);
            goto after;
        }
        goto value;
    case '"': {
        const char *b = p + 1, *q = str_stop(b, e);
        if (q == e)
            return JF_DECLINED;
        if (*q == '"') {
            p = q + 1;
            CALL(yajl_string, ctx, (const unsigned char *)b, (size_t)(q - b));
            goto after;
        }
        goto escaped_value;
    }
    case 't':
        if (e - p < 4 || memcmp(p, "true", 4) != 0)
            return JF_DECLINED;
        p += 4;
        CALL(yajl_boolean, ctx, 1);
        goto after;
    case 'f':
        if (e - p < 5 || memcmp(p, "false", 5) != 0)
            return JF_DECLINED;
        p += 5;
        CALL(yajl_boolean, ctx, 0);
        goto after;
    case 'n':
        if (e - p < 4 || memcmp(p, "null", 4) != 0)
            return JF_DECLINED;
        p += 4;
        CALL(yajl_null, ctx);
        goto after;
    default: {
        if (*p != '-' && (*p < '0' || *p > '9'))
            return JF_DECLINED;
        const char *b = p;
        if (!(p = number_end(p, e)))
            return JF_DECLINED;
        CALL(yajl_number, ctx, b, (size_t)(p - b));
        goto after;
    }
    }

key:
    if (p == e || *p != '"')
        return JF_DECLINED;
    {
        const char *b = p + 1, *q = str_stop(b, e);
        if (q == e)
            return JF_DECLINED;
        if (*q != '"')
            goto escaped_key;
        p = q + 1;
        CALL(yajl_map_key, ctx, (const unsigned char *)b, (size_t)(q - b));
    }
colon:
    p = skip_ws(p, e);
    if (p == e || *p != ':')
        return JF_DECLINED;
    p = skip_ws(p + 1, e);
    if (p == e)
        return JF_DECLINED;
    goto value;

after:
    p = skip_ws(p, e);
    if (!depth)
        return p == e ? JF_DONE : JF_DECLINED;
    if (p == e)
        return JF_DECLINED;
    if (*p == ',') {
        p = skip_ws(p + 1, e);
        if (stack[depth - 1] == OBJ)
            goto key;
        if (p == e)
            return JF_DECLINED;
        goto value;
    }
    if (stack[depth - 1] == OBJ) {
        if (*p != '}')
            return JF_DECLINED;
        p++;
        depth--;
        CALL(yajl_end_map, ctx);
    } else {
        if (*p != ']')
            return JF_DECLINED;
        p++;
        depth--;
        CALL(yajl_end_array, ctx);
    }
    goto after;

    /* strings with escapes (escaped() above) */
escaped_key:
    if ((st = escaped(rd, cb, ctx, s, e, &p, 1)) != JF_DONE)
        return st;
    goto colon;
escaped_value:
    if ((st = escaped(rd, cb, ctx, s, e, &p, 0)) != JF_DONE)
        return st;
    goto after;
#undef CALL
}
