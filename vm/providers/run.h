/* 'routevm run': one request decided and answered by live providers.

   The driver of the VM's contract (vm.h) against the provider runtime
   (vm/providers/pcall.h): start the decision, make each call the VM asks
   for -- after the backoff it computed, on the HTTP engine's timer --
   stream answers that may stream through the output guardrails to the
   client, resume with each outcome, ask routing hooks, and finally print
   the answer as an OpenAI chat.completion object or as OpenAI SSE chunks
   ending in 'data: [DONE]', whichever provider answered; or an
   OpenAI-style error.  With a trace file, the decision's records are
   appended (vm/trace.h).

   A stream that breaks is never a clean success: before any text reached
   the client the VM falls back (the failure is reported without fed
   text); after, the client gets a terminal error event and no
   '[DONE]', and the request is not replayed elsewhere.

   Run-time state that outlives a call -- each model's latency average and
   circuit -- is kept in the in-memory environment (vm/envmem.h), updated
   after every call (vm/providers/health.h). */
#ifndef RV_RUN_H
#define RV_RUN_H

#include <stdio.h>

#include "vm.h"

/* Exit statuses of 'routevm run' (beside RC_OK/RC_FINDINGS/RC_USAGE). */
enum {
    RUN_ANSWERED = 0,   /* an answer was printed */
    RUN_BAD = 1,        /* the policy or the request was rejected */
    RUN_USAGE = 2,      /* bad command line, unreadable file */
    RUN_DENIED = 3,     /* a guardrail refused the request or the answer */
    RUN_FAILED = 4      /* no model answered (or a stream broke) */
};

typedef struct {
    const char *agent;          /* NULL: the request's "model", else the only agent */
    int stream;                 /* print SSE chunks */
    FILE *out;                  /* the answer */
    FILE *trace;                /* NULL: no trace */
    int64_t deadline_us;        /* the whole request; 0: 300 s */
    int64_t connect_timeout_us; /* 0: 10 s */
    int64_t first_byte_timeout_us;  /* 0: the attempt's timeout, else 60 s */
    int64_t idle_timeout_us;    /* gap between chunks of a stream; 0: 30 s */
    /* endpoint overrides, "PROVIDER=URL" (borrowed): calls to that provider
       go to URL instead (a local proxy, a test server) */
    const char *const *endpoints;
    uint32_t nendpoints;
} run_opts;

/* Decide and answer the request 'body' (an OpenAI chat-completions
   request, 'len' bytes, borrowed) with program 'p'.  Returns a RUN_*
   status; messages for people go to stderr. */
int run_request(const rv_program *p, const char *body, size_t len, const run_opts *o);

#endif
