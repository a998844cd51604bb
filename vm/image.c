/* The image: a verified program made ready to run, once, and shared by
   every request -- its regexes compiled (with the JIT where available),
   literal-set matchers for word alternations, every constant decoded into
   a ready stack value, a slot for each metadata key the code reads, and
   a rule plan for each route function that can have one (plan.c).
   The interpreter (interp.c) reads it; nothing writes it after
   vm_image_init(). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "litset.h"
#include "mem.h"
#include "opcodes.h"
#include "plan.h"
#include "verify.h"
#include "vmstate.h"

static int dispatch_table(rv_image *img);
static int call_tables(rv_image *img);

/* The regexes of output deny and redact actions, flagged in 'out' (one
   byte per regex).  Streamed answers run them with PCRE2_PARTIAL_HARD
   (feed.c), which the JIT serves only when compiled for it; without,
   PCRE2 falls back to its interpreter. */
static void streamed_regexes(const rv_program *p, uint8_t *out)
{
    for (uint32_t i = 0; i < p->ngaction; i++)
        if (p->gactions[i].dir == RV_DIR_OUTPUT && p->gactions[i].kind != RV_GA_LIMIT && p->gactions[i].regex < p->nregex)
            out[p->gactions[i].regex] = 1;
}

/* Each slot's key, and each mtest's record (rv_image.jmt). */
static int jmt_records(rv_image *img)
{
    const rv_program *p = img->p;
    uint64_t nstr = 0;
    for (uint32_t i = 0; i < p->nmtest; i++)
        if (p->mtests[i].key != RV_NONE)
            nstr += p->consts[p->mtests[i].konst].type == RV_T_LIST ? p->consts[p->mtests[i].konst].count : 1;
    img->slot_key = mem_calloc(img->nmeta_slot + 1, sizeof *img->slot_key);
    img->jmt = mem_calloc(p->nmtest + 1, sizeof *img->jmt);
    img->jstr = nstr < UINT32_MAX ? mem_calloc(nstr + 1, sizeof *img->jstr) : NULL;
    if (!img->slot_key || !img->jmt || !img->jstr)
        return -1;
    for (uint32_t k = 0; k < p->nstr; k++)
        if (img->meta_slot[k] != RV_NONE)
            img->slot_key[img->meta_slot[k]] = (rv_sv){ rv_str(p, k), p->str_len[k] };
    /* which results of a three-way comparison make <, <=, > and >= hold */
    static const uint8_t cmp[RV_MT__COUNT] = { [RV_MT_LT] = 1, [RV_MT_LE] = 3, [RV_MT_GT] = 4, [RV_MT_GE] = 6 };
    struct rv_jstr *js = img->jstr;
    for (uint32_t i = 0; i < p->nmtest; i++) {
        const rv_mtest *t = &p->mtests[i];
        struct rv_jmt *j = &img->jmt[i];
        *j = (struct rv_jmt){ .k = &img->kval[t->konst], .items = js, .target = t->target,
                              .want = t->op == RV_MT_EQ || t->op == RV_MT_IN, .cmp = cmp[t->op], .slot = RV_NONE };
        if (t->key == RV_NONE)
            continue;       /* JKT: compares the stack's top with 'k' */
        j->slot = img->meta_slot[t->key];
        /* JMT: the strings that hit -- the constant, or the list's strings
           (a metadata value is a string: an item of another type never equals it) */
        const rv_const *c = &p->consts[t->konst];
        uint32_t n = c->type == RV_T_LIST ? c->count : 1;
        for (uint32_t e = 0; e < n; e++) {
            const rv_const *it = c->type == RV_T_LIST ? &p->consts[p->items[c->first + e]] : c;
            if (it->type != RV_T_STR)
                continue;
            const char *str = rv_str(p, it->str);
            uint32_t len = p->str_len[it->str];
            *js++ = (struct rv_jstr){ str, len };
            j->nitems++;
        }
    }
    return 0;
}

int vm_image_init(rv_image *img, const rv_program *p, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    img->p = p;
    img->re = mem_calloc(p->nregex + 1, sizeof *img->re);
    img->lits = mem_calloc(p->nregex + 1, sizeof *img->lits);
    if (!img->re || !img->lits) {
        free(img->re);
        free(img->lits);
        img->re = NULL;
        img->lits = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    img->max_match = 1;
    uint8_t *streamed = mem_calloc(p->nregex + 1, 1);
    if (!streamed) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    streamed_regexes(p, streamed);
    for (uint32_t i = 0; i < p->nregex; i++) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                       ver_pcre2_options(p->regexes[i].flags), &code, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            snprintf(err, errlen, "regex %u: %s", i, (char *)msg);
            free(streamed);
            vm_image_free(img);
            return -1;
        }
        /* falls back to the interpreter where unsupported */
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE | (streamed[i] ? PCRE2_JIT_PARTIAL_HARD : 0));
        uint32_t cap = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &cap);
        if (cap + 1 > img->max_match)
            img->max_match = cap + 1;
        img->re[i] = re;
        img->lits[i] = ls_compile(rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                  p->regexes[i].flags);
        if (!img->lits[i])      /* NULL (no filter) when out of memory too */
            img->lits[i] = ls_filter(re, rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                     p->regexes[i].flags);
    }
    free(streamed);
    img->kval = mem_malloc((p->nconst + 1) * sizeof *img->kval);
    if (!img->kval) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    for (uint32_t k = 0; k < p->nconst; k++)
        img->kval[k] = vm_const_value(p, k);
    /* a slot for every metadata key the code reads */
    img->meta_slot = mem_malloc((p->nstr + 1) * sizeof *img->meta_slot);
    if (!img->meta_slot) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    memset(img->meta_slot, 0xff, (p->nstr + 1) * sizeof *img->meta_slot);
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        uint32_t w = p->code[pc], key = INS_OP(w) == OP_LDMETA ? INS_ARG(w)
                     : INS_OP(w) == OP_JMT ? p->mtests[INS_ARG(w)].key
                     : INS_OP(w) == OP_DISPATCH ? p->dispatches[INS_ARG(w)].key : RV_NONE;
        if (key != RV_NONE && img->meta_slot[key] == RV_NONE)
            img->meta_slot[key] = img->nmeta_slot++;
    }
    if (jmt_records(img)) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    img->out_limit = mem_calloc(p->nagent + 1, sizeof *img->out_limit);
    if (!img->out_limit) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    for (uint32_t a = 0; a < p->nagent; a++)
        img->out_limit[a] = gd_output_limit(p, a);
    for (uint32_t a = 0; a < p->nagent; a++) {
        img->request_budgets |= p->agents[a].budget_request != 0;
        img->day_budgets |= p->agents[a].budget_day != 0;
    }
    for (uint32_t r = 0; r < p->nrule && !img->rule_settings; r++)
        img->rule_settings = p->rules[r].timeout || p->rules[r].backoff || p->rules[r].retry != RV_NONE ||
                             p->rules[r].retry_on;
    if (dispatch_table(img) || plan_build(img) || call_tables(img)) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    return 0;
}

/* Does route code [start, end) change nothing in the VM but the rule it
   records (RULE)?  Tests of metadata and request values, arithmetic and
   comparisons, the builtins a plan admits (pure, never failing), jumps
   and the targets; not a regex (its match data, the guardrails' timing),
   another builtin (lang() keeps what it found, lower() takes memory), a
   split (the result's split and arm) or a hook (where to resume). */
static int plain_code(const rv_program *p, uint32_t start, uint32_t end)
{
    for (uint32_t pc = start; pc < end; pc++)
        switch (INS_OP(p->code[pc])) {
        case OP_PUSHK: case OP_PUSHB: case OP_LDREQ: case OP_LDMETA: case OP_POP: case OP_NOT: case OP_NEG:
        case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_EQ: case OP_NE: case OP_LT: case OP_LE:
        case OP_GT: case OP_GE: case OP_INK: case OP_INL: case OP_JMP: case OP_JMPF: case OP_JMPFK:
        case OP_JMPTK: case OP_RULE: case OP_DECIDE: case OP_DELEGATE: case OP_CHOOSE: case OP_CASCADE:
        case OP_FAIL: case OP_EQK: case OP_NEK: case OP_JMT: case OP_JKT: case OP_DISPATCH: case OP_CHAIN:
            break;
        case OP_CALLB:
            if (!plan_pure_builtin(INS_ARG(p->code[pc])))
                return 0;
            break;
        default:
            return 0;
        }
    return 1;
}

/* What a decision's start and first call read, once per image: how each
   agent's decisions start, each model's system prompt when it is sent
   as written.  0, or -1 when out of memory. */
static int call_tables(rv_image *img)
{
    const rv_program *p = img->p;
    img->astart = mem_calloc(p->nagent + 1, sizeof *img->astart);
    img->msys = mem_calloc(p->nmodel + 1, sizeof *img->msys);
    if (!img->astart || !img->msys)
        return -1;
    for (uint32_t a = 0; a < p->nagent; a++) {
        const rv_func *f = &p->funcs[p->agents[a].func];
        struct vm_astart *as = &img->astart[a];
        as->plan = img->plans[p->agents[a].func];
        as->pc = f->start;
        as->plain = !p->agents[a].guard_count && (as->plan || plain_code(p, f->start, f->end));
        as->dk = RV_NONE;
        if (!as->plan && f->start < f->end && INS_OP(p->code[f->start]) == OP_DISPATCH) {
            as->dk = INS_ARG(p->code[f->start]);
            as->dkey = img->slot_key[img->meta_slot[p->dispatches[as->dk].key]];
        }
    }
    for (uint32_t m = 0; m < p->nmodel; m++) {
        uint32_t sys = p->models[m].system;
        if (sys == RV_NONE)
            img->msys[m] = (rv_sv){ "", 0 };
        else if (!memchr(rv_str(p, sys), '{', p->str_len[sys]))
            img->msys[m] = (rv_sv){ rv_str(p, sys), p->str_len[sys] };
    }
    return 0;
}

/* The tables of every dispatch's values (vm.h), each at most three
   quarters full.  A value listed twice in one dispatch keeps its first
   row.  A class whose first rule is 'RULE r; DECIDE m' (a rule whose
   whole condition was the dispatched test) has that decision in the slot,
   so a hit need not read the code. */
static int dispatch_table(rv_image *img)
{
    const rv_program *p = img->p;
    uint64_t total = 0;
    img->dtab = mem_malloc(((size_t)p->ndispatch + 1) * sizeof *img->dtab);
    if (!img->dtab)
        return -1;
    for (uint32_t k = 0; k < p->ndispatch; k++) {
        uint64_t cap = 4;
        while (cap < 4 * (uint64_t)p->dispatches[k].vcount / 3 + 2)
            cap *= 2;
        if (total + cap > UINT32_MAX / 2)
            return -1;
        img->dtab[k] = (struct rv_dtab){ (uint32_t)total, (uint32_t)cap - 1 };
        total += cap;
    }
    img->dslot_mem = mem_malloc((size_t)total * sizeof *img->dslot + 64);
    img->dentry = mem_calloc((size_t)total + 1, sizeof *img->dentry);
    if (!img->dslot_mem || !img->dentry)
        return -1;
    img->dslot = (struct rv_dslot *)(((uintptr_t)img->dslot_mem + 63) & ~(uintptr_t)63);
    for (uint64_t i = 0; i < total; i++)
        img->dslot[i] = (struct rv_dslot){ .model = RV_DSLOT_EMPTY };
    for (uint32_t k = 0; k < p->ndispatch; k++) {
        const rv_dispatch *d = &p->dispatches[k];
        uint32_t base = img->dtab[k].base, mask = img->dtab[k].mask;
        for (uint32_t r = d->vfirst; r < d->vfirst + d->vcount; r++) {
            uint32_t str = p->dvalues[r].value, len = p->str_len[str];
            const char *s = rv_str(p, str);
            if (len == UINT32_MAX || vm_dispatch_find(img, k, s, len))
                continue;
            const rv_dclass *c = &p->dclasses[d->cfirst + p->dvalues[r].cls];
            uint32_t first = c->count ? p->dpcs[c->first] : d->end, rule = first, model = RV_DSLOT_CODE;
            if ((uint64_t)first + 1 < p->ncode && INS_OP(p->code[first]) == OP_RULE &&
                INS_OP(p->code[first + 1]) == OP_DECIDE && INS_ARG(p->code[first + 1]) < RV_DSLOT_EMPTY) {
                rule = INS_ARG(p->code[first]);
                model = (uint16_t)INS_ARG(p->code[first + 1]);
            }
            uint64_t head = vm_head8(s, len);
            uint32_t i = vm_dhash(k, head, s, len) & mask;
            while (img->dslot[base + i].model != RV_DSLOT_EMPTY)
                i = (i + 1) & mask;
            img->dslot[base + i] = (struct rv_dslot){ head, len < RV_DSLOT_LONG ? (uint16_t)len : RV_DSLOT_LONG,
                                                      model, rule };
            img->dentry[base + i] = (struct rv_dentry){ s, p->dpcs + c->first, c->count, len, first };
        }
    }
    return 0;
}

void vm_image_free(rv_image *img)
{
    if (img->re)
        for (uint32_t i = 0; i < img->p->nregex; i++) {
            pcre2_code_free(img->re[i]);
            ls_free(img->lits[i]);
        }
    free(img->re);
    free(img->lits);
    free(img->meta_slot);
    free(img->slot_key);
    free(img->jmt);
    free(img->jstr);
    free(img->kval);
    free(img->dslot_mem);
    free(img->dentry);
    free(img->dtab);
    free(img->out_limit);
    free(img->astart);
    free(img->msys);
    plan_free(img);
    memset(img, 0, sizeof *img);    /* freeing it again is harmless */
}

rv_value vm_const_value(const rv_program *p, uint32_t k)
{
    const rv_const *c = &p->consts[k];
    rv_value v = { .t = c->type };
    switch (c->type) {
    case RV_T_STR:
        v.u.s = rv_str(p, c->str);
        v.n = p->str_len[c->str];
        break;
    case RV_T_LIST:
        v.lk = 0;
        v.u.k = p->items + c->first;
        v.n = c->count;
        break;
    case RV_T_REGEX:
        v.u.i = c->str;
        break;
    case RV_T_NIL:
        break;
    default:
        v.u.i = c->i;
        break;
    }
    return v;
}
