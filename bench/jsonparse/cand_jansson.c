/* jansson (libjansson-dev): the tree, with duplicate keys rejected as the
   request model did before. */
#include <jansson.h>

#include "cand.h"

size_t cand_jansson(const char *buf, size_t len)
{
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return (size_t)-1;
    }
    size_t sum = 0, i;
    json_t *m, *v;
    const char *k;
    json_array_foreach(json_object_get(o, "messages"), i, m) {
        (void)json_string_value(json_object_get(m, "role"));
        sum += json_string_length(json_object_get(m, "content"));
    }
    json_object_foreach(json_object_get(o, "metadata"), k, v)
        sum += json_string_length(v) > 0;
    sum += json_string_length(json_object_get(o, "user"));
    sum += json_is_true(json_object_get(o, "stream"));
    sum += (size_t)json_integer_value(json_object_get(o, "max_tokens"));
    (void)json_string_value(json_object_get(o, "model"));
    json_decref(o);
    return sum;
}
