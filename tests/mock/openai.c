/* The OpenAI chat-completions dialect of the mock provider: POST
   {prefix}/chat/completions with a bearer key, answered as a
   'chat.completion' object or as SSE 'chat.completion.chunk' events ending
   in "data: [DONE]", with usage by token class (cached prompt tokens and
   reasoning tokens in their details objects), log-probabilities when the
   request asks for them, and tool calls.  Errors use OpenAI's shape:
   {"error": {"message", "type", "param", "code"}}. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openai.h"

typedef struct {
    json_t *body;
    const char *model;
    int stream, include_usage, logprobs;
    int top_logprobs;
    unsigned long id;
    time_t created;
} oai_req;

static json_t *error_body(const char *message, const char *type, const char *param, const char *code)
{
    return json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "message", message, "type", type,
                     "param", param, "code", code);
}

static void refuse(dl_result *res, int status, const char *message, const char *type, const char *code)
{
    snprintf(res->info.error, sizeof res->info.error, "%s", message);
    dl_error_reply(&res->reply, status, error_body(message, type, NULL, code), "application/json", NULL);
}

/* ---- scripted errors ------------------------------------------------- */

static void scripted_error(dl_result *res, const scr_fault *f, const char *model)
{
    char msg[400];
    const char *type = "server_error", *code = NULL, *text;
    int status = f->kind == F_CONTEXT ? 400 : f->status;
    switch (status) {
    case 400: type = "invalid_request_error"; text = "Invalid request."; break;
    case 401: type = "invalid_request_error"; code = "invalid_api_key";
              text = "Incorrect API key provided."; break;
    case 403: type = "request_forbidden"; text = "Country, region, or territory not supported."; break;
    case 404: type = "invalid_request_error"; code = "model_not_found";
              text = "The model does not exist or you do not have access to it."; break;
    case 429: type = "requests"; code = "rate_limit_exceeded";
              text = "Rate limit reached for requests. Please try again later."; break;
    case 503: text = "The engine is currently overloaded, please try again later."; break;
    default: text = "The server had an error while processing your request. Sorry about that!"; break;
    }
    if (f->kind == F_CONTEXT) {
        snprintf(msg, sizeof msg, "This model's maximum context length is 128000 tokens. However, your messages "
                 "resulted in 131072 tokens. Please reduce the length of the messages.");
        text = msg;
        code = "context_length_exceeded";
    }
    (void)model;
    dl_error_reply(&res->reply, status,
                   error_body(f->message ? f->message : text, f->error_type ? f->error_type : type,
                              f->kind == F_CONTEXT ? "messages" : NULL, code),
                   "application/json", f);
}

/* ---- pieces of an answer --------------------------------------------- */

static const char *finish_name(enum scr_finish f)
{
    static const char *const n[] = { "stop", "length", "tool_calls", "content_filter" };
    return n[f];
}

static json_t *usage_object(const scr_answer *a)
{
    const long *u = a->usage;
    long prompt = u[U_INPUT] + u[U_CACHE_READ] + u[U_CACHE_WRITE], completion = u[U_OUTPUT] + u[U_REASONING];
    return json_pack("{s:I,s:I,s:I,s:{s:I,s:i},s:{s:I,s:i,s:i,s:i}}",
                     "prompt_tokens", (json_int_t)prompt, "completion_tokens", (json_int_t)completion,
                     "total_tokens", (json_int_t)(prompt + completion),
                     "prompt_tokens_details", "cached_tokens", (json_int_t)u[U_CACHE_READ], "audio_tokens", 0,
                     "completion_tokens_details", "reasoning_tokens", (json_int_t)u[U_REASONING],
                     "audio_tokens", 0, "accepted_prediction_tokens", 0, "rejected_prediction_tokens", 0);
}

static json_t *token_bytes(const char *t)
{
    json_t *a = json_array();
    for (const unsigned char *p = (const unsigned char *)t; *p && a; p++)
        json_array_append_new(a, json_integer(*p));
    return a;
}

/* One token's log-probability entry; the alternatives share what
   probability the chosen token leaves. */
static json_t *logprob_entry(const char *token, double lp, int top)
{
    json_t *alts = json_array();
    if (top > 0)
        json_array_append_new(alts, json_pack("{s:s,s:f,s:o}", "token", token, "logprob", lp,
                                              "bytes", token_bytes(token)));
    double rest = 1.0 - exp(lp);
    double alt = rest > 0 && top > 1 ? log(rest / (top - 1)) : -9999.0;
    for (int i = 1; i < top; i++) {
        char name[32];
        snprintf(name, sizeof name, " alt%d", i);
        json_array_append_new(alts, json_pack("{s:s,s:f,s:o}", "token", name, "logprob", alt < -9999 ? -9999.0 : alt,
                                              "bytes", token_bytes(name)));
    }
    return json_pack("{s:s,s:f,s:o,s:o}", "token", token, "logprob", lp, "bytes", token_bytes(token),
                     "top_logprobs", alts);
}

static json_t *logprobs_of(const scr_answer *a, size_t from, size_t to, int top)
{
    json_t *content = json_array();
    for (size_t i = from; i < to; i++)
        json_array_append_new(content, logprob_entry(a->chunks[i], a->logprobs[i], top));
    return json_pack("{s:o,s:n}", "content", content, "refusal");
}

static json_t *tool_call(const scr_answer *a, size_t i, unsigned long id, int stream_head)
{
    char gen[64];
    snprintf(gen, sizeof gen, "call_mock%lu_%zu", id, i);
    const char *tid = a->tools[i].id ? a->tools[i].id : gen;
    if (stream_head)
        return json_pack("{s:I,s:s,s:s,s:{s:s,s:s}}", "index", (json_int_t)i, "id", tid, "type", "function",
                         "function", "name", a->tools[i].name, "arguments", "");
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", tid, "type", "function", "function",
                     "name", a->tools[i].name, "arguments", a->tools[i].arguments);
}

/* ---- whole answers --------------------------------------------------- */

static void answer_json(dl_result *res, const oai_req *q)
{
    const scr_answer *a = &res->answer;
    char id[64];
    snprintf(id, sizeof id, "chatcmpl-mock%lu", q->id);
    char *text = scr_answer_text(a);
    json_t *msg = json_pack("{s:s,s:s?,s:n}", "role", "assistant", "content", a->ntools && !*text ? NULL : text,
                            "refusal");
    free(text);
    if (msg && a->ntools) {
        json_t *calls = json_array();
        for (size_t i = 0; i < a->ntools; i++)
            json_array_append_new(calls, tool_call(a, i, q->id, 0));
        json_object_set_new(msg, "tool_calls", calls);
    }
    json_t *choice = json_pack("{s:i,s:o,s:o,s:s}", "index", 0, "message", msg, "logprobs",
                               q->logprobs ? logprobs_of(a, 0, a->nchunks, q->top_logprobs) : json_null(),
                               "finish_reason", finish_name(a->finish));
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", id, "object", "chat.completion",
                          "created", (json_int_t)q->created, "model", q->model, "choices", choice);
    if (o && !a->usage_omit)
        json_object_set_new(o, "usage", usage_object(a));
    if (o)
        json_object_set_new(o, "system_fingerprint", json_string("fp_mock"));
    rp_init(&res->reply, 200, "application/json");
    if (a->fault && a->fault->kind == F_MALFORMED_JSON)
        dl_json_cut(&res->reply, o);
    else
        dl_json_body(&res->reply, o);
}

/* A chunk object around one choice delta (or none, for the usage chunk). */
static json_t *chunk(const oai_req *q, json_t *delta, json_t *logprobs, const char *finish)
{
    char id[64];
    snprintf(id, sizeof id, "chatcmpl-mock%lu", q->id);
    json_t *choices = json_array();
    if (delta)
        json_array_append_new(choices, json_pack("{s:i,s:o,s:o,s:s?}", "index", 0, "delta", delta, "logprobs",
                                                 logprobs ? logprobs : json_null(), "finish_reason", finish));
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o}", "id", id, "object", "chat.completion.chunk",
                          "created", (json_int_t)q->created, "model", q->model, "system_fingerprint", "fp_mock",
                          "choices", choices);
    if (o && q->include_usage)
        json_object_set_new(o, "usage", json_null());
    return o;
}

/* A dialect fault due at this point of the stream; 1 when the stream ends
   here. */
static int stream_fault(dl_result *res, const oai_req *q)
{
    const scr_fault *f = res->answer.fault;
    switch (f->kind) {
    case F_INBAND_ERROR:
        dl_sse_json(&res->reply, &res->answer.sse, NULL,
                    error_body(f->message ? f->message : "The server had an error while processing your request. "
                               "Sorry about that!", f->error_type ? f->error_type : "server_error", NULL, NULL),
                    0, 1);
        return 1;
    case F_BAD_SSE:
        dl_sse_broken(&res->reply, f, NULL);
        return 0;
    case F_MALFORMED_JSON: {
        scr_fault nj = *f;
        nj.sse_form = SSE_NOT_JSON;
        dl_sse_broken(&res->reply, &nj, NULL);
        return 0;
    }
    default:
        return 0;
    }
    (void)q;
}

static void answer_stream(dl_result *res, const oai_req *q)
{
    const scr_answer *a = &res->answer;
    const scr_sse *sse = &a->sse;
    rp_reply *r = &res->reply;
    int fired = 0, seen = 0;
    rp_init(r, 200, "text/event-stream; charset=utf-8");
    rp_header(r, "Cache-Control", "no-cache");
    dl_sse_json(r, sse, NULL, chunk(q, json_pack("{s:s,s:s,s:n}", "role", "assistant", "content", "", "refusal"),
                                    NULL, NULL), 0, 0);
    for (size_t i = 0; i < a->nchunks; i++, seen++) {
        if (dl_fault_due(a->fault, seen, 0, &fired) && stream_fault(res, q))
            return;
        dl_sse_json(r, sse, NULL, chunk(q, json_pack("{s:s}", "content", a->chunks[i]),
                                        q->logprobs ? logprobs_of(a, i, i + 1, q->top_logprobs) : NULL, NULL), 1, 0);
    }
    for (size_t i = 0; i < a->ntools; i++, seen++) {
        if (dl_fault_due(a->fault, seen, 0, &fired) && stream_fault(res, q))
            return;
        dl_sse_json(r, sse, NULL, chunk(q, json_pack("{s:[o]}", "tool_calls", tool_call(a, i, q->id, 1)), NULL, NULL),
                    0, 0);
        dl_sse_json(r, sse, NULL, chunk(q, json_pack("{s:[{s:I,s:{s:s}}]}", "tool_calls", "index", (json_int_t)i,
                                                     "function", "arguments", a->tools[i].arguments), NULL, NULL),
                    1, 0);
    }
    if (dl_fault_due(a->fault, seen, 1, &fired) && stream_fault(res, q))
        return;
    int no_end = a->fault && a->fault->kind == F_NO_END;
    int with_usage = q->include_usage && !a->usage_omit;
    dl_sse_json(r, sse, NULL, chunk(q, json_object(), NULL, finish_name(a->finish)), 0, no_end && !with_usage);
    if (with_usage) {
        json_t *u = chunk(q, NULL, NULL, NULL);
        if (u)
            json_object_set_new(u, "usage", usage_object(a));
        dl_sse_json(r, sse, NULL, u, 0, no_end);
    }
    if (!no_end)
        dl_sse_text(r, sse, NULL, "[DONE]", 0, 1);
}

/* ---- the request ----------------------------------------------------- */

/* Text of one message's content: a string, or the text parts of an array. */
static void content_text(json_t *content, dl_buf *b)
{
    if (json_is_string(content)) {
        dl_buf_str(b, json_string_value(content));
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        json_t *t = json_object_get(part, "text");
        if (json_is_string(t)) {
            dl_buf_str(b, json_string_value(t));
            dl_buf_str(b, "\n");
        }
    }
}

static int collect_texts(json_t *messages, dl_buf *all, dl_buf *last_user)
{
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        json_t *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role))
            return -1;
        content_text(json_object_get(m, "content"), all);
        dl_buf_str(all, "\n");
        if (!strcmp(json_string_value(role), "user")) {
            dl_buf_free(last_user);
            content_text(json_object_get(m, "content"), last_user);
        }
    }
    return all->failed || last_user->failed ? -1 : 0;
}

static int check_auth(const dl_config *cfg, const http_request *req, dl_result *res)
{
    const char *h = http_header_get(req, "authorization");
    if (!cfg->openai_key) {
        res->info.auth = "unchecked";
        return 0;
    }
    if (!h || strncmp(h, "Bearer ", 7)) {
        res->info.auth = "missing";
        refuse(res, 401, "You didn't provide an API key. You need to provide your API key in an Authorization "
               "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", NULL);
        return -1;
    }
    if (!dl_secret_eq(h + 7, cfg->openai_key)) {
        res->info.auth = "bad";
        refuse(res, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
        return -1;
    }
    res->info.auth = "ok";
    return 0;
}

static int read_options(oai_req *q, dl_result *res)
{
    json_t *v;
    q->stream = json_is_true(json_object_get(q->body, "stream"));
    v = json_object_get(json_object_get(q->body, "stream_options"), "include_usage");
    q->include_usage = q->stream && json_is_true(v);
    q->logprobs = json_is_true(json_object_get(q->body, "logprobs"));
    v = json_object_get(q->body, "top_logprobs");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 20)) {
        refuse(res, 400, "'top_logprobs' must be an integer from 0 to 20.", "invalid_request_error", NULL);
        return -1;
    }
    if (v && !q->logprobs) {
        refuse(res, 400, "'logprobs' must be set to true in order to use 'top_logprobs'.",
               "invalid_request_error", NULL);
        return -1;
    }
    q->top_logprobs = v ? (int)json_integer_value(v) : 0;
    res->info.stream = q->stream;
    return 0;
}

static void handle_parsed(const dl_config *cfg, oai_req *q, dl_result *res)
{
    json_t *model = json_object_get(q->body, "model"), *messages = json_object_get(q->body, "messages");
    if (!json_is_string(model)) {
        refuse(res, 400, "you must provide a model parameter", "invalid_request_error", NULL);
        return;
    }
    q->model = json_string_value(model);
    snprintf(res->info.model, sizeof res->info.model, "%s", q->model);
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        refuse(res, 400, "'messages' must be a non-empty array.", "invalid_request_error", NULL);
        return;
    }
    if (read_options(q, res))
        return;
    if (!scr_has_model(cfg->script, q->model)) {
        char msg[400];
        snprintf(msg, sizeof msg, "The model `%.200s` does not exist or you do not have access to it.", q->model);
        refuse(res, 404, msg, "invalid_request_error", "model_not_found");
        return;
    }
    dl_buf all = { 0 }, last = { 0 };
    int bad = collect_texts(messages, &all, &last);
    int rc = bad ? -1 : dl_answer(cfg, q->model, dl_buf_text(&last), dl_buf_text(&all), res);
    dl_buf_free(&all);
    dl_buf_free(&last);
    if (bad) {
        refuse(res, 400, "Invalid 'messages': each message needs a 'role'.", "invalid_request_error", NULL);
        return;
    }
    if (rc) {
        dl_error_reply(&res->reply, 400, error_body(res->info.error, "invalid_request_error", NULL, "mock_no_rule"),
                       "application/json", NULL);
        return;
    }
    const scr_fault *f = res->answer.fault;
    if (f && (f->kind == F_ERROR || f->kind == F_CONTEXT))
        scripted_error(res, f, q->model);
    else if (q->stream)
        answer_stream(res, q);
    else
        answer_json(res, q);
}

void oai_handle(const dl_config *cfg, const http_request *req, dl_result *res)
{
    oai_req q = { 0 };
    json_error_t je;
    res->info.dialect = "openai";
    if (check_auth(cfg, req, res))
        return;
    q.body = json_loadb(req->body, req->body_len, 0, &je);
    if (!json_is_object(q.body)) {
        refuse(res, 400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
               "using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
               "invalid_request_error", NULL);
        json_decref(q.body);
        return;
    }
    q.id = req->id;
    q.created = time(NULL);
    handle_parsed(cfg, &q, res);
    json_decref(q.body);
}
