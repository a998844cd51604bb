/* libcurl's multi interface on a libevent loop; see curlev.h.

   Socket events are kept in an array indexed by file descriptor (small,
   dense integers), so finding a socket's event is one load.  A socket's
   event stays registered while its connection lives: when a transfer
   ends on a kept-alive connection (HC_IDLE) the event is parked -- still
   in epoll, waiting for what the last transfer waited for -- and the next
   transfer on that connection asking for the same costs no epoll_ctl
   (it was an ADD and a DEL per request).  A parked event that fires (the
   peer closed the idle connection, or sent bytes out of turn) is taken
   out of epoll at once, without a word to libcurl, so a dead idle socket
   cannot keep the loop turning; libcurl finds the connection dead when
   it next looks at it and closes it.  (The engine's own transport never
   parks: its idle connections stay watched for reading, and it closes
   one that turns readable.)  A parked event waiting to write
   would fire at once, so only reading ones are parked.  The engine says
   0 before any socket it closes is closed, and the event goes then: the
   loop never holds a descriptor that was closed, which the next socket
   could get.  An event freed from inside its own callback (libcurl
   dropping a socket while handling it) is safe in libevent 2.

   A timer asked for "now" (libcurl does so for every transfer it is
   given) is run in the loop's current round (event_active) rather than
   armed with a zero timeout, which would cost the loop one more
   epoll_wait before running it; once per round, so that an engine
   asking again from its own timer callback cannot keep the loop from
   its sockets.

   Each callback holds the clock (clock.h) while it runs: the engine's
   deadlines, its timers and the request driver it calls back read the
   time once. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "curlev.h"
#include "mem.h"

/* A socket libcurl told us of. */
typedef struct {
    struct event *ev;           /* NULL: none yet */
    int added;                  /* HC_IN|HC_OUT the event is in epoll for; 0: not added */
    int idle;                   /* parked: no transfer waits on it */
} fdwatch;

struct ce_loop {
    struct event_base *base;
    hc_engine *eng;
    struct event *timer;
    int in_timer;               /* inside on_timer: a "now" goes through the loop */
    fdwatch *fds;               /* per fd */
    int nfds;
};

static void on_socket_held(evutil_socket_t fd, short what, void *arg)
{
    ce_loop *l = arg;
    fdwatch *w = &l->fds[fd];
    if (w->idle) {              /* parked and readable: out of epoll until a transfer wants it */
        event_del(w->ev);
        w->added = 0;
        return;
    }
    hc_on_socket(l->eng, (int)fd, (what & EV_READ ? HC_IN : 0) | (what & EV_WRITE ? HC_OUT : 0));
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    clk_hold();
    on_socket_held(fd, what, arg);
    clk_release();
}

static void on_timer_held(evutil_socket_t fd, short what, void *arg)
{
    ce_loop *l = arg;
    l->in_timer = 1;
    hc_on_timer(l->eng);
    l->in_timer = 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    clk_hold();
    on_timer_held(fd, what, arg);
    clk_release();
}

/* Forget socket 'fd' (it is about to be closed). */
static void drop(ce_loop *l, int fd)
{
    if (fd < l->nfds && l->fds[fd].ev) {
        event_free(l->fds[fd].ev);
        l->fds[fd] = (fdwatch){ 0 };
    }
}

/* Wait on 'fd' for 'what' (HC_IN|HC_OUT): nothing to do when its event
   is in epoll for that already. */
static void want(ce_loop *l, int fd, int what)
{
    fdwatch *w = &l->fds[fd];
    w->idle = 0;
    if (w->added == what)
        return;
    if (w->added)
        event_del(w->ev);
    w->added = 0;
    short ev = (short)(EV_PERSIST | (what & HC_IN ? EV_READ : 0) | (what & HC_OUT ? EV_WRITE : 0));
    if (!w->ev)
        w->ev = event_new(l->base, fd, ev, on_socket, l);
    else
        event_assign(w->ev, l->base, fd, ev, on_socket, l);
    if (w->ev && event_add(w->ev, NULL) == 0)
        w->added = what;
}

/* No transfer waits on 'fd', which stays open: park its event. */
static void park(ce_loop *l, int fd)
{
    fdwatch *w = &l->fds[fd];
    w->idle = 1;
    if (w->added & HC_OUT) {    /* writable at once: it would fire for nothing */
        event_del(w->ev);
        w->added = 0;
    }
}

/* Room for descriptor 'fd' in the table; -1 when out of memory. */
static int reserve(ce_loop *l, int fd)
{
    if (fd < l->nfds)
        return 0;
    int n = fd + 64;
    fdwatch *a = mem_realloc(l->fds, (size_t)n * sizeof *a);
    if (!a)
        return -1;
    memset(a + l->nfds, 0, (size_t)(n - l->nfds) * sizeof *a);
    l->fds = a;
    l->nfds = n;
    return 0;
}

/* hc_loop's watch (httpc.h).  The table's room for 'fd' is made when the
   engine first names it (the 0 it says of each socket it opens), so a
   socket that cannot be watched (out of memory) fails there, at once,
   and not at its deadline. */
static int watch(void *ud, int fd, int what)
{
    ce_loop *l = ud;
    if (fd < 0)
        return 0;
    if (reserve(l, fd))
        return -1;
    if (!what)
        drop(l, fd);
    else if (what & HC_IDLE) {
        if (l->fds[fd].ev)
            park(l, fd);
    } else
        want(l, fd, what & (HC_IN | HC_OUT));
    return 0;
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
    for (int fd = 0; fd < l->nfds; fd++)
        drop(l, fd);
    free(l->fds);
    if (l->timer)
        event_free(l->timer);
    free(l);
}
