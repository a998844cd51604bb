/* Code generation: the checked AST becomes an rv_program.

   Tables come out in declaration order (symbols carry their table index
   from resolve.c), strings and scalar constants are interned, and every
   instruction records its source location, so the same input always gives
   the same program.

   Each agent's route is one ROUTE function.  Conditions compile to jumps
   (cg_branch), not to booleans, so 'a and b' costs two tests and no stack
   traffic.  Code that can never run is not emitted at all ('dead' below):
   a rule after 'otherwise', a rule whose condition is constantly false.
   The verifier rejects unreachable instructions, and this is why none
   exist.  'where' and 'check' expressions become WHERE and CHECK functions
   placed after the route that uses them; each test's expectations become
   EXPECT functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "mem.h"
#include "opcodes.h"
#include "rbc.h"

typedef struct { uint32_t *pc; uint32_t n, cap; } jumplist;

/* A WHERE or CHECK function to emit after the current route: 'owner' is
   the choice (WHERE) or cascade (CHECK) that gets its index. */
typedef struct {
    ast *expr;
    rv_fnkind fkind;
    uint32_t owner;
} deferred;

typedef struct {
    rv_compiler *c;
    rv_program *p;
    size_t cap_str, cap_strlen, cap_pcloc, cap_blob, cap_const, cap_item, cap_regex, cap_gaction, cap_guard_ref,
           cap_target, cap_model_ref, cap_rule, cap_choice, cap_cascade, cap_arm, cap_split,
           cap_hook, cap_func, cap_given, cap_test, cap_code, cap_loc, cap_mtest;
    uint32_t *str_hash, str_hash_cap;       /* open addressing: index+1, 0 = empty */
    uint32_t *const_hash, const_hash_cap;
    uint32_t cur_loc;
    int dead;                               /* the next instruction cannot be reached */
    deferred *defer;
    uint32_t ndefer;
    size_t cap_defer;
    uint32_t rule_base;                     /* first rule index of the current agent */
    int oom;
} cg;

/* ---------------------------------------------------------------- tables */

static void *grow(cg *g, void **arr, uint32_t *n, size_t *cap, size_t elem)
{
    if (*n == UINT32_MAX - 1) {
        g->oom = 1;
        return NULL;
    }
    if (*n >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *a = mem_reallocarray(*arr, ncap, elem);
        if (!a) {
            g->oom = 1;
            return NULL;
        }
        *arr = a;
        *cap = ncap;
    }
    void *slot = (char *)*arr + (size_t)(*n)++ * elem;
    memset(slot, 0, elem);
    return slot;
}
#define NEWROW(g, arr, n, capname) ((__typeof__(arr))grow(g, (void **)&(arr), &(n), &(g)->capname, sizeof *(arr)))

static uint32_t hash_bytes(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int rehash(cg *g, uint32_t **tab, uint32_t *cap, uint32_t count, uint32_t (*hf)(cg *, uint32_t))
{
    uint32_t ncap = *cap ? *cap * 2 : 1024;
    uint32_t *t = mem_calloc(ncap, sizeof *t);
    if (!t) {
        g->oom = 1;
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t h = hf(g, i) & (ncap - 1);
        while (t[h])
            h = (h + 1) & (ncap - 1);
        t[h] = i + 1;
    }
    free(*tab);
    *tab = t;
    *cap = ncap;
    return 0;
}

static uint32_t str_hash_of(cg *g, uint32_t i)
{
    return hash_bytes(g->p->blob + g->p->str_off[i], g->p->str_len[i], 0);
}

static uint32_t intern(cg *g, const char *s, size_t n)
{
    rv_program *p = g->p;
    if (!s)
        return RV_NONE;
    if (p->nstr * 2 >= g->str_hash_cap && rehash(g, &g->str_hash, &g->str_hash_cap, p->nstr, str_hash_of))
        return 0;
    uint32_t h = hash_bytes(s, n, 0) & (g->str_hash_cap - 1);
    for (; g->str_hash[h]; h = (h + 1) & (g->str_hash_cap - 1)) {
        uint32_t i = g->str_hash[h] - 1;
        if (p->str_len[i] == n && !memcmp(p->blob + p->str_off[i], s, n))
            return i;
    }
    if ((size_t)p->blob_len + n + 1 > UINT32_MAX) {
        g->oom = 1;
        return 0;
    }
    while (p->blob_len + n + 1 > g->cap_blob) {
        size_t ncap = g->cap_blob ? g->cap_blob * 2 : 65536;
        char *b = mem_realloc(p->blob, ncap);
        if (!b) {
            g->oom = 1;
            return 0;
        }
        p->blob = b;
        g->cap_blob = ncap;
    }
    uint32_t idx = p->nstr;
    uint32_t n_off = p->nstr, n_len = p->nstr;
    if (!grow(g, (void **)&p->str_off, &n_off, &g->cap_str, sizeof *p->str_off) ||
        !grow(g, (void **)&p->str_len, &n_len, &g->cap_strlen, sizeof *p->str_len))
        return 0;
    p->str_off[idx] = p->blob_len;
    p->str_len[idx] = (uint32_t)n;
    memcpy(p->blob + p->blob_len, s, n);
    p->blob[p->blob_len + n] = 0;
    p->blob_len += (uint32_t)n + 1;
    p->nstr++;
    g->str_hash[h] = idx + 1;
    return idx;
}

static uint32_t istr(cg *g, const char *s) { return s ? intern(g, s, strlen(s)) : RV_NONE; }

static uint32_t const_hash_of(cg *g, uint32_t i)
{
    const rv_const *k = &g->p->consts[i];
    uint32_t key[4] = { k->type, (uint32_t)k->i, (uint32_t)((uint64_t)k->i >> 32), k->str };
    return hash_bytes((const char *)key, sizeof key, 7);
}

/* Intern a scalar constant. */
static uint32_t kscalar(cg *g, rv_type t, int64_t i, uint32_t str)
{
    rv_program *p = g->p;
    if (p->nconst * 2 >= g->const_hash_cap &&
        rehash(g, &g->const_hash, &g->const_hash_cap, p->nconst, const_hash_of))
        return 0;
    rv_const want = { .type = (uint8_t)t, .i = i, .str = str };
    uint32_t key[4] = { want.type, (uint32_t)i, (uint32_t)((uint64_t)i >> 32), str };
    uint32_t h = hash_bytes((const char *)key, sizeof key, 7) & (g->const_hash_cap - 1);
    for (; g->const_hash[h]; h = (h + 1) & (g->const_hash_cap - 1)) {
        const rv_const *k = &p->consts[g->const_hash[h] - 1];
        if (k->type == want.type && k->i == i && k->str == str && k->type != RV_T_LIST)
            return g->const_hash[h] - 1;
    }
    rv_const *k = NEWROW(g, p->consts, p->nconst, cap_const);
    if (!k)
        return 0;
    *k = want;
    g->const_hash[h] = p->nconst;
    return p->nconst - 1;
}

static uint32_t regex_of(cg *g, const ast *re)
{
    rv_program *p = g->p;
    uint32_t pat = istr(g, re->u.re.pat);
    for (uint32_t i = 0; i < p->nregex; i++)
        if (p->regexes[i].pattern == pat && p->regexes[i].flags == re->u.re.flags)
            return i;
    rv_regex *r = NEWROW(g, p->regexes, p->nregex, cap_regex);
    if (!r)
        return 0;
    r->pattern = pat;
    r->flags = re->u.re.flags;
    r->loc = g->cur_loc;
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

/* The constant for a folded literal (see chk_fold). */
static uint32_t kconst(cg *g, const ast *e)
{
    switch (e->kind) {
    case E_STR: return kscalar(g, RV_T_STR, 0, intern(g, e->u.str.s, e->u.str.len));
    case E_REGEX: return kscalar(g, RV_T_REGEX, 0, regex_of(g, e));
    case E_NAME: case E_MEMBER: {
        static const rv_type of[SYM__COUNT] = { RV_T_PROVIDER, RV_T_MODEL, RV_T_GUARDRAIL, RV_T_AGENT, RV_T_NIL };
        return kscalar(g, of[e->sym->kind], e->sym->index, 0);
    }
    case E_LIST: {
        /* items first (they may add constants), then the list's own row */
        uint32_t n = ast_count(e->u.items), *tmp = mem_calloc(n + 1, sizeof *tmp), i = 0;
        if (!tmp) {
            g->oom = 1;
            return 0;
        }
        for (const ast *it = e->u.items; it; it = it->next)
            tmp[i++] = kconst(g, it);
        uint32_t first = g->p->nitem;
        for (i = 0; i < n; i++) {
            uint32_t *slot = NEWROW(g, g->p->items, g->p->nitem, cap_item);
            if (slot)
                *slot = tmp[i];
        }
        free(tmp);
        rv_const *k = NEWROW(g, g->p->consts, g->p->nconst, cap_const);
        if (!k)
            return 0;
        k->type = RV_T_LIST;
        k->first = first;
        k->count = n;
        return g->p->nconst - 1;
    }
    default:
        return kscalar(g, lit_type(e), e->u.i, 0);
    }
}

/* ---------------------------------------------------------------- code */

static void set_loc(cg *g, src_span at)
{
    rv_program *p = g->p;
    uint32_t len = at.end_line == at.line && at.end_col > at.col ? at.end_col - at.col : 1;
    if (p->nloc) {
        const rv_loc *l = &p->locs[g->cur_loc];
        if (l->file == at.file && l->line == at.line && l->col == at.col && l->len == len)
            return;
    }
    rv_loc *l = NEWROW(g, p->locs, p->nloc, cap_loc);
    if (!l)
        return;
    l->file = at.file;
    l->line = at.line;
    l->col = at.col;
    l->len = len;
    g->cur_loc = p->nloc - 1;
}

/* Emit one instruction; returns its pc, or RV_NONE when dead. */
static uint32_t emit(cg *g, rv_opcode op, uint32_t arg)
{
    rv_program *p = g->p;
    if (g->dead)
        return RV_NONE;
    if (arg > RV_ARG_MAX) {
        g->oom = 1;   /* a table too large for the encoding */
        return RV_NONE;
    }
    uint32_t n = p->ncode;
    uint32_t *l = grow(g, (void **)&p->pc_loc, &n, &g->cap_pcloc, sizeof *p->pc_loc);
    uint32_t *w = l ? NEWROW(g, p->code, p->ncode, cap_code) : NULL;
    if (!w || !l)
        return RV_NONE;
    *w = INS(op, arg);
    *l = g->cur_loc;
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
        uint32_t *a = arena_alloc(&g->c->arena, ncap * sizeof *a);
        if (!a) {
            g->oom = 1;
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
    uint32_t here = g->p->ncode;
    for (uint32_t i = 0; i < jl->n; i++) {
        uint32_t pc = jl->pc[i];
        if (INS_OP(g->p->code[pc]) == OP_JMT || INS_OP(g->p->code[pc]) == OP_JKT) {   /* target in the table */
            g->p->mtests[INS_ARG(g->p->code[pc])].target = here;
            continue;
        }
        uint32_t off = here - pc - 1;
        g->p->code[pc] = INS(INS_OP(g->p->code[pc]), off & RV_ARG_MAX);
        if (off > (uint32_t)RV_JUMP_MAX)
            g->oom = 1;
    }
    if (jl->n)
        g->dead = 0;
    jl->n = 0;
}

static void cg_expr(cg *g, ast *e);

/* A new row of the fused-test table; its target is patched with the jump. */
static uint32_t new_mtest(cg *g, uint32_t key, uint32_t konst, rv_mtop op)
{
    rv_mtest *t = NEWROW(g, g->p->mtests, g->p->nmtest, cap_mtest);
    if (!t)
        return RV_NONE;
    t->key = key;
    t->konst = konst;
    t->op = op;
    t->target = 0;
    return g->p->nmtest - 1;
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
    ast *k = chk_fold(g->c, e->u.bin.r, 0);
    rv_mtop mop;
    if ((op == OP_EQ_ || op == OP_NE_) && k && k->kind == E_STR)
        mop = op == OP_EQ_ ? RV_MT_EQ : RV_MT_NE;
    else if ((op == OP_IN_ || op == OP_NOTIN_) && k && k->kind == E_LIST)
        mop = op == OP_IN_ ? RV_MT_IN : RV_MT_NOTIN;
    else
        return RV_NONE;
    if (when)
        mop = mop == RV_MT_EQ ? RV_MT_NE : mop == RV_MT_NE ? RV_MT_EQ : mop == RV_MT_IN ? RV_MT_NOTIN : RV_MT_IN;
    uint32_t key = istr(g, l->u.member.name), konst = kconst(g, k);
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
    if (g->dead || when || e->kind != E_BINARY || e->u.bin.op < OP_EQ_ || e->u.bin.op > OP_GE_)
        return RV_NONE;
    ast *l = e->u.bin.l, *k = chk_fold(g->c, e->u.bin.r, 0);
    if (!k || k->kind == E_LIST || k->kind == E_BOOL || k->kind == E_NAME || k->kind == E_MEMBER || k->kind == E_REGEX)
        return RV_NONE;
    static const rv_mtop mops[] = { [OP_EQ_] = RV_MT_EQ, [OP_NE_] = RV_MT_NE, [OP_LT_] = RV_MT_LT,
                                    [OP_LE_] = RV_MT_LE, [OP_GT_] = RV_MT_GT, [OP_GE_] = RV_MT_GE };
    rv_mtop mop = mops[e->u.bin.op];
    uint32_t konst;
    ast *d = l->kind == E_BINARY && l->u.bin.op == OP_DIV_ ? chk_fold(g->c, l->u.bin.r, 0) : NULL;
    int64_t n = k->u.i, kk = d ? d->u.i : 0, m;
    if (d && d->kind == E_INT && kk > 0 && k->kind == E_INT && mop >= RV_MT_LT && non_negative(l->u.bin.l) &&
        !__builtin_mul_overflow(n, kk, &m) && !__builtin_add_overflow(m, kk - 1, &m)) {
        if (mop == RV_MT_LT || mop == RV_MT_GE)
            m = n * kk;
        konst = kscalar(g, l->u.bin.l->type, m, 0);
        l = l->u.bin.l;
    } else {
        konst = kconst(g, k);
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
    ast *f = chk_fold(g->c, e, 0);
    if (f && f->kind == E_BOOL) {
        if (!!f->u.i == when)
            jl_add(g, out, emit(g, OP_JMP, 0));
        return;
    }
    if (e->kind == E_NOT) {
        cg_branch(g, e->u.operand, !when, out);
        return;
    }
    if (e->kind == E_BINARY && (e->u.bin.op == OP_AND_ || e->u.bin.op == OP_OR_)) {
        int is_and = e->u.bin.op == OP_AND_;
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
    set_loc(g, e->at);
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
    ast *f = e->kind != E_LIST || e->type == RV_T_LIST ? chk_fold(g->c, e, 0) : NULL;
    if (f && f->kind != E_NAME) {
        if (f->kind == E_BOOL)
            emit(g, OP_PUSHB, (uint32_t)!!f->u.i);
        else
            emit(g, OP_PUSHK, kconst(g, f));
        return;
    }
    switch (e->kind) {
    case E_NAME:
        if (e->ext == 'R') emit(g, OP_LDREQ, (uint32_t)e->field);
        else if (e->ext == 'C') emit(g, OP_LDCAND, (uint32_t)e->field);
        else if (e->ext == 'D') emit(g, OP_LDDEC, (uint32_t)e->field);
        else emit(g, OP_PUSHK, kconst(g, e));
        return;
    case E_MEMBER:
        if (e->ext == 'M') emit(g, OP_LDMETA, istr(g, e->u.member.name));
        else if (e->ext == 'P') emit(g, OP_LDRESP, (uint32_t)e->field);
        else emit(g, OP_PUSHK, kconst(g, e));
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
        emit(g, OP_PUSHK, kconst(g, e));
        return;
    case E_BINARY:
        break;
    default:
        emit(g, OP_PUSHK, kconst(g, e));
        return;
    }
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    switch (e->u.bin.op) {
    case OP_AND_:
    case OP_OR_: {
        /* value form: a; JMPFK/JMPTK L; POP; b; L: */
        jumplist done = { 0 };
        cg_expr(g, l);
        jl_add(g, &done, emit(g, e->u.bin.op == OP_AND_ ? OP_JMPFK : OP_JMPTK, 0));
        emit(g, OP_POP, 0);
        cg_expr(g, r);
        jl_patch_here(g, &done);
        return;
    }
    case OP_IN_:
    case OP_NOTIN_: {
        if (r->ext == 'K') {
            emit(g, OP_CANDCAP, (uint32_t)r->field);
        } else {
            ast *rl = chk_fold(g->c, r, 0);
            cg_expr(g, l);
            if (rl && rl->kind == E_LIST) {
                emit(g, OP_INK, kconst(g, rl));
            } else {
                cg_expr(g, r);
                emit(g, OP_INL, 0);
            }
        }
        if (e->u.bin.op == OP_NOTIN_)
            emit(g, OP_NOT, 0);
        return;
    }
    case OP_MATCHES_:
        cg_expr(g, l);
        emit(g, OP_MATCH, regex_of(g, chk_fold(g->c, r, 0)));
        return;
    case OP_EQ_:
    case OP_NE_: {
        /* x == k with a scalar constant k: one instruction */
        ast *k = chk_fold(g->c, r, 0);
        if (k && k->kind != E_LIST && k->kind != E_BOOL) {
            cg_expr(g, l);
            emit(g, e->u.bin.op == OP_EQ_ ? OP_EQK : OP_NEK, kconst(g, k));
            return;
        }
    }
    /* fall through */
    default: {
        static const rv_opcode ops[] = {
            [OP_EQ_] = OP_EQ, [OP_NE_] = OP_NE, [OP_LT_] = OP_LT, [OP_LE_] = OP_LE, [OP_GT_] = OP_GT,
            [OP_GE_] = OP_GE, [OP_ADD_] = OP_ADD, [OP_SUB_] = OP_SUB, [OP_MUL_] = OP_MUL, [OP_DIV_] = OP_DIV,
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
    deferred *d = NEWROW(g, g->defer, g->ndefer, cap_defer);
    if (!d)
        return;
    d->expr = expr;
    d->fkind = kind;
    d->owner = owner;
}

static uint32_t model_refs(cg *g, ast *cands, uint32_t *count)
{
    uint32_t first = g->p->nmodel_ref;
    *count = 0;
    for (ast *n = cands; n; n = n->next) {
        uint32_t *slot = NEWROW(g, g->p->model_refs, g->p->nmodel_ref, cap_model_ref);
        if (slot)
            *slot = n->sym->index;
        (*count)++;
    }
    return first;
}

static void cg_target(cg *g, ast *t);

static void cg_rules(cg *g, ast *rules)
{
    for (ast *r = rules; r; r = r->next) {
        if (g->dead)
            return;
        set_loc(g, r->at);
        jumplist next = { 0 };
        ast *cond = r->u.rule.cond;
        if (cond)
            cg_branch(g, cond, 0, &next);
        set_loc(g, r->at);
        emit(g, OP_RULE, g->rule_base + (uint32_t)r->ext - 1);
        cg_target(g, r->u.rule.target);
        jl_patch_here(g, &next);
    }
    if (!g->dead) {
        emit(g, OP_FAIL, istr(g, "no rule matched"));
    }
}

/* Tables touched here are re-read by index after any emission, because a
   growing table may move. */
static void cg_target(cg *g, ast *t)
{
    rv_program *p = g->p;
    set_loc(g, t->at);
    switch (t->kind) {
    case T_REF:
        emit(g, t->sym->kind == SYM_AGENT ? OP_DELEGATE : OP_DECIDE, t->sym->index);
        return;
    case T_ROUTE:
        cg_rules(g, t->u.t->rules);
        return;
    case T_CHEAPEST:
    case T_FASTEST: {
        uint32_t count, first = model_refs(g, t->u.t->cands, &count);
        rv_choice *ch = NEWROW(g, p->choices, p->nchoice, cap_choice);
        if (!ch)
            return;
        uint32_t idx = p->nchoice - 1;
        ch->kind = t->kind == T_CHEAPEST ? RV_CHOOSE_CHEAPEST : RV_CHOOSE_FASTEST;
        ch->first = first;
        ch->count = count;
        ch->where = RV_NONE;
        ch->loc = g->cur_loc;
        if (t->u.t->cond)
            defer_fn(g, t->u.t->cond, RV_FN_WHERE, idx);
        emit(g, OP_CHOOSE, idx);
        return;
    }
    case T_CASCADE: {
        uint32_t count, first = model_refs(g, t->u.t->cands, &count);
        rv_cascade *cs = NEWROW(g, p->cascades, p->ncascade, cap_cascade);
        if (!cs)
            return;
        uint32_t idx = p->ncascade - 1;
        cs->first = first;
        cs->count = count;
        cs->threshold = t->u.t->cond->u.i;
        cs->by = t->u.t->by;
        cs->judge = t->u.t->by == RV_BY_JUDGE ? t->u.t->judge->sym->index : RV_NONE;
        cs->check = RV_NONE;
        cs->loc = g->cur_loc;
        if (t->u.t->by == RV_BY_CHECK)
            defer_fn(g, t->u.t->check, RV_FN_CHECK, idx);
        emit(g, OP_CASCADE, idx);
        return;
    }
    case T_SPLIT: {
        uint32_t n = ast_count(t->u.t->arms), first = p->narm;
        for (uint32_t i = 0; i < n; i++)
            if (!NEWROW(g, p->arms, p->narm, cap_arm))
                return;
        rv_split *sp = NEWROW(g, p->splits, p->nsplit, cap_split);
        if (!sp)
            return;
        uint32_t idx = p->nsplit - 1;
        sp->first = first;
        sp->count = n;
        sp->loc = g->cur_loc;
        cg_expr(g, t->u.t->cond);
        set_loc(g, t->at);
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
        rv_hook *h = NEWROW(g, p->hooks, p->nhook, cap_hook);
        if (!h)
            return;
        uint32_t idx = p->nhook - 1;
        p->hooks[idx].url = istr(g, t->u.t->url->u.str.s);
        p->hooks[idx].timeout = t->u.t->cond->u.i;
        p->hooks[idx].loc = g->cur_loc;
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
    rv_func *f = NEWROW(g, g->p->funcs, g->p->nfunc, cap_func);
    if (!f)
        return RV_NONE;
    f->kind = kind;
    f->start = g->p->ncode;
    g->dead = 0;
    return g->p->nfunc - 1;
}

static void end_fn(cg *g, uint32_t fn)
{
    if (fn != RV_NONE)
        g->p->funcs[fn].end = g->p->ncode;
}

/* A WHERE, CHECK or EXPECT function: the value, then RET. */
static uint32_t value_fn(cg *g, ast *e, rv_fnkind kind)
{
    uint32_t fn = begin_fn(g, kind);
    set_loc(g, e->at);
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
            g->p->cascades[d->owner].check = fn;
        else
            g->p->choices[d->owner].where = fn;
    }
    g->ndefer = 0;
}

/* Rules of an agent, numbered in source order (check.c's numbering). */
static void collect_rules(cg *g, ast *t, uint32_t agent)
{
    switch (t->kind) {
    case T_ROUTE:
        for (ast *r = t->u.t->rules; r; r = r->next) {
            rv_rule *rule = NEWROW(g, g->p->rules, g->p->nrule, cap_rule);
            if (!rule)
                return;
            uint32_t idx = g->p->nrule - 1;
            set_loc(g, r->at);
            g->p->rules[idx].agent = agent;
            g->p->rules[idx].number = (uint32_t)r->ext;
            g->p->rules[idx].reason = r->u.rule.reason ? intern(g, r->u.rule.reason->u.str.s,
                                                                 r->u.rule.reason->u.str.len) : RV_NONE;
            g->p->rules[idx].otherwise = !r->u.rule.cond;
            g->p->rules[idx].loc = g->cur_loc;
            collect_rules(g, r->u.rule.target, agent);
        }
        return;
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            collect_rules(g, a->u.arm.target, agent);
        return;
    case T_HOOK:
        collect_rules(g, t->u.t->dflt, agent);
        return;
    default:
        return;
    }
}

/* ---------------------------------------------------------------- declarations */

static void cg_agent(cg *g, sym *s)
{
    rv_program *p = g->p;
    agent_info *a = &s->u.agent;
    rv_agent *ag = &p->agents[s->index];
    set_loc(g, s->decl->u.decl->name_at);
    ag->name = istr(g, s->name);
    ag->loc = g->cur_loc;
    ag->guard_first = p->nguard_ref;
    for (ast *n = a->guards; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL) {
            uint32_t *slot = NEWROW(g, p->guard_refs, p->nguard_ref, cap_guard_ref);
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
            rv_target *t = NEWROW(g, p->targets, p->ntarget, cap_target);
            if (t) {
                t->is_agent = m->sym->kind == SYM_AGENT;
                t->index = m->sym->index;
            }
        }
    ag = &p->agents[s->index];
    ag->fallback_count = p->ntarget - ag->fallback_first;
    ag->retry = a->retry;
    ag->backoff = a->backoff;
    ag->timeout = a->timeout;
    ag->worst_cost = a->worst;
    ag->rule_first = g->rule_base = p->nrule;
    collect_rules(g, a->route, s->index);
    p->agents[s->index].rule_count = p->nrule - g->rule_base;
    uint32_t fn = begin_fn(g, RV_FN_ROUTE);
    cg_target(g, a->route);
    end_fn(g, fn);
    p->agents[s->index].func = fn;
    emit_deferred(g);
}

static void cg_model(cg *g, sym *s)
{
    model_info *m = &s->u.model;
    set_loc(g, s->decl->u.decl->name_at);
    rv_model *md = &g->p->models[s->index];
    uint32_t name = istr(g, s->name), id = istr(g, m->id), sys = istr(g, m->system);
    md = &g->p->models[s->index];
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
    md->loc = g->cur_loc;
}

static void cg_provider(cg *g, sym *s)
{
    provider_info *pi = &s->u.provider;
    set_loc(g, s->decl->u.decl->name_at);
    uint32_t name = istr(g, s->name), ep = istr(g, pi->endpoint), rg = istr(g, pi->region), key = istr(g, pi->key_env);
    rv_provider *pr = &g->p->providers[s->index];
    pr->name = name;
    pr->kind = pi->kind;
    pr->endpoint = ep;
    pr->region = rg;
    pr->key_env = key;
    pr->loc = g->cur_loc;
}

static void cg_guardrail(cg *g, sym *s)
{
    rv_program *p = g->p;
    set_loc(g, s->decl->u.decl->name_at);
    uint32_t name = istr(g, s->name), loc = g->cur_loc, first = p->ngaction;
    for (ast *a = s->decl->u.decl->items; a; a = a->next) {
        set_loc(g, a->at);
        uint32_t re = RV_NONE, text = RV_NONE;
        int64_t limit = 0;
        if (a->u.ga.kind == RV_GA_LIMIT)
            limit = a->u.ga.value->u.i;
        else {
            re = regex_of(g, a->u.ga.value);
            text = intern(g, a->u.ga.text->u.str.s, a->u.ga.text->u.str.len);
        }
        rv_gaction *ga = NEWROW(g, p->gactions, p->ngaction, cap_gaction);
        if (!ga)
            return;
        ga->kind = a->u.ga.kind;
        ga->dir = a->u.ga.dir;
        ga->regex = re;
        ga->text = text;
        ga->limit = limit;
        ga->loc = g->cur_loc;
    }
    rv_guardrail *gr = &p->guards[s->index];
    gr->name = name;
    gr->first = first;
    gr->count = p->ngaction - first;
    gr->loc = loc;
}

static void cg_test(cg *g, ast *d)
{
    rv_program *p = g->p;
    set_loc(g, d->u.decl->name_at);
    uint32_t loc = g->cur_loc;
    uint32_t name = istr(g, d->u.decl->name);
    uint32_t req = d->u.decl->request ? intern(g, d->u.decl->request->u.str.s, d->u.decl->request->u.str.len) : RV_NONE;
    uint32_t gfirst = p->ngiven;
    for (ast *gv = d->u.decl->givens; gv; gv = gv->next) {
        uint32_t text = RV_NONE;
        if (gv->u.given.kind == RV_GIVEN_ANSWER)
            text = intern(g, gv->u.given.what->u.str.s, gv->u.given.what->u.str.len);
        else if (gv->u.given.kind == RV_GIVEN_FAIL)
            text = istr(g, gv->u.given.what->u.name);
        rv_given *gg = NEWROW(g, p->givens, p->ngiven, cap_given);
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
    rv_test *t = NEWROW(g, p->tests, p->ntest, cap_test);
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
    cg g = { .c = c };
    rv_program *p = g.p = rv_program_new();
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
        p->files[i].name = istr(&g, c->src.files[i].name);
        p->files[i].text = c->strip ? istr(&g, "") : intern(&g, c->src.files[i].text, c->src.files[i].len);
    }
    p->nfile = c->src.n;
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_PROVIDER) cg_provider(&g, s);
        else if (s->kind == SYM_MODEL) cg_model(&g, s);
        else if (s->kind == SYM_GUARDRAIL) cg_guardrail(&g, s);
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            cg_agent(&g, c->order[i]);
    for (ast *d = c->decls; d; d = d->next)
        if (d->kind == D_TEST)
            cg_test(&g, d);
    free(g.str_hash);
    free(g.const_hash);
    free(g.defer);
    if (g.oom) {
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
