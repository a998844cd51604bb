/* The chat path's metric series, resolved once and kept.

   Formatting "routevm_tokens_total{agent=\"support\",model=\"gpt_4o\",
   class=\"input\"}" and hashing it on every request cost more than the
   rest of the accounting; the series a request counts into are fixed by
   a few small integers -- agent, model and rule indexes of the program,
   an outcome, a token class, a failure class, a status -- so each is
   built once (mt_counter_of, vm/serve/metrics.h) and its counter kept
   under those integers.  A cache belongs to one worker (not locked) and
   one program (its indexes and names: wp_state, vm/serve/wpol.h, holds
   it); the counters belong to the worker's metrics set and outlive it.

   Every getter returns NULL only when out of memory (mt_inc and
   mt_hist_at accept NULL: the count is lost, the request is not).
   Indexes equal to RV_NONE are labelled "none". */
#ifndef RV_SERVE_SERIES_H
#define RV_SERVE_SERIES_H

#include <stdint.h>

#include "metrics.h"
#include "program.h"

typedef struct se_cache se_cache;

/* 'met' and 'p' are borrowed and must outlive the cache; 'worker' labels
   the per-worker gauges. */
se_cache *se_new(mt_set *met, const rv_program *p, int worker);
void se_free(se_cache *c);      /* accepts NULL */

typedef enum { SE_ANSWERED, SE_DENIED, SE_FAILED, SE_DISCONNECTED, SE__OUTCOMES } se_outcome;
extern const char *const se_outcome_names[SE__OUTCOMES];
/* Token classes, in rv_usage's order. */
typedef enum { SE_INPUT, SE_OUTPUT, SE_CACHE_READ, SE_CACHE_WRITE, SE_REASONING, SE__CLASSES } se_class;

/* routevm_requests_total{endpoint="chat",code=STATUS} */
mt_counter *se_status(se_cache *c, int status);
/* routevm_chat_requests_total{agent,model,rule,outcome} */
mt_counter *se_chat(se_cache *c, uint32_t agent, uint32_t model, uint32_t rule, se_outcome o);
/* routevm_tokens_total{agent,model,class} */
mt_counter *se_tokens(se_cache *c, uint32_t agent, uint32_t model, se_class k);
/* routevm_cost_picodollars_total{agent,model,rule} */
mt_counter *se_cost(se_cache *c, uint32_t agent, uint32_t model, uint32_t rule);
/* routevm_upstream_calls_total{model} */
mt_counter *se_calls(se_cache *c, uint32_t model);
/* routevm_upstream_errors_total{model,class}; 'f' a valid rv_failure */
mt_counter *se_upstream_error(se_cache *c, uint32_t model, rv_failure f);
/* routevm_circuit_state{model,worker} */
mt_counter *se_circuit(se_cache *c, uint32_t model);
/* Histogram 'h' labelled agent="NAME" (RV_NONE: without a label). */
mt_hslot *se_hist(se_cache *c, mt_histid h, uint32_t agent);

#endif
