/* libFuzzer target: arbitrary bytes as a chat-completions request through
   the request parser and a full decision -- guardrails, routing, explain
   output -- for every agent of a policy that uses every strategy
   (tests/compile/clean.route, compiled once).  Model and hook calls are
   answered with alternating successes and failures, so retries, fallbacks
   and cascade steps run too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "envmem.h"
#include "explain.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog)
        init();
    rv_reqerr rerr;
    rv_request *r = req_parse((const char *)data, size, NULL, &rerr);
    if (!r)
        return 0;
    for (uint32_t a = 0; a < prog->nagent; a++) {
        json_t *j = ex_explain(vm, cache, a, r);
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
        /* a second decision answering every call */
        rv_status st = vm_start(vm, a, r, NULL);
        for (int i = 0; i < 64 && (st == RV_CALL || st == RV_HOOK); i++) {
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
