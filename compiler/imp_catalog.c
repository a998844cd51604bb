/* imp_catalog: the standard library as the importers see it.  Router
   configs name models by the provider's id and rarely state prices or
   context windows, which a policy requires; std/models lists them for
   the common models.  The library is compiled once per import, by the
   compiler itself, so the importers read the same figures the language
   does: no second copy of the catalogue.  Its providers are what an
   imported policy uses when the settings match exactly and the module
   declaring them can be imported: none of its names taken by the
   policy's agents or models (LiteLLM's model name "mistral" stays an
   agent named mistral; its provider is then declared in the policy).
   An imported module's names are taken from then on. */
#include <string.h>

#include "compiler.h"
#include "imp_internal.h"
#include "mem.h"

static const char catalog_src[] = "import \"std/models\"\nimport \"std/local\"\n";

int impc_load(imp *im)
{
    rv_compiler *c = comp_new(NULL);
    if (!c)
        return -1;
    im->catalog = c;
    if (import_text(c, "<catalogue>", catalog_src, sizeof catalog_src - 1) || comp_check(c)) {
        /* a broken or missing stdlib: import without it (every price is then noted) */
        comp_free(c);
        im->catalog = NULL;
        return 0;
    }
    return 0;
}

void impc_free(imp *im)
{
    comp_free(im->catalog);
    im->catalog = NULL;
}

/* The module that declares a std provider, by its name. */
static const char *module_of(const char *name)
{
    if (!strcmp(name, "openai") || !strcmp(name, "anthropic") || !strcmp(name, "mistral"))
        return !strcmp(name, "openai") ? "std/openai" : !strcmp(name, "anthropic") ? "std/anthropic" : "std/mistral";
    if (!strncmp(name, "bedrock", 7))
        return "std/bedrock";
    return "std/local";
}

static int same_url(const char *a, const char *b)
{
    if (!a || !b)
        return !a && !b;
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == '/')
        la--;
    while (lb && b[lb - 1] == '/')
        lb--;
    return la == lb && !memcmp(a, b, la);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Import 'mod' if none of its names is taken, and take them: 1 when it
   is imported. */
static int take_module(imp *im, const char *mod)
{
    rv_compiler *c = im->catalog;
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_PROVIDER && !strcmp(module_of(c->order[i]->name), mod) &&
            impi_taken(im, c->order[i]->name))
            return 0;
    if (MEM_GROW(im->imports, im->nimport, im->cap_import)) {
        im->failed = 1;
        return 0;
    }
    im->imports[im->nimport++] = mod;
    for (uint32_t i = 0; i < c->norder; i++)
        if (c->order[i]->kind == SYM_PROVIDER && !strcmp(module_of(c->order[i]->name), mod))
            impi_reserve(im, c->order[i]->name);
    return 1;
}

const char *impc_std_provider(imp *im, rv_provkind kind, const char *endpoint, const char *region,
                              const char *key_env, const char **module)
{
    rv_compiler *c = im->catalog;
    for (uint32_t i = 0; c && i < c->norder; i++) {
        const sym *s = c->order[i];
        if (s->kind != SYM_PROVIDER)
            continue;
        const provider_info *p = &s->u.provider;
        int ep = kind == RV_PROV_BEDROCK && !endpoint ? 1 : same_url(p->endpoint, endpoint);
        if (p->kind == kind && ep && same_str(p->region, region) && same_str(p->key_env, key_env)) {
            const char *mod = module_of(s->name);
            for (size_t k = 0; k < im->nimport; k++)
                if (!strcmp(im->imports[k], mod))
                    return *module = mod, s->name;
            if (take_module(im, mod))
                return *module = mod, s->name;
        }
    }
    return NULL;
}

/* 'id' without a trailing date (-2024-08-06, -20241022) or "-latest". */
static size_t undated(const char *id)
{
    size_t n = strlen(id);
    if (n > 7 && !strcmp(id + n - 7, "-latest"))
        return n - 7;
    size_t d = 0;
    while (d < n && ((id[n - 1 - d] >= '0' && id[n - 1 - d] <= '9') || id[n - 1 - d] == '-'))
        d++;
    /* exactly -YYYYMMDD or -YYYY-MM-DD */
    if ((d == 9 || d == 11) && id[n - d] == '-') {
        const char *t = id + n - d + 1;
        if (d == 9 || (t[4] == '-' && t[7] == '-'))
            return n - d;
    }
    return n;
}

static int id_matches(const char *want, const char *have)
{
    if (!strcmp(want, have))
        return 1;
    /* cross-region inference profiles: us.anthropic..., eu.meta... */
    for (const char *pre = "us.\0eu.\0apac.\0"; *pre; pre += strlen(pre) + 1)
        if (!strncmp(want, pre, strlen(pre)) && !strcmp(want + strlen(pre), have))
            return 1;
    size_t lw = undated(want), lh = undated(have);
    return lw == lh && !memcmp(want, have, lw) && (lw < strlen(want) || lh < strlen(have));
}

static const sym *find_model(rv_compiler *c, const char *id)
{
    for (uint32_t i = 0; id && i < c->norder; i++)
        if (c->order[i]->kind == SYM_MODEL && id_matches(id, c->order[i]->u.model.id))
            return c->order[i];
    return NULL;
}

void impc_price(imp *im, imp_model *m)
{
    rv_compiler *c = im->catalog;
    if (!c)
        return;
    const sym *s = find_model(c, m->catalog_id);
    if (!s)
        s = find_model(c, m->id);
    if (!s)
        return;
    const model_info *mi = &s->u.model;
    int used = 0;
    if (m->price_in < 0 || m->price_out < 0) {
        m->price_in = mi->price_in;
        m->price_out = mi->price_out;
        used = 1;
    }
    if (!m->context)
        m->context = mi->context, used = 1;
    if (!m->output && mi->max_output)
        m->output = mi->max_output, used = 1;
    if (!m->tier)
        m->tier = mi->tier;
    if (!m->caps)
        m->caps = mi->caps;
    if (!m->latency)
        m->latency = mi->latency;
    if (used)
        m->priced_by = s->name;
}
