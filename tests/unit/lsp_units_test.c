/* The small conversions under routec lsp, data-driven: UTF-16 units of
   UTF-8 text and back (compiler/lsp_pos.c), file: URIs to paths and back
   (compiler/lsp_uri.c), the framing reader's verdict on byte streams
   (compiler/lsp_frame.c), and the changes a didChange makes to a
   document, with the bounds on its size and on the work (lsp_doc.c).  The scripted-client cases (tests/lsp/) cover
   the same code end to end; these pin the edge cases one by one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsp_int.h"

static int failures;

static void check(int ok, const char *what, const char *name)
{
    printf("%s lsp_units/%s/%s\n", ok ? "PASS" : "FAIL", what, name);
    failures += !ok;
}

/* ---------------------------------------------------------------- positions */

static const struct {
    const char *name, *text;
    uint32_t units;           /* lspp_units of the whole text */
    uint32_t ask;             /* lspp_bytes(text, ask) ... */
    size_t bytes;             /* ... gives this */
} pos[] = {
    { "ascii", "abc", 3, 2, 2 },
    { "two-byte", "é", 1, 1, 2 },
    { "three-byte", "日本", 2, 1, 3 },
    { "four-byte is two units", "😀x", 3, 2, 4 },
    { "inside a surrogate pair stops before it", "😀x", 3, 1, 0 },
    { "past the end stops at the end", "ab", 2, 99, 2 },
    { "stray continuation byte is one unit", "\x80z", 2, 1, 1 },
    { "truncated sequence is not overrun", "a\xF0\x9F", 3, 3, 1 },
    { "empty", "", 0, 0, 0 },
};

static void test_positions(void)
{
    for (size_t i = 0; i < sizeof pos / sizeof *pos; i++) {
        size_t n = strlen(pos[i].text);
        check(lspp_units(pos[i].text, n) == pos[i].units && lspp_bytes(pos[i].text, n, pos[i].ask) == pos[i].bytes,
              "pos", pos[i].name);
    }
    size_t st, len;
    const char *t = "one\r\ntwo\nthree";
    check(!lspp_line(t, strlen(t), 0, &st, &len) && st == 0 && len == 3, "pos", "line 0 without its CR");
    check(!lspp_line(t, strlen(t), 2, &st, &len) && st == 9 && len == 5, "pos", "last line without a newline");
    check(lspp_line(t, strlen(t), 3, &st, &len) == -1, "pos", "past the last line");
}

/* ---------------------------------------------------------------- URIs */

static const struct {
    const char *name, *uri, *path;   /* path NULL: not a file path */
} uris[] = {
    { "plain", "file:///a/b.route", "/a/b.route" },
    { "localhost", "file://localhost/a/b.route", "/a/b.route" },
    { "escapes", "file:///a%20dir/%C3%A9.route", "/a dir/\xC3\xA9.route" },
    { "query dropped", "file:///a.route?x#y", "/a.route" },
    { "other host", "file://example.com/a.route", NULL },
    { "other scheme", "untitled:Untitled-1", NULL },
    { "bad escape", "file:///a%zz", NULL },
    { "truncated escape", "file:///a%2", NULL },
    { "NUL escape", "file:///a%00b", NULL },
};

static void test_uris(void)
{
    for (size_t i = 0; i < sizeof uris / sizeof *uris; i++) {
        char *p = lspu_to_path(uris[i].uri);
        check(uris[i].path ? p && !strcmp(p, uris[i].path) : !p, "uri", uris[i].name);
        free(p);
    }
    char *u = lspu_from_path("/no such dir/\xC3\xA9+x.route");
    check(u && !strcmp(u, "file:///no%20such%20dir/%C3%A9%2Bx.route"), "uri", "encoded from a path");
    char *back = u ? lspu_to_path(u) : NULL;
    check(back && !strcmp(back, "/no such dir/\xC3\xA9+x.route"), "uri", "round trip");
    free(u);
    free(back);
}

/* ---------------------------------------------------------------- framing */

static const struct {
    const char *name, *input;
    size_t max;
    const char *want;   /* results separated by '|': the body, "EOF", or "BAD:" and a word of the message */
} frames[] = {
    { "one message", "Content-Length: 2\r\n\r\n{}", 100, "{}|EOF" },
    { "two messages", "Content-Length: 1\r\n\r\naContent-Length: 1\r\n\r\nb", 100, "a|b|EOF" },
    { "bare LF and case", "content-length:3\n\nabc", 100, "abc|EOF" },
    { "other headers", "Content-Type: x\r\nContent-Length: 1\r\n\r\nz", 100, "z|EOF" },
    { "blank lines between", "\r\n\r\nContent-Length: 1\r\n\r\nz", 100, "z|EOF" },
    { "empty body", "Content-Length: 0\r\n\r\n", 100, "|EOF" },
    { "exactly the cap", "Content-Length: 4\r\n\r\nabcd", 4, "abcd|EOF" },
    { "over the cap", "Content-Length: 5\r\n\r\nabcde", 4, "BAD:limit" },
    { "20 digits", "Content-Length: 99999999999999999999\r\n\r\n", 4, "BAD:limit" },
    { "not a number", "Content-Length: 1x\r\n\r\n", 100, "BAD:number" },
    { "negative", "Content-Length: -1\r\n\r\n", 100, "BAD:number" },
    { "empty value", "Content-Length:\r\n\r\n", 100, "BAD:number" },
    { "twice", "Content-Length: 1\r\nContent-Length: 1\r\n\r\nz", 100, "BAD:twice" },
    { "missing", "Content-Type: x\r\n\r\n", 100, "BAD:without" },
    { "no colon", "Content-Length 1\r\n\r\n", 100, "BAD:':'" },
    { "ends in headers", "Content-Length: 1\r\n", 100, "BAD:headers" },
    { "ends in a line", "Content-Len", 100, "BAD:line" },
    { "ends in the body", "Content-Length: 9\r\n\r\nab", 100, "BAD:body" },
    { "empty input", "", 100, "EOF" },
};

static void test_frames(void)
{
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        FILE *in = fmemopen((void *)frames[i].input, strlen(frames[i].input), "r");
        if (!in && !*frames[i].input)
            in = fopen("/dev/null", "r");   /* (fmemopen of nothing may fail) */
        char got[512] = "", err[256];
        size_t used = 0;
        for (int k = 0; in && k < 8; k++) {
            char *body;
            size_t len;
            int r = lspf_read(in, frames[i].max, &body, &len, err, sizeof err);
            const char *sep = k ? "|" : "";
            if (r == LSPF_MSG) {
                used += (size_t)snprintf(got + used, sizeof got - used, "%s%.*s", sep, (int)len, body);
                free(body);
                continue;
            }
            snprintf(got + used, sizeof got - used, "%s%s", sep, r == LSPF_EOF ? "EOF" : "BAD:");
            if (r == LSPF_BAD) {
                const char *w = strchr(frames[i].want, ':');
                int ok = w && strstr(err, w + 1) && !strncmp(got, frames[i].want, (size_t)(w + 1 - frames[i].want));
                if (!ok)
                    fprintf(stderr, "    got %s%s\n", got, err);
                check(ok, "frame", frames[i].name);
                goto next;
            }
            break;
        }
        if (strcmp(got, frames[i].want))
            fprintf(stderr, "    got %s, want %s\n", got, frames[i].want);
        check(!strcmp(got, frames[i].want), "frame", frames[i].name);
    next:
        if (in)
            fclose(in);
    }
}

/* ---------------------------------------------------------------- document changes */

#define R(l0, c0, l1, c1) "\"range\":{\"start\":{\"line\":" #l0 ",\"character\":" #c0 "},\"end\":{\"line\":" \
                          #l1 ",\"character\":" #c1 "}}"

static const struct {
    const char *name, *text, *changes;
    const char *want;   /* the text after, or NULL: refused, the text as before */
} changes[] = {
    { "whole text", "abc", "[{\"text\":\"xyz\"}]", "xyz" },
    { "range insert", "ab\ncd", "[{" R(1, 1, 1, 1) ",\"text\":\"X\"}]", "ab\ncXd" },
    { "range across lines", "ab\ncd", "[{" R(0, 1, 1, 1) ",\"text\":\"\"}]", "ad" },
    { "each against the last", "ab", "[{" R(0, 0, 0, 0) ",\"text\":\"x\"},{" R(0, 0, 0, 2) ",\"text\":\"\"}]", "b" },
    { "units, not bytes", "\xF0\x9F\x98\x80z", "[{" R(0, 2, 0, 3) ",\"text\":\"y\"}]", "\xF0\x9F\x98\x80y" },
    { "past a line's end stops at it", "ab\ncd", "[{" R(0, 99, 0, 99) ",\"text\":\"!\"}]", "ab!\ncd" },
    { "no changes", "ab", "[]", "ab" },
    { "past the last line", "ab", "[{" R(1, 0, 1, 0) ",\"text\":\"x\"}]", NULL },
    { "start after end", "abcd", "[{" R(0, 3, 0, 1) ",\"text\":\"x\"}]", NULL },
    { "text not a string", "ab", "[{\"text\":1}]", NULL },
    { "negative position", "ab", "[{" R(0, -1, 0, 0) ",\"text\":\"x\"}]", NULL },
    { "all or none", "ab\ncd", "[{\"text\":\"new\"},{" R(5, 0, 5, 0) ",\"text\":\"x\"}]", NULL },
};

static void test_changes(void)
{
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        lspd_store st = { 0 };
        lspd_doc *d = lspd_open(&st, "file:///c.route", changes[i].text, strlen(changes[i].text), 1);
        json_t *ch = json_loads(changes[i].changes, 0, NULL);
        int r = d && ch ? lspd_change(&st, d, ch) : -2;
        const char *want = changes[i].want ? changes[i].want : changes[i].text;
        int ok = r == (changes[i].want ? 0 : -1) && d->len == strlen(want) && !memcmp(d->text, want, d->len) &&
                 st.bytes == d->len;
        if (!ok && d)
            fprintf(stderr, "    got %d, '%.*s'\n", r, (int)d->len, d->text);
        check(ok, "change", changes[i].name);
        json_decref(ch);
        lspd_free_all(&st);
    }
}

/* A text of n bytes of 'x' on one line. */
static char *filled(size_t n)
{
    char *t = malloc(n + 1);
    if (t) {
        memset(t, 'x', n);
        t[n] = 0;
    }
    return t;
}

static void test_change_bounds(void)
{
    lspd_store st = { 0 };
    char *big = filled(LSPD_MAX_TEXT + 1);
    check(big && !lspd_open(&st, "file:///big.route", big, LSPD_MAX_TEXT + 1, 1) && st.n == 0 && st.bytes == 0,
          "bound", "a text over the cap is not opened");
    /* growing past the cap by changes */
    lspd_doc *d = big ? lspd_open(&st, "file:///a.route", big, LSPD_MAX_TEXT, 1) : NULL;
    json_t *ch = json_pack("[{s:{s:{s:i,s:i},s:{s:i,s:i}},s:s}]", "range", "start", "line", 0, "character", 0,
                           "end", "line", 0, "character", 0, "text", "y");
    check(d && ch && lspd_change(&st, d, ch) == -1 && d->len == LSPD_MAX_TEXT && d->text[0] == 'x',
          "bound", "a change past the cap is refused");
    lspd_free_all(&st);
    /* the documents together */
    size_t k = 0;
    char name[64];
    for (; big && k <= LSPD_MAX_TOTAL / LSPD_MAX_TEXT; k++) {
        snprintf(name, sizeof name, "file:///%zu.route", k);
        if (!lspd_open(&st, name, big, LSPD_MAX_TEXT, 1))
            break;
    }
    check(k == LSPD_MAX_TOTAL / LSPD_MAX_TEXT && st.bytes == LSPD_MAX_TOTAL, "bound", "all open texts are capped");
    lspd_free_all(&st);
    free(big);
    /* the work: 1,000 one-character inserts into a 1 MiB text would copy
       1 GiB; refused before any is applied */
    char *mib = filled((size_t)1 << 20);
    d = mib ? lspd_open(&st, "file:///w.route", mib, (size_t)1 << 20, 1) : NULL;
    json_t *many = json_array();
    for (int i = 0; i < 1000 && ch; i++)
        json_array_append(many, json_array_get(ch, 0));
    check(d && lspd_change(&st, d, many) == -1 && d->len == (size_t)1 << 20, "bound", "quadratic work is refused");
    json_t *few = json_array();
    for (int i = 0; i < 100 && ch; i++)
        json_array_append(few, json_array_get(ch, 0));
    check(d && lspd_change(&st, d, few) == 0 && d->len == ((size_t)1 << 20) + 100 && !memcmp(d->text, "yyy", 3),
          "bound", "a hundred inserts are applied");
    json_decref(few);
    json_decref(many);
    json_decref(ch);
    lspd_free_all(&st);
    free(mib);
}

int main(void)
{
    test_positions();
    test_uris();
    test_frames();
    test_changes();
    test_change_bounds();
    return failures ? 1 : 0;
}
