/* Plain decisions (vm/decide.c, "Plain decisions") against full resets.

   A VM that decides one request after another resets only what the last
   decision wrote, and goes straight to the plan, whenever that decision
   was plain; a VM whose plans are off never does: it resets everything
   each time and decides by code (which plan_test shows decides as the
   plans do).  Random policies -- agents with and without guardrails,
   budgets per request and per day, rules with call settings of their
   own, models with system prompts (as written, and with {agent} and
   {model}), call settings and stand-ins, cheapest choices, cascades
   judged and checked, delegation, fallbacks -- and one random sequence of
   operations on both VMs (start, with and without a deadline or a
   caller's budgets, for a known agent or none; ask for the call or not;
   resume with an answer, a rating or a failure; stream an answer; release;
   open a model's circuit; move the clock) must leave the two alike after
   every operation: the status, every field of the result, every attempt
   record and guardrail action, the call descriptor, and each agent's
   spend in the two environments (each VM has its own, set alike).  Most
   decisions must be plain, and some not.

   Then the check is shown to bite: a field that a plain decision does
   not reset, changed behind the plain VM's back, must make the two
   differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "envmem.h"
#include "gentext.h"
#include "vmstate.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

#define NMODEL 6
#define NAGENT 4

static const char *const TASKS[] = { "code", "chat", "translate", "x" };

static void rules(buf *b, int agent, int plain)
{
    for (uint32_t i = 0, n = 1 + rnd(5); i < n; i++) {
        static const char *const MORE[] = {
            "", "", "", "", " and stream", " and bytes(input) > 20",
            " and (stream or turns > 1)",           /* no plan; code that changes nothing else */
            " and input matches /secret/",          /* no plan, and a regex */
            " and lang(input) == \"en\"",           /* no plan, and a builtin that keeps what it found */
        };
        put(b, "    when meta.task == \"%s\"%s -> ", TASKS[rnd(4)], MORE[rnd(plain ? 7 : 9)]);
        switch (agent == 0 ? rnd(6) : rnd(4)) {
        case 0: put(b, "cheapest [m%u, m%u]", rnd(NMODEL), rnd(NMODEL)); break;
        case 1: put(b, "cascade [m0, m%u] until confidence >= 0.5 by judge m%u", 1 + rnd(NMODEL - 1), rnd(NMODEL)); break;
        case 4: put(b, "a1"); break;                            /* delegation */
        case 5: put(b, "cascade [m1, m2] until confidence >= 0.5 by check len(response.text) > 5"); break;
        default: put(b, "m%u", rnd(NMODEL)); break;
        }
        put(b, " \"r%d.%u\"", agent, i);
        if (!rnd(4))
            put(b, " { %s }", rnd(2) ? "timeout 9s  retry 2" : "backoff 10ms  retry_on [timeout]");
        put(b, "\n");
    }
    put(b, "    otherwise -> m%u \"r%d.o\"\n", rnd(NMODEL), agent);
}

/* 'plain': budgets and prompts to build rarely, so that most decisions
   can be plain. */
static void policy(buf *b, int plain)
{
    put(b, "provider p { kind openai endpoint \"https://x.example/v1\" }\n");
    for (int m = 0; m < NMODEL; m++) {
        put(b, "model m%d from p { id \"m%d\" price in $%u/Mtok, out $%u/Mtok context 8k tokens output 1k tokens", m, m,
            1 + rnd(3), 1 + rnd(5));
        switch (rnd(4)) {
        case 0: put(b, " system \"You help.\""); break;
        case 1: put(b, plain ? " system \"You help.\"" : " system \"You are {agent}, on {model}.\""); break;
        default: break;
        }
        if (!rnd(4))
            put(b, " timeout 5s  retry 1");
        if (m && !rnd(5))
            put(b, " fallback on timeout -> m0");
        put(b, " }\n");
    }
    put(b, "guardrail g { redact output matches /secret/ with \"[s]\"  limit output 500 tokens }\n");
    /* a0 may delegate to a1; a2 has guardrails; a3 budgets */
    for (int a = 0; a < NAGENT; a++) {
        put(b, "agent a%d {\n", a);
        if (a == 2 || (a == 1 && !rnd(3)))
            put(b, "  guard g\n");
        if ((a == 3 && !plain) || !rnd(plain ? 12 : 4))
            put(b, "  budget $%s per request%s\n", rnd(2) ? "0.01" : "1", rnd(2) ? ", $2 per day" : "");
        put(b, "  route {\n");
        rules(b, a, plain);
        put(b, "  }\n");
        if (rnd(2))
            put(b, "  fallback m%u\n", rnd(NMODEL));
        if (rnd(2))
            put(b, "  retry 1  backoff 1ms\n");
        put(b, "}\n");
    }
}

static void request(buf *b)
{
    b->len = 0;
    put(b, "{\"messages\":[{\"role\":\"user\",\"content\":\"%.*s\"}]", (int)rnd(40),
        "a question about secret things, long enough");
    if (rnd(2))
        put(b, ",\"stream\":true");
    if (rnd(3))
        put(b, ",\"max_tokens\":%u", 50 + rnd(2000));
    if (rnd(4))
        put(b, ",\"metadata\":{\"task\":\"%s\"}", TASKS[rnd(4)]);
    put(b, "}");
}

/* ------------------------------------------------ comparing two VMs */

static char why[400];

static int sv_same(rv_sv a, rv_sv b)
{
    return a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len));
}

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

#define SAME(what, cond) do { if (!(cond)) { snprintf(why, sizeof why, "%s differs", what); return 0; } } while (0)

static int results_same(const rv_result *x, const rv_result *y)
{
    SAME("status", x->status == y->status);
    SAME("first_agent", x->first_agent == y->first_agent);
    SAME("agent", x->agent == y->agent);
    SAME("rule", x->rule == y->rule);
    SAME("via", x->via == y->via && x->via_index == y->via_index);
    SAME("hook", x->hook == y->hook);
    SAME("split", x->split == y->split && x->arm == y->arm);
    SAME("model", x->model == y->model);
    SAME("answer", sv_same(x->answer, y->answer));
    SAME("tool calls", x->ntool_calls == y->ntool_calls);
    SAME("denied_by", x->denied_by == y->denied_by && sv_same(x->deny_reason, y->deny_reason));
    SAME("redacted", x->redacted == y->redacted);
    SAME("guardacts", x->nguardacts == y->nguardacts);
    for (uint32_t i = 0; i < x->nguardacts; i++) {
        const rv_guardact *a = &x->guardacts[i], *b = &y->guardacts[i];
        SAME("a guardact", a->guard == b->guard && a->action == b->action && a->kind == b->kind && a->dir == b->dir &&
                           a->denied == b->denied && a->count == b->count);
    }
    SAME("nattempts", x->nattempts == y->nattempts);
    for (uint32_t i = 0; i < x->nattempts; i++) {
        const rv_attempt *a = &x->attempts[i], *b = &y->attempts[i];
        SAME("an attempt", a->model == b->model && a->purpose == b->purpose && a->made == b->made && a->ok == b->ok &&
                           a->failure == b->failure && a->http_status == b->http_status && a->attempt == b->attempt &&
                           !memcmp(&a->usage, &b->usage, sizeof a->usage) && a->estimated == b->estimated &&
                           a->cost == b->cost && a->latency_us == b->latency_us && a->ttft_us == b->ttft_us &&
                           a->backoff_us == b->backoff_us);
    }
    SAME("ncalls", x->ncalls == y->ncalls);
    SAME("cost", x->cost == y->cost);
    SAME("failure", x->failure == y->failure);
    SAME("error", str_same(x->error, y->error) && x->error_pc == y->error_pc && x->error_loc == y->error_loc);
    return 1;
}

static int calls_same(const rv_call *x, const rv_call *y)
{
    SAME("call", !x == !y);
    if (!x)
        return 1;
    SAME("call model", x->model == y->model && x->provider == y->provider && x->purpose == y->purpose);
    SAME("call attempt", x->attempt == y->attempt && x->seq == y->seq);
    SAME("call times", x->timeout_us == y->timeout_us && x->deadline_us == y->deadline_us &&
                       x->backoff_us == y->backoff_us);
    SAME("call stream", x->may_stream == y->may_stream && x->max_output == y->max_output);
    SAME("call request", x->req == y->req && !x->texts == !y->texts);
    for (uint32_t i = 0; x->texts && x->req && i < x->req->nslot; i++)
        SAME("call texts", sv_same(x->texts[i], y->texts[i]));
    SAME("call system", sv_same(x->system, y->system));
    SAME("call messages", x->nmsgs == y->nmsgs);
    for (uint32_t i = 0; i < x->nmsgs; i++)
        SAME("call message", x->msgs[i].role == y->msgs[i].role && sv_same(x->msgs[i].text, y->msgs[i].text));
    SAME("call reserved", x->reserved == y->reserved);
    SAME("call params", x->params_set == y->params_set && !memcmp(x->params, y->params, sizeof x->params) &&
                        x->nstop == y->nstop);
    return 1;
}

typedef struct {
    rv_program *p;
    rv_image img;
    rv_memenv *env[2];
    rv_vm *vm[2];               /* [0] plans (plain decisions), [1] code, every reset in full */
    rv_request *req[8];
    rv_caller caller;
    unsigned plain, plain_code, starts, ops, differ;
    int released;               /* the result is invalid until the next start (vm_release) */
    char first[800];
} pair;

/* Each agent's spend today, in both environments. */
static int spend_same(pair *t)
{
    for (uint32_t a = 0; a < t->p->nagent; a++) {
        const rv_env *e0 = memenv_env(t->env[0]), *e1 = memenv_env(t->env[1]);
        rv_spendkey k = { rv_str(t->p, t->p->agents[a].name), t->p->str_len[t->p->agents[a].name], 0 };
        k.day = 1700000000LL / 86400;
        SAME("spend", e0->spent(e0->ud, &k) == e1->spent(e1->ud, &k));
    }
    return 1;
}

static void compare(pair *t, const char *op, rv_status s0, rv_status s1, int ask_call)
{
    t->ops++;
    int ok = s0 == s1 || (snprintf(why, sizeof why, "status %d/%d", (int)s0, (int)s1), 0);
    ok = ok && results_same(vm_result(t->vm[0]), vm_result(t->vm[1]));
    if (ok && ask_call)
        ok = calls_same(vm_call(t->vm[0]), vm_call(t->vm[1]));
    ok = ok && spend_same(t);
    if (!ok && !t->differ++)
        snprintf(t->first, sizeof t->first, "after %s (operation %u): %s", op, t->ops, why);
}

/* One random operation on both VMs. */
static void step(pair *t)
{
    rv_status s[2];
    int ask = rnd(2);
    uint32_t op = rnd(14);
    if (t->released && op >= 6 && op <= 9)
        return;                 /* (nothing to resume, no result to read) */
    switch (op) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 12: case 13: {  /* start */
        uint32_t agent = rnd(20) ? rnd(NAGENT) : NAGENT;
        const rv_request *r = t->req[rnd(8)];
        rv_startopts o = { 0 };
        int k = rnd(6);
        if (k == 0)
            o.deadline_us = 1700000000LL * 1000000 + (rnd(2) ? 5000000 : -1);
        if (k == 1) {
            t->caller = (rv_caller){ "key:c", 5, rnd(2) ? 1000000000 : 0, rnd(2) ? 2000000000000 : 0 };
            o.caller = &t->caller;
        }
        for (int v = 0; v < 2; v++) {
            int was = v == 0 && t->vm[0]->plain && !t->vm[0]->feed_dirty;
            s[v] = vm_start(t->vm[v], agent, r, k < 2 ? &o : NULL);
            if (was && agent < NAGENT && t->img.astart[agent].plain && !(k == 1 && (t->caller.budget_day || t->caller.budget_request))) {
                t->plain++;
                t->plain_code += !t->img.astart[agent].plan;
            }
        }
        t->starts++;
        t->released = 0;
        compare(t, "start", s[0], s[1], ask);
        break;
    }
    case 6: case 7: case 8: {                               /* resume */
        rv_outcome o = vm_outcome_init(rnd(3) != 0);
        int rating = rnd(2);
        o.text = (rv_sv){ rating ? "0.9 a secret answer" : "0.2", rating ? 19 : 3 };
        if (!o.ok) {
            o.failure = rnd(2) ? RV_FAIL_TIMEOUT : RV_FAIL_SERVER;
            o.http_status = o.failure == RV_FAIL_SERVER ? 500 : 0;
        }
        if (rnd(2))
            o.usage.input = 10, o.usage.output = 20;
        for (int v = 0; v < 2; v++)
            s[v] = vm_resume(t->vm[v], &o);
        compare(t, "resume", s[0], s[1], ask);
        break;
    }
    case 9: {                   /* stream an answer, then resume -- or not: the client went away */
        int resume = rnd(3);
        for (int v = 0; v < 2; v++) {
            rv_sv rel;
            const rv_call *c = vm_call(t->vm[v]);
            s[v] = vm_result(t->vm[v])->status;
            if (c && c->may_stream) {
                vm_feed(t->vm[v], "part of a secret ", 17, &rel);
                vm_feed(t->vm[v], "answer", 6, &rel);
                vm_feed_end(t->vm[v], &rel);
            }
            rv_outcome o = vm_outcome_init(1);
            o.text = (rv_sv){ "part of a secret answer", 23 };
            if (resume)
                s[v] = vm_resume(t->vm[v], &o);
        }
        compare(t, resume ? "stream" : "stream, no resume", s[0], s[1], ask);
        break;
    }
    case 10:                                                /* release */
        for (int v = 0; v < 2; v++)
            vm_release(t->vm[v]);
        t->released = 1;
        t->ops++;
        break;
    default: {                                              /* the world changes */
        uint32_t m = rnd(NMODEL);
        rv_circuit c = rnd(4) ? RV_CIRCUIT_CLOSED : RV_CIRCUIT_OPEN;
        int64_t now = 1700000000LL * 1000000 + rnd(3000000);
        for (int v = 0; v < 2; v++) {
            memenv_set_model(t->env[v], m, -1, c, 0);
            memenv_set_time(t->env[v], now);
        }
        break;
    }
    }
}

static int pair_open(pair *t, const char *src)
{
    char err[200];
    memset(t, 0, sizeof *t);
    t->p = test_compile("plain_test.route", src, 0);
    if (!t->p)
        return -1;
    if (vm_image_init(&t->img, t->p, err, sizeof err)) {
        printf("FAIL plain image: %s\n", err);
        failures++;
        rv_program_free(t->p);
        return -1;
    }
    for (int v = 0; v < 2; v++) {
        t->env[v] = memenv_new(t->p->nmodel);
        memenv_set_time(t->env[v], 1700000000LL * 1000000);
        memenv_seed(t->env[v], 7);
        t->vm[v] = vm_new(&t->img, memenv_env(t->env[v]), NULL);
    }
    vm_use_plans(t->vm[1], 0);
    buf b = { 0 };
    for (int i = 0; i < 8; i++) {
        request(&b);
        rv_reqerr e;
        /* most with the image's routing view, as a gateway parses */
        t->req[i] = req_parse_dict(b.s, b.len, NULL, &e, NULL, i < 6 ? t->img.dict : NULL);
        if (!t->req[i]) {
            printf("FAIL plain request %s: %s\n", b.s, e.msg);
            failures++;
        }
    }
    free(b.s);
    return 0;
}

static void pair_close(pair *t)
{
    for (int v = 0; v < 2; v++) {
        vm_free(t->vm[v]);
        memenv_free(t->env[v]);
    }
    for (int i = 0; i < 8; i++)
        req_free(t->req[i]);
    vm_image_free(&t->img);
    rv_program_free(t->p);
}

int main(void)
{
    unsigned plain = 0, plain_code = 0, starts = 0, ops = 0, differ = 0, policies = 0, bit = 0, bitten = 0;
    char first[1400] = "";
    gen_seed(0x51ed2701u);
    buf src = { 0 };
    for (int round = 0; round < 400; round++) {
        src.len = 0;
        policy(&src, round % 2);
        pair t;
        if (pair_open(&t, src.s)) {
            printf("FAIL plain policy %d does not compile:\n%s\n", round, src.s);
            failures++;
            continue;
        }
        policies++;
        for (int i = 0; i < 300 && t.req[7]; i++)
            step(&t);
        plain += t.plain;
        plain_code += t.plain_code;
        starts += t.starts;
        ops += t.ops;
        if (t.differ && !differ)
            snprintf(first, sizeof first, "%s\n%s", t.first, src.s);
        differ += t.differ;

        /* the check bites: after a plain decision, a field it does not
           reset is changed in the plain VM alone */
        if (round < 100) {
            for (int i = 0; i < 40 && !(t.vm[0]->plain && !t.vm[0]->feed_dirty); i++)
                step(&t);
            if (t.vm[0]->plain && !t.vm[0]->feed_dirty) {
                unsigned before = t.differ;
                bit++;
                uint32_t agent = vm_result(t.vm[0])->first_agent;      /* (one whose decisions may be plain) */
                t.vm[0]->res.split = 7;
                for (int i = 0; i < 5; i++) {
                    rv_status s[2];
                    for (int v = 0; v < 2; v++)
                        s[v] = vm_start(t.vm[v], agent, t.req[i], NULL);
                    compare(&t, "start after a change", s[0], s[1], 0);
                }
                bitten += t.differ > before;
            }
        }
        pair_close(&t);
    }
    free(src.s);
    CHECK("plain decisions leave the VM as full resets do (result, attempts, call, spend)",
          differ == 0 && ops > 0, "%u of %u operations differ; first %s", differ, ops, first);
    CHECK("plain starts are many, not all, some decided by code", plain * 20 > starts && plain < starts &&
          plain_code * 50 > plain && plain_code < plain, "%u plain of %u starts, %u by code", plain, starts, plain_code);
    CHECK("a field a plain decision does not reset, changed, is caught", bit > 0 && bitten == bit,
          "caught %u of %u", bitten, bit);
    return failures ? 1 : 0;
}
