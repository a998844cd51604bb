/* A trace summary printed; see report_out.h.

   Money is printed exactly (format.h, from picodollars), durations as
   format.h writes them in a policy ("12.5ms", "1.2s"), rates as
   percentages with two decimals.  The JSON object is a jansson tree
   printed by jw_print(), the one JSON writer; names from the traces may
   hold any bytes and go in through jw_jstring().  The page's text goes
   through svg_text(), its charts through svg_bars(). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "jsonw.h"
#include "mem.h"
#include "report_out.h"
#include "svg.h"

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : -1; }

static int64_t per_request(const rpt_group *g) { return g->requests ? g->cost / (int64_t)g->requests : 0; }

/* The error rate of a group: failed requests, or for a model its failed calls. */
static double error_rate(const rpt_summary *sm, const rpt_group *g)
{
    int model = sm->by == RPT_BY_MODEL && g >= sm->groups && g < sm->groups + sm->ngroups;
    return model ? ratio(g->call_errors, g->made) : ratio(g->failed, g->requests);
}

/* ---------------------------------------------------------------- text */

static void money(FILE *out, int64_t pico)
{
    char b[FMT_BUF];
    fmt_money(b, sizeof b, pico);
    fputs(b, out);
}

static void duration(FILE *out, int64_t us, int width)
{
    char b[FMT_BUF];
    if (us < 0)
        snprintf(b, sizeof b, "-");
    else
        fmt_duration(b, sizeof b, us);
    fprintf(out, "%*s", width, b);
}

static void rate(FILE *out, uint64_t a, uint64_t b)
{
    if (b)
        fprintf(out, " (%.2f%%)", 100.0 * (double)a / (double)b);
}

static void pctl_line(FILE *out, const char *label, const rpt_pctl *p, const char *of)
{
    if (!p->n)
        return;
    fprintf(out, "  %-12s p50 ", label);
    duration(out, p->p50, 0);
    fputs("  p95 ", out);
    duration(out, p->p95, 0);
    fputs("  p99 ", out);
    duration(out, p->p99, 0);
    fprintf(out, "  (%" PRIu64 " %s)\n", p->n, of);
}

static void totals_text(FILE *out, const rpt_summary *sm)
{
    const rpt_group *t = &sm->total;
    fprintf(out, "  %-12s %" PRIu64 " (%" PRIu64 " answered, %" PRIu64 " denied, %" PRIu64 " failed)", "requests",
            t->requests, t->answered, t->denied, t->failed);
    if (sm->incomplete)
        fprintf(out, "; %" PRIu64 " incomplete, left out", sm->incomplete);
    fprintf(out, "\n  %-12s ", "cost");
    money(out, t->cost);
    fputs(" in all, ", out);
    money(out, per_request(t));
    fputs(" per request\n", out);
    const uint64_t *k = t->tokens;
    fprintf(out, "  %-12s input %" PRIu64 " (uncached %" PRIu64 ", cache read %" PRIu64 ", cache write %" PRIu64
                 "), output %" PRIu64 " (reasoning %" PRIu64 ")\n",
            "tokens", k[RPT_TOK_INPUT], k[RPT_TOK_UNCACHED], k[RPT_TOK_CACHE_READ], k[RPT_TOK_CACHE_WRITE],
            k[RPT_TOK_OUTPUT], k[RPT_TOK_REASONING]);
    pctl_line(out, "latency", &t->latency, "requests");
    pctl_line(out, "first token", &t->ttft, "answers");
    fprintf(out, "  %-12s %" PRIu64 " of %" PRIu64 " requests failed", "errors", t->failed, t->requests);
    rate(out, t->failed, t->requests);
    fprintf(out, "; %" PRIu64 " of %" PRIu64 " calls failed", t->call_errors, t->made);
    rate(out, t->call_errors, t->made);
    fprintf(out, ", %" PRIu64 " not made\n  %-12s %" PRIu64 " of %" PRIu64 " requests", t->refused, "fallbacks",
            t->fallbacks, t->requests);
    rate(out, t->fallbacks, t->requests);
    fprintf(out, "; %" PRIu64 " retries\n  %-12s %" PRIu64 " requests, %" PRIu64 " escalated", t->retries, "cascades",
            t->cascades, t->escalated);
    rate(out, t->escalated, t->cascades);
    fputc('\n', out);
    if (t->scored)
        fprintf(out, "  %-12s %.4f mean over %" PRIu64 " requests\n", "score", t->score, t->scored);
}

static void group_row(FILE *out, const rpt_summary *sm, const rpt_group *g, int arms)
{
    char cost[FMT_BUF];
    fmt_money(cost, sizeof cost, arms ? per_request(g) : g->cost);
    fprintf(out, "  %-32s %8" PRIu64 " %7" PRIu64 " %14s", g->key, g->requests, g->calls, cost);
    double e = error_rate(sm, g);
    if (e >= 0)
        fprintf(out, " %7.2f%%", 100 * e);
    else
        fprintf(out, " %8s", "-");
    duration(out, g->latency.p50, 10);
    duration(out, g->latency.p95, 10);
    duration(out, g->latency.p99, 10);
    duration(out, g->ttft.p50, 10);
    if (arms && g->scored)
        fprintf(out, " %6.4f", g->score);
    else if (arms)
        fprintf(out, " %6s", "-");
    fputc('\n', out);
}

static void table_text(FILE *out, const rpt_summary *sm, const rpt_group *g, size_t n, const char *title, int arms)
{
    fprintf(out, "\n  %-32s %8s %7s %14s %8s %10s %10s %10s %10s%s\n", title, "requests", "calls",
            arms ? "per request" : "cost", "errors", "p50", "p95", "p99", "ttft p50", arms ? "  score" : "");
    for (size_t i = 0; i < n; i++)
        group_row(out, sm, &g[i], arms);
}

void rpo_text(FILE *out, const rpo_source *src, const rpt_summary *sm)
{
    fprintf(out, "routevm report: %s (%" PRIu32 " records", src->path, src->records);
    if (src->bad)
        fprintf(out, ", %" PRIu32 " bad lines skipped", src->bad);
    fputs(")\n", out);
    totals_text(out, sm);
    char title[32];
    snprintf(title, sizeof title, "by %s", rpt_by_names[sm->by]);
    table_text(out, sm, sm->groups, sm->ngroups, title, 0);
    if (sm->narms)
        table_text(out, sm, sm->arms, sm->narms, "A/B arms", 1);
}

/* ---------------------------------------------------------------- JSON */

static json_t *jrate(double r) { return r < 0 ? json_null() : json_real((double)(int64_t)(r * 1e6 + 0.5) / 1e6); }

static json_t *jpctl(const rpt_pctl *p)
{
    if (!p->n)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I}", "n", (json_int_t)p->n, "p50_us", (json_int_t)p->p50, "p95_us",
                     (json_int_t)p->p95, "p99_us", (json_int_t)p->p99);
}

static json_t *jgroup(const rpt_summary *sm, const rpt_group *g)
{
    json_t *tok = json_object();
    for (int t = 0; t < RPT_TOK__COUNT && tok; t++)
        json_object_set_new(tok, rpt_token_names[t], json_integer((json_int_t)(g->tokens[t] > INT64_MAX ? INT64_MAX : g->tokens[t])));
    char cost[FMT_BUF];
    fmt_money(cost, sizeof cost, g->cost);
    json_t *j = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:o, s:o, s:o, s:o, "
                          "s:o, s:o, s:I, s:I, s:I, s:o}",
                          "key", jw_jstring(g->key, strlen(g->key)), "requests", (json_int_t)g->requests,
                          "answered", (json_int_t)g->answered, "denied", (json_int_t)g->denied,
                          "failed", (json_int_t)g->failed, "calls", (json_int_t)g->calls,
                          "calls_made", (json_int_t)g->made, "failed_calls", (json_int_t)g->call_errors,
                          "calls_not_made", (json_int_t)g->refused, "retries", (json_int_t)g->retries,
                          "cost_picodollars", (json_int_t)g->cost, "cost", cost,
                          "cost_per_request_picodollars", (json_int_t)per_request(g),
                          "share_of_cost", jrate(ratio((uint64_t)g->cost, (uint64_t)sm->total.cost)),
                          "tokens", tok ? tok : json_null(), "latency", jpctl(&g->latency), "ttft", jpctl(&g->ttft),
                          "error_rate", jrate(error_rate(sm, g)), "fallback_rate", jrate(ratio(g->fallbacks, g->requests)),
                          "fallbacks", (json_int_t)g->fallbacks, "cascades", (json_int_t)g->cascades,
                          "escalated", (json_int_t)g->escalated, "escalation_rate", jrate(ratio(g->escalated, g->cascades)));
    if (j)
        json_object_set_new(j, "score", g->scored ? json_pack("{s:I, s:f}", "n", (json_int_t)g->scored, "mean", g->score)
                                                  : json_null());
    return j;
}

static json_t *jgroups(const rpt_summary *sm, const rpt_group *g, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && a; i++)
        if (json_array_append_new(a, jgroup(sm, &g[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

int rpo_json(FILE *out, const rpo_source *src, const rpt_summary *sm)
{
    json_t *j = json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:s, s:o, s:o}", "traces", jw_jstring(src->path, strlen(src->path)),
                          "lines", (json_int_t)src->lines, "records", (json_int_t)src->records,
                          "bad_lines", (json_int_t)src->bad, "incomplete", (json_int_t)sm->incomplete,
                          "total", jgroup(sm, &sm->total), "by", rpt_by_names[sm->by],
                          "groups", jgroups(sm, sm->groups, sm->ngroups), "arms", jgroups(sm, sm->arms, sm->narms));
    if (!j)
        return -1;
    int rc = jw_print(out, j, 2);
    json_decref(j);
    return rc;
}

/* ---------------------------------------------------------------- HTML */

static void cell_money(FILE *out, int64_t pico)
{
    fputs("<td>", out);
    money(out, pico);
    fputs("</td>", out);
}

static void cell_duration(FILE *out, int64_t us)
{
    fputs("<td>", out);
    duration(out, us, 0);
    fputs("</td>", out);
}

static void cell_rate(FILE *out, double r)
{
    if (r < 0)
        fputs("<td>-</td>", out);
    else
        fprintf(out, "<td>%.2f%%</td>", 100 * r);
}

static void table_html(FILE *out, const rpt_summary *sm, const rpt_group *g, size_t n, const char *keyname)
{
    fputs("<table><tr><th>", out);
    svg_text(out, keyname);
    fputs("</th><th>requests</th><th>calls</th><th>cost</th><th>per request</th><th>share of cost</th>"
          "<th>errors</th><th>fallbacks</th><th>escalated</th><th>p50</th><th>p95</th><th>p99</th>"
          "<th>ttft p50</th><th>ttft p95</th><th>score</th></tr>\n", out);
    for (size_t i = 0; i < n; i++) {
        fputs("<tr><td>", out);
        svg_text(out, g[i].key);
        fprintf(out, "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>", g[i].requests, g[i].calls);
        cell_money(out, g[i].cost);
        cell_money(out, per_request(&g[i]));
        cell_rate(out, ratio((uint64_t)g[i].cost, (uint64_t)sm->total.cost));
        cell_rate(out, error_rate(sm, &g[i]));
        cell_rate(out, ratio(g[i].fallbacks, g[i].requests));
        cell_rate(out, ratio(g[i].escalated, g[i].cascades));
        cell_duration(out, g[i].latency.p50);
        cell_duration(out, g[i].latency.p95);
        cell_duration(out, g[i].latency.p99);
        cell_duration(out, g[i].ttft.p50);
        cell_duration(out, g[i].ttft.p95);
        if (g[i].scored)
            fprintf(out, "<td>%.4f</td></tr>\n", g[i].score);
        else
            fputs("<td>-</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

/* A bar chart of one figure of each group; 'value' picks it. */
static void bars(FILE *out, const char *title, const rpt_group *g, size_t n, double (*value)(const rpt_group *),
                 const char *fmt)
{
    const char **labels = mem_calloc(n ? n : 1, sizeof *labels);
    double *v = mem_calloc(n ? n : 1, sizeof *v);
    if (labels && v) {
        for (size_t i = 0; i < n; i++) {
            labels[i] = g[i].key;
            v[i] = value(&g[i]);
        }
        svg_bars(out, title, labels, v, n, fmt);
    }
    free(labels);
    free(v);
}

static double v_cost(const rpt_group *g) { return (double)g->cost / 1e12; }
static double v_per_request(const rpt_group *g) { return (double)per_request(g) / 1e12; }
static double v_p50(const rpt_group *g) { return g->latency.n ? (double)g->latency.p50 / 1000 : 0; }
static double v_p95(const rpt_group *g) { return g->latency.n ? (double)g->latency.p95 / 1000 : 0; }
static double v_ttft50(const rpt_group *g) { return g->ttft.n ? (double)g->ttft.p50 / 1000 : 0; }
static double v_errors(const rpt_group *g) { return g->requests ? 100.0 * (double)g->failed / (double)g->requests : 0; }
static double v_score(const rpt_group *g) { return g->scored ? g->score : 0; }

void rpo_html(FILE *out, const rpo_source *src, const rpt_summary *sm)
{
    char title[600], t[96];
    snprintf(title, sizeof title, "routevm report: %.500s", src->path);
    svg_page_begin(out, title);
    fprintf(out, "<p>%" PRIu32 " records read", src->records);
    if (src->bad)
        fprintf(out, ", %" PRIu32 " bad lines skipped", src->bad);
    if (sm->incomplete)
        fprintf(out, ", %" PRIu64 " incomplete requests left out", sm->incomplete);
    fputs(".</p>\n<h2>Totals</h2>\n", out);
    table_html(out, sm, &sm->total, 1, "");
    const uint64_t *k = sm->total.tokens;
    fputs("<table><tr><th>tokens</th><th>input</th><th>uncached input</th><th>cache read</th><th>cache write</th>"
          "<th>output</th><th>reasoning</th></tr>\n<tr><td>all</td>", out);
    for (int i = 0; i < RPT_TOK__COUNT; i++)
        fprintf(out, "<td>%" PRIu64 "</td>", k[i]);
    fputs("</tr></table>\n", out);
    static const char *const tok_labels[RPT_TOK__COUNT] = { "input", "uncached input", "cache read", "cache write",
                                                            "output", "reasoning" };
    double tv[RPT_TOK__COUNT];
    for (int i = 0; i < RPT_TOK__COUNT; i++)
        tv[i] = (double)k[i];
    svg_bars(out, "Tokens by class", tok_labels, tv, RPT_TOK__COUNT, "%.0f");
    const char *by = rpt_by_names[sm->by];
    fprintf(out, "<h2>By %s</h2>\n", by);
    table_html(out, sm, sm->groups, sm->ngroups, by);
    snprintf(t, sizeof t, "Cost by %s", by);
    bars(out, t, sm->groups, sm->ngroups, v_cost, "$%.8f");
    snprintf(t, sizeof t, "Latency p50 by %s (ms)", by);
    bars(out, t, sm->groups, sm->ngroups, v_p50, "%.1f ms");
    snprintf(t, sizeof t, "Latency p95 by %s (ms)", by);
    bars(out, t, sm->groups, sm->ngroups, v_p95, "%.1f ms");
    snprintf(t, sizeof t, "Time to first token p50 by %s (ms)", by);
    bars(out, t, sm->groups, sm->ngroups, v_ttft50, "%.1f ms");
    if (sm->narms) {
        fputs("<h2>A/B arms</h2>\n", out);
        table_html(out, sm, sm->arms, sm->narms, "arm");
        bars(out, "A/B arms: cost per request", sm->arms, sm->narms, v_per_request, "$%.8f");
        bars(out, "A/B arms: latency p95 (ms)", sm->arms, sm->narms, v_p95, "%.1f ms");
        bars(out, "A/B arms: failed requests (%)", sm->arms, sm->narms, v_errors, "%.2f%%");
        int scored = 0;
        for (size_t i = 0; i < sm->narms; i++)
            scored |= sm->arms[i].scored > 0;
        if (scored)
            bars(out, "A/B arms: mean score", sm->arms, sm->narms, v_score, "%.4f");
    }
    svg_page_end(out);
}
