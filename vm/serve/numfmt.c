/* Numbers as text; see numfmt.h. */
#include <string.h>

#include "numfmt.h"

size_t nf_u64(char *buf, uint64_t v)
{
    char t[24];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = t[n - 1 - i];
    buf[n] = 0;
    return n;
}

/* The digits' count from the highest bit set, then the digits from the
   last (a chunk's size line is written for every event of a stream). */
size_t nf_hex(char *buf, uint64_t v, unsigned width)
{
    static const char dig[] = "0123456789abcdef";
    size_t n = v ? (size_t)(67 - __builtin_clzll(v)) / 4 : 1;
    size_t w = width < 20 ? width : 20;
    if (n < w)
        n = w;
    for (size_t i = n; i-- > 0; v >>= 4)
        buf[i] = dig[v & 15];
    buf[n] = 0;
    return n;
}

size_t nf_dollars(char *buf, int64_t pd)
{
    if (pd < 0)
        pd = 0;
    size_t n = nf_u64(buf, (uint64_t)(pd / 1000000000000ll));
    buf[n++] = '.';
    int64_t frac = pd % 1000000000000ll;
    char f[13];
    for (int i = 11; i >= 0; i--) {
        f[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    int keep = 12;
    while (keep > 1 && f[keep - 1] == '0')
        keep--;
    memcpy(buf + n, f, (size_t)keep);
    n += (size_t)keep;
    buf[n] = 0;
    return n;
}
