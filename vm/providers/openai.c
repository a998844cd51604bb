/* OpenAI chat completions; see openai.h.

   Bodies are built with jansson from the conversation: the system prompt
   as the first message, each turn's parts (a lone text part as a plain
   string, as clients usually send it), tool calls and results, tools,
   then the client's other fields unchanged.  Answers are read with
   jansson too; every field is optional and type-checked, so a surprising
   answer is a malformed one, never a crash. */
#include <string.h>

#include "openai.h"

static json_t *sv_json(rv_sv s)
{
    return json_stringn(s.s ? s.s : "", s.len);
}

static json_t *content_of(const cv_msg *m)
{
    if (m->nparts == 1 && m->parts[0].kind == CV_TEXT)
        return sv_json(m->parts[0].text);
    if (!m->nparts)
        return m->role == RV_ROLE_ASSISTANT ? json_null() : json_string("");
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        json_t *o = p->kind == CV_TEXT ? json_pack("{s:s, s:o}", "type", "text", "text", sv_json(p->text))
                  : p->kind == CV_RAW ? json_incref(p->raw)
                  : json_pack("{s:s, s:{s:o}}", "type", "image_url", "image_url", "url", sv_json(p->url));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *message_of(const cv_msg *m)
{
    static const char *const roles[] = { "system", "user", "assistant", "tool" };
    json_t *o = json_pack("{s:s}", "role", roles[m->role & 3]);
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "content", content_of(m));
    if (m->name.len && m->role != RV_ROLE_TOOL)
        bad |= json_object_set_new(o, "name", sv_json(m->name));
    if (m->role == RV_ROLE_TOOL)
        bad |= json_object_set_new(o, "tool_call_id", sv_json(m->tool_call_id));
    if (m->ncalls) {
        json_t *calls = json_array();
        for (uint32_t i = 0; calls && i < m->ncalls; i++)
            bad |= json_array_append_new(calls, json_pack("{s:o, s:s, s:{s:o, s:o}}", "id", sv_json(m->calls[i].id),
                                                          "type", "function", "function", "name", sv_json(m->calls[i].name),
                                                          "arguments", sv_json(m->calls[i].args)));
        bad |= json_object_set_new(o, "tool_calls", calls);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *oa_body(const cv_conv *cv, const char *model, const oa_opts *opt, size_t *len)
{
    json_t *o = json_pack("{s:s}", "model", model), *msgs = json_array();
    int bad = !o || !msgs;
    if (!bad && cv->system.len)
        bad |= json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", "system", "content", sv_json(cv->system)));
    for (uint32_t i = 0; !bad && i < cv->nmsgs; i++)
        bad |= json_array_append_new(msgs, message_of(&cv->msgs[i]));
    if (!bad) {
        bad |= json_object_set_new(o, "messages", msgs);
        msgs = NULL;
    }
    if (!bad && cv->ntools) {
        json_t *tools = json_array();
        for (uint32_t i = 0; tools && i < cv->ntools; i++) {
            const cv_tool *t = &cv->tools[i];
            json_t *fn = json_pack("{s:o}", "name", sv_json(t->name));
            if (fn && t->desc.len)
                json_object_set_new(fn, "description", sv_json(t->desc));
            if (fn && t->params)
                json_object_set(fn, "parameters", t->params);
            bad |= json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
        }
        bad |= json_object_set_new(o, "tools", tools);
    }
    if (!bad && cv->tool_choice.len)
        bad |= json_object_set_new(o, "tool_choice", cv->tool_choice_name.len
            ? json_pack("{s:s, s:{s:o}}", "type", "function", "function", "name", sv_json(cv->tool_choice_name))
            : sv_json(cv->tool_choice));
    if (!bad && cv->max_tokens > 0)
        bad |= json_object_set_new(o, "max_tokens", json_integer(cv->max_tokens));
    if (!bad && cv->temperature)
        bad |= json_object_set(o, "temperature", cv->temperature);
    if (!bad && cv->top_p)
        bad |= json_object_set(o, "top_p", cv->top_p);
    if (!bad && cv->stop)
        bad |= json_object_set(o, "stop", cv->stop);
    if (!bad && cv->seed)
        bad |= json_object_set(o, "seed", cv->seed);
    if (!bad && cv->presence)
        bad |= json_object_set(o, "presence_penalty", cv->presence);
    if (!bad && cv->frequency)
        bad |= json_object_set(o, "frequency_penalty", cv->frequency);
    if (!bad && cv->top_k)          /* not OpenAI's, but vLLM's and llama.cpp's */
        bad |= json_object_set(o, "top_k", cv->top_k);
    if (!bad && opt->logprobs)
        bad |= json_object_set_new(o, "logprobs", json_true());
    if (!bad && opt->stream)
        bad |= json_object_set_new(o, "stream", json_true()) |
               json_object_set_new(o, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (!bad && cv->extra) {
        const char *k;
        json_t *v;
        json_object_foreach(cv->extra, k, v)
            if (!json_object_get(o, k))
                bad |= json_object_set(o, k, v);
    }
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_decref(msgs);
    if (s)
        *len = strlen(s);
    return s;
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
