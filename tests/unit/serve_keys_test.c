/* The gateway's keys file (vm/serve/keys.c) and metric series
   (vm/serve/metrics.c), data-driven: each keys case is a file's text and
   either the error it must give or lookups with their answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "metrics.h"

static int failed;

static void report(const char *name, int ok, const char *why)
{
    if (ok)
        printf("PASS serve_keys/%s\n", name);
    else {
        printf("FAIL serve_keys/%s: %s\n", name, why);
        failed = 1;
    }
}

static const struct {
    const char *name, *text;
    const char *error;          /* the message must contain it; NULL: parses */
    const char *lookups;        /* "TOKEN AGENT=1|0;..." : may TOKEN use AGENT (TOKEN '-' = unknown) */
} cases[] = {
    { "basic", "sk-a support\nsk-b billing,capped\n", NULL,
      "sk-a support=1;sk-a billing=0;sk-b billing=1;sk-b capped=1;sk-b support=0;sk-c support=-" },
    { "star", "sk-a *\n", NULL, "sk-a anything=1;sk-a support=1" },
    { "comments and blanks", "# header\n\n  sk-a   support   # trailing comment\n\t\n", NULL, "sk-a support=1" },
    { "crlf lines", "sk-a support\r\nsk-b billing\r\n", NULL, "sk-a support=1;sk-b billing=1" },
    { "no final newline", "sk-a support", NULL, "sk-a support=1" },
    { "empty file", "", NULL, "sk-a support=-" },
    { "prefix is not a key", "sk-abc support\n", NULL, "sk-ab support=-;sk-abcd support=-;sk-abc support=1" },
    { "missing agents", "sk-a\n", "line 1: expected", NULL },
    { "extra field", "sk-a support billing\n", "line 1: after the agent list, expected 'budget", NULL },
    { "budgets", "sk-a support budget $5 per day budget $0.125 per request\n", NULL, "sk-a support=1" },
    { "budget without unit", "sk-a support budget $5\n", "line 1: after the agent list", NULL },
    { "budget per week", "sk-a support budget $5 per week\n", "line 1: after the agent list", NULL },
    { "budget not money", "sk-a support budget 5 per day\n", "line 1: a budget is a positive amount", NULL },
    { "budget zero", "sk-a support budget $0 per day\n", "line 1: a budget is a positive amount", NULL },
    { "budget too precise", "sk-a support budget $0.0000000000001 per day\n", "line 1: a budget is a positive", NULL },
    { "budget too large", "sk-a support budget $9000001 per day\n", "line 1: a budget is a positive", NULL },
    { "budget trailing dot", "sk-a support budget $5. per day\n", "line 1: a budget is a positive", NULL },
    { "two daily budgets", "sk-a support budget $5 per day budget $6 per day\n", "line 1: two budgets per day",
      NULL },
    { "empty agent", "sk-a support,,billing\n", "line 1: an empty agent", NULL },
    { "bad agent name", "ok support\nsk-a sup/port\n", "line 2: 'sup/port' is not an agent name", NULL },
    { "star with names", "sk-a *,support\n", "line 1: '*' and agent names", NULL },
    { "duplicate key", "sk-a support\nsk-a billing\n", "line 2: the same key as key@1", NULL },
    { "short sha256", "sha256:abcd support\n", "line 1: a sha256: key needs", NULL },
    { "bad hex", "sha256:zz" "00000000000000000000000000000000000000000000000000000000000000 x\n", "line 1: a sha256:",
      NULL },
    { "nul byte", "sk-a sup\0port\n", "line 1: a NUL byte", NULL },
    { "control in key", "sk-\x01" "a support\n", "line 1: a key must be printable", NULL },
};

static size_t text_len(size_t i)
{
    /* the NUL case holds a NUL: its length is fixed */
    return !strcmp(cases[i].name, "nul byte") ? 14 : strlen(cases[i].text);
}

static void run_case(size_t i)
{
    char err[256] = "";
    ky_set *s = ky_parse(cases[i].text, text_len(i), err, sizeof err);
    if (cases[i].error) {
        char why[400];
        snprintf(why, sizeof why, "wanted an error with '%s', got %s", cases[i].error, s ? "a set" : err);
        report(cases[i].name, !s && strstr(err, cases[i].error), why);
        ky_free(s);
        return;
    }
    if (!s) {
        report(cases[i].name, 0, err);
        return;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cases[i].lookups);
    int ok = 1;
    char why[300] = "";
    for (char *save = NULL, *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *sp = strchr(item, ' '), *eq = strchr(item, '=');
        *sp = *eq = 0;
        const ky_key *k = ky_find(s, item, strlen(item));
        int got = !k ? '-' : ky_allows(k, sp + 1, strlen(sp + 1)) ? '1' : '0';
        if (got != eq[1]) {
            ok = 0;
            snprintf(why, sizeof why, "%s for %s: wanted %c, got %c", item, sp + 1, eq[1], got);
        }
    }
    report(cases[i].name, ok, why);
    ky_free(s);
}

static void hashed(void)
{
    /* a key stored as its digest (sha256sum of "sk-hashed") is found by the
       key itself, not by the digest's text, and named by its line */
    const char *text = "sk-x a\nsha256:c291001835042e213221b2f9fca79c9c91d08813d599b717bc695a268edb2ea6 b\n";
    char err[256];
    ky_set *s = ky_parse(text, strlen(text), err, sizeof err);
    report("sha256 parses", s != NULL, err);
    if (!s)
        return;
    const ky_key *k = ky_find(s, "sk-hashed", 9);
    report("sha256 found by its key", k && ky_allows(k, "b", 1) && !strcmp(ky_name(k), "key@2"),
           k ? ky_name(k) : "not found");
    report("sha256 not the hex itself",
           ky_find(s, "c291001835042e213221b2f9fca79c9c91d08813d599b717bc695a268edb2ea6", 64) == NULL,
           "the hex digest was accepted as a key");
    report("sha256 prefix form not a key", ky_find(s, "sha256:c291001835042e213221b2f9fca79c9c91d08813d599b717bc695a268edb2ea6", 71) == NULL,
           "the stored form was accepted as a key");
    ky_free(s);
}

static void budgets(void)
{
    /* the same key written plain and as sha256: has the same ledger row;
       the row is not the key nor its digest */
    const char *t1 = "sk-hashed a budget $5 per day budget $0.25 per request\nsk-free b\n";
    const char *t2 = "sha256:c291001835042e213221b2f9fca79c9c91d08813d599b717bc695a268edb2ea6 a budget $1 per day\n";
    char err[256];
    ky_set *s1 = ky_parse(t1, strlen(t1), err, sizeof err), *s2 = ky_parse(t2, strlen(t2), err, sizeof err);
    rv_caller c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
    const ky_key *k1 = s1 ? ky_find(s1, "sk-hashed", 9) : NULL, *k2 = s2 ? ky_find(s2, "sk-hashed", 9) : NULL;
    const ky_key *k3 = s1 ? ky_find(s1, "sk-free", 7) : NULL;
    int h1 = k1 && ky_caller(k1, &c1), h2 = k2 && ky_caller(k2, &c2), h3 = k3 && ky_caller(k3, &c3);
    report("budget amounts", h1 && c1.budget_day == 5000000000000LL && c1.budget_request == 250000000000LL &&
                             h2 && c2.budget_day == 1000000000000LL && c2.budget_request == 0, "wrong amounts");
    report("no budget, no caller", k3 && !h3, "a key without budgets has a caller budget");
    report("ledger row stable across forms", h1 && h2 && c1.name_len == 20 && !strcmp(c1.name, c2.name) &&
                                                 !strncmp(c1.name, "key:", 4), h1 ? c1.name : "none");
    report("ledger row is not the digest", h1 && !strstr("c291001835042e213221b2f9fca79c9c91d08813d599b717bc695a268edb2ea6",
                                                        c1.name + 4), h1 ? c1.name : "none");
    ky_free(s1);
    ky_free(s2);
}

static void series(void)
{
    char b[200];
    mt_series(b, sizeof b, "m", "agent", "a\"b\\c\nd", "code", "200", NULL);
    report("series escaping", !strcmp(b, "m{agent=\"a\\\"b\\\\c\\nd\",code=\"200\"}"), b);
    mt_series(b, sizeof b, "m", NULL);
    report("series without labels", !strcmp(b, "m"), b);
    char small[16];
    mt_series(small, sizeof small, "metric_name", "key", "a long value that does not fit", NULL);
    report("series truncated stays short", strlen(small) < sizeof small, small);
    mt_set *s1 = mt_new(), *s2 = mt_new();
    mt_add(s1, "routevm_requests_total{endpoint=\"x\"}", 2);
    mt_add(s2, "routevm_requests_total{endpoint=\"x\"}", 3);
    mt_hist(s1, MT_H_DECISION, NULL, NULL, 3);
    mt_hist(s2, MT_H_DECISION, NULL, NULL, 30000);
    mt_set *sets[2] = { s1, s2 };
    size_t len = 0;
    char *t = mt_render(sets, 2, NULL, &len);
    report("render sums sets", t && strstr(t, "routevm_requests_total{endpoint=\"x\"} 5\n") &&
                               strstr(t, "# TYPE routevm_requests_total counter\n"), t ? t : "NULL");
    report("render histogram", t && strstr(t, "routevm_decision_seconds_bucket{le=\"5e-06\"} 1\n") &&
                               strstr(t, "routevm_decision_seconds_bucket{le=\"+Inf\"} 2\n") &&
                               strstr(t, "routevm_decision_seconds_count 2\n"), t ? t : "NULL");
    free(t);
    mt_free(s1);
    mt_free(s2);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(i);
    budgets();
    hashed();
    series();
    return failed;
}
