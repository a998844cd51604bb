/* Equations written in text, checked: the arithmetic behind the builtins
   arithmetic(), equations() and last_result().

   A model that shows its working writes equations ("16 - 3 = 13 eggs",
   "8 x $5 = $40", "<<9*2=18>>18").  When one of them is wrong the answer
   built on it almost always is, so a cascade's check can read the
   working instead of trusting it.  This module finds the equations of a
   text and recomputes them; it knows nothing of policies (vm/interp.c
   calls it) and allocates nothing.

   What counts as an equation.  The text is read as a stream of numbers,
   operators and '=' signs; anything else (a word, a comma, a colon, a
   line break) ends the current chain.  Inside a chain:
   - a number is written as number() reads it ("1,234.5", "0.5", ".5"),
     optionally after a currency sign ('$', '€', '£') and optionally
     followed by '%' (then it is a hundredth: "60%" is 0.6);
   - operators are + - * / ^ (also ** for ^, and \* for *, as Markdown
     escapes it), the signs × and ÷, and a lone 'x' or 'X' between two
     operands ("8 x $5"); parentheses group; a '-' where an operand is
     expected is a sign;
   - spaces and tabs are ignored.
   A chain "A = B = C" gives the equations A = B and B = C.  A side that
   is not a well-formed expression (an operator at its end, a lone
   parenthesis, a division by zero, nesting deeper than EQN_MAX_DEPTH, an
   operator first in a chain that a word ended: "4 dozens + 2 = 50" began
   with the word) takes no part: the equations on either side of it are not checked.  A
   chain is checked only when one of its sides has an operator, so
   "50% of 100 = 50" (the "of" ends a chain; "100 = 50" has no operator)
   and "x = 5" are not equations.
   A calculator annotation "<<...>>" (the GSM8K convention, which many
   models learned) is a chain of its own, and the text around it reads
   as if it were absent.  An equation around it whose sides have the
   values of the annotation's last equation restates it and counts once:
   "3 * 4 = <<3*4=12>>12" is one equation, "3 * 5 = <<3*4=12>>12" two
   (3*4 = 12 holds, 3 * 5 = 12 does not).

   When an equation holds.  Both sides are computed in double precision.
   A side that is a single number may have been rounded by its writer,
   so it stands for anything within half a unit of its last written
   digit ("10 / 3 = 3.33" holds, so does "25 / 3 = 8"); two computed
   sides must agree to within a relative 1e-9.

   The last result is the value on the right of the last equation checked,
   in the order equations end in the text (an annotation ends before the
   sentence around it). */
#ifndef RV_EQUATIONS_H
#define RV_EQUATIONS_H

#include <stddef.h>
#include <stdint.h>

#define EQN_MAX_DEPTH 32        /* nested parentheses, signs and powers in one side */

typedef struct {
    uint32_t checked;           /* equations whose two sides could be computed (saturates) */
    uint32_t held;              /* of those, the ones whose arithmetic holds */
    int has_result;             /* 'result' is set: an equation was checked and its right side fits */
    int64_t result;             /* the last equation's right side, in millionths (a policy number) */
} eqn_stats;

/* Find and check every equation of s[0..n).  Reads only 's'; linear in n. */
void eqn_scan(const char *s, size_t n, eqn_stats *out);

#endif
