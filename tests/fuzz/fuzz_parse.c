/* libFuzzer target: arbitrary bytes as a .route policy through the whole
   front end -- UTF-8 check, lexer, parser, resolver, checker, linter --
   and, when the policy is accepted, code generation, .rbc writing and
   loading.  Oracle beyond "no crash, no sanitizer report": a program the
   compiler accepts must be accepted by the loader and verifier, and must
   write back to the same bytes.  Imports are limited to the stdlib so the
   fuzzer cannot make the compiler read arbitrary files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "rbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    rv_compiler *c = comp_new(NULL);
    if (!c)
        return 0;
    c->std_only = 1;
    c->verbose = 1;
    if (import_text(c, "fuzz.route", (const char *)data, size) == 0 && comp_check(c) == 0) {
        rv_program *p = cg_program(c);
        if (p) {
            uint8_t *buf = NULL, *buf2 = NULL;
            size_t len = 0, len2 = 0;
            rv_err err;
            if (rbc_write(p, NULL, &buf, &len, &err) == 0) {
                rv_program *q = rbc_load(buf, len, NULL, &err);
                if (!q) {
                    fprintf(stderr, "compiled program rejected by the loader: %s\n", err.msg);
                    abort();
                }
                if (rbc_write(q, NULL, &buf2, &len2, &err) || len2 != len || memcmp(buf, buf2, len)) {
                    fprintf(stderr, "loaded program does not write back to the same bytes\n");
                    abort();
                }
                rv_program_free(q);
            }
            free(buf);
            free(buf2);
            rv_program_free(p);
        }
    }
    diag_sort(&c->diag);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        diag_print(&c->diag, DIAG_TEXT, null);
        diag_print(&c->diag, DIAG_SARIF, null);
        fclose(null);
    }
    comp_free(c);
    return 0;
}
