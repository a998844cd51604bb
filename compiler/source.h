/* Source files of one compilation: their text, display names and line
   index.  Spans point into them; diagnostics print their lines. */
#ifndef RV_SOURCE_H
#define RV_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* A source span: 1-based line and column (columns count bytes), end
   exclusive.  'file' indexes the compilation's src_set. */
typedef struct { uint32_t file, line, col, end_line, end_col; } src_span;

typedef struct {
    char *name;          /* as shown in diagnostics ("std/pii.route" for the stdlib) */
    char *path;          /* where it was read from */
    char *text;          /* NUL-terminated; may contain NUL bytes before 'len' */
    size_t len;
    uint32_t *line_start;  /* byte offset of each line */
    uint32_t nline;
} src_file;

typedef struct { src_file *files; uint32_t n, cap; } src_set;

/* Add a file from memory (text is copied).  Returns its index or -1. */
int src_add(src_set *s, const char *name, const char *path, const char *text, size_t len);
/* Pointer to line 'line' (1-based) and its length without the newline. */
const char *src_line(const src_set *s, uint32_t file, uint32_t line, size_t *len);
void src_free(src_set *s);

#endif
