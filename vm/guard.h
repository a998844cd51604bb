/* Guardrails at run time: deny, redact and limit actions applied to a
   request's messages (input) or to an answer (output). */
#ifndef RV_GUARD_H
#define RV_GUARD_H

#include "vm.h"

/* Apply the agent's guardrails to the request's input, in 'guard' order
   and each guardrail's actions in order.  Returns 0 to go on, or 1 when a
   guardrail refused (vm->denied_by and vm->deny_reason set). */
int gd_input(rv_vm *vm, uint32_t agent);
/* Apply the output actions to 'text'; may rewrite it (scratch) or refuse
   (returns 1). */
int gd_output(rv_vm *vm, uint32_t agent, rv_sv *text);
/* The tightest output limit of the agent's guardrails, 0 if none. */
int64_t gd_output_limit(const rv_program *p, uint32_t agent);
/* Does regex 're' match anywhere in 's'? (-1 on a match error) */
int gd_match(rv_vm *vm, uint32_t re, const char *s, size_t n);

#endif
