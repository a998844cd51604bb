/* Metrics; see metrics.h.  A set is an open-addressing hash table of
   series text -> counter plus the fixed histograms.  The mutex guards
   the table and the histograms' label lists (what a scrape walks); the
   counts themselves are atomics that never move (counters live in
   blocks that are never reallocated), so counting through a counter or
   a histogram slot a worker already holds takes no lock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "metrics.h"

typedef struct { char *key; mt_counter *v; } cell;

#define VBLOCK 256              /* counters per block */
typedef struct vblock {
    struct vblock *next;
    mt_counter v[VBLOCK];
} vblock;

/* Upper bounds of histogram buckets, microseconds. */
static const int64_t lat_bounds[] = { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
                                      500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000 };
static const int64_t fast_bounds[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000 };
#define NLAT (sizeof lat_bounds / sizeof *lat_bounds)
#define NFAST (sizeof fast_bounds / sizeof *fast_bounds)
#define MAXB NLAT

static const struct {
    const char *name, *help;
    const int64_t *bounds;
    size_t nb;
} hists[MT_H__COUNT] = {
    { "routevm_request_duration_seconds", "Time from a request's first byte to the end of its response.",
      lat_bounds, NLAT },
    { "routevm_ttft_seconds", "Time from a chat request's first byte to the first token sent to the client.",
      lat_bounds, NLAT },
    { "routevm_decision_seconds", "Wall-clock time the VM spent deciding a request (routing, guardrails, "
      "budgets; a stream's output guardrails), excluding model calls.", fast_bounds, NFAST },
    { "routevm_overhead_seconds", "Time the gateway spent on a request outside model calls "
      "(parse, decide, translate, respond).", fast_bounds, NFAST },
};

#define HLABELS 16              /* label values per histogram */

struct mt_hslot {
    mt_histid id;
    _Atomic uint64_t counts[MAXB + 1];
    _Atomic int64_t sum_us;
};

typedef struct {
    char lval[HLABELS][64];
    uint32_t nl;
    mt_hslot slot[HLABELS];
} hist;

struct mt_set {
    pthread_mutex_t mu;
    cell *cells;
    size_t n, cap;
    vblock *blocks;             /* counters; the first has 'vused' of them taken */
    size_t vused;
    hist h[MT_H__COUNT];
    char hkey[MT_H__COUNT][32];
};

static const struct { const char *name, *type, *help; } meta[] = {
    { "routevm_requests_total", "counter", "HTTP requests answered, by endpoint and status code." },
    { "routevm_request_errors_total", "counter", "Requests answered with an error, by error type." },
    { "routevm_chat_requests_total", "counter", "Chat completion requests, by agent, model, rule and outcome." },
    { "routevm_tokens_total", "counter", "Tokens billed, by agent, model and token class." },
    { "routevm_cost_picodollars_total", "counter", "Cost billed in picodollars (1e-12 USD), by agent, model and rule." },
    { "routevm_upstream_errors_total", "counter", "Failed model calls, by model and failure class." },
    { "routevm_upstream_calls_total", "counter", "Model calls made, by model." },
    { "routevm_streams_broken_total", "counter", "Streams that failed after part of the answer reached the client." },
    { "routevm_client_disconnects_total", "counter", "Requests whose client went away before the response ended." },
    { "routevm_circuit_state", "gauge", "Circuit breaker per model: 0 closed, 1 half-open, 2 open (per worker, the worst)." },
    { "routevm_budget_remaining_picodollars", "gauge", "The agent's daily budget minus today's spend and reservations." },
    { "routevm_budget_spent_picodollars", "gauge", "Today's settled spend per agent." },
    { "routevm_budget_reserved_picodollars", "gauge", "Open reservations per agent (calls in flight)." },
    { "routevm_connections", "gauge", "Open client connections." },
    { "routevm_requests_in_flight", "gauge", "Requests being answered." },
    { "routevm_policy_generation", "gauge", "The policy being served: 1 for the first load, +1 per reload." },
    { "routevm_policy_reloads_total", "counter", "Policy reloads (SIGHUP), by result." },
};

mt_set *mt_new(void)
{
    mt_set *s = mem_calloc(1, sizeof *s);
    if (s)
        pthread_mutex_init(&s->mu, NULL);
    return s;
}

void mt_free(mt_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->cells[i].key);
    free(s->cells);
    for (vblock *b = s->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static uint64_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

/* The cell for 'key' (created); NULL when out of memory.  Under the lock. */
static cell *slot(mt_set *s, const char *key)
{
    if (s->n * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        cell *nc = mem_calloc(cap, sizeof *nc);
        if (!nc)
            return NULL;
        for (size_t i = 0; i < s->cap; i++)
            if (s->cells[i].key) {
                size_t j = hash(s->cells[i].key) & (cap - 1);
                while (nc[j].key)
                    j = (j + 1) & (cap - 1);
                nc[j] = s->cells[i];
            }
        free(s->cells);
        s->cells = nc;
        s->cap = cap;
    }
    size_t j = hash(key) & (s->cap - 1);
    while (s->cells[j].key) {
        if (!strcmp(s->cells[j].key, key))
            return &s->cells[j];
        j = (j + 1) & (s->cap - 1);
    }
    if (!s->blocks || s->vused == VBLOCK) {
        vblock *b = mem_calloc(1, sizeof *b);
        if (!b)
            return NULL;
        b->next = s->blocks;
        s->blocks = b;
        s->vused = 0;
    }
    char *k = mem_strndup(key, strlen(key));
    if (!k)
        return NULL;
    s->cells[j].key = k;
    s->cells[j].v = &s->blocks->v[s->vused++];
    atomic_init(s->cells[j].v, 0);
    s->n++;
    return &s->cells[j];
}

mt_counter *mt_counter_of(mt_set *s, const char *series)
{
    pthread_mutex_lock(&s->mu);
    cell *c = slot(s, series);
    pthread_mutex_unlock(&s->mu);
    return c ? c->v : NULL;
}

void mt_inc(mt_counter *c, int64_t v)
{
    if (c)
        atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

void mt_add(mt_set *s, const char *series, int64_t v)
{
    mt_inc(mt_counter_of(s, series), v);
}

mt_hslot *mt_hist_slot(mt_set *s, mt_histid id, const char *lkey, const char *lval)
{
    pthread_mutex_lock(&s->mu);
    hist *h = &s->h[id];
    const char *lv = lkey ? lval : "";
    uint32_t i = 0;
    while (i < h->nl && strcmp(h->lval[i], lv))
        i++;
    if (i == h->nl && h->nl < HLABELS) {
        snprintf(h->lval[i], sizeof h->lval[i], "%s", lv);
        if (lkey)
            snprintf(s->hkey[id], sizeof s->hkey[id], "%s", lkey);
        h->slot[i].id = id;
        h->nl++;
    }
    mt_hslot *sl = i < h->nl ? &h->slot[i] : NULL;
    pthread_mutex_unlock(&s->mu);
    return sl;
}

void mt_hist_at(mt_hslot *sl, int64_t us)
{
    if (!sl)
        return;
    const int64_t *bounds = hists[sl->id].bounds;
    size_t b = 0, nb = hists[sl->id].nb;
    while (b < nb && us > bounds[b])
        b++;
    atomic_fetch_add_explicit(&sl->counts[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sl->sum_us, us, memory_order_relaxed);
}

void mt_hist(mt_set *s, mt_histid id, const char *lkey, const char *lval, int64_t us)
{
    mt_hist_at(mt_hist_slot(s, id, lkey, lval), us);
}

/* Append 'v' escaped as a label value. */
static size_t put_escaped(char *buf, size_t size, size_t at, const char *v)
{
    for (; *v && at + 3 < size; v++) {
        if (*v == '\\' || *v == '"') {
            buf[at++] = '\\';
            buf[at++] = *v;
        } else if (*v == '\n') {
            buf[at++] = '\\';
            buf[at++] = 'n';
        } else
            buf[at++] = *v;
    }
    buf[at] = 0;
    return at;
}

char *mt_series(char *buf, size_t size, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    mt_vseries(buf, size, name, ap);
    va_end(ap);
    return buf;
}

char *mt_vseries(char *buf, size_t size, const char *name, va_list ap)
{
    size_t at = (size_t)snprintf(buf, size, "%s", name);
    if (at >= size)
        at = size - 1;
    int first = 1;
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        int n = snprintf(buf + at, size - at, "%s%s=\"", first ? "{" : ",", k);
        if (n < 0 || (size_t)n >= size - at)
            break;
        at = put_escaped(buf, size, at + (size_t)n, v ? v : "");
        if (at + 2 < size) {
            buf[at++] = '"';
            buf[at] = 0;
        }
        first = 0;
    }
    if (!first && at + 2 < size) {
        buf[at++] = '}';
        buf[at] = 0;
    }
    return buf;
}

static int cmp_cells(const void *a, const void *b)
{
    return strcmp(((const cell *)a)->key, ((const cell *)b)->key);
}

static const char *type_of(const char *series, size_t *nlen, const char **help)
{
    const char *brace = strchr(series, '{');
    *nlen = brace ? (size_t)(brace - series) : strlen(series);
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++)
        if (strlen(meta[i].name) == *nlen && !strncmp(meta[i].name, series, *nlen)) {
            *help = meta[i].help;
            return meta[i].type;
        }
    *help = "";
    return "untyped";
}

void mt_describe(FILE *f, const char *name)
{
    size_t nl;
    const char *help, *type = type_of(name, &nl, &help);
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_hist(FILE *f, mt_set *const *sets, size_t n, mt_histid id)
{
    const char *name = hists[id].name;
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, hists[id].help, name);
    /* label values across sets */
    char seen[HLABELS * 4][64];
    const char *key = "";
    size_t ns = 0;
    for (size_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < sets[k]->h[id].nl; i++) {
            size_t j = 0;
            while (j < ns && strcmp(seen[j], sets[k]->h[id].lval[i]))
                j++;
            if (j == ns && ns < sizeof seen / sizeof *seen)
                snprintf(seen[ns++], 64, "%s", sets[k]->h[id].lval[i]);
            if (sets[k]->hkey[id][0])
                key = sets[k]->hkey[id];
        }
    for (size_t j = 0; j < ns; j++) {
        uint64_t cnt[MAXB + 1] = { 0 };
        int64_t sum = 0;
        for (size_t k = 0; k < n; k++) {
            const hist *h = &sets[k]->h[id];
            for (uint32_t i = 0; i < h->nl; i++)
                if (!strcmp(h->lval[i], seen[j])) {
                    for (size_t b = 0; b <= hists[id].nb; b++)
                        cnt[b] += atomic_load_explicit(&h->slot[i].counts[b], memory_order_relaxed);
                    sum += atomic_load_explicit(&h->slot[i].sum_us, memory_order_relaxed);
                }
        }
        char lab[160] = "";
        if (*key) {
            char esc[100];
            put_escaped(esc, sizeof esc, 0, seen[j]);
            snprintf(lab, sizeof lab, "%s=\"%s\",", key, esc);
        }
        uint64_t acc = 0;
        for (size_t b = 0; b < hists[id].nb; b++) {
            acc += cnt[b];
            fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name, lab, hists[id].bounds[b] / 1e6, (unsigned long long)acc);
        }
        acc += cnt[hists[id].nb];
        size_t ll = strlen(lab);
        if (ll)
            lab[ll - 1] = 0;    /* drop the trailing comma */
        fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, ll ? "," : "", (unsigned long long)acc);
        fprintf(f, "%s_sum%s%s%s %.6f\n", name, ll ? "{" : "", lab, ll ? "}" : "", sum / 1e6);
        fprintf(f, "%s_count%s%s%s %llu\n", name, ll ? "{" : "", lab, ll ? "}" : "", (unsigned long long)acc);
    }
}

char *mt_render(mt_set *const *sets, size_t n, const char *extra, size_t *len)
{
    /* sum every set's cells into one table */
    mt_set *all = mt_new();
    if (!all)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        pthread_mutex_lock(&sets[k]->mu);
        for (size_t i = 0; i < sets[k]->cap; i++)
            if (sets[k]->cells[i].key) {
                cell *c = slot(all, sets[k]->cells[i].key);
                if (c)
                    mt_inc(c->v, atomic_load_explicit(sets[k]->cells[i].v, memory_order_relaxed));
            }
        pthread_mutex_unlock(&sets[k]->mu);
    }
    cell *flat = mem_calloc(all->n ? all->n : 1, sizeof *flat);
    size_t m = 0;
    for (size_t i = 0; flat && i < all->cap; i++)
        if (all->cells[i].key)
            flat[m++] = all->cells[i];
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = flat ? open_memstream(&buf, &blen) : NULL;
    if (!f) {
        free(flat);
        mt_free(all);
        return NULL;
    }
    qsort(flat, m, sizeof *flat, cmp_cells);
    size_t prev_len = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < m; i++) {
        size_t nl;
        const char *help;
        const char *type = type_of(flat[i].key, &nl, &help);
        if (!prev || prev_len != nl || strncmp(prev, flat[i].key, nl))
            fprintf(f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)nl, flat[i].key, help, (int)nl, flat[i].key, type);
        prev = flat[i].key;
        prev_len = nl;
        fprintf(f, "%s %lld\n", flat[i].key, (long long)atomic_load(flat[i].v));
    }
    for (size_t k = 0; k < n; k++)
        pthread_mutex_lock(&sets[k]->mu);
    for (int h = 0; h < MT_H__COUNT; h++)
        render_hist(f, sets, n, (mt_histid)h);
    for (size_t k = 0; k < n; k++)
        pthread_mutex_unlock(&sets[k]->mu);
    if (extra)
        fputs(extra, f);
    free(flat);
    mt_free(all);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    *len = blen;
    return buf;
}
