/* Server-sent events; see sseread.h.  One pass over the input: bytes
   collect into the current line until a line end, then the line is
   interpreted as a field.  The line buffer and the data buffer together
   stay under the cap. */
#include <stdlib.h>
#include <string.h>

#include "sseread.h"

void sr_init(sr_reader *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap ? cap : SR_MAX_EVENT;
}

void sr_free(sr_reader *r)
{
    free(r->line);
    free(r->data);
    memset(r, 0, sizeof *r);
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 512;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static int dispatch(sr_reader *r, sr_event_fn fn, void *ud)
{
    int stop = 0;
    if (r->has_data) {
        size_t n = r->dlen && r->data[r->dlen - 1] == '\n' ? r->dlen - 1 : r->dlen;
        stop = fn(ud, r->tlen ? r->type : "message", r->tlen ? r->tlen : 7, r->data ? r->data : "", n);
    }
    r->dlen = r->tlen = 0;
    r->has_data = 0;
    return stop ? 1 : 0;
}

/* Interpret the complete line in r->line. */
static int field(sr_reader *r, sr_event_fn fn, void *ud)
{
    const char *l = r->line ? r->line : "";
    size_t n = r->llen;
    r->llen = 0;
    if (!n)
        return dispatch(r, fn, ud);
    if (l[0] == ':')
        return 0;
    const char *colon = memchr(l, ':', n);
    size_t nl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = colon ? n - nl - 1 : 0;
    if (vl && *v == ' ')
        v++, vl--;
    if (nl == 4 && !memcmp(l, "data", 4)) {
        if (r->dlen + vl + 1 > r->cap || grow(&r->data, &r->dcap, r->dlen + vl + 1))
            return -1;
        memcpy(r->data + r->dlen, v, vl);
        r->dlen += vl;
        r->data[r->dlen++] = '\n';
        r->has_data = 1;
    } else if (nl == 5 && !memcmp(l, "event", 5)) {
        r->tlen = vl < sizeof r->type ? vl : sizeof r->type - 1;
        memcpy(r->type, v, r->tlen);
    }
    return 0;
}

int sr_feed(sr_reader *r, const char *p, size_t n, sr_event_fn fn, void *ud)
{
    if (r->failed)
        return -1;
    for (size_t i = 0; i < n;) {
        if (r->last_cr && p[i] == '\n') {
            r->last_cr = 0;
            i++;
            continue;
        }
        r->last_cr = 0;
        /* the run of bytes up to the next line end joins the line */
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            j++;
        if (j > i) {
            if (r->llen + (j - i) + r->dlen > r->cap || grow(&r->line, &r->lcap, r->llen + (j - i))) {
                r->failed = 1;
                return -1;
            }
            memcpy(r->line + r->llen, p + i, j - i);
            r->llen += j - i;
        }
        if (j == n)
            break;
        r->last_cr = p[j] == '\r';
        i = j + 1;
        int rc = field(r, fn, ud);
        if (rc) {
            if (rc < 0)
                r->failed = 1;
            return rc;
        }
    }
    return 0;
}

int sr_finish(sr_reader *r, sr_event_fn fn, void *ud)
{
    if (r->failed)
        return -1;
    if (r->llen) {
        int rc = field(r, fn, ud);
        if (rc)
            return rc;
    }
    return dispatch(r, fn, ud);
}
