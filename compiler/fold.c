/* Constant folding: a type-checked expression that does not depend on the
   request becomes a literal -- arithmetic with exact units and overflow
   checks (vm/arith.c, the same code the VM runs), comparisons, 'and',
   'or', 'not', lists of constants and the names of constants.  The
   checker (check.c) folds item values, thresholds and shares that must be
   known at compile time; the linter and the code generator fold
   conditions to find what is constant.  Names of constants fold to the
   value the expression typing gave them (typing.c, typ_const()), which
   always ran first: folding never types anything and never reads the
   request.  Answers are cached: on the node when the answer is the node
   itself, in a memo keyed by node otherwise (the memo, below). */
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "fold.h"
#include "mem.h"

#define D (&c->diag)

/* AST_ADD..AST_DIV map onto arith_op by subtraction. */
_Static_assert(AST_SUB - AST_ADD == ARITH_SUB && AST_MUL - AST_ADD == ARITH_MUL &&
               AST_DIV - AST_ADD == ARITH_DIV && ARITH_ADD == 0, "AST arithmetic operators follow arith_op");

/* The folded value of a constant: set once its declaration was typed and
   folded; NULL when that failed (and was reported there). */
static ast *const_value(const sym *s)
{
    return s->state == 2 ? s->value : NULL;
}

ast *fold_lit(rv_compiler *c, ast_kind kind, src_span at, int64_t v)
{
    ast *n = ast_new(&c->arena, kind, at);
    if (!n) {
        c->oom = 1;
        return NULL;
    }
    n->u.i = v;
    return n;
}

static ast_kind lit_kind(rv_type t)
{
    switch (t) {
    case RV_T_INT: return E_INT;
    case RV_T_NUM: return E_NUM;
    case RV_T_MONEY: return E_MONEY;
    case RV_T_RATE: return E_RATE;
    case RV_T_DURATION: return E_DURATION;
    case RV_T_TOKENS: return E_TOKENS;
    case RV_T_PERCENT: return E_PERCENT;
    default: return E_BOOL;
    }
}

/* Fold a type-checked expression into a literal (E_INT..., E_STR, E_REGEX,
   E_BOOL, E_LIST of literals, or a model/agent/guardrail name), or NULL
   when it depends on the request. */
static ast *fold_uncached(rv_compiler *c, ast *e, int report);

/* ---------------------------------------------------------------- the memo */

/* Folded values that are not the node itself (a constant's name, constant
   arithmetic, a list), by node: open addressing, pointers hashed. */
static uint32_t memo_slot(const rv_compiler *c, const ast *e)
{
    uintptr_t h = (uintptr_t)e >> 4;
    return (uint32_t)((h ^ (h >> 17)) * 2654435761u) & (c->fold_cap - 1);
}

/* NULL when 'e' is not there (a copy of a node whose value is: folding
   it again puts it in) */
static ast *memo_get(const rv_compiler *c, const ast *e)
{
    if (!c->fold_cap)
        return NULL;
    for (uint32_t s = memo_slot(c, e); c->fold_memo[s].node; s = (s + 1) & (c->fold_cap - 1))
        if (c->fold_memo[s].node == e)
            return c->fold_memo[s].value;
    return NULL;
}

static int memo_put(rv_compiler *c, ast *e, ast *v)
{
    if ((c->fold_n + 1) * 2 > c->fold_cap) {
        uint32_t cap = c->fold_cap ? c->fold_cap * 2 : 256, old = c->fold_cap;
        struct fold_memo *m = mem_calloc(cap, sizeof *m), *was = c->fold_memo;
        if (!m) {
            c->oom = 1;
            return -1;
        }
        c->fold_memo = m;
        c->fold_cap = cap;
        for (uint32_t i = 0; i < old; i++)
            if (was[i].node) {
                uint32_t s = memo_slot(c, was[i].node);
                while (m[s].node)
                    s = (s + 1) & (cap - 1);
                m[s] = was[i];
            }
        free(was);
    }
    uint32_t s = memo_slot(c, e);
    while (c->fold_memo[s].node)
        s = (s + 1) & (c->fold_cap - 1);
    c->fold_memo[s].node = e;
    c->fold_memo[s].value = v;
    c->fold_n++;
    return 0;
}

/* ---------------------------------------------------------------- folding */

/* Folding is asked for the same nodes many times (the linter, the code
   generator): the answer is kept once its type is known -- on the node
   when it is the node itself (a literal), in the memo otherwise. */
static ast *fold(rv_compiler *c, ast *e, int report)
{
    if (!e || e->type == RV_T__COUNT)
        return NULL;
    if (e->fold_state == 1)
        return e;
    ast *v;
    if (e->fold_state == 4 && (v = memo_get(c, e)))
        return v;
    if (e->fold_state == 3 || (e->fold_state == 2 && !report))
        return NULL;
    v = fold_uncached(c, e, report);
    /* constants' own folding can fail for reasons reported elsewhere;
       only cache a definite answer */
    if (v) {
        if (v == e)
            e->fold_state = 1;
        else if (!memo_put(c, e, v))
            e->fold_state = 4;
    } else if (e->fold_state != 3 && !c->diag.oom && (!(e->kind == E_NAME || e->kind == E_MEMBER) || !e->sym ||
                                    e->sym->kind != SYM_CONST)) {
        e->fold_state = 2;   /* (a constant that failed to fold may be reported again) */
    }
    return v;
}

static ast *fold_uncached(rv_compiler *c, ast *e, int report)
{
    if (e->kind <= E_REGEX)
        return e;
    if ((e->kind == E_NAME || e->kind == E_MEMBER) && e->sym) {
        if (e->sym->kind == SYM_CONST)
            return const_value(e->sym);
        return e;
    }
    if (e->kind == E_LIST) {
        ast *out = ast_new(&c->arena, E_LIST, e->at), *tail = NULL;
        if (!out) {
            c->oom = 1;
            return NULL;
        }
        out->type = e->type;
        out->elem = e->elem;
        for (ast *i = e->u.items; i; i = i->next) {
            ast *f = fold(c, i, report);
            if (!f)
                return NULL;
            ast *copy = arena_alloc(&c->arena, sizeof *copy);
            if (!copy) {
                c->oom = 1;
                return NULL;
            }
            *copy = *f;
            copy->next = NULL;
            if (tail)
                tail->next = copy;
            else
                out->u.items = copy;
            tail = copy;
        }
        return out;
    }
    if (e->kind == E_NEG) {
        ast *a = fold(c, e->u.operand, report);
        if (!a)
            return NULL;
        if (a->u.i == INT64_MIN) {     /* its negation does not fit, as in the VM */
            diag_report(D, DG_BAD_VALUE, e->at, "arithmetic overflow");
            e->fold_state = 3;
            return NULL;
        }
        return fold_lit(c, a->kind, e->at, -a->u.i);
    }
    if (e->kind == E_NOT) {
        ast *a = fold(c, e->u.operand, report);
        if (!a)
            return NULL;
        ast *r = fold_lit(c, E_BOOL, e->at, !a->u.i);
        if (r) r->type = RV_T_BOOL;
        return r;
    }
    if (e->kind == E_BINARY) {
        ast *a = fold(c, e->u.bin.l, report), *b = a ? fold(c, e->u.bin.r, report) : NULL;
        if (!a || !b)
            return NULL;
        ast_binop op = e->u.bin.op;
        int64_t v;
        if (op >= AST_ADD && op <= AST_DIV) {
            int r = arith_eval((arith_op)(op - AST_ADD), a->type, a->u.i, b->type, b->u.i, &v);
            if (r) {
                /* an error in constants, whatever asked: reported once */
                diag_report(D, DG_BAD_VALUE, e->at, r == -2 ? "division by zero" : "arithmetic overflow");
                diag_hint(D, "constant arithmetic is exact in 64 bits; at run time this would be a missing value");
                e->fold_state = 3;
                return NULL;
            }
            ast *n = fold_lit(c, lit_kind(e->type), e->at, v);
            if (n) n->type = e->type;
            return n;
        }
        if (op == AST_AND || op == AST_OR) {
            ast *n = fold_lit(c, E_BOOL, e->at, op == AST_AND ? (a->u.i && b->u.i) : (a->u.i || b->u.i));
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if (op >= AST_EQ && op <= AST_GE && arith_numeric(a->type) && arith_numeric(b->type)) {
            int cmp = arith_cmp(a->type, a->u.i, b->type, b->u.i);
            int r = op == AST_EQ ? cmp == 0 : op == AST_NE ? cmp != 0 : op == AST_LT ? cmp < 0
                  : op == AST_LE ? cmp <= 0 : op == AST_GT ? cmp > 0 : cmp >= 0;
            ast *n = fold_lit(c, E_BOOL, e->at, r);
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if ((op == AST_EQ || op == AST_NE) && a->kind == E_STR && b->kind == E_STR) {
            int eq = a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
            ast *n = fold_lit(c, E_BOOL, e->at, op == AST_EQ ? eq : !eq);
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if ((op == AST_EQ || op == AST_NE) && a->kind == E_BOOL && b->kind == E_BOOL) {
            ast *n = fold_lit(c, E_BOOL, e->at, op == AST_EQ ? a->u.i == b->u.i : a->u.i != b->u.i);
            if (n) n->type = RV_T_BOOL;
            return n;
        }
    }
    if (report) {
        diag_report(D, DG_NOT_CONSTANT, e->at, "this value must be known when the policy is compiled");
        diag_hint(D, "only literals, constants and arithmetic on them are allowed here");
    }
    return NULL;
}

ast *fold_expr(rv_compiler *c, ast *e, int report)
{
    return fold(c, e, report);
}
