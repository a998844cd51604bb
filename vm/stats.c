/* Order statistics; see stats.h. */
#include <stdlib.h>

#include "stats.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t stat_percentile(int64_t *v, size_t n, int q, int sorted)
{
    if (!n)
        return -1;
    if (!sorted)
        qsort(v, n, sizeof *v, cmp_i64);
    if (q < 0)
        q = 0;
    if (q > 100)
        q = 100;
    /* nearest rank: the smallest value with at least q% of the samples at or below it */
    uint64_t rank = ((uint64_t)q * n + 99) / 100;
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}
