/* DOT to SVG through Graphviz's 'dot' (graph.h): the program is found in
   PATH and started with posix_spawnp() and an argument vector (no shell),
   the DOT text is written to its standard input while its standard output
   is read, both through one poll() loop so neither side can block the
   other, and the whole run has a deadline after which 'dot' is killed.
   Its standard error is routec's, so Graphviz's own messages reach the
   user.  The SVG is capped at DOTSVG_MAX bytes. */
#define _GNU_SOURCE 1     /* pipe2() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "mem.h"

#define DOTSVG_MAX (256u << 20)

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn_dot(int in[2], int out[2], char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    char *argv[] = { "dot", "-Tsvg", NULL };
    if (posix_spawn_file_actions_init(&fa)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int r = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    if (!r)
        r = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (!r)
        r = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r == ENOENT)
        snprintf(err, errlen, "Graphviz's 'dot' was not found in PATH (Debian package graphviz); "
                              "--format dot writes the graph without it");
    else if (r)
        snprintf(err, errlen, "cannot run 'dot': %s", strerror(r));
    return r ? -1 : pid;
}

/* Feed 'dot' and collect its output until it closes it, the deadline
   passes or the cap is reached.  0, or -1 with a message. */
static int exchange(int to, int from, const char *dot, size_t n, long long deadline, char **buf, size_t *len,
                    char *err, size_t errlen)
{
    size_t off = 0, cap = 0;
    while (from >= 0) {
        struct pollfd p[2] = { { .fd = from, .events = POLLIN }, { .fd = to, .events = POLLOUT } };
        long long left = deadline - now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "'dot' did not finish within the time allowed");
            goto fail;
        }
        int r = poll(p, to >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            goto fail;
        }
        if (to >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = off < n ? write(to, dot + off, n - off) : 0;
            if (w > 0)
                off += (size_t)w;
            if (off == n || (w < 0 && errno != EAGAIN && errno != EINTR)) {
                close(to);   /* all written, or 'dot' stopped reading (its status will say why) */
                to = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            if (*len == cap) {
                if (cap >= DOTSVG_MAX) {
                    snprintf(err, errlen, "the SVG is larger than %u MiB", DOTSVG_MAX >> 20);
                    goto fail;
                }
                char *nb = mem_realloc(*buf, cap ? cap * 2 : 65536);
                if (!nb) {
                    snprintf(err, errlen, "out of memory");
                    goto fail;
                }
                *buf = nb;
                cap = cap ? cap * 2 : 65536;
            }
            ssize_t rd = read(from, *buf + *len, cap - *len);
            if (rd > 0)
                *len += (size_t)rd;
            else if (rd == 0 || (errno != EAGAIN && errno != EINTR))
                from = -1;
        }
    }
    if (to >= 0)
        close(to);
    return 0;
fail:
    if (to >= 0)
        close(to);
    return -1;
}

int dotsvg_render(const char *dot, size_t n, int timeout_ms, char **svg, size_t *svglen, char *err, size_t errlen)
{
    int in[2], out[2];
    *svg = NULL;
    *svglen = 0;
    if (pipe2(in, O_CLOEXEC))
        goto pipe_failed;
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]);
        close(in[1]);
        goto pipe_failed;
    }
    /* a 'dot' that exits early must give an error, not a SIGPIPE */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    pid_t pid = spawn_dot(in, out, err, errlen);
    close(in[0]);
    close(out[1]);
    int rc = -1;
    if (pid > 0) {
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        rc = exchange(in[1], out[0], dot, n, now_ms() + timeout_ms, svg, svglen, err, errlen);
        if (rc)
            kill(pid, SIGKILL);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!rc && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            if (WIFEXITED(st))
                snprintf(err, errlen, "'dot' failed with exit status %d", WEXITSTATUS(st));
            else
                snprintf(err, errlen, "'dot' was killed by signal %d", WTERMSIG(st));
            rc = -1;
        }
    } else {
        close(in[1]);
    }
    close(out[0]);
    sigaction(SIGPIPE, &old, NULL);
    if (rc) {
        free(*svg);
        *svg = NULL;
        *svglen = 0;
    }
    return rc;
pipe_failed:
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
}
