/* importer: the state of one `routec import`, the notes and errors it
   reports, typed reads of the configuration tree, names, literal keys,
   and the model and provider tables (see importer.h).  The text writers
   (imp_put_*) are in imp_text.c, the layout of the policy and its check
   in imp_write.c, the standard catalogue in imp_catalog.c. */
#include <stdlib.h>
#include <string.h>

#include "importer.h"
#include "imp_internal.h"
#include "mem.h"

imp *imp_new(const char *label, const char *format)
{
    imp *im = mem_calloc(1, sizeof *im);
    if (!im)
        return NULL;
    im->label = label;
    im->format = format;
    if (impc_load(im)) {
        imp_free(im);
        return NULL;
    }
    return im;
}

void imp_free(imp *im)
{
    if (!im)
        return;
    for (uint32_t i = 0; i < im->nmodel; i++)
        imp_buf_free(&im->models[i].items);
    for (uint32_t i = 0; i < im->nagent; i++)
        imp_buf_free(&im->agents[i].body);
    free(im->notes);
    free(im->names);
    free(im->keys);
    free(im->providers);
    free(im->models);
    free(im->agents);
    free(im->imports);
    impc_free(im);
    arena_free(&im->arena);
    free(im);
}

arena *imp_arena(imp *im) { return &im->arena; }
int imp_failed(const imp *im) { return im->failed; }

static void vrecord(imp *im, imp_msg *m, const cfg_node *at, const char *fmt, va_list ap)
{
    char path[1024], text[1024];
    cfg_path(at, path, sizeof path);
    vsnprintf(text, sizeof text, fmt, ap);
    m->line = at ? at->line : 0;
    m->col = at ? at->col : 0;
    m->text = arena_printf(&im->arena, "%s: %s", path, text);
    if (!m->text)
        im->failed = 1;
}

static void vnote(imp *im, int warning, const cfg_node *at, const char *fmt, va_list ap)
{
    if (MEM_GROW(im->notes, im->nnote, im->cap_note)) {
        im->failed = 1;
        return;
    }
    imp_msg *m = &im->notes[im->nnote];
    vrecord(im, m, at, fmt, ap);
    m->warning = warning;
    for (size_t i = 0; m->text && i < im->nnote; i++)
        if (!strcmp(im->notes[i].text, m->text))   /* said once (settings inherited by several agents) */
            return;
    if (m->text)
        im->nnote++;
}

void imp_note(imp *im, const cfg_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(im, 0, at, fmt, ap);
    va_end(ap);
}

void imp_warn(imp *im, const cfg_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(im, 1, at, fmt, ap);
    va_end(ap);
}

int imp_fail(imp *im, const cfg_node *at, const char *fmt, ...)
{
    if (im->failed)
        return -1;
    im->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vrecord(im, &im->error, at, fmt, ap);
    va_end(ap);
    return -1;
}

void imp_fail_read(imp *im, const cfg_err *e)
{
    if (im->failed)
        return;
    im->failed = 1;
    im->error.line = e->line;
    im->error.col = e->col;
    im->error.text = arena_printf(&im->arena, "%s", e->msg);
}

/* ---------------------------------------------------------------- reads */

int imp_is(imp *im, const cfg_node *n, cfg_type t)
{
    if (n && n->type == t)
        return 1;
    if (n)
        imp_fail(im, n, "expected %s, got %s", cfg_type_name(t), cfg_type_name(n->type));
    return 0;
}

const char *imp_str(imp *im, const cfg_node *n)
{
    return imp_is(im, n, CFG_STR) ? n->str : NULL;
}

int imp_number(imp *im, const cfg_node *n, double *out)
{
    if (n && (n->type == CFG_INT || n->type == CFG_REAL)) {
        *out = n->r;
        return 0;
    }
    if (n && n->type == CFG_STR) {   /* "0.5" in a YAML config is a string LiteLLM would accept */
        char *end;
        double r = strtod(n->str, &end);
        if (*n->str && !*end && r == r && r - r == 0) {
            *out = r;
            return 0;
        }
    }
    if (n)
        imp_fail(im, n, "expected a number, got %s", cfg_type_name(n->type));
    return -1;
}

int imp_int(imp *im, const cfg_node *n, int64_t lo, int64_t hi, int64_t *out)
{
    double r;
    if (imp_number(im, n, &r))
        return -1;
    /* the range first: converting a double past int64's range is undefined */
    if (!(r >= (double)lo && r <= (double)hi && r < 9.2e18) || r != (double)(int64_t)r)
        return imp_fail(im, n, "expected a whole number from %lld to %lld", (long long)lo, (long long)hi);
    *out = (int64_t)r;
    return 0;
}

int imp_seconds(imp *im, const cfg_node *n, double scale_to_us, int64_t *us)
{
    double r;
    if (imp_number(im, n, &r))
        return -1;
    double v = r * scale_to_us;
    if (!(v >= 1) || v > 3600e6)
        return imp_fail(im, n, "expected a duration from 1 microsecond to 1 hour");
    *us = (int64_t)(v + 0.5);
    return 0;
}

static int in_list(const char *s, const char *const *list, int stride)
{
    for (; list && *list; list += stride)
        if (!strcmp(*list, s))
            return 1;
    return 0;
}

void imp_other_keys(imp *im, const cfg_node *map, const char *const *handled, const char *const *table)
{
    if (!map || map->type != CFG_MAP)
        return;
    for (cfg_node *c = map->first; c; c = c->next) {
        if (in_list(c->key, handled, 1))
            continue;
        const char *why = NULL;
        for (const char *const *t = table; t && *t; t += 2)
            if (!strcmp(*t, c->key))
                why = t[1];
        if (why)
            imp_note(im, c, "no equivalent (%s)", why);
        else
            imp_note(im, c, "not recognised; left out");
    }
}

/* ---------------------------------------------------------------- names */

/* Words a name of the output may not be: the language's keywords (hard
   and soft, grammar/lexer.l), and words that already mean something
   where names stand (request fields, capabilities, failure classes,
   provider kinds). */
static const char *const reserved[] = {
    "import", "const", "provider", "model", "from", "guardrail", "agent", "test", "route", "when",
    "otherwise", "cheapest", "fastest", "cascade", "split", "hook", "until", "by", "where", "default",
    "and", "or", "not", "in", "matches", "true", "false", "price", "deny", "redact", "limit", "with",
    "budget", "per", "expect", "given", "answers", "fails", "on", "input", "output", "request",
    "confidence", "timeout", "logprobs", "judge", "check", "env", "meta", "response", "user", "system",
    "messages", "tools", "images", "turns", "stream", "max_tokens", "capabilities", "tags", "context",
    "tier", "latency", "price_in", "price_out", "max_output", "text", "vision", "json", "streaming",
    "audio", "reasoning", "reset", "refused", "overloaded", "malformed", "rate_limited", "server_error",
    "client_error", "auth", "context_length", "content_filter", "error", "unavailable", "deadline",
    "none", "std", "fallback", "retry", "retry_on", "backoff", "guard",
    "kind", "endpoint", "key", "region", "id", NULL
};

int impi_taken(const imp *im, const char *s)
{
    for (uint32_t i = 0; i < im->nname; i++)
        if (!strcmp(im->names[i], s))
            return 1;
    return in_list(s, reserved, 1);
}

int impi_reserve(imp *im, const char *name)
{
    if (MEM_GROW(im->names, im->nname, im->cap_name) || !(im->names[im->nname] = arena_strndup(&im->arena, name, strlen(name)))) {
        im->failed = 1;
        return -1;
    }
    im->nname++;
    return 0;
}

const char *imp_name(imp *im, const char *stem)
{
    char base[72];
    size_t n = 0;
    if (*stem >= '0' && *stem <= '9')
        base[n++] = 'm', base[n++] = '_';
    for (const char *p = stem; *p && n < 56; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (ok)
            base[n++] = *p;
        else if (n && base[n - 1] != '_')
            base[n++] = '_';
    }
    while (n && base[n - 1] == '_')
        n--;
    if (!n)
        base[n++] = 'x';
    base[n] = 0;
    char cand[96];
    snprintf(cand, sizeof cand, "%s", base);
    for (unsigned k = 2; impi_taken(im, cand); k++)
        snprintf(cand, sizeof cand, "%s_%u", base, k);
    if (impi_reserve(im, cand))
        return "x";
    return im->names[im->nname - 1];
}

/* ---------------------------------------------------------------- keys */

const char *imp_key_env(imp *im, const cfg_node *at, const char *literal, const char *base)
{
    for (uint32_t i = 0; i < im->nkey; i++)
        if (!strcmp(im->keys[i].literal, literal))
            return im->keys[i].env;
    char env[128];
    snprintf(env, sizeof env, "%s", base);
    for (unsigned k = 2;; k++) {
        int used = 0;
        for (uint32_t i = 0; i < im->nkey; i++)
            used |= !strcmp(im->keys[i].env, env);
        if (!used)
            break;
        snprintf(env, sizeof env, "%s_%u", base, k);
    }
    if (MEM_GROW(im->keys, im->nkey, im->cap_key)) {
        im->failed = 1;
        return base;
    }
    imp_key *k = &im->keys[im->nkey];
    k->literal = arena_strndup(&im->arena, literal, strlen(literal));
    k->env = arena_strndup(&im->arena, env, strlen(env));
    if (!k->literal || !k->env) {
        im->failed = 1;
        return base;
    }
    im->nkey++;
    imp_warn(im, at, "a literal API key is not copied into the policy: the provider reads it from the "
                     "environment variable %s (set it there)", k->env);
    return k->env;
}

/* ---------------------------------------------------------------- tables */

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

const char *imp_provider_for(imp *im, rv_provkind kind, const char *endpoint, const char *region,
                             const char *key_env, const char *stem)
{
    for (uint32_t i = 0; i < im->nprov; i++) {
        imp_provider *p = &im->providers[i];
        if (p->kind == kind && same(p->endpoint, endpoint) && same(p->region, region) && same(p->key_env, key_env))
            return p->name;
    }
    imp_provider np = { .kind = kind };
    const char *std = impc_std_provider(im, kind, endpoint, region, key_env, &np.module);
    if (MEM_GROW(im->providers, im->nprov, im->cap_prov)) {
        im->failed = 1;
        return "x";
    }
    arena *a = &im->arena;
    np.name = std ? std : imp_name(im, stem);
    np.endpoint = endpoint ? arena_strndup(a, endpoint, strlen(endpoint)) : NULL;
    np.region = region ? arena_strndup(a, region, strlen(region)) : NULL;
    np.key_env = key_env ? arena_strndup(a, key_env, strlen(key_env)) : NULL;
    im->providers[im->nprov++] = np;
    return np.name;
}

const char *imp_add_model(imp *im, imp_model *m)
{
    if (MEM_GROW(im->models, im->nmodel, im->cap_model)) {
        im->failed = 1;
        imp_buf_free(&m->items);
        return "x";
    }
    impc_price(im, m);
    if (m->price_in < 0 || m->price_out < 0) {
        imp_note(im, m->at, "no price for model '%s' and none in std/models: set to $0 (edit the model's 'price')",
                 m->id);
        m->price_in = m->price_out = 0;
    }
    if (!m->context) {
        imp_note(im, m->at, "no context window for model '%s' and none in std/models: set to 8k tokens "
                            "(edit the model's 'context')", m->id);
        m->context = 8000;
    }
    if (m->output > m->context)
        m->output = m->context;
    im->models[im->nmodel++] = *m;
    memset(&m->items, 0, sizeof m->items);
    return m->name;
}

void imp_add_agent(imp *im, const char *name, const cfg_node *at, imp_buf *body)
{
    if (MEM_GROW(im->agents, im->nagent, im->cap_agent)) {
        im->failed = 1;
        imp_buf_free(body);
        return;
    }
    im->agents[im->nagent++] = (imp_agent){ .name = name, .at = at, .body = *body };
    memset(body, 0, sizeof *body);
}
