/* The VM driven directly: suspension and resumption at model and hook
   calls, retries, fallbacks, cascades (logprobs, check, judge), split
   stickiness, guardrails, the size of per-request state and the absence
   of allocation on the decision path.  Policies are compiled in-process
   from the texts below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "mem.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static const char *POLICY =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model a from p { id \"a\" price in $1/Mtok, out $2/Mtok context 8k tokens tier 1 }\n"
    "model b from p { id \"b\" price in $3/Mtok, out $6/Mtok context 8k tokens tier 2 }\n"
    "model c from p { id \"c\" price in $9/Mtok, out $9/Mtok context 8k tokens tier 3 }\n"
    "guardrail g { deny input matches /secret/i \"no secrets\"  redact input matches /[0-9]{4}/ with \"####\"\n"
    "              redact output matches /bad/ with \"***\" }\n"
    "agent retry_fb { route -> a  retry 1  fallback [b, c] }\n"
    "agent casc { route -> cascade [a, b, c] until confidence >= 0.8 }\n"
    "agent chk { route -> cascade [a, b] until confidence >= 0.5 by check response.text != \"dunno\" }\n"
    "agent judged { route -> cascade [a, b] until confidence >= 0.5 by judge c }\n"
    "agent hooked { route -> hook \"https://h.example/\" timeout 50ms default b }\n"
    "agent ab { route -> split 50% -> a, 50% -> b by user }\n"
    "agent guarded { guard g  route { when contains(input, \"####\") -> b  otherwise -> a } }\n"
    "agent rules { route { when meta.task == \"x\" and len(input) > 3 -> b \"long x\"\n"
    "                      when meta.task in [\"y\", \"z\"] or stream -> c\n"
    "                      otherwise -> a } }\n"
    "agent div1 { route { when bytes(input) / 4 > 2 -> b  when bytes(input) / 4 >= 2 -> c  otherwise -> a } }\n"
    "agent div2 { route { when bytes(input) / 4 < 2 -> a  when bytes(input) / 4 <= 2 -> b  otherwise -> c } }\n";

static rv_program *compile(const char *text)
{
    rv_compiler *c = comp_new(NULL);
    rv_program *p = NULL;
    rv_err err;
    if (c && import_text(c, "vm_test.route", text, strlen(text)) == 0 && comp_check(c) == 0)
        p = cg_program(c);
    else if (c) {
        diag_sort(&c->diag);
        diag_print(&c->diag, DIAG_TEXT, stdout);
    }
    comp_free(c);
    if (p && ver_program(p, &err)) {
        printf("FAIL verify: %s\n", err.msg);
        rv_program_free(p);
        p = NULL;
    }
    return p;
}

static rv_request *request(const char *json)
{
    rv_reqerr err;
    rv_request *r = req_parse(json, strlen(json), NULL, &err);
    if (!r)
        printf("FAIL request: %s\n", err.msg);
    return r;
}

static const char *name(const rv_program *p, uint32_t m) { return m == RV_NONE ? "none" : rv_str(p, p->models[m].name); }

static rv_outcome answer(const char *text, int64_t conf)
{
    rv_outcome o = { .ok = 1, .confidence = conf, .in_tokens = 10, .out_tokens = 20 };
    o.text.s = text;
    o.text.len = (uint32_t)strlen(text);
    return o;
}

static rv_outcome failure(const char *what)
{
    rv_outcome o = { .ok = 0, .failure = what, .in_tokens = -1, .out_tokens = -1 };
    return o;
}

int main(void)
{
    rv_program *p = compile(POLICY);
    if (!p) {
        printf("FAIL compile\n");
        return 1;
    }
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL image: %s\n", err);
        return 1;
    }
    rv_vm *vm = vm_new(&img, NULL);
    const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"user\":\"u1\"}";
    rv_request *r;
    rv_status st;

    /* retry, then fallbacks in order */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "retry_fb", 8), r);
    CHECK("call suspends with the routed model", st == RV_CALL && vm->call.model == 0 && vm->call.attempt == 1,
          "st=%d model=%s", st, name(p, vm->call.model));
    rv_outcome f = failure("timeout");
    st = vm_resume(vm, &f);
    CHECK("a failure is retried on the same model", st == RV_CALL && vm->call.model == 0 && vm->call.attempt == 2,
          "st=%d model=%s attempt=%u", st, name(p, vm->call.model), vm->call.attempt);
    st = vm_resume(vm, &f);
    CHECK("after the retries the first fallback", st == RV_CALL && vm->call.model == 1, "model=%s", name(p, vm->call.model));
    st = vm_resume(vm, &f);
    st = st == RV_CALL ? vm_resume(vm, &f) : st;   /* b's retry */
    CHECK("then the second fallback", st == RV_CALL && vm->call.model == 2, "model=%s", name(p, vm->call.model));
    rv_outcome ok = answer("fine", 1000000);
    st = vm_resume(vm, &ok);
    CHECK("an answer ends the request", st == RV_DONE && vm->model == 2 && vm->attempts == 5,
          "st=%d model=%s attempts=%u", st, name(p, vm->model), vm->attempts);
    CHECK("only answered calls are billed", vm->cost == 10 * 9000000LL + 20 * 9000000LL, "cost=%lld", (long long)vm->cost);
    req_free(r);

    /* all fail */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "retry_fb", 8), r);
    for (int i = 0; i < 10 && st == RV_CALL; i++)
        st = vm_resume(vm, &f);
    CHECK("when everything fails the request fails", st == RV_FAILED && vm->error, "st=%d", st);
    req_free(r);

    /* cascade by logprobs-style confidence */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "casc", 4), r);
    rv_outcome unsure = answer("maybe", 300000), sure = answer("yes", 900000);
    st = vm_resume(vm, &unsure);
    CHECK("low confidence escalates", st == RV_CALL && vm->call.model == 1, "model=%s", name(p, vm->call.model));
    st = vm_resume(vm, &sure);
    CHECK("high confidence is accepted", st == RV_DONE && vm->model == 1, "st=%d model=%s", st, name(p, vm->model));
    req_free(r);
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "casc", 4), r);
    rv_outcome unknown = answer("?", -1);
    st = vm_resume(vm, &unknown);
    CHECK("unknown confidence escalates", st == RV_CALL && vm->call.model == 1, "model=%s", name(p, vm->call.model));
    st = vm_resume(vm, &unsure);
    st = vm_resume(vm, &unsure);
    CHECK("the last step is accepted as it is", st == RV_DONE && vm->model == 2, "st=%d model=%s", st, name(p, vm->model));
    req_free(r);

    /* cascade by check */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "chk", 3), r);
    rv_outcome dunno = answer("dunno", -1);
    st = vm_resume(vm, &dunno);
    CHECK("a failed check escalates", st == RV_CALL && vm->call.model == 1, "model=%s", name(p, vm->call.model));
    req_free(r);
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "chk", 3), r);
    rv_outcome good = answer("42", -1);
    st = vm_resume(vm, &good);
    CHECK("a passed check accepts", st == RV_DONE && vm->model == 0, "st=%d", st);
    req_free(r);

    /* cascade by judge: the judge is called with its own purpose */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "judged", 6), r);
    st = vm_resume(vm, &unknown);
    CHECK("the judge is asked", st == RV_CALL && vm->call.model == 2 && vm->call.purpose == RV_PURPOSE_JUDGE,
          "model=%s purpose=%d", name(p, vm->call.model), vm->call.purpose);
    rv_outcome rating = answer("0.9", -1);
    st = vm_resume(vm, &rating);
    CHECK("a good rating accepts the judged answer", st == RV_DONE && vm->model == 0 && !strcmp(vm->answer.s, "?"),
          "st=%d model=%s", st, name(p, vm->model));
    req_free(r);

    /* hook */
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "hooked", 6), r);
    CHECK("a hook suspends", st == RV_HOOK && vm->hook == 0, "st=%d", st);
    rv_outcome h = { .ok = 1, .hook_model = { "c", 1 } };
    st = vm_resume(vm, &h);
    CHECK("the hook's model is called", st == RV_CALL && vm->call.model == 2, "model=%s", name(p, vm->call.model));
    req_free(r);
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "hooked", 6), r);
    st = vm_resume(vm, &f);
    CHECK("a failed hook takes the default", st == RV_CALL && vm->call.model == 1, "model=%s", name(p, vm->call.model));
    req_free(r);
    r = request(plain);
    st = vm_start(vm, vm_agent(p, "hooked", 6), r);
    rv_outcome hbad = { .ok = 1, .hook_model = { "nosuch", 6 } };
    st = vm_resume(vm, &hbad);
    CHECK("a hook answering an unknown model takes the default", st == RV_CALL && vm->call.model == 1,
          "model=%s", name(p, vm->call.model));
    req_free(r);

    /* split: sticky by user, both arms reachable */
    int seen[2] = { 0 }, sticky = 1;
    for (int u = 0; u < 200; u++) {
        char buf[160];
        snprintf(buf, sizeof buf, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"user\":\"user-%d\"}", u);
        r = request(buf);
        vm_start(vm, vm_agent(p, "ab", 2), r);
        uint32_t m1 = vm->call.model;
        vm_start(vm, vm_agent(p, "ab", 2), r);
        sticky &= vm->call.model == m1;
        seen[m1 & 1]++;
        req_free(r);
    }
    CHECK("split is sticky and uses both arms", sticky && seen[0] > 60 && seen[1] > 60, "a=%d b=%d", seen[0], seen[1]);

    /* guardrails: deny, input redaction seen by conditions, output redaction */
    r = request("{\"messages\":[{\"role\":\"user\",\"content\":\"my SECRET is out\"}]}");
    st = vm_start(vm, vm_agent(p, "guarded", 7), r);
    CHECK("deny input refuses before routing", st == RV_DENIED && vm->model == RV_NONE, "st=%d", st);
    req_free(r);
    r = request("{\"messages\":[{\"role\":\"user\",\"content\":\"card 1234 and 5678\"}]}");
    st = vm_start(vm, vm_agent(p, "guarded", 7), r);
    CHECK("redaction happens before routing", st == RV_CALL && vm->call.model == 1 && vm->redacted == 2 &&
          !strcmp(r->input.s, "card #### and ####"), "model=%s input=%s", name(p, vm->call.model), r->input.s);
    rv_outcome badword = answer("this is bad, bad", 1000000);
    st = vm_resume(vm, &badword);
    CHECK("output redaction", st == RV_DONE && !strncmp(vm->answer.s, "this is ***, ***", vm->answer.len),
          "answer=%.*s", (int)vm->answer.len, vm->answer.s);
    req_free(r);

    /* rules and traces */
    rv_cond conds[16];
    vm->conds = conds;
    vm->max_conds = 16;
    r = request("{\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}],\"metadata\":{\"task\":\"x\"}}");
    st = vm_start(vm, vm_agent(p, "rules", 5), r);
    CHECK("first matching rule wins", st == RV_CALL && vm->call.model == 1 && p->rules[vm->rule].number == 1,
          "model=%s", name(p, vm->call.model));
    CHECK("evaluated conditions are traced", vm->nconds == 2 && conds[0].result && conds[1].result, "n=%u", vm->nconds);
    req_free(r);
    r = request("{\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}],\"metadata\":{\"task\":\"x\"},\"stream\":true}");
    st = vm_start(vm, vm_agent(p, "rules", 5), r);
    CHECK("a failed conjunct moves to the next rule", vm->call.model == 2 && p->rules[vm->rule].number == 2,
          "model=%s", name(p, vm->call.model));
    req_free(r);
    vm->conds = NULL;

    /* x / k compared with n is compiled as x compared with a rescaled n:
       the boundaries must not move */
    static const struct { int len; uint32_t m1, m2; } div[] = { { 7, 0, 0 }, { 8, 2, 1 }, { 11, 2, 1 }, { 12, 1, 2 } };
    int div_ok = 1;
    for (size_t i = 0; i < sizeof div / sizeof *div; i++) {
        char buf[160];
        snprintf(buf, sizeof buf, "{\"messages\":[{\"role\":\"user\",\"content\":\"%.*s\"}]}", div[i].len,
                 "xxxxxxxxxxxxxxxx");
        r = request(buf);
        vm_start(vm, vm_agent(p, "div1", 4), r);
        div_ok &= vm->call.model == div[i].m1;
        vm_start(vm, vm_agent(p, "div2", 4), r);
        div_ok &= vm->call.model == div[i].m2;
        req_free(r);
    }
    CHECK("integer division in conditions keeps its boundaries", div_ok, "a boundary moved");

    /* state size and allocation-free decisions */
    size_t size = sizeof(rv_vm) + vm->stack_cap * sizeof(rv_value);
    CHECK("per-request VM state under 4 KB", size < 4096, "%zu bytes", size);
    r = request("{\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}],\"metadata\":{\"task\":\"y\"}}");
    unsigned long before = mem_count();
    for (int i = 0; i < 1000; i++)
        vm_start(vm, vm_agent(p, "rules", 5), r);
    CHECK("deciding allocates nothing", mem_count() == before, "%lu allocations in 1000 decisions", mem_count() - before);
    req_free(r);

    vm_free(vm);
    vm_image_free(&img);
    rv_program_free(p);
    return failures ? 1 : 0;
}
