/* AWS Signature Version 4: the signing the Bedrock provider (and the mock
   provider that verifies it) needs, as a pure function of its inputs.

   Given a request exactly as it will be sent -- method, Host, path and
   query as they appear on the wire, the headers to sign, the body (or its
   SHA-256), the credentials, region, service and a timestamp -- sv4_sign()
   returns the headers to add (X-Amz-Date, X-Amz-Security-Token,
   x-amz-content-sha256, Authorization) and, for tests and debugging, the
   canonical request and string to sign; sv4_presign() returns the
   X-Amz-* query parameters of a presigned URL instead.  Nothing here does
   I/O, reads the clock or the environment (except sv4_creds_from_env()).

   The rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/
   create-signed-request.html), all covered by the AWS suite vendored in
   tests/vectors/sigv4/:
   - canonical URI: the wire path, dot segments and empty segments removed
     (unless SV4_NO_NORMALIZE), then URI-encoded once more (every byte but
     A-Z a-z 0-9 - . _ ~ and '/'), so a Bedrock model id sent as
     "anthropic.claude-v2%3A1" is signed as "anthropic.claude-v2%253A1",
     as AWS expects of every service but S3 (SV4_S3 keeps the wire path);
   - canonical query: each name and value percent-decoded, re-encoded
     strictly, sorted by name then value;
   - canonical headers: names lowercased, values trimmed with inner runs of
     spaces and tabs collapsed to one space, repeated names joined with ','
     in the order given, sorted by name; every header passed is signed;
   - the signing key (HMAC chain over date, region, service) is cached in
     the signer per secret, date, region and service.

   Inputs are validated before anything is signed: a header value with CR,
   LF, NUL or another control byte, a header name that is not an HTTP
   token, a path with '?', a Host with spaces are errors, never silently
   altered, so the headers signed are the headers sent (RELIABILITY.md #9).
   Error messages name the offending field or header name; they never
   contain a secret key, a session token or a header value.

   Ownership: every pointer in sv4_request and sv4_creds is borrowed for the
   duration of the call.  sv4_result owns one heap block ('mem') behind all
   of its strings; release it with sv4_result_free().  The signer owns its
   key cache (wiped when freed) and is not thread-safe: use one per thread. */
#ifndef RV_SIGV4_H
#define RV_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define SV4_MAX_HEADERS      64       /* headers passed in one request */
#define SV4_MAX_NAME         256      /* bytes in one header name */
#define SV4_MAX_QUERY_PARAMS 256      /* name=value pairs in the query */
#define SV4_MAX_CANONICAL    65536    /* bytes of canonical request */
#define SV4_MAX_EXPIRES      604800   /* presigned URLs: 7 days, AWS's limit */

typedef struct {
    const char *name;       /* NUL-terminated; compared case-insensitively */
    const char *value;      /* NUL-terminated, as sent (no CR/LF) */
} sv4_header;

typedef struct {
    const char *access_key_id;       /* AWS_ACCESS_KEY_ID */
    const char *secret_access_key;   /* AWS_SECRET_ACCESS_KEY; never copied into output */
    const char *session_token;       /* AWS_SESSION_TOKEN; NULL or "" for long-term keys */
} sv4_creds;

enum {
    SV4_NO_NORMALIZE     = 1u << 0,  /* keep '.', '..' and '//' in the path */
    SV4_NO_DOUBLE_ENCODE = 1u << 1,  /* the canonical URI is the wire path as is */
    SV4_S3               = SV4_NO_NORMALIZE | SV4_NO_DOUBLE_ENCODE,
    SV4_CONTENT_SHA256   = 1u << 2,  /* add and sign x-amz-content-sha256 (sv4_sign only) */
    SV4_TOKEN_UNSIGNED   = 1u << 3,  /* add the session token after signing, unsigned */
};

typedef struct {
    const char *method;          /* "POST" */
    const char *host;            /* the Host header as sent, with ":port" if not the default;
                                    signed as 'host' -- do not repeat it in 'headers' */
    const char *path;            /* the path as sent, percent-encoded by the caller
                                    (see sv4_uri_encode), starting with '/'; no '?' */
    const char *query;           /* the query as sent, without '?'; NULL or "" for none */
    const sv4_header *headers;   /* every other header to sign (and send) */
    size_t nheaders;             /* at most SV4_MAX_HEADERS */
    const void *payload;         /* the body; hashed unless 'payload_hash' is set */
    size_t payload_len;
    const char *payload_hash;    /* NULL, or the hex SHA-256 of the body (or a literal
                                    such as "UNSIGNED-PAYLOAD") to use as is */
    const char *region;          /* "us-east-1" */
    const char *service;         /* "bedrock" */
    int64_t time;                /* seconds since the Unix epoch (UTC), 1970..9999 */
    unsigned flags;              /* SV4_* above */
} sv4_request;

/* Headers sv4_sign() asks the caller to add, in this order (the ones the
   caller already passed with the right value are not repeated):
   X-Amz-Security-Token (with a session token), X-Amz-Date,
   x-amz-content-sha256 (with SV4_CONTENT_SHA256), Authorization. */
#define SV4_MAX_ADDED 4

typedef struct {
    sv4_header headers[SV4_MAX_ADDED];  /* sv4_sign: headers to add, in order */
    size_t nheaders;
    const char *authorization;      /* sv4_sign: the Authorization value (also in 'headers') */
    const char *query;              /* sv4_presign: the whole query to send (the request's,
                                       then the X-Amz-* parameters), without '?' */
    const char *signature;          /* 64 lowercase hex digits */
    const char *signed_headers;     /* "host;x-amz-date" */
    const char *canonical_request;  /* for tests and debugging: holds every signed header
                                       value, the session token included -- never log it */
    const char *string_to_sign;
    char *mem;                      /* owned: the block behind every pointer above */
} sv4_result;

typedef struct { char msg[256]; } sv4_err;

typedef struct sv4_signer sv4_signer;

/* A signer with an empty key cache; NULL when out of memory (or OpenSSL
   lacks SHA-256/HMAC).  sv4_signer_free() accepts NULL. */
sv4_signer *sv4_signer_new(void);
void sv4_signer_free(sv4_signer *s);

/* Signing keys derived so far (cache misses); for tests. */
unsigned long sv4_signer_derivations(const sv4_signer *s);

/* Sign 'req' for the Authorization header.  Returns 0 and fills 'out'
   (release with sv4_result_free), or -1 with a message in 'err' and 'out'
   empty.  If 'req->headers' already holds X-Amz-Date, X-Amz-Security-Token
   or x-amz-content-sha256, its value must be the one the signer would add
   (it is then signed and not added again); Authorization must not be
   there. */
int sv4_sign(sv4_signer *s, const sv4_request *req, const sv4_creds *cr,
             sv4_result *out, sv4_err *err);

/* Presign 'req' for a URL valid 'expires' seconds (1..SV4_MAX_EXPIRES):
   'out->query' is the query to send.  Only 'host' and the headers passed
   are signed; the payload hash is that of 'payload' (or 'payload_hash').
   The query must not already hold X-Amz-Algorithm, -Credential, -Date,
   -Expires, -SignedHeaders, -Security-Token or -Signature. */
int sv4_presign(sv4_signer *s, const sv4_request *req, const sv4_creds *cr,
                uint32_t expires, sv4_result *out, sv4_err *err);

/* Releases 'r->mem' and empties 'r'; accepts an empty or zeroed result. */
void sv4_result_free(sv4_result *r);

/* Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional)
   AWS_SESSION_TOKEN.  Returns 0 with 'cr' pointing into the environment
   (borrowed: valid until the environment changes), or -1 with a message
   naming the missing or malformed variable -- never its value. */
int sv4_creds_from_env(sv4_creds *cr, sv4_err *err);

/* URI-encode 'n' bytes of 's' as one path segment (every byte but
   A-Z a-z 0-9 - . _ ~, and '/' when 'keep_slash'), uppercase hex: the form a
   Bedrock model id takes in the path ("v1:0" -> "v1%3A0").  Returns a
   NUL-terminated heap string the caller frees, or NULL when out of
   memory. */
char *sv4_uri_encode(const char *s, size_t n, int keep_slash);

#endif
