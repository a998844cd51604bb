/* Expression typing: every expression gets its type, with units (money,
   rates, durations, tokens, percentages), and every name what it
   resolves to -- a request field, a metadata key (numbered, so later
   passes compare numbers), a candidate model's field, a response field, a
   decision field or a declaration.  The checker (check.c) calls it for
   each expression a declaration holds; constants are typed and folded
   (fold.c) on first use, in whatever order they are met.

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
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "fold.h"
#include "mem.h"
#include "parse.h"
#include "regexlint.h"
#include "override.h"
#include "typing.h"

#define D (&c->diag)

/* ---------------------------------------------------------------- helpers */

static const char *type_name(rv_type t) { return t < RV_T__COUNT ? rv_type_names[t] : "?"; }

/* "an int", "a string": for messages that name one value (constant
   strings, so compilers on several threads share nothing) */
const char *typ_phrase(rv_type t)
{
    static const char *const phrase[RV_T__COUNT] = {
        [RV_T_NIL] = "a nil", [RV_T_BOOL] = "a bool", [RV_T_INT] = "an int", [RV_T_NUM] = "a number",
        [RV_T_MONEY] = "money", [RV_T_RATE] = "a price", [RV_T_DURATION] = "a duration",
        [RV_T_TOKENS] = "a tokens", [RV_T_PERCENT] = "a percent", [RV_T_STR] = "a string",
        [RV_T_REGEX] = "a regex", [RV_T_LIST] = "a list", [RV_T_MODEL] = "a model", [RV_T_AGENT] = "an agent",
        [RV_T_GUARDRAIL] = "a guardrail", [RV_T_PROVIDER] = "a provider", [RV_T_TEXT] = "a string or list",
    };
    return t < RV_T__COUNT && phrase[t] ? phrase[t] : "a ?";
}

static int is_text(const ast *e)
{
    return e->type == RV_T_STR || (e->type == RV_T_LIST && (e->elem == RV_T_STR || e->elem == RV_T_NIL));
}

/* ---------------------------------------------------------------- regexes */

/* Compile with PCRE2 to validate; the error offset becomes a column inside
   the literal (one past the opening '/'). */
static void check_regex(rv_compiler *c, ast *e)
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
        size_t q;
        if (rl_nested_quantifier(e->u.re.pat, (opts & PCRE2_CASELESS) != 0, &q)) {
            src_span at = e->at;
            at.col = e->at.col + 1 + (uint32_t)q;
            at.end_line = at.line;
            at.end_col = at.col + 1;
            diag_report(D, DG_SLOW_REGEX, at, "this repetition repeats a group that repeats without bound: "
                        "matching can take exponential time (it stops at the match limit and the request is refused)");
        }
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

/* ---------------------------------------------------------------- constants */

ast *typ_const(rv_compiler *c, sym *s, src_span use, int report)
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
    if (s->state == 4)
        return s->value;
    s->state = 1;
    /* typed where the request is visible: a constant that reads it is a
       named expression, used wherever the request is */
    unsigned errs = c->diag.nerr;
    ast *v = s->decl->u.decl->from, *o = ovr_value(c, s);
    if (typ_expr(c, v, TYP_ROUTE) == RV_T__COUNT || (o && typ_expr(c, o, TYP_CONST) == RV_T__COUNT)) {
        s->state = 3;
        return NULL;
    }
    if (o && (o->type != v->type || (v->type == RV_T_LIST && o->elem != v->elem && o->elem != RV_T_NIL))) {
        diag_report(D, DG_TYPE, o->at, "'%s' is declared as %s; it cannot be given %s", s->name,
                    typ_phrase(v->type), typ_phrase(o->type));
        s->state = 3;
        return NULL;
    }
    if (o)
        v = o;
    ast *f = fold_expr(c, v, 0);
    if (s->state == 1) {
        s->value = f ? f : v;
        s->state = f ? 2 : c->diag.nerr > errs ? 3 : 4;
    }
    return s->state == 3 ? NULL : s->value;
}

/* A use of constant 's' that reads the request: the node becomes (a
   shallow copy of) its expression, so every later pass -- folding,
   implication, the linter's intervals, code generation -- sees the
   condition itself, as if it were written out here. */
static rv_type use_named(rv_compiler *c, ast *e, sym *s, typ_scope sc)
{
    if (sc == TYP_CONST || sc == TYP_EXPECT) {
        diag_report(D, DG_NOT_CONSTANT, e->at, "'%s' reads the request; %s", s->name,
                    sc == TYP_CONST ? "this value must be known when the policy is compiled"
                                    : "an expectation sees the decision, not the request");
        diag_note(D, s->decl->u.decl->name_at, "'%s' is declared here", s->name);
        return RV_T__COUNT;
    }
    const ast *v = s->value;
    src_span at = e->at;
    ast *next = e->next;
    *e = *v;
    e->at = at;
    e->next = next;
    return v->type;
}

/* ---------------------------------------------------------------- expressions */

static void type_error(rv_compiler *c, ast *e, const char *fmt, rv_type a, rv_type b)
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
static const char *suggest_field(rv_compiler *c, const char *name, typ_scope sc)
{
    const char *cands[64];
    size_t n = 0;
    if (sc == TYP_ROUTE || sc == TYP_WHERE || sc == TYP_CHECK)
        for (int i = 0; i < RV_REQ__COUNT; i++) cands[n++] = rv_reqfields[i].name;
    if (sc == TYP_WHERE) {
        for (int i = 0; i < RV_CAND__COUNT; i++) cands[n++] = rv_candfields[i].name;
        cands[n++] = "capabilities";
    }
    if (sc == TYP_EXPECT)
        for (int i = 0; i < RV_DEC__COUNT; i++) cands[n++] = rv_decfields[i].name;
    const char *s = diag_suggest(name, cands, n);
    return s ? s : res_suggest(c, name, 1u << SYM_CONST | 1u << SYM_MODEL | 1u << SYM_AGENT);
}

static rv_type type_of_name(rv_compiler *c, ast *e, typ_scope sc)
{
    const char *name = e->u.name;
    int f;
    e->field = -1;
    if ((sc == TYP_ROUTE || sc == TYP_WHERE || sc == TYP_CHECK) &&
        (f = field_lookup(rv_reqfields, RV_REQ__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'R';
        return rv_reqfields[f].type;
    }
    if (sc == TYP_WHERE && (f = field_lookup(rv_candfields, RV_CAND__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'C';
        if (f == RV_CAND_TAGS)
            e->elem = RV_T_STR;
        return rv_candfields[f].type;
    }
    if (sc == TYP_EXPECT && (f = field_lookup(rv_decfields, RV_DEC__COUNT, name)) >= 0) {
        e->field = f;
        e->ext = 'D';
        return rv_decfields[f].type;
    }
    if (sc == TYP_CONST && (field_lookup(rv_reqfields, RV_REQ__COUNT, name) >= 0 ||
                           field_lookup(rv_candfields, RV_CAND__COUNT, name) >= 0)) {
        diag_report(D, DG_NOT_CONSTANT, e->at, "'%s' depends on the request; this value must be known when "
                    "the policy is compiled", name);
        return RV_T__COUNT;
    }
    if (!strcmp(name, "capabilities") && sc == TYP_WHERE) {
        diag_report(D, DG_TYPE, e->at, "'capabilities' can only be tested with \"name\" in capabilities");
        return RV_T__COUNT;
    }
    sym *s = res_lookup(c, name);
    if (!s) {
        diag_report(D, DG_UNDECLARED, e->at, "'%s' is not declared", name);
        const char *sug = suggest_field(c, name, sc);
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
        ast *v = typ_const(c, s, e->at, 1);
        if (!v)
            return RV_T__COUNT;
        if (s->state == 4)
            return use_named(c, e, s, sc);
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
static char *dotted(rv_compiler *c, ast *e)
{
    if (e->kind == E_NAME)
        return e->u.name;
    if (e->kind != E_MEMBER)
        return NULL;
    char *l = e->bare ? e->u.member.base : dotted(c, e->u.member.obj);
    return l ? arena_printf(&c->arena, "%s.%s", l, e->u.member.name) : NULL;
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

static rv_type type_of_member(rv_compiler *c, ast *e, typ_scope sc)
{
    e->field = -1;
    /* the common case, meta.key, without building the dotted string */
    if (e->bare && !strcmp(e->u.member.base, "meta") && sc != TYP_CONST && sc != TYP_EXPECT) {
        e->ext = 'M';
        e->field = meta_key_id(c, e->u.member.name);
        return RV_T_STR;
    }
    char *path = dotted(c, e);
    if (!path) {
        diag_report(D, DG_TYPE, e->at, "only names have fields");
        return RV_T__COUNT;
    }
    if (!strncmp(path, "meta.", 5) && sc != TYP_CONST && sc != TYP_EXPECT) {
        e->ext = 'M';
        e->u.member.name = path + 5;   /* the metadata key, dots included */
        e->field = meta_key_id(c, e->u.member.name);
        return RV_T_STR;
    }
    if (!strncmp(path, "response.", 9) && sc == TYP_CHECK) {
        int f = field_lookup(rv_respfields, RV_RESP__COUNT, path + 9);
        if (f < 0) {
            diag_report(D, DG_UNDECLARED, ast_name_span(e, e->u.member.name_at, e->u.member.name), "responses have no field '%s'",
                        path + 9);
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
    sym *s = res_lookup(c, path);
    if (!s) {
        diag_report(D, DG_UNDECLARED, e->at, "'%s' is not declared", path);
        const char *sug = res_suggest(c, path, 1u << SYM_CONST);
        if (sug)
            diag_hint(D, "did you mean '%s'?", sug);
        else if (!strncmp(path, "std.", 4))
            diag_hint(D, "standard constants need their module: import \"std/%.*s\"",
                      (int)strcspn(path + 4, "."), path + 4);
        return RV_T__COUNT;
    }
    if (s->kind != SYM_CONST) {
        diag_report(D, DG_WRONG_KIND, e->at, "'%s' is %s %s, not a constant", path, diag_a(sym_kind_names[s->kind]),
                    sym_kind_names[s->kind]);
        return RV_T__COUNT;
    }
    e->sym = s;
    s->used = 1;
    ast *v = typ_const(c, s, e->at, 1);
    if (!v)
        return RV_T__COUNT;
    if (s->state == 4)
        return use_named(c, e, s, sc);
    e->elem = v->elem;
    return v->type;
}

static rv_type type_of_call(rv_compiler *c, ast *e, typ_scope sc)
{
    const char *fn = e->u.call.fn;
    unsigned nargs = ast_count(e->u.call.args);
    int bad = 0;
    for (ast *a = e->u.call.args; a; a = a->next)
        bad |= typ_expr(c, a, sc) == RV_T__COUNT;
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
        e->u.bin.op = AST_MATCHES;
        e->u.bin.l = l;
        e->u.bin.r = r;
        r->next = NULL;
        e->type = RV_T__COUNT;
        return typ_expr(c, e, sc);
    }
    int b = -1;
    for (int i = 0; i < RV_BI__COUNT; i++)
        if (!strcmp(rv_builtins[i].name, fn))
            b = i;
    if (b < 0) {
        diag_report(D, DG_BAD_CALL, ast_name_span(e, e->u.call.fn_at, fn), "unknown function '%s'", fn);
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
                        typ_phrase(want), typ_phrase(a->type));
            return RV_T__COUNT;
        }
    }
    e->field = b;
    return bi->ret;
}

static int as_number(rv_compiler *c, ast *e);

/* "eu" in tags: some model must have the tag (a misspelled tag would
   silently never match). */
static int known_tag(rv_compiler *c, ast *l)
{
    ast *f = fold_expr(c, l, 0);
    if (!f || f->kind != E_STR)
        return 1;           /* a tag read from the request: nothing to check */
    const char *cands[64];
    size_t n = 0;
    for (uint32_t i = 0; i < c->norder; i++) {
        const sym *s = c->order[i];
        if (s->kind != SYM_MODEL || !s->u.model.tags)
            continue;
        for (const ast *t = s->u.model.tags->u.items; t; t = t->next) {
            if (t->u.str.len == f->u.str.len && !memcmp(t->u.str.s, f->u.str.s, f->u.str.len))
                return 1;
            if (n < sizeof cands / sizeof *cands)
                cands[n++] = t->u.str.s;
        }
    }
    diag_report(D, DG_BAD_VALUE, l->at, "no model has the tag \"%s\"", f->u.str.s);
    const char *sug = diag_suggest(f->u.str.s, cands, n);
    if (sug)
        diag_hint(D, "did you mean \"%s\"?", sug);
    else
        diag_hint(D, "models declare their tags: tags [eu, hipaa]");
    return 0;
}

static rv_type type_of_in(rv_compiler *c, ast *e, typ_scope sc)
{
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    if (r->kind == E_NAME && !strcmp(r->u.name, "capabilities") && sc == TYP_WHERE) {
        if (typ_expr(c, l, sc) == RV_T__COUNT)
            return RV_T__COUNT;
        ast *f = l->type == RV_T_STR ? fold_expr(c, l, 0) : NULL;
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
    rv_type a = typ_expr(c, l, sc), b = typ_expr(c, r, sc);
    if (a == RV_T__COUNT || b == RV_T__COUNT)
        return RV_T__COUNT;
    if (b != RV_T_LIST) {
        diag_report(D, DG_TYPE, r->at, "'in' needs a list on its right, not %s", typ_phrase(b));
        if (b == RV_T_STR && a == RV_T_STR)
            diag_hint(D, "for a substring test write contains(text, \"part\")");
        return RV_T__COUNT;
    }
    if (r->elem != RV_T_NIL && !arith_comparable(a, r->elem) && arith_numeric(r->elem) &&
        l->kind == E_MEMBER && l->ext == 'M' && (r->elem == RV_T_INT || r->elem == RV_T_NUM || r->elem == RV_T_PERCENT)) {
        if (as_number(c, l))        /* meta.tier in [1, 2]: the value read as a number */
            return RV_T__COUNT;
        a = RV_T_NUM;
    }
    if (r->elem != RV_T_NIL && !arith_comparable(a, r->elem)) {
        diag_report(D, DG_TYPE, e->at, "cannot look for %s in a list of %s", typ_phrase(a), type_name(r->elem));
        return RV_T__COUNT;
    }
    if (r->kind == E_NAME && r->ext == 'C' && r->field == RV_CAND_TAGS && a == RV_T_STR)
        return known_tag(c, l) ? RV_T_BOOL : RV_T__COUNT;
    return RV_T_BOOL;
}

/* meta.KEY is a string; compared with an int, a number or a percentage
   it is read as a number at run time: the node becomes decimal(meta.KEY),
   missing when the value is not one (a comparison with it is false).
   0, or -1 when memory runs out. */
static int as_number(rv_compiler *c, ast *e)
{
    ast *arg = arena_alloc(&c->arena, sizeof *arg);
    if (!arg) {
        c->oom = 1;
        return -1;
    }
    *arg = *e;
    arg->next = NULL;
    memset(&e->u, 0, sizeof e->u);
    e->kind = E_CALL;
    e->bare = 0;
    e->u.call.fn = "decimal";
    e->u.call.fn_at = ast_pos_of(e->at);
    e->u.call.args = arg;
    e->field = RV_BI_decimal;
    e->type = RV_T_NUM;
    e->sym = NULL;
    e->ext = 0;
    return 0;
}

static int unitless(rv_type t) { return t == RV_T_INT || t == RV_T_NUM || t == RV_T_PERCENT; }

/* A metadata value on one side of a comparison, a unitless number on the
   other: read the metadata as a number.  Updates the operand types. */
static int meta_numbers(rv_compiler *c, ast *e, rv_type *a, rv_type *b)
{
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    if (l->kind == E_MEMBER && l->ext == 'M' && unitless(*b)) {
        if (as_number(c, l))
            return -1;
        *a = RV_T_NUM;
    } else if (r->kind == E_MEMBER && r->ext == 'M' && unitless(*a)) {
        if (as_number(c, r))
            return -1;
        *b = RV_T_NUM;
    }
    return 0;
}

/* bucket() is a whole number 0..99: compared with a percentage or a
   number it reads as a fraction (bucket(user) < 10% holds for bucket 0
   alone, 1% of the keys), so the units must agree. */
static int bucket_trap(rv_compiler *c, ast *e)
{
    ast *l = e->u.bin.l, *r = e->u.bin.r;
    ast *bk = l->kind == E_CALL && l->field == RV_BI_bucket ? l : r->kind == E_CALL && r->field == RV_BI_bucket ? r : NULL;
    ast *other = bk == l ? r : l;
    if (!bk || (other->type != RV_T_PERCENT && other->type != RV_T_NUM))
        return 0;
    diag_report(D, DG_TYPE, e->at, "bucket() is a whole number from 0 to 99, not %s", other->type == RV_T_PERCENT
                ? "a percentage" : "a fraction");
    diag_hint(D, "each bucket is 1%% of the keys: bucket(user) < 10 selects 10%%, as a 10%% split arm does");
    return 1;
}

static rv_type type_of_binary(rv_compiler *c, ast *e, typ_scope sc)
{
    ast_binop op = e->u.bin.op;
    if (op == AST_IN || op == AST_NOTIN)
        return type_of_in(c, e, sc);
    rv_type a = typ_expr(c, e->u.bin.l, sc), b = typ_expr(c, e->u.bin.r, sc);
    if (a == RV_T__COUNT || b == RV_T__COUNT)
        return RV_T__COUNT;
    if (op >= AST_EQ && op <= AST_GE && meta_numbers(c, e, &a, &b))
        return RV_T__COUNT;
    switch (op) {
    case AST_AND:
    case AST_OR:
        if (a != RV_T_BOOL || b != RV_T_BOOL) {
            type_error(c, e, "'and'/'or' need two bools, not %s and %s", a, b);
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    case AST_MATCHES: {
        if (!is_text(e->u.bin.l)) {
            type_error(c, e, "'matches' needs a string (or list of strings) on its left, not %s%.0s", a, b);
            return RV_T__COUNT;
        }
        ast *re = b == RV_T_REGEX ? fold_expr(c, e->u.bin.r, 0) : NULL;
        if (!re) {
            diag_report(D, DG_TYPE, e->u.bin.r->at, b == RV_T_REGEX ? "the regex must be a constant"
                        : "'matches' needs a regex on its right, such as /[0-9]+/");
            return RV_T__COUNT;
        }
        return RV_T_BOOL;
    }
    case AST_EQ:
    case AST_NE:
        if (!arith_comparable(a, b)) {
            type_error(c, e, "cannot compare %s with %s", a, b);
            return RV_T__COUNT;
        }
        return bucket_trap(c, e) ? RV_T__COUNT : RV_T_BOOL;
    case AST_LT: case AST_LE: case AST_GT: case AST_GE:
        if (!arith_comparable(a, b) || !arith_numeric(a)) {
            type_error(c, e, arith_numeric(a) && arith_numeric(b) ? "cannot order %s against %s (different units)"
                             : "cannot order %s against %s", a, b);
            if ((e->u.bin.l->ext == 'M' && e->u.bin.l->kind == E_MEMBER) ||
                (e->u.bin.r->ext == 'M' && e->u.bin.r->kind == E_MEMBER))
                diag_hint(D, "metadata is read as a number when compared with an int, a number or a percentage; "
                             "other units need decimal(meta.KEY) and arithmetic");
            return RV_T__COUNT;
        }
        return bucket_trap(c, e) ? RV_T__COUNT : RV_T_BOOL;
    default: {
        rv_type t = arith_type((arith_op)(op - AST_ADD), a, b);
        if (t == RV_T_NIL) {
            static const char *const verbs[] = { "add", "subtract", "multiply", "divide" };
            diag_report(D, DG_TYPE, e->at, "cannot %s %s and %s", verbs[op - AST_ADD], type_name(a), type_name(b));
            if (arith_numeric(a) && arith_numeric(b))
                diag_hint(D, "the units differ; a price times tokens is money, an int times any unit keeps the unit");
            return RV_T__COUNT;
        }
        return t;
    }
    }
}

/* Returns the type, or RV_T__COUNT after reporting an error. */
static rv_type type_of(rv_compiler *c, ast *e, typ_scope sc);

rv_type typ_expr(rv_compiler *c, ast *e, typ_scope sc)
{
    if (c->typ_depth >= TYP_MAX_DEPTH) {
        if (!c->typ_too_deep++) {   /* once: every constant on the chain fails with it */
            diag_report(D, DG_TOO_DEEP, e->at, "constants defined in terms of constants nest too deep here "
                        "(limit %d levels)", TYP_MAX_DEPTH);
            diag_hint(D, "define the constants from literals, or in fewer steps");
        }
        return e->type = RV_T__COUNT;
    }
    c->typ_depth++;
    rv_type t = type_of(c, e, sc);
    c->typ_depth--;
    return t;
}

static rv_type type_of(rv_compiler *c, ast *e, typ_scope sc)
{
    rv_type t = RV_T__COUNT;
    if (e->kind < E_BOOL && e->u.i == PARSE_BAD_LITERAL) {   /* the lexer reported it */
        e->type = t;
        return t;
    }
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
    case E_REGEX: check_regex(c, e); t = RV_T_REGEX; break;
    case E_NAME: t = type_of_name(c, e, sc); break;
    case E_MEMBER: t = type_of_member(c, e, sc); break;
    case E_CALL: t = type_of_call(c, e, sc); break;
    case E_LIST: {
        rv_type elem = RV_T_NIL;
        t = RV_T_LIST;
        for (ast *i = e->u.items; i; i = i->next) {
            rv_type it = typ_expr(c, i, sc);
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
                            typ_phrase(it), typ_phrase(elem));
                t = RV_T__COUNT;
            }
        }
        e->elem = elem;
        break;
    }
    case E_NOT:
        t = typ_expr(c, e->u.operand, sc);
        if (t != RV_T__COUNT && t != RV_T_BOOL) {
            diag_report(D, DG_TYPE, e->at, "'not' needs a bool, not %s", typ_phrase(t));
            t = RV_T__COUNT;
        }
        break;
    case E_NEG:
        t = typ_expr(c, e->u.operand, sc);
        if (t != RV_T__COUNT && !arith_numeric(t)) {
            diag_report(D, DG_TYPE, e->at, "cannot negate %s", typ_phrase(t));
            t = RV_T__COUNT;
        }
        break;
    case E_BINARY: t = type_of_binary(c, e, sc); break;
    default: break;
    }
    e->type = t;
    /* arithmetic on constants is folded now, so an overflow or a division
       by zero is an error wherever it stands (fold.c reports it once),
       not a value that is silently missing at run time */
    if (t != RV_T__COUNT && (e->kind == E_NEG || (e->kind == E_BINARY && e->u.bin.op >= AST_ADD)))
        fold_expr(c, e, 0);
    return t;
}

/* Check 'e' in 'sc' and require type 'want' (INT is accepted for TOKENS,
   and for NUM when 'want' is NUM). */
int typ_expect(rv_compiler *c, ast *e, typ_scope sc, rv_type want, const char *what)
{
    rv_type t = typ_expr(c, e, sc);
    if (t == RV_T__COUNT)
        return -1;
    if (t == want || (want == RV_T_TOKENS && t == RV_T_INT) || (want == RV_T_NUM && t == RV_T_INT))
        return 0;
    diag_report(D, DG_TYPE, e->at, "%s must be %s, not %s", what, typ_phrase(want), typ_phrase(t));
    if (want == RV_T_RATE && t == RV_T_MONEY)
        diag_hint(D, "prices are per token count: write $3/Mtok");
    if (want == RV_T_DURATION && t == RV_T_INT)
        diag_hint(D, "durations need a unit: 200ms, 20s, 5m");
    if (want == RV_T_MONEY && (t == RV_T_INT || t == RV_T_NUM))
        diag_hint(D, "money is written with a dollar sign: $0.02");
    return -1;
}
