/* routevm diff: which traffic a policy change moves.  Every request of a
   traffic file is decided under the old and the new policy, as 'explain'
   decides (up to the first model call: no network, hooks take their
   default), and the differences are counted per from -> to pair of
   destinations, with examples and the estimated change in cost.

     routevm diff OLD NEW --requests TRAFFIC.jsonl [--agent NAME] [--json]
                  [--examples N] [--fail-on-change] [--trust PUB.pem]

   A request *moves* when its destination changes: another model, or a
   refusal or failure instead of a model (or the reverse).  A request that
   keeps its model but is decided by another rule is reported apart, as a
   rule change.  TRAFFIC.jsonl holds one request per line: OpenAI request
   bodies, or replay records (vm/replay.h), whose extra fields become
   metadata as in 'simulate'.

   Exit status: 0; 1 with --fail-on-change when any request moved, or when
   a policy has errors; 2 usage or I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "envmem.h"
#include "exitcode.h"
#include "format.h"
#include "jsonw.h"
#include "lines.h"
#include "mem.h"
#include "replay.h"
#include "vm.h"

#define MAX_PAIRS 10000
#define MAX_LINE (16u << 20)

/* Where a request went under one policy. */
typedef struct {
    char label[160];            /* "gpt4 (rule 2)", "denied by pii", "failed", "no agent" */
    char model[96];             /* the model's name, "" when none */
    uint32_t rule;              /* rule number, 0 when none */
    int64_t cost;               /* estimated cost of the first call, picodollars */
} dest;

typedef struct {
    char from[160], to[160];
    uint64_t count;
    int64_t delta;
    char examples[3][160];
    uint32_t nexamples;
} pair;

typedef struct {
    const rv_program *p;
    rv_image img;
    int img_ok;
    rv_memenv *env;
    bi_langdet *lang;
    rv_vm *vm;
} side;

static int side_open(side *s, const rv_program *p)
{
    char err[256];
    memset(s, 0, sizeof *s);
    s->p = p;
    if (vm_image_init(&s->img, p, err, sizeof err)) {
        fprintf(stderr, "routevm: %s\n", err);
        return -1;
    }
    s->img_ok = 1;
    s->lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    s->env = memenv_new(p->nmodel);
    s->vm = s->env ? vm_new(&s->img, memenv_env(s->env), s->lang) : NULL;
    if (!s->vm) {
        fprintf(stderr, "routevm: out of memory\n");
        return -1;
    }
    return 0;
}

static void side_close(side *s)
{
    vm_free(s->vm);
    memenv_free(s->env);
    bi_lang_free(s->lang);
    if (s->img_ok)
        vm_image_free(&s->img);
}

/* Decide 'req' as explain does: up to the first call. */
static void decide(side *s, const char *agent_name, const rv_request *req, dest *d)
{
    const rv_program *p = s->p;
    memset(d, 0, sizeof *d);
    uint32_t agent = agent_name ? vm_agent(p, agent_name, strlen(agent_name)) : vm_agent(p, req->model.s, req->model.len);
    if (agent == RV_NONE) {
        snprintf(d->label, sizeof d->label, "no agent");
        return;
    }
    rv_status st = vm_start(s->vm, agent, req, NULL);
    while (st == RV_HOOK) {
        rv_outcome none = vm_outcome_init(0);
        none.failure = RV_FAIL_ERROR;
        none.detail = "diff does not call hooks";
        st = vm_resume(s->vm, &none);
    }
    const rv_result *res = vm_result(s->vm);
    d->rule = res->rule != RV_NONE ? p->rules[res->rule].number : 0;
    if (st == RV_CALL) {
        const rv_call *c = vm_call(s->vm);
        snprintf(d->model, sizeof d->model, "%s", rv_str(p, p->models[c->model].name));
        snprintf(d->label, sizeof d->label, "%s (rule %u)", d->model, d->rule);
        d->cost = vm_call_cost(p, c->model, vm_model_tokens(s->vm, c->model), c->max_output ? c->max_output : vm_expected_output(s->vm));
    } else if (st == RV_DENIED) {
        snprintf(d->label, sizeof d->label, "denied by %s", rv_str(p, p->guards[res->denied_by].name));
    } else {
        snprintf(d->label, sizeof d->label, "failed");
    }
}

/* The destination without the rule: what a move is measured on. */
static int same_place(const dest *a, const dest *b)
{
    if (a->model[0] || b->model[0])
        return !strcmp(a->model, b->model);
    return !strcmp(a->label, b->label);
}

static pair *find_pair(pair **arr, size_t *n, size_t *cap, const dest *a, const dest *b)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].from, a->label) && !strcmp((*arr)[i].to, b->label))
            return &(*arr)[i];
    if (*n >= MAX_PAIRS || MEM_GROW(*arr, *n, *cap))
        return NULL;
    pair *pr = &(*arr)[(*n)++];
    memset(pr, 0, sizeof *pr);
    snprintf(pr->from, sizeof pr->from, "%s", a->label);
    snprintf(pr->to, sizeof pr->to, "%s", b->label);
    return pr;
}

static void note(pair *pr, const dest *a, const dest *b, uint32_t line, const rv_request *req)
{
    pr->count++;
    pr->delta += b->cost - a->cost;
    if (pr->nexamples < 3) {
        const rv_sv *id = req_meta(req, "id", 2);
        int n = (int)(req->input.len > 60 ? 60 : req->input.len);
        if (id)
            snprintf(pr->examples[pr->nexamples++], sizeof pr->examples[0], "line %u (%.*s): %.*s", line,
                     (int)(id->len > 40 ? 40 : id->len), id->s, n, req->input.s);
        else
            snprintf(pr->examples[pr->nexamples++], sizeof pr->examples[0], "line %u: %.*s", line, n, req->input.s);
    }
}

static int by_count(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->from, y->from);
}

static json_t *pairs_json(pair *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *ex = json_array();
        for (uint32_t k = 0; k < v[i].nexamples; k++)
            json_array_append_new(ex, jw_jstring(v[i].examples[k], strlen(v[i].examples[k])));
        json_array_append_new(a, json_pack("{s:o, s:o, s:I, s:I, s:o}", "from", jw_jstring(v[i].from, strlen(v[i].from)),
                                           "to", jw_jstring(v[i].to, strlen(v[i].to)), "count", (json_int_t)v[i].count,
                                           "cost_delta_picodollars", (json_int_t)v[i].delta, "examples", ex));
    }
    return a;
}

static void pairs_text(FILE *out, const char *title, pair *v, size_t n)
{
    char money[FMT_BUF];
    if (!n)
        return;
    fprintf(out, "  %s:\n", title);
    for (size_t i = 0; i < n; i++) {
        fmt_money(money, sizeof money, v[i].delta < 0 ? -v[i].delta : v[i].delta);
        fprintf(out, "    %s -> %s: %" PRIu64 " request%s, estimated cost %s%s\n", v[i].from, v[i].to, v[i].count,
                v[i].count == 1 ? "" : "s", v[i].delta < 0 ? "-" : "+", money);
        for (uint32_t k = 0; k < v[i].nexamples; k++)
            fprintf(out, "      %s\n", v[i].examples[k]);
    }
}

static void usage(FILE *f)
{
    fputs("usage: routevm diff OLD NEW --requests TRAFFIC.jsonl [--agent NAME] [--json]\n"
          "                    [--fail-on-change] [--trust PUB.pem]\n", f);
}

int cli_diff(int argc, char **argv)
{
    const char *pol[2] = { NULL, NULL }, *traffic = NULL, *agent = NULL, *trust = NULL;
    int json = 0, fail_on_change = 0;
    if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
        usage(stdout);
        return RC_OK;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--requests") || !strcmp(a, "--agent") || !strcmp(a, "--trust")) && i + 1 >= argc) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return RC_USAGE;
        }
        if (!strcmp(a, "--requests")) traffic = argv[++i];
        else if (!strcmp(a, "--agent")) agent = argv[++i];
        else if (!strcmp(a, "--trust")) trust = argv[++i];
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--fail-on-change")) fail_on_change = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "routevm: unknown option '%s'\n", a);
            return RC_USAGE;
        } else if (!pol[0]) pol[0] = a;
        else if (!pol[1]) pol[1] = a;
        else {
            fprintf(stderr, "routevm: unexpected argument '%s'\n", a);
            return RC_USAGE;
        }
    }
    if (!pol[1] || !traffic) {
        usage(stderr);
        return RC_USAGE;
    }
    rv_program *p[2] = { NULL, NULL };
    side s[2];
    memset(s, 0, sizeof s);
    int rc = RC_OK, opened = 0;
    pair *moves = NULL, *rules = NULL;
    size_t nmoves = 0, capmoves = 0, nrules = 0, caprules = 0;
    uint64_t requests = 0, moved = 0, rule_changed = 0, bad = 0;
    int64_t cost[2] = { 0, 0 };
    ln_reader *r = NULL;
    int fd = -1;
    for (int k = 0; k < 2; k++) {
        int lrc;
        if (!(p[k] = cli_load_policy(pol[k], trust, NULL, 0, &lrc))) {
            rc = lrc;
            goto out;
        }
    }
    for (opened = 0; opened < 2; opened++)
        if (side_open(&s[opened], p[opened])) {
            rc = RC_FINDINGS;
            opened++;
            goto out;
        }
    fd = strcmp(traffic, "-") ? open(traffic, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0 || !(r = ln_open(fd, MAX_LINE))) {
        fprintf(stderr, "routevm: %s: %s\n", traffic, fd < 0 ? strerror(errno) : "out of memory");
        rc = RC_USAGE;
        goto out;
    }
    const char *line;
    size_t len;
    ln_status ls;
    uint32_t lineno = 0;
    char err[320];
    while ((ls = ln_next(r, &line, &len)) == LN_LINE || ls == LN_TOO_LONG) {
        lineno++;
        if (ls == LN_TOO_LONG) {
            fprintf(stderr, "%s:%u: line longer than %u bytes, skipped\n", traffic, lineno, MAX_LINE);
            bad++;
            continue;
        }
        if (!len)
            continue;
        rv_request *req = rp_request(line, len, err, sizeof err);
        if (!req) {
            fprintf(stderr, "%s:%u: %s; skipped\n", traffic, lineno, err);
            bad++;
            continue;
        }
        dest d[2];
        decide(&s[0], agent, req, &d[0]);
        decide(&s[1], agent, req, &d[1]);
        requests++;
        cost[0] += d[0].cost;
        cost[1] += d[1].cost;
        if (!same_place(&d[0], &d[1])) {
            moved++;
            pair *pr = find_pair(&moves, &nmoves, &capmoves, &d[0], &d[1]);
            if (pr)
                note(pr, &d[0], &d[1], lineno, req);
        } else if (d[0].rule != d[1].rule) {
            rule_changed++;
            pair *pr = find_pair(&rules, &nrules, &caprules, &d[0], &d[1]);
            if (pr)
                note(pr, &d[0], &d[1], lineno, req);
        }
        req_free(req);
    }
    if (ls == LN_ERROR) {
        fprintf(stderr, "routevm: %s: %s\n", traffic, strerror(errno));
        rc = RC_USAGE;
        goto out;
    }
    if (nmoves)
        qsort(moves, nmoves, sizeof *moves, by_count);
    if (nrules)
        qsort(rules, nrules, sizeof *rules, by_count);
    if (json) {
        json_t *j = json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
                              "old", jw_jstring(pol[0], strlen(pol[0])), "new", jw_jstring(pol[1], strlen(pol[1])),
                              "requests_file", jw_jstring(traffic, strlen(traffic)), "requests", (json_int_t)requests,
                              "moved", (json_int_t)moved, "rule_changed", (json_int_t)rule_changed,
                              "unchanged", (json_int_t)(requests - moved - rule_changed), "bad_lines", (json_int_t)bad,
                              "cost_old_picodollars", (json_int_t)cost[0], "cost_new_picodollars", (json_int_t)cost[1],
                              "cost_delta_picodollars", (json_int_t)(cost[1] - cost[0]), "moves", pairs_json(moves, nmoves),
                              "rule_changes", pairs_json(rules, nrules));
        if (jw_print(stdout, j, 0))
            rc = RC_USAGE;
        json_decref(j);
    } else {
        char m0[FMT_BUF], m1[FMT_BUF], md[FMT_BUF];
        fmt_money(m0, sizeof m0, cost[0]);
        fmt_money(m1, sizeof m1, cost[1]);
        fmt_money(md, sizeof md, cost[1] - cost[0]);
        printf("%s -> %s on %s: %" PRIu64 " requests, %" PRIu64 " moved (%.2f%%), %" PRIu64 " decided by another rule\n",
               pol[0], pol[1], traffic, requests, moved, requests ? 100.0 * (double)moved / (double)requests : 0, rule_changed);
        printf("  estimated cost of the first calls: %s -> %s (%s%s)\n", m0, m1, cost[1] >= cost[0] ? "+" : "", md);
        pairs_text(stdout, "moved", moves, nmoves);
        pairs_text(stdout, "same model, another rule", rules, nrules);
    }
    if (bad)
        fprintf(stderr, "routevm: %s: %" PRIu64 " bad line%s skipped\n", traffic, bad, bad == 1 ? "" : "s");
    if (fail_on_change && moved && rc == RC_OK) {
        fprintf(stderr, "routevm: %" PRIu64 " request%s moved\n", moved, moved == 1 ? "" : "s");
        rc = RC_FINDINGS;
    }
out:
    ln_close(r);
    if (fd > 0)
        close(fd);
    for (int k = 0; k < opened && k < 2; k++)
        side_close(&s[k]);
    free(moves);
    free(rules);
    rv_program_free(p[0]);
    rv_program_free(p[1]);
    return rc;
}
