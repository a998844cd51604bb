/* Per-model rate limits (vm/providers/ratelimit.c) with an injected
   clock: the sliding minute for 'rpm' and 'tpm', estimates replaced by
   reported usage, stale tickets, models without limits, the ceiling on
   crafted usage, the model state the health module writes into the
   environment (the VM's 'saturated'), a decision that skips a saturated
   model, several threads sharing one limiter: exactly 'rpm' calls are
   let through -- and, without a limiter, the circuit states the health
   module writes as calls end and time passes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "envmem.h"
#include "health.h"
#include "ratelimit.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

#define SEC 1000000ll
#define START (1000 * SEC + 200000)        /* the test's clock starts at 1000.2 s */

static const char *POLICY =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model r2 from p { id \"r2\" price in $1/Mtok, out $2/Mtok context 8k tokens rpm 2 }\n"
    "model t100 from p { id \"t\" price in $1/Mtok, out $2/Mtok context 8k tokens tpm 100 }\n"
    "model free from p { id \"f\" price in $5/Mtok, out $9/Mtok context 8k tokens }\n"
    "model r100 from p { id \"r\" price in $1/Mtok, out $2/Mtok context 8k tokens rpm 100 }\n"
    "agent cheap { route -> cheapest [r2, free] }\n";
enum { R2, T100, FREE, R100 };

static rv_program *compile(void)
{
    rv_compiler *c = comp_new(NULL);
    rv_program *p = NULL;
    rv_err err;
    if (c && import_text(c, "ratelimit_test.route", POLICY, strlen(POLICY)) == 0 && comp_check(c) == 0)
        p = cg_program(c);
    else if (c) {
        diag_sort(&c->diag);
        diag_print(&c->diag, DIAG_TEXT, stdout);
    }
    comp_free(c);
    if (p && ver_program(p, &err)) {
        printf("FAIL verify: %s\n", err.msg);
        rv_program_free(p);
        p = NULL;
    }
    return p;
}

static void test_rpm(const rv_program *p)
{
    rl_limiter *l = rl_new(p);
    rl_ticket t;
    int a = rl_take(l, R2, 5, START, &t), b = rl_take(l, R2, 5, START + 30 * SEC, &t);
    int c = rl_take(l, R2, 5, START + 31 * SEC, &t);
    CHECK("rpm_two_then_refused", a == 0 && b == 0 && c == 1 && t.sec == -1, "%d %d %d", a, b, c);
    int64_t r, k;
    rl_usage(l, R2, START + 31 * SEC, &r, &k);
    CHECK("rpm_refused_not_counted", r == 2 && k == 10, "%lld requests, %lld tokens", (long long)r, (long long)k);
    /* the first call (second 1000) leaves the window at second 1060 */
    CHECK("rpm_still_full_at_59_9s", rl_saturated(l, R2, 1059 * SEC + 999999), "not saturated");
    CHECK("rpm_free_after_a_minute", !rl_saturated(l, R2, 1060 * SEC), "still saturated");
    CHECK("rpm_take_after_a_minute", rl_take(l, R2, 0, 1060 * SEC, &t) == 0 && t.sec == 1060, "refused");
    CHECK("rpm_full_again", rl_saturated(l, R2, 1060 * SEC), "not saturated");
    CHECK("rpm_long_idle", !rl_saturated(l, R2, 5000 * SEC) && rl_take(l, R2, 0, 5000 * SEC, &t) == 0, "saturated");
    rl_free(l);
}

static void test_tpm(const rv_program *p)
{
    rl_limiter *l = rl_new(p);
    rl_ticket t1, t2, t3;
    int a = rl_take(l, T100, 60, START, &t1), b = rl_take(l, T100, 60, START + SEC, &t2);
    int c = rl_take(l, T100, 1, START + 2 * SEC, &t3);
    CHECK("tpm_estimates_count", a == 0 && b == 0 && c == 1 && t1.tokens == 60, "%d %d %d", a, b, c);
    rl_settle(l, T100, &t1, 10);                    /* it used fewer than estimated */
    int64_t r, k;
    rl_usage(l, T100, START + 2 * SEC, &r, &k);
    CHECK("tpm_settled_to_usage", r == 2 && k == 70 && !rl_saturated(l, T100, START + 2 * SEC),
          "%lld tokens", (long long)k);
    rl_settle(l, T100, &t2, -1);                    /* no usage reported: the estimate stands */
    rl_usage(l, T100, START + 2 * SEC, &r, &k);
    CHECK("tpm_unreported_keeps_estimate", k == 70, "%lld tokens", (long long)k);
    CHECK("tpm_take_again", rl_take(l, T100, 5, START + 3 * SEC, &t3) == 0, "refused");
    rl_settle(l, T100, &t3, 500);                   /* the answer was long */
    CHECK("tpm_output_saturates", rl_saturated(l, T100, START + 4 * SEC), "not saturated");
    /* a ticket whose second has been reused by a later minute settles nothing */
    rl_ticket t4;
    rl_take(l, T100, 7, 1070 * SEC, &t4);
    rl_ticket stale = { 1010, 60 };                 /* slot 1010 % 60 == 1070 % 60 */
    rl_settle(l, T100, &stale, 0);
    rl_usage(l, T100, 1070 * SEC, &r, &k);
    CHECK("tpm_stale_ticket", r == 1 && k == 7, "%lld requests, %lld tokens", (long long)r, (long long)k);
    /* crafted usage does not wrap the sums */
    rl_settle(l, T100, &t4, INT64_MAX);
    rl_take(l, T100, INT64_MAX, 1071 * SEC, &t4);
    rl_usage(l, T100, 1071 * SEC, &r, &k);
    CHECK("tpm_huge_usage_capped", k > 0 && rl_saturated(l, T100, 1071 * SEC), "%lld tokens", (long long)k);
    rl_free(l);
}

static void test_unlimited(const rv_program *p)
{
    rl_limiter *l = rl_new(p);
    rl_ticket t;
    int refused = 0;
    for (int i = 0; i < 10000; i++)
        refused |= rl_take(l, FREE, 1000000, START, &t);
    CHECK("unlimited_never_saturated", !refused && !rl_limited(l, FREE) && rl_limited(l, R2) && t.sec == -1 &&
          !rl_saturated(l, FREE, START), "refused");
    CHECK("unknown_model", !rl_saturated(l, 99, START) && rl_take(l, 99, 1, START, &t) == 0, "saturated");
    CHECK("no_limiter", !rl_saturated(NULL, R2, START) && rl_take(NULL, R2, 1, START, &t) == 0, "saturated");
    rl_free(l);
    rl_free(NULL);
    rv_usage u = { 10, 20, 30, 40, 5 }, none = { -1, -1, -1, -1, -1 }, half = { -1, 7, -1, -1, -1 };
    CHECK("usage_tokens", rl_tokens(&u) == 100 && rl_tokens(&none) == -1 && rl_tokens(&half) == 7,
          "%lld", (long long)rl_tokens(&u));
}

/* The health module writes saturation into the environment; the VM skips
   the saturated model (the cheaper r2) for the dearer one. */
static void test_decision(const rv_program *p)
{
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL decision_image: %s\n", err);
        failures++;
        return;
    }
    rv_memenv *env = memenv_new(p->nmodel);
    hl_health *h = hl_new(p, env);
    rl_limiter *l = rl_new(p);
    hl_limit(h, l);
    rv_reqerr rerr;
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
    rv_request *req = req_parse(body, strlen(body), NULL, &rerr);
    rv_vm *vm = vm_new(&img, memenv_env(env), NULL);
    uint32_t agent = vm_agent(p, "cheap", 5);
    uint32_t first = RV_NONE, second = RV_NONE;
    hl_refresh(h, START);
    if (vm_start(vm, agent, req, NULL) == RV_CALL)
        first = vm_call(vm)->model;
    rl_ticket t;
    rl_take(l, R2, 1, START, &t);
    rl_take(l, R2, 1, START, &t);
    hl_refresh(h, START + SEC);
    rv_modelstate ms;
    memenv_env(env)->model_state(memenv_env(env)->ud, R2, &ms);
    CHECK("health_writes_saturated", ms.saturated && hl_state(h, R2).saturated && !hl_state(h, FREE).saturated,
          "env %d", ms.saturated);
    if (vm_start(vm, agent, req, NULL) == RV_CALL)
        second = vm_call(vm)->model;
    CHECK("decision_skips_saturated", first == R2 && second == FREE, "first %u, second %u", first, second);
    hl_refresh(h, START + 61 * SEC);
    CHECK("health_clears_saturated", !hl_state(h, R2).saturated, "still saturated");
    vm_free(vm);
    req_free(req);
    rl_free(l);
    hl_free(h);
    memenv_free(env);
    vm_image_free(&img);
}

/* The environment's model state after each observation and refresh,
   without a limiter (where a refresh writes only what changed): five
   failures open a circuit, another model's call leaves it open, time
   turns it half-open, a success closes it, and latency is written. */
static rv_modelstate env_state(rv_memenv *env, uint32_t m)
{
    rv_modelstate ms;
    memenv_env(env)->model_state(memenv_env(env)->ud, m, &ms);
    return ms;
}

static void test_circuit(const rv_program *p)
{
    rv_memenv *env = memenv_new(p->nmodel);
    hl_health *h = hl_new(p, env);
    rv_outcome fail = vm_outcome_init(0), ok = vm_outcome_init(1);
    fail.failure = RV_FAIL_SERVER;
    ok.latency_us = 5000;
    hl_refresh(h, START);
    for (int i = 0; i < HL_TRIP; i++)
        hl_observe(h, R2, &fail, START + i);
    int opened = env_state(env, R2).circuit == RV_CIRCUIT_OPEN;
    hl_observe(h, FREE, &ok, START + SEC);
    hl_refresh(h, START + 2 * SEC);
    int still = env_state(env, R2).circuit == RV_CIRCUIT_OPEN && env_state(env, FREE).latency_us == 5000 &&
                env_state(env, FREE).circuit == RV_CIRCUIT_CLOSED;
    hl_refresh(h, START + HL_OPEN_US + SEC);
    int half = env_state(env, R2).circuit == RV_CIRCUIT_HALF_OPEN;
    hl_observe(h, FREE, &ok, START + HL_OPEN_US + 2 * SEC);
    int half_kept = env_state(env, R2).circuit == RV_CIRCUIT_HALF_OPEN;
    hl_observe(h, R2, &ok, START + HL_OPEN_US + 3 * SEC);
    int closed = env_state(env, R2).circuit == RV_CIRCUIT_CLOSED && env_state(env, R2).latency_us == 5000;
    CHECK("health_circuit_opens", opened, "not open after %d failures", HL_TRIP);
    CHECK("health_circuit_stays_open", still, "another model's call changed it");
    CHECK("health_circuit_half_open", half && half_kept, "not half-open after %lld s", HL_OPEN_US / SEC);
    CHECK("health_circuit_closes", closed, "not closed by a success");
    hl_free(h);
    memenv_free(env);
}

/* ---------------------------------------------------------------- threads */

#define THREADS 4
#define TRIES 1000

static rl_limiter *shared;
static int let_through[THREADS];

static void *taker(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = 0; i < TRIES; i++) {
        rl_ticket t;
        if (rl_take(shared, R100, 3, START + i * 1000, &t) == 0) {
            let_through[k]++;
            rl_settle(shared, R100, &t, 4);
        }
    }
    return NULL;
}

static void test_threads(const rv_program *p)
{
    shared = rl_new(p);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, taker, (void *)(intptr_t)i);
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += let_through[i];
    }
    int64_t r, k;
    rl_usage(shared, R100, START + TRIES * 1000, &r, &k);
    CHECK("threads_exactly_rpm", total == 100 && r == 100 && k == 400, "%d let through, %lld tokens", total,
          (long long)k);
    rl_free(shared);
}

int main(void)
{
    rv_program *p = compile();
    if (!p) {
        printf("FAIL compile: the test policy does not compile\n");
        return 1;
    }
    test_rpm(p);
    test_tpm(p);
    test_unlimited(p);
    test_decision(p);
    test_circuit(p);
    test_threads(p);
    rv_program_free(p);
    return failures ? 1 : 0;
}
