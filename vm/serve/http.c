/* The gateway's HTTP/1.1 server; see http.h for the limits table and why
   http-parser under bufferevents rather than evhttp.

   A connection is a small state machine:

       IDLE ──first byte──▶ HEAD ──headers──▶ BODY ──message──▶ APP ──response──▶ IDLE
         │                   │ 408/431/400     │ 408/413           │ abort on EOF,
         ▼ keep-alive idle   ▼                 ▼                   ▼ slow reader
       closed             LINGER (error sent: write side shut, input discarded briefly) ──▶ closed

   One timer per connection carries the deadline of its state; the same
   event, activated by hand, resumes parsing of pipelined input once an
   asynchronous response ends (never re-entering the application from
   inside its own call).

   Every callback of the loop holds the clock (clock.h) while it runs, so
   the times it and the application read are one reading, taken at the
   first ask. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <http_parser.h>

#include "clock.h"
#include "hfield.h"
#include "hhead.h"
#include "http.h"
#include "jsonw.h"
#include "mem.h"
#include "numfmt.h"

#define LINGER_US 2000000       /* keep reading after an error response, at most this long */
#define LINGER_BYTES (1u << 20) /* ... and this many bytes */
#define HEAD_PIECE 4096         /* bytes of a head per http_parser_execute (parse_input) */
#define FAST_FIELDS 32          /* header fields of a head read by hh_request; more go to http_parser */

typedef enum { C_IDLE, C_HEAD, C_BODY, C_APP, C_CLOSING, C_LINGER } cstate;

typedef struct { uint32_t noff, nlen, voff, vlen; } hdr_off;

typedef struct hs_conn {
    hs_server *srv;
    struct hs_conn *prev, *next;
    struct bufferevent *bev;
    int fd;                     /* bev's socket (bufferevent_getfd takes a lock and a call) */
    struct event *timer;
    struct event *flush;        /* activated by hand: write what the output holds (flush_soon) */
    struct event *rd;           /* the socket is readable (on_readable; the bufferevent only writes) */
    int reading;                /* 'rd' is added */
    int write_on;               /* watching for writability: the output holds what the socket refused */
    int flush_on;               /* 'flush' is active (flush_soon) */
    http_parser hp;
    cstate state;
    int spare, keep_alive, resume, in_parse, streaming, first, out_wait;
    int dead;                   /* closed while parse_input was running: it frees the connection */
    int scan;                   /* the line-ending scanner of the head (scan_head) */
    int te_trailers;            /* the request's TE names "trailers" (hs_accepts_trailers) */
    /* the request's head, as read (by http_parser or hh_request) */
    int method;                 /* enum http_method */
    int v11;                    /* HTTP/1.1 or later */
    int has_len, chunked;       /* Content-Length came; chunked Transfer-Encoding */
    uint64_t clen;              /* the Content-Length */
    int ka;                     /* the request lets the connection be kept (known at its end) */
    int fast;                   /* hh_request read the head: the body is counted here */
    int fast_underscore;        /* ... and found '_' in a field name */
    uint64_t fast_left;         /* ... body bytes still to come */
    int64_t deadline, body_deadline;
    int64_t timer_at;           /* when 'timer' is set to fire (arm_timer); 0: not set */
    int64_t fed_at;             /* when feed() last began: the clock of the state changes it makes
                                   (a clock read is some 30 ns; a piece is parsed in microseconds) */
    /* the request being read: URL and headers in one arena */
    char *arena;
    size_t alen, acap;
    uint32_t url_off, url_len;  /* the URL in the arena (at 0, but where hh_request's head put it) */
    hdr_off *hdr;
    uint32_t nhdr, hcap;
    int in_value;
    char *body;
    size_t blen, bcap;
    /* an error found while parsing */
    int err_status;
    const char *err_code, *err_msg;
    /* the request handed to the application */
    hs_req req;
    hs_header *hview;
    void (*abort)(void *ud);
    void *abort_ud;
    size_t lingered;
} hs_conn;

struct hs_shared {
    _Atomic uint32_t conns;
};

struct hs_server {
    struct event_base *base;
    struct evconnlistener *lis;
    struct event *relisten;
    hs_limits lim;
    hs_shared *shared;
    hs_app app;
    int port, draining;
    hs_conn *conns;
    uint32_t nconns, nbusy;
    time_t date_at;
    char date[40];
    char head200[80];           /* "HTTP/1.1 200 OK\r\nDate: ...\r\n", made with 'date' */
    size_t head200_len;
    char *rbuf;                 /* reads of connections with nothing buffered (input_cap bytes; NULL: none) */
};

static const http_parser_settings settings;
static void conn_close(hs_conn *c, int abort_app);
static void conn_free(hs_conn *c);
static void flush_out(hs_conn *c);
static void parse_input(hs_conn *c);
static void arm_timer(hs_conn *c);
static void read_more(hs_conn *c);
static void read_stop(hs_conn *c);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* ---------------------------------------------------------------- small helpers */

/* The most input a connection holds unparsed, and reads at once
   (input_cap, on_readable). */
static size_t read_cap(const hs_limits *l)
{
    return l->max_head + 4096;
}

int64_t hs_now_us(void)
{
    return clk_mono_us();
}

hs_limits hs_default_limits(void)
{
    return (hs_limits){
        .max_head = 16 << 10, .max_headers = 100, .max_url = 8 << 10, .max_body = 4 << 20,
        .head_timeout_us = 10000000, .body_idle_us = 10000000, .body_timeout_us = 60000000,
        .keepalive_us = 60000000, .write_idle_us = 30000000, .max_output = 1 << 20,
        .max_conns = 4096, .spare_conns = 64,
    };
}

hs_shared *hs_shared_new(void)
{
    hs_shared *s = mem_calloc(1, sizeof *s);
    if (s)
        atomic_init(&s->conns, 0);
    return s;
}

void hs_shared_free(hs_shared *s)
{
    free(s);
}

uint32_t hs_shared_conns(const hs_shared *s)
{
    return atomic_load(&((hs_shared *)s)->conns);
}

const char *hs_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

const char *hs_error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 408: return "timeout_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

char *hs_error_body(const char *message, const char *type, const char *code, const char *param, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    jw_writer w;
    jw_init(&w, f, 0);
    jw_object(&w);
    jw_key(&w, "error");
    jw_object(&w);
    jw_key(&w, "message");
    jw_cstring(&w, message);
    jw_key(&w, "type");
    jw_cstring(&w, type);
    jw_key(&w, "param");
    if (param)
        jw_cstring(&w, param);
    else
        jw_null(&w);
    jw_key(&w, "code");
    if (code)
        jw_cstring(&w, code);
    else
        jw_null(&w);
    jw_end(&w);
    jw_end(&w);
    int bad = jw_finish(&w);
    if (fclose(f) || bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The Date header's value, made once a second, and with it the start of
   every 200 response up to that header's end. */
static const char *date_header(hs_server *s)
{
    time_t now = (time_t)(clk_wall_us() / 1000000);
    if (now != s->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        size_t n = strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        static const char ok[] = "HTTP/1.1 200 OK\r\nDate: ";
        memcpy(s->head200, ok, sizeof ok - 1);
        memcpy(s->head200 + sizeof ok - 1, s->date, n);
        memcpy(s->head200 + sizeof ok - 1 + n, "\r\n", 2);
        s->head200_len = sizeof ok - 1 + n + 2;
        s->date_at = now;
    }
    return s->date;
}

/* ---------------------------------------------------------------- deadlines */

/* Bytes of the body arrived (or it begins): the idle gap starts again,
   within the body's absolute deadline. */
static void body_progress(hs_conn *c, int64_t now)
{
    int64_t d = now + c->srv->lim.body_idle_us;
    c->deadline = d < c->body_deadline ? d : c->body_deadline;
}

/* State 'st' begins now, under its deadline (the table in http.h): a
   head from its first byte (the first request's from accept, set by
   conn_new), a body's idle gap within its absolute deadline, the
   keep-alive wait, lingering after an error.  A request with the
   application or a closing connection has none (arm_timer). */
static void enter_at(hs_conn *c, cstate st, int64_t now)
{
    const hs_limits *l = &c->srv->lim;
    c->state = st;
    switch (st) {
    case C_IDLE:
        c->deadline = now + l->keepalive_us;
        break;
    case C_HEAD:
        c->req.start_us = now;
        if (!c->first)
            c->deadline = now + l->head_timeout_us;
        c->first = 0;
        break;
    case C_BODY:
        c->body_deadline = now + l->body_timeout_us;
        body_progress(c, now);
        break;
    case C_LINGER:
        c->deadline = now + LINGER_US;
        break;
    default:
        break;
    }
}

static void enter(hs_conn *c, cstate st)
{
    enter_at(c, st, hs_now_us());
}

/* ---------------------------------------------------------------- parsing */

static void fail(hs_conn *c, int status, const char *code, const char *msg)
{
    if (!c->err_status) {
        c->err_status = status;
        c->err_code = code;
        c->err_msg = msg;
    }
}

static int arena_put(hs_conn *c, const char *p, size_t n)
{
    const hs_limits *l = &c->srv->lim;
    if (c->alen + n + 1 > l->max_head) {
        fail(c, 431, "headers_too_large", "the request's headers are larger than the gateway accepts");
        return -1;
    }
    if (c->alen + n + 1 > c->acap) {
        size_t cap = c->acap ? c->acap : 1024;
        while (cap < c->alen + n + 1)
            cap *= 2;
        char *a = mem_realloc(c->arena, cap);
        if (!a) {
            fail(c, 503, "out_of_memory", "the gateway is out of memory");
            return -1;
        }
        c->arena = a;
        c->acap = cap;
    }
    memcpy(c->arena + c->alen, p, n);
    c->alen += n;
    return 0;
}

static int on_begin(http_parser *hp)
{
    hs_conn *c = hp->data;
    c->alen = c->url_off = c->url_len = c->nhdr = 0;
    c->blen = 0;
    c->te_trailers = 0;
    c->in_value = 0;
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t n)
{
    hs_conn *c = hp->data;
    if (c->url_len + n > c->srv->lim.max_url) {
        fail(c, 414, "uri_too_long", "the request's URL is longer than the gateway accepts");
        return -1;
    }
    c->url_len += (uint32_t)n;
    return arena_put(c, at, n);
}

/* A header value ends: NUL-terminate it in the arena. */
static int end_value(hs_conn *c)
{
    if (!c->in_value)
        return 0;
    c->in_value = 0;
    return arena_put(c, "", 1);
}

/* Room for 'n' header entries; 0, or -1 after failing the request. */
static int hdr_room(hs_conn *c, uint32_t n)
{
    if (n <= c->hcap)
        return 0;
    uint32_t cap = c->hcap ? c->hcap * 2 : 16;
    while (cap < n)
        cap *= 2;
    hdr_off *h = mem_reallocarray(c->hdr, cap, sizeof *h);
    if (!h) {
        fail(c, 503, "out_of_memory", "the gateway is out of memory");
        return -1;
    }
    c->hdr = h;
    c->hcap = cap;
    return 0;
}

static int on_field(http_parser *hp, const char *at, size_t n)
{
    hs_conn *c = hp->data;
    if (c->nhdr == 0 && c->alen == c->url_len && arena_put(c, "", 1))    /* NUL after the URL */
        return -1;
    if (c->in_value || c->nhdr == 0) {
        if (end_value(c))
            return -1;
        if (c->nhdr >= c->srv->lim.max_headers) {
            fail(c, 431, "too_many_headers", "the request has more header fields than the gateway accepts");
            return -1;
        }
        if (hdr_room(c, c->nhdr + 1))
            return -1;
        c->hdr[c->nhdr++] = (hdr_off){ (uint32_t)c->alen, 0, 0, 0 };
    }
    size_t at0 = c->alen;
    if (arena_put(c, at, n))
        return -1;
    for (char *a = c->arena + at0, *e = c->arena + c->alen; a < e; a++)   /* locals: no reload per byte */
        if ((unsigned char)(*a - 'A') < 26)
            *a += 'a' - 'A';
    c->hdr[c->nhdr - 1].nlen += (uint32_t)n;
    return 0;
}

static int on_value(http_parser *hp, const char *at, size_t n)
{
    hs_conn *c = hp->data;
    hdr_off *h = &c->hdr[c->nhdr - 1];
    if (!c->in_value) {
        c->in_value = 1;
        h->voff = (uint32_t)c->alen;
    }
    h->vlen += (uint32_t)n;
    return arena_put(c, at, n);
}

static int ieq(const char *a, size_t n, const char *lit)
{
    return strlen(lit) == n && !strncasecmp(a, lit, n);
}

/* Transfer-Encoding: a request may only use chunked, and it must be the
   last (RFC 9112 section 6.1); anything else is refused before any body
   byte is read. */
static int check_te(hs_conn *c, const char *v, size_t n)
{
    const char *last = v;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',')
            last = v + i + 1;
    size_t ln = (size_t)(v + n - last);
    while (ln && (*last == ' ' || *last == '\t'))
        last++, ln--;
    while (ln && (last[ln - 1] == ' ' || last[ln - 1] == '\t'))
        ln--;
    if (!ieq(last, ln, "chunked")) {
        fail(c, 400, "invalid_transfer_encoding",
             "Transfer-Encoding must end with 'chunked' (RFC 9112 section 6.3)");
        return -1;
    }
    if (last != v) {
        fail(c, 501, "unsupported_transfer_encoding", "only the chunked transfer coding is supported");
        return -1;
    }
    return 0;
}

/* Whether a TE value's list names "trailers" (RFC 9110 section 10.1.4):
   members separated by commas, case-insensitive, each possibly with
   ";q=" parameters. */
static int te_names_trailers(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t b = i;
        while (i < n && v[i] != ',' && v[i] != ';' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i - b == 8 && !strncasecmp(v + b, "trailers", 8))
            return 1;
        while (i < n && v[i] != ',')
            i++;
    }
    return 0;
}

/* Is header name 'name' (lower case, 'n' bytes) the literal 'lit'? */
#define NAME_IS(name, n, lit) ((n) == sizeof lit - 1 && !memcmp(name, lit, sizeof lit - 1))

static int underscore_name(hs_conn *c)
{
    fail(c, 400, "invalid_header_name", "header names may not contain '_'");
    return -1;
}

/* Every header once: the names and values RFC 9110 refuses, the framing
   headers counted (smuggling), TE's "trailers" noted, the last Expect
   kept in '*expect' (index, or -1).  A head hh_request read can fail in
   the loop only by a name with '_' (it declines the heads that fail
   otherwise), and it noted those: such a head is refused before the
   loop, which skips the checks hh_request made. */
static int check_headers(hs_conn *c, int *expect)
{
    uint32_t ncl = 0, nte = 0, nhost = 0;
    *expect = -1;
    if (c->fast && c->fast_underscore)
        return underscore_name(c);
    for (uint32_t i = 0; i < c->nhdr; i++) {
        const hdr_off *h = &c->hdr[i];
        const char *name = c->arena + h->noff, *val = c->arena + h->voff;
        if (!c->fast && memchr(name, '_', h->nlen))
            return underscore_name(c);
        /* CR, LF, NUL, other controls but HTAB (RFC 9110 section 5.5); hh_request checked them already */
        if (!c->fast && hf_bad(val, h->vlen)) {
            fail(c, 400, "invalid_header_value", "a header value holds CR, LF, NUL or another control character");
            return -1;
        }
        /* names are in lower case already (on_field) */
        if (NAME_IS(name, h->nlen, "content-length"))
            ncl++;
        else if (NAME_IS(name, h->nlen, "transfer-encoding")) {
            nte++;
            if (check_te(c, val, h->vlen))
                return -1;
        } else if (NAME_IS(name, h->nlen, "host"))
            nhost++;
        else if (NAME_IS(name, h->nlen, "te")) {
            if (te_names_trailers(val, h->vlen))
                c->te_trailers = 1;
        } else if (NAME_IS(name, h->nlen, "expect"))
            *expect = (int)i;
    }
    if (ncl && nte) {
        fail(c, 400, "request_smuggling", "a request may not have both Content-Length and Transfer-Encoding");
        return -1;
    }
    if (ncl > 1 || nte > 1) {
        fail(c, 400, "request_smuggling", "a request may have only one Content-Length or Transfer-Encoding");
        return -1;
    }
    if (nhost > 1 || (nhost == 0 && c->v11)) {
        fail(c, 400, "invalid_host", "an HTTP/1.1 request must have exactly one Host header");
        return -1;
    }
    return 0;
}

/* Build the views the application reads. */
static int make_views(hs_conn *c)
{
    if (!c->hview) {
        c->hview = mem_calloc(c->srv->lim.max_headers ? c->srv->lim.max_headers : 1, sizeof *c->hview);
        if (!c->hview) {
            fail(c, 503, "out_of_memory", "the gateway is out of memory");
            return -1;
        }
    }
    for (uint32_t i = 0; i < c->nhdr; i++) {
        const hdr_off *h = &c->hdr[i];
        c->hview[i] = (hs_header){ c->arena + h->noff, c->arena + h->voff, h->nlen, h->vlen };
    }
    return 0;
}

/* The head is read ('method' to 'clen' set): checked, and the body
   comes next.  0, or -1 after failing the request. */
static int head_done(hs_conn *c)
{
    int expect;
    if (c->nhdr == 0 && arena_put(c, "", 1))
        return -1;
    if (end_value(c) || check_headers(c, &expect) || make_views(c))
        return -1;
    if (c->method != HTTP_GET && c->method != HTTP_POST && c->method != HTTP_HEAD) {
        fail(c, 405, "method_not_allowed", "the gateway answers GET and POST only");
        return -1;
    }
    if (c->has_len && c->clen > c->srv->lim.max_body) {
        fail(c, 413, "request_too_large", "the request body is larger than the gateway accepts");
        return -1;
    }
    if (c->method == HTTP_POST && !c->has_len && !c->chunked) {
        fail(c, 411, "length_required", "a POST needs Content-Length or chunked Transfer-Encoding");
        return -1;
    }
    if (expect >= 0) {
        if (!ieq(c->hview[expect].value, c->hview[expect].vlen, "100-continue")) {
            fail(c, 417, "expectation_failed", "only 'Expect: 100-continue' is understood");
            return -1;
        }
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        bufferevent_write(c->bev, cont, sizeof cont - 1);
        flush_out(c);
    }
    enter_at(c, C_BODY, c->fed_at);   /* within feed(): http_parser's callback, or fast_request */
    return 0;
}

static int on_headers(http_parser *hp)
{
    hs_conn *c = hp->data;
    c->method = hp->method;
    c->v11 = hp->http_major > 1 || (hp->http_major == 1 && hp->http_minor >= 1);
    c->has_len = !!(hp->flags & F_CONTENTLENGTH);
    c->chunked = !!(hp->flags & F_CHUNKED);
    c->clen = hp->content_length;
    return head_done(c);
}

static int on_body(http_parser *hp, const char *at, size_t n)
{
    hs_conn *c = hp->data;
    if (c->blen + n > c->srv->lim.max_body) {
        fail(c, 413, "request_too_large", "the request body is larger than the gateway accepts");
        return -1;
    }
    if (c->blen + n + 1 > c->bcap) {
        size_t cap = c->bcap ? c->bcap : 4096;
        while (cap < c->blen + n + 1)
            cap *= 2;
        char *b = mem_realloc(c->body, cap);
        if (!b) {
            fail(c, 503, "out_of_memory", "the gateway is out of memory");
            return -1;
        }
        c->body = b;
        c->bcap = cap;
    }
    memcpy(c->body + c->blen, at, n);
    c->blen += n;
    return 0;
}

static int on_complete(http_parser *hp)
{
    hs_conn *c = hp->data;
    c->state = C_APP;
    c->ka = http_should_keep_alive(hp);
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* ---------------------------------------------------------------- responses */

/* Output goes to the socket at once, without waiting for the loop to
   report it writable (which costs two epoll_ctl calls and a wait per
   response); only what the socket refuses is left to the bufferevent,
   whose write event (with its write-idle timeout: a slow reader) is
   enabled just while it holds bytes.  A write error is left to it too:
   its next attempt fails the same way and reports the connection dead
   through on_event, outside the application's call. */
static void flush_out(hs_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->write_on || evbuffer_get_length(out) == 0)
        return;
    /* a socket bufferevent keeps its output's start frozen so that only it
       drains the buffer; it is unfrozen the same way for its own writes */
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, c->fd);
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0) {
        c->write_on = 1;
        bufferevent_enable(c->bev, EV_WRITE);
    }
}

/* A stream's pieces: written once the loop's current round of callbacks
   is over, so pieces produced together leave in one write. */
static void flush_soon(hs_conn *c)
{
    if (!c->write_on && !c->flush_on) {
        c->flush_on = 1;
        event_active(c->flush, EV_TIMEOUT, 0);
    }
}

static void on_flush_held(evutil_socket_t fd, short what, void *arg)
{
    hs_conn *c = arg;
    c->flush_on = 0;
    flush_out(c);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    clk_hold();
    on_flush_held(fd, what, arg);
    clk_release();
}

/* A response is gathered here and handed to the output buffer in one
   piece (one buffer chain, one iovec for the write), spilling only when
   it does not fit. */
typedef struct {
    struct evbuffer *out;
    size_t n;
    char b[4096];
} outbuf;

static void ob_init(outbuf *o, hs_conn *c)
{
    o->out = bufferevent_get_output(c->bev);
    o->n = 0;
}

static void ob_flush(outbuf *o)
{
    if (o->n)
        evbuffer_add(o->out, o->b, o->n);
    o->n = 0;
}

/* The gathered response goes out: straight to the socket when nothing is
   queued before it (no copy into the output buffer, no buffer chain
   allocated and freed), and what the socket does not take -- all of it
   after an error, which flush_out's next write then reports -- into the
   output buffer after what it holds. */
static void ob_send(outbuf *o, hs_conn *c)
{
    size_t sent = 0;
    if (o->n && !c->write_on && evbuffer_get_length(o->out) == 0) {
        ssize_t w = send(c->fd, o->b, o->n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            sent = (size_t)w;
    }
    if (sent < o->n)
        evbuffer_add(o->out, o->b + sent, o->n - sent);
    o->n = 0;
}

/* ob_put when the bytes do not fit what is left of the buffer. */
static void ob_spill(outbuf *o, const char *p, size_t n)
{
    ob_flush(o);
    if (n > sizeof o->b) {
        evbuffer_add(o->out, p, n);
        return;
    }
    memcpy(o->b, p, n);
    o->n = n;
}

/* Inline: a head is some 18 of these, most of a few constant bytes. */
static inline void ob_put(outbuf *o, const char *p, size_t n)
{
    if (o->n + n > sizeof o->b) {
        ob_spill(o, p, n);
        return;
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void ob_str(outbuf *o, const char *s)
{
    ob_put(o, s, strlen(s));
}

/* The status line and headers; 'clen' < 0: chunked. */
static void put_head(hs_conn *c, outbuf *o, int status, hs_line ctype, const hs_line *headers, size_t nheaders,
                     long long clen)
{
    char num[NF_MAX];
    if (status == 200) {
        date_header(c->srv);
        ob_put(o, c->srv->head200, c->srv->head200_len);
    } else {
        ob_put(o, "HTTP/1.1 ", 9);
        ob_put(o, num, nf_u64(num, (uint64_t)status));
        ob_put(o, " ", 1);
        ob_str(o, hs_reason(status));
        ob_put(o, "\r\nDate: ", 8);
        ob_str(o, date_header(c->srv));
        ob_put(o, "\r\n", 2);
    }
    if (ctype.len) {
        ob_put(o, "Content-Type: ", 14);
        ob_put(o, ctype.s, ctype.len);
        ob_put(o, "\r\n", 2);
    }
    if (clen >= 0) {
        ob_put(o, "Content-Length: ", 16);
        ob_put(o, num, nf_u64(num, (uint64_t)clen));
        ob_put(o, "\r\n", 2);
    } else {
        static const char te[] = "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n";
        ob_put(o, te, sizeof te - 1);
    }
    if (!c->keep_alive)
        ob_put(o, "Connection: close\r\n", 19);
    for (size_t i = 0; i < nheaders; i++) {
        ob_put(o, headers[i].s, headers[i].len);
        ob_put(o, "\r\n", 2);
    }
    ob_put(o, "\r\n", 2);
}

/* The request is answered: back to reading the next one, or close once
   the output is flushed. */
static void end_request(hs_conn *c)
{
    hs_server *s = c->srv;
    flush_out(c);
    s->nbusy--;
    c->abort = NULL;
    c->streaming = 0;
    if (!c->keep_alive || s->draining) {
        c->state = C_CLOSING;
        read_stop(c);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            conn_close(c, 0);
        return;
    }
    enter(c, C_IDLE);
    http_parser_pause(&c->hp, 0);
    if (c->in_parse)
        return;             /* parse_input's loop goes on */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
        arm_timer(c);       /* nothing pipelined: the keep-alive wait */
        return;
    }
    c->resume = 1;
    event_active(c->timer, EV_TIMEOUT, 0);
}

void hs_respond(hs_req *r, int status, hs_line ctype, const hs_line *headers, size_t nheaders, const char *body,
                size_t len)
{
    hs_conn *c = r->conn;
    outbuf o;
    ob_init(&o, c);
    put_head(c, &o, status, ctype, headers, nheaders, (long long)len);
    if (len && r->method != HS_HEAD)
        ob_put(&o, body, len);
    ob_send(&o, c);
    end_request(c);
}

void hs_respond_error(hs_req *r, int status, const char *code, const char *message, const hs_line *extra,
                      size_t nextra)
{
    size_t n = 0;
    char *b = hs_error_body(message, hs_error_type(status), code, NULL, &n);
    hs_respond(r, status, HS_LINE("application/json"), extra, nextra, b ? b : "", b ? n : 0);
    free(b);
}

void hs_stream_start(hs_req *r, int status, hs_line ctype, const hs_line *headers, size_t nheaders)
{
    hs_conn *c = r->conn;
    c->streaming = 1;
    outbuf o;
    ob_init(&o, c);
    put_head(c, &o, status, ctype, headers, nheaders, -1);
    ob_flush(&o);
    flush_soon(c);
}

int hs_stream_write(hs_req *r, const char *data, size_t len)
{
    hs_conn *c = r->conn;
    if (!len)
        return 0;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) + len > c->srv->lim.max_output) {
        c->abort = NULL;            /* the caller learns it from the -1 */
        conn_close(c, 1);
        return -1;
    }
    /* the chunk's size line, its bytes and its CRLF, added in one piece */
    outbuf o;
    ob_init(&o, c);
    char size[NF_MAX + 2];
    size_t n = nf_hex(size, len, 1);
    size[n++] = '\r';
    size[n++] = '\n';
    ob_put(&o, size, n);
    ob_put(&o, data, len);
    ob_put(&o, "\r\n", 2);
    ob_flush(&o);
    flush_soon(c);
    return 0;
}

void hs_stream_end(hs_req *r, const hs_line *trailers, size_t ntrailers)
{
    hs_conn *c = r->conn;
    outbuf o;
    ob_init(&o, c);
    ob_put(&o, "0\r\n", 3);
    if (!c->te_trailers)
        ntrailers = 0;          /* the client did not ask: it may not read them */
    for (size_t i = 0; i < ntrailers; i++) {
        ob_put(&o, trailers[i].s, trailers[i].len);
        ob_put(&o, "\r\n", 2);
    }
    ob_put(&o, "\r\n", 2);
    ob_send(&o, c);
    end_request(c);
}

int hs_accepts_trailers(const hs_req *r)
{
    return r->conn->te_trailers;
}

void hs_on_abort(hs_req *r, void (*abort)(void *ud), void *ud)
{
    r->conn->abort = abort;
    r->conn->abort_ud = ud;
}

const char *hs_header_get(const hs_req *r, const char *name, size_t *vlen, uint32_t *count)
{
    const char *v = NULL;
    uint32_t n = 0;
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].nlen == nl && !memcmp(r->headers[i].name, name, nl)) {
            if (!v) {
                v = r->headers[i].value;
                if (vlen)
                    *vlen = r->headers[i].vlen;
            }
            n++;
        }
    if (count)
        *count = n;
    return v;
}

/* ---------------------------------------------------------------- errors the server answers itself */

/* Answer a protocol error and close: the write side is shut once the
   answer is out, and input is read and dropped for a while (a client
   still sending its body would otherwise get a reset instead of the
   answer). */
static void answer_error(hs_conn *c)
{
    size_t n = 0;
    char *b = hs_error_body(c->err_msg, hs_error_type(c->err_status), c->err_code, NULL, &n);
    c->keep_alive = 0;
    outbuf o;
    ob_init(&o, c);
    put_head(c, &o, c->err_status, HS_LINE("application/json"), NULL, 0, (long long)(b ? n : 0));
    if (b)
        ob_put(&o, b, n);
    ob_flush(&o);
    free(b);
    enter(c, C_LINGER);
    evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
    read_more(c);               /* reading may have paused at the input cap */
    flush_out(c);
    if (!c->write_on)           /* all out already: on_write will not come */
        shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    arm_timer(c);
}

static int parser_status(hs_conn *c, enum http_errno e)
{
    if (c->err_status)
        return c->err_status;
    switch (e) {
    case HPE_HEADER_OVERFLOW:
        fail(c, 431, "headers_too_large", "the request's headers are larger than the gateway accepts");
        break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
    case HPE_INVALID_TRANSFER_ENCODING:
        fail(c, 400, "request_smuggling", "conflicting Content-Length and Transfer-Encoding (RFC 9112 section 6)");
        break;
    case HPE_INVALID_CONTENT_LENGTH:
        fail(c, 400, "invalid_content_length", "the Content-Length is not a number");
        break;
    case HPE_INVALID_METHOD:
        fail(c, 405, "method_not_allowed", "the gateway answers GET and POST only");
        break;
    case HPE_INVALID_VERSION:
        fail(c, 505, "http_version_not_supported", "the gateway speaks HTTP/1.0 and HTTP/1.1");
        break;
    default:
        fail(c, 400, "bad_request", http_errno_description(e));
        break;
    }
    return c->err_status;
}

/* ---------------------------------------------------------------- connection events */

static void dispatch(hs_conn *c)
{
    hs_server *s = c->srv;
    char *url = c->arena + c->url_off;
    url[c->url_len] = 0;
    char *q = memchr(url, '?', c->url_len);
    size_t plen = q ? (size_t)(q - url) : c->url_len;
    if (q)
        *q = 0;
    if (c->body)
        c->body[c->blen] = 0;
    c->keep_alive = c->ka && !s->draining;
    c->abort = NULL;
    c->req = (hs_req){
        .method = c->method == HTTP_GET ? HS_GET : c->method == HTTP_POST ? HS_POST : HS_HEAD,
        .path = url, .path_len = plen, .headers = c->hview, .nheaders = c->nhdr,
        .body = c->body ? c->body : "", .body_len = c->blen,
        .start_us = c->req.start_us, .spare = c->spare, .conn = c,
    };
    s->nbusy++;
    s->app.request(s->app.ud, &c->req);
}

/* Line endings of the head, checked before the parser sees the bytes:
   http-parser (like RFC 9112 section 2.2 allows) takes a bare LF as a
   line end and joins obs-fold continuation lines; a gateway that other
   hops may parse differently refuses both.  States: 0 in a line, 1 after
   CR, 2 at a line start, 3 after an empty line's CR, 4 the head is over.
   Inside a line the scan goes straight to its CR with memchr (and makes
   sure no LF comes before it); the states around a line end go byte by
   byte.  0, or -1 after failing the request. */
static int scan_head(hs_conn *c, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && c->scan != 4) {
        if (c->scan == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            size_t end = cr ? (size_t)(cr - p) : n;
            if (memchr(p + i, '\n', end - i)) {
                fail(c, 400, "bare_lf", "a line of the request head ends in LF without CR");
                return -1;
            }
            if (!cr)
                return 0;
            c->scan = 1;
            i = end + 1;
            continue;
        }
        char ch = p[i++];
        switch (c->scan) {
        case 1:
        case 3:
            if (ch != '\n') {
                fail(c, 400, "bare_cr", "a CR in the request head is not followed by LF");
                return -1;
            }
            c->scan = c->scan == 1 ? 2 : 4;
            break;
        case 2:
            if (ch == ' ' || ch == '\t') {
                fail(c, 400, "obs_fold", "folded header lines (obs-fold) are not accepted");
                return -1;
            }
            if (ch == '\n') {
                fail(c, 400, "bare_lf", "a line of the request head ends in LF without CR");
                return -1;
            }
            c->scan = ch == '\r' ? 3 : 0;
            break;
        }
    }
    return 0;
}

/* What one step of parsing did (feed). */
enum { FEED_ON, FEED_STOP, FEED_FAILED, FEED_MESSAGE };

/* Body bytes of a request whose head hh_request read: to on_body, up to
   its length; '*used' grows by the bytes taken.  FEED_* as feed. */
static int fast_body(hs_conn *c, const char *p, size_t n, size_t *used)
{
    size_t take = n < c->fast_left ? n : (size_t)c->fast_left;
    if (take && on_body(&c->hp, p, take))
        return FEED_FAILED;
    *used += take;
    c->fast_left -= take;
    if (c->fast_left)
        return FEED_ON;
    c->fast = 0;
    c->state = C_APP;
    return FEED_MESSAGE;
}

/* The head hh_request read, into the arena as it is: one copy, names
   lowercased and the URL's and each value's end made NULs in place --
   the URL, names and values the callbacks would have gathered, where
   the head holds them.  0, or -1 after failing the request. */
/* ASCII upper case letters of the word 'w' in lower case, eight bytes at
   once: per byte (its low seven bits, so that no sum carries into the
   next), the high bit of b + (0x80 - 'A') is set from 'A' up and that of
   b + (0x7f - 'Z') above 'Z'; where exactly the first is, and the byte is
   ASCII, 0x20 is added. */
static uint64_t lower_word(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80, low7 = w & ~high;
    uint64_t upper = ((low7 + ones * (0x80 - 'A')) ^ (low7 + ones * (0x7f - 'Z'))) & ~w & high;
    return w | upper >> 2;
}

/* A field name in lower case, in place (the name bytes http_parser's
   path lowers one by one, on_field): whole words, the last one ending
   with the name (lowering a byte twice is no harm). */
static void lower_name(char *s, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)(s[i] - 'A') < 26)
                s[i] += 'a' - 'A';
        return;
    }
    for (size_t i = 0;; i += 8) {
        size_t at = i + 8 <= n ? i : n - 8;
        uint64_t w;
        memcpy(&w, s + at, 8);
        w = lower_word(w);
        memcpy(s + at, &w, 8);
        if (at + 8 == n)
            return;
    }
}

static int fast_arena(hs_conn *c, const char *p, size_t len, const hh_head *h, const hh_field *f)
{
    on_begin(&c->hp);
    if (arena_put(c, p, len) || hdr_room(c, h->nfield))
        return -1;
    char *a = c->arena;
    c->url_off = h->target_off;
    c->url_len = h->target_len;
    a[h->target_off + h->target_len] = 0;      /* the space before "HTTP/1.1" */
    for (uint32_t i = 0; i < h->nfield; i++) {
        lower_name(a + f[i].noff, f[i].nlen);
        a[f[i].voff + f[i].vlen] = 0;           /* the line's CR: values end with no blank */
        c->hdr[i] = (hdr_off){ f[i].noff, f[i].nlen, f[i].voff, f[i].vlen };
    }
    c->nhdr = h->nfield;
    return 0;
}

/* A request at the start of [p, p + n) whose head hh_request takes
   whole (hhead.h), within the caps (else http_parser gives the status):
   the head as the callbacks would have kept it (fast_arena), checked as
   theirs, then the body as far as it came.  FEED_* as feed, or -1 when
   declined. */
static int fast_request(hs_conn *c, const char *p, size_t n, size_t *used)
{
    static const int methods[] = { [HH_GET] = HTTP_GET, [HH_POST] = HTTP_POST, [HH_HEAD] = HTTP_HEAD };
    const hs_limits *l = &c->srv->lim;
    hh_field f[FAST_FIELDS];
    hh_head h;
    size_t len = hh_request(p, n, f, FAST_FIELDS, &h);
    if (!len || len >= l->max_head || h.target_len > l->max_url || h.nfield > l->max_headers)
        return -1;
    int bad = fast_arena(c, p, len, &h, f);
    c->method = methods[h.method];
    c->v11 = 1;
    c->has_len = h.has_length;
    c->chunked = 0;
    c->clen = h.length;
    c->ka = !h.close;
    c->fast = 1;
    c->fast_underscore = h.underscore;
    if (bad || head_done(c))
        return FEED_FAILED;
    c->fast_left = h.has_length ? h.length : 0;
    *used = len;
    return fast_body(c, p + len, n - len, used);
}

/* One step of parsing [p, p + n), the connection's next input bytes:
   a new request begins, a head goes to the parser in pieces of at most
   HEAD_PIECE bytes (http-parser reports a URL only when it ends or its
   input does, so a URL longer than the URL cap (414) would otherwise run
   into the parser's own head limit first (431)), its line ends checked
   first (scan_head, over the bytes the parser is given: those and no
   others, so none is scanned twice).  '*used' gets the bytes consumed.
   FEED_MESSAGE: a whole request, to dispatch once the consumed bytes are
   dropped from the input; FEED_STOP: stop reading input for now;
   FEED_FAILED: the request failed (answer_error). */
static int feed(hs_conn *c, const char *p, size_t n, size_t *used)
{
    *used = 0;
    c->fed_at = hs_now_us();
    if (c->state == C_IDLE) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > c->srv->lim.max_output) {
            c->out_wait = 1;    /* a pipelining client that does not read: wait for it (or the write timeout) */
            return FEED_STOP;
        }
        c->scan = 0;
        c->fast = 0;
        enter_at(c, C_HEAD, c->fed_at);
        int r = fast_request(c, p, n, used);
        if (r >= 0)
            return r;
    } else if (c->state == C_BODY) {
        body_progress(c, c->fed_at);
        if (c->fast)
            return fast_body(c, p, n, used);
    }
    size_t len = c->state == C_HEAD && n > HEAD_PIECE ? HEAD_PIECE : n;
    if (c->scan != 4 && scan_head(c, p, len))
        return FEED_FAILED;
    *used = http_parser_execute(&c->hp, &settings, p, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->hp);
    if (e == HPE_PAUSED && c->state == C_APP)
        return FEED_MESSAGE;    /* answered at once, the caller's loop goes on with pipelined input */
    if (e != HPE_OK) {
        parser_status(c, e);
        return FEED_FAILED;
    }
    return FEED_ON;
}

static int parsing(const hs_conn *c)
{
    return c->state == C_IDLE || c->state == C_HEAD || c->state == C_BODY;
}

/* After parsing: a connection closed meanwhile is freed; else its timer
   and reading follow its state. */
static void parse_done(hs_conn *c)
{
    c->in_parse = 0;
    if (c->dead) {              /* a response closed it (conn_close) */
        conn_free(c);
        return;
    }
    if (c->state != C_CLOSING && c->state != C_LINGER)
        arm_timer(c);
    read_more(c);
}

/* Parse what the connection's input buffer holds. */
static void parse_input(hs_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->in_parse = 1;
    while (parsing(c) && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used;
        int r = feed(c, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (r == FEED_STOP)
            break;
        if (r == FEED_FAILED) {
            c->in_parse = 0;
            answer_error(c);
            return;
        }
        if (r == FEED_MESSAGE)
            dispatch(c);
    }
    parse_done(c);
}

/* Parse [p, n) just read into the server's read buffer, the connection's
   input buffer being empty; what is not parsed now (a pipelined request
   waiting for the response before it, a client that does not read) is
   kept in the input buffer for parse_input. */
static void parse_read(hs_conn *c, const char *p, size_t n)
{
    size_t off = 0;
    c->in_parse = 1;
    while (parsing(c) && off < n) {
        size_t used;
        int r = feed(c, p + off, n - off, &used);
        off += used;
        if (r == FEED_STOP)
            break;
        if (r == FEED_FAILED) {
            c->in_parse = 0;
            answer_error(c);    /* the rest is dropped, as from the input buffer */
            return;
        }
        if (r == FEED_MESSAGE)
            dispatch(c);
    }
    if (off < n && !c->dead && c->state != C_CLOSING && c->state != C_LINGER &&
        evbuffer_add(bufferevent_get_input(c->bev), p + off, n - off)) {
        c->in_parse = 0;
        conn_close(c, 1);       /* out of memory: the input is lost, and so is the connection */
        return;
    }
    parse_done(c);
}

/* The timer is set lazily: one already set to fire no later than the
   state's deadline is left as it is (on_timer finds the deadline not
   reached yet and sets it again), and one set while the application has
   the request is left to fire for nothing.  A request that comes and is
   answered within the keep-alive wait thus costs no change to libevent's
   timer heap (it was a removal and an insertion per request, touching the
   heap of every connection's timer). */
static void arm_timer(hs_conn *c)
{
    int64_t d = c->state == C_APP || c->state == C_CLOSING ? 0 : c->deadline;
    if (!d || (c->timer_at && c->timer_at <= d))
        return;
    int64_t left = d - hs_now_us();
    if (left < 0)
        left = 0;
    struct timeval tv = { (time_t)(left / 1000000), (suseconds_t)(left % 1000000) };
    event_add(c->timer, &tv);
    c->timer_at = d;
}

static void on_timer_held(evutil_socket_t fd, short what, void *arg)
{
    hs_conn *c = arg;
    c->timer_at = 0;            /* a run event is no longer pending (libevent deletes it first) */
    if (c->resume) {
        c->resume = 0;
        parse_input(c);
        return;
    }
    if (c->state == C_APP || c->state == C_CLOSING)
        return;
    if (hs_now_us() < c->deadline) {
        arm_timer(c);
        return;
    }
    switch (c->state) {
    case C_HEAD:
    case C_BODY:
        fail(c, 408, "request_timeout",
             c->state == C_HEAD ? "the request's headers did not arrive in time"
                                : "the request's body did not arrive in time");
        answer_error(c);
        break;
    default:                        /* keep-alive idle, lingering over */
        conn_close(c, 0);
        break;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    clk_hold();
    on_timer_held(fd, what, arg);
    clk_release();
}

static void on_read(hs_conn *c)
{
    if (c->state == C_LINGER) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > LINGER_BYTES)
            conn_close(c, 0);
        else
            read_more(c);
        return;
    }
    if (c->state == C_APP || c->state == C_CLOSING)
        return;                     /* pipelined: read after the response */
    parse_input(c);
}

/* Reading: the connection's own event rather than the bufferevent's,
   whose reads ask the kernel how much is waiting (ioctl FIONREAD) before
   each readv and take at most 4 KiB.  Here one readv takes what fits
   under the input cap (the head cap and 4 KiB: a request head that does
   not fit is refused anyway, and pipelined requests wait in the buffer,
   http.h); past the cap reading pauses until parsing drains the buffer
   (read_more).  EOF and errors end the connection as the bufferevent's
   would (on_event).  A connection whose input buffer is empty -- nearly
   every read: a request arrives whole and is parsed at once -- reads
   into the server's one read buffer instead (parse_read), which the
   last read left in the cache, and copies into its own buffer only what
   has to wait; the request's head and body are copied out by the
   parser's callbacks either way. */
static size_t input_cap(const hs_conn *c)
{
    return read_cap(&c->srv->lim);
}

static void read_stop(hs_conn *c)
{
    if (c->reading) {
        event_del(c->rd);
        c->reading = 0;
    }
}

/* Read again once the input is under its cap (not while closing). */
static void read_more(hs_conn *c)
{
    if (!c->reading && c->state != C_CLOSING &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) < input_cap(c)) {
        event_add(c->rd, NULL);
        c->reading = 1;
    }
}

/* A read failed ('n' < 0, errno set) or met EOF ('n' == 0): nothing
   more to do now (EAGAIN), or the connection ends. */
static void read_failed(hs_conn *c, ssize_t n)
{
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    on_event(c->bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
}

static void on_readable_held(evutil_socket_t fd, short what, void *arg)
{
    hs_conn *c = arg;
    hs_server *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in), cap = input_cap(c);
    if (have == 0 && s->rbuf && parsing(c)) {
        /* the usual case: read into the server's buffer, warm from the
           last connection read, and parse from there; only what waits
           goes to the connection's own input buffer */
        ssize_t n = recv(fd, s->rbuf, cap, 0);
        if (n <= 0)
            read_failed(c, n);
        else
            parse_read(c, s->rbuf, (size_t)n);
        return;
    }
    if (have >= cap) {
        read_stop(c);
        return;
    }
    size_t want = cap - have;
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    if (nv < 1) {
        on_event(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, c);   /* out of memory */
        return;
    }
    struct iovec iov[2];
    int ni = 0;
    for (size_t left = want; ni < nv && left; ni++) {
        iov[ni].iov_base = v[ni].iov_base;
        iov[ni].iov_len = v[ni].iov_len < left ? v[ni].iov_len : left;
        left -= iov[ni].iov_len;
    }
    ssize_t n = readv(fd, iov, ni);
    if (n <= 0) {
        evbuffer_commit_space(in, v, 0);
        read_failed(c, n);
        return;
    }
    int nc = 0;
    for (size_t got = (size_t)n; nc < ni && got; nc++) {
        v[nc].iov_len = iov[nc].iov_len < got ? iov[nc].iov_len : got;
        got -= v[nc].iov_len;
    }
    evbuffer_commit_space(in, v, nc);
    if (have + (size_t)n >= cap)
        read_stop(c);
    on_read(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    clk_hold();
    on_readable_held(fd, what, arg);
    clk_release();
}

static void on_write_held(struct bufferevent *bev, void *arg)
{
    hs_conn *c = arg;
    /* drained: stop watching for writability until a write is refused again */
    bufferevent_disable(bev, EV_WRITE);
    c->write_on = 0;
    if (c->out_wait) {
        c->out_wait = 0;
        parse_input(c);
    } else if (c->state == C_CLOSING)
        conn_close(c, 0);
    else if (c->state == C_LINGER)
        shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    clk_hold();
    on_write_held(bev, arg);
    clk_release();
}

static void on_event_held(struct bufferevent *bev, short what, void *arg)
{
    hs_conn *c = arg;
    if (what & BEV_EVENT_EOF && c->state == C_LINGER) {
        conn_close(c, 0);
        return;
    }
    /* EOF, an error or the write idle timeout (a slow reader): the
       connection is gone, and so is any request on it */
    conn_close(c, 1);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    clk_hold();
    on_event_held(bev, what, arg);
    clk_release();
}

/* The connection is over: its request, if the application has it, is
   aborted ('abort_app') or was answered.  When this happens inside
   parse_input (a response that closes the connection, written at once
   from the application's call), the memory stays until parse_input
   returns, which then frees it (conn_free). */
static void conn_close(hs_conn *c, int abort_app)
{
    hs_server *s = c->srv;
    if (c->dead)
        return;
    if (c->state == C_APP) {
        s->nbusy--;
        if (abort_app && c->abort)
            c->abort(c->abort_ud);
    }
    c->state = C_CLOSING;
    c->abort = NULL;
    if (c->in_parse) {
        c->dead = 1;
        read_stop(c);
        return;
    }
    conn_free(c);
}

static void conn_free(hs_conn *c)
{
    hs_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    atomic_fetch_sub(&s->shared->conns, 1);
    event_free(c->rd);          /* before the bufferevent closes the socket */
    bufferevent_free(c->bev);
    event_free(c->timer);
    event_free(c->flush);
    free(c->arena);
    free(c->hdr);
    free(c->hview);
    free(c->body);
    free(c);
}

/* ---------------------------------------------------------------- accepting */

static const char overloaded[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    "Retry-After: 1\r\nContent-Length: 137\r\n\r\n"
    "{\"error\":{\"message\":\"the gateway has too many connections; retry later\","
    "\"type\":\"overloaded_error\",\"param\":null,\"code\":\"too_many_connections\"}}";

/* A connection on accepted socket 'fd'; 'n' is the connection count with
   it (already counted).  On failure the socket is closed and uncounted. */
static void conn_new(hs_server *s, evutil_socket_t fd, uint32_t n)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    hs_conn *c = mem_calloc(1, sizeof *c);
    struct bufferevent *bev = c ? bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    struct event *t = bev ? evtimer_new(s->base, on_timer, c) : NULL;
    struct event *fl = t ? event_new(s->base, -1, 0, on_flush, c) : NULL;
    struct event *rd = fl ? event_new(s->base, fd, EV_READ | EV_PERSIST, on_readable, c) : NULL;
    if (!rd) {
        if (fl)
            event_free(fl);
        if (t)
            event_free(t);
        if (bev)
            bufferevent_free(bev);
        else
            evutil_closesocket(fd);
        free(c);
        atomic_fetch_sub(&s->shared->conns, 1);
        return;
    }
    c->srv = s;
    c->bev = bev;
    c->fd = fd;
    c->timer = t;
    c->flush = fl;
    c->rd = rd;
    c->spare = n > s->lim.max_conns;
    c->first = 1;
    c->state = C_IDLE;
    c->deadline = hs_now_us() + s->lim.head_timeout_us;   /* the first request's head: from accept */
    http_parser_init(&c->hp, HTTP_REQUEST);
    c->hp.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    bufferevent_setcb(bev, NULL, on_write, on_event, c);
    /* a socket bufferevent keeps its input's end frozen so that only its
       own reads fill it; here on_readable does, and the bufferevent never
       reads (its EV_READ stays disabled) */
    evbuffer_unfreeze(bufferevent_get_input(bev), 0);
    struct timeval wt = { (time_t)(s->lim.write_idle_us / 1000000), (suseconds_t)(s->lim.write_idle_us % 1000000) };
    bufferevent_set_timeouts(bev, NULL, &wt);
    bufferevent_disable(bev, EV_WRITE);   /* enabled by default; only while output waits (flush_out) */
    read_more(c);
    arm_timer(c);
}

static void on_accept_held(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    hs_server *s = arg;
    uint32_t n = atomic_fetch_add(&s->shared->conns, 1) + 1;
    if (s->draining || n > s->lim.max_conns + s->lim.spare_conns) {
        /* shed: a canned answer (the socket's buffer takes it whole), then close */
        if (!s->draining && send(fd, overloaded, sizeof overloaded - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            (void)0;
        atomic_fetch_sub(&s->shared->conns, 1);
        evutil_closesocket(fd);
        return;
    }
    conn_new(s, fd, n);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    clk_hold();
    on_accept_held(lis, fd, sa, salen, arg);
    clk_release();
}

void hs_adopt(hs_server *s, int fd)
{
    uint32_t n = atomic_fetch_add(&s->shared->conns, 1) + 1;
    conn_new(s, fd, n);
}

static void on_relisten(evutil_socket_t fd, short what, void *arg)
{
    hs_server *s = arg;
    if (!s->draining)
        evconnlistener_enable(s->lis);
}

/* accept() failed (out of file descriptors): pause accepting for a moment
   instead of spinning on a listening socket that stays readable. */
static void on_accept_error(struct evconnlistener *lis, void *arg)
{
    hs_server *s = arg;
    evconnlistener_disable(lis);
    struct timeval tv = { 0, 100000 };
    event_add(s->relisten, &tv);
}

hs_server *hs_new(struct event_base *base, const char *host, int port, const hs_limits *lim, hs_shared *shared,
                  const hs_app *app, char *err, size_t errlen)
{
    static int parser_init;
    if (!parser_init) {
        http_parser_set_max_header_size((uint32_t)(lim->max_head + 1024));
        parser_init = 1;
    }
    if (!host) {                /* no listener: connections come through hs_adopt */
        hs_server *s = mem_calloc(1, sizeof *s);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        s->base = base;
        s->lim = *lim;
        s->shared = shared;
        s->app = *app;
        s->rbuf = mem_malloc(read_cap(lim));    /* NULL: reads go to each connection's buffer */
        return s;
    }
    char spec[300];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sslen;
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sslen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *v6;
    } else {
        snprintf(err, errlen, "bad listen address '%s' (a numeric IPv4 or IPv6 address)", spec);
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) || bind(fd, (struct sockaddr *)&ss, sslen) ||
        listen(fd, 4096)) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    hs_server *s = mem_calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->lim = *lim;
    s->shared = shared;
    s->app = *app;
    s->rbuf = mem_malloc(read_cap(lim));            /* as above */
    s->relisten = evtimer_new(base, on_relisten, s);
    s->lis = s->relisten ? evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd) : NULL;
    if (!s->lis) {
        close(fd);
        if (s->relisten)
            event_free(s->relisten);
        free(s->rbuf);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    evconnlistener_set_error_cb(s->lis, on_accept_error);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &bl);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return s;
}

int hs_port(const hs_server *s)
{
    return s->port;
}

uint32_t hs_conns(const hs_server *s)
{
    return s->nconns;
}

uint32_t hs_busy(const hs_server *s)
{
    return s->nbusy;
}

void hs_drain(hs_server *s)
{
    if (s->draining)
        return;
    s->draining = 1;
    if (s->lis)
        evconnlistener_disable(s->lis);
    for (hs_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_IDLE)
            conn_close(c, 0);
    }
}

void hs_free(hs_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s->conns, 1);
    if (s->lis)
        evconnlistener_free(s->lis);
    if (s->relisten)
        event_free(s->relisten);
    free(s->rbuf);
    free(s);
}
