/* Test requests: 'request AGENT { user "…"  meta.intent = "complaint" … }'
   becomes the OpenAI chat-completions JSON that a client would send, so a
   test runs the very code path a live request takes (parse, then decide).

       user|input "t"      a user message          system "t"     a system message
       assistant "t"       an assistant message    stream true    "stream": true
       max_tokens 500      "max_tokens"            tools ["a"]    function tools named a
       images 2            image parts on the last user message
       meta.KEY = v        "metadata": { "KEY": v } (string, number or bool)
   Messages keep their order.  The checker (check.c) calls it once per test;
   values are folded (fold.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "testreq.h"

#define D (&c->diag)

static json_t *const_json(rv_compiler *c, ast *v)
{
    ast *f = fold_expr(c, v, 0);
    if (!f) {
        diag_report(D, DG_NOT_CONSTANT, v->at, "test request values must be literals or constants");
        return NULL;
    }
    switch (f->kind) {
    case E_STR: return json_stringn(f->u.str.s, f->u.str.len);
    case E_BOOL: return json_boolean(f->u.i);
    case E_INT: case E_TOKENS: return json_integer(f->u.i);
    default:
        diag_report(D, DG_TYPE, v->at, "a test request value is a string, an integer or a bool");
        return NULL;
    }
}

static void add_message(json_t *msgs, const char *role, json_t *text)
{
    json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", role, "content", text));
}

ast *testreq_build(rv_compiler *c, ast *item)
{
    json_t *req = json_object(), *msgs = json_array(), *meta = json_object();
    json_int_t images = 0;
    int bad = 0;
    json_object_set_new(req, "model", json_string(item->u.item->value->u.name));
    for (ast *r = item->u.item->value2; r; r = r->next) {
        const char *n = r->u.item->name;
        json_t *v = NULL;
        if (r->u.item->path) {
            if (strcmp(n, "meta")) {
                diag_report(D, DG_UNKNOWN_PROPERTY, r->u.item->name_at, "only meta.KEY = value can be assigned");
                bad = 1;
            } else if ((v = const_json(c, r->u.item->value))) {
                json_object_set_new(meta, r->u.item->path, v);
            } else {
                bad = 1;
            }
            continue;
        }
        if (!strcmp(n, "tools")) {
            ast *f = fold_expr(c, r->u.item->value, 0);
            json_t *tools = json_array();
            if (!f || f->kind != E_LIST) {
                diag_report(D, DG_TYPE, r->u.item->value->at, "tools are a list of names: tools [\"lookup_order\"]");
                bad = 1;
            } else {
                for (ast *t = f->u.items; t; t = t->next)
                    if (t->kind == E_STR)
                        json_array_append_new(tools, json_pack("{s:s, s:{s:s, s:{s:s}}}", "type", "function",
                                              "function", "name", t->u.str.s, "parameters", "type", "object"));
            }
            json_object_set_new(req, "tools", tools);
            continue;
        }
        v = const_json(c, r->u.item->value);
        if (!v) {
            bad = 1;
            continue;
        }
        if (!strcmp(n, "user") || !strcmp(n, "input") || !strcmp(n, "system") || !strcmp(n, "assistant")) {
            if (!json_is_string(v)) {
                diag_report(D, DG_TYPE, r->u.item->value->at, "a message is a string");
                json_decref(v);
                bad = 1;
                continue;
            }
            add_message(msgs, !strcmp(n, "input") ? "user" : n, v);
        } else if (!strcmp(n, "stream") && json_is_boolean(v)) {
            json_object_set_new(req, "stream", v);
        } else if (!strcmp(n, "max_tokens") && json_is_integer(v)) {
            json_object_set_new(req, "max_tokens", v);
        } else if (!strcmp(n, "images") && json_is_integer(v)) {
            images = json_integer_value(v);
            json_decref(v);
        } else if (!strcmp(n, "user_id") && json_is_string(v)) {
            json_object_set_new(req, "user", v);
        } else {
            static const char *const names[] = { "user", "input", "system", "assistant", "stream", "max_tokens",
                                                  "tools", "images", "user_id", "meta" };
            diag_report(D, DG_UNKNOWN_PROPERTY, r->u.item->name_at, "a test request has no '%s' of this type", n);
            const char *sug = diag_suggest(n, names, sizeof names / sizeof *names);
            if (sug && strcmp(sug, n))
                diag_hint(D, "did you mean '%s'?", sug);
            else
                diag_hint(D, "requests have user/system/assistant \"text\", stream BOOL, max_tokens N, "
                          "tools [\"name\"], images N, user_id \"id\", meta.KEY = value");
            json_decref(v);
            bad = 1;
        }
    }
    /* images become image parts of the last user message */
    if (images > 0) {
        size_t i = json_array_size(msgs);
        json_t *last = NULL;
        while (i-- > 0)
            if (!strcmp(json_string_value(json_object_get(json_array_get(msgs, i), "role")), "user")) {
                last = json_array_get(msgs, i);
                break;
            }
        if (!last) {
            last = json_pack("{s:s, s:s}", "role", "user", "content", "");
            json_array_append_new(msgs, last);
        }
        json_t *parts = json_array();
        json_array_append_new(parts, json_pack("{s:s, s:O}", "type", "text", "text", json_object_get(last, "content")));
        for (json_int_t n = 0; n < images && n < 64; n++)
            json_array_append_new(parts, json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url",
                                                   "data:image/png;base64,iVBORw0KGgo="));
        json_object_set_new(last, "content", parts);
    }
    json_object_set_new(req, "messages", msgs);
    if (json_object_size(meta))
        json_object_set_new(req, "metadata", meta);
    else
        json_decref(meta);
    char *text = bad ? NULL : json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    if (!text)
        return NULL;
    ast *s = ast_new(&c->arena, E_STR, item->at);
    if (s) {
        s->u.str.s = arena_strndup(&c->arena, text, strlen(text));
        s->u.str.len = (uint32_t)strlen(text);
    }
    free(text);
    if (!s || !s->u.str.s)
        c->oom = 1;
    return s;
}
