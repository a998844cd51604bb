/* OpenAI chat completions; see openai.h.

   Bodies are written with the one JSON writer (vm/jsonw.h), straight into
   memory, from the conversation: the system prompt as the first message,
   each turn's parts (a lone text part as a plain string, as clients
   usually send it), tool calls and results, tools, then the client's
   other fields unchanged.  Answers are read with
   jansson too; every field is optional and type-checked, so a surprising
   answer is a malformed one, never a crash. */
#include <string.h>

#include "jsonw.h"
#include "openai.h"

/* s as a JSON string (a NULL view is ""). */
static void str(jw_writer *w, rv_sv s)
{
    jw_string(w, s.s ? s.s : "", s.len);
}

static void content_of(jw_writer *w, const cv_msg *m)
{
    if (m->nparts == 1 && m->parts[0].kind == CV_TEXT) {
        str(w, m->parts[0].text);
        return;
    }
    if (!m->nparts) {
        if (m->role == RV_ROLE_ASSISTANT)
            jw_null(w);
        else
            jw_string(w, "", 0);
        return;
    }
    jw_array(w);
    for (uint32_t i = 0; i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        if (p->kind == CV_RAW) {
            jw_value(w, p->raw);
            continue;
        }
        jw_object(w);
        jw_key(w, "type");
        if (p->kind == CV_TEXT) {
            jw_string(w, "text", 4);
            jw_key(w, "text");
            str(w, p->text);
        } else {
            jw_string(w, "image_url", 9);
            jw_key(w, "image_url");
            jw_object(w);
            jw_key(w, "url");
            str(w, p->url);
            jw_end(w);
        }
        jw_end(w);
    }
    jw_end(w);
}

static void message_of(jw_writer *w, const cv_msg *m)
{
    static const char *const roles[] = { "system", "user", "assistant", "tool" };
    jw_object(w);
    jw_key(w, "role");
    jw_cstring(w, roles[m->role & 3]);
    jw_key(w, "content");
    content_of(w, m);
    if (m->name.len && m->role != RV_ROLE_TOOL) {
        jw_key(w, "name");
        str(w, m->name);
    }
    if (m->role == RV_ROLE_TOOL) {
        jw_key(w, "tool_call_id");
        str(w, m->tool_call_id);
    }
    if (m->ncalls) {
        jw_key(w, "tool_calls");
        jw_array(w);
        for (uint32_t i = 0; i < m->ncalls; i++) {
            jw_object(w);
            jw_key(w, "id");
            str(w, m->calls[i].id);
            jw_key(w, "type");
            jw_string(w, "function", 8);
            jw_key(w, "function");
            jw_object(w);
            jw_key(w, "name");
            str(w, m->calls[i].name);
            jw_key(w, "arguments");
            str(w, m->calls[i].args);
            jw_end(w);
            jw_end(w);
        }
        jw_end(w);
    }
    jw_end(w);
}

static void tools_of(jw_writer *w, const cv_conv *cv)
{
    jw_key(w, "tools");
    jw_array(w);
    for (uint32_t i = 0; i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        jw_object(w);
        jw_key(w, "type");
        jw_string(w, "function", 8);
        jw_key(w, "function");
        jw_object(w);
        jw_key(w, "name");
        str(w, t->name);
        if (t->desc.len) {
            jw_key(w, "description");
            str(w, t->desc);
        }
        if (t->params) {
            jw_key(w, "parameters");
            jw_value(w, t->params);
        }
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
}

/* The members written so far, so that a client's field of the same name
   (cv->extra) does not repeat one. */
typedef struct { const char *k[24]; int n; } written;

static void member(jw_writer *w, written *wr, const char *k)
{
    jw_key(w, k);
    wr->k[wr->n++] = k;
}

static void param(jw_writer *w, written *wr, const char *k, const json_t *v)
{
    if (v) {
        member(w, wr, k);
        jw_value(w, v);
    }
}

static int was_written(const written *wr, const char *k)
{
    for (int i = 0; i < wr->n; i++)
        if (!strcmp(wr->k[i], k))
            return 1;
    return 0;
}

char *oa_body(const cv_conv *cv, const char *model, const oa_opts *opt, size_t *len)
{
    jw_writer w;
    written wr = { .n = 0 };
    jw_init_mem(&w, 0);
    jw_object(&w);
    member(&w, &wr, "model");
    jw_cstring(&w, model);
    member(&w, &wr, "messages");
    jw_array(&w);
    if (cv->system.len) {
        jw_object(&w);
        jw_key(&w, "role");
        jw_string(&w, "system", 6);
        jw_key(&w, "content");
        str(&w, cv->system);
        jw_end(&w);
    }
    for (uint32_t i = 0; i < cv->nmsgs; i++)
        message_of(&w, &cv->msgs[i]);
    jw_end(&w);
    if (cv->ntools) {
        tools_of(&w, cv);
        wr.k[wr.n++] = "tools";
    }
    if (cv->tool_choice.len) {
        member(&w, &wr, "tool_choice");
        if (cv->tool_choice_name.len) {
            jw_object(&w);
            jw_key(&w, "type");
            jw_string(&w, "function", 8);
            jw_key(&w, "function");
            jw_object(&w);
            jw_key(&w, "name");
            str(&w, cv->tool_choice_name);
            jw_end(&w);
            jw_end(&w);
        } else
            str(&w, cv->tool_choice);
    }
    if (cv->max_tokens > 0) {
        member(&w, &wr, "max_tokens");
        jw_int(&w, cv->max_tokens);
    }
    param(&w, &wr, "temperature", cv->temperature);
    param(&w, &wr, "top_p", cv->top_p);
    param(&w, &wr, "stop", cv->stop);
    param(&w, &wr, "seed", cv->seed);
    param(&w, &wr, "presence_penalty", cv->presence);
    param(&w, &wr, "frequency_penalty", cv->frequency);
    param(&w, &wr, "top_k", cv->top_k);        /* not OpenAI's, but vLLM's and llama.cpp's */
    if (opt->logprobs) {
        member(&w, &wr, "logprobs");
        jw_bool(&w, 1);
    }
    if (opt->stream) {
        member(&w, &wr, "stream");
        jw_bool(&w, 1);
        member(&w, &wr, "stream_options");
        jw_raw(&w, "{\"include_usage\":true}", 22);
    }
    if (cv->extra) {
        const char *k;
        json_t *v;
        json_object_foreach(cv->extra, k, v)
            if (!was_written(&wr, k)) {
                jw_key(&w, k);
                jw_value(&w, v);
            }
    }
    jw_end(&w);
    return jw_take(&w, len);
}

/* ---------------------------------------------------------------- answers */

static int64_t count(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static void usage_of(ans_answer *a, json_t *u)
{
    if (!json_is_object(u))
        return;
    int64_t prompt = count(u, "prompt_tokens"), completion = count(u, "completion_tokens");
    int64_t cached = count(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
    int64_t reasoning = count(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
    if (cached < 0)
        cached = 0;
    if (prompt >= 0) {
        a->usage.input = prompt >= cached ? prompt - cached : 0;
        a->usage.cache_read = cached;
        a->usage.cache_write = 0;
    }
    if (completion >= 0) {
        a->usage.output = completion;
        a->usage.reasoning = reasoning >= 0 ? reasoning : 0;
    }
}

static void copy_str(char *dst, size_t cap, json_t *s)
{
    if (json_is_string(s))
        snprintf(dst, cap, "%s", json_string_value(s));
}

static void logprobs_of(ans_answer *a, json_t *lp)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(lp, "content"), i, t) {
        json_t *v = json_object_get(t, "logprob");
        if (json_is_number(v))
            ans_logprob(a, json_number_value(v));
    }
}

/* Tool calls, whole (a JSON answer) or in pieces (stream deltas). */
static void tool_calls_of(ans_answer *a, json_t *calls, int delta)
{
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        json_t *ix = json_object_get(tc, "index");
        uint32_t idx = delta && json_is_integer(ix) && json_integer_value(ix) >= 0 ? (uint32_t)json_integer_value(ix)
                                                                                  : (uint32_t)i;
        ans_tool *t = ans_tool_at(a, idx);
        if (!t)
            return;
        json_t *fn = json_object_get(tc, "function"), *id = json_object_get(tc, "id"),
               *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
        int bad = 0;
        if (json_is_string(id) && !t->id.len)
            bad |= ans_put(&t->id, json_string_value(id), json_string_length(id));
        if (json_is_string(name) && !t->name.len)
            bad |= ans_put(&t->name, json_string_value(name), json_string_length(name));
        if (json_is_string(args))
            bad |= ans_put(&t->args, json_string_value(args), json_string_length(args));
        if (bad) {
            ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
            return;
        }
    }
}

/* {"error": {...}} in a body or in a stream event */
static void error_object(ans_answer *a, int status, json_t *err)
{
    json_t *code = json_object_get(err, "code"), *type = json_object_get(err, "type"),
           *msg = json_object_get(err, "message");
    const char *kind = json_is_string(code) ? json_string_value(code) : json_is_string(type) ? json_string_value(type) : "";
    const char *m = json_is_string(msg) ? json_string_value(msg) : "";
    rv_failure f = ans_classify(status, kind, strlen(kind), m, strlen(m));
    if (!status && f == RV_FAIL_ERROR)
        f = RV_FAIL_SERVER;     /* an error in a stream after 200: the provider failed mid-answer */
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.60s)", status, kind);
    else if (status)
        ans_fail(a, f, "HTTP %d from the provider: %.160s", status, m[0] ? m : kind);
    else
        ans_fail(a, f, "the provider reported an error in the stream: %.160s", m[0] ? m : kind);
}

void oa_parse(ans_answer *a, const char *body, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, ans_is_html(body, n) ? "the provider answered an HTML page, not JSON"
                                                            : "the answer is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *err = json_object_get(o, "error");
    if (err && !json_is_null(err)) {
        error_object(a, 0, err);
        json_decref(o);
        return;
    }
    json_t *choice = json_array_get(json_object_get(o, "choices"), 0), *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no choices[0].message");
        json_decref(o);
        return;
    }
    json_t *content = json_object_get(msg, "content"), *refusal = json_object_get(msg, "refusal");
    if (json_is_string(content))
        ans_text(a, json_string_value(content), json_string_length(content));
    else if (json_is_string(refusal))
        ans_text(a, json_string_value(refusal), json_string_length(refusal));
    tool_calls_of(a, json_object_get(msg, "tool_calls"), 0);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
        ans_finish(a, json_string_value(fr), json_string_length(fr));
    logprobs_of(a, json_object_get(choice, "logprobs"));
    usage_of(a, json_object_get(o, "usage"));
    copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    a->ended = 1;
    json_decref(o);
}

void oa_event(ans_answer *a, const char *data, size_t n)
{
    if (a->failed)
        return;
    if (n == 6 && !memcmp(data, "[DONE]", 6)) {
        a->ended = 1;
        return;
    }
    if (a->ended) {
        ans_fail(a, RV_FAIL_MALFORMED, "an event after the end of the stream");
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *err = json_object_get(o, "error");
    if (err && !json_is_null(err)) {
        error_object(a, 0, err);
        json_decref(o);
        return;
    }
    if (!a->model[0])
        copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    if (!a->id[0])
        copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    json_t *choice = json_array_get(json_object_get(o, "choices"), 0), *delta = json_object_get(choice, "delta");
    json_t *content = json_object_get(delta, "content"), *refusal = json_object_get(delta, "refusal");
    if (json_is_string(content))
        ans_text(a, json_string_value(content), json_string_length(content));
    else if (json_is_string(refusal))
        ans_text(a, json_string_value(refusal), json_string_length(refusal));
    tool_calls_of(a, json_object_get(delta, "tool_calls"), 1);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
        ans_finish(a, json_string_value(fr), json_string_length(fr));
    logprobs_of(a, json_object_get(choice, "logprobs"));
    usage_of(a, json_object_get(o, "usage"));
    json_decref(o);
}

void oa_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    json_t *o = json_loadb(body, n, 0, NULL);
    json_t *err = json_object_get(o, "error");
    if (json_is_object(err))
        error_object(a, status, err);
    else {
        rv_failure f = ans_classify(status, NULL, 0, NULL, 0);
        ans_fail(a, f, ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider",
                 status);
    }
    json_decref(o);
}
