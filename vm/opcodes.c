/* The opcode table, expanded from vm/opcodes.def.  The verifier, the
   disassembler and the interpreter read operand kinds and stack effects from
   here; nothing else lists opcodes. */
#include "opcodes.h"

const rv_opinfo rv_ops[OP__COUNT] = {
#define OP(name, kind, pop, push, doc) { #name, kind, pop, push, doc },
#include "opcodes.def"
#undef OP
};
