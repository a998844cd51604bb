/* Structured logs: one JSON object per line on standard error, written
   whole with one write (lines from several workers never interleave).
   Every line has "ts" (RFC 3339, UTC, microseconds), "level" and "event";
   the caller adds fields.  Values go through the one JSON writer, so any
   bytes are escaped.  Never pass a key, a header value or request text:
   logs name keys by line ("key@12") and requests by id. */
#ifndef RV_SERVE_LOG_H
#define RV_SERVE_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "jsonw.h"

typedef struct {
    jw_writer w;
    FILE *f;
    char *buf;
    size_t len;
} lg_line;

/* Start a line; 'level' is "info", "warn" or "error". */
void lg_begin(lg_line *l, const char *level, const char *event);
void lg_str(lg_line *l, const char *key, const char *s);
void lg_strn(lg_line *l, const char *key, const char *s, size_t n);
void lg_int(lg_line *l, const char *key, int64_t v);
/* Write the line and free it. */
void lg_end(lg_line *l);

/* A line with one message field. */
void lg_msg(const char *level, const char *event, const char *msg);

/* Where lines go (default stderr); borrowed. */
void lg_set_output(FILE *f);

#endif
