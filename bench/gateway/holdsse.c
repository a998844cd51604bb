/* holdsse: open N streaming chat requests to 127.0.0.1:PORT, at most
   WINDOW (default N) waiting for their first event at a time, and hold
   them, for the gateway benchmark's idle-stream figure (bench/
   gateway.sh).  Each connection sends one POST with BODY_FILE (a request
   with "stream": true) and counts as streaming once its response's first
   SSE event ("data:") has arrived; the upstream behind the gateway stalls
   after that event, so the streams then sit idle.  When every connection
   is streaming or has failed (or after OPEN_SECONDS), one line is printed
   and flushed:

       ready opened=N streaming=K failed=F seconds=S

   then the connections are held for HOLD_SECONDS and closed, and the
   program exits 0 (1 when a connection failed).  Only 127.0.0.1 is ever
   contacted; every wait is bounded.

   usage: holdsse PORT BODY_FILE N OPEN_SECONDS HOLD_SECONDS [WINDOW] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_SENDING, C_WAITING, C_STREAMING, C_FAILED };

typedef struct {
    int fd, state;
    size_t sent;
    char head[512];             /* the response's first bytes, to find "data:" */
    size_t got;
    int refused;                /* answered with a status other than 200 */
} conn;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int open_conn(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send what is left of the request; a connection still connecting says
   EAGAIN and is retried on EPOLLOUT. */
static void send_more(conn *c, const char *req, size_t len)
{
    while (c->sent < len) {
        ssize_t n = send(c->fd, req + c->sent, len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
                c->state = C_FAILED;
            return;
        }
        c->sent += (size_t)n;
    }
    c->state = C_WAITING;
}

/* Read what arrived; streaming once a 200 head and a "data:" line are in. */
static void read_more(conn *c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            c->state = C_FAILED;
            return;
        }
        if (n < 0)
            return;
        size_t k = (size_t)n < sizeof c->head - 1 - c->got ? (size_t)n : sizeof c->head - 1 - c->got;
        memcpy(c->head + c->got, buf, k);
        c->got += k;
        c->head[c->got] = 0;
        if (c->state == C_WAITING && strncmp(c->head, "HTTP/1.1 200", 12) == 0 && strstr(c->head, "data:"))
            c->state = C_STREAMING;
        else if (c->got >= 12 && strncmp(c->head, "HTTP/1.1 200", 12) != 0) {
            c->state = C_FAILED;
            c->refused = 1;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: holdsse PORT BODY_FILE N OPEN_SECONDS HOLD_SECONDS [WINDOW]\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[3]), window = argc == 7 ? atoi(argv[6]) : n;
    double open_s = atof(argv[4]), hold_s = atof(argv[5]);
    if (port <= 0 || port > 65535 || n <= 0 || window <= 0 || open_s <= 0 || hold_s < 0 || hold_s > 600) {
        fprintf(stderr, "holdsse: bad arguments\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    static char body[65536];
    size_t bl = fread(body, 1, sizeof body, f);
    fclose(f);
    while (bl && body[bl - 1] == '\n')
        bl--;
    static char req[70000];
    int rl = snprintf(req, sizeof req,
                      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                      "Authorization: Bearer sk-mock\r\nContent-Length: %zu\r\n\r\n",
                      port, bl);
    memcpy(req + rl, body, bl);
    size_t len = (size_t)rl + bl;

    conn *cs = calloc((size_t)n, sizeof *cs);
    int ep = epoll_create1(0);
    if (!cs || ep < 0) {
        perror("holdsse");
        return 2;
    }
    int opened = 0, next = 0, done = 0;
    double t0 = now_s();
    static struct epoll_event evs[1024];
    while (done < n && now_s() - t0 < open_s) {
        /* keep at most 'window' connections waiting for their first event */
        while (next < n && next - done < window) {
            int i = next++;
            cs[i].fd = open_conn(port);
            if (cs[i].fd < 0) {
                cs[i].state = C_FAILED;
                done++;
                continue;
            }
            opened++;
            struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i };
            epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        }
        int k = epoll_wait(ep, evs, 1024, 100);
        for (int j = 0; j < k; j++) {
            conn *c = &cs[evs[j].data.u32];
            int before = c->state;
            if (c->state == C_SENDING && (evs[j].events & EPOLLOUT))
                send_more(c, req, len);
            if ((c->state == C_WAITING || c->state == C_STREAMING) && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                read_more(c);
            if (before != C_STREAMING && before != C_FAILED && (c->state == C_STREAMING || c->state == C_FAILED))
                done++;
        }
    }
    int streaming = 0, failed = 0, refused = 0, waiting = 0;
    const char *status = "";
    for (int i = 0; i < n; i++) {
        streaming += cs[i].state == C_STREAMING;
        failed += cs[i].state != C_STREAMING;
        waiting += cs[i].state == C_SENDING || cs[i].state == C_WAITING;
        if (cs[i].refused && !refused++)
            status = cs[i].head;
    }
    printf("ready opened=%d streaming=%d failed=%d waiting=%d refused=%d seconds=%.1f\n", opened, streaming, failed,
           waiting, refused, now_s() - t0);
    if (refused)
        fprintf(stderr, "holdsse: the first refusal: %.300s\n", status);
    fflush(stdout);
    /* hold: the streams stay open and idle, nothing is read or sent */
    struct timespec hold = { (time_t)hold_s, (long)((hold_s - (time_t)hold_s) * 1e9) };
    nanosleep(&hold, NULL);
    for (int i = 0; i < next; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    free(cs);
    close(ep);
    return failed ? 1 : 0;
}
