/* The interpreter: exec() runs one function of a verified program from a
   pc until it decides, suspends or returns.

   One switch behind three macros (vmdispatch/vmcase/vmbreak, as in Lua) so
   computed goto can replace it without touching the bodies.  What the
   verifier proved -- operands in range, jumps inside the function, stack
   depths -- is asserted here, not checked again.  Values, builtins and the
   fields a program reads (request, candidate, response, decision) live
   here too; the decision state machine around exec() is decide.c. */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <assert.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "equations.h"
#include "format.h"
#include "guard.h"
#include "opcodes.h"
#include "plan.h"
#include "vmstate.h"

/* ---------------------------------------------------------------- values */



/* Equal bytes?  Short strings (metadata values, mostly) a word at a
   time, without a call. */
static inline int str_equal(const char *x, const char *y, uint32_t n)
{
    if (n > 32)
        return !memcmp(x, y, n);
    uint64_t a, b;
    if (n >= 8) {
        for (; n > 8; n -= 8, x += 8, y += 8) {
            memcpy(&a, x, 8);
            memcpy(&b, y, 8);
            if (a != b)
                return 0;
        }
        memcpy(&a, x + n - 8, 8);   /* the last 8 bytes, overlapping */
        memcpy(&b, y + n - 8, 8);
        return a == b;
    }
    if (n >= 4) {                   /* two 4-byte loads, overlapping */
        uint32_t c, d, e, f;
        memcpy(&c, x, 4);
        memcpy(&d, y, 4);
        memcpy(&e, x + n - 4, 4);
        memcpy(&f, y + n - 4, 4);
        return c == d && e == f;
    }
    for (; n; n--)
        if (*x++ != *y++)
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
        return vm_const_value(p, l->u.k[i]);   /* (exec's INK reads the image's values) */
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
    char *d = vm_alloc(vm, v->n + 1);
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

/* numbers(s): the numbers of a string as a list of their decimal texts,
   in per-request memory; at most 4,096 of them. */
#define MAX_NUMBERS 4096
static rv_value numbers_of(rv_vm *vm, const rv_value *a)
{
    rv_value r = { .t = RV_T_LIST, .lk = 1 };
    size_t pos = 0, s0, e0, count = 0;
    int64_t v;
    int ok;
    while (count < MAX_NUMBERS && bi_next_number(a->u.s, a->n, &pos, &v, &ok, &s0, &e0))
        count += ok;
    rv_sv *items = vm_alloc(vm, (count ? count : 1) * sizeof *items);
    if (!items)
        return (rv_value){ .t = RV_T_NIL };
    pos = 0;
    for (size_t i = 0; i < count && bi_next_number(a->u.s, a->n, &pos, &v, &ok, &s0, &e0);) {
        if (!ok)
            continue;
        char buf[FMT_BUF];
        int len = fmt_num(buf, sizeof buf, v);
        char *t = vm_copy(vm, buf, (size_t)len);
        if (!t)
            return (rv_value){ .t = RV_T_NIL };
        items[i++] = (rv_sv){ t, (uint32_t)len };
    }
    r.u.v = items;
    r.n = (uint32_t)count;
    return r;
}

/* overlap(a, b): the share of a's distinct items that b holds, percent. */
static rv_value overlap_of(const rv_program *p, const rv_value *a, const rv_value *b)
{
    rv_value r = { .t = RV_T_PERCENT, .u.i = 1000000 };
    uint64_t distinct = 0, found = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        rv_value it = list_item(p, a, i);
        int seen = 0;
        for (uint32_t k = 0; k < i && !seen; k++) {
            rv_value e = list_item(p, a, k);
            seen = values_equal(&it, &e);
        }
        if (seen)
            continue;
        distinct++;
        found += (uint64_t)in_list(p, &it, b);
    }
    if (distinct)
        r.u.i = (int64_t)(found * 1000000 / distinct);
    return r;
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
        if (a->t != RV_T_STR) {
            r.t = RV_T_NIL;
            break;
        }
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
    case RV_BI_capture: {
        size_t st, len;
        r.t = RV_T_NIL;     /* no match: missing */
        if (a->t == RV_T_STR && x->t == RV_T_REGEX &&
            bi_capture(vm->img->re[x->u.i], vm->md, a->u.s, a->n, &st, &len) == 1) {
            r.t = RV_T_STR;
            r.u.s = a->u.s + st;
            r.n = (uint32_t)len;
        }
        break;
    }
    case RV_BI_number: {
        size_t pos = 0, s0, e0;
        int ok;
        r.t = RV_T_NIL;
        if (a->t == RV_T_STR && bi_next_number(a->u.s, a->n, &pos, &r.u.i, &ok, &s0, &e0) && ok)
            r.t = RV_T_NUM;
        break;
    }
    case RV_BI_numbers:
        r = a->t == RV_T_STR ? numbers_of(vm, a) : (rv_value){ .t = RV_T_NIL };
        break;
    case RV_BI_overlap:
        r = a->t == RV_T_LIST && x->t == RV_T_LIST ? overlap_of(p, a, x) : (rv_value){ .t = RV_T_NIL };
        break;
    case RV_BI_decimal:
        if (a->t != RV_T_STR || bi_decimal(a->u.s, a->n, &r.u.i))
            r.t = RV_T_NIL;     /* not a number: missing, not an error */
        break;
    case RV_BI_arithmetic:
    case RV_BI_equations:
    case RV_BI_last_result: {
        eqn_stats es;
        eqn_scan(a->t == RV_T_STR ? a->u.s : NULL, a->t == RV_T_STR ? a->n : 0, &es);
        if (b == RV_BI_arithmetic)
            r.u.i = es.checked ? (int64_t)((uint64_t)es.held * 1000000 / es.checked) : 1000000;
        else if (b == RV_BI_equations)
            r.u.i = es.checked;
        else if (es.has_result)
            r.u.i = es.result;
        else
            r.t = RV_T_NIL;
        break;
    }
    default:
        r.t = RV_T_NIL;
        break;
    }
    if (a->t == RV_T_NIL && b != RV_BI_len)
        r.t = r.t == RV_T_BOOL ? RV_T_BOOL : RV_T_NIL;
    *a = r;
}

/* ---------------------------------------------------------------- fields */

static inline __attribute__((always_inline)) rv_value req_field(rv_vm *vm, uint32_t f)
{
    const rv_request *r = vm->req;
    rv_value v = { .t = rv_reqfields[f].type };
    switch (f) {
    /* the texts come through the guardrails' overlay: redacted, if they were */
    case RV_REQ_INPUT: { rv_sv t = vm_view_input(vm); v.u.s = t.s; v.n = t.len; break; }
    case RV_REQ_SYSTEM: { rv_sv t = vm_view_system(vm); v.u.s = t.s; v.n = t.len; break; }
    case RV_REQ_USER: v.u.s = r->user.s; v.n = r->user.len; break;
    case RV_REQ_MESSAGES: v.lk = 1; v.u.v = vm_view_msgs(vm); v.n = r->nmsg; break;
    case RV_REQ_TOOLS: v.lk = 1; v.u.v = r->tools; v.n = r->ntool; break;
    case RV_REQ_IMAGES: v.u.i = r->images; break;
    case RV_REQ_TURNS: v.u.i = r->turns; break;
    case RV_REQ_STREAM: v.u.i = r->stream; break;
    case RV_REQ_MAXTOK: v.u.i = r->max_tokens; break;
    }
    return v;
}


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
    case RV_CAND_TAGS:
        if (md->tags != RV_NONE)
            v = vm_const_value(p, md->tags);
        else
            v.n = 0;            /* an empty list: no item is in it */
        break;
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
    case RV_RESP_TOOL_CALLS: v.u.i = o->ntool_calls; break;
    case RV_RESP_OUT_TOKENS: v.u.i = o->usage.output >= 0 ? o->usage.output : bi_tokens(o->text.s, o->text.len); break;
    }
    (void)vm;
    return v;
}

static rv_value dec_field(rv_vm *vm, uint32_t f)
{
    const rv_program *p = vm->img->p;
    rv_value v = { .t = rv_decfields[f].type };
    const rv_result *r = &vm->res;
    switch (f) {
    case RV_DEC_MODEL: if (r->model == RV_NONE) v.t = RV_T_NIL; else v.u.i = r->model; break;
    case RV_DEC_RULE: v.u.i = r->rule != RV_NONE ? p->rules[r->rule].number : 0; break;
    case RV_DEC_REASON:
        v.u.s = r->rule != RV_NONE ? rv_str(p, p->rules[r->rule].reason) : "";
        v.n = r->rule != RV_NONE && p->rules[r->rule].reason != RV_NONE ? p->str_len[p->rules[r->rule].reason] : 0;
        break;
    case RV_DEC_AGENT: v.u.i = r->agent; break;
    case RV_DEC_PROVIDER:
        if (r->model == RV_NONE) v.t = RV_T_NIL;
        else v.u.i = p->models[r->model].provider;
        break;
    case RV_DEC_DENIED: v.u.i = r->denied_by != RV_NONE; break;
    case RV_DEC_DENIED_BY: if (r->denied_by == RV_NONE) v.t = RV_T_NIL; else v.u.i = r->denied_by; break;
    case RV_DEC_REDACTED: v.u.i = r->redacted; break;
    case RV_DEC_COST: v.u.i = r->cost; break;
    case RV_DEC_ATTEMPTS: v.u.i = r->ncalls; break;
    }
    return v;
}

/* ---------------------------------------------------------------- the loop */


/* The request's value of the metadata key in slot 'slot' (image.c),
   looked up once per request; NULL when absent. */
static inline const rv_sv *vm_meta_at(rv_vm *vm, uint32_t slot)
{
    struct vm_mslot *m = &vm->mslot[slot];
    if (__builtin_expect(m->gen != vm->gen, 0)) {
        const rv_sv *k = &vm->img->slot_key[slot];
        m->val = req_meta(vm->req, k->s, k->len);
        m->gen = vm->gen;
    }
    return m->val;
}

/* Does metadata value 'm' hit JMT record 't': equal to one of its
   strings? */
static inline int jmt_hit(const struct rv_jmt *t, const rv_sv *m)
{
    for (uint32_t i = 0; i < t->nitems; i++) {
        const struct rv_jstr *it = &t->items[i];
        if (it->len == m->len && str_equal(it->s, m->s, m->len))
            return 1;
    }
    return 0;
}

/* Does the stack test 'v op k' of mtest 't' (JKT) hold? */
static int jkt_holds(const rv_mtest *t, const rv_value *v, const rv_value *k)
{
    if (t->op <= RV_MT_NE) {
        int eq = values_equal(v, k);
        return t->op == RV_MT_EQ ? eq : (v->t == RV_T_NIL || !eq);
    }
    if (!arith_numeric(v->t) || !arith_numeric(k->t) || !arith_comparable(v->t, k->t))
        return 0;
    int c = v->t == k->t || (v->t != RV_T_NUM && v->t != RV_T_PERCENT && k->t != RV_T_NUM && k->t != RV_T_PERCENT)
          ? (v->u.i > k->u.i) - (v->u.i < k->u.i) : arith_cmp(v->t, v->u.i, k->t, k->u.i);
    return t->op == RV_MT_LT ? c < 0 : t->op == RV_MT_LE ? c <= 0 : t->op == RV_MT_GT ? c > 0 : c >= 0;
}

/* CALLB 'b' on the values from 'args' (its arity of them); the result
   replaces args[0]. */
static inline void callb(rv_vm *vm, uint32_t b, rv_value *args)
{
    if (b == RV_BI_bytes) {     /* the commonest: bytes(input), in place */
        if (args->t != RV_T_NIL)
            *args = (rv_value){ .t = rv_builtins[RV_BI_bytes].ret, .u.i = args->t == RV_T_STR ? args->n : 0 };
        return;
    }
    if (b == RV_BI_bucket) {    /* as call_builtin: nil stays nil */
        if (args->t != RV_T_NIL)
            *args = (rv_value){ .t = rv_builtins[RV_BI_bucket].ret,
                                .u.i = args->t == RV_T_STR ? bi_bucket(args->u.s, args->n) : 0 };
        return;
    }
    call_builtin(vm, (rv_builtin)b, args);
}

/* Does JKT 'k' (record 't') hold for the value 'v' it pops? */
static inline int jkt_test(const rv_program *p, const struct rv_jmt *t, uint32_t k, const rv_value *v)
{
    const rv_value *c = t->k;
    if (__builtin_expect(t->cmp && v->t == c->t && arith_numeric(v->t), 1))
        return t->cmp >> ((v->u.i > c->u.i) - (v->u.i < c->u.i) + 1) & 1;   /* one unit: as integers */
    return jkt_holds(&p->mtests[k], v, c);
}

/* Does request test 't' (a plan's, vmstate.h) hold, read and compared as
   the code would (LDREQ [CALLB] JKT, LDREQ [NOT] JMPF)? */
static __attribute__((noinline)) int req_test_code(rv_vm *vm, const vm_reqtest *t)
{
    rv_value v = req_field(vm, t->field);
    if (t->builtin != RV_NONE)
        callb(vm, t->builtin, &v);
    if (t->mtest == RV_NONE)
        return vm_truthy(&v) != t->neg;
    return jkt_test(vm->img->p, &vm->img->jmt[t->mtest], t->mtest, &v);
}

/* Does request test 't' hold?  Its shortcut, where it has one, reads what
   req_field() and callb() would and compares as jkt_test() does when
   types agree.  'v' is the request's routing view when it is the plan's
   (plan.h), else NULL: its input bytes are the request's own input's, so
   they stand for the input only while no guardrail has loaded an
   overlay. */
static inline __attribute__((always_inline)) int req_test(rv_vm *vm, const vm_reqtest *t, const rv_reqview *v)
{
    int64_t x;
    switch (t->fast) {
    case RQ_BOOL:
        return (req_field(vm, t->field).u.i != 0) != t->neg;
    case RQ_INT:
        x = req_field(vm, t->field).u.i;
        break;
    case RQ_INPUT_BYTES:
        x = v && !vm->ov.loaded ? v->input_bytes : vm_view_input(vm).len;
        break;
    case RQ_USER_BUCKET:
        x = v ? v->bucket : bi_bucket(vm->req->user.s, vm->req->user.len);
        break;
    default:
        return req_test_code(vm, t);
    }
    return t->cmp >> ((x > t->k) - (x < t->k) + 1) & 1;
}

/* An error in the route code at 'pc': the message and where it is. */
void vm_runtime_error(rv_vm *vm, uint32_t pc, const char *msg)
{
    vm->res.error = msg;
    vm->res.error_pc = pc;
    vm->res.error_loc = pc < vm->img->p->ncode ? vm->img->p->pc_loc[pc] : RV_NONE;
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

ex_result vm_exec(rv_vm *vm, uint32_t pc, const fn_ctx *ctx, rv_value *ret, uint32_t *arg)
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
#define OP(name, kind, pop, push, in, out, doc) &&L_OP_##name,
#include "opcodes.def"
#undef OP
    };
#endif
    const rv_value *kval = vm->img->kval;
    const struct rv_jmt *jmt = vm->img->jmt;
    /* the dispatch in progress (DISPATCH, CHAIN), kept in the VM across a
       hook (vmstate.h) */
    uint32_t dk = vm->dk;
    const struct rv_dentry *dent = vm->dent;
    const uint32_t *dnext = vm->dnext, *dlim = vm->dlim;
    /* the observer (explain's trace, test coverage), told of every
       routing condition evaluated */
    void (*const on_cond)(void *, uint32_t, uint32_t, int) = vm->obs ? vm->obs->cond : NULL;
#define TRACE_COND(at, result) do { if (__builtin_expect(on_cond != NULL, 0)) \
        on_cond(vm->obs_ud, (at), p->pc_loc[at], (result)); } while (0)
    for (;;) {
        uint32_t w = code[pc++];
        vmdispatch(INS_OP(w)) {
        vmcase(OP_PUSHK) { PUSH(kval[A]); vmbreak; }
        vmcase(OP_PUSHB) { rv_value v = { .t = RV_T_BOOL, .u.i = A }; PUSH(v); vmbreak; }
        vmcase(OP_LDREQ) { PUSH(req_field(vm, A)); vmbreak; }
        vmcase(OP_LDMETA) {
            const rv_sv *m = vm_meta_at(vm, vm->img->meta_slot[A]);
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
        vmcase(OP_NOT) { TOP().u.i = !vm_truthy(&TOP()); TOP().t = RV_T_BOOL; vmbreak; }
        vmcase(OP_NEG) {
            /* -INT64_MIN overflows: nil, like every other overflow */
            rv_value *a = &TOP();
            if (arith_numeric(a->t) && a->u.i != INT64_MIN)
                a->u.i = -a->u.i;
            else
                *a = (rv_value){ .t = RV_T_NIL };
            vmbreak;
        }
        vmcase(OP_ADD) vmcase(OP_SUB) vmcase(OP_MUL) vmcase(OP_DIV) {
            rv_value b = POPV(), *a = &TOP();
            arith_op op = (arith_op)(INS_OP(w) - OP_ADD);
            rv_type t = arith_type(op, a->t, b.t);
            int64_t r;
            if (t == RV_T_NIL || arith_eval(op, a->t, a->u.i, b.t, b.u.i, &r)) {
                *a = (rv_value){ .t = RV_T_NIL };   /* overflow, division by zero, a missing value */
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
                r = gd_match(vm, A, x->u.s, x->n);
            else if (x->t == RV_T_LIST)
                for (uint32_t i = 0; i < x->n && r == 0; i++) {
                    rv_value it = list_item(p, x, i);
                    r = it.t == RV_T_STR ? gd_match(vm, A, it.u.s, it.n) : 0;
                }
            if (r < 0) {    /* a match that stopped is not "no match": the decision fails */
                vm_runtime_error(vm, pc - 1, vm->ov.re_error);
                return EX_FAIL;
            }
            x->t = RV_T_BOOL;
            x->u.i = r;
            vmbreak;
        }
        vmcase(OP_CALLB) {
            int n = rv_builtins[A].arity;
            callb(vm, A, top - n);
            top -= n - 1;
            vmbreak;
        }
        vmcase(OP_JMP) { pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_JMPF) {
            rv_value v = POPV();
            int t = vm_truthy(&v);
            TRACE_COND(pc - 1, t);
            if (!t)
                pc += (uint32_t)INS_SARG(w);
            vmbreak;
        }
        vmcase(OP_JMT) {
            const struct rv_jmt *t = &jmt[A];
            const rv_sv *m = vm_meta_at(vm, t->slot);
            int holds = (m && jmt_hit(t, m)) == t->want;
            TRACE_COND(pc - 1, holds);
            if (!holds)
                pc = t->target;
            vmbreak;
        }
        vmcase(OP_JKT) {
            const struct rv_jmt *t = &jmt[A];
            rv_value v = POPV();
            int holds = jkt_test(p, t, A, &v);
            TRACE_COND(pc - 1, holds);
            if (!holds)
                pc = t->target;
            vmbreak;
        }
        vmcase(OP_DISPATCH) {
            const rv_dispatch *d = &p->dispatches[A];
            const rv_sv *m = vm_meta_at(vm, vm->img->meta_slot[d->key]);
            const struct rv_dslot *e = m ? vm_dispatch_find(vm->img, A, m->s, m->len) : NULL;
            dk = A;
            dnext = NULL;
            if (e) {
                /* the class's first rule, from the slot: its rule list is
                   read only if that rule does not match (CHAIN) */
                dent = &vm->img->dentry[e - vm->img->dslot];     /* (an address: nothing read) */
                if (e->model != RV_DSLOT_CODE) {
                    /* RULE; DECIDE at the class's first pc, done here: its code is not read */
                    vm->res.rule = e->rule;
                    if (vm->obs && vm->obs->rule)
                        vm->obs->rule(vm->obs_ud, dent->first, e->rule);
                    *arg = e->model;
                    return EX_DECIDE;
                }
                pc = e->rule;
            } else {
                const rv_dclass *c = &p->dclasses[d->cfirst];
                dnext = p->dpcs + c->first;
                dlim = dnext + c->count;
                pc = dnext < dlim ? *dnext++ : d->end;
            }
            vmbreak;
        }
        vmcase(OP_CHAIN) {
            /* the next rule of the class after this one; always forward */
            uint32_t here = pc - 1;
            if (dk != A) {
                pc = p->dispatches[A].end;
                vmbreak;
            }
            if (!dnext) {       /* the first CHAIN of a listed value's class: its first rule ran */
                dnext = dent->pcs + (dent->npcs > 0);
                dlim = dent->pcs + dent->npcs;
            }
            while (dnext < dlim && *dnext <= here)
                dnext++;
            pc = dnext < dlim ? *dnext++ : p->dispatches[A].end;
            vmbreak;
        }
        vmcase(OP_JMPFK) { if (!vm_truthy(&TOP())) pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_JMPTK) { if (vm_truthy(&TOP())) pc += (uint32_t)INS_SARG(w); vmbreak; }
        vmcase(OP_RULE) {
            vm->res.rule = A;
            if (vm->obs && vm->obs->rule)
                vm->obs->rule(vm->obs_ud, pc - 1, A);
            vmbreak;
        }
        vmcase(OP_DECIDE) { *arg = A; return EX_DECIDE; }
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
            vm->res.split = A;
            vm->res.arm = arm;
            vmbreak;
        }
        vmcase(OP_HOOK) {
            *arg = A;
            vm->pc = pc;
            vm->dk = dk;        /* the route resumes here (vm_exec from vm->pc) */
            vm->dent = dent;
            vm->dnext = dnext;
            vm->dlim = dlim;
            return EX_HOOK;
        }
        vmcase(OP_FAIL) { vm_runtime_error(vm, pc - 1, rv_str(p, A)); return EX_FAIL; }
        vmcase(OP_RET) { *ret = POPV(); return EX_RET; }
        vmdefault
            vm_runtime_error(vm, pc - 1, "invalid instruction");
            return EX_FAIL;
        }
    }
#undef PUSH
#undef POPV
#undef TOP
#undef A
#undef TRACE_COND
}

rv_value vm_run(rv_vm *vm, uint32_t fn, const fn_ctx *ctx)
{
    rv_value r = { .t = RV_T_NIL };
    uint32_t arg;
    vm_exec(vm, vm->img->p->funcs[fn].start, ctx, &r, &arg);
    return r;
}

rv_value vm_run_fn(rv_vm *vm, uint32_t fn, uint32_t cand, const rv_outcome *resp)
{
    fn_ctx ctx = { .cand = cand, .resp = resp };
    vm->plain = 0;          /* (decide.c, "Plain decisions") */
    return vm_run(vm, fn, &ctx);
}

/* ---------------------------------------------------------------- plans */

/* The rules group 'g' of plan 'pl' rules out for this request: by the
   request's routing view 'v' when it is the plan's (NULL otherwise) and
   holds the group's key, else by a lookup.  (A metadata key is looked up
   here, not through the VM's slots: the plan asks each group once.) */
static inline __attribute__((always_inline)) uint64_t group_kill(rv_vm *vm, const vm_plan *pl, uint32_t g,
                                                                 const rv_reqview *v)
{
    const plan_group *gr = &pl->groups[g];
    if (gr->kind == PG_REQ)
        return req_test(vm, &gr->t, v) ? 0 : gr->users;
    if (v && gr->vkey != RV_NONE) {
        uint32_t id = v->id[gr->vkey];
        return id < gr->nid ? pl->idkill[gr->idfirst + id] : gr->other;
    }
    const rv_sv *m = req_meta(vm->req, gr->key.s, gr->key.len);
    if (!m)
        return gr->other;
    if (gr->mul) {                          /* a few strings: the one slot it can be in */
        uint32_t n = m->len;
        uint64_t head = vm_head8(m->s, n);
        const plan_small *e = &pl->small[gr->sfirst + (uint32_t)(((head ^ n) * gr->mul) >> gr->shift)];
        return e->head == head && e->len == n && (n <= 8 || !memcmp(e->s + 8, m->s + 8, n - 8)) ? e->kill
                                                                                                 : gr->other;
    }
    const plan_value *e = plan_find(pl, g, m->s, m->len);
    return e ? e->kill : gr->other;
}

/* The lowest rule still possible names the next group to ask (its
   lowest-numbered one not yet known); each answer rules rules out; the
   first rule whose groups are all known holds (plan.h). */
ex_result vm_plan_rest(rv_vm *vm, const vm_plan *pl, const rv_reqview *v, uint64_t alive, uint64_t known,
                       uint32_t *arg)
{
    if (pl->dgroup != RV_NONE && !(known >> pl->dgroup & 1)) {   /* DISPATCH looks the key up first */
        alive &= ~group_kill(vm, pl, pl->dgroup, v);
        known |= 1ull << pl->dgroup;
    }
    while (alive) {
        const plan_rule *r = &pl->rules[__builtin_ctzll(alive)];
        uint64_t todo = r->need & ~known;
        if (!todo) {                        /* every test of the lowest rule left holds */
            vm->res.rule = r->rule;
            *arg = r->arg;
            return (ex_result)r->ex;
        }
        uint32_t g = (uint32_t)__builtin_ctzll(todo);
        known |= 1ull << g;
        alive &= ~group_kill(vm, pl, g, v);
    }
    vm_runtime_error(vm, pl->fail_pc, pl->fail_msg);
    return EX_FAIL;
}

ex_result vm_exec_plan(rv_vm *vm, const vm_plan *pl, uint32_t *arg)
{
    return plan_run(vm, pl, arg);
}
