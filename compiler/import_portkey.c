/* import_portkey: a Portkey gateway config (JSON) as a policy.

   A config is a tree of targets.  A leaf (provider, key, override_params)
   is a model; a node with a strategy is an agent: the top one under the
   name given to `routec import` (clients send it as "model"), nested
   ones under their 'name' or the parent's name and their index.
     fallback     route -> first target, the others as 'fallback' (with
                  strategy.on_status_codes: 'fallback on CLASSES -> T')
     loadbalance  split of whole-percent shares of the weights, by input
     conditional  a rule per condition (metadata, stream, max_tokens and
                  user; $eq $ne $gt $gte $lt $lte $in $nin $regex $and
                  $or), otherwise -> default
     single       route -> the first target
   retry (attempts, on_status_codes) and request_timeout become retry,
   retry_on and timeout of the agent or model they are set on, and of the
   nested agents below it; override_params is merged down to the leaves
   (the model id comes from it), its sampling parameters become the
   model's.  Recursion follows the config's nesting, which the reader
   bounds (CFG_MAX_DEPTH).  What has no equivalent is noted. */
#include <math.h>
#include <string.h>

#include "importer.h"

#define MAX_CONDS 1024

typedef struct {
    imp *im;
    const char *top;            /* the top agent's name */
} pctx;

/* What a node inherits from the nodes above it. */
typedef struct {
    const cfg_node *params[16]; /* override_params, innermost first */
    unsigned nparams;
    const cfg_node *retry, *timeout;
} inherit;

static const char *target(pctx *x, const cfg_node *n, const char *stem, inherit in, unsigned depth);

static const char *const leaf_no_equiv[] = {
    "cache", "no response cache",
    "forward_headers", "headers are not forwarded to providers",
    "input_guardrails", "write guardrail blocks",
    "output_guardrails", "write guardrail blocks",
    "before_request_hooks", "write guardrail blocks, or a hook target",
    "after_request_hooks", "write guardrail blocks",
    "strict_open_ai_compliance", "answers are always in OpenAI's format",
    "openai_organization", "no organization header is sent",
    "openai_project", "no project header is sent",
    "api_version", "Azure OpenAI's v1 API takes no version",
    "vertex_project_id", "Vertex AI has no equivalent",
    "vertex_region", "Vertex AI has no equivalent",
    "on_status_codes", "set on_status_codes in the strategy of the fallback",
    NULL
};

static const char *const leaf_handled[] = {
    "provider", "api_key", "virtual_key", "override_params", "weight", "name", "retry", "request_timeout",
    "custom_host", "resource_name", "deployment_id", "aws_region", "aws_access_key_id",
    "aws_secret_access_key", "aws_session_token", "strategy", "targets", NULL
};

/* ---------------------------------------------------------------- settings */

/* retry and request_timeout as items (agent or model). */
static int put_calls(pctx *x, imp_buf *b, const cfg_node *retry, const cfg_node *timeout)
{
    imp *im = x->im;
    if (retry) {
        if (!imp_is(im, retry, CFG_MAP))
            return -1;
        static const char *const h[] = { "attempts", "on_status_codes", NULL };
        imp_other_keys(im, retry, h, (const char *const[]){ "use_retry_after_header",
                                                            "Retry-After is always honoured", NULL });
        int64_t a = 0;
        const cfg_node *an = cfg_get(retry, "attempts");
        if (!an)
            return imp_fail(im, retry, "no attempts");
        if (imp_int(im, an, 0, 1000, &a))
            return -1;
        if (a > 10) {
            imp_note(im, an, "at most 10 retries: 10");
            a = 10;
        }
        imp_putf(b, "  retry    %lld\n", (long long)a);
        const cfg_node *codes = cfg_get(retry, "on_status_codes");
        if (codes) {
            imp_buf l = { 0 };
            if (!imp_put_statuses(im, &l, codes, 1))
                imp_putf(b, "  retry_on %s\n", l.s);
            imp_buf_free(&l);
            if (imp_failed(im))
                return -1;
        }
    }
    if (timeout) {
        int64_t us;
        if (imp_seconds(im, timeout, 1e3, &us))
            return -1;
        imp_puts(b, "  timeout  ");
        imp_put_duration(b, us);
        imp_puts(b, "\n");
    }
    return 0;
}

/* The value of override_params key 'k', innermost first. */
static const cfg_node *param(const inherit *in, const char *k)
{
    for (unsigned i = 0; i < in->nparams; i++) {
        const cfg_node *v = cfg_get(in->params[i], k);
        if (v)
            return v;
    }
    return NULL;
}

/* ---------------------------------------------------------------- leaves */

/* The provider of a leaf: 'provider' ("openai", "@openai-prod"), else
   guessed from the model id when a virtual key stands for it. */
static const imp_known *provider_of(pctx *x, const cfg_node *n, const char *model)
{
    imp *im = x->im;
    const cfg_node *pn = cfg_get(n, "provider");
    if (!pn) {
        const char *p = !strncmp(model, "gpt-", 4) || !strncmp(model, "ft:gpt-", 7) ||
                                (model[0] == 'o' && model[1] >= '1' && model[1] <= '9')
                            ? "openai" : !strncmp(model, "claude", 6) ? "anthropic" : NULL;
        if (!p) {
            imp_fail(im, n, "no provider, and '%s' does not tell it", model);
            return NULL;
        }
        return imp_known_provider(p, 1);
    }
    const char *p = imp_str(im, pn);
    if (!p)
        return NULL;
    char slug[64];
    if (*p == '@') {   /* a provider integration of Portkey's model catalogue */
        /* the longest known provider name the slug starts with: "@mistral-ai-prod" */
        const imp_known *k = NULL;
        snprintf(slug, sizeof slug, "%s", p + 1);
        for (size_t cut = strlen(slug); cut && !k; cut--)
            if (!slug[cut] || slug[cut] == '-' || slug[cut] == '_' || slug[cut] == '/') {
                slug[cut] = 0;
                k = imp_known_provider(slug, 1);
            }
        if (k)
            imp_note(im, pn, "Portkey integration '%s': its key stays in Portkey; the provider reads %s", p,
                     k->key_env ? k->key_env : "no key");
        else
            imp_fail(im, pn, "cannot tell the provider of the integration '%s'", p);
        return k;
    }
    return imp_provider_named(im, pn, p, 1);
}

static const char *leaf_endpoint(pctx *x, const cfg_node *n, const imp_known *k)
{
    imp *im = x->im;
    const cfg_node *h = cfg_get(n, "custom_host"), *res = cfg_get(n, "resource_name");
    const char *url = NULL;
    if (h) {
        if (!(url = imp_str(im, h)))
            return NULL;
        if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
            imp_fail(im, h, "custom_host must start with http:// or https://");
            return NULL;
        }
    } else if (res) {
        const char *r = imp_str(im, res);
        if (!r)
            return NULL;
        for (const char *p = r; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-')) {
                imp_fail(im, res, "not an Azure resource name");
                return NULL;
            }
        url = arena_printf(imp_arena(im), "https://%s.openai.azure.com", r);
    } else if (!k->endpoint && k->kind != RV_PROV_BEDROCK) {
        imp_fail(im, n, "provider '%s' needs custom_host%s", k->portkey, k->suffix ? " or resource_name" : "");
        return NULL;
    } else {
        return k->endpoint;
    }
    return imp_base_url(im, url, k->suffix);
}

static const char *leaf_key(pctx *x, const cfg_node *n, const imp_known *k)
{
    imp *im = x->im;
    const cfg_node *key = cfg_get(n, "api_key"), *vk = cfg_get(n, "virtual_key");
    const char *base = k->key_env ? k->key_env : "PORTKEY_PROVIDER_API_KEY";
    if (key) {
        const char *v = imp_str(im, key);
        return v ? imp_key_env(im, key, v, base) : NULL;
    }
    if (vk) {
        if (!imp_str(im, vk))
            return NULL;
        imp_note(im, vk, "a virtual key's secret stays in Portkey's vault: the provider reads %s", base);
    }
    return k->key_env;
}

static int leaf_params(pctx *x, const inherit *in, imp_buf *items)
{
    static const char *const ps[] = { "temperature", "top_p", "top_k", "seed", "presence_penalty",
                                      "frequency_penalty", "max_tokens", "stop", NULL };
    static const char *const other[] = { "model", "temperature", "top_p", "top_k", "seed", "presence_penalty",
                                         "frequency_penalty", "max_tokens", "stop", NULL };
    for (const char *const *p = ps; *p; p++) {
        const cfg_node *v = param(in, *p);
        if (v && imp_model_param(x->im, items, *p, v))
            return -1;
    }
    for (unsigned i = 0; i < in->nparams; i++)
        imp_other_keys(x->im, in->params[i], other, NULL);
    return 0;
}

static const char *leaf(pctx *x, const cfg_node *n, inherit in)
{
    imp *im = x->im;
    const cfg_node *mn = param(&in, "model"), *dep = cfg_get(n, "deployment_id");
    const char *model = dep ? imp_str(im, dep) : mn ? imp_str(im, mn) : NULL;
    if (!model) {
        if (!imp_failed(im))
            imp_fail(im, n, "no override_params.model: a target needs the id of the model it calls");
        return NULL;
    }
    const imp_known *k = provider_of(x, n, model);
    if (!k)
        return NULL;
    const char *endpoint = leaf_endpoint(x, n, k), *key = NULL, *region = NULL;
    if (imp_failed(im))
        return NULL;
    char stem[160], host[64];
    if (k->kind == RV_PROV_BEDROCK) {
        const cfg_node *r = cfg_get(n, "aws_region");
        if (r && !(region = imp_str(im, r)))
            return NULL;
        if (!r) {
            region = "us-east-1";
            imp_note(im, n, "no aws_region: us-east-1");
        }
        imp_aws_keys(im, n);
        snprintf(stem, sizeof stem, "bedrock_%s", region);
    } else {
        if (!(key = leaf_key(x, n, k)) && imp_failed(im))
            return NULL;
        snprintf(stem, sizeof stem, "%s%s%s", k->portkey, endpoint != k->endpoint ? "_" : "",
                 endpoint != k->endpoint ? imp_host_label(endpoint, host, sizeof host) : "");
    }
    imp_model m = { .id = model, .price_in = -1, .price_out = -1, .at = n };
    m.provider = imp_provider_for(im, k->kind, endpoint, region, key, stem);
    if (leaf_params(x, &in, &m.items) || put_calls(x, &m.items, cfg_get(n, "retry"), cfg_get(n, "request_timeout"))) {
        imp_buf_free(&m.items);
        return NULL;
    }
    imp_other_keys(im, n, leaf_handled, leaf_no_equiv);
    const cfg_node *name = cfg_get(n, "name");
    snprintf(stem, sizeof stem, "%s_%s", k->portkey, model);
    m.name = imp_name(im, name && name->type == CFG_STR ? name->str : stem);
    return imp_add_model(im, &m);
}

/* ---------------------------------------------------------------- conditions */

/* A constant of a condition: a string, or a number of the language. */
static int put_value(pctx *x, imp_buf *b, const cfg_node *v, int numeric_only)
{
    if (v->type == CFG_STR && !numeric_only) {
        imp_put_str(b, v->str);
        return 0;
    }
    if (v->type == CFG_INT) {
        imp_putf(b, "%lld", (long long)v->i);
        return 0;
    }
    if (v->type == CFG_REAL && fabs(v->r) < 9e12 && fabs(v->r * 1e6 - llround(v->r * 1e6)) < 1e-6) {
        imp_put_millionths(b, llround(v->r * 1e6));
        return 0;
    }
    imp_note(x->im, v, "no equivalent for %s here; the condition is left out", cfg_type_name(v->type));
    return -1;
}

/* The field a query key names, or NULL (noted). */
static const char *field(pctx *x, const cfg_node *at, const char *key, char *buf, size_t len)
{
    static const char *const params[] = { "stream", "max_tokens", "user", NULL };
    if (!strncmp(key, "metadata.", 9)) {
        const char *k = key + 9;
        int ok = *k && !strchr(k, '.') && !(*k >= '0' && *k <= '9');
        for (const char *p = k; *p; p++)
            ok &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (ok) {
            snprintf(buf, len, "meta.%s", k);
            return buf;
        }
        imp_note(x->im, at, "no equivalent: a metadata key the language can name is a word of letters, digits "
                            "and '_'; the condition is left out");
        return NULL;
    }
    if (!strncmp(key, "params.", 7))
        for (const char *const *p = params; *p; p++)
            if (!strcmp(key + 7, *p))
                return *p;
    imp_note(x->im, at, "no equivalent: conditions read metadata, stream, max_tokens and user; the condition "
                        "is left out");
    return NULL;
}

static int cond(pctx *x, imp_buf *b, const cfg_node *q, unsigned depth);

/* One operator on a field: "meta.x == \"a\"". */
static int op(pctx *x, imp_buf *b, const char *f, const cfg_node *o)
{
    static const char *const cmp[] = { "$eq", "==", "$ne", "!=", "$gt", ">", "$gte", ">=", "$lt", "<",
                                       "$lte", "<=", NULL };
    imp *im = x->im;
    int is_stream = !strcmp(f, "stream");
    for (const char *const *c = cmp; *c; c += 2) {
        if (strcmp(o->key, *c))
            continue;
        int order = c[1][0] == '<' || c[1][0] == '>';
        if (is_stream) {
            if (order || o->type != CFG_BOOL) {
                imp_note(im, o, "no equivalent: stream is true or false; the condition is left out");
                return -1;
            }
            imp_putf(b, "%sstream", (o->i != 0) == (c[1][0] == '=') ? "" : "not ");
            return 0;
        }
        imp_putf(b, "%s %s ", f, c[1]);
        return put_value(x, b, o, order || !strcmp(f, "max_tokens"));
    }
    if (!strcmp(o->key, "$in") || !strcmp(o->key, "$nin")) {
        if (!imp_is(im, o, CFG_SEQ))
            return -1;
        if (!o->n || is_stream) {
            imp_note(im, o, "no equivalent for this list; the condition is left out");
            return -1;
        }
        imp_putf(b, "%s %s [", f, o->key[1] == 'n' ? "not in" : "in");
        for (const cfg_node *e = o->first; e; e = e->next) {
            if (e->type != o->first->type) {
                imp_note(im, e, "a list of values of one type is needed; the condition is left out");
                return -1;
            }
            if (put_value(x, b, e, 0))
                return -1;
            imp_puts(b, e->next ? ", " : "]");
        }
        return 0;
    }
    if (!strcmp(o->key, "$regex")) {
        const char *re = imp_str(im, o);
        char err[300];
        if (!re)
            return -1;
        if (strcmp(f, "user") && strncmp(f, "meta.", 5)) {
            imp_note(im, o, "no equivalent: $regex on a field that is not text; the condition is left out");
            return -1;
        }
        imp_putf(b, "%s matches ", f);
        if (imp_put_regex(b, re, err, sizeof err)) {
            imp_note(im, o, "%s; the condition is left out", err);
            return -1;
        }
        return 0;
    }
    imp_note(im, o, "no equivalent for operator '%s'; the condition is left out", o->key);
    return -1;
}

/* "a and b" of the entries of a query object (or an operator object). */
static int cond(pctx *x, imp_buf *b, const cfg_node *q, unsigned depth)
{
    imp *im = x->im;
    if (!imp_is(im, q, CFG_MAP))
        return -1;
    if (!q->n) {
        imp_puts(b, "true");
        return 0;
    }
    if (q->n > 1)
        imp_puts(b, "(");
    for (const cfg_node *e = q->first; e; e = e->next) {
        if (e != q->first)
            imp_puts(b, " and ");
        if (!strcmp(e->key, "$or") || !strcmp(e->key, "$and")) {
            if (!imp_is(im, e, CFG_SEQ))
                return -1;
            if (!e->n) {
                imp_puts(b, e->key[1] == 'o' ? "false" : "true");
                continue;
            }
            imp_puts(b, "(");
            for (const cfg_node *s = e->first; s; s = s->next) {
                if (s != e->first)
                    imp_puts(b, e->key[1] == 'o' ? " or " : " and ");
                if (cond(x, b, s, depth + 1))
                    return -1;
            }
            imp_puts(b, ")");
            continue;
        }
        char buf[160];
        const char *f = field(x, e, e->key, buf, sizeof buf);
        if (!f)
            return -1;
        if (e->type != CFG_MAP) {   /* a plain value: equality */
            cfg_node eq = *e;
            eq.key = "$eq";
            if (op(x, b, f, &eq))
                return -1;
            continue;
        }
        if (!e->n)
            return imp_fail(im, e, "an empty operator object");
        if (e->n > 1)
            imp_puts(b, "(");
        for (const cfg_node *o = e->first; o; o = o->next) {
            if (o != e->first)
                imp_puts(b, " and ");
            if (op(x, b, f, o))
                return -1;
        }
        if (e->n > 1)
            imp_puts(b, ")");
    }
    if (q->n > 1)
        imp_puts(b, ")");
    return 0;
}

/* ---------------------------------------------------------------- strategies */

static const cfg_node *named(const cfg_node *targets, const char *name)
{
    for (const cfg_node *t = targets->first; t; t = t->next) {
        const cfg_node *n = cfg_get(t, "name");
        if (n && n->type == CFG_STR && !strcmp(n->str, name))
            return t;
    }
    return NULL;
}

static int conditional(pctx *x, imp_buf *b, const cfg_node *strategy, const cfg_node *targets, const char *stem,
                       inherit in, unsigned depth)
{
    imp *im = x->im;
    const cfg_node *conds = cfg_get(strategy, "conditions"), *dflt = cfg_get(strategy, "default");
    if (!conds)
        return imp_fail(im, strategy, "a conditional strategy needs conditions");
    if (!imp_is(im, conds, CFG_SEQ))
        return -1;
    const char *done_name[MAX_CONDS + 1];
    const cfg_node *done_node[MAX_CONDS + 1];
    unsigned ndone = 0;
    imp_puts(b, "  route {\n");
    for (const cfg_node *c = conds->first;; c = c->next) {
        const cfg_node *then = c ? cfg_get(c, "then") : dflt, *t;
        if (!c && !dflt) {
            t = targets->first;
            imp_note(im, strategy, "no default: Portkey fails a request no condition matches, a route decides "
                                   "every request: otherwise -> the first target");
        } else {
            if (c && !imp_is(im, c, CFG_MAP))
                return -1;
            const char *tn = imp_str(im, then);
            if (!tn)
                return then ? -1 : imp_fail(im, c, "no 'then'");
            if (!(t = named(targets, tn)))
                return imp_fail(im, then, "no target is named '%s'", tn);
        }
        const char *name = NULL;
        for (unsigned i = 0; i < ndone; i++)
            if (done_node[i] == t)
                name = done_name[i];
        imp_buf rule = { 0 };
        int keep = 1;
        if (c) {
            const cfg_node *q = cfg_get(c, "query");
            if (!q)
                return imp_fail(im, c, "no query");
            imp_puts(&rule, "    when ");
            keep = !cond(x, &rule, q, depth);
        } else {
            imp_puts(&rule, "    otherwise");
        }
        if (imp_failed(im)) {
            imp_buf_free(&rule);
            return -1;
        }
        if (keep && !name) {
            if (ndone == MAX_CONDS)
                return imp_buf_free(&rule), imp_fail(im, c, "more than %d conditions", MAX_CONDS);
            char s[200];
            snprintf(s, sizeof s, "%s_%u", stem, t->index + 1);
            if (!(name = target(x, t, s, in, depth + 1)))
                return imp_buf_free(&rule), -1;
            done_node[ndone] = t;
            done_name[ndone++] = name;
        }
        if (keep) {
            imp_putf(&rule, " -> %s", name);
            if (then && then->type == CFG_STR) {
                imp_puts(&rule, " ");
                imp_put_str(&rule, then->str);
            }
            imp_putf(b, "%s\n", rule.s);
        }
        imp_buf_free(&rule);
        if (!c)
            break;
    }
    imp_puts(b, "  }\n");
    for (const cfg_node *t = targets->first; t; t = t->next) {
        int used = 0;
        for (unsigned i = 0; i < ndone; i++)
            used |= done_node[i] == t;
        if (!used)
            imp_note(im, t, "never chosen by a condition; left out");
    }
    return 0;
}

static int loadbalance(pctx *x, imp_buf *b, const cfg_node *node, const cfg_node *targets, const char *stem,
                       inherit in, unsigned depth)
{
    imp *im = x->im;
    double w[100], sum = 0;
    const char *names[100];
    unsigned n = 0;
    if (targets->n > 100)
        return imp_fail(im, targets, "more than 100 targets to balance");
    for (const cfg_node *t = targets->first; t; t = t->next) {
        const cfg_node *wn = cfg_get(t, "weight");
        double v = 1;
        if (wn && imp_number(im, wn, &v))
            return -1;
        if (!(v >= 0 && v < 1e12))
            return imp_fail(im, wn, "expected a weight of 0 or more");
        if (v == 0) {
            imp_note(im, wn, "weight 0: never chosen; left out");
            continue;
        }
        char s[200];
        snprintf(s, sizeof s, "%s_%u", stem, t->index + 1);
        if (!(names[n] = target(x, t, s, in, depth + 1)))
            return -1;
        w[n++] = v;
        sum += v;
    }
    if (!n)
        return imp_fail(im, targets, "every weight is 0");
    if (n == 1) {
        imp_putf(b, "  route -> %s\n", names[0]);
        return 0;
    }
    imp_note(im, node, "approximated: Portkey picks a target at random per request; 'split' hashes the last "
                       "user message into 100 buckets, shares in whole percents");
    int pct[100], total = 0;
    double rem[100];
    for (unsigned i = 0; i < n; i++) {
        double exact = 100.0 * w[i] / sum;
        pct[i] = exact < 1 ? 1 : (int)exact;
        rem[i] = exact < 1 ? -1 : exact - pct[i];
        total += pct[i];
    }
    for (; total < 100; total++) {
        unsigned best = 0;
        for (unsigned i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        pct[best]++;
        rem[best] = -2;
    }
    for (; total > 100; total--) {
        unsigned big = 0;
        for (unsigned i = 1; i < n; i++)
            if (pct[i] > pct[big])
                big = i;
        pct[big]--;
    }
    imp_puts(b, "  route -> split ");
    for (unsigned i = 0; i < n; i++)
        imp_putf(b, "%s%d%% -> %s", i ? ", " : "", pct[i], names[i]);
    imp_puts(b, " by input\n");
    return 0;
}

static int fallback(pctx *x, imp_buf *b, const cfg_node *strategy, const cfg_node *targets, const char *stem,
                    inherit in, unsigned depth)
{
    imp *im = x->im;
    const cfg_node *codes = cfg_get(strategy, "on_status_codes");
    imp_buf classes = { 0 }, plain = { 0 };
    if (codes && imp_put_statuses(im, &classes, codes, 0) && imp_failed(im))
        return -1;
    /* 'fallback on' takes the classes without the list's brackets */
    if (classes.len >= 2) {
        classes.s[classes.len - 1] = 0;
        memmove(classes.s, classes.s + 1, classes.len - 1);
        classes.len -= 2;
    }
    int rc = 0;
    for (const cfg_node *t = targets->first; t && !rc; t = t->next) {
        char s[200];
        snprintf(s, sizeof s, "%s_%u", stem, t->index + 1);
        const char *name = target(x, t, s, in, depth + 1);
        if (!name)
            rc = -1;
        else if (t == targets->first)
            imp_putf(b, "  route -> %s\n", name);
        else if (classes.len)
            imp_putf(b, "  fallback on %s -> %s\n", classes.s, name);
        else
            imp_putf(&plain, "%s%s", plain.len ? ", " : "", name);
    }
    if (plain.len)
        imp_putf(b, "  fallback %s\n", plain.s);
    imp_buf_free(&classes);
    imp_buf_free(&plain);
    return rc;
}

/* A node with a strategy: an agent named 'name'. */
static const char *strategy_node(pctx *x, const cfg_node *n, const char *name, inherit in, unsigned depth)
{
    imp *im = x->im;
    const cfg_node *strategy = cfg_get(n, "strategy"), *targets = cfg_get(n, "targets"), *mode;
    if (!targets)
        return imp_fail(im, n, "a strategy without targets"), NULL;
    if (!imp_is(im, targets, CFG_SEQ) || !imp_is(im, strategy, CFG_MAP))
        return NULL;
    if (!targets->n)
        return imp_fail(im, targets, "no targets"), NULL;
    if (!(mode = cfg_get(strategy, "mode")))
        return imp_fail(im, strategy, "no mode"), NULL;
    const char *m = imp_str(im, mode);
    if (!m)
        return NULL;
    static const char *const sh[] = { "mode", "on_status_codes", "conditions", "default", NULL };
    imp_other_keys(im, strategy, sh, NULL);
    for (const cfg_node *t = targets->first; t; t = t->next)
        if (!imp_is(im, t, CFG_MAP))
            return NULL;
    if (cfg_get(n, "retry"))
        in.retry = cfg_get(n, "retry");
    if (cfg_get(n, "request_timeout"))
        in.timeout = cfg_get(n, "request_timeout");
    imp_buf body = { 0 };
    int r;
    if (!strcmp(m, "fallback"))
        r = fallback(x, &body, strategy, targets, name, in, depth);
    else if (!strcmp(m, "loadbalance"))
        r = loadbalance(x, &body, n, targets, name, in, depth);
    else if (!strcmp(m, "conditional"))
        r = conditional(x, &body, strategy, targets, name, in, depth);
    else if (!strcmp(m, "single")) {
        char s[200];
        snprintf(s, sizeof s, "%s_1", name);
        const char *t = target(x, targets->first, s, in, depth + 1);
        r = t ? 0 : -1;
        if (t)
            imp_putf(&body, "  route -> %s\n", t);
        for (const cfg_node *o = targets->first->next; o; o = o->next)
            imp_note(im, o, "not used in single mode; left out");
    } else
        r = imp_fail(im, mode, "unknown strategy mode '%s' (fallback, loadbalance, conditional, single)", m);
    for (const cfg_node *t = targets->first; strcmp(m, "loadbalance") && t; t = t->next)
        if (cfg_get(t, "weight"))
            imp_note(im, cfg_get(t, "weight"), "used only by the loadbalance mode; left out");
    if (strcmp(m, "fallback") && cfg_get(strategy, "on_status_codes"))
        imp_note(im, cfg_get(strategy, "on_status_codes"), "used only by the fallback mode; left out");
    if (!r)
        r = put_calls(x, &body, in.retry, in.timeout);
    if (r) {
        imp_buf_free(&body);
        return NULL;
    }
    static const char *const nh[] = { "strategy", "targets", "retry", "request_timeout", "override_params",
                                      "name", "weight", NULL };
    imp_other_keys(im, n, nh, leaf_no_equiv);
    imp_add_agent(im, name, n, &body);
    return name;
}

/* A target: a model (a leaf) or an agent (a strategy). */
static const char *target(pctx *x, const cfg_node *n, const char *stem, inherit in, unsigned depth)
{
    imp *im = x->im;
    if (depth > CFG_MAX_DEPTH)
        return imp_fail(im, n, "targets nested too deep"), NULL;
    if (!imp_is(im, n, CFG_MAP))
        return NULL;
    const cfg_node *op = cfg_get(n, "override_params");
    if (op) {
        if (!imp_is(im, op, CFG_MAP))
            return NULL;
        if (in.nparams == sizeof in.params / sizeof *in.params)
            return imp_fail(im, op, "override_params nested too deep"), NULL;
        memmove(in.params + 1, in.params, in.nparams++ * sizeof *in.params);
        in.params[0] = op;
    }
    if (!cfg_get(n, "strategy") && !cfg_get(n, "targets"))
        return leaf(x, n, in);
    const cfg_node *nm = cfg_get(n, "name");
    const char *name = depth == 0 ? x->top : imp_name(im, nm && nm->type == CFG_STR ? nm->str : stem);
    return strategy_node(x, n, name, in, depth);
}

int portkey_import(imp *im, const cfg_node *root, const char *agent)
{
    pctx x = { .im = im };
    if (!imp_is(im, root, CFG_MAP))
        return -1;
    x.top = imp_name(im, agent);
    if (strcmp(x.top, agent))
        imp_note(im, root, "the agent is named %s ('%s' is not a name of the language)", x.top, agent);
    inherit in = { .nparams = 0 };
    const char *t;
    if (cfg_get(root, "strategy") || cfg_get(root, "targets")) {
        t = target(&x, root, x.top, in, 0);
    } else {   /* a single provider: a model, and an agent that routes to it */
        if (!(t = target(&x, root, x.top, in, 1)))
            return -1;
        imp_buf body = { 0 };
        imp_putf(&body, "  route -> %s\n", t);
        imp_add_agent(im, x.top, root, &body);
    }
    return t && !imp_failed(im) ? 0 : -1;
}
