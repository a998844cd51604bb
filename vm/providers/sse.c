/* Server-Sent Events decoder (see sse.h for the rules it follows, its one
   departure from the specification, its caps and who owns what).

   Two stages run byte by byte, so a piece may end anywhere: a UTF-8
   decoder (the WHATWG algorithm: each maximal invalid subpart becomes
   U+FFFD, a leading BOM is dropped) feeding a line machine that parses
   fields as their bytes arrive and writes values straight into the buffer
   of their field -- the data, the event type or the id -- so a line is
   never buffered whole and comments or unknown fields are never stored.
   A CR ends a line at once and remembers to swallow an LF that may follow
   in the next piece.  An event found mid-piece is returned with the count
   of bytes consumed; its buffers are cleared at the next call.

   Two fast paths take what the byte path would, in bulk: a whole line
   whose end is in the piece and whose bytes are valid UTF-8 (which the
   UTF-8 stage passes through unchanged) is taken at once -- its field
   name read, its value copied -- and a run of plain ASCII inside a value
   or comment is copied at once.  Either stops short of a cap, so that the
   byte path reports the error at the same byte.

   Its neighbours: the OpenAI and Anthropic providers (issue 8) turn each
   event's data into JSON; the gateway writes SSE, it does not read it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "builtins.h"
#include "mem.h"
#include "sse.h"

enum { LS_START, LS_NAME, LS_VALUE, LS_COMMENT };           /* line machine */
enum { F_DATA, F_EVENT, F_ID, F_RETRY, F_OTHER };           /* fields */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

struct sse_decoder {
    size_t max;
    sse_status failed;             /* sticky error, 0 while healthy */
    char err[160];
    /* UTF-8 stage */
    uint8_t u8[4];
    int u8_need, u8_seen, started;
    uint8_t lo, hi;
    /* line stage */
    int state, field, value_started, skip_lf;
    char name[8];
    size_t nlen, line_len;
    unsigned long long lineno;
    sbuf data, type, id, idtmp;
    int id_nul;
    int64_t retry, retry_acc;
    int retry_digits, retry_bad;
    int pending;                   /* field lines since the last dispatch */
    int dispatched, finished;      /* what to clear at the next call */
    sse_event cur;
};

static sse_status fail(sse_decoder *d, sse_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sse_status fail(sse_decoder *d, sse_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    d->failed = st;
    return st;
}

const char *sse_status_name(sse_status st)
{
    switch (st) {
    case SSE_NEED: return "need more bytes";
    case SSE_EVENT: return "event";
    case SSE_END: return "end";
    case SSE_ERR_LINE: return "line too long";
    case SSE_ERR_EVENT: return "event too large";
    case SSE_ERR_TRUNCATED: return "stream ended inside an event";
    case SSE_ERR_NOMEM: return "out of memory";
    }
    return "unknown status";
}

/* ------------------------------------------------------------------ */
/* Buffers and state                                                   */
/* ------------------------------------------------------------------ */

/* Appends 'c' to 'b', which may hold at most 'limit' bytes. */
static int sb_add(sse_decoder *d, sbuf *b, char c, size_t limit, const char *what)
{
    if (b->len >= limit)
        return fail(d, SSE_ERR_EVENT, "line %llu: %s exceeds %zu bytes", d->lineno, what, d->max);
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        if (cap > limit + 2)
            cap = limit + 2;
        char *p = mem_realloc(b->p, cap);
        if (!p)
            return fail(d, SSE_ERR_NOMEM, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = 0;
    return 0;
}

/* Appends s[0..n) to 'b'; the caller has checked the cap. */
static int sb_addn(sse_decoder *d, sbuf *b, const uint8_t *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = mem_realloc(b->p, cap);
        if (!p)
            return fail(d, SSE_ERR_NOMEM, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

static const char *sb_str(const sbuf *b) { return b->p ? b->p : ""; }
static void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static void clear_stream(sse_decoder *d)
{
    d->failed = 0;
    d->err[0] = 0;
    d->u8_need = d->u8_seen = d->started = 0;
    d->lo = 0x80;
    d->hi = 0xBF;
    d->state = LS_START;
    d->skip_lf = 0;
    d->line_len = 0;
    d->lineno = 1;
    sb_clear(&d->data);
    sb_clear(&d->type);
    sb_clear(&d->id);
    sb_clear(&d->idtmp);
    d->retry = -1;
    d->pending = d->dispatched = d->finished = 0;
}

sse_decoder *sse_decoder_new(size_t max_event)
{
    sse_decoder *d = mem_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->max = max_event == 0 ? SSE_MAX_EVENT : max_event > SSE_MAX_EVENT_CAP ? SSE_MAX_EVENT_CAP : max_event;
    clear_stream(d);
    return d;
}

void sse_decoder_free(sse_decoder *d)
{
    if (!d)
        return;
    free(d->data.p);
    free(d->type.p);
    free(d->id.p);
    free(d->idtmp.p);
    free(d);
}

void sse_decoder_reset(sse_decoder *d) { clear_stream(d); }

const char *sse_decoder_error(const sse_decoder *d) { return d->err; }

/* ------------------------------------------------------------------ */
/* The line machine                                                    */
/* ------------------------------------------------------------------ */

/* The field named s[0..n) (exact, case-sensitive). */
static int field_of(const char *s, size_t n)
{
    switch (n) {
    case 2: return !memcmp(s, "id", 2) ? F_ID : F_OTHER;
    case 4: return !memcmp(s, "data", 4) ? F_DATA : F_OTHER;
    case 5: return !memcmp(s, "event", 5) ? F_EVENT : !memcmp(s, "retry", 5) ? F_RETRY : F_OTHER;
    }
    return F_OTHER;
}

/* The value of field 'f' begins. */
static void begin_field(sse_decoder *d, int f)
{
    d->field = f;
    d->value_started = 0;
    d->state = LS_VALUE;
    if (d->field == F_EVENT)
        sb_clear(&d->type);        /* the value replaces the type */
    else if (d->field == F_ID) {
        sb_clear(&d->idtmp);
        d->id_nul = 0;
    } else if (d->field == F_RETRY) {
        d->retry_acc = 0;
        d->retry_digits = d->retry_bad = 0;
    }
}

/* The name collected in d->name ends: its value begins. */
static void begin_value(sse_decoder *d)
{
    begin_field(d, field_of(d->name, d->nlen));
}

static int value_byte(sse_decoder *d, uint8_t c)
{
    switch (d->field) {
    case F_DATA:                   /* +1: each line's \n, the last one dropped */
        return sb_add(d, &d->data, (char)c, d->max + 1, "an event's data");
    case F_EVENT:
        return sb_add(d, &d->type, (char)c, d->max, "an event type");
    case F_ID:
        if (c == 0)
            d->id_nul = 1;
        return sb_add(d, &d->idtmp, (char)c, d->max, "an event id");
    case F_RETRY:
        if (c >= '0' && c <= '9') {
            d->retry_digits++;
            d->retry_acc = d->retry_acc > (INT64_MAX - 9) / 10 ? INT64_MAX : d->retry_acc * 10 + (c - '0');
        } else {
            d->retry_bad = 1;
        }
        return 0;
    }
    return 0;                      /* an unknown field: ignored */
}

static int finish_field(sse_decoder *d)
{
    d->pending++;
    switch (d->field) {
    case F_DATA:
        return sb_add(d, &d->data, '\n', d->max + 1, "an event's data");
    case F_ID:
        if (!d->id_nul) {          /* an id with NUL is ignored */
            sbuf t = d->id;
            d->id = d->idtmp;
            d->idtmp = t;
        }
        return 0;
    case F_RETRY:
        if (d->retry_digits && !d->retry_bad)
            d->retry = d->retry_acc;
        return 0;
    }
    return 0;
}

/* Fills d->cur from the buffers; 'unterminated'/'cut' for sse_finish. */
static void make_event(sse_decoder *d, int unterminated, int cut)
{
    d->data.p[--d->data.len] = 0;  /* the last line's \n */
    d->cur.type = d->type.len ? d->type.p : "message";
    d->cur.type_len = d->type.len ? d->type.len : 7;
    d->cur.data = d->data.p;
    d->cur.data_len = d->data.len;
    d->cur.id = sb_str(&d->id);
    d->cur.id_len = d->id.len;
    d->cur.retry_ms = d->retry;
    d->cur.unterminated = unterminated;
    d->cur.cut_line = cut;
}

/* A blank line: 1 with d->cur filled when there is an event. */
static int dispatch(sse_decoder *d)
{
    d->pending = 0;
    if (d->data.len == 0) {        /* no data line: nothing to dispatch */
        sb_clear(&d->type);
        return 0;
    }
    make_event(d, 0, 0);
    d->dispatched = 1;
    return 1;
}

static int end_line(sse_decoder *d)
{
    int st = d->state, r = 0;
    d->state = LS_START;
    d->line_len = 0;
    d->lineno++;
    if (st == LS_START)
        return dispatch(d);
    if (st == LS_NAME)
        begin_value(d);            /* a field with no colon: empty value */
    if (st == LS_NAME || st == LS_VALUE)
        r = finish_field(d);
    d->state = LS_START;
    return r;
}

/* One decoded byte: 0, 1 (an event in d->cur) or an error. */
static int line_byte(sse_decoder *d, uint8_t c)
{
    if (d->skip_lf) {
        d->skip_lf = 0;
        if (c == '\n')
            return 0;              /* the LF of a CRLF */
    }
    if (c == '\r' || c == '\n') {
        d->skip_lf = c == '\r';
        return end_line(d);
    }
    if (++d->line_len > d->max)
        return fail(d, SSE_ERR_LINE, "line %llu is longer than %zu bytes", d->lineno, d->max);
    switch (d->state) {
    case LS_START:
        if (c == ':') {
            d->state = LS_COMMENT;
        } else {
            d->state = LS_NAME;
            d->name[0] = (char)c;
            d->nlen = 1;
        }
        return 0;
    case LS_NAME:
        if (c == ':') {
            begin_value(d);
            return 0;
        }
        if (d->nlen < sizeof d->name)
            d->name[d->nlen] = (char)c;
        if (d->nlen < sizeof d->name + 1)
            d->nlen++;             /* past 8 bytes no field can match */
        return 0;
    case LS_VALUE:
        if (!d->value_started) {
            d->value_started = 1;
            if (c == ' ')
                return 0;          /* one space after the colon */
        }
        return value_byte(d, c);
    }
    return 0;                      /* a comment */
}

/* ------------------------------------------------------------------ */
/* The UTF-8 stage                                                     */
/* ------------------------------------------------------------------ */

static int replacement(sse_decoder *d)
{
    static const uint8_t fffd[3] = { 0xEF, 0xBF, 0xBD };
    d->started = 1;
    for (int i = 0; i < 3; i++) {
        int r = line_byte(d, fffd[i]);
        if (r)
            return r;              /* an error: U+FFFD ends no line */
    }
    return 0;
}

/* One input byte that is not plain ASCII between code points (WHATWG
   "UTF-8 decoder"). */
static int utf8_byte(sse_decoder *d, uint8_t c)
{
    for (;;) {
        if (d->u8_need == 0) {
            if (c < 0x80) {
                d->started = 1;
                return line_byte(d, c);
            }
            if (c >= 0xC2 && c <= 0xDF) {
                d->u8_need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                if (c == 0xE0)
                    d->lo = 0xA0;
                if (c == 0xED)
                    d->hi = 0x9F;
                d->u8_need = 2;
            } else if (c >= 0xF0 && c <= 0xF4) {
                if (c == 0xF0)
                    d->lo = 0x90;
                if (c == 0xF4)
                    d->hi = 0x8F;
                d->u8_need = 3;
            } else {
                return replacement(d);
            }
            d->u8[0] = c;
            d->u8_seen = 0;
            return 0;
        }
        if (c < d->lo || c > d->hi) {
            /* the sequence so far is one error; 'c' starts afresh */
            d->u8_need = d->u8_seen = 0;
            d->lo = 0x80;
            d->hi = 0xBF;
            int r = replacement(d);
            if (r)
                return r;
            continue;
        }
        d->lo = 0x80;
        d->hi = 0xBF;
        d->u8[++d->u8_seen] = c;
        if (d->u8_seen < d->u8_need)
            return 0;
        int n = d->u8_need + 1;
        d->u8_need = d->u8_seen = 0;
        if (!d->started && n == 3 && d->u8[0] == 0xEF && d->u8[1] == 0xBB && d->u8[2] == 0xBF) {
            d->started = 1;        /* a leading BOM */
            return 0;
        }
        d->started = 1;
        for (int i = 0; i < n; i++) {
            int r = line_byte(d, d->u8[i]);
            if (r)
                return r;          /* only an error: no line end inside */
        }
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static void settle(sse_decoder *d)
{
    if (d->finished) {
        clear_stream(d);
    } else if (d->dispatched) {
        sb_clear(&d->data);
        sb_clear(&d->type);
        d->dispatched = 0;
    }
}

/* Are the eight bytes at 'p' ASCII other than CR and LF?  A word at a
   time: a CR or LF zeroes its byte in v ^ '\r'.. or v ^ '\n'.., which
   the "has a zero byte" test finds; a byte from 0x80 has its top bit
   set.  (A false alarm only sends the bytes the byte-wise way.) */
static int plain8(const uint8_t *p)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t v, cr, lf;
    memcpy(&v, p, 8);
    cr = v ^ (ones * '\r');
    lf = v ^ (ones * '\n');
    return !((v | ((cr - ones) & ~cr) | ((lf - ones) & ~lf)) & high);
}

/* The fast path: a run of ASCII bytes other than CR and LF inside a value
   or a comment is taken at once, exactly as line_byte() would take it byte
   by byte, up to where a cap would be passed: the byte past it goes the
   byte path, so the error and the line it names are the same either way.
   Returns the bytes taken (0: use the byte path), or sets '*r' to an
   error. */
static size_t ascii_run(sse_decoder *d, const uint8_t *p, size_t n, int *r)
{
    int comment = d->state == LS_COMMENT;
    if (d->u8_need || d->skip_lf || (!comment && (d->state != LS_VALUE || !d->value_started)))
        return 0;
    sbuf *b = NULL;
    size_t limit = d->max;
    if (!comment) {
        switch (d->field) {
        case F_DATA:
            b = &d->data;
            limit = d->max + 1;
            break;
        case F_EVENT:
            b = &d->type;
            break;
        case F_ID:
            b = &d->idtmp;
            break;
        case F_RETRY:
            return 0;              /* digits are counted one by one */
        }
    }
    size_t room = d->max - d->line_len;
    if (b && limit - b->len < room)
        room = limit - b->len;
    if (n > room)
        n = room;
    size_t k = 0;
    while (n - k >= 8 && plain8(p + k))
        k += 8;
    while (k < n && p[k] < 0x80 && p[k] != '\r' && p[k] != '\n')
        k++;
    if (k == 0)
        return 0;
    if (b == &d->idtmp && memchr(p, 0, k))
        d->id_nul = 1;
    if (b && (*r = sb_addn(d, b, p, k)))
        return 0;
    d->line_len += k;
    d->started = 1;
    return k;
}

/* The line fast path: a whole line s[0..n) (its CR or LF is in the piece
   too, not counted), taken at once as line_byte() would take its bytes
   one by one -- a comment, or a field and its value written to the field's
   buffer -- leaving the state at the line's end for end_line().  The
   caller has checked that the decoder is between lines, that the line is
   at most the cap and that its bytes are valid UTF-8 (which the UTF-8
   stage passes through unchanged).  Returns 0 without changing anything
   when the value would pass its field's cap, so that the byte path fails
   at the same byte with the same message; 0 with the decoder failed when
   out of memory. */
static int whole_line(sse_decoder *d, const uint8_t *s, size_t n)
{
    if (n == 0)
        return 1;
    if (s[0] == ':') {
        d->state = LS_COMMENT;
        return 1;
    }
    const uint8_t *colon = memchr(s, ':', n);
    size_t nl = colon ? (size_t)(colon - s) : n, off = colon ? nl + 1 : n;
    if (off < n && s[off] == ' ')
        off++;                     /* one space after the colon */
    const uint8_t *v = s + off;
    size_t vl = n - off;
    int f = field_of((const char *)s, nl);
    if (f == F_DATA && vl > d->max + 1 - d->data.len)
        return 0;
    begin_field(d, f);
    d->state = LS_VALUE;
    d->value_started = 1;
    switch (f) {
    case F_DATA:
        return !sb_addn(d, &d->data, v, vl);
    case F_EVENT:                  /* the line is within the cap, so is its value */
        return !sb_addn(d, &d->type, v, vl);
    case F_ID:
        if (memchr(v, 0, vl))
            d->id_nul = 1;
        return !sb_addn(d, &d->idtmp, v, vl);
    case F_RETRY:
        for (size_t k = 0; k < vl; k++)
            value_byte(d, v[k]);
        return 1;
    }
    return 1;                      /* an unknown field: ignored */
}

/* Where p[0..n) first holds a CR, an LF or a byte above 0x7f (n when
   nowhere): sixteen bytes at a time where SSE2 is (x86-64 always has
   it), the last sixteen overlapping the ones before. */
static size_t stop_byte(const uint8_t *p, size_t n)
{
    size_t k = 0;
#ifdef __SSE2__
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    while (n >= 16) {
        if (n - k < 16)
            k = n - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), v));
        if (m)
            return k + (size_t)__builtin_ctz((unsigned)m);
        if ((k += 16) == n)
            return n;
    }
#endif
    while (k < n && p[k] != '\r' && p[k] != '\n' && p[k] < 0x80)
        k++;
    return k;
}

/* The next line end at or after p[i], in p[0..len): the first CR before
   the first LF, else that LF, else 'len'.  '*lf' caches where the next LF
   is (SIZE_MAX: not looked for yet), so that the LF is searched for once
   per piece whatever the line ends: a piece of CR-ended lines is not
   rescanned to its end at every line. */
static size_t next_line_end(const uint8_t *p, size_t i, size_t len, size_t *lf)
{
    if (*lf == SIZE_MAX || *lf < i) {
        const uint8_t *q = memchr(p + i, '\n', len - i);
        *lf = q ? (size_t)(q - p) : len;
    }
    const uint8_t *cr = memchr(p + i, '\r', *lf - i);
    return cr ? (size_t)(cr - p) : *lf;
}

sse_status sse_feed(sse_decoder *d, const void *buf, size_t len, size_t *used, sse_event *ev)
{
    const uint8_t *p = buf;
    *used = 0;
    settle(d);
    if (d->failed)
        return d->failed;
    size_t lf = SIZE_MAX;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        int r = 0;
        if (d->state == LS_START && !d->skip_lf && !d->u8_need && (d->started || c < 0x80)) {
            size_t n = stop_byte(p + i, len - i);
            if (n < len - i && p[i + n] >= 0x80) {     /* UTF-8 (or not) in the line: check it */
                n = next_line_end(p, i, len, &lf) - i;
                if (bi_utf8_invalid((const char *)p + i, n) != n)
                    n = len - i;
            }
            if (n < len - i && n <= d->max) {
                d->started = 1;
                if (!whole_line(d, p + i, n)) {
                    if (d->failed) {       /* out of memory */
                        *used = i + 1;
                        return d->failed;
                    }
                } else {
                    i += n;
                    d->skip_lf = p[i] == '\r';
                    r = end_line(d);
                    if (r) {
                        *used = i + 1;
                        if (r == 1) {
                            *ev = d->cur;
                            return SSE_EVENT;
                        }
                        return (sse_status)r;
                    }
                    continue;
                }
            }
        }
        size_t run = ascii_run(d, p + i, len - i, &r);
        if (run) {
            i += run - 1;
            continue;
        }
        if (r) {
            *used = i;
            return (sse_status)r;
        }
        if (d->u8_need == 0 && c < 0x80) {
            d->started = 1;
            r = line_byte(d, c);
        } else {
            r = utf8_byte(d, c);
        }
        if (r) {
            *used = i + 1;
            if (r == 1) {
                *ev = d->cur;
                return SSE_EVENT;
            }
            return (sse_status)r;
        }
    }
    *used = len;
    return SSE_NEED;
}

sse_status sse_finish(sse_decoder *d, sse_event *ev)
{
    settle(d);
    if (d->failed)
        return d->failed;
    if (d->u8_need) {              /* a sequence cut by the end: U+FFFD */
        d->u8_need = d->u8_seen = 0;
        d->lo = 0x80;
        d->hi = 0xBF;
        int r = replacement(d);
        if (r)
            return (sse_status)r;
    }
    int cut = d->state != LS_START;
    if (cut) {
        int st = d->state, r = 0;
        if (st == LS_NAME)
            begin_value(d);
        if (st == LS_NAME || st == LS_VALUE)
            r = finish_field(d);
        d->state = LS_START;
        if (r)
            return (sse_status)r;
    }
    d->finished = 1;
    if (d->data.len) {
        make_event(d, 1, cut);
        *ev = d->cur;
        return SSE_EVENT;
    }
    if (d->pending || cut) {
        snprintf(d->err, sizeof d->err, "the stream ended inside %s (line %llu)",
                 cut ? "a line" : "an event", d->lineno);
        return SSE_ERR_TRUNCATED;
    }
    return SSE_END;
}
