/* Explanations: what a policy decides for a request, as JSON, without
   calling anything.  Used by 'routevm explain'. */
#ifndef RV_EXPLAIN_H
#define RV_EXPLAIN_H

#include <jansson.h>

#include "vm.h"

typedef struct ex_cache ex_cache;   /* condition texts, per program */
ex_cache *ex_cache_new(const rv_program *p);
void ex_cache_free(ex_cache *c);

/* Decide 'req' for 'agent' and describe the decision, with the routing
   conditions evaluated on the way (the VM's observer is set for the call
   and cleared after).  Returns a new JSON object. */
json_t *ex_explain(rv_vm *vm, ex_cache *cache, uint32_t agent, const rv_request *req);
/* {"error": {"message": ..., "line": L, "column": C}} */
json_t *ex_error(const char *msg, int line, int column);
/* "file:line:col" of a location */
void ex_loc(const rv_program *p, uint32_t loc, char *buf, size_t n);

#endif
