/* A plan is what a connection will do with a reply: byte strings to write,
   each after a delay, then how to end (keep the connection for the next
   request, close it, or reset it).  plan_build frames a reply as HTTP/1.1
   (Content-Length, or one chunk per stream event) and applies the faults
   that live below the dialects: delays, resets, clean closes mid-body,
   stalls, slow drips and broken chunked framing.  http.c executes plans.

   Ownership: a plan owns its steps' bytes; plan_free releases them.  The
   reply and answer are borrowed for the call. */
#ifndef MOCK_PLAN_H
#define MOCK_PLAN_H

#include <stddef.h>

#include "reply.h"
#include "script.h"

enum plan_end { PLAN_KEEP, PLAN_CLOSE, PLAN_RESET };

typedef struct {
    char *data;
    size_t len;
    unsigned delay_ms;     /* wait before writing this step */
    int drip;              /* write one byte per 'drip_ms' */
} plan_step;

typedef struct {
    plan_step *steps;
    size_t n, cap;
    enum plan_end end;
    unsigned end_delay_ms; /* wait after the last step before ending */
    unsigned drip_ms;
    int failed;            /* out of memory: the caller resets the connection */
} plan;

/* Builds 'p' from 'r'.  'a' gives latency and the fault (NULL: neither);
   'keep_alive' says whether the client allows the connection to stay. */
void plan_build(plan *p, const rp_reply *r, const scr_answer *a, int keep_alive);
void plan_free(plan *p);
/* Total bytes the plan writes. */
size_t plan_bytes(const plan *p);

#endif
