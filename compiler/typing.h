/* Expression typing: types with units, names resolved to request fields,
   metadata keys, candidate fields or declarations.  See typing.c. */
#ifndef RV_TYPING_H
#define RV_TYPING_H

#include "compiler.h"

/* Where an expression sits decides what its bare names mean (typing.c). */
typedef enum { TYP_CONST, TYP_ROUTE, TYP_WHERE, TYP_CHECK, TYP_EXPECT } typ_scope;

/* Typing recurses into the definitions of the constants an expression
   names (each nested at most AST_MAX_DEPTH); the whole recursion is held
   to this many levels, so a long chain of constants defined in terms of
   each other is an error (too-deep), not a stack overflow. */
#define TYP_MAX_DEPTH (2 * AST_MAX_DEPTH)

/* Type 'e' in scope 'sc': fills e->type (and e->elem, e->sym, e->field,
   e->ext) on every node; returns the type, or RV_T__COUNT after
   reporting an error. */
rv_type typ_expr(rv_compiler *c, ast *e, typ_scope sc);

/* typ_expr(), then require type 'want' ('what' names the value in the
   message); INT is accepted for TOKENS and NUM.  0 when it has it. */
int typ_expect(rv_compiler *c, ast *e, typ_scope sc, rv_type want, const char *what);

/* The folded value of constant 's' (its declaration typed and folded on
   first use; a cycle is reported at 'use'); NULL when it has none. */
ast *typ_const(rv_compiler *c, sym *s, src_span use, int report);

/* "an int", "a string", "money": a type named as one value, for
   messages.  The text stays valid until the fourth call after. */
const char *typ_phrase(rv_type t);

#endif
