/* Trace records (vm/trace.h) of decisions driven through the VM contract:
   the steps in order, every key docs/traces.md promises, the OpenTelemetry
   names, costs that add up, failures with their class, guardrail actions,
   and no prompt or answer text anywhere in the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "compiler.h"
#include "envmem.h"
#include "trace.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static const char *POLICY =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "provider q { kind anthropic endpoint \"https://y.example/v1\" }\n"
    "model a from p { id \"a-1\" price in $1/Mtok, out $2/Mtok context 8k tokens tier 1 }\n"
    "model b from q { id \"b-1\" price in $3/Mtok, out $6/Mtok context 8k tokens tier 2 }\n"
    "guardrail g { deny input matches /secret/i \"no secrets\"  redact input matches /[0-9]{4}/ with \"####\" }\n"
    "agent fb { guard g  route { when meta.task == \"x\" -> a \"the x task\"  otherwise -> b }  retry 1  fallback [b] }\n"
    "agent ab { route -> split 50% -> a, 50% -> b by user }\n";

static rv_program *compile(const char *text)
{
    return test_compile("trace_test.route", text, 0);
}

static const char *str(json_t *rec, const char *k)
{
    return json_string_value(json_object_get(rec, k));
}

static int64_t num(json_t *rec, const char *k)
{
    json_t *v = json_object_get(rec, k);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

/* retry on a 503, the retry fails on a timeout, the fallback answers */
static void test_fallback(const rv_program *p, rv_vm *vm)
{
    const char *body = "{\"model\":\"fb\",\"metadata\":{\"task\":\"x\"},"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"card 1234 please\"}]}";
    rv_request *req = req_parse(body, strlen(body), NULL, &(rv_reqerr){ 0 });
    rv_status st = vm_start(vm, vm_agent(p, "fb", 2), req, NULL);
    rv_outcome o = vm_outcome_init(0);
    o.failure = RV_FAIL_SERVER;
    o.http_status = 503;
    o.detail = "HTTP 503";
    o.usage = (rv_usage){ 0, 0, 0, 0, 0 };
    if (st == RV_CALL)
        st = vm_resume(vm, &o);
    o.failure = RV_FAIL_TIMEOUT;
    o.http_status = 0;
    o.detail = "no first byte within 5s";
    if (st == RV_CALL)
        st = vm_resume(vm, &o);
    rv_outcome ok = vm_outcome_init(1);
    ok.text = (rv_sv){ "the answer", 10 };
    ok.finish = (rv_sv){ "stop", 4 };
    ok.usage = (rv_usage){ 100, 20, 50, 10, 5 };
    ok.latency_us = 1500;
    ok.ttft_us = 300;
    if (st == RV_CALL)
        st = vm_resume(vm, &ok);
    CHECK("trace_fallback_answered", st == RV_DONE, "status %d", st);
    trace_call calls[3] = {
        { NULL, NULL, NULL, NULL, "HTTP 503", 0, 1000 },
        { NULL, NULL, NULL, NULL, "no first byte within 5s", 0, 2000 },
        { "b-1", "b-1-20250101", "stop", "msg_1", NULL, 0, 3000 },
    };
    trace_request rq = { "req-1", 1000, 5000, 0, calls, 3, NULL, NULL, -1, NULL, { NULL, 0 } };
    const rv_result *res = vm_result(vm);
    json_t *arr = trace_records(p, res, &rq);
    CHECK("trace_records_built", arr != NULL, "NULL");
    if (!arr) {
        req_free(req);
        return;
    }
    /* steps: request, guardrail (redact input), route, call x3, outcome */
    const char *want[] = { "request", "guardrail", "route", "call", "call", "call", "outcome" };
    size_t n = json_array_size(arr);
    int order = n == 7;
    for (size_t i = 0; order && i < n; i++) {
        json_t *r = json_array_get(arr, i);
        order = !strcmp(str(r, "routevm.step"), want[i]) && num(r, "routevm.seq") == (int64_t)i &&
                !strcmp(str(r, "routevm.request_id"), "req-1");
    }
    CHECK("trace_step_order", order, "%zu records", n);
    json_t *req_rec = json_array_get(arr, 0), *g = json_array_get(arr, 1), *route = json_array_get(arr, 2);
    CHECK("trace_request_record", str(req_rec, "routevm.policy.hash") && strlen(str(req_rec, "routevm.policy.hash")) == 64 &&
          !strcmp(str(req_rec, "routevm.agent"), "fb"), "bad request record");
    CHECK("trace_guard_record", !strcmp(str(g, "routevm.guardrail"), "g") && !strcmp(str(g, "routevm.guardrail.kind"), "redact") &&
          num(g, "routevm.guardrail.count") == 1 && num(g, "routevm.guardrail.action") == 2, "bad guardrail record");
    json_t *span = json_object_get(route, "routevm.rule.span");
    CHECK("trace_route_record", num(route, "routevm.rule") == 1 && !strcmp(str(route, "routevm.reason"), "the x task") &&
          json_is_object(span) && !strcmp(json_string_value(json_object_get(span, "file")), "trace_test.route") &&
          json_integer_value(json_object_get(span, "line")) == 6, "bad route record");
    json_t *c0 = json_array_get(arr, 3), *c1 = json_array_get(arr, 4), *c2 = json_array_get(arr, 5);
    CHECK("trace_call_503", !strcmp(str(c0, "error.type"), "server_error") && num(c0, "http.response.status_code") == 503 &&
          !strcmp(str(c0, "gen_ai.provider.name"), "openai") && !strcmp(str(c0, "gen_ai.request.model"), "a-1") &&
          num(c0, "routevm.attempt") == 1 && !strcmp(str(c0, "routevm.error"), "HTTP 503"), "bad first call");
    CHECK("trace_call_timeout", !strcmp(str(c1, "error.type"), "timeout") && num(c1, "routevm.attempt") == 2 &&
          json_object_get(c1, "http.response.status_code") == NULL, "bad second call");
    CHECK("trace_call_usage", !strcmp(str(c2, "gen_ai.provider.name"), "anthropic") &&
          num(c2, "gen_ai.usage.input_tokens") == 160 && num(c2, "routevm.usage.uncached_input_tokens") == 100 &&
          num(c2, "gen_ai.usage.output_tokens") == 20 && num(c2, "gen_ai.usage.cache_read.input_tokens") == 50 &&
          num(c2, "gen_ai.usage.cache_creation.input_tokens") == 10 && num(c2, "routevm.usage.reasoning_tokens") == 5 &&
          !strcmp(str(c2, "gen_ai.response.model"), "b-1-20250101") && num(c2, "routevm.ttft_us") == 300 &&
          json_is_array(json_object_get(c2, "gen_ai.response.finish_reasons")) && !json_object_get(c2, "error.type"),
          "bad third call");
    json_t *out = json_array_get(arr, 6);
    int64_t sum = num(c0, "routevm.cost") + num(c1, "routevm.cost") + num(c2, "routevm.cost");
    CHECK("trace_cost_adds_up", num(out, "routevm.cost") == sum && sum == (int64_t)res->cost && sum > 0,
          "outcome %lld, calls %lld", (long long)num(out, "routevm.cost"), (long long)sum);
    CHECK("trace_outcome", !strcmp(str(out, "routevm.status"), "answered") && !strcmp(str(out, "routevm.model"), "b") &&
          num(out, "routevm.calls") == 3 && num(out, "routevm.latency_us") == 4000 && num(out, "routevm.redactions") == 1,
          "bad outcome");
    /* the written lines: one per record, no prompt or answer text */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int w = trace_write(f, p, res, &rq);
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    CHECK("trace_jsonl", w == 0 && lines == 7, "rc %d, %zu lines", w, lines);
    CHECK("trace_no_text", !strstr(buf, "1234") && !strstr(buf, "the answer") && !strstr(buf, "card"), "text leaked");
    free(buf);
    json_decref(arr);
    req_free(req);
}

static void test_denied(const rv_program *p, rv_vm *vm)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"my SECRET is here\"}]}";
    rv_request *req = req_parse(body, strlen(body), NULL, &(rv_reqerr){ 0 });
    rv_status st = vm_start(vm, vm_agent(p, "fb", 2), req, NULL);
    trace_request rq = { "req-2", -1, -1, 1, NULL, 0, NULL, NULL, -1, NULL, { NULL, 0 } };
    json_t *arr = trace_records(p, vm_result(vm), &rq);
    json_t *out = json_array_get(arr, json_array_size(arr) - 1);
    CHECK("trace_denied", st == RV_DENIED && json_array_size(arr) == 3 &&
          !strcmp(str(out, "routevm.status"), "denied") && !strcmp(str(out, "routevm.guardrail"), "g") &&
          !strcmp(str(out, "routevm.deny_reason"), "no secrets") && num(out, "routevm.cost") == 0 &&
          json_object_get(out, "routevm.latency_us") == NULL,
          "status %d, %zu records", st, json_array_size(arr));
    json_decref(arr);
    req_free(req);
}

static void test_failed(const rv_program *p, rv_vm *vm)
{
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    rv_request *req = req_parse(body, strlen(body), NULL, &(rv_reqerr){ 0 });
    rv_status st = vm_start(vm, vm_agent(p, "fb", 2), req, NULL);
    rv_outcome o = vm_outcome_init(0);
    o.failure = RV_FAIL_AUTH;
    o.http_status = 401;
    for (int i = 0; i < 5 && st == RV_CALL; i++)
        st = vm_resume(vm, &o);
    trace_request rq = { "req-3", 10, 20, 0, NULL, 0, NULL, NULL, -1, NULL, { NULL, 0 } };
    json_t *arr = trace_records(p, vm_result(vm), &rq);
    json_t *out = json_array_get(arr, json_array_size(arr) - 1);
    CHECK("trace_failed", st == RV_FAILED && !strcmp(str(out, "routevm.status"), "failed") &&
          !strcmp(str(out, "error.type"), "auth") && str(out, "routevm.error") != NULL,
          "status %d", st);
    json_decref(arr);
    req_free(req);
}

/* An A/B split: the outcome record names the arm taken (1-based) and the
   split's source span, and the request record the request's task. */
static void test_split(const rv_program *p, rv_vm *vm)
{
    int arms[3] = { 0 }, bad = 0, task_ok = 1;
    for (int u = 0; u < 20; u++) {
        char body[200];
        snprintf(body, sizeof body, "{\"user\":\"user-%d\",\"metadata\":{\"task\":\"t%d\"},"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", u, u % 2);
        rv_request *req = req_parse(body, strlen(body), NULL, &(rv_reqerr){ 0 });
        rv_status st = vm_start(vm, vm_agent(p, "ab", 2), req, NULL);
        rv_outcome o = vm_outcome_init(1);
        o.text = (rv_sv){ "ok", 2 };
        if (st == RV_CALL)
            st = vm_resume(vm, &o);
        trace_request rq = { "req-s", 10, 20, 0, NULL, 0, NULL, NULL, -1, NULL, trace_task(req) };
        json_t *arr = trace_records(p, vm_result(vm), &rq);
        json_t *route = json_array_get(arr, json_array_size(arr) - 1), *span = json_object_get(route, "routevm.split.span");
        int64_t arm = num(route, "routevm.split.arm");
        const char *model = str(route, "routevm.model");
        char task[8];
        snprintf(task, sizeof task, "t%d", u % 2);
        task_ok &= str(json_array_get(arr, 0), "routevm.task") && !strcmp(str(json_array_get(arr, 0), "routevm.task"), task);
        if (st != RV_DONE || !model || arm < 1 || arm > 2 || strcmp(model, arm == 1 ? "a" : "b") ||
            num(span, "line") != 7)
            bad++;
        else
            arms[arm]++;
        json_decref(arr);
        req_free(req);
    }
    CHECK("trace_split_arm", !bad && arms[1] > 0 && arms[2] > 0, "%d bad, arms %d/%d", bad, arms[1], arms[2]);
    CHECK("trace_task", task_ok, "routevm.task is not the request's meta.task");
}

int main(void)
{
    rv_program *p = compile(POLICY);
    if (!p) {
        printf("FAIL trace_compile: the test policy does not compile\n");
        return 1;
    }
    rv_image img;
    char err[256];
    vm_image_init(&img, p, err, sizeof err);
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, 1700000000000000);
    rv_vm *vm = vm_new(&img, memenv_env(env), NULL);
    test_fallback(p, vm);
    test_denied(p, vm);
    test_failed(p, vm);
    test_split(p, vm);
    vm_free(vm);
    memenv_free(env);
    vm_image_free(&img);
    rv_program_free(p);
    return failures ? 1 : 0;
}
