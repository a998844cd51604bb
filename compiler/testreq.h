/* Test requests: a test's 'request AGENT { ... }' as the JSON a client
   would send.  See testreq.c. */
#ifndef RV_TESTREQ_H
#define RV_TESTREQ_H

#include "compiler.h"

/* Build the OpenAI chat-completions JSON of a test's 'request AGENT { … }'
   item; returns an E_STR node (in the compilation's arena) holding it, or
   NULL after reporting. */
ast *testreq_build(rv_compiler *c, ast *item);

#endif
