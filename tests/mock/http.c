/* The mock's HTTP/1.1 server; see http.h.  One connection runs three
   phases in turn: reading a head (bounded, with a deadline), reading a
   Content-Length body, and carrying out a plan.  A plan step is written
   only after the previous one has left the bufferevent (the write callback
   fires at an empty output buffer), so a delay between two steps is a real
   gap on the wire, and a reset comes after everything before it has
   reached the kernel and the peer has acknowledged it (SIOCOUTQ is zero),
   so the client sees exactly the bytes the plan promised, then the RST. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "http.h"

#define HTTP_MAX_HEAD 65536
#define HTTP_MAX_HEADERS 200
#define HTTP_RESET_POLLS 500      /* 1 ms each: wait for the peer's ACKs */

enum conn_phase { PH_HEAD, PH_BODY, PH_REPLY, PH_ENDING, PH_DRAINING };

typedef struct conn conn;
struct conn {
    http_server *srv;
    struct bufferevent *bev;
    conn *prev, *next;
    enum conn_phase phase;
    http_request req;
    plan plan;
    size_t step, off;
    int waiting;                  /* a write is in the output buffer */
    int polls;
    struct event *timer;          /* plan steps and the end of a reply */
    struct event *deadline;       /* the current request's head and body */
};

struct http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    http_limits lim;
    http_handler handler;
    void *arg;
    conn *conns;
    unsigned nconns;
    unsigned long next_id;
};

const char *http_header_get(const http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

static void request_clear(http_request *r)
{
    free(r->target);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void conn_free(conn *c)
{
    http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (c->timer)
        event_free(c->timer);
    if (c->deadline)
        event_free(c->deadline);
    bufferevent_free(c->bev);
    plan_free(&c->plan);
    request_clear(&c->req);
    free(c);
}

/* Ends the connection with a TCP reset: SO_LINGER with a zero timeout
   makes close() send RST instead of FIN. */
static void conn_reset(conn *c)
{
    struct linger lg = { 1, 0 };
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    conn_free(c);
}

/* ---- carrying out a plan --------------------------------------------- */

static void read_cb(struct bufferevent *bev, void *arg);
static void next_step(conn *c);

static void start_deadline(conn *c)
{
    struct timeval tv = { c->srv->lim.request_ms / 1000, (c->srv->lim.request_ms % 1000) * 1000 };
    evtimer_add(c->deadline, &tv);
}

static void after_ms(conn *c, unsigned ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(c->timer, &tv);
}

/* The plan is carried out: keep the connection for the next request,
   close it, or reset it once the peer has everything. */
static void finish(conn *c)
{
    if (c->plan.end == PLAN_RESET) {
        c->phase = PH_DRAINING;
        c->polls = 0;
        after_ms(c, 0);
        return;
    }
    if (c->plan.end == PLAN_CLOSE) {
        conn_free(c);
        return;
    }
    plan_free(&c->plan);
    request_clear(&c->req);
    c->phase = PH_HEAD;
    bufferevent_enable(c->bev, EV_READ);
    start_deadline(c);
    read_cb(c->bev, c);           /* a pipelined request may be waiting */
}

static void drain_poll(conn *c)
{
    int unsent = 0;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0 && ioctl(fd, SIOCOUTQ, &unsent) < 0)
        unsent = 0;
    if (unsent > 0 && ++c->polls < HTTP_RESET_POLLS) {
        after_ms(c, 1);
        return;
    }
    conn_reset(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    if (c->phase == PH_DRAINING) {
        drain_poll(c);
        return;
    }
    if (c->phase == PH_ENDING) {
        finish(c);
        return;
    }
    plan_step *st = &c->plan.steps[c->step];
    size_t n = st->drip ? 1 : st->len - c->off;
    if (n == 0 || st->len == 0) {
        c->step++;
        c->off = 0;
        next_step(c);
        return;
    }
    c->waiting = 1;
    if (bufferevent_write(c->bev, st->data + c->off, n) < 0) {
        conn_free(c);
        return;
    }
    c->off += n;
}

static void next_step(conn *c)
{
    if (c->step == c->plan.n) {
        c->phase = PH_ENDING;
        after_ms(c, c->plan.end_delay_ms);
        return;
    }
    plan_step *st = &c->plan.steps[c->step];
    after_ms(c, c->off == 0 ? st->delay_ms : c->plan.drip_ms);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->phase != PH_REPLY || !c->waiting)
        return;
    c->waiting = 0;
    if (c->off >= c->plan.steps[c->step].len) {
        c->step++;
        c->off = 0;
    }
    next_step(c);
}

static void run_plan(conn *c)
{
    if (c->plan.failed) {
        conn_reset(c);
        return;
    }
    evtimer_del(c->deadline);
    c->phase = PH_REPLY;
    c->step = c->off = 0;
    c->waiting = 0;
    next_step(c);
}

/* A protocol error the server answers itself, then closes. */
static void protocol_error(conn *c, int status, const char *msg)
{
    rp_reply r;
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\"}}", msg);
    rp_init(&r, status, "application/json");
    rp_set_body(&r, body, (size_t)n);
    plan_free(&c->plan);
    plan_build(&c->plan, &r, NULL, 0);
    rp_free(&r);
    bufferevent_disable(c->bev, EV_READ);
    run_plan(c);
}

/* ---- reading a request ----------------------------------------------- */

static int is_tchar(int ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int parse_request_line(http_request *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof r->method)
        return -1;
    for (const char *p = line; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            return -1;
    memcpy(r->method, line, (size_t)(sp1 - line));
    const char *tgt = sp1 + 1, *end = line + len;
    const char *sp2 = memchr(tgt, ' ', (size_t)(end - tgt));
    if (!sp2 || *tgt != '/' || end - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
        return -1;
    for (const char *p = tgt; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return -1;
    r->minor = sp2[8] - '0';
    r->target = strndup(tgt, (size_t)(sp2 - tgt));
    if (!r->target)
        return -1;
    char *q = strchr(r->target, '?');
    r->path_len = q ? (size_t)(q - r->target) : strlen(r->target);
    r->query = q ? q + 1 : r->target + r->path_len;
    return 0;
}

static int parse_header(http_request *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line || r->nheaders >= HTTP_MAX_HEADERS)
        return -1;
    for (const char *p = line; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return -1;
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *p = v; p < end; p++)
        if (*p == 0 || *p == '\r' || *p == '\n')
            return -1;
    http_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof *h);
    if (!h)
        return -1;
    r->headers = h;
    h[r->nheaders].name = strndup(line, (size_t)(colon - line));
    h[r->nheaders].value = strndup(v, (size_t)(end - v));
    r->nheaders++;
    if (!h[r->nheaders - 1].name || !h[r->nheaders - 1].value)
        return -1;
    for (char *p = h[r->nheaders - 1].name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return 0;
}

/* Parses the head (without its final CRLF CRLF).  0 or a status code. */
static int parse_head(http_request *r, const char *head, size_t len)
{
    const char *p = head, *end = head + len;
    int first = 1;
    while (p < end) {
        const char *eol = p;
        while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        if (eol + 1 >= end)
            eol = end;
        size_t n = (size_t)(eol - p);
        if (memchr(p, '\n', n) || memchr(p, '\r', n) || (!first && n && (*p == ' ' || *p == '\t')))
            return 400;           /* bare CR/LF or obsolete line folding */
        if (first ? parse_request_line(r, p, n) : parse_header(r, p, n))
            return r->nheaders >= HTTP_MAX_HEADERS ? 431 : 400;
        first = 0;
        p = eol + 2;
    }
    return first ? 400 : 0;
}

/* Content-Length as a strict decimal; -1 when absent, -2 when invalid or
   given twice with different values. */
static long long content_length(const http_request *r)
{
    long long v = -1;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, "content-length"))
            continue;
        const char *s = r->headers[i].value;
        if (!*s || strlen(s) > 15 || strspn(s, "0123456789") != strlen(s))
            return -2;
        long long x = atoll(s);
        if (v >= 0 && x != v)
            return -2;
        v = x;
    }
    return v;
}

static int wants_close(const http_request *r)
{
    const char *c = http_header_get(r, "connection");
    if (r->minor == 0)
        return !c || !strcasestr(c, "keep-alive");
    return c && strcasestr(c, "close");
}

/* Reads a head if one is complete.  Returns 1 when the connection moved
   on to its body; 0 otherwise ('c' may have been freed). */
static int read_head(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > HTTP_MAX_HEAD)
            protocol_error(c, 431, "request head too large");
        return 0;
    }
    if ((size_t)end.pos > HTTP_MAX_HEAD) {
        protocol_error(c, 431, "request head too large");
        return 0;
    }
    char *head = malloc((size_t)end.pos + 1);
    if (!head) {
        conn_reset(c);
        return 0;
    }
    evbuffer_remove(in, head, (size_t)end.pos);
    evbuffer_drain(in, 4);
    head[end.pos] = 0;
    int status = parse_head(&c->req, head, (size_t)end.pos);
    free(head);
    long long cl = status ? 0 : content_length(&c->req);
    if (status) {
        protocol_error(c, status, status == 431 ? "too many headers" : "malformed request head");
        return 0;
    }
    if (http_header_get(&c->req, "transfer-encoding")) {
        protocol_error(c, cl >= 0 ? 400 : 411, cl >= 0 ? "both Content-Length and Transfer-Encoding"
                                                        : "a Content-Length is required");
        return 0;
    }
    if (cl == -2) {
        protocol_error(c, 400, "invalid Content-Length");
        return 0;
    }
    if (cl > (long long)c->srv->lim.max_body) {
        protocol_error(c, 413, "request body too large");
        return 0;
    }
    c->req.body_len = cl < 0 ? 0 : (size_t)cl;
    c->req.keep_alive = !wants_close(&c->req);
    c->req.id = ++c->srv->next_id;
    const char *expect = http_header_get(&c->req, "expect");
    if (expect && !strcasecmp(expect, "100-continue") && c->req.body_len > evbuffer_get_length(in))
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->phase = PH_BODY;
    return 1;
}

static void read_body(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in) < c->req.body_len)
        return;
    c->req.body = malloc(c->req.body_len + 1);
    if (!c->req.body) {
        conn_reset(c);
        return;
    }
    evbuffer_remove(in, c->req.body, c->req.body_len);
    c->req.body[c->req.body_len] = 0;
    c->phase = PH_REPLY;
    plan_free(&c->plan);
    c->srv->handler(c->srv->arg, &c->req, &c->plan);
    if (c->plan.end == PLAN_KEEP && !c->req.keep_alive)
        c->plan.end = PLAN_CLOSE;
    run_plan(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->phase == PH_BODY || (c->phase == PH_HEAD && read_head(c)))
        read_body(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(arg);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    if (c->phase == PH_HEAD && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
        conn_free(c);             /* an idle persistent connection */
    else
        protocol_error(c, 408, "request not received in time");
}

/* ---- accepting ------------------------------------------------------- */

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    http_server *s = arg;
    conn *c = s->nconns < s->lim.max_conns ? calloc(1, sizeof *c) : NULL;
    struct bufferevent *bev = NULL;
    SSL *ssl = NULL;
    if (c && !s->lim.tls)
        bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    else if (c && (ssl = SSL_new(s->lim.tls))) {   /* the handshake first; the bufferevent frees 'ssl' */
        bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
        if (bev)
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        else
            SSL_free(ssl);
    }
    if (!bev) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    c->bev = bev;
    c->timer = evtimer_new(s->base, timer_cb, c);
    c->deadline = evtimer_new(s->base, deadline_cb, c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (!c->timer || !c->deadline) {
        conn_free(c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    /* stop reading once a whole request's worth is buffered */
    bufferevent_setwatermark(bev, EV_READ, 0, HTTP_MAX_HEAD + s->lim.max_body + 4096);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    start_deadline(c);
}

http_server *http_server_new(struct event_base *base, int port, const http_limits *lim,
                             http_handler h, void *arg, int *bound)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof sin;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->lim = *lim;
    s->handler = h;
    s->arg = arg;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    s->listener = evconnlistener_new_bind(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                          (struct sockaddr *)&sin, sizeof sin);
    if (!s->listener || getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&sin, &slen) < 0) {
        int e = errno;
        http_server_free(s);
        errno = e;
        return NULL;
    }
    *bound = ntohs(sin.sin_port);
    return s;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_free(s->conns);
    if (s->listener)
        evconnlistener_free(s->listener);
    free(s);
}
