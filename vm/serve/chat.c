/* POST /v1/chat/completions; see chat.h.

   A request's life: checked and parsed here (any refusal answered at
   once), then a ch_req holds everything it needs -- the parsed request,
   a VM, its environment, the driver -- until the driver's 'done' (the
   answer or error is sent, metrics counted, the trace written, all
   freed) or the connection's abort (the same, with the upstream call
   cancelled and nothing sent). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "chat.h"
#include "clock.h"
#include "curlev.h"
#include "drive.h"
#include "log.h"
#include "mem.h"
#include "numfmt.h"
#include "series.h"
#include "wpol.h"

typedef struct {
    sv_worker *w;
    hs_req *r;                  /* NULL once the client is gone */
    wp_state *wp;               /* holds the policy the request started with */
    const rv_program *p;
    rv_request *req;
    rv_meta *meta;              /* the routing hints, headers first (owned), or NULL */
    char *hints;                /* their keys and values (owned) */
    se_cache *met;              /* the worker's series for this policy (x->wp's) */
    wp_vm *pv;                  /* the VM and its environment, from the state's pool */
    rv_vm *vm;                  /* pv->vm */
    dr_req *d;
    uint32_t agent;
    int stream, started;
    int64_t start_us, first_out_us;     /* monotonic */
    /* the answer's "x-request-id: ID" line, the id written into it
       (sv_request_id: nothing in it to screen) */
    char idline[14 + 48];
    size_t idline_len;
    const char *reqid;          /* the id, in 'idline' */
    char keyname[32];
    rv_caller caller;           /* the key's budgets (name: caller_name), none when both 0 */
    char caller_name[32];
} ch_req;

/* ---------------------------------------------------------------- answers */

static void count_error(sv_worker *w, int status, const char *type)
{
    char s[200];
    api_count(w, "chat", status);
    mt_add(w->met, mt_series(s, sizeof s, "routevm_request_errors_total", "type", type, NULL), 1);
}

/* "name: value" with every byte outside printable ASCII replaced: names
   come from the policy, and a crafted .rbc must not inject a header.
   Truncated to 'size' - 1 bytes.  Eight value bytes at a time are copied
   as they are when all are printable (no byte below 0x20, none from 0x7f
   up: the word tests of hfield.c), the rest one by one.  Inline, so
   that the names' lengths are the compiler's. */
static inline __attribute__((always_inline)) hs_line header(char *buf, size_t size, const char *name,
                                                            const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl > size - 3)
        nl = size - 3;
    if (vl > size - 3 - nl)
        vl = size - 3 - nl;
    memcpy(buf, name, nl);      /* the gateway's own names */
    char *v = buf + nl;
    *v++ = ':';
    *v++ = ' ';
    const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
    size_t i = 0;
    for (; i + 8 <= vl; i += 8) {
        uint64_t w, d;
        memcpy(&w, value + i, 8);
        d = w + ones;           /* 0x7f becomes 0x80; no carry leaves a byte below it */
        if (((w - ones * 0x20) | w | d) & high)   /* below 0x20, from 0x80 up, or 0x7f */
            break;
        memcpy(v + i, &w, 8);
    }
    for (; i < vl; i++) {
        unsigned char c = (unsigned char)value[i];
        v[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    v[vl] = 0;
    return (hs_line){ buf, nl + 2 + vl };
}

/* An error answered before a request was started, or by the driver. */
static void refuse(sv_worker *w, hs_req *r, int status, const char *type, const char *code, const char *msg,
                   const char *reqid)
{
    count_error(w, status, type);
    size_t n = 0;
    char *b = hs_error_body(msg, type, code, NULL, &n);
    char h[80];
    const hs_line hdrs[1] = { reqid ? header(h, sizeof h, "x-request-id", reqid) : (hs_line){ NULL, 0 } };
    hs_respond(r, status, HS_LINE("application/json"), hdrs, reqid ? 1 : 0, b ? b : "", b ? n : 0);
    free(b);
}

static const char *model_name(const rv_program *p, uint32_t m)
{
    return m < p->nmodel ? rv_str(p, p->models[m].name) : "";
}

/* The header line naming agent, model or rule 'i' of line table entry
   'k' (0 agents, 1 models, 2 rules), written into 'buf' (160 bytes). */
static hs_line policy_line(const rv_program *p, int k, uint32_t i, char *buf)
{
    char num[NF_MAX];
    if (k == 0)
        return header(buf, 160, "x-routevm-agent", rv_str(p, p->agents[i].name));
    if (k == 1)
        return header(buf, 160, "x-routevm-model", model_name(p, i));
    nf_u64(num, p->rules[i].number);
    return header(buf, 160, "x-routevm-rule", num);
}

/* The header lines naming each agent, model and rule of the policy,
   made once per policy state (wp_state: lines, line_at) rather than for
   every answer; line j runs from line_at[j] to its NUL, one byte before
   line_at[j + 1].  Without memory for them, answers make their own. */
static void policy_lines(wp_state *s, const rv_program *p)
{
    const uint32_t count[3] = { p->nagent, p->nmodel, p->nrule };
    uint32_t n = count[0] + count[1] + count[2];
    char *buf = mem_malloc((size_t)n * 160 + 1);
    uint32_t *at = mem_calloc(n + 1, sizeof *at);
    if (!buf || !at) {
        free(buf);
        free(at);
        return;
    }
    size_t len = 0;
    uint32_t j = 0;
    for (int k = 0; k < 3; k++)
        for (uint32_t i = 0; i < count[k]; i++) {
            at[j++] = (uint32_t)len;
            len += policy_line(p, k, i, buf + len).len + 1;
        }
    at[n] = (uint32_t)len;
    s->lines = buf;
    s->line_at = at;
}

/* Line 'i' of table entry 'k' (policy_line): the policy state's, or
   made in 'buf'. */
static hs_line decision_line(ch_req *x, int k, uint32_t i, char *buf)
{
    if (!x->wp->lines)
        policy_lines(x->wp, x->p);
    if (!x->wp->lines)
        return policy_line(x->p, k, i, buf);
    uint32_t j = (k == 0 ? 0 : k == 1 ? x->p->nagent : x->p->nagent + x->p->nmodel) + i;
    const uint32_t *at = x->wp->line_at;
    return (hs_line){ x->wp->lines + at[j], at[j + 1] - at[j] - 1 };
}

/* The headers that name the request and the decision; 'cost' only when
   known (JSON answers; a stream's cost follows as a trailer).  Returns how many lines were set in 'h'. */
static size_t decision_headers(ch_req *x, char (*buf)[160], hs_line *h, int cost)
{
    const rv_result *res = vm_result(x->vm);
    size_t n = 0;
    h[n++] = (hs_line){ x->idline, x->idline_len };
    h[n] = decision_line(x, 0, x->agent, buf[n]), n++;
    if (res->model < x->p->nmodel)
        h[n] = decision_line(x, 1, res->model, buf[n]), n++;
    if (res->rule < x->p->nrule)
        h[n] = decision_line(x, 2, res->rule, buf[n]), n++;
    if (cost) {
        char d[NF_MAX];
        nf_dollars(d, res->cost);
        h[n] = header(buf[n], 160, "x-routevm-cost", d), n++;
    }
    return n;
}

/* ---------------------------------------------------------------- metrics, trace, log */

static void count_calls(ch_req *x)
{
    const rv_result *res = vm_result(x->vm);
    for (uint32_t i = 0; i < res->nattempts; i++) {
        const rv_attempt *a = &res->attempts[i];
        if (!a->made)
            continue;
        const int64_t v[SE__CLASSES] = { a->usage.input, a->usage.output, a->usage.cache_read, a->usage.cache_write,
                                         a->usage.reasoning };
        for (int k = 0; k < SE__CLASSES; k++)
            if (v[k] > 0)
                mt_inc(se_tokens(x->met, x->agent, a->model, (se_class)k), v[k]);
        if (a->cost > 0)
            mt_inc(se_cost(x->met, x->agent, a->model, res->rule), a->cost);
    }
}

/* Everything counted once a request ends: 'status' sent (0 when the
   client went away), the decision's outcome. */
static void account(ch_req *x, int status, rv_status st, se_outcome outcome)
{
    sv_worker *w = x->w;
    const rv_result *res = vm_result(x->vm);
    if (status)
        mt_inc(se_status(x->met, status), 1);
    mt_inc(se_chat(x->met, x->agent, res->model < x->p->nmodel ? res->model : RV_NONE,
                   res->rule < x->p->nrule ? res->rule : RV_NONE, outcome), 1);
    count_calls(x);
    if (st == RV_FAILED && res->failure == RV_FAIL_STREAMED)
        mt_add(w->met, "routevm_streams_broken_total", 1);
    int64_t now = hs_now_us(), total = now - x->start_us, upstream = 0;
    mt_hist_at(se_hist(x->met, MT_H_REQUEST, x->agent), total);
    if (status == 200)
        mt_hist_at(se_hist(x->met, MT_H_TTFT, x->agent), x->first_out_us > 0 ? x->first_out_us - x->start_us : total);
    for (uint32_t i = 0; i < res->nattempts; i++)
        if (res->attempts[i].made && res->attempts[i].latency_us > 0)
            upstream += res->attempts[i].latency_us + (res->attempts[i].backoff_us > 0 ? res->attempts[i].backoff_us : 0);
    mt_hist_at(se_hist(x->met, MT_H_OVERHEAD, RV_NONE), total > upstream ? total - upstream : 0);
    mt_hist_at(se_hist(x->met, MT_H_DECISION, RV_NONE), dr_decide_us(x->d));
    sv_app *a = w->app;
    if (a->trace) {
        pthread_mutex_lock(&a->trace_mu);
        int bad = dr_write_trace(x->d, a->trace, status ? NULL : "the client went away");
        pthread_mutex_unlock(&a->trace_mu);
        if (bad)
            lg_msg("error", "trace_failed", "a trace record could not be written");
    }
    if (a->o.log_requests) {
        lg_line l;
        lg_begin(&l, "info", "chat");
        lg_str(&l, "request", x->reqid);
        lg_str(&l, "agent", rv_str(x->p, x->p->agents[x->agent].name));
        lg_str(&l, "model", res->model < x->p->nmodel ? model_name(x->p, res->model) : "");
        lg_str(&l, "outcome", se_outcome_names[outcome]);
        lg_int(&l, "status", status);
        lg_int(&l, "cost_picodollars", res->cost);
        lg_int(&l, "us", total);
        if (x->keyname[0])
            lg_str(&l, "key", x->keyname);
        lg_end(&l);
    }
}

static void req_free_all(ch_req *x)
{
    dr_free(x->d);
    wp_vm_put(x->wp, x->pv);    /* releases a reservation a dropped call still held */
    req_free(x->req);
    free(x->meta);
    free(x->hints);
    wp_unref(x->wp);
    free(x);
}

/* ---------------------------------------------------------------- driver callbacks */

static void start_stream(ch_req *x)
{
    char buf[9][160];
    hs_line h[9];
    size_t n = decision_headers(x, buf, h, 0);
    /* the cost is known at the end: it follows the body as a trailer */
    if (hs_accepts_trailers(x->r))
        h[n++] = HS_LINE("Trailer: x-routevm-cost");
    hs_stream_start(x->r, 200, HS_LINE("text/event-stream"), h, n);
    x->started = 1;
}

/* The end of a stream: the request's cost as the announced trailer (sent
   only when the client accepts trailers; the cost is in the trace and the
   metrics either way). */
static void end_stream(ch_req *x)
{
    char d[NF_MAX], line[80];
    nf_dollars(d, vm_result(x->vm)->cost);
    const hs_line t[1] = { header(line, sizeof line, "x-routevm-cost", d) };
    hs_stream_end(x->r, t, 1);
}

static int on_out(void *ud, const char *p, size_t n)
{
    ch_req *x = ud;
    if (!x->r)
        return -1;
    if (!x->started) {
        x->first_out_us = hs_now_us();
        start_stream(x);
    }
    if (hs_stream_write(x->r, p, n)) {
        x->r = NULL;            /* closed for writing too slowly: the request is invalid */
        return -1;
    }
    return 0;
}

static void on_call(void *ud, const rv_call *c)
{
    ch_req *x = ud;
    x->pv->env.model = model_name(x->p, c->model);
    mt_inc(se_calls(x->met, c->model < x->p->nmodel ? c->model : RV_NONE), 1);
}

static void on_call_end(void *ud, const rv_call *c, const rv_outcome *o)
{
    ch_req *x = ud;
    uint32_t m = c->model < x->p->nmodel ? c->model : RV_NONE;
    x->pv->env.model = model_name(x->p, c->model);
    if (!o->ok) {
        rv_failure f = o->failure > RV_FAIL_NONE && o->failure < RV_FAIL__COUNT ? o->failure : RV_FAIL_ERROR;
        mt_inc(se_upstream_error(x->met, m, f), 1);
    }
    /* the gauge moves by the change (the series appears with the model's
       first call, closed or not) */
    uint8_t now = hl_state(x->wp->health, c->model).circuit;
    if (m != RV_NONE) {
        mt_inc(se_circuit(x->met, m), (int64_t)now - x->wp->circuit[m]);
        x->wp->circuit[m] = now;
    }
}

static void on_done(void *ud, rv_status st)
{
    ch_req *x = ud;
    se_outcome outcome = st == RV_DONE ? SE_ANSWERED : st == RV_DENIED ? SE_DENIED : SE_FAILED;
    if (!x->r) {                /* the client went away while we wrote */
        mt_add(x->w->met, "routevm_client_disconnects_total", 1);
        account(x, 0, st, SE_DISCONNECTED);
        req_free_all(x);
        return;
    }
    hs_req *r = x->r;
    int status = 200;
    if (x->started)             /* the driver sent the closing events, or a terminal error */
        end_stream(x);
    else if (st == RV_DONE) {
        size_t n = 0;
        const char *body = dr_answer_view(x->d, &n);     /* the driver's: borrowed */
        if (body) {
            char buf[8][160];
            hs_line h[8];
            size_t nh = decision_headers(x, buf, h, 1);
            hs_respond(r, 200, HS_LINE("application/json"), h, nh, body, n);
        } else {
            status = 500;
            size_t en = 0;
            char *b = hs_error_body("out of memory", "api_error", "internal_error", NULL, &en);
            hs_respond(r, 500, HS_LINE("application/json"), NULL, 0, b ? b : "", b ? en : 0);
            free(b);
        }
    } else {
        dr_err e;
        dr_error(x->d, st, &e);
        if (e.status == 429 && x->pv->env.ledger_failed) {
            /* no budget refused: the ledger could not reserve (fail closed) */
            e.status = 500;
            e.type = "api_error";
            e.code = "internal_error";
            snprintf(e.message, sizeof e.message, "the spend ledger could not reserve the call's cost: it was not made");
        }
        status = e.status;
        size_t n = 0;
        char *b = hs_error_body(e.message, e.type, e.code, NULL, &n);
        char buf[8][160];
        hs_line h[8];
        size_t nh = decision_headers(x, buf, h, 1);
        char mtype[200];
        mt_add(x->w->met, mt_series(mtype, sizeof mtype, "routevm_request_errors_total", "type", e.type, NULL), 1);
        hs_respond(r, e.status, HS_LINE("application/json"), h, nh, b ? b : "", b ? n : 0);
        free(b);
    }
    x->r = NULL;
    account(x, status, st, outcome);
    req_free_all(x);
}

/* The connection died before the response ended (client gone, slow
   reader, shutdown): stop the upstream call, settle what it cost. */
static void on_abort(void *ud)
{
    ch_req *x = ud;
    x->r = NULL;
    dr_cancel(x->d);
    mt_add(x->w->met, "routevm_client_disconnects_total", 1);
    account(x, 0, vm_result(x->vm)->status, SE_DISCONNECTED);
    req_free_all(x);
}

/* ---------------------------------------------------------------- the request */

/* The X-Route-* headers as metadata, before the body's own entries (the
   first of a key is the one routing reads).  0, or -1 after answering. */
static int route_hints(ch_req *x, hs_req *r)
{
    size_t bytes = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].nlen > 8 && !memcmp(r->headers[i].name, "x-route-", 8)) {
            if (++n > CH_MAX_ROUTE_HEADERS || r->headers[i].nlen - 8 > CH_MAX_ROUTE_NAME) {
                refuse(x->w, r, 400, "invalid_request_error", "invalid_route_header",
                       n > CH_MAX_ROUTE_HEADERS ? "too many X-Route-* headers (at most 32)"
                                                : "an X-Route-* header name is longer than 64 bytes after the prefix",
                       x->reqid);
                return -1;
            }
            bytes += r->headers[i].nlen - 8 + r->headers[i].vlen;
        }
    if (!n)
        return 0;
    x->meta = mem_calloc(n + x->req->nmeta, sizeof *x->meta);
    x->hints = mem_calloc(bytes + 1, 1);
    if (!x->meta || !x->hints) {
        refuse(x->w, r, 500, "api_error", "internal_error", "out of memory", x->reqid);
        return -1;
    }
    char *at = x->hints;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->nheaders; i++) {
        const hs_header *h = &r->headers[i];
        if (h->nlen <= 8 || memcmp(h->name, "x-route-", 8))
            continue;
        size_t kl = h->nlen - 8;
        for (size_t j = 0; j < kl; j++)
            at[j] = h->name[8 + j] == '-' ? '_' : h->name[8 + j];
        x->meta[k].key = (rv_sv){ at, (uint32_t)kl };
        at += kl;
        memcpy(at, h->value, h->vlen);
        x->meta[k].val = (rv_sv){ at, (uint32_t)h->vlen };
        at += h->vlen;
        k++;
    }
    if (x->req->nmeta)
        memcpy(x->meta + k, x->req->meta, x->req->nmeta * sizeof *x->meta);
    /* (the request's own array stays in its memory, freed with it) */
    req_set_meta(x->req, x->meta, k + x->req->nmeta, x->wp->sp->img.dict);
    return 0;
}

/* Parse the body and find the agent.  0, or -1 after answering. */
static int parse(ch_req *x, hs_req *r, const ky_key *key)
{
    rv_reqerr rerr;
    if (!(x->req = req_parse_dict(r->body ? r->body : "", r->body_len, NULL, &rerr, x->w->reqpool,
                                  x->wp->sp->img.dict))) {
        if (rerr.nomem)         /* the gateway's failure, not the request's */
            refuse(x->w, r, 500, "api_error", "internal_error", "out of memory", x->reqid);
        else
            refuse(x->w, r, 400, "invalid_request_error", strstr(rerr.msg, "UTF-8") ? "invalid_utf8" : "invalid_request",
                   rerr.msg, x->reqid);
        return -1;
    }
    const rv_request *q = x->req;
    if (!q->model.len) {
        refuse(x->w, r, 400, "invalid_request_error", "missing_model",
               "you must provide a model parameter: the name of an agent of the policy", x->reqid);
        return -1;
    }
    x->agent = vm_agent(x->p, q->model.s, q->model.len);
    if (x->agent == RV_NONE || (key && !ky_allows(key, q->model.s, q->model.len))) {
        /* the same answer whether the agent does not exist or the key may
           not see it, as OpenAI answers for models one cannot access */
        char msg[300];
        snprintf(msg, sizeof msg, "The model '%.*s' does not exist or you do not have access to it.",
                 (int)(q->model.len < 128 ? q->model.len : 128), q->model.s);
        refuse(x->w, r, 404, "invalid_request_error", "model_not_found", msg, x->reqid);
        return -1;
    }
    x->stream = q->stream;
    return route_hints(x, r);
}

static int start_vm(ch_req *x)
{
    sv_worker *w = x->w;
    if (!(x->pv = wp_vm_get(x->wp, w->app->ledger, x->reqid)))
        return -1;
    x->vm = x->pv->vm;
    dr_opts o = { .p = x->p, .vm = x->vm, .eng = ce_engine(w->ce), .health = x->wp->health, .stream = x->stream,
                  .trace = w->app->trace != NULL,
                  .caller = x->caller.budget_day || x->caller.budget_request ? &x->caller : NULL };
    dr_handler h = { on_out, on_call, on_call_end, on_done };
    return (x->d = dr_new(&o, &h, x)) ? 0 : -1;
}

void ch_request(sv_worker *w, hs_req *r)
{
    sv_keys *keys;
    const ky_key *key;
    if (api_auth(w, r, &keys, &key))
        return;
    ch_req *x = mem_malloc(sizeof *x);     /* (malloc's per-thread cache serves it; calloc's path does not) */
    if (x)
        memset(x, 0, sizeof *x);
    sp_policy *sp = sp_current();
    if (x)
        x->wp = wp_get(&w->wp, sp);
    sp_unref(sp);
    if (!x || !x->wp) {
        sv_keys_unref(keys);
        if (x)
            free(x);
        refuse(w, r, 500, "api_error", "internal_error", "out of memory", NULL);
        return;
    }
    x->w = w;
    x->p = x->wp->sp->p;
    x->start_us = r->start_us;
    if (!x->wp->series)
        x->wp->series = se_new(w->met, x->p, w->id);
    if (!(x->met = x->wp->series)) {
        sv_keys_unref(keys);
        req_free_all(x);
        refuse(w, r, 500, "api_error", "internal_error", "out of memory", NULL);
        return;
    }
    memcpy(x->idline, "x-request-id: ", 14);
    x->idline_len = 14 + sv_request_id(w, x->idline + 14, sizeof x->idline - 14);
    x->reqid = x->idline + 14;
    if (key) {
        snprintf(x->keyname, sizeof x->keyname, "%s", ky_name(key));
        if (ky_caller(key, &x->caller)) {  /* the name is the key set's: keep a copy */
            snprintf(x->caller_name, sizeof x->caller_name, "%s", x->caller.name);
            x->caller.name = x->caller_name;
        }
    }
    int bad = parse(x, r, key);
    sv_keys_unref(keys);
    if (bad) {
        req_free_all(x);
        return;
    }
    if (start_vm(x)) {
        refuse(w, r, 500, "api_error", "internal_error", "out of memory", x->reqid);
        req_free_all(x);
        return;
    }
    x->r = r;
    hs_on_abort(r, on_abort, x);
    int64_t now = clk_wall_us();
    dr_start(x->d, x->agent, x->req, now + w->app->o.request_us, x->reqid);
    /* 'x' may be freed here already ('done' from inside dr_start) */
}
