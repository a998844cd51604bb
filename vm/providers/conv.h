/* The conversation a provider call sends, in one internal form that every
   provider's translation reads (openai.c, anthropic.c, bedrock.c): the
   system prompt, the turns with their text and image parts, the tool
   calls an assistant made and the tool results that answer them, the
   tools offered, and the sampling parameters.  A cascade or a fallback
   that moves a request to another provider builds the same conversation
   again for it, so nothing is lost in the move.

   Built from the VM's call descriptor (cv_from_call): the parsed request
   (vm/request.h: messages, parts, tool calls, tools, parameters), with
   the texts of every text slot as the input guardrails left them
   (rv_call.texts -- never the request's own texts, which may hold what a
   guardrail redacted), the model's system template first, the output
   limit and the model's generation parameters over the client's; or, for
   a judge, from the messages the VM built itself.  The request is not
   parsed again: only the raw JSON values a translation must carry as JSON
   (tool schemas, parts with no translation, fields this model does not
   know) are read from their spans.

   Ownership: views point into the request and the VM, borrowed until the
   VM's next vm_resume/vm_feed: build, translate, then drop.  The JSON
   values and tables are owned; cv_free() releases everything. */
#ifndef RV_CONV_H
#define RV_CONV_H

#include <jansson.h>

#include "jsonw.h"
#include "vm.h"

typedef enum { CV_TEXT, CV_IMAGE, CV_RAW } cv_partkind;

typedef struct {
    uint8_t kind;       /* cv_partkind */
    rv_sv text;         /* TEXT */
    rv_sv url;          /* IMAGE: an https URL, or a data: URL (base64) */
    rv_sv media_type;   /* IMAGE from a data: URL: e.g. "image/png", else "" */
    rv_sv data;         /* IMAGE from a data: URL: the base64 payload, else "" */
    json_t *raw;        /* RAW: a part with no translation (audio, files ...), as the
                           client wrote it; only OpenAI-compatible servers take it */
} cv_part;

typedef struct { rv_sv id, name, args; } cv_call;   /* args: JSON text */

typedef struct {
    uint8_t role;       /* rv_role: USER, ASSISTANT or TOOL (system goes to cv_conv.system) */
    cv_part *parts;     uint32_t nparts;
    cv_call *calls;     uint32_t ncalls;   /* an assistant's tool calls */
    rv_sv tool_call_id; /* TOOL: the call this answers */
    rv_sv name;         /* the message's "name", "" if none */
} cv_msg;

typedef struct {
    rv_sv name, desc;
    json_t *params;     /* the JSON schema, or NULL */
} cv_tool;

typedef struct {
    rv_sv system;       /* template, then the client's system/developer texts, joined with "\n\n" */
    cv_msg *msgs;       uint32_t nmsgs;
    cv_tool *tools;     uint32_t ntools;
    rv_sv tool_choice;  /* "auto", "none", "required", "function" or "" */
    rv_sv tool_choice_name;
    /* generation parameters, the model's over the client's; NULL when neither
       gives one */
    json_t *temperature, *top_p, *top_k, *stop, *seed, *presence, *frequency;
    int64_t max_tokens; /* 0 = none */
    json_t *extra;      /* the request's fields modelled nowhere above (OpenAI pass-through), or NULL */
    json_t *owned;      /* every JSON value above, held for cv_free */
    void *mem;          /* owned blocks */
} cv_conv;

/* Build the conversation of the call 'c' describes (an answer's or a
   judge's).  0, or -1 with a message in 'err'. */
int cv_from_call(cv_conv *cv, const rv_call *c, char *err, size_t errlen);

void cv_free(cv_conv *cv);

/* Writing the Anthropic and Bedrock bodies, whose turns have the same
   shape.  cv_put_args writes tool-call arguments as the object both want
   ("" is {}); -1 with a message in 'err' when they are not an object.
   cv_put_turns writes the messages as alternating turns, consecutive
   messages of one side merged into one turn, each message's content
   written by 'blocks' (-1 stops, with its message in 'err'). */
typedef int (*cv_blocks_fn)(jw_writer *w, const cv_msg *m, char *err, size_t errlen);
int cv_put_args(jw_writer *w, rv_sv args, char *err, size_t errlen);
int cv_put_turns(jw_writer *w, const cv_conv *cv, cv_blocks_fn blocks, char *err, size_t errlen);

#endif
