/* libFuzzer target: the gateway's whole application -- keys, the chat
   endpoint (vm/serve/chat.c: body, agent, routing hints from metadata and
   X-Route-* headers, the key's budgets), the request driver shared with
   'routevm run' (vm/providers/drive.c) and the provider answer parsers --
   with bytes from a client AND bytes from the provider both taken from
   the input.  fuzz_serve covers the HTTP server with an application of
   its own; this one runs the real one.

   Input: byte 0 flags (bit 0: small server limits; bit 1: no keys file),
   bytes 1-2 the length L (little-endian) of the provider's answer, then L
   bytes that an in-process upstream on 127.0.0.1 writes to every
   connection it accepts (after reading the request head) before closing,
   then the client's bytes, written to the server's end of a socket pair.
   The policy is tests/serve/policy.route.in with its endpoint on that
   upstream; the keys are sk-all (every agent), sk-support (one agent),
   sk-capkey (a $1 daily budget), sk-tinykey (a tiny per-request budget).

   Properties, any failure an abort(): every request is answered or the
   connection closed within 20 s (retries with backoff and the
   policy's timeouts are real time); every body the upstream receives
   whole (with a Content-Length, under 64 KiB) is one valid JSON text,
   whatever the client wrote (the client's values are copied into it as
   written: vm/providers/conv.h); everything written back is a
   sequence of HTTP/1.1 responses with documented statuses
   (tests/fuzz/httpcheck.h, shared with fuzz_serve); no open reservation is left
   in the ledger; no sanitizer report, no leak.

   Seeds: tests/fuzz/corpus/gateway/ (FUZZ_GATEWAY_SHOW=1 prints what the
   client got for each input).

   The allocation-failure sweep (tests/unit/gateway_oom_test.c) includes
   this file and runs inputs with fuzz_gateway_fail_at set: the same
   run and checks, with every allocation after the first fail_at made
   from the connection's arrival on failing (mem_fail_after; with
   fuzz_gateway_fail_once, only the one after them: mem_fail_nth), and
   no failing from the checks on. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <yajl/yajl_parse.h>

#include "api.h"
#include "curlev.h"
#include "httpcheck.h"
#include "keys.h"
#include "ledger.h"
#include "log.h"
#include "mem.h"
#include "policy.h"
#include "serve.h"
#include "wpol.h"

static sv_app app;
static struct event_base *base;
static struct evconnlistener *upstream;
static const uint8_t *answer;       /* the provider's bytes for this input */
static size_t answer_len;
/* The sweep's mode: >= 0, the allocations after the first this many fail
   while the client's bytes are handled (fail_once: only the next one).  fuzz_gateway_allocs gets how
   many allocations the last input made there; fuzz_gateway_seen, when
   set, is shown what the client got (after the checks above). */
static long fuzz_gateway_fail_at = -1;
static int fuzz_gateway_fail_once;
static unsigned long fuzz_gateway_allocs;
static void (*fuzz_gateway_seen)(const char *out, size_t n);

/* ---------------------------------------------------------------- the upstream */

static void up_event(struct bufferevent *bev, short what, void *ud)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void up_flushed(struct bufferevent *bev, void *ud)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_free(bev);
}

/* A provider's request body: one valid JSON text (yajl with no
   callbacks checks the syntax and the UTF-8, and nothing else). */
static void check_body(const unsigned char *b, size_t n)
{
    yajl_handle y = yajl_alloc(NULL, NULL, NULL);
    if (!y)
        return;
    int ok = yajl_parse(y, b, n) == yajl_status_ok && yajl_complete_parse(y) == yajl_status_ok;
    yajl_free(y);
    if (!ok) {
        fprintf(stderr, "fuzz_gateway: the upstream was sent a body that is not JSON: %.*s\n", (int)(n < 400 ? n : 400),
                (const char *)b);
        abort();
    }
}

/* The request has arrived (its head, and the body its Content-Length
   announces): check the body, answer with the input's bytes, close. */
static void up_read(struct bufferevent *bev, void *ud)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (have < 65536) {
        if (e.pos < 0)
            return;
        const char *head = (const char *)evbuffer_pullup(in, e.pos);
        const char *cl = memmem(head, (size_t)e.pos, "\r\nContent-Length: ", 18);
        size_t body = cl ? strtoul(cl + 18, NULL, 10) : 0;
        if (have < (size_t)e.pos + 4 + body)
            return;
        if (cl)
            check_body(evbuffer_pullup(in, e.pos + 4 + (ssize_t)body) + e.pos + 4, body);
    }
    evbuffer_drain(in, have);
    bufferevent_setcb(bev, NULL, up_flushed, up_event, NULL);
    bufferevent_disable(bev, EV_READ);
    if (answer_len)
        bufferevent_write(bev, answer, answer_len);
    else
        bufferevent_free(bev);
}

static void up_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *ud)
{
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return;
    }
    bufferevent_setcb(bev, up_read, NULL, up_event, NULL);
    bufferevent_enable(bev, EV_READ);
}

/* ---------------------------------------------------------------- set-up, once */

static void init(void)
{
    lg_set_output(fopen("/dev/null", "w"));
    base = event_base_new();
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    upstream = base ? evconnlistener_new_bind(base, up_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                              (struct sockaddr *)&sin, sizeof sin)
                    : NULL;
    if (!upstream)
        abort();
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    getsockname(evconnlistener_get_fd(upstream), (struct sockaddr *)&got, &gl);
    char path[64];
    httpcheck_policy(ntohs(got.sin_port), path, "fuzz_gateway");
    char err[1024];
    sp_opts so = { NULL, 0 };
    sp_policy *p = sp_load(path, &so, 1, NULL, err, sizeof err);
    unlink(path);
    if (!p) {
        fprintf(stderr, "fuzz_gateway: %s\n", err);
        abort();
    }
    sp_install(p);
    app.o.request_us = 5000000;
    app.o.lim = hs_default_limits();
    pthread_mutex_init(&app.keys_mu, NULL);
    pthread_mutex_init(&app.trace_mu, NULL);
    snprintf(app.idprefix, sizeof app.idprefix, "fuzz");
    if (!(app.ledger = ld_open(NULL, err, sizeof err)) || !(app.shared = hs_shared_new()))
        abort();
    setenv("ROUTEVM_TEST_OPENAI_KEY", "sk-upstream-fuzz", 1);
}

static sv_keys *keys_new(void)
{
    static const char text[] = "sk-all *\nsk-support support\nsk-capkey lavish budget $1 per day\n"
                               "sk-tinykey lavish,billing budget $0.000000001 per request\n";
    char err[256];
    sv_keys *k = calloc(1, sizeof *k);
    if (!k || !(k->set = ky_parse(text, sizeof text - 1, err, sizeof err)))
        abort();
    k->refs = 1;
    return k;
}

/* ---------------------------------------------------------------- one input */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        init();
    if (size < 3 || size > 200000)
        return 0;
    answer_len = (size_t)data[1] | (size_t)data[2] << 8;
    if (answer_len > size - 3)
        answer_len = size - 3;
    answer = data + 3;
    const uint8_t *client = answer + answer_len;
    size_t client_len = size - 3 - answer_len;

    hs_limits lim = httpcheck_limits(data[0]);
    app.o.lim = lim;
    app.keys = data[0] & 2 ? NULL : keys_new();
    sv_worker w;
    memset(&w, 0, sizeof w);
    w.app = &app;
    w.base = base;
    w.met = mt_new();
    w.ce = ce_new(base);
    char err[256];
    hs_app ha = { &w, api_request };
    w.http = w.met && w.ce ? hs_new(base, NULL, 0, &lim, app.shared, &ha, err, sizeof err) : NULL;
    int sv[2];
    if (!w.http || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        abort();
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (fuzz_gateway_fail_at >= 0 && fuzz_gateway_fail_once)
        mem_fail_nth(fuzz_gateway_fail_at);
    else if (fuzz_gateway_fail_at >= 0)
        mem_fail_after(fuzz_gateway_fail_at);
    unsigned long allocs = mem_count();
    hs_adopt(w.http, sv[1]);
    size_t off = 0;
    char *out = NULL;
    size_t olen = 0, ocap = 0;
    int quiet = 0, closed = 0;
    int64_t until = wall_ms() + 20000;
    struct timeval tick = { 0, 2000 };
    /* The client's end stays open while requests are answered (the
       server takes a client's EOF as the client leaving, which cancels
       its request); once everything is sent and nothing has happened
       for 10 turns with no request in flight, the client closes. */
    while (hs_conns(w.http) > 0) {
        size_t before = olen, sent = off;
        if (!closed && off < client_len) {
            ssize_t n = send(sv[0], client + off, client_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                off = client_len;
        }
        event_base_loopexit(base, &tick);      /* curl's timers and sockets run; then the pump again */
        event_base_loop(base, EVLOOP_ONCE);
        for (;;) {
            if (olen + 65536 > ocap) {
                ocap = (olen + 65536) * 2;
                if (!(out = realloc(out, ocap)))
                    abort();
            }
            ssize_t r = closed ? 0 : recv(sv[0], out + olen, ocap - olen, MSG_DONTWAIT);
            if (r <= 0)
                break;
            olen += (size_t)r;
        }
        quiet = olen == before && off == sent && off >= client_len && hs_busy(w.http) == 0 ? quiet + 1 : 0;
        if (quiet >= 10 && !closed) {
            close(sv[0]);
            closed = 1;
        }
        if (wall_ms() > until) {
            fprintf(stderr, "fuzz_gateway: the connection was still open after 20 s\n");
            abort();
        }
    }
    fuzz_gateway_allocs = mem_count() - allocs;
    mem_fail_after(-1);
    static const int documented[] = { 100, 200, 400, 401, 403, 404, 405, 408, 411, 413, 414, 417, 429, 431,
                                      500, 501, 502, 503, 504, 505 };
    if (getenv("FUZZ_GATEWAY_SHOW"))       /* what the client got, to write seeds */
        fprintf(stderr, "%.*s\n----\n", (int)olen, out ? out : "");
    httpcheck_responses(out, olen, documented, sizeof documented / sizeof *documented,
                        memmem(client, client_len, "HEAD", 4) != NULL);
    if (fuzz_gateway_seen)
        fuzz_gateway_seen(out ? out : "", olen);
    free(out);
    if (!closed)
        close(sv[0]);
    hs_free(w.http);            /* requests still in flight are aborted: their calls cancelled */
    ce_free(w.ce);
    wp_unref(w.wp);
    mt_free(w.met);
    if (app.keys)
        sv_keys_unref(app.keys);
    app.keys = NULL;
    if (ld_open_tickets(app.ledger) != 0) {
        fprintf(stderr, "fuzz_gateway: %u reservations left open\n", ld_open_tickets(app.ledger));
        abort();
    }
    return 0;
}
