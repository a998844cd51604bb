/* Implication between rule conditions, for the linter's shadowed-rule
   check (lint.c): does a later rule's condition imply an earlier one's,
   so that whenever it would match the earlier one already did?

   Implication is decided on conjuncts ("atoms"): every atom of the
   earlier rule must be implied by one of the later rule's -- by
   structural equality (names by what they resolved to, literals by
   value), by 'x == k' implying 'x in [.., k, ..]', by list inclusion, by
   numeric bounds ('x > 10' implies 'x > 5'), by 'x == "a"' implying
   'x != "b"', or by one side of an 'or'.  Earlier rules are found through
   an index on their atoms' keys (imply_index), so a block of thousands of
   rules is linted in near-linear time.  Constants on the right of a
   comparison are folded (fold.c); nothing here reads the request. */
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "fold.h"
#include "imply.h"
#include "mem.h"

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
uint32_t imply_hash(const ast *e)
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
            h = mix(h, imply_hash(a));
        return h;
    }
    case E_LIST:
        for (const ast *a = e->u.items; a; a = a->next)
            h = mix(h, imply_hash(a));
        return h;
    case E_NOT: case E_NEG: return mix(h, imply_hash(e->u.operand));
    case E_BINARY: return mix(mix(mix(h, e->u.bin.op), imply_hash(e->u.bin.l)), imply_hash(e->u.bin.r));
    default: return mix(h, (uint64_t)e->u.i);
    }
}

int imply_equal(const ast *a, const ast *b)
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
            if (!imply_equal(x, y))
                return 0;
        return !x && !y;
    }
    case E_LIST: {
        const ast *x = a->u.items, *y = b->u.items;
        for (; x && y; x = x->next, y = y->next)
            if (!imply_equal(x, y))
                return 0;
        return !x && !y;
    }
    case E_NOT: case E_NEG: return imply_equal(a->u.operand, b->u.operand);
    case E_BINARY:
        return a->u.bin.op == b->u.bin.op && imply_equal(a->u.bin.l, b->u.bin.l) && imply_equal(a->u.bin.r, b->u.bin.r);
    default: return a->u.i == b->u.i;
    }
}

/* ---------------------------------------------------------------- implication */

static void split_and(rv_compiler *c, ast *e, ast **out, uint32_t *n, uint32_t max)
{
    if (e->kind == E_BINARY && e->u.bin.op == AST_AND) {
        split_and(c, e->u.bin.l, out, n, max);
        split_and(c, e->u.bin.r, out, n, max);
    } else if (*n < max) {
        out[(*n)++] = e;
    }
}

static int is_cmp(ast_binop op) { return op >= AST_EQ && op <= AST_GE; }

static ast *folded(rv_compiler *c, ast *e) { return fold_expr(c, e, 0); }

/* Does atom 'b' imply atom 'a'? */
static int atom_implies(rv_compiler *c, ast *b, ast *a)
{
    if (imply_equal(a, b))
        return 1;
    if (a->kind == E_BINARY && a->u.bin.op == AST_OR)
        return atom_implies(c, b, a->u.bin.l) || atom_implies(c, b, a->u.bin.r);
    if (a->kind != E_BINARY || b->kind != E_BINARY || !imply_equal(a->u.bin.l, b->u.bin.l))
        return 0;
    ast_binop ao = a->u.bin.op, bo = b->u.bin.op;
    ast *ak = folded(c, a->u.bin.r), *bk = folded(c, b->u.bin.r);
    if (!ak || !bk)
        return 0;
    /* x == k  implies  x in [.., k, ..];  x in L1 implies x in L2 when L1 ⊆ L2 */
    if (ao == AST_IN && ak->kind == E_LIST && (bo == AST_EQ || (bo == AST_IN && bk->kind == E_LIST))) {
        const ast *first = bo == AST_EQ ? bk : bk->u.items;
        for (const ast *x = first; x; x = bo == AST_EQ ? NULL : x->next) {
            int found = 0;
            for (const ast *y = ak->u.items; y && !found; y = y->next)
                found = imply_equal(x, y);
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
        case AST_GT: return (bo == AST_GT && cmp >= 0) || ((bo == AST_GE || bo == AST_EQ) && cmp > 0);
        case AST_GE: return (bo == AST_GT || bo == AST_GE || bo == AST_EQ) && cmp >= 0;
        case AST_LT: return (bo == AST_LT && cmp <= 0) || ((bo == AST_LE || bo == AST_EQ) && cmp < 0);
        case AST_LE: return (bo == AST_LT || bo == AST_LE || bo == AST_EQ) && cmp <= 0;
        case AST_NE: return (bo == AST_EQ && cmp != 0) || (bo == AST_GT && cmp >= 0) || (bo == AST_LT && cmp <= 0);
        default: return 0;
        }
    }
    /* x == k implies x != k' for another string k' */
    if (ao == AST_NE && bo == AST_EQ && ak->kind == E_STR && bk->kind == E_STR)
        return !imply_equal(ak, bk);
    return 0;
}

/* ---------------------------------------------------------------- contradictions and complements */

/* 'x op k' with a constant k: 1 and its parts, else 0. */
static int const_test(rv_compiler *c, ast *a, ast_binop *op, ast **k)
{
    if (a->kind != E_BINARY || a->type == RV_T__COUNT)
        return 0;
    ast_binop o = a->u.bin.op;
    if (!is_cmp(o) && o != AST_IN && o != AST_NOTIN)
        return 0;
    *k = folded(c, a->u.bin.r);
    *op = o;
    return *k != NULL;
}

static int in_list(const ast *list, const ast *x)
{
    for (const ast *y = list->u.items; y; y = y->next)
        if (imply_equal(x, y) || (arith_numeric(x->type) && arith_numeric(y->type) &&
                                  arith_comparable(x->type, y->type) && !arith_cmp(x->type, x->u.i, y->type, y->u.i)))
            return 1;
    return 0;
}

/* The values 'x op k' admits, for a numeric k: a lower and/or an upper
   bound, each strict or not. */
typedef struct { const ast *lo, *hi; int lo_strict, hi_strict; } bounds;

static bounds bounds_of(ast_binop op, const ast *k)
{
    bounds b = { NULL, NULL, 0, 0 };
    if (op == AST_GT || op == AST_GE || op == AST_EQ)
        b.lo = k, b.lo_strict = op == AST_GT;
    if (op == AST_LT || op == AST_LE || op == AST_EQ)
        b.hi = k, b.hi_strict = op == AST_LT;
    return b;
}

/* Is there no value above 'lo' and below 'hi'? */
static int gap(const ast *lo, int lo_strict, const ast *hi, int hi_strict)
{
    if (!lo || !hi)
        return 0;
    int cmp = arith_cmp(lo->type, lo->u.i, hi->type, hi->u.i);
    return cmp > 0 || (cmp == 0 && (lo_strict || hi_strict));
}

/* Can atoms 'a' and 'b' never hold together? */
static int disjoint(rv_compiler *c, ast *a, ast *b)
{
    if ((a->kind == E_NOT && imply_equal(a->u.operand, b)) || (b->kind == E_NOT && imply_equal(b->u.operand, a)))
        return 1;
    ast_binop ao, bo;
    ast *ka, *kb;
    if (!const_test(c, a, &ao, &ka) || !const_test(c, b, &bo, &kb) || !imply_equal(a->u.bin.l, b->u.bin.l))
        return 0;
    if (is_cmp(ao) && is_cmp(bo) && arith_numeric(ka->type) && arith_numeric(kb->type) &&
        arith_comparable(ka->type, kb->type)) {
        int same = !arith_cmp(ka->type, ka->u.i, kb->type, kb->u.i);
        if ((ao == AST_EQ && bo == AST_NE) || (ao == AST_NE && bo == AST_EQ))
            return same;
        if (ao == AST_NE || bo == AST_NE)
            return 0;
        bounds x = bounds_of(ao, ka), y = bounds_of(bo, kb);
        return gap(x.lo, x.lo_strict, y.hi, y.hi_strict) || gap(y.lo, y.lo_strict, x.hi, x.hi_strict);
    }
    int la = ka->kind == E_LIST, lb = kb->kind == E_LIST;
    if (ao == AST_EQ && bo == AST_EQ && !la && !lb && ka->kind == kb->kind)
        return !imply_equal(ka, kb);
    if (((ao == AST_EQ && bo == AST_NE) || (ao == AST_NE && bo == AST_EQ)) && !la && !lb)
        return imply_equal(ka, kb);
    if (ao == AST_EQ && !la && lb && (bo == AST_IN || bo == AST_NOTIN))
        return bo == AST_IN ? !in_list(kb, ka) : in_list(kb, ka);
    if (bo == AST_EQ && !lb && la && (ao == AST_IN || ao == AST_NOTIN))
        return ao == AST_IN ? !in_list(ka, kb) : in_list(ka, kb);
    if (ao == AST_IN && bo == AST_IN && la && lb) {
        for (const ast *x = ka->u.items; x; x = x->next)
            if (in_list(kb, x))
                return 0;
        return 1;
    }
    return 0;
}

int imply_contradiction(rv_compiler *c, const imply_conj *cj, ast *clash[2])
{
    for (uint32_t i = 0; i < cj->n; i++)
        for (uint32_t j = i + 1; j < cj->n; j++)
            if (disjoint(c, cj->v[i].e, cj->v[j].e)) {
                clash[0] = cj->v[i].e;
                clash[1] = cj->v[j].e;
                return 1;
            }
    return 0;
}

/* A value that is never missing at run time: request and candidate
   fields (metadata aside), response fields, literals, constants, and
   builtins over such values.  Arithmetic may overflow, and a missing
   value fails every ordering, so 'x <= k' and 'x > k' can both be false. */
static int never_missing(const ast *e)
{
    switch (e->kind) {
    case E_NAME:
        return e->ext == 'R' || e->ext == 'C' || (e->sym && e->sym->kind == SYM_CONST);
    case E_MEMBER:
        return e->ext == 'P' || (e->sym && e->sym->kind == SYM_CONST);
    case E_CALL:
        for (const ast *a = e->u.call.args; a; a = a->next)
            if (!never_missing(a))
                return 0;
        return 1;
    default:
        return e->kind < E_NAME;
    }
}

int imply_complement(rv_compiler *c, ast *a, ast *b)
{
    if ((b->kind == E_NOT && imply_equal(a, b->u.operand)) || (a->kind == E_NOT && imply_equal(b, a->u.operand)))
        return 1;
    ast_binop ao, bo;
    ast *ka, *kb;
    if (!const_test(c, a, &ao, &ka) || !const_test(c, b, &bo, &kb) || !imply_equal(a->u.bin.l, b->u.bin.l))
        return 0;
    int same = imply_equal(ka, kb) || (arith_numeric(ka->type) && arith_numeric(kb->type) &&
                                       arith_comparable(ka->type, kb->type) &&
                                       !arith_cmp(ka->type, ka->u.i, kb->type, kb->u.i));
    if (!same)
        return 0;
    /* a missing value is unequal to anything and in no list */
    if ((ao == AST_EQ && bo == AST_NE) || (ao == AST_NE && bo == AST_EQ) ||
        (ao == AST_IN && bo == AST_NOTIN) || (ao == AST_NOTIN && bo == AST_IN))
        return 1;
    int ordered = (ao == AST_LT && bo == AST_GE) || (ao == AST_GE && bo == AST_LT) ||
                  (ao == AST_LE && bo == AST_GT) || (ao == AST_GT && bo == AST_LE);
    return ordered && never_missing(a->u.bin.l);
}

/* atom_implies() with the atoms' hashes as a first filter: beyond
   equality and 'or', an implication needs the same left side, which the
   subject hashes tell. */
static int hashed_implies(rv_compiler *c, const imply_atom *b, const imply_atom *a)
{
    if (a->full == b->full && imply_equal(a->e, b->e))
        return 1;
    if (a->e->kind == E_BINARY && a->e->u.bin.op == AST_OR)
        return atom_implies(c, b->e, a->e);
    if (!a->subject || a->subject != b->subject)
        return 0;
    return atom_implies(c, b->e, a->e);
}

static int conj_implies(rv_compiler *c, const imply_conj *later, const imply_conj *earlier)
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

/* Subject key: atoms that only an equal atom can imply get none, so they
   are matched by their full hash; comparisons and 'in' tests can be
   implied by other atoms on the same subject. */
static void make_atom(rv_compiler *c, ast *e, imply_atom *a)
{
    a->e = e;
    a->full = imply_hash(e) | 1;
    a->subject = 0;
    if (e->kind == E_BINARY && (is_cmp(e->u.bin.op) || e->u.bin.op == AST_IN) && folded(c, e->u.bin.r))
        a->subject = imply_hash(e->u.bin.l) | 1;
}

/* The key an earlier rule is filed under for atom 'a': only an equal
   atom implies 'x == k', so filed under its full hash it meets only
   later rules that have the same atom (a later 'x == k' still offers its
   subject, to meet an earlier 'x in [...]'). */
static uint32_t file_key(const imply_atom *a)
{
    return a->subject && a->e->u.bin.op != AST_EQ ? a->subject : a->full;
}

int imply_conj_of(rv_compiler *c, ast *cond, imply_conj *cj)
{
    ast *atoms[IMPLY_MAXATOMS + 1];
    uint32_t n = 0;
    split_and(c, cond, atoms, &n, IMPLY_MAXATOMS + 1);
    cj->v = arena_alloc(&c->arena, sizeof(imply_atom) * (n ? n : 1));
    cj->n = n > IMPLY_MAXATOMS ? IMPLY_MAXATOMS : n;
    cj->many = cj->loose = n > IMPLY_MAXATOMS;
    if (!cj->v)
        return -1;
    for (uint32_t i = 0; i < cj->n; i++) {
        make_atom(c, atoms[i], &cj->v[i]);
        cj->loose |= atoms[i]->kind == E_BINARY && atoms[i]->u.bin.op == AST_OR;
    }
    return 0;
}

/* The index of the earlier rules of one block.  Each earlier rule is
   filed under one key: the combination of its atoms' keys (the subject
   for atoms other atoms can imply, the full hash for the rest).  A later
   rule looks up every combination of its own atoms' keys (each atom: left
   out, its full hash or its subject), so only earlier rules whose every
   atom could be implied are compared.  Earlier rules with an 'or'
   conjunct or too many atoms are compared with every later rule. */

/* The set of atom keys earlier rules were filed under: a later atom's key
   that is not in it cannot be part of a match, which prunes the
   combinations imply_find_shadow() tries. */
static int seen_has(const imply_index *ix, uint32_t key)
{
    if (!ix->cap_seen)
        return 0;
    for (uint32_t h = key & (ix->cap_seen - 1); ix->seen[h]; h = (h + 1) & (ix->cap_seen - 1))
        if (ix->seen[h] == key)
            return 1;
    return 0;
}

static int seen_add(imply_index *ix, uint32_t key)
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

static int ix_rehash(imply_index *ix)
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

int imply_add(imply_index *ix, ast *rule, imply_conj cj)
{
    if (ix->n == ix->cap) {
        uint32_t cap = ix->cap ? ix->cap * 2 : 32;
        imply_entry *v = mem_reallocarray(ix->v, cap, sizeof *v);
        if (!v)
            return -1;
        ix->v = v;
        ix->cap = cap;
    }
    if (ix->n * 2 >= ix->nbucket && ix_rehash(ix))
        return -1;
    imply_entry *e = &ix->v[ix->n];
    e->rule = rule;
    e->cj = cj;
    e->key = 0;
    e->next = 0;
    if (cj.loose) {
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
        uint32_t keys[IMPLY_MAXATOMS];
        for (uint32_t i = 0; i < cj.n; i++) {
            keys[i] = file_key(&cj.v[i]);
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

void imply_free(imply_index *ix)
{
    free(ix->v);
    free(ix->bucket);
    free(ix->loose);
    free(ix->seen);
    memset(ix, 0, sizeof *ix);
}

/* The earliest earlier rule that 'later' implies, or NULL. */
ast *imply_find_shadow(rv_compiler *c, imply_index *ix, const imply_conj *later)
{
    ast *found = NULL;
    for (uint32_t i = 0; i < ix->nloose; i++) {
        imply_entry *e = &ix->v[ix->loose[i]];
        if ((!found || e->rule->ext < found->ext) && conj_implies(c, later, &e->cj))
            found = e->rule;
    }
    /* each later atom may be left out, or offer its full hash or its
       subject -- but only keys some earlier rule was filed under */
    uint32_t n = later->n, choices = 1, offer[IMPLY_MAXATOMS][3], noffer[IMPLY_MAXATOMS];
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
    uint32_t keys[IMPLY_MAXATOMS];
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
            imply_entry *e = &ix->v[i - 1];
            /* only an earlier rule than the one found so far can improve it */
            if (e->key == key && e->cj.n == m && (!found || e->rule->ext < found->ext) &&
                conj_implies(c, later, &e->cj))
                found = e->rule;
        }
    }
    return found;
}
