/* A small but complete rv_program built by hand, shared by the .rbc, verifier
   and disassembler tests: every table is non-empty.  It is what routec
   would produce for SAMPLE_SOURCE below (embedded as the program's file),
   written out so these tests do not depend on the compiler.

   Header-only (static functions) because every tests/unit/NAME.c becomes its
   own test binary.  Also holds the test-line helpers and
   sample_fix_digest(), which recomputes the SHA-256 trailer of an unsigned
   .rbc image after a test has changed its bytes. */
#ifndef RV_TEST_SAMPLE_H
#define RV_TEST_SAMPLE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mem.h"
#include "opcodes.h"
#include "program.h"

static const char SAMPLE_SOURCE[] =
    "import \"std/bedrock\"\n"                                                   /* 1 */
    "provider openai { endpoint \"https://api.openai.com/v1\" key env(\"OPENAI_API_KEY\") }\n"
    "model titan_lite from bedrock { id \"amazon.titan-text-lite-v1\" price in $0.15/Mtok, out $0.20/Mtok context 4k tokens tier 1 }\n"
    "model claude_sonnet from bedrock { id \"anthropic.claude-3-5-sonnet\" price in $3/Mtok, out $15/Mtok, cached $0.3/Mtok, cache_write $3.75/Mtok context 200k tokens tier 3 timeout 60s retry 1 retry_on [rate_limited, server_error] rpm 500 tpm 200k tokens max_tokens 4k tokens temperature 0.2 fallback on context_length -> gpt4o_mini }\n"
    "model gpt4o_mini from openai { id \"gpt-4o-mini\" price in $0.15/Mtok, out $0.60/Mtok context 128k tokens tier 2 }\n"
    "guardrail pii {\n"                                                           /* 6 */
    "  deny   input  matches /\\b\\d{3}-\\d{2}-\\d{4}\\b/ \"contains an SSN\"\n"
    "  redact output matches /[\\w.]+@[\\w.]+/i with \"[email]\"\n"
    "  limit  input 8k tokens\n"
    "}\n"                                                                         /* 10 */
    "agent support {\n"
    "  guard  pii\n"
    "  budget $0.02 per request, $300 per day\n"
    "  route {\n"
    "    when meta.task == \"classify\" -> titan_lite \"short labels\"\n"         /* 15 */
    "    when tokens(input) > 3k -> cheapest [gpt4o_mini, claude_sonnet] where context >= tokens(input) * 2 { timeout 5s }\n"
    "    when meta.tier in [\"gold\", \"platinum\"] -> split 90% -> titan_lite, 10% -> gpt4o_mini by user\n"
    "    when images > 0 -> hook \"https://router.internal/pick\" timeout 50ms default claude_sonnet\n"
    "    otherwise -> cascade [titan_lite, claude_sonnet] until confidence >= 0.8 by check response.finish == \"stop\"\n"
    "  }\n"                                                                       /* 20 */
    "  fallback [gpt4o_mini]  fallback on overloaded -> titan_lite\n"
    "  retry 2 backoff 200ms\n"
    "  timeout 20s\n"
    "}\n"
    "test \"classification is cheap\" {\n"                                       /* 25 */
    "  request support { meta.task = \"classify\" user \"label this\" }\n"
    "  given titan_lite answers \"billing\" confidence 0.9\n"
    "  expect model == titan_lite and rule == 1 and cost < $0.01\n"
    "}\n";

/* Helpers here are unused in some test binaries. */
#define SAMPLE_FN static __attribute__((unused))

#define SAMPLE_MAX 64   /* capacity of every table */

SAMPLE_FN void *sample_alloc(size_t n)
{
    void *q = mem_calloc(1, n);
    if (!q) {
        fprintf(stderr, "sample: out of memory\n");
        exit(2);
    }
    return q;
}

/* Interns 's' in the string table. */
SAMPLE_FN uint32_t S(rv_program *p, const char *s)
{
    uint32_t len = (uint32_t)strlen(s);
    for (uint32_t i = 0; i < p->nstr; i++)
        if (p->str_len[i] == len && memcmp(rv_str(p, i), s, len) == 0)
            return i;
    char *nb = mem_realloc(p->blob, p->blob_len + len + 1);
    if (!nb)
        exit(2);
    p->blob = nb;
    memcpy(p->blob + p->blob_len, s, len + 1);
    p->str_off[p->nstr] = p->blob_len;
    p->str_len[p->nstr] = len;
    p->blob_len += len + 1;
    return p->nstr++;
}

/* A loc on line 'line' of file 0, interned. */
SAMPLE_FN uint32_t L(rv_program *p, uint32_t line)
{
    for (uint32_t i = 0; i < p->nloc; i++)
        if (p->locs[i].line == line)
            return i;
    p->locs[p->nloc] = (rv_loc){ 0, line, 3, 10 };
    return p->nloc++;
}

SAMPLE_FN uint32_t K(rv_program *p, rv_type t, int64_t i, uint32_t str)
{
    p->consts[p->nconst] = (rv_const){ (uint8_t)t, i, str, 0, 0 };
    return p->nconst++;
}

static uint32_t sample_line;   /* source line of the next emitted instruction */

SAMPLE_FN uint32_t E(rv_program *p, rv_opcode op, int32_t arg)
{
    p->code[p->ncode] = INS(op, (uint32_t)arg & RV_ARG_MAX);
    p->pc_loc[p->ncode] = L(p, sample_line);
    return p->ncode++;
}

SAMPLE_FN void sample_func(rv_program *p, rv_fnkind kind, uint32_t start)
{
    p->funcs[p->nfunc++] = (rv_func){ kind, start, p->ncode };
}

enum { TITAN, SONNET, MINI };   /* model indexes */

SAMPLE_FN rv_program *sample_program(void)
{
    rv_program *p = rv_program_new();
    if (!p)
        exit(2);
#define ALLOC(arr) p->arr = sample_alloc(SAMPLE_MAX * sizeof *p->arr)
    ALLOC(str_off); ALLOC(str_len); ALLOC(consts); ALLOC(items); ALLOC(regexes);
    ALLOC(providers); ALLOC(models); ALLOC(gactions); ALLOC(guards);
    ALLOC(guard_refs); ALLOC(targets); ALLOC(model_refs); ALLOC(agents);
    ALLOC(rules); ALLOC(choices); ALLOC(cascades); ALLOC(arms); ALLOC(splits);
    ALLOC(hooks); ALLOC(funcs); ALLOC(givens); ALLOC(tests); ALLOC(code);
    ALLOC(pc_loc); ALLOC(locs); ALLOC(files);
#undef ALLOC

    p->files[p->nfile++] = (rv_file){ S(p, "support.route"), S(p, SAMPLE_SOURCE) };

    p->providers[p->nprovider++] = (rv_provider){
        S(p, "bedrock"), RV_PROV_BEDROCK, RV_NONE, S(p, "us-east-1"), RV_NONE, L(p, 1) };
    p->providers[p->nprovider++] = (rv_provider){
        S(p, "openai"), RV_PROV_OPENAI, S(p, "https://api.openai.com/v1"), RV_NONE,
        S(p, "OPENAI_API_KEY"), L(p, 2) };

    p->models[p->nmodel++] = (rv_model){
        .name = S(p, "titan_lite"), .provider = 0, .id = S(p, "amazon.titan-text-lite-v1"), .system = RV_NONE,
        .price_in = 150000, .price_out = 200000, .price_cached = -1, .price_cache_write = -1,
        .price_reasoning = -1, .context = 4000, .tier = 1, .caps = 1u << RV_CAP_TEXT,
        .retry = RV_NONE, .stop = RV_NONE, .tags = RV_NONE, .loc = L(p, 3) };
    p->models[p->nmodel++] = (rv_model){
        .name = S(p, "claude_sonnet"), .provider = 0, .id = S(p, "anthropic.claude-3-5-sonnet"),
        .system = S(p, "You are a careful support agent."), .price_in = 3000000, .price_out = 15000000,
        .price_cached = 300000, .price_cache_write = 3750000, .price_reasoning = -1,
        .context = 200000, .max_output = 8192, .latency = 1500000, .tier = 3,
        .caps = 1u << RV_CAP_TEXT | 1u << RV_CAP_VISION | 1u << RV_CAP_TOOLS,
        .timeout = 60000000, .retry = 1,
        .retry_on = RV_RETRY_STATED | 1u << RV_FAIL_RATE | 1u << RV_FAIL_SERVER,
        .onfail_first = 1, .onfail_count = 1, .rpm = 500, .tpm = 200000, .max_tokens = 4000,
        .params_set = 1u << RV_PARAM_TEMPERATURE, .params = { [RV_PARAM_TEMPERATURE] = 200000 },
        .stop = RV_NONE, .tags = RV_NONE, .loc = L(p, 4) };
    p->models[p->nmodel++] = (rv_model){
        .name = S(p, "gpt4o_mini"), .provider = 1, .id = S(p, "gpt-4o-mini"), .system = RV_NONE,
        .price_in = 150000, .price_out = 600000, .price_cached = -1, .price_cache_write = -1,
        .price_reasoning = -1, .context = 128000, .max_output = 16000, .latency = 450000, .tier = 2,
        .caps = 1u << RV_CAP_TEXT | 1u << RV_CAP_JSON | 1u << RV_CAP_LOGPROBS,
        .retry = RV_NONE, .stop = RV_NONE, .tags = RV_NONE, .loc = L(p, 5) };

    p->regexes[p->nregex++] = (rv_regex){ S(p, "\\b\\d{3}-\\d{2}-\\d{4}\\b"), 0, L(p, 7) };
    p->regexes[p->nregex++] = (rv_regex){ S(p, "[\\w.]+@[\\w.]+"), RV_RE_CASELESS, L(p, 8) };
    p->gactions[p->ngaction++] = (rv_gaction){
        RV_GA_DENY, RV_DIR_INPUT, 0, S(p, "contains an SSN"), 0, L(p, 7) };
    p->gactions[p->ngaction++] = (rv_gaction){
        RV_GA_REDACT, RV_DIR_OUTPUT, 1, S(p, "[email]"), 0, L(p, 8) };
    p->gactions[p->ngaction++] = (rv_gaction){
        RV_GA_LIMIT, RV_DIR_INPUT, RV_NONE, RV_NONE, 8000, L(p, 9) };
    p->guards[p->nguard++] = (rv_guardrail){ S(p, "pii"), 0, 3, L(p, 6) };
    p->guard_refs[p->nguard_ref++] = 0;
    p->targets[p->ntarget++] = (rv_target){ 0, MINI, 0 };
    p->targets[p->ntarget++] = (rv_target){ 0, MINI, 1u << RV_FAIL_CONTEXT };
    p->targets[p->ntarget++] = (rv_target){ 0, TITAN, 1u << RV_FAIL_OVERLOADED };

    /* constants: those the code uses, then one of each remaining type */
    uint32_t k_classify = K(p, RV_T_STR, 0, S(p, "classify"));
    uint32_t k_3k = K(p, RV_T_TOKENS, 3000, 0);
    uint32_t k_tiers = K(p, RV_T_LIST, 0, 0);
    p->items[p->nitem++] = K(p, RV_T_STR, 0, S(p, "gold"));
    p->items[p->nitem++] = K(p, RV_T_STR, 0, S(p, "platinum"));
    p->consts[k_tiers].first = 0;
    p->consts[k_tiers].count = 2;
    uint32_t k_zero = K(p, RV_T_INT, 0, 0);
    uint32_t k_two = K(p, RV_T_INT, 2, 0);
    uint32_t k_stop = K(p, RV_T_STR, 0, S(p, "stop"));
    uint32_t k_titan = K(p, RV_T_MODEL, TITAN, 0);
    uint32_t k_one = K(p, RV_T_INT, 1, 0);
    uint32_t k_cent = K(p, RV_T_MONEY, 10000000000, 0);
    K(p, RV_T_RATE, 37500, 0);
    K(p, RV_T_DURATION, 1500000, 0);
    K(p, RV_T_PERCENT, 125000, 0);
    K(p, RV_T_NUM, -800000, 0);
    K(p, RV_T_BOOL, 1, 0);
    K(p, RV_T_REGEX, 0, 1);
    K(p, RV_T_AGENT, 0, 0);
    K(p, RV_T_GUARDRAIL, 0, 0);
    K(p, RV_T_PROVIDER, 1, 0);
    K(p, RV_T_NIL, 0, 0);
    K(p, RV_T_STR, 0, S(p, "tab\there \"quoted\" \\ \x01"));

    /* fn 0: the route of agent 'support' */
    uint32_t start = p->ncode;
    sample_line = 15;
    E(p, OP_LDMETA, (int32_t)S(p, "task"));
    E(p, OP_PUSHK, (int32_t)k_classify);
    E(p, OP_EQ, 0);
    E(p, OP_JMPF, 2);                           /* -> 6 */
    E(p, OP_RULE, 0);
    E(p, OP_DECIDE, TITAN);
    sample_line = 16;
    E(p, OP_LDREQ, RV_REQ_INPUT);               /* 6 */
    E(p, OP_CALLB, RV_BI_tokens);
    E(p, OP_PUSHK, (int32_t)k_3k);
    E(p, OP_GT, 0);
    E(p, OP_JMPF, 2);                           /* -> 13 */
    E(p, OP_RULE, 1);
    E(p, OP_CHOOSE, 0);
    sample_line = 17;
    E(p, OP_LDMETA, (int32_t)S(p, "tier"));     /* 13 */
    E(p, OP_INK, (int32_t)k_tiers);
    E(p, OP_JMPF, 5);                           /* -> 21 */
    E(p, OP_RULE, 2);
    E(p, OP_LDREQ, RV_REQ_USER);
    E(p, OP_SPLIT, 0);                          /* 18: arms -> 19, 20 */
    E(p, OP_DECIDE, TITAN);
    E(p, OP_DECIDE, MINI);
    sample_line = 18;
    E(p, OP_LDREQ, RV_REQ_IMAGES);              /* 21 */
    E(p, OP_PUSHK, (int32_t)k_zero);
    E(p, OP_GT, 0);
    E(p, OP_JMPF, 3);                           /* -> 28 */
    E(p, OP_RULE, 3);
    E(p, OP_HOOK, 0);
    E(p, OP_DECIDE, SONNET);
    sample_line = 19;
    E(p, OP_RULE, 4);                           /* 28 */
    E(p, OP_CASCADE, 0);
    sample_func(p, RV_FN_ROUTE, start);

    /* fn 1: where context >= tokens(input) * 2 */
    start = p->ncode;
    sample_line = 16;
    E(p, OP_LDCAND, RV_CAND_CONTEXT);           /* 30 */
    E(p, OP_LDREQ, RV_REQ_INPUT);
    E(p, OP_CALLB, RV_BI_tokens);
    E(p, OP_PUSHK, (int32_t)k_two);
    E(p, OP_MUL, 0);
    E(p, OP_GE, 0);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_WHERE, start);

    /* fn 2: check response.finish == "stop" */
    start = p->ncode;
    sample_line = 19;
    E(p, OP_LDRESP, RV_RESP_FINISH);            /* 37 */
    E(p, OP_PUSHK, (int32_t)k_stop);
    E(p, OP_EQ, 0);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_CHECK, start);

    /* fn 3: expect model == titan_lite and rule == 1 and cost < $0.01 */
    start = p->ncode;
    sample_line = 28;
    E(p, OP_LDDEC, RV_DEC_MODEL);               /* 41 */
    E(p, OP_PUSHK, (int32_t)k_titan);
    E(p, OP_EQ, 0);
    E(p, OP_JMPFK, 4);                          /* -> 49 */
    E(p, OP_POP, 0);
    E(p, OP_LDDEC, RV_DEC_RULE);
    E(p, OP_PUSHK, (int32_t)k_one);
    E(p, OP_EQ, 0);
    E(p, OP_JMPFK, 4);                          /* 49 -> 54 */
    E(p, OP_POP, 0);
    E(p, OP_LDDEC, RV_DEC_COST);
    E(p, OP_PUSHK, (int32_t)k_cent);
    E(p, OP_LT, 0);
    E(p, OP_RET, 0);                            /* 54 */
    sample_func(p, RV_FN_EXPECT, start);

    p->model_refs[p->nmodel_ref++] = MINI;      /* choice 0 */
    p->model_refs[p->nmodel_ref++] = SONNET;
    p->model_refs[p->nmodel_ref++] = TITAN;     /* cascade 0 */
    p->model_refs[p->nmodel_ref++] = SONNET;
    p->choices[p->nchoice++] = (rv_choice){ RV_CHOOSE_CHEAPEST, 0, 2, 1, L(p, 16) };
    p->cascades[p->ncascade++] = (rv_cascade){
        2, 2, 800000, RV_BY_CHECK, RV_NONE, 2, L(p, 19) };
    p->arms[p->narm++] = (rv_arm){ 900000, 19 };
    p->arms[p->narm++] = (rv_arm){ 100000, 20 };
    p->splits[p->nsplit++] = (rv_split){ 0, 2, L(p, 17) };
    p->hooks[p->nhook++] = (rv_hook){ S(p, "https://router.internal/pick"), 50000, L(p, 18) };

    static const char *const reasons[5] = { "short labels", NULL, NULL, NULL, NULL };
    for (uint32_t r = 0; r < 5; r++)
        p->rules[p->nrule++] = (rv_rule){
            .agent = 0, .number = r + 1, .reason = reasons[r] ? S(p, reasons[r]) : RV_NONE,
            .otherwise = r == 4, .timeout = r == 1 ? 5000000 : 0, .retry = RV_NONE, .loc = L(p, 15 + r) };
    p->agents[p->nagent++] = (rv_agent){
        .name = S(p, "support"), .guard_first = 0, .guard_count = 1,
        .budget_request = 20000000000, .budget_day = 300000000000000,
        .func = 0, .fallback_first = 0, .fallback_count = 1, .retry = 2,
        .backoff = 200000, .timeout = 20000000, .onfail_first = 2, .onfail_count = 1,
        .rule_first = 0, .rule_count = 5,
        .worst_cost = 123450000, .loc = L(p, 11) };

    p->givens[p->ngiven++] = (rv_given){ RV_GIVEN_ANSWER, TITAN, RV_NONE, S(p, "billing"), 900000 };
    p->givens[p->ngiven++] = (rv_given){ RV_GIVEN_FAIL, SONNET, RV_NONE, S(p, "timeout"), -1 };
    p->givens[p->ngiven++] = (rv_given){ RV_GIVEN_HOOK, SONNET, 0, RV_NONE, -1 };
    p->tests[p->ntest++] = (rv_test){
        S(p, "classification is cheap"), 0,
        S(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"label this\"}],"
             "\"user\":\"label this\",\"metadata\":{\"task\":\"classify\"}}"),
        0, 3, 3, 1, L(p, 25) };
    return p;
}

/* ------------------------------------------------------------ test lines */

static int test_failures __attribute__((unused));

SAMPLE_FN void pass(const char *name, const char *fmt, ...)
{
    printf("PASS %s", name);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" (", stdout);
        vprintf(fmt, ap);
        fputs(")", stdout);
        va_end(ap);
    }
    putchar('\n');
}

SAMPLE_FN void failf(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    test_failures++;
}

/* Recomputes the digest of an unsigned image in place (no-op when it is
   too short or flagged as signed). */
SAMPLE_FN void sample_fix_digest(uint8_t *b, size_t len)
{
    unsigned int n;
    if (len < 16 + 32 || (b[8] & 1))
        return;
    EVP_Digest(b, len - 32, b + len - 32, &n, EVP_sha256(), NULL);
}

#endif
