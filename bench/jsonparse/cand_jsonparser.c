/* json-parser (libjsonparser-dev): a tree. */
#include <string.h>
#include <json-parser/json.h>

#include "cand.h"

static json_value *get(json_value *o, const char *k)
{
    if (!o || o->type != json_object)
        return NULL;
    for (unsigned i = 0; i < o->u.object.length; i++)
        if (!strcmp(o->u.object.values[i].name, k))
            return o->u.object.values[i].value;
    return NULL;
}

size_t cand_jsonparser(const char *buf, size_t len)
{
    json_value *o = json_parse(buf, len);
    if (!o || o->type != json_object) {
        json_value_free(o);
        return (size_t)-1;
    }
    size_t sum = 0;
    json_value *ms = get(o, "messages"), *md = get(o, "metadata"), *x;
    for (unsigned i = 0; ms && ms->type == json_array && i < ms->u.array.length; i++) {
        json_value *m = ms->u.array.values[i];
        (void)get(m, "role");
        if ((x = get(m, "content")) && x->type == json_string)
            sum += x->u.string.length;
    }
    for (unsigned i = 0; md && md->type == json_object && i < md->u.object.length; i++) {
        x = md->u.object.values[i].value;
        sum += x->type == json_string && x->u.string.length > 0;
    }
    if ((x = get(o, "user")) && x->type == json_string)
        sum += x->u.string.length;
    if ((x = get(o, "stream")) && x->type == json_boolean)
        sum += x->u.boolean;
    if ((x = get(o, "max_tokens")) && x->type == json_integer)
        sum += (size_t)x->u.integer;
    (void)get(o, "model");
    json_value_free(o);
    return sum;
}
