/* The answer parser's node table (vm/providers/jview.c), case by case:
   each case is a JSON text, whether duplicate keys are taken, and either
   the error it must be refused with or one top-level member and the value
   it must read back (type, and the bytes, integer or real).  The cases
   cover what the callbacks decide themselves: strings as views of the
   text and as yajl's unescaped copies (escapes, \u escapes and surrogate
   pairs), keys likewise, the checks before yajl (invalid UTF-8, \u0000,
   unpaired surrogates, vertical tab), numbers as written (integers at the
   edges of 64 bits and past them, reals, overflow), and duplicate keys in
   small objects (keys sharing the per-object key bit and keys that do
   not), in large ones (sorted when they close), escaped against plain,
   empty keys, and with duplicates taken (the last one read); long
   strings and keys with escapes, read by jsonfast and by yajl, decoded
   once, into the parser's own string buffer.  The differential test
   against jansson (answers_diff_test.c) covers the rest at scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heappeak.h"
#include "jview.h"

static int failures;

typedef struct {
    const char *name;
    const char *json;
    int dups;
    const char *err;            /* a part of the message it is refused with; NULL: accepted */
    const char *key;            /* accepted: the member read back */
    jv_type type;
    const char *str;            /* JV_STRING: its bytes */
    size_t slen;
    int64_t i;                  /* JV_INTEGER */
    double r;                   /* JV_REAL */
} jcase;

#define S(name, json, key, bytes) { name, json, 0, NULL, key, JV_STRING, bytes, sizeof(bytes) - 1, 0, 0 }
#define I(name, json, key, v) { name, json, 0, NULL, key, JV_INTEGER, NULL, 0, v, 0 }
#define R(name, json, key, v) { name, json, 0, NULL, key, JV_REAL, NULL, 0, 0, v }
#define BAD(name, json, err) { name, json, 0, err, NULL, JV_NONE, NULL, 0, 0, 0 }

static const jcase cases[] = {
    /* strings: views of the text, and unescaped copies */
    S("plain string", "{\"a\":\"hello\"}", "a", "hello"),
    S("escaped quote, backslash, solidus", "{\"a\":\"x\\\"y\\\\z\\/\"}", "a", "x\"y\\z/"),
    S("control escapes", "{\"a\":\"\\b\\f\\n\\r\\t\"}", "a", "\b\f\n\r\t"),
    S("\\u escape, two bytes", "{\"a\":\"caf\\u00e9\"}", "a", "caf\xc3\xa9"),
    S("\\u escape, three bytes", "{\"a\":\"\\u2028\"}", "a", "\xe2\x80\xa8"),
    S("surrogate pair", "{\"a\":\"\\ud83d\\ude00!\"}", "a", "\xf0\x9f\x98\x80!"),
    S("raw UTF-8", "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", "a", "\xc3\xa9\xf0\x9f\x98\x80"),
    S("escaped key", "{\"\\u0061b\":\"v\"}", "ab", "v"),
    S("empty string", "{\"a\":\"\"}", "a", ""),
    BAD("\\u0000", "{\"a\":\"x\\u0000\"}", "NUL"),
    BAD("lone high surrogate", "{\"a\":\"\\ud83d\"}", "unpaired surrogate"),
    BAD("lone low surrogate", "{\"a\":\"\\ude00\"}", "unpaired surrogate"),
    BAD("high surrogate then a letter", "{\"a\":\"\\ud83dx\"}", "unpaired surrogate"),
    BAD("invalid UTF-8 byte", "{\"a\":\"\xff\"}", "invalid UTF-8"),
    BAD("overlong slash", "{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"),
    BAD("encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"),
    BAD("cut sequence", "{\"a\":\"\xe2\x80\"}", "invalid UTF-8"),
    BAD("vertical tab outside a string", "{\"a\":1,\v\"b\":2}", "control character"),
    /* numbers as written */
    I("zero", "{\"n\":0}", "n", 0),
    I("minus zero", "{\"n\":-0}", "n", 0),
    I("18 digits", "{\"n\":123456789012345678}", "n", 123456789012345678),
    I("int64 max", "{\"n\":9223372036854775807}", "n", INT64_MAX),
    I("int64 min", "{\"n\":-9223372036854775808}", "n", INT64_MIN),
    BAD("int64 max + 1", "{\"n\":9223372036854775808}", "too big integer"),
    BAD("int64 min - 1", "{\"n\":-9223372036854775809}", "too big integer"),
    BAD("20 digits", "{\"n\":12345678901234567890}", "too big integer"),
    R("fraction", "{\"n\":1.5}", "n", 1.5),
    R("exponent", "{\"n\":1E2}", "n", 100),
    R("negative exponent", "{\"n\":-25e-1}", "n", -2.5),
    R("23 digits and a fraction", "{\"n\":12345678901234567890123.5}", "n", 12345678901234567890123.5),
    R("20 digits and an exponent", "{\"n\":12345678901234567890e0}", "n", 12345678901234567890e0),
    BAD("real overflow", "{\"n\":1e400}", "overflow"),
    I("minus 18 digits", "{\"n\":-123456789012345678}", "n", -123456789012345678),
    I("19 digits", "{\"n\":1234567890123456789}", "n", 1234567890123456789),
    R("18 digits and a fraction", "{\"n\":123456789012345678.5}", "n", 123456789012345678.5),
    /* keys compared a word at a time: keys differing in one byte, at
       each place the words cover, at every length up to past 24 */
    I("3-byte keys", "{\"abc\":1,\"abd\":2}", "abd", 2),
    I("5-byte keys, the last byte", "{\"model\":1,\"modem\":2}", "modem", 2),
    I("7-byte keys, the middle byte", "{\"choices\":1,\"choXces\":2}", "choXces", 2),
    I("9-byte keys, the last byte", "{\"abcdefghi\":1,\"abcdefghj\":2}", "abcdefghj", 2),
    I("16-byte keys, the ninth byte", "{\"abcdefghijklmnop\":1,\"abcdefghXjklmnop\":2}", "abcdefghXjklmnop", 2),
    I("17-byte keys, the ninth byte", "{\"completion_tokens\":1,\"completioX_tokens\":2}", "completioX_tokens", 2),
    I("20-byte keys, the ninth byte", "{\"aaaaaaaaXbbbbbbbbccc\":1,\"aaaaaaaaYbbbbbbbbccc\":2}", "aaaaaaaaYbbbbbbbbccc", 2),
    I("24-byte keys, the sixteenth byte", "{\"aaaaaaaabbbbbbbXcccccccc\":1,\"aaaaaaaabbbbbbbYcccccccc\":2}",
      "aaaaaaaabbbbbbbYcccccccc", 2),
    I("25-byte keys, the thirteenth byte", "{\"aaaaaaaabbbbXbbbcccccccc_\":1,\"aaaaaaaabbbbYbbbcccccccc_\":2}",
      "aaaaaaaabbbbYbbbcccccccc_", 2),
    BAD("a repeated 20-byte key", "{\"aaaaaaaaXbbbbbbbbccc\":1,\"aaaaaaaaYbbbbbbbbccc\":2,\"aaaaaaaaXbbbbbbbbccc\":3}",
        "duplicate"),
    /* duplicate keys */
    I("keys sharing a key bit ('ab', 'b_')", "{\"ab\":1,\"b_\":2}", "b_", 2),
    BAD("a repeat after a key sharing its bit", "{\"ab\":1,\"b_\":2,\"ab\":3}", "duplicate"),
    BAD("a plain repeat", "{\"a\":1,\"b\":2,\"a\":3}", "duplicate"),
    BAD("an escaped repeat of a plain key", "{\"a\":1,\"\\u0061\":2}", "duplicate"),
    BAD("a repeated empty key", "{\"\":1,\"\":2}", "duplicate"),
    I("one empty key", "{\"\":7}", "", 7),
    I("the same key in two objects", "{\"x\":{\"a\":1},\"a\":{\"a\":2},\"b\":3}", "b", 3),
    I("16 keys", "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
      "\"ka\":10,\"kb\":11,\"kc\":12,\"kd\":13,\"ke\":14,\"kf\":15}", "kf", 15),
    BAD("a repeat among 16 keys", "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
        "\"k8\":8,\"k9\":9,\"ka\":10,\"kb\":11,\"kc\":12,\"kd\":13,\"k3\":14}", "duplicate"),
    BAD("a repeat among 20 keys (sorted at the end)", "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,"
        "\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"ka\":10,\"kb\":11,\"kc\":12,\"kd\":13,\"ke\":14,\"kf\":15,\"kg\":16,"
        "\"kh\":17,\"ki\":18,\"k0\":19}", "duplicate"),
    { "duplicates taken: the last one", "{\"a\":1,\"b\":2,\"a\":3}", 1, NULL, "a", JV_INTEGER, NULL, 0, 3, 0 },
    /* the document */
    BAD("a word after the value", "{\"a\":1} x", ""),
    BAD("two values", "{\"a\":1} {}", ""),
    BAD("a scalar at the top", "1", ""),
    BAD("nothing", " ", ""),
};

static void check(const jcase *c, jv_parser *p)
{
    jv root = jv_parse(p, c->json, strlen(c->json), c->dups);
    char why[200] = "";
    if (c->err) {
        if (root)
            snprintf(why, sizeof why, "accepted, want an error with '%s'", c->err);
        else if (!strstr(jv_error(p), c->err))
            snprintf(why, sizeof why, "refused with '%s', want '%s'", jv_error(p), c->err);
    } else if (!root)
        snprintf(why, sizeof why, "refused: %s", jv_error(p));
    else {
        jv v = jv_getn(p, root, c->key, strlen(c->key));
        size_t n = 0;
        const char *s = jv_str(p, v, &n);
        if (jv_typeof(p, v) != c->type)
            snprintf(why, sizeof why, "type %d, want %d", (int)jv_typeof(p, v), (int)c->type);
        else if (c->type == JV_STRING && (n != c->slen || memcmp(s, c->str, n)))
            snprintf(why, sizeof why, "'%.*s', want '%s'", (int)n, s, c->str);
        else if (c->type == JV_INTEGER && jv_int(p, v) != c->i)
            snprintf(why, sizeof why, "%lld, want %lld", (long long)jv_int(p, v), (long long)c->i);
        else if (c->type == JV_REAL && jv_number(p, v) != c->r)
            snprintf(why, sizeof why, "%.17g, want %.17g", jv_number(p, v), c->r);
    }
    if (why[0]) {
        printf("FAIL jview %s: %s\n", c->name, why);
        failures++;
    } else
        printf("PASS jview %s\n", c->name);
}

/* A text jsonfast declines half-way (nesting past its 1024 levels, within
   jview's 2048) is read again from the start by yajl: the escaped strings
   before and after the deep part read back, and no key is taken for a
   duplicate of one read in the first pass. */
static void deep_declined(jv_parser *p)
{
    const int levels = 1030;
    size_t cap = (size_t)levels * 2 + 128, n = 0;
    char *t = malloc(cap);
    n += (size_t)sprintf(t + n, "{\"a\":\"x\\ny\",\"d\":");
    for (int i = 0; i < levels; i++)
        t[n++] = '[';
    for (int i = 0; i < levels; i++)
        t[n++] = ']';
    n += (size_t)sprintf(t + n, ",\"z\":\"w\\tq\"}");
    jv root = jv_parse(p, t, n, 0);
    size_t la = 0, lz = 0;
    const char *a = root ? jv_str(p, jv_getn(p, root, "a", 1), &la) : NULL;
    const char *z = root ? jv_str(p, jv_getn(p, root, "z", 1), &lz) : NULL;
    if (!root || !a || !z || la != 3 || memcmp(a, "x\ny", 3) || lz != 3 || memcmp(z, "w\tq", 3) ||
        jv_typeof(p, jv_getn(p, root, "d", 1)) != JV_ARRAY) {
        printf("FAIL jview deep text read again by yajl: %s\n", root ? "wrong values" : jv_error(p));
        failures++;
    } else
        printf("PASS jview deep text read again by yajl\n");
    free(t);
}

typedef struct { char *s; size_t n, cap; } text;

static void add(text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = 0;
}

static void adds(text *t, const char *s) { add(t, s, strlen(s)); }

/* A document with long strings with escapes (a string of 'size' bytes
   of lines, a key and another string of \u escapes) and, with 'deep',
   nesting past jsonfast's depth so that yajl reads it again from the
   start; the decoded string, key and second string in out[0..2]. */
static text long_escaped_doc(size_t size, int deep, text out[3])
{
    text d = { 0 };
    char line[128];
    memset(out, 0, 3 * sizeof *out);
    adds(&d, "{\"a\":\"");
    for (int i = 0; d.n < size; i++) {
        snprintf(line, sizeof line, "line %d: \\\"caf\\u00e9\\\"\\tand \\ud83d\\ude00\\n", i);
        adds(&d, line);
        snprintf(line, sizeof line, "line %d: \"caf\xc3\xa9\"\tand \xf0\x9f\x98\x80\n", i);
        adds(&out[0], line);
    }
    adds(&d, "\",\"");
    for (int i = 0; i < 100; i++) {
        adds(&d, "k\\u00e9y\\/");
        adds(&out[1], "k\xc3\xa9y/");
    }
    adds(&d, "\":\"");
    for (int i = 0; i < 300; i++) {
        adds(&d, "\\u4e2d");
        adds(&out[2], "\xe4\xb8\xad");
    }
    adds(&d, "\",\"d\":");
    for (int i = 0; i < (deep ? 1030 : 1); i++)
        adds(&d, "[");
    for (int i = 0; i < (deep ? 1030 : 1); i++)
        adds(&d, "]");
    adds(&d, "}");
    return d;
}

/* Long strings with escapes read back, by jsonfast and by yajl; where
   the heap can be measured, a parse through a parser whose buffers are
   already big enough allocates nothing: jsonfast decodes each string
   where the parser keeps it, not into a buffer of its own first. */
static void long_escaped(jv_parser *p)
{
    for (int deep = 0; deep <= 1; deep++) {
        text want[3], d = long_escaped_doc(256u << 10, deep, want);
        jv root = jv_parse(p, d.s, d.n, 0);
        size_t la = 0, lb = 0;
        const char *a = root ? jv_str(p, jv_getn(p, root, "a", 1), &la) : NULL;
        const char *b = root ? jv_str(p, jv_getn(p, root, want[1].s, want[1].n), &lb) : NULL;
        const char *name = deep ? "long escaped strings read by yajl" : "long escaped strings read by jsonfast";
        if (!a || !b || la != want[0].n || memcmp(a, want[0].s, la) || lb != want[2].n || memcmp(b, want[2].s, lb)) {
            printf("FAIL jview %s: %s\n", name, root ? "wrong values" : jv_error(p));
            failures++;
        } else
            printf("PASS jview %s\n", name);
        if (!deep && !hp_available()) {
            printf("INFO jview long escaped strings, the heap: not measured (no sanitizer allocator here)\n");
        } else if (!deep) {
            long long before = hp_start();
            root = jv_parse(p, d.s, d.n, 0);
            long long most = hp_peak() - before, after = hp_live() - before;
            if (!root || most > (16 << 10) || after > 0) {
                printf("FAIL jview long escaped strings, the heap: %lld bytes at most during a parse, %lld after "
                       "(the first string decodes to %zu)\n", most, after, want[0].n);
                failures++;
            } else
                printf("PASS jview long escaped strings, the heap\n");
        }
        for (int i = 0; i < 3; i++)
            free(want[i].s);
        free(d.s);
    }
}

int main(void)
{
    jv_parser *p = jv_new();
    if (!p)
        return 2;
    /* twice through one parser: a parser is reused for every answer and
       event, and a refused text must leave it ready for the next */
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if (round == 0)
                check(&cases[i], p);
            else if (!cases[i].err && !jv_parse(p, cases[i].json, strlen(cases[i].json), cases[i].dups)) {
                printf("FAIL jview again %s: %s\n", cases[i].name, jv_error(p));
                failures++;
            }
    deep_declined(p);
    long_escaped(p);
    check(&cases[0], p);        /* and the parser reads the next text */
    jv_free(p);
    return failures ? 1 : 0;
}
