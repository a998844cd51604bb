/* The chat path's metric series; see series.h.

   The cache maps a 64-bit key -- the series' kind and its integers
   packed into fixed fields -- to the counter (or histogram slot), in an
   open-addressing table.  An index too large for its field is not
   cached: that series is built on every use, which is slower and as
   correct. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mem.h"
#include "series.h"

const char *const se_outcome_names[SE__OUTCOMES] = { "answered", "denied", "failed", "disconnected" };
static const char *const class_names[SE__CLASSES] = { "input", "output", "cache_read", "cache_write", "reasoning" };

enum { K_STATUS = 1, K_CHAT, K_TOKENS, K_COST, K_CALLS, K_UPERR, K_CIRCUIT, K_HIST };

/* key layout: kind 4 bits | sub 6 | agent 18 | model 18 | rule 18 */
#define F_SUB 6
#define F_IDX 18
#define IDX_NONE ((1u << F_IDX) - 1)    /* RV_NONE */

typedef struct { uint64_t key; void *v; } entry;

struct se_cache {
    mt_set *met;
    const rv_program *p;
    char worker[12];
    entry *e;
    size_t n, cap;
};

se_cache *se_new(mt_set *met, const rv_program *p, int worker)
{
    se_cache *c = mem_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->met = met;
    c->p = p;
    snprintf(c->worker, sizeof c->worker, "%d", worker);
    return c;
}

void se_free(se_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c);
}

/* ---------------------------------------------------------------- the table */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* One field of the key: 'i' (RV_NONE allowed), or -1 when it does not fit. */
static int64_t field(uint32_t i)
{
    if (i == RV_NONE)
        return IDX_NONE;
    return i < IDX_NONE ? (int64_t)i : -1;
}

/* The key of a series, or 0 when an index does not fit (not cached). */
static uint64_t key_of(int kind, uint32_t sub, uint32_t agent, uint32_t model, uint32_t rule)
{
    int64_t a = field(agent), m = field(model), r = field(rule);
    if (a < 0 || m < 0 || r < 0 || sub >= (1u << F_SUB))
        return 0;
    return (uint64_t)kind << 60 | (uint64_t)sub << 54 | (uint64_t)a << 36 | (uint64_t)m << 18 | (uint64_t)r;
}

static void *lookup(const se_cache *c, uint64_t key)
{
    if (!key || !c->cap)
        return NULL;
    for (size_t j = mix(key) & (c->cap - 1);; j = (j + 1) & (c->cap - 1)) {
        if (c->e[j].key == key)
            return c->e[j].v;
        if (!c->e[j].key)
            return NULL;
    }
}

/* Keep 'v' under 'key'; out of memory, it is simply not kept. */
static void keep(se_cache *c, uint64_t key, void *v)
{
    if (!key || !v)
        return;
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        entry *ne = mem_calloc(cap, sizeof *ne);
        if (!ne)
            return;
        for (size_t i = 0; i < c->cap; i++)
            if (c->e[i].key) {
                size_t j = mix(c->e[i].key) & (cap - 1);
                while (ne[j].key)
                    j = (j + 1) & (cap - 1);
                ne[j] = c->e[i];
            }
        free(c->e);
        c->e = ne;
        c->cap = cap;
    }
    size_t j = mix(key) & (c->cap - 1);
    while (c->e[j].key)
        j = (j + 1) & (c->cap - 1);
    c->e[j] = (entry){ key, v };
    c->n++;
}

/* The counter of the series 'name' with NULL-terminated label pairs,
   cached under 'key'. */
static mt_counter *counter(se_cache *c, uint64_t key, const char *name, ...)
{
    mt_counter *v = lookup(c, key);
    if (v)
        return v;
    char s[400];
    va_list ap;
    va_start(ap, name);
    mt_vseries(s, sizeof s, name, ap);
    va_end(ap);
    v = mt_counter_of(c->met, s);
    keep(c, key, v);
    return v;
}

/* ---------------------------------------------------------------- names */

static const char *agent_name(const se_cache *c, uint32_t a)
{
    return a < c->p->nagent ? rv_str(c->p, c->p->agents[a].name) : "none";
}

static const char *model_name(const se_cache *c, uint32_t m)
{
    return m < c->p->nmodel ? rv_str(c->p, c->p->models[m].name) : "none";
}

/* The rule's number in its agent as text into 'buf', or "none". */
static const char *rule_name(const se_cache *c, uint32_t r, char buf[12])
{
    if (r >= c->p->nrule)
        return "none";
    snprintf(buf, 12, "%u", c->p->rules[r].number);
    return buf;
}

/* ---------------------------------------------------------------- the series */

mt_counter *se_status(se_cache *c, int status)
{
    uint32_t st = status >= 100 && status <= 999 ? (uint32_t)status : 0;
    uint64_t key = st ? key_of(K_STATUS, 0, st, 0, 0) : 0;
    mt_counter *v = lookup(c, key);
    if (v)
        return v;
    char code[12];
    snprintf(code, sizeof code, "%d", status);
    return counter(c, key, "routevm_requests_total", "endpoint", "chat", "code", code, NULL);
}

mt_counter *se_chat(se_cache *c, uint32_t agent, uint32_t model, uint32_t rule, se_outcome o)
{
    uint64_t key = key_of(K_CHAT, (uint32_t)o, agent, model, rule);
    mt_counter *v = lookup(c, key);
    if (v)
        return v;
    char rb[12];
    return counter(c, key, "routevm_chat_requests_total", "agent", agent_name(c, agent), "model",
                   model_name(c, model), "rule", rule_name(c, rule, rb), "outcome", se_outcome_names[o], NULL);
}

mt_counter *se_tokens(se_cache *c, uint32_t agent, uint32_t model, se_class k)
{
    uint64_t key = key_of(K_TOKENS, (uint32_t)k, agent, model, 0);
    mt_counter *v = lookup(c, key);
    return v ? v : counter(c, key, "routevm_tokens_total", "agent", agent_name(c, agent), "model",
                           model_name(c, model), "class", class_names[k], NULL);
}

mt_counter *se_cost(se_cache *c, uint32_t agent, uint32_t model, uint32_t rule)
{
    uint64_t key = key_of(K_COST, 0, agent, model, rule);
    mt_counter *v = lookup(c, key);
    if (v)
        return v;
    char rb[12];
    return counter(c, key, "routevm_cost_picodollars_total", "agent", agent_name(c, agent), "model",
                   model_name(c, model), "rule", rule_name(c, rule, rb), NULL);
}

mt_counter *se_calls(se_cache *c, uint32_t model)
{
    uint64_t key = key_of(K_CALLS, 0, 0, model, 0);
    mt_counter *v = lookup(c, key);
    return v ? v : counter(c, key, "routevm_upstream_calls_total", "model", model_name(c, model), NULL);
}

mt_counter *se_upstream_error(se_cache *c, uint32_t model, rv_failure f)
{
    uint64_t key = key_of(K_UPERR, (uint32_t)f, 0, model, 0);
    mt_counter *v = lookup(c, key);
    return v ? v : counter(c, key, "routevm_upstream_errors_total", "model", model_name(c, model), "class",
                           rv_failure_names[f], NULL);
}

mt_counter *se_circuit(se_cache *c, uint32_t model)
{
    uint64_t key = key_of(K_CIRCUIT, 0, 0, model, 0);
    mt_counter *v = lookup(c, key);
    return v ? v : counter(c, key, "routevm_circuit_state", "model", model_name(c, model), "worker", c->worker,
                           NULL);
}

mt_hslot *se_hist(se_cache *c, mt_histid h, uint32_t agent)
{
    uint64_t key = key_of(K_HIST, (uint32_t)h, agent, 0, 0);
    mt_hslot *v = lookup(c, key);
    if (v)
        return v;
    v = agent == RV_NONE ? mt_hist_slot(c->met, h, NULL, NULL)
                         : mt_hist_slot(c->met, h, "agent", agent_name(c, agent));
    keep(c, key, v);
    return v;
}
