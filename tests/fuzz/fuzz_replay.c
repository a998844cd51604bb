/* libFuzzer target: arbitrary bytes as lines of a replay file (vm/replay.h)
   -- each line through the record parser into one set, as 'routevm
   simulate --replay' reads them -- then the set replayed through a policy
   with every strategy (tests/simulate/pair.route, compiled once), so
   whatever the parser accepts is decided too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "replay.h"
#include "simulate.h"

static rv_program *prog;

static void init(void)
{
    const char *root = getenv("ROUTEVM_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/simulate/pair.route", root ? root : ".");
    rv_compiler *c = comp_new(NULL);
    char err[256];
    if (!c || import_file(c, path) || comp_check(c) || !(prog = cg_program_loaded(c, err, sizeof err)))
        abort();
    comp_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog)
        init();
    rp_set *s = rp_new(64);
    if (!s)
        return 0;
    char err[320];
    uint32_t line = 0;
    for (size_t i = 0; i < size;) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
        rp_add_line(s, (const char *)data + i, n, ++line, err, sizeof err);
        i += n + 1;
    }
    sim_ctx *x = sim_new(prog, s, RV_NONE, RV_NONE, err, sizeof err);
    for (uint32_t a = 0; x && a < prog->nagent; a++) {
        sim_opts o = { a, 1 };
        sim_result r;
        if (sim_run(x, &o, &r) == 0) {
            char why[512];
            sim_beaten(&r, prog, why, sizeof why);
            sim_latency(&r, 99);
            sim_result_free(&r);
        }
    }
    sim_free(x);
    rp_free(s);
    return 0;
}
