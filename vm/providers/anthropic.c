/* Anthropic Messages; see anthropic.h.

   Bodies are written with the one JSON writer (vm/jsonw.h) straight into
   memory; only tool-call arguments are parsed (jansson), to be sent as
   the object Anthropic wants. */
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"
#include "jsonw.h"

/* s as a JSON string (a NULL view is ""). */
static void str(jw_writer *w, rv_sv s)
{
    jw_string(w, s.s ? s.s : "", s.len);
}

/* {"type": t, ...: the rest of the block follows */
static void block(jw_writer *w, const char *type)
{
    jw_object(w);
    jw_key(w, "type");
    jw_cstring(w, type);
}

static void image_block(jw_writer *w, const cv_part *p)
{
    block(w, "image");
    jw_key(w, "source");
    jw_object(w);
    jw_key(w, "type");
    if (p->data.len) {
        jw_string(w, "base64", 6);
        jw_key(w, "media_type");
        str(w, p->media_type);
        jw_key(w, "data");
        str(w, p->data);
    } else {
        jw_string(w, "url", 3);
        jw_key(w, "url");
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
            jw_key(w, "text");
            str(w, p->text);
            jw_end(w);
        } else
            image_block(w, p);
        n++;
    }
    return n;
}

/* Tool-call arguments as the object Anthropic wants ("" is {}). */
static int args_object(jw_writer *w, rv_sv a, char *err, size_t errlen)
{
    if (!a.len) {
        jw_raw(w, "{}", 2);
        return 0;
    }
    json_t *o = json_loadb(a.s, a.len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "tool-call arguments are not a JSON object");
        return -1;
    }
    jw_value(w, o);
    json_decref(o);
    return 0;
}

/* One message's blocks: tool results, parts, tool calls, or "(empty)"
   when it has none.  -1 with a message in 'err'. */
static int blocks_of(jw_writer *w, const cv_msg *m, char *err, size_t errlen)
{
    int n = 0, bad = 0;
    if (m->role == RV_ROLE_TOOL) {
        block(w, "tool_result");
        jw_key(w, "tool_use_id");
        str(w, m->tool_call_id);
        jw_key(w, "content");
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
            jw_key(w, "id");
            str(w, m->calls[i].id);
            jw_key(w, "name");
            str(w, m->calls[i].name);
            jw_key(w, "input");
            if (args_object(w, m->calls[i].args, err, errlen))
                return -1;
            jw_end(w);
        }
    }
    if (!n) {                   /* an empty turn: Anthropic wants some content */
        block(w, "text");
        jw_key(w, "text");
        jw_string(w, "(empty)", 7);
        jw_end(w);
    }
    return bad ? -1 : 0;
}

/* The turns, consecutive messages of one side merged into one turn
   (Anthropic wants the roles to alternate). */
static int messages_of(jw_writer *w, const cv_conv *cv, char *err, size_t errlen)
{
    const char *open = NULL;
    jw_array(w);
    for (uint32_t i = 0; i < cv->nmsgs; i++) {
        const cv_msg *m = &cv->msgs[i];
        const char *role = m->role == RV_ROLE_ASSISTANT ? "assistant" : "user";
        if (open != role) {
            if (open) {
                jw_end(w);
                jw_end(w);
            }
            jw_object(w);
            jw_key(w, "role");
            jw_cstring(w, role);
            jw_key(w, "content");
            jw_array(w);
            open = role;
        }
        if (blocks_of(w, m, err, errlen))
            return -1;
    }
    if (open) {
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
    return 0;
}

static void tools_of(jw_writer *w, const cv_conv *cv)
{
    jw_key(w, "tools");
    jw_array(w);
    for (uint32_t i = 0; i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        jw_object(w);
        jw_key(w, "name");
        str(w, t->name);
        if (t->desc.len) {
            jw_key(w, "description");
            str(w, t->desc);
        }
        jw_key(w, "input_schema");
        if (t->params && json_is_object(t->params))
            jw_value(w, t->params);
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
    jw_key(w, "tool_choice");
    block(w, type);
    if (type[0] == 't') {
        jw_key(w, "name");
        str(w, cv->tool_choice_name);
    }
    jw_end(w);
}

static void param(jw_writer *w, const char *k, const json_t *v)
{
    if (v) {
        jw_key(w, k);
        jw_value(w, v);
    }
}

char *an_body(const cv_conv *cv, const char *model, int stream, size_t *len, char *err, size_t errlen)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    err[0] = 0;
    jw_object(&w);
    jw_key(&w, "model");
    jw_cstring(&w, model);
    jw_key(&w, "max_tokens");
    jw_int(&w, cv->max_tokens > 0 ? cv->max_tokens : AN_DEFAULT_MAX_TOKENS);
    jw_key(&w, "messages");
    if (messages_of(&w, cv, err, errlen)) {
        jw_discard(&w);
        return NULL;
    }
    if (cv->system.len) {
        jw_key(&w, "system");
        str(&w, cv->system);
    }
    if (cv->ntools)
        tools_of(&w, cv);
    if (cv->tool_choice.len)
        tool_choice_of(&w, cv);
    param(&w, "temperature", cv->temperature);
    param(&w, "top_p", cv->top_p);
    param(&w, "top_k", cv->top_k);
    if (cv->stop) {
        jw_key(&w, "stop_sequences");
        if (json_is_string(cv->stop)) {
            jw_array(&w);
            jw_value(&w, cv->stop);
            jw_end(&w);
        } else
            jw_value(&w, cv->stop);
    }
    if (stream) {
        jw_key(&w, "stream");
        jw_bool(&w, 1);
    }
    jw_end(&w);
    char *s = jw_take(&w, len);
    if (!s)
        snprintf(err, errlen, "out of memory");
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
    int64_t v;
    if ((v = count(u, "input_tokens")) >= 0) {
        a->usage.input = v;
        a->usage.cache_read = a->usage.cache_read > 0 ? a->usage.cache_read : 0;
        a->usage.cache_write = a->usage.cache_write > 0 ? a->usage.cache_write : 0;
    }
    if ((v = count(u, "cache_read_input_tokens")) >= 0)
        a->usage.cache_read = v;
    if ((v = count(u, "cache_creation_input_tokens")) >= 0)
        a->usage.cache_write = v;
    if ((v = count(u, "output_tokens")) >= 0)
        a->usage.output = v;
}

static void copy_str(char *dst, size_t cap, json_t *s)
{
    if (json_is_string(s))
        snprintf(dst, cap, "%s", json_string_value(s));
}

static void put_text(ans_answer *a, json_t *s)
{
    if (json_is_string(s))
        ans_text(a, json_string_value(s), json_string_length(s));
}

static void error_object(ans_answer *a, int status, json_t *err)
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

static void tool_block(ans_answer *a, uint32_t idx, json_t *b, int with_input)
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
        ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
}

void an_parse(ans_answer *a, const char *body, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, ans_is_html(body, n) ? "the provider answered an HTML page, not JSON"
                                                            : "the answer is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *type = json_object_get(o, "type");
    if (json_is_string(type) && !strcmp(json_string_value(type), "error")) {
        error_object(a, 0, json_object_get(o, "error"));
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
            put_text(a, json_object_get(b, "text"));
        else if (!strcmp(t, "tool_use"))
            tool_block(a, ntool++, b, 1);
    }
    json_t *sr = json_object_get(o, "stop_reason");
    if (json_is_string(sr))
        ans_finish(a, json_string_value(sr), json_string_length(sr));
    usage_of(a, json_object_get(o, "usage"));
    copy_str(a->model, sizeof a->model, json_object_get(o, "model"));
    copy_str(a->id, sizeof a->id, json_object_get(o, "id"));
    a->ended = 1;
    json_decref(o);
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
    json_error_t je;
    json_t *o = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event is not valid JSON: %.100s", je.text);
        json_decref(o);
        return;
    }
    json_t *ix = json_object_get(o, "index");
    int64_t idx = json_is_integer(ix) ? json_integer_value(ix) : -1;
    if (is(type, tlen, "error")) {
        error_object(a, 0, json_object_get(o, "error"));
    } else if (is(type, tlen, "message_start")) {
        json_t *m = json_object_get(o, "message");
        copy_str(a->model, sizeof a->model, json_object_get(m, "model"));
        copy_str(a->id, sizeof a->id, json_object_get(m, "id"));
        usage_of(a, json_object_get(m, "usage"));
        s->started = 1;
    } else if (!s->started) {
        ans_fail(a, RV_FAIL_MALFORMED, "a stream event before message_start");
    } else if (is(type, tlen, "content_block_start")) {
        json_t *b = json_object_get(o, "content_block");
        json_t *bt = json_object_get(b, "type");
        if (idx < 0 || idx >= AN_MAX_BLOCKS)
            ans_fail(a, RV_FAIL_MALFORMED, "a content block index out of range");
        else if (json_is_string(bt) && !strcmp(json_string_value(bt), "tool_use")) {
            s->block_tool[idx] = (int16_t)a->ntools;
            tool_block(a, a->ntools, b, 0);
        } else if (json_is_string(bt) && !strcmp(json_string_value(bt), "text"))
            put_text(a, json_object_get(b, "text"));
    } else if (is(type, tlen, "content_block_delta")) {
        json_t *d = json_object_get(o, "delta");
        json_t *dt = json_object_get(d, "type");
        const char *t = json_is_string(dt) ? json_string_value(dt) : "";
        if (!strcmp(t, "text_delta"))
            put_text(a, json_object_get(d, "text"));
        else if (!strcmp(t, "input_json_delta")) {
            json_t *pj = json_object_get(d, "partial_json");
            if (idx < 0 || idx >= AN_MAX_BLOCKS || s->block_tool[idx] < 0)
                ans_fail(a, RV_FAIL_MALFORMED, "tool input for a block that is not a tool call");
            else if (json_is_string(pj) && ans_put(&a->tools[s->block_tool[idx]].args, json_string_value(pj),
                                                   json_string_length(pj)))
                ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
        }
    } else if (is(type, tlen, "message_delta")) {
        json_t *sr = json_object_get(json_object_get(o, "delta"), "stop_reason");
        if (json_is_string(sr))
            ans_finish(a, json_string_value(sr), json_string_length(sr));
        usage_of(a, json_object_get(o, "usage"));
    } else if (is(type, tlen, "message_stop")) {
        a->ended = 1;
    }
    json_decref(o);
}

void an_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    json_t *o = json_loadb(body, n, 0, NULL);
    json_t *err = json_object_get(o, "error");
    if (json_is_object(err))
        error_object(a, status, err);
    else
        ans_fail(a, ans_classify(status, NULL, 0, NULL, 0),
                 ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider", status);
    json_decref(o);
}
