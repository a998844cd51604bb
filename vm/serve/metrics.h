/* The gateway's metrics, rendered for Prometheus (text format 0.0.4).

   Each worker counts into its own mt_set (a lock per set, taken only by
   its worker and by a scrape), and a scrape sums the sets.  A series is
   named by its full text, "name{label=\"value\",...}" (mt_series builds
   it, escaping label values), so label sets need no declaration; every
   metric name has a HELP and TYPE line from the table in metrics.c.

   Histograms are fixed: request duration, time to first token, decision
   time and gateway overhead (mt_hist).

   A hot path resolves its series once (mt_counter_of, mt_hist_slot) and
   then counts through the handle without formatting, hashing or locking
   (mt_inc, mt_hist_at; vm/serve/series.h keeps the chat path's).  The
   handles stay valid for the set's life. */
#ifndef RV_SERVE_METRICS_H
#define RV_SERVE_METRICS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mt_set mt_set;
typedef _Atomic int64_t mt_counter;
typedef struct mt_hslot mt_hslot;

typedef enum { MT_H_REQUEST, MT_H_TTFT, MT_H_DECISION, MT_H_OVERHEAD, MT_H__COUNT } mt_histid;

mt_set *mt_new(void);
void mt_free(mt_set *s);

/* Add 'v' to the series (a counter, or a gauge kept by adding). */
void mt_add(mt_set *s, const char *series, int64_t v);
/* Record 'us' microseconds in histogram 'h' with one label pair
   ('lkey' NULL: none). */
void mt_hist(mt_set *s, mt_histid h, const char *lkey, const char *lval, int64_t us);

/* The counter of 'series' (created at 0), or NULL when out of memory.
   Owned by the set; valid until mt_free. */
mt_counter *mt_counter_of(mt_set *s, const char *series);
/* Add 'v' to counter 'c' (NULL: nothing).  Any thread. */
void mt_inc(mt_counter *c, int64_t v);
/* Histogram 'h''s slot for one label pair ('lkey' NULL: none), or NULL
   when the histogram already has its 16 label values.  Owned by the set. */
mt_hslot *mt_hist_slot(mt_set *s, mt_histid h, const char *lkey, const char *lval);
/* Record 'us' microseconds in slot 'sl' (NULL: nothing). */
void mt_hist_at(mt_hslot *sl, int64_t us);

/* Build "name{k1="v1",k2="v2"}" into 'buf' from NULL-terminated key,
   value pairs; label values are escaped.  Returns 'buf' (truncated
   series are still valid text). */
char *mt_series(char *buf, size_t size, const char *name, ...);
char *mt_vseries(char *buf, size_t size, const char *name, va_list ap);

/* The exposition of the sets summed, followed by 'extra' (gauges the
   caller computes at scrape time, already formatted; may be NULL).  A
   malloc'd string the caller frees, or NULL. */
/* The HELP and TYPE lines of metric 'name' (for gauges a caller formats
   itself, passed to mt_render as 'extra'). */
void mt_describe(FILE *f, const char *name);

char *mt_render(mt_set *const *sets, size_t n, const char *extra, size_t *len);

#endif
