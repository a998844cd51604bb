/* Instruction encoding and the tables derived from vm/opcodes.def.

   Every instruction is one 32-bit little-endian word:

       31                         8 7        0
       +---------------------------+----------+
       |          arg (24)         |  op (8)  |
       +---------------------------+----------+

   'arg' is unsigned (an index into a program table) except for jumps, where
   it is a signed offset relative to the next instruction.  The verifier
   rejects backward jumps, so every function runs in time linear in its
   length and the language has no loops.

   Notes:
   - CALLB's stack effect comes from the builtin table (vm/builtins.def).
   - SPLIT's arm targets live in the split table, not in the word; the
     verifier treats them like jump targets.
   - HOOK either ends the function (the hook answered) or falls through to
     the code of its default target.
   - DISPATCH's targets (the rule lists of its classes, and its end) live in
     the dispatch tables; CHAIN continues the list DISPATCH chose, always
     forward.  The verifier treats every listed pc and the end as targets
     of the DISPATCH, entered with an empty stack, as CHAIN leaves it. */
#ifndef RV_OPCODES_H
#define RV_OPCODES_H

#include <stdint.h>

#include "program.h"

typedef enum {
#define OP(name, kind, pop, push, in, out, doc) OP_##name,
#include "opcodes.def"
#undef OP
    OP__COUNT
} rv_opcode;

/* Operand kinds: what the 24-bit argument of an instruction refers to. */
typedef enum {
    A_NONE, A_CONST, A_BOOL, A_REQFIELD, A_STR, A_CANDFIELD, A_CAP,
    A_RESPFIELD, A_DECFIELD, A_REGEX, A_BUILTIN, A_JUMP, A_RULE, A_MODEL,
    A_AGENT, A_CHOICE, A_CASCADE, A_SPLIT, A_HOOK, A_MTEST, A_DISPATCH
} rv_argkind;

/* Sets of value types (bit t: rv_type t), for the operand types of
   opcodes.def and the verifier's abstract stack. */
typedef uint32_t rv_tset;
#define TS(t)       (1u << RV_T_##t)
#define TS_ANY      ((1u << RV_T__COUNT) - 1)
#define TS_NUMERIC  (TS(INT) | TS(NUM) | TS(MONEY) | TS(RATE) | TS(DURATION) | TS(TOKENS) | TS(PERCENT))
#define TS_TEXT     (TS(STR) | TS(LIST))
#define TS_STR      TS(STR)
#define TS_LIST     TS(LIST)
#define TS_BOOL     TS(BOOL)
/* Operand-type columns of opcodes.def: the types each read value may
   have besides nil; 'in[0]' is the deeper operand of two. */
#define T0          { 0, 0 }
#define T1(a)       { TS_##a, 0 }
#define T2(a, b)    { TS_##a, TS_##b }
#define T_BUILTIN   { 0, 0 }    /* from the builtin table */

/* What an instruction pushes (the result column of opcodes.def). */
typedef enum {
    R_NONE, R_BOOL, R_CONST, R_FIELD, R_META, R_SAME, R_ARITH, R_BUILTIN
} rv_pushkind;

typedef struct {
    const char *name;
    rv_argkind  kind;
    int8_t      pop, push;
    rv_tset     in[2];
    rv_pushkind out;
    const char *doc;
} rv_opinfo;

extern const rv_opinfo rv_ops[OP__COUNT];

#define RV_ARG_BITS  24
#define RV_ARG_MAX   ((1u << RV_ARG_BITS) - 1)
#define RV_JUMP_MIN  (-(1 << (RV_ARG_BITS - 1)))
#define RV_JUMP_MAX  ((1 << (RV_ARG_BITS - 1)) - 1)

#define INS_OP(w)    ((rv_opcode)((w) & 0xffu))
#define INS_ARG(w)   ((uint32_t)(w) >> 8)
#define INS_SARG(w)  ((int32_t)(w) >> 8)   /* arithmetic shift: signed operand */
#define INS(op, a)   ((uint32_t)(op) | ((uint32_t)(a) << 8))

/* Does this opcode end its function (no successor at all)? */
#define OP_IS_TERMINAL(op) \
    ((op) == OP_DECIDE || (op) == OP_DELEGATE || (op) == OP_CHOOSE || \
     (op) == OP_CASCADE || (op) == OP_FAIL || (op) == OP_RET)

/* Does control never reach the next instruction from this one?  (JMP and
   SPLIT go elsewhere; terminals go nowhere.) */
#define OP_NO_FALLTHROUGH(op) \
    (OP_IS_TERMINAL(op) || (op) == OP_JMP || (op) == OP_SPLIT || (op) == OP_DISPATCH || (op) == OP_CHAIN)

#endif
