/* libFuzzer harness for the provider answer parsers (vm/providers/
   openai.c, anthropic.c, bedrock.c, answer.c) behind the stream decoders
   the runtime uses (sse.c, eventstream.c): the first byte picks the
   parser, the rest is the provider's bytes.
     0  an OpenAI JSON answer          1  an OpenAI SSE stream
     2  an Anthropic JSON answer       3  an Anthropic SSE stream
     4  a Retry-After header value     5  a Bedrock Converse JSON answer
     6  a Bedrock ConverseStream event stream
   Properties (abort when broken): no crash, leak or unbounded growth;
   a stream read whole and read in two pieces split anywhere gives the
   same answer (text, tool calls, failure); the text never passes its
   cap; a confidence is within [0, 1]; a Retry-After is -1 or within
   [0, the cap]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"
#include "bedrock.h"
#include "eventstream.h"
#include "openai.h"
#include "sse.h"

static void sse_one(ans_answer *a, an_stream *s, int anthropic, const sse_event *ev)
{
    if (anthropic)
        an_event(s, a, ev->type, ev->type_len, ev->data, ev->data_len);
    else
        oa_event(a, ev->data, ev->data_len);
}

static void sse_piece(sse_decoder *d, ans_answer *a, an_stream *s, int anthropic, const uint8_t *p, size_t n)
{
    while (n && !a->failed) {
        size_t used = 0;
        sse_event ev;
        sse_status st = sse_feed(d, p, n, &used, &ev);
        if (st < 0) {
            ans_fail(a, RV_FAIL_MALFORMED, "bad stream");
            return;
        }
        p += used;
        n -= used;
        if (st == SSE_EVENT)
            sse_one(a, s, anthropic, &ev);
        else
            break;
    }
}

static void es_piece(es_decoder *d, ans_answer *a, br_stream *s, const uint8_t *p, size_t n)
{
    while (n && !a->failed) {
        size_t used = 0;
        es_message m;
        es_status st = es_decode(d, p, n, &used, &m);
        if (st < 0) {
            ans_fail(a, RV_FAIL_MALFORMED, "bad frames");
            return;
        }
        p += used;
        n -= used;
        if (st == ES_MESSAGE)
            br_message(s, a, &m);
        else
            break;
    }
}

static void stream(const uint8_t *p, size_t n, size_t split, int mode, ans_answer *a)
{
    if (mode == 6) {
        es_decoder *d = es_decoder_new(1u << 16);
        br_stream s;
        br_stream_init(&s);
        es_piece(d, a, &s, p, split);
        es_piece(d, a, &s, p + split, n - split);
        es_decoder_free(d);
        return;
    }
    sse_decoder *d = sse_decoder_new(1u << 16);
    an_stream s;
    an_stream_init(&s);
    sse_piece(d, a, &s, mode == 3, p, split);
    sse_piece(d, a, &s, mode == 3, p + split, n - split);
    sse_event ev;
    if (!a->failed && sse_finish(d, &ev) == SSE_EVENT)
        sse_one(a, &s, mode == 3, &ev);
    sse_decoder_free(d);
}

static int same(const ans_answer *x, const ans_answer *y)
{
    if (x->failed != y->failed || x->text.len != y->text.len || x->ntools != y->ntools)
        return 0;
    if (x->text.len && memcmp(x->text.p, y->text.p, x->text.len))
        return 0;
    for (uint32_t i = 0; i < x->ntools; i++)
        if (x->tools[i].args.len != y->tools[i].args.len ||
            (x->tools[i].args.len && memcmp(x->tools[i].args.p, y->tools[i].args.p, x->tools[i].args.len)))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    int mode = data[0] % 7;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == 4) {
        int64_t v = ans_retry_after((const char *)p, n, 1700000000);
        if (v < -1 || v > ANS_MAX_RETRY_AFTER_US)
            abort();
        return 0;
    }
    ans_answer a, b;
    ans_init(&a);
    ans_init(&b);
    if (mode == 0)
        oa_parse(&a, (const char *)p, n);
    else if (mode == 2)
        an_parse(&a, (const char *)p, n);
    else if (mode == 5)
        br_parse(&a, (const char *)p, n);
    else {
        size_t split = n ? (size_t)p[0] * n / 256 : 0;
        stream(p, n, n, mode, &a);
        stream(p, n, split, mode, &b);
        if (!same(&a, &b))
            abort();
    }
    if (a.text.len > ANS_MAX_TEXT)
        abort();
    int64_t mean;
    int64_t conf = ans_confidence(&a, &mean);
    if (conf != -1 && (conf < 0 || conf > 1000000))
        abort();
    ans_free(&a);
    ans_free(&b);
    return 0;
}
