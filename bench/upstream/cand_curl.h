/* What the libcurl candidates share (cand_easy.c, cand_multi.c): the
   header list and the options routevm's HTTP engine sets on every
   transfer (vm/providers/httpc.c, hc_start), so that they send the bytes
   routevm sends and libcurl does the work it does for routevm -- but for
   the header callback, which routevm uses to pass header lines on: the
   status is read with CURLINFO_RESPONSE_CODE instead. */
#ifndef UP_CAND_CURL_H
#define UP_CAND_CURL_H

#include <curl/curl.h>

#include "cand.h"

/* The request's header lines and "Expect:" (no 100-continue round trip,
   as routevm); libcurl adds Host and Content-Length.  NULL when out of
   memory; the caller frees it with curl_slist_free_all(). */
struct curl_slist *upc_headers(const up_conf *c);

/* Set routevm's options on 'e': the URL from 'u' when not NULL (parsed
   once: CURLOPT_CURLU), else from c->url (parsed on every transfer);
   the answer goes to '*slot', the response the caller is filling.  'h',
   'u', 'slot' and 'errbuf' (CURL_ERROR_SIZE bytes) are borrowed for as
   long as 'e' uses them.  0, or -1 when libcurl refuses an option. */
int upc_options(CURL *e, const up_conf *c, struct curl_slist *h, CURLU *u, up_resp **slot, char *errbuf);

/* The answer's status into 'r', after the transfer. */
void upc_status(CURL *e, up_resp *r);

/* libcurl's process-wide start, once.  0, or -1. */
int upc_global(void);

#endif
