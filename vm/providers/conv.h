/* The conversation a provider call sends, in one internal form that every
   provider's translation reads (openai.c, anthropic.c, bedrock.c): the
   system prompt, the turns with their text and image parts, the tool
   calls an assistant made and the tool results that answer them, the
   tools offered, and the sampling parameters.  A cascade or a fallback
   that moves a request to another provider builds the same conversation
   again for it, so nothing is lost in the move.

   Built from the client's OpenAI chat-completions body (cv_from_openai),
   with the VM's view of the call laid over it: the model's system
   template first, the texts as the input guardrails redacted them, the
   output limit; or from the messages the VM built itself (a judge's,
   cv_from_chat).

   Ownership: a conversation holds a reference to the parsed body (so its
   views stay valid) and owns its tables; views of texts the VM supplied
   (redacted texts, the template) are borrowed from the VM and valid until
   the VM's next vm_resume/vm_feed: build, translate, then drop.
   cv_free() releases everything. */
#ifndef RV_CONV_H
#define RV_CONV_H

#include <jansson.h>

#include "vm.h"

typedef enum { CV_TEXT, CV_IMAGE } cv_partkind;

typedef struct {
    uint8_t kind;       /* cv_partkind */
    rv_sv text;         /* TEXT */
    rv_sv url;          /* IMAGE: an https URL, or a data: URL (base64) */
    rv_sv media_type;   /* IMAGE from a data: URL: e.g. "image/png", else "" */
    rv_sv data;         /* IMAGE from a data: URL: the base64 payload, else "" */
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
    json_t *params;     /* the JSON schema (borrowed from the body), or NULL */
} cv_tool;

typedef struct {
    rv_sv system;       /* template, then the client's system/developer texts, joined with "\n\n" */
    cv_msg *msgs;       uint32_t nmsgs;
    cv_tool *tools;     uint32_t ntools;
    rv_sv tool_choice;  /* "auto", "none", "required", "function" or "" */
    rv_sv tool_choice_name;
    json_t *temperature, *top_p, *stop, *seed;  /* as the client sent them, or NULL */
    int64_t max_tokens; /* 0 = none */
    json_t *extra;      /* the body's other top-level fields (OpenAI pass-through), or NULL */
    json_t *root;       /* the parsed body (a reference) */
    void *mem;          /* owned blocks */
} cv_conv;

/* Build the conversation of an answer call: 'root' is the client's body
   (a reference is taken), 'c' the VM's call descriptor; the messages'
   texts are the request's views (req->msgs[i].text, redacted by the
   input guardrails) where they differ from the body's.  0, or -1 with a
   message in 'err'. */
int cv_from_openai(cv_conv *cv, json_t *root, const rv_call *c, char *err, size_t errlen);

/* Build the conversation of a call the VM composed (a judge's). */
int cv_from_chat(cv_conv *cv, const rv_chatmsg *msgs, uint32_t n, int64_t max_tokens, char *err, size_t errlen);

void cv_free(cv_conv *cv);

#endif
