/* libcurl's multi interface on a libevent loop; see curlev.h.

   Socket events are kept in an array indexed by file descriptor (small,
   dense integers), so finding a socket's event is one load.  An event is
   replaced, never modified, when libcurl changes what it waits for; one
   freed from inside its own callback (libcurl dropping a socket while
   handling it) is safe in libevent 2.

   A timer asked for "now" (libcurl does so for every transfer it is
   given) is run in the loop's current round (event_active) rather than
   armed with a zero timeout, which would cost the loop one more
   epoll_wait before running it; once per round, so that an engine
   asking again from its own timer callback cannot keep the loop from
   its sockets. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "curlev.h"
#include "mem.h"

struct ce_loop {
    struct event_base *base;
    hc_engine *eng;
    struct event *timer;
    int in_timer;               /* inside on_timer: a "now" goes through the loop */
    struct event **fdev;        /* per fd: its event, or NULL */
    int nfdev;
};

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    ce_loop *l = arg;
    hc_on_socket(l->eng, (int)fd, (what & EV_READ ? HC_IN : 0) | (what & EV_WRITE ? HC_OUT : 0));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    ce_loop *l = arg;
    l->in_timer = 1;
    hc_on_timer(l->eng);
    l->in_timer = 0;
}

static void drop(ce_loop *l, int fd)
{
    if (fd < l->nfdev && l->fdev[fd]) {
        event_free(l->fdev[fd]);
        l->fdev[fd] = NULL;
    }
}

/* hc_loop's watch: what = HC_IN|HC_OUT, 0 to stop.  A socket that cannot
   be watched (out of memory) is left to the transfer's own deadlines,
   which end it with a timeout. */
static void watch(void *ud, int fd, int what)
{
    ce_loop *l = ud;
    if (fd < 0)
        return;
    drop(l, fd);
    if (!what)
        return;
    if (fd >= l->nfdev) {
        int n = fd + 64;
        struct event **a = mem_realloc(l->fdev, (size_t)n * sizeof *a);
        if (!a)
            return;
        memset(a + l->nfdev, 0, (size_t)(n - l->nfdev) * sizeof *a);
        l->fdev = a;
        l->nfdev = n;
    }
    short ev = (short)(EV_PERSIST | (what & HC_IN ? EV_READ : 0) | (what & HC_OUT ? EV_WRITE : 0));
    struct event *e = event_new(l->base, fd, ev, on_socket, l);
    if (e && event_add(e, NULL) == 0)
        l->fdev[fd] = e;
    else if (e)
        event_free(e);
}

static void timer(void *ud, int64_t after_us)
{
    ce_loop *l = ud;
    if (after_us < 0) {
        evtimer_del(l->timer);
        return;
    }
    if (after_us == 0 && !l->in_timer) {
        evtimer_del(l->timer);
        event_active(l->timer, EV_TIMEOUT, 0);
        return;
    }
    struct timeval tv = { (time_t)(after_us / 1000000), (suseconds_t)(after_us % 1000000) };
    evtimer_add(l->timer, &tv);
}

ce_loop *ce_new(struct event_base *base)
{
    ce_loop *l = mem_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = base;
    hc_loop hl = { l, watch, timer };
    l->timer = evtimer_new(base, on_timer, l);
    l->eng = l->timer ? hc_new(&hl) : NULL;
    if (!l->eng) {
        ce_free(l);
        return NULL;
    }
    return l;
}

hc_engine *ce_engine(ce_loop *l)
{
    return l->eng;
}

void ce_free(ce_loop *l)
{
    if (!l)
        return;
    hc_free(l->eng);            /* libcurl may still ask to stop watching sockets */
    for (int fd = 0; fd < l->nfdev; fd++)
        drop(l, fd);
    free(l->fdev);
    if (l->timer)
        event_free(l->timer);
    free(l);
}
