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
   parsed again, and the client's JSON values a translation carries as
   JSON (sampling parameters, tool schemas, parts with no translation,
   fields this model does not know) are not parsed at all: each is the
   text of its span (cv_val), which the request's strict parse has
   already validated (vm/request.h: valid UTF-8, no duplicate keys, no
   NUL), written as the client wrote it.  Only the model's own values,
   set by the policy, are jansson values.

   Ownership: views point into the request and the VM, borrowed until the
   VM's next vm_resume/vm_feed: build, translate, then drop.  The JSON
   values and tables are owned; cv_free() releases everything.  Tables
   may point into the conversation itself (its 'room'): a conversation is
   used where it was built, never copied or moved. */
#ifndef RV_CONV_H
#define RV_CONV_H

#include <jansson.h>

#include "jsonw.h"
#include "vm.h"

/* A JSON value a body carries: the model's, set by the policy, as a
   jansson value ('j', owned by the conversation), or the client's, as the
   JSON text of its span in the request's body ('raw', a borrowed view:
   the value exactly as written, already validated by the request's
   parse).  Neither: absent. */
typedef struct { json_t *j; rv_sv raw; } cv_val;

/* A top-level field of the request passed through to OpenAI-compatible
   servers: its decoded key and its value's JSON text, both borrowed. */
typedef struct { rv_sv key, val; } cv_field;

typedef enum { CV_TEXT, CV_IMAGE, CV_RAW } cv_partkind;

#define CV_ROOM 1024    /* bytes of tables and texts held in the conversation itself */

typedef struct {
    uint8_t kind;       /* cv_partkind */
    rv_sv text;         /* TEXT */
    rv_sv json;         /* TEXT that is the client's own (no guardrail changed it): its JSON
                           string token as written, quotes included, which the request's
                           strict parse validated; "" otherwise (write 'text') */
    rv_sv url;          /* IMAGE: an https URL, or a data: URL (base64) */
    rv_sv media_type;   /* IMAGE from a data: URL: e.g. "image/png", else "" */
    rv_sv data;         /* IMAGE from a data: URL: the base64 payload, else "" */
    rv_sv raw;          /* RAW: a part with no translation (audio, files ...): its JSON
                           text as the client wrote it; only OpenAI-compatible servers take it */
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
    cv_val params;      /* the JSON schema as written, or absent */
} cv_tool;

typedef struct {
    rv_sv system;       /* template, then the client's system/developer texts, joined with "\n\n" */
    rv_sv system_json;  /* when 'system' is one text of the client's, unchanged: its JSON string
                           token as written (as cv_part.json); "" otherwise */
    cv_msg *msgs;       uint32_t nmsgs;
    cv_tool *tools;     uint32_t ntools;
    rv_sv tool_choice;  /* "auto", "none", "required", "function" or "" */
    rv_sv tool_choice_name;
    /* generation parameters, the model's over the client's; absent when
       neither gives one */
    cv_val temperature, top_p, top_k, stop, seed, presence, frequency;
    int64_t max_tokens; /* 0 = none */
    /* the request's fields modelled nowhere above, in the order of the
       request, then response_format, n, parallel_tool_calls, user and
       top_logprobs when given (OpenAI pass-through) */
    cv_field *extra;    uint32_t nextra;
    json_t *owned;      /* every jansson value above (NULL while none), held for cv_free */
    void *mem;          /* owned blocks, for what 'room' cannot hold */
    size_t used;        /* bytes of 'room' handed out */
    _Alignas(16) char room[CV_ROOM];   /* the first tables and texts: a usual request allocates nothing */
} cv_conv;

/* Build the conversation of the call 'c' describes (an answer's or a
   judge's).  0, or -1 with a message in 'err' (and nothing held: a
   cv_free after it is harmless). */
int cv_from_call(cv_conv *cv, const rv_call *c, char *err, size_t errlen);

void cv_free(cv_conv *cv);

/* Questions about a value, and its one writer: the jansson value, or the
   client's JSON text unchanged (an absent value is written as null, as
   jw_value writes NULL; callers ask cv_has first). */
int cv_has(const cv_val *v);
int cv_is_string(const cv_val *v);
int cv_is_object(const cv_val *v);
void cv_put_val(jw_writer *w, const cv_val *v);
/* A text as a JSON string: its token as the client wrote it when 'json'
   holds one (cv_part.json, cv_conv.system_json), else 'text' escaped by
   the writer. */
void cv_put_text(jw_writer *w, rv_sv text, rv_sv json);
/* The value as a list: a string as a one-element list (Anthropic's and
   Bedrock's stop sequences), anything else as it is. */
void cv_put_list(jw_writer *w, const cv_val *v);

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
