/* Accumulated answers and shared failure classification; see answer.h. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "answer.h"
#include "jview.h"
#include "mem.h"

void ans_init(ans_answer *a)
{
    memset(a, 0, sizeof *a);
    ans_reset(a);
}

void ans_reset(ans_answer *a)
{
    a->text.len = 0;
    for (uint32_t i = 0; i < a->ntools; i++)
        a->tools[i].id.len = a->tools[i].name.len = a->tools[i].args.len = 0;
    a->ntools = 0;
    a->usage = (rv_usage){ -1, -1, -1, -1, -1 };
    a->finish[0] = a->model[0] = a->id[0] = a->detail[0] = 0;
    a->logprob_sum = 0;
    a->logprob_n = 0;
    a->ended = a->failed = 0;
    a->failure = RV_FAIL_NONE;
    a->http_status = 0;
    a->retry_after_us = -1;
}

void ans_free(ans_answer *a)
{
    free(a->text.p);
    for (uint32_t i = 0; i < a->captools; i++) {
        free(a->tools[i].id.p);
        free(a->tools[i].name.p);
        free(a->tools[i].args.p);
    }
    free(a->tools);
    jv_free(a->json);
    memset(a, 0, sizeof *a);
}

struct jv_parser *ans_json(ans_answer *a)
{
    if (!a->json)
        a->json = jv_new();
    return a->json;
}

int ans_put(ans_buf *b, const char *s, size_t n)
{
    if (n > ANS_MAX_TEXT - b->len)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = mem_realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

int ans_text(ans_answer *a, const char *s, size_t n)
{
    if (ans_put(&a->text, s, n)) {
        ans_fail(a, RV_FAIL_MALFORMED, "the answer is longer than %u bytes", ANS_MAX_TEXT);
        return -1;
    }
    return 0;
}

ans_tool *ans_tool_at(ans_answer *a, uint32_t index)
{
    if (index >= ANS_MAX_TOOLS) {
        ans_fail(a, RV_FAIL_MALFORMED, "more than %d tool calls", ANS_MAX_TOOLS);
        return NULL;
    }
    if (index >= a->captools) {
        uint32_t cap = a->captools ? a->captools * 2 : 4;
        while (cap <= index)
            cap *= 2;
        ans_tool *t = mem_realloc(a->tools, cap * sizeof *t);
        if (!t) {
            ans_fail(a, RV_FAIL_MALFORMED, "out of memory for the tool calls");
            return NULL;
        }
        memset(t + a->captools, 0, (cap - a->captools) * sizeof *t);
        a->tools = t;
        a->captools = cap;
    }
    while (a->ntools <= index) {
        ans_tool *t = &a->tools[a->ntools++];
        t->id.len = t->name.len = t->args.len = 0;
    }
    return &a->tools[index];
}

void ans_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (!cap)
        return;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

void ans_fail(ans_answer *a, rv_failure f, const char *fmt, ...)
{
    if (a->failed)
        return;
    a->failed = 1;
    a->failure = f;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->detail, sizeof a->detail, fmt, ap);
    va_end(ap);
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && !memcmp(s, w, n);
}

void ans_finish(ans_answer *a, const char *s, size_t n)
{
    const char *f;
    if (word_is(s, n, "stop") || word_is(s, n, "end_turn") || word_is(s, n, "stop_sequence") ||
        word_is(s, n, "pause_turn"))
        f = "stop";
    else if (word_is(s, n, "length") || word_is(s, n, "max_tokens") || word_is(s, n, "model_context_window_exceeded"))
        f = "length";
    else if (word_is(s, n, "tool_calls") || word_is(s, n, "tool_use") || word_is(s, n, "function_call"))
        f = "tool_calls";
    else if (word_is(s, n, "content_filter") || word_is(s, n, "refusal") || word_is(s, n, "guardrail_intervened") ||
             word_is(s, n, "content_filtered"))
        f = "content_filter";
    else
        f = NULL;
    if (f)
        ans_copy(a->finish, sizeof a->finish, f, strlen(f));
    else
        ans_copy(a->finish, sizeof a->finish, s, n);
}

void ans_logprob(ans_answer *a, double lp)
{
    if (!isfinite(lp) || lp > 0)
        lp = lp > 0 ? 0 : -100;     /* -inf (probability 0) counts as very unsure */
    a->logprob_sum += lp;
    a->logprob_n++;
}

int64_t ans_confidence(const ans_answer *a, int64_t *mean)
{
    if (!a->logprob_n) {
        if (mean)
            *mean = 0;
        return -1;
    }
    double m = a->logprob_sum / (double)a->logprob_n;
    if (mean)
        *mean = (int64_t)llround(m * 1e6);
    return (int64_t)llround(exp(m) * 1e6);
}

/* ---------------------------------------------------------------- Retry-After */

static int month_of(const char *s)
{
    static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (!strncmp(s, m + 3 * i, 3))
            return i;
    return -1;
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (the form RFC 9110 says to
   send; the obsolete forms are accepted by strptime-free parsing of the
   same fields where they line up). */
static int64_t http_date(const char *v, size_t n)
{
    char buf[64];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    char wd[4], mon[4], tz[4];
    int day, year, hh, mm, ss;
    if (sscanf(buf, "%3s %d %3s %d %d:%d:%d %3s", wd, &day, mon, &year, &hh, &mm, &ss, tz) != 8 &&
        sscanf(buf, "%3s, %d %3s %d %d:%d:%d %3s", wd, &day, mon, &year, &hh, &mm, &ss, tz) != 8)
        return -1;
    int mo = month_of(mon);
    if (mo < 0 || strcmp(tz, "GMT") || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 || mm > 59 ||
        ss > 60 || hh < 0 || mm < 0 || ss < 0)
        return -1;
    struct tm tm = { 0 };
    tm.tm_year = year - 1900;
    tm.tm_mon = mo;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return (int64_t)timegm(&tm);
}

int64_t ans_retry_after(const char *v, size_t n, int64_t now)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (!n)
        return -1;
    if (isdigit((unsigned char)v[0])) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)v[i]))
                return -1;
            if (s < ANS_MAX_RETRY_AFTER_US / 1000000 + 1)
                s = s * 10 + (v[i] - '0');
        }
        int64_t us = s * 1000000;
        return us > ANS_MAX_RETRY_AFTER_US ? ANS_MAX_RETRY_AFTER_US : us;
    }
    int64_t t = http_date(v, n);
    if (t < 0)
        return -1;
    if (t <= now)
        return 0;
    return t - now > ANS_MAX_RETRY_AFTER_US / 1000000 ? ANS_MAX_RETRY_AFTER_US : (t - now) * 1000000;
}

/* ---------------------------------------------------------------- classification */

static int has(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++)
        if (!strncasecmp(s + i, w, wl))
            return 1;
    return 0;
}

rv_failure ans_classify(int status, const char *kind, size_t klen, const char *msg, size_t mlen)
{
    kind = kind ? kind : "";
    msg = msg ? msg : "";
    if (has(kind, klen, "context_length") || has(msg, mlen, "prompt is too long") ||
        has(msg, mlen, "context length") || has(msg, mlen, "context window") ||
        has(msg, mlen, "too many input tokens") || has(msg, mlen, "input is too long"))
        return RV_FAIL_CONTEXT;
    if (has(kind, klen, "content_filter") || has(kind, klen, "content_policy"))
        return RV_FAIL_FILTERED;
    if (has(kind, klen, "overloaded") || has(kind, klen, "ServiceUnavailable") || status == 529)
        return RV_FAIL_OVERLOADED;
    if (has(kind, klen, "rate_limit") || has(kind, klen, "Throttling") || has(kind, klen, "TooManyRequests"))
        return RV_FAIL_RATE;
    if (status)
        return vm_failure_of_http(status) != RV_FAIL_NONE ? vm_failure_of_http(status) : RV_FAIL_ERROR;
    if (has(kind, klen, "server") || has(kind, klen, "internal") || has(kind, klen, "ModelStreamError"))
        return RV_FAIL_SERVER;
    if (has(kind, klen, "Validation") || has(kind, klen, "invalid_request"))
        return RV_FAIL_CLIENT;
    return RV_FAIL_ERROR;
}

int ans_is_html(const char *body, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)body[i]))
        i++;
    return (n - i >= 5 && !strncasecmp(body + i, "<html", 5)) || (n - i >= 9 && !strncasecmp(body + i, "<!doctype", 9));
}
