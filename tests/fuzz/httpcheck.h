/* What the gateway's fuzz harnesses (fuzz_serve, fuzz_gateway) share: the
   test policy written with a port, and the check of what an HTTP/1.1
   server wrote back.  A header of static functions, included by each
   harness. */
#ifndef RV_FUZZ_HTTPCHECK_H
#define RV_FUZZ_HTTPCHECK_H

#include <stdio.h>
#include <stdlib.h>             /* memmem, mkstemps: the harness defines _GNU_SOURCE first */
#include <string.h>
#include <unistd.h>

#include "http.h"

/* tests/serve/policy.route.in (under $ROUTEVM_ROOT, else .) with its
   endpoint's port set to 'port', into a new file whose name is written
   to 'path' (at least 64 bytes; the caller unlinks it).  abort() when it
   cannot. */
static void httpcheck_policy(unsigned port, char *path, const char *who)
{
    const char *root = getenv("ROUTEVM_ROOT");
    char in[4096];
    snprintf(in, sizeof in, "%s/tests/serve/policy.route.in", root ? root : ".");
    snprintf(path, 64, "/tmp/%s_XXXXXX.route", who);
    FILE *f = fopen(in, "r");
    int fd = mkstemps(path, 6);
    FILE *o = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || !o) {
        fprintf(stderr, "%s: cannot read %s (set ROUTEVM_ROOT)\n", who, in);
        abort();
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *at = strstr(line, "@PORT@");
        if (at)
            fprintf(o, "%.*s%u%s", (int)(at - line), line, port, at + 6);
        else
            fputs(line, o);
    }
    fclose(f);
    fclose(o);
}

/* The server's limits an input's flag byte picks: bit 0 small caps
   (512-byte heads, 8 headers, 1 KiB bodies, 256-byte output), else the
   defaults. */
static hs_limits httpcheck_limits(uint8_t flags)
{
    hs_limits lim = hs_default_limits();
    if (flags & 1) {
        lim.max_head = 512;
        lim.max_headers = 8;
        lim.max_url = 128;
        lim.max_body = 1024;
        lim.max_output = 256;
    }
    return lim;
}

static int httpcheck_known(int s, const int *ok, size_t nok)
{
    for (size_t i = 0; i < nok; i++)
        if (ok[i] == s)
            return 1;
    return 0;
}

/* Does out[at..n) begin with a status line of one of the 'nok' statuses? */
static int httpcheck_status_at(const char *out, size_t n, size_t at, const int *ok, size_t nok)
{
    return n - at >= 12 && !memcmp(out + at, "HTTP/1.1 ", 9) && httpcheck_known(atoi(out + at + 9), ok, nok);
}

/* Walk the responses in 'out': each a status line with one of the 'nok'
   statuses in 'ok', headers, and a body framed by Content-Length or
   chunked coding (trailers allowed).  The last may be cut short (a
   connection closed over its output cap).  abort() on anything else.
   'heads': the client sent HEAD somewhere, so a response may declare a
   Content-Length and carry no body (RFC 9110 9.3.2); it is taken as
   such only where the next response starts right after its head and
   not after the declared length. */
static void httpcheck_responses(const char *out, size_t n, const int *ok, size_t nok, int heads)
{
    size_t at = 0;
    while (at < n) {
        if (n - at < 12)
            return;
        if (memcmp(out + at, "HTTP/1.1 ", 9) || !httpcheck_known(atoi(out + at + 9), ok, nok))
            abort();
        int st = atoi(out + at + 9);
        const char *end = memmem(out + at, n - at, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t hend = (size_t)(end - out) + 4;
        const char *cl = memmem(out + at, hend - at, "\r\nContent-Length: ", 18);
        const char *te = memmem(out + at, hend - at, "\r\nTransfer-Encoding: chunked\r\n", 30);
        if (st == 100) {
            at = hend;
            continue;
        }
        if (cl && !te) {
            size_t len = strtoul(cl + 18, NULL, 10);
            int bodiless = heads && len && (hend == n || httpcheck_status_at(out, n, hend, ok, nok)) &&
                           (hend + len >= n || !httpcheck_status_at(out, n, hend + len, ok, nok));
            at = bodiless ? hend : hend + len;
            continue;
        }
        if (!te)
            abort();        /* every response but 100 is framed */
        size_t p = hend;
        for (;;) {
            const char *le = p < n ? memmem(out + p, n - p, "\r\n", 2) : NULL;
            if (!le)
                return;
            size_t sz = strtoul(out + p, NULL, 16);
            p = (size_t)(le - out) + 2;
            if (sz == 0) {      /* trailers up to an empty line */
                const char *tend = p <= n ? memmem(out + p - 2, n - p + 2, "\r\n\r\n", 4) : NULL;
                if (!tend)
                    return;
                p = (size_t)(tend - out) + 4;
                break;
            }
            p += sz + 2;
            if (p > n)
                return;
        }
        at = p;
    }
}

#endif
