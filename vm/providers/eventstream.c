/* AWS event-stream framing: decoder and encoder (see eventstream.h for the
   frame layout, the order of the checks and who owns what).

   The decoder is a two-state machine -- collecting the 12-byte prelude,
   then the rest of the frame -- with a fast path: when a whole frame is in
   the caller's input and nothing is buffered, the message points straight
   into that input and no byte is copied.  Otherwise bytes are copied into
   one buffer sized, after the prelude has been checked, to the frame's
   total_length (never above max_frame).  The decoder computes its CRCs
   eight bytes at a time with tables (slicing-by-8, the tables made once
   per process), the message CRC carried on from the prelude's, whose
   bytes it covers too; the encoder uses zlib's crc32(), so every frame
   the encoder makes and the decoder reads checks one against the other.

   The encoder lays a frame out in one pass over a buffer of the exact
   size computed beforehand.  Its neighbours: the Bedrock provider (issue
   8) reads ConverseStream through the decoder; the mock provider writes
   its streams with the encoder. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "eventstream.h"
#include "mem.h"

/* Past a message this large the buffer is released rather than kept for
   the next frame, so one big frame does not pin its memory for the
   stream's life. */
#define KEEP_BUFFER (64u << 10)

struct es_decoder {
    uint32_t max_frame;
    es_status failed;              /* sticky error, 0 while healthy */
    uint8_t *buf;                  /* the frame being collected */
    size_t cap, have;              /* allocated, and bytes of the frame held */
    uint32_t total, hlen;          /* from the prelude, once 'have' >= 12 */
    uint32_t pcrc;                 /* the CRC of its first 8 bytes */
    es_header *hdr;                /* the decoded message's headers */
    size_t hcap;
    char err[160];
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {                    /* crc32() takes a uInt length */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* CRC-32 (zlib's: reflected, polynomial 0xEDB88320) by slicing-by-8:
   table[k][b] is the CRC of byte b followed by k zero bytes. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            crc_table[k][b] = crc_table[k - 1][b] >> 8 ^ crc_table[0][crc_table[k - 1][b] & 0xff];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The CRC of the bytes whose CRC is 'c' followed by p[0..n), as zlib's
   crc32(c, p, n). */
static uint32_t crc_more(uint32_t c, const uint8_t *p, size_t n)
{
    const uint32_t (*t)[256] = crc_table;
    c = ~c;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t a = c ^ le32(p), b = le32(p + 4);
        c = t[7][a & 0xff] ^ t[6][a >> 8 & 0xff] ^ t[5][a >> 16 & 0xff] ^ t[4][a >> 24] ^ t[3][b & 0xff] ^
            t[2][b >> 8 & 0xff] ^ t[1][b >> 16 & 0xff] ^ t[0][b >> 24];
    }
    for (; n; p++, n--)
        c = t[0][(c ^ *p) & 0xff] ^ c >> 8;
    return ~c;
}

static es_status fail(es_decoder *d, es_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static es_status fail(es_decoder *d, es_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    d->failed = st;
    return st;
}

const char *es_status_name(es_status st)
{
    switch (st) {
    case ES_NEED: return "need more bytes";
    case ES_MESSAGE: return "message";
    case ES_ERR_PRELUDE_CRC: return "prelude checksum mismatch";
    case ES_ERR_MESSAGE_CRC: return "message checksum mismatch";
    case ES_ERR_SHORT: return "frame too short";
    case ES_ERR_LONG: return "frame too long";
    case ES_ERR_HEADERS_LEN: return "bad headers length";
    case ES_ERR_HEADER: return "malformed header";
    case ES_ERR_TRUNCATED: return "stream ended inside a frame";
    case ES_ERR_NOMEM: return "out of memory";
    }
    return "unknown status";
}

es_decoder *es_decoder_new(uint32_t max_frame)
{
    pthread_once(&crc_once, crc_tables);
    es_decoder *d = mem_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (max_frame == 0 || max_frame > ES_MAX_FRAME)
        max_frame = ES_MAX_FRAME;
    d->max_frame = max_frame < ES_MIN_FRAME ? ES_MIN_FRAME : max_frame;
    return d;
}

void es_decoder_free(es_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d->hdr);
    free(d);
}

void es_decoder_reset(es_decoder *d)
{
    d->failed = 0;
    d->have = 0;
    d->err[0] = 0;
}

const char *es_decoder_error(const es_decoder *d) { return d->err; }

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* The prelude's checks, in order: its CRC, then the lengths it gives. */
static es_status check_prelude(es_decoder *d, const uint8_t *p)
{
    uint32_t total = be32(p), hlen = be32(p + 4), want = be32(p + 8), got = crc_more(0, p, 8);
    if (got != want)
        return fail(d, ES_ERR_PRELUDE_CRC, "prelude checksum mismatch (computed 0x%08x, frame says 0x%08x)",
                    got, want);
    if (total < ES_MIN_FRAME)
        return fail(d, ES_ERR_SHORT, "total_length %u is below the %u-byte minimum", total, ES_MIN_FRAME);
    if (total > d->max_frame)
        return fail(d, ES_ERR_LONG, "total_length %u exceeds the limit of %u bytes", total, d->max_frame);
    if (hlen > total - ES_MIN_FRAME)
        return fail(d, ES_ERR_HEADERS_LEN, "headers_length %u does not fit in total_length %u", hlen, total);
    if (hlen > ES_MAX_HEADERS_LEN)
        return fail(d, ES_ERR_HEADERS_LEN, "headers_length %u exceeds the limit of %u bytes", hlen,
                    ES_MAX_HEADERS_LEN);
    d->total = total;
    d->hlen = hlen;
    d->pcrc = got;
    return ES_NEED;
}

static int64_t be_signed(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
    return (int64_t)v;
}

/* Bytes of the fixed-size value of 'type' (0 for bool), or -1 when the
   value has a length prefix or the type is unknown. */
static int fixed_size(uint8_t type)
{
    static const signed char size[] = { 0, 0, 1, 2, 4, 8, -1, -1, 8, 16 };
    return type < sizeof size ? size[type] : -1;
}

/* Parses the header block h[0..n) into d->hdr; the count in '*count'. */
static es_status parse_headers(es_decoder *d, const uint8_t *h, size_t n, size_t *count)
{
    size_t off = 0, k = 0;
    while (off < n) {
        size_t at = off;
        if (k == ES_MAX_HEADERS)
            return fail(d, ES_ERR_HEADER, "more than %d headers", ES_MAX_HEADERS);
        size_t nl = h[off++];
        if (nl == 0)
            return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): empty name", k, at);
        if (nl + 1 > n - off)
            return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): the name runs past the headers", k, at);
        if (k == d->hcap) {
            size_t cap = d->hcap ? 2 * d->hcap : 8;
            es_header *p = mem_reallocarray(d->hdr, cap, sizeof *p);
            if (!p)
                return fail(d, ES_ERR_NOMEM, "out of memory");
            d->hdr = p;
            d->hcap = cap;
        }
        es_header *e = &d->hdr[k];
        memset(e, 0, sizeof *e);
        e->name = (const char *)h + off;
        e->name_len = nl;
        off += nl;
        e->type = h[off++];
        int fs = fixed_size(e->type);
        if (e->type == ES_T_BYTES || e->type == ES_T_STRING) {
            if (n - off < 2)
                return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): the value length runs past the headers",
                            k, at);
            e->len = (size_t)h[off] << 8 | h[off + 1];
            off += 2;
            if (e->len > n - off)
                return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): a %zu-byte value runs past the headers",
                            k, at, e->len);
            e->data = h + off;
            off += e->len;
        } else if (fs < 0) {
            return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): unknown value type %u", k, at, e->type);
        } else {
            if ((size_t)fs > n - off)
                return fail(d, ES_ERR_HEADER, "header %zu (offset %zu): the value runs past the headers", k, at);
            if (e->type == ES_T_TRUE || e->type == ES_T_FALSE)
                e->i = e->type == ES_T_TRUE;
            else if (e->type == ES_T_UUID)
                e->data = h + off, e->len = 16;
            else
                e->i = be_signed(h + off, fs);
            off += (size_t)fs;
        }
        k++;
    }
    *count = k;
    return ES_NEED;
}

/* A complete frame f[0..total): message CRC, then headers. */
static es_status parse_frame(es_decoder *d, const uint8_t *f, es_message *m)
{
    uint32_t total = d->total, hlen = d->hlen;
    uint32_t want = be32(f + total - 4), got = crc_more(d->pcrc, f + 8, total - 12);
    if (got != want)
        return fail(d, ES_ERR_MESSAGE_CRC, "message checksum mismatch (computed 0x%08x, frame says 0x%08x)",
                    got, want);
    size_t nh = 0;
    es_status st = parse_headers(d, f + ES_PRELUDE_LEN, hlen, &nh);
    if (st)
        return st;
    m->total_length = total;
    m->headers_length = hlen;
    m->prelude_crc = be32(f + 8);
    m->message_crc = want;
    m->headers = d->hdr;
    m->nheaders = nh;
    m->payload = f + ES_PRELUDE_LEN + hlen;
    m->payload_len = total - hlen - ES_MIN_FRAME;
    return ES_MESSAGE;
}

static int reserve(es_decoder *d, size_t n)
{
    if (n <= d->cap)
        return 0;
    uint8_t *p = mem_realloc(d->buf, n);
    if (!p)
        return -1;
    d->buf = p;
    d->cap = n;
    return 0;
}

es_status es_decode(es_decoder *d, const void *in, size_t len, size_t *used, es_message *m)
{
    const uint8_t *p = in;
    size_t off = 0;
    *used = 0;
    if (d->failed)
        return d->failed;
    if (d->have == 0 && d->cap > KEEP_BUFFER) {
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
    /* fast path: a whole frame in the input, nothing buffered */
    if (d->have == 0 && len >= ES_PRELUDE_LEN) {
        es_status st = check_prelude(d, p);
        if (st)
            return st;
        if (len >= d->total) {
            st = parse_frame(d, p, m);
            if (st == ES_MESSAGE)
                *used = d->total;
            return st;
        }
    }
    while (off < len) {
        if (d->have < ES_PRELUDE_LEN) {
            size_t n = ES_PRELUDE_LEN - d->have;
            if (n > len - off)
                n = len - off;
            if (reserve(d, ES_PRELUDE_LEN))
                return fail(d, ES_ERR_NOMEM, "out of memory");
            memcpy(d->buf + d->have, p + off, n);
            d->have += n;
            off += n;
            *used = off;
            if (d->have < ES_PRELUDE_LEN)
                break;
            es_status st = check_prelude(d, d->buf);
            if (st)
                return st;
            if (reserve(d, d->total))
                return fail(d, ES_ERR_NOMEM, "out of memory for a %u-byte frame", d->total);
            continue;
        }
        size_t n = d->total - d->have;
        if (n > len - off)
            n = len - off;
        memcpy(d->buf + d->have, p + off, n);
        d->have += n;
        off += n;
        *used = off;
        if (d->have == d->total) {
            d->have = 0;
            return parse_frame(d, d->buf, m);
        }
    }
    /* a frame of exactly 12 bytes cannot be: total >= 16 */
    *used = off;
    return ES_NEED;
}

es_status es_finish(es_decoder *d)
{
    if (d->failed)
        return d->failed;
    if (d->have == 0)
        return ES_NEED;
    if (d->have < ES_PRELUDE_LEN)
        return fail(d, ES_ERR_TRUNCATED, "the stream ended inside a frame's prelude (%zu of 12 bytes)", d->have);
    return fail(d, ES_ERR_TRUNCATED, "the stream ended inside a frame (%zu of %u bytes)", d->have, d->total);
}

const es_header *es_find(const es_message *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < m->nheaders; i++)
        if (m->headers[i].name_len == n && !memcmp(m->headers[i].name, name, n))
            return &m->headers[i];
    return NULL;
}

int es_is(const es_message *m, const char *name, const char *value)
{
    const es_header *h = es_find(m, name);
    size_t n = strlen(value);
    return h && h->type == ES_T_STRING && h->len == n && !memcmp(h->data, value, n);
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

es_header es_str(const char *name, const char *value)
{
    return (es_header){ .name = name, .name_len = strlen(name), .type = ES_T_STRING,
                        .data = (const uint8_t *)value, .len = strlen(value) };
}

es_header es_bytes(const char *name, const void *data, size_t len)
{
    return (es_header){ .name = name, .name_len = strlen(name), .type = ES_T_BYTES,
                        .data = data, .len = len };
}

es_header es_int(const char *name, uint8_t type, int64_t v)
{
    return (es_header){ .name = name, .name_len = strlen(name), .type = type, .i = v };
}

es_header es_uuid(const char *name, const uint8_t uuid[16])
{
    return (es_header){ .name = name, .name_len = strlen(name), .type = ES_T_UUID,
                        .data = uuid, .len = 16 };
}

static int enc_fail(es_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int enc_fail(es_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Bytes header 'h' takes, or 0 when it cannot be encoded (reason in 'err'). */
static size_t header_size(const es_header *h, size_t i, es_err *err)
{
    if (!h->name || h->name_len == 0 || h->name_len > 255) {
        enc_fail(err, "header %zu: the name must be 1 to 255 bytes", i);
        return 0;
    }
    size_t n = 2 + h->name_len;
    if (h->type == ES_T_BYTES || h->type == ES_T_STRING) {
        if (h->len > 65535 || (h->len && !h->data)) {
            enc_fail(err, "header %zu: a value must be 0 to 65535 bytes", i);
            return 0;
        }
        return n + 2 + h->len;
    }
    if (h->type == ES_T_UUID && !h->data) {
        enc_fail(err, "header %zu: a uuid needs 16 bytes", i);
        return 0;
    }
    int fs = fixed_size(h->type);
    if (fs < 0) {
        enc_fail(err, "header %zu: unknown value type %u", i, h->type);
        return 0;
    }
    return n + (size_t)fs;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_header(uint8_t *p, const es_header *h)
{
    *p++ = (uint8_t)h->name_len;
    memcpy(p, h->name, h->name_len);
    p += h->name_len;
    *p++ = h->type;
    switch (h->type) {
    case ES_T_BYTES:
    case ES_T_STRING:
        p = put_be(p, h->len, 2);
        if (h->len)
            memcpy(p, h->data, h->len);
        return p + h->len;
    case ES_T_UUID:
        memcpy(p, h->data, 16);
        return p + 16;
    default:
        return put_be(p, (uint64_t)h->i, fixed_size(h->type));
    }
}

int es_encode(const es_header *hs, size_t nh, const void *payload, size_t plen, uint8_t **out,
              size_t *outlen, es_err *err)
{
    *out = NULL;
    *outlen = 0;
    if (nh > ES_MAX_HEADERS)
        return enc_fail(err, "%zu headers (limit %d)", nh, ES_MAX_HEADERS);
    if (nh && !hs)
        return enc_fail(err, "the header list is missing");
    if (plen && !payload)
        return enc_fail(err, "the payload is missing");
    size_t hlen = 0;
    for (size_t i = 0; i < nh; i++) {
        size_t n = header_size(&hs[i], i, err);
        if (!n)
            return -1;
        hlen += n;
        if (hlen > ES_MAX_HEADERS_LEN)
            return enc_fail(err, "the headers take more than %u bytes", ES_MAX_HEADERS_LEN);
    }
    if (plen > ES_MAX_FRAME - ES_MIN_FRAME - hlen)
        return enc_fail(err, "the frame would exceed %u bytes", ES_MAX_FRAME);
    size_t total = ES_MIN_FRAME + hlen + plen;
    uint8_t *f = mem_malloc(total), *p = f;
    if (!f)
        return enc_fail(err, "out of memory");
    p = put_be(p, total, 4);
    p = put_be(p, hlen, 4);
    p = put_be(p, crc(f, 8), 4);
    for (size_t i = 0; i < nh; i++)
        p = put_header(p, &hs[i]);
    if (plen)
        memcpy(p, payload, plen);
    p += plen;
    put_be(p, crc(f, total - 4), 4);
    *out = f;
    *outlen = total;
    return 0;
}
