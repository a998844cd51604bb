/* The compilation's source files; see source.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rbc.h"
#include "source.h"

/* A checksum that tells a file's bytes from other bytes of the same
   length (not against an adversary: the file is the user's own). */
static uint64_t text_sum(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* A copy of text[0..len) followed by two NULs (see source.h). */
static char *copy_text(const char *text, size_t len)
{
    char *t = len < SIZE_MAX - 2 ? mem_malloc(len + 2) : NULL;
    if (t) {
        memcpy(t, text, len);
        t[len] = t[len + 1] = 0;
    }
    return t;
}

int src_add(src_set *s, const char *name, const char *path, const char *text, size_t len)
{
    size_t cap = s->cap;
    if (MEM_GROW(s->files, s->n, cap))
        return -1;
    s->cap = (uint32_t)cap;
    src_file *f = &s->files[s->n];
    memset(f, 0, sizeof *f);
    f->name = mem_strndup(name, strlen(name));
    f->path = mem_strndup(path, strlen(path));
    f->text = copy_text(text, len);   /* the scanner works in it in place (parse.h) */
    f->len = len;
    f->sum = text_sum(text, len);
    uint32_t nl = 1;
    for (const char *q = text, *e = text + len; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        nl++;
    f->line_start = mem_calloc(nl + 1, sizeof *f->line_start);
    if (!f->name || !f->path || !f->text || !f->line_start || len > UINT32_MAX - 1) {
        free(f->name); free(f->path); free(f->text); free(f->line_start);
        return -1;
    }
    f->nline = 0;
    f->line_start[f->nline++] = 0;
    for (const char *q = text, *e = text + len; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        f->line_start[f->nline++] = (uint32_t)(q - text + 1);
    return (int)s->n++;
}

int src_release(src_set *s, uint32_t file, const char *path)
{
    if (file >= s->n || !s->files[file].text)
        return 0;
    src_file *f = &s->files[file];
    char *p = mem_strndup(path, strlen(path));
    if (!p)
        return -1;
    free(f->reload);
    f->reload = p;
    free(f->text);
    f->text = NULL;
    return 0;
}

const char *src_text(src_set *s, uint32_t file)
{
    if (file >= s->n)
        return NULL;
    src_file *f = &s->files[file];
    if (f->text || f->changed || !f->reload)
        return f->text;
    rbc_file m;
    rv_err err;
    /* (a file grown past its old length fails to map: changed) */
    if (rbc_map_file(f->reload, f->len + 1, &m, &err)) {
        f->changed = 1;
        return NULL;
    }
    if (m.len == f->len && text_sum((const char *)m.buf, m.len) == f->sum)
        f->text = copy_text((const char *)m.buf, m.len);
    rbc_unmap_file(&m);
    f->changed = !f->text;
    return f->text;
}

const char *src_line(src_set *s, uint32_t file, uint32_t line, size_t *len)
{
    *len = 0;
    if (file >= s->n || line == 0 || line > s->files[file].nline)
        return "";
    const src_file *f = &s->files[file];
    const char *text = src_text(s, file);
    if (!text)
        return NULL;
    size_t b = f->line_start[line - 1], e;
    const char *nl = memchr(text + b, '\n', f->len - b);
    e = nl ? (size_t)(nl - text) : f->len;
    if (e > b && text[e - 1] == '\r')
        e--;
    *len = e - b;
    return text + b;
}

void src_free(src_set *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->files[i].name);
        free(s->files[i].path);
        free(s->files[i].text);
        free(s->files[i].reload);
        free(s->files[i].line_start);
    }
    free(s->files);
    memset(s, 0, sizeof *s);
}
