/* Random text for the differential tests that generate policies and
   requests (dispatch_test, plan_test): a growable buffer written with
   printf formats, a fixed xorshift sequence, so that a failure repeats,
   and the parse of a generated request.  Header-only (static), as every tests/unit/NAME.c is its own
   binary. */
#ifndef RV_TEST_GENTEXT_H
#define RV_TEST_GENTEXT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "request.h"

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

/* A provider 'p' and models m0 .. m<n-1> of it, the head of a policy. */
static void gen_models(buf *b, int n) __attribute__((unused));
static void gen_models(buf *b, int n)
{
    put(b, "provider p { kind openai endpoint \"https://x.example/v1\" }\n");
    for (int m = 0; m < n; m++)
        put(b, "model m%d from p { id \"m%d\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n", m, m);
}

/* The request written in 'b', parsed (the caller frees it with
   req_free), or NULL after a FAIL line naming test 'what' and counting
   it in '*failures'. */
static rv_request *gen_request(const buf *b, const char *what, int *failures) __attribute__((unused));
static rv_request *gen_request(const buf *b, const char *what, int *failures)
{
    rv_reqerr err;
    rv_request *r = req_parse(b->s, b->len, NULL, &err);
    if (!r) {
        printf("FAIL %s request: %s: %s\n", what, b->s, err.msg);
        ++*failures;
    }
    return r;
}

#endif
