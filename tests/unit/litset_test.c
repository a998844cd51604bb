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

/* Appends up to 'words' words drawn from alphabet[from .. na) to text[0..*n)
   while they fit in 'cap' bytes. */
static void add_words(char *text, size_t cap, size_t *n, const char *const *alphabet, size_t from, size_t na,
                      size_t words)
{
    for (size_t w = 0; w < words; w++) {
        const char *a = alphabet[from + next() % (na - from)];
        size_t l = strlen(a);
        if (*n + l >= cap)
            break;
        memcpy(text + *n, a, l);
        *n += l;
    }
}

/* A start set may say 'maybe' where PCRE2 finds nothing, never 'no'
   where it finds a match; and it must decide many texts on its own (the
   filter's required bytes: tests/unit/filter_test.c). */
static void start_filters(void)
{
    static const struct { const char *pat; uint32_t flags; int filtered; } pats[] = {
        { "(?<!\\d)(?!000|666|9\\d\\d)\\d{3}-(?!00)\\d{2}-(?!0000)\\d{4}(?!\\d)", 0, 1 },   /* std.pii.ssn */
        { "(?<!\\d)(?:(?:4\\d{3}|5[1-5]\\d{2}|2[2-7]\\d{2}|6(?:011|5\\d{2})|35\\d{2})(?:[ -]?\\d{4}){3}|3[47]\\d{2}[ -]?\\d{6}[ -]?\\d{5})(?!\\d)", 0, 1 },
        { "[0-9]{3}-[0-9]{2}-[0-9]{4}", 0, 1 },
        { "[a-z]+@[a-z]+\\.com", RV_RE_CASELESS, 1 },     /* caseless: both cases, and U+212A, U+017F */
        { "(?:\\+|00)[1-9]\\d{1,2}[ .-]?\\d{3}", 0, 1 },
        { "(?:\xc3\xa9t\xc3\xa9|\xe2\x82\xac) ?\\d", 0, 1 },   /* "\u00e9t\u00e9" or the euro sign: bytes past ASCII */
        { "\\p{Nd}{2}", 0, 0 },                         /* no start bitmap */
        { "x*", 0, 0 },                                  /* matches the empty string */
        { "abc", 0, 0 },                                 /* a fixed first byte: PCRE2 finds it itself */
        { "^(hi|hello)", RV_RE_MULTILINE, 0 },
    };
    const char *alphabet[] = { "0", "12", "123-45-6789", "4111 1111 1111 1111", "000-12-3456", " ", "a", "B",
                               "@", ".com", "+44 ", "0044 207", "\xd9\xa3\xd9\xa4", "\xe2\x84\xaa", "\xc5\xbf",
                               "\xff", "\n", "lorem ipsum ", "x", "-", "KeLvIn@example.COM", "9",
                               "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac" };
    for (size_t k = 0; k < sizeof pats / sizeof *pats; k++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pats[k].pat, PCRE2_ZERO_TERMINATED,
                                       ver_pcre2_options(pats[k].flags), &ec, &eo, NULL);
        if (!re) {
            printf("FAIL start filter %s: not compiled\n", pats[k].pat);
            failures++;
            continue;
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        ls_set *ls = ls_filter(re, pats[k].pat, strlen(pats[k].pat), pats[k].flags);
        if (!ls != !pats[k].filtered || (ls && (ls_exact(ls) || !ls_start_set(ls)))) {
            printf("FAIL start filter %s: %s\n", pats[k].pat, ls ? "made" : "not made");
            failures++;
        } else if (!ls) {
            printf("PASS start filter: none for %s\n", pats[k].pat);
        } else {
            pcre2_match_data *md = pcre2_match_data_create(4, NULL);
            const uint8_t *map = NULL;
            pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &map);
            int agree = 1, ruled_out = 0, matches = 0;
            for (int t = 0; t < 20000 && agree; t++) {
                char text[512];
                size_t n = 0, words = next() % (t % 2 ? 6 : 60);
                /* half the texts without the first half of the alphabet (digits, '+', '@') */
                add_words(text, sizeof text, &n, alphabet, t % 4 < 2 ? 15 : 0, sizeof alphabet / sizeof *alphabet,
                          words);
                int want = pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL) >= 0;
                int got = ls_may_start(ls, text, n), starts = 0;
                for (size_t i = 0; i < n && !starts; i++)    /* the filter's own answer, from PCRE2's bitmap */
                    starts = map[(unsigned char)text[i] >> 3] >> (text[i] & 7) & 1;
                matches += want;
                ruled_out += !got;
                if (got != starts) {
                    printf("FAIL start filter %s: \"%.*s\": %d, a start byte %s\n", pats[k].pat, (int)n, text, got,
                           starts ? "occurs" : "does not occur");
                    agree = 0;
                    failures++;
                }
                if (want && !ls_search(ls, text, n)) {
                    printf("FAIL start filter %s: \"%.*s\" ruled out, PCRE2 matches\n", pats[k].pat, (int)n, text);
                    agree = 0;
                    failures++;
                }
            }
            if (agree && ruled_out < 2000) {
                printf("FAIL start filter %s: ruled out only %d of 20000 texts\n", pats[k].pat, ruled_out);
                failures++;
            } else if (agree) {
                printf("PASS start filter %s: never rules out a match (%d matching), rules out %d of 20000\n",
                       pats[k].pat, matches, ruled_out);
            }
            pcre2_match_data_free(md);
        }
        ls_free(ls);
        pcre2_code_free(re);
    }
}

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
        { "^(hi|hello|hey|thanks)[ ,.!]", RV_RE_CASELESS },   /* at the start, then a class */
        { "^(?:s|sk)[!.]", RV_RE_CASELESS },            /* Unicode folds at the start */
        { "^Case", 0 },
        { "^(pass|word)", RV_RE_DOTALL },
        { "(ab|a|b)[,@]", 0 },                         /* a class after a literal anywhere */
        { "(secret|kelvin)[.!]", RV_RE_CASELESS },
        { "x-ray[ ]", 0 },
    };
    static const char *const declined[] = { "[0-9]{3}-[0-9]{2}", "a|", "(a)(b)", "x*", "a.b", "caf\xc3\xa9", "",
                                            "^a|b", "a|b[,]", "(a)[a]", "(a)[^,]", "(a)[,-.]", "(a)[\\d]", "(a)[]",
                                            "^", "[,]", "(a)[,]]", "^(a)$" };
    const char *alphabet[] = { "a", "b", "c", "x", "-", "r", "y", " ", "pass", "word", "PASS", "iban", "IbAn",
                               "credit", " card", "stack", " trace", "Case", "case", "refund", "\xc3\xa9", "\xff",
                               "\n", "segfault", "exception", "ab", "x-ray", "X-RAY",
                               "\xc5\xbf", "\xe2\x84\xaa", "\xc5", "\xe2\x84", "secret", "ecret", "elvin", "s", "k", "S",
                               "q", "zZ", "ZZ", "0123456789", "lorem ipsum dolor ", "....", "@`[{",
                               "hi", "Hello", "HEY", "thanks", ",", "!", ".", "sk", "-" };
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
                add_words(text, sizeof text, &n, alphabet, 0, sizeof alphabet / sizeof *alphabet,
                          next() % (t % 2 ? 12 : 60));
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
    ls_set *multi = ls_compile("^(hi|hey)", 9, RV_RE_MULTILINE);    /* '^' after each newline too */
    if (multi) {
        printf("FAIL litset declines ^(hi|hey) multiline\n");
        failures++;
        ls_free(multi);
    } else {
        printf("PASS litset declines ^(hi|hey) multiline\n");
    }
    start_filters();
    return failures ? 1 : 0;
}
