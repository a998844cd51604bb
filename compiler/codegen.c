/* Code generation: the checked AST becomes the code of an rv_program.

   Each agent's route is one ROUTE function.  Conditions compile to jumps
   (cg_branch), not to booleans, so 'a and b' costs two tests and no stack
   traffic.  Code that can never run is not emitted at all ('dead' below):
   a rule after 'otherwise', a rule whose condition is constantly false.
   The verifier rejects unreachable instructions, and this is why none
   exist.  'where' and 'check' expressions become WHERE and CHECK functions
   placed after the route that uses them; each test's expectations become
   EXPECT functions.  The program's tables -- interned strings and
   constants, source locations, the rows of models, rules, choices... --
   are tables.c's; this file emits instructions and fills the rows that
   point into the code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "fold.h"
#include "mem.h"
#include "opcodes.h"
#include "rbc.h"
#include "tables.h"

typedef struct { uint32_t *pc; uint32_t n, cap; } jumplist;

/* A WHERE or CHECK function to emit after the current route: 'owner' is
   the choice (WHERE) or cascade (CHECK) that gets its index. */
typedef struct {
    ast *expr;
    rv_fnkind fkind;
    uint32_t owner;
} deferred;

typedef struct {
    tab_builder t;                          /* the program and its tables */
    int dead;                               /* the next instruction cannot be reached */
    deferred *defer;
    uint32_t ndefer;
    size_t cap_defer;
    uint32_t rule_base;                     /* first rule index of the current agent */
} cg;

/* ---------------------------------------------------------------- code */

/* Emit one instruction; returns its pc, or RV_NONE when dead. */
static uint32_t emit(cg *g, rv_opcode op, uint32_t arg)
{
    rv_program *p = g->t.p;
    if (g->dead)
        return RV_NONE;
    if (arg > RV_ARG_MAX) {
        g->t.oom = 1;   /* a table too large for the encoding */
        return RV_NONE;
    }
    uint32_t n = p->ncode;
    uint32_t *l = tab_grow(&g->t, (void **)&p->pc_loc, &n, &g->t.cap_pcloc, sizeof *p->pc_loc);
    uint32_t *w = l ? TAB_ROW(&g->t, p->code, p->ncode, cap_code) : NULL;
    if (!w || !l)
        return RV_NONE;
    *w = INS(op, arg);
    *l = g->t.cur_loc;
    if (OP_NO_FALLTHROUGH(op))
        g->dead = 1;
    return p->ncode - 1;
}

static void jl_add(cg *g, jumplist *jl, uint32_t pc)
{
    if (pc == RV_NONE)
        return;
    size_t cap = jl->cap;
    if (jl->n >= cap) {
        size_t ncap = cap ? cap * 2 : 4;
        uint32_t *a = arena_alloc(&g->t.c->arena, ncap * sizeof *a);
        if (!a) {
            g->t.oom = 1;
            return;
        }
        if (jl->n)
            memcpy(a, jl->pc, jl->n * sizeof *a);
        jl->pc = a;
        jl->cap = (uint32_t)ncap;
    }
    jl->pc[jl->n++] = pc;
}

/* Point every jump in 'jl' here; reaching here by a jump makes code live. */
static void jl_patch_here(cg *g, jumplist *jl)
{
    uint32_t here = g->t.p->ncode;
    for (uint32_t i = 0; i < jl->n; i++) {
        uint32_t pc = jl->pc[i];
        if (INS_OP(g->t.p->code[pc]) == OP_JMT || INS_OP(g->t.p->code[pc]) == OP_JKT) {   /* target in the table */
            g->t.p->mtests[INS_ARG(g->t.p->code[pc])].target = here;
            continue;
        }
        uint32_t off = here - pc - 1;
        g->t.p->code[pc] = INS(INS_OP(g->t.p->code[pc]), off & RV_ARG_MAX);
        if (off > (uint32_t)RV_JUMP_MAX)
            g->t.oom = 1;
    }
    if (jl->n)
        g->dead = 0;
    jl->n = 0;
}

static void cg_expr(cg *g, ast *e);

/* A new row of the fused-test table; its target is patched with the jump. */
static uint32_t new_mtest(cg *g, uint32_t key, uint32_t konst, rv_mtop op)
{
    rv_mtest *t = TAB_ROW(&g->t, g->t.p->mtests, g->t.p->nmtest, cap_mtest);
    if (!t)
        return RV_NONE;
    t->key = key;
    t->konst = konst;
    t->op = op;
    t->target = 0;
    return g->t.p->nmtest - 1;
}

/* A fused metadata test for 'e' -- meta.x == k, !=, in, not in, with a
   constant k -- that jumps when 'e' is 'when'; RV_NONE when 'e' has
   another shape.  JMT jumps when its test does not hold, so jumping when
   'e' is true tests the negation (a missing key is unequal to anything,
   in no list: the negations stay exact). */
static uint32_t mtest_of(cg *g, ast *e, int when)
{
    if (g->dead || e->kind != E_BINARY)
        return RV_NONE;
    ast_binop op = e->u.bin.op;
    ast *l = e->u.bin.l;
    if (l->kind != E_MEMBER || l->ext != 'M')
        return RV_NONE;
    ast *k = fold_expr(g->t.c, e->u.bin.r, 0);
    rv_mtop mop;
    if ((op == AST_EQ || op == AST_NE) && k && k->kind == E_STR)
        mop = op == AST_EQ ? RV_MT_EQ : RV_MT_NE;
    else if ((op == AST_IN || op == AST_NOTIN) && k && k->kind == E_LIST)
        mop = op == AST_IN ? RV_MT_IN : RV_MT_NOTIN;
    else
        return RV_NONE;
    if (when)
        mop = mop == RV_MT_EQ ? RV_MT_NE : mop == RV_MT_NE ? RV_MT_EQ : mop == RV_MT_IN ? RV_MT_NOTIN : RV_MT_IN;
    uint32_t key = tab_str(&g->t, l->u.member.name), konst = tab_const(&g->t, k);
    return new_mtest(g, key, konst, mop);
}

/* Builtins and fields that are never negative, for the division rewrite
   below. */
static int non_negative(const ast *x)
{
    if (x->kind == E_CALL)
        return x->field == RV_BI_bytes || x->field == RV_BI_len || x->field == RV_BI_tokens ||
               x->field == RV_BI_bucket;
    return x->kind == E_NAME && x->ext == 'R' &&
           (x->field == RV_REQ_IMAGES || x->field == RV_REQ_TURNS || x->field == RV_REQ_MAXTOK);
}

/* A comparison with a constant, fused with its jump (JKT); emits the left
   side and returns the table row, or RV_NONE for another shape.  Only for
   jumps when false: with a missing value on the left the negation of an
   ordering would not be exact.
     x / k > n   becomes   x > n*k + k - 1   (x >= 0, k > 0: integer division)
     x / k >= n            x >= n*k
     x / k < n             x < n*k
     x / k <= n            x <= n*k + k - 1 */
static uint32_t ktest_of(cg *g, ast *e, int when)
{
    if (g->dead || when || e->kind != E_BINARY || e->u.bin.op < AST_EQ || e->u.bin.op > AST_GE)
        return RV_NONE;
    ast *l = e->u.bin.l, *k = fold_expr(g->t.c, e->u.bin.r, 0);
    if (!k || k->kind == E_LIST || k->kind == E_BOOL || k->kind == E_NAME || k->kind == E_MEMBER || k->kind == E_REGEX)
        return RV_NONE;
    static const rv_mtop mops[] = { [AST_EQ] = RV_MT_EQ, [AST_NE] = RV_MT_NE, [AST_LT] = RV_MT_LT,
                                    [AST_LE] = RV_MT_LE, [AST_GT] = RV_MT_GT, [AST_GE] = RV_MT_GE };
    rv_mtop mop = mops[e->u.bin.op];
    uint32_t konst;
    ast *d = l->kind == E_BINARY && l->u.bin.op == AST_DIV ? fold_expr(g->t.c, l->u.bin.r, 0) : NULL;
    int64_t n = k->u.i, kk = d ? d->u.i : 0, m;
    if (d && d->kind == E_INT && kk > 0 && k->kind == E_INT && mop >= RV_MT_LT && non_negative(l->u.bin.l) &&
        !__builtin_mul_overflow(n, kk, &m) && !__builtin_add_overflow(m, kk - 1, &m)) {
        if (mop == RV_MT_LT || mop == RV_MT_GE)
            m = n * kk;
        konst = tab_scalar(&g->t, l->u.bin.l->type, m, 0);
        l = l->u.bin.l;
    } else {
        konst = tab_const(&g->t, k);
    }
    cg_expr(g, l);
    return new_mtest(g, RV_NONE, konst, mop);
}

/* Jump (to a pc added to 'out') when 'e' evaluates to 'when'; fall
   through otherwise.
     a and b, when false:  branch(a,false,out) branch(b,false,out)
     a and b, when true:   branch(a,false,L) branch(b,true,out) L:
     a or b,  when true:   branch(a,true,out) branch(b,true,out)
     a or b,  when false:  branch(a,true,L) branch(b,false,out) L:
     not a:                branch(a,!when,out) */
static void cg_branch(cg *g, ast *e, int when, jumplist *out)
{
    ast *f = fold_expr(g->t.c, e, 0);
    if (f && f->kind == E_BOOL) {
        if (!!f->u.i == when)
            jl_add(g, out, emit(g, OP_JMP, 0));
        return;
    }
    if (e->kind == E_NOT) {
        cg_branch(g, e->u.operand, !when, out);
        return;
    }
    if (e->kind == E_BINARY && (e->u.bin.op == AST_AND || e->u.bin.op == AST_OR)) {
        int is_and = e->u.bin.op == AST_AND;
        if (is_and != when) {         /* and/false, or/true: both jump to 'out' */
            cg_branch(g, e->u.bin.l, when, out);
            cg_branch(g, e->u.bin.r, when, out);
        } else {
            jumplist skip = { 0 };
            cg_branch(g, e->u.bin.l, !when, &skip);
            cg_branch(g, e->u.bin.r, when, out);
            jl_patch_here(g, &skip);
        }
        return;
    }
    tab_loc(&g->t, e->at);
    uint32_t mt = mtest_of(g, e, when);
    if (mt != RV_NONE) {
        jl_add(g, out, emit(g, OP_JMT, mt));
        return;
    }
    if ((mt = ktest_of(g, e, when)) != RV_NONE) {
        jl_add(g, out, emit(g, OP_JKT, mt));
        return;
    }
    cg_expr(g, e);
    if (when)
        emit(g, OP_NOT, 0);
    jl_add(g, out, emit(g, OP_JMPF, 0));
}

static void cg_expr(cg *g, ast *e)
{
    ast *f = e->kind != E_LIST || e->type == RV_T_LIST ? fold_expr(g->t.c, e, 0) : NULL;
    if (f && f->kind != E_NAME) {
        if (f->kind == E_BOOL)
            emit(g, OP_PUSHB, (uint32_t)!!f->u.i);
        else
            emit(g, OP_PUSHK, tab_const(&g->t, f));
        return;
    }
    switch (e->kind) {
    case E_NAME:
        if (e->ext == 'R') emit(g, OP_LDREQ, (uint32_t)e->field);
        else if (e->ext == 'C') emit(g, OP_LDCAND, (uint32_t)e->field);
        else if (e->ext == 'D') emit(g, OP_LDDEC, (uint32_t)e->field);
        else emit(g, OP_PUSHK, tab_const(&g->t, e));
        return;
    case E_MEMBER:
        if (e->ext == 'M') emit(g, OP_LDMETA, tab_str(&g->t, e->u.member.name));
        else if (e->ext == 'P') emit(g, OP_LDRESP, (uint32_t)e->field);
        else emit(g, OP_PUSHK, tab_const(&g->t, e));
        return;
    case E_CALL:
        for (ast *a = e->u.call.args; a; a = a->next)
            cg_expr(g, a);
        emit(g, OP_CALLB, (uint32_t)e->field);
        return;
    case E_NOT:
        cg_expr(g, e->u.operand);
        emit(g, OP_NOT, 0);
        return;
    case E_NEG:
        cg_expr(g, e->u.operand);
        emit(g, OP_NEG, 0);
        return;
    case E_LIST:
        /* only constant lists exist as values; the checker folded them */
        emit(g, OP_PUSHK, tab_const(&g->t, e));
        return;
    case E_BINARY:
        break;
    default:
        emit(g, OP_PUSHK, tab_const(&g->t, e));
        return;
    }
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    switch (e->u.bin.op) {
    case AST_AND:
    case AST_OR: {
        /* value form: a; JMPFK/JMPTK L; POP; b; L: */
        jumplist done = { 0 };
        cg_expr(g, l);
        jl_add(g, &done, emit(g, e->u.bin.op == AST_AND ? OP_JMPFK : OP_JMPTK, 0));
        emit(g, OP_POP, 0);
        cg_expr(g, r);
        jl_patch_here(g, &done);
        return;
    }
    case AST_IN:
    case AST_NOTIN: {
        if (r->ext == 'K') {
            emit(g, OP_CANDCAP, (uint32_t)r->field);
        } else {
            ast *rl = fold_expr(g->t.c, r, 0);
            cg_expr(g, l);
            if (rl && rl->kind == E_LIST) {
                emit(g, OP_INK, tab_const(&g->t, rl));
            } else {
                cg_expr(g, r);
                emit(g, OP_INL, 0);
            }
        }
        if (e->u.bin.op == AST_NOTIN)
            emit(g, OP_NOT, 0);
        return;
    }
    case AST_MATCHES:
        cg_expr(g, l);
        emit(g, OP_MATCH, tab_regex(&g->t, fold_expr(g->t.c, r, 0)));
        return;
    case AST_EQ:
    case AST_NE: {
        /* x == k with a scalar constant k: one instruction */
        ast *k = fold_expr(g->t.c, r, 0);
        if (k && k->kind != E_LIST && k->kind != E_BOOL) {
            cg_expr(g, l);
            emit(g, e->u.bin.op == AST_EQ ? OP_EQK : OP_NEK, tab_const(&g->t, k));
            return;
        }
    }
    /* fall through */
    default: {
        static const rv_opcode ops[] = {
            [AST_EQ] = OP_EQ, [AST_NE] = OP_NE, [AST_LT] = OP_LT, [AST_LE] = OP_LE, [AST_GT] = OP_GT,
            [AST_GE] = OP_GE, [AST_ADD] = OP_ADD, [AST_SUB] = OP_SUB, [AST_MUL] = OP_MUL, [AST_DIV] = OP_DIV,
        };
        cg_expr(g, l);
        cg_expr(g, r);
        emit(g, ops[e->u.bin.op], 0);
        return;
    }
    }
}

/* ---------------------------------------------------------------- targets */

static void defer_fn(cg *g, ast *expr, rv_fnkind kind, uint32_t owner)
{
    deferred *d = tab_grow(&g->t, (void **)&g->defer, &g->ndefer, &g->cap_defer, sizeof *g->defer);
    if (!d)
        return;
    d->expr = expr;
    d->fkind = kind;
    d->owner = owner;
}


static void cg_target(cg *g, ast *t);

static void cg_rules(cg *g, ast *rules)
{
    for (ast *r = rules; r; r = r->next) {
        if (g->dead)
            return;
        tab_loc(&g->t, r->at);
        jumplist next = { 0 };
        ast *cond = r->u.rule.cond;
        if (cond)
            cg_branch(g, cond, 0, &next);
        tab_loc(&g->t, r->at);
        emit(g, OP_RULE, g->rule_base + (uint32_t)r->ext - 1);
        cg_target(g, r->u.rule.target);
        jl_patch_here(g, &next);
    }
    if (!g->dead) {
        emit(g, OP_FAIL, tab_str(&g->t, "no rule matched"));
    }
}

/* Tables touched here are re-read by index after any emission, because a
   growing table may move. */
static void cg_target(cg *g, ast *t)
{
    rv_program *p = g->t.p;
    tab_loc(&g->t, t->at);
    switch (t->kind) {
    case T_REF:
        emit(g, t->sym->kind == SYM_AGENT ? OP_DELEGATE : OP_DECIDE, t->sym->index);
        return;
    case T_ROUTE:
        cg_rules(g, t->u.t->rules);
        return;
    case T_CHEAPEST:
    case T_FASTEST: {
        uint32_t count, first = tab_model_refs(&g->t, t->u.t->cands, &count);
        rv_choice *ch = TAB_ROW(&g->t, p->choices, p->nchoice, cap_choice);
        if (!ch)
            return;
        uint32_t idx = p->nchoice - 1;
        ch->kind = t->kind == T_CHEAPEST ? RV_CHOOSE_CHEAPEST : RV_CHOOSE_FASTEST;
        ch->first = first;
        ch->count = count;
        ch->where = RV_NONE;
        ch->loc = g->t.cur_loc;
        if (t->u.t->cond)
            defer_fn(g, t->u.t->cond, RV_FN_WHERE, idx);
        emit(g, OP_CHOOSE, idx);
        return;
    }
    case T_CASCADE: {
        uint32_t count, first = tab_model_refs(&g->t, t->u.t->cands, &count);
        rv_cascade *cs = TAB_ROW(&g->t, p->cascades, p->ncascade, cap_cascade);
        if (!cs)
            return;
        uint32_t idx = p->ncascade - 1;
        cs->first = first;
        cs->count = count;
        cs->threshold = t->u.t->cond->u.i;
        cs->by = t->u.t->by;
        cs->judge = t->u.t->by == RV_BY_JUDGE ? t->u.t->judge->sym->index : RV_NONE;
        cs->check = RV_NONE;
        cs->loc = g->t.cur_loc;
        if (t->u.t->by == RV_BY_CHECK)
            defer_fn(g, t->u.t->check, RV_FN_CHECK, idx);
        emit(g, OP_CASCADE, idx);
        return;
    }
    case T_SPLIT: {
        uint32_t n = ast_count(t->u.t->arms), first = p->narm;
        for (uint32_t i = 0; i < n; i++)
            if (!TAB_ROW(&g->t, p->arms, p->narm, cap_arm))
                return;
        rv_split *sp = TAB_ROW(&g->t, p->splits, p->nsplit, cap_split);
        if (!sp)
            return;
        uint32_t idx = p->nsplit - 1;
        sp->first = first;
        sp->count = n;
        sp->loc = g->t.cur_loc;
        cg_expr(g, t->u.t->cond);
        tab_loc(&g->t, t->at);
        emit(g, OP_SPLIT, idx);
        uint32_t i = 0;
        for (ast *a = t->u.t->arms; a; a = a->next, i++) {
            p->arms[first + i].share = a->u.arm.share->u.i;
            p->arms[first + i].target = p->ncode;
            g->dead = 0;
            cg_target(g, a->u.arm.target);
        }
        return;
    }
    case T_HOOK: {
        rv_hook *h = TAB_ROW(&g->t, p->hooks, p->nhook, cap_hook);
        if (!h)
            return;
        uint32_t idx = p->nhook - 1;
        p->hooks[idx].url = tab_str(&g->t, t->u.t->url->u.str.s);
        p->hooks[idx].timeout = t->u.t->cond->u.i;
        p->hooks[idx].loc = g->t.cur_loc;
        emit(g, OP_HOOK, idx);
        cg_target(g, t->u.t->dflt);
        return;
    }
    default:
        return;
    }
}

static uint32_t begin_fn(cg *g, rv_fnkind kind)
{
    rv_func *f = TAB_ROW(&g->t, g->t.p->funcs, g->t.p->nfunc, cap_func);
    if (!f)
        return RV_NONE;
    f->kind = kind;
    f->start = g->t.p->ncode;
    g->dead = 0;
    return g->t.p->nfunc - 1;
}

static void end_fn(cg *g, uint32_t fn)
{
    if (fn != RV_NONE)
        g->t.p->funcs[fn].end = g->t.p->ncode;
}

/* A WHERE, CHECK or EXPECT function: the value, then RET. */
static uint32_t value_fn(cg *g, ast *e, rv_fnkind kind)
{
    uint32_t fn = begin_fn(g, kind);
    tab_loc(&g->t, e->at);
    cg_expr(g, e);
    emit(g, OP_RET, 0);
    end_fn(g, fn);
    return fn;
}

static void emit_deferred(cg *g)
{
    for (uint32_t i = 0; i < g->ndefer; i++) {
        deferred *d = &g->defer[i];
        uint32_t fn = value_fn(g, d->expr, d->fkind);
        if (d->fkind == RV_FN_CHECK)
            g->t.p->cascades[d->owner].check = fn;
        else
            g->t.p->choices[d->owner].where = fn;
    }
    g->ndefer = 0;
}


/* ---------------------------------------------------------------- declarations */

static void cg_agent(cg *g, sym *s)
{
    rv_program *p = g->t.p;
    agent_info *a = &s->u.agent;
    rv_agent *ag = &p->agents[s->index];
    tab_loc(&g->t, s->decl->u.decl->name_at);
    ag->name = tab_str(&g->t, s->name);
    ag->loc = g->t.cur_loc;
    ag->guard_first = p->nguard_ref;
    for (ast *n = a->guards; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL) {
            uint32_t *slot = TAB_ROW(&g->t, p->guard_refs, p->nguard_ref, cap_guard_ref);
            if (slot)
                *slot = m->sym->index;
        }
    ag = &p->agents[s->index];
    ag->guard_count = p->nguard_ref - ag->guard_first;
    ag->budget_request = a->budget_request;
    ag->budget_day = a->budget_day;
    ag->fallback_first = p->ntarget;
    for (ast *n = a->fallback; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL) {
            rv_target *t = TAB_ROW(&g->t, p->targets, p->ntarget, cap_target);
            if (t) {
                t->is_agent = m->sym->kind == SYM_AGENT;
                t->index = m->sym->index;
            }
        }
    ag = &p->agents[s->index];
    ag->fallback_count = p->ntarget - ag->fallback_first;
    uint32_t nonfail, onfail = tab_onfail(&g->t, a->onfail, a->onfail_on, &nonfail);
    ag = &p->agents[s->index];
    ag->onfail_first = onfail;
    ag->onfail_count = nonfail;
    ag->retry_on = a->retry_on;
    ag->retry = a->retry;
    ag->backoff = a->backoff;
    ag->timeout = a->timeout;
    ag->worst_cost = a->worst;
    ag->rule_first = g->rule_base = p->nrule;
    tab_rules(&g->t, a->route, s->index);
    p->agents[s->index].rule_count = p->nrule - g->rule_base;
    uint32_t fn = begin_fn(g, RV_FN_ROUTE);
    cg_target(g, a->route);
    end_fn(g, fn);
    p->agents[s->index].func = fn;
    emit_deferred(g);
}


static void cg_test(cg *g, ast *d)
{
    rv_program *p = g->t.p;
    tab_loc(&g->t, d->u.decl->name_at);
    uint32_t loc = g->t.cur_loc;
    uint32_t name = tab_str(&g->t, d->u.decl->name);
    uint32_t req = d->u.decl->request ? tab_intern(&g->t, d->u.decl->request->u.str.s, d->u.decl->request->u.str.len) : RV_NONE;
    uint32_t gfirst = p->ngiven;
    for (ast *gv = d->u.decl->givens; gv; gv = gv->next) {
        uint32_t text = RV_NONE;
        if (gv->u.given.kind == RV_GIVEN_ANSWER)
            text = tab_intern(&g->t, gv->u.given.what->u.str.s, gv->u.given.what->u.str.len);
        else if (gv->u.given.kind == RV_GIVEN_FAIL)
            text = tab_str(&g->t, gv->u.given.what->u.name);
        rv_given *gg = TAB_ROW(&g->t, p->givens, p->ngiven, cap_given);
        if (!gg)
            return;
        gg->kind = gv->u.given.kind;
        gg->model = gv->u.given.kind == RV_GIVEN_HOOK ? gv->u.given.what->sym->index : gv->u.given.who->sym->index;
        gg->hook = RV_NONE;
        gg->text = text;
        gg->confidence = gv->u.given.confidence ? gv->u.given.confidence->u.i : -1;
    }
    uint32_t gcount = p->ngiven - gfirst;
    uint32_t first_fn = RV_NONE, nexp = 0;
    for (ast *e = d->u.decl->expects; e; e = e->next) {
        uint32_t fn = value_fn(g, e->u.item->value, RV_FN_EXPECT);
        if (first_fn == RV_NONE)
            first_fn = fn;
        nexp++;
    }
    rv_test *t = TAB_ROW(&g->t, p->tests, p->ntest, cap_test);
    if (!t)
        return;
    t->name = name;
    t->agent = d->u.decl->agent->sym->index;
    t->request = req;
    t->given_first = gfirst;
    t->given_count = gcount;
    t->expect = first_fn;
    t->expect_count = nexp;
    t->loc = loc;
}

rv_program *cg_program(rv_compiler *c)
{
    cg g = { .t.c = c };
    rv_program *p = g.t.p = rv_program_new();
    if (!p)
        return NULL;
    /* fixed-size tables, indexed by symbol */
    p->providers = mem_calloc(c->count[SYM_PROVIDER] + 1, sizeof *p->providers);
    p->models = mem_calloc(c->count[SYM_MODEL] + 1, sizeof *p->models);
    p->guards = mem_calloc(c->count[SYM_GUARDRAIL] + 1, sizeof *p->guards);
    p->agents = mem_calloc(c->count[SYM_AGENT] + 1, sizeof *p->agents);
    p->files = mem_calloc(c->src.n + 1, sizeof *p->files);
    if (!p->providers || !p->models || !p->guards || !p->agents || !p->files) {
        rv_program_free(p);
        return NULL;
    }
    p->nprovider = c->count[SYM_PROVIDER];
    p->nmodel = c->count[SYM_MODEL];
    p->nguard = c->count[SYM_GUARDRAIL];
    p->nagent = c->count[SYM_AGENT];
    for (uint32_t i = 0; i < c->src.n; i++) {
        p->files[i].name = tab_str(&g.t, c->src.files[i].name);
        p->files[i].text = c->strip ? tab_str(&g.t, "") : tab_intern(&g.t, c->src.files[i].text, c->src.files[i].len);
    }
    p->nfile = c->src.n;
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_PROVIDER) tab_provider(&g.t, s);
        else if (s->kind == SYM_MODEL) tab_model(&g.t, s);
        else if (s->kind == SYM_GUARDRAIL) tab_guardrail(&g.t, s);
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            cg_agent(&g, c->order[i]);
    for (ast *d = c->decls; d; d = d->next)
        if (d->kind == D_TEST)
            cg_test(&g, d);
    tab_free(&g.t);
    free(g.defer);
    if (g.t.oom) {
        rv_program_free(p);
        return NULL;
    }
    return p;
}

rv_program *cg_program_loaded(rv_compiler *c, char *errbuf, size_t errlen)
{
    rv_program *p = cg_program(c);
    uint8_t *buf;
    size_t len;
    rv_err err;
    if (!p) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    int r = rbc_write(p, NULL, &buf, &len, &err);
    rv_program_free(p);
    if (r) {
        snprintf(errbuf, errlen, "%s", err.msg);
        return NULL;
    }
    p = rbc_load(buf, len, NULL, &err);
    free(buf);
    if (!p)
        snprintf(errbuf, errlen, "%s", err.msg);
    return p;
}
