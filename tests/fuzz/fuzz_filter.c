/* libFuzzer target for the regex filters (vm/litset.h): a pattern comes
   from a policy or an .rbc image, so any byte string may reach the
   literal-set and filter readers; their answers decide whether PCRE2 runs.
   The input is FLAGS PATTERN '\0' TEXT (FLAGS one byte: rv_regex flags
   in its low four bits).
   Properties, any failure an abort():
   - no crash, no read outside the pattern or the text;
   - where PCRE2 compiles the pattern: a literal set answers exactly as
     PCRE2 does; a filter never says 'no match' where PCRE2 matches --
     on the text and on the text's every suffix of its last 64 bytes
     (so that a match can fall at any place of the scans' blocks).
   Seeds: tests/fuzz/corpus/filter/.  tests/suites/corpus.sh replays them
   through this harness. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "litset.h"
#include "verify.h"

static pcre2_match_context *mctx;

static void check(const ls_set *ls, const pcre2_code *re, pcre2_match_data *md, const char *t, size_t n)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)t, n, 0, 0, md, mctx);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        return;         /* a limit: nothing to compare */
    int says = ls_search(ls, t, n);
    if (ls_exact(ls) ? says != (rc >= 0) : rc >= 0 && !says)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!mctx && (mctx = pcre2_match_context_create(NULL))) {   /* patterns that backtrack forever: a limit */
        pcre2_set_match_limit(mctx, 20000);
        pcre2_set_depth_limit(mctx, 2000);
    }
    uint32_t flags = data[0] & 15;
    const uint8_t *end = memchr(data + 1, 0, size - 1);
    size_t plen = end ? (size_t)(end - data - 1) : size - 1;
    /* exact-size copies, so the sanitizers see any read past either */
    char *pat = malloc(plen ? plen : 1), *text = NULL;
    size_t n = end ? size - plen - 2 : 0;
    if (!pat || !(text = malloc(n ? n : 1))) {
        free(pat);
        return 0;
    }
    memcpy(pat, data + 1, plen);
    if (n)
        memcpy(text, end + 1, n);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, plen, ver_pcre2_options(flags), &ec, &eo, NULL);
    if (re) {
        pcre2_match_data *md = pcre2_match_data_create(4, NULL);
        ls_set *ls = ls_compile(pat, plen, flags);
        if (!ls)
            ls = ls_filter(re, pat, plen, flags);
        if (ls && md) {
            check(ls, re, md, text, n);
            for (size_t k = n > 64 ? n - 64 : 1; k <= n; k++)
                check(ls, re, md, text + k, n - k);
        }
        ls_free(ls);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
    free(pat);
    free(text);
    return 0;
}
