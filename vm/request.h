/* The request model: an OpenAI chat-completions request, parsed with
   jansson into the views the VM reads (vm/interp.c, vm/decide.c) and the builtins scan.

   Parsing is strict and bounded: a size cap, jansson's nesting limit,
   duplicate keys rejected (so a second "model" or "metadata" cannot
   smuggle a different routing hint past a check), strings must be valid
   UTF-8 without NUL.  Every error says what and where (line and column for
   JSON syntax errors).

   Every view (rv_sv) points into the request's own arena: the parsed JSON
   is released once the views are extracted, and a typical request is one
   contiguous block. */
#ifndef RV_REQUEST_H
#define RV_REQUEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct { const char *s; uint32_t len; } rv_sv;

typedef enum { RV_ROLE_SYSTEM, RV_ROLE_USER, RV_ROLE_ASSISTANT, RV_ROLE_TOOL } rv_role;

typedef struct {
    rv_sv text;          /* the message's text parts, joined with "\n" */
    uint8_t role;        /* rv_role */
    uint32_t images;     /* image parts */
} rv_msg;

typedef struct { rv_sv key, val; } rv_meta;

typedef struct rv_request {
    /* what most decisions read first, together */
    rv_meta *meta;       uint32_t nmeta;   /* metadata, in order; values as text */
    int stream;
    rv_sv input;         /* text of the last user message */
    rv_sv user;          /* the "user" field */
    uint32_t images, turns;
    int64_t max_tokens;  /* 0 = not given */
    rv_sv model;         /* the agent the client addressed ("" if none) */
    rv_sv system;        /* system messages' texts joined with "\n" */
    rv_msg *msgs;        uint32_t nmsg;
    rv_sv *texts;        /* nmsg views: every message's text (the 'messages' list) */
    rv_sv *tools;        uint32_t ntool;   /* function names */
    /* owned: the parsed JSON, and an arena whose first block is this
       struct's tail, so a typical request -- its views, message table and
       metadata, copied -- is one allocation, a few cache lines apart */
    void *json;          /* json_t * while parsing; NULL after */
    char *arena;         size_t arena_len, arena_cap;
    void *blocks;        /* further arena blocks */
    struct rv_reqpool *pool;  /* pooled requests take everything from the pool */
    _Alignas(16) char inline_arena[];
} rv_request;

typedef struct {
    size_t max_bytes;    /* default 16 MiB */
    uint32_t max_messages;  /* default 10,000 */
} rv_reqlimits;

typedef struct {
    char msg[256];
    int line, column;    /* JSON syntax errors; 0 otherwise */
} rv_reqerr;

/* Parse 'len' bytes.  Returns a request the caller frees with req_free(),
   or NULL with 'err' filled.  'lim' may be NULL for the defaults. */
rv_request *req_parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err);
void req_free(rv_request *r);   /* a pooled request is freed with its pool */

/* A pool for many requests parsed in a row (a batch, a worker's requests
   between two resets): each request's small parts -- the struct, its
   tables and metadata -- land right after the previous request's, and the
   large texts in a region of their own, so deciding requests one after
   another reads memory in order. */
typedef struct rv_reqpool rv_reqpool;
rv_reqpool *req_pool_new(void);
void req_pool_free(rv_reqpool *pool);
rv_request *req_parse_pooled(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                             rv_reqpool *pool);

/* Copy 'n' bytes into the request's arena (for redacted texts and other
   derived strings); NULL when out of memory. */
char *req_alloc(rv_request *r, size_t n);

/* The metadata value for 'key', or NULL. */
const rv_sv *req_meta(const rv_request *r, const char *key, uint32_t keylen);

#endif
