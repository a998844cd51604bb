/* A worker's run-time state for one policy: what the VM's environment
   reads besides money -- the clock, each model's latency average and
   circuit (vm/providers/health.h, kept in an in-memory environment,
   vm/envmem.h), random bits -- and the language detector when the
   program calls lang().  Model indexes belong to a program, so this
   state is per policy: when SIGHUP installs a new policy, a worker's next
   request makes a new one, and requests still running on the old policy
   keep the old state (and with it the old program) until the last of
   them ends (a reference count; one worker's thread only, no atomics).

   Money goes elsewhere: wp_env() builds a request's rv_env whose
   reserve/settle/spent go to the process's spend ledger
   (vm/serve/ledger.h), noting the request id and the model of the call
   being settled in each row.

   Ownership: wp_get returns a reference the caller drops with wp_unref. */
#ifndef RV_SERVE_WPOL_H
#define RV_SERVE_WPOL_H

#include <stdint.h>

#include "envmem.h"
#include "health.h"
#include "ledger.h"
#include "policy.h"
#include "vm.h"

typedef struct wp_state {
    uint32_t refs;
    sp_policy *sp;
    rv_memenv *env;
    hl_health *health;
    bi_langdet *lang;           /* NULL unless the program calls lang() */
    uint8_t *circuit;           /* per model: the circuit state last reported to metrics */
    struct se_cache *series;    /* the chat path's metric series (vm/serve/series.h), made by
                                   the first request; NULL before */
    char *lines;                /* the answer's header lines that name the policy's agents, models
                                   and rules (vm/serve/chat.c), each NUL-terminated, made by the
                                   first answer; NULL before */
    uint32_t *line_at;          /* where each starts in 'lines': agents, then models, then rules */
    struct wp_vm *pool;         /* idle VMs (wp_vm_get) and how many */
    uint32_t npool;
} wp_state;

/* The state for policy 'sp' given the worker's current one '*cur' (which
   is replaced, and dropped, when it belongs to another policy).  Returns
   a new reference, or NULL when out of memory.  'sp' is borrowed (the
   state takes its own reference). */
wp_state *wp_get(wp_state **cur, sp_policy *sp);
void wp_unref(wp_state *s);     /* accepts NULL */

/* A request's environment: the clock, model state and randomness of 's',
   the money of 'ledger'.  The note fields are read when a call is
   settled: set them before resuming the VM. */
typedef struct {
    rv_env env;
    const rv_env *state;        /* s->env's environment */
    ld_ledger *ledger;
    const char *request_id;     /* borrowed */
    const char *model;          /* the model whose call is being settled; borrowed */
    int ledger_failed;          /* a reservation failed for the ledger's own error (out of memory,
                                   a broken ledger), not a budget: the VM refused the call */
} wp_env;

void wp_env_init(wp_env *e, wp_state *s, ld_ledger *ledger, const char *request_id);

/* A VM for one request on the state's policy, with the environment it
   reads (wp_env_init done with 'ledger' and 'request_id', which is
   borrowed until wp_vm_put).  VMs are kept per state and reused: making
   one costs more than most decisions.  NULL when out of memory. */
typedef struct wp_vm {
    wp_env env;
    rv_vm *vm;
    struct wp_vm *next;
} wp_vm;
wp_vm *wp_vm_get(wp_state *s, ld_ledger *ledger, const char *request_id);
/* The request is over: its decision is released (vm_release) and the VM
   kept for the next request, or freed when the pool is full.  Accepts
   NULL. */
void wp_vm_put(wp_state *s, wp_vm *v);

#endif
