/* Literal-set matching: regexes that are only an alternation of literal
   words -- /(password|credit card|iban)/i, /^(hi|hello)[ ,.!]/i --
   answered without the regex engine.  For 'does it match anywhere' this
   is exactly PCRE2's answer, found the way a hand-written scanner would:
   one pass, a table of the literals' first bytes, a comparison only
   where one starts.  Redaction, which needs positions, still uses PCRE2.

   Filters: for any other regex, necessary conditions of a match, checked
   by scans that say 'no match' exactly when a condition fails and
   'maybe' otherwise, leaving the answer to PCRE2.  Two kinds:
   - required bytes: literal bytes every match contains -- the '@' of an
     e-mail address, the '-' of 123-45-6789 -- from PCRE2
     (PCRE2_INFO_FIRSTCODEUNIT, PCRE2_INFO_LASTCODEUNIT) and from the
     pattern's own top level (a literal outside any group, alternation
     or optional quantifier), kept when rarer in text than a letter (a
     caseless letter never is);
   - a start set: the bytes a match can start with (PCRE2's start bitmap:
     \d for /(?<!\d)\d{3}-\d{2}-\d{4}/) -- chat text often has no
     digit at all.
   PCRE2 does not say whether the bytes it records are caseless: a letter
   from it is taken as caseless. */
#ifndef RV_LITSET_H
#define RV_LITSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_set ls_set;

/* A matcher for 'pattern' (with rv_regex flags), or NULL when the pattern
   is anything but ASCII literals separated by '|', optionally in one
   group '(...)' or '(?:...)', with no other regex syntax -- but for a
   '^' before (not multiline) and a class of punctuation after:
   /^(hi|hello|thanks)[ ,.!]/i. */
ls_set *ls_compile(const char *pattern, size_t len, uint32_t flags);
void ls_free(ls_set *ls);
/* A filter for 'pcre2_code' (a pcre2_code *) compiled from 'pattern'
   with rv_regex 'flags', or NULL when it has neither required bytes nor a
   usable start set, or can match an empty string. */
ls_set *ls_filter(const void *pcre2_code, const char *pattern, size_t len, uint32_t flags);
/* 1 when 'ls' answers for its regex (a literal set), 0 when it is a
   filter (its 0 is exact, its 1 means maybe). */
int ls_exact(const ls_set *ls);
/* A literal set: 1 if some literal occurs in s[0..n), else 0.  A filter:
   0 if s[0..n) fails one of its conditions, else 1 (ls_required and
   ls_may_start both). */
int ls_search(const ls_set *ls, const char *s, size_t n);
/* A filter's conditions one by one, for callers that share scans of one
   text between filters: 0 when a required byte is missing from s[0..n);
   0 when no byte of s[0..n) is in the start set (1 without one).  The
   start set as a bitmap (bit c & 7 of byte c >> 3), NULL without one:
   a text none of whose bytes is in a set has none of a subset's either. */
int ls_required(const ls_set *ls, const char *s, size_t n);
int ls_may_start(const ls_set *ls, const char *s, size_t n);
const uint8_t *ls_start_set(const ls_set *ls);

#endif
