/* The HTTP client engine's own HTTP/1.1 transport (vm/providers/httpc.h
   chooses it): HTTP/1.1 over non-blocking sockets, for URLs whose host
   is an address written out (127.0.0.1, [::1]), "localhost" (127.0.0.1,
   then ::1) or a name, looked up on a thread of its own (dns.h) so that
   the loop never blocks, its addresses kept a minute and tried in turn
   within the connect deadline; https:// through TLS (tls.h: verified,
   the session resumed per host and port, the handshake counted in the
   connect deadline).  Proxies stay with libcurl.

   A request's head is written into one buffer and sent with the body in
   one sendmsg(); the response is read with http_parser into one buffer
   the pool owns, and handed on as header and body callbacks.  Each
   (host, port) keeps its idle connections (H1_IDLE_PER_HOST, 256, at most),
   watched for reading while parked: a parked connection the peer closes
   or writes to out of turn is closed at once.  A request sent on a
   kept-alive connection that fails before any response byte (the peer
   closed it as we wrote) is sent again once on a new connection; never
   otherwise.

   The deadlines are the engine's (httpc.c): this module tells it when a
   connection is being made and when response bytes arrive, and reports
   how a request ended.

   Threads: a pool and its requests belong to the engine's thread.

   Re-entrance: the 'header', 'data', 'connecting' and 'bytes' events
   run inside the transport and must not start or cancel requests; 'end'
   runs after the request left its connection and may start and cancel
   requests (its own h1_req is then gone).

   Ownership: h1_start copies the URL parts, the method and the header
   lines into the request's head; 'body' is borrowed until 'end' or
   h1_cancel.  Pointers passed to events are valid during the event
   only.  Messages never contain header values. */
#ifndef RV_H1_H
#define RV_H1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "httpc.h"

typedef struct h1_pool h1_pool;
typedef struct h1_req h1_req;

/* A URL this transport can carry, parsed (h1_parse_url).  'authority'
   and 'path' point into the URL given. */
typedef struct {
    const char *authority;      /* "host[:port]" as written: the pool's key and the Host line */
    size_t authority_len;
    const char *host;           /* the host without brackets: TLS checks the certificate for it */
    size_t host_len;
    int tls;                    /* https:// */
    int named;                  /* the host is a name to look up ('addr' unset) */
    unsigned port;
    const char *path;           /* from the first '/' or '?', without the fragment; "" for "/" */
    size_t path_len;
    struct sockaddr_storage addr;   /* an address written out, or localhost's 127.0.0.1 (then ::1) */
    socklen_t addr_len;
} h1_url;

typedef struct {
    /* 0: a new connection is being made (the connect deadline starts
       now); 1: it is connected. */
    void (*connecting)(void *ud, int connected);
    /* Response bytes arrived (first-byte and idle deadlines). */
    void (*bytes)(void *ud);
    /* A final response's header, trimmed (hc_handler's 'header'). */
    void (*header)(void *ud, int status, const char *name, size_t nlen, const char *value, size_t vlen);
    /* Body bytes, framing removed; nonzero stops the request (HC_ABORTED). */
    int (*data)(void *ud, const char *p, size_t n);
    /* The end, exactly once unless cancelled; 'message' "" on HC_OK. */
    void (*end)(void *ud, hc_status st, int http_status, const char *message);
} h1_events;

/* 0 when this transport carries 'url' (http:// or https://, the host
   an IPv4 or IPv6 address, "localhost", or a DNS name of letters,
   digits, '-', '_' and '.' whose last label starts with a letter; no
   user name), with its parts in 'u'; -1 when libcurl should. */
int h1_parse_url(const char *url, h1_url *u);

/* A pool telling the engine's loop about its sockets through 'watch'
   (hc_loop's values and return: 0 when each is opened and before each
   close).  NULL when out of memory. */
h1_pool *h1_new(int (*watch)(void *ud, int fd, int what), void *ud);
/* Closes every connection and frees the pool; requests not ended must
   have been cancelled.  Accepts NULL. */
void h1_free(h1_pool *p);
/* The CA certificates https:// connections trust (tls.h): a file and a
   directory, either NULL; copied.  Read when the first https://
   connection is made.  0, or -1 when out of memory. */
int h1_set_trust(h1_pool *p, const char *ca_file, const char *ca_dir);

/* Start a request ('method' NULL: POST when there is a body, else GET).
   'header_lens' NULL, or the header lines' lengths (their strlen).
   NULL with a message in 'err' when it cannot be made (a header line
   with a control character, out of memory).  A failure to connect is
   reported through 'end' at the engine's next turn (h1_run_due). */
h1_req *h1_start(h1_pool *p, const h1_url *u, const char *method, const char *const *headers,
                 const size_t *header_lens, size_t nheaders, const char *body, size_t body_len, const h1_events *ev,
                 void *ud, char *err, size_t errlen);
/* Stop a request without 'end': its connection, if any, is closed. */
void h1_cancel(h1_pool *p, h1_req *r);
/* The HTTP status of the request's response so far, 0 when none. */
int h1_http_status(const h1_req *r);

/* Activity on 'fd' (HC_IN|HC_OUT): 1 when the socket is the pool's
   (handled), 0 when it is not. */
int h1_on_socket(h1_pool *p, int fd, int what);
/* Requests whose end is due at once (a connection refused inside
   h1_start) are reported by h1_run_due; h1_due says whether there are
   any.  h1_run_due also moves a connection attempt that has had no
   answer for H1_ATTEMPT_US to the host's next address, when there is
   one; h1_attempt_due says when the next such move may be due (-1:
   none), for the engine's timer. */
int h1_due(const h1_pool *p);
int64_t h1_attempt_due(const h1_pool *p);
void h1_run_due(h1_pool *p);

/* Test hook: connections the pool opened so far. */
unsigned long h1_opened(const h1_pool *p);

#endif
