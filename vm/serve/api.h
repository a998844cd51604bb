/* The gateway's endpoints: routing a parsed HTTP request to its handler,
   authentication, and the answers that need no model:

     GET  /healthz               200 {"status":"ok",...}; answered on the
                                 spare connections too
     GET  /metrics               Prometheus text; spare connections too
     GET  /v1/models             the agents the key may use (OpenAI list)
     POST /v1/chat/completions   vm/serve/chat.h

   Anything else is 404 (405 for another method on a known path); on a
   connection beyond the connection cap, anything but /healthz and
   /metrics is 503.  Every error is an OpenAI-style JSON body. */
#ifndef RV_SERVE_API_H
#define RV_SERVE_API_H

#include "http.h"
#include "keys.h"
#include "serve.h"

/* hs_app's request callback; 'ud' is the sv_worker. */
void api_request(void *ud, hs_req *r);

/* Authenticate: 0 with *key set (NULL when the gateway has no keys),
   or -1 after answering 401.  '*keys' gets a reference the caller drops
   with sv_keys_unref (also on -1: nothing to drop). */
int api_auth(sv_worker *w, hs_req *r, sv_keys **keys, const ky_key **key);

/* Count a response in the metrics. */
void api_count(sv_worker *w, const char *endpoint, int status);

#endif
