/* Literal-set matching; see litset.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "litset.h"
#include "mem.h"
#include "program.h"

#define LS_MAX 64
#define LS_PAIRS 12     /* more distinct pairs: the filter would cost more than it saves */
#define LS_RANGES 8     /* byte ranges of a start filter, at most */

/* A byte pair some literal may start with: the bytes at positions i and
   i + 1 of a match.  'fold_a'/'fold_b' are 0x20 when the literal's byte is
   a letter matched caseless (the input byte is compared OR 0x20, which
   maps exactly the letter's two cases to the lowercase one), 'any_b' when
   the literal is one byte long. */
typedef struct {
    unsigned char a, b, fold_a, fold_b, any_b;
} ls_pair;

struct ls_set {
    int caseless;
    uint32_t nlit;
    uint64_t first[256];          /* bit k: literal k may start with this byte */
    struct { char *s; uint32_t n; } lit[LS_MAX];
    /* The scan's filter: every position where a literal matches starts
       with one of these pairs (npair 0: no filter, every byte is tried). */
    uint32_t npair;
    ls_pair pair[LS_PAIRS];
    /* the pairs as the vector scan compares them: the input's bytes at i
       OR fa[k] equal a[k], and those at i + 1 OR fb[k] equal b[k] (a
       one-byte literal: fb = b = 0xFF, always equal) */
    unsigned char a[LS_PAIRS][16], fa[LS_PAIRS][16], b[LS_PAIRS][16], fb[LS_PAIRS][16];
    /* A start filter (no literals): the bytes a match may start with, as
       ranges lo .. lo + span (vectors of the same byte) and as a bitmap. */
    int filter;
    uint32_t nrange;
    unsigned char lo[LS_RANGES][16], span[LS_RANGES][16];
    uint8_t map[32];
};

static unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Characters that mean something to PCRE2 outside a class. */
static int is_meta(unsigned char c)
{
    return strchr("\\^$.[]|()?*+{}", c) != NULL || c == 0;
}

void ls_free(ls_set *ls)
{
    if (!ls)
        return;
    for (uint32_t i = 0; i < ls->nlit; i++)
        free(ls->lit[i].s);
    free(ls);
}

static int is_letter(unsigned char c) { return c >= 'a' && c <= 'z'; }

/* Adds a pair to the filter; past LS_PAIRS the filter is dropped (npair
   set to UINT32_MAX while building, 0 after). */
static void add_pair(ls_set *ls, unsigned char a, unsigned char fa, unsigned char b, unsigned char fb, unsigned char any)
{
    if (ls->npair == UINT32_MAX)
        return;
    ls_pair p = { a, any ? 0 : b, fa, any ? 0 : fb, any };
    for (uint32_t i = 0; i < ls->npair; i++)
        if (!memcmp(&ls->pair[i], &p, sizeof p))
            return;
    if (ls->npair == LS_PAIRS) {
        ls->npair = UINT32_MAX;
        return;
    }
    ls->pair[ls->npair++] = p;
}

/* The pairs a literal (folded when caseless) can start with.  Caseless,
   PCRE2 also matches U+017F for 's' and U+212A for 'k' (fold_alt below):
   a match may start with such a character's first two bytes, and its
   second character may be one, whose first byte then follows the first
   character. */
static void literal_pairs(ls_set *ls, const unsigned char *l, uint32_t n)
{
    unsigned char f0 = ls->caseless && is_letter(l[0]) ? 0x20 : 0;
    if (ls->caseless && (l[0] == 's' || l[0] == 'k'))
        add_pair(ls, l[0] == 's' ? 0xC5 : 0xE2, 0, l[0] == 's' ? 0xBF : 0x84, 0, 0);
    if (n == 1) {
        add_pair(ls, l[0], f0, 0, 0, 1);
        return;
    }
    add_pair(ls, l[0], f0, l[1], ls->caseless && is_letter(l[1]) ? 0x20 : 0, 0);
    if (ls->caseless && (l[1] == 's' || l[1] == 'k'))
        add_pair(ls, l[0], f0, l[1] == 's' ? 0xC5 : 0xE2, 0, 0);
}

ls_set *ls_compile(const char *pat, size_t len, uint32_t flags)
{
    if (flags & RV_RE_EXTENDED)    /* whitespace would be ignored */
        return NULL;
    if (len >= 2 && pat[0] == '(' && pat[len - 1] == ')') {
        pat++;
        len -= 2;
        if (len >= 2 && pat[0] == '?' && pat[1] == ':') {
            pat += 2;
            len -= 2;
        }
    }
    if (!len)
        return NULL;
    ls_set *ls = mem_calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->caseless = !!(flags & RV_RE_CASELESS);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && pat[i] != '|') {
            unsigned char c = (unsigned char)pat[i];
            if (c >= 0x80 || c < 0x20 || is_meta(c)) {
                ls_free(ls);
                return NULL;
            }
            continue;
        }
        size_t n = i - start;
        if (!n || ls->nlit == LS_MAX) {     /* an empty alternative matches everywhere */
            ls_free(ls);
            return NULL;
        }
        char *s = mem_strndup(pat + start, n);
        if (!s) {
            ls_free(ls);
            return NULL;
        }
        if (ls->caseless)
            for (size_t k = 0; k < n; k++)
                s[k] = (char)fold((unsigned char)s[k]);
        unsigned char f = (unsigned char)s[0];
        ls->first[f] |= 1ull << ls->nlit;
        if (ls->caseless && f >= 'a' && f <= 'z')
            ls->first[f - 32] |= 1ull << ls->nlit;
        if (ls->caseless && (f == 's' || f == 'k'))     /* U+017F, U+212A (fold_alt) */
            ls->first[f == 's' ? 0xC5 : 0xE2] |= 1ull << ls->nlit;
        ls->lit[ls->nlit].s = s;
        ls->lit[ls->nlit].n = (uint32_t)n;
        ls->nlit++;
        literal_pairs(ls, (const unsigned char *)s, (uint32_t)n);
        start = i + 1;
    }
    if (ls->npair == UINT32_MAX)
        ls->npair = 0;
    for (uint32_t k = 0; k < ls->npair; k++) {
        const ls_pair *p = &ls->pair[k];
        memset(ls->a[k], p->a, 16);
        memset(ls->fa[k], p->fold_a, 16);
        memset(ls->b[k], p->any_b ? 0xFF : p->b, 16);
        memset(ls->fb[k], p->any_b ? 0xFF : p->fold_b, 16);
    }
    return ls;
}

/* Caseless, PCRE2 folds by Unicode: 'k' also matches U+212A KELVIN SIGN
   and 's' U+017F LATIN SMALL LETTER LONG S, the only characters outside
   ASCII that fold to an ASCII letter (the literals are ASCII).  The bytes
   of such a character at s[0..n) for the literal's byte 'l', else 0. */
static size_t fold_alt(unsigned char l, const unsigned char *s, size_t n)
{
    if (l == 's' && n >= 2 && s[0] == 0xC5 && s[1] == 0xBF)
        return 2;
    if (l == 'k' && n >= 3 && s[0] == 0xE2 && s[1] == 0x84 && s[2] == 0xAA)
        return 3;
    return 0;
}

/* Does literal 'l' (folded) occur caseless at s[0..n)? */
static int caseless_at(const unsigned char *l, uint32_t ln, const unsigned char *s, size_t n)
{
    size_t p = 0;
    for (uint32_t j = 0; j < ln; j++) {
        size_t a;
        if (p < n && fold(s[p]) == l[j])
            p++;
        else if ((a = fold_alt(l[j], s + p, n - p)))
            p += a;
        else
            return 0;
    }
    return 1;
}

ls_set *ls_start_filter(const void *code)
{
    uint32_t type = 1, empty = 1;
    const uint8_t *map = NULL;
    if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type) || type != 0 ||
        pcre2_pattern_info(code, PCRE2_INFO_MATCHEMPTY, &empty) || empty ||
        pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &map) || !map)
        return NULL;
    ls_set *ls = mem_calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->filter = 1;
    memcpy(ls->map, map, sizeof ls->map);
    for (unsigned c = 0; c < 256;) {
        if (!(map[c >> 3] >> (c & 7) & 1)) {
            c++;
            continue;
        }
        unsigned lo = c;
        while (c < 256 && map[c >> 3] >> (c & 7) & 1)
            c++;
        if (ls->nrange == LS_RANGES) {
            ls_free(ls);
            return NULL;
        }
        memset(ls->lo[ls->nrange], (int)lo, 16);
        memset(ls->span[ls->nrange], (int)(c - 1 - lo), 16);
        ls->nrange++;
    }
    return ls;
}

int ls_exact(const ls_set *ls)
{
    return !ls->filter;
}

/* Is there a byte in s[0..n) a match may start with? */
static int may_start(const ls_set *ls, const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
    for (; n - i >= 16; i += 16) {
        __m128i v = LD(s + i), acc = _mm_setzero_si128();
        for (uint32_t k = 0; k < ls->nrange; k++) {
            __m128i x = _mm_sub_epi8(v, LD(ls->lo[k]));     /* in range: x <= span, unsigned */
            acc = _mm_or_si128(acc, _mm_cmpeq_epi8(_mm_min_epu8(x, LD(ls->span[k])), x));
        }
        if (_mm_movemask_epi8(acc))
            return 1;
    }
#undef LD
#endif
    for (; i < n; i++)
        if (ls->map[s[i] >> 3] >> (s[i] & 7) & 1)
            return 1;
    return 0;
}

/* Does some literal occur at s[i..n)? */
static int match_at(const ls_set *ls, const unsigned char *s, size_t n, size_t i)
{
    uint64_t m = ls->first[s[i]];
    while (m) {
        unsigned k = (unsigned)__builtin_ctzll(m);
        m &= m - 1;
        const unsigned char *l = (const unsigned char *)ls->lit[k].s;
        uint32_t ln = ls->lit[k].n;
        if (ln > n - i)     /* every character of a literal takes a byte at least */
            continue;
        if (ls->caseless) {
            if (caseless_at(l, ln, s + i, n - i))
                return 1;
            continue;
        }
        uint32_t j = 1;
        while (j < ln && s[i + j] == l[j])
            j++;
        if (j == ln)
            return 1;
    }
    return 0;
}

#ifdef __SSE2__
/* The filter 16 positions at a time: bit j of the result is set when the
   bytes at i + j and i + j + 1 are one of the pairs (reads s[i .. i + 17)). */
static inline unsigned pair_mask(const ls_set *ls, const unsigned char *s, size_t i)
{
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
    __m128i v0 = LD(s + i), v1 = LD(s + i + 1), acc = _mm_setzero_si128();
    for (uint32_t k = 0; k < ls->npair; k++)
        acc = _mm_or_si128(acc, _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(v0, LD(ls->fa[k])), LD(ls->a[k])),
                                              _mm_cmpeq_epi8(_mm_or_si128(v1, LD(ls->fb[k])), LD(ls->b[k]))));
    return (unsigned)_mm_movemask_epi8(acc);
#undef LD
}
#endif

int ls_search(const ls_set *ls, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (ls->filter)
        return may_start(ls, s, n);
    size_t i = 0;
#ifdef __SSE2__
    if (ls->npair)
        for (; n - i >= 17; i += 16)
            for (unsigned bits = pair_mask(ls, s, i); bits; bits &= bits - 1)
                if (match_at(ls, s, n, i + (unsigned)__builtin_ctz(bits)))
                    return 1;
#endif
    for (; i < n; i++)
        if (match_at(ls, s, n, i))
            return 1;
    return 0;
}
