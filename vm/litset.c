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
#define LS_RANGES 8     /* byte ranges of a start set, at most */
#define LS_REQ 2        /* required bytes a filter checks, at most (the rarest) */

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
    int anchored;                 /* '^': a match starts at the text's start */
    int has_class;                /* a literal is followed by a byte of 'cls' */
    uint8_t cls[32];
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
    /* A filter (no literals): the bytes every match contains, rarest
       first ... */
    int filter;
    uint32_t nreq;
    struct { unsigned char b, rarity; } req[LS_REQ];
    /* ... and the bytes a match may start with (has_map), as ranges lo ..
       lo + span (vectors of the same byte) and as a bitmap. */
    int has_map;
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

/* The trailing class of a literal set, '[' members ']' at pat[*len - 1]:
   its members as a bitmap (cls), and '*len' cut to what comes before.
   -1 unless every member is a printable ASCII byte with no meaning in a
   class, and no letter when caseless (a letter's fold is left to PCRE2). */
static int trailing_class(const char *pat, size_t *len, int caseless, uint8_t *cls)
{
    const char *open = pat + *len - 1;
    while (open > pat && *open != '[')
        open--;
    if (*open != '[' || open + 2 > pat + *len - 1)
        return -1;
    for (const char *q = open + 1; q < pat + *len - 1; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c >= 0x7f || strchr("\\^-[]", c) || (caseless && fold(c) >= 'a' && fold(c) <= 'z'))
            return -1;
        cls[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    *len = (size_t)(open - pat);
    return 0;
}

ls_set *ls_compile(const char *pat, size_t len, uint32_t flags)
{
    int anchored = 0, has_class = 0, wrapped;
    uint8_t cls[32] = { 0 };
    if (flags & RV_RE_EXTENDED)    /* whitespace would be ignored */
        return NULL;
    if (len && pat[0] == '^') {
        if (flags & RV_RE_MULTILINE)    /* after every newline too */
            return NULL;
        anchored = 1;
        pat++;
        len--;
    }
    if (len && pat[len - 1] == ']') {
        if (trailing_class(pat, &len, !!(flags & RV_RE_CASELESS), cls))
            return NULL;
        has_class = 1;
    }
    wrapped = len >= 2 && pat[0] == '(' && pat[len - 1] == ')';
    if (wrapped) {
        pat++;
        len -= 2;
        if (len >= 2 && pat[0] == '?' && pat[1] == ':') {
            pat += 2;
            len -= 2;
        }
    }
    /* '^' and a class bind to the first and the last alternative only */
    if (!len || (!wrapped && (anchored || has_class) && memchr(pat, '|', len)))
        return NULL;
    ls_set *ls = mem_calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->caseless = !!(flags & RV_RE_CASELESS);
    ls->anchored = anchored;
    ls->has_class = has_class;
    memcpy(ls->cls, cls, sizeof cls);
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

/* Does literal 'l' (folded) occur caseless at s[0..n)?  The bytes it
   takes there, 0 if not. */
static size_t caseless_at(const unsigned char *l, uint32_t ln, const unsigned char *s, size_t n)
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
    return p;
}

/* ---------------------------------------------------------------- filters */

/* How rare byte 'c' is in chat text: 0 for what almost every text has
   (lowercase letters, space) and for a caseless letter (its other case,
   and for 'k' and 's' a character outside ASCII, would match too), 1
   for the frequent (capitals, digits, common punctuation), 2 for the
   rest. */
static int rarity(unsigned char c, int caseless)
{
    if ((c >= 'a' && c <= 'z') || c == ' ' || (caseless && c >= 'A' && c <= 'Z'))
        return 0;
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(".,-'\n", c))
        return 1;
    return 2;
}

/* Adds byte 'c' as required, if it is rarer than a letter and than what
   the filter keeps (the rarest first). */
static void add_required(ls_set *ls, unsigned char c, int caseless)
{
    int r = rarity(c, caseless);
    if (!r)
        return;
    for (uint32_t i = 0; i < ls->nreq; i++)
        if (ls->req[i].b == c)
            return;
    uint32_t at = ls->nreq;
    while (at > 0 && ls->req[at - 1].rarity < r)
        at--;
    if (at == LS_REQ)
        return;
    if (ls->nreq < LS_REQ)
        ls->nreq++;
    memmove(&ls->req[at + 1], &ls->req[at], (ls->nreq - 1 - at) * sizeof *ls->req);
    ls->req[at].b = c;
    ls->req[at].rarity = (unsigned char)r;
}

/* The end of the class at p[i] == '[' (past its ']'), or 0 for syntax
   this reading does not follow (POSIX classes, \Q). */
static size_t class_end(const unsigned char *p, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && p[j] == '^')
        j++;
    if (j < len && p[j] == ']')     /* a first ']' is a member */
        j++;
    while (j < len) {
        if (p[j] == '\\') {
            if (j + 1 < len && p[j + 1] == 'Q')
                return 0;
            j += 2;
        } else if (p[j] == '[' && j + 1 < len && strchr(":.=", p[j + 1])) {
            return 0;
        } else if (p[j] == ']') {
            return j + 1;
        } else {
            j++;
        }
    }
    return 0;
}

/* The end of the group at p[i] == '(' (past its ')'), or 0 for syntax
   this reading does not follow: verbs, option settings, comments and
   anything but (?: (?= (?! (?<= (?<! (?<name> inside or out, \Q. */
static size_t group_end(const unsigned char *p, size_t len, size_t i)
{
    unsigned depth = 0;
    size_t j = i;
    while (j < len) {
        unsigned char c = p[j];
        if (c == '\\') {
            if (j + 1 < len && p[j + 1] == 'Q')
                return 0;
            j += 2;
        } else if (c == '[') {
            if (!(j = class_end(p, len, j)))
                return 0;
        } else if (c == '(') {
            if (j + 1 < len && p[j + 1] == '*')
                return 0;
            if (j + 1 < len && p[j + 1] == '?' && !(j + 2 < len && strchr(":=!<", p[j + 2])))
                return 0;
            depth++;
            j++;
        } else if (c == ')') {
            j++;
            if (--depth == 0)
                return j;
        } else {
            j++;
        }
    }
    return 0;
}

/* The quantifier at p[i], if any: where it ends ('*end', i when there is
   none) and its minimum.  -1 for syntax this reading does not follow (a
   '{' that is not {n}, {n,} or {n,m}: PCRE2 versions differ on {,m}). */
static int quantifier(const unsigned char *p, size_t len, size_t i, size_t *end, unsigned long *min)
{
    *end = i;
    *min = 1;
    if (i >= len)
        return 0;
    if (p[i] == '?' || p[i] == '*') {
        *min = 0;
        i++;
    } else if (p[i] == '+') {
        i++;
    } else if (p[i] == '{') {
        size_t j = i + 1;
        unsigned long v = 0;
        if (j >= len || p[j] < '0' || p[j] > '9')
            return -1;
        for (; j < len && p[j] >= '0' && p[j] <= '9'; j++)
            if (v < 100000)     /* (only whether it is 0 matters) */
                v = v * 10 + (unsigned long)(p[j] - '0');
        if (j < len && p[j] == ',')
            for (j++; j < len && p[j] >= '0' && p[j] <= '9'; j++)
                ;
        if (j >= len || p[j] != '}')
            return -1;
        *min = v;
        i = j + 1;
    } else {
        return 0;
    }
    if (i < len && (p[i] == '+' || p[i] == '?'))   /* possessive, lazy */
        i++;
    if (i < len && strchr("?*+{", p[i]))
        return -1;
    *end = i;
    return 0;
}

/* The literal byte of the escape at p[i] == '\\' ('*lit', -1 for other
   items) and its end; 0 for escapes this reading does not follow
   (anything with an argument, back references, \K, \Q). */
static size_t escape(const unsigned char *p, size_t len, size_t i, int *lit)
{
    static const char ctl[] = "t\tn\nr\rf\fe\033a\007";
    *lit = -1;
    if (i + 1 >= len)
        return 0;
    unsigned char e = p[i + 1];
    const char *k;
    if (e < 0x80 && !(e >= '0' && e <= '9') && !(e >= 'a' && e <= 'z') && !(e >= 'A' && e <= 'Z')) {
        *lit = e;
        return i + 2;
    }
    if (strchr("dDwWsShHvVRXbBAzZG", e))
        return i + 2;
    if (e == 'N' && !(i + 2 < len && p[i + 2] == '{'))
        return i + 2;
    for (k = ctl; *k; k += 2)
        if ((unsigned char)k[0] == e) {
            *lit = (unsigned char)k[1];
            return i + 2;
        }
    return 0;
}

/* Adds the literal bytes at the pattern's top level that every match
   contains: each not inside a group or class, not quantified to
   optional, in a pattern without a top-level '|'.  Adds nothing when the
   pattern has syntax this reading does not follow (then PCRE2's own
   required bytes still apply). */
static void pattern_required(ls_set *ls, const char *pat, size_t len, uint32_t flags)
{
    const unsigned char *p = (const unsigned char *)pat;
    int caseless = !!(flags & RV_RE_CASELESS);
    unsigned char found[64];
    size_t nfound = 0, i = 0;
    if (flags & RV_RE_EXTENDED)     /* white space and comments */
        return;
    while (i < len) {
        unsigned char c = p[i];
        int lit = -1;
        size_t next;
        if (c == '(') {
            next = group_end(p, len, i);
        } else if (c == '[') {
            next = class_end(p, len, i);
        } else if (c == '\\') {
            next = escape(p, len, i, &lit);
        } else if (c == '.' || c == '^' || c == '$') {
            next = i + 1;
        } else if (c >= 0x80) {     /* a character outside ASCII: one item */
            for (next = i + 1; next < len && (p[next] & 0xC0) == 0x80; next++)
                ;
        } else if (strchr("|)?*+{", c) || c == 0) {
            next = 0;
        } else {
            lit = c;
            next = i + 1;
        }
        size_t end;
        unsigned long min;
        if (!next || quantifier(p, len, next, &end, &min) < 0)
            return;
        if (lit >= 0 && min > 0 && nfound < sizeof found)
            found[nfound++] = (unsigned char)lit;
        i = end;
    }
    for (size_t k = 0; k < nfound; k++)
        add_required(ls, found[k], caseless);
}

/* PCRE2's first and last code units, when it recorded them.  Its API
   does not say whether they are caseless: a letter counts in both
   cases. */
static void code_required(ls_set *ls, const void *code)
{
    uint32_t type = 0, cu = 0;
    if (!pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type) && type == 1 &&
        !pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &cu) && cu < 256)
        add_required(ls, (unsigned char)cu, 1);
    if (!pcre2_pattern_info(code, PCRE2_INFO_LASTCODETYPE, &type) && type == 1 &&
        !pcre2_pattern_info(code, PCRE2_INFO_LASTCODEUNIT, &cu) && cu < 256)
        add_required(ls, (unsigned char)cu, 1);
}

/* PCRE2's start bitmap as ranges, when it has one of at most LS_RANGES
   ranges (more: the scan would cost more than it saves). */
static void start_set(ls_set *ls, const void *code)
{
    uint32_t type = 1;
    const uint8_t *map = NULL;
    if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type) || type != 0 ||
        pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &map) || !map)
        return;
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
            ls->nrange = 0;
            return;
        }
        memset(ls->lo[ls->nrange], (int)lo, 16);
        memset(ls->span[ls->nrange], (int)(c - 1 - lo), 16);
        ls->nrange++;
    }
    ls->has_map = 1;
}

ls_set *ls_filter(const void *code, const char *pattern, size_t len, uint32_t flags)
{
    uint32_t empty = 1;
    if (pcre2_pattern_info(code, PCRE2_INFO_MATCHEMPTY, &empty) || empty)
        return NULL;
    ls_set *ls = mem_calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    ls->filter = 1;
    start_set(ls, code);
    code_required(ls, code);
    pattern_required(ls, pattern, len, flags);
    if (!ls->has_map && !ls->nreq) {
        ls_free(ls);
        return NULL;
    }
    return ls;
}

int ls_exact(const ls_set *ls)
{
    return !ls->filter;
}

#ifdef __SSE2__
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* Bit j: the byte at s[j] is in the start set (reads s[0 .. 16)). */
static inline unsigned range_mask(const ls_set *ls, const unsigned char *s)
{
    __m128i v = LD(s), acc = _mm_setzero_si128();
    for (uint32_t k = 0; k < ls->nrange; k++) {
        __m128i x = _mm_sub_epi8(v, LD(ls->lo[k]));     /* in range: x <= span, unsigned */
        acc = _mm_or_si128(acc, _mm_cmpeq_epi8(_mm_min_epu8(x, LD(ls->span[k])), x));
    }
    return (unsigned)_mm_movemask_epi8(acc);
}
#endif

/* Is there a byte in s[0..n) a match may start with?  (A text of 16
   bytes or more ends with a vector over its last 16, which may overlap
   the one before: testing a byte twice changes nothing.) */
static int may_start(const ls_set *ls, const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; n - i >= 16; i += 16)
            if (range_mask(ls, s + i))
                return 1;
        return i < n && range_mask(ls, s + n - 16);
    }
#endif
    for (; i < n; i++)
        if (ls->map[s[i] >> 3] >> (s[i] & 7) & 1)
            return 1;
    return 0;
}

int ls_required(const ls_set *ls, const char *s, size_t n)
{
    for (uint32_t k = 0; k < ls->nreq; k++)
        if (!memchr(s, ls->req[k].b, n))
            return 0;
    return 1;
}

int ls_may_start(const ls_set *ls, const char *s, size_t n)
{
    return !ls->has_map || may_start(ls, (const unsigned char *)s, n);
}

const uint8_t *ls_start_set(const ls_set *ls)
{
    return ls->has_map ? ls->map : NULL;
}

/* Does some literal (and a byte of the class after it) occur at s[i..n)? */
static int match_at(const ls_set *ls, const unsigned char *s, size_t n, size_t i)
{
    uint64_t m = ls->first[s[i]];
    while (m) {
        unsigned k = (unsigned)__builtin_ctzll(m);
        m &= m - 1;
        const unsigned char *l = (const unsigned char *)ls->lit[k].s;
        uint32_t ln = ls->lit[k].n;
        size_t took = 0;
        if (ln > n - i)     /* every character of a literal takes a byte at least */
            continue;
        if (ls->caseless) {
            took = caseless_at(l, ln, s + i, n - i);
        } else {
            uint32_t j = 1;
            while (j < ln && s[i + j] == l[j])
                j++;
            took = j == ln ? ln : 0;
        }
        if (took && (!ls->has_class || (took < n - i && ls->cls[s[i + took] >> 3] >> (s[i + took] & 7) & 1)))
            return 1;
    }
    return 0;
}

#ifdef __SSE2__
/* The filter 16 positions at a time: bit j of the result is set when the
   bytes at i + j and i + j + 1 are one of the pairs (reads s[i .. i + 17)). */
static inline unsigned pair_mask(const ls_set *ls, const unsigned char *s, size_t i)
{
    __m128i v0 = LD(s + i), v1 = LD(s + i + 1), acc = _mm_setzero_si128();
    for (uint32_t k = 0; k < ls->npair; k++)
        acc = _mm_or_si128(acc, _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(v0, LD(ls->fa[k])), LD(ls->a[k])),
                                              _mm_cmpeq_epi8(_mm_or_si128(v1, LD(ls->fb[k])), LD(ls->b[k]))));
    return (unsigned)_mm_movemask_epi8(acc);
}
#undef LD
#endif

int ls_search(const ls_set *ls, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (ls->filter)
        return ls_required(ls, str, n) && ls_may_start(ls, str, n);
    if (ls->anchored)
        return n && match_at(ls, s, n, 0);
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
