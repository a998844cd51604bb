/* A one-pass reader of whole JSON texts that calls yajl's callbacks as
   yajl would, or declines.

   The JSON parsers (the request model, vm/request.c, and the answers'
   node table, vm/providers/jview.c) read through yajl's callbacks.
   yajl's lexer takes a byte at a time, and most of a request's parse
   was yajl's own (bench/RESULTS.md, "JSON reading").  jf_parse reads a
   whole text in memory in one pass -- string bodies sixteen bytes at a
   time -- and makes the calls yajl makes, in the same order, with the
   same arguments:

   - strings and keys without escapes as views of the text, the others
     decoded into a buffer of jf_parse's own that lives only during the
     callback (as yajl's decode buffer does: a callback copies what it
     keeps);
   - numbers (yajl_number; jf_parse never calls yajl_integer or
     yajl_double) as views of their text;
   - jf_consumed() during a callback is what yajl_get_bytes_consumed()
     returns there: the offset just past the token.

   It takes only what it is sure yajl takes the same way: one object or
   array as the root, then only JSON's whitespace (space, tab, newline,
   carriage return); nesting at most JF_MAX_DEPTH deep; escapes other
   than \u0000 and unpaired surrogates (a surrogate pair is decoded as
   yajl decodes it).  Anything else -- a syntax error, a vertical tab or
   form feed (whitespace to yajl), a scalar root, a second value -- it
   declines, having made only calls yajl makes too, in the same order,
   before it would stop: the caller then starts over with yajl, which
   judges the text and words the error.  A callback that returns 0 stops
   the read (JF_STOPPED), as it stops yajl.

   Strings are not checked as UTF-8 (as yajl_dont_validate_strings):
   both callers check the whole text first.  Bytes >= 0x20 other than
   '"' and '\\' are a string's own; a raw control byte declines.

   tests/unit/jsonfast_test.c and tests/fuzz/fuzz_jsonfast.c hold it to
   yajl: the same calls, arguments and offsets for every text it takes,
   a prefix of yajl's calls for every text it declines. */
#ifndef RV_JSONFAST_H
#define RV_JSONFAST_H

#include <stddef.h>

#include <yajl/yajl_parse.h>

#define JF_MAX_DEPTH 1024

typedef enum {
    JF_DONE,        /* the text read to its end, every call made */
    JF_STOPPED,     /* a callback returned 0 */
    JF_DECLINED,    /* not taken: read it with yajl (calls so far are a prefix of yajl's) */
} jf_result;

typedef struct {
    size_t pos;     /* during a callback: just past its token */
} jf_reader;

/* Reads s[0..n) (no terminator needed), calling cb's non-NULL members
   with ctx.  cb->yajl_number must be set (numbers go nowhere else). */
jf_result jf_parse(jf_reader *rd, const yajl_callbacks *cb, void *ctx, const char *s, size_t n);

/* During a callback: the offset just past the token it reports. */
static inline size_t jf_consumed(const jf_reader *rd) { return rd->pos; }

#endif
