/* What the three dialects (openai.c, anthropic.c, bedrock.c) share: the
   mock's configuration, the record of how a request was handled (for the
   request log), and helpers that format JSON bodies, SSE events, HTML
   error pages and the common parts of scripted error faults.  Each dialect
   exports one function that turns a request into a dl_result.

   Ownership: a dl_result owns its reply; its answer borrows from the
   script (valid until scr_free); dl_result_free releases the reply.
   Helpers that take a json_t * take its reference. */
#ifndef MOCK_DIALECT_H
#define MOCK_DIALECT_H

#include <jansson.h>

#include "http.h"
#include "reply.h"
#include "script.h"

typedef struct {
    scr_script *script;
    const char *openai_key;        /* NULL: any bearer token (or none) */
    const char *anthropic_key;     /* NULL: any x-api-key (or none) */
    const char *aws_access_key;    /* NULL: Bedrock requests are not verified */
    const char *aws_secret_key;
    const char *aws_region;        /* NULL: any region in the credential scope */
    const char *openai_prefix;     /* "" or "/v1" or "/openai/v1", … */
} dl_config;

typedef struct {
    const char *dialect;           /* "openai", "anthropic", "bedrock", "none" */
    char model[256];
    const char *auth;              /* "ok", "missing", "bad", "unchecked" */
    int stream;
    const char *rule;              /* NULL when no rule answered */
    unsigned nth, rule_nth;
    const char *fault;             /* NULL: none */
    char error[200];               /* why the request was refused, if it was */
} dl_info;

typedef struct {
    rp_reply reply;
    scr_answer answer;
    int has_answer;                /* answer carries latency and a fault */
    dl_info info;
} dl_result;

void dl_result_free(dl_result *res);

/* Growable text, for collecting a request's texts.  On allocation failure
   'failed' is set and appends are dropped. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} dl_buf;
void dl_buf_add(dl_buf *b, const char *s, size_t n);
void dl_buf_str(dl_buf *b, const char *s);
/* Never NULL: "" when empty or failed. */
const char *dl_buf_text(const dl_buf *b);
void dl_buf_free(dl_buf *b);

/* Sets 'j' (compact, key order kept) as the body. */
void dl_json_body(rp_reply *r, json_t *j);
/* Sets 'j' as the body cut to half its length: malformed JSON. */
void dl_json_cut(rp_reply *r, json_t *j);
/* One SSE event: an optional "event:" name, 'j' as data, laid out by 'sse'
   ('last' applies no_final_blank). */
void dl_sse_json(rp_reply *r, const scr_sse *sse, const char *event, json_t *j, int content, int last);
/* One SSE event with raw data text (e.g. "[DONE]"). */
void dl_sse_text(rp_reply *r, const scr_sse *sse, const char *event, const char *data, int content, int last);
/* A broken SSE event of form f->sse_form ('event' names it, or NULL). */
void dl_sse_broken(rp_reply *r, const scr_fault *f, const char *event);

/* An error reply: the dialect's JSON 'body' unless the fault asks for an
   HTML page or another content type; Retry-After and extra headers from
   the fault.  'f' may be NULL.  Takes 'body'. */
void dl_error_reply(rp_reply *r, int status, json_t *body, const char *content_type, const scr_fault *f);

/* Looks up the script's answer for 'model' and fills res->answer and the
   log fields.  Returns 0, or -1 with res->info.error set. */
int dl_answer(const dl_config *cfg, const char *model, const char *last_user, const char *all_text,
              dl_result *res);

/* Whether a dialect fault placed 'after' content events is due, with
   'seen' content events written so far ('closing': the closing events come
   next, so a fault placed past the last chunk is due too); true once (it
   sets '*fired'). */
int dl_fault_due(const scr_fault *f, int seen, int closing, int *fired);

/* Constant-time string comparison for keys. */
int dl_secret_eq(const char *a, const char *b);

#endif
