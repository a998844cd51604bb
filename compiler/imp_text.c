/* imp_text: the writers of .route text for the importers -- a growable
   buffer, and one function per kind of literal (strings, regexes, prices,
   durations, numbers, model parameters, failure classes).  Every value
   read from a configuration reaches the policy through one of these, so
   quoting and units are decided in one place. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "importer.h"
#include "mem.h"

void imp_puts(imp_buf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

void imp_putf(imp_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        imp_puts(b, tmp);
        return;
    }
    if (tb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void imp_buf_free(imp_buf *b)
{
    tb_free(b);
}

void imp_put_str(imp_buf *b, const char *s)
{
    imp_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': imp_puts(b, "\\\""); break;
        case '\\': imp_puts(b, "\\\\"); break;
        case '\n': imp_puts(b, "\\n"); break;
        case '\t': imp_puts(b, "\\t"); break;
        case '\r': imp_puts(b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                imp_putf(b, "\\u{%x}", *p);
            else
                tb_put(b, (const char *)p, 1);
        }
    }
    imp_puts(b, "\"");
}

/* The code point of the UTF-8 sequence at 'p' (readers hand over valid
   UTF-8), and its length in '*n'. */
static unsigned utf8_cp(const unsigned char *p, int *n)
{
    if (*p < 0xe0) { *n = 2; return (unsigned)(p[0] & 0x1f) << 6 | (p[1] & 0x3f); }
    if (*p < 0xf0) { *n = 3; return (unsigned)(p[0] & 0x0f) << 12 | (unsigned)(p[1] & 0x3f) << 6 | (p[2] & 0x3f); }
    *n = 4;
    return (unsigned)(p[0] & 0x07) << 18 | (unsigned)(p[1] & 0x3f) << 12 | (unsigned)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
}

int imp_put_regex(imp_buf *b, const char *pattern, char *err, size_t errlen)
{
    if (strpbrk(pattern, "\n\r")) {
        snprintf(err, errlen, "a line break in the pattern");
        return -1;
    }
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, errlen, "PCRE2 rejects the pattern at offset %zu: %s", (size_t)off, (const char *)msg);
        return -1;
    }
    pcre2_code_free(re);
    imp_puts(b, "/");
    for (const unsigned char *p = (const unsigned char *)pattern; *p; p++) {
        if (*p == '\\' && p[1] == '/') {   /* already escaped */
            imp_puts(b, "\\/");
            p++;
        } else if (*p == '\\' && p[1]) {
            char two[3] = { '\\', (char)p[1], 0 };
            if (p[1] >= 0x80)
                imp_puts(b, "\\");
            else
                imp_puts(b, two), p++;
        } else if (*p == '/') {
            imp_puts(b, "\\/");
        } else if (*p >= 0x80) {
            int n;
            imp_putf(b, "\\x{%x}", utf8_cp(p, &n));
            p += n - 1;
        } else if (*p < 0x20 || *p == 0x7f) {
            imp_putf(b, "\\x{%x}", *p);
        } else {
            char one[2] = { (char)*p, 0 };
            imp_puts(b, one);
        }
    }
    imp_puts(b, "/");
    return 0;
}

/* 'v' / 10^6 in decimal, trailing zeros dropped. */
void imp_put_millionths(imp_buf *b, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char frac[8];
    snprintf(frac, sizeof frac, "%06llu", (unsigned long long)(u % 1000000));
    for (int i = 5; i >= 0 && frac[i] == '0'; i--)
        frac[i] = 0;
    imp_putf(b, "%s%llu%s%s", v < 0 ? "-" : "", (unsigned long long)(u / 1000000), *frac ? "." : "", frac);
}

void imp_put_price(imp_buf *b, int64_t pd_per_tok)
{
    imp_puts(b, "$");
    imp_put_millionths(b, pd_per_tok);   /* pd/tok = micro-dollars per Mtok */
    imp_puts(b, "/Mtok");
}

void imp_put_duration(imp_buf *b, int64_t us)
{
    if (us % 1000000 == 0)
        imp_putf(b, "%llds", (long long)(us / 1000000));
    else if (us % 1000 == 0)
        imp_putf(b, "%lldms", (long long)(us / 1000));
    else
        imp_putf(b, "%lldus", (long long)us);
}

/* ---------------------------------------------------------------- items */

static int put_stop(imp *im, imp_buf *items, const cfg_node *v)
{
    if (v->type == CFG_STR) {
        imp_puts(items, "  stop ");
        imp_put_str(items, v->str);
        imp_puts(items, "\n");
        return 0;
    }
    if (!imp_is(im, v, CFG_SEQ))
        return -1;
    if (v->n < 1 || v->n > RV_MAX_STOP)
        return imp_fail(im, v, "expected 1 to %d stop sequences", RV_MAX_STOP);
    imp_puts(items, "  stop [");
    for (const cfg_node *e = v->first; e; e = e->next) {
        const char *s = imp_str(im, e);
        if (!s)
            return -1;
        imp_put_str(items, s);
        imp_puts(items, e->next ? ", " : "]\n");
    }
    return 0;
}

int imp_model_param(imp *im, imp_buf *items, const char *param, const cfg_node *v)
{
    static const struct { const char *name; int integer; int64_t lo, hi; } params[] = {
#define X(n, s, t, lo, hi) { s, RV_T_##t == RV_T_INT, lo, hi },
        RV_PARAMS(X)
#undef X
    };
    if (!strcmp(param, "stop"))
        return put_stop(im, items, v);
    if (!strcmp(param, "max_tokens")) {
        int64_t n;
        if (imp_int(im, v, 1, 100000000, &n))
            return -1;
        imp_putf(items, "  max_tokens %lld tokens\n", (long long)n);
        return 0;
    }
    for (size_t i = 0; i < sizeof params / sizeof *params; i++) {
        if (strcmp(params[i].name, param))
            continue;
        int64_t n;
        if (params[i].integer) {
            if (imp_int(im, v, params[i].lo, params[i].hi, &n))
                return -1;
            imp_putf(items, "  %s %lld\n", param, (long long)n);
            return 0;
        }
        double r;
        if (imp_number(im, v, &r))
            return -1;
        if (!(r * 1e6 >= (double)params[i].lo && r * 1e6 <= (double)params[i].hi))
            return imp_fail(im, v, "%s out of range (%g to %g)", param, params[i].lo / 1e6, params[i].hi / 1e6);
        imp_putf(items, "  %s ", param);
        imp_put_millionths(items, llround(r * 1e6));
        imp_puts(items, "\n");
        return 0;
    }
    return imp_fail(im, v, "'%s' is not a model parameter", param);
}

/* ---------------------------------------------------------------- statuses */

enum { ST_RATE, ST_OVERLOADED, ST_SERVER, ST_AUTH, ST_CLIENT, ST__N };

int imp_put_statuses(imp *im, imp_buf *b, const cfg_node *codes, int for_retry)
{
    static const char *const names[ST__N] = { "rate_limited", "overloaded", "server_error", "auth", "client_error" };
    if (!imp_is(im, codes, CFG_SEQ))
        return -1;
    int set[ST__N] = { 0 }, any = 0;
    for (const cfg_node *e = codes->first; e; e = e->next) {
        int64_t st;
        if (imp_int(im, e, 0, 999, &st))
            return -1;
        int k = st == 429 ? ST_RATE : st == 529 ? ST_OVERLOADED : (st >= 500 && st <= 599) || st == 408 ? ST_SERVER
              : st == 401 || st == 403 ? ST_AUTH : st >= 400 && st <= 499 ? ST_CLIENT : -1;
        if (k < 0) {
            imp_note(im, e, "status %lld is not a failure; left out", (long long)st);
            continue;
        }
        if (for_retry && (k == ST_AUTH || k == ST_CLIENT)) {
            imp_note(im, e, "status %lld is not retried: a retry only repeats it", (long long)st);
            continue;
        }
        if (k == ST_SERVER && !set[k])
            imp_note(im, e, "approximated: status %lld is class server_error, which is every 5xx (but 529) and 408",
                     (long long)st);
        if (k == ST_AUTH && !set[k])
            imp_note(im, e, "approximated: status %lld is class auth, which is 401 and 403", (long long)st);
        if (k == ST_CLIENT && !set[k])
            imp_note(im, e, "approximated: status %lld is class client_error, every other 4xx", (long long)st);
        set[k] = 1;
    }
    for (int k = 0; k < ST__N; k++)
        if (set[k]) {
            imp_puts(b, any ? ", " : "[");
            imp_puts(b, names[k]);
            any = 1;
        }
    if (!any)
        return -1;
    imp_puts(b, "]");
    return 0;
}
