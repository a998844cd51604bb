/* The program's tables, filled while code is generated (codegen.c).

   Strings and scalar constants are interned through open-addressing hash
   tables, so each appears once; lists of constants get their items' rows
   first.  Rows come out in declaration order (symbols carry their table
   index from resolve.c), and every row records the current source
   location, so the same input always gives the same program.  Tables grow
   by doubling; a table that would outgrow its 32-bit count, or memory
   running out, sets 'oom' and the program is discarded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "tables.h"

/* ---------------------------------------------------------------- growing and interning */

void *tab_grow(tab_builder *tb, void **arr, uint32_t *n, size_t *cap, size_t elem)
{
    if (*n == UINT32_MAX - 1) {
        tb->oom = 1;
        tb->too_large = "a table has more than 2^32 rows";
        return NULL;
    }
    if (*n >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *a = mem_reallocarray(*arr, ncap, elem);
        if (!a) {
            tb->oom = 1;
            return NULL;
        }
        *arr = a;
        *cap = ncap;
    }
    void *slot = (char *)*arr + (size_t)(*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}

static uint32_t hash_bytes(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int rehash(tab_builder *tb, uint32_t **tab, uint32_t *cap, uint32_t count, uint32_t (*hf)(tab_builder *, uint32_t))
{
    uint32_t ncap = *cap ? *cap * 2 : 1024;
    uint32_t *t = mem_calloc(ncap, sizeof *t);
    if (!t) {
        tb->oom = 1;
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t h = hf(tb, i) & (ncap - 1);
        while (t[h])
            h = (h + 1) & (ncap - 1);
        t[h] = i + 1;
    }
    free(*tab);
    *tab = t;
    *cap = ncap;
    return 0;
}

static uint32_t str_hash_of(tab_builder *tb, uint32_t i)
{
    return hash_bytes(tb->p->blob + tb->p->str_off[i], tb->p->str_len[i], 0);
}

uint32_t tab_intern(tab_builder *tb, const char *s, size_t n)
{
    rv_program *p = tb->p;
    if (!s)
        return RV_NONE;
    if (p->nstr * 2 >= tb->str_hash_cap && rehash(tb, &tb->str_hash, &tb->str_hash_cap, p->nstr, str_hash_of))
        return 0;
    uint32_t h = hash_bytes(s, n, 0) & (tb->str_hash_cap - 1);
    for (; tb->str_hash[h]; h = (h + 1) & (tb->str_hash_cap - 1)) {
        uint32_t i = tb->str_hash[h] - 1;
        if (p->str_len[i] == n && !memcmp(p->blob + p->str_off[i], s, n))
            return i;
    }
    if ((size_t)p->blob_len + n + 1 > UINT32_MAX) {
        tb->oom = 1;
        tb->too_large = "the strings take more than 4 GiB";
        return 0;
    }
    while (p->blob_len + n + 1 > tb->cap_blob) {
        size_t ncap = tb->cap_blob ? tb->cap_blob * 2 : 65536;
        char *b = mem_realloc(p->blob, ncap);
        if (!b) {
            tb->oom = 1;
            return 0;
        }
        p->blob = b;
        tb->cap_blob = ncap;
    }
    uint32_t idx = p->nstr;
    uint32_t n_off = p->nstr, n_len = p->nstr;
    if (!tab_grow(tb, (void **)&p->str_off, &n_off, &tb->cap_str, sizeof *p->str_off) ||
        !tab_grow(tb, (void **)&p->str_len, &n_len, &tb->cap_strlen, sizeof *p->str_len))
        return 0;
    p->str_off[idx] = p->blob_len;
    p->str_len[idx] = (uint32_t)n;
    memcpy(p->blob + p->blob_len, s, n);
    p->blob[p->blob_len + n] = 0;
    p->blob_len += (uint32_t)n + 1;
    p->nstr++;
    tb->str_hash[h] = idx + 1;
    return idx;
}

uint32_t tab_str(tab_builder *tb, const char *s) { return s ? tab_intern(tb, s, strlen(s)) : RV_NONE; }

static uint32_t const_hash_of(tab_builder *tb, uint32_t i)
{
    const rv_const *k = &tb->p->consts[i];
    uint32_t key[4] = { k->type, (uint32_t)k->i, (uint32_t)((uint64_t)k->i >> 32), k->str };
    return hash_bytes((const char *)key, sizeof key, 7);
}

/* Intern a scalar constant. */
uint32_t tab_scalar(tab_builder *tb, rv_type t, int64_t i, uint32_t str)
{
    rv_program *p = tb->p;
    if (p->nconst * 2 >= tb->const_hash_cap &&
        rehash(tb, &tb->const_hash, &tb->const_hash_cap, p->nconst, const_hash_of))
        return 0;
    rv_const want = { .type = (uint8_t)t, .i = i, .str = str };
    uint32_t key[4] = { want.type, (uint32_t)i, (uint32_t)((uint64_t)i >> 32), str };
    uint32_t h = hash_bytes((const char *)key, sizeof key, 7) & (tb->const_hash_cap - 1);
    for (; tb->const_hash[h]; h = (h + 1) & (tb->const_hash_cap - 1)) {
        const rv_const *k = &p->consts[tb->const_hash[h] - 1];
        if (k->type == want.type && k->i == i && k->str == str && k->type != RV_T_LIST)
            return tb->const_hash[h] - 1;
    }
    rv_const *k = TAB_ROW(tb, p->consts, p->nconst, cap_const);
    if (!k)
        return 0;
    *k = want;
    tb->const_hash[h] = p->nconst;
    return p->nconst - 1;
}

uint32_t tab_regex(tab_builder *tb, const ast *re)
{
    rv_program *p = tb->p;
    uint32_t pat = tab_str(tb, re->u.re.pat);
    for (uint32_t i = 0; i < p->nregex; i++)
        if (p->regexes[i].pattern == pat && p->regexes[i].flags == re->u.re.flags)
            return i;
    rv_regex *r = TAB_ROW(tb, p->regexes, p->nregex, cap_regex);
    if (!r)
        return 0;
    r->pattern = pat;
    r->flags = re->u.re.flags;
    r->loc = tb->cur_loc;
    return p->nregex - 1;
}

static rv_type lit_type(const ast *e)
{
    switch (e->kind) {
    case E_INT: return RV_T_INT;
    case E_NUM: return RV_T_NUM;
    case E_MONEY: return RV_T_MONEY;
    case E_RATE: return RV_T_RATE;
    case E_DURATION: return RV_T_DURATION;
    case E_TOKENS: return RV_T_TOKENS;
    case E_PERCENT: return RV_T_PERCENT;
    case E_BOOL: return RV_T_BOOL;
    case E_STR: return RV_T_STR;
    case E_REGEX: return RV_T_REGEX;
    case E_LIST: return RV_T_LIST;
    default: return e->type;
    }
}

/* The constant for a folded literal (see fold_expr()). */
uint32_t tab_const(tab_builder *tb, const ast *e)
{
    switch (e->kind) {
    case E_STR: return tab_scalar(tb, RV_T_STR, 0, tab_intern(tb, e->u.str.s, e->u.str.len));
    case E_REGEX: return tab_scalar(tb, RV_T_REGEX, 0, tab_regex(tb, e));
    case E_NAME: case E_MEMBER: {
        static const rv_type of[SYM__COUNT] = { RV_T_PROVIDER, RV_T_MODEL, RV_T_GUARDRAIL, RV_T_AGENT, RV_T_NIL };
        return tab_scalar(tb, of[e->sym->kind], e->sym->index, 0);
    }
    case E_LIST: {
        /* items first (they may add constants), then the list's own row */
        uint32_t n = ast_count(e->u.items), *tmp = mem_calloc(n + 1, sizeof *tmp), i = 0;
        if (!tmp) {
            tb->oom = 1;
            return 0;
        }
        for (const ast *it = e->u.items; it; it = it->next)
            tmp[i++] = tab_const(tb, it);
        uint32_t first = tb->p->nitem;
        for (i = 0; i < n; i++) {
            uint32_t *slot = TAB_ROW(tb, tb->p->items, tb->p->nitem, cap_item);
            if (slot)
                *slot = tmp[i];
        }
        free(tmp);
        rv_const *k = TAB_ROW(tb, tb->p->consts, tb->p->nconst, cap_const);
        if (!k)
            return 0;
        k->type = RV_T_LIST;
        k->first = first;
        k->count = n;
        return tb->p->nconst - 1;
    }
    default:
        return tab_scalar(tb, lit_type(e), e->u.i, 0);
    }
}

/* ---------------------------------------------------------------- locations */

void tab_loc(tab_builder *tb, src_span at)
{
    rv_program *p = tb->p;
    uint32_t len = at.end_line == at.line && at.end_col > at.col ? at.end_col - at.col : 1;
    if (p->nloc) {
        const rv_loc *l = &p->locs[tb->cur_loc];
        if (l->file == at.file && l->line == at.line && l->col == at.col && l->len == len)
            return;
    }
    rv_loc *l = TAB_ROW(tb, p->locs, p->nloc, cap_loc);
    if (!l)
        return;
    l->file = at.file;
    l->line = at.line;
    l->col = at.col;
    l->len = len;
    tb->cur_loc = p->nloc - 1;
}

/* ---------------------------------------------------------------- rows without code */

uint32_t tab_model_refs(tab_builder *tb, ast *cands, uint32_t *count)
{
    uint32_t first = tb->p->nmodel_ref;
    *count = 0;
    for (ast *n = cands; n; n = n->next) {
        uint32_t *slot = TAB_ROW(tb, tb->p->model_refs, tb->p->nmodel_ref, cap_model_ref);
        if (slot)
            *slot = n->sym->index;
        (*count)++;
    }
    return first;
}

/* Rules of an agent, numbered in source order (check.c's numbering). */
void tab_rules(tab_builder *tb, ast *t, uint32_t agent)
{
    switch (t->kind) {
    case T_ROUTE:
        for (ast *r = t->u.t->rules; r; r = r->next) {
            rv_rule *rule = TAB_ROW(tb, tb->p->rules, tb->p->nrule, cap_rule);
            if (!rule)
                return;
            uint32_t idx = tb->p->nrule - 1;
            tab_loc(tb, r->at);
            tb->p->rules[idx].agent = agent;
            tb->p->rules[idx].number = (uint32_t)r->ext;
            tb->p->rules[idx].reason = r->u.rule->reason ? tab_intern(tb, r->u.rule->reason->u.str.s,
                                                                 r->u.rule->reason->u.str.len) : RV_NONE;
            tb->p->rules[idx].otherwise = !r->u.rule->cond;
            const call_settings *cs = r->u.rule->calls;
            tb->p->rules[idx].timeout = cs ? cs->timeout : 0;
            tb->p->rules[idx].backoff = cs ? cs->backoff : 0;
            tb->p->rules[idx].retry = cs ? cs->retry : RV_NONE;
            tb->p->rules[idx].retry_on = cs ? cs->retry_on : 0;
            tb->p->rules[idx].loc = tb->cur_loc;
            tab_rules(tb, r->u.rule->target, agent);
        }
        return;
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            tab_rules(tb, a->u.arm.target, agent);
        return;
    case T_HOOK:
        tab_rules(tb, t->u.t->dflt, agent);
        return;
    default:
        return;
    }
}

/* 'fallback on' entries: rows of 'targets' with their class masks;
   returns the first row and sets '*count'. */
uint32_t tab_onfail(tab_builder *tb, ast *items, const uint32_t *on, uint32_t *count)
{
    uint32_t first = tb->p->ntarget, i = 0;
    for (ast *it = items; it; it = it->next, i++) {
        rv_target *t = TAB_ROW(tb, tb->p->targets, tb->p->ntarget, cap_target);
        if (!t)
            break;
        const sym *to = it->u.item->value2->sym;
        t->is_agent = to->kind == SYM_AGENT;
        t->index = to->index;
        t->on = on[i];
    }
    *count = tb->p->ntarget - first;
    return first;
}

void tab_model(tab_builder *tb, sym *s)
{
    model_info *m = &s->u.model;
    tab_loc(tb, s->decl->u.decl->name_at);
    rv_model *md = &tb->p->models[s->index];
    uint32_t name = tab_str(tb, s->name), id = tab_str(tb, m->id), sys = tab_str(tb, m->system);
    uint32_t stop = m->stop ? tab_const(tb, m->stop) : RV_NONE, nonfail;
    uint32_t tags = m->tags && m->tags->u.items ? tab_const(tb, m->tags) : RV_NONE;
    uint32_t onfail = tab_onfail(tb, m->onfail, m->onfail_on, &nonfail);
    md = &tb->p->models[s->index];
    md->price_cached = m->price_cached;
    md->price_cache_write = m->price_cache_write;
    md->price_reasoning = m->price_reasoning;
    md->timeout = m->calls.timeout;
    md->backoff = m->calls.backoff;
    md->retry = m->calls.retry;
    md->retry_on = m->calls.retry_on;
    md->onfail_first = onfail;
    md->onfail_count = nonfail;
    md->rpm = m->rpm;
    md->tpm = m->tpm;
    md->max_tokens = m->max_tokens;
    md->params_set = m->params_set;
    memcpy(md->params, m->params, sizeof md->params);
    md->stop = stop;
    md->tags = tags;
    md->name = name;
    md->provider = s->decl->u.decl->from->sym->index;
    md->id = id;
    md->system = sys;
    md->price_in = m->price_in;
    md->price_out = m->price_out;
    md->context = m->context;
    md->max_output = m->max_output;
    md->latency = m->latency;
    md->tier = m->tier;
    md->caps = m->caps;
    md->loc = tb->cur_loc;
}

void tab_provider(tab_builder *tb, sym *s)
{
    provider_info *pi = &s->u.provider;
    tab_loc(tb, s->decl->u.decl->name_at);
    uint32_t name = tab_str(tb, s->name), ep = tab_str(tb, pi->endpoint), rg = tab_str(tb, pi->region), key = tab_str(tb, pi->key_env);
    rv_provider *pr = &tb->p->providers[s->index];
    pr->name = name;
    pr->kind = pi->kind;
    pr->endpoint = ep;
    pr->region = rg;
    pr->key_env = key;
    pr->loc = tb->cur_loc;
}

void tab_guardrail(tab_builder *tb, sym *s)
{
    rv_program *p = tb->p;
    tab_loc(tb, s->decl->u.decl->name_at);
    uint32_t name = tab_str(tb, s->name), loc = tb->cur_loc, first = p->ngaction;
    for (ast *a = s->decl->u.decl->items; a; a = a->next) {
        tab_loc(tb, a->at);
        uint32_t re = RV_NONE, text = RV_NONE;
        int64_t limit = 0;
        if (a->u.ga.kind == RV_GA_LIMIT)
            limit = a->u.ga.value->u.i;
        else {
            re = tab_regex(tb, a->u.ga.value);
            text = tab_intern(tb, a->u.ga.text->u.str.s, a->u.ga.text->u.str.len);
        }
        rv_gaction *ga = TAB_ROW(tb, p->gactions, p->ngaction, cap_gaction);
        if (!ga)
            return;
        ga->kind = a->u.ga.kind;
        ga->dir = a->u.ga.dir;
        ga->regex = re;
        ga->text = text;
        ga->limit = limit;
        ga->loc = tb->cur_loc;
    }
    rv_guardrail *gr = &p->guards[s->index];
    gr->name = name;
    gr->first = first;
    gr->count = p->ngaction - first;
    gr->loc = loc;
}

void tab_free(tab_builder *tb)
{
    free(tb->str_hash);
    free(tb->const_hash);
    tb->str_hash = tb->const_hash = NULL;
}
