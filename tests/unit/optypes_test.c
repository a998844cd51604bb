/* The interpreter held to the type rules of vm/opcodes.def, as the
   verifier applies them (ver_operand, ver_result).

   For every opcode that reads values and pushes a result (and for CALLB,
   every builtin), one program holds a function per combination of operand
   types the opcode admits -- nil included, numbers at their extremes
   (INT64_MIN, -1, 0, INT64_MAX) -- as 'PUSHK a; PUSHK b; OP; RET'.  The
   program must verify, and each function must return a value whose type
   is one the verifier predicts for those operands (under the sanitizers,
   so an overflow or a wild pointer fails the suite too).  Then, for each
   operand and each type the opcode does not take, a program with that
   one bad operand must be rejected with "may be of type T".  A row of
   opcodes.def and the interpreter cannot drift apart unnoticed. */
#include "sample.h"
#include "verify.h"
#include "vm.h"

/* Representative constants: per type, the constant indexes of its values. */
#define MAXV 5
static uint32_t kof[RV_T__COUNT][MAXV], nkof[RV_T__COUNT];

static void *grow(void *a, size_t n, size_t elem)
{
    void *q = mem_reallocarray(a, n, elem);
    if (!q)
        exit(2);
    return q;
}

/* The sample program with room for 'ncode' more instructions and
   functions, and one constant of every type (several for numbers). */
static rv_program *base(uint32_t ncode)
{
    rv_program *p = sample_program();
    size_t cap = SAMPLE_MAX + ncode;
    p->code = grow(p->code, cap, sizeof *p->code);
    p->pc_loc = grow(p->pc_loc, cap, sizeof *p->pc_loc);
    p->funcs = grow(p->funcs, cap, sizeof *p->funcs);
    p->consts = grow(p->consts, SAMPLE_MAX + 128, sizeof *p->consts);
    static const int64_t nums[] = { INT64_MIN, -1, 0, 3, INT64_MAX };
    memset(nkof, 0, sizeof nkof);
    for (int t = 0; t < RV_T__COUNT; t++) {
        if (t == RV_T_TEXT)
            continue;
        if (TS_NUMERIC >> t & 1) {
            for (int i = 0; i < MAXV; i++)
                kof[t][nkof[t]++] = K(p, (rv_type)t, nums[i], 0);
            continue;
        }
        uint32_t k = K(p, (rv_type)t, 0, 0);
        switch (t) {
        case RV_T_BOOL: p->consts[k].i = 1; break;
        case RV_T_STR: p->consts[k].str = S(p, "Hello, world"); break;
        case RV_T_REGEX: p->consts[k].str = 1; break;
        case RV_T_LIST: p->consts[k].first = 0; p->consts[k].count = 2; break;
        case RV_T_PROVIDER: p->consts[k].i = 1; break;
        default: break;
        }
        kof[t][nkof[t]++] = k;
    }
    return p;
}

/* The operand of the instruction itself: a list for INK, a scalar for
   EQK/NEK, regex 0 for MATCH, the builtin for CALLB. */
static uint32_t operand(rv_opcode op, uint32_t b)
{
    switch (op) {
    case OP_INK: return kof[RV_T_LIST][0];
    case OP_EQK: case OP_NEK: return kof[RV_T_STR][0];
    case OP_CALLB: return b;
    default: return 0;
    }
}

/* Appends 'PUSHK k[0..n); OP arg; RET' as an EXPECT function; returns the
   pc of OP. */
static uint32_t add_case(rv_program *p, rv_opcode op, uint32_t arg, const uint32_t *k, int n)
{
    uint32_t start = p->ncode;
    for (int i = 0; i < n; i++)
        E(p, OP_PUSHK, (int32_t)k[i]);
    uint32_t at = E(p, op, (int32_t)arg);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_EXPECT, start);
    return at;
}

static int nreads(rv_opcode op, uint32_t b)
{
    return op == OP_CALLB ? rv_builtins[b].arity : rv_ops[op].pop;
}

/* Every admitted combination runs and lands inside the prediction. */
static void admitted(rv_opcode op, uint32_t b, const char *name)
{
    int n = nreads(op, b);
    rv_program *p = base(4 * 17 * 17 * MAXV * MAXV);
    uint32_t first_fn = p->nfunc;
    /* enumerate value combinations of admitted types */
    uint32_t vals[RV_T__COUNT * MAXV], nval = 0;
    rv_tset allowed[2];
    rv_err err;
    char why[200] = "";
    for (int i = 0; i < n; i++) {
        E(p, OP_PUSHB, 0);      /* a probe instruction to ask the rules at */
        p->code[p->ncode - 1] = INS(op, operand(op, b));
        allowed[i] = ver_operand(p, p->ncode - 1, i);
        p->ncode--;
    }
    for (int t = 0; t < RV_T__COUNT; t++)
        for (uint32_t j = 0; j < nkof[t]; j++)
            vals[nval++] = kof[t][j];
    uint32_t ncase = 0;
    for (uint32_t x = 0; x < nval; x++)
        for (uint32_t y = 0; y < (n == 2 ? nval : 1); y++) {
            uint32_t k[2] = { vals[x], vals[y] };
            int ok = 1;
            for (int i = 0; i < n; i++)
                ok &= (allowed[i] >> p->consts[k[i]].type) & 1;
            if (ok) {
                add_case(p, op, operand(op, b), k, n);
                ncase++;
            }
        }
    if (ver_program(p, &err) < 0) {
        failf(name, "the admitted cases do not verify: %s", err.msg);
        rv_program_free(p);
        return;
    }
    rv_image img;
    char ierr[200];
    if (vm_image_init(&img, p, ierr, sizeof ierr)) {
        failf(name, "image: %s", ierr);
        rv_program_free(p);
        return;
    }
    rv_vm *vm = vm_new(&img, NULL, NULL);
    uint32_t bad = 0;
    for (uint32_t f = first_fn; vm && f < p->nfunc; f++) {
        uint32_t at = p->funcs[f].start + (uint32_t)n;
        rv_tset arg[2] = { 0, 0 };
        for (int i = 0; i < n; i++)
            arg[i] = 1u << p->consts[INS_ARG(p->code[p->funcs[f].start + i])].type;
        rv_value v = vm_run_expect(vm, f);
        rv_tset want = ver_result(p, at, arg);
        if (!(want >> v.t & 1) && !bad++)
            snprintf(why, sizeof why, "function %u (pc %u): result of type %s, predicted 0x%x", f, at,
                     rv_type_names[v.t], want);
    }
    if (!vm)
        failf(name, "out of memory");
    else if (bad)
        failf(name, "%u of %u cases outside the prediction; first: %s", bad, ncase, why);
    else
        pass(name, "%u cases", ncase);
    vm_free(vm);
    vm_image_free(&img);
    rv_program_free(p);
}

/* Each type an operand does not take is rejected with its message. */
static void refused(rv_opcode op, uint32_t b, const char *name)
{
    int n = nreads(op, b);
    uint32_t tried = 0, wrong = 0;
    char why[700] = "";
    for (int i = 0; i < n; i++)
        for (int t = 0; t < RV_T__COUNT; t++) {
            if (t == RV_T_TEXT)
                continue;
            rv_program *p = base(8);
            uint32_t k[2] = { kof[RV_T_NIL][0], kof[RV_T_NIL][0] };
            k[i] = kof[t][0];
            uint32_t at = add_case(p, op, operand(op, b), k, n);
            if (ver_operand(p, at, i) >> t & 1) {
                rv_program_free(p);
                continue;
            }
            tried++;
            char want[120];
            rv_err err;
            snprintf(want, sizeof want, "code[%u]: ", at);
            memset(err.msg, 0, sizeof err.msg);
            int r = ver_program(p, &err);
            char tail[80];
            snprintf(tail, sizeof tail, "%d of %d may be of type %s,", i + 1, n, rv_type_names[t]);
            if (r == 0 || !strstr(err.msg, want) || !strstr(err.msg, tail)) {
                if (!wrong++)
                    snprintf(why, sizeof why, "operand %d of type %s: %s", i + 1, rv_type_names[t],
                             r == 0 ? "accepted" : err.msg);
            }
            rv_program_free(p);
        }
    if (!tried)
        return;                 /* the opcode takes anything */
    if (wrong)
        failf(name, "%u of %u wrong types not refused as expected; first: %s", wrong, tried, why);
    else
        pass(name, "%u wrong types refused", tried);
}

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    char name[96];
    for (int op = 0; op < OP__COUNT; op++) {
        if (op == OP_CALLB) {
            for (uint32_t b = 0; b < RV_BI__COUNT; b++) {
                snprintf(name, sizeof name, "optypes CALLB %s", rv_builtins[b].name);
                admitted(OP_CALLB, b, name);
                snprintf(name, sizeof name, "optypes CALLB %s refuses", rv_builtins[b].name);
                refused(OP_CALLB, b, name);
            }
            continue;
        }
        if (!rv_ops[op].push || !rv_ops[op].pop)
            continue;
        snprintf(name, sizeof name, "optypes %s", rv_ops[op].name);
        admitted((rv_opcode)op, 0, name);
        snprintf(name, sizeof name, "optypes %s refuses", rv_ops[op].name);
        refused((rv_opcode)op, 0, name);
    }
    return test_failures ? 1 : 0;
}
