/* A reply as a dialect describes it, before any fault or timing touches
   the wire: a status, a content type, extra headers and either one body
   (sent with Content-Length) or a list of stream events (each sent as one
   HTTP chunk).  The dialects (openai.c, anthropic.c, bedrock.c) fill it;
   plan.c turns it into timed bytes, applying the transport faults.

   Ownership: a reply owns every string and event it holds (they are copied
   in); rp_free releases them and accepts NULL members. */
#ifndef MOCK_REPLY_H
#define MOCK_REPLY_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len;
    int content;        /* 1: carries answer content (counts for 'after N') */
} rp_event;

typedef struct {
    int status;
    char *content_type;
    char *headers;      /* extra header lines, each ending in "\r\n" */
    size_t headers_len;
    int streamed;       /* 1: 'ev' as chunks; 0: 'body' with Content-Length */
    char *body;
    size_t body_len;
    rp_event *ev;
    size_t nev, cap;
    int failed;         /* an allocation failed; the reply is incomplete */
} rp_reply;

void rp_init(rp_reply *r, int status, const char *content_type);
void rp_free(rp_reply *r);
/* Adds "name: value\r\n"; the caller has checked both for CR/LF. */
void rp_header(rp_reply *r, const char *name, const char *value);
void rp_set_body(rp_reply *r, const char *data, size_t len);
void rp_event_add(rp_reply *r, const char *data, size_t len, int content);
/* The same, from a NUL-terminated string. */
void rp_event_str(rp_reply *r, const char *s, int content);
/* Index of the event after which a fault placed 'after' content events
   fires: with after == 0, just before the first content event; past the
   last content event, 'limit' (where the closing events begin). */
size_t rp_cut(const rp_reply *r, int after, size_t limit);

#endif
