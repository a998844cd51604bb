/* vm/providers/sse.c against data.

   Fixtures: the OpenAI and Anthropic SDK streams vendored in
   tests/vectors/sse/.  Their expectations (tests/sse/fixtures/) were
   written by tests/sse/reference.py, a second decoder written plainly from
   the WHATWG text.  Besides matching them: every OpenAI stream has the
   README's event count, ends cleanly with "data: [DONE]" and every other
   event's data is a JSON object; every Anthropic event's data is JSON
   whose "type" is the event's type, the last event is message_stop, and
   each of these streams ends without a blank line -- so it must come back
   marked unterminated (and cut when no line end follows it at all).

   Cases: the .case files of tests/sse/cases/, written by hand from the specification
   (line endings, comments, fields without colon, BOM, UTF-8 repair, id and
   retry rules, streams ending in every way, the caps); see its README.
   reference.py checks their expectations too (tests/suites/sse_reference.sh).

   Every input is decoded whole, one byte per call, split in two at every
   position (inputs up to 4 KiB), and in seeded random pieces, each piece an
   exact-size heap copy so the sanitizers see a read past it; every way must
   print the expectation exactly.  Then: errors stick until reset, events
   stay valid until the next call, and every allocation failing in turn.
   Usage: sse_test REPO_ROOT */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sse.h"

static int failures;

#define PASS(...) (printf("PASS "), printf(__VA_ARGS__), putchar('\n'))
#define FAIL(name, ...) \
    (failures++, printf("FAIL %s: ", name), printf(__VA_ARGS__), putchar('\n'))

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(2);
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void putf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = { 0 };
    char tmp[65536];
    size_t got;
    put(&b, "", 0);
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, got);
    fclose(f);
    *n = b.len;
    return b.p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s;
    if (vasprintf(&s, f, ap) < 0)
        exit(2);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------ */
/* Text form of a decoded stream (reference.py prints the same)        */
/* ------------------------------------------------------------------ */

static void quote(buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20 || c > 0x7e)
            putf(b, "\\x%02x", c);
        else
            put(b, &s[i], 1);
    }
    put(b, "\"", 1);
}

static void dump(buf *b, const sse_event *e)
{
    put(b, "event type=", 11);
    quote(b, e->type, e->type_len);
    put(b, " data=", 6);
    quote(b, e->data, e->data_len);
    put(b, " id=", 4);
    quote(b, e->id, e->id_len);
    putf(b, " retry=%lld%s%s\n", (long long)e->retry_ms, e->unterminated ? " unterminated" : "",
         e->cut_line ? " cut-line" : "");
}

/* Events of one decode, for the semantic checks on the fixtures. */
typedef struct {
    char *type, *data;
    size_t data_len;
    int unterminated, cut_line;
} ev_copy;

typedef struct {
    ev_copy *v;
    size_t n;
} ev_list;

static void keep(ev_list *l, const sse_event *e)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    ev_copy *c = &l->v[l->n++];
    c->type = strndup(e->type, e->type_len);
    c->data = malloc(e->data_len + 1);
    memcpy(c->data, e->data, e->data_len + 1);
    c->data_len = e->data_len;
    c->unterminated = e->unterminated;
    c->cut_line = e->cut_line;
}

static void ev_free(ev_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].type), free(l->v[i].data);
    free(l->v);
}

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* Decodes data[0..n) in pieces: 'mode' 0 whole, 1 one byte per call, 2 split
   at 'at', 3 random piece sizes.  Returns the text form; events copied
   into 'evs' when given. */
static char *decode(const char *data, size_t n, size_t max_event, int mode, size_t at, ev_list *evs)
{
    sse_decoder *d = sse_decoder_new(max_event);
    buf out = { 0 };
    put(&out, "", 0);
    size_t pos = 0;
    sse_status st = SSE_NEED;
    sse_event e;
    while (pos < n && st >= 0) {
        size_t len = mode == 0 ? n : mode == 1 ? 1 : mode == 2 ? (pos < at ? at - pos : n - pos)
                                                               : 1 + rng() % 97;
        if (len > n - pos)
            len = n - pos;
        char *piece = malloc(len);
        memcpy(piece, data + pos, len);
        size_t off = 0;
        while (off < len) {
            size_t used;
            st = sse_feed(d, piece + off, len - off, &used, &e);
            off += used;
            if (st != SSE_EVENT)
                break;
            dump(&out, &e);
            if (evs)
                keep(evs, &e);
        }
        free(piece);
        pos += len;
    }
    if (st >= 0) {
        st = sse_finish(d, &e);
        if (st == SSE_EVENT) {
            dump(&out, &e);
            if (evs)
                keep(evs, &e);
            put(&out, "end unclean\n", 12);
        } else if (st == SSE_END) {
            put(&out, "end clean\n", 10);
        } else if (st == SSE_ERR_TRUNCATED) {
            put(&out, "end truncated\n", 14);
        }
    }
    if (st < 0 && st != SSE_ERR_TRUNCATED)
        putf(&out, "error %s\n", sse_status_name(st));
    sse_decoder_free(d);
    return out.p;
}

static void show_diff(const char *got, const char *want)
{
    int line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n')
            line++;
        g++, w++;
    }
    while (g > got && g[-1] != '\n')
        g--, w--;
    printf("    differ at line %d:\n    got:  %.160s\n    want: %.160s\n", line, g, w);
}

/* Every way of cutting 'data' must print 'want'. */
static int check_stream(const char *name, const char *data, size_t n, size_t max_event, const char *want)
{
    struct { int mode; const char *what; } ways[] = { { 0, "whole" }, { 1, "one byte at a time" } };
    for (size_t w = 0; w < 2; w++) {
        char *got = decode(data, n, max_event, ways[w].mode, 0, NULL);
        int ok = !strcmp(got, want);
        if (!ok) {
            FAIL(name, "decoded %s, the result differs", ways[w].what);
            show_diff(got, want);
        }
        free(got);
        if (!ok)
            return 0;
    }
    for (size_t at = 1; at < n && n <= 4096; at++) {
        char *got = decode(data, n, max_event, 2, at, NULL);
        int ok = !strcmp(got, want);
        if (!ok) {
            FAIL(name, "split at byte %zu, the result differs", at);
            show_diff(got, want);
        }
        free(got);
        if (!ok)
            return 0;
    }
    rng_state = 42;
    for (int r = 0; r < 50; r++) {
        char *got = decode(data, n, max_event, 3, 0, NULL);
        int ok = !strcmp(got, want);
        if (!ok) {
            FAIL(name, "random pieces (seed 42, run %d), the result differs", r);
            show_diff(got, want);
        }
        free(got);
        if (!ok)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

/* The README's event counts (data lines) for the OpenAI streams. */
static const struct { const char *prefix; size_t events; } openai_counts[] = {
    { "e2aad469b71d", 34 }, { "7e5ea4d12e7c", 18 }, { "a491adda08c3", 50 }, { "4cc50a6135d2", 5 },
    { "173417d55340", 14 }, { "83b060bae42e", 6 }, { "569c877e6942", 15 }, { "c6aa7e397b71", 18 },
    { "f82268f2fefd", 26 }, { "a247c49c5fcd", 14 }, { "2018feb66ae1", 11 }, { "d61558011839", 181 },
};

static const char *openai_semantics(const ev_list *l, const char *file, const char *text)
{
    size_t want = 0;
    for (size_t i = 0; i < sizeof openai_counts / sizeof *openai_counts; i++)
        if (!strncmp(file, openai_counts[i].prefix, 12))
            want = openai_counts[i].events;
    if (!want || l->n != want)
        return "the event count is not the README's";
    if (!strstr(text, "end clean"))
        return "the stream did not end cleanly";
    if (strcmp(l->v[l->n - 1].data, "[DONE]"))
        return "the last event is not [DONE]";
    for (size_t i = 0; i + 1 < l->n; i++) {
        json_t *j = json_loads(l->v[i].data, 0, NULL);
        int ok = json_is_object(j) && strcmp(l->v[i].type, "message") == 0;
        json_decref(j);
        if (!ok)
            return "an event before [DONE] is not a JSON object of type message";
    }
    json_t *u = json_loads(l->v[l->n - 2].data, 0, NULL);
    int usage = json_is_object(json_object_get(u, "usage")) && json_array_size(json_object_get(u, "choices")) == 0;
    json_decref(u);
    return usage ? NULL : "the event before [DONE] is not the usage chunk with empty choices";
}

static const char *anthropic_semantics(const ev_list *l, const char *raw, size_t n)
{
    if (l->n < 2)
        return "fewer than two events";
    for (size_t i = 0; i < l->n; i++) {
        json_t *j = json_loads(l->v[i].data, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "type"));
        int ok = t && !strcmp(t, l->v[i].type);
        json_decref(j);
        if (!ok)
            return "an event's data is not JSON whose type is the event's type";
        if (l->v[i].unterminated != (i + 1 == l->n))
            return "only the last event may be (and must be) unterminated";
    }
    const ev_copy *last = &l->v[l->n - 1];
    if (strcmp(last->type, "message_stop"))
        return "the last event is not message_stop";
    if (last->cut_line != (n > 0 && raw[n - 1] != '\n'))
        return "cut_line does not say whether the last line had a line end";
    return NULL;
}

static void fixtures(const char *root, const char *vendor)
{
    char *dir = fmt("%s/tests/vectors/sse/%s", root, vendor);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort), count = 0;
    for (int i = 0; i < n; i++) {
        const char *f = list[i]->d_name;
        if (f[0] == '.' || !strncmp(f, "LICENSE", 7)) {
            free(list[i]);
            continue;
        }
        count++;
        char *name = fmt("sse/%s/%.24s", vendor, f);
        char *p = fmt("%s/%s", dir, f), *x = fmt("%s/tests/sse/fixtures/%s/%s.expect", root, vendor, f);
        size_t len, xlen;
        char *raw = slurp(p, &len), *want = slurp(x, &xlen);
        if (!raw || !want) {
            FAIL(name, "cannot read %s or %s", p, x);
        } else if (check_stream(name, raw, len, 0, want)) {
            ev_list l = { 0 };
            char *text = decode(raw, len, 0, 0, 0, &l);
            const char *why = !strcmp(vendor, "openai") ? openai_semantics(&l, f, text)
                                                       : anthropic_semantics(&l, raw, len);
            if (why)
                FAIL(name, "%s", why);
            else
                PASS("%s (%zu events, %zu bytes, %s%s)", name, l.n, len,
                     len <= 4096 ? "every split" : "whole, bytewise, 50 random splittings",
                     l.n && l.v[l.n - 1].unterminated ? "; the last one unterminated" : "");
            ev_free(&l);
            free(text);
        }
        free(raw), free(want), free(p), free(x), free(name), free(list[i]);
    }
    free(list);
    if (count != (strcmp(vendor, "openai") ? 7 : 12))
        FAIL("sse/fixtures", "%d %s fixtures found", count, vendor);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Hand-written cases                                                  */
/* ------------------------------------------------------------------ */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Appends the escaped text 's' (\r \n \t \\ \s \xNN) as bytes; -1 on a bad escape. */
static int unescape(buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s != '\\') {
            put(b, s, 1);
            continue;
        }
        char c = *++s;
        if (c == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            char v = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            put(b, &v, 1);
            s += 2;
        } else if (c && strchr("rnts\\", c)) {
            put(b, c == 'r' ? "\r" : c == 'n' ? "\n" : c == 't' ? "\t" : c == 's' ? " " : "\\", 1);
        } else {
            return -1;
        }
    }
    return 0;
}

static void cases(const char *root)
{
    char *dir = fmt("%s/tests/sse/cases", root);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort), count = 0;
    for (int i = 0; i < n; i++) {
        const char *f = list[i]->d_name;
        size_t fl = strlen(f);
        if (fl < 6 || strcmp(f + fl - 5, ".case")) {
            free(list[i]);
            continue;
        }
        count++;
        char *name = fmt("sse/case/%.*s", (int)fl - 5, f), *p = fmt("%s/%s", dir, f);
        size_t len;
        char *text = slurp(p, &len);
        buf input = { 0 }, want = { 0 };
        put(&input, "", 0);
        put(&want, "", 0);
        size_t max_event = 0;
        int in_expect = 0, bad = !text;
        for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line && !bad;
             line = strtok_r(NULL, "\n", &save)) {
            if (in_expect) {
                put(&want, line, strlen(line));
                put(&want, "\n", 1);
            } else if (line[0] == '#') {
                continue;
            } else if (!strncmp(line, "input: ", 7)) {
                bad = unescape(&input, line + 7);
            } else if (!strncmp(line, "max_event: ", 11)) {
                max_event = strtoul(line + 11, NULL, 10);
            } else if (!strcmp(line, "expect:")) {
                in_expect = 1;
            } else {
                bad = 1;
            }
        }
        if (bad || !in_expect)
            FAIL(name, "%s is not a well-formed case", p);
        else if (check_stream(name, input.p, input.len, max_event, want.p))
            PASS("%s (every split)", name);
        free(input.p), free(want.p), free(text), free(p), free(name), free(list[i]);
    }
    free(list);
    if (count < 40)
        FAIL("sse/cases", "only %d cases in %s", count, dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Hand-made checks                                                    */
/* ------------------------------------------------------------------ */

static void sticky_and_lifetime(void)
{
    sse_decoder *d = sse_decoder_new(8);
    sse_event e, e2;
    size_t used;
    const char *in = "data: a\n\ndata: b\n\n";
    sse_status s1 = sse_feed(d, in, strlen(in), &used, &e);
    size_t used1 = used;
    int first = s1 == SSE_EVENT && e.data_len == 1 && e.data[0] == 'a' && e.data[1] == 0 && used1 == 9;
    sse_status s2 = sse_feed(d, in + used1, strlen(in) - used1, &used, &e2);
    int second = s2 == SSE_EVENT && e2.data[0] == 'b';
    sse_status s3 = sse_feed(d, "data: 123456789\n", 16, &used, &e);
    sse_status s4 = sse_feed(d, "data: x\n\n", 9, &used, &e);
    sse_status s5 = sse_finish(d, &e);
    int msg = !strcmp(sse_decoder_error(d), "line 5 is longer than 8 bytes");
    sse_decoder_reset(d);
    sse_status s6 = sse_feed(d, "id: 1\n", 6, &used, &e);
    sse_status s7 = sse_finish(d, &e);
    int trunc = !strcmp(sse_decoder_error(d), "the stream ended inside an event (line 2)");
    /* after sse_finish, the next call starts a new stream: no old id */
    sse_status s8 = sse_feed(d, "data: z\n\n", 9, &used, &e);
    int fresh = s8 == SSE_EVENT && e.id_len == 0 && e.retry_ms == -1;
    if (first && second && s3 == SSE_ERR_LINE && s4 == s3 && s5 == s3 && msg && s6 == SSE_NEED &&
        s7 == SSE_ERR_TRUNCATED && trunc && fresh)
        PASS("sse/sticky-errors-and-restart");
    else
        FAIL("sse/sticky-errors-and-restart", "%d %d %d %d %d %d %d %d %d %d %d (%s)", first, second, s3, s4, s5,
             msg, s6, s7, trunc, s8, fresh, sse_decoder_error(d));
    sse_decoder_free(d);

    /* the default and the largest caps */
    d = sse_decoder_new(0);
    char *big = malloc(SSE_MAX_EVENT + 16);
    memcpy(big, "data:", 5);
    memset(big + 5, 'x', SSE_MAX_EVENT - 5);
    memcpy(big + SSE_MAX_EVENT, "\n\n", 2);
    sse_status a = sse_feed(d, big, SSE_MAX_EVENT + 2, &used, &e);
    int a_ok = a == SSE_EVENT && e.data_len == SSE_MAX_EVENT - 5;
    sse_decoder_reset(d);
    memset(big + 5, 'x', SSE_MAX_EVENT - 4);
    memcpy(big + SSE_MAX_EVENT + 1, "\n\n", 2);
    sse_status b = sse_feed(d, big, SSE_MAX_EVENT + 3, &used, &e);
    if (a_ok && b == SSE_ERR_LINE)
        PASS("sse/default-cap (a 1 MiB line passes, one byte more does not)");
    else
        FAIL("sse/default-cap", "%d %d", a, b);
    free(big);
    sse_decoder_free(d);
}

static void oom(const char *root)
{
    char *p = fmt("%s/tests/vectors/sse/anthropic/tool_use_response.txt", root);
    size_t n;
    char *data = slurp(p, &n);
    free(p);
    int failed = 0, bad = 0;
    for (long k = 0; data && k < 16; k++) {
        mem_fail_after(k);
        sse_decoder *d = sse_decoder_new(0);
        if (!d) {
            mem_fail_after(-1);
            failed++;
            continue;
        }
        sse_status st = SSE_NEED;
        size_t off = 0, used;
        sse_event e;
        while (off < n && st >= 0) {
            st = sse_feed(d, data + off, n - off, &used, &e);
            off += used;
        }
        if (st >= 0)
            st = sse_finish(d, &e);
        mem_fail_after(-1);
        if (st < 0) {
            failed++;
            if (st != SSE_ERR_NOMEM || strcmp(sse_decoder_error(d), "out of memory"))
                bad++;
        }
        sse_decoder_free(d);
    }
    if (data && failed && !bad)
        PASS("sse/out-of-memory (%d of 16 runs failed cleanly)", failed);
    else
        FAIL("sse/out-of-memory", "%d failures not reported as out of memory", bad);
    free(data);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    fixtures(root, "openai");
    fixtures(root, "anthropic");
    cases(root);
    sticky_and_lifetime();
    oom(root);
    return failures ? 1 : 0;
}
