/* Constant folding: a type-checked expression becomes a literal when it
   does not depend on the request.  See fold.c. */
#ifndef RV_FOLD_H
#define RV_FOLD_H

#include "compiler.h"

/* Fold a type-checked expression into a literal (E_INT..., E_STR,
   E_REGEX, E_BOOL, E_LIST of literals, or a model/agent/guardrail name);
   NULL when it depends on the request, or after an error (reported when
   'report').  The literal lives in the compilation's arena and may be the
   node itself; callers must not change it.  A constant's name folds to
   the value typ_const() gave it. */
ast *fold_expr(rv_compiler *c, ast *e, int report);

/* A new literal node of 'kind' holding 'v', in the arena; NULL (and
   c->oom set) when memory runs out. */
ast *fold_lit(rv_compiler *c, ast_kind kind, src_span at, int64_t v);

#endif
