/* The gateway's hot-path formatting (vm/serve/numfmt.c) and its metric
   series kept per program (vm/serve/series.c, on vm/serve/metrics.c's
   counters), data-driven: numbers with the text they must give (and
   decimals and dollars swept against snprintf), series getters with the
   exposition line they must produce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "metrics.h"
#include "numfmt.h"
#include "series.h"

static int failed;

static void report(const char *name, int ok, const char *why)
{
    if (ok)
        printf("PASS serve_series/%s\n", name);
    else {
        printf("FAIL serve_series/%s: %s\n", name, why);
        failed = 1;
    }
}

/* ---------------------------------------------------------------- numbers */

static const struct { const char *name; char kind; int64_t v; unsigned width; const char *want; } nums[] = {
    { "u64 zero", 'u', 0, 0, "0" },
    { "u64 status", 'u', 200, 0, "200" },
    { "u64 max", 'u', -1, 0, "18446744073709551615" },
    { "hex chunk", 'x', 205, 1, "cd" },
    { "hex zero", 'x', 0, 1, "0" },
    { "hex padded", 'x', 1, 8, "00000001" },
    { "hex wider than width", 'x', 0x123456789all, 8, "123456789a" },
    { "hex max", 'x', -1, 0, "ffffffffffffffff" },
    { "dollars zero", 'd', 0, 0, "0.0" },
    { "dollars negative", 'd', -5, 0, "0.0" },
    { "dollars one picodollar", 'd', 1, 0, "0.000000000001" },
    { "dollars request", 'd', 6240000, 0, "0.00000624" },
    { "dollars whole", 'd', 3000000000000ll, 0, "3.0" },
    { "dollars half", 'd', 1500000000000ll, 0, "1.5" },
    { "dollars max", 'd', INT64_MAX, 0, "9223372.036854775807" },
};

static void numbers(void)
{
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        char b[NF_MAX];
        memset(b, 'Z', sizeof b);
        size_t n = nums[i].kind == 'u'   ? nf_u64(b, (uint64_t)nums[i].v)
                   : nums[i].kind == 'x' ? nf_hex(b, (uint64_t)nums[i].v, nums[i].width)
                                         : nf_dollars(b, nums[i].v);
        char why[200];
        snprintf(why, sizeof why, "got '%s' (%zu), want '%s'", b, n, nums[i].want);
        report(nums[i].name, !strcmp(b, nums[i].want) && n == strlen(nums[i].want), why);
    }
}

/* nf_dollars as snprintf writes it: the dollars, then the twelve
   decimals without trailing zeros but the first. */
static void ref_dollars(char *b, size_t size, int64_t pd)
{
    if (pd < 0)
        pd = 0;
    int n = snprintf(b, size, "%lld.%012lld", (long long)(pd / 1000000000000ll), (long long)(pd % 1000000000000ll));
    while (n > 0 && b[n - 1] == '0' && b[n - 2] != '.')
        b[--n] = 0;
}

/* One value through nf_u64 and nf_dollars, against snprintf; 0 with
   'why' on a difference. */
static int sweep_one(int64_t v, char *why, size_t wl)
{
    char got[NF_MAX], want[NF_MAX];
    size_t n = nf_u64(got, (uint64_t)v);
    snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    if (strcmp(got, want) || n != strlen(want)) {
        snprintf(why, wl, "nf_u64(%llu): '%s'", (unsigned long long)v, got);
        return 0;
    }
    n = nf_dollars(got, v);
    ref_dollars(want, sizeof want, v);
    if (strcmp(got, want) || n != strlen(want)) {
        snprintf(why, wl, "nf_dollars(%lld): '%s', want '%s'", (long long)v, got, want);
        return 0;
    }
    return 1;
}

/* Every power of ten and its neighbours, every value below 100000, each
   value of one to twelve decimals at each place, and a pseudo-random
   walk over all magnitudes. */
static void sweep(void)
{
    char why[200] = "";
    int ok = 1;
    for (int64_t p = 1; ok; p *= 10) {
        for (int64_t d = -1; d <= 1 && ok; d++)
            ok = sweep_one(p + d, why, sizeof why);
        if (p > INT64_MAX / 10)
            break;
    }
    for (int64_t v = 0; v < 100000 && ok; v++)
        ok = sweep_one(v, why, sizeof why);
    for (int64_t p = 1; p <= 1000000000000ll && ok; p *= 10)
        for (int64_t k = 1; k <= 99 && ok; k++)
            ok = sweep_one(k * p, why, sizeof why) && sweep_one(k * p + 3000000000000ll, why, sizeof why);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000 && ok; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ok = sweep_one((int64_t)(x >> (x & 63)) & INT64_MAX, why, sizeof why);
    }
    ok = ok && sweep_one(INT64_MAX, why, sizeof why) && sweep_one(-1, why, sizeof why) &&
         sweep_one(INT64_MIN, why, sizeof why);
    report("decimals and dollars against snprintf", ok, why);
}

/* ---------------------------------------------------------------- series */

static const char policy[] =
    "provider p { kind openai  endpoint \"http://127.0.0.1:1/v1\" }\n"
    "model small from p { id \"s\"  price in $1/Mtok, out $1/Mtok  context 8k tokens  output 1k tokens }\n"
    "model big from p { id \"b\"  price in $1/Mtok, out $1/Mtok  context 8k tokens  output 1k tokens }\n"
    "agent support {\n"
    "  route {\n"
    "    when meta.x == \"1\" -> big \"one\"\n"
    "    otherwise -> small \"two\"\n"
    "  }\n"
    "}\n";

/* Each case counts through one getter, then the exposition must hold
   'want' (the series with its value). */
typedef struct {
    const char *name, *want;
    int kind;
    uint32_t agent, model, rule;
    int sub;
    int64_t v;
} scase;

enum { S_STATUS, S_CHAT, S_TOKENS, S_COST, S_CALLS, S_UPERR, S_CIRCUIT };

static const scase scases[] = {
    { "status", "routevm_requests_total{endpoint=\"chat\",code=\"200\"} 3\n", S_STATUS, 0, 0, 0, 200, 3 },
    { "status odd code", "routevm_requests_total{endpoint=\"chat\",code=\"1000\"} 1\n", S_STATUS, 0, 0, 0, 1000, 1 },
    { "chat", "routevm_chat_requests_total{agent=\"support\",model=\"big\",rule=\"1\",outcome=\"answered\"} 2\n",
      S_CHAT, 0, 1, 0, SE_ANSWERED, 2 },
    { "chat without model or rule",
      "routevm_chat_requests_total{agent=\"support\",model=\"none\",rule=\"none\",outcome=\"denied\"} 1\n",
      S_CHAT, 0, RV_NONE, RV_NONE, SE_DENIED, 1 },
    { "tokens", "routevm_tokens_total{agent=\"support\",model=\"small\",class=\"cache_read\"} 40\n", S_TOKENS, 0,
      0, 0, SE_CACHE_READ, 40 },
    { "cost", "routevm_cost_picodollars_total{agent=\"support\",model=\"small\",rule=\"2\"} 7\n", S_COST, 0, 0, 1,
      0, 7 },
    { "calls", "routevm_upstream_calls_total{model=\"big\"} 5\n", S_CALLS, 0, 1, 0, 0, 5 },
    { "upstream error", "routevm_upstream_errors_total{model=\"big\",class=\"timeout\"} 1\n", S_UPERR, 0, 1, 0,
      RV_FAIL_TIMEOUT, 1 },
    { "circuit", "routevm_circuit_state{model=\"small\",worker=\"3\"} 2\n", S_CIRCUIT, 0, 0, 0, 0, 2 },
};

static mt_counter *get(se_cache *c, const scase *k)
{
    switch (k->kind) {
    case S_STATUS: return se_status(c, k->sub);
    case S_CHAT: return se_chat(c, k->agent, k->model, k->rule, (se_outcome)k->sub);
    case S_TOKENS: return se_tokens(c, k->agent, k->model, (se_class)k->sub);
    case S_COST: return se_cost(c, k->agent, k->model, k->rule);
    case S_CALLS: return se_calls(c, k->model);
    case S_UPERR: return se_upstream_error(c, k->model, (rv_failure)k->sub);
    default: return se_circuit(c, k->model);
    }
}

static void series(void)
{
    rv_program *p = test_compile("series.route", policy, 0);
    if (!p) {
        report("policy compiles", 0, "see the diagnostics above");
        return;
    }
    mt_set *m = mt_new();
    se_cache *c = se_new(m, p, 3);
    /* count each case's value one at a time: the second and later
       counts come from the cache and must reach the same counter */
    for (size_t i = 0; i < sizeof scases / sizeof *scases; i++) {
        mt_counter *first = get(c, &scases[i]);
        int same = 1;
        for (int64_t k = 0; k < scases[i].v; k++) {
            mt_counter *ctr = get(c, &scases[i]);
            same &= ctr == first;
            mt_inc(ctr, 1);
        }
        report(scases[i].name, first && same, "the cached counter differs from the first");
    }
    mt_hist_at(se_hist(c, MT_H_REQUEST, 0), 300);
    mt_hist_at(se_hist(c, MT_H_REQUEST, 0), 300);
    mt_hist_at(se_hist(c, MT_H_DECISION, RV_NONE), 3);
    /* many series: counters live in blocks that never move */
    mt_counter *many[600];
    for (int i = 0; i < 600; i++) {
        char s[64];
        snprintf(s, sizeof s, "routevm_many_total{n=\"%d\"}", i);
        many[i] = mt_counter_of(m, s);
    }
    int stable = 1;
    for (int i = 0; i < 600; i++) {
        char s[64];
        snprintf(s, sizeof s, "routevm_many_total{n=\"%d\"}", i);
        stable &= mt_counter_of(m, s) == many[i] && many[i];
        mt_inc(many[i], i);
    }
    report("counters do not move", stable, "a counter moved when the table grew");
    mt_set *sets[1] = { m };
    size_t len = 0;
    char *t = mt_render(sets, 1, NULL, &len);
    for (size_t i = 0; i < sizeof scases / sizeof *scases; i++) {
        char name[120];
        snprintf(name, sizeof name, "%s rendered", scases[i].name);
        report(name, t && strstr(t, scases[i].want), scases[i].want);
    }
    report("histogram by agent", t && strstr(t, "routevm_request_duration_seconds_count{agent=\"support\"} 2\n"),
           "request histogram");
    report("histogram without label", t && strstr(t, "routevm_decision_seconds_count 1\n"), "decision histogram");
    report("many rendered", t && strstr(t, "routevm_many_total{n=\"599\"} 599\n"), "n=599");
    free(t);
    se_free(c);
    mt_free(m);
    rv_program_free(p);
}

int main(void)
{
    numbers();
    sweep();
    series();
    return failed;
}
