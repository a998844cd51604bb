/* The request driver: one request decided by the VM and answered by live
   providers, as an event-driven state machine on the HTTP engine
   (vm/providers/httpc.h).  'routevm run' drives one with the engine's own
   poll loop; the gateway ('routevm serve') drives any number at once on
   each worker's libevent loop.  Both answer the same way because this is
   the only code that answers.

   What it does: start the decision; for each call the VM asks for, wait
   the backoff it computed on an engine timer (never a sleep), build the
   conversation and start the provider call (vm/providers/pcall.h); feed
   a streamed answer through the output guardrails (vm_feed) and hand
   the released text to the client as OpenAI chat.completion.chunk SSE
   events; resume the VM with each outcome (after the engine's callback
   has returned, from a zero-delay timer, so nothing is resumed or freed
   inside libcurl); ask routing hooks; record what a trace needs.  When
   the decision ends, a stream gets its closing events (the finish chunk,
   the usage chunk when the client asked for it, 'data: [DONE]') or, when
   part of the answer was already sent, a terminal error event and no
   '[DONE]' (so too when an event cannot be made for lack of memory: a
   stream is never sent with a hole in it); then 'done' is called.  What the client gets otherwise -- a
   chat.completion body (dr_answer_json) or an error (dr_error) -- is
   the caller's to send, so that a gateway can put it in an HTTP response
   with its own status and headers.

   A stream that breaks is never a clean success: before any text reached
   the client the VM falls back; after, the request ends with the
   terminal error event and is not replayed elsewhere.

   Cancelling (the client went away): the call in flight is stopped (its
   curl handle removed), and the VM is resumed with a failure carrying
   the usage the provider had reported so far, so the ledger is charged
   what the provider billed and nothing more: with no usage seen, the
   call's reservation is released.  A call the VM asked for but that was
   not sent yet keeps its reservation until the VM is freed or starts its
   next request (vm.h: an abandoned call releases it).

   Ownership: the VM, the engine, the health record, the request and the
   endpoint strings are borrowed and must outlive the driver; the
   request id is copied.  Threads: a driver belongs to its engine's
   thread. */
#ifndef RV_DRIVE_H
#define RV_DRIVE_H

#include <stdint.h>
#include <stdio.h>

#include "health.h"
#include "httpc.h"
#include "vm.h"

typedef struct dr_req dr_req;

typedef struct {
    /* Bytes for a streaming client: whole SSE events ("data: ...\n\n").
       Return 0, or nonzero when the client cannot take them (gone, or
       too slow): nothing more is written, the call in flight is stopped
       and settled as dr_cancel does, and 'done' follows with RV_FAILED
       (from a later turn of the loop).  May be NULL when not streaming. */
    int (*out)(void *ud, const char *p, size_t n);
    /* A call is about to be sent (after its backoff): for headers that
       name the model, metrics and the ledger's notes.  May be NULL. */
    void (*call)(void *ud, const rv_call *c);
    /* A call ended with outcome 'o' (before the VM is resumed with it).
       May be NULL. */
    void (*call_end)(void *ud, const rv_call *c, const rv_outcome *o);
    /* The decision ended: RV_DONE, RV_DENIED or RV_FAILED.  Called last:
       the callee may free the driver (and the VM) here.  It may be
       called from inside dr_start. */
    void (*done)(void *ud, rv_status st);
} dr_handler;

typedef struct {
    const rv_program *p;
    rv_vm *vm;                  /* a VM for p's image, ready for a new request */
    hc_engine *eng;
    hl_health *health;          /* model health to update after each call, and through its
                                   rate limiter (hl_limit) each call counted as it is sent
                                   and settled with its usage; may be NULL */
    int stream;                 /* the client asked for a stream */
    int trace;                  /* a trace record will be written (dr_write_trace): the calls'
                                   response model and id and their errors are kept for it; without
                                   it the record goes without them */
    int64_t connect_timeout_us; /* 0: 10 s */
    int64_t first_byte_timeout_us;  /* 0: the attempt's timeout, else 60 s */
    int64_t idle_timeout_us;    /* gap between chunks of a stream; 0: 30 s */
    /* endpoint overrides, "PROVIDER=URL": calls to that provider go to URL */
    const char *const *endpoints;
    uint32_t nendpoints;
    /* the caller's budget (the gateway's API key), rv_startopts.caller;
       NULL none; borrowed until dr_start returns */
    const rv_caller *caller;
} dr_opts;

/* A new driver; NULL when out of memory.  'o' is copied (its pointers
   are borrowed). */
dr_req *dr_new(const dr_opts *o, const dr_handler *h, void *ud);
/* Stops what is in flight as dr_cancel does, and frees -- or keeps the
   driver with its engine (hc_set_user: up to 16 per engine, freed with
   it) for a later dr_new on that engine, which reuses its buffers.  The
   engine must outlive the call.  Accepts NULL. */
void dr_free(dr_req *d);

/* Start deciding 'req' for 'agent' with the absolute deadline
   'deadline_us' (wall clock; 0 none).  'request_id' names the answer
   ("id" of the chat.completion) and the trace; copied.  Returns at once;
   'done' follows, possibly from inside this call. */
void dr_start(dr_req *d, uint32_t agent, const rv_request *req, int64_t deadline_us, const char *request_id);

/* The client went away: stop the call or hook in flight and settle what
   it cost so far (above).  No 'done' follows.  Idempotent. */
void dr_cancel(dr_req *d);

/* After 'done' with RV_DONE, not streaming: the chat.completion body,
   malloc'd (the caller frees it), or NULL when out of memory. */
char *dr_answer_json(dr_req *d, size_t *len);
/* The same, written into the driver's own buffer (the one a stream's
   events go through): borrowed until the driver's next call or dr_free,
   not NUL-terminated.  NULL when out of memory. */
const char *dr_answer_view(dr_req *d, size_t *len);

/* How an ended request (RV_DENIED or RV_FAILED) is reported to the
   client: the HTTP status, the error's 'type' and 'code', a message:
     a guardrail refused       400  content_filter      guardrail
     a budget refused a call   429  insufficient_quota  budget_exceeded
     every model unavailable   503  upstream_error      unavailable
       (open circuits, rate limits used up)
     the deadline passed       504  upstream_error      deadline or timeout
     a stream broke            502  stream_error        stream_broken
     a stream's event could    500  api_error           internal_error
       not be made (out of memory; before any reached the client),
       or the last call failed while memory ran out
     no model answered         502  upstream_error      the last failure's class */
typedef struct {
    int status;
    const char *type, *code;
    char message[400];
} dr_err;
void dr_error(const dr_req *d, rv_status st, dr_err *e);
/* That error as an OpenAI-style body {"error": {...}}, malloc'd, or NULL. */
char *dr_error_json(const dr_err *e, size_t *len);

/* Did any of the answer reach the streaming client? */
int dr_streamed(const dr_req *d);
/* Microseconds from dr_start to the first text sent to a streaming
   client; -1 when none was sent. */
int64_t dr_ttft_us(const dr_req *d);
/* Wall-clock microseconds spent inside the VM so far (vm_start,
   vm_resume, vm_feed: routing, guardrails, budgets), apart from waiting
   for calls: the segments summed in nanoseconds, then rounded up. */
int64_t dr_decide_us(const dr_req *d);
/* The usage of the answering call (the last successful answer). */
rv_usage dr_answer_usage(const dr_req *d);

/* Append the request's trace records (vm/trace.h) to 'out'; 'error' is a
   failure outside the decision (the client went away), or NULL.  The
   calls' response models, ids and errors are in them only when the
   driver was made with dr_opts.trace.  Returns 0 or -1. */
int dr_write_trace(dr_req *d, FILE *out, const char *error);

#endif
