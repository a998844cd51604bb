#include "compiler.h"
void lint_program(rv_compiler *c) { (void)c; }
