/* The JSON writer (vm/jsonw.c).  Three kinds of cases:
   - differential: random trees (strings with quotes, backslashes, control
     characters and multi-byte UTF-8; integers at their extremes; nesting)
     print byte for byte as jansson prints them, compact and indented;
   - bytes that are not UTF-8, a table of inputs and their exact escapes,
     each output read back by jansson as valid JSON;
   - the streaming writer's shapes (what 'routevm explain --brief' prints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static int failures;

static void check(const char *name, int ok, const char *got, const char *want)
{
    if (ok) {
        printf("PASS jsonw %s\n", name);
    } else {
        printf("FAIL jsonw %s: got %s, want %s\n", name, got, want);
        failures++;
    }
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static json_t *random_string(void)
{
    static const char *const pieces[] = { "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\r", "\b", "\f",
        "\x01", "\x1f", "\x7f", "é", "ß", "€", "😀", "日本", "'", "<", "{", "}", "]" };
    char buf[256];
    size_t n = 0, k = next() % 12;
    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[next() % (sizeof pieces / sizeof *pieces)];
        size_t l = strlen(p);
        memcpy(buf + n, p, l);
        n += l;
    }
    return json_stringn(buf, n);
}

static json_t *random_tree(int depth)
{
    static const int64_t ints[] = { 0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000 };
    switch (depth > 3 ? next() % 5 : next() % 7) {
    case 0: return random_string();
    case 1: return json_integer(ints[next() % 7]);
    case 2: return json_boolean(next() % 2);
    case 3: return json_null();
    case 4: return json_real((double)(next() % 1000) / 8);
    case 5: {
        json_t *o = json_object();
        for (uint32_t i = 0, n = next() % 5; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%u\"\\%u", i, next() % 100);
            json_object_set_new(o, key, random_tree(depth + 1));
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (uint32_t i = 0, n = next() % 5; i < n; i++)
            json_array_append_new(a, random_tree(depth + 1));
        return a;
    }
    }
}

/* What a memory writer (jw_init_mem, jw_take) holds after writing 'v',
   with the newline jw_print adds, as a string the caller frees: the
   inline paths of jsonw.h (compact, in memory, with room) and the general
   ones as the buffer grows. */
static char *written(const json_t *v, int indent)
{
    jw_writer w;
    jw_init_mem(&w, indent);
    jw_value(&w, v);
    size_t n;
    char *doc = jw_take(&w, &n), *out = doc ? malloc(n + 2) : NULL;
    if (!out)
        exit(2);
    memcpy(out, doc, n);
    memcpy(out + n, "\n", 2);
    free(doc);
    return out;
}

/* What jw_print writes for 'v', as a string the caller frees. */
static char *printed(const json_t *v, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || jw_print(f, v, indent) != 0)
        exit(2);
    fclose(f);
    return buf;
}

static void differential(int mem)
{
    int bad_compact = 0, bad_indent = 0;
    char first[600] = "";
    for (int i = 0; i < 2000; i++) {
        json_t *t = random_tree(0);
        for (int indent = 0; indent <= 2; indent += 2) {
            char *mine = mem ? written(t, indent) : printed(t, indent);
            char *theirs = json_dumps(t, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | (indent ? JSON_INDENT(indent) : JSON_COMPACT));
            size_t tl = theirs ? strlen(theirs) : 0;
            int same = theirs && strlen(mine) == tl + 1 && !memcmp(mine, theirs, tl) && mine[tl] == '\n';
            if (!same) {
                *(indent ? &bad_indent : &bad_compact) += 1;
                if (!first[0])
                    snprintf(first, sizeof first, "%.280s | %.280s", mine, theirs ? theirs : "(null)");
            }
            free(mine);
            free(theirs);
        }
        json_decref(t);
    }
    check(mem ? "2000 random trees in memory as jansson prints them, compact"
              : "2000 random trees print as jansson does, compact", !bad_compact, first, "the same");
    check(mem ? "2000 random trees in memory as jansson prints them, indented"
              : "2000 random trees print as jansson does, indented", !bad_indent, first, "the same");
}

static const struct { const char *name, *in, *want; } bytes[] = {
    { "lone continuation byte", "a\x80" "b", "\"a\\uFFFDb\"\n" },
    { "byte 0xff", "\xff", "\"\\uFFFD\"\n" },
    { "truncated sequence", "x\xc3", "\"x\\uFFFD\"\n" },
    { "overlong slash", "\xc0\xaf", "\"\\uFFFD\\uFFFD\"\n" },
    { "surrogate", "\xed\xa0\x80", "\"\\uFFFD\\uFFFD\\uFFFD\"\n" },
    { "above U+10FFFF", "\xf4\x90\x80\x80", "\"\\uFFFD\\uFFFD\\uFFFD\\uFFFD\"\n" },
    { "valid four bytes", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"\n" },
    { "control and quote", "\x01\"\x1f", "\"\\u0001\\\"\\u001F\"\n" },
    { "NUL inside", "a\0b", "\"a\\u0000b\"\n" },
};

static void not_utf8(void)
{
    for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++) {
        size_t n = strlen(bytes[i].in);
        if (!strcmp(bytes[i].name, "NUL inside"))
            n = 3;
        json_t *s = jw_jstring(bytes[i].in, n);
        char *got = printed(s, 0);
        json_error_t e;
        json_t *back = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        char name[96];
        snprintf(name, sizeof name, "escape %s", bytes[i].name);
        check(name, !strcmp(got, bytes[i].want) && back != NULL, got, bytes[i].want);
        json_decref(back);
        json_decref(s);
        free(got);
    }
}

static void streaming(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    jw_writer w;
    jw_init(&w, f, 0);
    jw_object(&w);
    jw_key(&w, "agent");
    jw_cstring(&w, "sup\"port\n");
    jw_key(&w, "model");
    jw_string(&w, "m\xff", 2);
    jw_key(&w, "rule");
    jw_int(&w, 3);
    jw_key(&w, "list");
    jw_array(&w);
    jw_bool(&w, 1);
    jw_null(&w);
    jw_object(&w);
    jw_end(&w);
    jw_end(&w);
    jw_end(&w);
    int r = jw_finish(&w);
    fclose(f);
    const char *want = "{\"agent\":\"sup\\\"port\\n\",\"model\":\"m\\uFFFD\",\"rule\":3,\"list\":[true,null,{}]}\n";
    check("streaming writer", r == 0 && !strcmp(buf, want), buf, want);
    free(buf);

    f = open_memstream(&buf, &len);
    jw_init(&w, f, 0);
    jw_object(&w);
    r = jw_finish(&w);       /* an object left open */
    fclose(f);
    check("an unfinished document is an error", r == -1, buf, "-1");
    free(buf);
}

/* A memory writer reused for several documents with framing between
   them (jw_clear, jw_bytes, jw_data), as the request driver writes a
   stream's events. */
static void reused(void)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    size_t n;
    const char *p = jw_data(&w, &n);
    check("reused: empty before the first write", p && n == 0, p ? p : "(null)", "");
    char want[64], got[64], name[64];
    for (int i = 0; i < 3; i++) {
        jw_clear(&w);
        jw_bytes(&w, "data: ", 6);
        jw_object(&w);
        jw_key(&w, "n");
        jw_int(&w, i - 1);
        jw_end(&w);
        jw_bytes(&w, "\n\n", 2);
        p = jw_data(&w, &n);
        snprintf(want, sizeof want, "data: {\"n\":%d}\n\n", i - 1);
        snprintf(got, sizeof got, "%.*s", p ? (int)n : 6, p ? p : "(null)");
        snprintf(name, sizeof name, "reused: event %d, one document", i);
        check(name, p && !strcmp(got, want), got, want);
    }
    jw_clear(&w);
    jw_array(&w);
    jw_bytes(&w, "x", 1);   /* framing inside a document */
    p = jw_data(&w, &n);
    check("reused: bytes inside a document are an error", !p, p ? p : "(null)", "(null)");
    jw_clear(&w);
    jw_int(&w, 7);
    p = jw_data(&w, &n);
    check("reused: usable again after the error", p && n == 1 && *p == '7', p ? p : "(null)", "7");
    jw_discard(&w);
}

/* JW_KEY writes what jw_key writes, compact and indented, in memory and
   to a stream, after a first member and after another key's value. */
static void literal_keys(void)
{
#define KEY(name) (lit ? JW_KEY(&w, name) : jw_key(&w, name))
    for (int indent = 0; indent <= 2; indent += 2)
        for (int mem = 0; mem <= 1; mem++) {
            char *doc[2] = { NULL, NULL };
            for (int lit = 0; lit <= 1; lit++) {
                size_t len = 0;
                FILE *f = mem ? NULL : open_memstream(&doc[lit], &len);
                jw_writer w;
                if (mem)
                    jw_init_mem(&w, indent);
                else
                    jw_init(&w, f, indent);
                jw_object(&w);
                KEY("id");
                jw_int(&w, 1);
                KEY("choices");
                jw_array(&w);
                jw_object(&w);
                KEY("finish_reason");
                jw_null(&w);
                jw_end(&w);
                jw_end(&w);
                jw_end(&w);
                if (mem)
                    doc[lit] = jw_take(&w, &len);
                else {
                    jw_finish(&w);
                    fclose(f);
                }
            }
            char name[80];
            snprintf(name, sizeof name, "JW_KEY as jw_key, indent %d, %s", indent, mem ? "memory" : "stream");
            check(name, doc[0] && doc[1] && !strcmp(doc[0], doc[1]), doc[1] ? doc[1] : "(null)",
                  doc[0] ? doc[0] : "(null)");
            free(doc[0]);
            free(doc[1]);
        }
#undef KEY
}

/* JW_STR writes what jw_cstring writes, in memory (compact and
   indented) and to a stream. */
static void literal_strings(void)
{
    for (int mode = 0; mode < 3; mode++) {
        char *doc[2] = { NULL, NULL };
        for (int lit = 0; lit <= 1; lit++) {
            size_t len = 0;
            FILE *f = mode == 2 ? open_memstream(&doc[lit], &len) : NULL;
            jw_writer w;
            if (f)
                jw_init(&w, f, 0);
            else
                jw_init_mem(&w, mode);
            jw_array(&w);
            if (lit) {
                JW_STR(&w, "chat.completion");
                JW_STR(&w, "");
            } else {
                jw_cstring(&w, "chat.completion");
                jw_cstring(&w, "");
            }
            jw_object(&w);
            JW_KEY(&w, "k");
            if (lit)
                JW_STR(&w, "function");
            else
                jw_cstring(&w, "function");
            jw_end(&w);
            jw_end(&w);
            if (f) {
                jw_finish(&w);
                fclose(f);
            } else
                doc[lit] = jw_take(&w, &len);
        }
        char name[80];
        snprintf(name, sizeof name, "JW_STR as jw_cstring, %s", mode == 2 ? "stream" : mode ? "indented" : "compact");
        check(name, doc[0] && doc[1] && !strcmp(doc[0], doc[1]), doc[1] ? doc[1] : "(null)",
              doc[0] ? doc[0] : "(null)");
        free(doc[0]);
        free(doc[1]);
    }
}

/* jw_splice: a shared start written once, then each document finished
   from it, equals the document written whole; a writer inside a
   document, an indenting one, or a failed start is refused. */
static void spliced(void)
{
    jw_writer pre, w;
    jw_init_mem(&pre, 0);
    jw_object(&pre);
    JW_KEY(&pre, "id");
    jw_cstring(&pre, "c-1");
    JW_KEY(&pre, "choices");
    jw_array(&pre);
    jw_object(&pre);
    JW_KEY(&pre, "delta");
    jw_object(&pre);
    jw_init_mem(&w, 0);
    const char *want = "data: {\"id\":\"c-1\",\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}";
    int ok = 1;
    size_t n;
    const char *p = NULL;
    for (int i = 0; i < 2; i++) {
        jw_clear(&w);
        jw_bytes(&w, "data: ", 6);
        jw_splice(&w, &pre);
        JW_KEY(&w, "content");
        jw_cstring(&w, "x");
        jw_end(&w);
        JW_KEY(&w, "finish_reason");
        jw_null(&w);
        jw_end(&w);
        jw_end(&w);
        jw_end(&w);
        p = jw_data(&w, &n);
        ok &= p && w.depth == 0 && n == strlen(want) && !memcmp(p, want, n);
    }
    check("splice: a shared start, two documents", ok, p ? p : "(null)", want);
    jw_clear(&w);
    jw_array(&w);
    jw_splice(&w, &pre);
    check("splice: refused inside a document", jw_data(&w, &n) == NULL, "a document", "(null)");
    jw_writer ind;
    jw_init_mem(&ind, 2);
    jw_splice(&ind, &pre);
    check("splice: refused by an indenting writer", jw_data(&ind, &n) == NULL, "a document", "(null)");
    jw_discard(&ind);
    jw_clear(&pre);
    jw_end(&pre);           /* nothing open: the start failed */
    jw_clear(&w);
    jw_splice(&w, &pre);
    check("splice: a failed start is refused", jw_data(&w, &n) == NULL, "a document", "(null)");
    jw_discard(&pre);
    jw_discard(&w);
}

/* jw_int at every change of length (9, 10, 99, 100 ... up to 20 digits)
   and both signs, in memory and to a stream, as printf writes them. */
static void integers(void)
{
    int64_t vals[64];
    int n = 0;
    vals[n++] = INT64_MIN;
    vals[n++] = INT64_MAX;
    for (int64_t t = 1; n < 60; t *= 10) {
        vals[n++] = t - 1;
        vals[n++] = t;
        vals[n++] = -t;
        if (t > INT64_MAX / 10)
            break;
    }
    for (int mem = 0; mem <= 1; mem++) {
        char want[2048] = "[", *got = NULL;
        size_t len = 0, wl = 1;
        FILE *f = mem ? NULL : open_memstream(&got, &len);
        jw_writer w;
        if (mem)
            jw_init_mem(&w, 0);
        else
            jw_init(&w, f, 0);
        jw_array(&w);
        for (int i = 0; i < n; i++) {
            jw_int(&w, vals[i]);
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%lld", i ? "," : "", (long long)vals[i]);
        }
        jw_end(&w);
        snprintf(want + wl, sizeof want - wl, "]");
        if (mem)
            got = jw_take(&w, &len);
        else {
            fclose(f);
        }
        check(mem ? "integers at every length, in memory" : "integers at every length, to a stream",
              got && !strcmp(got, want), got ? got : "(null)", want);
        free(got);
    }
}

int main(void)
{
    differential(0);
    differential(1);
    not_utf8();
    streaming();
    reused();
    literal_keys();
    literal_strings();
    spliced();
    integers();
    return failures ? 1 : 0;
}
