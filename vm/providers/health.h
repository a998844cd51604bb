/* Model health at run time: what the runtime observes of each model's
   calls, turned into the state the VM's decisions read through the
   environment (rv_modelstate: latency for 'fastest', circuit state).

   Latency: an exponentially weighted moving average of the latency of
   successful calls (weight HL_EWMA_NEW/HL_EWMA_DEN for the newest).

   Circuit breaker, per model: HL_TRIP consecutive failures of the classes
   that say the model or its provider is unwell (timeout, reset, refused,
   overloaded, malformed, rate_limited, server_error) open the circuit for
   HL_OPEN_US: the VM then skips the model like an unavailable one.  After
   that the circuit is half-open: the next call goes through; its success
   closes the circuit, its failure opens it again.  Failures that are the
   request's fault (client_error, context_length, content_filter, auth)
   do not count.

   Rate limits: with a limiter (hl_limit; ratelimit.h), a model whose
   'rpm' or 'tpm' is used up for the current minute is written as
   saturated, which the VM skips like an open circuit.  The limiter may be
   shared by the health of several threads; the driver counts each call
   with rl_take before sending it and rl_settle after it.

   The state lives in the environment (vm/envmem.h): hl_refresh() writes
   it there -- a model's when it changed since the last write, the health
   being the one writer of its environment's model state; the driver
   calls it before it starts a decision and after every call (hl_observe
   does).  One hl_health per environment and thread. */
#ifndef RV_HEALTH_H
#define RV_HEALTH_H

#include "envmem.h"
#include "ratelimit.h"
#include "vm.h"

#define HL_EWMA_NEW 1
#define HL_EWMA_DEN 5
#define HL_TRIP 5
#define HL_OPEN_US (30ll * 1000000)

typedef struct hl_health hl_health;

/* For the models of 'p', writing into 'env' (both borrowed). */
hl_health *hl_new(const rv_program *p, rv_memenv *env);
void hl_free(hl_health *h);

/* Read saturation from 'rl' (borrowed; NULL: no rate limits) from now
   on.  Several healths (the gateway's workers) may share one limiter. */
void hl_limit(hl_health *h, rl_limiter *rl);

/* Through the limiter, if any: does 'model' state a limit; count a call
   about to be sent (rl_take: 1 when the model is saturated and the call
   must not be sent); settle it with the usage its answer reported. */
int hl_limited(const hl_health *h, uint32_t model);
int hl_take(hl_health *h, uint32_t model, int64_t est_tokens, int64_t now_us, rl_ticket *t);
void hl_settle(hl_health *h, uint32_t model, const rl_ticket *t, const rv_usage *u);

/* Record the outcome of a call to 'model' at monotonic time 'now_us' and
   refresh the environment. */
void hl_observe(hl_health *h, uint32_t model, const rv_outcome *o, int64_t now_us);

/* Write every model's state into the environment as of 'now_us' (an open
   circuit whose time is up becomes half-open). */
void hl_refresh(hl_health *h, int64_t now_us);

/* A model's state as of the last refresh (tests). */
rv_modelstate hl_state(const hl_health *h, uint32_t model);

#endif
