/* The JSON writer; see jsonw.h.  Strings are written in runs: bytes that
   need no escape go out with one fwrite, a byte that does (or a sequence
   that is not UTF-8, RFC 3629: no overlongs, no surrogates, nothing above
   U+10FFFF) is written as its escape.  Layout follows jansson's dump
   (jansson.h JSON_COMPACT / JSON_INDENT), so a tree prints the same
   through either whenever its strings are UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jsonw.h"
#include "mem.h"

void jw_init(jw_writer *w, FILE *out, int indent)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->indent = indent;
}

/* Length of the UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void jw_init_mem(jw_writer *w, int indent)
{
    jw_init(w, NULL, indent);
}

/* Room for 'n' more bytes and a NUL in the memory buffer. */
static int grow(jw_writer *w, size_t n)
{
    if (w->err)
        return -1;
    if (n > SIZE_MAX / 2 - w->len) {
        w->err = -1;
        return -1;
    }
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = mem_realloc(w->buf, cap);
    if (!b) {
        w->err = -1;
        return -1;
    }
    w->buf = b;
    w->cap = cap;
    w->fast = w->out || w->indent ? 0 : cap;
    return 0;
}

static void put(jw_writer *w, const char *s, size_t n)
{
    if (!n)
        return;
    if (w->out) {
        if (fwrite(s, 1, n, w->out) != n)
            w->err = -1;
        return;
    }
    if (w->len + n >= w->cap && grow(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

char *jw_take(jw_writer *w, size_t *len)
{
    if (w->out || w->err || w->depth || (!w->buf && grow(w, 0))) {
        jw_discard(w);
        return NULL;
    }
    char *b = w->buf;
    b[w->len] = 0;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = w->fast = 0;
    return b;
}

void jw_discard(jw_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = w->fast = 0;
}

void jw_clear(jw_writer *w)
{
    w->len = 0;
    w->depth = 0;
    w->err = 0;
}

const char *jw_data(const jw_writer *w, size_t *len)
{
    *len = 0;
    if (w->out || w->err)
        return NULL;
    if (!w->buf)
        return "";
    *len = w->len;
    return w->buf;
}

void jw_bytes(jw_writer *w, const char *s, size_t n)
{
    if (w->depth) {
        w->err = -1;
        return;
    }
    put(w, s, n);
}

/* Are the eight bytes at 's' all printable ASCII other than '"' and '\\'
   (nothing to escape, nothing to check as UTF-8)?  A word-at-a-time test:
   a byte below 0x20, a quote or a backslash sets its top bit in one of
   the masks (a "has a zero byte" test on v - 0x20.., v ^ '"'.., v ^
   '\\'..), a byte from 0x80 has it set already.  A false alarm only sends
   the bytes the slow way. */
static int plain8(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t v, q, b;
    memcpy(&v, s, 8);
    q = v ^ (ones * '"');
    b = v ^ (ones * '\\');
    return !((v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high);
}

/* Is s[0..n) all printable ASCII other than '"' and '\\' (written as
   it is between quotes)? */
static int plain(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
#ifdef __SSE2__
    /* sixteen bytes at a time where SSE2 is (x86-64 always has it), the
       last sixteen overlapping the ones before: a signed compare finds
       the bytes below 0x20 and those from 0x80 at once */
    if (n >= 16) {
        const __m128i sp = _mm_set1_epi8(0x20), q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
        for (;;) {
            if (n - i < 16)
                i = n - 16;
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)));
            if (_mm_movemask_epi8(m))
                return 0;
            if ((i += 16) == n)
                return 1;
        }
    }
#endif
    if (n >= 8) {
        for (; n - i >= 8; i += 8)
            if (!plain8(s + i))
                return 0;
        return i == n || plain8(s + n - 8);    /* the tail: the last eight bytes, overlapping */
    }
    for (; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x80 || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

/* Room for 'n' more bytes in a memory writer: where to write them (the
   caller then adds 'n' to 'len'), or NULL for a stream writer, a failed
   one, or a string too long to be worth a second pass. */
static char *room(jw_writer *w, size_t n)
{
    if (w->out || w->err || n > 4096 || (w->len + n >= w->cap && grow(w, n)))
        return NULL;
    return w->buf + w->len;
}

/* The common string, short and plain, and in memory: copied between
   its quotes at once, 'tail' (":" after a key, or "") after them.
   0 when done, -1 when the general path must write it. */
static int quoted_fast(jw_writer *w, const char *s, size_t n, const char *tail, size_t tn)
{
    char *at;
    if (!plain(s, n) || !(at = room(w, n + 2 + tn)))
        return -1;
    at[0] = '"';
    memcpy(at + 1, s, n);
    at[n + 1] = '"';
    memcpy(at + n + 2, tail, tn);
    w->len += n + 2 + tn;
    return 0;
}

static void quoted(jw_writer *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;
    put(w, "\"", 1);
    while (i < n) {
        if (n - i >= 8 && plain8(s + i)) {     /* the common case, eight bytes at once */
            i += 8;
            continue;
        }
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t len = c >= 0x20 && c != '"' && c != '\\' ? utf8_len(s + i, n - i) : 0;
        if (len) {
            i += len;
            continue;
        }
        put(w, str + run, i - run);
        char esc[8] = { '\\', 0 };
        size_t el = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            } else {
                memcpy(esc + 1, "uFFFD", 5);    /* a byte that is not UTF-8 */
            }
            el = 6;
        }
        put(w, esc, el);
        run = ++i;
    }
    put(w, str + run, n - run);
    put(w, "\"", 1);
}

/* One byte: the commas, brackets and colons between everything else. */
static void put1(jw_writer *w, char c)
{
    if (!w->out && w->len + 1 < w->cap) {
        w->buf[w->len++] = c;
        return;
    }
    put(w, &c, 1);
}

static void newline(jw_writer *w)
{
    static const char spaces[] = "                                ";
    put(w, "\n", 1);
    for (int n = w->indent * w->depth; n > 0; n -= 32)
        put(w, spaces, n < 32 ? (size_t)n : 32);
}

/* Before a value or a key: the comma and the layout of a new member.
   After a key the value follows directly. */
static void member(jw_writer *w)
{
    if (w->depth == 0)
        return;
    uint8_t *st = &w->state[w->depth - 1];
    if (*st == 2) {
        *st = 1;
        return;
    }
    if (*st)
        put1(w, ',');
    *st = 1;
    if (w->indent)
        newline(w);
}

void jw_open(jw_writer *w, char open, char close)
{
    member(w);
    put1(w, open);
    if (w->depth == JW_MAX_DEPTH) {
        w->err = -1;
        return;
    }
    w->close[w->depth] = close;
    w->state[w->depth++] = 0;
}

void jw_close(jw_writer *w)
{
    if (w->depth == 0) {
        w->err = -1;
        return;
    }
    int d = --w->depth;
    if (w->state[d] && w->indent)
        newline(w);
    put1(w, w->close[d]);
}

void jw_key(jw_writer *w, const char *k)
{
    jw_keyn(w, k, strlen(k));
}

void jw_keyn(jw_writer *w, const char *k, size_t n)
{
    member(w);
    const char *sep = w->indent ? ": " : ":";
    size_t sn = w->indent ? 2 : 1;
    if (quoted_fast(w, k, n, sep, sn)) {
        quoted(w, k, n);
        put(w, sep, sn);
    }
    if (w->depth)
        w->state[w->depth - 1] = 2;
}

/* '"key":', n bytes (JW_KEY); with indent the colon becomes ": ". */
void jw_key_quoted(jw_writer *w, const char *quoted, size_t n)
{
    member(w);
    if (w->indent) {
        put(w, quoted, n - 1);
        put(w, ": ", 2);
    } else
        put(w, quoted, n);
    if (w->depth)
        w->state[w->depth - 1] = 2;
}

void jw_string(jw_writer *w, const char *s, size_t n)
{
    if (!s) {
        s = "";
        n = 0;
    }
    char *b;
    if (n <= 4096 && (b = jw_fast_room(w, n + 3)) && plain(s, n)) {
        char *at = jw_fast_member(w, b);
        at[0] = '"';
        memcpy(at + 1, s, n);
        at[n + 1] = '"';
        w->len += (size_t)(at - b) + n + 2;
        return;
    }
    member(w);
    if (quoted_fast(w, s, n, "", 0))
        quoted(w, s, n);
}

void jw_cstring(jw_writer *w, const char *s) { jw_string(w, s, s ? strlen(s) : 0); }

/* Decimal digits by hand: integers are written for every answer and
   every stream chunk, where printf's format parsing costs more than the
   rest of the number.  Two digits at a time from a table, backwards from
   'end'; returns where they start. */
static char *decimal(char *end, uint64_t u)
{
    static const char pairs[] =
        "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
        "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    while (u >= 100) {
        uint64_t r = u % 100;
        u /= 100;
        end -= 2;
        memcpy(end, pairs + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, pairs + 2 * u, 2);
    } else
        *--end = (char)('0' + u);
    return end;
}

/* How many decimal digits 'u' has. */
static size_t ndigits(uint64_t u)
{
    size_t n = 1;
    for (uint64_t t = 10; u >= t && n < 20; t *= 10)
        if (++n == 20)
            break;              /* 10^20 does not fit: u >= 10^19 has 20 digits */
    return n;
}

void jw_int(jw_writer *w, int64_t v)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = ndigits(u) + (v < 0);
    char *b = jw_fast_room(w, n + 1);
    if (b) {
        char *at = jw_fast_member(w, b);
        decimal(at + n, u);
        if (v < 0)
            at[0] = '-';
        w->len += (size_t)(at - b) + n;
        return;
    }
    char buf[24], *e = buf + sizeof buf, *p = decimal(e, u);
    if (v < 0)
        *--p = '-';
    member(w);
    put(w, p, (size_t)(e - p));
}

void jw_bool(jw_writer *w, int v)
{
    if (v)
        jw_raw_lit(w, "true", 4);
    else
        jw_raw_lit(w, "false", 5);
}

void jw_null(jw_writer *w)
{
    jw_raw_lit(w, "null", 4);
}

void jw_raw(jw_writer *w, const char *json, size_t n)
{
    member(w);
    put(w, json, n);
}

void jw_splice(jw_writer *w, const jw_writer *src)
{
    if (w->depth || w->indent || src->out || src->indent || src->err || !src->buf) {
        w->err = -1;
        return;
    }
    put(w, src->buf, src->len);
    memcpy(w->close, src->close, (size_t)src->depth);
    memcpy(w->state, src->state, (size_t)src->depth);
    w->depth = src->depth;
}

void jw_value(jw_writer *w, const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        jw_object(w);
        json_object_foreach((json_t *)v, key, item) {
            jw_key(w, key);
            jw_value(w, item);
        }
        jw_end(w);
        break;
    case JSON_ARRAY:
        jw_array(w);
        json_array_foreach(v, i, item)
            jw_value(w, item);
        jw_end(w);
        break;
    case JSON_STRING:
        jw_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jw_int(w, json_integer_value(v));
        break;
    case JSON_REAL: {
        /* jansson's own shortest round-trip form */
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        member(w);
        if (s)
            put(w, s, strlen(s));
        else
            w->err = -1;
        free(s);
        break;
    }
    case JSON_TRUE:
        jw_bool(w, 1);
        break;
    case JSON_FALSE:
        jw_bool(w, 0);
        break;
    case JSON_NULL:
        jw_null(w);
        break;
    }
}

int jw_finish(jw_writer *w)
{
    put(w, "\n", 1);
    return w->err || w->depth ? -1 : 0;
}

int jw_print(FILE *out, const json_t *v, int indent)
{
    jw_writer w;
    jw_init(&w, out, indent);
    jw_value(&w, v);
    return jw_finish(&w);
}

json_t *jw_jstring(const char *s, size_t n)
{
    return json_stringn_nocheck(s ? s : "", s ? n : 0);
}
