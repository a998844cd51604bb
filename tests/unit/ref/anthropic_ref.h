/* The anthropic answer parsers as they were before the yajl parsers
   (jansson trees), kept only as the reference of the differential test
   tests/unit/answers_diff_test.c.  Copied from vm/providers/anthropic.c at
   commit a42f6b6, names prefixed with ref_. */
/* ---------------------------------------------------------------- answers */

static int64_t ref_an_count(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static void ref_an_usage_of(ans_answer *a, json_t *u)
{
    if (!json_is_object(u))
        return;
    int64_t v;
    if ((v = ref_an_count(u, "input_tokens")) >= 0) {
        a->usage.input = v;
        a->usage.cache_read = a->usage.cache_read > 0 ? a->usage.cache_read : 0;
        a->usage.cache_write = a->usage.cache_write > 0 ? a->usage.cache_write : 0;
    }
    if ((v = ref_an_count(u, "cache_read_input_tokens")) >= 0)
        a->usage.cache_read = v;
    if ((v = ref_an_count(u, "cache_creation_input_tokens")) >= 0)
        a->usage.cache_write = v;
    if ((v = ref_an_count(u, "output_tokens")) >= 0)
        a->usage.output = v;
}

static void ref_an_copy_str(char *dst, size_t cap, json_t *s)
{
    if (json_is_string(s))
        snprintf(dst, cap, "%s", json_string_value(s));
}

static void ref_an_put_text(ans_answer *a, json_t *s)
{
    if (json_is_string(s))
        ans_text(a, json_string_value(s), json_string_length(s));
}

static void ref_an_error_object(ans_answer *a, int status, json_t *err)
{
    json_t *type = json_object_get(err, "type"), *msg = json_object_get(err, "message");
    const char *kind = json_is_string(type) ? json_string_value(type) : "";
    const char *m = json_is_string(msg) ? json_string_value(msg) : "";
    rv_failure f = ans_classify(status, kind, strlen(kind), m, strlen(m));
    if (!status && f == RV_FAIL_ERROR)
        f = RV_FAIL_SERVER;
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.60s)", status, kind);
    else if (status)
        ans_fail(a, f, "HTTP %d from the provider: %.160s", status, m[0] ? m : kind);
    else
        ans_fail(a, f, "the provider reported an error in the stream (%.40s): %.140s", kind, m);
}

static void ref_an_tool_block(ans_answer *a, uint32_t idx, json_t *b, int with_input)
{
    ans_tool *t = ans_tool_at(a, idx);
    if (!t)
        return;
    json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
    int bad = 0;
    if (json_is_string(id))
        bad |= ans_put(&t->id, json_string_value(id), json_string_length(id));
    if (json_is_string(name))
        bad |= ans_put(&t->name, json_string_value(name), json_string_length(name));
    json_t *input = json_object_get(b, "input");
    if (with_input && input) {
        char *s = json_dumps(input, JSON_COMPACT | JSON_PRESERVE_ORDER);
        bad |= !s || ans_put(&t->args, s, strlen(s));
        free(s);
    }
    if (bad)
        ans_fail(a, RV_FAIL_MALFORMED, "a tool call ref_an_is longer than the answer cap");
}

static void ref_an_parse(ans_answer *a, const char *body, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, ans_is_html(body, n) ? "the provider answered an HTML page, not JSON"
                                                            : "the answer ref_an_is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *type = json_object_get(o, "type");
    if (json_is_string(type) && !strcmp(json_string_value(type), "error")) {
        ref_an_error_object(a, 0, json_object_get(o, "error"));
        json_decref(o);
        return;
    }
    json_t *content = json_object_get(o, "content");
    if (!json_is_array(content)) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no content");
        json_decref(o);
        return;
    }
    size_t i;
    json_t *b;
    uint32_t ntool = 0;
    json_array_foreach(content, i, b) {
        json_t *bt = json_object_get(b, "type");
        const char *t = json_is_string(bt) ? json_string_value(bt) : "";
        if (!strcmp(t, "text"))
            ref_an_put_text(a, json_object_get(b, "text"));
        else if (!strcmp(t, "tool_use"))
            ref_an_tool_block(a, ntool++, b, 1);
    }
    json_t *sr = json_object_get(o, "stop_reason");
    if (json_is_string(sr))
        ans_finish(a, json_string_value(sr), json_string_length(sr));
    ref_an_usage_of(a, json_object_get(o, "usage"));
    ref_an_copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    ref_an_copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    a->ended = 1;
    json_decref(o);
}

static void ref_an_stream_init(an_stream *s)
{
    for (int i = 0; i < AN_MAX_BLOCKS; i++)
        s->block_tool[i] = -1;
    s->started = 0;
}

static int ref_an_is(const char *t, size_t n, const char *w)
{
    return strlen(w) == n && !memcmp(t, w, n);
}

static void ref_an_event(an_stream *s, ans_answer *a, const char *type, size_t tlen, const char *data, size_t n)
{
    if (a->failed || ref_an_is(type, tlen, "ping"))
        return;
    if (a->ended) {
        ans_fail(a, RV_FAIL_MALFORMED, "an event after message_stop");
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event ref_an_is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *ix = json_object_get(o, "index");
    int64_t idx = json_is_integer(ix) ? json_integer_value(ix) : -1;
    if (ref_an_is(type, tlen, "error")) {
        ref_an_error_object(a, 0, json_object_get(o, "error"));
    } else if (ref_an_is(type, tlen, "message_start")) {
        json_t *m = json_object_get(o, "message");
        ref_an_copy_str(a->model, sizeof a->model, json_object_get(m, "model"));
        ref_an_copy_str(a->id, sizeof a->id, json_object_get(m, "id"));
        ref_an_usage_of(a, json_object_get(m, "usage"));
        s->started = 1;
    } else if (!s->started) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event before message_start");
    } else if (ref_an_is(type, tlen, "content_block_start")) {
        json_t *b = json_object_get(o, "content_block");
        json_t *bt = json_object_get(b, "type");
        if (idx < 0 || idx >= AN_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (json_is_string(bt) && !strcmp(json_string_value(bt), "tool_use")) {
            s->block_tool[idx] = (int16_t)a->ntools;
            ref_an_tool_block(a, a->ntools, b, 0);
        } else if (json_is_string(bt) && !strcmp(json_string_value(bt), "text"))
            ref_an_put_text(a, json_object_get(b, "text"));
    } else if (ref_an_is(type, tlen, "content_block_delta")) {
        json_t *d = json_object_get(o, "delta");
        json_t *dt = json_object_get(d, "type");
        const char *t = json_is_string(dt) ? json_string_value(dt) : "";
        if (!strcmp(t, "text_delta"))
            ref_an_put_text(a, json_object_get(d, "text"));
        else if (!strcmp(t, "input_json_delta")) {
            json_t *pj = json_object_get(d, "partial_json");
            if (idx < 0 || idx >= AN_MAX_BLOCKS || s->block_tool[idx] < 0)
                ans_fail(a, RV_FAIL_MALFORMED, "tool input for a block that ref_an_is not a tool call");
            else if (json_is_string(pj) && ans_put(&a->tools[s->block_tool[idx]].args, json_string_value(pj),
                                                   json_string_length(pj)))
                ans_fail(a, RV_FAIL_MALFORMED, "a tool call ref_an_is longer than the answer cap");
        }
    } else if (ref_an_is(type, tlen, "message_delta")) {
        json_t *sr = json_object_get(json_object_get(o, "delta"), "stop_reason");
        if (json_is_string(sr))
            ans_finish(a, json_string_value(sr), json_string_length(sr));
        ref_an_usage_of(a, json_object_get(o, "usage"));
    } else if (ref_an_is(type, tlen, "message_stop")) {
        a->ended = 1;
    }
    json_decref(o);
}

static void ref_an_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    json_t *o = json_loadb(body, n, 0, NULL);
    json_t *err = json_object_get(o, "error");
    if (json_is_object(err))
        ref_an_error_object(a, status, err);
    else
        ans_fail(a, ans_classify(status, NULL, 0, NULL, 0),
                 ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider", status);
    json_decref(o);
}
