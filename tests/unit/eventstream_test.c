/* vm/providers/eventstream.c against data: the AWS vectors vendored in
   tests/vectors/eventstream/ (5 positive, 4 negative frames) and our own
   cases in tests/eventstream/cases/ (written by make_cases.py, an
   independent Python encoder: Bedrock ConverseStream and exception
   frames, every header type at its extremes, every length check, frames
   cut short, corrupt second frames, the header-count limit).

   Each input is decoded whole, one byte per call, split in two at every
   position, and in seeded random chunks (each chunk an exact-size heap
   copy, so the sanitizers see any read past it); every way must print the
   same text, which must equal the expectation: one block per message
   (lengths, CRCs, headers, payload) and a last line, "end ok" or
   "error <status>".  For the AWS positives the expectation is built from
   the decoded/ JSON files and the frame re-encoded from that JSON must
   be the vector's bytes; for the AWS negatives the error must be the one
   the vector names (prelude or message checksum).  Every stream that
   decodes cleanly must re-encode, message by message, to its own bytes.

   Then: the max_frame limit at its boundary, errors stick until reset,
   whole frames are not copied, header lookup, encoder errors, and every
   allocation failing in turn.  Usage: eventstream_test REPO_ROOT */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "eventstream.h"
#include "mem.h"

static int failures;

#define PASS(...) (printf("PASS "), printf(__VA_ARGS__), putchar('\n'))
#define FAIL(name, ...) \
    (failures++, printf("FAIL %s: ", name), printf(__VA_ARGS__), putchar('\n'))

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(2);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void putf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = { 0 };
    char tmp[65536];
    size_t got;
    put(&b, "", 0);
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, got);
    fclose(f);
    *n = b.len;
    return (unsigned char *)b.p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s;
    if (vasprintf(&s, f, ap) < 0)
        exit(2);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------ */
/* The text form of a decoded stream (make_cases.py writes the same)   */
/* ------------------------------------------------------------------ */

static void quote(buf *b, const uint8_t *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\' || s[i] < 0x20 || s[i] > 0x7e)
            putf(b, "\\x%02x", s[i]);
        else
            put(b, &s[i], 1);
    }
    put(b, "\"", 1);
}

static const char *const type_names[] = { "true", "false", "byte", "int16", "int32",
                                          "int64", "bytes", "string", "timestamp", "uuid" };

static void dump_header(buf *b, const char *name, size_t nlen, int type, int64_t i,
                        const uint8_t *data, size_t len)
{
    put(b, "  header ", 9);
    quote(b, (const uint8_t *)name, nlen);
    putf(b, " %s ", type >= 0 && type <= 9 ? type_names[type] : "?");
    if (type == ES_T_TRUE || type == ES_T_FALSE)
        putf(b, "%s", type_names[type]);
    else if (type == ES_T_BYTES || type == ES_T_STRING)
        quote(b, data, len);
    else if (type == ES_T_UUID)
        for (size_t k = 0; k < len; k++)
            putf(b, "%02x", data[k]);
    else
        putf(b, "%lld", (long long)i);
    put(b, "\n", 1);
}

static void dump(buf *b, const es_message *m)
{
    putf(b, "message total=%u headers=%u prelude_crc=0x%08x message_crc=0x%08x\n", m->total_length,
         m->headers_length, m->prelude_crc, m->message_crc);
    for (size_t i = 0; i < m->nheaders; i++) {
        const es_header *h = &m->headers[i];
        dump_header(b, h->name, h->name_len, h->type, h->i, h->data, h->len);
    }
    put(b, "  payload ", 10);
    quote(b, m->payload, m->payload_len);
    put(b, "\n", 1);
}

/* ------------------------------------------------------------------ */
/* Decoding in chunks                                                  */
/* ------------------------------------------------------------------ */

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* Decodes data[0..n) in chunks: 'mode' 0 whole, 1 one byte per call, 2 split
   at 'at', 3 random chunk sizes.  Returns the text form; with 'reenc', the
   re-encoding of every message decoded, concatenated. */
static char *decode(const uint8_t *data, size_t n, int mode, size_t at, uint32_t max_frame, buf *reenc)
{
    es_decoder *d = es_decoder_new(max_frame);
    buf out = { 0 };
    put(&out, "", 0);
    size_t pos = 0;
    es_status st = ES_NEED;
    while (pos < n && st >= 0) {
        size_t len = mode == 0 ? n : mode == 1 ? 1 : mode == 2 ? (pos < at ? at - pos : n - pos)
                                                               : 1 + rng() % 64;
        if (len > n - pos)
            len = n - pos;
        uint8_t *chunk = malloc(len);
        memcpy(chunk, data + pos, len);
        size_t off = 0;
        while (off < len) {
            size_t used;
            es_message m;
            st = es_decode(d, chunk + off, len - off, &used, &m);
            off += used;
            if (st == ES_MESSAGE) {
                dump(&out, &m);
                if (reenc) {
                    uint8_t *e;
                    size_t elen;
                    es_err err;
                    if (es_encode(m.headers, m.nheaders, m.payload, m.payload_len, &e, &elen, &err) == 0) {
                        put(reenc, e, elen);
                        free(e);
                    } else {
                        put(reenc, "(encode failed)", 15);
                    }
                }
                continue;
            }
            break;
        }
        free(chunk);
        pos += len;
    }
    if (st >= 0)
        st = es_finish(d);
    if (st < 0)
        putf(&out, "error %s\n", es_status_name(st));
    else
        put(&out, "end ok\n", 7);
    es_decoder_free(d);
    return out.p;
}

static void show_diff(const char *got, const char *want)
{
    int line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n')
            line++;
        g++, w++;
    }
    printf("    differ at line %d:\n    got:  %.100s\n    want: %.100s\n", line, g, w);
}

/* Every way of splitting 'data' must print 'want'; a clean stream must
   re-encode to itself.  Returns 1 when all agree. */
static int check_stream(const char *name, const uint8_t *data, size_t n, const char *want)
{
    buf re = { 0 };
    put(&re, "", 0);
    char *whole = decode(data, n, 0, 0, 0, &re);
    if (strcmp(whole, want)) {
        FAIL(name, "decoded whole, the result differs from the expectation");
        show_diff(whole, want);
        free(whole), free(re.p);
        return 0;
    }
    int ok = 1;
    if (strstr(whole, "end ok") && (re.len != n || memcmp(re.p, data, n))) {
        FAIL(name, "re-encoding the decoded messages does not give the input back (%zu vs %zu bytes)",
             re.len, n);
        ok = 0;
    }
    free(re.p);
    free(whole);
    char *got = decode(data, n, 1, 0, 0, NULL);
    if (ok && strcmp(got, want)) {
        FAIL(name, "decoded one byte at a time, the result differs");
        show_diff(got, want);
        ok = 0;
    }
    free(got);
    for (size_t at = 1; ok && at < n && n <= 8192; at++) {
        got = decode(data, n, 2, at, 0, NULL);
        if (strcmp(got, want)) {
            FAIL(name, "split at byte %zu, the result differs", at);
            show_diff(got, want);
            ok = 0;
        }
        free(got);
    }
    rng_state = 42;
    for (int r = 0; ok && r < 20; r++) {
        got = decode(data, n, 3, 0, 0, NULL);
        if (strcmp(got, want)) {
            FAIL(name, "random chunks (seed 42, run %d), the result differs", r);
            show_diff(got, want);
            ok = 0;
        }
        free(got);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* The AWS vectors                                                     */
/* ------------------------------------------------------------------ */

static uint8_t *b64(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *out = malloc(len / 4 * 3 + 4);
    int got = len ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    while (len && s[len - 1] == '=')   /* EVP_DecodeBlock counts padding as zero bytes */
        got--, len--;
    *n = (size_t)got;
    return out;
}

/* The expectation text of decoded/positive/NAME, and in 'frame' the frame
   encoded from it; -1 if the JSON is not as documented. */
static int aws_expectation(json_t *j, buf *want, uint8_t **frame, size_t *flen)
{
    json_t *hs = json_object_get(j, "headers");
    size_t nh = json_array_size(hs);
    es_header *h = calloc(nh + 1, sizeof *h);
    uint8_t **blobs = calloc(nh + 1, sizeof *blobs);
    size_t plen;
    uint8_t *payload = b64(json_string_value(json_object_get(j, "payload")) ?
                           json_string_value(json_object_get(j, "payload")) : "", &plen);
    putf(want, "message total=%u headers=%u prelude_crc=0x%08x message_crc=0x%08x\n",
         (uint32_t)json_integer_value(json_object_get(j, "total_length")),
         (uint32_t)json_integer_value(json_object_get(j, "headers_length")),
         (uint32_t)json_integer_value(json_object_get(j, "prelude_crc")),
         (uint32_t)json_integer_value(json_object_get(j, "message_crc")));
    int ok = payload != NULL;
    for (size_t i = 0; i < nh && ok; i++) {
        json_t *e = json_array_get(hs, i);
        const char *name = json_string_value(json_object_get(e, "name"));
        int type = (int)json_integer_value(json_object_get(e, "type"));
        json_t *v = json_object_get(e, "value");
        if (!name || type < 0 || type > 9) {
            ok = 0;
            break;
        }
        h[i] = es_int(name, (uint8_t)type, json_integer_value(v));
        if (type == ES_T_BYTES || type == ES_T_STRING || type == ES_T_UUID) {
            blobs[i] = json_string_value(v) ? b64(json_string_value(v), &h[i].len) : NULL;
            h[i].data = blobs[i];
            ok = blobs[i] != NULL;
        }
        dump_header(want, name, strlen(name), type, h[i].i, h[i].data, h[i].len);
    }
    put(want, "  payload ", 10);
    if (payload)
        quote(want, payload, plen);
    put(want, "\nend ok\n", 8);
    es_err err;
    if (ok && es_encode(h, nh, payload, plen, frame, flen, &err))
        ok = 0;
    for (size_t i = 0; i < nh; i++)
        free(blobs[i]);
    free(blobs), free(h), free(payload);
    return ok ? 0 : -1;
}

static int list_dir(const char *dir, struct dirent ***list)
{
    return scandir(dir, list, NULL, alphasort);
}

static void aws_vectors(const char *root)
{
    char *dir = fmt("%s/tests/vectors/eventstream/testdata", root);
    int npos = 0, nneg = 0;
    for (int neg = 0; neg < 2; neg++) {
        char *edir = fmt("%s/encoded/%s", dir, neg ? "negative" : "positive");
        struct dirent **list;
        int n = list_dir(edir, &list);
        for (int i = 0; i < n; i++) {
            const char *e = list[i]->d_name;
            if (e[0] == '.') {
                free(list[i]);
                continue;
            }
            char *name = fmt("eventstream/aws/%s/%s", neg ? "negative" : "positive", e);
            char *bp = fmt("%s/%s", edir, e), *dp = fmt("%s/decoded/%s/%s", dir, neg ? "negative" : "positive", e);
            size_t blen, dlen;
            uint8_t *bin = slurp(bp, &blen), *dec = slurp(dp, &dlen);
            buf want = { 0 };
            put(&want, "", 0);
            if (!bin || !dec) {
                FAIL(name, "cannot read %s or %s", bp, dp);
            } else if (neg) {
                nneg++;
                /* "Prelude checksum mismatch" -> "error prelude checksum mismatch" */
                putf(&want, "error %s\n", (char *)dec);
                for (char *c = want.p; *c; c++)
                    *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                if (check_stream(name, bin, blen, want.p))
                    PASS("%s (%.*s at every split)", name, (int)want.len - 7, want.p + 6);
            } else {
                npos++;
                json_error_t je;
                json_t *j = json_loads((char *)dec, 0, &je);
                uint8_t *frame = NULL;
                size_t flen = 0;
                if (!j || aws_expectation(j, &want, &frame, &flen)) {
                    FAIL(name, "%s is not the documented JSON", dp);
                } else if (flen != blen || memcmp(frame, bin, blen)) {
                    FAIL(name, "encoding the decoded JSON does not give the vector's %zu bytes (got %zu)", blen, flen);
                } else if (check_stream(name, bin, blen, want.p)) {
                    PASS("%s (decoded at every split; encoded from the JSON byte for byte)", name);
                }
                free(frame);
                json_decref(j);
            }
            free(want.p), free(bin), free(dec), free(bp), free(dp), free(name), free(list[i]);
        }
        free(list);
        free(edir);
    }
    if (npos != 5 || nneg != 4)
        FAIL("eventstream/aws", "%d positive and %d negative vectors found, the suite has 5 and 4", npos, nneg);
    free(dir);
}

static void own_cases(const char *root)
{
    char *dir = fmt("%s/tests/eventstream/cases", root);
    struct dirent **list;
    int n = list_dir(dir, &list), count = 0;
    for (int i = 0; i < n; i++) {
        const char *e = list[i]->d_name;
        size_t el = strlen(e);
        if (el > 4 && !strcmp(e + el - 4, ".bin")) {
            char *name = fmt("eventstream/case/%.*s", (int)el - 4, e);
            char *bp = fmt("%s/%s", dir, e), *xp = fmt("%s/%.*s.expect", dir, (int)el - 4, e);
            size_t blen, xlen;
            uint8_t *bin = slurp(bp, &blen), *exp = slurp(xp, &xlen);
            count++;
            if (!bin || !exp)
                FAIL(name, "cannot read %s or %s", bp, xp);
            else if (check_stream(name, bin, blen, (char *)exp))
                PASS("%s (%zu bytes, every split)", name, blen);
            free(bin), free(exp), free(bp), free(xp), free(name);
        }
        free(list[i]);
    }
    free(list);
    if (count < 20)
        FAIL("eventstream/cases", "only %d cases in %s", count, dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Hand-made checks                                                    */
/* ------------------------------------------------------------------ */

static void max_frame(void)
{
    static uint8_t zeros[200];
    uint8_t *f100, *f101;
    size_t n100, n101;
    es_err err;
    es_encode(NULL, 0, zeros, 84, &f100, &n100, &err);
    es_encode(NULL, 0, zeros, 85, &f101, &n101, &err);
    buf w = { 0 };
    put(&w, "", 0);
    char *a = decode(f100, n100, 1, 0, 100, NULL), *b = decode(f101, n101, 1, 0, 100, NULL);
    if (n100 == 100 && strstr(a, "end ok") && strstr(b, "error frame too long"))
        PASS("eventstream/max-frame (100 accepted, 101 rejected by a 100-byte decoder)");
    else
        FAIL("eventstream/max-frame", "100: %s 101: %s", a, b);
    free(a), free(b), free(f100), free(f101), free(w.p);
}

static void sticky_and_zero_copy(void)
{
    es_header h[] = { es_str(":event-type", "chunk"), es_str(":message-type", "event") };
    uint8_t *f, bad[16] = { 0, 0, 0, 16 };
    size_t n, used;
    es_err err;
    es_message m;
    es_encode(h, 2, "{}", 2, &f, &n, &err);
    es_decoder *d = es_decoder_new(0);
    es_status s1 = es_decode(d, f, n, &used, &m);
    int zero_copy = s1 == ES_MESSAGE && m.payload >= f && m.payload < f + n && used == n;
    int found = es_is(&m, ":event-type", "chunk") && es_is(&m, ":message-type", "event") &&
                !es_is(&m, ":event-type", "chun") && !es_find(&m, ":exception-type") &&
                es_find(&m, ":event-type") == &m.headers[0];
    es_status s2 = es_decode(d, bad, sizeof bad, &used, &m);
    es_status s3 = es_decode(d, f, n, &used, &m);
    es_status s4 = es_finish(d);
    int msg = strstr(es_decoder_error(d), "prelude checksum mismatch (computed 0x") != NULL;
    es_decoder_reset(d);
    es_status s5 = es_decode(d, f, n, &used, &m);
    es_status s6 = es_finish(d);
    if (zero_copy && found && s2 == ES_ERR_PRELUDE_CRC && s3 == s2 && s4 == s2 && msg && s5 == ES_MESSAGE &&
        s6 == ES_NEED && !*es_decoder_error(d))
        PASS("eventstream/sticky-error-zero-copy-lookup");
    else
        FAIL("eventstream/sticky-error-zero-copy-lookup", "zero copy %d lookup %d statuses %d %d %d %d %d %d (%s)",
             zero_copy, found, s1, s2, s3, s4, s5, s6, es_decoder_error(d));
    es_decoder_free(d);
    free(f);
}

static void encoder_errors(void)
{
    static uint8_t big[65536];
    char name256[257];
    memset(name256, 'n', 256);
    name256[256] = 0;
    es_header many[ES_MAX_HEADERS + 1];
    for (int i = 0; i <= ES_MAX_HEADERS; i++)
        many[i] = es_int("a", ES_T_TRUE, 0);
    es_header three[3] = { es_bytes("a", big, 50000), es_bytes("b", big, 50000), es_bytes("c", big, 50000) };
    struct {
        const char *name, *want;
        es_header h;
        const es_header *hs;
        size_t nh, plen;
    } cases[] = {
        { "empty-name", "header 0: the name must be 1 to 255 bytes", es_str("", "v"), NULL, 1, 0 },
        { "long-name", "header 0: the name must be 1 to 255 bytes", es_str(name256, "v"), NULL, 1, 0 },
        { "long-value", "header 0: a value must be 0 to 65535 bytes", es_bytes("b", big, 65536), NULL, 1, 0 },
        { "unknown-type", "header 0: unknown value type 10", es_int("x", 10, 0), NULL, 1, 0 },
        { "too-many", "257 headers (limit 256)", { 0 }, many, ES_MAX_HEADERS + 1, 0 },
        { "headers-too-long", "the headers take more than 131072 bytes", { 0 }, three, 3, 0 },
        { "frame-too-long", "the frame would exceed 16777216 bytes", { 0 }, NULL, 0, ES_MAX_FRAME - 15 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *name = fmt("eventstream/encode-error/%s", cases[i].name);
        uint8_t *out = (uint8_t *)"x";
        size_t olen = 1;
        es_err err = { "" };
        const es_header *hs = cases[i].hs ? cases[i].hs : &cases[i].h;
        int rc = es_encode(cases[i].nh ? hs : NULL, cases[i].nh, big, cases[i].plen, &out, &olen, &err);
        if (rc == 0 || out || olen || strcmp(err.msg, cases[i].want))
            FAIL(name, "rc %d, message \"%s\", want \"%s\"", rc, err.msg, cases[i].want);
        else
            PASS("%s", name);
        free(name);
    }
    /* the largest legal frame encodes and decodes */
    uint8_t *payload = calloc(1, ES_MAX_FRAME - 16), *f;
    size_t n, used;
    es_err err;
    es_message m;
    es_decoder *d = es_decoder_new(0);
    if (es_encode(NULL, 0, payload, ES_MAX_FRAME - 16, &f, &n, &err) == 0 && n == ES_MAX_FRAME &&
        es_decode(d, f, n, &used, &m) == ES_MESSAGE && m.payload_len == ES_MAX_FRAME - 16) {
        PASS("eventstream/16mib-frame");
        free(f);
    } else {
        FAIL("eventstream/16mib-frame", "%s", err.msg);
    }
    es_decoder_free(d);
    free(payload);
}

static void oom(const char *root)
{
    char *p = fmt("%s/tests/eventstream/cases/bedrock_converse_stream.bin", root);
    size_t n;
    uint8_t *data = slurp(p, &n);
    free(p);
    int failed = 0, bad = 0;
    for (long k = 0; data && k < 12; k++) {
        mem_fail_after(k);
        es_decoder *d = es_decoder_new(0);
        if (!d) {
            mem_fail_after(-1);
            failed++;
            continue;
        }
        es_status st = ES_NEED;
        for (size_t i = 0; i < n && st >= 0; i += 7) {   /* small chunks: the copying path */
            size_t len = n - i < 7 ? n - i : 7, off = 0, used;
            es_message m;
            while (off < len && st >= 0) {
                st = es_decode(d, data + i + off, len - off, &used, &m);
                off += used;
                if (st != ES_MESSAGE)
                    break;
            }
        }
        uint8_t *f;
        size_t flen;
        es_err err;
        es_header h = es_str("a", "b");
        int erc = es_encode(&h, 1, "x", 1, &f, &flen, &err);
        mem_fail_after(-1);
        if (erc == 0)
            free(f);
        else if (strcmp(err.msg, "out of memory"))
            bad++;
        if (st < 0) {
            failed++;
            if (st != ES_ERR_NOMEM || !strstr(es_decoder_error(d), "out of memory"))
                bad++;
        }
        es_decoder_free(d);
    }
    if (data && !bad && failed)
        PASS("eventstream/out-of-memory (%d of 12 runs failed cleanly)", failed);
    else
        FAIL("eventstream/out-of-memory", "%d failures not reported as out of memory", bad);
    free(data);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    aws_vectors(root);
    own_cases(root);
    max_frame();
    sticky_and_zero_copy();
    encoder_errors();
    oom(root);
    return failures ? 1 : 0;
}
