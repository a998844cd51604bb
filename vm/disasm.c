/* The disassembler: one line per instruction, in the manner of clox's
   debug.c -- offset, source position ('|' when unchanged), opcode name and
   the operand decoded by its kind, one small helper per operand shape --
   and dis_program(), which prints a whole program: its tables, then each
   function with the policy's source line above the instructions it
   produced.  'routec dis' and the VM's trace print through here; codegen
   tests compare this text.  Values print with their units through
   vm/format.c.

   Programs are normally verified before they are printed, but every index
   is still checked here (printing '?N'), so a listing of a broken program
   shows the damage instead of crashing. */
#include <inttypes.h>
#include <string.h>

#include "disasm.h"
#include "opcodes.h"
#include "format.h"

/* ================================================================ helpers */

static int has_str(const rv_program *p, uint32_t i)
{
    return i < p->nstr && p->blob && p->str_off && p->str_len;
}

/* A quoted, escaped string; "?N" for a bad index, "none" for RV_NONE. */
static void put_str(const rv_program *p, uint32_t i, FILE *out)
{
    if (i == RV_NONE) {
        fputs("none", out);
        return;
    }
    if (!has_str(p, i)) {
        fprintf(out, "?%u", i);
        return;
    }
    const unsigned char *s = (const unsigned char *)rv_str(p, i);
    fputc('"', out);
    for (uint32_t k = 0; k < p->str_len[i]; k++) {
        unsigned c = s[k];
        switch (c) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\x%02x", c);
            else
                fputc((int)c, out);
        }
    }
    fputc('"', out);
}

/* A name from the string table, unquoted. */
static void put_name(const rv_program *p, uint32_t i, FILE *out)
{
    if (has_str(p, i))
        fputs(rv_str(p, i), out);
    else
        fprintf(out, "?%u", i);
}

static void put_model(const rv_program *p, uint32_t m, FILE *out)
{
    if (m < p->nmodel)
        put_name(p, p->models[m].name, out);
    else
        fprintf(out, "?model%u", m);
}

static void put_agent(const rv_program *p, uint32_t a, FILE *out)
{
    if (a < p->nagent)
        put_name(p, p->agents[a].name, out);
    else
        fprintf(out, "?agent%u", a);
}

static void put_guard(const rv_program *p, uint32_t g, FILE *out)
{
    if (g < p->nguard)
        put_name(p, p->guards[g].name, out);
    else
        fprintf(out, "?guardrail%u", g);
}

static void put_provider(const rv_program *p, uint32_t v, FILE *out)
{
    if (v < p->nprovider)
        put_name(p, p->providers[v].name, out);
    else
        fprintf(out, "?provider%u", v);
}

static void put_unit(int type, int64_t v, FILE *out)
{
    char b[FMT_BUF];
    fmt_value(b, sizeof b, type, v);
    fputs(b, out);
}

/* /pattern/flags */
static void put_regex(const rv_program *p, uint32_t r, FILE *out)
{
    if (r >= p->nregex) {
        fprintf(out, "?regex%u", r);
        return;
    }
    fputc('/', out);
    put_name(p, p->regexes[r].pattern, out);
    fputc('/', out);
    static const char letters[] = "imsx";
    for (unsigned b = 0; b < 4; b++)
        if (p->regexes[r].flags >> b & 1)
            fputc(letters[b], out);
}

static int in_range(uint32_t first, uint32_t count, uint32_t n)
{
    return (uint64_t)first + count <= n;
}

/* [a, b, c] of model_refs */
static void put_models(const rv_program *p, uint32_t first, uint32_t count, FILE *out)
{
    if (!in_range(first, count, p->nmodel_ref)) {
        fprintf(out, "?[%u, +%u)", first, count);
        return;
    }
    fputc('[', out);
    for (uint32_t i = 0; i < count; i++) {
        fputs(i ? ", " : "", out);
        put_model(p, p->model_refs[first + i], out);
    }
    fputc(']', out);
}

static void put_const(const rv_program *p, uint32_t k, FILE *out);

static void put_value(const rv_program *p, const rv_const *c, FILE *out)
{
    switch (c->type) {
    case RV_T_NIL:       fputs("nil", out); break;
    case RV_T_STR:       put_str(p, c->str, out); break;
    case RV_T_REGEX:     put_regex(p, c->str, out); break;
    case RV_T_MODEL:     put_model(p, (uint32_t)c->i, out); break;
    case RV_T_AGENT:     put_agent(p, (uint32_t)c->i, out); break;
    case RV_T_GUARDRAIL: put_guard(p, (uint32_t)c->i, out); break;
    case RV_T_PROVIDER:  put_provider(p, (uint32_t)c->i, out); break;
    case RV_T_LIST:
        if (!in_range(c->first, c->count, p->nitem)) {
            fprintf(out, "?[%u, +%u)", c->first, c->count);
            break;
        }
        fputc('[', out);
        for (uint32_t i = 0; i < c->count; i++) {
            uint32_t item = p->items[c->first + i];
            fputs(i ? ", " : "", out);
            if (item < p->nconst && p->consts[item].type != RV_T_LIST)
                put_value(p, &p->consts[item], out);
            else
                fprintf(out, "?const%u", item);
        }
        fputc(']', out);
        break;
    default:
        put_unit(c->type, c->i, out);
    }
}

static void put_const(const rv_program *p, uint32_t k, FILE *out)
{
    if (k >= p->nconst) {
        fprintf(out, "?const%u", k);
        return;
    }
    fprintf(out, "#%u ", k);
    put_value(p, &p->consts[k], out);
}

static const rv_loc *loc_of(const rv_program *p, uint32_t loc)
{
    return loc < p->nloc ? &p->locs[loc] : NULL;
}

static const rv_loc *pc_loc(const rv_program *p, size_t pc)
{
    return p->pc_loc && pc < p->ncode ? loc_of(p, p->pc_loc[pc]) : NULL;
}

static const rv_file *file_of(const rv_program *p, const rv_loc *l)
{
    return l && l->file < p->nfile ? &p->files[l->file] : NULL;
}

/* "file:line" of a loc index, for table listings. */
static void put_where(const rv_program *p, uint32_t loc, FILE *out)
{
    const rv_loc *l = loc_of(p, loc);
    const rv_file *f = file_of(p, l);
    if (!l) {
        fputs("?", out);
        return;
    }
    if (f)
        put_name(p, f->name, out);
    else
        fputs("?", out);
    fprintf(out, ":%u", l->line);
}

/* [timeout, rate_limited]: the classes of a failure-class mask */
static void put_classes(uint32_t mask, FILE *out)
{
    int first = 1;
    fputc('[', out);
    for (unsigned k = 1; k < 32; k++)
        if (mask >> k & 1) {
            fputs(first ? "" : ", ", out);
            first = 0;
            if (k < RV_FAIL__COUNT)
                fputs(rv_failure_names[k], out);
            else
                fprintf(out, "?class%u", k);
        }
    fputc(']', out);
}

/* The call settings a model, rule or agent states ("" when none). */
static void put_calls(int64_t timeout, int64_t backoff, uint32_t retry, uint32_t retry_on, FILE *out)
{
    if (timeout) {
        fputs("  timeout ", out);
        put_unit(RV_T_DURATION, timeout, out);
    }
    if (backoff) {
        fputs("  backoff ", out);
        put_unit(RV_T_DURATION, backoff, out);
    }
    if (retry != RV_NONE)
        fprintf(out, "  retry %u", retry);
    if (retry_on) {
        fputs("  retry_on ", out);
        put_classes(retry_on & ~RV_RETRY_STATED, out);
    }
}

/* "fallback on [classes] -> target" for entries [first, first+count). */
static void put_onfail(const rv_program *p, uint32_t first, uint32_t count, FILE *out)
{
    if (!in_range(first, count, p->ntarget)) {
        fprintf(out, "\n       fallback on ?[%u, +%u)", first, count);
        return;
    }
    for (uint32_t k = first; k < first + count; k++) {
        const rv_target *t = &p->targets[k];
        fputs("\n       fallback on ", out);
        put_classes(t->on, out);
        fputs(" -> ", out);
        if (t->is_agent)
            put_agent(p, t->index, out);
        else
            put_model(p, t->index, out);
    }
}

/* ======================================================= operand printers */

static void op_jump(const rv_program *p, size_t pc, uint32_t w, FILE *out)
{
    (void)p;
    int32_t off = INS_SARG(w);
    fprintf(out, "%+" PRId32 " -> %04lld", off, (long long)pc + 1 + off);
}

static void op_rule(const rv_program *p, uint32_t r, FILE *out)
{
    if (r >= p->nrule) {
        fprintf(out, "?rule%u", r);
        return;
    }
    const rv_rule *ru = &p->rules[r];
    fprintf(out, "%u", ru->number);
    if (ru->otherwise)
        fputs(" otherwise", out);
    if (ru->reason != RV_NONE) {
        fputc(' ', out);
        put_str(p, ru->reason, out);
    }
}

static void op_choice(const rv_program *p, uint32_t c, FILE *out)
{
    if (c >= p->nchoice) {
        fprintf(out, "?choice%u", c);
        return;
    }
    const rv_choice *ch = &p->choices[c];
    fprintf(out, "#%u %s ", c, ch->kind == RV_CHOOSE_CHEAPEST ? "cheapest"
                             : ch->kind == RV_CHOOSE_FASTEST ? "fastest" : "?");
    put_models(p, ch->first, ch->count, out);
    if (ch->where != RV_NONE)
        fprintf(out, " where fn %u", ch->where);
}

static void op_cascade(const rv_program *p, uint32_t c, FILE *out)
{
    if (c >= p->ncascade) {
        fprintf(out, "?cascade%u", c);
        return;
    }
    const rv_cascade *ca = &p->cascades[c];
    fprintf(out, "#%u ", c);
    put_models(p, ca->first, ca->count, out);
    fputs(" until ", out);
    put_unit(RV_T_NUM, ca->threshold, out);
    switch (ca->by) {
    case RV_BY_LOGPROBS: fputs(" by logprobs", out); break;
    case RV_BY_JUDGE:    fputs(" by judge ", out); put_model(p, ca->judge, out); break;
    case RV_BY_CHECK:    fprintf(out, " by check fn %u", ca->check); break;
    default:             fprintf(out, " by ?%u", ca->by);
    }
}

static void op_split(const rv_program *p, uint32_t s, FILE *out)
{
    if (s >= p->nsplit || !in_range(p->splits[s].first, p->splits[s].count, p->narm)) {
        fprintf(out, "?split%u", s);
        return;
    }
    const rv_split *sp = &p->splits[s];
    fprintf(out, "#%u ", s);
    for (uint32_t i = 0; i < sp->count; i++) {
        const rv_arm *a = &p->arms[sp->first + i];
        fputs(i ? ", " : "", out);
        put_unit(RV_T_PERCENT, a->share, out);
        fprintf(out, " -> %04u", a->target);
    }
}

static void op_hook(const rv_program *p, uint32_t h, FILE *out)
{
    if (h >= p->nhook) {
        fprintf(out, "?hook%u", h);
        return;
    }
    fprintf(out, "#%u ", h);
    put_str(p, p->hooks[h].url, out);
    fputs(" timeout ", out);
    put_unit(RV_T_DURATION, p->hooks[h].timeout, out);
}

/* JMT: #k meta."key" == "v" else -> target */
static void op_mtest(const rv_program *p, uint32_t k, FILE *out)
{
    static const char *const ops[RV_MT__COUNT] = { "==", "!=", "in", "not in", "<", "<=", ">", ">=" };
    if (k >= p->nmtest) {
        fprintf(out, "?mtest%u", k);
        return;
    }
    const rv_mtest *t = &p->mtests[k];
    if (t->key == RV_NONE) {
        fprintf(out, "#%u pop()", k);
    } else {
        fprintf(out, "#%u meta.", k);
        put_str(p, t->key, out);
    }
    fprintf(out, " %s ", t->op < RV_MT__COUNT ? ops[t->op] : "?");
    put_const(p, t->konst, out);
    fprintf(out, " else -> %04u", t->target);
}

/* DISPATCH/CHAIN: #k meta."key" (V values, C classes, E entries) end -> pc;
   DISPATCH also lists each class: its values and its rules' pcs. */
static void op_dispatch(const rv_program *p, uint32_t k, int full, FILE *out)
{
    if (k >= p->ndispatch) {
        fprintf(out, "?dispatch%u", k);
        return;
    }
    const rv_dispatch *d = &p->dispatches[k];
    fprintf(out, "#%u meta.", k);
    put_str(p, d->key, out);
    fprintf(out, " end -> %04u", d->end);
    if (!full)
        return;
    for (uint32_t c = 0; c < d->ccount && d->cfirst + c < p->ndclass; c++) {
        const rv_dclass *dc = &p->dclasses[d->cfirst + c];
        fprintf(out, "\n                   class %u", c);
        if (c == 0)
            fputs(" (other)", out);
        for (uint32_t v = d->vfirst; v < d->vfirst + d->vcount && v < p->ndvalue; v++)
            if (p->dvalues[v].cls == c) {
                fputc(' ', out);
                put_str(p, p->dvalues[v].value, out);
            }
        fputs(" ->", out);
        for (uint32_t i = dc->first; i < dc->first + dc->count && i < p->ndpc; i++)
            fprintf(out, " %04u", p->dpcs[i]);
    }
}

static void field_name(const rv_fieldinfo *t, uint32_t n, uint32_t k,
                       const char *prefix, FILE *out)
{
    if (k < n)
        fprintf(out, "%s%s", prefix, t[k].name);
    else
        fprintf(out, "?field%u", k);
}

static void operand(const rv_program *p, size_t pc, uint32_t w, FILE *out)
{
    uint32_t k = INS_ARG(w);
    switch (rv_ops[INS_OP(w)].kind) {
    case A_NONE:      break;
    case A_CONST:     put_const(p, k, out); break;
    case A_BOOL:      fputs(k == 0 ? "false" : k == 1 ? "true" : "?", out); break;
    case A_REQFIELD:  field_name(rv_reqfields, RV_REQ__COUNT, k, "", out); break;
    case A_CANDFIELD: field_name(rv_candfields, RV_CAND__COUNT, k, "", out); break;
    case A_RESPFIELD: field_name(rv_respfields, RV_RESP__COUNT, k, "response.", out); break;
    case A_DECFIELD:  field_name(rv_decfields, RV_DEC__COUNT, k, "", out); break;
    case A_STR:       put_str(p, k, out); break;
    case A_CAP:       fputs(k < RV_CAP__COUNT ? rv_cap_names[k] : "?", out); break;
    case A_REGEX:     put_regex(p, k, out); break;
    case A_BUILTIN:
        if (k < RV_BI__COUNT)
            fprintf(out, "%s/%d", rv_builtins[k].name, rv_builtins[k].arity);
        else
            fprintf(out, "?builtin%u", k);
        break;
    case A_JUMP:      op_jump(p, pc, w, out); break;
    case A_RULE:      op_rule(p, k, out); break;
    case A_MODEL:     put_model(p, k, out); break;
    case A_AGENT:     put_agent(p, k, out); break;
    case A_CHOICE:    op_choice(p, k, out); break;
    case A_CASCADE:   op_cascade(p, k, out); break;
    case A_SPLIT:     op_split(p, k, out); break;
    case A_HOOK:      op_hook(p, k, out); break;
    case A_MTEST:     op_mtest(p, k, out); break;
    case A_DISPATCH:  op_dispatch(p, k, INS_OP(w) == OP_DISPATCH, out); break;
    }
}

/* ============================================================ instructions */

static int same_line(const rv_loc *a, const rv_loc *b)
{
    return a && b && a->file == b->file && a->line == b->line;
}

size_t dis_instr(const rv_program *p, size_t pc, FILE *out)
{
    char where[64];
    const rv_loc *l = pc_loc(p, pc);
    if (pc >= p->ncode) {
        fprintf(out, "%04zu  (end of code)\n", pc);
        return pc + 1;
    }
    if (pc > 0 && same_line(l, pc_loc(p, pc - 1))) {
        snprintf(where, sizeof where, "|");
    } else if (l) {             /* the file's last path component keeps the column narrow */
        const rv_file *f = file_of(p, l);
        const char *name = f && has_str(p, f->name) ? rv_str(p, f->name) : "?";
        const char *slash = strrchr(name, '/');
        snprintf(where, sizeof where, "%.48s:%u", slash && slash[1] ? slash + 1 : name,
                 l->line);
    } else {
        snprintf(where, sizeof where, "?");
    }
    uint32_t w = p->code[pc];
    fprintf(out, "%04zu %20s  ", pc, where);
    if (INS_OP(w) >= OP__COUNT) {
        fprintf(out, "?op%u %u\n", (unsigned)INS_OP(w), INS_ARG(w));
        return pc + 1;
    }
    if (rv_ops[INS_OP(w)].kind == A_NONE) {
        fputs(rv_ops[INS_OP(w)].name, out);
    } else {
        fprintf(out, "%-9s ", rv_ops[INS_OP(w)].name);
        operand(p, pc, w, out);
    }
    fputc('\n', out);
    return pc + 1;
}

/* ================================================================= tables */

static void list_providers(const rv_program *p, FILE *out)
{
    fprintf(out, "providers (%u)\n", p->nprovider);
    for (uint32_t i = 0; i < p->nprovider; i++) {
        const rv_provider *v = &p->providers[i];
        fprintf(out, "  %u  ", i);
        put_name(p, v->name, out);
        fprintf(out, "  %s", v->kind < RV_PROV__COUNT ? rv_provkind_names[v->kind] : "?");
        if (v->endpoint != RV_NONE) { fputs("  endpoint ", out); put_str(p, v->endpoint, out); }
        if (v->region != RV_NONE)   { fputs("  region ", out); put_str(p, v->region, out); }
        if (v->key_env != RV_NONE)  { fputs("  key env ", out); put_str(p, v->key_env, out); }
        fputc('\n', out);
    }
}

/* A model's call settings, limits and parameters, on a line of their own
   when it states any. */
static void list_model_calls(const rv_program *p, const rv_model *m, FILE *out)
{
    if (!m->timeout && !m->backoff && m->retry == RV_NONE && !m->retry_on && !m->rpm && !m->tpm &&
        !m->max_tokens && !m->params_set && m->stop == RV_NONE && !m->onfail_count)
        return;
    fputs("\n     ", out);
    put_calls(m->timeout, m->backoff, m->retry, m->retry_on, out);
    if (m->rpm)
        fprintf(out, "  rpm %lld", (long long)m->rpm);
    if (m->tpm) {
        fputs("  tpm ", out);
        put_unit(RV_T_TOKENS, m->tpm, out);
    }
    if (m->max_tokens) {
        fputs("  max_tokens ", out);
        put_unit(RV_T_TOKENS, m->max_tokens, out);
    }
    for (int k = 0; k < RV_PARAM__COUNT; k++)
        if (m->params_set >> k & 1) {
            fprintf(out, "  %s ", rv_params[k].name);
            put_unit(rv_params[k].type, m->params[k], out);
        }
    if (m->stop != RV_NONE) {
        fputs("  stop ", out);
        if (m->stop < p->nconst)
            put_value(p, &p->consts[m->stop], out);
        else
            fprintf(out, "?const%u", m->stop);
    }
    put_onfail(p, m->onfail_first, m->onfail_count, out);
}

static void list_models(const rv_program *p, FILE *out)
{
    fprintf(out, "models (%u)\n", p->nmodel);
    for (uint32_t i = 0; i < p->nmodel; i++) {
        const rv_model *m = &p->models[i];
        fprintf(out, "  %u  ", i);
        put_name(p, m->name, out);
        fputs(" from ", out);
        put_provider(p, m->provider, out);
        fputs("  id ", out);
        put_str(p, m->id, out);
        fputs("\n       price in ", out);
        put_unit(RV_T_RATE, m->price_in, out);
        fputs(", out ", out);
        put_unit(RV_T_RATE, m->price_out, out);
        static const char *const classes[3] = { "cached", "cache_write", "reasoning" };
        const int64_t prices[3] = { m->price_cached, m->price_cache_write, m->price_reasoning };
        for (int k = 0; k < 3; k++)
            if (prices[k] >= 0) {
                fprintf(out, ", %s ", classes[k]);
                put_unit(RV_T_RATE, prices[k], out);
            }
        fputs("  context ", out);
        put_unit(RV_T_TOKENS, m->context, out);
        if (m->max_output) {
            fputs("  max output ", out);
            put_unit(RV_T_TOKENS, m->max_output, out);
        }
        if (m->latency) {
            fputs("  latency ", out);
            put_unit(RV_T_DURATION, m->latency, out);
        }
        fprintf(out, "  tier %u  caps", m->tier);
        for (unsigned c = 0; c < 32; c++)
            if (m->caps >> c & 1)
                fprintf(out, " %s", c < RV_CAP__COUNT ? rv_cap_names[c] : "?");
        if (m->tags != RV_NONE) {
            fputs("  tags ", out);
            if (m->tags < p->nconst)
                put_value(p, &p->consts[m->tags], out);
            else
                fprintf(out, "?const%u", m->tags);
        }
        if (m->system != RV_NONE) {
            fputs("\n       system ", out);
            put_str(p, m->system, out);
        }
        list_model_calls(p, m, out);
        fputc('\n', out);
    }
}

static void list_guards(const rv_program *p, FILE *out)
{
    static const char *const kinds[RV_GA__COUNT] = { "deny", "redact", "limit" };
    static const char *const dirs[RV_DIR__COUNT] = { "input", "output" };
    fprintf(out, "guardrails (%u)\n", p->nguard);
    for (uint32_t i = 0; i < p->nguard; i++) {
        const rv_guardrail *g = &p->guards[i];
        fprintf(out, "  %u  ", i);
        put_name(p, g->name, out);
        fputc('\n', out);
        if (!in_range(g->first, g->count, p->ngaction))
            continue;
        for (uint32_t k = g->first; k < g->first + g->count; k++) {
            const rv_gaction *a = &p->gactions[k];
            fprintf(out, "       %-6s %-6s ", a->kind < RV_GA__COUNT ? kinds[a->kind] : "?",
                    a->dir < RV_DIR__COUNT ? dirs[a->dir] : "?");
            if (a->kind == RV_GA_LIMIT) {
                put_unit(RV_T_TOKENS, a->limit, out);
            } else {
                fputs("matches ", out);
                put_regex(p, a->regex, out);
                fputs(a->kind == RV_GA_REDACT ? " with " : " ", out);
                put_str(p, a->text, out);
            }
            fputc('\n', out);
        }
    }
}

static void list_agents(const rv_program *p, FILE *out)
{
    fprintf(out, "agents (%u)\n", p->nagent);
    for (uint32_t i = 0; i < p->nagent; i++) {
        const rv_agent *a = &p->agents[i];
        fprintf(out, "  %u  ", i);
        put_name(p, a->name, out);
        fprintf(out, "  route fn %u  (", a->func);
        put_where(p, a->loc, out);
        fputs(")\n       guard [", out);
        for (uint32_t k = 0; in_range(a->guard_first, a->guard_count, p->nguard_ref) &&
                             k < a->guard_count; k++) {
            fputs(k ? ", " : "", out);
            put_guard(p, p->guard_refs[a->guard_first + k], out);
        }
        fputs("]  budget ", out);
        put_unit(RV_T_MONEY, a->budget_request, out);
        fputs(" per request, ", out);
        put_unit(RV_T_MONEY, a->budget_day, out);
        fputs(" per day  worst case ", out);
        if (a->worst_cost == RV_COST_UNBOUNDED)
            fputs("unbounded", out);
        else
            put_unit(RV_T_MONEY, a->worst_cost, out);
        fputs("\n       fallback [", out);
        for (uint32_t k = 0; in_range(a->fallback_first, a->fallback_count, p->ntarget) &&
                             k < a->fallback_count; k++) {
            const rv_target *t = &p->targets[a->fallback_first + k];
            fputs(k ? ", " : "", out);
            if (t->is_agent)
                put_agent(p, t->index, out);
            else
                put_model(p, t->index, out);
        }
        fprintf(out, "]  retry %u  backoff ", a->retry);
        put_unit(RV_T_DURATION, a->backoff, out);
        fputs("  timeout ", out);
        put_unit(RV_T_DURATION, a->timeout, out);
        if (a->retry_on) {
            fputs("  retry_on ", out);
            put_classes(a->retry_on & ~RV_RETRY_STATED, out);
        }
        put_onfail(p, a->onfail_first, a->onfail_count, out);
        fputc('\n', out);
        for (uint32_t r = a->rule_first; in_range(a->rule_first, a->rule_count, p->nrule) &&
                                         r < a->rule_first + a->rule_count; r++) {
            const rv_rule *ru = &p->rules[r];
            fputs("       rule ", out);
            op_rule(p, r, out);
            fputs("  (", out);
            put_where(p, ru->loc, out);
            fputc(')', out);
            put_calls(ru->timeout, ru->backoff, ru->retry, ru->retry_on, out);
            fputc('\n', out);
        }
    }
}

static void list_consts(const rv_program *p, FILE *out)
{
    fprintf(out, "constants (%u)\n", p->nconst);
    for (uint32_t i = 0; i < p->nconst; i++) {
        const rv_const *c = &p->consts[i];
        fprintf(out, "  #%-3u %-9s ", i, c->type < RV_T__COUNT ? rv_type_names[c->type] : "?");
        put_value(p, c, out);
        fputc('\n', out);
    }
}

static void list_tests(const rv_program *p, FILE *out)
{
    fprintf(out, "tests (%u)\n", p->ntest);
    for (uint32_t i = 0; i < p->ntest; i++) {
        const rv_test *t = &p->tests[i];
        fprintf(out, "  %u  ", i);
        put_str(p, t->name, out);
        fputs("  agent ", out);
        put_agent(p, t->agent, out);
        if (t->expect_count == 1)
            fprintf(out, "  expect fn %u  (", t->expect);
        else
            fprintf(out, "  expect fns [%u, +%u)  (", t->expect, t->expect_count);
        put_where(p, t->loc, out);
        fputs(")\n       request ", out);
        put_str(p, t->request, out);
        fputc('\n', out);
        for (uint32_t g = t->given_first; in_range(t->given_first, t->given_count, p->ngiven) &&
                                          g < t->given_first + t->given_count; g++) {
            const rv_given *gv = &p->givens[g];
            fputs("       given ", out);
            put_model(p, gv->model, out);
            switch (gv->kind) {
            case RV_GIVEN_ANSWER:
                fputs(" answers ", out);
                put_str(p, gv->text, out);
                if (gv->confidence != -1) {
                    fputs(" confidence ", out);
                    put_unit(RV_T_NUM, gv->confidence, out);
                }
                break;
            case RV_GIVEN_FAIL:
                fputs(" fails ", out);
                put_str(p, gv->text, out);
                break;
            case RV_GIVEN_HOOK:
                fputs(" answered by hook ", out);
                if (gv->hook == RV_NONE)
                    fputs("any", out);
                else
                    fprintf(out, "#%u", gv->hook);
                break;
            default:
                fprintf(out, " ?kind%u", gv->kind);
            }
            fputc('\n', out);
        }
    }
}

/* ============================================================== functions */

/* What a function is for: the agent, choice, cascade or test using it. */
static void func_title(const rv_program *p, uint32_t fi, FILE *out)
{
    const rv_func *f = &p->funcs[fi];
    switch (f->kind) {
    case RV_FN_ROUTE:
        fputs("route", out);
        for (uint32_t a = 0; a < p->nagent; a++)
            if (p->agents[a].func == fi) {
                fputc(' ', out);
                put_name(p, p->agents[a].name, out);
            }
        break;
    case RV_FN_WHERE:
        fputs("where", out);
        for (uint32_t c = 0; c < p->nchoice; c++)
            if (p->choices[c].where == fi)
                fprintf(out, " (choice #%u)", c);
        break;
    case RV_FN_CHECK:
        fputs("check", out);
        for (uint32_t c = 0; c < p->ncascade; c++)
            if (p->cascades[c].check == fi)
                fprintf(out, " (cascade #%u)", c);
        break;
    case RV_FN_EXPECT:
        fputs("expect", out);
        for (uint32_t t = 0; t < p->ntest; t++)
            if (fi >= p->tests[t].expect && fi - p->tests[t].expect < p->tests[t].expect_count) {
                fputs(" (test ", out);
                put_str(p, p->tests[t].name, out);
                fputc(')', out);
            }
        break;
    default:
        fprintf(out, "?kind%u", f->kind);
    }
}

/* Prints line 'line' of 'f''s embedded text, if it has one. */
static void put_source_line(const rv_program *p, const rv_file *f, uint32_t line,
                            FILE *out)
{
    if (!f || !has_str(p, f->text) || line == 0)
        return;
    const char *s = rv_str(p, f->text), *end = s + p->str_len[f->text];
    for (uint32_t n = 1; n < line && s < end; n++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    if (s >= end)
        return;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    int len = (int)((nl ? nl : end) - s);
    fprintf(out, "%23u | %.*s\n", line, len, s);   /* '|' under dis_instr's */
}

static void list_function(const rv_program *p, uint32_t fi, FILE *out)
{
    const rv_func *f = &p->funcs[fi];
    fprintf(out, "\n== fn %u  ", fi);
    func_title(p, fi, out);
    fprintf(out, "  [%u, %u) ==\n", f->start, f->end);
    if (f->start >= f->end || f->end > p->ncode)
        return;
    for (size_t pc = f->start; pc < f->end; pc++) {
        const rv_loc *l = pc_loc(p, pc);
        if (l && (pc == f->start || !same_line(l, pc_loc(p, pc - 1))))
            put_source_line(p, file_of(p, l), l->line, out);
        dis_instr(p, pc, out);
    }
}

void dis_program(const rv_program *p, FILE *out)
{
    fprintf(out, "; routevm program: %u strings, %u constants, %u regexes, "
            "%u functions, %u instructions, max stack %u\n",
            p->nstr, p->nconst, p->nregex, p->nfunc, p->ncode, p->max_stack);
    for (uint32_t i = 0; i < p->nfile; i++) {
        fputs("; file ", out);
        put_name(p, p->files[i].name, out);
        fputc('\n', out);
    }
    fputc('\n', out);
    list_providers(p, out);
    list_models(p, out);
    list_guards(p, out);
    list_agents(p, out);
    list_consts(p, out);
    list_tests(p, out);
    for (uint32_t i = 0; i < p->nfunc; i++)
        list_function(p, i, out);
}
