/* 'routevm serve': the gateway process.

   One process, N workers (threads), each with its own libevent loop, its
   own listening socket on the same port (SO_REUSEPORT: the kernel spreads
   connections), its own metrics set and, for chat completions, its own
   HTTP client engine and VMs.  What the workers share: the policy being
   served (vm/serve/policy.h, refcounted), the keys (refcounted the same
   way), the spend ledger (vm/serve/ledger.h, locked), the connection
   counter, the trace file.  Threads rather than processes because the
   budgets' reservations must be one count for every worker.

   The main thread only waits for signals: SIGHUP reloads the policy and
   the keys (a bad one is refused with a log line and the old one keeps
   serving), SIGTERM and SIGINT drain (stop accepting, finish requests in
   flight, at most the drain timeout) and exit 0. */
#ifndef RV_SERVE_SERVE_H
#define RV_SERVE_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"
#include "keys.h"
#include "ledger.h"
#include "metrics.h"
#include "policy.h"
#include "request.h"

typedef struct {
    const char *policy, *host, *keys, *trace, *state, *trust;
    int port, workers, allow_tests, log_requests;
    hs_limits lim;
    int64_t drain_us;           /* longest wait for requests in flight on SIGTERM */
    int64_t request_us;         /* a chat request's deadline (all calls, retries included) */
    const char *port_file;      /* write the bound port here (tests) */
} sv_opts;

typedef struct sv_keys {
    _Atomic uint32_t refs;
    ky_set *set;
} sv_keys;

struct sv_worker;
struct ce_loop;
struct wp_state;

typedef struct sv_app {
    sv_opts o;
    hs_shared *shared;
    ld_ledger *ledger;
    pthread_mutex_t keys_mu;
    sv_keys *keys;              /* NULL: no --keys, no authentication */
    struct sv_worker *workers;
    int nworkers, nstarted;     /* workers made, threads started */
    FILE *trace;
    pthread_mutex_t trace_mu;
    _Atomic uint64_t reloads_ok, reloads_failed;
    char idprefix[16];          /* request ids: prefix (random per process) and a counter */
} sv_app;

typedef struct sv_worker {
    sv_app *app;
    int id;
    struct event_base *base;
    hs_server *http;
    mt_set *met;
    pthread_t thread;
    struct event *drain_ev, *drain_check;
    uint64_t seq;
    char idhead[4 + 12 + 2 + 1];    /* what its request ids begin with: "req-" PREFIX WORKER, NUL-terminated */
    size_t idhead_len;
    struct ce_loop *ce;         /* the provider calls' HTTP engine on this loop */
    struct wp_state *wp;        /* run-time state for the current policy (vm/serve/wpol.h) */
    struct rv_reqpool *reqpool; /* the memory of the chat requests in flight (vm/request.h) */
} sv_worker;

/* The keys in force, with a reference (NULL when there are no keys);
   drop it with sv_keys_unref. */
sv_keys *sv_keys_get(sv_app *a);
void sv_keys_unref(sv_keys *k);

/* A new request id into 'buf' (at least 40 bytes): "req-" and hex
   digits, NUL-terminated.  Returns its length. */
size_t sv_request_id(sv_worker *w, char *buf, size_t size);

/* 'routevm serve ARGS...' (argv[0] is "serve"); returns the exit status. */
int sv_main(int argc, char **argv);

#endif
