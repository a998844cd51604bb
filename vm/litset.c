/* Literal-set matching; see litset.h. */
#include <stdlib.h>
#include <string.h>

#include "litset.h"
#include "mem.h"
#include "program.h"

#define LS_MAX 64

struct ls_set {
    int caseless;
    uint32_t nlit;
    uint64_t first[256];          /* bit k: literal k may start with this byte */
    struct { char *s; uint32_t n; } lit[LS_MAX];
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
        start = i + 1;
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

int ls_search(const ls_set *ls, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n; i++) {
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
    }
    return 0;
}
