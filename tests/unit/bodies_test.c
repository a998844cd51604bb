/* The request bodies each provider is sent (vm/providers/openai.c,
   anthropic.c, bedrock.c): for a table of requests -- a long multi-turn
   chat, tools and tool calls and results, every tool_choice, images by
   data: URL and by https URL, audio parts, stop sequences, sampling
   parameters, fields passed through, merged turns, empty turns, escapes
   and non-ASCII text, the client's values as written (exponents,
   escapes, spaces, values jansson could not hold) -- through plain models and models with a system
   template and parameters of their own, streamed or not, each body (or
   the error that refuses it) must equal tests/unit/golden/bodies.txt
   byte for byte.  The bodies were recorded from the jansson-tree writers
   before the streaming writer replaced them, so this is also the proof
   that the change kept every byte.  After an intended change:
       UPDATE_GOLDEN=1 build/tests/bodies_test .
   and review the diff. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic.h"
#include "bedrock.h"
#include "compiler.h"
#include "conv.h"
#include "openai.h"
#include "verify.h"
#include "vm.h"

#include "dirfiles.h"

static int failures;

static const char *POLICY =
    "provider o { kind openai endpoint \"https://o.example/v1\" }\n"
    "provider a { kind anthropic endpoint \"https://a.example/v1\" }\n"
    "provider b { kind bedrock region \"us-east-1\" endpoint \"https://bedrock-runtime.us-east-1.amazonaws.com\" }\n"
    "model mo from o { id \"gpt-4o-mini\" price in $1/Mtok, out $2/Mtok context 128k tokens }\n"
    "model ma from a { id \"claude-3-5-haiku\" price in $1/Mtok, out $2/Mtok context 200k tokens }\n"
    "model mb from b { id \"anthropic.claude-3-haiku-20240307-v1:0\" price in $1/Mtok, out $2/Mtok context 200k tokens }\n"
    "model to from o { id \"gpt-t\" price in $1/Mtok, out $2/Mtok context 128k tokens\n"
    "  system \"You are {agent} on {model}.\" temperature 0.25 top_p 0.9 top_k 40 seed 7 max_tokens 300\n"
    "  presence_penalty 0.5 frequency_penalty -0.5 stop [\"END\", \"\\n\\n\"] }\n"
    "model ta from a { id \"claude-t\" price in $1/Mtok, out $2/Mtok context 200k tokens\n"
    "  system \"You are {agent}.\" temperature 1.5 top_k 5 stop \"STOP\" }\n"
    "model tb from b { id \"meta.llama3-70b\" price in $1/Mtok, out $2/Mtok context 200k tokens\n"
    "  system \"You are {agent}.\" temperature 0.7 top_p 0.5 max_tokens 64 stop \"STOP\" }\n"
    "agent a_mo { route -> mo }\nagent a_ma { route -> ma }\nagent a_mb { route -> mb }\n"
    "agent a_to { route -> to }\nagent a_ta { route -> ta }\nagent a_tb { route -> tb }\n"
    "guardrail gr { redact input matches /secret/ with \"[x]\" }\n"
    "agent a_gr { guard gr route -> mo }\n";

static const char *const AGENTS[] = { "a_mo", "a_ma", "a_mb", "a_to", "a_ta", "a_tb", "a_gr" };

static const struct { const char *name, *body; } REQUESTS[] = {
    { "chat",
      "{\"model\":\"x\",\"temperature\":0.3,\"max_tokens\":400,\"messages\":["
      "{\"role\":\"system\",\"content\":\"You are the support assistant. Answer briefly.\"},"
      "{\"role\":\"user\",\"content\":\"Hello, my order 55123 has not arrived.\"},"
      "{\"role\":\"assistant\",\"content\":\"I am sorry. It left the warehouse on the 3rd.\"},"
      "{\"role\":\"user\",\"content\":\"Please send another one by express.\"}]}" },
    { "tools",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
      "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
      "\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\", \\\"days\\\": 1.50, \\\"n\\\": 1e2}\"}}]},"
      "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 C, sunny\"},"
      "{\"role\":\"user\",\"content\":\"And tomorrow?\"}],"
      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"description\":\"The forecast\","
      "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"number\"}},"
      "\"required\":[\"city\"]}}},{\"type\":\"function\",\"function\":{\"name\":\"noargs\"}}],"
      "\"tool_choice\":\"auto\",\"parallel_tool_calls\":false}" },
    { "tool_choice_named",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":"
      "{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}" },
    { "tool_choice_required",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":"
      "{\"name\":\"f\"}}],\"tool_choice\":\"required\"}" },
    { "tool_choice_none",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":"
      "{\"name\":\"f\"}}],\"tool_choice\":\"none\"}" },
    { "tool_choice_without_tools",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"auto\"}" },
    { "empty_args",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
      "\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\","
      "\"content\":\"\"}]}" },
    { "bad_args",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
      "\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"[1, 2]\"}}]}]}" },
    { "image_data",
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpg;base64,iVBORw0KGgo=\"}}]}]}" },
    { "image_url",
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}]}" },
    { "audio",
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAAA\","
      "\"format\":\"wav\"}}]}]}" },
    { "params",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":1,\"top_p\":0.95,\"stop\":\"###\","
      "\"seed\":42,\"presence_penalty\":0.1,\"frequency_penalty\":0.2,\"response_format\":{\"type\":\"json_object\"},"
      "\"user\":\"u-1\",\"n\":1,\"top_logprobs\":2,\"metadata\":{\"k\":\"v\"},\"x_custom\":[1,{\"a\":null}],"
      "\"max_completion_tokens\":50}" },
    { "stop_list",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"a\",\"b\"]}" },
    { "merged_turns",
      "{\"messages\":[{\"role\":\"developer\",\"content\":\"Be kind.\"},{\"role\":\"system\",\"content\":[{\"type\":\"text\","
      "\"text\":\"Part one.\"},{\"type\":\"text\",\"text\":\"Part two.\"}]},{\"role\":\"user\",\"content\":\"a\",\"name\":\"ann\"},"
      "{\"role\":\"user\",\"content\":\"b\"},{\"role\":\"assistant\",\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"c\"},"
      "{\"role\":\"user\",\"content\":[]}]}" },
    { "escapes",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \\\"q\\\" back\\\\slash \\n\\t\\u0001 \\ud83d\\ude00 "
      "\\u2028 </script> \xc3\xa9\"}]}" },
    /* texts an input guardrail redacts (a_gr) are written by the writer;
       the others, and every text elsewhere, as the client wrote them */
    { "redacted",
      "{\"messages\":[{\"role\":\"system\",\"content\":\"Keep the \\u0073ecret \\\"s\\\"\"},"
      "{\"role\":\"user\",\"content\":\"my secret is \\ud83d\\ude00 \\u00e9\"},"
      "{\"role\":\"assistant\",\"content\":\"caf\\u00e9 \\/ ok\"},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a \\\"secret\\\"\"},"
      "{\"type\":\"text\",\"text\":\"plain \\u2028\"}]}]}" },
    { "assistant_last", "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}" },
    /* more tables than the conversation holds in itself: the rest in
       blocks of their own */
    { "long_chat",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"turn 1\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 2\"},{\"role\":\"user\",\"content\":\"turn 3\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 4\"},{\"role\":\"user\",\"content\":\"turn 5\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 6\"},{\"role\":\"user\",\"content\":\"turn 7\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 8\"},{\"role\":\"user\",\"content\":\"turn 9\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 10\"},{\"role\":\"user\",\"content\":\"turn 11\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 12\"},{\"role\":\"user\",\"content\":\"turn 13\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 14\"},{\"role\":\"user\",\"content\":\"turn 15\"},"
      "{\"role\":\"assistant\",\"content\":\"turn 16\"}]}" },
    /* the client's values as written: numbers with exponents and
       fractions, escapes kept as escapes, spaces inside a schema, a
       stop string Anthropic and Bedrock take as a list */
    { "as_written",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":2e-1,\"top_p\":1.0,\"seed\":-9223372036854775808,\"presence_penalty\":-0,"
      "\"frequency_penalty\":1E+0,\"stop\":\"caf\\u00e9\","
      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\": {\"type\" : \"object\",\n"
      " \"properties\": {\"q\": {\"type\":\"string\",\"description\":\"\\ud83d\\ude00 \\\"q\\\"\",\"maxLength\":1e3}}}}}],"
      "\"user\":\"\\u0075\",\"x_str\":\"\\u00e9\\n\\u2028\\/ \\\"\",\"x_num\":[0.1e-7,-2E10,100.000]}" },
    { "audio_as_written",
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},"
      "{ \"type\": \"input_audio\", \"input_audio\": {\"data\":\"AA\\u002fA\\/\", \"format\":\"wav\"} }]}]}" },
    /* pass-through fields jansson could not hold (an integer beyond 64
       bits, a number beyond a double, nesting deeper than the writer's
       64 levels) and a key beyond 255 bytes: all passed as written */
    { "pass_through",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"x_big\":123456789012345678901234567890,"
      "\"x_huge\":1e400,\"x_nested\":{\"a\":[1,{\"b\":[true,false,null,{\"c\":{}}]}],\"d\":[]},\"x_null\":null,"
      "\"x_deep\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
      "],\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
      "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
      "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":1}" },
};

static rv_program *compile(void)
{
    rv_compiler *c = comp_new(NULL);
    rv_program *p = NULL;
    rv_err err;
    if (c && import_text(c, "bodies_test.route", POLICY, strlen(POLICY)) == 0 && comp_check(c) == 0)
        p = cg_program(c);
    else if (c) {
        diag_sort(&c->diag);
        diag_print(&c->diag, DIAG_TEXT, stdout);
    }
    comp_free(c);
    if (p && ver_program(p, &err)) {
        printf("FAIL bodies/verify: %s\n", err.msg);
        rv_program_free(p);
        p = NULL;
    }
    return p;
}

/* One body (or its error) as a record of the golden file. */
static void record(FILE *out, const char *req, const char *agent, const char *mode, const char *body, size_t len,
                   const char *err)
{
    fprintf(out, "## %s %s %s\n", req, agent, mode);
    if (body)
        fwrite(body, 1, len, out);
    else
        fprintf(out, "ERROR: %s", err);
    fputc('\n', out);
}

static void bodies_of(FILE *out, const rv_program *p, const rv_call *c, const char *req, const char *agent)
{
    uint32_t kind = p->providers[p->models[c->model].provider].kind;
    const char *model = rv_str(p, p->models[c->model].id);
    cv_conv cv;
    char err[256] = "";
    if (cv_from_call(&cv, c, err, sizeof err)) {
        record(out, req, agent, "conversation", NULL, 0, err);
        return;
    }
    static const char *const modes[] = { "json", "stream", "logprobs" };
    for (int m = 0; m < 3; m++) {
        size_t len = 0;
        char *body = NULL;
        err[0] = 0;
        if (kind == RV_PROV_OPENAI) {
            oa_opts o = { m == 1, m == 2 };
            body = oa_body(&cv, model, &o, &len);
            if (!body)
                snprintf(err, sizeof err, "out of memory");
        } else if (m == 2)
            continue;
        else if (kind == RV_PROV_ANTHROPIC)
            body = an_body(&cv, model, m == 1, &len, err, sizeof err);
        else
            body = br_body(&cv, &len, err, sizeof err);
        record(out, req, agent, modes[m], body, len, err);
        if (body && strlen(body) != len) {
            printf("FAIL bodies/%s_%s_%s: the length is not the string's\n", req, agent, modes[m]);
            failures++;
        }
        free(body);
    }
    cv_free(&cv);
}

/* Compare record by record, so a failure names the body that differs. */
static void compare(const char *got, size_t gn, const char *want, size_t wn)
{
    const char *g = got, *w = want, *ge = got + gn, *we = want + wn;
    int n = 0;
    while (g < ge || w < we) {
        const char *gnext = memmem(g + 1, (size_t)(ge - g > 0 ? ge - g - 1 : 0), "\n## ", 4);
        const char *wnext = memmem(w + 1, (size_t)(we - w > 0 ? we - w - 1 : 0), "\n## ", 4);
        gnext = gnext ? gnext + 1 : ge;
        wnext = wnext ? wnext + 1 : we;
        const char *eol = memchr(g, '\n', (size_t)(gnext - g));
        int hl = eol ? (int)(eol - g) : (int)(gnext - g);
        if (gnext - g != wnext - w || memcmp(g, w, (size_t)(gnext - g))) {
            printf("FAIL bodies/%.*s: differs from the golden file\n", hl > 3 ? hl - 3 : 0, g + (hl > 3 ? 3 : 0));
            failures++;
        } else
            n++;
        g = gnext;
        w = wnext;
    }
    printf("PASS bodies/golden (%d bodies equal)\n", n);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    rv_program *p = compile();
    if (!p) {
        printf("FAIL bodies/compile: the test policy does not compile\n");
        return 1;
    }
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        printf("FAIL bodies/image: %s\n", err);
        return 1;
    }
    char *got = NULL;
    size_t gn = 0;
    FILE *out = open_memstream(&got, &gn);
    rv_vm *vm = vm_new(&img, NULL, NULL);
    for (size_t r = 0; r < sizeof REQUESTS / sizeof *REQUESTS; r++) {
        rv_reqerr rerr;
        rv_request *req = req_parse(REQUESTS[r].body, strlen(REQUESTS[r].body), NULL, &rerr);
        if (!req) {
            printf("FAIL bodies/%s: the request does not parse: %s\n", REQUESTS[r].name, rerr.msg);
            failures++;
            continue;
        }
        for (size_t a = 0; a < sizeof AGENTS / sizeof *AGENTS; a++) {
            uint32_t agent = vm_agent(p, AGENTS[a], strlen(AGENTS[a]));
            if (vm_start(vm, agent, req, NULL) != RV_CALL) {
                printf("FAIL bodies/%s_%s: no call\n", REQUESTS[r].name, AGENTS[a]);
                failures++;
                continue;
            }
            bodies_of(out, p, vm_call(vm), REQUESTS[r].name, AGENTS[a]);
        }
        req_free(req);
    }
    fclose(out);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/golden/bodies.txt", root);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(got, 1, gn, f) != gn || fclose(f)) {
            printf("FAIL bodies/update: cannot write %s\n", path);
            failures++;
        }
    } else {
        size_t wn = 0;
        char *want = slurp(path, &wn);
        if (!want) {
            printf("FAIL bodies/golden: cannot read %s\n", path);
            failures++;
        } else
            compare(got, gn, want, wn);
        free(want);
    }
    free(got);
    vm_free(vm);
    vm_image_free(&img);
    rv_program_free(p);
    return failures ? 1 : 0;
}
