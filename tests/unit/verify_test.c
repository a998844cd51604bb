/* One hand-made bad program per verifier rule (the rules are listed in
   vm/verify.c): each case applies one mutation to the sample program of
   sample.h and must be rejected with its message.  Cases follow the rule
   order of verify.c.  The sample itself must verify. */
#include "sample.h"
#include "verify.h"

/* Pcs in the sample (see sample.h): route fn 0 is [0, 30), where fn 1
   [30, 37), check fn 2 [37, 41), expect fn 3 [41, 55). */

/* An EXPECT function pushing 'n' booleans and popping all but one before
   RET, appended to the program. */
static void deep_function(rv_program *p, uint32_t n)
{
    uint32_t start = p->ncode;
    p->code = mem_reallocarray(p->code, p->ncode + 2 * n, sizeof *p->code);
    p->pc_loc = mem_reallocarray(p->pc_loc, p->ncode + 2 * n, sizeof *p->pc_loc);
    if (!p->code || !p->pc_loc)
        exit(2);
    for (uint32_t i = 0; i < n; i++)
        E(p, OP_PUSHB, 1);
    for (uint32_t i = 1; i < n; i++)
        E(p, OP_POP, 0);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_EXPECT, start);
}

#define CASES(X) \
    /* (a) tables */ \
    X(str_outside, "strings[3]: outside the blob", p->str_off[3] = p->blob_len) \
    X(str_nul, "strings[0]: contains a NUL byte", p->blob[p->str_off[0] + 1] = 0) \
    X(str_utf8, "strings[0]: not UTF-8 at byte 2", p->blob[p->str_off[0] + 2] = (char)0xff) \
    X(str_utf8_overlong, "strings[1]: not UTF-8 at byte 0", p->blob[p->str_off[1]] = (char)0xc0; \
      p->blob[p->str_off[1] + 1] = (char)0xaf) \
    X(const_type, "consts[0]: type 16 is not a value type", p->consts[0].type = RV_T_TEXT) \
    X(const_type_range, "consts[0]: type 200 is not a value type", p->consts[0].type = 200) \
    X(const_bool, "consts[15]: bool value 2 is not 0 or 1", p->consts[15].i = 2) \
    X(const_str, "consts[0]: string 999 out of range", p->consts[0].str = 999) \
    X(const_regex, "consts[16]: regex 5 out of range (2 regexes)", p->consts[16].str = 5) \
    X(const_list, "consts[2]: items [0, +5) outside the table (2 entries)", p->consts[2].count = 5) \
    X(const_list_overflow, "consts[2]: items [4294967295, +2) outside", p->consts[2].first = UINT32_MAX) \
    X(const_model, "consts[8]: model 3 out of range (3)", p->consts[8].i = 3) \
    X(const_agent, "consts[17]: agent -1 out of range (1)", p->consts[17].i = -1) \
    X(item_range, "items[0]: constant 99 out of range", p->items[0] = 99) \
    X(item_nested, "items[1]: constant 2 is a list (lists do not nest)", p->items[1] = 2) \
    X(regex_pattern, "regexes[0]: pattern is missing", p->regexes[0].pattern = RV_NONE) \
    X(regex_flags, "regexes[1]: unknown flags 0x10", p->regexes[1].flags = 16) \
    X(regex_compile, "regexes[0]: pattern does not compile at offset 3", p->regexes[0].pattern = S(p, "a(b")) \
    X(regex_utf8, "not UTF-8 at byte 0", p->regexes[1].pattern = S(p, "\xff\xfe")) \
    X(provider_kind, "providers[0]: kind 3 is not a known kind", p->providers[0].kind = 3) \
    X(provider_endpoint, "providers[1]: endpoint 9999 out of range", p->providers[1].endpoint = 9999) \
    X(provider_name, "providers[0]: name is missing", p->providers[0].name = RV_NONE) \
    X(model_provider, "models[2]: provider 2 out of range (2 providers)", p->models[2].provider = 2) \
    X(model_price, "models[0]: price_in is negative (-1)", p->models[0].price_in = -1) \
    X(model_context, "models[1]: context is negative", p->models[1].context = INT64_MIN) \
    X(model_caps, "models[0]: unknown capability bits 0x100", p->models[0].caps = 1u << 8) \
    X(model_loc, "models[0]: loc 999 out of range", p->models[0].loc = 999) \
    X(model_price_cached, "models[1]: price_cached is below -1 (-2)", p->models[1].price_cached = -2) \
    X(model_price_cache_write, "models[0]: price_cache_write is below -1", p->models[0].price_cache_write = INT64_MIN) \
    X(model_price_reasoning, "models[2]: price_reasoning is below -1", p->models[2].price_reasoning = -7) \
    X(model_timeout, "models[1]: timeout is negative", p->models[1].timeout = -1) \
    X(model_backoff, "models[1]: backoff is negative", p->models[1].backoff = -1) \
    X(model_rpm, "models[1]: rpm is negative", p->models[1].rpm = -500) \
    X(model_tpm, "models[1]: tpm is negative", p->models[1].tpm = -1) \
    X(model_max_tokens, "models[1]: max_tokens is negative", p->models[1].max_tokens = -1) \
    X(model_retry, "models[1]: retry 101 exceeds 100", p->models[1].retry = 101) \
    X(model_retry_on_unstated, "models[1]: retry_on 0x40 names classes that are never retried", \
      p->models[1].retry_on = 1u << RV_FAIL_RATE) \
    X(model_retry_on_budget, "models[1]: retry_on 0x2001 names classes that are never retried", \
      p->models[1].retry_on = RV_RETRY_STATED | 1u << RV_FAIL_BUDGET) \
    X(model_onfail_range, "models[1]: fallback on [1, +5) outside", p->models[1].onfail_count = 5) \
    X(model_onfail_on, "models[1]: 'fallback on' entry 1 names no failure class", p->targets[1].on = 0) \
    X(model_onfail_agent, "models[1]: 'fallback on' entry 1 is not a model", p->targets[1].is_agent = 1; \
      p->targets[1].index = 0) \
    X(model_param_bits, "models[1]: unknown parameter bits 0x41", p->models[1].params_set |= 1u << RV_PARAM__COUNT) \
    X(model_param_range, "models[1]: temperature 3000000 out of range", \
      p->models[1].params[RV_PARAM_TEMPERATURE] = 3000000) \
    X(model_param_negative, "models[0]: top_p -1 out of range", p->models[0].params_set = 1u << RV_PARAM_TOP_P; \
      p->models[0].params[RV_PARAM_TOP_P] = -1) \
    X(model_stop_range, "models[1]: stop 999 out of range", p->models[1].stop = 999) \
    X(model_stop_list, "models[1]: stop constant 0 is not a list of 1 to 4 strings", p->models[1].stop = 0) \
    X(model_stop_string, "models[1]: stop sequence 1 is not a non-empty string", p->models[1].stop = 2; \
      p->items[1] = 1) \
    X(model_stop_empty, "models[1]: stop sequence 0 is not a non-empty string", p->models[1].stop = 2; \
      p->consts[3].str = S(p, "")) \
    X(model_tags_range, "models[2]: tags 999 out of range", p->models[2].tags = 999) \
    X(model_tags_list, "models[2]: tags constant 0 is not a list", p->models[2].tags = 0) \
    X(model_tags_string, "models[2]: tag 1 is not a non-empty string", p->models[2].tags = 2; p->items[1] = 1) \
    X(model_tags_empty, "models[2]: tag 0 is not a non-empty string", p->models[2].tags = 2; \
      p->consts[3].str = S(p, "")) \
    X(model_stop_many, "models[1]: stop constant 2 is not a list of 1 to 4 strings", p->models[1].stop = 2; \
      p->consts[2].count = 0) \
    X(gaction_kind, "gactions[0]: kind 3 is not a known kind", p->gactions[0].kind = 3) \
    X(gaction_dir, "gactions[0]: dir 2 is not a known kind", p->gactions[0].dir = 2) \
    X(gaction_regex, "gactions[1]: regex 2 out of range", p->gactions[1].regex = 2) \
    X(gaction_text, "gactions[0]: text is missing", p->gactions[0].text = RV_NONE) \
    X(gaction_limit, "gactions[2]: limit is negative", p->gactions[2].limit = -5) \
    X(guard_range, "guards[0]: actions [0, +4) outside the table", p->guards[0].count = 4) \
    X(guard_ref, "guard_refs[0]: guardrail 1 out of range", p->guard_refs[0] = 1) \
    X(target_kind, "targets[0]: is_agent 2 is not 0 or 1", p->targets[0].is_agent = 2) \
    X(target_model, "targets[0]: model 3 out of range", p->targets[0].index = 3) \
    X(target_agent, "targets[0]: agent 2 out of range", p->targets[0].is_agent = 1; p->targets[0].index = 2) \
    X(model_ref, "model_refs[1]: model 7 out of range", p->model_refs[1] = 7) \
    X(target_on, "targets[0]: 'on' 0x8000 names classes that never fall back", p->targets[0].on = 1u << RV_FAIL_DEADLINE) \
    X(func_kind, "funcs[1]: kind 4 is not a known kind", p->funcs[1].kind = 4) \
    X(func_empty, "funcs[1]: code [30, 30) is empty", p->funcs[1].end = 30) \
    X(func_outside, "funcs[3]: code [41, 56) is empty or outside the code (55", p->funcs[3].end = 56) \
    X(func_overlap, "funcs[1]: overlaps function 0 at pc 29", p->funcs[1].start = 29) \
    X(func_cover, "code[54]: instruction belongs to no function", p->funcs[3].end = 54) \
    X(agent_func, "agents[0]: func 1 is not a route function", p->agents[0].func = 1) \
    X(agent_func_range, "agents[0]: func 4 out of range (4 functions)", p->agents[0].func = 4) \
    X(agent_guards, "agents[0]: guards [0, +2) outside", p->agents[0].guard_count = 2) \
    X(agent_fallback, "agents[0]: fallback [3, +1) outside", p->agents[0].fallback_first = 3) \
    X(agent_retry, "agents[0]: retry 101 exceeds 100", p->agents[0].retry = 101) \
    X(agent_budget, "agents[0]: budget_day is negative", p->agents[0].budget_day = -1) \
    X(agent_worst_cost, "agents[0]: worst_cost is negative (-2)", p->agents[0].worst_cost = -2) \
    X(agent_rules, "agents[0]: rules [3, +5) outside", p->agents[0].rule_first = 3) \
    X(agent_rule_owner, "agents[0]: rule 2 belongs to agent 1", p->rules[2].agent = 1) \
    X(agent_retry_on, "agents[0]: retry_on 0x10001 names classes that are never retried", \
      p->agents[0].retry_on = RV_RETRY_STATED | 1u << RV_FAIL_STREAMED) \
    X(agent_fallback_on, "agents[0]: fallback entry 0 has a failure class", p->targets[0].on = 1u << RV_FAIL_TIMEOUT) \
    X(agent_onfail_on, "agents[0]: 'fallback on' entry 2 names no failure class", p->targets[2].on = 0) \
    X(agent_onfail_range, "agents[0]: fallback on [2, +2) outside", p->agents[0].onfail_count = 2) \
    X(rule_agent, "rules[4]: agent 5 out of range", p->agents[0].rule_count = 4; p->rules[4].agent = 5) \
    X(rule_number, "rules[0]: number 0", p->rules[0].number = 0) \
    X(rule_reason, "rules[1]: reason 9999 out of range", p->rules[1].reason = 9999) \
    X(rule_otherwise, "rules[3]: otherwise 2 is not 0 or 1", p->rules[3].otherwise = 2) \
    X(rule_timeout, "rules[1]: timeout is negative", p->rules[1].timeout = -5000000) \
    X(rule_backoff, "rules[0]: backoff is negative", p->rules[0].backoff = -1) \
    X(rule_retry, "rules[2]: retry 4294967294 exceeds 100", p->rules[2].retry = RV_NONE - 1) \
    X(rule_retry_on, "rules[4]: retry_on 0x80000003 names classes that are never retried", \
      p->rules[4].retry_on = RV_RETRY_STATED | 1u << RV_FAIL_TIMEOUT | 1u << 31) \
    X(choice_kind, "choices[0]: kind 2 is not a known kind", p->choices[0].kind = 2) \
    X(choice_empty, "choices[0]: models is empty", p->choices[0].count = 0) \
    X(choice_range, "choices[0]: models [3, +2) outside", p->choices[0].first = 3) \
    X(choice_where, "choices[0]: where 2 is not a where function", p->choices[0].where = 2) \
    X(cascade_by, "cascades[0]: by 3 is not a known kind", p->cascades[0].by = 3) \
    X(cascade_check, "cascades[0]: check is missing", p->cascades[0].check = RV_NONE) \
    X(cascade_check_kind, "cascades[0]: check 1 is not a check function", p->cascades[0].check = 1) \
    X(cascade_judge, "cascades[0]: judge is missing", p->cascades[0].by = RV_BY_JUDGE) \
    X(cascade_judge_range, "cascades[0]: judge 3 out of range", p->cascades[0].judge = 3) \
    X(arm_share, "arms[0]: share is negative", p->arms[0].share = -1) \
    X(arm_share_big, "arms[1]: share above 100%", p->arms[1].share = 1000001) \
    X(arm_target, "arms[0]: target 99 outside the code", p->arms[0].target = 99) \
    X(split_sum, "splits[0]: shares sum to 900000 millionths, not 100%", p->arms[0].share = 800000) \
    X(split_empty, "splits[0]: arms is empty", p->splits[0].count = 0) \
    X(split_shared_arm, "splits[1]: arm 1 already belongs to split 0", \
      p->splits[p->nsplit++] = (rv_split){ 1, 1, 0 }) \
    X(hook_url, "hooks[0]: url is missing", p->hooks[0].url = RV_NONE) \
    X(hook_timeout, "hooks[0]: timeout is negative", p->hooks[0].timeout = -50) \
    X(given_kind, "givens[0]: kind 3 is not a known kind", p->givens[0].kind = 3) \
    X(given_model, "givens[1]: model 3 out of range", p->givens[1].model = 3) \
    X(given_text, "givens[1]: text is missing", p->givens[1].text = RV_NONE) \
    X(given_confidence, "givens[0]: confidence 2000000 is neither -1 nor in [0, 1]", p->givens[0].confidence = 2000000) \
    X(given_hook, "givens[2]: hook 5 out of range", p->givens[2].hook = 5) \
    X(test_agent, "tests[0]: agent 1 out of range", p->tests[0].agent = 1) \
    X(test_givens, "tests[0]: givens [1, +3) outside", p->tests[0].given_first = 1) \
    X(test_expect, "tests[0]: expect [0, +1) holds a function that is not an expect function", p->tests[0].expect = 0) \
    X(test_expects, "tests[0]: expect [2, +2) holds a function that is not an expect function", p->tests[0].expect = 2; p->tests[0].expect_count = 2) \
    X(test_expect_range, "tests[0]: expect [3, +2) outside the table (4 entries)", p->tests[0].expect_count = 2) \
    X(test_request, "tests[0]: request is missing", p->tests[0].request = RV_NONE) \
    X(loc_file, "locs[0]: file 1 out of range (1 files)", p->locs[0].file = 1) \
    X(file_name, "files[0]: name is missing", p->files[0].name = RV_NONE) \
    X(pc_loc, "code[5]: source location 999 out of range", p->pc_loc[5] = 999) \
    /* (b) each instruction */ \
    X(op_unknown, "code[2]: unknown opcode", p->code[2] = INS(OP__COUNT, 0)) \
    X(op_none_arg, "code[2]: EQ operand 1 out of range (1)", p->code[2] = INS(OP_EQ, 1)) \
    X(op_const, "code[1]: PUSHK operand 99 out of range (22)", p->code[1] = INS(OP_PUSHK, 99)) \
    X(op_ink_list, "code[14]: INK constant 0 is not a list", p->code[14] = INS(OP_INK, 0)) \
    X(op_eqk_list, "code[14]: EQK constant 2 is a list", p->code[14] = INS(OP_EQK, 2)) \
    X(mtest_op, "mtests[0]: op 8 is not", mtest(p, 0, 0, RV_MT__COUNT)) \
    X(mtest_keyop, "mtests[0]: op 4 does not go with a key", mtest(p, 0, 0, RV_MT_LT)) \
    X(mtest_notstr, "mtests[0]: metadata is compared with constant 1, which is not a string", mtest(p, 0, 1, RV_MT_EQ)) \
    X(mtest_stackop, "mtests[0]: op 2 does not go with a stack test", mtest(p, RV_NONE, 2, RV_MT_IN)) \
    X(mtest_jkt_key, "code[4]: JKT with mtest 0, which has a key", mtest(p, 0, 0, RV_MT_EQ); p->mtests[0].target = 6; \
      p->code[4] = INS(OP_JKT, 0)) \
    X(mtest_key, "mtests[0]: key string 99999 out of range", mtest(p, 99999, 0, RV_MT_EQ)) \
    X(mtest_const, "mtests[0]: constant 999 out of range", mtest(p, 0, 999, RV_MT_EQ)) \
    X(mtest_list, "mtests[0]: constant 2 is a list", mtest(p, 0, 2, RV_MT_EQ)) \
    X(mtest_notlist, "mtests[0]: constant 0 is not a list", mtest(p, 0, 0, RV_MT_IN)) \
    X(mtest_target, "code[4]: mtest 0 target 0 outside (4,", mtest(p, 0, 0, RV_MT_EQ); p->code[4] = INS(OP_JMT, 0)) \
    X(mtest_twice, "code[11]: mtest 0 already used at pc 4", mtest(p, 0, 0, RV_MT_EQ); p->mtests[0].target = 6; \
      p->code[4] = INS(OP_JMT, 0); p->code[11] = INS(OP_JMT, 0)) \
    X(op_bool, "code[1]: PUSHB operand 2 out of range (2)", p->code[1] = INS(OP_PUSHB, 2)) \
    X(op_reqfield, "code[6]: LDREQ operand 9 out of range (9)", p->code[6] = INS(OP_LDREQ, RV_REQ__COUNT)) \
    X(op_str, "code[0]: LDMETA operand 999 out of range", p->code[0] = INS(OP_LDMETA, 999)) \
    X(op_candfield, "code[30]: LDCAND operand 7 out of range (7)", p->code[30] = INS(OP_LDCAND, 7)) \
    X(op_cap, "code[30]: CANDCAP operand 8 out of range (8)", p->code[30] = INS(OP_CANDCAP, 8)) \
    X(op_respfield, "code[37]: LDRESP operand 5 out of range (5)", p->code[37] = INS(OP_LDRESP, 5)) \
    X(op_decfield, "code[41]: LDDEC operand 10 out of range (10)", p->code[41] = INS(OP_LDDEC, 10)) \
    X(op_regex, "code[14]: MATCH operand 2 out of range (2)", p->code[14] = INS(OP_MATCH, 2)) \
    X(op_builtin, "code[7]: CALLB operand 18 out of range (18)", p->code[7] = INS(OP_CALLB, RV_BI__COUNT)) \
    X(op_rule, "code[4]: RULE operand 5 out of range (5)", p->code[4] = INS(OP_RULE, 5)) \
    X(op_model, "code[5]: DECIDE operand 3 out of range (3)", p->code[5] = INS(OP_DECIDE, 3)) \
    X(op_agent, "code[5]: DELEGATE operand 1 out of range (1)", p->code[5] = INS(OP_DELEGATE, 1)) \
    X(op_choice, "code[12]: CHOOSE operand 1 out of range (1)", p->code[12] = INS(OP_CHOOSE, 1)) \
    X(op_cascade, "code[29]: CASCADE operand 1 out of range (1)", p->code[29] = INS(OP_CASCADE, 1)) \
    X(op_split, "code[18]: SPLIT operand 1 out of range (1)", p->code[18] = INS(OP_SPLIT, 1)) \
    X(op_hook, "code[26]: HOOK operand 1 out of range (1)", p->code[26] = INS(OP_HOOK, 1)) \
    X(op_fail_str, "code[5]: FAIL operand 4000 out of range", p->code[5] = INS(OP_FAIL, 4000)) \
    X(jump_backward, "code[3]: JMPF jumps backward (offset -2)", p->code[3] = INS(OP_JMPF, (uint32_t)-2 & RV_ARG_MAX)) \
    X(jump_outside, "code[24]: jump target 35 outside function 0 [0, 30)", p->code[24] = INS(OP_JMPF, 10)) \
    X(jump_to_end, "code[24]: jump target 30 outside function 0 [0, 30)", p->code[24] = INS(OP_JMPF, 5)) \
    X(ctx_ldcand, "code[0]: LDCAND not allowed in a route function", p->code[0] = INS(OP_LDCAND, 0)) \
    X(ctx_candcap, "code[37]: CANDCAP not allowed in a check function", p->code[37] = INS(OP_CANDCAP, 0)) \
    X(ctx_ldresp, "code[30]: LDRESP not allowed in a where function", p->code[30] = INS(OP_LDRESP, 0)) \
    X(ctx_lddec, "code[37]: LDDEC not allowed in a check function", p->code[37] = INS(OP_LDDEC, 0)) \
    X(ctx_decide, "code[54]: DECIDE not allowed in an expect function", p->code[54] = INS(OP_DECIDE, 0)) \
    X(ctx_rule, "code[30]: RULE not allowed in a where function", p->code[30] = INS(OP_RULE, 0)) \
    X(ctx_ret, "code[29]: RET not allowed in a route function", p->code[29] = INS(OP_RET, 0)) \
    X(split_arm_back, "code[18]: split 0 arm 0 target 18 outside (18, 30)", p->arms[0].target = 18) \
    X(split_arm_out, "code[18]: split 0 arm 1 target 30 outside (18, 30)", p->arms[1].target = 30) \
    X(split_twice, "code[20]: split 0 already used at pc 18", p->code[20] = INS(OP_SPLIT, 0)) \
    /* (c) control flow */ \
    X(falls_through, "code[29]: function 0 ends with RULE, which falls through", p->code[29] = INS(OP_RULE, 4)) \
    X(unreachable, "code[5]: unreachable instruction at pc 5", p->code[4] = INS(OP_JMP, 1)) \
    X(delegate_loop, "agents[0]: delegation or fallback from 'support' never ends", p->code[5] = INS(OP_DELEGATE, 0)) \
    X(fallback_loop, "agents[0]: delegation or fallback from 'support' never ends", \
      p->targets[0] = (rv_target){ 1, 0, 0 }) \
    X(fallback_delegate_loop, "agents[0]: delegation or fallback from 'support' never ends", \
      second_agent(p, 1)) \
    X(onfail_loop, "agents[0]: delegation or fallback from 'support' never ends", \
      p->targets[2] = (rv_target){ 1, 0, 1u << RV_FAIL_OVERLOADED }) \
    /* (d) stack depth */ \
    X(underflow, "code[0]: stack underflow: POP needs 1, depth is 0", p->code[0] = INS(OP_POP, 0)) \
    X(underflow_callb, "code[31]: stack underflow: CALLB needs 2, depth is 1", p->code[31] = INS(OP_CALLB, RV_BI_contains)) \
    X(underflow_jmpfk, "code[41]: stack underflow: JMPFK needs 1, depth is 0", p->code[41] = INS(OP_JMPFK, 0)) \
    X(merge_depth, "code[49]: stack depth 3 from pc 48 but 1 on another path", p->code[45] = INS(OP_PUSHB, 1)) \
    X(ret_depth, "code[36]: RET at stack depth 3, must be 1", p->code[35] = INS(OP_PUSHB, 1)) \
    X(decide_depth, "code[5]: DECIDE at stack depth 1, must be 0", p->code[4] = INS(OP_PUSHB, 0)) \
    X(rule_depth, "code[16]: RULE at stack depth 1, must be 0", p->code[15] = INS(OP_JMPFK, 5)) \
    X(split_depth, "code[18]: SPLIT at stack depth 2, must be 1", p->code[16] = INS(OP_PUSHB, 1)) \
    X(split_underflow, "code[18]: stack underflow: SPLIT needs 1, depth is 0", p->code[17] = INS(OP_RULE, 2)) \
    X(stack_limit, "code[311]: stack depth 257 exceeds the limit 256", deep_function(p, 257)) \
    /* (e) types */ \
    X(type_neg_string, "code[32]: NEG operand 1 of 1 may be of type string, which it does not take", \
      p->code[32] = INS(OP_NEG, 0)) \
    X(type_mul_string, "code[34]: MUL operand 2 of 2 may be of type string", p->code[33] = INS(OP_PUSHK, 7)) \
    X(type_compare_list, "code[9]: GT operand 2 of 2 may be of type list", p->code[8] = INS(OP_PUSHK, 2)) \
    X(type_builtin_arg, "code[32]: CALLB tokens argument 1 of 1 may be of type int", \
      p->code[31] = INS(OP_LDREQ, RV_REQ_IMAGES)) \
    X(type_lang_arg, "code[32]: CALLB lang argument 1 of 1 may be of type tokens", \
      p->code[31] = INS(OP_PUSHK, 1); p->code[32] = INS(OP_CALLB, RV_BI_lang)) \
    X(type_match_int, "code[14]: MATCH operand 1 of 1 may be of type int", \
      p->code[13] = INS(OP_LDREQ, RV_REQ_IMAGES); p->code[14] = INS(OP_MATCH, 0)) \
    X(type_inl_string, "code[2]: INL operand 2 of 2 may be of type string", p->code[2] = INS(OP_INL, 0)) \
    X(type_split_key, "code[18]: SPLIT operand 1 of 1 may be of type int", p->code[17] = INS(OP_LDREQ, RV_REQ_IMAGES)) \
    X(type_merge, "may be of type bool, which", merge_function(p)) \
    /* dispatches: (a) tables */ \
    X(dispatch_key, "dispatches[0]: key 999 out of range", dispatch_function(p); p->dispatches[0].key = 999) \
    X(dispatch_values, "dispatches[0]: values [0, +2) outside the table (1 entries)", \
      dispatch_function(p); p->dispatches[0].vcount = 2) \
    X(dispatch_classes, "dispatches[0]: classes is empty", dispatch_function(p); p->dispatches[0].ccount = 0) \
    X(dvalue_string, "dvalues[0]: value 999 out of range", dispatch_function(p); p->dvalues[0].value = 999) \
    X(dvalue_class, "dvalues[0]: class 2 outside [1, 2) of dispatch 0", dispatch_function(p); p->dvalues[0].cls = 2) \
    X(dvalue_class_zero, "dvalues[0]: class 0 outside [1, 2) of dispatch 0", dispatch_function(p); p->dvalues[0].cls = 0) \
    X(dclass_range, "dclasses[1]: pcs [1, +9) outside the table (3 entries)", dispatch_function(p); p->dclasses[1].count = 9) \
    /* (b) instructions */ \
    X(dispatch_twice, "code[58]: dispatch 0 already used at pc 55", dispatch_function(p); p->code[58] = INS(OP_DISPATCH, 0)) \
    X(dispatch_end_back, "code[55]: dispatch 0 end 55 outside (55, 62)", dispatch_function(p); p->dispatches[0].end = 55) \
    X(dispatch_end_out, "code[55]: dispatch 0 end 62 outside (55, 62)", dispatch_function(p); p->dispatches[0].end = 62) \
    X(dispatch_list_order, "code[55]: dispatch 0 class 1 lists pc 56, not in (60, 61) ascending", \
      dispatch_function(p); p->dpcs[1] = 60; p->dpcs[2] = 56) \
    X(dispatch_list_back, "code[55]: dispatch 0 class 0 lists pc 55, not in (55, 61) ascending", \
      dispatch_function(p); p->dpcs[0] = 55) \
    X(dispatch_list_end, "code[55]: dispatch 0 class 0 lists pc 61, not in (55, 61) ascending", \
      dispatch_function(p); p->dpcs[0] = 61) \
    X(dispatch_in_where, "code[30]: DISPATCH not allowed in a where function", \
      dispatch_function(p); p->code[30] = INS(OP_DISPATCH, 0)) \
    X(chain_before, "code[55]: CHAIN of dispatch 0 before (or without) its DISPATCH", \
      dispatch_function(p); p->code[55] = INS(OP_CHAIN, 0)) \
    X(chain_after_end, "code[59]: CHAIN after the end 59 of dispatch 0", \
      dispatch_function(p); p->dispatches[0].end = 59; p->dclasses[0].count = 0; p->dclasses[1].count = 1) \
    X(chain_other_function, "code[5]: CHAIN of dispatch 0 before (or without) its DISPATCH", \
      dispatch_function(p); p->code[5] = INS(OP_CHAIN, 0)) \
    /* (d) stack depth */ \
    X(chain_depth, "code[59]: CHAIN at stack depth 2, must be 0", \
      dispatch_function(p); p->code[57] = INS(OP_PUSHB, 1); p->code[58] = INS(OP_JMP, 0)) \
    X(merge_limit, "the stacks at merge points hold more than", wide_function(p, 200, 600))

/* An EXPECT function where a bool (jumped over a number) and a number
   meet before NEG:  PUSHB 1; JMPFK +2; POP; PUSHK 1; NEG; RET.  Only the
   jump's path brings the bool. */
static void merge_function(rv_program *p)
{
    uint32_t start = p->ncode;
    E(p, OP_PUSHB, 1);
    E(p, OP_JMPFK, 2);
    E(p, OP_POP, 0);
    E(p, OP_PUSHK, 1);          /* tokens 3000 */
    E(p, OP_NEG, 0);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_EXPECT, start);
}

/* An EXPECT function with 'depth' values on the stack across 'jumps'
   merge points (JMP +0): more merged state than the verifier keeps. */
static void wide_function(rv_program *p, uint32_t depth, uint32_t jumps)
{
    uint32_t start = p->ncode, n = 2 * depth + jumps;
    p->code = mem_reallocarray(p->code, p->ncode + n, sizeof *p->code);
    p->pc_loc = mem_reallocarray(p->pc_loc, p->ncode + n, sizeof *p->pc_loc);
    if (!p->code || !p->pc_loc)
        exit(2);
    for (uint32_t i = 0; i < depth; i++)
        E(p, OP_PUSHB, 1);
    for (uint32_t i = 0; i < jumps; i++)
        E(p, OP_JMP, 0);
    for (uint32_t i = 1; i < depth; i++)
        E(p, OP_POP, 0);
    E(p, OP_RET, 0);
    sample_func(p, RV_FN_EXPECT, start);
}

/* A second agent 'helper' whose route delegates back to 'support', and
   'support' falling back to it ('fallback' 1) -- a loop through a
   fallback edge and a delegation. */
static void second_agent(rv_program *p, int fallback)
{
    uint32_t start = p->ncode;
    E(p, OP_DELEGATE, 0);
    sample_func(p, RV_FN_ROUTE, start);
    p->agents[p->nagent++] = (rv_agent){ .name = S(p, "helper"), .func = p->nfunc - 1, .loc = 0 };
    if (fallback)
        p->targets[0] = (rv_target){ 1, 1, 0 };
}

/* A route function dispatched on meta.tier, appended at pc 55:
     55 DISPATCH 0        class 0 (other) -> 60; class 1 "pro" -> 56 60
     56 PUSHB 1
     57 JMPF +1           (-> 59)
     58 DECIDE 0
     59 CHAIN 0
     60 DECIDE 1
     61 FAIL "no rule matched"  (the end) */
static void dispatch_function(rv_program *p)
{
    uint32_t s = p->ncode;
    E(p, OP_DISPATCH, 0);
    E(p, OP_PUSHB, 1);
    E(p, OP_JMPF, 1);
    E(p, OP_DECIDE, 0);
    E(p, OP_CHAIN, 0);
    E(p, OP_DECIDE, 1);
    E(p, OP_FAIL, (int32_t)S(p, "no rule matched"));
    sample_func(p, RV_FN_ROUTE, s);
    p->dispatches = calloc(1, sizeof *p->dispatches);
    p->dvalues = calloc(1, sizeof *p->dvalues);
    p->dclasses = calloc(2, sizeof *p->dclasses);
    p->dpcs = calloc(3, sizeof *p->dpcs);
    if (!p->dispatches || !p->dvalues || !p->dclasses || !p->dpcs)
        exit(2);
    p->ndispatch = 1;
    p->ndvalue = 1;
    p->ndclass = 2;
    p->ndpc = 3;
    p->dispatches[0] = (rv_dispatch){ S(p, "tier"), 0, 1, 0, 2, s + 6 };
    p->dvalues[0] = (rv_dvalue){ S(p, "pro"), 1 };
    p->dclasses[0] = (rv_dclass){ 0, 1 };
    p->dclasses[1] = (rv_dclass){ 1, 2 };
    p->dpcs[0] = s + 5;
    p->dpcs[1] = s + 1;
    p->dpcs[2] = s + 5;
}

/* Give the sample one metadata test (it has none). */
static void mtest(rv_program *p, uint32_t key, uint32_t konst, uint32_t op)
{
    p->mtests = calloc(1, sizeof *p->mtests);
    p->nmtest = 1;
    p->mtests[0] = (rv_mtest){ key, konst, op, 0 };
}

#define X(name, msg, ...) static void m_##name(rv_program *p) { __VA_ARGS__; }
CASES(X)
#undef X

static const struct {
    const char *name, *msg;
    void (*mutate)(rv_program *p);
} cases[] = {
#define X(name, msg, ...) { #name, msg, m_##name },
    CASES(X)
#undef X
};

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    rv_err err;
    rv_program *p = sample_program();
    if (ver_program(p, &err) < 0)
        failf("verify sample", "%s", err.msg);
    else
        pass("verify sample", "max stack %u", p->max_stack);
    rv_program_free(p);

    p = sample_program();
    dispatch_function(p);
    if (ver_program(p, &err) < 0)
        failf("verify sample with a dispatch", "%s", err.msg);
    else
        pass("verify sample with a dispatch", NULL);
    rv_program_free(p);

    p = sample_program();
    deep_function(p, 256);
    if (ver_program(p, &err) < 0 || p->max_stack != 256)
        failf("verify stack at limit", "%s", err.msg);
    else
        pass("verify stack at limit", NULL);
    rv_program_free(p);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "verify %s", cases[i].name);
        p = sample_program();
        cases[i].mutate(p);
        memset(err.msg, 0, sizeof err.msg);
        if (ver_program(p, &err) == 0)
            failf(name, "accepted, expected \"verify: %s\"", cases[i].msg);
        else if (strncmp(err.msg, "verify: ", 8) != 0 || !strstr(err.msg, cases[i].msg))
            failf(name, "got \"%s\", expected \"verify: %s\"", err.msg, cases[i].msg);
        else
            pass(name, NULL);
        rv_program_free(p);
    }
    return test_failures ? 1 : 0;
}
