/* The decision state machine; see vm.h.

   vm_start and vm_resume turn what the route code decides (interp.c) into
   model calls -- retries, fallbacks, cascade steps and judge calls -- and
   then into a result: output guardrails, cost.  It does no I/O: every call
   leaves through RV_CALL or RV_HOOK to the driver, and every run-time
   input (clock, budgets, model state) comes through the driver's rv_env.

   The machine is one loop over steps (run()), never a recursion: routing,
   trying a target, deciding what follows a failure, taking a fallback.
   Each step makes progress through a finite structure (the attempts of a
   request are capped, the agents on a path are capped and acyclic by the
   verifier), and the loop is bounded besides.

   What follows a failed call (docs/language.md, "Failures"):
     retryable class (timeout, reset, refused, overloaded, malformed, 429,
     5xx and 408), attempts left, Retry-After within bounds
                                  -> the same model again, after backoff
     a judge                      -> its rating counts as 0: escalate
     a cascade step               -> the next step
     otherwise                    -> the deciding agent's next fallback
     part of the answer already reached the client, or the deadline has
     passed                       -> the request fails */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mem.h"
#include "opcodes.h"
#include "plan.h"
#include "vmstate.h"

#define MAX_STEPS        100000     /* backstop: steps of one run() */
#define DEFAULT_BACKOFF  200000     /* µs, when the agent states none */
#define MAX_BACKOFF      30000000   /* µs: no single wait is longer */
#define MAX_RETRY_AFTER  60000000   /* µs: a longer Retry-After is not waited for */
#define UNKNOWN_LATENCY  INT64_MAX

rv_failure vm_failure_of_http(int status)
{
    if (status < 400 || status > 599)
        return RV_FAIL_NONE;
    if (status == 429)
        return RV_FAIL_RATE;
    if (status == 529)
        return RV_FAIL_OVERLOADED;
    if (status == 408 || status >= 500)
        return RV_FAIL_SERVER;
    if (status == 401 || status == 403)
        return RV_FAIL_AUTH;
    return RV_FAIL_CLIENT;
}

rv_failure vm_failure_parse(const char *name, size_t len, int *http)
{
    *http = 0;
    if (len == 3 && name[0] >= '1' && name[0] <= '5' && name[1] >= '0' && name[1] <= '9' && name[2] >= '0' &&
        name[2] <= '9') {
        int s = (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
        rv_failure f = vm_failure_of_http(s);
        if (f == RV_FAIL_NONE)
            return RV_FAIL__COUNT;
        *http = s;
        return f;
    }
    for (int i = 1; i < RV_FAIL__COUNT; i++)
        if (strlen(rv_failure_names[i]) == len && !memcmp(rv_failure_names[i], name, len))
            return (rv_failure)i;
    return RV_FAIL__COUNT;
}

rv_outcome vm_outcome_init(int ok)
{
    rv_outcome o;
    memset(&o, 0, sizeof o);
    o.ok = ok;
    o.confidence = -1;
    o.usage.input = o.usage.output = o.usage.cache_read = o.usage.cache_write = o.usage.reasoning = -1;
    o.latency_us = o.ttft_us = -1;
    o.retry_after_us = -1;
    return o;
}

/* ---------------------------------------------------------------- the VM */

rv_vm *vm_new(const rv_image *img, const rv_env *env, bi_langdet *lang)
{
    uint32_t cap = img->p->max_stack ? img->p->max_stack : 1;
    rv_vm *vm = mem_calloc(1, sizeof *vm + cap * sizeof(rv_value));
    if (!vm)
        return NULL;
    vm->img = img;
    vm->env = env;
    vm->lang = lang;
    vm->stack_cap = cap;
    vm->rand_state = 0x9e3779b97f4a7c15ull;
    vm->budgets = img->request_budgets || (img->day_budgets && env && env->reserve);
    vm->md = pcre2_match_data_create(img->max_match, NULL);
    vm->feed = vm_feed_new();
    vm->mslot = mem_calloc(img->nmeta_slot + 1, sizeof *vm->mslot);
    vm->guardact_cap = img->p->ngaction + 1;
    vm->guardacts = mem_calloc(vm->guardact_cap, sizeof *vm->guardacts);
    if (!vm->md || !vm->feed || !vm->mslot || !vm->guardacts || !vm_alloc(vm, 1) ||
        gd_init(&vm->ov)) {
        vm_free(vm);
        return NULL;
    }
    vm_mem_reset(vm);
    return vm;
}

static void settle_day(rv_vm *vm, int64_t actual);

/* What vm_start resets the result to, but for the agent and the two
   tables that live in the VM (a constant, so that the VM stays small). */
static const rv_result res_blank = {
    .rule = RV_NONE, .hook = RV_NONE, .model = RV_NONE, .denied_by = RV_NONE, .via_index = RV_NONE,
    .split = RV_NONE, .arm = RV_NONE, .answer.s = "", .deny_reason.s = "", .error_pc = RV_NONE,
    .error_loc = RV_NONE,
};

/* A decision left at RV_CALL (the driver moved on without resuming): its
   call was not made as far as the VM knows, so nothing stays reserved
   (vm.h). */
static void abandon(rv_vm *vm)
{
    if (vm->state == VS_CALL && vm->cur.nticket)
        settle_day(vm, 0);
    vm->state = VS_IDLE;
}

void vm_release(rv_vm *vm)
{
    vm->plain = 0;
    abandon(vm);
    vm_feed_reset(vm);
    vm_mem_reset(vm);
    vm->req = NULL;
    vm->obs = NULL;
    vm->obs_ud = NULL;
    vm->plans_off = vm->no_plans;
}

void vm_free(rv_vm *vm)
{
    if (!vm)
        return;
    abandon(vm);
    pcre2_match_data_free(vm->md);
    gd_free(&vm->ov);
    if (vm->feed)
        vm_feed_reset(vm);
    vm_feed_free(vm->feed);
    vm_mem_free(vm);
    free(vm->mslot);
    free(vm->guardacts);
    free(vm);
}

void vm_set_observer(rv_vm *vm, const rv_observer *obs, void *ud)
{
    vm->obs = obs;
    vm->obs_ud = ud;
    vm->plans_off = vm->obs || vm->no_plans;
}

void vm_use_plans(rv_vm *vm, int on)
{
    vm->no_plans = !on;
    vm->plans_off = vm->obs || vm->no_plans;
}

static void describe_call(rv_vm *vm);

/* The descriptor is built on the first ask after RV_CALL (see rv_vm.call):
   the VM is its driver's alone and was never defined const, so filling
   its cache through this pointer is sound. */
const rv_call *vm_call(const rv_vm *vm)
{
    if (vm->state != VS_CALL)
        return NULL;
    if (!vm->call_ready)
        describe_call((rv_vm *)vm);
    return &vm->call;
}
const rv_hookcall *vm_hook(const rv_vm *vm) { return vm->state == VS_HOOK ? &vm->hookcall : NULL; }
const rv_result *vm_result(const rv_vm *vm) { return &vm->res; }
const rv_image *vm_image(const rv_vm *vm) { return vm->img; }
const rv_request *vm_request(const rv_vm *vm) { return vm->req; }
uint32_t vm_next_fallback(const rv_vm *vm) { return vm->cur.fallback; }

rv_value vm_run_expect(rv_vm *vm, uint32_t fn)
{
    fn_ctx ctx = { .cand = RV_NONE };
    vm->plain = 0;
    return vm_run(vm, fn, &ctx);
}

int vm_uses_builtin(const rv_program *p, rv_builtin b)
{
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (INS_OP(p->code[pc]) == OP_CALLB && INS_ARG(p->code[pc]) == (uint32_t)b)
            return 1;
    return 0;
}

uint32_t vm_agent(const rv_program *p, const char *name, size_t len)
{
    if (!name || !len)
        return p->nagent == 1 ? 0 : RV_NONE;
    for (uint32_t i = 0; i < p->nagent; i++)
        if (p->str_len[p->agents[i].name] == len && !memcmp(rv_str(p, p->agents[i].name), name, len))
            return i;
    return RV_NONE;
}

/* ---------------------------------------------------------------- environment */

static int64_t now_us(rv_vm *vm)
{
    return vm->env && vm->env->now_us ? vm->env->now_us(vm->env->ud) : 0;
}

static uint64_t random64(rv_vm *vm)
{
    if (vm->env && vm->env->random)
        return vm->env->random(vm->env->ud);
    uint64_t x = vm->rand_state;    /* xorshift64: a fixed sequence */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return vm->rand_state = x;
}

static void model_state(rv_vm *vm, uint32_t m, rv_modelstate *st)
{
    st->latency_us = -1;
    st->circuit = RV_CIRCUIT_CLOSED;
    st->saturated = 0;
    if (vm->env && vm->env->model_state)
        vm->env->model_state(vm->env->ud, m, st);
}

/* The request's day on the env clock (days before 1970 round down). */
static int64_t request_day(const rv_vm *vm)
{
    return vm->start_us >= 0 ? vm->start_us / 86400000000LL : (vm->start_us + 1) / 86400000000LL - 1;
}

static rv_spendkey spend_key(rv_vm *vm, uint32_t agent)
{
    const rv_program *p = vm->img->p;
    rv_spendkey k = { rv_str(p, p->agents[agent].name), p->str_len[p->agents[agent].name], request_day(vm) };
    return k;
}

/* ---------------------------------------------------------------- estimates */

/* tokens x price, clamped to INT64_MAX: a sum of a few such terms cannot
   overflow (a crafted program may state any non-negative price, a
   provider report any usage) */
static __int128 term(int64_t tokens, int64_t price)
{
    __int128 v = (__int128)(tokens > 0 ? tokens : 0) * (price > 0 ? price : 0);
    return v > INT64_MAX ? INT64_MAX : v;
}

static int64_t money(__int128 c) { return c > INT64_MAX ? INT64_MAX : (int64_t)c; }

int64_t vm_call_cost(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens)
{
    const rv_model *m = &p->models[model];
    return money(term(in_tokens, m->price_in) + term(out_tokens, m->price_out));
}

static int64_t pos(int64_t v) { return v > 0 ? v : 0; }

/* Each token class once, at its own price: cache reads and writes at the
   model's 'cached' and 'cache_write' prices, else the input price;
   reasoning tokens are part of the output the providers report, billed
   at the 'reasoning' price when the model states one. */
int64_t vm_usage_cost(const rv_program *p, uint32_t model, const rv_usage *u)
{
    const rv_model *m = &p->models[model];
    int64_t out = pos(u->output), reasoning = m->price_reasoning >= 0 ? pos(u->reasoning) : 0;
    if (reasoning > out)
        reasoning = out;
    return money(term(u->input, m->price_in)
               + term(u->cache_read, m->price_cached >= 0 ? m->price_cached : m->price_in)
               + term(u->cache_write, m->price_cache_write >= 0 ? m->price_cache_write : m->price_in)
               + term(out - reasoning, m->price_out)
               + term(reasoning, m->price_reasoning >= 0 ? m->price_reasoning : 0));
}

int64_t vm_call_worst(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens)
{
    const rv_model *m = &p->models[model];
    int64_t in = m->price_in, out = m->price_out;
    if (m->price_cached > in) in = m->price_cached;
    if (m->price_cache_write > in) in = m->price_cache_write;
    if (m->price_reasoning > out) out = m->price_reasoning;
    return money(term(in_tokens, in) + term(out_tokens, out));
}

static int64_t conversation_tokens(rv_vm *vm)
{
    if (vm->in_tokens < 0)
        vm->in_tokens = vm->req ? gd_input_tokens(vm) : 0;
    return vm->in_tokens;
}

int64_t vm_model_tokens(rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    uint32_t sys = p->models[model].system;
    return conversation_tokens(vm) + (sys != RV_NONE ? bi_tokens(rv_str(p, sys), p->str_len[sys]) : 0);
}

/* The tightest 'limit output' of the guardrails on the path; 0 if none. */
static int64_t path_output_limit(const rv_vm *vm)
{
    int64_t lim = 0;
    for (uint32_t i = 0; i < vm->nchain; i++) {
        int64_t l = vm->img->out_limit[vm->chain[i]];
        if (l && (!lim || l < lim))
            lim = l;
    }
    return lim;
}

int64_t vm_output_limit(const rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    int64_t out = vm->req && vm->req->max_tokens > 0 ? vm->req->max_tokens : 0;
    int64_t lim = path_output_limit(vm), cap = p->models[model].max_output, ask = p->models[model].max_tokens;
    if (lim && (!out || lim < out))
        out = lim;
    if (cap && (!out || cap < out))
        out = cap;
    if (ask && (!out || ask < out))
        out = ask;
    return out;
}

/* The output every candidate is compared at: the client's max_tokens,
   lowered to the path's 'limit output' as every call's is; else that
   limit; else 1,000 tokens (docs/language.md, 'cheapest'). */
int64_t vm_expected_output(const rv_vm *vm)
{
    int64_t out = vm->req && vm->req->max_tokens > 0 ? vm->req->max_tokens : 0;
    int64_t lim = path_output_limit(vm);
    if (lim && (!out || lim < out))
        out = lim;
    return out ? out : 1000;
}

/* An upper bound on a call's input tokens: a byte-level tokenizer never
   makes more tokens than bytes, plus each message's framing; never more
   than the model's context. */
static int64_t worst_input(rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    int64_t b = 0;
    if (vm->req)
        b += gd_input_bytes(vm);
    uint32_t sys = p->models[model].system;
    if (sys != RV_NONE)
        b += p->str_len[sys] + 4 + 64;  /* {agent}/{model} substitutions */
    int64_t ctx = p->models[model].context;
    return ctx && ctx < b ? ctx : b;
}

static int64_t worst_output(rv_vm *vm, uint32_t model)
{
    int64_t out = vm_output_limit(vm, model);
    return out ? out : vm->img->p->models[model].context;
}

/* ---------------------------------------------------------------- call settings */

/* The classes retried when nobody states 'retry_on'. */
/* The classes that retry by default (RV_FAILURES' third column), as a
   mask. */
static const uint32_t default_retry_on_mask = RV_RETRY_STATED
#define X(n, s, r) | ((uint32_t)(r) << RV_FAIL_##n)
    RV_FAILURES(X)
#undef X
    ;

static uint32_t default_retry_on(void) { return default_retry_on_mask; }

/* The deciding rule's settings apply to the calls its target makes --
   unless the request has moved on to a fallback, or to another agent. */
static uint32_t rule_in_force(const rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    uint32_t r = vm->res.rule;
    if (!vm->img->rule_settings)
        return RV_NONE;         /* (no rule has any: its row need not be read) */
    return r != RV_NONE && p->rules[r].agent == vm->res.agent ? r : RV_NONE;
}

rv_callsettings vm_call_settings(const rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[vm->res.agent];
    const rv_model *m = &p->models[model];
    rv_callsettings cs = { a->timeout, a->backoff, a->retry, a->retry_on ? a->retry_on : default_retry_on() };
    if (m->timeout) cs.timeout_us = m->timeout;
    if (m->backoff) cs.backoff_us = m->backoff;
    if (m->retry != RV_NONE) cs.retry = m->retry;
    if (m->retry_on) cs.retry_on = m->retry_on;
    if (vm->cur.rule != RV_NONE) {
        const rv_rule *r = &p->rules[vm->cur.rule];
        if (r->timeout) cs.timeout_us = r->timeout;
        if (r->backoff) cs.backoff_us = r->backoff;
        if (r->retry != RV_NONE) cs.retry = r->retry;
        if (r->retry_on) cs.retry_on = r->retry_on;
    }
    if (!cs.backoff_us)
        cs.backoff_us = DEFAULT_BACKOFF;
    return cs;
}

/* The first 'fallback on' entry of [first, first+count) for class 'f'
   that this request has not taken yet (each is taken at most once), or
   RV_NONE; marks it taken. */
static uint32_t take_onfail(rv_vm *vm, uint32_t first, uint32_t count, rv_failure f)
{
    const rv_program *p = vm->img->p;
    for (uint32_t t = first; t < first + count; t++) {
        if (!(p->targets[t].on >> f & 1))
            continue;
        uint32_t i = 0;
        while (i < vm->nonfail_used && vm->onfail_used[i] != t)
            i++;
        if (i < vm->nonfail_used)
            continue;
        if (vm->nonfail_used == RV_MAX_ATTEMPTS)
            return RV_NONE;             /* as many as a request has calls: enough */
        vm->onfail_used[vm->nonfail_used++] = t;
        return t;
    }
    return RV_NONE;
}

/* ---------------------------------------------------------------- steps */

typedef enum {
    ST_ROUTE,       /* run the deciding agent's route code from vm->pc */
    ST_TRY,         /* try vm->cur.model */
    ST_NEXT,        /* vm->cur.model failed (vm->res.failure): what follows */
    ST_FALLBACK,    /* take the deciding agent's next fallback */
    ST_CALL,        /* suspend: RV_CALL */
    ST_HOOK,        /* suspend: RV_HOOK */
    ST_DONE, ST_DENIED, ST_FAILED
} step;

static void fail_msg(rv_vm *vm, rv_failure f, const char *msg)
{
    vm->res.failure = f;
    vm->res.error = msg;
}

/* Aim at model 'm' for an answer (a fresh target: its attempts start at 1). */
static void aim(rv_vm *vm, uint32_t m, rv_via via, uint32_t via_index)
{
    vm->cur.rule = via == RV_VIA_FALLBACK ? RV_NONE : rule_in_force(vm);
    vm->cur.model = m;
    vm->cur.purpose = RV_PURPOSE_ANSWER;
    vm->cur.attempt = 0;
    vm->cur.retry_after = -1;
    vm->res.model = m;
    vm->res.via = via;
    vm->res.via_index = via_index;
}

/* Add 'agent' to the path: its input guardrails run on the text as the
   agents before it left it (docs/language.md, delegation). */
static inline __attribute__((always_inline)) step enter_agent(rv_vm *vm, uint32_t agent)
{
    const rv_program *p = vm->img->p;
    if (vm->nchain >= RV_MAX_CHAIN) {
        fail_msg(vm, RV_FAIL_NONE, "too many agents on one request's path (limit " RV_STR(RV_MAX_CHAIN) ")");
        return ST_FAILED;
    }
    vm->chain[vm->nchain++] = agent;
    vm->res.agent = agent;
    vm->cur.fallback = 0;
    vm->cur.cascade = RV_NONE;
    uint32_t fn = p->agents[agent].func;
    vm->pc = p->funcs[fn].start;
    /* the plan decides the function as its code would; an observer sees the code run */
    vm->plan = vm->plans_off ? NULL : vm->img->plans[fn];
    if (p->agents[agent].guard_count && gd_input(vm, agent))
        return ST_DENIED;
    return ST_ROUTE;
}

/* cheapest / fastest: the feasible candidate with the lowest estimated
   cost (every candidate at the same expected output) or latency (the
   observed one, else the declared one; a model with neither loses to any
   known latency); ties go to list order.  A model whose circuit is open
   or whose rate limits are used up is not feasible.  RV_NONE if none is. */
static uint32_t choose(rv_vm *vm, uint32_t c)
{
    const rv_program *p = vm->img->p;
    const rv_choice *ch = &p->choices[c];
    uint32_t best = RV_NONE;
    int64_t best_v = 0;
    for (uint32_t i = 0; i < ch->count; i++) {
        uint32_t m = p->model_refs[ch->first + i];
        rv_modelstate ms;
        model_state(vm, m, &ms);
        if (ms.circuit == RV_CIRCUIT_OPEN || ms.saturated)
            continue;
        if (ch->where != RV_NONE) {
            fn_ctx ctx = { .cand = m };
            rv_value ok = vm_run(vm, ch->where, &ctx);
            if (!vm_truthy(&ok))
                continue;
        }
        int64_t v;
        if (ch->kind == RV_CHOOSE_CHEAPEST)
            v = vm_call_cost(p, m, vm_model_tokens(vm, m), vm_expected_output(vm));
        else
            v = ms.latency_us >= 0 ? ms.latency_us : p->models[m].latency > 0 ? p->models[m].latency : UNKNOWN_LATENCY;
        if (best == RV_NONE || v < best_v) {
            best = m;
            best_v = v;
        }
    }
    return best;
}

static inline __attribute__((always_inline)) step routed(rv_vm *vm, ex_result ex, uint32_t arg);

static step route_step(rv_vm *vm)
{
    uint32_t arg = 0;
    rv_value ret;
    fn_ctx ctx = { .cand = RV_NONE };
    const struct vm_plan *plan = vm->plan;
    vm->plan = NULL;        /* (a function with a plan has no hook to come back from) */
    vm->sp = 0;
    ex_result ex = plan ? vm_exec_plan(vm, plan, &arg) : vm_exec(vm, vm->pc, &ctx, &ret, &arg);
    return routed(vm, ex, arg);
}

/* What follows the route code's end 'ex' (operand 'arg'); inline in
   route_step, out of line (routed_cold) where a plain start turns out
   otherwise. */
static inline __attribute__((always_inline)) step routed(rv_vm *vm, ex_result ex, uint32_t arg)
{
    const rv_program *p = vm->img->p;
    switch (ex) {
    case EX_DECIDE:
        vm->cur.cascade = RV_NONE;
        aim(vm, arg, RV_VIA_MODEL, RV_NONE);
        return ST_TRY;
    case EX_CASCADE:
        vm->cur.cascade = arg;
        vm->cur.step = 0;
        aim(vm, p->model_refs[p->cascades[arg].first], RV_VIA_CASCADE, arg);
        return ST_TRY;
    case EX_CHOOSE: {
        uint32_t m = choose(vm, arg);
        vm->cur.cascade = RV_NONE;
        vm->res.via = RV_VIA_CHOICE;
        vm->res.via_index = arg;
        if (m == RV_NONE) {
            fail_msg(vm, RV_FAIL_NONE, "no candidate satisfies the 'where' condition");
            return ST_FALLBACK;
        }
        aim(vm, m, RV_VIA_CHOICE, arg);
        return ST_TRY;
    }
    case EX_DELEGATE:
        return enter_agent(vm, arg);
    case EX_HOOK: {
        const rv_hook *h = &p->hooks[arg];
        vm->res.hook = arg;
        vm->hookcall.hook = arg;
        vm->hookcall.url.s = rv_str(p, h->url);
        vm->hookcall.url.len = p->str_len[h->url];
        vm->hookcall.timeout_us = h->timeout;
        return ST_HOOK;
    }
    case EX_FAIL:
        /* no rule matched: the fallbacks are the policy's answer to that */
        return ST_FALLBACK;
    case EX_RET:
    default:
        fail_msg(vm, RV_FAIL_NONE, "the route returned a value");
        return ST_FAILED;
    }
}

static __attribute__((noinline, cold)) step routed_cold(rv_vm *vm, ex_result ex, uint32_t arg)
{
    return routed(vm, ex, arg);
}

/* The wait before retry 'attempt' (2, 3, ...): exponential from the
   backoff in force ('base') with equal jitter, at least the provider's
   Retry-After. */
static int64_t backoff_for(rv_vm *vm, uint32_t attempt, int64_t base)
{
    int64_t d = base;
    for (uint32_t i = 2; i < attempt && d < MAX_BACKOFF; i++)
        d *= 2;
    if (d > MAX_BACKOFF)
        d = MAX_BACKOFF;
    int64_t w = d / 2 + (int64_t)(random64(vm) % (uint64_t)(d / 2 + 1));
    if (vm->cur.retry_after > w)
        w = vm->cur.retry_after;
    return w;
}

/* Record a call that was not made (a budget, an open circuit, the deadline)
   and what follows it. */
static step not_made(rv_vm *vm, rv_failure f, const char *why)
{
    rv_attempt *at = &vm->attempts[vm->res.nattempts++];
    memset(at, 0, sizeof *at);
    at->model = vm->cur.model;
    at->purpose = (uint8_t)vm->cur.purpose;
    at->attempt = vm->cur.attempt;
    at->failure = (uint8_t)f;
    at->latency_us = at->ttft_us = -1;
    fail_msg(vm, f, why);
    return f == RV_FAIL_DEADLINE ? ST_FAILED : ST_NEXT;
}

/* One reservation of the call in flight; 0, or non-zero when refused: 1
   by the budget, -1 for the ledger's error (the others are released,
   nothing stays reserved). */
static int reserve_one(rv_vm *vm, const rv_spendkey *k, int64_t worst, int64_t limit)
{
    uint64_t t = 0;
    int rc = vm->env->reserve(vm->env->ud, k, worst, limit, &t);
    if (rc != 0) {
        for (uint32_t n = 0; n < vm->cur.nticket; n++)
            if (vm->env->settle)
                vm->env->settle(vm->env->ud, vm->cur.ticket[n], 0);
        vm->cur.nticket = 0;
        return rc < 0 ? -1 : 1;
    }
    vm->cur.ticket[vm->cur.nticket++] = t;
    return 0;
}

/* Reserve the call's worst case against the per-day budget of every agent
   on the request's path -- the one addressed, those it delegated or fell
   back to, the one deciding -- each once, then against the caller's.  0
   when reserved (or no budget); -1 when an agent's refused, -2 when the
   caller's did, -3 when the ledger failed (nothing stays reserved). */
static int reserve_day(rv_vm *vm, int64_t worst)
{
    const rv_program *p = vm->img->p;
    vm->cur.nticket = 0;
    if (!vm->env || !vm->env->reserve)
        return 0;
    for (uint32_t i = 0; i < vm->nchain; i++) {
        uint32_t who = vm->chain[i], j = 0;
        const rv_agent *a = &p->agents[who];
        while (j < i && vm->chain[j] != who)
            j++;
        if (!a->budget_day || j < i)
            continue;
        rv_spendkey k = spend_key(vm, who);
        int rc = reserve_one(vm, &k, worst, a->budget_day);
        if (rc)
            return rc < 0 ? -3 : -1;
    }
    if (vm->caller.budget_day) {
        rv_spendkey k = { vm->caller.name, vm->caller.name_len, request_day(vm) };
        int rc = reserve_one(vm, &k, worst, vm->caller.budget_day);
        if (rc)
            return rc < 0 ? -3 : -2;
    }
    return 0;
}

/* Is there a per-day budget on the path or the caller's to reserve against
   (and a ledger to hold it)? */
static int day_budgeted(const rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    if (!vm->env || !vm->env->reserve)
        return 0;
    if (vm->caller.budget_day)
        return 1;
    if (!vm->img->day_budgets)
        return 0;
    for (uint32_t i = 0; i < vm->nchain; i++)
        if (p->agents[vm->chain[i]].budget_day)
            return 1;
    return 0;
}

static void settle_day(rv_vm *vm, int64_t actual)
{
    for (uint32_t j = 0; j < vm->cur.nticket; j++)
        if (vm->env && vm->env->settle)
            vm->env->settle(vm->env->ud, vm->cur.ticket[j], actual);
    vm->cur.nticket = 0;
}

/* The model's system template with {agent} and {model} substituted, in
   per-request memory; "" when it has none.  NULL when out of memory. */
static const char *system_template(rv_vm *vm, uint32_t m, uint32_t *len)
{
    const rv_program *p = vm->img->p;
    uint32_t sys = p->models[m].system;
    *len = 0;
    if (sys == RV_NONE)
        return "";
    const char *t = rv_str(p, sys), *agent = rv_str(p, p->agents[vm->res.agent].name),
               *model = rv_str(p, p->models[m].name);
    uint32_t tl = p->str_len[sys], al = p->str_len[p->agents[vm->res.agent].name],
             ml = p->str_len[p->models[m].name];
    if (!memchr(t, '{', tl)) {
        *len = tl;
        return t;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < tl;) {   /* measure, then write */
        if (tl - i >= 7 && !memcmp(t + i, "{agent}", 7)) { n += al; i += 7; }
        else if (tl - i >= 7 && !memcmp(t + i, "{model}", 7)) { n += ml; i += 7; }
        else { n++; i++; }
    }
    char *d = vm_alloc(vm, n + 1), *q = d;
    if (!d)
        return NULL;
    for (uint32_t i = 0; i < tl;) {
        if (tl - i >= 7 && !memcmp(t + i, "{agent}", 7)) { memcpy(q, agent, al); q += al; i += 7; }
        else if (tl - i >= 7 && !memcmp(t + i, "{model}", 7)) { memcpy(q, model, ml); q += ml; i += 7; }
        else *q++ = t[i++];
    }
    *q = 0;
    *len = (uint32_t)n;
    return d;
}

/* The judge's conversation (docs/language.md, "by judge"): the grading
   instructions, then the question and the answer to rate. */
static const char JUDGE_SYSTEM[] =
    "You grade answers. Read the question and the answer, and rate how likely the answer is "
    "correct and complete, from 0 (certainly wrong) to 1 (certainly right). Reply with the "
    "number only.";

#define JUDGE_OUTPUT RV_JUDGE_OUTPUT     /* tokens a rating needs */
#define JUDGE_Q "Question:\n"
#define JUDGE_A "\n\nAnswer:\n"
/* what routec's worst case allows for (tokens never outnumber bytes) */
_Static_assert(sizeof JUDGE_SYSTEM + sizeof JUDGE_Q + sizeof JUDGE_A + 2 * 4 + 16 <= RV_JUDGE_OVERHEAD,
               "the judge's instructions fit RV_JUDGE_OVERHEAD");

/* Estimated input tokens of the judge's conversation (built). */
static int64_t judge_tokens(rv_vm *vm)
{
    return bi_tokens(JUDGE_SYSTEM, sizeof JUDGE_SYSTEM - 1) + bi_tokens(vm->judge_msgs[1].text.s, vm->judge_msgs[1].text.len) + 8;
}

static int judge_conversation(rv_vm *vm)
{
    rv_sv input = vm_view_input(vm);                      /* as the input guardrails left it */
    const rv_sv *in = vm->req ? &input : NULL;
    static const char q[] = JUDGE_Q, a[] = JUDGE_A;
    size_t n = sizeof q - 1 + (in ? in->len : 0) + sizeof a - 1 + vm->cur.kept.len;
    char *d = vm_alloc(vm, n + 1), *w = d;
    if (!d)
        return -1;
    memcpy(w, q, sizeof q - 1), w += sizeof q - 1;
    if (in && in->len)
        memcpy(w, in->s, in->len), w += in->len;
    memcpy(w, a, sizeof a - 1), w += sizeof a - 1;
    if (vm->cur.kept.len)
        memcpy(w, vm->cur.kept.s, vm->cur.kept.len), w += vm->cur.kept.len;
    *w = 0;
    vm->judge_msgs[0].role = RV_ROLE_SYSTEM;
    vm->judge_msgs[0].text.s = JUDGE_SYSTEM;
    vm->judge_msgs[0].text.len = sizeof JUDGE_SYSTEM - 1;
    vm->judge_msgs[1].role = RV_ROLE_USER;
    vm->judge_msgs[1].text.s = d;
    vm->judge_msgs[1].text.len = (uint32_t)n;
    return 0;
}

/* The model's generation parameters and stop sequences, for the driver. */
static void call_params(const rv_vm *vm, uint32_t m, rv_call *c)
{
    const rv_program *p = vm->img->p;
    const rv_model *md = &p->models[m];
    c->params_set = md->params_set;
    memcpy(c->params, md->params, sizeof c->params);
    c->nstop = 0;
    if (md->stop == RV_NONE)
        return;
    const rv_const *l = &p->consts[md->stop];
    for (uint32_t i = 0; i < l->count && i < RV_MAX_STOP; i++) {
        const rv_const *k = &p->consts[p->items[l->first + i]];
        c->stop[c->nstop].s = rv_str(p, k->str);
        c->stop[c->nstop++].len = p->str_len[k->str];
    }
}

/* Room for more call records, in per-request memory: 0, or -1 when there
   is none. */
static int grow_attempts(rv_vm *vm)
{
    uint32_t cap = vm->attempt_cap * 2 < RV_MAX_ATTEMPTS ? vm->attempt_cap * 2 : RV_MAX_ATTEMPTS;
    rv_attempt *a = vm_alloc(vm, cap * sizeof *a);
    if (!a)
        return -1;
    memcpy(a, vm->attempts, vm->res.nattempts * sizeof *a);
    vm->res.attempts = vm->attempts = a;
    vm->attempt_cap = cap;
    return 0;
}

/* The budgets a call must fit before it is made: per request, the
   estimate of this call on top of what was spent (estimated only when a
   budget asks: tokens() reads every message) against the path's agents'
   (when some agent has such a budget), then the caller's; per day, the
   worst case, reserved before the call (*worst) and settled after.
   ST_CALL when it fits, else what not_made() returns. */
static step budgets(rv_vm *vm, int judge, int64_t *worst)
{
    const rv_program *p = vm->img->p;
    uint32_t m = vm->cur.model;
    for (uint32_t i = vm->img->request_budgets ? 0 : vm->nchain; i <= vm->nchain; i++) {
        int64_t b = i < vm->nchain ? p->agents[vm->chain[i]].budget_request : vm->caller.budget_request;
        if (!b)
            continue;
        int64_t out_limit = judge ? JUDGE_OUTPUT : vm_output_limit(vm, m);
        int64_t est = vm_call_cost(p, m, judge ? judge_tokens(vm) : vm_model_tokens(vm, m),
                                   out_limit ? out_limit : vm_expected_output(vm));
        if (vm->res.cost > b - est || est > b)
            return not_made(vm, RV_FAIL_BUDGET, i < vm->nchain ? "the call would exceed the per-request budget"
                                                               : "the call would exceed the caller's per-request budget");
    }
    if (day_budgeted(vm)) {
        *worst = judge ? vm_call_worst(p, m, (int64_t)vm->judge_msgs[1].text.len + 64 + sizeof JUDGE_SYSTEM, JUDGE_OUTPUT)
                       : vm_call_worst(p, m, worst_input(vm, m), worst_output(vm, m));
        int refused = reserve_day(vm, *worst);
        if (refused)
            return not_made(vm, RV_FAIL_BUDGET, refused == -3   ? "the spend ledger failed: the budget cannot be checked"
                                                : refused == -2 ? "the caller's daily budget is used up"
                                                                : "the daily budget is used up");
    }
    return ST_CALL;
}

/* Try the current target: check what may stop the call before it is made,
   record it as made and suspend (vm_call() describes it when asked).
   'first': the decision's first call, for an answer (no attempt before
   it: none to count, no backoff); 'plain': and the last decision was
   plain, so its record of the same shape is in place but for the model
   (decide.c, "Plain decisions"). */
static inline __attribute__((always_inline)) step try_call(rv_vm *vm, int first, int plain)
{
    uint32_t m = vm->cur.model;
    if (!first && vm->res.nattempts >= RV_MAX_ATTEMPTS) {
        fail_msg(vm, vm->res.failure, "too many model calls for one request (limit " RV_STR(RV_MAX_ATTEMPTS) ")");
        return ST_FAILED;
    }
    if (!first && vm->res.nattempts == vm->attempt_cap && grow_attempts(vm)) {
        fail_msg(vm, vm->res.failure, "out of memory for this request");
        return ST_FAILED;
    }
    vm->cur.attempt = first ? 1 : vm->cur.attempt + 1;
    int64_t backoff = !first && vm->cur.attempt > 1 ? backoff_for(vm, vm->cur.attempt, vm_call_settings(vm, m).backoff_us) : 0;
    if (vm->deadline_us && now_us(vm) + backoff >= vm->deadline_us)
        return not_made(vm, RV_FAIL_DEADLINE, "the request's deadline has passed");
    if (vm->env && vm->env->model_state) {     /* (without, every circuit is closed) */
        rv_modelstate ms;
        model_state(vm, m, &ms);
        if (ms.circuit == RV_CIRCUIT_OPEN)
            return not_made(vm, RV_FAIL_UNAVAILABLE, "the model's circuit is open");
        if (ms.saturated)
            return not_made(vm, RV_FAIL_UNAVAILABLE, "the model's rate limit is used up");
    }
    int judge = !first && vm->cur.purpose == RV_PURPOSE_JUDGE;
    if (judge && judge_conversation(vm))
        return not_made(vm, RV_FAIL_NONE, "out of memory for this request");
    int64_t reserved = 0;           /* (nothing is reserved without a budget to ask: nticket 0) */
    if (vm->budgets || vm->caller.budget_request || vm->caller.budget_day) {
        int64_t worst = 0;
        step st = budgets(vm, judge, &worst);
        if (st != ST_CALL)
            return st;
        reserved = vm->cur.nticket ? worst : 0;
    }
    /* the system prompt now: building it may fail (out of memory), and
       that must be known before the call counts as made */
    if (judge) {
        vm->call_system = (rv_sv){ "", 0 };
    } else if (vm->img->msys[m].s) {
        vm->call_system = vm->img->msys[m];     /* sent as written */
    } else {
        uint32_t sl;
        const char *s = system_template(vm, m, &sl);
        if (!s) {
            vm->call_system = (rv_sv){ "", 0 };
            settle_day(vm, 0);
            return not_made(vm, RV_FAIL_NONE, "out of memory for this request");
        }
        vm->call_system.s = s;
        vm->call_system.len = sl;
    }
    vm->call_ready = 0;
    if (!plain)                     /* (a plain decision's is 0, as a first call's) */
        vm->call_backoff = backoff;
    if (!plain || reserved)         /* (and it reserved nothing) */
        vm->call_reserved = reserved;
    rv_attempt *at = &vm->attempts[first ? 0 : vm->res.nattempts];
    vm->res.nattempts = first ? 1 : vm->res.nattempts + 1;
    if (plain)
        at->model = m;
    else
        *at = (rv_attempt){ .model = m, .purpose = (uint8_t)vm->cur.purpose, .attempt = vm->cur.attempt, .made = 1,
                            .backoff_us = backoff, .latency_us = -1, .ttft_us = -1 };
    vm->res.ncalls = first ? 1 : vm->res.ncalls + 1;
    return ST_CALL;
}

static step try_step(rv_vm *vm) { return try_call(vm, 0, 0); }

/* Fill the descriptor of the call in flight (vm_call): nothing it reads
   has changed since try_step() let the call be made. */
static void describe_call(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    uint32_t m = vm->cur.model;
    int judge = vm->cur.purpose == RV_PURPOSE_JUDGE;
    rv_call *c = &vm->call;
    memset(c, 0, sizeof *c);
    c->model = m;
    c->provider = p->models[m].provider;
    c->purpose = vm->cur.purpose;
    c->attempt = vm->cur.attempt;
    c->seq = vm->res.nattempts - 1;
    c->timeout_us = vm_call_settings(vm, m).timeout_us;
    c->deadline_us = vm->deadline_us;
    c->backoff_us = vm->call_backoff;
    c->max_output = judge ? JUDGE_OUTPUT : vm_output_limit(vm, m);
    c->reserved = vm->call_reserved;
    call_params(vm, m, c);
    if (judge) {
        c->msgs = vm->judge_msgs;
        c->nmsgs = 2;
    } else {
        const rv_cascade *cs = vm->cur.cascade != RV_NONE ? &p->cascades[vm->cur.cascade] : NULL;
        c->may_stream = !cs || vm->cur.step + 1 >= cs->count;
        c->req = vm->req;
        c->texts = vm_texts(vm);
        c->system = vm->call_system;
    }
    vm->call_ready = 1;
}

/* The next step of the cascade (a step failed or was not sure enough). */
static step escalate(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    const rv_cascade *cs = &p->cascades[vm->cur.cascade];
    vm->cur.step++;
    aim(vm, p->model_refs[cs->first + vm->cur.step], RV_VIA_CASCADE, vm->cur.cascade);
    return ST_TRY;
}

static step accept(rv_vm *vm, uint32_t model, rv_sv text, const rv_toolcall *tools, uint32_t ntools, int guarded);

static step next_step(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    const rv_attempt *at = &vm->attempts[vm->res.nattempts - 1];
    rv_failure f = vm->res.failure;
    if (f == RV_FAIL_STREAMED || f == RV_FAIL_DEADLINE)
        return ST_FAILED;
    rv_callsettings set = vm_call_settings(vm, vm->cur.model);
    if (at->made && (set.retry_on >> f & 1) && vm->cur.attempt <= set.retry &&
        vm->cur.retry_after <= MAX_RETRY_AFTER)
        return ST_TRY;
    /* the model's stand-in for this class takes its place, for the same
       purpose (a cascade step, a judge) under the same rule */
    const rv_model *md = &p->models[vm->cur.model];
    uint32_t t = take_onfail(vm, md->onfail_first, md->onfail_count, f);
    if (t != RV_NONE) {
        vm->cur.model = p->targets[t].index;
        vm->cur.attempt = 0;
        vm->cur.retry_after = -1;
        if (vm->cur.purpose == RV_PURPOSE_ANSWER)
            vm->res.model = vm->cur.model;
        return ST_TRY;
    }
    if (vm->cur.cascade != RV_NONE) {
        const rv_cascade *cs = &p->cascades[vm->cur.cascade];
        if (vm->cur.purpose == RV_PURPOSE_JUDGE)     /* an unrated answer is not accepted */
            return vm->cur.step + 1 < cs->count ? escalate(vm) : ST_FALLBACK;
        if (f == RV_FAIL_BUDGET && vm->cur.kept.s)  /* cannot afford to escalate: the best answer so far */
            return accept(vm, vm->cur.kept_model, vm->cur.kept, vm->cur.kept_tools, vm->cur.nkept_tools, 0);
        if (vm->cur.step + 1 < cs->count)
            return escalate(vm);
    }
    return ST_FALLBACK;
}

/* The deciding agent's 'fallback on' entry for the failure's class, else
   its next plain fallback. */
static step fallback_step(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[vm->res.agent];
    uint32_t on = take_onfail(vm, a->onfail_first, a->onfail_count, vm->res.failure);
    if (on != RV_NONE || vm->cur.fallback < a->fallback_count) {
        uint32_t idx = on != RV_NONE ? on : a->fallback_first + vm->cur.fallback++;
        const rv_target *t = &p->targets[idx];
        vm->cur.cascade = RV_NONE;
        vm->cur.kept.s = NULL;
        vm->cur.kept.len = 0;
        vm->cur.kept_tools = NULL;
        vm->cur.nkept_tools = 0;
        if (!t->is_agent) {
            aim(vm, t->index, RV_VIA_FALLBACK, idx);
            return ST_TRY;
        }
        vm->res.via = RV_VIA_FALLBACK;
        vm->res.via_index = idx;
        return enter_agent(vm, t->index);
    }
    if (!vm->res.error)
        fail_msg(vm, vm->res.failure, "the model failed and no fallback is left");
    return ST_FAILED;
}

/* A copy of 'n' tool calls in per-request memory; NULL when out of memory
   (or n == 0). */
static rv_toolcall *copy_tools(rv_vm *vm, const rv_toolcall *tools, uint32_t n)
{
    rv_toolcall *tc = n ? vm_alloc(vm, n * sizeof *tc) : NULL;
    if (!tc)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const rv_sv *src[3] = { &tools[i].id, &tools[i].name, &tools[i].arguments };
        rv_sv *dst[3] = { &tc[i].id, &tc[i].name, &tc[i].arguments };
        for (int k = 0; k < 3; k++) {
            char *d = vm_copy(vm, src[k]->s ? src[k]->s : "", src[k]->len);
            if (!d)
                return NULL;
            dst[k]->s = d;
            dst[k]->len = src[k]->len;
        }
    }
    return tc;
}

/* Accept an answer: copy it, run the output guardrails of every agent on
   the path (the deciding agent's first, then back to the one addressed),
   on the text -- unless they ran on it as it streamed ('guarded') -- and
   on each tool call's arguments. */
static step accept(rv_vm *vm, uint32_t model, rv_sv text, const rv_toolcall *tools, uint32_t ntools, int guarded)
{
    vm->res.model = model;
    if (!vm_owns(vm, text.s)) {
        char *d = vm_copy(vm, text.s ? text.s : "", text.len);
        if (!d) {
            fail_msg(vm, RV_FAIL_NONE, "out of memory for this request");
            return ST_FAILED;
        }
        text.s = d;
    }
    rv_toolcall *tc = vm_owns(vm, (const char *)tools) ? (rv_toolcall *)tools : copy_tools(vm, tools, ntools);
    if (ntools && !tc) {
        fail_msg(vm, RV_FAIL_NONE, "out of memory for this request");
        return ST_FAILED;
    }
    for (uint32_t i = vm->nchain; i-- > 0;) {
        uint32_t agent = vm->chain[i];
        if (!vm->img->p->agents[agent].guard_count)
            continue;
        if (!guarded && gd_output(vm, agent, &text))
            return ST_DENIED;
        for (uint32_t k = 0; k < ntools; k++)
            if (gd_output(vm, agent, &tc[k].arguments))
                return ST_DENIED;
    }
    vm->res.answer = text;
    vm->res.tool_calls = tc;
    vm->res.ntool_calls = ntools;
    return ST_DONE;
}

static rv_status run(rv_vm *vm, step st)
{
    for (unsigned n = 0;; n++) {
        if (n >= MAX_STEPS) {
            fail_msg(vm, vm->res.failure, "the decision did not end");
            st = ST_FAILED;
        }
        switch (st) {
        case ST_ROUTE:    st = route_step(vm); break;
        case ST_TRY:      st = try_step(vm); break;
        case ST_NEXT:     st = next_step(vm); break;
        case ST_FALLBACK: st = fallback_step(vm); break;
        case ST_CALL:     vm->state = VS_CALL; return vm->res.status = RV_CALL;
        case ST_HOOK:     vm->state = VS_HOOK; return vm->res.status = RV_HOOK;
        case ST_DONE:     vm->state = VS_END; return vm->res.status = RV_DONE;
        case ST_DENIED:   vm->state = VS_END; return vm->res.status = RV_DENIED;
        case ST_FAILED:
        default:
            vm->state = VS_END;
            if (!vm->res.error)
                vm->res.error = "no decision";
            return vm->res.status = RV_FAILED;
        }
    }
}

/* Plain decisions.  Most decisions go from vm_start to their first call
   the same way: an agent without guardrails, its route decided by a plan
   (plan.h) or by code that changes nothing but the rule it records
   (image.c, plain_code), naming a model, a call nothing stops, no caller
   budget, no memory taken, nothing reserved.  Such a decision is plain:
   it writes only what start_plain, aim and try_call write on that way
   (and the metadata slots, which are the request's by 'gen') -- the
   result's agents, rule, model, via, counts and status; the target's
   model, purpose, attempt, rule, retry_after, fallback and cascade; the
   path; the first attempt record; the call's system prompt, backoff and
   reservation; the clock -- and the next decision that is plain again
   (vm_start) need not reset the rest: it writes what differs (the
   agents, the rule, the model, the record's model), and resets the rest
   of those (undo_plain) only when it turns out not to be plain after all.
   Whatever else touches the VM clears 'plain' first: vm_resume,
   vm_run_expect, vm_run_fn (interp.c), vm_release, a decision that is
   not plain; vm_feed and vm_feed_end set 'feed_dirty', which counts as
   not plain. */

/* The decision's state as a new request finds it; 'agent' addressed. */
static void reset(rv_vm *vm, uint32_t agent)
{
    if (vm->feed_dirty) {
        vm_feed_reset(vm);
        vm->feed_dirty = 0;
    }
    if (!vm_mem_clean(vm))
        vm_mem_reset(vm);
    gd_begin(vm);
    vm->lang_text = NULL;
    vm->in_tokens = -1;
    vm->attempts = vm->attempt_inline;
    vm->res = res_blank;
    vm->res.attempts = vm->attempt_inline;
    vm->res.guardacts = vm->guardacts;
    vm->res.first_agent = vm->res.agent = agent;
    vm->attempt_cap = VM_INLINE_ATTEMPTS;
    memset(&vm->cur, 0, offsetof(__typeof__(vm->cur), ticket));    /* nticket 0: 'ticket' is not read */
    vm->cur.model = RV_NONE;
    vm->cur.cascade = RV_NONE;
    vm->cur.rule = RV_NONE;
    vm->nonfail_used = 0;
    vm->cur.retry_after = -1;
    vm->nchain = 0;
    memset(&vm->caller, 0, sizeof vm->caller);
}

/* A decision that looked plain and is not (its plan did not name a
   model): what the last plain decision wrote and this one has not, back
   to what reset() leaves. */
static void undo_plain(rv_vm *vm)
{
    vm->res.model = RV_NONE;
    vm->res.via = res_blank.via;
    vm->res.via_index = RV_NONE;
    memset(&vm->cur, 0, offsetof(__typeof__(vm->cur), ticket));
    vm->cur.model = RV_NONE;
    vm->cur.cascade = RV_NONE;
    vm->cur.rule = RV_NONE;
    vm->cur.retry_after = -1;
}

/* Does the DISPATCH that starts the code of 'as' decide at once, as the
   interpreter's would (interp.c, OP_DISPATCH: a value whose slot holds
   'RULE r; DECIDE m'): the rule recorded, the model in *arg? */
static inline __attribute__((always_inline)) int dispatch_decides(rv_vm *vm, const struct vm_astart *as,
                                                                  uint32_t *arg)
{
    if (as->dk == RV_NONE || !vm->req)
        return 0;
    const rv_sv *m = req_meta(vm->req, as->dkey.s, as->dkey.len);
    const struct rv_dslot *e = m ? vm_dispatch_find(vm->img, as->dk, m->s, m->len) : NULL;
    if (!e || e->model == RV_DSLOT_CODE)
        return 0;
    vm->res.rule = e->rule;
    *arg = e->model;
    return 1;
}

/* The route of 'agent', which has no guardrails, decided by its plan or
   by code that changes nothing but the rule ('as'), after reset(), or
   after a plain decision when 'plain' (vm_start reset the request's
   fields and the result's agents, rule and counts); a decision that
   reaches its first call this way is plain. */
static inline __attribute__((always_inline)) rv_status start_plain(rv_vm *vm, uint32_t agent,
                                                                  const struct vm_astart *as, int plain)
{
    uint32_t arg = 0;
    vm->chain[0] = agent;           /* enter_agent, but for the guardrails it has none of */
    vm->nchain = 1;
    vm->res.agent = agent;
    if (!plain) {                   /* (a plain decision left these so) */
        vm->cur.fallback = 0;
        vm->cur.cascade = RV_NONE;
        vm->plan = NULL;            /* (what route_step would leave) */
        vm->sp = 0;
    }
    ex_result ex;
    if (as->plan) {
        ex = plan_run(vm, as->plan, &arg);
    } else if (!dispatch_decides(vm, as, &arg)) {
        fn_ctx ctx = { .cand = RV_NONE };
        rv_value ret;
        ex = vm_exec(vm, as->pc, &ctx, &ret, &arg);
    } else {
        ex = EX_DECIDE;
    }
    if (__builtin_expect(ex != EX_DECIDE, 0)) {
        if (plain)
            undo_plain(vm);
        return run(vm, routed_cold(vm, ex, arg));
    }
    if (plain) {                    /* aim, but for what is as it left it */
        vm->cur.rule = rule_in_force(vm);
        vm->cur.model = arg;
        vm->cur.attempt = 0;
        vm->res.model = arg;
    } else {
        aim(vm, arg, RV_VIA_MODEL, RV_NONE);
    }
    step st = plain ? try_call(vm, 1, 1) : try_call(vm, 1, 0);
    if (__builtin_expect(st != ST_CALL, 0))
        return run(vm, st);
    vm->plain = !vm->mem_used && !vm->cur.nticket;
    vm->state = VS_CALL;
    return vm->res.status = RV_CALL;
}

rv_status vm_start(rv_vm *vm, uint32_t agent, const rv_request *req, const rv_startopts *opts)
{
    const rv_image *img = vm->img;
    /* the request's first line (its routing view, the scalars rules
       test) is what a planned decision reads of it: asked for now, it
       arrives while the state below is reset */
    __builtin_prefetch(req);
    const struct vm_astart *as = agent < img->p->nagent && !vm->plans_off && img->astart[agent].plain
                               ? &img->astart[agent] : NULL;
    int plain = vm->plain && !vm->feed_dirty && as &&
                !(opts && opts->caller && (opts->caller->budget_day > 0 || opts->caller->budget_request > 0));
    vm->plain = 0;
    vm->req = req;
    if (++vm->gen == 0) {   /* after 2^32 requests: forget every slot's */
        for (uint32_t i = 0; i < img->nmeta_slot; i++)
            vm->mslot[i].gen = 0;
        vm->gen = 1;
    }
    if (plain) {            /* (it reserved nothing: nothing to abandon) */
        vm->in_tokens = -1;
        vm->res.first_agent = agent;
        vm->res.rule = RV_NONE;
        vm->res.nattempts = 0;
        vm->res.ncalls = 0;
        vm->start_us = now_us(vm);
        vm->deadline_us = opts ? opts->deadline_us : 0;
        return start_plain(vm, agent, as, 1);
    }
    abandon(vm);
    reset(vm, agent);
    vm->start_us = now_us(vm);
    vm->deadline_us = opts ? opts->deadline_us : 0;
    if (opts && opts->caller && (opts->caller->budget_day > 0 || opts->caller->budget_request > 0)) {
        const rv_caller *c = opts->caller;
        vm->caller = *c;
        vm->caller.budget_day = c->budget_day > 0 ? c->budget_day : 0;
        vm->caller.budget_request = c->budget_request > 0 ? c->budget_request : 0;
        if (!(vm->caller.name = vm_copy(vm, c->name ? c->name : "", c->name ? c->name_len : 0))) {
            memset(&vm->caller, 0, sizeof vm->caller);
            fail_msg(vm, RV_FAIL_NONE, "out of memory for this request");
            return run(vm, ST_FAILED);
        }
    }
    if (agent >= img->p->nagent) {
        fail_msg(vm, RV_FAIL_NONE, "no such agent");
        return run(vm, ST_FAILED);
    }
    if (as)
        return start_plain(vm, agent, as, 0);
    return run(vm, enter_agent(vm, agent));
}

/* Bill a call: the usage the provider reported, else the estimate (an
   answer's output from its text); a failed call only what was reported. */
static void bill(rv_vm *vm, rv_attempt *at, const rv_outcome *o, rv_sv text)
{
    const rv_program *p = vm->img->p;
    rv_usage u = o->usage;
    if (o->ok && u.input < 0) {
        u.input = vm->cur.purpose == RV_PURPOSE_JUDGE ? judge_tokens(vm) : vm_model_tokens(vm, at->model);
        at->estimated = 1;
    }
    if (o->ok && u.output < 0) {
        u.output = bi_tokens(text.s ? text.s : "", text.len);
        at->estimated = 1;
    }
    at->usage = u;
    at->cost = vm_usage_cost(p, at->model, &u);
    vm->res.cost = vm->res.cost > INT64_MAX - at->cost ? INT64_MAX : vm->res.cost + at->cost;
    settle_day(vm, at->cost);
}

/* The confidence of a cascade step's answer, in millionths. */
static int64_t confidence(rv_vm *vm, const rv_cascade *cs, const rv_outcome *o)
{
    if (cs->by == RV_BY_CHECK) {
        fn_ctx ctx = { .cand = RV_NONE, .resp = o };
        rv_value v = vm_run(vm, cs->check, &ctx);
        if (v.t == RV_T_BOOL)
            return v.u.i ? 1000000 : 0;
        return v.t == RV_T_NUM ? v.u.i : 0;
    }
    return o->confidence >= 0 ? o->confidence : 0;   /* unknown confidence escalates */
}

/* A judge's rating: the first number in its answer, from 0 to 1; anything
   else rates 0. */
static int64_t rating(rv_sv t)
{
    char buf[32];
    uint32_t i = 0;
    while (i < t.len && !(t.s[i] >= '0' && t.s[i] <= '9') && t.s[i] != '.')
        i++;
    size_t n = t.len - i < sizeof buf - 1 ? t.len - i : sizeof buf - 1;
    memcpy(buf, t.s + i, n);
    buf[n] = 0;
    char *end;
    double d = strtod(buf, &end);
    return end != buf && d >= 0 && d <= 1 ? (int64_t)(d * 1000000 + 0.5) : 0;
}

rv_status vm_resume(rv_vm *vm, const rv_outcome *o)
{
    const rv_program *p = vm->img->p;
    vm->plain = 0;
    if (vm->state == VS_HOOK) {
        vm->state = VS_ROUTE;
        if (o->ok)
            for (uint32_t m = 0; m < p->nmodel; m++)
                if (p->str_len[p->models[m].name] == o->hook_model.len &&
                    !memcmp(rv_str(p, p->models[m].name), o->hook_model.s, o->hook_model.len)) {
                    vm->cur.cascade = RV_NONE;
                    aim(vm, m, RV_VIA_HOOK, vm->res.hook);
                    return run(vm, ST_TRY);
                }
        return run(vm, ST_ROUTE);     /* the default target follows the HOOK */
    }
    if (vm->state != VS_CALL) {
        if (vm->state != VS_END)
            fail_msg(vm, RV_FAIL_NONE, "nothing to resume");
        return RV_FAILED;
    }
    vm->state = VS_ROUTE;
    rv_attempt *at = &vm->attempts[vm->res.nattempts - 1];
    rv_sv text = o->text;
    int fed = vm_feed_active(vm);
    if (fed)
        text = vm_feed_text(vm);
    at->ok = (uint8_t)(o->ok != 0);
    at->latency_us = o->latency_us;
    at->ttft_us = o->ttft_us;
    at->http_status = (uint16_t)(o->http_status > 0 && o->http_status < 1000 ? o->http_status : 0);
    bill(vm, at, o, text);
    int streamed = fed && vm_feed_released(vm), denied = fed && vm_feed_denied(vm),
        lost = fed && vm_feed_failed(vm);
    vm_feed_reset(vm);
    if (!o->ok) {
        rv_failure f = o->failure > RV_FAIL_NONE && o->failure < RV_FAIL__COUNT ? o->failure
                     : vm_failure_of_http(o->http_status) != RV_FAIL_NONE ? vm_failure_of_http(o->http_status)
                     : RV_FAIL_ERROR;
        if (streamed)
            f = RV_FAIL_STREAMED;
        at->failure = (uint8_t)f;
        vm->cur.retry_after = o->retry_after_us;
        const char *msg = o->detail ? vm_copy(vm, o->detail, strlen(o->detail)) : NULL;
        fail_msg(vm, f, msg ? msg : rv_failure_names[f]);
        return run(vm, ST_NEXT);
    }
    if (denied)
        return run(vm, ST_DENIED);
    if (lost) {
        fail_msg(vm, RV_FAIL_STREAMED, "the streamed answer could not be kept (too long, or out of memory)");
        return run(vm, ST_FAILED);
    }
    vm->res.failure = RV_FAIL_NONE;
    vm->res.error = NULL;
    if (vm->cur.cascade != RV_NONE) {
        const rv_cascade *cs = &p->cascades[vm->cur.cascade];
        if (vm->cur.purpose == RV_PURPOSE_JUDGE) {
            if (rating(text) >= cs->threshold)
                return run(vm, accept(vm, vm->cur.kept_model, vm->cur.kept, vm->cur.kept_tools,
                                      vm->cur.nkept_tools, 0));
            return run(vm, escalate(vm));
        }
        if (vm->cur.step + 1 < cs->count) {
            char *kept = vm_copy(vm, text.s ? text.s : "", text.len);
            vm->cur.kept_tools = copy_tools(vm, o->tool_calls, o->ntool_calls);
            vm->cur.nkept_tools = vm->cur.kept_tools ? o->ntool_calls : 0;
            if (!kept || (o->ntool_calls && !vm->cur.kept_tools)) {
                fail_msg(vm, RV_FAIL_NONE, "out of memory for this request");
                return run(vm, ST_FAILED);
            }
            vm->cur.kept.s = kept;
            vm->cur.kept.len = text.len;
            vm->cur.kept_model = vm->cur.model;
            if (cs->by == RV_BY_JUDGE && o->confidence < 0) {
                vm->cur.model = cs->judge;
                vm->cur.purpose = RV_PURPOSE_JUDGE;
                vm->cur.attempt = 0;
                vm->cur.retry_after = -1;
                return run(vm, ST_TRY);
            }
            if (confidence(vm, cs, o) < cs->threshold)
                return run(vm, escalate(vm));
        }
    }
    return run(vm, accept(vm, vm->cur.model, text, o->tool_calls, o->ntool_calls, fed));
}
