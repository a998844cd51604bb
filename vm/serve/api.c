/* The gateway's endpoints; see api.h.  Handlers answer at once except
   chat completions (vm/serve/chat.c), which answers when its models
   have. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "chat.h"
#include "jsonw.h"
#include "log.h"

#define JSON_CT HS_LINE("application/json")

void api_count(sv_worker *w, const char *endpoint, int status)
{
    char s[160], code[8];
    snprintf(code, sizeof code, "%d", status);
    mt_add(w->met, mt_series(s, sizeof s, "routevm_requests_total", "endpoint", endpoint, "code", code, NULL), 1);
}

static void error(sv_worker *w, hs_req *r, const char *endpoint, int status, const char *code, const char *msg)
{
    api_count(w, endpoint, status);
    char s[160];
    mt_add(w->met, mt_series(s, sizeof s, "routevm_request_errors_total", "type", hs_error_type(status), NULL), 1);
    hs_respond_error(r, status, code, msg, NULL, 0);
}

/* ---------------------------------------------------------------- authentication */

int api_auth(sv_worker *w, hs_req *r, sv_keys **keys, const ky_key **key)
{
    *keys = sv_keys_get(w->app);
    *key = NULL;
    if (!*keys)
        return 0;
    size_t n = 0;
    uint32_t count = 0;
    const char *v = hs_header_get(r, "authorization", &n, &count);
    const char *why = NULL;
    if (!v)
        why = "missing API key: send 'Authorization: Bearer KEY'";
    else if (count > 1)
        why = "more than one Authorization header";
    else if (n < 7 || strncasecmp(v, "Bearer ", 7))
        why = "the Authorization header must be 'Bearer KEY'";
    else {
        const char *t = v + 7;
        size_t tl = n - 7;
        while (tl && *t == ' ')
            t++, tl--;
        while (tl && t[tl - 1] == ' ')
            tl--;
        if (!(*key = ky_find((*keys)->set, t, tl)))
            why = "invalid API key";
    }
    if (!why)
        return 0;
    sv_keys_unref(*keys);
    *keys = NULL;
    const hs_line www[] = { HS_LINE("WWW-Authenticate: Bearer realm=\"routevm\"") };
    api_count(w, r->path_len == 10 ? "models" : "chat", 401);
    char s[160];
    mt_add(w->met, mt_series(s, sizeof s, "routevm_request_errors_total", "type", "authentication_error", NULL), 1);
    hs_respond_error(r, 401, "invalid_api_key", why, www, 1);
    return -1;
}

/* ---------------------------------------------------------------- GET endpoints */

static void healthz(sv_worker *w, hs_req *r)
{
    sp_policy *p = sp_current();
    char body[200];
    int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"policy\":\"%s\",\"generation\":%llu,\"agents\":%u}\n",
                     p ? p->digest : "", p ? (unsigned long long)p->generation : 0ull, p ? p->p->nagent : 0);
    sp_unref(p);
    api_count(w, "healthz", 200);
    hs_respond(r, 200, JSON_CT, NULL, 0, body, (size_t)n);
}

static void models(sv_worker *w, hs_req *r)
{
    sv_keys *keys;
    const ky_key *key;
    if (api_auth(w, r, &keys, &key))
        return;
    sp_policy *sp = sp_current();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int bad = !f;
    if (f) {
        jw_writer j;
        jw_init(&j, f, 0);
        jw_object(&j);
        jw_key(&j, "object");
        jw_cstring(&j, "list");
        jw_key(&j, "data");
        jw_array(&j);
        for (uint32_t a = 0; a < sp->p->nagent; a++) {
            const char *name = rv_str(sp->p, sp->p->agents[a].name);
            if (key && !ky_allows(key, name, strlen(name)))
                continue;
            jw_object(&j);
            jw_key(&j, "id");
            jw_cstring(&j, name);
            jw_key(&j, "object");
            jw_cstring(&j, "model");
            jw_key(&j, "created");
            jw_int(&j, 0);
            jw_key(&j, "owned_by");
            jw_cstring(&j, "routevm");
            jw_end(&j);
        }
        jw_end(&j);
        jw_end(&j);
        bad = jw_finish(&j) != 0;
        bad |= fclose(f) != 0;
    }
    sp_unref(sp);
    sv_keys_unref(keys);
    if (bad) {
        free(buf);
        error(w, r, "models", 500, "internal_error", "out of memory");
        return;
    }
    api_count(w, "models", 200);
    hs_respond(r, 200, JSON_CT, NULL, 0, buf, len);
    free(buf);
}

typedef struct {
    FILE *f;
    const rv_program *p;
    int64_t today;
    int pass;
} budget_ctx;

static void budget_line(void *ud, const char *agent, int64_t day, int64_t settled, int64_t reserved)
{
    budget_ctx *b = ud;
    if (day != b->today)
        return;
    char s[300];
    /* an API key's row (keys.h) is labelled by its ledger name */
    const char *label = strncmp(agent, "key:", 4) ? "agent" : "key";
    if (b->pass == 0)
        fprintf(b->f, "%s %lld\n", mt_series(s, sizeof s, "routevm_budget_spent_picodollars", label, agent, NULL),
                (long long)settled);
    else
        fprintf(b->f, "%s %lld\n", mt_series(s, sizeof s, "routevm_budget_reserved_picodollars", label, agent, NULL),
                (long long)reserved);
}

/* Gauges read at scrape time: connections, the policy, budgets. */
static char *gauges(sv_worker *w)
{
    sv_app *a = w->app;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    mt_describe(f, "routevm_connections");
    fprintf(f, "routevm_connections %u\n", hs_shared_conns(a->shared));
    sp_policy *sp = sp_current();
    mt_describe(f, "routevm_policy_generation");
    fprintf(f, "routevm_policy_generation %llu\n", (unsigned long long)sp->generation);
    mt_describe(f, "routevm_policy_reloads_total");
    fprintf(f, "routevm_policy_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)atomic_load(&a->reloads_ok));
    fprintf(f, "routevm_policy_reloads_total{result=\"refused\"} %llu\n",
            (unsigned long long)atomic_load(&a->reloads_failed));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t today = ld_day((int64_t)ts.tv_sec * 1000000);
    mt_describe(f, "routevm_budget_remaining_picodollars");
    char s[300];
    for (uint32_t i = 0; i < sp->p->nagent; i++) {
        const rv_agent *ag = &sp->p->agents[i];
        if (!ag->budget_day)
            continue;
        const char *name = rv_str(sp->p, ag->name);
        rv_spendkey k = { name, (uint32_t)strlen(name), today };
        int64_t left = ag->budget_day - ld_spent(a->ledger, &k);
        fprintf(f, "%s %lld\n", mt_series(s, sizeof s, "routevm_budget_remaining_picodollars", "agent", name, NULL),
                (long long)(left > 0 ? left : 0));
    }
    budget_ctx b = { f, sp->p, today, 0 };
    mt_describe(f, "routevm_budget_spent_picodollars");
    ld_each(a->ledger, budget_line, &b);
    b.pass = 1;
    mt_describe(f, "routevm_budget_reserved_picodollars");
    ld_each(a->ledger, budget_line, &b);
    sp_unref(sp);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void metrics(sv_worker *w, hs_req *r)
{
    sv_app *a = w->app;
    mt_set *sets[64];
    size_t n = 0;
    for (int i = 0; i < a->nworkers && n < 64; i++)
        sets[n++] = a->workers[i].met;
    api_count(w, "metrics", 200);       /* counted before: the scrape sees itself */
    char *extra = gauges(w);
    size_t len = 0;
    char *text = mt_render(sets, n, extra, &len);
    free(extra);
    if (!text) {
        error(w, r, "metrics", 500, "internal_error", "out of memory");
        return;
    }
    hs_respond(r, 200, HS_LINE("text/plain; version=0.0.4; charset=utf-8"), NULL, 0, text, len);
    free(text);
}

/* ---------------------------------------------------------------- routing */

static int path_is(const hs_req *r, const char *p)
{
    size_t n = strlen(p);
    return r->path_len == n && !memcmp(r->path, p, n);
}

void api_request(void *ud, hs_req *r)
{
    sv_worker *w = ud;
    int get = r->method == HS_GET || r->method == HS_HEAD;
    if (path_is(r, "/healthz")) {
        if (!get)
            error(w, r, "healthz", 405, "method_not_allowed", "use GET /healthz");
        else
            healthz(w, r);
        return;
    }
    if (path_is(r, "/metrics")) {
        if (!get)
            error(w, r, "metrics", 405, "method_not_allowed", "use GET /metrics");
        else
            metrics(w, r);
        return;
    }
    if (r->spare) {
        const hs_line retry[] = { HS_LINE("Retry-After: 1") };
        api_count(w, "other", 503);
        hs_respond_error(r, 503, "too_many_connections",
                         "the gateway has too many connections; only /healthz and /metrics are answered on this one",
                         retry, 1);
        return;
    }
    if (path_is(r, "/v1/models")) {
        if (!get)
            error(w, r, "models", 405, "method_not_allowed", "use GET /v1/models");
        else
            models(w, r);
        return;
    }
    if (path_is(r, "/v1/chat/completions")) {
        if (r->method != HS_POST)
            error(w, r, "chat", 405, "method_not_allowed", "use POST /v1/chat/completions");
        else
            ch_request(w, r);
        return;
    }
    error(w, r, "other", 404, "unknown_url",
          "unknown URL: the gateway serves POST /v1/chat/completions, GET /v1/models, /healthz and /metrics");
}
