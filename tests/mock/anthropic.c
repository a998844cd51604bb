/* The Anthropic Messages dialect of the mock provider: POST /v1/messages
   with 'x-api-key' and 'anthropic-version' headers, answered as a
   'message' object or as the SSE sequence message_start,
   content_block_start / content_block_delta / content_block_stop per block
   (text, then tool_use blocks with input_json_delta), message_delta with
   the stop reason and output usage, message_stop.  Usage carries the cache
   classes (cache_creation_input_tokens, cache_read_input_tokens); thinking
   tokens count as output, as Anthropic bills them.  Errors use the shape
   {"type": "error", "error": {"type", "message"}}, in a body or, after a
   200, as an "event: error". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"

typedef struct {
    json_t *body;
    const char *model;
    int stream;
    unsigned long id;
} ant_req;

static json_t *error_body(const char *type, const char *message, unsigned long id)
{
    char rid[64];
    snprintf(rid, sizeof rid, "req_mock%lu", id);
    return json_pack("{s:s,s:{s:s,s:s},s:s}", "type", "error", "error", "type", type, "message", message,
                     "request_id", rid);
}

static void refuse(dl_result *res, int status, const char *type, const char *message, unsigned long id)
{
    snprintf(res->info.error, sizeof res->info.error, "%s", message);
    dl_error_reply(&res->reply, status, error_body(type, message, id), "application/json", NULL);
}

static const char *error_type(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

static void scripted_error(dl_result *res, const scr_fault *f, unsigned long id)
{
    int status = f->kind == F_CONTEXT ? 400 : f->status;
    const char *msg = f->kind == F_CONTEXT ? "prompt is too long: 210000 tokens > 200000 maximum"
                    : status == 429 ? "Number of request tokens has exceeded your per-minute rate limit"
                    : status == 529 ? "Overloaded"
                    : status >= 500 ? "Internal server error" : "Invalid request";
    dl_error_reply(&res->reply, status,
                   error_body(f->error_type ? f->error_type : error_type(status), f->message ? f->message : msg, id),
                   "application/json", f);
}

/* ---- answers --------------------------------------------------------- */

static const char *stop_reason(enum scr_finish f)
{
    static const char *const n[] = { "end_turn", "max_tokens", "tool_use", "refusal" };
    return n[f];
}

static json_t *usage_object(const scr_answer *a, int start)
{
    const long *u = a->usage;
    return json_pack("{s:I,s:I,s:I,s:I}", "input_tokens", (json_int_t)u[U_INPUT],
                     "cache_creation_input_tokens", (json_int_t)u[U_CACHE_WRITE],
                     "cache_read_input_tokens", (json_int_t)u[U_CACHE_READ],
                     "output_tokens", (json_int_t)(start ? 1 : u[U_OUTPUT] + u[U_REASONING]));
}

static void tool_id(char *buf, size_t n, const scr_answer *a, size_t i, unsigned long id)
{
    if (a->tools[i].id)
        snprintf(buf, n, "%s", a->tools[i].id);
    else
        snprintf(buf, n, "toolu_mock%lu_%zu", id, i);
}

static json_t *message(const scr_answer *a, const ant_req *q, int start)
{
    char id[64];
    snprintf(id, sizeof id, "msg_mock%lu", q->id);
    json_t *content = json_array();
    if (!start) {
        char *text = scr_answer_text(a);
        if (text && (*text || !a->ntools))
            json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", text));
        free(text);
        for (size_t i = 0; i < a->ntools; i++) {
            char tid[128];
            tool_id(tid, sizeof tid, a, i, q->id);
            json_array_append_new(content, json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", tid, "name",
                                                     a->tools[i].name, "input", json_loads(a->tools[i].arguments, 0, NULL)));
        }
    }
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s?,s:n}", "id", id, "type", "message", "role", "assistant",
                          "model", q->model, "content", content, "stop_reason", start ? NULL : stop_reason(a->finish),
                          "stop_sequence");
    if (m && !a->usage_omit)
        json_object_set_new(m, "usage", usage_object(a, start));
    return m;
}

static void answer_json(dl_result *res, const ant_req *q)
{
    rp_init(&res->reply, 200, "application/json");
    json_t *m = message(&res->answer, q, 0);
    if (res->answer.fault && res->answer.fault->kind == F_MALFORMED_JSON)
        dl_json_cut(&res->reply, m);
    else
        dl_json_body(&res->reply, m);
}

static void event(dl_result *res, const char *name, json_t *data, int content, int last)
{
    dl_sse_json(&res->reply, &res->answer.sse, name, data, content, last);
}

/* A dialect fault due here; 1 when the stream ends with it. */
static int stream_fault(dl_result *res)
{
    const scr_fault *f = res->answer.fault;
    if (f->kind == F_INBAND_ERROR) {
        event(res, "error", json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type",
                                      f->error_type ? f->error_type : "overloaded_error",
                                      "message", f->message ? f->message : "Overloaded"), 0, 1);
        return 1;
    }
    if (f->kind == F_BAD_SSE || f->kind == F_MALFORMED_JSON) {
        scr_fault b = *f;
        if (f->kind == F_MALFORMED_JSON)
            b.sse_form = SSE_NOT_JSON;
        dl_sse_broken(&res->reply, &b, "content_block_delta");
    }
    return 0;
}

/* The blocks of a streamed answer: text (if any), then one per tool call.
   Returns 1 when a fault ended the stream. */
static int stream_blocks(dl_result *res, const ant_req *q, int *seen, int *fired)
{
    const scr_answer *a = &res->answer;
    int index = 0;
    if (a->nchunks) {
        event(res, "content_block_start", json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_start",
                                                    "index", 0, "content_block", "type", "text", "text", ""), 0, 0);
        for (size_t i = 0; i < a->nchunks; i++, (*seen)++) {
            if (dl_fault_due(a->fault, *seen, 0, fired) && stream_fault(res))
                return 1;
            event(res, "content_block_delta", json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_delta",
                                                        "index", 0, "delta", "type", "text_delta",
                                                        "text", a->chunks[i]), 1, 0);
        }
        event(res, "content_block_stop", json_pack("{s:s,s:i}", "type", "content_block_stop", "index", 0), 0, 0);
        index++;
    }
    for (size_t i = 0; i < a->ntools; i++, index++, (*seen)++) {
        char tid[128];
        tool_id(tid, sizeof tid, a, i, q->id);
        if (dl_fault_due(a->fault, *seen, 0, fired) && stream_fault(res))
            return 1;
        event(res, "content_block_start", json_pack("{s:s,s:i,s:{s:s,s:s,s:s,s:{}}}", "type", "content_block_start",
                                                    "index", index, "content_block", "type", "tool_use", "id", tid,
                                                    "name", a->tools[i].name, "input"), 0, 0);
        event(res, "content_block_delta", json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_delta",
                                                    "index", index, "delta", "type", "input_json_delta",
                                                    "partial_json", a->tools[i].arguments), 1, 0);
        event(res, "content_block_stop", json_pack("{s:s,s:i}", "type", "content_block_stop", "index", index), 0, 0);
    }
    return 0;
}

static void answer_stream(dl_result *res, const ant_req *q)
{
    const scr_answer *a = &res->answer;
    int seen = 0, fired = 0;
    rp_init(&res->reply, 200, "text/event-stream; charset=utf-8");
    rp_header(&res->reply, "Cache-Control", "no-cache");
    event(res, "message_start", json_pack("{s:s,s:o}", "type", "message_start", "message", message(a, q, 1)), 0, 0);
    event(res, "ping", json_pack("{s:s}", "type", "ping"), 0, 0);
    if (stream_blocks(res, q, &seen, &fired))
        return;
    if (dl_fault_due(a->fault, seen, 1, &fired) && stream_fault(res))
        return;
    int no_end = a->fault && a->fault->kind == F_NO_END;
    json_t *delta = json_pack("{s:s,s:{s:s,s:n}}", "type", "message_delta", "delta", "stop_reason",
                              stop_reason(a->finish), "stop_sequence");
    if (delta && !a->usage_omit)
        json_object_set_new(delta, "usage", json_pack("{s:I}", "output_tokens",
                                                      (json_int_t)(a->usage[U_OUTPUT] + a->usage[U_REASONING])));
    event(res, "message_delta", delta, 0, no_end);
    if (!no_end)
        event(res, "message_stop", json_pack("{s:s}", "type", "message_stop"), 0, 1);
}

/* ---- the request ----------------------------------------------------- */

/* Text of a content value: a string, or text blocks, and inside
   tool_result blocks (depth 0) their own content, one level deep only. */
static void blocks_text(json_t *content, dl_buf *b, int depth)
{
    if (json_is_string(content)) {
        dl_buf_str(b, json_string_value(content));
        return;
    }
    size_t i;
    json_t *blk;
    json_array_foreach(content, i, blk) {
        json_t *t = json_object_get(blk, "text");
        if (json_is_string(t))
            dl_buf_str(b, json_string_value(t));
        if (depth == 0)
            blocks_text(json_object_get(blk, "content"), b, 1);
        dl_buf_str(b, "\n");
    }
}

static void content_text(json_t *content, dl_buf *b)
{
    blocks_text(content, b, 0);
}

static int collect_texts(json_t *body, dl_buf *all, dl_buf *last_user)
{
    content_text(json_object_get(body, "system"), all);
    dl_buf_str(all, "\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        json_t *role = json_object_get(m, "role");
        if (!json_is_string(role) || (strcmp(json_string_value(role), "user") && strcmp(json_string_value(role), "assistant")))
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

static int check_headers(const dl_config *cfg, const http_request *req, dl_result *res)
{
    const char *key = http_header_get(req, "x-api-key");
    res->info.auth = "unchecked";
    if (cfg->anthropic_key) {
        res->info.auth = !key ? "missing" : dl_secret_eq(key, cfg->anthropic_key) ? "ok" : "bad";
        if (!key) {
            refuse(res, 401, "authentication_error", "x-api-key header is required", req->id);
            return -1;
        }
        if (strcmp(res->info.auth, "ok")) {
            refuse(res, 401, "authentication_error", "invalid x-api-key", req->id);
            return -1;
        }
    }
    if (!http_header_get(req, "anthropic-version")) {
        refuse(res, 400, "invalid_request_error", "anthropic-version: header is required", req->id);
        return -1;
    }
    return 0;
}

static void handle_parsed(const dl_config *cfg, ant_req *q, dl_result *res)
{
    json_t *model = json_object_get(q->body, "model"), *max = json_object_get(q->body, "max_tokens");
    json_t *messages = json_object_get(q->body, "messages");
    if (!json_is_string(model)) {
        refuse(res, 400, "invalid_request_error", "model: Field required", q->id);
        return;
    }
    q->model = json_string_value(model);
    snprintf(res->info.model, sizeof res->info.model, "%s", q->model);
    q->stream = json_is_true(json_object_get(q->body, "stream"));
    res->info.stream = q->stream;
    if (!json_is_integer(max) || json_integer_value(max) < 1) {
        refuse(res, 400, "invalid_request_error", "max_tokens: Field required (an integer >= 1)", q->id);
        return;
    }
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        refuse(res, 400, "invalid_request_error", "messages: at least one message is required", q->id);
        return;
    }
    if (!scr_has_model(cfg->script, q->model)) {
        char msg[300];
        snprintf(msg, sizeof msg, "model: %.200s", q->model);
        refuse(res, 404, "not_found_error", msg, q->id);
        return;
    }
    dl_buf all = { 0 }, last = { 0 };
    int bad = collect_texts(q->body, &all, &last);
    int rc = bad ? -1 : dl_answer(cfg, q->model, dl_buf_text(&last), dl_buf_text(&all), res);
    dl_buf_free(&all);
    dl_buf_free(&last);
    if (bad) {
        refuse(res, 400, "invalid_request_error", "messages: roles must be 'user' or 'assistant'", q->id);
        return;
    }
    if (rc) {
        dl_error_reply(&res->reply, 400, error_body("invalid_request_error", res->info.error, q->id),
                       "application/json", NULL);
        return;
    }
    const scr_fault *f = res->answer.fault;
    if (f && (f->kind == F_ERROR || f->kind == F_CONTEXT))
        scripted_error(res, f, q->id);
    else if (q->stream)
        answer_stream(res, q);
    else
        answer_json(res, q);
}

void ant_handle(const dl_config *cfg, const http_request *req, dl_result *res)
{
    ant_req q = { 0 };
    json_error_t je;
    res->info.dialect = "anthropic";
    q.id = req->id;
    if (check_headers(cfg, req, res))
        return;
    q.body = json_loadb(req->body, req->body_len, 0, &je);
    if (!json_is_object(q.body))
        refuse(res, 400, "invalid_request_error", "There was an issue with your request body: it is not a JSON object",
               req->id);
    else
        handle_parsed(cfg, &q, res);
    json_decref(q.body);
    char rid[64];
    snprintf(rid, sizeof rid, "req_mock%lu", req->id);
    rp_header(&res->reply, "request-id", rid);
}
