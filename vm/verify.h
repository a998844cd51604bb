/* The bytecode verifier: proves a loaded program safe before anything runs.
   The rules are listed in the top comment of verify.c. */
#ifndef RV_VERIFY_H
#define RV_VERIFY_H

#include <stdint.h>

#include "opcodes.h"
#include "program.h"
#include "rbc.h"

/* The deepest operand stack a verified function may need; the interpreter
   can size its stack once from this (or from p->max_stack). */
#define VER_MAX_STACK 256
/* The most retries an agent may ask for. */
#define VER_MAX_RETRY 100
/* The stacks the type pass keeps where jumps merge: at most this many
   values per instruction on average (plus 65,536), so the verifier's
   memory stays linear in the code, as BPF bounds its own work. */
#define VER_MAX_MERGE 16

/* Returns 0 and sets p->max_stack when every rule holds; otherwise -1 with
   a message naming the rule, the table and the index (or pc). */
int ver_program(rv_program *p, rv_err *err);

/* The type rules of opcodes.def as the verifier applies them, for the
   instruction at 'pc' of a program whose tables verified: the types
   operand 'i' (0 = the deepest value read) may have, nil included; and
   the types it pushes when its operands have the types in 'arg' (0 when
   it pushes nothing).  Tests hold the interpreter to these. */
rv_tset ver_operand(const rv_program *p, uint32_t pc, int i);
rv_tset ver_result(const rv_program *p, uint32_t pc, const rv_tset *arg);

/* The PCRE2 compile options for rv_regex flags 'flags'.  The verifier
   compiles every regex with these; the interpreter must use the same so
   that what was verified is what runs. */
uint32_t ver_pcre2_options(uint32_t flags);

#endif
