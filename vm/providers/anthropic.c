/* Anthropic Messages; see anthropic.h.

   Bodies are written with the one JSON writer (vm/jsonw.h) straight into
   memory; only tool-call arguments are parsed (jansson), to be sent as
   the object Anthropic wants.  The client's sampling parameters and tool
   schemas are copied as written (conv.h).  Answers and stream events are parsed with
   yajl's callbacks into the answer's reusable node table (jview.h). */
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"
#include "jsonw.h"
#include "jview.h"

/* s as a JSON string (a NULL view is ""). */
static void str(jw_writer *w, rv_sv s)
{
    jw_string(w, s.s ? s.s : "", s.len);
}

/* {"type": t, ...: the rest of the block follows */
static void block(jw_writer *w, const char *type)
{
    jw_object(w);
    JW_KEY(w, "type");
    jw_cstring(w, type);
}

static void image_block(jw_writer *w, const cv_part *p)
{
    block(w, "image");
    JW_KEY(w, "source");
    jw_object(w);
    JW_KEY(w, "type");
    if (p->data.len) {
        jw_string(w, "base64", 6);
        JW_KEY(w, "media_type");
        str(w, p->media_type);
        JW_KEY(w, "data");
        str(w, p->data);
    } else {
        jw_string(w, "url", 3);
        JW_KEY(w, "url");
        str(w, p->url);
    }
    jw_end(w);
    jw_end(w);
}

/* The blocks of a turn's parts; the number written, or -1 (a part with
   no Anthropic form). */
static int add_parts(jw_writer *w, const cv_msg *m, char *err, size_t errlen)
{
    int n = 0;
    for (uint32_t i = 0; i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        if (p->kind == CV_TEXT && !p->text.len)
            continue;           /* Anthropic refuses empty text blocks */
        if (p->kind == CV_RAW) {
            snprintf(err, errlen, "a content part (audio, a file ...) has no Anthropic form");
            return -1;
        }
        if (p->kind == CV_TEXT) {
            block(w, "text");
            JW_KEY(w, "text");
            cv_put_text(w, p->text, p->json);
            jw_end(w);
        } else
            image_block(w, p);
        n++;
    }
    return n;
}

/* One message's blocks: tool results, parts, tool calls, or "(empty)"
   when it has none.  -1 with a message in 'err'. */
static int blocks_of(jw_writer *w, const cv_msg *m, char *err, size_t errlen)
{
    int n = 0, bad = 0;
    if (m->role == RV_ROLE_TOOL) {
        block(w, "tool_result");
        JW_KEY(w, "tool_use_id");
        str(w, m->tool_call_id);
        JW_KEY(w, "content");
        jw_array(w);
        bad = add_parts(w, m, err, errlen) < 0;
        jw_end(w);
        jw_end(w);
        n = 1;
    } else {
        int k = add_parts(w, m, err, errlen);
        bad = k < 0;
        n = k > 0 ? k : 0;
        for (uint32_t i = 0; i < m->ncalls; i++, n++) {
            block(w, "tool_use");
            JW_KEY(w, "id");
            str(w, m->calls[i].id);
            JW_KEY(w, "name");
            str(w, m->calls[i].name);
            JW_KEY(w, "input");
            if (cv_put_args(w, m->calls[i].args, err, errlen))
                return -1;
            jw_end(w);
        }
    }
    if (!n) {                   /* an empty turn: Anthropic wants some content */
        block(w, "text");
        JW_KEY(w, "text");
        jw_string(w, "(empty)", 7);
        jw_end(w);
    }
    return bad ? -1 : 0;
}

static void tools_of(jw_writer *w, const cv_conv *cv)
{
    JW_KEY(w, "tools");
    jw_array(w);
    for (uint32_t i = 0; i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        jw_object(w);
        JW_KEY(w, "name");
        str(w, t->name);
        if (t->desc.len) {
            JW_KEY(w, "description");
            str(w, t->desc);
        }
        JW_KEY(w, "input_schema");
        if (cv_is_object(&t->params))
            cv_put_val(w, &t->params);
        else
            jw_raw(w, "{\"type\":\"object\"}", 17);
        jw_end(w);
    }
    jw_end(w);
}

/* tool_choice auto/none/required/function -> auto/none/any/tool, only
   with tools. */
static void tool_choice_of(jw_writer *w, const cv_conv *cv)
{
    rv_sv tc = cv->tool_choice;
    const char *type = tc.len == 4 && !memcmp(tc.s, "auto", 4) ? "auto"
                     : tc.len == 4 && !memcmp(tc.s, "none", 4) ? "none"
                     : tc.len == 8 && !memcmp(tc.s, "required", 8) ? "any"
                     : cv->tool_choice_name.len ? "tool" : NULL;
    if (!type || !cv->ntools)
        return;
    JW_KEY(w, "tool_choice");
    block(w, type);
    if (type[0] == 't') {
        JW_KEY(w, "name");
        str(w, cv->tool_choice_name);
    }
    jw_end(w);
}

/* A parameter's member when the conversation has a value. */
#define PARAM(w, lit, v)                                                       \
    do {                                                                       \
        if (cv_has(v)) {                                                       \
            JW_KEY(w, lit);                                                    \
            cv_put_val(w, v);                                                  \
        }                                                                      \
    } while (0)

char *an_body(const cv_conv *cv, const char *model, int stream, size_t *len, char *err, size_t errlen)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    err[0] = 0;
    jw_object(&w);
    JW_KEY(&w, "model");
    jw_cstring(&w, model);
    JW_KEY(&w, "max_tokens");
    jw_int(&w, cv->max_tokens > 0 ? cv->max_tokens : AN_DEFAULT_MAX_TOKENS);
    JW_KEY(&w, "messages");
    if (cv_put_turns(&w, cv, blocks_of, err, errlen)) {
        jw_discard(&w);
        return NULL;
    }
    if (cv->system.len) {
        JW_KEY(&w, "system");
        cv_put_text(&w, cv->system, cv->system_json);
    }
    if (cv->ntools)
        tools_of(&w, cv);
    if (cv->tool_choice.len)
        tool_choice_of(&w, cv);
    PARAM(&w, "temperature", &cv->temperature);
    PARAM(&w, "top_p", &cv->top_p);
    PARAM(&w, "top_k", &cv->top_k);
    if (cv_has(&cv->stop)) {
        JW_KEY(&w, "stop_sequences");
        cv_put_list(&w, &cv->stop);
    }
    if (stream) {
        JW_KEY(&w, "stream");
        jw_bool(&w, 1);
    }
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
    int64_t v;
    if ((v = count(J, u, "input_tokens")) >= 0) {
        a->usage.input = v;
        a->usage.cache_read = a->usage.cache_read > 0 ? a->usage.cache_read : 0;
        a->usage.cache_write = a->usage.cache_write > 0 ? a->usage.cache_write : 0;
    }
    if ((v = count(J, u, "cache_read_input_tokens")) >= 0)
        a->usage.cache_read = v;
    if ((v = count(J, u, "cache_creation_input_tokens")) >= 0)
        a->usage.cache_write = v;
    if ((v = count(J, u, "output_tokens")) >= 0)
        a->usage.output = v;
}

static void copy_str(char *dst, size_t cap, const jv_parser *J, jv s)
{
    size_t n = 0;
    const char *v = jv_str(J, s, &n);
    if (v)
        ans_copy(dst, cap, v, n);
}

/* At most 'max' bytes of a string, for "%.*s". */
static int upto(size_t n, size_t max)
{
    return (int)(n < max ? n : max);
}

static void put_text(ans_answer *a, const jv_parser *J, jv s)
{
    size_t n;
    const char *v = jv_str(J, s, &n);
    if (v)
        ans_text(a, v, n);
}

static void error_object(ans_answer *a, int status, const jv_parser *J, jv err)
{
    size_t kl = 0, ml = 0;
    const char *type = jv_str(J, jv_get(J, err, "type"), &kl), *msg = jv_str(J, jv_get(J, err, "message"), &ml);
    const char *kind = type ? type : "";
    const char *m = msg ? msg : "";
    rv_failure f = ans_classify(status, kind, kl, m, ml);
    if (!status && f == RV_FAIL_ERROR)
        f = RV_FAIL_SERVER;
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.*s)", status, upto(kl, 60), kind);
    else if (status)
        ans_fail(a, f, "HTTP %d from the provider: %.*s", status, ml ? upto(ml, 160) : upto(kl, 160), ml ? m : kind);
    else
        ans_fail(a, f, "the provider reported an error in the stream (%.*s): %.*s", upto(kl, 40), kind, upto(ml, 140), m);
}

/* A tool_use block; with its "input" (an object or array), written as
   the call's arguments in jansson's compact form. */
static void tool_block(ans_answer *a, uint32_t idx, const jv_parser *J, jv b, int with_input)
{
    ans_tool *t = ans_tool_at(a, idx);
    if (!t)
        return;
    size_t il, nl;
    const char *id = jv_str(J, jv_get(J, b, "id"), &il), *name = jv_str(J, jv_get(J, b, "name"), &nl);
    int bad = 0;
    if (id)
        bad |= ans_put(&t->id, id, il);
    if (name)
        bad |= ans_put(&t->name, name, nl);
    jv input = jv_get(J, b, "input");
    if (with_input && input) {
        jv_type ty = jv_typeof(J, input);
        jw_writer w;
        jw_init_mem(&w, 0);
        if (ty == JV_OBJECT || ty == JV_ARRAY)     /* no other value at the top, as before */
            jv_write(J, input, &w);
        else
            w.err = -1;
        size_t len;
        char *s = jw_take(&w, &len);
        bad |= !s || ans_put(&t->args, s, len);
        free(s);
    }
    if (bad)
        ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
}

/* The JSON object s[0..n), or 0 with the answer failed. */
static jv object_of(ans_answer *a, const char *s, size_t n, int html)
{
    jv_parser *J = ans_json(a);
    if (!J) {
        ans_fail(a, RV_FAIL_ERROR, "out of memory");
        return 0;
    }
    jv o = jv_parse(J, s, n, 0);
    if (jv_typeof(J, o) != JV_OBJECT) {
        if (html && ans_is_html(s, n))
            ans_fail(a, RV_FAIL_MALFORMED, "the provider answered an HTML page, not JSON");
        else
            ans_fail(a, RV_FAIL_MALFORMED, "%s is not valid JSON: %.100s", html ? "the answer" : "a stream event",
                     o ? "" : jv_error(J));
        return 0;
    }
    return o;
}

void an_parse(ans_answer *a, const char *body, size_t n)
{
    jv o = object_of(a, body, n, 1);
    if (!o)
        return;
    const jv_parser *J = a->json;
    if (jv_is(J, jv_get(J, o, "type"), "error")) {
        error_object(a, 0, J, jv_get(J, o, "error"));
        return;
    }
    jv content = jv_get(J, o, "content");
    if (jv_typeof(J, content) != JV_ARRAY) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no content");
        return;
    }
    uint32_t ntool = 0;
    for (jv b = jv_first(J, content); b; b = jv_next(J, b)) {
        jv bt = jv_get(J, b, "type");
        if (jv_is(J, bt, "text"))
            put_text(a, J, jv_get(J, b, "text"));
        else if (jv_is(J, bt, "tool_use"))
            tool_block(a, ntool++, J, b, 1);
    }
    size_t sl;
    const char *sr = jv_str(J, jv_get(J, o, "stop_reason"), &sl);
    if (sr)
        ans_finish(a, sr, sl);
    usage_of(a, J, jv_get(J, o, "usage"));
    copy_str(a->model, sizeof a->model, J, jv_get(J, o, "model"));
    copy_str(a->id, sizeof a->id, J, jv_get(J, o, "id"));
    a->ended = 1;
}

void an_stream_init(an_stream *s)
{
    for (int i = 0; i < AN_MAX_BLOCKS; i++)
        s->block_tool[i] = -1;
    s->started = 0;
}

static int is(const char *t, size_t n, const char *w)
{
    return strlen(w) == n && !memcmp(t, w, n);
}

void an_event(an_stream *s, ans_answer *a, const char *type, size_t tlen, const char *data, size_t n)
{
    if (a->failed || is(type, tlen, "ping"))
        return;
    if (a->ended) {
        ans_fail(a, RV_FAIL_MALFORMED, "an event after message_stop");
        return;
    }
    jv o = object_of(a, data, n, 0);
    if (!o)
        return;
    const jv_parser *J = a->json;
    jv ix = jv_get(J, o, "index");
    int64_t idx = jv_typeof(J, ix) == JV_INTEGER ? jv_int(J, ix) : -1;
    if (is(type, tlen, "error")) {
        error_object(a, 0, J, jv_get(J, o, "error"));
    } else if (is(type, tlen, "message_start")) {
        jv m = jv_get(J, o, "message");
        copy_str(a->model, sizeof a->model, J, jv_get(J, m, "model"));
        copy_str(a->id, sizeof a->id, J, jv_get(J, m, "id"));
        usage_of(a, J, jv_get(J, m, "usage"));
        s->started = 1;
    } else if (!s->started) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event before message_start");
    } else if (is(type, tlen, "content_block_start")) {
        jv b = jv_get(J, o, "content_block");
        jv bt = jv_get(J, b, "type");
        if (idx < 0 || idx >= AN_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (jv_is(J, bt, "tool_use")) {
            s->block_tool[idx] = (int16_t)a->ntools;
            tool_block(a, a->ntools, J, b, 0);
        } else if (jv_is(J, bt, "text"))
            put_text(a, J, jv_get(J, b, "text"));
    } else if (is(type, tlen, "content_block_delta")) {
        jv d = jv_get(J, o, "delta");
        jv dt = jv_get(J, d, "type");
        if (jv_is(J, dt, "text_delta"))
            put_text(a, J, jv_get(J, d, "text"));
        else if (jv_is(J, dt, "input_json_delta")) {
            size_t pl;
            const char *pj = jv_str(J, jv_get(J, d, "partial_json"), &pl);
            if (idx < 0 || idx >= AN_MAX_BLOCKS || s->block_tool[idx] < 0)
                ans_fail(a, RV_FAIL_MALFORMED, "tool input for a block that is not a tool call");
            else if (pj && ans_put(&a->tools[s->block_tool[idx]].args, pj, pl))
                ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
        }
    } else if (is(type, tlen, "message_delta")) {
        size_t sl;
        const char *sr = jv_str(J, jv_get(J, jv_get(J, o, "delta"), "stop_reason"), &sl);
        if (sr)
            ans_finish(a, sr, sl);
        usage_of(a, J, jv_get(J, o, "usage"));
    } else if (is(type, tlen, "message_stop")) {
        a->ended = 1;
    }
}

void an_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    jv_parser *J = ans_json(a);
    jv o = J ? jv_parse(J, body, n, 1) : 0;
    jv err = o ? jv_get(J, o, "error") : 0;
    if (err && jv_typeof(J, err) == JV_OBJECT)
        error_object(a, status, J, err);
    else
        ans_fail(a, ans_classify(status, NULL, 0, NULL, 0),
                 ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider", status);
}
