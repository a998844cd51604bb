/* Whole plain HTTP/1.1 heads in one pass; see hhead.h.

   A line is walked once: a name through a table of token characters, a
   value's bytes checked eight at a time up to the first that is not a
   field byte, which must be the line's CR (hf_span).  The fields http-parser treats apart from the rest
   (Content-Length, Transfer-Encoding, Connection, Upgrade,
   Proxy-Connection: the ones that frame a message or change the
   connection) are recognised by length first, so that an ordinary field
   costs one switch, and then compared without regard to case a word at
   a time: a byte ORed with 0x20 equals a lowercase letter exactly when
   it is that letter in either case, and equals '-' when it is '-' or CR,
   which a name (token characters) or a value (field bytes) never holds.
   A name is walked first sixteen bytes at once with SSE2 over the token
   characters most names are made of (letters, digits, '-'), then byte
   by byte through the table from where that stopped. */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hfield.h"
#include "hhead.h"

/* RFC 9110 section 5.6.2: tchar; '_' with a bit of its own (TC_UNDERSCORE),
   noted as the names are walked (hh_head's 'underscore') */
#define TC_UNDERSCORE 2
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1 | TC_UNDERSCORE, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* Target bytes taken: visible ASCII but '#' (a fragment is declined) */
static const unsigned char tgchar[256] = {
    [0x21 ... 0x22] = 1, [0x24 ... 0x7e] = 1,
};

#define LOWER64 0x2020202020202020ull
#define LOWER32 0x20202020u

static inline __attribute__((always_inline)) uint64_t word8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w | LOWER64;
}

static inline __attribute__((always_inline)) uint32_t word4(const char *s)
{
    uint32_t w;
    memcpy(&w, s, 4);
    return w | LOWER32;
}

/* [s, s + n), of token characters or field bytes (above), is 'lit' (a
   literal of lowercase letters and '-', 4 bytes or more) in any case:
   whole words, the last ending with the literal (it may overlap the one
   before). */
static inline __attribute__((always_inline)) int ieq(const char *s, size_t n, const char *lit, size_t ln)
{
    if (n != ln)
        return 0;
    if (ln >= 8) {
        uint64_t d = word8(s + ln - 8) ^ word8(lit + ln - 8);
        for (size_t i = 0; i + 8 < ln; i += 8)
            d |= word8(s + i) ^ word8(lit + i);
        return !d;
    }
    return !((word4(s) ^ word4(lit)) | (word4(s + ln - 4) ^ word4(lit + ln - 4)));
}

#define IS(s, n, lit) ieq(s, n, lit, sizeof lit - 1)

/* A field http-parser gives a meaning of its own: noted in '*h';
   -1 to decline the head. */
static int special(const char *name, size_t nl, const char *v, size_t vl, hh_head *h)
{
    /* http-parser 2.9.4 marks a message as having Transfer-Encoding as
       soon as a name begins with it ("Transfer-Encodingx" too), and then
       refuses a request that is not chunked */
    if (nl > 17 && ieq(name, 17, "transfer-encoding", 17))
        return -1;
    switch (nl) {
    case 7:
        return IS(name, nl, "upgrade") ? -1 : 0;
    case 10:
        if (!IS(name, nl, "connection"))
            return 0;
        if (IS(v, vl, "close"))
            h->close = 1;
        else if (!IS(v, vl, "keep-alive"))
            return -1;
        return 0;
    case 14:
        if (!IS(name, nl, "content-length"))
            return 0;
        if (h->has_length || vl > 15)
            return -1;
        h->length = 0;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            h->length = h->length * 10 + (uint64_t)(v[i] - '0');
        }
        h->has_length = 1;
        return 0;
    case 16:
        return IS(name, nl, "proxy-connection") ? -1 : 0;
    case 17:
        return IS(name, nl, "transfer-encoding") ? -1 : 0;
    default:
        return 0;
    }
}

#ifdef __SSE2__
/* How many of the sixteen bytes at 's' are, from the first, letters,
   digits or '-' (token characters all).  Signed compares: a byte from
   0x80 up is negative and in no range; ORed with 0x20, a byte is in
   'a'..'z' exactly when it is a letter of either case. */
static size_t common_run(const char *s)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i ok = _mm_or_si128(_mm_or_si128(letter, digit), _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
    unsigned m = ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;
    return m ? (size_t)__builtin_ctz(m) : 16;
}
#endif

/* The end of the field bytes from offset 'i' (hfield.h): the offset
   of the line's CR LF, or 0 when something else ends them. */
static size_t line_end(const char *p, size_t i, size_t n)
{
    size_t e = i + hf_span(p + i, n - i);
    return e + 1 < n && p[e] == '\r' && p[e + 1] == '\n' ? e : 0;
}

/* The field lines from offset 'i' to the empty line: the head's length,
   or 0 to decline. */
static size_t fields(const char *p, size_t i, size_t n, hh_field *f, uint32_t maxf, hh_head *h)
{
    for (;;) {
        if (n - i < 2)
            return 0;
        if (p[i] == '\r')
            return p[i + 1] == '\n' ? i + 2 : 0;
        size_t b = i;
        unsigned seen = 0;      /* the tchar bits of the bytes the table walked */
#ifdef __SSE2__
        if (n - i >= 16)
            i += common_run(p + i);
#endif
        while (i < n && tchar[(unsigned char)p[i]])
            seen |= tchar[(unsigned char)p[i++]];
        if (seen & TC_UNDERSCORE)
            h->underscore = 1;
        if (i == b || i == n || p[i] != ':')
            return 0;
        size_t nl = i - b;
        for (i++; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
            ;
        size_t e = line_end(p, i, n);
        if (!e || e == i || p[e - 1] == ' ' || p[e - 1] == '\t' || h->nfield == maxf)
            return 0;
        f[h->nfield++] = (hh_field){ (uint32_t)b, (uint32_t)nl, (uint32_t)i, (uint32_t)(e - i) };
        if (special(p + b, nl, p + i, e - i, h))
            return 0;
        i = e + 2;
    }
}

static void clear(hh_head *h)
{
    *h = (hh_head){ 0 };
}

size_t hh_request(const char *p, size_t n, hh_field *f, uint32_t maxf, hh_head *h)
{
    clear(h);
    size_t i;
    if (n > 5 && !memcmp(p, "POST ", 5))
        h->method = HH_POST, i = 5;
    else if (n > 4 && !memcmp(p, "GET ", 4))
        h->method = HH_GET, i = 4;
    else if (n > 5 && !memcmp(p, "HEAD ", 5))
        h->method = HH_HEAD, i = 5;
    else
        return 0;
    if (p[i] != '/')
        return 0;
    size_t b = i;
    while (i < n && tgchar[(unsigned char)p[i]])
        i++;
    if (n - i < 11 || memcmp(p + i, " HTTP/1.1\r\n", 11))
        return 0;
    h->target_off = (uint32_t)b;
    h->target_len = (uint32_t)(i - b);
    return fields(p, i + 11, n, f, maxf, h);
}

size_t hh_response(const char *p, size_t n, hh_field *f, uint32_t maxf, hh_head *h)
{
    clear(h);
    if (n < 13 || memcmp(p, "HTTP/1.1 ", 9) || p[12] != ' ')
        return 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        h->status = h->status * 10 + (p[i] - '0');
    }
    if (h->status < 200 || h->status > 599 || h->status == 204 || h->status == 304)
        return 0;
    size_t e = line_end(p, 13, n);
    if (!e)
        return 0;
    size_t len = fields(p, e + 2, n, f, maxf, h);
    return len && h->has_length ? len : 0;
}
