/* mockprov: a scripted model provider for routevm's end-to-end tests and
   demo.  It listens on 127.0.0.1 (an ephemeral port unless told), speaks
   the OpenAI chat-completions, Anthropic Messages and Bedrock Converse /
   ConverseStream dialects (verifying SigV4 signatures), answers
   from a script (script.h, README.md) and injects the faults the script
   names.  This file holds the command line, routing by path, the request
   log and the process's lifetime: it exits 0 on SIGTERM or SIGINT, or when
   --max-seconds have passed, closing every connection first.

   The neighbours: http.c reads requests and carries out plans; openai.c,
   anthropic.c, bedrock.c (and their helpers in dialect.c) decide what to answer;
   plan.c turns an answer into timed bytes. */
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "anthropic.h"
#include "bedrock.h"
#include "dialect.h"
#include "http.h"
#include "openai.h"

typedef struct {
    dl_config cfg;
    FILE *log;
    struct event_base *base;
} mock;

static const char usage[] =
    "usage: mockprov --script FILE [--port N] [--port-file FILE] [--log FILE]\n"
    "                [--max-seconds N] [--openai-key K] [--anthropic-key K]\n"
    "                [--aws-access-key ID --aws-secret-key KEY [--aws-region R]]\n"
    "                [--openai-prefix /v1] [--max-body BYTES] [--max-conns N]\n"
    "                [--request-ms N] [--tls-cert FILE --tls-key FILE]\n"
    "Serves the scripted OpenAI, Anthropic and Bedrock dialects on 127.0.0.1 and prints\n"
    "the port on stdout (and into --port-file).  See tests/mock/README.md.\n";

/* ---- the request log: one JSON object per line ----------------------- */

/* Header values that would put a key into the log. */
static json_t *logged_value(const char *name, const char *value)
{
    if (!strcmp(name, "x-api-key") || !strcmp(name, "x-amz-security-token"))
        return json_string("[redacted]");
    if (!strcmp(name, "authorization") && !strncmp(value, "Bearer ", 7))
        return json_string("Bearer [redacted]");
    json_t *s = json_string(value);
    return s ? s : json_string("[not UTF-8]");
}

static json_t *logged_headers(const http_request *req)
{
    json_t *h = json_object();
    for (size_t i = 0; i < req->nheaders && h; i++) {
        const char *n = req->headers[i].name;
        json_t *old = json_object_get(h, n);
        if (old) {
            /* repeated header: keep every value, as a list */
            if (!json_is_array(old)) {
                json_t *arr = json_array();
                json_array_append(arr, old);
                json_object_set_new(h, n, arr);
                old = arr;
            }
            json_array_append_new(old, logged_value(n, req->headers[i].value));
        } else {
            json_object_set_new(h, n, logged_value(n, req->headers[i].value));
        }
    }
    return h;
}

static void log_request(mock *m, const http_request *req, const dl_result *res)
{
    if (!m->log)
        return;
    json_error_t je;
    json_t *body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &je);
    json_t *o = json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)req->id, "method", req->method, "path",
                          req->target, "headers", logged_headers(req));
    if (!o) {
        json_decref(body);
        return;
    }
    if (body)
        json_object_set_new(o, "body", body);
    else if (req->body_len) {
        json_t *text = json_stringn(req->body, req->body_len);
        json_object_set_new(o, "body_text", text ? text : json_string("[not UTF-8]"));
    }
    const dl_info *in = &res->info;
    json_object_set_new(o, "dialect", json_string(in->dialect ? in->dialect : "none"));
    if (in->model[0])
        json_object_set_new(o, "model", json_string(in->model));
    if (in->auth)
        json_object_set_new(o, "auth", json_string(in->auth));
    json_object_set_new(o, "stream", json_boolean(in->stream));
    if (in->rule) {
        json_object_set_new(o, "rule", json_string(in->rule));
        json_object_set_new(o, "nth", json_integer(in->nth));
        json_object_set_new(o, "rule_nth", json_integer(in->rule_nth));
    }
    if (in->fault)
        json_object_set_new(o, "fault", json_string(in->fault));
    json_object_set_new(o, "status", json_integer(res->reply.status));
    if (in->error[0])
        json_object_set_new(o, "error", json_string(in->error));
    json_dumpf(o, m->log, JSON_COMPACT);
    fputc('\n', m->log);
    fflush(m->log);
    json_decref(o);
}

/* ---- routing --------------------------------------------------------- */

static int path_is(const http_request *req, const char *prefix, const char *rest)
{
    size_t lp = strlen(prefix), lr = strlen(rest);
    return req->path_len == lp + lr && !memcmp(req->target, prefix, lp) && !memcmp(req->target + lp, rest, lr);
}

static void no_route(dl_result *res, const http_request *req, int status)
{
    snprintf(res->info.error, sizeof res->info.error, "%s %.*s: %s", req->method, (int)(req->path_len > 120 ? 120 : req->path_len),
             req->target, status == 405 ? "method not allowed" : "no such route");
    json_t *b = json_pack("{s:{s:s,s:s}}", "error", "message", res->info.error, "type",
                          status == 405 ? "method_not_allowed" : "not_found");
    dl_error_reply(&res->reply, status, b, "application/json", NULL);
    if (status == 405)
        rp_header(&res->reply, "Allow", "POST");
}

static void route(mock *m, const http_request *req, dl_result *res)
{
    void (*handler)(const dl_config *, const http_request *, dl_result *) = NULL;
    if (path_is(req, m->cfg.openai_prefix, "/chat/completions"))
        handler = oai_handle;
    else if (path_is(req, "/v1/messages", ""))
        handler = ant_handle;
    else if (req->path_len > 7 && !memcmp(req->target, "/model/", 7))
        handler = bed_handle;
    if (!handler) {
        no_route(res, req, 404);
        return;
    }
    if (strcmp(req->method, "POST")) {
        no_route(res, req, 405);
        return;
    }
    handler(&m->cfg, req, res);
}

static void handle(void *arg, const http_request *req, plan *out)
{
    mock *m = arg;
    dl_result res;
    memset(&res, 0, sizeof res);
    route(m, req, &res);
    if (res.reply.failed || !res.reply.content_type) {
        out->failed = 1;      /* out of memory: the connection is reset */
    } else {
        plan_build(out, &res.reply, res.has_answer ? &res.answer : NULL, req->keep_alive);
    }
    log_request(m, req, &res);
    dl_result_free(&res);
}

/* ---- lifetime -------------------------------------------------------- */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

typedef struct {
    const char *script, *port_file, *log;
    long port, max_seconds, max_body, max_conns, request_ms;
    const char *tls_cert, *tls_key;     /* PEM files: TLS on every connection */
} options;

static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o, dl_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        }
        if (!strcmp(a, "--script")) o->script = v;
        else if (!strcmp(a, "--port-file")) o->port_file = v;
        else if (!strcmp(a, "--log")) o->log = v;
        else if (!strcmp(a, "--openai-key")) cfg->openai_key = v;
        else if (!strcmp(a, "--anthropic-key")) cfg->anthropic_key = v;
        else if (!strcmp(a, "--aws-access-key")) cfg->aws_access_key = v;
        else if (!strcmp(a, "--aws-secret-key")) cfg->aws_secret_key = v;
        else if (!strcmp(a, "--aws-region")) cfg->aws_region = v;
        else if (!strcmp(a, "--openai-prefix")) ok = ok && (v[0] == '/' || !v[0]), cfg->openai_prefix = v;
        else if (!strcmp(a, "--port")) ok = ok && !number(v, 0, 65535, &o->port);
        else if (!strcmp(a, "--max-seconds")) ok = ok && !number(v, 1, 86400, &o->max_seconds);
        else if (!strcmp(a, "--max-body")) ok = ok && !number(v, 1, 1L << 30, &o->max_body);
        else if (!strcmp(a, "--max-conns")) ok = ok && !number(v, 1, 100000, &o->max_conns);
        else if (!strcmp(a, "--request-ms")) ok = ok && !number(v, 1, 3600000, &o->request_ms);
        else if (!strcmp(a, "--tls-cert")) o->tls_cert = v;
        else if (!strcmp(a, "--tls-key")) o->tls_key = v;
        else {
            fprintf(stderr, "mockprov: unknown option '%s'\n%s", a, usage);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "mockprov: option %s needs a valid value\n", a);
            return -1;
        }
        i++;
    }
    if (!o->script) {
        fprintf(stderr, "mockprov: --script is required\n%s", usage);
        return -1;
    }
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "mockprov: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

/* Command-line settings win over the script's "auth" and "openai_prefix". */
static void merge_auth(dl_config *cfg, const scr_auth *a)
{
    if (!cfg->openai_key) cfg->openai_key = a->openai_key;
    if (!cfg->anthropic_key) cfg->anthropic_key = a->anthropic_key;
    if (!cfg->aws_access_key) cfg->aws_access_key = a->aws_access_key;
    if (!cfg->aws_secret_key) cfg->aws_secret_key = a->aws_secret_key;
    if (!cfg->aws_region) cfg->aws_region = a->aws_region;
    if (!cfg->openai_prefix) cfg->openai_prefix = a->openai_prefix ? a->openai_prefix : "/v1";
}

/* Bedrock verification needs both halves of the key pair or neither. */
static int check_aws(const dl_config *cfg)
{
    if (!cfg->aws_access_key != !cfg->aws_secret_key) {
        fprintf(stderr, "mockprov: an AWS access key needs its secret key, and the other way round\n");
        return -1;
    }
    return 0;
}

/* The TLS context of --tls-cert and --tls-key; NULL with a message. */
static SSL_CTX *tls_context(const options *o)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c || SSL_CTX_use_certificate_chain_file(c, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        !SSL_CTX_set_session_id_context(c, (const unsigned char *)"mockprov", 8)) {
        fprintf(stderr, "mockprov: cannot use %s and %s for TLS\n", o->tls_cert, o->tls_key);
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

static int serve(mock *m, const options *o)
{
    http_limits lim = { (size_t)o->max_body, (unsigned)o->max_conns, (unsigned)o->request_ms, NULL };
    if (o->tls_cert && !(lim.tls = tls_context(o)))
        return 1;
    int port = 0, rc = 1;
    struct timeval life = { o->max_seconds, 0 };
    m->base = event_base_new();
    http_server *srv = m->base ? http_server_new(m->base, (int)o->port, &lim, handle, m, &port) : NULL;
    struct event *term = srv ? evsignal_new(m->base, SIGTERM, stop_cb, m->base) : NULL;
    struct event *intr = term ? evsignal_new(m->base, SIGINT, stop_cb, m->base) : NULL;
    struct event *end = intr ? evtimer_new(m->base, stop_cb, m->base) : NULL;
    if (!end) {
        fprintf(stderr, "mockprov: cannot listen on 127.0.0.1:%ld: %s\n", o->port, strerror(errno));
    } else if (o->port_file && write_port_file(o->port_file, port)) {
        fprintf(stderr, "mockprov: cannot write %s: %s\n", o->port_file, strerror(errno));
    } else {
        evsignal_add(term, NULL);
        evsignal_add(intr, NULL);
        evtimer_add(end, &life);
        printf("%d\n", port);
        fflush(stdout);
        event_base_dispatch(m->base);
        rc = 0;
    }
    if (end) event_free(end);
    if (intr) event_free(intr);
    if (term) event_free(term);
    http_server_free(srv);
    if (m->base)
        event_base_free(m->base);
    SSL_CTX_free(lim.tls);
    return rc;
}

int main(int argc, char **argv)
{
    options o = { .max_seconds = 300, .max_body = 8L << 20, .max_conns = 256, .request_ms = 10000 };
    mock m;
    char err[1024];
    memset(&m, 0, sizeof m);
    signal(SIGPIPE, SIG_IGN);
    if (parse_args(argc, argv, &o, &m.cfg))
        return 2;
    m.cfg.script = scr_load(o.script, err, sizeof err);
    if (!m.cfg.script) {
        fprintf(stderr, "mockprov: %s\n", err);
        return 2;
    }
    merge_auth(&m.cfg, scr_auth_of(m.cfg.script));
    if (check_aws(&m.cfg)) {
        scr_free(m.cfg.script);
        return 2;
    }
    if (o.log && !(m.log = fopen(o.log, "a"))) {
        fprintf(stderr, "mockprov: cannot open %s: %s\n", o.log, strerror(errno));
        scr_free(m.cfg.script);
        return 2;
    }
    int rc = serve(&m, &o);
    if (m.log)
        fclose(m.log);
    scr_free(m.cfg.script);
    return rc;
}
