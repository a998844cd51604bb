/* A server-sent event stream read in a test: each event to a callback,
   or the answer an OpenAI or Anthropic stream makes through given event
   parsers (tests/unit/answers_diff_test.c passes the parsers and their
   jansson references, reply_diff_test.c the parsers).  Header-only
   (static inline functions) because every tests/unit/NAME.c becomes its
   own test binary. */
#ifndef RV_TEST_SSEREAD_H
#define RV_TEST_SSEREAD_H

#include "anthropic.h"
#include "answer.h"
#include "sse.h"

/* Each event of the SSE stream p[0..n) to 'fn', the last one even
   without its closing blank line, until 'fn' returns nonzero.  -1 when
   the stream is malformed (the events before it were given), else 0. */
static inline int sr_events(const char *p, size_t n, int (*fn)(void *ud, const sse_event *ev), void *ud)
{
    sse_decoder *d = sse_decoder_new(1u << 16);
    sse_event ev;
    int rc = d ? 0 : -1, stopped = 0;
    while (d && n && !stopped) {
        size_t used = 0;
        sse_status st = sse_feed(d, p, n, &used, &ev);
        if (st < 0) {
            rc = -1;
            break;
        }
        p += used;
        n -= used;
        if (st != SSE_EVENT)
            break;
        stopped = fn(ud, &ev);
    }
    if (!rc && !stopped && sse_finish(d, &ev) == SSE_EVENT)
        fn(ud, &ev);
    sse_decoder_free(d);
    return rc;
}

typedef struct {
    ans_answer *a;
    an_stream s;
    int anthropic;
    void (*oa_event)(ans_answer *, const char *, size_t);
    void (*an_event)(an_stream *, ans_answer *, const char *, size_t, const char *, size_t);
} sr_reading;

static inline int sr_event_to(void *ud, const sse_event *ev)
{
    sr_reading *r = ud;
    if (r->anthropic)
        r->an_event(&r->s, r->a, ev->type, ev->type_len, ev->data, ev->data_len);
    else
        r->oa_event(r->a, ev->data, ev->data_len);
    return r->a->failed;
}

/* The answer an OpenAI ('anthropic' 0) or Anthropic stream p[0..n)
   makes through the given event parsers; a malformed stream fails it. */
static inline void sr_answer(
    ans_answer *a, int anthropic, const char *p, size_t n, void (*oa)(ans_answer *, const char *, size_t),
    void (*an)(an_stream *, ans_answer *, const char *, size_t, const char *, size_t))
{
    sr_reading r = { .a = a, .anthropic = anthropic, .oa_event = oa, .an_event = an };
    an_stream_init(&r.s);
    if (sr_events(p, n, sr_event_to, &r))
        ans_fail(a, RV_FAIL_MALFORMED, "bad stream");
}

#endif
