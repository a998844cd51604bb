/* The decision state machine; see vm.h.

   vm_start and vm_resume turn what the route code decides (interp.c) into
   model calls -- retries, fallbacks, cascade steps and judge calls -- and
   then into a result: output guardrails, cost.  It does no I/O: every
   call leaves through RV_CALL or RV_HOOK to the driver. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "mem.h"
#include "opcodes.h"
#include "vmstate.h"

#define SCRATCH 2048
#define MAX_ATTEMPTS 64      /* calls per request, whatever the policy says */

rv_vm *vm_new(const rv_image *img, bi_langdet *lang)
{
    uint32_t cap = img->p->max_stack ? img->p->max_stack : 1;
    rv_vm *vm = mem_calloc(1, sizeof *vm + cap * sizeof(rv_value));
    if (!vm)
        return NULL;
    vm->img = img;
    vm->lang = lang;
    vm->stack_cap = cap;
    vm->scratch = mem_malloc(SCRATCH);
    vm->scratch_cap = SCRATCH;
    vm->md = pcre2_match_data_create(img->max_match, NULL);
    vm->meta_val = mem_calloc(img->nmeta_slot + 1, sizeof *vm->meta_val);
    vm->meta_gen = mem_calloc(img->nmeta_slot + 1, sizeof *vm->meta_gen);
    if (!vm->scratch || !vm->md || !vm->meta_val || !vm->meta_gen) {
        vm_free(vm);
        return NULL;
    }
    return vm;
}

void vm_free(rv_vm *vm)
{
    if (!vm)
        return;
    pcre2_match_data_free(vm->md);
    free(vm->scratch);
    free(vm->meta_val);
    free(vm->meta_gen);
    free(vm);
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

/* ---------------------------------------------------------------- estimates */

int64_t vm_call_cost(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens)
{
    const rv_model *m = &p->models[model];
    __int128 c = (__int128)in_tokens * m->price_in + (__int128)out_tokens * m->price_out;
    return c > INT64_MAX ? INT64_MAX : (int64_t)c;
}

static int64_t conversation_tokens(rv_vm *vm)
{
    if (vm->in_tokens < 0) {
        int64_t t = 0;
        for (uint32_t i = 0; i < vm->req->nmsg; i++)
            t += bi_tokens(vm->req->msgs[i].text.s, vm->req->msgs[i].text.len) + 4;  /* per-message framing */
        vm->in_tokens = t;
    }
    return vm->in_tokens;
}

int64_t vm_model_tokens(rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    uint32_t sys = p->models[model].system;
    return conversation_tokens(vm) + (sys != RV_NONE ? bi_tokens(rv_str(p, sys), p->str_len[sys]) : 0);
}

int64_t vm_expected_output(const rv_vm *vm, uint32_t model)
{
    const rv_program *p = vm->img->p;
    int64_t out = vm->req && vm->req->max_tokens ? vm->req->max_tokens
                : p->models[model].max_output ? p->models[model].max_output : 1000;
    int64_t lim = gd_output_limit(p, vm->agent);
    if (lim && lim < out)
        out = lim;
    if (p->models[model].max_output && p->models[model].max_output < out)
        out = p->models[model].max_output;
    return out;
}

/* ---------------------------------------------------------------- decisions */

static rv_status call(rv_vm *vm, uint32_t model, rv_purpose purpose)
{
    const rv_program *p = vm->img->p;
    if (vm->attempts >= MAX_ATTEMPTS) {
        vm->error = "too many model calls for one request";
        vm->state = VS_END;
        return RV_FAILED;
    }
    if (vm->call.model != model || vm->call.purpose != purpose)
        vm->call.attempt = 0;
    vm->call.model = model;
    vm->call.purpose = purpose;
    vm->call.attempt++;
    vm->model = purpose == RV_PURPOSE_ANSWER ? model : vm->model;
    vm->state = VS_CALL;
    (void)p;
    return RV_CALL;
}

/* cheapest / fastest: the feasible candidate with the lowest estimated
   cost or latency; ties go to list order.  RV_NONE when none is feasible. */
static uint32_t choose(rv_vm *vm, uint32_t c)
{
    const rv_program *p = vm->img->p;
    const rv_choice *ch = &p->choices[c];
    uint32_t best = RV_NONE;
    int64_t best_v = 0;
    for (uint32_t i = 0; i < ch->count; i++) {
        uint32_t m = p->model_refs[ch->first + i];
        if (ch->where != RV_NONE) {
            fn_ctx ctx = { .cand = m };
            rv_value ok = vm_run(vm, ch->where, &ctx);
            if (!vm_truthy(&ok))
                continue;
        }
        int64_t v = ch->kind == RV_CHOOSE_CHEAPEST
                  ? vm_call_cost(p, m, vm_model_tokens(vm, m), vm_expected_output(vm, m))
                  : p->models[m].latency;
        if (best == RV_NONE || v < best_v) {
            best = m;
            best_v = v;
        }
    }
    return best;
}

static rv_status fallback(rv_vm *vm);

/* Run the route of the current agent from vm->pc until it needs the
   outside world or ends. */
static rv_status route(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    for (;;) {
        uint32_t arg = 0;
        rv_value dummy;
        fn_ctx ctx = { 0 };
        vm->sp = 0;
        ex_result r = vm_exec(vm, vm->pc, &ctx, &dummy, &arg);
        switch (r) {
        case EX_DECIDE:
            vm->call.cascade = RV_NONE;
            vm->via = VIA_MODEL;
            return call(vm, vm->call.model, RV_PURPOSE_ANSWER);
        case EX_CASCADE:
            vm->via = VIA_CASCADE;
            vm->via_index = arg;
            vm->call.cascade = arg;
            vm->call.step = 0;
            return call(vm, p->model_refs[p->cascades[arg].first], RV_PURPOSE_ANSWER);
        case EX_CHOOSE: {
            uint32_t m = choose(vm, arg);
            vm->call.cascade = RV_NONE;
            vm->via = VIA_CHOICE;
            vm->via_index = arg;
            if (m == RV_NONE) {
                vm->error = "no candidate satisfies the 'where' condition";
                return fallback(vm);
            }
            return call(vm, m, RV_PURPOSE_ANSWER);
        }
        case EX_DELEGATE:
            if (++vm->attempts > MAX_ATTEMPTS) {
                vm->error = "too many delegations";
                vm->state = VS_END;
                return RV_FAILED;
            }
            vm->attempts--;
            vm->agent = arg;
            vm->call.fallback = 0;
            vm->pc = p->funcs[p->agents[arg].func].start;
            continue;
        case EX_HOOK:
            vm->hook = vm->hook_met = arg;
            vm->state = VS_HOOK;
            return RV_HOOK;
        case EX_FAIL:
        default:
            vm->state = VS_END;
            return RV_FAILED;
        case EX_RET:
            vm->error = "route returned a value";
            vm->state = VS_END;
            return RV_FAILED;
        }
    }
}

/* The next fallback of the deciding agent, or failure. */
static rv_status fallback(rv_vm *vm)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[vm->agent];
    while (vm->call.fallback < a->fallback_count) {
        const rv_target *t = &p->targets[a->fallback_first + vm->call.fallback++];
        vm->call.cascade = RV_NONE;
        vm->via = VIA_FALLBACK;
        vm->via_index = a->fallback_first + vm->call.fallback - 1;
        if (!t->is_agent)
            return call(vm, t->index, RV_PURPOSE_ANSWER);
        vm->agent = t->index;
        vm->call.fallback = 0;
        vm->pc = p->funcs[p->agents[t->index].func].start;
        return route(vm);
    }
    if (!vm->error)
        vm->error = "the model failed and no fallback is left";
    vm->state = VS_END;
    return RV_FAILED;
}

rv_status vm_start(rv_vm *vm, uint32_t agent, rv_request *req)
{
    const rv_program *p = vm->img->p;
    vm->req = req;
    if (++vm->gen == 0) {   /* after 2^32 requests: forget every cached key */
        memset(vm->meta_gen, 0, vm->img->nmeta_slot * sizeof *vm->meta_gen);
        vm->gen = 1;
    }
    vm->state = VS_ROUTE;
    vm->agent = vm->first_agent = agent;
    vm->rule = vm->hook = vm->hook_met = RV_NONE;
    vm->via = VIA_NONE;
    vm->model = RV_NONE;
    memset(&vm->call, 0, sizeof vm->call);
    vm->call.model = RV_NONE;
    vm->call.cascade = RV_NONE;
    vm->answer.s = "";
    vm->answer.len = 0;
    vm->denied_by = RV_NONE;
    vm->deny_reason.s = "";
    vm->deny_reason.len = 0;
    vm->redacted = 0;
    vm->cost = 0;
    vm->in_tokens = -1;
    vm->attempts = 0;
    vm->error = NULL;
    vm->nconds = 0;
    vm->scratch_len = 0;
    vm->lang_text = NULL;
    if (p->agents[agent].guard_count && gd_input(vm, agent)) {
        vm->state = VS_END;
        return RV_DENIED;
    }
    vm->pc = p->funcs[p->agents[agent].func].start;
    return route(vm);
}

/* Accept an answer: output guardrails, then done. */
static rv_status accept(rv_vm *vm, const rv_outcome *o)
{
    vm->answer = o->text;
    if (!vm->answer.s)
        vm->answer.s = "";
    vm->model = vm->call.model;
    vm->state = VS_END;
    if (gd_output(vm, vm->agent, &vm->answer))
        return RV_DENIED;
    return RV_DONE;
}

static void bill(rv_vm *vm, const rv_outcome *o)
{
    const rv_program *p = vm->img->p;
    int64_t in = o->in_tokens >= 0 ? o->in_tokens : vm_model_tokens(vm, vm->call.model);
    int64_t out = o->out_tokens >= 0 ? o->out_tokens : bi_tokens(o->text.s ? o->text.s : "", o->text.len);
    int64_t c = vm_call_cost(p, vm->call.model, in, out);
    vm->cost = vm->cost > INT64_MAX - c ? INT64_MAX : vm->cost + c;
}

/* The confidence of a cascade step's answer, in millionths. */
static int64_t confidence(rv_vm *vm, const rv_cascade *cs, const rv_outcome *o)
{
    if (cs->by == RV_BY_CHECK) {
        fn_ctx ctx = { .resp = o };
        rv_value v = vm_run(vm, cs->check, &ctx);
        if (v.t == RV_T_BOOL)
            return v.u.i ? 1000000 : 0;
        return v.t == RV_T_NUM ? v.u.i : 0;
    }
    return o->confidence >= 0 ? o->confidence : 0;   /* unknown confidence escalates */
}

rv_status vm_resume(rv_vm *vm, const rv_outcome *o)
{
    const rv_program *p = vm->img->p;
    if (vm->state == VS_HOOK) {
        vm->state = VS_ROUTE;
        if (o->ok) {
            for (uint32_t m = 0; m < p->nmodel; m++)
                if (p->str_len[p->models[m].name] == o->hook_model.len &&
                    !memcmp(rv_str(p, p->models[m].name), o->hook_model.s, o->hook_model.len)) {
                    vm->call.cascade = RV_NONE;
                    vm->via = VIA_HOOK;
                    vm->via_index = vm->hook;
                    return call(vm, m, RV_PURPOSE_ANSWER);
                }
        }
        return route(vm);     /* the default target follows the HOOK */
    }
    if (vm->state != VS_CALL) {
        vm->error = "nothing to resume";
        return RV_FAILED;
    }
    vm->attempts++;
    const rv_agent *a = &p->agents[vm->agent];
    if (!o->ok) {
        if (vm->call.purpose == RV_PURPOSE_JUDGE) {
            /* a judge that fails rates the answer 0: escalate */
            const rv_cascade *cs = &p->cascades[vm->call.cascade];
            vm->call.step++;
            return call(vm, p->model_refs[cs->first + vm->call.step], RV_PURPOSE_ANSWER);
        }
        if (vm->call.attempt <= a->retry)
            return call(vm, vm->call.model, RV_PURPOSE_ANSWER);
        vm->error = o->failure ? o->failure : "the model failed";
        return fallback(vm);
    }
    if (vm->call.purpose == RV_PURPOSE_JUDGE) {
        const rv_cascade *cs = &p->cascades[vm->call.cascade];
        bill(vm, o);
        int64_t conf = o->confidence;
        if (conf < 0) {
            /* the judge's answer is its rating: a number from 0 to 1 */
            char buf[32];
            size_t n = o->text.len < sizeof buf - 1 ? o->text.len : sizeof buf - 1;
            memcpy(buf, o->text.s ? o->text.s : "", n);
            buf[n] = 0;
            double d = strtod(buf, NULL);
            conf = d >= 0 && d <= 1 ? (int64_t)(d * 1000000 + 0.5) : 0;
        }
        uint32_t step = vm->call.step;
        if (conf >= cs->threshold) {
            rv_outcome kept = { .ok = 1, .text = vm->answer, .confidence = conf };
            vm->call.model = p->model_refs[cs->first + step];
            return accept(vm, &kept);
        }
        vm->call.step++;
        return call(vm, p->model_refs[cs->first + vm->call.step], RV_PURPOSE_ANSWER);
    }
    bill(vm, o);
    if (vm->call.cascade != RV_NONE) {
        const rv_cascade *cs = &p->cascades[vm->call.cascade];
        if (vm->call.step + 1 < cs->count) {
            int64_t conf;
            if (cs->by == RV_BY_JUDGE && o->confidence < 0) {
                vm->answer = o->text;   /* kept while the judge rates it */
                uint32_t step = vm->call.step;
                rv_status s = call(vm, cs->judge, RV_PURPOSE_JUDGE);
                vm->call.step = step;
                return s;
            }
            conf = confidence(vm, cs, o);
            if (conf < cs->threshold) {
                vm->call.step++;
                return call(vm, p->model_refs[cs->first + vm->call.step], RV_PURPOSE_ANSWER);
            }
        }
    }
    return accept(vm, o);
}
