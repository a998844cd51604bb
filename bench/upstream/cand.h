/* Upstream HTTP client candidates for the gateway (bench/upstream.sh).

   Each candidate sends the same POST -- the path, the header lines
   routevm sends to an OpenAI-compatible provider (Host, Authorization,
   Content-Type, Accept, Content-Length) and bench/gateway/body.json --
   over one kept-alive connection, one request at a time, and hands back
   the response's status and its whole body (Content-Length or chunked
   framing removed).  main.c checks both against the upstream's fixed
   answer after every request, so a candidate that does not read the
   answer fails instead of being measured.

   Ownership: an up_conf and everything it points to belong to main.c and
   outlive every candidate state; a candidate's state is its own until
   its close(). */
#ifndef UP_CAND_H
#define UP_CAND_H

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *host;               /* an IPv4 literal: "127.0.0.1" */
    int port;
    const char *path;               /* "/v1/chat/completions" */
    const char *url;                /* "http://HOST:PORT" + path ("https:" with TLS) */
    const char *hostport;           /* "HOST:PORT", the Host header's value */
    const char *const *lines;       /* "Name: value": Authorization, Content-Type, Accept */
    const char *const *names;       /* the same split: names[i], values[i] */
    const char *const *values;
    size_t nlines;
    const char *body;
    size_t body_len;
    const char *ca_file;            /* TLS: the upstream's certificate; NULL: plain HTTP */
} up_conf;

/* The answer to one request: its status and body, at most UP_BODY_MAX
   bytes ('overflow' set when more came). */
#define UP_BODY_MAX 65536
typedef struct {
    int status;
    size_t len;
    int overflow;
    char buf[UP_BODY_MAX];
} up_resp;

/* Append body bytes to 'r'. */
static inline void up_resp_add(up_resp *r, const char *p, size_t n)
{
    if (n > UP_BODY_MAX - r->len) {
        r->overflow = 1;
        n = UP_BODY_MAX - r->len;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

typedef struct {
    const char *name;
    /* A new state, its connection made here or by the first request;
       NULL with a message in 'err' on failure. */
    void *(*open)(const up_conf *c, char *err, size_t errlen);
    /* One request, its whole answer read into 'r' (cleared by the
       caller).  0, or -1 with a message in 'err'. */
    int (*request)(void *st, up_resp *r, char *err, size_t errlen);
    void (*close)(void *st);
} up_cand;

/* Run 'base' until '*done' is set (a callback sets it and breaks the
   loop).  0, or -1 with a message in 'err' when the loop fails or has
   nothing left to wait for. */
struct event_base;
int up_loop(struct event_base *base, const int *done, char *err, size_t errlen);

extern const up_cand up_easy, up_multi_url, up_multi_curlu, up_multi_keep, up_routevm, up_routevm_curl,
    up_evhttp, up_bev, up_bev_now;

#endif
