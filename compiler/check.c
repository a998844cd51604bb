/* The checker: declarations' items, names, types with units, and constant
   folding.  It fills the symbols' info (model prices, agent budgets...)
   and annotates expressions with their types and resolved fields so the
   linter and the code generator never guess.

   Scopes decide which bare names mean what:
     CONST   constants only (const declarations, item values)
     ROUTE   request fields, meta.*, constants, models/agents
     WHERE   ROUTE plus the candidate model's fields and 'capabilities'
     CHECK   ROUTE plus response.*
     EXPECT  the decision's fields, constants, models/agents/guardrails
   Field names win over declarations; declaring one is an error in
   resolve.c, so a rule never reads one thing and means another. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "check.h"
#include "compiler.h"
#include "mem.h"

typedef enum { SC_CONST, SC_ROUTE, SC_WHERE, SC_CHECK, SC_EXPECT } scope;

typedef struct {
    rv_compiler *c;
    sym *agent;           /* agent being checked, or NULL */
    uint32_t rule_no;     /* rules numbered in source order per agent */
} checker;

#define D (&k->c->diag)

static rv_type chk_expr(checker *k, ast *e, scope sc);
static void chk_target(checker *k, ast *t);

/* ---------------------------------------------------------------- helpers */

static const char *type_name(rv_type t) { return t < RV_T__COUNT ? rv_type_names[t] : "?"; }

/* "an int", "a string": for messages that name one value */
static const char *a_type(rv_type t)
{
    static char buf[4][40];
    static int i;
    const char *n = type_name(t);
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s%s", t == RV_T_MONEY ? "" : strchr("aeiou", n[0]) ? "an " : "a ", n);
    return buf[i];
}

static int is_text(const ast *e)
{
    return e->type == RV_T_STR || (e->type == RV_T_LIST && (e->elem == RV_T_STR || e->elem == RV_T_NIL));
}

/* Mark 's' used and report a wrong kind.  'mask' has bit k for each
   acceptable sym_kind. */
static sym *resolve_name(checker *k, const char *name, src_span at, unsigned mask, const char *what)
{
    sym *s = res_lookup(k->c, name);
    if (!s) {
        diag_report(D, DG_UNDECLARED, at, "%s '%s' is not declared", what, name);
        const char *sug = res_suggest(k->c, name, mask);
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        return NULL;
    }
    if (!(mask & (1u << s->kind))) {
        diag_report(D, DG_WRONG_KIND, at, "'%s' is a %s, but a %s is expected here", name,
                    sym_kind_names[s->kind], what);
        diag_note(D, s->decl->u.decl->name_at, "'%s' is declared here", name);
        return NULL;
    }
    s->used = 1;
    return s;
}

/* ---------------------------------------------------------------- regexes */

/* Compile with PCRE2 to validate; the error offset becomes a column inside
   the literal (one past the opening '/'). */
static void chk_regex(checker *k, ast *e)
{
    int err;
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF;
    if (e->u.re.flags & RV_RE_CASELESS) opts |= PCRE2_CASELESS;
    if (e->u.re.flags & RV_RE_MULTILINE) opts |= PCRE2_MULTILINE;
    if (e->u.re.flags & RV_RE_DOTALL) opts |= PCRE2_DOTALL;
    if (e->u.re.flags & RV_RE_EXTENDED) opts |= PCRE2_EXTENDED;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)e->u.re.pat, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    src_span at = e->at;
    at.col = e->at.col + 1 + (uint32_t)off;
    at.end_line = at.line;
    at.end_col = at.col + 1;
    diag_report(D, DG_BAD_REGEX, at, "invalid regex: %s", (char *)msg);
}

/* ---------------------------------------------------------------- folding */

static ast *lit(checker *k, ast_kind kind, src_span at, int64_t v)
{
    ast *n = ast_new(&k->c->arena, kind, at);
    if (!n) {
        k->c->oom = 1;
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

static ast *fold(checker *k, ast *e, int report);

static ast *fold_const_sym(checker *k, sym *s, src_span use, int report)
{
    if (s->state == 2)
        return s->value;
    if (s->state == 1) {
        if (report)
            diag_report(D, DG_NOT_CONSTANT, use, "constant '%s' is defined in terms of itself", s->name);
        s->state = 3;
        return NULL;
    }
    if (s->state == 3)
        return NULL;
    s->state = 1;
    checker sub = { .c = k->c };
    ast *v = s->decl->u.decl->from;
    if (chk_expr(&sub, v, SC_CONST) == RV_T__COUNT) {
        s->state = 3;
        return NULL;
    }
    ast *f = fold(&sub, v, 1);
    if (s->state == 1) {
        s->value = f;
        s->state = f ? 2 : 3;
    }
    return s->value;
}

/* Fold a type-checked expression into a literal (E_INT..., E_STR, E_REGEX,
   E_BOOL, E_LIST of literals, or a model/agent/guardrail name), or NULL
   when it depends on the request. */
static ast *fold_uncached(checker *k, ast *e, int report);

/* Folding is asked for the same nodes many times (the linter, the code
   generator): the answer is kept on the node once its type is known. */
static ast *fold(checker *k, ast *e, int report)
{
    if (!e || e->type == RV_T__COUNT)
        return NULL;
    if (e->fold_state == 1)
        return e->fold_val;
    if (e->fold_state == 2 && !report)
        return NULL;
    ast *v = fold_uncached(k, e, report);
    /* constants' own folding can fail for reasons reported elsewhere;
       only cache a definite answer */
    if (v) {
        e->fold_state = 1;
        e->fold_val = v;
    } else if (!k->c->diag.oom && (!(e->kind == E_NAME || e->kind == E_MEMBER) || !e->sym ||
                                    e->sym->kind != SYM_CONST)) {
        e->fold_state = 2;   /* (a constant that failed to fold may be reported again) */
    }
    return v;
}

static ast *fold_uncached(checker *k, ast *e, int report)
{
    if (e->kind <= E_REGEX)
        return e;
    if ((e->kind == E_NAME || e->kind == E_MEMBER) && e->sym) {
        if (e->sym->kind == SYM_CONST)
            return fold_const_sym(k, e->sym, e->at, report);
        return e;
    }
    if (e->kind == E_LIST) {
        ast *out = ast_new(&k->c->arena, E_LIST, e->at), *tail = NULL;
        if (!out) {
            k->c->oom = 1;
            return NULL;
        }
        out->type = e->type;
        out->elem = e->elem;
        for (ast *i = e->u.items; i; i = i->next) {
            ast *f = fold(k, i, report);
            if (!f)
                return NULL;
            ast *copy = arena_alloc(&k->c->arena, sizeof *copy);
            if (!copy) {
                k->c->oom = 1;
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
        ast *a = fold(k, e->u.operand, report);
        if (!a)
            return NULL;
        return lit(k, a->kind, e->at, -a->u.i);
    }
    if (e->kind == E_NOT) {
        ast *a = fold(k, e->u.operand, report);
        if (!a)
            return NULL;
        ast *r = lit(k, E_BOOL, e->at, !a->u.i);
        if (r) r->type = RV_T_BOOL;
        return r;
    }
    if (e->kind == E_BINARY) {
        ast *a = fold(k, e->u.bin.l, report), *b = a ? fold(k, e->u.bin.r, report) : NULL;
        if (!a || !b)
            return NULL;
        ast_binop op = e->u.bin.op;
        int64_t v;
        if (op >= OP_ADD_ && op <= OP_DIV_) {
            int r = arith_eval((arith_op)(op - OP_ADD_), a->type, a->u.i, b->type, b->u.i, &v);
            if (r) {
                if (report)
                    diag_report(D, DG_BAD_VALUE, e->at, r == -2 ? "division by zero" : "arithmetic overflow");
                return NULL;
            }
            ast *n = lit(k, lit_kind(e->type), e->at, v);
            if (n) n->type = e->type;
            return n;
        }
        if (op == OP_AND_ || op == OP_OR_) {
            ast *n = lit(k, E_BOOL, e->at, op == OP_AND_ ? (a->u.i && b->u.i) : (a->u.i || b->u.i));
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if (op >= OP_EQ_ && op <= OP_GE_ && arith_numeric(a->type) && arith_numeric(b->type)) {
            int cmp = arith_cmp(a->type, a->u.i, b->type, b->u.i);
            int r = op == OP_EQ_ ? cmp == 0 : op == OP_NE_ ? cmp != 0 : op == OP_LT_ ? cmp < 0
                  : op == OP_LE_ ? cmp <= 0 : op == OP_GT_ ? cmp > 0 : cmp >= 0;
            ast *n = lit(k, E_BOOL, e->at, r);
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if ((op == OP_EQ_ || op == OP_NE_) && a->kind == E_STR && b->kind == E_STR) {
            int eq = a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
            ast *n = lit(k, E_BOOL, e->at, op == OP_EQ_ ? eq : !eq);
            if (n) n->type = RV_T_BOOL;
            return n;
        }
        if ((op == OP_EQ_ || op == OP_NE_) && a->kind == E_BOOL && b->kind == E_BOOL) {
            ast *n = lit(k, E_BOOL, e->at, op == OP_EQ_ ? a->u.i == b->u.i : a->u.i != b->u.i);
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

ast *chk_fold(rv_compiler *c, ast *e, int report)
{
    checker k = { .c = c };
    return fold(&k, e, report);
}

/* ---------------------------------------------------------------- expressions */

static void type_error(checker *k, ast *e, const char *fmt, rv_type a, rv_type b)
{
    diag_report(D, DG_TYPE, e->at, fmt, type_name(a), type_name(b));
}

static int field_lookup(const rv_fieldinfo *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return i;
    return -1;
}

/* Names visible in a scope other than declarations, for suggestions. */
static const char *suggest_field(checker *k, const char *name, scope sc)
{
    const char *cands[64];
    size_t n = 0;
    if (sc == SC_ROUTE || sc == SC_WHERE || sc == SC_CHECK)
        for (int i = 0; i < RV_REQ__COUNT; i++) cands[n++] = rv_reqfields[i].name;
    if (sc == SC_WHERE) {
        for (int i = 0; i < RV_CAND__COUNT; i++) cands[n++] = rv_candfields[i].name;
        cands[n++] = "capabilities";
    }
    if (sc == SC_EXPECT)
        for (int i = 0; i < RV_DEC__COUNT; i++) cands[n++] = rv_decfields[i].name;
    const char *s = diag_suggest(name, cands, n);
    return s ? s : res_suggest(k->c, name, 1u << SYM_CONST | 1u << SYM_MODEL | 1u << SYM_AGENT);
}

static rv_type chk_name(checker *k, ast *e, scope sc)
{
    const char *name = e->u.name;
    int f;
    e->field = -1;
    if ((sc == SC_ROUTE || sc == SC_WHERE || sc == SC_CHECK) &&
        (f = field_lookup(rv_reqfields, RV_REQ__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'R';
        return rv_reqfields[f].type;
    }
    if (sc == SC_WHERE && (f = field_lookup(rv_candfields, RV_CAND__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'C';
        return rv_candfields[f].type;
    }
    if (sc == SC_EXPECT && (f = field_lookup(rv_decfields, RV_DEC__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'D';
        return rv_decfields[f].type;
    }
    if (sc == SC_CONST && (field_lookup(rv_reqfields, RV_REQ__COUNT, name) >= 0 ||
                           field_lookup(rv_candfields, RV_CAND__COUNT, name) >= 0)) {
        diag_report(D, DG_NOT_CONSTANT, e->at, "'%s' depends on the request; this value must be known when "
                    "the policy is compiled", name);
        return RV_T__COUNT;
    }
    if (!strcmp(name, "capabilities") && sc == SC_WHERE) {
        diag_report(D, DG_TYPE, e->at, "'capabilities' can only be tested with \"name\" in capabilities");
        return RV_T__COUNT;
    }
    sym *s = res_lookup(k->c, name);
    if (!s) {
        diag_report(D, DG_UNDECLARED, e->at, "'%s' is not declared", name);
        const char *sug = suggest_field(k, name, sc);
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        else if (!strcmp(name, "meta") || !strcmp(name, "response"))
            diag_hint(D, "'%s' needs a field: %s.name", name, name);
        return RV_T__COUNT;
    }
    e->sym = s;
    s->used = 1;
    switch (s->kind) {
    case SYM_CONST: {
        ast *v = fold_const_sym(k, s, e->at, 1);
        if (!v)
            return RV_T__COUNT;
        e->elem = v->elem;
        return v->type;
    }
    case SYM_MODEL: return RV_T_MODEL;
    case SYM_AGENT: return RV_T_AGENT;
    case SYM_GUARDRAIL: return RV_T_GUARDRAIL;
    default: return RV_T_PROVIDER;
    }
}

/* a.b.c as one dotted string, or NULL when the chain is not all names */
static char *dotted(checker *k, ast *e)
{
    if (e->kind == E_NAME)
        return e->u.name;
    if (e->kind != E_MEMBER)
        return NULL;
    char *l = dotted(k, e->u.member.obj);
    return l ? arena_printf(&k->c->arena, "%s.%s", l, e->u.member.name) : NULL;
}

/* The number of metadata key 'key' (open addressing over the keys met). */
static int meta_key_id(rv_compiler *c, const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *q = key; *q; q++)
        h = (h ^ (unsigned char)*q) * 16777619u;
    if ((c->nmeta_key + 1) * 2 > c->cap_meta_key) {
        uint32_t cap = c->cap_meta_key ? c->cap_meta_key * 2 : 64;
        uint32_t *t = mem_calloc(cap, sizeof *t);     /* slot: id + 1 */
        const char **keys = mem_reallocarray(c->meta_keys, cap, sizeof *keys);
        if (!t || !keys) {
            free(t);
            if (keys)
                c->meta_keys = keys;
            c->oom = 1;
            return -1;
        }
        c->meta_keys = keys;
        for (uint32_t i = 0; i < c->nmeta_key; i++) {
            uint32_t g = 2166136261u;
            for (const char *q = keys[i]; *q; q++)
                g = (g ^ (unsigned char)*q) * 16777619u;
            uint32_t s = g & (cap - 1);
            while (t[s])
                s = (s + 1) & (cap - 1);
            t[s] = i + 1;
        }
        free(c->meta_hash);
        c->meta_hash = t;
        c->cap_meta_key = cap;
    }
    uint32_t s = h & (c->cap_meta_key - 1);
    for (; c->meta_hash[s]; s = (s + 1) & (c->cap_meta_key - 1))
        if (!strcmp(c->meta_keys[c->meta_hash[s] - 1], key))
            return (int)c->meta_hash[s] - 1;
    c->meta_keys[c->nmeta_key] = key;
    c->meta_hash[s] = ++c->nmeta_key;
    return (int)c->nmeta_key - 1;
}

static rv_type chk_member(checker *k, ast *e, scope sc)
{
    e->field = -1;
    /* the common case, meta.key, without building the dotted string */
    ast *obj = e->u.member.obj;
    if (obj->kind == E_NAME && !strcmp(obj->u.name, "meta") && sc != SC_CONST && sc != SC_EXPECT) {
        e->ext = 'M';
        e->field = meta_key_id(k->c, e->u.member.name);
        return RV_T_STR;
    }
    char *path = dotted(k, e);
    if (!path) {
        diag_report(D, DG_TYPE, e->at, "only names have fields");
        return RV_T__COUNT;
    }
    if (!strncmp(path, "meta.", 5) && sc != SC_CONST && sc != SC_EXPECT) {
        e->ext = 'M';
        e->u.member.name = path + 5;   /* the metadata key, dots included */
        e->field = meta_key_id(k->c, e->u.member.name);
        return RV_T_STR;
    }
    if (!strncmp(path, "response.", 9) && sc == SC_CHECK) {
        int f = field_lookup(rv_respfields, RV_RESP__COUNT, path + 9);
        if (f < 0) {
            diag_report(D, DG_UNDECLARED, e->u.member.name_at, "responses have no field '%s'", path + 9);
            const char *cands[RV_RESP__COUNT];
            for (int i = 0; i < RV_RESP__COUNT; i++) cands[i] = rv_respfields[i].name;
            const char *sug = diag_suggest(path + 9, cands, RV_RESP__COUNT);
            if (sug)
                diag_hint(D, "did you mean 'response.%s'?", sug);
            return RV_T__COUNT;
        }
        e->ext = 'P';
        e->field = f;
        return rv_respfields[f].type;
    }
    if (!strncmp(path, "response.", 9)) {
        diag_report(D, DG_UNDECLARED, e->at, "'response' is only visible in a cascade's 'by check'");
        return RV_T__COUNT;
    }
    if (!strncmp(path, "meta.", 5)) {
        diag_report(D, DG_UNDECLARED, e->at, "'meta' is only visible in routing conditions");
        return RV_T__COUNT;
    }
    sym *s = res_lookup(k->c, path);
    if (!s) {
        diag_report(D, DG_UNDECLARED, e->at, "'%s' is not declared", path);
        const char *sug = res_suggest(k->c, path, 1u << SYM_CONST);
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        else if (!strncmp(path, "std.", 4))
            diag_hint(D, "standard constants need their module: import \"std/%.*s\"",
                      (int)strcspn(path + 4, "."), path + 4);
        return RV_T__COUNT;
    }
    if (s->kind != SYM_CONST) {
        diag_report(D, DG_WRONG_KIND, e->at, "'%s' is a %s, not a constant", path, sym_kind_names[s->kind]);
        return RV_T__COUNT;
    }
    e->sym = s;
    s->used = 1;
    ast *v = fold_const_sym(k, s, e->at, 1);
    if (!v)
        return RV_T__COUNT;
    e->elem = v->elem;
    return v->type;
}

static rv_type chk_call(checker *k, ast *e, scope sc)
{
    const char *fn = e->u.call.fn;
    unsigned nargs = ast_count(e->u.call.args);
    int bad = 0;
    for (ast *a = e->u.call.args; a; a = a->next)
        bad |= chk_expr(k, a, sc) == RV_T__COUNT;
    if (!strcmp(fn, "matches")) {
        if (nargs != 2) {
            diag_report(D, DG_BAD_CALL, e->at, "matches() takes 2 arguments, not %u", nargs);
            return RV_T__COUNT;
        }
        if (bad)
            return RV_T__COUNT;
        /* rewrite as the infix form */
        ast *l = e->u.call.args, *r = l->next;
        l->next = NULL;
        e->kind = E_BINARY;
        e->u.bin.op = OP_MATCHES_;
        e->u.bin.l = l;
        e->u.bin.r = r;
        r->next = NULL;
        e->type = RV_T__COUNT;
        return chk_expr(k, e, sc);
    }
    int b = -1;
    for (int i = 0; i < RV_BI__COUNT; i++)
        if (!strcmp(rv_builtins[i].name, fn))
            b = i;
    if (b < 0) {
        diag_report(D, DG_BAD_CALL, e->u.call.fn_at, "unknown function '%s'", fn);
        const char *cands[RV_BI__COUNT + 1];
        for (int i = 0; i < RV_BI__COUNT; i++) cands[i] = rv_builtins[i].name;
        cands[RV_BI__COUNT] = "matches";
        const char *sug = diag_suggest(fn, cands, RV_BI__COUNT + 1);
        if (!strcmp(fn, "env"))
            diag_hint(D, "env() names an API key's variable and is only allowed in a provider's 'key'");
        else if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        return RV_T__COUNT;
    }
    const rv_biinfo *bi = &rv_builtins[b];
    if ((int)nargs != bi->arity) {
        diag_report(D, DG_BAD_CALL, e->at, "%s() takes %d argument%s, not %u", fn, bi->arity,
                    bi->arity == 1 ? "" : "s", nargs);
        return RV_T__COUNT;
    }
    if (bad)
        return RV_T__COUNT;
    int i = 0;
    for (ast *a = e->u.call.args; a; a = a->next, i++) {
        rv_type want = bi->arg[i];
        int ok = want == RV_T_TEXT ? is_text(a) : a->type == want;
        if (!ok) {
            diag_report(D, DG_TYPE, a->at, "argument %d of %s() must be %s, not %s", i + 1, fn,
                        a_type(want), a_type(a->type));
            return RV_T__COUNT;
        }
    }
    e->field = b;
    return bi->ret;
}

static rv_type chk_in(checker *k, ast *e, scope sc)
{
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    if (r->kind == E_NAME && !strcmp(r->u.name, "capabilities") && sc == SC_WHERE) {
        if (chk_expr(k, l, sc) == RV_T__COUNT)
            return RV_T__COUNT;
        ast *f = l->type == RV_T_STR ? fold(k, l, 0) : NULL;
        if (!f) {
            diag_report(D, DG_TYPE, l->at, "a capability test needs a constant string: \"vision\" in capabilities");
            return RV_T__COUNT;
        }
        int cap = -1;
        for (int i = 0; i < RV_CAP__COUNT; i++)
            if (!strcmp(rv_cap_names[i], f->u.str.s))
                cap = i;
        if (cap < 0) {
            diag_report(D, DG_BAD_VALUE, l->at, "unknown capability \"%s\"", f->u.str.s);
            const char *sug = diag_suggest(f->u.str.s, rv_cap_names, RV_CAP__COUNT);
            if (sug)
                diag_hint(D, "did you mean \"%s\"?", sug);
            return RV_T__COUNT;
        }
        r->type = RV_T_LIST;
        r->field = cap;
        r->ext = 'K';
        return RV_T_BOOL;
    }
    rv_type a = chk_expr(k, l, sc), b = chk_expr(k, r, sc);
    if (a == RV_T__COUNT || b == RV_T__COUNT)
        return RV_T__COUNT;
    if (b != RV_T_LIST) {
        diag_report(D, DG_TYPE, r->at, "'in' needs a list on its right, not %s", a_type(b));
        if (b == RV_T_STR && a == RV_T_STR)
            diag_hint(D, "for a substring test write contains(text, \"part\")");
        return RV_T__COUNT;
    }
    if (r->elem != RV_T_NIL && !arith_comparable(a, r->elem)) {
        diag_report(D, DG_TYPE, e->at, "cannot look for %s in a list of %s", a_type(a), type_name(r->elem));
        return RV_T__COUNT;
    }
    return RV_T_BOOL;
}

static rv_type chk_binary(checker *k, ast *e, scope sc)
{
    ast_binop op = e->u.bin.op;
    if (op == OP_IN_ || op == OP_NOTIN_)
        return chk_in(k, e, sc);
    rv_type a = chk_expr(k, e->u.bin.l, sc), b = chk_expr(k, e->u.bin.r, sc);
    if (a == RV_T__COUNT || b == RV_T__COUNT)
        return RV_T__COUNT;
    switch (op) {
    case OP_AND_:
    case OP_OR_:
        if (a != RV_T_BOOL || b != RV_T_BOOL) {
            type_error(k, e, "'and'/'or' need two bools, not %s and %s", a, b);
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    case OP_MATCHES_: {
        if (!is_text(e->u.bin.l)) {
            type_error(k, e, "'matches' needs a string (or list of strings) on its left, not %s%.0s", a, b);
            return RV_T__COUNT;
        }
        ast *re = b == RV_T_REGEX ? fold(k, e->u.bin.r, 0) : NULL;
        if (!re) {
            diag_report(D, DG_TYPE, e->u.bin.r->at, b == RV_T_REGEX ? "the regex must be a constant"
                        : "'matches' needs a regex on its right, such as /[0-9]+/");
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    }
    case OP_EQ_:
    case OP_NE_:
        if (!arith_comparable(a, b)) {
            type_error(k, e, "cannot compare %s with %s", a, b);
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    case OP_LT_: case OP_LE_: case OP_GT_: case OP_GE_:
        if (!arith_comparable(a, b) || !arith_numeric(a)) {
            type_error(k, e, arith_numeric(a) && arith_numeric(b) ? "cannot order %s against %s (different units)"
                             : "cannot order %s against %s", a, b);
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    default: {
        rv_type t = arith_type((arith_op)(op - OP_ADD_), a, b);
        if (t == RV_T_NIL) {
            static const char *const verbs[] = { "add", "subtract", "multiply", "divide" };
            diag_report(D, DG_TYPE, e->at, "cannot %s %s and %s", verbs[op - OP_ADD_], type_name(a), type_name(b));
            if (arith_numeric(a) && arith_numeric(b))
                diag_hint(D, "the units differ; a price times tokens is money, an int times any unit keeps the unit");
            return RV_T__COUNT;
        }
        return t;
    }
    }
}

/* Returns the type, or RV_T__COUNT after reporting an error. */
static rv_type chk_expr(checker *k, ast *e, scope sc)
{
    rv_type t = RV_T__COUNT;
    switch (e->kind) {
    case E_INT: t = RV_T_INT; break;
    case E_NUM: t = RV_T_NUM; break;
    case E_MONEY: t = RV_T_MONEY; break;
    case E_RATE: t = RV_T_RATE; break;
    case E_DURATION: t = RV_T_DURATION; break;
    case E_TOKENS: t = RV_T_TOKENS; break;
    case E_PERCENT: t = RV_T_PERCENT; break;
    case E_BOOL: t = RV_T_BOOL; break;
    case E_STR: t = RV_T_STR; break;
    case E_REGEX: chk_regex(k, e); t = RV_T_REGEX; break;
    case E_NAME: t = chk_name(k, e, sc); break;
    case E_MEMBER: t = chk_member(k, e, sc); break;
    case E_CALL: t = chk_call(k, e, sc); break;
    case E_LIST: {
        rv_type elem = RV_T_NIL;
        t = RV_T_LIST;
        for (ast *i = e->u.items; i; i = i->next) {
            rv_type it = chk_expr(k, i, sc);
            if (it == RV_T__COUNT) {
                t = RV_T__COUNT;
                continue;
            }
            if (it == RV_T_LIST) {
                diag_report(D, DG_TYPE, i->at, "lists cannot contain lists");
                t = RV_T__COUNT;
            } else if (elem == RV_T_NIL || (elem == RV_T_INT && it == RV_T_TOKENS)) {
                elem = it;
            } else if (!(elem == RV_T_TOKENS && it == RV_T_INT) && it != elem) {
                diag_report(D, DG_TYPE, i->at, "list items must have one type: this is %s, earlier ones are %s",
                            a_type(it), a_type(elem));
                t = RV_T__COUNT;
            }
        }
        e->elem = elem;
        break;
    }
    case E_NOT:
        t = chk_expr(k, e->u.operand, sc);
        if (t != RV_T__COUNT && t != RV_T_BOOL) {
            diag_report(D, DG_TYPE, e->at, "'not' needs a bool, not %s", a_type(t));
            t = RV_T__COUNT;
        }
        break;
    case E_NEG:
        t = chk_expr(k, e->u.operand, sc);
        if (t != RV_T__COUNT && !arith_numeric(t)) {
            diag_report(D, DG_TYPE, e->at, "cannot negate %s", a_type(t));
            t = RV_T__COUNT;
        }
        break;
    case E_BINARY: t = chk_binary(k, e, sc); break;
    default: break;
    }
    e->type = t;
    return t;
}

/* Check 'e' in 'sc' and require type 'want' (INT is accepted for TOKENS,
   and for NUM when 'want' is NUM). */
static int expect_type(checker *k, ast *e, scope sc, rv_type want, const char *what)
{
    rv_type t = chk_expr(k, e, sc);
    if (t == RV_T__COUNT)
        return -1;
    if (t == want || (want == RV_T_TOKENS && t == RV_T_INT) || (want == RV_T_NUM && t == RV_T_INT))
        return 0;
    diag_report(D, DG_TYPE, e->at, "%s must be %s, not %s", what, a_type(want), a_type(t));
    if (want == RV_T_RATE && t == RV_T_MONEY)
        diag_hint(D, "prices are per token count: write $3/Mtok");
    if (want == RV_T_DURATION && t == RV_T_INT)
        diag_hint(D, "durations need a unit: 200ms, 20s, 5m");
    if (want == RV_T_MONEY && (t == RV_T_INT || t == RV_T_NUM))
        diag_hint(D, "money is written with a dollar sign: $0.02");
    return -1;
}

/* A constant of type 'want'; returns the literal or NULL. */
static ast *const_of(checker *k, ast *e, rv_type want, const char *what)
{
    if (expect_type(k, e, SC_CONST, want, what))
        return NULL;
    return fold(k, e, 1);
}

/* ---------------------------------------------------------------- items */

typedef struct { const char *name; int required; } item_spec;

/* Find unknown and duplicate items; fill 'found' (one ast per spec entry). */
static void scan_items(checker *k, ast *items, const item_spec *spec, size_t n, ast **found, const char *block)
{
    const char *names[16];
    for (size_t i = 0; i < n; i++)
        names[i] = spec[i].name;
    for (ast *it = items; it; it = it->next) {
        size_t i = 0;
        while (i < n && strcmp(spec[i].name, it->u.item->name))
            i++;
        if (i == n) {
            diag_report(D, DG_UNKNOWN_PROPERTY, it->u.item->name_at, "%s blocks have no '%s'", block, it->u.item->name);
            const char *sug = diag_suggest(it->u.item->name, names, n);
            if (sug)
                diag_hint(D, "did you mean '%s'?", sug);
            else {
                char list[256];
                size_t o = 0;
                for (size_t j = 0; j < n && o < sizeof list - 32; j++)
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
                diag_hint(D, "a %s block has: %s", block, list);
            }
            continue;
        }
        if (found[i]) {
            diag_report(D, DG_DUPLICATE_PROPERTY, it->u.item->name_at, "'%s' is given twice", it->u.item->name);
            diag_note(D, found[i]->u.item->name_at, "first given here");
            continue;
        }
        found[i] = it;
    }
}

static ast *single(checker *k, ast *item)
{
    ast *v = item->u.item->value;
    if (v && v->next) {
        diag_report(D, DG_SYNTAX, v->next->at, "'%s' takes one value", item->u.item->name);
        return NULL;
    }
    return v;
}

static void missing(checker *k, ast *decl, const char *what, const char *example)
{
    diag_report(D, DG_MISSING_PROPERTY, decl->u.decl->name_at, "%s '%s' has no '%s'",
                sym_kind_names[decl->kind == D_PROVIDER ? SYM_PROVIDER : decl->kind == D_MODEL ? SYM_MODEL : SYM_AGENT],
                decl->u.decl->name, what);
    if (example)
        diag_hint(D, "add: %s", example);
}

static int check_url(checker *k, ast *v, const char **out)
{
    ast *s = const_of(k, v, RV_T_STR, "a URL");
    if (!s)
        return -1;
    if (strncmp(s->u.str.s, "http://", 7) && strncmp(s->u.str.s, "https://", 8)) {
        diag_report(D, DG_BAD_VALUE, v->at, "'%s' is not an http:// or https:// URL", s->u.str.s);
        return -1;
    }
    *out = s->u.str.s;
    return 0;
}

static void chk_provider(checker *k, sym *s)
{
    static const item_spec spec[] = { { "kind", 1 }, { "endpoint", 0 }, { "key", 0 }, { "region", 0 } };
    ast *f[4] = { 0 }, *d = s->decl, *v;
    provider_info *p = &s->u.provider;
    scan_items(k, d->u.decl->items, spec, 4, f, "provider");
    p->kind = RV_PROV_OPENAI;
    if (!f[0])
        missing(k, d, "kind", "kind openai   (or anthropic, bedrock)");
    else if ((v = single(k, f[0]))) {
        int kind = -1;
        if (v->kind == E_NAME)
            for (int i = 0; i < RV_PROV__COUNT; i++)
                if (!strcmp(rv_provkind_names[i], v->u.name))
                    kind = i;
        if (kind < 0) {
            diag_report(D, DG_BAD_VALUE, v->at, "unknown provider kind");
            const char *sug = v->kind == E_NAME ? diag_suggest(v->u.name, rv_provkind_names, RV_PROV__COUNT) : NULL;
            diag_hint(D, sug ? "did you mean '%s'?" : "%s", sug ? sug : "kinds are openai (and compatible servers), anthropic, bedrock");
        } else {
            p->kind = (rv_provkind)kind;
        }
    }
    if (f[1] && (v = single(k, f[1])))
        check_url(k, v, &p->endpoint);
    if (f[2] && (v = single(k, f[2]))) {
        if (v->kind == E_CALL && !strcmp(v->u.call.fn, "env") && ast_count(v->u.call.args) == 1 &&
            v->u.call.args->kind == E_STR && v->u.call.args->u.str.len) {
            p->key_env = v->u.call.args->u.str.s;
        } else {
            diag_report(D, DG_BAD_VALUE, v->at, "a key must name an environment variable");
            diag_hint(D, "write key env(\"OPENAI_API_KEY\"); secrets never belong in a policy file");
        }
    }
    if (f[3] && (v = single(k, f[3]))) {
        ast *r = const_of(k, v, RV_T_STR, "a region");
        if (r)
            p->region = r->u.str.s;
    }
    if (f[0] && p->kind != RV_PROV_BEDROCK && !f[1])
        missing(k, d, "endpoint", "endpoint \"https://api.openai.com/v1\"");
    if (f[0] && p->kind == RV_PROV_BEDROCK && !f[3])
        missing(k, d, "region", "region \"us-east-1\"");
}

static int positive(checker *k, ast *lit_, ast *at, const char *what, int allow_zero)
{
    if (lit_->u.i < 0 || (!allow_zero && lit_->u.i == 0)) {
        diag_report(D, DG_BAD_VALUE, at->at, "%s must be %s", what, allow_zero ? "zero or more" : "greater than zero");
        return -1;
    }
    return 0;
}

static void chk_model(checker *k, sym *s)
{
    static const item_spec spec[] = {
        { "id", 1 }, { "price", 1 }, { "context", 1 }, { "output", 0 }, { "tier", 0 },
        { "capabilities", 0 }, { "latency", 0 }, { "system", 0 },
    };
    ast *f[8] = { 0 }, *d = s->decl, *v, *l;
    model_info *m = &s->u.model;
    scan_items(k, d->u.decl->items, spec, 8, f, "model");
    ast *from = d->u.decl->from;
    from->sym = resolve_name(k, from->u.name, from->at, 1u << SYM_PROVIDER, "provider");
    if (!f[0])
        missing(k, d, "id", "id \"provider-model-id\"");
    else if ((v = single(k, f[0])) && (l = const_of(k, v, RV_T_STR, "a model id"))) {
        if (!l->u.str.len)
            diag_report(D, DG_BAD_VALUE, v->at, "a model id cannot be empty");
        m->id = l->u.str.s;
    }
    if (!f[1]) {
        diag_report(D, DG_MISSING_PRICE, d->u.decl->name_at, "model '%s' has no price", d->u.decl->name);
        diag_hint(D, "a missing price would make every cost and budget wrong; add: price in $0.15/Mtok, out $0.60/Mtok");
    } else {
        ast *it = f[1];
        if (strcmp(it->u.item->path, "out")) {
            diag_report(D, DG_SYNTAX, it->at, "a price reads: price in $X/Mtok, out $Y/Mtok");
        } else {
            ast *pi = const_of(k, it->u.item->value, RV_T_RATE, "the input price");
            ast *po = const_of(k, it->u.item->value2, RV_T_RATE, "the output price");
            if (pi && po && !positive(k, pi, it->u.item->value, "a price", 1) &&
                !positive(k, po, it->u.item->value2, "a price", 1)) {
                m->price_in = pi->u.i;
                m->price_out = po->u.i;
                m->priced = 1;
            }
        }
    }
    if (!f[2])
        missing(k, d, "context", "context 128k tokens");
    else if ((v = single(k, f[2])) && (l = const_of(k, v, RV_T_TOKENS, "a context size")) &&
             !positive(k, l, v, "a context size", 0))
        m->context = l->u.i;
    if (f[3] && (v = single(k, f[3])) && (l = const_of(k, v, RV_T_TOKENS, "the output limit")) &&
        !positive(k, l, v, "the output limit", 0)) {
        m->max_output = l->u.i;
        if (m->context && l->u.i > m->context)
            diag_report(D, DG_BAD_VALUE, v->at, "the output limit is larger than the context");
    }
    if (f[4] && (v = single(k, f[4])) && (l = const_of(k, v, RV_T_INT, "a tier"))) {
        if (l->u.i < 0 || l->u.i > 100)
            diag_report(D, DG_BAD_VALUE, v->at, "a tier is between 0 and 100");
        else
            m->tier = (uint32_t)l->u.i;
    }
    if (f[5]) {
        for (ast *c0 = f[5]->u.item->value; c0; c0 = c0->next) {
            ast *items = c0->kind == E_LIST ? c0->u.items : c0;
            for (ast *c1 = items; c1; c1 = c0->kind == E_LIST ? c1->next : NULL) {
                const char *nm = c1->kind == E_NAME ? c1->u.name : c1->kind == E_STR ? c1->u.str.s : NULL;
                int cap = -1;
                for (int i = 0; nm && i < RV_CAP__COUNT; i++)
                    if (!strcmp(rv_cap_names[i], nm))
                        cap = i;
                if (cap < 0) {
                    diag_report(D, DG_BAD_VALUE, c1->at, "unknown capability");
                    const char *sug = nm ? diag_suggest(nm, rv_cap_names, RV_CAP__COUNT) : NULL;
                    if (sug)
                        diag_hint(D, "did you mean '%s'?", sug);
                    else
                        diag_hint(D, "capabilities are text, vision, tools, json, streaming, logprobs, audio, reasoning");
                } else {
                    m->caps |= 1u << cap;
                }
            }
        }
    }
    if (f[6] && (v = single(k, f[6])) && (l = const_of(k, v, RV_T_DURATION, "a latency")) &&
        !positive(k, l, v, "a latency", 0))
        m->latency = l->u.i;
    if (f[7] && (v = single(k, f[7])) && (l = const_of(k, v, RV_T_STR, "a system prompt")))
        m->system = l->u.str.s;
}

static void chk_guardrail(checker *k, sym *s)
{
    ast *limits[RV_DIR__COUNT] = { 0 };
    for (ast *a = s->decl->u.decl->items; a; a = a->next) {
        if (a->u.ga.kind == RV_GA_LIMIT) {
            ast *l = const_of(k, a->u.ga.value, RV_T_TOKENS, "a token limit");
            if (limits[a->u.ga.dir]) {
                diag_report(D, DG_DUPLICATE_PROPERTY, a->at, "a second %s limit", a->u.ga.dir == RV_DIR_INPUT ? "input" : "output");
                diag_note(D, limits[a->u.ga.dir]->at, "first limit");
            }
            limits[a->u.ga.dir] = a;
            if (l && !positive(k, l, a->u.ga.value, "a token limit", 0)) {
                if (a->u.ga.dir == RV_DIR_INPUT)
                    s->u.guard.in_limit = l->u.i;
                else
                    s->u.guard.out_limit = l->u.i;
                a->ext = 0;
                a->u.ga.value = l;
            }
            continue;
        }
        ast *re = const_of(k, a->u.ga.value, RV_T_REGEX, "a guardrail pattern");
        if (re)
            a->u.ga.value = re;
    }
}

static void chk_names_into(checker *k, ast *list, unsigned mask, const char *what)
{
    for (ast *n = list; n; n = n->next) {
        if (n->kind == E_LIST) {
            chk_names_into(k, n->u.items, mask, what);
            continue;
        }
        if (n->kind != E_NAME) {
            diag_report(D, DG_TYPE, n->at, "expected the name of a %s", what);
            continue;
        }
        n->sym = resolve_name(k, n->u.name, n->at, mask, what);
    }
}

/* ---------------------------------------------------------------- targets */

static void chk_cands(checker *k, ast *cands, const char *strategy)
{
    for (ast *n = cands; n; n = n->next) {
        n->sym = resolve_name(k, n->u.name, n->at, 1u << SYM_MODEL, "model");
        for (ast *m = cands; m != n; m = m->next)
            if (!strcmp(m->u.name, n->u.name)) {
                diag_report(D, DG_DUPLICATE_CANDIDATE, n->at, "'%s' is listed twice in this %s", n->u.name, strategy);
                break;
            }
    }
}

static void chk_rules(checker *k, ast *rules)
{
    for (ast *r = rules; r; r = r->next) {
        r->ext = ++k->rule_no;
        if (r->u.rule.cond)
            expect_type(k, r->u.rule.cond, SC_ROUTE, RV_T_BOOL, "a rule's condition");
        chk_target(k, r->u.rule.target);
    }
}

static void chk_target(checker *k, ast *t)
{
    ast *v;
    switch (t->kind) {
    case T_REF:
        t->sym = resolve_name(k, t->u.name, t->at, 1u << SYM_MODEL | 1u << SYM_AGENT, "model");
        break;
    case T_CHEAPEST:
    case T_FASTEST:
        chk_cands(k, t->u.t->cands, t->kind == T_CHEAPEST ? "cheapest" : "fastest");
        if (t->u.t->cond)
            expect_type(k, t->u.t->cond, SC_WHERE, RV_T_BOOL, "a 'where' condition");
        break;
    case T_CASCADE:
        chk_cands(k, t->u.t->cands, "cascade");
        if ((v = const_of(k, t->u.t->cond, RV_T_NUM, "a confidence threshold"))) {
            int64_t x = v->type == RV_T_INT ? v->u.i * 1000000 : v->u.i;
            if (x < 0 || x > 1000000)
                diag_report(D, DG_BAD_VALUE, t->u.t->cond->at, "a confidence threshold is between 0 and 1");
            t->u.t->cond = lit(k, E_NUM, t->u.t->cond->at, x);
        }
        if (t->u.t->by == RV_BY_JUDGE)
            t->u.t->judge->sym = resolve_name(k, t->u.t->judge->u.name, t->u.t->judge->at, 1u << SYM_MODEL, "model");
        if (t->u.t->by == RV_BY_CHECK) {
            rv_type ct = chk_expr(k, t->u.t->check, SC_CHECK);
            if (ct != RV_T__COUNT && ct != RV_T_BOOL && ct != RV_T_NUM)
                diag_report(D, DG_TYPE, t->u.t->check->at, "a check must be a bool or a number from 0 to 1, not %s",
                            a_type(ct));
        }
        break;
    case T_SPLIT: {
        int64_t sum = 0;
        int ok = 1;
        for (ast *a = t->u.t->arms; a; a = a->next) {
            ast *s = const_of(k, a->u.arm.share, RV_T_PERCENT, "a split share");
            if (!s || positive(k, s, a->u.arm.share, "a split share", 0))
                ok = 0;
            else
                sum += s->u.i, a->u.arm.share = s;
            chk_target(k, a->u.arm.target);
        }
        if (ok && sum != 1000000) {
            diag_report(D, DG_SPLIT_SUM, t->at, "split shares add up to %lld.%04lld%%, not 100%%",
                        (long long)(sum / 10000), (long long)(sum % 10000));
        }
        expect_type(k, t->u.t->cond, SC_ROUTE, RV_T_STR, "a split key");
        break;
    }
    case T_HOOK: {
        const char *url;
        check_url(k, t->u.t->url, &url);
        if ((v = const_of(k, t->u.t->cond, RV_T_DURATION, "a hook timeout"))) {
            if (v->u.i <= 0 || v->u.i > 60000000)
                diag_report(D, DG_BAD_VALUE, t->u.t->cond->at, "a hook timeout is between 1us and 60s");
            t->u.t->cond = v;
        }
        chk_target(k, t->u.t->dflt);
        break;
    }
    case T_ROUTE:
        chk_rules(k, t->u.t->rules);
        break;
    default:
        break;
    }
}

static void chk_agent(checker *k, sym *s)
{
    static const item_spec spec[] = {
        { "guard", 0 }, { "budget", 0 }, { "route", 1 }, { "fallback", 0 },
        { "retry", 0 }, { "backoff", 0 }, { "timeout", 0 },
    };
    ast *f[7] = { 0 }, *d = s->decl, *v, *l;
    agent_info *a = &s->u.agent;
    k->agent = s;
    k->rule_no = 0;
    scan_items(k, d->u.decl->items, spec, 7, f, "agent");
    if (f[0]) {
        a->guards = f[0]->u.item->value;
        chk_names_into(k, a->guards, 1u << SYM_GUARDRAIL, "guardrail");
    }
    if (f[1]) {
        int seen[2] = { 0 };
        for (ast *b = f[1]->u.item->value; b; b = b->next) {
            ast *amt = const_of(k, b->u.budget.amount, RV_T_MONEY, "a budget");
            int per = !strcmp(b->u.budget.per, "request") ? 0 : !strcmp(b->u.budget.per, "day") ? 1 : -1;
            if (per < 0) {
                diag_report(D, DG_BAD_VALUE, b->u.budget.per_at, "budgets are per request or per day");
                continue;
            }
            if (seen[per]++)
                diag_report(D, DG_DUPLICATE_PROPERTY, b->at, "a second budget per %s", b->u.budget.per);
            if (amt && !positive(k, amt, b->u.budget.amount, "a budget", 0))
                *(per ? &a->budget_day : &a->budget_request) = amt->u.i;
        }
    }
    if (!f[2])
        missing(k, d, "route", "route { when ... -> model  otherwise -> model }");
    else {
        a->route = f[2]->u.item->value;
        chk_target(k, a->route);
    }
    if (f[3]) {
        a->fallback = f[3]->u.item->value;
        chk_names_into(k, a->fallback, 1u << SYM_MODEL | 1u << SYM_AGENT, "model");
    }
    if (f[4] && (v = single(k, f[4])) && (l = const_of(k, v, RV_T_INT, "a retry count"))) {
        if (l->u.i < 0 || l->u.i > 10)
            diag_report(D, DG_BAD_VALUE, v->at, "retries are between 0 and 10");
        else
            a->retry = (uint32_t)l->u.i;
    }
    if (f[5] && (v = single(k, f[5])) && (l = const_of(k, v, RV_T_DURATION, "a backoff")) &&
        !positive(k, l, v, "a backoff", 0))
        a->backoff = l->u.i;
    if (f[6] && (v = single(k, f[6])) && (l = const_of(k, v, RV_T_DURATION, "a timeout")) &&
        !positive(k, l, v, "a timeout", 0))
        a->timeout = l->u.i;
    a->nrules = k->rule_no;
    k->agent = NULL;
}

/* ---------------------------------------------------------------- tests */

static void chk_test(checker *k, ast *d)
{
    ast *req = NULL, *ex_tail = NULL;
    d->u.decl->expects = NULL;
    for (ast *it = d->u.decl->items, *next; it; it = next) {
        next = it->next;
        if (it->kind == N_GIVEN) {
            ast *g = it;
            if (g->u.given.kind == RV_GIVEN_HOOK) {
                g->u.given.what->sym = resolve_name(k, g->u.given.what->u.name, g->u.given.what->at,
                                                    1u << SYM_MODEL, "model");
                continue;
            }
            g->u.given.who->sym = resolve_name(k, g->u.given.who->u.name, g->u.given.who->at, 1u << SYM_MODEL, "model");
            if (g->u.given.kind == RV_GIVEN_FAIL) {
                ast *w = g->u.given.what;
                static const char *const fails[] = { "timeout", "reset", "refused", "error", "overloaded", "malformed" };
                const char *name = w->kind == E_NAME ? w->u.name : NULL;
                int ok = 0;
                for (size_t i = 0; name && i < sizeof fails / sizeof *fails; i++)
                    ok |= !strcmp(name, fails[i]);
                if (w->kind == E_INT && w->u.i >= 400 && w->u.i <= 599) {
                    ok = 1;
                    w->u.name = arena_printf(&k->c->arena, "%lld", (long long)w->u.i);
                    w->kind = E_NAME;
                }
                if (!ok) {
                    diag_report(D, DG_BAD_VALUE, w->at, "a model fails with timeout, reset, refused, error, "
                                "overloaded, malformed or an HTTP status 400-599");
                    const char *sug = name ? diag_suggest(name, fails, sizeof fails / sizeof *fails) : NULL;
                    if (sug)
                        diag_hint(D, "did you mean '%s'?", sug);
                }
            } else if (g->u.given.confidence) {
                ast *cv = const_of(k, g->u.given.confidence, RV_T_NUM, "a confidence");
                if (cv) {
                    int64_t x = cv->type == RV_T_INT ? cv->u.i * 1000000 : cv->u.i;
                    if (x < 0 || x > 1000000)
                        diag_report(D, DG_BAD_VALUE, g->u.given.confidence->at, "a confidence is between 0 and 1");
                    g->u.given.confidence = lit(k, E_NUM, cv->at, x);
                }
            }
            continue;
        }
        if (!strcmp(it->u.item->name, "request")) {
            if (req) {
                diag_report(D, DG_DUPLICATE_PROPERTY, it->u.item->name_at, "a test has one request");
                continue;
            }
            req = it;
            ast *an = it->u.item->value;
            an->sym = resolve_name(k, an->u.name, an->at, 1u << SYM_AGENT, "agent");
            d->u.decl->agent = an;
            d->u.decl->request = chk_request(k->c, it);
        } else {
            ast *e = it->u.item->value;
            expect_type(k, e, SC_EXPECT, RV_T_BOOL, "an expectation");
            ast *copy = it;
            copy->next = NULL;
            if (ex_tail)
                ex_tail->next = copy;
            else
                d->u.decl->expects = copy;
            ex_tail = copy;
        }
    }
    if (!req) {
        diag_report(D, DG_MISSING_PROPERTY, d->u.decl->name_at, "test \"%s\" has no request", d->u.decl->name);
        diag_hint(D, "add: request AGENT { user \"...\" }");
    }
    if (!d->u.decl->expects) {
        diag_report(D, DG_MISSING_PROPERTY, d->u.decl->name_at, "test \"%s\" expects nothing", d->u.decl->name);
        diag_hint(D, "add: expect model == some_model");
    }
    /* keep the givens in the items list for the code generator */
    ast *gh = NULL, *gt = NULL;
    for (ast *it = d->u.decl->items, *next; it; it = next) {
        next = it->next;
        if (it->kind != N_GIVEN)
            continue;
        it->next = NULL;
        if (gt) gt->next = it; else gh = it;
        gt = it;
    }
    d->u.decl->givens = gh;
}

/* ---------------------------------------------------------------- driver */

int chk_program(rv_compiler *c)
{
    checker k = { .c = c };
    /* constants first, so each is folded once and errors point at it */
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_CONST)
            fold_const_sym(&k, c->order[i], c->order[i]->decl->at, 1);
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_PROVIDER)
            chk_provider(&k, c->order[i]);
    for (uint32_t i = 0; i < c->norder; i++) {
        sym *s = c->order[i];
        if (s->kind == SYM_MODEL)
            chk_model(&k, s);
        else if (s->kind == SYM_GUARDRAIL)
            chk_guardrail(&k, s);
    }
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_AGENT)
            chk_agent(&k, c->order[i]);
    for (ast *d = c->decls; d; d = d->next)
        if (d->kind == D_TEST)
            chk_test(&k, d);
    return c->diag.nerr ? -1 : 0;
}
