/* The compilation's source files; see source.h. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "source.h"

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
    f->text = mem_strndup(text, len);
    f->len = len;
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

const char *src_line(const src_set *s, uint32_t file, uint32_t line, size_t *len)
{
    *len = 0;
    if (file >= s->n || line == 0 || line > s->files[file].nline)
        return "";
    const src_file *f = &s->files[file];
    size_t b = f->line_start[line - 1], e;
    const char *nl = memchr(f->text + b, '\n', f->len - b);
    e = nl ? (size_t)(nl - f->text) : f->len;
    if (e > b && f->text[e - 1] == '\r')
        e--;
    *len = e - b;
    return f->text + b;
}

void src_free(src_set *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->files[i].name);
        free(s->files[i].path);
        free(s->files[i].text);
        free(s->files[i].line_start);
    }
    free(s->files);
    memset(s, 0, sizeof *s);
}
