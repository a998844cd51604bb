/* Candidate "evhttp": libevent's own HTTP client (evhttp_connection_
   base_new, evhttp_make_request).  One connection object keeps the
   connection alive between requests; each request is a new
   evhttp_request whose header lines are added one by one (evhttp keeps
   them in a list of separately allocated name and value copies) and
   whose body is copied into its output buffer.  evhttp reads the whole
   answer into the request's input buffer before calling back, parsing
   status, headers and Content-Length or chunked framing itself.

   What it has that a gateway needs: timeouts (evhttp_connection_set_
   timeout), retries, caps on header and body size, chunked callbacks
   for streams, TLS through a bufferevent_openssl passed to
   evhttp_connection_base_bufferevent_new.  None of them is exercised
   here.  It resolves the host with a blocking getaddrinfo unless given
   an evdns_base (here an IP literal, once per connection) and does not
   set TCP_NODELAY. */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "cand.h"

typedef struct {
    const up_conf *c;
    struct event_base *base;
    struct evhttp_connection *conn;
    up_resp *cur;
    int done, failed;
    char clen[24];
} evh;

static void on_done(struct evhttp_request *req, void *arg)
{
    evh *s = arg;
    s->done = 1;
    event_base_loopbreak(s->base);
    if (!req || !evhttp_request_get_response_code(req)) {
        s->failed = 1;
        return;
    }
    s->cur->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    int n = evbuffer_get_length(in) > UP_BODY_MAX ? UP_BODY_MAX : (int)evbuffer_get_length(in);
    if (evbuffer_get_length(in) > UP_BODY_MAX)
        s->cur->overflow = 1;
    s->cur->len = (size_t)evbuffer_copyout(in, s->cur->buf, (size_t)n);
}

static void evh_close(void *st)
{
    evh *s = st;
    if (!s)
        return;
    if (s->conn)
        evhttp_connection_free(s->conn);
    if (s->base)
        event_base_free(s->base);
    free(s);
}

static void *evh_open(const up_conf *c, char *err, size_t errlen)
{
    if (c->ca_file) {
        snprintf(err, errlen, "TLS is not measured for evhttp");
        return NULL;
    }
    evh *s = calloc(1, sizeof *s);
    if (!s || !(s->base = event_base_new()) ||
        !(s->conn = evhttp_connection_base_new(s->base, NULL, c->host, (unsigned short)c->port))) {
        snprintf(err, errlen, "libevent would not start");
        evh_close(s);
        return NULL;
    }
    s->c = c;
    return s;
}

static int evh_request(void *st, up_resp *r, char *err, size_t errlen)
{
    evh *s = st;
    const up_conf *c = s->c;
    s->cur = r;
    s->done = s->failed = 0;
    struct evhttp_request *req = evhttp_request_new(on_done, s);
    if (!req) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(s->clen, sizeof s->clen, "%zu", c->body_len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    int bad = evhttp_add_header(h, "Host", c->hostport);
    for (size_t i = 0; i < c->nlines; i++)
        bad |= evhttp_add_header(h, c->names[i], c->values[i]);
    bad |= evhttp_add_header(h, "Content-Length", s->clen);
    bad |= evbuffer_add(evhttp_request_get_output_buffer(req), c->body, c->body_len);
    if (bad) {
        evhttp_request_free(req);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* on failure the request is freed by evhttp */
    if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, c->path)) {
        snprintf(err, errlen, "evhttp_make_request failed");
        return -1;
    }
    if (up_loop(s->base, &s->done, err, errlen))
        return -1;
    if (s->failed) {
        snprintf(err, errlen, "no answer (connection failed or closed)");
        return -1;
    }
    return 0;
}

const up_cand up_evhttp = { "evhttp", evh_open, evh_request, evh_close };
