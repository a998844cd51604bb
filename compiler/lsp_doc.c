/* The documents an editor has open: each one's URI, current text and
   version, and the compiler's check of that text, kept until the next
   change so that definition, hover and completion answer from it.  A
   document is checked as the file its URI names would be -- imports
   relative to its directory, -I directories, the standard library --
   but with the editor's unsaved text in place of what is on disk. */
#include <stdlib.h>
#include <string.h>

#include "lsp_int.h"
#include "mem.h"

lspd_doc *lspd_find(lspd_store *st, const char *uri)
{
    for (unsigned i = 0; i < st->n; i++)
        if (!strcmp(st->v[i]->uri, uri))
            return st->v[i];
    return NULL;
}

static void doc_free(lspd_doc *d)
{
    if (!d)
        return;
    comp_free(d->c);
    free(d->uri);
    free(d->path);
    free(d->text);
    free(d);
}

static char *copy(const char *s, size_t n)
{
    return mem_strndup(s, n);
}

lspd_doc *lspd_open(lspd_store *st, const char *uri, const char *text, size_t len, json_int_t version)
{
    lspd_doc *d = lspd_find(st, uri);
    if (d) {
        char *t = copy(text, len);
        if (!t)
            return NULL;
        free(d->text);
        d->text = t;
        d->len = len;
        d->version = version;
        return d;
    }
    if (st->n == LSPD_MAX_DOCS)
        return NULL;
    d = mem_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->uri = copy(uri, strlen(uri));
    d->text = copy(text, len);
    d->path = lspu_to_path(uri);   /* (NULL for other schemes) */
    if (!d->uri || !d->text) {
        doc_free(d);
        return NULL;
    }
    d->len = len;
    d->version = version;
    st->v[st->n++] = d;
    return d;
}

int lspd_splice(lspd_doc *d, size_t from, size_t to, const char *text, size_t len)
{
    if (from > to || to > d->len)
        return -1;
    size_t n = d->len - (to - from) + len;
    char *t = mem_malloc(n + 1);
    if (!t)
        return -1;
    memcpy(t, d->text, from);
    memcpy(t + from, text, len);
    memcpy(t + from + len, d->text + to, d->len - to);
    t[n] = 0;
    free(d->text);
    d->text = t;
    d->len = n;
    return 0;
}

void lspd_close(lspd_store *st, const char *uri)
{
    for (unsigned i = 0; i < st->n; i++)
        if (!strcmp(st->v[i]->uri, uri)) {
            doc_free(st->v[i]);
            st->v[i] = st->v[--st->n];
            return;
        }
}

void lspd_free_all(lspd_store *st)
{
    for (unsigned i = 0; i < st->n; i++)
        doc_free(st->v[i]);
    st->n = 0;
}

int lspd_check(lspd_store *st, lspd_doc *d)
{
    comp_free(d->c);
    d->c = comp_new(NULL);
    rv_compiler *c = d->c;
    if (!c)
        return -1;
    c->incdirs = mem_calloc(st->nincdir + 1, sizeof *c->incdirs);   /* (comp_free() frees it) */
    if (!c->incdirs) {
        comp_free(c);
        d->c = NULL;
        return -1;
    }
    if (st->nincdir)
        memcpy(c->incdirs, st->incdirs, st->nincdir * sizeof *c->incdirs);
    c->nincdir = st->nincdir;
    c->std_only = st->std_only;
    d->file = c->src.n;
    import_buffer(c, d->path ? d->path : d->uri, d->path, d->text, d->len);
    comp_check(c);
    diag_sort(&c->diag);
    return 0;
}
