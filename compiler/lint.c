/* The linter: what a policy means, beyond whether it is well typed.

   - unreachable-rule: a rule after 'otherwise' or after an always-true
     rule, or whose condition is always false.
   - shadowed-rule: a rule whose condition implies an earlier rule's in the
     same block (whenever it would match, the earlier one already did);
     implication between conditions is imply.c's.
   - undecided: a route block that can end with no rule matched.
   - delegation-cycle: agents that route or fall back to each other.
   - where-never / dead-candidate: a 'where' evaluated for each candidate
     with the candidate's fields known and the request unknown (three-valued
     logic with intervals; tokens() is bounded by the agent's input limit).
   - cascade-tier: a cascade step with a lower tier than the one before.
   - budget: the worst-case cost of a request (cost.c) over the budget;
     with -v each agent's worst case is printed as a note.
   - unused: models and guardrails declared in the files being checked
     (not in imports) that nothing refers to, in files that declare an
     agent (a file of models or guardrails alone is a library). */
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "compiler.h"
#include "fold.h"
#include "format.h"
#include "imply.h"
#include "mem.h"
#include "vm.h"

#define D (&c->diag)

static int is_cmp(ast_binop op) { return op >= AST_EQ && op <= AST_GE; }

/* ---------------------------------------------------------------- route blocks */

/* 1 always true, 0 always false, -1 depends on the request; 'and', 'or'
   and 'not' are decided as far as their constant sides decide them. */
static int truth3(rv_compiler *c, ast *e)
{
    ast *f = fold_expr(c, e, 0);
    if (f && f->kind == E_BOOL)
        return (int)f->u.i;
    if (e->kind == E_NOT) {
        int t = truth3(c, e->u.operand);
        return t < 0 ? t : !t;
    }
    if (e->kind == E_BINARY && (e->u.bin.op == AST_AND || e->u.bin.op == AST_OR)) {
        int l = truth3(c, e->u.bin.l), r = truth3(c, e->u.bin.r), dominant = e->u.bin.op == AST_OR;
        if (l == dominant || r == dominant)
            return dominant;
        return l >= 0 && r >= 0 ? !dominant : -1;
    }
    return -1;
}

static int const_truth(rv_compiler *c, ast *cond)
{
    return cond ? truth3(c, cond) : 1;
}

/* Does the block have two rules one of which holds whenever the other
   does not ('c' and 'not c', 'x == k' and 'x != k', 'x in L' and 'x not
   in L', 'x <= k' and 'x > k' ...)?  Then some rule always matches. */
static int complementary(rv_compiler *c, ast *rules)
{
    for (ast *a = rules; a; a = a->next)
        for (ast *b = a->next; b; b = b->next)
            if (a->u.rule->cond && b->u.rule->cond && imply_complement(c, a->u.rule->cond, b->u.rule->cond))
                return 1;
    return 0;
}

static void lint_target(rv_compiler *c, ast *t, sym *agent);

static void report_undecided(rv_compiler *c, ast *block)
{
    if (complementary(c, block->u.t->rules))
        return;
    diag_report(D, DG_UNDECIDED, block->at, "no model is chosen when no rule matches");
    diag_hint(D, "end the block with: otherwise -> some_model");
}

static void lint_rules(rv_compiler *c, ast *block)
{
    imply_index ix = { 0 };
    ast *ender = NULL;              /* otherwise / always-true rule */
    int decided = 0;
    for (ast *r = block->u.t->rules; r; r = r->next) {
        int truth = const_truth(c, r->u.rule->cond);
        if (ender) {
            diag_report(D, DG_UNREACHABLE, r->at, "rule %u can never be reached", (unsigned)r->ext);
            diag_note(D, ender->at, ender->u.rule->cond ? "rule %u matches every request"
                                                       : "rule %u ('otherwise') matches every request",
                      (unsigned)ender->ext);
            continue;
        }
        if (truth == 0) {
            diag_report(D, DG_UNREACHABLE, r->u.rule->cond->at, "this condition is always false: rule %u never matches",
                        (unsigned)r->ext);
            continue;
        }
        if (truth == 1) {
            ender = r;
            decided = 1;
            continue;
        }
        imply_conj cj;
        if (imply_conj_of(c, r->u.rule->cond, &cj)) {
            c->oom = 1;
            break;
        }
        ast *clash[2];
        if (imply_contradiction(c, &cj, clash)) {
            diag_report(D, DG_UNREACHABLE, r->u.rule->cond->at, "this condition can never be true: rule %u never matches",
                        (unsigned)r->ext);
            diag_note(D, clash[1]->at, "this test contradicts an earlier one of the same value");
            continue;
        }
        ast *by = cj.many ? NULL : imply_find_shadow(c, &ix, &cj);
        if (by) {
            diag_report(D, DG_SHADOWED, r->at, "rule %u is shadowed by rule %u: whenever it matches, rule %u matched first",
                        (unsigned)r->ext, (unsigned)by->ext, (unsigned)by->ext);
            diag_note(D, by->at, "rule %u", (unsigned)by->ext);
            diag_hint(D, "move the more specific rule first, or remove it");
        }
        /* a shadowed rule need not be indexed: whatever implies it implies
           the rule that shadows it */
        if (!by && imply_add(&ix, r, cj))
            c->oom = 1;
    }
    imply_free(&ix);
    if (!decided)
        report_undecided(c, block);
}

/* Routes only: every route block decides.  For policies with errors
   elsewhere (a type error in a condition), so that 'undecided' is not
   hidden until they are fixed; an ill-typed condition counts as one that
   depends on the request. */
static void undecided_in(rv_compiler *c, ast *t)
{
    switch (t->kind) {
    case T_ROUTE: {
        int decided = 0;
        for (ast *r = t->u.t->rules; r && !decided; r = r->next)
            decided = const_truth(c, r->u.rule->cond) == 1;
        if (!decided)
            report_undecided(c, t);
        for (ast *r = t->u.t->rules; r; r = r->next)
            undecided_in(c, r->u.rule->target);
        return;
    }
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            undecided_in(c, a->u.arm.target);
        return;
    case T_HOOK:
        undecided_in(c, t->u.t->dflt);
        return;
    default:
        return;
    }
}

void lint_undecided(rv_compiler *c)
{
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT && c->order[i]->u.agent.route)
            undecided_in(c, c->order[i]->u.agent.route);
}

/* ---------------------------------------------------------------- where: three-valued, with intervals */

#define INF (INT64_MAX / 4)

typedef struct {
    enum { AV_UNKNOWN, AV_BOOL, AV_RANGE } kind;
    int b;                 /* AV_BOOL */
    rv_type t;             /* AV_RANGE */
    int64_t lo, hi;
} absval;

static absval unknown(void) { absval v = { AV_UNKNOWN, 0, RV_T_NIL, 0, 0 }; return v; }
static absval known_bool(int b) { absval v = { AV_BOOL, !!b, RV_T_BOOL, 0, 0 }; return v; }
static absval range(rv_type t, int64_t lo, int64_t hi) { absval v = { AV_RANGE, 0, t, lo, hi }; return v; }

static int64_t sat(rv_type ta, int64_t x, rv_type tb, int64_t y, arith_op op)
{
    int64_t r;
    if (x >= INF || y >= INF || x <= -INF || y <= -INF) {
        /* an infinite bound stays infinite; the sign decides which */
        int neg = (x < 0) != (y < 0 && op != ARITH_ADD && op != ARITH_SUB);
        if (op == ARITH_SUB && (y >= INF))
            return -INF;
        if (op == ARITH_ADD || op == ARITH_SUB)
            return (x <= -INF || y <= -INF) ? -INF : INF;
        return neg ? -INF : INF;
    }
    int rc = arith_eval(op, ta, x, tb, y, &r);
    if (rc == -1)
        return ((x < 0) != (y < 0)) && op >= ARITH_MUL ? -INF : INF;
    if (rc == -2)
        return INF;
    return r < -INF ? -INF : r > INF ? INF : r;
}

/* -x for an interval bound: beyond INF is infinite (and INT64_MIN has no
   negation). */
static int64_t neg_bound(int64_t x)
{
    return x <= -INF ? INF : x >= INF ? -INF : -x;
}

typedef struct { rv_compiler *c; const model_info *m; int64_t in_bound; } where_ctx;

static absval ab_eval(where_ctx *w, ast *e)
{
    ast *f = fold_expr(w->c, e, 0);
    if (f) {
        if (f->kind == E_BOOL)
            return known_bool((int)f->u.i);
        if (arith_numeric(f->type))
            return range(f->type, f->u.i, f->u.i);
        return unknown();
    }
    switch (e->kind) {
    case E_NAME:
        if (e->ext == 'C') {
            const model_info *m = w->m;
            int64_t v = 0;
            switch (e->field) {
            case RV_CAND_CONTEXT: v = m->context; break;
            case RV_CAND_TIER: v = m->tier; break;
            case RV_CAND_LATENCY: v = m->latency; break;
            case RV_CAND_PRICE_IN: v = m->price_in; break;
            case RV_CAND_PRICE_OUT: v = m->price_out; break;
            case RV_CAND_MAX_OUTPUT: v = m->max_output; break;
            }
            return range(e->type, v, v);
        }
        if (e->ext == 'R' && arith_numeric(e->type))
            return range(e->type, 0, INF);
        return unknown();
    case E_CALL:
        if (e->field == RV_BI_tokens)
            return range(RV_T_TOKENS, 0, w->in_bound ? w->in_bound : INF);
        if (e->field == RV_BI_len)
            return range(RV_T_INT, 0, INF);
        if (e->field == RV_BI_bucket)
            return range(RV_T_INT, 0, 99);
        return unknown();
    case E_NOT: {
        absval a = ab_eval(w, e->u.operand);
        return a.kind == AV_BOOL ? known_bool(!a.b) : unknown();
    }
    case E_NEG: {
        absval a = ab_eval(w, e->u.operand);
        return a.kind == AV_RANGE ? range(a.t, neg_bound(a.hi), neg_bound(a.lo)) : unknown();
    }
    case E_BINARY:
        break;
    default:
        return unknown();
    }
    ast_binop op = e->u.bin.op;
    if (op == AST_IN || op == AST_NOTIN) {
        if (e->u.bin.r->ext == 'K')
            return known_bool(((w->m->caps >> e->u.bin.r->field) & 1) == (op == AST_IN));
        ast *tag = e->u.bin.r->kind == E_NAME && e->u.bin.r->ext == 'C' && e->u.bin.r->field == RV_CAND_TAGS
                 ? fold_expr(w->c, e->u.bin.l, 0) : NULL;
        if (tag && tag->kind == E_STR) {
            int has = 0;
            for (const ast *t = w->m->tags ? w->m->tags->u.items : NULL; t && !has; t = t->next)
                has = t->u.str.len == tag->u.str.len && !memcmp(t->u.str.s, tag->u.str.s, tag->u.str.len);
            return known_bool(has == (op == AST_IN));
        }
        return unknown();
    }
    absval a = ab_eval(w, e->u.bin.l), b = ab_eval(w, e->u.bin.r);
    if (op == AST_AND || op == AST_OR) {
        int is_and = op == AST_AND;
        if ((a.kind == AV_BOOL && a.b != is_and) || (b.kind == AV_BOOL && b.b != is_and))
            return known_bool(!is_and);
        if (a.kind == AV_BOOL && b.kind == AV_BOOL)
            return known_bool(is_and);
        return unknown();
    }
    if (a.kind != AV_RANGE || b.kind != AV_RANGE)
        return unknown();
    if (op >= AST_ADD && op <= AST_DIV) {
        arith_op ao = (arith_op)(op - AST_ADD);
        rv_type t = e->type;
        if (ao == ARITH_ADD)
            return range(t, sat(a.t, a.lo, b.t, b.lo, ao), sat(a.t, a.hi, b.t, b.hi, ao));
        if (ao == ARITH_SUB)
            return range(t, sat(a.t, a.lo, b.t, b.hi, ao), sat(a.t, a.hi, b.t, b.lo, ao));
        if (ao == ARITH_DIV && b.lo <= 0 && b.hi >= 0)
            return unknown();
        int64_t c1 = sat(a.t, a.lo, b.t, b.lo, ao), c2 = sat(a.t, a.lo, b.t, b.hi, ao);
        int64_t c3 = sat(a.t, a.hi, b.t, b.lo, ao), c4 = sat(a.t, a.hi, b.t, b.hi, ao);
        int64_t lo = c1, hi = c1;
        int64_t cs[3] = { c2, c3, c4 };
        for (int i = 0; i < 3; i++) {
            lo = cs[i] < lo ? cs[i] : lo;
            hi = cs[i] > hi ? cs[i] : hi;
        }
        return range(t, lo, hi);
    }
    if (!is_cmp(op) || !arith_comparable(a.t, b.t))
        return unknown();
    /* compare intervals: x in [a.lo,a.hi], y in [b.lo,b.hi] */
    int lt_always = arith_cmp(a.t, a.hi, b.t, b.lo) < 0, ge_always = arith_cmp(a.t, a.lo, b.t, b.hi) >= 0;
    int le_always = arith_cmp(a.t, a.hi, b.t, b.lo) <= 0, gt_always = arith_cmp(a.t, a.lo, b.t, b.hi) > 0;
    int points = a.lo == a.hi && b.lo == b.hi;
    switch (op) {
    case AST_LT: return lt_always ? known_bool(1) : ge_always ? known_bool(0) : unknown();
    case AST_GE: return ge_always ? known_bool(1) : lt_always ? known_bool(0) : unknown();
    case AST_LE: return le_always ? known_bool(1) : gt_always ? known_bool(0) : unknown();
    case AST_GT: return gt_always ? known_bool(1) : le_always ? known_bool(0) : unknown();
    case AST_EQ: return points && !arith_cmp(a.t, a.lo, b.t, b.lo) ? known_bool(1)
                      : (lt_always || gt_always) ? known_bool(0) : unknown();
    case AST_NE: return points && !arith_cmp(a.t, a.lo, b.t, b.lo) ? known_bool(0)
                      : (lt_always || gt_always) ? known_bool(1) : unknown();
    default: return unknown();
    }
}

static void lint_where(rv_compiler *c, ast *t, sym *agent)
{
    where_ctx w = { .c = c, .in_bound = agent->u.agent.in_limit };
    unsigned alive = 0, n = 0;
    for (ast *m = t->u.t->cands; m; m = m->next)
        n++;
    ast **dead = mem_calloc(n + 1, sizeof *dead);
    if (!dead) {
        c->oom = 1;
        return;
    }
    unsigned nd = 0, always = 0;
    for (ast *m = t->u.t->cands; m; m = m->next) {
        w.m = &m->sym->u.model;
        absval v = ab_eval(&w, t->u.t->cond);
        if (v.kind == AV_BOOL && !v.b)
            dead[nd++] = m;
        else
            alive++;
        always += v.kind == AV_BOOL && v.b;
    }
    if (!alive) {
        diag_report(D, DG_WHERE_NEVER, t->u.t->cond->at, "no listed model can ever satisfy this condition");
        diag_hint(D, "check the models' context, tier, latency, prices and capabilities against it");
    } else if (!always && !agent->u.agent.fallback) {
        /* the VM sends a choice without a candidate to the deciding
           agent's plain fallbacks; with none the request is not decided */
        diag_report(D, DG_WHERE_UNDECIDED, t->u.t->cond->at, "a request for which no listed model satisfies this "
                    "condition is not decided: agent '%s' has no fallback", agent->name);
        diag_hint(D, "add a fallback to the agent ('fallback some_model'), or list a model that always qualifies");
    }
    if (alive) {
        for (unsigned i = 0; i < nd; i++) {
            diag_report(D, DG_DEAD_CANDIDATE, dead[i]->at, "'%s' can never satisfy the 'where' of this %s",
                        dead[i]->u.name, t->kind == T_CHEAPEST ? "cheapest" : "fastest");
            diag_note(D, t->u.t->cond->at, "the condition");
        }
    }
    free(dead);
}

/* ---------------------------------------------------------------- per target */

static void lint_target(rv_compiler *c, ast *t, sym *agent)
{
    switch (t->kind) {
    case T_ROUTE:
        lint_rules(c, t);
        for (ast *r = t->u.t->rules; r; r = r->next)
            lint_target(c, r->u.rule->target, agent);
        return;
    case T_CHEAPEST:
    case T_FASTEST:
        if (t->u.t->cond)
            lint_where(c, t, agent);
        return;
    case T_CASCADE: {
        ast *prev = NULL;
        for (ast *m = t->u.t->cands; m; prev = m, m = m->next)
            if (prev && m->sym->u.model.tier < prev->sym->u.model.tier) {
                diag_report(D, DG_CASCADE_TIER, m->at, "this cascade steps down from tier %u ('%s') to tier %u ('%s')",
                            prev->sym->u.model.tier, prev->u.name, m->sym->u.model.tier, m->u.name);
                diag_hint(D, "a cascade escalates: list models from the cheapest, lowest tier up");
                break;
            }
        /* by logprobs (the default): a step whose model returns none has
           no confidence and always escalates (the last step is accepted
           as it is) */
        for (ast *m = t->u.t->cands; t->u.t->by == RV_BY_LOGPROBS && m && m->next; m = m->next)
            if (!(m->sym->u.model.caps >> RV_CAP_LOGPROBS & 1)) {
                diag_report(D, DG_CASCADE_LOGPROBS, m->at, "'%s' returns no logprobs: its answers have no "
                            "confidence, so this cascade always escalates past it", m->u.name);
                diag_hint(D, "measure confidence another way ('by check EXPR', 'by judge MODEL'), or declare "
                             "the model's 'logprobs' capability if its provider returns them");
            }
        return;
    }
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            lint_target(c, a->u.arm.target, agent);
        return;
    case T_HOOK:
        lint_target(c, t->u.t->dflt, agent);
        return;
    default:
        return;
    }
}

/* ---------------------------------------------------------------- agent graph */

/* Depth-first search over agent references (route targets and
   fallbacks), with an explicit stack: a chain of delegations is as long
   as the policy makes it.  'frames' holds the agents on the current path
   (for the message), each with its range of 'edges' still to follow;
   'post' receives the agents as they are finished, delegates before the
   agents that use them (the order cost.c needs). */
typedef struct { ast *ref; sym *to; } edge;
typedef struct { sym *agent; uint32_t start, next; } frame;
typedef struct {
    rv_compiler *c;
    frame *frames;
    uint32_t nframe;
    edge *edges;
    uint32_t nedge, cap_edge;
    sym **post;
    uint32_t npost;
    uint32_t ncycle;        /* cycles reported */
} cycle_ctx;

static void add_edge(cycle_ctx *cc, ast *ref, sym *to)
{
    if (cc->nedge == cc->cap_edge) {
        uint32_t cap = cc->cap_edge ? cc->cap_edge * 2 : 64;
        edge *e = mem_reallocarray(cc->edges, cap, sizeof *e);
        if (!e) {
            cc->c->oom = 1;
            return;
        }
        cc->edges = e;
        cc->cap_edge = cap;
    }
    cc->edges[cc->nedge].ref = ref;
    cc->edges[cc->nedge++].to = to;
}

/* The agents a target delegates to, in source order (targets nest at most
   AST_MAX_DEPTH deep). */
static void target_edges(cycle_ctx *cc, ast *t)
{
    switch (t->kind) {
    case T_REF:
        if (t->sym && t->sym->kind == SYM_AGENT)
            add_edge(cc, t, t->sym);
        return;
    case T_ROUTE:
        for (ast *r = t->u.t->rules; r; r = r->next)
            target_edges(cc, r->u.rule->target);
        return;
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            target_edges(cc, a->u.arm.target);
        return;
    case T_HOOK:
        target_edges(cc, t->u.t->dflt);
        return;
    default:
        return;
    }
}

static void push_agent(cycle_ctx *cc, sym *a)
{
    agent_info *ai = &a->u.agent;
    ai->visiting = 1;
    frame *f = &cc->frames[cc->nframe++];
    f->agent = a;
    f->start = f->next = cc->nedge;
    target_edges(cc, ai->route);
    for (ast *n = ai->fallback; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL)
            if (m->sym && m->sym->kind == SYM_AGENT)
                add_edge(cc, m, m->sym);
    for (ast *it = ai->onfail; it; it = it->next)
        if (it->u.item->value2->sym && it->u.item->value2->sym->kind == SYM_AGENT)
            add_edge(cc, it->u.item->value2, it->u.item->value2->sym);
}

static void report_cycle(cycle_ctx *cc, ast *ref, sym *target)
{
    rv_compiler *c = cc->c;
    char chain[1024];
    size_t o = 0;
    uint32_t start = 0;
    while (start < cc->nframe && cc->frames[start].agent != target)
        start++;
    for (uint32_t i = start; i < cc->nframe && o < sizeof chain - 64; i++)
        o += (size_t)snprintf(chain + o, sizeof chain - o, "'%s' -> ", cc->frames[i].agent->name);
    snprintf(chain + o, sizeof chain - o, "'%s'", target->name);
    diag_report(D, DG_DELEGATION_CYCLE, ref->at, "agents route or fall back to each other in a cycle: %s", chain);
    cc->ncycle++;
    diag_hint(D, "a request would never reach a model; break the cycle with a model");
}

/* A request to the agent of finished frame 'f' passes through it and
   then at most the longest chain among the agents it delegates or falls
   back to (all finished, or on a cycle already reported).  The VM holds
   RV_MAX_CHAIN agents on a path; a longer chain is reported once, at the
   agent where it first becomes too long. */
static void chain_length(cycle_ctx *cc, frame *f)
{
    rv_compiler *c = cc->c;
    agent_info *ai = &f->agent->u.agent;
    ai->chain = 1;
    ai->next_in_chain = NULL;
    for (uint32_t i = f->start; i < cc->nedge; i++) {
        sym *to = cc->edges[i].to;
        if (to->u.agent.done && to->u.agent.chain + 1 > ai->chain) {
            ai->chain = to->u.agent.chain + 1;
            ai->next_in_chain = to;
        }
    }
    if (ai->chain != RV_MAX_CHAIN + 1 || cc->ncycle)   /* (on a cycle, chains are no news) */
        return;
    char path[1024];
    size_t o = 0;
    unsigned n = 0;
    for (sym *s = f->agent; s && o < sizeof path - 80; s = s->u.agent.next_in_chain, n++) {
        if (n == 3 && ai->chain > 5) {   /* the first three, then the last */
            o += (size_t)snprintf(path + o, sizeof path - o, " -> ...");
            while (s->u.agent.next_in_chain)
                s = s->u.agent.next_in_chain;
        }
        o += (size_t)snprintf(path + o, sizeof path - o, "%s'%s'", n ? " -> " : "", s->name);
    }
    diag_report(D, DG_DELEGATION_CHAIN, f->agent->decl->u.decl->name_at,
                "a request to '%s' can pass through %u agents, more than a request's path holds (%d): %s",
                f->agent->name, ai->chain, RV_MAX_CHAIN, path);
    diag_hint(D, "route to a model in fewer steps; the agents that lead here have longer chains still");
}

/* Every agent reachable from 'root' that is not finished yet.  The top
   frame's edges run from its 'next' to the end of 'edges' (an agent's
   edges are dropped when it is finished). */
static void visit_agent(cycle_ctx *cc, sym *root)
{
    if (root->u.agent.done || !root->u.agent.route)
        return;
    push_agent(cc, root);
    while (cc->nframe && !cc->c->oom) {
        frame *f = &cc->frames[cc->nframe - 1];
        if (f->next == cc->nedge) {
            agent_info *ai = &f->agent->u.agent;
            chain_length(cc, f);
            ai->visiting = 0;
            ai->done = 1;
            cc->post[cc->npost++] = f->agent;
            cc->nedge = f->start;
            cc->nframe--;
            continue;
        }
        edge e = cc->edges[f->next++];
        if (e.to->u.agent.visiting)
            report_cycle(cc, e.ref, e.to);
        else if (!e.to->u.agent.done && e.to->u.agent.route)
            push_agent(cc, e.to);
    }
}

/* ---------------------------------------------------------------- models' stand-ins */

/* The longest chain of 'fallback on' stand-ins from 's' (memoized in
   'chain'; 'state' 1 while on the path): a chain that leads back to a
   model it left is fallback-cycle, one longer than MAX_STANDINS is cut
   there -- so the search (and cost.c's) never goes deeper than that. */
#define MAX_STANDINS 16

static unsigned standin_chain(rv_compiler *c, sym *s, unsigned depth)
{
    model_info *m = &s->u.model;
    if (m->chain_state == 2)
        return m->chain;
    if (depth > MAX_STANDINS) {
        diag_report(D, DG_BAD_VALUE, s->decl->u.decl->name_at,
                    "a chain of 'fallback on' stand-ins through '%s' is longer than %d models", s->name, MAX_STANDINS);
        return MAX_STANDINS + 1;
    }
    m->chain_state = 1;
    unsigned longest = 0;
    for (ast *it = m->onfail; it; it = it->next) {
        ast *t = it->u.item->value2;
        if (!t->sym)
            continue;
        if (t->sym->u.model.chain_state == 1) {
            diag_report(D, DG_FALLBACK_CYCLE, t->at, "'fallback on' leads back to '%s', which already failed",
                        t->sym->name);
            diag_hint(D, "a stand-in is called when its model has failed; retry the model instead ('retry', 'retry_on')");
            continue;
        }
        unsigned n = standin_chain(c, t->sym, depth + 1);
        if (n > longest)
            longest = n;
        if (longest > MAX_STANDINS)
            break;
    }
    m->chain_state = 2;
    m->chain = longest + 1;
    return m->chain;
}

static void lint_standins(rv_compiler *c)
{
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind != SYM_MODEL || !s->u.model.onfail)
            continue;
        standin_chain(c, s, 0);
        uint32_t k = 0;
        for (ast *it = s->u.model.onfail; it; it = it->next, k++) {
            sym *to = it->u.item->value2->sym;
            if (to && s->u.model.onfail_on && (s->u.model.onfail_on[k] >> RV_FAIL_CONTEXT & 1) &&
                to->u.model.context <= s->u.model.context)
                diag_report(D, DG_SHORT_FALLBACK, it->u.item->value2->at,
                            "'%s' has no larger context than '%s' (%lld tokens against %lld): a conversation too "
                            "long for one is too long for the other", to->name, s->name,
                            (long long)to->u.model.context, (long long)s->u.model.context);
        }
    }
}

/* ---------------------------------------------------------------- driver */

static void guard_limits(sym *s)
{
    agent_info *a = &s->u.agent;
    for (ast *n = a->guards; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL) {
            if (!m->sym)
                continue;
            int64_t in = m->sym->u.guard.in_limit, out = m->sym->u.guard.out_limit;
            if (in && (!a->in_limit || in < a->in_limit))
                a->in_limit = in;
            if (out && (!a->out_limit || out < a->out_limit))
                a->out_limit = out;
        }
}

void lint_program(rv_compiler *c)
{
    cycle_ctx cc = { .c = c, .frames = mem_calloc(c->count[SYM_AGENT] + 1, sizeof *cc.frames),
                     .post = mem_calloc(c->count[SYM_AGENT] + 1, sizeof *cc.post) };
    if (!cc.frames || !cc.post) {
        free(cc.frames);
        free(cc.post);
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            guard_limits(c->order[i]);
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            visit_agent(&cc, c->order[i]);
    free(cc.frames);
    free(cc.edges);
    lint_standins(c);
    int cyclic = c->diag.nerr > 0 || c->oom;
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_AGENT) {
            s->u.agent.done = 0;
            lint_target(c, s->u.agent.route, s);
        }
    }
    /* worst cases, delegates first: cost_agent() then finds every agent a
       route delegates to already computed, and never recurses deeper */
    for (uint32_t i = 0; i < cc.npost && !cyclic; i++) {
        const char *why;
        cost_agent(c, cc.post[i], &why);
    }
    free(cc.post);
    for (uint32_t i = 0; i < c->norder && !cyclic; i++) {
        sym *s = c->order[i];
        if (s->kind != SYM_AGENT)
            continue;
        const char *why = NULL;
        int64_t worst = cost_agent(c, s, &why);
        char money[64], budget[64];
        if (worst < 0)
            snprintf(money, sizeof money, "unbounded");
        else
            fmt_money(money, sizeof money, worst);
        if (c->verbose && s->decl->u.decl->file_level)
            diag_report(D, DG_WORST_COST, s->decl->u.decl->name_at, "worst-case cost of a request to '%s': %s%s%s%s",
                        s->name, money, why ? " (calling " : "", why ? why : "", why ? ")" : "");
        int64_t b = s->u.agent.budget_request;
        if (worst == RV_COST_UNBOUNDED) {
            fmt_money(money, sizeof money, INT64_MAX);
            diag_report(D, DG_UNBOUNDED_COST, s->decl->u.decl->name_at,
                        "the worst-case cost of a request to '%s' has no bound: calling %s may cost more than %s, "
                        "the most money can hold", s->name, why ? why : "?", money);
            diag_hint(D, "check the prices and context sizes, and bound the tokens with a guardrail "
                         "('limit input 8k tokens', 'limit output 1k tokens')");
        } else if (b && worst > b) {
            fmt_money(budget, sizeof budget, b);
            diag_report(D, DG_BUDGET, s->decl->u.decl->name_at,
                        "the worst-case cost of a request (%s, calling %s) exceeds the budget of %s per request",
                        money, why ? why : "?", budget);
            diag_hint(D, "bound the tokens with a guardrail ('limit input 8k tokens', 'limit output 1k tokens'), "
                         "set the models' 'output', or raise the budget");
        }
    }
    /* unused declarations in the files being checked that declare agents
       (a file of models or guardrails alone is a library) */
    unsigned char *has_agent = mem_calloc(c->src.n + 1, 1);
    if (!has_agent) {
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT && c->order[i]->decl->at.file < c->src.n)
            has_agent[c->order[i]->decl->at.file] = 1;
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (!s->used && s->decl->u.decl->file_level && (s->kind == SYM_MODEL || s->kind == SYM_GUARDRAIL) &&
            s->decl->at.file < c->src.n && has_agent[s->decl->at.file])
            diag_report(D, DG_UNUSED, s->decl->u.decl->name_at, "%s '%s' is never used", sym_kind_names[s->kind], s->name);
    }
    free(has_agent);
}

