/* Constant overrides: a policy compiled with some of its 'const'
   declarations given other values, as 'routevm simulate --set NAME=VALUE'
   and '--sweep' ask.  A policy's named constants are its parameters: a
   cascade's threshold, a split's share, a token limit.  Overriding one
   recompiles the policy from its source with the new value, so every
   constant derived from it, every static check (a split must still add up
   to 100 %) and the verifier see exactly the program that would ship with
   that value.

   The value is a constant expression in the language ("0.7", "30%",
   "2k tokens", "$0.01"), parsed as the right-hand side of the declaration
   it replaces, and must have the declared value's type.  Diagnostics about
   it point into a pseudo-file named "--set NAME". */
#ifndef RV_OVERRIDE_H
#define RV_OVERRIDE_H

#include "compiler.h"

/* Give constant 'name' the value of 'text' in this compilation.  Call
   after import_file() and before comp_check().  Returns 0, or -1 with a
   diagnostic in c->diag (the text does not parse as one value). */
int ovr_set(rv_compiler *c, const char *name, const char *text);

/* For the checker (comp_check calls it after declaring names): report
   overrides that name no constant. */
void ovr_check(rv_compiler *c);

/* For the checker (typ_const): the expression that replaces constant
   's''s declared value, or NULL. */
ast *ovr_value(rv_compiler *c, const sym *s);

#endif
