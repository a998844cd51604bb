/* The bytecode verifier: proves a loaded program safe before anything runs.
   The rules are listed in the top comment of verify.c. */
#ifndef RV_VERIFY_H
#define RV_VERIFY_H

#include "program.h"
#include "rbc.h"

/* Returns 0 and sets p->max_stack when every rule holds; otherwise -1 with
   a message naming the rule, the table and the index (or pc). */
int ver_program(rv_program *p, rv_err *err);

#endif
