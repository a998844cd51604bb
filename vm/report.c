/* Traces read back and summed up; see report.h.

   Reading.  Each line is parsed with jansson (duplicate keys refused),
   every field the report uses is checked for its type and range into
   locals, and only then is the set changed, so a bad line leaves no
   trace.  Requests are found by id in a jansson object (a hash table);
   names (agents, models, rule labels, tasks, arms) are interned once in
   another, so a request holds small integers.  Calls live in one array,
   each linked to the next call of its request, so interleaved requests
   cost nothing extra.

   Summing up.  A group per key value, found through a table indexed by
   name; durations are gathered per group and their percentiles taken by
   stats.h, the same nearest rank 'routevm simulate' uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mem.h"
#include "report.h"
#include "stats.h"

const char *const rpt_by_names[RPT_BY__COUNT] = { "model", "agent", "rule", "task", "arm" };
const char *const rpt_token_names[RPT_TOK__COUNT] = { "input", "uncached_input", "cache_read", "cache_write", "output",
                                                      "reasoning" };

enum { ST_OPEN, ST_ANSWERED, ST_DENIED, ST_FAILED };
enum { VIA_NONE, VIA_MODEL, VIA_CHOICE, VIA_CASCADE, VIA_HOOK, VIA_FALLBACK };
static const char *const via_names[] = { "none", "model", "choice", "cascade", "hook", "fallback" };

typedef struct {
    uint32_t req, next;         /* its request; the request's next call (RPT_NONE: last) */
    uint32_t model, attempt;
    uint8_t made, ok, judge;
    int64_t cost, latency_us, ttft_us;      /* durations -1: unknown */
    uint64_t tok[RPT_TOK__COUNT];
} call;

typedef struct {
    uint32_t agent, rule, task, arm, model; /* names, RPT_NONE */
    uint32_t first, last, ncalls;           /* its calls */
    uint32_t request_line, route_line, outcome_line, score_line;    /* where each was read, 0: not yet */
    uint8_t status, via;
    int64_t cost, latency_us;
    double score;
} request;

struct rpt_set {
    json_t *ids;                /* request id -> index into 'reqs' */
    request *reqs;
    size_t nreq, capreq, max_requests;
    call *calls;
    size_t ncall, capcall;
    json_t *name_ids;           /* name -> index into 'names' */
    char **names;
    size_t nname, capname;
};

rpt_set *rpt_new(size_t max_requests)
{
    rpt_set *s = mem_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_requests = max_requests ? max_requests : RPT_MAX_REQUESTS;
    s->ids = json_object();
    s->name_ids = json_object();
    if (!s->ids || !s->name_ids) {
        rpt_free(s);
        return NULL;
    }
    return s;
}

void rpt_free(rpt_set *s)
{
    if (!s)
        return;
    json_decref(s->ids);
    json_decref(s->name_ids);
    for (size_t i = 0; i < s->nname; i++)
        free(s->names[i]);
    free(s->names);
    free(s->reqs);
    free(s->calls);
    free(s);
}

/* Grow '*p' (of '*cap' elements of 'size' bytes) to hold 'need'. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = mem_realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* ---------------------------------------------------------------- names */

/* The index of name 's', interned on first sight; RPT_NONE when out of
   memory or past RPT_MAX_NAMES ('*full' says which). */
static uint32_t intern(rpt_set *s, const char *name, int *full)
{
    json_t *v = json_object_get(s->name_ids, name);
    if (v)
        return (uint32_t)json_integer_value(v);
    if (s->nname >= RPT_MAX_NAMES) {
        *full = 1;
        return RPT_NONE;
    }
    char *copy = mem_strdup(name);
    if (!copy || grow((void **)&s->names, &s->capname, s->nname + 1, sizeof *s->names) ||
        json_object_set_new_nocheck(s->name_ids, name, json_integer((json_int_t)s->nname))) {
        free(copy);
        return RPT_NONE;
    }
    s->names[s->nname] = copy;
    return (uint32_t)s->nname++;
}

/* ---------------------------------------------------------------- fields */

/* Each getter reads an optional field of record 'o': 0 (absent: the out
   value untouched, or present and valid) or -1 with a message. */

static int bad_type(char *err, size_t errlen, const char *k, const char *what)
{
    snprintf(err, errlen, "\"%s\" must be %s", k, what);
    return -1;
}

/* An empty string counts as absent (the trace writer names no agent as "") */
static int get_str(json_t *o, const char *k, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return bad_type(err, errlen, k, "a string without NUL");
    if (json_string_length(v))
        *out = json_string_value(v);
    return 0;
}

static int get_count(json_t *o, const char *k, int64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad_type(err, errlen, k, "a non-negative integer");
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(json_t *o, const char *k, int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad_type(err, errlen, k, "true or false");
    *out = json_is_true(v);
    return 0;
}

static int need(const void *got, const char *k, char *err, size_t errlen)
{
    if (got)
        return 0;
    snprintf(err, errlen, "\"%s\" is missing", k);
    return -1;
}

/* One of 'names' (n of them): its index, or -1 with a message. */
static int get_enum(json_t *o, const char *k, const char *const *names, int n, int *out, char *err, size_t errlen)
{
    const char *v = NULL;
    if (get_str(o, k, &v, err, errlen) || need(v, k, err, errlen))
        return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return 0;
        }
    snprintf(err, errlen, "\"%s\" has an unknown value \"%.40s\"", k, v);
    return -1;
}

/* ---------------------------------------------------------------- requests */

/* The request with id 'id', created when 'create' (RPT_NONE when absent
   and not created, or on a cap or out of memory: *full says which). */
static uint32_t find_request(rpt_set *s, const char *id, int create, int *full)
{
    json_t *v = json_object_get(s->ids, id);
    if (v)
        return (uint32_t)json_integer_value(v);
    if (!create)
        return RPT_NONE;
    if (s->nreq >= s->max_requests || s->nreq >= RPT_NONE - 1) {
        *full = 1;
        return RPT_NONE;
    }
    if (grow((void **)&s->reqs, &s->capreq, s->nreq + 1, sizeof *s->reqs) ||
        json_object_set_new_nocheck(s->ids, id, json_integer((json_int_t)s->nreq)))
        return RPT_NONE;
    request *r = &s->reqs[s->nreq];
    memset(r, 0, sizeof *r);
    r->agent = r->rule = r->task = r->arm = r->model = RPT_NONE;
    r->first = r->last = RPT_NONE;
    r->latency_us = -1;
    return (uint32_t)s->nreq++;
}

/* What one record says, read and checked before anything is changed. */
typedef struct {
    int step;
    const char *agent, *task, *model, *reason, *span_file;
    int64_t rule, arm, span_line, attempt, cost, latency, ttft, tok[RPT_TOK__COUNT];
    int otherwise, made, ok, judge, status, via;
    double score;
} fields;

enum { S_REQUEST, S_GUARDRAIL, S_HOOK, S_ROUTE, S_CALL, S_OUTCOME, S_SCORE, S__COUNT };
static const char *const step_names[S__COUNT] = { "request", "guardrail", "hook", "route", "call", "outcome", "score" };
static const char *const status_names[] = { "answered", "denied", "failed" };
static const char *const purpose_names[] = { "answer", "judge" };

static const char *const token_keys[RPT_TOK__COUNT] = {
    "gen_ai.usage.input_tokens", "routevm.usage.uncached_input_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.output_tokens", "routevm.usage.reasoning_tokens",
};

static int read_route(json_t *o, fields *f, char *err, size_t errlen)
{
    if (get_str(o, "routevm.agent", &f->agent, err, errlen) || need(f->agent, "routevm.agent", err, errlen) ||
        get_count(o, "routevm.rule", &f->rule, err, errlen) || get_bool(o, "routevm.rule.otherwise", &f->otherwise, err, errlen) ||
        get_str(o, "routevm.reason", &f->reason, err, errlen) ||
        get_enum(o, "routevm.via", via_names, 6, &f->via, err, errlen))
        return -1;
    if (f->rule < 1)
        return bad_type(err, errlen, "routevm.rule", "a rule number (1 or more)");
    return 0;
}

/* The A/B arm an outcome names: its number and its split's span. */
static int read_split(json_t *o, fields *f, char *err, size_t errlen)
{
    if (get_count(o, "routevm.split.arm", &f->arm, err, errlen))
        return -1;
    json_t *span = json_object_get(o, "routevm.split.span");
    if (span && (!json_is_object(span) || get_str(span, "file", &f->span_file, err, errlen) ||
                 get_count(span, "line", &f->span_line, err, errlen)))
        return err[0] ? -1 : bad_type(err, errlen, "routevm.split.span", "a source span object");
    if (f->arm == 0 || (f->arm > 0 && (!f->span_file || f->span_line < 0)))
        return bad_type(err, errlen, "routevm.split.arm", "an arm number (1 or more) with its routevm.split.span");
    return 0;
}

static int read_call(json_t *o, fields *f, char *err, size_t errlen)
{
    if (get_str(o, "routevm.model", &f->model, err, errlen) || need(f->model, "routevm.model", err, errlen) ||
        get_enum(o, "routevm.purpose", purpose_names, 2, &f->judge, err, errlen) ||
        get_count(o, "routevm.attempt", &f->attempt, err, errlen) || get_bool(o, "routevm.made", &f->made, err, errlen) ||
        get_bool(o, "routevm.ok", &f->ok, err, errlen) || get_count(o, "routevm.cost", &f->cost, err, errlen) ||
        get_count(o, "routevm.latency_us", &f->latency, err, errlen) ||
        get_count(o, "routevm.ttft_us", &f->ttft, err, errlen))
        return -1;
    for (int t = 0; t < RPT_TOK__COUNT; t++)
        if (get_count(o, token_keys[t], &f->tok[t], err, errlen))
            return -1;
    if (f->attempt < 1)
        return bad_type(err, errlen, "routevm.attempt", "an attempt number (1 or more)");
    if (f->made < 0 || f->ok < 0 || f->cost < 0) {
        snprintf(err, errlen, "a call record needs \"routevm.made\", \"routevm.ok\" and \"routevm.cost\"");
        return -1;
    }
    return 0;
}

static int read_outcome(json_t *o, fields *f, char *err, size_t errlen)
{
    if (get_enum(o, "routevm.status", status_names, 3, &f->status, err, errlen) ||
        get_str(o, "routevm.agent", &f->agent, err, errlen) || get_count(o, "routevm.rule", &f->rule, err, errlen) ||
        get_str(o, "routevm.model", &f->model, err, errlen) || get_count(o, "routevm.cost", &f->cost, err, errlen) ||
        get_count(o, "routevm.latency_us", &f->latency, err, errlen) || read_split(o, f, err, errlen))
        return -1;
    if (f->cost < 0)
        return need(NULL, "routevm.cost", err, errlen);
    return 0;
}

static int read_fields(json_t *o, fields *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->rule = f->arm = f->attempt = f->cost = f->latency = f->ttft = f->span_line = -1;
    f->otherwise = f->made = f->ok = -1;
    for (int t = 0; t < RPT_TOK__COUNT; t++)
        f->tok[t] = 0;
    int64_t seq = 0;
    if (get_enum(o, "routevm.step", step_names, S__COUNT, &f->step, err, errlen) ||
        get_count(o, "routevm.seq", &seq, err, errlen))
        return -1;
    switch (f->step) {
    case S_REQUEST:
        return get_str(o, "routevm.agent", &f->agent, err, errlen) || get_str(o, "routevm.task", &f->task, err, errlen);
    case S_ROUTE: return read_route(o, f, err, errlen);
    case S_CALL: return read_call(o, f, err, errlen);
    case S_OUTCOME: return read_outcome(o, f, err, errlen);
    case S_SCORE: {
        json_t *v = json_object_get(o, "routevm.score");
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
            return bad_type(err, errlen, "routevm.score", "a number from 0 to 1");
        f->score = json_number_value(v);
        return 0;
    }
    default: return 0;  /* guardrail and hook records: nothing the report needs */
    }
}

/* A name built from parts of a record, whole however long they are
   (interned; RPT_NONE when out of memory or past the name cap). */
static uint32_t intern_fmt(rpt_set *s, int *full, size_t need, const char *fmt, ...)
{
    char *buf = mem_malloc(need);
    if (!buf)
        return RPT_NONE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, need, fmt, ap);
    va_end(ap);
    uint32_t n = intern(s, buf, full);
    free(buf);
    return n;
}

/* "support rule 3 (sensitive)", "support rule 4 (otherwise)" */
static uint32_t rule_name(rpt_set *s, const fields *f, int *full)
{
    const char *why = f->reason ? f->reason : f->otherwise > 0 ? "otherwise" : NULL;
    return intern_fmt(s, full, strlen(f->agent) + (why ? strlen(why) : 0) + 40, why ? "%s rule %lld (%s)" : "%s rule %lld",
                      f->agent, (long long)f->rule, why);
}

/* "support.route:12 arm 1" */
static uint32_t arm_name(rpt_set *s, const fields *f, int *full)
{
    return intern_fmt(s, full, strlen(f->span_file) + 48, "%s:%lld arm %lld", f->span_file, (long long)f->span_line,
                      (long long)f->arm);
}

/* A step read twice for one request. */
static int twice(const char *what, uint32_t earlier, char *err, size_t errlen)
{
    snprintf(err, errlen, "a second %s record for this request (the first is on line %u)", what, earlier);
    return 1;
}

static int add_call(rpt_set *s, uint32_t ri, const fields *f, int *full)
{
    request *r = &s->reqs[ri];
    if (grow((void **)&s->calls, &s->capcall, s->ncall + 1, sizeof *s->calls))
        return -1;
    call *c = &s->calls[s->ncall];
    c->model = intern(s, f->model, full);
    if (c->model == RPT_NONE)
        return -1;
    c->req = ri;
    c->next = RPT_NONE;
    c->attempt = f->attempt > UINT32_MAX ? UINT32_MAX : (uint32_t)f->attempt;
    c->made = (uint8_t)f->made;
    c->ok = (uint8_t)f->ok;
    c->judge = (uint8_t)f->judge;
    c->cost = f->cost;
    c->latency_us = f->latency;
    c->ttft_us = f->ttft;
    for (int t = 0; t < RPT_TOK__COUNT; t++)
        c->tok[t] = (uint64_t)f->tok[t];
    uint32_t ci = (uint32_t)s->ncall++;
    if (r->last == RPT_NONE)
        r->first = ci;
    else
        s->calls[r->last].next = ci;
    r->last = ci;
    r->ncalls++;
    return 0;
}

/* Apply a checked record to request 'ri'.  Returns 0, 1 (the record
   contradicts what was read before) or -1 (out of memory, name cap). */
static int apply(rpt_set *s, uint32_t ri, const fields *f, uint32_t line, int *full, char *err, size_t errlen)
{
    request *r = &s->reqs[ri];
    if (r->outcome_line && f->step != S_SCORE) {
        snprintf(err, errlen, "the request already ended (its outcome is on line %u)", r->outcome_line);
        return 1;
    }
    uint32_t n = RPT_NONE;
    switch (f->step) {
    case S_REQUEST:
        if (r->request_line)
            return twice("request", r->request_line, err, errlen);
        if ((f->task && (n = intern(s, f->task, full)) == RPT_NONE))
            return -1;
        r->task = f->task ? n : RPT_NONE;
        r->request_line = line;
        return 0;
    case S_ROUTE:
        if (r->route_line)
            return twice("route", r->route_line, err, errlen);
        if ((r->rule = rule_name(s, f, full)) == RPT_NONE)
            return -1;
        r->via = (uint8_t)f->via;
        r->route_line = line;
        return 0;
    case S_CALL:
        if (r->ncalls >= RPT_MAX_CALLS) {
            snprintf(err, errlen, "more than %d calls for one request", RPT_MAX_CALLS);
            return 1;
        }
        return add_call(s, ri, f, full);
    case S_OUTCOME:
        if ((f->agent && (r->agent = intern(s, f->agent, full)) == RPT_NONE) ||
            (f->model && (r->model = intern(s, f->model, full)) == RPT_NONE) ||
            (f->arm > 0 && (r->arm = arm_name(s, f, full)) == RPT_NONE))
            return -1;
        if (r->rule == RPT_NONE && f->agent && f->rule > 0) {
            fields g = *f;
            g.reason = NULL;
            if ((r->rule = rule_name(s, &g, full)) == RPT_NONE)
                return -1;
        }
        r->status = (uint8_t)(ST_ANSWERED + f->status);
        r->cost = f->cost;
        r->latency_us = f->latency;
        r->outcome_line = line;
        return 0;
    case S_SCORE:
        if (r->score_line)
            return twice("score", r->score_line, err, errlen);
        r->score = f->score;
        r->score_line = line;
        return 0;
    default:
        return 0;
    }
}

int rpt_add_line(rpt_set *s, const char *buf, size_t len, uint32_t line, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
        return 1;
    }
    int rc = 1;
    fields f;
    const char *id = NULL;
    if (!json_is_object(o))
        snprintf(err, errlen, "a trace record must be a JSON object");
    else if (read_fields(o, &f, err, errlen) == 0 && get_str(o, "routevm.request_id", &id, err, errlen) == 0 &&
             need(id, "routevm.request_id", err, errlen) == 0) {
        int full = 0;
        uint32_t ri = find_request(s, id, 1, &full);
        if (ri == RPT_NONE)
            rc = -1;
        else
            rc = apply(s, ri, &f, line, &full, err, errlen);
        if (rc < 0 && full)
            snprintf(err, errlen, "more than %zu %s; the rest of the file is not read",
                     ri == RPT_NONE ? s->max_requests : (size_t)RPT_MAX_NAMES,
                     ri == RPT_NONE ? "requests" : "distinct names");
        else if (rc < 0)
            snprintf(err, errlen, "out of memory");
    }
    json_decref(o);
    return rc;
}

/* ---------------------------------------------------------------- summing up */

typedef struct {
    int64_t *v;
    size_t n, cap;
} samples;

typedef struct {
    rpt_group g;
    samples lat, ttft;
    uint32_t last_req;          /* for counting a model's requests once */
} acc;

static int sample(samples *x, int64_t v)
{
    if (v < 0)
        return 0;
    if (grow((void **)&x->v, &x->cap, x->n + 1, sizeof *x->v))
        return -1;
    x->v[x->n++] = v;
    return 0;
}

static void add_cost(int64_t *to, int64_t v)
{
    if (__builtin_add_overflow(*to, v, to))
        *to = INT64_MAX;
}

static void pctl(samples *x, rpt_pctl *p)
{
    p->n = x->n;
    p->p50 = stat_percentile(x->v, x->n, 50, 0);
    p->p95 = stat_percentile(x->v, x->n, 95, 1);
    p->p99 = stat_percentile(x->v, x->n, 99, 1);
    free(x->v);
    x->v = NULL;
}

/* A call's counts, into the group of its request or of its model. */
static void count_call(rpt_group *g, const call *c)
{
    g->calls++;
    g->made += c->made;
    g->call_errors += c->made && !c->ok;
    g->refused += !c->made;
    g->retries += c->attempt > 1;
    for (int t = 0; t < RPT_TOK__COUNT; t++)
        g->tokens[t] = g->tokens[t] > UINT64_MAX - c->tok[t] ? UINT64_MAX : g->tokens[t] + c->tok[t];
}

/* A request's own figures, into a request-keyed group. */
static int count_request(const rpt_set *s, acc *a, const request *r)
{
    rpt_group *g = &a->g;
    g->requests++;
    g->answered += r->status == ST_ANSWERED;
    g->denied += r->status == ST_DENIED;
    g->failed += r->status == ST_FAILED;
    g->fallbacks += r->via == VIA_FALLBACK;
    int64_t cost = 0, ttft = -1;
    uint32_t first_model = RPT_NONE;
    int escalated = 0;
    for (uint32_t ci = r->first; ci != RPT_NONE; ci = s->calls[ci].next) {
        const call *c = &s->calls[ci];
        count_call(g, c);
        add_cost(&cost, c->cost);
        if (c->made && !c->judge) {
            if (first_model == RPT_NONE)
                first_model = c->model;
            escalated |= c->model != first_model;
            if (c->ok)
                ttft = c->ttft_us;
        }
    }
    /* the outcome's cost is the request's bill; the calls' sum stands in when it is absent */
    add_cost(&g->cost, r->outcome_line ? r->cost : cost);
    if (r->via == VIA_CASCADE) {
        g->cascades++;
        g->escalated += escalated;
    }
    if (r->score_line) {
        g->score += r->score;
        g->scored++;
    }
    return sample(&a->lat, r->latency_us) | sample(&a->ttft, r->status == ST_ANSWERED ? ttft : -1);
}

static uint32_t key_of(const request *r, rpt_by by)
{
    switch (by) {
    case RPT_BY_AGENT: return r->agent;
    case RPT_BY_RULE: return r->rule;
    case RPT_BY_TASK: return r->task;
    case RPT_BY_ARM: return r->arm;
    default: return RPT_NONE;
    }
}

/* The accumulator of name 'key' (RPT_NONE: the "(none)" group), created
   on first use; NULL when out of memory. */
static acc *group_for(const rpt_set *s, acc **accs, size_t *n, uint32_t *slot, uint32_t key)
{
    uint32_t k = key == RPT_NONE ? (uint32_t)s->nname : key;
    if (slot[k] == RPT_NONE) {
        acc *a = mem_realloc(*accs, (*n + 1) * sizeof *a);
        if (!a)
            return NULL;
        *accs = a;
        memset(&a[*n], 0, sizeof a[*n]);
        a[*n].g.key = key == RPT_NONE ? "(none)" : s->names[key];
        a[*n].last_req = RPT_NONE;
        slot[k] = (uint32_t)(*n)++;
    }
    return &(*accs)[slot[k]];
}

/* Every complete request into the groups of 'by' (RPT_BY__COUNT: one
   group, the whole); with 'present_only', requests without the key are
   left out.  Returns 0 or -1. */
static int group(const rpt_set *s, rpt_by by, int present_only, acc **accs, size_t *n)
{
    *accs = NULL;
    *n = 0;
    uint32_t *slot = mem_malloc((s->nname + 1) * sizeof *slot);
    if (!slot)
        return -1;
    memset(slot, 0xff, (s->nname + 1) * sizeof *slot);
    int bad = 0;
    for (size_t i = 0; i < s->nreq && !bad; i++) {
        const request *r = &s->reqs[i];
        if (r->status == ST_OPEN)
            continue;
        if (by == RPT_BY_MODEL) {
            for (uint32_t ci = r->first; ci != RPT_NONE && !bad; ci = s->calls[ci].next) {
                const call *c = &s->calls[ci];
                acc *a = group_for(s, accs, n, slot, c->model);
                if (!a) {
                    bad = 1;
                    break;
                }
                count_call(&a->g, c);
                add_cost(&a->g.cost, c->cost);
                a->g.requests += a->last_req != i;
                a->last_req = (uint32_t)i;
                bad |= sample(&a->lat, c->made ? c->latency_us : -1) | sample(&a->ttft, c->ok ? c->ttft_us : -1);
            }
            acc *m = r->model != RPT_NONE && r->status == ST_ANSWERED ? group_for(s, accs, n, slot, r->model) : NULL;
            if (m)
                m->g.answered++;
            continue;
        }
        uint32_t key = by == RPT_BY__COUNT ? RPT_NONE : key_of(r, by);
        if (present_only && key == RPT_NONE)
            continue;
        acc *a = group_for(s, accs, n, slot, key);
        bad |= !a || count_request(s, a, r);
    }
    free(slot);
    for (size_t i = 0; i < *n; i++) {
        acc *a = &(*accs)[i];
        pctl(&a->lat, &a->g.latency);
        pctl(&a->ttft, &a->g.ttft);
        if (a->g.scored)
            a->g.score /= (double)a->g.scored;
    }
    if (bad) {
        free(*accs);
        *accs = NULL;
        *n = 0;
    }
    return bad ? -1 : 0;
}

static int by_cost(const void *x, const void *y)
{
    const rpt_group *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int by_key(const void *x, const void *y)
{
    return strcmp(((const rpt_group *)x)->key, ((const rpt_group *)y)->key);
}

/* The groups out of their accumulators, sorted. */
static rpt_group *groups_of(acc *accs, size_t n, int (*cmp)(const void *, const void *))
{
    rpt_group *g = mem_calloc(n ? n : 1, sizeof *g);
    if (g) {
        for (size_t i = 0; i < n; i++)
            g[i] = accs[i].g;
        qsort(g, n, sizeof *g, cmp);
    }
    free(accs);
    return g;
}

int rpt_summarize(rpt_set *s, rpt_by by, rpt_summary *out)
{
    memset(out, 0, sizeof *out);
    out->by = by;
    for (size_t i = 0; i < s->nreq; i++)
        out->incomplete += s->reqs[i].status == ST_OPEN;
    acc *total, *groups, *arms;
    size_t nt, ng, na;
    if (group(s, RPT_BY__COUNT, 0, &total, &nt))
        return -1;
    if (nt)
        out->total = total[0].g;
    out->total.key = "all";
    free(total);
    if (group(s, by, 0, &groups, &ng) || !(out->groups = groups_of(groups, ng, by_cost)))
        return -1;
    out->ngroups = ng;
    if (group(s, RPT_BY_ARM, 1, &arms, &na) || !(out->arms = groups_of(arms, na, by_key))) {
        rpt_summary_free(out);
        return -1;
    }
    out->narms = na;
    return 0;
}

void rpt_summary_free(rpt_summary *sm)
{
    free(sm->groups);
    free(sm->arms);
    sm->groups = sm->arms = NULL;
    sm->ngroups = sm->narms = 0;
}
