/* OpenAI chat completions, and every server that speaks it (vLLM, Ollama,
   llama.cpp, Mistral, Groq ...): the request body built from the
   internal conversation, and the answer read back -- a JSON body, or the
   data of each server-sent event of a stream -- into an ans_answer.

   Usage (OpenAI reports cached and reasoning tokens inside its totals):
     input       = prompt_tokens - prompt_tokens_details.cached_tokens
     cache_read  = prompt_tokens_details.cached_tokens (0 when absent)
     cache_write = 0 (OpenAI has no cache-write class)
     output      = completion_tokens (reasoning included, as billed)
     reasoning   = completion_tokens_details.reasoning_tokens
   A stream reports usage only when asked (stream_options.include_usage),
   in a last chunk whose 'choices' is empty; the body always asks.

   Confidence: with logprobs requested, each token's log-probability is
   recorded (ans_logprob) and ans_confidence() gives exp(mean logprob).

   Ownership: oa_body() returns a heap string the caller frees (oa_body_to
   writes into the caller's writer instead); the
   parsers copy what they keep into the answer. */
#ifndef RV_OPENAI_H
#define RV_OPENAI_H

#include "answer.h"
#include "conv.h"

typedef struct {
    int stream;         /* ask for a stream (with usage) */
    int logprobs;       /* ask for token log-probabilities */
} oa_opts;

/* The request body for 'model' (the provider's id); NULL when out of
   memory.  '*len' gets its length. */
char *oa_body(const cv_conv *cv, const char *model, const oa_opts *o, size_t *len);
/* The same, appended to a memory writer of the caller's ('w', compact);
   0, or -1 when out of memory (the writer's 'err'). */
int oa_body_to(jw_writer *w, const cv_conv *cv, const char *model, const oa_opts *o);

/* A whole JSON answer (HTTP 2xx). */
void oa_parse(ans_answer *a, const char *body, size_t n);

/* The data of one stream event ("[DONE]" included). */
void oa_event(ans_answer *a, const char *data, size_t n);

/* An error answer (HTTP status >= 300): the class from the status and the
   body's error type or code, a detail for people.  The provider's own
   message is kept only for statuses where it cannot echo a key. */
void oa_error(ans_answer *a, int status, const char *body, size_t n);

#endif
