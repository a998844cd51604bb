/* The mock's script: a JSON file that says, per model id, how to answer
   (tests/mock/README.md documents the format).  scr_load reads and checks
   the whole file up front, compiling every pattern, so a bad script stops
   the mock at start with "FILE: where: what" instead of misbehaving in the
   middle of a test.  scr_answer picks the rule for a request and the fault
   for this attempt (per-model request counters make "the Nth request" and
   "the first N attempts" deterministic).

   Ownership: a scr_script owns its rules, patterns and strings (the parsed
   JSON stays alive behind them); an scr_answer owns nothing and borrows
   from the script, valid until scr_free. */
#ifndef MOCK_SCRIPT_H
#define MOCK_SCRIPT_H

#include <stddef.h>

enum scr_fault_kind {
    F_NONE,
    F_ERROR,          /* an HTTP error status in the dialect's shape */
    F_CONTEXT,        /* the dialect's context-length-exceeded error */
    F_RESET,          /* TCP reset: before the headers, or after N chunks/bytes */
    F_CLOSE,          /* clean close mid-body (no chunked terminator) */
    F_STALL,          /* no bytes for 'ms' after N chunks, then continue/close/reset */
    F_DRIP,           /* one byte every 'ms' from chunk N on */
    F_BAD_CHUNKING,   /* an invalid chunk-size line at chunk N */
    F_MALFORMED_JSON, /* 200 with a JSON body cut in half */
    F_BAD_SSE,        /* a broken SSE event after N chunks */
    F_INBAND_ERROR,   /* the dialect's in-stream error after N chunks */
    F_NO_END,         /* the stream ends cleanly without its closing event */
    F_BAD_CRC,        /* event-stream frame with a wrong CRC after N chunks */
    F_BAD_LENGTH,     /* event-stream frame with an impossible length */
    F_DELAY           /* only 'ms' more before the headers */
};

enum scr_then { THEN_CONTINUE, THEN_CLOSE, THEN_RESET };
enum scr_on { ON_EVERY, ON_NTH, ON_FIRST, ON_FROM };
enum scr_sse_form { SSE_NOT_JSON, SSE_NO_BLANK_LINE, SSE_HUGE, SSE_NO_DATA };
enum scr_crc_part { CRC_PRELUDE, CRC_MESSAGE };

typedef struct {
    enum scr_fault_kind kind;
    const char *name;          /* the kind as written in the script */
    enum scr_on on;
    unsigned *nth;             /* ON_NTH: request numbers (1-based) */
    size_t nnth;
    unsigned count;            /* ON_FIRST / ON_FROM */
    int per_rule;              /* count this rule's requests, not the model's */
    int after;                 /* content chunks before the fault; -1 unset */
    long after_bytes;          /* F_RESET/F_CLOSE: cut after this many bytes; -1 unset */
    unsigned ms;               /* F_STALL, F_DRIP, extra delay for F_ERROR */
    enum scr_then then;
    int status;                /* F_ERROR */
    char *retry_after;         /* F_ERROR: Retry-After value as given, or NULL */
    int html;                  /* F_ERROR: an HTML page instead of the dialect's JSON */
    char *content_type;        /* F_ERROR: content type override, or NULL */
    char *message;             /* error message override, or NULL */
    char *error_type;          /* error type/code override, or NULL */
    char **headers;            /* extra "name", "value" pairs */
    size_t nheaders;
    enum scr_sse_form sse_form;
    size_t size;               /* SSE_HUGE: event size in bytes */
    enum scr_crc_part crc_part;
    unsigned long length;      /* F_BAD_LENGTH: total_length to write */
} scr_fault;

/* How a valid SSE stream is laid out (all legal; clients must cope). */
typedef struct {
    const char *eol;           /* "\n", "\r\n" or "\r" */
    int comments;              /* ": keep-alive" comment before each event */
    int split_data;            /* JSON split over several data: lines */
    int no_final_blank;        /* last event without its blank line */
} scr_sse;

enum scr_finish { FIN_STOP, FIN_LENGTH, FIN_TOOL, FIN_FILTER };
enum { U_INPUT, U_OUTPUT, U_CACHE_READ, U_CACHE_WRITE, U_REASONING, U_NCLASS };

typedef struct {
    const char *id;            /* tool call id, or NULL for a generated one */
    const char *name;
    char *arguments;           /* compact JSON object text */
} scr_tool;

typedef struct scr_rule scr_rule;
typedef struct scr_script scr_script;

typedef struct {
    const scr_rule *rule;
    const char *rule_name;     /* "" when the rule has none */
    unsigned nth;              /* this request's number for its model */
    unsigned rule_nth;         /* … and for its rule */
    const char **chunks;       /* the answer text in stream pieces */
    size_t nchunks;
    double *logprobs;          /* one per chunk */
    const scr_tool *tools;
    size_t ntools;
    enum scr_finish finish;
    int usage_omit;            /* 1: no usage anywhere */
    long usage[U_NCLASS];
    unsigned headers_ms, first_ms, gap_ms;
    scr_sse sse;
    const scr_fault *fault;    /* NULL: none this time */
} scr_answer;

/* Auth settings a script may carry (command-line options override them). */
typedef struct {
    const char *openai_key, *anthropic_key;
    const char *aws_access_key, *aws_secret_key, *aws_region;
    const char *openai_prefix;
} scr_auth;

/* Loads 'path'; NULL with a message in 'err' on any problem. */
scr_script *scr_load(const char *path, char *err, size_t errlen);
void scr_free(scr_script *s);
const scr_auth *scr_auth_of(const scr_script *s);

/* Whether the script answers for 'model' (itself or through "*"). */
int scr_has_model(const scr_script *s, const char *model);

/* Picks the rule for 'model' whose patterns match 'last_user' (the last
   user message's text) and 'all_text' (every text in the request), counts
   the request and picks its fault.  'input_estimate' fills "estimate"
   usage.  Returns 0, or -1 when no rule matches or memory ran out (a
   message in 'err').  Strings are borrowed for the call only. */
int scr_answer_for(scr_script *s, const char *model, const char *last_user,
                   const char *all_text, long input_estimate, scr_answer *a,
                   char *err, size_t errlen);

/* The answer's text, all chunks joined; the caller frees it. */
char *scr_answer_text(const scr_answer *a);
/* Rough token estimate used for "estimate": one per 4 bytes, at least 1. */
long scr_estimate_tokens(size_t bytes);

#endif
