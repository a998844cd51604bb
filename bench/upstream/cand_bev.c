/* Candidates "bev" and "bev-now": a libevent bufferevent on one socket
   carries the request; http_parser (libhttp-parser-dev, the parser
   routevm's server already uses for requests) reads the answer straight
   from the bufferevent's input buffer, status, headers and body, with
   Content-Length or chunked framing.  The request's head is built once
   up to "Content-Length: "; each request appends the length's digits
   and copies head and body into the output buffer.

     bev      the bufferevent writes when the loop finds the socket
              writable (libevent's ordinary path: an epoll_ctl to watch
              for writing, a wait, the write, another epoll_ctl);
     bev-now  the output is written to the socket at once, and only what
              the socket refuses is left to the bufferevent, as routevm's
              server writes its answers (vm/serve/http.c, flush_out).

   With a CA file, "bev" speaks TLS through bufferevent_openssl (OpenSSL's
   defaults, the certificate verified for 127.0.0.1); "bev-now" writes
   to the socket itself and has no TLS.

   What this does not do, and a gateway's upstream client needs: name
   resolution (an IP literal here; evdns or a resolver thread), TLS for
   host names (SNI, verification of the name, the system's CA store) and
   session reuse across connections, timeouts (bufferevent_set_timeouts
   for the socket phases, a timer for the whole call), a reconnect when
   a kept-alive connection was closed by the upstream, a pool of
   connections per upstream, caps on the header and body sizes
   (http_parser caps the head at 80 KiB), proxies, HTTP/2.  The
   connection is made with a blocking connect() in open(). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cand.h"

typedef struct {
    const up_conf *c;
    int now;                    /* write at once (bev-now) */
    struct event_base *base;
    struct bufferevent *bev;
    SSL_CTX *tls;
    http_parser p;
    up_resp *cur;
    int done, failed, ended;    /* ended: done or failed */
    char head[512];             /* up to and including "Content-Length: " */
    size_t head_len;
} bev;

static int on_headers_complete(http_parser *p)
{
    bev *s = p->data;
    s->cur->status = p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    bev *s = p->data;
    up_resp_add(s->cur, at, n);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    bev *s = p->data;
    s->done = s->ended = 1;
    event_base_loopbreak(s->base);
    return 0;
}

static const http_parser_settings settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void stop(bev *s)
{
    s->failed = s->ended = 1;
    event_base_loopbreak(s->base);
}

/* What has arrived, parsed in place and drained. */
static void on_read(struct bufferevent *b, void *arg)
{
    bev *s = arg;
    struct evbuffer *in = bufferevent_get_input(b);
    while (evbuffer_get_length(in) > 0 && !s->done) {
        struct evbuffer_iovec v[4];
        int n = evbuffer_peek(in, -1, NULL, v, 4);
        size_t used = 0;
        for (int i = 0; i < n && i < 4 && !s->done; i++) {
            size_t k = http_parser_execute(&s->p, &settings, v[i].iov_base, v[i].iov_len);
            used += k;
            if (HTTP_PARSER_ERRNO(&s->p) != HPE_OK || k != v[i].iov_len) {
                if (!s->done) {
                    stop(s);
                    return;
                }
            }
        }
        evbuffer_drain(in, used);
    }
    if (s->done && !http_should_keep_alive(&s->p))
        s->failed = 1;          /* no reconnect here */
}

/* bev-now: the output buffer drained by the bufferevent; stop watching */
static void on_write(struct bufferevent *b, void *arg)
{
    bev *s = arg;
    if (s->now)
        bufferevent_disable(b, EV_WRITE);
}

static void on_event(struct bufferevent *b, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        stop(arg);
}

static void bev_close(void *st)
{
    bev *s = st;
    if (!s)
        return;
    if (s->bev)
        bufferevent_free(s->bev);       /* and its SSL */
    SSL_CTX_free(s->tls);
    if (s->base)
        event_base_free(s->base);
    free(s);
}

/* A connected non-blocking socket, or -1. */
static int dial(const up_conf *c)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)c->port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A TLS bufferevent on connected socket 'fd', the handshake started:
   the peer's certificate must verify against the CA file for the
   upstream's address.  NULL on failure ('fd' is the caller's then). */
static struct bufferevent *tls_bev(bev *s, int fd)
{
    if (!s->tls) {
        if (!(s->tls = SSL_CTX_new(TLS_client_method())) ||
            SSL_CTX_load_verify_locations(s->tls, s->c->ca_file, NULL) != 1)
            return NULL;
        SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER, NULL);
    }
    SSL *ssl = SSL_new(s->tls);
    if (!ssl || !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->c->host)) {
        SSL_free(ssl);
        return NULL;
    }
    struct bufferevent *b = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                           BEV_OPT_CLOSE_ON_FREE);
    if (!b)
        SSL_free(ssl);
    return b;
}

static void *bev_open(int now, const up_conf *c, char *err, size_t errlen)
{
    bev *s = calloc(1, sizeof *s);
    int fd = -1;
    if (!s || !(s->base = event_base_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (now && c->ca_file) {
        snprintf(err, errlen, "bev-now writes to the socket itself: no TLS");
        goto fail;
    }
    s->c = c;
    s->now = now;
    int n = snprintf(s->head, sizeof s->head, "POST %s HTTP/1.1\r\nHost: %s\r\n", c->path, c->hostport);
    for (size_t i = 0; i < c->nlines && n > 0 && (size_t)n < sizeof s->head; i++)
        n += snprintf(s->head + n, sizeof s->head - (size_t)n, "%s\r\n", c->lines[i]);
    if (n > 0 && (size_t)n < sizeof s->head)
        n += snprintf(s->head + n, sizeof s->head - (size_t)n, "Content-Length: ");
    if (n <= 0 || (size_t)n + 24 >= sizeof s->head) {
        snprintf(err, errlen, "the request head is too long");
        goto fail;
    }
    s->head_len = (size_t)n;
    if ((fd = dial(c)) < 0) {
        snprintf(err, errlen, "cannot connect to %s", c->hostport);
        goto fail;
    }
    if (c->ca_file ? !(s->bev = tls_bev(s, fd)) : !(s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
        close(fd);
        snprintf(err, errlen, "cannot set up the connection%s", c->ca_file ? " (TLS)" : "");
        goto fail;
    }
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    bufferevent_enable(s->bev, EV_READ);
    if (!now)
        bufferevent_enable(s->bev, EV_WRITE);
    return s;
fail:
    bev_close(s);
    return NULL;
}

static void *open_bev(const up_conf *c, char *err, size_t errlen) { return bev_open(0, c, err, errlen); }
static void *open_now(const up_conf *c, char *err, size_t errlen) { return bev_open(1, c, err, errlen); }

/* The head's last line, "LEN\r\n\r\n", appended at 'p'; returns its length. */
static size_t put_length(char *p, size_t len)
{
    char d[24];
    size_t n = 0, k = 0;
    do
        d[n++] = (char)('0' + len % 10);
    while ((len /= 10));
    while (n)
        p[k++] = d[--n];
    memcpy(p + k, "\r\n\r\n", 4);
    return k + 4;
}

static int bev_request(void *st, up_resp *r, char *err, size_t errlen)
{
    bev *s = st;
    s->cur = r;
    s->done = s->failed = s->ended = 0;
    http_parser_init(&s->p, HTTP_RESPONSE);
    s->p.data = s;
    size_t hl = s->head_len + put_length(s->head + s->head_len, s->c->body_len);
    struct evbuffer *out = bufferevent_get_output(s->bev);
    if (evbuffer_add(out, s->head, hl) || evbuffer_add(out, s->c->body, s->c->body_len)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (s->now) {
        /* a socket bufferevent keeps its output's start frozen: only it
           drains the buffer, unless unfrozen as here */
        evbuffer_unfreeze(out, 1);
        evbuffer_write(out, bufferevent_getfd(s->bev));
        evbuffer_freeze(out, 1);
        if (evbuffer_get_length(out) > 0)
            bufferevent_enable(s->bev, EV_WRITE);
    }
    if (up_loop(s->base, &s->ended, err, errlen))
        return -1;
    if (!s->done || s->failed) {
        snprintf(err, errlen, "%s", s->done ? "the upstream will close the connection (no reconnect here)"
                                            : "the answer is not valid HTTP, or the connection closed");
        return -1;
    }
    return 0;
}

const up_cand up_bev = { "bev", open_bev, bev_request, bev_close };
const up_cand up_bev_now = { "bev-now", open_now, bev_request, bev_close };
