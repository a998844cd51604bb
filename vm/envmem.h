/* An in-memory rv_env (vm.h): a spend ledger, per-model state and a
   clock, all held in this process.  'routec test', 'routevm explain' and
   'simulate' decide with it, so their decisions are made by the same code,
   from the same kind of inputs, as the gateway's; the gateway keeps its
   ledger in SQLite instead.

   One memenv serves one thread at a time (no locking). */
#ifndef RV_ENVMEM_H
#define RV_ENVMEM_H

#include "vm.h"

typedef struct rv_memenv rv_memenv;

/* A new environment for programs with up to 'nmodel' models; NULL when out
   of memory.  The clock starts as the real clock. */
rv_memenv *memenv_new(uint32_t nmodel);
void memenv_free(rv_memenv *e);

/* The rv_env to pass to vm_new; it points into 'e' and lives as long. */
const rv_env *memenv_env(rv_memenv *e);

/* Fix the clock at 'now_us' (microseconds since the epoch); a negative
   value returns to the real clock. */
void memenv_set_time(rv_memenv *e, int64_t now_us);
/* Set what is known about model 'm' (latency -1: not measured). */
void memenv_set_model(rv_memenv *e, uint32_t m, int64_t latency_us, rv_circuit circuit, int saturated);
/* Seed the random bits (backoff jitter). */
void memenv_seed(rv_memenv *e, uint64_t seed);
/* Spend already settled for an agent on a day (picodollars), e.g. to test
   a budget that is nearly used up. */
int memenv_add_spend(rv_memenv *e, const char *agent, int64_t day, int64_t amount);

#endif
