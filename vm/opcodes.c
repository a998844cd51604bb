/* The opcode table, expanded from vm/opcodes.def.  The verifier, the
   disassembler and the interpreter read operand kinds and stack effects from
   here; nothing else lists opcodes.

   An opcode's number is its row in opcodes.def, and the number is what a
   .rbc file stores: moving or inserting a row would silently give old
   files new meanings.  The assertions below pin every number, so such an
   edit does not compile.  A new opcode is appended to opcodes.def, pinned
   here, and the format's minor version is bumped (rbc.h). */
#include "arith.h"
#include "opcodes.h"

const rv_opinfo rv_ops[OP__COUNT] = {
#define OP(name, kind, pop, push, in, out, doc) { #name, kind, pop, push, in, out, doc },
#include "opcodes.def"
#undef OP
};

#define PIN(name, n) _Static_assert(OP_##name == (n), "opcodes.def: " #name " is opcode " #n " in the .rbc format");
PIN(PUSHK, 0)
PIN(PUSHB, 1)
PIN(LDREQ, 2)
PIN(LDMETA, 3)
PIN(LDCAND, 4)
PIN(CANDCAP, 5)
PIN(LDRESP, 6)
PIN(LDDEC, 7)
PIN(POP, 8)
PIN(NOT, 9)
PIN(NEG, 10)
PIN(ADD, 11)
PIN(SUB, 12)
PIN(MUL, 13)
PIN(DIV, 14)
PIN(EQ, 15)
PIN(NE, 16)
PIN(LT, 17)
PIN(LE, 18)
PIN(GT, 19)
PIN(GE, 20)
PIN(INK, 21)
PIN(INL, 22)
PIN(MATCH, 23)
PIN(CALLB, 24)
PIN(JMP, 25)
PIN(JMPF, 26)
PIN(JMPFK, 27)
PIN(JMPTK, 28)
PIN(RULE, 29)
PIN(DECIDE, 30)
PIN(DELEGATE, 31)
PIN(CHOOSE, 32)
PIN(CASCADE, 33)
PIN(SPLIT, 34)
PIN(HOOK, 35)
PIN(FAIL, 36)
PIN(RET, 37)
PIN(EQK, 38)
PIN(NEK, 39)
PIN(JMT, 40)
PIN(JKT, 41)
PIN(DISPATCH, 42)
PIN(CHAIN, 43)
#undef PIN
_Static_assert(OP__COUNT == 44, "opcodes.def: a new opcode is pinned above (and the .rbc format bumped)");

/* The interpreter computes the arithmetic operation as 'op - OP_ADD'. */
_Static_assert(OP_SUB - OP_ADD == ARITH_SUB && OP_MUL - OP_ADD == ARITH_MUL && OP_DIV - OP_ADD == ARITH_DIV &&
               ARITH_ADD == 0, "opcodes.def: ADD, SUB, MUL, DIV follow arith_op");
