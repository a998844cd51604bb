/* The interpreter and the decision state machine; see vm.h.

   exec() runs one function from a pc until it decides, suspends or
   returns.  One switch behind three macros (vmdispatch/vmcase/vmbreak, as
   in Lua) so computed goto can replace it without touching the bodies.
   What the verifier proved -- operands in range, jumps inside the
   function, stack depths -- is asserted here, not checked again.

   The state machine around it (vm_start, vm_resume) turns route decisions
   into model calls: retries, fallbacks, cascade steps and judge calls,
   output guardrails, cost. */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <assert.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "guard.h"
#include "litset.h"
#include "mem.h"
#include "opcodes.h"
#include "verify.h"
#include "vm.h"

#define SCRATCH 2048
#define MAX_ATTEMPTS 64      /* calls per request, whatever the policy says */

/* ---------------------------------------------------------------- image */

static rv_value const_value(const rv_program *p, uint32_t k);

int vm_image_init(rv_image *img, const rv_program *p, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    img->p = p;
    img->re = mem_calloc(p->nregex + 1, sizeof *img->re);
    img->lits = mem_calloc(p->nregex + 1, sizeof *img->lits);
    if (!img->re || !img->lits) {
        free(img->re);
        free(img->lits);
        img->re = NULL;
        img->lits = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    img->max_match = 1;
    for (uint32_t i = 0; i < p->nregex; i++) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                       ver_pcre2_options(p->regexes[i].flags), &code, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            snprintf(err, errlen, "regex %u: %s", i, (char *)msg);
            vm_image_free(img);
            return -1;
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter where unsupported */
        uint32_t cap = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &cap);
        if (cap + 1 > img->max_match)
            img->max_match = cap + 1;
        img->re[i] = re;
        img->lits[i] = ls_compile(rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                  p->regexes[i].flags);
    }
    img->kval = mem_malloc((p->nconst + 1) * sizeof *img->kval);
    if (!img->kval) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    for (uint32_t k = 0; k < p->nconst; k++)
        img->kval[k] = const_value(p, k);
    /* a slot for every metadata key the code reads */
    img->meta_slot = mem_malloc((p->nstr + 1) * sizeof *img->meta_slot);
    if (!img->meta_slot) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    memset(img->meta_slot, 0xff, (p->nstr + 1) * sizeof *img->meta_slot);
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        uint32_t w = p->code[pc], key = INS_OP(w) == OP_LDMETA ? INS_ARG(w)
                     : INS_OP(w) == OP_JMT ? p->mtests[INS_ARG(w)].key : RV_NONE;
        if (key != RV_NONE && img->meta_slot[key] == RV_NONE)
            img->meta_slot[key] = img->nmeta_slot++;
    }
    return 0;
}

void vm_image_free(rv_image *img)
{
    if (img->re)
        for (uint32_t i = 0; i < img->p->nregex; i++) {
            pcre2_code_free(img->re[i]);
            ls_free(img->lits[i]);
        }
    free(img->re);
    free(img->lits);
    free(img->meta_slot);
    free(img->kval);
    img->kval = NULL;
    img->re = NULL;
    img->lits = NULL;
    img->meta_slot = NULL;
}

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

/* ---------------------------------------------------------------- values */

static int truthy(const rv_value *v) { return v->t == RV_T_BOOL && v->u.i; }

static rv_value const_value(const rv_program *p, uint32_t k)
{
    const rv_const *c = &p->consts[k];
    rv_value v = { .t = c->type };
    switch (c->type) {
    case RV_T_STR:
        v.u.s = rv_str(p, c->str);
        v.n = p->str_len[c->str];
        break;
    case RV_T_LIST:
        v.lk = 0;
        v.u.k = p->items + c->first;
        v.n = c->count;
        break;
    case RV_T_REGEX:
        v.u.i = c->str;
        break;
    default:
        v.u.i = c->i;
        break;
    }
    return v;
}

static inline int str_equal(const char *x, const char *y, uint32_t n)
{
    if (n > 16)
        return !memcmp(x, y, n);
    for (uint32_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

static inline int values_equal(const rv_value *a, const rv_value *b)
{
    if (a->t == RV_T_STR && b->t == RV_T_STR)
        return a->n == b->n && str_equal(a->u.s, b->u.s, a->n);
    if (a->t == RV_T_NIL || b->t == RV_T_NIL)
        return 0;
    if (arith_numeric(a->t) && arith_numeric(b->t))
        return arith_comparable(a->t, b->t) && arith_cmp(a->t, a->u.i, b->t, b->u.i) == 0;
    if (a->t != b->t)
        return 0;
    return a->u.i == b->u.i;
}

/* Item 'i' of a list value. */
static rv_value list_item(const rv_program *p, const rv_value *l, uint32_t i)
{
    if (l->lk == 0)
        return const_value(p, l->u.k[i]);   /* (exec's INK reads the image's values) */
    rv_value v = { .t = RV_T_STR, .n = l->u.v[i].len, .u.s = l->u.v[i].s };
    return v;
}

static int in_list(const rv_program *p, const rv_value *x, const rv_value *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        rv_value it = list_item(p, l, i);
        if (values_equal(x, &it))
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- builtins */

static int64_t text_tokens(const rv_program *p, const rv_value *v)
{
    if (v->t == RV_T_STR)
        return bi_tokens(v->u.s, v->n);
    int64_t t = 0;
    for (uint32_t i = 0; v->t == RV_T_LIST && i < v->n; i++) {
        rv_value it = list_item(p, v, i);
        if (it.t == RV_T_STR)
            t += bi_tokens(it.u.s, it.n);
    }
    return t;
}

static void ascii_case(rv_vm *vm, rv_value *v, int upper)
{
    char *d = vm_scratch(vm, v->n + 1);
    if (!d) {
        v->t = RV_T_NIL;
        return;
    }
    for (uint32_t i = 0; i < v->n; i++) {
        unsigned char ch = (unsigned char)v->u.s[i];
        d[i] = (char)(upper ? (ch >= 'a' && ch <= 'z' ? ch - 32 : ch) : (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
    }
    d[v->n] = 0;
    v->u.s = d;
}

static int has_substr(const rv_value *h, const rv_value *n)
{
    if (n->n == 0)
        return 1;
    return h->n >= n->n && memmem(h->u.s, h->n, n->u.s, n->n) != NULL;
}

/* Call builtin 'b' on args[0..arity); the result replaces args[0]. */
static void call_builtin(rv_vm *vm, rv_builtin b, rv_value *args)
{
    const rv_program *p = vm->img->p;
    rv_value *a = &args[0], *x = &args[1];
    rv_value r = { .t = rv_builtins[b].ret };
    switch (b) {
    case RV_BI_tokens:
        r.u.i = text_tokens(p, a);
        break;
    case RV_BI_lang: {
        if (a->u.s != vm->lang_text || a->n != vm->lang_len) {
            if (vm->lang)
                bi_lang(vm->lang, a->u.s, a->n, vm->lang_cache);
            else
                vm->lang_cache[0] = 0;
            vm->lang_text = a->u.s;
            vm->lang_len = a->n;
        }
        size_t n = strlen(vm->lang_cache);
        r.u.s = vm->lang_cache;
        r.n = (uint32_t)n;
        break;
    }
    case RV_BI_contains:
        if (a->t == RV_T_LIST)
            r.u.i = x->t == RV_T_STR && in_list(p, x, a);
        else
            r.u.i = a->t == RV_T_STR && x->t == RV_T_STR && has_substr(a, x);
        break;
    case RV_BI_lower:
    case RV_BI_upper:
        r = *a;
        if (r.t == RV_T_STR)
            ascii_case(vm, &r, b == RV_BI_upper);
        break;
    case RV_BI_len:
        r.u.i = a->t == RV_T_LIST ? a->n : a->t == RV_T_STR ? bi_len(a->u.s, a->n) : 0;
        break;
    case RV_BI_startswith:
        r.u.i = a->t == RV_T_STR && x->t == RV_T_STR && a->n >= x->n && !memcmp(a->u.s, x->u.s, x->n);
        break;
    case RV_BI_endswith:
        r.u.i = a->t == RV_T_STR && x->t == RV_T_STR && a->n >= x->n && !memcmp(a->u.s + a->n - x->n, x->u.s, x->n);
        break;
    case RV_BI_bucket:
        r.u.i = a->t == RV_T_STR ? bi_bucket(a->u.s, a->n) : 0;
        break;
    case RV_BI_bytes:
        r.u.i = a->t == RV_T_STR ? a->n : 0;
        break;
    default:
        r.t = RV_T_NIL;
        break;
    }
    if (a->t == RV_T_NIL && b != RV_BI_len)
        r.t = r.t == RV_T_BOOL ? RV_T_BOOL : RV_T_NIL;
    *a = r;
}

/* ---------------------------------------------------------------- fields */

static rv_value req_field(rv_vm *vm, uint32_t f)
{
    const rv_request *r = vm->req;
    rv_value v = { .t = rv_reqfields[f].type };
    switch (f) {
    case RV_REQ_INPUT: v.u.s = r->input.s; v.n = r->input.len; break;
    case RV_REQ_SYSTEM: v.u.s = r->system.s; v.n = r->system.len; break;
    case RV_REQ_USER: v.u.s = r->user.s; v.n = r->user.len; break;
    case RV_REQ_MESSAGES: v.lk = 1; v.u.v = r->texts; v.n = r->nmsg; break;
    case RV_REQ_TOOLS: v.lk = 1; v.u.v = r->tools; v.n = r->ntool; break;
    case RV_REQ_IMAGES: v.u.i = r->images; break;
    case RV_REQ_TURNS: v.u.i = r->turns; break;
    case RV_REQ_STREAM: v.u.i = r->stream; break;
    case RV_REQ_MAXTOK: v.u.i = r->max_tokens; break;
    }
    return v;
}

/* Context of a WHERE, CHECK or EXPECT function. */
typedef struct {
    uint32_t cand;              /* WHERE: candidate model */
    const rv_outcome *resp;     /* CHECK: the answer */
} fn_ctx;

static rv_value cand_field(const rv_program *p, uint32_t m, uint32_t f)
{
    const rv_model *md = &p->models[m];
    rv_value v = { .t = rv_candfields[f].type };
    switch (f) {
    case RV_CAND_CONTEXT: v.u.i = md->context; break;
    case RV_CAND_TIER: v.u.i = md->tier; break;
    case RV_CAND_LATENCY: v.u.i = md->latency; break;
    case RV_CAND_PRICE_IN: v.u.i = md->price_in; break;
    case RV_CAND_PRICE_OUT: v.u.i = md->price_out; break;
    case RV_CAND_MAX_OUTPUT: v.u.i = md->max_output; break;
    }
    return v;
}

static rv_value resp_field(rv_vm *vm, const rv_outcome *o, uint32_t f)
{
    rv_value v = { .t = rv_respfields[f].type };
    switch (f) {
    case RV_RESP_TEXT: v.u.s = o->text.s ? o->text.s : ""; v.n = o->text.len; break;
    case RV_RESP_FINISH: v.u.s = o->finish.s ? o->finish.s : ""; v.n = o->finish.len; break;
    case RV_RESP_LOGPROB: v.u.i = o->logprob; break;
    case RV_RESP_TOOL_CALLS: v.u.i = o->tool_calls; break;
    case RV_RESP_OUT_TOKENS: v.u.i = o->out_tokens >= 0 ? o->out_tokens : bi_tokens(o->text.s, o->text.len); break;
    }
    (void)vm;
    return v;
}

static rv_value dec_field(rv_vm *vm, uint32_t f)
{
    const rv_program *p = vm->img->p;
    rv_value v = { .t = rv_decfields[f].type };
    int answered = vm->model != RV_NONE && vm->denied_by == RV_NONE;
    switch (f) {
    case RV_DEC_MODEL: v.u.i = vm->model; if (!answered && vm->model == RV_NONE) v.t = RV_T_NIL; break;
    case RV_DEC_RULE: v.u.i = vm->rule != RV_NONE ? p->rules[vm->rule].number : 0; break;
    case RV_DEC_REASON:
        v.u.s = vm->rule != RV_NONE ? rv_str(p, p->rules[vm->rule].reason) : "";
        v.n = vm->rule != RV_NONE && p->rules[vm->rule].reason != RV_NONE ? p->str_len[p->rules[vm->rule].reason] : 0;
        break;
    case RV_DEC_AGENT: v.u.i = vm->agent; break;
    case RV_DEC_PROVIDER:
        if (vm->model == RV_NONE) v.t = RV_T_NIL;
        else v.u.i = p->models[vm->model].provider;
        break;
    case RV_DEC_DENIED: v.u.i = vm->denied_by != RV_NONE; break;
    case RV_DEC_DENIED_BY: if (vm->denied_by == RV_NONE) v.t = RV_T_NIL; else v.u.i = vm->denied_by; break;
    case RV_DEC_REDACTED: v.u.i = vm->redacted; break;
    case RV_DEC_COST: v.u.i = vm->cost; break;
    case RV_DEC_ATTEMPTS: v.u.i = vm->attempts; break;
    }
    return v;
}

/* ---------------------------------------------------------------- the loop */

typedef enum {
    EX_RET,         /* a WHERE/CHECK/EXPECT function returned (value in *ret) */
    EX_DECIDE,      /* route chose model vm->call.model */
    EX_CASCADE,     /* route chose cascade 'arg' */
    EX_CHOOSE,      /* route chose choice set 'arg' */
    EX_DELEGATE,    /* route continues in agent 'arg' */
    EX_HOOK,        /* route asks hook 'arg'; resume at vm->pc */
    EX_FAIL         /* route failed: message in vm->error */
} ex_result;

/* Record an evaluated routing condition (explain) and its outcome
   (coverage), when asked to. */
static inline void trace_cond(rv_vm *vm, uint32_t pc, int result)
{
    if (vm->conds && vm->nconds < vm->max_conds) {
        rv_cond *c = &vm->conds[vm->nconds++];
        c->pc = pc;
        c->loc = vm->img->p->pc_loc[pc];
        c->result = (uint8_t)result;
    }
    if (vm->cover)
        vm->cover[pc] |= result ? 1u : 2u;
}

/* With GCC and clang each opcode body jumps straight to the next one's
   (computed goto); elsewhere it is a plain switch in a loop.  The bodies
   are the same either way. */
#if defined(__GNUC__) && !defined(RV_NO_COMPUTED_GOTO)
#define vmdispatch(o) goto *dispatch[o];
#define vmcase(l) L_##l:
#define vmbreak do { w = code[pc++]; goto *dispatch[INS_OP(w)]; } while (0)
#define vmdefault L_invalid: __attribute__((unused));
#else
#define vmdispatch(o) switch (o)
#define vmcase(l) case l:
#define vmbreak break
#define vmdefault default:
#endif

static ex_result exec(rv_vm *vm, uint32_t pc, const fn_ctx *ctx, rv_value *ret, uint32_t *arg)
{
    const rv_program *p = vm->img->p;
    const uint32_t *code = p->code;
    rv_value *stack = vm->stack, *top = stack;   /* 'top' points past the last value */
#define PUSH(v) (*top++ = (v))
#define POPV() (*--top)
#define TOP() (top[-1])
#define A INS_ARG(w)
#if defined(__GNUC__) && !defined(RV_NO_COMPUTED_GOTO)
    static const void *const dispatch[OP__COUNT] = {
#define OP(name, kind, pop, push, doc) &&L_OP_##name,
#include "opcodes.def"
#undef OP
    };
#endif
    const rv_value *kval = vm->img->kval;
    for (;;) {
        uint32_t w = code[pc++];
        vmdispatch(INS_OP(w)) {
        vmcase(OP_PUSHK) { PUSH(kval[A]); vmbreak; }
        vmcase(OP_PUSHB) { rv_value v = { .t = RV_T_BOOL, .u.i = A }; PUSH(v); vmbreak; }
        vmcase(OP_LDREQ) { PUSH(req_field(vm, A)); vmbreak; }
        vmcase(OP_LDMETA) {
            uint32_t slot = vm->img->meta_slot[A];
            if (vm->meta_gen[slot] != vm->gen) {
                vm->meta_val[slot] = req_meta(vm->req, rv_str(p, A), p->str_len[A]);
                vm->meta_gen[slot] = vm->gen;
            }
            const rv_sv *m = vm->meta_val[slot];
            rv_value v = { .t = m ? RV_T_STR : RV_T_NIL };
            if (m) { v.u.s = m->s; v.n = m->len; }
            PUSH(v);
            vmbreak;
        }
        vmcase(OP_LDCAND) { PUSH(cand_field(p, ctx->cand, A)); vmbreak; }
        vmcase(OP_CANDCAP) {
            rv_value v = { .t = RV_T_BOOL, .u.i = (p->models[ctx->cand].caps >> A) & 1 };
            PUSH(v);
            vmbreak;
        }
        vmcase(OP_LDRESP) { PUSH(resp_field(vm, ctx->resp, A)); vmbreak; }
        vmcase(OP_LDDEC) { PUSH(dec_field(vm, A)); vmbreak; }
        vmcase(OP_POP) { top--; vmbreak; }
        vmcase(OP_NOT) { TOP().u.i = !truthy(&TOP()); TOP().t = RV_T_BOOL; vmbreak; }
        vmcase(OP_NEG) { if (TOP().t != RV_T_NIL) TOP().u.i = -TOP().u.i; vmbreak; }
        vmcase(OP_ADD) vmcase(OP_SUB) vmcase(OP_MUL) vmcase(OP_DIV) {
            rv_value b = POPV(), *a = &TOP();
            arith_op op = (arith_op)(INS_OP(w) - OP_ADD);
            rv_type t = arith_type(op, a->t, b.t);
            int64_t r;
            if (t == RV_T_NIL || arith_eval(op, a->t, a->u.i, b.t, b.u.i, &r)) {
                a->t = RV_T_NIL;    /* overflow, division by zero, a missing value */
            } else {
                a->t = t;
                a->u.i = r;
            }
            vmbreak;
        }
        vmcase(OP_EQ) vmcase(OP_NE) {
            rv_value b = POPV(), *a = &TOP();
            int eq = values_equal(a, &b);
            int nil = a->t == RV_T_NIL || b.t == RV_T_NIL;
            a->u.i = INS_OP(w) == OP_EQ ? eq : (nil || !eq);
            a->t = RV_T_BOOL;
            vmbreak;
        }
        vmcase(OP_EQK) vmcase(OP_NEK) {
            rv_value *a = &TOP();
            int eq = values_equal(a, &kval[A]);
            a->u.i = INS_OP(w) == OP_EQK ? eq : (a->t == RV_T_NIL || !eq);
            a->t = RV_T_BOOL;
            vmbreak;
        }
        vmcase(OP_LT) vmcase(OP_LE) vmcase(OP_GT) vmcase(OP_GE) {
            rv_value b = POPV(), *a = &TOP();
            int r = 0;
            if (arith_numeric(a->t) && arith_numeric(b.t) && arith_comparable(a->t, b.t)) {
                int c = arith_cmp(a->t, a->u.i, b.t, b.u.i);
                rv_opcode op = INS_OP(w);
                r = op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0;
            }
            a->t = RV_T_BOOL;
            a->u.i = r;
            vmbreak;
        }
        vmcase(OP_INK) {
            const rv_value *l = &kval[A];
            rv_value *x = &TOP();
            int r = 0;
            for (uint32_t i = 0; i < l->n && !r; i++)
                r = values_equal(x, &kval[l->u.k[i]]);
            x->t = RV_T_BOOL;
            x->u.i = r;
            vmbreak;
        }
        vmcase(OP_INL) {
            rv_value l = POPV(), *x = &TOP();
            int r = l.t == RV_T_LIST && in_list(p, x, &l);
            x->t = RV_T_BOOL;
            x->u.i = r;
            vmbreak;
        }
        vmcase(OP_MATCH) {
            rv_value *x = &TOP();
            int r = 0;
            if (x->t == RV_T_STR)
                r = gd_match(vm, A, x->u.s, x->n) > 0;
            else if (x->t == RV_T_LIST)
                for (uint32_t i = 0; i < x->n && !r; i++) {
                    rv_value it = list_item(p, x, i);
                    r = it.t == RV_T_STR && gd_match(vm, A, it.u.s, it.n) > 0;
                }
            x->t = RV_T_BOOL;
            x->u.i = r;
            vmbreak;
        }
        vmcase(OP_CALLB) {
            int n = rv_builtins[A].arity;
            top -= n;
            call_builtin(vm, (rv_builtin)A, top);
            top++;
            vmbreak;
        }
        vmcase(OP_JMP) { pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_JMPF) {
            rv_value v = POPV();
            int t = truthy(&v);
            trace_cond(vm, pc - 1, t);
            if (!t)
                pc += (uint32_t)INS_SARG(w);
            vmbreak;
        }
        vmcase(OP_JMT) {
            const rv_mtest *t = &p->mtests[A];
            uint32_t slot = vm->img->meta_slot[t->key];
            if (vm->meta_gen[slot] != vm->gen) {
                vm->meta_val[slot] = req_meta(vm->req, rv_str(p, t->key), p->str_len[t->key]);
                vm->meta_gen[slot] = vm->gen;
            }
            const rv_sv *m = vm->meta_val[slot];
            int hit = 0;
            if (m) {
                /* metadata values are strings; the compiler fuses only
                   string constants (or lists of them) into JMT */
                const rv_value *k = &kval[t->konst];
                if (t->op <= RV_MT_NE) {
                    hit = k->n == m->len && str_equal(k->u.s, m->s, m->len);
                } else {
                    for (uint32_t i = 0; i < k->n && !hit; i++) {
                        const rv_value *it = &kval[k->u.k[i]];
                        hit = it->t == RV_T_STR && it->n == m->len && str_equal(it->u.s, m->s, m->len);
                    }
                }
            }
            int holds = (t->op == RV_MT_EQ || t->op == RV_MT_IN) ? hit : !hit;
            trace_cond(vm, pc - 1, holds);
            if (!holds)
                pc = t->target;
            vmbreak;
        }
        vmcase(OP_JKT) {
            const rv_mtest *t = &p->mtests[A];
            rv_value v = POPV();
            const rv_value *k = &kval[t->konst];
            int holds;
            if (t->op <= RV_MT_NE) {
                int eq = values_equal(&v, k);
                holds = t->op == RV_MT_EQ ? eq : (v.t == RV_T_NIL || !eq);
            } else if (arith_numeric(v.t) && arith_numeric(k->t) && arith_comparable(v.t, k->t)) {
                int c = v.t == k->t || (v.t != RV_T_NUM && v.t != RV_T_PERCENT && k->t != RV_T_NUM && k->t != RV_T_PERCENT)
                      ? (v.u.i > k->u.i) - (v.u.i < k->u.i) : arith_cmp(v.t, v.u.i, k->t, k->u.i);
                holds = t->op == RV_MT_LT ? c < 0 : t->op == RV_MT_LE ? c <= 0 : t->op == RV_MT_GT ? c > 0 : c >= 0;
            } else {
                holds = 0;
            }
            trace_cond(vm, pc - 1, holds);
            if (!holds)
                pc = t->target;
            vmbreak;
        }
        vmcase(OP_JMPFK) { if (!truthy(&TOP())) pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_JMPTK) { if (truthy(&TOP())) pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_RULE) {
            vm->rule = A;
            if (vm->cover)
                vm->cover[pc - 1] |= 1u;
            vmbreak;
        }
        vmcase(OP_DECIDE) { vm->call.model = A; return EX_DECIDE; }
        vmcase(OP_DELEGATE) { *arg = A; return EX_DELEGATE; }
        vmcase(OP_CHOOSE) { *arg = A; return EX_CHOOSE; }
        vmcase(OP_CASCADE) { *arg = A; return EX_CASCADE; }
        vmcase(OP_SPLIT) {
            rv_value key = POPV();
            const rv_split *s = &p->splits[A];
            int64_t b = key.t == RV_T_STR ? bi_bucket(key.u.s, key.n) : 0, cum = 0;
            uint32_t arm = s->count - 1;
            for (uint32_t i = 0; i < s->count; i++) {
                cum += p->arms[s->first + i].share;
                if (b * 10000 < cum) {
                    arm = i;
                    break;
                }
            }
            pc = p->arms[s->first + arm].target;
            vmbreak;
        }
        vmcase(OP_HOOK) { *arg = A; vm->pc = pc; return EX_HOOK; }
        vmcase(OP_FAIL) { vm->error = rv_str(p, A); return EX_FAIL; }
        vmcase(OP_RET) { *ret = POPV(); return EX_RET; }
        vmdefault
            vm->error = "invalid instruction";
            return EX_FAIL;
        }
    }
#undef PUSH
#undef POPV
#undef TOP
#undef A
}

static rv_value run_fn(rv_vm *vm, uint32_t fn, const fn_ctx *ctx)
{
    rv_value r = { .t = RV_T_NIL };
    uint32_t arg;
    exec(vm, vm->img->p->funcs[fn].start, ctx, &r, &arg);
    return r;
}

rv_value vm_run_fn(rv_vm *vm, uint32_t fn, uint32_t cand, const rv_outcome *resp)
{
    fn_ctx ctx = { .cand = cand, .resp = resp };
    return run_fn(vm, fn, &ctx);
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
            rv_value ok = run_fn(vm, ch->where, &ctx);
            if (!truthy(&ok))
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
        ex_result r = exec(vm, vm->pc, &ctx, &dummy, &arg);
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
        rv_value v = run_fn(vm, cs->check, &ctx);
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
