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
   jsonfast reads each text three times: with its own buffers for
   decoded strings; with a room hook (jf_reader.room, each room a
   malloc'd buffer of exactly the size asked, so that a write past it is
   the sanitizer's to see), which must make the same calls with the same
   result, each decoded string at the address of the room asked just
   before its call; and, when a call is to stop the read, with the room
   hook refusing the request of that number instead (no callback
   stopping), which must stop the read (JF_STOPPED) just before the call
   the room was for: its calls are yajl's with that call returning 0,
   but for that last call.  Header-only: each tests/unit/NAME.c is its
   own binary. */
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
    const jf_reader *rd;        /* ... or jsonfast (&reader) */
    jf_reader reader;
    long calls, stop_at;        /* the call numbered stop_at (from 1) returns 0; 0: none */
    /* jsonfast with a room hook (jfr_room) */
    char **rooms;               /* the buffers given, freed after the read */
    size_t nrooms, caprooms;
    const char *room;           /* the last room given, for the next call ... */
    size_t room_n;              /* ... of this many bytes */
    long room_asked, room_refuse;   /* requests so far; the one numbered room_refuse is refused (0: none) */
    long refused_call;          /* the call the refused room was for; 0: none refused */
    int misplaced;              /* a call without its room, or a room without its call */
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

/* One call: "<tag> @<offset> [v<off>|c] <len>:<bytes>\n".  With a
   room hook, a copy (a decoded string) must be in the room just given,
   and a room must go to the call right after it. */
static int jfr_call(jfrec *r, char tag, const void *b, size_t n)
{
    char head[96];
    size_t pos = r->rd ? jf_consumed(r->rd) : yajl_get_bytes_consumed(r->h);
    int k, copy = 0;
    if (b) {
        uintptr_t d = (uintptr_t)b - (uintptr_t)r->in;
        if (d <= r->inlen && n <= r->inlen - d)
            k = snprintf(head, sizeof head, "%c @%zu v%zu %zu:", tag, pos, (size_t)d, n);
        else
            k = snprintf(head, sizeof head, "%c @%zu c %zu:", tag, pos, n), copy = 1;
    } else {
        k = snprintf(head, sizeof head, "%c @%zu", tag, pos);
    }
    if (r->rd && r->rd->room && (copy || r->room) && (!copy || b != (const void *)r->room || n != r->room_n))
        r->misplaced = 1;
    r->room = NULL;
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

/* The room hook: a buffer of exactly n bytes, kept until the read ends;
   the request numbered room_refuse refused. */
static char *jfr_room(void *u, size_t n)
{
    jfrec *r = u;
    if (++r->room_asked == r->room_refuse) {
        r->refused_call = r->calls + 1;
        return NULL;
    }
    if (r->nrooms == r->caprooms) {
        size_t cap = r->caprooms ? r->caprooms * 2 : 16;
        char **nb = realloc(r->rooms, cap * sizeof *nb);
        if (!nb) {
            r->oom = 1;
            return NULL;
        }
        r->rooms = nb;
        r->caprooms = cap;
    }
    char *b = malloc(n);
    if (!b) {
        r->oom = 1;
        return NULL;
    }
    r->rooms[r->nrooms++] = b;
    r->room = b;
    r->room_n = n;
    return b;
}

static void jfr_free_rooms(jfrec *r)
{
    for (size_t i = 0; i < r->nrooms; i++)
        free(r->rooms[i]);
    r->nrooms = 0;
}

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
    jfr_free_rooms(r);
    r->room = NULL;
    r->room_asked = r->room_refuse = r->refused_call = 0;
    r->misplaced = 0;
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

/* jsonfast over s[0..n) into 'f' with the call stop_at returning 0
   (0: none), with its own buffers or (room) a room hook, whose request
   numbered room_refuse (0: none) is refused. */
static jf_result jfr_fast(jfrec *f, const char *s, size_t n, long stop_at, int room, long room_refuse)
{
    jfr_start(f, s, n, stop_at);
    f->reader.room = room ? jfr_room : NULL;
    f->rd = &f->reader;
    f->room_refuse = room_refuse;
    return jf_parse(&f->reader, &jfr_callbacks, f, s, n);
}

/* jsonfast's calls in 'f' (its result st) against both yajl runs with
   the call stop_at returning 0 (0: none), as the property above says;
   'one_more': jsonfast was stopped by its room hook, and yajl's calls
   must be f's and one more, a decoded string's (the one the room was
   for).  1 when they agree, else 0 and why. */
static int jfr_against_yajl(const jfrec *f, jf_result st, long stop_at, int one_more, char *why, size_t whylen)
{
    jfrec y = { 0 };
    int ok = 1;
    for (int multi = 0; multi <= 1 && ok; multi++) {
        int ys = jfr_yajl(&y, f->in, f->inlen, stop_at, multi);
        const char *cfg = multi ? "yajl (multiple values)" : "yajl";
        if (ys < 0 || f->oom || y.oom) {
            snprintf(why, whylen, "out of memory");
            ok = 0;
        } else if (st == JF_DECLINED) {
            if (f->n > y.n || (f->n && memcmp(f->log, y.log, f->n) != 0)) {
                jfr_diff(f, &y, why, whylen, "declined, but its calls are not a prefix of yajl's");
                ok = 0;
            }
        } else if (ys != (st == JF_DONE ? 0 : 2)) {
            snprintf(why, whylen, "jsonfast %s, %s %s", jfr_result_name(st), cfg,
                     ys == 0 ? "took it" : ys == 1 ? "refused it" : "was stopped");
            ok = 0;
        } else if (one_more) {
            /* yajl's last call: "s @<offset> c <len>:<len bytes>\n" (or 'k') */
            char tag = 0;
            size_t pos, len = 0;
            int head = 0;
            if (f->n < y.n && !(f->n && memcmp(f->log, y.log, f->n) != 0)) {
                char last[96];
                size_t k = y.n - f->n < sizeof last - 1 ? y.n - f->n : sizeof last - 1;
                memcpy(last, y.log + f->n, k);
                last[k] = 0;
                if (sscanf(last, "%c @%zu c %zu:%n", &tag, &pos, &len, &head) != 3)
                    head = 0;
            }
            if (!head || (tag != 's' && tag != 'k') || f->n + (size_t)head + len + 1 != y.n) {
                jfr_diff(f, &y, why, whylen, "its room refused, but its calls are not yajl's but for a decoded string's");
                ok = 0;
            }
        } else if (f->n != y.n || (f->n && memcmp(f->log, y.log, f->n) != 0)) {
            jfr_diff(f, &y, why, whylen, jfr_result_name(st));
            ok = 0;
        }
    }
    free(y.log);
    return ok;
}

/* The property above for s[0..n) with the call stop_at returning 0
   (0: none); 1 when it holds, else 0 and why.  *took: jsonfast's
   result (with its own buffers). */
static int jfref_agree(const char *s, size_t n, long stop_at, jf_result *took, char *why, size_t whylen)
{
    jfrec f = { 0 }, g = { 0 };
    jf_result st = jfr_fast(&f, s, n, stop_at, 0, 0);
    *took = st;
    int ok = jfr_against_yajl(&f, st, stop_at, 0, why, whylen);
    /* with a room hook: the same calls, each decoded string in its room */
    jf_result sr = jfr_fast(&g, s, n, stop_at, 1, 0);
    if (ok && (sr != st || g.n != f.n || (f.n && memcmp(g.log, f.log, f.n) != 0) || g.misplaced || g.oom)) {
        if (g.oom)
            snprintf(why, whylen, "out of memory");
        else if (g.misplaced)
            snprintf(why, whylen, "with a room hook, a decoded string not in the room given just before its call");
        else if (sr != st)
            snprintf(why, whylen, "jsonfast %s, with a room hook %s", jfr_result_name(st), jfr_result_name(sr));
        else
            jfr_diff(&g, &f, why, whylen, "with a room hook (left) the calls differ");
        ok = 0;
    }
    /* the room request numbered stop_at refused, no callback stopping */
    if (ok && stop_at > 0) {
        sr = jfr_fast(&g, s, n, 0, 1, stop_at);
        if (g.misplaced) {
            snprintf(why, whylen, "with a room hook, a decoded string not in the room given just before its call");
            ok = 0;
        } else if (g.refused_call && sr != JF_STOPPED) {
            snprintf(why, whylen, "its room refused, jsonfast %s", jfr_result_name(sr));
            ok = 0;
        } else {
            ok = jfr_against_yajl(&g, sr, g.refused_call, g.refused_call != 0, why, whylen);
        }
    }
    jfr_free_rooms(&f);
    jfr_free_rooms(&g);
    free(f.rooms);
    free(g.rooms);
    free(f.log);
    free(g.log);
    return ok;
}

#endif
