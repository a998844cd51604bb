/* The driver of the upstream client candidates (bench/upstream.sh).

   usage: upstream CANDIDATE PORT BODY_FILE ANSWER_FILE N [WARM [CA_FILE]]

   Sends WARM requests (default 10: the connection is made, caches and
   allocators settle), then N more inside up_measured(), the one
   function whose work the counts look at (callgrind --toggle-collect=
   up_measured); every answer must be status 200 with exactly the bytes
   of ANSWER_FILE.  With CA_FILE, PORT speaks TLS and its certificate
   must verify against CA_FILE for 127.0.0.1 (candidates that cannot do
   TLS refuse to start).  Prints one line:
     CANDIDATE[+tls] n=N wall_ns=W cpu_ns=C
   the wall and CPU (user + system, this process) time per request of the
   N measured requests.  Exit status 0, or 1 with a message when a
   request fails or an answer differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/event.h>

#include "cand.h"

static const up_cand *const cands[] = {
    &up_easy, &up_multi_url, &up_multi_curlu, &up_multi_keep, &up_routevm, &up_routevm_curl, &up_evhttp, &up_bev, &up_bev_now,
};

static const char *const lines[] = {
    "Authorization: Bearer sk-mock", "Content-Type: application/json", "Accept: application/json",
};
static const char *const names[] = { "Authorization", "Content-Type", "Accept" };
static const char *const values[] = { "Bearer sk-mock", "application/json", "application/json" };

/* The whole of file 'path' in a new buffer (the caller frees it). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *b = realloc(buf, cap);
            if (!b)
                break;
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f) || n == cap;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

typedef struct {
    const up_cand *c;
    void *st;
    const char *answer;
    size_t answer_len;
    up_resp resp;
    char err[256];
} run;

/* One request, its answer checked.  0, or -1 with the reason printed. */
static int one(run *r, long i)
{
    r->resp.status = 0;
    r->resp.len = 0;
    r->resp.overflow = 0;
    r->err[0] = 0;
    if (r->c->request(r->st, &r->resp, r->err, sizeof r->err)) {
        fprintf(stderr, "upstream: %s: request %ld: %s\n", r->c->name, i, r->err);
        return -1;
    }
    if (r->resp.status != 200 || r->resp.overflow || r->resp.len != r->answer_len ||
        memcmp(r->resp.buf, r->answer, r->answer_len)) {
        fprintf(stderr, "upstream: %s: request %ld: status %d, %zu body bytes%s: not the upstream's answer\n",
                r->c->name, i, r->resp.status, r->resp.len, r->resp.overflow ? " and more" : "");
        return -1;
    }
    return 0;
}

int up_loop(struct event_base *base, const int *done, char *err, size_t errlen)
{
    while (!*done)
        if (event_base_dispatch(base) != 0 && !*done) {
            snprintf(err, errlen, "the event loop failed or had nothing to wait for");
            return -1;
        }
    return 0;
}

static double now_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

/* The measured requests: everything the counts report happens in here. */
__attribute__((noinline)) int up_measured(run *r, long n, double *wall, double *cpu)
{
    double w0 = now_ns(CLOCK_MONOTONIC), c0 = cpu_ns();
    for (long i = 0; i < n; i++)
        if (one(r, i))
            return -1;
    *wall = now_ns(CLOCK_MONOTONIC) - w0;
    *cpu = cpu_ns() - c0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: upstream CANDIDATE PORT BODY_FILE ANSWER_FILE N [WARM [CA_FILE]]\ncandidates:");
        for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
            fprintf(stderr, " %s", cands[i]->name);
        fprintf(stderr, "\n");
        return 2;
    }
    run r = { 0 };
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (!strcmp(argv[1], cands[i]->name))
            r.c = cands[i];
    int port = atoi(argv[2]);
    long n = atol(argv[5]), warm = argc > 6 ? atol(argv[6]) : 10;
    if (!r.c || port <= 0 || port > 65535 || n <= 0 || warm < 1) {
        fprintf(stderr, "upstream: bad candidate, port, N or WARM (run without arguments for the usage)\n");
        return 2;
    }
    size_t body_len;
    char *body = slurp(argv[3], &body_len), *answer = (char *)slurp(argv[4], &r.answer_len);
    if (!body || !answer) {
        fprintf(stderr, "upstream: cannot read %s\n", body ? argv[4] : argv[3]);
        free(body);
        free(answer);
        return 2;
    }
    r.answer = answer;
    char url[128], hostport[64];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", port);
    const char *ca = argc > 7 ? argv[7] : NULL;
    snprintf(url, sizeof url, "%s://%s/v1/chat/completions", ca ? "https" : "http", hostport);
    up_conf conf = { "127.0.0.1", port, "/v1/chat/completions", url, hostport, lines, names, values,
                     sizeof lines / sizeof *lines, body, body_len, ca };
    int rc = 0;
    double wall = 0, cpu = 0;
    if (!(r.st = r.c->open(&conf, r.err, sizeof r.err))) {
        fprintf(stderr, "upstream: %s: %s\n", r.c->name, r.err);
        rc = 1;
    }
    for (long i = 0; i < warm && !rc; i++)
        rc = one(&r, -warm + i);
    if (!rc)
        rc = up_measured(&r, n, &wall, &cpu);
    if (r.st)
        r.c->close(r.st);
    free(body);
    free(answer);
    if (rc)
        return 1;
    printf("%s%s n=%ld wall_ns=%.0f cpu_ns=%.0f\n", r.c->name, ca ? "+tls" : "", n, wall / (double)n, cpu / (double)n);
    return 0;
}
