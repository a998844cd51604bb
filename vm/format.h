/* Exact text for the units a program's integers carry (see program.h):
   money, rates, durations, token counts, percentages and fixed-point
   numbers.  Integer arithmetic only, trailing zeros trimmed, so the same
   value always prints the same way.  Used by the disassembler, the
   compiler's messages and the VM's traces.

   Each function writes at most 'n' bytes (NUL included) like snprintf and
   returns the length the full text needs; FMT_BUF is always enough. */
#ifndef RV_FORMAT_H
#define RV_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_BUF 48

/* v / 10^digits as a decimal, trailing zeros trimmed: (15, 1) -> "1.5". */
int fmt_decimal(char *buf, size_t n, int64_t v, int digits);
int fmt_money(char *buf, size_t n, int64_t pico);      /* "$0.02", "-$1.5" */
int fmt_rate(char *buf, size_t n, int64_t pico_tok);   /* "$0.15/Mtok" */
int fmt_duration(char *buf, size_t n, int64_t us);     /* "200ms", "1.5s", "0.25ms" */
int fmt_tokens(char *buf, size_t n, int64_t tok);      /* "8k tokens", "8192 tokens" */
int fmt_percent(char *buf, size_t n, int64_t millionths); /* "90%", "12.5%" */
int fmt_num(char *buf, size_t n, int64_t millionths);  /* "0.8", "-2" */

/* Any value of a numeric rv_type (BOOL and INT included); for other types
   writes "?".  'type' is an rv_type. */
int fmt_value(char *buf, size_t n, int type, int64_t v);

#endif
