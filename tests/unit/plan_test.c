/* Rule plans (vm/plan.h) against the interpreter.

   Random policies whose rules are conjunctions of metadata tests (==, !=,
   in, not in), numeric tests of request values (bytes(input), len(input),
   bucket(user), turns, images, max_tokens; every comparison) and request conditions (stream, not
   stream) -- and now and then a rule the plans do not take (or, not (...))
   -- are compiled with rule blocks dispatched where the compiler chooses
   to and with every block linear.  Each program decides random requests
   by its plans and by its code (vm_use_plans off), each request parsed
   three ways -- with the image's routing dictionary (its view, request.h),
   without one, and with another program's -- the plans deciding all three
   and the code the first two: the status, the rule, the reason, the
   model and the error must be the same every time.  Requests have keys
   missing, values that are not strings, values sharing their first
   bytes, values longer than the hot region's copies, values written with
   escapes (equal to a compared string only once decoded, or not at all).
   Then the check is shown to bite: a plan whose value table (and kills
   by id) is changed must disagree with the code, and so must one whose
   kills by id alone are changed, on the requests with views, and one
   whose eager request tests (bytes(input), bucket(user), stream, turns,
   max_tokens, answered from the request's first line) rule nothing
   out.  A
   block's FAIL (no rule matches), which a compiled policy with an
   'otherwise' never reaches, is reached by a program changed after
   compiling (and verified again): the plan must fail with the code's
   message at the code's pc.  An image of many plannable agents gets
   plans only until its budget is spent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_text.h"
#include "gentext.h"
#include "compiler.h"
#include "opcodes.h"
#include "plan.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static const char *const KEYS[] = { "task", "tier", "region", "lang" };
#define NKEYS 4
/* empty, short, 8 bytes, and longer values sharing their first 8, one
   longer than RV_REQ_HOT_STR; "5" and "true" as a non-string value is
   written */
static const char *const VALS[] = { "a", "b", "", "code", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghj",
                                    "abcdefghijklmnopqrstuvwxyz", "5", "true",
                                    "abcdefghijklmnopqrstuvwxyz0123456789-long" };
#define NVALS (sizeof VALS / sizeof *VALS)

static const char *const OPS[] = { "==", "!=", "<", "<=", ">", ">=" };

static void term(buf *b, int plain)
{
    const char *k = KEYS[rnd(NKEYS)];
    switch (rnd(plain ? 12 : 14)) {
    case 0: case 1: case 2: put(b, "meta.%s == \"%s\"", k, VALS[rnd(NVALS)]); break;
    case 3: put(b, "meta.%s in [\"%s\", \"%s\", \"%s\"]", k, VALS[rnd(NVALS)], VALS[rnd(NVALS)], VALS[rnd(NVALS)]); break;
    case 4: put(b, "meta.%s != \"%s\"", k, VALS[rnd(NVALS)]); break;
    case 5: put(b, "meta.%s not in [\"%s\", \"%s\"]", k, VALS[rnd(NVALS)], VALS[rnd(NVALS)]); break;
    case 6: put(b, rnd(2) ? "stream" : "not stream"); break;
    case 7: put(b, "bytes(input) %s %u", OPS[rnd(6)], rnd(10)); break;
    case 8: put(b, "bucket(user) < %u", rnd(100)); break;
    case 9: put(b, "%s %s %u", rnd(2) ? "turns" : "images", OPS[rnd(6)], rnd(3)); break;
    case 10: put(b, "len(input) > %u", rnd(9)); break;
    case 11: put(b, "max_tokens %s %u", OPS[rnd(6)], rnd(4) ? 100 * (1 + rnd(3)) : 0); break;
    case 12: put(b, "(meta.%s == \"a\" or stream)", k); break;       /* no plan */
    default: put(b, "not (meta.%s == \"%s\")", k, VALS[rnd(NVALS)]); break;
    }
}

static void policy(buf *b, uint32_t nrules, int plain)
{
    gen_models(b, 8);
    put(b, "agent x { route {\n");
    for (uint32_t i = 0; i < nrules; i++) {
        put(b, "  when ");
        for (uint32_t t = 0, n = 1 + rnd(4); t < n; t++) {
            put(b, "%s", t ? " and " : "");
            term(b, plain);
        }
        put(b, " -> m%u \"r%u\"\n", rnd(8), i);
    }
    put(b, "  otherwise -> m7 \"default\"\n} }\n");
}

static void request(buf *b)
{
    b->len = 0;
    put(b, "{\"messages\":[");
    for (uint32_t t = 0, n = rnd(3); t < n; t++)
        put(b, "{\"role\":\"user\",\"content\":%s},{\"role\":\"assistant\",\"content\":\"ok\"},",
            rnd(3) ? "\"earlier\""
                   : "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.example/i.png\"}},"
                     "{\"type\":\"text\",\"text\":\"this\"}]");
    put(b, "{\"role\":\"user\",\"content\":\"%.*s\"}]", (int)rnd(12), "xxxxxxxxxxxx");
    if (rnd(2))
        put(b, ",\"stream\":%s", rnd(3) ? "true" : "false");
    if (rnd(2))
        put(b, ",\"max_tokens\":%u", 100 * (1 + rnd(3)));
    if (rnd(2))
        put(b, ",\"user\":\"u-%u\"", rnd(50));
    put(b, ",\"metadata\":{");
    int first = 1;
    for (int k = 0; k < NKEYS; k++) {
        if (rnd(5) == 0)
            continue;           /* a missing key */
        put(b, "%s\"%s\":", first ? "" : ",", KEYS[k]);
        first = 0;
        switch (rnd(10)) {
        case 0: put(b, "5"); break;                 /* not strings */
        case 1: put(b, "true"); break;
        case 2: put(b, "null"); break;
        case 3: put(b, "\"zz\""); break;            /* listed nowhere */
        case 4: {                                   /* escaped: "\u0063ode" is "code" */
            const char *v = VALS[rnd(NVALS)];
            put(b, *v ? "\"\\u%04x%s\"" : "\"\\\\u0063ode\"", (unsigned)*v, *v ? v + 1 : "");
            break;
        }
        default: put(b, "\"%s\"", VALS[rnd(NVALS)]); break;
        }
    }
    put(b, "}}");
}

typedef struct {
    rv_status st;
    uint32_t rule, model, error_pc;
    const char *reason, *error;
} decision;

static decision decide(rv_vm *vm, const rv_program *p, const rv_request *r)
{
    decision d = { .st = vm_start(vm, 0, r, NULL) };
    const rv_result *res = vm_result(vm);
    d.rule = res->rule;
    d.model = d.st == RV_CALL ? vm_call(vm)->model : RV_NONE;
    d.reason = res->rule != RV_NONE ? rv_str(p, p->rules[res->rule].reason) : "";
    d.error = res->error ? res->error : "";
    d.error_pc = res->error_pc;
    return d;
}

static int same(const decision *a, const decision *b)
{
    return a->st == b->st && a->rule == b->rule && a->model == b->model && !strcmp(a->reason, b->reason) &&
           !strcmp(a->error, b->error) && a->error_pc == b->error_pc;
}

/* Counts of one differential run: decisions of requests with views the
   plan read ('viewed'). */
typedef struct { unsigned policies, planned, decisions, viewed, differ, failed; char first[600]; } tally;

/* Another program's image, whose dictionary parses some requests: their
   views are not the plans' to read. */
static rv_image other_img;

static rv_request *parse_with(const buf *b, const rv_reqdict *d)
{
    rv_reqerr err;
    rv_request *r = req_parse_dict(b->s, b->len, NULL, &err, NULL, d);
    if (!r) {
        printf("FAIL plan request with a dictionary: %s: %s\n", b->s, err.msg);
        failures++;
    }
    return r;
}

/* Decide 'nreq' random requests with program 'p' by plan and by code;
   'mutate' 1 changes the plan's value table and kills by id first, 2
   only its kills by id, 3 what its eager request tests rule out. */
static void compare(rv_program *p, const char *src, int nreq, int mutate, tally *t)
{
    rv_image img;
    char err[200];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL plan image: %s\n", err);
        failures++;
        return;
    }
    vm_plan *pl = img.plans[0];
    t->policies++;
    t->planned += pl != NULL;
    if (mutate == 3 && pl) {
        for (uint32_t i = 0; i < pl->nsrc; i++)
            memset(pl->src[i].kill, 0, sizeof pl->src[i].kill);    /* eager request tests rule nothing out */
        mutate = 0;
    }
    if (mutate && pl) {
        for (uint32_t e = 0; e <= pl->vmask && mutate == 1; e++)
            pl->vals[e].kill = 0;   /* a value rules nothing out */
        for (uint32_t g = 0; g < pl->ngroup; g++)
            for (uint32_t i = 0; pl->groups[g].vkey != RV_NONE && i < pl->groups[g].nid; i++)
                pl->idkill[pl->groups[g].idfirst + i] = 0;
    }
    rv_vm *a = vm_new(&img, NULL, NULL), *b = vm_new(&img, NULL, NULL);
    vm_use_plans(b, 0);
    buf req = { 0 };
    for (int q = 0; q < nreq && a && b; q++) {
        request(&req);
        rv_request *r[3] = { gen_request(&req, "plan", &failures), parse_with(&req, img.dict),
                             parse_with(&req, other_img.dict) };
        if (r[0] && r[1] && r[2]) {
            decision y = decide(b, p, r[0]);
            for (int k = 0; k < 5; k++) {
                decision x = decide(k < 3 ? a : b, p, r[k % 3]);
                t->decisions++;
                t->viewed += k == 1 && pl && img.dict && req_view_is(r[1], pl->dict, pl->stamp);
                t->failed += x.st == RV_FAILED;
                if (!same(&x, &y) && !t->differ++)
                    snprintf(t->first, sizeof t->first, "request %s (way %d): status %d/%d rule %u/%u model %u/%u error '%s'/'%s'\n%.300s",
                             req.s, k, (int)x.st, (int)y.st, x.rule, y.rule, x.model, y.model, x.error, y.error, src);
            }
        }
        for (int k = 0; k < 3; k++)
            req_free(r[k]);
    }
    free(req.s);
    vm_free(a);
    vm_free(b);
    vm_image_free(&img);
}

int main(void)
{
    tally t = { 0 }, mut = { 0 }, mutid = { 0 }, mutsrc = { 0 };
    gen_seed(0x9e3779b97f4a7c15ull);
    buf src = { 0 };
    static const char other[] =
        "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
        "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
        "agent y { route {\n"
        "  when meta.lang == \"a\" and meta.task in [\"b\", \"code\"] -> a\n"
        "  when meta.tier == \"zz\" and bucket(user) < 7 -> a\n"
        "  otherwise -> a\n} }\n";
    rv_program *op = test_compile("plan_other.route", other, 0);
    char oerr[200];
    if (!op || vm_image_init(&other_img, op, oerr, sizeof oerr) || !other_img.dict) {
        printf("FAIL plan: the other program has no dictionary\n");
        return 1;
    }
    for (int round = 0; round < 300; round++) {
        src.len = 0;
        int plain = rnd(4) != 0;
        policy(&src, 1 + rnd(rnd(4) ? 24 : 70), plain);
        for (int linear = 0; linear < 2; linear++) {
            rv_program *p = test_compile("plan_test.route", src.s, linear);
            if (!p) {
                printf("FAIL plan differential: policy %d does not compile\n%s\n", round, src.s);
                failures++;
                break;
            }
            compare(p, src.s, 150, 0, &t);
            if (round < 60) {
                compare(p, src.s, 150, 1, &mut);
                compare(p, src.s, 150, 2, &mutid);
                compare(p, src.s, 150, 3, &mutsrc);
            }
            rv_program_free(p);
        }
    }
    CHECK("plans decide as the code (status, rule, reason, model, error), with views and without",
          t.differ == 0 && t.decisions > 0, "%u of %u decisions differ; first: %s", t.differ, t.decisions, t.first);
    CHECK("the plans read views", t.viewed * 4 > t.decisions / 5, "%u of %u requests", t.viewed, t.decisions / 5);
    CHECK("most random policies have a plan", t.planned * 2 > t.policies && t.planned < t.policies,
          "%u of %u", t.planned, t.policies);
    CHECK("a changed plan is caught", mut.differ > 0, "%u decisions of %u planned policies, none differ",
          mut.decisions, mut.planned);
    CHECK("a plan whose kills by id are changed is caught", mutid.differ > 0,
          "%u decisions of %u planned policies, none differ", mutid.decisions, mutid.planned);
    CHECK("a plan whose eager request tests' kills are changed is caught", mutsrc.differ > 0,
          "%u decisions of %u planned policies, none differ", mutsrc.decisions, mutsrc.planned);

    /* no rule matches: a dispatched block whose class 0 is made to end
       before 'otherwise' (still reached from class "x"), so that values
       of no class and one turn reach the block's FAIL */
    {
        static const char fp[] =
            "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
            "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
            "model b from p { id \"b\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
            "agent x { route {\n"
            "  when meta.task == \"x\" and stream -> a \"x\"\n"
            "  when meta.task == \"y\" -> b \"y\"\n"
            "  when meta.task == \"z\" -> b \"z\"\n"
            "  when meta.task == \"w\" -> b \"w\"\n"
            "  when turns > 1 -> a \"t\"\n"
            "  otherwise -> b \"o\"\n} }\n";
        rv_program *p = test_compile("plan_fail.route", fp, 0);
        tally f = { 0 };
        rv_err err;
        int ok = p && p->ndispatch == 1 && p->dclasses[p->dispatches[0].cfirst].count == 2;
        if (ok) {
            p->dclasses[p->dispatches[0].cfirst].count = 1;
            ok = !ver_program(p, &err);
        }
        if (ok)
            compare(p, fp, 300, 0, &f);
        CHECK("a block's FAIL: the same error at the same pc", ok && f.planned == 1 && f.failed > 0 && !f.differ,
              "built %d, planned %u, %u failed, %u differ: %s", ok, f.planned, f.failed, f.differ, f.first);
        rv_program_free(p);
    }

    /* an image's plans have a budget: 1,200 agents, each with a plan of
       eight keys and 64 strings, get plans until the room runs out; the
       rest decide by code, the same decisions */
    {
        src.len = 0;
        put(&src, "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
                  "model m0 from p { id \"m0\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
                  "model m1 from p { id \"m1\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n");
        for (int a = 0; a < 1200; a++) {
            put(&src, "agent a%d { route {\n", a);
            for (int k = 0; k < 8; k++)
                put(&src, "  when meta.k%d in [\"v0\", \"v1\", \"v2\", \"v3\", \"v4\", \"v5\", \"v6\", \"v%d\"] -> m%d\n",
                    k, 7 + a % 50, k % 2);
            put(&src, "  otherwise -> m1\n} }\n");
        }
        rv_program *p = test_compile("plan_room.route", src.s, 1);
        rv_image img;
        char err[200];
        int ok = p && !vm_image_init(&img, p, err, sizeof err);
        uint32_t planned = 0, differ = 0;
        if (ok) {
            for (uint32_t a = 0; a < p->nagent; a++)
                planned += img.plans[p->agents[a].func] != NULL;
            rv_vm *x = vm_new(&img, NULL, NULL), *y = vm_new(&img, NULL, NULL);
            vm_use_plans(y, 0);
            static const char rq[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                                     "\"metadata\":{\"k3\":\"v9\",\"k5\":\"v2\"}}";
            rv_reqerr rerr;
            rv_request *r = req_parse(rq, strlen(rq), NULL, &rerr);
            for (uint32_t a = 0; r && x && y && a < p->nagent; a += 7) {
                vm_start(x, a, r, NULL);
                vm_start(y, a, r, NULL);
                differ += vm_result(x)->rule != vm_result(y)->rule || vm_result(x)->model != vm_result(y)->model;
            }
            req_free(r);
            vm_free(x);
            vm_free(y);
            vm_image_free(&img);
        }
        CHECK("an image's plans stop at its budget, the rest run the code", ok && planned > 100 &&
              planned < p->nagent && !differ, "image %d, %u of %u agents planned, %u differ", ok, planned,
              p ? p->nagent : 0, differ);
        rv_program_free(p);
    }

    /* the benchmark's shape: a dispatch on meta.task, tests of other keys,
       bytes(input), bucket(user), stream; and one with a regex: no plan */
    static const char *const shapes[] = {
        "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
        "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
        "model b from p { id \"b\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
        "agent x { route {\n"
        "  when meta.tier == \"enterprise\" and meta.task == \"code\" -> a \"1\"\n"
        "  when meta.intent in [\"legal\", \"medical\"] -> b \"2\"\n"
        "  when bytes(input) / 4 > 3 -> a \"3\"\n"
        "  when meta.task == \"code\" -> b \"4\"\n"
        "  when meta.task == \"chat\" and bucket(user) < 10 -> a \"5\"\n"
        "  when meta.task == \"sum\" -> a \"6\"\n"
        "  when stream and meta.tier == \"pro\" -> b \"7\"\n"
        "  otherwise -> a \"8\"\n} }\n",
        "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
        "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
        "agent x { route {\n"
        "  when input matches /secret/ -> a \"1\"\n"
        "  otherwise -> a \"2\"\n} }\n",
    };
    for (int i = 0; i < 2; i++) {
        rv_program *p = test_compile("plan_shape.route", shapes[i], 0);
        rv_image img;
        char err[200];
        int ok = p && !vm_image_init(&img, p, err, sizeof err);
        int has = ok && img.plans[0] != NULL;
        CHECK(i == 0 ? "the benchmark's shape has a plan" : "a regex test keeps the interpreter", ok && has == !i,
              "compiled %d, plan %d", p != NULL, has);
        if (ok)
            vm_image_free(&img);
        rv_program_free(p);
    }
    free(src.s);
    vm_image_free(&other_img);
    rv_program_free(op);
    return failures ? 1 : 0;
}
