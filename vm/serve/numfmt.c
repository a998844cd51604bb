/* Numbers as text; see numfmt.h.

   Decimal digits are made two at a time, from a table of the hundred
   pairs: half the divisions of one digit at a time. */
#include <string.h>

#include "numfmt.h"

static const char pairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/* The two digits of 'v' (below 100) at 'buf'. */
static void pair(char *buf, uint32_t v)
{
    memcpy(buf, pairs + 2 * v, 2);
}

size_t nf_u64(char *buf, uint64_t v)
{
    char t[20], *e = t + sizeof t, *p = e;
    for (; v >= 100; v /= 100)
        pair(p -= 2, (uint32_t)(v % 100));
    if (v >= 10)
        pair(p -= 2, (uint32_t)v);
    else
        *--p = (char)('0' + v);
    size_t n = (size_t)(e - p);
    memcpy(buf, p, n);
    buf[n] = 0;
    return n;
}

/* 'v' (below 10^6) as six digits at 'buf'. */
static void six(char *buf, uint32_t v)
{
    uint32_t lo = v % 10000;
    pair(buf, v / 10000);
    pair(buf + 2, lo / 100);
    pair(buf + 4, lo % 100);
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

/* The twelve decimals, as two halves of six digits; then the trailing
   zeros are dropped but the first decimal. */
size_t nf_dollars(char *buf, int64_t pd)
{
    uint64_t u = pd > 0 ? (uint64_t)pd : 0, frac = u % 1000000000000u;
    size_t n = nf_u64(buf, u / 1000000000000u);
    buf[n++] = '.';
    char *f = buf + n;
    six(f, (uint32_t)(frac / 1000000));
    six(f + 6, (uint32_t)(frac % 1000000));
    size_t keep = 12;
    while (keep > 1 && f[keep - 1] == '0')
        keep--;
    n += keep;
    buf[n] = 0;
    return n;
}
