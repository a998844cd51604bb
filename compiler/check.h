/* Pieces of the checker shared between its files. */
#ifndef RV_CHECK_H
#define RV_CHECK_H

#include "compiler.h"

/* Build the OpenAI chat-completions JSON of a test's 'request AGENT { … }'
   item; returns an E_STR node holding it, or NULL after reporting. */
ast *chk_request(rv_compiler *c, ast *item);

#endif
