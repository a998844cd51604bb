/* The capped line reader; see lines.h.  One buffer of max + CHUNK bytes:
   lines are found with memchr and handed out as views into it; what is
   left of a partial line moves to the front before the next read.  A line
   that outgrows the buffer is counted and dropped chunk by chunk until
   its newline. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "mem.h"

#define CHUNK (64u << 10)

struct ln_reader {
    int fd, eof;
    size_t max;
    char *buf;
    size_t cap, start, end;     /* unread bytes: buf[start, end) */
};

ln_reader *ln_open(int fd, size_t max)
{
    ln_reader *r = mem_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fd = fd;
    r->max = max;
    r->cap = max + 1 + CHUNK < 4 * CHUNK ? max + 1 + CHUNK : 4 * CHUNK;   /* grows as lines need */
    if (!(r->buf = mem_malloc(r->cap))) {
        free(r);
        return NULL;
    }
    return r;
}

void ln_close(ln_reader *r)
{
    if (r) {
        free(r->buf);
        free(r);
    }
}

/* Reads more after buf[end), growing the buffer up to max + 1 + CHUNK.
   Returns bytes read, 0 at the end, -1 on an error. */
static ssize_t fill(ln_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        size_t ncap = r->cap * 2 > r->max + 1 + CHUNK ? r->max + 1 + CHUNK : r->cap * 2;
        char *nb = ncap > r->cap ? mem_realloc(r->buf, ncap) : NULL;
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got > 0)
            r->end += (size_t)got;
        return got;
    }
}

/* Drops the rest of a line that is too long; *len counts it all. */
static ln_status skip(ln_reader *r, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            *len += (size_t)(nl - (r->buf + r->start));
            r->start = (size_t)(nl - r->buf) + 1;
            return LN_TOO_LONG;
        }
        *len += r->end - r->start;
        r->start = r->end = 0;
        ssize_t got = fill(r);
        if (got < 0)
            return LN_ERROR;
        if (got == 0) {
            r->eof = 1;
            return LN_TOO_LONG;
        }
    }
}

ln_status ln_next(ln_reader *r, const char **line, size_t *len)
{
    size_t scanned = 0;   /* bytes of the partial line already searched */
    for (;;) {
        char *from = r->buf + r->start + scanned;
        char *nl = memchr(from, '\n', r->end - r->start - scanned);
        size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : r->end - r->start;
        if (n > r->max) {
            if (nl) {
                *len = n;
                r->start += n + 1;
                return LN_TOO_LONG;
            }
            *len = 0;
            return skip(r, len);
        }
        if (nl || (r->eof && n > 0)) {
            *line = r->buf + r->start;
            r->start += n + (nl != NULL);
            if (n > 0 && (*line)[n - 1] == '\r')
                n--;
            *len = n;
            return LN_LINE;
        }
        if (r->eof)
            return LN_END;
        scanned = n;
        ssize_t got = fill(r);
        if (got < 0)
            return LN_ERROR;
        if (got == 0)
            r->eof = 1;
    }
}

/* ---------------------------------------------------------------- JSON Lines files */

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int ln_read_file(const char *path, size_t max, int strict, FILE *log, ln_record_fn fn, void *ud, ln_stats *st)
{
    memset(st, 0, sizeof *st);
    int std = !strcmp(path, "-");
    int fd = std ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(log, "routevm: %s: %s\n", path, strerror(errno));
        return -1;
    }
    ln_reader *r = ln_open(fd, max);
    if (!r) {
        fprintf(log, "routevm: out of memory\n");
        if (!std)
            close(fd);
        return -1;
    }
    int rc = 0;
    ln_status ls;
    const char *line;
    size_t len;
    char err[320];
    while ((ls = ln_next(r, &line, &len)) == LN_LINE || ls == LN_TOO_LONG) {
        st->lines++;
        if (ls == LN_TOO_LONG) {
            fprintf(log, "%s:%u: line longer than %zu bytes, skipped\n", path, st->lines, max);
            st->bad++;
        } else if (blank(line, len)) {
            continue;
        } else {
            err[0] = 0;
            int k = fn(ud, line, len, st->lines, err, sizeof err);
            if (k == 0) {
                st->records++;
                continue;
            }
            if (k < 0) {
                fprintf(log, "%s:%u: %s\n", path, st->lines, err);
                rc = 1;
                break;
            }
            fprintf(log, "%s:%u: %s%s\n", path, st->lines, err, strict ? "" : "; skipped");
            st->bad++;
        }
        if (strict) {
            rc = 1;
            break;
        }
    }
    if (ls == LN_ERROR) {
        fprintf(log, "routevm: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    ln_close(r);
    if (!std)
        close(fd);
    return rc;
}
