/* The HTTP client engine; see httpc.h.

   A transfer goes to the own HTTP/1.1 transport (h1.c) when its URL
   allows (h1_parse_url), no proxy is set and ROUTEVM_HTTP_CLIENT is not
   "curl"; that transport reports when it connects and when bytes arrive,
   and every deadline below is kept here for both transports alike (for
   the own transport the connect timeout too, which libcurl keeps for
   its own).  A socket event goes to the own transport when the socket
   is one of its connections (h1_on_socket), else to libcurl.

   libcurl's multi interface in its event-driven form: libcurl tells us
   which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when it next needs
   a call (CURLMOPT_TIMERFUNCTION); we tell it which socket is ready
   (curl_multi_socket_action).  On top of libcurl's one timer the engine
   keeps its own deadlines -- each transfer's first-byte, idle and total
   limits, and the user's timers -- and arms the loop's single timer for
   whichever comes first.  The engine keeps 'low', a time no transfer's
   deadline can be earlier than: a deadline only moves later as bytes
   arrive (except once, at the first byte, when 'low' is lowered), so
   'low' stays a true bound without being touched on every byte.  Only
   when the clock reaches it are the transfers scanned, the due ones ended
   and 'low' made exact again; a gateway holding thousands of streams
   thus scans them when a deadline may be due, not on every socket event.
   The user's timers are few (one per request at most, and short-lived)
   and are scanned as a list.

   Ended transfers are collected with curl_multi_info_read after every
   libcurl call, removed from the multi handle and only then reported
   through 'done', so a 'done' callback may start the next transfer.
   Then the transfer -- its easy handle and header list kept -- waits in
   the engine for the next hc_start (HC_SPARE_MAX of them): a gateway's
   calls reuse a few handles instead of making one each.  A handle is not
   reset between calls (curl_easy_reset and setting every option again
   were 4 k instructions a call): the options all its calls share are set
   when it is made, and every option a call may change is set by each
   hc_start, to the call's value or back to the default.

   Sockets: libcurl says CURL_POLL_REMOVE when a transfer ends even though
   the connection stays in its cache for the next one; the engine passes
   that on as HC_IDLE, so that a loop can keep the registration across
   transfers, and hears of every close first (CURLOPT_CLOSESOCKETFUNCTION,
   which closes the socket itself after telling the loop 0).

   URLs: libcurl parses a transfer's URL on every transfer it is given as
   a string.  The engine parses each URL once into a CURLU handle (a few
   endpoints per policy; HC_URL_MAX of them) and gives libcurl that
   (CURLOPT_CURLU), which it copies instead of parsing.  For the own
   transport the same: each URL is parsed once (h1_parse_url), its parts
   and address kept for the calls after (HC_URL_MAX of them, the oldest
   replaced), and so is the answer "not for the own transport".

   The loop's timer is set only when the time it must fire changes: most
   socket events leave the earliest deadline where it was, and setting
   it again cost the loop a timer-heap removal and insertion each. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "h1.h"
#include "httpc.h"
#include "mem.h"

/* Parsed URLs kept per engine: a policy's endpoints, a handful.  A URL
   met when every entry is in use by running transfers is parsed by
   libcurl as before. */
#define HC_URL_MAX 16

/* A URL as the own transport parsed it ('own' 0: libcurl's), its
   parts pointing into 'url'. */
typedef struct {
    char *url;
    h1_url u;
    int own;
} nat_url;

/* A parsed URL kept by the engine; 'users' transfers were given it. */
typedef struct {
    char *url;
    CURLU *u;
    unsigned users;
} url_entry;

struct hc_xfer {
    hc_engine *e;
    CURL *easy;                 /* NULL until a libcurl transfer needs one */
    h1_req *nat;                /* the own transport's request while it runs */
    int native;                 /* carried by the own transport (h1.c) */
    int connected;              /* native: connected (the connect deadline is over) */
    int64_t connect_at, connect_timeout;    /* native: when the connection began, its limit */
    url_entry *url;             /* the parsed URL it was given, or NULL */
    struct curl_slist *hdrs;
    hc_handler h;
    void *ud;
    int64_t start_us, first_byte_at, last_byte_at;   /* monotonic; -1 none */
    int64_t first_byte_timeout, idle_timeout, total_timeout;
    int status;                 /* HTTP status of the final response */
    uint64_t body_bytes;
    hc_status why;              /* set when the engine stops it (deadline) */
    int aborted;                /* the data callback asked to stop */
    hc_xfer *prev, *next;       /* in the engine's running list ('next' alone in its spare list) */
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct { int fd; short events; } watched;

struct hc_engine {
    CURLM *multi;
    hc_loop loop;
    int builtin;
    hc_xfer *xfers;
    hc_timer *timers;
    int64_t low;                /* no transfer's deadline is earlier; INT64_MAX: none */
    unsigned long scans;        /* walks of 'xfers' for due deadlines (hc_scans) */
    int64_t curl_at;            /* when libcurl wants hc_on_timer, -1 none */
    uint64_t timer_seq;         /* timers set so far (hc_timer.seq) */
    int64_t armed_at;           /* what the loop's timer was last set for (next_due), -1 none; INT64_MIN unknown */
    watched *fds;               /* built-in loop: sockets to poll */
    size_t nfds, capfds;
    int in_curl;                /* inside a libcurl call (no add/remove) */
    hc_xfer *spare;             /* ended transfers kept for reuse: easy handle reset, headers kept */
    size_t nspare;
    void *user;                 /* hc_set_user */
    void (*drop_user)(void *);
    url_entry urls[HC_URL_MAX]; /* parsed URLs */
    size_t nurls;
    nat_url nurl[HC_URL_MAX];   /* URLs the own transport parsed */
    size_t nnurl, nurl_next;    /* entries used, the next to replace */
    int env_proxy;              /* the environment names a proxy: libcurl reads it */
    int curl_only;              /* ROUTEVM_HTTP_CLIENT=curl: never the own transport */
    char *ca_file, *ca_dir;     /* the CA certificates https:// calls trust, both clients */
    h1_pool *h1;                /* the own transport's connections */
};

/* Ended transfers kept per engine.  An easy handle is a few kilobytes
   that libcurl allocates and fills on curl_easy_init; reset, it is ready
   for the next call at a fraction of that.  Connections, DNS and TLS
   sessions live in the multi handle either way.  The bound covers the
   calls a gateway worker runs at once (calls end in bursts and start in
   bursts: fewer spares than that, and the burst allocates afresh). */
#define HC_SPARE_MAX 64

static const char *const status_names[] = {
    "ok", "connect_timeout", "first_byte_timeout", "idle_timeout", "timeout",
    "refused", "reset", "malformed", "aborted", "error",
};

const char *hc_status_name(hc_status st)
{
    return (unsigned)st < sizeof status_names / sizeof *status_names ? status_names[st] : "error";
}

int64_t hc_now_us(void)
{
    return clk_mono_us();
}

/* ---------------------------------------------------------------- sockets */

static int builtin_watch(hc_engine *e, int fd, int what)
{
    for (size_t i = 0; i < e->nfds; i++)
        if (e->fds[i].fd == fd) {
            if (what)
                e->fds[i].events = (short)((what & HC_IN ? POLLIN : 0) | (what & HC_OUT ? POLLOUT : 0));
            else
                e->fds[i] = e->fds[--e->nfds];
            return 0;
        }
    if (!what)
        return 0;
    if (e->nfds == e->capfds) {
        size_t cap = e->capfds ? e->capfds * 2 : 8;
        watched *n = mem_realloc(e->fds, cap * sizeof *n);
        if (!n)
            return -1;
        e->fds = n;
        e->capfds = cap;
    }
    e->fds[e->nfds].fd = fd;
    e->fds[e->nfds].events = (short)((what & HC_IN ? POLLIN : 0) | (what & HC_OUT ? POLLOUT : 0));
    e->nfds++;
    return 0;
}

/* Tell the loop about socket 'fd' (hc_loop's 'watch' values).  0, or -1
   when it cannot watch it (out of memory). */
static int tell_loop(hc_engine *e, int fd, int w)
{
    if (e->builtin)     /* its poll set is rebuilt per call: an idle socket simply leaves it */
        return builtin_watch(e, fd, w & HC_IDLE ? 0 : w);
    return e->loop.watch(e->loop.ud, fd, w);
}

/* The own transport's sockets: what it asks of the loop goes through. */
static int nat_watch(void *ud, int fd, int what)
{
    return tell_loop(ud, fd, what);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    /* REMOVE: no transfer waits on the socket; if libcurl closes it, it
       says so through on_close_socket */
    int w = what == CURL_POLL_REMOVE ? HC_IDLE
          : (what == CURL_POLL_IN ? HC_IN : what == CURL_POLL_OUT ? HC_OUT : HC_IN | HC_OUT);
    return tell_loop(userp, fd, w);
}

/* libcurl's sockets, opened and closed here so that the loop hears of
   both: a number the loop still knows when libcurl opens a socket was
   closed behind its back (never, if libcurl keeps its word), and is
   forgotten then; a socket is forgotten before it is closed. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd != CURL_SOCKET_BAD && tell_loop(ud, fd, 0)) {     /* no room in the loop: the connect fails now */
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
    tell_loop(ud, fd, 0);
    return close(fd);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    hc_engine *e = userp;
    e->curl_at = timeout_ms < 0 ? -1 : hc_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

/* ---------------------------------------------------------------- deadlines */

/* When transfer 'x' must have shown progress next, -1 for never. */
static int64_t xfer_deadline(const hc_xfer *x)
{
    int64_t d = -1;
    if (x->total_timeout)
        d = x->start_us + x->total_timeout;
    int64_t p = -1;
    if (x->first_byte_at < 0 && x->first_byte_timeout)
        p = x->start_us + x->first_byte_timeout;
    else if (x->first_byte_at >= 0 && x->idle_timeout)
        p = x->last_byte_at + x->idle_timeout;
    if (p >= 0 && (d < 0 || p < d))
        d = p;
    if (x->native && !x->connected && (d < 0 || x->connect_at + x->connect_timeout < d))
        d = x->connect_at + x->connect_timeout;
    return d;
}

/* A new transfer deadline at 'at' (-1: none). */
static void lower(hc_engine *e, int64_t at)
{
    if (at >= 0 && at < e->low)
        e->low = at;
}

/* Response bytes arrived: the idle gap starts again, and at the first
   byte the deadline changes kind (first byte -> idle), which may bring it
   sooner, so 'low' is lowered -- from the deadline as it now stands,
   with 'last_byte_at' already set (before it, the idle deadline would
   read as 'idle_timeout' after time zero, in the past: every turn would
   then scan all transfers). */
static void got_bytes(hc_xfer *x)
{
    x->last_byte_at = hc_now_us();
    if (x->first_byte_at < 0) {
        x->first_byte_at = x->last_byte_at;
        lower(x->e, xfer_deadline(x));
    }
}

/* 'low' made exact: the earliest transfer deadline. */
static void recompute_low(hc_engine *e)
{
    e->low = INT64_MAX;
    for (const hc_xfer *x = e->xfers; x; x = x->next)
        lower(e, xfer_deadline(x));
}

/* When something may be due next, -1 for never. */
static int64_t next_due(const hc_engine *e)
{
    if (h1_due(e->h1))
        return hc_now_us();
    int64_t at = e->curl_at, h1_at = h1_attempt_due(e->h1);
    if (h1_at >= 0 && (at < 0 || h1_at < at))
        at = h1_at;
    if (e->low != INT64_MAX && (at < 0 || e->low < at))
        at = e->low;
    for (const hc_timer *t = e->timers; t; t = t->next)
        if (at < 0 || t->at < at)
            at = t->at;
    return at;
}

static void arm(hc_engine *e)
{
    if (e->builtin)
        return;
    int64_t at = next_due(e);
    if (at == e->armed_at)
        return;                 /* set for that time already */
    e->armed_at = at;
    int64_t now = at < 0 ? 0 : hc_now_us();     /* a clock read costs some 30 ns: once */
    e->loop.timer(e->loop.ud, at < 0 ? -1 : at > now ? at - now : 0);
}

/* ---------------------------------------------------------------- URLs */

/* The parsed form of 'url', parsed now if need be; NULL when it cannot be
   parsed here (libcurl then parses it, and reports what is wrong) or no
   entry is free.  The caller counts itself a user. */
static url_entry *url_parsed(hc_engine *e, const char *url)
{
    url_entry *free_slot = NULL;
    for (size_t i = 0; i < e->nurls; i++) {
        url_entry *u = &e->urls[i];
        if (!strcmp(u->url, url))
            return u;
        if (!u->users && !free_slot)
            free_slot = u;
    }
    if (e->nurls < HC_URL_MAX)
        free_slot = &e->urls[e->nurls];
    if (!free_slot)
        return NULL;
    /* the flags libcurl parses CURLOPT_URL with */
    CURLU *h = curl_url();
    char *copy = mem_strdup(url);
    if (!h || !copy || curl_url_set(h, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)) {
        curl_url_cleanup(h);
        free(copy);
        return NULL;
    }
    if (free_slot == &e->urls[e->nurls])
        e->nurls++;
    else {
        curl_url_cleanup(free_slot->u);
        free(free_slot->url);
    }
    free_slot->url = copy;
    free_slot->u = h;
    free_slot->users = 0;
    return free_slot;
}

/* Give transfer 'x' its URL: parsed once per engine when it can be, and
   as a string.  libcurl connects to the parsed form (CURLOPT_CURLU
   overrides CURLOPT_URL) and takes the string as the text of the URL,
   which it would otherwise print back from the parsed form on every
   call (7 k instructions); both say the same.  A kept handle's parsed
   URL from the last call is cleared when this one has none. */
static int set_url(hc_engine *e, hc_xfer *x, const char *url)
{
    url_entry *u = url_parsed(e, url);
    if (curl_easy_setopt(x->easy, CURLOPT_CURLU, u ? u->u : NULL) != CURLE_OK ||
        curl_easy_setopt(x->easy, CURLOPT_URL, url) != CURLE_OK)
        return 1;
    if (u) {
        u->users++;
        x->url = u;
    }
    return 0;
}

static void drop_url(hc_xfer *x)
{
    if (x->url) {
        x->url->users--;
        x->url = NULL;
    }
}

static void free_urls(hc_engine *e)
{
    for (size_t i = 0; i < e->nurls; i++) {
        curl_url_cleanup(e->urls[i].u);
        free(e->urls[i].url);
    }
    e->nurls = 0;
    for (size_t i = 0; i < e->nnurl; i++)
        free(e->nurl[i].url);
    e->nnurl = 0;
}

/* 'url' as the own transport reads it: its parts, or NULL when libcurl
   carries it.  Parsed once per URL; out of memory, parsed each time
   into 'tmp'.  The parts stay valid until the next call. */
static const h1_url *own_url(hc_engine *e, const char *url, h1_url *tmp)
{
    for (size_t i = 0; i < e->nnurl; i++)
        if (!strcmp(e->nurl[i].url, url))
            return e->nurl[i].own ? &e->nurl[i].u : NULL;
    char *copy = mem_strdup(url);
    if (!copy)
        return h1_parse_url(url, tmp) == 0 ? tmp : NULL;
    size_t i = e->nnurl < HC_URL_MAX ? e->nnurl++ : e->nurl_next++ % HC_URL_MAX;
    nat_url *n = &e->nurl[i];
    free(n->url);
    n->url = copy;
    n->own = h1_parse_url(copy, &n->u) == 0;
    return n->own ? &n->u : NULL;
}

/* ---------------------------------------------------------------- transfers */

/* The running list is doubly linked: a transfer leaves it without a walk
   (with many calls in flight, a walk over them all per call). */
static void link_xfer(hc_engine *e, hc_xfer *x)
{
    x->prev = NULL;
    x->next = e->xfers;
    if (e->xfers)
        e->xfers->prev = x;
    e->xfers = x;
}

/* Off the running list; a transfer not on it is left alone. */
static void unlink_xfer(hc_engine *e, hc_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else if (e->xfers == x)
        e->xfers = x->next;
    else
        return;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

/* Free a transfer for good. */
static void destroy_xfer(hc_xfer *x)
{
    drop_url(x);
    if (x->nat)
        h1_cancel(x->e->h1, x->nat);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    free(x);
}

/* A transfer out of the multi handle, kept for the next hc_start (its
   options and header list kept: the next call to the same model sends
   the same lines) or freed when enough are kept. */
static void release_xfer(hc_engine *e, hc_xfer *x)
{
    if (x->nat) {               /* closes its connection: never parked half read */
        h1_cancel(e->h1, x->nat);
        x->nat = NULL;
    }
    if (!x->native)
        curl_multi_remove_handle(e->multi, x->easy);
    drop_url(x);
    if (e->nspare >= HC_SPARE_MAX) {
        destroy_xfer(x);
        return;
    }
    x->next = e->spare;
    e->spare = x;
    e->nspare++;
}


static hc_status classify(const hc_xfer *x, CURLcode rc, int connected)
{
    if (x->why != HC_OK)
        return x->why;
    if (x->aborted)
        return HC_ABORTED;
    switch (rc) {
    case CURLE_OK:
        return HC_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? HC_TIMEOUT : HC_CONNECT_TIMEOUT;
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_URL_MALFORMAT:
        return HC_REFUSED;
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
        return HC_RESET;
    case CURLE_WEIRD_SERVER_REPLY: case CURLE_BAD_CONTENT_ENCODING: case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return HC_MALFORMED;
    case CURLE_WRITE_ERROR:
        return x->aborted ? HC_ABORTED : HC_ERROR;
    default:
        return HC_ERROR;
    }
}

static const char *deadline_message(hc_status st)
{
    switch (st) {
    case HC_FIRST_BYTE_TIMEOUT: return "no response byte within the first-byte timeout";
    case HC_IDLE_TIMEOUT: return "the response stalled longer than the idle timeout";
    case HC_TIMEOUT: return "the call took longer than its timeout";
    case HC_CONNECT_TIMEOUT: return "no connection within the connect timeout";
    default: return "stopped";
    }
}

/* Report transfer 'x' as ended with 'st' and free it.  'message' may
   live in the transfer (its error buffer) or in its native request: both
   stay until 'done' returns. */
static void report(hc_engine *e, hc_xfer *x, hc_status st, int http_status, const char *message)
{
    hc_done d;
    d.status = st;
    d.http_status = http_status;
    d.first_byte_us = x->first_byte_at >= 0 ? x->first_byte_at - x->start_us : -1;
    d.total_us = hc_now_us() - x->start_us;
    d.body_bytes = x->body_bytes;
    d.message = message;
    unlink_xfer(e, x);
    if (!x->native)
        curl_multi_remove_handle(e->multi, x->easy);
    hc_handler h = x->h;
    void *ud = x->ud;
    /* report before releasing (a 'done' that starts a call must not get
       this transfer yet) */
    h.done(ud, &d);
    release_xfer(e, x);
}

/* Report and free transfer 'x', which libcurl ended with 'rc' (or the
   engine stopped). */
static void finish(hc_engine *e, hc_xfer *x, CURLcode rc)
{
    /* connected: over https, once the TLS handshake is done, as for the
       own transport (the connect timeout covers the handshake in both) */
    curl_off_t connect_us = 0, tls_us = 0;
    char *scheme = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    curl_easy_getinfo(x->easy, CURLINFO_SCHEME, &scheme);
    int https = scheme && !strcasecmp(scheme, "https");
    hc_status st = classify(x, rc, connect_us > 0 && (!https || tls_us > 0));
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    const char *message;
    if (st == HC_OK)
        message = "";
    else if (x->why != HC_OK)
        message = deadline_message(x->why);
    else if (st == HC_ABORTED)
        message = "stopped by the reader";
    else
        message = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    report(e, x, st, x->status ? x->status : (int)code, message);
}

/* A transfer the engine stops at a deadline ('why'). */
static void expire(hc_engine *e, hc_xfer *x)
{
    if (!x->native) {
        finish(e, x, CURLE_OPERATION_TIMEDOUT);
        return;
    }
    int http = x->nat ? h1_http_status(x->nat) : 0;
    if (x->nat) {               /* its connection closed now: never parked half read */
        h1_cancel(e->h1, x->nat);
        x->nat = NULL;
    }
    report(e, x, x->why, http, deadline_message(x->why));
}

/* Collect the transfers libcurl has ended. */
static void reap(hc_engine *e)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            hc_xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x)
                finish(e, x, m->data.result);
        }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    hc_xfer *x = ud;
    size_t len = size * n;
    got_bytes(x);
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* a status line: "HTTP/1.1 200 OK" */
        const char *s = memchr(p, ' ', len);
        int code = 0;
        if (s)
            for (s++; s < p + len && *s >= '0' && *s <= '9' && code < 1000; s++)
                code = code * 10 + (*s - '0');
        x->status = code;
        return len;
    }
    if (x->status >= 100 && x->status < 200)
        return len;                             /* interim response */
    const char *colon = memchr(p, ':', len);
    if (!colon || !x->h.header)
        return len;
    const char *name = p, *v = colon + 1, *end = p + len;
    size_t nlen = (size_t)(colon - p);
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    x->h.header(x->ud, x->status, name, nlen, v, (size_t)(end - v));
    return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    hc_xfer *x = ud;
    size_t len = size * n;
    got_bytes(x);
    x->body_bytes += len;
    if (x->h.data && x->h.data(x->ud, p, len)) {
        x->aborted = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

static void curl_action(hc_engine *e, curl_socket_t fd, int ev)
{
    int running;
    e->in_curl = 1;
    curl_multi_socket_action(e->multi, fd, ev, &running);
    e->in_curl = 0;
    reap(e);
}

/* The options every call on 'x' shares, set when its handle is made
   ('x' keeps its handle for life).  No proxy unless the environment
   names one when the engine is made: libcurl would otherwise look the
   proxy variables up on every call. */
static int configure(hc_engine *e, hc_xfer *x)
{
    CURL *c = x->easy;
    int bad = curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)x) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, e) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, e) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAPATH, e->ca_dir) != CURLE_OK;
    if (!e->env_proxy) {        /* "": no proxy, whatever the environment says */
        bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_NOPROXY, "") != CURLE_OK;
    }
    return bad;
}

/* The CA certificates https:// calls trust, the same for both clients:
   $SSL_CERT_FILE and $SSL_CERT_DIR when set (OpenSSL's names for them,
   which the curl tool reads too), else the file and directory libcurl
   was built with (Debian: /etc/ssl/certs/ca-certificates.crt and
   /etc/ssl/certs).  -1 when out of memory. */
static int set_trust(hc_engine *e)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    const char *f = getenv("SSL_CERT_FILE"), *d = getenv("SSL_CERT_DIR");
    f = f && *f ? f : v->cainfo;
    d = d && *d ? d : v->capath;
    if ((f && !(e->ca_file = mem_strdup(f))) || (d && !(e->ca_dir = mem_strdup(d))))
        return -1;
    return h1_set_trust(e->h1, e->ca_file, e->ca_dir);
}

/* Does the environment name a proxy libcurl would use for http or https
   (its variables, as libcurl reads them)? */
static int proxy_in_environment(void)
{
    static const char *const names[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return 1;
    }
    return 0;
}

/* Give kept transfer 'x' a libcurl handle if it has none (it last
   carried a native call).  0, or -1 when libcurl fails. */
static int need_easy(hc_engine *e, hc_xfer *x)
{
    if (x->easy)
        return 0;
    if (!(x->easy = curl_easy_init()))
        return -1;
    return configure(e, x);
}

/* A transfer to start: a kept one, or a new one (with no libcurl handle
   yet).  NULL when out of memory. */
static hc_xfer *take_xfer(hc_engine *e)
{
    hc_xfer *x = e->spare;
    if (x) {
        e->spare = x->next;
        e->nspare--;
        struct curl_slist *hdrs = x->hdrs;
        CURL *easy = x->easy;
        memset(x, 0, sizeof *x);
        x->hdrs = hdrs;
        x->easy = easy;
        return x;
    }
    return mem_calloc(1, sizeof *x);
}

/* Does list 'l' hold exactly the lines 'h[0..n)' and then "Expect:"? */
static int same_headers(const struct curl_slist *l, const char *const *h, size_t n)
{
    for (size_t i = 0; i < n; i++, l = l->next)
        if (!l || strcmp(l->data, h[i]))
            return 0;
    return l && !strcmp(l->data, "Expect:") && !l->next;
}

/* The transfer's header list: the spec's lines, kept from its last use
   when they are the same (a model's calls send the same lines). */
static int set_headers(hc_xfer *x, const hc_spec *s)
{
    if (x->hdrs && same_headers(x->hdrs, s->headers, s->nheaders))
        return 0;
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    for (size_t i = 0; i < s->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(x->hdrs, s->headers[i]);
        if (!n)
            return -1;
        x->hdrs = n;
    }
    /* libcurl would add these on its own: an Expect round trip, and an
       Accept that some servers answer with a different format */
    struct curl_slist *n = curl_slist_append(x->hdrs, "Expect:");
    if (!n)
        return -1;
    x->hdrs = n;
    return 0;
}

/* ---------------------------------------------------------------- the own transport */

static hc_xfer *nat_xfer(void *ud)
{
    return ud;
}

static void nat_connecting(void *ud, int connected)
{
    hc_xfer *x = nat_xfer(ud);
    x->connected = connected;
    if (!connected) {           /* a new connection (or one made again): its own connect deadline */
        x->connect_at = hc_now_us();
        lower(x->e, xfer_deadline(x));
    }
}

static void nat_bytes(void *ud)
{
    got_bytes(nat_xfer(ud));
}

static void nat_header(void *ud, int status, const char *name, size_t nlen, const char *value, size_t vlen)
{
    hc_xfer *x = nat_xfer(ud);
    x->status = status;
    if (x->h.header)
        x->h.header(x->ud, status, name, nlen, value, vlen);
}

static int nat_data(void *ud, const char *p, size_t n)
{
    hc_xfer *x = nat_xfer(ud);
    x->body_bytes += n;
    return x->h.data ? x->h.data(x->ud, p, n) : 0;
}

static void nat_end(void *ud, hc_status st, int http_status, const char *message)
{
    hc_xfer *x = nat_xfer(ud);
    x->nat = NULL;              /* the transport is done with it */
    report(x->e, x, st, http_status, message);
}

static const h1_events nat_events = { nat_connecting, nat_bytes, nat_header, nat_data, nat_end };

/* Start 'x' on the own transport.  0, or -1 with a message in 'err'. */
static int start_native(hc_engine *e, hc_xfer *x, const hc_spec *s, const h1_url *u, char *err, size_t errlen)
{
    x->native = 1;
    x->connected = 1;
    x->connect_timeout = s->connect_timeout_us > 0 ? s->connect_timeout_us : 10000000;
    x->start_us = hc_now_us();
    /* linked first: the transport's events find it in the engine */
    link_xfer(e, x);
    x->nat = h1_start(e->h1, u, s->method, s->headers, s->header_lens, s->nheaders, s->body, s->body_len,
                      &nat_events, x, err, errlen);
    if (!x->nat) {
        unlink_xfer(e, x);
        return -1;
    }
    lower(e, xfer_deadline(x));
    arm(e);
    return 0;
}

hc_xfer *hc_start(hc_engine *e, const hc_spec *s, const hc_handler *h, void *ud, char *err, size_t errlen)
{
    hc_xfer *x = take_xfer(e);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->e = e;
    x->h = *h;
    x->ud = ud;
    x->first_byte_at = x->last_byte_at = -1;
    x->first_byte_timeout = s->first_byte_timeout_us;
    x->idle_timeout = s->idle_timeout_us;
    x->total_timeout = s->total_timeout_us;
    h1_url tmp;
    const h1_url *u = e->curl_only || e->env_proxy ? NULL : own_url(e, s->url, &tmp);
    if (u) {
        if (start_native(e, x, s, u, err, errlen) == 0)
            return x;
        x->native = 1;          /* not in the multi handle */
        release_xfer(e, x);
        return NULL;
    }
    if (need_easy(e, x)) {
        snprintf(err, errlen, "out of memory");
        destroy_xfer(x);
        return NULL;
    }
    if (set_headers(x, s)) {
        snprintf(err, errlen, "out of memory");
        destroy_xfer(x);
        return NULL;
    }
    CURL *c = x->easy;
    int64_t ct = s->connect_timeout_us > 0 ? s->connect_timeout_us : 10000000;
    /* every option a call may change, set to its value or its default:
       the handle holds the last call's */
    int bad = set_url(e, x, s->url);
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)((ct + 999) / 1000)) != CURLE_OK;
    /* a backstop; the engine's own deadline comes first */
    long backstop_ms = s->total_timeout_us > 0 ? (long)(s->total_timeout_us / 1000 + 1000) : 0L;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, backstop_ms) != CURLE_OK;
    if (s->body) {
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body) != CURLE_OK;
    } else {                    /* no last body left behind; GET */
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, s->method) != CURLE_OK;   /* NULL: the body's method */
    if (bad) {
        snprintf(err, errlen, "the HTTP client refused the request's options");
        destroy_xfer(x);
        return NULL;
    }
    x->start_us = hc_now_us();
    if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
        snprintf(err, errlen, "the HTTP client could not start the request");
        destroy_xfer(x);
        return NULL;
    }
    link_xfer(e, x);
    lower(e, xfer_deadline(x));
    arm(e);
    return x;
}

void hc_cancel(hc_engine *e, hc_xfer *x)
{
    if (!x)
        return;
    unlink_xfer(e, x);
    release_xfer(e, x);         /* a native call's connection is closed */
    arm(e);
}

/* ---------------------------------------------------------------- timers */

static void put_timer(hc_engine *e, hc_timer *t, int64_t after_us, void (*cb)(void *), void *ud)
{
    t->at = hc_now_us() + (after_us > 0 ? after_us : 0);
    t->seq = ++e->timer_seq;
    t->cb = cb;
    t->ud = ud;
    t->next = e->timers;
    e->timers = t;
    arm(e);
}

hc_timer *hc_after(hc_engine *e, int64_t after_us, void (*cb)(void *), void *ud)
{
    hc_timer *t = mem_malloc(sizeof *t);
    if (!t)
        return NULL;
    t->embedded = 0;
    put_timer(e, t, after_us, cb, ud);
    return t;
}

void hc_after_in(hc_engine *e, hc_timer *t, int64_t after_us, void (*cb)(void *), void *ud)
{
    t->embedded = 1;
    put_timer(e, t, after_us, cb, ud);
}

void hc_timer_cancel(hc_engine *e, hc_timer *t)
{
    for (hc_timer **pp = &e->timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            if (!t->embedded)
                free(t);
            break;
        }
    arm(e);
}

void hc_set_user(hc_engine *e, void *v, void (*drop)(void *))
{
    if (e->user && e->drop_user)
        e->drop_user(e->user);
    e->user = v;
    e->drop_user = drop;
}

void *hc_user(const hc_engine *e)
{
    return e->user;
}

size_t hc_pending(const hc_engine *e)
{
    size_t n = 0;
    for (const hc_xfer *x = e->xfers; x; x = x->next)
        n++;
    for (const hc_timer *t = e->timers; t; t = t->next)
        n++;
    return n;
}

/* Stop every transfer whose deadline has passed, and fire due timers. */
static void run_due(hc_engine *e)
{
    h1_run_due(e->h1);          /* connections refused when their calls started */
    int64_t now = hc_now_us();
    if (now >= e->low) {
        e->scans++;
        for (hc_xfer *x = e->xfers, *next; x; x = next) {
            next = x->next;
            int64_t d = xfer_deadline(x);
            if (d < 0 || d > now)
                continue;
            if (x->total_timeout && now >= x->start_us + x->total_timeout)
                x->why = HC_TIMEOUT;
            else if (x->native && !x->connected && now >= x->connect_at + x->connect_timeout)
                x->why = HC_CONNECT_TIMEOUT;
            else
                x->why = x->first_byte_at < 0 ? HC_FIRST_BYTE_TIMEOUT : HC_IDLE_TIMEOUT;
            expire(e, x);
            next = e->xfers;    /* 'done' may have started or cancelled transfers */
            now = hc_now_us();
        }
        recompute_low(e);
    }
    /* timers due now; one started by a callback waits for the next turn
       (by its number: the clock may be held, clock.h, and not move) */
    uint64_t upto = e->timer_seq;
    for (;;) {
        hc_timer *due = NULL, **duep = NULL;
        for (hc_timer **pp = &e->timers; *pp; pp = &(*pp)->next)
            if ((*pp)->at <= now && (*pp)->seq <= upto && (!due || (*pp)->at < due->at)) {
                due = *pp;
                duep = pp;
            }
        if (!due)
            break;
        *duep = due->next;
        void (*cb)(void *) = due->cb;
        void *ud = due->ud;
        if (!due->embedded)
            free(due);
        cb(ud);
    }
}

void hc_on_timer(hc_engine *e)
{
    e->armed_at = INT64_MIN;    /* it fired: set it again whatever is due */
    if (e->curl_at >= 0 && e->curl_at <= hc_now_us()) {
        e->curl_at = -1;
        curl_action(e, CURL_SOCKET_TIMEOUT, 0);
    }
    run_due(e);
    arm(e);
}

void hc_on_socket(hc_engine *e, int fd, int what)
{
    if (h1_on_socket(e->h1, fd, what)) {
        run_due(e);
        arm(e);
        return;
    }
    int ev = (what & HC_IN ? CURL_CSELECT_IN : 0) | (what & HC_OUT ? CURL_CSELECT_OUT : 0);
    curl_action(e, fd, ev);
    run_due(e);
    arm(e);
}

unsigned long hc_scans(const hc_engine *e)
{
    return e->scans;
}

int hc_run_once(hc_engine *e, int64_t max_wait_us)
{
    int64_t at = next_due(e), now = hc_now_us();
    int64_t wait = at < 0 ? max_wait_us : at > now ? at - now : 0;
    if (max_wait_us >= 0 && (wait < 0 || wait > max_wait_us))
        wait = max_wait_us;
    struct pollfd pf[64];
    size_t n = e->nfds < 64 ? e->nfds : 64;
    for (size_t i = 0; i < n; i++) {
        pf[i].fd = e->fds[i].fd;
        pf[i].events = e->fds[i].events;
        pf[i].revents = 0;
    }
    int timeout_ms = wait < 0 ? -1 : (int)((wait + 999) / 1000);
    if (!n && wait < 0)
        return (int)hc_pending(e);
    int r = poll(pf, n, timeout_ms);
    if (r < 0 && errno != EINTR)
        return -1;
    for (size_t i = 0; r > 0 && i < n; i++)
        if (pf[i].revents) {
            int w = (pf[i].revents & (POLLIN | POLLHUP | POLLERR) ? HC_IN : 0) | (pf[i].revents & POLLOUT ? HC_OUT : 0);
            if (h1_on_socket(e->h1, pf[i].fd, w))
                continue;
            int ev = (w & HC_IN ? CURL_CSELECT_IN : 0) | (w & HC_OUT ? CURL_CSELECT_OUT : 0);
            if (pf[i].revents & POLLERR)
                ev |= CURL_CSELECT_ERR;
            curl_action(e, pf[i].fd, ev);
        }
    if (e->curl_at >= 0 && e->curl_at <= hc_now_us()) {
        e->curl_at = -1;
        curl_action(e, CURL_SOCKET_TIMEOUT, 0);
    }
    run_due(e);
    return (int)hc_pending(e);
}

/* ---------------------------------------------------------------- engine */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hc_engine *hc_new(const hc_loop *loop)
{
    pthread_once(&curl_once, curl_init_once);     /* engines may be made on several threads at once */
    if (curl_init_rc != CURLE_OK)
        return NULL;
    hc_engine *e = mem_calloc(1, sizeof *e);
    if (!e || !(e->multi = curl_multi_init())) {
        free(e);
        return NULL;
    }
    e->builtin = !loop;
    if (loop)
        e->loop = *loop;
    e->curl_at = -1;
    e->armed_at = -1;
    e->low = INT64_MAX;
    e->env_proxy = proxy_in_environment();
    const char *client = getenv("ROUTEVM_HTTP_CLIENT");
    e->curl_only = client && !strcmp(client, "curl");
    if (!(e->h1 = h1_new(nat_watch, e)) || set_trust(e)) {
        h1_free(e->h1);
        free(e->ca_file);
        free(e->ca_dir);
        curl_multi_cleanup(e->multi);
        free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    return e;
}

void hc_free(hc_engine *e)
{
    if (!e)
        return;
    while (e->xfers) {
        hc_xfer *x = e->xfers;
        e->xfers = x->next;
        if (!x->native)
            curl_multi_remove_handle(e->multi, x->easy);
        destroy_xfer(x);
    }
    while (e->spare) {
        hc_xfer *x = e->spare;
        e->spare = x->next;
        destroy_xfer(x);
    }
    while (e->timers) {
        hc_timer *t = e->timers;
        e->timers = t->next;
        if (!t->embedded)
            free(t);
    }
    curl_multi_cleanup(e->multi);     /* closes the connections: the loop hears of each */
    h1_free(e->h1);                   /* the same for the own transport's */
    free_urls(e);
    free(e->ca_file);
    free(e->ca_dir);
    if (e->user && e->drop_user)
        e->drop_user(e->user);
    free(e->fds);
    free(e);
}
