/* The provider runtime's HTTP engine (vm/providers/httpc.h) on a worker's
   libevent loop: the engine's transports -- libcurl's multi interface
   (CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION, as libcurl's
   hiperfifo and multi-event examples do) and its own HTTP/1.1 client --
   ask, through the engine, to watch sockets and to arm one timer, and
   this module turns each request into an event on the loop and each
   event back into hc_on_socket()/hc_on_timer().  So one worker thread
   carries its clients and all their upstream calls.

   Threads: a ce_loop belongs to the thread running its event_base. */
#ifndef RV_SERVE_CURLEV_H
#define RV_SERVE_CURLEV_H

#include "httpc.h"

struct event_base;
typedef struct ce_loop ce_loop;

/* An engine on 'base' (borrowed; it must outlive the ce_loop).  NULL when
   out of memory or libcurl fails. */
ce_loop *ce_new(struct event_base *base);
hc_engine *ce_engine(ce_loop *l);
/* Free the engine (transfers cancelled without callbacks) and every event.
   Accepts NULL. */
void ce_free(ce_loop *l);

#endif
