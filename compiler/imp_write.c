/* imp_write: the policy an import produces, laid out in one order --
   the comment block of notes, imports, providers, models, agents -- and
   compiled in memory before it is handed back, so `routec import` never
   writes a policy that `routec check` would reject; and the
   notes as stderr shows them. */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "imp_internal.h"

/* A comment line: control characters of config values become spaces. */
static void put_comment(imp_buf *b, const char *prefix, const char *text)
{
    imp_puts(b, prefix);
    size_t start = b->len;
    imp_puts(b, text);
    for (size_t i = start; !b->oom && i < b->len; i++)
        if ((unsigned char)b->s[i] < 0x20 || b->s[i] == 0x7f)
            b->s[i] = ' ';
    imp_puts(b, "\n");
}

static void put_header(const imp *im, imp_buf *b)
{
    char line[512];
    snprintf(line, sizeof line, "Imported from %s (a %s config) by routec import.", im->label, im->format);
    put_comment(b, "# ", line);
    if (!im->nnote) {
        imp_puts(b, "# Everything in it has an equivalent here.\n\n");
        return;
    }
    imp_puts(b, "#\n# Not carried over, or carried over approximately:\n");
    for (size_t i = 0; i < im->nnote; i++)
        put_comment(b, "#   ", im->notes[i].text);
    imp_puts(b, "\n");
}

static void put_provider(imp_buf *b, const imp_provider *p)
{
    static const char *const kinds[] = {
#define X(n, s) s,
        RV_PROVKINDS(X)
#undef X
    };
    imp_putf(b, "provider %s {\n  kind     %s\n", p->name, kinds[p->kind]);
    if (p->endpoint) {
        imp_puts(b, "  endpoint ");
        imp_put_str(b, p->endpoint);
        imp_puts(b, "\n");
    }
    if (p->region) {
        imp_puts(b, "  region   ");
        imp_put_str(b, p->region);
        imp_puts(b, "\n");
    }
    if (p->key_env) {
        imp_puts(b, "  key      env(");
        imp_put_str(b, p->key_env);
        imp_puts(b, ")\n");
    }
    imp_puts(b, "}\n\n");
}

static void put_model(imp_buf *b, const imp_model *m)
{
    if (m->priced_by)
        imp_putf(b, "# what the config leaves out is as std/models lists %s\n", m->priced_by);
    imp_putf(b, "model %s from %s {\n  id      ", m->name, m->provider);
    imp_put_str(b, m->id);
    imp_puts(b, "\n  price   in ");
    imp_put_price(b, m->price_in);
    imp_puts(b, ", out ");
    imp_put_price(b, m->price_out);
    imp_putf(b, "\n  context %lld tokens\n", (long long)m->context);
    if (m->output)
        imp_putf(b, "  output  %lld tokens\n", (long long)m->output);
    if (m->tier)
        imp_putf(b, "  tier    %u\n", m->tier);
    if (m->caps) {
        imp_puts(b, "  capabilities [");
        for (int k = 0, first = 1; k < RV_CAP__COUNT; k++)
            if (m->caps >> k & 1) {
                imp_putf(b, "%s%s", first ? "" : ", ", rv_cap_names[k]);
                first = 0;
            }
        imp_puts(b, "]\n");
    }
    if (m->latency) {
        imp_puts(b, "  latency ");
        imp_put_duration(b, m->latency);
        imp_puts(b, "\n");
    }
    if (m->items.s)
        imp_puts(b, m->items.s);
    imp_puts(b, "}\n\n");
}

/* Compile 'text' as `routec check` would.  Errors are the importer's
   defect (-1); warnings (a context-window fallback to a model with no
   larger window, say) are the config's, and are shown. */
static int check_text(const imp *im, const char *text, size_t len, FILE *errs)
{
    rv_compiler *c = comp_new(NULL);
    if (!c)
        return -1;
    char name[300];
    snprintf(name, sizeof name, "<imported from %s>", im->label);
    int bad = import_text(c, name, text, len) != 0;
    if (!bad)
        comp_check(c);
    bad |= diag_failed(&c->diag);
    if (bad)
        fprintf(errs, "routec import: %s: the policy made from it does not check (please report):\n", im->label);
    if (c->diag.n) {
        diag_sort(&c->diag);
        diag_print(&c->diag, DIAG_TEXT, errs);
    }
    comp_free(c);
    return bad ? -1 : 0;
}

int imp_write(imp *im, char **out, size_t *len, FILE *errs)
{
    *out = NULL;
    *len = 0;
    if (im->failed)
        return -1;
    imp_buf b = { 0 };
    put_header(im, &b);
    for (size_t i = 0; i < im->nimport; i++)
        imp_putf(&b, "import \"%s\"\n", im->imports[i]);
    if (im->nimport)
        imp_puts(&b, "\n");
    for (size_t i = 0; i < im->nprov; i++)
        if (!im->providers[i].module)
            put_provider(&b, &im->providers[i]);
    for (size_t i = 0; i < im->nmodel; i++)
        put_model(&b, &im->models[i]);
    for (size_t i = 0; i < im->nagent; i++) {
        imp_putf(&b, "agent %s {\n", im->agents[i].name);
        if (im->agents[i].body.s)
            imp_puts(&b, im->agents[i].body.s);
        imp_puts(&b, i + 1 < im->nagent ? "}\n\n" : "}\n");
    }
    for (size_t i = 0; i < im->nmodel; i++)
        b.oom |= im->models[i].items.oom;
    for (size_t i = 0; i < im->nagent; i++)
        b.oom |= im->agents[i].body.oom;
    if (b.oom) {
        fprintf(errs, "routec import: out of memory\n");
        imp_buf_free(&b);
        return -1;
    }
    if (check_text(im, b.s, b.len, errs)) {
        imp_buf_free(&b);
        return -1;
    }
    *out = b.s;
    *len = b.len;
    return 0;
}

static void print_msg(const imp *im, const imp_msg *m, const char *sev, FILE *f)
{
    fputs(im->label, f);
    if (m->line)
        fprintf(f, m->col ? ":%u:%u" : ":%u", m->line, m->col);
    fprintf(f, ": %s: ", sev);
    for (const char *p = m->text ? m->text : "out of memory"; *p; p++)
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
    fputc('\n', f);
}

void imp_print_notes(const imp *im, FILE *f)
{
    for (size_t i = 0; i < im->nnote; i++)
        print_msg(im, &im->notes[i], im->notes[i].warning ? "warning" : "note", f);
    if (im->failed)
        print_msg(im, &im->error, "error", f);
}
