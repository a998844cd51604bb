/* The OpenAI-compatible body of a parsed request; see forward.h.

   A list of edits -- replace the bytes [off, off + len) of the body with
   these -- sorted by offset and applied in one pass.  Insertions are
   edits of length 0: a missing "model" goes right after the root's '{',
   a missing stream_options or output limit right before its '}'. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "jsonw.h"
#include "mem.h"

typedef struct {
    uint32_t off, len;      /* the bytes replaced */
    char *with;             /* owned */
    size_t n;
} edit;

typedef struct {
    edit *v;
    size_t n, cap;
    const char *err;
} edits;

static int add(edits *es, uint32_t off, uint32_t len, char *with, size_t n)
{
    if (!with) {
        if (!es->err)
            es->err = "out of memory";
        return -1;
    }
    if (MEM_GROW(es->v, es->n, es->cap)) {
        free(with);
        es->err = "out of memory";
        return -1;
    }
    es->v[es->n++] = (edit){ off, len, with, n };
    return 0;
}

static char *dup_text(const char *s, size_t *n)
{
    char *d = mem_malloc(*n + 1);
    if (d)
        memcpy(d, s, *n + 1);
    return d;
}

/* 'prefix', s[0..n) as a JSON string (escaped by the one JSON writer,
   vm/jsonw.h), 'suffix'; a buffer to free(). */
static char *json_str(edits *es, const char *prefix, const char *s, size_t n, const char *suffix, size_t *out)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    jw_writer w;
    fputs(prefix, f);
    jw_init(&w, f, 0);
    jw_string(&w, s, n);
    fputs(suffix, f);
    int bad = w.err || ferror(f);
    if (fclose(f) || bad) {
        free(buf);
        return NULL;
    }
    *out = size;
    return buf;
}

static int by_offset(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return (x->len > y->len) - (x->len < y->len);  /* insertions before a replacement at the same place */
}

/* The offset just past the root's '{'. */
static uint32_t root_open(const rv_request *r)
{
    uint32_t i = 0;
    while (i < r->body_len && r->body[i] != '{')
        i++;
    return i + 1;
}

static void texts(const rv_request *r, const fw_edits *e, edits *es)
{
    for (uint32_t i = 0; e->texts && i < r->nslot && !es->err; i++) {
        const rv_sv *t = &e->texts[i], *o = &r->slot_texts[i];
        if (t->s == o->s && t->len == o->len)
            continue;
        size_t n;
        char *w = json_str(es, "", t->s, t->len, "", &n);
        add(es, r->slots[i].raw.off, r->slots[i].raw.len, w, n);
    }
}

static void model(const rv_request *r, const fw_edits *e, edits *es)
{
    if (!e->model)
        return;
    size_t n;
    if (r->model_span.len) {
        char *w = json_str(es, "", e->model, e->model_len, "", &n);
        add(es, r->model_span.off, r->model_span.len, w, n);
    } else {
        char *w = json_str(es, "\"model\":", e->model, e->model_len, ",", &n);
        add(es, root_open(r), 0, w, n);
    }
}

static void usage(const rv_request *r, const fw_edits *e, edits *es)
{
    const rv_reqparams *p = &r->params;
    if (!e->include_usage || !r->stream || (p->include_usage.len && p->include_usage_v))
        return;
    size_t n;
    if (p->include_usage.len) {             /* "include_usage": false */
        n = 4;
        add(es, p->include_usage.off, p->include_usage.len, dup_text("true", &n), n);
    } else if (p->stream_options.len && r->body[p->stream_options.off] == 'n') {    /* null */
        static const char w[] = "{\"include_usage\":true}";
        n = sizeof w - 1;
        add(es, p->stream_options.off, p->stream_options.len, dup_text(w, &n), n);
    } else if (p->stream_options.len) {     /* an object without it */
        uint32_t at = p->stream_options.off + 1, k = at;
        while (k < r->body_len && strchr(" \t\r\n", r->body[k]))
            k++;
        const char *w = r->body[k] == '}' ? "\"include_usage\":true" : "\"include_usage\":true,";
        n = strlen(w);
        add(es, at, 0, dup_text(w, &n), n);
    } else {
        static const char w[] = ",\"stream_options\":{\"include_usage\":true}";
        n = sizeof w - 1;
        add(es, r->root_end, 0, dup_text(w, &n), n);
    }
}

static void max_tokens(const rv_request *r, const fw_edits *e, edits *es)
{
    if (e->max_tokens <= 0)
        return;
    char buf[64];
    const rv_reqparams *p = &r->params;
    size_t n;
    if (p->max_tokens.len) {
        n = (size_t)snprintf(buf, sizeof buf, "%" PRId64, e->max_tokens);
        add(es, p->max_tokens.off, p->max_tokens.len, dup_text(buf, &n), n);
    } else {
        n = (size_t)snprintf(buf, sizeof buf, ",\"max_tokens\":%" PRId64, e->max_tokens);
        add(es, r->root_end, 0, dup_text(buf, &n), n);
    }
}

char *fw_openai_body(const rv_request *r, const fw_edits *e, size_t *len, const char **err)
{
    edits es = { 0 };
    model(r, e, &es);
    texts(r, e, &es);
    usage(r, e, &es);
    max_tokens(r, e, &es);
    char *out = NULL;
    if (!es.err) {
        if (es.n)
            qsort(es.v, es.n, sizeof *es.v, by_offset);
        size_t total = r->body_len;
        for (size_t i = 0; i < es.n; i++)
            total += es.v[i].n - es.v[i].len;
        out = mem_malloc(total + 1);
        if (out) {
            size_t w = 0, at = 0;
            for (size_t i = 0; i < es.n; i++) {
                memcpy(out + w, r->body + at, es.v[i].off - at);
                w += es.v[i].off - at;
                memcpy(out + w, es.v[i].with, es.v[i].n);
                w += es.v[i].n;
                at = es.v[i].off + es.v[i].len;
            }
            memcpy(out + w, r->body + at, r->body_len - at);
            w += r->body_len - at;
            out[w] = 0;
            *len = w;
        } else {
            es.err = "out of memory";
        }
    }
    for (size_t i = 0; i < es.n; i++)
        free(es.v[i].with);
    free(es.v);
    if (err)
        *err = es.err;
    return out;
}
