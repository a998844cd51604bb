/* The contract's ownership promise (vm.h): everything a driver passes to
   vm_resume or vm_feed is borrowed for the duration of the call only, so
   a driver may free its buffers as soon as the call returns.  This driver
   does exactly that, for every buffer -- the answer's text and finish
   reason, each tool call's id, name and arguments (and the array), the
   hook's model name, a failure's detail, every streamed chunk -- and
   overwrites each before freeing it, over many random decisions with
   cascades (by confidence, check and judge), hooks, retries, fallbacks,
   output redaction and denial, and streaming.  After each call it reads
   everything the VM hands out (vm_call, vm_result: the answer, its tool
   calls, the error, the deny reason, the judge's conversation).  Under
   ASan (make check) a use after free stops the test; in any build a
   poisoned byte in what the VM returns fails it.

   It also checks that an answer's tool calls survive every way an answer
   is accepted: directly, after a check, and after a judge rated it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "compiler.h"
#include "envmem.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

#define POISON 'Z'

static const char *POLICY =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model a from p { id \"a\" price in $1/Mtok, out $2/Mtok context 8k tokens }\n"
    "model b from p { id \"b\" price in $3/Mtok, out $6/Mtok context 8k tokens fallback on rate_limited -> a }\n"
    "model j from p { id \"j\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
    "guardrail g { redact output matches /secret/ with \"[s]\"  deny output matches /forbidden/ \"no\" }\n"
    "agent judged { guard g  route -> cascade [a, b] until confidence >= 0.5 by judge j  retry 1  fallback [b] }\n"
    "agent checked { guard g  route -> cascade [a, b] until confidence >= 0.5\n"
    "  by check response.finish == \"stop\" and response.tool_calls < 3 and lower(response.text) != \"no\" }\n"
    "agent hooked { guard g  route -> hook \"https://h.example/\" timeout 50ms default b  fallback [a] }\n"
    "agent plain { guard g  route -> b  retry 2  fallback [a] }\n"
    "agent logp { route -> cascade [a, b] until confidence >= 0.5 }\n";

static rv_program *compile(const char *text)
{
    return test_compile("ownership_test.route", text, 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

/* The driver's buffers for one outcome, each its own allocation. */
typedef struct {
    char *bufs[32];
    int n;
} owned;

static char *own(owned *o, const char *s, uint32_t *len)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);
    o->bufs[o->n++] = d;
    if (len)
        *len = (uint32_t)n;
    return d;
}

static void release(owned *o)
{
    for (int i = 0; i < o->n; i++) {
        memset(o->bufs[i], POISON, strlen(o->bufs[i]));
        free(o->bufs[i]);
    }
    o->n = 0;
}

static int poisoned(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == POISON)
            return 1;
    return 0;
}

/* Everything the VM hands out, read in full: 1 when a poisoned byte shows. */
static int read_all(const rv_vm *vm)
{
    int bad = 0;
    const rv_result *r = vm_result(vm);
    bad |= poisoned(r->answer.s, r->answer.len) || poisoned(r->deny_reason.s, r->deny_reason.len);
    if (r->error)
        bad |= poisoned(r->error, strlen(r->error));
    for (uint32_t i = 0; i < r->ntool_calls; i++)
        bad |= poisoned(r->tool_calls[i].id.s, r->tool_calls[i].id.len) ||
               poisoned(r->tool_calls[i].name.s, r->tool_calls[i].name.len) ||
               poisoned(r->tool_calls[i].arguments.s, r->tool_calls[i].arguments.len);
    const rv_call *c = vm_call(vm);
    if (c) {
        for (uint32_t i = 0; i < c->nmsgs; i++)
            bad |= poisoned(c->msgs[i].text.s, c->msgs[i].text.len);
        bad |= poisoned(c->system.s, c->system.len);
    }
    return bad;
}

/* A random outcome whose every buffer is the driver's own. */
static rv_outcome outcome(const rv_vm *vm, owned *ob, rv_toolcall **tcs)
{
    static const char *const texts[] = { "0.9", "0.2", "a secret answer", "forbidden", "no", "Rating: 0.8", "" };
    static const char *const finishes[] = { "stop", "length", "tool_calls" };
    rv_outcome o = vm_outcome_init(vm_hook(vm) ? rnd(3) != 0 : rnd(5) != 0);
    *tcs = NULL;
    if (vm_hook(vm)) {
        static const char *const names[] = { "a", "b", "j", "nosuch" };
        o.hook_model.s = own(ob, names[rnd(4)], &o.hook_model.len);
        return o;
    }
    if (!o.ok) {
        static const rv_failure f[] = { RV_FAIL_TIMEOUT, RV_FAIL_RATE, RV_FAIL_CLIENT, RV_FAIL_SERVER };
        o.failure = f[rnd(4)];
        if (rnd(2))
            o.detail = own(ob, "upstream said: try later", NULL);
        return o;
    }
    o.text.s = own(ob, texts[rnd(7)], &o.text.len);
    o.finish.s = own(ob, finishes[rnd(3)], &o.finish.len);
    o.confidence = rnd(2) ? (int64_t)rnd(1000001) : -1;
    uint32_t n = rnd(3);
    if (n) {
        rv_toolcall *t = malloc(n * sizeof *t);
        for (uint32_t i = 0; i < n; i++) {
            t[i].id.s = own(ob, "call_1", &t[i].id.len);
            t[i].name.s = own(ob, "lookup", &t[i].name.len);
            t[i].arguments.s = own(ob, rnd(2) ? "{\"q\":\"secret\"}" : "{\"q\":\"x\"}", &t[i].arguments.len);
        }
        o.tool_calls = t;
        o.ntool_calls = n;
        *tcs = t;
    }
    return o;
}

static void free_tools(rv_toolcall *t, uint32_t n)
{
    if (t) {
        memset(t, POISON, n * sizeof *t);
        free(t);
    }
}

static void test_random(const rv_program *p, rv_vm *vm)
{
    static const char *const agents[] = { "judged", "checked", "hooked", "plain", "logp" };
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"what is the answer?\"}],\"stream\":true}";
    rv_reqerr e;
    rv_request *r = req_parse(body, sizeof body - 1, NULL, &e);
    int bad = 0, decisions = 0, done = 0, streamed = 0;
    for (int n = 0; n < 2000 && !bad; n++) {
        const char *ag = agents[rnd(5)];
        rv_status st = vm_start(vm, vm_agent(p, ag, strlen(ag)), r, NULL);
        for (int i = 0; i < 100 && (st == RV_CALL || st == RV_HOOK) && !bad; i++) {
            owned ob = { .n = 0 };
            rv_toolcall *tcs;
            rv_outcome o = outcome(vm, &ob, &tcs);
            if (st == RV_CALL && vm_call(vm)->may_stream && o.ok && rnd(2)) {
                /* stream the text in pieces, each freed at once */
                rv_sv rel;
                int stop = 0;
                for (uint32_t at = 0; at < o.text.len && !stop;) {
                    uint32_t k = 1 + rnd(4);
                    if (k > o.text.len - at)
                        k = o.text.len - at;
                    char *piece = malloc(k);
                    memcpy(piece, o.text.s + at, k);
                    stop = vm_feed(vm, piece, k, &rel);
                    memset(piece, POISON, k);
                    free(piece);
                    bad |= poisoned(rel.s, rel.len);
                    at += k;
                }
                if (!stop)
                    vm_feed_end(vm, &rel);
                streamed++;
            }
            st = vm_resume(vm, &o);
            free_tools(tcs, o.ntool_calls);
            release(&ob);
            bad |= read_all(vm);
        }
        decisions++;
        done += st == RV_DONE;
    }
    CHECK("ownership: the VM keeps nothing the driver freed (random decisions, streamed and whole)", !bad,
          "a poisoned byte after %d decisions", decisions);
    CHECK("ownership: the decisions covered answers and streams", done > 100 && streamed > 100, "done %d streamed %d",
          done, streamed);
    req_free(r);
}

/* An answer with one tool call, accepted through 'agent': its tool call
   must be in the result. */
static void test_tools_kept(const rv_program *p, rv_vm *vm, const char *agent, int64_t conf, const char *judge_says,
                            const char *what)
{
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"call the tool\"}]}";
    rv_reqerr e;
    rv_request *r = req_parse(body, sizeof body - 1, NULL, &e);
    rv_status st = vm_start(vm, vm_agent(p, agent, strlen(agent)), r, NULL);
    owned ob = { .n = 0 };
    rv_toolcall *t = malloc(sizeof *t);
    t->id.s = own(&ob, "call_7", &t->id.len);
    t->name.s = own(&ob, "lookup", &t->name.len);
    t->arguments.s = own(&ob, "{\"q\":\"secret\"}", &t->arguments.len);
    rv_outcome o = vm_outcome_init(1);
    o.text.s = own(&ob, "calling", &o.text.len);
    o.finish.s = own(&ob, "stop", &o.finish.len);
    o.confidence = conf;
    o.tool_calls = t;
    o.ntool_calls = 1;
    st = st == RV_CALL ? vm_resume(vm, &o) : st;
    free_tools(t, 1);
    release(&ob);
    if (judge_says && st == RV_CALL && vm_call(vm)->purpose == RV_PURPOSE_JUDGE) {
        rv_outcome jo = vm_outcome_init(1);
        jo.text.s = own(&ob, judge_says, &jo.text.len);
        st = vm_resume(vm, &jo);
        release(&ob);
    }
    const rv_result *res = vm_result(vm);
    CHECK(what, st == RV_DONE && res->model == 0 && res->ntool_calls == 1 && res->tool_calls[0].name.len == 6 &&
          !memcmp(res->tool_calls[0].name.s, "lookup", 6) && res->tool_calls[0].arguments.len == 11 &&
          !memcmp(res->tool_calls[0].arguments.s, "{\"q\":\"[s]\"}", 11),
          "st=%d model=%u tool calls=%u", st, res->model, res->ntool_calls);
    req_free(r);
}

int main(void)
{
    rv_program *p = compile(POLICY);
    if (!p) {
        printf("FAIL ownership: the policy does not compile\n");
        return 1;
    }
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL ownership: image: %s\n", err);
        return 1;
    }
    rv_memenv *env = memenv_new(p->nmodel);
    memenv_set_time(env, 1700000000000000LL);
    rv_vm *vm = vm_new(&img, memenv_env(env), NULL);
    test_random(p, vm);
    test_tools_kept(p, vm, "checked", -1, NULL, "tool calls: an answer a check accepts keeps its tool calls, screened");
    test_tools_kept(p, vm, "judged", -1, "0.9",
                    "tool calls: an answer a judge accepts keeps its tool calls, screened");
    test_tools_kept(p, vm, "judged", 900000, NULL,
                    "tool calls: an answer sure enough keeps its tool calls, screened");
    vm_free(vm);
    memenv_free(env);
    vm_image_free(&img);
    rv_program_free(p);
    return failures ? 1 : 0;
}
