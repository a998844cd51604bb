/* Traces: what happened to one request, step by step, as JSON Lines.

   A driver ('routevm run', later the gateway) hands the finished
   decision -- vm_result() -- and its own record of each call (what only
   the driver knows: the provider's name for the model that answered, the
   finish reason, when the call started, whether part of the answer had
   reached the client) to trace_write(), which appends one JSON object per
   step: the request, each guardrail action, the route that matched, the
   hook asked, each call (made or refused), and the outcome.  The format
   is specified in docs/traces.md; 'routevm report' reads it.  Names follow
   the OpenTelemetry GenAI semantic conventions where one exists
   (gen_ai.*, error.type, http.response.status_code); ours carry a
   'routevm.' prefix.

   Nothing secret reaches a trace: keys are never passed in, redacted
   texts never appear (only counts of redactions), and neither the prompt
   nor the answer is written.  Error details come from the driver, which
   builds them from status codes and provider error types, never from
   request headers.

   This module formats; it does no I/O beyond writing to the FILE it is
   given. */
#ifndef RV_TRACE_H
#define RV_TRACE_H

#include <stdio.h>

#include <jansson.h>

#include "vm.h"

/* What the driver knows about one call.  Every pointer is borrowed for
   the duration of trace_write()/trace_records(); NULL means unknown. */
typedef struct {
    const char *request_model;  /* the model id as sent (gen_ai.request.model); NULL: the policy's id */
    const char *response_model; /* as the provider answered (gen_ai.response.model) */
    const char *finish;         /* finish reason, normalized: stop, length, tool_calls, content_filter */
    const char *response_id;    /* the provider's id for the answer (gen_ai.response.id) */
    const char *error;          /* what went wrong, for people */
    int streamed;               /* some of the answer reached the client */
    int64_t start_us;           /* when the call was sent (after any backoff); -1 unknown */
} trace_call;

/* The request as a whole. */
typedef struct {
    const char *request_id;     /* required */
    int64_t start_us, end_us;   /* wall clock, microseconds since the epoch; -1 unknown */
    int stream;                 /* the client asked for a stream */
    /* per attempt, indexed like vm_result()->attempts (rv_call.seq);
       entries past 'ncalls' are unknown */
    const trace_call *calls;
    uint32_t ncalls;
    /* the hook, when one was asked */
    const char *hook_model;     /* what it answered, NULL if it failed */
    const char *hook_error;
    int64_t hook_latency_us;
    const char *error;          /* a failure outside the decision (the driver's), or NULL */
    rv_sv task;                 /* the request's metadata 'task' (trace_task()); s NULL: none */
} trace_request;

/* The records of one finished decision, in order, as a new JSON array
   (NULL when out of memory). */
json_t *trace_records(const rv_program *p, const rv_result *res, const trace_request *rq);

/* Append the records to 'out', one compact JSON object per line, and
   flush.  Returns 0, or -1 when out of memory or the write failed. */
int trace_write(FILE *out, const rv_program *p, const rv_result *res, const trace_request *rq);

/* The request's metadata value 'task', the key cost is attributed by
   ('routevm report --by task'); {NULL, 0} when the request has none.
   Borrows from 'req'. */
rv_sv trace_task(const rv_request *req);

/* OpenTelemetry's gen_ai.provider.name for a provider kind
   ("openai", "anthropic", "aws.bedrock"). */
const char *trace_provider_name(uint32_t kind);

/* "answered", "denied", "failed" (the outcome record's routevm.status). */
const char *trace_status_name(rv_status st);

#endif
