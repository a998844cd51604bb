/* AWS Bedrock Converse / ConverseStream; see bedrock.h.

   Bodies are written with the one JSON writer (vm/jsonw.h) straight into
   memory; only tool-call arguments are parsed (jansson), to be sent as
   the object Bedrock wants.  The client's sampling parameters and tool
   schemas are copied as written (conv.h).  Answers and stream payloads are parsed with
   yajl's callbacks into the answer's reusable node table (jview.h). */
#include <stdlib.h>
#include <string.h>

#include "bedrock.h"
#include "jsonw.h"
#include "jview.h"

/* s as a JSON string (a NULL view is ""). */
static void str(jw_writer *w, rv_sv s)
{
    jw_string(w, s.s ? s.s : "", s.len);
}

/* {"text": s} */
/* {"text": s}; 'json' is the text's JSON string as the client wrote it,
   when it is one (cv_put_text), else "" */
static void text_block(jw_writer *w, rv_sv s, rv_sv json)
{
    jw_object(w);
    JW_KEY(w, "text");
    cv_put_text(w, s, json);
    jw_end(w);
}

/* "image/png" -> "png" (Bedrock's formats: png, jpeg, gif, webp). */
static int image_block(jw_writer *w, const cv_part *p, char *err, size_t errlen)
{
    if (!p->data.len || p->media_type.len < 7 || memcmp(p->media_type.s, "image/", 6)) {
        snprintf(err, errlen, "Bedrock takes images as bytes only: an image given by URL cannot be sent");
        return -1;
    }
    rv_sv fmt = { p->media_type.s + 6, p->media_type.len - 6 };
    if (fmt.len == 3 && !memcmp(fmt.s, "jpg", 3))
        fmt = (rv_sv){ "jpeg", 4 };
    jw_object(w);
    JW_KEY(w, "image");
    jw_object(w);
    JW_KEY(w, "format");
    str(w, fmt);
    JW_KEY(w, "source");
    jw_object(w);
    JW_KEY(w, "bytes");
    str(w, p->data);
    jw_end(w);
    jw_end(w);
    jw_end(w);
    return 0;
}

/* The blocks of a turn's parts; the number written, or -1. */
static int add_parts(jw_writer *w, const cv_msg *m, char *err, size_t errlen)
{
    int n = 0;
    for (uint32_t i = 0; i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        if (p->kind == CV_TEXT && !p->text.len)
            continue;           /* Bedrock refuses blank text blocks */
        if (p->kind == CV_RAW) {
            snprintf(err, errlen, "a content part (audio, a file ...) has no Bedrock form");
            return -1;
        }
        if (p->kind == CV_TEXT)
            text_block(w, p->text, p->json);
        else if (image_block(w, p, err, errlen))
            return -1;
        n++;
    }
    return n;
}

/* One message's blocks, or {"text": "(empty)"} when it has none. */
static int blocks_of(jw_writer *w, const cv_msg *m, char *err, size_t errlen)
{
    int n;
    if (m->role == RV_ROLE_TOOL) {
        jw_object(w);
        JW_KEY(w, "toolResult");
        jw_object(w);
        JW_KEY(w, "toolUseId");
        str(w, m->tool_call_id);
        JW_KEY(w, "content");
        jw_array(w);
        int k = add_parts(w, m, err, errlen);
        if (k < 0)
            return -1;
        if (!k)
            text_block(w, (rv_sv){ "", 0 }, (rv_sv){ "", 0 });
        jw_end(w);
        JW_KEY(w, "status");
        jw_string(w, "success", 7);
        jw_end(w);
        jw_end(w);
        n = 1;
    } else {
        if ((n = add_parts(w, m, err, errlen)) < 0)
            return -1;
        for (uint32_t i = 0; i < m->ncalls; i++, n++) {
            jw_object(w);
            JW_KEY(w, "toolUse");
            jw_object(w);
            JW_KEY(w, "toolUseId");
            str(w, m->calls[i].id);
            JW_KEY(w, "name");
            str(w, m->calls[i].name);
            JW_KEY(w, "input");
            if (cv_put_args(w, m->calls[i].args, err, errlen))
                return -1;
            jw_end(w);
            jw_end(w);
        }
    }
    if (!n)
        text_block(w, (rv_sv){ "(empty)", 7 }, (rv_sv){ "", 0 });
    return 0;
}

static void tool_config(jw_writer *w, const cv_conv *cv)
{
    JW_KEY(w, "toolConfig");
    jw_object(w);
    JW_KEY(w, "tools");
    jw_array(w);
    for (uint32_t i = 0; i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        jw_object(w);
        JW_KEY(w, "toolSpec");
        jw_object(w);
        JW_KEY(w, "name");
        str(w, t->name);
        JW_KEY(w, "inputSchema");
        jw_object(w);
        JW_KEY(w, "json");
        if (cv_is_object(&t->params))
            cv_put_val(w, &t->params);
        else
            jw_raw(w, "{\"type\":\"object\"}", 17);
        jw_end(w);
        if (t->desc.len) {
            JW_KEY(w, "description");
            str(w, t->desc);
        }
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
    rv_sv c = cv->tool_choice;
    if (c.len == 4 && !memcmp(c.s, "auto", 4)) {
        JW_KEY(w, "toolChoice");
        jw_raw(w, "{\"auto\":{}}", 11);
    } else if (c.len == 8 && !memcmp(c.s, "required", 8)) {
        JW_KEY(w, "toolChoice");
        jw_raw(w, "{\"any\":{}}", 10);
    } else if (cv->tool_choice_name.len) {
        JW_KEY(w, "toolChoice");
        jw_object(w);
        JW_KEY(w, "tool");
        jw_object(w);
        JW_KEY(w, "name");
        str(w, cv->tool_choice_name);
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
}

/* "inferenceConfig", when there is anything to configure. */
static void inference_config(jw_writer *w, const cv_conv *cv)
{
    if (cv->max_tokens <= 0 && !cv_has(&cv->temperature) && !cv_has(&cv->top_p) && !cv_has(&cv->stop))
        return;
    JW_KEY(w, "inferenceConfig");
    jw_object(w);
    if (cv->max_tokens > 0) {
        JW_KEY(w, "maxTokens");
        jw_int(w, cv->max_tokens);
    }
    if (cv_has(&cv->temperature)) {
        JW_KEY(w, "temperature");
        cv_put_val(w, &cv->temperature);
    }
    if (cv_has(&cv->top_p)) {
        JW_KEY(w, "topP");
        cv_put_val(w, &cv->top_p);
    }
    if (cv_has(&cv->stop)) {
        JW_KEY(w, "stopSequences");
        cv_put_list(w, &cv->stop);
    }
    jw_end(w);
}

char *br_body(const cv_conv *cv, size_t *len, char *err, size_t errlen)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    err[0] = 0;
    jw_object(&w);
    JW_KEY(&w, "messages");
    if (cv_put_turns(&w, cv, blocks_of, err, errlen)) {
        jw_discard(&w);
        return NULL;
    }
    if (cv->system.len) {
        JW_KEY(&w, "system");
        jw_array(&w);
        text_block(&w, cv->system, cv->system_json);
        jw_end(&w);
    }
    inference_config(&w, cv);
    if (cv->ntools)
        tool_config(&w, cv);
    jw_end(&w);
    char *s = jw_take(&w, len);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

/* ---------------------------------------------------------------- answers */

static inline __attribute__((always_inline)) int64_t count(const jv_parser *J, jv o, const char *k)
{
    jv v = jv_get(J, o, k);
    return jv_typeof(J, v) == JV_INTEGER && jv_int(J, v) >= 0 ? jv_int(J, v) : -1;
}

static void usage_of(ans_answer *a, const jv_parser *J, jv u)
{
    if (jv_typeof(J, u) != JV_OBJECT)
        return;
    int64_t in = count(J, u, "inputTokens"), out = count(J, u, "outputTokens"),
            cr = count(J, u, "cacheReadInputTokens"), cw = count(J, u, "cacheWriteInputTokens");
    if (in >= 0) {
        a->usage.input = in;
        a->usage.cache_read = cr > 0 ? cr : 0;
        a->usage.cache_write = cw > 0 ? cw : 0;
    }
    if (out >= 0)
        a->usage.output = out;
}

/* A toolUse; with its "input" (any JSON value), written as the call's
   arguments in jansson's compact form. */
static void tool_use(ans_answer *a, uint32_t idx, const jv_parser *J, jv tu, int with_input)
{
    ans_tool *t = ans_tool_at(a, idx);
    if (!t)
        return;
    size_t il, nl;
    const char *id = jv_str(J, jv_get(J, tu, "toolUseId"), &il), *name = jv_str(J, jv_get(J, tu, "name"), &nl);
    jv input = jv_get(J, tu, "input");
    int bad = 0;
    if (id)
        bad |= ans_put(&t->id, id, il);
    if (name)
        bad |= ans_put(&t->name, name, nl);
    if (with_input && input) {
        jw_writer w;
        jw_init_mem(&w, 0);
        jv_write(J, input, &w);
        size_t len;
        char *s = jw_take(&w, &len);
        bad |= !s || ans_put(&t->args, s, len);
        free(s);
    }
    if (bad)
        ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
}

void br_parse(ans_answer *a, const char *body, size_t n)
{
    jv_parser *J = ans_json(a);
    if (!J) {
        ans_fail(a, RV_FAIL_ERROR, "out of memory");
        return;
    }
    jv o = jv_parse(J, body, n, 0);
    if (jv_typeof(J, o) != JV_OBJECT) {
        ans_fail(a, RV_FAIL_MALFORMED, ans_is_html(body, n) ? "the provider answered an HTML page, not JSON"
                                                            : "the answer is not valid JSON: %.100s", o ? "" : jv_error(J));
        return;
    }
    jv content = jv_get(J, jv_get(J, jv_get(J, o, "output"), "message"), "content");
    if (jv_typeof(J, content) != JV_ARRAY) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no output.message.content");
        return;
    }
    uint32_t ntool = 0;
    for (jv b = jv_first(J, content); b; b = jv_next(J, b)) {
        size_t tl;
        const char *t = jv_str(J, jv_get(J, b, "text"), &tl);
        jv tu;
        if (t)
            ans_text(a, t, tl);
        else if ((tu = jv_get(J, b, "toolUse")))
            tool_use(a, ntool++, J, tu, 1);
    }
    size_t sl;
    const char *sr = jv_str(J, jv_get(J, o, "stopReason"), &sl);
    if (sr)
        ans_finish(a, sr, sl);
    usage_of(a, J, jv_get(J, o, "usage"));
    a->ended = 1;
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

/* An exception or error frame: its class from the header's name and the
   payload's message. */
static void stream_exception(ans_answer *a, const es_message *m, const jv_parser *J, jv o)
{
    const es_header *x = es_find(m, ":exception-type");
    if (!x)
        x = es_find(m, ":error-code");
    char kind[80] = "";
    if (x && x->type == ES_T_STRING)
        snprintf(kind, sizeof kind, "%.*s", (int)(x->len < 79 ? x->len : 79), (const char *)x->data);
    size_t ml = 0;
    const char *msg = o ? jv_str(J, jv_get(J, o, "message"), &ml) : NULL;
    const char *ms = msg ? msg : "";
    rv_failure f = ans_classify(0, kind, strlen(kind), ms, ml);
    if (f == RV_FAIL_ERROR)
        f = RV_FAIL_SERVER;
    ans_fail(a, f, "the provider reported an error in the stream (%s): %.*s", kind, (int)(ml < 140 ? ml : 140), ms);
}

void br_message(br_stream *s, ans_answer *a, const es_message *m)
{
    if (a->failed)
        return;
    jv_parser *J = ans_json(a);
    if (!J) {
        ans_fail(a, RV_FAIL_ERROR, "out of memory");
        return;
    }
    const es_header *mt = es_find(m, ":message-type"), *et = es_find(m, ":event-type");
    jv o = jv_parse(J, (const char *)m->payload, m->payload_len, 1);
    if (hdr_is(mt, "exception") || hdr_is(mt, "error")) {
        stream_exception(a, m, J, o);
        return;
    }
    if (!hdr_is(mt, "event") || !et || et->type != ES_T_STRING) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream frame that is neither an event nor an exception");
        return;
    }
    if (jv_typeof(J, o) != JV_OBJECT) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event's payload is not a JSON object");
        return;
    }
    jv ix = jv_get(J, o, "contentBlockIndex");
    int64_t idx = jv_typeof(J, ix) == JV_INTEGER ? jv_int(J, ix) : -1;
    if (hdr_is(et, "contentBlockStart")) {
        jv tu = jv_get(J, jv_get(J, o, "start"), "toolUse");
        if (idx < 0 || idx >= BR_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (tu) {
            s->block_tool[idx] = (int16_t)a->ntools;
            tool_use(a, a->ntools, J, tu, 0);
        }
    } else if (hdr_is(et, "contentBlockDelta")) {
        jv d = jv_get(J, o, "delta"), tu = jv_get(J, d, "toolUse");
        size_t tl;
        const char *t = jv_str(J, jv_get(J, d, "text"), &tl);
        if (t)
            ans_text(a, t, tl);
        else if (tu) {
            size_t inl;
            const char *in = jv_str(J, jv_get(J, tu, "input"), &inl);
            if (idx < 0 || idx >= BR_MAX_BLOCKS || s->block_tool[idx] < 0)
                ans_fail(a, RV_FAIL_MALFORMED, "tool input for a block that is not a tool call");
            else if (in && ans_put(&a->tools[s->block_tool[idx]].args, in, inl))
                ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
        }
    } else if (hdr_is(et, "messageStop")) {
        size_t sl;
        const char *sr = jv_str(J, jv_get(J, o, "stopReason"), &sl);
        if (sr)
            ans_finish(a, sr, sl);
        s->stopped = 1;
    } else if (hdr_is(et, "metadata")) {
        usage_of(a, J, jv_get(J, o, "usage"));
        if (s->stopped)
            a->ended = 1;
    }
}

void br_error(ans_answer *a, int status, const char *etype, size_t elen, const char *body, size_t n)
{
    a->http_status = status;
    /* "ThrottlingException:http://internal.amazon.com/coral/..." -> the name */
    size_t k = 0;
    while (k < elen && etype[k] != ':')
        k++;
    jv_parser *J = ans_json(a);
    jv o = J ? jv_parse(J, body, n, 1) : 0;
    jv msg = o ? jv_get(J, o, "message") : 0;
    if (o && !msg)
        msg = jv_get(J, o, "Message");
    size_t ml = 0;
    const char *ms = msg ? jv_str(J, msg, &ml) : NULL;
    const char *m = ms ? ms : "";
    rv_failure f = ans_classify(status, etype, k, m, ml);
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.*s)", status, (int)(k < 60 ? k : 60), etype);
    else if (!o && ans_is_html(body, n))
        ans_fail(a, f, "HTTP %d from the provider (an HTML page)", status);
    else
        ans_fail(a, f, "HTTP %d from the provider (%.*s): %.*s", status, (int)(k < 60 ? k : 60), etype,
                 (int)(ml < 140 ? ml : 140), m);
}
