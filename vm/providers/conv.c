/* The internal conversation; see conv.h.

   Every text comes from the call's slot texts (rv_call.texts), indexed
   like the request's slots, so a redaction made by an input guardrail is
   what every provider receives.  The tables come from a list of blocks
   the conversation owns, the first of them in the conversation itself.
   The client's JSON values are views of their
   spans in the request's body, never parsed here; the model's values
   are jansson values kept in one array ('owned') and released
   together. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "mem.h"

typedef struct blk { struct blk *next; _Alignas(16) char data[]; } blk;

/* n zeroed bytes, 16-aligned: from the conversation's room while it
   lasts, then a block of their own. */
static void *cv_alloc(cv_conv *cv, size_t n)
{
    size_t left = sizeof cv->room - cv->used;  /* a multiple of 16, as 'used' is */
    if (n && n <= left) {
        char *p = cv->room + cv->used;
        cv->used += (n + 15) & ~(size_t)15;
        return memset(p, 0, n);
    }
    blk *b = mem_calloc(1, sizeof *b + (n ? n : 1));
    if (!b)
        return NULL;
    b->next = cv->mem;
    cv->mem = b;
    return b->data;
}

/* Empty the conversation; 'room' is zeroed as it is handed out. */
static void cv_reset(cv_conv *cv)
{
    memset(cv, 0, offsetof(cv_conv, room));
}

void cv_free(cv_conv *cv)
{
    for (blk *b = cv->mem, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    json_decref(cv->owned);
    cv_reset(cv);
}

/* Keep 'v' alive until cv_free; returns it (NULL when 'v' is NULL or
   out of memory). */
static json_t *own(cv_conv *cv, json_t *v)
{
    if (!v)
        return NULL;
    if (!cv->owned && !(cv->owned = json_array())) {
        json_decref(v);
        return NULL;
    }
    if (json_array_append_new(cv->owned, v))
        return NULL;
    return v;
}

/* The JSON text at 'sp' of the request's body ("" when absent). */
static rv_sv span_text(const rv_request *r, rv_span sp)
{
    if (!sp.len || (size_t)sp.off + sp.len > r->body_len)
        return (rv_sv){ "", 0 };
    return (rv_sv){ r->body + sp.off, sp.len };
}

/* ---------------------------------------------------------------- values */

int cv_has(const cv_val *v)
{
    return v->j || v->raw.len;
}

int cv_is_string(const cv_val *v)
{
    return v->j ? json_is_string(v->j) : v->raw.len && v->raw.s[0] == '"';
}

int cv_is_object(const cv_val *v)
{
    return v->j ? json_is_object(v->j) : v->raw.len && v->raw.s[0] == '{';
}

void cv_put_val(jw_writer *w, const cv_val *v)
{
    if (v->j || !v->raw.len)
        jw_value(w, v->j);
    else
        jw_raw(w, v->raw.s, v->raw.len);
}

void cv_put_text(jw_writer *w, rv_sv text, rv_sv json)
{
    if (json.len)
        jw_raw(w, json.s, json.len);
    else
        jw_string(w, text.s ? text.s : "", text.len);
}

void cv_put_list(jw_writer *w, const cv_val *v)
{
    if (!cv_is_string(v)) {
        cv_put_val(w, v);
        return;
    }
    jw_array(w);
    cv_put_val(w, v);
    jw_end(w);
}

static int add_system(cv_conv *cv, rv_sv add, const char *sep)
{
    if (!add.len)
        return 0;
    size_t sl = cv->system.len ? strlen(sep) : 0, n = cv->system.len + sl + add.len;
    char *s = cv_alloc(cv, n + 1);
    if (!s)
        return -1;
    if (cv->system.len)
        memcpy(s, cv->system.s, cv->system.len);
    memcpy(s + cv->system.len, sep, sl);
    memcpy(s + cv->system.len + sl, add.s, add.len);
    cv->system.s = s;
    cv->system.len = (uint32_t)n;
    return 0;
}

/* "data:image/png;base64,AAAA" -> media type and payload */
static void data_url(cv_part *p)
{
    const char *s = p->url.s;
    uint32_t n = p->url.len;
    if (n < 5 || memcmp(s, "data:", 5))
        return;
    const char *semi = memchr(s, ';', n), *comma = memchr(s, ',', n);
    if (!semi || !comma || comma < semi || (size_t)(comma - semi) != 7 || memcmp(semi, ";base64", 7))
        return;
    p->media_type.s = s + 5;
    p->media_type.len = (uint32_t)(semi - s - 5);
    p->data.s = comma + 1;
    p->data.len = (uint32_t)(s + n - comma - 1);
}

static rv_sv slot_text(const rv_call *c, uint32_t slot)
{
    if (slot == RV_REQ_NONE || slot >= c->req->nslot)
        return (rv_sv){ "", 0 };
    return c->texts ? c->texts[slot] : c->req->slot_texts[slot];
}

/* The JSON string token of 'slot' as the client wrote it, when the
   call's text for it is the request's own (an input guardrail that
   redacted it gave another); "" otherwise. */
static rv_sv slot_json(const rv_call *c, uint32_t slot)
{
    const rv_request *r = c->req;
    static const rv_sv none = { "", 0 };
    if (slot == RV_REQ_NONE || slot >= r->nslot)
        return none;
    if (c->texts && (c->texts[slot].s != r->slot_texts[slot].s || c->texts[slot].len != r->slot_texts[slot].len))
        return none;
    rv_sv j = span_text(r, r->slots[slot].raw);
    return j.len >= 2 && j.s[0] == '"' ? j : none;
}

/* A text part from slot 'slot'. */
static void text_part(cv_part *q, const rv_call *c, uint32_t slot)
{
    q->kind = CV_TEXT;
    q->text = slot_text(c, slot);
    q->json = slot_json(c, slot);
}

/* A message's slot of 'kind', RV_REQ_NONE if none. */
static uint32_t find_slot(const rv_request *r, const rv_msg *m, uint8_t kind)
{
    for (uint32_t k = m->slot; k < m->slot + m->nslots && k < r->nslot; k++)
        if (r->slots[k].kind == kind)
            return k;
    return RV_REQ_NONE;
}

static int parts_of(cv_conv *cv, const rv_call *c, const rv_msg *m, cv_msg *d)
{
    const rv_request *r = c->req;
    if (m->content == RV_CONTENT_STRING) {
        if (!(d->parts = cv_alloc(cv, sizeof *d->parts)))
            return -1;
        text_part(&d->parts[0], c, find_slot(r, m, RV_SLOT_CONTENT));
        d->nparts = 1;
        return 0;
    }
    uint32_t refusal = find_slot(r, m, RV_SLOT_REFUSAL);
    if (m->content != RV_CONTENT_PARTS) {
        if (refusal == RV_REQ_NONE)
            return 0;
        if (!(d->parts = cv_alloc(cv, sizeof *d->parts)))
            return -1;
        text_part(&d->parts[0], c, refusal);   /* an assistant's refusal is what it said */
        d->nparts = 1;
        return 0;
    }
    if (!(d->parts = cv_alloc(cv, (m->nparts ? m->nparts : 1) * sizeof *d->parts)))
        return -1;
    for (uint32_t i = m->part; i < m->part + m->nparts && i < r->npart; i++) {
        const rv_part *p = &r->parts[i];
        cv_part *q = &d->parts[d->nparts++];
        if (p->kind == RV_PART_TEXT || p->kind == RV_PART_REFUSAL) {
            text_part(q, c, p->slot);
        } else if (p->kind == RV_PART_IMAGE) {
            q->kind = CV_IMAGE;
            q->url = p->a;
            data_url(q);
        } else if (p->slot != RV_REQ_NONE) {
            /* an unknown part with text: a text part (its text screened like any) */
            text_part(q, c, p->slot);
        } else {
            q->kind = CV_RAW;
            q->raw = span_text(r, p->raw);
        }
    }
    return 0;
}

static int calls_of(cv_conv *cv, const rv_call *c, const rv_msg *m, cv_msg *d)
{
    const rv_request *r = c->req;
    uint32_t n = m->ncalls + (m->fc_name.len ? 1 : 0);
    if (!n)
        return 0;
    if (!(d->calls = cv_alloc(cv, n * sizeof *d->calls)))
        return -1;
    for (uint32_t i = m->call; i < m->call + m->ncalls && i < r->ncall; i++) {
        cv_call *k = &d->calls[d->ncalls++];
        k->id = r->calls[i].id;
        k->name = r->calls[i].name;
        k->args = slot_text(c, r->calls[i].args);
    }
    if (m->fc_name.len) {           /* legacy function_call: one call, no id */
        cv_call *k = &d->calls[d->ncalls++];
        k->id = k->name = m->fc_name;
        k->args = slot_text(c, find_slot(r, m, RV_SLOT_FUNC_ARGS));
    }
    return 0;
}

static int tools_of(cv_conv *cv, const rv_call *c)
{
    const rv_request *r = c->req;
    if (!r->ntooldef)
        return 0;
    if (!(cv->tools = cv_alloc(cv, r->ntooldef * sizeof *cv->tools)))
        return -1;
    for (uint32_t i = 0; i < r->ntooldef; i++) {
        const rv_tooldef *t = &r->tooldefs[i];
        cv_tool *d = &cv->tools[cv->ntools++];
        d->name = t->name;
        d->desc = slot_text(c, t->desc);
        d->params.raw = span_text(r, t->parameters);
    }
    return 0;
}

/* A number from the program (a NUM in millionths, or an INT). */
static json_t *param_json(const rv_call *c, rv_param k)
{
    if (!(c->params_set & (1u << k)))
        return NULL;
    int64_t v = c->params[k];
    if (rv_params[k].type == RV_T_NUM)
        return json_real((double)v / 1e6);
    return json_integer(v);
}

/* The model's value of parameter 'k' when it states one, else the
   client's as written.  -1 when out of memory. */
static int param(cv_conv *cv, const rv_call *c, rv_param k, rv_span client, cv_val *out)
{
    if (c->params_set & (1u << k))
        return (out->j = own(cv, param_json(c, k))) ? 0 : -1;
    out->raw = span_text(c->req, client);
    return 0;
}

/* The request's fields passed through: every unmodelled one, in order,
   then the modelled ones an OpenAI-compatible server takes as they are. */
static int extra_of(cv_conv *cv, const rv_request *r)
{
    static const struct { const char *name; size_t off; } passed[] = {
        { "response_format", offsetof(rv_reqparams, response_format) }, { "n", offsetof(rv_reqparams, n) },
        { "parallel_tool_calls", offsetof(rv_reqparams, parallel_tool_calls) }, { "user", offsetof(rv_reqparams, user) },
        { "top_logprobs", offsetof(rv_reqparams, top_logprobs) },
    };
    size_t np = sizeof passed / sizeof *passed;
    if (!(cv->extra = cv_alloc(cv, (r->nextra + np) * sizeof *cv->extra)))
        return -1;
    for (uint32_t i = 0; i < r->nextra; i++) {
        rv_sv v = span_text(r, r->extra[i].val);
        if (v.len)
            cv->extra[cv->nextra++] = (cv_field){ r->extra[i].key, v };
    }
    for (size_t i = 0; i < np; i++) {
        rv_sv v = span_text(r, *(const rv_span *)((const char *)&r->params + passed[i].off));
        if (v.len)
            cv->extra[cv->nextra++] = (cv_field){ { passed[i].name, (uint32_t)strlen(passed[i].name) }, v };
    }
    return 0;
}

static int params_of(cv_conv *cv, const rv_call *c)
{
    const rv_request *r = c->req;
    const rv_reqparams *q = &r->params;
    static const rv_span none = { 0, 0 };
    if (param(cv, c, RV_PARAM_TEMPERATURE, q->temperature, &cv->temperature) ||
        param(cv, c, RV_PARAM_TOP_P, q->top_p, &cv->top_p) || param(cv, c, RV_PARAM_TOP_K, none, &cv->top_k) ||
        param(cv, c, RV_PARAM_SEED, q->seed, &cv->seed) ||
        param(cv, c, RV_PARAM_PRESENCE, q->presence_penalty, &cv->presence) ||
        param(cv, c, RV_PARAM_FREQUENCY, q->frequency_penalty, &cv->frequency))
        return -1;
    if (c->nstop) {
        json_t *arr = own(cv, json_array());
        if (!arr)
            return -1;
        for (uint32_t i = 0; i < c->nstop; i++)
            if (json_array_append_new(arr, json_stringn(c->stop[i].s, c->stop[i].len)))
                return -1;
        cv->stop.j = arr;
    } else
        cv->stop.raw = span_text(r, q->stop);
    cv->tool_choice = q->tool_choice_mode;
    cv->tool_choice_name = q->tool_choice_name;
    if (q->tool_choice_name.len)
        cv->tool_choice = (rv_sv){ "function", 8 };
    cv->max_tokens = c->max_output > 0 ? c->max_output : r->max_tokens;
    return extra_of(cv, r);
}

static int from_request(cv_conv *cv, const rv_call *c)
{
    const rv_request *r = c->req;
    if (add_system(cv, c->system, "\n\n"))
        return -1;
    if (!(cv->msgs = cv_alloc(cv, (r->nmsg ? r->nmsg : 1) * sizeof *cv->msgs)))
        return -1;
    uint32_t nsystem = 0, system_slot = RV_REQ_NONE;     /* the client's nonempty system texts */
    for (uint32_t i = 0; i < r->nmsg; i++) {
        const rv_msg *m = &r->msgs[i];
        if (m->role == RV_ROLE_SYSTEM) {
            /* system and developer messages: their texts, joined */
            const char *sep = "\n\n";
            for (uint32_t k = m->slot; k < m->slot + m->nslots && k < r->nslot; k++)
                if (r->slots[k].kind == RV_SLOT_CONTENT || r->slots[k].kind == RV_SLOT_PART) {
                    rv_sv t = slot_text(c, k);
                    if (add_system(cv, t, sep))
                        return -1;
                    if (t.len && !nsystem++)
                        system_slot = k;
                    sep = "\n";
                }
            continue;
        }
        cv_msg *d = &cv->msgs[cv->nmsgs++];
        d->role = m->role;
        d->name = slot_text(c, find_slot(r, m, RV_SLOT_NAME));
        d->tool_call_id = m->tool_call_id;
        if (m->role == RV_ROLE_TOOL && !d->tool_call_id.len)
            d->tool_call_id = d->name;          /* legacy "function" results name the function */
        if (parts_of(cv, c, m, d) || calls_of(cv, c, m, d))
            return -1;
    }
    if (nsystem == 1 && !c->system.len)     /* one text of the client's, no template */
        cv->system_json = slot_json(c, system_slot);
    return tools_of(cv, c) || params_of(cv, c);
}

static int from_chat(cv_conv *cv, const rv_call *c)
{
    if (!(cv->msgs = cv_alloc(cv, (c->nmsgs ? c->nmsgs : 1) * sizeof *cv->msgs)))
        return -1;
    for (uint32_t i = 0; i < c->nmsgs; i++) {
        if (c->msgs[i].role == RV_ROLE_SYSTEM) {
            if (add_system(cv, c->msgs[i].text, "\n\n"))
                return -1;
            continue;
        }
        cv_msg *d = &cv->msgs[cv->nmsgs++];
        d->role = c->msgs[i].role == RV_ROLE_ASSISTANT ? RV_ROLE_ASSISTANT : RV_ROLE_USER;
        if (!(d->parts = cv_alloc(cv, sizeof *d->parts)))
            return -1;
        d->parts[0].kind = CV_TEXT;
        d->parts[0].text = c->msgs[i].text;
        d->nparts = 1;
    }
    cv->max_tokens = c->max_output;
    return 0;
}

int cv_from_call(cv_conv *cv, const rv_call *c, char *err, size_t errlen)
{
    cv_reset(cv);
    if (c->req ? from_request(cv, c) : from_chat(cv, c)) {
        cv_free(cv);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- writing turns */

int cv_put_args(jw_writer *w, rv_sv a, char *err, size_t errlen)
{
    if (!a.len) {
        jw_raw(w, "{}", 2);
        return 0;
    }
    json_t *o = json_loadb(a.s, a.len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "tool-call arguments are not a JSON object");
        return -1;
    }
    jw_value(w, o);
    json_decref(o);
    return 0;
}

int cv_put_turns(jw_writer *w, const cv_conv *cv, cv_blocks_fn blocks_of, char *err, size_t errlen)
{
    const char *open = NULL;
    jw_array(w);
    for (uint32_t i = 0; i < cv->nmsgs; i++) {
        const cv_msg *m = &cv->msgs[i];
        const char *role = m->role == RV_ROLE_ASSISTANT ? "assistant" : "user";
        if (open != role) {
            if (open) {
                jw_end(w);
                jw_end(w);
            }
            jw_object(w);
            JW_KEY(w, "role");
            jw_cstring(w, role);
            JW_KEY(w, "content");
            jw_array(w);
            open = role;
        }
        if (blocks_of(w, m, err, errlen))
            return -1;
    }
    if (open) {
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
    return 0;
}
