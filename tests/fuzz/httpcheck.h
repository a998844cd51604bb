/* The fuzz harnesses' check of what an HTTP/1.1 server wrote back
   (fuzz_serve, fuzz_gateway): a header of static functions, included by
   each harness. */
#ifndef RV_FUZZ_HTTPCHECK_H
#define RV_FUZZ_HTTPCHECK_H

#include <stdlib.h>             /* memmem: the harness defines _GNU_SOURCE first */
#include <string.h>

static int httpcheck_known(int s, const int *ok, size_t nok)
{
    for (size_t i = 0; i < nok; i++)
        if (ok[i] == s)
            return 1;
    return 0;
}

/* Walk the responses in 'out': each a status line with one of the 'nok'
   statuses in 'ok', headers, and a body framed by Content-Length or
   chunked coding (trailers allowed).  The last may be cut short (a
   connection closed over its output cap).  abort() on anything else. */
static void httpcheck_responses(const char *out, size_t n, const int *ok, size_t nok)
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
            at = hend + len;
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
