/* Literal-set matching: regexes that are only an alternation of literal
   words -- /(password|credit card|iban)/i -- answered without the regex
   engine.  For 'does it match anywhere' this is exactly PCRE2's answer,
   found the way a hand-written scanner would: one pass, a table of the
   literals' first bytes, a comparison only where one starts.  Redaction,
   which needs positions, still uses PCRE2. */
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
/* 1 if some literal occurs in s[0..n), else 0. */
int ls_search(const ls_set *ls, const char *s, size_t n);

#endif
