/* routevm simulate: a policy replayed over recorded traffic, with its
   baselines, router metrics and, with --sweep, the cost-quality frontier
   of one of its constants.  The replay itself is vm/simulate.c; this file
   reads the command line, loads the policy (once per sweep value, through
   the compiler's constant overrides) and prints the figures as text, as
   one JSON object (--json) or as an HTML page with SVG charts (--html).

     routevm simulate POLICY --replay DATA.jsonl [--agent A] [--set NAME=VALUE]...
                      [--sweep NAME=FROM..TO/STEP] [--strong M] [--weak M]
                      [--output-tokens N] [--strict] [--max-records N]
                      [--json] [--html OUT.html] [--fail-if-beaten] [--trust PUB.pem]

   Exit status: 0 done; 1 the policy has errors, --fail-if-beaten found it
   beaten, or --strict met a bad line; 2 usage or I/O error. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compiler.h"
#include "exitcode.h"
#include "format.h"
#include "jsonw.h"
#include "mem.h"
#include "simulate.h"
#include "svg.h"

#define MAX_SETS 32
#define MAX_SWEEP 1000

typedef struct {
    const char *policy, *replay, *agent, *html, *trust, *strong, *weak;
    const char *sweep;
    cli_set sets[MAX_SETS];
    size_t nsets;
    int json, fail_if_beaten, strict;
    int64_t output_tokens;
    size_t max_records, max_line;
} opts;

/* One configuration replayed: the base policy, or a sweep value. */
typedef struct {
    char value[FMT_BUF];        /* the sweep value as a literal ("" for the base) */
    sim_result r;
    double accuracy, share, cost;   /* cost per request, dollars */
    int frontier;
} run;

static void usage(FILE *f)
{
    fputs("usage: routevm simulate POLICY --replay DATA.jsonl [--agent NAME] [--set NAME=VALUE]...\n"
          "                        [--sweep NAME=FROM..TO/STEP] [--strong MODEL] [--weak MODEL]\n"
          "                        [--output-tokens N] [--strict] [--max-records N] [--max-line BYTES]\n"
          "                        [--json] [--html OUT.html] [--fail-if-beaten] [--trust PUB.pem]\n", f);
}

static int parse_args(int argc, char **argv, void *opts_)
{
    opts *o = opts_;
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int takes = !strcmp(a, "--replay") || !strcmp(a, "--agent") || !strcmp(a, "--html") || !strcmp(a, "--trust") ||
                    !strcmp(a, "--sweep") || !strcmp(a, "--set") || !strcmp(a, "--strong") || !strcmp(a, "--weak") ||
                    !strcmp(a, "--output-tokens") || !strcmp(a, "--max-records") || !strcmp(a, "--max-line");
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return -1;
        }
        int64_t n;
        if (!strcmp(a, "--replay")) o->replay = argv[++i];
        else if (!strcmp(a, "--agent")) o->agent = argv[++i];
        else if (!strcmp(a, "--html")) o->html = argv[++i];
        else if (!strcmp(a, "--trust")) o->trust = argv[++i];
        else if (!strcmp(a, "--sweep")) o->sweep = argv[++i];
        else if (!strcmp(a, "--strong")) o->strong = argv[++i];
        else if (!strcmp(a, "--weak")) o->weak = argv[++i];
        else if (!strcmp(a, "--set")) {
            if (o->nsets == MAX_SETS || cli_parse_set(argv[++i], &o->sets[o->nsets])) {
                fprintf(stderr, "routevm: --set takes NAME=VALUE (at most %d)\n", MAX_SETS);
                return -1;
            }
            o->nsets++;
        } else if (!strcmp(a, "--output-tokens") || !strcmp(a, "--max-records") || !strcmp(a, "--max-line")) {
            if (cli_parse_count(argv[++i], (int64_t)1 << 40, &n)) {
                fprintf(stderr, "routevm: %s takes a non-negative integer\n", a);
                return -1;
            }
            if (!strcmp(a, "--output-tokens")) o->output_tokens = n;
            else if (!strcmp(a, "--max-records")) o->max_records = (size_t)n;
            else o->max_line = (size_t)n;
        } else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--fail-if-beaten")) o->fail_if_beaten = 1;
        else if (!strcmp(a, "--strict")) o->strict = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "routevm: unknown option '%s'\n", a);
            return -1;
        } else if (!o->policy) o->policy = a;
        else {
            fprintf(stderr, "routevm: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    if (!o->policy || !o->replay)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- sweep */

/* The value of a constant expression and its type, compiled alone. */
static int eval_const(const char *text, int *type, int64_t *value)
{
    rv_compiler *c = comp_new(NULL);
    if (!c)
        return -1;
    size_t n = strlen(text) + 32;
    char *src = mem_malloc(n);
    int len = src ? snprintf(src, n, "const sweep_value = %s\n", text) : 0;
    int ok = -1;
    if (src && import_text(c, "--sweep", src, (size_t)len) == 0 && comp_check(c) == 0) {
        sym *s = res_lookup(c, "sweep_value");
        if (s && s->value && s->value->type != RV_T_STR && s->value->type != RV_T_LIST &&
            s->value->type != RV_T_REGEX && s->value->type != RV_T_BOOL && s->value->kind != E_NAME) {
            *type = (int)s->value->type;
            *value = s->value->u.i;
            ok = 0;
        }
    }
    free(src);
    comp_free(c);
    return ok;
}

typedef struct {
    char name[128];
    int type;
    int64_t from, to, step;
} sweep_spec;

/* NAME=FROM..TO/STEP: numbers of one unit ("0.5..0.9/0.05",
   "1k tokens..4k tokens/500 tokens").  A rate's STEP has a '/' of its
   own, so each '/' after TO is tried in turn. */
static int parse_sweep(const char *arg, sweep_spec *sp)
{
    const char *eq = strchr(arg, '='), *dots = eq ? strstr(eq, "..") : NULL;
    if (!eq || !dots || (size_t)(eq - arg) >= sizeof sp->name || eq == arg)
        return -1;
    memcpy(sp->name, arg, (size_t)(eq - arg));
    sp->name[eq - arg] = 0;
    char buf[256];
    size_t fl = (size_t)(dots - eq - 1);
    if (fl >= sizeof buf || strlen(dots + 2) >= sizeof buf)
        return -1;
    memcpy(buf, eq + 1, fl);
    buf[fl] = 0;
    int t0, t1, t2;
    if (eval_const(buf, &t0, &sp->from))
        return -1;
    const char *rest = dots + 2;
    for (const char *sl = strchr(rest, '/'); sl; sl = strchr(sl + 1, '/')) {
        char to[256];
        memcpy(to, rest, (size_t)(sl - rest));
        to[sl - rest] = 0;
        if (!eval_const(to, &t1, &sp->to) && !eval_const(sl + 1, &t2, &sp->step)) {
            /* ints among numbers are numbers: 0..1/0.25 */
            int num = t0 == RV_T_NUM || t1 == RV_T_NUM || t2 == RV_T_NUM;
            int64_t *v[3] = { &sp->from, &sp->to, &sp->step };
            int t[3] = { t0, t1, t2 };
            for (int i = 0; i < 3 && num; i++)
                if (t[i] == RV_T_INT) {
                    if (*v[i] > INT64_MAX / 1000000 || *v[i] < INT64_MIN / 1000000)
                        return -1;
                    *v[i] *= 1000000;
                    t[i] = RV_T_NUM;
                }
            if (t[1] != t[0] || t[2] != t[0])
                continue;
            sp->type = t[0];
            return sp->step > 0 && sp->to >= sp->from && (sp->to - sp->from) / sp->step < MAX_SWEEP ? 0 : -2;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- running */

static uint32_t model_named(const rv_program *p, const char *name)
{
    for (uint32_t m = 0; name && m < p->nmodel; m++)
        if (!strcmp(rv_str(p, p->models[m].name), name))
            return m;
    return RV_NONE;
}

/* Load the policy with 'sets' and replay 'data'; fills 'out'.  Returns an
   exit status. */
static int replay(const opts *o, const rp_set *data, const cli_set *sets, size_t nsets, run *out, rv_program **keep)
{
    int lrc;
    rv_program *p = cli_load_policy(o->policy, o->trust, sets, nsets, &lrc);
    if (!p)
        return lrc;
    sim_opts so = { RV_NONE, o->output_tokens };
    if (o->agent && (so.agent = vm_agent(p, o->agent, strlen(o->agent))) == RV_NONE) {
        fprintf(stderr, "routevm: the policy has no agent named '%s'\n", o->agent);
        rv_program_free(p);
        return RC_FINDINGS;
    }
    uint32_t strong = model_named(p, o->strong), weak = model_named(p, o->weak);
    if ((o->strong && strong == RV_NONE) || (o->weak && weak == RV_NONE)) {
        fprintf(stderr, "routevm: the policy declares no model named '%s'\n",
                o->strong && strong == RV_NONE ? o->strong : o->weak);
        rv_program_free(p);
        return RC_FINDINGS;
    }
    char err[256];
    sim_ctx *x = sim_new(p, data, strong, weak, err, sizeof err);
    if (!x) {
        fprintf(stderr, "routevm: %s\n", err);
        rv_program_free(p);
        return RC_FINDINGS;
    }
    int rc = sim_run(x, &so, &out->r) ? RC_USAGE : RC_OK;
    if (rc)
        fprintf(stderr, "routevm: out of memory\n");
    sim_free(x);
    out->accuracy = sim_accuracy(&out->r);
    out->share = sim_strong_share(&out->r);
    out->cost = out->r.requests ? (double)out->r.cost / 1e12 / (double)out->r.requests : 0;
    if (keep && !rc)
        *keep = p;
    else
        rv_program_free(p);
    return rc;
}

/* Mark the runs no other run beats on both cost and accuracy. */
static void mark_frontier(run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        runs[i].frontier = runs[i].accuracy >= 0;
        for (size_t k = 0; k < n && runs[i].frontier; k++)
            if (k != i && runs[k].accuracy >= 0 && runs[k].cost <= runs[i].cost && runs[k].accuracy >= runs[i].accuracy &&
                (runs[k].cost < runs[i].cost || runs[k].accuracy > runs[i].accuracy))
                runs[i].frontier = 0;
    }
}

/* ---------------------------------------------------------------- figures */

typedef struct {
    const rv_program *p;
    run *base;
    run *sweep;
    size_t nsweep;
    const char *sweep_name;
    sim_router router;
    double random_acc, random_cost;     /* cost per request, dollars */
    int have_pair;
} figures;

static double per_request(int64_t cost, uint64_t n)
{
    return n ? (double)cost / 1e12 / (double)n : 0;
}

static void compute(figures *f)
{
    sim_result *r = &f->base->r;
    f->have_pair = r->strong != RV_NONE;
    f->router = (sim_router){ -1, -1, -1 };
    if (!f->have_pair)
        return;
    double aw = sim_base_accuracy(r, r->weak), as = sim_base_accuracy(r, r->strong), s = f->base->share;
    f->random_acc = (1 - s) * aw + s * as;
    f->random_cost = (1 - s) * per_request(r->models[r->weak].base_cost, r->models[r->weak].base_n) +
                     s * per_request(r->models[r->strong].base_cost, r->models[r->strong].base_n);
    sim_point *pts = mem_calloc(f->nsweep + 1, sizeof *pts);
    if (!pts)
        return;
    size_t n = 0;
    if (f->base->accuracy >= 0)
        pts[n++] = (sim_point){ f->base->share, f->base->accuracy, f->base->cost };
    for (size_t i = 0; i < f->nsweep; i++)
        if (f->sweep[i].accuracy >= 0)
            pts[n++] = (sim_point){ f->sweep[i].share, f->sweep[i].accuracy, f->sweep[i].cost };
    f->router = sim_router_metrics(pts, n, aw, as);
    free(pts);
}

static json_t *jnum(double v) { return v < 0 || !isfinite(v) ? json_null() : json_real(round(v * 1e6) / 1e6); }

static json_t *jmoney(int64_t pico)
{
    char buf[FMT_BUF];
    fmt_money(buf, sizeof buf, pico);
    return json_string(buf);
}

static json_t *run_json(const run *u)
{
    const sim_result *r = &u->r;
    return json_pack("{s:I, s:o, s:o, s:I, s:I, s:o}", "requests", (json_int_t)r->requests, "accuracy", jnum(u->accuracy),
                     "strong_share", jnum(u->share), "cost_picodollars", (json_int_t)r->cost,
                     "cost_per_request_picodollars", (json_int_t)(r->requests ? r->cost / (int64_t)r->requests : 0),
                     "frontier", json_boolean(u->frontier));
}

static json_t *to_json(const opts *o, figures *f, char *beaten)
{
    const rv_program *p = f->p;
    sim_result *r = &f->base->r;
    json_t *j = json_object();
    json_object_set_new(j, "policy", jw_jstring(o->policy, strlen(o->policy)));
    json_object_set_new(j, "replay", jw_jstring(o->replay, strlen(o->replay)));
    json_object_set_new(j, "records", json_integer((json_int_t)r->records));
    json_object_set_new(j, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(j, "answered", json_integer((json_int_t)r->answered));
    json_object_set_new(j, "denied", json_integer((json_int_t)r->denied));
    json_object_set_new(j, "failed", json_integer((json_int_t)r->failed));
    json_object_set_new(j, "missing", json_integer((json_int_t)r->missing));
    json_object_set_new(j, "unrouted", json_integer((json_int_t)r->unrouted));
    json_object_set_new(j, "scored", json_integer((json_int_t)r->scored));
    json_object_set_new(j, "correct", json_integer((json_int_t)r->correct));
    json_object_set_new(j, "accuracy", jnum(f->base->accuracy));
    json_object_set_new(j, "score", r->nscore ? jnum((double)r->score / 1e6 / (double)r->nscore) : json_null());
    json_object_set_new(j, "cost_picodollars", json_integer((json_int_t)r->cost));
    json_object_set_new(j, "cost", jmoney(r->cost));
    json_object_set_new(j, "cost_per_request_picodollars",
                        json_integer((json_int_t)(r->requests ? r->cost / (int64_t)r->requests : 0)));
    json_object_set_new(j, "calls", json_integer((json_int_t)r->calls));
    json_t *models = json_array(), *bases = json_array();
    for (uint32_t m = 0; m < r->nmodel; m++) {
        const sim_model *sm = &r->models[m];
        const char *name = rv_str(p, p->models[m].name), *id = rv_str(p, p->models[m].id);
        if (sm->calls || sm->judge_calls || sm->missing || sm->answers)
            json_array_append_new(models, json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:I}", "name", name, "id", id,
                                                    "calls", (json_int_t)sm->calls, "judge_calls", (json_int_t)sm->judge_calls,
                                                    "answers", (json_int_t)sm->answers,
                                                    "share_of_calls", jnum(r->calls ? (double)(sm->calls + sm->judge_calls) / (double)r->calls : 0),
                                                    "cost_picodollars", (json_int_t)sm->cost, "missing", (json_int_t)sm->missing));
        if (sm->base_n)
            json_array_append_new(bases, json_pack("{s:s, s:s, s:I, s:o, s:I, s:I}", "name", name, "id", id,
                                                   "requests", (json_int_t)sm->base_n, "accuracy", jnum(sim_base_accuracy(r, m)),
                                                   "cost_picodollars", (json_int_t)sm->base_cost,
                                                   "cost_per_request_picodollars", (json_int_t)(sm->base_cost / (int64_t)sm->base_n)));
    }
    json_object_set_new(j, "models", models);
    json_object_set_new(j, "baselines", bases);
    if (r->nlatency)
        json_object_set_new(j, "latency", json_pack("{s:I, s:f, s:f, s:f}", "requests", (json_int_t)r->nlatency,
                                                    "p50_ms", sim_latency(r, 50) / 1e3, "p95_ms", sim_latency(r, 95) / 1e3,
                                                    "p99_ms", sim_latency(r, 99) / 1e3));
    else
        json_object_set_new(j, "latency", json_null());
    if (f->have_pair) {
        json_object_set_new(j, "strong", json_string(rv_str(p, p->models[r->strong].name)));
        json_object_set_new(j, "weak", json_string(rv_str(p, p->models[r->weak].name)));
        json_object_set_new(j, "strong_share", jnum(f->base->share));
        json_object_set_new(j, "random", json_pack("{s:o, s:o, s:I}", "strong_share", jnum(f->base->share), "accuracy",
                                                   jnum(f->random_acc), "cost_picodollars",
                                                   (json_int_t)llround(f->random_cost * 1e12 * (double)r->requests)));
        json_object_set_new(j, "router", json_pack("{s:o, s:o, s:o}", "cpt50", jnum(f->router.cpt50), "cpt80",
                                                   jnum(f->router.cpt80), "apgr", f->router.apgr < -0.5 ? json_null()
                                                   : json_real(round(f->router.apgr * 1e6) / 1e6)));
    }
    json_object_set_new(j, "ceiling", json_pack("{s:o, s:I}", "accuracy",
                                                 jnum(r->best_scored ? (double)r->best_correct / (double)r->best_scored : -1),
                                                 "cost_picodollars", (json_int_t)r->best_cost));
    if (f->nsweep) {
        json_t *pts = json_array();
        for (size_t i = 0; i < f->nsweep; i++) {
            json_t *pt = run_json(&f->sweep[i]);
            json_object_set_new(pt, "value", json_string(f->sweep[i].value));
            json_array_append_new(pts, pt);
        }
        json_object_set_new(j, "sweep", json_pack("{s:s, s:o}", "name", f->sweep_name, "points", pts));
    }
    json_t *ex = json_array();
    for (uint32_t i = 0; i < r->nexamples; i++)
        json_array_append_new(ex, jw_jstring(r->examples[i], strlen(r->examples[i])));
    json_object_set_new(j, "not_replayed", ex);
    json_t *bt = json_array();
    for (char *line = beaten, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        json_array_append_new(bt, jw_jstring(line, (size_t)(nl - line)));
    }
    json_object_set_new(j, "beaten", bt);
    return j;
}

static void pct(FILE *out, double v)
{
    if (v < 0)
        fputs("    n/a", out);
    else
        fprintf(out, "%6.2f%%", 100 * v);
}

static void print_text(FILE *out, const opts *o, figures *f, const char *beaten)
{
    const rv_program *p = f->p;
    sim_result *r = &f->base->r;
    char money[FMT_BUF];
    fprintf(out, "%s on %s: %" PRIu64 " records, %" PRIu64 " replayed\n", o->policy, o->replay, r->records, r->requests);
    fmt_money(money, sizeof money, r->cost);
    fprintf(out, "  accuracy ");
    pct(out, f->base->accuracy);
    fprintf(out, " (%" PRIu64 " of %" PRIu64 " right)   cost %s, $%.8f per request\n", r->correct, r->scored, money,
            per_request(r->cost, r->requests));
    if (r->denied || r->failed)
        fprintf(out, "  denied %" PRIu64 ", failed %" PRIu64 " (counted as not right)\n", r->denied, r->failed);
    if (r->nscore)
        fprintf(out, "  mean score %.4f over %" PRIu64 " answers\n", (double)r->score / 1e6 / (double)r->nscore, r->nscore);
    if (r->nlatency)
        fprintf(out, "  latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (%" PRIu64 " requests)\n", sim_latency(r, 50) / 1e3,
                sim_latency(r, 95) / 1e3, sim_latency(r, 99) / 1e3, r->nlatency);
    else
        fprintf(out, "  latency: not recorded\n");
    fprintf(out, "  calls:\n");
    for (uint32_t m = 0; m < r->nmodel; m++) {
        const sim_model *sm = &r->models[m];
        if (!sm->calls && !sm->judge_calls && !sm->missing)
            continue;
        fmt_money(money, sizeof money, sm->cost);
        fprintf(out, "    %-24s %-28s %8" PRIu64 " calls (%5.1f%%)  %s", rv_str(p, p->models[m].name), rv_str(p, p->models[m].id),
                sm->calls + sm->judge_calls, r->calls ? 100.0 * (double)(sm->calls + sm->judge_calls) / (double)r->calls : 0,
                money);
        if (sm->missing)
            fprintf(out, "  (%" PRIu64 " requests had no record for it)", sm->missing);
        fputc('\n', out);
    }
    fprintf(out, "  single-model baselines (every replayed request to one model):\n");
    for (uint32_t m = 0; m < r->nmodel; m++) {
        const sim_model *sm = &r->models[m];
        if (!sm->base_n)
            continue;
        fmt_money(money, sizeof money, sm->base_cost);
        fprintf(out, "    %-24s accuracy ", rv_str(p, p->models[m].name));
        pct(out, sim_base_accuracy(r, m));
        fprintf(out, "   cost %s, $%.8f per request\n", money, per_request(sm->base_cost, sm->base_n));
    }
    if (f->have_pair) {
        fprintf(out, "  strong %s, weak %s: the policy sent %.2f%% of requests to %s\n", rv_str(p, p->models[r->strong].name),
                rv_str(p, p->models[r->weak].name), 100 * f->base->share, rv_str(p, p->models[r->strong].name));
        fprintf(out, "  random routing at that share: accuracy ");
        pct(out, f->random_acc);
        fprintf(out, ", $%.8f per request\n", f->random_cost);
        fprintf(out, "  router metrics: CPT(50%%) ");
        pct(out, f->router.cpt50);
        fprintf(out, "  CPT(80%%) ");
        pct(out, f->router.cpt80);
        if (f->router.apgr > -0.5)
            fprintf(out, "  APGR %.4f\n", f->router.apgr);
        else
            fprintf(out, "  APGR n/a\n");
    }
    fmt_money(money, sizeof money, r->best_cost);
    fprintf(out, "  best-of-both ceiling: accuracy ");
    pct(out, r->best_scored ? (double)r->best_correct / (double)r->best_scored : -1);
    fprintf(out, ", %s\n", money);
    if (r->missing || r->unrouted) {
        fprintf(out, "  not replayed: %" PRIu64 " with no recorded outcome, %" PRIu64 " with no agent; e.g.\n", r->missing,
                r->unrouted);
        for (uint32_t i = 0; i < r->nexamples; i++)
            fprintf(out, "    %s\n", r->examples[i]);
    }
    if (f->nsweep) {
        fprintf(out, "  sweep of %s (* on the cost-quality frontier):\n", f->sweep_name);
        fprintf(out, "    %-16s %9s %8s %14s\n", "value", "accuracy", "strong", "per request");
        for (size_t i = 0; i < f->nsweep; i++) {
            fprintf(out, "  %c %-16s ", f->sweep[i].frontier ? '*' : ' ', f->sweep[i].value);
            pct(out, f->sweep[i].accuracy);
            fprintf(out, "  %6.2f%%  $%.8f\n", 100 * f->sweep[i].share, f->sweep[i].cost);
        }
    }
    if (beaten && *beaten)
        fprintf(out, "  beaten:\n%s", beaten);
}

/* ---------------------------------------------------------------- html */

static int write_html(const char *path, const opts *o, figures *f)
{
    cli_out out;
    FILE *h = cli_create(&out, path);
    if (!h)
        return -1;
    const rv_program *p = f->p;
    sim_result *r = &f->base->r;
    char title[512];
    snprintf(title, sizeof title, "routevm simulate: %s on %s", o->policy, o->replay);
    svg_page_begin(h, title);
    /* the table of figures */
    fputs("<table><tr><th>configuration</th><th>accuracy</th><th>strong share</th><th>cost per request</th></tr>\n", h);
    fprintf(h, "<tr><td>the policy</td><td>%.2f%%</td><td>%.2f%%</td><td>$%.8f</td></tr>\n", 100 * f->base->accuracy,
            100 * f->base->share, f->base->cost);
    for (uint32_t m = 0; m < r->nmodel; m++)
        if (r->models[m].base_n) {
            fputs("<tr><td>", h);
            svg_text(h, rv_str(p, p->models[m].name));
            fprintf(h, " alone</td><td>%.2f%%</td><td>%s</td><td>$%.8f</td></tr>\n", 100 * sim_base_accuracy(r, m),
                    m == r->strong ? "100%" : "0%", per_request(r->models[m].base_cost, r->models[m].base_n));
        }
    if (f->have_pair)
        fprintf(h, "<tr><td>random routing</td><td>%.2f%%</td><td>%.2f%%</td><td>$%.8f</td></tr>\n", 100 * f->random_acc,
                100 * f->base->share, f->random_cost);
    fprintf(h, "<tr><td>best of both (ceiling)</td><td>%.2f%%</td><td></td><td>$%.8f</td></tr></table>\n",
            r->best_scored ? 100.0 * (double)r->best_correct / (double)r->best_scored : 0, per_request(r->best_cost, r->requests));
    if (f->have_pair && f->router.apgr > -0.5)
        fprintf(h, "<p>Router metrics: CPT(50%%) %.2f%%, CPT(80%%) %.2f%%, APGR %.4f.</p>\n", 100 * f->router.cpt50,
                100 * f->router.cpt80, f->router.apgr);
    /* chart 1: accuracy against cost per request */
    size_t nb = 0;
    for (uint32_t m = 0; m < r->nmodel; m++)
        nb += r->models[m].base_n > 0;
    size_t ns = f->nsweep;
    double *buf = mem_calloc(4 * (nb + ns + 8), sizeof *buf);
    const char **labels = mem_calloc(nb + ns + 8, sizeof *labels);
    char (*vals)[FMT_BUF + 8] = mem_calloc(ns + 1, sizeof *vals);
    if (!buf || !labels || !vals) {
        free(buf);
        free(labels);
        free(vals);
        cli_discard(&out);
        return -1;
    }
    double *bx = buf, *by = bx + nb + 1, *sx = by + nb + 1, *sy = sx + ns + 1, *px_ = sy + ns + 1, *py_ = px_ + 3,
           *rx = py_ + 3, *ry = rx + 3;
    const char **blabels = labels, **slabels = labels + nb + 1;
    size_t k = 0;
    for (uint32_t m = 0; m < r->nmodel; m++)
        if (r->models[m].base_n) {
            bx[k] = per_request(r->models[m].base_cost, r->models[m].base_n);
            by[k] = sim_base_accuracy(r, m);
            blabels[k++] = rv_str(p, p->models[m].name);
        }
    /* the sweep's frontier in cost order */
    size_t nf = 0;
    for (size_t i = 0; i < ns; i++)
        if (f->sweep[i].frontier) {
            size_t at = nf++;
            while (at > 0 && sx[at - 1] > f->sweep[i].cost) {
                sx[at] = sx[at - 1];
                sy[at] = sy[at - 1];
                slabels[at] = slabels[at - 1];
                at--;
            }
            sx[at] = f->sweep[i].cost;
            sy[at] = f->sweep[i].accuracy;
            snprintf(vals[i], sizeof vals[i], "%s", f->sweep[i].value);
            slabels[at] = vals[i];
        }
    px_[0] = f->base->cost;
    py_[0] = f->base->accuracy;
    double cx = per_request(r->best_cost, r->requests), cy = r->best_scored ? (double)r->best_correct / (double)r->best_scored : 0;
    svg_series s1[5];
    size_t n1 = 0;
    s1[n1++] = (svg_series){ "single models", bx, by, nb, SVG_POINTS, "#e15759", blabels };
    if (f->have_pair) {
        rx[0] = per_request(r->models[r->weak].base_cost, r->models[r->weak].base_n);
        ry[0] = sim_base_accuracy(r, r->weak);
        rx[1] = per_request(r->models[r->strong].base_cost, r->models[r->strong].base_n);
        ry[1] = sim_base_accuracy(r, r->strong);
        s1[n1++] = (svg_series){ "random routing", rx, ry, 2, SVG_DASHED, "#999999", NULL };
    }
    if (nf)
        s1[n1++] = (svg_series){ f->sweep_name ? f->sweep_name : "sweep", sx, sy, nf, SVG_LINEPOINTS, "#4e79a7", slabels };
    static const char *const policy_label[] = { "policy" }, *const ceiling_label[] = { "best of both" };
    s1[n1++] = (svg_series){ "the policy", px_, py_, 1, SVG_POINTS, "#59a14f", policy_label };
    s1[n1++] = (svg_series){ "ceiling", &cx, &cy, 1, SVG_POINTS, "#f28e2b", ceiling_label };
    svg_axes a1 = { "Accuracy against cost per request", "cost per request", "accuracy", 0, 1, 1 };
    svg_chart(h, &a1, s1, n1);
    /* chart 2: accuracy against the strong share */
    if (f->have_pair) {
        double zx[2] = { 0, 1 }, zy[2] = { ry[0], ry[1] };
        double *qx = sx, *qy = sy;
        size_t nq = 0;
        for (size_t i = 0; i < ns; i++)
            if (f->sweep[i].accuracy >= 0) {
                size_t at = nq++;
                while (at > 0 && qx[at - 1] > f->sweep[i].share) {
                    qx[at] = qx[at - 1];
                    qy[at] = qy[at - 1];
                    at--;
                }
                qx[at] = f->sweep[i].share;
                qy[at] = f->sweep[i].accuracy;
            }
        double ox = f->base->share, oy = f->base->accuracy;
        svg_series s2[3] = {
            { "random routing", zx, zy, 2, SVG_DASHED, "#999999", NULL },
            { f->sweep_name ? f->sweep_name : "sweep", qx, qy, nq, SVG_LINEPOINTS, "#4e79a7", NULL },
            { "the policy", &ox, &oy, 1, SVG_POINTS, "#59a14f", policy_label },
        };
        svg_axes a2 = { "Accuracy against the share of requests sent to the strong model", "share of requests to the strong model",
                        "accuracy", 1, 1, 0 };
        svg_chart(h, &a2, nq ? s2 : (svg_series[]){ s2[0], s2[2] }, nq ? 3 : 2);
    }
    free(buf);
    free(labels);
    free(vals);
    svg_page_end(h);
    return cli_finish(&out);
}

/* ---------------------------------------------------------------- command */

int cli_simulate(int argc, char **argv)
{
    opts o;
    int rc = cli_begin(argc, argv, usage, parse_args, &o);
    if (rc >= 0)
        return rc;
    sweep_spec sp;
    if (o.sweep) {
        int r = parse_sweep(o.sweep, &sp);
        if (r) {
            fprintf(stderr, r == -2 ? "routevm: --sweep %s: STEP must be positive, FROM at most TO, and at most %d values\n"
                                    : "routevm: --sweep %s: expected NAME=FROM..TO/STEP, three values of one unit%.0d\n",
                    o.sweep, MAX_SWEEP);
            return RC_USAGE;
        }
        if (o.nsets == MAX_SETS) {
            fprintf(stderr, "routevm: too many --set\n");
            return RC_USAGE;
        }
    }
    rp_set *data = rp_new(o.max_records);
    if (!data) {
        fprintf(stderr, "routevm: out of memory\n");
        return RC_USAGE;
    }
    rp_limits lim = { o.max_line, o.max_records, o.strict };
    rp_stats st;
    int rr = rp_read_file(data, o.replay, &lim, stderr, &st);
    if (rr) {
        rp_free(data);
        return rr < 0 ? RC_USAGE : RC_FINDINGS;
    }
    if (!data->nrec) {
        fprintf(stderr, "routevm: %s: no records to replay\n", o.replay);
        rp_free(data);
        return RC_FINDINGS;
    }
    cli_note_skipped(o.replay, st.bad, st.records);
    run base = { .value = "" };
    rv_program *p = NULL;
    run *sweep = NULL;
    size_t nsweep = 0;
    rc = replay(&o, data, o.sets, o.nsets, &base, &p);
    if (rc)
        goto out;
    if (o.sweep) {
        size_t n = (size_t)((sp.to - sp.from) / sp.step) + 1;
        sweep = mem_calloc(n, sizeof *sweep);
        if (!sweep) {
            rc = RC_USAGE;
            goto out;
        }
        cli_set sets[MAX_SETS + 1];
        memcpy(sets, o.sets, o.nsets * sizeof *sets);
        for (size_t i = 0; i < n; i++) {
            run *u = &sweep[nsweep];
            fmt_value(u->value, sizeof u->value, sp.type, sp.from + (int64_t)i * sp.step);
            if (sp.type == RV_T_NUM && !strchr(u->value, '.'))
                strcat(u->value, ".0");     /* a number literal, not an int */
            sets[o.nsets] = (cli_set){ sp.name, u->value };
            if ((rc = replay(&o, data, sets, o.nsets + 1, u, NULL)))
                goto out;
            nsweep++;
        }
        mark_frontier(sweep, nsweep);
    }
    figures f = { p, &base, sweep, nsweep, o.sweep ? sp.name : NULL, { -1, -1, -1 }, 0, 0, 0 };
    compute(&f);
    char beaten[2048];
    int nbeaten = sim_beaten(&base.r, p, beaten, sizeof beaten);
    if (o.json) {
        json_t *j = to_json(&o, &f, beaten);
        if (jw_print(stdout, j, 0))
            rc = RC_USAGE;
        json_decref(j);
    } else {
        print_text(stdout, &o, &f, beaten);
    }
    if (o.html && write_html(o.html, &o, &f))
        rc = RC_USAGE;
    if (o.fail_if_beaten && nbeaten) {
        fprintf(stderr, "routevm: the policy is beaten:\n%s", beaten);
        if (!rc)
            rc = RC_FINDINGS;
    }
out:
    for (size_t i = 0; i < nsweep; i++)
        sim_result_free(&sweep[i].r);
    free(sweep);
    sim_result_free(&base.r);
    rv_program_free(p);
    rp_free(data);
    return rc;
}
