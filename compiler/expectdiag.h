/* 'routec check --verify': compare a compilation's diagnostics with the
   expectations written in the policy's own comments. */
#ifndef RV_EXPECTDIAG_H
#define RV_EXPECTDIAG_H

#include <stdio.h>

#include "compiler.h"

/* Prints "PASS NAME" or "FAIL NAME: why" (plus details) to 'out'.
   Returns 0 when every diagnostic was expected and every expectation met. */
int xdiag_verify(rv_compiler *c, const char *name, FILE *out);

#endif
