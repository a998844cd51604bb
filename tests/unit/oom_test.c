/* Allocation failure, SQLite-style: compile, generate, write, load and
   decide with the N-th allocation failing, for every N until a run needs
   no more.  Each run must fail cleanly (an error, no crash, no leak under
   ASan) or succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "mem.h"
#include "rbc.h"
#include "vm.h"

/* One whole pipeline; returns 1 when every step succeeded. */
static int pipeline(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/support.route", root);
    rv_compiler *c = comp_new(NULL);
    if (!c)
        return 0;
    int ok = import_file(c, path) == 0 && comp_check(c) == 0;
    rv_program *p = ok ? cg_program(c) : NULL;
    comp_free(c);
    if (!p)
        return 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err;
    ok = rbc_write(p, NULL, &buf, &len, &err) == 0;
    rv_program_free(p);
    rv_program *q = ok ? rbc_load(buf, len, NULL, &err) : NULL;
    free(buf);
    if (!q)
        return 0;
    rv_image img;
    char e[128];
    ok = vm_image_init(&img, q, e, sizeof e) == 0;
    rv_vm *vm = ok ? vm_new(&img, NULL, NULL) : NULL;
    static const char req[] = "{\"model\":\"support\",\"messages\":[{\"role\":\"user\",\"content\":"
                              "\"write to jane@example.com, it is a complaint\"}],\"metadata\":{\"intent\":\"complaint\"}}";
    rv_reqerr rerr;
    rv_request *r = vm ? req_parse(req, sizeof req - 1, NULL, &rerr) : NULL;
    if (r) {
        rv_status st = vm_start(vm, 0, r, NULL);
        ok = st == RV_CALL;
        req_free(r);
    } else {
        ok = 0;
    }
    vm_free(vm);
    if (img.re)
        vm_image_free(&img);
    rv_program_free(q);
    return ok;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    unsigned long n, reached = 1;
    if (!freopen("/dev/null", "w", stderr))   /* the "out of memory" messages are expected */
        return 1;
    /* run n fails the (n+1)-th allocation; stop when a run makes no more
       than n allocations (the failure was never reached) */
    for (n = 0; n < 100000 && reached; n++) {
        unsigned long before = mem_count();
        mem_fail_after((long)n);
        pipeline(root);
        reached = mem_count() - before > n;
    }
    mem_fail_after(-1);
    int ok = pipeline(root);
    if (ok && !reached)
        printf("PASS oom: each of %lu allocations failed in turn and was survived\n", n - 1);
    else
        printf("FAIL oom: %s\n", ok ? "too many allocations" : "the pipeline fails without injected failures");
    return ok && !reached ? 0 : 1;
}
