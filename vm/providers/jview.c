/* JSON answers through yajl callbacks; see jview.h.  The callbacks are
   called by jsonfast (vm/jsonfast.h), the one-pass reader that makes
   yajl's calls, and by yajl for a text jsonfast declines (read again
   from the start: the node table is emptied first).

   Nodes live in one table, kept between parses so that a stream's
   hundredth event allocates nothing.  A key or string without escapes is
   a view of the caller's text (yajl hands those over in place); one with
   escapes is in a buffer that is kept likewise ('str'): jsonfast decodes
   it there (str_room), and what yajl decoded is copied there.  Children
   are linked in order (first, next), with a parent link so that walking
   a document needs no recursion.

   What yajl does not check and jansson did is checked here: no vertical
   tab or form feed (yajl's whitespace, not JSON's), the whole text as
   strict UTF-8 first (outside strings any byte above 0x7f is a
   syntax error anyway, so checking everything is checking the strings),
   then every \u escape (a backslash only ever occurs inside a string in
   a valid text, each starting a two-byte escape): no \u0000, no unpaired
   surrogate.  A text with none of those bytes (no byte above 0x7f, no
   backslash, no vertical tab or form feed: most events of a stream) needs
   none of those checks, which one pass finds out.  So a string yajl hands
   over never holds NUL: a raw one is a syntax error to yajl, an escaped
   one is refused before.  Duplicate keys: each new key of a small object
   is compared with the ones before it; a larger object's keys are sorted
   when it closes.  Numbers as jansson reads them: no '.', 'e' or 'E' is an
   integer that must fit in int64, anything else a real that must be
   finite. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yajl/yajl_parse.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "builtins.h"
#include "jsonfast.h"
#include "jsonscan.h"
#include "jview.h"
#include "mem.h"

#define PAIRWISE_KEYS 16

#define K_INPUT 1               /* the key is in the input text, not in 'str' */
#define S_INPUT 2               /* the string likewise */

typedef struct {
    uint8_t type;               /* jv_type */
    uint8_t flags;              /* K_INPUT, S_INPUT */
    char k0;                    /* a member's key's first byte (0 for an empty key) */
    jv parent, first, last, next;
    uint32_t key, klen;         /* member of an object: its key (offset in the input or 'str') */
    uint32_t n;                 /* container: children */
    union {
        struct { uint32_t off, len; } s;
        int64_t i;
        double r;
        uint64_t keys;          /* an object: the key_bit of each member's key */
    } v;
} node;

struct jv_parser {
    node *nodes;                /* [0] is the "no node" */
    uint32_t nnode, capnode;
    const char *in;             /* the text being read (the caller's, borrowed) */
    size_t inlen;
    char *str;                  /* the strings with escapes, decoded, each NUL-terminated */
    size_t nstr, capstr;
    jv open;                    /* the innermost open container, 0 at the top */
    uint32_t depth;
    uint32_t pkey, pklen;       /* the key the next value belongs to */
    int pkin;                   /* ... in the input (else in 'str') */
    char pk0;                   /* ... its first byte */
    jv root;
    int dups;                   /* duplicate keys taken */
    int oom;
    char err[128];
    uint32_t *sortbuf;          /* duplicate keys of large objects */
    size_t capsort;
    yajl_handle h;              /* kept between documents while they parse cleanly */
    jf_reader *fast;            /* the one-pass reader while it reads (then not yajl) */
    size_t root_end;            /* where the root's closing bracket ended */
};

jv_parser *jv_new(void)
{
    return mem_calloc(1, sizeof(jv_parser));
}

void jv_free(jv_parser *p)
{
    if (!p)
        return;
    free(p->nodes);
    free(p->str);
    free(p->sortbuf);
    if (p->h)
        yajl_free(p->h);
    free(p);
}

const char *jv_error(const jv_parser *p) { return p->err; }

static int fail(jv_parser *p, const char *msg)
{
    if (!p->err[0]) {
        snprintf(p->err, sizeof p->err, "%s", msg);
        for (char *c = p->err; *c; c++)     /* yajl's messages end in a newline */
            if (*c == '\n')
                *c = ' ';
    }
    return 0;
}

/* A key's or string's bytes: a view of the input when yajl passed one (no
   escapes), else its decoded bytes in 'str'. */
static const char *key_of(const jv_parser *p, const node *x)
{
    return (x->flags & K_INPUT ? p->in : p->str) + x->key;
}

static const char *str_of(const jv_parser *p, const node *x)
{
    return (x->flags & S_INPUT ? p->in : p->str) + x->v.s.off;
}

/* Where yajl's bytes are: 1 with their offset in the input when they are
   a view of it (yajl passes those for strings without escapes; they
   live as long as the caller's text), else 0.  (Addresses compared as
   integers: a pointer into another object is not "before" the input in
   C's sense.) */
static inline int in_input(const jv_parser *p, const unsigned char *s, size_t n, uint32_t *off)
{
    uintptr_t d = (uintptr_t)s - (uintptr_t)p->in;
    if (d > p->inlen || n > p->inlen - d)
        return 0;
    *off = (uint32_t)d;
    return 1;
}

/* ---------------------------------------------------------------- building */

/* Room in 'str' for a string of 'n' bytes and its NUL, at p->str +
   p->nstr; 0 out of memory (or past 4 GiB: offsets are 32 bits). */
static int str_grow(jv_parser *p, size_t n)
{
    if (p->nstr + n + 1 <= p->capstr)
        return 1;
    size_t cap = p->capstr ? p->capstr : 4096;
    while (cap < p->nstr + n + 1)
        cap *= 2;
    char *b = cap > UINT32_MAX ? NULL : mem_realloc(p->str, cap);
    if (!b) {
        p->oom = 1;
        return 0;
    }
    p->str = b;
    p->capstr = cap;
    return 1;
}

/* jsonfast's room (vm/jsonfast.h): the place in 'str' where the next
   string is kept, for jsonfast to decode the string into. */
static char *str_room(void *ud, size_t n)
{
    jv_parser *p = ud;
    return str_grow(p, n) ? p->str + p->nstr : NULL;
}

/* The string s[0..n) kept in 'str' (where it already is when jsonfast
   decoded it there); its offset, or UINT32_MAX out of memory. */
static uint32_t keep_str(jv_parser *p, const unsigned char *s, size_t n)
{
    uint32_t off = (uint32_t)p->nstr;
    if (!p->str || (const char *)s != p->str + off) {     /* not in its room: yajl's */
        if (!str_grow(p, n))
            return UINT32_MAX;
        memcpy(p->str + off, s, n);
    }
    p->str[off + n] = 0;
    p->nstr += n + 1;
    return off;
}

/* A new node of 'type' as the next value: linked under the open container
   with the pending key.  Inline: one is made for every value. */
static __attribute__((noinline)) int grow_nodes(jv_parser *p)
{
    uint32_t cap = p->capnode ? p->capnode * 2 : 256;
    node *b = p->capnode > UINT32_MAX / 4 ? NULL : mem_realloc(p->nodes, cap * sizeof *b);
    if (!b) {
        p->oom = 1;
        return 0;
    }
    p->nodes = b;
    p->capnode = cap;
    return 1;
}

static inline __attribute__((always_inline)) node *add(jv_parser *p, jv_type type)
{
    if (p->nnode == p->capnode && !grow_nodes(p))
        return NULL;
    jv id = p->nnode++;
    node *x = &p->nodes[id];
    x->type = (uint8_t)type;
    x->flags = 0;
    x->k0 = 0;
    x->parent = p->open;
    x->first = x->last = x->next = 0;
    x->key = x->klen = x->n = 0;
    x->v.i = 0;
    if (p->open) {
        node *c = &p->nodes[p->open];
        if (c->type == JV_OBJECT) {
            x->key = p->pkey;
            x->klen = p->pklen;
            x->flags = p->pkin ? K_INPUT : 0;
            x->k0 = p->pk0;
        }
        if (c->last)
            p->nodes[c->last].next = id;
        else
            c->first = id;
        c->last = id;
        c->n++;
    } else if (p->root) {
        fail(p, "more than one value");
        return NULL;
    } else
        p->root = id;
    return x;
}

static int on_null(void *ud) { return add(ud, JV_NULL) != NULL; }
static int on_bool(void *ud, int b) { return add(ud, b ? JV_TRUE : JV_FALSE) != NULL; }

/* A number as yajl lexed it (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?):
   an integer when it is digits only, which must fit in int64 (jansson's
   "too big integer"), else a real, which must be finite. */
static int on_number(void *ud, const char *s, size_t n)
{
    jv_parser *p = ud;
    int neg = n && s[0] == '-', over = 0;
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t k = (size_t)neg;
    if (n - k <= 18) {          /* the common integer: 18 digits cannot overflow */
        for (; k < n; k++) {
            unsigned d = (unsigned char)s[k] - '0';
            if (d > 9)
                break;
            acc = acc * 10 + d;
        }
        if (k == n) {
            node *x = add(p, JV_INTEGER);
            if (!x)
                return 0;
            x->v.i = neg ? -(int64_t)acc : (int64_t)acc;
            return 1;
        }
        k = (size_t)neg;
        acc = 0;
    }
    for (; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
        uint64_t d = (uint64_t)(s[k] - '0');
        if (k - (size_t)neg >= 18 && (over || acc > (lim - d) / 10))
            over = 1;           /* 18 digits cannot overflow; past them, each is checked */
        else
            acc = acc * 10 + d;
    }
    if (k == n && over)
        return fail(p, "too big integer");
    node *x;
    if (k == n) {
        if (!(x = add(p, JV_INTEGER)))
            return 0;
        x->v.i = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
        return 1;
    }
    char buf[64], *copy = n < sizeof buf ? buf : mem_malloc(n + 1);
    if (!copy) {
        p->oom = 1;
        return 0;
    }
    memcpy(copy, s, n);
    copy[n] = 0;
    double r = strtod(copy, NULL);
    if (copy != buf)
        free(copy);
    if (!isfinite(r))
        return fail(p, "real number overflow");
    if (!(x = add(p, JV_REAL)))
        return 0;
    x->v.r = r;
    return 1;
}

/* A string with escapes: kept in 'str'. */
static __attribute__((noinline)) int string_copied(jv_parser *p, const unsigned char *s, size_t n)
{
    uint32_t off = keep_str(p, s, n);
    node *x = off == UINT32_MAX ? NULL : add(p, JV_STRING);
    if (!x)
        return 0;
    x->v.s.off = off;
    x->v.s.len = (uint32_t)n;
    return 1;
}

static int on_string(void *ud, const unsigned char *s, size_t n)
{
    jv_parser *p = ud;
    uint32_t off;
    if (!in_input(p, s, n, &off))
        return string_copied(p, s, n);
    node *x = add(p, JV_STRING);
    if (!x)
        return 0;
    x->flags |= S_INPUT;
    x->v.s.off = off;
    x->v.s.len = (uint32_t)n;
    return 1;
}

/* Every object keeps the bits of its keys (jv_key_bit, in its node's
   'v', which a container does not use): a lookup of a key whose bit is
   not set is answered without a walk, and in a small object only a new
   key whose bit is already set is compared with the keys before it. */
static inline uint64_t key_bit(const unsigned char *s, size_t n)
{
    return jv_key_bit((const char *)s, n);
}

/* Is key s[0..n) already a member of the open object 'o'? */
static int repeated(const jv_parser *p, const node *o, const unsigned char *s, size_t n)
{
    for (jv c = o->first; c; c = p->nodes[c].next) {
        const node *m = &p->nodes[c];
        if (m->klen == n && (!n || m->k0 == (char)s[0]) && js_same(key_of(p, m), (const char *)s, n))
            return 1;
    }
    return 0;
}

/* on_key's every case: a key with escapes (kept in 'str'), an empty
   key, a key whose bit its object has already seen. */
static __attribute__((noinline)) int key_slow(jv_parser *p, const unsigned char *s, size_t n)
{
    uint32_t off;
    int in = in_input(p, s, n, &off);
    if (!in && (off = keep_str(p, s, n)) == UINT32_MAX)
        return 0;
    node *o = &p->nodes[p->open];
    if (o->n < PAIRWISE_KEYS && !p->dups && repeated(p, o, s, n))
        return fail(p, "duplicate object key");
    o->v.keys |= key_bit(s, n);
    p->pkey = off;
    p->pklen = (uint32_t)n;
    p->pkin = in;
    p->pk0 = n ? (char)s[0] : 0;
    return 1;
}

/* The common key -- a view of the text, its bit new to its object --
   without a call (key_slow takes the rest). */
static int on_key(void *ud, const unsigned char *s, size_t n)
{
    jv_parser *p = ud;
    uintptr_t d = (uintptr_t)s - (uintptr_t)p->in;
    if (!n || d > p->inlen || n > p->inlen - d)
        return key_slow(p, s, n);
    node *o = &p->nodes[p->open];
    uint64_t bit = key_bit(s, n);
    if ((o->v.keys & bit) && o->n < PAIRWISE_KEYS && !p->dups)
        return key_slow(p, s, n);
    o->v.keys |= bit;
    p->pkey = (uint32_t)d;
    p->pklen = (uint32_t)n;
    p->pkin = 1;
    p->pk0 = (char)s[0];
    return 1;
}

static inline int open_container(jv_parser *p, jv_type t)
{
    if (p->depth == JV_MAX_DEPTH)
        return fail(p, "maximum parsing depth reached");
    if (!add(p, t))
        return 0;
    p->open = p->nnode - 1;
    p->depth++;
    return 1;
}

static int on_start_map(void *ud) { return open_container(ud, JV_OBJECT); }
static int on_start_array(void *ud) { return open_container(ud, JV_ARRAY); }

static int key_cmp(const void *x, const void *y, void *ctx)
{
    const jv_parser *p = ctx;
    const node *a = &p->nodes[*(const uint32_t *)x], *b = &p->nodes[*(const uint32_t *)y];
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(key_of(p, a), key_of(p, b), n);
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* A large object's keys, sorted: any two equal neighbours are a
   duplicate. */
static int large_object_keys(jv_parser *p, const node *o)
{
    if (o->n > p->capsort) {
        uint32_t *b = mem_realloc(p->sortbuf, o->n * sizeof *b);
        if (!b) {
            p->oom = 1;
            return 0;
        }
        p->sortbuf = b;
        p->capsort = o->n;
    }
    uint32_t k = 0;
    for (jv c = o->first; c; c = p->nodes[c].next)
        p->sortbuf[k++] = c;
    qsort_r(p->sortbuf, k, sizeof *p->sortbuf, key_cmp, p);
    for (uint32_t i = 1; i < k; i++)
        if (!key_cmp(&p->sortbuf[i - 1], &p->sortbuf[i], p))
            return fail(p, "duplicate object key");
    return 1;
}

static int on_end(void *ud)
{
    jv_parser *p = ud;
    const node *o = &p->nodes[p->open];
    if (o->type == JV_OBJECT && o->n > PAIRWISE_KEYS && !p->dups && !large_object_keys(p, o))
        return 0;
    p->open = o->parent;
    if (!--p->depth)
        p->root_end = p->fast ? jf_consumed(p->fast) : yajl_get_bytes_consumed(p->h);
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_number, on_string, on_start_map, on_key, on_end, on_start_array, on_end,
};

/* ---------------------------------------------------------------- checks */

/* Every \u escape of the text: no \u0000, no unpaired surrogate.  Other
   escape errors are yajl's to report. */
static int escapes_ok(jv_parser *p, const char *s, size_t n)
{
    const char *e = s + n, *q = s;
    while ((q = memchr(q, '\\', (size_t)(e - q)))) {
        if (e - q < 2)
            return 1;
        if (q[1] != 'u' || e - q < 6) {
            q += 2;
            continue;
        }
        int cp = js_hex4(q + 2);
        if (cp == 0)
            return fail(p, "a string holds NUL (\\u0000)");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(p, "an unpaired surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int lo = e - q >= 12 && q[6] == '\\' && q[7] == 'u' ? js_hex4(q + 8) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail(p, "an unpaired surrogate");
            q += 6;
        }
        q += 6;
    }
    return 1;
}

/* Does s[0..n) hold none of the bytes the checks above look for: none
   above 0x7f, no backslash, no vertical tab or form feed?  Sixteen bytes
   at a time where SSE2 is (x86-64 always has it), the last sixteen
   overlapping the ones before; elsewhere the answer is "maybe not", and
   the checks run. */
static int plain(const char *s, size_t n)
{
#ifdef __SSE2__
    const __m128i bs = _mm_set1_epi8('\\'), vt = _mm_set1_epi8('\v'), ff = _mm_set1_epi8('\f');
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {     /* two vectors a step */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        __m128i u = _mm_loadu_si128((const __m128i *)(const void *)(s + k + 16));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, bs), _mm_cmpeq_epi8(v, vt)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, ff), v));
        __m128i l = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(u, bs), _mm_cmpeq_epi8(u, vt)),
                                 _mm_or_si128(_mm_cmpeq_epi8(u, ff), u));
        if (_mm_movemask_epi8(_mm_or_si128(m, l)))
            return 0;
    }
    if (k == n)
        return 1;
    for (;;) {
        if (n - k < 16) {
            if (n < 16)
                break;
            k = n - 16;
        }
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, bs), _mm_cmpeq_epi8(v, vt)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, ff), v));
        if (_mm_movemask_epi8(m))     /* a match, or a byte with its top bit set */
            return 0;
        if ((k += 16) == n)
            return 1;
    }
    for (; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c >= 0x80 || c == '\\' || c == '\v' || c == '\f')
            return 0;
    }
    return 1;
#else
    (void)s;
    (void)n;
    return 0;
#endif
}

/* An empty node table, for a new document or a new reading of one. */
static void restart(jv_parser *p)
{
    memset(&p->nodes[0], 0, sizeof *p->nodes);     /* node 0 is "none" */
    p->nnode = 1;
    p->nstr = 0;
    p->open = p->root = 0;
    p->depth = 0;
    p->oom = 0;
}

/* The one-pass reader (vm/jsonfast.h) over the text: 1 read (the root
   or the error is settled), 0 declined (nothing kept: yajl reads it
   from the start). */
static int read_fast(jv_parser *p, const char *s, size_t n)
{
    jf_reader rd = { .room = str_room };
    p->fast = &rd;
    jf_result st = jf_parse(&rd, &callbacks, p, s, n);
    p->fast = NULL;
    if (st == JF_DONE && !p->err[0] && !p->oom)
        return 1;
    if (st != JF_DECLINED) {
        fail(p, p->oom ? "out of memory" : "invalid JSON");
        return 1;
    }
    restart(p);
    return 0;
}

jv jv_parse(jv_parser *p, const char *s, size_t n, int dups)
{
    p->err[0] = 0;
    if (!p->nodes) {
        if (!(p->nodes = mem_malloc(256 * sizeof *p->nodes))) {
            fail(p, "out of memory");
            return 0;
        }
        p->capnode = 256;
    }
    p->in = s;
    p->inlen = n;
    p->dups = dups;
    restart(p);
    if (plain(s, n))
        goto checked;
    if (bi_utf8_invalid(s, n) != n) {
        fail(p, "invalid UTF-8");
        return 0;
    }
    /* yajl takes a vertical tab and a form feed as whitespace; JSON has
       neither, and inside a string a raw control byte is refused anyway */
    if (memchr(s, '\v', n) || memchr(s, '\f', n)) {
        fail(p, "a control character outside a string");
        return 0;
    }
    if (!escapes_ok(p, s, n))
        return 0;
checked:
    if (read_fast(p, s, n))
        return p->err[0] ? 0 : p->root;
    /* One handle parses document after document (yajl_allow_multiple_values:
       after a complete value it takes the next; a second value in one
       text is refused by add(), and anything but whitespace after the
       root below); a handle that saw an error is dropped. */
    if (!p->h) {
        if (!(p->h = yajl_alloc(&callbacks, NULL, p))) {
            fail(p, "out of memory");
            return 0;
        }
        yajl_config(p->h, yajl_dont_validate_strings, 1);     /* checked above, strictly */
        yajl_config(p->h, yajl_allow_multiple_values, 1);
    }
    yajl_handle h = p->h;
    p->root_end = 0;
    yajl_status st = yajl_parse(h, (const unsigned char *)s, n);
    /* yajl_complete_parse() after a closed root and only whitespace would
       find the end of the text and nothing more; anything else it is
       asked to judge (a cut token, another value, no root) */
    if (st == yajl_status_ok && !(p->root_end && js_blank(s + p->root_end, n - p->root_end)))
        st = yajl_complete_parse(h);
    /* After the root only whitespace: yajl, told to take several values,
       would keep a token cut by the end of this text for the next one. */
    if (st == yajl_status_ok && p->root && !js_blank(s + p->root_end, n - p->root_end))
        fail(p, "trailing garbage");
    if (st != yajl_status_ok || p->err[0] || p->oom) {
        if (p->oom)
            fail(p, "out of memory");
        else if (!p->err[0]) {
            unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)s, n);
            fail(p, msg ? (const char *)msg : "invalid JSON");
            if (msg)
                yajl_free_error(h, msg);
        }
        yajl_free(h);
        p->h = NULL;
        return 0;
    }
    if (!p->root)
        fail(p, "no value");
    else if (p->nodes[p->root].type != JV_OBJECT && p->nodes[p->root].type != JV_ARRAY)
        fail(p, "'[' or '{' expected");
    return p->err[0] ? 0 : p->root;
}

/* ---------------------------------------------------------------- reading */

static const node *at(const jv_parser *p, jv v)
{
    return v && v < p->nnode ? &p->nodes[v] : NULL;
}

jv_type jv_typeof(const jv_parser *p, jv v)
{
    const node *x = at(p, v);
    return x ? (jv_type)x->type : JV_NONE;
}

jv jv_getk(const jv_parser *p, jv o, const char *key, size_t n, uint64_t bit)
{
    const node *x = at(p, o);
    if (!x || x->type != JV_OBJECT || !(x->v.keys & bit))
        return 0;
    jv found = 0;
    for (jv c = x->first; c; c = p->nodes[c].next) {
        const node *m = &p->nodes[c];
        if (m->klen == n && (!n || m->k0 == key[0]) && js_same(key_of(p, m), key, n)) {
            if (!p->dups)
                return c;
            found = c;          /* the last of duplicates, as jansson */
        }
    }
    return found;
}

jv jv_at(const jv_parser *p, jv a, uint32_t i)
{
    const node *x = at(p, a);
    if (!x || x->type != JV_ARRAY)
        return 0;
    jv c = x->first;
    while (c && i--)
        c = p->nodes[c].next;
    return c;
}

jv jv_first(const jv_parser *p, jv c)
{
    const node *x = at(p, c);
    return x && (x->type == JV_OBJECT || x->type == JV_ARRAY) ? x->first : 0;
}

jv jv_next(const jv_parser *p, jv v)
{
    const node *x = at(p, v);
    return x ? x->next : 0;
}

const char *jv_str(const jv_parser *p, jv v, size_t *len)
{
    const node *x = at(p, v);
    if (!x || x->type != JV_STRING)
        return NULL;
    if (len)
        *len = x->v.s.len;
    return str_of(p, x);
}

int jv_is(const jv_parser *p, jv v, const char *w)
{
    size_t n;
    const char *s = jv_str(p, v, &n);
    return s && n == strlen(w) && !memcmp(s, w, n);
}

int64_t jv_int(const jv_parser *p, jv v)
{
    const node *x = at(p, v);
    return x && x->type == JV_INTEGER ? x->v.i : 0;
}

double jv_number(const jv_parser *p, jv v)
{
    const node *x = at(p, v);
    return !x ? 0 : x->type == JV_INTEGER ? (double)x->v.i : x->type == JV_REAL ? x->v.r : 0;
}

/* ---------------------------------------------------------------- writing */

static void write_scalar(const jv_parser *p, const node *x, jw_writer *w)
{
    switch (x->type) {
    case JV_STRING:
        jw_string(w, str_of(p, x), x->v.s.len);
        break;
    case JV_INTEGER:
        jw_int(w, x->v.i);
        break;
    case JV_REAL: {
        json_t *r = json_real(x->v.r);     /* jansson's own form of a real */
        if (r)
            jw_value(w, r);
        else
            w->err = -1;
        json_decref(r);
        break;
    }
    case JV_TRUE: jw_bool(w, 1); break;
    case JV_FALSE: jw_bool(w, 0); break;
    default: jw_null(w); break;
    }
}

void jv_write(const jv_parser *p, jv v, jw_writer *w)
{
    const node *top = at(p, v);
    if (!top) {
        jw_null(w);
        return;
    }
    /* depth first, without recursion: down to the first child, else to the
       next sibling, else up (closing) until a parent has one */
    jv c = v;
    for (;;) {
        const node *x = &p->nodes[c];
        const node *up = c == v ? NULL : &p->nodes[x->parent];
        if (up && up->type == JV_OBJECT)
            jw_keyn(w, key_of(p, x), x->klen);
        if (x->type == JV_OBJECT || x->type == JV_ARRAY) {
            if (x->type == JV_OBJECT)
                jw_object(w);
            else
                jw_array(w);
            if (w->err)
                return;
            if (x->first) {
                c = x->first;
                continue;
            }
            jw_end(w);
        } else
            write_scalar(p, x, w);
        while (c != v && !p->nodes[c].next) {
            c = p->nodes[c].parent;
            jw_end(w);
        }
        if (c == v)
            return;
        c = p->nodes[c].next;
    }
}
