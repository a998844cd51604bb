/* The HTTP client engine of the provider runtime, driven by socket and
   timer events, so one thread carries any number of provider calls, and
   the same engine runs under its own small poll() loop ('routevm run') or
   inside another event loop (the gateway's libevent loop) through
   hc_loop.  Two transports sit behind it: its own HTTP/1.1 client
   (h1.h, with TLS for https:// in tls.h and names looked up in dns.h)
   when no proxy is set, and libcurl's multi interface for proxies and
   the URLs the own transport does not take (a user name, a host that
   is neither an address nor a plain DNS name).  Both trust the
   same CA certificates (SSL_CERT_FILE, SSL_CERT_DIR, else libcurl's).
   ROUTEVM_HTTP_CLIENT=curl in the environment when an engine is made
   sends all its calls to libcurl.

   Beyond what libcurl enforces (connect timeout), the engine enforces per
   transfer: a time to first byte (no response byte within it), an idle gap
   (no byte for that long once the response started, so a stalled stream
   does not hold a connection for minutes) and a total limit, each
   reported as its own status.  It also runs one-shot timers (retry
   backoff is a timer, never a sleep).  Transport failures are classified
   (hc_status); what the bytes mean is the providers' business.

   Threads: an engine and its transfers belong to one thread.

   Re-entrance: the 'header' and 'data' callbacks run inside a transport
   and must not start, cancel or free anything in the engine (return
   nonzero from 'data' to stop a transfer instead).  'done' callbacks and
   timer callbacks run outside them and may start new transfers and
   timers.  hc_start never calls 'done' before it returns (a connection
   refused at once is reported at the loop's next turn).

   Ownership: an hc_spec is read during hc_start() only, except 'body',
   which is borrowed until the transfer's 'done' callback returns or it is
   cancelled.  Header lines are copied.  Pointers passed to callbacks are
   valid during the callback only.  Error messages never contain header
   values (keys travel in headers). */
#ifndef RV_HTTPC_H
#define RV_HTTPC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HC_OK,              /* a complete response (any HTTP status) */
    HC_CONNECT_TIMEOUT, /* no connection within the connect timeout */
    HC_FIRST_BYTE_TIMEOUT, /* connected, no response byte in time */
    HC_IDLE_TIMEOUT,    /* the response stalled longer than the idle gap */
    HC_TIMEOUT,         /* the transfer's total limit passed */
    HC_REFUSED,         /* connection refused, DNS or TLS failure */
    HC_RESET,           /* the connection was reset or closed before the response ended */
    HC_MALFORMED,       /* the response is not valid HTTP (bad chunking, bad status line) */
    HC_ABORTED,         /* the 'data' callback asked to stop */
    HC_ERROR            /* anything else (out of memory, a libcurl error) */
} hc_status;

/* A short fixed name for a status ("first_byte_timeout", ...). */
const char *hc_status_name(hc_status st);

typedef struct {
    hc_status status;
    int http_status;        /* 0 when no status line arrived */
    int64_t first_byte_us;  /* from the start to the first response byte; -1 none */
    int64_t total_us;       /* from the start to the end */
    uint64_t body_bytes;    /* body bytes delivered to 'data' */
    const char *message;    /* for people: what failed; "" on HC_OK */
} hc_done;

typedef struct {
    /* A response header, name and value trimmed (not NUL-terminated);
       'status' is the response's HTTP status.  Interim responses (1xx)
       are not reported.  May be NULL. */
    void (*header)(void *ud, int status, const char *name, size_t nlen, const char *value, size_t vlen);
    /* Body bytes as they arrive (chunked framing removed).  Return 0 to go
       on, nonzero to stop the transfer (it ends with HC_ABORTED). */
    int (*data)(void *ud, const char *p, size_t n);
    /* The end, exactly once (not after hc_cancel). */
    void (*done)(void *ud, const hc_done *d);
} hc_handler;

typedef struct {
    const char *url;
    const char *method;             /* NULL: POST when there is a body, else GET */
    const char *const *headers;     /* "Name: value" lines */
    const size_t *header_lens;      /* NULL, or the lines' lengths (their strlen), read like them */
    size_t nheaders;
    const char *body;               /* borrowed until 'done' (see above) */
    size_t body_len;
    int64_t connect_timeout_us;     /* 0: 10 s */
    int64_t first_byte_timeout_us;  /* 0: none */
    int64_t idle_timeout_us;        /* 0: none */
    int64_t total_timeout_us;       /* 0: none */
} hc_spec;

/* An outside event loop (the gateway's).  The engine asks it to watch
   sockets and to arm one timer; the loop calls hc_on_socket() and
   hc_on_timer() back.  'watch' says, for socket 'fd':
     HC_IN, HC_OUT, or both   report that readiness until told otherwise;
     HC_IDLE                  no transfer waits on the socket, which stays
                              open (a kept-alive connection in libcurl's
                              cache; the own transport's parked
                              connections stay HC_IN instead, and are
                              closed when they turn readable): the loop
                              may keep its registration,
                              so that the next transfer's HC_IN costs
                              nothing, but must not report the socket
                              again until asked (a peer closing an idle
                              connection makes it readable for good);
     0                        the socket is about to be closed: forget it
                              now, before the descriptor can be reused;
                              or it was just opened (below).
   Every socket the engine closes is told 0 first, whatever it was told
   before, and so is every socket it opens, before it is used: 'watch'
   returns -1 when the loop has no room to watch 'fd' (out of memory),
   and the engine then closes the socket and fails its call at once
   rather than leave it to a deadline; else 0 (for a socket that was
   told 0 when opened, 'watch' never fails). */
enum { HC_IN = 1, HC_OUT = 2, HC_IDLE = 4 };
typedef struct {
    void *ud;
    int (*watch)(void *ud, int fd, int what);     /* what: HC_IN|HC_OUT, HC_IDLE, or 0 (above) */
    void (*timer)(void *ud, int64_t after_us);    /* -1 = disarm */
} hc_loop;

typedef struct hc_engine hc_engine;
typedef struct hc_xfer hc_xfer;
/* A one-shot timer.  Opaque to callers, but declared here so that a
   caller can hold one in its own memory (hc_after_in), which cannot fail. */
typedef struct hc_timer {
    int64_t at;
    void (*cb)(void *);
    void *ud;
    struct hc_timer *next;
    uint64_t seq;               /* set as the engine's how-manieth timer */
    int embedded;               /* the caller's memory: never freed by the engine */
} hc_timer;

/* A new engine; 'loop' NULL uses the built-in loop (hc_run_once).  'loop'
   is copied.  NULL when libcurl or memory fails. */
hc_engine *hc_new(const hc_loop *loop);
/* Cancels every transfer and timer (no callbacks) and frees the engine;
   accepts NULL. */
void hc_free(hc_engine *e);

/* Start a transfer.  Returns it, or NULL with a message in 'err'. */
hc_xfer *hc_start(hc_engine *e, const hc_spec *spec, const hc_handler *h, void *ud, char *err, size_t errlen);
/* Stop a transfer without calling its 'done'. */
void hc_cancel(hc_engine *e, hc_xfer *x);

/* Call 'cb(ud)' once, 'after_us' from now (0: at the next turn of the
   loop).  NULL when out of memory. */
hc_timer *hc_after(hc_engine *e, int64_t after_us, void (*cb)(void *ud), void *ud);
/* The same in a timer the caller owns ('t', which must stay valid until
   it fires or is cancelled, and must not be pending already): cannot
   fail.  hc_timer_cancel stops it without freeing it. */
void hc_after_in(hc_engine *e, hc_timer *t, int64_t after_us, void (*cb)(void *ud), void *ud);
void hc_timer_cancel(hc_engine *e, hc_timer *t);

/* Transfers and timers pending. */
size_t hc_pending(const hc_engine *e);

/* One value the engine's user keeps with the engine, on the engine's
   thread (the request driver keeps its spare drivers there): 'drop' is
   called on it by hc_free, and on the value before it when it is
   replaced.  hc_user returns it, NULL when none was set. */
void hc_set_user(hc_engine *e, void *v, void (*drop)(void *v));
void *hc_user(const hc_engine *e);

/* The built-in loop: wait at most 'max_wait_us' (-1: until something is
   due) for socket activity or a due timer, and handle it.  Returns the
   number of transfers and timers still pending, or -1 on a poll() error. */
int hc_run_once(hc_engine *e, int64_t max_wait_us);

/* For an outside loop: activity on 'fd' (HC_IN|HC_OUT), or its timer. */
void hc_on_socket(hc_engine *e, int fd, int what);
void hc_on_timer(hc_engine *e);

/* The engine's monotonic clock, microseconds (clk_mono_us: held within
   a loop callback that holds the clock, clock.h). */
int64_t hc_now_us(void);

/* Test hook: how many times the engine walked its transfers because a
   deadline might be due (once the clock passes 'low', httpc.c). */
unsigned long hc_scans(const hc_engine *e);

#endif
