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
    if (len > LSPD_MAX_TEXT || st->bytes - (d ? d->len : 0) + len > LSPD_MAX_TOTAL)
        return NULL;
    if (d) {
        char *t = copy(text, len);
        if (!t)
            return NULL;
        free(d->text);
        st->bytes = st->bytes - d->len + len;
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
    st->bytes += len;
    return d;
}

/* 't' (of 'len' bytes) with one change applied: a new text (the caller
   frees it) of '*outlen' bytes, or NULL when the change is malformed or
   out of range, the text would pass LSPD_MAX_TEXT, or out of memory. */
static char *apply(const char *t, size_t len, json_t *ch, size_t *outlen)
{
    json_t *text = json_object_get(ch, "text"), *range = json_object_get(ch, "range");
    const char *rep = json_string_value(text);
    size_t replen = json_string_length(text), from = 0, to = len;
    if (!rep)
        return NULL;
    if (range) {
        uint32_t l0, c0, l1, c1;
        size_t s0, n0, s1, n1;
        if (lspp_read(json_object_get(range, "start"), &l0, &c0) || lspp_read(json_object_get(range, "end"), &l1, &c1) ||
            lspp_line(t, len, l0, &s0, &n0) || lspp_line(t, len, l1, &s1, &n1))
            return NULL;
        from = s0 + lspp_bytes(t + s0, n0, c0);
        to = s1 + lspp_bytes(t + s1, n1, c1);
        if (from > to)
            return NULL;
    }
    size_t n = len - (to - from) + replen;
    char *o = n <= LSPD_MAX_TEXT ? mem_malloc(n + 1) : NULL;
    if (!o)
        return NULL;
    memcpy(o, t, from);
    memcpy(o + from, rep, replen);
    memcpy(o + from + replen, t + to, len - to);
    o[n] = 0;
    *outlen = n;
    return o;
}

int lspd_change(lspd_store *st, lspd_doc *d, json_t *changes)
{
    /* the work, bounded before any is done: no text in between is longer
       than the first plus everything the changes insert, and each change
       copies one such text once (and scans it for its lines) */
    size_t n = json_array_size(changes), grow = 0, i;
    json_t *ch;
    json_array_foreach(changes, i, ch)
        grow += json_string_length(json_object_get(ch, "text"));   /* (at most the message's length) */
    if (n && d->len + grow > LSPD_MAX_WORK / n)
        return -1;
    char *t = d->text;
    size_t len = d->len;
    json_array_foreach(changes, i, ch) {
        size_t nl;
        char *nt = apply(t, len, ch, &nl);
        if (t != d->text)
            free(t);
        if (!nt)
            return -1;
        t = nt;
        len = nl;
    }
    if (st->bytes - d->len + len > LSPD_MAX_TOTAL) {
        if (t != d->text)
            free(t);
        return -1;
    }
    if (t != d->text) {
        free(d->text);
        d->text = t;
    }
    st->bytes = st->bytes - d->len + len;
    d->len = len;
    return 0;
}

void lspd_close(lspd_store *st, const char *uri)
{
    for (unsigned i = 0; i < st->n; i++)
        if (!strcmp(st->v[i]->uri, uri)) {
            st->bytes -= st->v[i]->len;
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
    st->bytes = 0;
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
