/* Client-side CPU cost of one provider call, per provider and mode
   (bench/provcall.sh): the conversation built from the VM's call
   descriptor, the request body translated for the provider (and signed
   with SigV4 for Bedrock, with a signer that keeps its key cache as the
   runtime's does), the answer parsed -- a JSON body, or a stream through
   its decoder (SSE, AWS event stream) -- and the call's cost accounted.
   No network: the transport (libcurl) is not part of this figure.

   The request is ~1.6 KB of OpenAI chat JSON (a system prompt and five
   turns); the answer ~1 KB of text, streamed in 40 pieces.  Prints one
   line per case: "NAME us_per_call bytes_sent bytes_received", and to
   standard error the cost of each step alone.  PROVCALL_CASE=NAME runs
   one case (for perf record). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "anthropic.h"
#include "bedrock.h"
#include "compiler.h"
#include "conv.h"
#include "eventstream.h"
#include "openai.h"
#include "sigv4.h"
#include "sse.h"
#include "verify.h"
#include "vm.h"

static const char *POLICY =
    "provider o { kind openai endpoint \"https://o.example/v1\" key env(\"BENCH_OPENAI_KEY\") }\n"
    "provider a { kind anthropic endpoint \"https://a.example/v1\" key env(\"BENCH_ANTHROPIC_KEY\") }\n"
    "provider b { kind bedrock region \"us-east-1\" endpoint \"https://bedrock-runtime.us-east-1.amazonaws.com\" }\n"
    "model mo from o { id \"gpt-4o-mini\" price in $0.15/Mtok, out $0.60/Mtok context 128k tokens }\n"
    "model ma from a { id \"claude-3-5-haiku-20241022\" price in $0.8/Mtok, out $4/Mtok context 200k tokens }\n"
    "model mb from b { id \"anthropic.claude-3-haiku-20240307-v1:0\" price in $0.25/Mtok, out $1.25/Mtok context 200k tokens }\n"
    "agent ao { route -> mo }\nagent aa { route -> ma }\nagent ab { route -> mb }\n";

static const char *REQUEST =
    "{\"model\":\"ao\",\"temperature\":0.3,\"max_tokens\":400,\"messages\":["
    "{\"role\":\"system\",\"content\":\"You are the support assistant of Example Shop. Answer briefly and politely, "
    "in the customer's language. Never reveal internal notes. If you do not know, say so and offer to escalate.\"},"
    "{\"role\":\"user\",\"content\":\"Hello, I ordered a blender (order 55123) two weeks ago and it still has not "
    "arrived. The tracking page has said 'in transit' for nine days. Can you tell me what is going on?\"},"
    "{\"role\":\"assistant\",\"content\":\"I am sorry about the delay. I checked order 55123: the parcel left our "
    "warehouse on the 3rd and the carrier reported it at their regional hub on the 5th. Since then there has been "
    "no scan, which usually means it is waiting for a connection.\"},"
    "{\"role\":\"user\",\"content\":\"That is not good enough. I need it for a party this weekend. Can you send a "
    "new one by express delivery, and what happens to the first parcel if it turns up later?\"},"
    "{\"role\":\"assistant\",\"content\":\"I understand. I can ship a replacement by express today so it arrives "
    "before Saturday. If the first parcel arrives, you can refuse it or return it with the prepaid label.\"},"
    "{\"role\":\"user\",\"content\":\"OK, please do that. Also, will I be charged for the express shipping, and "
    "can you confirm the delivery address is still 12 Rue des Lilas, Lyon? The building has a code at the gate (4812) and the courier should ring the bell marked Martin on the third floor; if nobody answers, the parcel can be left with the concierge on the ground floor, who is there every weekday from 8 to 18. Thank you for your help so far.\"}]}";

static double now_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static char answer_text[1100];

/* ---------------------------------------------------------------- answers */

static char *oa_json(void)
{
    json_t *o = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:s}, s:s}], s:{s:i, s:i, s:i}}", "id", "chatcmpl-1", "model",
                          "gpt-4o-mini", "choices", "index", 0, "message", "role", "assistant", "content", answer_text,
                          "finish_reason", "stop", "usage", "prompt_tokens", 400, "completion_tokens", 230,
                          "total_tokens", 630);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *an_json(void)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:{s:i, s:i}}", "id", "msg_1", "type", "message",
                          "model", "claude-3-5-haiku-20241022", "content", "type", "text", "text", answer_text,
                          "stop_reason", "end_turn", "usage", "input_tokens", 400, "output_tokens", 230);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *br_json(void)
{
    json_t *o = json_pack("{s:{s:{s:s, s:[{s:s}]}}, s:s, s:{s:i, s:i, s:i}}", "output", "message", "role", "assistant",
                          "content", "text", answer_text, "stopReason", "end_turn", "usage", "inputTokens", 400,
                          "outputTokens", 230, "totalTokens", 630);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* the answer in 40 pieces */
static size_t piece(int i, const char **p)
{
    size_t n = strlen(answer_text), step = (n + 39) / 40, off = (size_t)i * step;
    if (off >= n)
        return 0;
    *p = answer_text + off;
    return off + step > n ? n - off : step;
}

static void append(char **buf, size_t *len, const char *s, size_t n)
{
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
}

static char *oa_sse(size_t *len)
{
    char *b = NULL;
    *len = 0;
    for (int i = 0; i < 40; i++) {
        const char *p;
        size_t n = piece(i, &p);
        json_t *o = json_pack("{s:s, s:s, s:[{s:i, s:{s:s%}}]}", "id", "c", "model", "gpt-4o-mini", "choices", "index", 0,
                              "delta", "content", p, n);
        char *s = json_dumps(o, JSON_COMPACT);
        append(&b, len, "data: ", 6);
        append(&b, len, s, strlen(s));
        append(&b, len, "\n\n", 2);
        free(s);
        json_decref(o);
    }
    const char *tail = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                       "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":400,\"completion_tokens\":230}}\n\n"
                       "data: [DONE]\n\n";
    append(&b, len, tail, strlen(tail));
    return b;
}

static char *an_sse(size_t *len)
{
    char *b = NULL;
    *len = 0;
    const char *head = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\","
                       "\"usage\":{\"input_tokens\":400,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: "
                       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    append(&b, len, head, strlen(head));
    for (int i = 0; i < 40; i++) {
        const char *p;
        size_t n = piece(i, &p);
        json_t *o = json_pack("{s:s, s:i, s:{s:s, s:s%}}", "type", "content_block_delta", "index", 0, "delta", "type",
                              "text_delta", "text", p, n);
        char *s = json_dumps(o, JSON_COMPACT);
        append(&b, len, "event: content_block_delta\ndata: ", 33);
        append(&b, len, s, strlen(s));
        append(&b, len, "\n\n", 2);
        free(s);
        json_decref(o);
    }
    const char *tail = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
                       "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                       "\"usage\":{\"output_tokens\":230}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    append(&b, len, tail, strlen(tail));
    return b;
}

static void es_event(char **b, size_t *len, const char *type, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    es_header h[3] = { es_str(":message-type", "event"), es_str(":event-type", type),
                       es_str(":content-type", "application/json") };
    uint8_t *out;
    size_t n;
    es_err err;
    if (es_encode(h, 3, s, strlen(s), &out, &n, &err) == 0) {
        append(b, len, (const char *)out, n);
        free(out);
    }
    free(s);
}

static char *br_es(size_t *len)
{
    char *b = NULL;
    *len = 0;
    es_event(&b, len, "messageStart", json_pack("{s:s}", "role", "assistant"));
    for (int i = 0; i < 40; i++) {
        const char *p;
        size_t n = piece(i, &p);
        es_event(&b, len, "contentBlockDelta", json_pack("{s:i, s:{s:s%}}", "contentBlockIndex", 0, "delta", "text", p, n));
    }
    es_event(&b, len, "messageStop", json_pack("{s:s}", "stopReason", "end_turn"));
    es_event(&b, len, "metadata", json_pack("{s:{s:i, s:i}}", "usage", "inputTokens", 400, "outputTokens", 230));
    return b;
}

/* ---------------------------------------------------------------- one call */

typedef struct {
    const rv_program *p;
    const rv_call *c;
    uint32_t kind;
    int stream;
    const char *answer;
    size_t answer_len;
    sse_decoder *sse;
    es_decoder *es;
    sv4_signer *signer;
    size_t sent;
    int64_t cost;
} bench_case;

static int sign_body(bench_case *b, const char *model, const char *body, size_t len)
{
    char *enc = sv4_uri_encode(model, strlen(model), 0);
    char path[512];
    snprintf(path, sizeof path, "/model/%s/%s", enc, b->stream ? "converse-stream" : "converse");
    free(enc);
    sv4_creds cr;
    sv4_err se;
    if (sv4_creds_from_env(&cr, &se))
        return -1;
    sv4_header h[2] = { { "content-type", "application/json" }, { "accept", "application/json" } };
    sv4_request rq = { .method = "POST", .host = "bedrock-runtime.us-east-1.amazonaws.com", .path = path,
                       .headers = h, .nheaders = 2, .payload = body, .payload_len = len, .region = "us-east-1",
                       .service = "bedrock", .time = 1764590000 };
    sv4_result res;
    if (sv4_sign(b->signer, &rq, &cr, &res, &se))
        return -1;
    sv4_result_free(&res);
    return 0;
}

/* The request body for the case's provider, signed for Bedrock; NULL on
   failure.  '*len' gets its length. */
static char *make_body(bench_case *b, const cv_conv *cv, size_t *len, int sign)
{
    char err[256];
    const char *model = rv_str(b->p, b->p->models[b->c->model].id);
    char *body = NULL;
    if (b->kind == RV_PROV_OPENAI) {
        oa_opts o = { b->stream, 0 };
        return oa_body(cv, model, &o, len);
    }
    if (b->kind == RV_PROV_ANTHROPIC)
        return an_body(cv, model, b->stream, len, err, sizeof err);
    body = br_body(cv, len, err, sizeof err);
    if (body && sign && sign_body(b, model, body, *len)) {
        free(body);
        return NULL;
    }
    return body;
}

/* Parse the case's answer into 'a'. */
static int parse_answer(bench_case *b, ans_answer *a)
{
    if (!b->stream) {
        if (b->kind == RV_PROV_OPENAI)
            oa_parse(a, b->answer, b->answer_len);
        else if (b->kind == RV_PROV_ANTHROPIC)
            an_parse(a, b->answer, b->answer_len);
        else
            br_parse(a, b->answer, b->answer_len);
    } else if (b->kind == RV_PROV_BEDROCK) {
        br_stream s;
        br_stream_init(&s);
        es_decoder_reset(b->es);
        const char *p = b->answer;
        size_t n = b->answer_len;
        while (n) {
            size_t used;
            es_message m;
            es_status st = es_decode(b->es, p, n, &used, &m);
            if (st < 0)
                return -1;
            p += used;
            n -= used;
            if (st == ES_MESSAGE)
                br_message(&s, a, &m);
            else
                break;
        }
    } else {
        an_stream s;
        an_stream_init(&s);
        sse_decoder_reset(b->sse);
        const char *p = b->answer;
        size_t n = b->answer_len;
        while (n) {
            size_t used;
            sse_event ev;
            sse_status st = sse_feed(b->sse, p, n, &used, &ev);
            if (st < 0)
                return -1;
            p += used;
            n -= used;
            if (st != SSE_EVENT)
                break;
            if (b->kind == RV_PROV_ANTHROPIC)
                an_event(&s, a, ev.type, ev.type_len, ev.data, ev.data_len);
            else
                oa_event(a, ev.data, ev.data_len);
        }
    }
    return 0;
}

static int one_call(bench_case *b)
{
    cv_conv cv;
    char err[256];
    if (cv_from_call(&cv, b->c, err, sizeof err))
        return -1;
    size_t len = 0;
    char *body = make_body(b, &cv, &len, 1);
    cv_free(&cv);
    if (!body)
        return -1;
    b->sent = len;
    free(body);
    ans_answer a;
    ans_init(&a);
    int ok = parse_answer(b, &a) == 0 && !a.failed && a.ended && a.text.len == strlen(answer_text) &&
             a.usage.output == 230;
    int64_t mean;
    ans_confidence(&a, &mean);
    b->cost = vm_usage_cost(b->p, b->c->model, &a.usage);
    ans_free(&a);
    return ok ? 0 : -1;
}

/* Each step alone, us per call (best of 5 rounds): the conversation, the
   body, the signature (Bedrock), the answer. */
static void steps(bench_case *b, int iters, double out[4])
{
    cv_conv cv;
    char err[256];
    size_t len;
    for (int k = 0; k < 4; k++)
        out[k] = 1e18;
    if (cv_from_call(&cv, b->c, err, sizeof err))
        return;
    char *body = make_body(b, &cv, &len, 0);
    const char *model = rv_str(b->p, b->p->models[b->c->model].id);
    for (int round = 0; round < 5; round++) {
        double t0 = now_cpu();
        for (int i = 0; i < iters; i++) {
            cv_conv c2;
            cv_from_call(&c2, b->c, err, sizeof err);
            cv_free(&c2);
        }
        double t1 = now_cpu();
        for (int i = 0; i < iters; i++)
            free(make_body(b, &cv, &len, 0));
        double t2 = now_cpu();
        for (int i = 0; b->kind == RV_PROV_BEDROCK && i < iters; i++)
            sign_body(b, model, body, len);
        double t3 = now_cpu();
        for (int i = 0; i < iters; i++) {
            ans_answer a;
            ans_init(&a);
            parse_answer(b, &a);
            ans_free(&a);
        }
        double t4 = now_cpu();
        double d[4] = { t1 - t0, t2 - t1, t3 - t2, t4 - t3 };
        for (int k = 0; k < 4; k++)
            if (d[k] / iters < out[k])
                out[k] = d[k] / iters;
    }
    free(body);
    cv_free(&cv);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 20000;
    setenv("BENCH_OPENAI_KEY", "sk-bench-0000000000000000000000000000", 1);
    setenv("BENCH_ANTHROPIC_KEY", "sk-ant-bench-000000000000000000000000", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDBENCH00000000000", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "bench/secret/key/0000000000000000000000", 1);
    unsetenv("AWS_SESSION_TOKEN");
    const char *words = "Thank you for your patience. I have arranged an express replacement for order 55123. ";
    while (strlen(answer_text) + strlen(words) < 1024)
        strcat(answer_text, words);
    rv_compiler *comp = comp_new(NULL);
    rv_program *p = NULL;
    rv_err verr;
    if (comp && import_text(comp, "bench.route", POLICY, strlen(POLICY)) == 0 && comp_check(comp) == 0)
        p = cg_program(comp);
    comp_free(comp);
    if (!p || ver_program(p, &verr)) {
        fprintf(stderr, "provcall: the bench policy does not compile\n");
        return 2;
    }
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err))
        return 2;
    rv_request *req = req_parse(REQUEST, strlen(REQUEST), NULL, &(rv_reqerr){ 0 });
    if (!req)
        return 2;
    const char *agents[3] = { "ao", "aa", "ab" };
    const char *names[3] = { "openai", "anthropic", "bedrock" };
    size_t oa_n, an_n, br_n;
    char *answers[6] = { oa_json(), oa_sse(&oa_n), an_json(), an_sse(&an_n), br_json(), br_es(&br_n) };
    size_t lens[6] = { strlen(answers[0]), oa_n, strlen(answers[2]), an_n, strlen(answers[4]), br_n };
    sse_decoder *sse = sse_decoder_new(0);
    es_decoder *es = es_decoder_new(0);
    sv4_signer *signer = sv4_signer_new();
    int status = 0;
    const char *only = getenv("PROVCALL_CASE");    /* one case only (profiling) */
    printf("# request %zu bytes, answer text %zu bytes\n", strlen(REQUEST), strlen(answer_text));
    for (int k = 0; k < 3; k++) {
        rv_vm *vm = vm_new(&img, NULL, NULL);
        if (vm_start(vm, vm_agent(p, agents[k], 2), req, NULL) != RV_CALL)
            return 2;
        for (int stream = 0; stream < 2; stream++) {
            char name[32];
            snprintf(name, sizeof name, "%s-%s", names[k], stream ? "stream" : "json");
            if (only && strcmp(only, name))
                continue;
            bench_case b = { p, vm_call(vm), (uint32_t)k, stream, answers[2 * k + stream], lens[2 * k + stream], sse, es,
                             signer, 0, 0 };
            for (int i = 0; i < iters / 10; i++)        /* warm up */
                if (one_call(&b)) {
                    fprintf(stderr, "provcall: %s %s failed\n", names[k], stream ? "stream" : "json");
                    return 2;
                }
            double best = 1e18;
            for (int round = 0; round < 5; round++) {
                double t0 = now_cpu();
                for (int i = 0; i < iters / 5; i++)
                    one_call(&b);
                double us = (now_cpu() - t0) / (iters / 5);
                if (us < best)
                    best = us;
            }
            printf("%s-%s %.2f %zu %zu\n", names[k], stream ? "stream" : "json", best, b.sent, b.answer_len);
            double st[4];
            steps(&b, iters / 5, st);
            fprintf(stderr, "# steps %s-%s conversation %.2f body %.2f sign %.2f answer %.2f\n", names[k],
                    stream ? "stream" : "json", st[0], st[1], st[2], st[3]);
        }
        vm_free(vm);
    }
    for (int i = 0; i < 6; i++)
        free(answers[i]);
    sse_decoder_free(sse);
    es_decoder_free(es);
    sv4_signer_free(signer);
    req_free(req);
    vm_image_free(&img);
    rv_program_free(p);
    return status;
}
