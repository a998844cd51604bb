/* Worst-case cost of one request, computed statically from prices and
   token bounds (money in picodollars, exact).

   A call to model m costs in*IN + out*OUT, where
     in  = the agent's tightest 'limit input' guardrail plus the tokens of
           m's 'system' template as sent ({agent} and {model} filled in),
           which is billed on every call; else m.context (never more than
           m.context)
     out = the agent's tightest 'limit output', else m.output, else
           m.context (never more than either, nor than m.max_tokens)
     IN  = the dearest of m's input, cached and cache_write prices (any
           input token may turn out to be a cache write)
     OUT = the dearer of m's output and reasoning prices
   and a target costs
     model            one call;              agent   that agent's route
     route / split    the dearest choice;    cheapest/fastest  the dearest candidate
     cascade          every step (each may be called), plus for 'by judge'
                      a judge call after every step but the last (the
                      last step's answer is accepted as it is); a judge
                      reads the question and the step's answer plus the
                      grading instructions (RV_JUDGE_OVERHEAD tokens) and
                      answers at most RV_JUDGE_OUTPUT tokens (vm/vm.h)
     hook             the dearest model of the policy (a hook may answer any)
   and an agent costs max(route, each fallback, each 'fallback on'
   target): a failed call is assumed unbilled, so retries, fallbacks and
   a model's stand-ins ('fallback on' in a model) are alternatives, not
   sums.  The result is an upper bound; -1 (RV_COST_UNBOUNDED) means it
   exceeds what money can hold (about $9.2M). */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "compiler.h"
#include "mem.h"
#include "vm.h"

#define UNBOUNDED RV_COST_UNBOUNDED

typedef struct {
    rv_compiler *c;
    const sym *agent;       /* whose route is costed: {agent} in templates */
    int64_t in_limit, out_limit;
    const char *why;        /* the most expensive model on the worst path */
} coster;

static int64_t add(int64_t a, int64_t b)
{
    if (a == UNBOUNDED || b == UNBOUNDED || a > INT64_MAX - b)
        return UNBOUNDED;
    return a + b;
}

/* The most output a call to 'm' can bill: its context, capped by its
   output size, its max_tokens and 'out_limit' (0: none). */
static int64_t out_bound(const model_info *m, int64_t out_limit)
{
    int64_t out = m->context;
    if (m->max_output && m->max_output < out)
        out = m->max_output;
    if (m->max_tokens && m->max_tokens < out)
        out = m->max_tokens;
    if (out_limit && out_limit < out)
        out = out_limit;
    return out;
}

/* A call to 'm' with at most 'in' input tokens (0: no bound but the
   context) and 'out' output tokens. */
static int64_t call_cost(const model_info *m, int64_t in, int64_t out)
{
    if (!in || in > m->context)
        in = m->context;
    int64_t pin = m->price_in, pout = m->price_out;
    if (m->price_cached > pin) pin = m->price_cached;
    if (m->price_cache_write > pin) pin = m->price_cache_write;
    if (m->price_reasoning > pout) pout = m->price_reasoning;
    __int128 v = (__int128)in * pin + (__int128)out * pout;
    return v > INT64_MAX ? UNBOUNDED : (int64_t)v;
}

/* Tokens of model 's''s system template as the VM sends it for the
   costed agent ({agent} and {model} replaced by their names), by the
   VM's own estimate (bi_tokens); 0 without a template. */
static int64_t system_tokens(coster *k, const sym *s)
{
    const char *t = s->u.model.system;
    if (!t)
        return 0;
    const char *names[2] = { k->agent ? k->agent->name : "", s->name };
    size_t tl = strlen(t), n = 0;
    for (size_t i = 0; i < tl;) {     /* measure, then write */
        int w = !strncmp(t + i, "{agent}", 7) ? 0 : !strncmp(t + i, "{model}", 7) ? 1 : -1;
        n += w < 0 ? 1 : strlen(names[w]);
        i += w < 0 ? 1 : 7;
    }
    char *d = mem_malloc(n + 1), *q = d;
    if (!d) {
        k->c->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < tl;) {
        int w = !strncmp(t + i, "{agent}", 7) ? 0 : !strncmp(t + i, "{model}", 7) ? 1 : -1;
        if (w < 0) {
            *q++ = t[i++];
        } else {
            memcpy(q, names[w], strlen(names[w]));
            q += strlen(names[w]);
            i += 7;
        }
    }
    int64_t tok = bi_tokens(d, n);
    free(d);
    return tok;
}

/* One call to 's' itself: an answer (judged < 0), or a judge's rating of
   an answer of at most 'judged' tokens. */
static int64_t own_call(coster *k, const sym *s, int64_t judged)
{
    const model_info *m = &s->u.model;
    if (judged >= 0) {
        int64_t in = k->in_limit ? k->in_limit + judged + RV_JUDGE_OVERHEAD : 0;
        return call_cost(m, in, out_bound(m, RV_JUDGE_OUTPUT));
    }
    int64_t in = k->in_limit ? k->in_limit + system_tokens(k, s) : 0;
    return call_cost(m, in, out_bound(m, k->out_limit));
}

static int64_t target_cost(coster *k, const ast *t);

/* A call to 's', or to one of its stand-ins ('fallback on' entries,
   acyclic: lint.c reports a cycle as fallback-cycle, and 'visiting'
   stops the walk on one), whichever is dearer.  'judged' as own_call(). */
static int64_t one_call(coster *k, sym *s, int64_t judged)
{
    model_info *m = &s->u.model;
    if (m->onfail && m->memo_ok && m->memo_in == k->in_limit && m->memo_out == k->out_limit &&
        m->memo_extra == judged && m->memo_agent == k->agent) {
        k->why = m->memo_why;       /* (shared stand-ins are costed once, not once per path) */
        return m->memo_val;
    }
    int64_t best = own_call(k, s, judged);
    const char *why = s->name;
    if (!m->onfail || m->visiting) {
        k->why = why;
        return best;
    }
    m->visiting = 1;
    for (const ast *it = m->onfail; it && best != UNBOUNDED; it = it->next) {
        sym *to = it->u.item->value2->sym;
        if (!to)
            continue;
        int64_t v = one_call(k, to, judged);
        if (v == UNBOUNDED || v > best)
            best = v, why = k->why;
    }
    m->visiting = 0;
    m->memo_ok = 1;
    m->memo_in = k->in_limit;
    m->memo_out = k->out_limit;
    m->memo_extra = judged;
    m->memo_agent = k->agent;
    m->memo_val = best;
    m->memo_why = why;
    k->why = why;
    return best;
}

static int64_t ref_cost(coster *k, sym *s)
{
    if (s->kind == SYM_AGENT) {
        const char *why = NULL;
        int64_t v = cost_agent(k->c, s, &why);
        k->why = why;
        return v;
    }
    return one_call(k, s, -1);
}

static int64_t cands_max(coster *k, const ast *cands)
{
    int64_t best = 0;
    const char *why = NULL;
    for (const ast *n = cands; n; n = n->next) {
        int64_t v = ref_cost(k, n->sym);
        if (v == UNBOUNDED || v > best) {
            best = v;
            why = k->why;
            if (v == UNBOUNDED)
                break;
        }
    }
    k->why = why;
    return best;
}

static const ast *rule_target(const ast *r) { return r->u.rule->target; }
static const ast *arm_target(const ast *a) { return a->u.arm.target; }

/* The dearest of the targets of a list of rules or arms. */
static int64_t dearest(coster *k, const ast *list, const ast *(*target)(const ast *))
{
    int64_t best = 0;
    const char *why = NULL;
    for (; list; list = list->next) {
        int64_t v = target_cost(k, target(list));
        if (v == UNBOUNDED || v > best)
            best = v, why = k->why;
        if (v == UNBOUNDED)
            break;
    }
    k->why = why;
    return best;
}

static int64_t target_cost(coster *k, const ast *t)
{
    int64_t best = 0, v;
    const char *why = NULL;
    switch (t->kind) {
    case T_REF:
        return ref_cost(k, t->sym);
    case T_CHEAPEST:
    case T_FASTEST:
        return cands_max(k, t->u.t->cands);
    case T_CASCADE: {
        int64_t sum = 0;
        for (const ast *n = t->u.t->cands; n; n = n->next) {
            v = one_call(k, n->sym, -1);
            if (v == UNBOUNDED || v > best)
                best = v, why = n->sym->name;
            sum = add(sum, v);
            /* the judge rates every step's answer but the last */
            if (t->u.t->by == RV_BY_JUDGE && n->next)
                sum = add(sum, one_call(k, t->u.t->judge->sym, out_bound(&n->sym->u.model, k->out_limit)));
        }
        k->why = why;
        return sum;
    }
    case T_SPLIT:
        return dearest(k, t->u.t->arms, arm_target);
    case T_HOOK:
        for (uint32_t i = 0; i < k->c->norder; i++) {
            sym *s = k->c->order[i];
            if (s->kind != SYM_MODEL)
                continue;
            v = one_call(k, s, -1);
            if (v == UNBOUNDED || v > best)
                best = v, why = s->name;
        }
        v = target_cost(k, t->u.t->dflt);
        if (v == UNBOUNDED || v > best)
            best = v, why = k->why;
        k->why = why;
        return best;
    case T_ROUTE:
        return dearest(k, t->u.t->rules, rule_target);
    default:
        return 0;
    }
}

int64_t cost_agent(rv_compiler *c, sym *agent, const char **why)
{
    agent_info *a = &agent->u.agent;
    if (a->done) {
        *why = a->worst_why;
        return a->worst;
    }
    if (a->visiting || !a->route) {   /* a cycle is reported by the linter */
        *why = NULL;
        return 0;
    }
    a->visiting = 1;
    coster k = { .c = c, .agent = agent, .in_limit = a->in_limit, .out_limit = a->out_limit };
    int64_t best = target_cost(&k, a->route);
    const char *w = k.why;
    for (const ast *n = a->fallback; n; n = n->next)
        for (const ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL) {
            if (!m->sym)
                continue;
            int64_t v = ref_cost(&k, m->sym);
            if (v == UNBOUNDED || v > best)
                best = v, w = k.why;
        }
    for (const ast *it = a->onfail; it; it = it->next) {
        if (!it->u.item->value2->sym)
            continue;
        int64_t v = ref_cost(&k, it->u.item->value2->sym);
        if (v == UNBOUNDED || v > best)
            best = v, w = k.why;
    }
    a->visiting = 0;
    a->done = 1;
    a->worst = best;
    a->worst_why = w;
    *why = w;
    return best;
}
