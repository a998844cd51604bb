/* Explanations of decisions; see explain.h.

   The VM runs exactly as in production up to its first model call; no
   hook is asked (a hook is reported with its default) and no model is
   called (a cascade is reported as its plan, the fallbacks as what would
   be tried next).  Redacted text never appears: only what was redacted
   how many times. */
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "jsonw.h"
#include "mem.h"
#include "rbc.h"
#include "format.h"

struct ex_cache {
    const rv_program *p;
    char **text;        /* per loc: the source text of the span, or NULL */
    char **files;       /* stripped programs: file texts read from disk */
};

ex_cache *ex_cache_new(const rv_program *p)
{
    ex_cache *c = mem_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->p = p;
    c->text = mem_calloc(p->nloc + 1, sizeof *c->text);
    c->files = mem_calloc(p->nfile + 1, sizeof *c->files);
    if (!c->text || !c->files) {
        free(c->text);
        free(c->files);
        free(c);
        return NULL;
    }
    return c;
}

void ex_cache_free(ex_cache *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->p->nloc; i++)
        free(c->text[i]);
    for (uint32_t i = 0; i < c->p->nfile; i++)
        free(c->files[i]);
    free(c->text);
    free(c->files);
    free(c);
}

void ex_loc(const rv_program *p, uint32_t loc, char *buf, size_t n)
{
    if (loc >= p->nloc) {
        snprintf(buf, n, "?");
        return;
    }
    const rv_loc *l = &p->locs[loc];
    snprintf(buf, n, "%s:%u:%u", l->file < p->nfile ? rv_str(p, p->files[l->file].name) : "?", l->line, l->col);
}

/* The source text a location spans (one line at most). */
static const char *span_text(ex_cache *c, uint32_t loc)
{
    const rv_program *p = c->p;
    if (loc >= p->nloc)
        return "";
    if (c->text[loc])
        return c->text[loc];
    const rv_loc *l = &p->locs[loc];
    if (l->file >= p->nfile)
        return "";
    const char *t = rv_str(p, p->files[l->file].text);
    uint32_t tl = p->str_len[p->files[l->file].text], line = 1, i = 0;
    if (!tl) {
        /* a stripped program: the source file itself, if it is still there */
        if (!c->files[l->file]) {
            rbc_file f;
            rv_err err;
            if (rbc_map_file(rv_str(p, p->files[l->file].name), 64u << 20, &f, &err) == 0) {
                c->files[l->file] = mem_strndup((const char *)f.buf, f.len);
                rbc_unmap_file(&f);
            }
            if (!c->files[l->file])
                c->files[l->file] = mem_strndup("", 0);
        }
        t = c->files[l->file] ? c->files[l->file] : "";
        tl = (uint32_t)strlen(t);
    }
    while (i < tl && line < l->line)
        line += t[i++] == '\n';
    i += l->col ? l->col - 1 : 0;
    uint32_t e = i;
    while (e < tl && e - i < l->len && t[e] != '\n')
        e++;
    if (i > tl)
        i = e = tl;
    c->text[loc] = mem_strndup(t + i, e - i);
    return c->text[loc] ? c->text[loc] : "";
}

/* A source span as JSON: a stripped program's text comes from whatever
   file now has its name, so it may hold any bytes. */
static json_t *source_text(ex_cache *c, uint32_t loc)
{
    const char *t = span_text(c, loc);
    return jw_jstring(t, strlen(t));
}

json_t *ex_error(const char *msg, int line, int column)
{
    json_t *e = json_pack("{s:o}", "message", jw_jstring(msg, strlen(msg)));
    if (line > 0) {
        json_object_set_new(e, "line", json_integer(line));
        json_object_set_new(e, "column", json_integer(column));
    }
    return json_pack("{s:o}", "error", e);
}

static json_t *money(int64_t pico)
{
    char buf[64];
    fmt_money(buf, sizeof buf, pico);
    return json_string(buf);
}

static const char *name_of(const rv_program *p, uint32_t s) { return rv_str(p, s); }

static json_t *models_list(const rv_program *p, uint32_t first, uint32_t count)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < count; i++)
        json_array_append_new(a, json_string(name_of(p, p->models[p->model_refs[first + i]].name)));
    return a;
}

/* The names of the failure classes in a mask. */
static json_t *class_list(uint32_t mask)
{
    json_t *a = json_array();
    for (int k = 1; k < RV_FAIL__COUNT; k++)
        if (mask >> k & 1)
            json_array_append_new(a, json_string(rv_failure_names[k]));
    return a;
}

static const char *target_name(const rv_program *p, const rv_target *t)
{
    return name_of(p, t->is_agent ? p->agents[t->index].name : p->models[t->index].name);
}

/* 'fallback on' entries [first, first+count) as plan entries. */
static void onfail_plan(const rv_program *p, uint32_t first, uint32_t count, json_t *arr)
{
    for (uint32_t i = first; i < first + count; i++) {
        const rv_target *t = &p->targets[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", t->is_agent ? "agent" : "model", target_name(p, t),
                                             "when", "a call fails with one of", "on", class_list(t->on)));
    }
}

static json_t *fallback_plan(const rv_program *p, uint32_t agent, uint32_t from)
{
    const rv_agent *a = &p->agents[agent];
    json_t *arr = json_array();
    onfail_plan(p, a->onfail_first, a->onfail_count, arr);
    for (uint32_t i = from; i < a->fallback_count; i++) {
        const rv_target *t = &p->targets[a->fallback_first + i];
        json_array_append_new(arr, json_pack("{s:s, s:s}", t->is_agent ? "agent" : "model",
                                             name_of(p, t->is_agent ? p->agents[t->index].name : p->models[t->index].name),
                                             "when", "the models before it fail"));
    }
    return arr;
}

/* The observer that collects evaluated conditions. */
#define MAX_CONDS 256
typedef struct { uint32_t pc, loc; uint8_t result; } cond;
typedef struct { cond c[MAX_CONDS]; uint32_t n, dropped; } condlog;

static void on_cond(void *ud, uint32_t pc, uint32_t loc, int result)
{
    condlog *l = ud;
    if (l->n < MAX_CONDS)
        l->c[l->n++] = (cond){ pc, loc, (uint8_t)result };
    else
        l->dropped++;
}

static const rv_observer explain_observer = { on_cond, NULL };

json_t *ex_explain(rv_vm *vm, ex_cache *cache, uint32_t agent, const rv_request *req)
{
    const rv_program *p = vm_image(vm)->p;
    char buf[512];
    condlog log = { .n = 0 };
    vm_set_observer(vm, &explain_observer, &log);
    rv_status st = vm_start(vm, agent, req, NULL);
    json_t *hook = NULL;
    if (st == RV_HOOK) {
        const rv_hookcall *hc = vm_hook(vm);
        const rv_hook *h = &p->hooks[hc->hook];
        fmt_duration(buf, sizeof buf, h->timeout);
        hook = json_pack("{s:s, s:s, s:s}", "url", name_of(p, h->url), "timeout", buf,
                         "used", "default (explain does not call hooks)");
        rv_outcome none = vm_outcome_init(0);
        none.failure = RV_FAIL_ERROR;
        none.detail = "not called";
        st = vm_resume(vm, &none);
    }
    vm_set_observer(vm, NULL, NULL);
    const rv_result *res = vm_result(vm);
    const rv_call *call = vm_call(vm);
    json_t *o = json_object();
    json_object_set_new(o, "agent", json_string(name_of(p, p->agents[agent].name)));
    if (res->agent != agent)
        json_object_set_new(o, "delegated_to", json_string(name_of(p, p->agents[res->agent].name)));
    json_object_set_new(o, "decision", json_string(st == RV_CALL ? "call" : st == RV_DENIED ? "denied" : "failed"));
    if (st == RV_CALL) {
        const rv_model *m = &p->models[call->model];
        const rv_provider *pr = &p->providers[m->provider];
        json_object_set_new(o, "model", json_string(name_of(p, m->name)));
        json_object_set_new(o, "model_id", json_string(name_of(p, m->id)));
        json_object_set_new(o, "provider", json_string(name_of(p, pr->name)));
        json_object_set_new(o, "provider_kind", json_string(rv_provkind_names[pr->kind]));
    }
    if (res->rule != RV_NONE) {
        const rv_rule *r = &p->rules[res->rule];
        ex_loc(p, r->loc, buf, sizeof buf);
        json_t *rj = json_pack("{s:i, s:s}", "number", (json_int_t)r->number, "at", buf);
        if (r->reason != RV_NONE)
            json_object_set_new(rj, "reason", json_string(name_of(p, r->reason)));
        if (r->otherwise)
            json_object_set_new(rj, "otherwise", json_true());
        json_object_set_new(rj, "source", source_text(cache, r->loc));
        json_object_set_new(o, "rule", rj);
    }
    static const char *const via[] = { "none", "model", "choice", "cascade", "hook", "fallback" };
    json_object_set_new(o, "strategy", json_string(res->via == RV_VIA_CHOICE
        ? (p->choices[res->via_index].kind == RV_CHOOSE_CHEAPEST ? "cheapest" : "fastest") : via[res->via]));
    json_t *ev = json_array();
    for (uint32_t i = 0; i < log.n; i++) {
        ex_loc(p, log.c[i].loc, buf, sizeof buf);
        json_array_append_new(ev, json_pack("{s:s, s:o, s:b}", "at", buf, "condition",
                                            source_text(cache, log.c[i].loc), "result", log.c[i].result));
    }
    json_object_set_new(o, "evaluated", ev);
    if (log.dropped)
        json_object_set_new(o, "evaluated_not_shown", json_integer(log.dropped));
    /* guardrails */
    json_t *g = json_object();
    json_object_set_new(g, "redactions", json_integer(res->redacted));
    if (st == RV_DENIED)
        json_object_set_new(g, "denied", json_pack("{s:s, s:s%}", "guardrail", name_of(p, p->guards[res->denied_by].name),
                                                   "reason", res->deny_reason.s, (size_t)res->deny_reason.len));
    json_object_set_new(o, "guardrails", g);
    if (hook)
        json_object_set_new(o, "hook", hook);
    if (st == RV_CALL) {
        uint32_t m = call->model;
        int64_t out = call->max_output ? call->max_output : vm_expected_output(vm);
        int64_t in = vm_model_tokens(vm, m);
        int64_t cost = vm_call_cost(p, m, in, out);
        json_object_set_new(o, "estimate", json_pack("{s:I, s:I, s:o, s:I}", "input_tokens", (json_int_t)in,
                                                     "output_tokens", (json_int_t)out, "cost", money(cost),
                                                     "cost_picodollars", (json_int_t)cost));
        json_t *plan = json_array();
        if (res->via == RV_VIA_CASCADE) {
            const rv_cascade *cs = &p->cascades[res->via_index];
            static const char *const by[] = { "logprobs", "judge", "check" };
            fmt_num(buf, sizeof buf, cs->threshold);
            json_t *c = json_pack("{s:s, s:o, s:s, s:s}", "step", "cascade", "models", models_list(p, cs->first, cs->count),
                                  "until_confidence", buf, "by", by[cs->by]);
            if (cs->by == RV_BY_JUDGE)
                json_object_set_new(c, "judge", json_string(name_of(p, p->models[cs->judge].name)));
            json_array_append_new(plan, c);
        }
        if (res->via == RV_VIA_CHOICE) {
            const rv_choice *ch = &p->choices[res->via_index];
            json_array_append_new(plan, json_pack("{s:s, s:o}", "step", ch->kind == RV_CHOOSE_CHEAPEST ? "cheapest" : "fastest",
                                                  "candidates", models_list(p, ch->first, ch->count)));
        }
        rv_callsettings cs = vm_call_settings(vm, m);
        if (cs.timeout_us) {
            fmt_duration(buf, sizeof buf, cs.timeout_us);
            json_object_set_new(o, "timeout", json_string(buf));
        }
        if (cs.retry)
            json_array_append_new(plan, json_pack("{s:s, s:i, s:o}", "step", "retry", "times", (json_int_t)cs.retry,
                                                  "on", class_list(cs.retry_on)));
        const rv_model *md = &p->models[m];
        if (md->onfail_count) {
            json_t *ins = json_array();
            onfail_plan(p, md->onfail_first, md->onfail_count, ins);
            json_array_append_new(plan, json_pack("{s:s, s:o}", "step", "stand-in", "targets", ins));
        }
        json_t *fb = fallback_plan(p, res->agent, vm_next_fallback(vm));
        if (json_array_size(fb))
            json_array_append_new(plan, json_pack("{s:s, s:o}", "step", "fallback", "targets", fb));
        else
            json_decref(fb);
        json_object_set_new(o, "plan", plan);
    } else if (st == RV_FAILED) {
        const char *e = res->error ? res->error : "no decision";
        json_object_set_new(o, "error", jw_jstring(e, strlen(e)));
        if (res->error_loc != RV_NONE) {
            ex_loc(p, res->error_loc, buf, sizeof buf);
            json_object_set_new(o, "error_at", json_string(buf));
        }
    }
    return o;
}
