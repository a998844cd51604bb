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
        g->t.oom = 1;
        g->t.too_large = "a table has more rows than an instruction's 24-bit operand can name";
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
        if (off > (uint32_t)RV_JUMP_MAX) {
            g->t.oom = 1;
            g->t.too_large = "a route is longer than a jump can cross (2^23 instructions)";
        }
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



/* ---------------------------------------------------------------- dispatch */

/* A rule block whose rules mostly test one metadata key against string
   constants ('meta.task == "code"', 'meta.tenant in [...]', as a top-level
   conjunct) is dispatched on that key: DISPATCH hashes the key's value to
   a class and jumps through the rules of that class only (rv_dispatch in
   vm/program.h).  A rule's test of the key is a necessary condition of the
   rule, so leaving it out of the other classes' lists cannot change which
   rule matches first.  20,000 per-tenant rules then cost one hash lookup,
   not 20,000 tests.

   The plan: for every rule that will be emitted (rules after one that
   always matches, and rules whose condition folds to false, are not), the
   values its test of the chosen key admits; then per class the rules in
   order, a list cut after a rule that surely matches for the class (no
   condition, or only the key's test).  Rules in no list could never match
   and are not emitted, as the linear form leaves out rules after
   'otherwise'; a rule whose whole condition is the key's test is emitted
   without it (every list that reaches it has passed it). */

#define DISPATCH_MIN_RULES 4        /* keyed rules that make a dispatch pay */

typedef struct {
    ast *rule;
    ast *vals;                  /* the folded E_STR or E_LIST the key is tested against, or NULL (free) */
    int sure;                   /* the key's test is the whole condition (or there is none) */
} drule;

typedef struct {
    drule *r;
    uint32_t n;
    int key;                    /* metadata key number (E_MEMBER 'field') */
    const char *keyname;
} dplan;

/* The test of metadata key 'key' among the top-level conjuncts of 'e', as
   its folded constant (E_STR or E_LIST), or NULL.  '*only' is set when the
   test is all of 'e'.  An explicit stack bounds the walk (conditions can be
   long chains of 'and'). */
static ast *key_test(cg *g, ast *e, int key, int *only)
{
    ast *stack[64];
    int sp = 0;
    *only = 0;
    if (!e)
        return NULL;
    stack[sp++] = e;
    while (sp) {
        ast *x = stack[--sp];
        if (x->kind == E_BINARY && x->u.bin.op == AST_AND) {
            if (sp + 2 > (int)(sizeof stack / sizeof *stack))
                return NULL;
            stack[sp++] = x->u.bin.r;
            stack[sp++] = x->u.bin.l;
            continue;
        }
        if (x->kind != E_BINARY || (x->u.bin.op != AST_EQ && x->u.bin.op != AST_IN))
            continue;
        ast *l = x->u.bin.l;
        if (l->kind != E_MEMBER || l->ext != 'M' || l->field != key)
            continue;
        ast *k = fold_expr(g->t.c, x->u.bin.r, 0);
        if (!k || (x->u.bin.op == AST_EQ ? k->kind != E_STR : k->kind != E_LIST))
            continue;
        *only = x == e;
        return k;
    }
    return NULL;
}

/* The key most rules test (its number; -1 if none), counting each rule
   once per key among its top-level conjuncts. */
static int best_key(cg *g, drule *r, uint32_t n, const char **name)
{
    uint32_t nk = g->t.c->nmeta_key, best_n = 0;
    int best = -1;
    uint32_t *count = nk ? arena_alloc(&g->t.c->arena, nk * sizeof *count) : NULL;
    if (!count)
        return -1;
    memset(count, 0, nk * sizeof *count);
    for (uint32_t i = 0; i < n; i++) {
        ast *stack[64], *e = r[i].rule->u.rule->cond;
        int sp = 0;
        if (e)
            stack[sp++] = e;
        int seen_first = -1;
        while (sp) {
            ast *x = stack[--sp];
            if (x->kind == E_BINARY && x->u.bin.op == AST_AND && sp + 2 <= 64) {
                stack[sp++] = x->u.bin.r;
                stack[sp++] = x->u.bin.l;
                continue;
            }
            if (x->kind == E_BINARY && (x->u.bin.op == AST_EQ || x->u.bin.op == AST_IN) &&
                x->u.bin.l->kind == E_MEMBER && x->u.bin.l->ext == 'M' && x->u.bin.l->field >= 0 &&
                (uint32_t)x->u.bin.l->field < nk && x->u.bin.l->field != seen_first) {
                seen_first = x->u.bin.l->field;     /* (a rule testing a key twice counts once, mostly) */
                if (++count[x->u.bin.l->field] > best_n) {
                    best_n = count[x->u.bin.l->field];
                    best = x->u.bin.l->field;
                    *name = x->u.bin.l->u.member.name;
                }
            }
        }
    }
    return best_n >= DISPATCH_MIN_RULES ? best : -1;
}

/* Plan a dispatch for 'rules'; 0 when the block stays linear. */
static int plan_dispatch(cg *g, ast *rules, dplan *pl)
{
    memset(pl, 0, sizeof *pl);
    if (g->t.c->no_dispatch)
        return 0;
    uint32_t n = 0;
    for (ast *r = rules; r; r = r->next)
        n++;
    if (n < DISPATCH_MIN_RULES)
        return 0;
    pl->r = arena_alloc(&g->t.c->arena, n * sizeof *pl->r);
    if (!pl->r)
        return 0;
    for (ast *r = rules; r; r = r->next) {
        ast *cond = r->u.rule->cond, *f = cond ? fold_expr(g->t.c, cond, 0) : NULL;
        if (f && f->kind == E_BOOL && !f->u.i)
            continue;                               /* never emitted */
        pl->r[pl->n].rule = r;
        pl->r[pl->n].sure = !cond || (f && f->kind == E_BOOL);
        pl->n++;
        if (pl->r[pl->n - 1].sure)
            break;                                  /* nothing after it is emitted */
    }
    pl->key = best_key(g, pl->r, pl->n, &pl->keyname);
    if (pl->key < 0)
        return 0;
    for (uint32_t i = 0; i < pl->n; i++) {
        int only;
        drule *d = &pl->r[i];
        if (d->sure)
            continue;
        d->vals = key_test(g, d->rule->u.rule->cond, pl->key, &only);
        d->sure = d->vals && only;
    }
    return 1;
}

/* The classes' values, in first-seen order (class c >= 1 is value c - 1),
   with a hash index from a value to its class. */
typedef struct { const char *s; uint32_t len; } dval;
typedef struct {
    dval *v;
    uint32_t n, cap;
    uint32_t *h, hcap;          /* open addressing: class, 0 = empty */
} dvals;

static uint32_t dval_hash(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < n; k++)
        h = (h ^ (unsigned char)s[k]) * 16777619u;
    return h;
}

/* The class of value 's'; 0 when it has none (and 'add' is 0), RV_NONE
   when out of memory. */
static uint32_t dval_class(cg *g, dvals *d, const char *s, uint32_t len, int add)
{
    if (!d->h) {
        d->hcap = 64;
        if (!(d->h = arena_alloc(&g->t.c->arena, d->hcap * sizeof *d->h)))
            return RV_NONE;
        memset(d->h, 0, d->hcap * sizeof *d->h);
    }
    uint32_t slot = dval_hash(s, len) & (d->hcap - 1);
    for (; d->h[slot]; slot = (slot + 1) & (d->hcap - 1)) {
        dval *x = &d->v[d->h[slot] - 1];
        if (x->len == len && !memcmp(x->s, s, len))
            return d->h[slot];
    }
    if (!add)
        return 0;
    if (d->n + 1 > d->cap) {
        uint32_t ncap = d->cap ? d->cap * 2 : 16;
        dval *nv = arena_alloc(&g->t.c->arena, ncap * sizeof *nv);
        if (!nv)
            return RV_NONE;
        if (d->n)
            memcpy(nv, d->v, d->n * sizeof *nv);
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n] = (dval){ s, len };
    d->h[slot] = ++d->n;
    if (d->n * 2 > d->hcap) {               /* grow and rehash */
        uint32_t ncap = d->hcap * 2, *nh = arena_alloc(&g->t.c->arena, ncap * sizeof *nh);
        if (!nh)
            return RV_NONE;
        memset(nh, 0, ncap * sizeof *nh);
        for (uint32_t j = 0; j < d->n; j++) {
            uint32_t sj = dval_hash(d->v[j].s, d->v[j].len) & (ncap - 1);
            while (nh[sj])
                sj = (sj + 1) & (ncap - 1);
            nh[sj] = j + 1;
        }
        d->h = nh;
        d->hcap = ncap;
    }
    return d->n;
}

/* Calls fn on each string value a key test admits. */
#define EACH_VALUE(vals, one) \
    for (const ast *one = (vals)->kind == E_STR ? (vals) : (vals)->u.items; one; \
         one = (vals)->kind == E_STR ? NULL : one->next) \
        if (one->kind == E_STR)

/* The rule lists of a plan: per class, rule positions ascending, each cut
   after its first sure rule.  'list' holds them back to back, class c at
   [first[c], first[c + 1]).  0, or -1 when they would be longer than
   'bound' entries (or memory ran out). */
typedef struct { uint32_t *list, *first; uint32_t nclass; uint8_t *used; } dlists;

static int build_lists(cg *g, const dplan *pl, dvals *vals, dlists *out, uint64_t bound)
{
    arena *a = &g->t.c->arena;
    for (uint32_t i = 0; i < pl->n; i++)
        if (pl->r[i].vals)
            EACH_VALUE(pl->r[i].vals, one)
                if (dval_class(g, vals, one->u.str.s, one->u.str.len, 1) == RV_NONE)
                    return -1;
    uint32_t nclass = vals->n + 1;
    /* the rules each class admits by its value, in order (counted, then placed) */
    uint32_t *spec_first = arena_alloc(a, (nclass + 1) * sizeof *spec_first), nspec = 0;
    uint32_t *free_rules = arena_alloc(a, (pl->n + 1) * sizeof *free_rules), nfree = 0;
    if (!spec_first || !free_rules)
        return -1;
    memset(spec_first, 0, (nclass + 1) * sizeof *spec_first);
    for (uint32_t i = 0; i < pl->n; i++) {
        if (!pl->r[i].vals) {
            free_rules[nfree++] = i;
            continue;
        }
        EACH_VALUE(pl->r[i].vals, one) {
            spec_first[dval_class(g, vals, one->u.str.s, one->u.str.len, 0)]++;
            nspec++;
        }
    }
    uint32_t *spec = arena_alloc(a, (nspec + 1) * sizeof *spec), *fill = arena_alloc(a, (nclass + 1) * sizeof *fill);
    if (!spec || !fill)
        return -1;
    for (uint32_t c = 0, acc = 0; c <= nclass; c++) {
        uint32_t k = c < nclass ? spec_first[c] : 0;
        spec_first[c] = acc;
        fill[c] = acc;
        acc += k;
    }
    for (uint32_t i = 0; i < pl->n; i++)
        if (pl->r[i].vals)
            EACH_VALUE(pl->r[i].vals, one) {
                uint32_t c = dval_class(g, vals, one->u.str.s, one->u.str.len, 0);
                if (fill[c] == spec_first[c] || spec[fill[c] - 1] != i)   /* a value listed twice */
                    spec[fill[c]++] = i;
            }
    /* each class: the free rules merged with its own, cut after a sure one */
    out->nclass = nclass;
    out->first = arena_alloc(a, (nclass + 1) * sizeof *out->first);
    out->used = arena_alloc(a, pl->n + 1);
    uint32_t cap = 1024, n = 0;
    out->list = arena_alloc(a, cap * sizeof *out->list);
    if (!out->first || !out->used || !out->list)
        return -1;
    memset(out->used, 0, pl->n + 1);
    for (uint32_t c = 0; c < nclass; c++) {
        out->first[c] = n;
        uint32_t f = 0, s = spec_first[c], se = fill[c];
        for (;;) {
            uint32_t i;
            if (f < nfree && (s >= se || free_rules[f] < spec[s]))
                i = free_rules[f++];
            else if (s < se)
                i = spec[s++];
            else
                break;
            if (n >= bound)
                return -1;
            if (n == cap) {
                uint32_t *nl = arena_alloc(a, 2 * cap * sizeof *nl);
                if (!nl)
                    return -1;
                memcpy(nl, out->list, cap * sizeof *nl);
                out->list = nl;
                cap *= 2;
            }
            out->list[n++] = i;
            out->used[i] = 1;
            if (pl->r[i].sure)
                break;
        }
    }
    out->first[nclass] = n;
    return 0;
}

static void cg_target(cg *g, ast *t);

/* Emit one rule: its condition (jumping to 'next' when it fails), RULE and
   the target. */
static void cg_rule(cg *g, ast *r, jumplist *next)
{
    tab_loc(&g->t, r->at);
    ast *cond = r->u.rule->cond;
    if (cond)
        cg_branch(g, cond, 0, next);
    tab_loc(&g->t, r->at);
    emit(g, OP_RULE, g->rule_base + (uint32_t)r->ext - 1);
    cg_target(g, r->u.rule->target);
}

/* A dispatched rule block (see "dispatch" above):
     DISPATCH k
     rule i:   condition (fails to C_i)  RULE  target
     C_i:      CHAIN k                   (only when rule i can fail)
     end:      FAIL "no rule matched"
   The class lists are filled once every rule's pc is known.  Returns 0
   when the plan does not fit the tables (the block is then emitted
   linearly by the caller, nothing having been emitted). */
static int cg_dispatched(cg *g, const dplan *pl)
{
    rv_program *p = g->t.p;
    dvals vals = { 0 };
    dlists dl;
    if (build_lists(g, pl, &vals, &dl, 4ull * pl->n + 64) || dl.nclass > RV_ARG_MAX)
        return 0;                   /* the lists would outgrow the rules */
    uint32_t k = p->ndispatch;
    rv_dispatch *dsp = TAB_ROW(&g->t, p->dispatches, p->ndispatch, cap_dispatch);
    if (!dsp)
        return 0;
    dsp->key = tab_intern(&g->t, pl->keyname, strlen(pl->keyname));
    dsp->vfirst = p->ndvalue;
    dsp->vcount = vals.n;
    dsp->cfirst = p->ndclass;
    dsp->ccount = dl.nclass;
    for (uint32_t v = 0; v < vals.n; v++) {
        uint32_t str = tab_intern(&g->t, vals.v[v].s, vals.v[v].len);
        rv_dvalue *dv = TAB_ROW(&g->t, p->dvalues, p->ndvalue, cap_dvalue);
        if (!dv)
            return 1;
        dv->value = str;
        dv->cls = v + 1;
    }
    emit(g, OP_DISPATCH, k);
    uint32_t *start = arena_alloc(&g->t.c->arena, (pl->n + 1) * sizeof *start);
    if (!start) {
        g->t.oom = 1;
        return 1;
    }
    for (uint32_t i = 0; i < pl->n; i++) {
        start[i] = RV_NONE;
        if (!dl.used[i])
            continue;               /* in no class's list: it could never match */
        g->dead = 0;                /* reached through the lists */
        start[i] = p->ncode;
        ast *r = pl->r[i].rule;
        if (pl->r[i].vals && pl->r[i].sure) {
            /* its whole condition is the key's test, which the dispatch
               has passed for every class that lists it */
            tab_loc(&g->t, r->at);
            emit(g, OP_RULE, g->rule_base + (uint32_t)r->ext - 1);
            cg_target(g, r->u.rule->target);
            continue;
        }
        jumplist next = { 0 };
        cg_rule(g, r, &next);
        jl_patch_here(g, &next);
        emit(g, OP_CHAIN, k);       /* (not emitted when nothing jumps here) */
    }
    g->dead = 0;
    uint32_t end = emit(g, OP_FAIL, tab_str(&g->t, "no rule matched"));
    for (uint32_t c = 0; c < dl.nclass; c++) {
        rv_dclass *dc = TAB_ROW(&g->t, p->dclasses, p->ndclass, cap_dclass);
        if (!dc)
            return 1;
        dc->first = p->ndpc;
        dc->count = dl.first[c + 1] - dl.first[c];
        for (uint32_t e = dl.first[c]; e < dl.first[c + 1]; e++) {
            uint32_t *row = TAB_ROW(&g->t, p->dpcs, p->ndpc, cap_dpc);
            if (!row)
                return 1;
            *row = start[dl.list[e]];
        }
    }
    p->dispatches[k].end = end;
    g->dead = 1;
    return 1;
}

static void cg_rules(cg *g, ast *rules)
{
    dplan pl;
    if (!g->dead && plan_dispatch(g, rules, &pl) && cg_dispatched(g, &pl))
        return;
    for (ast *r = rules; r; r = r->next) {
        if (g->dead)
            return;
        jumplist next = { 0 };
        cg_rule(g, r, &next);
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
        if (gv->u.given->kind == RV_GIVEN_ANSWER)
            text = tab_intern(&g->t, gv->u.given->what->u.str.s, gv->u.given->what->u.str.len);
        else if (gv->u.given->kind == RV_GIVEN_FAIL)
            text = tab_str(&g->t, gv->u.given->what->u.name);
        rv_given *gg = TAB_ROW(&g->t, p->givens, p->ngiven, cap_given);
        if (!gg)
            return;
        gg->kind = gv->u.given->kind;
        gg->model = gv->u.given->kind == RV_GIVEN_HOOK ? gv->u.given->what->sym->index : gv->u.given->who->sym->index;
        gg->hook = RV_NONE;
        gg->text = text;
        gg->confidence = gv->u.given->confidence ? gv->u.given->confidence->u.i : -1;
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
        /* (only routec check, which generates no code, releases texts) */
        const char *text = c->strip ? "" : src_text(&c->src, i);
        if (!text) {
            rv_program_free(p);
            return NULL;
        }
        p->files[i].text = c->strip ? tab_str(&g.t, "") : tab_intern(&g.t, text, c->src.files[i].len);
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
    for (ast *d = c->decls; d && !c->strip_tests; d = d->next)   /* (production programs need no tests) */
        if (d->kind == D_TEST)
            cg_test(&g, d);
    tab_free(&g.t);
    free(g.defer);
    c->cg_too_large = g.t.too_large;
    if (g.t.oom) {
        rv_program_free(p);
        return NULL;
    }
    return p;
}

/* cg_program(), with the reason it failed in 'errbuf'. */
static rv_program *generate(rv_compiler *c, char *errbuf, size_t errlen)
{
    rv_program *p = cg_program(c);
    if (!p)
        snprintf(errbuf, errlen, "%s%s", c->cg_too_large ? "the policy is too large for the .rbc format: " : "",
                 c->cg_too_large ? c->cg_too_large : "out of memory");
    return p;
}

int cg_build(rv_compiler *c, const char *sign, uint8_t **out, size_t *outlen, char *errbuf, size_t errlen)
{
    rv_program *p = generate(c, errbuf, errlen);
    rv_err err;
    if (!p)
        return -1;
    /* the program owns what it needs: encoding it and loading it back
       need no tree beside them */
    comp_drop_tree(c);
    int r = rbc_write(p, sign, out, outlen, &err);
    rv_program_free(p);
    if (r) {
        snprintf(errbuf, errlen, "%s", err.msg);
        return -2;
    }
    /* what is written must load: the loader and the verifier, as routevm
       runs them, see these very bytes */
    p = rbc_load(*out, *outlen, NULL, &err);
    if (!p) {
        snprintf(errbuf, errlen, "internal error: the compiled program does not verify: %s", err.msg);
        free(*out);
        *out = NULL;
        return -1;
    }
    rv_program_free(p);
    return 0;
}

rv_program *cg_program_loaded(rv_compiler *c, char *errbuf, size_t errlen)
{
    rv_program *p = generate(c, errbuf, errlen);
    uint8_t *buf;
    size_t len;
    rv_err err;
    if (!p)
        return NULL;
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
