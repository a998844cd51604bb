/* The checker: declarations' items -- providers, models, guardrails,
   agents and their routes, tests -- and the names they refer to.  It
   fills the symbols' info (model prices, agent budgets...) for the
   linter (lint.c, cost.c) and the code generator, types every
   expression a declaration holds (typing.c) and folds what must be known
   at compile time (fold.c).  Tests' requests are built by testreq.c. */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "fold.h"
#include "testreq.h"
#include "typing.h"

typedef struct {
    rv_compiler *c;
    sym *agent;           /* agent being checked, or NULL */
    uint32_t rule_no;     /* rules numbered in source order per agent */
} checker;

#define D (&k->c->diag)

static void chk_target(checker *k, ast *t);

/* ---------------------------------------------------------------- names */


/* Mark 's' used and report a wrong kind.  'mask' has bit k for each
   acceptable sym_kind. */
static sym *resolve_name(checker *k, const char *name, src_span at, unsigned mask, const char *what)
{
    sym *s = res_lookup(k->c, name);
    if (!s) {
        diag_report(D, DG_UNDECLARED, at, "%s '%s' is not declared", what, name);
        const char *sug = res_suggest(k->c, name, mask);
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        return NULL;
    }
    if (!(mask & (1u << s->kind))) {
        diag_report(D, DG_WRONG_KIND, at, "'%s' is a %s, but a %s is expected here", name,
                    sym_kind_names[s->kind], what);
        diag_note(D, s->decl->u.decl->name_at, "'%s' is declared here", name);
        return NULL;
    }
    s->used = 1;
    return s;
}

/* A constant of type 'want'; returns the literal or NULL. */
static ast *const_of(checker *k, ast *e, rv_type want, const char *what)
{
    if (typ_expect(k->c, e, TYP_CONST, want, what))
        return NULL;
    return fold_expr(k->c, e, 1);
}

/* ---------------------------------------------------------------- items */

typedef struct { const char *name; int required; } item_spec;

/* Find unknown and duplicate items; fill 'found' (one ast per spec entry). */
static void scan_items(checker *k, ast *items, const item_spec *spec, size_t n, ast **found, const char *block)
{
    const char *names[16];
    for (size_t i = 0; i < n; i++)
        names[i] = spec[i].name;
    for (ast *it = items; it; it = it->next) {
        size_t i = 0;
        while (i < n && strcmp(spec[i].name, it->u.item->name))
            i++;
        if (i == n) {
            diag_report(D, DG_UNKNOWN_PROPERTY, it->u.item->name_at, "%s blocks have no '%s'", block, it->u.item->name);
            const char *sug = diag_suggest(it->u.item->name, names, n);
            if (sug)
                diag_hint(D, "did you mean '%s'?", sug);
            else {
                char list[256];
                size_t o = 0;
                for (size_t j = 0; j < n && o < sizeof list - 32; j++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
                diag_hint(D, "a %s block has: %s", block, list);
            }
            continue;
        }
        if (found[i]) {
            diag_report(D, DG_DUPLICATE_PROPERTY, it->u.item->name_at, "'%s' is given twice", it->u.item->name);
            diag_note(D, found[i]->u.item->name_at, "first given here");
            continue;
        }
        found[i] = it;
    }
}

static ast *single(checker *k, ast *item)
{
    ast *v = item->u.item->value;
    if (v && v->next) {
        diag_report(D, DG_SYNTAX, v->next->at, "'%s' takes one value", item->u.item->name);
        return NULL;
    }
    return v;
}

static void missing(checker *k, ast *decl, const char *what, const char *example)
{
    diag_report(D, DG_MISSING_PROPERTY, decl->u.decl->name_at, "%s '%s' has no '%s'",
                sym_kind_names[decl->kind == D_PROVIDER ? SYM_PROVIDER : decl->kind == D_MODEL ? SYM_MODEL : SYM_AGENT],
                decl->u.decl->name, what);
    if (example)
        diag_hint(D, "add: %s", example);
}

static int check_url(checker *k, ast *v, const char **out)
{
    ast *s = const_of(k, v, RV_T_STR, "a URL");
    if (!s)
        return -1;
    if (strncmp(s->u.str.s, "http://", 7) && strncmp(s->u.str.s, "https://", 8)) {
        diag_report(D, DG_BAD_VALUE, v->at, "'%s' is not an http:// or https:// URL", s->u.str.s);
        return -1;
    }
    *out = s->u.str.s;
    return 0;
}

static void chk_provider(checker *k, sym *s)
{
    static const item_spec spec[] = { { "kind", 1 }, { "endpoint", 0 }, { "key", 0 }, { "region", 0 } };
    ast *f[4] = { 0 }, *d = s->decl, *v;
    provider_info *p = &s->u.provider;
    scan_items(k, d->u.decl->items, spec, 4, f, "provider");
    p->kind = RV_PROV_OPENAI;
    if (!f[0])
        missing(k, d, "kind", "kind openai   (or anthropic, bedrock)");
    else if ((v = single(k, f[0]))) {
        int kind = -1;
        if (v->kind == E_NAME)
            for (int i = 0; i < RV_PROV__COUNT; i++)
                if (!strcmp(rv_provkind_names[i], v->u.name))
                    kind = i;
        if (kind < 0) {
            diag_report(D, DG_BAD_VALUE, v->at, "unknown provider kind");
            const char *sug = v->kind == E_NAME ? diag_suggest(v->u.name, rv_provkind_names, RV_PROV__COUNT) : NULL;
            diag_hint(D, sug ? "did you mean '%s'?" : "%s", sug ? sug : "kinds are openai (and compatible servers), anthropic, bedrock");
        } else {
            p->kind = (rv_provkind)kind;
        }
    }
    if (f[1] && (v = single(k, f[1])))
        check_url(k, v, &p->endpoint);
    if (f[2] && (v = single(k, f[2]))) {
        if (v->kind == E_CALL && !strcmp(v->u.call.fn, "env") && ast_count(v->u.call.args) == 1 &&
            v->u.call.args->kind == E_STR && v->u.call.args->u.str.len) {
            p->key_env = v->u.call.args->u.str.s;
        } else {
            diag_report(D, DG_BAD_VALUE, v->at, "a key must name an environment variable");
            diag_hint(D, "write key env(\"OPENAI_API_KEY\"); secrets never belong in a policy file");
        }
    }
    if (f[3] && (v = single(k, f[3]))) {
        ast *r = const_of(k, v, RV_T_STR, "a region");
        if (r)
            p->region = r->u.str.s;
    }
    if (f[0] && p->kind != RV_PROV_BEDROCK && !f[1])
        missing(k, d, "endpoint", "endpoint \"https://api.openai.com/v1\"");
    if (f[0] && p->kind == RV_PROV_BEDROCK && !f[3])
        missing(k, d, "region", "region \"us-east-1\"");
}

static int positive(checker *k, ast *lit_, ast *at, const char *what, int allow_zero)
{
    if (lit_->u.i < 0 || (!allow_zero && lit_->u.i == 0)) {
        diag_report(D, DG_BAD_VALUE, at->at, "%s must be %s", what, allow_zero ? "zero or more" : "greater than zero");
        return -1;
    }
    return 0;
}

static void chk_model(checker *k, sym *s)
{
    static const item_spec spec[] = {
        { "id", 1 }, { "price", 1 }, { "context", 1 }, { "output", 0 }, { "tier", 0 },
        { "capabilities", 0 }, { "latency", 0 }, { "system", 0 },
    };
    ast *f[8] = { 0 }, *d = s->decl, *v, *l;
    model_info *m = &s->u.model;
    scan_items(k, d->u.decl->items, spec, 8, f, "model");
    ast *from = d->u.decl->from;
    from->sym = resolve_name(k, from->u.name, from->at, 1u << SYM_PROVIDER, "provider");
    if (!f[0])
        missing(k, d, "id", "id \"provider-model-id\"");
    else if ((v = single(k, f[0])) && (l = const_of(k, v, RV_T_STR, "a model id"))) {
        if (!l->u.str.len)
            diag_report(D, DG_BAD_VALUE, v->at, "a model id cannot be empty");
        m->id = l->u.str.s;
    }
    if (!f[1]) {
        diag_report(D, DG_MISSING_PRICE, d->u.decl->name_at, "model '%s' has no price", d->u.decl->name);
        diag_hint(D, "a missing price would make every cost and budget wrong; add: price in $0.15/Mtok, out $0.60/Mtok");
    } else {
        ast *it = f[1];
        if (strcmp(it->u.item->path, "out")) {
            diag_report(D, DG_SYNTAX, it->at, "a price reads: price in $X/Mtok, out $Y/Mtok");
        } else {
            ast *pi = const_of(k, it->u.item->value, RV_T_RATE, "the input price");
            ast *po = const_of(k, it->u.item->value2, RV_T_RATE, "the output price");
            if (pi && po && !positive(k, pi, it->u.item->value, "a price", 1) &&
                !positive(k, po, it->u.item->value2, "a price", 1)) {
                m->price_in = pi->u.i;
                m->price_out = po->u.i;
                m->priced = 1;
            }
        }
    }
    if (!f[2])
        missing(k, d, "context", "context 128k tokens");
    else if ((v = single(k, f[2])) && (l = const_of(k, v, RV_T_TOKENS, "a context size")) &&
             !positive(k, l, v, "a context size", 0))
        m->context = l->u.i;
    if (f[3] && (v = single(k, f[3])) && (l = const_of(k, v, RV_T_TOKENS, "the output limit")) &&
        !positive(k, l, v, "the output limit", 0)) {
        m->max_output = l->u.i;
        if (m->context && l->u.i > m->context)
            diag_report(D, DG_BAD_VALUE, v->at, "the output limit is larger than the context");
    }
    if (f[4] && (v = single(k, f[4])) && (l = const_of(k, v, RV_T_INT, "a tier"))) {
        if (l->u.i < 0 || l->u.i > 100)
            diag_report(D, DG_BAD_VALUE, v->at, "a tier is between 0 and 100");
        else
            m->tier = (uint32_t)l->u.i;
    }
    if (f[5]) {
        for (ast *c0 = f[5]->u.item->value; c0; c0 = c0->next) {
            ast *items = c0->kind == E_LIST ? c0->u.items : c0;
            for (ast *c1 = items; c1; c1 = c0->kind == E_LIST ? c1->next : NULL) {
                const char *nm = c1->kind == E_NAME ? c1->u.name : c1->kind == E_STR ? c1->u.str.s : NULL;
                int cap = -1;
                for (int i = 0; nm && i < RV_CAP__COUNT; i++)
                    if (!strcmp(rv_cap_names[i], nm))
                        cap = i;
                if (cap < 0) {
                    diag_report(D, DG_BAD_VALUE, c1->at, "unknown capability");
                    const char *sug = nm ? diag_suggest(nm, rv_cap_names, RV_CAP__COUNT) : NULL;
                    if (sug)
                        diag_hint(D, "did you mean '%s'?", sug);
                    else
                        diag_hint(D, "capabilities are text, vision, tools, json, streaming, logprobs, audio, reasoning");
                } else {
                    m->caps |= 1u << cap;
                }
            }
        }
    }
    if (f[6] && (v = single(k, f[6])) && (l = const_of(k, v, RV_T_DURATION, "a latency")) &&
        !positive(k, l, v, "a latency", 0))
        m->latency = l->u.i;
    if (f[7] && (v = single(k, f[7])) && (l = const_of(k, v, RV_T_STR, "a system prompt")))
        m->system = l->u.str.s;
}

static void chk_guardrail(checker *k, sym *s)
{
    ast *limits[RV_DIR__COUNT] = { 0 };
    for (ast *a = s->decl->u.decl->items; a; a = a->next) {
        if (a->u.ga.kind == RV_GA_LIMIT) {
            ast *l = const_of(k, a->u.ga.value, RV_T_TOKENS, "a token limit");
            if (limits[a->u.ga.dir]) {
                diag_report(D, DG_DUPLICATE_PROPERTY, a->at, "a second %s limit", a->u.ga.dir == RV_DIR_INPUT ? "input" : "output");
                diag_note(D, limits[a->u.ga.dir]->at, "first limit");
            }
            limits[a->u.ga.dir] = a;
            if (l && !positive(k, l, a->u.ga.value, "a token limit", 0)) {
                if (a->u.ga.dir == RV_DIR_INPUT)
                    s->u.guard.in_limit = l->u.i;
                else
                    s->u.guard.out_limit = l->u.i;
                a->ext = 0;
                a->u.ga.value = l;
            }
            continue;
        }
        ast *re = const_of(k, a->u.ga.value, RV_T_REGEX, "a guardrail pattern");
        if (re)
            a->u.ga.value = re;
    }
}

static void chk_names_into(checker *k, ast *list, unsigned mask, const char *what)
{
    for (ast *n = list; n; n = n->next) {
        if (n->kind == E_LIST) {
            chk_names_into(k, n->u.items, mask, what);
            continue;
        }
        if (n->kind != E_NAME) {
            diag_report(D, DG_TYPE, n->at, "expected the name of a %s", what);
            continue;
        }
        n->sym = resolve_name(k, n->u.name, n->at, mask, what);
    }
}

/* ---------------------------------------------------------------- targets */

static void chk_cands(checker *k, ast *cands, const char *strategy)
{
    for (ast *n = cands; n; n = n->next) {
        n->sym = resolve_name(k, n->u.name, n->at, 1u << SYM_MODEL, "model");
        for (ast *m = cands; m != n; m = m->next)
            if (!strcmp(m->u.name, n->u.name)) {
                diag_report(D, DG_DUPLICATE_CANDIDATE, n->at, "'%s' is listed twice in this %s", n->u.name, strategy);
                break;
            }
    }
}

static void chk_rules(checker *k, ast *rules)
{
    for (ast *r = rules; r; r = r->next) {
        r->ext = ++k->rule_no;
        if (r->u.rule.cond)
            typ_expect(k->c, r->u.rule.cond, TYP_ROUTE, RV_T_BOOL, "a rule's condition");
        chk_target(k, r->u.rule.target);
    }
}

static void chk_target(checker *k, ast *t)
{
    ast *v;
    switch (t->kind) {
    case T_REF:
        t->sym = resolve_name(k, t->u.name, t->at, 1u << SYM_MODEL | 1u << SYM_AGENT, "model");
        break;
    case T_CHEAPEST:
    case T_FASTEST:
        chk_cands(k, t->u.t->cands, t->kind == T_CHEAPEST ? "cheapest" : "fastest");
        if (t->u.t->cond)
            typ_expect(k->c, t->u.t->cond, TYP_WHERE, RV_T_BOOL, "a 'where' condition");
        break;
    case T_CASCADE:
        chk_cands(k, t->u.t->cands, "cascade");
        if ((v = const_of(k, t->u.t->cond, RV_T_NUM, "a confidence threshold"))) {
            int64_t x = v->type == RV_T_INT ? v->u.i * 1000000 : v->u.i;
            if (x < 0 || x > 1000000)
                diag_report(D, DG_BAD_VALUE, t->u.t->cond->at, "a confidence threshold is between 0 and 1");
            t->u.t->cond = fold_lit(k->c, E_NUM, t->u.t->cond->at, x);
        }
        if (t->u.t->by == RV_BY_JUDGE)
            t->u.t->judge->sym = resolve_name(k, t->u.t->judge->u.name, t->u.t->judge->at, 1u << SYM_MODEL, "model");
        if (t->u.t->by == RV_BY_CHECK) {
            rv_type ct = typ_expr(k->c, t->u.t->check, TYP_CHECK);
            if (ct != RV_T__COUNT && ct != RV_T_BOOL && ct != RV_T_NUM)
                diag_report(D, DG_TYPE, t->u.t->check->at, "a check must be a bool or a number from 0 to 1, not %s",
                            typ_phrase(ct));
        }
        break;
    case T_SPLIT: {
        int64_t sum = 0;
        int ok = 1;
        for (ast *a = t->u.t->arms; a; a = a->next) {
            ast *s = const_of(k, a->u.arm.share, RV_T_PERCENT, "a split share");
            if (!s || positive(k, s, a->u.arm.share, "a split share", 0))
                ok = 0;
            else
                sum += s->u.i, a->u.arm.share = s;
            chk_target(k, a->u.arm.target);
        }
        if (ok && sum != 1000000) {
            diag_report(D, DG_SPLIT_SUM, t->at, "split shares add up to %lld.%04lld%%, not 100%%",
                        (long long)(sum / 10000), (long long)(sum % 10000));
        }
        typ_expect(k->c, t->u.t->cond, TYP_ROUTE, RV_T_STR, "a split key");
        break;
    }
    case T_HOOK: {
        const char *url;
        check_url(k, t->u.t->url, &url);
        if ((v = const_of(k, t->u.t->cond, RV_T_DURATION, "a hook timeout"))) {
            if (v->u.i <= 0 || v->u.i > 60000000)
                diag_report(D, DG_BAD_VALUE, t->u.t->cond->at, "a hook timeout is between 1us and 60s");
            t->u.t->cond = v;
        }
        chk_target(k, t->u.t->dflt);
        break;
    }
    case T_ROUTE:
        chk_rules(k, t->u.t->rules);
        break;
    default:
        break;
    }
}

static void chk_agent(checker *k, sym *s)
{
    static const item_spec spec[] = {
        { "guard", 0 }, { "budget", 0 }, { "route", 1 }, { "fallback", 0 },
        { "retry", 0 }, { "backoff", 0 }, { "timeout", 0 },
    };
    ast *f[7] = { 0 }, *d = s->decl, *v, *l;
    agent_info *a = &s->u.agent;
    k->agent = s;
    k->rule_no = 0;
    scan_items(k, d->u.decl->items, spec, 7, f, "agent");
    if (f[0]) {
        a->guards = f[0]->u.item->value;
        chk_names_into(k, a->guards, 1u << SYM_GUARDRAIL, "guardrail");
    }
    if (f[1]) {
        int seen[2] = { 0 };
        for (ast *b = f[1]->u.item->value; b; b = b->next) {
            ast *amt = const_of(k, b->u.budget.amount, RV_T_MONEY, "a budget");
            int per = !strcmp(b->u.budget.per, "request") ? 0 : !strcmp(b->u.budget.per, "day") ? 1 : -1;
            if (per < 0) {
                diag_report(D, DG_BAD_VALUE, b->u.budget.per_at, "budgets are per request or per day");
                continue;
            }
            if (seen[per]++)
                diag_report(D, DG_DUPLICATE_PROPERTY, b->at, "a second budget per %s", b->u.budget.per);
            if (amt && !positive(k, amt, b->u.budget.amount, "a budget", 0))
                *(per ? &a->budget_day : &a->budget_request) = amt->u.i;
        }
    }
    if (!f[2])
        missing(k, d, "route", "route { when ... -> model  otherwise -> model }");
    else {
        a->route = f[2]->u.item->value;
        chk_target(k, a->route);
    }
    if (f[3]) {
        a->fallback = f[3]->u.item->value;
        chk_names_into(k, a->fallback, 1u << SYM_MODEL | 1u << SYM_AGENT, "model");
    }
    if (f[4] && (v = single(k, f[4])) && (l = const_of(k, v, RV_T_INT, "a retry count"))) {
        if (l->u.i < 0 || l->u.i > 10)
            diag_report(D, DG_BAD_VALUE, v->at, "retries are between 0 and 10");
        else
            a->retry = (uint32_t)l->u.i;
    }
    if (f[5] && (v = single(k, f[5])) && (l = const_of(k, v, RV_T_DURATION, "a backoff")) &&
        !positive(k, l, v, "a backoff", 0))
        a->backoff = l->u.i;
    if (f[6] && (v = single(k, f[6])) && (l = const_of(k, v, RV_T_DURATION, "a timeout")) &&
        !positive(k, l, v, "a timeout", 0))
        a->timeout = l->u.i;
    a->nrules = k->rule_no;
    k->agent = NULL;
}

/* ---------------------------------------------------------------- tests */

static void chk_test(checker *k, ast *d)
{
    ast *req = NULL, *ex_tail = NULL;
    d->u.decl->expects = NULL;
    for (ast *it = d->u.decl->items, *next; it; it = next) {
        next = it->next;
        if (it->kind == N_GIVEN) {
            ast *g = it;
            if (g->u.given.kind == RV_GIVEN_HOOK) {
                g->u.given.what->sym = resolve_name(k, g->u.given.what->u.name, g->u.given.what->at,
                                                    1u << SYM_MODEL, "model");
                continue;
            }
            g->u.given.who->sym = resolve_name(k, g->u.given.who->u.name, g->u.given.who->at, 1u << SYM_MODEL, "model");
            if (g->u.given.kind == RV_GIVEN_FAIL) {
                ast *w = g->u.given.what;
                static const char *const fails[] = { "timeout", "reset", "refused", "error", "overloaded", "malformed" };
                const char *name = w->kind == E_NAME ? w->u.name : NULL;
                int ok = 0;
                for (size_t i = 0; name && i < sizeof fails / sizeof *fails; i++)
                    ok |= !strcmp(name, fails[i]);
                if (w->kind == E_INT && w->u.i >= 400 && w->u.i <= 599) {
                    ok = 1;
                    w->u.name = arena_printf(&k->c->arena, "%lld", (long long)w->u.i);
                    w->kind = E_NAME;
                }
                if (!ok) {
                    diag_report(D, DG_BAD_VALUE, w->at, "a model fails with timeout, reset, refused, error, "
                                "overloaded, malformed or an HTTP status 400-599");
                    const char *sug = name ? diag_suggest(name, fails, sizeof fails / sizeof *fails) : NULL;
                    if (sug)
                        diag_hint(D, "did you mean '%s'?", sug);
                }
            } else if (g->u.given.confidence) {
                ast *cv = const_of(k, g->u.given.confidence, RV_T_NUM, "a confidence");
                if (cv) {
                    int64_t x = cv->type == RV_T_INT ? cv->u.i * 1000000 : cv->u.i;
                    if (x < 0 || x > 1000000)
                        diag_report(D, DG_BAD_VALUE, g->u.given.confidence->at, "a confidence is between 0 and 1");
                    g->u.given.confidence = fold_lit(k->c, E_NUM, cv->at, x);
                }
            }
            continue;
        }
        if (!strcmp(it->u.item->name, "request")) {
            if (req) {
                diag_report(D, DG_DUPLICATE_PROPERTY, it->u.item->name_at, "a test has one request");
                continue;
            }
            req = it;
            ast *an = it->u.item->value;
            an->sym = resolve_name(k, an->u.name, an->at, 1u << SYM_AGENT, "agent");
            d->u.decl->agent = an;
            d->u.decl->request = testreq_build(k->c, it);
        } else {
            ast *e = it->u.item->value;
            typ_expect(k->c, e, TYP_EXPECT, RV_T_BOOL, "an expectation");
            ast *copy = it;
            copy->next = NULL;
            if (ex_tail)
                ex_tail->next = copy;
            else
                d->u.decl->expects = copy;
            ex_tail = copy;
        }
    }
    if (!req) {
        diag_report(D, DG_MISSING_PROPERTY, d->u.decl->name_at, "test \"%s\" has no request", d->u.decl->name);
        diag_hint(D, "add: request AGENT { user \"...\" }");
    }
    if (!d->u.decl->expects) {
        diag_report(D, DG_MISSING_PROPERTY, d->u.decl->name_at, "test \"%s\" expects nothing", d->u.decl->name);
        diag_hint(D, "add: expect model == some_model");
    }
    /* keep the givens in the items list for the code generator */
    ast *gh = NULL, *gt = NULL;
    for (ast *it = d->u.decl->items, *next; it; it = next) {
        next = it->next;
        if (it->kind != N_GIVEN)
            continue;
        it->next = NULL;
        if (gt) gt->next = it; else gh = it;
        gt = it;
    }
    d->u.decl->givens = gh;
}

/* ---------------------------------------------------------------- driver */

int chk_program(rv_compiler *c)
{
    checker k = { .c = c };
    /* constants first, so each is folded once and errors point at it */
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_CONST)
            typ_const(c, c->order[i], c->order[i]->decl->at, 1);
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_PROVIDER)
            chk_provider(&k, c->order[i]);
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_MODEL)
            chk_model(&k, s);
        else if (s->kind == SYM_GUARDRAIL)
            chk_guardrail(&k, s);
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            chk_agent(&k, c->order[i]);
    for (ast *d = c->decls; d; d = d->next)
        if (d->kind == D_TEST)
            chk_test(&k, d);
    return c->diag.nerr ? -1 : 0;
}
