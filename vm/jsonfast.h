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
     decoded: into memory of the caller's when it gives jf_reader a room
     hook (below), else into a buffer of jf_parse's own that lives only
     during the callback (as yajl's decode buffer does: a callback copies
     what it keeps);
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
   the read (JF_STOPPED), as it stops yajl; so does a room hook's refusal
   (below).

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

/* Where decoded strings go.  With 'room' NULL, into jf_parse's own
   buffer (a stack buffer, or one malloc'd for a long string and freed
   when its call returns): the bytes are the callback's to read during
   the call only, and are counted against no limit of the caller's.

   With 'room' set, every decoded string is written into memory the
   caller gives and accounts for: room(ctx, n) -- ctx the callbacks' --
   returns n bytes (n >= 1, the string's decoded length, no terminator)
   for the string whose call (yajl_string or yajl_map_key) is the next
   one jf_parse makes, with exactly those n bytes at that address; they
   are the caller's from then on (jf_parse neither frees nor touches them
   again), so a callback that keeps the string need not copy it.  NULL
   refuses: jf_parse stops as if that call had returned 0 (JF_STOPPED,
   the call not made; the caller knows why and reports it).  room is
   asked only for a call that is made (a NULL callback's string is not
   decoded), and jf_consumed() during it is already the call's. */
typedef struct {
    size_t pos;     /* during a callback: just past its token (set by jf_parse) */
    char *(*room)(void *ctx, size_t n);     /* the caller's, or NULL (see above) */
} jf_reader;

/* Reads s[0..n) (no terminator needed), calling cb's non-NULL members
   with ctx.  cb->yajl_number must be set (numbers go nowhere else).
   rd->room must be set (or NULL) before the call. */
jf_result jf_parse(jf_reader *rd, const yajl_callbacks *cb, void *ctx, const char *s, size_t n);

/* During a callback: the offset just past the token it reports. */
static inline size_t jf_consumed(const jf_reader *rd) { return rd->pos; }

#endif
