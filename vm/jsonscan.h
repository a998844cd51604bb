/* Byte scans the JSON parsers share (the request model, vm/request.c,
   and the answers' node table, vm/providers/jview.c), run over a whole
   text before or after it is read: is it all ASCII (so valid UTF-8
   without a closer look), and is what follows a value only JSON's
   whitespace; and the word loads their key compares are made of.
   Header-only: each is a loop the callers inline. */
#ifndef RV_JSONSCAN_H
#define RV_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* 8 and 4 bytes at s, unaligned, in the machine's order. */
static inline uint64_t js_load8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

static inline uint32_t js_load4(const char *s)
{
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}

/* The four hex digits at s (4 bytes there) as a number, or -1 when one
   is not a hex digit: a \u escape's code unit. */
static inline int js_hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i], l = c | 0x20;     /* 'A'-'F' as 'a'-'f' */
        if (c >= '0' && c <= '9')
            v = v << 4 | (c - '0');
        else if (l >= 'a' && l <= 'f')
            v = v << 4 | (l - 'a' + 10);
        else
            return -1;
    }
    return v;
}

/* Are a[0..n) and b[0..n) the same bytes?  For a key's length: up to 24
   bytes by word loads that stay inside both (overlapping ones), a key
   of less than 4 by a loop, longer ones by memcmp. */
static inline int js_same(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 24)
            return !memcmp(a, b, n);
        return js_load8(a) == js_load8(b) && js_load8(a + n - 8) == js_load8(b + n - 8) &&
               (n <= 16 || js_load8(a + 8) == js_load8(b + 8));
    }
    if (n >= 4)
        return js_load4(a) == js_load4(b) && js_load4(a + n - 4) == js_load4(b + n - 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Is s[0..n) all ASCII?  Sixteen bytes at a time where SSE2 is (x86-64
   always has it), four vectors a step; elsewhere the answer is "maybe
   not" (0), and the caller's closer check runs. */
static inline int js_ascii(const char *s, size_t n)
{
#ifdef __SSE2__
    size_t k = 0;
    for (; k + 64 <= n; k += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + k)),
                b = _mm_loadu_si128((const __m128i *)(const void *)(s + k + 16)),
                c = _mm_loadu_si128((const __m128i *)(const void *)(s + k + 32)),
                d = _mm_loadu_si128((const __m128i *)(const void *)(s + k + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))))
            return 0;
    }
    for (; k + 16 <= n; k += 16)
        if (_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + k))))
            return 0;
    if (k < n && n >= 16)      /* the last bytes: the last sixteen, overlapping */
        return !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));
    for (; k < n; k++)
        if ((unsigned char)s[k] >= 0x80)
            return 0;
    return 1;
#else
    (void)s, (void)n;
    return 0;
#endif
}

/* Only JSON's whitespace (space, tab, newline, carriage return) in
   s[0..n)?  (yajl also skips a vertical tab and a form feed.) */
static inline int js_blank(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\n' && s[k] != '\r')
            return 0;
    return 1;
}

#endif
