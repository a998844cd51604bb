/* Lint of regex sources (compiler/regexlint.c): shapes whose matching can
   take exponential time. */
#ifndef RV_REGEXLINT_H
#define RV_REGEXLINT_H

#include <stddef.h>

/* Does pattern 'p' repeat, without bound, a group whose body repeats
   without bound (and is not delimited)?  1 with '*at' the offset of the
   outer quantifier, else 0. */
int rl_nested_quantifier(const char *p, int caseless, size_t *at);

#endif
