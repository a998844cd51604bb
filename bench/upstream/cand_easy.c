/* Candidate "easy": one libcurl easy handle, its options set once and
   curl_easy_perform() per request; libcurl keeps the connection in the
   handle's cache.  Blocking: one request at a time per thread, which a
   gateway cannot use as is; it shows libcurl's cost without the multi
   interface and an event loop. */
#include <stdio.h>
#include <stdlib.h>

#include "cand_curl.h"

typedef struct {
    CURL *e;
    struct curl_slist *h;
    up_resp *cur;
    char errbuf[CURL_ERROR_SIZE];
} easy;

static void easy_close(void *st)
{
    easy *s = st;
    if (!s)
        return;
    curl_easy_cleanup(s->e);
    curl_slist_free_all(s->h);
    free(s);
}

static void *easy_open(const up_conf *c, char *err, size_t errlen)
{
    easy *s = calloc(1, sizeof *s);
    if (!s || upc_global() || !(s->e = curl_easy_init()) || !(s->h = upc_headers(c)) ||
        upc_options(s->e, c, s->h, NULL, &s->cur, s->errbuf)) {
        snprintf(err, errlen, "libcurl would not start");
        easy_close(s);
        return NULL;
    }
    return s;
}

static int easy_request(void *st, up_resp *r, char *err, size_t errlen)
{
    easy *s = st;
    s->cur = r;
    CURLcode rc = curl_easy_perform(s->e);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
        return -1;
    }
    upc_status(s->e, r);
    return 0;
}

const up_cand up_easy = { "curl-easy", easy_open, easy_request, easy_close };
