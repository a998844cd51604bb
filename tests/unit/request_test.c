/* The request model (vm/request.h) and the OpenAI writer (vm/forward.h):
   a table of requests and what parsing them must give (an error message,
   or facts about the model), the memory bound on adversarial shapes, long
   strings with escapes against the memory limit, pools whose requests
   are freed out of order, and splices that re-parse to the same
   structure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "heappeak.h"
#include "request.h"

static int failures, passes;

#define CHECK(name, cond, ...) do { \
        if (cond) { passes++; printf("PASS request/%s\n", name); } \
        else { failures++; printf("FAIL request/%s: ", name); printf(__VA_ARGS__); printf("\n"); } \
    } while (0)

static int sv_is(rv_sv v, const char *s)
{
    return v.len == strlen(s) && !memcmp(v.s, s, v.len);
}

/* ---------------------------------------------------------------- errors */

typedef struct { char *s; size_t n, cap; } buf;

static void put(buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n + 1);
    b->n += n;
}



/* Each request and the start of the error it must give ("" = accepted). */
static const struct { const char *name, *json, *error; } cases[] = {
    { "ok", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "" },
    { "not-object", "[1]", "the request must be a JSON object" },
    { "number-alone", "7", "the request must be a JSON object" },
    { "trailing", "{\"messages\":[{\"role\":\"user\"}]} {}", "invalid JSON: parse error: trailing garbage" },
    { "overlong-utf8", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\x80\"}]}", "invalid JSON: invalid UTF-8" },
    { "surrogate-utf8", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", "invalid JSON: invalid UTF-8" },
    { "above-10ffff", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xf4\x90\x80\x80\"}]}", "invalid JSON: invalid UTF-8" },
    { "lone-high-escape", "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800abc\"}]}", "invalid JSON: unpaired surrogate \\uD800" },
    { "lone-low-escape", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\\udc00\"}]}", "invalid JSON: unpaired surrogate \\uDC00" },
    { "high-then-other", "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\\u0041\"}]}", "invalid JSON: unpaired surrogate" },
    { "pair-ok", "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud83d\\ude00\"}]}", "" },
    { "nul-escape", "{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}", "invalid JSON: a string holds NUL" },
    { "nul-in-key", "{\"messages\":[{\"role\":\"user\"}],\"a\\u0000\":1}", "invalid JSON: a string holds NUL" },
    { "dup-root", "{\"model\":\"a\",\"messages\":[{\"role\":\"user\"}],\"model\":\"b\"}", "invalid JSON: duplicate key \"model\"" },
    { "dup-escaped", "{\"messages\":[{\"role\":\"user\"}],\"a\":1,\"\\u0061\":2}", "invalid JSON: duplicate key \"a\"" },
    { "dup-in-message", "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\",\"content\":\"123-45-6789\"}]}",
      "invalid JSON: duplicate key \"content\"" },
    { "dup-in-part", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\",\"text\":\"b\"}]}]}",
      "invalid JSON: duplicate key \"text\"" },
    { "dup-in-passthrough", "{\"messages\":[{\"role\":\"user\"}],\"x\":{\"k\":1,\"k\":2}}", "invalid JSON: duplicate key \"k\"" },
    { "dup-in-large-object", "{\"messages\":[{\"role\":\"user\"}],\"x\":{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,"
      "\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":0,\"k11\":1,\"k12\":2,\"k13\":3,\"k14\":4,\"k15\":5,\"k16\":6,\"k17\":7,\"k3\":3}}",
      "invalid JSON: duplicate key \"k3\"" },
    { "no-messages", "{\"model\":\"m\"}", "the request has no \"messages\"" },
    { "null-messages", "{\"messages\":null}", "the request has no \"messages\"" },
    { "empty-messages", "{\"messages\":[]}", "\"messages\" is empty" },
    { "message-not-object", "{\"messages\":[\"hi\"]}", "each message must be an object" },
    { "no-role", "{\"messages\":[{\"content\":\"hi\"}]}", "each message needs a string \"role\"" },
    { "bad-role", "{\"messages\":[{\"role\":\"wizard\"}]}", "unknown message role \"wizard\"" },
    { "content-number", "{\"messages\":[{\"role\":\"user\",\"content\":3}]}", "content must be a string, null or an array of parts" },
    { "part-no-type", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}", "each content part must be an object with a \"type\"" },
    { "text-part-no-text", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\"}]}]}", "a input_text part needs a string \"text\"" },
    { "tool-no-name", "{\"messages\":[{\"role\":\"user\"}],\"tools\":[{\"type\":\"function\",\"function\":{}}]}", "each tool needs a function name" },
    { "metadata-object", "{\"messages\":[{\"role\":\"user\"}],\"metadata\":{\"a\":{}}}", "metadata values must be strings, numbers or bools" },
    { "max-tokens-1e308", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":1e308}", "\"max_tokens\" must be a positive integer" },
    { "max-tokens-float", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":10.0}", "\"max_tokens\" must be a positive integer" },
    { "max-tokens-minus-zero", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":-0}", "\"max_tokens\" must be a positive integer" },
    { "max-tokens-20-digits", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":12345678901234567890}", "\"max_tokens\" must be a positive integer" },
    { "max-tokens-2^53", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":9007199254740992}", "\"max_tokens\" must be a positive integer" },
    { "max-completion-tokens", "{\"messages\":[{\"role\":\"user\"}],\"max_completion_tokens\":\"5\"}", "\"max_completion_tokens\" must be a positive integer" },
    { "temperature-1e999", "{\"messages\":[{\"role\":\"user\"}],\"temperature\":1e999}", "\"temperature\" must be a finite number" },
    { "seed-20-digits", "{\"messages\":[{\"role\":\"user\"}],\"seed\":-92233720368547758080}", "\"seed\" must be an integer within 64 bits" },
    { "seed-min", "{\"messages\":[{\"role\":\"user\"}],\"seed\":-9223372036854775808}", "" },
    { "n-zero", "{\"messages\":[{\"role\":\"user\"}],\"n\":0}", "\"n\" must be a positive integer" },
    { "stream-string", "{\"messages\":[{\"role\":\"user\"}],\"stream\":\"yes\"}", "\"stream\" must be true or false" },
    { "stop-number", "{\"messages\":[{\"role\":\"user\"}],\"stop\":[1]}", "\"stop\" must be a string or an array of strings" },
    { "model-array", "{\"messages\":[{\"role\":\"user\"}],\"model\":[]}", "\"model\" must be a string" },
    { "passthrough-1e999", "{\"messages\":[{\"role\":\"user\"}],\"logit_bias\":{\"1\":1e999}}", "" },
    { "seed-max", "{\"messages\":[{\"role\":\"user\"}],\"seed\":9223372036854775807}", "" },
    { "seed-max-plus-one", "{\"messages\":[{\"role\":\"user\"}],\"seed\":9223372036854775808}", "\"seed\" must be an integer within 64 bits" },
    { "seed-min-minus-one", "{\"messages\":[{\"role\":\"user\"}],\"seed\":-9223372036854775809}", "\"seed\" must be an integer within 64 bits" },
    { "seed-2^64", "{\"messages\":[{\"role\":\"user\"}],\"seed\":18446744073709551616}", "\"seed\" must be an integer within 64 bits" },
    { "seed-exponent", "{\"messages\":[{\"role\":\"user\"}],\"seed\":1e3}", "\"seed\" must be an integer within 64 bits" },
    { "max-tokens-2^53-1", "{\"messages\":[{\"role\":\"user\"}],\"max_tokens\":9007199254740991}", "" },
    { "top-logprobs-zero", "{\"messages\":[{\"role\":\"user\"}],\"top_logprobs\":0}", "" },
    { "top-p-minus-1e400", "{\"messages\":[{\"role\":\"user\"}],\"top_p\":-1e400}", "\"top_p\" must be a finite number" },
    { "trailing-whitespace", "{\"messages\":[{\"role\":\"user\"}]} \r\n\t ", "" },
    { "trailing-number", "{\"messages\":[{\"role\":\"user\"}]} 1", "invalid JSON: parse error: trailing garbage" },
    { "trailing-after-newline", "{\"messages\":[{\"role\":\"user\"}]}\n}", "invalid JSON: parse error: trailing garbage" },
    /* of several repeated keys of a large object, the first in the order
       of the keys' hashes is reported, whichever repeats first */
    { "dups-in-large-object", "{\"messages\":[{\"role\":\"user\"}],\"x\":{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,"
      "\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":0,\"k11\":1,\"k12\":2,\"k13\":3,\"k14\":4,\"k15\":5,\"k16\":6,\"k17\":7,\"k3\":3,"
      "\"k9\":9}}", "invalid JSON: duplicate key \"k9\"" },
    { "dup-long-key", "{\"messages\":[{\"role\":\"user\"}],\"parallel_tool_calls_x\":1,\"parallel_tool_calls_y\":1,"
      "\"parallel_tool_calls_x\":2}", "invalid JSON: duplicate key \"parallel_tool_calls_x\"" },
};

/* Numbers routing reads are read as strtod reads them, to the bit (short
   decimals take a fast path, the rest strtod itself); integer literals as
   strtoll; and keys that differ from a known one in any byte are other
   fields, passed through. */
static void test_numbers(void)
{
    static const char *const reals[] = {
        "0", "-0", "0.0", "-0.0", "1", "-1", "0.2", "0.7", "0.1", "0.3", "1.5", "-1.25", "2", "0.30000000000000004",
        "123456789012345", "1234567890123456", "999999999999999", "0.000000000000001", "0.0000000000000000000001",
        "0.00000000000000000000001", "12.000", "3.141592653589793", "3.14159265358979", "1e2", "1E-2", "2.5e+3",
        "5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "-0.5e0", "100000000000000000000000",
        "0.1234567890123456789", "7.0000000000001", "9007199254740993", "0.9999999999999999",
    };
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        char json[160], name[96];
        snprintf(json, sizeof json, "{\"messages\":[{\"role\":\"user\"}],\"temperature\":%s}", reals[i]);
        rv_reqerr err;
        rv_request *r = req_parse(json, strlen(json), NULL, &err);
        double want = strtod(reals[i], NULL);
        if (want == 0)
            want = 0;       /* -0 is 0 */
        snprintf(name, sizeof name, "numbers/temperature=%s", reals[i]);
        CHECK(name, r && !memcmp(&r->params.temperature_v, &want, sizeof want), "got %a, want %a",
              r ? r->params.temperature_v : 0.0, want);
        req_free(r);
    }
    static const struct { const char *key; int known; } keys[] = {
        { "max_completion_tokens", 1 }, { "max_completion_tokenz", 0 }, { "max_completion_tokens_", 0 },
        { "nax_completion_tokens", 0 }, { "max_completion_tokenss", 0 }, { "max_tokens", 1 }, { "max_tokenz", 0 },
        { "max_token", 0 }, { "n", 1 }, { "o", 0 }, { "seed", 1 }, { "seee", 0 },
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char json[160], name[96];
        snprintf(json, sizeof json, "{\"messages\":[{\"role\":\"user\"}],\"%s\":5}", keys[i].key);
        rv_reqerr err;
        rv_request *r = req_parse(json, strlen(json), NULL, &err);
        snprintf(name, sizeof name, "numbers/key-%s", keys[i].key);
        CHECK(name, r && (r->nextra == 0) == keys[i].known && (!keys[i].known || r->params.n_v == 5 || r->max_tokens == 5 ||
                                                               r->params.seed_v == 5),
              "%s", r ? "read as the wrong field" : err.msg);
        req_free(r);
    }
}

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rv_reqerr err;
        rv_request *r = req_parse(cases[i].json, strlen(cases[i].json), NULL, &err);
        char name[96];
        snprintf(name, sizeof name, "parse/%s", cases[i].name);
        if (!*cases[i].error)
            CHECK(name, r != NULL, "refused: %s", err.msg);
        else
            CHECK(name, !r && !strncmp(err.msg, cases[i].error, strlen(cases[i].error)),
                  "want \"%s\", got %s", cases[i].error, r ? "a request" : err.msg);
        req_free(r);
    }
    /* the limits on counts, one past each */
    static const struct { const char *name, *head, *item, *tail, *error; int n; } over[] = {
        { "too-many-stops", "{\"messages\":[{\"role\":\"user\"}],\"stop\":[\"\"", ",\"%d\"", "]}",
          "too many stop sequences (the limit is 64)", RV_REQ_MAX_STOP },
        { "too-many-metadata", "{\"messages\":[{\"role\":\"user\"}],\"metadata\":{\"k\":1", ",\"k%d\":1", "}}",
          "too many metadata entries (the limit is 1024)", RV_REQ_MAX_META },
        { "too-many-tools", "{\"messages\":[{\"role\":\"user\"}],\"tools\":[{\"name\":\"t\"}", ",{\"name\":\"t%d\"}", "]}",
          "too many tools (the limit is 1024)", RV_REQ_MAX_TOOLS },
        { "too-many-messages", "{\"messages\":[{\"role\":\"user\"}", ",{\"role\":\"user\",\"name\":\"%d\"}", "]}",
          "too many messages (the limit is 10000)", 10000 },
    };
    for (size_t k = 0; k < sizeof over / sizeof *over; k++) {
        buf b = { 0 };
        char item[64];
        put(&b, over[k].head);
        for (int i = 1; i <= over[k].n; i++) {     /* the limit, plus one */
            snprintf(item, sizeof item, over[k].item, i);
            put(&b, item);
        }
        put(&b, over[k].tail);
        rv_reqerr e;
        rv_request *q = req_parse(b.s, b.n, NULL, &e);
        char name[96];
        snprintf(name, sizeof name, "limit/%s", over[k].name);
        CHECK(name, !q && !strcmp(e.msg, over[k].error), "got %s", q ? "a request" : e.msg);
        req_free(q);
        free(b.s);
    }
    rv_reqerr err;
    static const char at[] = "{\n  \"messages\": [\n    {\"role\": 7}]}";
    rv_request *r = req_parse(at, sizeof at - 1, NULL, &err);
    CHECK("parse/error-position", !r && err.line == 3 && err.column == 14, "line %d column %d: %s", err.line, err.column, err.msg);
    req_free(r);
}

/* ---------------------------------------------------------------- the model */

static const char full[] =
    "{\"model\":\"support\",\"temperature\":-0,\"top_p\":0.5,\"n\":2,\"seed\":42,\"max_tokens\":100,"
    "\"max_completion_tokens\":50,\"stop\":[\"a\",\"\\n\"],\"logprobs\":true,\"top_logprobs\":3,"
    "\"stream\":true,\"stream_options\":{\"include_usage\":false},\"user\":\"u-1\","
    "\"metadata\":{\"tier\":\"pro\",\"n\":1.50,\"b\":true,\"z\":null},"
    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"lookup\"}},"
    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{}}},"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"finds\",\"parameters\":{\"type\":\"object\"}}}],"
    "\"functions\":[{\"name\":\"legacy\"}],\"logit_bias\":{\"42\":-100},\"store\":false,"
    "\"messages\":["
    "{\"role\":\"developer\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"name\":\"ann\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\",\"detail\":\"low\"}},"
    "{\"type\":\"input_text\",\"text\":\"caf\\u00e9\"},{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAA\",\"format\":\"wav\"}}]},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
    "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":1}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"found\"}]}";

static void test_model(void)
{
    rv_reqerr err;
    rv_request *r = req_parse(full, sizeof full - 1, NULL, &err);
    CHECK("model/parses", r != NULL, "%s", err.msg);
    if (!r)
        return;
    const rv_reqparams *p = &r->params;
    CHECK("model/model", sv_is(r->model, "support") && r->model_span.len == 9 &&
          !memcmp(r->body + r->model_span.off, "\"support\"", 9), "model span %u+%u", r->model_span.off, r->model_span.len);
    CHECK("model/numbers", p->temperature.len && p->temperature_v == 0 && p->top_p_v == 0.5 && p->n_v == 2 &&
          p->seed_v == 42 && p->top_logprobs_v == 3 && p->logprobs_v, "temperature %g", p->temperature_v);
    CHECK("model/max-completion-tokens-wins", r->max_tokens == 50 && sv_is(p->max_tokens_key, "max_completion_tokens"),
          "max_tokens %lld", (long long)r->max_tokens);
    CHECK("model/stop", p->nstop == 2 && sv_is(p->stop_v[0], "a") && sv_is(p->stop_v[1], "\n"), "nstop %u", p->nstop);
    CHECK("model/stream-options", r->stream && p->stream_options.len && p->include_usage.len && !p->include_usage_v, "-");
    CHECK("model/metadata-as-written", r->nmeta == 3 && sv_is(*req_meta(r, "n", 1), "1.50") && sv_is(*req_meta(r, "b", 1), "true") &&
          !req_meta(r, "z", 1), "nmeta %u", r->nmeta);
    CHECK("model/tool-choice", sv_is(p->tool_choice_mode, "function") && sv_is(p->tool_choice_name, "lookup"), "-");
    CHECK("model/response-format", sv_is(p->response_format_type, "json_schema") && p->response_format_schema.len &&
          r->body[p->response_format_schema.off] == '{', "-");
    CHECK("model/tools", r->ntooldef == 2 && r->ntool == 2 && sv_is(r->tools[0], "lookup") && sv_is(r->tools[1], "legacy") &&
          r->tooldefs[0].desc != RV_REQ_NONE && r->tooldefs[0].parameters.len == 17 && r->tooldefs[1].legacy, "ntool %u", r->ntool);
    CHECK("model/extra", r->nextra == 2 && sv_is(r->extra[0].key, "logit_bias") && r->extra[0].val.len == 11 &&
          sv_is(r->extra[1].key, "store"), "nextra %u", r->nextra);
    CHECK("model/messages", r->nmsg == 4 && r->msgs[0].wrole == RV_WROLE_DEVELOPER && r->msgs[0].role == RV_ROLE_SYSTEM &&
          r->msgs[1].nparts == 4 && r->msgs[1].images == 1 && r->images == 1 && r->turns == 1 && r->msgs[2].ncalls == 1 &&
          r->msgs[2].content == RV_CONTENT_NULL && sv_is(r->msgs[3].tool_call_id, "c1"), "nmsg %u", r->nmsg);
    const rv_part *pt = &r->parts[r->msgs[1].part];
    CHECK("model/parts", pt[0].kind == RV_PART_TEXT && pt[1].kind == RV_PART_IMAGE && sv_is(pt[1].a, "https://x/y.png") &&
          sv_is(pt[1].b, "low") && pt[2].kind == RV_PART_TEXT && pt[3].kind == RV_PART_AUDIO && sv_is(pt[3].b, "wav"), "-");
    CHECK("model/texts", sv_is(r->input, "look\ncaf\xc3\xa9") && sv_is(r->system, "be brief") && sv_is(r->texts[3], "found"),
          "input '%.*s'", (int)r->input.len, r->input.s);
    CHECK("model/tool-call", sv_is(r->calls[0].id, "c1") && sv_is(r->calls[0].name, "lookup") &&
          sv_is(r->slot_texts[r->calls[0].args], "{\"q\":1}"), "-");
    /* slots in document order: tool description, content, name, two parts,
       arguments, tool result */
    static const uint8_t kinds[] = { RV_SLOT_TOOL_DESC, RV_SLOT_CONTENT, RV_SLOT_NAME, RV_SLOT_PART, RV_SLOT_PART,
                                     RV_SLOT_TOOL_ARGS, RV_SLOT_CONTENT };
    static const uint8_t roles[] = { RV_ROLE_SYSTEM, RV_ROLE_SYSTEM, RV_ROLE_USER, RV_ROLE_USER, RV_ROLE_USER,
                                     RV_ROLE_ASSISTANT, RV_ROLE_TOOL };
    int ok = r->nslot == 7;
    for (uint32_t i = 0; ok && i < r->nslot; i++) {
        const rv_slot *s = &r->slots[i];
        ok = s->kind == kinds[i] && s->role == roles[i] && r->body[s->raw.off] == '"' &&
             r->body[s->raw.off + s->raw.len - 1] == '"';
    }
    CHECK("model/slots", ok, "nslot %u", r->nslot);
    CHECK("model/escaped-slot-span", r->slots[4].raw.len == 11 && !memcmp(r->body + r->slots[4].raw.off, "\"caf\\u00e9\"", 11), "-");
    req_free(r);
}

/* ---------------------------------------------------------------- memory */

/* A request of about 'size' bytes of shape 'shape'. */
static buf shape(int kind, size_t size)
{
    buf b = { 0 };
    char item[128];
    put(&b, kind == 1 ? "{\"messages\":[" : "{\"messages\":[{\"role\":\"user\",\"content\":");
    if (kind == 0) {            /* text parts, the shortest there are */
        put(&b, "[");
        for (size_t i = 0; b.n < size; i++)
            put(&b, i ? ",{\"type\":\"text\",\"text\":\"\"}" : "{\"type\":\"text\",\"text\":\"\"}");
        put(&b, "]}]}");
    } else if (kind == 1) {     /* the most messages allowed, the shortest there are */
        for (size_t i = 0; i < 10000 && b.n < size; i++)
            put(&b, i ? ",{\"role\":\"user\"}" : "{\"role\":\"user\"}");
        put(&b, "]}");
    } else if (kind == 2) {     /* metadata entries */
        put(&b, "\"x\"}],\"metadata\":{");
        for (size_t i = 0; i < RV_REQ_MAX_META && b.n < size; i++) {
            snprintf(item, sizeof item, "%s\"%zx\":1", i ? "," : "", i);
            put(&b, item);
        }
        put(&b, "}}");
    } else if (kind == 3) {     /* a pass-through object with many keys */
        put(&b, "\"x\"}],\"x\":{");
        for (size_t i = 0; b.n < size; i++) {
            snprintf(item, sizeof item, "%s\"%zx\":0", i ? "," : "", i);
            put(&b, item);
        }
        put(&b, "}}");
    } else if (kind == 4) {     /* escapes to decode */
        put(&b, "\"");
        while (b.n < size)
            put(&b, "\\u00e9\\n");
        put(&b, "\"}]}");
    } else if (kind == 7) {     /* metadata keys and values at the hot-copy limit */
        put(&b, "\"x\"}],\"metadata\":{");
        for (size_t i = 0; i < RV_REQ_MAX_META && b.n < size; i++) {
            snprintf(item, sizeof item, "%s\"%0*zx\":\"%0*zx\"", i ? "," : "", RV_REQ_HOT_STR, i, RV_REQ_HOT_STR, i);
            put(&b, item);
        }
        put(&b, "}}");
    } else if (kind == 5) {     /* tool calls */
        put(&b, "null,\"tool_calls\":[");
        for (size_t i = 0; b.n < size; i++)
            put(&b, i ? ",{\"function\":{\"arguments\":\"\"}}" : "{\"function\":{\"arguments\":\"\"}}");
        put(&b, "]}]}");
    } else if (kind == 6) {     /* stop strings */
        put(&b, "\"x\"}],\"stop\":[");
        for (size_t i = 0; i < RV_REQ_MAX_STOP && b.n < size; i++)
            put(&b, i ? ",\"\"" : "\"\"");
        put(&b, "]}");
    }
    return b;
}

static void test_memory(void)
{
    static const char *const names[] = { "text-parts", "messages", "metadata", "passthrough-keys", "escapes",
                                         "tool-calls", "stop-strings", "metadata-hot-copies" };
    for (int k = 0; k < 8; k++) {
        size_t size = k == 0 ? (16u << 20) - 64 : (2u << 20);
        buf b = shape(k, size);
        rv_reqerr err;
        rv_request *r = req_parse(b.s, b.n, NULL, &err);
        size_t bound = RV_REQ_MEM_FACTOR * b.n + RV_REQ_MEM_BASE;
        char name[64];
        snprintf(name, sizeof name, "memory/%s", names[k]);
        CHECK(name, r && r->mem_bytes <= bound && r->scratch_bytes <= bound,
              "%s: %zu bytes held, %zu scratch, for %zu (bound %zu)", r ? "parsed" : err.msg, r ? r->mem_bytes : 0,
              r ? r->scratch_bytes : 0, b.n, bound);
        if (k == 0 && r)
            printf("INFO 16 MiB of %u text parts: %zu bytes held (%.1fx), %zu scratch (%.1fx)\n", r->nslot, r->mem_bytes,
                   (double)r->mem_bytes / b.n, r->scratch_bytes, (double)r->scratch_bytes / b.n);
        req_free(r);
        free(b.s);
    }
}

/* ---------------------------------------------------------------- escaped strings and the memory limit */

/* A request whose user message is 'size' bytes of prose in lines (each
   ending in an escaped newline, with an escaped quote and an e acute
   among its words) and whose metadata key is a run of \u escapes, so
   that both a string and a key decode past jsonfast's own small buffer;
   the decoded content and key in 'text' and 'key' (the caller frees all
   three).  It starts "{ ": the text with a vertical tab for that space
   (whitespace to yajl, not to jsonfast) is read by yajl, from the start,
   and has the same length. */
static buf escaped_request(size_t size, buf *text, buf *key)
{
    buf b = { 0 };
    char line[160];
    *text = (buf){ 0 };
    *key = (buf){ 0 };
    put(&b, "{ \"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; b.n < size; i++) {
        snprintf(line, sizeof line, "Line %d of the prompt, with a \\\"quote\\\" and caf\\u00e9 in it.\\n", i);
        put(&b, line);
        snprintf(line, sizeof line, "Line %d of the prompt, with a \"quote\" and caf\xc3\xa9 in it.\n", i);
        put(text, line);
    }
    put(&b, "\"}],\"metadata\":{\"");
    for (int i = 0; i < 200; i++) {
        put(&b, "\\u00e9t\\u00e9 ");
        put(key, "\xc3\xa9t\xc3\xa9 ");
    }
    put(&b, "\":\"summer\"}}");
    return b;
}

/* Does 'r' hold the decoded text and key of escaped_request()? */
static int escaped_read(const rv_request *r, const buf *text, const buf *key)
{
    return r && r->nmeta == 1 && r->input.len == text->n && !memcmp(r->input.s, text->s, text->n) &&
           r->meta[0].key.len == key->n && !memcmp(r->meta[0].key.s, key->s, key->n) && sv_is(r->meta[0].val, "summer");
}

/* A string with escapes is decoded once, into the request's memory,
   and counted there against its limit on either reader's path: with the
   limit just under what the request holds it is refused, by jsonfast and
   by yajl alike, with the same error (yajl, whose decode buffer doubles
   in scratch, needs more); with just that much it is read.  ("Just":
   within 64 bytes, as the padding that puts the hot region's struct on a
   cache line depends on where the block lies, and so may differ from one
   parse to the next by up to 63 bytes.)  And, where
   the heap can be measured, nothing is decoded outside the memory the
   parse counts: its high-water mark above what it keeps is its scratch
   (the tables), not the decoded string again; and a limit with room for
   the body's copy but not the decoded text refuses the request before
   the text is decoded anywhere. */
static void test_escaped_memory(void)
{
    buf text, key, b = escaped_request(1u << 20, &text, &key);
    char *slow = malloc(b.n);      /* the same request for yajl */
    memcpy(slow, b.s, b.n);
    slow[1] = '\v';
    rv_reqerr err, e2;
    rv_request *r = req_parse(b.s, b.n, NULL, &err);
    CHECK("escaped/decoded", escaped_read(r, &text, &key), "%s", r ? "not the decoded text" : err.msg);
    rv_request *y = req_parse(slow, b.n, NULL, &e2);
    CHECK("escaped/decoded-by-yajl", escaped_read(y, &text, &key) && r && y->mem_bytes == r->mem_bytes,
          "%s", y ? "not the decoded text, or not the same memory" : e2.msg);
    req_free(y);
    rv_reqpool *pool = req_pool_new();
    rv_request *p = req_parse_pooled(b.s, b.n, NULL, &err, pool);
    CHECK("escaped/decoded-pooled", escaped_read(p, &text, &key), "%s", p ? "not the decoded text" : err.msg);
    req_free(p);
    req_pool_free(pool);
    size_t need = r ? r->mem_bytes : 0;
    req_free(r);

    rv_reqlimits lim = { 0, 0, need - 64 };
    char want[160];
    snprintf(want, sizeof want, "the request is too complex: its parsed form would take more than %zu bytes", need - 64);
    r = req_parse(b.s, b.n, &lim, &err);
    y = req_parse(slow, b.n, &lim, &e2);
    CHECK("escaped/limit-just-too-small", !r && !y && !strcmp(err.msg, want) && !strcmp(e2.msg, want) && !err.line &&
          !e2.line, "jsonfast: %s; yajl: %s", r ? "read" : err.msg, y ? "read" : e2.msg);
    req_free(r);
    req_free(y);
    lim.max_mem = need + 63;
    r = req_parse(b.s, b.n, &lim, &err);
    CHECK("escaped/limit-just-enough", escaped_read(r, &text, &key) && r->mem_bytes + 63 >= need &&
          r->mem_bytes <= need + 63, "%s", r ? "not the decoded text, or not the memory it held before" : err.msg);
    req_free(r);

    if (!hp_available()) {
        printf("INFO request/escaped/heap: not measured (no sanitizer allocator here)\n");
    } else {
        long long before = hp_start();
        r = req_parse(b.s, b.n, NULL, &err);
        long long over = hp_peak() - hp_live(), kept = hp_live() - before;
        size_t scratch = r ? r->scratch_bytes : 0;
        CHECK("escaped/heap", r && over <= 2 * (long long)scratch + (64 << 10),
              "%lld bytes allocated and given back during the parse (scratch %zu, kept %lld; the text decodes to %zu)",
              over, scratch, kept, text.n);
        req_free(r);
        /* the body's copy (in the first block, with room to spare) fits,
           the decoded text does not */
        lim.max_mem = b.n + text.n / 2;
        snprintf(want, sizeof want, "the request is too complex: its parsed form would take more than %zu bytes",
                 lim.max_mem);
        before = hp_start();
        r = req_parse(b.s, b.n, &lim, &err);
        long long most = hp_peak() - before;
        y = req_parse(slow, b.n, &lim, &e2);
        CHECK("escaped/heap-refused-before-decoding", !r && !y && !strcmp(err.msg, want) && !strcmp(e2.msg, want) &&
              most <= (long long)b.n + (128 << 10), "jsonfast: %s; yajl: %s; %lld bytes at most (the body is %zu)",
              r ? "read" : err.msg, y ? "read" : e2.msg, most, b.n);
        req_free(r);
        req_free(y);
    }
    free(slow);
    free(b.s);
    free(text.s);
    free(key.s);
}

/* ---------------------------------------------------------------- pools */

static void test_pool(void)
{
    enum { N = 3000 };
    rv_reqpool *pool = req_pool_new();
    rv_request **rs = calloc(N, sizeof *rs);
    char json[256];
    int ok = 1;
    for (int round = 0; round < 3 && ok; round++) {
        for (int i = 0; i < N && ok; i++) {
            rv_reqerr err;
            int n = snprintf(json, sizeof json, "{\"messages\":[{\"role\":\"user\",\"content\":\"request %d of round %d %s\"}]}",
                             i, round, i % 7 ? "" : "with a longer text to make the sizes differ");
            ok = (rs[i] = req_parse_pooled(json, (size_t)n, NULL, &err, pool)) != NULL;
        }
        /* finish out of order: a stride through the table */
        for (int i = 0, j = 0; i < N; i++, j = (j + 1237) % N) {
            char want[64];
            snprintf(want, sizeof want, "request %d of round %d", j, round);
            ok &= rs[j] && rs[j]->input.len >= strlen(want) && !memcmp(rs[j]->input.s, want, strlen(want));
            req_free(rs[j]);
            rs[j] = NULL;
        }
    }
    CHECK("pool/out-of-order", ok && req_pool_blocks(pool) <= 65, "blocks held %zu", req_pool_blocks(pool));
    free(rs);
    req_pool_free(pool);
}

/* ---------------------------------------------------------------- the hot region */

/* Where a view lies: in the request's hot region (between its metadata
   table and its struct), in its body, or elsewhere (a decoded copy). */
enum { IN_HOT, IN_BODY, IN_OTHER };

static int where(const rv_request *r, rv_sv v)
{
    const char *lo = r->meta ? (const char *)r->meta : (const char *)r - 64 - RV_REQ_HOT_STR, *hi = (const char *)r;
    if (v.s >= lo && v.s + v.len <= hi)
        return IN_HOT;
    if (v.s >= r->body && v.s + v.len <= r->body + r->body_len)
        return IN_BODY;
    return IN_OTHER;
}

/* A string of 'n' letters, starting at letter 'c' (0 = 'a'). */
static void filler(char *d, size_t n, size_t c)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (char)('a' + (c + i) % 26);
}

/* Metadata keys and values around RV_REQ_HOT_STR: each case's JSON text,
   its decoded text, and where the request must keep it. */
typedef struct { char json[160], text[160]; int at; } hotcase;

static int hot_cases(hotcase *hc)
{
    static const int lens[] = { 1, 3, 4, 7, 8, 9, 16, 17, 24, RV_REQ_HOT_STR - 1, RV_REQ_HOT_STR, RV_REQ_HOT_STR + 1, 100 };
    int n = 0;
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++, n++) {
        memset(&hc[n], 0, sizeof hc[n]);
        filler(hc[n].text, (size_t)lens[i], i);
        memcpy(hc[n].json, hc[n].text, (size_t)lens[i]);
        hc[n].at = lens[i] <= RV_REQ_HOT_STR ? IN_HOT : IN_BODY;
    }
    /* escaped: decoded, short ones copied into the hot region, long ones
       decoded elsewhere; "é" is 2 bytes decoded, 6 escaped */
    static const struct { const char *json, *text; } esc[] = {
        { "caf\\u00e9", "caf\xc3\xa9" },
        { "a\\\"b\\\\c\\n", "a\"b\\c\n" },
        { "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9",
          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" },
        { "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x",
          "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x" },
    };
    for (size_t i = 0; i < sizeof esc / sizeof *esc; i++, n++) {
        memset(&hc[n], 0, sizeof hc[n]);
        strcpy(hc[n].json, esc[i].json);
        strcpy(hc[n].text, esc[i].text);
        hc[n].at = strlen(esc[i].text) <= RV_REQ_HOT_STR ? IN_HOT : IN_OTHER;
    }
    return n;
}

/* A request whose metadata has every case as a value (keys "v0", "v1",
   ...) and as a key (value "k"), and whose "user" is case 'u'. */
static int hot_request(char *out, size_t cap, const hotcase *hc, int n, int u, int serial)
{
    size_t len = (size_t)snprintf(out, cap, "{\"messages\":[{\"role\":\"user\",\"content\":\"request %d\"}],\"user\":\"%s\","
                                            "\"metadata\":{", serial, hc[u].json);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"v%d\":\"%s\",\"%s\":\"k\"", i ? "," : "", i, hc[i].json, hc[i].json);
    len += (size_t)snprintf(out + len, cap - len, ",\"n\":1.50}}");
    return len < cap ? (int)len : -1;
}

/* Every key, value and the user of 'r' (from hot_request) read back:
   their text, and where they are kept. */
static int hot_check(const rv_request *r, const hotcase *hc, int n, int u, int serial, char *why, size_t whylen)
{
    char want[64];
    snprintf(want, sizeof want, "request %d", serial);
    if (!sv_is(r->input, want))
        return snprintf(why, whylen, "input '%.*s', want '%s'", (int)r->input.len, r->input.s, want), 0;
    if (((uintptr_t)r & 63) || r->nmeta != 2u * (uint32_t)n + 1)
        return snprintf(why, whylen, "struct at %p, %u entries", (void *)r, r->nmeta), 0;
    if (!sv_is(r->user, hc[u].text) || where(r, r->user) != hc[u].at)
        return snprintf(why, whylen, "user of case %d: '%.*s', where %d", u, (int)r->user.len, r->user.s, where(r, r->user)), 0;
    for (int i = 0; i < n; i++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "v%d", i);
        const rv_sv *v = req_meta(r, key, (uint32_t)kl);
        if (!v || !sv_is(*v, hc[i].text) || where(r, *v) != hc[i].at)
            return snprintf(why, whylen, "value of case %d: %s, where %d", i, v ? "wrong text or place" : "absent", v ? where(r, *v) : -1), 0;
        v = req_meta(r, hc[i].text, (uint32_t)strlen(hc[i].text));
        const rv_meta *m = &r->meta[2 * i + 1];
        if (!v || !sv_is(*v, "k") || !sv_is(m->key, hc[i].text) || where(r, m->key) != hc[i].at)
            return snprintf(why, whylen, "key of case %d: %s, where %d", i, v ? "wrong entry" : "absent", where(r, m->key)), 0;
    }
    const rv_sv *v = req_meta(r, "n", 1);
    if (!v || !sv_is(*v, "1.50") || where(r, *v) != IN_HOT)
        return snprintf(why, whylen, "number value"), 0;
    return 1;
}

static void test_hot(void)
{
    hotcase hc[32];
    int n = hot_cases(hc);
    static char json[16384];
    char why[256] = "";
    /* unpooled: each case as value, key and user */
    int ok = 1;
    for (int u = 0; u < n && ok; u++) {
        int len = hot_request(json, sizeof json, hc, n, u, u);
        rv_reqerr err;
        rv_request *r = len > 0 ? req_parse(json, (size_t)len, NULL, &err) : NULL;
        ok = r && hot_check(r, hc, n, u, u, why, sizeof why);
        if (!r)
            snprintf(why, sizeof why, "%.200s", len > 0 ? err.msg : "request too long");
        req_free(r);
    }
    CHECK("hot/lengths-and-escapes", ok, "%s", why);
    /* no metadata, no user: the struct alone */
    static const char bare[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    rv_reqerr err;
    rv_request *r = req_parse(bare, sizeof bare - 1, NULL, &err);
    CHECK("hot/bare", r && !r->meta && !r->nmeta && !r->user.len && !((uintptr_t)r & 63) && !req_meta(r, "tier", 4), "-");
    req_free(r);

    /* pooled: many requests, decoded and read back while others are
       freed out of order; consecutive hot regions adjacent */
    enum { N = 2000 };
    rv_reqpool *pool = req_pool_new();
    rv_request **rs = calloc(N, sizeof *rs);
    ok = 1;
    int adjacent = 0;
    for (int round = 0; round < 2 && ok; round++) {
        for (int i = 0; i < N && ok; i++) {
            int len = hot_request(json, sizeof json, hc, n, (i + round) % n, i);
            ok = len > 0 && (rs[i] = req_parse_pooled(json, (size_t)len, NULL, &err, pool)) != NULL;
            if (!ok)
                snprintf(why, sizeof why, "request %d: %.200s", i, len > 0 ? err.msg : "too long");
            /* the next region starts where the last struct ended */
            adjacent += ok && i && (const char *)rs[i]->meta == (const char *)rs[i - 1] + sizeof(rv_request);
        }
        for (int i = 0, j = 0; i < N && ok; i++, j = (j + 773) % N) {
            ok = hot_check(rs[j], hc, n, (j + round) % n, j, why, sizeof why);
            req_free(rs[j]);
            rs[j] = NULL;
            if (i % 3 == 0 && ok) {     /* a new request while others are still held */
                int len = hot_request(json, sizeof json, hc, n, 0, j);
                rv_request *q = len > 0 ? req_parse_pooled(json, (size_t)len, NULL, &err, pool) : NULL;
                ok = q && hot_check(q, hc, n, 0, j, why, sizeof why);
                req_free(q);
            }
        }
        for (int i = 0; i < N; i++)
            req_free(rs[i]), rs[i] = NULL;
    }
    CHECK("hot/pool-out-of-order", ok, "%s", why);
    /* a region starts a new block now and then (so 2 per round in 256 KB
       blocks of ~5 KB regions would be ~40 per round): most follow the last */
    CHECK("hot/pool-adjacent", adjacent >= 2 * (N - 1) * 9 / 10, "%d of %d regions follow the last", adjacent, 2 * (N - 1));
    /* a region too big to share a block (1,024 entries at the copy
       limit), between two small ones */
    buf big = shape(7, 2u << 20);
    int len = hot_request(json, sizeof json, hc, n, 0, 1);
    rv_request *a = req_parse_pooled(json, (size_t)len, NULL, &err, pool);
    rv_request *b = req_parse_pooled(big.s, big.n, NULL, &err, pool);
    rv_request *c = req_parse_pooled(json, (size_t)len, NULL, &err, pool);
    char key[RV_REQ_HOT_STR + 1];
    snprintf(key, sizeof key, "%0*x", RV_REQ_HOT_STR, 1023);
    const rv_sv *v = b ? req_meta(b, key, RV_REQ_HOT_STR) : NULL;
    ok = a && b && c && b->nmeta == RV_REQ_MAX_META && v && sv_is(*v, key) && where(b, *v) == IN_HOT;
    req_free(b);
    ok = ok && hot_check(a, hc, n, 0, 1, why, sizeof why) && hot_check(c, hc, n, 0, 1, why, sizeof why);
    CHECK("hot/pool-big-region", ok, "%s", b ? why : err.msg);
    req_free(a);
    req_free(c);
    free(big.s);
    free(rs);
    req_pool_free(pool);
}

/* ---------------------------------------------------------------- forwarding */

static void test_forward(void)
{
    rv_reqerr err;
    rv_request *r = req_parse(full, sizeof full - 1, NULL, &err);
    if (!r)
        return;
    rv_sv *t = calloc(r->nslot, sizeof *t);
    memcpy(t, r->slot_texts, r->nslot * sizeof *t);
    t[1] = (rv_sv){ "say \"hi\"\n", 9 };
    fw_edits e = { .model = "gpt-4o", .model_len = 6, .texts = t, .include_usage = 1, .max_tokens = 20 };
    size_t n;
    char *out = fw_openai_body(r, &e, &n, NULL);
    rv_request *q = out ? req_parse(out, n, NULL, &err) : NULL;
    CHECK("forward/reparses", q != NULL, "%s", out ? err.msg : "no body");
    if (q) {
        CHECK("forward/edits", sv_is(q->model, "gpt-4o") && sv_is(q->slot_texts[1], "say \"hi\"\n") && q->params.include_usage_v &&
              q->max_tokens == 20 && q->nslot == r->nslot && q->nmsg == r->nmsg && q->npart == r->npart &&
              q->nextra == r->nextra && q->body_len == n, "model %.*s", (int)q->model.len, q->model.s);
        int same = 1;
        for (uint32_t i = 2; i < r->nslot; i++)
            same &= q->slot_texts[i].len == r->slot_texts[i].len && !memcmp(q->slot_texts[i].s, r->slot_texts[i].s, r->slot_texts[i].len);
        CHECK("forward/other-texts-kept", same, "-");
    }
    free(out);
    req_free(q);
    req_free(r);
    /* no model, no stream_options: both inserted */
    static const char bare[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true}";
    r = req_parse(bare, sizeof bare - 1, NULL, &err);
    fw_edits e2 = { .model = "m\"1", .model_len = 3, .include_usage = 1 };
    out = r ? fw_openai_body(r, &e2, &n, NULL) : NULL;
    static const char want[] = "{\"model\":\"m\\\"1\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true,"
                               "\"stream_options\":{\"include_usage\":true}}";
    CHECK("forward/insertions", out && n == sizeof want - 1 && !memcmp(out, want, n), "got %s", out ? out : "nothing");
    free(out);
    req_free(r);
    /* nothing to change: the same bytes */
    r = req_parse(full, sizeof full - 1, NULL, &err);
    fw_edits none = { 0 };
    out = r ? fw_openai_body(r, &none, &n, NULL) : NULL;
    CHECK("forward/unchanged", out && n == sizeof full - 1 && !memcmp(out, full, n), "-");
    free(out);
    free(t);
    req_free(r);
}

/* ---------------------------------------------------------------- declined by jsonfast */

/* Texts the one-pass reader (vm/jsonfast.h) declines and yajl takes --
   a vertical tab or form feed where JSON has whitespace -- are read
   again from the start by yajl: the request is the one of the same text
   with a space there, pooled or not, whether the reader declined at the
   end or half-way, with tables already filled. */
static char *with_at(const char *s, size_t at, char c)
{
    size_t n = strlen(s);
    char *d = malloc(n + 2);
    memcpy(d, s, at);
    d[at] = c;
    memcpy(d + at + 1, s + at, n - at + 1);
    return d;
}

static int same_request(const rv_request *a, const rv_request *b)
{
    if (!a || !b || a->nmsg != b->nmsg || a->npart != b->npart || a->nslot != b->nslot || a->nextra != b->nextra ||
        a->nmeta != b->nmeta || a->body_len != b->body_len || a->root_end != b->root_end ||
        a->model.len != b->model.len || memcmp(a->model.s, b->model.s, a->model.len) ||
        a->user.len != b->user.len || memcmp(a->user.s, b->user.s, a->user.len))
        return 0;
    for (uint32_t i = 0; i < a->nslot; i++)
        if (a->slot_texts[i].len != b->slot_texts[i].len ||
            memcmp(a->slot_texts[i].s, b->slot_texts[i].s, a->slot_texts[i].len))
            return 0;
    return 1;
}

static void test_declined(void)
{
    static const struct { const char *name, *after; } at[] = {
        { "at-the-end", NULL },                 /* before the closing brace */
        { "half-way", "{\"role\":\"developer\",\"content\":\"be brief\"}," },
    };
    rv_reqpool *pool = req_pool_new();
    for (size_t i = 0; i < sizeof at / sizeof *at; i++)
        for (int c = 0; c < 2; c++) {
            size_t off = at[i].after ? (size_t)(strstr(full, at[i].after) - full) + strlen(at[i].after) : sizeof full - 2;
            char *odd = with_at(full, off, c ? '\f' : '\v'), *plain = with_at(full, off, ' ');
            rv_reqerr e1, e2, e3;
            rv_request *a = req_parse(odd, strlen(odd), NULL, &e1), *b = req_parse(plain, strlen(plain), NULL, &e2);
            rv_request *p = req_parse_pooled(odd, strlen(odd), NULL, &e3, pool);
            char name[96];
            snprintf(name, sizeof name, "declined/%s-%s", at[i].name, c ? "form-feed" : "vertical-tab");
            CHECK(name, same_request(a, b) && same_request(p, b), "%s", a ? (p ? "not the same request" : e3.msg) : e1.msg);
            req_free(a);
            req_free(b);
            req_free(p);
            free(odd);
            free(plain);
        }
    req_pool_free(pool);
}

int main(void)
{
    test_errors();
    test_numbers();
    test_model();
    test_memory();
    test_escaped_memory();
    test_pool();
    test_hot();
    test_forward();
    test_declined();
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
