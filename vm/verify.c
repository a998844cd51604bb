/* The bytecode verifier.  rbc_load() (vm/rbc.c) has checked that the bytes
   form well-sized tables; this file checks what the tables mean, so that
   the interpreter (vm/interp.c) and the disassembler (vm/disasm.c) can index
   every table without a bounds check and run every function without a stack
   check, and on no operand of a type its instruction cannot take.  It
   either accepts the whole program or rejects it with one message,
   "verify: WHERE: WHAT", WHERE naming the table and index or the pc.
   Rules, in the order they are checked (the BPF order: tables, then each
   instruction, then control flow, then stack depth, then types):

   (a) tables
   - strings: each lies inside the blob, is followed by a NUL and contains
     none, and is UTF-8 (as every source is; what the tools print as JSON
     and SARIF can then quote any string as it is).
   - consts: type is a value type (not TEXT); BOOL is 0 or 1; STR names a
     string, REGEX a regex, MODEL/AGENT/GUARDRAIL/PROVIDER an entry of its
     table; a LIST's items range lies inside 'items'.
   - items: each names a constant that is not itself a LIST (all items,
     listed or not, so the check stays linear).
   - regexes: pattern names a string; flags within RV_RE__ALL; the pattern
     compiles with PCRE2 (options from ver_pcre2_options()).
   - providers: name a string; kind a rv_provkind; endpoint, region,
     key_env a string or RV_NONE.
   - models: name and id strings; provider in range; system a string or
     RV_NONE; prices, context, max_output, latency >= 0; caps only known bits.
   - models: the prices of cache reads, cache writes and reasoning >= -1
     (-1: not stated); timeout, backoff, rpm, tpm, max_tokens >= 0; retry
     RV_NONE or at most VER_MAX_RETRY; retry_on 0, or RV_RETRY_STATED
     with classes of RV_RETRY_CLASSES only; params_set only known bits and
     every stated parameter within its range (rv_params); stop RV_NONE or
     a list constant of 1 to RV_MAX_STOP non-empty strings; tags RV_NONE or
     a list constant of non-empty strings; the 'fallback
     on' range inside 'targets', each entry a model with a non-empty 'on'.
   - gactions: kind a rv_gakind; dir a rv_dir; DENY/REDACT: regex in range,
     text a string; LIMIT: limit >= 0.
   - guards: name a string; actions range inside 'gactions'.
   - guard_refs: each names a guardrail.
   - targets: is_agent 0 or 1; index names a model or an agent accordingly;
     'on' only classes of RV_FALLBACK_CLASSES.
   - model_refs: each names a model.
   - funcs: kind a rv_fnkind; code [start, end) non-empty and inside the
     code; no two functions share an instruction; every instruction belongs
     to a function.
   - agents: name a string; guard, fallback and rule ranges inside their
     tables; budgets, backoff, timeout >= 0; worst_cost >= 0 or
     RV_COST_UNBOUNDED; retry at most
     VER_MAX_RETRY; func names a ROUTE function; each rule in the agent's
     range belongs to the agent.
   - agents: retry_on as for models; every entry of the fallback list has
     'on' 0, every entry of the 'fallback on' range a non-empty 'on'.
   - rules: agent in range; number >= 1; reason a string or RV_NONE;
     otherwise 0 or 1; timeout, backoff >= 0; retry RV_NONE or at most
     VER_MAX_RETRY; retry_on as for models.
   - choices: kind a rv_choosekind; models range non-empty and inside
     'model_refs'; where RV_NONE or a WHERE function.
   - cascades: models range non-empty and inside 'model_refs'; by a
     rv_bykind; judge RV_NONE or a model, and a model when by is JUDGE;
     check RV_NONE or a CHECK function, and a function when by is CHECK.
   - arms: share >= 0; target inside the code (and see SPLIT below).
   - arms: share at most 100%.
   - splits: arms range non-empty and inside 'arms'; no arm belongs to two
     splits; shares sum to exactly 100% (1,000,000).
   - hooks: url a string; timeout >= 0.
   - dispatches: key a string; values range inside 'dvalues'; classes
     range non-empty and inside 'dclasses'.
   - dvalues: value a string; class at least 1 and below its dispatch's
     class count (class 0 is "any other value").
   - dclasses: pcs range inside 'dpcs'.
   - givens: kind a rv_givenkind; model in range; ANSWER/FAIL: text a
     string; ANSWER: confidence -1 or in [0, 1]; HOOK: hook RV_NONE or in
     range.
   - tests: name and request strings; agent in range; givens range inside
     'givens'; expect range inside 'funcs' and every function in it an
     EXPECT function.
   - every 'loc' field, and pc_loc of every instruction, names a loc; every
     loc names a file; every file's name and text are strings.

   (b) each instruction
   - the opcode is below OP__COUNT.
   - the operand is in range for its kind: A_NONE 0; A_BOOL 0 or 1;
     A_CONST/A_STR/A_REGEX/A_RULE/A_MODEL/A_AGENT/A_CHOICE/A_CASCADE/A_SPLIT/
     A_HOOK an index into its table; the field and capability kinds below
     their counts; A_BUILTIN below RV_BI__COUNT.
   - INK's constant is a LIST.
   - A_JUMP: the offset is >= 0 and the target is inside the same function
     (a target equal to the function's end is outside: functions end with a
     terminal).
   - LDCAND and CANDCAP only in WHERE functions, LDRESP only in CHECK,
     LDDEC only in EXPECT; RULE, DECIDE, DELEGATE, CHOOSE, CASCADE, SPLIT,
     HOOK and FAIL only in ROUTE functions; RET only outside them.
   - SPLIT: no split is used by two SPLITs; every arm target is after the
     SPLIT and inside its function.  (With disjoint arms this keeps the
     verifier linear in the size of the file.)
   - DISPATCH: no dispatch is used by two DISPATCHes; its end is after the
     DISPATCH and inside its function; each class's pcs are strictly
     ascending, after the DISPATCH and before its end.
   - CHAIN: its dispatch's DISPATCH comes before it, and its end after it
     (so CHAIN, which goes to a listed pc after itself or to the end,
     always jumps forward).

   (c) control flow
   - the last instruction of each function has no fall-through
     (OP_NO_FALLTHROUGH).
   - every instruction is reachable from its function's start.
   - delegation and agent fallbacks never lead back to the agent they
     started from: the graph whose edges go from a route function to the
     function of each agent it DELEGATEs to, and from an agent's function
     to the function of each agent in its fallback list and its 'fallback
     on' entries, has no cycle (the language has no loops, so a decision
     may not form one either; an agent falling back to itself whose route
     finds no candidate would recurse without end).

   (d) stack depth (one forward pass: all jumps are forward)
   - where paths merge, they agree on the depth.
   - no instruction pops more than the stack holds (CALLB pops its
     builtin's arity; JMPFK and JMPTK need a value on top).
   - RET runs at depth 1; DECIDE, DELEGATE, CHOOSE, CASCADE, FAIL, RULE,
     HOOK, DISPATCH and CHAIN at depth 0; SPLIT at depth 1 (its key),
     leaving 0.
   - DISPATCH's successors are every pc its classes list and its end;
     CHAIN's are some of those, reached at the same depth 0 with nothing
     on the stack, so CHAIN adds no edge of its own to (c), (d) or (e).
   - no function needs more than VER_MAX_STACK; the largest depth is stored
     in p->max_stack.

   (e) types (one forward pass, as the BPF verifier tracks register types)
   - every stack slot at every pc has an abstract type: the set of value
     types it may hold (nil included).  Where paths merge the sets are
     joined (union); what each instruction pushes follows the result
     column of vm/opcodes.def (ver_result).
   - every value an instruction reads may only have the types its row of
     opcodes.def admits (the builtin's argument types for CALLB), or nil
     (ver_operand): no arithmetic or ordering on a string, list or bool,
     no regex match or builtin on a value it cannot read, no split on a key
     that is not a string, no INL on a value that is not a list.
   - the stacks kept at merge points hold at most VER_MAX_MERGE values per
     instruction on average (plus 65,536): the verifier's memory is linear
     in the code.
   The interpreter is safe on nil and on any operand all the same: a type
   it does not expect gives nil (or false), never a wild read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arith.h"
#include "mem.h"
#include "opcodes.h"
#include "verify.h"

#define PERCENT_WHOLE 1000000
#define NUM_ONE       1000000

static int bad(rv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(rv_err *err, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(err->msg, sizeof err->msg, "verify: ");
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(rv_err *err)
{
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return -1;
}

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

/* 'v' indexes a table of 'n' entries named 'what' (RV_NONE allowed when
   'opt'). */
static int ref(rv_err *err, const char *tbl, uint32_t i, const char *field,
               uint32_t v, uint32_t n, const char *what, int opt)
{
    if (v == RV_NONE && opt)
        return 0;
    if (v == RV_NONE)
        return bad(err, "%s[%u]: %s is missing", tbl, i, field);
    if (v >= n)
        return bad(err, "%s[%u]: %s %u out of range (%u %s)", tbl, i, field,
                   v, n, what);
    return 0;
}

/* [first, first+count) lies inside a table of 'n' entries. */
static int range(rv_err *err, const char *tbl, uint32_t i, const char *field,
                 uint32_t first, uint32_t count, uint32_t n, int nonempty)
{
    if ((uint64_t)first + count > n)
        return bad(err, "%s[%u]: %s [%u, +%u) outside the table (%u entries)",
                   tbl, i, field, first, count, n);
    if (nonempty && count == 0)
        return bad(err, "%s[%u]: %s is empty", tbl, i, field);
    return 0;
}

static int enumv(rv_err *err, const char *tbl, uint32_t i, const char *field,
                 uint32_t v, uint32_t n)
{
    return v < n ? 0 : bad(err, "%s[%u]: %s %u is not a known kind (< %u)",
                           tbl, i, field, v, n);
}

static int nonneg(rv_err *err, const char *tbl, uint32_t i, const char *field,
                  int64_t v)
{
    return v >= 0 ? 0 : bad(err, "%s[%u]: %s is negative (%lld)", tbl, i,
                            field, (long long)v);
}

#define STR(tbl, i, f, v)    TRY(ref(err, tbl, i, f, v, p->nstr, "strings", 0))
#define OPTSTR(tbl, i, f, v) TRY(ref(err, tbl, i, f, v, p->nstr, "strings", 1))
#define LOC(tbl, i, v)       TRY(ref(err, tbl, i, "loc", v, p->nloc, "locs", 0))

/* A function of kind 'kind', or RV_NONE when 'opt'. */
static int fnref(const rv_program *p, rv_err *err, const char *tbl, uint32_t i,
                 const char *field, uint32_t f, uint32_t kind, int opt)
{
    static const char *const kinds[RV_FN__COUNT] = {
        "a route", "a where", "a check", "an expect" };
    TRY(ref(err, tbl, i, field, f, p->nfunc, "functions", opt));
    if (f != RV_NONE && p->funcs[f].kind != kind)
        return bad(err, "%s[%u]: %s %u is not %s function", tbl, i, field, f,
                   kinds[kind]);
    return 0;
}

/* ============================================================== (a) tables */

/* The offset of the first byte that breaks UTF-8 (RFC 3629: no
   overlongs, no surrogates, nothing above U+10FFFF), or SIZE_MAX. */
static size_t utf8_invalid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!len || n - i < len)
            return i;
        uint32_t cp = c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return SIZE_MAX;
}

static int ver_strings(const rv_program *p, rv_err *err)
{
    if (p->nstr && (!p->blob || !p->str_off || !p->str_len))
        return bad(err, "strings: table missing");
    for (uint32_t i = 0; i < p->nstr; i++) {
        uint64_t end = (uint64_t)p->str_off[i] + p->str_len[i];
        if (end >= p->blob_len || p->blob[end] != 0)
            return bad(err, "strings[%u]: outside the blob or not NUL-terminated", i);
        if (memchr(p->blob + p->str_off[i], 0, p->str_len[i]))
            return bad(err, "strings[%u]: contains a NUL byte", i);
        size_t at = utf8_invalid(p->blob + p->str_off[i], p->str_len[i]);
        if (at != SIZE_MAX)
            return bad(err, "strings[%u]: not UTF-8 at byte %zu", i, at);
    }
    return 0;
}

static int ver_consts(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nconst; i++) {
        const rv_const *k = &p->consts[i];
        if (k->type >= RV_T__COUNT || k->type == RV_T_TEXT)
            return bad(err, "consts[%u]: type %u is not a value type", i, k->type);
        switch (k->type) {
        case RV_T_BOOL:
            if (k->i != 0 && k->i != 1)
                return bad(err, "consts[%u]: bool value %lld is not 0 or 1", i,
                           (long long)k->i);
            break;
        case RV_T_STR:   STR("consts", i, "string", k->str); break;
        case RV_T_REGEX:
            TRY(ref(err, "consts", i, "regex", k->str, p->nregex, "regexes", 0));
            break;
        case RV_T_LIST:
            TRY(range(err, "consts", i, "items", k->first, k->count, p->nitem, 0));
            break;
        case RV_T_MODEL: case RV_T_AGENT: case RV_T_GUARDRAIL: case RV_T_PROVIDER: {
            uint32_t n = k->type == RV_T_MODEL ? p->nmodel
                       : k->type == RV_T_AGENT ? p->nagent
                       : k->type == RV_T_GUARDRAIL ? p->nguard : p->nprovider;
            if (k->i < 0 || k->i >= n)
                return bad(err, "consts[%u]: %s %lld out of range (%u)", i,
                           rv_type_names[k->type], (long long)k->i, n);
            break;
        }
        default:
            break;
        }
    }
    for (uint32_t j = 0; j < p->nitem; j++) {
        TRY(ref(err, "items", j, "constant", p->items[j], p->nconst,
                "constants", 0));
        if (p->consts[p->items[j]].type == RV_T_LIST)
            return bad(err, "items[%u]: constant %u is a list (lists do not nest)",
                       j, p->items[j]);
    }
    return 0;
}

uint32_t ver_pcre2_options(uint32_t flags)
{
    uint32_t o = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
    if (flags & RV_RE_CASELESS)  o |= PCRE2_CASELESS;
    if (flags & RV_RE_MULTILINE) o |= PCRE2_MULTILINE;
    if (flags & RV_RE_DOTALL)    o |= PCRE2_DOTALL;
    if (flags & RV_RE_EXTENDED)  o |= PCRE2_EXTENDED;
    return o;
}

/* PCRE2 allocates through mem.h too, so failure injection reaches it. */
static void *re_alloc(PCRE2_SIZE n, void *ud) { (void)ud; return mem_malloc(n); }
static void re_free(void *q, void *ud) { (void)ud; free(q); }

static int ver_regexes(const rv_program *p, rv_err *err)
{
    pcre2_general_context *gc = NULL;
    pcre2_compile_context *cc = NULL;
    int r = 0;
    for (uint32_t i = 0; i < p->nregex && r == 0; i++) {
        const rv_regex *re = &p->regexes[i];
        STR("regexes", i, "pattern", re->pattern);
        if (re->flags & ~RV_RE__ALL)
            return bad(err, "regexes[%u]: unknown flags 0x%x", i, re->flags);
        LOC("regexes", i, re->loc);
    }
    for (uint32_t i = 0; i < p->nregex && r == 0; i++) {
        const rv_regex *re = &p->regexes[i];
        int code;
        PCRE2_SIZE at;
        if (!gc && (!(gc = pcre2_general_context_create(re_alloc, re_free, NULL)) ||
                    !(cc = pcre2_compile_context_create(gc)))) {
            r = oom(err);
            break;
        }
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)rv_str(p, re->pattern),
                                      p->str_len[re->pattern],
                                      ver_pcre2_options(re->flags), &code, &at, cc);
        if (c) {
            pcre2_code_free(c);
        } else if (code == PCRE2_ERROR_HEAP_FAILED) {
            r = oom(err);
        } else {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(code, msg, sizeof msg);
            r = bad(err, "regexes[%u]: pattern does not compile at offset %zu: %s",
                    i, (size_t)at, (char *)msg);
        }
    }
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(gc);
    return r;
}

static int ver_providers(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nprovider; i++) {
        const rv_provider *v = &p->providers[i];
        STR("providers", i, "name", v->name);
        TRY(enumv(err, "providers", i, "kind", v->kind, RV_PROV__COUNT));
        OPTSTR("providers", i, "endpoint", v->endpoint);
        OPTSTR("providers", i, "region", v->region);
        OPTSTR("providers", i, "key_env", v->key_env);
        LOC("providers", i, v->loc);
    }
    return 0;
}

/* A failure-class mask of 'retry_on': 0, or stated with retryable
   classes only. */
static int retry_mask(rv_err *err, const char *tbl, uint32_t i, uint32_t mask)
{
    if (mask && (!(mask & RV_RETRY_STATED) || (mask & ~(RV_RETRY_STATED | RV_RETRY_CLASSES))))
        return bad(err, "%s[%u]: retry_on 0x%x names classes that are never retried", tbl, i, mask);
    return 0;
}

static int retry_count(rv_err *err, const char *tbl, uint32_t i, uint32_t retry)
{
    if (retry != RV_NONE && retry > VER_MAX_RETRY)
        return bad(err, "%s[%u]: retry %u exceeds %d", tbl, i, retry, VER_MAX_RETRY);
    return 0;
}

/* 'fallback on' entries [first, first+count) of 'targets': each with a
   non-empty class mask, and a model when 'models_only'. */
static int onfail_range(const rv_program *p, rv_err *err, const char *tbl, uint32_t i,
                        uint32_t first, uint32_t count, int models_only)
{
    TRY(range(err, tbl, i, "fallback on", first, count, p->ntarget, 0));
    for (uint32_t t = first; t < first + count; t++) {
        if (!p->targets[t].on)
            return bad(err, "%s[%u]: 'fallback on' entry %u names no failure class", tbl, i, t);
        if (models_only && p->targets[t].is_agent)
            return bad(err, "%s[%u]: 'fallback on' entry %u is not a model", tbl, i, t);
    }
    return 0;
}

static int price_class(rv_err *err, uint32_t i, const char *field, int64_t v)
{
    return v >= -1 ? 0 : bad(err, "models[%u]: %s is below -1 (%lld)", i, field, (long long)v);
}

/* The call settings, class prices, limits and parameters of model 'i'. */
static int ver_model_calls(const rv_program *p, uint32_t i, rv_err *err)
{
    const rv_model *m = &p->models[i];
    TRY(price_class(err, i, "price_cached", m->price_cached));
    TRY(price_class(err, i, "price_cache_write", m->price_cache_write));
    TRY(price_class(err, i, "price_reasoning", m->price_reasoning));
    TRY(nonneg(err, "models", i, "timeout", m->timeout));
    TRY(nonneg(err, "models", i, "backoff", m->backoff));
    TRY(nonneg(err, "models", i, "rpm", m->rpm));
    TRY(nonneg(err, "models", i, "tpm", m->tpm));
    TRY(nonneg(err, "models", i, "max_tokens", m->max_tokens));
    TRY(retry_count(err, "models", i, m->retry));
    TRY(retry_mask(err, "models", i, m->retry_on));
    TRY(onfail_range(p, err, "models", i, m->onfail_first, m->onfail_count, 1));
    if (m->params_set >> RV_PARAM__COUNT)
        return bad(err, "models[%u]: unknown parameter bits 0x%x", i, m->params_set);
    for (int k = 0; k < RV_PARAM__COUNT; k++)
        if ((m->params_set >> k & 1) && (m->params[k] < rv_params[k].lo || m->params[k] > rv_params[k].hi))
            return bad(err, "models[%u]: %s %lld out of range", i, rv_params[k].name, (long long)m->params[k]);
    if (m->tags != RV_NONE) {
        TRY(ref(err, "models", i, "tags", m->tags, p->nconst, "constants", 0));
        const rv_const *k = &p->consts[m->tags];
        if (k->type != RV_T_LIST)
            return bad(err, "models[%u]: tags constant %u is not a list", i, m->tags);
        for (uint32_t j = k->first; j < k->first + k->count; j++) {
            const rv_const *t = &p->consts[p->items[j]];
            if (t->type != RV_T_STR || p->str_len[t->str] == 0)
                return bad(err, "models[%u]: tag %u is not a non-empty string", i, j - k->first);
        }
    }
    if (m->stop != RV_NONE) {
        TRY(ref(err, "models", i, "stop", m->stop, p->nconst, "constants", 0));
        const rv_const *k = &p->consts[m->stop];
        if (k->type != RV_T_LIST || k->count < 1 || k->count > RV_MAX_STOP)
            return bad(err, "models[%u]: stop constant %u is not a list of 1 to %d strings", i, m->stop, RV_MAX_STOP);
        for (uint32_t j = k->first; j < k->first + k->count; j++) {
            const rv_const *s = &p->consts[p->items[j]];
            if (s->type != RV_T_STR || p->str_len[s->str] == 0)
                return bad(err, "models[%u]: stop sequence %u is not a non-empty string", i, j - k->first);
        }
    }
    return 0;
}

static int ver_models(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nmodel; i++) {
        const rv_model *m = &p->models[i];
        STR("models", i, "name", m->name);
        TRY(ref(err, "models", i, "provider", m->provider, p->nprovider, "providers", 0));
        STR("models", i, "id", m->id);
        OPTSTR("models", i, "system", m->system);
        TRY(nonneg(err, "models", i, "price_in", m->price_in));
        TRY(nonneg(err, "models", i, "price_out", m->price_out));
        TRY(nonneg(err, "models", i, "context", m->context));
        TRY(nonneg(err, "models", i, "max_output", m->max_output));
        TRY(nonneg(err, "models", i, "latency", m->latency));
        if (m->caps >> RV_CAP__COUNT)
            return bad(err, "models[%u]: unknown capability bits 0x%x", i, m->caps);
        TRY(ver_model_calls(p, i, err));
        LOC("models", i, m->loc);
    }
    return 0;
}

static int ver_guards(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->ngaction; i++) {
        const rv_gaction *a = &p->gactions[i];
        TRY(enumv(err, "gactions", i, "kind", a->kind, RV_GA__COUNT));
        TRY(enumv(err, "gactions", i, "dir", a->dir, RV_DIR__COUNT));
        if (a->kind == RV_GA_LIMIT) {
            TRY(nonneg(err, "gactions", i, "limit", a->limit));
        } else {
            TRY(ref(err, "gactions", i, "regex", a->regex, p->nregex, "regexes", 0));
            STR("gactions", i, "text", a->text);
        }
        LOC("gactions", i, a->loc);
    }
    for (uint32_t i = 0; i < p->nguard; i++) {
        const rv_guardrail *g = &p->guards[i];
        STR("guards", i, "name", g->name);
        TRY(range(err, "guards", i, "actions", g->first, g->count, p->ngaction, 0));
        LOC("guards", i, g->loc);
    }
    for (uint32_t i = 0; i < p->nguard_ref; i++)
        TRY(ref(err, "guard_refs", i, "guardrail", p->guard_refs[i], p->nguard,
                "guardrails", 0));
    return 0;
}

static int ver_refs(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->ntarget; i++) {
        const rv_target *t = &p->targets[i];
        if (t->is_agent > 1)
            return bad(err, "targets[%u]: is_agent %u is not 0 or 1", i, t->is_agent);
        TRY(t->is_agent
            ? ref(err, "targets", i, "agent", t->index, p->nagent, "agents", 0)
            : ref(err, "targets", i, "model", t->index, p->nmodel, "models", 0));
        if (t->on & ~RV_FALLBACK_CLASSES)
            return bad(err, "targets[%u]: 'on' 0x%x names classes that never fall back", i, t->on);
    }
    for (uint32_t i = 0; i < p->nmodel_ref; i++)
        TRY(ref(err, "model_refs", i, "model", p->model_refs[i], p->nmodel,
                "models", 0));
    return 0;
}

/* Fills 'owner' (ncode entries) with the function of each instruction. */
static int ver_funcs(const rv_program *p, uint32_t *owner, rv_err *err)
{
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        owner[pc] = RV_NONE;
    for (uint32_t i = 0; i < p->nfunc; i++) {
        const rv_func *f = &p->funcs[i];
        TRY(enumv(err, "funcs", i, "kind", f->kind, RV_FN__COUNT));
        if (f->start >= f->end || f->end > p->ncode)
            return bad(err, "funcs[%u]: code [%u, %u) is empty or outside the code (%u instructions)",
                       i, f->start, f->end, p->ncode);
        for (uint32_t pc = f->start; pc < f->end; pc++) {
            if (owner[pc] != RV_NONE)
                return bad(err, "funcs[%u]: overlaps function %u at pc %u", i,
                           owner[pc], pc);
            owner[pc] = i;
        }
    }
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (owner[pc] == RV_NONE)
            return bad(err, "code[%u]: instruction belongs to no function", pc);
    return 0;
}

static int ver_agents(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nagent; i++) {
        const rv_agent *a = &p->agents[i];
        STR("agents", i, "name", a->name);
        TRY(range(err, "agents", i, "guards", a->guard_first, a->guard_count,
                  p->nguard_ref, 0));
        TRY(nonneg(err, "agents", i, "budget_request", a->budget_request));
        TRY(nonneg(err, "agents", i, "budget_day", a->budget_day));
        TRY(fnref(p, err, "agents", i, "func", a->func, RV_FN_ROUTE, 0));
        TRY(range(err, "agents", i, "fallback", a->fallback_first,
                  a->fallback_count, p->ntarget, 0));
        if (a->retry > VER_MAX_RETRY)
            return bad(err, "agents[%u]: retry %u exceeds %d", i, a->retry,
                       VER_MAX_RETRY);
        TRY(retry_mask(err, "agents", i, a->retry_on));
        for (uint32_t t = a->fallback_first; t < a->fallback_first + a->fallback_count; t++)
            if (p->targets[t].on)
                return bad(err, "agents[%u]: fallback entry %u has a failure class", i, t);
        TRY(onfail_range(p, err, "agents", i, a->onfail_first, a->onfail_count, 0));
        TRY(nonneg(err, "agents", i, "backoff", a->backoff));
        TRY(nonneg(err, "agents", i, "timeout", a->timeout));
        TRY(range(err, "agents", i, "rules", a->rule_first, a->rule_count,
                  p->nrule, 0));
        for (uint32_t r = a->rule_first; r < a->rule_first + a->rule_count; r++)
            if (p->rules[r].agent != i)
                return bad(err, "agents[%u]: rule %u belongs to agent %u", i, r,
                           p->rules[r].agent);
        if (a->worst_cost != RV_COST_UNBOUNDED)
            TRY(nonneg(err, "agents", i, "worst_cost", a->worst_cost));
        LOC("agents", i, a->loc);
    }
    for (uint32_t i = 0; i < p->nrule; i++) {
        const rv_rule *r = &p->rules[i];
        TRY(ref(err, "rules", i, "agent", r->agent, p->nagent, "agents", 0));
        if (r->number == 0)
            return bad(err, "rules[%u]: number 0 (rules count from 1)", i);
        OPTSTR("rules", i, "reason", r->reason);
        if (r->otherwise > 1)
            return bad(err, "rules[%u]: otherwise %u is not 0 or 1", i, r->otherwise);
        TRY(nonneg(err, "rules", i, "timeout", r->timeout));
        TRY(nonneg(err, "rules", i, "backoff", r->backoff));
        TRY(retry_count(err, "rules", i, r->retry));
        TRY(retry_mask(err, "rules", i, r->retry_on));
        LOC("rules", i, r->loc);
    }
    return 0;
}

/* 'armown' has narm entries. */
/* Metadata tests: a string key, a scalar constant for == and !=, a list
   for in and not in (the target is checked with the JMT that uses it). */
static int ver_mtests(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nmtest; i++) {
        const rv_mtest *t = &p->mtests[i];
        TRY(enumv(err, "mtests", i, "op", t->op, RV_MT__COUNT));
        if (t->key >= p->nstr && t->key != RV_NONE)
            return bad(err, "mtests[%u]: key string %u out of range (%u)", i, t->key, p->nstr);
        if (t->konst >= p->nconst)
            return bad(err, "mtests[%u]: constant %u out of range (%u)", i, t->konst, p->nconst);
        int list = p->consts[t->konst].type == RV_T_LIST;
        if (list != (t->op == RV_MT_IN || t->op == RV_MT_NOTIN))
            return bad(err, "mtests[%u]: constant %u %s a list", i, t->konst, list ? "is" : "is not");
        if (t->key != RV_NONE && t->op <= RV_MT_NE && p->consts[t->konst].type != RV_T_STR)
            return bad(err, "mtests[%u]: metadata is compared with constant %u, which is not a string", i, t->konst);
        if (t->key == RV_NONE ? t->op == RV_MT_IN || t->op == RV_MT_NOTIN : t->op >= RV_MT_LT)
            return bad(err, "mtests[%u]: op %u does not go with %s", i, t->op, t->key == RV_NONE ? "a stack test" : "a key");
    }
    return 0;
}

static int ver_strategies(const rv_program *p, uint32_t *armown, rv_err *err)
{
    for (uint32_t i = 0; i < p->nchoice; i++) {
        const rv_choice *c = &p->choices[i];
        TRY(enumv(err, "choices", i, "kind", c->kind, RV_CHOOSE_FASTEST + 1));
        TRY(range(err, "choices", i, "models", c->first, c->count, p->nmodel_ref, 1));
        TRY(fnref(p, err, "choices", i, "where", c->where, RV_FN_WHERE, 1));
        LOC("choices", i, c->loc);
    }
    for (uint32_t i = 0; i < p->ncascade; i++) {
        const rv_cascade *c = &p->cascades[i];
        TRY(range(err, "cascades", i, "models", c->first, c->count, p->nmodel_ref, 1));
        TRY(enumv(err, "cascades", i, "by", c->by, RV_BY_CHECK + 1));
        TRY(ref(err, "cascades", i, "judge", c->judge, p->nmodel, "models",
                c->by != RV_BY_JUDGE));
        TRY(fnref(p, err, "cascades", i, "check", c->check, RV_FN_CHECK,
                  c->by != RV_BY_CHECK));
        LOC("cascades", i, c->loc);
    }
    for (uint32_t i = 0; i < p->narm; i++) {
        TRY(nonneg(err, "arms", i, "share", p->arms[i].share));
        if (p->arms[i].share > PERCENT_WHOLE)
            return bad(err, "arms[%u]: share above 100%%", i);
        if (p->arms[i].target >= p->ncode)
            return bad(err, "arms[%u]: target %u outside the code (%u instructions)",
                       i, p->arms[i].target, p->ncode);
    }
    for (uint32_t a = 0; a < p->narm; a++)
        armown[a] = RV_NONE;
    for (uint32_t i = 0; i < p->nsplit; i++) {
        const rv_split *s = &p->splits[i];
        int64_t sum = 0;
        TRY(range(err, "splits", i, "arms", s->first, s->count, p->narm, 1));
        for (uint32_t a = s->first; a < s->first + s->count; a++) {
            if (armown[a] != RV_NONE)
                return bad(err, "splits[%u]: arm %u already belongs to split %u",
                           i, a, armown[a]);
            armown[a] = i;
            sum += p->arms[a].share;    /* each <= 1e6, count < 2^32: no overflow */
        }
        if (sum != PERCENT_WHOLE)
            return bad(err, "splits[%u]: shares sum to %lld millionths, not 100%%",
                       i, (long long)sum);
        LOC("splits", i, s->loc);
    }
    for (uint32_t i = 0; i < p->nhook; i++) {
        STR("hooks", i, "url", p->hooks[i].url);
        TRY(nonneg(err, "hooks", i, "timeout", p->hooks[i].timeout));
        LOC("hooks", i, p->hooks[i].loc);
    }
    return 0;
}

/* 'nexpect' has nfunc+1 entries: nexpect[i] counts EXPECT functions below
   i, so a range is checked in constant time however the ranges overlap. */
static int ver_dispatches(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->ndispatch; i++) {
        const rv_dispatch *d = &p->dispatches[i];
        TRY(ref(err, "dispatches", i, "key", d->key, p->nstr, "strings", 0));
        TRY(range(err, "dispatches", i, "values", d->vfirst, d->vcount, p->ndvalue, 0));
        TRY(range(err, "dispatches", i, "classes", d->cfirst, d->ccount, p->ndclass, 1));
        for (uint32_t v = d->vfirst; v < d->vfirst + d->vcount; v++) {
            TRY(ref(err, "dvalues", v, "value", p->dvalues[v].value, p->nstr, "strings", 0));
            if (p->dvalues[v].cls == 0 || p->dvalues[v].cls >= d->ccount)
                return bad(err, "dvalues[%u]: class %u outside [1, %u) of dispatch %u", v,
                           p->dvalues[v].cls, d->ccount, i);
        }
    }
    for (uint32_t c = 0; c < p->ndclass; c++)
        TRY(range(err, "dclasses", c, "pcs", p->dclasses[c].first, p->dclasses[c].count, p->ndpc, 0));
    return 0;
}

/* DISPATCH at 'pc' in function 'f': its end and every listed pc lie after
   it, before the end, ascending within each class. */
static int ver_dispatch_at(const rv_program *p, const rv_func *f, uint32_t pc, uint32_t k, rv_err *err)
{
    const rv_dispatch *d = &p->dispatches[k];
    if (d->end <= pc || d->end >= f->end)
        return bad(err, "code[%u]: dispatch %u end %u outside (%u, %u)", pc, k, d->end, pc, f->end);
    for (uint32_t c = d->cfirst; c < d->cfirst + d->ccount; c++) {
        uint32_t last = pc;
        for (uint32_t i = p->dclasses[c].first; i < p->dclasses[c].first + p->dclasses[c].count; i++) {
            if (p->dpcs[i] <= last || p->dpcs[i] >= d->end)
                return bad(err, "code[%u]: dispatch %u class %u lists pc %u, not in (%u, %u) ascending",
                           pc, k, c - d->cfirst, p->dpcs[i], last, d->end);
            last = p->dpcs[i];
        }
    }
    return 0;
}

/* Calls fn(ctx, t) for every pc DISPATCH 'k' may jump to (a pc listed
   twice is passed twice). */
static void each_dispatch_target(const rv_program *p, uint32_t k, void (*fn)(void *ctx, uint32_t t), void *ctx)
{
    const rv_dispatch *d = &p->dispatches[k];
    for (uint32_t c = d->cfirst; c < d->cfirst + d->ccount; c++)
        for (uint32_t i = p->dclasses[c].first; i < p->dclasses[c].first + p->dclasses[c].count; i++)
            fn(ctx, p->dpcs[i]);
    fn(ctx, d->end);
}

static int ver_tests(const rv_program *p, uint32_t *nexpect, rv_err *err)
{
    nexpect[0] = 0;
    for (uint32_t i = 0; i < p->nfunc; i++)
        nexpect[i + 1] = nexpect[i] + (p->funcs[i].kind == RV_FN_EXPECT);
    for (uint32_t i = 0; i < p->ngiven; i++) {
        const rv_given *g = &p->givens[i];
        TRY(enumv(err, "givens", i, "kind", g->kind, RV_GIVEN__COUNT));
        TRY(ref(err, "givens", i, "model", g->model, p->nmodel, "models", 0));
        if (g->kind == RV_GIVEN_HOOK)
            TRY(ref(err, "givens", i, "hook", g->hook, p->nhook, "hooks", 1));
        else
            STR("givens", i, "text", g->text);
        if (g->kind == RV_GIVEN_ANSWER && g->confidence != -1 &&
            (g->confidence < 0 || g->confidence > NUM_ONE))
            return bad(err, "givens[%u]: confidence %lld is neither -1 nor in [0, 1]",
                       i, (long long)g->confidence);
    }
    for (uint32_t i = 0; i < p->ntest; i++) {
        const rv_test *t = &p->tests[i];
        STR("tests", i, "name", t->name);
        TRY(ref(err, "tests", i, "agent", t->agent, p->nagent, "agents", 0));
        STR("tests", i, "request", t->request);
        TRY(range(err, "tests", i, "givens", t->given_first, t->given_count,
                  p->ngiven, 0));
        TRY(range(err, "tests", i, "expect", t->expect, t->expect_count,
                  p->nfunc, 0));
        if (nexpect[t->expect + t->expect_count] - nexpect[t->expect] != t->expect_count)
            return bad(err, "tests[%u]: expect [%u, +%u) holds a function that is not an expect function",
                       i, t->expect, t->expect_count);
        LOC("tests", i, t->loc);
    }
    return 0;
}

static int ver_locs(const rv_program *p, rv_err *err)
{
    for (uint32_t i = 0; i < p->nloc; i++)
        TRY(ref(err, "locs", i, "file", p->locs[i].file, p->nfile, "files", 0));
    for (uint32_t i = 0; i < p->nfile; i++) {
        STR("files", i, "name", p->files[i].name);
        STR("files", i, "text", p->files[i].text);
    }
    if (p->ncode && !p->pc_loc)
        return bad(err, "code: no source map");
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (p->pc_loc[pc] >= p->nloc)
            return bad(err, "code[%u]: source location %u out of range (%u locs)",
                       pc, p->pc_loc[pc], p->nloc);
    return 0;
}

/* ======================================================= (b) instructions */

/* Which function kinds may contain 'op' (bit k: rv_fnkind k). */
static unsigned allowed_in(rv_opcode op)
{
    switch (op) {
    case OP_LDCAND: case OP_CANDCAP: return 1u << RV_FN_WHERE;
    case OP_LDRESP:                  return 1u << RV_FN_CHECK;
    case OP_LDDEC:                   return 1u << RV_FN_EXPECT;
    case OP_RULE: case OP_DECIDE: case OP_DELEGATE: case OP_CHOOSE:
    case OP_CASCADE: case OP_SPLIT: case OP_HOOK: case OP_FAIL:
    case OP_DISPATCH: case OP_CHAIN:
                                     return 1u << RV_FN_ROUTE;
    case OP_RET:                     return ~(1u << RV_FN_ROUTE);
    default:                         return ~0u;
    }
}

/* The bound of each operand kind's index (0: no index). */
static uint32_t arg_bound(const rv_program *p, rv_argkind k)
{
    switch (k) {
    case A_NONE:      return 1;
    case A_BOOL:      return 2;
    case A_CONST:     return p->nconst;
    case A_REQFIELD:  return RV_REQ__COUNT;
    case A_STR:       return p->nstr;
    case A_CANDFIELD: return RV_CAND__COUNT;
    case A_CAP:       return RV_CAP__COUNT;
    case A_RESPFIELD: return RV_RESP__COUNT;
    case A_DECFIELD:  return RV_DEC__COUNT;
    case A_REGEX:     return p->nregex;
    case A_BUILTIN:   return RV_BI__COUNT;
    case A_RULE:      return p->nrule;
    case A_MODEL:     return p->nmodel;
    case A_AGENT:     return p->nagent;
    case A_CHOICE:    return p->nchoice;
    case A_CASCADE:   return p->ncascade;
    case A_SPLIT:     return p->nsplit;
    case A_HOOK:      return p->nhook;
    case A_MTEST:     return p->nmtest;
    case A_DISPATCH:  return p->ndispatch;
    case A_JUMP:      break;
    }
    return 0;
}

/* 'splituse' has nsplit entries, RV_NONE until a SPLIT uses the split;
   'mtuse' and 'dispuse' likewise for fused tests and dispatches. */
static int ver_instr(const rv_program *p, uint32_t fi, uint32_t pc,
                     uint32_t *splituse, uint32_t *mtuse, uint32_t *dispuse, rv_err *err)
{
    static const char *const kinds[RV_FN__COUNT] = {
        "a route", "a where", "a check", "an expect" };
    const rv_func *f = &p->funcs[fi];
    uint32_t w = p->code[pc];
    rv_opcode op = INS_OP(w);
    if (op >= OP__COUNT)
        return bad(err, "code[%u]: unknown opcode %u", pc, (unsigned)op);
    const rv_opinfo *in = &rv_ops[op];
    if (in->kind == A_JUMP) {
        int64_t t = (int64_t)pc + 1 + INS_SARG(w);
        if (INS_SARG(w) < 0)
            return bad(err, "code[%u]: %s jumps backward (offset %d)", pc,
                       in->name, INS_SARG(w));
        if (t >= f->end)
            return bad(err, "code[%u]: jump target %lld outside function %u [%u, %u)",
                       pc, (long long)t, fi, f->start, f->end);
    } else if (INS_ARG(w) >= arg_bound(p, in->kind)) {
        return bad(err, "code[%u]: %s operand %u out of range (%u)", pc,
                   in->name, INS_ARG(w), arg_bound(p, in->kind));
    }
    if (op == OP_INK && p->consts[INS_ARG(w)].type != RV_T_LIST)
        return bad(err, "code[%u]: INK constant %u is not a list", pc, INS_ARG(w));
    if ((op == OP_EQK || op == OP_NEK) && p->consts[INS_ARG(w)].type == RV_T_LIST)
        return bad(err, "code[%u]: %s constant %u is a list", pc, in->name, INS_ARG(w));
    if (!(allowed_in(op) >> f->kind & 1))
        return bad(err, "code[%u]: %s not allowed in %s function (function %u)",
                   pc, in->name, kinds[f->kind], fi);
    if (op == OP_JMT || op == OP_JKT) {
        const rv_mtest *t = &p->mtests[INS_ARG(w)];
        if ((t->key == RV_NONE) != (op == OP_JKT))
            return bad(err, "code[%u]: %s with mtest %u, which %s a key", pc, in->name, INS_ARG(w),
                       t->key == RV_NONE ? "has no" : "has");
        if (mtuse[INS_ARG(w)] != RV_NONE)
            return bad(err, "code[%u]: mtest %u already used at pc %u", pc, INS_ARG(w), mtuse[INS_ARG(w)]);
        mtuse[INS_ARG(w)] = pc;
        if (t->target <= pc || t->target >= f->end)
            return bad(err, "code[%u]: mtest %u target %u outside (%u, %u)", pc, INS_ARG(w), t->target, pc, f->end);
    }
    if (op == OP_DISPATCH) {
        if (dispuse[INS_ARG(w)] != RV_NONE)
            return bad(err, "code[%u]: dispatch %u already used at pc %u", pc, INS_ARG(w), dispuse[INS_ARG(w)]);
        dispuse[INS_ARG(w)] = pc;
        TRY(ver_dispatch_at(p, f, pc, INS_ARG(w), err));
    }
    if (op == OP_CHAIN) {
        uint32_t k = INS_ARG(w);
        if (dispuse[k] == RV_NONE || dispuse[k] < f->start)
            return bad(err, "code[%u]: CHAIN of dispatch %u before (or without) its DISPATCH", pc, k);
        if (p->dispatches[k].end <= pc)
            return bad(err, "code[%u]: CHAIN after the end %u of dispatch %u", pc, p->dispatches[k].end, k);
    }
    if (op == OP_SPLIT) {
        const rv_split *s = &p->splits[INS_ARG(w)];
        if (splituse[INS_ARG(w)] != RV_NONE)
            return bad(err, "code[%u]: split %u already used at pc %u", pc,
                       INS_ARG(w), splituse[INS_ARG(w)]);
        splituse[INS_ARG(w)] = pc;
        for (uint32_t a = s->first; a < s->first + s->count; a++)
            if (p->arms[a].target <= pc || p->arms[a].target >= f->end)
                return bad(err, "code[%u]: split %u arm %u target %u outside (%u, %u)",
                           pc, INS_ARG(w), a - s->first, p->arms[a].target, pc,
                           f->end);
    }
    return 0;
}

/* ======================================== (c) control flow, (d) stack depth */

/* Merges depth 'd' into successor 's' of 'pc'. */
static int merge(int32_t *depth, uint32_t pc, uint32_t s, int32_t d, rv_err *err)
{
    if (depth[s] < 0)
        depth[s] = d;
    else if (depth[s] != d)
        return bad(err, "code[%u]: stack depth %d from pc %u but %d on another path",
                   s, d, pc, depth[s]);
    return 0;
}

/* Propagates depth 'd' after the instruction at 'pc' to its successors. */
static int successors(const rv_program *p, uint32_t pc, int32_t d,
                      int32_t *depth, rv_err *err)
{
    uint32_t w = p->code[pc];
    rv_opcode op = INS_OP(w);
    if (!OP_NO_FALLTHROUGH(op))
        TRY(merge(depth, pc, pc + 1, d, err));
    if (rv_ops[op].kind == A_JUMP)
        TRY(merge(depth, pc, (uint32_t)((int64_t)pc + 1 + INS_SARG(w)), d, err));
    if (op == OP_SPLIT) {
        const rv_split *s = &p->splits[INS_ARG(w)];
        for (uint32_t a = s->first; a < s->first + s->count; a++)
            TRY(merge(depth, pc, p->arms[a].target, d, err));
    }
    if (op == OP_JMT || op == OP_JKT)
        TRY(merge(depth, pc, p->mtests[INS_ARG(w)].target, d, err));
    if (op == OP_DISPATCH) {
        const rv_dispatch *ds = &p->dispatches[INS_ARG(w)];
        for (uint32_t c = ds->cfirst; c < ds->cfirst + ds->ccount; c++)
            for (uint32_t i = p->dclasses[c].first; i < p->dclasses[c].first + p->dclasses[c].count; i++)
                TRY(merge(depth, pc, p->dpcs[i], d, err));
        TRY(merge(depth, pc, ds->end, d, err));
    }
    return 0;
}

static int ver_flow(const rv_program *p, const rv_func *f, uint32_t fi,
                    int32_t *mark, rv_err *err)
{
    rv_opcode last = INS_OP(p->code[f->end - 1]);
    if (!OP_NO_FALLTHROUGH(last))
        return bad(err, "code[%u]: function %u ends with %s, which falls through",
                   f->end - 1, fi, rv_ops[last].name);
    mark[f->start] = 0;
    for (uint32_t pc = f->start; pc < f->end; pc++) {
        if (mark[pc] < 0)
            return bad(err, "code[%u]: unreachable instruction at pc %u", pc, pc);
        TRY(successors(p, pc, 0, mark, err));
    }
    return 0;
}

/* Delegation and agent fallbacks must not loop.  Each route function is
   a node with an edge to the function of every agent it DELEGATEs to, and
   of every agent that one of its agents falls back to; retire nodes whose
   edges all lead to retired nodes (Kahn's algorithm, backwards), and
   whatever remains is on a cycle or leads into one.  Linear in code,
   functions and fallback targets. */
static void each_edge(const rv_program *p, const uint32_t *owner,
                      void (*fn)(void *ctx, uint32_t from, uint32_t to), void *ctx)
{
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (INS_OP(p->code[pc]) == OP_DELEGATE)
            fn(ctx, owner[pc], p->agents[INS_ARG(p->code[pc])].func);
    for (uint32_t i = 0; i < p->nagent; i++) {
        const rv_agent *a = &p->agents[i];
        for (uint32_t t = a->fallback_first; t < a->fallback_first + a->fallback_count; t++)
            if (p->targets[t].is_agent)
                fn(ctx, a->func, p->agents[p->targets[t].index].func);
        for (uint32_t t = a->onfail_first; t < a->onfail_first + a->onfail_count; t++)
            if (p->targets[t].is_agent)
                fn(ctx, a->func, p->agents[p->targets[t].index].func);
    }
}

typedef struct { uint32_t *out, *first, *src, nedge; } edges;

static void count_edge(void *ctx, uint32_t from, uint32_t to)
{
    edges *e = ctx;
    e->out[from]++;
    e->first[to]++;
    e->nedge++;
}

static void place_edge(void *ctx, uint32_t from, uint32_t to)
{
    edges *e = ctx;
    e->src[--e->first[to]] = from;
}

static int ver_delegation(const rv_program *p, const uint32_t *owner, rv_err *err)
{
    edges e = { mem_calloc(p->nfunc, sizeof *e.out),        /* live edges */
                mem_calloc((size_t)p->nfunc + 1, sizeof *e.first), NULL, 0 };
    uint32_t *queue = mem_calloc(p->nfunc, sizeof *queue);
    uint32_t head = 0, tail = 0;
    int r = -1;
    if (!e.out || !e.first || !queue)
        goto nomem;
    each_edge(p, owner, count_edge, &e);
    if (!(e.src = mem_calloc(e.nedge, sizeof *e.src)))
        goto nomem;
    for (uint32_t i = 1; i < p->nfunc; i++)
        e.first[i] += e.first[i - 1];       /* the end of i's edges, for now */
    e.first[p->nfunc] = e.nedge;
    each_edge(p, owner, place_edge, &e);    /* edges into i: [first[i], first[i+1]) */
    for (uint32_t i = 0; i < p->nfunc; i++)
        if (e.out[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        uint32_t f = queue[head++];
        for (uint32_t k = e.first[f]; k < e.first[f + 1]; k++)
            if (--e.out[e.src[k]] == 0)
                queue[tail++] = e.src[k];
    }
    r = 0;
    for (uint32_t i = 0; i < p->nagent && r == 0; i++)
        if (e.out[p->agents[i].func])
            r = bad(err, "agents[%u]: delegation or fallback from '%s' never ends (it loops)",
                    i, rv_str(p, p->agents[i].name));
    goto done;
nomem:
    r = oom(err);
done:
    free(e.out);
    free(e.first);
    free(queue);
    free(e.src);
    return r;
}

/* The depth an instruction must run at, or -1 for any. */
static int32_t exact_depth(rv_opcode op)
{
    switch (op) {
    case OP_RET: case OP_SPLIT:  return 1;
    case OP_DECIDE: case OP_DELEGATE: case OP_CHOOSE: case OP_CASCADE:
    case OP_FAIL: case OP_RULE: case OP_HOOK: case OP_DISPATCH: case OP_CHAIN:
                                 return 0;
    default:                     return -1;
    }
}

static int ver_stack(rv_program *p, const rv_func *f, int32_t *depth, rv_err *err)
{
    depth[f->start] = 0;
    for (uint32_t pc = f->start; pc < f->end; pc++) {
        uint32_t w = p->code[pc];
        rv_opcode op = INS_OP(w);
        int32_t d = depth[pc], exact = exact_depth(op);
        int32_t pops = op == OP_CALLB ? rv_builtins[INS_ARG(w)].arity : rv_ops[op].pop;
        int32_t need = op == OP_JMPFK || op == OP_JMPTK ? 1 : pops;  /* read top */
        if (d < need)
            return bad(err, "code[%u]: stack underflow: %s needs %d, depth is %d",
                       pc, rv_ops[op].name, need, d);
        if (exact >= 0 && d != exact)
            return bad(err, "code[%u]: %s at stack depth %d, must be %d", pc,
                       rv_ops[op].name, d, exact);
        int32_t nd = d - pops + rv_ops[op].push;
        if (nd > VER_MAX_STACK)
            return bad(err, "code[%u]: stack depth %d exceeds the limit %d", pc,
                       nd, VER_MAX_STACK);
        if ((uint32_t)nd > p->max_stack)
            p->max_stack = (uint32_t)nd;
        TRY(successors(p, pc, nd, depth, err));
    }
    return 0;
}

/* ============================================================== (e) types */

/* How many values the instruction reads (pops, or peeks for JMPFK and
   JMPTK). */
static int reads(uint32_t w)
{
    rv_opcode op = INS_OP(w);
    if (op == OP_CALLB)
        return rv_builtins[INS_ARG(w)].arity;
    return op == OP_JMPFK || op == OP_JMPTK ? 1 : rv_ops[op].pop;
}

static rv_tset of_type(rv_type t)
{
    return t == RV_T_TEXT ? TS_TEXT : 1u << t;
}

rv_tset ver_operand(const rv_program *p, uint32_t pc, int i)
{
    uint32_t w = p->code[pc];
    if (INS_OP(w) == OP_CALLB)
        return of_type(rv_builtins[INS_ARG(w)].arg[i]) | TS(NIL);
    return rv_ops[INS_OP(w)].in[i] | TS(NIL);
}

/* R_FIELD: the type of field 'f' of the table the operand kind names.
   Decision fields may be nil (no model, no guardrail). */
static rv_tset field_type(rv_argkind kind, uint32_t f)
{
    switch (kind) {
    case A_REQFIELD:  return of_type(rv_reqfields[f].type);
    case A_CANDFIELD: return of_type(rv_candfields[f].type);
    case A_RESPFIELD: return of_type(rv_respfields[f].type);
    case A_DECFIELD:  return of_type(rv_decfields[f].type) | TS(NIL);
    default:          return TS_ANY;
    }
}

/* R_ARITH: the unit rule of arith.h over every pair of operand types;
   nil for what does not combine, and always possible (overflow, division
   by zero, a nil operand). */
static rv_tset arith_types(rv_opcode op, rv_tset a, rv_tset b)
{
    rv_tset r = TS(NIL);
    for (int x = 0; x < RV_T__COUNT; x++)
        for (int y = 0; y < RV_T__COUNT; y++)
            if ((a >> x & 1) && (b >> y & 1))
                r |= 1u << arith_type((arith_op)(op - OP_ADD), (rv_type)x, (rv_type)y);
    return r;
}

rv_tset ver_result(const rv_program *p, uint32_t pc, const rv_tset *arg)
{
    uint32_t w = p->code[pc];
    rv_opcode op = INS_OP(w);
    switch (rv_ops[op].out) {
    case R_NONE:    return 0;
    case R_BOOL:    return TS(BOOL);
    case R_CONST:   return 1u << p->consts[INS_ARG(w)].type;
    case R_FIELD:   return field_type(rv_ops[op].kind, INS_ARG(w));
    case R_META:    return TS(STR) | TS(NIL);
    case R_SAME:    return (arg[0] & rv_ops[op].in[0]) | TS(NIL);
    case R_ARITH:   return arith_types(op, arg[0], arg[1]);
    case R_BUILTIN: return of_type(rv_builtins[INS_ARG(w)].ret) | TS(NIL);
    }
    return TS_ANY;
}

/* The abstract stack: one type set per slot.  The state flowing out of
   an instruction into the next is 'cur'; a state arriving by a jump, a
   split arm or a fused test is joined (set union) into the target's
   slots in 'pool', which start empty.  All jumps go forward, so one pass
   in pc order sees every predecessor of an instruction before it. */
typedef struct {
    const rv_program *p;
    const int32_t *depth;
    uint32_t *soff;             /* per pc: its slots in 'pool', or RV_NONE */
    rv_tset *pool;
    rv_tset cur[VER_MAX_STACK + 1];
} types;

static void join(rv_tset *into, const rv_tset *from, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        into[i] |= from[i];
}

/* Calls fn(ctx, t) for every target 't' the instruction at 'pc' reaches
   other than by falling through. */
static void each_target(const rv_program *p, uint32_t pc,
                        void (*fn)(void *ctx, uint32_t t), void *ctx)
{
    uint32_t w = p->code[pc];
    rv_opcode op = INS_OP(w);
    if (rv_ops[op].kind == A_JUMP)
        fn(ctx, (uint32_t)((int64_t)pc + 1 + INS_SARG(w)));
    if (op == OP_SPLIT) {
        const rv_split *s = &p->splits[INS_ARG(w)];
        for (uint32_t a = s->first; a < s->first + s->count; a++)
            fn(ctx, p->arms[a].target);
    }
    if (op == OP_JMT || op == OP_JKT)
        fn(ctx, p->mtests[INS_ARG(w)].target);
    if (op == OP_DISPATCH)
        each_dispatch_target(p, INS_ARG(w), fn, ctx);
}

static void mark_target(void *ctx, uint32_t t) { ((types *)ctx)->soff[t] = 0; }

static void join_target(void *ctx, uint32_t t)
{
    types *ts = ctx;
    join(ts->pool + ts->soff[t], ts->cur, ts->depth[t]);
}

/* Gives every merge target its slots; refuses more than VER_MAX_MERGE
   slots per instruction on average (a bound on the verifier's memory). */
static int alloc_states(types *ts, rv_err *err)
{
    const rv_program *p = ts->p;
    uint64_t n = 0, limit = (uint64_t)VER_MAX_MERGE * p->ncode + 65536;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        ts->soff[pc] = RV_NONE;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        each_target(p, pc, mark_target, ts);
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (ts->soff[pc] != RV_NONE) {
            ts->soff[pc] = (uint32_t)n;
            n += (uint64_t)ts->depth[pc];
            if (n > limit)
                return bad(err, "code[%u]: the stacks at merge points hold more than %llu values "
                           "(%u per instruction)", pc, (unsigned long long)limit, VER_MAX_MERGE);
        }
    if (!(ts->pool = mem_calloc(n + 1, sizeof *ts->pool)))
        return oom(err);
    return 0;
}

/* Operand 'i' of the instruction at 'pc' holds 'have': each of its types
   must be one the opcode takes. */
static int check_operand(const rv_program *p, uint32_t pc, int i, int n, rv_tset have, rv_err *err)
{
    rv_tset stray = have & ~ver_operand(p, pc, i);
    if (!stray)
        return 0;
    int t = __builtin_ctz(stray);
    uint32_t w = p->code[pc];
    if (INS_OP(w) == OP_CALLB)
        return bad(err, "code[%u]: CALLB %s argument %d of %d may be of type %s, which it does not take",
                   pc, rv_builtins[INS_ARG(w)].name, i + 1, n, rv_type_names[t]);
    return bad(err, "code[%u]: %s operand %d of %d may be of type %s, which it does not take",
               pc, rv_ops[INS_OP(w)].name, i + 1, n, rv_type_names[t]);
}

static int ver_types(types *ts, const rv_func *f, rv_err *err)
{
    const rv_program *p = ts->p;
    for (uint32_t pc = f->start; pc < f->end; pc++) {
        uint32_t w = p->code[pc];
        rv_opcode op = INS_OP(w);
        int32_t d = ts->depth[pc];
        if (ts->soff[pc] != RV_NONE) {
            rv_tset *st = ts->pool + ts->soff[pc];
            if (pc > f->start && !OP_NO_FALLTHROUGH(INS_OP(p->code[pc - 1])))
                join(st, ts->cur, d);
            memcpy(ts->cur, st, (size_t)d * sizeof *st);
        }
        int n = reads(w);
        rv_tset *args = ts->cur + d - n;
        for (int i = 0; i < n; i++)
            TRY(check_operand(p, pc, i, n, args[i], err));
        rv_tset res = ver_result(p, pc, args);
        int32_t nd = op == OP_JMPFK || op == OP_JMPTK ? d : d - n + rv_ops[op].push;
        if (rv_ops[op].push)
            ts->cur[nd - 1] = res;
        each_target(p, pc, join_target, ts);
    }
    return 0;
}

/* ================================================================= driver */

int ver_program(rv_program *p, rv_err *err)
{
    uint32_t *owner = mem_calloc(p->ncode, sizeof *owner);
    int32_t *depth = mem_calloc(p->ncode, sizeof *depth);
    uint32_t *armown = mem_calloc(p->narm, sizeof *armown);
    uint32_t *splituse = mem_calloc(p->nsplit, sizeof *splituse);
    uint32_t *mtuse = mem_calloc(p->nmtest + 1, sizeof *mtuse);
    uint32_t *dispuse = mem_calloc(p->ndispatch + 1, sizeof *dispuse);
    uint32_t *nexpect = mem_calloc((size_t)p->nfunc + 1, sizeof *nexpect);
    types *ts = mem_calloc(1, sizeof *ts);
    int r = -1;
    if (!owner || !depth || !armown || !splituse || !mtuse || !dispuse || !nexpect || !ts) {
        oom(err);
        goto out;
    }
    p->max_stack = 0;
    if (ver_strings(p, err) < 0 || ver_consts(p, err) < 0 ||
        ver_regexes(p, err) < 0 || ver_providers(p, err) < 0 ||
        ver_models(p, err) < 0 || ver_guards(p, err) < 0 ||
        ver_refs(p, err) < 0 || ver_funcs(p, owner, err) < 0 ||
        ver_agents(p, err) < 0 || ver_strategies(p, armown, err) < 0 || ver_mtests(p, err) < 0 || ver_dispatches(p, err) < 0 ||
        ver_tests(p, nexpect, err) < 0 || ver_locs(p, err) < 0)
        goto out;
    for (uint32_t i = 0; i < p->nsplit; i++)
        splituse[i] = RV_NONE;
    for (uint32_t i = 0; i < p->nmtest; i++)
        mtuse[i] = RV_NONE;
    for (uint32_t i = 0; i < p->ndispatch; i++)
        dispuse[i] = RV_NONE;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (ver_instr(p, owner[pc], pc, splituse, mtuse, dispuse, err) < 0)
            goto out;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        depth[pc] = -1;
    for (uint32_t i = 0; i < p->nfunc; i++)
        if (ver_flow(p, &p->funcs[i], i, depth, err) < 0)
            goto out;
    if (ver_delegation(p, owner, err) < 0)
        goto out;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        depth[pc] = -1;
    for (uint32_t i = 0; i < p->nfunc; i++)
        if (ver_stack(p, &p->funcs[i], depth, err) < 0)
            goto out;
    ts->p = p;
    ts->depth = depth;
    ts->soff = owner;           /* (owners are not needed any more) */
    if (alloc_states(ts, err) < 0)
        goto out;
    for (uint32_t i = 0; i < p->nfunc; i++)
        if (ver_types(ts, &p->funcs[i], err) < 0)
            goto out;
    r = 0;
out:
    if (ts)
        free(ts->pool);
    free(ts);
    free(owner);
    free(depth);
    free(armown);
    free(splituse);
    free(mtuse);
    free(dispuse);
    free(nexpect);
    return r;
}
