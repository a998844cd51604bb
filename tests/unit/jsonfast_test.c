/* The one-pass JSON reader (vm/jsonfast.c) against yajl
   (tests/unit/jfref.h): named texts it must read or decline, every
   JSONTestSuite file (tests/vectors/json/test_parsing; it must read no
   n_ file), every seed with each of its calls in turn stopping the read,
   every one-byte mutant of the seeds -- each byte replaced by each of a
   set of bytes, deleted, or with one of them inserted before it, the
   text cut at each length -- and random documents; each read with
   jsonfast's own buffers for decoded strings and with a room hook (with
   a stop, also with the room of that number refused).  Each text is
   copied into a heap buffer of its own length, so that a read past its
   end is the sanitizer's to see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirfiles.h"
#include "jfref.h"

static int failures;
static long texts, reads, declines;

static int agree(const char *name, const char *s, size_t n, long stop_at, jf_result *took)
{
    char *b = malloc(n ? n : 1);
    if (!b) {
        printf("FAIL jsonfast/%s: out of memory\n", name);
        failures++;
        return 0;
    }
    memcpy(b, s, n);
    char why[400];
    jf_result st;
    int ok = jfref_agree(b, n, stop_at, &st, why, sizeof why);
    free(b);
    texts++;
    if (st == JF_DONE)
        reads++;
    else if (st == JF_DECLINED)
        declines++;
    if (took)
        *took = st;
    if (!ok) {
        if (failures < 20)
            printf("FAIL jsonfast/%s (stop at %ld): %s\n", name, stop_at, why);
        failures++;
    }
    return ok;
}

typedef struct {
    const char *name;
    int read;       /* 1 it must read it, 0 decline it */
    const char *s;
    size_t n;
} text_case;

#define T(name, read, s) { name, read, s, sizeof s - 1 }

static const text_case cases[] = {
    T("request", 1, "{\"model\":\"support\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
                    "{\"role\":\"user\",\"content\":\"Where is my order #1234? It was due on Monday.\"}],"
                    "\"temperature\":0.2,\"max_tokens\":256,\"stream\":false,\"metadata\":{\"tier\":\"gold\",\"n\":-1.5e-3}}"),
    T("answer", 1, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\","
                   "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                   "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
                   "\"total_tokens\":12}}"),
    T("sse-chunk", 1, "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]}"),
    T("pretty", 1, "{\n  \"a\" : [ 1 , 2.5 , true , false , null ] ,\r\n\t\"b\" : { }\n}\n"),
    T("empty-object", 1, "{}"),
    T("empty-array", 1, "[]"),
    T("nested-empty", 1, "[[],{},[{}],{\"a\":[]}]"),
    T("blank-around", 1, " \t\r\n{} \t\r\n"),
    T("escapes", 1, "{\"s\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}"),
    T("escaped-key", 1, "{\"a\\nb\":1,\"c\\u0041\":2}"),
    T("unicode-escapes", 1, "[\"\\u00e9\\u4e2d\\u007f\\u0080\\u07ff\\u0800\\uffff\"]"),
    T("surrogate-pair", 1, "[\"\\ud83d\\ude00 and \\uD834\\uDD1E\"]"),
    T("long-escaped", 1, "[\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\\n\"]"),
    T("raw-utf8", 1, "[\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"]"),
    T("raw-del-and-high", 1, "[\"\x7f\xff\xfe\"]"),
    T("numbers", 1, "[0,-0,1,-1,10,0.5,-0.5,1e5,1E+5,1e-5,-1.25e+10,123456789012345678901234567890]"),
    T("literals", 1, "[true,false,null]"),
    T("deep-1024", 1, ""),      /* built below */
    T("deep-1025", 0, ""),      /* built below */
    T("scalar-root", 0, "1"),
    T("string-root", 0, "\"a\""),
    T("nothing", 0, ""),
    T("blank-only", 0, "  \n"),
    T("vertical-tab", 0, "{\v}"),
    T("form-feed", 0, "[\f1]"),
    T("two-values", 0, "{} {}"),
    T("trailing-comma-array", 0, "[1,]"),
    T("trailing-comma-object", 0, "{\"a\":1,}"),
    T("leading-zero", 0, "[01]"),
    T("bare-minus", 0, "[-]"),
    T("dot-no-digits", 0, "[1.]"),
    T("exponent-no-digits", 0, "[1e]"),
    T("escaped-nul", 0, "[\"\\u0000\"]"),
    T("lone-high-surrogate", 0, "[\"\\ud800\"]"),
    T("lone-low-surrogate", 0, "[\"\\udc00\"]"),
    T("high-then-not-low", 0, "[\"\\ud800\\u0041\"]"),
    T("bad-escape", 0, "[\"\\x\"]"),
    T("bad-hex", 0, "[\"\\u12g4\"]"),
    T("raw-control", 0, "[\"a\x01\"]"),
    T("raw-newline", 0, "[\"a\nb\"]"),
    T("cut-string", 0, "[\"abc"),
    T("cut-object", 0, "{\"a\":1"),
    T("single-quotes", 0, "['a']"),
    T("comment", 0, "[1/*x*/]"),
    T("missing-colon", 0, "{\"a\" 1}"),
    T("key-not-string", 0, "{1:2}"),
    T("true-prefix", 0, "[tru]"),
    T("truex", 0, "[truex]"),
    T("nan", 0, "[NaN]"),
    T("mismatched", 0, "[1}"),
};

static char *deep(int levels, size_t *n)
{
    char *s = malloc((size_t)levels * 2 + 1);
    for (int i = 0; i < levels; i++) {
        s[i] = '[';
        s[levels * 2 - 1 - i] = ']';
    }
    *n = (size_t)levels * 2;
    return s;
}

static void named(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const text_case *c = &cases[i];
        const char *s = c->s;
        size_t n = c->n;
        char *own = NULL;
        if (!strcmp(c->name, "deep-1024"))
            s = own = deep(JF_MAX_DEPTH, &n);
        else if (!strcmp(c->name, "deep-1025"))
            s = own = deep(JF_MAX_DEPTH + 1, &n);
        jf_result st;
        int before = failures;
        agree(c->name, s, n, 0, &st);
        if ((st == JF_DONE) != c->read) {
            printf("FAIL jsonfast/%s: %s, expected %s\n", c->name, jfr_result_name(st),
                   c->read ? "read" : "declined");
            failures++;
        }
        /* each call in turn returning 0 */
        for (long k = 1; k <= 64; k++)
            agree(c->name, s, n, k, NULL);
        if (failures == before)
            printf("PASS jsonfast/%s\n", c->name);
        free(own);
    }
}

/* ---------------------------------------------------------------- JSONTestSuite */

typedef struct {
    int n_read;
    int files;
} suite_stats;

static void suite_file(const char *name, const char *p, size_t n, void *ud)
{
    suite_stats *st = ud;
    jf_result took;
    st->files++;
    agree(name, p, n, 0, &took);
    if (name[0] == 'n' && took == JF_DONE) {
        printf("FAIL jsonfast/suite: %s is not JSON, and it was read\n", name);
        failures++;
        st->n_read++;
    }
    for (long k = 1; k <= 8; k++)
        agree(name, p, n, k, NULL);
}

static void suite(const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/vectors/json/test_parsing", root);
    suite_stats st = { 0, 0 };
    int before = failures;
    if (each_file(dir, suite_file, &st) < 0 || st.files < 300) {
        printf("FAIL jsonfast/suite: %s: %d files\n", dir, st.files);
        failures++;
        return;
    }
    if (failures == before)
        printf("PASS jsonfast/suite (%d JSONTestSuite files)\n", st.files);
}

/* ---------------------------------------------------------------- mutants */

static const char mut_bytes[] = { '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '\v', '0', '1', '-', '+', '.',
                                  'e', 'u', 'd', 'n', 't', 'x', 0x01, 0x7f, (char)0xc3, (char)0xff, 0 };

static void mutants(const char *name, const char *s, size_t n)
{
    char *b = malloc(n + 1);
    int before = failures;
    long took = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof mut_bytes; m++) {
            jf_result st;
            /* replaced */
            memcpy(b, s, n);
            b[i] = mut_bytes[m];
            agree(name, b, n, 0, &st);
            took += st == JF_DONE;
            /* inserted before byte i */
            memcpy(b, s, i);
            b[i] = mut_bytes[m];
            memcpy(b + i + 1, s + i, n - i);
            agree(name, b, n + 1, 0, &st);
            took += st == JF_DONE;
            count += 2;
        }
        /* deleted */
        memcpy(b, s, i);
        memcpy(b + i, s + i + 1, n - i - 1);
        agree(name, b, n - 1, 0, NULL);
        /* cut */
        agree(name, s, i, 0, NULL);
        count += 2;
    }
    free(b);
    if (failures == before)
        printf("PASS jsonfast/mutants/%s (%ld texts, %ld of the changed ones read)\n", name, count, took);
}

/* ---------------------------------------------------------------- random documents */

static unsigned long rng = 88172645463325252UL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

typedef struct {
    char *b;
    size_t n, cap;
} buf;

static void put(buf *o, const char *s, size_t n)
{
    if (!n)
        return;
    if (o->n + n > o->cap) {
        while (o->n + n > o->cap)
            o->cap = o->cap ? o->cap * 2 : 256;
        o->b = realloc(o->b, o->cap);
    }
    memcpy(o->b + o->n, s, n);
    o->n += n;
}
static void puts_(buf *o, const char *s) { put(o, s, strlen(s)); }

static void ws(buf *o)
{
    static const char *w[] = { "", "", "", " ", "\n  ", "\t", "\r\n" };
    puts_(o, w[rnd(7)]);
}

static void gen_string(buf *o)
{
    static const char *parts[] = { "a", "hello", " ", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\u20AC",
                                   "\\ud83d\\ude00", "\xc3\xa9", "0123456789abcdef", "\\u0001", "\x7f", "{}[],:" };
    put(o, "\"", 1);
    unsigned k = rnd(8);
    for (unsigned i = 0; i < k; i++)
        puts_(o, parts[rnd(sizeof parts / sizeof *parts)]);
    put(o, "\"", 1);
}

static void gen_value(buf *o, int depth)
{
    static const char *nums[] = { "0", "-0", "7", "-12", "3.25", "1e9", "-2.5E-7", "1e+2", "900719925474099312" };
    unsigned k = depth > 6 ? rnd(5) : rnd(7);
    switch (k) {
    case 0: gen_string(o); break;
    case 1: puts_(o, nums[rnd(sizeof nums / sizeof *nums)]); break;
    case 2: puts_(o, "true"); break;
    case 3: puts_(o, "false"); break;
    case 4: puts_(o, "null"); break;
    case 5: {
        put(o, "[", 1);
        unsigned m = rnd(5);
        for (unsigned i = 0; i < m; i++) {
            ws(o);
            if (i)
                put(o, ",", 1), ws(o);
            gen_value(o, depth + 1);
        }
        ws(o);
        put(o, "]", 1);
        break;
    }
    default: {
        put(o, "{", 1);
        unsigned m = rnd(5);
        for (unsigned i = 0; i < m; i++) {
            ws(o);
            if (i)
                put(o, ",", 1), ws(o);
            gen_string(o);
            ws(o);
            put(o, ":", 1);
            ws(o);
            gen_value(o, depth + 1);
        }
        ws(o);
        put(o, "}", 1);
    }
    }
}

static void random_docs(void)
{
    buf o = { 0 };
    int before = failures;
    long took = 0, count = 4000;
    for (long i = 0; i < count; i++) {
        o.n = 0;
        ws(&o);
        int obj = (int)rnd(2);
        puts_(&o, obj ? "{\"k\":" : "[");
        gen_value(&o, 1);
        puts_(&o, obj ? "}" : "]");
        ws(&o);
        jf_result st;
        agree("random", o.b, o.n, 0, &st);
        took += st == JF_DONE;
        if (i % 16 == 0)
            agree("random", o.b, o.n, 1 + rnd(40), NULL);
    }
    free(o.b);
    if (failures == before)
        printf("PASS jsonfast/random (%ld documents, %ld read)\n", count, took);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    named();
    suite(root);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (cases[i].read && cases[i].n)
            mutants(cases[i].name, cases[i].s, cases[i].n);
    random_docs();
    printf("%s jsonfast (%ld texts: %ld read, %ld declined)\n", failures ? "FAIL" : "PASS", texts, reads, declines);
    return failures != 0;
}
