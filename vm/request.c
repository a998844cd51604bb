/* Parsing OpenAI chat-completions requests into rv_request; see request.h.

   The body is read by jsonfast (vm/jsonfast.h), a one-pass reader
   that makes yajl's callback calls; a body it declines (a syntax
   error among others) is parsed again from the start by yajl, a
   streaming parser (bench/RESULTS.md, jsonparse, compares both with
   jansson, cJSON, json-c, json-parser and jsmn on the benchmark's
   requests), which judges it and words the error.  Either calls back
   for every token.  The callbacks keep a stack of frames, one per open
   array or object, each knowing what it is -- the root, a message, a
   content part, a tool call, a value kept only as a span -- so the
   request is read in one pass by a state machine, without a tree and
   without recursion.  What they find goes into growable tables in the
   parser's scratch space; at the end the tables are copied into the
   request's own memory, and what a decision reads first -- the
   metadata table, short metadata keys and values and "user", the
   struct -- into one hot region (see memory, and request.h).

   Strings without escapes are views of the request's copy of the body;
   strings with escapes are decoded into the request's memory (by
   jsonfast in place, through its room hook; by yajl into its decode
   buffer, and copied).  yajl's own UTF-8 check is loose (it takes
   overlong forms and encoded surrogates) and it decodes unpaired \u
   surrogates lossily, so the whole body is checked as strict UTF-8 first
   and every escaped string's escapes are checked here (no \u0000, no
   unpaired surrogate) before its decoded text is trusted.

   What the callbacks do per token is kept small, as yajl itself is most
   of a parse: a key is told by its length, first byte and a word or two
   (not a string compare), and compared with the object's earlier keys
   only when a 32-bit filter of them says it may repeat one; a string
   without escapes is a view whose span needs no call into yajl; the
   numbers routing reads are converted without a library call where that
   is exact (integer literals by their digits, decimals of at most 15
   digits and no exponent by one division, Clinger's fast path) and by
   strtod otherwise; an all-ASCII body skips the byte-by-byte UTF-8 check.

   Sections: memory · errors · strings · keys · values · yajl callbacks ·
   finishing · routing dictionaries and views · the public API. */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "builtins.h"
#include "jsonfast.h"
#include "jsonscan.h"
#include "mem.h"
#include "request.h"

#define DEFAULT_MAX_BYTES (16u << 20)
#define DEFAULT_MAX_MESSAGES 10000u
#define MAX_SAFE_INT 9007199254740991LL     /* 2^53 - 1 */

/* ================================================================ memory */

/* A request's memory is a chain of blocks: unpooled, blocks of its own;
   pooled, shared blocks of the pool, each counting the requests that use
   it, plus blocks of their own for allocations too big to share.

   Hot and cold.  What a decision over metadata and the request's scalars
   reads -- the metadata table, copies of short metadata keys and values
   and of a short "user", and the struct itself -- is one region, laid out
   when the parse ends (hot_region() below); everything else (the body's
   copy, decoded strings, the other tables) is cold.  A pool fills two
   blocks at a time, one for cold and one for hot allocations, so the hot
   regions of requests parsed in a row lie one after another and deciding
   them in that order reads memory in order. */
#define BLOCK_SIZE (256u << 10)
#define BIG_ALLOC (BLOCK_SIZE / 4)
#define POOL_KEEP 64u               /* free blocks a pool keeps for later */
#define FIRST_BLOCK 4096u

typedef struct block {
    struct block *next;     /* unpooled: the request's chain; pooled: the free list */
    uint32_t refs;          /* pooled: requests using it */
    uint8_t own;            /* pooled: one big allocation, freed with its request */
    size_t cap, used;
    _Alignas(16) char data[];
} block;

/* Pooled: a block a request uses (kept in the pool's current cold block). */
typedef struct bref { struct bref *next; block *b; } bref;

/* The parser's scratch space: yajl's allocations, bump-allocated in
   chunks (a failure leaves yajl through longjmp: yajl cannot survive a
   NULL), and the growable tables.  A pool keeps it between parses. */
typedef struct { void *v; uint32_t n, cap, esz; } vec;

typedef struct {
    block *chunks;
    jmp_buf *jb;
    size_t bytes, limit;    /* scratch bytes used by this parse, and the most allowed */
    vec frames, keys, msgs, parts, slots, stexts, calls, tools, meta, extra, stops;
} scratch;

struct rv_reqpool {
    block *cur;             /* the cold block being filled (it holds the brefs) */
    block *hot;             /* the hot block being filled: requests' hot regions */
    block *free;
    uint32_t nfree;
    size_t nblocks;
    scratch sc;
};

static void *bump(block *b, size_t n)
{
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static block *block_new(size_t cap)
{
    block *b = mem_malloc(sizeof *b + cap);
    if (b) {
        memset(b, 0, sizeof *b);
        b->cap = cap;
    }
    return b;
}

/* A block back to its pool: kept for later, or freed. */
static void pool_release(rv_reqpool *pool, block *b)
{
    if (!b->own && pool->nfree < POOL_KEEP) {
        b->used = 0;
        b->next = pool->free;
        pool->free = b;
        pool->nfree++;
        return;
    }
    pool->nblocks--;
    free(b);
}

/* Make 'n' bytes (plus two brefs) available in the pool's current block
   '*curp' (pool->cur or pool->hot). */
static block *pool_room(rv_reqpool *pool, block **curp, size_t n)
{
    block *c = *curp;
    if (c && c->used + n + 2 * sizeof(bref) <= c->cap)
        return c;
    if (c && c->refs == 0)
        pool_release(pool, c);
    *curp = NULL;
    if (pool->free) {
        c = pool->free;
        pool->free = c->next;
        pool->nfree--;
    } else {
        if (!(c = block_new(BLOCK_SIZE)))
            return NULL;
        pool->nblocks++;
    }
    c->next = NULL;
    c->refs = 0;
    return *curp = c;
}

/* Record that the request whose brefs start at '*head' uses 'b'. */
static void pool_ref(block *c, bref **head, block *b)
{
    if (*head && (*head)->b == b)
        return;
    bref *f = bump(c, sizeof *f);
    f->b = b;
    f->next = *head;
    *head = f;
    b->refs++;
}

/* A block of the pool with 'n' free bytes for 'r', recorded in its
   brefs: the current cold or hot block, or one of its own when 'n' is too
   big to share. */
static block *pool_block(rv_request *r, size_t n, int hot)
{
    rv_reqpool *pool = r->pool;
    bref **head = (bref **)&r->mem;
    int shared_cold = !hot && n <= BIG_ALLOC;
    block *c = pool_room(pool, &pool->cur, shared_cold ? n : 0);
    if (!c)
        return NULL;
    pool_ref(c, head, c);           /* the request's brefs live in 'c' */
    if (shared_cold)
        return c;
    block *b;
    if (n > BIG_ALLOC) {
        if (!(b = block_new(n)))
            return NULL;
        pool->nblocks++;
        b->own = 1;
    } else if (!(b = pool_room(pool, &pool->hot, n))) {
        return NULL;
    }
    pool_ref(c, head, b);
    return b;
}

/* The request's own block with 'n' free bytes (unpooled). */
static block *own_block(rv_request *r, size_t n)
{
    block *b = r->mem;
    if (b->used + n > b->cap) {
        size_t cap = b->cap * 2 > n ? b->cap * 2 : n;
        block *nb = block_new(cap);
        if (!nb)
            return NULL;
        nb->next = b;
        r->mem = b = nb;
    }
    return b;
}

/* 'n' bytes of the request's cold memory, 8-aligned; NULL when out of
   memory or past the request's memory limit (r->mem_bytes > r->mem_limit). */
static void *req_mem(rv_request *r, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    r->mem_bytes += n;
    if (r->mem_bytes > r->mem_limit)
        return NULL;
    block *b = r->pool ? pool_block(r, n, 0) : own_block(r, n);
    return b ? bump(b, n) : NULL;
}

/* What decisions read first is in the struct's first two cache lines
   (request.h); the struct starts on a line. */
_Static_assert(sizeof(rv_reqview) + sizeof(int) + 2 * sizeof(uint32_t) + sizeof(int64_t) <= 64 &&
               offsetof(rv_request, max_tokens) + sizeof(int64_t) <= 64,
               "the routing view and the scalars rules test fit the first line");
_Static_assert(offsetof(rv_request, system) + sizeof(rv_sv) <= 128, "what rules read without a view fits the second");
_Static_assert(offsetof(rv_request, ntool) + sizeof(uint32_t) <= 192, "rv_request's hot fields fit three lines");
_Static_assert(sizeof(rv_request) % 8 == 0 && sizeof(rv_meta) % 8 == 0, "the hot region's parts stay 8-aligned");

/* The hot region: 'head' bytes (the metadata table and the short copies,
   a multiple of 8) then, on the next cache line, the struct.  Returns the
   struct's place, '*headp' the head's; NULL when out of memory or past
   the memory limit.  Only the padding the address needs is taken, so in
   a pool one request's region follows the last's with no gap. */
static rv_request *hot_alloc(rv_request *r, size_t head, char **headp)
{
    size_t most = head + 63 + sizeof(rv_request);
    if (r->mem_bytes + most > r->mem_limit + 63) {
        r->mem_bytes += most;
        return NULL;
    }
    block *b = r->pool ? pool_block(r, most, 1) : own_block(r, most);
    if (!b)
        return NULL;
    char *p = b->data + b->used;
    char *q = (char *)(((uintptr_t)(p + head) + 63) & ~(uintptr_t)63);
    size_t n = (size_t)(q - p) + sizeof(rv_request);
    r->mem_bytes += n;
    if (r->mem_bytes > r->mem_limit)
        return NULL;
    bump(b, n);
    *headp = p;
    return (rv_request *)q;
}

/* A request being parsed (the caller's struct, zeroed) whose memory
   limit is 'limit'; 0 when out of memory.  Its struct moves into its hot
   region when the parse ends. */
static int request_init(rv_request *r, rv_reqpool *pool, size_t first, size_t limit)
{
    memset(r, 0, sizeof *r);
    r->pool = pool;
    r->mem_limit = limit;
    if (!pool && !(r->mem = block_new(first)))
        return 0;
    return 1;
}

void req_free(rv_request *r)
{
    if (!r)
        return;
    rv_reqpool *pool = r->pool;
    if (pool) {
        /* newest first: a bref is always read before the block holding it
           goes ('r' itself may be in one of them: it is not read again) */
        for (bref *f = r->mem, *next; f; f = next) {
            next = f->next;
            block *b = f->b;
            if (--b->refs == 0 && b != pool->cur && b != pool->hot)
                pool_release(pool, b);
        }
        return;
    }
    for (block *b = r->mem, *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

rv_reqpool *req_pool_new(void)
{
    return mem_calloc(1, sizeof(rv_reqpool));
}

static void scratch_free(scratch *sc);

void req_pool_free(rv_reqpool *pool)
{
    if (!pool)
        return;
    free(pool->cur);
    free(pool->hot);
    for (block *b = pool->free, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    scratch_free(&pool->sc);
    free(pool);
}

size_t req_pool_blocks(const rv_reqpool *pool)
{
    return pool ? pool->nblocks : 0;
}

/* ---------------------------------------------------------------- scratch */

#define CHUNK_MIN (16u << 10)

static void *ya_malloc(void *ctx, size_t n)
{
    scratch *sc = ctx;
    size_t need = ((n + 15) & ~(size_t)15) + 16;   /* a 16-byte header holds the size */
    block *c = sc->chunks;
    if (!c || c->used + need > c->cap) {
        size_t cap = c && c->cap * 2 > need ? c->cap * 2 : need > CHUNK_MIN ? need : CHUNK_MIN;
        sc->bytes += cap;
        if (sc->bytes > sc->limit || !(c = block_new(cap)))
            longjmp(*sc->jb, 1);
        c->next = sc->chunks;
        sc->chunks = c;
    }
    char *p = bump(c, need);
    memcpy(p, &n, sizeof n);
    return p + 16;
}

static void *ya_realloc(void *ctx, void *old, size_t n)
{
    void *p = ya_malloc(ctx, n);
    if (old) {
        size_t was;
        memcpy(&was, (char *)old - 16, sizeof was);
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}

static void ya_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p;    /* the chunks go at once after the parse */
}

/* Tables larger than this are given back after a parse rather than kept. */
#define KEEP_TABLE (1u << 20)

/* Ready for the next parse (a pool's scratch after each parse): the
   tables empty, one chunk kept, and tables grown past KEEP_TABLE given
   back.  Only a parse that allocated about a third of that can have
   grown one there (a table grows by half, the growth counted in 'bytes';
   a table kept from before is smaller), so a parse that allocated less
   than a quarter only empties the tables. */
static void scratch_reset(scratch *sc)
{
    block *c = sc->chunks;
    if (c) {
        for (block *b = c->next, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        c->next = NULL;
        c->used = 0;
    }
    sc->frames.n = sc->keys.n = sc->msgs.n = sc->parts.n = sc->slots.n = sc->stexts.n = sc->calls.n = 0;
    sc->tools.n = sc->meta.n = sc->extra.n = sc->stops.n = 0;
    if (sc->bytes >= KEEP_TABLE / 4) {
        vec *v[] = { &sc->frames, &sc->keys, &sc->msgs, &sc->parts, &sc->slots, &sc->stexts, &sc->calls,
                     &sc->tools, &sc->meta, &sc->extra, &sc->stops };
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            if ((size_t)v[i]->cap * v[i]->esz > KEEP_TABLE) {
                free(v[i]->v);
                v[i]->v = NULL;
                v[i]->cap = 0;
            }
    }
    sc->bytes = 0;
    sc->limit = 0;
}

static void scratch_free(scratch *sc)
{
    for (block *b = sc->chunks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    vec *v[] = { &sc->frames, &sc->keys, &sc->msgs, &sc->parts, &sc->slots, &sc->stexts, &sc->calls,
                 &sc->tools, &sc->meta, &sc->extra, &sc->stops };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        free(v[i]->v);
    memset(sc, 0, sizeof *sc);
}

/* Room for 'v' to take one more element of 'elem' bytes; 0 when out of
   memory or over the scratch limit. */
static __attribute__((noinline)) int vec_grow(scratch *sc, vec *v, size_t elem)
{
    /* grow by half: the room allocated and never used stays small */
    uint32_t cap = v->cap ? v->cap + v->cap / 2 : 16;
    if (v->cap > UINT32_MAX / 2)
        return 0;
    sc->bytes += (size_t)(cap - v->cap) * elem;     /* (room a pool kept from before is free) */
    if (sc->bytes > sc->limit)
        return 0;
    void *nv = mem_reallocarray(v->v, cap, elem);
    if (!nv)
        return 0;
    v->v = nv;
    v->cap = cap;
    v->esz = (uint32_t)elem;
    return 1;
}

/* One more element of 'elem' bytes, not zeroed (the caller fills all of
   it); its index, or RV_REQ_NONE. */
static inline __attribute__((always_inline)) uint32_t vec_add(scratch *sc, vec *v, size_t elem)
{
    if (v->n == v->cap && !vec_grow(sc, v, elem))
        return RV_REQ_NONE;
    return v->n++;
}

/* One more element of 'elem' bytes, zeroed; its index, or RV_REQ_NONE.
   Inline: with 'elem' a constant the zeroing is a few stores. */
static inline __attribute__((always_inline)) uint32_t vec_push(scratch *sc, vec *v, size_t elem)
{
    uint32_t i = vec_add(sc, v, elem);
    if (i != RV_REQ_NONE)
        memset((char *)v->v + (size_t)i * elem, 0, elem);
    return i;
}

#define AT(vecp, type, i) (&((type *)(vecp)->v)[i])

/* ================================================================ the parser */

/* What an open array or object is. */
typedef enum {
    C_ROOT, C_MESSAGES, C_MSG, C_PARTS, C_PART, C_IMAGE_URL, C_AUDIO, C_FILE, C_TCALLS, C_TCALL,
    C_TCALL_FN, C_FCALL, C_META, C_TOOLS, C_TOOL, C_TOOL_FN, C_FUNCS, C_FUNC, C_STOP, C_STREAMOPT,
    C_TCHOICE, C_TCHOICE_FN, C_RESPFMT, C_SKIP
} ctxkind;

/* Keys the request model knows; any other key is F_OTHER. */
#define FIELDS(X) \
    X(MODEL, "model") X(MESSAGES, "messages") X(METADATA, "metadata") X(USER, "user") \
    X(STREAM, "stream") X(STREAM_OPTIONS, "stream_options") X(MAX_TOKENS, "max_tokens") \
    X(MAX_COMPLETION_TOKENS, "max_completion_tokens") X(TEMPERATURE, "temperature") X(TOP_P, "top_p") \
    X(FREQUENCY_PENALTY, "frequency_penalty") X(PRESENCE_PENALTY, "presence_penalty") X(N, "n") \
    X(SEED, "seed") X(LOGPROBS, "logprobs") X(TOP_LOGPROBS, "top_logprobs") \
    X(PARALLEL_TOOL_CALLS, "parallel_tool_calls") X(STOP, "stop") X(TOOLS, "tools") \
    X(FUNCTIONS, "functions") X(TOOL_CHOICE, "tool_choice") X(FUNCTION_CALL, "function_call") \
    X(RESPONSE_FORMAT, "response_format") X(ROLE, "role") X(CONTENT, "content") X(NAME, "name") \
    X(TOOL_CALLS, "tool_calls") X(TOOL_CALL_ID, "tool_call_id") X(REFUSAL, "refusal") X(TYPE, "type") \
    X(TEXT, "text") X(IMAGE_URL, "image_url") X(INPUT_AUDIO, "input_audio") X(FILE, "file") \
    X(URL, "url") X(DETAIL, "detail") X(DATA, "data") X(FORMAT, "format") X(FILE_ID, "file_id") \
    X(FILE_DATA, "file_data") X(ID, "id") X(FUNCTION, "function") X(ARGUMENTS, "arguments") \
    X(DESCRIPTION, "description") X(PARAMETERS, "parameters") X(STRICT, "strict") \
    X(INCLUDE_USAGE, "include_usage") X(JSON_SCHEMA, "json_schema")

typedef enum {
    F_OTHER,
#define X(id, s) F_##id,
    FIELDS(X)
#undef X
    F__COUNT
} field;

static const struct { const char *s; uint8_t len; } field_names[] = {
    { "", 0 },
#define X(id, s) { s, sizeof s - 1 },
    FIELDS(X)
#undef X
};

typedef struct {
    uint8_t ctx;        /* ctxkind */
    uint8_t field;      /* objects: the field of the key being read */
    uint32_t idx;       /* its record (message, part, tool call, tool, extra field) */
    uint32_t start;     /* offset of its '{' or '[' */
    uint32_t key0;      /* objects: its first key on the key stack */
    const char *key;    /* objects: the key being read, decoded ('klen' bytes) */
    uint32_t klen;
    uint32_t kbits;     /* objects: a bit for each key read (key_bit): a new key whose bit
                           is not set repeats none */
} frame;

static rv_sv key_of(const frame *f) { return (rv_sv){ f->key, f->klen }; }

/* A message while it is parsed. */
typedef struct {
    rv_msg m;
    uint32_t content_slot;
    uint8_t has_role;
} pmsg;

typedef struct {
    rv_request *r;
    scratch *sc;
    yajl_handle h;          /* NULL while the one-pass reader reads (jf) */
    jf_reader jf;
    const char *room;       /* the string jf is decoding into the request's memory (jf_room) */
    const char *body;
    uint32_t len;
    const rv_reqlimits *lim;
    rv_reqerr *err;
    int failed;
    int started;            /* the root object was opened */
    uint32_t cur_msg;       /* the message being parsed, RV_REQ_NONE outside one */
    frame *top;             /* the innermost open frame (the last of sc->frames), NULL outside the root */
    rv_span max_tokens, max_completion_tokens;
    rv_span max_tokens_null, max_completion_tokens_null;    /* given as null */
    int64_t max_tokens_v, max_completion_tokens_v;
} parser;

/* ---------------------------------------------------------------- errors */

/* Line and column (1-based, in bytes) of offset 'off'. */
static void position(const char *b, uint32_t off, int *line, int *col)
{
    int ln = 1;
    uint32_t bol = 0;
    for (const char *p = b, *e = b + off; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) {
        ln++;
        bol = (uint32_t)(p - b) + 1;
    }
    *line = ln;
    *col = (int)(off - bol) + 1;
}

/* Fail the parse with a message, placed at 'off' (RV_REQ_NONE: nowhere);
   returns 0, which stops yajl when a callback returns it. */
static int bad(parser *P, uint32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(parser *P, uint32_t off, const char *fmt, ...)
{
    if (P->failed)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err->msg, sizeof P->err->msg, fmt, ap);
    va_end(ap);
    if (off != RV_REQ_NONE && off <= P->len)
        position(P->body, off, &P->err->line, &P->err->column);
    P->failed = 1;
    return 0;
}

/* The refusal of a request past its memory limit, into msg[0..cap). */
static void over_limit(char *msg, size_t cap, const rv_reqlimits *lim)
{
    if (lim->max_mem)
        snprintf(msg, cap, "the request is too complex: its parsed form would take more than %zu bytes", lim->max_mem);
    else
        snprintf(msg, cap, "the request is too complex: its parsed form would take more than %d times its size",
                 RV_REQ_MEM_FACTOR);
}

/* Out of memory, or over the request's memory limit. */
static int no_memory(parser *P)
{
    if (P->r->mem_bytes > P->r->mem_limit || P->sc->bytes > P->sc->limit) {
        char msg[sizeof P->err->msg];
        over_limit(msg, sizeof msg, P->lim);
        return bad(P, RV_REQ_NONE, "%s", msg);
    }
    if (!P->failed)
        P->err->nomem = 1;
    return bad(P, RV_REQ_NONE, "out of memory");
}

/* ---------------------------------------------------------------- strings */

static uint32_t consumed(parser *P)
{
    return P->h ? (uint32_t)yajl_get_bytes_consumed(P->h) : (uint32_t)jf_consumed(&P->jf);
}

/* The escapes of the string token at [q, end): no \u0000, no unpaired
   surrogate.  (The reader, jsonfast or yajl, has checked their syntax.) */
static int check_escapes(parser *P, uint32_t q, uint32_t end)
{
    const char *b = P->body;
    uint32_t last = end - 1;    /* the closing quote */
    for (uint32_t i = q + 1; i < last; i++) {
        if (b[i] != '\\')
            continue;
        if (b[i + 1] != 'u') {
            i++;
            continue;
        }
        int cp = js_hex4(b + i + 2);
        if (cp == 0)
            return bad(P, i, "invalid JSON: a string holds NUL (\\u0000)");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return bad(P, i, "invalid JSON: unpaired surrogate \\u%04X", (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int lo = i + 11 < last && b[i + 6] == '\\' && b[i + 7] == 'u' ? js_hex4(b + i + 8) : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return bad(P, i, "invalid JSON: unpaired surrogate \\u%04X", (unsigned)cp);
            i += 6;
        }
        i += 5;
    }
    return 1;
}

/* The decoded view and the token span of the string yajl just handed
   over ('s', 'n'): a view of the body when it has no escape, else its
   escapes checked and its decoded bytes in the request's memory (where
   jsonfast decoded them, or copied from yajl's buffer). */
static __attribute__((noinline)) int string_decoded(parser *P, const unsigned char *s, size_t n, rv_sv *v,
                                                     rv_span *raw);

static inline __attribute__((always_inline)) int string_of(parser *P, const unsigned char *s, size_t n, rv_sv *v,
                                                           rv_span *raw)
{
    const char *b = P->body, *p = (const char *)s;
    if (p >= b && p + n <= b + P->len) {
        /* yajl passes a view of the text only for a string without
           escapes: its token is the bytes and two quotes */
        v->s = p;
        v->len = (uint32_t)n;
        raw->off = (uint32_t)(p - b) - 1;
        raw->len = (uint32_t)n + 2;
        return 1;
    }
    return string_decoded(P, s, n, v, raw);
}

/* string_of for a string the reader decoded (it had escapes). */
static int string_decoded(parser *P, const unsigned char *s, size_t n, rv_sv *v, rv_span *raw)
{
    const char *b = P->body;
    uint32_t end = consumed(P);     /* just past the closing quote */
    /* the opening quote: the nearest '"' before the closing one that is
       not escaped (preceded by an even number of backslashes) */
    uint32_t q = end - 1;
    for (;;) {
        q--;
        if (b[q] != '"')
            continue;
        uint32_t k = q;
        while (k > 0 && b[k - 1] == '\\')
            k--;
        if (((q - k) & 1) == 0)
            break;
    }
    raw->off = q;
    raw->len = end - q;
    if (!check_escapes(P, q, end))
        return 0;
    const char *d = (const char *)s;
    if (d != P->room) {     /* yajl's decode buffer, which it reuses */
        char *c = req_mem(P->r, n);
        if (!c)
            return no_memory(P);
        memcpy(c, s, n);
        d = c;
    }
    P->room = NULL;
    v->s = d;
    v->len = (uint32_t)n;
    return 1;
}

/* jsonfast's room (vm/jsonfast.h): the request's memory for the string
   it decodes next, which string_decoded keeps where it is; NULL, the
   parse failed, past the memory limit or out of memory. */
static char *jf_room(void *ctx, size_t n)
{
    parser *P = ctx;
    char *d = req_mem(P->r, n);
    if (!d) {
        no_memory(P);
        return NULL;
    }
    P->room = d;
    return d;
}

/* ---------------------------------------------------------------- keys */

static uint32_t fnv1a(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The known keys by their first byte and length (filled once, then only
   read): a key is compared with the one or two names that can match, a
   word or two at a time -- its first 8 bytes (req_head8), for a name
   longer than 8 its last 8, and only past 16 the bytes between. */
#define FIELD_BUCKETS 256
static uint8_t field_bucket[FIELD_BUCKETS][4];
static uint64_t field_head[F__COUNT], field_tail[F__COUNT];
static pthread_once_t field_once = PTHREAD_ONCE_INIT;

static unsigned bucket_of(const char *s, uint32_t n)
{
    return ((unsigned char)s[0] * 7u + n) % FIELD_BUCKETS;
}

static void field_init(void)
{
    for (int f = 1; f < F__COUNT; f++) {
        const char *s = field_names[f].s;
        uint32_t n = field_names[f].len;
        uint8_t *b = field_bucket[bucket_of(s, n)];
        int i = 0;
        while (i < 3 && b[i])
            i++;
        b[i] = (uint8_t)f;      /* (three at most share a bucket; request_test reads them all) */
        field_head[f] = req_head8(s, n);
        field_tail[f] = n > 8 ? js_load8(s + n - 8) : 0;
    }
}

/* The field of key s[0..n), whose req_head8 is 'head'. */
static field field_of(const char *s, uint32_t n, uint64_t head)
{
    if (!n)
        return F_OTHER;
    const uint8_t *b = field_bucket[bucket_of(s, n)];
    for (int i = 0; i < 4 && b[i]; i++) {
        unsigned f = b[i];
        if (field_names[f].len != n || field_head[f] != head)
            continue;
        if (n <= 8 || (field_tail[f] == js_load8(s + n - 8) && (n <= 16 || !memcmp(field_names[f].s + 8, s + 8, n - 16))))
            return (field)f;
    }
    return F_OTHER;
}

/* A key of an open object: its decoded text, where its token starts,
   and its first 8 bytes (req_head8) -- replaced by its hash when a large
   object closes.  (24 bytes: the key stack is part of the scratch a
   parse may take.) */
typedef struct { const char *s; uint32_t len, off; uint64_t head; } keyref;

/* One of 32 bits for a key, from its first 8 bytes and its length. */
static inline uint32_t key_bit(const keyref *k)
{
    return 1u << (((k->head ^ k->len) * 0x9e3779b97f4a7c15ull) >> 59);
}

static inline int key_same(const keyref *a, const keyref *b)
{
    return a->head == b->head && a->len == b->len && (a->len <= 8 || !memcmp(a->s + 8, b->s + 8, a->len - 8));
}

/* By hash (in 'head'), length, bytes and place. */
static int key_cmp(const void *x, const void *y)
{
    const keyref *a = x, *b = y;
    if (a->head != b->head)
        return a->head < b->head ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(a->s, b->s, a->len);
    return c ? c : (a->off > b->off) - (a->off < b->off);
}

static int duplicate(parser *P, const keyref *k)
{
    return bad(P, k->off, "invalid JSON: duplicate key \"%.*s\" in an object", k->len > 64 ? 64 : (int)k->len, k->s);
}

/* Small objects check each new key against the earlier ones; a larger one
   is sorted when it closes (by hash, length and bytes: of several
   repeated keys, the one reported is the first in that order). */
#define PAIRWISE_KEYS 16

static int object_keys_done(parser *P, frame *f)
{
    vec *ks = &P->sc->keys;
    uint32_t n = ks->n - f->key0;
    if (n > PAIRWISE_KEYS) {
        keyref *k = AT(ks, keyref, f->key0);
        for (uint32_t i = 0; i < n; i++)
            k[i].head = fnv1a(k[i].s, k[i].len);
        qsort(k, n, sizeof *k, key_cmp);
        for (uint32_t i = 1; i < n; i++)
            if (k[i - 1].head == k[i].head && k[i - 1].len == k[i].len && !memcmp(k[i - 1].s, k[i].s, k[i].len))
                return duplicate(P, &k[i]);
    }
    ks->n = f->key0;
    return 1;
}

/* ---------------------------------------------------------------- values */

enum { V_STRING, V_NUMBER, V_BOOL, V_NULL, V_OBJECT, V_ARRAY };

static const char *const vnames[] = { "a string", "a number", "a bool", "null", "an object", "an array" };

static frame *top(parser *P)
{
    return P->top;
}

/* One more stop sequence. */
static int stop_string(parser *P, rv_sv str, rv_span sp)
{
    scratch *sc = P->sc;
    if (sc->stops.n >= RV_REQ_MAX_STOP)
        return bad(P, sp.off, "too many stop sequences (the limit is %d)", RV_REQ_MAX_STOP);
    uint32_t i = vec_push(sc, &sc->stops, sizeof(rv_sv));
    if (i == RV_REQ_NONE)
        return no_memory(P);
    *AT(&sc->stops, rv_sv, i) = str;
    return 1;
}

static uint32_t new_slot(parser *P, rv_slotkind kind, rv_sv text, rv_span raw)
{
    uint32_t i = vec_push(P->sc, &P->sc->slots, sizeof(rv_slot));
    if (i == RV_REQ_NONE || vec_push(P->sc, &P->sc->stexts, sizeof(rv_sv)) == RV_REQ_NONE) {
        no_memory(P);
        return RV_REQ_NONE;
    }
    *AT(&P->sc->stexts, rv_sv, i) = text;
    rv_slot *s = AT(&P->sc->slots, rv_slot, i);
    s->raw = raw;
    s->msg = kind == RV_SLOT_TOOL_DESC ? RV_REQ_NONE : P->cur_msg;
    s->kind = (uint8_t)kind;
    s->role = RV_ROLE_SYSTEM;
    return i;
}

static pmsg *cur_msg(parser *P) { return AT(&P->sc->msgs, pmsg, P->cur_msg); }

/* An integer literal within [lo, hi] (no fraction, no exponent): the
   value strtoll reads from a JSON number -- its digits, which must not
   overflow 64 bits -- without the call and the copy. */
static int int_literal(const char *s, uint32_t n, int64_t lo, int64_t hi, int64_t *out)
{
    uint32_t k = n && s[0] == '-';
    if (k == n || n > 24)
        return 0;
    uint64_t acc = 0;
    for (; k < n; k++) {
        unsigned d = (unsigned char)s[k] - '0';
        if (d > 9 || acc > (UINT64_MAX - d) / 10)
            return 0;       /* a fraction, an exponent, or out of range */
        acc = acc * 10 + d;
    }
    int64_t v;
    if (s[0] == '-') {
        if (acc > (uint64_t)INT64_MAX + 1)
            return 0;
        v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    } else {
        if (acc > (uint64_t)INT64_MAX)
            return 0;
        v = (int64_t)acc;
    }
    if (v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* A JSON number without an exponent and with at most 15 digits in all
   (so its digits are an integer below 2^53) and 22 after the point (so
   the power of ten is a double exactly): digits / 10^fraction, one
   correctly rounded division, is the double nearest the number -- what
   strtod gives (Clinger's fast path).  0 when it is not such a number. */
static int short_decimal(const char *s, uint32_t n, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    uint32_t k = n && s[0] == '-', digits = 0, frac = 0, point = 0;
    uint64_t m = 0;
    for (; k < n; k++) {
        unsigned d = (unsigned char)s[k] - '0';
        if (d <= 9) {
            m = m * 10 + d;
            frac += point;
            if (++digits > 15)
                return 0;
        } else if (s[k] == '.' && !point) {
            point = 1;
        } else {
            return 0;       /* an exponent */
        }
    }
    if (!digits || frac >= sizeof pow10 / sizeof *pow10)
        return 0;
    double d = (double)m / pow10[frac];
    *out = s[0] == '-' ? -d : d;
    return 1;
#else
    (void)s, (void)n, (void)out, (void)pow10;
    return 0;
#endif
}

/* A finite number; -0 is 0. */
static int finite_number(const char *s, uint32_t n, double *out)
{
    char buf[64];
    double d;
    if (short_decimal(s, n, &d)) {
        *out = d == 0 ? 0 : d;
        return 1;
    }
    if (n >= sizeof buf) {
        /* a long literal: digits past the 17th do not change a double,
           but its exponent must be read; strtod reads it from the body */
        char *end;
        d = strtod(s, &end);
        if (!isfinite(d))
            return 0;
        *out = d == 0 ? 0 : d;
        return 1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    d = strtod(buf, NULL);
    if (!isfinite(d))
        return 0;
    *out = d == 0 ? 0 : d;
    return 1;
}

/* A scalar's text as written (numbers and bools in metadata). */
static rv_sv raw_text(parser *P, rv_span sp)
{
    rv_sv v = { P->body + sp.off, sp.len };
    return v;
}

static int meta_value(parser *P, frame *f, int kind, rv_sv str, rv_span sp)
{
    if (kind == V_NULL)
        return 1;
    if (kind == V_OBJECT || kind == V_ARRAY)
        return bad(P, sp.off, "metadata values must be strings, numbers or bools");
    if (P->sc->meta.n >= RV_REQ_MAX_META)
        return bad(P, sp.off, "too many metadata entries (the limit is %d)", RV_REQ_MAX_META);
    uint32_t i = vec_push(P->sc, &P->sc->meta, sizeof(rv_meta));
    if (i == RV_REQ_NONE)
        return no_memory(P);
    rv_meta *m = AT(&P->sc->meta, rv_meta, i);
    m->key = key_of(f);
    m->val = kind == V_STRING ? str : raw_text(P, sp);
    return 1;
}

/* The root's field 'fd' has a scalar value (containers: see open_child). */
static __attribute__((noinline)) int root_scalar(parser *P, field fd, int kind, rv_sv str, rv_span sp)
{
    rv_request *r = P->r;
    rv_reqparams *pr = &r->params;
    const char *name = field_names[fd].s;
    if (kind == V_NULL && fd != F_OTHER) {
        /* null is "not given"; where a provider may put a value, it
           replaces the null (rather than add a second key) */
        if (fd == F_MODEL)
            r->model_span = sp;
        else if (fd == F_MAX_TOKENS)
            P->max_tokens_null = sp;
        else if (fd == F_MAX_COMPLETION_TOKENS)
            P->max_completion_tokens_null = sp;
        else if (fd == F_STREAM_OPTIONS)
            pr->stream_options = sp;
        return 1;
    }
    switch (fd) {
    case F_MODEL:
        if (kind != V_STRING)
            return bad(P, sp.off, "\"model\" must be a string");
        r->model = str;
        r->model_span = sp;
        return 1;
    case F_USER:
        if (kind != V_STRING)
            return bad(P, sp.off, "\"user\" must be a string");
        r->user = str;
        pr->user = sp;
        return 1;
    case F_STREAM:
        if (kind != V_BOOL)
            return bad(P, sp.off, "\"stream\" must be true or false");
        r->stream = P->body[sp.off] == 't';
        pr->stream = sp;
        return 1;
    case F_MAX_TOKENS:
    case F_MAX_COMPLETION_TOKENS: {
        int64_t v;
        if (kind != V_NUMBER || !int_literal(P->body + sp.off, sp.len, 1, MAX_SAFE_INT, &v))
            return bad(P, sp.off, "\"%s\" must be a positive integer (at most 2^53-1)", name);
        if (fd == F_MAX_TOKENS) {
            P->max_tokens = sp;
            P->max_tokens_v = v;
        } else {
            P->max_completion_tokens = sp;
            P->max_completion_tokens_v = v;
        }
        return 1;
    }
    case F_TEMPERATURE:
    case F_TOP_P:
    case F_FREQUENCY_PENALTY:
    case F_PRESENCE_PENALTY: {
        double d;
        if (kind != V_NUMBER || !finite_number(P->body + sp.off, sp.len, &d))
            return bad(P, sp.off, "\"%s\" must be a finite number", name);
        rv_span *s = fd == F_TEMPERATURE ? &pr->temperature : fd == F_TOP_P ? &pr->top_p
                   : fd == F_FREQUENCY_PENALTY ? &pr->frequency_penalty : &pr->presence_penalty;
        double *dv = fd == F_TEMPERATURE ? &pr->temperature_v : fd == F_TOP_P ? &pr->top_p_v
                   : fd == F_FREQUENCY_PENALTY ? &pr->frequency_penalty_v : &pr->presence_penalty_v;
        *s = sp;
        *dv = d;
        return 1;
    }
    case F_N:
        if (kind != V_NUMBER || !int_literal(P->body + sp.off, sp.len, 1, MAX_SAFE_INT, &pr->n_v))
            return bad(P, sp.off, "\"n\" must be a positive integer (at most 2^53-1)");
        pr->n = sp;
        return 1;
    case F_TOP_LOGPROBS:
        if (kind != V_NUMBER || !int_literal(P->body + sp.off, sp.len, 0, MAX_SAFE_INT, &pr->top_logprobs_v))
            return bad(P, sp.off, "\"top_logprobs\" must be a non-negative integer (at most 2^53-1)");
        pr->top_logprobs = sp;
        return 1;
    case F_SEED:
        if (kind != V_NUMBER || !int_literal(P->body + sp.off, sp.len, INT64_MIN, INT64_MAX, &pr->seed_v))
            return bad(P, sp.off, "\"seed\" must be an integer within 64 bits");
        pr->seed = sp;
        return 1;
    case F_LOGPROBS:
    case F_PARALLEL_TOOL_CALLS:
        if (kind != V_BOOL)
            return bad(P, sp.off, "\"%s\" must be true or false", name);
        if (fd == F_LOGPROBS) {
            pr->logprobs = sp;
            pr->logprobs_v = P->body[sp.off] == 't';
        } else {
            pr->parallel_tool_calls = sp;
            pr->parallel_tool_calls_v = P->body[sp.off] == 't';
        }
        return 1;
    case F_STOP: {
        if (kind != V_STRING)
            return bad(P, sp.off, "\"stop\" must be a string or an array of strings");
        pr->stop = sp;
        return stop_string(P, str, sp);
    }
    case F_TOOL_CHOICE:
        if (kind != V_STRING)
            return bad(P, sp.off, "\"tool_choice\" must be a string or an object");
        pr->tool_choice = sp;
        pr->tool_choice_mode = str;
        return 1;
    case F_FUNCTION_CALL:
        if (kind != V_STRING)
            return bad(P, sp.off, "\"function_call\" must be a string or an object");
        pr->function_call = sp;
        return 1;
    case F_MESSAGES:
        return bad(P, sp.off, "\"messages\" must be an array");
    case F_METADATA:
        return bad(P, sp.off, "\"metadata\" must be an object");
    case F_STREAM_OPTIONS:
        return bad(P, sp.off, "\"stream_options\" must be an object");
    case F_TOOLS:
    case F_FUNCTIONS:
        return bad(P, sp.off, "\"%s\" must be an array", name);
    case F_RESPONSE_FORMAT:
        return bad(P, sp.off, "\"response_format\" must be an object");
    default: {
        uint32_t i = vec_push(P->sc, &P->sc->extra, sizeof(rv_field));
        if (i == RV_REQ_NONE)
            return no_memory(P);
        rv_field *x = AT(&P->sc->extra, rv_field, i);
        x->key = key_of(top(P));
        x->val = sp;
        return 1;
    }
    }
}

static int role_of(rv_sv s, uint8_t *role, uint8_t *wrole)
{
    static const struct { const char *s; uint8_t len, role, wrole; } roles[] = {
        { "system", 6, RV_ROLE_SYSTEM, RV_WROLE_SYSTEM },          { "developer", 9, RV_ROLE_SYSTEM, RV_WROLE_DEVELOPER },
        { "user", 4, RV_ROLE_USER, RV_WROLE_USER },                { "assistant", 9, RV_ROLE_ASSISTANT, RV_WROLE_ASSISTANT },
        { "tool", 4, RV_ROLE_TOOL, RV_WROLE_TOOL },                { "function", 8, RV_ROLE_TOOL, RV_WROLE_FUNCTION },
    };
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (roles[i].len == s.len && !memcmp(roles[i].s, s.s, s.len)) {
            *role = roles[i].role;
            *wrole = roles[i].wrole;
            return 1;
        }
    return 0;
}

/* A string field of a record, or a type error. */
static int want_string(parser *P, int kind, rv_span sp, const char *what)
{
    if (kind == V_STRING || kind == V_NULL)
        return 1;
    return bad(P, sp.off, "%s must be a string, not %s", what, vnames[kind]);
}

/* A scalar value inside frame 'f' (the root excepted). */
static __attribute__((noinline)) int scalar_in(parser *P, frame *f, int kind, rv_sv str, rv_span sp)
{
    scratch *sc = P->sc;
    switch (f->ctx) {
    case C_SKIP:
        return 1;
    case C_META:
        return meta_value(P, f, kind, str, sp);
    case C_MESSAGES:
        return bad(P, sp.off, "each message must be an object");
    case C_PARTS:
        return bad(P, sp.off, "each content part must be an object with a \"type\"");
    case C_TCALLS:
        return bad(P, sp.off, "each tool call must be an object");
    case C_TOOLS:
        return bad(P, sp.off, "each tool must be an object");
    case C_FUNCS:
        return bad(P, sp.off, "each function must be an object");
    case C_STOP: {
        if (kind != V_STRING)
            return bad(P, sp.off, "\"stop\" must be a string or an array of strings");
        return stop_string(P, str, sp);
    }
    case C_MSG: {
        pmsg *m = cur_msg(P);
        switch (f->field) {
        case F_ROLE:
            if (kind != V_STRING)
                return bad(P, sp.off, "each message needs a string \"role\"");
            if (!role_of(str, &m->m.role, &m->m.wrole))
                return bad(P, sp.off, "unknown message role \"%.*s\" (system, developer, user, assistant, tool, function)",
                           str.len > 32 ? 32 : (int)str.len, str.s);
            m->has_role = 1;
            return 1;
        case F_CONTENT:
            if (kind == V_NULL) {
                m->m.content = RV_CONTENT_NULL;
                return 1;
            }
            if (kind != V_STRING)
                return bad(P, sp.off, "content must be a string, null or an array of parts");
            m->m.content = RV_CONTENT_STRING;
            m->content_slot = new_slot(P, RV_SLOT_CONTENT, str, sp);
            return m->content_slot != RV_REQ_NONE;
        case F_NAME:
        case F_REFUSAL:
            if (!want_string(P, kind, sp, f->field == F_NAME ? "a message's \"name\"" : "\"refusal\""))
                return 0;
            return kind == V_NULL || new_slot(P, f->field == F_NAME ? RV_SLOT_NAME : RV_SLOT_REFUSAL, str, sp) != RV_REQ_NONE;
        case F_TOOL_CALL_ID:
            if (!want_string(P, kind, sp, "\"tool_call_id\""))
                return 0;
            if (kind == V_STRING)
                m->m.tool_call_id = str;
            return 1;
        case F_TOOL_CALLS:
            if (kind == V_NULL)
                return 1;
            return bad(P, sp.off, "\"tool_calls\" must be an array");
        case F_FUNCTION_CALL:
            if (kind == V_NULL)
                return 1;
            return bad(P, sp.off, "a message's \"function_call\" must be an object");
        default:
            return 1;
        }
    }
    case C_PART: {
        rv_part *pt = AT(&sc->parts, rv_part, f->idx);
        switch (f->field) {
        case F_TYPE:
            if (kind != V_STRING)
                return bad(P, sp.off, "a content part's \"type\" must be a string");
            pt->type = str;
            return 1;
        case F_TEXT:
        case F_REFUSAL:
            if (kind == V_STRING) {
                uint32_t s = new_slot(P, f->field == F_TEXT ? RV_SLOT_PART : RV_SLOT_REFUSAL, str, sp);
                if (s == RV_REQ_NONE)
                    return 0;
                if (pt->slot == RV_REQ_NONE)
                    pt->slot = s;
            }
            return 1;
        case F_IMAGE_URL:
            if (kind == V_STRING)
                pt->a = str;
            return 1;
        default:
            return 1;
        }
    }
    case C_IMAGE_URL:
    case C_AUDIO:
    case C_FILE: {
        rv_part *pt = AT(&sc->parts, rv_part, f->idx);
        if (kind != V_STRING)
            return 1;
        if (f->field == F_URL || f->field == F_DATA || f->field == F_FILE_ID)
            pt->a = str;
        else if (f->field == F_DETAIL || f->field == F_FORMAT || f->field == F_FILE_DATA)
            pt->b = str;
        return 1;
    }
    case C_TCALL: {
        rv_reqcall *c = AT(&sc->calls, rv_reqcall, f->idx);
        if (f->field == F_ID || f->field == F_TYPE) {
            if (!want_string(P, kind, sp, f->field == F_ID ? "a tool call's \"id\"" : "a tool call's \"type\""))
                return 0;
            if (kind == V_STRING)
                *(f->field == F_ID ? &c->id : &c->type) = str;
        } else if (f->field == F_FUNCTION && kind != V_NULL) {
            return bad(P, sp.off, "a tool call's \"function\" must be an object");
        }
        return 1;
    }
    case C_TCALL_FN:
    case C_FCALL:
        if (f->field == F_NAME) {
            if (!want_string(P, kind, sp, "a function's \"name\""))
                return 0;
            if (kind == V_STRING) {
                if (f->ctx == C_TCALL_FN)
                    AT(&sc->calls, rv_reqcall, f->idx)->name = str;
                else
                    cur_msg(P)->m.fc_name = str;
            }
        } else if (f->field == F_ARGUMENTS) {
            if (!want_string(P, kind, sp, "a function's \"arguments\""))
                return 0;
            if (kind == V_STRING) {
                uint32_t s = new_slot(P, f->ctx == C_TCALL_FN ? RV_SLOT_TOOL_ARGS : RV_SLOT_FUNC_ARGS, str, sp);
                if (s == RV_REQ_NONE)
                    return 0;
                if (f->ctx == C_TCALL_FN)
                    AT(&sc->calls, rv_reqcall, f->idx)->args = s;
            }
        }
        return 1;
    case C_TOOL:
    case C_TOOL_FN:
    case C_FUNC: {
        rv_tooldef *t = AT(&sc->tools, rv_tooldef, f->idx);
        switch (f->field) {
        case F_TYPE:
            if (f->ctx == C_TOOL && kind == V_STRING)
                t->type = str;
            return 1;
        case F_NAME:
            if (!want_string(P, kind, sp, "a tool's \"name\""))
                return 0;
            if (kind == V_STRING)
                t->name = str;
            return 1;
        case F_DESCRIPTION:
            if (!want_string(P, kind, sp, "a tool's \"description\""))
                return 0;
            if (kind == V_STRING && (t->desc = new_slot(P, RV_SLOT_TOOL_DESC, str, sp)) == RV_REQ_NONE)
                return 0;
            return 1;
        case F_PARAMETERS:
            t->parameters = sp;
            return 1;
        case F_STRICT:
            t->strict = sp;
            return 1;
        case F_FUNCTION:
            if (f->ctx == C_TOOL && kind != V_NULL)
                return bad(P, sp.off, "a tool's \"function\" must be an object");
            return 1;
        default:
            return 1;
        }
    }
    case C_STREAMOPT:
        if (f->field == F_INCLUDE_USAGE) {
            if (kind != V_BOOL)
                return bad(P, sp.off, "\"include_usage\" must be true or false");
            P->r->params.include_usage = sp;
            P->r->params.include_usage_v = P->body[sp.off] == 't';
        }
        return 1;
    case C_TCHOICE:
        if (f->field == F_TYPE && kind == V_STRING)
            P->r->params.tool_choice_mode = str;
        return 1;
    case C_TCHOICE_FN:
        if (f->field == F_NAME && kind == V_STRING)
            P->r->params.tool_choice_name = str;
        return 1;
    case C_RESPFMT:
        if (f->field == F_TYPE && kind == V_STRING)
            P->r->params.response_format_type = str;
        else if (f->field == F_JSON_SCHEMA)
            P->r->params.response_format_schema = sp;
        return 1;
    default:
        return 1;
    }
}

/* A scalar value: check and record it where its frame says. */
static inline __attribute__((always_inline)) int scalar(parser *P, int kind, rv_sv str, rv_span sp)
{
    frame *f = top(P);
    if (!f)
        return bad(P, sp.off, "the request must be a JSON object");
    if (f->ctx == C_ROOT)
        return root_scalar(P, (field)f->field, kind, str, sp);
    return scalar_in(P, f, kind, str, sp);
}

/* What an object or array opened as the value of field 'fd' of frame 'f'
   is; C_SKIP when it is only kept as a span; -1 (with the error set) when
   it is of the wrong type. */
static int child_of(parser *P, frame *f, int kind, uint32_t off)
{
    int obj = kind == V_OBJECT;
    field fd = (field)f->field;
    switch (f->ctx) {
    case C_SKIP:
        return C_SKIP;
    case C_ROOT:
        switch (fd) {
        case F_MESSAGES: return obj ? (bad(P, off, "\"messages\" must be an array"), -1) : C_MESSAGES;
        case F_METADATA: return obj ? C_META : (bad(P, off, "\"metadata\" must be an object"), -1);
        case F_STREAM_OPTIONS: return obj ? C_STREAMOPT : (bad(P, off, "\"stream_options\" must be an object"), -1);
        case F_TOOLS: return obj ? (bad(P, off, "\"tools\" must be an array"), -1) : C_TOOLS;
        case F_FUNCTIONS: return obj ? (bad(P, off, "\"functions\" must be an array"), -1) : C_FUNCS;
        case F_STOP: return obj ? (bad(P, off, "\"stop\" must be a string or an array of strings"), -1) : C_STOP;
        case F_TOOL_CHOICE: return obj ? C_TCHOICE : (bad(P, off, "\"tool_choice\" must be a string or an object"), -1);
        case F_RESPONSE_FORMAT: return obj ? C_RESPFMT : (bad(P, off, "\"response_format\" must be an object"), -1);
        case F_FUNCTION_CALL: return C_SKIP;
        case F_OTHER: return C_SKIP;
        default: {
            rv_sv none = { "", 0 };
            rv_span sp = { off, 1 };
            root_scalar(P, fd, kind, none, sp);     /* a scalar-only field: its type error */
            if (!P->failed)
                bad(P, off, "\"%s\" must not be %s", field_names[fd].s, vnames[kind]);
            return -1;
        }
        }
    case C_MESSAGES: return obj ? C_MSG : (bad(P, off, "each message must be an object"), -1);
    case C_MSG:
        switch (fd) {
        case F_CONTENT:
            if (obj) {
                bad(P, off, "content must be a string, null or an array of parts");
                return -1;
            }
            return C_PARTS;
        case F_TOOL_CALLS: return obj ? (bad(P, off, "\"tool_calls\" must be an array"), -1) : C_TCALLS;
        case F_FUNCTION_CALL: return obj ? C_FCALL : (bad(P, off, "a message's \"function_call\" must be an object"), -1);
        case F_ROLE: bad(P, off, "each message needs a string \"role\""); return -1;
        case F_NAME: case F_REFUSAL: case F_TOOL_CALL_ID:
            bad(P, off, "\"%s\" must be a string, not %s", field_names[fd].s, vnames[kind]);
            return -1;
        default: return C_SKIP;
        }
    case C_PARTS: return obj ? C_PART : (bad(P, off, "each content part must be an object with a \"type\""), -1);
    case C_PART:
        switch (fd) {
        case F_TYPE: bad(P, off, "a content part's \"type\" must be a string"); return -1;
        case F_IMAGE_URL: return obj ? C_IMAGE_URL : C_SKIP;
        case F_INPUT_AUDIO: return obj ? C_AUDIO : C_SKIP;
        case F_FILE: return obj ? C_FILE : C_SKIP;
        default: return C_SKIP;
        }
    case C_TCALLS: return obj ? C_TCALL : (bad(P, off, "each tool call must be an object"), -1);
    case C_TCALL:
        if (fd == F_FUNCTION)
            return obj ? C_TCALL_FN : (bad(P, off, "a tool call's \"function\" must be an object"), -1);
        if (fd == F_ID || fd == F_TYPE) {
            bad(P, off, "a tool call's \"%s\" must be a string", field_names[fd].s);
            return -1;
        }
        return C_SKIP;
    case C_TCALL_FN:
    case C_FCALL:
        if (fd == F_NAME || fd == F_ARGUMENTS) {
            bad(P, off, "a function's \"%s\" must be a string", field_names[fd].s);
            return -1;
        }
        return C_SKIP;
    case C_TOOLS: return obj ? C_TOOL : (bad(P, off, "each tool must be an object"), -1);
    case C_FUNCS: return obj ? C_FUNC : (bad(P, off, "each function must be an object"), -1);
    case C_TOOL:
    case C_TOOL_FN:
    case C_FUNC:
        if (fd == F_FUNCTION && f->ctx == C_TOOL)
            return obj ? C_TOOL_FN : (bad(P, off, "a tool's \"function\" must be an object"), -1);
        if (fd == F_NAME || fd == F_DESCRIPTION) {
            bad(P, off, "a tool's \"%s\" must be a string", field_names[fd].s);
            return -1;
        }
        return C_SKIP;
    case C_META:
        bad(P, off, "metadata values must be strings, numbers or bools");
        return -1;
    case C_STOP:
        bad(P, off, "\"stop\" must be a string or an array of strings");
        return -1;
    case C_STREAMOPT:
        if (fd == F_INCLUDE_USAGE) {
            bad(P, off, "\"include_usage\" must be true or false");
            return -1;
        }
        return C_SKIP;
    case C_TCHOICE: return fd == F_FUNCTION && obj ? C_TCHOICE_FN : C_SKIP;
    default: return C_SKIP;
    }
}

/* Open an object or array at offset 'off'. */
static int open_value(parser *P, int kind, uint32_t off)
{
    scratch *sc = P->sc;
    frame *f = top(P);
    int child;
    if (!f) {
        if (P->started || kind != V_OBJECT)
            return bad(P, off, "the request must be a JSON object");
        P->started = 1;
        child = C_ROOT;
    } else if ((child = child_of(P, f, kind, off)) < 0) {
        return 0;
    }
    if (sc->frames.n >= RV_REQ_MAX_DEPTH)
        return bad(P, off, "invalid JSON: nesting too deep (the limit is %d)", RV_REQ_MAX_DEPTH);
    uint32_t idx = f ? f->idx : 0;
    switch (child) {
    case C_MSG:
        if (sc->msgs.n >= P->lim->max_messages)
            return bad(P, off, "too many messages (the limit is %u)", P->lim->max_messages);
        if ((idx = vec_push(sc, &sc->msgs, sizeof(pmsg))) == RV_REQ_NONE)
            return no_memory(P);
        P->cur_msg = idx;
        {
            pmsg *m = cur_msg(P);
            m->content_slot = RV_REQ_NONE;
            m->m.part = sc->parts.n;
            m->m.slot = sc->slots.n;
            m->m.call = sc->calls.n;
        }
        break;
    case C_PARTS:
        cur_msg(P)->m.content = RV_CONTENT_PARTS;
        break;
    case C_PART:
        if ((idx = vec_push(sc, &sc->parts, sizeof(rv_part))) == RV_REQ_NONE)
            return no_memory(P);
        AT(&sc->parts, rv_part, idx)->slot = RV_REQ_NONE;
        cur_msg(P)->m.nparts++;
        break;
    case C_TCALL:
        if ((idx = vec_push(sc, &sc->calls, sizeof(rv_reqcall))) == RV_REQ_NONE)
            return no_memory(P);
        AT(&sc->calls, rv_reqcall, idx)->args = RV_REQ_NONE;
        cur_msg(P)->m.ncalls++;
        break;
    case C_TOOL:
    case C_FUNC:
        if (sc->tools.n >= RV_REQ_MAX_TOOLS)
            return bad(P, off, "too many tools (the limit is %d)", RV_REQ_MAX_TOOLS);
        if ((idx = vec_push(sc, &sc->tools, sizeof(rv_tooldef))) == RV_REQ_NONE)
            return no_memory(P);
        AT(&sc->tools, rv_tooldef, idx)->desc = RV_REQ_NONE;
        AT(&sc->tools, rv_tooldef, idx)->legacy = child == C_FUNC;
        break;
    case C_SKIP:
        if (f && f->ctx == C_ROOT && f->field == F_OTHER) {
            if ((idx = vec_push(sc, &sc->extra, sizeof(rv_field))) == RV_REQ_NONE)
                return no_memory(P);
            AT(&sc->extra, rv_field, idx)->key = key_of(f);
        }
        break;
    default:
        break;
    }
    uint32_t fi = vec_add(sc, &sc->frames, sizeof(frame));
    if (fi == RV_REQ_NONE)
        return no_memory(P);
    frame *nf = AT(&sc->frames, frame, fi);
    P->top = nf;
    *nf = (frame){ .ctx = (uint8_t)child, .idx = idx, .start = off, .key0 = sc->keys.n };
    return 1;
}

/* A record's frame closed: check it is complete. */
static int record_done(parser *P, frame *f, rv_span sp)
{
    scratch *sc = P->sc;
    switch (f->ctx) {
    case C_MSG: {
        pmsg *m = cur_msg(P);
        if (!m->has_role)
            return bad(P, f->start, "each message needs a string \"role\"");
        m->m.raw = sp;
        m->m.nslots = sc->slots.n - m->m.slot;
        for (uint32_t i = m->m.slot; i < sc->slots.n; i++)
            AT(&sc->slots, rv_slot, i)->role = m->m.role;
        P->cur_msg = RV_REQ_NONE;
        return 1;
    }
    case C_PART: {
        rv_part *pt = AT(&sc->parts, rv_part, f->idx);
        static const struct { const char *s; uint8_t kind; } kinds[] = {
            { "text", RV_PART_TEXT },         { "input_text", RV_PART_TEXT },  { "output_text", RV_PART_TEXT },
            { "image_url", RV_PART_IMAGE },   { "input_image", RV_PART_IMAGE }, { "image", RV_PART_IMAGE },
            { "input_audio", RV_PART_AUDIO }, { "file", RV_PART_FILE },         { "input_file", RV_PART_FILE },
            { "refusal", RV_PART_REFUSAL },
        };
        if (!pt->type.s)
            return bad(P, f->start, "each content part must be an object with a \"type\"");
        pt->kind = RV_PART_OTHER;
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
            if (strlen(kinds[i].s) == pt->type.len && !memcmp(kinds[i].s, pt->type.s, pt->type.len))
                pt->kind = kinds[i].kind;
        if ((pt->kind == RV_PART_TEXT || pt->kind == RV_PART_REFUSAL) && pt->slot == RV_REQ_NONE)
            return bad(P, f->start, "a %.*s part needs a string \"%s\"", (int)pt->type.len, pt->type.s,
                       pt->kind == RV_PART_TEXT ? "text" : "refusal");
        if (pt->kind == RV_PART_IMAGE)
            cur_msg(P)->m.images++;
        pt->raw = sp;
        return 1;
    }
    case C_TCALL:
        AT(&sc->calls, rv_reqcall, f->idx)->raw = sp;
        return 1;
    case C_TOOL:
    case C_FUNC: {
        rv_tooldef *t = AT(&sc->tools, rv_tooldef, f->idx);
        if (!t->name.s)
            return bad(P, f->start, f->ctx == C_TOOL ? "each tool needs a function name" : "each function needs a name");
        t->raw = sp;
        return 1;
    }
    default:
        return 1;
    }
}

/* Where a closed object or array is kept: its span, by its parent. */
static void span_done(parser *P, frame *parent, frame *f, rv_span sp)
{
    rv_reqparams *pr = &P->r->params;
    if (parent->ctx == C_ROOT) {
        switch (parent->field) {
        case F_MESSAGES: pr->messages = sp; break;
        case F_METADATA: pr->metadata = sp; break;
        case F_STREAM_OPTIONS: pr->stream_options = sp; break;
        case F_TOOLS: pr->tools = sp; break;
        case F_FUNCTIONS: pr->functions = sp; break;
        case F_STOP: pr->stop = sp; break;
        case F_TOOL_CHOICE: pr->tool_choice = sp; break;
        case F_FUNCTION_CALL: pr->function_call = sp; break;
        case F_RESPONSE_FORMAT: pr->response_format = sp; break;
        case F_OTHER: AT(&P->sc->extra, rv_field, f->idx)->val = sp; break;
        default: break;
        }
    } else if (parent->ctx == C_TOOL || parent->ctx == C_TOOL_FN || parent->ctx == C_FUNC) {
        rv_tooldef *t = AT(&P->sc->tools, rv_tooldef, parent->idx);
        if (parent->field == F_PARAMETERS)
            t->parameters = sp;
        else if (parent->field == F_STRICT)
            t->strict = sp;
    } else if (parent->ctx == C_RESPFMT && parent->field == F_JSON_SCHEMA) {
        pr->response_format_schema = sp;
    }
}

static int close_value(parser *P)
{
    scratch *sc = P->sc;
    frame *f = top(P);
    uint32_t end = consumed(P);
    rv_span sp = { f->start, end - f->start };
    if (f->key0 < sc->keys.n && !object_keys_done(P, f))
        return 0;
    if (!record_done(P, f, sp))
        return 0;
    frame fc = *f;
    frame *parent = --sc->frames.n ? AT(&sc->frames, frame, sc->frames.n - 1) : NULL;
    P->top = parent;
    if (parent)
        span_done(P, parent, &fc, sp);
    else
        P->r->root_end = end - 1;
    return 1;
}

/* ---------------------------------------------------------------- yajl callbacks */

static int on_null(void *ctx)
{
    parser *P = ctx;
    rv_span sp = { consumed(P) - 4, 4 };
    rv_sv none = { "", 0 };
    return scalar(P, V_NULL, none, sp);
}

static int on_bool(void *ctx, int b)
{
    parser *P = ctx;
    uint32_t n = b ? 4 : 5;
    rv_span sp = { consumed(P) - n, n };
    rv_sv none = { "", 0 };
    return scalar(P, V_BOOL, none, sp);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    parser *P = ctx;
    if (s < P->body || s + n > P->body + P->len)   /* a number alone at the end of the body */
        return bad(P, 0, "the request must be a JSON object");
    rv_span sp = { (uint32_t)(s - P->body), (uint32_t)n };
    rv_sv none = { "", 0 };
    return scalar(P, V_NUMBER, none, sp);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    parser *P = ctx;
    rv_sv v;
    rv_span sp;
    return string_of(P, s, n, &v, &sp) && scalar(P, V_STRING, v, sp);
}

static int on_key(void *ctx, const unsigned char *s, size_t n)
{
    parser *P = ctx;
    scratch *sc = P->sc;
    rv_sv v;
    rv_span sp;
    if (!string_of(P, s, n, &v, &sp))
        return 0;
    frame *f = top(P);
    uint32_t i = vec_add(sc, &sc->keys, sizeof(keyref));
    if (i == RV_REQ_NONE)
        return no_memory(P);
    keyref *k = AT(&sc->keys, keyref, i);
    k->s = v.s;
    k->len = v.len;
    k->head = req_head8(v.s, v.len);
    k->off = sp.off;
    uint32_t bit = key_bit(k);
    if (i - f->key0 < PAIRWISE_KEYS && (f->kbits & bit))
        for (uint32_t j = f->key0; j < i; j++)
            if (key_same(AT(&sc->keys, keyref, j), k))
                return duplicate(P, k);
    f->kbits |= bit;
    f->key = v.s;
    f->klen = v.len;
    f->field = f->ctx == C_SKIP || f->ctx == C_META ? F_OTHER : (uint8_t)field_of(v.s, v.len, k->head);
    return 1;
}

static int on_start_map(void *ctx) { parser *P = ctx; return open_value(P, V_OBJECT, consumed(P) - 1); }
static int on_start_array(void *ctx) { parser *P = ctx; return open_value(P, V_ARRAY, consumed(P) - 1); }
static int on_end(void *ctx) { return close_value(ctx); }

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_number, on_string, on_start_map, on_key, on_end, on_start_array, on_end,
};

/* ---------------------------------------------------------------- finishing */

/* The next 'bytes' of '*at' (advanced to the next multiple of 8), with
   a copy of 'src' when it is not NULL; NULL when 'bytes' is 0. */
static void *carve(char **at, const void *src, size_t bytes)
{
    if (!bytes)
        return NULL;
    void *d = *at;
    if (src)
        memcpy(d, src, bytes);
    *at += (bytes + 7) & ~(size_t)7;
    return d;
}

/* The request's tables, copied from the scratch in one allocation (the
   bytes of one allocation each, as req_mem rounds them); 0 when out of
   memory. */
static int tables(parser *P)
{
    rv_request *r = P->r;
    scratch *sc = P->sc;
    size_t msgs = (size_t)r->nmsg * sizeof *r->msgs, texts = (size_t)r->nmsg * sizeof *r->texts;
    size_t slots = (size_t)sc->slots.n * sizeof(rv_slot), stexts = (size_t)sc->slots.n * sizeof(rv_sv);
    size_t parts = (size_t)sc->parts.n * sizeof(rv_part), calls = (size_t)sc->calls.n * sizeof(rv_reqcall);
    size_t tools = (size_t)sc->tools.n * sizeof(rv_tooldef), extra = (size_t)sc->extra.n * sizeof(rv_field);
    size_t stops = (size_t)sc->stops.n * sizeof(rv_sv);
    const size_t r8 = 7;
    size_t total = ((msgs + r8) & ~r8) + ((texts + r8) & ~r8) + ((slots + r8) & ~r8) + ((stexts + r8) & ~r8) +
                   ((parts + r8) & ~r8) + ((calls + r8) & ~r8) + ((tools + r8) & ~r8) + ((extra + r8) & ~r8) +
                   ((stops + r8) & ~r8);
    char *at = req_mem(r, total);
    if (!at)
        return 0;
    r->msgs = carve(&at, NULL, msgs);
    r->texts = carve(&at, NULL, texts);
    r->slots = carve(&at, sc->slots.v, slots);
    r->slot_texts = carve(&at, sc->stexts.v, stexts);
    r->parts = carve(&at, sc->parts.v, parts);
    r->calls = carve(&at, sc->calls.v, calls);
    r->tooldefs = carve(&at, sc->tools.v, tools);
    r->extra = carve(&at, sc->extra.v, extra);
    r->params.stop_v = carve(&at, sc->stops.v, stops);
    return 1;
}

/* Join 'n' views with "\n" into the request ('*out' is the one view
   itself when n == 1). */
static int join(parser *P, const rv_sv *const *parts, uint32_t n, rv_sv *out)
{
    if (n == 1) {
        *out = *parts[0];
        return 1;
    }
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += parts[i]->len + (i > 0);
    if (len > UINT32_MAX)
        return bad(P, RV_REQ_NONE, "the request's texts are too long (more than 4 GiB)");
    char *d = req_mem(P->r, len + 1), *p = d;
    if (!d)
        return no_memory(P);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            *p++ = '\n';
        memcpy(p, parts[i]->s, parts[i]->len);
        p += parts[i]->len;
    }
    *p = 0;
    out->s = d;
    out->len = (uint32_t)len;
    return 1;
}

/* A message's routing text: its string content, or its text parts joined. */
static int message_text(parser *P, pmsg *pm, const rv_sv **tmp)
{
    rv_request *r = P->r;
    rv_msg *m = &pm->m;
    static const rv_sv empty = { "", 0 };
    m->text = empty;
    if (m->content == RV_CONTENT_STRING) {
        m->text = r->slot_texts[pm->content_slot];
        return 1;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nparts; i++) {
        const rv_part *pt = &r->parts[m->part + i];
        if (pt->kind == RV_PART_TEXT)
            tmp[n++] = &r->slot_texts[pt->slot];
    }
    return n ? join(P, tmp, n, &m->text) : 1;
}

static int finish(parser *P)
{
    rv_request *r = P->r;
    scratch *sc = P->sc;
    rv_reqparams *pr = &r->params;
    if (!pr->messages.len)
        return bad(P, RV_REQ_NONE, "the request has no \"messages\"");
    if (!sc->msgs.n)
        return bad(P, pr->messages.off, "\"messages\" is empty");
    if (P->max_completion_tokens.len) {
        r->max_tokens = P->max_completion_tokens_v;
        pr->max_tokens = P->max_completion_tokens;
        pr->max_tokens_key.s = "max_completion_tokens";
    } else if (P->max_tokens.len) {
        r->max_tokens = P->max_tokens_v;
        pr->max_tokens = P->max_tokens;
        pr->max_tokens_key.s = "max_tokens";
    } else if (P->max_completion_tokens_null.len || P->max_tokens_null.len) {
        int mct = P->max_completion_tokens_null.len != 0;     /* a null, for a provider to replace */
        pr->max_tokens = mct ? P->max_completion_tokens_null : P->max_tokens_null;
        pr->max_tokens_key.s = mct ? "max_completion_tokens" : "max_tokens";
    }
    pr->max_tokens_key.len = pr->max_tokens_key.s ? (uint32_t)strlen(pr->max_tokens_key.s) : 0;
    r->nmeta = sc->meta.n;     /* (its table goes into the hot region: hot_region()) */
    r->nmsg = sc->msgs.n;
    r->nslot = sc->slots.n;
    r->npart = sc->parts.n;
    r->ncall = sc->calls.n;
    r->ntooldef = sc->tools.n;
    r->nextra = sc->extra.n;
    pr->nstop = sc->stops.n;
    if (!tables(P))
        return no_memory(P);
    /* routing's views: each message's text, input, system, turns, images */
    const rv_sv **tmp = NULL;
    uint32_t maxparts = 0, nsys = 0;
    for (uint32_t i = 0; i < r->nmsg; i++) {
        const pmsg *pm = AT(&sc->msgs, pmsg, i);
        if (pm->m.nparts > maxparts)
            maxparts = pm->m.nparts;
        nsys += pm->m.role == RV_ROLE_SYSTEM;
    }
    size_t ntmp = (maxparts > nsys ? maxparts : nsys) + 1;
    const rv_sv *few[16];
    if (ntmp <= 16)
        tmp = few;
    else if (!(tmp = mem_reallocarray(NULL, ntmp, sizeof *tmp)))    /* freed below */
        return no_memory(P);
    int ok = 1;
    for (uint32_t i = 0; i < r->nmsg && ok; i++) {
        pmsg *pm = AT(&sc->msgs, pmsg, i);
        ok = message_text(P, pm, tmp);
        r->msgs[i] = pm->m;
        r->texts[i] = pm->m.text;
        r->images += pm->m.images;
        if (pm->m.role == RV_ROLE_USER) {
            r->turns++;
            r->input = pm->m.text;
        }
    }
    nsys = 0;
    for (uint32_t i = 0; i < r->nmsg && ok; i++)
        if (r->msgs[i].role == RV_ROLE_SYSTEM)
            tmp[nsys++] = &r->msgs[i].text;
    if (ok && nsys)
        ok = join(P, tmp, nsys, &r->system);
    if (tmp != few)
        free(tmp);
    if (!ok)
        return 0;
    /* the tools' names: tools, then legacy functions */
    if (r->ntooldef) {
        if (!(r->tools = req_mem(r, (size_t)r->ntooldef * sizeof *r->tools)))
            return no_memory(P);
        for (int legacy = 0; legacy < 2; legacy++)
            for (uint32_t i = 0; i < r->ntooldef; i++)
                if (r->tooldefs[i].legacy == legacy)
                    r->tools[r->ntool++] = r->tooldefs[i].name;
    }
    static const rv_sv empty = { "", 0 };
    if (!r->input.s)
        r->input = empty;
    if (!r->system.s)
        r->system = empty;
    if (!r->user.s)
        r->user = empty;
    if (!r->model.s)
        r->model = empty;
    return 1;
}

/* Is 'v' copied into the hot region (short, and not empty)? */
static int hot_copy(rv_sv v)
{
    return v.len > 0 && v.len <= RV_REQ_HOT_STR;
}

/* memcpy for 1 <= n <= 32 bytes, without the call: two overlapping
   copies of the largest power of two not above n. */
static inline void copy_short(char *d, const char *s, uint32_t n)
{
    if (n >= 16) {
        char a[16], b[16];
        memcpy(a, s, 16), memcpy(b, s + n - 16, 16);
        memcpy(d, a, 16), memcpy(d + n - 16, b, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8), memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8), memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4), memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4), memcpy(d + n - 4, &b, 4);
    } else {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* Copy 'v' to '*at' (advanced) when it is short; the view of the copy. */
static rv_sv hot_text(rv_sv v, char **at)
{
    if (!hot_copy(v))
        return v;
    copy_short(*at, v.s, v.len);
    rv_sv c = { *at, v.len };
    *at += v.len;
    return c;
}

/* The parse is complete: lay out the request's hot region -- the
   metadata table, the short keys, values and "user" copied after it, then
   the struct on the next cache line (request.h) -- and move the struct
   there.  The request, or NULL (out of memory) with the error set. */
static rv_request *hot_region(parser *P)
{
    rv_request *t = P->r;
    const vec *mv = &P->sc->meta;
    size_t text = hot_copy(t->user) ? t->user.len : 0;
    for (uint32_t i = 0; i < mv->n; i++) {
        const rv_meta *m = AT(mv, rv_meta, i);
        text += (hot_copy(m->key) ? m->key.len : 0) + (hot_copy(m->val) ? m->val.len : 0);
    }
    size_t table = (size_t)mv->n * sizeof(rv_meta);
    char *head;
    rv_request *r = hot_alloc(t, table + ((text + 7) & ~(size_t)7), &head);
    if (!r) {
        no_memory(P);
        return NULL;
    }
    rv_meta *meta = (rv_meta *)head;
    char *at = head + table;
    for (uint32_t i = 0; i < mv->n; i++) {
        const rv_meta *m = AT(mv, rv_meta, i);
        meta[i].key = hot_text(m->key, &at);
        meta[i].val = hot_text(m->val, &at);
    }
    t->meta = mv->n ? meta : NULL;
    t->user = hot_text(t->user, &at);
    t->scratch_bytes = P->sc->bytes;
    memcpy(r, t, sizeof *r);
    return r;
}

/* ---------------------------------------------------------------- routing dictionaries and views */

/* A dictionary: up to RV_REQ_VIEW_KEYS keys, each with up to
   RV_REQ_VIEW_STRS strings numbered from 1 in the order they were added,
   and, once sealed, one open-addressing table of every (key, string)
   pair, at most half full.  Building is the image loader's (small sets,
   bounded: a string is compared with at most RV_REQ_VIEW_STRS others of
   its key); lookups are the parser's, once per metadata entry of a
   request. */
typedef struct {
    uint64_t head;          /* the string's first 8 bytes, zero-padded */
    const char *s;          /* borrowed */
    uint32_t len;
    uint8_t key, id;        /* id 0: an empty table slot */
} dstr;

struct rv_reqdict {
    struct { rv_sv s; uint64_t head; uint32_t nstr; uint8_t live; } key[RV_REQ_VIEW_KEYS];
    uint32_t nkey;
    dstr *strs;             /* building: every string, in order */
    uint32_t nstrs, cap;
    dstr *tab;              /* sealed: the table, 'mask' + 1 slots */
    uint32_t mask;
    uint64_t stamp;         /* 0 until sealed */
    uint8_t bucket, sealed;
};

static inline uint32_t dict_hash(uint32_t key, uint64_t head, const char *s, uint32_t n)
{
    const uint64_t m = 0x9e3779b97f4a7c15ull;
    uint64_t h = (head ^ ((uint64_t)n << 8 | key)) * m;
    for (uint32_t i = 8; i < n; i += 8) {
        uint64_t w = req_head8(s + i, n - i);    /* the next 8 bytes, zero-padded */
        h = (h ^ w) * m;
        h ^= h >> 29;
    }
    return (uint32_t)(h >> 32);
}

static int same_str(uint64_t ha, const char *a, uint32_t na, uint64_t hb, const char *b, uint32_t nb)
{
    return ha == hb && na == nb && (na <= 8 || !memcmp(a + 8, b + 8, na - 8));
}

rv_reqdict *req_dict_new(void)
{
    return mem_calloc(1, sizeof(rv_reqdict));
}

void req_dict_free(rv_reqdict *d)
{
    if (!d)
        return;
    free(d->strs);
    free(d->tab);
    free(d);
}

int req_dict_key(rv_reqdict *d, const char *key, uint32_t len)
{
    uint64_t h = req_head8(key, len);
    for (uint32_t k = 0; k < d->nkey; k++)
        if (same_str(d->key[k].head, d->key[k].s.s, d->key[k].s.len, h, key, len))
            return (int)k;
    if (d->sealed || d->nkey == RV_REQ_VIEW_KEYS)
        return -1;
    d->key[d->nkey].s = (rv_sv){ key, len };
    d->key[d->nkey].head = h;
    d->key[d->nkey].nstr = 0;
    d->key[d->nkey].live = 1;
    return (int)d->nkey++;
}

/* The slot of string 's' of key 'k' in the sealed table: its entry, or
   the empty slot where it would go. */
static inline const dstr *dict_slot(const rv_reqdict *d, uint32_t k, uint64_t h, const char *s, uint32_t n)
{
    for (uint32_t i = dict_hash(k, h, s, n) & d->mask;; i = (i + 1) & d->mask) {
        const dstr *e = &d->tab[i];
        if (!e->id || (e->key == k && same_str(e->head, e->s, e->len, h, s, n)))
            return e;
    }
}

int req_dict_str(rv_reqdict *d, int k, const char *s, uint32_t len)
{
    if (k < 0 || (uint32_t)k >= d->nkey)
        return -1;
    uint64_t h = req_head8(s, len);
    if (d->sealed) {
        const dstr *e = d->tab ? dict_slot(d, (uint32_t)k, h, s, len) : NULL;
        return e && e->id ? e->id : -1;
    }
    for (uint32_t i = 0; i < d->nstrs; i++)
        if (d->strs[i].key == k && same_str(d->strs[i].head, d->strs[i].s, d->strs[i].len, h, s, len))
            return d->strs[i].id;
    if (d->key[k].nstr == RV_REQ_VIEW_STRS) {
        d->key[k].live = 0;     /* too many to tell apart in a byte: looked up instead */
        return -1;
    }
    if (d->nstrs == d->cap) {
        uint32_t cap = d->cap ? 2 * d->cap : 16;
        dstr *n = mem_reallocarray(d->strs, cap, sizeof *n);
        if (!n)
            return -1;
        d->strs = n;
        d->cap = cap;
    }
    d->strs[d->nstrs] = (dstr){ h, s, len, (uint8_t)k, (uint8_t)++d->key[k].nstr };
    return d->strs[d->nstrs++].id;
}

void req_dict_want_bucket(rv_reqdict *d)
{
    if (!d->sealed)
        d->bucket = 1;
}

/* FNV-1a, 64 bits, over 'n' bytes into 'h'. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ u[i]) * 0x100000001b3ull;
    return h;
}

int req_dict_seal(rv_reqdict *d)
{
    if (d->sealed)
        return d->stamp ? 0 : -1;
    d->sealed = 1;
    uint32_t cap = 16;
    while (cap < 2 * d->nstrs)
        cap *= 2;
    if (!(d->tab = mem_calloc(cap, sizeof *d->tab)))
        return -1;
    d->mask = cap - 1;
    for (uint32_t i = 0; i < d->nstrs; i++) {
        const dstr *e = &d->strs[i];
        *(dstr *)dict_slot(d, e->key, e->head, e->s, e->len) = *e;
    }
    /* the fingerprint: every key, whether it is live, its strings in id
       order, and the bucket flag -- what the ids of a view mean */
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(h, &d->nkey, sizeof d->nkey);
    for (uint32_t k = 0; k < d->nkey; k++) {
        h = fnv(h, &d->key[k].s.len, sizeof d->key[k].s.len);
        h = fnv(h, d->key[k].s.s, d->key[k].s.len);
        h = fnv(h, &d->key[k].live, 1);
    }
    for (uint32_t i = 0; i < d->nstrs; i++) {
        h = fnv(h, &d->strs[i].key, 1);
        h = fnv(h, &d->strs[i].len, sizeof d->strs[i].len);
        h = fnv(h, d->strs[i].s, d->strs[i].len);
    }
    h = fnv(h, &d->bucket, 1);
    d->stamp = h ? h : 1;
    return 0;
}

int req_dict_live(const rv_reqdict *d, int k)
{
    return d && d->stamp && k >= 0 && (uint32_t)k < d->nkey && d->key[k].live;
}

uint32_t req_dict_nstr(const rv_reqdict *d, int k)
{
    return k >= 0 && (uint32_t)k < d->nkey ? d->key[k].nstr : 0;
}

uint64_t req_dict_stamp(const rv_reqdict *d)
{
    return d ? d->stamp : 0;
}

/* The view of 'r' against 'd' (none when 'd' is NULL or not sealed):
   each live key's id from its first entry in the metadata, as req_meta()
   finds it. */
static void view_build(rv_request *r, const rv_reqdict *d)
{
    memset(&r->view, 0, sizeof r->view);
    r->view.input_bytes = r->input.len;
    if (!d || !d->stamp)
        return;
    uint32_t seen = 0, all = d->nkey == 32 ? UINT32_MAX : (1u << d->nkey) - 1;
    for (uint32_t i = 0; i < r->nmeta && seen != all; i++) {
        const rv_sv *key = &r->meta[i].key, *val = &r->meta[i].val;
        uint64_t h = req_head8(key->s, key->len);
        uint32_t k = 0;
        while (k < d->nkey && !same_str(d->key[k].head, d->key[k].s.s, d->key[k].s.len, h, key->s, key->len))
            k++;
        if (k == d->nkey || seen >> k & 1)
            continue;
        seen |= 1u << k;
        if (!d->key[k].live)
            continue;
        const dstr *e = dict_slot(d, k, req_head8(val->s, val->len), val->s, val->len);
        r->view.id[k] = e->id ? e->id : (uint8_t)(d->key[k].nstr + 1);
    }
    if (d->bucket)
        r->view.bucket = (uint8_t)bi_bucket(r->user.s, r->user.len);
    r->view.stamp = d->stamp;
    r->view.dict = d;
}

/* ---------------------------------------------------------------- the public API */

/* yajl over the body; 0 with the error set on failure.  A failed
   allocation inside yajl comes back here through longjmp. */
static int run_yajl(parser *P)
{
    static yajl_alloc_funcs af = { ya_malloc, ya_realloc, ya_free, NULL };
    yajl_alloc_funcs funcs = af;
    jmp_buf jb;
    funcs.ctx = P->sc;
    P->sc->jb = &jb;
    if (setjmp(jb)) {
        P->failed = 0;      /* whatever was said, the cause is memory */
        return no_memory(P);
    }
    yajl_handle h = yajl_alloc(&callbacks, &funcs, P);
    if (!h)
        return no_memory(P);
    P->h = h;
    yajl_config(h, yajl_dont_validate_strings, 1);  /* the body was checked as a whole */
    yajl_status st = yajl_parse(h, (const unsigned char *)P->body, P->len);
    /* yajl_complete_parse() after a closed root and only whitespace would
       find the end of the text and nothing more; it judges anything else
       (a token cut by the end, no root) */
    if (st == yajl_status_ok && !(P->r->root_end && js_blank(P->body + P->r->root_end + 1, P->len - P->r->root_end - 1)))
        st = yajl_complete_parse(h);
    if (st == yajl_status_error && !P->failed) {
        uint32_t at = consumed(P);
        unsigned char *e = yajl_get_error(h, 0, (const unsigned char *)P->body, P->len);
        size_t n = strlen((const char *)e);
        while (n && (e[n - 1] == '\n' || e[n - 1] == ' ' || e[n - 1] == '.'))
            n--;
        bad(P, at, "invalid JSON: %.*s", (int)n, (const char *)e);
    } else if (st != yajl_status_ok && !P->failed) {
        bad(P, consumed(P), "invalid JSON");
    }
    /* yajl's memory is the scratch's: nothing to free here */
    return !P->failed;
}

/* The one-pass reader over the body (vm/jsonfast.h): 1 read, 0 failed
   with the error set, -1 declined (the callbacks so far are a prefix of
   yajl's, none failed: the caller starts over with yajl). */
static int run_fast(parser *P)
{
    P->jf.room = jf_room;
    jf_result st = jf_parse(&P->jf, &callbacks, P, P->body, P->len);
    if (st == JF_DECLINED)
        return -1;
    if (st == JF_STOPPED && !P->failed)
        bad(P, consumed(P), "invalid JSON");
    return !P->failed;
}

/* A request 't' that could not hold its body's copy: freed, NULL with the
   error set.  (Apart from parse(), which every request runs, to keep its
   registers for the rest.) */
static __attribute__((cold, noinline)) rv_request *no_body(rv_request *t, const rv_reqlimits *lim, rv_reqerr *err)
{
    if (t->mem_bytes > t->mem_limit)
        over_limit(err->msg, sizeof err->msg, lim);
    else {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        err->nomem = 1;
    }
    req_free(t);
    return NULL;
}

/* 'fast': read with jsonfast first; a text it declines is parsed again
   from the start with yajl. */
static rv_request *parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err, rv_reqpool *pool,
                         const rv_reqdict *dict, int fast)
{
    rv_reqlimits use = { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES, 0 };
    err->msg[0] = 0;
    err->line = err->column = 0;
    err->nomem = 0;
    if (lim && lim->max_bytes)
        use.max_bytes = lim->max_bytes;
    if (lim && lim->max_messages)
        use.max_messages = lim->max_messages;
    if (lim && lim->max_mem)
        use.max_mem = lim->max_mem;
    lim = &use;
    pthread_once(&field_once, field_init);
    size_t max = lim->max_bytes < UINT32_MAX ? lim->max_bytes : UINT32_MAX - 1;
    if (len > max) {
        snprintf(err->msg, sizeof err->msg, "request too large: %zu bytes (the limit is %zu)", len, max);
        return NULL;
    }
    size_t limit = lim->max_mem ? lim->max_mem : RV_REQ_MEM_FACTOR * len + RV_REQ_MEM_BASE;
    /* parsed into 't'; the struct moves into its hot region at the end */
    rv_request t, *r = NULL;
    char *body = request_init(&t, pool, len + 1024 + 64 + sizeof t, limit) ? req_mem(&t, len + 1) : NULL;
    if (!body)
        return no_body(&t, lim, err);
    memcpy(body, buf, len);
    body[len] = 0;
    t.body = body;
    t.body_len = (uint32_t)len;
    scratch local, *sc = &local;
    if (pool)
        sc = &pool->sc;     /* (empty: reset after the last parse) */
    else
        memset(&local, 0, sizeof local);
    sc->limit = limit;
    parser P = { .r = &t, .sc = sc, .body = body, .len = (uint32_t)len, .lim = lim, .err = err,
                 .cur_msg = RV_REQ_NONE };
    size_t bad_at = js_ascii(body, len) ? len : bi_utf8_invalid(body, len);
    int read;
    if (bad_at < len)
        read = bad(&P, (uint32_t)bad_at, "invalid JSON: invalid UTF-8");
    else
        read = fast ? run_fast(&P) : run_yajl(&P);
    if (read > 0 && finish(&P) && (r = hot_region(&P)))
        view_build(r, dict);
    if (pool)
        scratch_reset(sc);      /* keep one chunk and the tables' room */
    else
        scratch_free(sc);
    if (!r)
        req_free(&t);
    if (read < 0)       /* declined: yajl reads it from the start */
        return parse(buf, len, lim, err, pool, dict, 0);
    return r;
}

rv_request *req_parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err)
{
    return parse(buf, len, lim, err, NULL, NULL, 1);
}

rv_request *req_parse_pooled(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                             rv_reqpool *pool)
{
    return parse(buf, len, lim, err, pool, NULL, 1);
}

rv_request *req_parse_dict(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                           rv_reqpool *pool, const rv_reqdict *dict)
{
    return parse(buf, len, lim, err, pool, dict, 1);
}

void req_view(rv_request *r, const rv_reqdict *dict)
{
    view_build(r, dict);
}

void req_set_meta(rv_request *r, rv_meta *meta, uint32_t n, const rv_reqdict *dict)
{
    r->meta = n ? meta : NULL;
    r->nmeta = n;
    view_build(r, dict);
}

/* Do 'a' and 'b' (n bytes each, 4 <= n <= 16) hold the same bytes?  Two
   overlapping loads a side, no call. */
static inline int short_same(const char *a, const char *b, uint32_t n)
{
    if (n >= 8) {
        uint64_t x, y, u, v;
        memcpy(&x, a, 8), memcpy(&y, b, 8), memcpy(&u, a + n - 8, 8), memcpy(&v, b + n - 8, 8);
        return x == y && u == v;
    }
    uint32_t c, d, e, f;
    memcpy(&c, a, 4), memcpy(&d, b, 4), memcpy(&e, a + n - 4, 4), memcpy(&f, b + n - 4, 4);
    return c == d && e == f;
}

/* req_meta for keys shorter than 4 or longer than 16 bytes. */
static __attribute__((noinline)) const rv_sv *meta_any(const rv_request *r, const char *key, uint32_t keylen)
{
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const rv_sv *k = &r->meta[i].key;
        if (k->len == keylen && !memcmp(k->s, key, keylen))
            return &r->meta[i].val;
    }
    return NULL;
}

const rv_sv *req_meta(const rv_request *r, const char *key, uint32_t keylen)
{
    if (keylen < 4 || keylen > 16)
        return meta_any(r, key, keylen);
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const rv_sv *k = &r->meta[i].key;
        if (k->len == keylen && short_same(k->s, key, keylen))
            return &r->meta[i].val;
    }
    return NULL;
}

const char *req_slotkind_name(rv_slotkind k)
{
    static const char *const names[] = { "content", "part", "refusal", "name", "tool arguments",
                                         "function arguments", "tool description" };
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

const char *req_role_name(rv_role r)
{
    static const char *const names[] = { "system", "user", "assistant", "tool" };
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "?";
}
