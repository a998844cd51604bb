/* routevm's request model (vm/request.h): the real parse, with every
   structure a decision and a provider read. */
#include "cand.h"
#include "request.h"

size_t cand_routevm(const char *buf, size_t len)
{
    rv_reqerr err;
    rv_request *r = req_parse(buf, len, NULL, &err);
    if (!r)
        return (size_t)-1;
    size_t sum = 0;
    for (uint32_t i = 0; i < r->nmsg; i++)
        sum += r->msgs[i].text.len;
    for (uint32_t i = 0; i < r->nmeta; i++)
        sum += r->meta[i].val.len > 0;
    sum += r->user.len + (size_t)r->stream + (size_t)r->max_tokens;
    req_free(r);
    return sum;
}
