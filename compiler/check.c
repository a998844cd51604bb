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
#include "format.h"
#include "parse.h"
#include "testreq.h"
#include "typing.h"

typedef struct {
    rv_compiler *c;
    sym *agent;           /* agent being checked, or NULL */
    uint32_t rule_no;     /* rules numbered in source order per agent */
} checker;

#define D (&k->c->diag)

static void chk_target(checker *k, ast *t, const call_settings *outer);

/* Keys fall into 100 buckets and bucket b goes to the first arm whose
   running share exceeds b% (vm/interp.c), so an arm takes
   ceil(cum/1%) - ceil(cum_before/1%) percent of the keys: a share that is
   not a whole percent is not what the policy says. */
static void split_granularity(checker *k, ast *t)
{
    int64_t cum = 0;
    for (ast *a = t->u.t->arms; a; a = a->next) {
        int64_t before = cum, s = a->u.arm.share->u.i;
        cum += s;
        if (s % 10000 == 0)
            continue;
        int64_t got = (cum + 9999) / 10000 - (before + 9999) / 10000;
        char want[FMT_BUF];
        fmt_percent(want, sizeof want, s);
        diag_report(D, DG_SPLIT_GRANULARITY, a->u.arm.share->at,
                    "this arm takes %lld%% of the keys, not %s: keys fall into 100 buckets of 1%%",
                    (long long)got, want);
        diag_hint(D, "give each arm a whole percentage");
    }
}

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
        diag_report(D, DG_WRONG_KIND, at, "'%s' is %s %s, but %s %s is expected here", name,
                    diag_a(sym_kind_names[s->kind]), sym_kind_names[s->kind], diag_a(what), what);
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

/* Whether 'it' has the shape of item 'name': the price form for 'price',
   the budget form for 'budget', values (or the price form's first) for
   the others. */
static int fits(const char *name, const ast *it)
{
    const char *form = it->u.item->path;
    if (!strcmp(name, "price"))
        return form && !strcmp(form, "in");
    if (!strcmp(name, "budget"))
        return form && !strcmp(form, "per");
    return !form || !strcmp(form, "in");
}

/* Find unknown and duplicate items; fill 'found' (one ast per spec entry).
   A misspelled item stands in for the one suggested when that one is not
   given, and a known name written in the price or budget form is still
   that item: one mistake, one message (not also "has no 'price'"). */
static void scan_items(checker *k, ast *items, const item_spec *spec, size_t n, ast **found, const char *block)
{
    const char *names[40];
    ast *standin[40] = { 0 };
    for (size_t i = 0; i < n; i++)
        names[i] = spec[i].name;
    for (ast *it = items; it; it = it->next) {
        size_t i = 0;
        while (i < n && strcmp(spec[i].name, it->u.item->name))
            i++;
        if (i == n) {
            diag_report(D, DG_UNKNOWN_PROPERTY, it->u.item->name_at, "%s blocks have no '%s'", block, it->u.item->name);
            const char *sug = diag_suggest(it->u.item->name, names, n);
            if (sug) {
                diag_hint(D, "did you mean '%s'?", sug);
                for (size_t j = 0; j < n; j++)
                    if (names[j] == sug && !standin[j] && fits(names[j], it))
                        standin[j] = it;
            }
            else {
                char list[512];
                size_t o = 0;
                for (size_t j = 0; j < n && o < sizeof list - 32; j++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
                diag_hint(D, "%s %s block has: %s", diag_a(block), block, list);
            }
            continue;
        }
        const char *form = it->u.item->path;
        if (form && (!strcmp(form, "in") || !strcmp(form, "per"))) {
            /* a known name in the price or budget form: not a misspelling */
            diag_report(D, DG_SYNTAX, it->u.item->name_at, "'%s' does not take '%s': only '%s' does",
                        it->u.item->name, form, form[0] == 'i' ? "price" : "budget");
            if (!standin[i] && fits(names[i], it))
                standin[i] = it;
            continue;
        }
        if (found[i]) {
            diag_report(D, DG_DUPLICATE_PROPERTY, it->u.item->name_at, "'%s' is given twice", it->u.item->name);
            diag_note(D, found[i]->u.item->name_at, "first given here");
            continue;
        }
        found[i] = it;
    }
    for (size_t i = 0; i < n; i++)
        if (!found[i] && standin[i])
            found[i] = standin[i];
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

/* ---------------------------------------------------------------- failure classes */

/* A failure class by name, or an HTTP status or status class that names
   classes exactly: 429 (rate_limited), 529 (overloaded), 408 and 5xx
   (server_error; 5xx also overloaded).  Adds it to '*mask'; reports an
   unknown name.  'allowed' is the mask of classes this list may name. */
static void add_class(checker *k, ast *v, uint32_t allowed, const char *what, uint32_t *mask)
{
    uint32_t m = 0;
    if (v->kind == E_INT && v->u.i == PARSE_BAD_LITERAL)
        return;         /* the lexer said what is wrong */
    if (v->kind == E_NAME) {
        for (int i = 1; i < RV_FAIL__COUNT; i++)
            if (!strcmp(rv_failure_names[i], v->u.name))
                m = 1u << i;
        if (!strcmp(v->u.name, "5xx"))
            m = 1u << RV_FAIL_SERVER | 1u << RV_FAIL_OVERLOADED;
    } else if (v->kind == E_INT) {
        m = v->u.i == 429 ? 1u << RV_FAIL_RATE : v->u.i == 529 ? 1u << RV_FAIL_OVERLOADED
          : v->u.i == 408 ? 1u << RV_FAIL_SERVER : 0;
    }
    if (!m) {
        diag_report(D, DG_UNKNOWN_FAILURE, v->at, "not a failure class");
        const char *cands[RV_FAIL__COUNT + 1];
        for (int i = 0; i < RV_FAIL__COUNT; i++)
            cands[i] = rv_failure_names[i];
        cands[RV_FAIL__COUNT] = "5xx";
        const char *sug = v->kind == E_NAME ? diag_suggest(v->u.name, cands + 1, RV_FAIL__COUNT) : NULL;
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        else if (v->kind == E_INT && v->u.i >= 400 && v->u.i <= 599)
            diag_hint(D, "statuses are named by class: HTTP %lld is %s; 429, 529, 408 and 5xx are also accepted",
                      (long long)v->u.i, v->u.i >= 500 ? "server_error (5xx)" : v->u.i == 401 || v->u.i == 403 ? "auth"
                      : "client_error");
        else
            diag_hint(D, "the classes are timeout, reset, refused, overloaded, malformed, rate_limited, server_error, "
                         "client_error, auth, context_length, content_filter, error, budget, unavailable");
        return;
    }
    if (m & ~allowed) {
        diag_report(D, DG_BAD_VALUE, v->at, "%s cannot name '%s'", what,
                     rv_failure_names[__builtin_ctz(m & ~allowed)]);
        diag_hint(D, allowed == RV_RETRY_CLASSES
                  ? "budget, unavailable, deadline and stream_broken mean no call was made, or none may be made again"
                  : "after a passed deadline or a broken stream nothing more is tried");
        return;
    }
    *mask |= m;
}

/* The classes of a list item: 'retry_on [429, 5xx, timeout]' or
   'fallback on context_length, auth -> m' (one list, or names separated
   by commas). */
static uint32_t class_mask(checker *k, ast *values, uint32_t allowed, const char *what)
{
    uint32_t mask = 0;
    for (ast *v = values; v; v = v->next) {
        if (v->kind == E_LIST)
            for (ast *i = v->u.items; i; i = i->next)
                add_class(k, i, allowed, what, &mask);
        else
            add_class(k, v, allowed, what, &mask);
    }
    return mask;
}

/* Retrying these repeats the failure: the same conversation to the same
   model fails the same way. */
#define FUTILE_RETRY (1u << RV_FAIL_CLIENT | 1u << RV_FAIL_AUTH | 1u << RV_FAIL_CONTEXT | 1u << RV_FAIL_FILTERED)

/* timeout, backoff, retry, retry_on: the items at 'f[0..3]' (any NULL). */
static void chk_calls(checker *k, ast *const *f, call_settings *cs)
{
    ast *v, *l;
    cs->timeout = cs->backoff = 0;
    cs->retry = RV_NONE;
    cs->retry_on = 0;
    if (f[0] && (v = single(k, f[0])) && (l = const_of(k, v, RV_T_DURATION, "a timeout")) &&
        !positive(k, l, v, "a timeout", 0))
        cs->timeout = l->u.i;
    if (f[1] && (v = single(k, f[1])) && (l = const_of(k, v, RV_T_DURATION, "a backoff")) &&
        !positive(k, l, v, "a backoff", 0))
        cs->backoff = l->u.i;
    if (f[2] && (v = single(k, f[2])) && (l = const_of(k, v, RV_T_INT, "a retry count"))) {
        if (l->u.i < 0 || l->u.i > 10)
            diag_report(D, DG_BAD_VALUE, v->at, "retries are between 0 and 10");
        else
            cs->retry = (uint32_t)l->u.i;
    }
    if (f[3]) {
        cs->retry_on = RV_RETRY_STATED | class_mask(k, f[3]->u.item->value, RV_RETRY_CLASSES, "retry_on");
        uint32_t futile = cs->retry_on & FUTILE_RETRY;
        if (futile) {
            diag_report(D, DG_RETRY_FUTILE, f[3]->at, "retrying after '%s' repeats the failure",
                        rv_failure_names[__builtin_ctz(futile)]);
            diag_hint(D, "the same conversation to the same model fails the same way; use 'fallback on %s -> MODEL'",
                      rv_failure_names[__builtin_ctz(futile)]);
        }
    }
}

/* Take the 'fallback on ...' items out of '*items' (so scan_items sees
   one 'fallback' at most) and return them; any other 'X on' is reported. */
static ast *take_onfail(checker *k, ast **items)
{
    ast *head = NULL, *tail = NULL;
    for (ast **pp = items; *pp;) {
        ast *it = *pp;
        if (it->kind != N_ITEM || !it->u.item->path || strcmp(it->u.item->path, "on")) {
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        it->next = NULL;
        if (strcmp(it->u.item->name, "fallback")) {
            diag_report(D, DG_SYNTAX, it->u.item->name_at, "only 'fallback' takes 'on CLASS -> TARGET'");
            continue;
        }
        if (tail)
            tail->next = it;
        else
            head = it;
        tail = it;
    }
    return head;
}

/* 'fallback on CLASSES -> TARGET' items: the classes of each (arena) and
   the target resolved ('mask': the kinds it may name). */
static uint32_t *chk_onfail(checker *k, ast *list, unsigned mask)
{
    uint32_t n = ast_count(list), i = 0;
    uint32_t *on = arena_alloc(&k->c->arena, (n ? n : 1) * sizeof *on);
    if (!on) {
        k->c->oom = 1;
        return NULL;
    }
    for (ast *it = list; it; it = it->next, i++) {
        on[i] = class_mask(k, it->u.item->value, RV_FALLBACK_CLASSES, "'fallback on'");
        ast *t = it->u.item->value2;
        t->sym = resolve_name(k, t->u.name, t->at, mask, "model");
    }
    return on;
}

/* ---------------------------------------------------------------- models */

/* price in X, out Y [, cached Z] [, cache_write W] [, reasoning R] */
static void chk_price(checker *k, model_info *m, ast *it)
{
    static const char *const classes[] = { "out", "cached", "cache_write", "reasoning" };
    ast *f[4] = { 0 };
    int ok = 1;
    for (ast *c = it->u.item->value2; c; c = c->next) {
        size_t i = 0;
        while (i < 4 && strcmp(classes[i], c->u.item->name))
            i++;
        if (i == 4) {
            diag_report(D, DG_UNKNOWN_PROPERTY, c->u.item->name_at, "prices have no class '%s'", c->u.item->name);
            const char *sug = diag_suggest(c->u.item->name, classes, 4);
            diag_hint(D, sug ? "did you mean '%s'?" : "%s", sug ? sug : "the classes are in, out, cached, cache_write, reasoning");
            ok = 0;
        } else if (f[i]) {
            diag_report(D, DG_DUPLICATE_PROPERTY, c->u.item->name_at, "the '%s' price is given twice", classes[i]);
            ok = 0;
        } else {
            f[i] = c;
        }
    }
    if (!f[0]) {
        diag_report(D, DG_SYNTAX, it->at, "a price reads: price in $X/Mtok, out $Y/Mtok");
        diag_hint(D, "cache and reasoning prices may follow: ..., cached $Z/Mtok, cache_write $W/Mtok, reasoning $R/Mtok");
        return;
    }
    int64_t v[5] = { 0, 0, -1, -1, -1 };
    ast *pi = const_of(k, it->u.item->value, RV_T_RATE, "the input price");
    if (!pi || positive(k, pi, it->u.item->value, "a price", 1))
        ok = 0;
    else
        v[0] = pi->u.i;
    for (int i = 0; i < 4; i++) {
        if (!f[i])
            continue;
        ast *l = const_of(k, f[i]->u.item->value, RV_T_RATE, i ? "a token class's price" : "the output price");
        if (!l || positive(k, l, f[i]->u.item->value, "a price", 1))
            ok = 0;
        else
            v[i + 1] = l->u.i;
    }
    if (!ok)
        return;
    m->price_in = v[0];
    m->price_out = v[1];
    m->price_cached = v[2];
    m->price_cache_write = v[3];
    m->price_reasoning = v[4];
    m->priced = 1;
}

/* A call parameter: a number or int within rv_params[p]'s range. */
static void chk_param(checker *k, model_info *m, int p, ast *item)
{
    ast *v = single(k, item), *l;
    const rv_paraminfo *pi = &rv_params[p];
    if (!v || !(l = const_of(k, v, pi->type, pi->name)))
        return;
    int64_t x = l->u.i;
    if (pi->type == RV_T_NUM && l->type == RV_T_INT) {
        if (x > INT64_MAX / 1000000 || x < INT64_MIN / 1000000)
            x = x < 0 ? INT64_MIN : INT64_MAX;
        else
            x *= 1000000;
    }
    if (x < pi->lo || x > pi->hi) {
        char lo[FMT_BUF], hi[FMT_BUF];
        fmt_value(lo, sizeof lo, pi->type, pi->lo);
        fmt_value(hi, sizeof hi, pi->type, pi->hi);
        diag_report(D, DG_BAD_VALUE, v->at, "%s is between %s and %s", pi->name, lo, pi->type == RV_T_INT &&
                    pi->hi == INT64_MAX ? "2^63-1" : hi);
        return;
    }
    m->params_set |= 1u << p;
    m->params[p] = x;
}

/* stop "..." or stop ["...", ...]: 1 to RV_MAX_STOP non-empty strings. */
static void chk_stop(checker *k, model_info *m, ast *item)
{
    ast *v = single(k, item);
    if (!v || typ_expr(k->c, v, TYP_CONST) == RV_T__COUNT)
        return;
    ast *l = fold_expr(k->c, v, 1);
    if (!l)
        return;
    if (l->kind == E_STR) {
        ast *list = ast_new(&k->c->arena, E_LIST, v->at);
        ast *one = arena_alloc(&k->c->arena, sizeof *one);
        if (!list || !one) {
            k->c->oom = 1;
            return;
        }
        *one = *l;
        one->next = NULL;
        list->type = RV_T_LIST;
        list->elem = RV_T_STR;
        list->u.items = one;
        l = list;
    }
    unsigned n = l->kind == E_LIST ? ast_count(l->u.items) : 0;
    if (l->kind != E_LIST || (n && l->elem != RV_T_STR) || n < 1 || n > RV_MAX_STOP) {
        diag_report(D, DG_BAD_VALUE, v->at, "stop takes a string or a list of 1 to %d strings", RV_MAX_STOP);
        return;
    }
    for (ast *i = l->u.items; i; i = i->next)
        if (!i->u.str.len) {
            diag_report(D, DG_BAD_VALUE, v->at, "a stop sequence cannot be empty");
            return;
        }
    m->stop = l;
}

/* tags [eu, hipaa, "us-east"]: the policy's own labels, names or strings,
   tested in 'where' with "eu" in tags.  Kept as a list of strings. */
static void chk_tags(checker *k, model_info *m, ast *item)
{
    ast *list = ast_new(&k->c->arena, E_LIST, item->at), *tail = NULL;
    if (!list) {
        k->c->oom = 1;
        return;
    }
    list->type = RV_T_LIST;
    list->elem = RV_T_STR;
    for (ast *c0 = item->u.item->value; c0; c0 = c0->next) {
        ast *items = c0->kind == E_LIST ? c0->u.items : c0;
        for (ast *c1 = items; c1; c1 = c0->kind == E_LIST ? c1->next : NULL) {
            const char *nm = c1->kind == E_NAME ? c1->u.name : c1->kind == E_STR ? c1->u.str.s : NULL;
            if (!nm || !*nm) {
                diag_report(D, DG_BAD_VALUE, c1->at, "a tag is a name or a non-empty string");
                continue;
            }
            int dup = 0;
            for (ast *t = list->u.items; t && !dup; t = t->next)
                dup = !strcmp(t->u.str.s, nm);
            if (dup) {
                diag_report(D, DG_BAD_VALUE, c1->at, "tag '%s' is given twice", nm);
                continue;
            }
            ast *t = ast_new(&k->c->arena, E_STR, c1->at);
            if (!t) {
                k->c->oom = 1;
                return;
            }
            t->type = RV_T_STR;
            t->u.str.s = (char *)nm;
            t->u.str.len = (uint32_t)strlen(nm);
            if (tail)
                tail->next = t;
            else
                list->u.items = t;
            tail = t;
        }
    }
    m->tags = list;
}

static void chk_model(checker *k, sym *s)
{
    enum { NBASE = 8, NCALL = 4, NLIMIT = 5, NSPEC = NBASE + NCALL + NLIMIT + RV_PARAM__COUNT };
    static const item_spec base[NBASE + NCALL + NLIMIT] = {
        { "id", 1 }, { "price", 1 }, { "context", 1 }, { "output", 0 }, { "tier", 0 },
        { "capabilities", 0 }, { "latency", 0 }, { "system", 0 },
        { "timeout", 0 }, { "backoff", 0 }, { "retry", 0 }, { "retry_on", 0 },
        { "rpm", 0 }, { "tpm", 0 }, { "max_tokens", 0 }, { "stop", 0 }, { "tags", 0 },
    };
    item_spec spec[NSPEC];
    memcpy(spec, base, sizeof base);
    for (int i = 0; i < RV_PARAM__COUNT; i++)
        spec[NBASE + NCALL + NLIMIT + i] = (item_spec){ rv_params[i].name, 0 };
    ast *f[NSPEC] = { 0 }, *d = s->decl, *v, *l;
    model_info *m = &s->u.model;
    m->price_cached = m->price_cache_write = m->price_reasoning = -1;
    m->onfail = take_onfail(k, &d->u.decl->items);
    scan_items(k, d->u.decl->items, spec, NSPEC, f, "model");
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
        chk_price(k, m, f[1]);
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
    chk_calls(k, f + NBASE, &m->calls);
    ast **lim = f + NBASE + NCALL;
    if (lim[0] && (v = single(k, lim[0])) && (l = const_of(k, v, RV_T_INT, "a rate limit (requests per minute)")) &&
        !positive(k, l, v, "a rate limit", 0))
        m->rpm = l->u.i;
    if (lim[1] && (v = single(k, lim[1])) && (l = const_of(k, v, RV_T_TOKENS, "a rate limit (tokens per minute)")) &&
        !positive(k, l, v, "a rate limit", 0))
        m->tpm = l->u.i;
    if (lim[2] && (v = single(k, lim[2])) && (l = const_of(k, v, RV_T_TOKENS, "max_tokens")) &&
        !positive(k, l, v, "max_tokens", 0)) {
        m->max_tokens = l->u.i;
        if (m->context && l->u.i > m->context)
            diag_report(D, DG_BAD_VALUE, v->at, "max_tokens is larger than the context");
    }
    if (lim[3])
        chk_stop(k, m, lim[3]);
    if (lim[4])
        chk_tags(k, m, lim[4]);
    for (int i = 0; i < RV_PARAM__COUNT; i++)
        if (f[NBASE + NCALL + NLIMIT + i])
            chk_param(k, m, i, f[NBASE + NCALL + NLIMIT + i]);
    if (m->onfail)
        m->onfail_on = chk_onfail(k, m->onfail, 1u << SYM_MODEL);
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
            diag_report(D, DG_TYPE, n->at, "expected the name of %s %s", diag_a(what), what);
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

/* A rule's call settings ({ timeout 5s  retry 1 ... } after its target),
   merged over those of the enclosing rule ('outer', NULL for none). */
static const call_settings *rule_calls(checker *k, ast *r, const call_settings *outer)
{
    static const item_spec spec[] = { { "timeout", 0 }, { "backoff", 0 }, { "retry", 0 }, { "retry_on", 0 } };
    static const call_settings unstated = { 0, 0, RV_NONE, 0 };
    /* most rules state nothing: they share what encloses them */
    if (!r->u.rule->opts)
        return outer ? outer : &unstated;
    call_settings *cs = arena_alloc(&k->c->arena, sizeof *cs);
    if (!cs) {
        k->c->oom = 1;
        return NULL;
    }
    ast *f[4] = { 0 };
    ast *opts = r->u.rule->opts, *on;
    if (opts && (on = take_onfail(k, &opts))) {
        diag_report(D, DG_UNKNOWN_PROPERTY, on->u.item->name_at, "rule blocks have no 'fallback on'");
        diag_hint(D, "a rule takes timeout, backoff, retry and retry_on; 'fallback on' belongs to agents and models");
    }
    scan_items(k, opts, spec, 4, f, "rule");
    chk_calls(k, f, cs);
    if (outer) {
        if (!cs->timeout) cs->timeout = outer->timeout;
        if (!cs->backoff) cs->backoff = outer->backoff;
        if (cs->retry == RV_NONE) cs->retry = outer->retry;
        if (!cs->retry_on) cs->retry_on = outer->retry_on;
    }
    return cs;
}

static void chk_rules(checker *k, ast *rules, const call_settings *outer)
{
    for (ast *r = rules; r; r = r->next) {
        r->ext = ++k->rule_no;
        if (r->u.rule->cond)
            typ_expect(k->c, r->u.rule->cond, TYP_ROUTE, RV_T_BOOL, "a rule's condition");
        r->u.rule->calls = rule_calls(k, r, outer);
        chk_target(k, r->u.rule->target, r->u.rule->calls);
    }
}

/* 'outer': the call settings of the rule whose target this is (NULL at
   an agent's route), inherited by the rules of nested blocks. */
static void chk_target(checker *k, ast *t, const call_settings *outer)
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
            chk_target(k, a->u.arm.target, outer);
        }
        if (ok && sum != 1000000) {
            diag_report(D, DG_SPLIT_SUM, t->at, "split shares add up to %lld.%04lld%%, not 100%%",
                        (long long)(sum / 10000), (long long)(sum % 10000));
        } else if (ok) {
            split_granularity(k, t);
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
        chk_target(k, t->u.t->dflt, outer);
        break;
    }
    case T_ROUTE:
        chk_rules(k, t->u.t->rules, outer);
        break;
    default:
        break;
    }
}

static void chk_agent(checker *k, sym *s)
{
    static const item_spec spec[] = {
        { "guard", 0 }, { "budget", 0 }, { "route", 1 }, { "fallback", 0 },
        { "timeout", 0 }, { "backoff", 0 }, { "retry", 0 }, { "retry_on", 0 },
    };
    ast *f[8] = { 0 }, *d = s->decl;
    agent_info *a = &s->u.agent;
    k->agent = s;
    k->rule_no = 0;
    a->onfail = take_onfail(k, &d->u.decl->items);
    scan_items(k, d->u.decl->items, spec, 8, f, "agent");
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
                diag_report(D, DG_BAD_VALUE, ast_name_span(b, b->u.budget.per_at, b->u.budget.per),
                            "budgets are per request or per day");
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
        chk_target(k, a->route, NULL);
    }
    if (f[3]) {
        a->fallback = f[3]->u.item->value;
        chk_names_into(k, a->fallback, 1u << SYM_MODEL | 1u << SYM_AGENT, "model");
    }
    call_settings cs;
    chk_calls(k, f + 4, &cs);
    a->timeout = cs.timeout;
    a->backoff = cs.backoff;
    a->retry = cs.retry == RV_NONE ? 0 : cs.retry;
    a->retry_on = cs.retry_on;
    if (a->onfail)
        a->onfail_on = chk_onfail(k, a->onfail, 1u << SYM_MODEL | 1u << SYM_AGENT);
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
            if (g->u.given->kind == RV_GIVEN_HOOK) {
                g->u.given->what->sym = resolve_name(k, g->u.given->what->u.name, g->u.given->what->at,
                                                    1u << SYM_MODEL, "model");
                continue;
            }
            g->u.given->who->sym = resolve_name(k, g->u.given->who->u.name, g->u.given->who->at, 1u << SYM_MODEL, "model");
            if (g->u.given->kind == RV_GIVEN_FAIL) {
                ast *w = g->u.given->what;
                /* the classes a driver reports for a call that was made */
                static const char *const fails[] = { "timeout", "reset", "refused", "overloaded", "malformed",
                                                     "rate_limited", "server_error", "client_error", "auth",
                                                     "context_length", "content_filter", "error" };
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
                    diag_report(D, DG_UNKNOWN_FAILURE, w->at, "a model fails with a failure class or an HTTP "
                                "status 400-599");
                    const char *sug = name ? diag_suggest(name, fails, sizeof fails / sizeof *fails) : NULL;
                    if (sug)
                        diag_hint(D, "did you mean '%s'?", sug);
                    else
                        diag_hint(D, "the classes are timeout, reset, refused, overloaded, malformed, rate_limited, "
                                     "server_error, client_error, auth, context_length, content_filter, error");
                }
            } else if (g->u.given->confidence) {
                ast *cv = const_of(k, g->u.given->confidence, RV_T_NUM, "a confidence");
                if (cv) {
                    int64_t x = cv->type == RV_T_INT ? cv->u.i * 1000000 : cv->u.i;
                    if (x < 0 || x > 1000000)
                        diag_report(D, DG_BAD_VALUE, g->u.given->confidence->at, "a confidence is between 0 and 1");
                    g->u.given->confidence = fold_lit(k->c, E_NUM, cv->at, x);
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
