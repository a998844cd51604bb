/* The libcurl candidates' shared options; see cand_curl.h. */
#include "cand_curl.h"

int upc_global(void)
{
    static int done, rc;
    if (!done) {
        rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
        done = 1;
    }
    return rc;
}

struct curl_slist *upc_headers(const up_conf *c)
{
    struct curl_slist *h = NULL;
    for (size_t i = 0; i <= c->nlines; i++) {
        struct curl_slist *n = curl_slist_append(h, i < c->nlines ? c->lines[i] : "Expect:");
        if (!n) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = n;
    }
    return h;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    up_resp_add(*(up_resp **)ud, p, size * n);
    return size * n;
}

void upc_status(CURL *e, up_resp *r)
{
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    r->status = (int)code;
}

int upc_options(CURL *e, const up_conf *c, struct curl_slist *h, CURLU *u, up_resp **slot, char *errbuf)
{
    int bad = u ? curl_easy_setopt(e, CURLOPT_CURLU, u) != CURLE_OK : curl_easy_setopt(e, CURLOPT_URL, c->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, slot) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 61000L) != CURLE_OK;  /* routevm: the call's limit + 1 s */
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body) != CURLE_OK;
    if (c->ca_file)
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
    return bad ? -1 : 0;
}
