/* One call to a model provider, from the conversation to the outcome the
   VM resumes with: the provider's URL, headers and body (openai.c,
   anthropic.c, bedrock.c), the transfer on the HTTP engine (httpc.c),
   the answer read as it arrives -- a JSON body, server-sent events or
   AWS event-stream frames -- with each new piece of text handed to the
   caller as it comes (so a stream reaches the client through the output
   guardrails), and every way it can fail classified into the VM's
   failure classes.

   Keys are read from the environment variable the provider names (and
   the AWS variables for Bedrock, whose requests are signed with SigV4)
   when the call is built -- a provider's variable once per call
   structure, which keeps the environment's own copy for the calls it is
   reused for (the process's environment does not change while calls
   run); they go into
   request headers and nowhere else: no message this module produces
   contains a header value, and a provider's error text is dropped for
   401/403 answers, where providers echo parts of the key.

   Ownership: the spec and the conversation are read during pc_start()
   only (the body is built then).  After the 'done' callback the call
   still holds the answer: pc_outcome() points into it, valid until
   pc_end() or pc_free().  A call ended with pc_end() may be given to the
   next pc_start(), which reuses its buffers (the request driver keeps
   one per request). */
#ifndef RV_PCALL_H
#define RV_PCALL_H

#include "answer.h"
#include "conv.h"
#include "httpc.h"
#include "sigv4.h"
#include "vm.h"

typedef struct pc_call pc_call;

typedef struct {
    /* New answer text, as it arrives (streams).  Return nonzero to stop
       the call (the client's guardrails refused the answer). */
    int (*text)(void *ud, const char *s, size_t n);
    /* The call ended (answer or failure); pc_outcome() describes it.  May
       start other calls; must not free this one before returning. */
    void (*done)(void *ud, pc_call *c);
} pc_handler;

typedef struct {
    const rv_program *p;
    uint32_t model;
    const cv_conv *cv;
    int stream;                     /* ask the provider for a stream */
    int logprobs;                   /* ask for token log-probabilities (where supported) */
    int64_t connect_timeout_us;     /* 0: 10 s */
    int64_t first_byte_timeout_us;  /* 0: none */
    int64_t idle_timeout_us;        /* 0: none */
    int64_t total_timeout_us;       /* 0: none */
    const char *endpoint;           /* instead of the provider's endpoint (a local proxy, a test
                                       server), or NULL */
    sv4_signer *signer;             /* Bedrock: a signer whose key cache outlives the call
                                       (borrowed), or NULL for one of its own */
} pc_spec;

/* Start the call.  'reuse' is a call ended with pc_end, whose buffers
   (the answer's, the body read, the header lines, the stream decoders)
   this one takes over, or NULL for a new one.  Returns the call ('reuse'
   itself when given), or NULL with a message in 'err' (no key in the
   environment, out of memory): such a call was never sent, and 'reuse'
   is still the caller's, ended. */
pc_call *pc_start(hc_engine *e, const pc_spec *s, const pc_handler *h, void *ud, pc_call *reuse, char *err,
                  size_t errlen);

/* After 'done': the outcome for vm_resume (ok or failure, text, tool
   calls, usage, confidence, timings).  Valid until pc_end() or pc_free(). */
const rv_outcome *pc_outcome(pc_call *c);
/* The accumulated answer (model id, finish reason, id, detail). */
const ans_answer *pc_answer(const pc_call *c);
/* The request body as sent, for tests and the bench. */
const char *pc_body(const pc_call *c, size_t *len);

/* Cancel if still running (no 'done') and end the call: its outcome
   and answer are gone, its key-bearing header lines wiped; what is left
   is buffers for the next pc_start, or for pc_free. */
void pc_end(pc_call *c);
/* pc_end, and free.  Accepts NULL. */
void pc_free(pc_call *c);

#endif
