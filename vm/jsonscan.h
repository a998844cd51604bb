/* Byte scans the JSON parsers share (the request model, vm/request.c,
   and the answers' node table, vm/providers/jview.c), run over a whole
   text before or after yajl reads it: is it all ASCII (so valid UTF-8
   without a closer look), and is what follows a value only JSON's
   whitespace.  Header-only: each is a loop the callers inline. */
#ifndef RV_JSONSCAN_H
#define RV_JSONSCAN_H

#include <stddef.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
