/* libFuzzer target for the event-stream decoder and encoder
   (vm/providers/eventstream.c).

   The first input byte is a mode, the rest a stream:
     bit 0     recompute every frame's prelude and message CRC first, so
               mutations get past the checksums into the length and header
               checks (as fuzz_rbc does with the .rbc digest)
     bit 1     decode with a small max_frame (64 + 16 * (mode >> 2) bytes)
     bits 2-7  chunk size pattern for the split decode
   Properties, any failure an abort():
   - the stream decoded whole and decoded in chunks (sizes cycling through
     1 .. (mode >> 2) + 1) give the same messages and the same final
     status, so no split point changes the result;
   - every message decoded re-encodes to exactly the bytes it came from;
   - a decoder never reports a message past its max_frame.
   Seeds: tests/fuzz/corpus/eventstream/ (the vendored AWS vectors and our
   cases behind mode bytes 0x00 and 0x01).  tests/suites/corpus.sh replays
   them through this harness (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "eventstream.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Rewrites the CRCs of each frame whose lengths fit in the input. */
static void fix_crcs(uint8_t *b, size_t n)
{
    size_t off = 0;
    while (n - off >= 12) {
        uint8_t *f = b + off;
        put32(f + 8, (uint32_t)crc32(0, f, 8));
        uint32_t total = be32(f);
        if (total < 16 || total > n - off)
            return;
        put32(f + total - 4, (uint32_t)crc32(0, f, total - 4));
        off += total;
    }
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t digest(uint64_t h, const es_message *m)
{
    h = mix(h, &m->total_length, 4);
    h = mix(h, &m->headers_length, 4);
    h = mix(h, &m->prelude_crc, 4);
    h = mix(h, &m->message_crc, 4);
    for (size_t i = 0; i < m->nheaders; i++) {
        const es_header *e = &m->headers[i];
        h = mix(h, e->name, e->name_len);
        h = mix(h, &e->type, 1);
        h = mix(h, &e->i, sizeof e->i);
        h = mix(h, &e->len, sizeof e->len);
        if (e->len)
            h = mix(h, e->data, e->len);
    }
    return m->payload_len ? mix(h, m->payload, m->payload_len) : h;
}

/* Decodes b[0..n) in chunks cycling through 1..'cycle' bytes (0: whole),
   returning a digest of the messages and the final status.  'whole' is
   the input when it is passed in one piece, for the re-encoding check. */
static uint64_t run(const uint8_t *b, size_t n, size_t cycle, uint32_t max_frame, const uint8_t *whole)
{
    es_decoder *d = es_decoder_new(max_frame);
    if (!d)
        abort();
    uint64_t h = 1469598103934665603ull;
    size_t pos = 0, k = 0, frame_start = 0;
    es_status st = ES_NEED;
    while (pos < n && st >= 0) {
        size_t len = cycle ? 1 + k++ % cycle : n;
        if (len > n - pos)
            len = n - pos;
        size_t off = 0;
        while (off < len) {
            size_t used;
            es_message m;
            st = es_decode(d, b + pos + off, len - off, &used, &m);
            off += used;
            if (st != ES_MESSAGE)
                break;
            if (m.total_length > (max_frame ? max_frame : ES_MAX_FRAME))
                abort();
            h = digest(h, &m);
            if (whole) {
                uint8_t *e;
                size_t elen;
                es_err err;
                if (es_encode(m.headers, m.nheaders, m.payload, m.payload_len, &e, &elen, &err))
                    abort();
                if (elen != m.total_length || memcmp(e, whole + frame_start, elen))
                    abort();
                free(e);
                frame_start += elen;
            }
        }
        pos += len;
    }
    if (st >= 0)
        st = es_finish(d);
    es_decoder_free(d);
    return mix(h, &st, sizeof st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t n = size - 1;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return 0;
    memcpy(b, data + 1, n);
    if (mode & 1)
        fix_crcs(b, n);
    uint32_t max_frame = mode & 2 ? 64u + 16u * (mode >> 2) : 0;
    uint64_t a = run(b, n, 0, max_frame, b);
    uint64_t c = run(b, n, (size_t)(mode >> 2) + 1, max_frame, NULL);
    if (a != c)
        abort();
    free(b);
    return 0;
}
