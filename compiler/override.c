/* Constant overrides; see override.h.

   An override is parsed as a whole declaration, "const NAME = TEXT", in a
   pseudo-file of its own, so the lexer and parser give its value (and its
   errors) exactly as they would in a policy.  The declaration is not added
   to the policy: only its value is kept, in a list on the compilation,
   which typ_const() consults when it folds the constant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "override.h"
#include "parse.h"

struct ovr {
    struct ovr *next;
    const char *name;
    ast *value;
    src_span at;                /* the whole pseudo-declaration */
};

static int name_ok(const char *s)
{
    if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

int ovr_set(rv_compiler *c, const char *name, const char *text)
{
    char fname[160];
    snprintf(fname, sizeof fname, "--set %.120s", name);
    size_t n = strlen(name) + strlen(text) + 16;
    char *src = mem_malloc(n);
    if (!src) {
        c->oom = 1;
        return -1;
    }
    int len = snprintf(src, n, "const %s = %s\n", name, text);
    int file = src_add(&c->src, fname, fname, src, (size_t)len);
    free(src);
    if (file < 0) {
        c->oom = 1;
        return -1;
    }
    src_span whole = { (uint32_t)file, 1, 1, 1, (uint32_t)len };
    if (!name_ok(name)) {
        diag_report(&c->diag, DG_SYNTAX, whole, "'%s' is not a constant's name", name);
        return -1;
    }
    parse_ctx p = { .arena = &c->arena, .names = &c->names, .diag = &c->diag, .file = (uint32_t)file };
    const src_file *f = &c->src.files[file];
    unsigned errs = c->diag.nerr;
    if (parse_check_utf8(&p, f->text, f->len) || parse_source(&p, f->text, f->len) || p.oom ||
        c->diag.nerr != errs) {
        if (p.oom)
            c->oom = 1;
        return -1;
    }
    if (!p.head || p.head->next || p.head->kind != D_CONST) {
        diag_report(&c->diag, DG_SYNTAX, whole, "the value of --set %s must be one constant expression", name);
        return -1;
    }
    struct ovr *o = arena_alloc(&c->arena, sizeof *o);
    if (!o) {
        c->oom = 1;
        return -1;
    }
    o->name = p.head->u.decl->name;
    o->value = p.head->u.decl->from;
    o->at = whole;
    o->next = c->overrides;
    c->overrides = o;
    return 0;
}

void ovr_check(rv_compiler *c)
{
    for (struct ovr *o = c->overrides; o; o = o->next) {
        sym *s = res_lookup(c, o->name);
        if (s && s->kind == SYM_CONST)
            continue;
        if (s) {
            diag_report(&c->diag, DG_WRONG_KIND, o->at, "'%s' is a %s, not a constant", o->name, sym_kind_names[s->kind]);
            continue;
        }
        diag_report(&c->diag, DG_UNDECLARED, o->at, "the policy declares no constant '%s'", o->name);
        const char *sug = res_suggest(c, o->name, 1u << SYM_CONST);
        if (sug)
            diag_hint(&c->diag, "did you mean '%s'?", sug);
    }
}

ast *ovr_value(rv_compiler *c, const sym *s)
{
    for (struct ovr *o = c->overrides; o; o = o->next)
        if (!strcmp(o->name, s->name))
            return o->value;
    return NULL;
}
