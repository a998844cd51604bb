/* One provider call; see pcall.h.

   The response is read by state: the status line and headers decide how
   the body is read -- an error status or a JSON answer is collected whole
   (up to PC_MAX_BODY) and parsed at the end; a 2xx event stream goes
   through the SSE reader, each event to the provider's parser, and any
   text it adds to the answer is handed on at once.  At the end the
   transport's status (httpc) and the answer's own state are combined
   into one failure class: a transport failure wins over whatever was
   read, and a stream that ended without its end marker is a reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "openai.h"
#include "pcall.h"
#include "sseread.h"

#define PC_MAX_BODY (8u << 20)
#define PC_MAX_HEADERS 8

struct pc_call {
    hc_engine *e;
    hc_xfer *x;
    pc_handler h;
    void *ud;
    uint32_t kind;              /* rv_provkind */
    char *body;                 /* request body (owned) */
    size_t body_len;
    char url[2048];
    char *hdr[PC_MAX_HEADERS];  /* owned header lines */
    size_t nhdr;
    int status;
    int sse;                    /* the body is an event stream */
    ans_buf raw;                /* error or JSON body */
    sr_reader sr;
    ans_answer ans;
    int stopped;                /* the text callback refused */
    int64_t start_us, first_text_us;
    rv_outcome out;
    rv_toolcall *tools;
};

static int add_header(pc_call *c, const char *fmt, const char *a, const char *b)
{
    if (c->nhdr == PC_MAX_HEADERS)
        return -1;
    size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *h = malloc(n);
    if (!h)
        return -1;
    snprintf(h, n, fmt, a, b ? b : "");
    c->hdr[c->nhdr++] = h;
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

/* Hand on the text the last event added. */
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

static int on_event(void *ud, const char *type, size_t tlen, const char *data, size_t dlen)
{
    pc_call *c = ud;
    size_t before = c->ans.text.len;
    oa_event(&c->ans, data, dlen);
    if (c->ans.failed)
        return 1;
    return emit(c, before);
}

static void on_header(void *ud, int status, const char *name, size_t nlen, const char *v, size_t vlen)
{
    pc_call *c = ud;
    c->status = status;
    if (nlen == 12 && !strncasecmp(name, "content-type", 12))
        c->sse = status >= 200 && status < 300 && vlen >= 17 && !strncasecmp(v, "text/event-stream", 17);
    else if (nlen == 11 && !strncasecmp(name, "retry-after", 11))
        c->ans.retry_after_us = ans_retry_after(v, vlen, (int64_t)time(NULL));
}

static int on_data(void *ud, const char *p, size_t n)
{
    pc_call *c = ud;
    if (c->sse) {
        int rc = sr_feed(&c->sr, p, n, on_event, c);
        if (rc < 0)
            ans_fail(&c->ans, RV_FAIL_MALFORMED, "a stream event is larger than %u bytes", SR_MAX_EVENT);
        return rc != 0;
    }
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
    } else if (d->status != HC_OK) {
        ans_fail(a, transport_failure(d->status), "%s (%s)", d->message, hc_status_name(d->status));
    } else if (c->status >= 300 || c->status < 200) {
        oa_error(a, c->status, c->raw.p ? c->raw.p : "", c->raw.len);
    } else if (c->sse) {
        int rc = sr_finish(&c->sr, on_event, c);
        if (rc < 0)
            ans_fail(a, RV_FAIL_MALFORMED, "a stream event is larger than %u bytes", SR_MAX_EVENT);
        if (!a->failed && !a->ended)
            ans_fail(a, RV_FAIL_RESET, "the stream ended without its end marker");
    } else {
        size_t before = a->text.len;
        oa_parse(a, c->raw.p ? c->raw.p : "", c->raw.len);
        if (!a->failed)
            emit(c, before);
    }
    /* the outcome */
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
        if (a->http_status && !o->http_status)
            o->http_status = a->http_status;
    } else {
        o->text = (rv_sv){ a->text.p ? a->text.p : "", (uint32_t)a->text.len };
        o->finish = (rv_sv){ a->finish, (uint32_t)strlen(a->finish) };
        o->confidence = ans_confidence(a, &o->logprob);
        if (a->ntools && (c->tools = calloc(a->ntools, sizeof *c->tools))) {
            for (uint32_t i = 0; i < a->ntools; i++) {
                const ans_tool *t = &a->tools[i];
                c->tools[i].id = (rv_sv){ t->id.p ? t->id.p : "", (uint32_t)t->id.len };
                c->tools[i].name = (rv_sv){ t->name.p ? t->name.p : "", (uint32_t)t->name.len };
                c->tools[i].arguments = (rv_sv){ t->args.p ? t->args.p : "", (uint32_t)t->args.len };
            }
            o->tool_calls = c->tools;
            o->ntool_calls = a->ntools;
        } else if (a->ntools) {
            *o = vm_outcome_init(0);
            o->failure = RV_FAIL_ERROR;
            o->detail = "out of memory for the tool calls";
        }
    }
    c->h.done(c->ud, c);
}

/* ---------------------------------------------------------------- building */

static int build_openai(pc_call *c, const pc_spec *s, const rv_provider *pr, char *err, size_t errlen)
{
    const rv_program *p = s->p;
    const char *ep = rv_str(p, pr->endpoint);
    size_t el = strlen(ep);
    while (el && ep[el - 1] == '/')
        el--;
    if (snprintf(c->url, sizeof c->url, "%.*s/chat/completions", (int)el, ep) >= (int)sizeof c->url) {
        snprintf(err, errlen, "the provider's endpoint is too long");
        return -1;
    }
    if (pr->key_env != RV_NONE) {
        const char *var = rv_str(p, pr->key_env), *key = getenv(var);
        if (!key || !*key) {
            snprintf(err, errlen, "the environment variable %s (provider '%s') is not set", var, rv_str(p, pr->name));
            return -1;
        }
        if (!header_safe(key)) {
            snprintf(err, errlen, "the environment variable %s holds a control character", var);
            return -1;
        }
        if (add_header(c, "Authorization: Bearer %s%s", key, NULL))
            goto nomem;
    }
    if (add_header(c, "Content-Type: application/json%s%s", "", NULL) ||
        add_header(c, "Accept: %s%s", s->stream ? "text/event-stream" : "application/json", NULL))
        goto nomem;
    oa_opts o = { s->stream, s->logprobs };
    c->body = oa_body(s->cv, rv_str(p, p->models[s->model].id), &o, &c->body_len);
    if (!c->body)
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

pc_call *pc_start(hc_engine *e, const pc_spec *s, const pc_handler *h, void *ud, char *err, size_t errlen)
{
    const rv_program *p = s->p;
    if (s->model >= p->nmodel || p->models[s->model].provider >= p->nprovider) {
        snprintf(err, errlen, "no such model");
        return NULL;
    }
    const rv_provider *pr = &p->providers[p->models[s->model].provider];
    pc_call *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->e = e;
    c->h = *h;
    c->ud = ud;
    c->kind = pr->kind;
    c->first_text_us = -1;
    ans_init(&c->ans);
    sr_init(&c->sr, 0);
    int rc;
    switch (pr->kind) {
    case RV_PROV_OPENAI: rc = build_openai(c, s, pr, err, errlen); break;
    default:
        snprintf(err, errlen, "provider '%s': the %s wire format is not supported yet", rv_str(p, pr->name),
                 pr->kind < RV_PROV__COUNT ? rv_provkind_names[pr->kind] : "?");
        rc = -1;
    }
    if (rc) {
        pc_free(c);
        return NULL;
    }
    hc_spec hs = {
        .url = c->url, .headers = (const char *const *)c->hdr, .nheaders = c->nhdr,
        .body = c->body, .body_len = c->body_len,
        .connect_timeout_us = s->connect_timeout_us, .first_byte_timeout_us = s->first_byte_timeout_us,
        .idle_timeout_us = s->idle_timeout_us, .total_timeout_us = s->total_timeout_us,
    };
    hc_handler hh = { on_header, on_data, on_done };
    c->start_us = hc_now_us();
    if (!(c->x = hc_start(e, &hs, &hh, c, err, errlen))) {
        pc_free(c);
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

void pc_free(pc_call *c)
{
    if (!c)
        return;
    if (c->x)
        hc_cancel(c->e, c->x);
    for (size_t i = 0; i < c->nhdr; i++) {
        /* the key was in one of these */
        memset(c->hdr[i], 0, strlen(c->hdr[i]));
        free(c->hdr[i]);
    }
    free(c->body);
    free(c->raw.p);
    free(c->tools);
    sr_free(&c->sr);
    ans_free(&c->ans);
    free(c);
}
