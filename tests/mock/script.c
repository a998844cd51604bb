/* Script loading and rule matching for the mock provider; see script.h and
   README.md for the format.  The loader walks the JSON once, checking every
   key against the list of keys its object may hold (a misspelt key is an
   error, not a silently ignored setting), and precomputes what each rule
   will send: its stream chunks and their log-probabilities.  Answering a
   request is then a pattern match and a counter increment. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define SCR_MAX_MS 600000u         /* no single wait in a script exceeds 10 min */
#define SCR_MAX_CHUNKS 100000u
#define SCR_HUGE_DEFAULT (1u << 20)

struct scr_rule {
    const char *name;
    pcre2_code *match, *match_any;
    const char **chunks;
    size_t nchunks;
    double *logprobs;
    scr_tool *tools;
    size_t ntools;
    int finish;                    /* -1: stop, or tool_calls when there are tools */
    int usage_omit;
    long usage[U_NCLASS];          /* -1: estimate */
    unsigned headers_ms, first_ms, gap_ms;
    scr_sse sse;
    scr_fault *faults;
    size_t nfaults;
    char *chunk_store;             /* text behind generated chunks */
    unsigned count;                /* requests this rule answered */
};

typedef struct {
    const char *model;
    scr_rule *rules;
    size_t nrules;
} scr_model;

typedef struct {
    char *model;
    unsigned count;
} scr_counter;

struct scr_script {
    json_t *root;
    scr_model *models;
    size_t nmodels;
    scr_counter *counters;
    size_t ncounters;
    scr_auth auth;
    pcre2_match_context *mctx;
};

/* ---- error reporting: "where: what" ---------------------------------- */

typedef struct {
    char *err;
    size_t errlen;
    char where[256];
} scr_ctx;

static int fail(scr_ctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", c->where, msg);
    return -1;
}

/* Rejects keys outside 'allowed' (a NULL-terminated list). */
static int check_keys(scr_ctx *c, json_t *o, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, key) == 0;
        if (!ok)
            return fail(c, "unknown key \"%s\"", key);
    }
    return 0;
}

static int get_uint(scr_ctx *c, json_t *o, const char *key, unsigned max, unsigned *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
        return fail(c, "\"%s\" must be an integer from 0 to %u", key, max);
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int get_bool(scr_ctx *c, json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int get_str(scr_ctx *c, json_t *o, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(c, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

/* A header name or value the mock will write verbatim must not split the
   header block. */
static int header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

/* ---- faults ---------------------------------------------------------- */

static const struct { const char *name; enum scr_fault_kind kind; } fault_names[] = {
    { "error", F_ERROR }, { "context_length", F_CONTEXT }, { "reset", F_RESET },
    { "close", F_CLOSE }, { "stall", F_STALL }, { "drip", F_DRIP },
    { "bad_chunking", F_BAD_CHUNKING }, { "malformed_json", F_MALFORMED_JSON },
    { "bad_sse", F_BAD_SSE }, { "inband_error", F_INBAND_ERROR }, { "no_end", F_NO_END },
    { "bad_crc", F_BAD_CRC }, { "bad_length", F_BAD_LENGTH }, { "delay", F_DELAY },
};

static int parse_on(scr_ctx *c, json_t *on, scr_fault *f)
{
    static const char *const keys[] = { "nth", "first", "from", "per", NULL };
    const char *per = "model";
    if (!json_is_object(on) || check_keys(c, on, keys) || get_str(c, on, "per", &per)
        || json_object_size(on) != 1u + (json_object_get(on, "per") != NULL))
        return c->err[0] ? -1 : fail(c, "\"on\" must be one of {\"nth\": N or [N…]}, {\"first\": N}, {\"from\": N}"
                                        ", with \"per\": \"model\" or \"rule\"");
    if (strcmp(per, "model") && strcmp(per, "rule"))
        return fail(c, "\"per\" must be \"model\" or \"rule\"");
    f->per_rule = !strcmp(per, "rule");
    json_t *v;
    if ((v = json_object_get(on, "nth"))) {
        f->on = ON_NTH;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        f->nth = calloc(n ? n : 1, sizeof *f->nth);
        if (!f->nth)
            return fail(c, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
            if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 1000000)
                return fail(c, "\"nth\" takes request numbers from 1");
            f->nth[f->nnth++] = (unsigned)json_integer_value(x);
        }
        return 0;
    }
    f->on = json_object_get(on, "first") ? ON_FIRST : ON_FROM;
    v = json_object_get(on, f->on == ON_FIRST ? "first" : "from");
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
        return fail(c, "\"%s\" takes a count from 0", f->on == ON_FIRST ? "first" : "from");
    f->count = (unsigned)json_integer_value(v);
    return 0;
}

static int parse_fault_extra(scr_ctx *c, json_t *o, scr_fault *f)
{
    json_t *v;
    if ((v = json_object_get(o, "retry_after"))) {
        char buf[64];
        const char *s = buf;
        if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else if (json_is_string(v))
            s = json_string_value(v);
        else
            return fail(c, "\"retry_after\" must be a string or an integer");
        if (!header_safe(s) || !(f->retry_after = strdup(s)))
            return fail(c, "\"retry_after\" must not contain CR or LF");
    }
    const char *s = NULL;
    if (get_str(c, o, "content_type", &s) || (s && !header_safe(s)))
        return c->err[0] ? -1 : fail(c, "\"content_type\" must not contain CR or LF");
    if (s && !(f->content_type = strdup(s)))
        return fail(c, "out of memory");
    s = NULL;
    if (get_str(c, o, "message", &s) || (s && !(f->message = strdup(s))))
        return c->err[0] ? -1 : fail(c, "out of memory");
    s = NULL;
    if (get_str(c, o, "type", &s) || (s && !(f->error_type = strdup(s))))
        return c->err[0] ? -1 : fail(c, "out of memory");
    if ((v = json_object_get(o, "headers"))) {
        if (!json_is_object(v))
            return fail(c, "\"headers\" must be an object of strings");
        f->headers = calloc(2 * json_object_size(v) + 1, sizeof *f->headers);
        if (!f->headers)
            return fail(c, "out of memory");
        const char *k;
        json_t *hv;
        json_object_foreach(v, k, hv) {
            if (!json_is_string(hv) || !header_safe(k) || !header_safe(json_string_value(hv)) || !*k || strchr(k, ':'))
                return fail(c, "header \"%s\" must be a name without ':' and a string value, neither with CR or LF", k);
            if (!(f->headers[2 * f->nheaders] = strdup(k)) || !(f->headers[2 * f->nheaders + 1] = strdup(json_string_value(hv))))
                return fail(c, "out of memory");
            f->nheaders++;
        }
    }
    return 0;
}

static int parse_fault_form(scr_ctx *c, json_t *o, scr_fault *f)
{
    const char *form = NULL, *then = NULL, *part = NULL;
    if (get_str(c, o, "form", &form) || get_str(c, o, "then", &then) || get_str(c, o, "part", &part))
        return -1;
    if (form) {
        static const char *const forms[] = { "not_json", "no_blank_line", "huge", "no_data" };
        size_t i = 0;
        while (i < 4 && strcmp(forms[i], form))
            i++;
        if (i == 4)
            return fail(c, "\"form\" must be not_json, no_blank_line, huge or no_data");
        f->sse_form = (enum scr_sse_form)i;
    }
    if (then) {
        if (!strcmp(then, "continue")) f->then = THEN_CONTINUE;
        else if (!strcmp(then, "close")) f->then = THEN_CLOSE;
        else if (!strcmp(then, "reset")) f->then = THEN_RESET;
        else return fail(c, "\"then\" must be continue, close or reset");
    }
    if (part) {
        if (!strcmp(part, "prelude")) f->crc_part = CRC_PRELUDE;
        else if (!strcmp(part, "message")) f->crc_part = CRC_MESSAGE;
        else return fail(c, "\"part\" must be prelude or message");
    }
    unsigned size = SCR_HUGE_DEFAULT;
    if (get_uint(c, o, "size", 64u << 20, &size))
        return -1;
    f->size = size;
    json_t *len = json_object_get(o, "length");
    if (len && (!json_is_integer(len) || json_integer_value(len) < 0 || json_integer_value(len) > 0xffffffffLL))
        return fail(c, "\"length\" must be an integer from 0 to 4294967295");
    f->length = len ? (unsigned long)json_integer_value(len) : 8;
    return 0;
}

static int parse_fault(scr_ctx *c, json_t *o, scr_fault *f)
{
    static const char *const keys[] = { "kind", "on", "after", "after_bytes", "ms", "then", "status",
        "retry_after", "html", "content_type", "message", "type", "headers", "form", "size", "part",
        "length", NULL };
    f->after = -1;
    f->after_bytes = -1;
    if (!json_is_object(o))
        return fail(c, "a fault must be an object");
    if (check_keys(c, o, keys))
        return -1;
    const char *kind = NULL;
    if (get_str(c, o, "kind", &kind) || !kind)
        return c->err[0] ? -1 : fail(c, "a fault needs \"kind\"");
    size_t i = 0, n = sizeof fault_names / sizeof *fault_names;
    while (i < n && strcmp(fault_names[i].name, kind))
        i++;
    if (i == n)
        return fail(c, "unknown fault kind \"%s\"", kind);
    f->kind = fault_names[i].kind;
    f->name = fault_names[i].name;
    json_t *on = json_object_get(o, "on");
    if (on && parse_on(c, on, f))
        return -1;
    unsigned after = 0, status = 0, bytes = 0;
    int has_after = json_object_get(o, "after") != NULL;
    if (get_uint(c, o, "after", SCR_MAX_CHUNKS, &after) || get_uint(c, o, "ms", SCR_MAX_MS, &f->ms)
        || get_uint(c, o, "status", 599, &status) || get_uint(c, o, "after_bytes", 1u << 30, &bytes)
        || get_bool(c, o, "html", &f->html))
        return -1;
    f->status = (int)status;
    if (has_after)
        f->after = (int)after;
    if (json_object_get(o, "after_bytes"))
        f->after_bytes = bytes;
    /* every kind but reset and drip starts at the first content chunk */
    if (!has_after && f->kind != F_RESET && f->kind != F_DRIP)
        f->after = 0;
    if (f->kind == F_ERROR && (status < 100 || status == 200))
        return fail(c, "an error fault needs \"status\" from 100 to 599 (not 200)");
    if ((f->kind == F_STALL || f->kind == F_DRIP) && !json_object_get(o, "ms"))
        return fail(c, "a %s fault needs \"ms\"", kind);
    if (f->kind == F_DRIP && f->ms == 0)
        return fail(c, "a drip fault needs \"ms\" of at least 1");
    return parse_fault_extra(c, o, f) || parse_fault_form(c, o, f) ? -1 : 0;
}

static void fault_free(scr_fault *f)
{
    free(f->nth);
    free(f->retry_after);
    free(f->content_type);
    free(f->message);
    free(f->error_type);
    for (size_t i = 0; i < 2 * f->nheaders; i++)
        free(f->headers[i]);
    free(f->headers);
}

/* ---- answer text: chunks and log-probabilities ------------------------ */

/* Length of the chunk starting at 's': 'size' bytes rounded back to a
   UTF-8 boundary (at least one whole character), or with size 0 one word
   with the whitespace before it. */
static size_t chunk_len(const char *s, size_t rest, size_t size)
{
    if (size) {
        size_t n = size < rest ? size : rest;
        while (n < rest && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        if (n == 0) {
            n = 1;
            while (n < rest && ((unsigned char)s[n] & 0xC0) == 0x80)
                n++;
        }
        return n;
    }
    size_t n = 0;
    while (n < rest && strchr(" \t\n\r", s[n]))
        n++;
    while (n < rest && !strchr(" \t\n\r", s[n]))
        n++;
    return n;
}

static int split_text(scr_ctx *c, scr_rule *r, const char *text, size_t len, size_t size)
{
    size_t n = 0;
    for (size_t off = 0; off < len; off += chunk_len(text + off, len - off, size))
        n++;
    if (n > SCR_MAX_CHUNKS)
        return fail(c, "more than %u chunks", SCR_MAX_CHUNKS);
    r->chunks = calloc(n ? n : 1, sizeof *r->chunks);
    r->chunk_store = malloc(len + n + 1);
    if (!r->chunks || !r->chunk_store)
        return fail(c, "out of memory");
    char *w = r->chunk_store;
    for (size_t off = 0; off < len;) {
        size_t k = chunk_len(text + off, len - off, size);
        memcpy(w, text + off, k);
        w[k] = 0;
        r->chunks[r->nchunks++] = w;
        w += k + 1;
        off += k;
    }
    return 0;
}

static int parse_text(scr_ctx *c, json_t *o, scr_rule *r)
{
    json_t *chunks = json_object_get(o, "chunks"), *text = json_object_get(o, "text");
    unsigned size = 0;
    if (get_uint(c, o, "chunk_size", 1u << 20, &size))
        return -1;
    if (chunks && text)
        return fail(c, "give \"text\" or \"chunks\", not both");
    if (chunks) {
        if (!json_is_array(chunks) || json_array_size(chunks) > SCR_MAX_CHUNKS)
            return fail(c, "\"chunks\" must be an array of strings");
        r->chunks = calloc(json_array_size(chunks) + 1, sizeof *r->chunks);
        if (!r->chunks)
            return fail(c, "out of memory");
        for (size_t i = 0; i < json_array_size(chunks); i++) {
            json_t *s = json_array_get(chunks, i);
            if (!json_is_string(s))
                return fail(c, "\"chunks\" must be an array of strings");
            r->chunks[r->nchunks++] = json_string_value(s);
        }
        return 0;
    }
    if (text && !json_is_string(text))
        return fail(c, "\"text\" must be a string");
    const char *t = text ? json_string_value(text) : "";
    return split_text(c, r, t, text ? json_string_length(text) : 0, size);
}

static int parse_logprobs(scr_ctx *c, json_t *o, scr_rule *r)
{
    json_t *lp = json_object_get(o, "logprobs"), *conf = json_object_get(o, "confidence");
    double p = 0.95;
    if (lp && conf)
        return fail(c, "give \"logprobs\" or \"confidence\", not both");
    if (conf) {
        if (!json_is_number(conf) || json_number_value(conf) <= 0 || json_number_value(conf) > 1)
            return fail(c, "\"confidence\" must be a number in (0, 1]");
        p = json_number_value(conf);
    }
    r->logprobs = calloc(r->nchunks ? r->nchunks : 1, sizeof *r->logprobs);
    if (!r->logprobs)
        return fail(c, "out of memory");
    if (lp && (!json_is_array(lp) || json_array_size(lp) != r->nchunks))
        return fail(c, "\"logprobs\" must hold one number per chunk (%zu)", r->nchunks);
    for (size_t i = 0; i < r->nchunks; i++) {
        json_t *x = lp ? json_array_get(lp, i) : NULL;
        if (x && (!json_is_number(x) || json_number_value(x) > 0))
            return fail(c, "\"logprobs\" must be numbers <= 0");
        r->logprobs[i] = x ? json_number_value(x) : log(p);
    }
    return 0;
}

static int parse_tools(scr_ctx *c, json_t *o, scr_rule *r)
{
    static const char *const keys[] = { "id", "name", "arguments", NULL };
    json_t *tc = json_object_get(o, "tool_calls");
    if (!tc)
        return 0;
    if (!json_is_array(tc) || json_array_size(tc) == 0 || json_array_size(tc) > 64)
        return fail(c, "\"tool_calls\" must be an array of 1 to 64 calls");
    r->tools = calloc(json_array_size(tc), sizeof *r->tools);
    if (!r->tools)
        return fail(c, "out of memory");
    for (size_t i = 0; i < json_array_size(tc); i++) {
        json_t *t = json_array_get(tc, i), *args;
        scr_tool *tool = &r->tools[r->ntools++];
        if (!json_is_object(t) || check_keys(c, t, keys) || get_str(c, t, "id", &tool->id)
            || get_str(c, t, "name", &tool->name))
            return c->err[0] ? -1 : fail(c, "a tool call must be an object");
        if (!tool->name)
            return fail(c, "a tool call needs \"name\"");
        args = json_object_get(t, "arguments");
        if (args && !json_is_object(args))
            return fail(c, "tool \"arguments\" must be an object");
        tool->arguments = args ? json_dumps(args, JSON_COMPACT) : strdup("{}");
        if (!tool->arguments)
            return fail(c, "out of memory");
    }
    return 0;
}

static int parse_usage(scr_ctx *c, json_t *o, scr_rule *r)
{
    static const char *const keys[] = { "input", "output", "cache_read", "cache_write", "reasoning", NULL };
    json_t *u = json_object_get(o, "usage");
    r->usage[U_INPUT] = r->usage[U_OUTPUT] = -1;
    if (!u || (json_is_string(u) && !strcmp(json_string_value(u), "estimate")))
        return 0;
    if (json_is_string(u) && !strcmp(json_string_value(u), "omit")) {
        r->usage_omit = 1;
        return 0;
    }
    if (!json_is_object(u) || check_keys(c, u, keys))
        return c->err[0] ? -1 : fail(c, "\"usage\" must be \"estimate\", \"omit\" or an object");
    for (int k = 0; k < U_NCLASS; k++) {
        json_t *v = json_object_get(u, keys[k]);
        if (!v)
            continue;
        if (json_is_string(v) && !strcmp(json_string_value(v), "estimate") && k <= U_OUTPUT)
            r->usage[k] = -1;
        else if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1000000000)
            r->usage[k] = (long)json_integer_value(v);
        else
            return fail(c, "usage \"%s\" must be an integer from 0 to 1e9%s", keys[k],
                        k <= U_OUTPUT ? " or \"estimate\"" : "");
    }
    return 0;
}

static int parse_sse(scr_ctx *c, json_t *o, scr_rule *r)
{
    static const char *const keys[] = { "eol", "comments", "split_data", "no_final_blank", NULL };
    json_t *s = json_object_get(o, "sse");
    const char *eol = "lf";
    r->sse.eol = "\n";
    if (!s)
        return 0;
    if (!json_is_object(s) || check_keys(c, s, keys))
        return c->err[0] ? -1 : fail(c, "\"sse\" must be an object");
    if (get_str(c, s, "eol", &eol) || get_bool(c, s, "comments", &r->sse.comments)
        || get_bool(c, s, "split_data", &r->sse.split_data) || get_bool(c, s, "no_final_blank", &r->sse.no_final_blank))
        return -1;
    if (!strcmp(eol, "lf")) r->sse.eol = "\n";
    else if (!strcmp(eol, "crlf")) r->sse.eol = "\r\n";
    else if (!strcmp(eol, "cr")) r->sse.eol = "\r";
    else return fail(c, "\"eol\" must be lf, crlf or cr");
    return 0;
}

static int compile(scr_ctx *c, json_t *o, const char *key, pcre2_code **out)
{
    const char *pat = NULL;
    if (get_str(c, o, key, &pat) || !pat)
        return c->err[0] ? -1 : 0;
    int code;
    PCRE2_SIZE off;
    *out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (!*out) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return fail(c, "\"%s\" pattern at offset %zu: %s", key, (size_t)off, (char *)msg);
    }
    return 0;
}

static int parse_finish(scr_ctx *c, json_t *o, scr_rule *r)
{
    static const char *const names[] = { "stop", "length", "tool_calls", "content_filter" };
    const char *f = NULL;
    r->finish = -1;
    if (get_str(c, o, "finish", &f) || !f)
        return c->err[0] ? -1 : 0;
    for (int i = 0; i < 4; i++)
        if (!strcmp(names[i], f))
            r->finish = i;
    return r->finish < 0 ? fail(c, "\"finish\" must be stop, length, tool_calls or content_filter") : 0;
}

static int parse_rule(scr_ctx *c, json_t *o, scr_rule *r)
{
    static const char *const keys[] = { "name", "match", "match_any", "text", "chunks", "chunk_size",
        "logprobs", "confidence", "tool_calls", "finish", "usage", "latency", "sse", "faults", NULL };
    static const char *const lat_keys[] = { "headers_ms", "first_token_ms", "gap_ms", NULL };
    if (!json_is_object(o))
        return fail(c, "a rule must be an object");
    if (check_keys(c, o, keys) || get_str(c, o, "name", &r->name) || compile(c, o, "match", &r->match)
        || compile(c, o, "match_any", &r->match_any) || parse_text(c, o, r) || parse_logprobs(c, o, r)
        || parse_tools(c, o, r) || parse_finish(c, o, r) || parse_usage(c, o, r) || parse_sse(c, o, r))
        return -1;
    json_t *lat = json_object_get(o, "latency");
    if (lat && (!json_is_object(lat) || check_keys(c, lat, lat_keys)))
        return c->err[0] ? -1 : fail(c, "\"latency\" must be an object");
    if (lat && (get_uint(c, lat, "headers_ms", SCR_MAX_MS, &r->headers_ms)
                || get_uint(c, lat, "first_token_ms", SCR_MAX_MS, &r->first_ms)
                || get_uint(c, lat, "gap_ms", SCR_MAX_MS, &r->gap_ms)))
        return -1;
    json_t *faults = json_object_get(o, "faults");
    if (!faults)
        return 0;
    if (!json_is_array(faults) || json_array_size(faults) > 64)
        return fail(c, "\"faults\" must be an array of at most 64 faults");
    r->faults = calloc(json_array_size(faults) + 1, sizeof *r->faults);
    if (!r->faults)
        return fail(c, "out of memory");
    size_t base = strlen(c->where);
    for (size_t i = 0; i < json_array_size(faults); i++) {
        snprintf(c->where + base, sizeof c->where - base, ".faults[%zu]", i);
        if (parse_fault(c, json_array_get(faults, i), &r->faults[r->nfaults++]))
            return -1;
    }
    c->where[base] = 0;
    return 0;
}

static void rule_free(scr_rule *r)
{
    pcre2_code_free(r->match);
    pcre2_code_free(r->match_any);
    free(r->chunks);
    free(r->chunk_store);
    free(r->logprobs);
    for (size_t i = 0; i < r->ntools; i++)
        free(r->tools[i].arguments);
    free(r->tools);
    for (size_t i = 0; i < r->nfaults; i++)
        fault_free(&r->faults[i]);
    free(r->faults);
}

/* ---- the file -------------------------------------------------------- */

static int parse_auth(scr_ctx *c, json_t *root, scr_auth *a)
{
    static const char *const keys[] = { "openai_key", "anthropic_key", "aws_access_key",
        "aws_secret_key", "aws_region", NULL };
    json_t *o = json_object_get(root, "auth");
    strcpy(c->where, "auth");
    if (o && (!json_is_object(o) || check_keys(c, o, keys)))
        return c->err[0] ? -1 : fail(c, "must be an object");
    if (o && (get_str(c, o, "openai_key", &a->openai_key) || get_str(c, o, "anthropic_key", &a->anthropic_key)
              || get_str(c, o, "aws_access_key", &a->aws_access_key)
              || get_str(c, o, "aws_secret_key", &a->aws_secret_key) || get_str(c, o, "aws_region", &a->aws_region)))
        return -1;
    strcpy(c->where, "openai_prefix");
    if (get_str(c, root, "openai_prefix", &a->openai_prefix))
        return -1;
    if (a->openai_prefix && a->openai_prefix[0] != '/' && a->openai_prefix[0])
        return fail(c, "must start with '/'");
    return 0;
}

static int parse_models(scr_ctx *c, scr_script *s)
{
    json_t *models = json_object_get(s->root, "models");
    strcpy(c->where, "models");
    if (!json_is_object(models) || json_object_size(models) == 0)
        return fail(c, "the script needs a non-empty \"models\" object");
    s->models = calloc(json_object_size(models), sizeof *s->models);
    if (!s->models)
        return fail(c, "out of memory");
    const char *name;
    json_t *rules;
    json_object_foreach(models, name, rules) {
        scr_model *m = &s->models[s->nmodels++];
        m->model = name;
        snprintf(c->where, sizeof c->where, "models.%.120s", name);
        if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > 10000)
            return fail(c, "must be an array of 1 to 10000 rules");
        m->rules = calloc(json_array_size(rules), sizeof *m->rules);
        if (!m->rules)
            return fail(c, "out of memory");
        for (size_t i = 0; i < json_array_size(rules); i++) {
            snprintf(c->where, sizeof c->where, "models.%.120s[%zu]", name, i);
            m->nrules++;
            if (parse_rule(c, json_array_get(rules, i), &m->rules[i]))
                return -1;
        }
    }
    return 0;
}

scr_script *scr_load(const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = { "auth", "openai_prefix", "models", NULL };
    scr_ctx c = { err, errlen, "" };
    json_error_t je;
    err[0] = 0;
    scr_script *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    s->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!s->root) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        scr_free(s);
        return NULL;
    }
    s->mctx = pcre2_match_context_create(NULL);
    char inner[512] = "";
    c.err = inner;
    c.errlen = sizeof inner;
    if (!s->mctx || !json_is_object(s->root) || check_keys(&c, s->root, keys) || parse_auth(&c, s->root, &s->auth)
        || parse_models(&c, s)) {
        snprintf(err, errlen, "%s: %s", path, inner[0] ? inner : "the script must be a JSON object");
        scr_free(s);
        return NULL;
    }
    /* attacker-sized text meets script patterns: bound the work per match */
    pcre2_set_match_limit(s->mctx, 1000000);
    pcre2_set_depth_limit(s->mctx, 10000);
    return s;
}

void scr_free(scr_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmodels; i++) {
        for (size_t j = 0; j < s->models[i].nrules; j++)
            rule_free(&s->models[i].rules[j]);
        free(s->models[i].rules);
    }
    free(s->models);
    for (size_t i = 0; i < s->ncounters; i++)
        free(s->counters[i].model);
    free(s->counters);
    pcre2_match_context_free(s->mctx);
    json_decref(s->root);
    free(s);
}

const scr_auth *scr_auth_of(const scr_script *s)
{
    return &s->auth;
}

/* ---- answering ------------------------------------------------------- */

static const scr_model *find_model(const scr_script *s, const char *model)
{
    const scr_model *star = NULL;
    for (size_t i = 0; i < s->nmodels; i++) {
        if (!strcmp(s->models[i].model, model))
            return &s->models[i];
        if (!strcmp(s->models[i].model, "*"))
            star = &s->models[i];
    }
    return star;
}

int scr_has_model(const scr_script *s, const char *model)
{
    return find_model(s, model) != NULL;
}

/* 1 on a match; a pattern that errors (match limit) does not match. */
static int matches(const scr_script *s, pcre2_code *re, const char *text)
{
    if (!re)
        return 1;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, s->mctx);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* The request number for 'model', counting this one; 0 when out of memory. */
static unsigned count_request(scr_script *s, const char *model)
{
    for (size_t i = 0; i < s->ncounters; i++)
        if (!strcmp(s->counters[i].model, model))
            return ++s->counters[i].count;
    scr_counter *c = realloc(s->counters, (s->ncounters + 1) * sizeof *c);
    if (!c)
        return 0;
    s->counters = c;
    if (!(c[s->ncounters].model = strdup(model)))
        return 0;
    c[s->ncounters].count = 1;
    s->ncounters++;
    return 1;
}

static int fault_applies(const scr_fault *f, unsigned model_nth, unsigned rule_nth)
{
    unsigned nth = f->per_rule ? rule_nth : model_nth;
    switch (f->on) {
    case ON_EVERY: return 1;
    case ON_FIRST: return nth <= f->count;
    case ON_FROM: return nth >= f->count;
    case ON_NTH:
        for (size_t i = 0; i < f->nnth; i++)
            if (f->nth[i] == nth)
                return 1;
        return 0;
    }
    return 0;
}

long scr_estimate_tokens(size_t bytes)
{
    return bytes ? (long)((bytes + 3) / 4) : 1;
}

static void fill_usage(const scr_rule *r, long input_estimate, scr_answer *a)
{
    size_t out_bytes = 0;
    for (size_t i = 0; i < r->ntools; i++)
        out_bytes += strlen(r->tools[i].arguments) + strlen(r->tools[i].name);
    for (int k = 0; k < U_NCLASS; k++)
        a->usage[k] = r->usage[k] > 0 ? r->usage[k] : 0;
    if (r->usage[U_INPUT] < 0)
        a->usage[U_INPUT] = input_estimate;
    if (r->usage[U_OUTPUT] < 0)
        a->usage[U_OUTPUT] = (long)r->nchunks + (out_bytes ? scr_estimate_tokens(out_bytes) : 0);
    a->usage_omit = r->usage_omit;
}

int scr_answer_for(scr_script *s, const char *model, const char *last_user,
                   const char *all_text, long input_estimate, scr_answer *a,
                   char *err, size_t errlen)
{
    const scr_model *m = find_model(s, model);
    memset(a, 0, sizeof *a);
    const scr_rule *r = NULL;
    for (size_t i = 0; m && i < m->nrules && !r; i++)
        if (matches(s, m->rules[i].match, last_user) && matches(s, m->rules[i].match_any, all_text))
            r = &m->rules[i];
    if (!r) {
        snprintf(err, errlen, "mockprov: no script rule for model '%.200s' matches the request", model);
        return -1;
    }
    a->nth = count_request(s, model);
    if (!a->nth) {
        snprintf(err, errlen, "mockprov: out of memory");
        return -1;
    }
    a->rule_nth = ++((scr_rule *)r)->count;
    a->rule = r;
    a->rule_name = r->name ? r->name : "";
    a->chunks = r->chunks;
    a->nchunks = r->nchunks;
    a->logprobs = r->logprobs;
    a->tools = r->tools;
    a->ntools = r->ntools;
    a->finish = r->finish >= 0 ? (enum scr_finish)r->finish : r->ntools ? FIN_TOOL : FIN_STOP;
    a->headers_ms = r->headers_ms;
    a->first_ms = r->first_ms;
    a->gap_ms = r->gap_ms;
    a->sse = r->sse;
    fill_usage(r, input_estimate, a);
    for (size_t i = 0; i < r->nfaults && !a->fault; i++)
        if (fault_applies(&r->faults[i], a->nth, a->rule_nth))
            a->fault = &r->faults[i];
    return 0;
}

char *scr_answer_text(const scr_answer *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nchunks; i++)
        n += strlen(a->chunks[i]);
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    n = 0;
    for (size_t i = 0; i < a->nchunks; i++) {
        size_t k = strlen(a->chunks[i]);
        memcpy(t + n, a->chunks[i], k);
        n += k;
    }
    t[n] = 0;
    return t;
}
