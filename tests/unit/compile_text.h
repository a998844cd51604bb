/* Compiling a policy held in a string, for the unit tests that decide with
   real programs (vm_test, budget_test, ownership_test, trace_test,
   dispatch_test, stream_diff_test).  Header-only (static) because every
   tests/unit/NAME.c becomes its own test binary.

   test_compile() checks and generates TEXT as the file NAME, then runs the
   verifier over the result: what it returns is a program the VM may run,
   owned by the caller (rv_program_free()).  On a compile error the
   diagnostics are printed, on a verifier error a FAIL line; both return
   NULL. */
#ifndef RV_TEST_COMPILE_TEXT_H
#define RV_TEST_COMPILE_TEXT_H

#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "verify.h"

static rv_program *test_compile(const char *name, const char *text, int no_dispatch)
{
    rv_compiler *c = comp_new(NULL);
    rv_program *p = NULL;
    rv_err err;
    if (!c)
        return NULL;
    c->no_dispatch = no_dispatch;
    if (import_text(c, name, text, strlen(text)) == 0 && comp_check(c) == 0)
        p = cg_program(c);
    else {
        diag_sort(&c->diag);
        diag_print(&c->diag, DIAG_TEXT, stdout);
    }
    comp_free(c);
    if (p && ver_program(p, &err)) {
        printf("FAIL verify %s: %s\n", name, err.msg);
        rv_program_free(p);
        p = NULL;
    }
    return p;
}

#endif
