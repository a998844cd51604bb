/* Go to definition, hover, completion, references and the outline
   (document symbols), answered from a document's last check.  The
   language has one namespace for providers, models, guardrails, agents
   and constants (resolve.c), with no scopes, so the name under the
   cursor -- letters, digits, '_' and the dots of a constant such as
   std.pii.ssn, outside comments and strings -- names the same declaration
   wherever it stands, in this file or in one it imports.  (Most words
   with a meaning of their own -- request and model fields such as
   'context' or 'tier' -- cannot be declared; an item name that can, such
   as 'id', leads to a declaration of that name when there is one.)
   Hover shows the declaration's first line and what the checker learned
   about it: a model's provider, id, prices, context, output and tier; an
   agent's guardrails, budgets, fallbacks and worst-case cost; a
   guardrail's actions and limits; a constant's value; a provider's kind
   and endpoint. */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "lsp_int.h"
#include "parse.h"

#define DECL_LINE_MAX 160   /* bytes of a declaration's first line shown */

static int is_word(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '.';
}

/* Whether byte 'at' of the line is inside a string or a comment: scan
   from the line's start ("..." with backslash escapes; '#' to the end). */
static int in_text(const char *s, size_t at)
{
    int str = 0;
    for (size_t i = 0; i < at; i++) {
        if (str && s[i] == '\\' && i + 1 < at)
            i++;
        else if (s[i] == '"')
            str = !str;
        else if (!str && s[i] == '#')
            return 1;
    }
    return str;
}

/* The name at byte 'at' of line 's' (or ending there), into 'out'
   (NUL-terminated).  0 when there is none. */
static int word_at(const char *s, size_t n, size_t at, char *out, size_t outlen)
{
    if (at > n || in_text(s, at))
        return 0;
    size_t b = at, e = at;
    while (b > 0 && is_word((unsigned char)s[b - 1]))
        b--;
    while (e < n && is_word((unsigned char)s[e]))
        e++;
    while (b < e && s[b] == '.')
        b++;
    while (e > b && s[e - 1] == '.')
        e--;
    if (b == e || e - b >= outlen || (s[b] >= '0' && s[b] <= '9'))
        return 0;
    memcpy(out, s + b, e - b);
    out[e - b] = 0;
    return 1;
}

/* The declaration named at (line, character) of the document, or NULL. */
static sym *sym_at(lspd_doc *d, uint32_t line, uint32_t character)
{
    size_t start, n;
    char name[512];
    if (!d->c || lspp_line(d->text, d->len, line, &start, &n))
        return NULL;
    size_t at = lspp_bytes(d->text + start, n, character);
    if (!word_at(d->text + start, n, at, name, sizeof name))
        return NULL;
    return res_lookup(d->c, name);
}

json_t *lspn_definition(lspd_doc *d, uint32_t line, uint32_t character)
{
    sym *s = sym_at(d, line, character);
    if (!s)
        return json_null();
    return lspg_location(d, s->decl->u.decl->name_at);
}

/* ---------------------------------------------------------------- hover */

/* A comma-separated list of the names in an E_NAME list. */
static void names(FILE *m, const ast *list)
{
    for (const ast *e = list; e; e = e->next)
        fprintf(m, "%s%s", e == list ? "" : ", ", e->kind == E_NAME || e->kind == T_REF ? e->u.name : "?");
}

static void hover_model(FILE *m, rv_compiler *c, const sym *s)
{
    const model_info *mi = &s->u.model;
    char a[FMT_BUF], b[FMT_BUF];
    const ast *from = s->decl->u.decl->from;
    if (from && from->kind == E_NAME) {
        const sym *p = res_lookup(c, from->u.name);
        fprintf(m, "- provider: `%s`", from->u.name);
        if (p && p->kind == SYM_PROVIDER)
            fprintf(m, " (%s)", rv_provkind_names[p->u.provider.kind]);
        fputs("\n", m);
    }
    if (mi->id)
        fprintf(m, "- id: `%s`\n", mi->id);
    if (mi->priced) {
        fmt_rate(a, sizeof a, mi->price_in);
        fmt_rate(b, sizeof b, mi->price_out);
        fprintf(m, "- price: in %s, out %s", a, b);
        if (mi->price_cached >= 0 && fmt_rate(a, sizeof a, mi->price_cached))
            fprintf(m, ", cached %s", a);
        fputs("\n", m);
    }
    if (mi->context && fmt_tokens(a, sizeof a, mi->context))
        fprintf(m, "- context: %s\n", a);
    if (mi->max_output && fmt_tokens(a, sizeof a, mi->max_output))
        fprintf(m, "- output: at most %s\n", a);
    if (mi->tier)
        fprintf(m, "- tier: %u\n", mi->tier);
    if (mi->latency && fmt_duration(a, sizeof a, mi->latency))
        fprintf(m, "- latency: %s\n", a);
    if (mi->caps) {
        fputs("- capabilities:", m);
        for (int k = 0; k < RV_CAP__COUNT; k++)
            if (mi->caps & (1u << k))
                fprintf(m, " %s", rv_cap_names[k]);
        fputs("\n", m);
    }
}

static void hover_agent(FILE *m, rv_compiler *c, const sym *s)
{
    const agent_info *ai = &s->u.agent;
    char a[FMT_BUF];
    if (ai->guards) {
        fputs("- guardrails: ", m);
        names(m, ai->guards);
        fputs("\n", m);
    }
    if (ai->budget_request && fmt_money(a, sizeof a, ai->budget_request))
        fprintf(m, "- budget: %s per request\n", a);
    if (ai->budget_day && fmt_money(a, sizeof a, ai->budget_day))
        fprintf(m, "- budget: %s per day\n", a);
    if (ai->nrules)
        fprintf(m, "- rules: %u\n", ai->nrules);
    if (ai->fallback) {
        fputs("- fallback: ", m);
        names(m, ai->fallback);
        fputs("\n", m);
    }
    /* the worst case is computed only for a policy without errors */
    if (c->diag.nerr == 0 && ai->worst < 0)
        fputs("- worst-case cost of a request: unbounded\n", m);
    else if (c->diag.nerr == 0 && ai->worst > 0 && fmt_money(a, sizeof a, ai->worst))
        fprintf(m, "- worst-case cost of a request: %s%s%s\n", a, ai->worst_why ? ", through " : "",
                ai->worst_why ? ai->worst_why : "");
}

static void hover_guardrail(FILE *m, const sym *s)
{
    unsigned n[RV_GA__COUNT] = { 0 };
    char a[FMT_BUF];
    for (const ast *g = s->decl->u.decl->items; g; g = g->next)
        if (g->kind == N_GACTION && g->u.ga.kind < RV_GA__COUNT)
            n[g->u.ga.kind]++;
    fprintf(m, "- actions: %u deny, %u redact\n", n[RV_GA_DENY], n[RV_GA_REDACT]);
    if (s->u.guard.in_limit && fmt_tokens(a, sizeof a, s->u.guard.in_limit))
        fprintf(m, "- input limit: %s\n", a);
    if (s->u.guard.out_limit && fmt_tokens(a, sizeof a, s->u.guard.out_limit))
        fprintf(m, "- output limit: %s\n", a);
}

static void hover_const(FILE *m, const sym *s)
{
    const ast *v = s->value;
    char a[FMT_BUF];
    if (s->state == 4) {
        fputs("- depends on the request\n", m);
        return;
    }
    if (s->state != 2 || !v)
        return;
    switch (v->kind) {
    case E_STR: fprintf(m, "- value: `\"%.*s\"`\n", (int)(v->u.str.len > 200 ? 200 : v->u.str.len), v->u.str.s); break;
    case E_REGEX: fprintf(m, "- value: a regex\n"); break;
    case E_LIST: fprintf(m, "- value: a list of %u\n", ast_count(v->u.items)); break;
    case E_BOOL: fprintf(m, "- value: %s\n", v->u.i ? "true" : "false"); break;
    default:
        if (fmt_value(a, sizeof a, v->type, v->u.i) && strcmp(a, "?"))
            fprintf(m, "- value: %s\n", a);
    }
}

static void hover_provider(FILE *m, const sym *s)
{
    const provider_info *p = &s->u.provider;
    fprintf(m, "- kind: %s\n", rv_provkind_names[p->kind]);
    if (p->endpoint)
        fprintf(m, "- endpoint: `%s`\n", p->endpoint);
    if (p->region)
        fprintf(m, "- region: `%s`\n", p->region);
    if (p->key_env)
        fprintf(m, "- key from: `$%s`\n", p->key_env);
}

/* The declaration's first line, at most DECL_LINE_MAX bytes (cut at a
   character's start). */
static void decl_line(FILE *m, rv_compiler *c, const ast *decl)
{
    size_t n = 0;
    const char *s = src_line(&c->src, decl->at.file, decl->at.line, &n);
    if (!s)
        return;
    if (n > DECL_LINE_MAX) {
        n = DECL_LINE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    fprintf(m, "```route\n%.*s\n```\n", (int)n, s);
}

json_t *lspn_hover(lspd_doc *d, uint32_t line, uint32_t character)
{
    sym *s = sym_at(d, line, character);
    if (!s)
        return json_null();
    rv_compiler *c = d->c;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return NULL;
    decl_line(m, c, s->decl);
    fprintf(m, "%s `%s`\n\n", sym_kind_names[s->kind], s->name);
    switch (s->kind) {
    case SYM_MODEL: hover_model(m, c, s); break;
    case SYM_AGENT: hover_agent(m, c, s); break;
    case SYM_GUARDRAIL: hover_guardrail(m, s); break;
    case SYM_CONST: hover_const(m, s); break;
    case SYM_PROVIDER: hover_provider(m, s); break;
    default: break;
    }
    const src_span *at = &s->decl->u.decl->name_at;
    if (at->file < c->src.n)
        fprintf(m, "\ndeclared in %s:%u\n", c->src.files[at->file].name, at->line);
    if (fclose(m))
        return NULL;
    json_t *j = json_pack("{s:{s:s,s:s%}}", "contents", "kind", "markdown", "value", text, len);
    free(text);
    return j ? j : json_null();   /* (text that is not UTF-8: no hover) */
}

/* ---------------------------------------------------------------- completion */

/* CompletionItemKind values of the protocol */
static const int item_kind[SYM__COUNT] = {
    [SYM_PROVIDER] = 9 /* Module */, [SYM_MODEL] = 7 /* Class */, [SYM_GUARDRAIL] = 8 /* Interface */,
    [SYM_AGENT] = 3 /* Function */, [SYM_CONST] = 21 /* Constant */,
};

static json_t *sym_item(const sym *s)
{
    char detail[128];
    const ast *from = s->kind == SYM_MODEL ? s->decl->u.decl->from : NULL;
    if (from && from->kind == E_NAME && s->u.model.tier)
        snprintf(detail, sizeof detail, "model from %s, tier %u", from->u.name, s->u.model.tier);
    else if (from && from->kind == E_NAME)
        snprintf(detail, sizeof detail, "model from %s", from->u.name);
    else
        snprintf(detail, sizeof detail, "%s", sym_kind_names[s->kind]);
    return json_pack("{s:s,s:I,s:s}", "label", s->name, "kind", (json_int_t)item_kind[s->kind], "detail", detail);
}

/* The range of the name being typed before the cursor, dots included
   ("std.pii.s"): each item replaces it whole, so that a client which
   splits words at '.' does not insert "std.pii." twice. */
static json_t *typed_range(lspd_doc *d, uint32_t line, uint32_t character)
{
    size_t start, n;
    if (lspp_line(d->text, d->len, line, &start, &n))
        return NULL;
    const char *s = d->text + start;
    size_t at = lspp_bytes(s, n, character), b = at;
    while (b > 0 && is_word((unsigned char)s[b - 1]))
        b--;
    uint32_t end = lspp_units(s, at);
    return json_pack("{s:o,s:o}", "start", lspp_position(line, lspp_units(s, b)), "end", lspp_position(line, end));
}

static void add_item(json_t *items, json_t *item, const json_t *range)
{
    if (item && range)
        json_object_set_new(item, "textEdit", json_pack("{s:O,s:O}", "range", range, "newText",
                                                        json_object_get(item, "label")));
    json_array_append_new(items, item);
}

json_t *lspn_completion(lspd_doc *d, uint32_t line, uint32_t character)
{
    json_t *items = json_array(), *range = typed_range(d, line, character);
    if (d->c)
        for (uint32_t i = 0; i < d->c->norder; i++)
            add_item(items, sym_item(d->c->order[i]), range);
    const char *kw;
    for (unsigned i = 0; (kw = parse_keyword(i)); i++)
        add_item(items, json_pack("{s:s,s:I,s:s}", "label", kw, "kind", (json_int_t)14, "detail", "keyword"), range);
    json_decref(range);
    return items;
}

/* ---------------------------------------------------------------- outline */

/* SymbolKind values of the protocol */
static const int symbol_kind[SYM__COUNT] = {
    [SYM_PROVIDER] = 2 /* Module */, [SYM_MODEL] = 5 /* Class */, [SYM_GUARDRAIL] = 11 /* Interface */,
    [SYM_AGENT] = 12 /* Function */, [SYM_CONST] = 14 /* Constant */,
};

json_t *lspn_symbols(lspd_doc *d)
{
    json_t *list = json_array();
    for (uint32_t i = 0; d->c && i < d->c->norder; i++) {
        const sym *s = d->c->order[i];
        const ast *decl = s->decl;
        if (decl->at.file != d->file)
            continue;   /* declared in an import */
        json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:o,s:o}", "name", s->name, "detail",
                                              sym_kind_names[s->kind], "kind", (json_int_t)symbol_kind[s->kind],
                                              "range", lspp_range(d->c, decl->at), "selectionRange",
                                              lspp_range(d->c, decl->u.decl->name_at)));
    }
    return list;
}

/* ---------------------------------------------------------------- references */

/* Every place in 'file' where 'name' stands as a whole word outside
   comments and strings, appended to 'list' (one pass per line). */
static void refs_in_file(lspd_doc *d, uint32_t file, const char *name, const src_span *skip, json_t *list)
{
    rv_compiler *c = d->c;
    size_t want = strlen(name);
    for (uint32_t ln = 1; ln <= c->src.files[file].nline; ln++) {
        size_t n;
        const char *s = src_line(&c->src, file, ln, &n);
        int str = 0;
        for (size_t i = 0; s && i < n; i++) {
            if (str && s[i] == '\\') {
                i++;
            } else if (s[i] == '"') {
                str = !str;
            } else if (!str && s[i] == '#') {
                break;
            } else if (!str && is_word((unsigned char)s[i])) {
                size_t e = i;
                while (e < n && is_word((unsigned char)s[e]))
                    e++;
                src_span at = { file, ln, (uint32_t)i + 1, ln, (uint32_t)e + 1 };
                int is_skip = skip && skip->file == file && skip->line == ln && skip->col == at.col;
                if (e - i == want && !memcmp(s + i, name, want) && !is_skip)
                    json_array_append_new(list, lspg_location(d, at));
                i = e - 1;
            }
        }
    }
}

json_t *lspn_references(lspd_doc *d, uint32_t line, uint32_t character, int with_decl)
{
    sym *s = sym_at(d, line, character);
    json_t *list = json_array();
    if (!s)
        return list;
    const src_span *decl = &s->decl->u.decl->name_at;
    for (uint32_t f = 0; f < d->c->src.n; f++)
        refs_in_file(d, f, s->name, with_decl ? NULL : decl, list);
    return list;
}
