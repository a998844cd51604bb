/* libFuzzer target for the response side of the engine's own HTTP/1.1
   transport (vm/providers/h1.c through vm/providers/httpc.c): the bytes
   are what a fake upstream on 127.0.0.1 answers a GET with.

   The first input byte is a mode, the rest the answer (at most 64 KiB):
     bits 0-4  piece size pattern: the answer is written in pieces of
               1 .. (mode & 31) + 1 bytes, the engine reading each before
               the next is written
     bit 5     the upstream resets the connection at the end instead of
               closing it
     bit 6     the reader stops the call after 3 body bytes
   Properties, any failure an abort():
   - the call ends exactly once, with a status of its enum, without
     waiting for a deadline (the upstream's close ends every answer);
   - the answer written whole and written in pieces end with the same
     status, HTTP status, body bytes and body (unless the reader stops
     the call, where the pieces decide how much it saw);
   - a message never holds a byte of a header value (every value the
     seeds hold is "secret"), and is empty exactly on HC_OK.
   Seeds: tests/fuzz/corpus/h1/.  tests/suites/corpus.sh replays them
   through this harness (tests/fuzz/replay.c). */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"

typedef struct {
    int ended, stop;
    hc_done d;
    char msg[256];
    uint64_t hash;
    size_t seen;
} call;

static int on_data(void *ud, const char *p, size_t n)
{
    call *c = ud;
    for (size_t i = 0; i < n; i++)
        c->hash = (c->hash ^ (uint8_t)p[i]) * 1099511628211ull;
    c->seen += n;
    return c->stop && c->seen >= 3;
}

static void on_done(void *ud, const hc_done *d)
{
    call *c = ud;
    if (c->ended++)
        abort();                /* twice */
    c->d = *d;
    snprintf(c->msg, sizeof c->msg, "%s", d->message);
}

/* Listeners on 127.0.0.1, taken in turn: a connection closed by the
   upstream side leaves its port pair in TIME_WAIT for a minute, and with
   one listener a long run would use up the client's ephemeral ports. */
#define LISTENERS 16
static int listener(int *port)
{
    static int fd[LISTENERS], p[LISTENERS], made, next;
    if (!made) {
        for (int i = 0; i < LISTENERS; i++) {
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            socklen_t al = sizeof a;
            fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&a, sizeof a) || listen(fd[i], 64) ||
                getsockname(fd[i], (struct sockaddr *)&a, &al))
                abort();
            p[i] = ntohs(a.sin_port);
        }
        made = 1;
    }
    int i = next++ % LISTENERS;
    *port = p[i];
    return fd[i];
}

/* The engine's connection, accepted; the engine runs meanwhile (its
   connect may need a turn of the loop). */
static int accept_call(hc_engine *e, int lfd)
{
    for (int i = 0; i < 2000; i++) {
        struct pollfd pf = { lfd, POLLIN, 0 };
        if (poll(&pf, 1, 0) == 1)
            return accept(lfd, NULL, NULL);
        hc_run_once(e, 1000);
    }
    return -1;
}

/* Read the GET the engine sends (up to its blank line), running the
   engine until it is all written. */
static void read_request(hc_engine *e, int fd)
{
    char buf[2048];
    size_t len = 0;
    for (int i = 0; i < 200; i++) {
        hc_run_once(e, 0);
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
        if (n > 0) {
            len += (size_t)n;
            buf[len] = 0;
            if (strstr(buf, "\r\n\r\n"))
                return;
        } else
            hc_run_once(e, 1000);
    }
    abort();                    /* the request never came */
}

/* One call answered with 'ans'; 'piece' 0: in one write. */
static void one_call(const uint8_t *ans, size_t len, size_t piece, int reset, int stop, call *c)
{
    int port, lfd = listener(&port);
    hc_engine *e = hc_new(NULL);
    if (!e)
        abort();
    char url[64], err[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/x", port);
    static const char *const hdrs[] = { "Authorization: Bearer secret" };
    hc_spec s = { .url = url, .headers = hdrs, .nheaders = 1, .total_timeout_us = 10000000 };
    hc_handler h = { NULL, on_data, on_done };
    memset(c, 0, sizeof *c);
    c->stop = stop;
    c->hash = 1469598103934665603ull;
    if (!hc_start(e, &s, &h, c, err, sizeof err))
        abort();
    int fd = accept_call(e, lfd);
    if (fd < 0)
        abort();                /* the engine never connected */
    read_request(e, fd);
    for (size_t off = 0, k = 0; off < len && !c->ended; k++) {
        size_t n = piece ? 1 + k % piece : len;
        if (n > len - off)
            n = len - off;
        if (send(fd, ans + off, n, MSG_NOSIGNAL) < 0)
            break;
        off += n;
        hc_run_once(e, 0);
    }
    if (reset) {
        struct linger l = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(fd);
    for (int i = 0; i < 400 && !c->ended; i++)
        hc_run_once(e, 5000);
    if (!c->ended)
        abort();                /* waited for a deadline: the close should have ended it */
    hc_free(e);
    if ((unsigned)c->d.status > HC_ERROR || (c->d.status == HC_OK) != !c->msg[0] || strstr(c->msg, "secret"))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65537)
        return 0;
    unsigned mode = data[0];
    const uint8_t *ans = data + 1;
    size_t len = size - 1;
    call whole, split;
    one_call(ans, len, 0, mode & 32, mode & 64, &whole);
    one_call(ans, len, (mode & 31) + 1, mode & 32, mode & 64, &split);
    if (mode & 64)
        return 0;
    if (whole.d.status != split.d.status || whole.d.http_status != split.d.http_status ||
        whole.d.body_bytes != split.d.body_bytes || whole.hash != split.hash) {
        fprintf(stderr, "whole: %s %d %llu (%s); pieces: %s %d %llu (%s)\n", hc_status_name(whole.d.status),
                whole.d.http_status, (unsigned long long)whole.d.body_bytes, whole.msg,
                hc_status_name(split.d.status), split.d.http_status, (unsigned long long)split.d.body_bytes,
                split.msg);
        abort();
    }
    return 0;
}
