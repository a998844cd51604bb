/* The openai answer parsers as they were before the yajl parsers
   (jansson trees), kept only as the reference of the differential test
   tests/unit/answers_diff_test.c.  Copied from vm/providers/openai.c at
   commit a42f6b6, names prefixed with ref_. */
/* ---------------------------------------------------------------- answers */

static int64_t ref_oa_count(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static void ref_oa_usage_of(ans_answer *a, json_t *u)
{
    if (!json_is_object(u))
        return;
    int64_t prompt = ref_oa_count(u, "prompt_tokens"), completion = ref_oa_count(u, "completion_tokens");
    int64_t cached = ref_oa_count(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
    int64_t reasoning = ref_oa_count(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
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

static void ref_oa_copy_str(char *dst, size_t cap, json_t *s)
{
    if (json_is_string(s))
        snprintf(dst, cap, "%s", json_string_value(s));
}

static void ref_oa_logprobs_of(ans_answer *a, json_t *lp)
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
static void ref_oa_tool_calls_of(ans_answer *a, json_t *calls, int delta)
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
static void ref_oa_error_object(ans_answer *a, int status, json_t *err)
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

static void ref_oa_parse(ans_answer *a, const char *body, size_t n)
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
        ref_oa_error_object(a, 0, err);
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
    ref_oa_tool_calls_of(a, json_object_get(msg, "tool_calls"), 0);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
        ans_finish(a, json_string_value(fr), json_string_length(fr));
    ref_oa_logprobs_of(a, json_object_get(choice, "logprobs"));
    ref_oa_usage_of(a, json_object_get(o, "usage"));
    ref_oa_copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    ref_oa_copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    a->ended = 1;
    json_decref(o);
}

static void ref_oa_event(ans_answer *a, const char *data, size_t n)
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
        ref_oa_error_object(a, 0, err);
        json_decref(o);
        return;
    }
    if (!a->model[0])
        ref_oa_copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    if (!a->id[0])
        ref_oa_copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    json_t *choice = json_array_get(json_object_get(o, "choices"), 0), *delta = json_object_get(choice, "delta");
    json_t *content = json_object_get(delta, "content"), *refusal = json_object_get(delta, "refusal");
    if (json_is_string(content))
        ans_text(a, json_string_value(content), json_string_length(content));
    else if (json_is_string(refusal))
        ans_text(a, json_string_value(refusal), json_string_length(refusal));
    ref_oa_tool_calls_of(a, json_object_get(delta, "tool_calls"), 1);
    json_t *fr = json_object_get(choice, "finish_reason");
    if (json_is_string(fr))
        ans_finish(a, json_string_value(fr), json_string_length(fr));
    ref_oa_logprobs_of(a, json_object_get(choice, "logprobs"));
    ref_oa_usage_of(a, json_object_get(o, "usage"));
    json_decref(o);
}

static void ref_oa_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    json_t *o = json_loadb(body, n, 0, NULL);
    json_t *err = json_object_get(o, "error");
    if (json_is_object(err))
        ref_oa_error_object(a, status, err);
    else {
        rv_failure f = ans_classify(status, NULL, 0, NULL, 0);
        ans_fail(a, f, ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider",
                 status);
    }
    json_decref(o);
}
