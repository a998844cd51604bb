/* The one JSON writer.  Every JSON document routec and routevm print --
   explain's decisions and its --brief lines, diagnostics as JSON and
   SARIF, traces -- goes through here, so escaping is done in one place:
   '"', '\' and control characters are escaped (as jansson does), and bytes
   that are not UTF-8 become U+FFFD, so the output is always valid JSON
   whatever bytes a name, a path or a message holds.

   Two ways in: a streaming writer for small fixed shapes on hot paths
   (routevm explain --brief: no tree, no allocation; the provider request
   bodies, written into memory with jw_init_mem/jw_take), and jw_print()
   for a jansson tree built by the caller.  Build trees with jw_jstring() where a
   string may hold arbitrary bytes (json_string() refuses them and would
   drop the member). */
#ifndef RV_JSONW_H
#define RV_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define JW_MAX_DEPTH 64

typedef struct {
    FILE *out;                  /* the stream, or NULL: the memory buffer below */
    char *buf;                  /* jw_init_mem: the document so far (owned until jw_take) */
    size_t len, cap;
    size_t fast;                /* 'cap' of a compact memory writer, else 0: the inline paths' one test */
    int indent;                 /* spaces per level; 0: compact */
    int depth;
    char close[JW_MAX_DEPTH];   /* per open container: '}' or ']' */
    uint8_t state[JW_MAX_DEPTH];    /* per open container: 0 empty, 1 has members, 2 a key awaits its value */
    int err;                    /* a write failed, or the nesting went too deep */
} jw_writer;

/* A writer to 'out' (borrowed).  'indent' 0 writes compact JSON (jansson's
   JSON_COMPACT), n > 0 indents by n spaces (JSON_INDENT(n)). */
void jw_init(jw_writer *w, FILE *out, int indent);
/* A writer into a heap buffer that grows as needed (a failed allocation
   sets 'err'); take the document with jw_take. */
void jw_init_mem(jw_writer *w, int indent);
/* The document jw_init_mem's writer holds: a NUL-terminated buffer the
   caller frees, its length in '*len'; NULL when a write failed, memory
   ran out or a container is still open.  The writer is empty after. */
char *jw_take(jw_writer *w, size_t *len);
/* Release a memory writer's buffer without taking it (accepts any
   writer). */
void jw_discard(jw_writer *w);
/* Empty a memory writer for its next document, keeping its buffer (a
   writer reused for many small documents allocates only as it grows). */
void jw_clear(jw_writer *w);
/* The bytes a memory writer holds so far, borrowed until its next write,
   jw_clear, jw_take or jw_discard; NULL when a write failed or memory ran
   out. */
const char *jw_data(const jw_writer *w, size_t *len);
/* Bytes around documents, outside any of them (a protocol's framing,
   such as server-sent events' "data: "): only between documents, never
   inside one (that sets 'err'). */
void jw_bytes(jw_writer *w, const char *s, size_t n);
/* Containers and members.  jw_object, jw_array, jw_end, JW_KEY and JW_STR
   are inline (below): on a compact writer into memory with room -- the
   answers and provider bodies written per request and per stream event
   -- each is a few stores; anything else takes the general path. */
void jw_open(jw_writer *w, char open, char close);     /* through jw_object / jw_array */
void jw_close(jw_writer *w);                            /* through jw_end */
void jw_key(jw_writer *w, const char *k);
void jw_keyn(jw_writer *w, const char *k, size_t n);    /* k[0..n), any bytes */
/* A key that is a string literal of the caller's with nothing to escape
   (printable ASCII without '"' or '\\'), written without looking at it:
   for the fixed members of documents written per request.  Only a literal
   compiles. */
#define JW_KEY(w, lit) jw_key_lit((w), "\"" lit "\":", sizeof(lit) + 2)
void jw_key_quoted(jw_writer *w, const char *quoted, size_t n);    /* through JW_KEY only */
/* A string value that is a literal of the caller's with nothing to escape
   (as JW_KEY's). */
#define JW_STR(w, lit) jw_raw_lit((w), "\"" lit "\"", sizeof(lit) + 1)
void jw_string(jw_writer *w, const char *s, size_t n);
void jw_cstring(jw_writer *w, const char *s);   /* NUL-terminated */
void jw_int(jw_writer *w, int64_t v);
void jw_bool(jw_writer *w, int v);
void jw_null(jw_writer *w);
/* Go on in 'w' with a document 'src' began: 'src' is a compact memory
   writer (borrowed) holding the start of one document, containers still
   open, and 'w' takes its bytes and the state of those containers, as if
   it had written them itself -- a start many documents share (a
   stream's chunks) is written once.  'w' must be compact and between
   documents (depth 0), and 'src' must not have failed; else 'w' fails. */
void jw_splice(jw_writer *w, const jw_writer *src);
/* A JSON text 'json' that the caller vouches for as the next value: a
   literal of the caller's, or a value a strict parser has already
   validated (the span of a client's value in a parsed request,
   vm/request.h: valid UTF-8, well-formed, no NUL), never unchecked
   input.  It is copied as it is (no re-indenting). */
void jw_raw(jw_writer *w, const char *json, size_t n);
/* A jansson value (any type, any depth below JW_MAX_DEPTH). */
void jw_value(jw_writer *w, const json_t *v);
/* Ends a document: a newline, and the writer's status (0, or -1 when a
   write failed). */
int jw_finish(jw_writer *w);

/* Print jansson tree 'v' as one document and a newline; 'indent' as in
   jw_init.  Returns 0 or -1.  Does not take 'v'. */
int jw_print(FILE *out, const json_t *v, int indent);

/* A jansson string of any bytes (NULL only when out of memory); jw_*
   escapes it on the way out. */
json_t *jw_jstring(const char *s, size_t n);

/* ---------------------------------------------------------------- inline paths

   Where 'n' more bytes (and the NUL jw_take adds) go in a compact memory
   writer, or NULL when the general path must write them. */
static inline char *jw_fast_room(const jw_writer *w, size_t n)
{
    return w->len + n < w->fast ? w->buf + w->len : NULL;
}

/* Before a value or a key at 'b', in a compact writer: the comma after a
   member; a value after a key follows it directly.  Returns where the
   value or key starts. */
static inline char *jw_fast_member(jw_writer *w, char *b)
{
    if (w->depth) {
        uint8_t *st = &w->state[w->depth - 1];
        if (*st == 1)
            *b++ = ',';
        *st = 1;
    }
    return b;
}

/* jw_object's and jw_array's. */
static inline void jw_fast_open(jw_writer *w, char open, char close)
{
    char *b = jw_fast_room(w, 2);
    if (!b || w->depth == JW_MAX_DEPTH) {
        jw_open(w, open, close);
        return;
    }
    char *e = jw_fast_member(w, b);
    *e++ = open;
    w->len += (size_t)(e - b);
    w->close[w->depth] = close;
    w->state[w->depth++] = 0;
}

static inline void jw_object(jw_writer *w) { jw_fast_open(w, '{', '}'); }
static inline void jw_array(jw_writer *w) { jw_fast_open(w, '[', ']'); }

/* Closes the innermost object or array. */
static inline void jw_end(jw_writer *w)
{
    char *b = jw_fast_room(w, 1);
    if (!b || !w->depth) {
        jw_close(w);
        return;
    }
    *b = w->close[--w->depth];
    w->len++;
}

/* JW_KEY's: '"key":', n bytes. */
static inline void jw_key_lit(jw_writer *w, const char *quoted, size_t n)
{
    char *b = jw_fast_room(w, n + 1);
    if (!b || !w->depth) {
        jw_key_quoted(w, quoted, n);
        return;
    }
    char *e = jw_fast_member(w, b);
    memcpy(e, quoted, n);
    w->len += (size_t)(e - b) + n;
    w->state[w->depth - 1] = 2;
}

/* JW_STR's, and the fixed words null, true and false: n bytes of JSON
   written as one value. */
static inline void jw_raw_lit(jw_writer *w, const char *json, size_t n)
{
    char *b = jw_fast_room(w, n + 1);
    if (!b) {
        jw_raw(w, json, n);
        return;
    }
    char *e = jw_fast_member(w, b);
    memcpy(e, json, n);
    w->len += (size_t)(e - b) + n;
}

#endif
