/* Differential test of the client's answers: vm/providers/reply.c (the
   JSON writer, member by member, into a reused buffer) against the
   jansson builder it replaced (tests/unit/ref/reply_ref.h, kept as the
   reference).  For every answer, both must give the same bytes for the
   chat.completion body and for each stream event (role, text, tool
   calls, finish, usage) and the error object.

   Answers: what the provider parsers make of the recorded answers
   (tests/fuzz/corpus/answers: OpenAI, Anthropic and Bedrock JSON
   bodies; tests/vectors/sse: OpenAI and Anthropic streams) -- text,
   tool calls with their ids, names and arguments, usage by class
   (cache reads and writes, reasoning), finish reasons, model ids -- and
   a table of made ones for what the recordings lack: every byte class in
   text and tool calls (quotes, controls, NUL, bytes that are not UTF-8,
   4-byte sequences), usage classes unreported (-1) and large, no text,
   many tool calls, the ids and models of the program's range.

   One intended difference is not compared: jansson refuses a request id,
   a model id or a finish reason that is not UTF-8 (the reference then
   built no answer), the writer escapes it; those strings are the
   program's and the driver's, never a provider's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "anthropic.h"
#include "bedrock.h"
#include "jsonw.h"
#include "openai.h"
#include "reply.h"
#include "sse.h"

#include "dirfiles.h"
#include "sseread.h"
#include "ref/reply_ref.h"

static int failures, compared;

/* ---------------------------------------------------------------- comparing */

static void same(const char *name, const char *what, char *ref, size_t rn, jw_writer *w)
{
    size_t n;
    const char *got = jw_data(w, &n);
    compared++;
    if (!ref || !got || rn != n || memcmp(ref, got, n)) {
        if (failures++ < 10)
            printf("FAIL reply_diff/%s: %s differs\n  reference: %.*s\n  writer:    %.*s\n", name, what,
                   ref ? (int)rn : 6, ref ? ref : "(none)", got ? (int)n : 6, got ? got : "(none)");
    }
    free(ref);
    jw_clear(w);
}

typedef struct {
    const char *id, *model, *finish;
    int64_t created;
    rv_sv text;
    const rv_toolcall *tools;
    uint32_t ntools;
    rv_usage usage;
} answer;

/* The chunks of answer 'a' under head 'h'. */
static void compare_chunks(const char *name, const answer *a, const rp_head *hp, jw_writer *w)
{
    rp_head h = *hp;
    size_t n = 0;
    char *r;
    r = ref_chunk_role(a->id, a->created, a->model, &n);
    rp_chunk_role(w, &h);
    same(name, "role chunk", r, n, w);
    r = ref_chunk_text(a->id, a->created, a->model, a->text, &n);
    rp_chunk_text(w, &h, a->text);
    same(name, "text chunk", r, n, w);
    if (a->ntools) {
        r = ref_chunk_tools(a->id, a->created, a->model, a->tools, a->ntools, &n);
        rp_chunk_tools(w, &h, a->tools, a->ntools);
        same(name, "tool calls chunk", r, n, w);
    }
    r = ref_chunk_finish(a->id, a->created, a->model, a->finish, &n);
    rp_chunk_finish(w, &h, a->finish);
    same(name, "finish chunk", r, n, w);
    r = ref_chunk_usage(a->id, a->created, a->model, &a->usage, &n);
    rp_chunk_usage(w, &h, &a->usage);
    same(name, "usage chunk", r, n, w);
}

/* The error object, with the answer's text as its message (a C string). */
static void compare_error(const char *name, const answer *a, jw_writer *w)
{
    size_t n = 0;
    char *r;
    char msg[400];
    snprintf(msg, sizeof msg, "%.*s", (int)(a->text.len < 399 ? a->text.len : 399), a->text.s ? a->text.s : "");
    r = ref_error(msg, "upstream_error", a->finish, &n);
    rp_error(w, msg, "upstream_error", a->finish);
    same(name, "error", r, n, w);
}

/* Every document of answer 'a', through both builders.  The writer is
   reused from one document to the next, as the driver reuses its own. */
static void compare(const char *name, const answer *a, jw_writer *w)
{
    rp_head h = { a->id, a->created, a->model, NULL };
    size_t n = 0;
    char *r;
    r = ref_completion(a->id, a->created, a->model, a->text, a->tools, a->ntools, a->finish, &a->usage, &n);
    rp_completion(w, &h, a->text, a->tools, a->ntools, a->finish, &a->usage);
    same(name, "chat.completion", r, n, w);
    compare_chunks(name, a, &h, w);
    /* again with the chunks' shared start written once (rp_chunk_prefix),
       as the driver streams them */
    jw_writer pre;
    jw_init_mem(&pre, 0);
    rp_chunk_prefix(&pre, &h);
    h.prefix = &pre;
    compare_chunks(name, a, &h, w);
    jw_discard(&pre);
    compare_error(name, a, w);
}

/* A parsed provider answer as the driver hands it on (pcall.c's
   make_outcome: tool calls without arguments get "{}", no finish reason
   reads "stop"). */
static void compare_parsed(const char *name, const ans_answer *p, jw_writer *w)
{
    rv_toolcall tools[ANS_MAX_TOOLS];
    for (uint32_t i = 0; i < p->ntools; i++) {
        const ans_tool *t = &p->tools[i];
        tools[i].id = (rv_sv){ t->id.p ? t->id.p : "", (uint32_t)t->id.len };
        tools[i].name = (rv_sv){ t->name.p ? t->name.p : "", (uint32_t)t->name.len };
        tools[i].arguments = t->args.len ? (rv_sv){ t->args.p, (uint32_t)t->args.len } : (rv_sv){ "{}", 2 };
    }
    answer a = { "req-0123456789abcdef", p->model[0] ? p->model : "gpt-4o", p->finish[0] ? p->finish : "stop",
                 1732550400, { p->text.p ? p->text.p : "", (uint32_t)p->text.len }, tools, p->ntools, p->usage };
    compare(name, &a, w);
}

/* ---------------------------------------------------------------- recorded answers */

/* One recorded answer, parsed as 'mode' (-1: the corpus's first byte
   picks it, as tests/fuzz/fuzz_answers.c reads it); an answer the
   parsers accept is compared. */
typedef struct { int mode; jw_writer *w; } reading;

static void recorded(const char *name, const char *p, size_t n, void *ud)
{
    const reading *rd = ud;
    int m = rd->mode;
    if (m < 0 && n) {
        m = p[0] % 7;
        p++;
        n--;
    }
    ans_answer a;
    ans_init(&a);
    switch (m) {
    case 0: oa_parse(&a, p, n); break;
    case 1: sr_answer(&a, 0, p, n, oa_event, an_event); break;
    case 2: an_parse(&a, p, n); break;
    case 3: sr_answer(&a, 1, p, n, oa_event, an_event); break;
    case 5: br_parse(&a, p, n); break;
    default: a.failed = 1;
    }
    if (!a.failed)
        compare_parsed(name, &a, rd->w);
    ans_free(&a);
}

/* ---------------------------------------------------------------- made answers */

static const char *const TEXTS[] = {
    "",
    "Your parcel has not shipped yet; carriers usually collect within 1-2 business days.",
    "quote \" backslash \\ slash / tab \t newline \n return \r bell \a escape \x1b del \x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 (2, 3 and 4 bytes)",
    "not UTF-8: \xff \xc3 \xed\xa0\x80 (a surrogate) \xf4\x90\x80\x80 (past U+10FFFF) \xc0\xaf (overlong)",
    "{\"json\": [\"inside\", 1, null]}",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
};

static const char *const FINISHES[] = { "stop", "length", "tool_calls", "content_filter" };

static void made(jw_writer *w)
{
    static const char nul_text[] = "a\0b";
    static const rv_usage usages[] = {
        { 96, 18, 0, 0, 0 },
        { -1, -1, -1, -1, -1 },
        { 1000, 250, 4096, 512, 128 },
        { 0, 0, 0, 0, 0 },
        { 4000000000000, 9000000000000, 1, 2, 3 },
    };
    rv_toolcall tools[5] = {
        { { "call_1", 6 }, { "get_weather", 11 }, { "{\"city\":\"Paris\"}", 16 } },
        { { "toolu_01\"x", 10 }, { "na\\me\n", 6 }, { "{}", 2 } },
        { { "", 0 }, { "\xff\xfe", 2 }, { "{\"a\":\"\xe2\x82\xac\"}", 12 } },
        { { "c\0d", 3 }, { "f", 1 }, { "not json at all", 15 } },
        { { "call_5", 6 }, { "last", 4 }, { "{\"deep\":{\"x\":[1,2,3]}}", 22 } },
    };
    static const char *const ids[] = { "req-1", "chatcmpl-0000000000000000000000000000" };
    static const char *const models[] = { "gpt-4o-mini", "anthropic.claude-3-5-sonnet-20240620-v1:0", "" };
    char name[64];
    int k = 0;
    for (size_t t = 0; t < sizeof TEXTS / sizeof *TEXTS + 1; t++)
        for (size_t f = 0; f < sizeof FINISHES / sizeof *FINISHES; f++)
            for (size_t u = 0; u < sizeof usages / sizeof *usages; u++) {
                uint32_t nt = (uint32_t)((t + f + u) % 6);
                rv_sv text = t < sizeof TEXTS / sizeof *TEXTS ? (rv_sv){ TEXTS[t], (uint32_t)strlen(TEXTS[t]) }
                                                              : (rv_sv){ nul_text, 3 };
                answer a = { ids[k % 2], models[k % 3], FINISHES[f], (int64_t)k * 86400, text, tools, nt,
                             usages[u] };
                snprintf(name, sizeof name, "made-%d", k++);
                compare(name, &a, w);
            }
    /* no text at all (a view with no bytes) */
    answer none = { "req-2", "m", "stop", 0, { NULL, 0 }, NULL, 0, usages[0] };
    compare("made-null-text", &none, w);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    jw_writer w;
    jw_init_mem(&w, 0);
    made(&w);
    static const struct { const char *sub; int mode; } dirs[] = {
        { "tests/fuzz/corpus/answers", -1 }, { "tests/vectors/sse/openai", 1 }, { "tests/vectors/sse/anthropic", 3 },
    };
    int files = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, dirs[i].sub);
        reading rd = { dirs[i].mode, &w };
        int k = each_file(dir, recorded, &rd);
        files += k > 0 ? k : 0;
    }
    jw_discard(&w);
    if (files < 30) {
        printf("FAIL reply_diff/inputs: only %d recorded answers found under %s\n", files, root);
        return 1;
    }
    if (!failures)
        printf("PASS reply_diff (%d documents: %d recorded answers and the made ones, byte for byte)\n", compared,
               files);
    else
        printf("FAIL reply_diff: %d of %d documents differ\n", failures, compared);
    return failures ? 1 : 0;
}
