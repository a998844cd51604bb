/* The internal conversation; see conv.h.

   The client's body is read with jansson (the request model parsed it
   already for routing; this reads the parts a translation needs that
   the routing view does not keep).  Every string is a view into the
   parsed body or into the VM; the tables come from a list of blocks the
   conversation owns. */
#include <stdlib.h>
#include <string.h>

#include "conv.h"

typedef struct blk { struct blk *next; _Alignas(16) char data[]; } blk;

static void *cv_alloc(cv_conv *cv, size_t n)
{
    blk *b = calloc(1, sizeof *b + (n ? n : 1));
    if (!b)
        return NULL;
    b->next = cv->mem;
    cv->mem = b;
    return b->data;
}

void cv_free(cv_conv *cv)
{
    for (blk *b = cv->mem, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    json_decref(cv->root);
    json_decref(cv->extra);
    memset(cv, 0, sizeof *cv);
}

static rv_sv sv_of(json_t *s)
{
    rv_sv v = { "", 0 };
    if (json_is_string(s)) {
        v.s = json_string_value(s);
        v.len = (uint32_t)json_string_length(s);
    }
    return v;
}

static int sv_eq(rv_sv a, const char *b)
{
    return a.len == strlen(b) && !memcmp(a.s, b, a.len);
}

/* Append 'add' to the system text (joined with a blank line). */
static int add_system(cv_conv *cv, rv_sv add)
{
    if (!add.len)
        return 0;
    size_t n = cv->system.len + (cv->system.len ? 2 : 0) + add.len;
    char *s = cv_alloc(cv, n + 1);
    if (!s)
        return -1;
    size_t k = 0;
    if (cv->system.len) {
        memcpy(s, cv->system.s, cv->system.len);
        memcpy(s + cv->system.len, "\n\n", 2);
        k = cv->system.len + 2;
    }
    memcpy(s + k, add.s, add.len);
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

/* The joined text of a message as the request model computes it (text
   parts joined with "\n"), to tell whether the VM's view differs. */
static int same_text(json_t *content, rv_sv vm_text)
{
    if (json_is_string(content))
        return sv_eq(vm_text, json_string_value(content)) && vm_text.len == json_string_length(content);
    size_t i, off = 0;
    json_t *part;
    int first = 1;
    json_array_foreach(content, i, part) {
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(t))
            continue;
        size_t tl = json_string_length(t);
        if (!first) {
            if (off >= vm_text.len || vm_text.s[off] != '\n')
                return 0;
            off++;
        }
        first = 0;
        if (off + tl > vm_text.len || memcmp(vm_text.s + off, json_string_value(t), tl))
            return 0;
        off += tl;
    }
    return off == vm_text.len;
}

static int parts_of(cv_conv *cv, cv_msg *m, json_t *content, const rv_sv *vm_text, char *err, size_t errlen)
{
    if (!content || json_is_null(content))
        return 0;
    int redacted = vm_text && !same_text(content, *vm_text);
    if (json_is_string(content) || redacted) {
        /* a redacted message keeps its images; its text is the VM's */
        size_t nimg = 0, i;
        json_t *part;
        if (json_is_array(content))
            json_array_foreach(content, i, part)
                nimg += json_object_get(part, "image_url") != NULL;
        m->parts = cv_alloc(cv, (nimg + 1) * sizeof *m->parts);
        if (!m->parts)
            return -1;
        m->parts[0].kind = CV_TEXT;
        m->parts[0].text = redacted ? *vm_text : sv_of(content);
        m->nparts = 1;
        if (json_is_array(content))
            json_array_foreach(content, i, part) {
                json_t *img = json_object_get(part, "image_url");
                if (!img)
                    continue;
                cv_part *p = &m->parts[m->nparts++];
                p->kind = CV_IMAGE;
                p->url = sv_of(json_is_string(img) ? img : json_object_get(img, "url"));
                data_url(p);
            }
        return 0;
    }
    if (!json_is_array(content)) {
        snprintf(err, errlen, "a message's content is neither a string nor a list of parts");
        return -1;
    }
    size_t n = json_array_size(content), i;
    json_t *part;
    m->parts = cv_alloc(cv, (n ? n : 1) * sizeof *m->parts);
    if (!m->parts)
        return -1;
    json_array_foreach(content, i, part) {
        rv_sv type = sv_of(json_object_get(part, "type"));
        cv_part *p = &m->parts[m->nparts];
        if (json_is_string(json_object_get(part, "text"))) {
            p->kind = CV_TEXT;
            p->text = sv_of(json_object_get(part, "text"));
        } else if (sv_eq(type, "image_url") || sv_eq(type, "input_image") || sv_eq(type, "image")) {
            json_t *img = json_object_get(part, "image_url");
            p->kind = CV_IMAGE;
            p->url = sv_of(json_is_string(img) ? img : json_object_get(img, "url"));
            data_url(p);
        } else {
            snprintf(err, errlen, "content parts of type '%.40s' cannot be translated", type.len ? type.s : "?");
            return -1;
        }
        m->nparts++;
    }
    return 0;
}

static int calls_of(cv_conv *cv, cv_msg *m, json_t *calls)
{
    size_t n = json_array_size(calls), i;
    json_t *tc;
    if (!n)
        return 0;
    m->calls = cv_alloc(cv, n * sizeof *m->calls);
    if (!m->calls)
        return -1;
    json_array_foreach(calls, i, tc) {
        json_t *fn = json_object_get(tc, "function");
        cv_call *c = &m->calls[m->ncalls++];
        c->id = sv_of(json_object_get(tc, "id"));
        c->name = sv_of(json_object_get(fn, "name"));
        c->args = sv_of(json_object_get(fn, "arguments"));
    }
    return 0;
}

static int tools_of(cv_conv *cv, json_t *tools, json_t *functions)
{
    size_t n = json_array_size(tools) + json_array_size(functions), i;
    json_t *t;
    if (!n)
        return 0;
    cv->tools = cv_alloc(cv, n * sizeof *cv->tools);
    if (!cv->tools)
        return -1;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        if (!fn)
            continue;
        cv_tool *d = &cv->tools[cv->ntools++];
        d->name = sv_of(json_object_get(fn, "name"));
        d->desc = sv_of(json_object_get(fn, "description"));
        d->params = json_object_get(fn, "parameters");
    }
    json_array_foreach(functions, i, t) {
        cv_tool *d = &cv->tools[cv->ntools++];
        d->name = sv_of(json_object_get(t, "name"));
        d->desc = sv_of(json_object_get(t, "description"));
        d->params = json_object_get(t, "parameters");
    }
    return 0;
}

/* Fields the translations rebuild; everything else passes through to
   OpenAI-compatible servers as the client wrote it.  'metadata' carries
   routing hints for us, not the upstream. */
static const char *const rebuilt[] = {
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "tools",
    "functions", "tool_choice", "function_call", "temperature", "top_p", "stop", "seed", "metadata",
    "logprobs", "top_logprobs", NULL,
};

static int extra_of(cv_conv *cv, json_t *root)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        int skip = 0;
        for (int i = 0; rebuilt[i] && !skip; i++)
            skip = !strcmp(k, rebuilt[i]);
        if (skip)
            continue;
        if (!cv->extra && !(cv->extra = json_object()))
            return -1;
        if (json_object_set(cv->extra, k, v))
            return -1;
    }
    return 0;
}

static uint8_t role_of(rv_sv r)
{
    if (sv_eq(r, "system") || sv_eq(r, "developer"))
        return RV_ROLE_SYSTEM;
    if (sv_eq(r, "assistant"))
        return RV_ROLE_ASSISTANT;
    if (sv_eq(r, "tool") || sv_eq(r, "function"))
        return RV_ROLE_TOOL;
    return RV_ROLE_USER;
}

int cv_from_openai(cv_conv *cv, json_t *root, const rv_call *c, char *err, size_t errlen)
{
    memset(cv, 0, sizeof *cv);
    cv->root = json_incref(root);
    json_t *msgs = json_object_get(root, "messages");
    if (!json_is_array(msgs)) {
        snprintf(err, errlen, "the request has no messages");
        return -1;
    }
    const rv_request *req = c ? c->req : NULL;
    if (c && add_system(cv, c->system))
        goto nomem;
    size_t n = json_array_size(msgs), i;
    cv->msgs = cv_alloc(cv, (n ? n : 1) * sizeof *cv->msgs);
    if (!cv->msgs)
        goto nomem;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        uint8_t role = role_of(sv_of(json_object_get(m, "role")));
        const rv_sv *vm_text = req && i < req->nmsg ? &req->msgs[i].text : NULL;
        json_t *content = json_object_get(m, "content");
        if (role == RV_ROLE_SYSTEM) {
            if (vm_text && !same_text(content, *vm_text)) {
                if (add_system(cv, *vm_text))
                    goto nomem;
                continue;
            }
            if (json_is_string(content)) {
                if (add_system(cv, sv_of(content)))
                    goto nomem;
            } else {
                size_t k;
                json_t *part;
                json_array_foreach(content, k, part)
                    if (add_system(cv, sv_of(json_object_get(part, "text"))))
                        goto nomem;
            }
            continue;
        }
        cv_msg *d = &cv->msgs[cv->nmsgs++];
        d->role = role;
        d->name = sv_of(json_object_get(m, "name"));
        d->tool_call_id = sv_of(json_object_get(m, "tool_call_id"));
        if (role == RV_ROLE_TOOL && !d->tool_call_id.len)
            d->tool_call_id = d->name;          /* legacy "function" results name the function */
        if (parts_of(cv, d, content, vm_text, err, errlen))
            return -1;
        if (calls_of(cv, d, json_object_get(m, "tool_calls")))
            goto nomem;
        json_t *fc = json_object_get(m, "function_call");     /* legacy: one call, no id */
        if (fc && !d->ncalls) {
            d->calls = cv_alloc(cv, sizeof *d->calls);
            if (!d->calls)
                goto nomem;
            d->calls[0].id = sv_of(json_object_get(fc, "name"));
            d->calls[0].name = sv_of(json_object_get(fc, "name"));
            d->calls[0].args = sv_of(json_object_get(fc, "arguments"));
            d->ncalls = 1;
        }
    }
    if (tools_of(cv, json_object_get(root, "tools"), json_object_get(root, "functions")))
        goto nomem;
    json_t *tc = json_object_get(root, "tool_choice");
    if (json_is_string(tc))
        cv->tool_choice = sv_of(tc);
    else if (json_is_object(tc)) {
        cv->tool_choice = (rv_sv){ "function", 8 };
        cv->tool_choice_name = sv_of(json_object_get(json_object_get(tc, "function"), "name"));
    }
    cv->temperature = json_object_get(root, "temperature");
    cv->top_p = json_object_get(root, "top_p");
    cv->stop = json_object_get(root, "stop");
    cv->seed = json_object_get(root, "seed");
    cv->max_tokens = c && c->max_output > 0 ? c->max_output : 0;
    if (!cv->max_tokens) {
        json_t *mt = json_object_get(root, "max_completion_tokens");
        if (!mt)
            mt = json_object_get(root, "max_tokens");
        if (json_is_integer(mt) && json_integer_value(mt) > 0)
            cv->max_tokens = json_integer_value(mt);
    }
    if (extra_of(cv, root))
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int cv_from_chat(cv_conv *cv, const rv_chatmsg *msgs, uint32_t n, int64_t max_tokens, char *err, size_t errlen)
{
    memset(cv, 0, sizeof *cv);
    cv->msgs = cv_alloc(cv, (n ? n : 1) * sizeof *cv->msgs);
    if (!cv->msgs)
        goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        if (msgs[i].role == RV_ROLE_SYSTEM) {
            if (add_system(cv, msgs[i].text))
                goto nomem;
            continue;
        }
        cv_msg *d = &cv->msgs[cv->nmsgs++];
        d->role = msgs[i].role == RV_ROLE_ASSISTANT ? RV_ROLE_ASSISTANT : RV_ROLE_USER;
        d->parts = cv_alloc(cv, sizeof *d->parts);
        if (!d->parts)
            goto nomem;
        d->parts[0].kind = CV_TEXT;
        d->parts[0].text = msgs[i].text;
        d->nparts = 1;
    }
    cv->max_tokens = max_tokens;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}
