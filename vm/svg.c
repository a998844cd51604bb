/* Inline SVG charts; see svg.h.

   A chart is a fixed 640x400 viewBox: a plot area with ticks at "nice"
   steps (1, 2 or 5 times a power of ten), the series drawn in it, and a
   legend below.  Coordinates are printed with two decimals; every piece
   of text passes through svg_text(), the one escaper of these pages. */
#include <math.h>
#include <string.h>

#include "svg.h"

#define W 640
#define H 400
#define L 70        /* plot area: left, right, top, bottom margins */
#define R 20
#define T 40
#define B 90

void svg_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f);
            else
                fputc(*s, f);
        }
    }
}

void svg_page_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    svg_text(f, title);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
          "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}svg.chart{display:block;margin:1em 0;"
          "max-width:100%;height:auto}svg text{font-size:12px}</style></head><body>\n<h1>", f);
    svg_text(f, title);
    fputs("</h1>\n", f);
}

void svg_page_end(FILE *f)
{
    fputs("</body></html>\n", f);
}

/* A step of 1, 2 or 5 x 10^k giving about five ticks over 'span'. */
static double nice_step(double span)
{
    if (!(span > 0))
        return 1;
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t n, double v, int percent, int money)
{
    if (percent)
        snprintf(buf, n, "%g%%", round(v * 1000) / 10);
    else if (money)
        snprintf(buf, n, "$%.3g", v);
    else
        snprintf(buf, n, "%g", v);
}

typedef struct { double x0, x1, y0, y1; } range;

static double px(const range *r, double x) { return L + (x - r->x0) / (r->x1 - r->x0) * (W - L - R); }
static double py(const range *r, double y) { return H - B - (y - r->y0) / (r->y1 - r->y0) * (H - T - B); }

static void open_chart(FILE *f, const char *title, int height)
{
    fprintf(f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
               "height=\"%d\" role=\"img\"><title>", W, height, W, height);
    svg_text(f, title);
    fputs("</title>\n<text x=\"320\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">", f);
    svg_text(f, title);
    fputs("</text>\n", f);
}

static void axes(FILE *f, const svg_axes *a, const range *r)
{
    char buf[48];
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", L, T,
            W - L - R, H - T - B);
    double sx = nice_step(r->x1 - r->x0), sy = nice_step(r->y1 - r->y0);
    for (double v = ceil(r->x0 / sx) * sx; v <= r->x1 + sx * 1e-9; v += sx) {
        tick_label(buf, sizeof buf, v, a->xpercent, a->xmoney);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#eee\"/>"
                   "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                px(r, v), T, px(r, v), H - B, px(r, v), H - B + 16, buf);
    }
    for (double v = ceil(r->y0 / sy) * sy; v <= r->y1 + sy * 1e-9; v += sy) {
        tick_label(buf, sizeof buf, v, a->ypercent, 0);
        fprintf(f, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#eee\"/>"
                   "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                L, py(r, v), W - R, py(r, v), L - 6, py(r, v) + 4, buf);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (W + L - R) / 2, H - B + 36);
    svg_text(f, a->xlabel);
    fprintf(f, "</text>\n<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">",
            (H - B + T) / 2, (H - B + T) / 2);
    svg_text(f, a->ylabel);
    fputs("</text>\n", f);
}

static void series(FILE *f, const range *r, const svg_series *s)
{
    fprintf(f, "<g class=\"series\" data-name=\"");
    svg_text(f, s->name);
    fputs("\">", f);
    if (s->kind != SVG_POINTS && s->n > 1) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", s->color,
                s->kind == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%s%.2f,%.2f", i ? " " : "", px(r, s->x[i]), py(r, s->y[i]));
        fputs("\"/>", f);
    }
    if (s->kind == SVG_POINTS || s->kind == SVG_LINEPOINTS)
        for (size_t i = 0; i < s->n; i++) {
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%s\"/>", px(r, s->x[i]), py(r, s->y[i]), s->color);
            if (s->labels && s->labels[i]) {
                fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", px(r, s->x[i]) + 6, py(r, s->y[i]) - 6);
                svg_text(f, s->labels[i]);
                fputs("</text>", f);
            }
        }
    fputs("</g>\n", f);
}

void svg_chart(FILE *f, const svg_axes *a, const svg_series *s, size_t n)
{
    range r = { INFINITY, -INFINITY, INFINITY, -INFINITY };
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].x[k]) || !isfinite(s[i].y[k]))
                continue;
            r.x0 = fmin(r.x0, s[i].x[k]);
            r.x1 = fmax(r.x1, s[i].x[k]);
            r.y0 = fmin(r.y0, s[i].y[k]);
            r.y1 = fmax(r.y1, s[i].y[k]);
        }
    if (!isfinite(r.x0))
        r = (range){ 0, 1, 0, 1 };
    double dx = (r.x1 - r.x0) * 0.05, dy = (r.y1 - r.y0) * 0.05;
    r.x0 -= dx ? dx : 0.5;
    r.x1 += dx ? dx : 0.5;
    r.y0 -= dy ? dy : 0.05;
    r.y1 += dy ? dy : 0.05;
    open_chart(f, a->title, H);
    axes(f, a, &r);
    for (size_t i = 0; i < n; i++)
        series(f, &r, &s[i]);
    /* legend */
    for (size_t i = 0; i < n; i++) {
        int x = L + (int)(i % 3) * 190, y = H - 30 + (int)(i / 3) * 16;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">", x,
                y - 4, s[i].color, x + 16, y);
        svg_text(f, s[i].name);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

void svg_bars(FILE *f, const char *title, const char *const *labels, const double *values, size_t n, const char *fmt)
{
    int height = 50 + (int)n * 22;
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i]))
            max = fmax(max, values[i]);
    open_chart(f, title, height);
    for (size_t i = 0; i < n; i++) {
        double w = max > 0 && isfinite(values[i]) && values[i] > 0 ? values[i] / max * 330 : 0;
        int y = 34 + (int)i * 22;
        char buf[64];
        snprintf(buf, sizeof buf, fmt, values[i]);
        fprintf(f, "<text x=\"190\" y=\"%d\" text-anchor=\"end\">", y + 13);
        svg_text(f, labels[i]);
        fprintf(f, "</text><rect class=\"bar\" x=\"200\" y=\"%d\" width=\"%.2f\" height=\"16\" fill=\"#4e79a7\"/>"
                   "<text x=\"%.2f\" y=\"%d\">", y, w, 206 + w, y + 13);
        svg_text(f, buf);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}
