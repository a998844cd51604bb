/* 'routevm run'; see run.h.

   One request, one thread, one HTTP engine with its built-in poll loop
   driving the request driver (vm/providers/drive.h) -- the same driver
   the gateway runs on its event loops.  What this file adds is the
   command line's side: the request read from a file, the agent looked
   up, the answer, the error or the streamed events printed to a FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "drive.h"
#include "envmem.h"
#include "health.h"
#include "run.h"

typedef struct {
    const run_opts *o;
    int ended;
    rv_status st;
} run_ctx;

static int out_bytes(void *ud, const char *p, size_t n)
{
    run_ctx *x = ud;
    fwrite(p, 1, n, x->o->out);
    return fflush(x->o->out) != 0;
}

static void on_done(void *ud, rv_status st)
{
    run_ctx *x = ud;
    x->ended = 1;
    x->st = st;
}

/* An OpenAI-style error: the whole output, or for a stream an SSE event
   (no [DONE] after it: the stream did not end cleanly). */
static void print_error(const run_opts *o, const dr_err *e)
{
    size_t n = 0;
    char *s = dr_error_json(e, &n);
    if (!s)
        return;
    fprintf(o->out, o->stream ? "data: %s\n\n" : "%s\n", s);
    fflush(o->out);
    free(s);
}

static void print_bad(const run_opts *o, const char *code, const char *msg)
{
    dr_err e = { 400, "invalid_request_error", code, "" };
    snprintf(e.message, sizeof e.message, "%s", msg);
    print_error(o, &e);
}

static void make_id(char *buf, size_t size)
{
    unsigned char b[12];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        memset(b, 0, sizeof b);
    size_t at = (size_t)snprintf(buf, size, "chatcmpl-");
    for (size_t i = 0; i < sizeof b && at + 3 <= size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%02x", b[i]);
}

/* The decision has ended: print what the driver did not stream. */
static int finish_request(dr_req *d, const run_opts *o, rv_status st)
{
    if (st == RV_DONE) {
        if (!o->stream) {
            size_t n = 0;
            char *s = dr_answer_json(d, &n);
            if (s) {
                fprintf(o->out, "%s\n", s);
                fflush(o->out);
            }
            free(s);
        }
        return RUN_ANSWERED;
    }
    dr_err e;
    dr_error(d, st, &e);
    if (!dr_streamed(d))        /* else the driver sent the terminal error event */
        print_error(o, &e);
    return st == RV_DENIED ? RUN_DENIED : RUN_FAILED;
}

int run_request(const rv_program *p, const char *body, size_t len, const run_opts *o)
{
    char reqid[40], err[256];
    make_id(reqid, sizeof reqid);
    rv_reqerr rerr;
    rv_request *req = req_parse(body, len, NULL, &rerr);
    if (!req) {
        print_bad(o, "invalid_request", rerr.msg);
        return RUN_BAD;
    }
    uint32_t agent = o->agent ? vm_agent(p, o->agent, strlen(o->agent)) : vm_agent(p, req->model.s, req->model.len);
    if (agent == RV_NONE) {
        snprintf(err, sizeof err, "no agent named '%.100s' in the policy",
                 o->agent ? o->agent : req->model.len ? req->model.s : "(none)");
        print_bad(o, "model_not_found", err);
        req_free(req);
        return RUN_BAD;
    }
    int rc = RUN_USAGE;
    rv_image img = { 0 };
    if (vm_image_init(&img, p, err, sizeof err)) {
        fprintf(stderr, "routevm: %s\n", err);
        if (img.p)
            vm_image_free(&img);
        req_free(req);
        return RUN_BAD;
    }
    run_ctx x = { o, 0, RV_FAILED };
    bi_langdet *lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    rv_memenv *env = memenv_new(p->nmodel);
    hl_health *health = env ? hl_new(p, env) : NULL;
    rl_limiter *limits = rl_new(p);     /* this request's calls only: one request per process */
    if (health)
        hl_limit(health, limits);
    rv_vm *vm = health && limits ? vm_new(&img, memenv_env(env), lang) : NULL;
    hc_engine *eng = hc_new(NULL);
    dr_opts dopt = { .p = p, .vm = vm, .eng = eng, .health = health, .stream = o->stream, .trace = o->trace != NULL,
                     .connect_timeout_us = o->connect_timeout_us, .first_byte_timeout_us = o->first_byte_timeout_us,
                     .idle_timeout_us = o->idle_timeout_us, .endpoints = o->endpoints, .nendpoints = o->nendpoints };
    dr_handler h = { out_bytes, NULL, NULL, on_done };
    dr_req *d = vm && eng ? dr_new(&dopt, &h, &x) : NULL;
    if (!d) {
        fprintf(stderr, "routevm: out of memory (or the HTTP client failed to start)\n");
        goto out;
    }
    int64_t now = (int64_t)time(NULL) * 1000000;
    dr_start(d, agent, req, now + (o->deadline_us > 0 ? o->deadline_us : 300000000), reqid);
    while (!x.ended)
        if (hc_run_once(eng, -1) < 0) {
            fprintf(stderr, "routevm: the event loop failed\n");
            dr_cancel(d);
            break;
        }
    if (x.ended) {
        rc = finish_request(d, o, x.st);
        if (o->trace && dr_write_trace(d, o->trace, NULL))
            fprintf(stderr, "routevm: could not write the trace\n");
    }
out:
    dr_free(d);
    hc_free(eng);
    vm_free(vm);
    hl_free(health);
    rl_free(limits);
    memenv_free(env);
    bi_lang_free(lang);
    vm_image_free(&img);
    req_free(req);
    return rc;
}
