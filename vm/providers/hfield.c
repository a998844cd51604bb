/* Header field bytes; see hfield.h.

   Eight bytes are tested at once, with the test of Bit Twiddling Hacks
   "determine if a word has a byte less than n": for a word w,
   (w - 0x2020..) & ~w & 0x8080.. is nonzero exactly when some byte is
   below 0x20 (bytes from 0x80 up are masked out by ~w), and the same
   test for a zero byte on w ^ 0x7f7f.. finds DEL.  A
   string of eight bytes or more ends with a word that overlaps the one
   before; a shorter one goes byte by byte (the word tests would not pay
   for themselves there).

   With SSE2 (every x86-64), both test sixteen bytes at once: a byte
   is below 0x20 exactly when its unsigned minimum with 0x1f is itself;
   HTAB is taken out and DEL added by equality.  The bytes past the last
   whole sixteen are tested by one more load ending with the string
   (hf_span masks off its lanes already tested; for hf_bad testing a
   byte twice is no harm); shorter strings go by words as above. */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hfield.h"

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* The high bit of each byte of 'w' below 0x80 that is zero. */
static uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGH;
}

/* Control bytes (below 0x20, or DEL) of 'w', HTAB included. */
static uint64_t ctl_bytes(uint64_t w)
{
    return (((w - ONES * 0x20) & ~w) & HIGH) | zero_bytes(w ^ (ONES * 0x7f));
}

static int bad_byte(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static uint64_t load(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

#ifdef __SSE2__
/* Bit k set when s[k] (of sixteen) is a control byte but HTAB, or DEL. */
static unsigned bad16(const char *s)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')), ctl),
                               _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    return (unsigned)_mm_movemask_epi8(bad);
}
#endif

size_t hf_span(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) {
            unsigned m = bad16(s + i);
            if (m)
                return i + (size_t)__builtin_ctz(m);
        }
        if (i == n)
            return n;
        size_t at = n - 16;
        unsigned m = bad16(s + at) >> (i - at);    /* lanes before 'i' were tested */
        return m ? i + (size_t)__builtin_ctz(m) : n;
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t m = ctl_bytes(load(s + i));
        if (!m)
            continue;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* the lowest flag of each test marks a real match (a borrow only
           carries upwards): the first byte flagged is a control byte or
           DEL, and unless it is HTAB, the one sought */
        size_t j = i + (size_t)__builtin_ctzll(m) / 8;
        if (s[j] != '\t')
            return j;
#endif
        for (size_t j2 = i; j2 < i + 8; j2++)
            if (bad_byte((unsigned char)s[j2]))
                return j2;
    }
    for (; i < n; i++)
        if (bad_byte((unsigned char)s[i]))
            return i;
    return n;
}

int hf_bad(const char *s, size_t n)
{
#ifdef __SSE2__
    /* blocks of sixteen, the last one ending with the string (it may
       overlap the one before: a byte tested twice is no harm) */
    if (n >= 16)
        for (size_t i = 0;; i += 16) {
            size_t at = i + 16 <= n ? i : n - 16;
            if (bad16(s + at))
                return 1;
            if (at + 16 == n)
                return 0;
        }
#endif
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (bad_byte((unsigned char)s[i]))
                return 1;
        return 0;
    }
    /* whole words, the last one ending with the string (it may overlap
       the one before: a byte tested twice is no harm) */
    for (size_t i = 0;; i += 8) {
        size_t at = i + 8 <= n ? i : n - 8;
        if (ctl_bytes(load(s + at)))            /* HTAB, or a control byte: look closer */
            for (size_t j = at; j < at + 8; j++)
                if (bad_byte((unsigned char)s[j]))
                    return 1;
        if (at + 8 == n)
            return 0;
    }
}
