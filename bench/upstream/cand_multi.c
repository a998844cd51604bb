/* Candidates "curl-multi-*": libcurl's multi interface on a libevent
   loop, the way routevm's gateway drives it (vm/serve/curlev.c,
   vm/providers/httpc.c): libcurl asks to watch sockets and to arm one
   timer (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION), the loop
   calls curl_multi_socket_action() back, ended transfers are collected
   with curl_multi_info_read() and removed from the multi handle.  A
   socket's event is replaced, not modified, when libcurl changes what it
   waits for, and a timer asked for "now" runs in the loop's current
   round, as curlev.c does.  One easy handle serves every request.

   Three ways to start a transfer:
     curl-multi-url    curl_easy_reset() and every option again, the URL
                       as a string libcurl parses each time (hc_start);
     curl-multi-curlu  the same with the URL parsed once (CURLOPT_CURLU);
     curl-multi-keep   the options set once, the URL parsed once; per
                       request only curl_multi_add_handle() (libcurl's
                       floor here).
   Not done here and done by routevm's engine: per-transfer deadlines of
   its own, user timers, a pool of easy handles (the "routevm"
   candidate runs that engine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cand_curl.h"

typedef enum { M_URL, M_CURLU, M_KEEP } mode;

typedef struct {
    mode how;
    const up_conf *c;
    struct event_base *base;
    struct event *timer;
    struct event **fdev;        /* per fd: its event, or NULL */
    int nfdev;
    int in_timer;
    CURLM *m;
    CURL *e;
    CURLU *u;
    struct curl_slist *h;
    up_resp *cur;
    int done;
    CURLcode result;
    char errbuf[CURL_ERROR_SIZE];
} multi;

static void reap(multi *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->m, &left)))
        if (msg->msg == CURLMSG_DONE) {
            s->result = msg->data.result;
            upc_status(s->e, s->cur);
            curl_multi_remove_handle(s->m, msg->easy_handle);
            s->done = 1;
            event_base_loopbreak(s->base);
        }
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    multi *s = arg;
    int running;
    curl_multi_socket_action(s->m, fd, (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0),
                             &running);
    reap(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    multi *s = arg;
    int running;
    s->in_timer = 1;
    curl_multi_socket_action(s->m, CURL_SOCKET_TIMEOUT, 0, &running);
    s->in_timer = 0;
    reap(s);
}

static void drop(multi *s, int fd)
{
    if (fd < s->nfdev && s->fdev[fd]) {
        event_free(s->fdev[fd]);
        s->fdev[fd] = NULL;
    }
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    multi *s = ud;
    drop(s, fd);
    if (what == CURL_POLL_REMOVE)
        return 0;
    if (fd >= s->nfdev) {
        int n = fd + 64;
        struct event **a = realloc(s->fdev, (size_t)n * sizeof *a);
        if (!a)
            return -1;
        memset(a + s->nfdev, 0, (size_t)(n - s->nfdev) * sizeof *a);
        s->fdev = a;
        s->nfdev = n;
    }
    short ev = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
    struct event *v = event_new(s->base, fd, ev, on_socket, s);
    if (!v || event_add(v, NULL)) {
        if (v)
            event_free(v);
        return -1;
    }
    s->fdev[fd] = v;
    return 0;
}

static int on_curl_timer(CURLM *m, long ms, void *ud)
{
    multi *s = ud;
    if (ms < 0)
        return evtimer_del(s->timer);
    if (ms == 0 && !s->in_timer) {
        evtimer_del(s->timer);
        event_active(s->timer, EV_TIMEOUT, 0);
        return 0;
    }
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return evtimer_add(s->timer, &tv);
}

static void multi_close(void *st)
{
    multi *s = st;
    if (!s)
        return;
    if (s->m && s->e)
        curl_multi_remove_handle(s->m, s->e);
    curl_easy_cleanup(s->e);
    curl_multi_cleanup(s->m);       /* may still ask to stop watching sockets */
    curl_slist_free_all(s->h);
    curl_url_cleanup(s->u);
    for (int fd = 0; fd < s->nfdev; fd++)
        drop(s, fd);
    free(s->fdev);
    if (s->timer)
        event_free(s->timer);
    if (s->base)
        event_base_free(s->base);
    free(s);
}

static void *multi_open(mode how, const up_conf *c, char *err, size_t errlen)
{
    multi *s = calloc(1, sizeof *s);
    if (!s || upc_global() || !(s->base = event_base_new()) || !(s->timer = evtimer_new(s->base, on_timer, s)) ||
        !(s->m = curl_multi_init()) || !(s->e = curl_easy_init()) || !(s->h = upc_headers(c)))
        goto fail;
    s->how = how;
    s->c = c;
    curl_multi_setopt(s->m, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(s->m, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->m, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(s->m, CURLMOPT_TIMERDATA, s);
    if (how != M_URL && (!(s->u = curl_url()) || curl_url_set(s->u, CURLUPART_URL, c->url, 0) != CURLUE_OK))
        goto fail;
    if (how == M_KEEP && upc_options(s->e, c, s->h, s->u, &s->cur, s->errbuf))
        goto fail;
    return s;
fail:
    snprintf(err, errlen, "libcurl or libevent would not start");
    multi_close(s);
    return NULL;
}

static void *open_url(const up_conf *c, char *err, size_t errlen) { return multi_open(M_URL, c, err, errlen); }
static void *open_curlu(const up_conf *c, char *err, size_t errlen) { return multi_open(M_CURLU, c, err, errlen); }
static void *open_keep(const up_conf *c, char *err, size_t errlen) { return multi_open(M_KEEP, c, err, errlen); }

static int multi_request(void *st, up_resp *r, char *err, size_t errlen)
{
    multi *s = st;
    s->cur = r;
    s->done = 0;
    if (s->how != M_KEEP) {
        curl_easy_reset(s->e);
        if (upc_options(s->e, s->c, s->h, s->u, &s->cur, s->errbuf)) {
            snprintf(err, errlen, "libcurl refused an option");
            return -1;
        }
    }
    s->errbuf[0] = 0;
    if (curl_multi_add_handle(s->m, s->e) != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle failed");
        return -1;
    }
    if (up_loop(s->base, &s->done, err, errlen))
        return -1;
    if (s->result != CURLE_OK) {
        snprintf(err, errlen, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result));
        return -1;
    }
    return 0;
}

const up_cand up_multi_url = { "curl-multi-url", open_url, multi_request, multi_close };
const up_cand up_multi_curlu = { "curl-multi-curlu", open_curlu, multi_request, multi_close };
const up_cand up_multi_keep = { "curl-multi-keep", open_keep, multi_request, multi_close };
