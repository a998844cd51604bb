/* yajl (libyajl-dev): SAX callbacks, no tree; strings arrive as pointers
   into the text unless they hold escapes.  jsonfast: the same callbacks
   through routevm's one-pass reader (vm/jsonfast.h), yajl for a text it
   declines. */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "cand.h"
#include "jsonfast.h"

typedef struct {
    int depth;
    enum { F_NONE, F_MESSAGES, F_METADATA, F_USER, F_STREAM, F_MAXTOK, F_MODEL } top;
    int content;        /* the key at depth 3 in messages is "content" */
    size_t sum;
} st;

#define KEY(s, n, lit) ((n) == sizeof lit - 1 && !memcmp((s), lit, sizeof lit - 1))

static int on_key(void *c, const unsigned char *k, size_t n)
{
    st *s = c;
    if (s->depth == 1)
        s->top = KEY(k, n, "messages") ? F_MESSAGES : KEY(k, n, "metadata") ? F_METADATA
               : KEY(k, n, "user") ? F_USER : KEY(k, n, "stream") ? F_STREAM
               : KEY(k, n, "max_tokens") ? F_MAXTOK : KEY(k, n, "model") ? F_MODEL : F_NONE;
    else if (s->depth == 3 && s->top == F_MESSAGES)
        s->content = KEY(k, n, "content");
    return 1;
}
static int on_string(void *c, const unsigned char *v, size_t n)
{
    st *s = c;
    if (s->depth == 3 && s->top == F_MESSAGES && s->content)
        s->sum += n;
    else if (s->depth == 2 && s->top == F_METADATA)
        s->sum += n > 0;
    else if (s->depth == 1 && s->top == F_USER)
        s->sum += n;
    return 1;
}
static int on_bool(void *c, int b)
{
    st *s = c;
    if (s->depth == 1 && s->top == F_STREAM)
        s->sum += b;
    return 1;
}
static int on_number(void *c, const char *v, size_t n)
{
    st *s = c;
    if (s->depth == 1 && s->top == F_MAXTOK)
        s->sum += (size_t)strtol(v, NULL, 10);
    return 1;
}
static int on_null(void *c) { (void)c; return 1; }
static int on_open(void *c) { ((st *)c)->depth++; return 1; }
static int on_close(void *c) { ((st *)c)->depth--; return 1; }

static const yajl_callbacks cb = {
    on_null, on_bool, NULL, NULL, on_number, on_string, on_open, on_key, on_close, on_open, on_close,
};

size_t cand_yajl(const char *buf, size_t len)
{
    st s = { 0 };
    yajl_handle h = yajl_alloc(&cb, NULL, &s);
    yajl_status r = yajl_parse(h, (const unsigned char *)buf, len);
    if (r == yajl_status_ok)
        r = yajl_complete_parse(h);
    yajl_free(h);
    return r == yajl_status_ok ? s.sum : (size_t)-1;
}

size_t cand_jsonfast(const char *buf, size_t len)
{
    st s = { 0 };
    jf_reader rd = { 0 };
    jf_result r = jf_parse(&rd, &cb, &s, buf, len);
    if (r == JF_DECLINED)
        return cand_yajl(buf, len);
    return r == JF_DONE ? s.sum : (size_t)-1;
}
