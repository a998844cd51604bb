/* The bytecode verifier: proves a loaded program safe before anything runs.
   The rules are listed in the top comment of verify.c. */
#ifndef RV_VERIFY_H
#define RV_VERIFY_H

#include <stdint.h>

#include "program.h"
#include "rbc.h"

/* The deepest operand stack a verified function may need; the interpreter
   can size its stack once from this (or from p->max_stack). */
#define VER_MAX_STACK 256
/* The most retries an agent may ask for. */
#define VER_MAX_RETRY 100

/* Returns 0 and sets p->max_stack when every rule holds; otherwise -1 with
   a message naming the rule, the table and the index (or pc). */
int ver_program(rv_program *p, rv_err *err);

/* The PCRE2 compile options for rv_regex flags 'flags'.  The verifier
   compiles every regex with these; the interpreter must use the same so
   that what was verified is what runs. */
uint32_t ver_pcre2_options(uint32_t flags);

#endif
