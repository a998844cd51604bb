/* Replies as the dialects build them; see reply.h.  Allocation failures are
   remembered in 'failed' rather than reported at each call, so a dialect
   builds a whole reply and the caller checks once. */
#include <stdlib.h>
#include <string.h>

#include "reply.h"

void rp_init(rp_reply *r, int status, const char *content_type)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->content_type = strdup(content_type);
    if (!r->content_type)
        r->failed = 1;
}

void rp_free(rp_reply *r)
{
    if (!r)
        return;
    free(r->content_type);
    free(r->headers);
    free(r->body);
    for (size_t i = 0; i < r->nev; i++)
        free(r->ev[i].data);
    free(r->ev);
    memset(r, 0, sizeof *r);
}

void rp_header(rp_reply *r, const char *name, const char *value)
{
    size_t add = strlen(name) + strlen(value) + 4;
    char *h = realloc(r->headers, r->headers_len + add + 1);
    if (!h) {
        r->failed = 1;
        return;
    }
    r->headers = h;
    memcpy(h + r->headers_len, name, strlen(name));
    r->headers_len += strlen(name);
    memcpy(h + r->headers_len, ": ", 2);
    r->headers_len += 2;
    memcpy(h + r->headers_len, value, strlen(value));
    r->headers_len += strlen(value);
    memcpy(h + r->headers_len, "\r\n", 3);
    r->headers_len += 2;
}

void rp_set_body(rp_reply *r, const char *data, size_t len)
{
    free(r->body);
    r->body = malloc(len + 1);
    r->body_len = r->body ? len : 0;
    if (!r->body) {
        r->failed = 1;
        return;
    }
    memcpy(r->body, data, len);
    r->body[len] = 0;
}

void rp_event_add(rp_reply *r, const char *data, size_t len, int content)
{
    if (r->nev == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        rp_event *ev = realloc(r->ev, cap * sizeof *ev);
        if (!ev) {
            r->failed = 1;
            return;
        }
        r->ev = ev;
        r->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        r->failed = 1;
        return;
    }
    memcpy(copy, data, len);
    copy[len] = 0;
    r->ev[r->nev++] = (rp_event){ copy, len, content };
    r->streamed = 1;
}

void rp_event_str(rp_reply *r, const char *s, int content)
{
    rp_event_add(r, s, strlen(s), content);
}

size_t rp_cut(const rp_reply *r, int after, size_t limit)
{
    int seen = 0;
    for (size_t i = 0; i < limit && i < r->nev; i++) {
        if (!r->ev[i].content)
            continue;
        if (seen == after)
            return i;
        seen++;
        if (seen == after)
            return i + 1;
    }
    return limit < r->nev ? limit : r->nev;
}
