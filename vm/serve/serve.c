/* 'routevm serve': command line, workers, signals; see serve.h.

     routevm serve POLICY [--listen HOST:PORT] [--workers N] [--keys FILE]
                   [--trace FILE] [--state DIR] [--trust PUB.pem] [--allow-tests]
                   [--log-requests] [limits...]

   Exit status: 0 after a clean stop (SIGTERM, SIGINT), 1 when the policy
   or the keys are refused at start, 2 for a usage error or an address
   that cannot be listened on. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "curlev.h"
#include "log.h"
#include "mem.h"
#include "numfmt.h"
#include "serve.h"
#include "wpol.h"

#define MAX_WORKERS 64

static void usage(FILE *f)
{
    fputs("usage: routevm serve POLICY [--listen HOST:PORT] [--workers N] [--keys FILE] [--trace FILE]\n"
          "                     [--state DIR] [--trust PUB.pem] [--allow-tests] [--log-requests]\n"
          "                     [--max-body BYTES] [--max-header-bytes BYTES] [--max-headers N]\n"
          "                     [--max-connections N] [--spare-connections N] [--max-output BYTES]\n"
          "                     [--header-timeout MS] [--body-timeout MS] [--body-deadline MS]\n"
          "                     [--idle-timeout MS] [--write-timeout MS] [--request-timeout MS]\n"
          "                     [--drain-timeout MS]"
" [--port-file FILE]\n"
          "exit status: 0 stopped by SIGTERM/SIGINT, 1 policy or keys refused, 2 usage or I/O error\n", f);
}

/* ---------------------------------------------------------------- keys */

sv_keys *sv_keys_get(sv_app *a)
{
    pthread_mutex_lock(&a->keys_mu);
    sv_keys *k = a->keys;
    if (k)
        atomic_fetch_add(&k->refs, 1);
    pthread_mutex_unlock(&a->keys_mu);
    return k;
}

void sv_keys_unref(sv_keys *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
        ky_free(k->set);
        free(k);
    }
}

static sv_keys *load_keys(const char *path, int *unreadable, char *err, size_t errlen)
{
    ky_set *s = ky_load(path, unreadable, err, errlen);
    if (!s)
        return NULL;
    sv_keys *k = mem_calloc(1, sizeof *k);
    if (!k) {
        ky_free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&k->refs, 1);
    k->set = s;
    return k;
}

static void install_keys(sv_app *a, sv_keys *k)
{
    pthread_mutex_lock(&a->keys_mu);
    sv_keys *old = a->keys;
    a->keys = k;
    pthread_mutex_unlock(&a->keys_mu);
    sv_keys_unref(old);
}

/* The start of the worker's request ids: "req-" PREFIX WORKER (2 hex). */
static void id_head(sv_worker *w)
{
    size_t pl = strnlen(w->app->idprefix, 12), n = 4 + pl;
    memcpy(w->idhead, "req-", 4);
    memcpy(w->idhead + 4, w->app->idprefix, pl);
    n += nf_hex(w->idhead + n, (uint64_t)(w->id & 0xff), 2);
    w->idhead_len = n;
}

size_t sv_request_id(sv_worker *w, char *buf, size_t size)
{
    /* the worker's id_head, then SEQ (at least 8 hex): at most 4 + 12 + 2 + 16 bytes */
    char t[sizeof w->idhead + NF_MAX];
    memcpy(t, w->idhead, sizeof w->idhead);
    size_t n = w->idhead_len;
    n += nf_hex(t + n, ++w->seq, 8);
    if (!size)
        return 0;
    size_t k = n < size ? n : size - 1;
    memcpy(buf, t, k);
    buf[k] = 0;
    return k;
}

/* ---------------------------------------------------------------- options */

static int parse_num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_listen(const char *s, sv_opts *o)
{
    static char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    int64_t port;
    if (parse_num(colon + 1, 0, 65535, &port))
        return -1;
    o->host = host;
    o->port = (int)port;
    return 0;
}

typedef struct { const char *name; int kind; size_t off; int64_t lo, hi; } numopt;
enum { N_SIZE, N_U32, N_MS, N_INT };
#define LIM(f) offsetof(sv_opts, lim) + offsetof(hs_limits, f)
static const numopt numopts[] = {
    { "--max-body", N_SIZE, LIM(max_body), 1, 1ll << 32 },
    { "--max-header-bytes", N_SIZE, LIM(max_head), 256, 1 << 20 },
    { "--max-headers", N_U32, LIM(max_headers), 1, 10000 },
    { "--max-connections", N_U32, LIM(max_conns), 1, 1000000 },
    { "--spare-connections", N_U32, LIM(spare_conns), 0, 100000 },
    { "--max-output", N_SIZE, LIM(max_output), 1024, 1ll << 32 },
    { "--header-timeout", N_MS, LIM(head_timeout_us), 1, 3600000 },
    { "--body-timeout", N_MS, LIM(body_idle_us), 1, 3600000 },
    { "--body-deadline", N_MS, LIM(body_timeout_us), 1, 3600000 },
    { "--idle-timeout", N_MS, LIM(keepalive_us), 1, 3600000 },
    { "--write-timeout", N_MS, LIM(write_idle_us), 1, 3600000 },
    { "--request-timeout", N_MS, offsetof(sv_opts, request_us), 1, 3600000 },
    { "--drain-timeout", N_MS, offsetof(sv_opts, drain_us), 0, 3600000 },
    { "--workers", N_INT, offsetof(sv_opts, workers), 1, MAX_WORKERS },
};

static int set_num(sv_opts *o, const numopt *n, const char *v)
{
    int64_t x;
    if (parse_num(v, n->lo, n->hi, &x)) {
        fprintf(stderr, "routevm serve: %s: expected a number from %lld to %lld, got '%s'\n", n->name,
                (long long)n->lo, (long long)n->hi, v);
        return -1;
    }
    char *p = (char *)o + n->off;
    switch (n->kind) {
    case N_SIZE: *(size_t *)p = (size_t)x; break;
    case N_U32: *(uint32_t *)p = (uint32_t)x; break;
    case N_MS: *(int64_t *)p = x * 1000; break;
    default: *(int *)p = (int)x; break;
    }
    return 0;
}

static int parse_args(int argc, char **argv, sv_opts *o)
{
    o->host = "127.0.0.1";
    o->port = 8080;
    o->workers = 1;
    o->lim = hs_default_limits();
    o->drain_us = 30000000;
    o->request_us = 300000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            if (o->policy) {
                fprintf(stderr, "routevm serve: one policy only ('%s' and '%s')\n", o->policy, a);
                return -1;
            }
            o->policy = a;
            continue;
        }
        if (!strcmp(a, "--allow-tests")) {
            o->allow_tests = 1;
            continue;
        }
        if (!strcmp(a, "--log-requests")) {
            o->log_requests = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "routevm serve: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--listen")) {
            if (parse_listen(v, o)) {
                fprintf(stderr, "routevm serve: --listen: expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080), "
                                "got '%s'\n", v);
                return -1;
            }
        } else if (!strcmp(a, "--keys"))
            o->keys = v;
        else if (!strcmp(a, "--trace"))
            o->trace = v;
        else if (!strcmp(a, "--state"))
            o->state = v;
        else if (!strcmp(a, "--trust"))
            o->trust = v;
        else if (!strcmp(a, "--port-file"))
            o->port_file = v;
        else {
            size_t k = 0;
            while (k < sizeof numopts / sizeof *numopts && strcmp(numopts[k].name, a))
                k++;
            if (k == sizeof numopts / sizeof *numopts) {
                fprintf(stderr, "routevm serve: unknown option '%s'\n", a);
                return -1;
            }
            if (set_num(o, &numopts[k], v))
                return -1;
        }
    }
    if (!o->policy) {
        fprintf(stderr, "routevm serve: no policy given\n");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- workers */

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    sv_worker *w = arg;
    if (hs_conns(w->http) == 0)
        event_base_loopexit(w->base, NULL);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    sv_worker *w = arg;
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0)
        (void)0;                /* the event fires once: what it counted does not matter */
    hs_drain(w->http);
    struct timeval every = { 0, 20000 };
    event_add(w->drain_check, &every);
    struct timeval limit = { (time_t)(w->app->o.drain_us / 1000000), (suseconds_t)(w->app->o.drain_us % 1000000) };
    event_base_loopexit(w->base, &limit);
}

static void *worker_main(void *arg)
{
    sv_worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static int worker_init(sv_app *a, sv_worker *w, int id, int port, char *err, size_t errlen)
{
    w->app = a;
    w->id = id;
    id_head(w);
    w->base = event_base_new();
    w->met = mt_new();
    w->reqpool = req_pool_new();
    if (!w->base || !w->met || !w->reqpool) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(w->ce = ce_new(w->base))) {
        snprintf(err, errlen, "the HTTP client engine failed to start");
        return -1;
    }
    /* the one word from another thread (sv_main, on SIGTERM) comes through
       an eventfd, so that the loop itself needs no locks (libevent's
       evthread: a mutex around every event_add and event_del, some 7 a
       request) */
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->drain_ev = fd >= 0 ? event_new(w->base, fd, EV_READ, on_drain, w) : NULL;
    if (fd >= 0 && !w->drain_ev)
        close(fd);
    if (w->drain_ev)
        event_add(w->drain_ev, NULL);
    w->drain_check = event_new(w->base, -1, EV_PERSIST, drain_check, w);
    hs_app app = { w, api_request };
    w->http = hs_new(w->base, a->o.host, port, &a->o.lim, a->shared, &app, err, errlen);
    return w->http && w->drain_ev && w->drain_check ? 0 : -1;
}

static void worker_free(sv_worker *w)
{
    hs_free(w->http);           /* requests still in flight are aborted: their calls cancelled */
    ce_free(w->ce);
    wp_unref(w->wp);
    req_pool_free(w->reqpool);  /* after every request was freed (hs_free aborted the last) */
    if (w->drain_ev) {
        close(event_get_fd(w->drain_ev));
        event_free(w->drain_ev);
    }
    if (w->drain_check)
        event_free(w->drain_check);
    if (w->base)
        event_base_free(w->base);
    mt_free(w->met);
}

/* ---------------------------------------------------------------- signals */

static void reload(sv_app *a, uint64_t *gen)
{
    char err[1024];
    sp_opts so = { a->o.trust, a->o.allow_tests };
    sp_policy *p = sp_load(a->o.policy, &so, *gen + 1, NULL, err, sizeof err);
    lg_line l;
    if (!p) {
        atomic_fetch_add(&a->reloads_failed, 1);
        lg_begin(&l, "error", "policy_reload_refused");
        lg_str(&l, "msg", err);
        lg_str(&l, "action", "the previous policy keeps serving");
        lg_end(&l);
    } else {
        ++*gen;
        sp_install(p);
        atomic_fetch_add(&a->reloads_ok, 1);
        lg_begin(&l, "info", "policy_reloaded");
        lg_str(&l, "policy", p->digest);
        lg_int(&l, "generation", (int64_t)*gen);
        lg_int(&l, "agents", p->p->nagent);
        lg_end(&l);
    }
    if (a->o.keys) {
        sv_keys *k = load_keys(a->o.keys, NULL, err, sizeof err);
        if (!k) {
            lg_begin(&l, "error", "keys_reload_refused");
            lg_str(&l, "msg", err);
            lg_str(&l, "action", "the previous keys stay in force");
            lg_end(&l);
        } else {
            lg_begin(&l, "info", "keys_reloaded");
            lg_int(&l, "keys", ky_count(k->set));
            lg_end(&l);
            install_keys(a, k);
        }
    }
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f))
        return -1;
    return rename(tmp, path);
}

/* ---------------------------------------------------------------- main */

static int start(sv_app *a, sigset_t *set, uint64_t *gen)
{
    char err[1024];
    sp_opts so = { a->o.trust, a->o.allow_tests };
    int unreadable = 0;
    sp_policy *p = sp_load(a->o.policy, &so, 1, &unreadable, err, sizeof err);
    if (!p) {   /* (a file that cannot be read is an I/O error, 2, as for every command) */
        lg_msg("error", unreadable ? "policy_unreadable" : "policy_refused", err);
        return unreadable ? 2 : 1;
    }
    *gen = 1;
    sp_install(p);
    if (a->o.keys) {
        sv_keys *k = load_keys(a->o.keys, &unreadable, err, sizeof err);
        if (!k) {
            lg_msg("error", unreadable ? "keys_unreadable" : "keys_refused", err);
            return unreadable ? 2 : 1;
        }
        install_keys(a, k);
    }
    if (!(a->ledger = ld_open(a->o.state, err, sizeof err))) {
        lg_msg("error", "ledger_failed", err);
        return 2;
    }
    if (a->o.trace && !(a->trace = fopen(a->o.trace, "a"))) {
        snprintf(err, sizeof err, "cannot open %s: %s", a->o.trace, strerror(errno));
        lg_msg("error", "trace_failed", err);
        return 2;
    }
    if (!(a->shared = hs_shared_new()) || !(a->workers = mem_calloc((size_t)a->o.workers, sizeof *a->workers))) {
        lg_msg("error", "start_failed", "out of memory");
        return 2;
    }
    int port = a->o.port;
    for (int i = 0; i < a->o.workers; i++) {
        a->nworkers = i + 1;
        if (worker_init(a, &a->workers[i], i, port, err, sizeof err)) {
            lg_msg("error", "listen_failed", err);
            return 2;
        }
        port = hs_port(a->workers[i].http);    /* port 0: every worker on the port the first got */
    }
    if (a->o.port_file && write_port_file(a->o.port_file, port)) {
        lg_msg("error", "start_failed", "cannot write the port file");
        return 2;
    }
    for (int i = 0; i < a->nworkers; i++) {
        if (pthread_create(&a->workers[i].thread, NULL, worker_main, &a->workers[i])) {
            lg_msg("error", "start_failed", "cannot start a worker thread");
            return 2;
        }
        a->nstarted = i + 1;
    }
    lg_line l;
    lg_begin(&l, "info", "listening");
    lg_str(&l, "host", a->o.host);
    lg_int(&l, "port", port);
    lg_int(&l, "workers", a->nworkers);
    lg_str(&l, "policy", p->digest);
    lg_int(&l, "agents", p->p->nagent);
    if (a->keys)
        lg_int(&l, "keys", ky_count(a->keys->set));
    else
        lg_str(&l, "keys", "none: every client may use every agent (no --keys)");
    lg_str(&l, "ledger", a->o.state ? a->o.state : "memory only (no --state)");
    lg_end(&l);
    return 0;
}

int sv_main(int argc, char **argv)
{
    sv_app a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a.o)) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);     /* the workers inherit it: only sigwait sees them */
    pthread_mutex_init(&a.keys_mu, NULL);
    pthread_mutex_init(&a.trace_mu, NULL);
    unsigned char rnd[6] = { 0 };
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memset(rnd, 0, sizeof rnd);
    for (int i = 0; i < 6; i++)
        snprintf(a.idprefix + 2 * i, 3, "%02x", rnd[i]);
    uint64_t gen = 0;
    int rc = start(&a, &set, &gen);
    if (rc == 0) {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig))
                continue;
            if (sig == SIGHUP) {
                reload(&a, &gen);
                continue;
            }
            lg_line l;
            lg_begin(&l, "info", "draining");
            lg_str(&l, "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            lg_int(&l, "connections", hs_shared_conns(a.shared));
            lg_end(&l);
            break;
        }
    }
    for (int i = 0; i < a.nstarted; i++) {
        uint64_t one = 1;
        if (write(event_get_fd(a.workers[i].drain_ev), &one, sizeof one) < 0)
            lg_msg("error", "drain_failed", "a worker could not be told to drain");
    }
    for (int i = 0; i < a.nstarted; i++)
        pthread_join(a.workers[i].thread, NULL);
    for (int i = 0; i < a.nworkers; i++)
        worker_free(&a.workers[i]);
    free(a.workers);
    if (a.ledger && ld_flush(a.ledger) && rc == 0)
        lg_msg("error", "ledger_failed", "the spend ledger could not be written");
    ld_close(a.ledger);
    if (a.trace)
        fclose(a.trace);
    hs_shared_free(a.shared);
    install_keys(&a, NULL);
    sp_install(NULL);
    pthread_mutex_destroy(&a.keys_mu);
    pthread_mutex_destroy(&a.trace_mu);
    if (rc == 0)
        lg_msg("info", "stopped", "every request in flight was answered or the drain timeout passed");
    return rc;
}
