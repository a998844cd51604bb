/* A provider's answer as it accumulates, in one shape for every provider:
   the text, tool calls, usage by token class, finish reason, the
   provider's model and id, token log-probabilities -- or the failure,
   classified into the VM's failure classes (vm.h, RV_FAILURES).

   The provider modules (openai.c, anthropic.c, bedrock.c) fill it from
   JSON bodies and stream events; the call module (pcall.c) turns it into
   the rv_outcome the VM resumes with.  Also here: the parts of failure
   classification every provider shares (HTTP status, Retry-After, error
   bodies that are not JSON).

   Ownership: an answer owns its buffers (freed by ans_free); the strings
   it hands out are valid until the next change or ans_free.  Caps: the
   text and each tool call's arguments are capped at ANS_MAX_TEXT bytes,
   tool calls at ANS_MAX_TOOLS; past a cap the answer fails as malformed,
   never grows without bound. */
#ifndef RV_ANSWER_H
#define RV_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define ANS_MAX_TEXT (8u << 20)
#define ANS_MAX_TOOLS 128
#define ANS_MAX_RETRY_AFTER_US (600ll * 1000000)  /* a Retry-After beyond 10 minutes is capped */

typedef struct { char *p; size_t len, cap; } ans_buf;

typedef struct {
    ans_buf id, name, args;
} ans_tool;

typedef struct {
    ans_buf text;
    ans_tool *tools;
    uint32_t ntools, captools;
    rv_usage usage;             /* -1 = not reported */
    char finish[24];            /* normalized: stop, length, tool_calls, content_filter; "" unknown */
    char model[128];            /* the provider's model id, "" unknown */
    char id[128];               /* the provider's answer id, "" unknown */
    double logprob_sum;         /* over 'logprob_n' tokens */
    int64_t logprob_n;
    int ended;                  /* the stream's end marker was seen ([DONE], message_stop, ...) */
    /* failure */
    int failed;
    rv_failure failure;
    int http_status;
    int64_t retry_after_us;     /* -1 absent */
    char detail[256];
    struct jv_parser *json;     /* the provider parsers' JSON parser (jview.h), made on
                                   first use, kept across events and ans_reset */
} ans_answer;

void ans_init(ans_answer *a);
void ans_reset(ans_answer *a);          /* empty again, buffers kept */
void ans_free(ans_answer *a);
/* The answer's JSON parser (made on first use); NULL when out of memory. */
struct jv_parser *ans_json(ans_answer *a);

/* Append to a buffer; -1 when the cap or memory is exceeded. */
int ans_put(ans_buf *b, const char *s, size_t n);
/* Append answer text; fails the answer (malformed) past the cap. */
int ans_text(ans_answer *a, const char *s, size_t n);
/* The tool call at 'index' (created, with those before it, if missing);
   NULL (and the answer failed) past ANS_MAX_TOOLS or out of memory. */
ans_tool *ans_tool_at(ans_answer *a, uint32_t index);

/* s[0..n) into dst[0..cap) as a C string, cut to cap - 1 bytes (the
   provider's model and id). */
void ans_copy(char *dst, size_t cap, const char *s, size_t n);

/* Record a failure (the first one wins); 'fmt' builds the detail. */
void ans_fail(ans_answer *a, rv_failure f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Set the finish reason from a provider's word (stop, end_turn,
   stop_sequence, length, max_tokens, tool_calls, tool_use,
   content_filter, refusal, guardrail_intervened, ...). */
void ans_finish(ans_answer *a, const char *s, size_t n);

/* Record a token log-probability. */
void ans_logprob(ans_answer *a, double lp);

/* Confidence from the log-probabilities: exp(mean token logprob), the
   geometric mean of the tokens' probabilities, in millionths (num);
   -1 when none were reported.  '*mean' gets the mean logprob in
   millionths (0 when none). */
int64_t ans_confidence(const ans_answer *a, int64_t *mean);

/* Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP-date, relative
   to 'now' (seconds since the epoch).  Returns microseconds, capped at
   ANS_MAX_RETRY_AFTER_US, 0 for a date in the past, -1 for garbage or a
   negative value. */
int64_t ans_retry_after(const char *v, size_t n, int64_t now);

/* Classify an HTTP error status with what the body says: the provider's
   error type/code/message ('kind': e.g. "rate_limit_error",
   "context_length_exceeded", "ThrottlingException"; may be empty) refine
   the status class (context length, content filter, overload). */
rv_failure ans_classify(int status, const char *kind, size_t klen, const char *msg, size_t mlen);

/* Is this body an HTML page (a CDN's error page)? */
int ans_is_html(const char *body, size_t n);

#endif
