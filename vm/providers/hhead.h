/* A strict reader of whole HTTP/1.1 heads, in one pass: the common case
   of the gateway's server (a client's request, vm/serve/http.c) and of
   the engine's own transport (an upstream's response, h1.c), each of
   which otherwise hands every head to http-parser, byte by byte with a
   callback per piece (about half the instructions the two heads cost).

   It takes only a head that is whole in the bytes given and plain:
     requests   GET, POST or HEAD, an origin-form target ('/' then bytes
                0x21-0x7e but '#'), HTTP/1.1;
     responses  HTTP/1.1, a status 200-599 but 204 and 304, a reason of
                field bytes, one Content-Length;
     fields     a name of token characters, ':', optional blanks, a value
                that is not empty, does not end in a blank and holds no
                control byte but HTAB (hfield.h); at most one
                Content-Length, of digits only (at most 15);
                Connection only "close" or "keep-alive"; no
                Transfer-Encoding (nor a name that begins with it:
                http-parser takes those for it), Upgrade or
                Proxy-Connection;
     lines      each ending in CR LF, the head in an empty line.
   Anything else -- a head cut short, a chunked body, an interim
   response, an odd or invalid byte -- is declined (0) without a word,
   and the caller gives the same bytes to http-parser, which reads it
   and reports what is wrong.  What is taken reads the same through both:
   the same target, the same fields with the same names and values (a
   value without its leading blanks), the same length and keep-alive.
   tests/unit/hhead_test.c holds the two to that.

   Nothing is copied: fields are offsets into the bytes given. */
#ifndef RV_HHEAD_H
#define RV_HHEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t noff, nlen;        /* the name, as written */
    uint32_t voff, vlen;        /* the value, without the blanks around it */
} hh_field;

enum { HH_GET = 1, HH_POST, HH_HEAD };

typedef struct {
    int method;                 /* requests: HH_* */
    int status;                 /* responses */
    uint32_t target_off, target_len;    /* requests */
    int has_length;             /* a Content-Length came */
    uint64_t length;            /* ... its value */
    int close;                  /* Connection: close */
    int underscore;             /* a field name holds '_' (a token character the gateway refuses) */
    uint32_t nfield;            /* fields written to the caller's array */
} hh_head;

/* The head of a request (hh_request) or a response (hh_response) at the
   start of [p, p + n): its length, through the empty line, with '*h'
   and fields [0, h->nfield) of 'f' (room for 'maxf') filled in; or 0
   when it declines (above), 'f' and '*h' then meaning nothing. */
size_t hh_request(const char *p, size_t n, hh_field *f, uint32_t maxf, hh_head *h);
size_t hh_response(const char *p, size_t n, hh_field *f, uint32_t maxf, hh_head *h);

#endif
