/* Writing a parsed request for an OpenAI-compatible upstream: the
   client's own bytes, with only what must change spliced in -- the
   upstream's model id in place of "model", the texts the input guardrails
   redacted in place of the originals (each at its JSON string token, see
   rv_slot), stream_options.include_usage where usage is needed, and a
   lowered output limit.  Nothing else is re-serialized: every field the
   request model does not read reaches the upstream as the client wrote it.
   Strings are escaped by the project's one JSON writer (vm/jsonw.h).

   Translating to other dialects (Anthropic, Bedrock) reads the same parse
   (vm/request.h) and is the providers' job. */
#ifndef RV_FORWARD_H
#define RV_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

typedef struct {
    const char *model;      /* the upstream's model id (UTF-8); NULL keeps the client's */
    size_t model_len;
    const rv_sv *texts;     /* one per text slot (r->nslot), e.g. vm_texts(); NULL keeps the request's */
    int include_usage;      /* a streamed request asks for usage in its last chunk */
    int64_t max_tokens;     /* > 0: the output limit to send, in place of (or added to) the request's */
} fw_edits;

/* The body to send: a new buffer the caller frees with free(), its length
   in '*len'; NULL when out of memory ('err', if not NULL, says so).  A
   text that is not UTF-8 has its stray bytes sent as U+FFFD.  'r' is only
   read. */
char *fw_openai_body(const rv_request *r, const fw_edits *e, size_t *len, const char **err);

#endif
