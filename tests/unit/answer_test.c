/* The provider runtime's shared answer logic (vm/providers/answer.c):
   Retry-After in both forms and its caps, failure classification, and
   confidence from log-probabilities. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"
#include "openai.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static void test_retry_after(void)
{
    const int64_t now = 1445412400;    /* Wed, 21 Oct 2015 07:26:40 GMT */
    struct { const char *v; int64_t want; } c[] = {
        { "0", 0 }, { "2", 2000000 }, { " 30 ", 30000000 }, { "600", 600000000 },
        { "601", 600000000 }, { "99999999999999999999999", 600000000 },
        { "-1", -1 }, { "soon-ish", -1 }, { "", -1 }, { "1.5", -1 }, { "2s", -1 },
        { "Wed, 21 Oct 2015 07:28:00 GMT", 80000000 },          /* 80 s after now */
        { "Wed, 21 Oct 2015 07:20:00 GMT", 0 },                 /* in the past */
        { "Fri, 31 Dec 9999 23:59:59 GMT", 600000000 },         /* capped */
        { "Wed, 21 Oct 2015 07:28:00 PST", -1 }, { "Wed, 32 Oct 2015 07:28:00 GMT", -1 },
        { "Wed, 21 Foo 2015 07:28:00 GMT", -1 },
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char name[80];
        snprintf(name, sizeof name, "retry_after_%zu", i);
        int64_t got = ans_retry_after(c[i].v, strlen(c[i].v), now);
        CHECK(name, got == c[i].want, "'%s': %lld, want %lld", c[i].v, (long long)got, (long long)c[i].want);
    }
}

static void test_classify(void)
{
    struct { int status; const char *kind, *msg; rv_failure want; } c[] = {
        { 429, "rate_limit_error", "", RV_FAIL_RATE }, { 503, "", "", RV_FAIL_SERVER },
        { 529, "overloaded_error", "", RV_FAIL_OVERLOADED }, { 500, "", "", RV_FAIL_SERVER },
        { 408, "", "", RV_FAIL_SERVER }, { 401, "authentication_error", "", RV_FAIL_AUTH },
        { 403, "", "", RV_FAIL_AUTH }, { 404, "", "", RV_FAIL_CLIENT }, { 400, "invalid_request_error", "x", RV_FAIL_CLIENT },
        { 400, "context_length_exceeded", "", RV_FAIL_CONTEXT },
        { 400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", RV_FAIL_CONTEXT },
        { 400, "content_filter", "", RV_FAIL_FILTERED }, { 0, "overloaded_error", "", RV_FAIL_OVERLOADED },
        { 0, "ThrottlingException", "", RV_FAIL_RATE }, { 0, "ModelStreamErrorException", "", RV_FAIL_SERVER },
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char name[80];
        snprintf(name, sizeof name, "classify_%d_%s", c[i].status, c[i].kind[0] ? c[i].kind : "plain");
        rv_failure f = ans_classify(c[i].status, c[i].kind, strlen(c[i].kind), c[i].msg, strlen(c[i].msg));
        CHECK(name, f == c[i].want, "%s, want %s", rv_failure_names[f], rv_failure_names[c[i].want]);
    }
    CHECK("html_page", ans_is_html("  <!DOCTYPE html><html>", 23) && ans_is_html("<HTML>", 6) && !ans_is_html("{\"a\":1}", 7), "html");
}

static void test_confidence(void)
{
    ans_answer a;
    ans_init(&a);
    int64_t mean;
    CHECK("confidence_unknown", ans_confidence(&a, &mean) == -1 && mean == 0, "no logprobs");
    for (int i = 0; i < 4; i++)
        ans_logprob(&a, log(0.9));
    int64_t c = ans_confidence(&a, &mean);
    CHECK("confidence_geometric_mean", c == 900000 && mean == (int64_t)llround(log(0.9) * 1e6), "%lld", (long long)c);
    ans_logprob(&a, -INFINITY);
    c = ans_confidence(&a, &mean);
    CHECK("confidence_minus_infinity", c >= 0 && c < 900000, "%lld", (long long)c);
    ans_free(&a);
}

int main(void)
{
    test_retry_after();
    test_classify();
    test_confidence();
    return failures ? 1 : 0;
}
