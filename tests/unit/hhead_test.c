/* The one-pass head reader (vm/providers/hhead.c) against http-parser
   (tests/unit/hhref.h): named heads it must take (what curl, wrk, the
   OpenAI client and nginx send) or decline (each thing it leaves to
   http-parser), then every head of those it takes, mutated -- each byte
   replaced by each of the 256 values, each byte deleted, each of a set
   of bytes inserted before each byte, the head cut at each length --
   where any head it still takes must read as http-parser reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hhref.h"

static int failures;

static void check(const char *name, int ok, const char *why)
{
    if (ok)
        printf("PASS hhead/%s\n", name);
    else {
        printf("FAIL hhead/%s: %s\n", name, why);
        failures++;
    }
}

typedef struct {
    const char *name;
    int response, take;
    const char *bytes;
    size_t len;
} head_case;

#define REQ(name, take, s) { name, 0, take, s, sizeof s - 1 }
#define RES(name, take, s) { name, 1, take, s, sizeof s - 1 }

static const head_case cases[] = {
    REQ("curl", 1, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
                   "Accept: */*\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-mock\r\n"
                   "Content-Length: 619\r\n\r\n{\"model\":"),
    REQ("wrk", 1, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\n"
                  "Content-Type: application/json\r\nAuthorization: Bearer sk-mock\r\n\r\n{}"),
    REQ("openai-client", 1, "POST /v1/chat/completions HTTP/1.1\r\naccept: application/json\r\n"
                            "content-type: application/json\r\nuser-agent: OpenAI/JS 4.77.0\r\n"
                            "x-stainless-lang: js\r\nx-stainless-retry-count: 0\r\nauthorization: Bearer k\r\n"
                            "content-length: 2\r\nAccept-Encoding: gzip,deflate\r\nHost: localhost:8080\r\n"
                            "Connection: keep-alive\r\n\r\n{}"),
    REQ("get-query", 1, "GET /v1/models?x=1&y=%41 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
    REQ("head", 1, "HEAD /healthz HTTP/1.1\r\nHost: a\r\nX-Route-Tier:\tgold\r\n\r\n"),
    REQ("utf8-value", 1, "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"),
    REQ("no-fields", 1, "GET / HTTP/1.1\r\n\r\n"),
    REQ("underscore-names", 1, "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nX_A: b\r\n"
                               "x-stainless-package_version: 4\r\nContent-Length: 2\r\n\r\n{}"),
    REQ("cut-short", 0, "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"),
    REQ("chunked", 0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
    REQ("http-1.0", 0, "GET / HTTP/1.0\r\nHost: a\r\n\r\n"),
    REQ("put", 0, "PUT / HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("absolute-form", 0, "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("fragment", 0, "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("obs-fold", 0, "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"),
    REQ("bare-lf", 0, "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"),
    REQ("empty-value", 0, "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n\r\n"),
    REQ("trailing-blank", 0, "GET / HTTP/1.1\r\nHost: a \r\n\r\n"),
    REQ("blank-before-colon", 0, "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    REQ("two-lengths", 0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
    REQ("length-sign", 0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx"),
    REQ("connection-upgrade", 0, "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"),
    REQ("connection-list", 0, "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n"),
    REQ("te-prefixed-name", 0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encodingx: y\r\nContent-Length: 0\r\n\r\n"),
    REQ("nul-in-value", 0, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
    RES("nginx", 1, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 09:00:00 GMT\r\n"
                    "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"),
    RES("openai-429", 1, "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
                         "retry-after: 2\r\nx-request-id: req_1\r\ncontent-length: 0\r\n\r\n"),
    RES("close", 1, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy."),
    RES("chunked", 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
    RES("no-length", 0, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n"),
    RES("interim", 0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    RES("no-content", 0, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
    RES("not-modified", 0, "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n"),
    RES("no-reason", 0, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    RES("http-1.0", 0, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
};

/* Every mutant of 'base' (above); 1 when all agree, else 0 with 'why'. */
static int mutants(int response, const char *base, size_t n, size_t *taken, char *why, size_t wl)
{
    static const char inserts[] = { ' ', '\t', '\r', '\n', ':', '0', 'a', ',', '\0', '\x7f', '\x80' };
    char *m = malloc(n + 2);
    int ok = 1, took;
    char w[300];
    if (!m)
        return 0;
    for (size_t i = 0; i < n && ok; i++)
        for (int v = 0; v < 256 && ok; v++) {
            memcpy(m, base, n);
            m[i] = (char)v;
            if (!hhref_agree(response, m, n, &took, w, sizeof w))
                ok = 0, snprintf(why, wl, "byte %zu as 0x%02x: %s", i, v, w);
            *taken += (size_t)took;
        }
    for (size_t i = 0; i < n && ok; i++) {
        memcpy(m, base, i);
        memcpy(m + i, base + i + 1, n - i - 1);
        if (!hhref_agree(response, m, n - 1, &took, w, sizeof w))
            ok = 0, snprintf(why, wl, "byte %zu deleted: %s", i, w);
        *taken += (size_t)took;
        for (size_t k = 0; k < sizeof inserts && ok; k++) {
            memcpy(m, base, i);
            m[i] = inserts[k];
            memcpy(m + i + 1, base + i, n - i);
            if (!hhref_agree(response, m, n + 1, &took, w, sizeof w))
                ok = 0, snprintf(why, wl, "0x%02x inserted at %zu: %s", (unsigned char)inserts[k], i, w);
            *taken += (size_t)took;
        }
    }
    for (size_t len = 0; len <= n && ok; len++) {
        memcpy(m, base, len);       /* in a block of 'len' bytes, for the sanitizers' sake */
        char *exact = malloc(len ? len : 1);
        if (!exact)
            break;
        memcpy(exact, m, len);
        if (!hhref_agree(response, exact, len, &took, w, sizeof w))
            ok = 0, snprintf(why, wl, "cut at %zu: %s", len, w);
        *taken += (size_t)took;
        free(exact);
    }
    free(m);
    return ok;
}

int main(void)
{
    char why[400], name[80];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const head_case *c = &cases[i];
        size_t n = c->len;
        int took, agree = hhref_agree(c->response, c->bytes, n, &took, why, sizeof why);
        snprintf(name, sizeof name, "%s/%s", c->response ? "response" : "request", c->name);
        if (!agree)
            check(name, 0, why);
        else if (took != c->take)
            check(name, 0, c->take ? "declined" : "taken");
        else
            check(name, 1, "");
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const head_case *c = &cases[i];
        if (!c->take)
            continue;
        size_t taken = 0;
        int ok = mutants(c->response, c->bytes, c->len, &taken, why, sizeof why);
        snprintf(name, sizeof name, "mutants/%s/%s", c->response ? "response" : "request", c->name);
        /* each byte replaced by itself gives the base back: more than
           that must be taken, or the mutants compare nothing */
        if (ok && taken <= c->len)
            snprintf(why, sizeof why, "only %zu mutants taken: the test compares too little", taken), ok = 0;
        check(name, ok, why);
    }
    return failures != 0;
}
