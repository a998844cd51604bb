/* libFuzzer target: arbitrary bytes as a chat-completions request through
   the request parser, the OpenAI writer and a full decision.

   Every request that parses is checked against the model's own promises:
   each text slot's span is a JSON string token inside the body whose
   content is the slot's text when it has no escape; then every slot is
   replaced (a text with quotes, a backslash, a control character and
   non-ASCII) and the model, output limit and stream_options changed
   through vm/forward.c, and the result must parse again to the same
   structure (messages, parts, tool calls, tools, metadata, pass-through
   fields, slot kinds and roles) with exactly the replaced texts.  Its
   memory limit is where it says: with as much memory as the request
   held and its parse allocated in scratch (give or take the hot
   region's alignment, 63 bytes) it parses again, with 64 bytes less it
   is refused with the memory error, wherever the limit is met (a string
   jsonfast would decode, a table, yajl's own memory).  Then
   every agent of a policy that uses every strategy and guardrails
   (tests/compile/clean.route, compiled once) decides it twice: explain,
   and a decision whose model and hook calls are answered with alternating
   successes and failures, so retries, fallbacks and cascade steps run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "envmem.h"
#include "explain.h"
#include "forward.h"
#include "verify.h"
#include "vm.h"

static rv_program *prog;
static rv_image img;
static rv_vm *vm;
static ex_cache *cache;
static rv_memenv *env;

static void init(void)
{
    const char *root = getenv("ROUTEVM_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/compile/clean.route", root ? root : ".");
    rv_compiler *c = comp_new(NULL);
    rv_err err;
    if (!c || import_file(c, path) || comp_check(c) || !(prog = cg_program(c)) || ver_program(prog, &err)) {
        fprintf(stderr, "fuzz_request: cannot compile %s (set ROUTEVM_ROOT)\n", path);
        abort();
    }
    comp_free(c);
    char e[256];
    if (vm_image_init(&img, prog, e, sizeof e))
        abort();
    env = memenv_new(prog->nmodel);
    vm = vm_new(&img, memenv_env(env), NULL);
    cache = ex_cache_new(prog);
}

#define ASSERT(c) do { if (!(c)) { fprintf(stderr, "fuzz_request: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static int sv_eq(rv_sv a, rv_sv b)
{
    return a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len));
}

/* The slots' spans are string tokens in the body. */
static void check_slots(const rv_request *r)
{
    for (uint32_t i = 0; i < r->nslot; i++) {
        rv_span sp = r->slots[i].raw;
        ASSERT(sp.len >= 2 && sp.off + sp.len <= r->body_len);
        ASSERT(r->body[sp.off] == '"' && r->body[sp.off + sp.len - 1] == '"');
        rv_sv t = r->slot_texts[i], raw = { r->body + sp.off + 1, sp.len - 2 };
        if (!memchr(raw.s, '\\', raw.len))
            ASSERT(sv_eq(t, raw) && t.s == raw.s);
        ASSERT(r->slots[i].msg == RV_REQ_NONE ? r->slots[i].kind == RV_SLOT_TOOL_DESC : r->slots[i].msg < r->nmsg);
    }
}

/* The body of 'r' again under a memory limit just big enough, and just
   too small. */
static void check_limit(const rv_request *r, const uint8_t *data, size_t size)
{
    size_t need = r->mem_bytes > r->scratch_bytes ? r->mem_bytes : r->scratch_bytes;
    rv_reqlimits lim = { 0, 0, need + 63 };
    rv_reqerr err;
    rv_request *q = req_parse((const char *)data, size, &lim, &err);
    if (!q)
        fprintf(stderr, "fuzz_request: refused with %zu bytes, after %zu held and %zu scratch: %s\n", lim.max_mem,
                r->mem_bytes, r->scratch_bytes, err.msg);
    ASSERT(q && q->nslot == r->nslot && q->nmeta == r->nmeta);
    req_free(q);
    lim.max_mem = need - 64;
    q = req_parse((const char *)data, size, &lim, &err);
    ASSERT(!q && !strncmp(err.msg, "the request is too complex", 26) && !err.line);
}

/* Splice a replacement into every slot and parse the result again. */
static void check_splice(const rv_request *r)
{
    static const char *const with[] = { "re\"da\\cted\n\xc3\xa9", "\x01\t}{\"", "" };
    rv_sv *t = calloc(r->nslot + 1, sizeof *t);
    ASSERT(t);
    for (uint32_t i = 0; i < r->nslot; i++) {
        t[i].s = with[i % 3];
        t[i].len = (uint32_t)strlen(with[i % 3]);
    }
    fw_edits e = { .model = "fuzz-model", .model_len = 10, .texts = t, .include_usage = 1, .max_tokens = 7 };
    size_t n;
    char *out = fw_openai_body(r, &e, &n, NULL);
    ASSERT(out);
    rv_reqerr err;
    rv_reqlimits lim = { 64u << 20, 10000, 0 };
    rv_request *q = req_parse(out, n, &lim, &err);
    if (!q)
        fprintf(stderr, "fuzz_request: the spliced request does not parse: %s\n", err.msg);
    ASSERT(q);
    ASSERT(q->nmsg == r->nmsg && q->nslot == r->nslot && q->npart == r->npart && q->ncall == r->ncall &&
           q->ntooldef == r->ntooldef && q->nextra == r->nextra && q->nmeta == r->nmeta && q->images == r->images &&
           q->turns == r->turns && q->stream == r->stream);
    for (uint32_t i = 0; i < r->nslot; i++)
        ASSERT(sv_eq(q->slot_texts[i], t[i]) && q->slots[i].kind == r->slots[i].kind && q->slots[i].role == r->slots[i].role &&
               q->slots[i].msg == r->slots[i].msg);
    for (uint32_t i = 0; i < r->nmeta; i++)
        ASSERT(sv_eq(q->meta[i].key, r->meta[i].key) && sv_eq(q->meta[i].val, r->meta[i].val));
    for (uint32_t i = 0; i < r->nextra; i++)
        ASSERT(sv_eq(q->extra[i].key, r->extra[i].key) && q->extra[i].val.len == r->extra[i].val.len &&
               !memcmp(q->body + q->extra[i].val.off, r->body + r->extra[i].val.off, r->extra[i].val.len));
    ASSERT(q->model.len == 10 && !memcmp(q->model.s, "fuzz-model", 10) && q->max_tokens == 7);
    ASSERT(!q->stream || q->params.include_usage_v);
    req_free(q);
    free(out);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog)
        init();
    rv_reqerr rerr;
    rv_request *r = req_parse((const char *)data, size, NULL, &rerr);
    if (!r)
        return 0;
    ASSERT(r->mem_bytes <= RV_REQ_MEM_FACTOR * size + RV_REQ_MEM_BASE);
    ASSERT(r->scratch_bytes <= RV_REQ_MEM_FACTOR * size + RV_REQ_MEM_BASE);
    check_slots(r);
    check_limit(r, data, size);
    check_splice(r);
    for (uint32_t a = 0; a < prog->nagent; a++) {
        json_t *j = ex_explain(vm, cache, a, r);
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
        /* a second decision answering every call */
        rv_status st = vm_start(vm, a, r, NULL);
        for (int i = 0; i < 64 && (st == RV_CALL || st == RV_HOOK); i++) {
            if (st == RV_CALL) {
                const rv_call *c = vm_call(vm);
                ASSERT(!c->req || (c->texts == vm_texts(vm) && c->req == r));
            }
            rv_outcome o = vm_outcome_init((i + size) % 3 != 0);
            o.confidence = (int64_t)((i * 370001u + size) % 1000001u);
            o.failure = (rv_failure)((i + size) % RV_FAIL__COUNT);
            o.detail = "fuzz";
            o.text.s = (const char *)data;
            o.text.len = (uint32_t)(size < 64 ? size : 64);
            o.hook_model.s = "mid";
            o.hook_model.len = 3;
            st = vm_resume(vm, &o);
        }
    }
    req_free(r);
    return 0;
}
