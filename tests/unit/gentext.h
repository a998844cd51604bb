/* Random text for the differential tests that generate policies and
   requests (dispatch_test, plan_test): a growable buffer written with
   printf formats, and a fixed xorshift sequence, so that a failure
   repeats.  Header-only (static), as every tests/unit/NAME.c is its own
   binary. */
#ifndef RV_TEST_GENTEXT_H
#define RV_TEST_GENTEXT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The next number below 'n' of the sequence started by 'gen_seed'. */
static uint64_t gen_state = 0x2545f4914f6cdd1dull;
static inline void gen_seed(uint64_t s) { gen_state = s ? s : 1; }
static inline uint32_t rnd(uint32_t n)
{
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 7;
    gen_state ^= gen_state << 17;
    return (uint32_t)(gen_state % n);
}

/* A growable text buffer; 's' is owned by the test (free(b.s)). */
typedef struct { char *s; size_t len, cap; } buf;
static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
}

#endif
