/* From a reply to timed bytes; see plan.h.  Streams go out with
   Transfer-Encoding: chunked, one HTTP chunk per event, as the real
   providers send them, so a fault "after N chunks" lands between two whole
   events.  The transport faults are applied here, at a cut point that
   rp_cut computes from the fault's 'after' (content chunks already sent);
   dialect faults (in-band errors, broken SSE, bad CRCs) were already
   written into the events by the dialect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

static void add_step(plan *p, const char *data, size_t len, unsigned delay, int drip)
{
    if (p->failed)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        plan_step *s = realloc(p->steps, cap * sizeof *s);
        if (!s) {
            p->failed = 1;
            return;
        }
        p->steps = s;
        p->cap = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        p->failed = 1;
        return;
    }
    memcpy(copy, data, len);
    p->steps[p->n++] = (plan_step){ copy, len, delay, drip };
}

/* The status line and headers, ending with the blank line. */
static char *head_text(const rp_reply *r, int keep_alive, size_t *len)
{
    char date[64], framing[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (r->streamed)
        snprintf(framing, sizeof framing, "Transfer-Encoding: chunked");
    else
        snprintf(framing, sizeof framing, "Content-Length: %zu", r->body_len);
    size_t cap = r->headers_len + strlen(r->content_type) + 256;
    char *h = malloc(cap);
    if (!h)
        return NULL;
    int n = snprintf(h, cap, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n%s\r\n%s",
                     r->status, reason(r->status), date, r->content_type, framing,
                     keep_alive ? "" : "Connection: close\r\n");
    memcpy(h + n, r->headers ? r->headers : "", r->headers_len);
    memcpy(h + n + r->headers_len, "\r\n", 2);
    *len = (size_t)n + r->headers_len + 2;
    return h;
}

/* Whole body after the headers, with the body-level faults. */
static void build_plain(plan *p, const rp_reply *r, const scr_fault *f, const char *head, size_t hlen,
                        unsigned headers_ms)
{
    enum scr_fault_kind k = f ? f->kind : F_NONE;
    if (k == F_DRIP && f->after < 0) {
        add_step(p, head, hlen, headers_ms, 1);
        add_step(p, r->body, r->body_len, 0, 1);
        return;
    }
    add_step(p, head, hlen, headers_ms, 0);
    if (k == F_RESET || k == F_CLOSE) {
        p->end = k == F_RESET ? PLAN_RESET : PLAN_CLOSE;
        return;
    }
    if (k == F_STALL && f->then != THEN_CONTINUE) {
        p->end = f->then == THEN_RESET ? PLAN_RESET : PLAN_CLOSE;
        p->end_delay_ms = f->ms;
        return;
    }
    add_step(p, r->body, r->body_len, k == F_STALL ? f->ms : 0, k == F_DRIP);
}

/* Frames event 'e' as one HTTP chunk; 'broken' writes an invalid size. */
static void add_chunk(plan *p, const rp_event *e, unsigned delay, int drip, int broken)
{
    char size[32];
    /* a size must start with a hex digit: "-5" is no size at all */
    int n = snprintf(size, sizeof size, broken ? "-%zx\r\n" : "%zx\r\n", e->len);
    size_t len = (size_t)n + e->len + 2;
    char *buf = malloc(len);
    if (!buf) {
        p->failed = 1;
        return;
    }
    memcpy(buf, size, (size_t)n);
    memcpy(buf + n, e->data, e->len);
    memcpy(buf + n + e->len, "\r\n", 2);
    add_step(p, buf, len, delay, drip);
    free(buf);
}

/* Applies the transport fault due at the cut point.  Returns 1 when the
   stream stops there; may add to '*delay' or turn on dripping. */
static int at_cut(plan *p, const scr_fault *f, unsigned *delay, int *drip, int *broken)
{
    switch (f->kind) {
    case F_RESET: p->end = PLAN_RESET; return 1;
    case F_CLOSE: p->end = PLAN_CLOSE; return 1;
    case F_STALL:
        if (f->then == THEN_CONTINUE) {
            *delay += f->ms;
            return 0;
        }
        p->end = f->then == THEN_RESET ? PLAN_RESET : PLAN_CLOSE;
        p->end_delay_ms = f->ms;
        return 1;
    case F_DRIP: *drip = 1; return 0;
    case F_BAD_CHUNKING: *broken = 1; return 0;
    default: return 0;
    }
}

static void build_stream(plan *p, const rp_reply *r, const scr_answer *a, const scr_fault *f,
                         const char *head, size_t hlen, unsigned headers_ms)
{
    int drip = f && f->kind == F_DRIP && f->after < 0;
    size_t cut = f && f->after >= 0 ? rp_cut(r, f->after, r->nev) : (size_t)-1;
    int seen = 0;
    add_step(p, head, hlen, headers_ms, drip);
    for (size_t i = 0; i <= r->nev; i++) {
        unsigned delay = 0;
        int broken = 0;
        if (i < r->nev && r->ev[i].content && a)
            delay = seen++ ? a->gap_ms : a->first_ms;
        if (i == cut && at_cut(p, f, &delay, &drip, &broken))
            return;
        if (i == r->nev) {
            static const rp_event end = { "", 0, 0 };
            add_chunk(p, &end, delay, drip, broken);
            break;
        }
        add_chunk(p, &r->ev[i], delay, drip, broken);
        if (broken) {
            p->end = PLAN_CLOSE;
            return;
        }
    }
}

/* Keeps the first 'limit' bytes of the plan and nothing after. */
static void truncate_bytes(plan *p, size_t limit)
{
    size_t total = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (total + p->steps[i].len >= limit) {
            p->steps[i].len = limit - total;
            for (size_t j = i + 1; j < p->n; j++)
                free(p->steps[j].data);
            p->n = i + 1;
            return;
        }
        total += p->steps[i].len;
    }
}

void plan_build(plan *p, const rp_reply *r, const scr_answer *a, int keep_alive)
{
    const scr_fault *f = a ? a->fault : NULL;
    unsigned headers_ms = a ? a->headers_ms : 0;
    memset(p, 0, sizeof *p);
    p->end = keep_alive ? PLAN_KEEP : PLAN_CLOSE;
    p->drip_ms = f && f->kind == F_DRIP ? f->ms : 0;
    if (f && (f->kind == F_DELAY || f->kind == F_ERROR || f->kind == F_CONTEXT))
        headers_ms += f->ms;
    if (f && f->kind == F_RESET && f->after < 0 && f->after_bytes < 0) {
        p->end = PLAN_RESET;
        p->end_delay_ms = headers_ms;
        return;
    }
    size_t hlen;
    char *head = head_text(r, keep_alive, &hlen);
    if (!head) {
        p->failed = 1;
        return;
    }
    /* a cut by bytes builds the reply whole, then truncates it */
    int by_bytes = f && (f->kind == F_RESET || f->kind == F_CLOSE) && f->after_bytes >= 0;
    if (r->streamed)
        build_stream(p, r, a, by_bytes ? NULL : f, head, hlen, headers_ms);
    else
        build_plain(p, r, by_bytes ? NULL : f, head, hlen, headers_ms);
    free(head);
    if (by_bytes) {
        truncate_bytes(p, (size_t)f->after_bytes);
        p->end = f->kind == F_RESET ? PLAN_RESET : PLAN_CLOSE;
    }
}

void plan_free(plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].data);
    free(p->steps);
    memset(p, 0, sizeof *p);
}

size_t plan_bytes(const plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += p->steps[i].len;
    return n;
}
