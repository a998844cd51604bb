/* AWS Bedrock Converse / ConverseStream; see bedrock.h. */
#include <stdlib.h>
#include <string.h>

#include "bedrock.h"

static json_t *sv_json(rv_sv s)
{
    return json_stringn(s.s ? s.s : "", s.len);
}

/* "image/png" -> "png" (Bedrock's formats: png, jpeg, gif, webp). */
static json_t *image_block(const cv_part *p, char *err, size_t errlen)
{
    if (!p->data.len || p->media_type.len < 7 || memcmp(p->media_type.s, "image/", 6)) {
        snprintf(err, errlen, "Bedrock takes images as bytes only: an image given by URL cannot be sent");
        return NULL;
    }
    rv_sv fmt = { p->media_type.s + 6, p->media_type.len - 6 };
    if (fmt.len == 3 && !memcmp(fmt.s, "jpg", 3))
        fmt = (rv_sv){ "jpeg", 4 };
    return json_pack("{s:{s:o, s:{s:o}}}", "image", "format", sv_json(fmt), "source", "bytes", sv_json(p->data));
}

static int add_parts(json_t *blocks, const cv_msg *m, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        if (p->kind == CV_TEXT && !p->text.len)
            continue;           /* Bedrock refuses blank text blocks */
        if (p->kind == CV_RAW) {
            snprintf(err, errlen, "a content part (audio, a file ...) has no Bedrock form");
            return -1;
        }
        json_t *b = p->kind == CV_TEXT ? json_pack("{s:o}", "text", sv_json(p->text)) : image_block(p, err, errlen);
        if (!b || json_array_append_new(blocks, b))
            return -1;
    }
    return 0;
}

static json_t *args_object(rv_sv a, char *err, size_t errlen)
{
    if (!a.len)
        return json_object();
    json_t *o = json_loadb(a.s, a.len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "tool-call arguments are not a JSON object");
        return NULL;
    }
    return o;
}

static int add_turn(json_t *msgs, const char *role, json_t *blocks)
{
    size_t n = json_array_size(msgs);
    json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
    if (last && !strcmp(json_string_value(json_object_get(last, "role")), role)) {
        int bad = json_array_extend(json_object_get(last, "content"), blocks);
        json_decref(blocks);
        return bad;
    }
    return json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", role, "content", blocks));
}

static json_t *messages_of(const cv_conv *cv, char *err, size_t errlen)
{
    json_t *msgs = json_array();
    err[0] = 0;
    for (uint32_t i = 0; msgs && i < cv->nmsgs; i++) {
        const cv_msg *m = &cv->msgs[i];
        json_t *blocks = json_array();
        int bad = !blocks;
        if (!bad && m->role == RV_ROLE_TOOL) {
            json_t *content = json_array();
            bad |= !content || add_parts(content, m, err, errlen);
            if (!bad && !json_array_size(content))
                bad |= json_array_append_new(content, json_pack("{s:s}", "text", ""));
            bad |= json_array_append_new(blocks, json_pack("{s:{s:o, s:o, s:s}}", "toolResult", "toolUseId",
                                                           sv_json(m->tool_call_id), "content", content, "status",
                                                           "success"));
        } else if (!bad) {
            bad |= add_parts(blocks, m, err, errlen);
            for (uint32_t k = 0; !bad && k < m->ncalls; k++) {
                json_t *input = args_object(m->calls[k].args, err, errlen);
                bad |= !input || json_array_append_new(blocks, json_pack("{s:{s:o, s:o, s:o}}", "toolUse", "toolUseId",
                                                                         sv_json(m->calls[k].id), "name",
                                                                         sv_json(m->calls[k].name), "input", input));
            }
        }
        if (!bad && !json_array_size(blocks))
            bad |= json_array_append_new(blocks, json_pack("{s:s}", "text", "(empty)"));
        if (bad)
            json_decref(blocks);
        if (bad || add_turn(msgs, m->role == RV_ROLE_ASSISTANT ? "assistant" : "user", blocks)) {
            if (!err[0])
                snprintf(err, errlen, "out of memory");
            json_decref(msgs);
            return NULL;
        }
    }
    return msgs;
}

static json_t *tool_config(const cv_conv *cv)
{
    json_t *tools = json_array();
    for (uint32_t i = 0; tools && i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        json_t *spec = json_pack("{s:o, s:{s:O}}", "name", sv_json(t->name), "inputSchema", "json",
                                 t->params && json_is_object(t->params) ? t->params : json_pack("{s:s}", "type", "object"));
        if (spec && t->desc.len)
            json_object_set_new(spec, "description", sv_json(t->desc));
        json_array_append_new(tools, json_pack("{s:o}", "toolSpec", spec));
    }
    json_t *tc = json_pack("{s:o}", "tools", tools);
    rv_sv c = cv->tool_choice;
    json_t *choice = NULL;
    if (c.len == 4 && !memcmp(c.s, "auto", 4))
        choice = json_pack("{s:{}}", "auto");
    else if (c.len == 8 && !memcmp(c.s, "required", 8))
        choice = json_pack("{s:{}}", "any");
    else if (cv->tool_choice_name.len)
        choice = json_pack("{s:{s:o}}", "tool", "name", sv_json(cv->tool_choice_name));
    if (tc && choice)
        json_object_set_new(tc, "toolChoice", choice);
    else
        json_decref(choice);
    return tc;
}

char *br_body(const cv_conv *cv, size_t *len, char *err, size_t errlen)
{
    json_t *msgs = messages_of(cv, err, errlen);
    if (!msgs)
        return NULL;
    json_t *o = json_pack("{s:o}", "messages", msgs), *inf = json_object();
    int bad = !o || !inf;
    if (!bad && cv->system.len)
        bad |= json_object_set_new(o, "system", json_pack("[{s:o}]", "text", sv_json(cv->system)));
    if (!bad && cv->max_tokens > 0)
        bad |= json_object_set_new(inf, "maxTokens", json_integer(cv->max_tokens));
    if (!bad && cv->temperature)
        bad |= json_object_set(inf, "temperature", cv->temperature);
    if (!bad && cv->top_p)
        bad |= json_object_set(inf, "topP", cv->top_p);
    if (!bad && cv->stop)
        bad |= json_object_set_new(inf, "stopSequences", json_is_string(cv->stop) ? json_pack("[O]", cv->stop)
                                                                                 : json_incref(cv->stop));
    if (!bad && json_object_size(inf))
        bad |= json_object_set(o, "inferenceConfig", inf);
    if (!bad && cv->ntools)
        bad |= json_object_set_new(o, "toolConfig", tool_config(cv));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_decref(inf);
    if (!s)
        snprintf(err, errlen, "out of memory");
    else
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
    int64_t in = count(u, "inputTokens"), out = count(u, "outputTokens"), cr = count(u, "cacheReadInputTokens"),
            cw = count(u, "cacheWriteInputTokens");
    if (in >= 0) {
        a->usage.input = in;
        a->usage.cache_read = cr > 0 ? cr : 0;
        a->usage.cache_write = cw > 0 ? cw : 0;
    }
    if (out >= 0)
        a->usage.output = out;
}

static void tool_use(ans_answer *a, uint32_t idx, json_t *tu, int with_input)
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

void br_parse(ans_answer *a, const char *body, size_t n)
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
            tool_use(a, ntool++, json_object_get(b, "toolUse"), 1);
    }
    json_t *sr = json_object_get(o, "stopReason");
    if (json_is_string(sr))
        ans_finish(a, json_string_value(sr), json_string_length(sr));
    usage_of(a, json_object_get(o, "usage"));
    a->ended = 1;
    json_decref(o);
}

void br_stream_init(br_stream *s)
{
    for (int i = 0; i < BR_MAX_BLOCKS; i++)
        s->block_tool[i] = -1;
    s->stopped = 0;
}

static int hdr_is(const es_header *h, const char *v)
{
    return h && h->type == ES_T_STRING && h->len == strlen(v) && !memcmp(h->data, v, h->len);
}

void br_message(br_stream *s, ans_answer *a, const es_message *m)
{
    if (a->failed)
        return;
    const es_header *mt = es_find(m, ":message-type"), *et = es_find(m, ":event-type");
    json_t *o = json_loadb((const char *)m->payload, m->payload_len, 0, NULL);
    if (hdr_is(mt, "exception") || hdr_is(mt, "error")) {
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
    if (!hdr_is(mt, "event") || !et || et->type != ES_T_STRING) {
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
    if (hdr_is(et, "contentBlockStart")) {
        json_t *tu = json_object_get(json_object_get(o, "start"), "toolUse");
        if (idx < 0 || idx >= BR_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (tu) {
            s->block_tool[idx] = (int16_t)a->ntools;
            tool_use(a, a->ntools, tu, 0);
        }
    } else if (hdr_is(et, "contentBlockDelta")) {
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
    } else if (hdr_is(et, "messageStop")) {
        json_t *sr = json_object_get(o, "stopReason");
        if (json_is_string(sr))
            ans_finish(a, json_string_value(sr), json_string_length(sr));
        s->stopped = 1;
    } else if (hdr_is(et, "metadata")) {
        usage_of(a, json_object_get(o, "usage"));
        if (s->stopped)
            a->ended = 1;
    }
    json_decref(o);
}

void br_error(ans_answer *a, int status, const char *etype, size_t elen, const char *body, size_t n)
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
