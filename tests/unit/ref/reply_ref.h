/* The client's answers as the request driver built them before
   vm/providers/reply.c (jansson trees printed by the JSON writer), kept
   only as the reference of the differential test
   tests/unit/reply_diff_test.c.  Copied from vm/providers/drive.c at
   commit 2744a99 (chunk, stream_head, stream_text, usage_json,
   tool_calls_json, stream_answer, dr_answer_json, dr_error_json and the
   terminal error event), names prefixed with ref_; the driver's state
   they read (request id, created, model, the result) comes in as
   arguments, and each returns the document instead of sending it. */

/* A JSON document as a malloc'd string (the one JSON writer), without
   the trailing newline; takes 'j'. */
static char *ref_json_text(json_t *j, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = j ? open_memstream(&buf, &n) : NULL;
    int bad = !f;
    if (f) {
        bad = jw_print(f, j, 0) != 0;
        bad |= fclose(f) != 0;
    }
    json_decref(j);
    if (bad) {
        free(buf);
        return NULL;
    }
    if (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    *len = n;
    return buf;
}

/* A chat.completion.chunk with 'delta', and 'finish' when not NULL. */
static char *ref_chunk(const char *reqid, int64_t created, const char *model, json_t *delta, const char *finish,
                       size_t *len)
{
    return ref_json_text(json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id", reqid, "object",
                                   "chat.completion.chunk", "created", (json_int_t)created, "model", model,
                                   "choices", "index", 0, "delta", delta, "finish_reason",
                                   finish ? json_string(finish) : json_null()),
                         len);
}

static char *ref_chunk_role(const char *reqid, int64_t created, const char *model, size_t *len)
{
    return ref_chunk(reqid, created, model, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL, len);
}

static char *ref_chunk_text(const char *reqid, int64_t created, const char *model, rv_sv t, size_t *len)
{
    return ref_chunk(reqid, created, model, json_pack("{s:o}", "content", jw_jstring(t.s, t.len)), NULL, len);
}

static json_t *ref_usage_json(const rv_usage *u)
{
    int64_t in = u->input > 0 ? u->input : 0, cr = u->cache_read > 0 ? u->cache_read : 0,
            cw = u->cache_write > 0 ? u->cache_write : 0, out = u->output > 0 ? u->output : 0;
    return json_pack("{s:I, s:I, s:I, s:{s:I}, s:{s:I}}", "prompt_tokens", (json_int_t)(in + cr + cw),
                     "completion_tokens", (json_int_t)out, "total_tokens", (json_int_t)(in + cr + cw + out),
                     "prompt_tokens_details", "cached_tokens", (json_int_t)cr, "completion_tokens_details",
                     "reasoning_tokens", (json_int_t)(u->reasoning > 0 ? u->reasoning : 0));
}

static json_t *ref_tool_calls_json(const rv_toolcall *tc, uint32_t ntc, int stream)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < ntc; i++) {
        const rv_toolcall *t = &tc[i];
        json_t *o = json_pack("{s:o, s:s, s:{s:o, s:o}}", "id", jw_jstring(t->id.s, t->id.len), "type", "function",
                              "function", "name", jw_jstring(t->name.s, t->name.len), "arguments",
                              jw_jstring(t->arguments.s, t->arguments.len));
        if (stream && o)
            json_object_set_new(o, "index", json_integer(i));
        json_array_append_new(arr, o);
    }
    return arr;
}

static char *ref_chunk_tools(const char *reqid, int64_t created, const char *model, const rv_toolcall *tc,
                             uint32_t ntc, size_t *len)
{
    return ref_chunk(reqid, created, model, json_pack("{s:o}", "tool_calls", ref_tool_calls_json(tc, ntc, 1)), NULL,
                     len);
}

static char *ref_chunk_finish(const char *reqid, int64_t created, const char *model, const char *finish, size_t *len)
{
    return ref_chunk(reqid, created, model, json_object(), finish, len);
}

static char *ref_chunk_usage(const char *reqid, int64_t created, const char *model, const rv_usage *u, size_t *len)
{
    return ref_json_text(json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", reqid, "object", "chat.completion.chunk",
                                   "created", (json_int_t)created, "model", model, "choices", "usage",
                                   ref_usage_json(u)),
                         len);
}

static char *ref_completion(const char *reqid, int64_t created, const char *model, rv_sv answer,
                            const rv_toolcall *tc, uint32_t ntc, const char *finish, const rv_usage *u, size_t *len)
{
    json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content", jw_jstring(answer.s, answer.len));
    if (msg && ntc)
        json_object_set_new(msg, "tool_calls", ref_tool_calls_json(tc, ntc, 0));
    return ref_json_text(json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", reqid, "object",
                                   "chat.completion", "created", (json_int_t)created, "model", model,
                                   "choices", "index", 0, "message", msg, "logprobs", "finish_reason",
                                   finish, "usage", ref_usage_json(u)),
                         len);
}

static char *ref_error(const char *message, const char *type, const char *code, size_t *len)
{
    return ref_json_text(json_pack("{s:{s:o, s:s, s:n, s:s}}", "error", "message",
                                   jw_jstring(message, strlen(message)), "type", type, "param", "code", code),
                         len);
}
