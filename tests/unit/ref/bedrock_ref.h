/* The bedrock answer parsers as they were before the yajl parsers
   (jansson trees), kept only as the reference of the differential test
   tests/unit/answers_diff_test.c.  Copied from vm/providers/bedrock.c at
   commit a42f6b6, names prefixed with ref_. */
/* ---------------------------------------------------------------- answers */

static int64_t ref_br_count(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

static void ref_br_usage_of(ans_answer *a, json_t *u)
{
    if (!json_is_object(u))
        return;
    int64_t in = ref_br_count(u, "inputTokens"), out = ref_br_count(u, "outputTokens"), cr = ref_br_count(u, "cacheReadInputTokens"),
            cw = ref_br_count(u, "cacheWriteInputTokens");
    if (in >= 0) {
        a->usage.input = in;
        a->usage.cache_read = cr > 0 ? cr : 0;
        a->usage.cache_write = cw > 0 ? cw : 0;
    }
    if (out >= 0)
        a->usage.output = out;
}

static void ref_br_tool_use(ans_answer *a, uint32_t idx, json_t *tu, int with_input)
{
    ans_tool *t = ans_tool_at(a, idx);
    if (!t)
        return;
    json_t *id = json_object_get(tu, "toolUseId"), *name = json_object_get(tu, "name"), *input = json_object_get(tu, "input");
    int bad = 0;
    if (json_is_string(id))
        bad |= ans_put(&t->id, json_string_value(id), json_string_length(id));
    if (json_is_string(name))
        bad |= ans_put(&t->name, json_string_value(name), json_string_length(name));
    if (with_input && input) {
        char *s = json_dumps(input, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        bad |= !s || ans_put(&t->args, s, strlen(s));
        free(s);
    }
    if (bad)
        ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
}

static void ref_br_parse(ans_answer *a, const char *body, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, ans_is_html(body, n) ? "the provider answered an HTML page, not JSON"
                                                            : "the answer is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *content = json_object_get(json_object_get(json_object_get(o, "output"), "message"), "content");
    if (!json_is_array(content)) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no output.message.content");
        json_decref(o);
        return;
    }
    size_t i;
    json_t *b;
    uint32_t ntool = 0;
    json_array_foreach(content, i, b) {
        json_t *t = json_object_get(b, "text");
        if (json_is_string(t))
            ans_text(a, json_string_value(t), json_string_length(t));
        else if (json_object_get(b, "toolUse"))
            ref_br_tool_use(a, ntool++, json_object_get(b, "toolUse"), 1);
    }
    json_t *sr = json_object_get(o, "stopReason");
    if (json_is_string(sr))
        ans_finish(a, json_string_value(sr), json_string_length(sr));
    ref_br_usage_of(a, json_object_get(o, "usage"));
    a->ended = 1;
    json_decref(o);
}

static void ref_br_stream_init(br_stream *s)
{
    for (int i = 0; i < BR_MAX_BLOCKS; i++)
        s->block_tool[i] = -1;
    s->stopped = 0;
}

static int ref_br_hdr_is(const es_header *h, const char *v)
{
    return h && h->type == ES_T_STRING && h->len == strlen(v) && !memcmp(h->data, v, h->len);
}

static void ref_br_message(br_stream *s, ans_answer *a, const es_message *m)
{
    if (a->failed)
        return;
    const es_header *mt = es_find(m, ":message-type"), *et = es_find(m, ":event-type");
    json_t *o = json_loadb((const char *)m->payload, m->payload_len, 0, NULL);
    if (ref_br_hdr_is(mt, "exception") || ref_br_hdr_is(mt, "error")) {
        const es_header *x = es_find(m, ":exception-type");
        if (!x)
            x = es_find(m, ":error-code");
        char kind[80] = "";
        if (x && x->type == ES_T_STRING)
            snprintf(kind, sizeof kind, "%.*s", (int)(x->len < 79 ? x->len : 79), (const char *)x->data);
        json_t *msg = json_object_get(o, "message");
        const char *ms = json_is_string(msg) ? json_string_value(msg) : "";
        rv_failure f = ans_classify(0, kind, strlen(kind), ms, strlen(ms));
        if (f == RV_FAIL_ERROR)
            f = RV_FAIL_SERVER;
        ans_fail(a, f, "the provider reported an error in the stream (%s): %.140s", kind, ms);
        json_decref(o);
        return;
    }
    if (!ref_br_hdr_is(mt, "event") || !et || et->type != ES_T_STRING) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream frame that is neither an event nor an exception");
        json_decref(o);
        return;
    }
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event's payload is not a JSON object");
        json_decref(o);
        return;
    }
    json_t *ix = json_object_get(o, "contentBlockIndex");
    int64_t idx = json_is_integer(ix) ? json_integer_value(ix) : -1;
    if (ref_br_hdr_is(et, "contentBlockStart")) {
        json_t *tu = json_object_get(json_object_get(o, "start"), "toolUse");
        if (idx < 0 || idx >= BR_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (tu) {
            s->block_tool[idx] = (int16_t)a->ntools;
            ref_br_tool_use(a, a->ntools, tu, 0);
        }
    } else if (ref_br_hdr_is(et, "contentBlockDelta")) {
        json_t *d = json_object_get(o, "delta"), *t = json_object_get(d, "text"), *tu = json_object_get(d, "toolUse");
        if (json_is_string(t))
            ans_text(a, json_string_value(t), json_string_length(t));
        else if (tu) {
            json_t *in = json_object_get(tu, "input");
            if (idx < 0 || idx >= BR_MAX_BLOCKS || s->block_tool[idx] < 0)
                ans_fail(a, RV_FAIL_MALFORMED, "tool input for a block that is not a tool call");
            else if (json_is_string(in) &&
                     ans_put(&a->tools[s->block_tool[idx]].args, json_string_value(in), json_string_length(in)))
                ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
        }
    } else if (ref_br_hdr_is(et, "messageStop")) {
        json_t *sr = json_object_get(o, "stopReason");
        if (json_is_string(sr))
            ans_finish(a, json_string_value(sr), json_string_length(sr));
        s->stopped = 1;
    } else if (ref_br_hdr_is(et, "metadata")) {
        ref_br_usage_of(a, json_object_get(o, "usage"));
        if (s->stopped)
            a->ended = 1;
    }
    json_decref(o);
}

static void ref_br_error(ans_answer *a, int status, const char *etype, size_t elen, const char *body, size_t n)
{
    a->http_status = status;
    /* "ThrottlingException:http://internal.amazon.com/coral/..." -> the name */
    size_t k = 0;
    while (k < elen && etype[k] != ':')
        k++;
    json_t *o = json_loadb(body, n, 0, NULL);
    json_t *msg = json_object_get(o, "message");
    if (!msg)
        msg = json_object_get(o, "Message");
    const char *m = json_is_string(msg) ? json_string_value(msg) : "";
    rv_failure f = ans_classify(status, etype, k, m, strlen(m));
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.*s)", status, (int)(k < 60 ? k : 60), etype);
    else if (!o && ans_is_html(body, n))
        ans_fail(a, f, "HTTP %d from the provider (an HTML page)", status);
    else
        ans_fail(a, f, "HTTP %d from the provider (%.*s): %.140s", status, (int)(k < 60 ? k : 60), etype, m);
    json_decref(o);
}
