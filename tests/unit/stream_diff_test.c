/* Streaming through the output guardrails equals the guardrails on the
   whole answer (vm.h, vm_feed; docs/language.md, "Streaming"): a
   differential test.  For each guardrail of tests/stream/guards.txt, random
   answers -- fragments that the patterns care about, glued with random
   bytes -- are decided twice by the same VM: once whole (vm_resume with
   the text) and once streamed in random chunks, empty ones included
   (vm_feed ... vm_feed_end, then vm_resume).  Both must end the same way
   (answered or denied, by the same action), with the same answer and the
   same count of redactions, and a valid UTF-8 answer stays valid; a streamed answer must release exactly its
   final text, and a denied one must release nothing the deny matches.
   The random sequence is fixed (a seed per case), so a failure
   reproduces; each failure prints the answer and its chunking. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "compile_text.h"
#include "compiler.h"
#include "mem.h"
#include "verify.h"
#include "vm.h"

#define TEXTS_PER_CASE  400
#define CHUNKINGS       4
#define MAX_TEXT        96

static int failures;

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

typedef struct { char s[32]; size_t n; } frag;
static frag frags[64];
static size_t nfrag;

/* A fragment line's text, with \n, \\ and \xHH decoded. */
static void add_frag(const char *s)
{
    frag *f = &frags[nfrag];
    f->n = 0;
    for (; *s && *s != '\n' && f->n < sizeof f->s; s++) {
        if (s[0] == '\\' && s[1] == 'n') {
            f->s[f->n++] = '\n';
            s++;
        } else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
            char hex[3] = { s[2], s[3], 0 };
            f->s[f->n++] = (char)strtol(hex, NULL, 16);
            s += 3;
        } else {
            f->s[f->n++] = *s;
        }
    }
    if (nfrag + 1 < sizeof frags / sizeof *frags)
        nfrag++;
}

static size_t random_text(char *buf)
{
    static const char bytes[] = "abdx-.@ 0123456789*#";
    size_t n = 0;
    uint32_t pieces = rnd(8);
    for (uint32_t i = 0; i < pieces; i++) {
        if (rnd(3)) {
            const frag *f = &frags[rnd((uint32_t)nfrag)];
            if (n + f->n > MAX_TEXT)
                break;
            memcpy(buf + n, f->s, f->n);
            n += f->n;
        } else {
            uint32_t k = 1 + rnd(4);
            for (uint32_t j = 0; j < k && n < MAX_TEXT; j++)
                buf[n++] = bytes[rnd(sizeof bytes - 1)];
        }
    }
    buf[n] = 0;
    return n;
}

typedef struct {
    rv_status st;
    uint32_t denied_by, redacted;
    char answer[4 * MAX_TEXT + 256];
    size_t len;
    char released[4 * MAX_TEXT + 256];
    size_t rlen;
    int refused;            /* vm_feed or vm_feed_end said stop */
} verdict;

static void keep(char *dst, size_t *dlen, size_t cap, const char *s, size_t n)
{
    if (*dlen + n > cap)
        n = cap - *dlen;
    memcpy(dst + *dlen, s, n);
    *dlen += n;
}

static void whole(rv_vm *vm, const rv_request *r, const char *text, size_t n, verdict *v)
{
    memset(v, 0, sizeof *v);
    v->st = vm_start(vm, 0, r, NULL);
    if (v->st != RV_CALL)
        return;
    rv_outcome o = vm_outcome_init(1);
    o.text.s = text;
    o.text.len = (uint32_t)n;
    v->st = vm_resume(vm, &o);
    const rv_result *res = vm_result(vm);
    v->denied_by = res->denied_by;
    v->redacted = res->redacted;
    if (v->st == RV_DONE)
        keep(v->answer, &v->len, sizeof v->answer, res->answer.s, res->answer.len);
}

static void streamed(rv_vm *vm, const rv_request *r, const char *text, size_t n, const size_t *cuts, size_t ncut,
                     verdict *v)
{
    memset(v, 0, sizeof *v);
    v->st = vm_start(vm, 0, r, NULL);
    if (v->st != RV_CALL || !vm_call(vm)->may_stream)
        return;
    size_t at = 0;
    rv_sv rel;
    for (size_t i = 0; i <= ncut && !v->refused; i++) {
        size_t end = i < ncut ? cuts[i] : n;
        /* the driver's buffer: a copy it frees (and poisons) right after the call */
        char *chunk = malloc(end - at + 1);
        memcpy(chunk, text + at, end - at);
        v->refused = vm_feed(vm, chunk, end - at, &rel);
        memset(chunk, 'Z', end - at);
        free(chunk);
        keep(v->released, &v->rlen, sizeof v->released, rel.s, rel.len);
        at = end;
    }
    if (!v->refused) {
        v->refused = vm_feed_end(vm, &rel);
        keep(v->released, &v->rlen, sizeof v->released, rel.s, rel.len);
    }
    rv_outcome o = vm_outcome_init(1);
    v->st = vm_resume(vm, &o);
    const rv_result *res = vm_result(vm);
    v->denied_by = res->denied_by;
    v->redacted = res->redacted;
    if (v->st == RV_DONE)
        keep(v->answer, &v->len, sizeof v->answer, res->answer.s, res->answer.len);
}

static void show(const char *label, const char *s, size_t n)
{
    printf("    %s: \"", label);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    printf("\"\n");
}

/* Does the deny action that refused 'v' match anywhere in what was
   released?  (Text before a deny's match may be released; the match may
   not.) */
static int released_match(const rv_program *p, const rv_image *img, rv_vm *vm, const verdict *v)
{
    const rv_result *res = vm_result(vm);
    for (uint32_t i = 0; i < res->nguardacts; i++) {
        if (!res->guardacts[i].denied)
            continue;
        pcre2_code *re = img->re[p->gactions[res->guardacts[i].action].regex];
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        int rc = pcre2_match(re, (PCRE2_SPTR)v->released, v->rlen, 0, PCRE2_NOTEMPTY, md, NULL);
        pcre2_match_data_free(md);
        return rc >= 0;
    }
    return 0;
}

static int run_case(int lineno, const char *actions)
{
    char src[4096];
    snprintf(src, sizeof src,
             "provider p { kind openai endpoint \"https://x.example/v1\" }\n"
             "model a from p { id \"a\" price in $1/Mtok, out $1/Mtok context 8k tokens }\n"
             "guardrail g { %s }\n"
             "agent streamer { guard g  route -> a }\n",
             actions);
    rv_program *p = test_compile("guards.route", src, 0);
    if (!p) {
        printf("FAIL stream line %d: the policy does not compile: %s\n", lineno, actions);
        rv_program_free(p);
        return 1;
    }
    rv_image img;
    char e[256];
    if (vm_image_init(&img, p, e, sizeof e)) {
        printf("FAIL stream line %d: image: %s\n", lineno, e);
        rv_program_free(p);
        return 1;
    }
    rv_vm *vm = vm_new(&img, NULL, NULL);
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
    rv_reqerr rerr;
    rv_request *r = req_parse(body, sizeof body - 1, NULL, &rerr);
    int bad = 0;
    rng = 0x243f6a8885a308d3ull ^ (uint64_t)lineno * 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < TEXTS_PER_CASE && !bad; t++) {
        char text[MAX_TEXT + 1];
        size_t n = random_text(text);
        verdict w, s;
        whole(vm, r, text, n, &w);
        for (int k = 0; k < CHUNKINGS && !bad; k++) {
            size_t cuts[16], ncut = rnd(12);
            for (size_t i = 0; i < ncut; i++)
                cuts[i] = rnd((uint32_t)n + 1);
            for (size_t i = 1; i < ncut; i++)      /* ascending (repeats make empty chunks) */
                for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                    size_t x = cuts[j];
                    cuts[j] = cuts[j - 1];
                    cuts[j - 1] = x;
                }
            streamed(vm, r, text, n, cuts, ncut, &s);
            const char *why = NULL;
            if (w.st != s.st)
                why = "the decisions differ";
            else if (w.st == RV_DENIED && w.denied_by != s.denied_by)
                why = "a different guardrail denied";
            else if (w.st == RV_DONE && (w.len != s.len || memcmp(w.answer, s.answer, w.len)))
                why = "the answers differ";
            else if (w.st == RV_DONE && (s.rlen != s.len || memcmp(s.released, s.answer, s.len)))
                why = "the stream released something else than its answer";
            else if (w.st == RV_DONE && w.redacted != s.redacted)
                why = "the redaction counts differ";
            else if (w.st == RV_DONE && bi_utf8_invalid(text, n) == n && bi_utf8_invalid(w.answer, w.len) != w.len)
                why = "redaction made invalid UTF-8 of a valid answer";
            else if (w.st == RV_DONE && s.refused)
                why = "the stream was refused but the answer was accepted";
            else if (w.st == RV_DENIED && s.rlen && released_match(p, &img, vm, &s))
                why = "the stream released text the deny matches";
            if (why) {
                printf("FAIL stream line %d (%s): %s\n", lineno, actions, why);
                show("answer", text, n);
                printf("    cuts:");
                for (size_t i = 0; i < ncut; i++)
                    printf(" %zu", cuts[i]);
                printf("\n    whole: status %d, redactions %u\n", w.st, w.redacted);
                show("whole answer", w.answer, w.len);
                printf("    streamed: status %d, redactions %u, refused %d\n", s.st, s.redacted, s.refused);
                show("streamed answer", s.answer, s.len);
                show("released", s.released, s.rlen);
                bad = 1;
            }
        }
    }
    if (!bad)
        printf("PASS stream line %d: %s\n", lineno, actions);
    req_free(r);
    vm_free(vm);
    vm_image_free(&img);
    rv_program_free(p);
    return bad;
}

int main(int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/stream/guards.txt", argc > 1 ? argv[1] : ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("FAIL stream: cannot open %s\n", path);
        return 1;
    }
    char line[2048];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strncmp(line, "frag ", 5))
            add_frag(line + 5);
    }
    rewind(f);
    lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#' || !strncmp(line, "frag ", 5))
            continue;
        failures += run_case(lineno, line);
        cases++;
    }
    fclose(f);
    if (!cases) {
        printf("FAIL stream: no cases in %s\n", path);
        return 1;
    }
    return failures ? 1 : 0;
}
