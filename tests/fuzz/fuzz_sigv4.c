/* libFuzzer target for SigV4 signing (vm/providers/sigv4.c): the path,
   query, headers and body it canonicalizes are bytes the provider runtime
   takes from the policy and the request, and the mock provider verifies
   signatures of whatever arrives.

   Input: a mode byte, then lines (LF): method, host, path, query, region,
   service, then "name:value" header lines up to an empty line, then the
   body.  Mode bits 0-3 are the SV4_* flags, bit 4 presigns instead of
   signing, bit 5 adds a session token.  The harness always adds a header
   of its own, 'x-amz-meta-canary', whose value must never show in an
   error message; the secret key must never show anywhere.
   Properties, any failure an abort():
   - a signature is 64 lowercase hex digits and is in the Authorization
     value (or the presigned query) with the access key id;
   - signing is a function of its inputs: the same request signed again by
     the same signer (its key cache warm) and by a fresh one gives the same
     signature;
   - the secret key appears in no output and no error, and neither the
     session token nor the canary header value in an error (unless the
     input itself holds them, say in a header name, which errors quote).
   Seeds: tests/fuzz/corpus/sigv4/ (Bedrock-like requests).
   tests/suites/corpus.sh replays them through this harness. */
#define _GNU_SOURCE     /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AKID   "AKIDEXAMPLE"
#define TOKEN  "TOKEN-CANARY-5d3a"
#define CANARY "VALUE-CANARY-77a1"

static sv4_signer *warm;

static int has(const char *s, const char *needle) { return s && strstr(s, needle) != NULL; }

/* Secrets an output or message may not hold -- unless the input put them
   there itself (a query, a header name, which errors quote). */
static const uint8_t *input;
static size_t input_len;
static int leaks(const char *msg, const char *secret)
{
    return has(msg, secret) && !memmem(input, input_len, secret, strlen(secret));
}

static void check_result(const sv4_result *r, int presign)
{
    const char *sig = r->signature;
    if (!sig || strlen(sig) != 64)
        abort();
    for (int i = 0; i < 64; i++)
        if (!((sig[i] >= '0' && sig[i] <= '9') || (sig[i] >= 'a' && sig[i] <= 'f')))
            abort();
    const char *carrier = presign ? r->query : r->authorization;
    if (!has(carrier, sig) || !has(carrier, AKID))
        abort();
    const char *outs[] = { r->authorization, r->query, r->canonical_request, r->string_to_sign, r->signed_headers };
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        if (leaks(outs[i], SECRET))
            abort();
    for (size_t i = 0; i < r->nheaders; i++)
        if (leaks(r->headers[i].value, SECRET))
            abort();
}

static int run(sv4_signer *s, const sv4_request *rq, const sv4_creds *cr, int presign, uint32_t expires,
               sv4_result *out, sv4_err *err)
{
    memset(out, 0, sizeof *out);
    err->msg[0] = 0;
    return presign ? sv4_presign(s, rq, cr, expires, out, err) : sv4_sign(s, rq, cr, out, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    if (!warm && !(warm = sv4_signer_new()))
        abort();
    uint8_t mode = data[0];
    input = data;
    input_len = size;
    /* a NUL-terminated copy, cut into lines */
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = 0;
    char *field[6] = { "", "", "/", "", "us-east-1", "bedrock" };
    char *p = buf, *end = buf + size - 1;
    for (int i = 0; i < 6 && p < end; i++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        field[i] = p;
        if (!nl) {
            p = end;
            break;
        }
        *nl = 0;
        p = nl + 1;
    }
    sv4_header h[SV4_MAX_HEADERS];
    size_t nh = 0;
    h[nh++] = (sv4_header){ "x-amz-meta-canary", CANARY };
    while (p < end && nh < SV4_MAX_HEADERS + 1) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line = p;
        if (nl)
            *nl = 0;
        p = nl ? nl + 1 : end;
        if (!*line)
            break;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        if (nh < SV4_MAX_HEADERS)
            h[nh++] = (sv4_header){ line, colon + 1 };
        else
            nh++;       /* one too many: the signer must refuse it */
    }
    sv4_request rq = {
        .method = field[0], .host = field[1], .path = field[2], .query = field[3], .region = field[4],
        .service = field[5], .headers = h, .nheaders = nh, .payload = p, .payload_len = (size_t)(end - p),
        .time = 1440938160 + (int64_t)(mode >> 6) * 86400, .flags = mode & 15u,
    };
    sv4_creds cr = { AKID, SECRET, (mode & 32) ? TOKEN : NULL };
    int presign = (mode & 16) != 0;
    uint32_t expires = 1 + (uint32_t)(size % SV4_MAX_EXPIRES);
    sv4_result r1, r2, r3;
    sv4_err e1, e2, e3;
    int rc1 = run(warm, &rq, &cr, presign, expires, &r1, &e1);
    int rc2 = run(warm, &rq, &cr, presign, expires, &r2, &e2);
    sv4_signer *fresh = sv4_signer_new();
    if (!fresh)
        abort();
    int rc3 = run(fresh, &rq, &cr, presign, expires, &r3, &e3);
    sv4_signer_free(fresh);
    if (rc1 != rc2 || rc1 != rc3)
        abort();
    if (rc1 == 0) {
        check_result(&r1, presign);
        if (strcmp(r1.signature, r2.signature) || strcmp(r1.signature, r3.signature))
            abort();
    } else {
        const char *msgs[] = { e1.msg, e2.msg, e3.msg };
        for (int i = 0; i < 3; i++)
            if (!msgs[i][0] || leaks(msgs[i], SECRET) || leaks(msgs[i], TOKEN) || leaks(msgs[i], CANARY))
                abort();
    }
    sv4_result_free(&r1);
    sv4_result_free(&r2);
    sv4_result_free(&r3);
    free(buf);
    return 0;
}
