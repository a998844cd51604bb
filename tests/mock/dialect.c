/* Helpers shared by the mock's dialects; see dialect.h.  The SSE writer
   lays out each event as the script's 'sse' settings ask (line endings,
   keep-alive comments, data split over several lines, a last event
   without its blank line): all legal, and each a case a client's parser
   must handle.  Broken SSE (not JSON, two events run together, a huge
   event, an event without data) is written here too, so the three dialects
   break it the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

void dl_result_free(dl_result *res)
{
    rp_free(&res->reply);
}

void dl_buf_add(dl_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void dl_buf_str(dl_buf *b, const char *s)
{
    dl_buf_add(b, s, strlen(s));
}

const char *dl_buf_text(const dl_buf *b)
{
    return b->s && !b->failed ? b->s : "";
}

void dl_buf_free(dl_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void dl_json_body(rp_reply *r, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!s)
        r->failed = 1;
    else
        rp_set_body(r, s, strlen(s));
    free(s);
    json_decref(j);
}

void dl_json_cut(rp_reply *r, json_t *j)
{
    dl_json_body(r, j);
    if (r->body)
        r->body_len /= 2;
}

/* Offset just after the first ',' between top-level members of the JSON
   text 's', or 0: a newline there keeps the JSON valid. */
static size_t split_point(const char *s)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; s[i]; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\' && s[i + 1])
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (ch == ',' && depth == 1) {
            return i + 1;
        }
    }
    return 0;
}

void dl_sse_text(rp_reply *r, const scr_sse *sse, const char *event, const char *data, int content, int last)
{
    dl_buf b = { 0 };
    const char *eol = sse && sse->eol ? sse->eol : "\n";
    if (sse && sse->comments) {
        dl_buf_str(&b, ": keep-alive");
        dl_buf_str(&b, eol);
    }
    if (event) {
        dl_buf_str(&b, "event: ");
        dl_buf_str(&b, event);
        dl_buf_str(&b, eol);
    }
    size_t cut = sse && sse->split_data ? split_point(data) : 0;
    dl_buf_str(&b, "data: ");
    if (cut) {
        dl_buf_add(&b, data, cut);
        dl_buf_str(&b, eol);
        dl_buf_str(&b, "data: ");
        data += cut;
    }
    dl_buf_str(&b, data);
    dl_buf_str(&b, eol);
    if (!(last && sse && sse->no_final_blank))
        dl_buf_str(&b, eol);
    if (b.failed)
        r->failed = 1;
    else
        rp_event_add(r, b.s, b.len, content);
    dl_buf_free(&b);
}

void dl_sse_json(rp_reply *r, const scr_sse *sse, const char *event, json_t *j, int content, int last)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        r->failed = 1;
        return;
    }
    dl_sse_text(r, sse, event, s, content, last);
    free(s);
}

void dl_sse_broken(rp_reply *r, const scr_fault *f, const char *event)
{
    dl_buf b = { 0 };
    if (event) {
        dl_buf_str(&b, "event: ");
        dl_buf_str(&b, event);
        dl_buf_str(&b, "\n");
    }
    switch (f->sse_form) {
    case SSE_NOT_JSON:
        dl_buf_str(&b, "data: {\"choices\": [this is not JSON\n\n");
        break;
    case SSE_NO_BLANK_LINE:
        /* two events with no blank line between: one event, two data lines */
        dl_buf_str(&b, "data: {\"type\":\"ping\"}\ndata: {\"type\":\"ping\"}\n\n");
        break;
    case SSE_HUGE:
        dl_buf_str(&b, "data: \"");
        for (size_t i = 0; i < f->size && !b.failed; i += 64)
            dl_buf_add(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                       f->size - i < 64 ? f->size - i : 64);
        dl_buf_str(&b, "\"\n\n");
        break;
    case SSE_NO_DATA:
        dl_buf_str(&b, "id: 7\nretry: 10\n\n");
        break;
    }
    if (b.failed)
        r->failed = 1;
    else
        rp_event_add(r, b.s, b.len, 0);
    dl_buf_free(&b);
}

static const char *html_page =
    "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n"
    "<hr><center>cloudfront</center>\r\n</body>\r\n</html>\r\n";

void dl_error_reply(rp_reply *r, int status, json_t *body, const char *content_type, const scr_fault *f)
{
    const char *ct = f && f->content_type ? f->content_type : f && f->html ? "text/html" : content_type;
    rp_init(r, status, ct);
    if (f && f->html) {
        char page[512];
        const char *what = status == 502 ? "Bad Gateway" : status == 503 ? "Service Temporarily Unavailable"
                         : status == 504 ? "Gateway Time-out" : "Error";
        int n = snprintf(page, sizeof page, html_page, status, what, status, what);
        rp_set_body(r, page, (size_t)n);
        json_decref(body);
    } else {
        dl_json_body(r, body);
    }
    if (f && f->retry_after)
        rp_header(r, "Retry-After", f->retry_after);
    for (size_t i = 0; f && i < f->nheaders; i++)
        rp_header(r, f->headers[2 * i], f->headers[2 * i + 1]);
}

int dl_answer(const dl_config *cfg, const char *model, const char *last_user, const char *all_text,
              dl_result *res)
{
    long estimate = scr_estimate_tokens(strlen(all_text));
    if (scr_answer_for(cfg->script, model, last_user, all_text, estimate, &res->answer,
                       res->info.error, sizeof res->info.error))
        return -1;
    res->has_answer = 1;
    res->info.rule = res->answer.rule_name;
    res->info.nth = res->answer.nth;
    res->info.rule_nth = res->answer.rule_nth;
    res->info.fault = res->answer.fault ? res->answer.fault->name : NULL;
    return 0;
}

int dl_secret_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int dl_fault_due(const scr_fault *f, int seen, int closing, int *fired)
{
    if (!f || *fired || f->after < 0 || (!closing && seen < f->after))
        return 0;
    *fired = 1;
    return 1;
}
