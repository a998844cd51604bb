/* Test blocks, run; see testrun.h.

   Calls are answered from the test's 'given' lines:
     given M answers "t" [confidence c]   M answers t; its confidence is c,
                                          or 1 (fully confident) when unstated
     given M fails WHAT                   every call to M fails with WHAT
     given hook answers M                 a hook on the path picks M
   A model with no 'given' answers "" with full confidence; a hook with no
   'given' fails, so its default decides.  Token counts are estimated from
   the texts (tokens()), and cost follows from the models' prices.

   Coverage counts the rules whose RULE instruction ran and the outcomes
   (true and false) of every routing condition, across all tests. */
#include <stdlib.h>
#include <string.h>

#include "envmem.h"
#include "explain.h"
#include "mem.h"
#include "opcodes.h"
#include "testrun.h"
#include "format.h"
#include "vm.h"

static const rv_given *find_given(const rv_program *p, const rv_test *t, rv_givenkind kind, uint32_t model)
{
    for (uint32_t i = 0; i < t->given_count; i++) {
        const rv_given *g = &p->givens[t->given_first + i];
        if (kind == RV_GIVEN_HOOK ? g->kind == RV_GIVEN_HOOK : (g->kind != RV_GIVEN_HOOK && g->model == model))
            return g;
    }
    return NULL;
}

/* Decide the test's request, answering every call from the givens. */
static rv_status decide(rv_vm *vm, const rv_test *t, const rv_request *req)
{
    const rv_program *p = vm_image(vm)->p;
    rv_status st = vm_start(vm, t->agent, req, NULL);
    for (int guard = 0; guard < 256 && (st == RV_CALL || st == RV_HOOK); guard++) {
        rv_outcome o = vm_outcome_init(1);
        o.confidence = 1000000;
        o.text.s = "";
        if (st == RV_HOOK) {
            const rv_given *g = find_given(p, t, RV_GIVEN_HOOK, 0);
            if (g) {
                o.hook_model.s = rv_str(p, p->models[g->model].name);
                o.hook_model.len = p->str_len[p->models[g->model].name];
            } else {
                o.ok = 0;
                o.failure = RV_FAIL_ERROR;
                o.detail = "no given answer for the hook";
            }
        } else {
            const rv_given *g = find_given(p, t, RV_GIVEN_ANSWER, vm_call(vm)->model);
            if (g && g->kind == RV_GIVEN_FAIL) {
                o.ok = 0;
                o.failure = vm_failure_parse(rv_str(p, g->text), p->str_len[g->text], &o.http_status);
                if (o.failure == RV_FAIL__COUNT)
                    o.failure = RV_FAIL_ERROR;
                o.detail = rv_str(p, g->text);
            } else if (g) {
                o.text.s = rv_str(p, g->text);
                o.text.len = p->str_len[g->text];
                if (g->confidence >= 0)
                    o.confidence = g->confidence;
            }
        }
        st = vm_resume(vm, &o);
    }
    return st;
}

static void describe(const rv_vm *vm, rv_status st, char *buf, size_t n)
{
    const rv_program *p = vm_image(vm)->p;
    const rv_result *r = vm_result(vm);
    char cost[48];
    fmt_money(cost, sizeof cost, r->cost);
    if (st == RV_DENIED) {
        snprintf(buf, n, "denied by %s (%.*s)", rv_str(p, p->guards[r->denied_by].name),
                 (int)r->deny_reason.len, r->deny_reason.s);
    } else if (st == RV_FAILED) {
        char at[300] = "", loc[256];
        if (r->error_loc != RV_NONE) {     /* an error in the route code: where */
            ex_loc(p, r->error_loc, loc, sizeof loc);
            snprintf(at, sizeof at, " (at %s)", loc);
        }
        snprintf(buf, n, "failed: %s%s", r->error ? r->error : "no decision", at);
    } else {
        snprintf(buf, n, "model %s, rule %u, %u call%s, cost %s",
                 r->model != RV_NONE ? rv_str(p, p->models[r->model].name) : "none",
                 r->rule != RV_NONE ? p->rules[r->rule].number : 0, r->ncalls,
                 r->ncalls == 1 ? "" : "s", cost);
    }
}

/* Coverage: per pc, bit 0 the condition held (or the rule was entered),
   bit 1 it did not. */
static void on_cond(void *ud, uint32_t pc, uint32_t loc, int result)
{
    (void)loc;
    ((uint32_t *)ud)[pc] |= result ? 1u : 2u;
}

static void on_rule(void *ud, uint32_t pc, uint32_t rule)
{
    (void)rule;
    ((uint32_t *)ud)[pc] |= 1u;
}

static const rv_observer coverage_observer = { on_cond, on_rule };

static const char *loc_text(const rv_program *p, uint32_t loc, char *buf, size_t n)
{
    ex_loc(p, loc, buf, n);
    return buf;
}

static void coverage_report(const rv_program *p, const uint32_t *cover, FILE *out, tr_stats *st)
{
    char where[256];
    for (uint32_t f = 0; f < p->nfunc; f++) {
        if (p->funcs[f].kind != RV_FN_ROUTE)
            continue;
        for (uint32_t pc = p->funcs[f].start; pc < p->funcs[f].end; pc++) {
            rv_opcode op = INS_OP(p->code[pc]);
            if (op == OP_RULE) {
                st->rules++;
                if (cover[pc])
                    st->rules_hit++;
                else {
                    const rv_rule *r = &p->rules[INS_ARG(p->code[pc])];
                    fprintf(out, "  rule %u of %s never matched (%s)\n", r->number, rv_str(p, p->agents[r->agent].name),
                            loc_text(p, r->loc, where, sizeof where));
                }
            } else if (op == OP_JMPF || op == OP_JMT || op == OP_JKT) {
                st->branches += 2;
                st->branches_hit += !!(cover[pc] & 1) + !!(cover[pc] & 2);
                if ((cover[pc] & 3) != 3)
                    fprintf(out, "  condition at %s was never %s\n", loc_text(p, p->pc_loc[pc], where, sizeof where),
                            cover[pc] & 1 ? "false" : cover[pc] & 2 ? "true" : "evaluated");
            }
        }
    }
}

int tr_run(const rv_program *p, int coverage, FILE *out, tr_stats *st)
{
    rv_image img;
    char err[256], where[256], what[512];
    memset(st, 0, sizeof *st);
    if (vm_image_init(&img, p, err, sizeof err)) {
        fprintf(out, "FAIL policy: %s\n", err);
        st->failed++;
        return -1;
    }
    bi_langdet *lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    rv_memenv *env = memenv_new(p->nmodel);
    rv_vm *vm = env ? vm_new(&img, memenv_env(env), lang) : NULL;
    uint32_t *cover = coverage ? mem_calloc(p->ncode + 1, sizeof *cover) : NULL;
    if (!vm || (coverage && !cover)) {
        fprintf(out, "FAIL policy: out of memory\n");
        st->failed++;
        goto out;
    }
    if (cover)
        vm_set_observer(vm, &coverage_observer, cover);
    for (uint32_t i = 0; i < p->ntest; i++) {
        const rv_test *t = &p->tests[i];
        const char *name = rv_str(p, t->name);
        rv_reqerr rerr;
        rv_request *req = req_parse(rv_str(p, t->request), p->str_len[t->request], NULL, &rerr);
        if (!req) {
            fprintf(out, "FAIL %s (%s): the request is invalid: %s\n", name, loc_text(p, t->loc, where, sizeof where),
                    rerr.msg);
            st->failed++;
            continue;
        }
        rv_status s = decide(vm, t, req);
        describe(vm, s, what, sizeof what);
        int ok = 1;
        for (uint32_t k = 0; k < t->expect_count; k++) {
            uint32_t fn = t->expect + k;
            rv_value v = vm_run_expect(vm, fn);
            if (v.t == RV_T_BOOL && v.u.i)
                continue;
            if (ok)
                fprintf(out, "FAIL %s (%s)\n", name, loc_text(p, t->loc, where, sizeof where));
            ok = 0;
            uint32_t loc = p->pc_loc[p->funcs[fn].start];
            const rv_loc *l = &p->locs[loc];
            /* the expectation's source line */
            const char *text = rv_str(p, p->files[l->file].text), *e = text + p->str_len[p->files[l->file].text];
            for (uint32_t ln = 1; ln < l->line && text < e; text++)
                ln += *text == '\n';
            const char *nl = memchr(text, '\n', (size_t)(e - text));
            fprintf(out, "    %s: expectation failed: %.*s\n", loc_text(p, loc, where, sizeof where),
                    (int)((nl ? nl : e) - text), text);
        }
        if (ok)
            fprintf(out, "PASS %s\n", name);
        else
            fprintf(out, "    decision: %s\n", what);
        ok ? st->passed++ : st->failed++;
        req_free(req);
    }
    if (coverage) {
        fprintf(out, "coverage:\n");
        coverage_report(p, cover, out, st);
        fprintf(out, "  rules %u/%u, condition outcomes %u/%u\n", st->rules_hit, st->rules, st->branches_hit, st->branches);
    }
out:
    free(cover);
    vm_free(vm);
    memenv_free(env);
    bi_lang_free(lang);
    vm_image_free(&img);
    return st->failed ? -1 : 0;
}
