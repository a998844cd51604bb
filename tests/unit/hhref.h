/* hh_request and hh_response (vm/providers/hhead.c) held to http-parser,
   the reader they stand in for: whatever head either takes, http-parser
   must read the same bytes as that same head -- without an error, ending
   exactly where hhead says (and not one byte earlier), with the same
   method or status, target, fields (names as written, values without
   their leading blanks), Content-Length and keep-alive, and no chunked
   body or upgrade; and hhead's 'underscore' must say whether a name
   holds '_'.  A head hhead declines says nothing.  Shared by
   tests/unit/hhead_test.c and the fuzz harness tests/fuzz/fuzz_hhead.c. */
#ifndef HHREF_H
#define HHREF_H

#include <stdio.h>
#include <string.h>

#include <http_parser.h>

#include "hhead.h"

#define HHREF_CAP 8192
#define HHREF_FIELDS 64

typedef struct {
    char url[HHREF_CAP];
    size_t url_len;
    char text[HHREF_CAP];       /* names and values, one after the other */
    size_t text_len;
    size_t noff[HHREF_FIELDS], nlen[HHREF_FIELDS], voff[HHREF_FIELDS], vlen[HHREF_FIELDS];
    int nfield, in_value, overflow, heads;
    int keep_alive;
} hhref_got;

static int hhref_put(hhref_got *g, char *buf, size_t *len, const char *at, size_t n)
{
    if (*len + n > HHREF_CAP) {
        g->overflow = 1;
        return -1;
    }
    memcpy(buf + *len, at, n);
    *len += n;
    return 0;
}

static int hhref_url(http_parser *hp, const char *at, size_t n)
{
    hhref_got *g = hp->data;
    return hhref_put(g, g->url, &g->url_len, at, n);
}

static int hhref_field(http_parser *hp, const char *at, size_t n)
{
    hhref_got *g = hp->data;
    if (g->in_value || g->nfield == 0) {
        if (g->nfield == HHREF_FIELDS) {
            g->overflow = 1;
            return -1;
        }
        g->in_value = 0;
        g->noff[g->nfield] = g->text_len;
        g->nlen[g->nfield] = g->vlen[g->nfield] = 0;
        g->voff[g->nfield] = 0;
        g->nfield++;
    }
    g->nlen[g->nfield - 1] += n;
    return hhref_put(g, g->text, &g->text_len, at, n);
}

static int hhref_value(http_parser *hp, const char *at, size_t n)
{
    hhref_got *g = hp->data;
    if (!g->in_value) {
        g->in_value = 1;
        g->voff[g->nfield - 1] = g->text_len;
    }
    g->vlen[g->nfield - 1] += n;
    return hhref_put(g, g->text, &g->text_len, at, n);
}

static int hhref_headers(http_parser *hp)
{
    hhref_got *g = hp->data;
    g->heads++;
    g->keep_alive = http_should_keep_alive(hp);
    return 0;
}

static const http_parser_settings hhref_settings = {
    .on_url = hhref_url,
    .on_header_field = hhref_field,
    .on_header_value = hhref_value,
    .on_headers_complete = hhref_headers,
};

/* http-parser over [p, p + n): the bytes it took; its state in '*hp'. */
static size_t hhref_run(int response, const char *p, size_t n, http_parser *hp, hhref_got *g)
{
    memset(g, 0, sizeof *g);
    http_parser_init(hp, response ? HTTP_RESPONSE : HTTP_REQUEST);
    hp->data = g;
    return http_parser_execute(hp, &hhref_settings, p, n);
}

/* 1 when hhead declines [p, p + n) or reads it as http-parser does (0,
   with the difference in 'why', otherwise); '*took' gets whether hhead
   took it. */
static int hhref_agree(int response, const char *p, size_t n, int *took, char *why, size_t wl)
{
    hh_field f[HHREF_FIELDS];
    hh_head h;
    size_t len = response ? hh_response(p, n, f, HHREF_FIELDS, &h) : hh_request(p, n, f, HHREF_FIELDS, &h);
    *took = len > 0;
    if (!len)
        return 1;
    http_parser hp;
    static hhref_got g;
    size_t used = hhref_run(response, p, len - 1, &hp, &g);
    if (g.heads) {
        snprintf(why, wl, "http-parser ends the head before byte %zu", len);
        return 0;
    }
    used = hhref_run(response, p, len, &hp, &g);
    if (HTTP_PARSER_ERRNO(&hp) != HPE_OK || used != len || g.heads != 1 || g.overflow) {
        snprintf(why, wl, "http-parser: %s, took %zu of %zu bytes, %d heads", http_errno_name(HTTP_PARSER_ERRNO(&hp)),
                 used, len, g.heads);
        return 0;
    }
    static const int methods[] = { [HH_GET] = HTTP_GET, [HH_POST] = HTTP_POST, [HH_HEAD] = HTTP_HEAD };
    if (response ? (int)hp.status_code != h.status : (int)hp.method != methods[h.method]) {
        snprintf(why, wl, "method or status differs");
        return 0;
    }
    if (!response && (g.url_len != h.target_len || memcmp(g.url, p + h.target_off, g.url_len))) {
        snprintf(why, wl, "target differs: '%.*s'", (int)g.url_len, g.url);
        return 0;
    }
    if ((uint32_t)g.nfield != h.nfield) {
        snprintf(why, wl, "%d fields, hhead %u", g.nfield, h.nfield);
        return 0;
    }
    int underscore = 0;
    for (int i = 0; i < g.nfield; i++)
        underscore |= memchr(g.text + g.noff[i], '_', g.nlen[i]) != NULL;
    if (underscore != h.underscore) {
        snprintf(why, wl, "'_' in a name: %d, hhead %d", underscore, h.underscore);
        return 0;
    }
    for (int i = 0; i < g.nfield; i++)
        if (g.nlen[i] != f[i].nlen || memcmp(g.text + g.noff[i], p + f[i].noff, g.nlen[i]) ||
            g.vlen[i] != f[i].vlen || memcmp(g.text + g.voff[i], p + f[i].voff, g.vlen[i])) {
            snprintf(why, wl, "field %d differs: '%.*s: %.*s'", i, (int)g.nlen[i], g.text + g.noff[i],
                     (int)g.vlen[i], g.text + g.voff[i]);
            return 0;
        }
    int has_len = (hp.flags & F_CONTENTLENGTH) != 0;
    if (has_len != h.has_length || (has_len && hp.content_length != h.length)) {
        snprintf(why, wl, "Content-Length differs");
        return 0;
    }
    if ((hp.flags & F_CHUNKED) || hp.upgrade) {
        snprintf(why, wl, "http-parser reads a chunked body or an upgrade");
        return 0;
    }
    if (g.keep_alive != !h.close) {
        snprintf(why, wl, "keep-alive differs");
        return 0;
    }
    return 1;
}

#endif
