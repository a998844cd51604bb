/* The request model: an OpenAI chat-completions request, parsed once into
   what routing reads and what a provider needs to forward it, without a
   second parse.

   The body.  The request owns a copy of the bytes it was parsed from
   ('body', 'body_len'): the caller's buffer is only read during
   req_parse() and may be freed or reused as soon as it returns.  Every
   other view of the request points into that copy or into the request's
   own memory, and lives until req_free().

   Views.  An rv_sv is decoded text: a view straight into the body when the
   JSON string had no escape, else the decoded bytes in the request's
   memory.  Views are NOT NUL-terminated: always use 'len'.  An rv_span is
   a range of the body: the JSON text of a value exactly as the client
   sent it (a string's span includes its quotes; len 0 = absent).

   What is modelled (every other top-level field is kept as a raw span in
   'extra', for pass-through):

     model                   'model' (decoded) and 'model_span'
     messages[]              rv_msg: role (as written and as routing sees
                             it), content (absent, null, a string, or
                             parts), name, tool_calls, tool_call_id,
                             legacy function_call, refusal
       content parts         rv_part: text-like parts (text, input_text,
                             output_text, ... : any part with a string
                             "text"), image_url / input_image / image
                             (url and detail), input_audio (data, format),
                             file, refusal, others as raw spans
       tool_calls[]          rv_reqcall: id, type, function name and
                             arguments
     tools[], functions[]    rv_tooldef: name, description, parameters
                             (raw span), strict; legacy functions flagged
     tool_choice, response_format, temperature, top_p, frequency_penalty,
     presence_penalty, max_tokens / max_completion_tokens, stop, n, seed,
     logprobs, top_logprobs, stream, stream_options, parallel_tool_calls,
     user, metadata          typed in rv_reqparams, each with its raw span

   Text slots.  Every string the provider will receive as text is a slot
   (rv_slot): message content given as a string, the text of every
   text-like content part, refusals, message names, tool-call and legacy
   function-call arguments, and tool descriptions -- with its role,
   message index and kind, its decoded text and the span of its JSON string
   token, so a provider can splice a replacement (a redaction) into the
   original bytes without re-serializing (vm/forward.h).  Input guardrails
   screen every slot (vm/guard.h).  Tool parameter schemas,
   response_format and the fields in 'extra' are JSON structure sent as
   written, not text slots: the guardrails screen their strings in place
   and refuse on a match.

   Parsing is strict and bounded (yajl, a streaming parser: no tree is
   built): a size cap; the body must be valid UTF-8 (no overlong forms, no
   surrogates) and no string may hold NUL (\u0000) or an unpaired
   surrogate escape; nesting deeper than RV_REQ_MAX_DEPTH is refused
   without recursion; no object may repeat a key (so a second "model" or
   "content" cannot smuggle a different value past a check); numbers that
   routing or providers read are checked (below); the number of messages
   is capped.  Every error says what, and where (line and column) when it
   is tied to a place in the body.

   Numbers: max_tokens, max_completion_tokens, n and top_logprobs must be
   integer literals (no fraction or exponent) from 1 (0 for top_logprobs)
   to 2^53-1; seed an integer literal within 64 bits; temperature, top_p
   and the penalties finite numbers (1e999 is refused; -0 is 0).  A number
   anywhere else is kept as written and passed through: a metadata value
   that is a number or a bool is its JSON text as written ("1.50" stays
   "1.50").

   Limits (each an error, never a truncation): RV_REQ_MAX_DEPTH nesting,
   the caller's message count (10,000 by default), RV_REQ_MAX_META metadata
   entries, RV_REQ_MAX_TOOLS tools, RV_REQ_MAX_STOP stop sequences.

   Layout.  What a decision over metadata and the request's scalars
   reads is in one region of the request's memory, apart from the body's
   copy and everything else: the metadata table, copies of the metadata
   keys and values of at most RV_REQ_HOT_STR bytes and of a "user" of at
   most as many, and then, from the next cache line, the struct itself,
   whose first line is the routing view and the scalars rules test, and
   whose second line holds what a decision without a view reads (see
   rv_request; its later lines, what drivers, providers and guardrails
   read, are not read by such a decision).  Longer keys and values stay
   views into the body (or decoded copies, as above).  In a pool the hot
   regions of requests parsed one after another are adjacent.

   The routing view.  A parser given a routing dictionary (rv_reqdict:
   the metadata keys a program's rule plans test and the strings they
   compare each with, built from the program's image when it is loaded,
   vm.h) records in the struct's first line, for each such key, which of
   those strings the request's value is (an id: RV_VIEW_ABSENT when the
   key is missing or null, 1..n for the key's n strings, n + 1 for any
   other value -- compared as req_meta() and the rules compare, on the
   decoded bytes; a number or bool by its text), the bytes of the input
   and, when the program tests it, bucket(user).  A decision by a rule
   plan then reads that line and nothing else of the request.  The view
   belongs to the dictionary it was built with: a reader takes it only
   when its tag (the dictionary's address and fingerprint) is its own
   program's, and otherwise looks keys up as before, so a request parsed
   for another program, or with none, decides the same, only slower.

   Memory: a request holds at most RV_REQ_MEM_FACTOR times its body size
   plus RV_REQ_MEM_BASE bytes, or rv_reqlimits.max_mem (the copy of the
   body and the decoded bytes of every string with escapes included --
   jsonfast decodes them there, yajl into a buffer of its own they are
   copied from: 'mem_bytes'), and parsing allocates at most as much again
   in scratch space (the tables, and yajl's own memory when yajl reads:
   'scratch_bytes'); a request that would need more is refused with one
   error, whichever reader reads it.  (tests/unit/request_test.c parses
   the worst shapes: a 16 MiB request of 645,000 text parts holds 4.7
   times its size and its parse allocates 5.1 times in scratch.) */
#ifndef RV_REQUEST_H
#define RV_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { const char *s; uint32_t len; } rv_sv;
typedef struct { uint32_t off, len; } rv_span;

#define RV_REQ_NONE UINT32_MAX      /* no index */
#define RV_REQ_MAX_DEPTH 512        /* nesting of arrays and objects */
#define RV_REQ_MEM_FACTOR 8
#define RV_REQ_MEM_BASE (256u << 10)
#define RV_REQ_MAX_META 1024         /* metadata entries */
#define RV_REQ_MAX_TOOLS 1024        /* tool and function definitions */
#define RV_REQ_MAX_STOP 64           /* stop sequences */
#define RV_REQ_HOT_STR 32            /* metadata keys, values and "user" up to this long are copied into the hot region */

/* Roles as routing sees them (developer is system, function is tool). */
typedef enum { RV_ROLE_SYSTEM, RV_ROLE_USER, RV_ROLE_ASSISTANT, RV_ROLE_TOOL } rv_role;
/* Roles as written. */
typedef enum {
    RV_WROLE_SYSTEM, RV_WROLE_DEVELOPER, RV_WROLE_USER, RV_WROLE_ASSISTANT, RV_WROLE_TOOL, RV_WROLE_FUNCTION
} rv_wrole;

typedef enum { RV_CONTENT_ABSENT, RV_CONTENT_NULL, RV_CONTENT_STRING, RV_CONTENT_PARTS } rv_content;

typedef enum {
    RV_SLOT_CONTENT,    /* a message's content given as a string */
    RV_SLOT_PART,       /* the "text" of a content part */
    RV_SLOT_REFUSAL,    /* an assistant's "refusal" (message field or part) */
    RV_SLOT_NAME,       /* a message's "name" */
    RV_SLOT_TOOL_ARGS,  /* tool_calls[].function.arguments */
    RV_SLOT_FUNC_ARGS,  /* legacy function_call.arguments */
    RV_SLOT_TOOL_DESC   /* a tool's (or legacy function's) description; 'msg' is RV_REQ_NONE */
} rv_slotkind;

/* A text slot; its decoded text is rv_request.slot_texts[i] (a table of
   its own, so an overlay of redacted texts has the same shape). */
typedef struct {
    rv_span raw;        /* the JSON string token, quotes included */
    uint32_t msg;       /* message index, RV_REQ_NONE for tool descriptions */
    uint8_t kind;       /* rv_slotkind */
    uint8_t role;       /* rv_role of the message (a tool result has RV_ROLE_TOOL);
                           RV_ROLE_SYSTEM for tool descriptions */
} rv_slot;

typedef enum {
    RV_PART_TEXT,       /* type text, input_text, output_text: 'slot' is its text */
    RV_PART_IMAGE,      /* image_url, input_image, image: a = url, b = detail */
    RV_PART_AUDIO,      /* input_audio: a = data, b = format */
    RV_PART_FILE,       /* file, input_file: a = file_id, b = file_data */
    RV_PART_REFUSAL,    /* refusal: 'slot' is its text */
    RV_PART_OTHER       /* anything else: only 'type' and 'raw' (and 'slot' if it has a string "text") */
} rv_partkind;

typedef struct {
    rv_sv type;         /* as written */
    rv_sv a, b;         /* by kind, see rv_partkind ("" when absent) */
    rv_span raw;        /* the part object */
    uint32_t slot;      /* its text slot, or RV_REQ_NONE */
    uint8_t kind;       /* rv_partkind */
} rv_part;

typedef struct {
    rv_sv id, type, name;   /* id, type ("function"), function.name */
    uint32_t args;          /* slot of function.arguments, or RV_REQ_NONE */
    rv_span raw;            /* the tool call object */
} rv_reqcall;

typedef struct {
    rv_sv type;         /* "function" ("" for legacy functions) */
    rv_sv name;
    uint32_t desc;      /* slot of the description, or RV_REQ_NONE */
    rv_span parameters; /* the JSON schema as written */
    rv_span strict;
    rv_span raw;        /* the tool object */
    uint8_t legacy;     /* from "functions" */
} rv_tooldef;

typedef struct {
    rv_sv text;         /* routing's text: the string content, or the text
                           parts joined with "\n"; "" for none */
    uint8_t role;       /* rv_role */
    uint8_t wrole;      /* rv_wrole */
    uint8_t content;    /* rv_content */
    uint32_t images;    /* image parts */
    uint32_t part, nparts;  /* its content parts: parts[part .. part + nparts) */
    uint32_t slot, nslots;  /* its text slots, in document order */
    uint32_t call, ncalls;  /* its tool calls */
    rv_sv tool_call_id;     /* "" when absent */
    rv_sv fc_name;          /* legacy function_call.name, "" when absent */
    rv_span raw;            /* the message object */
} rv_msg;

typedef struct { rv_sv key, val; } rv_meta;
typedef struct { rv_sv key; rv_span val; } rv_field;

/* The parameters a provider translates; each 'span' is the value as
   written (len 0 when absent), the typed value beside it is valid when
   the span is present.  For model, max_tokens and stream_options the span
   may be a null the client wrote (the value is then absent): a provider
   replaces it rather than adding a second key. */
typedef struct {
    rv_span temperature, top_p, frequency_penalty, presence_penalty;
    double temperature_v, top_p_v, frequency_penalty_v, presence_penalty_v;
    rv_span max_tokens;         /* whichever of max_completion_tokens / max_tokens gave rv_request.max_tokens */
    rv_sv max_tokens_key;       /* its key: "max_tokens" or "max_completion_tokens" */
    rv_span n, seed, logprobs, top_logprobs, parallel_tool_calls;
    int64_t n_v, seed_v, top_logprobs_v;
    uint8_t logprobs_v, parallel_tool_calls_v;
    rv_span stop;               /* a string or an array of strings */
    const rv_sv *stop_v;        uint32_t nstop;
    rv_span stream, stream_options, include_usage;
    uint8_t include_usage_v;
    rv_span tool_choice;        /* a string ("none", "auto", "required") or an object */
    rv_sv tool_choice_mode;     /* the string, or the object's "type" */
    rv_sv tool_choice_name;     /* the object's function name */
    rv_span function_call;      /* legacy top-level function_call, as written */
    rv_span response_format;
    rv_sv response_format_type;
    rv_span response_format_schema;     /* its "json_schema" object */
    rv_span user, metadata, tools, functions, messages;
} rv_reqparams;

/* The routing view (see "The routing view" above): filled by the parser
   when it is given a dictionary, else 'dict' is NULL. */
#define RV_REQ_VIEW_KEYS 19          /* keys a view holds ids of (the dictionary's first) */
#define RV_REQ_VIEW_STRS 253         /* strings of one key a view tells apart */
#define RV_VIEW_ABSENT 0             /* the id of a missing (or null) key */
typedef struct {
    const struct rv_reqdict *dict;  /* the dictionary it was built with (a tag: never read through) */
    uint64_t stamp;                 /* and that dictionary's fingerprint */
    uint32_t input_bytes;           /* input.len */
    uint8_t bucket;                 /* bucket(user) when the dictionary asks for it, else 0 */
    uint8_t id[RV_REQ_VIEW_KEYS];   /* per dictionary key: its value's id */
} rv_reqview;

typedef struct rv_request {
    /* What decisions read, in the first three cache lines (the struct is
       64-byte aligned, the last part of its request's hot region, right
       after the metadata table and the short copies it points to): the
       first line holds the routing view and the scalars rules test -- all
       a decision by a rule plan reads when the view is its program's --
       the second what rules read without a view, the third what a
       decision's set-up reads (the texts an overlay starts from).  The
       order is deliberate; a field added here costs every decision a
       line. */
    rv_reqview view;
    int stream;
    uint32_t images, turns;
    int64_t max_tokens;  /* 0 = not given */
    /* (64) */
    rv_meta *meta;       uint32_t nmeta;   /* metadata, in order; values as text (in the hot region
                                              when short) */
    rv_sv input;         /* text of the last user message */
    rv_sv user;          /* the "user" field (in the hot region when short) */
    rv_sv system;        /* system and developer messages' texts joined with "\n" */
    /* (128) */
    rv_sv *texts;        /* nmsg views: every message's text (the 'messages' list) */
    rv_sv *slot_texts;   /* nslot views: each slot's decoded text */
    uint32_t nmsg, nslot;
    uint32_t body_len;   /* the request's copy of the body: 'body' */
    rv_sv *tools;        uint32_t ntool;   /* function names: tools, then legacy functions */
    /* (192) */

    rv_sv model;         /* the agent the client addressed ("" if none) */
    rv_msg *msgs;        /* nmsg messages */
    /* text slots, in document order (a message's slots are contiguous);
       nslot of them, their texts in slot_texts */
    rv_slot *slots;

    /* for forwarding */
    const char *body;    /* the request's copy, body_len bytes */
    rv_span model_span;  /* the "model" value (len 0 if absent; it may be null) */
    uint32_t root_end;   /* offset of the root object's closing '}' */
    rv_part *parts;      uint32_t npart;
    rv_reqcall *calls;  uint32_t ncall;
    rv_tooldef *tooldefs; uint32_t ntooldef;
    rv_field *extra;     uint32_t nextra;  /* every top-level field not modelled here */
    rv_reqparams params;

    /* owned memory (vm/request.c) */
    size_t mem_bytes;    /* bytes this request holds, the body's copy included */
    size_t mem_limit;
    size_t scratch_bytes;   /* scratch the parse allocated (released when it ended) */
    void *mem;           /* its blocks */
    struct rv_reqpool *pool;
} rv_request;

typedef struct {
    size_t max_bytes;       /* default 16 MiB; at most 4 GiB - 1 */
    uint32_t max_messages;  /* default 10,000 */
    size_t max_mem;         /* bytes the request may hold, and its parse allocate in scratch
                               (each); default (0) RV_REQ_MEM_FACTOR times the body's size
                               plus RV_REQ_MEM_BASE */
} rv_reqlimits;

typedef struct {
    char msg[256];
    int line, column;    /* where in the body (1-based), 0 when not tied to a place */
    int nomem;           /* the parser ran out of memory ("out of memory"): not the request's fault */
} rv_reqerr;

/* Parse 'len' bytes (borrowed: copied, and not used after return).
   Returns a request the caller frees with req_free(), or NULL with 'err'
   filled.  'lim' may be NULL for the defaults. */
rv_request *req_parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err);
void req_free(rv_request *r);

/* A pool for the requests of one thread (a batch, a worker's requests in
   flight): requests take their memory from the pool's blocks, packed one
   after another -- their hot regions (above) in one block, the rest in
   another -- so deciding requests in a row reads memory in order, and
   the pool keeps the parser's scratch space between parses.  Requests
   may be freed in any order (a gateway's requests finish out of order):
   a block returns to the pool when every request that used it is freed,
   so a long-lived request keeps at most the blocks it shares.  A pool and
   its requests belong to one thread at a time; a parsed request may be
   read by any number of threads (it is never modified).
   req_pool_free() frees the pool; its requests must be freed first. */
typedef struct rv_reqpool rv_reqpool;
rv_reqpool *req_pool_new(void);
void req_pool_free(rv_reqpool *pool);
rv_request *req_parse_pooled(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                             rv_reqpool *pool);
/* Blocks the pool holds (in use or free), for tests. */
size_t req_pool_blocks(const rv_reqpool *pool);

/* Routing dictionaries (see "The routing view" above).  A dictionary is
   built once -- keys, then their strings -- and sealed; from then on it is
   read-only, may be shared by any number of threads, and lives until
   req_dict_free() (its owner, an image, frees it with itself).  The key
   and string bytes are borrowed: they must outlive the dictionary.  A
   request's view keeps the dictionary's address only as a tag: freeing
   the dictionary leaves such requests valid (their views no longer
   match any dictionary but a new one at the same address with the same
   contents, whose ids are the same). */
typedef struct rv_reqdict rv_reqdict;
rv_reqdict *req_dict_new(void);
void req_dict_free(rv_reqdict *d);      /* accepts NULL */
/* The index of key 'key' (added once), or -1 when RV_REQ_VIEW_KEYS keys
   are there or out of memory. */
int req_dict_key(rv_reqdict *d, const char *key, uint32_t len);
/* The id (1..) of string 's' for key 'k' (added once while building), or
   -1: not there once sealed, or the key reached RV_REQ_VIEW_STRS strings
   (the key is then left out of views: req_dict_live) or out of memory. */
int req_dict_str(rv_reqdict *d, int k, const char *s, uint32_t len);
void req_dict_want_bucket(rv_reqdict *d);   /* views fill 'bucket' */
/* No more keys or strings; the fingerprint is taken.  0, or -1 when out
   of memory (the dictionary then makes no views). */
int req_dict_seal(rv_reqdict *d);
int req_dict_live(const rv_reqdict *d, int k);          /* is key 'k' in views? */
uint32_t req_dict_nstr(const rv_reqdict *d, int k);     /* its strings: ids 1..n, other n + 1 */
uint64_t req_dict_stamp(const rv_reqdict *d);           /* the fingerprint (0 until sealed) */

/* The first 8 bytes of 's' (n bytes), zero-padded, read without a call
   and never past the end: two overlapping loads for 4..7 bytes, three
   bytes for 1..3.  (The dictionaries' and the VM's string tables compare
   these before any other byte.) */
static inline uint64_t req_head8(const char *s, uint32_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t h;
    uint32_t lo, hi;
    if (n >= 8) {
        memcpy(&h, s, 8);
        return h;
    }
    if (n >= 4) {
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << 8 * (n - 4);
    }
    if (n == 0)
        return 0;
    return (uint64_t)u[0] | (uint64_t)u[n / 2] << 8 * (n / 2) | (uint64_t)u[n - 1] << 8 * (n - 1);
}

/* Is the view of 'r' built with sealed dictionary 'd' (whose stamp is
   'stamp')? */
static inline int req_view_is(const rv_request *r, const rv_reqdict *d, uint64_t stamp)
{
    return d && r->view.dict == d && r->view.stamp == stamp;
}

/* req_parse / req_parse_pooled ('pool' may be NULL) with a routing view
   built against 'dict' (borrowed for the call; NULL: no view). */
rv_request *req_parse_dict(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                           rv_reqpool *pool, const rv_reqdict *dict);

/* Build the view of parsed request 'r' again, against 'dict' (NULL: no
   view): for a driver that parsed requests before it knew the program
   (simulate reads its records once and replays them under each program
   of a sweep).  Not while the request is being decided. */
void req_view(rv_request *r, const rv_reqdict *dict);

/* Replace the metadata of parsed request 'r' by 'meta' ('n' entries,
   borrowed: they must outlive the request; the first of a key is the one
   routing reads) and build its view again against 'dict' (NULL: no
   view).  The one sanctioned change to a parsed request: a driver that
   adds metadata (the gateway's X-Route-* headers) calls this before the
   request is decided, so the view never tells of a table that is gone. */
void req_set_meta(rv_request *r, rv_meta *meta, uint32_t n, const rv_reqdict *dict);

/* The metadata value for 'key', or NULL. */
const rv_sv *req_meta(const rv_request *r, const char *key, uint32_t keylen);

/* Names of kinds and roles, for explanations. */
const char *req_slotkind_name(rv_slotkind k);
const char *req_role_name(rv_role r);

#endif
