/* The small conversions under routec lsp, data-driven: UTF-16 units of
   UTF-8 text and back (compiler/lsp_pos.c), file: URIs to paths and back
   (compiler/lsp_uri.c), and the framing reader's verdict on byte streams
   (compiler/lsp_frame.c).  The scripted-client cases (tests/lsp/) cover
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

int main(void)
{
    test_positions();
    test_uris();
    test_frames();
    return failures ? 1 : 0;
}
