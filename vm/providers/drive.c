/* The request driver; see drive.h.

   States: the VM is at RV_CALL or RV_HOOK while a call or hook is in
   flight or waits for its backoff; every transition happens in a timer
   callback or in dr_start/dr_cancel, never inside libcurl or inside a
   pcall/httpc callback: those only record that something ended and arm
   the driver's one timer (held in the driver, so arming it cannot fail).
   What the client receives is written by reply.c through the one JSON
   writer: a stream's events into one memory writer the driver reuses. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "drive.h"
#include "jsonw.h"
#include "mem.h"
#include "pcall.h"
#include "reply.h"
#include "trace.h"

#define TSTR 4          /* strings kept per traced call: error, response model, finish, response id */
#define HOOK_MAX_BODY 65536

typedef enum { TM_NONE, TM_SEND, TM_CALL_END, TM_HOOK_END } tm_kind;

/* Beside the VM's statuses: a call or hook is in flight (or waits for
   its backoff); the driver goes on when it ends. */
#define WAITING ((rv_status)100)

struct dr_req {
    dr_opts o;
    dr_handler h;
    void *ud;
    const rv_request *req;
    char reqid[64];
    int64_t created, start_wall, start_mono, ttft_us;
    int64_t decide_ns;          /* wall time spent inside the VM (deciding, guardrails) */
    int include_usage;          /* the client asked for a usage chunk */
    int finished;               /* 'done' was called, or cancelled */
    /* the client's stream */
    int sent_head, sent_text, out_failed;
    int sent_out;               /* an event reached the client */
    int out_lost;               /* an event could not be made (out of memory): the stream stopped there */
    int pre_set;                /* 'pre' holds the chunks' start for model 'pre_model' */
    uint32_t pre_model;
    /* the call in flight */
    pc_call *call;
    unsigned long mem_failed;   /* mem_failures() when it was begun */
    int call_nomem;             /* memory ran out while the last call ran (nomem_outcome) */
    rl_ticket ticket;           /* what the rate limiter counted for it */
    int call_ended, feeding, feed_denied, sent_before;
    /* the hook in flight */
    hc_xfer *hook;
    int hook_status;
    char *hook_req;
    /* the one timer: backoff, or "something ended, go on" */
    hc_timer tm;
    tm_kind tm_kind;
    /* trace */
    char hook_model[128], hook_err[160];
    int64_t hook_latency;
    /* ---- kept when the driver is reused (below 'tused'; reset() clears what is above) */
    uint32_t tused;             /* tcalls[0..tused) may have been written; the rest are zero */
    trace_call tcalls[RV_MAX_ATTEMPTS];
    char (*tstr[RV_MAX_ATTEMPTS])[160]; /* TSTR strings per call, made on first use (most requests make one call) */
    uint32_t ntstr;             /* tstr[ntstr..] are NULL */
    jw_writer out;              /* the stream's events are written here, one at a time */
    jw_writer pre;              /* what the stream's chunks share (rp_chunk_prefix) */
    pc_call *spare;             /* a call ended, whose buffers the next call takes */
    ans_buf hook_body;
    dr_req *next_spare;         /* in the engine's spare drivers */
};

/* The drivers dr_free keeps for dr_new, per engine (hc_set_user): a
   gateway worker's requests reuse a few drivers -- their trace table,
   event buffer and provider call buffers -- instead of allocating them
   each.  Requests end and start in bursts (one loop round answers many
   calls, the next reads many requests), so the spares cover the requests
   a worker runs at once: with 16 kept and 64 clients, most requests
   allocated and zeroed a driver and its call (5 k instructions, some
   80 cache lines written cold).  What each keeps is bounded (pcall.c,
   reset()). */
#define DR_SPARES 64
typedef struct {
    dr_req *head;
    uint32_t n;
} dr_spares;

static int64_t wall_us(void)
{
    return clk_wall_us();
}

static void step(dr_req *d, rv_status st);

/* The clock the decision's time is read on: nanoseconds, so that the
   short segments a request's decision is made of (vm_start, each
   vm_resume, vm_feed and vm_feed_end) are summed before any rounding.
   Always read, never held; a reading becomes the held time (clock.h), so
   what the driver and the server time after the VM ran starts from its
   end. */
static int64_t now_ns(void)
{
    return clk_mono_ns();
}

/* vm_resume, timed: the decision's own time, apart from the calls'. */
static rv_status resume(dr_req *d, const rv_outcome *o)
{
    int64_t t0 = now_ns();
    rv_status st = vm_resume(d->o.vm, o);
    d->decide_ns += now_ns() - t0;
    return st;
}

/* ---------------------------------------------------------------- client output */

/* A JSON document as a malloc'd string, without a trailing newline;
   takes 'j'. */
static char *json_text(json_t *j, size_t *len)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    if (j)
        jw_value(&w, j);
    json_decref(j);
    return j ? jw_take(&w, len) : NULL;
}

static const char *model_id(const dr_req *d, uint32_t m)
{
    return m < d->o.p->nmodel ? rv_str(d->o.p, d->o.p->models[m].id) : "";
}

/* What every document of the answer shares: our id, the answering model. */
static rp_head head_of(const dr_req *d)
{
    return (rp_head){ d->reqid, d->created, model_id(d, vm_result(d->o.vm)->model), NULL };
}

/* head_of for a stream's chunks, with their shared start written once
   per answering model (a fallback before any text may change it). */
static rp_head chunk_head(dr_req *d)
{
    rp_head h = head_of(d);
    uint32_t m = vm_result(d->o.vm)->model;
    size_t n;
    if (!d->pre_set || d->pre_model != m) {
        rp_chunk_prefix(&d->pre, &h);
        d->pre_set = 1;
        d->pre_model = m;
    }
    if (jw_data(&d->pre, &n))
        h.prefix = &d->pre;
    return h;
}

/* The driver's writer, emptied and framed for one SSE event; NULL when
   nothing can reach the client. */
static jw_writer *event_begin(dr_req *d)
{
    if (d->out_failed || !d->h.out)
        return NULL;
    jw_clear(&d->out);
    jw_bytes(&d->out, "data: ", 6);
    return &d->out;
}

/* An event that could not be made (memory ran out) would leave a hole
   in the client's answer, so the stream stops there as if the client
   had gone (the call in flight is stopped, nothing more is sent) and
   the request fails: a stream the client has seen part of ends with
   this constant error event (made without memory), one it has seen
   nothing of is answered with dr_error's 500. */
static void event_lost(dr_req *d)
{
    static const char ev[] = "data: {\"error\":{\"message\":\"out of memory\",\"type\":\"api_error\",\"param\":null,"
                             "\"code\":\"internal_error\"}}\n\n";
    if (d->sent_out && !d->out_failed)
        d->h.out(d->ud, ev, sizeof ev - 1);
    d->out_lost = 1;
    d->out_failed = 1;
}

/* The event event_begin opened, to the client. */
static void event_end(dr_req *d)
{
    size_t n;
    jw_bytes(&d->out, "\n\n", 2);
    const char *p = jw_data(&d->out, &n);
    if (!p)
        event_lost(d);
    else if (d->h.out(d->ud, p, n))
        d->out_failed = 1;
    else
        d->sent_out = 1;
}

static void stream_head(dr_req *d)
{
    if (d->sent_head)
        return;
    d->sent_head = 1;
    jw_writer *w = event_begin(d);
    if (w) {
        rp_head h = chunk_head(d);
        rp_chunk_role(w, &h);
        event_end(d);
    }
}

static void stream_text(dr_req *d, rv_sv t)
{
    if (!t.len)
        return;
    stream_head(d);
    if (!d->sent_text)
        d->ttft_us = hc_now_us() - d->start_mono;
    d->sent_text = 1;
    jw_writer *w = event_begin(d);
    if (w) {
        rp_head h = chunk_head(d);
        rp_chunk_text(w, &h, t);
        event_end(d);
    }
}

rv_usage dr_answer_usage(const dr_req *d)
{
    const rv_result *r = vm_result(d->o.vm);
    for (uint32_t i = r->nattempts; i-- > 0;)
        if (r->attempts[i].ok && r->attempts[i].purpose == RV_PURPOSE_ANSWER)
            return r->attempts[i].usage;
    return (rv_usage){ 0, 0, 0, 0, 0 };
}

static const char *answer_finish(const dr_req *d, const rv_result *r)
{
    for (uint32_t i = r->nattempts; i-- > 0;)
        if (r->attempts[i].ok && r->attempts[i].purpose == RV_PURPOSE_ANSWER)
            return i < RV_MAX_ATTEMPTS && d->tcalls[i].finish ? d->tcalls[i].finish : "stop";
    return "stop";
}

/* The closing events of a stream that was answered. */
static void stream_answer(dr_req *d)
{
    const rv_result *r = vm_result(d->o.vm);
    rv_usage u = dr_answer_usage(d);
    if (!d->sent_text)                  /* a buffered answer (a cascade's): sent whole now */
        stream_text(d, r->answer);
    stream_head(d);
    rp_head h = chunk_head(d);
    jw_writer *w;
    if (r->ntool_calls && (w = event_begin(d))) {
        rp_chunk_tools(w, &h, r->tool_calls, r->ntool_calls);
        event_end(d);
    }
    if ((w = event_begin(d))) {
        rp_chunk_finish(w, &h, answer_finish(d, r));
        event_end(d);
    }
    if (d->include_usage && (w = event_begin(d))) {
        rp_chunk_usage(w, &h, &u);
        event_end(d);
    }
    if (!d->out_failed && d->h.out && d->h.out(d->ud, "data: [DONE]\n\n", 14))
        d->out_failed = 1;
}

char *dr_answer_json(dr_req *d, size_t *len)
{
    const rv_result *r = vm_result(d->o.vm);
    rv_usage u = dr_answer_usage(d);
    rp_head h = head_of(d);
    jw_writer w;
    jw_init_mem(&w, 0);
    rp_completion(&w, &h, r->answer, r->tool_calls, r->ntool_calls, answer_finish(d, r), &u);
    return jw_take(&w, len);
}

const char *dr_answer_view(dr_req *d, size_t *len)
{
    const rv_result *r = vm_result(d->o.vm);
    rv_usage u = dr_answer_usage(d);
    rp_head h = head_of(d);
    jw_writer *w = &d->out;
    jw_clear(w);
    rp_completion(w, &h, r->answer, r->tool_calls, r->ntool_calls, answer_finish(d, r), &u);
    return w->depth ? NULL : jw_data(w, len);
}

void dr_error(const dr_req *d, rv_status st, dr_err *e)
{
    const rv_program *p = d->o.p;
    const rv_result *r = vm_result(d->o.vm);
    /* out of memory: a stream's event, or the last call (which failed, or
       whose streamed answer the VM could not keep) */
    if (d->out_lost ||
        (st == RV_FAILED && (r->failure == RV_FAIL_ERROR || r->failure == RV_FAIL_STREAMED) && d->call_nomem)) {
        e->status = 500;
        e->type = "api_error";
        e->code = "internal_error";
        snprintf(e->message, sizeof e->message, "out of memory");
        return;
    }
    if (st == RV_DENIED) {
        e->status = 400;
        e->type = "content_filter";
        e->code = "guardrail";
        snprintf(e->message, sizeof e->message, "refused by guardrail '%s': %.*s",
                 r->denied_by < p->nguard ? rv_str(p, p->guards[r->denied_by].name) : "?",
                 (int)r->deny_reason.len, r->deny_reason.s ? r->deny_reason.s : "");
        return;
    }
    rv_failure f = r->failure;
    e->code = f < RV_FAIL__COUNT && f != RV_FAIL_NONE ? rv_failure_names[f] : "error";
    snprintf(e->message, sizeof e->message, "%s", r->error ? r->error : "no model answered");
    e->type = "upstream_error";
    if (f == RV_FAIL_STREAMED)
        e->type = "stream_error";
    if (f == RV_FAIL_BUDGET) {
        e->status = 429;
        e->type = "insufficient_quota";
        e->code = "budget_exceeded";
    } else if (f == RV_FAIL_UNAVAILABLE) {
        e->status = 503;
    } else if (f == RV_FAIL_DEADLINE || f == RV_FAIL_TIMEOUT) {
        e->status = 504;
    } else
        e->status = 502;
}

char *dr_error_json(const dr_err *e, size_t *len)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    rp_error(&w, e->message, e->type, e->code);
    return jw_take(&w, len);
}

int dr_streamed(const dr_req *d)
{
    return d->sent_text;
}

int64_t dr_decide_us(const dr_req *d)
{
    return (d->decide_ns + 999) / 1000;
}

int64_t dr_ttft_us(const dr_req *d)
{
    return d->sent_text ? d->ttft_us : -1;
}

/* ---------------------------------------------------------------- calls */

static void keep(dr_req *d, uint32_t seq, int k, const char **dst, const char *s)
{
    if (!s || !*s || seq >= RV_MAX_ATTEMPTS)
        return;
    if (!d->tstr[seq] && !(d->tstr[seq] = mem_calloc(TSTR, sizeof *d->tstr[seq])))
        return;                 /* out of memory: the trace goes without it */
    if (seq >= d->ntstr)
        d->ntstr = seq + 1;
    size_t n = strnlen(s, sizeof d->tstr[seq][k] - 1);
    memcpy(d->tstr[seq][k], s, n);
    d->tstr[seq][k][n] = 0;
    *dst = d->tstr[seq][k];
}

static void arm(dr_req *d, tm_kind k, int64_t after_us, void (*cb)(void *))
{
    if (d->tm_kind != TM_NONE)      /* never pending twice (a list cycle) */
        hc_timer_cancel(d->o.eng, &d->tm);
    d->tm_kind = k;
    hc_after_in(d->o.eng, &d->tm, after_us, cb, d);
}

static int on_text(void *ud, const char *s, size_t n)
{
    dr_req *d = ud;
    if (!d->feeding)
        return 0;
    rv_sv rel = { NULL, 0 };
    int64_t t0 = now_ns();
    int denied = vm_feed(d->o.vm, s, n, &rel);
    d->decide_ns += now_ns() - t0;
    stream_text(d, rel);
    if (denied) {
        d->feed_denied = 1;
        return 1;
    }
    return d->out_failed;       /* the client is gone: stop the upstream call */
}

static void call_ended(void *ud);

static void on_call_done(void *ud, pc_call *c)
{
    dr_req *d = ud;
    d->call_ended = 1;
    arm(d, TM_CALL_END, 0, call_ended);
}

/* Is the current call a cascade step that escalates on log-probabilities? */
static int wants_logprobs(dr_req *d, const rv_call *c)
{
    const rv_result *r = vm_result(d->o.vm);
    const rv_program *p = d->o.p;
    if (c->purpose != RV_PURPOSE_ANSWER || c->may_stream || r->via != RV_VIA_CASCADE || r->via_index >= p->ncascade)
        return 0;
    return p->cascades[r->via_index].by == RV_BY_LOGPROBS;
}

static int64_t least_positive(int64_t a, int64_t b)
{
    return a <= 0 ? b : b <= 0 ? a : a < b ? a : b;
}

/* The URL given for 'provider' with an endpoint override, or NULL. */
static const char *endpoint_override(dr_req *d, uint32_t provider)
{
    const rv_program *p = d->o.p;
    const char *name = provider < p->nprovider ? rv_str(p, p->providers[provider].name) : "";
    size_t n = strlen(name);
    for (uint32_t i = 0; i < d->o.nendpoints; i++)
        if (!strncmp(d->o.endpoints[i], name, n) && d->o.endpoints[i][n] == '=')
            return d->o.endpoints[i] + n + 1;
    return NULL;
}

/* Did memory run out on this thread while the call ran (an allocation
   failed between its start and its end)?  Noted in 'call_nomem'.  A
   call that failed then failed for the gateway's lack of memory (its
   own allocation, most likely, reported in whatever words and class
   its layer chose), not for its model: its outcome becomes the class
   'error', "out of memory", the model's health does not count it, and
   a request that ends with it is answered 500 (dr_error).  (Memory that
   ran out for another request meanwhile is taken the same way: the
   gateway was out of memory.) */
static void nomem_outcome(dr_req *d, rv_outcome *o)
{
    d->call_nomem = mem_failures() != d->mem_failed;
    if (d->call_nomem && !o->ok) {
        o->failure = RV_FAIL_ERROR;
        o->detail = "out of memory";
    }
}

/* A failure the driver detected before sending (no key, no memory). */
static rv_status resume_unsent(dr_req *d, const rv_call *c, rv_failure f, const char *why)
{
    if (d->o.trace)
        keep(d, c->seq, 0, &d->tcalls[c->seq < RV_MAX_ATTEMPTS ? c->seq : 0].error, why);
    rv_outcome o = vm_outcome_init(0);
    o.failure = f;
    o.detail = why;
    nomem_outcome(d, &o);
    if (d->h.call_end)
        d->h.call_end(d->ud, c, &o);
    return resume(d, &o);
}

/* Send the call the VM asked for (its backoff has passed).  Returns
   WAITING while it is in flight, else the VM's next status. */
static rv_status send_call(dr_req *d)
{
    const rv_call *c = vm_call(d->o.vm);
    d->mem_failed = mem_failures();
    uint32_t seq = c->seq < RV_MAX_ATTEMPTS ? c->seq : RV_MAX_ATTEMPTS - 1;
    trace_call *tc = &d->tcalls[seq];
    cv_conv cv;
    char err[256];
    if (cv_from_call(&cv, c, err, sizeof err)) {
        cv_free(&cv);
        return resume_unsent(d, c, RV_FAIL_CLIENT, err);
    }
    int64_t now = wall_us();
    int64_t left = c->deadline_us > 0 ? c->deadline_us - now : 0;
    if (c->deadline_us > 0 && left <= 0) {
        cv_free(&cv);
        return resume_unsent(d, c, RV_FAIL_TIMEOUT, "the request's deadline passed");
    }
    int64_t total = least_positive(c->timeout_us, left);
    pc_spec s = {
        .p = d->o.p, .model = c->model, .cv = &cv, .endpoint = endpoint_override(d, c->provider),
        .stream = d->o.stream && c->may_stream && c->purpose == RV_PURPOSE_ANSWER,
        .logprobs = wants_logprobs(d, c),
        .connect_timeout_us = d->o.connect_timeout_us,
        .first_byte_timeout_us = least_positive(d->o.first_byte_timeout_us ? d->o.first_byte_timeout_us
                                                : c->timeout_us ? c->timeout_us : 60000000, total),
        .idle_timeout_us = d->o.idle_timeout_us ? d->o.idle_timeout_us : 30000000,
        .total_timeout_us = total,
    };
    pc_handler h = { on_text, on_call_done };
    d->call_ended = d->feed_denied = 0;
    d->feeding = s.stream;
    d->sent_before = d->sent_text;
    /* the program's string: it outlives the request (which holds the
       program), and the copies in 'tstr' are for strings that do not */
    if (*model_id(d, c->model))
        tc->request_model = model_id(d, c->model);
    /* counted against the model's rpm/tpm as it is sent; the check and
       the count are one step, so a limiter shared by concurrent requests
       never lets one more through */
    int limited = hl_limited(d->o.health, c->model);
    int64_t est = limited ? vm_model_tokens(d->o.vm, c->model) : 0;
    /* (a clock read costs some 30 ns: only a limited model's count reads it) */
    if (hl_take(d->o.health, c->model, est, limited ? hc_now_us() : 0, &d->ticket)) {
        cv_free(&cv);
        return resume_unsent(d, c, RV_FAIL_UNAVAILABLE, "the model's rate limit is used up");
    }
    tc->start_us = now;
    if (d->h.call)
        d->h.call(d->ud, c);
    d->call = pc_start(d->o.eng, &s, &h, d, d->spare, err, sizeof err);
    cv_free(&cv);
    if (d->call)
        d->spare = NULL;
    else {
        hl_settle(d->o.health, c->model, &d->ticket, NULL);
        rv_failure f = strstr(err, "environment variable") ? RV_FAIL_AUTH : RV_FAIL_ERROR;
        return resume_unsent(d, c, f, err);
    }
    return WAITING;
}

static void send_due(void *ud)
{
    dr_req *d = ud;
    d->tm_kind = TM_NONE;
    step(d, send_call(d));
}

/* The outcome of the call in flight, as the VM is to hear it; 'ended' 0
   when the call is being cancelled (a failure with the usage the
   provider reported so far). */
static rv_status resume_call(dr_req *d, int ended)
{
    const rv_call *c = vm_call(d->o.vm);
    uint32_t seq = c->seq < RV_MAX_ATTEMPTS ? c->seq : RV_MAX_ATTEMPTS - 1;
    trace_call *tc = &d->tcalls[seq];
    const ans_answer *a = pc_answer(d->call);
    rv_outcome o;
    if (d->out_failed && !d->feed_denied)
        ended = 0;              /* the client went away: the call was stopped for it */
    if (ended)
        o = *pc_outcome(d->call);
    else {
        o = vm_outcome_init(0);
        o.failure = RV_FAIL_ERROR;
        o.detail = d->out_lost ? "out of memory for the client's stream" : "the client went away";
        o.usage = a->usage;
    }
    if (ended && d->feed_denied) {
        /* the output guardrails refused the streamed answer: an answer
           (billed), which the VM turns into a denial */
        rv_outcome den = vm_outcome_init(1);
        den.usage = a->usage;
        den.latency_us = o.latency_us;
        den.ttft_us = o.ttft_us;
        o = den;
    } else if (ended && o.ok && d->feeding) {
        rv_sv rel = { NULL, 0 };
        int64_t t0 = now_ns();
        vm_feed_end(d->o.vm, &rel);
        d->decide_ns += now_ns() - t0;
        stream_text(d, rel);
    }
    nomem_outcome(d, &o);
    keep(d, seq, 2, &tc->finish, o.ok ? a->finish : NULL);      /* the answer's finish_reason too */
    if (d->o.trace) {           /* the rest only the trace record reads */
        keep(d, seq, 1, &tc->response_model, a->model);
        keep(d, seq, 3, &tc->response_id, a->id);
        if (!o.ok)
            keep(d, seq, 0, &tc->error, o.detail);
    }
    tc->streamed = d->sent_text && !d->sent_before;
    hl_settle(d->o.health, c->model, &d->ticket, &a->usage);
    if (ended && d->o.health && (o.ok || !d->call_nomem))
        hl_observe(d->o.health, c->model, &o, hc_now_us());
    if (d->h.call_end)
        d->h.call_end(d->ud, c, &o);
    rv_status st = resume(d, &o);
    pc_end(d->call);            /* its buffers serve the request's next call */
    if (d->spare)
        pc_free(d->call);
    else
        d->spare = d->call;
    d->call = NULL;
    return st;
}

static void call_ended(void *ud)
{
    dr_req *d = ud;
    d->tm_kind = TM_NONE;
    step(d, resume_call(d, 1));
}

/* The VM asked for a call: after its backoff, send it.  WAITING, or the
   VM's next status. */
static rv_status begin_call(dr_req *d)
{
    const rv_call *c = vm_call(d->o.vm);
    uint32_t seq = c->seq < RV_MAX_ATTEMPTS ? c->seq : RV_MAX_ATTEMPTS - 1;
    memset(&d->tcalls[seq], 0, sizeof d->tcalls[seq]);
    d->tcalls[seq].start_us = -1;
    if (seq >= d->tused)
        d->tused = seq + 1;
    if (c->backoff_us > 0) {
        arm(d, TM_SEND, c->backoff_us, send_due);
        return WAITING;
    }
    return send_call(d);
}

/* ---------------------------------------------------------------- hooks */

static void hook_header(void *ud, int status, const char *n, size_t nl, const char *v, size_t vl)
{
    ((dr_req *)ud)->hook_status = status;
}

static int hook_data(void *ud, const char *p, size_t n)
{
    dr_req *d = ud;
    return ans_put(&d->hook_body, p, n) != 0 || d->hook_body.len > HOOK_MAX_BODY;
}

static void hook_ended(void *ud);

static void hook_done(void *ud, const hc_done *hd)
{
    dr_req *d = ud;
    d->hook = NULL;
    d->hook_latency = hd->total_us;
    if (hd->status != HC_OK)
        snprintf(d->hook_err, sizeof d->hook_err, "%s", hc_status_name(hd->status));
    else if (hd->http_status != 200)
        snprintf(d->hook_err, sizeof d->hook_err, "HTTP %d", hd->http_status);
    arm(d, TM_HOOK_END, 0, hook_ended);
}

/* The texts of the messages of 'role' (only the last such message when
   'last'), as the input guardrails left them, joined with "\n". */
static json_t *overlay_text(dr_req *d, uint8_t role, int last)
{
    const rv_request *r = d->req;
    const rv_sv *t = vm_texts(d->o.vm);
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
static json_t *hook_summary(dr_req *d)
{
    const rv_request *r = d->req;
    const rv_program *p = d->o.p;
    const rv_result *res = vm_result(d->o.vm);
    json_t *meta = json_object(), *tools = json_array();
    for (uint32_t i = 0; meta && i < r->nmeta; i++) {
        char k[256];
        snprintf(k, sizeof k, "%.*s", (int)r->meta[i].key.len, r->meta[i].key.s);
        json_object_set_new(meta, k, jw_jstring(r->meta[i].val.s, r->meta[i].val.len));
    }
    for (uint32_t i = 0; tools && i < r->ntool; i++)
        json_array_append_new(tools, jw_jstring(r->tools[i].s, r->tools[i].len));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:b, s:o, s:o}", "request_id", d->reqid, "agent",
                     rv_str(p, p->agents[res->agent].name), "user", jw_jstring(r->user.s, r->user.len), "metadata",
                     meta, "input", overlay_text(d, RV_ROLE_USER, 1), "turns", (json_int_t)r->turns, "images",
                     (json_int_t)r->images, "max_tokens", (json_int_t)r->max_tokens, "stream", r->stream, "tools",
                     tools, "system", overlay_text(d, RV_ROLE_SYSTEM, 0));
}

/* The hook's answer (or its failure) to the VM. */
static rv_status resume_hook(dr_req *d)
{
    rv_outcome o = vm_outcome_init(0);
    o.failure = RV_FAIL_ERROR;
    if (!d->hook_err[0] && d->hook_status == 200) {
        json_t *ans = json_loadb(d->hook_body.p ? d->hook_body.p : "", d->hook_body.len, 0, NULL);
        json_t *m = json_object_get(ans, "model");
        if (json_is_string(m)) {
            snprintf(d->hook_model, sizeof d->hook_model, "%s", json_string_value(m));
            o = vm_outcome_init(1);
            o.hook_model = (rv_sv){ d->hook_model, (uint32_t)strlen(d->hook_model) };
        } else
            snprintf(d->hook_err, sizeof d->hook_err, "the answer names no model");
        json_decref(ans);
    }
    free(d->hook_req);
    d->hook_req = NULL;
    return resume(d, &o);
}

static void hook_ended(void *ud)
{
    dr_req *d = ud;
    d->tm_kind = TM_NONE;
    step(d, resume_hook(d));
}

/* Ask the hook the VM names.  Returns WAITING while it is in flight,
   else the VM's next status. */
static rv_status begin_hook(dr_req *d)
{
    const rv_hookcall *hk = vm_hook(d->o.vm);
    char url[2048], err[256];
    snprintf(url, sizeof url, "%.*s", (int)hk->url.len, hk->url.s);
    size_t blen = 0;
    d->hook_req = json_text(hook_summary(d), &blen);
    d->hook_body.len = 0;
    d->hook_status = 0;
    d->hook_model[0] = d->hook_err[0] = 0;
    static const char *const hdrs[] = { "Content-Type: application/json", "Accept: application/json" };
    hc_spec s = { .url = url, .headers = hdrs, .nheaders = 2, .body = d->hook_req, .body_len = blen,
                  .connect_timeout_us = hk->timeout_us, .total_timeout_us = hk->timeout_us,
                  .first_byte_timeout_us = hk->timeout_us };
    hc_handler h = { hook_header, hook_data, hook_done };
    if (d->hook_req && (d->hook = hc_start(d->o.eng, &s, &h, d, err, sizeof err)))
        return WAITING;
    snprintf(d->hook_err, sizeof d->hook_err, "%.150s", d->hook_req ? err : "out of memory");
    return resume_hook(d);
}

/* ---------------------------------------------------------------- the request */

/* Go on from status 'st' until something is in flight or the decision
   ends. */
static void step(dr_req *d, rv_status st)
{
    for (;;) {
        if (st == WAITING)
            return;
        if (d->out_failed) {        /* the client is gone: nothing more is asked or sent */
            st = RV_FAILED;
            break;
        }
        if (st == RV_CALL)
            st = begin_call(d);
        else if (st == RV_HOOK)
            st = begin_hook(d);
        else
            break;
    }
    if (d->o.stream && !d->out_failed) {
        if (st == RV_DONE)
            stream_answer(d);
        else if (d->sent_head) {
            /* part of the answer reached the client: a terminal error
               event, no [DONE] (the stream did not end cleanly) */
            dr_err e;
            dr_error(d, st, &e);
            jw_writer *w = event_begin(d);
            if (w) {
                rp_error(w, e.message, st == RV_FAILED ? "stream_error" : e.type, e.code);
                event_end(d);
            }
        }
    }
    if (d->out_lost)
        st = RV_FAILED;         /* the client's stream has a hole: not an answer */
    d->finished = 1;
    if (d->h.done)
        d->h.done(d->ud, st);
}

/* Free a driver for good. */
static void destroy(dr_req *d)
{
    pc_free(d->spare);
    free(d->hook_body.p);
    jw_discard(&d->out);
    jw_discard(&d->pre);
    for (size_t i = 0; i < RV_MAX_ATTEMPTS; i++)
        free(d->tstr[i]);
    free(d);
}

static void drop_spares(void *v)
{
    dr_spares *sp = v;
    while (sp->head) {
        dr_req *d = sp->head;
        sp->head = d->next_spare;
        destroy(d);
    }
    free(sp);
}

/* A driver as dr_new makes it: everything above 'tused' zero, the trace
   table's used entries cleared, the kept buffers empty. */
static void reset(dr_req *d)
{
    memset(d, 0, offsetof(dr_req, tused));
    memset(d->tcalls, 0, d->tused * sizeof *d->tcalls);
    d->tused = 0;
    for (size_t i = 2; i < d->ntstr; i++) {     /* a long request's strings are not kept */
        free(d->tstr[i]);
        d->tstr[i] = NULL;
    }
    if (d->ntstr > 2)
        d->ntstr = 2;
    jw_clear(&d->out);
    if (d->out.cap > (16u << 10)) {     /* a large buffered answer's event is not kept */
        jw_discard(&d->out);
        jw_init_mem(&d->out, 0);
    }
    d->hook_body.len = 0;
    d->next_spare = NULL;
}

dr_req *dr_new(const dr_opts *o, const dr_handler *h, void *ud)
{
    dr_spares *sp = hc_user(o->eng);
    dr_req *d = sp ? sp->head : NULL;
    if (d) {
        sp->head = d->next_spare;
        sp->n--;
        reset(d);
    } else if ((d = mem_calloc(1, sizeof *d))) {
        jw_init_mem(&d->out, 0);
        jw_init_mem(&d->pre, 0);
    }
    else
        return NULL;
    d->o = *o;
    d->h = *h;
    d->ud = ud;
    d->ttft_us = -1;
    return d;
}

void dr_start(dr_req *d, uint32_t agent, const rv_request *req, int64_t deadline_us, const char *request_id)
{
    d->req = req;
    size_t idn = strnlen(request_id, sizeof d->reqid - 1);
    memcpy(d->reqid, request_id, idn);
    d->reqid[idn] = 0;
    d->start_wall = wall_us();
    d->created = d->start_wall / 1000000;
    d->include_usage = req->params.include_usage.len && req->params.include_usage_v;
    if (d->o.health)
        hl_refresh(d->o.health, hc_now_us());
    rv_startopts so = { deadline_us, d->o.caller };
    int64_t t0 = now_ns();
    d->start_mono = t0 / 1000;
    rv_status st = vm_start(d->o.vm, agent, req, &so);
    d->o.caller = NULL;         /* borrowed until here; the VM keeps its copy */
    d->decide_ns += now_ns() - t0;
    step(d, st);
}

void dr_cancel(dr_req *d)
{
    if (!d || d->finished)
        return;
    d->finished = 1;
    d->out_failed = 1;          /* nothing more reaches the client */
    if (d->tm_kind != TM_NONE) {
        hc_timer_cancel(d->o.eng, &d->tm);
        d->tm_kind = TM_NONE;
    }
    if (d->call)
        resume_call(d, d->call_ended);      /* settles what the call cost so far */
    if (d->hook) {
        hc_cancel(d->o.eng, d->hook);
        d->hook = NULL;
    }
}

void dr_free(dr_req *d)
{
    if (!d)
        return;
    dr_cancel(d);
    free(d->hook_req);
    d->hook_req = NULL;
    hc_engine *e = d->o.eng;
    dr_spares *sp = hc_user(e);
    if (!sp && (sp = mem_calloc(1, sizeof *sp)))
        hc_set_user(e, sp, drop_spares);
    if (!sp || sp->n >= DR_SPARES) {
        destroy(d);
        return;
    }
    d->next_spare = sp->head;
    sp->head = d;
    sp->n++;
}

int dr_write_trace(dr_req *d, FILE *out, const char *error)
{
    const rv_result *r = vm_result(d->o.vm);
    trace_request rq = { d->reqid, d->start_wall, wall_us(), d->o.stream, d->tcalls,
                         r->nattempts < RV_MAX_ATTEMPTS ? r->nattempts : RV_MAX_ATTEMPTS,
                         d->hook_model[0] ? d->hook_model : NULL, d->hook_err[0] ? d->hook_err : NULL,
                         d->hook_latency, error, trace_task(d->req) };
    return trace_write(out, d->o.p, r, &rq);
}
