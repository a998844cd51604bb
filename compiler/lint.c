/* The linter: what a policy means, beyond whether it is well typed.

   - unreachable-rule: a rule after 'otherwise' or after an always-true
     rule, or whose condition is always false.
   - shadowed-rule: a rule whose condition implies an earlier rule's in the
     same block (whenever it would match, the earlier one already did).
     Implication is decided on conjuncts: every conjunct of the earlier
     rule must be implied by one of the later rule's, by equality, by
     'x == k' implying 'x in [.., k, ..]', by list inclusion, by numeric
     bounds ('x > 10' implies 'x > 5') or by one side of an 'or'.  Earlier
     rules are found through an index on their conjuncts' keys, so a
     policy with thousands of rules is linted in near-linear time.
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
#include "mem.h"
#include "units.h"

#define D (&c->diag)

/* ---------------------------------------------------------------- expression identity */

static uint32_t mix(uint32_t h, uint64_t v)
{
    h ^= (uint32_t)v + 0x9e3779b9u + (h << 6) + (h >> 2);
    h ^= (uint32_t)(v >> 32) + 0x9e3779b9u + (h << 6) + (h >> 2);
    return h;
}

static uint32_t str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Structural hash and equality of checked expressions: names by what they
   resolved to, literals by value. */
static uint32_t ex_hash(const ast *e)
{
    uint32_t h = mix(0, e->kind);
    switch (e->kind) {
    case E_STR: return mix(h, str_hash(e->u.str.s, e->u.str.len));
    case E_REGEX: return mix(mix(h, str_hash(e->u.re.pat, strlen(e->u.re.pat))), e->u.re.flags);
    case E_NAME: return e->sym ? mix(h, (uintptr_t)e->sym) : mix(mix(h, e->ext), (uint64_t)e->field);
    case E_MEMBER: return e->sym ? mix(h, (uintptr_t)e->sym) : mix(mix(h, e->ext), (uint32_t)e->field);
    case E_CALL: {
        h = mix(h, (uint64_t)e->field);
        for (const ast *a = e->u.call.args; a; a = a->next)
            h = mix(h, ex_hash(a));
        return h;
    }
    case E_LIST:
        for (const ast *a = e->u.items; a; a = a->next)
            h = mix(h, ex_hash(a));
        return h;
    case E_NOT: case E_NEG: return mix(h, ex_hash(e->u.operand));
    case E_BINARY: return mix(mix(mix(h, e->u.bin.op), ex_hash(e->u.bin.l)), ex_hash(e->u.bin.r));
    default: return mix(h, (uint64_t)e->u.i);
    }
}

static int ex_equal(const ast *a, const ast *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case E_STR: return a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
    case E_REGEX: return a->u.re.flags == b->u.re.flags && !strcmp(a->u.re.pat, b->u.re.pat);
    case E_NAME: return a->sym ? a->sym == b->sym : !b->sym && a->ext == b->ext && a->field == b->field;
    case E_MEMBER:
        if (a->sym || b->sym)
            return a->sym == b->sym;
        return a->ext == b->ext && a->field == b->field;   /* meta keys are numbered by the checker */
    case E_CALL: {
        if (a->field != b->field)
            return 0;
        const ast *x = a->u.call.args, *y = b->u.call.args;
        for (; x && y; x = x->next, y = y->next)
            if (!ex_equal(x, y))
                return 0;
        return !x && !y;
    }
    case E_LIST: {
        const ast *x = a->u.items, *y = b->u.items;
        for (; x && y; x = x->next, y = y->next)
            if (!ex_equal(x, y))
                return 0;
        return !x && !y;
    }
    case E_NOT: case E_NEG: return ex_equal(a->u.operand, b->u.operand);
    case E_BINARY:
        return a->u.bin.op == b->u.bin.op && ex_equal(a->u.bin.l, b->u.bin.l) && ex_equal(a->u.bin.r, b->u.bin.r);
    default: return a->u.i == b->u.i;
    }
}

/* ---------------------------------------------------------------- implication */

typedef struct {
    ast *e;
    uint32_t full;     /* hash of the whole atom */
    uint32_t subject;  /* hash of its left side, 0 for atoms only equality can imply */
    uint32_t file;     /* the key an earlier rule is filed under for this atom */
} atom;

typedef struct { atom *v; uint32_t n; } conj;

static void split_and(rv_compiler *c, ast *e, ast **out, uint32_t *n, uint32_t max)
{
    if (e->kind == E_BINARY && e->u.bin.op == OP_AND_) {
        split_and(c, e->u.bin.l, out, n, max);
        split_and(c, e->u.bin.r, out, n, max);
    } else if (*n < max) {
        out[(*n)++] = e;
    }
}

static int is_cmp(ast_binop op) { return op >= OP_EQ_ && op <= OP_GE_; }

static ast *folded(rv_compiler *c, ast *e) { return chk_fold(c, e, 0); }

/* Does atom 'b' imply atom 'a'? */
static int atom_implies(rv_compiler *c, ast *b, ast *a)
{
    if (ex_equal(a, b))
        return 1;
    if (a->kind == E_BINARY && a->u.bin.op == OP_OR_)
        return atom_implies(c, b, a->u.bin.l) || atom_implies(c, b, a->u.bin.r);
    if (a->kind != E_BINARY || b->kind != E_BINARY || !ex_equal(a->u.bin.l, b->u.bin.l))
        return 0;
    ast_binop ao = a->u.bin.op, bo = b->u.bin.op;
    ast *ak = folded(c, a->u.bin.r), *bk = folded(c, b->u.bin.r);
    if (!ak || !bk)
        return 0;
    /* x == k  implies  x in [.., k, ..];  x in L1 implies x in L2 when L1 ⊆ L2 */
    if (ao == OP_IN_ && ak->kind == E_LIST && (bo == OP_EQ_ || (bo == OP_IN_ && bk->kind == E_LIST))) {
        const ast *first = bo == OP_EQ_ ? bk : bk->u.items;
        for (const ast *x = first; x; x = bo == OP_EQ_ ? NULL : x->next) {
            int found = 0;
            for (const ast *y = ak->u.items; y && !found; y = y->next)
                found = ex_equal(x, y);
            if (!found)
                return 0;
        }
        return 1;
    }
    /* numeric bounds on the same subject */
    if (is_cmp(ao) && is_cmp(bo) && arith_numeric(ak->type) && arith_numeric(bk->type) &&
        arith_comparable(ak->type, bk->type)) {
        int cmp = arith_cmp(bk->type, bk->u.i, ak->type, ak->u.i);   /* kb vs ka */
        switch (ao) {
        case OP_GT_: return (bo == OP_GT_ && cmp >= 0) || ((bo == OP_GE_ || bo == OP_EQ_) && cmp > 0);
        case OP_GE_: return (bo == OP_GT_ || bo == OP_GE_ || bo == OP_EQ_) && cmp >= 0;
        case OP_LT_: return (bo == OP_LT_ && cmp <= 0) || ((bo == OP_LE_ || bo == OP_EQ_) && cmp < 0);
        case OP_LE_: return (bo == OP_LT_ || bo == OP_LE_ || bo == OP_EQ_) && cmp <= 0;
        case OP_NE_: return (bo == OP_EQ_ && cmp != 0) || (bo == OP_GT_ && cmp >= 0) || (bo == OP_LT_ && cmp <= 0);
        default: return 0;
        }
    }
    /* x == k implies x != k' for another string k' */
    if (ao == OP_NE_ && bo == OP_EQ_ && ak->kind == E_STR && bk->kind == E_STR)
        return !ex_equal(ak, bk);
    return 0;
}

/* atom_implies() with the atoms' hashes as a first filter: beyond
   equality and 'or', an implication needs the same left side, which the
   subject hashes tell. */
static int hashed_implies(rv_compiler *c, const atom *b, const atom *a)
{
    if (a->full == b->full && ex_equal(a->e, b->e))
        return 1;
    if (a->e->kind == E_BINARY && a->e->u.bin.op == OP_OR_)
        return atom_implies(c, b->e, a->e);
    if (!a->subject || a->subject != b->subject)
        return 0;
    return atom_implies(c, b->e, a->e);
}

static int conj_implies(rv_compiler *c, const conj *later, const conj *earlier)
{
    for (uint32_t i = 0; i < earlier->n; i++) {
        int ok = 0;
        for (uint32_t j = 0; j < later->n && !ok; j++)
            ok = hashed_implies(c, &later->v[j], &earlier->v[i]);
        if (!ok)
            return 0;
    }
    return 1;
}

#define MAXATOMS 8

/* Subject key: atoms that only an equal atom can imply get none, so they
   are matched by their full hash; comparisons and 'in' tests can be
   implied by other atoms on the same subject. */
static void make_atom(rv_compiler *c, ast *e, atom *a)
{
    a->e = e;
    a->full = ex_hash(e) | 1;
    a->subject = 0;
    if (e->kind == E_BINARY && (is_cmp(e->u.bin.op) || e->u.bin.op == OP_IN_) && folded(c, e->u.bin.r))
        a->subject = ex_hash(e->u.bin.l) | 1;
    /* only an equal atom implies 'x == k': filed under its full hash, it
       meets only later rules that have the same atom (a later 'x == k'
       still offers its subject, to meet an earlier 'x in [...]') */
    a->file = a->subject && e->u.bin.op != OP_EQ_ ? a->subject : a->full;
}

/* The index of the earlier rules of one block.  Each earlier rule is
   filed under one key: the combination of its atoms' keys (the subject
   for atoms other atoms can imply, the full hash for the rest).  A later
   rule looks up every combination of its own atoms' keys (each atom: left
   out, its full hash or its subject), so only earlier rules whose every
   atom could be implied are compared.  Earlier rules with an 'or'
   conjunct or too many atoms are compared with every later rule. */
typedef struct { uint32_t key, next; ast *rule; conj cj; } entry;
typedef struct {
    entry *v;
    uint32_t n, cap;
    uint32_t *bucket, nbucket;     /* entry index + 1 */
    uint32_t *loose, nloose, cap_loose;
    uint32_t *seen, nseen, cap_seen;  /* set of every atom key filed so far (0 = empty slot) */
} rule_index;

/* The set of atom keys earlier rules were filed under: a later atom's key
   that is not in it cannot be part of a match, which prunes the
   combinations find_shadow() tries. */
static int seen_has(const rule_index *ix, uint32_t key)
{
    if (!ix->cap_seen)
        return 0;
    for (uint32_t h = key & (ix->cap_seen - 1); ix->seen[h]; h = (h + 1) & (ix->cap_seen - 1))
        if (ix->seen[h] == key)
            return 1;
    return 0;
}

static int seen_add(rule_index *ix, uint32_t key)
{
    if (seen_has(ix, key))
        return 0;
    if ((ix->nseen + 1) * 2 > ix->cap_seen) {
        uint32_t cap = ix->cap_seen ? ix->cap_seen * 2 : 64, *t = mem_calloc(cap, sizeof *t);
        if (!t)
            return -1;
        for (uint32_t i = 0; i < ix->cap_seen; i++)
            if (ix->seen[i]) {
                uint32_t h = ix->seen[i] & (cap - 1);
                while (t[h])
                    h = (h + 1) & (cap - 1);
                t[h] = ix->seen[i];
            }
        free(ix->seen);
        ix->seen = t;
        ix->cap_seen = cap;
    }
    uint32_t h = key & (ix->cap_seen - 1);
    while (ix->seen[h])
        h = (h + 1) & (ix->cap_seen - 1);
    ix->seen[h] = key;
    ix->nseen++;
    return 0;
}

static uint32_t combine(const uint32_t *keys, uint32_t n)
{
    uint64_t sum = 0, x = 0;        /* order-independent */
    for (uint32_t i = 0; i < n; i++) {
        sum += (uint64_t)keys[i] * 2654435761u;
        x ^= (uint64_t)keys[i] * 0x9E3779B97F4A7C15ull;
    }
    return (uint32_t)(sum ^ (x >> 29) ^ n);
}

static int ix_rehash(rule_index *ix)
{
    uint32_t nb = ix->nbucket ? ix->nbucket * 2 : 64;
    uint32_t *b = mem_calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (uint32_t i = 0; i < ix->n; i++) {
        if (ix->v[i].key == 0)
            continue;
        uint32_t h = ix->v[i].key & (nb - 1);
        ix->v[i].next = b[h];
        b[h] = i + 1;
    }
    free(ix->bucket);
    ix->bucket = b;
    ix->nbucket = nb;
    return 0;
}

static int ix_add(rule_index *ix, ast *rule, conj cj, int loose)
{
    if (ix->n == ix->cap) {
        uint32_t cap = ix->cap ? ix->cap * 2 : 32;
        entry *v = mem_reallocarray(ix->v, cap, sizeof *v);
        if (!v)
            return -1;
        ix->v = v;
        ix->cap = cap;
    }
    if (ix->n * 2 >= ix->nbucket && ix_rehash(ix))
        return -1;
    entry *e = &ix->v[ix->n];
    e->rule = rule;
    e->cj = cj;
    e->key = 0;
    e->next = 0;
    if (loose) {
        if (ix->nloose == ix->cap_loose) {
            uint32_t cap = ix->cap_loose ? ix->cap_loose * 2 : 8;
            uint32_t *l = mem_reallocarray(ix->loose, cap, sizeof *l);
            if (!l)
                return -1;
            ix->loose = l;
            ix->cap_loose = cap;
        }
        ix->loose[ix->nloose++] = ix->n;
    } else {
        uint32_t keys[MAXATOMS];
        for (uint32_t i = 0; i < cj.n; i++) {
            keys[i] = cj.v[i].file;
            if (seen_add(ix, keys[i]))
                return -1;
        }
        e->key = combine(keys, cj.n) | 1;
        uint32_t h = e->key & (ix->nbucket - 1);
        e->next = ix->bucket[h];
        ix->bucket[h] = ix->n + 1;
    }
    ix->n++;
    return 0;
}

static void ix_free(rule_index *ix)
{
    free(ix->v);
    free(ix->bucket);
    free(ix->loose);
    free(ix->seen);
    memset(ix, 0, sizeof *ix);
}

/* The earliest earlier rule that 'later' implies, or NULL. */
static ast *find_shadow(rv_compiler *c, rule_index *ix, const conj *later)
{
    ast *found = NULL;
    for (uint32_t i = 0; i < ix->nloose; i++) {
        entry *e = &ix->v[ix->loose[i]];
        if ((!found || e->rule->ext < found->ext) && conj_implies(c, later, &e->cj))
            found = e->rule;
    }
    /* each later atom may be left out, or offer its full hash or its
       subject -- but only keys some earlier rule was filed under */
    uint32_t n = later->n, choices = 1, offer[MAXATOMS][3], noffer[MAXATOMS];
    for (uint32_t i = 0; i < n; i++) {
        noffer[i] = 0;
        offer[i][noffer[i]++] = 0;
        if (seen_has(ix, later->v[i].full))
            offer[i][noffer[i]++] = later->v[i].full;
        if (later->v[i].subject && later->v[i].subject != later->v[i].full && seen_has(ix, later->v[i].subject))
            offer[i][noffer[i]++] = later->v[i].subject;
        choices *= noffer[i];
    }
    if (!ix->nbucket || choices > 6561)
        return found;
    uint32_t keys[MAXATOMS];
    for (uint32_t combo = 1; combo < choices; combo++) {
        uint32_t m = 0, rest = combo;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t pick = rest % noffer[i];
            rest /= noffer[i];
            if (pick)
                keys[m++] = offer[i][pick];
        }
        uint32_t key = combine(keys, m) | 1;
        for (uint32_t i = ix->bucket[key & (ix->nbucket - 1)]; i; i = ix->v[i - 1].next) {
            entry *e = &ix->v[i - 1];
            /* only an earlier rule than the one found so far can improve it */
            if (e->key == key && e->cj.n == m && (!found || e->rule->ext < found->ext) &&
                conj_implies(c, later, &e->cj))
                found = e->rule;
        }
    }
    return found;
}

/* ---------------------------------------------------------------- route blocks */

/* 1 always true, 0 always false, -1 depends on the request; 'and', 'or'
   and 'not' are decided as far as their constant sides decide them. */
static int truth3(rv_compiler *c, ast *e)
{
    ast *f = chk_fold(c, e, 0);
    if (f && f->kind == E_BOOL)
        return (int)f->u.i;
    if (e->kind == E_NOT) {
        int t = truth3(c, e->u.operand);
        return t < 0 ? t : !t;
    }
    if (e->kind == E_BINARY && (e->u.bin.op == OP_AND_ || e->u.bin.op == OP_OR_)) {
        int l = truth3(c, e->u.bin.l), r = truth3(c, e->u.bin.r), dominant = e->u.bin.op == OP_OR_;
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

static int complementary(rv_compiler *c, ast *rules)
{
    for (ast *a = rules; a; a = a->next)
        for (ast *b = rules; b; b = b->next)
            if (a->u.rule.cond && b->u.rule.cond && b->u.rule.cond->kind == E_NOT &&
                ex_equal(a->u.rule.cond, b->u.rule.cond->u.operand))
                return 1;
    return 0;
}

static void lint_target(rv_compiler *c, ast *t, sym *agent);

static void lint_rules(rv_compiler *c, ast *block)
{
    rule_index ix = { 0 };
    ast *ender = NULL;              /* otherwise / always-true rule */
    int decided = 0;
    for (ast *r = block->u.t->rules; r; r = r->next) {
        int truth = const_truth(c, r->u.rule.cond);
        if (ender) {
            diag_report(D, DG_UNREACHABLE, r->at, "rule %u can never be reached", (unsigned)r->ext);
            diag_note(D, ender->at, ender->u.rule.cond ? "rule %u matches every request"
                                                       : "rule %u ('otherwise') matches every request",
                      (unsigned)ender->ext);
            continue;
        }
        if (truth == 0) {
            diag_report(D, DG_UNREACHABLE, r->u.rule.cond->at, "this condition is always false: rule %u never matches",
                        (unsigned)r->ext);
            continue;
        }
        if (truth == 1) {
            ender = r;
            decided = 1;
            continue;
        }
        ast *atoms[MAXATOMS + 1];
        uint32_t n = 0;
        split_and(c, r->u.rule.cond, atoms, &n, MAXATOMS + 1);
        conj cj = { arena_alloc(&c->arena, sizeof(atom) * (n ? n : 1)), n > MAXATOMS ? MAXATOMS : n };
        if (!cj.v) {
            c->oom = 1;
            break;
        }
        int loose = n > MAXATOMS;
        for (uint32_t i = 0; i < cj.n; i++) {
            make_atom(c, atoms[i], &cj.v[i]);
            loose |= atoms[i]->kind == E_BINARY && atoms[i]->u.bin.op == OP_OR_;
        }
        ast *by = n <= MAXATOMS ? find_shadow(c, &ix, &cj) : NULL;
        if (by) {
            diag_report(D, DG_SHADOWED, r->at, "rule %u is shadowed by rule %u: whenever it matches, rule %u matched first",
                        (unsigned)r->ext, (unsigned)by->ext, (unsigned)by->ext);
            diag_note(D, by->at, "rule %u", (unsigned)by->ext);
            diag_hint(D, "move the more specific rule first, or remove it");
        }
        /* a shadowed rule need not be indexed: whatever implies it implies
           the rule that shadows it */
        if (!by && ix_add(&ix, r, cj, loose))
            c->oom = 1;
    }
    ix_free(&ix);
    if (!decided && !complementary(c, block->u.t->rules)) {
        diag_report(D, DG_UNDECIDED, block->at, "no model is chosen when no rule matches");
        diag_hint(D, "end the block with: otherwise -> some_model");
    }
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

typedef struct { rv_compiler *c; const model_info *m; int64_t in_bound; } where_ctx;

static absval ab_eval(where_ctx *w, ast *e)
{
    ast *f = chk_fold(w->c, e, 0);
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
        return a.kind == AV_RANGE ? range(a.t, -a.hi, -a.lo) : unknown();
    }
    case E_BINARY:
        break;
    default:
        return unknown();
    }
    ast_binop op = e->u.bin.op;
    if (op == OP_IN_ || op == OP_NOTIN_) {
        if (e->u.bin.r->ext == 'K')
            return known_bool(((w->m->caps >> e->u.bin.r->field) & 1) == (op == OP_IN_));
        return unknown();
    }
    absval a = ab_eval(w, e->u.bin.l), b = ab_eval(w, e->u.bin.r);
    if (op == OP_AND_ || op == OP_OR_) {
        int is_and = op == OP_AND_;
        if ((a.kind == AV_BOOL && a.b != is_and) || (b.kind == AV_BOOL && b.b != is_and))
            return known_bool(!is_and);
        if (a.kind == AV_BOOL && b.kind == AV_BOOL)
            return known_bool(is_and);
        return unknown();
    }
    if (a.kind != AV_RANGE || b.kind != AV_RANGE)
        return unknown();
    if (op >= OP_ADD_ && op <= OP_DIV_) {
        arith_op ao = (arith_op)(op - OP_ADD_);
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
    case OP_LT_: return lt_always ? known_bool(1) : ge_always ? known_bool(0) : unknown();
    case OP_GE_: return ge_always ? known_bool(1) : lt_always ? known_bool(0) : unknown();
    case OP_LE_: return le_always ? known_bool(1) : gt_always ? known_bool(0) : unknown();
    case OP_GT_: return gt_always ? known_bool(1) : le_always ? known_bool(0) : unknown();
    case OP_EQ_: return points && !arith_cmp(a.t, a.lo, b.t, b.lo) ? known_bool(1)
                      : (lt_always || gt_always) ? known_bool(0) : unknown();
    case OP_NE_: return points && !arith_cmp(a.t, a.lo, b.t, b.lo) ? known_bool(0)
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
    unsigned nd = 0;
    for (ast *m = t->u.t->cands; m; m = m->next) {
        w.m = &m->sym->u.model;
        absval v = ab_eval(&w, t->u.t->cond);
        if (v.kind == AV_BOOL && !v.b)
            dead[nd++] = m;
        else
            alive++;
    }
    if (!alive) {
        diag_report(D, DG_WHERE_NEVER, t->u.t->cond->at, "no listed model can ever satisfy this condition");
        diag_hint(D, "check the models' context, tier, latency, prices and capabilities against it");
    } else {
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
            lint_target(c, r->u.rule.target, agent);
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

/* Depth-first search over agent references (route targets and fallbacks);
   'path' holds the agents on the stack, for the message. */
typedef struct { rv_compiler *c; sym **path; unsigned depth; } cycle_ctx;

static void visit_agent(cycle_ctx *cc, sym *a);

static void visit_ref(cycle_ctx *cc, ast *ref, sym *target)
{
    rv_compiler *c = cc->c;
    if (target->u.agent.visiting) {
        char chain[1024];
        size_t o = 0;
        unsigned start = 0;
        while (start < cc->depth && cc->path[start] != target)
            start++;
        for (unsigned i = start; i < cc->depth && o < sizeof chain - 64; i++)
            o += (size_t)snprintf(chain + o, sizeof chain - o, "'%s' -> ", cc->path[i]->name);
        snprintf(chain + o, sizeof chain - o, "'%s'", target->name);
        diag_report(D, DG_DELEGATION_CYCLE, ref->at, "agents route or fall back to each other in a cycle: %s", chain);
        diag_hint(D, "a request would never reach a model; break the cycle with a model");
        return;
    }
    visit_agent(cc, target);
}

static void visit_target(cycle_ctx *cc, ast *t)
{
    switch (t->kind) {
    case T_REF:
        if (t->sym && t->sym->kind == SYM_AGENT)
            visit_ref(cc, t, t->sym);
        return;
    case T_ROUTE:
        for (ast *r = t->u.t->rules; r; r = r->next)
            visit_target(cc, r->u.rule.target);
        return;
    case T_SPLIT:
        for (ast *a = t->u.t->arms; a; a = a->next)
            visit_target(cc, a->u.arm.target);
        return;
    case T_HOOK:
        visit_target(cc, t->u.t->dflt);
        return;
    default:
        return;
    }
}

static void visit_agent(cycle_ctx *cc, sym *a)
{
    agent_info *ai = &a->u.agent;
    if (ai->done || !ai->route)
        return;
    ai->visiting = 1;
    cc->path[cc->depth++] = a;
    visit_target(cc, ai->route);
    for (ast *n = ai->fallback; n; n = n->next)
        for (ast *m = n->kind == E_LIST ? n->u.items : n; m; m = n->kind == E_LIST ? m->next : NULL)
            if (m->sym && m->sym->kind == SYM_AGENT)
                visit_ref(cc, m, m->sym);
    cc->depth--;
    ai->visiting = 0;
    ai->done = 1;
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
    cycle_ctx cc = { .c = c, .path = mem_calloc(c->count[SYM_AGENT] + 1, sizeof(sym *)) };
    if (!cc.path) {
        c->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            guard_limits(c->order[i]);
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            visit_agent(&cc, c->order[i]);
    free(cc.path);
    int cyclic = c->diag.nerr > 0;
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_AGENT) {
            s->u.agent.done = 0;
            lint_target(c, s->u.agent.route, s);
        }
    }
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
            units_money(money, sizeof money, worst);
        if (c->verbose && s->decl->u.decl->file_level)
            diag_report(D, DG_WORST_COST, s->decl->u.decl->name_at, "worst-case cost of a request to '%s': %s%s%s%s",
                        s->name, money, why ? " (calling " : "", why ? why : "", why ? ")" : "");
        int64_t b = s->u.agent.budget_request;
        if (b && (worst < 0 || worst > b)) {
            units_money(budget, sizeof budget, b);
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
