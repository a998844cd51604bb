/* Candidates "routevm" and "routevm-curl": routevm's own HTTP engine as
   the gateway runs it -- vm/providers/httpc.c with its per-transfer
   deadlines on vm/serve/curlev.c (the worker's libevent loop) -- with
   the deadlines a gateway call gets (first byte 60 s, idle 30 s, total
   60 s).  "routevm" is the engine as it chooses for the upstream's
   http://127.0.0.1 URL: its own HTTP/1.1 transport (vm/providers/h1.c);
   "routevm-curl" is the engine held to libcurl's multi interface
   (ROUTEVM_HTTP_CLIENT=curl), whose difference to "curl-multi-url" is
   the engine's own bookkeeping.  Over TLS (+tls) the upstream's
   certificate is given to the engine as SSL_CERT_FILE, which both of
   its clients trust; "routevm+tls" is then the own transport with
   OpenSSL (vm/providers/tls.c). */
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "cand.h"
#include "curlev.h"

typedef struct {
    const up_conf *c;
    struct event_base *base;
    ce_loop *loop;
    up_resp *cur;
    int done;
    hc_status status;
    char msg[160];
} rvm;

static void on_header(void *ud, int status, const char *name, size_t nlen, const char *value, size_t vlen)
{
    rvm *s = ud;
    s->cur->status = status;
}

static int on_data(void *ud, const char *p, size_t n)
{
    rvm *s = ud;
    up_resp_add(s->cur, p, n);
    return 0;
}

static void on_done(void *ud, const hc_done *d)
{
    rvm *s = ud;
    s->done = 1;
    s->status = d->status;
    s->cur->status = d->http_status;
    snprintf(s->msg, sizeof s->msg, "%s", d->message);
    event_base_loopbreak(s->base);
}

static void rvm_close(void *st)
{
    rvm *s = st;
    if (!s)
        return;
    ce_free(s->loop);
    if (s->base)
        event_base_free(s->base);
    free(s);
}

/* The engine reads ROUTEVM_HTTP_CLIENT when it is made: 'curl' sets it
   for this one. */
static void *open_engine(const up_conf *c, int curl, char *err, size_t errlen)
{
    if (curl)
        setenv("ROUTEVM_HTTP_CLIENT", "curl", 1);
    else
        unsetenv("ROUTEVM_HTTP_CLIENT");
    if (c->ca_file)             /* trusted as the engine trusts CAs: both of its clients read it */
        setenv("SSL_CERT_FILE", c->ca_file, 1);
    else
        unsetenv("SSL_CERT_FILE");
    rvm *s = calloc(1, sizeof *s);
    if (!s || !(s->base = event_base_new()) || !(s->loop = ce_new(s->base))) {
        snprintf(err, errlen, "the engine would not start");
        rvm_close(s);
        return NULL;
    }
    s->c = c;
    return s;
}

static int rvm_request(void *st, up_resp *r, char *err, size_t errlen)
{
    rvm *s = st;
    const up_conf *c = s->c;
    hc_spec spec = { .url = c->url, .headers = c->lines, .nheaders = c->nlines, .body = c->body,
                     .body_len = c->body_len, .first_byte_timeout_us = 60000000, .idle_timeout_us = 30000000,
                     .total_timeout_us = 60000000 };
    hc_handler h = { on_header, on_data, on_done };
    s->cur = r;
    s->done = 0;
    if (!hc_start(ce_engine(s->loop), &spec, &h, s, err, errlen))
        return -1;
    if (up_loop(s->base, &s->done, err, errlen))
        return -1;
    if (s->status != HC_OK) {
        snprintf(err, errlen, "%s: %s", hc_status_name(s->status), s->msg);
        return -1;
    }
    return 0;
}

static void *rvm_open(const up_conf *c, char *err, size_t errlen) { return open_engine(c, 0, err, errlen); }
static void *rvm_open_curl(const up_conf *c, char *err, size_t errlen) { return open_engine(c, 1, err, errlen); }

const up_cand up_routevm = { "routevm", rvm_open, rvm_request, rvm_close };
const up_cand up_routevm_curl = { "routevm-curl", rvm_open_curl, rvm_request, rvm_close };
