/* A small HTTP/1.1 server on libevent bufferevents, written for the mock
   provider: evhttp decides framing and timing itself, and a mock has to
   break both on purpose (reset a connection after N chunks, send an
   invalid chunk size, drip one byte at a time, stall).  This module reads
   requests with hard bounds (head size and header count, body size, a
   deadline for each request), answers protocol errors itself (400, 411,
   413, 431), and hands each complete request to the application, which
   returns a plan (plan.h) that the connection then carries out step by
   step.  Persistent connections and "Expect: 100-continue" work as
   libcurl expects.

   Ownership: the server owns its connections and frees them all in
   http_server_free.  A request passed to the handler is borrowed for the
   call; the plan the handler fills becomes the connection's. */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <stddef.h>

#include "plan.h"

struct event_base;

typedef struct {
    char *name;                /* lower-cased */
    char *value;               /* surrounding spaces trimmed */
} http_header;

typedef struct {
    char method[16];
    char *target;              /* as received: path, then '?query' if any */
    size_t path_len;           /* the path is target[0 .. path_len) */
    char *query;               /* after '?', or "" */
    int minor;                 /* HTTP/1.minor */
    http_header *headers;
    size_t nheaders;
    char *body;                /* NUL-terminated for convenience; body_len bytes */
    size_t body_len;
    int keep_alive;
    unsigned long id;          /* 1, 2, … across the server's life */
} http_request;

/* First header named 'name' (lower case), or NULL. */
const char *http_header_get(const http_request *r, const char *name);

typedef void (*http_handler)(void *arg, const http_request *req, plan *out);

typedef struct {
    size_t max_body;           /* bytes; larger requests get 413 */
    unsigned max_conns;        /* further connections are closed at once */
    unsigned request_ms;       /* deadline for one request's head and body */
    struct ssl_ctx_st *tls;    /* an SSL_CTX: every connection speaks TLS; NULL: plain; borrowed */
} http_limits;

typedef struct http_server http_server;

/* Listens on 127.0.0.1:'port' (0: an ephemeral port).  NULL on failure
   with errno set.  '*bound' receives the port. */
http_server *http_server_new(struct event_base *base, int port, const http_limits *lim,
                             http_handler h, void *arg, int *bound);
/* Closes the listener and every connection. */
void http_server_free(http_server *s);

#endif
