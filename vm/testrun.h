/* The runner of a policy's test blocks ('routec test'): each test's
   request is decided by the VM, with the test's 'given' lines answering
   model and hook calls, and its expectations are evaluated on the
   decision.  No network access. */
#ifndef RV_TESTRUN_H
#define RV_TESTRUN_H

#include <stdio.h>

#include "program.h"

typedef struct {
    unsigned passed, failed;
    /* coverage, summed over the tests run */
    unsigned rules, rules_hit, branches, branches_hit;
} tr_stats;

/* Run every test of 'p'; prints "PASS name" / "FAIL name: ..." lines (and
   with 'coverage' a coverage report) to 'out'.  Returns 0 when all passed. */
int tr_run(const rv_program *p, int coverage, FILE *out, tr_stats *st);

#endif
