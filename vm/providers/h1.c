/* The engine's HTTP/1.1 transport; see h1.h.

   A connection is in one of five states: CONNECTING (a non-blocking
   connect() in progress, watched for writing), HANDSHAKING (https: the
   TLS handshake, watched for what OpenSSL waits for), SENDING (part of
   the request still to write, watched for writing), READING (watched
   for reading) and IDLE (parked in its host's list, still watched for
   reading so that a close by the peer is seen).  On a kept-alive
   connection a request goes from hc_start to READING in one sendmsg()
   (or one TLS record) and no change to the loop's registration: the
   socket was watched for reading while it was parked.  The bytes go
   through conn_send and conn_recv, plain or TLS.

   Each host (scheme, host and port) holds its addresses: the one
   written in the URL, localhost's two, or a name's, looked up by the
   pool's resolver (dns.h) when a connection is needed and none is kept
   or younger than H1_NAME_TTL_US; requests wait in the host's list
   meanwhile.  A connection tries the addresses in order: a failure
   moves on at once, silence after H1_ATTEMPT_US (h1_run_due), within
   the engine's connect deadline.

   Response bytes are read into the pool's buffer (one per engine: a
   request's bytes are parsed before the next read) and parsed in place:
   a plain head that comes whole in the first read, with a Content-Length
   body, by hh_response (hhead.h), the body then counted here; anything
   else by http_parser.  A header's name and value may arrive in pieces across
   reads; they are gathered in the request's line buffer, within the caps
   on the head's size and line count, and handed on when the next header
   or the end of the head shows the value complete.  Interim responses
   (1xx) are parsed and dropped.  When the final response ends the parser
   is paused, so bytes after it are seen: a peer that sent more than one
   response cannot be trusted with the next request, and its connection
   is closed rather than parked.

   A request ends in one place (end_req): its connection is parked or
   closed first and the request taken off it, so that the 'end' event
   may start the next request on the same connection. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <http_parser.h>

#include "dns.h"
#include "h1.h"
#include "hfield.h"
#include "hhead.h"
#include "mem.h"
#include "tls.h"

#define H1_HEAD_MAX (32u << 10)         /* a response head's header bytes */
#define H1_HEADERS_MAX 100              /* a response head's header lines */
/* Parked connections per (host, port).  Below the number of calls in
   flight at once, every call past it closes its connection when it ends
   and a later call opens one: with 64 calls in flight and 32 parked, a
   fifth of a gateway's calls paid a connect and a close, on both sides. */
#define H1_IDLE_PER_HOST 256
#define H1_IDLE_MAX_US 50000000         /* a connection parked longer is not used again */
#define H1_READ (16u << 10)             /* bytes read per recv() */
#define H1_SPARE_MAX 64                 /* ended requests kept for their buffers (as httpc.c keeps transfers) */
#define H1_TLS_JOIN (64u << 10)         /* a body up to this is copied after the head over TLS */
#define H1_NAME_TTL_US 60000000         /* a name's addresses are looked up again after this */
#define H1_ATTEMPT_US 1000000           /* a connect with no answer this long gives way to the next address */
#define H1_FAST_FIELDS 32               /* header lines of a head read by hhead.h; more go to http_parser */

enum { CONNECTING, HANDSHAKING, SENDING, READING, IDLE };

typedef struct h1_host h1_host;
typedef struct h1_conn h1_conn;

struct h1_host {
    char *authority;            /* the key: "host[:port]" as the URL writes it, and 'tls' */
    int tls;
    char *name;                 /* the host without brackets and port: looked up, named to TLS */
    tls_slot slot;              /* https: the session to resume */
    uint16_t port;
    int named;                  /* 'name' is looked up (not an address, not localhost) */
    int resolving;              /* a lookup of 'name' is under way */
    int64_t resolved_at;        /* when 'addrs' came */
    dns_addrs addrs;            /* tried in order; none when a name's lookup failed or is due */
    h1_req *waiting, **waiting_tail;    /* requests waiting for the lookup, first come first */
    h1_conn *idle;              /* parked connections, the last parked first */
    unsigned nidle;
    h1_host *next;
};

struct h1_conn {
    int fd;
    int state;
    int watching;               /* what the loop was last told (HC_IN/HC_OUT) */
    int used;                   /* it carried a whole response: a failure before an answer may be a close race */
    int send_wait;              /* SENDING: the readiness the write waits for */
    unsigned ai;                /* the host's address it connects to */
    int64_t attempt_until;      /* CONNECTING with another address to try: when to give way; 0 otherwise */
    tls_conn *tls;              /* https; NULL for plain text */
    int64_t parked_at;
    h1_host *host;
    h1_req *req;                /* the request it carries; NULL when parked */
    h1_conn *next;              /* in host->idle */
};

struct h1_req {
    h1_pool *pool;
    h1_host *host;
    h1_conn *conn;
    h1_events ev;
    void *ud;
    char *head;                 /* the request head, owned */
    size_t head_len, head_cap;
    const char *body;           /* borrowed */
    size_t body_len;
    size_t sent;                /* bytes of head and body written */
    int head_only;              /* HEAD: no body comes back */
    int got_bytes;              /* a response byte arrived on this connection */
    int retried;
    int waits_name;             /* in its host's list of requests waiting for a lookup */
    int complete;               /* the final response ended */
    int aborted;                /* the 'data' event asked to stop */
    http_parser hp;
    int fresh;                  /* no response byte parsed yet: the first read may go to hh_response */
    int fast;                   /* the response's head was read by hh_response: its body is ours */
    int fast_keep;              /* ... and it lets the connection be kept */
    uint64_t fast_left;         /* ... body bytes still to come */
    int status;                 /* the final response's status; 0 before its head */
    /* the header being gathered: name then value in 'line' */
    char *line;
    size_t llen, lcap, nlen;
    int in_value;
    size_t head_bytes;
    unsigned nlines;
    const char *cb_error;       /* a cap an http_parser callback hit */
    int nomem;                  /* memory ran out here: the request ends HC_ERROR, not refused or
                                   malformed (not the upstream's failure) */
    /* a failure reported at the next turn (h1_run_due) */
    hc_status due_st;
    h1_req *next;               /* in the pool's due list, or its spare list */
    char msg[160];
};

struct h1_pool {
    int (*watch)(void *ud, int fd, int what);
    void *ud;
    h1_host *hosts;
    h1_conn **byfd;             /* connection per descriptor */
    size_t nbyfd;
    h1_req *due;                /* requests whose failure is reported at the next turn */
    h1_req *spare;
    unsigned nspare;
    unsigned long opened;
    int in_start;               /* inside h1_start: ends wait for h1_run_due */
    tls_ctx *tls;               /* made at the first https:// connection */
    dns_resolver *dns;          /* made at the first name to look up */
    int64_t attempt_at;         /* no connection gives way to the next address before; INT64_MAX: none */
    char *ca_file, *ca_dir;     /* what it trusts (h1_set_trust) */
    char rbuf[H1_READ];
};

/* ---------------------------------------------------------------- URLs */

/* Does 'c' end the authority of a URL? */
static int ends_authority(char c)
{
    return c == '/' || c == '?' || c == '#' || c == 0;
}

/* 'port' from the digits in [s, e): 1..65535, else -1. */
static long parse_port(const char *s, const char *e)
{
    long v = 0;
    if (s == e || e - s > 5)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

/* The address of host [h, h + n) and 'port' into 'u': an IPv4 or IPv6
   address written out, or "localhost" (127.0.0.1).  -1 otherwise. */
static int host_address(const char *h, size_t n, int bracketed, long port, h1_url *u)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, h, n);
    buf[n] = 0;
    memset(&u->addr, 0, sizeof u->addr);
    if (bracketed) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&u->addr;
        if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1)
            return -1;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        u->addr_len = sizeof *a;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&u->addr;
    if (!strcasecmp(buf, "localhost"))
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, buf, &a->sin_addr) != 1)
        return -1;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    u->addr_len = sizeof *a;
    return 0;
}

/* Is [h, h + n) a DNS name this transport looks up: letters, digits,
   '-', '_' and '.', at most 253 bytes, the last label starting with a
   letter (so that nothing an address parser might take, "127.1" or
   "0x7f.1", is looked up as a name)? */
static int dns_name(const char *h, size_t n)
{
    if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
        return 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (i + 1 < n && h[i + 1] == '.')
                return 0;
            if (i + 1 < n)
                last = i + 1;
        } else if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '-' &&
                   c != '_')
            return 0;
    }
    char c = h[last];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int h1_parse_url(const char *url, h1_url *u)
{
    if (!strncasecmp(url, "http://", 7))
        u->tls = 0;
    else if (!strncasecmp(url, "https://", 8))
        u->tls = 1;
    else
        return -1;
    const char *a = url + 7 + u->tls, *e = a;
    while (!ends_authority(*e)) {
        if (*e == '@' || (unsigned char)*e <= 0x20 || (unsigned char)*e >= 0x7f)
            return -1;
        e++;
    }
    const char *host = a, *hend, *colon = NULL;
    int bracketed = *a == '[';
    if (bracketed) {
        const char *rb = memchr(a, ']', (size_t)(e - a));
        if (!rb)
            return -1;
        host = a + 1;
        hend = rb;
        if (rb + 1 < e) {
            if (rb[1] != ':')
                return -1;
            colon = rb + 1;
        }
    } else {
        colon = memchr(a, ':', (size_t)(e - a));
        hend = colon ? colon : e;
    }
    long port = colon ? parse_port(colon + 1, e) : u->tls ? 443 : 80;
    if (port < 0)
        return -1;
    u->named = 0;
    if (host_address(host, (size_t)(hend - host), bracketed, port, u)) {
        if (bracketed || !dns_name(host, (size_t)(hend - host)))
            return -1;
        u->named = 1;
    }
    u->port = (unsigned)port;
    u->host = host;
    u->host_len = (size_t)(hend - host);
    u->authority = a;
    u->authority_len = (size_t)(e - a);
    const char *p = e, *pe = p;
    while (*pe && *pe != '#') {
        if ((unsigned char)*pe <= 0x20 || (unsigned char)*pe >= 0x7f)
            return -1;      /* libcurl decides what to do with these */
        pe++;
    }
    u->path = p;
    u->path_len = (size_t)(pe - p);
    return 0;
}

/* ---------------------------------------------------------------- sockets */

static void tell(h1_pool *p, h1_conn *c, int what)
{
    if (c->watching != what) {
        c->watching = what;
        p->watch(p->ud, c->fd, what);
    }
}

static void close_conn(h1_pool *p, h1_conn *c)
{
    p->watch(p->ud, c->fd, 0);
    tls_conn_free(c->tls, 1);
    if ((size_t)c->fd < p->nbyfd)
        p->byfd[c->fd] = NULL;
    close(c->fd);
    free(c);
}

/* Room for descriptor 'fd' in the table; -1 when out of memory. */
static int reserve_fd(h1_pool *p, int fd)
{
    if ((size_t)fd < p->nbyfd)
        return 0;
    size_t n = (size_t)fd + 64;
    h1_conn **a = mem_reallocarray(p->byfd, n, sizeof *a);
    if (!a)
        return -1;
    memset(a + p->nbyfd, 0, (n - p->nbyfd) * sizeof *a);
    p->byfd = a;
    p->nbyfd = n;
    return 0;
}

/* Take the host's most recently parked connection that is young enough;
   older ones are closed.  NULL when none. */
static h1_conn *take_idle(h1_pool *p, h1_host *h)
{
    int64_t now = hc_now_us();
    while (h->idle) {
        h1_conn *c = h->idle;
        h->idle = c->next;
        h->nidle--;
        c->next = NULL;
        if (now - c->parked_at < H1_IDLE_MAX_US)
            return c;
        close_conn(p, c);
    }
    return NULL;
}

static void unpark(h1_host *h, h1_conn *c)
{
    for (h1_conn **pp = &h->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            h->nidle--;
            return;
        }
}

/* Park connection 'c' (its request ended with a whole response) or close
   it when its host keeps enough. */
static void park(h1_pool *p, h1_conn *c)
{
    h1_host *h = c->host;
    c->req = NULL;
    if (h->nidle >= H1_IDLE_PER_HOST) {
        close_conn(p, c);
        return;
    }
    c->state = IDLE;
    c->used = 1;
    c->parked_at = hc_now_us();
    c->next = h->idle;
    h->idle = c;
    h->nidle++;
    tell(p, c, HC_IN);      /* a close by the peer is seen while parked */
}

/* ---------------------------------------------------------------- ending */

static void free_req(h1_req *r)
{
    free(r->head);
    free(r->line);
    free(r);
}

/* Free a list of requests linked by 'next'. */
static void free_reqs(h1_req *r)
{
    while (r) {
        h1_req *next = r->next;
        free_req(r);
        r = next;
    }
}

static void recycle(h1_pool *p, h1_req *r)
{
    if (p->nspare >= H1_SPARE_MAX || r->lcap > 4096 || r->head_cap > 2 * H1_TLS_JOIN) {
        free_req(r);
        return;
    }
    r->next = p->spare;
    p->spare = r;
    p->nspare++;
}

/* Report 'st' for 'r' at the next turn (h1_run_due); 'r->msg' holds
   the message. */
static void end_later(h1_pool *p, h1_req *r, hc_status st)
{
    r->due_st = st;
    r->next = NULL;
    h1_req **pp = &p->due;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
}

/* The request ends: off its connection (already parked or closed), then
   reported, then recycled.  Inside h1_start it is reported at the next
   turn instead: hc_start does not call 'done' before it returns. */
static void end_req(h1_pool *p, h1_req *r, hc_status st, const char *msg)
{
    r->conn = NULL;
    if (p->in_start) {
        if (msg != r->msg)
            snprintf(r->msg, sizeof r->msg, "%s", msg);
        end_later(p, r, st);
        return;
    }
    r->ev.end(r->ud, st, r->status, msg);
    recycle(p, r);
}

static int open_conn(h1_pool *p, h1_req *r, unsigned ai, int first);

/* How 'r' ends when no connection could be set up for it. */
static hc_status refused(const h1_req *r)
{
    return r->nomem ? HC_ERROR : HC_REFUSED;
}

/* The connection failed with 'st': close it, and send the request again
   on a new one when it may have been a close race on a reused
   connection (nothing of the answer came, not retried yet); else the
   request ends with 'st'.  'r->msg' holds the message. */
static void conn_failed(h1_pool *p, h1_req *r, hc_status st)
{
    h1_conn *c = r->conn;
    int again = c->used && !r->got_bytes && !r->retried && st == HC_RESET;
    close_conn(p, c);
    r->conn = NULL;
    if (again) {
        r->retried = 1;
        if (open_conn(p, r, 0, 1) == 0)
            return;
        end_later(p, r, refused(r));
        return;
    }
    end_req(p, r, st, r->msg);
}

/* ---------------------------------------------------------------- parsing */

static h1_req *req_of(http_parser *hp)
{
    return hp->data;
}

/* Room for 'n' bytes in buffer '*buf' of '*cap' (doubled from 256 as
   needed).  -1 when out of memory. */
static int room(char **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < n)
        c *= 2;
    char *b = mem_realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

/* Append [s, s + n) to buffer '*buf' of '*len' bytes in '*cap'
   (doubled from 256 as needed).  -1 when out of memory. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (room(buf, cap, *len + n))
        return -1;
    memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

/* Append [at, at + n) to the header line being gathered, within the caps. */
static int gather(h1_req *r, const char *at, size_t n)
{
    r->head_bytes += n;
    if (r->head_bytes > H1_HEAD_MAX) {
        r->cb_error = "the response head is larger than 32 KiB";
        return -1;
    }
    if (append(&r->line, &r->llen, &r->lcap, at, n)) {
        r->cb_error = "out of memory";
        r->nomem = 1;
        return -1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The gathered header, complete: handed on for a final response. */
static void flush_header(h1_req *r)
{
    if (!r->in_value)
        return;
    r->in_value = 0;
    int status = r->hp.status_code;
    if (status >= 200 && r->ev.header) {
        const char *v = r->line + r->nlen, *ve = r->line + r->llen;
        while (v < ve && is_space(*v))
            v++;
        while (ve > v && is_space(ve[-1]))
            ve--;
        r->ev.header(r->ud, status, r->line, r->nlen, v, (size_t)(ve - v));
    }
    r->llen = r->nlen = 0;
}

static int on_message_begin(http_parser *hp)
{
    h1_req *r = req_of(hp);
    r->llen = r->nlen = 0;
    r->in_value = 0;
    r->head_bytes = 0;
    r->nlines = 0;
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t n)
{
    h1_req *r = req_of(hp);
    if (r->in_value || (r->llen == 0 && r->nlines == 0)) {
        flush_header(r);
        if (++r->nlines > H1_HEADERS_MAX) {
            r->cb_error = "the response has more than 100 header lines";
            return -1;
        }
    }
    if (gather(r, at, n))
        return -1;
    r->nlen = r->llen;
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t n)
{
    h1_req *r = req_of(hp);
    r->in_value = 1;
    return gather(r, at, n);
}

static int on_headers_complete(http_parser *hp)
{
    h1_req *r = req_of(hp);
    flush_header(r);
    if (hp->status_code >= 100 && hp->status_code < 200)
        return 0;               /* interim: its end comes at once */
    r->status = hp->status_code;
    return r->head_only;        /* 1: no body follows */
}

static int on_body(http_parser *hp, const char *at, size_t n)
{
    h1_req *r = req_of(hp);
    if (r->ev.data(r->ud, at, n)) {
        r->aborted = 1;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    h1_req *r = req_of(hp);
    if (hp->status_code >= 100 && hp->status_code < 200 && hp->status_code != 101)
        return 0;               /* the final response follows */
    flush_header(r);            /* a chunked body's last trailer */
    r->complete = 1;
    http_parser_pause(hp, 1);   /* what follows it is seen, not parsed */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Ready to read a response from its first byte. */
static void parse_init(h1_req *r)
{
    http_parser_init(&r->hp, HTTP_RESPONSE);
    r->hp.data = r;
    r->fresh = 1;
    r->fast = 0;
}

/* Body bytes of a response whose head hh_response read: to the 'data'
   event, up to its length.  The bytes taken. */
static size_t fast_body(h1_req *r, const char *b, size_t n)
{
    size_t take = n < r->fast_left ? n : (size_t)r->fast_left;
    if (take && r->ev.data(r->ud, b, take)) {
        r->aborted = 1;
        return take;
    }
    r->fast_left -= take;
    r->complete = r->fast_left == 0;
    return take;
}

/* The first bytes of a response, when hh_response takes its head: the
   headers handed on as on_headers_complete would, then what came of the
   body.  The bytes taken, or 0 when it declines (http_parser reads them). */
static size_t fast_head(h1_req *r, const char *b, size_t n)
{
    hh_field f[H1_FAST_FIELDS];
    hh_head h;
    size_t len = r->head_only ? 0 : hh_response(b, n, f, H1_FAST_FIELDS, &h);
    if (!len)
        return 0;
    r->fast = 1;
    r->fast_keep = !h.close;
    r->fast_left = h.length;
    r->status = h.status;
    if (r->ev.header)
        for (uint32_t i = 0; i < h.nfield; i++)
            r->ev.header(r->ud, h.status, b + f[i].noff, f[i].nlen, b + f[i].voff, f[i].vlen);
    return len + fast_body(r, b + len, n - len);
}

/* Parse [b, b + n), the response's next bytes: the bytes taken. */
static size_t parse(h1_req *r, const char *b, size_t n)
{
    if (r->fast)
        return fast_body(r, b, n);
    if (r->fresh) {
        r->fresh = 0;
        size_t used = fast_head(r, b, n);
        if (r->fast)
            return used;
    }
    return http_parser_execute(&r->hp, &settings, b, n);
}

/* Read what TLS has: 1 when it was handshake messages only (a session
   ticket), taken, and nothing is left over; 0 for application bytes, an
   end, an error or part of a record. */
static int only_handshake(h1_pool *p, h1_conn *c)
{
    char msg[8];
    return tls_read(c->tls, p->rbuf, sizeof p->rbuf, msg, sizeof msg) == TLS_WANT_READ && !tls_pending(c->tls);
}

/* Did nothing but TLS handshake messages (a session ticket) follow the
   response in what TLS read ahead?  Those are taken now; application
   bytes, or part of a record, are not the next answer (0).  The pool's
   read buffer is free again when this is asked. */
static int tls_quiet(h1_pool *p, h1_conn *c)
{
    return !c->tls || !tls_pending(c->tls) || only_handshake(p, c);
}

/* After a parse: 1 when the request ended (reported), 0 to read on. */
static int after_parse(h1_pool *p, h1_req *r, size_t parsed, size_t n, int eof)
{
    h1_conn *c = r->conn;
    enum http_errno en = r->fast ? HPE_OK : HTTP_PARSER_ERRNO(&r->hp);
    if (r->aborted) {
        close_conn(p, c);
        end_req(p, r, HC_ABORTED, "stopped by the reader");
        return 1;
    }
    if (r->complete && !r->fast && r->hp.status_code == 101) {     /* never asked for */
        close_conn(p, c);
        end_req(p, r, HC_MALFORMED, "the upstream switched protocols");
        return 1;
    }
    if (r->complete) {
        /* bytes after the response, in this read or read ahead by TLS, are
           not the next answer: the connection is not trusted again */
        if (!eof && parsed == n && tls_quiet(p, c) && (r->fast ? r->fast_keep : http_should_keep_alive(&r->hp)) &&
            r->sent == r->head_len + r->body_len)
            park(p, c);
        else
            close_conn(p, c);
        end_req(p, r, HC_OK, "");
        return 1;
    }
    if (eof && !r->cb_error) {
        snprintf(r->msg, sizeof r->msg, "the connection closed before the response ended");
        conn_failed(p, r, HC_RESET);
        return 1;
    }
    if (en != HPE_OK) {
        if (r->cb_error)
            snprintf(r->msg, sizeof r->msg, "%s", r->cb_error);
        else
            snprintf(r->msg, sizeof r->msg, "the response is not valid HTTP: %s", http_errno_description(en));
        close_conn(p, c);
        end_req(p, r, r->nomem ? HC_ERROR : HC_MALFORMED, r->msg);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- I/O */

/* What conn_recv returns besides a byte count (0 is a clean end). */
enum { RD_WAIT = -1, RD_FAIL = -2, RD_CUT = -3 };

/* Bytes of the response into the pool's buffer: their count; 0 when the
   peer ended the connection cleanly (a FIN, or TLS close_notify);
   RD_WAIT when none are there yet; RD_CUT when a TLS connection ended
   without close_notify (what came may be cut short); RD_FAIL with
   'r->msg' set. */
static ssize_t conn_recv(h1_pool *p, h1_conn *c, h1_req *r)
{
    if (c->tls) {
        ssize_t n = tls_read(c->tls, p->rbuf, sizeof p->rbuf, r->msg, sizeof r->msg);
        if (n >= 0)
            return n;
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
            tell(p, c, n == TLS_WANT_READ ? HC_IN : HC_IN | HC_OUT);
            return RD_WAIT;
        }
        return n == TLS_CLOSED ? 0 : n == TLS_EOF ? RD_CUT : RD_FAIL;
    }
    for (;;) {
        ssize_t n = recv(c->fd, p->rbuf, sizeof p->rbuf, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RD_WAIT;
        snprintf(r->msg, sizeof r->msg, "the connection was reset: %s", strerror(errno));
        return RD_FAIL;
    }
}

/* Read what the connection has and parse it. */
static void read_conn(h1_pool *p, h1_conn *c)
{
    h1_req *r = c->req;
    for (;;) {
        ssize_t n = conn_recv(p, c, r);
        if (n == RD_WAIT)
            return;
        if (n == RD_FAIL) {
            conn_failed(p, r, HC_RESET);
            return;
        }
        if (n <= 0 && !r->got_bytes) {
            snprintf(r->msg, sizeof r->msg, "the connection closed before a response");
            conn_failed(p, r, HC_RESET);
            return;
        }
        if (n == RD_CUT) {      /* a close-delimited body cannot be told from one cut short */
            snprintf(r->msg, sizeof r->msg, "the connection closed without TLS close_notify before the response ended");
            conn_failed(p, r, HC_RESET);
            return;
        }
        if (n == 0) {
            if (!r->fast)
                http_parser_execute(&r->hp, &settings, NULL, 0);
            after_parse(p, r, 0, 0, 1);
            return;
        }
        tell(p, c, HC_IN);      /* a TLS read that waited to write waits no more */
        r->got_bytes = 1;
        r->ev.bytes(r->ud);
        size_t parsed = parse(r, p->rbuf, (size_t)n);
        if (after_parse(p, r, parsed, (size_t)n, 0))
            return;
        /* a short read emptied the socket; TLS may hold a record read ahead */
        if ((size_t)n < sizeof p->rbuf && !(c->tls && tls_pending(c->tls)))
            return;
    }
}

/* Write some of the request from offset 'r->sent' (head, then body):
   the bytes taken, or -1 with '*wait' the readiness to wait for, or -1
   with '*wait' 0 and 'r->msg' set when the connection failed. */
static ssize_t conn_send(h1_conn *c, h1_req *r, int *wait)
{
    *wait = 0;
    if (c->tls) {               /* one piece at a time: records do not span the two */
        const char *b = r->sent < r->head_len ? r->head + r->sent : r->body + (r->sent - r->head_len);
        size_t n = r->sent < r->head_len ? r->head_len - r->sent : r->body_len - (r->sent - r->head_len);
        ssize_t w = tls_write(c->tls, b, n, r->msg, sizeof r->msg);
        if (w == TLS_WANT_READ || w == TLS_WANT_WRITE)
            *wait = w == TLS_WANT_READ ? HC_IN : HC_OUT;
        return w < 0 ? -1 : w;
    }
    struct iovec v[2];
    int nv = 0;
    if (r->sent < r->head_len)
        v[nv++] = (struct iovec){ r->head + r->sent, r->head_len - r->sent };
    if (r->body_len) {
        size_t off = r->sent > r->head_len ? r->sent - r->head_len : 0;
        v[nv++] = (struct iovec){ (char *)r->body + off, r->body_len - off };
    }
    struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)nv };
    for (;;) {
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            *wait = HC_OUT;
        else
            snprintf(r->msg, sizeof r->msg, "the connection was reset while sending: %s", strerror(errno));
        return -1;
    }
}

/* Write what is left of the request. */
static void send_conn(h1_pool *p, h1_conn *c)
{
    h1_req *r = c->req;
    size_t total = r->head_len + r->body_len;
    while (r->sent < total) {
        int wait;
        ssize_t n = conn_send(c, r, &wait);
        if (n < 0 && wait) {
            c->state = SENDING;
            c->send_wait = wait;
            tell(p, c, wait);
            return;
        }
        if (n < 0) {
            conn_failed(p, r, HC_RESET);
            return;
        }
        r->sent += (size_t)n;
    }
    c->state = READING;
    tell(p, c, HC_IN);
}

/* The connection failed to come up: closed, and the request ends with
   'st' ('r->msg' holds the message). */
static void setup_failed(h1_pool *p, h1_conn *c, hc_status st)
{
    h1_req *r = c->req;
    close_conn(p, c);
    r->conn = NULL;
    end_req(p, r, st, r->msg);
}

/* Go on with the TLS handshake; once it is done the connection counts
   as made and the request is sent. */
static void handshake(h1_pool *p, h1_conn *c)
{
    h1_req *r = c->req;
    int st = tls_handshake(c->tls, r->msg, sizeof r->msg);
    if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
        c->state = HANDSHAKING;
        tell(p, c, st == TLS_WANT_READ ? HC_IN : HC_OUT);
        return;
    }
    if (st) {
        setup_failed(p, c, HC_REFUSED);
        return;
    }
    r->ev.connecting(r->ud, 1);
    send_conn(p, c);
}

/* The socket is connected: the TLS handshake starts, or the request is
   sent. */
static void connected(h1_pool *p, h1_conn *c)
{
    h1_req *r = c->req;
    if (!c->host->tls) {
        r->ev.connecting(r->ud, 1);
        send_conn(p, c);
        return;
    }
    if ((!p->tls && !(p->tls = tls_ctx_new(p->ca_file, p->ca_dir, r->msg, sizeof r->msg))) ||
        !(c->tls = tls_conn_new(p->tls, c->fd, c->host->name, &c->host->slot, r->msg, sizeof r->msg))) {
        setup_failed(p, c, HC_REFUSED);
        return;
    }
    handshake(p, c);
}

/* A connect() in progress turned writable: the socket's error says how
   it went.  A failure goes on to the host's next address, if any. */
static void finish_connect(h1_pool *p, h1_conn *c)
{
    h1_req *r = c->req;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (!err) {
        connected(p, c);
        return;
    }
    snprintf(r->msg, sizeof r->msg, "cannot connect to %s: %s", c->host->authority, strerror(err));
    unsigned next = c->ai + 1;
    close_conn(p, c);
    r->conn = NULL;
    if (open_conn(p, r, next, 0))
        end_req(p, r, refused(r), r->msg);
}

/* A new connection for 'r' to the host's address 'ai', connecting; the
   request is sent once it is connected.  -1 with 'r->msg' set when it
   failed at once. */
static int open_addr(h1_pool *p, h1_req *r, unsigned ai)
{
    h1_host *h = r->host;
    const struct sockaddr_storage *sa = &h->addrs.addr[ai];
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || reserve_fd(p, fd)) {
        snprintf(r->msg, sizeof r->msg, "cannot make a socket: %s", fd < 0 ? strerror(errno) : "out of memory");
        r->nomem = fd >= 0;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    h1_conn *c = mem_calloc(1, sizeof *c);
    /* 0: a number the loop still knows was closed behind its back; and
       room for it in the loop, which a socket it cannot watch would
       leave waiting for the connect deadline */
    if (!c || p->watch(p->ud, fd, 0)) {
        snprintf(r->msg, sizeof r->msg, "out of memory");
        r->nomem = 1;
        free(c);
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    c->fd = fd;
    c->host = h;
    c->ai = ai;
    c->req = r;
    p->byfd[fd] = c;
    p->opened++;
    r->conn = c;
    r->sent = 0;
    r->got_bytes = 0;
    r->status = 0;
    r->complete = 0;
    parse_init(r);
    if (connect(fd, (const struct sockaddr *)sa, h->addrs.len[ai]) == 0) {
        connected(p, c);
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        c->state = CONNECTING;
        if (ai + 1 < h->addrs.n) {  /* silence moves on to the next address (h1_run_due) */
            c->attempt_until = hc_now_us() + H1_ATTEMPT_US;
            if (c->attempt_until < p->attempt_at)
                p->attempt_at = c->attempt_until;
        }
        tell(p, c, HC_OUT);
        return 0;
    }
    snprintf(r->msg, sizeof r->msg, "cannot connect to %s: %s", h->authority, strerror(errno));
    close_conn(p, c);
    r->conn = NULL;
    return -1;
}

/* A new connection for 'r' to the first of the host's addresses from
   'ai' on that does not fail at once; with 'first', a new connect
   deadline starts (not for the next address of the same attempt, nor
   after a lookup, which counts in it).  -1 with 'r->msg' set when every
   one failed, or there are none. */
static int open_conn(h1_pool *p, h1_req *r, unsigned ai, int first)
{
    if (first)
        r->ev.connecting(r->ud, 0);
    for (; ai < r->host->addrs.n; ai++)
        if (open_addr(p, r, ai) == 0)
            return 0;
    return -1;
}

/* ---------------------------------------------------------------- names */

/* Does a new connection to 'h' wait for its name to be looked up? */
static int needs_lookup(const h1_host *h)
{
    return h->named && (h->resolving || !h->addrs.n || hc_now_us() - h->resolved_at >= H1_NAME_TTL_US);
}

/* 'r' waits for its host's name, asked of the resolver unless a lookup
   is under way; the connect deadline, which the lookup counts in,
   starts now.  -1 with 'r->msg' set when it cannot be asked. */
static int wait_for_name(h1_pool *p, h1_req *r)
{
    h1_host *h = r->host;
    if (!h->resolving) {
        if (!p->dns && !(p->dns = dns_new())) {
            snprintf(r->msg, sizeof r->msg, "out of memory");
            r->nomem = 1;
            return -1;
        }
        /* the resolver's descriptor, made by its first question, is
           watched from then on; a resolver whose descriptor is not (its
           first question failed, or the loop had no room) is dropped,
           else its answers would never be heard */
        int fresh = dns_fd(p->dns) < 0;
        int bad = dns_ask(p->dns, h->name, r->msg, sizeof r->msg);
        if (!bad && fresh && p->watch(p->ud, dns_fd(p->dns), 0)) {
            snprintf(r->msg, sizeof r->msg, "out of memory");
            r->nomem = bad = 1;
        }
        if (bad) {
            if (fresh) {
                dns_free(p->dns);
                p->dns = NULL;
            }
            return -1;
        }
        if (fresh)
            p->watch(p->ud, dns_fd(p->dns), HC_IN);
        h->resolving = 1;
    }
    r->ev.connecting(r->ud, 0);
    r->waits_name = 1;
    r->next = NULL;
    *h->waiting_tail = r;
    h->waiting_tail = &r->next;
    return 0;
}

static void unwait(h1_host *h, h1_req *r)
{
    for (h1_req **pp = &h->waiting; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            if (!*pp)
                h->waiting_tail = pp;
            break;
        }
    r->waits_name = 0;
    r->next = NULL;
}

/* The answer for 'h''s name: kept, and the requests that waited for it
   connect, or end 'refused' when there is no address.  Only those
   waiting now: a request an 'end' starts that needs a lookup waits for
   one of its own. */
static void name_found(h1_pool *p, h1_host *h, const dns_answer *a)
{
    h->resolving = 0;
    h->addrs.n = 0;
    if (!a->error) {
        h->addrs = a->addrs;
        for (unsigned i = 0; i < h->addrs.n; i++) {
            struct sockaddr_storage *sa = &h->addrs.addr[i];
            if (sa->ss_family == AF_INET)
                ((struct sockaddr_in *)sa)->sin_port = htons(h->port);
            else
                ((struct sockaddr_in6 *)sa)->sin6_port = htons(h->port);
        }
        h->resolved_at = hc_now_us();
    }
    size_t n = 0;
    for (const h1_req *r = h->waiting; r; r = r->next)
        n++;
    while (n-- && h->waiting) {
        h1_req *r = h->waiting;
        unwait(h, r);
        if (a->error)
            snprintf(r->msg, sizeof r->msg, "cannot resolve %s: %s", h->name, dns_error(a->error));
        if (a->error || open_conn(p, r, 0, 0))
            end_req(p, r, refused(r), r->msg);
    }
}

/* The resolver's descriptor turned readable: the lookups that ended. */
static void names_ready(h1_pool *p)
{
    dns_answer *list = dns_take(p->dns);
    for (const dns_answer *a = list; a; a = a->next)
        for (h1_host *h = p->hosts; h; h = h->next)
            if (h->named && h->resolving && !strcasecmp(h->name, a->name))
                name_found(p, h, a);
    dns_answers_free(list);
}

/* A parked TLS connection turned readable: a session ticket leaves it
   parked (1); data out of turn, part of a record, an end or an error do
   not (0). */
static int idle_quiet(h1_pool *p, h1_conn *c)
{
    return c->tls && only_handshake(p, c);
}

int h1_on_socket(h1_pool *p, int fd, int what)
{
    if (p->dns && fd >= 0 && fd == dns_fd(p->dns)) {
        names_ready(p);
        return 1;
    }
    if (fd < 0 || (size_t)fd >= p->nbyfd || !p->byfd[fd])
        return 0;
    h1_conn *c = p->byfd[fd];
    switch (c->state) {
    case IDLE:                  /* closed by the peer, or bytes out of turn: not to be used */
        if (idle_quiet(p, c))
            break;
        unpark(c->host, c);
        close_conn(p, c);
        break;
    case CONNECTING:
        finish_connect(p, c);
        break;
    case HANDSHAKING:
        handshake(p, c);
        break;
    case SENDING:
        if ((what & HC_OUT) || c->send_wait == HC_IN)
            send_conn(p, c);
        else
            read_conn(p, c);    /* an early answer, or a reset */
        break;
    default:
        read_conn(p, c);
        break;
    }
    return 1;
}

/* ---------------------------------------------------------------- requests */

static void free_host(h1_host *h)
{
    tls_slot_clear(&h->slot);
    free(h->authority);
    free(h->name);
    free(h);
}

static h1_host *find_host(h1_pool *p, const h1_url *u)
{
    for (h1_host *h = p->hosts; h; h = h->next)
        if (!strncmp(h->authority, u->authority, u->authority_len) && !h->authority[u->authority_len] &&
            h->tls == u->tls)
            return h;
    h1_host *h = mem_calloc(1, sizeof *h);
    if (!h || !(h->authority = mem_strndup(u->authority, u->authority_len)) ||
        !(h->name = mem_strndup(u->host, u->host_len))) {
        if (h)
            free_host(h);
        return NULL;
    }
    h->tls = u->tls;
    h->port = (uint16_t)u->port;
    h->named = u->named;
    h->waiting_tail = &h->waiting;
    if (!u->named) {
        h->addrs.addr[0] = u->addr;
        h->addrs.len[0] = u->addr_len;
        h->addrs.n = 1;
        if (!strcasecmp(h->name, "localhost")) {   /* 127.0.0.1, then ::1 */
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&h->addrs.addr[1];
            memset(a, 0, sizeof h->addrs.addr[1]);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            a->sin6_port = htons(h->port);
            h->addrs.len[1] = sizeof *a;
            h->addrs.n = 2;
        }
    }
    h->next = p->hosts;
    p->hosts = h;
    return h;
}

/* Append [s, s + n) to the head. */
static int put(h1_req *r, const char *s, size_t n)
{
    return append(&r->head, &r->head_len, &r->head_cap, s, n);
}

static int is_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Copy [s, s + n) to 'w'; the byte after. */
static char *cpy(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

/* The request head: request line, Host, the caller's lines, the body's
   length.  A line "Name:" with no value is left out (libcurl's way of
   removing a header it would add).  Every line is checked before any is
   written, and the head's size is known then: it is written into a
   buffer grown once; the first H1_LINES_KEPT lines' lengths and colons
   found while checking are kept for the writing.  NULL, or a message. */
#define H1_LINES_KEPT 16
static const char *build_head(h1_req *r, const h1_url *u, const char *method, const char *const *headers,
                              const size_t *lens, size_t nheaders, int has_body)
{
    size_t len_of[H1_LINES_KEPT], colon_of[H1_LINES_KEPT];
    size_t mlen = strlen(method);
    if (!mlen)
        return "the request method is empty";
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar(method[i]))
            return "the request method is not a token";
    /* request line, Host, Content-Length (20 digits at most), blank line */
    size_t need = mlen + 2 + u->path_len + 11 + 6 + u->authority_len + 2 + 16 + 20 + 2 + 2;
    for (size_t i = 0; i < nheaders; i++) {
        const char *l = headers[i];
        size_t n = lens ? lens[i] : strlen(l);
        const char *colon = memchr(l, ':', n);
        if (!colon || colon == l)
            return "a request header line has no name";
        if (hf_bad(l, n))
            return "a request header line holds a control character";
        need += n + 2;
        if (i < H1_LINES_KEPT) {
            len_of[i] = n;
            colon_of[i] = (size_t)(colon - l);
        }
    }
    if (room(&r->head, &r->head_cap, need))
        return "out of memory";
    char *w = cpy(r->head, method, mlen);
    *w++ = ' ';
    if (!u->path_len || u->path[0] != '/')
        *w++ = '/';
    w = cpy(w, u->path, u->path_len);
    w = cpy(w, " HTTP/1.1\r\n", 11);
    int own_host = 0;
    for (size_t i = 0; i < nheaders; i++) {
        const char *l = headers[i];
        size_t n = i < H1_LINES_KEPT ? len_of[i] : strlen(l);
        const char *colon = i < H1_LINES_KEPT ? l + colon_of[i] : memchr(l, ':', n), *v = colon + 1;
        while (v < l + n && is_space(*v))
            v++;
        if (v == l + n)
            continue;
        if (colon - l == 4 && !strncasecmp(l, "host", 4))
            own_host = 1;
        w = cpy(w, l, n);
        w = cpy(w, "\r\n", 2);
    }
    if (!own_host) {
        w = cpy(w, "Host: ", 6);
        w = cpy(w, u->authority, u->authority_len);
        w = cpy(w, "\r\n", 2);
    }
    if (has_body) {             /* the digits, without snprintf's 1 k instructions */
        char d[24];
        size_t n = 0, v = r->body_len;
        do
            d[sizeof d - ++n] = (char)('0' + v % 10);
        while ((v /= 10));
        w = cpy(w, "Content-Length: ", 16);
        w = cpy(w, d + sizeof d - n, n);
        w = cpy(w, "\r\n", 2);
    }
    w = cpy(w, "\r\n", 2);
    r->head_len = (size_t)(w - r->head);
    return NULL;
}

/* Over TLS a small body follows the head in its buffer, so that both
   leave in one record and one system call (a body of its own would be a
   second record); a large one is sent from the caller's memory. */
static int join_body(h1_req *r)
{
    if (!r->body_len || r->body_len > H1_TLS_JOIN)
        return 0;
    if (put(r, r->body, r->body_len))
        return -1;
    r->body = NULL;
    r->body_len = 0;
    return 0;
}

static h1_req *new_req(h1_pool *p)
{
    h1_req *r = p->spare;
    if (r) {
        p->spare = r->next;
        p->nspare--;
        char *head = r->head, *line = r->line;
        size_t hc = r->head_cap, lc = r->lcap;
        memset(r, 0, sizeof *r);
        r->head = head;
        r->line = line;
        r->head_cap = hc;
        r->lcap = lc;
        return r;
    }
    return mem_calloc(1, sizeof *r);
}

h1_req *h1_start(h1_pool *p, const h1_url *u, const char *method, const char *const *headers,
                 const size_t *header_lens, size_t nheaders, const char *body, size_t body_len, const h1_events *ev,
                 void *ud, char *err, size_t errlen)
{
    h1_req *r = new_req(p);
    h1_host *h = r ? find_host(p, u) : NULL;
    if (!h) {
        if (r)
            recycle(p, r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->pool = p;
    r->host = h;
    r->ev = *ev;
    r->ud = ud;
    r->body = body;
    r->body_len = body ? body_len : 0;
    if (!method)
        method = body ? "POST" : "GET";
    r->head_only = !strcmp(method, "HEAD");
    const char *why = build_head(r, u, method, headers, header_lens, nheaders, body != NULL);
    if (!why && u->tls && join_body(r))
        why = "out of memory";
    if (why) {
        snprintf(err, errlen, "%s", why);
        recycle(p, r);
        return NULL;
    }
    p->in_start = 1;
    h1_conn *c = take_idle(p, h);
    if (!c) {
        if (needs_lookup(h) ? wait_for_name(p, r) : open_conn(p, r, 0, 1))
            end_later(p, r, refused(r));
    } else {
        c->req = r;
        c->state = SENDING;
        r->conn = c;
        parse_init(r);
        r->ev.connecting(r->ud, 1);
        send_conn(p, c);
    }
    p->in_start = 0;
    return r;
}

void h1_cancel(h1_pool *p, h1_req *r)
{
    if (!r)
        return;
    for (h1_req **pp = &p->due; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    if (r->waits_name)
        unwait(r->host, r);
    if (r->conn)
        close_conn(p, r->conn);     /* never parked half read */
    r->conn = NULL;
    recycle(p, r);
}

int h1_http_status(const h1_req *r)
{
    return r->status;
}

int h1_due(const h1_pool *p)
{
    return p->due != NULL;
}

int64_t h1_attempt_due(const h1_pool *p)
{
    return p->attempt_at == INT64_MAX ? -1 : p->attempt_at;
}

/* Connections that had no answer within H1_ATTEMPT_US and have another
   address to try: closed, and the next address tried, within the same
   connect deadline.  'attempt_at' is made exact again. */
static void move_on(h1_pool *p)
{
    if (p->attempt_at == INT64_MAX)
        return;
    int64_t now = hc_now_us();
    if (now < p->attempt_at)
        return;
    p->attempt_at = INT64_MAX;
    for (size_t fd = 0; fd < p->nbyfd; fd++) {
        h1_conn *c = p->byfd[fd];
        if (!c || c->state != CONNECTING || !c->attempt_until)
            continue;
        if (c->attempt_until > now) {
            if (c->attempt_until < p->attempt_at)
                p->attempt_at = c->attempt_until;
            continue;
        }
        h1_req *r = c->req;
        unsigned next = c->ai + 1;
        snprintf(r->msg, sizeof r->msg, "no answer from %s's address %u", c->host->authority, c->ai + 1);
        close_conn(p, c);
        r->conn = NULL;
        if (open_conn(p, r, next, 0))   /* a new one gives way no sooner than 'now' + H1_ATTEMPT_US */
            end_req(p, r, refused(r), r->msg);
    }
}

/* Only those due when called: an 'end' that starts a call refused at
   once adds one for the next turn (a caller retrying without a pause
   cannot hold the loop here).  An 'end' may cancel the others. */
void h1_run_due(h1_pool *p)
{
    move_on(p);
    size_t n = 0;
    for (const h1_req *r = p->due; r; r = r->next)
        n++;
    while (n-- && p->due) {
        h1_req *r = p->due;
        p->due = r->next;
        end_req(p, r, r->due_st, r->msg);
    }
}

unsigned long h1_opened(const h1_pool *p)
{
    return p->opened;
}

/* ---------------------------------------------------------------- pool */

h1_pool *h1_new(int (*watch)(void *ud, int fd, int what), void *ud)
{
    h1_pool *p = mem_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->watch = watch;
    p->ud = ud;
    p->attempt_at = INT64_MAX;
    return p;
}

void h1_free(h1_pool *p)
{
    if (!p)
        return;
    while (p->hosts) {
        h1_host *h = p->hosts;
        p->hosts = h->next;
        while (h->idle) {
            h1_conn *c = h->idle;
            h->idle = c->next;
            close_conn(p, c);
        }
        free_host(h);
    }
    free_reqs(p->due);
    free_reqs(p->spare);
    if (p->dns && dns_fd(p->dns) >= 0)
        p->watch(p->ud, dns_fd(p->dns), 0);
    dns_free(p->dns);
    tls_ctx_free(p->tls);
    free(p->ca_file);
    free(p->ca_dir);
    free(p->byfd);
    free(p);
}

int h1_set_trust(h1_pool *p, const char *ca_file, const char *ca_dir)
{
    char *f = ca_file ? mem_strndup(ca_file, strlen(ca_file)) : NULL;
    char *d = ca_dir ? mem_strndup(ca_dir, strlen(ca_dir)) : NULL;
    if ((ca_file && !f) || (ca_dir && !d)) {
        free(f);
        free(d);
        return -1;
    }
    free(p->ca_file);
    free(p->ca_dir);
    p->ca_file = f;
    p->ca_dir = d;
    tls_ctx_free(p->tls);       /* made again with these at the next https:// connection */
    p->tls = NULL;
    return 0;
}
