/* The provider wire layer's share of a model call, in CPU time: signing a
   Bedrock Converse request (1.6 KB body, session credentials, a warm
   signer as in steady state), decoding a streamed OpenAI answer
   (tests/vectors/sse/openai/e2aad469..., 34 events, 8.7 KB) and a Bedrock
   ConverseStream answer (tests/eventstream/cases/bedrock_converse_stream,
   6 frames, 1 KB), and encoding one event-stream frame.  Each operation
   runs ITER times per round; prints one line per operation with the min
   and median of ROUNDS rounds in microseconds per operation.
   usage: wire ROOT [ROUNDS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eventstream.h"
#include "sigv4.h"
#include "sse.h"

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static sv4_signer *signer;
static sv4_request req;
static sv4_creds cr;
static const char *sse_data, *es_data;
static size_t sse_len, es_len;
static volatile size_t sink;

static int op_sign(void)
{
    sv4_result r;
    sv4_err e;
    if (sv4_sign(signer, &req, &cr, &r, &e))
        return -1;
    sink += strlen(r.authorization);
    sv4_result_free(&r);
    return 0;
}

static int op_sse(void)
{
    sse_decoder *d = sse_decoder_new(0);
    size_t off = 0, used;
    sse_event ev;
    sse_status st = SSE_NEED;
    while (off < sse_len && st >= 0) {
        st = sse_feed(d, sse_data + off, sse_len - off, &used, &ev);
        off += used;
        if (st == SSE_EVENT)
            sink += ev.data_len;
    }
    st = sse_finish(d, &ev);
    sse_decoder_free(d);
    return st == SSE_END ? 0 : -1;
}

static int op_es(void)
{
    es_decoder *d = es_decoder_new(0);
    size_t off = 0, used;
    es_message m;
    es_status st = ES_NEED;
    while (off < es_len && st >= 0) {
        st = es_decode(d, es_data + off, es_len - off, &used, &m);
        off += used;
        if (st == ES_MESSAGE)
            sink += m.payload_len;
    }
    st = es_finish(d);
    es_decoder_free(d);
    return st == ES_NEED ? 0 : -1;
}

static int op_es_encode(void)
{
    es_header h[] = { es_str(":event-type", "contentBlockDelta"), es_str(":content-type", "application/json"),
                      es_str(":message-type", "event") };
    static const char payload[] = "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hello, world\"},\"p\":\"abcdefgh\"}";
    uint8_t *out;
    size_t n;
    es_err e;
    if (es_encode(h, 3, payload, sizeof payload - 1, &out, &n, &e))
        return -1;
    sink += n;
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/vectors/sse/openai/e2aad469b71d1d4894ff833ea147020a9d875eb7ce644a0ff355581690a4cbfd.bin", root);
    sse_data = slurp(p, &sse_len);
    snprintf(p, sizeof p, "%s/tests/eventstream/cases/bedrock_converse_stream.bin", root);
    es_data = slurp(p, &es_len);
    if (!sse_data || !es_data) {
        fprintf(stderr, "wire: cannot read the inputs under %s\n", root);
        return 2;
    }
    static char body[1601];
    memset(body, 'x', 1600);
    memcpy(body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"", 48);
    static const sv4_header hs[] = { { "Content-Type", "application/json" }, { "Accept", "application/json" } };
    req = (sv4_request){ .method = "POST", .host = "bedrock-runtime.us-east-1.amazonaws.com",
                         .path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
                         .headers = hs, .nheaders = 2, .payload = body, .payload_len = 1600,
                         .region = "us-east-1", .service = "bedrock", .time = 1764547200 };
    cr = (sv4_creds){ "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                      "FwoGZXIvYXdzEXAMPLETOKENEXAMPLETOKENEXAMPLETOKENEXAMPLETOKEN" };
    signer = sv4_signer_new();
    struct { const char *name; size_t bytes; int (*fn)(void); int iter; } ops[] = {
        { "sign", 1600, op_sign, 20000 },
        { "sse", sse_len, op_sse, 2000 },
        { "es", es_len, op_es, 20000 },
        { "es_encode", 0, op_es_encode, 100000 },
    };
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        double *t = calloc((size_t)rounds, sizeof *t);
        for (int r = 0; r < rounds; r++) {
            double t0 = cpu_us();
            for (int i = 0; i < ops[k].iter; i++)
                if (ops[k].fn()) {
                    fprintf(stderr, "wire: %s failed\n", ops[k].name);
                    return 2;
                }
            t[r] = (cpu_us() - t0) / ops[k].iter;
        }
        qsort(t, (size_t)rounds, sizeof *t, cmp);
        printf("%s\t%zu\t%.2f\t%.2f\n", ops[k].name, ops[k].bytes, t[0], t[rounds / 2]);
        free(t);
    }
    sv4_signer_free(signer);
    return 0;
}
