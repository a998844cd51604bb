/* AWS Signature Version 4 (see sigv4.h for the rules and the ownership of
   every buffer).  The signer builds the canonical request in scratch
   buffers it keeps between calls, hashes it, signs the string to sign
   with a signing key from its small cache, and copies what the caller
   needs into one block owned by the result.  Hashing and HMAC go through
   OpenSSL's EVP_MD / EVP_MAC objects, fetched once per signer.

   Sections: scratch buffers; character classes and encoding; input
   validation; canonical parts (URI, query, headers); keys and hashes;
   the two entry points.  Its users: the Bedrock provider (issue 8) and
   the mock provider, which verifies requests by signing them again. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mem.h"
#include "sigv4.h"

#define CACHE_SLOTS 4
#define MAX_SCOPE_PART 63            /* bytes of a region or service name */
#define MAX_SECRET 256
#define MAX_TOKEN 16384
#define MAX_KEY_ID 128

typedef struct {
    char *p;
    size_t len, cap, max;
    int err;                         /* 1: would pass 'max', 2: out of memory */
} sb;

typedef struct {
    int used;
    char date[9];
    char region[MAX_SCOPE_PART + 1], service[MAX_SCOPE_PART + 1];
    unsigned char fp[32];            /* SHA-256 of the secret, not the secret */
    unsigned char key[32];
} cache_slot;

typedef struct {                     /* one header to sign */
    const char *name, *val;
    size_t nlen, vlen, idx;
} hent;

typedef struct {                     /* one query parameter, encoded */
    const char *k, *v;
    size_t klen, vlen, koff, voff;
} qent;

struct sv4_signer {
    EVP_MD *md;
    EVP_MD_CTX *mdctx;
    EVP_MAC *mac;
    EVP_MAC_CTX *macctx;
    cache_slot cache[CACHE_SLOTS];
    unsigned next_slot;
    unsigned long derivations;
    sb creq, tmp, sh;                /* canonical request, scratch, signed headers */
    hent hdr[SV4_MAX_HEADERS + 4];
    qent q[SV4_MAX_QUERY_PARAMS + 8];
};

/* ------------------------------------------------------------------ */
/* Scratch buffers: appends past 'max' or out of memory set a sticky   */
/* error, checked once when the text is complete.                      */
/* ------------------------------------------------------------------ */

static void sb_put(sb *b, const void *s, size_t n)
{
    if (b->err)
        return;
    if (n > b->max - b->len) {
        b->err = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = mem_realloc(b->p, cap);
        if (!p) {
            b->err = 2;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sb *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_putc(sb *b, char c) { sb_put(b, &c, 1); }

static void sb_reset(sb *b, size_t max)
{
    b->len = 0;
    b->err = 0;
    b->max = max;
    if (b->p)
        b->p[0] = 0;
}

static void sb_wipe(sb *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int fail(sv4_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sv4_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(err->msg, sizeof err->msg, "sigv4: ");
        vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int sb_check(const sb *b, sv4_err *err)
{
    if (b->err == 1)
        return fail(err, "the request is too large to sign (canonical request limit %d bytes)",
                    SV4_MAX_CANONICAL);
    if (b->err)
        return fail(err, "out of memory");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Character classes and encoding                                      */
/* ------------------------------------------------------------------ */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 9110 tchar: the bytes a header name or method may hold. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }
static int is_ws(unsigned char c) { return c == ' ' || c == '\t'; }
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends 's' URI-encoded: unreserved bytes (and '/' when 'keep_slash')
   as they are, every other byte as %XX. */
static void put_encoded(sb *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;                  /* bytes waiting to be copied as is */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            run++;
            continue;
        }
        sb_put(b, s + i - run, run);
        run = 0;
        char e[3] = { '%', hex[c >> 4], hex[c & 15] };
        sb_put(b, e, 3);
    }
    sb_put(b, s + n - run, run);
}

/* Appends 's' percent-decoded ('%' not followed by two hex digits stays a
   literal '%'; '+' stays '+', as AWS reads it), then re-encoded. */
static void put_reencoded(sb *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 && hexval((unsigned char)s[i + 2]) >= 0) {
            c = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        put_encoded(b, (const char *)&c, 1, 0);
    }
}

char *sv4_uri_encode(const char *s, size_t n, int keep_slash)
{
    sb b = { .max = (size_t)-1 / 4 };
    sb_put(&b, "", 0);
    put_encoded(&b, s, n, keep_slash);
    if (b.err) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* Appends the lowercase hex of a digest (at most 32 bytes). */
static void put_hex(sb *b, const unsigned char *d, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char e[64];
    for (size_t i = 0; i < n && i < 32; i++) {
        e[2 * i] = hex[d[i] >> 4];
        e[2 * i + 1] = hex[d[i] & 15];
    }
    sb_put(b, e, 2 * (n < 32 ? n : 32));
}

/* ------------------------------------------------------------------ */
/* Input validation: what is signed must be what is sent, and nothing  */
/* secret may reach a message.                                         */
/* ------------------------------------------------------------------ */

/* Whether 's' is 1..max bytes of which 'ok' accepts each. */
static int all_of(const char *s, size_t max, int (*ok)(unsigned char))
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !ok((unsigned char)s[n]))
            return 0;
    return n > 0;
}

static int is_scope_char(unsigned char c) { return is_unreserved(c) && c != '~'; }
static int is_visible(unsigned char c) { return c > 0x20 && c < 0x7f; }
static int is_host_char(unsigned char c) { return is_visible(c) && c != '/' && c != '\\'; }
static int is_hash_char(unsigned char c) { return is_unreserved(c); }
static int is_key_id_char(unsigned char c) { return is_scope_char(c); }

static int check_creds(const sv4_creds *cr, sv4_err *err)
{
    if (!cr || !cr->access_key_id || !*cr->access_key_id)
        return fail(err, "the access key id is missing");
    if (!all_of(cr->access_key_id, MAX_KEY_ID, is_key_id_char))
        return fail(err, "the access key id is malformed (want up to %d of A-Z a-z 0-9 . _ -)",
                    MAX_KEY_ID);
    if (!cr->secret_access_key || !*cr->secret_access_key)
        return fail(err, "the secret access key is missing");
    if (strlen(cr->secret_access_key) > MAX_SECRET)
        return fail(err, "the secret access key is longer than %d bytes", MAX_SECRET);
    if (cr->session_token && *cr->session_token &&
        !all_of(cr->session_token, MAX_TOKEN, is_visible))
        return fail(err, "the session token is malformed (want up to %d visible ASCII characters)",
                    MAX_TOKEN);
    return 0;
}

/* The header's name for a message: only when it is a short token, so no
   stray bytes (or a value pasted as a name) are echoed. */
static const char *shown_name(const char *name)
{
    return name && all_of(name, 64, is_tchar) ? name : "?";
}

static int check_header(const sv4_header *h, size_t i, sv4_err *err)
{
    if (!h->name || !h->value)
        return fail(err, "header %zu has no name or no value", i);
    if (!all_of(h->name, SV4_MAX_NAME, is_tchar))
        return fail(err, "header %zu: the name is empty, longer than %d bytes or not an HTTP token",
                    i, SV4_MAX_NAME);
    for (const char *p = h->value; *p; p++)
        if (is_ctl((unsigned char)*p) && *p != '\t')
            return fail(err, "header %zu ('%s'): the value contains a control character "
                        "(CR, LF or another byte below 0x20)", i, shown_name(h->name));
    return 0;
}

static int check_request(const sv4_request *r, sv4_err *err)
{
    if (!r->method || !all_of(r->method, 32, is_tchar))
        return fail(err, "the method is missing or not an HTTP token");
    if (!r->host || !all_of(r->host, 300, is_host_char))
        return fail(err, "the host is missing or malformed (want visible ASCII without '/')");
    if (!r->path || r->path[0] != '/')
        return fail(err, "the path must start with '/'");
    for (const char *p = r->path; *p; p++) {
        if (is_ctl((unsigned char)*p))
            return fail(err, "the path contains a control character");
        if (*p == '?' || *p == '#')
            return fail(err, "the path contains '%c' (pass the query separately)", *p);
    }
    for (const char *p = r->query ? r->query : ""; *p; p++)
        if (is_ctl((unsigned char)*p) || *p == '#')
            return fail(err, "the query contains a control character or '#'");
    if (!r->region || !all_of(r->region, MAX_SCOPE_PART, is_scope_char))
        return fail(err, "the region is missing or malformed (want up to %d of a-z 0-9 . _ -)",
                    MAX_SCOPE_PART);
    if (!r->service || !all_of(r->service, MAX_SCOPE_PART, is_scope_char))
        return fail(err, "the service is missing or malformed (want up to %d of a-z 0-9 . _ -)",
                    MAX_SCOPE_PART);
    if (r->payload_hash && !all_of(r->payload_hash, 128, is_hash_char))
        return fail(err, "the payload hash is malformed (want hex digits or a literal "
                    "such as UNSIGNED-PAYLOAD)");
    if (!r->payload_hash && r->payload_len && !r->payload)
        return fail(err, "the payload is missing");
    if (r->time < 0 || r->time > 253402300799)
        return fail(err, "the time is outside the years 1970 to 9999");
    if (r->nheaders > SV4_MAX_HEADERS)
        return fail(err, "%zu headers to sign (limit %d)", r->nheaders, SV4_MAX_HEADERS);
    if (r->nheaders && !r->headers)
        return fail(err, "the header list is missing");
    for (size_t i = 0; i < r->nheaders; i++)
        if (check_header(&r->headers[i], i, err))
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Canonical URI                                                       */
/* ------------------------------------------------------------------ */

/* Appends 'path' with empty and '.' segments dropped and each '..'
   removing the segment before it (RFC 3986 5.2.4 plus the collapsing of
   '//' AWS does for every service but S3); a trailing '/', '/.' or '/..'
   leaves a trailing '/'. */
static void put_normalized(sb *b, const char *path)
{
    size_t start = b->len, len = strlen(path);
    const char *p = path, *seg;
    while (*p) {
        while (*p == '/')
            p++;
        seg = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (b->err)
                return;
            while (b->len > start && b->p[b->len - 1] != '/')
                b->len--;
            if (b->len > start)
                b->len--;            /* the '/' before the removed segment */
            if (b->p)               /* (nothing written yet: a leading '..') */
                b->p[b->len] = 0;
            continue;
        }
        sb_putc(b, '/');
        sb_put(b, seg, n);
    }
    int trailing = (len >= 1 && path[len - 1] == '/') ||
                   (len >= 2 && !strcmp(path + len - 2, "/.")) ||
                   (len >= 3 && !strcmp(path + len - 3, "/.."));
    if (b->len == start || trailing)
        sb_putc(b, '/');
}

static void put_canonical_uri(sv4_signer *s, sb *out, const char *path, unsigned flags)
{
    if (flags & SV4_NO_DOUBLE_ENCODE) {
        if (flags & SV4_NO_NORMALIZE) {
            sb_puts(out, path);
        } else {
            put_normalized(out, path);
        }
        return;
    }
    const char *p = path;
    if (!(flags & SV4_NO_NORMALIZE)) {
        sb_reset(&s->tmp, SV4_MAX_CANONICAL);
        put_normalized(&s->tmp, path);
        if (s->tmp.err) {
            out->err = s->tmp.err;
            return;
        }
        p = s->tmp.p;
    }
    put_encoded(out, p, strlen(p), 1);
}

/* ------------------------------------------------------------------ */
/* Canonical query                                                     */
/* ------------------------------------------------------------------ */

static int cmp_qent(const void *a, const void *b)
{
    const qent *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->k, y->k, n);
    if (c || x->klen != y->klen)
        return c ? c : (x->klen < y->klen ? -1 : 1);
    n = x->vlen < y->vlen ? x->vlen : y->vlen;
    c = memcmp(x->v, y->v, n);
    if (c || x->vlen != y->vlen)
        return c ? c : (x->vlen < y->vlen ? -1 : 1);
    return 0;
}

static const char *const presign_keys[] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

/* Splits the caller's query into s->q (keys and values re-encoded into
   s->tmp); the count in '*nq'.  With 'presign', a parameter the signer
   adds is an error. */
static int split_query(sv4_signer *s, const char *query, int presign, size_t *nq, sv4_err *err)
{
    size_t n = 0;
    for (const char *p = query ? query : ""; *p;) {
        const char *part = p;
        while (*p && *p != '&')
            p++;
        size_t len = (size_t)(p - part);
        if (*p == '&')
            p++;
        if (len == 0)
            continue;                /* "a=1&&b=2": no parameter between */
        if (n >= SV4_MAX_QUERY_PARAMS)
            return fail(err, "more than %d query parameters", SV4_MAX_QUERY_PARAMS);
        const char *eq = memchr(part, '=', len);
        size_t klen = eq ? (size_t)(eq - part) : len;
        qent *e = &s->q[n++];
        e->koff = s->tmp.len;
        put_reencoded(&s->tmp, part, klen);
        e->klen = s->tmp.len - e->koff;
        e->voff = s->tmp.len;
        if (eq)
            put_reencoded(&s->tmp, eq + 1, len - klen - 1);
        e->vlen = s->tmp.len - e->voff;
        if (presign && !s->tmp.err)
            for (size_t i = 0; i < sizeof presign_keys / sizeof *presign_keys; i++)
                if (e->klen == strlen(presign_keys[i]) &&
                    !strncasecmp(s->tmp.p + e->koff, presign_keys[i], e->klen))
                    return fail(err, "the query already has %s", presign_keys[i]);
    }
    *nq = n;
    return 0;
}

/* Adds a parameter the signer owns (name and value encoded, not decoded). */
static void add_param(sv4_signer *s, size_t *nq, const char *k, const char *v)
{
    qent *e = &s->q[(*nq)++];
    e->koff = s->tmp.len;
    put_encoded(&s->tmp, k, strlen(k), 0);
    e->klen = s->tmp.len - e->koff;
    e->voff = s->tmp.len;
    put_encoded(&s->tmp, v, strlen(v), 0);
    e->vlen = s->tmp.len - e->voff;
}

static void put_canonical_query(sv4_signer *s, sb *out, size_t nq)
{
    const char *base = s->tmp.p ? s->tmp.p : "";    /* every name and value empty: no buffer yet */
    for (size_t i = 0; i < nq; i++) {
        s->q[i].k = base + s->q[i].koff;
        s->q[i].v = base + s->q[i].voff;
    }
    qsort(s->q, nq, sizeof *s->q, cmp_qent);
    for (size_t i = 0; i < nq; i++) {
        if (i)
            sb_putc(out, '&');
        sb_put(out, s->q[i].k, s->q[i].klen);
        sb_putc(out, '=');
        sb_put(out, s->q[i].v, s->q[i].vlen);
    }
}

/* ------------------------------------------------------------------ */
/* Canonical headers                                                   */
/* ------------------------------------------------------------------ */

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = lower((unsigned char)a[i]), y = lower((unsigned char)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return an == bn ? 0 : (an < bn ? -1 : 1);
}

/* By lowercase name; equal names keep the order given, so their values
   join in that order. */
static int cmp_hent(const void *a, const void *b)
{
    const hent *x = a, *y = b;
    int c = name_cmp(x->name, x->nlen, y->name, y->nlen);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void add_hent(sv4_signer *s, size_t *n, const char *name, const char *val)
{
    hent *h = &s->hdr[*n];
    h->name = name;
    h->nlen = strlen(name);
    h->val = val;
    h->vlen = strlen(val);
    h->idx = (*n)++;
}

/* Appends a value trimmed, inner runs of spaces and tabs as one space. */
static void put_trimmed(sb *b, const char *v, size_t n)
{
    size_t i = 0;
    while (n && is_ws((unsigned char)v[n - 1]))
        n--;
    while (i < n && is_ws((unsigned char)v[i]))
        i++;
    while (i < n) {
        size_t j = i;
        while (j < n && !is_ws((unsigned char)v[j]))
            j++;
        sb_put(b, v + i, j - i);
        if (j < n)
            sb_putc(b, ' ');
        while (j < n && is_ws((unsigned char)v[j]))
            j++;
        i = j;
    }
}

static void put_lower(sb *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_putc(b, (char)lower((unsigned char)s[i]));
}

/* Sorts s->hdr[0..n) and writes the canonical header lines to 'out' and
   the signed-header list to s->sh. */
static void put_canonical_headers(sv4_signer *s, sb *out, size_t n)
{
    qsort(s->hdr, n, sizeof *s->hdr, cmp_hent);
    sb_reset(&s->sh, SV4_MAX_CANONICAL);
    for (size_t i = 0; i < n;) {
        const hent *h = &s->hdr[i];
        put_lower(out, h->name, h->nlen);
        sb_putc(out, ':');
        if (i)
            sb_putc(&s->sh, ';');
        put_lower(&s->sh, h->name, h->nlen);
        size_t j = i;
        for (; j < n && !name_cmp(h->name, h->nlen, s->hdr[j].name, s->hdr[j].nlen); j++) {
            if (j > i)
                sb_putc(out, ',');
            put_trimmed(out, s->hdr[j].val, s->hdr[j].vlen);
        }
        sb_putc(out, '\n');
        i = j;
    }
}

/* The caller's header called 'name' (case-insensitive), or NULL. */
static const sv4_header *find_header(const sv4_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return &r->headers[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Hashes and keys                                                     */
/* ------------------------------------------------------------------ */

static int sha256(sv4_signer *s, const void *d, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    return EVP_DigestInit_ex(s->mdctx, s->md, NULL) == 1 &&
           EVP_DigestUpdate(s->mdctx, d, n) == 1 &&
           EVP_DigestFinal_ex(s->mdctx, out, &len) == 1 && len == 32 ? 0 : -1;
}

/* The MAC context got its digest once, in sv4_signer_new(): passing it
   again would fetch SHA-256 from the provider store on every call. */
static int hmac(sv4_signer *s, const void *key, size_t klen, const void *msg, size_t mlen,
                unsigned char out[32])
{
    size_t len = 0;
    return EVP_MAC_init(s->macctx, key, klen, NULL) == 1 &&
           EVP_MAC_update(s->macctx, msg, mlen) == 1 &&
           EVP_MAC_final(s->macctx, out, &len, 32) == 1 && len == 32 ? 0 : -1;
}

/* The signing key for 'date'/'region'/'service', from the cache or
   derived: HMAC chain "AWS4"+secret -> date -> region -> service ->
   "aws4_request". */
static int signing_key(sv4_signer *s, const char *secret, const char *date, const char *region,
                       const char *service, unsigned char key[32])
{
    unsigned char fp[32];
    if (sha256(s, secret, strlen(secret), fp))
        return -1;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        cache_slot *c = &s->cache[i];
        if (c->used && !strcmp(c->date, date) && !strcmp(c->region, region) &&
            !strcmp(c->service, service) && !CRYPTO_memcmp(c->fp, fp, 32)) {
            memcpy(key, c->key, 32);
            return 0;
        }
    }
    unsigned char k[MAX_SECRET + 4], a[32], b[32];
    size_t n = strlen(secret);
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, n);
    int rc = hmac(s, k, n + 4, date, strlen(date), a) ||
             hmac(s, a, 32, region, strlen(region), b) ||
             hmac(s, b, 32, service, strlen(service), a) ||
             hmac(s, a, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    if (rc)
        return -1;
    s->derivations++;
    cache_slot *c = &s->cache[s->next_slot++ % CACHE_SLOTS];
    c->used = 1;
    snprintf(c->date, sizeof c->date, "%s", date);
    snprintf(c->region, sizeof c->region, "%s", region);
    snprintf(c->service, sizeof c->service, "%s", service);
    memcpy(c->fp, fp, 32);
    memcpy(c->key, key, 32);
    return 0;
}

sv4_signer *sv4_signer_new(void)
{
    sv4_signer *s = mem_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    s->mdctx = EVP_MD_CTX_new();
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->macctx = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!s->md || !s->mdctx || !s->macctx || EVP_MAC_CTX_set_params(s->macctx, params) != 1) {
        sv4_signer_free(s);
        return NULL;
    }
    return s;
}

void sv4_signer_free(sv4_signer *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->macctx);
    EVP_MAC_free(s->mac);
    EVP_MD_CTX_free(s->mdctx);
    EVP_MD_free(s->md);
    sb_wipe(&s->creq);
    sb_wipe(&s->tmp);
    sb_wipe(&s->sh);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

unsigned long sv4_signer_derivations(const sv4_signer *s) { return s->derivations; }

void sv4_result_free(sv4_result *r)
{
    if (!r)
        return;
    free(r->mem);
    memset(r, 0, sizeof *r);
}

int sv4_creds_from_env(sv4_creds *cr, sv4_err *err)
{
    static const char *const names[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" };
    const char *v[2];
    for (int i = 0; i < 2; i++) {
        v[i] = getenv(names[i]);
        if (!v[i] || !*v[i])
            return fail(err, "%s is not set", names[i]);
    }
    sv4_creds c = { v[0], v[1], getenv("AWS_SESSION_TOKEN") };
    if (c.session_token && !*c.session_token)
        c.session_token = NULL;
    sv4_err e;
    if (check_creds(&c, &e)) {
        const char *var = strstr(e.msg, "access key id") ? names[0] :
                          strstr(e.msg, "secret") ? names[1] : "AWS_SESSION_TOKEN";
        return fail(err, "%s: %s", var, e.msg + strlen("sigv4: "));
    }
    *cr = c;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */
/* ------------------------------------------------------------------ */

typedef struct {                     /* what both entry points compute */
    char amzdate[17], date[9];
    char payload_hash[129];
    char scope[3 * MAX_SCOPE_PART + 32];
    char credential[MAX_KEY_ID + 1 + 3 * MAX_SCOPE_PART + 32];
    const char *token;               /* NULL without a session token */
    size_t nh;                       /* headers in s->hdr */
} ctx;

static int begin(sv4_signer *s, const sv4_request *r, const sv4_creds *cr, ctx *c, sv4_err *err)
{
    if (!s)
        return fail(err, "no signer");
    if (!r)
        return fail(err, "no request");
    if (check_creds(cr, err) || check_request(r, err))
        return -1;
    time_t t = (time_t)r->time;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return fail(err, "the time cannot be represented");
    strftime(c->amzdate, sizeof c->amzdate, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(c->date, c->amzdate, 8);
    c->date[8] = 0;
    snprintf(c->scope, sizeof c->scope, "%s/%s/%s/aws4_request", c->date, r->region, r->service);
    snprintf(c->credential, sizeof c->credential, "%s/%s", cr->access_key_id, c->scope);
    c->token = cr->session_token && *cr->session_token ? cr->session_token : NULL;
    if (r->payload_hash) {
        snprintf(c->payload_hash, sizeof c->payload_hash, "%s", r->payload_hash);
    } else {
        unsigned char d[32];
        sb h = { .p = c->payload_hash, .cap = sizeof c->payload_hash, .max = 64 };
        if (sha256(s, r->payload ? r->payload : "", r->payload_len, d))
            return fail(err, "SHA-256 failed");
        put_hex(&h, d, 32);
    }
    if (find_header(r, "host"))
        return fail(err, "pass the Host in sv4_request.host, not in the header list");
    if (find_header(r, "authorization"))
        return fail(err, "the request already has an Authorization header");
    c->nh = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        add_hent(s, &c->nh, r->headers[i].name, r->headers[i].value);
    add_hent(s, &c->nh, "host", r->host);
    return 0;
}

/* A header the signer would add that the caller already passed must carry
   the value the signer would give it; 'sign' says whether it is signed. */
static int owned_header(const sv4_request *r, const char *name, const char *want, int sign,
                        int *present, sv4_err *err)
{
    const sv4_header *h = find_header(r, name);
    *present = h != NULL;
    if (!h)
        return 0;
    if (!want || strcmp(h->value, want))
        return fail(err, "header '%s' differs from the value the signature needs", name);
    if (!sign)
        return fail(err, "header '%s' is in the request but must not be signed", name);
    return 0;
}

/* method \n URI \n query \n headers \n signed headers \n payload hash;
   'nq' query parameters are in s->q / s->tmp. */
static int put_canonical_request(sv4_signer *s, const sv4_request *r, const ctx *c, size_t nq,
                                 sv4_err *err)
{
    sb *o = &s->creq;
    sb_reset(o, SV4_MAX_CANONICAL);
    sb_puts(o, r->method);
    sb_putc(o, '\n');
    if (sb_check(&s->tmp, err))
        return -1;
    /* the URI may reuse s->tmp: the query's entries become pointers first */
    sb q = { 0 };
    q.max = SV4_MAX_CANONICAL;
    put_canonical_query(s, &q, nq);
    put_canonical_uri(s, o, r->path, r->flags);
    sb_putc(o, '\n');
    if (q.p)
        sb_put(o, q.p, q.len);
    int qerr = q.err;
    free(q.p);
    if (qerr)
        o->err = qerr;
    sb_putc(o, '\n');
    put_canonical_headers(s, o, c->nh);
    sb_putc(o, '\n');
    sb_put(o, s->sh.p, s->sh.len);
    sb_putc(o, '\n');
    sb_puts(o, c->payload_hash);
    return sb_check(o, err) || sb_check(&s->sh, err);
}

/* Signs s->creq: string to sign into 'out' (offset in '*sts_off'), the
   signature's hex into 'sig'. */
static int put_signature(sv4_signer *s, const sv4_request *r, const sv4_creds *cr, const ctx *c,
                         sb *out, size_t *sts_off, char sig[65], sv4_err *err)
{
    unsigned char d[32], key[32];
    if (sha256(s, s->creq.p, s->creq.len, d))
        return fail(err, "SHA-256 failed");
    *sts_off = out->len;
    sb_puts(out, "AWS4-HMAC-SHA256\n");
    sb_puts(out, c->amzdate);
    sb_putc(out, '\n');
    sb_puts(out, c->scope);
    sb_putc(out, '\n');
    put_hex(out, d, 32);
    if (sb_check(out, err))
        return -1;
    if (signing_key(s, cr->secret_access_key, c->date, r->region, r->service, key))
        return fail(err, "HMAC-SHA256 failed");
    int rc = hmac(s, key, 32, out->p + *sts_off, out->len - *sts_off, d);
    OPENSSL_cleanse(key, sizeof key);
    if (rc)
        return fail(err, "HMAC-SHA256 failed");
    sb_putc(out, 0);                 /* ends the string to sign */
    sb h = { .p = sig, .cap = 65, .max = 64 };
    put_hex(&h, d, 32);
    return 0;
}

/* Copies a NUL-terminated string into 'out', returning its offset. */
static size_t put_str(sb *out, const char *s)
{
    size_t off = out->len;
    sb_puts(out, s);
    sb_putc(out, 0);
    return off;
}

static int finish(sb *out, sv4_result *res, sv4_err *err)
{
    if (sb_check(out, err)) {
        free(out->p);
        memset(res, 0, sizeof *res);
        return -1;
    }
    res->mem = out->p;
    return 0;
}

#define AT(off) (out.p + (off))

int sv4_sign(sv4_signer *s, const sv4_request *r, const sv4_creds *cr, sv4_result *res,
             sv4_err *err)
{
    ctx c;
    if (res)
        memset(res, 0, sizeof *res);
    if (!res)
        return fail(err, "no result");
    if (begin(s, r, cr, &c, err))
        return -1;
    int unsigned_token = (r->flags & SV4_TOKEN_UNSIGNED) != 0;
    int has_date, has_token, has_sha;
    if (owned_header(r, "x-amz-date", c.amzdate, 1, &has_date, err) ||
        owned_header(r, "x-amz-security-token", c.token, !unsigned_token, &has_token, err) ||
        owned_header(r, "x-amz-content-sha256", c.payload_hash, 1, &has_sha, err))
        return -1;
    if (!has_date)
        add_hent(s, &c.nh, "x-amz-date", c.amzdate);
    if (c.token && !has_token && !unsigned_token)
        add_hent(s, &c.nh, "x-amz-security-token", c.token);
    if ((r->flags & SV4_CONTENT_SHA256) && !has_sha)
        add_hent(s, &c.nh, "x-amz-content-sha256", c.payload_hash);
    size_t nq = 0;
    sb_reset(&s->tmp, SV4_MAX_CANONICAL);
    if (split_query(s, r->query, 0, &nq, err) || put_canonical_request(s, r, &c, nq, err))
        return -1;

    sb out = { .max = 4 * (size_t)SV4_MAX_CANONICAL };
    size_t creq = put_str(&out, s->creq.p), sts;
    char sig[65];
    if (put_signature(s, r, cr, &c, &out, &sts, sig, err)) {
        free(out.p);
        return -1;
    }
    size_t sh = put_str(&out, s->sh.p), sg = put_str(&out, sig);
    size_t tok = c.token && !has_token ? put_str(&out, c.token) : 0;
    size_t date = put_str(&out, c.amzdate), hash = put_str(&out, c.payload_hash);
    size_t auth = out.len;
    sb_puts(&out, "AWS4-HMAC-SHA256 Credential=");
    sb_puts(&out, c.credential);
    sb_puts(&out, ", SignedHeaders=");
    sb_puts(&out, s->sh.p);
    sb_puts(&out, ", Signature=");
    sb_puts(&out, sig);
    sb_putc(&out, 0);
    if (finish(&out, res, err))
        return -1;
    res->canonical_request = AT(creq);
    res->string_to_sign = AT(sts);
    res->signed_headers = AT(sh);
    res->signature = AT(sg);
    res->authorization = AT(auth);
    size_t n = 0;
    if (c.token && !has_token)
        res->headers[n++] = (sv4_header){ "X-Amz-Security-Token", AT(tok) };
    if (!has_date)
        res->headers[n++] = (sv4_header){ "X-Amz-Date", AT(date) };
    if ((r->flags & SV4_CONTENT_SHA256) && !has_sha)
        res->headers[n++] = (sv4_header){ "x-amz-content-sha256", AT(hash) };
    res->headers[n++] = (sv4_header){ "Authorization", res->authorization };
    res->nheaders = n;
    return 0;
}

int sv4_presign(sv4_signer *s, const sv4_request *r, const sv4_creds *cr, uint32_t expires,
                sv4_result *res, sv4_err *err)
{
    ctx c;
    if (res)
        memset(res, 0, sizeof *res);
    if (!res)
        return fail(err, "no result");
    if (expires < 1 || expires > SV4_MAX_EXPIRES)
        return fail(err, "the expiry must be 1 to %d seconds", SV4_MAX_EXPIRES);
    if (begin(s, r, cr, &c, err))
        return -1;
    int sign_token = c.token && !(r->flags & SV4_TOKEN_UNSIGNED);
    /* signed headers first: they are a query parameter */
    sb scratch = { .max = SV4_MAX_CANONICAL };
    put_canonical_headers(s, &scratch, c.nh);
    int serr = scratch.err;
    free(scratch.p);
    if (serr) {
        scratch.err = serr;
        return sb_check(&scratch, err);
    }
    if (sb_check(&s->sh, err))
        return -1;
    char exp[16];
    snprintf(exp, sizeof exp, "%u", (unsigned)expires);
    size_t nq = 0;
    sb_reset(&s->tmp, SV4_MAX_CANONICAL);
    if (split_query(s, r->query, 1, &nq, err))
        return -1;
    add_param(s, &nq, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    add_param(s, &nq, "X-Amz-Credential", c.credential);
    add_param(s, &nq, "X-Amz-Date", c.amzdate);
    add_param(s, &nq, "X-Amz-Expires", exp);
    if (sign_token)
        add_param(s, &nq, "X-Amz-Security-Token", c.token);
    add_param(s, &nq, "X-Amz-SignedHeaders", s->sh.p);
    /* the headers were sorted in place by put_canonical_headers; sorting
       again is stable on (name, index) so the canonical text is the same */
    if (put_canonical_request(s, r, &c, nq, err))
        return -1;

    sb out = { .max = 4 * (size_t)SV4_MAX_CANONICAL };
    size_t creq = put_str(&out, s->creq.p), sts;
    char sig[65];
    if (put_signature(s, r, cr, &c, &out, &sts, sig, err)) {
        free(out.p);
        return -1;
    }
    size_t sh = put_str(&out, s->sh.p), sg = put_str(&out, sig);
    /* the query as sent: the caller's as is, then ours in the order AWS's
       own signers append them */
    size_t q = out.len;
    const char *uq = r->query ? r->query : "";
    sb_puts(&out, uq);
    if (*uq)
        sb_putc(&out, '&');
    sb_puts(&out, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    put_encoded(&out, c.credential, strlen(c.credential), 0);
    sb_puts(&out, "&X-Amz-Date=");
    sb_puts(&out, c.amzdate);
    sb_puts(&out, "&X-Amz-SignedHeaders=");
    put_encoded(&out, s->sh.p, s->sh.len, 0);
    sb_puts(&out, "&X-Amz-Expires=");
    sb_puts(&out, exp);
    if (c.token) {
        sb_puts(&out, "&X-Amz-Security-Token=");
        put_encoded(&out, c.token, strlen(c.token), 0);
    }
    sb_puts(&out, "&X-Amz-Signature=");
    sb_puts(&out, sig);
    sb_putc(&out, 0);
    if (finish(&out, res, err))
        return -1;
    res->canonical_request = AT(creq);
    res->string_to_sign = AT(sts);
    res->signed_headers = AT(sh);
    res->signature = AT(sg);
    res->query = AT(q);
    return 0;
}
