/* json-c (libjson-c-dev): a tree, strict mode. */
#include <json-c/json.h>

#include "cand.h"

size_t cand_jsonc(const char *buf, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    json_tokener_free(tok);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return (size_t)-1;
    }
    size_t sum = 0;
    json_object *ms, *md, *x;
    if (json_object_object_get_ex(o, "messages", &ms))
        for (size_t i = 0, n = json_object_array_length(ms); i < n; i++) {
            json_object *m = json_object_array_get_idx(ms, i), *c;
            if (json_object_object_get_ex(m, "role", &x))
                (void)json_object_get_string(x);
            if (json_object_object_get_ex(m, "content", &c))
                sum += (size_t)json_object_get_string_len(c);
        }
    if (json_object_object_get_ex(o, "metadata", &md)) {
        json_object_object_foreach(md, k, v) {
            (void)k;
            sum += json_object_get_string_len(v) > 0;
        }
    }
    if (json_object_object_get_ex(o, "user", &x))
        sum += (size_t)json_object_get_string_len(x);
    if (json_object_object_get_ex(o, "stream", &x))
        sum += json_object_get_boolean(x);
    if (json_object_object_get_ex(o, "max_tokens", &x))
        sum += (size_t)json_object_get_int64(x);
    if (json_object_object_get_ex(o, "model", &x))
        (void)json_object_get_string(x);
    json_object_put(o);
    return sum;
}
