/* One provider call; see pcall.h.

   The response is read by state: the status line and headers decide how
   the body is read -- an error status or a JSON answer is collected whole
   (up to PC_MAX_BODY) and parsed at the end; a 2xx event stream goes
   through its decoder (server-sent events, sse.h; or AWS event-stream
   frames, eventstream.h), each event to the provider's parser, and any
   text it adds to the answer is handed on at once.  At the end the
   transport's status (httpc) and the answer's own state are combined
   into one failure class: a transport failure wins over whatever was
   read, and a stream that ended without its end marker is a reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "anthropic.h"
#include "bedrock.h"
#include "eventstream.h"
#include "mem.h"
#include "openai.h"
#include "pcall.h"
#include "sigv4.h"
#include "sse.h"

#define PC_MAX_BODY (8u << 20)
#define PC_MAX_EVENT (4u << 20)     /* one stream event */
#define PC_MAX_HEADERS 12

enum { BODY_WHOLE, BODY_SSE, BODY_ES };

/* A line "name: prefix value" to be packed, or a constant line whole
   ('prefix' NULL: 'name' is the line, a literal of len[0] bytes). */
typedef struct {
    const char *name, *prefix, *value;
    size_t len[3];              /* theirs (strlen) */
} hpart;

struct pc_call {
    hc_engine *e;
    hc_xfer *x;
    pc_handler h;
    void *ud;
    uint32_t kind;              /* rv_provkind */
    char *body;                 /* request body (owned, or in 'bodyw' when 'body_in_w') */
    size_t body_len;
    int body_in_w;
    jw_writer bodyw;            /* OpenAI bodies are written here, kept for the calls after (up to PC_KEEP_MAX) */
    char url[2048];
    hpart hpart[PC_MAX_HEADERS];    /* the lines as added (borrowed parts) */
    char *hbuf;                 /* the lines packed, each NUL-terminated (owned; keys: wiped) */
    size_t hlen, hcap;
    const char *hdr[PC_MAX_HEADERS];    /* the lines: in 'hbuf', or constant ones where they are */
    size_t hdr_len[PC_MAX_HEADERS];     /* and their lengths */
    size_t nhdr;
    int status;
    int reading;                /* BODY_* */
    char etype[96];             /* Bedrock: x-amzn-ErrorType */
    ans_buf raw;                /* error or JSON body */
    sse_decoder *sse;
    es_decoder *es;
    an_stream an;
    br_stream br;
    ans_answer ans;
    int stopped;                /* the text callback refused */
    int64_t start_us, first_text_us;
    rv_outcome out;
    rv_toolcall *tools;
    /* the last key read (key_of), kept for the calls this one is reused
       for: the variable's name, and its value where getenv found it (in
       the environment, never copied) */
    char key_var[64];
    const char *key_val;
};

/* Add the line "name: prefix value" to the list; its parts are
   borrowed until pack_headers.  Inlined, so that the lengths of the
   literal parts are the compiler's. */
static inline __attribute__((always_inline)) int add_header2(pc_call *c, const char *name, const char *prefix,
                                                             const char *value)
{
    if (c->nhdr == PC_MAX_HEADERS)
        return -1;
    c->hpart[c->nhdr++] = (hpart){ name, prefix, value, { strlen(name), strlen(prefix), strlen(value) } };
    return 0;
}

static inline __attribute__((always_inline)) int add_header(pc_call *c, const char *name, const char *value)
{
    return add_header2(c, name, "", value);
}

/* Add the constant line 'line' ("Name: value", a literal of 'n' bytes,
   through ADD_LINE): sent from where it is, not packed. */
static inline __attribute__((always_inline)) int add_line(pc_call *c, const char *line, size_t n)
{
    if (c->nhdr == PC_MAX_HEADERS)
        return -1;
    c->hpart[c->nhdr++] = (hpart){ line, NULL, NULL, { n, 0, 0 } };
    return 0;
}

#define ADD_LINE(c, lit) add_line((c), "" lit, sizeof lit - 1)

/* The Accept line of an OpenAI or Anthropic call. */
#define ADD_ACCEPT(c, stream) \
    ((stream) ? ADD_LINE(c, "Accept: text/event-stream") : ADD_LINE(c, "Accept: application/json"))

/* The lines added, those made of parts written into one buffer of the
   exact size (keys pass through it: it is wiped when freed, and never
   outgrown and left behind by a realloc), the constant ones taken where
   they are.  0, or -1 when out of memory. */
static int pack_headers(pc_call *c)
{
    size_t total = 0;
    for (size_t i = 0; i < c->nhdr; i++) {
        const size_t *len = c->hpart[i].len;
        if (!c->hpart[i].prefix) {
            c->hdr[i] = c->hpart[i].name;
            c->hdr_len[i] = len[0];
            continue;
        }
        c->hdr_len[i] = len[0] + 2 + len[1] + len[2];
        total += c->hdr_len[i] + 1;
    }
    if (total > c->hcap) {      /* a call before this one left a smaller buffer (wiped) */
        free(c->hbuf);
        c->hcap = 0;
        if (!(c->hbuf = mem_malloc(total)))
            return -1;
        c->hcap = total;
    }
    c->hlen = total;
    char *at = c->hbuf;
    for (size_t i = 0; i < c->nhdr; i++) {
        const size_t *len = c->hpart[i].len;
        if (!c->hpart[i].prefix)
            continue;
        c->hdr[i] = at;
        memcpy(at, c->hpart[i].name, len[0]);
        at += len[0];
        memcpy(at, ": ", 2);
        at += 2;
        memcpy(at, c->hpart[i].prefix, len[1]);
        at += len[1];
        memcpy(at, c->hpart[i].value, len[2] + 1);
        at += len[2] + 1;
    }
    return 0;
}

/* Header values we send must be safe on the wire: a key with a CR or LF
   in it would split the header. */
static int header_safe(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- reading */

/* Hand on the text the last event added; 1 when the reader refused it. */
static int emit(pc_call *c, size_t before)
{
    if (c->ans.text.len <= before || !c->h.text)
        return 0;
    if (c->first_text_us < 0)
        c->first_text_us = hc_now_us();
    if (c->h.text(c->ud, c->ans.text.p + before, c->ans.text.len - before)) {
        c->stopped = 1;
        return 1;
    }
    return 0;
}

/* One SSE event to the provider's parser; nonzero to stop reading. */
static int sse_event_to(pc_call *c, const sse_event *ev)
{
    size_t before = c->ans.text.len;
    if (c->kind == RV_PROV_ANTHROPIC)
        an_event(&c->an, &c->ans, ev->type, ev->type_len, ev->data, ev->data_len);
    else
        oa_event(&c->ans, ev->data, ev->data_len);
    return c->ans.failed || emit(c, before);
}

static int read_sse(pc_call *c, const char *p, size_t n)
{
    while (n) {
        size_t used = 0;
        sse_event ev;
        sse_status st = sse_feed(c->sse, p, n, &used, &ev);
        if (st < 0) {
            ans_fail(&c->ans, RV_FAIL_MALFORMED, "the stream is malformed: %s", sse_decoder_error(c->sse));
            return 1;
        }
        p += used;
        n -= used;
        if (st == SSE_EVENT && sse_event_to(c, &ev))
            return 1;
        if (st == SSE_NEED)
            break;
    }
    return 0;
}

static int read_es(pc_call *c, const char *p, size_t n)
{
    while (n) {
        size_t used = 0;
        es_message m;
        es_status st = es_decode(c->es, p, n, &used, &m);
        if (st < 0) {
            ans_fail(&c->ans, RV_FAIL_MALFORMED, "the event stream is malformed: %s", es_decoder_error(c->es));
            return 1;
        }
        p += used;
        n -= used;
        if (st == ES_MESSAGE) {
            size_t before = c->ans.text.len;
            br_message(&c->br, &c->ans, &m);
            if (c->ans.failed || emit(c, before))
                return 1;
        }
        if (st == ES_NEED)
            break;
    }
    return 0;
}

static void on_header(void *ud, int status, const char *name, size_t nlen, const char *v, size_t vlen)
{
    pc_call *c = ud;
    c->status = status;
    if (nlen == 12 && !strncasecmp(name, "content-type", 12)) {
        int ok = status >= 200 && status < 300;
        c->reading = ok && vlen >= 17 && !strncasecmp(v, "text/event-stream", 17) ? BODY_SSE
                   : ok && vlen >= 32 && !strncasecmp(v, "application/vnd.amazon.eventstream", 32) ? BODY_ES
                   : BODY_WHOLE;
    } else if (nlen == 11 && !strncasecmp(name, "retry-after", 11))
        c->ans.retry_after_us = ans_retry_after(v, vlen, (int64_t)time(NULL));
    else if (nlen == 16 && !strncasecmp(name, "x-amzn-errortype", 16))
        snprintf(c->etype, sizeof c->etype, "%.*s", (int)(vlen < 95 ? vlen : 95), v);
}

/* The stream's decoder, made with its first bytes (most answers are not
   streams, and those that are need only one of the two); -1 when out of
   memory. */
static int make_decoder(pc_call *c)
{
    if (c->reading == BODY_SSE && !c->sse && !(c->sse = sse_decoder_new(PC_MAX_EVENT)))
        return -1;
    if (c->reading == BODY_ES && !c->es && !(c->es = es_decoder_new(0)))
        return -1;
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    pc_call *c = ud;
    if (make_decoder(c)) {
        ans_fail(&c->ans, RV_FAIL_ERROR, "out of memory for the stream's decoder");
        return 1;
    }
    if (c->reading == BODY_SSE)
        return read_sse(c, p, n);
    if (c->reading == BODY_ES)
        return read_es(c, p, n);
    if (ans_put(&c->raw, p, n)) {
        ans_fail(&c->ans, RV_FAIL_MALFORMED, "the answer is larger than %u bytes", PC_MAX_BODY);
        return 1;
    }
    return 0;
}

static rv_failure transport_failure(hc_status st)
{
    switch (st) {
    case HC_CONNECT_TIMEOUT: case HC_FIRST_BYTE_TIMEOUT: case HC_IDLE_TIMEOUT: case HC_TIMEOUT:
        return RV_FAIL_TIMEOUT;
    case HC_REFUSED: return RV_FAIL_REFUSED;
    case HC_RESET: return RV_FAIL_RESET;
    case HC_MALFORMED: return RV_FAIL_MALFORMED;
    default: return RV_FAIL_ERROR;
    }
}

/* The end of a stream: an event the stream ended inside is still read
   (real streams end without their last blank line); then the provider's
   end marker must have come. */
static void end_stream(pc_call *c)
{
    ans_answer *a = &c->ans;
    if (c->reading == BODY_SSE ? !c->sse : !c->es)
        ;                       /* no byte came: no decoder was made */
    else if (c->reading == BODY_SSE) {
        sse_event ev;
        sse_status st = sse_finish(c->sse, &ev);
        if (st == SSE_EVENT)
            sse_event_to(c, &ev);
        else if (st < 0 && st != SSE_ERR_TRUNCATED)
            ans_fail(a, RV_FAIL_MALFORMED, "the stream is malformed: %s", sse_decoder_error(c->sse));
    } else if (es_finish(c->es) != ES_NEED)
        ans_fail(a, RV_FAIL_RESET, "the event stream ended inside a frame");
    if (!a->failed && !a->ended)
        ans_fail(a, RV_FAIL_RESET, "the stream ended without its end marker");
}

static void read_whole(pc_call *c)
{
    ans_answer *a = &c->ans;
    const char *b = c->raw.p ? c->raw.p : "";
    if (c->status >= 300 || c->status < 200) {
        if (c->kind == RV_PROV_ANTHROPIC)
            an_error(a, c->status, b, c->raw.len);
        else if (c->kind == RV_PROV_BEDROCK)
            br_error(a, c->status, c->etype, strlen(c->etype), b, c->raw.len);
        else
            oa_error(a, c->status, b, c->raw.len);
        return;
    }
    size_t before = a->text.len;
    if (c->kind == RV_PROV_ANTHROPIC)
        an_parse(a, b, c->raw.len);
    else if (c->kind == RV_PROV_BEDROCK)
        br_parse(a, b, c->raw.len);
    else
        oa_parse(a, b, c->raw.len);
    if (!a->failed)
        emit(c, before);
}

static void make_outcome(pc_call *c, const hc_done *d)
{
    ans_answer *a = &c->ans;
    rv_outcome *o = &c->out;
    *o = vm_outcome_init(!a->failed);
    o->latency_us = d->total_us;
    o->ttft_us = c->first_text_us >= 0 ? c->first_text_us - c->start_us : d->first_byte_us;
    o->usage = a->usage;
    o->http_status = d->http_status;
    if (a->failed) {
        o->failure = a->failure;
        o->retry_after_us = a->retry_after_us;
        o->detail = a->detail;
        return;
    }
    o->text = (rv_sv){ a->text.p ? a->text.p : "", (uint32_t)a->text.len };
    o->finish = (rv_sv){ a->finish, (uint32_t)strlen(a->finish) };
    o->confidence = ans_confidence(a, &o->logprob);
    if (!a->ntools)
        return;
    if (!(c->tools = mem_calloc(a->ntools, sizeof *c->tools))) {
        *o = vm_outcome_init(0);
        o->failure = RV_FAIL_ERROR;
        o->detail = "out of memory for the tool calls";
        return;
    }
    for (uint32_t i = 0; i < a->ntools; i++) {
        const ans_tool *t = &a->tools[i];
        c->tools[i].id = (rv_sv){ t->id.p ? t->id.p : "", (uint32_t)t->id.len };
        c->tools[i].name = (rv_sv){ t->name.p ? t->name.p : "", (uint32_t)t->name.len };
        /* a call without arguments has an empty object of them */
        c->tools[i].arguments = t->args.len ? (rv_sv){ t->args.p, (uint32_t)t->args.len } : (rv_sv){ "{}", 2 };
    }
    o->tool_calls = c->tools;
    o->ntool_calls = a->ntools;
}

static void on_done(void *ud, const hc_done *d)
{
    pc_call *c = ud;
    c->x = NULL;
    ans_answer *a = &c->ans;
    a->http_status = d->http_status;
    if (d->status == HC_ABORTED) {
        if (c->stopped)
            ans_fail(a, RV_FAIL_ERROR, "the answer was refused while it streamed");
        /* else the reader failed the answer already */
    } else if (d->status != HC_OK)
        ans_fail(a, transport_failure(d->status), "%s (%s)", d->message, hc_status_name(d->status));
    else if (c->reading != BODY_WHOLE)
        end_stream(c);
    else
        read_whole(c);
    make_outcome(c, d);
    c->h.done(c->ud, c);
}

/* ---------------------------------------------------------------- building */

/* The URL: the endpoint (without a trailing '/') and 'path'. */
static int make_url(pc_call *c, const char *ep, const char *path, char *err, size_t errlen)
{
    size_t el = strlen(ep), pl = strlen(path);
    while (el && ep[el - 1] == '/')
        el--;
    if (el + pl >= sizeof c->url) {
        snprintf(err, errlen, "the provider's endpoint is too long");
        return -1;
    }
    memcpy(c->url, ep, el);
    memcpy(c->url + el, path, pl + 1);
    return 0;
}

static const char *endpoint_of(const pc_spec *s, const rv_provider *pr)
{
    return s->endpoint ? s->endpoint : rv_str(s->p, pr->endpoint);
}

/* The provider's key, from the variable it names ('*none' when it names
   none); NULL with a message when the variable is unset or unusable.
   The environment is read once per variable and call structure: the
   calls a driver makes one after another (pc_start's 'reuse') mostly
   name the same one, and the process does not change its environment. */
static const char *key_of(pc_call *c, const rv_program *p, const rv_provider *pr, int *none, char *err,
                          size_t errlen)
{
    *none = pr->key_env == RV_NONE;
    if (*none)
        return NULL;
    const char *var = rv_str(p, pr->key_env);
    if (c->key_val && !strcmp(var, c->key_var))
        return c->key_val;
    const char *key = getenv(var);
    if (!key || !*key) {
        snprintf(err, errlen, "the environment variable %s (provider '%s') is not set", var, rv_str(p, pr->name));
        return NULL;
    }
    if (!header_safe(key)) {
        snprintf(err, errlen, "the environment variable %s holds a control character", var);
        return NULL;
    }
    size_t vl = strlen(var);
    if (vl < sizeof c->key_var) {
        memcpy(c->key_var, var, vl + 1);
        c->key_val = key;
    }
    return key;
}

static int nomem(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int build_openai(pc_call *c, const pc_spec *s, const rv_provider *pr, char *err, size_t errlen)
{
    const rv_program *p = s->p;
    int none;
    const char *key = key_of(c, p, pr, &none, err, errlen);
    if (make_url(c, endpoint_of(s, pr), "/chat/completions", err, errlen) || (!key && !none))
        return -1;
    if (key && strlen(key) >= 4096 - 7) {
        snprintf(err, errlen, "the key in %s is too long", rv_str(p, pr->key_env));
        return -1;
    }
    if ((key && add_header2(c, "Authorization", "Bearer ", key)) || ADD_LINE(c, "Content-Type: application/json") ||
        ADD_ACCEPT(c, s->stream) || pack_headers(c))
        return nomem(err, errlen);
    oa_opts o = { s->stream, s->logprobs };
    jw_clear(&c->bodyw);
    if (oa_body_to(&c->bodyw, s->cv, rv_str(p, p->models[s->model].id), &o) ||
        !(c->body = (char *)jw_data(&c->bodyw, &c->body_len)))
        return nomem(err, errlen);
    c->body_in_w = 1;
    return 0;
}

static int build_anthropic(pc_call *c, const pc_spec *s, const rv_provider *pr, char *err, size_t errlen)
{
    const rv_program *p = s->p;
    int none;
    const char *key = key_of(c, p, pr, &none, err, errlen);
    if (make_url(c, endpoint_of(s, pr), "/messages", err, errlen) || (!key && !none))
        return -1;
    if ((key && add_header(c, "x-api-key", key)) || ADD_LINE(c, "anthropic-version: " AN_VERSION) ||
        ADD_LINE(c, "Content-Type: application/json") || ADD_ACCEPT(c, s->stream) || pack_headers(c))
        return nomem(err, errlen);
    an_stream_init(&c->an);
    c->body = an_body(s->cv, rv_str(p, p->models[s->model].id), s->stream, &c->body_len, err, errlen);
    return c->body ? 0 : -1;
}

/* Bedrock: the URL's authority is the signed Host; the model id is
   percent-encoded into the path and signed as sent. */
static int build_bedrock(pc_call *c, const pc_spec *s, const rv_provider *pr, char *err, size_t errlen)
{
    const rv_program *p = s->p;
    sv4_creds cr;
    sv4_err se;
    if (sv4_creds_from_env(&cr, &se)) {
        snprintf(err, errlen, "%s (provider '%s')", se.msg, rv_str(p, pr->name));
        return -1;
    }
    const char *ep = endpoint_of(s, pr), *region = rv_str(p, pr->region);
    const char *hs = strstr(ep, "://");
    if (!hs || !region[0]) {
        snprintf(err, errlen, "provider '%s' needs an endpoint URL and a region", rv_str(p, pr->name));
        return -1;
    }
    hs += 3;
    size_t hl = strcspn(hs, "/");
    char host[512], prefix[512];
    snprintf(host, sizeof host, "%.*s", (int)(hl < 511 ? hl : 511), hs);
    snprintf(prefix, sizeof prefix, "%s", hs + hl);
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/')
        prefix[--pl] = 0;
    const char *id = rv_str(p, p->models[s->model].id);
    char *enc = sv4_uri_encode(id, strlen(id), 0);
    if (!enc)
        return nomem(err, errlen);
    char path[1536];
    int n = snprintf(path, sizeof path, "%s/model/%s/%s", prefix, enc, s->stream ? "converse-stream" : "converse");
    free(enc);
    if (n >= (int)sizeof path || make_url(c, ep, path + pl, err, errlen)) {
        snprintf(err, errlen, "the model id is too long");
        return -1;
    }
    br_stream_init(&c->br);
    if (!(c->body = br_body(s->cv, &c->body_len, err, errlen)))
        return -1;
    const char *accept = s->stream ? "application/vnd.amazon.eventstream" : "application/json";
    sv4_header hdrs[2] = { { "content-type", "application/json" }, { "accept", accept } };
    sv4_request rq = { .method = "POST", .host = host, .path = path, .headers = hdrs, .nheaders = 2,
                       .payload = c->body, .payload_len = c->body_len, .region = region, .service = "bedrock",
                       .time = (int64_t)time(NULL) };
    sv4_signer *signer = s->signer ? s->signer : sv4_signer_new();
    sv4_result res = { 0 };
    int rc = signer ? sv4_sign(signer, &rq, &cr, &res, &se) : -1;
    if (!s->signer)
        sv4_signer_free(signer);
    if (rc) {
        snprintf(err, errlen, "cannot sign the request: %s", signer ? se.msg : "out of memory");
        return -1;
    }
    int bad = add_header(c, "Content-Type", "application/json") || add_header(c, "Accept", accept);
    for (size_t i = 0; i < res.nheaders; i++)
        bad |= add_header(c, res.headers[i].name, res.headers[i].value);
    bad = bad || pack_headers(c);       /* before the signature's strings are freed */
    sv4_result_free(&res);
    return bad ? nomem(err, errlen) : 0;
}

static void give_back(pc_call *c, pc_call *reuse);

/* The call's state for a new call; the buffers a call before it left
   (the answer's, the body read, the header lines, the decoders) are
   kept. */
static void begin(pc_call *c, hc_engine *e, const pc_handler *h, void *ud, uint32_t kind)
{
    c->e = e;
    c->x = NULL;
    c->h = *h;
    c->ud = ud;
    c->kind = kind;
    c->body = NULL;
    c->body_len = 0;
    c->body_in_w = 0;
    c->url[0] = 0;
    c->nhdr = 0;
    c->status = 0;
    c->reading = BODY_WHOLE;
    c->etype[0] = 0;
    c->raw.len = 0;
    if (c->sse)
        sse_decoder_reset(c->sse);
    if (c->es)
        es_decoder_reset(c->es);
    ans_reset(&c->ans);
    c->stopped = 0;
    c->start_us = 0;
    c->first_text_us = -1;
    c->tools = NULL;
}

pc_call *pc_start(hc_engine *e, const pc_spec *s, const pc_handler *h, void *ud, pc_call *reuse, char *err,
                  size_t errlen)
{
    const rv_program *p = s->p;
    if (s->model >= p->nmodel || p->models[s->model].provider >= p->nprovider) {
        snprintf(err, errlen, "no such model");
        return NULL;
    }
    const rv_provider *pr = &p->providers[p->models[s->model].provider];
    pc_call *c = reuse;
    if (!c) {
        if (!(c = mem_calloc(1, sizeof *c))) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        ans_init(&c->ans);
        jw_init_mem(&c->bodyw, 0);
    }
    begin(c, e, h, ud, pr->kind);
    int rc = -1;
    if (pr->kind == RV_PROV_OPENAI)
        rc = build_openai(c, s, pr, err, errlen);
    else if (pr->kind == RV_PROV_ANTHROPIC)
        rc = build_anthropic(c, s, pr, err, errlen);
    else if (pr->kind == RV_PROV_BEDROCK)
        rc = build_bedrock(c, s, pr, err, errlen);
    else
        snprintf(err, errlen, "provider '%s' has an unknown wire format", rv_str(p, pr->name));
    if (rc) {
        give_back(c, reuse);
        return NULL;
    }
    hc_spec hs = {
        .url = c->url, .headers = c->hdr, .header_lens = c->hdr_len, .nheaders = c->nhdr,
        .body = c->body, .body_len = c->body_len,
        .connect_timeout_us = s->connect_timeout_us, .first_byte_timeout_us = s->first_byte_timeout_us,
        .idle_timeout_us = s->idle_timeout_us, .total_timeout_us = s->total_timeout_us,
    };
    hc_handler hh = { on_header, on_data, on_done };
    c->start_us = hc_now_us();
    if (!(c->x = hc_start(e, &hs, &hh, c, err, errlen))) {
        give_back(c, reuse);
        return NULL;
    }
    return c;
}

const rv_outcome *pc_outcome(pc_call *c) { return &c->out; }
const ans_answer *pc_answer(const pc_call *c) { return &c->ans; }

const char *pc_body(const pc_call *c, size_t *len)
{
    *len = c->body_len;
    return c->body;
}

/* What a call keeps for the next one is bounded: buffers grown past this
   by a large answer are freed rather than held by an idle call. */
#define PC_KEEP_MAX (16u << 10)

static int grew(const pc_call *c)
{
    if (c->raw.cap > PC_KEEP_MAX || c->ans.text.cap > PC_KEEP_MAX)
        return 1;
    for (uint32_t i = 0; i < c->ans.captools; i++)
        if (c->ans.tools[i].args.cap > PC_KEEP_MAX)
            return 1;
    return 0;
}

void pc_end(pc_call *c)
{
    if (c->x)
        hc_cancel(c->e, c->x);
    c->x = NULL;
    if (grew(c)) {              /* the answer's parser and the decoders grew with it */
        free(c->raw.p);
        c->raw = (ans_buf){ NULL, 0, 0 };
        ans_free(&c->ans);
        ans_init(&c->ans);
        sse_decoder_free(c->sse);
        es_decoder_free(c->es);
        c->sse = NULL;
        c->es = NULL;
    }
    if (c->hbuf)                /* keys and signatures were in these */
        memset(c->hbuf, 0, c->hlen);
    c->hlen = 0;
    if (!c->body_in_w)
        free(c->body);
    c->body = NULL;
    c->body_in_w = 0;
    jw_clear(&c->bodyw);
    if (c->bodyw.cap > PC_KEEP_MAX)     /* a long conversation's body is not kept */
        jw_discard(&c->bodyw);
    free(c->tools);
    c->tools = NULL;
}

void pc_free(pc_call *c)
{
    if (!c)
        return;
    pc_end(c);
    free(c->hbuf);
    jw_discard(&c->bodyw);
    free(c->raw.p);
    sse_decoder_free(c->sse);
    es_decoder_free(c->es);
    ans_free(&c->ans);
    free(c);
}

/* A call that could not start: ended, and freed unless it was the
   caller's to reuse (which stays the caller's). */
static void give_back(pc_call *c, pc_call *reuse)
{
    if (c == reuse)
        pc_end(c);
    else
        pc_free(c);
}
