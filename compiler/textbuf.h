/* A growable text buffer for the compiler's writers (routec fmt's layout,
   the importers' policies).  An append that cannot allocate sets 'oom'
   and every later append does nothing, so a writer checks once at the
   end.  Once anything was appended the text is NUL-terminated.

   Ownership: 's' belongs to the buffer (tb_free), or to whoever takes it
   (then zero the buffer). */
#ifndef RV_TEXTBUF_H
#define RV_TEXTBUF_H

#include <stddef.h>

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} tb_buf;

/* Room for 'more' bytes and a NUL after the text.  0, or -1 when out of
   memory (now or before). */
int tb_reserve(tb_buf *b, size_t more);
/* Append s[0, n). */
void tb_put(tb_buf *b, const char *s, size_t n);
/* Free the text and zero the buffer. */
void tb_free(tb_buf *b);

#endif
