/* Budgets hold (vm.h, rv_env; docs/language.md, "Budgets"), checked as
   properties over many random decisions rather than one case at a time:

   - per day: whatever happens -- cascades, judges, retries, fallbacks,
     failures with and without usage, delegation -- the in-memory ledger
     never holds more than an agent's daily budget (settled spend plus
     open reservations), provided no call costs more than the worst case
     the VM reserved for it (the usage each answer reports here stays
     within the call's description: input within the bytes of the
     conversation, output within the call's output limit); and the
     ledger of every agent on a request's path -- the one addressed, the
     delegates in between, the one deciding -- equals the sum of the
     costs of the requests that went through it;
   - a decision the driver leaves at RV_CALL (explain reports the first
     call and moves on) holds no reservation once the VM starts the next
     request or is freed;
   - money never overflows: usage counts near INT64_MAX from a provider
     saturate the cost and the ledger, and the next reservation is
     refused, with no signed overflow (UBSan would stop the test), even
     at the largest prices a crafted program may state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "compiler.h"
#include "envmem.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

#define DAY_US 86400000000LL
#define NOW    (1700000000000000LL)
#define DAY    (NOW / DAY_US)
#define DOLLAR 1000000000000LL      /* picodollars */

static const char *POLICY =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model a from p { id \"a\" price in $1/Mtok, out $2/Mtok context 8k tokens }\n"
    "model b from p { id \"b\" price in $3/Mtok, out $6/Mtok, cached $0.5/Mtok, cache_write $4/Mtok,\n"
    "  reasoning $8/Mtok context 8k tokens output 2k tokens system \"You are {model} for {agent}.\" }\n"
    "model j from p { id \"j\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
    "model s from p { id \"s\" price in $1/Mtok, out $1/Mtok context 8k tokens fallback on rate_limited -> b }\n"
    "agent leaf { route -> cascade [a, b] until confidence >= 0.5 by judge j  retry 2  fallback [s, b]\n"
    "  budget $0.2 per day }\n"
    "agent mid { route -> leaf  budget $0.1 per day }\n"
    "agent top { route -> mid }\n"
    "agent casc { route -> cascade [s, a, b] until confidence >= 0.8  retry 1  fallback [b]  budget $0.3 per day }\n"
    "agent spare { route -> b  budget $0.15 per day }\n"
    "agent front { route -> s  fallback [spare]  budget $0.25 per day }\n";

static rv_program *compile(const char *text)
{
    return test_compile("budget_test.route", text, 0);
}

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? rng % n : 0;
}

static int64_t ledger(rv_memenv *env, const char *agent)
{
    rv_spendkey k = { agent, (uint32_t)strlen(agent), DAY };
    return memenv_env(env)->spent(memenv_env(env)->ud, &k);
}

/* The bytes of what the call sends: an upper bound on its input tokens. */
static int64_t call_bytes(const rv_call *c)
{
    int64_t b = 0;
    if (c->msgs) {
        for (uint32_t i = 0; i < c->nmsgs; i++)
            b += c->msgs[i].text.len + 4;
        return b;
    }
    for (uint32_t i = 0; i < c->req->nslot; i++)
        b += c->texts[i].len;
    return b + 4 * (int64_t)c->req->nmsg + c->system.len + 4;
}

/* A random outcome for the call in progress, its usage within the call's
   description. */
static rv_outcome outcome(const rv_vm *vm, const rv_program *p, char *text)
{
    const rv_call *c = vm_call(vm);
    rv_outcome o = vm_outcome_init(rnd(4) != 0);
    int64_t in = call_bytes(c), out = c->max_output ? c->max_output : p->models[c->model].context;
    int64_t used_in = (int64_t)rnd((uint64_t)in + 1), used_out = (int64_t)rnd((uint64_t)out + 1);
    if (rnd(3)) {       /* reported usage, split into classes */
        o.usage.cache_read = (int64_t)rnd((uint64_t)used_in + 1);
        o.usage.cache_write = (int64_t)rnd((uint64_t)(used_in - o.usage.cache_read) + 1);
        o.usage.input = used_in - o.usage.cache_read - o.usage.cache_write;
        o.usage.output = used_out;
        o.usage.reasoning = (int64_t)rnd((uint64_t)used_out + 1);
    }
    if (o.ok) {
        static const char *const answers[] = { "0.9", "0.1", "fine", "", "rating: 0.7" };
        snprintf(text, 64, "%s", answers[rnd(5)]);
        o.text.s = text;
        o.text.len = (uint32_t)strlen(text);
        o.confidence = rnd(2) ? (int64_t)rnd(1000001) : -1;
    } else {
        static const rv_failure classes[] = { RV_FAIL_TIMEOUT, RV_FAIL_RATE, RV_FAIL_SERVER, RV_FAIL_CLIENT,
                                              RV_FAIL_CONTEXT, RV_FAIL_RESET };
        o.failure = classes[rnd(6)];
        if (rnd(2))
            o.usage.input = o.usage.output = -1;    /* a failure with no usage is not billed */
    }
    return o;
}

static void test_day_budgets(const rv_program *p, const rv_image *img)
{
    static const char *const agents[] = { "leaf", "mid", "top", "casc", "spare", "front" };
    static const char *const budgeted[] = { "leaf", "mid", "casc", "spare", "front" };
    static const int64_t limit[] = { 200000000000LL, 100000000000LL, 300000000000LL, 150000000000LL, 250000000000LL };
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, NOW);
    rv_vm *vm = vm_new(img, memenv_env(env), NULL);
    const rv_result *res = vm_result(vm);
    int64_t expect[5] = { 0 };
    int over = 0, mismatch = 0, decisions = 0, refused = 0;
    char detail[256] = "";
    static const char *const bodies[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"a longer question "
        "about routing, budgets and what a cascade costs when every step fails\"}],\"max_tokens\":500}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":3000}",
    };
    rv_request *reqs[3];
    for (int i = 0; i < 3; i++) {
        rv_reqerr e;
        reqs[i] = req_parse(bodies[i], strlen(bodies[i]), NULL, &e);
    }
    for (int n = 0; n < 3000 && !over && !mismatch; n++) {
        const char *agent = agents[rnd(6)];
        uint32_t a = vm_agent(p, agent, strlen(agent));
        rv_status st = vm_start(vm, a, reqs[rnd(3)], NULL);
        char text[64];
        uint32_t decider[RV_MAX_ATTEMPTS];      /* the deciding agent when each call was made */
        for (int i = 0; i < 100 && st == RV_CALL; i++) {
            if (vm_call(vm)->seq < RV_MAX_ATTEMPTS)
                decider[vm_call(vm)->seq] = res->agent;
            rv_outcome o = outcome(vm, p, text);
            st = vm_resume(vm, &o);
            for (int k = 0; k < 5; k++)
                if (ledger(env, budgeted[k]) > limit[k]) {
                    snprintf(detail, sizeof detail, "%s: ledger %lld over its budget %lld", budgeted[k],
                             (long long)ledger(env, budgeted[k]), (long long)limit[k]);
                    over = 1;
                }
        }
        decisions++;
        /* each call is charged to the agents on the path when it was made */
        for (uint32_t i = 0; i < res->nattempts; i++) {
            const rv_attempt *at = &res->attempts[i];
            refused += at->failure == RV_FAIL_BUDGET;
            if (!at->made)
                continue;
            const char *dec = rv_str(p, p->agents[decider[i]].name);
            uint32_t through = 0;
            if (!strcmp(agent, "top") || !strcmp(agent, "mid"))
                through |= 1u << 1 | 1u << 0;       /* top -> mid -> leaf */
            else if (!strcmp(agent, "leaf"))
                through |= 1u << 0;
            else if (!strcmp(agent, "casc"))
                through |= 1u << 2;
            else if (!strcmp(agent, "spare"))
                through |= 1u << 3;
            else if (!strcmp(agent, "front"))
                through |= 1u << 4 | (!strcmp(dec, "spare") ? 1u << 3 : 0);   /* front, then its fallback */
            for (int k = 0; k < 5; k++)
                if (through >> k & 1)
                    expect[k] += at->cost;
        }
        for (int k = 0; k < 5 && !mismatch; k++)
            if (ledger(env, budgeted[k]) != expect[k]) {
                snprintf(detail, sizeof detail, "%s: ledger %lld, the requests through it cost %lld (request %d to %s)",
                         budgeted[k], (long long)ledger(env, budgeted[k]), (long long)expect[k], n, agent);
                mismatch = 1;
            }
    }
    CHECK("budget: no daily budget is ever exceeded (random cascades, judges, retries, fallbacks)", !over, "%s",
          detail);
    CHECK("budget: every agent on the path is charged exactly what went through it (delegates and fallback agents)",
          !mismatch, "%s", detail);
    CHECK("budget: the budgets were reached (the property was tested)", refused > 0, "no call was refused in %d decisions",
          decisions);
    for (int i = 0; i < 3; i++)
        req_free(reqs[i]);
    vm_free(vm);
    memenv_free(env);
}

/* A caller's budget (the gateway's API key, rv_startopts.caller) holds like
   an agent's on every path, including agents with no budget of their own:
   the caller's ledger row never passes its day's limit, equals what its
   calls cost, and refusals say whose budget refused.  A caller's
   per-request budget refuses a call whose estimate does not fit. */
static void test_caller_budget(const rv_program *p, const rv_image *img)
{
    static const char *const agents[] = { "leaf", "mid", "top", "casc", "spare", "front" };
    const char *name = "key:0123456789abcdef";
    char copy[32];
    rv_caller caller = { copy, (uint32_t)strlen(name), 0, DOLLAR / 20 };
    rv_startopts so = { 0, &caller };
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, NOW);
    rv_vm *vm = vm_new(img, memenv_env(env), NULL);
    const rv_result *res = vm_result(vm);
    rv_reqerr e;
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}],\"max_tokens\":400}";
    rv_request *req = req_parse(body, strlen(body), NULL, &e);
    int64_t charged = 0;
    int over = 0, caller_refusals = 0, decisions = 0;
    for (int n = 0; n < 2000 && !over; n++) {
        snprintf(copy, sizeof copy, "%s", name);
        const char *agent = agents[rnd(6)];
        rv_status st = vm_start(vm, vm_agent(p, agent, strlen(agent)), req, &so);
        memset(copy, 'x', sizeof copy - 1);     /* the VM keeps its own copy of the name */
        char text[64];
        for (int i = 0; i < 100 && st == RV_CALL; i++) {
            rv_outcome o = outcome(vm, p, text);
            st = vm_resume(vm, &o);
            if (ledger(env, name) > caller.budget_day)
                over = 1;
        }
        decisions++;
        for (uint32_t i = 0; i < res->nattempts; i++)
            if (res->attempts[i].made)
                charged += res->attempts[i].cost;
        if (res->error && strstr(res->error, "caller's daily budget"))
            caller_refusals++;
    }
    CHECK("budget: a caller's daily budget is never exceeded, whatever agent the request addresses", !over,
          "ledger %lld over %lld", (long long)ledger(env, name), (long long)caller.budget_day);
    CHECK("budget: the caller is charged exactly what its calls cost", ledger(env, name) == charged,
          "ledger %lld, calls %lld", (long long)ledger(env, name), (long long)charged);
    CHECK("budget: the caller's budget was reached and named in the refusal", caller_refusals > 0,
          "no refusal names the caller's budget in %d decisions", decisions);
    rv_caller tiny = { name, (uint32_t)strlen(name), 1, 0 };
    rv_startopts so2 = { 0, &tiny };
    rv_status st = vm_start(vm, vm_agent(p, "spare", 5), req, &so2);
    CHECK("budget: a caller's per-request budget refuses a call that does not fit",
          st == RV_FAILED && res->failure == RV_FAIL_BUDGET && res->error &&
          strstr(res->error, "caller's per-request budget"), "status %d, error %s", (int)st,
          res->error ? res->error : "none");
    st = vm_start(vm, vm_agent(p, "spare", 5), req, NULL);
    CHECK("budget: no caller, no caller budget", st == RV_CALL, "status %d", (int)st);
    req_free(req);
    vm_free(vm);
    memenv_free(env);
}

static void test_abandoned(const rv_program *p, const rv_image *img)
{
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, NOW);
    rv_vm *vm = vm_new(img, memenv_env(env), NULL);
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    rv_reqerr e;
    rv_request *r = req_parse(body, sizeof body - 1, NULL, &e);
    uint32_t a = vm_agent(p, "spare", 5);
    int calls = 0;
    for (int i = 0; i < 200; i++)       /* each reserves ~$0.012 of $0.15: 13 would fill the day */
        calls += vm_start(vm, a, r, NULL) == RV_CALL;
    CHECK("budget: a decision left at RV_CALL keeps no reservation when the next starts", calls == 200,
          "%d of 200 decisions could call", calls);
    vm_free(vm);
    CHECK("budget: freeing a VM at RV_CALL releases its reservation", ledger(env, "spare") == 0, "ledger %lld",
          (long long)ledger(env, "spare"));
    req_free(r);
    memenv_free(env);
}

static void test_overflow(const rv_program *p, const rv_image *img)
{
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, NOW);
    rv_vm *vm1 = vm_new(img, memenv_env(env), NULL), *vm2 = vm_new(img, memenv_env(env), NULL);
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    rv_reqerr e;
    rv_request *r = req_parse(body, sizeof body - 1, NULL, &e);
    uint32_t a = vm_agent(p, "spare", 5);
    rv_status s1 = vm_start(vm1, a, r, NULL), s2 = vm_start(vm2, a, r, NULL);   /* two calls in flight */
    rv_outcome huge = vm_outcome_init(1);
    huge.text.s = "x";
    huge.text.len = 1;
    huge.usage.input = INT64_MAX;
    huge.usage.output = INT64_MAX;
    huge.usage.cache_read = INT64_MAX;
    huge.usage.cache_write = INT64_MAX;
    huge.usage.reasoning = INT64_MAX;
    s1 = s1 == RV_CALL ? vm_resume(vm1, &huge) : s1;
    CHECK("money: a provider's absurd usage saturates the cost", s1 == RV_DONE && vm_result(vm1)->cost == INT64_MAX,
          "st=%d cost=%lld", s1, (long long)vm_result(vm1)->cost);
    int64_t spent = ledger(env, "spare");   /* settled INT64_MAX with another reservation open */
    rv_status s3 = vm_start(vm1, a, r, NULL);
    CHECK("money: the ledger saturates and refuses the next call", spent == INT64_MAX && s3 == RV_FAILED &&
          vm_result(vm1)->failure == RV_FAIL_BUDGET, "spent=%lld st=%d", (long long)spent, s3);
    s2 = s2 == RV_CALL ? vm_resume(vm2, &huge) : s2;
    CHECK("money: a second saturated settlement stays saturated", ledger(env, "spare") == INT64_MAX, "spent=%lld",
          (long long)ledger(env, "spare"));
    memenv_add_spend(env, "spare", DAY, INT64_MAX);
    CHECK("money: added spend saturates", ledger(env, "spare") == INT64_MAX, "spent=%lld",
          (long long)ledger(env, "spare"));
    req_free(r);
    vm_free(vm1);
    vm_free(vm2);
    memenv_free(env);
}

/* A crafted program may state any non-negative price: the largest prices
   times the largest usage still saturate, term by term. */
static void test_price_overflow(rv_program *p)
{
    uint32_t m = 1;     /* b: every class priced */
    rv_model saved = p->models[m];
    p->models[m].price_in = p->models[m].price_out = p->models[m].price_cached = INT64_MAX;
    p->models[m].price_cache_write = p->models[m].price_reasoning = INT64_MAX;
    rv_usage u = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX / 2 };
    int64_t c = vm_usage_cost(p, m, &u), w = vm_call_worst(p, m, INT64_MAX, INT64_MAX),
            e = vm_call_cost(p, m, INT64_MAX, INT64_MAX);
    CHECK("money: the largest prices times the largest usage saturate", c == INT64_MAX && w == INT64_MAX &&
          e == INT64_MAX, "usage %lld worst %lld estimate %lld", (long long)c, (long long)w, (long long)e);
    p->models[m] = saved;
}

int main(void)
{
    rv_program *p = compile(POLICY);
    if (!p) {
        printf("FAIL budget: the policy does not compile\n");
        return 1;
    }
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL budget: image: %s\n", err);
        return 1;
    }
    test_day_budgets(p, &img);
    test_caller_budget(p, &img);
    test_abandoned(p, &img);
    test_overflow(p, &img);
    test_price_overflow(p);
    vm_image_free(&img);
    rv_program_free(p);
    return failures ? 1 : 0;
}
