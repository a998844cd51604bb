/* A trace summary (report.h) printed: as text for people, as one JSON
   object (through the one JSON writer), or as a self-contained HTML page
   with SVG charts (vm/svg.h, the charts 'routevm simulate --html' draws
   too).  'routevm report' chooses; the fuzz target of the trace reader
   prints every form. */
#ifndef RV_REPORT_OUT_H
#define RV_REPORT_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "report.h"

/* What was read, for the headings. */
typedef struct {
    const char *path;           /* the traces file (borrowed) */
    uint32_t lines, records, bad;   /* lines read, records kept, lines skipped */
} rpo_source;

void rpo_text(FILE *out, const rpo_source *src, const rpt_summary *sm);
/* Returns 0, or -1 when out of memory or the write failed. */
int rpo_json(FILE *out, const rpo_source *src, const rpt_summary *sm);
/* The page: the figures of 'sm' and charts of its groups and arms. */
void rpo_html(FILE *out, const rpo_source *src, const rpt_summary *sm);

#endif
