/* AWS Bedrock Converse and ConverseStream: the request body translated
   from the internal conversation, and the answer read back (a JSON body,
   or the decoded frames of an AWS event stream, vm/providers/
   eventstream.h) into an ans_answer.  Signing is pcall.c's (SigV4,
   vm/providers/sigv4.h); the model id goes into the path percent-encoded
   (':' as %3A) and is signed as sent.

   Translation: the system prompt is "system": [{"text"}]; turns alternate
   user / assistant (consecutive turns of one side are merged, tool results
   become toolResult blocks of a user turn); text parts are {"text"},
   images {"image": {"format", "source": {"bytes": base64}}} -- Bedrock
   takes image bytes only, so an image given by URL cannot be sent and the
   translation fails; an assistant's tool calls are toolUse blocks with
   their arguments parsed into "input"; tools are toolConfig.tools[].
   toolSpec with inputSchema.json; tool_choice auto/required/function maps
   to auto/any/tool ("none" sends no toolChoice); max_tokens, temperature,
   top_p and stop go to inferenceConfig.

   Usage: Bedrock's classes are disjoint: inputTokens (uncached),
   cacheReadInputTokens, cacheWriteInputTokens, outputTokens.  No
   log-probabilities.

   Ownership: br_body() returns a heap string the caller frees. */
#ifndef RV_BEDROCK_H
#define RV_BEDROCK_H

#include "answer.h"
#include "conv.h"
#include "eventstream.h"

#define BR_MAX_BLOCKS 256

/* The request body; NULL with a message in 'err'. */
char *br_body(const cv_conv *cv, size_t *len, char *err, size_t errlen);

typedef struct {
    int16_t block_tool[BR_MAX_BLOCKS];  /* -1: not a tool call */
    int stopped;                        /* messageStop seen */
} br_stream;

void br_stream_init(br_stream *s);

/* A whole Converse answer (HTTP 2xx). */
void br_parse(ans_answer *a, const char *body, size_t n);
/* One decoded ConverseStream message. */
void br_message(br_stream *s, ans_answer *a, const es_message *m);
/* An error answer: the status, the x-amzn-ErrorType header's value (may be
   empty) and the body. */
void br_error(ans_answer *a, int status, const char *etype, size_t elen, const char *body, size_t n);

#endif
