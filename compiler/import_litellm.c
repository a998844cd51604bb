/* import_litellm: a LiteLLM router config (the proxy's config.yaml) as a
   policy.

   Each model_name of model_list becomes an agent (clients send it as
   "model"), each deployment a model.  Several deployments under one name
   are LiteLLM's load balancing: a 'split' weighted by 'weight' (or rpm,
   or tpm) for simple-shuffle, usage-based and least-busy routing,
   'fastest' for latency-based and 'cheapest' for cost-based routing;
   deployments with a larger 'order' become the agent's fallbacks.
   router_settings (or litellm_settings) give the rest: fallbacks and
   default_fallbacks are agent fallbacks, context_window_fallbacks and
   content_policy_fallbacks are 'fallback on context_length' and
   'fallback on content_filter', num_retries, timeout and retry_after are
   retry, timeout and backoff, model_group_alias an agent that delegates.
   Fallbacks that would close a cycle are left out (the language refuses
   delegation cycles).  What has no equivalent is noted (importer.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "importer.h"
#include "mem.h"

#define MAX_GROUPS 1024
#define MAX_DEPLOY 100   /* per model_name: split shares are whole percents */

typedef struct {
    const char *model;          /* the model's name in the output */
    double weight;              /* for split; 0 = not stated */
    int64_t rpm, tpm, order;
    const cfg_node *at;
} deploy;

typedef struct {
    const char *key;            /* model_name */
    const char *agent;
    const cfg_node *at;
    deploy d[MAX_DEPLOY];
    unsigned n;
    imp_buf fb_plain;           /* ", "-separated fallback targets */
    imp_buf fb_on;              /* "  fallback on ... -> X\n" lines */
    uint32_t *edges;            /* groups it falls back to */
    size_t nedge, cap_edge;
} group;

typedef struct {
    imp *im;
    group *g;
    unsigned ng;
    const cfg_node *rs, *ls;    /* router_settings, litellm_settings */
} lctx;

/* ---------------------------------------------------------------- settings */

/* A setting from router_settings, else litellm_settings (under 'lname'
   there when it is named differently). */
static const cfg_node *setting(lctx *x, const char *name, const char *lname)
{
    const cfg_node *r = cfg_get(x->rs, name), *l = cfg_get(x->ls, lname ? lname : name);
    if (r && l)
        imp_note(x->im, l, "also set in router_settings, which is used");
    return r ? r : l;
}

static const char *const router_no_equiv[] = {
    "allowed_fails", "circuit breaker: the runtime opens a model's circuit with fixed thresholds",
    "cooldown_time", "circuit breaker is per model with fixed thresholds",
    "allowed_fails_policy", "circuit breaker is per model with fixed thresholds",
    "routing_strategy_args", "the strategies take no arguments",
    "redis_host", "rpm, tpm and health are kept per gateway process",
    "redis_port", "rpm, tpm and health are kept per gateway process",
    "redis_password", "rpm, tpm and health are kept per gateway process",
    "redis_url", "rpm, tpm and health are kept per gateway process",
    "cache_responses", "no response cache",
    "enable_pre_call_checks", "write 'where context >= tokens(messages)' on a cheapest or fastest route",
    "max_fallbacks", "each fallback is tried once",
    "model_group_retry_policy", "retries are set per agent or model",
    "provider_budget_config", "budgets are per agent: 'budget ... per day'",
    "default_max_parallel_requests", "no cap on requests in flight per model",
    "stream_timeout", "stream timeouts are routevm run/serve options (--idle-timeout)",
    NULL
};

static const char *const litellm_no_equiv[] = {
    "drop_params", "the language sends only the parameters a provider takes",
    "set_verbose", "logging is configured on routevm",
    "json_logs", "traces are JSON lines (routevm run/serve --trace)",
    "success_callback", "traces (--trace) and metrics (/metrics) instead of callbacks",
    "failure_callback", "traces (--trace) and metrics (/metrics) instead of callbacks",
    "callbacks", "traces (--trace) and metrics (/metrics) instead of callbacks",
    "service_callback", "traces (--trace) and metrics (/metrics) instead of callbacks",
    "cache", "no response cache",
    "cache_params", "no response cache",
    "turn_off_message_logging", "traces never hold message texts",
    "redact_user_api_key_info", "traces never hold keys",
    "max_budget", "budgets are per agent: 'budget ... per day'",
    "budget_duration", "budgets are per agent and per day",
    "modify_params", "requests are translated per provider",
    "guardrails", "write guardrail blocks",
    "force_ipv4", "not configurable",
    "telemetry", "no telemetry",
    "context_window_fallback_dict", "use context_window_fallbacks",
    NULL
};

/* ---------------------------------------------------------------- deployments */

/* "os.environ/NAME" -> NAME, checked. */
static const char *environ_name(imp *im, const cfg_node *n, const char *v)
{
    const char *name = v + strlen("os.environ/");
    int ok = *name && !(*name >= '0' && *name <= '9');
    for (const char *p = name; *p; p++)
        ok &= (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ok) {
        imp_fail(im, n, "'os.environ/' needs an environment variable name");
        return NULL;
    }
    return name;
}

static int is_environ(const char *v)
{
    return !strncmp(v, "os.environ/", 11);
}

/* The provider of a deployment's model string; '*rest' is the model id. */
static const imp_known *split_model(imp *im, const cfg_node *n, const char *model, const char **rest)
{
    const char *slash = strchr(model, '/');
    char prefix[64];
    if (!slash) {
        *rest = model;
        const char *p = !strncmp(model, "gpt-", 4) || !strncmp(model, "chatgpt", 7) ||
                                (model[0] == 'o' && model[1] >= '1' && model[1] <= '9')
                            ? "openai" : !strncmp(model, "claude", 6) ? "anthropic" : NULL;
        if (!p) {
            imp_fail(im, n, "cannot tell the provider of '%s': write it as PROVIDER/MODEL "
                            "(openai/, anthropic/, bedrock/, azure/ ...)", model);
            return NULL;
        }
        return imp_known_provider(p, 0);
    }
    snprintf(prefix, sizeof prefix, "%.*s", (int)(slash - model < 63 ? slash - model : 63), model);
    *rest = slash + 1;
    const imp_known *k = imp_provider_named(im, n, prefix, 0);
    if (!k)
        return NULL;
    if (k->kind == RV_PROV_BEDROCK)
        for (const char *const *r = (const char *const[]){ "converse/", "invoke/", NULL }; *r; r++)
            if (!strncmp(*rest, *r, strlen(*r)))
                *rest += strlen(*r);
    if (!**rest) {
        imp_fail(im, n, "no model after '%s/'", prefix);
        return NULL;
    }
    return k;
}

/* The base URL of a deployment: api_base (a URL, or os.environ/NAME read
   now), else the provider's default. */
static const char *endpoint_of(imp *im, const cfg_node *params, const imp_known *k, const char *prefix)
{
    const cfg_node *b = cfg_get(params, "api_base");
    if (!b) {
        if (!k->endpoint && k->kind != RV_PROV_BEDROCK)
            imp_fail(im, params, "provider '%s' needs api_base", prefix);
        return k->endpoint;
    }
    const char *v = imp_str(im, b);
    if (!v)
        return NULL;
    if (is_environ(v)) {
        const char *name = environ_name(im, b, v), *val = name ? getenv(name) : NULL;
        if (!val || !*val) {
            if (name)
                imp_fail(im, b, "the base URL is read from %s, which is not set: a policy names its endpoint", name);
            return NULL;
        }
        imp_note(im, b, "the base URL was read from %s when the config was imported", name);
        v = val;
    }
    if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
        imp_fail(im, b, "the base URL must start with http:// or https://");
        return NULL;
    }
    if (k->kind == RV_PROV_BEDROCK)
        return v;
    return imp_base_url(im, v, k->suffix);
}

static const char *key_of(imp *im, const cfg_node *params, const imp_known *k)
{
    const cfg_node *n = cfg_get(params, "api_key");
    if (!n)
        return k->key_env;
    const char *v = imp_str(im, n);
    if (!v)
        return NULL;
    if (is_environ(v))
        return environ_name(im, n, v);
    return imp_key_env(im, n, v, k->key_env ? k->key_env : "LITELLM_API_KEY");
}

static double cost_per_token(imp *im, const cfg_node *params, const cfg_node *info, const char *key, int64_t *pd)
{
    const cfg_node *n = cfg_get(params, key);
    if (!n)
        n = cfg_get(info, key);
    if (!n)
        return 0;
    double r;
    if (imp_number(im, n, &r))
        return -1;
    if (!(r >= 0 && r < 9e6)) {
        imp_fail(im, n, "expected a price in dollars per token");
        return -1;
    }
    *pd = llround(r * 1e12);
    if (r * 1e12 - (double)*pd > 1e-3 || (double)*pd - r * 1e12 > 1e-3)
        imp_note(im, n, "rounded to a picodollar per token");
    return 1;
}

static const char *const params_handled[] = {
    "model", "api_base", "api_key", "rpm", "tpm", "timeout", "max_retries", "input_cost_per_token",
    "output_cost_per_token", "temperature", "top_p", "top_k", "max_tokens", "stop", "seed", "presence_penalty",
    "frequency_penalty", "weight", "order", "aws_region_name", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", NULL
};

static const char *const params_no_equiv[] = {
    "api_version", "Azure OpenAI's v1 API takes no version",
    "stream_timeout", "stream timeouts are routevm run/serve options (--idle-timeout)",
    "organization", "no organization header is sent",
    "drop_params", "the language sends only the parameters a provider takes",
    "mock_response", "mock answers belong in test blocks ('given MODEL answers')",
    "tags", "tag-based routing: write rules on meta.KEY",
    "aws_profile_name", "Bedrock calls are signed with the AWS_* environment variables",
    "aws_role_name", "Bedrock calls are signed with the AWS_* environment variables",
    "aws_session_name", "Bedrock calls are signed with the AWS_* environment variables",
    "input_cost_per_second", "prices are per token",
    "output_cost_per_second", "prices are per token",
    "custom_llm_provider", "write the provider as the model's prefix",
    "max_parallel_requests", "no cap on requests in flight per model",
    "region_name", "use aws_region_name for Bedrock",
    NULL
};

static const char *const info_handled[] = {
    "mode", "base_model", "max_tokens", "max_input_tokens", "max_output_tokens", "input_cost_per_token",
    "output_cost_per_token", "supports_vision", "supports_function_calling", "supports_response_schema",
    "id", NULL
};

static int add_param_items(lctx *x, const cfg_node *params, imp_buf *items)
{
    static const char *const ps[] = { "temperature", "top_p", "top_k", "seed", "presence_penalty",
                                      "frequency_penalty", "max_tokens", "stop", NULL };
    for (const char *const *p = ps; *p; p++) {
        const cfg_node *v = cfg_get(params, *p);
        if (v && imp_model_param(x->im, items, *p, v))
            return -1;
    }
    return 0;
}

static uint32_t caps_of(const cfg_node *info)
{
    static const struct { const char *key; rv_cap cap; } map[] = {
        { "supports_vision", RV_CAP_VISION }, { "supports_function_calling", RV_CAP_TOOLS },
        { "supports_response_schema", RV_CAP_JSON } };
    uint32_t caps = 0;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        const cfg_node *n = cfg_get(info, map[i].key);
        if (n && n->type == CFG_BOOL && n->i)
            caps |= 1u << map[i].cap | 1u << RV_CAP_TEXT;
    }
    return caps;
}

/* rpm or tpm of a deployment: in litellm_params or beside them. */
static int limit_of(imp *im, const cfg_node *entry, const cfg_node *params, const char *key, int64_t *v)
{
    const cfg_node *n = cfg_get(params, key);
    if (!n)
        n = cfg_get(entry, key);
    *v = 0;
    return n ? imp_int(im, n, 1, INT64_C(1000000000000), v) : 0;
}

static int model_info(lctx *x, const cfg_node *info, imp_model *m)
{
    imp *im = x->im;
    if (!info)
        return 0;
    if (!imp_is(im, info, CFG_MAP))
        return -1;
    imp_other_keys(im, info, info_handled, NULL);
    const cfg_node *n;
    if ((n = cfg_get(info, "base_model")) && !(m->catalog_id = imp_str(im, n)))
        return -1;
    int64_t v;
    if ((n = cfg_get(info, "max_input_tokens")) || (n = cfg_get(info, "max_tokens"))) {
        if (imp_int(im, n, 1, INT64_C(1000000000), &v))
            return -1;
        m->context = v;
    }
    if ((n = cfg_get(info, "max_output_tokens"))) {
        if (imp_int(im, n, 1, INT64_C(1000000000), &v))
            return -1;
        m->output = v;
    }
    m->caps = caps_of(info);
    return 0;
}

/* One deployment of model_list as a model; 0, 1 when it has no
   equivalent (noted), -1 on an error. */
static int deployment(lctx *x, const cfg_node *entry, deploy *d)
{
    imp *im = x->im;
    const cfg_node *params = cfg_get(entry, "litellm_params"), *info = cfg_get(entry, "model_info"), *n;
    if (!params)
        return imp_fail(im, entry, "no litellm_params");
    if (!imp_is(im, params, CFG_MAP))
        return -1;
    const cfg_node *mode = cfg_get(info, "mode");
    if (mode && mode->type == CFG_STR && strcmp(mode->str, "chat") && strcmp(mode->str, "completion")) {
        imp_note(im, mode, "a '%s' deployment has no equivalent (chat completions only); left out", mode->str);
        return 1;
    }
    const char *model = imp_str(im, cfg_get(params, "model")), *id;
    if (!model)
        return cfg_get(params, "model") ? -1 : imp_fail(im, params, "no model");
    const imp_known *k = split_model(im, cfg_get(params, "model"), model, &id);
    if (!k)
        return -1;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(strchr(model, '/') ? strchr(model, '/') - model : 0), model);
    const char *endpoint = endpoint_of(im, params, k, prefix), *key = NULL, *region = NULL;
    if (imp_failed(im))
        return -1;
    if (k->kind == RV_PROV_BEDROCK) {
        if ((n = cfg_get(params, "aws_region_name"))) {
            if (!(region = imp_str(im, n)))
                return -1;
        } else {
            region = "us-east-1";
            imp_note(im, params, "no aws_region_name: us-east-1");
        }
        imp_aws_keys(im, params);
        if (cfg_get(params, "api_key"))
            imp_note(im, cfg_get(params, "api_key"), "not used: Bedrock calls are signed with AWS credentials");
    } else if (!(key = key_of(im, params, k)) && imp_failed(im)) {
        return -1;
    }
    char host[64], stem[160];
    snprintf(stem, sizeof stem, "%s%s%s", k->litellm, endpoint && k->endpoint != endpoint ? "_" : "",
             endpoint && k->endpoint != endpoint ? imp_host_label(endpoint, host, sizeof host) : "");
    imp_model m = { .id = id, .price_in = -1, .price_out = -1, .at = entry };
    if (region)
        snprintf(stem, sizeof stem, "bedrock_%s", region);
    m.provider = imp_provider_for(im, k->kind, endpoint, region, key, stem);
    if (model_info(x, info, &m))
        return -1;
    int64_t pin = -1, pout = -1;
    if (cost_per_token(im, params, info, "input_cost_per_token", &pin) < 0 ||
        cost_per_token(im, params, info, "output_cost_per_token", &pout) < 0)
        return -1;
    if ((pin >= 0) != (pout >= 0))
        return imp_fail(im, params, "input_cost_per_token and output_cost_per_token go together");
    m.price_in = pin;
    m.price_out = pout;
    if (limit_of(im, entry, params, "rpm", &d->rpm) || limit_of(im, entry, params, "tpm", &d->tpm))
        return -1;
    if (d->rpm)
        imp_putf(&m.items, "  rpm     %lld\n", (long long)d->rpm);
    if (d->tpm)
        imp_putf(&m.items, "  tpm     %lld tokens\n", (long long)d->tpm);
    int64_t v;
    if ((n = cfg_get(params, "timeout"))) {
        if (imp_seconds(im, n, 1e6, &v))
            return -1;
        imp_puts(&m.items, "  timeout ");
        imp_put_duration(&m.items, v);
        imp_puts(&m.items, "\n");
    }
    if ((n = cfg_get(params, "max_retries"))) {
        if (imp_int(im, n, 0, 10, &v))
            return -1;
        imp_putf(&m.items, "  retry   %lld\n", (long long)v);
    }
    if (add_param_items(x, params, &m.items))
        return imp_buf_free(&m.items), -1;
    if ((n = cfg_get(params, "weight"))) {
        if (imp_number(im, n, &d->weight))
            return imp_buf_free(&m.items), -1;
        if (!(d->weight >= 0 && d->weight < 1e12))
            return imp_buf_free(&m.items), imp_fail(im, n, "expected a weight of 0 or more");
    }
    d->order = 1;
    if ((n = cfg_get(params, "order")) && imp_int(im, n, 1, 1000000, &d->order))
        return imp_buf_free(&m.items), -1;
    imp_other_keys(im, params, params_handled, params_no_equiv);
    snprintf(stem, sizeof stem, "%s_%s", k->litellm, id);
    m.name = imp_name(im, stem);
    d->model = imp_add_model(im, &m);
    d->at = entry;
    return imp_failed(im) ? -1 : 0;
}

/* ---------------------------------------------------------------- groups */

static group *find_group(lctx *x, const char *key)
{
    for (unsigned i = 0; i < x->ng; i++)
        if (!strcmp(x->g[i].key, key))
            return &x->g[i];
    return NULL;
}

static int read_model_list(lctx *x, const cfg_node *list)
{
    imp *im = x->im;
    if (!list)
        return imp_fail(im, NULL, "no model_list: nothing to import");
    if (!imp_is(im, list, CFG_SEQ))
        return -1;
    static const char *const entry_handled[] = { "model_name", "litellm_params", "model_info", "rpm", "tpm", NULL };
    /* every agent name first: model names must not take them */
    for (const cfg_node *e = list->first; e; e = e->next) {
        if (!imp_is(im, e, CFG_MAP))
            return -1;
        const char *name = imp_str(im, cfg_get(e, "model_name"));
        if (!name)
            return cfg_get(e, "model_name") ? -1 : imp_fail(im, e, "no model_name");
        if (find_group(x, name))
            continue;
        if (x->ng == MAX_GROUPS)
            return imp_fail(im, e, "more than %d model names", MAX_GROUPS);
        group *g = &x->g[x->ng++];
        g->key = name;
        g->at = cfg_get(e, "model_name");
        g->agent = imp_name(im, name);
        if (strcmp(g->agent, name))
            imp_note(im, g->at, "'%s' is agent %s: clients name it in \"model\"", name, g->agent);
    }
    for (const cfg_node *e = list->first; e; e = e->next) {
        group *g = find_group(x, cfg_get(e, "model_name")->str);
        if (g->n == MAX_DEPLOY)
            return imp_fail(im, e, "more than %d deployments of '%s'", MAX_DEPLOY, g->key);
        int r = deployment(x, e, &g->d[g->n]);
        if (r < 0)
            return -1;
        if (!r)
            g->n++;
        imp_other_keys(im, e, entry_handled, NULL);
    }
    return 0;
}

/* ---------------------------------------------------------------- routes */

/* Whole-percent shares of 100 for the weights 'w' (largest remainder,
   every share at least 1). */
static void shares(const double *w, unsigned n, int *out)
{
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += w[i];
    int total = 0;
    double rem[MAX_DEPLOY];
    for (unsigned i = 0; i < n; i++) {
        double exact = 100.0 * w[i] / sum;
        out[i] = (int)exact;
        rem[i] = exact - out[i];
        if (out[i] < 1)
            out[i] = 1, rem[i] = -1;
        total += out[i];
    }
    while (total < 100) {
        unsigned best = 0;
        for (unsigned i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        out[best]++;
        rem[best] = -2;
        total++;
    }
    while (total > 100) {
        unsigned big = 0;
        for (unsigned i = 1; i < n; i++)
            if (out[i] > out[big])
                big = i;
        out[big]--;
        total--;
    }
}

/* The weights simple-shuffle uses: weight, else rpm, else tpm, else equal. */
static const char *weights(const deploy *const *d, unsigned n, double *w)
{
    int any_w = 0, all_rpm = 1, all_tpm = 1;
    for (unsigned i = 0; i < n; i++) {
        any_w |= d[i]->weight > 0;
        all_rpm &= d[i]->rpm > 0;
        all_tpm &= d[i]->tpm > 0;
    }
    const char *by = any_w ? "weight" : all_rpm ? "rpm" : all_tpm ? "tpm" : "equal shares";
    for (unsigned i = 0; i < n; i++)
        w[i] = any_w ? (d[i]->weight > 0 ? d[i]->weight : 1) : all_rpm ? (double)d[i]->rpm
             : all_tpm ? (double)d[i]->tpm : 1;
    return by;
}

static void put_route(lctx *x, group *g, imp_buf *b)
{
    imp *im = x->im;
    int64_t low = INT64_MAX;
    for (unsigned i = 0; i < g->n; i++)
        if (g->d[i].order < low)
            low = g->d[i].order;
    const deploy *first[MAX_DEPLOY];
    unsigned n = 0;
    for (unsigned i = 0; i < g->n; i++)
        if (g->d[i].order == low)
            first[n++] = &g->d[i];
    for (unsigned i = 0; i < g->n; i++)   /* later orders: fallbacks, in order */
        if (g->d[i].order != low) {
            imp_putf(&g->fb_plain, "%s%s", g->fb_plain.len ? ", " : "", g->d[i].model);
        }
    if (n == 1) {
        imp_putf(b, "  route -> %s\n", first[0]->model);
        return;
    }
    const cfg_node *rsn = setting(x, "routing_strategy", NULL);
    const char *strategy = rsn && rsn->type == CFG_STR ? rsn->str : "simple-shuffle";
    if (!strcmp(strategy, "latency-based-routing") || !strcmp(strategy, "cost-based-routing")) {
        imp_putf(b, "  route -> %s [", strategy[0] == 'l' ? "fastest" : "cheapest");
        for (unsigned i = 0; i < n; i++)
            imp_putf(b, "%s%s", i ? ", " : "", first[i]->model);
        imp_puts(b, "]\n");
        return;
    }
    double w[MAX_DEPLOY];
    int pct[MAX_DEPLOY];
    const char *by = weights(first, n, w);
    if (!strcmp(strategy, "least-busy")) {
        for (unsigned i = 0; i < n; i++)
            w[i] = 1;
        by = "equal shares (no count of requests in flight)";
    } else if (!strncmp(strategy, "usage-based-routing", 19)) {
        int all_tpm = 1;
        for (unsigned i = 0; i < n; i++)
            all_tpm &= first[i]->tpm > 0;
        for (unsigned i = 0; i < n && all_tpm; i++)
            w[i] = (double)first[i]->tpm;
        by = all_tpm ? "tpm (each model's rpm and tpm are enforced)" : by;
    }
    shares(w, n, pct);
    imp_note(im, g->at, "approximated: %s picks a deployment per request; 'split' by %s, hashing the last user "
                        "message into 100 buckets", strategy, by);
    imp_puts(b, "  route -> split ");
    for (unsigned i = 0; i < n; i++)
        imp_putf(b, "%s%d%% -> %s", i ? ", " : "", pct[i], first[i]->model);
    imp_puts(b, " by input\n");
}

/* ---------------------------------------------------------------- fallbacks */

/* Would g -> to close a cycle of fallbacks?  (Reachability of g from
   'to', breadth first over the edges so far.) */
static int closes_cycle(lctx *x, unsigned from, unsigned to)
{
    uint8_t seen[MAX_GROUPS] = { 0 };
    unsigned queue[MAX_GROUPS], head = 0, tail = 0;
    queue[tail++] = to;
    seen[to] = 1;
    while (head < tail) {
        unsigned v = queue[head++];
        if (v == from)
            return 1;
        for (size_t e = 0; e < x->g[v].nedge; e++)
            if (!seen[x->g[v].edges[e]]) {
                seen[x->g[v].edges[e]] = 1;
                queue[tail++] = x->g[v].edges[e];
            }
    }
    return 0;
}

/* One fallback from group 'gi' to the group named at 'tn'; 'cls' NULL for
   a plain fallback, else the class of 'fallback on'. */
static int add_fallback(lctx *x, unsigned gi, const cfg_node *tn, const char *cls)
{
    imp *im = x->im;
    const char *t = imp_str(im, tn);
    if (!t)
        return -1;
    group *to = find_group(x, t);
    if (!to)
        return imp_fail(im, tn, "'%s' is not a model_name of model_list", t);
    unsigned ti = (unsigned)(to - x->g);
    group *g = &x->g[gi];
    if (!to->n || !g->n) {
        imp_note(im, tn, "left out: '%s' has no chat deployment", to->n ? g->key : t);
        return 0;
    }
    if (ti == gi) {
        imp_note(im, tn, "left out: a fallback from '%s' to itself", t);
        return 0;
    }
    /* a name with one deployment falls back to its model: the same calls,
       and no agent to close a cycle through; else to its agent, or, when
       that closes a cycle, to each of its deployments in turn */
    const char *targets[MAX_DEPLOY];
    unsigned nt = 0;
    if (to->n == 1) {
        targets[nt++] = to->d[0].model;
    } else if (closes_cycle(x, gi, ti)) {
        imp_note(im, tn, "approximated: a fallback from '%s' to the agent of '%s' would close a cycle of "
                         "fallbacks, which the language refuses: its deployments are the fallbacks, in turn",
                 g->key, t);
        for (unsigned i = 0; i < to->n; i++)
            targets[nt++] = to->d[i].model;
    } else {
        if (MEM_GROW(g->edges, g->nedge, g->cap_edge))
            return imp_fail(im, tn, "out of memory");
        g->edges[g->nedge++] = ti;
        targets[nt++] = to->agent;
    }
    for (unsigned i = 0; i < nt; i++) {
        if (cls)
            imp_putf(&g->fb_on, "  fallback on %s -> %s\n", cls, targets[i]);
        else
            imp_putf(&g->fb_plain, "%s%s", g->fb_plain.len ? ", " : "", targets[i]);
    }
    return 0;
}

/* fallbacks: [{"gpt-4": ["gpt-3.5"]}, ...]; "*" applies to every group. */
static int read_fallbacks(lctx *x, const char *name, const char *cls)
{
    imp *im = x->im;
    const cfg_node *list = setting(x, name, NULL);
    if (!list)
        return 0;
    if (!imp_is(im, list, CFG_SEQ))
        return -1;
    for (const cfg_node *e = list->first; e; e = e->next) {
        if (!imp_is(im, e, CFG_MAP))
            return -1;
        for (const cfg_node *kv = e->first; kv; kv = kv->next) {
            if (!imp_is(im, kv, CFG_SEQ))
                return -1;
            group *from = strcmp(kv->key, "*") ? find_group(x, kv->key) : NULL;
            if (!from && strcmp(kv->key, "*"))
                return imp_fail(im, kv, "'%s' is not a model_name of model_list", kv->key);
            for (unsigned gi = 0; gi < x->ng; gi++) {
                if (from && &x->g[gi] != from)
                    continue;
                for (const cfg_node *t = kv->first; t; t = t->next)
                    if ((from || t->type != CFG_STR || strcmp(t->str, x->g[gi].key)) && add_fallback(x, gi, t, cls))
                        return -1;
            }
        }
    }
    return 0;
}

static int read_default_fallbacks(lctx *x)
{
    const cfg_node *list = setting(x, "default_fallbacks", NULL);
    if (!list)
        return 0;
    if (!imp_is(x->im, list, CFG_SEQ))
        return -1;
    for (unsigned gi = 0; gi < x->ng; gi++)
        for (const cfg_node *t = list->first; t; t = t->next)
            if (t->type == CFG_STR && strcmp(t->str, x->g[gi].key) && add_fallback(x, gi, t, NULL))
                return -1;
    return 0;
}

/* ---------------------------------------------------------------- agents */

/* retry_policy: one count per exception; the language has one count and
   a set of classes. */
static int retry_policy(lctx *x, const cfg_node *p, int64_t *retry, imp_buf *on)
{
    static const char *const map[] = { "TimeoutErrorRetries", "timeout", "RateLimitErrorRetries", "rate_limited",
                                       "InternalServerErrorRetries", "server_error", NULL };
    static const char *const futile[] = { "ContentPolicyViolationErrorRetries", "AuthenticationErrorRetries",
                                          "BadRequestErrorRetries", NULL };
    imp *im = x->im;
    if (!imp_is(im, p, CFG_MAP))
        return -1;
    *retry = 0;
    for (const cfg_node *e = p->first; e; e = e->next) {
        int64_t v;
        if (imp_int(im, e, 0, 1000, &v))
            return -1;
        const char *cls = NULL;
        for (const char *const *m = map; *m; m += 2)
            if (!strcmp(*m, e->key))
                cls = m[1];
        int is_futile = 0;
        for (const char *const *f = futile; *f; f++)
            is_futile |= !strcmp(*f, e->key);
        if (is_futile) {
            if (v)
                imp_note(im, e, "not retried: a retry only repeats this failure");
            continue;
        }
        if (!cls) {
            imp_note(im, e, "not recognised; left out");
            continue;
        }
        if (v) {
            imp_putf(on, "%s%s", on->len ? ", " : "[", cls);
            if (v > *retry)
                *retry = v;
        }
    }
    if (on->len)
        imp_puts(on, "]");
    imp_note(im, p, "approximated: one retry count for every class, the largest (%lld)", (long long)*retry);
    return 0;
}

static int put_settings(lctx *x, imp_buf *b)
{
    imp *im = x->im;
    const cfg_node *n;
    int64_t v, retry = -1;
    imp_buf on = { 0 };
    if ((n = setting(x, "num_retries", NULL)) && imp_int(im, n, 0, 1000, &retry))
        return -1;
    if ((n = setting(x, "retry_policy", NULL)) && retry_policy(x, n, &retry, &on))
        return imp_buf_free(&on), -1;
    if (retry > 10) {
        imp_note(im, setting(x, "num_retries", NULL), "at most 10 retries: 10");
        retry = 10;
    }
    if (retry >= 0)
        imp_putf(b, "  retry    %lld\n", (long long)retry);
    if (on.len)
        imp_putf(b, "  retry_on %s\n", on.s);
    imp_buf_free(&on);
    if ((n = setting(x, "retry_after", NULL))) {
        if (imp_seconds(im, n, 1e6, &v))
            return -1;
        imp_puts(b, "  backoff  ");
        imp_put_duration(b, v);
        imp_puts(b, "\n");
    }
    if ((n = setting(x, "timeout", "request_timeout"))) {
        if (imp_seconds(im, n, 1e6, &v))
            return -1;
        imp_puts(b, "  timeout  ");
        imp_put_duration(b, v);
        imp_puts(b, "\n");
    }
    return 0;
}

static int aliases(lctx *x)
{
    imp *im = x->im;
    const cfg_node *m = setting(x, "model_group_alias", NULL);
    if (!m)
        return 0;
    if (!imp_is(im, m, CFG_MAP))
        return -1;
    for (const cfg_node *e = m->first; e; e = e->next) {
        const cfg_node *t = e->type == CFG_MAP ? cfg_get(e, "model") : e;
        const char *target = imp_str(im, t ? t : e);
        if (!target)
            return -1;
        group *g = find_group(x, target);
        if (!g)
            return imp_fail(im, e, "'%s' is not a model_name of model_list", target);
        if (!g->n) {
            imp_note(im, e, "left out: '%s' has no chat deployment", target);
            continue;
        }
        if (e->type == CFG_MAP && cfg_get(e, "hidden"))
            imp_note(im, cfg_get(e, "hidden"), "no equivalent (every agent is listed by GET /v1/models)");
        const char *name = imp_name(im, e->key);
        if (strcmp(name, e->key))
            imp_note(im, e, "'%s' is agent %s: clients name it in \"model\"", e->key, name);
        imp_buf body = { 0 };
        imp_putf(&body, "  route -> %s\n", g->agent);
        imp_add_agent(im, name, e, &body);
    }
    return 0;
}

static int settings_notes(lctx *x)
{
    static const char *const rs_handled[] = { "routing_strategy", "fallbacks", "context_window_fallbacks",
                                              "content_policy_fallbacks", "default_fallbacks", "num_retries",
                                              "retry_policy", "retry_after", "timeout", "model_group_alias", NULL };
    static const char *const ls_handled[] = { "fallbacks", "context_window_fallbacks", "content_policy_fallbacks",
                                              "default_fallbacks", "num_retries", "retry_policy", "retry_after",
                                              "request_timeout", "model_group_alias", NULL };
    imp *im = x->im;
    if (x->rs && !imp_is(im, x->rs, CFG_MAP))
        return -1;
    if (x->ls && !imp_is(im, x->ls, CFG_MAP))
        return -1;
    imp_other_keys(im, x->rs, rs_handled, router_no_equiv);
    imp_other_keys(im, x->ls, ls_handled, litellm_no_equiv);
    const cfg_node *s = cfg_get(x->rs, "routing_strategy");
    if (s) {
        static const char *const known[] = { "simple-shuffle", "least-busy", "usage-based-routing",
                                             "usage-based-routing-v2", "latency-based-routing",
                                             "cost-based-routing", NULL };
        const char *v = imp_str(im, s);
        int ok = 0;
        for (const char *const *k = known; v && *k; k++)
            ok |= !strcmp(*k, v);
        if (!v || !ok)
            return v ? imp_fail(im, s, "unknown routing_strategy '%s'", v) : -1;
    }
    return 0;
}

int litellm_import(imp *im, const cfg_node *root)
{
    static const char *const top_handled[] = { "model_list", "router_settings", "litellm_settings", NULL };
    static const char *const top_no_equiv[] = {
        "general_settings", "proxy server settings: keys are routevm serve --keys, spend is --state",
        "environment_variables", "set them in the environment routevm runs in",
        "guardrails", "write guardrail blocks",
        "credential_list", "keys come from environment variables",
        NULL
    };
    if (!imp_is(im, root, CFG_MAP))
        return -1;
    lctx x = { .im = im, .rs = cfg_get(root, "router_settings"), .ls = cfg_get(root, "litellm_settings") };
    if (!(x.g = mem_calloc(MAX_GROUPS, sizeof *x.g)))
        return imp_fail(im, root, "out of memory");
    int r = -1;
    if (settings_notes(&x) || read_model_list(&x, cfg_get(root, "model_list")))
        goto out;
    imp_other_keys(im, root, top_handled, top_no_equiv);
    unsigned chat = 0;
    for (unsigned i = 0; i < x.ng; i++)
        chat += x.g[i].n;
    if (!chat) {
        imp_fail(im, cfg_get(root, "model_list"), "no chat deployment: nothing to import");
        goto out;
    }
    imp_buf routes[MAX_GROUPS];
    for (unsigned i = 0; i < x.ng; i++) {
        memset(&routes[i], 0, sizeof routes[i]);
        if (x.g[i].n)
            put_route(&x, &x.g[i], &routes[i]);
    }
    if (read_fallbacks(&x, "fallbacks", NULL) || read_default_fallbacks(&x) ||
        read_fallbacks(&x, "context_window_fallbacks", "context_length") ||
        read_fallbacks(&x, "content_policy_fallbacks", "content_filter"))
        goto routes_out;
    for (unsigned i = 0; i < x.ng; i++) {
        group *g = &x.g[i];
        if (!g->n) {
            imp_note(im, g->at, "'%s' has no chat deployment; no agent", g->key);
            continue;
        }
        imp_buf body = routes[i];
        memset(&routes[i], 0, sizeof routes[i]);
        if (g->fb_plain.len)
            imp_putf(&body, "  fallback %s\n", g->fb_plain.s);
        if (g->fb_on.len)
            imp_puts(&body, g->fb_on.s);
        if (put_settings(&x, &body)) {
            imp_buf_free(&body);
            goto routes_out;
        }
        imp_add_agent(im, g->agent, g->at, &body);
    }
    r = aliases(&x);
routes_out:
    for (unsigned i = 0; i < x.ng; i++)
        imp_buf_free(&routes[i]);
out:
    for (unsigned i = 0; i < x.ng; i++) {
        imp_buf_free(&x.g[i].fb_plain);
        imp_buf_free(&x.g[i].fb_on);
        free(x.g[i].edges);
    }
    free(x.g);
    return imp_failed(im) ? -1 : r;
}
