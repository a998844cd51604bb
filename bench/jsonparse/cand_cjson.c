/* cJSON (libcjson-dev): a tree. */
#include <cjson/cJSON.h>

#include "cand.h"

size_t cand_cjson(const char *buf, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(buf, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return (size_t)-1;
    }
    size_t sum = 0;
    cJSON *m, *v;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(o, "messages")) {
        (void)cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "content"));
        for (; c && *c; c++)
            sum++;
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "metadata"))
        sum += cJSON_IsString(v) && v->valuestring[0];
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "user"));
    for (; u && *u; u++)
        sum++;
    sum += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stream"));
    cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "max_tokens");
    sum += cJSON_IsNumber(mt) ? (size_t)mt->valuedouble : 0;
    (void)cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "model"));
    cJSON_Delete(o);
    return sum;
}
