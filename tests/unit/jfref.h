/* The one-pass JSON reader (vm/jsonfast.c) held to yajl, for
   tests/unit/jsonfast_test.c and tests/fuzz/fuzz_jsonfast.c.

   Both read a text through the same recording callbacks, which log each
   call: its kind, the offset yajl_get_bytes_consumed (or jf_consumed)
   gives during it, and its bytes -- noting whether they are a view of
   the text (and where) or a copy.  yajl runs twice, configured as the
   request model runs it (yajl_dont_validate_strings) and as the answers'
   reader does (also yajl_allow_multiple_values).  The property:
   - jsonfast read the text (JF_DONE): both yajl runs made exactly the
     same calls and took the text;
   - a callback stopped it (JF_STOPPED, the call numbered stop_at):
     both yajl runs made the same calls and were stopped there too;
   - it declined (JF_DECLINED): its calls are a prefix of each yajl run's.
   Header-only: each tests/unit/NAME.c is its own binary. */
#ifndef RV_TEST_JFREF_H
#define RV_TEST_JFREF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jsonfast.h"

typedef struct {
    char *log;
    size_t n, cap;
    int oom;
    const char *in;             /* the text */
    size_t inlen;
    yajl_handle h;              /* the reader running: yajl ... */
    const jf_reader *rd;        /* ... or jsonfast */
    long calls, stop_at;        /* the call numbered stop_at (from 1) returns 0; 0: none */
} jfrec;

static void jfr_put(jfrec *r, const void *b, size_t n)
{
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->n + n)
            cap *= 2;
        char *nb = realloc(r->log, cap);
        if (!nb) {
            r->oom = 1;
            return;
        }
        r->log = nb;
        r->cap = cap;
    }
    memcpy(r->log + r->n, b, n);
    r->n += n;
}

/* One call: "<tag> @<offset> [v<off>|c] <len>:<bytes>\n". */
static int jfr_call(jfrec *r, char tag, const void *b, size_t n)
{
    char head[96];
    size_t pos = r->rd ? jf_consumed(r->rd) : yajl_get_bytes_consumed(r->h);
    int k;
    if (b) {
        uintptr_t d = (uintptr_t)b - (uintptr_t)r->in;
        if (d <= r->inlen && n <= r->inlen - d)
            k = snprintf(head, sizeof head, "%c @%zu v%zu %zu:", tag, pos, (size_t)d, n);
        else
            k = snprintf(head, sizeof head, "%c @%zu c %zu:", tag, pos, n);
    } else {
        k = snprintf(head, sizeof head, "%c @%zu", tag, pos);
    }
    jfr_put(r, head, (size_t)k);
    if (b)
        jfr_put(r, b, n);
    jfr_put(r, "\n", 1);
    return ++r->calls != r->stop_at;
}

static int jfr_null(void *u) { return jfr_call(u, 'N', NULL, 0); }
static int jfr_bool(void *u, int v) { return jfr_call(u, v ? 'T' : 'F', NULL, 0); }
static int jfr_number(void *u, const char *s, size_t n) { return jfr_call(u, '#', s, n); }
static int jfr_string(void *u, const unsigned char *s, size_t n) { return jfr_call(u, 's', s, n); }
static int jfr_key(void *u, const unsigned char *s, size_t n) { return jfr_call(u, 'k', s, n); }
static int jfr_smap(void *u) { return jfr_call(u, '{', NULL, 0); }
static int jfr_emap(void *u) { return jfr_call(u, '}', NULL, 0); }
static int jfr_sarr(void *u) { return jfr_call(u, '[', NULL, 0); }
static int jfr_earr(void *u) { return jfr_call(u, ']', NULL, 0); }

static const yajl_callbacks jfr_callbacks = {
    jfr_null, jfr_bool, NULL, NULL, jfr_number, jfr_string, jfr_smap, jfr_key, jfr_emap, jfr_sarr, jfr_earr,
};

static void jfr_start(jfrec *r, const char *s, size_t n, long stop_at)
{
    r->n = 0;
    r->oom = 0;
    r->in = s;
    r->inlen = n;
    r->h = NULL;
    r->rd = NULL;
    r->calls = 0;
    r->stop_at = stop_at;
}

/* yajl over s[0..n): 0 took it, 1 refused it, 2 stopped by a callback
   (-1 out of memory). */
static int jfr_yajl(jfrec *r, const char *s, size_t n, long stop_at, int multi)
{
    jfr_start(r, s, n, stop_at);
    yajl_handle h = yajl_alloc(&jfr_callbacks, NULL, r);
    if (!h)
        return -1;
    r->h = h;
    yajl_config(h, yajl_dont_validate_strings, 1);
    if (multi)
        yajl_config(h, yajl_allow_multiple_values, 1);
    yajl_status st = yajl_parse(h, (const unsigned char *)s, n);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    return st == yajl_status_ok ? 0 : st == yajl_status_client_canceled ? 2 : 1;
}

static const char *jfr_result_name(jf_result st)
{
    return st == JF_DONE ? "read" : st == JF_STOPPED ? "stopped" : "declined";
}

/* The first line where two logs differ, for a message. */
static void jfr_diff(const jfrec *a, const jfrec *b, char *why, size_t n, const char *what)
{
    size_t i = 0, line = 1, bol = 0;
    while (i < a->n && i < b->n && a->log[i] == b->log[i]) {
        if (a->log[i] == '\n') {
            line++;
            bol = i + 1;
        }
        i++;
    }
    int la = (int)(a->n - bol < 60 ? a->n - bol : 60), lb = (int)(b->n - bol < 60 ? b->n - bol : 60);
    snprintf(why, n, "%s: call %zu differs: jsonfast \"%.*s\" yajl \"%.*s\"", what, line, la, a->log + bol, lb,
             b->log + bol);
}

/* The property above for s[0..n) with the call stop_at returning 0
   (0: none); 1 when it holds, else 0 and why.  *took: jsonfast's
   result. */
static int jfref_agree(const char *s, size_t n, long stop_at, jf_result *took, char *why, size_t whylen)
{
    jfrec f = { 0 }, y = { 0 };
    int ok = 1;
    jfr_start(&f, s, n, stop_at);
    jf_reader rd;
    f.rd = &rd;
    jf_result st = jf_parse(&rd, &jfr_callbacks, &f, s, n);
    *took = st;
    for (int multi = 0; multi <= 1 && ok; multi++) {
        int ys = jfr_yajl(&y, s, n, stop_at, multi);
        const char *cfg = multi ? "yajl (multiple values)" : "yajl";
        if (ys < 0 || f.oom || y.oom) {
            snprintf(why, whylen, "out of memory");
            ok = 0;
        } else if (st == JF_DECLINED) {
            if (f.n > y.n || (f.n && memcmp(f.log, y.log, f.n) != 0)) {
                jfr_diff(&f, &y, why, whylen, "declined, but its calls are not a prefix of yajl's");
                ok = 0;
            }
        } else if (ys != (st == JF_DONE ? 0 : 2)) {
            snprintf(why, whylen, "jsonfast %s, %s %s", jfr_result_name(st), cfg,
                     ys == 0 ? "took it" : ys == 1 ? "refused it" : "was stopped");
            ok = 0;
        } else if (f.n != y.n || (f.n && memcmp(f.log, y.log, f.n) != 0)) {
            jfr_diff(&f, &y, why, whylen, jfr_result_name(st));
            ok = 0;
        }
    }
    free(f.log);
    free(y.log);
    return ok;
}

#endif
