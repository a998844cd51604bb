/* The literal-set matcher must answer exactly as PCRE2 does: a
   differential test over generated texts, for each pattern the matcher
   accepts, plus the patterns it must decline. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "litset.h"
#include "program.h"
#include "verify.h"

static int failures;

static uint32_t rng = 12345;
static uint32_t next(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

int main(void)
{
    static const struct { const char *pat; uint32_t flags; } pats[] = {
        { "(password|credit card|iban)", RV_RE_CASELESS },
        { "(traceback|exception|segfault|stack trace)", RV_RE_CASELESS },
        { "(?:refund|chargeback)", 0 },
        { "ab|abc|b", RV_RE_CASELESS },
        { "x-ray", RV_RE_CASELESS | RV_RE_MULTILINE | RV_RE_DOTALL },
        { "Case", 0 },
        { "(secret|kelvin|sks)", RV_RE_CASELESS },    /* Unicode folds: U+017F is s, U+212A is k */
        { "(ask|ss)", 0 },
        { "(q|zz|k)", RV_RE_CASELESS },                 /* one-byte literals */
        { "(a|b|c|d|e|f|g|h|i|j|k|l|m|n)", RV_RE_CASELESS },  /* more pairs than the scan's filter takes */
        { "(ab-|-x|x-ray|s s)", RV_RE_CASELESS },       /* non-letters in the first two bytes */
    };
    static const char *const declined[] = { "^(hi|hello)[ ,.!]", "[0-9]{3}-[0-9]{2}", "a|", "(a)(b)", "x*", "a.b",
                                            "caf\xc3\xa9", "" };
    const char *alphabet[] = { "a", "b", "c", "x", "-", "r", "y", " ", "pass", "word", "PASS", "iban", "IbAn",
                               "credit", " card", "stack", " trace", "Case", "case", "refund", "\xc3\xa9", "\xff",
                               "\n", "segfault", "exception", "ab", "x-ray", "X-RAY",
                               "\xc5\xbf", "\xe2\x84\xaa", "\xc5", "\xe2\x84", "secret", "ecret", "elvin", "s", "k", "S",
                               "q", "zZ", "ZZ", "0123456789", "lorem ipsum dolor ", "....", "@`[{" };
    for (size_t k = 0; k < sizeof pats / sizeof *pats; k++) {
        ls_set *ls = ls_compile(pats[k].pat, strlen(pats[k].pat), pats[k].flags);
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pats[k].pat, PCRE2_ZERO_TERMINATED,
                                       ver_pcre2_options(pats[k].flags), &ec, &eo, NULL);
        pcre2_match_data *md = pcre2_match_data_create(4, NULL);
        if (!ls || !re) {
            printf("FAIL litset %s: not compiled\n", pats[k].pat);
            failures++;
            continue;
        }
        int agree = 1, matches = 0;
        for (int t = 0; t < 20000 && agree; t++) {
            /* Texts of words; every fourth one instead up to 300 bytes of a
               filler no literal contains with at most one word put at a
               random place, so that the scan (16 bytes at a time, then
               a tail) meets matches at every offset and texts without. */
            char text[512];
            size_t n = 0;
            if (t % 4 == 0) {
                static const char filler[] = "0123456789 .,;:";
                n = next() % 300;
                for (size_t i = 0; i < n; i++)
                    text[i] = filler[next() % (sizeof filler - 1)];
                const char *a = alphabet[next() % (sizeof alphabet / sizeof *alphabet)];
                size_t l = strlen(a), at = next() % (n + 1);
                if (next() % 4) {
                    memmove(text + at + l, text + at, n - at);
                    memcpy(text + at, a, l);
                    n += l;
                }
            } else {
                size_t words = next() % (t % 2 ? 12 : 60);
                for (size_t w = 0; w < words; w++) {
                    const char *a = alphabet[next() % (sizeof alphabet / sizeof *alphabet)];
                    size_t l = strlen(a);
                    if (n + l >= sizeof text)
                        break;
                    memcpy(text + n, a, l);
                    n += l;
                }
            }
            int want = pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL) >= 0;
            int got = ls_search(ls, text, n);
            matches += want;
            if (want != got) {
                printf("FAIL litset %s: \"%.*s\": pcre2 %d, litset %d\n", pats[k].pat, (int)n, text, want, got);
                agree = 0;
                failures++;
            }
        }
        if (agree)
            printf("PASS litset %s agrees with PCRE2 (20000 texts, %d matching)\n", pats[k].pat, matches);
        ls_free(ls);
        pcre2_code_free(re);
        pcre2_match_data_free(md);
    }
    for (size_t k = 0; k < sizeof declined / sizeof *declined; k++) {
        ls_set *ls = ls_compile(declined[k], strlen(declined[k]), RV_RE_CASELESS);
        if (ls) {
            printf("FAIL litset declines %s\n", declined[k]);
            failures++;
            ls_free(ls);
        } else {
            printf("PASS litset declines \"%s\"\n", declined[k]);
        }
    }
    return failures ? 1 : 0;
}
