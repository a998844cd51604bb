/* Trace records of a finished decision; see trace.h and docs/traces.md.

   Each record is a flat JSON object (OpenTelemetry attributes are flat,
   dotted names), built with jansson and written compactly, keys in the
   order they are set.  Money is an integer count of picodollars, exact;
   durations are integer microseconds. */
#include <string.h>

#include "jsonw.h"
#include "trace.h"

static const char *const via_names[] = { "none", "model", "choice", "cascade", "hook", "fallback" };
static const char *const gakind_names[] = { "deny", "redact", "limit" };
static const char *const dir_names[] = { "input", "output" };

const char *trace_provider_name(uint32_t kind)
{
    switch (kind) {
    case RV_PROV_OPENAI: return "openai";
    case RV_PROV_ANTHROPIC: return "anthropic";
    case RV_PROV_BEDROCK: return "aws.bedrock";
    default: return "unknown";
    }
}

rv_sv trace_task(const rv_request *req)
{
    const rv_sv *v = req ? req_meta(req, "task", 4) : NULL;
    return v ? *v : (rv_sv){ NULL, 0 };
}

const char *trace_status_name(rv_status st)
{
    return st == RV_DONE ? "answered" : st == RV_DENIED ? "denied" : "failed";
}

/* Setters that tolerate a failed allocation: json_object_set_new steals
   (and frees) a NULL-safe value, and a record missing a key is caught by
   the final check in trace_records. */
static int set(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static int set_str(json_t *o, const char *k, const char *s)
{
    return s ? set(o, k, jw_jstring(s, strlen(s))) : 0;
}

static int set_strn(json_t *o, const char *k, const char *s, size_t n)
{
    return set(o, k, jw_jstring(s, n));
}

static int set_int(json_t *o, const char *k, int64_t v)
{
    return set(o, k, json_integer(v));
}

static int set_opt_int(json_t *o, const char *k, int64_t v)
{
    return v >= 0 ? set_int(o, k, v) : 0;
}

/* A new record with the fields every record has. */
static json_t *record(const char *step, const trace_request *rq, uint32_t seq)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = set_str(o, "routevm.step", step) | set_str(o, "routevm.request_id", rq->request_id) |
              set_int(o, "routevm.seq", seq);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int set_span(json_t *o, const char *k, const rv_program *p, uint32_t loc)
{
    if (loc >= p->nloc)
        return 0;
    const rv_loc *l = &p->locs[loc];
    return set(o, k, json_pack("{s:s, s:I, s:I, s:I}", "file",
                               l->file < p->nfile ? rv_str(p, p->files[l->file].name) : "?",
                               "line", (json_int_t)l->line, "col", (json_int_t)l->col, "len", (json_int_t)l->len));
}

static const char *name_of(const rv_program *p, uint32_t str)
{
    return rv_str(p, str);
}

static json_t *request_record(const rv_program *p, const rv_result *res, const trace_request *rq, uint32_t seq)
{
    json_t *o = record("request", rq, seq);
    if (!o)
        return NULL;
    char hash[65];
    for (int i = 0; i < 32; i++)
        snprintf(hash + 2 * i, 3, "%02x", p->digest[i]);
    int bad = set_str(o, "gen_ai.operation.name", "chat") |
              set_str(o, "routevm.agent", res->first_agent < p->nagent ? name_of(p, p->agents[res->first_agent].name) : "") |
              set_str(o, "routevm.policy.hash", hash) | set(o, "routevm.stream", json_boolean(rq->stream)) |
              set_opt_int(o, "routevm.time_us", rq->start_us);
    if (rq->task.s)
        bad |= set_strn(o, "routevm.task", rq->task.s, rq->task.len);
    return bad ? (json_decref(o), NULL) : o;
}

static json_t *guard_record(const rv_program *p, const rv_guardact *g, const trace_request *rq, uint32_t seq)
{
    json_t *o = record("guardrail", rq, seq);
    if (!o)
        return NULL;
    int bad = set_str(o, "routevm.guardrail", g->guard < p->nguard ? name_of(p, p->guards[g->guard].name) : "?") |
              set_int(o, "routevm.guardrail.action", g->action < p->ngaction && g->guard < p->nguard
                                                         ? (int64_t)(g->action - p->guards[g->guard].first) + 1 : 0) |
              set_str(o, "routevm.guardrail.kind", g->kind < 3 ? gakind_names[g->kind] : "?") |
              set_str(o, "routevm.guardrail.direction", g->dir < 2 ? dir_names[g->dir] : "?") |
              set(o, "routevm.guardrail.denied", json_boolean(g->denied)) |
              set_int(o, "routevm.guardrail.count", g->count);
    if (g->action < p->ngaction)
        bad |= set_span(o, "routevm.guardrail.span", p, p->gactions[g->action].loc);
    return bad ? (json_decref(o), NULL) : o;
}

static json_t *route_record(const rv_program *p, const rv_result *res, const trace_request *rq, uint32_t seq)
{
    const rv_rule *r = &p->rules[res->rule];
    json_t *o = record("route", rq, seq);
    if (!o)
        return NULL;
    int bad = set_str(o, "routevm.agent", res->agent < p->nagent ? name_of(p, p->agents[res->agent].name) : "") |
              set_int(o, "routevm.rule", r->number) | set(o, "routevm.rule.otherwise", json_boolean(r->otherwise)) |
              set_span(o, "routevm.rule.span", p, r->loc) |
              set_str(o, "routevm.via", res->via <= RV_VIA_FALLBACK ? via_names[res->via] : "?");
    if (r->reason != RV_NONE)
        bad |= set_str(o, "routevm.reason", name_of(p, r->reason));
    if (res->model < p->nmodel)
        bad |= set_str(o, "routevm.model", name_of(p, p->models[res->model].name));
    return bad ? (json_decref(o), NULL) : o;
}

static json_t *hook_record(const rv_program *p, const rv_result *res, const trace_request *rq, uint32_t seq)
{
    const rv_hook *h = &p->hooks[res->hook];
    json_t *o = record("hook", rq, seq);
    if (!o)
        return NULL;
    int bad = set_str(o, "url.full", name_of(p, h->url)) | set_int(o, "routevm.timeout_us", h->timeout) |
              set_str(o, "routevm.hook.model", rq->hook_model) | set_str(o, "routevm.error", rq->hook_error) |
              set_opt_int(o, "routevm.latency_us", rq->hook_latency_us) |
              set_span(o, "routevm.hook.span", p, h->loc);
    return bad ? (json_decref(o), NULL) : o;
}

/* gen_ai.usage.input_tokens counts every input token, as OpenTelemetry
   defines it; the class billed at the input price (the VM's
   rv_usage.input, which excludes cached tokens) is routevm.usage.
   uncached_input_tokens. */
static int set_usage(json_t *o, const rv_usage *u)
{
    int64_t in = u->input > 0 ? u->input : 0, cr = u->cache_read > 0 ? u->cache_read : 0,
            cw = u->cache_write > 0 ? u->cache_write : 0;
    return set_int(o, "gen_ai.usage.input_tokens", in + cr + cw) |
           set_int(o, "gen_ai.usage.output_tokens", u->output > 0 ? u->output : 0) |
           set_int(o, "gen_ai.usage.cache_read.input_tokens", cr) |
           set_int(o, "gen_ai.usage.cache_creation.input_tokens", cw) |
           set_int(o, "routevm.usage.uncached_input_tokens", in) |
           set_int(o, "routevm.usage.reasoning_tokens", u->reasoning > 0 ? u->reasoning : 0);
}

static json_t *call_record(const rv_program *p, const rv_attempt *a, uint32_t i, const trace_request *rq, uint32_t seq)
{
    const trace_call *c = rq->calls && i < rq->ncalls ? &rq->calls[i] : NULL;
    const rv_model *m = a->model < p->nmodel ? &p->models[a->model] : NULL;
    json_t *o = record("call", rq, seq);
    if (!o)
        return NULL;
    const char *model_id = c && c->request_model ? c->request_model : m ? name_of(p, m->id) : "?";
    int bad = set_int(o, "routevm.call", i) | set_str(o, "gen_ai.operation.name", "chat") |
              set_str(o, "routevm.purpose", a->purpose == RV_PURPOSE_JUDGE ? "judge" : "answer") |
              set_str(o, "routevm.model", m ? name_of(p, m->name) : "?") |
              set_str(o, "gen_ai.provider.name",
                      m && m->provider < p->nprovider ? trace_provider_name(p->providers[m->provider].kind) : "unknown") |
              set_str(o, "routevm.provider", m && m->provider < p->nprovider ? name_of(p, p->providers[m->provider].name) : "?") |
              set_str(o, "gen_ai.request.model", model_id) | set_int(o, "routevm.attempt", a->attempt) |
              set(o, "routevm.made", json_boolean(a->made)) | set(o, "routevm.ok", json_boolean(a->ok));
    if (c) {
        bad |= set_str(o, "gen_ai.response.model", c->response_model) | set_str(o, "gen_ai.response.id", c->response_id) |
               set_opt_int(o, "routevm.time_us", c->start_us);
        if (c->finish)
            bad |= set(o, "gen_ai.response.finish_reasons", json_pack("[s]", c->finish));
        if (c->streamed)
            bad |= set(o, "routevm.streamed", json_true());
    }
    if (a->http_status)
        bad |= set_int(o, "http.response.status_code", a->http_status);
    if (a->made)
        bad |= set_usage(o, &a->usage) | set(o, "routevm.usage.estimated", json_boolean(a->estimated));
    bad |= set_int(o, "routevm.cost", a->cost) | set_opt_int(o, "routevm.latency_us", a->latency_us) |
           set_opt_int(o, "routevm.ttft_us", a->ttft_us) | set_int(o, "routevm.backoff_us", a->backoff_us);
    if (!a->ok && a->failure < RV_FAIL__COUNT)
        bad |= set_str(o, "error.type", rv_failure_names[a->failure]);
    if (!a->ok && c && c->error)
        bad |= set_str(o, "routevm.error", c->error);
    return bad ? (json_decref(o), NULL) : o;
}

static json_t *outcome_record(const rv_program *p, const rv_result *res, const trace_request *rq, uint32_t seq)
{
    json_t *o = record("outcome", rq, seq);
    if (!o)
        return NULL;
    int bad = set_str(o, "routevm.status", trace_status_name(res->status)) |
              set_str(o, "routevm.agent", res->agent < p->nagent ? name_of(p, p->agents[res->agent].name) : "");
    if (res->rule != RV_NONE && res->rule < p->nrule)
        bad |= set_int(o, "routevm.rule", p->rules[res->rule].number);
    if (res->status == RV_DONE && res->model < p->nmodel) {
        bad |= set_str(o, "routevm.model", name_of(p, p->models[res->model].name));
        /* the answering call: the last one made that succeeded */
        for (uint32_t i = res->nattempts; i-- > 0;)
            if (res->attempts[i].ok && res->attempts[i].purpose == RV_PURPOSE_ANSWER) {
                const trace_call *c = rq->calls && i < rq->ncalls ? &rq->calls[i] : NULL;
                if (c && c->response_model)
                    bad |= set_str(o, "gen_ai.response.model", c->response_model);
                if (c && c->finish)
                    bad |= set(o, "gen_ai.response.finish_reasons", json_pack("[s]", c->finish));
                bad |= set_usage(o, &res->attempts[i].usage);
                break;
            }
        bad |= set_int(o, "routevm.tool_calls", res->ntool_calls);
    }
    bad |= set_int(o, "routevm.cost", res->cost) | set_int(o, "routevm.calls", res->ncalls) |
           set_int(o, "routevm.redactions", res->redacted);
    if (res->status == RV_DENIED) {
        if (res->denied_by < p->nguard)
            bad |= set_str(o, "routevm.guardrail", name_of(p, p->guards[res->denied_by].name));
        bad |= set_strn(o, "routevm.deny_reason", res->deny_reason.s, res->deny_reason.len);
    }
    if (res->status == RV_FAILED) {
        bad |= set_str(o, "error.type", res->failure < RV_FAIL__COUNT && res->failure != RV_FAIL_NONE
                                            ? rv_failure_names[res->failure] : "error");
        bad |= set_str(o, "routevm.error", rq->error ? rq->error : res->error);
    }
    if (res->split < p->nsplit && res->arm < p->splits[res->split].count)
        bad |= set_int(o, "routevm.split.arm", (int64_t)res->arm + 1) |
               set_span(o, "routevm.split.span", p, p->splits[res->split].loc);
    if (rq->start_us >= 0 && rq->end_us >= rq->start_us)
        bad |= set_int(o, "routevm.latency_us", rq->end_us - rq->start_us);
    return bad ? (json_decref(o), NULL) : o;
}

static int push(json_t *arr, json_t *rec)
{
    return rec ? json_array_append_new(arr, rec) : -1;
}

json_t *trace_records(const rv_program *p, const rv_result *res, const trace_request *rq)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    uint32_t seq = 0;
    int bad = push(arr, request_record(p, res, rq, seq++));
    /* input guardrails act before the route, output ones after the calls */
    for (uint32_t i = 0; i < res->nguardacts; i++)
        if (res->guardacts[i].dir == RV_DIR_INPUT)
            bad |= push(arr, guard_record(p, &res->guardacts[i], rq, seq++));
    if (res->hook != RV_NONE && res->hook < p->nhook)
        bad |= push(arr, hook_record(p, res, rq, seq++));
    if (res->rule != RV_NONE && res->rule < p->nrule)
        bad |= push(arr, route_record(p, res, rq, seq++));
    for (uint32_t i = 0; i < res->nattempts; i++)
        bad |= push(arr, call_record(p, &res->attempts[i], i, rq, seq++));
    for (uint32_t i = 0; i < res->nguardacts; i++)
        if (res->guardacts[i].dir == RV_DIR_OUTPUT)
            bad |= push(arr, guard_record(p, &res->guardacts[i], rq, seq++));
    bad |= push(arr, outcome_record(p, res, rq, seq++));
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int trace_write(FILE *out, const rv_program *p, const rv_result *res, const trace_request *rq)
{
    json_t *arr = trace_records(p, res, rq);
    if (!arr)
        return -1;
    int bad = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec) {
        bad |= jw_print(out, rec, 0) != 0;
    }
    json_decref(arr);
    bad |= fflush(out) != 0;
    return bad ? -1 : 0;
}
