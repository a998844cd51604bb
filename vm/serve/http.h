/* The gateway's HTTP/1.1 server: connections on a libevent loop, requests
   parsed by the http-parser library (Debian's libhttp-parser, the parser
   Node.js used for a decade), every limit of RELIABILITY.md's downstream
   cases enforced here, before the application sees a byte.

   Why not evhttp: libevent 2.1's evhttp has no absolute header deadline
   (only idle timeouts, so a byte every few seconds keeps a slowloris
   connection alive), no header count cap, answers an oversize header
   block with 413 instead of 431, has no connection cap (2.2 has one), no
   per-connection output cap, and takes the first of two Content-Length
   headers.  So connections are bufferevents (their output; input is
   read by the server itself, without the bufferevent's FIONREAD before
   every read), and the bytes go to http-parser, which does the framing
   right (request line, header
   tokens, chunked decoding, Content-Length, RFC 9112 section 6 smuggling
   rules in 2.9.4).  A plain head that comes whole in one piece is read
   by hh_request instead (vm/providers/hhead.h: the same result, in a
   fraction of the instructions; anything it does not take, http-parser
   reads), its Content-Length body counted here.  This file adds the
   limits and the checks the library leaves to its user, each with its
   status:

     what                               cap (default; hs_limits)        status
     request line + headers, bytes      16 KiB                          431
     header fields, count               100                             431
     URL                                8 KiB                           414
     body (Content-Length, before       4 MiB                           413
       reading; chunked, while reading)
     head: absolute deadline            10 s from the request's         408, close
                                        first byte (from accept for
                                        the first request)
     body: idle gap / absolute deadline 10 s / 60 s                     408, close
     keep-alive idle                    60 s                            close
     write idle (slow reader)           30 s                            close, app aborted
     output buffered per connection     1 MiB                           close, app aborted
     connections (per process)          4,096, plus 64 kept for         503 on the spare ones
                                        health checks and metrics       except /healthz and
                                                                        /metrics; past both, a
                                                                        canned 503 and close
     Content-Length with                                                400, close
       Transfer-Encoding, two
       Content-Length, TE not ending
       in chunked, two TE headers
     TE other than chunked                                              501, close
     CR, LF or NUL in a header value,                                   400, close
       '_' in a header name,
       no or two Host (HTTP/1.1)

   Errors the server answers itself are OpenAI-style JSON bodies.

   Pipelined requests are handled one at a time: the parser pauses after
   each message, and reading stops while the input buffer holds more than
   a request head until the response is done.

   Threads: a server and its connections belong to the thread running its
   event_base; several servers (one per worker) may share a port with
   SO_REUSEPORT and share one connection counter (hs_shared).

   Ownership: an hs_req and everything it points to (path, headers, body)
   belongs to the connection and lives until the response ends
   (hs_respond, hs_stream_end) or the abort callback returns. */
#ifndef RV_SERVE_HTTP_H
#define RV_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct {
    size_t max_head;            /* request line and headers, bytes (431) */
    uint32_t max_headers;       /* header fields (431) */
    size_t max_url;             /* (414) */
    size_t max_body;            /* (413) */
    int64_t head_timeout_us;    /* absolute, from the request's first byte (408) */
    int64_t body_idle_us;       /* gap between body bytes (408) */
    int64_t body_timeout_us;    /* absolute, from the end of the head (408) */
    int64_t keepalive_us;       /* idle between requests: close */
    int64_t write_idle_us;      /* no output progress: close */
    size_t max_output;          /* bytes queued for one connection: close */
    uint32_t max_conns;         /* connections served normally */
    uint32_t spare_conns;       /* beyond max_conns: health checks and metrics only */
} hs_limits;

/* The defaults of the table above. */
hs_limits hs_default_limits(void);

/* State the workers share: the connection count. */
typedef struct hs_shared hs_shared;
hs_shared *hs_shared_new(void);
void hs_shared_free(hs_shared *s);
uint32_t hs_shared_conns(const hs_shared *s);

typedef struct hs_server hs_server;
typedef struct hs_req hs_req;

typedef struct { const char *name, *value; size_t nlen, vlen; } hs_header;  /* name in lower case */

enum { HS_GET = 1, HS_POST = 3, HS_HEAD = 2, HS_OTHER = 99 };

struct hs_req {
    int method;                 /* HS_* */
    const char *path;           /* without the query; NUL-terminated */
    size_t path_len;
    const hs_header *headers;   /* in order, names in lower case, values NUL-terminated */
    uint32_t nheaders;
    const char *body;           /* NUL-terminated for convenience; 'body_len' bytes */
    size_t body_len;
    int64_t start_us;           /* monotonic: the request's first byte */
    int spare;                  /* arrived on a connection beyond max_conns */
    struct hs_conn *conn;
};

/* The application: 'request' is called once per request; the application
   answers it now or later with hs_respond or hs_stream_*.  'abort' (set
   per request with hs_on_abort) is called if the connection dies first
   (client gone, slow reader, shutdown); the request is then invalid. */
typedef struct {
    void *ud;
    void (*request)(void *ud, hs_req *r);
} hs_app;

/* A server on 'base' listening on a socket bound to 'host:port' with
   SO_REUSEPORT ('host' NULL: no listening socket; connections come
   through hs_adopt).  Returns NULL with a message in 'err'.  'shared' is
   borrowed. */
hs_server *hs_new(struct event_base *base, const char *host, int port, const hs_limits *lim,
                  hs_shared *shared, const hs_app *app, char *err, size_t errlen);
/* Serve the connected socket 'fd' (taken: the server closes it). */
void hs_adopt(hs_server *s, int fd);
/* The port actually bound (for port 0). */
int hs_port(const hs_server *s);
/* Stop accepting; close idle connections now and busy ones once their
   response ends ('drain').  hs_busy() says how many requests are still
   being answered. */
void hs_drain(hs_server *s);
uint32_t hs_busy(const hs_server *s);
uint32_t hs_conns(const hs_server *s);
/* Close everything (requests in flight are aborted) and free. */
void hs_free(hs_server *s);

/* The value of header 'name' (lower case), or NULL.  'count' gets how many
   times it appears when not NULL. */
const char *hs_header_get(const hs_req *r, const char *name, size_t *vlen, uint32_t *count);

/* Called when the connection dies before the response ends. */
void hs_on_abort(hs_req *r, void (*abort)(void *ud), void *ud);

/* A header line or a content type: 'len' bytes at 's' (no NUL is read).
   Borrowed by the call it is given to. */
typedef struct {
    const char *s;
    size_t len;
} hs_line;

/* An hs_line of a string literal. */
#define HS_LINE(lit) ((hs_line){ "" lit, sizeof lit - 1 })

/* A whole response.  'headers' are complete "Name: value" lines without
   CRLF (the caller guarantees they hold no CR, LF or NUL); the content
   type may be empty ({ NULL, 0 }: none sent).  The request ends. */
void hs_respond(hs_req *r, int status, hs_line content_type, const hs_line *headers, size_t nheaders,
                const char *body, size_t len);

/* A streamed response (chunked transfer coding).  hs_stream_write returns
   0, or -1 when the connection's output passed the cap: the connection is
   closed, 'r' is invalid, and its abort callback is NOT called (the
   caller learns it from the -1). */
void hs_stream_start(hs_req *r, int status, hs_line content_type, const hs_line *headers, size_t nheaders);
int hs_stream_write(hs_req *r, const char *data, size_t len);
/* The last chunk, then 'ntrailers' trailer fields ("Name: value", no
   CRLF, the same guarantee as headers; 0 for none): what is known only
   once the body is sent.  They are sent only to a client that accepts
   trailers (hs_accepts_trailers), and dropped otherwise.  The request
   ends. */
void hs_stream_end(hs_req *r, const hs_line *trailers, size_t ntrailers);
/* Whether the client said it reads trailer fields: a TE header whose list
   names "trailers" (RFC 9110 section 10.1.4; case-insensitive, members
   may carry parameters).  A client that did not ask may not read them
   (section 6.5), so a stream announces its trailers (a "Trailer" header)
   only when this holds. */
int hs_accepts_trailers(const hs_req *r);

/* An OpenAI-style error body for 'status': {"error": {"message", "type",
   "param", "code"}}, written with the one JSON writer.  Returns a
   malloc'd string (the caller frees it) and its length, or NULL. */
char *hs_error_body(const char *message, const char *type, const char *code, const char *param, size_t *len);
/* The OpenAI error type for an HTTP status. */
const char *hs_error_type(int status);
/* Respond with such an error ('extra' header lines may be NULL). */
void hs_respond_error(hs_req *r, int status, const char *code, const char *message, const hs_line *extra,
                      size_t nextra);

/* The reason phrase of a status. */
const char *hs_reason(int status);

/* Monotonic clock, microseconds: held within a loop callback (clock.h). */
int64_t hs_now_us(void);

#endif
