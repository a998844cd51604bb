/* A provider's JSON answer or stream event, parsed with yajl's callbacks
   into a flat table of nodes in memory the parser reuses: the provider
   parsers (openai.c, anthropic.c, bedrock.c) read the few members they
   need from it, type-checked, without a jansson tree (a hash table and
   an allocation per value) for every event of a stream.

   Strict like the jansson parser it replaces, so an answer is accepted or
   refused exactly as before: the whole text must be strict UTF-8 (no
   overlong forms, no surrogates, nothing above U+10FFFF); a string or key
   may not hold \u0000 or an unpaired surrogate; a duplicate key in an
   object refuses the document (unless asked otherwise); integers (no fraction, no exponent) must
   fit in 64 bits and reals must be finite; at most JV_MAX_DEPTH levels
   of nesting; one value, with nothing after it but whitespace.  One
   deliberate difference: a raw NUL byte is refused wherever it is
   (jansson's reader passes over one right after a literal or a number).

   Ownership: a jv_parser owns its node table and string copies and
   borrows the text: every jv and string it hands out is valid until the
   next jv_parse or jv_free, and while the text passed to jv_parse lives
   (strings without escapes are views of it). */
#ifndef RV_JVIEW_H
#define RV_JVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

#define JV_MAX_DEPTH 2048       /* as jansson's parser */

typedef enum { JV_NONE, JV_OBJECT, JV_ARRAY, JV_STRING, JV_INTEGER, JV_REAL, JV_TRUE, JV_FALSE, JV_NULL } jv_type;

typedef struct jv_parser jv_parser;

/* A node of the current document; 0 is no node (an absent member, a
   failed parse).  Every accessor accepts 0. */
typedef uint32_t jv;

jv_parser *jv_new(void);
void jv_free(jv_parser *p);

/* Parse s[0..n); the root, or 0 with a message (jv_error) when the text
   is not one object or array (as jansson's json_loadb, which takes no
   other value at the top), is not valid JSON or memory ran out.  With
   'dups' a duplicate key is taken, and jv_get finds the last one (as
   jansson without JSON_REJECT_DUPLICATES); without, it refuses the text. */
jv jv_parse(jv_parser *p, const char *s, size_t n, int dups);
const char *jv_error(const jv_parser *p);

jv_type jv_typeof(const jv_parser *p, jv v);
/* The bit of 64 an object keeps for each of its keys (from the key's
   length and first and last bytes): a lookup of a key whose bit is not
   set is answered without a walk.  Inline, so that a literal key's bit
   is folded at compile time. */
static inline uint64_t jv_key_bit(const char *s, size_t n)
{
    return n ? UINT64_C(1) << ((n * 7 + (unsigned char)s[0] * 3u + (unsigned char)s[n - 1]) & 63) : 1;
}
/* An object's member s[0..n) whose jv_key_bit is 'bit' (0 when 'o' is
   not an object or has none). */
jv jv_getk(const jv_parser *p, jv o, const char *s, size_t n, uint64_t bit);
/* An object's member s[0..n). */
static inline jv jv_getn(const jv_parser *p, jv o, const char *s, size_t n)
{
    return jv_getk(p, o, s, n, jv_key_bit(s, n));
}
/* An object's member 'key' (NUL-terminated; its length is folded at
   compile time for a literal). */
static inline jv jv_get(const jv_parser *p, jv o, const char *key)
{
    return jv_getn(p, o, key, __builtin_strlen(key));
}
/* An array's element 'i' (0 when 'a' is not an array or is shorter). */
jv jv_at(const jv_parser *p, jv a, uint32_t i);
/* The first element or member of a container, and the one after 'v' (0
   at the end): for (jv e = jv_first(p, a); e; e = jv_next(p, e)). */
jv jv_first(const jv_parser *p, jv c);
jv jv_next(const jv_parser *p, jv v);

/* A string's bytes and its length ('len' may be NULL); NULL when 'v' is
   not a string.  Not NUL-terminated: the bytes may be a view of the
   parsed text (which must outlive their use). */
const char *jv_str(const jv_parser *p, jv v, size_t *len);
/* Is 'v' the string 'w'? */
int jv_is(const jv_parser *p, jv v, const char *w);
/* An integer's value (0 when 'v' is not one). */
int64_t jv_int(const jv_parser *p, jv v);
/* A number's value, integer or real (0 when 'v' is not one). */
double jv_number(const jv_parser *p, jv v);

/* Write 'v' through 'w' as jansson's compact dump writes it (members in
   their order, reals in jansson's form).  Containers deeper than the
   writer allows (JW_MAX_DEPTH) set the writer's error. */
void jv_write(const jv_parser *p, jv v, jw_writer *w);

#endif
