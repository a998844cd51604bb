/* Anthropic Messages: the request body translated from the internal
   conversation, and the answer read back (a JSON message, or the events
   of a stream) into an ans_answer.

   Translation: the system prompt goes to "system"; turns alternate user /
   assistant, so consecutive turns of one side are merged (tool results,
   which OpenAI sends as separate "tool" messages, become tool_result
   blocks of one user turn); text parts are text blocks, images image
   blocks (base64 from data: URLs, else a url source); an assistant's tool
   calls are tool_use blocks with their arguments parsed into "input";
   tools get "input_schema"; tool_choice auto/none/required/function maps
   to auto/none/any/tool.  "max_tokens" is required by Anthropic: the
   call's output limit, else AN_DEFAULT_MAX_TOKENS.

   Usage: Anthropic's classes are already disjoint: input_tokens (uncached
   input), cache_read_input_tokens, cache_creation_input_tokens,
   output_tokens (thinking included; reasoning is not reported apart).
   In a stream, message_start carries the input classes and message_delta
   the final output count.  No log-probabilities: a cascade 'by logprobs'
   on an Anthropic model gets no confidence and escalates.

   Ownership: an_body() returns a heap string the caller frees. */
#ifndef RV_ANTHROPIC_H
#define RV_ANTHROPIC_H

#include "answer.h"
#include "conv.h"

#define AN_VERSION "2023-06-01"
#define AN_DEFAULT_MAX_TOKENS 4096
#define AN_MAX_BLOCKS 256           /* content blocks in one streamed answer */

/* The request body for 'model'; NULL with a message in 'err' (tool-call
   arguments that are not a JSON object, out of memory). */
char *an_body(const cv_conv *cv, const char *model, int stream, size_t *len, char *err, size_t errlen);

/* Stream state: which tool call each content block feeds. */
typedef struct {
    int16_t block_tool[AN_MAX_BLOCKS];  /* -1: a text block */
    int started;                        /* message_start seen */
} an_stream;

void an_stream_init(an_stream *s);

/* A whole JSON answer (HTTP 2xx). */
void an_parse(ans_answer *a, const char *body, size_t n);
/* One stream event: its type and data. */
void an_event(an_stream *s, ans_answer *a, const char *type, size_t tlen, const char *data, size_t n);
/* An error answer (HTTP status >= 300). */
void an_error(ans_answer *a, int status, const char *body, size_t n);

#endif
