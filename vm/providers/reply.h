/* What the client of 'routevm run' and 'routevm serve' receives, in the
   shapes of OpenAI's chat completions API: the chat.completion body, the
   chat.completion.chunk events of a stream (the role, a piece of text,
   the tool calls, the finish reason, the usage) and the error object.
   The request driver (drive.c) decides what to send and when; this
   module only writes it.

   Each function writes one compact JSON document, without a newline,
   through the one JSON writer (vm/jsonw.h) into the caller's writer --
   typically a memory writer the caller clears and reuses, so writing an
   answer allocates nothing once the buffer has grown.  Strings of any
   bytes are escaped by the writer (bytes that are not UTF-8 become
   U+FFFD).  The layout is the one jansson's compact dump gives the same
   objects, member for member (tests/unit/reply_diff_test.c holds the
   jansson builder this replaced and compares the two).

   Usage: a class the provider did not report (-1) counts as 0; prompt
   tokens are input plus cache reads and writes, as OpenAI counts them.

   Ownership: every argument is borrowed for the call only. */
#ifndef RV_REPLY_H
#define RV_REPLY_H

#include <stdint.h>

#include "jsonw.h"
#include "vm.h"

/* What every document of one answer shares. */
typedef struct {
    const char *id;             /* the request id, "id" of the answer */
    int64_t created;            /* seconds since the epoch */
    const char *model;          /* the answering model's id */
    const jw_writer *prefix;    /* rp_chunk_prefix's for this head, or NULL */
} rp_head;

/* The chat.completion: the message ('text' and the tool calls), the
   finish reason and the usage. */
void rp_completion(jw_writer *w, const rp_head *h, rv_sv text, const rv_toolcall *tools, uint32_t ntools,
                   const char *finish, const rv_usage *u);

/* Stream chunks: the assistant's role (with empty content), a piece of
   text, the tool calls (each with its index), the finish reason (an
   empty delta), and the usage (no choices). */
/* What the chunks with a choice share -- the head, up to and including
   the opening of "delta" -- written once into 'pre' (a compact memory
   writer, emptied first): with it as the head's 'prefix', the chunks
   below copy it (jw_splice) instead of writing it again. */
void rp_chunk_prefix(jw_writer *pre, const rp_head *h);
void rp_chunk_role(jw_writer *w, const rp_head *h);
void rp_chunk_text(jw_writer *w, const rp_head *h, rv_sv text);
void rp_chunk_tools(jw_writer *w, const rp_head *h, const rv_toolcall *tools, uint32_t ntools);
void rp_chunk_finish(jw_writer *w, const rp_head *h, const char *finish);
void rp_chunk_usage(jw_writer *w, const rp_head *h, const rv_usage *u);

/* {"error": {"message", "type", "param": null, "code"}}. */
void rp_error(jw_writer *w, const char *message, const char *type, const char *code);

#endif
