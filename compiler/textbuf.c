/* The compiler's growable text buffer; see textbuf.h. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "textbuf.h"

int tb_reserve(tb_buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = mem_realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void tb_put(tb_buf *b, const char *s, size_t n)
{
    if (tb_reserve(b, n))
        return;
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void tb_free(tb_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
