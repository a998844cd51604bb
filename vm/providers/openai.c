/* OpenAI chat completions; see openai.h.

   Bodies are written with the one JSON writer (vm/jsonw.h), straight into
   memory, from the conversation: the system prompt as the first message,
   each turn's parts (a lone text part as a plain string, as clients
   usually send it), tool calls and results, tools, then the client's
   other fields unchanged.  The client's JSON values (parameters, tool
   schemas, parts with no translation, other fields) are copied as the
   client wrote them, the text of their spans (conv.h), and so are the
   texts no input guardrail changed: their JSON string tokens, escapes as
   the client chose them (cv_put_text).  Answers and stream events are parsed with
   yajl's callbacks into the answer's reusable node table (jview.h), no
   tree per event; every field is optional and type-checked, so a
   surprising answer is a malformed one, never a crash. */
#include <string.h>

#include "jsonw.h"
#include "jview.h"
#include "openai.h"

/* s as a JSON string (a NULL view is ""). */
static void str(jw_writer *w, rv_sv s)
{
    jw_string(w, s.s ? s.s : "", s.len);
}

static void content_of(jw_writer *w, const cv_msg *m)
{
    if (m->nparts == 1 && m->parts[0].kind == CV_TEXT) {
        cv_put_text(w, m->parts[0].text, m->parts[0].json);
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
            jw_raw(w, p->raw.s, p->raw.len);
            continue;
        }
        jw_object(w);
        JW_KEY(w, "type");
        if (p->kind == CV_TEXT) {
            JW_STR(w, "text");
            JW_KEY(w, "text");
            cv_put_text(w, p->text, p->json);
        } else {
            JW_STR(w, "image_url");
            JW_KEY(w, "image_url");
            jw_object(w);
            JW_KEY(w, "url");
            str(w, p->url);
            jw_end(w);
        }
        jw_end(w);
    }
    jw_end(w);
}

static void message_of(jw_writer *w, const cv_msg *m)
{
    jw_object(w);
    JW_KEY(w, "role");
    switch (m->role & 3) {
    case RV_ROLE_SYSTEM: JW_STR(w, "system"); break;
    case RV_ROLE_USER: JW_STR(w, "user"); break;
    case RV_ROLE_ASSISTANT: JW_STR(w, "assistant"); break;
    default: JW_STR(w, "tool"); break;
    }
    JW_KEY(w, "content");
    content_of(w, m);
    if (m->name.len && m->role != RV_ROLE_TOOL) {
        JW_KEY(w, "name");
        str(w, m->name);
    }
    if (m->role == RV_ROLE_TOOL) {
        JW_KEY(w, "tool_call_id");
        str(w, m->tool_call_id);
    }
    if (m->ncalls) {
        JW_KEY(w, "tool_calls");
        jw_array(w);
        for (uint32_t i = 0; i < m->ncalls; i++) {
            jw_object(w);
            JW_KEY(w, "id");
            str(w, m->calls[i].id);
            JW_KEY(w, "type");
            JW_STR(w, "function");
            JW_KEY(w, "function");
            jw_object(w);
            JW_KEY(w, "name");
            str(w, m->calls[i].name);
            JW_KEY(w, "arguments");
            str(w, m->calls[i].args);
            jw_end(w);
            jw_end(w);
        }
        jw_end(w);
    }
    jw_end(w);
}

/* {"type":"function","function":{"name":NAME -- both objects left open. */
static void function_open(jw_writer *w, rv_sv name)
{
    jw_object(w);
    JW_KEY(w, "type");
    JW_STR(w, "function");
    JW_KEY(w, "function");
    jw_object(w);
    JW_KEY(w, "name");
    str(w, name);
}

static void tools_of(jw_writer *w, const cv_conv *cv)
{
    JW_KEY(w, "tools");
    jw_array(w);
    for (uint32_t i = 0; i < cv->ntools; i++) {
        const cv_tool *t = &cv->tools[i];
        function_open(w, t->name);
        if (t->desc.len) {
            JW_KEY(w, "description");
            str(w, t->desc);
        }
        if (cv_has(&t->params)) {
            JW_KEY(w, "parameters");
            cv_put_val(w, &t->params);
        }
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
}

/* The members written so far, so that a client's field of the same name
   (cv->extra) does not repeat one. */
typedef struct { rv_sv k[24]; int n; } written;

/* Record the literal key 'lit' in 'wr'. */
#define WRITTEN(wr, lit) (void)((wr)->k[(wr)->n++] = (rv_sv){ "" lit, sizeof lit - 1 })
/* A member's key, a literal written as it is (JW_KEY), recorded in
   'wr'; a parameter's member when the conversation has a value. */
#define MEMBER(w, wr, lit) (JW_KEY(w, lit), WRITTEN(wr, lit))
#define PARAM(w, wr, lit, v)                                                   \
    do {                                                                       \
        if (cv_has(v)) {                                                       \
            MEMBER(w, wr, lit);                                                \
            cv_put_val(w, v);                                                  \
        }                                                                      \
    } while (0)

static int was_written(const written *wr, rv_sv k)
{
    for (int i = 0; i < wr->n; i++)
        if (wr->k[i].len == k.len && !memcmp(wr->k[i].s, k.s, k.len))
            return 1;
    return 0;
}

int oa_body_to(jw_writer *w, const cv_conv *cv, const char *model, const oa_opts *opt)
{
    written wr = { .n = 0 };
    jw_object(w);
    MEMBER(w, &wr, "model");
    jw_cstring(w, model);
    MEMBER(w, &wr, "messages");
    jw_array(w);
    if (cv->system.len) {
        jw_object(w);
        JW_KEY(w, "role");
        JW_STR(w, "system");
        JW_KEY(w, "content");
        cv_put_text(w, cv->system, cv->system_json);
        jw_end(w);
    }
    for (uint32_t i = 0; i < cv->nmsgs; i++)
        message_of(w, &cv->msgs[i]);
    jw_end(w);
    if (cv->ntools) {
        tools_of(w, cv);
        WRITTEN(&wr, "tools");
    }
    if (cv->tool_choice.len) {
        MEMBER(w, &wr, "tool_choice");
        if (cv->tool_choice_name.len) {
            function_open(w, cv->tool_choice_name);
            jw_end(w);
            jw_end(w);
        } else
            str(w, cv->tool_choice);
    }
    if (cv->max_tokens > 0) {
        MEMBER(w, &wr, "max_tokens");
        jw_int(w, cv->max_tokens);
    }
    PARAM(w, &wr, "temperature", &cv->temperature);
    PARAM(w, &wr, "top_p", &cv->top_p);
    PARAM(w, &wr, "stop", &cv->stop);
    PARAM(w, &wr, "seed", &cv->seed);
    PARAM(w, &wr, "presence_penalty", &cv->presence);
    PARAM(w, &wr, "frequency_penalty", &cv->frequency);
    PARAM(w, &wr, "top_k", &cv->top_k);        /* not OpenAI's, but vLLM's and llama.cpp's */
    if (opt->logprobs) {
        MEMBER(w, &wr, "logprobs");
        jw_bool(w, 1);
    }
    if (opt->stream) {
        MEMBER(w, &wr, "stream");
        jw_bool(w, 1);
        MEMBER(w, &wr, "stream_options");
        jw_raw(w, "{\"include_usage\":true}", 22);
    }
    for (uint32_t i = 0; i < cv->nextra; i++)    /* the client's other fields, as written */
        if (!was_written(&wr, cv->extra[i].key)) {
            jw_keyn(w, cv->extra[i].key.s, cv->extra[i].key.len);
            jw_raw(w, cv->extra[i].val.s, cv->extra[i].val.len);
        }
    jw_end(w);
    return w->err || w->depth ? -1 : 0;
}

char *oa_body(const cv_conv *cv, const char *model, const oa_opts *opt, size_t *len)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    oa_body_to(&w, cv, model, opt);
    return jw_take(&w, len);
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
    int64_t prompt = count(J, u, "prompt_tokens"), completion = count(J, u, "completion_tokens");
    int64_t cached = count(J, jv_get(J, u, "prompt_tokens_details"), "cached_tokens");
    int64_t reasoning = count(J, jv_get(J, u, "completion_tokens_details"), "reasoning_tokens");
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

/* The elements of 'v' when it is an array (none otherwise). */
static jv items(const jv_parser *J, jv v)
{
    return jv_typeof(J, v) == JV_ARRAY ? jv_first(J, v) : 0;
}

static void put_text(ans_answer *a, const jv_parser *J, jv v)
{
    size_t n;
    const char *s = jv_str(J, v, &n);
    if (s)
        ans_text(a, s, n);
}

static void logprobs_of(ans_answer *a, const jv_parser *J, jv lp)
{
    for (jv t = items(J, jv_get(J, lp, "content")); t; t = jv_next(J, t)) {
        jv v = jv_get(J, t, "logprob");
        jv_type ty = jv_typeof(J, v);
        if (ty == JV_INTEGER || ty == JV_REAL)
            ans_logprob(a, jv_number(J, v));
    }
}

/* Tool calls, whole (a JSON answer) or in pieces (stream deltas). */
static void tool_calls_of(ans_answer *a, const jv_parser *J, jv calls, int delta)
{
    uint32_t i = 0;
    for (jv tc = items(J, calls); tc; tc = jv_next(J, tc), i++) {
        jv ix = jv_get(J, tc, "index");
        uint32_t idx = delta && jv_typeof(J, ix) == JV_INTEGER && jv_int(J, ix) >= 0 ? (uint32_t)jv_int(J, ix) : i;
        ans_tool *t = ans_tool_at(a, idx);
        if (!t)
            return;
        jv fn = jv_get(J, tc, "function");
        size_t idl, nl, al;
        const char *id = jv_str(J, jv_get(J, tc, "id"), &idl), *name = jv_str(J, jv_get(J, fn, "name"), &nl),
                   *args = jv_str(J, jv_get(J, fn, "arguments"), &al);
        int bad = 0;
        if (id && !t->id.len)
            bad |= ans_put(&t->id, id, idl);
        if (name && !t->name.len)
            bad |= ans_put(&t->name, name, nl);
        if (args)
            bad |= ans_put(&t->args, args, al);
        if (bad) {
            ans_fail(a, RV_FAIL_MALFORMED, "a tool call is longer than the answer cap");
            return;
        }
    }
}

/* {"error": {...}} in a body or in a stream event */
static void error_object(ans_answer *a, int status, const jv_parser *J, jv err)
{
    size_t cl = 0, tl = 0, ml = 0;
    const char *code = jv_str(J, jv_get(J, err, "code"), &cl), *type = jv_str(J, jv_get(J, err, "type"), &tl),
               *msg = jv_str(J, jv_get(J, err, "message"), &ml);
    const char *kind = code ? code : type ? type : "";
    size_t kl = code ? cl : type ? tl : 0;
    const char *m = msg ? msg : "";
    ml = msg ? ml : 0;
    rv_failure f = ans_classify(status, kind, kl, m, ml);
    if (!status && f == RV_FAIL_ERROR)
        f = RV_FAIL_SERVER;     /* an error in a stream after 200: the provider failed mid-answer */
    if (status == 401 || status == 403)
        ans_fail(a, f, "HTTP %d from the provider (%.*s)", status, upto(kl, 60), kind);
    else if (status)
        ans_fail(a, f, "HTTP %d from the provider: %.*s", status, upto(ml ? ml : kl, 160), ml ? m : kind);
    else
        ans_fail(a, f, "the provider reported an error in the stream: %.*s", upto(ml ? ml : kl, 160), ml ? m : kind);
}

/* The answer's JSON object, parsed; 0 (and the answer failed) when out
   of memory or, with 'what', when it is not a JSON object. */
static jv object_of(ans_answer *a, const char *s, size_t n, const char *what)
{
    jv_parser *J = ans_json(a);
    if (!J) {
        ans_fail(a, RV_FAIL_ERROR, "out of memory");
        return 0;
    }
    jv o = jv_parse(J, s, n, 0);
    if (jv_typeof(J, o) != JV_OBJECT) {
        if (ans_is_html(s, n) && what[0] == 't')
            ans_fail(a, RV_FAIL_MALFORMED, "the provider answered an HTML page, not JSON");
        else
            ans_fail(a, RV_FAIL_MALFORMED, "%s is not valid JSON: %.100s", what, o ? "" : jv_error(J));
        return 0;
    }
    return o;
}

void oa_parse(ans_answer *a, const char *body, size_t n)
{
    jv o = object_of(a, body, n, "the answer");
    if (!o)
        return;
    const jv_parser *J = a->json;
    jv err = jv_get(J, o, "error");
    if (err && jv_typeof(J, err) != JV_NULL) {
        error_object(a, 0, J, err);
        return;
    }
    jv choice = jv_at(J, jv_get(J, o, "choices"), 0), msg = jv_get(J, choice, "message");
    if (jv_typeof(J, msg) != JV_OBJECT) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer has no choices[0].message");
        return;
    }
    jv content = jv_get(J, msg, "content");
    put_text(a, J, jv_typeof(J, content) == JV_STRING ? content : jv_get(J, msg, "refusal"));
    tool_calls_of(a, J, jv_get(J, msg, "tool_calls"), 0);
    size_t fl;
    const char *fr = jv_str(J, jv_get(J, choice, "finish_reason"), &fl);
    if (fr)
        ans_finish(a, fr, fl);
    logprobs_of(a, J, jv_get(J, choice, "logprobs"));
    usage_of(a, J, jv_get(J, o, "usage"));
    copy_str(a->model, sizeof a->model, J, jv_get(J, o, "model"));
    copy_str(a->id, sizeof a->id, J, jv_get(J, o, "id"));
    a->ended = 1;
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
    jv o = object_of(a, data, n, "a stream event");
    if (!o)
        return;
    const jv_parser *J = a->json;
    jv err = jv_get(J, o, "error");
    if (err && jv_typeof(J, err) != JV_NULL) {
        error_object(a, 0, J, err);
        return;
    }
    if (!a->model[0])
        copy_str(a->model, sizeof a->model, J, jv_get(J, o, "model"));
    if (!a->id[0])
        copy_str(a->id, sizeof a->id, J, jv_get(J, o, "id"));
    jv choice = jv_at(J, jv_get(J, o, "choices"), 0), delta = jv_get(J, choice, "delta");
    jv content = jv_get(J, delta, "content");
    put_text(a, J, jv_typeof(J, content) == JV_STRING ? content : jv_get(J, delta, "refusal"));
    tool_calls_of(a, J, jv_get(J, delta, "tool_calls"), 1);
    size_t fl;
    const char *fr = jv_str(J, jv_get(J, choice, "finish_reason"), &fl);
    if (fr)
        ans_finish(a, fr, fl);
    logprobs_of(a, J, jv_get(J, choice, "logprobs"));
    usage_of(a, J, jv_get(J, o, "usage"));
}

void oa_error(ans_answer *a, int status, const char *body, size_t n)
{
    a->http_status = status;
    jv_parser *J = ans_json(a);
    jv o = J ? jv_parse(J, body, n, 1) : 0;
    jv err = o ? jv_get(J, o, "error") : 0;
    if (err && jv_typeof(J, err) == JV_OBJECT)
        error_object(a, status, J, err);
    else {
        rv_failure f = ans_classify(status, NULL, 0, NULL, 0);
        ans_fail(a, f, ans_is_html(body, n) ? "HTTP %d from the provider (an HTML page)" : "HTTP %d from the provider",
                 status);
    }
}
