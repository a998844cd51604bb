/* libFuzzer target for the .rbc loader (vm/rbc.c), the verifier and
   everything that runs what the verifier accepts.

   The first input byte selects a mode, the rest is the image:
     even  load the image as is (exercises the header and digest checks)
     odd   recompute the image's SHA-256 trailer first, so mutations reach
           the section parser and the verifier instead of dying at the
           checksum
   An accepted program must verify again, disassemble, and re-serialize to
   the same bytes (the format is canonical; only the minor version may
   differ).  Then it is run: a few fixed requests are decided for its
   first agents, model and hook calls answered by a pattern of successes,
   failures and confidences drawn from the input; explain describes one
   decision; the program's own test blocks run; the first step of each
   decision is taken again with the rule plans off (vm_use_plans), and
   with the requests parsed with the program's routing dictionary (their
   views: vm/request.h) and without, and all four must come out the same;
   the full decisions alternate between the two parses.  A program the verifier
   accepts but the VM cannot run safely crashes here (ASan, UBSan), and a
   decision that does not end within MAX_STEPS resumptions aborts.

   Seeds are not kept in the repository: tests/fuzz/seeds.sh builds them
   from every example and compiler test case at the current format
   (tests/fuzz/run.sh and make check call it).  tests/fuzz/corpus/rbc/
   holds the inputs that once crashed, replayed by make check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "disasm.h"
#include "envmem.h"
#include "explain.h"
#include "rbc.h"
#include "testrun.h"
#include "verify.h"
#include "vm.h"

#define MAX_AGENTS 4        /* agents decided per program */
#define MAX_STEPS  10000    /* resumptions per decision before it counts as a hang */

static const char *const requests[] = {
    "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"label this ticket please\"}],"
    "\"user\":\"u-17\",\"metadata\":{\"task\":\"classify\",\"tier\":\"gold\",\"intent\":\"complaint\"}}",
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Bonjour, ma commande est en retard. 123-45-6789\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.example/a.png\"}}]}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\"}}],\"stream\":true,\"max_tokens\":300}",
    "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
    "{\"role\":\"user\",\"content\":\"write me a very long essay about routing policies and budgets\"}],"
    "\"metadata\":{\"task\":\"\"}}",
};
#define NREQ (sizeof requests / sizeof requests[0])

static FILE *devnull;
static rv_request *reqs[NREQ];

static void init(void)
{
    if (!(devnull = fopen("/dev/null", "w")))
        abort();
    for (size_t i = 0; i < NREQ; i++) {
        rv_reqerr rerr;
        if (!(reqs[i] = req_parse(requests[i], strlen(requests[i]), NULL, &rerr)))
            abort();
    }
}

static void fix_digest(uint8_t *b, size_t len)
{
    unsigned int n;
    size_t tail = 32 + (len >= 12 && (b[8] & 1) ? 72 : 0);
    if (len >= 16 + tail)
        EVP_Digest(b, len - tail, b + len - tail, &n, EVP_sha256(), NULL);
}

/* The answer to the i-th call of a decision: a success or a failure of
   some class, a confidence, a text, tool calls and (for hooks) one of the
   program's model names, all drawn from 'seed'. */
static rv_outcome answer(const rv_program *p, uint32_t seed, int i)
{
    static const char *const texts[] = { "0.9", "stop", "", "the answer is bad, email a@b.c 123-45-6789", "0.1" };
    static const rv_toolcall tools[] = { { { "c1", 2 }, { "lookup", 6 }, { "{\"ssn\":\"123-45-6789\"}", 21 } } };
    uint32_t h = seed * 2654435761u + (uint32_t)i * 40503u;
    rv_outcome o = vm_outcome_init(h % 4 != 0);
    o.confidence = (h >> 3) % 3 == 0 ? -1 : (int64_t)((h >> 5) % 1000001u);
    o.usage.input = (h >> 7) % 2 ? -1 : 100;
    o.usage.output = (h >> 8) % 2 ? -1 : 50;
    o.logprob = -(int64_t)((h >> 9) % 2000000u);
    o.failure = (rv_failure)(1 + (h >> 11) % (RV_FAIL__COUNT - 1));
    o.http_status = (h >> 16) % 2 ? 503 : 0;
    o.retry_after_us = (h >> 18) % 2 ? -1 : 1500000;
    const char *t = texts[(h >> 12) % 5];
    o.text.s = t;
    o.text.len = (uint32_t)strlen(t);
    o.finish.s = "stop";
    o.finish.len = 4;
    if ((h >> 20) % 3 == 0) {
        o.tool_calls = tools;
        o.ntool_calls = 1;
    }
    if (p->nmodel && (h >> 15) % 3) {
        uint32_t m = p->models[(h >> 17) % p->nmodel].name;
        o.hook_model.s = rv_str(p, m);
        o.hook_model.len = p->str_len[m];
    }
    return o;
}

/* Feed a streamed answer in two pieces, as a driver would. */
static void stream(rv_vm *vm, const rv_outcome *o)
{
    rv_sv rel;
    size_t half = o->text.len / 2;
    if (vm_feed(vm, o->text.s, half, &rel) == 0 && vm_feed(vm, o->text.s + half, o->text.len - half, &rel) == 0)
        vm_feed_end(vm, &rel);
}

static void decide(rv_vm *vm, const rv_program *p, uint32_t agent, const rv_request *req, uint32_t seed)
{
    rv_status st = vm_start(vm, agent, req, NULL);
    int i = 0;
    while (st == RV_CALL || st == RV_HOOK) {
        if (++i > MAX_STEPS)
            abort();                        /* a decision that does not end */
        rv_outcome o = answer(p, seed, i);
        const rv_call *c = vm_call(vm);
        if (st == RV_CALL && (!c || c->model >= p->nmodel))
            abort();                        /* a call the driver cannot make */
        if (st == RV_CALL && o.ok && c->may_stream && (seed >> i) % 2)
            stream(vm, &o);
        st = vm_resume(vm, &o);
    }
    const rv_result *r = vm_result(vm);
    if (!r || r->status != st)
        abort();
}

/* Do two results of a first step agree? */
static int same_step(rv_status sa, const rv_result *x, rv_status sb, const rv_result *y)
{
    return sa == sb && x->rule == y->rule && x->model == y->model && x->error_pc == y->error_pc &&
           (x->error == y->error || (x->error && y->error && !strcmp(x->error, y->error)));
}

/* Rule plans decide as the route code does (vm/plan.h), with the
   requests' routing views and without: the first step of every decision,
   by plan and by code, on requests parsed with the image's dictionary
   ('vreqs') and without, on VMs without an environment (a shared ledger
   would see the first decision's reservation). */
static void plans_agree(const rv_image *img, const rv_program *p, rv_request *const *vreqs)
{
    rv_vm *a = vm_new(img, NULL, NULL), *b = vm_new(img, NULL, NULL);
    if (a && b) {
        vm_use_plans(b, 0);
        for (uint32_t ag = 0; ag < p->nagent && ag < MAX_AGENTS; ag++)
            for (size_t r = 0; r < NREQ; r++)
                for (int k = 0; k < 3; k++) {   /* plan, plan with view, code with view; against code */
                    rv_vm *vm = k == 2 ? b : a;
                    rv_status sa = vm_start(vm, ag, k ? vreqs[r] : reqs[r], NULL);
                    rv_result x = *vm_result(vm);
                    rv_status sb = vm_start(b, ag, reqs[r], NULL);
                    if (!same_step(sa, &x, sb, vm_result(b)))
                        abort();            /* a plan (or a view) that decides otherwise */
                }
    }
    vm_free(a);
    vm_free(b);
}

/* Run an accepted program the ways the tools do. */
static void run(const rv_program *p, uint32_t seed)
{
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err))
        return;                             /* (out of memory) */
    rv_request *vreqs[NREQ] = { 0 };
    for (size_t r = 0; r < NREQ; r++) {
        rv_reqerr rerr;
        if (!(vreqs[r] = req_parse_dict(requests[r], strlen(requests[r]), NULL, &rerr, NULL, img.dict)))
            vreqs[r] = reqs[r];             /* (out of memory) */
    }
    plans_agree(&img, p, vreqs);
    rv_memenv *env = memenv_new(p->nmodel);
    rv_vm *vm = env ? vm_new(&img, memenv_env(env), NULL) : NULL;
    ex_cache *cache = ex_cache_new(p);
    if (vm && cache) {
        memenv_seed(env, seed);
        for (uint32_t m = 0; m < p->nmodel; m++)
            memenv_set_model(env, m, (seed >> (m % 16)) % 3 ? -1 : (int64_t)m * 1000,
                             (rv_circuit)((seed + m) % 5 == 0 ? RV_CIRCUIT_OPEN : RV_CIRCUIT_CLOSED), 0);
        for (uint32_t a = 0; a < p->nagent && a < MAX_AGENTS; a++)
            for (size_t r = 0; r < NREQ; r++)
                decide(vm, p, a, (seed >> r) & 1 ? vreqs[r] : reqs[r], seed + (uint32_t)r);
        if (p->nagent) {
            json_t *j = ex_explain(vm, cache, seed % p->nagent, reqs[seed % NREQ]);
            char *s = json_dumps(j, JSON_COMPACT);
            free(s);
            json_decref(j);
        }
    }
    ex_cache_free(cache);
    vm_free(vm);
    memenv_free(env);
    for (size_t r = 0; r < NREQ; r++)
        if (vreqs[r] != reqs[r])
            req_free(vreqs[r]);
    vm_image_free(&img);
    tr_stats ts;
    tr_run(p, 1, devnull, &ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rv_err err;
    if (size < 1)
        return 0;
    if (!devnull)
        init();
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
    if (!b)
        return 0;
    memcpy(b, data + 1, len);
    if (data[0] & 1)
        fix_digest(b, len);
    rv_program *p = rbc_load(b, len, NULL, &err);
    if (p) {
        uint8_t *w;
        size_t wn;
        if (ver_program(p, &err) < 0)
            abort();                        /* loaded but does not verify */
        dis_program(p, devnull);
        for (size_t pc = 0; pc < p->ncode; pc = dis_instr(p, pc, devnull))
            ;
        if (rbc_write(p, NULL, &w, &wn, &err) < 0)
            abort();
        if (wn >= 8 && len >= 8 && !(b[8] & 1)) {
            memcpy(w + 6, b + 6, 2);
            fix_digest(w, wn);
            if (wn != len || memcmp(w, b, len) != 0)
                abort();                    /* accepted a non-canonical image */
        }
        free(w);
        run(p, (uint32_t)size ^ (uint32_t)data[size / 2]);
        rv_program_free(p);
    } else if (!err.msg[0] || !memchr(err.msg, 0, sizeof err.msg)) {
        abort();                            /* rejected without a message */
    }
    free(b);
    return 0;
}
