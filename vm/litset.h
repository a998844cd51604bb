/* Literal-set matching: regexes that are only an alternation of literal
   words -- /(password|credit card|iban)/i -- answered without the regex
   engine.  For 'does it match anywhere' this is exactly PCRE2's answer,
   found the way a hand-written scanner would: one pass, a table of the
   literals' first bytes, a comparison only where one starts.  Redaction,
   which needs positions, still uses PCRE2.

   Start filters: for any other regex whose matches can only start with a
   byte of a known set (PCRE2's start bitmap: \d for
   /(?<!\d)\d{3}-\d{2}-\d{4}/), a scan that says 'no match' exactly when
   no such byte occurs -- chat text often has no digit at all -- and
   'maybe' otherwise, leaving the answer to PCRE2. */
#ifndef RV_LITSET_H
#define RV_LITSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_set ls_set;

/* A matcher for 'pattern' (with rv_regex flags), or NULL when the pattern
   is anything but ASCII literals separated by '|', optionally in one
   group '(...)' or '(?:...)', with no other regex syntax. */
ls_set *ls_compile(const char *pattern, size_t len, uint32_t flags);
void ls_free(ls_set *ls);
/* A start filter for a compiled regex (a pcre2_code *), or NULL when it
   has no start bitmap, can match an empty string, or its set is too
   scattered to pay. */
ls_set *ls_start_filter(const void *pcre2_code);
/* 1 when 'ls' answers for its regex (a literal set), 0 when it is a start
   filter (its 0 is exact, its 1 means maybe). */
int ls_exact(const ls_set *ls);
/* A literal set: 1 if some literal occurs in s[0..n), else 0.  A start
   filter: 0 if no byte of s[0..n) can start a match, else 1. */
int ls_search(const ls_set *ls, const char *s, size_t n);

#endif
