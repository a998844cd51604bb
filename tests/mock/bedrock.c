/* The Bedrock Converse dialect of the mock provider: POST
   /model/{modelId}/converse and /model/{modelId}/converse-stream, the model
   id percent-encoded in the path as AWS clients send it (':' as %3A).
   Every request's SigV4 signature is verified when credentials are
   configured: the mock rebuilds the request as received (wire path and
   query, the headers named in SignedHeaders, the body, the time in
   X-Amz-Date) and signs it again with the project's signer
   (vm/providers/sigv4.c), then compares; a missing, malformed, expired or
   wrong signature gets 403 with AWS's error type in x-amzn-ErrorType and
   {"message": ...} as the body, as AWS answers.  Converse answers JSON;
   ConverseStream answers in the event-stream framing
   (vm/providers/eventstream.c): messageStart, contentBlockStart (tool use),
   contentBlockDelta, contentBlockStop, messageStop and metadata with usage;
   faults become exception frames, corrupt CRCs or impossible lengths. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bedrock.h"
#include "eventstream.h"
#include "sigv4.h"

#define BED_MAX_SKEW 300          /* seconds: AWS refuses older or later signatures */

typedef struct {
    json_t *body;
    char model[256];
    int stream;
    unsigned long id;
} bed_req;

/* ---- errors ---------------------------------------------------------- */

static void aws_error(dl_result *res, int status, const char *type, const char *message, const scr_fault *f)
{
    char et[160];
    snprintf(et, sizeof et, "%s:http://internal.amazon.com/coral/com.amazon.bedrock/", type);
    dl_error_reply(&res->reply, status, json_pack("{s:s}", "message", message), "application/json", f);
    rp_header(&res->reply, "x-amzn-ErrorType", et);
}

static void refuse(dl_result *res, int status, const char *type, const char *message)
{
    snprintf(res->info.error, sizeof res->info.error, "%s: %s", type, message);
    aws_error(res, status, type, message, NULL);
}

static void scripted_error(dl_result *res, const scr_fault *f)
{
    int status = f->kind == F_CONTEXT ? 400 : f->status;
    const char *type, *msg;
    switch (status) {
    case 400: type = "ValidationException"; msg = "Malformed input request, please reformat your input and try again."; break;
    case 403: type = "AccessDeniedException"; msg = "You don't have access to the model with the specified model ID."; break;
    case 404: type = "ResourceNotFoundException"; msg = "Could not resolve the foundation model from the provided model identifier."; break;
    case 408: type = "ModelTimeoutException"; msg = "Model has timed out in processing the request."; break;
    case 424: type = "ModelErrorException"; msg = "The model returned an error."; break;
    case 429: type = "ThrottlingException"; msg = "Too many requests, please wait before trying again."; break;
    case 503: type = "ServiceUnavailableException"; msg = "Bedrock is unable to process your request."; break;
    default: type = status >= 500 ? "InternalServerException" : "ValidationException";
             msg = "The server encountered an internal error while processing the request."; break;
    }
    if (f->kind == F_CONTEXT)
        msg = "Input is too long for requested model.";
    aws_error(res, status, f->error_type ? f->error_type : type, f->message ? f->message : msg, f);
}

/* ---- SigV4 verification ---------------------------------------------- */

typedef struct {
    char akid[128], date[16], region[64], service[64];
    char signed_headers[1024];
    char signature[65];
} bed_auth;

/* Copies the value of 'key=' (up to ',' or the end) from 'h' into 'out'. */
static int auth_param(const char *h, const char *key, char *out, size_t n)
{
    const char *p = strstr(h, key);
    if (!p)
        return -1;
    p += strlen(key);
    size_t len = strcspn(p, ", ");
    if (len == 0 || len >= n)
        return -1;
    memcpy(out, p, len);
    out[len] = 0;
    return 0;
}

/* "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
   SignedHeaders=a;b, Signature=hex" */
static int parse_authorization(const char *h, bed_auth *a)
{
    char cred[512];
    if (strncmp(h, "AWS4-HMAC-SHA256 ", 17) || auth_param(h, "Credential=", cred, sizeof cred)
        || auth_param(h, "SignedHeaders=", a->signed_headers, sizeof a->signed_headers)
        || auth_param(h, "Signature=", a->signature, sizeof a->signature))
        return -1;
    char *parts[5], *save = NULL, *tok = strtok_r(cred, "/", &save);
    int n = 0;
    while (tok && n < 5) {
        parts[n++] = tok;
        tok = strtok_r(NULL, "/", &save);
    }
    if (n != 5 || tok || strcmp(parts[4], "aws4_request") || strlen(parts[0]) >= sizeof a->akid
        || strlen(parts[1]) != 8 || strlen(parts[2]) >= sizeof a->region || strlen(parts[3]) >= sizeof a->service
        || strlen(a->signature) != 64)
        return -1;
    strcpy(a->akid, parts[0]);
    strcpy(a->date, parts[1]);
    strcpy(a->region, parts[2]);
    strcpy(a->service, parts[3]);
    return 0;
}

/* X-Amz-Date "YYYYMMDDTHHMMSSZ" as seconds since the epoch; -1 if not. */
static long long amz_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)s[i]))
            return -1;
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

/* The headers SignedHeaders names (host apart), with their values as
   received; -1 when one is missing. */
static int signed_header_list(const http_request *req, const bed_auth *a, sv4_header *out, size_t *n,
                              int *has_host, const char **token)
{
    char names[1024];
    snprintf(names, sizeof names, "%s", a->signed_headers);
    char *save = NULL;
    *n = 0;
    for (char *name = strtok_r(names, ";", &save); name; name = strtok_r(NULL, ";", &save)) {
        if (!strcmp(name, "host")) {
            *has_host = 1;
            continue;
        }
        int found = 0;
        for (size_t i = 0; i < req->nheaders; i++) {
            if (strcmp(req->headers[i].name, name))
                continue;
            if (*n == SV4_MAX_HEADERS)
                return -1;
            out[(*n)++] = (sv4_header){ req->headers[i].name, req->headers[i].value };
            if (!strcmp(name, "x-amz-security-token"))
                *token = req->headers[i].value;
            found = 1;
        }
        if (!found)
            return -1;
    }
    return 0;
}

/* Recomputes the signature; 0 when it matches 'a->signature'. */
static int signature_matches(const dl_config *cfg, const http_request *req, const bed_auth *a, long long t,
                             char *why, size_t whylen)
{
    sv4_header hdrs[SV4_MAX_HEADERS];
    size_t nh = 0;
    int has_host = 0;
    const char *token = NULL;
    if (signed_header_list(req, a, hdrs, &nh, &has_host, &token) || !has_host || !http_header_get(req, "host")) {
        snprintf(why, whylen, "a header in SignedHeaders (host included) is missing from the request");
        return -1;
    }
    char path[4096];
    if (req->path_len >= sizeof path) {
        snprintf(why, whylen, "path too long");
        return -1;
    }
    memcpy(path, req->target, req->path_len);
    path[req->path_len] = 0;
    sv4_request sr = { .method = req->method, .host = http_header_get(req, "host"), .path = path,
                       .query = req->query, .headers = hdrs, .nheaders = nh, .payload = req->body,
                       .payload_len = req->body_len, .region = a->region, .service = a->service, .time = t };
    sv4_creds cr = { a->akid, cfg->aws_secret_key, token };
    sv4_signer *s = sv4_signer_new();
    sv4_result out;
    sv4_err err;
    memset(&out, 0, sizeof out);
    int rc = -1;
    if (!s)
        snprintf(why, whylen, "out of memory");
    else if (sv4_sign(s, &sr, &cr, &out, &err))
        snprintf(why, whylen, "%s", err.msg);
    else
        rc = dl_secret_eq(out.signature, a->signature) ? 0 : -1;
    if (rc && !why[0])
        snprintf(why, whylen, "signature mismatch");
    sv4_result_free(&out);
    sv4_signer_free(s);
    return rc;
}

static int check_signature(const dl_config *cfg, const http_request *req, dl_result *res)
{
    const char *h = http_header_get(req, "authorization");
    bed_auth a;
    char why[300] = "";
    res->info.auth = "unchecked";
    if (!cfg->aws_access_key)
        return 0;
    res->info.auth = "missing";
    if (!h) {
        refuse(res, 403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        return -1;
    }
    res->info.auth = "bad";
    if (parse_authorization(h, &a)) {
        refuse(res, 403, "IncompleteSignatureException",
               "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
        return -1;
    }
    if (!dl_secret_eq(a.akid, cfg->aws_access_key)) {
        refuse(res, 403, "UnrecognizedClientException", "The security token included in the request is invalid.");
        return -1;
    }
    if (strcmp(a.service, "bedrock") || (cfg->aws_region && strcmp(a.region, cfg->aws_region))) {
        refuse(res, 403, "InvalidSignatureException", "Credential should be scoped to a valid region and service "
               "'bedrock'.");
        return -1;
    }
    const char *date = http_header_get(req, "x-amz-date");
    long long t = amz_time(date);
    if (t < 0 || strncmp(date, a.date, 8)) {
        refuse(res, 403, "IncompleteSignatureException",
               "X-Amz-Date is missing or malformed, or does not match the date in the credential scope.");
        return -1;
    }
    long long skew = t - (long long)time(NULL);
    if (skew > BED_MAX_SKEW || skew < -BED_MAX_SKEW) {
        char msg[200];
        snprintf(msg, sizeof msg, "Signature %s: %s is more than 5 min from the server's time.",
                 skew < 0 ? "expired" : "not yet current", date);
        refuse(res, 403, "InvalidSignatureException", msg);
        return -1;
    }
    if (signature_matches(cfg, req, &a, t, why, sizeof why)) {
        refuse(res, 403, "InvalidSignatureException",
               "The request signature we calculated does not match the signature you provided. Check your AWS "
               "Secret Access Key and signing method. Consult the service documentation for details.");
        snprintf(res->info.error, sizeof res->info.error, "InvalidSignatureException: %.160s", why);
        return -1;
    }
    res->info.auth = "ok";
    return 0;
}

/* ---- answers --------------------------------------------------------- */

static const char *stop_reason(enum scr_finish f)
{
    static const char *const n[] = { "end_turn", "max_tokens", "tool_use", "content_filtered" };
    return n[f];
}

static json_t *usage_object(const scr_answer *a)
{
    const long *u = a->usage;
    long out = u[U_OUTPUT] + u[U_REASONING];
    json_t *o = json_pack("{s:I,s:I,s:I}", "inputTokens", (json_int_t)u[U_INPUT], "outputTokens", (json_int_t)out,
                          "totalTokens", (json_int_t)(u[U_INPUT] + u[U_CACHE_READ] + u[U_CACHE_WRITE] + out));
    if (o && u[U_CACHE_READ])
        json_object_set_new(o, "cacheReadInputTokens", json_integer(u[U_CACHE_READ]));
    if (o && u[U_CACHE_WRITE])
        json_object_set_new(o, "cacheWriteInputTokens", json_integer(u[U_CACHE_WRITE]));
    return o;
}

static void tool_id(char *buf, size_t n, const scr_answer *a, size_t i, unsigned long id)
{
    if (a->tools[i].id)
        snprintf(buf, n, "%s", a->tools[i].id);
    else
        snprintf(buf, n, "tooluse_mock%lu_%zu", id, i);
}

static void answer_json(dl_result *res, const bed_req *q)
{
    const scr_answer *a = &res->answer;
    json_t *content = json_array();
    char *text = scr_answer_text(a);
    if (text && (*text || !a->ntools))
        json_array_append_new(content, json_pack("{s:s}", "text", text));
    free(text);
    for (size_t i = 0; i < a->ntools; i++) {
        char tid[128];
        tool_id(tid, sizeof tid, a, i, q->id);
        json_array_append_new(content, json_pack("{s:{s:s,s:s,s:o}}", "toolUse", "toolUseId", tid, "name",
                                                 a->tools[i].name, "input", json_loads(a->tools[i].arguments, 0, NULL)));
    }
    json_t *o = json_pack("{s:{s:{s:s,s:o}},s:s}", "output", "message", "role", "assistant", "content", content,
                          "stopReason", stop_reason(a->finish));
    if (o && !a->usage_omit)
        json_object_set_new(o, "usage", usage_object(a));
    if (o)
        json_object_set_new(o, "metrics", json_pack("{s:i}", "latencyMs", (int)(a->headers_ms + 1)));
    rp_init(&res->reply, 200, "application/json");
    if (a->fault && a->fault->kind == F_MALFORMED_JSON)
        dl_json_cut(&res->reply, o);
    else
        dl_json_body(&res->reply, o);
}

/* One event-stream frame with the given headers and payload text. */
static void frame(dl_result *res, const es_header *h, size_t nh, const char *payload, size_t len, int content)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    es_err err;
    if (es_encode(h, nh, payload, len, &buf, &n, &err)) {
        res->reply.failed = 1;
        return;
    }
    rp_event_add(&res->reply, (const char *)buf, n, content);
    free(buf);
}

/* An event frame ':event-type' 'type' carrying 'j' (taken), padded with
   the "p" field Bedrock adds to every event. */
static void event(dl_result *res, const char *type, json_t *j, int content)
{
    es_header h[3] = { es_str(":event-type", type), es_str(":content-type", "application/json"),
                       es_str(":message-type", "event") };
    if (j)
        json_object_set_new(j, "p", json_string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        res->reply.failed = 1;
        return;
    }
    frame(res, h, 3, s, strlen(s), content);
    free(s);
}

static void exception_frame(dl_result *res, const scr_fault *f)
{
    const char *type = f->error_type ? f->error_type : "modelStreamErrorException";
    es_header h[3] = { es_str(":exception-type", type), es_str(":content-type", "application/json"),
                       es_str(":message-type", "exception") };
    json_t *j = json_pack("{s:s}", "message", f->message ? f->message : "The model stream encountered an error.");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s)
        frame(res, h, 3, s, strlen(s), 0);
    else
        res->reply.failed = 1;
    free(s);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A valid frame with one CRC flipped (prelude or message). */
static void corrupt_frame(dl_result *res, const scr_fault *f)
{
    size_t before = res->reply.nev;
    event(res, "contentBlockDelta", json_pack("{s:i,s:{s:s}}", "contentBlockIndex", 0, "delta", "text", "corrupt"), 0);
    if (res->reply.nev == before)
        return;
    rp_event *e = &res->reply.ev[res->reply.nev - 1];
    size_t at = f->crc_part == CRC_PRELUDE ? 8 : e->len - 4;
    e->data[at] ^= 0x5a;
}

/* A prelude announcing 'f->length' bytes (with a correct prelude CRC, so
   the length check is what fails), then 4 more bytes. */
static void bad_length_frame(dl_result *res, const scr_fault *f)
{
    uint8_t b[16];
    put_be32(b, (uint32_t)f->length);
    put_be32(b + 4, 0);
    put_be32(b + 8, (uint32_t)crc32(0, b, 8));
    put_be32(b + 12, 0);
    rp_event_add(&res->reply, (const char *)b, sizeof b, 0);
}

/* A dialect fault due here; 1 when the stream ends with it. */
static int stream_fault(dl_result *res)
{
    const scr_fault *f = res->answer.fault;
    switch (f->kind) {
    case F_INBAND_ERROR: exception_frame(res, f); return 1;
    case F_BAD_CRC: corrupt_frame(res, f); return 1;
    case F_BAD_LENGTH: bad_length_frame(res, f); return 1;
    case F_MALFORMED_JSON:
    case F_BAD_SSE: {
        es_header h[3] = { es_str(":event-type", "contentBlockDelta"), es_str(":content-type", "application/json"),
                           es_str(":message-type", "event") };
        frame(res, h, 3, "{\"contentBlockIndex\": 0, \"delta\": {not json", 40, 0);
        return 0;
    }
    default: return 0;
    }
}

static int stream_blocks(dl_result *res, const bed_req *q, int *seen, int *fired)
{
    const scr_answer *a = &res->answer;
    int index = 0;
    if (a->nchunks) {
        for (size_t i = 0; i < a->nchunks; i++, (*seen)++) {
            if (dl_fault_due(a->fault, *seen, 0, fired) && stream_fault(res))
                return 1;
            event(res, "contentBlockDelta", json_pack("{s:i,s:{s:s}}", "contentBlockIndex", 0, "delta", "text",
                                                      a->chunks[i]), 1);
        }
        event(res, "contentBlockStop", json_pack("{s:i}", "contentBlockIndex", 0), 0);
        index++;
    }
    for (size_t i = 0; i < a->ntools; i++, index++, (*seen)++) {
        char tid[128];
        tool_id(tid, sizeof tid, a, i, q->id);
        if (dl_fault_due(a->fault, *seen, 0, fired) && stream_fault(res))
            return 1;
        event(res, "contentBlockStart", json_pack("{s:i,s:{s:{s:s,s:s}}}", "contentBlockIndex", index, "start",
                                                  "toolUse", "toolUseId", tid, "name", a->tools[i].name), 0);
        event(res, "contentBlockDelta", json_pack("{s:i,s:{s:{s:s}}}", "contentBlockIndex", index, "delta",
                                                  "toolUse", "input", a->tools[i].arguments), 1);
        event(res, "contentBlockStop", json_pack("{s:i}", "contentBlockIndex", index), 0);
    }
    return 0;
}

static void answer_stream(dl_result *res, const bed_req *q)
{
    const scr_answer *a = &res->answer;
    int seen = 0, fired = 0;
    rp_init(&res->reply, 200, "application/vnd.amazon.eventstream");
    event(res, "messageStart", json_pack("{s:s}", "role", "assistant"), 0);
    if (stream_blocks(res, q, &seen, &fired))
        return;
    if (dl_fault_due(a->fault, seen, 1, &fired) && stream_fault(res))
        return;
    if (a->fault && a->fault->kind == F_NO_END)
        return;
    event(res, "messageStop", json_pack("{s:s}", "stopReason", stop_reason(a->finish)), 0);
    json_t *meta = json_pack("{s:{s:i}}", "metrics", "latencyMs", (int)(a->headers_ms + a->first_ms + 1));
    if (meta && !a->usage_omit)
        json_object_set_new(meta, "usage", usage_object(a));
    event(res, "metadata", meta, 0);
}

/* ---- the request ----------------------------------------------------- */

/* Text blocks of a content list, and the text inside toolResult blocks. */
static void content_text(json_t *content, dl_buf *b)
{
    size_t i, k;
    json_t *blk, *sub;
    json_array_foreach(content, i, blk) {
        json_t *t = json_object_get(blk, "text");
        if (json_is_string(t))
            dl_buf_str(b, json_string_value(t));
        json_array_foreach(json_object_get(json_object_get(blk, "toolResult"), "content"), k, sub)
            if (json_is_string(json_object_get(sub, "text")))
                dl_buf_str(b, json_string_value(json_object_get(sub, "text")));
        dl_buf_str(b, "\n");
    }
}

static int collect_texts(json_t *body, dl_buf *all, dl_buf *last_user)
{
    content_text(json_object_get(body, "system"), all);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        if (!json_is_string(role) || !json_is_array(content)
            || (strcmp(json_string_value(role), "user") && strcmp(json_string_value(role), "assistant")))
            return -1;
        content_text(content, all);
        if (!strcmp(json_string_value(role), "user")) {
            dl_buf_free(last_user);
            content_text(content, last_user);
        }
    }
    return all->failed || last_user->failed ? -1 : 0;
}

/* The model id between "/model/" and the action, percent-decoded. */
static int model_from_path(const http_request *req, bed_req *q)
{
    const char *p = req->target + 7, *end = req->target + req->path_len;
    const char *slash = end;
    while (slash > p && slash[-1] != '/')
        slash--;
    if (slash <= p + 1)
        return -1;
    const char *action = slash;
    size_t n = 0;
    for (const char *s = p; s < slash - 1; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            unsigned v;
            if (slash - 1 - s < 3 || sscanf(s + 1, "%2x", &v) != 1 || !isxdigit((unsigned char)s[1])
                || !isxdigit((unsigned char)s[2]))
                return -1;
            c = (int)v;
            s += 2;
        }
        if (c == 0 || c == '/' || n + 1 >= sizeof q->model)
            return -1;
        q->model[n++] = (char)c;
    }
    q->model[n] = 0;
    if ((size_t)(end - action) == 15 && !memcmp(action, "converse-stream", 15))
        q->stream = 1;
    else if (!((size_t)(end - action) == 8 && !memcmp(action, "converse", 8)))
        return -1;
    return 0;
}

static void handle_parsed(const dl_config *cfg, bed_req *q, dl_result *res)
{
    json_t *messages = json_object_get(q->body, "messages");
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        refuse(res, 400, "ValidationException", "1 validation error detected: Value at 'messages' failed to satisfy "
               "constraint: Member must not be null or empty");
        return;
    }
    if (!scr_has_model(cfg->script, q->model)) {
        refuse(res, 400, "ValidationException", "The provided model identifier is invalid.");
        return;
    }
    dl_buf all = { 0 }, last = { 0 };
    int bad = collect_texts(q->body, &all, &last);
    int rc = bad ? -1 : dl_answer(cfg, q->model, dl_buf_text(&last), dl_buf_text(&all), res);
    dl_buf_free(&all);
    dl_buf_free(&last);
    if (bad) {
        refuse(res, 400, "ValidationException", "A conversation must alternate between user and assistant roles, "
               "each with a content list.");
        return;
    }
    if (rc) {
        char msg[sizeof res->info.error];
        snprintf(msg, sizeof msg, "%s", res->info.error);
        refuse(res, 400, "ValidationException", msg);
        return;
    }
    const scr_fault *f = res->answer.fault;
    if (f && (f->kind == F_ERROR || f->kind == F_CONTEXT))
        scripted_error(res, f);
    else if (q->stream)
        answer_stream(res, q);
    else
        answer_json(res, q);
}

void bed_handle(const dl_config *cfg, const http_request *req, dl_result *res)
{
    bed_req q;
    json_error_t je;
    memset(&q, 0, sizeof q);
    res->info.dialect = "bedrock";
    q.id = req->id;
    int bad_path = model_from_path(req, &q);
    snprintf(res->info.model, sizeof res->info.model, "%s", q.model);
    res->info.stream = q.stream;
    if (!check_signature(cfg, req, res)) {
        if (bad_path) {
            refuse(res, 400, "ValidationException", "The model identifier in the path is not valid.");
        } else if (!(q.body = json_loadb(req->body, req->body_len, 0, &je)) || !json_is_object(q.body)) {
            refuse(res, 400, "ValidationException", "Malformed input request: the body is not a JSON object.");
        } else {
            handle_parsed(cfg, &q, res);
        }
    }
    json_decref(q.body);
    char rid[64];
    snprintf(rid, sizeof rid, "mock-%08lu-0000-0000-0000-000000000000", req->id);
    rp_header(&res->reply, "x-amzn-RequestId", rid);
}
