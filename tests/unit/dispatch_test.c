/* Dispatched rule blocks against the linear form.

   Random policies whose rules test metadata keys (==, !=, in, not in, and,
   or, not), request fields and nothing at all are compiled twice -- with
   rule blocks dispatched on a metadata key where the compiler chooses to,
   and with every block linear -- and both programs decide the same random
   requests: the rule and the model must be the same every time (first
   match kept exactly).  Then a policy of 20,000 per-tenant rules: it is
   dispatched, and deciding a tenant near the end runs a handful of
   instructions, not 20,000 tests (counted with the observer: conditions
   evaluated per decision). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "gentext.h"
#include "compiler.h"
#include "opcodes.h"
#include "verify.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static rv_program *compile(const char *text, int no_dispatch)
{
    return test_compile("dispatch_test.route", text, no_dispatch);
}

static const char *const KEYS[] = { "task", "tier", "region" };
/* values of every length the dispatch table compares differently: empty,
   under 8 bytes, exactly 8, and longer ones sharing their first 8 */
static const char *const VALS[] = { "a", "b", "", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghj",
                                    "abcdefghijklmnopqrstuvwxyz" };
#define NVALS (sizeof VALS / sizeof *VALS)

/* One condition term on metadata or the request. */
static void term(buf *b)
{
    const char *k = KEYS[rnd(3)];
    switch (rnd(8)) {
    case 0: case 1: case 2: put(b, "meta.%s == \"%s\"", k, VALS[rnd(NVALS)]); break;
    case 3: put(b, "meta.%s in [\"%s\", \"%s\"]", k, VALS[rnd(NVALS)], VALS[rnd(NVALS)]); break;
    case 4: put(b, "meta.%s != \"%s\"", k, VALS[rnd(NVALS)]); break;
    case 5: put(b, "meta.%s not in [\"%s\", \"%s\"]", k, VALS[rnd(NVALS)], VALS[rnd(NVALS)]); break;
    case 6: put(b, "stream"); break;
    default: put(b, "bytes(input) > %u", rnd(8)); break;
    }
}

static void condition(buf *b)
{
    for (uint32_t i = 0, n = 1 + rnd(3); i < n; i++) {
        if (i)
            put(b, rnd(6) < 4 ? " and " : " or ");
        int neg = rnd(6) == 0;
        if (neg)
            put(b, "not (");
        term(b);
        if (neg)
            put(b, ")");
    }
}

static void policy(buf *b, uint32_t nrules)
{
    gen_models(b, 8);
    put(b, "agent x { route {\n");
    for (uint32_t i = 0; i < nrules; i++) {
        put(b, "  when ");
        condition(b);
        put(b, " -> m%u\n", rnd(8));
    }
    put(b, "  otherwise -> m7\n} }\n");
}

static void request(buf *b)
{
    b->len = 0;
    put(b, "{\"messages\":[{\"role\":\"user\",\"content\":\"%.*s\"}]", (int)rnd(9), "xxxxxxxx");
    if (rnd(2))
        put(b, ",\"stream\":true");
    put(b, ",\"metadata\":{");
    int first = 1;
    for (int k = 0; k < 3; k++) {
        if (rnd(5) == 0)
            continue;           /* a missing key */
        put(b, "%s\"%s\":\"%s\"", first ? "" : ",", KEYS[k], rnd(7) == 0 ? "zz" : VALS[rnd(NVALS)]);
        first = 0;
    }
    put(b, "}}");
}

static int has_dispatch(const rv_program *p)
{
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (INS_OP(p->code[pc]) == OP_DISPATCH)
            return 1;
    return 0;
}

typedef struct { uint32_t n; } counter;
static void count_cond(void *ud, uint32_t pc, uint32_t loc, int result)
{
    (void)pc; (void)loc; (void)result;
    ((counter *)ud)->n++;
}

int main(void)
{
    /* differential: random policies, random requests */
    unsigned policies = 0, dispatched = 0, decisions = 0, mismatches = 0;
    char first_bad[512] = "";
    buf src = { 0 }, req = { 0 };
    for (int round = 0; round < 400; round++) {
        src.len = 0;
        policy(&src, 4 + rnd(30));
        rv_program *pd = compile(src.s, 0), *pl = compile(src.s, 1);
        if (!pd || !pl) {
            printf("FAIL dispatch differential: policy %d does not compile\n%s\n", round, src.s);
            failures++;
            rv_program_free(pd);
            rv_program_free(pl);
            break;
        }
        policies++;
        dispatched += has_dispatch(pd);
        rv_image id, il;
        char err[200];
        if (vm_image_init(&id, pd, err, sizeof err) || vm_image_init(&il, pl, err, sizeof err)) {
            printf("FAIL dispatch image: %s\n", err);
            return 1;
        }
        rv_vm *vd = vm_new(&id, NULL, NULL), *vl = vm_new(&il, NULL, NULL);
        for (int q = 0; q < 200; q++) {
            request(&req);
            rv_request *r = gen_request(&req, "dispatch", &failures);
            if (!r)
                continue;
            rv_status sd = vm_start(vd, 0, r, NULL), sl = vm_start(vl, 0, r, NULL);
            const rv_result *a = vm_result(vd), *b = vm_result(vl);
            uint32_t md = sd == RV_CALL ? vm_call(vd)->model : RV_NONE, ml = sl == RV_CALL ? vm_call(vl)->model : RV_NONE;
            decisions++;
            if (sd != sl || a->rule != b->rule || md != ml) {
                if (!mismatches++)
                    snprintf(first_bad, sizeof first_bad, "request %s: rule %u/%u model %u/%u", req.s, a->rule,
                             b->rule, md, ml);
            }
            req_free(r);
        }
        vm_free(vd);
        vm_free(vl);
        vm_image_free(&id);
        vm_image_free(&il);
        rv_program_free(pd);
        rv_program_free(pl);
    }
    CHECK("dispatched blocks decide as the linear form", mismatches == 0 && decisions > 0,
          "%u of %u decisions differ; first: %s", mismatches, decisions, first_bad);
    CHECK("random policies are dispatched", dispatched * 3 > policies, "%u of %u", dispatched, policies);

    /* 20,000 per-tenant rules */
    src.len = 0;
    put(&src, "provider p { kind openai endpoint \"https://x.example/v1\" }\n");
    for (int m = 0; m < 4; m++)
        put(&src, "model m%d from p { id \"m%d\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n", m, m);
    put(&src, "agent x { route {\n");
    for (int i = 0; i < 20000; i++)
        put(&src, "  when meta.tenant == \"t%05d\" -> m%d\n", i, i % 3);
    put(&src, "  otherwise -> m3\n} }\n");
    rv_program *p = compile(src.s, 0);
    CHECK("20,000 tenant rules compile, dispatched", p && has_dispatch(p), "no dispatch");
    if (p) {
        rv_image img;
        char err[200];
        vm_image_init(&img, p, err, sizeof err);
        rv_vm *vm = vm_new(&img, NULL, NULL);
        counter n = { 0 };
        rv_observer obs = { count_cond, NULL };
        vm_set_observer(vm, &obs, &n);
        static const char *const reqs[] = {
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"tenant\":\"t19999\"}}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"tenant\":\"t00007\"}}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"tenant\":\"nobody\"}}",
        };
        static const uint32_t want[] = { 19999 % 3, 7 % 3, 3 };
        int ok = 1;
        for (int i = 0; i < 3; i++) {
            rv_reqerr rerr;
            rv_request *r = req_parse(reqs[i], strlen(reqs[i]), NULL, &rerr);
            n.n = 0;
            rv_status st = r ? vm_start(vm, 0, r, NULL) : RV_FAILED;
            ok &= st == RV_CALL && vm_call(vm)->model == want[i] && n.n <= 1;
            req_free(r);
        }
        CHECK("a tenant's rule is found without testing the others", ok, "wrong model or %u conditions", n.n);
        vm_free(vm);
        vm_image_free(&img);
        rv_program_free(p);
    }

    /* values of 65,535 bytes and more (their length is in the entry):
       two listed values with the same first 8 bytes, and unlisted ones a
       byte shorter and longer */
    {
        const size_t big = 70000;
        char *v = malloc(big + 2);
        if (!v)
            abort();
        memset(v, 'a', big + 1);
        v[big + 1] = 0;
        src.len = 0;
        put(&src, "provider p { kind openai endpoint \"https://x.example/v1\" }\n");
        for (int m = 0; m < 4; m++)
            put(&src, "model m%d from p { id \"m%d\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n", m, m);
        put(&src, "agent x { route {\n  when meta.k == \"%.*s\" -> m0\n", (int)big, v);
        put(&src, "  when meta.k == \"%.*sb\" -> m1\n", (int)big, v);
        put(&src, "  when meta.k == \"%.*s\" -> m2\n", 65535, v);
        put(&src, "  when meta.k == \"a\" -> m2\n  otherwise -> m3\n} }\n");
        rv_program *pb = compile(src.s, 0);
        int ok = pb && has_dispatch(pb);
        if (pb) {
            rv_image img;
            char err[200];
            ok &= !vm_image_init(&img, pb, err, sizeof err);
            rv_vm *vm = vm_new(&img, NULL, NULL);
            struct { size_t n; const char *tail; uint32_t model; } cases[] = {
                { big, "", 0 }, { big, "b", 1 }, { 65535, "", 2 }, { big + 1, "", 3 }, { big - 1, "", 3 },
                { big, "c", 3 }, { 65534, "", 3 }, { 8, "", 3 }, { 1, "", 2 },
            };
            for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                req.len = 0;
                put(&req, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"k\":\"%.*s%s\"}}",
                    (int)cases[i].n, v, cases[i].tail);
                rv_reqerr rerr;
                rv_request *r = req_parse(req.s, req.len, NULL, &rerr);
                rv_status st = r ? vm_start(vm, 0, r, NULL) : RV_FAILED;
                if (st != RV_CALL || vm_call(vm)->model != cases[i].model) {
                    printf("FAIL long values: %zu bytes + \"%s\": status %d, model %u, want %u\n", cases[i].n,
                           cases[i].tail, (int)st, st == RV_CALL ? vm_call(vm)->model : 99, cases[i].model);
                    failures++;
                    ok = 0;
                }
                req_free(r);
            }
            vm_free(vm);
            vm_image_free(&img);
            rv_program_free(pb);
        }
        CHECK("values of 65,535 bytes and more are told apart by length and bytes", ok, "see above");
        free(v);
    }
    free(src.s);
    free(req.s);
    return failures ? 1 : 0;
}
