/* The HTTP client engine (vm/providers/httpc.c) against a scripted
   server on 127.0.0.1, each case run through the engine's own HTTP/1.1
   transport (vm/providers/h1.c) and again through libcurl
   (ROUTEVM_HTTP_CLIENT=curl), which must agree on every status.

   A case is a row of the table below: what the server does, as a list
   of steps on the connections it accepts (read a request, send bytes,
   close, reset, wait for the client to close), and the client's
   requests in turn, each with the status, HTTP status and body it must
   end with.  The server runs on its own thread with blocking sockets
   and a receive timeout, so a case that goes wrong fails instead of
   hanging.  For the own transport the case also names how many
   connections the server must have accepted: keep-alive reuse, the one
   retry on a kept-alive connection the server closed, no retry on a
   fresh one, a cancelled call's connection not reused, a parked
   connection the server wrote to out of turn dropped.  Every request
   the server reads is checked: one request line, Host, the caller's
   lines, Content-Length and the body, byte for byte (a 4 MiB body too,
   more than the socket takes at once).  The connect timeout is met on
   a listener whose accept queue is full (Linux drops the SYN).

   The TLS cases run the same server over OpenSSL with certificates made
   for the run (testca.h), trusted by both clients through
   SSL_CERT_FILE and SSL_CERT_DIR: keep-alive and the session resumed on
   the next connection (the server counts full and resumed handshakes),
   a certificate for another name, expired, or signed by nobody the
   client trusts, a CA file that does not exist, a server that accepts
   and never speaks (the connect timeout covers the handshake), one that
   resets the connection during the handshake, and close_notify, a reset
   or a close without close_notify in the middle of a body.

   Hosts: localhost falls back to ::1 when 127.0.0.1 refuses, and when
   127.0.0.1 does not answer at all (a full accept queue on the same
   port); [::1]; a name /etc/hosts gives 127.0.0.1 (read from the file,
   so no network is asked; the cases are skipped, with a line saying so,
   when there is none) looked up and its answer reused; over TLS, the
   certificate checked against localhost's DNS entry, ::1's IP entry,
   and a name it does not hold.

   Outside the table: a call that ends in time never makes the engine
   walk its transfers for due deadlines; 40 calls at once to one host,
   twice, use 40 connections (all parked, all reused); calls to more
   URLs than the engine keeps parsed each reach their own path. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <signal.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "httpc.h"
#include "testca.h"

static int failures;
static int curl_run;            /* the case runs through libcurl */
static char ca_dir[256];        /* the certificates made for the run */

/* ---------------------------------------------------------------- the server */

/* With TLS, S_ACCEPT includes the handshake and S_CLOSE sends
   close_notify first; S_ACCEPT_RAW accepts without a handshake,
   S_READ_RAW reads what bytes come (a ClientHello), S_CLOSE_RAW closes
   without close_notify. */
enum { S_END, S_ACCEPT, S_READ, S_SEND, S_SEND_X, S_CLOSE, S_RESET, S_WAIT_EOF, S_SLEEP, S_ACCEPT_RAW, S_READ_RAW,
       S_CLOSE_RAW };

typedef struct {
    int op;
    const char *bytes;          /* S_SEND */
    int ms;                     /* S_SLEEP */
} step;

/* The body of every request: the small one, or with 'big' 4 MiB of 'a'
   (more than the socket takes at once: the rest is written as the
   socket drains). */
#define BIG_BODY (4u << 20)
static char *big_body;

typedef struct {
    int lfd, port;
    const char *host;           /* the Host line's host */
    int big;
    const step *steps;
    int accepts;
    SSL_CTX *tls;               /* NULL: plain text */
    SSL *ssl;                   /* the connection's, with 'tls' */
    int full, resumed;          /* TLS handshakes made in full and resumed */
    int bad_request;            /* a request did not read as the client sent it */
    char why[200];
} server;

static ssize_t s_recv(server *s, int fd, void *b, size_t n)
{
    if (!s->ssl)
        return recv(fd, b, n, 0);
    int r = SSL_read(s->ssl, b, (int)n);
    return r > 0 ? r : r == 0 ? 0 : -1;
}

static ssize_t s_send(server *s, int fd, const void *b, size_t n)
{
    if (!s->ssl)
        return send(fd, b, n, MSG_NOSIGNAL);
    return SSL_write(s->ssl, b, (int)n) > 0 ? (ssize_t)n : -1;
}

/* Close the connection: with 'notify' a TLS close_notify first, with
   'reset' an RST. */
static void s_close(server *s, int *fd, int notify, int reset)
{
    if (*fd < 0)
        return;
    if (s->ssl && notify)
        SSL_shutdown(s->ssl);
    SSL_free(s->ssl);
    s->ssl = NULL;
    if (reset) {
        struct linger l = { 1, 0 };
        setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(*fd);
    *fd = -1;
}

/* The TLS handshake on accepted 'fd'; -1 when it failed. */
static int s_handshake(server *s, int fd)
{
    if (!(s->ssl = SSL_new(s->tls)) || !SSL_set_fd(s->ssl, fd) || SSL_accept(s->ssl) != 1)
        return -1;
    if (SSL_session_reused(s->ssl))
        s->resumed++;
    else
        s->full++;
    return 0;
}

/* One request from 'fd': the head up to the blank line, then
   Content-Length bytes; checked against what the client sends.  -1 when
   the connection ended first. */
static int read_request(server *s, int fd)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len == sizeof buf - 1)
            return -1;
        ssize_t n = s_recv(s, fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    char host[320];
    snprintf(host, sizeof host, "\r\nHost: %s:%d\r\n", s->host, s->port);
    const char *why = NULL;
    if (strncmp(buf, "POST /v1/chat?x=1 HTTP/1.1\r\n", 28))
        why = "the request line";
    else if (!strstr(buf, host))
        why = "the Host line";
    else if (!strstr(buf, "\r\nX-Test: a b\r\n") || !strstr(buf, "\r\nAuthorization: Bearer k\r\n"))
        why = "the caller's header lines";
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = strstr(buf, "\r\nContent-Length: ");
    size_t body = cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
    int body_ok = 1;
    if (s->big) {               /* read and checked in pieces */
        size_t got = len - head;
        for (size_t i = head; i < len; i++)
            body_ok &= buf[i] == 'a';
        while (got < body) {
            size_t want = body - got < sizeof buf ? body - got : sizeof buf;
            ssize_t n = s_recv(s, fd, buf, want);
            if (n <= 0)
                return -1;
            for (ssize_t i = 0; i < n; i++)
                body_ok &= buf[i] == 'a';
            got += (size_t)n;
        }
        body_ok &= body == BIG_BODY;
        len = head + body;
    } else {
        while (len < head + body) {
            ssize_t n = s_recv(s, fd, buf + len, sizeof buf - 1 - len);
            if (n <= 0)
                return -1;
            len += (size_t)n;
        }
        buf[len] = 0;
        body_ok = body == 7 && !strcmp(buf + head, "{\"a\":1}") && len == head + body;
    }
    if (!why && !body_ok)
        why = "the body";
    if (why && !s->bad_request) {
        s->bad_request = 1;
        snprintf(s->why, sizeof s->why, "%s", why);
    }
    return 0;
}

static void *serve(void *arg)
{
    server *s = arg;
    int fd = -1;
    for (const step *st = s->steps; st->op != S_END; st++) {
        switch (st->op) {
        case S_ACCEPT:
        case S_ACCEPT_RAW: {
            struct pollfd pf = { s->lfd, POLLIN, 0 };
            s_close(s, &fd, 0, 0);
            if (poll(&pf, 1, 3000) != 1 || (fd = accept(s->lfd, NULL, NULL)) < 0)
                goto out;
            s->accepts++;
            struct timeval tv = { 3, 0 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (s->tls && st->op == S_ACCEPT && s_handshake(s, fd))
                goto out;
            break;
        }
        case S_READ_RAW: {
            char b[2048];
            if (recv(fd, b, sizeof b, 0) <= 0)
                goto out;
            break;
        }
        case S_READ:
            if (read_request(s, fd))
                goto out;
            break;
        case S_SEND:
            if (s_send(s, fd, st->bytes, strlen(st->bytes)) < 0)
                goto out;
            break;
        case S_SEND_X: {        /* 'ms' bytes of 'x' */
            char x[4096];
            memset(x, 'x', sizeof x);
            for (int left = st->ms; left > 0; left -= (int)sizeof x)
                if (s_send(s, fd, x, left < (int)sizeof x ? (size_t)left : sizeof x) < 0)
                    goto out;
            break;
        }
        case S_CLOSE:
        case S_CLOSE_RAW:
            s_close(s, &fd, st->op == S_CLOSE, 0);
            break;
        case S_RESET:
            s_close(s, &fd, 0, 1);
            break;
        case S_WAIT_EOF: {
            char b[256];
            while (s_recv(s, fd, b, sizeof b) > 0)
                ;
            break;
        }
        case S_SLEEP:
            usleep((useconds_t)st->ms * 1000);
            break;
        }
    }
out:
    s_close(s, &fd, 0, 0);
    return NULL;
}

/* ---------------------------------------------------------------- the client */

typedef struct {
    hc_status status;
    int http;
    const char *body;           /* NULL: not checked */
    int cancel_after;           /* >0: cancel once this many body bytes came */
    int abort_after;            /* >0: 'data' returns 1 once this many came */
    int idle_ms;                /* run the loop this long before the request */
    int64_t first_byte_us, idle_us;
    int64_t total_us, connect_us;   /* 0: 5 s, 0: the default */
    uint64_t body_bytes;        /* with no 'body': the bytes that must come */
} request;

typedef struct {
    const char *name;
    step server[24];
    request req[6];
    int accepts;                /* connections the own transport makes; 0: not checked */
    int curl_too;               /* libcurl must give the same statuses */
    const char *message_has;    /* the first failure's message must contain it */
    int big;                    /* the requests carry BIG_BODY */
    int full;                   /* nobody accepts and the listen queue is full: connects hang */
    const char *headers;        /* the final response's headers as "name=value;" each, in order; NULL: not checked */
    int tls;                    /* https:// with the server's certificate (T_GOOD...); 0: http:// */
    int hs_full, hs_resumed;    /* TLS handshakes the server must have made in full and resumed; both 0: not checked */
    const char *host;           /* the URL's host; NULL: 127.0.0.1; H_HOSTS: a loopback name from /etc/hosts */
    int v6;                     /* the server listens on ::1 only */
    int v4_silent;              /* with 'v6': 127.0.0.1 on the port takes no connection (a full queue) */
} tcase;

#define H_HOSTS "(hosts)"
static char hosts_name[256];    /* a name /etc/hosts gives a loopback address, other than localhost; "" none */

/* The server's certificate in a TLS case; T_NO_CA: the good one, and the
   clients are told to trust a CA file that does not exist. */
enum { T_PLAIN, T_GOOD, T_WRONG_NAME, T_EXPIRED, T_SELF, T_NO_CA };

#define OK200(b) { HC_OK, 200, b, 0, 0, 0, 0, 0, 0, 0, 0 }
#define ACC { S_ACCEPT, NULL, 0 }
#define RD { S_READ, NULL, 0 }
#define SEND(b) { S_SEND, b, 0 }
#define CLOSE { S_CLOSE, NULL, 0 }
#define RESET { S_RESET, NULL, 0 }
#define WAITEOF { S_WAIT_EOF, NULL, 0 }
#define SLEEP(ms) { S_SLEEP, NULL, ms }
#define SENDX(n) { S_SEND_X, NULL, n }
#define K16 "xxxxxxxxxxxxxxxx"
#define K256 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16
#define K4 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256 K256
#define HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
#define CLOSE_OK "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
#define ACCR { S_ACCEPT_RAW, NULL, 0 }
#define RDR { S_READ_RAW, NULL, 0 }
#define CLOSER { S_CLOSE_RAW, NULL, 0 }
#define FAILED(st, http) { st, http, NULL, 0, 0, 0, 0, 0, 0, 0, 0 }
#define PART10 "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"

static const tcase cases[] = {
    { "length_body", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "chunked_body",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n"),
        WAITEOF },
      { OK200("hello world") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "eof_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"), CLOSE }, { OK200("abc") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "keepalive_reuse", { ACC, RD, SEND(HELLO), RD, SEND(HELLO), RD, SEND(HELLO), RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), OK200("hello"), OK200("hello"), OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "connection_close_honoured",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("ok"), OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "idle_closed_then_request", { ACC, RD, SEND(HELLO), CLOSE, ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), { HC_OK, 200, "hello", 0, 0, 100, 0, 0, 0, 0, 0 } }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* the server takes the second request on the kept-alive connection
       and closes it unanswered: sent again once, on a new connection */
    { "reused_closed_retried", { ACC, RD, SEND(HELLO), RD, CLOSE, ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* the same on a fresh connection: no second try */
    { "fresh_reset_not_retried", { ACC, RD, RESET, SLEEP(300) }, { { HC_RESET, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "fresh_closed_not_retried", { ACC, RD, CLOSE, SLEEP(300) }, { { HC_RESET, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* retried once, and the new connection is reset too: no third try */
    { "retry_once_only", { ACC, RD, SEND(HELLO), RD, CLOSE, ACC, RD, RESET, SLEEP(300) },
      { OK200("hello"), { HC_RESET, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "interim_1xx",
      { ACC, RD, SEND("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), RD, SEND(HELLO), WAITEOF },
      { OK200("ok"), OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "header_count_cap",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\n"
#define H10 "A: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\n" \
            "A: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\nA: secretvalue\r\n"
                      H10 H10 H10 H10 H10 H10 H10 H10 H10 H10 H10 "Content-Length: 0\r\n\r\n"), WAITEOF },
      { { HC_MALFORMED, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 0, "100 header lines", 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "header_size_cap",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nA: secretvalue"), SEND(K4), SEND(K4), SEND(K4), SEND(K4), SEND(K4), SEND(K4),
        SEND(K4), SEND(K4), SEND(K4), SEND("\r\nContent-Length: 0\r\n\r\n"), WAITEOF },
      { { HC_MALFORMED, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 0, "32 KiB", 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* a head and body in pieces across reads */
    { "split_across_reads",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Le"), SLEEP(30), SEND("ngth: 5\r\nX-A: 1"), SLEEP(30),
        SEND("2\r\n\r\nhel"), SLEEP(30), SEND("lo"), WAITEOF },
      { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* libcurl reads these as HTTP/0.9 (refused) and a receive error (reset) */
    { "malformed_status_line", { ACC, RD, SEND("garbage\r\n\r\n"), WAITEOF },
      { { HC_MALFORMED, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 0, "not valid HTTP", 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "bad_chunk", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), WAITEOF },
      { { HC_MALFORMED, 200, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 0, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "switching_protocols", { ACC, RD, SEND("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"), WAITEOF },
      { { HC_MALFORMED, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 0, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "closed_mid_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), SLEEP(50), CLOSE },
      { { HC_RESET, 200, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "reset_mid_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), SLEEP(50), RESET },
      { { HC_RESET, 200, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "first_byte_timeout", { ACC, RD, SLEEP(400), CLOSE },
      { { HC_FIRST_BYTE_TIMEOUT, 0, NULL, 0, 0, 0, 100000, 0, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "idle_timeout", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), SLEEP(400), CLOSE },
      { { HC_IDLE_TIMEOUT, 200, NULL, 0, 0, 0, 0, 100000, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* nobody listens on the port (its listener closed) */
    { "refused", { { S_END, NULL, 0 } }, { { HC_REFUSED, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 } }, 0, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* cancelled with its body half read: the connection is closed, and
       the next request to the host makes a new one */
    { "cancel_mid_body_then_request",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), WAITEOF, ACC, RD, SEND(HELLO), WAITEOF },
      { { HC_OK, 0, NULL, 5, 0, 0, 0, 0, 0, 0, 0 }, OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "abort_then_request",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), WAITEOF, ACC, RD, SEND(HELLO), WAITEOF },
      { { HC_ABORTED, 200, NULL, 0, 5, 0, 0, 0, 0, 0, 0 }, OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* bytes out of turn on a parked connection: it is dropped, not read
       as the next answer (libcurl 7.88 reads them as the answer) */
    { "idle_bytes_out_of_turn", { ACC, RD, SEND(HELLO), SLEEP(50), SEND("HTTP/1.1 500 Junk\r\n\r\n"), ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), { HC_OK, 200, "hello", 0, 0, 100, 0, 0, 0, 0, 0 } }, 2, 0, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* answers longer than one read */
    { "large_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"), SENDX(100000), RD, SEND(HELLO), WAITEOF },
      { { HC_OK, 200, NULL, 0, 0, 0, 0, 0, 0, 0, 100000 }, OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* a request larger than the socket takes at once, twice on one connection */
    { "large_request", { ACC, RD, SEND(HELLO), RD, SEND(HELLO), WAITEOF }, { OK200("hello"), OK200("hello") }, 1, 1, NULL, 1, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "total_timeout", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\na"), SLEEP(60), SEND("b"), SLEEP(60),
        SEND("c"), SLEEP(60), SEND("d"), SLEEP(60), SEND("e"), SLEEP(400), CLOSE },
      { { HC_TIMEOUT, 200, NULL, 0, 0, 0, 0, 100000, 150000, 0, 0 } }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    { "connect_timeout", { { S_END, NULL, 0 } }, { { HC_CONNECT_TIMEOUT, 0, NULL, 0, 0, 0, 0, 0, 0, 150000, 0 } },
      0, 1, NULL, 0, 1, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },
    /* names and values trimmed, an empty value, a value in pieces */
    { "headers",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Next:   1 2 \t\r\nRetry-"), SLEEP(30), SEND("After: 3"), SLEEP(30),
        SEND("0\r\nContent-Length: 0\r\n\r\n"), WAITEOF },
      { OK200("") }, 1, 1, NULL, 0, 0, "X-Empty=;X-Next=1 2;Retry-After=30;Content-Length=0;", T_PLAIN, 0, 0, NULL, 0, 0 },
    /* a chunked body's trailers come after its body, as headers */
    { "trailers",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nT-One: 1\r\nT-Two: 2\r\n\r\n"),
        WAITEOF },
      { OK200("ok") }, 1, 1, NULL, 0, 0, "Transfer-Encoding=chunked;T-One=1;T-Two=2;", T_PLAIN, 0, 0, NULL, 0, 0 },
    /* more bytes than the response: the connection is not trusted again */
    { "extra_bytes_not_reused",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"), WAITEOF, ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("ok"), OK200("hello") }, 2, 0, NULL, 0, 0, NULL, T_PLAIN, 0, 0, NULL, 0, 0 },

    /* ---- TLS: three calls on one connection, then a new connection
       (the server said Connection: close) that resumes the session */
    { "tls_keepalive_resumed",
      { ACC, RD, SEND(HELLO), RD, SEND(HELLO), RD, SEND(CLOSE_OK), CLOSE, ACC, RD, SEND(HELLO), RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), OK200("hello"), OK200("ok"), OK200("hello"), OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_GOOD, 1, 1, NULL, 0, 0 },
    { "tls_chunked",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        WAITEOF },
      { OK200("hello world") }, 1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    { "tls_large_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"), SENDX(100000), RD, SEND(HELLO), WAITEOF },
      { { HC_OK, 200, NULL, 0, 0, 0, 0, 0, 0, 0, 100000 }, OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    { "tls_large_request", { ACC, RD, SEND(HELLO), RD, SEND(HELLO), WAITEOF }, { OK200("hello"), OK200("hello") },
      1, 1, NULL, 1, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    /* the server closes a kept-alive connection as the second call
       arrives: sent again on a new connection, which resumes */
    { "tls_reused_closed_retried", { ACC, RD, SEND(HELLO), RD, CLOSE, ACC, RD, SEND(HELLO), WAITEOF },
      { OK200("hello"), OK200("hello") }, 2, 1, NULL, 0, 0, NULL, T_GOOD, 1, 1, NULL, 0, 0 },
    /* a second record right after the answer, read ahead with it or
       seen while parked: the connection is not used again */
    { "tls_extra_record_not_reused",
      { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), SEND("HTTP/1.1 200 OK\r\n"), WAITEOF, ACC, RD,
        SEND(HELLO), WAITEOF },
      { OK200("ok"), { HC_OK, 200, "hello", 0, 0, 100, 0, 0, 0, 0, 0 } }, 2, 0, NULL, 0, 0, NULL, T_GOOD, 1, 1, NULL, 0, 0 },
    { "tls_eof_body", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"), CLOSE }, { OK200("abc") },
      1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    /* the refusals: the server's handshake fails when the client leaves */
    { "tls_wrong_name", { ACC }, { FAILED(HC_REFUSED, 0) }, 1, 1, "certificate of 127.0.0.1 is not trusted", 0, 0, NULL,
      T_WRONG_NAME, 0, 0, NULL, 0, 0 },
    { "tls_expired", { ACC }, { FAILED(HC_REFUSED, 0) }, 1, 1, "certificate has expired", 0, 0, NULL, T_EXPIRED, 0, 0, NULL, 0, 0 },
    { "tls_self_signed", { ACC }, { FAILED(HC_REFUSED, 0) }, 1, 1, "not trusted", 0, 0, NULL, T_SELF, 0, 0, NULL, 0, 0 },
    { "tls_no_ca_file", { ACC }, { FAILED(HC_REFUSED, 0) }, 0, 1, "cannot load the CA certificates", 0, 0, NULL, T_NO_CA, 0, 0, NULL, 0, 0 },
    /* accepted, never a byte back: the connect timeout covers the handshake */
    { "tls_handshake_timeout", { ACCR, SLEEP(600) }, { { HC_CONNECT_TIMEOUT, 0, NULL, 0, 0, 0, 0, 0, 0, 150000, 0 } },
      1, 1, NULL, 0, 0, NULL, T_GOOD, 0, 0, NULL, 0, 0 },
    { "tls_reset_mid_handshake", { ACCR, RDR, RESET, SLEEP(300) }, { FAILED(HC_REFUSED, 0) }, 1, 1, "TLS handshake", 0, 0, NULL,
      T_GOOD, 0, 0, NULL, 0, 0 },
    { "tls_close_notify_mid_body", { ACC, RD, SEND(PART10), SLEEP(50), CLOSE }, { FAILED(HC_RESET, 200) }, 1, 1, NULL, 0, 0,
      NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    { "tls_reset_mid_body", { ACC, RD, SEND(PART10), SLEEP(50), RESET }, { FAILED(HC_RESET, 200) }, 1, 1, NULL, 0, 0, NULL,
      T_GOOD, 1, 0, NULL, 0, 0 },
    { "tls_cut_mid_body", { ACC, RD, SEND(PART10), SLEEP(50), CLOSER }, { FAILED(HC_RESET, 200) }, 1, 1, NULL, 0, 0, NULL,
      T_GOOD, 1, 0, NULL, 0, 0 },
    /* a body read until the close, which comes without close_notify:
       it may have been cut short, so it is not an answer (libcurl 7.88
       takes it as whole) */
    { "tls_eof_body_cut", { ACC, RD, SEND("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"), CLOSER },
      { FAILED(HC_RESET, 200) }, 1, 0, "close_notify", 0, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
    /* ---- names and addresses: localhost is 127.0.0.1, then ::1 */
    { "localhost_then_ipv6", { ACC, RD, SEND(HELLO), RD, SEND(HELLO), WAITEOF }, { OK200("hello"), OK200("hello") },
      1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, "localhost", 1, 0 },
    { "ipv6_address", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, "[::1]", 1, 0 },
    /* a name looked up (in /etc/hosts), twice from the kept answer */
    { "name_lookup", { ACC, RD, SEND(CLOSE_OK), CLOSE, ACC, RD, SEND(HELLO), WAITEOF }, { OK200("ok"), OK200("hello") },
      2, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0, H_HOSTS, 0, 0 },
    /* the certificate names localhost (SNI, a DNS entry), and ::1 */
    { "tls_localhost", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0,
      "localhost", 0, 0 },
    { "tls_localhost_ipv6", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0,
      "localhost", 1, 0 },
    { "tls_ipv6_address", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0,
      "[::1]", 1, 0 },
    /* 127.0.0.1 takes no connection (its accept queue is full): after a
       second without an answer ::1 is tried, within the connect timeout */
    { "localhost_silent_ipv4", { ACC, RD, SEND(HELLO), WAITEOF }, { OK200("hello") }, 1, 1, NULL, 0, 0, NULL, T_PLAIN, 0, 0,
      "localhost", 1, 1 },
    { "tls_localhost_wrong_name", { ACC }, { FAILED(HC_REFUSED, 0) }, 1, 1, "certificate of localhost is not trusted", 0, 0,
      NULL, T_WRONG_NAME, 0, 0, "localhost", 0, 0 },
    { "tls_name_not_in_certificate", { ACC }, { FAILED(HC_REFUSED, 0) }, 1, 1, "not trusted", 0, 0, NULL, T_GOOD, 0, 0,
      H_HOSTS, 0, 0 },
    { "tls_first_byte_timeout", { ACC, RD, SLEEP(400), CLOSE }, { { HC_FIRST_BYTE_TIMEOUT, 0, NULL, 0, 0, 0, 100000, 0, 0, 0, 0 } },
      1, 1, NULL, 0, 0, NULL, T_GOOD, 1, 0, NULL, 0, 0 },
};

typedef struct {
    hc_engine *e;
    const request *rq;
    char body[4096];
    size_t len;
    int ended, want_cancel;
    hc_done d;
    char msg[300];
    int header_bad;             /* a 1xx header was reported */
    char hdrs[512];             /* "name=value;" each */
} call;

static void on_header(void *ud, int status, const char *name, size_t nlen, const char *value, size_t vlen)
{
    call *c = ud;
    if (status < 200 || (nlen == 4 && !memcmp(name, "Link", 4)))
        c->header_bad = 1;
    size_t l = strlen(c->hdrs);
    snprintf(c->hdrs + l, sizeof c->hdrs - l, "%.*s=%.*s;", (int)nlen, name, (int)vlen, value);
}

static int on_data(void *ud, const char *p, size_t n)
{
    call *c = ud;
    if (c->len + n < sizeof c->body) {
        memcpy(c->body + c->len, p, n);
        c->len += n;
    }
    if (c->rq->cancel_after && c->len >= (size_t)c->rq->cancel_after)
        c->want_cancel = 1;
    return c->rq->abort_after && c->len >= (size_t)c->rq->abort_after;
}

static void on_done(void *ud, const hc_done *d)
{
    call *c = ud;
    c->ended = 1;
    c->d = *d;
    snprintf(c->msg, sizeof c->msg, "%s", d->message);
    c->d.message = c->msg;
}

/* Run the loop for 'ms' or until 'until' is set. */
static void spin(hc_engine *e, int ms, const int *until)
{
    int64_t end = hc_now_us() + (int64_t)ms * 1000;
    while (hc_now_us() < end && !(until && *until))
        hc_run_once(e, 10000);
}

/* A listener on 127.0.0.1 (with 'v6' on ::1 only) at port 'at' (0: any);
   with 'full', one whose queue is filled by
   connections made here and never accepted ('held', closed by the
   caller), so that the next connect gets no answer: Linux drops a SYN
   when the accept queue is full. */
static int listener_at(int *port, int full, int *held, int nheld, int v6, int at)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)at) };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                               .sin6_port = htons((uint16_t)at) };
    struct sockaddr *sa = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a;
    socklen_t al = v6 ? sizeof a6 : sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6)                     /* ::1 only: 127.0.0.1 on the port refuses */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd < 0 || bind(fd, sa, al) || listen(fd, full ? 0 : 16) || getsockname(fd, sa, &al))
        return -1;
    *port = ntohs(v6 ? a6.sin6_port : a.sin_port);
    for (int i = 0; full && i < nheld; i++) {
        held[i] = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(held[i], sa, al);
        usleep(20000);
    }
    return fd;
}

static int listener(int *port, int full, int *held, int nheld, int v6)
{
    return listener_at(port, full, held, nheld, v6, 0);
}

/* The server's TLS context with certificate 'kind', and what the
   clients trust: the run's CA (or, for T_NO_CA, a file that does not
   exist) and nothing else.  -1 when it cannot be made. */
static int set_tls(server *s, int kind)
{
    static const char *const names[] = { "", "good", "wrong", "expired", "self", "good" };
    char crt[400], key[400], ca[400];
    snprintf(crt, sizeof crt, "%s/%s.crt", ca_dir, names[kind]);
    snprintf(key, sizeof key, "%s/%s.key", ca_dir, names[kind]);
    snprintf(ca, sizeof ca, "%s/%s", ca_dir, kind == T_NO_CA ? "missing.pem" : "ca.pem");
    setenv("SSL_CERT_FILE", ca, 1);
    setenv("SSL_CERT_DIR", ca_dir, 1);
    if (!(s->tls = SSL_CTX_new(TLS_server_method())) ||
        SSL_CTX_use_certificate_file(s->tls, crt, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->tls, key, SSL_FILETYPE_PEM) != 1 ||
        !SSL_CTX_set_session_id_context(s->tls, (const unsigned char *)"httpc", 5))
        return -1;
    return 0;
}

/* The host case 't''s URL names. */
static const char *url_host(const tcase *t)
{
    if (!t->host)
        return "127.0.0.1";
    return strcmp(t->host, H_HOSTS) ? t->host : hosts_name;
}

/* A name other than localhost that /etc/hosts maps to 127.0.0.1, read
   from the file (no lookup): looking it up exercises the resolver with
   no network.  "" when there is none. */
static void find_hosts_name(void)
{
    FILE *f = fopen("/etc/hosts", "r");
    char line[512];
    while (f && !hosts_name[0] && fgets(line, sizeof line, f)) {
        char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save);
        if (!addr || addr[0] == '#' || strcmp(addr, "127.0.0.1"))
            continue;
        for (char *n = strtok_r(NULL, " \t\r\n", &save); n && n[0] != '#'; n = strtok_r(NULL, " \t\r\n", &save))
            if (strcasecmp(n, "localhost") && strchr(n, '.') == NULL && strlen(n) < sizeof hosts_name &&
                ((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z'))) {
                snprintf(hosts_name, sizeof hosts_name, "%s", n);
                break;
            }
    }
    if (f)
        fclose(f);
}

/* One request of case 't'; 0 when it ended as it must. */
static int one_request(const tcase *t, const request *rq, hc_engine *e, int port, char *why, size_t whylen,
                       int *first_failure_checked)
{
    char url[400];
    snprintf(url, sizeof url, "%s://%s:%d/v1/chat?x=1#frag", t->tls ? "https" : "http", url_host(t), port);
    static const char *const hdrs[] = { "X-Test: a b", "Authorization: Bearer k", "Accept:" };
    hc_spec s = { .url = url, .headers = hdrs, .nheaders = 3, .body = "{\"a\":1}", .body_len = 7,
                  .first_byte_timeout_us = rq->first_byte_us, .idle_timeout_us = rq->idle_us,
                  .total_timeout_us = rq->total_us ? rq->total_us : 5000000, .connect_timeout_us = rq->connect_us };
    if (t->big) {
        s.body = big_body;
        s.body_len = BIG_BODY;
    }
    hc_handler h = { on_header, on_data, on_done };
    call c = { .e = e, .rq = rq };
    char err[200];
    if (rq->idle_ms)
        spin(e, rq->idle_ms, NULL);
    hc_xfer *x = hc_start(e, &s, &h, &c, err, sizeof err);
    if (!x) {
        snprintf(why, whylen, "hc_start: %s", err);
        return -1;
    }
    int64_t end = hc_now_us() + 4000000;
    while (!c.ended && hc_now_us() < end) {
        hc_run_once(e, 10000);
        if (c.want_cancel && !c.ended) {
            hc_cancel(e, x);
            return hc_pending(e) == 0 ? 0 : (snprintf(why, whylen, "a transfer is left after the cancel"), -1);
        }
    }
    if (!c.ended) {
        snprintf(why, whylen, "no end within 4 s");
        hc_cancel(e, x);
        return -1;
    }
    if (c.d.status != rq->status || c.d.http_status != rq->http) {
        snprintf(why, whylen, "ended %s/%d, not %s/%d (%s)", hc_status_name(c.d.status), c.d.http_status,
                 hc_status_name(rq->status), rq->http, c.d.message);
        return -1;
    }
    if (rq->body && (c.len != strlen(rq->body) || memcmp(c.body, rq->body, c.len) || c.d.body_bytes != c.len)) {
        snprintf(why, whylen, "the body is '%.*s'", (int)c.len, c.body);
        return -1;
    }
    if (rq->body_bytes && c.d.body_bytes != rq->body_bytes) {
        snprintf(why, whylen, "%llu body bytes", (unsigned long long)c.d.body_bytes);
        return -1;
    }
    if (t->headers && strcmp(c.hdrs, t->headers)) {
        snprintf(why, whylen, "headers '%.300s'", c.hdrs);
        return -1;
    }
    if (c.header_bad) {
        snprintf(why, whylen, "an interim response's header was reported");
        return -1;
    }
    if (rq->status != HC_OK && !*first_failure_checked) {
        *first_failure_checked = 1;
        if (strstr(c.d.message, "secretvalue") || !c.d.message[0] ||
            (t->message_has && !curl_run && !strstr(c.d.message, t->message_has))) {
            snprintf(why, whylen, "the message '%s'", c.d.message);
            return -1;
        }
    }
    return 0;
}

static void run_case(const tcase *t, int curl)
{
    char name[96], why[400] = "";
    snprintf(name, sizeof name, "httpc/%s/%s", curl ? "curl" : "h1", t->name);
    setenv("ROUTEVM_HTTP_CLIENT", curl ? "curl" : "", 1);
    curl_run = curl;
    if (t->host && !strcmp(t->host, H_HOSTS) && !hosts_name[0]) {
        printf("skip %s: /etc/hosts maps no name but localhost to 127.0.0.1\n", name);
        return;
    }
    server s = { .steps = t->server, .big = t->big, .host = url_host(t) };
    if (t->tls && set_tls(&s, t->tls)) {
        printf("FAIL %s: no TLS server\n", name);
        failures++;
        return;
    }
    int held[4] = { -1, -1, -1, -1 };
    s.lfd = listener(&s.port, t->full, held, 4, t->v6);
    hc_engine *e = hc_new(NULL);
    pthread_t th;
    int started = 0, rc = 0, checked = 0;
    int silent = -1, sport;
    if (s.lfd >= 0 && t->v4_silent && (silent = listener_at(&sport, 1, held, 4, 0, s.port)) < 0) {
        snprintf(why, sizeof why, "no silent listener on 127.0.0.1:%d", s.port);
        rc = -1;
    }
    if (s.lfd < 0 || !e) {
        snprintf(why, sizeof why, "no listener or engine");
        rc = -1;
    } else if (t->server[0].op == S_END && !t->full) {  /* nobody listens: the port is closed */
        close(s.lfd);
        s.lfd = -1;
    }
    if (!rc && s.lfd >= 0 && pthread_create(&th, NULL, serve, &s) == 0)
        started = 1;
    for (size_t i = 0; !rc && i < sizeof t->req / sizeof *t->req && (t->req[i].status || t->req[i].http || t->req[i].cancel_after); i++)
        rc = one_request(t, &t->req[i], e, s.port, why, sizeof why, &checked);
    hc_free(e);                 /* closes the connections: the server sees EOF */
    if (started)
        pthread_join(th, NULL);
    if (s.lfd >= 0)
        close(s.lfd);
    for (int i = 0; i < 4; i++)
        if (held[i] >= 0)
            close(held[i]);
    if (silent >= 0)
        close(silent);
    if (!rc && s.bad_request) {
        snprintf(why, sizeof why, "the server read a wrong request: %s", s.why);
        rc = -1;
    }
    if (!rc && !curl && t->accepts && s.accepts != t->accepts) {
        snprintf(why, sizeof why, "%d connections, not %d", s.accepts, t->accepts);
        rc = -1;
    }
    if (!rc && (t->hs_full || t->hs_resumed) && (s.full != t->hs_full || s.resumed != t->hs_resumed)) {
        snprintf(why, sizeof why, "%d full and %d resumed TLS handshakes, not %d and %d", s.full, s.resumed, t->hs_full,
                 t->hs_resumed);
        rc = -1;
    }
    SSL_CTX_free(s.tls);
    if (rc) {
        printf("FAIL %s: %s\n", name, why);
        failures++;
    } else
        printf("PASS %s\n", name);
}

/* A header line that would split the request is refused by hc_start,
   which calls no callback; so is one with no name. */
static void refused_lines(void)
{
    static const char *const split[] = { "X-A: 1\r\nX-B: 2" }, *const noname[] = { ": v" };
    const char *const *lines[] = { split, noname };
    const char *names[] = { "httpc/h1/header_line_split", "httpc/h1/header_line_no_name" };
    setenv("ROUTEVM_HTTP_CLIENT", "", 1);
    for (int i = 0; i < 2; i++) {
        hc_engine *e = hc_new(NULL);
        hc_spec s = { .url = "http://127.0.0.1:9/x", .headers = lines[i], .nheaders = 1, .body = "{}", .body_len = 2 };
        hc_handler h = { on_header, on_data, on_done };
        call c = { 0 };
        char err[200] = "";
        hc_xfer *x = e ? hc_start(e, &s, &h, &c, err, sizeof err) : NULL;
        if (e && !x && err[0] && !c.ended && hc_pending(e) == 0)
            printf("PASS %s\n", names[i]);
        else {
            printf("FAIL %s: %s\n", names[i], x ? "started" : err[0] ? "a callback ran" : "no message");
            failures++;
        }
        hc_free(e);
    }
}

/* No deadline is due in a call that ends in time, so the engine never
   walks its transfers looking for one: the first byte moves the deadline
   from the first-byte limit to the idle gap without making it look due
   (each walk visits every call in flight). */
static void no_needless_scans(int curl)
{
    static const tcase t = { "no_deadline_scans",
                             { ACC, RD, SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), SLEEP(100),
                               SEND("defghij"), WAITEOF },
                             { { HC_OK, 200, "abcdefghij", 0, 0, 0, 2000000, 2000000, 0, 0, 0 } }, 1, 1, NULL, 0, 0, NULL,
                             T_PLAIN, 0, 0, NULL, 0, 0 };
    char name[96], why[400] = "";
    snprintf(name, sizeof name, "httpc/%s/%s", curl ? "curl" : "h1", t.name);
    setenv("ROUTEVM_HTTP_CLIENT", curl ? "curl" : "", 1);
    curl_run = curl;
    server s = { .steps = t.server, .host = url_host(&t) };
    s.lfd = listener(&s.port, 0, NULL, 0, 0);
    hc_engine *e = hc_new(NULL);
    pthread_t th;
    int started = 0, rc = -1, checked = 0;
    if (s.lfd >= 0 && e && pthread_create(&th, NULL, serve, &s) == 0)
        started = 1;
    if (!started)
        snprintf(why, sizeof why, "no listener, engine or server");
    else if (!(rc = one_request(&t, &t.req[0], e, s.port, why, sizeof why, &checked)) && hc_scans(e)) {
        snprintf(why, sizeof why, "the transfers were walked %lu times", hc_scans(e));
        rc = -1;
    }
    hc_free(e);
    if (started)
        pthread_join(th, NULL);
    if (s.lfd >= 0)
        close(s.lfd);
    if (rc) {
        printf("FAIL %s: %s\n", name, why);
        failures++;
    } else
        printf("PASS %s\n", name);
}

/* ---------------------------------------------------------------- many calls at once */

/* A server for many connections at once (poll): each request read (head
   and Content-Length body) is answered HELLO; it counts the connections
   it accepts, until 'stop'. */
typedef struct {
    int lfd, accepts;
    volatile int stop;
    char last[64];              /* the request line of the last request answered, up to " HTTP" */
} many_server;

#define MANY 40

static void *serve_many(void *arg)
{
    many_server *m = arg;
    struct pollfd pf[MANY + 8];
    char buf[MANY + 8][1024];
    size_t len[MANY + 8];
    int n = 1;
    pf[0] = (struct pollfd){ m->lfd, POLLIN, 0 };
    while (!m->stop) {
        if (poll(pf, (nfds_t)n, 20) <= 0)
            continue;
        if ((pf[0].revents & POLLIN) && n < MANY + 8) {
            int fd = accept(m->lfd, NULL, NULL);
            if (fd >= 0) {
                m->accepts++;
                len[n] = 0;
                pf[n++] = (struct pollfd){ fd, POLLIN, 0 };
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = recv(pf[i].fd, buf[i] + len[i], sizeof buf[i] - 1 - len[i], 0);
            if (r <= 0) {
                close(pf[i].fd);
                pf[i] = pf[--n];
                len[i] = len[n];
                memcpy(buf[i], buf[n], len[i]);
                i--;
                continue;
            }
            len[i] += (size_t)r;
            buf[i][len[i]] = 0;
            const char *end = strstr(buf[i], "\r\n\r\n"), *cl = strstr(buf[i], "Content-Length: ");
            if (end && cl && len[i] >= (size_t)(end + 4 - buf[i]) + (size_t)atoi(cl + 16)) {
                len[i] = 0;
                const char *sp = strstr(buf[i], " HTTP/");
                snprintf(m->last, sizeof m->last, "%.*s", sp ? (int)(sp - buf[i]) : 0, buf[i]);
                if (send(pf[i].fd, HELLO, strlen(HELLO), MSG_NOSIGNAL) < 0)
                    continue;
            }
        }
    }
    for (int i = 1; i < n; i++)
        close(pf[i].fd);
    return NULL;
}

/* Run 'body' against a many_server on the own transport, and report. */
static void with_many_server(const char *name, void (*body)(hc_engine *e, many_server *m, int port, char *why, size_t n))
{
    char why[300] = "";
    setenv("ROUTEVM_HTTP_CLIENT", "", 1);
    many_server m = { 0 };
    int port = 0;
    m.lfd = listener(&port, 0, NULL, 0, 0);
    hc_engine *e = hc_new(NULL);
    pthread_t th;
    if (m.lfd >= 0 && e && pthread_create(&th, NULL, serve_many, &m) == 0) {
        body(e, &m, port, why, sizeof why);
        m.stop = 1;
        pthread_join(th, NULL);
    } else
        snprintf(why, sizeof why, "no listener, engine or server");
    hc_free(e);
    if (m.lfd >= 0)
        close(m.lfd);
    if (why[0]) {
        printf("FAIL %s: %s\n", name, why);
        failures++;
    } else
        printf("PASS %s\n", name);
}

static const request ok_hello = OK200("hello");

/* Start a call of 'c' to 'url'; 0, or -1 with 'why' set. */
static int start_call(hc_engine *e, const char *url, call *c, char *why, size_t n)
{
    hc_spec s = { .url = url, .body = "{}", .body_len = 2, .total_timeout_us = 5000000 };
    hc_handler h = { on_header, on_data, on_done };
    char err[200];
    *c = (call){ .e = e, .rq = &ok_hello };
    if (hc_start(e, &s, &h, c, err, sizeof err))
        return 0;
    snprintf(why, n, "hc_start: %s", err);
    return -1;
}

/* MANY calls at once to one host, then MANY more: the second round runs
   on the connections the first one parked (none closed for want of room,
   none opened again). */
static void many_at_once(hc_engine *e, many_server *m, int port, char *why, size_t n)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    for (int round = 0; round < 2 && !why[0]; round++) {
        call c[MANY];
        for (int i = 0; i < MANY && !why[0]; i++)
            start_call(e, url, &c[i], why, n);
        int64_t end = hc_now_us() + 4000000;
        while (hc_pending(e) && hc_now_us() < end)
            hc_run_once(e, 10000);
        for (int i = 0; i < MANY && !why[0]; i++)
            if (!c[i].ended || c[i].d.status != HC_OK || c[i].len != 5)
                snprintf(why, n, "round %d call %d: %s", round, i, c[i].ended ? hc_status_name(c[i].d.status) : "no end");
    }
    if (!why[0] && m->accepts != MANY)
        snprintf(why, n, "%d connections for %d calls at once, twice", m->accepts, MANY);
}

/* Calls to more URLs than the engine keeps parsed (16), twice round:
   each arrives with its own path, whether its URL was parsed afresh,
   kept, or put in the place of another. */
static void many_urls(hc_engine *e, many_server *m, int port, char *why, size_t n)
{
    for (int i = 0; i < 44 && !why[0]; i++) {
        char url[80], want[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/u%d?q=%d", port, i % 22, i % 22);
        snprintf(want, sizeof want, "POST /u%d?q=%d", i % 22, i % 22);
        call c;
        if (start_call(e, url, &c, why, n))
            break;
        spin(e, 4000, &c.ended);
        if (!c.ended || c.d.status != HC_OK)
            snprintf(why, n, "call %d: %s", i, c.ended ? hc_status_name(c.d.status) : "no end");
        else if (strcmp(m->last, want))
            snprintf(why, n, "call %d arrived as '%s', not '%s'", i, m->last, want);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* the test server writes through OpenSSL's socket BIO */
    if (tca_make(ca_dir, sizeof ca_dir)) {
        printf("FAIL httpc/tls: cannot make the certificates\n");
        return 1;
    }
    find_hosts_name();
    refused_lines();
    no_needless_scans(0);
    no_needless_scans(1);
    with_many_server("httpc/h1/many_at_once_reuse", many_at_once);
    with_many_server("httpc/h1/urls_past_the_cache", many_urls);
    if (!(big_body = malloc(BIG_BODY)))
        return 1;
    memset(big_body, 'a', BIG_BODY);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_case(&cases[i], 0);
        if (cases[i].curl_too)
            run_case(&cases[i], 1);
    }
    free(big_body);
    tca_remove(ca_dir);
    return failures != 0;
}
