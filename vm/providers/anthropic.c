/* Anthropic Messages; see anthropic.h. */
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"

static json_t *sv_json(rv_sv s)
{
    return json_stringn(s.s ? s.s : "", s.len);
}

static json_t *image_block(const cv_part *p)
{
    if (p->data.len)
        return json_pack("{s:s, s:{s:s, s:o, s:o}}", "type", "image", "source", "type", "base64", "media_type",
                         sv_json(p->media_type), "data", sv_json(p->data));
    return json_pack("{s:s, s:{s:s, s:o}}", "type", "image", "source", "type", "url", "url", sv_json(p->url));
}

/* The blocks of a turn's parts. */
static int add_parts(json_t *blocks, const cv_msg *m, char *err, size_t errlen)
{
    int bad = 0;
    for (uint32_t i = 0; i < m->nparts; i++) {
        const cv_part *p = &m->parts[i];
        if (p->kind == CV_TEXT && !p->text.len)
            continue;           /* Anthropic refuses empty text blocks */
        if (p->kind == CV_RAW) {
            snprintf(err, errlen, "a content part (audio, a file ...) has no Anthropic form");
            return -1;
        }
        bad |= json_array_append_new(blocks, p->kind == CV_TEXT
            ? json_pack("{s:s, s:o}", "type", "text", "text", sv_json(p->text)) : image_block(p));
    }
    return bad;
}

/* Tool-call arguments as the object Anthropic wants ("" is {}). */
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

/* Append one turn, merged into the previous one when it has the same
   role (Anthropic wants the roles to alternate). */
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
        if (!blocks)
            goto fail;
        const char *role = m->role == RV_ROLE_ASSISTANT ? "assistant" : "user";
        int bad = 0;
        if (m->role == RV_ROLE_TOOL) {
            json_t *content = json_array();
            bad |= add_parts(content, m, err, errlen);
            bad |= json_array_append_new(blocks, json_pack("{s:s, s:o, s:o}", "type", "tool_result", "tool_use_id",
                                                           sv_json(m->tool_call_id), "content", content));
        } else {
            bad |= add_parts(blocks, m, err, errlen);
            for (uint32_t k = 0; k < m->ncalls; k++) {
                json_t *input = args_object(m->calls[k].args, err, errlen);
                if (!input) {
                    json_decref(blocks);
                    goto fail;
                }
                bad |= json_array_append_new(blocks, json_pack("{s:s, s:o, s:o, s:o}", "type", "tool_use", "id",
                                                               sv_json(m->calls[k].id), "name", sv_json(m->calls[k].name),
                                                               "input", input));
            }
        }
        if (!json_array_size(blocks))   /* an empty turn: Anthropic wants some content */
            bad |= json_array_append_new(blocks, json_pack("{s:s, s:s}", "type", "text", "text", "(empty)"));
        if (bad)
            json_decref(blocks);
        if (bad || add_turn(msgs, role, blocks)) {
            if (!err[0])
                snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return msgs;
fail:
    json_decref(msgs);
    return NULL;
}

char *an_body(const cv_conv *cv, const char *model, int stream, size_t *len, char *err, size_t errlen)
{
    json_t *msgs = messages_of(cv, err, errlen);
    if (!msgs)
        return NULL;
    json_t *o = json_pack("{s:s, s:I, s:o}", "model", model, "max_tokens",
                          (json_int_t)(cv->max_tokens > 0 ? cv->max_tokens : AN_DEFAULT_MAX_TOKENS), "messages", msgs);
    int bad = !o;
    if (!bad && cv->system.len)
        bad |= json_object_set_new(o, "system", sv_json(cv->system));
    if (!bad && cv->ntools) {
        json_t *tools = json_array();
        for (uint32_t i = 0; tools && i < cv->ntools; i++) {
            const cv_tool *t = &cv->tools[i];
            json_t *d = json_pack("{s:o}", "name", sv_json(t->name));
            if (d && t->desc.len)
                json_object_set_new(d, "description", sv_json(t->desc));
            if (d)
                json_object_set_new(d, "input_schema", t->params && json_is_object(t->params) ? json_incref(t->params)
                                                       : json_pack("{s:s}", "type", "object"));
            bad |= json_array_append_new(tools, d);
        }
        bad |= json_object_set_new(o, "tools", tools);
    }
    if (!bad && cv->tool_choice.len) {
        rv_sv tc = cv->tool_choice;
        json_t *choice = NULL;
        if (tc.len == 4 && !memcmp(tc.s, "auto", 4))
            choice = json_pack("{s:s}", "type", "auto");
        else if (tc.len == 4 && !memcmp(tc.s, "none", 4))
            choice = json_pack("{s:s}", "type", "none");
        else if (tc.len == 8 && !memcmp(tc.s, "required", 8))
            choice = json_pack("{s:s}", "type", "any");
        else if (cv->tool_choice_name.len)
            choice = json_pack("{s:s, s:o}", "type", "tool", "name", sv_json(cv->tool_choice_name));
        if (choice && cv->ntools)
            bad |= json_object_set_new(o, "tool_choice", choice);
        else
            json_decref(choice);
    }
    if (!bad && cv->temperature)
        bad |= json_object_set(o, "temperature", cv->temperature);
    if (!bad && cv->top_p)
        bad |= json_object_set(o, "top_p", cv->top_p);
    if (!bad && cv->top_k)
        bad |= json_object_set(o, "top_k", cv->top_k);
    if (!bad && cv->stop)
        bad |= json_object_set_new(o, "stop_sequences", json_is_string(cv->stop) ? json_pack("[O]", cv->stop)
                                                                                  : json_incref(cv->stop));
    if (!bad && stream)
        bad |= json_object_set_new(o, "stream", json_true());
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
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
