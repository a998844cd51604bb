/* Explanations of decisions; see explain.h.

   The VM runs exactly as in production up to its first model call; no
   hook is asked (a hook is reported with its default) and no model is
   called (a cascade is reported as its plan, the fallbacks as what would
   be tried next).  Redacted text never appears: only what was redacted
   how many times. */
#include <stdlib.h>
#include <string.h>

#include "explain.h"
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

json_t *ex_error(const char *msg, int line, int column)
{
    json_t *e = json_pack("{s:s}", "message", msg);
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

static json_t *fallback_plan(const rv_program *p, uint32_t agent, uint32_t from)
{
    const rv_agent *a = &p->agents[agent];
    json_t *arr = json_array();
    for (uint32_t i = from; i < a->fallback_count; i++) {
        const rv_target *t = &p->targets[a->fallback_first + i];
        json_array_append_new(arr, json_pack("{s:s, s:s}", t->is_agent ? "agent" : "model",
                                             name_of(p, t->is_agent ? p->agents[t->index].name : p->models[t->index].name),
                                             "when", "the models before it fail"));
    }
    return arr;
}

json_t *ex_explain(rv_vm *vm, ex_cache *cache, uint32_t agent, rv_request *req)
{
    const rv_program *p = vm->img->p;
    char buf[512];
    rv_status st = vm_start(vm, agent, req);
    json_t *hook = NULL;
    if (st == RV_HOOK) {
        const rv_hook *h = &p->hooks[vm->hook];
        fmt_duration(buf, sizeof buf, h->timeout);
        hook = json_pack("{s:s, s:s, s:s}", "url", name_of(p, h->url), "timeout", buf,
                         "used", "default (explain does not call hooks)");
        rv_outcome none = { .ok = 0, .failure = "not called" };
        st = vm_resume(vm, &none);
    }
    json_t *o = json_object();
    json_object_set_new(o, "agent", json_string(name_of(p, p->agents[agent].name)));
    if (vm->agent != agent)
        json_object_set_new(o, "delegated_to", json_string(name_of(p, p->agents[vm->agent].name)));
    json_object_set_new(o, "decision", json_string(st == RV_CALL ? "call" : st == RV_DENIED ? "denied" : "failed"));
    if (st == RV_CALL) {
        const rv_model *m = &p->models[vm->call.model];
        const rv_provider *pr = &p->providers[m->provider];
        json_object_set_new(o, "model", json_string(name_of(p, m->name)));
        json_object_set_new(o, "model_id", json_string(name_of(p, m->id)));
        json_object_set_new(o, "provider", json_string(name_of(p, pr->name)));
        json_object_set_new(o, "provider_kind", json_string(rv_provkind_names[pr->kind]));
    }
    if (vm->rule != RV_NONE) {
        const rv_rule *r = &p->rules[vm->rule];
        ex_loc(p, r->loc, buf, sizeof buf);
        json_t *rj = json_pack("{s:i, s:s}", "number", (json_int_t)r->number, "at", buf);
        if (r->reason != RV_NONE)
            json_object_set_new(rj, "reason", json_string(name_of(p, r->reason)));
        if (r->otherwise)
            json_object_set_new(rj, "otherwise", json_true());
        json_object_set_new(rj, "source", json_string(span_text(cache, r->loc)));
        json_object_set_new(o, "rule", rj);
    }
    static const char *const via[] = { "none", "model", "choice", "cascade", "hook", "fallback" };
    json_object_set_new(o, "strategy", json_string(vm->via == VIA_CHOICE
        ? (p->choices[vm->via_index].kind == RV_CHOOSE_CHEAPEST ? "cheapest" : "fastest") : via[vm->via]));
    json_t *ev = json_array();
    for (uint32_t i = 0; i < vm->nconds; i++) {
        ex_loc(p, vm->conds[i].loc, buf, sizeof buf);
        json_array_append_new(ev, json_pack("{s:s, s:s, s:b}", "at", buf, "condition",
                                            span_text(cache, vm->conds[i].loc), "result", vm->conds[i].result));
    }
    json_object_set_new(o, "evaluated", ev);
    /* guardrails */
    json_t *g = json_object();
    json_object_set_new(g, "redactions", json_integer(vm->redacted));
    if (st == RV_DENIED)
        json_object_set_new(g, "denied", json_pack("{s:s, s:s%}", "guardrail", name_of(p, p->guards[vm->denied_by].name),
                                                   "reason", vm->deny_reason.s, (size_t)vm->deny_reason.len));
    json_object_set_new(o, "guardrails", g);
    if (hook)
        json_object_set_new(o, "hook", hook);
    if (st == RV_CALL) {
        uint32_t m = vm->call.model;
        int64_t out = vm_expected_output(vm, m);
        int64_t in = vm_model_tokens(vm, m);
        int64_t cost = vm_call_cost(p, m, in, out);
        json_object_set_new(o, "estimate", json_pack("{s:I, s:I, s:o, s:I}", "input_tokens", (json_int_t)in,
                                                     "output_tokens", (json_int_t)out, "cost", money(cost),
                                                     "cost_picodollars", (json_int_t)cost));
        json_t *plan = json_array();
        if (vm->via == VIA_CASCADE) {
            const rv_cascade *cs = &p->cascades[vm->via_index];
            static const char *const by[] = { "logprobs", "judge", "check" };
            fmt_num(buf, sizeof buf, cs->threshold);
            json_t *c = json_pack("{s:s, s:o, s:s, s:s}", "step", "cascade", "models", models_list(p, cs->first, cs->count),
                                  "until_confidence", buf, "by", by[cs->by]);
            if (cs->by == RV_BY_JUDGE)
                json_object_set_new(c, "judge", json_string(name_of(p, p->models[cs->judge].name)));
            json_array_append_new(plan, c);
        }
        if (vm->via == VIA_CHOICE) {
            const rv_choice *ch = &p->choices[vm->via_index];
            json_array_append_new(plan, json_pack("{s:s, s:o}", "step", ch->kind == RV_CHOOSE_CHEAPEST ? "cheapest" : "fastest",
                                                  "candidates", models_list(p, ch->first, ch->count)));
        }
        const rv_agent *a = &p->agents[vm->agent];
        if (a->retry)
            json_array_append_new(plan, json_pack("{s:s, s:i}", "step", "retry", "times", (json_int_t)a->retry));
        json_t *fb = fallback_plan(p, vm->agent, vm->call.fallback);
        if (json_array_size(fb))
            json_array_append_new(plan, json_pack("{s:s, s:o}", "step", "fallback", "targets", fb));
        else
            json_decref(fb);
        json_object_set_new(o, "plan", plan);
    } else if (st == RV_FAILED) {
        json_object_set_new(o, "error", json_string(vm->error ? vm->error : "no decision"));
    }
    return o;
}
