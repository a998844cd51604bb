/* Parsing OpenAI chat-completions requests into rv_request; see
   request.h.  Accepted shapes:

     messages[]  role system|developer|user|assistant|tool|function;
                 content a string, null, or parts [{type:text,text},
                 {type:image_url,...}, {type:input_image|image,...}]
     tools[]     {type:function, function:{name}}  (and legacy functions[])
     metadata    an object; string values as they are, numbers and bools
                 as their JSON text; other values are refused
     user, stream, max_tokens | max_completion_tokens, model

   Anything else in the request is ignored (it is passed to providers
   untouched by the runtime, not read by policies). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "request.h"

#define DEFAULT_MAX_BYTES (16u << 20)
#define DEFAULT_MAX_MESSAGES 10000u

#define INLINE_ARENA 512

typedef struct block { struct block *next; _Alignas(16) char data[]; } block;

/* Large pieces (message texts) get blocks of their own, so the small ones
   -- the tables and the metadata a decision reads -- stay together in the
   struct's tail. */
#define BIG_PIECE 256

static char *big_alloc(rv_request *r, size_t n)
{
    block *b = mem_malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->next = r->blocks;
    r->blocks = b;
    return b->data;
}

/* ---------------------------------------------------------------- pools */

#define POOL_CHUNK (1u << 20)

typedef struct { block *head; size_t len, cap; } region;
struct rv_reqpool { region small, big; };

static char *region_alloc(region *g, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!g->head || g->len + n > g->cap) {
        size_t cap = n > POOL_CHUNK ? n : POOL_CHUNK;
        block *b = mem_malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = g->head;
        g->head = b;
        g->len = 0;
        g->cap = cap;
    }
    char *p = g->head->data + g->len;
    g->len += n;
    return p;
}

static void region_free(region *g)
{
    for (block *b = g->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

rv_reqpool *req_pool_new(void)
{
    return mem_calloc(1, sizeof(rv_reqpool));
}

void req_pool_free(rv_reqpool *pool)
{
    if (!pool)
        return;
    region_free(&pool->small);
    region_free(&pool->big);
    free(pool);
}

char *req_alloc(rv_request *r, size_t n)
{
    if (r->pool)
        return region_alloc(n >= BIG_PIECE ? &r->pool->big : &r->pool->small, n);
    if (n >= BIG_PIECE && r->arena_len + n > r->arena_cap)
        return big_alloc(r, n);
    n = (n + 7) & ~(size_t)7;
    if (r->arena_len + n > r->arena_cap) {
        size_t cap = r->arena_cap * 2 > n ? r->arena_cap * 2 : n;
        if (cap < 4096)
            cap = 4096;
        block *b = mem_malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = r->blocks;
        r->blocks = b;
        r->arena = b->data;
        r->arena_len = 0;
        r->arena_cap = cap;
    }
    char *p = r->arena + r->arena_len;
    r->arena_len += n;
    return p;
}

void req_free(rv_request *r)
{
    if (!r)
        return;
    if (r->pool) {
        json_decref(r->json);   /* the rest belongs to the pool */
        r->json = NULL;
        return;
    }
    for (block *b = r->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    json_decref(r->json);
    free(r);
}

static rv_request *fail(rv_request *r, rv_reqerr *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rv_request *fail(rv_request *r, rv_reqerr *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    req_free(r);
    return NULL;
}

static rv_sv sv_of(json_t *s)
{
    rv_sv v = { json_string_value(s), (uint32_t)json_string_length(s) };
    return v;
}

/* Copy a view into the request arena, so the request outlives its JSON. */
static int own(rv_request *r, rv_sv *v)
{
    char *d = req_alloc(r, (size_t)v->len + 1);
    if (!d)
        return -1;
    memcpy(d, v->s, v->len);
    d[v->len] = 0;
    v->s = d;
    return 0;
}

/* Join 'n' views with "\n" into the request arena. */
static int join(rv_request *r, const rv_sv *parts, uint32_t n, rv_sv *out)
{
    if (n == 1) {
        *out = parts[0];
        return 0;
    }
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += parts[i].len + (i > 0);
    if (len > UINT32_MAX)
        return -1;
    char *d = req_alloc(r, len + 1), *p = d;
    if (!d)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            *p++ = '\n';
        memcpy(p, parts[i].s, parts[i].len);
        p += parts[i].len;
    }
    *p = 0;
    out->s = d;
    out->len = (uint32_t)len;
    return 0;
}

static int role_of(const char *s)
{
    if (!strcmp(s, "system") || !strcmp(s, "developer")) return RV_ROLE_SYSTEM;
    if (!strcmp(s, "user")) return RV_ROLE_USER;
    if (!strcmp(s, "assistant")) return RV_ROLE_ASSISTANT;
    if (!strcmp(s, "tool") || !strcmp(s, "function")) return RV_ROLE_TOOL;
    return -1;
}

/* A message's content: its text parts joined, its image parts counted. */
static const char *parse_content(rv_request *r, json_t *content, rv_msg *m)
{
    static const rv_sv empty = { "", 0 };
    m->text = empty;
    if (!content || json_is_null(content))
        return NULL;
    if (json_is_string(content)) {
        m->text = sv_of(content);
        return own(r, &m->text) ? "out of memory" : NULL;
    }
    if (!json_is_array(content))
        return "content must be a string, null or an array of parts";
    size_t n = json_array_size(content), nt = 0;
    rv_sv stackparts[8], *parts = n <= 8 ? stackparts : mem_calloc(n, sizeof *parts);   /* freed below */
    if (!parts)
        return "out of memory";
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        json_t *part = json_array_get(content, i);
        const char *type = json_string_value(json_object_get(part, "type"));
        if (!json_is_object(part) || !type)
            why = "each content part must be an object with a \"type\"";
        else if (!strcmp(type, "text")) {
            json_t *t = json_object_get(part, "text");
            if (!json_is_string(t))
                why = "a text part needs a string \"text\"";
            else
                parts[nt++] = sv_of(t);
        } else if (!strcmp(type, "image_url") || !strcmp(type, "input_image") || !strcmp(type, "image")) {
            m->images++;
        }
    }
    if (!why && nt && join(r, parts, (uint32_t)nt, &m->text))
        why = "out of memory";
    if (!why && nt == 1 && own(r, &m->text))   /* join() returns a single part as it is */
        why = "out of memory";
    if (parts != stackparts)
        free(parts);
    return why;
}

static const char *parse_messages(rv_request *r, json_t *msgs, const rv_reqlimits *lim)
{
    if (!msgs)
        return "the request has no \"messages\"";
    if (!json_is_array(msgs))
        return "\"messages\" must be an array";
    size_t n = json_array_size(msgs);
    if (n == 0)
        return "\"messages\" is empty";
    if (n > lim->max_messages)
        return "too many messages";
    r->msgs = (rv_msg *)req_alloc(r, n * sizeof *r->msgs);
    r->texts = (rv_sv *)req_alloc(r, n * sizeof *r->texts);
    rv_sv *sys = mem_calloc(n, sizeof *sys);
    if (!r->msgs || !r->texts || !sys) {
        free(sys);
        return "out of memory";
    }
    memset(r->msgs, 0, n * sizeof *r->msgs);
    uint32_t nsys = 0;
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        json_t *m = json_array_get(msgs, i);
        if (!json_is_object(m)) {
            why = "each message must be an object";
            break;
        }
        const char *role = json_string_value(json_object_get(m, "role"));
        int rl = role ? role_of(role) : -1;
        if (rl < 0) {
            why = role ? "unknown message role (system, developer, user, assistant, tool)"
                       : "each message needs a string \"role\"";
            break;
        }
        rv_msg *msg = &r->msgs[r->nmsg++];
        msg->role = (uint8_t)rl;
        why = parse_content(r, json_object_get(m, "content"), msg);
        r->texts[r->nmsg - 1] = msg->text;
        r->images += msg->images;
        if (rl == RV_ROLE_USER) {
            r->turns++;
            r->input = msg->text;
        } else if (rl == RV_ROLE_SYSTEM) {
            sys[nsys++] = msg->text;
        }
    }
    if (!why && nsys && join(r, sys, nsys, &r->system))
        why = "out of memory";
    free(sys);
    return why;
}

static const char *parse_tools(rv_request *r, json_t *root)
{
    json_t *tools = json_object_get(root, "tools"), *fns = json_object_get(root, "functions");
    size_t n = (json_is_array(tools) ? json_array_size(tools) : 0) + (json_is_array(fns) ? json_array_size(fns) : 0);
    if (tools && !json_is_array(tools) && !json_is_null(tools))
        return "\"tools\" must be an array";
    if (!n)
        return NULL;
    r->tools = (rv_sv *)req_alloc(r, n * sizeof *r->tools);
    if (!r->tools)
        return "out of memory";
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *name = json_object_get(json_object_get(t, "function"), "name");
        if (!json_is_string(name))
            name = json_object_get(t, "name");
        if (!json_is_string(name))
            return "each tool needs a function name";
        r->tools[r->ntool] = sv_of(name);
        if (own(r, &r->tools[r->ntool++]))
            return "out of memory";
    }
    json_array_foreach(fns, i, t) {
        json_t *name = json_object_get(t, "name");
        if (!json_is_string(name))
            return "each function needs a name";
        r->tools[r->ntool] = sv_of(name);
        if (own(r, &r->tools[r->ntool++]))
            return "out of memory";
    }
    return NULL;
}

static const char *parse_meta(rv_request *r, json_t *meta)
{
    if (!meta || json_is_null(meta))
        return NULL;
    if (!json_is_object(meta))
        return "\"metadata\" must be an object";
    size_t n = json_object_size(meta);
    r->meta = (rv_meta *)req_alloc(r, (n ? n : 1) * sizeof *r->meta);
    if (!r->meta)
        return "out of memory";
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v) {
        rv_meta *m = &r->meta[r->nmeta];
        size_t klen = strlen(key);
        char *kc = req_alloc(r, klen + 1);
        if (!kc)
            return "out of memory";
        memcpy(kc, key, klen + 1);
        m->key.s = kc;
        m->key.len = (uint32_t)klen;
        if (json_is_string(v)) {
            size_t vlen = json_string_length(v);
            char *vc = req_alloc(r, vlen + 1);
            if (!vc)
                return "out of memory";
            memcpy(vc, json_string_value(v), vlen + 1);
            m->val.s = vc;
            m->val.len = (uint32_t)vlen;
        } else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
            char buf[64];
            int len = json_is_boolean(v) ? snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false")
                    : json_is_integer(v) ? snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v))
                    : snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
            char *d = req_alloc(r, (size_t)len + 1);
            if (!d)
                return "out of memory";
            memcpy(d, buf, (size_t)len + 1);
            m->val.s = d;
            m->val.len = (uint32_t)len;
        } else if (json_is_null(v)) {
            continue;
        } else {
            return "metadata values must be strings, numbers or bools";
        }
        r->nmeta++;
    }
    return NULL;
}

const rv_sv *req_meta(const rv_request *r, const char *key, uint32_t keylen)
{
    for (uint32_t i = 0; i < r->nmeta; i++) {
        const rv_sv *k = &r->meta[i].key;
        if (k->len != keylen || k->s[0] != key[0])
            continue;
        uint32_t j = 1;
        while (j < keylen && k->s[j] == key[j])   /* keys are short: no call to memcmp */
            j++;
        if (j >= keylen)
            return &r->meta[i].val;
    }
    return NULL;
}

static rv_request *parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err, rv_reqpool *pool);

rv_request *req_parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err)
{
    return parse(buf, len, lim, err, NULL);
}

rv_request *req_parse_pooled(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err,
                             rv_reqpool *pool)
{
    return parse(buf, len, lim, err, pool);
}

static rv_request *parse(const char *buf, size_t len, const rv_reqlimits *lim, rv_reqerr *err, rv_reqpool *pool)
{
    rv_reqlimits dflt = { DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES };
    memset(err, 0, sizeof *err);
    if (!lim)
        lim = &dflt;
    if (len > lim->max_bytes) {
        snprintf(err->msg, sizeof err->msg, "request too large: %zu bytes (the limit is %zu)", len, lim->max_bytes);
        return NULL;
    }
    rv_request *r = pool ? (rv_request *)region_alloc(&pool->small, sizeof *r) : mem_malloc(sizeof *r + INLINE_ARENA);
    if (!r)
        return fail(NULL, err, "out of memory");
    memset(r, 0, sizeof *r);
    r->pool = pool;
    r->arena = r->inline_arena;
    r->arena_cap = pool ? 0 : INLINE_ARENA;
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        err->line = je.line;
        err->column = je.column;
        return fail(r, err, "invalid JSON: %s", je.text);
    }
    r->json = root;
    if (!json_is_object(root))
        return fail(r, err, "the request must be a JSON object");
    json_t *v;
    /* metadata first: it lands right after the struct, where decisions look */
    const char *why = parse_meta(r, json_object_get(root, "metadata"));
    if (!why)
        why = parse_messages(r, json_object_get(root, "messages"), lim);
    if (!why)
        why = parse_tools(r, root);
    if (why)
        return fail(r, err, "%s", why);
    if ((v = json_object_get(root, "model")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(r, err, "\"model\" must be a string");
        r->model = sv_of(v);
        if (own(r, &r->model))
            return fail(r, err, "out of memory");
    }
    if ((v = json_object_get(root, "user")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(r, err, "\"user\" must be a string");
        r->user = sv_of(v);
        if (own(r, &r->user))
            return fail(r, err, "out of memory");
    }
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return fail(r, err, "\"stream\" must be true or false");
        r->stream = json_is_true(v);
    }
    v = json_object_get(root, "max_completion_tokens");
    if (!v || json_is_null(v))
        v = json_object_get(root, "max_tokens");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return fail(r, err, "\"max_tokens\" must be a positive integer");
        r->max_tokens = json_integer_value(v);
    }
    /* every view now points into the request itself: the JSON can go */
    json_decref(root);
    r->json = NULL;
    if (!r->input.s)
        r->input.s = "";
    if (!r->system.s)
        r->system.s = "";
    if (!r->user.s)
        r->user.s = "";
    if (!r->model.s)
        r->model.s = "";
    return r;
}
