/* Order statistics of integer samples (durations in microseconds), shared
   by 'routevm simulate' (latency of replayed requests) and 'routevm
   report' (latency and time to first token from traces), so both report
   percentiles the same way: the nearest-rank method, which always answers
   one of the samples. */
#ifndef RV_STATS_H
#define RV_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The 'q'th percentile (0..100) of the 'n' values of 'v', by nearest
   rank; -1 when n is 0.  Sorts 'v' in place (so further percentiles of
   the same samples cost no sort: pass sorted 1). */
int64_t stat_percentile(int64_t *v, size_t n, int q, int sorted);

#endif
