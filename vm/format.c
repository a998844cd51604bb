/* Unit formatting: integers in, exact decimal text out.  The scale of each
   unit is stated in program.h; every function here reduces to
   fmt_decimal(), which splits a magnitude into whole and fractional
   digits with integer division and trims the fraction's trailing zeros.
   Magnitudes are taken as uint64_t so INT64_MIN prints correctly. */
#include <inttypes.h>
#include <stdio.h>

#include "format.h"
#include "program.h"

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Writes "whole[.frac]" of 'm' scaled by 10^digits into 'out' (at least
   FMT_BUF bytes). */
static void fixed(char *out, uint64_t m, int digits)
{
    uint64_t scale = 1;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    uint64_t whole = m / scale, frac = m % scale;
    int len = snprintf(out, FMT_BUF, "%" PRIu64, whole);
    if (frac == 0)
        return;
    while (frac % 10 == 0) {      /* trim trailing zeros */
        frac /= 10;
        digits--;
    }
    snprintf(out + len, (size_t)(FMT_BUF - len), ".%0*" PRIu64, digits, frac);
}

int fmt_decimal(char *buf, size_t n, int64_t v, int digits)
{
    char t[FMT_BUF];
    if (digits < 0 || digits > 18)
        digits = 0;
    fixed(t, magnitude(v), digits);
    return snprintf(buf, n, "%s%s", v < 0 ? "-" : "", t);
}

int fmt_money(char *buf, size_t n, int64_t pico)
{
    char t[FMT_BUF];
    fixed(t, magnitude(pico), 12);
    return snprintf(buf, n, "%s$%s", pico < 0 ? "-" : "", t);
}

int fmt_rate(char *buf, size_t n, int64_t pico_tok)
{
    char t[FMT_BUF];
    fixed(t, magnitude(pico_tok), 6);   /* pico$/token == micro$/Mtok */
    return snprintf(buf, n, "%s$%s/Mtok", pico_tok < 0 ? "-" : "", t);
}

/* Seconds from one second up, milliseconds below. */
int fmt_duration(char *buf, size_t n, int64_t us)
{
    char t[FMT_BUF];
    uint64_t m = magnitude(us);
    int secs = m >= 1000000;
    fixed(t, m, secs ? 6 : 3);
    return snprintf(buf, n, "%s%s%s", us < 0 ? "-" : "", t, secs ? "s" : "ms");
}

/* "k" and "M" only when exact, as a policy author would write them. */
int fmt_tokens(char *buf, size_t n, int64_t tok)
{
    uint64_t m = magnitude(tok);
    const char *sign = tok < 0 ? "-" : "";
    if (m >= 1000000 && m % 1000000 == 0)
        return snprintf(buf, n, "%s%" PRIu64 "M tokens", sign, m / 1000000);
    if (m >= 1000 && m % 1000 == 0)
        return snprintf(buf, n, "%s%" PRIu64 "k tokens", sign, m / 1000);
    return snprintf(buf, n, "%s%" PRIu64 " tokens", sign, m);
}

int fmt_percent(char *buf, size_t n, int64_t millionths)
{
    char t[FMT_BUF];
    fixed(t, magnitude(millionths), 4);   /* 1% == 10,000 millionths */
    return snprintf(buf, n, "%s%s%%", millionths < 0 ? "-" : "", t);
}

int fmt_num(char *buf, size_t n, int64_t millionths)
{
    return fmt_decimal(buf, n, millionths, 6);
}

int fmt_value(char *buf, size_t n, int type, int64_t v)
{
    switch (type) {
    case RV_T_BOOL:     return snprintf(buf, n, "%s", v ? "true" : "false");
    case RV_T_INT:      return snprintf(buf, n, "%" PRId64, v);
    case RV_T_NUM:      return fmt_num(buf, n, v);
    case RV_T_MONEY:    return fmt_money(buf, n, v);
    case RV_T_RATE:     return fmt_rate(buf, n, v);
    case RV_T_DURATION: return fmt_duration(buf, n, v);
    case RV_T_TOKENS:   return fmt_tokens(buf, n, v);
    case RV_T_PERCENT:  return fmt_percent(buf, n, v);
    default:            return snprintf(buf, n, "?");
    }
}
