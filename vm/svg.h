/* Charts as inline SVG, for the self-contained HTML pages of 'routevm
   simulate --html' and 'routevm report --html': no scripts, no external
   resources, text escaped.  Each chart is one <svg class="chart"> element
   with a <title>, so a page's charts can be found by a test (or a screen
   reader) by their class and title. */
#ifndef RV_SVG_H
#define RV_SVG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { SVG_LINE, SVG_POINTS, SVG_LINEPOINTS, SVG_DASHED } svg_kind;

typedef struct {
    const char *name;           /* legend entry */
    const double *x, *y;        /* n points, borrowed */
    size_t n;
    svg_kind kind;
    const char *color;          /* a CSS colour name or #rrggbb (trusted: ours) */
    const char *const *labels;  /* a label per point, or NULL */
} svg_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int xpercent, ypercent;     /* ticks as percentages of 1 */
    int xmoney;                 /* ticks as dollars */
} svg_axes;

/* A scatter/line chart of 'n' series; the axes span the data. */
void svg_chart(FILE *f, const svg_axes *a, const svg_series *s, size_t n);
/* A horizontal bar chart; 'fmt' prints a value ("$%.6f", "%.0f ms"). */
void svg_bars(FILE *f, const char *title, const char *const *labels, const double *values, size_t n, const char *fmt);
/* 's' as XML/HTML text, escaped. */
void svg_text(FILE *f, const char *s);
/* The opening of a self-contained HTML page (title escaped, a small
   inline style sheet) and its end. */
void svg_page_begin(FILE *f, const char *title);
void svg_page_end(FILE *f);

#endif
