/* Exact integer arithmetic on values with units, shared by the compiler's
   constant folder and the VM so a folded constant and a computed value can
   never disagree.  Units and scales are those of vm/program.h: NUM and
   PERCENT are millionths, INT and TOKENS are plain counts.

   Result units:
     T + T, T - T          T  (INT mixes with TOKENS -> TOKENS, with NUM -> NUM)
     INT * T, T * INT      T
     NUM|PERCENT * T       T  (scaled: x * y / 1e6)
     RATE * TOKENS         MONEY
     T / INT               T  (truncating)     T / NUM|PERCENT   T
     T / T (same unit)     NUM
     MONEY / TOKENS        RATE
   Anything else does not combine (arith_type returns RV_T_NIL). */
#ifndef RV_ARITH_H
#define RV_ARITH_H

#include <stdint.h>

#include "program.h"

typedef enum { ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_DIV } arith_op;

/* (These two run for every comparison the interpreter makes: inline.) */
static inline int arith_numeric(rv_type t)
{
    return (1u << t) & ((1u << RV_T_INT) | (1u << RV_T_NUM) | (1u << RV_T_MONEY) | (1u << RV_T_RATE) |
                        (1u << RV_T_DURATION) | (1u << RV_T_TOKENS) | (1u << RV_T_PERCENT));
}
rv_type arith_type(arith_op op, rv_type a, rv_type b);
/* 0 ok, -1 overflow, -2 division by zero.  Types must satisfy arith_type. */
int arith_eval(arith_op op, rv_type a, int64_t x, rv_type b, int64_t y, int64_t *out);
/* Can values of these types be compared (==, <, ...)? */
static inline int arith_comparable(rv_type a, rv_type b)
{
    const uint32_t scaled = (1u << RV_T_NUM) | (1u << RV_T_PERCENT);
    if (a == b)
        return a != RV_T_REGEX && a != RV_T_LIST;
    if ((a == RV_T_INT && b == RV_T_TOKENS) || (a == RV_T_TOKENS && b == RV_T_INT))
        return 1;
    return (a == RV_T_INT && (scaled >> b & 1)) || ((scaled >> a & 1) && b == RV_T_INT) ||
           ((scaled >> a & 1) && (scaled >> b & 1));
}
/* Three-way comparison of comparable numeric values. */
int arith_cmp(rv_type a, int64_t x, rv_type b, int64_t y);

#endif
