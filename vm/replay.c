/* Recorded traffic read into memory; see replay.h for the format.

   Each line is parsed with jansson into a tree, from which two things are
   taken: the request -- rebuilt as an OpenAI request body (the record
   without 'results', scalar extras moved into 'metadata') and parsed by
   the request model exactly as a client's request would be -- and the
   outcomes, whose texts and ids are copied into blocks the set owns.  A
   record is added whole or not at all.

   Files are read through the capped line reader (vm/lines.h): a line
   longer than the cap is skipped as it streams past, so a file of any
   size costs at most the cap in memory for its longest line. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lines.h"
#include "mem.h"
#include "replay.h"

/* ---------------------------------------------------------------- storage */

typedef struct rp_block {
    struct rp_block *next;
    size_t len, cap;
    char data[];
} rp_block;

#define BLOCK_MIN (1u << 20)

/* A copy of s[0..n) with a NUL after it, in the set's blocks. */
static const char *keep(rp_set *s, const char *src, size_t n)
{
    rp_block *b = s->blocks;
    if (!b || b->cap - b->len < n + 1) {
        size_t cap = n + 1 > BLOCK_MIN ? n + 1 : BLOCK_MIN;
        b = mem_malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = s->blocks;
        b->len = 0;
        b->cap = cap;
        s->blocks = b;
    }
    char *d = b->data + b->len;
    memcpy(d, src, n);
    d[n] = 0;
    b->len += n + 1;
    return d;
}

rp_set *rp_new(size_t max_records)
{
    rp_set *s = mem_calloc(1, sizeof *s);
    if (s)
        s->max_records = max_records ? max_records : RP_MAX_RECORDS;
    return s;
}

void rp_free(rp_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nrec; i++)
        req_free(s->recs[i].req);
    for (rp_block *b = s->blocks, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(s->recs);
    free(s->outs);
    free(s->models);
    free(s);
}

uint32_t rp_model(const rp_set *s, const char *id, size_t len)
{
    for (uint32_t i = 0; i < s->nmodel; i++)
        if (s->models[i].len == len && !memcmp(s->models[i].s, id, len))
            return i;
    return RV_NONE;
}

const rp_outcome *rp_find(const rp_set *s, const rp_record *r, uint32_t model)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (s->outs[r->first + i].model == model)
            return &s->outs[r->first + i];
    return NULL;
}

/* ---------------------------------------------------------------- records */

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* Top-level fields that are part of the OpenAI request as the request
   model reads it; everything else scalar becomes metadata. */
static int request_field(const char *k)
{
    static const char *const keys[] = { "messages", "model", "user", "tools", "max_tokens", "stream", "metadata" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

/* A scalar as metadata text: strings as they are, numbers and booleans as
   their JSON text.  NULL (not an error) for null, arrays and objects. */
static json_t *meta_text(json_t *v)
{
    if (json_is_string(v))
        return json_incref(v);
    if (!json_is_number(v) && !json_is_boolean(v))
        return NULL;
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_t *r = t ? json_string(t) : NULL;
    free(t);
    return r;
}

/* The record's scalar extras (id, domain, ...) as a metadata object,
   after the record's own "metadata" entries; NULL with 'err'. */
static json_t *metadata_of(json_t *root, char *err, size_t errlen)
{
    json_t *meta = json_object(), *given = json_object_get(root, "metadata"), *v;
    const char *k;
    if (!meta) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (given && !json_is_object(given)) {
        snprintf(err, errlen, "\"metadata\" must be an object");
        json_decref(meta);
        return NULL;
    }
    if (given)
        json_object_update(meta, given);
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "results") || request_field(k))
            continue;
        json_t *t = meta_text(v);
        if (t && !json_object_get(meta, k))
            json_object_set(meta, k, t);
        json_decref(t);
    }
    return meta;
}

/* The request body of a record: returns a new string (free()), or NULL
   with 'err'.  The line itself is a request body already (the request
   model ignores the fields it does not read, "results" among them), so
   only the metadata needs adding: it replaces the line's closing brace.
   A record with a "metadata" object of its own is rebuilt whole instead,
   since a body may not hold the key twice. */
static char *request_body(json_t *root, const char *line, size_t len, size_t *out_len, char *err, size_t errlen)
{
    json_t *meta = metadata_of(root, err, errlen);
    if (!meta)
        return NULL;
    char *body = NULL;
    if (json_object_get(root, "metadata")) {
        json_t *req = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
            if (request_field(k) && strcmp(k, "metadata"))
                json_object_set(req, k, v);
        if (req && json_object_size(meta))
            json_object_set(req, "metadata", meta);
        body = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (body)
            *out_len = strlen(body);
    } else {
        char *m = json_object_size(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
        size_t end = len;
        while (end > 0 && line[end - 1] != '}')    /* the object's closing brace: JSON allows white space after it */
            end--;
        size_t ml = m ? strlen(m) : 0;
        body = end ? mem_malloc(end + ml + 16) : NULL;
        if (body) {
            memcpy(body, line, end - 1);
            size_t n = end - 1;
            if (m) {
                memcpy(body + n, ",\"metadata\":", 12);
                memcpy(body + n + 12, m, ml);
                n += 12 + ml;
            }
            body[n++] = '}';
            body[n] = 0;
            *out_len = n;
        }
        free(m);
    }
    json_decref(meta);
    if (!body)
        snprintf(err, errlen, "out of memory");
    return body;
}

/* A number from 0 to 1 as millionths; -2 when out of range. */
static int64_t unit_num(json_t *v)
{
    double d = json_number_value(v);
    return d >= 0 && d <= 1 ? (int64_t)(d * 1000000 + 0.5) : -2;
}

/* A count of tokens: a non-negative integer below 2^53. */
static int tokens_of(json_t *u, const char *a, const char *b, int64_t *out)
{
    json_t *v = json_object_get(u, a);
    if (!v && b)
        v = json_object_get(u, b);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ((json_int_t)1 << 53))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* Milliseconds as microseconds: a finite number from 0 to about 31 years. */
static int millis(json_t *v, int64_t *out)
{
    if (!v)
        return 0;
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= 0 && d <= 1e12))
        return -1;
    *out = (int64_t)(d * 1000 + 0.5);
    return 0;
}

static int intern_model(rp_set *s, const char *id, size_t len, uint32_t *out)
{
    uint32_t m = rp_model(s, id, len);
    if (m == RV_NONE) {
        if (s->nmodel >= RP_MAX_MODELS)
            return -1;
        rv_sv *n = mem_reallocarray(s->models, s->nmodel + 1, sizeof *n);
        const char *k = n ? keep(s, id, len) : NULL;
        if (n)
            s->models = n;
        if (!k)
            return -2;
        s->models[s->nmodel] = (rv_sv){ k, (uint32_t)len };
        m = s->nmodel++;
    }
    *out = m;
    return 0;
}

static int text_of(rp_set *s, json_t *v, rv_sv *out)
{
    const char *t = keep(s, json_string_value(v), json_string_length(v));
    if (!t)
        return -1;
    *out = (rv_sv){ t, (uint32_t)json_string_length(v) };
    return 0;
}

/* One outcome, appended to s->outs (the caller rolls back on failure). */
static int outcome(rp_set *s, const char *id, json_t *o, char *err, size_t errlen)
{
    if (!json_is_object(o))
        FAIL("results.%.80s must be an object", id);
    rp_outcome r = { .correct = -1, .score = -1, .confidence = -1, .latency_us = -1, .ttft_us = -1,
                     .usage = { -1, -1, -1, -1, -1 }, .failure = RV_FAIL_NONE };
    int rc = intern_model(s, id, strlen(id), &r.model);
    if (rc == -1)
        FAIL("more than %u distinct model ids", RP_MAX_MODELS);
    if (rc)
        FAIL("out of memory");
    json_t *v;
    if ((v = json_object_get(o, "correct")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            FAIL("results.%.80s.correct must be true or false", id);
        r.correct = (int8_t)json_is_true(v);
    }
    if ((v = json_object_get(o, "score")) && (!json_is_number(v) || (r.score = unit_num(v)) < 0))
        FAIL("results.%.80s.score must be a number from 0 to 1", id);
    if ((v = json_object_get(o, "confidence")) && (!json_is_number(v) || (r.confidence = unit_num(v)) < 0))
        FAIL("results.%.80s.confidence must be a number from 0 to 1", id);
    if ((v = json_object_get(o, "text"))) {
        if (!json_is_string(v))
            FAIL("results.%.80s.text must be a string", id);
        if (text_of(s, v, &r.text))
            FAIL("out of memory");
        r.has_text = 1;
    }
    if ((v = json_object_get(o, "finish"))) {
        if (!json_is_string(v))
            FAIL("results.%.80s.finish must be a string", id);
        if (text_of(s, v, &r.finish))
            FAIL("out of memory");
    }
    if ((v = json_object_get(o, "usage"))) {
        if (!json_is_object(v) || tokens_of(v, "input_tokens", "prompt_tokens", &r.usage.input) ||
            tokens_of(v, "output_tokens", "completion_tokens", &r.usage.output) ||
            tokens_of(v, "cache_read_tokens", NULL, &r.usage.cache_read) ||
            tokens_of(v, "cache_write_tokens", NULL, &r.usage.cache_write) ||
            tokens_of(v, "reasoning_tokens", NULL, &r.usage.reasoning))
            FAIL("results.%.80s.usage must be an object of token counts (non-negative integers)", id);
    }
    if (millis(json_object_get(o, "latency_ms"), &r.latency_us) || millis(json_object_get(o, "ttft_ms"), &r.ttft_us))
        FAIL("results.%.80s: latency_ms and ttft_ms must be non-negative numbers", id);
    if ((v = json_object_get(o, "error")) && !json_is_null(v)) {
        if (!json_is_string(v))
            FAIL("results.%.80s.error must be a string (a failure class or an HTTP status)", id);
        r.failure = vm_failure_parse(json_string_value(v), json_string_length(v), &r.http_status);
        if (r.failure == RV_FAIL__COUNT || r.failure == RV_FAIL_NONE)
            FAIL("results.%.80s.error: unknown failure '%.40s'", id, json_string_value(v));
    }
    if (MEM_GROW(s->outs, s->nout, s->capout))
        FAIL("out of memory");
    s->outs[s->nout++] = r;
    return 0;
}

static int parse_record(rp_set *s, json_t *root, const char *buf, size_t len, uint32_t line, char *err, size_t errlen)
{
    if (!json_is_object(root))
        FAIL("a record must be a JSON object");
    json_t *res = json_object_get(root, "results");
    if (!json_is_object(res))
        FAIL("no \"results\" object");
    if (json_object_size(res) > RP_MAX_OUTCOMES)
        FAIL("more than %u results", RP_MAX_OUTCOMES);
    if (!json_is_array(json_object_get(root, "messages")))
        FAIL("no \"messages\" array");
    if (s->nrec >= s->max_records)
        FAIL("more than %zu records", s->max_records);
    rp_record rec = { .line = line, .first = (uint32_t)s->nout };
    json_t *id = json_object_get(root, "id");
    json_t *idt = id ? meta_text(id) : NULL;
    if (idt) {
        int bad = text_of(s, idt, &rec.id);
        json_decref(idt);
        if (bad)
            FAIL("out of memory");
    } else {
        rec.id = (rv_sv){ "", 0 };
    }
    const char *k;
    json_t *v;
    json_object_foreach(res, k, v) {
        if (outcome(s, k, v, err, errlen)) {
            s->nout = rec.first;
            return -1;
        }
    }
    rec.count = (uint32_t)(s->nout - rec.first);
    size_t blen = 0;
    char *body = request_body(root, buf, len, &blen, err, errlen);
    if (!body) {
        s->nout = rec.first;
        return -1;
    }
    rv_reqerr rerr;
    rec.req = req_parse(body, blen, NULL, &rerr);
    free(body);
    if (!rec.req) {
        s->nout = rec.first;
        FAIL("the request: %s", rerr.msg);
    }
    if (MEM_GROW(s->recs, s->nrec, s->caprec)) {
        req_free(rec.req);
        s->nout = rec.first;
        FAIL("out of memory");
    }
    s->recs[s->nrec++] = rec;
    return 0;
}

int rp_add_line(rp_set *s, const char *buf, size_t len, uint32_t line, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        FAIL("invalid JSON at column %d: %s", je.column, je.text);
    int r = parse_record(s, root, buf, len, line, err, errlen);
    json_decref(root);
    return r;
}

rv_request *rp_request(const char *buf, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "invalid JSON at column %d: %s", je.column, je.text);
        return NULL;
    }
    size_t blen = 0;
    char *body = NULL;
    if (!json_is_object(root))
        snprintf(err, errlen, "a request must be a JSON object");
    else
        body = request_body(root, buf, len, &blen, err, errlen);
    json_decref(root);
    if (!body)
        return NULL;
    rv_reqerr rerr;
    rv_request *r = req_parse(body, blen, NULL, &rerr);
    free(body);
    if (!r)
        snprintf(err, errlen, "%s", rerr.msg);
    return r;
}

/* ---------------------------------------------------------------- files */

/* One line of a replay file (ln_read_file's callback): a record, or the
   record cap. */
static int add_record(void *ud, const char *line, size_t len, uint32_t lineno, char *err, size_t errlen)
{
    rp_set *s = ud;
    if (s->nrec >= s->max_records) {
        snprintf(err, errlen, "more than %zu records; the rest of the file is not read", s->max_records);
        return -1;
    }
    return rp_add_line(s, line, len, lineno, err, errlen) ? 1 : 0;
}

int rp_read_file(rp_set *s, const char *path, const rp_limits *lim, FILE *log, rp_stats *st)
{
    if (lim && lim->max_records)
        s->max_records = lim->max_records;
    return ln_read_file(path, lim && lim->max_line ? lim->max_line : RP_MAX_LINE, lim && lim->strict, log, add_record, s,
                        st);
}
