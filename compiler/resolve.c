/* The symbol table: every provider, model, guardrail, agent and constant
   in one global namespace (declaration order does not matter; a name is
   declared once).  Test names live apart and must be unique too.  The
   table is a chained hash map sized to the number of declarations. */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "mem.h"

const char *const sym_kind_names[SYM__COUNT] = { "provider", "model", "guardrail", "agent", "constant" };

/* Names the language gives a meaning to -- the fields of requests,
   candidate models and decisions, and a few more; declaring one would
   make rules read one thing and do another. */
static const char *const reserved[] = {
    "meta", "response", "capabilities", "env", "std",
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

sym *res_lookup(const rv_compiler *c, const char *name)
{
    if (!c->nbucket)
        return NULL;
    for (sym *s = c->buckets[hash(name) & (c->nbucket - 1)]; s; s = s->hnext)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

static sym_kind kind_of(ast_kind k)
{
    switch (k) {
    case D_PROVIDER: return SYM_PROVIDER;
    case D_MODEL: return SYM_MODEL;
    case D_GUARDRAIL: return SYM_GUARDRAIL;
    case D_AGENT: return SYM_AGENT;
    default: return SYM_CONST;
    }
}

static int in_fields(const rv_fieldinfo *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i].name, name))
            return 1;
    return 0;
}

static int is_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(reserved[i], name))
            return 1;
    return in_fields(rv_reqfields, RV_REQ__COUNT, name) || in_fields(rv_candfields, RV_CAND__COUNT, name) ||
           in_fields(rv_decfields, RV_DEC__COUNT, name);
}

int res_declare(rv_compiler *c)
{
    uint32_t n = 0;
    for (ast *d = c->decls; d; d = d->next)
        n++;
    c->nbucket = 16;
    while (c->nbucket < n * 2)
        c->nbucket *= 2;
    c->buckets = mem_calloc(c->nbucket, sizeof *c->buckets);
    c->order = mem_calloc(n ? n : 1, sizeof *c->order);
    if (!c->buckets || !c->order) {
        c->oom = 1;
        return -1;
    }
    for (ast *d = c->decls; d; d = d->next) {
        if (d->kind == D_IMPORT || d->kind == D_TEST)
            continue;
        const char *name = d->u.decl->name;
        sym *old = res_lookup(c, name);
        if (old) {
            diag_report(&c->diag, DG_REDECLARED, d->u.decl->name_at, "'%s' is already declared as %s %s",
                        name, diag_a(sym_kind_names[old->kind]), sym_kind_names[old->kind]);
            diag_note(&c->diag, old->decl->u.decl->name_at, "previous declaration of '%s'", name);
            continue;
        }
        /* reported once; the name is still declared, so its uses do not
           each say it is missing */
        if (is_reserved(name)) {
            diag_report(&c->diag, DG_BAD_VALUE, d->u.decl->name_at,
                        "'%s' is a built-in name and cannot be declared", name);
            diag_hint(&c->diag, "choose another name, e.g. '%s_%s'", name,
                      d->kind == D_CONST ? "value" : sym_kind_names[kind_of(d->kind)]);
        }
        sym *s = arena_alloc(&c->arena, sizeof *s);
        if (!s) {
            c->oom = 1;
            return -1;
        }
        s->kind = kind_of(d->kind);
        s->name = name;
        s->decl = d;
        s->index = c->count[s->kind]++;
        uint32_t b = hash(name) & (c->nbucket - 1);
        s->hnext = c->buckets[b];
        c->buckets[b] = s;
        c->order[c->norder++] = s;
        c->nsym++;
    }
    /* test names */
    for (ast *d = c->decls; d; d = d->next) {
        if (d->kind != D_TEST)
            continue;
        for (ast *e = c->decls; e != d; e = e->next)
            if (e->kind == D_TEST && !strcmp(e->u.decl->name, d->u.decl->name)) {
                diag_report(&c->diag, DG_REDECLARED, d->u.decl->name_at, "a test named \"%s\" already exists",
                            d->u.decl->name);
                diag_note(&c->diag, e->u.decl->name_at, "previous test");
                break;
            }
    }
    return 0;
}

const char *res_suggest(rv_compiler *c, const char *name, unsigned mask)
{
    const char **cands = mem_calloc(c->norder ? c->norder : 1, sizeof *cands);
    if (!cands)
        return NULL;
    size_t n = 0;
    for (uint32_t i = 0; i < c->norder; i++)
        if (mask & (1u << c->order[i]->kind))
            cands[n++] = c->order[i]->name;
    const char *s = diag_suggest(name, cands, n);
    free(cands);
    return s;
}
