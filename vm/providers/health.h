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

   The state lives in the environment (vm/envmem.h): hl_refresh() writes
   it there; the driver calls it before it starts a decision and after
   every call (hl_observe does).  One hl_health per environment and
   thread. */
#ifndef RV_HEALTH_H
#define RV_HEALTH_H

#include "envmem.h"
#include "vm.h"

#define HL_EWMA_NEW 1
#define HL_EWMA_DEN 5
#define HL_TRIP 5
#define HL_OPEN_US (30ll * 1000000)

typedef struct hl_health hl_health;

/* For the models of 'p', writing into 'env' (both borrowed). */
hl_health *hl_new(const rv_program *p, rv_memenv *env);
void hl_free(hl_health *h);

/* Record the outcome of a call to 'model' at monotonic time 'now_us' and
   refresh the environment. */
void hl_observe(hl_health *h, uint32_t model, const rv_outcome *o, int64_t now_us);

/* Write every model's state into the environment as of 'now_us' (an open
   circuit whose time is up becomes half-open). */
void hl_refresh(hl_health *h, int64_t now_us);

/* A model's state as of now (tests). */
rv_modelstate hl_state(const hl_health *h, uint32_t model);

#endif
