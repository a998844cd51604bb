/* The client's answers; see reply.h.  Written member by member in the
   order the API documents them, which is the order the jansson builder
   before this one produced. */
#include <string.h>

#include "reply.h"

static int64_t count(int64_t v)
{
    return v > 0 ? v : 0;
}

static void usage(jw_writer *w, const rv_usage *u)
{
    int64_t prompt = count(u->input) + count(u->cache_read) + count(u->cache_write), out = count(u->output);
    JW_KEY(w, "usage");
    jw_object(w);
    JW_KEY(w, "prompt_tokens");
    jw_int(w, prompt);
    JW_KEY(w, "completion_tokens");
    jw_int(w, out);
    JW_KEY(w, "total_tokens");
    jw_int(w, prompt + out);
    JW_KEY(w, "prompt_tokens_details");
    jw_object(w);
    JW_KEY(w, "cached_tokens");
    jw_int(w, count(u->cache_read));
    jw_end(w);
    JW_KEY(w, "completion_tokens_details");
    jw_object(w);
    JW_KEY(w, "reasoning_tokens");
    jw_int(w, count(u->reasoning));
    jw_end(w);
    jw_end(w);
}

/* The tool calls array; a stream's carry their index after the function. */
static void tool_calls(jw_writer *w, const rv_toolcall *t, uint32_t n, int stream)
{
    JW_KEY(w, "tool_calls");
    jw_array(w);
    for (uint32_t i = 0; i < n; i++) {
        jw_object(w);
        JW_KEY(w, "id");
        jw_string(w, t[i].id.s, t[i].id.len);
        JW_KEY(w, "type");
        JW_STR(w, "function");
        JW_KEY(w, "function");
        jw_object(w);
        JW_KEY(w, "name");
        jw_string(w, t[i].name.s, t[i].name.len);
        JW_KEY(w, "arguments");
        jw_string(w, t[i].arguments.s, t[i].arguments.len);
        jw_end(w);
        if (stream) {
            JW_KEY(w, "index");
            jw_int(w, i);
        }
        jw_end(w);
    }
    jw_end(w);
}

/* {"id", "object" (a JW_STR literal), "created", "model", then "choices": [
   -- left open */
#define head(w, h, object) head_((w), (h), "\"" object "\"", sizeof(object) + 1)
static void head_(jw_writer *w, const rp_head *h, const char *object, size_t n)
{
    jw_object(w);
    JW_KEY(w, "id");
    jw_cstring(w, h->id);
    JW_KEY(w, "object");
    jw_raw_lit(w, object, n);
    JW_KEY(w, "created");
    jw_int(w, h->created);
    JW_KEY(w, "model");
    jw_cstring(w, h->model);
    JW_KEY(w, "choices");
    jw_array(w);
}

void rp_completion(jw_writer *w, const rp_head *h, rv_sv text, const rv_toolcall *tools, uint32_t ntools,
                   const char *finish, const rv_usage *u)
{
    head(w, h, "chat.completion");
    jw_object(w);
    JW_KEY(w, "index");
    jw_int(w, 0);
    JW_KEY(w, "message");
    jw_object(w);
    JW_KEY(w, "role");
    JW_STR(w, "assistant");
    JW_KEY(w, "content");
    jw_string(w, text.s, text.len);
    if (ntools)
        tool_calls(w, tools, ntools, 0);
    jw_end(w);
    JW_KEY(w, "logprobs");
    jw_null(w);
    JW_KEY(w, "finish_reason");
    jw_cstring(w, finish);
    jw_end(w);
    jw_end(w);
    usage(w, u);
    jw_end(w);
}

/* A chunk's one choice: "delta" opened by the caller's 'open' step, then
   closed here with the finish reason (null when NULL). */
void rp_chunk_prefix(jw_writer *pre, const rp_head *h)
{
    jw_clear(pre);
    head(pre, h, "chat.completion.chunk");
    jw_object(pre);
    JW_KEY(pre, "index");
    jw_int(pre, 0);
    JW_KEY(pre, "delta");
    jw_object(pre);
}

static void chunk_open(jw_writer *w, const rp_head *h)
{
    if (h->prefix) {
        jw_splice(w, h->prefix);
        return;
    }
    head(w, h, "chat.completion.chunk");
    jw_object(w);
    JW_KEY(w, "index");
    jw_int(w, 0);
    JW_KEY(w, "delta");
    jw_object(w);
}

static void chunk_close(jw_writer *w, const char *finish)
{
    jw_end(w);                  /* delta */
    JW_KEY(w, "finish_reason");
    if (finish)
        jw_cstring(w, finish);
    else
        jw_null(w);
    jw_end(w);                  /* the choice */
    jw_end(w);                  /* choices */
    jw_end(w);
}

void rp_chunk_role(jw_writer *w, const rp_head *h)
{
    chunk_open(w, h);
    JW_KEY(w, "role");
    JW_STR(w, "assistant");
    JW_KEY(w, "content");
    JW_STR(w, "");
    chunk_close(w, NULL);
}

void rp_chunk_text(jw_writer *w, const rp_head *h, rv_sv text)
{
    chunk_open(w, h);
    JW_KEY(w, "content");
    jw_string(w, text.s, text.len);
    chunk_close(w, NULL);
}

void rp_chunk_tools(jw_writer *w, const rp_head *h, const rv_toolcall *tools, uint32_t ntools)
{
    chunk_open(w, h);
    tool_calls(w, tools, ntools, 1);
    chunk_close(w, NULL);
}

void rp_chunk_finish(jw_writer *w, const rp_head *h, const char *finish)
{
    chunk_open(w, h);
    chunk_close(w, finish);
}

void rp_chunk_usage(jw_writer *w, const rp_head *h, const rv_usage *u)
{
    head(w, h, "chat.completion.chunk");
    jw_end(w);                  /* no choices */
    usage(w, u);
    jw_end(w);
}

void rp_error(jw_writer *w, const char *message, const char *type, const char *code)
{
    jw_object(w);
    JW_KEY(w, "error");
    jw_object(w);
    JW_KEY(w, "message");
    jw_cstring(w, message);
    JW_KEY(w, "type");
    jw_cstring(w, type);
    JW_KEY(w, "param");
    jw_null(w);
    JW_KEY(w, "code");
    jw_cstring(w, code);
    jw_end(w);
    jw_end(w);
}
