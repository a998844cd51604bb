/* The disassembler: readable listings of a program's tables and code, with
   the source line of each instruction.  'routec dis' prints a whole program;
   the interpreter's trace prints one instruction at a time. */
#ifndef RV_DISASM_H
#define RV_DISASM_H

#include <stdio.h>

#include "program.h"

/* Print the instruction at 'pc' and return the pc of the next one. */
size_t dis_instr(const rv_program *p, size_t pc, FILE *out);
void dis_program(const rv_program *p, FILE *out);

#endif
