/* libFuzzer target for the Server-Sent Events decoder (vm/providers/sse.c).

   The first input byte is a mode, the rest a stream:
     bit 0     decode with a small cap (max_event 16 + 8 * (mode >> 3))
     bits 1-7  piece size pattern for the split decode
   Properties, any failure an abort():
   - the stream decoded whole and decoded in pieces (sizes cycling through
     1 .. (mode >> 1) + 1) give the same events and the same end;
   - every event's data, type and id are valid UTF-8, the data within the
     cap, the type non-empty, no CR or LF outside the data's joints;
   - writing the events back out as a plain SSE stream (event:, id:,
     retry:, one data: line per line of data, a blank line) and decoding
     that gives the same events, every one terminated, and a clean end.
   Seeds: tests/fuzz/corpus/sse/ (the vendored OpenAI and Anthropic streams
   up to 8 KiB -- larger ones slow the fuzzer twentyfold and are covered by
   tests/unit/sse_test.c -- and the inputs of tests/sse/cases, behind mode
   bytes 0x00 and 0x03).
   tests/suites/corpus.sh replays them through this harness
   (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

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
            abort();
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i], lo = 0x80, hi = 0xBF;
        int k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            lo = c == 0xE0 ? 0xA0 : lo;
            hi = c == 0xED ? 0x9F : hi;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            lo = c == 0xF0 ? 0x90 : lo;
            hi = c == 0xF4 ? 0x8F : hi;
        } else {
            return 0;
        }
        if (n - i - 1 < (size_t)k)
            return 0;
        for (int j = 1; j <= k; j++) {
            if (s[i + (size_t)j] < lo || s[i + (size_t)j] > hi)
                return 0;
            lo = 0x80;
            hi = 0xBF;
        }
        i += (size_t)k + 1;
    }
    return 1;
}

static void check_event(const sse_event *e, size_t max_event)
{
    if (!valid_utf8((const uint8_t *)e->data, e->data_len) || !valid_utf8((const uint8_t *)e->type, e->type_len) ||
        !valid_utf8((const uint8_t *)e->id, e->id_len))
        abort();
    if (e->data_len > max_event || e->type_len == 0 || e->data[e->data_len] != 0)
        abort();
    if (memchr(e->data, '\r', e->data_len) || memchr(e->type, '\n', e->type_len) ||
        memchr(e->type, '\r', e->type_len) || memchr(e->id, '\n', e->id_len) || memchr(e->id, '\r', e->id_len) ||
        memchr(e->id, 0, e->id_len))
        abort();
}

/* "name:" then 'v', with a separating space when 'v' starts with one (so
   the line is never longer than the one it came from). */
static void field(buf *o, const char *name, const char *v, size_t n)
{
    put(o, name, strlen(name));
    put(o, ":", 1);
    if (n && v[0] == ' ')
        put(o, " ", 1);
    put(o, v, n);
    put(o, "\n", 1);
}

static void write_event(buf *o, const sse_event *e)
{
    field(o, "event", e->type, e->type_len);
    field(o, "id", e->id, e->id_len);
    if (e->retry_ms >= 0) {
        char r[32];
        int n = snprintf(r, sizeof r, "%lld", (long long)e->retry_ms);
        field(o, "retry", r, (size_t)n);
    }
    const char *p = e->data, *end = e->data + e->data_len;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        field(o, "data", p, (size_t)((nl ? nl : end) - p));
        if (!nl)
            break;
        p = nl + 1;
    }
    put(o, "\n", 1);
}

static uint64_t digest(uint64_t h, const sse_event *e)
{
    h = mix(h, e->type, e->type_len + 1);
    h = mix(h, e->data, e->data_len + 1);
    h = mix(h, e->id, e->id_len + 1);
    return mix(h, &e->retry_ms, sizeof e->retry_ms);
}

/* Decodes b[0..n) in pieces cycling through 1..'cycle' bytes (0: whole).
   Returns a digest of the events (not of their end marks), the final
   status in 'end', and whether every event was terminated; writes the
   events out into 'out' if given. */
static uint64_t run(const uint8_t *b, size_t n, size_t cycle, size_t max_event, buf *out, int *end,
                    int *all_terminated)
{
    sse_decoder *d = sse_decoder_new(max_event);
    if (!d)
        abort();
    uint64_t h = 1469598103934665603ull;
    size_t pos = 0, k = 0;
    sse_status st = SSE_NEED;
    sse_event e;
    *all_terminated = 1;
    while (pos < n && st >= 0) {
        size_t len = cycle ? 1 + k++ % cycle : n;
        if (len > n - pos)
            len = n - pos;
        size_t off = 0;
        while (off < len) {
            size_t used;
            st = sse_feed(d, b + pos + off, len - off, &used, &e);
            off += used;
            if (st != SSE_EVENT)
                break;
            check_event(&e, max_event);
            h = digest(h, &e);
            if (out)
                write_event(out, &e);
        }
        pos += len;
    }
    if (st >= 0) {
        st = sse_finish(d, &e);
        if (st == SSE_EVENT) {
            check_event(&e, max_event);
            if (!e.unterminated)
                abort();
            *all_terminated = 0;
            h = digest(h, &e);
            if (out)
                write_event(out, &e);
        }
    }
    *end = st;
    sse_decoder_free(d);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t max_event = mode & 1 ? 16u + 8u * (mode >> 3) : SSE_MAX_EVENT;
    const uint8_t *s = data + 1;
    size_t n = size - 1;
    buf out = { 0 };
    int end, end2, term, term2;
    put(&out, "", 0);
    uint64_t a = run(s, n, 0, max_event, &out, &end, &term);
    uint64_t b = run(s, n, (size_t)(mode >> 1) + 1, max_event, NULL, &end2, &term2);
    if (a != b || end != end2)
        abort();
    /* the events written out again decode to themselves, cleanly */
    if (end == SSE_END || end == SSE_EVENT || end == SSE_ERR_TRUNCATED) {
        int end3, term3;
        uint64_t c = run((const uint8_t *)out.p, out.len, 0, max_event, NULL, &end3, &term3);
        if (c != a || end3 != SSE_END || !term3)
            abort();
    }
    free(out.p);
    return 0;
}
