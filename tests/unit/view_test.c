/* Routing views (vm/request.h) against the lookups they stand for.

   One policy tests metadata keys task, tier, region and lang (strings
   short and long, "", "5" and "true"), bytes(input), bucket(user) and
   stream.  Each case is a request and, for one key, what its view must
   hold: ABSENT, the id of a compared string, or OTHER -- and every
   request is decided four ways (the plan with the view, the plan without
   one, the plan with another image's view, the code) with the same rule.
   Requests the parser refuses must be refused with the same message with
   a dictionary and without.  Then the edges of a dictionary: a view built
   again after the metadata is replaced (the first of a key wins), a
   second image of the same program (its own tag), keys past the plan's
   eager ones, a key past RV_REQ_VIEW_KEYS and a key of more than
   RV_REQ_VIEW_STRS strings (the same decisions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "compile_text.h"
#include "gentext.h"
#include "plan.h"
#include "vm.h"

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

#define LONG40 "abcdefghijklmnopqrstuvwxyz0123456789-xyz"
static const char POLICY[] =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
    "model b from p { id \"b\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
    "agent x { route {\n"
    "  when meta.task == \"code\" and meta.tier == \"pro\" -> a \"code pro\"\n"
    "  when meta.task == \"code\" -> b \"code\"\n"
    "  when meta.task == \"" LONG40 "\" -> a \"long\"\n"
    "  when meta.task in [\"5\", \"true\", \"\"] -> b \"odd\"\n"
    "  when meta.region != \"eu\" and bytes(input) > 3 -> a \"not eu\"\n"
    "  when meta.lang == \"ja\" and stream -> b \"ja\"\n"
    "  when bucket(user) < 50 -> a \"low bucket\"\n"
    "  otherwise -> b \"default\"\n} }\n";

/* What a case's view must hold for its key. */
enum { ABSENT = -1, OTHER = -2, REFUSED = -3 };
typedef struct {
    const char *name, *meta;    /* the request's metadata object (or a whole body when it starts with '{"messages') */
    const char *key;
    int want;                   /* ABSENT, OTHER, REFUSED, or 0: the id of 'str' */
    const char *str;
} vcase;

static const vcase CASES[] = {
    { "absent key", "{\"tier\":\"pro\"}", "task", ABSENT, NULL },
    { "null value is absent", "{\"task\":null}", "task", ABSENT, NULL },
    { "a compared string", "{\"task\":\"code\",\"tier\":\"pro\"}", "task", 0, "code" },
    { "a string compared nowhere", "{\"task\":\"chat\"}", "task", OTHER, NULL },
    { "a number by its text", "{\"task\":5}", "task", 0, "5" },
    { "a bool by its text", "{\"task\":true}", "task", 0, "true" },
    { "a number not compared", "{\"task\":5.0}", "task", OTHER, NULL },
    { "the empty string", "{\"task\":\"\"}", "task", 0, "" },
    { "escaped, equal once decoded", "{\"task\":\"\\u0063o\\u0064e\"}", "task", 0, "code" },
    { "an escaped backslash is not an escape", "{\"task\":\"\\\\u0063ode\"}", "task", OTHER, NULL },
    { "an escaped key", "{\"t\\u0061sk\":\"code\"}", "task", 0, "code" },
    { "longer than the hot copies", "{\"task\":\"" LONG40 "\"}", "task", 0, LONG40 },
    { "long, differing past the hot copies' length",
      "{\"task\":\"abcdefghijklmnopqrstuvwxyz0123456789-xyZ\"}", "task", OTHER, NULL },
    { "sharing the first 8 bytes", "{\"task\":\"abcdefghijklmnop\"}", "task", OTHER, NULL },
    { "a prefix of a compared string", "{\"task\":\"cod\"}", "task", OTHER, NULL },
    { "a != test's string", "{\"region\":\"eu\"}", "region", 0, "eu" },
    { "many entries, the key last",
      "{\"a1\":\"x\",\"a2\":\"x\",\"a3\":\"x\",\"a4\":\"x\",\"a5\":\"x\",\"lang\":\"ja\"}", "lang", 0, "ja" },
    { "a repeated key is refused", "{\"task\":\"code\",\"task\":\"chat\"}", "task", REFUSED, NULL },
    { "a nested value is refused", "{\"task\":{\"x\":1}}", "task", REFUSED, NULL },
};
#define NCASES (sizeof CASES / sizeof *CASES)

static void body(buf *b, const char *meta, int variant)
{
    b->len = 0;
    put(b, "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}],\"metadata\":%s%s%s}",
        variant & 1 ? "hello there" : "hi", meta, variant & 2 ? ",\"stream\":true" : "",
        variant & 4 ? ",\"user\":\"u-12\"" : "");
}

static uint32_t rule_of(rv_vm *vm, const rv_request *r)
{
    vm_start(vm, 0, r, NULL);
    return vm_result(vm)->rule;
}

/* The rule by the plan with view, without, with a foreign view, and by
   the code: 1 when all agree. */
static int agree(rv_vm *plan, rv_vm *code, const rv_request *viewed, const rv_request *plain,
                 const rv_request *foreign, uint32_t *rule)
{
    uint32_t want = rule_of(code, plain);
    *rule = want;
    return rule_of(plan, viewed) == want && rule_of(plan, plain) == want && rule_of(plan, foreign) == want &&
           rule_of(code, viewed) == want;
}

static rv_request *parse(const buf *b, const rv_reqdict *d, rv_reqerr *err)
{
    return req_parse_dict(b->s, b->len, NULL, err, NULL, d);
}

static void cases(const rv_image *img, const rv_image *other)
{
    rv_vm *plan = vm_new(img, NULL, NULL), *code = vm_new(img, NULL, NULL);
    vm_use_plans(code, 0);
    const vm_plan *pl = img->plans[0];
    buf b = { 0 };
    char name[200];
    for (size_t c = 0; c < NCASES; c++) {
        const vcase *k = &CASES[c];
        int k_idx = req_dict_key(img->dict, k->key, (uint32_t)strlen(k->key));  /* (sealed: a lookup) */
        for (int variant = 0; variant < 8; variant++) {
            body(&b, k->meta, variant);
            rv_reqerr e1, e2, e3;
            rv_request *v = parse(&b, img->dict, &e1), *n = parse(&b, NULL, &e2), *f = parse(&b, other->dict, &e3);
            snprintf(name, sizeof name, "view: %s (variant %d)", k->name, variant);
            if (k->want == REFUSED) {
                CHECK(name, !v && !n && !f && !strcmp(e1.msg, e2.msg) && !strcmp(e1.msg, e3.msg) && e1.line == e2.line &&
                      e1.column == e2.column, "parsed %d %d %d: '%s' / '%s'", !!v, !!n, !!f, e1.msg, e2.msg);
                req_free(v), req_free(n), req_free(f);
                continue;
            }
            if (!v || !n || !f) {
                CHECK(name, 0, "not parsed: %s", e1.msg);
                req_free(v), req_free(n), req_free(f);
                continue;
            }
            int want = k->want == ABSENT ? RV_VIEW_ABSENT
                     : k->want == OTHER ? (int)req_dict_nstr(img->dict, k_idx) + 1
                     : req_dict_str(img->dict, k_idx, k->str, (uint32_t)strlen(k->str));
            int got = k_idx >= 0 ? v->view.id[k_idx] : -1;
            uint32_t rule;
            int same = agree(plan, code, v, n, f, &rule);
            int tags = req_view_is(v, pl->dict, pl->stamp) && !req_view_is(n, pl->dict, pl->stamp) &&
                       !req_view_is(f, pl->dict, pl->stamp);
            int scalars = v->view.input_bytes == v->input.len &&
                          v->view.bucket == (uint8_t)bi_bucket(v->user.s, v->user.len);
            CHECK(name, k_idx >= 0 && (k->want == ABSENT ? want == 0 : want > 0) && got == want && same && tags && scalars,
                  "key %d id %d, want %d; the four decisions agree %d (rule %u); tags %d; scalars %d", k_idx, got,
                  want, same, rule, tags, scalars);
            req_free(v), req_free(n), req_free(f);
        }
    }
    free(b.s);
    vm_free(plan);
    vm_free(code);
}

/* Metadata replaced after the parse (as the gateway adds its X-Route-*
   headers in front): the view is built again, the first of a key wins. */
static void replaced(const rv_image *img)
{
    static const char rq[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"metadata\":{\"task\":\"chat\",\"tier\":\"pro\"}}";
    rv_reqerr e;
    rv_request *r = req_parse_dict(rq, sizeof rq - 1, NULL, &e, NULL, img->dict);
    rv_vm *plan = vm_new(img, NULL, NULL), *code = vm_new(img, NULL, NULL);
    vm_use_plans(code, 0);
    int ok = r && plan && code;
    uint32_t before = ok ? rule_of(plan, r) : 0;
    rv_meta meta[3];
    if (ok) {
        meta[0] = (rv_meta){ { "task", 4 }, { "code", 4 } };     /* in front: read first */
        memcpy(meta + 1, r->meta, 2 * sizeof *meta);
        req_set_meta(r, meta, 3, img->dict);
    }
    const vm_plan *pl = img->plans[0];
    uint32_t after = ok ? rule_of(plan, r) : 0, by_code = ok ? rule_of(code, r) : 1;
    CHECK("view: replaced metadata, the view built again (first of a key wins)",
          ok && before != after && after == by_code && req_view_is(r, pl->dict, pl->stamp) &&
          !strcmp(rv_str(img->p, img->p->rules[after].reason), "code pro"),
          "parsed %d, rules %u -> %u (code %u)", ok, before, after, by_code);
    if (ok)
        req_set_meta(r, meta, 3, NULL);
    CHECK("view: replaced metadata without a dictionary, no view", ok && !req_view_is(r, pl->dict, pl->stamp) &&
          rule_of(plan, r) == by_code, "parsed %d", ok);
    req_free(r);
    vm_free(plan);
    vm_free(code);
}

/* The same program loaded twice: each image's plans read their own
   views only, and decide the other's requests by lookups, the same. */
static void twice(const rv_program *p, const rv_image *img)
{
    rv_image two;
    char err[200];
    int ok = !vm_image_init(&two, p, err, sizeof err);
    static const char rq[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"metadata\":{\"task\":\"code\",\"tier\":\"pro\"}}";
    rv_reqerr e;
    rv_request *r = req_parse_dict(rq, sizeof rq - 1, NULL, &e, NULL, img->dict);
    rv_vm *a = ok ? vm_new(&two, NULL, NULL) : NULL, *b = vm_new(img, NULL, NULL);
    int same_stamp = ok && req_dict_stamp(two.dict) == req_dict_stamp(img->dict);
    int tag = ok && r && req_view_is(r, two.plans[0]->dict, two.plans[0]->stamp);
    CHECK("view: a second image of the same program has its own tag and decides the same",
          ok && r && a && b && same_stamp && !tag && rule_of(a, r) == rule_of(b, r), "image %d, stamps equal %d, tag %d",
          ok, same_stamp, tag);
    req_free(r);
    vm_free(a);
    vm_free(b);
    if (ok)
        vm_image_free(&two);
}

/* A dictionary's limits: keys past RV_REQ_VIEW_KEYS and a key of more
   than RV_REQ_VIEW_STRS strings are left out of views and looked up;
   viewed keys past the plan's PLAN_EAGER are asked from the view as
   rules need them. */
static void limits(void)
{
    buf src = { 0 }, rq = { 0 };
    gen_models(&src, 2);
    put(&src, "agent x { route {\n  when meta.big in [");
    for (int s = 0; s < RV_REQ_VIEW_STRS + 2; s++)
        put(&src, "%s\"s%d\"", s ? ", " : "", s);
    put(&src, "] and meta.k0 == \"w\" -> m1 \"big\"\n");
    for (int k = 0; k < RV_REQ_VIEW_KEYS + 3; k++)
        put(&src, "  when meta.k%d == \"v\" -> m%d \"k%d\"\n", k, k % 2, k);
    put(&src, "  otherwise -> m0 \"default\"\n} }\n");
    rv_program *p = test_compile("view_limits.route", src.s, 1);
    rv_image img;
    char err[200];
    int ok = p && !vm_image_init(&img, p, err, sizeof err) && img.plans[0] && img.dict;
    rv_vm *plan = ok ? vm_new(&img, NULL, NULL) : NULL, *code = ok ? vm_new(&img, NULL, NULL) : NULL;
    unsigned differ = 0, n = 0;
    int last = -2, big = -2;
    if (plan && code) {
        vm_use_plans(code, 0);
        char key[16];
        snprintf(key, sizeof key, "k%d", RV_REQ_VIEW_KEYS + 2);
        last = req_dict_key(img.dict, key, (uint32_t)strlen(key));
        big = req_dict_key(img.dict, "big", 3);
        for (int k = PLAN_EAGER - 3; k < RV_REQ_VIEW_KEYS + 3; k++)     /* eager, asked, looked up */
            for (int s = RV_REQ_VIEW_STRS - 2; s < RV_REQ_VIEW_STRS + 3; s++) {
                rq.len = 0;
                put(&rq, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"k%d\":\"%s\",\"big\":\"s%d\"}}",
                    k, s % 2 ? "v" : "w", s);
                rv_reqerr e;
                rv_request *r = req_parse_dict(rq.s, rq.len, NULL, &e, NULL, img.dict);
                if (!r) {
                    differ++;
                    continue;
                }
                differ += rule_of(plan, r) != rule_of(code, r);
                n++;
                req_free(r);
            }
    }
    CHECK("view: keys past the view's room and keys of too many strings are looked up, the same decisions",
          ok && n > 0 && !differ && last < 0 && big >= 0 && !req_dict_live(img.dict, big),
          "built %d, %u of %u differ, key past the room %d, big key %d live %d", ok, differ, n, last, big,
          ok && big >= 0 ? req_dict_live(img.dict, big) : -1);
    vm_free(plan);
    vm_free(code);
    if (ok)
        vm_image_free(&img);
    rv_program_free(p);
    free(src.s);
    free(rq.s);
}

int main(void)
{
    rv_program *p = test_compile("view.route", POLICY, 0);
    static const char other_src[] =
        "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
        "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
        "agent y { route {\n  when meta.task == \"chat\" and meta.lang == \"code\" -> a\n  otherwise -> a\n} }\n";
    rv_program *op = test_compile("view_other.route", other_src, 0);
    rv_image img, other;
    char err[200];
    if (!p || !op || vm_image_init(&img, p, err, sizeof err) || vm_image_init(&other, op, err, sizeof err) ||
        !img.plans[0] || !img.dict || !other.dict) {
        printf("FAIL view: the policies have no plans or dictionaries\n");
        return 1;
    }
    cases(&img, &other);
    replaced(&img);
    twice(p, &img);
    limits();
    vm_image_free(&img);
    vm_image_free(&other);
    rv_program_free(p);
    rv_program_free(op);
    return failures ? 1 : 0;
}
