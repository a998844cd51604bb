/* 'routevm run'; see run.h.

   One request, one thread, one HTTP engine with its built-in poll loop:
   the VM is resumed from the loop's callbacks' results, never from inside
   libcurl.  Output to the client is built with jansson (the one escaping
   JSON writer) one object per line or per SSE event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "envmem.h"
#include "health.h"
#include "jsonw.h"
#include "pcall.h"
#include "run.h"
#include "trace.h"

#define TSTR 4          /* strings kept per traced call */

typedef struct {
    const rv_program *p;
    const run_opts *o;
    rv_image img;
    rv_vm *vm;
    rv_memenv *env;
    hl_health *health;
    hc_engine *eng;
    bi_langdet *lang;
    rv_request *req;
    char reqid[40];
    int64_t created, start_wall;
    int include_usage;          /* the client asked for a usage chunk */
    /* the client's stream */
    int sent_head, sent_text, broken;
    /* the call in flight */
    pc_call *call;
    int call_done, feeding, feed_denied;
    uint32_t call_seq;
    /* the hook in flight */
    hc_xfer *hook;
    int hook_done, hook_status;
    ans_buf hook_body;
    /* trace */
    trace_call tcalls[RV_MAX_ATTEMPTS];
    char tstr[RV_MAX_ATTEMPTS][TSTR][160];
    char hook_model[128], hook_err[160];
    int64_t hook_latency;
    const char *answer_id;
} run_ctx;

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- client output */

/* One document to the client (through the one JSON writer), or one SSE
   event; takes 'j'. */
static void put_json(run_ctx *x, json_t *j, int sse)
{
    if (!j)
        return;
    if (sse)
        fputs("data: ", x->o->out);
    jw_print(x->o->out, j, 0);
    if (sse)
        fputc('\n', x->o->out);
    fflush(x->o->out);
    json_decref(j);
}

static const char *model_id(run_ctx *x, uint32_t m)
{
    return m < x->p->nmodel ? rv_str(x->p, x->p->models[m].id) : "";
}

/* A chat.completion.chunk with 'delta', and 'finish' when not NULL. */
static void chunk(run_ctx *x, json_t *delta, const char *finish)
{
    const rv_result *r = vm_result(x->vm);
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id", x->reqid, "object", "chat.completion.chunk",
                          "created", (json_int_t)x->created, "model", model_id(x, r->model), "choices", "index", 0,
                          "delta", delta, "finish_reason", finish ? json_string(finish) : json_null());
    put_json(x, c, 1);
}

static void stream_head(run_ctx *x)
{
    if (x->sent_head)
        return;
    x->sent_head = 1;
    chunk(x, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
}

static void stream_text(run_ctx *x, rv_sv t)
{
    if (!t.len)
        return;
    stream_head(x);
    x->sent_text = 1;
    chunk(x, json_pack("{s:o}", "content", jw_jstring(t.s, t.len)), NULL);
}

static json_t *usage_json(const rv_usage *u)
{
    int64_t in = u->input > 0 ? u->input : 0, cr = u->cache_read > 0 ? u->cache_read : 0,
            cw = u->cache_write > 0 ? u->cache_write : 0, out = u->output > 0 ? u->output : 0;
    return json_pack("{s:I, s:I, s:I, s:{s:I}, s:{s:I}}", "prompt_tokens", (json_int_t)(in + cr + cw),
                     "completion_tokens", (json_int_t)out, "total_tokens", (json_int_t)(in + cr + cw + out),
                     "prompt_tokens_details", "cached_tokens", (json_int_t)cr, "completion_tokens_details",
                     "reasoning_tokens", (json_int_t)(u->reasoning > 0 ? u->reasoning : 0));
}

/* The usage of the answering call (the last successful answer). */
static rv_usage answer_usage(const rv_result *r)
{
    for (uint32_t i = r->nattempts; i-- > 0;)
        if (r->attempts[i].ok && r->attempts[i].purpose == RV_PURPOSE_ANSWER)
            return r->attempts[i].usage;
    return (rv_usage){ 0, 0, 0, 0, 0 };
}

static const char *answer_finish(run_ctx *x, const rv_result *r)
{
    for (uint32_t i = r->nattempts; i-- > 0;)
        if (r->attempts[i].ok && r->attempts[i].purpose == RV_PURPOSE_ANSWER)
            return x->tcalls[i].finish ? x->tcalls[i].finish : "stop";
    return "stop";
}

static json_t *tool_calls_json(const rv_result *r, int stream)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < r->ntool_calls; i++) {
        const rv_toolcall *t = &r->tool_calls[i];
        json_t *o = json_pack("{s:o, s:s, s:{s:o, s:o}}", "id", jw_jstring(t->id.s, t->id.len), "type", "function",
                              "function", "name", jw_jstring(t->name.s, t->name.len), "arguments",
                              jw_jstring(t->arguments.s, t->arguments.len));
        if (stream && o)
            json_object_set_new(o, "index", json_integer(i));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void print_answer(run_ctx *x)
{
    const rv_result *r = vm_result(x->vm);
    rv_usage u = answer_usage(r);
    const char *finish = answer_finish(x, r);
    if (x->o->stream) {
        if (!x->sent_text)             /* a buffered answer (a cascade's): sent whole now */
            stream_text(x, r->answer);
        stream_head(x);
        if (r->ntool_calls)
            chunk(x, json_pack("{s:o}", "tool_calls", tool_calls_json(r, 1)), NULL);
        chunk(x, json_object(), finish);
        if (x->include_usage)
            put_json(x, json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", x->reqid, "object", "chat.completion.chunk",
                                  "created", (json_int_t)x->created, "model", model_id(x, r->model), "choices",
                                  "usage", usage_json(&u)), 1);
        fputs("data: [DONE]\n\n", x->o->out);
        fflush(x->o->out);
        return;
    }
    json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content", jw_jstring(r->answer.s, r->answer.len));
    if (msg && r->ntool_calls)
        json_object_set_new(msg, "tool_calls", tool_calls_json(r, 0));
    put_json(x, json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", x->reqid, "object",
                          "chat.completion", "created", (json_int_t)x->created, "model", model_id(x, r->model),
                          "choices", "index", 0, "message", msg, "logprobs", "finish_reason", finish, "usage",
                          usage_json(&u)), 0);
}

/* An OpenAI-style error: the whole output (nothing streamed yet), or the
   terminal event of a stream (no [DONE] after it: the stream did not end
   cleanly). */
static void print_error(run_ctx *x, const char *type, const char *code, const char *msg)
{
    json_t *e = json_pack("{s:{s:o, s:s, s:s, s:n}}", "error", "message", jw_jstring(msg, strlen(msg)), "type", type,
                          "code", code, "param");
    put_json(x, e, x->o->stream);
}

/* ---------------------------------------------------------------- calls */

static int on_text(void *ud, const char *s, size_t n)
{
    run_ctx *x = ud;
    if (!x->feeding)
        return 0;
    rv_sv rel = { NULL, 0 };
    int denied = vm_feed(x->vm, s, n, &rel);
    stream_text(x, rel);
    if (denied) {
        x->feed_denied = 1;
        return 1;
    }
    return 0;
}

static void on_call_done(void *ud, pc_call *c)
{
    run_ctx *x = ud;
    x->call_done = 1;
}

static void keep(run_ctx *x, uint32_t seq, int k, const char **dst, const char *s)
{
    if (!s || !*s || seq >= RV_MAX_ATTEMPTS)
        return;
    snprintf(x->tstr[seq][k], sizeof x->tstr[seq][k], "%s", s);
    *dst = x->tstr[seq][k];
}

/* Is the current call a cascade step that escalates on log-probabilities? */
static int wants_logprobs(run_ctx *x, const rv_call *c)
{
    const rv_result *r = vm_result(x->vm);
    if (c->purpose != RV_PURPOSE_ANSWER || c->may_stream || r->via != RV_VIA_CASCADE || r->via_index >= x->p->ncascade)
        return 0;
    return x->p->cascades[r->via_index].by == RV_BY_LOGPROBS;
}

typedef struct { run_ctx *x; int fired; } waiter;

static void wake(void *ud)
{
    ((waiter *)ud)->fired = 1;
}

/* Wait 'us' on the engine's timer (the VM's backoff). */
static void wait_us(run_ctx *x, int64_t us)
{
    waiter w = { x, 0 };
    if (!hc_after(x->eng, us, wake, &w))
        return;
    while (!w.fired)
        if (hc_run_once(x->eng, -1) < 0)
            break;
}

static int64_t least_positive(int64_t a, int64_t b)
{
    return a <= 0 ? b : b <= 0 ? a : a < b ? a : b;
}

/* The URL given for 'provider' with --endpoint NAME=URL, or NULL. */
static const char *endpoint_override(run_ctx *x, uint32_t provider)
{
    const char *name = provider < x->p->nprovider ? rv_str(x->p, x->p->providers[provider].name) : "";
    size_t n = strlen(name);
    for (uint32_t i = 0; i < x->o->nendpoints; i++)
        if (!strncmp(x->o->endpoints[i], name, n) && x->o->endpoints[i][n] == '=')
            return x->o->endpoints[i] + n + 1;
    return NULL;
}

/* A failure the driver detected before sending (no key, no memory). */
static rv_status resume_unsent(run_ctx *x, const rv_call *c, rv_failure f, const char *why)
{
    keep(x, c->seq, 0, &x->tcalls[c->seq].error, why);
    rv_outcome o = vm_outcome_init(0);
    o.failure = f;
    o.detail = why;
    return vm_resume(x->vm, &o);
}

static rv_status do_call(run_ctx *x)
{
    const rv_call *c = vm_call(x->vm);
    uint32_t seq = c->seq < RV_MAX_ATTEMPTS ? c->seq : RV_MAX_ATTEMPTS - 1;
    trace_call *tc = &x->tcalls[seq];
    memset(tc, 0, sizeof *tc);
    tc->start_us = -1;
    if (c->backoff_us > 0)
        wait_us(x, c->backoff_us);
    cv_conv cv;
    char err[256];
    if (cv_from_call(&cv, c, err, sizeof err)) {
        cv_free(&cv);
        return resume_unsent(x, c, RV_FAIL_CLIENT, err);
    }
    int64_t now = wall_us();
    int64_t left = c->deadline_us > 0 ? c->deadline_us - now : 0;
    if (c->deadline_us > 0 && left <= 0) {
        cv_free(&cv);
        return resume_unsent(x, c, RV_FAIL_TIMEOUT, "the request's deadline passed");
    }
    int64_t total = least_positive(c->timeout_us, left);
    pc_spec s = {
        .p = x->p, .model = c->model, .cv = &cv, .endpoint = endpoint_override(x, c->provider),
        .stream = x->o->stream && c->may_stream && c->purpose == RV_PURPOSE_ANSWER,
        .logprobs = wants_logprobs(x, c),
        .connect_timeout_us = x->o->connect_timeout_us,
        .first_byte_timeout_us = least_positive(x->o->first_byte_timeout_us ? x->o->first_byte_timeout_us
                                                : c->timeout_us ? c->timeout_us : 60000000, total),
        .idle_timeout_us = x->o->idle_timeout_us ? x->o->idle_timeout_us : 30000000,
        .total_timeout_us = total,
    };
    pc_handler h = { on_text, on_call_done };
    x->call_done = x->feed_denied = 0;
    x->feeding = s.stream;
    int sent_before = x->sent_text;
    keep(x, seq, 0, &tc->request_model, model_id(x, c->model));
    tc->start_us = wall_us();
    pc_call *call = pc_start(x->eng, &s, &h, x, err, sizeof err);
    cv_free(&cv);
    if (!call) {
        rv_failure f = strstr(err, "environment variable") ? RV_FAIL_AUTH : RV_FAIL_ERROR;
        return resume_unsent(x, c, f, err);
    }
    while (!x->call_done)
        if (hc_run_once(x->eng, -1) < 0)
            break;
    rv_outcome o = *pc_outcome(call);
    const ans_answer *a = pc_answer(call);
    if (!x->call_done) {
        o = vm_outcome_init(0);
        o.failure = RV_FAIL_ERROR;
        o.detail = "the event loop failed";
    }
    if (x->feed_denied) {
        /* the output guardrails refused the streamed answer: an answer
           (billed), which the VM turns into a denial */
        rv_outcome d = vm_outcome_init(1);
        d.usage = a->usage;
        d.latency_us = o.latency_us;
        d.ttft_us = o.ttft_us;
        o = d;
    } else if (o.ok && x->feeding) {
        rv_sv rel = { NULL, 0 };
        vm_feed_end(x->vm, &rel);
        stream_text(x, rel);
    }
    keep(x, seq, 1, &tc->response_model, a->model);
    keep(x, seq, 2, &tc->finish, o.ok ? a->finish : NULL);
    keep(x, seq, 3, &tc->response_id, a->id);
    if (!o.ok)
        keep(x, seq, 0, &tc->error, o.detail);
    tc->request_model = model_id(x, c->model);
    tc->streamed = x->sent_text && !sent_before;
    hl_observe(x->health, c->model, &o, hc_now_us());
    rv_status st = vm_resume(x->vm, &o);
    pc_free(call);
    return st;
}

/* ---------------------------------------------------------------- hooks */

static void hook_header(void *ud, int status, const char *n, size_t nl, const char *v, size_t vl)
{
    ((run_ctx *)ud)->hook_status = status;
}

static int hook_data(void *ud, const char *p, size_t n)
{
    run_ctx *x = ud;
    return ans_put(&x->hook_body, p, n) != 0 || x->hook_body.len > 65536;
}

static void hook_done(void *ud, const hc_done *d)
{
    run_ctx *x = ud;
    x->hook = NULL;
    x->hook_done = 1;
    x->hook_latency = d->total_us;
    if (d->status != HC_OK)
        snprintf(x->hook_err, sizeof x->hook_err, "%s", hc_status_name(d->status));
    else if (d->http_status != 200)
        snprintf(x->hook_err, sizeof x->hook_err, "HTTP %d", d->http_status);
}

/* The texts of the messages of 'role' (only the last such message when
   'last'), as the input guardrails left them, joined with "\n". */
static json_t *overlay_text(run_ctx *x, uint8_t role, int last)
{
    const rv_request *r = x->req;
    const rv_sv *t = vm_texts(x->vm);
    ans_buf b = { NULL, 0, 0 };
    uint32_t from = 0;
    if (last)
        for (uint32_t i = 0; i < r->nmsg; i++)
            if (r->msgs[i].role == role)
                from = i;
    int bad = 0;
    for (uint32_t i = from; i < r->nmsg; i++) {
        const rv_msg *m = &r->msgs[i];
        if (m->role != role)
            continue;
        for (uint32_t k = m->slot; k < m->slot + m->nslots && k < r->nslot; k++)
            if (r->slots[k].kind == RV_SLOT_CONTENT || r->slots[k].kind == RV_SLOT_PART) {
                if (b.len)
                    bad |= ans_put(&b, "\n", 1);
                bad |= ans_put(&b, t[k].s, t[k].len);
            }
        if (last)
            break;
    }
    json_t *s = bad ? NULL : jw_jstring(b.p, b.len);
    free(b.p);
    return s;
}

/* The summary a hook receives (documented in docs/providers.md). */
static json_t *hook_summary(run_ctx *x)
{
    const rv_request *r = x->req;
    const rv_result *res = vm_result(x->vm);
    json_t *meta = json_object(), *tools = json_array();
    for (uint32_t i = 0; meta && i < r->nmeta; i++) {
        char k[256];
        snprintf(k, sizeof k, "%.*s", (int)r->meta[i].key.len, r->meta[i].key.s);
        json_object_set_new(meta, k, jw_jstring(r->meta[i].val.s, r->meta[i].val.len));
    }
    for (uint32_t i = 0; tools && i < r->ntool; i++)
        json_array_append_new(tools, jw_jstring(r->tools[i].s, r->tools[i].len));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:b, s:o, s:o}", "request_id", x->reqid, "agent",
                     rv_str(x->p, x->p->agents[res->agent].name), "user", jw_jstring(r->user.s, r->user.len), "metadata", meta, "input", overlay_text(x, RV_ROLE_USER, 1), "turns",
                     (json_int_t)r->turns, "images", (json_int_t)r->images, "max_tokens", (json_int_t)r->max_tokens,
                     "stream", r->stream, "tools", tools, "system", overlay_text(x, RV_ROLE_SYSTEM, 0));
}

static rv_status do_hook(run_ctx *x)
{
    const rv_hookcall *hk = vm_hook(x->vm);
    char url[2048], err[256];
    snprintf(url, sizeof url, "%.*s", (int)hk->url.len, hk->url.s);
    json_t *sum = hook_summary(x);
    char *body = NULL;
    size_t blen = 0;
    FILE *mf = sum ? open_memstream(&body, &blen) : NULL;
    if (mf) {
        int bad = jw_print(mf, sum, 0);
        if (fclose(mf) || bad) {
            free(body);
            body = NULL;
        }
    }
    json_decref(sum);
    x->hook_body.len = 0;
    x->hook_done = x->hook_status = 0;
    x->hook_model[0] = x->hook_err[0] = 0;
    rv_outcome o = vm_outcome_init(0);
    o.failure = RV_FAIL_ERROR;
    const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json" };
    hc_spec s = { .url = url, .headers = hdrs, .nheaders = 2, .body = body, .body_len = blen,
                  .connect_timeout_us = hk->timeout_us, .total_timeout_us = hk->timeout_us,
                  .first_byte_timeout_us = hk->timeout_us };
    hc_handler h = { hook_header, hook_data, hook_done };
    if (body && (x->hook = hc_start(x->eng, &s, &h, x, err, sizeof err))) {
        while (!x->hook_done)
            if (hc_run_once(x->eng, -1) < 0)
                break;
        if (!x->hook_err[0] && x->hook_status == 200) {
            json_t *ans = json_loadb(x->hook_body.p ? x->hook_body.p : "", x->hook_body.len, 0, NULL);
            json_t *m = json_object_get(ans, "model");
            if (json_is_string(m)) {
                snprintf(x->hook_model, sizeof x->hook_model, "%s", json_string_value(m));
                o = vm_outcome_init(1);
                o.hook_model = (rv_sv){ x->hook_model, (uint32_t)strlen(x->hook_model) };
            } else
                snprintf(x->hook_err, sizeof x->hook_err, "the answer names no model");
            json_decref(ans);
        }
    } else if (!x->hook_err[0])
        snprintf(x->hook_err, sizeof x->hook_err, "%.150s", body ? err : "out of memory");
    if (x->hook) {
        hc_cancel(x->eng, x->hook);
        x->hook = NULL;
    }
    free(body);
    return vm_resume(x->vm, &o);
}

/* ---------------------------------------------------------------- the request */

static void make_id(run_ctx *x)
{
    unsigned char b[12];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        memset(b, 0, sizeof b);
    char *p = x->reqid + snprintf(x->reqid, sizeof x->reqid, "chatcmpl-");
    for (size_t i = 0; i < sizeof b; i++)
        p += sprintf(p, "%02x", b[i]);
}

static void write_trace(run_ctx *x, const char *error)
{
    if (!x->o->trace)
        return;
    const rv_result *r = vm_result(x->vm);
    trace_request rq = { x->reqid, x->start_wall, wall_us(), x->o->stream, x->tcalls,
                      r->nattempts < RV_MAX_ATTEMPTS ? r->nattempts : RV_MAX_ATTEMPTS,
                      x->hook_model[0] ? x->hook_model : NULL, x->hook_err[0] ? x->hook_err : NULL,
                      x->hook_latency, error };
    if (trace_write(x->o->trace, x->p, r, &rq))
        fprintf(stderr, "routevm: could not write the trace\n");
}

static int finish_request(run_ctx *x, rv_status st)
{
    const rv_result *r = vm_result(x->vm);
    int rc;
    if (st == RV_DONE) {
        print_answer(x);
        rc = RUN_ANSWERED;
    } else if (st == RV_DENIED) {
        char msg[300];
        snprintf(msg, sizeof msg, "refused by guardrail '%s': %.*s",
                 r->denied_by < x->p->nguard ? rv_str(x->p, x->p->guards[r->denied_by].name) : "?",
                 (int)r->deny_reason.len, r->deny_reason.s ? r->deny_reason.s : "");
        print_error(x, "content_filter", "guardrail", msg);
        rc = RUN_DENIED;
    } else {
        const char *cls = r->failure < RV_FAIL__COUNT && r->failure != RV_FAIL_NONE ? rv_failure_names[r->failure] : "error";
        char msg[400];
        snprintf(msg, sizeof msg, "%s", r->error ? r->error : "no model answered");
        print_error(x, r->failure == RV_FAIL_STREAMED ? "stream_error" : "upstream_error", cls, msg);
        rc = RUN_FAILED;
    }
    write_trace(x, NULL);
    return rc;
}

int run_request(const rv_program *p, const char *body, size_t len, const run_opts *o)
{
    run_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        fprintf(stderr, "routevm: out of memory\n");
        return RUN_USAGE;
    }
    x->p = p;
    x->o = o;
    x->created = (int64_t)time(NULL);
    x->start_wall = wall_us();
    make_id(x);
    int rc = RUN_BAD;
    char err[256];
    rv_reqerr rerr;
    if (!(x->req = req_parse(body, len, NULL, &rerr))) {
        print_error(x, "invalid_request_error", "invalid_request", rerr.msg);
        goto out;
    }
    x->include_usage = x->req->params.include_usage.len && x->req->params.include_usage_v;
    uint32_t agent = o->agent ? vm_agent(p, o->agent, strlen(o->agent)) : vm_agent(p, x->req->model.s, x->req->model.len);
    if (agent == RV_NONE) {
        snprintf(err, sizeof err, "no agent named '%.100s' in the policy",
                 o->agent ? o->agent : x->req->model.len ? x->req->model.s : "(none)");
        print_error(x, "invalid_request_error", "model_not_found", err);
        goto out;
    }
    if (vm_image_init(&x->img, p, err, sizeof err)) {
        fprintf(stderr, "routevm: %s\n", err);
        goto out;
    }
    x->lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    x->env = memenv_new(p->nmodel);
    x->health = x->env ? hl_new(p, x->env) : NULL;
    x->vm = x->health ? vm_new(&x->img, memenv_env(x->env), x->lang) : NULL;
    x->eng = hc_new(NULL);
    if (!x->vm || !x->eng) {
        fprintf(stderr, "routevm: out of memory (or the HTTP client failed to start)\n");
        rc = RUN_USAGE;
        goto out;
    }
    hl_refresh(x->health, hc_now_us());
    rv_startopts so2 = { x->start_wall + (o->deadline_us > 0 ? o->deadline_us : 300000000) };
    rv_status st = vm_start(x->vm, agent, x->req, &so2);
    while (st == RV_CALL || st == RV_HOOK)
        st = st == RV_CALL ? do_call(x) : do_hook(x);
    rc = finish_request(x, st);
out:
    hc_free(x->eng);
    vm_free(x->vm);
    hl_free(x->health);
    memenv_free(x->env);
    bi_lang_free(x->lang);
    if (x->img.p)
        vm_image_free(&x->img);
    req_free(x->req);
    free(x->hook_body.p);
    free(x);
    return rc;
}
