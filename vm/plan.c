/* Rule plans: see plan.h for what they are and which functions get one.

   The builder reads only verified code (vm_image_init calls it after the
   verifier accepted the program), yet bounds everything it builds: at most
   PLAN_MAX_RULES rules and PLAN_MAX_GROUPS groups (one bit of a mask
   each), PLAN_MAX_CODE instructions, PLAN_MAX_VALUES strings and
   PLAN_MAX_META metadata tests per plan, and PLAN_WORK steps and
   PLAN_ROOM (+ PLAN_ROOM_CODE per instruction) bytes for all the plans
   of an image, so that a small crafted file cannot make loading slow or
   large; beyond any of these a function keeps the interpreter.  A shape
   it does not know is not an error either: no plan.

   The runner (vm_exec_plan, in interp.c) shares every test's meaning
   with the interpreter: metadata values come from req_meta() as JMT's
   do, and a metadata test holds exactly when its JMT would, by the same
   bytes; request values are read and compared by the interpreter's own
   functions (req_field, callb, jkt_test), or by a shortcut (fast_test
   below) only where the types make it the same comparison.  A request's
   routing view answers a metadata group exactly as its lookup would: the
   kills by id are the value table's entries (dict_kills below). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "opcodes.h"
#include "plan.h"

/* ---------------------------------------------------------------- building */

/* A test of the rule being read: its group and where it jumps when it
   does not hold. */
typedef struct {
    uint32_t group, target;
    uint32_t mtest;             /* META: its JMT's mtest */
} test;

typedef struct {
    const rv_image *img;
    const rv_program *p;
    struct vm_plan *pl;
    uint32_t start[PLAN_MAX_RULES];         /* each rule's first pc */
    struct { uint32_t mtest, group, rule; } meta[PLAN_MAX_META];
    uint32_t nmeta;
    uint64_t *ckill;                        /* per dispatch class: the rules it rules out */
    uint32_t *stamp;                        /* per value slot: scratch marks */
    vm_plan scratch;                        /* the plan being built ('pl'), its rules and groups here */
    plan_rule rules[PLAN_MAX_RULES];
    plan_group groups[PLAN_MAX_GROUPS];
    uint64_t work;                          /* steps left to all the image's plans (PLAN_WORK) */
    size_t room;                            /* bytes left to them */
} builder;

/* Take 'n' steps of the builder's work, or -1 when they are not left. */
static int spend(builder *b, uint64_t n)
{
    if (n > b->work)
        return -1;
    b->work -= n;
    return 0;
}

static uint32_t meta_group(builder *b, uint32_t slot)
{
    struct vm_plan *pl = b->pl;
    const rv_sv *key = &b->img->slot_key[slot];
    for (uint32_t g = 0; g < pl->ngroup; g++)
        if (pl->groups[g].kind == PG_META && pl->groups[g].key.s == key->s)
            return g;
    if (pl->ngroup == PLAN_MAX_GROUPS)
        return RV_NONE;
    pl->groups[pl->ngroup] = (plan_group){ .kind = PG_META, .key = b->img->slot_key[slot] };
    return pl->ngroup++;
}

static uint32_t req_group(builder *b, const vm_reqtest *t)
{
    struct vm_plan *pl = b->pl;
    const rv_program *p = b->p;
    for (uint32_t g = 0; g < pl->ngroup; g++) {
        const vm_reqtest *o = &pl->groups[g].t;
        if (pl->groups[g].kind != PG_REQ || o->field != t->field || o->builtin != t->builtin || o->neg != t->neg ||
            (o->mtest == RV_NONE) != (t->mtest == RV_NONE))
            continue;
        if (t->mtest == RV_NONE || (p->mtests[o->mtest].op == p->mtests[t->mtest].op &&
                                    p->mtests[o->mtest].konst == p->mtests[t->mtest].konst))
            return g;           /* the same test: its answer is shared */
    }
    if (pl->ngroup == PLAN_MAX_GROUPS)
        return RV_NONE;
    pl->groups[pl->ngroup] = (plan_group){ .kind = PG_REQ, .t = *t };
    return pl->ngroup++;
}

/* The shortcut for test 't' (vm_reqtest.fast) where there is one: a
   request field compared with a constant of its own type, which JKT
   compares as integers; bytes(input) and bucket(user) likewise (both
   are ints of a string that is never missing); a bool field as a
   condition. */
static void fast_test(const rv_program *p, vm_reqtest *t)
{
    static const uint8_t cmp[RV_MT__COUNT] = { [RV_MT_EQ] = 2, [RV_MT_NE] = 5, [RV_MT_LT] = 1, [RV_MT_LE] = 3,
                                                [RV_MT_GT] = 4, [RV_MT_GE] = 6 };
    rv_type ft = rv_reqfields[t->field].type;
    if (t->mtest == RV_NONE) {
        if (t->builtin == RV_NONE && ft == RV_T_BOOL)
            t->fast = RQ_BOOL;
        return;
    }
    const rv_mtest *m = &p->mtests[t->mtest];
    const rv_const *k = &p->consts[m->konst];
    if (m->op >= RV_MT__COUNT || !cmp[m->op])
        return;
    if (t->builtin == RV_NONE && (ft == RV_T_INT || ft == RV_T_TOKENS) && k->type == ft)
        t->fast = RQ_INT;
    else if (t->builtin == RV_BI_bytes && t->field == RV_REQ_INPUT && k->type == rv_builtins[RV_BI_bytes].ret)
        t->fast = RQ_INPUT_BYTES;
    else if (t->builtin == RV_BI_bucket && t->field == RV_REQ_USER && k->type == rv_builtins[RV_BI_bucket].ret)
        t->fast = RQ_USER_BUCKET;
    else
        return;
    t->cmp = cmp[m->op];
    t->k = k->i;
}

int plan_pure_builtin(uint32_t b)
{
    return b == RV_BI_bytes || b == RV_BI_bucket || b == RV_BI_len || b == RV_BI_tokens || b == RV_BI_number ||
           b == RV_BI_decimal;
}

/* Read one test at '*pc' (before 'end'): its group and failure target.
   0, or -1 when the code there is not a test a plan admits. */
static int read_test(builder *b, uint32_t *pc, uint32_t end, test *t)
{
    const rv_program *p = b->p;
    uint32_t w = p->code[*pc];
    if (INS_OP(w) == OP_JMT) {
        const struct rv_jmt *j = &b->img->jmt[INS_ARG(w)];
        if (j->slot == RV_NONE)
            return -1;
        t->group = meta_group(b, j->slot);
        t->target = j->target;
        t->mtest = INS_ARG(w);
        ++*pc;
        return t->group == RV_NONE ? -1 : 0;
    }
    if (INS_OP(w) != OP_LDREQ || *pc + 1 >= end)
        return -1;
    vm_reqtest rt = { .field = INS_ARG(w), .builtin = RV_NONE, .mtest = RV_NONE };
    uint32_t at = *pc + 1;
    w = p->code[at];
    if (INS_OP(w) == OP_CALLB && plan_pure_builtin(INS_ARG(w)) && at + 1 < end) {
        rt.builtin = INS_ARG(w);
        w = p->code[++at];
    }
    if (INS_OP(w) == OP_JKT) {
        rt.mtest = INS_ARG(w);
        t->target = p->mtests[rt.mtest].target;
    } else {
        if (INS_OP(w) == OP_NOT && rt.builtin == RV_NONE && at + 1 < end) {
            rt.neg = 1;
            w = p->code[++at];
        }
        if (INS_OP(w) != OP_JMPF)
            return -1;
        t->target = at + 1 + (uint32_t)INS_SARG(w);
    }
    fast_test(p, &rt);
    t->group = req_group(b, &rt);
    t->mtest = RV_NONE;
    *pc = at + 1;
    return t->group == RV_NONE ? -1 : 0;
}

/* The ex_result of a target instruction that ends the route, or -1. */
static int target_ex(rv_opcode op)
{
    switch (op) {
    case OP_DECIDE: return EX_DECIDE;
    case OP_CHOOSE: return EX_CHOOSE;
    case OP_CASCADE: return EX_CASCADE;
    case OP_DELEGATE: return EX_DELEGATE;
    default: return -1;
    }
}

/* Read one rule at '*pc': tests, RULE, its target, and (dispatched) the
   CHAIN its tests jump to.  0, or -1 when it is not of the plan's shape. */
static int read_rule(builder *b, uint32_t *pc, uint32_t end, uint32_t dk)
{
    const rv_program *p = b->p;
    struct vm_plan *pl = b->pl;
    test tests[PLAN_MAX_GROUPS];
    uint32_t ntest = 0, at = *pc;
    if (pl->nrule == PLAN_MAX_RULES)
        return -1;
    while (at < end && INS_OP(p->code[at]) != OP_RULE) {
        if (ntest == PLAN_MAX_GROUPS || read_test(b, &at, end, &tests[ntest]))
            return -1;
        ntest++;
    }
    if (at + 1 >= end || INS_OP(p->code[at]) != OP_RULE || target_ex(INS_OP(p->code[at + 1])) < 0)
        return -1;
    uint32_t rule = INS_ARG(p->code[at]), tw = p->code[at + 1], fail = at + 2;
    at += 2;
    if (dk != RV_NONE && at < end && INS_OP(p->code[at]) == OP_CHAIN && INS_ARG(p->code[at]) == dk)
        at++;               /* the tests fail to the CHAIN */
    else if (dk != RV_NONE && ntest)
        return -1;
    uint32_t r = pl->nrule;
    pl->rules[r] = (plan_rule){ 0, rule, (uint32_t)target_ex(INS_OP(tw)), INS_ARG(tw) };
    for (uint32_t i = 0; i < ntest; i++) {
        if (tests[i].target != fail)
            return -1;      /* an 'or', or a jump elsewhere */
        uint32_t g = tests[i].group;
        if (tests[i].mtest != RV_NONE) {
            if (b->nmeta == PLAN_MAX_META)
                return -1;
            b->meta[b->nmeta].mtest = tests[i].mtest;
            b->meta[b->nmeta].group = g;
            b->meta[b->nmeta++].rule = r;
        } else {
            pl->groups[g].users |= 1ull << r;
        }
        pl->rules[r].need |= 1ull << g;
    }
    b->start[r] = *pc;
    pl->nrule++;
    pl->all |= 1ull << r;
    *pc = at;
    return 0;
}

/* Number the groups metadata first, in the order the code first tests
   them, then the request tests likewise: the runner asks a rule's
   lowest-numbered group first, and a lookup is cheaper than most request
   tests (tokens(input) reads every message). */
static void renumber(builder *b)
{
    vm_plan *pl = b->pl;
    uint32_t to[PLAN_MAX_GROUPS], n = 0;
    plan_group old[PLAN_MAX_GROUPS];
    memcpy(old, pl->groups, pl->ngroup * sizeof *old);
    for (int kind = PG_META; kind <= PG_REQ; kind++)
        for (uint32_t g = 0; g < pl->ngroup; g++)
            if (old[g].kind == kind) {
                to[g] = n;
                pl->groups[n++] = old[g];
            }
    for (uint32_t r = 0; r < pl->nrule; r++) {
        uint64_t need = 0;
        for (uint32_t g = 0; g < pl->ngroup; g++)
            if (pl->rules[r].need >> g & 1)
                need |= 1ull << to[g];
        pl->rules[r].need = need;
    }
    for (uint32_t i = 0; i < b->nmeta; i++)
        b->meta[i].group = to[b->meta[i].group];
    if (pl->dgroup != RV_NONE)
        pl->dgroup = to[pl->dgroup];
}

/* The rule starting at 'pc' (rules start in ascending order), or RV_NONE. */
static uint32_t rule_at(const builder *b, uint32_t pc)
{
    uint32_t lo = 0, hi = b->pl->nrule;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (b->start[mid] < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->pl->nrule && b->start[lo] == pc ? lo : RV_NONE;
}

/* Per class of dispatch 'dk', the rules it rules out (b->ckill).  0, or
   -1 when a class lists a pc that starts no rule, or there are too many
   classes. */
static int class_kills(builder *b, uint32_t dk)
{
    const rv_program *p = b->p;
    const rv_dispatch *d = &p->dispatches[dk];
    if (d->ccount > PLAN_MAX_VALUES + 1 || spend(b, (uint64_t)d->ccount * 8 * PLAN_MAX_RULES) ||
        !(b->ckill = mem_calloc(d->ccount, sizeof *b->ckill)))
        return -1;
    for (uint32_t c = 0; c < d->ccount; c++) {
        const rv_dclass *cl = &p->dclasses[d->cfirst + c];
        uint64_t in = 0;
        for (uint32_t i = 0; i < cl->count; i++) {
            uint32_t r = rule_at(b, p->dpcs[cl->first + i]);
            if (r == RV_NONE)
                return -1;
            in |= 1ull << r;
        }
        b->ckill[c] = b->pl->all & ~in;
    }
    return 0;
}

/* Add string 's' to group 'g' (once).  0, or -1 when the table is full. */
static int value_add(struct vm_plan *pl, uint32_t *nval, uint32_t g, const char *s, uint32_t n)
{
    if (plan_find(pl, g, s, n))
        return 0;
    if (*nval == PLAN_MAX_VALUES)
        return -1;
    uint64_t head = vm_head8(s, n);
    uint32_t i = plan_hash(g, head, s, n) & pl->vmask;
    while (pl->vals[i].group != RV_NONE)
        i = (i + 1) & pl->vmask;
    pl->vals[i] = (plan_value){ head, s, n, g, 0 };
    ++*nval;
    return 0;
}

/* The value table: every string a metadata group compares with, and what
   each rules out -- and what a missing or unlisted value rules out.
   0, or -1 (too many strings, out of memory). */
static int value_table(builder *b, uint32_t dk)
{
    const rv_program *p = b->p;
    struct vm_plan *pl = b->pl;
    uint64_t nstr = 0;
    for (uint32_t i = 0; i < b->nmeta; i++)
        nstr += b->img->jmt[b->meta[i].mtest].nitems;
    if (dk != RV_NONE)
        nstr += p->dispatches[dk].vcount;
    if (nstr > PLAN_MAX_VALUES)
        return -1;
    uint32_t cap = 8;
    while (cap < 4 * nstr)
        cap *= 2;
    size_t bytes = sizeof *pl + pl->nrule * sizeof *pl->rules + pl->ngroup * sizeof *pl->groups +
                   cap * sizeof *pl->vals + pl->ngroup * (sizeof *pl->small << PLAN_SMALL_BITS);
    if (spend(b, (uint64_t)(b->nmeta + 2) * cap + nstr) || bytes > b->room)
        return -1;
    b->room -= bytes;
    pl->vals = mem_calloc(cap, sizeof *pl->vals);
    b->stamp = mem_calloc(cap, sizeof *b->stamp);
    if (!pl->vals || !b->stamp)
        return -1;
    for (uint32_t e = 0; e < cap; e++)
        pl->vals[e].group = RV_NONE;
    pl->vmask = cap - 1;
    uint32_t nval = 0;
    for (uint32_t i = 0; i < b->nmeta; i++) {
        const struct rv_jmt *j = &b->img->jmt[b->meta[i].mtest];
        for (uint32_t k = 0; k < j->nitems; k++)
            if (value_add(pl, &nval, b->meta[i].group, j->items[k].s, j->items[k].len))
                return -1;
    }
    if (dk != RV_NONE) {
        const rv_dispatch *d = &p->dispatches[dk];
        for (uint32_t v = d->vfirst; v < d->vfirst + d->vcount; v++)
            if (value_add(pl, &nval, pl->dgroup, rv_str(p, p->dvalues[v].value), p->str_len[p->dvalues[v].value]))
                return -1;
    }
    /* each test: the strings it lists make it hit (as its JMT compares),
       every other value and a missing key miss; it holds when that is
       what it wants (== and in hit, != and not in miss) */
    for (uint32_t i = 0; i < b->nmeta; i++) {
        const struct rv_jmt *j = &b->img->jmt[b->meta[i].mtest];
        uint32_t g = b->meta[i].group;
        uint64_t bit = 1ull << b->meta[i].rule;
        for (uint32_t k = 0; k < j->nitems; k++)
            b->stamp[plan_find(pl, g, j->items[k].s, j->items[k].len) - pl->vals] = i + 1;
        for (uint32_t e = 0; e <= pl->vmask; e++)
            if (pl->vals[e].group == g && (b->stamp[e] == i + 1) != j->want)
                pl->vals[e].kill |= bit;
        if (j->want)
            pl->groups[g].other |= bit;
    }
    if (dk == RV_NONE)
        return 0;
    /* the dispatch: a listed value's class is its first row's (as the
       dispatch table keeps it), anything else is class 0 */
    const rv_dispatch *d = &p->dispatches[dk];
    memset(b->stamp, 0, cap * sizeof *b->stamp);
    for (uint32_t r = d->vfirst; r < d->vfirst + d->vcount; r++) {
        uint32_t str = p->dvalues[r].value;
        uint32_t e = (uint32_t)(plan_find(pl, pl->dgroup, rv_str(p, str), p->str_len[str]) - pl->vals);
        if (!b->stamp[e]) {
            b->stamp[e] = 1;
            pl->vals[e].kill |= b->ckill[p->dvalues[r].cls];
        }
    }
    for (uint32_t e = 0; e <= pl->vmask; e++)
        if (pl->vals[e].group == pl->dgroup && !b->stamp[e])
            pl->vals[e].kill |= b->ckill[0];
    pl->groups[pl->dgroup].other |= b->ckill[0];
    return 0;
}

/* A multiplier that puts the 'n' strings 'e' in distinct slots of a
   table of 1 << PLAN_SMALL_BITS, or 0 when the tries run out (or two
   strings share their first 8 bytes and length). */
static uint64_t small_mul(plan_value *const *e, uint32_t n)
{
    uint64_t m = 0x9e3779b97f4a7c15ull;
    for (int tries = 0; tries < 256; tries++) {
        uint32_t used = 0, i = 0;
        for (; i < n; i++) {
            uint32_t at = (uint32_t)(((e[i]->head ^ e[i]->len) * m) >> (64 - PLAN_SMALL_BITS));
            if (used >> at & 1)
                break;
            used |= 1u << at;
        }
        if (i == n)
            return m;
        m = m * 0x5851f42d4c957f2dull + 0x14057b7ef767814full;
        m |= 1;
    }
    return 0;
}

/* The groups with at most PLAN_SMALL strings get a small table of their
   own ('small'), where a value is found by one multiplication and one
   compare.  0, or -1 when out of memory. */
static int small_groups(vm_plan *pl)
{
    const uint32_t size = 1u << PLAN_SMALL_BITS;
    uint32_t count[PLAN_MAX_GROUPS] = { 0 }, n = 0;
    for (uint32_t e = 0; e <= pl->vmask; e++)
        if (pl->vals[e].group != RV_NONE)
            count[pl->vals[e].group]++;
    for (uint32_t g = 0; g < pl->ngroup; g++)
        if (pl->groups[g].kind == PG_META && count[g] <= PLAN_SMALL)
            n += size;
    if (!n || !(pl->small = mem_malloc(n * sizeof *pl->small)))
        return n ? -1 : 0;
    for (uint32_t i = 0; i < n; i++)
        pl->small[i] = (plan_small){ .len = UINT32_MAX };
    n = 0;
    for (uint32_t g = 0; g < pl->ngroup; g++) {
        plan_value *mine[PLAN_SMALL];
        uint32_t k = 0;
        if (pl->groups[g].kind != PG_META || count[g] > PLAN_SMALL)
            continue;
        for (uint32_t e = 0; e <= pl->vmask; e++)
            if (pl->vals[e].group == g)
                mine[k++] = &pl->vals[e];
        uint64_t m = small_mul(mine, k);
        if (!m)
            continue;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t at = (uint32_t)(((mine[i]->head ^ mine[i]->len) * m) >> (64 - PLAN_SMALL_BITS));
            pl->small[n + at] = (plan_small){ mine[i]->head, mine[i]->kill, mine[i]->s, mine[i]->len };
        }
        pl->groups[g].mul = m;
        pl->groups[g].sfirst = n;
        pl->groups[g].shift = 64 - PLAN_SMALL_BITS;
        n += size;
    }
    return 0;
}

/* The plan of route function 'f', or NULL (not of the shape, too large,
   the image's budget spent, out of memory).  'b' is the image's builder:
   its work and room carry over, the rest is this function's. */
static vm_plan *plan_of(builder *b, const rv_func *f)
{
    const rv_image *img = b->img;
    const rv_program *p = img->p;
    if (f->kind != RV_FN_ROUTE || f->end - f->start > PLAN_MAX_CODE || spend(b, f->end - f->start))
        return NULL;
    vm_plan *pl = &b->scratch, *out = NULL;
    *pl = (vm_plan){ .rules = b->rules, .groups = b->groups, .dgroup = RV_NONE, .fail_pc = RV_NONE };
    b->pl = pl;
    b->nmeta = 0;
    b->ckill = NULL;
    b->stamp = NULL;
    uint32_t pc = f->start, end = f->end, dk = RV_NONE;
    if (INS_OP(p->code[pc]) == OP_DISPATCH) {
        dk = INS_ARG(p->code[pc]);
        pl->dgroup = meta_group(b, img->meta_slot[p->dispatches[dk].key]);
        end = p->dispatches[dk].end;        /* (after the DISPATCH, inside the function: verified) */
        pc++;
    }
    while (pc < end && INS_OP(p->code[pc]) != OP_FAIL)
        if (read_rule(b, &pc, end, dk))
            goto done;
    if (pc < f->end && INS_OP(p->code[pc]) == OP_FAIL && pc + 1 == f->end) {
        pl->fail_pc = pc;
        pl->fail_msg = rv_str(p, INS_ARG(p->code[pc]));
    } else if (!(dk == RV_NONE && pc == f->end && pl->nrule && !pl->rules[pl->nrule - 1].need)) {
        goto done;          /* neither FAIL nor a last rule that always matches */
    }
    if (dk != RV_NONE && (pl->fail_pc != p->dispatches[dk].end || class_kills(b, dk)))
        goto done;
    renumber(b);
    if (value_table(b, dk) || small_groups(pl))
        goto done;
    pl->dmask = pl->dgroup != RV_NONE ? 1ull << pl->dgroup : 0;
    /* the plan, its rules and groups in one block of their size */
    out = mem_malloc(sizeof *out + pl->nrule * sizeof *pl->rules + pl->ngroup * sizeof *pl->groups);
    if (out) {
        *out = *pl;
        out->rules = (plan_rule *)(out + 1);
        out->groups = (plan_group *)(out->rules + pl->nrule);
        memcpy(out->rules, pl->rules, pl->nrule * sizeof *pl->rules);
        memcpy(out->groups, pl->groups, pl->ngroup * sizeof *pl->groups);
        pl->vals = NULL;                    /* (now the plan's) */
        pl->small = NULL;
    }
done:
    free(pl->vals);
    free(pl->small);
    free(b->ckill);
    free(b->stamp);
    return out;
}

/* Register the strings of plan 'pl''s metadata groups with dictionary
   'd' (each group's 'vkey': its key's index, or RV_NONE). */
static void dict_add(rv_reqdict *d, vm_plan *pl)
{
    for (uint32_t g = 0; g < pl->ngroup; g++) {
        plan_group *gr = &pl->groups[g];
        gr->vkey = RV_NONE;
        if (gr->kind == PG_REQ) {
            if (gr->t.fast == RQ_USER_BUCKET)
                req_dict_want_bucket(d);
            continue;
        }
        int k = req_dict_key(d, gr->key.s, gr->key.len);
        if (k < 0)
            continue;
        gr->vkey = (uint32_t)k;
        for (uint32_t e = 0; e <= pl->vmask; e++)
            if (pl->vals[e].group == g)
                req_dict_str(d, k, pl->vals[e].s, pl->vals[e].len);
    }
}

/* The entries of a group's kills by id: its 'nid' ids, rounded up to a
   power of two (plan.h, eager groups). */
static uint32_t id_room(uint32_t nid)
{
    uint32_t n = 1;
    while (n < nid)
        n *= 2;
    return n;
}

/* An eager test's value is a scalar of the request's first line: the
   routing view's, or one after it, read as the 8 bytes at its offset. */
_Static_assert(offsetof(rv_request, view.input_bytes) + 8 <= 64 && offsetof(rv_request, view.bucket) + 8 <= 64 &&
               offsetof(rv_request, stream) + 8 <= 64 && offsetof(rv_request, images) + 8 <= 64 &&
               offsetof(rv_request, turns) + 8 <= 64 && offsetof(rv_request, max_tokens) + 8 <= 64,
               "an eager test's value is in the request's first line");

/* The value test 't' reads, when it is a scalar of the request's first
   line: its offset and mask (an int and the u32s masked to 32 bits: 0
   stays 0 and the u32s their value; the u8 to 8; max_tokens whole).
   0, or -1 when it is not such a test. */
static int eager_source(const vm_reqtest *t, uint32_t *off, uint64_t *mask)
{
    const uint64_t u8 = 0xff, u32 = 0xffffffffu, all = ~0ull;
    switch (t->fast) {
    case RQ_INPUT_BYTES: *off = offsetof(rv_request, view.input_bytes); *mask = u32; return 0;
    case RQ_USER_BUCKET: *off = offsetof(rv_request, view.bucket); *mask = u8; return 0;
    case RQ_BOOL:
        if (t->field != RV_REQ_STREAM)
            return -1;
        *off = offsetof(rv_request, stream);
        *mask = u32;
        return 0;
    case RQ_INT:
        switch (t->field) {
        case RV_REQ_IMAGES: *off = offsetof(rv_request, images); *mask = u32; return 0;
        case RV_REQ_TURNS: *off = offsetof(rv_request, turns); *mask = u32; return 0;
        case RV_REQ_MAXTOK: *off = offsetof(rv_request, max_tokens); *mask = all; return 0;
        default: return -1;
        }
    default:
        return -1;
    }
}

/* Does test 't' hold for value x (as req_test() decides it)? */
static int eager_holds(const vm_reqtest *t, int64_t x)
{
    if (t->fast == RQ_BOOL)
        return (x != 0) != t->neg;
    return t->cmp >> ((x > t->k) - (x < t->k) + 1) & 1;
}

/* Add point 'c' to source 'e' (sorted, once; while building, points are
   kept as they are, signed) if a value can be on both sides of it
   (lo < c <= hi).  0, or -1 when it has PLAN_CUTS. */
static int cut_add(struct plan_src *e, int64_t c, int64_t lo, int64_t hi)
{
    if (c <= lo || c > hi)
        return 0;
    uint32_t i = 0;
    while (i < e->ncut && (int64_t)e->cut[i] < c)
        i++;
    if (i < e->ncut && (int64_t)e->cut[i] == c)
        return 0;
    if (e->ncut == PLAN_CUTS)
        return -1;
    memmove(e->cut + i + 1, e->cut + i, (e->ncut - i) * sizeof *e->cut);
    e->cut[i] = (uint64_t)c;
    e->ncut++;
    return 0;
}

/* The plan's eager request tests (vm_plan.src).  A test holds for all
   values below its k, or all from k + 1 on, or k alone, or their
   complements (or for none, or all), so it can change only at k and
   k + 1 (RQ_BOOL: compared with 0 as != or ==): between two
   successive points every test of the value is decided, and what its
   tests rule out there is the kill for the number of points below.  A
   test whose points do not fit stays to be asked.  A plan without a
   dictionary has none: its requests have no views, nothing says their
   first line is there to read before a rule needs it.  0, or -1 when out
   of room or memory (its tests are asked). */
static int eager_tests(builder *b, vm_plan *pl)
{
    struct plan_src src[PLAN_SOURCES];
    uint32_t n = 0;
    for (uint32_t g = 0; g < pl->ngroup; g++) {
        const plan_group *gr = &pl->groups[g];
        uint32_t off;
        uint64_t mask;
        if (gr->kind != PG_REQ || eager_source(&gr->t, &off, &mask))
            continue;
        uint32_t i = 0;
        while (i < n && src[i].off != off)
            i++;
        if (i == n) {
            if (n == PLAN_SOURCES)
                continue;
            src[n++] = (struct plan_src){ .mask = mask, .off = off };
        }
        struct plan_src *e = &src[i], keep = *e;
        int64_t lo = mask == ~0ull ? INT64_MIN : 0, hi = mask == ~0ull ? INT64_MAX : (int64_t)mask;
        /* where it changes: at k when x < k and x == k differ, at k + 1
           when x == k and x > k do */
        int64_t k = gr->t.fast == RQ_BOOL ? 0 : gr->t.k;
        uint32_t cmp = gr->t.fast == RQ_BOOL ? (gr->t.neg ? 2 : 5) : gr->t.cmp;
        if (((cmp & 1) != (cmp >> 1 & 1) && cut_add(e, k, lo, hi)) ||
            ((cmp >> 1 & 1) != (cmp >> 2 & 1) && k < INT64_MAX && cut_add(e, k + 1, lo, hi))) {
            *e = keep;          /* (its points do not fit: it is asked) */
            continue;
        }
        pl->eager_req |= 1ull << g;
    }
    if (!pl->eager_req)
        return 0;
    if (n * sizeof *pl->src > b->room || !(pl->src = mem_malloc(n * sizeof *pl->src))) {
        pl->eager_req = 0;
        return -1;
    }
    b->room -= n * sizeof *pl->src;
    for (uint32_t i = 0; i < n; i++) {
        struct plan_src *e = &src[i];
        int64_t lo = e->mask == ~0ull ? INT64_MIN : 0;
        struct plan_src *o = &pl->src[i];
        *o = (struct plan_src){ .mask = e->mask, .off = e->off, .ncut = e->ncut };
        for (uint32_t r = 0; r <= e->ncut; r++) {
            /* a value with r points at or below it: the lowest, or the
               r-th point; the others are above it */
            int64_t x = r == 0 ? lo : (int64_t)e->cut[r - 1];
            uint64_t *kill = &o->kill[e->ncut - r];
            for (uint32_t g = 0; g < pl->ngroup; g++) {
                const plan_group *gr = &pl->groups[g];
                uint32_t off;
                uint64_t mask;
                if ((pl->eager_req >> g & 1) && !eager_source(&gr->t, &off, &mask) && off == e->off &&
                    !eager_holds(&gr->t, x))
                    *kill |= gr->users;
            }
        }
        for (uint32_t c = 0; c < e->ncut; c++)
            o->cut[c] = e->cut[c] ^ (1ull << 63);      /* (the rest stay 0) */
    }
    pl->nsrc = n;
    return 0;
}

/* Plan 'pl''s kills by id for its groups whose keys are live in sealed
   dictionary 'd': id 0 (missing) and n + 1 (another value) rule out what
   the group's 'other' does, a string's id what its entry does -- the
   string's own when the group compares with it, else 'other'.  Within
   the builder's room; a group left without (RV_NONE) is looked up. */
static void dict_kills(builder *b, rv_reqdict *d, vm_plan *pl)
{
    size_t n = 0;
    for (uint32_t g = 0; g < pl->ngroup; g++)
        if (pl->groups[g].vkey != RV_NONE && req_dict_live(d, (int)pl->groups[g].vkey))
            n += id_room(req_dict_nstr(d, (int)pl->groups[g].vkey) + 2);
        else
            pl->groups[g].vkey = RV_NONE;
    pl->dict = d;
    pl->stamp = req_dict_stamp(d);
    eager_tests(b, pl);         /* (without: its tests are asked) */
    if (!n || n * sizeof *pl->idkill > b->room || spend(b, n) || !(pl->idkill = mem_malloc(n * sizeof *pl->idkill))) {
        for (uint32_t g = 0; g < pl->ngroup; g++)
            pl->groups[g].vkey = RV_NONE;
        return;
    }
    b->room -= n * sizeof *pl->idkill;
    n = 0;
    for (uint32_t g = 0; g < pl->ngroup; g++) {
        plan_group *gr = &pl->groups[g];
        if (gr->vkey == RV_NONE)
            continue;
        gr->idfirst = (uint32_t)n;
        gr->nid = req_dict_nstr(d, (int)gr->vkey) + 2;
        for (uint32_t i = 0; i < id_room(gr->nid); i++)
            pl->idkill[n + i] = gr->other;
        for (uint32_t e = 0; e <= pl->vmask; e++)
            if (pl->vals[e].group == g) {
                int id = req_dict_str(d, (int)gr->vkey, pl->vals[e].s, pl->vals[e].len);
                if (id > 0)         /* (always: it was added) */
                    pl->idkill[n + (uint32_t)id] = pl->vals[e].kill;
            }
        if (pl->neager < PLAN_EAGER) {
            pl->eagers[pl->neager++] = (struct plan_eager){ pl->idkill + n, id_room(gr->nid) - 1, gr->vkey };
            pl->eager |= 1ull << g;
        }
        n += id_room(gr->nid);
    }
}

/* The image's routing dictionary: the keys and strings of every plan's
   metadata groups.  Without it (no plan tests metadata or bucket(user),
   out of memory) requests get no views and plans look keys up. */
static void plan_dict(builder *b, rv_image *img)
{
    const rv_program *p = img->p;
    rv_reqdict *d = req_dict_new();
    uint32_t used = 0;
    for (uint32_t f = 0; d && f < p->nfunc; f++)
        if (img->plans[f]) {
            dict_add(d, img->plans[f]);
            used = 1;
        }
    if (!d || !used || req_dict_seal(d)) {
        req_dict_free(d);
        return;
    }
    img->dict = d;
    for (uint32_t f = 0; f < p->nfunc; f++)
        if (img->plans[f])
            dict_kills(b, d, img->plans[f]);
}

int plan_build(rv_image *img)
{
    const rv_program *p = img->p;
    img->plans = mem_calloc(p->nfunc + 1, sizeof *img->plans);
    builder *b = mem_malloc(sizeof *b);
    if (!img->plans || !b) {
        free(b);
        return -1;
    }
    b->img = img;
    b->p = p;
    b->work = PLAN_WORK;
    b->room = PLAN_ROOM + (size_t)PLAN_ROOM_CODE * p->ncode;
    for (uint32_t f = 0; f < p->nfunc; f++)
        img->plans[f] = plan_of(b, &p->funcs[f]);
    plan_dict(b, img);
    free(b);
    return 0;
}

void plan_free(rv_image *img)
{
    if (!img->plans)
        return;
    for (uint32_t f = 0; f < img->p->nfunc; f++)
        if (img->plans[f]) {
            free(img->plans[f]->vals);
            free(img->plans[f]->small);
            free(img->plans[f]->idkill);
            free(img->plans[f]->src);
            free(img->plans[f]);
        }
    free(img->plans);
    img->plans = NULL;
    req_dict_free(img->dict);
    img->dict = NULL;
}
