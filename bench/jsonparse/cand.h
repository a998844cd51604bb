/* The candidates of the JSON parser benchmark (bench/jsonparse/main.c):
   each parses one chat-completions request and extracts what routing
   reads -- every message's role and string content, the metadata values,
   "user", "stream", "max_tokens" -- returning a checksum of it (content
   bytes + metadata entries + user bytes + stream + max_tokens), or
   (size_t)-1 when the document is rejected.  Each candidate lives in a
   file of its own: the libraries' headers clash (jansson, json-c and
   json-parser all define json_object). */
#ifndef RV_BENCH_CAND_H
#define RV_BENCH_CAND_H

#include <stddef.h>

size_t cand_jansson(const char *buf, size_t len);
size_t cand_yajl(const char *buf, size_t len);
size_t cand_jsonfast(const char *buf, size_t len);
size_t cand_cjson(const char *buf, size_t len);
size_t cand_jsonc(const char *buf, size_t len);
size_t cand_jsonparser(const char *buf, size_t len);
size_t cand_jsmn(const char *buf, size_t len);
size_t cand_routevm(const char *buf, size_t len);

#endif
