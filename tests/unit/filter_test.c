/* The regex filters (vm/litset.h) never change an answer: every case of
   tests/filters/cases is matched by PCRE2 alone, by the filter the image
   builds for its pattern, and through a VM -- a deny input guardrail, a
   route condition and an output redaction -- and they must agree with
   PCRE2; a case marked 'out' must be answered by the filter itself, one
   marked 'maybe' must not be (a required byte is there, yet no match).
   Then the scans shared between filters (guard.c): texts that one filter
   found without digits, tested again with filters of the same start set,
   a subset and a superset, in guardrails and routes of one request; and
   a driver's buffer, which is not remembered. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "compile_text.h"
#include "jsonw.h"
#include "litset.h"
#include "program.h"
#include "request.h"
#include "verify.h"
#include "vm.h"

static int failures;

#define CHECK(name, cond, ...)                                                  \
    do {                                                                        \
        if (cond)                                                               \
            printf("PASS %s\n", name);                                          \
        else {                                                                  \
            printf("FAIL %s: ", name);                                          \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
            failures++;                                                         \
        }                                                                       \
    } while (0)

/* A growing byte buffer. */
typedef struct { char *s; size_t n, cap; } buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) {
            printf("FAIL filter_test: out of memory\n");
            exit(1);
        }
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static int hex(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

/* Decodes s[0, n) (escapes, no repetition) onto 'b'; -1 on a bad escape. */
static int unescape(buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\') {
            put(b, &c, 1);
            continue;
        }
        if (++i >= n)
            return -1;
        c = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
        if (s[i] == 'x') {
            if (i + 2 >= n)
                return -1;
            c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        }
        put(b, &c, 1);
    }
    return 0;
}

/* A case's text: escapes and {N*STR}. */
static int decode(buf *b, const char *t)
{
    while (*t) {
        const char *open = strchr(t, '{');
        size_t lit = open ? (size_t)(open - t) : strlen(t);
        if (unescape(b, t, lit))
            return -1;
        if (!open)
            break;
        char *star;
        unsigned long times = strtoul(open + 1, &star, 10);
        const char *close = *star == '*' ? strchr(star, '}') : NULL;
        if (!close)
            return -1;
        buf one = { 0 };
        if (unescape(&one, star + 1, (size_t)(close - star - 1))) {
            free(one.s);
            return -1;
        }
        for (unsigned long k = 0; k < times; k++)
            put(b, one.s ? one.s : "", one.n);
        free(one.s);
        t = close + 1;
    }
    if (!b->s)
        put(b, "", 0);
    return 0;
}

static uint32_t flags_of(const char *f)
{
    uint32_t fl = 0;
    for (; *f && *f != '-'; f++)
        fl |= *f == 'i' ? RV_RE_CASELESS : *f == 'm' ? RV_RE_MULTILINE : *f == 's' ? RV_RE_DOTALL
            : *f == 'x' ? RV_RE_EXTENDED : 0;
    return fl;
}

/* The filter the image builds for the pattern: a literal set or a filter
   (image.c), NULL when neither. */
static ls_set *filter_for(const pcre2_code *re, const char *pat, uint32_t flags)
{
    ls_set *ls = ls_compile(pat, strlen(pat), flags);
    return ls ? ls : ls_filter(re, pat, strlen(pat), flags);
}

/* ---------------------------------------------------------------- through a VM */

typedef struct {
    rv_program *p;
    rv_image img;
    rv_vm *vm;
} policy;

static int policy_open(policy *pl, const char *name, const char *text)
{
    char err[256];
    memset(pl, 0, sizeof *pl);
    if (!(pl->p = test_compile(name, text, 0)))
        return -1;
    if (vm_image_init(&pl->img, pl->p, err, sizeof err)) {
        printf("FAIL %s: image: %s\n", name, err);
        rv_program_free(pl->p);
        return -1;
    }
    if (!(pl->vm = vm_new(&pl->img, NULL, NULL))) {
        printf("FAIL %s: no VM\n", name);
        vm_image_free(&pl->img);
        rv_program_free(pl->p);
        return -1;
    }
    return 0;
}

static void policy_close(policy *pl)
{
    vm_free(pl->vm);
    vm_image_free(&pl->img);
    rv_program_free(pl->p);
}

static uint32_t agent(const rv_program *p, const char *name)
{
    for (uint32_t i = 0; i < p->nagent; i++)
        if (!strcmp(rv_str(p, p->agents[i].name), name))
            return i;
    return RV_NONE;
}

static const char *model_name(const rv_program *p, uint32_t m)
{
    return m < p->nmodel ? rv_str(p, p->models[m].name) : "none";
}

/* A request of messages (role, text) pairs, written by the JSON writer. */
static rv_request *request(const char *const *msgs, const size_t *lens, int n)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    jw_object(&w);
    jw_key(&w, "messages");
    jw_array(&w);
    for (int i = 0; i < n; i++) {
        jw_object(&w);
        jw_key(&w, "role");
        jw_cstring(&w, msgs[2 * i]);
        jw_key(&w, "content");
        jw_string(&w, msgs[2 * i + 1], lens[i]);
        jw_end(&w);
    }
    jw_end(&w);
    jw_end(&w);
    size_t len;
    char *json = jw_take(&w, &len);
    rv_reqlimits lim = { 64u << 20, 10000, 0 };
    rv_reqerr err;
    rv_request *r = json ? req_parse(json, len, &lim, &err) : NULL;
    if (!r)
        printf("FAIL request: %s\n", json ? err.msg : "out of memory");
    free(json);
    return r;
}

static const char model_text[] =
    "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
    "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 100M tokens }\n"
    "model b from p { id \"b\" price in $1/Mtok, out $1/Mtok context 100M tokens }\n";

/* The regex literal of a pattern in a policy: '/' escaped. */
static void literal(buf *b, const char *pat, const char *flags)
{
    put(b, "/", 1);
    for (const char *q = pat; *q; q++) {
        if (*q == '/' && (q == pat || q[-1] != '\\'))
            put(b, "\\", 1);
        put(b, q, 1);
    }
    put(b, "/", 1);
    if (strcmp(flags, "-"))
        put(b, flags, strlen(flags));
}

/* The case through a VM: denied by a guardrail, routed by a condition,
   and redacted in an answer exactly when PCRE2 matches. */
static void through_vm(const char *name, const char *pat, const char *flags, const char *text, size_t n, int want)
{
    buf src = { 0 }, re = { 0 };
    literal(&re, pat, flags);
    put(&src, model_text, strlen(model_text));
    char line[512];
    snprintf(line, sizeof line, "guardrail g { deny input matches %s \"hit\" }\n", re.s);
    put(&src, line, strlen(line));
    snprintf(line, sizeof line, "guardrail r { redact output matches %s with \"[x]\" }\n", re.s);
    put(&src, line, strlen(line));
    snprintf(line, sizeof line,
             "agent guarded { guard g  route -> a }\n"
             "agent routed { route { when input matches %s -> a  otherwise -> b } }\n"
             "agent redacting { guard r  route -> a }\n", re.s);
    put(&src, line, strlen(line));
    policy pl;
    if (policy_open(&pl, name, src.s)) {
        failures++;
        free(src.s);
        free(re.s);
        return;
    }
    const char *msgs[] = { "user", text };
    rv_request *r = request(msgs, &n, 1);
    if (!r) {
        failures++;
    } else {
        const rv_result *res = vm_result(pl.vm);
        rv_status st = vm_start(pl.vm, agent(pl.p, "guarded"), r, NULL);
        int denied = st == RV_DENIED;
        vm_release(pl.vm);
        st = vm_start(pl.vm, agent(pl.p, "routed"), r, NULL);
        const char *routed = model_name(pl.p, res->model);
        int routed_a = st == RV_CALL && !strcmp(routed, "a");
        vm_release(pl.vm);
        st = vm_start(pl.vm, agent(pl.p, "redacting"), r, NULL);
        rv_outcome o = vm_outcome_init(1);
        o.text.s = text;
        o.text.len = (uint32_t)n;
        if (st == RV_CALL)
            st = vm_resume(pl.vm, &o);
        int redacted = st == RV_DONE && res->redacted > 0;
        int answered = st == RV_DONE;
        vm_release(pl.vm);
        char what[600];
        snprintf(what, sizeof what, "%s through a VM", name);
        CHECK(what, denied == want && routed_a == want && redacted == want && answered,
              "PCRE2 %d: denied %d, routed to %s, redacted %d (status %d)", want, denied, routed, redacted, st);
        req_free(r);
    }
    policy_close(&pl);
    free(src.s);
    free(re.s);
}

/* ---------------------------------------------------------------- the cases */

static void one_case(const char *root, int lineno, char *line, pcre2_match_data *md)
{
    char *f[5];
    int nf = 0;
    for (char *q = line; nf < 5; nf++) {
        f[nf] = q;
        char *tab = strchr(q, '\t');
        if (!tab) {
            nf++;
            break;
        }
        *tab = 0;
        q = tab + 1;
    }
    char name[400];
    snprintf(name, sizeof name, "filters line %d (%.200s)", lineno, nf == 5 ? f[4] : "?");
    if (nf != 5 || (strcmp(f[2], "match") && strcmp(f[2], "maybe") && strcmp(f[2], "out"))) {
        printf("FAIL %s: not PATTERN FLAGS WANT TEXT WHY\n", name);
        failures++;
        return;
    }
    (void)root;
    buf text = { 0 };
    if (decode(&text, f[3])) {
        printf("FAIL %s: a bad escape or repetition in the text\n", name);
        failures++;
        free(text.s);
        return;
    }
    uint32_t flags = flags_of(f[1]);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)f[0], PCRE2_ZERO_TERMINATED, ver_pcre2_options(flags), &ec, &eo, NULL);
    if (!re) {
        printf("FAIL %s: the pattern does not compile\n", name);
        failures++;
        free(text.s);
        return;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    int rc = pcre2_match(re, (PCRE2_SPTR)text.s, text.n, 0, 0, md, NULL);
    int want = rc >= 0;
    ls_set *ls = filter_for(re, f[0], flags);
    int says = ls ? ls_search(ls, text.s, text.n) : 1;
    int exact = ls && ls_exact(ls);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        printf("FAIL %s: PCRE2 stopped (%d)\n", name, rc);
        failures++;
    } else if (want != !strcmp(f[2], "match")) {
        printf("FAIL %s: PCRE2 says %s, the case %s\n", name, want ? "match" : "no match", f[2]);
        failures++;
    } else if (exact ? says != want : (want && !says)) {
        printf("FAIL %s: the filter says %d where PCRE2 says %d\n", name, says, want);
        failures++;
    } else if (!strcmp(f[2], "out") && says) {
        printf("FAIL %s: the filter did not rule it out\n", name);
        failures++;
    } else if (!strcmp(f[2], "maybe") && !says) {
        printf("FAIL %s: the filter ruled it out (a stale case: it is 'out' now)\n", name);
        failures++;
    } else {
        printf("PASS %s: %s\n", name, f[2]);
    }
    if (bi_utf8_invalid(text.s, text.n) == text.n)
        through_vm(name, f[0], f[1], text.s, text.n, want);
    ls_free(ls);
    pcre2_code_free(re);
    free(text.s);
}

static void cases(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/filters/cases", root);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        printf("FAIL filters: cannot open %s\n", path);
        failures++;
        return;
    }
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, n = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len || line[0] == '#')
            continue;
        one_case(root, lineno, line, md);
        n++;
    }
    free(line);
    fclose(fp);
    pcre2_match_data_free(md);
    CHECK("filters: the cases were read", n >= 50, "%d cases", n);
}

/* ---------------------------------------------------------------- shared scans */

/* One request, several filters over the same texts: a scan that found no
   digit must not answer for a filter whose start set it does not cover,
   and a text's answer must not be taken for another text's. */
static void shared_scans(void)
{
    static const char text[] =
        "guardrail digits { deny input matches /(?<!\\d)\\d{3}-\\d{2}-\\d{4}(?!\\d)/ \"ssn\"\n"
        "                   deny input matches /(?<!\\d)[2-6]\\d{3}(?: \\d{4}){3}(?!\\d)/ \"card\" }\n"
        "agent shared {\n"
        "  guard digits\n"
        "  route {\n"
        "    when input matches /[0-9]{3}-[0-9]{2}/ -> a \"digits\"\n"
        "    when input matches /[0-9a-f]{8}/ -> a \"hex\"\n"
        "    when system matches /\\d\\d/ -> a \"system digits\"\n"
        "    otherwise -> b\n"
        "  }\n"
        "}\n"
        "model c from p { id \"c\" price in $1/Mtok, out $1/Mtok context 100M tokens }\n"
        "agent checked { route -> cascade [a, b, c] until confidence >= 1 by check response.text matches /\\d\\d/ }\n";
    static const struct {
        const char *name, *system, *user;
        int denied;
        const char *reason;
    } cs[] = {
        { "no digit anywhere", "be brief", "hello there", 0, NULL },
        { "a hex word after no-digit scans", "be brief", "id deadbeef please", 0, "hex" },
        { "digits only in the system text", "answer in 42 words", "hello there", 0, "system digits" },
        { "a card in the second message text", "be brief", "pay 4111 1111 1111 1111", 1, NULL },
        { "an ssn in the user text", "no digits", "it is 123-45-6789", 1, NULL },
        { "digits in both, no number", "rule 12", "call 12 34", 0, "system digits" },
        { "the same text as system and user", "id cafebabe", "id cafebabe", 0, "hex" },
    };
    buf src = { 0 };
    put(&src, model_text, strlen(model_text));
    put(&src, text, strlen(text));
    policy pl;
    if (policy_open(&pl, "shared_scans.route", src.s)) {
        failures++;
        free(src.s);
        return;
    }
    const rv_result *res = vm_result(pl.vm);
    for (size_t k = 0; k < sizeof cs / sizeof *cs; k++) {
        /* the same decision twice on one VM: the second must not read the first's scans */
        for (int round = 0; round < 2; round++) {
            const char *msgs[] = { "system", cs[k].system, "user", cs[k].user };
            size_t lens[] = { strlen(cs[k].system), strlen(cs[k].user) };
            rv_request *r = request(msgs, lens, 2);
            if (!r) {
                failures++;
                continue;
            }
            rv_status st = vm_start(pl.vm, agent(pl.p, "shared"), r, NULL);
            const char *reason = res->rule < pl.p->nrule ? rv_str(pl.p, pl.p->rules[res->rule].reason) : NULL;
            int ok = cs[k].denied ? st == RV_DENIED
                   : st == RV_CALL && (cs[k].reason ? reason && !strcmp(reason, cs[k].reason)
                                                    : !strcmp(model_name(pl.p, res->model), "b"));
            char name[200];
            snprintf(name, sizeof name, "shared scans: %s (round %d)", cs[k].name, round + 1);
            CHECK(name, ok, "status %d, model %s, reason %s", st, model_name(pl.p, res->model), reason ? reason : "none");
            vm_release(pl.vm);
            req_free(r);
        }
    }
    /* a driver's buffer is not remembered: two answers of one length
       read by a check from the same place, the first without digits */
    uint32_t ag = agent(pl.p, "checked");
    const char *msgs[] = { "user", "hello there" };
    size_t lens[] = { 11 };
    rv_request *r = request(msgs, lens, 1);
    char answer[32];
    rv_outcome o = vm_outcome_init(1);
    o.text.s = answer;
    o.text.len = 14;
    rv_status st = r ? vm_start(pl.vm, ag, r, NULL) : RV_FAILED;
    memcpy(answer, "no digits here", 14);
    if (st == RV_CALL)
        st = vm_resume(pl.vm, &o);
    memcpy(answer, "it is 42 today", 14);
    if (st == RV_CALL)
        st = vm_resume(pl.vm, &o);
    CHECK("shared scans: a check reads two answers at one place", st == RV_DONE && !strcmp(model_name(pl.p, res->model), "b"),
          "status %d, model %s", st, model_name(pl.p, res->model));
    vm_release(pl.vm);
    req_free(r);
    policy_close(&pl);
    free(src.s);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    cases(root);
    shared_scans();
    return failures ? 1 : 0;
}
