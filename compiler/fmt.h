/* routec fmt: the one layout of a .route source.

   The formatter changes only the white space between tokens: it keeps
   every token (a token count's inner spaces aside) and every comment, in
   their order, so the formatted text compiles to the same program; it
   checks this itself by reading its output again (fmt_source() fails
   rather than return a text that reads differently).  The layout, in
   docs/fmt.md: two spaces per block, one item, rule or declaration a
   line, values, rule arrows, reasons and trailing comments aligned in
   runs of one-line neighbours, at most one blank line in a row, and the
   line breaks an author made inside an item kept, indented four spaces. */
#ifndef RV_FMT_H
#define RV_FMT_H

#include <stddef.h>
#include <stdio.h>

/* Format 'len' bytes of 'text', the file shown as 'name' in diagnostics.
   'text' is borrowed.  Returns
     0  *out is the formatted text, malloc'd and NUL-terminated, *outlen
        bytes long; the caller frees it;
     1  the text has syntax (or encoding) errors: the checker's
        diagnostics were printed to 'errs'; nothing is allocated;
    -1  out of memory, or the formatted text would read differently (a
        defect of the formatter): a message is in 'err'; nothing is
        allocated. */
int fmt_source(const char *name, const char *text, size_t len, FILE *errs,
               char **out, size_t *outlen, char *err, size_t errlen);

#endif
