/* Per-model rate limits at run time: the 'rpm' (requests per minute)
   and 'tpm' (tokens per minute) a policy states for a model
   (docs/language.md), counted over a sliding minute across every request
   that shares the limiter, and turned into the 'saturated' flag of the
   model's state that the VM reads through its environment (vm.h,
   rv_modelstate): a saturated model is skipped like one whose circuit is
   open (class 'unavailable').

   Counting.  A minute is sixty one-second slots per limited model; the
   window at time t is the slots of the sixty seconds up to t.  A call is
   counted when it is sent (rl_take): one request, and the tokens the VM
   estimates for its input, so that calls in flight already count against
   'tpm'.  When it ends (rl_settle) the estimate is replaced by the tokens
   the provider reports (input, cache reads and writes, output); a call
   whose answer reports no usage keeps its estimate.  A model is saturated
   when the window holds 'rpm' requests or 'tpm' tokens.  rl_take checks
   and counts under one lock, so concurrent callers never send more than
   'rpm' requests in a minute; 'tpm' may be passed by the answers of calls
   that were in flight together (their output is known only at the end).

   Sharing.  One limiter per loaded program and process: the gateway's
   workers share it (every function locks), 'routevm run' has its own.
   Time is a monotonic clock in microseconds passed in by the caller, so
   tests inject it.  The health module (health.h) asks rl_saturated when
   it writes the model states into an environment.

   Ownership: rl_new copies the limits out of the program (which may be
   freed afterwards); rl_free accepts NULL. */
#ifndef RV_RATELIMIT_H
#define RV_RATELIMIT_H

#include <stdint.h>

#include "vm.h"

#define RL_SLOTS 60             /* one-second slots in the sliding minute */

typedef struct rl_limiter rl_limiter;

/* What rl_take counted, for rl_settle. */
typedef struct {
    int64_t sec;                /* the slot's second; -1 when nothing was counted */
    int64_t tokens;             /* tokens counted (the estimate) */
} rl_ticket;

/* A limiter for the models of 'p'; NULL when out of memory. */
rl_limiter *rl_new(const rv_program *p);
void rl_free(rl_limiter *l);

/* Does the model state a limit at all? */
int rl_limited(const rl_limiter *l, uint32_t model);

/* Is the model's minute used up at 'now_us'? */
int rl_saturated(rl_limiter *l, uint32_t model, int64_t now_us);

/* Count a call about to be sent to 'model' with an input estimate of
   'est_tokens' (negative: unknown, counted as 0).  Returns 0 when counted
   (the ticket says what), 1 when the model is saturated: nothing is
   counted and the call must not be sent. */
int rl_take(rl_limiter *l, uint32_t model, int64_t est_tokens, int64_t now_us, rl_ticket *t);

/* The call of ticket 't' ended having used 'tokens' (negative: not
   reported; the estimate stands).  A ticket whose second has left the
   window is settled by nothing. */
void rl_settle(rl_limiter *l, uint32_t model, const rl_ticket *t, int64_t tokens);

/* The tokens a call's usage counts against 'tpm': input, cache reads
   and writes, and output; -1 when the usage reports neither input nor
   output. */
int64_t rl_tokens(const rv_usage *u);

/* Requests and tokens counted for 'model' in the window at 'now_us'
   (tests, metrics). */
void rl_usage(rl_limiter *l, uint32_t model, int64_t now_us, int64_t *requests, int64_t *tokens);

#endif
