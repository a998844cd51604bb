/* POST /v1/chat/completions: an OpenAI chat request decided by the
   policy and answered by its models, JSON or server-sent events.

   The body is parsed once (vm/request.h: strict, bounded, valid UTF-8,
   no duplicate keys); "model" names an agent of the policy the key may
   use; routing hints come from the body's "metadata" and from X-Route-*
   headers (X-Route-Tier: gold is meta.tier == "gold"; a header wins over
   the body's key of the same name).  The request is then run by the
   request driver (vm/providers/drive.h) -- the one 'routevm run' uses --
   on the worker's event loop, its provider calls on the worker's curl
   multi engine (vm/serve/curlev.h), so a worker carries any number of
   requests at once.  Budgets are reserved and settled by the VM through
   a request environment backed by the spend ledger (vm/serve/wpol.h).

   Response headers name the request (x-request-id), the agent, the model
   and rule that answered (x-routevm-agent, x-routevm-model,
   x-routevm-rule) and, for JSON answers, the cost in dollars
   (x-routevm-cost).  Every error is an OpenAI-style body; the statuses
   and codes are listed in docs/serve.md.

   A client that goes away cancels its upstream call (dr_cancel): the
   ledger is charged what the provider had billed, else the reservation
   is released.  A request holds references to its policy and to the
   worker's state for it, so a SIGHUP reload never changes the program
   under it. */
#ifndef RV_SERVE_CHAT_H
#define RV_SERVE_CHAT_H

#include "http.h"
#include "serve.h"

/* Handle POST /v1/chat/completions on worker 'w'. */
void ch_request(sv_worker *w, hs_req *r);

/* Routing-hint header limits: at most CH_MAX_ROUTE_HEADERS X-Route-*
   headers, names of at most CH_MAX_ROUTE_NAME bytes after the prefix. */
#define CH_MAX_ROUTE_HEADERS 32
#define CH_MAX_ROUTE_NAME 64

#endif
