/* Backtests; see simulate.h.

   One VM, one in-memory environment and (for programs that call lang())
   one language detector serve every record, as in the other drivers:
   vm_start, then each RV_CALL answered from the record by the called
   model's provider id, until the decision ends.  The single-model
   baselines are priced in the same pass, right after vm_start, with the
   VM's own estimate of each model's input tokens for the request (its
   system template included), so the policy and its baselines are
   measured with one ruler.

   Exact where it decides: counts and picodollars are integers, and
   sim_beaten compares fractions by cross-multiplying in 128 bits.  The
   router metrics are ratios for people and use doubles. */
#include <stdlib.h>
#include <string.h>

#include "envmem.h"
#include "format.h"
#include "mem.h"
#include "simulate.h"
#include "stats.h"

struct sim_ctx {
    const rv_program *p;
    const rp_set *data;
    rv_image img;
    int img_ok;
    rv_memenv *env;
    bi_langdet *lang;
    rv_vm *vm;
    uint32_t *data_of;          /* per program model: its id's index in data->models, or RV_NONE */
    uint32_t strong, weak;      /* as asked (RV_NONE: choose) */
};

sim_ctx *sim_new(const rv_program *p, const rp_set *data, uint32_t strong, uint32_t weak, char *err, size_t errlen)
{
    sim_ctx *x = mem_calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->p = p;
    x->data = data;
    x->strong = strong;
    x->weak = weak;
    if (vm_image_init(&x->img, p, err, errlen)) {
        free(x);
        return NULL;
    }
    x->img_ok = 1;
    x->lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    x->env = memenv_new(p->nmodel);
    x->vm = x->env ? vm_new(&x->img, memenv_env(x->env), x->lang) : NULL;
    x->data_of = mem_calloc(p->nmodel + 1, sizeof *x->data_of);
    if (!x->vm || !x->data_of) {
        snprintf(err, errlen, "out of memory");
        sim_free(x);
        return NULL;
    }
    memenv_set_time(x->env, 0);     /* replays are not in real time */
    /* the records were parsed before the program was known: their routing
       views are built for this image (request.h), replayed one run at a time */
    for (size_t i = 0; i < data->nrec; i++)
        req_view(data->recs[i].req, x->img.dict);
    for (uint32_t m = 0; m < p->nmodel; m++)
        x->data_of[m] = rp_model(data, rv_str(p, p->models[m].id), p->str_len[p->models[m].id]);
    return x;
}

void sim_free(sim_ctx *x)
{
    if (!x)
        return;
    vm_free(x->vm);
    memenv_free(x->env);
    bi_lang_free(x->lang);
    if (x->img_ok)
        vm_image_free(&x->img);
    free(x->data_of);
    free(x);
}

void sim_result_free(sim_result *r)
{
    if (!r)
        return;
    free(r->models);
    free(r->latency);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- one record */

static void example(sim_result *r, const rp_record *rec, const char *what)
{
    if (r->nexamples < SIM_EXAMPLES)
        snprintf(r->examples[r->nexamples++], sizeof r->examples[0], "line %u (%.*s): %.100s", rec->line,
                 (int)(rec->id.len > 40 ? 40 : rec->id.len), rec->id.s, what);
}

/* The outcome the VM is resumed with, from a recorded one. */
static rv_outcome answer_of(const rp_outcome *ro, const sim_opts *o)
{
    rv_outcome oc = vm_outcome_init(ro->failure == RV_FAIL_NONE);
    oc.latency_us = ro->latency_us;
    oc.ttft_us = ro->ttft_us;
    oc.usage = ro->usage;
    if (!oc.ok) {
        oc.failure = ro->failure;
        oc.http_status = ro->http_status;
        oc.detail = "recorded failure";
        return oc;
    }
    oc.text = ro->text;
    oc.finish = ro->finish.len ? ro->finish : (rv_sv){ "stop", 4 };
    oc.confidence = ro->confidence;
    if (oc.usage.output < 0 && !ro->has_text)
        oc.usage.output = o->output_tokens;
    return oc;
}

/* What sending this request to model 'm' alone would cost, billed as the
   VM bills a call. */
static int64_t single_cost(sim_ctx *x, uint32_t m, const rp_outcome *ro, const sim_opts *o)
{
    rv_usage u = ro->usage;
    if (ro->failure == RV_FAIL_NONE) {
        if (u.input < 0)
            u.input = vm_model_tokens(x->vm, m);
        if (u.output < 0)
            u.output = ro->has_text ? bi_tokens(ro->text.s, ro->text.len) : o->output_tokens;
    }
    return vm_usage_cost(x->p, m, &u);
}

static void add_cost(int64_t *sum, int64_t c)
{
    *sum = *sum > INT64_MAX - c ? INT64_MAX : *sum + c;
}

/* The baselines and the best-of-both ceiling for one replayed record. */
static void baselines(sim_ctx *x, const rp_record *rec, const sim_opts *o, sim_result *r)
{
    int any_scored = 0, any_right = 0;
    int64_t cheapest = -1, cheapest_right = -1;
    for (uint32_t m = 0; m < x->p->nmodel; m++) {
        if (x->data_of[m] == RV_NONE)
            continue;
        const rp_outcome *ro = rp_find(x->data, rec, x->data_of[m]);
        if (!ro)
            continue;
        sim_model *sm = &r->models[m];
        int64_t c = single_cost(x, m, ro, o);
        sm->base_n++;
        add_cost(&sm->base_cost, c);
        int right = ro->failure == RV_FAIL_NONE && ro->correct == 1;
        if (ro->correct >= 0 || ro->failure != RV_FAIL_NONE) {
            sm->base_scored++;
            sm->base_correct += (uint64_t)right;
            any_scored = 1;
        }
        if (ro->score >= 0 && ro->failure == RV_FAIL_NONE) {
            sm->base_nscore++;
            sm->base_score += ro->score;
        }
        if (cheapest < 0 || c < cheapest)
            cheapest = c;
        if (right && (cheapest_right < 0 || c < cheapest_right))
            cheapest_right = c;
        any_right |= right;
    }
    if (any_scored) {
        r->best_scored++;
        r->best_correct += (uint64_t)any_right;
    }
    if (cheapest >= 0)
        add_cost(&r->best_cost, any_right ? cheapest_right : cheapest);
}

/* The figures of one decided record. */
static void tally(sim_ctx *x, const rp_record *rec, rv_status st, int64_t latency, sim_result *r, uint64_t *called)
{
    const rv_result *res = vm_result(x->vm);
    r->requests++;
    for (uint32_t i = 0; i < res->nattempts; i++) {
        const rv_attempt *at = &res->attempts[i];
        if (!at->made)
            continue;
        r->calls++;
        sim_model *sm = &r->models[at->model];
        if (at->purpose == RV_PURPOSE_JUDGE)
            sm->judge_calls++;
        else
            sm->calls++;
        add_cost(&sm->cost, at->cost);
        called[at->model / 64] |= 1ull << (at->model % 64);
    }
    add_cost(&r->cost, res->cost);
    if (st == RV_DONE) {
        r->answered++;
        r->models[res->model].answers++;
        const rp_outcome *ro = x->data_of[res->model] != RV_NONE ? rp_find(x->data, rec, x->data_of[res->model]) : NULL;
        if (ro && ro->correct >= 0) {
            r->scored++;
            r->correct += (uint64_t)(ro->correct == 1);
        }
        if (ro && ro->score >= 0) {
            r->nscore++;
            r->score += ro->score;
        }
    } else {
        st == RV_DENIED ? r->denied++ : r->failed++;
        r->scored++;        /* no answer: not correct */
    }
    if (latency >= 0)
        r->latency[r->nlatency++] = latency;
}

static void replay_one(sim_ctx *x, const sim_opts *o, const rp_record *rec, sim_result *r, uint64_t *called)
{
    const rv_program *p = x->p;
    uint32_t agent = o->agent != RV_NONE ? o->agent : vm_agent(p, rec->req->model.s, rec->req->model.len);
    if (agent == RV_NONE) {
        r->unrouted++;
        example(r, rec, rec->req->model.len ? "no such agent" : "no agent named (use --agent)");
        return;
    }
    rv_status st = vm_start(x->vm, agent, rec->req, NULL);
    int64_t latency = 0;
    while (st == RV_CALL || st == RV_HOOK) {
        if (st == RV_HOOK) {
            rv_outcome none = vm_outcome_init(0);
            none.failure = RV_FAIL_ERROR;
            none.detail = "hooks are not asked in a replay";
            st = vm_resume(x->vm, &none);
            continue;
        }
        const rv_call *c = vm_call(x->vm);
        uint32_t dm = x->data_of[c->model];
        const rp_outcome *ro = c->purpose == RV_PURPOSE_ANSWER && dm != RV_NONE ? rp_find(x->data, rec, dm) : NULL;
        if (!ro) {
            r->missing++;
            r->models[c->model].missing++;
            char what[96];
            snprintf(what, sizeof what, "%s %s has no recorded %s", c->purpose == RV_PURPOSE_JUDGE ? "judge" : "model",
                     rv_str(p, p->models[c->model].name), c->purpose == RV_PURPOSE_JUDGE ? "rating" : "outcome");
            example(r, rec, what);
            return;
        }
        rv_outcome oc = answer_of(ro, o);
        if (latency >= 0 && ro->latency_us >= 0)
            latency += ro->latency_us + (c->backoff_us > 0 ? c->backoff_us : 0);
        else
            latency = -1;
        st = vm_resume(x->vm, &oc);
    }
    baselines(x, rec, o, r);
    tally(x, rec, st, latency, r, called);
}

/* Strong: the most accurate data model of the policy (the dearer on a
   tie); weak: the cheapest per request of the others (the more accurate
   on a tie).  Either may be given instead. */
static int stronger(const sim_result *r, uint32_t a, uint32_t b)
{
    double x = sim_base_accuracy(r, a), y = sim_base_accuracy(r, b);
    return x > y || (x == y && r->models[a].base_cost > r->models[b].base_cost);
}

static int weaker(const sim_result *r, uint32_t a, uint32_t b)
{
    const sim_model *x = &r->models[a], *y = &r->models[b];
    __int128 ca = (__int128)x->base_cost * (int64_t)y->base_n, cb = (__int128)y->base_cost * (int64_t)x->base_n;
    return ca < cb || (ca == cb && sim_base_accuracy(r, a) > sim_base_accuracy(r, b));
}

static void choose_pair(sim_ctx *x, sim_result *r)
{
    r->strong = x->strong;
    r->weak = x->weak;
    for (uint32_t m = 0; x->strong == RV_NONE && m < r->nmodel; m++)
        if (r->models[m].base_scored && m != r->weak && (r->strong == RV_NONE || stronger(r, m, r->strong)))
            r->strong = m;
    for (uint32_t m = 0; x->weak == RV_NONE && m < r->nmodel; m++)
        if (r->models[m].base_scored && m != r->strong && (r->weak == RV_NONE || weaker(r, m, r->weak)))
            r->weak = m;
    if (r->strong == RV_NONE || r->weak == RV_NONE || r->strong == r->weak)
        r->strong = r->weak = RV_NONE;
}

int sim_run(sim_ctx *x, const sim_opts *o, sim_result *r)
{
    const rp_set *d = x->data;
    memset(r, 0, sizeof *r);
    r->nmodel = x->p->nmodel;
    r->strong = r->weak = RV_NONE;
    size_t words = x->p->nmodel / 64 + 1;
    r->models = mem_calloc(x->p->nmodel + 1, sizeof *r->models);
    r->latency = mem_calloc(d->nrec + 1, sizeof *r->latency);
    uint64_t *called = mem_calloc(words * (d->nrec + 1), sizeof *called);
    if (!r->models || !r->latency || !called) {
        free(called);
        sim_result_free(r);
        return -1;
    }
    for (uint32_t m = 0; m < x->p->nmodel; m++)
        r->models[m].data = x->data_of[m] != RV_NONE;
    r->records = d->nrec;
    for (size_t i = 0; i < d->nrec; i++)
        replay_one(x, o, &d->recs[i], r, called + i * words);
    choose_pair(x, r);
    if (r->strong != RV_NONE)
        for (size_t i = 0; i < d->nrec; i++)
            r->strong_requests += (called[i * words + r->strong / 64] >> (r->strong % 64)) & 1;
    free(called);
    return 0;
}

/* ---------------------------------------------------------------- metrics */

double sim_accuracy(const sim_result *r)
{
    return r->scored ? (double)r->correct / (double)r->scored : -1;
}

double sim_base_accuracy(const sim_result *r, uint32_t m)
{
    const sim_model *sm = &r->models[m];
    return sm->base_scored ? (double)sm->base_correct / (double)sm->base_scored : -1;
}

double sim_strong_share(const sim_result *r)
{
    return r->requests && r->strong != RV_NONE ? (double)r->strong_requests / (double)r->requests : 0;
}

static int cmp_point(const void *a, const void *b)
{
    const sim_point *x = a, *y = b;
    return x->share < y->share ? -1 : x->share > y->share ? 1 : x->accuracy > y->accuracy ? -1 : x->accuracy < y->accuracy;
}

sim_router sim_router_metrics(const sim_point *pts, size_t n, double acc_weak, double acc_strong)
{
    sim_router m = { -1, -1, -1 };
    double gap = acc_strong - acc_weak;
    if (!(gap > 0))
        return m;
    sim_point *all = mem_calloc(n + 2, sizeof *all);
    if (!all)
        return m;
    memcpy(all, pts, n * sizeof *pts);
    all[n] = (sim_point){ 0, acc_weak, 0 };
    all[n + 1] = (sim_point){ 1, acc_strong, 0 };
    n += 2;
    qsort(all, n, sizeof *all, cmp_point);
    /* the frontier: points no other point beats on both axes, in share
       order (so accuracy rises strictly along it) */
    size_t f = 0;
    for (size_t i = 0; i < n; i++) {
        if (f && all[i].accuracy <= all[f - 1].accuracy)
            continue;
        all[f++] = all[i];
    }
    /* the curve starts at share 0 (at the weak model, or better) and stays
       level after its last point */
    double apgr = 0, prev_s = 0, prev_a = all[0].accuracy;
    if (all[0].share > 0)
        prev_a = acc_weak;   /* below the first point: the weak model */
    double t50 = acc_weak + 0.5 * gap, t80 = acc_weak + 0.8 * gap;
    for (size_t i = 0; i <= f; i++) {
        double s = i < f ? all[i].share : 1, a = i < f ? all[i].accuracy : all[f - 1].accuracy;
        if (s > 1)
            s = 1;
        for (int k = 0; k < 2; k++) {
            double t = k ? t80 : t50, *out = k ? &m.cpt80 : &m.cpt50;
            if (*out >= 0)
                continue;
            if (prev_a >= t)
                *out = prev_s;
            else if (a >= t)
                *out = prev_s + (s - prev_s) * (t - prev_a) / (a - prev_a);
        }
        apgr += (s - prev_s) * ((prev_a + a) / 2 - acc_weak) / gap;
        prev_s = s;
        prev_a = a;
    }
    m.apgr = apgr;
    free(all);
    return m;
}

int sim_beaten(const sim_result *r, const rv_program *p, char *why, size_t n)
{
    int found = 0;
    size_t used = 0;
    why[0] = 0;
    if (!r->scored || !r->requests)
        return 0;
    for (uint32_t m = 0; m < r->nmodel; m++) {
        const sim_model *b = &r->models[m];
        if (!b->base_scored || !b->base_n)
            continue;
        /* cost per request: b.cost / b.n <= r.cost / r.requests */
        int cheaper = (__int128)b->base_cost * (int64_t)r->requests <= (__int128)r->cost * (int64_t)b->base_n;
        int better = (__int128)b->base_correct * (int64_t)r->scored > (__int128)r->correct * (int64_t)b->base_scored;
        if (cheaper && better) {
            found++;
            used += (size_t)snprintf(why + used, used < n ? n - used : 0,
                                     "%s alone is more accurate (%.2f%% against %.2f%%) at no more cost per request\n",
                                     rv_str(p, p->models[m].name), 100 * sim_base_accuracy(r, m), 100 * sim_accuracy(r));
        }
    }
    if (r->strong != RV_NONE) {
        const sim_model *s = &r->models[r->strong], *w = &r->models[r->weak];
        uint64_t k = r->strong_requests, N = r->requests;
        /* correct/scored < ((N-k) * Cw/Sw + k * Cs/Ss) / N */
        __int128 lhs = (__int128)r->correct * (int64_t)N * (int64_t)w->base_scored * (int64_t)s->base_scored;
        __int128 rhs = (__int128)r->scored * ((__int128)(N - k) * (int64_t)w->base_correct * (int64_t)s->base_scored +
                                              (__int128)k * (int64_t)s->base_correct * (int64_t)w->base_scored);
        if (lhs < rhs) {
            found++;
            double share = sim_strong_share(r);
            double acc = (1 - share) * sim_base_accuracy(r, r->weak) + share * sim_base_accuracy(r, r->strong);
            used += (size_t)snprintf(why + used, used < n ? n - used : 0,
                                     "random routing with %.2f%% of requests to %s is more accurate (%.2f%% against %.2f%%)\n",
                                     100 * share, rv_str(p, p->models[r->strong].name), 100 * acc, 100 * sim_accuracy(r));
        }
    }
    return found;
}

int64_t sim_latency(sim_result *r, int q)
{
    return stat_percentile(r->latency, r->nlatency, q, 0);
}
