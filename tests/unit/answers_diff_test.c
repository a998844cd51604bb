/* Differential test of the provider answer parsers: the yajl parsers
   (vm/providers/openai.c, anthropic.c, bedrock.c over jview.c) against the
   jansson parsers they replaced (tests/unit/ref/, kept verbatim as the
   reference).  Both read the same inputs, and every answer they build --
   failed or not, the failure class, the text, each tool call's id, name
   and arguments, the usage by class, finish reason, model, id,
   log-probabilities, the end marker, and the detail of every failure
   that is not a malformed one (a malformed one's detail quotes the JSON
   parser, whose words differ) -- must be the same, with one intended
   exception: a raw NUL byte, which jansson passes over after a literal or
   a number, is refused.

   Inputs: the answer fuzz corpus (tests/fuzz/corpus/answers: the first
   byte picks the parser, as tests/fuzz/fuzz_answers.c reads it), the
   vendored SSE streams (tests/vectors/sse) as OpenAI and Anthropic
   streams, every JSONTestSuite file (tests/vectors/json/test_parsing) as
   a JSON answer, an error body, a stream event of each kind and a
   Bedrock frame payload, and for each corpus file and stream a fixed set
   of mutations (bytes flipped, inserted, deleted, cut; members
   duplicated; escapes and numbers swapped in). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "anthropic.h"
#include "bedrock.h"
#include "eventstream.h"
#include "openai.h"
#include "sse.h"

#include "dirfiles.h"

#include "ref/openai_ref.h"
#include "ref/anthropic_ref.h"
#include "ref/bedrock_ref.h"
#include "sseread.h"

static int failures, compared;

/* ---------------------------------------------------------------- running */

typedef struct {
    void (*oa_parse)(ans_answer *, const char *, size_t);
    void (*oa_event)(ans_answer *, const char *, size_t);
    void (*oa_error)(ans_answer *, int, const char *, size_t);
    void (*an_parse)(ans_answer *, const char *, size_t);
    void (*an_event)(an_stream *, ans_answer *, const char *, size_t, const char *, size_t);
    void (*an_error)(ans_answer *, int, const char *, size_t);
    void (*br_parse)(ans_answer *, const char *, size_t);
    void (*br_message)(br_stream *, ans_answer *, const es_message *);
    void (*br_error)(ans_answer *, int, const char *, size_t, const char *, size_t);
} parsers;

static const parsers NEW = { oa_parse, oa_event, oa_error, an_parse, an_event, an_error, br_parse, br_message, br_error };
static const parsers REF = { ref_oa_parse, ref_oa_event, ref_oa_error, ref_an_parse, ref_an_event, ref_an_error,
                             ref_br_parse, ref_br_message, ref_br_error };

static void sse_stream(const parsers *P, ans_answer *a, int anthropic, const char *p, size_t n)
{
    sr_answer(a, anthropic, p, n, P->oa_event, P->an_event);
}

static void es_stream(const parsers *P, ans_answer *a, const char *p, size_t n)
{
    es_decoder *d = es_decoder_new(1u << 16);
    br_stream s;
    br_stream_init(&s);
    while (n && !a->failed) {
        size_t used = 0;
        es_message m;
        es_status st = es_decode(d, p, n, &used, &m);
        if (st < 0) {
            ans_fail(a, RV_FAIL_MALFORMED, "bad frames");
            break;
        }
        p += used;
        n -= used;
        if (st != ES_MESSAGE)
            break;
        P->br_message(&s, a, &m);
    }
    es_decoder_free(d);
}

/* A Bedrock event frame around 'payload', decoded and read. */
static void es_payload(const parsers *P, ans_answer *a, const char *type, const char *p, size_t n)
{
    es_header h[3] = { es_str(":message-type", "event"), es_str(":event-type", type),
                       es_str(":content-type", "application/json") };
    uint8_t *out;
    size_t len;
    es_err err;
    if (es_encode(h, 3, p, n, &out, &len, &err))
        return;
    es_stream(P, a, (const char *)out, len);
    free(out);
}

/* Modes: as fuzz_answers.c (0 OpenAI JSON, 1 OpenAI SSE, 2 Anthropic
   JSON, 3 Anthropic SSE, 5 Bedrock JSON, 6 Bedrock event stream), and 7-9
   the error bodies, 10-14 one stream event of each kind, 15-17 one
   Bedrock frame of each kind. */
#define MODES 18

static int run(const parsers *P, int mode, const char *p, size_t n, ans_answer *a)
{
    static const char *const an_types[] = { "message_start", "content_block_start", "content_block_delta" };
    static const char *const br_types[] = { "contentBlockStart", "contentBlockDelta", "metadata" };
    an_stream s;
    switch (mode) {
    case 0: P->oa_parse(a, p, n); return 1;
    case 1: sse_stream(P, a, 0, p, n); return 1;
    case 2: P->an_parse(a, p, n); return 1;
    case 3: sse_stream(P, a, 1, p, n); return 1;
    case 5: P->br_parse(a, p, n); return 1;
    case 6: es_stream(P, a, p, n); return 1;
    case 7: P->oa_error(a, 429, p, n); return 1;
    case 8: P->an_error(a, 529, p, n); return 1;
    case 9: P->br_error(a, 400, "ValidationException:http://x", 28, p, n); return 1;
    case 10: P->oa_event(a, p, n); return 1;
    case 11: case 12: case 13:
        an_stream_init(&s);
        s.started = mode != 11;
        P->an_event(&s, a, an_types[mode - 11], strlen(an_types[mode - 11]), p, n);
        return 1;
    case 14:
        an_stream_init(&s);
        P->an_event(&s, a, "error", 5, p, n);
        return 1;
    case 15: case 16: case 17:
        es_payload(P, a, br_types[mode - 15], p, n);
        return 1;
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- comparing */

static int same_buf(const ans_buf *x, const ans_buf *y)
{
    return x->len == y->len && (!x->len || !memcmp(x->p, y->p, x->len));
}

static const char *differs(const ans_answer *x, const ans_answer *y)
{
    if (x->failed != y->failed)
        return "failed";
    if (x->failed && x->failure != y->failure)
        return "failure class";
    if (x->failed && x->failure != RV_FAIL_MALFORMED && strcmp(x->detail, y->detail))
        return "failure detail";
    if (!same_buf(&x->text, &y->text))
        return "text";
    if (x->ntools != y->ntools)
        return "tool call count";
    for (uint32_t i = 0; i < x->ntools; i++)
        if (!same_buf(&x->tools[i].id, &y->tools[i].id) || !same_buf(&x->tools[i].name, &y->tools[i].name) ||
            !same_buf(&x->tools[i].args, &y->tools[i].args))
            return "tool call";
    if (memcmp(&x->usage, &y->usage, sizeof x->usage))
        return "usage";
    if (strcmp(x->finish, y->finish) || strcmp(x->model, y->model) || strcmp(x->id, y->id))
        return "finish, model or id";
    if (x->logprob_n != y->logprob_n || !(x->logprob_sum == y->logprob_sum ||
                                          (isnan(x->logprob_sum) && isnan(y->logprob_sum))))
        return "log-probabilities";
    if (x->ended != y->ended || x->http_status != y->http_status)
        return "end marker or status";
    return NULL;
}

static int show_failures = 40, nul_skipped;

static void compare(const char *name, int mode, const char *p, size_t n)
{
    ans_answer a, b;
    ans_init(&a);
    ans_init(&b);
    if (run(&NEW, mode, p, n, &a) && run(&REF, mode, p, n, &b)) {
        compared++;
        const char *d = differs(&a, &b);
        /* The one intended difference: jansson's reader passes over a raw
           NUL byte right after a literal or a number ("null\0}" parses);
           the new parser refuses every raw NUL.  Where the input holds
           one, the new side may fail as malformed where the old did not
           (or failed later). */
        if (d && memchr(p, 0, n) && a.failed && a.failure == RV_FAIL_MALFORMED &&
            (!b.failed || b.failure == RV_FAIL_MALFORMED)) {
            nul_skipped++;
            d = NULL;
        }
        if (d) {
            failures++;
            if (show_failures-- > 0)
                printf("FAIL answers_diff/%s/mode%d: the %s differs (new: %s%s, reference: %s%s) input: %.*s\n", name,
                       mode, d, a.failed ? "failed " : "", a.failed ? a.detail : "ok", "",
                       b.failed ? b.detail : "ok", n > 200 ? 200 : (int)n, p);
        }
    }
    ans_free(&a);
    ans_free(&b);
}

/* ---------------------------------------------------------------- inputs */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? rng % n : 0;
}

/* A mutation of p[0..n) into 'out' (room for n + 64 bytes); its length. */
static size_t mutate(const char *p, size_t n, char *out)
{
    static const char *const bits[] = {
        "\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00", "1e400", "-0", "99999999999999999999", "1.0", "\xc0\xaf",
        "\xed\xa0\x80", "\"", "{", "}", "[", "]", ",", ":", "null", "true", "\"x\":1,", "\"type\":\"error\",",
        "\"text\":\"t\",", "\"index\":300,", "\xef\xbb\xbf", "\\", "\\n", "\t", " ",
    };
    memcpy(out, p, n);
    size_t at = n ? rnd(n) : 0;
    switch (rnd(6)) {
    case 0:                 /* flip a byte */
        if (n)
            out[at] ^= (char)(1u << rnd(8));
        return n;
    case 1:                 /* cut */
        return at;
    case 2: {               /* delete a few bytes */
        size_t k = 1 + rnd(4);
        if (at + k > n)
            k = n - at;
        memmove(out + at, out + at + k, n - at - k);
        return n - k;
    }
    case 3: {               /* a member repeated: the bytes after a '{' */
        const char *brace = memchr(p + at, '{', n - at);
        if (!brace)
            return n;
        size_t b = (size_t)(brace - p) + 1, k = 1 + rnd(40);
        if (b + k > n)
            k = n - b;
        if (k > 60)
            k = 60;
        memmove(out + b + k, out + b, n - b);
        memcpy(out + b, p + b, k);
        return n + k;
    }
    default: {              /* something swapped in */
        const char *s = bits[rnd(sizeof bits / sizeof *bits)];
        size_t k = strlen(s);
        memmove(out + at + k, out + at, n - at);
        memcpy(out + at, s, k);
        return n + k;
    }
    }
}

static void with_mutations(const char *name, int mode, const char *p, size_t n, int count)
{
    compare(name, mode, p, n);
    char *m = malloc(n + 64);
    for (int i = 0; m && i < count; i++)
        compare(name, mode, m, mutate(p, n, m));
    free(m);
}

static void corpus_file(const char *name, const char *p, size_t n, void *ud)
{
    (void)ud;
    if (n)
        with_mutations(name, p[0] % 7, p + 1, n - 1, 300);
}

static void sse_file(const char *name, const char *p, size_t n, void *ud)
{
    with_mutations(name, *(int *)ud, p, n, 200);
}

/* A JSONTestSuite file through every parser that reads JSON. */
static void json_file(const char *name, const char *p, size_t n, void *ud)
{
    (void)ud;
    static const int modes[] = { 0, 2, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        compare(name, modes[i], p, n);
}

/* Inputs that once told the parsers apart, by mode. */
static const struct { int mode; const char *text; } KNOWN[] = {
    /* a string cut by the end of an event after its object: yajl, reading
       several documents with one handle, kept the cut token for the next */
    { 1, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\"elo\n\n"
         "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n" },
    { 10, "{\"choices\":[]} 1" },
    { 10, "{\"choices\":[]} {}" },
    { 10, "{\"choices\":[]}\t\r\n " },
    { 13, "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}tru" },
    /* a vertical tab or form feed between tokens: whitespace to yajl, not to JSON */
    { 10, "{\"choices\":\v[]}" },
    { 0, "\f{\"choices\":[]}" },
    { 7, "{\"error\":{\"message\":\"m\"}\v}" },
};

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    (void)ref_an_stream_init;       /* the reference's own; both sides share the new ones */
    (void)ref_br_stream_init;
    char dir[4096];
    struct { const char *sub; int mode; } sse_dirs[] = { { "tests/vectors/sse/openai", 1 },
                                                        { "tests/vectors/sse/anthropic", 3 } };
    int total = 0;
    for (size_t i = 0; i < sizeof KNOWN / sizeof *KNOWN; i++)
        compare("known", KNOWN[i].mode, KNOWN[i].text, strlen(KNOWN[i].text));
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/answers", root);
    int k = each_file(dir, corpus_file, NULL);
    total += k > 0 ? k : 0;
    for (size_t i = 0; i < sizeof sse_dirs / sizeof *sse_dirs; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, sse_dirs[i].sub);
        k = each_file(dir, sse_file, &sse_dirs[i].mode);
        total += k > 0 ? k : 0;
    }
    snprintf(dir, sizeof dir, "%s/tests/vectors/json/test_parsing", root);
    k = each_file(dir, json_file, NULL);
    total += k > 0 ? k : 0;
    if (total < 300) {
        printf("FAIL answers_diff/inputs: only %d input files found under %s\n", total, root);
        return 1;
    }
    if (!failures)
        printf("PASS answers_diff (%d inputs from %d files: the same answers; %d with a raw NUL byte refused "
               "where jansson passed over it)\n", compared, total, nul_skipped);
    else
        printf("FAIL answers_diff: %d of %d inputs differ\n", failures, compared);
    return failures ? 1 : 0;
}
