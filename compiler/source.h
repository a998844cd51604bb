/* Source files of one compilation: their text, display names and line
   index.  Spans point into them; diagnostics print their lines.

   The text of a file read from disk can be released while the compiler
   works on the tree (a 1M-line policy is 28 MB of text that nothing reads
   between parsing and printing diagnostics): src_line() and src_text()
   read it again when asked, and accept it only if it is the same bytes
   (length and checksum); a file that changed meanwhile has no text. */
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
    char *text;          /* followed by two NULs; may contain NUL bytes before
                            'len'; NULL while released (src_release()) */
    size_t len;
    uint64_t sum;        /* of the text: to know it again */
    char *reload;        /* released: the file to read it again from */
    int changed;         /* read again, it was other bytes (or could not be read) */
    uint32_t *line_start;  /* byte offset of each line */
    uint32_t nline;
} src_file;

typedef struct { src_file *files; uint32_t n, cap; } src_set;

/* Add a file from memory (text is copied).  Returns its index or -1. */
int src_add(src_set *s, const char *name, const char *path, const char *text, size_t len);
/* Pointer to line 'line' (1-based) and its length without the newline;
   "" for a line that does not exist, NULL when the file's text is gone
   (changed on disk since it was released). */
const char *src_line(src_set *s, uint32_t file, uint32_t line, size_t *len);
/* Free the text of 'file' until it is asked for again, when it is read
   from 'path' (a regular file: the one it was read from).  0, or -1 when
   out of memory (the text is then kept). */
int src_release(src_set *s, uint32_t file, const char *path);
/* The text of 'file' (read again if released), or NULL when it is gone. */
const char *src_text(src_set *s, uint32_t file);
void src_free(src_set *s);

#endif
