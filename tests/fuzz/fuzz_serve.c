/* libFuzzer target: arbitrary bytes from a client through the gateway's
   HTTP server (vm/serve/http.c) on a real libevent loop, and every chat
   request it lets through on to a decision: the request parser, the
   agent named by "model", guardrails and routing, with model calls
   answered by alternating successes and failures (no network).

   The first input byte picks the limits: bit 0 small caps (512-byte
   heads, 8 headers, 1 KiB bodies, 256-byte output), else the defaults;
   the rest is written to the server's end of a socket pair, and the
   client side is shut.  Properties, any failure an abort():
   - the loop ends (the server closes the connection once the input is
     consumed) within a bounded number of turns;
   - everything the server wrote back is a sequence of HTTP/1.1 responses
     with a status line whose status is one the server documents;
   - no sanitizer report, no leak.
   The policy is tests/serve/policy.route.in (compiled once, port 9: no
   call is ever made).  Seeds: tests/fuzz/corpus/serve/. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "compiler.h"
#include "envmem.h"
#include "http.h"
#include "httpcheck.h"
#include "verify.h"
#include "vm.h"

static rv_program *prog;
static rv_image img;
static rv_vm *vm;
static rv_memenv *env;

static void init(void)
{
    char path[64];
    httpcheck_policy(9, path, "fuzz_serve");
    rv_compiler *c = comp_new(NULL);
    rv_err err;
    if (!c || import_file(c, path) || comp_check(c) || !(prog = cg_program(c)) || ver_program(prog, &err)) {
        fprintf(stderr, "fuzz_serve: cannot compile %s\n", path);
        abort();
    }
    comp_free(c);
    unlink(path);
    char e[256];
    if (vm_image_init(&img, prog, e, sizeof e))
        abort();
    env = memenv_new(prog->nmodel);
    vm = vm_new(&img, memenv_env(env), NULL);
}

/* The application: chat requests are decided, the rest answered small. */
static void app_request(void *ud, hs_req *r)
{
    if (r->path_len != 20 || memcmp(r->path, "/v1/chat/completions", 20)) {
        hs_respond(r, 404, HS_LINE("application/json"), NULL, 0, "{}", 2);
        return;
    }
    rv_reqerr rerr;
    rv_request *q = req_parse(r->body, r->body_len, NULL, &rerr);
    if (!q) {
        hs_respond_error(r, 400, "invalid_request_error", rerr.msg, NULL, 0);
        return;
    }
    uint32_t agent = q->model.len ? vm_agent(prog, q->model.s, q->model.len) : RV_NONE;
    if (agent == RV_NONE) {
        hs_respond_error(r, 404, "model_not_found", "no such agent", NULL, 0);
        req_free(q);
        return;
    }
    rv_status st = vm_start(vm, agent, q, NULL);
    for (int i = 0; i < 64 && (st == RV_CALL || st == RV_HOOK); i++) {
        rv_outcome o = vm_outcome_init((i + r->body_len) % 3 != 0);
        o.text = (rv_sv){ "an answer 123-45-6789", 21 };
        o.usage = (rv_usage){ 10, 5, -1, -1, -1 };
        o.failure = RV_FAIL_SERVER;
        o.http_status = 503;
        st = vm_resume(vm, &o);
    }
    const rv_result *res = vm_result(vm);
    if (st == RV_DONE && r->body_len % 2)
        hs_respond(r, 200, HS_LINE("application/json"), NULL, 0, res->answer.s ? res->answer.s : "", res->answer.len);
    else if (st == RV_DONE) {
        hs_stream_start(r, 200, HS_LINE("text/event-stream"), NULL, 0);
        if (!hs_stream_write(r, res->answer.s ? res->answer.s : "", res->answer.len))
            hs_stream_end(r, NULL, 0);
    } else
        hs_respond_error(r, st == RV_DENIED ? 400 : 502, "failed", res->error ? res->error : "denied", NULL, 0);
    req_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog)
        init();
    if (size < 1 || size > 200000)
        return 0;
    hs_limits lim = httpcheck_limits(data[0]);
    struct event_base *base = event_base_new();
    hs_shared *sh = hs_shared_new();
    hs_app app = { NULL, app_request };
    char err[256];
    hs_server *s = hs_new(base, NULL, 0, &lim, sh, &app, err, sizeof err);
    int sv[2];
    if (!s || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        abort();
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    hs_adopt(s, sv[1]);
    size_t off = 1;
    char *out = NULL;
    size_t olen = 0, ocap = 0;
    int turns = 0, shut = 0;
    while (hs_conns(s) > 0) {
        if (off < size) {
            ssize_t w = send(sv[0], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                off = size;
        }
        if (off >= size && !shut) {
            shutdown(sv[0], SHUT_WR);
            shut = 1;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (;;) {
            if (olen + 65536 > ocap) {
                ocap = (olen + 65536) * 2;
                out = realloc(out, ocap);
                if (!out)
                    abort();
            }
            ssize_t r = recv(sv[0], out + olen, ocap - olen, MSG_DONTWAIT);
            if (r <= 0)
                break;
            olen += (size_t)r;
        }
        if (++turns > 100000)
            abort();        /* the server did not finish with a consumed input */
    }
    static const int documented[] = { 100, 200, 400, 404, 405, 408, 411, 413, 414, 417, 431, 501, 502, 503, 505 };
    httpcheck_responses(out, olen, documented, sizeof documented / sizeof *documented,
                        memmem(data + 1, size - 1, "HEAD", 4) != NULL);
    free(out);
    close(sv[0]);
    hs_free(s);
    hs_shared_free(sh);
    event_base_free(base);
    return 0;
}
