/* libFuzzer target: arbitrary bytes through routec fmt (compiler/fmt.h).
   Oracle beyond "no crash, no sanitizer report": what formats is a fixed
   point (formatting it again changes nothing); the formatter's own check
   never fails (a failure is a layout that reads differently); and the
   source and its formatted text compile alike -- both accepted or both
   refused, and when accepted to the same .rbc once source positions are
   blanked (tests/fmt/nopos.py says why they differ).  Imports are limited
   to the stdlib, as in fuzz_parse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "fmt.h"
#include "rbc.h"

/* The program of 'text' without its source positions, as .rbc bytes
   (malloc'd into *out), or -1 when it does not compile. */
static int program(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
    rv_compiler *c = comp_new(NULL);
    int r = -1;
    if (!c)
        abort();
    c->std_only = 1;
    c->strip = 1;
    if (import_text(c, "fuzz.route", text, len) == 0 && comp_check(c) == 0) {
        rv_program *p = cg_program(c);
        rv_err err;
        if (p) {
            for (uint32_t i = 0; i < p->nloc; i++)
                p->locs[i].line = p->locs[i].col = p->locs[i].len = 0;
            r = rbc_write(p, NULL, out, outlen, &err);
            rv_program_free(p);
        }
    }
    comp_free(c);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    if (size > 1 << 20)
        return 0;
    if (!null && !(null = fopen("/dev/null", "w")))
        abort();
    char *out, *out2, err[512];
    size_t len, len2;
    int r = fmt_source("fuzz.route", (const char *)data, size, null, &out, &len, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "routec fmt failed: %s\n", err);
        abort();
    }
    if (r > 0)
        return 0;
    if (fmt_source("fuzz.route", out, len, null, &out2, &len2, err, sizeof err) ||
        len2 != len || memcmp(out, out2, len)) {
        fprintf(stderr, "formatting the formatted text changes it\n");
        abort();
    }
    free(out2);
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    int ra = program((const char *)data, size, &a, &alen), rb = program(out, len, &b, &blen);
    if (ra != rb || (ra == 0 && (alen != blen || memcmp(a, b, alen)))) {
        fprintf(stderr, "the formatted text compiles to another program\n");
        abort();
    }
    free(a);
    free(b);
    free(out);
    return 0;
}
